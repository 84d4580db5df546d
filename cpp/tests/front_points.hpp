// Shared by the search's C++ tests: a 2-D point with a candidate index, and the brute-force Pareto
// front (minimise x and y; ties by (x, y, index), so exact duplicates keep the smallest index), the
// reference every streaming or merged front is checked against.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace energylens::testing {

/// One candidate's (x, y) and its index.
struct Point {
  double x, y;
  std::uint64_t index;
};

/// Indices of the Pareto front of `p`, in increasing x.
inline std::vector<std::uint64_t> brute_front(std::vector<Point> p) {
  std::sort(p.begin(), p.end(), [](const Point& a, const Point& b) {
    return a.x < b.x || (a.x == b.x && (a.y < b.y || (a.y == b.y && a.index < b.index)));
  });
  std::vector<std::uint64_t> out;
  double best = 1e300;
  for (const Point& q : p)
    if (q.y < best) {
      out.push_back(q.index);
      best = q.y;
    }
  return out;
}

}  // namespace energylens::testing
