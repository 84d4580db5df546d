// Configuration search (docs/search.md): candidates are generated from axes by a mixed-radix index
// (spec combo x tp x pp x dp x ep x max_num_seqs x workload point), never materialised; each is
// evaluated with the same energy and latency templates as the evaluator (energy_template.hpp,
// latency_template.hpp), checked for feasibility (named reasons), and reduced on the fly into a
// streaming top-k and two Pareto fronts (objective against TPOT and against TTFT) per thread, merged
// at the end. Memory is O(k + front) whatever the size of the space. No Python, no CUDA types.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <vector>

#include "energylens/roofline.hpp"

namespace energylens::search {

/// Why a candidate is infeasible; each rejected candidate counts once, under the first reason in this
/// order that applies.
enum class Reason : int {
  TpHeads = 0,     ///< tp does not divide the attention heads (or the KV heads / their replication)
  TpNode,          ///< tp exceeds the GPUs of one scale-up domain (the GPU table's, or Options::node_size)
  EpWithoutMoe,    ///< ep > 1 on a dense model
  EpExperts,       ///< ep does not divide the experts
  EpGroup,         ///< ep > 1 is not tp x dp (vLLM's expert-parallel group is every GPU of a stage: TP x DP)
  Fp8BlockShape,   ///< a block-scaled fp8 checkpoint's FFN shard is not a whole number of weight blocks (vLLM
                   ///< refuses to load it: fp8.py validate_fp8_block_shape / Fp8MoEMethod)
  MemoryWeights,   ///< weights + activation/runtime reserve exceed the usable memory of a GPU
  ContextLength,   ///< the workload's prompt + output tokens exceed the model's context window
  MemoryKvCache,   ///< ... and the KV cache of the running batch does not fit next to them
  TtftLimit,       ///< predicted TTFT above the limit
  TpotLimit,       ///< predicted TPOT above the limit
  kCount           ///< number of reasons (not a reason)
};
/// Number of rejection reasons (Result::rejected's length).
inline constexpr std::size_t kNumReasons = static_cast<std::size_t>(Reason::kCount);
inline constexpr int kFeasible = -1;  ///< Candidate::reason of a feasible candidate

/// Stable snake_case name of a reason ("tp_heads", "memory_kv_cache", ...).
const char* reason_name(Reason r);

/// Per-combo static values beyond the template features (field order of ComboField).
enum ComboField : int {
  kWeightSharedStepBytes = roofline::kNumFeatures,  ///< weight bytes a step streams besides experts
  kWeightExpertStepBytes,  ///< expert weight bytes (all experts) a step can stream
  kExpertMissLog,          ///< log(1 - experts_per_token / n_experts); 0 for dense
  kWeightTotalBytes,       ///< bytes of all weights of the checkpoint
  kExpertTotalBytes,       ///< bytes of the expert weights (0 dense)
  kMemoryBytes,            ///< device memory of one GPU
  kHeads,                  ///< attention heads
  kKvHeads,                ///< KV heads
  kExperts,                ///< experts (1 dense)
  kPricePerGpuHour,        ///< price of one GPU-hour (cost objective; 0 if unused)
  kWindowTokens,           ///< sliding-window / chunked-attention span in tokens (0: none)
  kSlidingShare,           ///< share of the attention layers that use the window (0: none)
  kA2aLayersWithDp,        ///< a2a_moe_layers when dp > 1 (MoE layers' dispatch / combine; 0 dense)
  kTtftFactor,             ///< latency calibration: the combo's model's TTFT factor (1: none)
  kTpotFactor,             ///< latency calibration: the combo's model's TPOT factor (1: none)
  kEnergyFactor,           ///< energy calibration: exp(offset) of the combo's model's key (1: none or unseen)
  kScaleUpDomainGpus,      ///< GPUs per scale-up domain of the combo's GPU (GPU table; docs/search.md, Topology)
  kStateMemoryBytesPerSeq,  ///< bytes of one sequence's recurrent (Mamba SSM + conv) state, all layers (0: none)
  kContextTokens,          ///< the model's context window in tokens (prompt + output; 0: unknown, not checked)
  kFp8Block,               ///< weight-block width of a block-scaled fp8 checkpoint searched in fp8 (0: none)
  kFfnWidth,               ///< FFN intermediate width of the dense layers (0: none or unknown)
  kExpertFfnWidth,         ///< FFN intermediate width of one routed expert (0: dense or unknown)
  kNvls,                   ///< 1: NCCL runs NVLink SHARP (NVLS) on the combo's GPU (NVSwitch, NVLink >= 900 GB/s), else 0
  kEmbeddingMatrixBytes,   ///< bytes of one vocabulary x d_model matrix as held (the input embedding, or the lm_head; 0: unknown)
  kEncoderBytes,           ///< bytes of the vision encoder as held (every pipeline stage holds one; 0: none)
  kTiedEmbeddings,         ///< 1: the lm_head is the input embedding (the checkpoint counts one matrix), else 0
  /// A hybrid's layer pattern (model table layer_pattern; stage_cache.py pattern_fields): bit i % 48 of mask
  /// field i / 48 set where decoder layer i is an attention layer (kAttentionMask0..3) or holds a recurrent
  /// state (kStateMask0..3); all 0 where the pattern is unknown (the KV cache and state then spread over the
  /// layers in proportion).
  kAttentionMask0, kAttentionMask1, kAttentionMask2, kAttentionMask3,
  kStateMask0, kStateMask1, kStateMask2, kStateMask3,
  /// Its sliding-window attention layers (layer_pattern S; among the attention mask's): bit i % 48 of field i / 48.
  kSlidingMask0, kSlidingMask1, kSlidingMask2, kSlidingMask3,
  kPrefillStall,           ///< time in system: the latency model's prefill_stall sigma (1: a file without one)
  kNumComboFields          ///< number of combo fields, features included (not a field)
};

/// Names of the combo fields (template features first, then ComboField order).
const char* combo_field_name(std::size_t k);

/// One (model, GPU, weight precision, KV dtype) combination: the template features that do not vary
/// with the configuration (tp, pp, dp, ep, batch, tokens, weight bytes per step and the EP all-to-all
/// layers are set per candidate) and the values of ComboField.
struct SpecCombo {
  std::array<double, kNumComboFields> v{};  ///< features [0, kNumFeatures) then ComboField values
};

/// One workload point: mean prompt and output tokens per request.
struct Workload {
  double input_tokens = 0;   ///< tokens/request
  double output_tokens = 0;  ///< tokens/request
};

/// The axes. Index order (slowest first): combo, tp, pp, dp, ep, max_num_seqs, workload.
struct Space {
  std::vector<SpecCombo> combos;   ///< (model, GPU, weight precision, KV dtype) combinations
  std::vector<int> tp, pp, dp, ep;  ///< tensor-, pipeline-, data- and expert-parallel degrees tried
  std::vector<double> max_num_seqs;  ///< per data-parallel rank
  std::vector<Workload> workloads;  ///< workload points (or a distribution's quantiles)
  /// Prefill extra FLOPs (vision encoder) per (combo, workload), combo-major, because the encoder's
  /// share depends on the prompt length; empty: the combo's feature value for every workload.
  std::vector<double> prefill_extra_flops;
  /// Empty: every workload point is its own candidate (the workload digit is part of the index). Else one
  /// weight per point (>= 0, summing to > 0): the points are quantiles of one workload distribution, a
  /// candidate is (combo, tp, pp, dp, ep, max_num_seqs) and its energy is the weighted mean over the
  /// points, its TTFT, TPOT and memory the largest (docs/search.md, "Workload distributions").
  std::vector<double> workload_weights;
  /// True when the points form one distribution (workload_weights given).
  bool distribution() const { return !workload_weights.empty(); }
  /// Number of candidates (product of the axis lengths, the workload axis counted once for a
  /// distribution); throws std::invalid_argument on an empty axis or overflow.
  std::uint64_t size() const;
};

/// What is minimised.
enum class Objective : int {
  Energy = 0,  ///< J per request (per output token with per_token)
  Carbon,      ///< g CO2 per request: energy x carbon_g_per_kwh / 3.6e6
  Cost,        ///< currency per request: GPU-hours per request x price per GPU-hour (combo field)
};

/// Search options (defaults follow vLLM where it has one).
struct Options {
  double gpu_memory_utilization = 0.9;     ///< vLLM's usable fraction of device memory
  double runtime_reserve_bytes = 1.5 * 1073741824.0;  ///< CUDA graphs, non-torch memory, allocator slack
  /// NCCL's NVLS buffers per GPU of a TP / EP group of more than 2 GPUs where the combo has kNvls (two
  /// communicators of 288 MiB per group GPU, up to 32 GPUs: NCCL's NVLS heads; docs/search.md,
  /// Feasibility); 0: none
  double nvls_reserve_bytes_per_gpu = 2 * 301989888.0;
  double activation_tokens = 8192;         ///< tokens of the peak forward pass (vLLM max_num_batched_tokens)
  double activation_bytes_per_token_dmodel = 24;  ///< activation bytes per token per hidden unit
  int node_size = 0;                       ///< > 0: GPUs per scale-up domain for every GPU (TP stays inside
                                           ///< one); 0: each combo's kScaleUpDomainGpus (the GPU table's)
  double ttft_limit_s = std::numeric_limits<double>::infinity();  ///< largest predicted TTFT (Reason::TtftLimit)
  double tpot_limit_s = std::numeric_limits<double>::infinity();  ///< largest predicted TPOT (Reason::TpotLimit)
  double rate_per_s = 0;                   ///< > 0: load-driven mode (Little's law, replicas)
  double max_utilization = 1.0;            ///< load mode: replicas sized so each runs at most this share of
                                           ///< its throughput at the max_num_seqs cap (headroom for queueing)
  Objective objective = Objective::Energy;  ///< what is minimised
  bool per_token = false;                  ///< divide the objective by the output tokens
  double carbon_g_per_kwh = 0;             ///< Objective::Carbon
  std::size_t top_k = 10;                  ///< candidates kept in Result::top
  int threads = 0;                         ///< 0: OpenMP's default
  int bisection_iterations = 48;           ///< load mode: running-batch solve
  bool pareto = true;                      ///< keep the two Pareto fronts
  std::size_t device_front_points = 0;     ///< device search: Pareto points a thread keeps per front before
                                           ///< flushing them (0: the kernel's 24; smaller: tests of the flush)
};

/// One evaluated candidate.
struct Candidate {
  std::uint64_t index = 0;      ///< mixed-radix index into the space
  double objective = 0;         ///< value minimised (unit per Options)
  double energy_j = 0;          ///< energy per request: prefill + decode + idle
  double prefill_j = 0;         ///< template prefill energy per request
  double decode_j = 0;          ///< template decode energy per request
  double idle_j = 0;            ///< static energy of idle headroom per request (load mode)
  double static_j = 0;          ///< static part of prefill + decode (busy and FLOP terms zeroed)
  double ttft_s = 0;            ///< predicted time to first token
  double tpot_s = 0;            ///< predicted time per output token
  double batch = 0;             ///< running sequences per data-parallel rank (the template's batch is dp x this)
  double replicas = 1;          ///< deployments of tp x pp x dp GPUs (load mode)
  double gpus = 0;              ///< GPUs provisioned
  double gpu_s_per_request = 0; ///< GPU-seconds per request
  double memory_bytes = 0;      ///< bytes per GPU (weights + KV + reserve)
  int reason = kFeasible;       ///< kFeasible or a Reason
};

/// Strict order of candidates: smaller objective first, ties by smaller index.
inline bool better(const Candidate& a, const Candidate& b) {
  return a.objective < b.objective || (a.objective == b.objective && a.index < b.index);
}

/// Streaming top-k: keeps the k best candidates (order `better`) seen; O(k) memory.
class TopK {
 public:
  /// Keeps `k` candidates (k >= 1).
  explicit TopK(std::size_t k);
  /// True when a candidate with this objective and index would enter.
  bool accepts(double objective, std::uint64_t index) const {
    return heap_.size() < k_ || objective < worst_ || (objective == worst_ && index < worst_index_);
  }
  /// Offers a candidate.
  void push(const Candidate& c);
  /// Adds everything `other` kept; the result is what one TopK fed both streams would keep.
  void merge(const TopK& other);
  /// The kept candidates, best first.
  std::vector<Candidate> sorted() const;
  /// Objective of the worst kept candidate once k are kept, +inf before: a candidate with a larger
  /// objective is not accepted (a cheap test before accepts()).
  double worst() const { return worst_; }

