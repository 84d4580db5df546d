#include "energylens/search.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "energylens/closed_form.hpp"
#include "energylens/energy_template.hpp"
#include "energylens/latency_template.hpp"
#include "energylens/cuda_device.hpp"
#include "energylens/error.hpp"
#include "energylens/search_cuda.hpp"
#include "energylens/search_kernel.hpp"

namespace energylens::search {
namespace {

constexpr std::size_t F = roofline::kNumFeatures;

// Candidates per block: the template loops run vectorised over a block whose 16 feature columns
// (16 KB in float64) stay in L1. Measured on the bench space (cpu-seconds, one thread): 64 rows 75 M/s,
// 128 rows 81 M/s, 256 rows 45-67 M/s, 512 rows 27 M/s. With 26 feature columns now (26 KB), 64 rows
// measured no faster than 128 (8.3-9.5e7 against 8.5-8.8e7 per cpu-second, alternating, loaded box).
constexpr std::size_t kBlock = 128;

// Workload points from which a run of one batch value is filled by vectorised copies (fill_segment) rather
// than candidate by candidate (fill_run): measured on the bench spaces (40 points: 10 % faster; 1 point: the
// per-run calls cost 1.7x).
constexpr std::uint64_t kSegment = 8;

// Points of each Pareto front the offers' vectorised pre-test compares a row with (offer_candidates).
constexpr std::size_t kCorners = 8;

const char* const kReasonNames[] = {"tp_heads",       "tp_node",         "ep_without_moe",
                                    "ep_experts",     "ep_group",        "memory_weights",
                                    "memory_kv_cache", "ttft_limit",     "tpot_limit"};
static_assert(sizeof(kReasonNames) / sizeof(kReasonNames[0]) == kNumReasons);

const char* const kComboExtraNames[] = {"weight_shared_step_bytes", "weight_expert_step_bytes", "expert_miss_log",
                                        "weight_total_bytes",       "expert_total_bytes",       "memory_bytes",
                                        "n_heads",                  "n_kv_heads",               "n_experts",
                                        "price_per_gpu_hour",       "window_tokens",            "sliding_share",
                                        "a2a_moe_layers_with_ep",   "ttft_factor",              "tpot_factor",
                                        "energy_factor",            "scale_up_domain_gpus"};
static_assert(sizeof(kComboExtraNames) / sizeof(kComboExtraNames[0]) == kNumComboFields - F);

using kernel::Digits;
using kernel::Outer;

// The space as kernel::View (flat double arrays owned here), the options as kernel::Limits, and the
// parameters (plus the static-only energy parameters: busy power and FLOP energy zeroed).
struct Ctx {
  const Space& s;
  const Options& o;
  std::vector<double> combos, tp, pp, dp, ep, workloads;
  std::vector<double> in_tokens, out_tokens;  // the workload points' tokens, one array each
  std::vector<double> weights;  // workload weights normalised to sum 1 (distribution mode), else empty
  kernel::View view{};
  kernel::Limits lim{};
  double pe[EnergyTemplate::kParams];
  double ps[EnergyTemplate::kParams];
  double pl[LatencyTemplate::kParams];
  std::uint64_t nw, nb, nep, ndp, npp, ntp;
  bool energy_calibrated = false;  // some combo's energy factor is not 1 (else the hot loop skips the gather)
  bool latency_calibrated = false;  // some combo's TTFT or TPOT factor is not 1 (likewise)
  Ctx(const Ctx&) = delete;  // view points into the vectors above
  Ctx& operator=(const Ctx&) = delete;
  Ctx(const Space& space, const Options& options) : s(space), o(options) {
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
    lim = {options.gpu_memory_utilization, options.runtime_reserve_bytes, options.activation_tokens,
           options.activation_bytes_per_token_dmodel, static_cast<double>(options.node_size), options.ttft_limit_s,
           options.tpot_limit_s, options.carbon_g_per_kwh, static_cast<int>(options.objective), options.per_token};
  }
};

Digits decode(const Ctx& x, std::uint64_t i) { return kernel::decode(x.view, i); }

Outer outer_info(const Ctx& x, const Digits& d) { return kernel::outer_info(x.view, x.lim, d); }
const double* combo(const Ctx& x, const Digits& d) { return x.combos.data() + d.c * kNumComboFields; }

// One candidate, scalar: features at its running batch (load mode: Little's law), both templates,
// the static part, memory and the first failing reason.
Candidate evaluate_one(const Ctx& x, std::uint64_t index, const Digits& d, const Outer& out) {
  const double* v = combo(x, d);
  const double tp = x.s.tp[d.tp], pp = x.s.pp[d.pp], dp = x.s.dp[d.dp];
  const double n = tp * pp;
  const double lo = x.s.workloads[d.w].output_tokens;
  const double cap = x.s.max_num_seqs[d.b];
  double f[F];
  double ttft = 0, tpot = 0, aux = 0;
  auto latency_at = [&](double batch) {
    kernel::fill_features(x.view, x.lim, d, batch, f);
    kernel::latency(f, x.pl, v, ttft, tpot, aux);
    return ttft + lo * tpot;  // seconds one request spends in the system
  };
  Candidate c;
  c.index = index;
  double batch = cap, replicas = 1, rank_rate = 0;
  if (x.o.rate_per_s > 0) {
    // Replicas so that each rank's share fits under its max_num_seqs cap, then the running batch that
    // rate solves B = rate_rank x (TTFT(B) + L_out TPOT(B)) (Little's law), by bisection on (0, cap].
    const double capacity = dp * cap / latency_at(cap);
    replicas = std::max(1.0, std::ceil(x.o.rate_per_s / capacity));
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
  if (c.reason == kFeasible && c.memory_bytes > out.usable_bytes) c.reason = static_cast<int>(Reason::MemoryKvCache);
  if (c.reason == kFeasible) c.reason = kernel::limit_reason(x.lim, ttft, tpot);
  return c;
}

// Distribution mode: candidate `index` stands for the points index x nw + w; energy, its parts and
// GPU-seconds are the weighted means over the points, TTFT, TPOT, memory and GPUs the largest, and the
// reason the first (in check order) that any point fails.
Candidate evaluate_candidate(const Ctx& x, std::uint64_t index, Digits d, const Outer& out) {
  if (x.weights.empty()) return evaluate_one(x, index, d, out);
  Candidate a;
  a.index = index;
  a.reason = kFeasible;
  double out_tokens = 0;
  for (std::uint64_t w = 0; w < x.nw; ++w) {
    d.w = w;
    const Candidate c = evaluate_one(x, index * x.nw + w, d, out);
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

// First point of a candidate (the workload digit 0 in distribution mode).
Digits first_point(const Ctx& x, std::uint64_t index) {
  return decode(x, x.weights.empty() ? index : index * x.nw);
}

// The full evaluation of candidate `index`.
Candidate evaluate_index(const Ctx& x, std::uint64_t index) {
  const Digits d = first_point(x, index);
  return evaluate_candidate(x, index, d, outer_info(x, d));
}

// The template on a block of rows, vectorised: one __restrict pointer per feature column (the
// evaluator's form, closed_form.cpp).
template <class Tpl, typename... Columns>
ENERGYLENS_CLONES void eval_columns(long rows, const double* p, double* __restrict o0, double* __restrict o1,
                                    double* __restrict o2, const Columns* __restrict... c) {
#pragma GCC ivdep
  for (long i = 0; i < rows; ++i) {
    const double f[] = {c[i]...};
    double a, b, s;
    Tpl::eval(f, p, a, b, s, static_cast<double*>(nullptr), static_cast<double*>(nullptr),
              static_cast<double*>(nullptr));
    o0[i] = a;
    o1[i] = b;
    o2[i] = s;
  }
}

template <class Tpl, std::size_t... K>
void eval_block(std::index_sequence<K...>, long rows, double (*cols)[kBlock], const double* p, double* o0,
                double* o1, double* o2) {
  eval_columns<Tpl>(rows, p, o0, o1, o2, static_cast<const double*>(cols[K])...);
}

// Per-thread reduction state.
struct Local {
  TopK top;
  ParetoFront front_tpot, front_ttft;
  std::array<std::uint64_t, kNumReasons> rejected{};
  std::uint64_t feasible = 0;
  explicit Local(std::size_t k) : top(k) {}

  void offer(const Ctx& x, const Candidate& c) {
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

  // Candidate `index` on the scalar path; a structural or weight-memory rejection skips the templates.
  void offer_index(const Ctx& x, std::uint64_t index) {
    const Digits d = first_point(x, index);
    const Outer out = outer_info(x, d);
    if (out.reason != kFeasible) {
      ++rejected[static_cast<std::size_t>(out.reason)];
      return;
    }
    offer(x, evaluate_candidate(x, index, d, out));
  }

  // Adds another thread's state (order-independent).
  void merge(const Local& other) {
    top.merge(other.top);
    front_tpot.merge(other.front_tpot);
    front_ttft.merge(other.front_ttft);
    for (std::size_t r = 0; r < kNumReasons; ++r) rejected[r] += other.rejected[r];
    feasible += other.feasible;
  }
};

// Scratch of the vectorised fixed-batch path. Rows hold only the candidates that passed the checks
// needing no template (structure, memory), compacted. A row's columns are of three kinds: the combo's
// (static), the outer's (tp, pp, dp, ep and what follows from them) and the candidate's own (batch and
// workload); the first two are rewritten only when the row's combo / outer changes, since consecutive
// blocks mostly lie in one outer (the inner axes, batch x workload, are the fastest).
struct Block {
  alignas(64) double cols[F][kBlock];
  double pf[kBlock], dec[kBlock], step[kBlock], ttft[kBlock], tpot[kBlock], aux[kBlock];
  double mem[kBlock], rank_batch[kBlock], obj[kBlock];
  std::uint64_t index[kBlock];
  std::int64_t flag[kBlock];    // scratch: rows the offers look at (0 / 1, the width of a double: vectorises)
  std::size_t combo[kBlock];    // combo whose static columns the row holds (SIZE_MAX: none yet)
  std::uint64_t outer[kBlock];  // outer (index / (nb nw)) whose outer columns the row holds
  std::uint32_t sel[kBlock];    // scratch: rows kept by a pass
  double batch_all[kBlock], w_step[kBlock];  // scratch: a run's template batch and weight bytes per batch value
  double run_mem[kBlock];                    // scratch: a run's memory per candidate (fill_run)
  // Per workload point, for the (combo, tp) of `table_combo`, `table_tp`: the features that depend on
  // (combo, tp, workload), and the context and unreplicated KV bytes per token of the memory check. Built
  // once per (combo, tp) a thread meets instead of twice per candidate (a division or two each time).
  std::vector<double> kv, attn, attn_prefill, prefill, ctx, kv1;
  std::size_t table_combo = static_cast<std::size_t>(-1);
  std::uint64_t table_tp = 0;
  explicit Block(std::size_t nw) : kv(nw), attn(nw), attn_prefill(nw), prefill(nw), ctx(nw), kv1(nw) {
    std::fill(combo, combo + kBlock, static_cast<std::size_t>(-1));
    std::fill(outer, outer + kBlock, ~std::uint64_t{0});
  }
};

// The candidate's own columns; kOuterCols are set per (combo, tp, pp, dp, ep); the rest are the combo's.
constexpr std::size_t kRowCols[] = {roofline::kBatch, roofline::kInputTokens, roofline::kOutputTokens,
                                    roofline::kWeightBytesPerStep, roofline::kPrefillExtraFlops,
                                    roofline::kKvBytesPerToken, roofline::kAttnFlopsPerTokenCtx,
                                    roofline::kPrefillAttnFlopsPerTokenCtx};
constexpr std::size_t kOuterCols[] = {roofline::kTp, roofline::kPp, roofline::kDp, roofline::kEp,
                                      roofline::kA2aMoeLayers, roofline::kA2aBytesPerS, roofline::kPpScaleOutHops};
// (kLinkBytesPerS is the combo's: a row in the block has tp <= its domain, tp_node, so its TP all-reduce
// runs on the scale-up link)
constexpr bool is_static(std::size_t k) {
  for (std::size_t c : kRowCols)
    if (c == k) return false;
  for (std::size_t c : kOuterCols)
    if (c == k) return false;
  return true;
}

// The workload tables of `blk` for the (combo, tp) of `d`: the same calls, on the same values, as the
// per-candidate code (kernel::fill_features, kernel::kv_bytes), so every feature keeps its bits.
void workload_tables(const Ctx& x, Digits d, Block& blk) {
  if (blk.table_combo == d.c && blk.table_tp == d.tp) return;
  const double* v = combo(x, d);
  for (std::uint64_t w = 0; w < x.nw; ++w) {
    const double in = x.in_tokens[w], out = x.out_tokens[w];
    kernel::attention_features(v, x.s.tp[d.tp], in, out, blk.kv[w], blk.attn[w], blk.attn_prefill[w]);
    double attn = 0, attn_prefill = 0;
    kernel::attention_features(v, 1.0, in, out, blk.kv1[w], attn, attn_prefill);
    blk.ctx[w] = in + 0.5 * out;
    d.w = w;
    blk.prefill[w] = kernel::prefill_extra(x.view, d);
  }
  blk.table_combo = d.c;
  blk.table_tp = d.tp;
}

// The outer's and (if its combo changed) the combo's columns into row r.
void outer_columns(const Ctx& x, const Digits& d, const Outer& out, std::uint64_t oid, Block& blk, std::size_t r) {
  const double* v = combo(x, d);
  if (blk.combo[r] != d.c) {
    for (std::size_t k = 0; k < F; ++k)
      if (is_static(k)) blk.cols[k][r] = v[k];
    blk.combo[r] = d.c;
  }
  const double dp = x.s.dp[d.dp], ep = x.s.ep[d.ep];
  blk.cols[roofline::kTp][r] = x.s.tp[d.tp];
  blk.cols[roofline::kPp][r] = x.s.pp[d.pp];
  blk.cols[roofline::kDp][r] = dp;
  blk.cols[roofline::kEp][r] = ep;
  blk.cols[roofline::kA2aMoeLayers][r] = kernel::a2a_layers(v, dp, ep);
  blk.cols[roofline::kA2aBytesPerS][r] = out.a2a_link;  // topology of (combo, tp, pp, ep): outer_info
  blk.cols[roofline::kPpScaleOutHops][r] = out.hops;
  blk.outer[r] = oid;
}

// GPU-seconds per request of row i (the block's form of evaluate_one's).
double gpu_seconds(const Block& blk, std::size_t i) {
  const double nd = blk.cols[roofline::kTp][i] * blk.cols[roofline::kPp][i];
  return nd * (blk.ttft[i] + blk.cols[roofline::kOutputTokens][i] * blk.tpot[i]) / blk.rank_batch[i];
}

// One (outer, batch) run of workload points [w0, w0 + n) whose first candidate is `first`.
struct Segment {
  const Digits& d;  // d.b is the batch digit
  const Outer& out;
  std::uint64_t oid, w0, n, first;
};

// One workload-table column (`src` at the run's first point) copied into rows [0, n) of `dst`: point k, or sel[k].
ENERGYLENS_CLONES void copy_column(long n, const double* __restrict src, const std::uint32_t* sel,
                                   double* __restrict dst) {
  if (sel == nullptr) {
    for (long k = 0; k < n; ++k) dst[k] = src[k];
  } else {
    for (long k = 0; k < n; ++k) dst[k] = src[sel[k]];
  }
}

// Rows [rows, rows + n) from points w0 + k (or w0 + sel[k]) of segment g: the candidate's columns (copies
// from the workload tables), the outer's where a row held another outer.
void put_rows(const Ctx& x, const Segment& g, Block& blk, std::size_t rows, std::size_t n, const std::uint32_t* sel) {
  const double batch = x.s.max_num_seqs[g.d.b], dp = x.s.dp[g.d.dp];
  const double w_step = kernel::weight_step_bytes(combo(x, g.d), x.s.tp[g.d.tp], dp, x.s.ep[g.d.ep], dp * batch);
  const auto m = static_cast<long>(n);
  copy_column(m, x.in_tokens.data() + g.w0, sel, blk.cols[roofline::kInputTokens] + rows);
  copy_column(m, x.out_tokens.data() + g.w0, sel, blk.cols[roofline::kOutputTokens] + rows);
  copy_column(m, blk.prefill.data() + g.w0, sel, blk.cols[roofline::kPrefillExtraFlops] + rows);
  copy_column(m, blk.kv.data() + g.w0, sel, blk.cols[roofline::kKvBytesPerToken] + rows);
  copy_column(m, blk.attn.data() + g.w0, sel, blk.cols[roofline::kAttnFlopsPerTokenCtx] + rows);
  copy_column(m, blk.attn_prefill.data() + g.w0, sel, blk.cols[roofline::kPrefillAttnFlopsPerTokenCtx] + rows);
  std::fill_n(blk.cols[roofline::kBatch] + rows, n, dp * batch);  // the template's batch: all data-parallel ranks
  std::fill_n(blk.cols[roofline::kWeightBytesPerStep] + rows, n, w_step);
  std::fill_n(blk.rank_batch + rows, n, batch);
  for (std::size_t k = 0; k < n; ++k) blk.index[rows + k] = g.first + (sel == nullptr ? k : sel[k]);
  for (std::size_t r = rows; r < rows + n; ++r)
    if (blk.outer[r] != g.oid) outer_columns(x, g.d, g.out, g.oid, blk, r);
}

// Bytes per GPU of one point (weights, reserve, KV cache; kernel::kv_bytes operation for operation: no
// multiply feeds an add, so every ISA level rounds alike). ctx x kv1 is the workload's KV bytes per sequence.
inline double point_memory(const Outer& out, double batch, double ctx, double kv1) {
  return out.fixed_bytes + batch * ctx * kv1 / out.kv_div;
}

// point_memory of n points into mem; returns how many fit (a NaN fits, as in the per-candidate check).
ENERGYLENS_CLONES std::size_t kv_memory(long n, const Outer& out, double batch, const double* __restrict ctx,
                                        const double* __restrict kv1, double* __restrict mem) {
  const double usable = out.usable_bytes;
  std::size_t fit = 0;
  for (long k = 0; k < n; ++k) {
    mem[k] = point_memory(out, batch, ctx[k], kv1[k]);
    fit += !(mem[k] > usable);
  }
  return fit;
}

// Segment g into the block from row `rows`: the KV-cache memory check per point (rejections counted),
// the points that fit appended. Returns the new row count.
std::size_t fill_segment(const Ctx& x, const Segment& g, Block& blk, std::size_t rows, Local& local) {
  const double batch = x.s.max_num_seqs[g.d.b];
  double* mem = blk.mem + rows;
  const std::size_t fit =
      kv_memory(static_cast<long>(g.n), g.out, batch, blk.ctx.data() + g.w0, blk.kv1.data() + g.w0, mem);
  local.rejected[static_cast<std::size_t>(Reason::MemoryKvCache)] += g.n - fit;
  if (fit == g.n) {
    put_rows(x, g, blk, rows, fit, nullptr);
  } else if (fit > 0) {  // the points that fit, moved up
    std::size_t k = 0;
    for (std::size_t j = 0; j < g.n; ++j) {
      blk.sel[k] = static_cast<std::uint32_t>(j);
      k += !(mem[j] > g.out.usable_bytes);
    }
    for (k = 0; k < fit; ++k) mem[k] = mem[blk.sel[k]];
    put_rows(x, g, blk, rows, fit, blk.sel);
  }
  return rows + fit;
}

// Candidates at positions [p, end) of outer `oid` (position b nw + w inside it, digits `d` apart from b
// and w) into the block from row `rows`, each with its KV-cache memory check (a candidate that fails is
// counted and its row reused): the features from the workload tables and from this run's batch values.
// Returns the new row count. A plain loop per candidate: with a single workload point (the CLI's case) a
// run of one batch value is one candidate, so per-run work would cost as much as the candidates.
std::size_t fill_run(const Ctx& x, const Digits& d, const Outer& out, std::uint64_t oid, std::uint64_t p,
                     std::uint64_t end, Block& blk, std::size_t rows, Local& local) {
  const double dp = x.s.dp[d.dp];
  const std::uint64_t b0 = p / x.nw;
  for (std::uint64_t b = b0; b <= (end - 1) / x.nw; ++b) {  // as the per-candidate code, once per batch value
    const double batch_all = dp * x.s.max_num_seqs[b];  // the template's batch: all data-parallel ranks
    blk.batch_all[b - b0] = batch_all;
    blk.w_step[b - b0] = kernel::weight_step_bytes(combo(x, d), x.s.tp[d.tp], dp, x.s.ep[d.ep], batch_all);
  }
  // The memory of every candidate first: in the row loop below the next row depends on whether this one
  // fits, and with the division inside that loop each candidate waited for the previous one's.
  std::uint64_t b = b0, w = p % x.nw;
  for (std::uint64_t q = p; q < end; ++q) {
    blk.run_mem[q - p] = point_memory(out, x.s.max_num_seqs[b], blk.ctx[w], blk.kv1[w]);
    if (++w == x.nw) {
      w = 0;
      ++b;
    }
  }
  const std::uint64_t first = oid * x.nb * x.nw;
  std::uint64_t failed = 0;
  b = b0;
  w = p % x.nw;
  for (std::uint64_t q = p; q < end; ++q) {
    const std::size_t r = rows;
    if (blk.outer[r] != oid) outer_columns(x, d, out, oid, blk, r);
    const double mem = blk.run_mem[q - p];
    blk.cols[roofline::kInputTokens][r] = x.in_tokens[w];
    blk.cols[roofline::kOutputTokens][r] = x.out_tokens[w];
    blk.cols[roofline::kPrefillExtraFlops][r] = blk.prefill[w];
    blk.cols[roofline::kKvBytesPerToken][r] = blk.kv[w];
    blk.cols[roofline::kAttnFlopsPerTokenCtx][r] = blk.attn[w];
    blk.cols[roofline::kPrefillAttnFlopsPerTokenCtx][r] = blk.attn_prefill[w];
    blk.cols[roofline::kBatch][r] = blk.batch_all[b - b0];
    blk.cols[roofline::kWeightBytesPerStep][r] = blk.w_step[b - b0];
    blk.rank_batch[r] = x.s.max_num_seqs[b];
    blk.mem[r] = mem;
    blk.index[r] = first + q;
    const bool fits = !(mem > out.usable_bytes);  // branch-free (a NaN fits, as in the per-candidate check)
    rows += fits;
    failed += !fits;
    if (++w == x.nw) {
      w = 0;
      ++b;
    }
  }
  local.rejected[static_cast<std::size_t>(Reason::MemoryKvCache)] += failed;
  return rows;
}

// Candidates [begin, begin + len) of the fixed-batch mode into the block (structure and memory checked,
// rejections counted); returns the rows filled.
std::size_t fill_block(const Ctx& x, std::uint64_t begin, std::size_t len, Block& blk, Local& local) {
  const std::uint64_t inner = x.nb * x.nw;  // candidates per outer
  std::size_t rows = 0;
  for (std::uint64_t i = 0; i < len;) {
    const std::uint64_t index = begin + i, oid = index / inner;
    const std::uint64_t pos = index % inner;
    const std::uint64_t end = pos + std::min<std::uint64_t>(inner - pos, len - i);
    Digits d = decode(x, index);
    const Outer out = outer_info(x, d);
    if (out.reason != kFeasible) {  // the rest of this outer in the block fails for the same reason
      local.rejected[static_cast<std::size_t>(out.reason)] += end - pos;
    } else {
      workload_tables(x, d, blk);
      if (x.nw >= kSegment) {
        for (std::uint64_t p = pos; p < end;) {  // runs of one batch value
          d.b = p / x.nw;
          const std::uint64_t w0 = p % x.nw, n = std::min<std::uint64_t>(x.nw - w0, end - p);
          rows = fill_segment(x, Segment{d, out, oid, w0, n, oid * inner + p}, blk, rows, local);
          p += n;
        }
      } else {
        rows = fill_run(x, d, out, oid, pos, end, blk, rows, local);
      }
    }
    i += end - pos;
  }
  return rows;
}

// Moves row i to row r < i (a candidate that passed the latency limits): its own columns, the outer's
// and combo's only when row r held another.
void move_row(Block& blk, std::size_t i, std::size_t r) {
  for (std::size_t k : kRowCols) blk.cols[k][r] = blk.cols[k][i];
  if (blk.outer[r] != blk.outer[i]) {
    for (std::size_t k = 0; k < F; ++k)
      if (!is_static(k) || blk.combo[r] != blk.combo[i]) blk.cols[k][r] = blk.cols[k][i];
    blk.outer[r] = blk.outer[i];
    blk.combo[r] = blk.combo[i];
  }
  blk.ttft[r] = blk.ttft[i];
  blk.tpot[r] = blk.tpot[i];
  blk.mem[r] = blk.mem[i];
  blk.rank_batch[r] = blk.rank_batch[i];
  blk.index[r] = blk.index[i];
}

// Flags the rows that may enter the top-k (objective not above `worst`) or a front (no corner below them
// in both coordinates): offer_candidates' superset test. Comparisons only, so every ISA level flags alike.
ENERGYLENS_CLONES void open_rows(long n, const double* __restrict obj, const double* __restrict tpot,
                                 const double* __restrict ttft, const double* tx, const double* ty, const double* rx,
                                 const double* ry, double worst, bool pareto, std::int64_t* __restrict flag) {
  for (long i = 0; i < n; ++i) {
    bool open_t = true, open_r = true;
    for (std::size_t j = 0; j < kCorners; ++j) {
      open_t &= !((tpot[i] > tx[j]) & (obj[i] > ty[j]));
      open_r &= !((ttft[i] > rx[j]) & (obj[i] > ry[j]));
    }
    flag[i] = (!(obj[i] > worst)) | (pareto & (open_t | open_r));
  }
}

// Objective of each of the `kept` rows into blk.obj, and blk.sel the rows that may enter the top-k or a
// front: a vectorised superset test (the top-k's threshold, a few corners of each front) that leaves the
// exact tests (accepts, dominated) to the few rows it keeps.
std::size_t offer_candidates(const Ctx& x, Block& blk, std::size_t kept, const Local& local) {
  double tx[kCorners], ty[kCorners], rx[kCorners], ry[kCorners];
  local.front_tpot.corners(tx, ty, kCorners);
  local.front_ttft.corners(rx, ry, kCorners);
  const double worst = local.top.worst();
  const bool cost = x.lim.objective == static_cast<int>(Objective::Cost);
  for (std::size_t i = 0; i < kept; ++i) {
    const double* v = x.combos.data() + blk.combo[i] * kNumComboFields;
    double pf = blk.pf[i], dec = blk.dec[i];
    if (x.energy_calibrated) kernel::calibrate_energy(v, pf, dec);
    // GPU-seconds only where the objective needs them (the offers recompute them, the same expression)
    const double gpu_s = cost ? gpu_seconds(blk, i) : 0.0;
    blk.obj[i] = kernel::objective_of(x.lim, pf + dec, gpu_s, blk.cols[roofline::kOutputTokens][i],
                                      v[kPricePerGpuHour]);
  }
  open_rows(static_cast<long>(kept), blk.obj, blk.tpot, blk.ttft, tx, ty, rx, ry, worst, x.o.pareto, blk.flag);
  std::size_t n = 0;
  for (std::size_t i = 0; i < kept; ++i) {
    blk.sel[n] = static_cast<std::uint32_t>(i);
    n += static_cast<std::size_t>(blk.flag[i]);
  }
  return n;
}

// The reductions of the rows that passed every check (energy template evaluated).
void offer_rows(const Ctx& x, Block& blk, std::size_t kept, Local& local) {
  const std::size_t n = offer_candidates(x, blk, kept, local);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = blk.sel[k];
    const double obj = blk.obj[i];
    const std::uint64_t index = blk.index[i];
    const bool to_top = local.top.accepts(obj, index);
    const bool to_front = x.o.pareto && (!local.front_tpot.dominated(blk.tpot[i], obj, index) ||
                                         !local.front_ttft.dominated(blk.ttft[i], obj, index));
    if (!to_top && !to_front) continue;
    double pf = blk.pf[i], dec = blk.dec[i];
    if (x.energy_calibrated) kernel::calibrate_energy(x.combos.data() + blk.combo[i] * kNumComboFields, pf, dec);
    Candidate c;
    c.index = index;
    c.objective = obj;
    c.energy_j = pf + dec;
    c.prefill_j = pf;
    c.decode_j = dec;
    c.static_j = std::nan("");  // filled by evaluate_one for the candidates reported
    c.ttft_s = blk.ttft[i];
    c.tpot_s = blk.tpot[i];
    c.batch = blk.rank_batch[i];
    c.gpus = blk.cols[roofline::kTp][i] * blk.cols[roofline::kPp][i] * blk.cols[roofline::kDp][i];
    c.gpu_s_per_request = gpu_seconds(blk, i);
    c.memory_bytes = blk.mem[i];
    if (to_top) local.top.push(c);
    if (to_front) {
      local.front_tpot.insert(c.tpot_s, obj, c);
      local.front_ttft.insert(c.ttft_s, obj, c);
    }
  }
}

// Latency limits of n rows, in kernel::limit_reason's order (TTFT first; a NaN fails): flag[i] = 1 where
// row i passes; the failures per reason added to ttft_fail, tpot_fail. Comparisons only (vectorised).
ENERGYLENS_CLONES void limit_flags(long n, const double* __restrict ttft, const double* __restrict tpot,
                                   double ttft_limit, double tpot_limit, std::int64_t* __restrict flag,
                                   std::uint64_t& ttft_fail, std::uint64_t& tpot_fail) {
  std::uint64_t t_fail = 0, p_fail = 0;
  for (long i = 0; i < n; ++i) {
    const bool t = !(ttft[i] <= ttft_limit), p = !(tpot[i] <= tpot_limit);
    t_fail += t;
    p_fail += !t & p;
    flag[i] = !t & !p;
  }
  ttft_fail += t_fail;
  tpot_fail += p_fail;
}

// Rows that pass the latency limits moved up (rejections counted per reason); returns how many.
std::size_t limit_pass(const Ctx& x, Block& blk, std::size_t rows, Local& local) {
  limit_flags(static_cast<long>(rows), blk.ttft, blk.tpot, x.lim.ttft_limit_s, x.lim.tpot_limit_s, blk.flag,
              local.rejected[static_cast<std::size_t>(Reason::TtftLimit)],
              local.rejected[static_cast<std::size_t>(Reason::TpotLimit)]);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    blk.sel[kept] = static_cast<std::uint32_t>(i);
    kept += static_cast<std::size_t>(blk.flag[i]);
  }
  for (std::size_t k = 0; k < kept; ++k)
    if (blk.sel[k] != k) move_row(blk, blk.sel[k], k);
  return kept;
}

// Fixed-batch mode over [begin, begin + len): structure and memory first (no template needed), the
// survivors' features into the block, the latency template vectorised over them, the latency limits
// (survivors compacted), the energy template over those, then the objective and the reductions.
void fixed_block(const Ctx& x, std::uint64_t begin, std::size_t len, Block& blk, Local& local) {
  const std::size_t rows = fill_block(x, begin, len, blk, local);
  if (rows == 0) return;
  eval_block<LatencyTemplate>(std::make_index_sequence<F>{}, static_cast<long>(rows), blk.cols, x.pl, blk.ttft,
                              blk.tpot, blk.aux);
  for (std::size_t i = 0; x.latency_calibrated && i < rows; ++i) {  // latency calibration: the combo's factors
    const double* cv = x.combos.data() + blk.combo[i] * kNumComboFields;
    blk.ttft[i] *= cv[kTtftFactor];
    blk.tpot[i] *= cv[kTpotFactor];
  }
  const std::size_t kept = limit_pass(x, blk, rows, local);
  if (kept == 0) return;
  eval_block<EnergyTemplate>(std::make_index_sequence<F>{}, static_cast<long>(kept), blk.cols, x.pe, blk.pf,
                             blk.dec, blk.step);
  local.feasible += kept;
  offer_rows(x, blk, kept, local);
}

// Validates everything and copies the parameters into `x` (constructed from the same space and options).
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

template <typename T>
void check_axis(const std::vector<T>& axis, const char* name, double lower) {
  if (axis.empty()) throw std::invalid_argument(std::string("search: axis '") + name + "' is empty");
  for (std::size_t i = 0; i < axis.size(); ++i) {
    const double v = static_cast<double>(axis[i]);
    if (!std::isfinite(v) || v < lower)
      throw std::invalid_argument(std::string("search: axis '") + name + "' value " + std::to_string(i) + " is " +
                                  std::to_string(v) + "; it must be finite and >= " + std::to_string(lower));
  }
}

// The merged reductions into `res`, with the static-energy split (which the vectorised path skips)
// filled for the few candidates reported.
void finish(const Ctx& x, const Local& merged, Result& res) {
  res.top = merged.top.sorted();
  res.front_tpot = merged.front_tpot.points();
  res.front_ttft = merged.front_ttft.points();
  for (auto* set : {&res.top, &res.front_tpot, &res.front_ttft})
    for (Candidate& c : *set) c.static_j = evaluate_index(x, c.index).static_j;
  res.rejected = merged.rejected;
  res.feasible = merged.feasible;
}

}  // namespace

const char* reason_name(Reason r) {
  const auto k = static_cast<std::size_t>(r);
  if (k >= kNumReasons) throw std::invalid_argument("unknown search reason " + std::to_string(k));
  return kReasonNames[k];
}

const char* combo_field_name(std::size_t k) {
  if (k < F) return describe(TemplateId::Energy).feature_names[k];
  if (k < kNumComboFields) return kComboExtraNames[k - F];
  throw std::invalid_argument("combo field " + std::to_string(k) + " out of range");
}

std::uint64_t Space::size() const {
  const std::size_t lengths[] = {combos.size(), tp.size(), pp.size(), dp.size(), ep.size(), max_num_seqs.size(),
                                 distribution() && !workloads.empty() ? std::size_t{1} : workloads.size()};
  std::uint64_t total = 1;
  for (std::size_t n : lengths) {
    if (n == 0) throw std::invalid_argument("search: an axis of the space is empty");
    if (total > std::numeric_limits<std::uint64_t>::max() / n)
      throw std::invalid_argument("search: the space has more than 2^64 candidates");
    total *= n;
  }
  return total;
}

void validate(const Space& space, const Options& o) {
  if (space.combos.empty()) throw std::invalid_argument("search: no (model, GPU, precision) combinations");
  check_axis(space.tp, "tp", 1);
  check_axis(space.pp, "pp", 1);
  check_axis(space.dp, "dp", 1);
  check_axis(space.ep, "ep", 1);
  check_axis(space.max_num_seqs, "max_num_seqs", 1e-300);
  if (space.workloads.empty()) throw std::invalid_argument("search: axis 'workload' is empty");
  for (std::size_t i = 0; i < space.workloads.size(); ++i) {
    const Workload& w = space.workloads[i];
    if (!(w.input_tokens > 0 && std::isfinite(w.input_tokens)) || !(w.output_tokens > 0 && std::isfinite(w.output_tokens)))
      throw std::invalid_argument("search: workload " + std::to_string(i) + " has input_tokens " +
                                  std::to_string(w.input_tokens) + ", output_tokens " + std::to_string(w.output_tokens) +
                                  "; both must be finite and > 0");
  }
  for (std::size_t c = 0; c < space.combos.size(); ++c)
    for (std::size_t k = 0; k < kNumComboFields; ++k) {
      const double v = space.combos[c].v[k];
      const bool may_be_zero = k == roofline::kPrefillExtraFlops || k == kWeightExpertStepBytes ||
                               k == kExpertTotalBytes || k == kPricePerGpuHour || k == kExpertMissLog ||
                               k == kWindowTokens || k == kSlidingShare || k == kA2aLayersWithEp ||
                               k == roofline::kTp || k == roofline::kPp || k == roofline::kBatch ||
                               k == roofline::kInputTokens || k == roofline::kOutputTokens ||
                               k == roofline::kWeightBytesPerStep || k == roofline::kA2aMoeLayers ||
                               k == roofline::kStateBytesPerSeq || k == roofline::kMoeLayers ||
                               k == roofline::kPpScaleOutHops;
      if (!std::isfinite(v) || (!may_be_zero && !(v > 0)))
        throw std::invalid_argument("search: combo " + std::to_string(c) + " field '" + combo_field_name(k) +
                                    "' is " + std::to_string(v) + "; it must be finite" + (may_be_zero ? "" : " and > 0"));
    }
  if (!space.prefill_extra_flops.empty() && space.prefill_extra_flops.size() != space.combos.size() * space.workloads.size())
    throw std::invalid_argument("search: prefill_extra_flops needs combos x workloads values");
  if (space.distribution()) {
    if (space.workload_weights.size() != space.workloads.size())
      throw std::invalid_argument("search: " + std::to_string(space.workload_weights.size()) + " workload weights for " +
                                  std::to_string(space.workloads.size()) + " workload points");
    double sum = 0;
    for (std::size_t i = 0; i < space.workload_weights.size(); ++i) {
      const double w = space.workload_weights[i];
      if (!std::isfinite(w) || w < 0)
        throw std::invalid_argument("search: workload weight " + std::to_string(i) + " is " + std::to_string(w) +
                                    "; weights must be finite and >= 0");
      sum += w;
    }
    if (!(sum > 0)) throw std::invalid_argument("search: the workload weights sum to 0");
    if (o.rate_per_s > 0)
      throw std::invalid_argument("search: a workload distribution (workload weights) runs in fixed-batch mode only, "
                                  "not with rate_per_s");
  }
  if (!(o.gpu_memory_utilization > 0 && o.gpu_memory_utilization <= 1))
    throw std::invalid_argument("search: gpu_memory_utilization must be in (0, 1], got " +
                                std::to_string(o.gpu_memory_utilization));
  if (o.node_size < 0) throw std::invalid_argument("search: node_size must be >= 1 (0: each GPU's scale-up domain)");
  for (const SpecCombo& c : space.combos)
    if (o.node_size == 0 && !(c.v[kScaleUpDomainGpus] >= 1))
      throw std::invalid_argument("search: a combo's scale_up_domain_gpus must be >= 1");
  if (o.top_k < 1) throw std::invalid_argument("search: top_k must be >= 1");
  if (!(o.rate_per_s >= 0) || !std::isfinite(o.rate_per_s))
    throw std::invalid_argument("search: rate_per_s must be finite and >= 0");
  if (!(o.ttft_limit_s > 0) || !(o.tpot_limit_s > 0)) throw std::invalid_argument("search: latency limits must be > 0");
  if (o.runtime_reserve_bytes < 0 || o.activation_tokens < 0 || o.activation_bytes_per_token_dmodel < 0)
    throw std::invalid_argument("search: memory reserves must be >= 0");
  if (o.objective == Objective::Carbon && !(o.carbon_g_per_kwh > 0))
    throw std::invalid_argument("search: the carbon objective needs carbon_g_per_kwh > 0");
  if (o.bisection_iterations < 1 || o.bisection_iterations > 200)
    throw std::invalid_argument("search: bisection_iterations must be in [1, 200]");
}

TopK::TopK(std::size_t k) : k_(k) {
  if (k == 0) throw std::invalid_argument("TopK: k must be >= 1");
  heap_.reserve(k);
}

void TopK::push(const Candidate& c) {
  if (!accepts(c.objective, c.index)) return;
  if (heap_.size() == k_) {
    std::pop_heap(heap_.begin(), heap_.end(), better);
    heap_.back() = c;
  } else {
    heap_.push_back(c);
  }
  std::push_heap(heap_.begin(), heap_.end(), better);
  if (heap_.size() == k_) {
    worst_ = heap_.front().objective;
    worst_index_ = heap_.front().index;
  }
}

void TopK::merge(const TopK& other) {
  for (const Candidate& c : other.heap_) push(c);
}

std::vector<Candidate> TopK::sorted() const {
  std::vector<Candidate> out = heap_;
  std::sort(out.begin(), out.end(), better);
  return out;
}

bool ParetoFront::dominated(double x, double y, std::uint64_t index) const {
  // The point that rejected the previous candidate usually rejects the next one too (neighbours in
  // the mixed-radix order differ in one axis): try it before the binary search.
  if (hint_ < x_.size() && x_[hint_] <= x && y_[hint_] <= y &&
      (x_[hint_] < x || y_[hint_] < y || cand_[hint_].index < index))
    return true;
  const std::size_t lo = position(x, y, index);
  if (lo > 0 && y_[lo - 1] <= y) {
    hint_ = lo - 1;
    return true;
  }
  return false;
}

std::size_t ParetoFront::position(double x, double y, std::uint64_t index) const {
  std::size_t lo = 0, hi = x_.size();
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    const bool before = x_[mid] < x || (x_[mid] == x && (y_[mid] < y || (y_[mid] == y && cand_[mid].index < index)));
    if (before) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

bool ParetoFront::insert(double x, double y, const Candidate& c) {
  // Position by (x, y, index); the predecessor has the smallest y among lexicographically smaller points.
  const std::size_t lo = position(x, y, c.index);
  if (lo > 0 && y_[lo - 1] <= y) return false;  // dominated
  // Points after it with y >= its y are dominated by it (they are contiguous: y decreases).
  std::size_t end = lo;
  while (end < x_.size() && y_[end] >= y) ++end;
  if (end > lo) {
    x_.erase(x_.begin() + static_cast<long>(lo), x_.begin() + static_cast<long>(end));
    y_.erase(y_.begin() + static_cast<long>(lo), y_.begin() + static_cast<long>(end));
    cand_.erase(cand_.begin() + static_cast<long>(lo), cand_.begin() + static_cast<long>(end));
  }
  x_.insert(x_.begin() + static_cast<long>(lo), x);
  y_.insert(y_.begin() + static_cast<long>(lo), y);
  cand_.insert(cand_.begin() + static_cast<long>(lo), c);
  return true;
}

void ParetoFront::corners(double* xs, double* ys, std::size_t m) const {
  const std::size_t n = x_.size();
  for (std::size_t j = 0; j < m; ++j) {
    const bool any = j < n;
    const std::size_t at = n <= m ? j : (m == 1 ? 0 : j * (n - 1) / (m - 1));  // both ends included
    xs[j] = any ? x_[at] : std::numeric_limits<double>::infinity();
    ys[j] = any ? y_[at] : std::numeric_limits<double>::infinity();
  }
}

void ParetoFront::merge(const ParetoFront& other) {
  for (std::size_t i = 0; i < other.x_.size(); ++i) insert(other.x_[i], other.y_[i], other.cand_[i]);
}

Result run(const Space& space, const Options& options, std::span<const double> energy_params,
           std::span<const double> latency_params, const Progress& progress) {
  validate(space, options);
  Ctx x(space, options);
  init_params(x, energy_params, latency_params);
  const std::uint64_t total = space.size();
  const std::uint64_t chunks = (total + kBlock - 1) / kBlock;
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  Result res;
  res.candidates = total;
  res.threads = threads;
  Local merged(options.top_k);
  std::atomic<std::uint64_t> done{0};
  // Load mode (a bisection per candidate) and workload distributions (several points per candidate) take
  // the scalar path; fixed-batch points the vectorised blocks.
  const bool scalar = options.rate_per_s > 0 || space.distribution();
  using Clock = std::chrono::steady_clock;
  auto last = Clock::now();
#pragma omp parallel num_threads(threads)
  {
    Local local(options.top_k);
    auto blk = scalar ? nullptr : std::make_unique<Block>(x.nw);
#pragma omp for schedule(dynamic, 16) nowait
    for (std::uint64_t chunk = 0; chunk < chunks; ++chunk) {
      const std::uint64_t begin = chunk * kBlock;
      const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, total - begin));
      if (scalar) {
        for (std::size_t i = 0; i < len; ++i) local.offer_index(x, begin + i);
      } else {
        fixed_block(x, begin, len, *blk, local);
      }
      if (progress) {
        const std::uint64_t now_done = done.fetch_add(len, std::memory_order_relaxed) + len;
        if (omp_get_thread_num() == 0 && Clock::now() - last > std::chrono::milliseconds(500)) {
          last = Clock::now();
          progress(now_done, total);
        }
      }
    }
#pragma omp critical(energylens_search_merge)
    merged.merge(local);
  }
  if (progress) progress(total, total);
  finish(x, merged, res);
  return res;
}

Result run_subset(const Space& space, const Options& options, std::span<const std::uint64_t> indices,
                  std::span<const double> energy_params, std::span<const double> latency_params) {
  validate(space, options);
  Ctx x(space, options);
  init_params(x, energy_params, latency_params);
  const std::uint64_t total = space.size();
  std::vector<std::uint64_t> sorted(indices.begin(), indices.end());
  std::sort(sorted.begin(), sorted.end());
  if (!sorted.empty() && sorted.back() >= total)
    throw std::invalid_argument("search: candidate index " + std::to_string(sorted.back()) + " outside the space of " +
                                std::to_string(total) + " candidates");
  const auto repeated = std::adjacent_find(sorted.begin(), sorted.end());
  if (repeated != sorted.end())
    throw std::invalid_argument("search: candidate index " + std::to_string(*repeated) + " given twice");
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  Result res;
  res.candidates = sorted.size();
  res.threads = threads;
  Local merged(options.top_k);
  const auto n = static_cast<std::int64_t>(sorted.size());
#pragma omp parallel num_threads(threads)
  {
    Local local(options.top_k);
#pragma omp for schedule(dynamic, 64) nowait
    for (std::int64_t i = 0; i < n; ++i) local.offer_index(x, sorted[static_cast<std::size_t>(i)]);
#pragma omp critical(energylens_search_merge)
    merged.merge(local);
  }
  finish(x, merged, res);
  return res;
}

std::vector<Candidate> evaluate(const Space& space, const Options& options, std::span<const std::uint64_t> indices,
                                std::span<const double> energy_params, std::span<const double> latency_params) {
  validate(space, options);
  Ctx x(space, options);
  init_params(x, energy_params, latency_params);
  const std::uint64_t total = space.size();
  std::vector<Candidate> out(indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] >= total)
      throw std::invalid_argument("search.evaluate: index " + std::to_string(indices[i]) + " outside the space of " +
                                  std::to_string(total) + " candidates");
    out[i] = evaluate_index(x, indices[i]);
  }
  return out;
}

