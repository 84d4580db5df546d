// pairwise_counts (ranking.hpp) against the direct count over every pair, on random inputs with ties,
// and its refusal of non-finite values.
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "energylens/ranking.hpp"

namespace {

energylens::PairwiseCounts direct(const std::vector<double>& p, const std::vector<double>& m) {
  energylens::PairwiseCounts c;
  for (std::size_t i = 0; i < p.size(); ++i) {
    for (std::size_t j = i + 1; j < p.size(); ++j) {
      if (m[i] == m[j]) continue;
      ++c.comparable;
      if (p[i] == p[j]) {
        c.concordant += 0.5;
      } else if ((p[i] < p[j]) == (m[i] < m[j])) {
        c.concordant += 1.0;
      }
    }
  }
  return c;
}

}  // namespace

int main() {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t n = static_cast<std::size_t>(rng() % 120);
    const int levels = 1 + static_cast<int>(rng() % 9);
    std::vector<double> p(n), m(n);
    std::normal_distribution<double> noise(0.0, 1.0);
    for (std::size_t i = 0; i < n; ++i) {
      m[i] = trial % 2 ? static_cast<double>(rng() % static_cast<unsigned>(levels)) : noise(rng);
      p[i] = trial % 3 ? static_cast<double>(rng() % static_cast<unsigned>(levels)) : m[i] + 0.3 * noise(rng);
    }
    const auto fast = energylens::pairwise_counts(p.data(), m.data(), n);
    const auto slow = direct(p, m);
    CHECK(fast.comparable == slow.comparable);
    CHECK(fast.concordant == slow.concordant);
  }
  const std::vector<double> ok{1.0, 2.0}, bad{1.0, std::nan("")};
  bool threw = false;
  try {
    (void)energylens::pairwise_counts(bad.data(), ok.data(), 2);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
  return energylens::testing::finish("test_ranking");
}
