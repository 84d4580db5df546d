#include "energylens/attribution.hpp"
#include "energylens/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace energylens {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = std::numeric_limits<double>::epsilon();

void check_finite(std::span<const double> v, const char* what) {
  for (double x : v) {
    if (!std::isfinite(x)) throw std::invalid_argument(std::string(what) + " holds a non-finite value");
  }
}

/// Least squares on a subset of columns of a row-major matrix by Householder QR (no pivoting).
/// Columns whose R diagonal is negligible get 0 (a basic solution). On return `r` holds the p x p
/// upper triangle (row-major) when non-null.
void least_squares_subset(const double* a, std::size_t m, std::size_t n,
                          const std::vector<std::size_t>& cols, const double* b,
                          std::vector<double>& s, std::vector<double>* r) {
  const std::size_t p = cols.size();
  std::vector<double> q(m * p);  // column-major m x p
  for (std::size_t k = 0; k < p; ++k) {
    for (std::size_t i = 0; i < m; ++i) q[k * m + i] = a[i * n + cols[k]];
  }
  std::vector<double> qb(b, b + m);
  std::vector<double> diag(p, 0.0);
  const std::size_t steps = std::min(p, m);
  for (std::size_t k = 0; k < steps; ++k) {
    double* col = &q[k * m];
    double norm2 = 0.0;
    for (std::size_t i = k; i < m; ++i) norm2 += col[i] * col[i];
    const double norm = std::sqrt(norm2);
    if (norm == 0.0) {
      diag[k] = 0.0;
      continue;
    }
    const double alpha = col[k] > 0 ? -norm : norm;
    // v = x - alpha e_k stored in col[k..m); v^T v = 2 norm (norm + |x_k|)
    col[k] -= alpha;
    double vv = 0.0;  // v^T v of the Householder vector v = x - alpha e_k, held in col[k..m)
    for (std::size_t i = k; i < m; ++i) vv += col[i] * col[i];
    for (std::size_t j = k + 1; j < p; ++j) {
      double* cj = &q[j * m];
      double dot = 0.0;
      for (std::size_t i = k; i < m; ++i) dot += col[i] * cj[i];
      const double tau = 2.0 * dot / vv;
      for (std::size_t i = k; i < m; ++i) cj[i] -= tau * col[i];
    }
    double dot = 0.0;
    for (std::size_t i = k; i < m; ++i) dot += col[i] * qb[i];
    const double tau = 2.0 * dot / vv;
    for (std::size_t i = k; i < m; ++i) qb[i] -= tau * col[i];
    diag[k] = alpha;
  }
  double max_diag = 0.0;
  for (std::size_t k = 0; k < steps; ++k) max_diag = std::max(max_diag, std::abs(diag[k]));
  const double tol = max_diag * kEps * static_cast<double>(std::max(m, p)) * 10.0;
  auto r_at = [&](std::size_t i, std::size_t j) { return i == j ? diag[i] : q[j * m + i]; };
  s.assign(p, 0.0);
  for (std::size_t kk = steps; kk-- > 0;) {
    if (std::abs(diag[kk]) <= tol) {
      s[kk] = 0.0;
      continue;
    }
    double acc = qb[kk];
    for (std::size_t j = kk + 1; j < steps; ++j) acc -= r_at(kk, j) * s[j];
    s[kk] = acc / diag[kk];
  }
  if (r != nullptr) {
    r->assign(p * p, 0.0);
    for (std::size_t i = 0; i < steps; ++i) {
      for (std::size_t j = i; j < p; ++j) (*r)[i * p + j] = r_at(i, j);
    }
  }
}

