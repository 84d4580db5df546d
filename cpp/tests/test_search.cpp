// The search's streaming reductions: TopK and ParetoFront fed a random stream in pieces and merged
// give exactly what a brute force over the whole stream gives (ties by index, duplicates keep the
// smallest index), whatever the split. CHECK (check.hpp); exit code 1 on failure.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "front_points.hpp"
#include "energylens/search.hpp"

namespace {

using energylens::search::Candidate;
using energylens::search::ParetoFront;
using energylens::search::TopK;

using energylens::testing::brute_front;
using energylens::testing::Point;

std::vector<Point> stream(std::uint64_t seed, std::size_t n) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> coarse(0, 40);  // coarse values: many exact ties
  std::vector<Point> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = {coarse(rng) * 0.25, coarse(rng) * 0.5, i};
  std::shuffle(p.begin(), p.end(), rng);  // arrival order unrelated to index
  return p;
}

Candidate cand(const Point& p) {
  Candidate c;
  c.index = p.index;
  c.objective = p.y;
  return c;
}

std::vector<std::uint64_t> brute_top(std::vector<Point> p, std::size_t k) {
  std::sort(p.begin(), p.end(), [](const Point& a, const Point& b) { return a.y < b.y || (a.y == b.y && a.index < b.index); });
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i < std::min(k, p.size()); ++i) out.push_back(p[i].index);
  return out;
}

void merged_equals_brute_force() {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const std::vector<Point> p = stream(seed, 3000);
    for (std::size_t parts : {1, 2, 3, 7}) {
      const std::size_t k = 1 + seed % 13;
      std::vector<TopK> tops(parts, TopK(k));
      std::vector<ParetoFront> fronts(parts);
      for (std::size_t i = 0; i < p.size(); ++i) {
        const std::size_t part = (i * 2654435761u) % parts;  // interleaved split
        tops[part].push(cand(p[i]));
        fronts[part].insert(p[i].x, p[i].y, cand(p[i]));
      }
      TopK top(k);
      ParetoFront front;
      for (std::size_t j = parts; j-- > 0;) {  // merge order reversed on purpose
        top.merge(tops[j]);
        front.merge(fronts[j]);
      }
      std::vector<std::uint64_t> got_top, got_front;
      for (const Candidate& c : top.sorted()) got_top.push_back(c.index);
      for (const Candidate& c : front.points()) got_front.push_back(c.index);
      CHECK(got_top == brute_top(p, k));
      CHECK(got_front == brute_front(p));
    }
  }
}

void dominated_agrees_with_insert() {
  const std::vector<Point> p = stream(99, 2000);
  ParetoFront front;
  for (const Point& q : p) {
    const bool would_reject = front.dominated(q.x, q.y, q.index);
    const bool entered = front.insert(q.x, q.y, cand(q));
    CHECK(would_reject == !entered);
  }
}

void duplicates_keep_the_smallest_index() {
  ParetoFront front;
  Candidate a;
  a.index = 7;
  Candidate b;
  b.index = 3;
  CHECK(front.insert(1.0, 1.0, a));
  CHECK(front.insert(1.0, 1.0, b));  // same point, smaller index: replaces
  CHECK(front.size() == 1 && front.points()[0].index == 3);
  CHECK(!front.insert(1.0, 1.0, a));
  TopK top(1);
  Candidate c;
  c.objective = 2.0;
  c.index = 9;
  top.push(c);
  c.index = 4;
  top.push(c);
  CHECK(top.sorted().size() == 1 && top.sorted()[0].index == 4);
}

// The block path's pre-tests (search_block.cpp, offer_candidates) skip a point when it lies strictly above a
// corner taken from the front before a run of inserts, or when its objective exceeds the top-k's worst():
// every point so skipped must be one that dominated() / accepts() would reject, however many inserts
// happened since the corners were taken (the corners may have left the front by then).
void pre_tests_never_skip_an_entrant() {
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    const std::vector<Point> p = stream(1000 + seed, 3000);
    ParetoFront front;
    TopK top(1 + seed % 7);
    double xs[8], ys[8];
    std::size_t skipped = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (i % 64 == 0) front.corners(xs, ys, 8);  // refreshed once per "block", as the engine does
      bool below_corner = false;
      for (std::size_t j = 0; j < 8; ++j) below_corner = below_corner || (p[i].x > xs[j] && p[i].y > ys[j]);
      if (below_corner) {
        CHECK(front.dominated(p[i].x, p[i].y, p[i].index));
        ++skipped;
      }
      if (p[i].y > top.worst()) CHECK(!top.accepts(p[i].y, p[i].index));
      front.insert(p[i].x, p[i].y, cand(p[i]));
      top.push(cand(p[i]));
    }
    CHECK(skipped > p.size() / 2);  // the test exercises the skip, not only the pass-through
  }
  ParetoFront empty;
  double xs[3], ys[3];
  empty.corners(xs, ys, 3);
  for (std::size_t j = 0; j < 3; ++j) CHECK(xs[j] == std::numeric_limits<double>::infinity());
  CHECK(TopK(4).worst() == std::numeric_limits<double>::infinity());
}

void zero_k_is_rejected() {
  bool threw = false;
  try {
    TopK bad(0);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
}

}  // namespace

int main() {
  merged_equals_brute_force();
  dominated_agrees_with_insert();
  duplicates_keep_the_smallest_index();
  pre_tests_never_skip_an_entrant();
  zero_k_is_rejected();
  return energylens::testing::finish("test_search");
}