#ifndef ENERGYLENS_HAVE_CUDA
namespace cuda {
DevicePass search_pass(const kernel::View&, const kernel::Limits&, const double*, const double*, std::uint64_t,
                       std::size_t, bool) {
  throw CudaUnavailable(energylens::cuda::query_devices().reason);
}
}  // namespace cuda
#endif

Result run_device(const Space& space, const Options& options, std::span<const double> energy_params,
                  std::span<const double> latency_params) {
  validate(space, options);
  if (options.rate_per_s > 0)
    throw std::invalid_argument("search on the device: load mode (rate_per_s > 0) runs on the CPU engine only");
  if (space.distribution())
    throw std::invalid_argument("search on the device: workload distributions run on the CPU engine only");
  if (options.top_k > cuda::kMaxTopK)
    throw std::invalid_argument("search on the device: top_k must be <= " + std::to_string(cuda::kMaxTopK));
  Ctx x(space, options);
  init_params(x, energy_params, latency_params);
  const std::uint64_t total = space.size();
  const cuda::DevicePass pass = cuda::search_pass(x.view, x.lim, x.pe, x.pl, total, options.top_k, options.pareto);
  Result res;
  res.candidates = total;
  res.rejected = pass.rejected;
  res.feasible = pass.feasible;
  // Block lists merged on the host; the reported candidates re-evaluated with the CPU code so every
  // field is filled as run() fills it.
  auto full = [&](std::uint64_t index) {
    const Digits d = decode(x, index);
    return evaluate_one(x, index, d, outer_info(x, d));
  };
  TopK top(options.top_k);
  for (std::size_t i = 0; i < pass.top_index.size(); ++i) {
    if (!std::isfinite(pass.top_objective[i])) continue;
    Candidate c;
    c.index = pass.top_index[i];
    c.objective = pass.top_objective[i];
    top.push(c);
  }
  for (const Candidate& c : top.sorted()) res.top.push_back(full(c.index));
  std::sort(res.top.begin(), res.top.end(), better);
  if (options.pareto) {
    if (pass.front_overflow) {  // a thread's front outgrew its buffer: the exact fronts from the CPU engine
      Options cpu = options;
      cpu.top_k = 1;
      const Result r = run(space, cpu, energy_params, latency_params);
      res.front_tpot = r.front_tpot;
      res.front_ttft = r.front_ttft;
    } else {
      ParetoFront ft, fr;
      for (std::size_t i = 0; i < pass.front_index.size(); ++i) {
        Candidate c;
        c.index = pass.front_index[i];
        (pass.front_which[i] == 0 ? ft : fr).insert(pass.front_x[i], pass.front_y[i], c);
      }
      for (const Candidate& c : ft.points()) res.front_tpot.push_back(full(c.index));
      for (const Candidate& c : fr.points()) res.front_ttft.push_back(full(c.index));
    }
  }
  return res;
}

}  // namespace energylens::search
