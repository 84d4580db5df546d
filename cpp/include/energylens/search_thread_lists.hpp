// The device search's per-thread reductions (cuda/search.cu), written once for nvcc and the host
// compiler (ENERGYLENS_HD) so the C++ tests run the exact code a GPU thread runs: a sorted top-k list and
// a bounded Pareto front that, when full, hands its points to a sink (the global buffer the host merges)
// and starts again instead of dropping any. No CUDA types; the sink is a template parameter.
#pragma once

#include <cstdint>

#include "energylens/template_common.hpp"

namespace energylens::search::lists {

/// (a, ia) orders before (b, ib): smaller value, ties by smaller candidate index (the engine's rule).
ENERGYLENS_HD bool before(double a, std::uint64_t ia, double b, std::uint64_t ib) {
  return a < b || (a == b && ia < ib);
}

/// Offers (obj, idx) to a list of at most k entries `o` / `ix` sorted by before(); `n` is its length.
ENERGYLENS_HD void topk_push(double* o, std::uint64_t* ix, int& n, int k, double obj, std::uint64_t idx) {
  if (n == k && !before(obj, idx, o[k - 1], ix[k - 1])) return;
  int j = n < k ? n++ : k - 1;
  while (j > 0 && before(obj, idx, o[j - 1], ix[j - 1])) {
    o[j] = o[j - 1];
    ix[j] = ix[j - 1];
    --j;
  }
  o[j] = obj;
  ix[j] = idx;
}

/// Offers (x, y, idx) to a thread's Pareto front `fx` / `fy` / `fi` of length `n` (at most `cap` points),
/// kept as ParetoFront keeps it: sorted by (x, y, index), y strictly decreasing, a point dropped when an
/// earlier one has y <= its y. When a new point must be added to a full front, the front is first passed
/// to `sink(fx, fy, fi, n)` and emptied, so no point that is on the front of everything this thread sees
/// is ever lost: it is either still in the list at the end or was handed to the sink. Points handed over
/// may be dominated by later ones; the merge over all sinks and final lists (ParetoFront on the host)
/// removes them, so the merged front is exact whatever `cap` (>= 1) is.
template <class Sink>
ENERGYLENS_HD void front_push(double* fx, double* fy, std::uint64_t* fi, int& n, int cap, double x, double y,
                              std::uint64_t idx, Sink& sink) {
  int pos = 0;
  while (pos < n && (fx[pos] < x || (fx[pos] == x && before(fy[pos], fi[pos], y, idx)))) ++pos;
  if (pos > 0 && fy[pos - 1] <= y) return;  // dominated (or a duplicate with a larger index)
  int end = pos;
  while (end < n && fy[end] >= y) ++end;  // the points the new one dominates
  const int removed = end - pos;
  if (removed == 0) {
    if (n >= cap) {  // full: hand the front over and start a new one holding the new point
      sink(fx, fy, fi, n);
      n = 0;
      pos = 0;
    }
    for (int j = n; j > pos; --j) {
      fx[j] = fx[j - 1];
      fy[j] = fy[j - 1];
      fi[j] = fi[j - 1];
    }
    ++n;
  } else {
    for (int j = 0; end + j < n; ++j) {
      fx[pos + 1 + j] = fx[end + j];
      fy[pos + 1 + j] = fy[end + j];
      fi[pos + 1 + j] = fi[end + j];
    }
    n -= removed - 1;
  }
  fx[pos] = x;
  fy[pos] = y;
  fi[pos] = idx;
}

}  // namespace energylens::search::lists
