// The search's pass on a CUDA device (cuda/search.cu): one thread per candidate stride, the shared
// per-candidate code (search_kernel.hpp) and templates, rejection counts reduced per block in shared
// memory, the top-k reduced per block (k rounds of a block-wide argmin over each thread's sorted
// list), Pareto points kept per thread and merged on the host. Without the CUDA part every call
// throws CudaUnavailable. No CUDA types here.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "energylens/search.hpp"
#include "energylens/search_kernel.hpp"

namespace energylens::search::cuda {

/// Largest top-k the device pass keeps (per thread and per block).
inline constexpr std::size_t kMaxTopK = 32;
/// Pareto points a thread keeps per front before flushing them to the global buffer (the default and
/// the largest Options::device_front_points).
inline constexpr std::size_t kMaxFrontPoints = 24;

/// What the device pass returns to the host.
struct DevicePass {
  std::vector<double> top_objective;        ///< blocks x k, best first per block; +inf where empty
  std::vector<std::uint64_t> top_index;     ///< same layout
  std::vector<double> front_x, front_y;     ///< per-thread Pareto points (x: TPOT or TTFT, y: objective)
  std::vector<std::uint64_t> front_index;  ///< candidate index of each front point
  std::vector<std::uint8_t> front_which;    ///< 0: TPOT front, 1: TTFT front
  std::array<std::uint64_t, kNumReasons> rejected{};  ///< candidates rejected per Reason
  std::uint64_t feasible = 0;               ///< candidates that passed every check
  bool front_overflow = false;              ///< the global front buffer filled up: fronts incomplete
};

/// Runs the fixed-batch search over all `total` candidates of `view` (host pointers; copied to the
/// device) with parameters pe (12) / pl (10). `k` <= kMaxTopK; `front_points` in [1, kMaxFrontPoints], 0 for
/// kMaxFrontPoints (smaller values make threads flush their fronts often: tests of that path).
DevicePass search_pass(const kernel::View& view, const kernel::Limits& limits, const double* pe, const double* pl,
                       std::uint64_t total, std::size_t k, bool pareto, std::size_t front_points = 0);

}  // namespace energylens::search::cuda
