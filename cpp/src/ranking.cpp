#include "energylens/ranking.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace energylens {
namespace {

/// Pairs tied within runs of equal keys of a sorted sequence: sum over runs of c (c - 1) / 2.
template <typename Equal>
std::int64_t tied_pairs(std::size_t n, Equal equal) {
  std::int64_t ties = 0;
  std::int64_t run = 1;
  for (std::size_t i = 1; i < n; ++i) {
    if (equal(i - 1, i)) {
      ++run;
    } else {
      ties += run * (run - 1) / 2;
      run = 1;
    }
  }
  return ties + run * (run - 1) / 2;
}

/// Strict inversions (i < j with v[i] > v[j]) of v, sorting v in place (bottom-up merge sort).
std::int64_t count_inversions(std::vector<double>& v) {
  const std::size_t n = v.size();
  std::vector<double> buf(n);
  std::int64_t inversions = 0;
  for (std::size_t width = 1; width < n; width *= 2) {
    for (std::size_t lo = 0; lo < n; lo += 2 * width) {
      const std::size_t mid = std::min(lo + width, n);
      const std::size_t hi = std::min(lo + 2 * width, n);
      std::size_t i = lo;
      std::size_t j = mid;
      std::size_t k = lo;
      while (i < mid && j < hi) {
        if (v[j] < v[i]) {  // every remaining left element is > v[j]: strict inversions
          inversions += static_cast<std::int64_t>(mid - i);
          buf[k++] = v[j++];
        } else {
          buf[k++] = v[i++];
        }
      }
      while (i < mid) buf[k++] = v[i++];
      while (j < hi) buf[k++] = v[j++];
    }
    v.swap(buf);
  }
  return inversions;
}

void require_finite(const double* x, std::size_t n, const char* name) {
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) {
      throw std::invalid_argument(std::string("pairwise_counts: ") + name + "[" + std::to_string(i) +
                                  "] is not finite");
    }
  }
}

}  // namespace

PairwiseCounts pairwise_counts(const double* pred, const double* meas, std::size_t n) {
  require_finite(pred, n, "pred");
  require_finite(meas, n, "meas");
  PairwiseCounts out;
  if (n < 2) return out;
  const auto total = static_cast<std::int64_t>(n) * static_cast<std::int64_t>(n - 1) / 2;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  // Sorted by (meas, pred): pairs tied in meas are never inverted, so inversions of pred in this
  // order are exactly the discordant pairs (meas_i < meas_j, pred_i > pred_j).
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return meas[a] < meas[b] || (meas[a] == meas[b] && pred[a] < pred[b]);
  });
  const std::int64_t tied_meas = tied_pairs(n, [&](std::size_t a, std::size_t b) {
    return meas[order[a]] == meas[order[b]];
  });
  const std::int64_t tied_both = tied_pairs(n, [&](std::size_t a, std::size_t b) {
    return meas[order[a]] == meas[order[b]] && pred[order[a]] == pred[order[b]];
  });
  std::vector<double> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = pred[order[i]];
  const std::int64_t discordant = count_inversions(p);  // p is now sorted
  const std::int64_t tied_pred = tied_pairs(n, [&](std::size_t a, std::size_t b) { return p[a] == p[b]; });
  out.comparable = total - tied_meas;
  const std::int64_t pred_ties_comparable = tied_pred - tied_both;
  const std::int64_t concordant = out.comparable - pred_ties_comparable - discordant;
  out.concordant = static_cast<double>(concordant) + 0.5 * static_cast<double>(pred_ties_comparable);
  return out;
}

}  // namespace energylens
