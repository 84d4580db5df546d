// The closed-form models evaluated and fitted natively: the energy template (prefill + decode
// energy per request) and the latency template (TTFT and TPOT). Rows come as columns (one pointer
// per feature, in the template's feature order); no Python, no CUDA types.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "energylens/least_squares.hpp"
#include "energylens/template_common.hpp"

namespace energylens {

/// Which closed form.
enum class TemplateId : int { Energy = 0, Latency = 1 };

/// Names, units, bounds and start point of a template.
const TemplateDescriptor& describe(TemplateId id);

/// Bit k set: feature column k holds one value, used for every row (a model's or GPU's spec in a sweep
/// over TP, PP, batch and lengths). Such a column is read once instead of once per row.
using BroadcastMask = std::uint32_t;

/// Evaluates the template on `rows` rows. `columns` holds descriptor.n_features pointers to
/// `rows` values each (one value where `broadcast` has the column's bit set); `params` holds n_params
/// values. Writes out0/out1 (the two outputs), out2 (the auxiliary output, e.g. the step time the
/// energy implies) when non-null, and, when non-null, the Jacobians d out0 / d params and
/// d out1 / d params (rows x n_params, row-major).
/// Threads over chunks of rows when `rows` is large (parallel.hpp run_chunks); SIMD within a thread.
template <typename T>
void evaluate(TemplateId id, std::size_t rows, const T* const* columns, std::span<const double> params,
              T* out0, T* out1, T* out2, T* jacobian0, T* jacobian1, BroadcastMask broadcast = 0);

/// evaluate() (plain: no Jacobians, no auxiliary output) once per parameter set: `params` holds
/// `replicates` x n_params values (row-major, a bootstrap's refits); replicate b's outputs go to
/// out0[b * rows + i] and out1[b * rows + i]. Each replicate's outputs equal evaluate()'s with its
/// parameters bit for bit, at any thread count (the same chunks and blocks); threads over (replicate,
/// chunk) pairs when replicates x rows is large, so one call covers what a loop of small evaluate() calls did.
template <typename T>
void evaluate_replicates(TemplateId id, std::size_t rows, const T* const* columns, std::span<const double> params,
                         std::size_t replicates, T* out0, T* out1, BroadcastMask broadcast = 0);

/// evaluate() without Jacobians or auxiliary output that also checks, in the same pass over the rows,
/// every value of every column against its feature's domain: finite and >= lower[k] (one bound per
/// feature; pass the next representable value above an exclusive bound; empty: no check). Returns false
/// when some value fails; the outputs are then written but not meaningful (the caller finds and names
/// the row). With `out1` null, `out0` receives out0 + out1 (each chunk's second output kept in a
/// cache-sized buffer and added in a separate loop: the same rounding as adding the arrays afterwards).
template <typename T>
bool evaluate_in_domain(TemplateId id, std::size_t rows, const T* const* columns, std::span<const double> params,
                        T* out0, T* out1, BroadcastMask broadcast, std::span<const T> lower);

/// How fitted outputs are compared with measurements.
enum class FitTarget {
  Sum,        ///< out0 + out1 against target0 (energy per request: prefill + decode)
  PerOutput,  ///< out0 against target0 and out1 against target1, NaN targets skipped (latency)
  SumWithAux, ///< out0 + out1 against target0, plus aux_weight x (out2 against target1, NaN skipped):
              ///< energy fitted together with the measured TPOT, which pins the time scale
};

/// Residual of one row: relative (pred / meas - 1) or log (log pred - log meas).
enum class ResidualKind { Relative, Log };

/// Options of a native fit.
struct FitOptions {
  FitTarget target = FitTarget::Sum;             ///< which outputs are compared with which targets
  ResidualKind residual = ResidualKind::Relative;  ///< relative or log residual per row
  double aux_weight = 1.0;     ///< weight of the auxiliary residuals (SumWithAux)
  LeastSquaresOptions least_squares{};  ///< loss, tolerances and iteration limit of each start's solve
  int n_starts = 1;            ///< multi-start: the start point plus n_starts - 1 random perturbations
  double start_spread = 1.0;   ///< perturbation: theta * exp(spread * N(0, 1)), clamped to the bounds
  std::uint64_t seed = 0;      ///< seed of the perturbations
  /// Prior parameter values (empty: none), one per template parameter within its bounds. With
  /// prior_weight w > 0 the fit adds, per parameter j, the residual sqrt(w) (log(theta_j + c_j) -
  /// log(prior_j + c_j)), c_j = kPriorOffset x upper_j (finite where a bound is 0): a pull toward
  /// the prior that the measurements outweigh as they grow; fewer measurements than parameters are
  /// then allowed (at least one). A robust loss applies to these rows as to every residual.
  std::vector<double> prior;
  double prior_weight = 0.0;   ///< w of the prior's residuals (0: no prior, the plain fit bit for bit)
  /// Set by a caller that may stop the fit (the bindings, on Ctrl-C / SIGTERM): once it reads true the fit
  /// and the bootstrap throw FitCancelled at their next residual evaluation or replicate. Null: never.
  const std::atomic<bool>* cancel = nullptr;
  /// When set, the bootstrap adds 1 per finished replicate (its caller's progress). Null: not counted.
  std::atomic<std::size_t>* replicates_done = nullptr;
};

// FitCancelled (a fit or bootstrap stopped because FitOptions::cancel was set): least_squares.hpp.

/// c_j = kPriorOffset x upper_j in the prior's log residuals.
inline constexpr double kPriorOffset = 1e-3;

/// A fit: the best start's result plus how many starts converged.
struct ClosedFormFit {
  FitResult best;            ///< the start with the lowest final cost, a parameter no measurement depends on at
                             ///< its unshifted start value (restore_unseen_starts)
  int starts = 0;            ///< starts run (FitOptions::n_starts)
  int starts_converged = 0;  ///< starts whose solve converged
  int best_start = 0;        ///< which start `best` came from (0: the unshifted start, the descriptor's init)
};

/// Fits the template on all rows. `targets` holds 1 (Sum) or 2 (PerOutput, SumWithAux) spans of `rows`
/// values.
/// `start` empty means the descriptor's init. Throws std::invalid_argument on inconsistent sizes,
/// non-positive or non-finite Sum targets, or fewer usable residuals than parameters.
ClosedFormFit fit(TemplateId id, std::size_t rows, const double* const* columns,
                  std::span<const std::span<const double>> targets, std::span<const double> start,
                  const FitOptions& options);

/// The refits of a bootstrap, one entry per replicate.
struct BootstrapResult {
  std::size_t replicates = 0;            ///< refits (rows of params)
  std::size_t n_params = 0;              ///< template parameters (columns of params)
  std::vector<double> params;            ///< replicates x n_params, row-major (NaN: too few measurements)
  std::vector<std::uint8_t> converged;   ///< 1 where the replicate's fit converged
  std::vector<double> costs;             ///< final cost of each replicate (NaN: too few measurements)
};

/// Bootstrap: `replicates` refits on rows resampled with replacement (seeded), each from `start`,
/// in parallel over replicates.
BootstrapResult bootstrap(TemplateId id, std::size_t rows, const double* const* columns,
                          std::span<const std::span<const double>> targets, std::span<const double> start,
                          int replicates, const FitOptions& options);

}  // namespace energylens