// The active-set loop of Lawson-Hanson NNLS, shared by the design-matrix and the Gram-matrix
// variants. `gradient()` refreshes w = A^T (b - A x) for the current res.x; `solve(cols, s)` solves the
// unconstrained least squares restricted to the passive columns `cols` into s[0 .. cols.size()).
template <class Gradient, class Solve>
void lawson_hanson(std::size_t n, int max_iter, double tol, const std::vector<double>& w, NnlsResult& res,
                   Gradient&& gradient, Solve&& solve) {
  std::vector<char> passive(n, 0);
  std::vector<char> tried(n, 0);  // columns that entered and immediately came back out
  std::vector<std::size_t> cols;
  std::vector<double> s(n);
  gradient();
  res.converged = true;
  for (;;) {
    std::size_t best = n;
    double best_w = tol;
    for (std::size_t j = 0; j < n; ++j) {
      if (!passive[j] && !tried[j] && w[j] > best_w) {
        best_w = w[j];
        best = j;
      }
    }
    if (best == n) break;
    if (res.iterations >= max_iter) {
      res.converged = false;
      break;
    }
    ++res.iterations;
    passive[best] = 1;
    for (int inner = 0; inner < max_iter; ++inner) {
      cols.clear();
      for (std::size_t j = 0; j < n; ++j) {
        if (passive[j]) cols.push_back(j);
      }
      solve(cols, s);
      bool all_positive = true;
      for (std::size_t k = 0; k < cols.size(); ++k) all_positive = all_positive && s[k] > 0.0;
      if (all_positive) {
        for (std::size_t k = 0; k < cols.size(); ++k) res.x[cols[k]] = s[k];
        break;
      }
      double alpha = 1.0;
      for (std::size_t k = 0; k < cols.size(); ++k) {
        if (s[k] <= 0.0) {
          const double xk = res.x[cols[k]];
          const double denom = xk - s[k];
          alpha = denom > 0.0 ? std::min(alpha, xk / denom) : 0.0;
        }
      }
      double x_max = 0.0;
      for (std::size_t k = 0; k < cols.size(); ++k) {
        res.x[cols[k]] += alpha * (s[k] - res.x[cols[k]]);
        x_max = std::max(x_max, std::abs(res.x[cols[k]]));
      }
      // The coordinates that hit the bound leave the passive set.
      bool any = false;
      for (std::size_t j : cols) {
        if (res.x[j] <= 10.0 * kEps * x_max) {
          res.x[j] = 0.0;
          passive[j] = 0;
        }
        any = any || passive[j];
      }
      if (!any) break;
    }
    // A column whose entry is undone at once is numerically dependent on the passive set: do not
    // retry it until the passive set changes (prevents cycling on rank-deficient designs).
    if (!passive[best]) tried[best] = 1;
    else std::fill(tried.begin(), tried.end(), 0);
    gradient();
  }
}

/// Lawson-Hanson on an already column-scaled row-major matrix.
NnlsResult nnls_scaled(const double* a, std::size_t m, std::size_t n, const double* b, int max_iterations) {
  NnlsResult res;
  res.x.assign(n, 0.0);
  const int max_iter = max_iterations > 0 ? max_iterations : static_cast<int>(3 * n + 30);
  std::vector<double> resid(b, b + m);
  std::vector<double> w(n, 0.0);
  double bnorm = 0.0;
  for (std::size_t i = 0; i < m; ++i) bnorm += b[i] * b[i];
  bnorm = std::sqrt(bnorm);
  // Columns have unit norm, so |w_j| <= ||r|| <= ||b||.
  const double tol = 10.0 * kEps * static_cast<double>(std::max(m, n)) * std::max(bnorm, 1e-300);

  auto gradient = [&]() {
    for (std::size_t i = 0; i < m; ++i) {
      double ax = 0.0;
      for (std::size_t j = 0; j < n; ++j) ax += a[i * n + j] * res.x[j];
      resid[i] = b[i] - ax;
    }
    std::fill(w.begin(), w.end(), 0.0);
    for (std::size_t i = 0; i < m; ++i) {
      for (std::size_t j = 0; j < n; ++j) w[j] += a[i * n + j] * resid[i];
    }
  };

  lawson_hanson(n, max_iter, tol, w, res, gradient,
                [&](const std::vector<std::size_t>& cols, std::vector<double>& s) {
                  least_squares_subset(a, m, n, cols, b, s, nullptr);
                });
  gradient();
  res.rss = 0.0;
  for (double r : resid) res.rss += r * r;
  return res;
}

