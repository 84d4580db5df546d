// INTERNAL to energylens_core (not installed, not part of the public API; the public one is
// energylens/search.hpp): the CPU search engine's shared state, split over four translation units:
//   search.cpp         validation, names, and the entry points run / run_subset / evaluate / run_device
//   search_engine.cpp  Ctx and the scalar per-candidate path (evaluate_one, evaluate_candidate, Local)
//   search_block.cpp   the vectorised fixed-batch block path (fixed_block and its Block scratch)
//   search_reduce.cpp  the streaming reductions TopK and ParetoFront
// The per-candidate arithmetic they all use (and cuda/search.cu too) is search_kernel.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "energylens/energy_template.hpp"
#include "energylens/latency_template.hpp"
#include "energylens/search.hpp"
#include "energylens/search_kernel.hpp"

namespace energylens::search::engine {

/// Template features per candidate row.
inline constexpr std::size_t F = roofline::kNumFeatures;

/// Candidates per block: the template loops run vectorised over a block whose 16 feature columns
/// (16 KB in float64) stay in L1. Measured on the bench space (cpu-seconds, one thread): 64 rows 75 M/s,
/// 128 rows 81 M/s, 256 rows 45-67 M/s, 512 rows 27 M/s. With 26 feature columns now (26 KB), 64 rows
/// measured no faster than 128 (8.3-9.5e7 against 8.5-8.8e7 per cpu-second, alternating, loaded box).
/// Also the chunk of work run() hands a thread on either path.
inline constexpr std::size_t kBlock = 128;

using kernel::Digits;
using kernel::Outer;

/// The space as kernel::View (flat double arrays owned here), the options as kernel::Limits, and the
/// parameters (plus the static-only energy parameters: busy power and FLOP energy zeroed).
struct Ctx {
  const Space& s;    ///< the space (outlives the Ctx)
  const Options& o;  ///< the options (outlive the Ctx)
  std::vector<double> combos, tp, pp, dp, ep, workloads;  ///< the axes as doubles (view points into them)
  std::vector<double> in_tokens, out_tokens;  ///< the workload points' tokens, one array each
  std::vector<double> weights;  ///< workload weights normalised to sum 1 (distribution mode), else empty
  kernel::View view{};          ///< the space as the kernel reads it
  kernel::Limits lim{};         ///< the options as the kernel reads them
  double pe[EnergyTemplate::kParams];   ///< energy parameters (init_params)
  double ps[EnergyTemplate::kParams];   ///< energy parameters with busy power and FLOP energy zeroed
  double pl[LatencyTemplate::kParams];  ///< latency parameters
  std::uint64_t nw, nb, nep, ndp, npp, ntp;  ///< axis lengths (nw: workload points)
  bool energy_calibrated = false;   ///< some combo's energy factor is not 1 (else the hot loop skips the gather)
  bool latency_calibrated = false;  ///< some combo's TTFT or TPOT factor is not 1 (likewise)
  Ctx(const Ctx&) = delete;  // view points into the vectors above
  Ctx& operator=(const Ctx&) = delete;
  /// The flat copies of `space` and `options` (validated before: validate()); parameters not yet set.
  Ctx(const Space& space, const Options& options);
};

/// Validates the parameter counts and copies the parameters into `x` (constructed from the same space and
/// options).
void init_params(Ctx& x, std::span<const double> energy_params, std::span<const double> latency_params);

/// Axis positions of candidate `i` (not in distribution mode: there first_point decodes configurations).
inline Digits decode(const Ctx& x, std::uint64_t i) { return kernel::decode(x.view, i); }

/// Structure and weight memory of the outer (combo, tp, pp, dp, ep) of `d`.
inline Outer outer_info(const Ctx& x, const Digits& d) { return kernel::outer_info(x.view, x.lim, d); }

/// The combo's values (kNumComboFields doubles) of `d`.
inline const double* combo(const Ctx& x, const Digits& d) { return x.combos.data() + d.c * kNumComboFields; }

/// One workload point, scalar: features at its running batch (load mode: Little's law), both templates,
/// the static part, memory and the first failing reason (of `out`, then memory, then the latency limits).
Candidate evaluate_one(const Ctx& x, std::uint64_t index, const Digits& d, const Outer& out);

/// Candidate `index` with its first point's digits `d`: evaluate_one, or in distribution mode the
/// weighted means over the points (energy, its parts, GPU-seconds), the largest TTFT, TPOT, memory and
/// GPUs, and the first reason (in check order) that any point fails.
Candidate evaluate_candidate(const Ctx& x, std::uint64_t index, Digits d, const Outer& out);

/// The full evaluation of candidate `index` (every field filled, whatever its reason).
Candidate evaluate_index(const Ctx& x, std::uint64_t index);

/// Per-thread reduction state: the top-k, the two fronts, and the rejections per reason.
struct Local {
  TopK top;                                       ///< the k best feasible candidates
  ParetoFront front_tpot, front_ttft;             ///< objective against TPOT and against TTFT
  std::array<std::uint64_t, kNumReasons> rejected{};  ///< candidates rejected per Reason
  std::uint64_t feasible = 0;                     ///< candidates that passed every check
  /// Empty state keeping `k` candidates.
  explicit Local(std::size_t k) : top(k) {}
  /// Counts `c` under its reason, or offers it to the top-k and (with Options::pareto) the fronts.
  void offer(const Ctx& x, const Candidate& c);
  /// Candidate `index` on the scalar path; a structural or weight-memory rejection skips the templates.
  void offer_index(const Ctx& x, std::uint64_t index);
  /// Adds another thread's state (order-independent).
  void merge(const Local& other);
};

struct Block;  // the block path's scratch (search_block.cpp)

/// Frees a Block (where its type is complete).
struct BlockDelete {
  /// Deletes `b`.
  void operator()(Block* b) const noexcept;
};

/// One thread's scratch of the block path.
using BlockPtr = std::unique_ptr<Block, BlockDelete>;

/// Scratch of the block path for a space of `nw` workload points (one per thread).
BlockPtr make_block(std::size_t nw);

/// Fixed-batch mode over candidates [begin, begin + len) (len <= kBlock), vectorised: structure and
/// memory first (no template needed), the survivors' features into `blk`, the latency template over them,
/// the latency limits, the energy template over the survivors, then the objective and the reductions into
/// `local`: the same selections and counts, bit for bit, as Local::offer_index on each candidate (the kept
/// candidates' static_j is left NaN; run() fills it for the reported ones).
void fixed_block(const Ctx& x, std::uint64_t begin, std::size_t len, Block& blk, Local& local);

}  // namespace energylens::search::engine
