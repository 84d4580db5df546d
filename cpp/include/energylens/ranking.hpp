// Pairwise ranking agreement of predictions with measurements in O(n log n) (a merge-sort count of
// discordant pairs, as Knight's algorithm for Kendall's tau), so scoring a group of a million
// candidates needs O(n) memory instead of the n^2/2 pair arrays of the direct method.
#pragma once

#include <cstddef>
#include <cstdint>

namespace energylens {

/// Counts of one group: pairs whose measured values differ (``comparable``) and the concordant
/// share of them, a predicted tie counting one half.
struct PairwiseCounts {
  /// Concordant comparable pairs (+0.5 per comparable pair tied in the prediction).
  double concordant = 0.0;
  /// Pairs whose measurements differ.
  std::int64_t comparable = 0;
};

/// Pairwise counts of ``n`` finite predictions and measurements (std::invalid_argument on a NaN or
/// infinity, naming the array and index). Equal to the direct O(n^2) count exactly.
PairwiseCounts pairwise_counts(const double* pred, const double* meas, std::size_t n);

}  // namespace energylens
