// The search engine's state (Ctx) and its scalar per-candidate path (search_engine.hpp, internal): one
// candidate at a time with the kernel's code (search_kernel.hpp), which load mode (a Little's-law bisection
// per candidate), workload distributions (several points per candidate), run_subset, evaluate and the
// re-evaluation of the reported candidates use. The fixed-batch search takes the vectorised block path
// (search_block.cpp), which keeps the same bits (it is compiled without FMA contraction: cpp/CMakeLists.txt).
#include "search_engine.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace energylens::search::engine {

namespace {

// First point of a candidate (the workload digit 0 in distribution mode). A distribution's candidate
// index counts configurations only: its digits are decoded with one workload point, never from
// index x nw (which wraps past 2^64 where size x nw does, though size itself fits).
Digits first_point(const Ctx& x, std::uint64_t index) {
  if (x.weights.empty()) return decode(x, index);
  kernel::View configurations = x.view;
  configurations.n_w = 1;
  return kernel::decode(configurations, index);  // d.w = 0
}

}  // namespace

Ctx::Ctx(const Space& space, const Options& options) : s(space), o(options) {
  for (const SpecCombo& c : space.combos) {
    combos.insert(combos.end(), c.v.begin(), c.v.end());
    energy_calibrated = energy_calibrated || c.v[kEnergyFactor] != 1.0;
    latency_calibrated = latency_calibrated || c.v[kTtftFactor] != 1.0 || c.v[kTpotFactor] != 1.0;
  }
  tp.assign(space.tp.begin(), space.tp.end());
  pp.assign(space.pp.begin(), space.pp.end());
  dp.assign(space.dp.begin(), space.dp.end());
  ep.assign(space.ep.begin(), space.ep.end());
  for (const Workload& w : space.workloads) {
    workloads.insert(workloads.end(), {w.input_tokens, w.output_tokens});
    in_tokens.push_back(w.input_tokens);
    out_tokens.push_back(w.output_tokens);
  }
  nw = space.workloads.size();
  double total_weight = 0;
  for (double w : space.workload_weights) total_weight += w;
  for (double w : space.workload_weights) weights.push_back(w / total_weight);
  nb = space.max_num_seqs.size();
  nep = ep.size();
  ndp = dp.size();
  npp = pp.size();
  ntp = tp.size();
  view = {combos.data(), tp.data(), pp.data(), dp.data(), ep.data(), space.max_num_seqs.data(), workloads.data(),
          space.prefill_extra_flops.empty() ? nullptr : space.prefill_extra_flops.data(),
          space.combos.size(), ntp, npp, ndp, nep, nb, nw};
  lim = {options.gpu_memory_utilization, options.runtime_reserve_bytes, options.nvls_reserve_bytes_per_gpu,
         options.activation_tokens, options.activation_bytes_per_token_dmodel, static_cast<double>(options.node_size), options.ttft_limit_s,
         options.tpot_limit_s, options.carbon_g_per_kwh, static_cast<int>(options.objective), options.per_token};
}

void init_params(Ctx& x, std::span<const double> energy_params, std::span<const double> latency_params) {
  if (energy_params.size() != EnergyTemplate::kParams)
    throw std::invalid_argument("search: energy model has " + std::to_string(energy_params.size()) +
                                " parameters, the template needs " + std::to_string(EnergyTemplate::kParams));
  if (latency_params.size() != LatencyTemplate::kParams)
    throw std::invalid_argument("search: latency model has " + std::to_string(latency_params.size()) +
                                " parameters, the template needs " + std::to_string(LatencyTemplate::kParams));
  std::copy(energy_params.begin(), energy_params.end(), x.pe);
  std::copy(energy_params.begin(), energy_params.end(), x.ps);
  x.ps[EnergyTemplate::kBusyPowerFrac] = 0.0;
  x.ps[EnergyTemplate::kFlopEnergyCoef] = 0.0;
  std::copy(latency_params.begin(), latency_params.end(), x.pl);
}

