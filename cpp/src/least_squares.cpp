#include "energylens/least_squares.hpp"

#include "energylens/template_common.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace energylens {

const char* to_string(FitStatus status) noexcept {
  switch (status) {
    case FitStatus::ConvergedGradient: return "converged_gradient";
    case FitStatus::ConvergedCost: return "converged_cost";
    case FitStatus::ConvergedStep: return "converged_step";
    case FitStatus::MaxIterations: return "max_iterations";
    case FitStatus::NoProgress: return "no_progress";
    case FitStatus::NonFinite: return "non_finite";
  }
  return "unknown";
}

namespace {

// rho(z) and rho'(z) for z = (r/c)^2.
inline void loss_terms(Loss loss, double z, double& rho, double& drho) {
  switch (loss) {
    case Loss::Linear:
      rho = z;
      drho = 1.0;
      return;
    case Loss::SoftL1: {
      const double s = std::sqrt(1.0 + z);
      rho = 2.0 * (s - 1.0);
      drho = 1.0 / s;
      return;
    }
    case Loss::Huber:
      if (z <= 1.0) {
        rho = z;
        drho = 1.0;
      } else {
        const double s = std::sqrt(z);
        rho = 2.0 * s - 1.0;
        drho = 1.0 / s;
      }
      return;
  }
}

// g = J^T W r and the lower triangle of H = J^T W J, with IRLS weights W = rho' (null: all ones). The
// Jacobian is parameter-major, so each entry is a contiguous dot product over the m residuals; four
// entries of a row of H share each load of the weighted column (the loop is load-bound otherwise).
ENERGYLENS_CLONES void normal_equations(std::size_t m, std::size_t n, const double* jac, const double* r,
                                        const double* weight, double* weighted, double* g, double* h) {
  for (std::size_t p = 0; p < n; ++p) {
    const double* jp = jac + p * m;
    const double* wj = jp;
    if (weight != nullptr) {
      double* scaled = weighted + p * m;
      for (std::size_t i = 0; i < m; ++i) scaled[i] = weight[i] * jp[i];
      wj = scaled;
    }
    double gp = 0.0;
#pragma omp simd reduction(+ : gp)
    for (std::size_t i = 0; i < m; ++i) gp += wj[i] * r[i];
    g[p] = gp;
    std::size_t q = 0;
    for (; q + 4 <= p + 1; q += 4) {
      const double* j0 = jac + q * m;
      const double* j1 = j0 + m;
      const double* j2 = j1 + m;
      const double* j3 = j2 + m;
      double h0 = 0.0, h1 = 0.0, h2 = 0.0, h3 = 0.0;
#pragma omp simd reduction(+ : h0, h1, h2, h3)
      for (std::size_t i = 0; i < m; ++i) {
        const double w = wj[i];
        h0 += w * j0[i];
        h1 += w * j1[i];
        h2 += w * j2[i];
        h3 += w * j3[i];
      }
      h[p * n + q] = h0;
      h[p * n + q + 1] = h1;
      h[p * n + q + 2] = h2;
      h[p * n + q + 3] = h3;
    }
    for (; q <= p; ++q) {
      const double* jq = jac + q * m;
      double hpq = 0.0;
#pragma omp simd reduction(+ : hpq)
      for (std::size_t i = 0; i < m; ++i) hpq += wj[i] * jq[i];
      h[p * n + q] = hpq;
    }
  }
}

// Cholesky solve of the k x k SPD system a x = b in place (a row-major, lower triangle used).
bool cholesky_solve(std::vector<double>& a, std::vector<double>& b, std::size_t k) {
  for (std::size_t j = 0; j < k; ++j) {
    double d = a[j * k + j];
    for (std::size_t p = 0; p < j; ++p) d -= a[j * k + p] * a[j * k + p];
    if (!(d > 0.0) || !std::isfinite(d)) return false;
    d = std::sqrt(d);
    a[j * k + j] = d;
    for (std::size_t i = j + 1; i < k; ++i) {
      double s = a[i * k + j];
      for (std::size_t p = 0; p < j; ++p) s -= a[i * k + p] * a[j * k + p];
      a[i * k + j] = s / d;
    }
  }
  for (std::size_t i = 0; i < k; ++i) {  // forward: L y = b
    double s = b[i];
    for (std::size_t p = 0; p < i; ++p) s -= a[i * k + p] * b[p];
    b[i] = s / a[i * k + i];
  }
  for (std::size_t i = k; i-- > 0;) {  // backward: L^T x = y
    double s = b[i];
    for (std::size_t p = i + 1; p < k; ++p) s -= a[p * k + i] * b[p];
    b[i] = s / a[i * k + i];
  }
  return true;
}

struct Workspace {
  std::vector<double> r, jac, weight;
  double weighted_r2 = 0.0;  // sum of rho'_i r_i^2 (the IRLS-weighted squared residual norm; 2 cost when Linear)
};

// Residuals (and Jacobian) at theta; returns the robust cost, fills IRLS weights rho' and weighted_r2.
double evaluate(const ResidualFunction& residual, const double* theta, std::size_t m, Workspace& w,
                bool with_jacobian, const LeastSquaresOptions& o) {
  residual(theta, w.r.data(), with_jacobian ? w.jac.data() : nullptr);
  const double c2 = o.loss_scale * o.loss_scale;
  double cost = 0.0, r2 = 0.0;
  for (std::size_t i = 0; i < m; ++i) {
    const double ri = w.r[i];
    if (!std::isfinite(ri)) return std::numeric_limits<double>::infinity();
    double rho = 0.0, drho = 0.0;
    loss_terms(o.loss, ri * ri / c2, rho, drho);
    cost += rho;
    r2 += drho * ri * ri;
    w.weight[i] = drho;
  }
  w.weighted_r2 = r2;
  return 0.5 * c2 * cost;
}

}  // namespace

