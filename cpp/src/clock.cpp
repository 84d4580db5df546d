#include "energylens/clock.hpp"

#include <chrono>
#include <limits>
#include <stdexcept>

namespace energylens::clock {

std::int64_t steady_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t wall_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ClockMapping estimate_mapping(const std::function<std::int64_t()>& read_other_ns, int rounds) {
  if (rounds < 1) throw std::invalid_argument("estimate_mapping: rounds must be >= 1");
  if (!read_other_ns) throw std::invalid_argument("estimate_mapping: no clock to read");
  ClockMapping best;
  std::int64_t best_width = std::numeric_limits<std::int64_t>::max();
  for (int i = 0; i < rounds; ++i) {
    const std::int64_t before = steady_now_ns();
    const std::int64_t other = read_other_ns();
    const std::int64_t after = steady_now_ns();
    const std::int64_t width = after - before;
    if (width < best_width) {
      best_width = width;
      best.offset_ns = before + width / 2 - other;
      best.uncertainty_ns = (width + 1) / 2;
    }
  }
  return best;
}

ClockMapping wall_to_steady(int rounds) { return estimate_mapping(&wall_now_ns, rounds); }

}  // namespace energylens::clock
