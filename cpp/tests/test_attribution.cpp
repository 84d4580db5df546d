// C++ unit tests of energylens/attribution.hpp (CHECK from check.hpp, active in Release; ctest runs it when
// ENERGYLENS_BUILD_TESTS=ON). The NumPy parity tests live in tests/test_attribution.py.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "energylens/attribution.hpp"

namespace el = energylens;

namespace {

bool near(double a, double b, double tol) { return std::abs(a - b) <= tol; }

void test_busy_time_by_hand() {
  // kernel [10, 50) class 0, kernel [40, 70) class 1, a skipped kernel (class -1)
  const std::vector<std::int64_t> ks{10, 40, 0};
  const std::vector<std::int64_t> ke{50, 70, 100};
  const std::vector<std::int32_t> kc{0, 1, -1};
  const std::vector<std::int64_t> a{0, 20, 45};
  const std::vector<std::int64_t> b{20, 45, 100};
  const auto m = el::busy_time_matrix_s(ks, ke, kc, 2, a, b);
  const double expect[] = {10, 0, 25, 5, 5, 25};
  for (std::size_t i = 0; i < 6; ++i) CHECK(near(m[i], expect[i] * 1e-9, 1e-20));
}

void test_busy_time_rejects_unsorted() {
  bool threw = false;
  try {
    (void)el::busy_time_matrix_s(std::vector<std::int64_t>{0}, std::vector<std::int64_t>{1},
                                 std::vector<std::int32_t>{0}, 1, std::vector<std::int64_t>{5, 0},
                                 std::vector<std::int64_t>{6, 1});
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
}

void test_nnls_recovers_and_respects_bound() {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const std::size_t m = 200, n = 3;
  std::vector<double> a(m * n), b(m);
  const double x_true[] = {2.0, 0.0, 5.0};
  for (std::size_t i = 0; i < m; ++i) {
    double s = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      a[i * n + j] = u(rng);
      s += a[i * n + j] * x_true[j];
    }
    b[i] = s - 0.3 * a[i * n + 1];  // pushes the middle coefficient below zero: it must stay at 0
  }
  const auto r = el::nnls(a, m, n, b);
  CHECK(r.converged);
  CHECK(r.x[1] == 0.0);
  // KKT: the gradient A^T (b - A x) vanishes on the positive coordinates and is <= 0 at the bound.
  std::vector<double> w(n, 0.0);
  for (std::size_t i = 0; i < m; ++i) {
    double res = b[i];
    for (std::size_t j = 0; j < n; ++j) res -= a[i * n + j] * r.x[j];
    for (std::size_t j = 0; j < n; ++j) w[j] += a[i * n + j] * res;
  }
  CHECK(r.x[0] > 0 && r.x[2] > 0);
  CHECK(near(w[0], 0.0, 1e-9) && near(w[2], 0.0, 1e-9) && w[1] <= 1e-9);
}

void test_fit_exact_and_bootstrap_deterministic() {
  const std::size_t m = 300, n = 2;
  std::vector<double> a(m * n), b(m);
  std::mt19937_64 rng(2);
  std::normal_distribution<double> noise(0.0, 0.01);
  for (std::size_t i = 0; i < m; ++i) {
    a[i * n] = 0.025;
    a[i * n + 1] = 0.025 * static_cast<double>(i % 7) / 7.0;
    b[i] = 90.0 * a[i * n] + 300.0 * a[i * n + 1] + noise(rng);
  }
  el::AttributionOptions opt;
  opt.bootstrap = 50;
  opt.seed = 3;
  const auto f1 = el::fit_attribution(a, m, n, b, opt);
  const auto f2 = el::fit_attribution(a, m, n, b, opt);
  CHECK(f1.rank == 2 && std::isfinite(f1.condition_number));
  CHECK(near(f1.coef[0], 90.0, 2.0) && near(f1.coef[1], 300.0, 5.0));
  CHECK(f1.bootstrap_coef == f2.bootstrap_coef);
  for (std::size_t j = 0; j < n; ++j) {
    CHECK(f1.stderr_analytic[j] > 0 && f1.stderr_bootstrap[j] > 0);
    CHECK(f1.stderr_bootstrap[j] < 3 * f1.stderr_analytic[j] && f1.stderr_analytic[j] < 3 * f1.stderr_bootstrap[j]);
  }
  // A block over half the rows leaves every replicate the same sample (a standard error of ~0): refused. It was
  // capped at m silently, so block m gave stderr_bootstrap 0 and block m - 1 about 1e-3 of the analytic one.
  for (std::size_t blen : {m / 2 + 1, m - 1, m, 10 * m}) {
    opt.block_length = blen;
    bool threw = false;
    try {
      (void)el::fit_attribution(a, m, n, b, opt);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    CHECK(threw);
  }
  opt.block_length = m / 2;
  CHECK(el::fit_attribution(a, m, n, b, opt).block_length == m / 2);
  opt.bootstrap = 0;  // no bootstrap: the block length is not used
  opt.block_length = 10 * m;
  CHECK(std::isnan(el::fit_attribution(a, m, n, b, opt).stderr_bootstrap[0]));
}

void test_fit_flags_rank_deficiency() {
  const std::size_t m = 50, n = 2;
  std::vector<double> a(m * n), b(m);
  for (std::size_t i = 0; i < m; ++i) {
    a[i * n] = 1.0 + static_cast<double>(i % 3);
    a[i * n + 1] = 2.0 * a[i * n];
    b[i] = 3.0 * a[i * n];
  }
  const auto f = el::fit_attribution(a, m, n, b, {});
  CHECK(f.rank == 1 && std::isinf(f.condition_number));
  CHECK(std::isnan(f.stderr_analytic[0]) && std::isnan(f.stderr_analytic[1]));
}

}  // namespace

int main() {
  test_busy_time_by_hand();
  test_busy_time_rejects_unsorted();
  test_nnls_recovers_and_respects_bound();
  test_fit_exact_and_bootstrap_deterministic();
  test_fit_flags_rank_deficiency();
  return energylens::testing::finish("test_attribution");
}
