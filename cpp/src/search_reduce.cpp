// The search's streaming reductions (search.hpp): TopK, a bounded max-heap of the k best candidates, and
// ParetoFront, a 2-D front kept sorted by (x, y, index). Each thread of the engine keeps its own and they
// are merged at the end; both are exact under merging, so the result does not depend on the thread count.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "energylens/search.hpp"

namespace energylens::search {

TopK::TopK(std::size_t k) : k_(k) {
  if (k == 0) throw std::invalid_argument("TopK: k must be >= 1");
  heap_.reserve(std::min<std::size_t>(k, 4096));  // grows with what arrives: a large k costs only what it holds
}

void TopK::push(const Candidate& c) {
  if (!accepts(c.objective, c.index)) return;
  if (heap_.size() == k_) {
    std::pop_heap(heap_.begin(), heap_.end(), better);
    heap_.back() = c;
  } else {
    heap_.push_back(c);
  }
  std::push_heap(heap_.begin(), heap_.end(), better);
  if (heap_.size() == k_) {
    worst_ = heap_.front().objective;
    worst_index_ = heap_.front().index;
  }
}

void TopK::merge(const TopK& other) {
  for (const Candidate& c : other.heap_) push(c);
}

std::vector<Candidate> TopK::sorted() const {
  std::vector<Candidate> out = heap_;
  std::sort(out.begin(), out.end(), better);
  return out;
}

bool ParetoFront::dominated(double x, double y, std::uint64_t index) const {
  // The point that rejected the previous candidate usually rejects the next one too (neighbours in
  // the mixed-radix order differ in one axis): try it before the binary search.
  if (hint_ < x_.size() && x_[hint_] <= x && y_[hint_] <= y &&
      (x_[hint_] < x || y_[hint_] < y || cand_[hint_].index < index))
    return true;
  const std::size_t lo = position(x, y, index);
  if (lo > 0 && y_[lo - 1] <= y) {
    hint_ = lo - 1;
    return true;
  }
  return false;
}

std::size_t ParetoFront::position(double x, double y, std::uint64_t index) const {
  std::size_t lo = 0, hi = x_.size();
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    const bool before = x_[mid] < x || (x_[mid] == x && (y_[mid] < y || (y_[mid] == y && cand_[mid].index < index)));
    if (before) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

bool ParetoFront::insert(double x, double y, const Candidate& c) {
  // Position by (x, y, index); the predecessor has the smallest y among lexicographically smaller points.
  const std::size_t lo = position(x, y, c.index);
  if (lo > 0 && y_[lo - 1] <= y) return false;  // dominated
  // Points after it with y >= its y are dominated by it (they are contiguous: y decreases).
  std::size_t end = lo;
  while (end < x_.size() && y_[end] >= y) ++end;
  if (end > lo) {
    x_.erase(x_.begin() + static_cast<long>(lo), x_.begin() + static_cast<long>(end));
    y_.erase(y_.begin() + static_cast<long>(lo), y_.begin() + static_cast<long>(end));
    cand_.erase(cand_.begin() + static_cast<long>(lo), cand_.begin() + static_cast<long>(end));
  }
  x_.insert(x_.begin() + static_cast<long>(lo), x);
  y_.insert(y_.begin() + static_cast<long>(lo), y);
  cand_.insert(cand_.begin() + static_cast<long>(lo), c);
  return true;
}

void ParetoFront::corners(double* xs, double* ys, std::size_t m) const {
  const std::size_t n = x_.size();
  for (std::size_t j = 0; j < m; ++j) {
    const bool any = j < n;
    const std::size_t at = n <= m ? j : (m == 1 ? 0 : j * (n - 1) / (m - 1));  // both ends included
    xs[j] = any ? x_[at] : std::numeric_limits<double>::infinity();
    ys[j] = any ? y_[at] : std::numeric_limits<double>::infinity();
  }
}

void ParetoFront::merge(const ParetoFront& other) {
  for (std::size_t i = 0; i < other.x_.size(); ++i) insert(other.x_[i], other.y_[i], other.cand_[i]);
}

}  // namespace energylens::search