/// Lawson-Hanson on the normal equations: G = A^T A (n x n, row-major, columns already scaled),
/// c = A^T b. Used for bootstrap replicates, where forming G costs m n^2 once and every inner solve
/// is an n x n Cholesky. `tol` is the gradient threshold (as in nnls_scaled).
NnlsResult nnls_gram(const std::vector<double>& g, const std::vector<double>& c, std::size_t n,
                     int max_iterations, double tol) {
  NnlsResult res;
  res.x.assign(n, 0.0);
  const int max_iter = max_iterations > 0 ? max_iterations : static_cast<int>(3 * n + 30);
  std::vector<double> w(n);
  std::vector<double> l(n * n);
  auto gradient = [&]() {
    for (std::size_t i = 0; i < n; ++i) {
      double gx = 0.0;
      for (std::size_t j = 0; j < n; ++j) gx += g[i * n + j] * res.x[j];
      w[i] = c[i] - gx;
    }
  };
  // Solves G_PP s_P = c_P by Cholesky; a column with a negligible pivot (dependent on the ones
  // before it) gets s = 0.
  auto solve_passive = [&](const std::vector<std::size_t>& cols, std::vector<double>& s) {
    const std::size_t p = cols.size();
    std::vector<char> skip(p, 0);
    double max_diag = 0.0;
    for (std::size_t a = 0; a < p; ++a) max_diag = std::max(max_diag, g[cols[a] * n + cols[a]]);
    for (std::size_t a = 0; a < p; ++a) {
      for (std::size_t b = 0; b <= a; ++b) {
        if (skip[a] || skip[b]) {
          l[a * p + b] = 0.0;
          continue;
        }
        double acc = g[cols[a] * n + cols[b]];
        for (std::size_t k = 0; k < b; ++k) acc -= l[a * p + k] * l[b * p + k];
        if (a == b) {
          if (acc <= 1e-12 * max_diag) {
            skip[a] = 1;
            l[a * p + a] = 0.0;
          } else {
            l[a * p + a] = std::sqrt(acc);
          }
        } else {
          l[a * p + b] = acc / l[b * p + b];
        }
      }
    }
    std::vector<double> y(p, 0.0);
    for (std::size_t a = 0; a < p; ++a) {
      if (skip[a]) continue;
      double acc = c[cols[a]];
      for (std::size_t k = 0; k < a; ++k) acc -= l[a * p + k] * y[k];
      y[a] = acc / l[a * p + a];
    }
    for (std::size_t a = p; a-- > 0;) {
      if (skip[a]) {
        s[a] = 0.0;
        continue;
      }
      double acc = y[a];
      for (std::size_t k = a + 1; k < p; ++k) acc -= l[k * p + a] * s[k];
      s[a] = acc / l[a * p + a];
    }
  };

  lawson_hanson(n, max_iter, tol, w, res, gradient, solve_passive);
  return res;
}

/// Eigenvalues of a symmetric n x n row-major matrix (cyclic Jacobi).
std::vector<double> symmetric_eigenvalues(std::vector<double> g, std::size_t n) {
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0;
    double total = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        total += g[i * n + j] * g[i * n + j];
        if (i != j) off += g[i * n + j] * g[i * n + j];
      }
    }
    if (off <= 1e-30 * total || off == 0.0) break;
    for (std::size_t p = 0; p < n; ++p) {
      for (std::size_t q = p + 1; q < n; ++q) {
        const double apq = g[p * n + q];
        if (apq == 0.0) continue;
        const double theta = (g[q * n + q] - g[p * n + p]) / (2.0 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0);
        const double sn = t * c;
        for (std::size_t k = 0; k < n; ++k) {
          const double gkp = g[k * n + p];
          const double gkq = g[k * n + q];
          g[k * n + p] = c * gkp - sn * gkq;
          g[k * n + q] = sn * gkp + c * gkq;
        }
        for (std::size_t k = 0; k < n; ++k) {
          const double gpk = g[p * n + k];
          const double gqk = g[q * n + k];
          g[p * n + k] = c * gpk - sn * gqk;
          g[q * n + k] = sn * gpk + c * gqk;
        }
      }
    }
  }
  std::vector<double> ev(n);
  for (std::size_t i = 0; i < n; ++i) ev[i] = g[i * n + i];
  return ev;
}

/// SplitMix64: a small, well-mixed generator; one stream per bootstrap replicate.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform integer in [0, bound) (bound > 0), by rejection.
  std::uint64_t below(std::uint64_t bound) {
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                                std::numeric_limits<std::uint64_t>::max() % bound;
    std::uint64_t v = next();
    while (v >= limit) v = next();
    return v % bound;
  }
};

