// Bounded Levenberg-Marquardt for small dense problems (tens of parameters, any number of rows),
// with an optional robust loss. Non-convergence is data (FitResult::status), not an exception.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace energylens {

/// Robust loss applied to each residual r with scale c (z = (r/c)^2), as in scipy's least_squares.
enum class Loss {
  Linear,  ///< rho(z) = z: ordinary least squares
  SoftL1,  ///< rho(z) = 2 (sqrt(1 + z) - 1): smooth, linear tails
  Huber,   ///< rho(z) = z for z <= 1, 2 sqrt(z) - 1 beyond
};

/// Why the iteration stopped.
enum class FitStatus {
  ConvergedGradient = 0,  ///< projected gradient's cosine with every free column below gtol
  ConvergedCost = 1,      ///< relative cost decrease below ftol (at a start on the optimum: the predicted one)
  ConvergedStep = 2,      ///< scaled relative step below xtol
  MaxIterations = 3,      ///< iteration budget spent before any criterion held
  NoProgress = 4,         ///< damping grew without a decrease, though one above ftol was predicted
  NonFinite = 5,          ///< residuals or Jacobian not finite at the start point
};

/// Human-readable name of a status, e.g. "converged_cost".
const char* to_string(FitStatus status) noexcept;

/// A fit or bootstrap stopped because its caller's cancel flag was set (the bindings, on Ctrl-C / SIGTERM):
/// not a bad input. Thrown by the closed-form and the expression fits' residual evaluations.
class FitCancelled : public std::runtime_error {
 public:
  FitCancelled() : std::runtime_error("fit cancelled") {}
};

/// Tuning of the iteration. Every stopping test is a ratio of like units, as in MINPACK, so the same data in
/// other units (energies in J or kJ, a parameter in us or s, every residual weighted alike) stop at the same
/// point: the step and gradient tests scale each parameter by D_j = |J_j|, the norm of its (IRLS-weighted)
/// Jacobian column at the current point.
struct LeastSquaresOptions {
  int max_iterations = 200;        ///< outer iterations (accepted or rejected steps)
  double ftol = 1e-8;              ///< stop when (cost - new_cost) <= ftol * cost (scipy's default)
  double xtol = 1e-8;              ///< stop when |D dx| <= xtol |D x| (MINPACK's scaled step test)
  double gtol = 1e-12;             ///< stop when every free |g_j| <= gtol |J_j| |r| (MINPACK's cosine)
  Loss loss = Loss::Linear;        ///< robust loss
  double loss_scale = 1.0;         ///< residual scale c of the robust loss
  double initial_damping = 1e-3;   ///< lambda relative to diag(J^T J)
};

/// Throws std::invalid_argument naming the option unless initial_damping is finite and > 0 (a negative
/// one never grew past the damping loop: a hang; 0 or NaN gave up at once) and ftol, xtol, gtol are
/// finite and >= 0. levenberg_marquardt() calls it; the bindings too, when the options are made.
void validate(const LeastSquaresOptions& options);

/// The outcome of one fit.
struct FitResult {
  std::vector<double> params;   ///< best parameters found
  double cost = 0.0;            ///< 0.5 * c^2 * sum rho((r/c)^2) at params (0.5 sum r^2 when Linear)
  int iterations = 0;           ///< outer iterations used
  int evaluations = 0;          ///< residual evaluations
  bool converged = false;       ///< a convergence criterion held
  FitStatus status = FitStatus::MaxIterations;  ///< why it stopped
};

/// Residuals r (m) and, when `jacobian` is non-null, dr/dtheta at theta (n), parameter-major:
/// jacobian[j * m + i] = d r_i / d theta_j (each parameter's column contiguous).
using ResidualFunction = std::function<void(const double* theta, double* residuals, double* jacobian)>;

/// Minimises 0.5 c^2 sum rho((r_i/c)^2) over lower <= theta <= upper from `start`.
/// Bounds are honoured by projection with an active set; throws std::invalid_argument on
/// inconsistent sizes or bounds.
FitResult levenberg_marquardt(std::size_t m, std::size_t n, const ResidualFunction& residual,
                              std::span<const double> start, std::span<const double> lower,
                              std::span<const double> upper, const LeastSquaresOptions& options = {});

/// After a multi-start fit whose winning start shifted the parameters to `tried` (the unshifted start being
/// `start`): sets each parameter of `params` that the fit left at its shifted value (params[j] == tried[j] !=
/// start[j]) back to start[j] where the residuals stay bit for bit the same (no measurement depends on it; one
/// residual evaluation per such parameter). Such a parameter then ends at its start value whatever start won,
/// not at the seed's random shift of it (pp_bubble fitted on pp = 1 rows); nothing the rows see changes.
/// Returns how many it set back.
std::size_t restore_unseen_starts(std::size_t m, const ResidualFunction& residual, std::span<const double> start,
                                  std::span<const double> tried, std::vector<double>& params);

}  // namespace energylens
