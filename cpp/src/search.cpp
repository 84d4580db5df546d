// The search's entry points (search.hpp, docs/search.md "Engine"): validation, the names of the reasons
// and combo fields, and run / run_subset / evaluate / run_device, which build the engine's state
// (search_engine.hpp, internal), spread the space over the chunk pool (parallel.hpp) in blocks of kBlock candidates (the
// vectorised block path of search_block.cpp for fixed-batch points, the scalar path of search_engine.cpp
// for load mode and workload distributions), and merge the threads' reductions (search_reduce.cpp).
#include "energylens/search.hpp"


#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "energylens/closed_form.hpp"
#include "energylens/cuda_device.hpp"
#include "energylens/error.hpp"
#include "energylens/parallel.hpp"
#include "energylens/search_cuda.hpp"
#include "energylens/search_kernel.hpp"
#include "search_engine.hpp"

namespace energylens::search {

using engine::Ctx;
using engine::Digits;
using engine::F;
using engine::kBlock;
using engine::Local;
using engine::decode;
using engine::evaluate_index;
using engine::evaluate_one;
using engine::fixed_block;
using engine::init_params;
using engine::outer_info;

namespace {

const char* const kReasonNames[] = {"tp_heads",        "tp_node",        "ep_without_moe",  "ep_experts",
                                    "ep_group",        "fp8_block_shape", "memory_weights", "context_length",
                                    "memory_kv_cache", "ttft_limit",      "tpot_limit"};
static_assert(sizeof(kReasonNames) / sizeof(kReasonNames[0]) == kNumReasons);

const char* const kComboExtraNames[] = {"weight_shared_step_bytes", "weight_expert_step_bytes", "expert_miss_log",
                                        "weight_total_bytes",       "expert_total_bytes",       "memory_bytes",
                                        "n_heads",                  "n_kv_heads",               "n_experts",
                                        "price_per_gpu_hour",       "window_tokens",            "sliding_share",
                                        "a2a_moe_layers_with_dp",   "ttft_factor",              "tpot_factor",
                                        "energy_factor",            "scale_up_domain_gpus",     "state_memory_bytes_per_seq",
                                        "context_window_tokens",    "fp8_weight_block",         "intermediate_size",
                                        "moe_intermediate_size",    "nvls",                     "embedding_matrix_bytes",
                                        "encoder_bytes",            "tied_embeddings",          "attention_layer_mask_0",
                                        "attention_layer_mask_1",   "attention_layer_mask_2",   "attention_layer_mask_3",
                                        "state_layer_mask_0",       "state_layer_mask_1",       "state_layer_mask_2",
                                        "state_layer_mask_3",
                                        "sliding_layer_mask_0",     "sliding_layer_mask_1",     "sliding_layer_mask_2",
                                        "sliding_layer_mask_3",     "prefill_stall"};
static_assert(sizeof(kComboExtraNames) / sizeof(kComboExtraNames[0]) == kNumComboFields - F);

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
                               k == kWindowTokens || k == kSlidingShare || k == kA2aLayersWithDp ||
                               k == roofline::kTp || k == roofline::kPp || k == roofline::kBatch ||
                               k == roofline::kInputTokens || k == roofline::kOutputTokens ||
                               k == roofline::kWeightBytesPerStep || k == roofline::kA2aMoeLayers ||
                               k == roofline::kStateBytesPerSeq || k == roofline::kMoeLayers ||
                               k == roofline::kPpScaleOutHops || k == kStateMemoryBytesPerSeq ||
                               k == kContextTokens || k == kFp8Block || k == kFfnWidth || k == kExpertFfnWidth ||
                               k == kNvls || k == kEmbeddingMatrixBytes || k == kEncoderBytes || k == kTiedEmbeddings ||
                               (k >= kAttentionMask0 && k <= kSlidingMask3) || k == kPrefillStall;
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
  if (!(o.max_utilization > 0 && o.max_utilization <= 1))
    throw std::invalid_argument("search: max_utilization must be in (0, 1], got " + std::to_string(o.max_utilization));
  if (!(o.ttft_limit_s > 0) || !(o.tpot_limit_s > 0)) throw std::invalid_argument("search: latency limits must be > 0");
  if (!(o.runtime_reserve_bytes >= 0) || !(o.nvls_reserve_bytes_per_gpu >= 0) || o.activation_tokens < 0 ||
      o.activation_bytes_per_token_dmodel < 0)
    throw std::invalid_argument("search: memory reserves must be >= 0");
  if (o.objective == Objective::Carbon && !(o.carbon_g_per_kwh > 0))
    throw std::invalid_argument("search: the carbon objective needs carbon_g_per_kwh > 0");
  if (o.bisection_iterations < 1 || o.bisection_iterations > 200)
    throw std::invalid_argument("search: bisection_iterations must be in [1, 200]");
}

Result run(const Space& space, const Options& options, std::span<const double> energy_params,
           std::span<const double> latency_params, const Progress& progress) {
  validate(space, options);
  Ctx x(space, options);
  init_params(x, energy_params, latency_params);
  const std::uint64_t total = space.size();
  const std::uint64_t chunks = (total + kBlock - 1) / kBlock;
  const int threads = options.threads > 0 ? options.threads : max_threads();
  Result res;
  res.candidates = total;
  res.threads = threads;
  Local merged(options.top_k);
  std::atomic<std::uint64_t> done{0};
  std::atomic<bool> stop{false};
  // Load mode (a bisection per candidate) and workload distributions (several points per candidate) take
  // the scalar path; fixed-batch points the vectorised blocks.
  const bool scalar = options.rate_per_s > 0 || space.distribution();
  using Clock = std::chrono::steady_clock;
  auto last = Clock::now();
  // One reduction and one block buffer per participant of the chunk pool (parallel.hpp: fork-safe, unlike
  // an OpenMP team, whose pool a fork child inherits broken), made on its first chunk.
  std::vector<std::unique_ptr<Local>> locals(static_cast<std::size_t>(threads));
  std::vector<engine::BlockPtr> blocks(static_cast<std::size_t>(threads));
  // A pool chunk is kBlocksPerChunk blocks, as OpenMP's schedule(dynamic, 16) handed them out: one claim
  // (an atomic on a shared counter) per 2048 candidates.
  constexpr std::uint64_t kBlocksPerChunk = 16;
  const std::uint64_t pool_chunks = (chunks + kBlocksPerChunk - 1) / kBlocksPerChunk;
  run_chunks(static_cast<std::size_t>(pool_chunks), threads, [&](std::size_t pool_chunk, int slot) {
    if (stop.load(std::memory_order_relaxed)) return;  // the caller asked to stop: skip what is left
    auto& local = locals[static_cast<std::size_t>(slot)];
    if (!local) local = std::make_unique<Local>(options.top_k);
    auto& blk = blocks[static_cast<std::size_t>(slot)];
    if (!scalar && !blk) blk = engine::make_block(x.nw);
    const std::uint64_t first = pool_chunk * kBlocksPerChunk;
    const std::uint64_t last_chunk = std::min(chunks, first + kBlocksPerChunk);
    for (std::uint64_t chunk = first; chunk < last_chunk; ++chunk) {
      const std::uint64_t begin = chunk * kBlock;
      const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, total - begin));
      if (scalar) {
        for (std::size_t i = 0; i < len; ++i) local->offer_index(x, begin + i);
      } else {
        fixed_block(x, begin, len, *blk, *local);
      }
      if (progress) {
        const std::uint64_t now_done = done.fetch_add(len, std::memory_order_relaxed) + len;
        if (slot == 0 && Clock::now() - last > std::chrono::milliseconds(500)) {  // slot 0: the calling thread
          last = Clock::now();
          if (!progress(now_done, total)) {
            stop.store(true, std::memory_order_relaxed);
            return;
          }
        }
      }
    }
  });
  for (const auto& local : locals) {
    if (local) merged.merge(*local);
  }
  res.stopped = stop.load();
  if (progress && !res.stopped) progress(total, total);
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
  const int threads = options.threads > 0 ? options.threads : max_threads();
  Result res;
  res.candidates = sorted.size();
  res.threads = threads;
  Local merged(options.top_k);
  constexpr std::size_t kPerChunk = 64;
  const std::size_t chunks = (sorted.size() + kPerChunk - 1) / kPerChunk;
  std::vector<std::unique_ptr<Local>> locals(static_cast<std::size_t>(threads));
  run_chunks(chunks, threads, [&](std::size_t chunk, int slot) {
    auto& local = locals[static_cast<std::size_t>(slot)];
    if (!local) local = std::make_unique<Local>(options.top_k);
    const std::size_t end = std::min(sorted.size(), (chunk + 1) * kPerChunk);
    for (std::size_t i = chunk * kPerChunk; i < end; ++i) local->offer_index(x, sorted[i]);
  });
  for (const auto& local : locals) {
    if (local) merged.merge(*local);
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
                       std::size_t, bool, std::size_t) {
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
  if (options.device_front_points > cuda::kMaxFrontPoints)
    throw std::invalid_argument("search on the device: device_front_points must be in [0, " +
                                std::to_string(cuda::kMaxFrontPoints) + "] (0: " +
                                std::to_string(cuda::kMaxFrontPoints) + "), got " +
                                std::to_string(options.device_front_points));
  Ctx x(space, options);
  init_params(x, energy_params, latency_params);
  const std::uint64_t total = space.size();
  // The kernel's grid-stride loop adds the stride (a few 1e5 threads) to an index below `total`: keep the
  // sum inside 64 bits (no scannable space comes near; this only rules out a silent wrap-around).
  if (total > std::numeric_limits<std::uint64_t>::max() - (std::uint64_t{1} << 40))
    throw std::invalid_argument("search on the device: at most 2^64 - 2^40 candidates, got " + std::to_string(total));
  const cuda::DevicePass pass = cuda::search_pass(x.view, x.lim, x.pe, x.pl, total, options.top_k, options.pareto,
                                                  options.device_front_points);
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