struct Scaled {
  std::vector<double> a;
  std::vector<double> scale;  // column norms (1 for all-zero columns)
};

Scaled scale_columns(std::span<const double> a, std::size_t m, std::size_t n) {
  Scaled out{std::vector<double>(a.begin(), a.end()), std::vector<double>(n, 0.0)};
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) out.scale[j] += a[i * n + j] * a[i * n + j];
  }
  for (double& s : out.scale) s = s > 0.0 ? std::sqrt(s) : 1.0;
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) out.a[i * n + j] /= out.scale[j];
  }
  return out;
}

void check_sizes(std::span<const double> a, std::size_t m, std::size_t n, std::span<const double> b) {
  if (n == 0) throw std::invalid_argument("the design has no columns");
  if (a.size() != m * n) {
    throw std::invalid_argument("design has " + std::to_string(a.size()) + " values, expected m*n = " +
                                std::to_string(m * n));
  }
  if (b.size() != m) {
    throw std::invalid_argument("target has " + std::to_string(b.size()) + " values, expected m = " +
                                std::to_string(m));
  }
  check_finite(a, "design");
  check_finite(b, "target");
}

}  // namespace

std::vector<double> busy_time_matrix_s(std::span<const std::int64_t> kernel_start_ns,
                                       std::span<const std::int64_t> kernel_end_ns,
                                       std::span<const std::int32_t> kernel_class, std::size_t n_classes,
                                       std::span<const std::int64_t> interval_start_ns,
                                       std::span<const std::int64_t> interval_end_ns) {
  const std::size_t nk = kernel_start_ns.size();
  const std::size_t ni = interval_start_ns.size();
  if (kernel_end_ns.size() != nk || kernel_class.size() != nk) {
    throw std::invalid_argument("kernel_start_ns, kernel_end_ns and kernel_class differ in length");
  }
  if (interval_end_ns.size() != ni) {
    throw std::invalid_argument("interval_start_ns and interval_end_ns differ in length");
  }
  for (std::size_t j = 0; j < ni; ++j) {
    if (interval_end_ns[j] < interval_start_ns[j]) {
      throw std::invalid_argument("interval " + std::to_string(j) + " ends before it starts");
    }
    if (j > 0 && interval_start_ns[j] < interval_end_ns[j - 1]) {
      throw std::invalid_argument("intervals must be sorted and disjoint (interval " + std::to_string(j) +
                                  " starts before interval " + std::to_string(j - 1) + " ends)");
    }
  }
  for (std::size_t i = 0; i < nk; ++i) {
    if (kernel_class[i] >= 0 && static_cast<std::size_t>(kernel_class[i]) >= n_classes) {
      throw std::invalid_argument("kernel " + std::to_string(i) + " has class " +
                                  std::to_string(kernel_class[i]) + ", expected < n_classes = " +
                                  std::to_string(n_classes));
    }
    if (kernel_end_ns[i] < kernel_start_ns[i]) {
      throw std::invalid_argument("kernel " + std::to_string(i) + " ends before it starts");
    }
  }
  std::vector<std::int64_t> acc(ni * n_classes, 0);
  for (std::size_t i = 0; i < nk; ++i) {
    if (kernel_class[i] < 0) continue;
    const std::int64_t ks = kernel_start_ns[i];
    const std::int64_t ke = kernel_end_ns[i];
    if (ke <= ks) continue;
    // First interval whose end is after the kernel start (ends are sorted because intervals are).
    auto it = std::upper_bound(interval_end_ns.begin(), interval_end_ns.end(), ks);
    for (auto j = static_cast<std::size_t>(it - interval_end_ns.begin());
         j < ni && interval_start_ns[j] < ke; ++j) {
      const std::int64_t overlap = std::min(ke, interval_end_ns[j]) - std::max(ks, interval_start_ns[j]);
      if (overlap > 0) acc[j * n_classes + static_cast<std::size_t>(kernel_class[i])] += overlap;
    }
  }
  std::vector<double> out(acc.size());
  for (std::size_t k = 0; k < acc.size(); ++k) out[k] = static_cast<double>(acc[k]) * 1e-9;
  return out;
}