Candidate evaluate_one(const Ctx& x, std::uint64_t index, const Digits& d, const Outer& out) {
  const double* v = combo(x, d);
  const double tp = x.s.tp[d.tp], pp = x.s.pp[d.pp], dp = x.s.dp[d.dp];
  const double n = tp * pp;
  const double lo = x.s.workloads[d.w].output_tokens;
  const double cap = x.s.max_num_seqs[d.b];
  double f[F];
  double ttft = 0, tpot = 0, stall = 0;
  // A rank whose running batch is below one sequence serves each request alone: the templates are
  // evaluated at one sequence (their prompt-batching and per-step terms assume B >= 1), and the time
  // between requests is idle headroom (load mode; fixed-batch mode runs at the cap).
  const double served_min = std::min(1.0, cap);
  auto latency_at = [&](double batch) {
    kernel::fill_features(x.view, x.lim, d, std::max(batch, served_min), f);
    kernel::latency(f, x.pl, v, ttft, tpot, stall);
    return kernel::time_in_system(v, ttft, tpot, stall, lo);  // seconds one request spends in the system
  };
  Candidate c;
  c.index = index;
  double batch = cap, replicas = 1, rank_rate = 0;
  if (x.o.rate_per_s > 0) {
    // Replicas so that each rank's share fits under max_utilization of its throughput at the max_num_seqs
    // cap, then the running batch that
    // rate solves B = rate_rank x W(B) (Little's law; W = TTFT + L_out TPOT + sigma B t_p, the time in the
    // system: kernel::time_in_system), by bisection on (0, cap].
    const double capacity = dp * cap / latency_at(cap);
    replicas = std::max(1.0, std::ceil(x.o.rate_per_s / (x.o.max_utilization * capacity)));
    rank_rate = x.o.rate_per_s / (replicas * dp);
    double lo_b = 0.0, hi_b = cap;
    for (int it = 0; it < x.o.bisection_iterations; ++it) {
      const double mid = 0.5 * (lo_b + hi_b);
      if (rank_rate * latency_at(mid) - mid > 0.0) lo_b = mid;
      else hi_b = mid;
    }
    batch = hi_b;
  }
  const double t_req = latency_at(batch);
  double pf, dec, step, spf, sdec, sstep;
  EnergyTemplate::eval(f, x.pe, pf, dec, step, static_cast<double*>(nullptr), static_cast<double*>(nullptr),
                       static_cast<double*>(nullptr));
  EnergyTemplate::eval(f, x.ps, spf, sdec, sstep, static_cast<double*>(nullptr), static_cast<double*>(nullptr),
                       static_cast<double*>(nullptr));
  // Energy calibration: the factor scales the template's per-request energy, its static part included;
  // load mode's idle headroom then tops the static energy up to what the provisioned GPUs draw.
  kernel::calibrate_energy(v, pf, dec);
  kernel::calibrate_energy(v, spf, sdec);
  c.prefill_j = pf;
  c.decode_j = dec;
  c.static_j = spf + sdec;
  c.ttft_s = ttft;
  c.tpot_s = tpot;
  c.batch = batch;
  c.replicas = replicas;
  if (x.o.rate_per_s > 0) {
    // Every provisioned GPU draws static power all the time; the template charges it only while the
    // rank works, so the rest (idle headroom) is added per request.
    const double static_w = n * v[roofline::kTdpW] * x.pe[EnergyTemplate::kStaticPowerFrac];
    c.idle_j = std::max(0.0, static_w / rank_rate - c.static_j);
    c.gpus = replicas * dp * n;
    c.gpu_s_per_request = c.gpus / x.o.rate_per_s;
  } else {
    c.gpus = dp * n;
    c.gpu_s_per_request = n * t_req / batch;
  }
  c.energy_j = pf + dec + c.idle_j;
  c.memory_bytes = out.fixed_bytes + kernel::kv_bytes(x.view, d, out, batch);
  c.objective = kernel::objective_of(x.lim, c.energy_j, c.gpu_s_per_request, lo, v[kPricePerGpuHour]);
  c.reason = out.reason;
  if (c.reason == kFeasible && kernel::beyond_context(v, x.s.workloads[d.w].input_tokens, lo))
    c.reason = static_cast<int>(Reason::ContextLength);
  if (c.reason == kFeasible && c.memory_bytes > out.usable_bytes) c.reason = static_cast<int>(Reason::MemoryKvCache);
  if (c.reason == kFeasible) c.reason = kernel::limit_reason(x.lim, ttft, tpot);
  return c;
}

// Distribution mode: candidate `index` stands for the points (index, w) for every workload w.
Candidate evaluate_candidate(const Ctx& x, std::uint64_t index, Digits d, const Outer& out) {
  if (x.weights.empty()) return evaluate_one(x, index, d, out);
  Candidate a;
  a.index = index;
  a.reason = kFeasible;
  double out_tokens = 0;
  for (std::uint64_t w = 0; w < x.nw; ++w) {
    d.w = w;
    const Candidate c = evaluate_one(x, index, d, out);  // (its index unused: `a` is the candidate)
    const double q = x.weights[w];
    a.energy_j += q * c.energy_j;
    a.prefill_j += q * c.prefill_j;
    a.decode_j += q * c.decode_j;
    a.idle_j += q * c.idle_j;
    a.static_j += q * c.static_j;
    a.gpu_s_per_request += q * c.gpu_s_per_request;
    out_tokens += q * x.s.workloads[w].output_tokens;
    a.ttft_s = std::max(a.ttft_s, c.ttft_s);
    a.tpot_s = std::max(a.tpot_s, c.tpot_s);
    a.memory_bytes = std::max(a.memory_bytes, c.memory_bytes);
    a.gpus = std::max(a.gpus, c.gpus);
    a.replicas = std::max(a.replicas, c.replicas);
    a.batch = c.batch;
    if (c.reason != kFeasible && (a.reason == kFeasible || c.reason < a.reason)) a.reason = c.reason;
  }
  a.objective = kernel::objective_of(x.lim, a.energy_j, a.gpu_s_per_request, out_tokens,
                                     combo(x, d)[kPricePerGpuHour]);
  return a;
}

Candidate evaluate_index(const Ctx& x, std::uint64_t index) {
  const Digits d = first_point(x, index);
  return evaluate_candidate(x, index, d, outer_info(x, d));
}

void Local::offer(const Ctx& x, const Candidate& c) {
  if (c.reason != kFeasible) {
    ++rejected[static_cast<std::size_t>(c.reason)];
    return;
  }
  ++feasible;
  if (top.accepts(c.objective, c.index)) top.push(c);
  if (x.o.pareto) {
    front_tpot.insert(c.tpot_s, c.objective, c);
    front_ttft.insert(c.ttft_s, c.objective, c);
  }
}

void Local::offer_index(const Ctx& x, std::uint64_t index) {
  const Digits d = first_point(x, index);
  const Outer out = outer_info(x, d);
  if (out.reason != kFeasible) {
    ++rejected[static_cast<std::size_t>(out.reason)];
    return;
  }
  offer(x, evaluate_candidate(x, index, d, out));
}

void Local::merge(const Local& other) {
  top.merge(other.top);
  front_tpot.merge(other.front_tpot);
  front_ttft.merge(other.front_ttft);
  for (std::size_t r = 0; r < kNumReasons; ++r) rejected[r] += other.rejected[r];
  feasible += other.feasible;
}

}  // namespace energylens::search::engine
