// Prediction intervals of the closed-form templates from bootstrap refits and a sorted sample of
// measurement factors, natively: per row, the template at every replicate's parameters, one factor drawn
// per (replicate, row) by a hash of (seed, replicate, the row's feature values: row_key), and the two quantiles of
// the products: a row's bounds are a function of its configuration, not of its position in the table. The Python reference is energylens.model.intervals.reference_interval_bounds (a loop over the
// replicates, NumPy's draws and np.quantile); this gives the same bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "energylens/closed_form.hpp"
#include "energylens/row_features.hpp"

namespace energylens {

/// Which template output an interval is of: out0, out1, or out0 + out1 (an energy per request).
inline constexpr int kOutputSum = -1;

/// One output of interval_bounds(): which template output (0, 1 or kOutputSum), the sorted factors
/// (measured / predicted) it draws from (empty: the factor 1) and where its bounds go (`rows` values each).
struct IntervalOutput {
  int output = kOutputSum;          ///< 0: out0, 1: out1, kOutputSum: out0 + out1
  std::span<const double> factors;  ///< sorted measured / predicted factors (empty: the factor 1)
  double* lo = nullptr;             ///< lower bound per row (`rows` values)
  double* hi = nullptr;             ///< upper bound per row (`rows` values)
};

/// The draw of (replicate, row key): u in [0, 1), the top 53 bits of splitmix64(key + row_key x the golden
/// ratio), key = splitmix64(replicate + seed x M1) (replicate_key); from n sorted factors it picks index
/// floor(u x n), clamped to n - 1 (draw_index; 0 when n is 0). Every output reads the same u.
std::uint64_t replicate_key(std::uint64_t seed, std::uint64_t replicate);
/// u in [0, 1) of (replicate `key`, `row_key`), as above.
double draw_u(std::uint64_t key, std::uint64_t row_key);
/// The factor index floor(u x n) clamped to n - 1 (0 when n is 0), as above.
std::size_t draw_index(double u, std::size_t n);

/// Significant bits of a feature value a row key hashes (after rounding it to float32's 24): values that agree
/// to 12 bits (relative 2^-12, 2.4e-4) share a key, so a column read as float32 or a value a last bit off draws
/// as the float64 one.
inline constexpr unsigned kKeySignificantBits = 12;

/// The draw key of row `row` of `n_columns` feature columns (a column whose bit is set in `broadcast` holds one
/// value for every row): h = 0, then per column h = splitmix64(h xor bits(x)) + golden ratio, bits the IEEE-754
/// pattern of x + 0.0 (-0 counts as +0) rounded to nearest (ties to even) at 24 significant bits, as a float32
/// cast rounds, then at kKeySignificantBits; every NaN as the quiet NaN 0x7ff8000000000000; infinities as they
/// are. Feature values equal to that precision give equal keys, wherever the rows sit and however they are
/// chunked (configurations that close share their draws; their predictions agree as closely).
std::uint64_t row_key(const double* const* columns, std::size_t n_columns, BroadcastMask broadcast, std::size_t row);
/// row_key() of rows [0, rows) into `keys`, column k holding one value for every row where one_value[k] is
/// nonzero (any number of columns: an expression's may exceed a BroadcastMask's 32).
void row_keys(const double* const* columns, std::size_t n_columns, const std::uint8_t* one_value, std::size_t rows,
              std::uint64_t* keys);

/// The draws of `replicates` x `rows` (replicate b, row i of key row_keys[i]) from n sorted factors:
/// draw_index(draw_u(replicate_key(seed, b), row_keys[i]), n), row-major into `indices` (replicates x rows
/// values). energylens.model.intervals.draw_indices, bit for bit its NumPy definition; threads over replicates.
void draw_indices(std::uint64_t seed, std::size_t replicates, const std::uint64_t* row_keys, std::size_t rows,
                  std::size_t n, std::int64_t* indices);

/// Per row i of `rows`: the values values[b x rows + i] x factors[draw(b, row_keys[i])] over the `replicates`
/// rows b of `values` (replicates x rows, row-major: a bootstrap's predictions, already evaluated), the factor
/// drawn as by draw_indices() (empty `factors`: the factor 1), and their quantiles at q_lo and q_hi into lo[i]
/// and hi[i], as np.quantile(values x factors[draw_indices(...)], [q_lo, q_hi], axis=0) gives them bit for bit
/// (NaN when one of the row's values is NaN). No replicates x rows temporary; threads over blocks of rows.
/// std::invalid_argument on no replicates or a probability outside [0, 1].
void drawn_quantiles(const double* values, std::size_t replicates, std::size_t rows, std::span<const double> factors,
                     std::uint64_t seed, const std::uint64_t* row_keys, double q_lo, double q_hi, double* lo,
                     double* hi);

/// Per row i of `rows`: the values output(params_b) x factor(b, row_key(i)) over the `replicates` parameter sets b (params: replicates x n_params, row-major), and their quantiles at
/// probabilities q_lo and q_hi as np.quantile(method="linear") computes them, bit for bit (NaN when one of
/// the row's values is NaN). Each output's factor is drawn at the same u for (b, i), keyed by the row's feature
/// values (row_key()), so equal rows get equal bounds. Threads over blocks of rows; the bounds do not depend on
/// the thread count, on how the caller chunks the rows or on where a row sits among them.
/// With `above` and `below` given (one threshold per feature; +inf / -inf: unchecked) it also returns the
/// rows' extrapolation tally (rows::predict()'s: values above or below, per feature, the extremes, rows
/// with some feature out of range), counted in the same pass; else an empty tally.
/// std::invalid_argument on no replicates, a parameter count that is not replicates x n_params, an
/// unknown output, a probability outside [0, 1] or thresholds not one per feature.
rows::RangeTally interval_bounds(TemplateId id, std::size_t rows, const double* const* columns,
                                 BroadcastMask broadcast, std::span<const double> params, std::size_t replicates,
                                 std::uint64_t seed, double q_lo, double q_hi, std::span<const IntervalOutput> outputs, std::span<const double> above = {},
                                 std::span<const double> below = {});

}  // namespace energylens