 private:
  std::size_t k_;
  std::vector<Candidate> heap_;  // max-heap by `better`: front is the worst kept
  double worst_ = std::numeric_limits<double>::infinity();
  std::uint64_t worst_index_ = 0;
};

/// Streaming 2-D Pareto front (minimise x and y). A point is dominated by another with x <= and
/// y <= and a lexicographically smaller (x, y, index); exact duplicates keep the smallest index.
/// Stored sorted by (x, y, index) with y strictly decreasing.
class ParetoFront {
 public:
  /// Offers `c` at (x, y); true when it entered the front.
  bool insert(double x, double y, const Candidate& c);
  /// True when a point at (x, y) with this index would not enter (cheap check before building it).
  bool dominated(double x, double y, std::uint64_t index) const;
  /// Adds every point of `other`; the result is the front of the union.
  void merge(const ParetoFront& other);
  /// Up to `m` points spread along the front into xs, ys (the rest of the m padded with +inf); a point
  /// with x > xs[j] and y > ys[j] for some j is dominated, also after later inserts (they drop only points
  /// that a kept point dominates): a cheap test, vectorised over many points, before dominated().
  void corners(double* xs, double* ys, std::size_t m) const;
  /// Front points in increasing x.
  const std::vector<Candidate>& points() const { return cand_; }
  /// Points on the front.
  std::size_t size() const { return cand_.size(); }

