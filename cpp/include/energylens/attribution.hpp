// Energy attribution below NVML's update period: regress coarse energy deltas (or window-averaged
// power readings times their window) onto each kernel class's busy time per interval with
// non-negative least squares and an idle term. The method and its limits: docs/measuring.md.
// The NumPy reference is python/energylens/measure/attribution_reference.py (reference_busy_time,
// reference_fit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace energylens {

/// Busy time (seconds) of each class inside each interval, row-major `n_intervals x n_classes`.
///
/// Kernel `i` runs over `[kernel_start_ns[i], kernel_end_ns[i])` and belongs to class
/// `kernel_class[i]` (`0 <= class < n_classes`; a negative class means "not analysed" and is
/// skipped). Each kernel is clipped to each interval `[interval_start_ns[j], interval_end_ns[j])`
/// and the overlap added to cell `(j, class)`; concurrent kernels of one class each add their own
/// time (the additive model). Sums are exact (accumulated in integer ns, converted once).
/// Intervals must be sorted and disjoint: `start[j] <= end[j] <= start[j + 1]`; kernels may come in
/// any order. Throws std::invalid_argument on mismatched lengths, a bad class or unsorted intervals.
[[nodiscard]] std::vector<double> busy_time_matrix_s(std::span<const std::int64_t> kernel_start_ns,
                                                     std::span<const std::int64_t> kernel_end_ns,
                                                     std::span<const std::int32_t> kernel_class,
                                                     std::size_t n_classes,
                                                     std::span<const std::int64_t> interval_start_ns,
                                                     std::span<const std::int64_t> interval_end_ns);

/// Result of a non-negative least-squares solve.
struct NnlsResult {
  std::vector<double> x;    ///< the solution, `x >= 0`, length n
  double rss = 0.0;         ///< residual sum of squares ||A x - b||^2
  int iterations = 0;       ///< outer (Lawson-Hanson) iterations used
  bool converged = false;   ///< false when max_iterations was reached first
};

/// Lawson-Hanson NNLS: min ||A x - b||_2 subject to x >= 0, for row-major `A` (m x n).
///
/// Columns are scaled to unit norm internally (the result is in the caller's units); all-zero
/// columns get x = 0. `max_iterations <= 0` means 3 n + 30. Non-convergence is reported in the
/// result, not thrown. Throws std::invalid_argument on mismatched sizes or non-finite input.
[[nodiscard]] NnlsResult nnls(std::span<const double> a, std::size_t m, std::size_t n,
                              std::span<const double> b, int max_iterations = 0);

/// Options of fit_attribution().
struct AttributionOptions {
  int bootstrap = 200;            ///< moving-block bootstrap replicates (0: none)
  std::size_t block_length = 0;   ///< rows per bootstrap block (0: round(m^(1/3)), at least 1)
  std::uint64_t seed = 0;         ///< bootstrap seed; replicate r uses its own stream (thread-count independent)
  int max_iterations = 0;         ///< passed to nnls()
};

/// Result of fit_attribution(). Vectors of length n are per design column; n x n and
/// bootstrap x n matrices are row-major.
struct AttributionFit {
  std::size_t rows = 0;                       ///< m, the intervals used
  std::size_t cols = 0;                       ///< n, the design columns
  std::vector<double> coef;                   ///< NNLS coefficients (W when the design is in s and the target in J)
  std::vector<double> stderr_analytic;        ///< sqrt(diag(sigma^2 (A_P^T A_P)^-1)) on the active set P; NaN off it
  std::vector<double> covariance;             ///< sigma^2 (A_P^T A_P)^-1 embedded in n x n, NaN off the active set
  std::vector<double> residuals;              ///< b - A coef, length m
  double rss = 0.0;                           ///< residual sum of squares
  double sigma2 = 0.0;                        ///< rss / (m - |P|), NaN when m <= |P|
  std::size_t active = 0;                     ///< |P|: coefficients strictly above zero
  std::size_t rank = 0;                       ///< numerical rank of the (column-scaled) design
  double condition_number = 0.0;              ///< of the column-scaled design (inf when rank < n)
  bool converged = false;                     ///< NNLS converged on the full data
  int iterations = 0;                         ///< NNLS outer iterations on the full data
  std::size_t block_length = 0;               ///< bootstrap block length used
  int bootstrap_converged = 0;                ///< replicates whose NNLS converged
  std::vector<double> bootstrap_coef;         ///< bootstrap x n replicate coefficients
  std::vector<double> stderr_bootstrap;       ///< standard deviation of the replicates (NaN without bootstrap)
};

/// NNLS fit of `target` (length m) on the row-major design (m x n) with analytic standard errors on
/// the active set and a moving-block bootstrap over rows (OpenMP-parallel, deterministic for a
/// seed). Throws std::invalid_argument on bad sizes, non-finite input or m == 0.
[[nodiscard]] AttributionFit fit_attribution(std::span<const double> design, std::size_t m,
                                             std::size_t n, std::span<const double> target,
                                             const AttributionOptions& options = {});

}  // namespace energylens
