// One time base for everything the sampler, marks and kernel records produce: std::chrono::
// steady_clock in nanoseconds (int64). Other clocks (the driver sample buffer's wall-clock
// microseconds, CUPTI's GPU timestamps) are mapped onto it with an offset estimated by
// bracketing reads: read steady, read the other clock, read steady again; the round with the
// tightest bracket gives the offset, and half its width bounds the error.
#pragma once

#include <cstdint>
#include <functional>

namespace energylens::clock {

/// Nanoseconds on std::chrono::steady_clock (monotonic; the one time base of energylens).
std::int64_t steady_now_ns() noexcept;

/// Nanoseconds since the Unix epoch on std::chrono::system_clock (wall clock).
std::int64_t wall_now_ns() noexcept;

/// A linear mapping other_ns -> steady_ns = other_ns + offset_ns (both clocks tick in ns).
struct ClockMapping {
  std::int64_t offset_ns = 0;       ///< steady_ns - other_ns
  std::int64_t uncertainty_ns = 0;  ///< half the width of the tightest bracket (error bound)
  /// Maps a timestamp of the other clock (ns) onto steady-clock ns.
  [[nodiscard]] std::int64_t to_steady_ns(std::int64_t other_ns) const noexcept {
    return other_ns + offset_ns;
  }
};

/// Estimates the offset of the clock read by `read_other_ns` (ns) against steady_clock with
/// `rounds` bracketing reads (>= 1; std::invalid_argument otherwise), keeping the tightest.
ClockMapping estimate_mapping(const std::function<std::int64_t()>& read_other_ns, int rounds = 7);

/// The mapping of system_clock (wall, ns since epoch) onto steady_clock.
ClockMapping wall_to_steady(int rounds = 7);

/// Maps a wall-clock timestamp in microseconds since the epoch (as in nvmlSample_t) onto
/// steady-clock ns with `mapping` (from wall_to_steady()).
[[nodiscard]] inline std::int64_t wall_us_to_steady_ns(std::uint64_t wall_us,
                                                       const ClockMapping& mapping) noexcept {
  return mapping.to_steady_ns(static_cast<std::int64_t>(wall_us) * 1000);
}

}  // namespace energylens::clock