 private:
  std::size_t position(double x, double y, std::uint64_t index) const;
  std::vector<double> x_, y_;
  std::vector<Candidate> cand_;
  mutable std::size_t hint_ = 0;  // last dominating point (a search hint, not state)
};

/// Outcome of a search.
struct Result {
  std::vector<Candidate> top;         ///< best first
  std::vector<Candidate> front_tpot;  ///< objective vs TPOT, increasing TPOT
  std::vector<Candidate> front_ttft;  ///< objective vs TTFT, increasing TTFT
  std::array<std::uint64_t, kNumReasons> rejected{};  ///< candidates rejected per Reason
  std::uint64_t candidates = 0;       ///< size of the space
  std::uint64_t feasible = 0;         ///< candidates that passed every check
  int threads = 0;                    ///< threads used
  bool stopped = false;               ///< the progress callback asked to stop (run() only)
};

/// Progress callback: (candidates done, total); called from the calling thread about twice a second.
/// Returning false stops the search: the chunks not yet started are skipped and run() returns with
/// Result::stopped set (its tables then cover only what ran).
using Progress = std::function<bool(std::uint64_t, std::uint64_t)>;

/// Validates the space and options (std::invalid_argument naming the axis / option and value).
void validate(const Space& space, const Options& options);

/// Searches the whole space: energy params (12) and latency params (10) of the fitted templates. The
/// result does not depend on the thread count. Releases nothing Python-related (there is none here).
Result run(const Space& space, const Options& options, std::span<const double> energy_params,
           std::span<const double> latency_params, const Progress& progress = {});

/// The search restricted to the given candidate indices (each < space.size(), no repeats): the same
/// checks, top-k, fronts and rejection counts as run() on a space holding only these candidates (e.g.
/// the configurations of a measured table, energylens.search(candidates=...)). Scalar per candidate.
Result run_subset(const Space& space, const Options& options, std::span<const std::uint64_t> indices,
                  std::span<const double> energy_params, std::span<const double> latency_params);

/// Evaluates the given candidate indices (no filtering; Candidate::reason says what would reject
/// each), e.g. the top-k under bootstrap replicates of the parameters.
std::vector<Candidate> evaluate(const Space& space, const Options& options, std::span<const std::uint64_t> indices,
                                std::span<const double> energy_params, std::span<const double> latency_params);

/// TTFT, TPOT and the prefill stall B_r t_pf (s, uncalibrated) of `rows` rows of the latency template's
/// roofline::kNumFeatures feature `columns` at `latency_params`: the fixed-batch block path's own vectorised
/// evaluation (kernel::LatencyStall, rounded as the engine rounds), on the evaluator's threads. What predict's
/// time in the system takes its stall from (energylens.model.time_in_system).
void latency_stall(std::size_t rows, const double* const* columns, std::span<const double> latency_params,
                   double* ttft, double* tpot, double* stall);

/// latency_stall on the calling thread (`latency_params`: LatencyTemplate::kParams values): the light predict
/// path's stall per block of rows whose features it builds in cache (row_features.cpp).
void latency_stall_block(std::size_t rows, const double* const* columns, const double* latency_params, double* ttft,
                         double* tpot, double* stall);

}  // namespace energylens::search

namespace energylens::search {

/// The fixed-batch search on the CUDA device (cuda/search.cu): the same Result as run() up to
/// rounding (the device compiles the same templates with its own FMA contraction); the reported
/// candidates are re-evaluated on the host. Throws CudaUnavailable without a device, and
/// std::invalid_argument for load mode (rate_per_s > 0) or top_k above 32.
Result run_device(const Space& space, const Options& options, std::span<const double> energy_params,
                  std::span<const double> latency_params);

}  // namespace energylens::search