NnlsResult nnls(std::span<const double> a, std::size_t m, std::size_t n, std::span<const double> b,
                int max_iterations) {
  check_sizes(a, m, n, b);
  const Scaled sc = scale_columns(a, m, n);
  NnlsResult res = nnls_scaled(sc.a.data(), m, n, b.data(), max_iterations);
  for (std::size_t j = 0; j < n; ++j) res.x[j] /= sc.scale[j];
  return res;
}

AttributionFit fit_attribution(std::span<const double> design, std::size_t m, std::size_t n,
                               std::span<const double> target, const AttributionOptions& options) {
  check_sizes(design, m, n, target);
  if (m == 0) throw std::invalid_argument("no intervals to fit (m == 0)");
  if (options.bootstrap < 0) throw std::invalid_argument("bootstrap must be >= 0");
  const Scaled sc = scale_columns(design, m, n);
  AttributionFit fit;
  fit.rows = m;
  fit.cols = n;

  // Identifiability: eigenvalues of the scaled Gram matrix.
  std::vector<double> gram(n * n, 0.0);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t p = 0; p < n; ++p) {
      const double ap = sc.a[i * n + p];
      if (ap == 0.0) continue;
      for (std::size_t q = 0; q < n; ++q) gram[p * n + q] += ap * sc.a[i * n + q];
    }
  }
  const std::vector<double> ev = symmetric_eigenvalues(gram, n);
  const double ev_max = *std::max_element(ev.begin(), ev.end());
  const double ev_min = *std::min_element(ev.begin(), ev.end());
  const double rank_tol = std::max(ev_max, 0.0) * 1e-13 * static_cast<double>(n);
  fit.rank = static_cast<std::size_t>(std::count_if(ev.begin(), ev.end(), [&](double e) { return e > rank_tol; }));
  fit.condition_number = (fit.rank < n || ev_min <= 0.0) ? std::numeric_limits<double>::infinity()
                                                          : std::sqrt(ev_max / ev_min);

  NnlsResult res = nnls_scaled(sc.a.data(), m, n, target.data(), options.max_iterations);
  fit.converged = res.converged;
  fit.iterations = res.iterations;
  fit.rss = res.rss;
  fit.coef.resize(n);
  for (std::size_t j = 0; j < n; ++j) fit.coef[j] = res.x[j] / sc.scale[j];
  fit.residuals.resize(m);
  for (std::size_t i = 0; i < m; ++i) {
    double ax = 0.0;
    for (std::size_t j = 0; j < n; ++j) ax += design[i * n + j] * fit.coef[j];
    fit.residuals[i] = target[i] - ax;
  }

  // Analytic covariance on the active set: sigma^2 (A_P^T A_P)^-1 = sigma^2 R^-1 R^-T.
  std::vector<std::size_t> act;
  for (std::size_t j = 0; j < n; ++j) {
    if (res.x[j] > 0.0) act.push_back(j);
  }
  fit.active = act.size();
  fit.sigma2 = m > act.size() ? fit.rss / static_cast<double>(m - act.size()) : kNaN;
  fit.covariance.assign(n * n, kNaN);
  fit.stderr_analytic.assign(n, kNaN);
  if (!act.empty() && fit.rank == n) {
    std::vector<double> s;
    std::vector<double> r;
    least_squares_subset(sc.a.data(), m, n, act, target.data(), s, &r);
    const std::size_t p = act.size();
    // Rinv: upper triangular inverse by back substitution.
    std::vector<double> rinv(p * p, 0.0);
    bool singular = false;
    for (std::size_t i = 0; i < p; ++i) singular = singular || r[i * p + i] == 0.0;
    if (!singular) {
      for (std::size_t col = 0; col < p; ++col) {
        for (std::size_t ii = col + 1; ii-- > 0;) {
          double acc = ii == col ? 1.0 : 0.0;
          for (std::size_t k = ii + 1; k <= col; ++k) acc -= r[ii * p + k] * rinv[k * p + col];
          rinv[ii * p + col] = acc / r[ii * p + ii];
        }
      }
      for (std::size_t a1 = 0; a1 < p; ++a1) {
        for (std::size_t b1 = 0; b1 < p; ++b1) {
          double acc = 0.0;
          for (std::size_t k = std::max(a1, b1); k < p; ++k) acc += rinv[a1 * p + k] * rinv[b1 * p + k];
          const std::size_t ja = act[a1];
          const std::size_t jb = act[b1];
          fit.covariance[ja * n + jb] = fit.sigma2 * acc / (sc.scale[ja] * sc.scale[jb]);
        }
      }
      for (std::size_t j : act) fit.stderr_analytic[j] = std::sqrt(fit.covariance[j * n + j]);
    }
  }

  // Moving-block bootstrap over rows.
  const int nb = options.bootstrap;
  if (nb > 1 && options.block_length > 0 && 2 * options.block_length > m) {
    // One block spanning the rows makes every replicate the same sample: a standard error of ~0, not a bound.
    throw std::invalid_argument("block_length " + std::to_string(options.block_length) +
                                " leaves fewer than two blocks in the " + std::to_string(m) +
                                " rows: every bootstrap replicate would be alike; use at most " +
                                std::to_string(m / 2) + ", or 0 (round(rows^(1/3)))");
  }
  fit.block_length = options.block_length > 0
                         ? std::min(options.block_length, m)
                         : std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(std::cbrt(static_cast<double>(m)))));
  fit.bootstrap_coef.assign(static_cast<std::size_t>(nb) * n, kNaN);
  fit.stderr_bootstrap.assign(n, kNaN);
  if (nb > 0) {
    const std::size_t blen = fit.block_length;
    const std::uint64_t starts = static_cast<std::uint64_t>(m - blen + 1);
    double bnorm2 = 0.0;
    for (double v : target) bnorm2 += v * v;
    // Same gradient threshold as the full-data solve (a replicate's ||b|| is of the same order).
    const double tol = 10.0 * kEps * static_cast<double>(std::max(m, n)) * std::max(std::sqrt(bnorm2), 1e-300);
    std::atomic<int> n_conv{0};
    // On the chunk pool (parallel.hpp), which a fork child can use: an OpenMP team's pool does not survive
    // fork, and a child's first parallel region would wait for it for ever.
    run_chunks(static_cast<std::size_t>(nb), max_threads(), [&](std::size_t chunk, int) {
      const int rep = static_cast<int>(chunk);
      SplitMix64 rng{options.seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(rep) + 1};
      std::vector<double> g(n * n, 0.0);
      std::vector<double> c(n, 0.0);
      std::size_t row = 0;
      while (row < m) {
        const auto start = static_cast<std::size_t>(rng.below(starts));
        for (std::size_t k = 0; k < blen && row < m; ++k, ++row) {
          const double* ar = &sc.a[(start + k) * n];
          const double br = target[start + k];
          for (std::size_t p = 0; p < n; ++p) {
            c[p] += ar[p] * br;
            for (std::size_t q = 0; q <= p; ++q) g[p * n + q] += ar[p] * ar[q];
          }
        }
      }
      for (std::size_t p = 0; p < n; ++p) {
        for (std::size_t q = 0; q < p; ++q) g[q * n + p] = g[p * n + q];
      }
      NnlsResult rr = nnls_gram(g, c, n, options.max_iterations, tol);
      if (rr.converged) n_conv.fetch_add(1, std::memory_order_relaxed);
      for (std::size_t j = 0; j < n; ++j) {
        fit.bootstrap_coef[static_cast<std::size_t>(rep) * n + j] = rr.x[j] / sc.scale[j];
      }
    });
    fit.bootstrap_converged = n_conv.load();
    if (nb > 1) {
      for (std::size_t j = 0; j < n; ++j) {
        double mean = 0.0;
        for (int rep = 0; rep < nb; ++rep) mean += fit.bootstrap_coef[static_cast<std::size_t>(rep) * n + j];
        mean /= nb;
        double var = 0.0;
        for (int rep = 0; rep < nb; ++rep) {
          const double d = fit.bootstrap_coef[static_cast<std::size_t>(rep) * n + j] - mean;
          var += d * d;
        }
        fit.stderr_bootstrap[j] = std::sqrt(var / (nb - 1));
      }
    }
  }
  return fit;
}

}  // namespace energylens