void validate(const LeastSquaresOptions& o) {
  if (!(std::isfinite(o.initial_damping) && o.initial_damping > 0.0))
    throw std::invalid_argument("initial_damping must be finite and > 0, got " + std::to_string(o.initial_damping));
  const std::pair<const char*, double> tolerances[] = {{"ftol", o.ftol}, {"xtol", o.xtol}, {"gtol", o.gtol}};
  for (const auto& [name, value] : tolerances)
    if (!(std::isfinite(value) && value >= 0.0))
      throw std::invalid_argument(std::string(name) + " must be finite and >= 0, got " + std::to_string(value));
}

FitResult levenberg_marquardt(std::size_t m, std::size_t n, const ResidualFunction& residual,
                              std::span<const double> start, std::span<const double> lower,
                              std::span<const double> upper, const LeastSquaresOptions& o) {
  if (n == 0) throw std::invalid_argument("levenberg_marquardt: no parameters");
  if (start.size() != n || lower.size() != n || upper.size() != n)
    throw std::invalid_argument("levenberg_marquardt: start, lower and upper must each have n = " +
                                std::to_string(n) + " entries");
  for (std::size_t j = 0; j < n; ++j)
    if (!(lower[j] <= upper[j]))
      throw std::invalid_argument("levenberg_marquardt: lower > upper for parameter " + std::to_string(j));
  if (!(o.loss_scale > 0.0)) throw std::invalid_argument("levenberg_marquardt: loss_scale must be > 0");
  validate(o);

  FitResult result;
  // scale[j]: the largest norm of parameter j's (IRLS-weighted) Jacobian column seen so far (MINPACK's `diag`),
  // the reference of the damping floor. The step and gradient tests take the columns' norms at the current
  // point (the running largest can be that of a point where the prediction nearly vanished, which made every
  // later step "small"). Each test is a ratio of like units, so a change of a parameter's unit, of the
  // residuals' unit (energies in J or kJ) or a uniform row weight leaves the iterates and the stopping point
  // as they are (up to rounding).
  std::vector<double> x(n), x_new(n), g(n), h(n * n), a, b, weighted(n * m), scale(n, 0.0);
  std::vector<std::size_t> free_idx;
  free_idx.reserve(n);
  for (std::size_t j = 0; j < n; ++j) x[j] = std::clamp(start[j], lower[j], upper[j]);

  Workspace w{std::vector<double>(m), std::vector<double>(m * n), std::vector<double>(m)};
  Workspace trial{std::vector<double>(m), std::vector<double>(m * n), std::vector<double>(m)};
  double cost = evaluate(residual, x.data(), m, w, true, o);
  result.evaluations = 1;
  if (!std::isfinite(cost)) {
    result.params = x;
    result.cost = cost;
    result.status = FitStatus::NonFinite;
    return result;
  }
  for (double v : w.jac)
    if (!std::isfinite(v)) {
      result.params = x;
      result.cost = cost;
      result.status = FitStatus::NonFinite;
      return result;
    }

  // Damping follows Nielsen (1999): on an accepted step lambda *= max(1/3, 1 - (2 rho - 1)^3), with rho
  // the ratio of actual to predicted decrease; on a rejected one lambda *= nu and nu doubles. This
  // wastes far fewer evaluations than the classic x10 / x0.1 rule.
  double lambda = o.initial_damping;
  double nu = 2.0;
  bool need_normal_equations = true;
  for (result.iterations = 0; result.iterations < o.max_iterations; ++result.iterations) {
    if (need_normal_equations) {
      normal_equations(m, n, w.jac.data(), w.r.data(), o.loss == Loss::Linear ? nullptr : w.weight.data(),
                       weighted.data(), g.data(), h.data());
      need_normal_equations = false;
      for (std::size_t j = 0; j < n; ++j) scale[j] = std::max(scale[j], std::sqrt(h[j * n + j]));
    }
    // Active set: a parameter at a bound whose gradient pushes outward stays fixed. Gradient test (MINPACK's
    // gtol): the cosine of the angle between the residual vector and each free column, |g_j| / (|J_j| |r|),
    // free of the units of the parameters and of the residuals (the raw |g_j| is not: it scales with both).
    free_idx.clear();
    bool gradient_small = true;
    for (std::size_t j = 0; j < n; ++j) {
      const bool stuck_low = x[j] <= lower[j] && g[j] > 0.0;
      const bool stuck_high = x[j] >= upper[j] && g[j] < 0.0;
      if (!stuck_low && !stuck_high && lower[j] < upper[j]) {
        free_idx.push_back(j);
        if (!(std::abs(g[j]) <= o.gtol * std::sqrt(h[j * n + j] * w.weighted_r2))) gradient_small = false;
      }
    }
    if (free_idx.empty() || gradient_small) {
      result.converged = true;
      result.status = FitStatus::ConvergedGradient;
      break;
    }
    const std::size_t k = free_idx.size();
    bool accepted = false;
    double first_predicted = std::numeric_limits<double>::quiet_NaN();  // of the least damped step tried
    while (lambda < 1e16) {
      a.assign(k * k, 0.0);
      b.assign(k, 0.0);
      for (std::size_t p = 0; p < k; ++p) {
        const std::size_t jp = free_idx[p];
        for (std::size_t q = 0; q <= p; ++q) a[p * k + q] = h[jp * n + free_idx[q]];
        // Marquardt's damping of diag(J^T J), floored relative to the column's largest norm so far (a floor
        // in absolute units would dominate the damping of a parameter in large units); 1 for a column that
        // has always been zero (its gradient and coupling are zero: the value only keeps the system SPD).
        const double diag = scale[jp] > 0.0 ? std::max(h[jp * n + jp], 1e-12 * scale[jp] * scale[jp]) : 1.0;
        a[p * k + p] += lambda * diag;
        b[p] = -g[jp];
      }
      if (!cholesky_solve(a, b, k)) {
        lambda *= nu;
        nu *= 2.0;
        continue;
      }
      x_new = x;
      for (std::size_t p = 0; p < k; ++p) {
        const std::size_t j = free_idx[p];
        x_new[j] = std::clamp(x[j] + b[p], lower[j], upper[j]);
      }
      // Predicted decrease of the Gauss-Newton model for the projected step d: -(g.d + d.H.d / 2).
      double predicted = 0.0;
      for (std::size_t p = 0; p < n; ++p) {
        const double dp = x_new[p] - x[p];
        if (dp == 0.0) continue;
        double hd = 0.0;
        for (std::size_t q = 0; q < n; ++q) {
          const double dq = x_new[q] - x[q];
          hd += (q <= p ? h[p * n + q] : h[q * n + p]) * dq;
        }
        predicted -= g[p] * dp + 0.5 * dp * hd;
      }
      if (std::isnan(first_predicted)) first_predicted = predicted;
      const double new_cost = evaluate(residual, x_new.data(), m, trial, true, o);
      ++result.evaluations;
      if (std::isfinite(new_cost) && new_cost < cost) {
        // Step test in the scaled variables (MINPACK's xtol): |D dx| <= xtol |D x|, D_j = |J_j|. Unscaled, the
        // norm of x is that of its largest parameter in its units (a constant of 2e8 made any step of the
        // O(1) ones "small"). A guard counting only steps damped at lambda <= 1 was tried: fits crawling
        // against the edge of their domain (sqrt of ~0) then ended no_progress, and their bootstraps lost
        // every replicate.
        double step2 = 0.0, x2 = 0.0;
        for (std::size_t j = 0; j < n; ++j) {
          const double dj = std::sqrt(h[j * n + j]), ds = dj * (x_new[j] - x[j]), xs = dj * x[j];
          step2 += ds * ds;
          x2 += xs * xs;
        }
        const double decrease = cost - new_cost;
        const double rho = predicted > 0.0 ? decrease / predicted : 1.0;
        const double t = 2.0 * rho - 1.0;
        lambda = std::max(lambda * std::max(1.0 / 3.0, 1.0 - t * t * t), 1e-15);
        nu = 2.0;
        std::swap(w, trial);
        x.swap(x_new);
        cost = new_cost;
        need_normal_equations = true;
        accepted = true;
        if (decrease <= o.ftol * cost) {
          result.converged = true;
          result.status = FitStatus::ConvergedCost;
        } else if (std::sqrt(step2) <= o.xtol * std::sqrt(x2)) {
          result.converged = true;
          result.status = FitStatus::ConvergedStep;
        }
        break;
      }
      lambda *= nu;
      nu *= 2.0;
    }
    if (result.converged) {
      ++result.iterations;
      break;
    }
    if (!accepted) {
      // A start at the optimum (a refit on the model's own training rows): the Gauss-Newton model itself
      // predicts a decrease within ftol of the cost, so no step finding one is rounding, not a stall.
      if (std::isfinite(first_predicted) && std::abs(first_predicted) <= o.ftol * cost) {
        result.converged = true;
        result.status = FitStatus::ConvergedCost;
      } else {
        result.status = FitStatus::NoProgress;
      }
      break;
    }
  }
  result.params = x;
  result.cost = cost;
  return result;
}

std::size_t restore_unseen_starts(std::size_t m, const ResidualFunction& residual, std::span<const double> start,
                                  std::span<const double> tried, std::vector<double>& params) {
  const std::size_t n = params.size();
  if (start.size() != n || tried.size() != n)
    throw std::invalid_argument("restore_unseen_starts: start, tried and params must have the same size");
  std::vector<double> fitted, moved(m);
  std::size_t restored = 0;
  for (std::size_t j = 0; j < n; ++j) {
    if (!(params[j] == tried[j] && tried[j] != start[j])) continue;  // moved by the fit, or not shifted
    if (fitted.empty()) {
      fitted.resize(m);
      residual(params.data(), fitted.data(), nullptr);
    }
    const double kept = params[j];
    params[j] = start[j];
    residual(params.data(), moved.data(), nullptr);
    bool same = true;
    for (std::size_t i = 0; i < m && same; ++i) same = moved[i] == fitted[i];
    if (same)
      ++restored;
    else
      params[j] = kept;
  }
  return restored;
}

}  // namespace energylens
