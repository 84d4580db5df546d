// The device search's per-thread code, here on the host: the grid-stride loop's digit advance
// (search_kernel.hpp's advance against decode) and the per-thread lists (search_thread_lists.hpp): a bounded front that flushes to a sink when full, merged with the other "threads'" sinks and
// lists as the host merges the device's buffer, gives exactly the brute-force front whatever the bound (1-24);
// the sorted top-k list keeps exactly the k best. CHECK (check.hpp); exit code 1 on failure.
#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "check.hpp"
#include "front_points.hpp"
#include "energylens/search.hpp"
#include "energylens/search_kernel.hpp"
#include "energylens/search_thread_lists.hpp"

namespace {

using energylens::search::Candidate;
using energylens::search::ParetoFront;
namespace lists = energylens::search::lists;

using energylens::testing::brute_front;
using energylens::testing::Point;

// Points in index order with coarse values (exact ties and duplicates), trending like energy against
// TPOT (larger x tends to smaller y) so fronts are long, as on the device.
std::vector<Point> stream(std::uint64_t seed, std::size_t n) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> coarse(0, 60);
  std::vector<Point> p(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int a = coarse(rng);
    p[i] = {a * 0.25, (60 - a + coarse(rng) / 6) * 0.5, i};
  }
  return p;
}

// What the device's global buffer receives: every flushed point.
struct VectorSink {
  std::vector<Point>* out;
  int flushes = 0;
  void operator()(const double* fx, const double* fy, const std::uint64_t* fi, int n) {
    ++flushes;
    for (int j = 0; j < n; ++j) out->push_back({fx[j], fy[j], fi[j]});
  }
};

// `threads` grid-stride threads with fronts of at most `cap` points (arrays of the kernel's 24); returns
// the merged front's indices and the number of flushes.
std::vector<std::uint64_t> device_like_front(const std::vector<Point>& p, std::size_t threads, int cap, int& flushes) {
  std::vector<Point> buffer;
  flushes = 0;
  for (std::size_t t = 0; t < threads; ++t) {
    std::array<double, 24> fx{}, fy{};
    std::array<std::uint64_t, 24> fi{};
    int n = 0;
    VectorSink sink{&buffer};
    for (std::size_t i = t; i < p.size(); i += threads)
      lists::front_push(fx.data(), fy.data(), fi.data(), n, cap, p[i].x, p[i].y, p[i].index, sink);
    CHECK(n >= 1 && n <= cap);
    sink(fx.data(), fy.data(), fi.data(), n);  // the end-of-kernel append
    flushes += sink.flushes - 1;
  }
  ParetoFront front;
  for (const Point& q : buffer) {
    Candidate c;
    c.index = q.index;
    front.insert(q.x, q.y, c);
  }
  std::vector<std::uint64_t> got;
  for (const Candidate& c : front.points()) got.push_back(c.index);
  return got;
}

void bounded_fronts_merge_to_the_exact_front() {
  int total_flushes = 0;
  for (std::uint64_t seed = 0; seed < 12; ++seed) {
    const std::vector<Point> p = stream(seed, 4000);
    const std::vector<std::uint64_t> want = brute_front(p);
    for (std::size_t threads : {1, 3, 64}) {
      for (int cap : {1, 2, 3, 5, 24}) {
        int flushes = 0;
        CHECK(device_like_front(p, threads, cap, flushes) == want);
        if (cap <= 5) total_flushes += flushes;
      }
    }
  }
  CHECK(total_flushes > 100);  // the small bounds did overflow: the flush path was exercised
}

// A front that never fills keeps exactly ParetoFront's points, in its order (x increasing).
void unbounded_front_is_the_stream_front() {
  const std::vector<Point> p = stream(42, 3000);
  constexpr int kCap = 256;
  std::array<double, kCap> fx{}, fy{};
  std::array<std::uint64_t, kCap> fi{};
  int n = 0;
  std::vector<Point> none;
  VectorSink sink{&none};
  for (const Point& q : p) lists::front_push(fx.data(), fy.data(), fi.data(), n, kCap, q.x, q.y, q.index, sink);
  CHECK(sink.flushes == 0);
  const std::vector<std::uint64_t> want = brute_front(p);
  CHECK(static_cast<std::size_t>(n) == want.size());
  for (int j = 0; j < n && static_cast<std::size_t>(j) < want.size(); ++j) CHECK(fi[static_cast<std::size_t>(j)] == want[static_cast<std::size_t>(j)]);
}

void topk_list_keeps_the_k_best() {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> coarse(0, 30);
  for (int k : {1, 4, 32}) {
    std::vector<std::pair<double, std::uint64_t>> all;
    std::array<double, 32> o{};
    std::array<std::uint64_t, 32> ix{};
    int n = 0;
    for (std::uint64_t i = 0; i < 2000; ++i) {
      const std::uint64_t idx = (i * 7919) % 2000;  // arrival order unrelated to index
      const double obj = coarse(rng) * 0.5;
      all.emplace_back(obj, idx);
      lists::topk_push(o.data(), ix.data(), n, k, obj, idx);
    }
    std::sort(all.begin(), all.end());
    CHECK(n == k);
    for (int j = 0; j < n; ++j) {
      CHECK(o[static_cast<std::size_t>(j)] == all[static_cast<std::size_t>(j)].first);
      CHECK(ix[static_cast<std::size_t>(j)] == all[static_cast<std::size_t>(j)].second);
    }
  }
}

// advance() steps the digits of i to those of i + k exactly as decode(i + k) gives them, over random
// radices (1 included), strides below, at and far above the space's size, and many steps.
void advance_matches_decode() {
  namespace kernel = energylens::search::kernel;
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<std::uint64_t> radix(1, 9), big(1, 700);
  for (int trial = 0; trial < 300; ++trial) {
    kernel::View v{};
    v.n_combos = radix(rng);
    v.n_tp = radix(rng);
    v.n_pp = radix(rng);
    v.n_dp = radix(rng);
    v.n_ep = radix(rng);
    v.n_b = trial % 3 == 0 ? big(rng) : radix(rng);
    v.n_w = trial % 2 == 0 ? big(rng) : radix(rng);
    const std::uint64_t total = v.n_combos * v.n_tp * v.n_pp * v.n_dp * v.n_ep * v.n_b * v.n_w;
    std::uniform_int_distribution<std::uint64_t> pick(0, total - 1), stride(1, 3 * total);
    const std::uint64_t k = trial % 5 == 0 ? total : stride(rng);
    std::uint64_t i = pick(rng);
    kernel::Digits d = kernel::decode(v, i);
    const kernel::Digits step = kernel::decode(v, k);
    for (int s = 0; s < 50 && i < total; ++s, i += k, kernel::advance(v, d, step)) {
      const kernel::Digits want = kernel::decode(v, i);
      CHECK(d.c == want.c && d.tp == want.tp && d.pp == want.pp && d.dp == want.dp && d.ep == want.ep &&
            d.b == want.b && d.w == want.w);
      CHECK(kernel::same_outer(d, want));
    }
  }
}

}  // namespace

int main() {
  advance_matches_decode();
  bounded_fronts_merge_to_the_exact_front();
  unbounded_front_is_the_stream_front();
  topk_list_keeps_the_k_best();
  return energylens::testing::finish("test_search_lists");
}
