// Compiled with -ffp-contract=off (cpp/CMakeLists.txt): the interpolation a + (b - a) t must round as
// NumPy's, never as a fused multiply-add.
#include "energylens/intervals.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "energylens/parallel.hpp"

namespace energylens {
namespace {

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;
constexpr std::uint64_t kM1 = 0xBF58476D1CE4E5B9ULL;
constexpr std::uint64_t kM2 = 0x94D049BB133111EBULL;

// Rows per block: the block's replicates x rows outputs (2 x 200 x 128 doubles, 400 kB) stay in L2 while
// each row's draws and quantiles read them.
constexpr std::size_t kBlockRows = 128;
// Fewest (replicate, row) draws worth a thread of their own (each an evaluation, a hash and a share of the
// selection): below 2x this a call runs on the caller alone.
constexpr std::size_t kMinDrawsPerThread = 65536;

std::uint64_t splitmix(std::uint64_t z) {
  z ^= z >> 30;
  z *= kM1;
  z ^= z >> 27;
  z *= kM2;
  z ^= z >> 31;
  return z;
}

// The IEEE-754 pattern `bits` of a finite or infinite double rounded to nearest (ties to even) at its lowest `drop`
// mantissa bits, those bits cleared (a carry into the exponent rounds up a binade; infinities stay).
constexpr std::uint64_t round_mantissa(std::uint64_t bits, unsigned drop) {
  const std::uint64_t half = (std::uint64_t{1} << (drop - 1)) - 1;
  return (bits + half + ((bits >> drop) & 1U)) & ~((std::uint64_t{1} << drop) - 1);
}

// The bits a row key hashes of a feature value: -0 as +0, every NaN as the quiet NaN, and a number rounded to
// float32's 24 significant bits (as a float32 cast rounds it: a column read as float32 keys as the float64 one)
// and then to kKeySignificantBits, so that values a last bit or a derived feature's ~1e-8 apart share a key.
std::uint64_t value_bits(double x) {
  if (std::isnan(x)) return 0x7ff8000000000000ULL;
  const std::uint64_t float32_bits = round_mantissa(std::bit_cast<std::uint64_t>(x + 0.0), 52 - 23);
  return round_mantissa(float32_bits, 53 - kKeySignificantBits);
}

// row_key() with `one(k)` telling whether column k holds one value for every row.
template <typename OneValue>
std::uint64_t key_of(const double* const* columns, std::size_t n_columns, const OneValue& one, std::size_t row) {
  std::uint64_t h = 0;
  for (std::size_t k = 0; k < n_columns; ++k) h = splitmix(h ^ value_bits(columns[k][one(k) ? 0 : row])) + kGolden;
  return h;
}

// np.quantile(method="linear")'s neighbours and weight of probability q among n sorted values
// (numpy/lib/_function_base_impl.py: _get_indexes, _get_gamma), the index -1 stored as n - 1.
struct Position {
  std::size_t previous = 0, next = 0;
  double gamma = 0.0;
};

Position position(std::size_t n, double q) {
  const double virtual_index = static_cast<double>(n - 1) * q;
  double previous = std::floor(virtual_index);
  double next = previous + 1.0;
  if (virtual_index >= static_cast<double>(n - 1)) previous = next = -1.0;
  if (virtual_index < 0.0) previous = next = 0.0;
  const double gamma = virtual_index - previous;
  const auto index = [n](double k) { return k < 0.0 ? n - 1 : static_cast<std::size_t>(k); };
  return {index(previous), index(next), gamma};
}

// NumPy's _lerp: a + (b - a) t, or b - (b - a)(1 - t) where t >= 0.5.
double lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

// Places the value of rank k of a[lo, hi) (no NaN) at a[k], smaller ones before it, larger or equal after:
// quickselect with a median-of-three pivot and a branchless partition (a swap and a conditional count
// per element; 2x faster than std::nth_element on 200 values, whose branches the data decide).
void select_rank(double* a, long lo, long hi, long k) {
  while (hi - lo > 16) {
    const double x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi - 1];
    const double pivot = std::max(std::min(x, y), std::min(std::max(x, y), z));
    long j = lo;  // [lo, j) < pivot
    for (long i = lo; i < hi; ++i) {
      const double v = a[i];
      a[i] = a[j];
      a[j] = v;
      j += v < pivot ? 1 : 0;
    }
    if (k < j) {
      hi = j;
      continue;
    }
    if (j > lo) {
      lo = j;
      continue;
    }
    long e = j;  // nothing below the pivot: [lo, e) == pivot
    for (long i = j; i < hi; ++i) {
      const double v = a[i];
      a[i] = a[e];
      a[e] = v;
      e += v <= pivot ? 1 : 0;
    }
    if (k < e) return;
    lo = e;
  }
  for (long i = lo + 1; i < hi; ++i) {  // insertion sort of the last few
    const double v = a[i];
    long j = i;
    for (; j > lo && a[j - 1] > v; --j) a[j] = a[j - 1];
    a[j] = v;
  }
}

// The values of v[0, n) (no NaN) at the ascending ranks `ranks` (v is reordered): a selection per rank on
// the part above the previous rank, or a minimum when the rank is the next one (a quantile's two neighbours).
template <std::size_t K>
void order_statistics(double* v, std::size_t n, const std::array<std::size_t, K>& ranks, std::array<double, K>& out) {
  long from = 0;
  const long size = static_cast<long>(n);
  for (std::size_t r = 0; r < K; ++r) {
    const long at = static_cast<long>(ranks[r]);
    if (at == from) {
      std::iter_swap(v + from, std::min_element(v + from, v + size));
      from = at + 1;
    } else if (at > from) {
      select_rank(v, from, size, at);
      from = at + 1;
    }
    out[r] = v[static_cast<std::size_t>(at)];
  }
}

// The two quantiles' neighbours among n values, and every rank they read (ascending).
struct QuantilePair {
  Position lo_at, hi_at;
  std::array<std::size_t, 4> ranks{};
};

QuantilePair quantile_pair(std::size_t n, double q_lo, double q_hi) {
  QuantilePair q{position(n, q_lo), position(n, q_hi)};
  q.ranks = {q.lo_at.previous, q.lo_at.next, q.hi_at.previous, q.hi_at.next};
  std::sort(q.ranks.begin(), q.ranks.end());
  return q;
}

// np.quantile(v[0, n), [q_lo, q_hi]) into lo and hi (v reordered); NaN for both when `nan` (NumPy's rule: a
// slice holding a NaN gives NaN).
void row_bounds(double* v, std::size_t n, const QuantilePair& q, bool nan, double& lo, double& hi) {
  if (nan) {
    lo = hi = std::nan("");
    return;
  }
  std::array<double, 4> at{};
  order_statistics(v, n, q.ranks, at);
  const auto value = [&](std::size_t rank) {
    return at[static_cast<std::size_t>(std::find(q.ranks.begin(), q.ranks.end(), rank) - q.ranks.begin())];
  };
  lo = lerp(value(q.lo_at.previous), value(q.lo_at.next), q.lo_at.gamma);
  hi = lerp(value(q.hi_at.previous), value(q.hi_at.next), q.hi_at.gamma);
}

struct Scratch {
  std::vector<double> out0, out1, u, values;
  std::vector<std::uint8_t> flags;
  rows::RangeTally tally;
};

// Adds rows [0, len) of the block columns `c` to the tally: per checked feature the values above[k] or
// below below[k] (a broadcast column's one value stands for every row), their extremes, and the rows with
// some feature out of range.
void tally_rows(std::size_t len, const double* const* c, BroadcastMask broadcast, std::span<const double> above,
                std::span<const double> below, Scratch& s) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  s.flags.assign(len, 0);
  rows::RangeTally& t = s.tally;
  for (std::size_t k = 0; k < above.size(); ++k) {
    const double hi = above[k], lo = below[k];
    if (hi == kInf && lo == -kInf) continue;
    const bool one = ((broadcast >> k) & 1U) != 0;
    std::uint64_t n = 0;
    for (std::size_t j = 0; j < len; ++j) {
      const double x = c[k][one ? 0 : j];
      const unsigned out = static_cast<unsigned>(x > hi) | static_cast<unsigned>(x < lo);
      n += out;
      s.flags[j] = static_cast<std::uint8_t>(s.flags[j] | out);
      if (x > hi) t.high[k] = std::max(t.high[k], x);
      if (x < lo) t.low[k] = std::min(t.low[k], x);
    }
    t.count[k] += n;
  }
  for (std::size_t j = 0; j < len; ++j) t.flagged += s.flags[j];
}

}  // namespace

std::uint64_t replicate_key(std::uint64_t seed, std::uint64_t replicate) { return splitmix(replicate + seed * kM1); }

// Both conversions go through signed 64-bit integers (exact: the values are below 2^53 and 2^63), one
// instruction each where an unsigned conversion is a branchy sequence without AVX-512; NumPy converts to intp.
double draw_u(std::uint64_t key, std::uint64_t row_key) {
  const auto top = static_cast<std::int64_t>(splitmix(key + row_key * kGolden) >> 11);
  return static_cast<double>(top) * (1.0 / 9007199254740992.0);  // 2^-53
}

std::size_t draw_index(double u, std::size_t n) {
  const auto count = static_cast<std::int64_t>(std::max<std::size_t>(n, 1));
  return static_cast<std::size_t>(std::min(static_cast<std::int64_t>(u * static_cast<double>(count)), count - 1));
}

std::uint64_t row_key(const double* const* columns, std::size_t n_columns, BroadcastMask broadcast, std::size_t row) {
  return key_of(columns, n_columns, [broadcast](std::size_t k) { return ((broadcast >> k) & 1U) != 0; }, row);
}

void row_keys(const double* const* columns, std::size_t n_columns, const std::uint8_t* one_value, std::size_t rows,
              std::uint64_t* keys) {
  const int threads = threads_for(rows * std::max<std::size_t>(n_columns, 1), kMinDrawsPerThread);
  const std::size_t blocks = (rows + kBlockRows - 1) / kBlockRows;
  const auto one = [one_value](std::size_t k) { return one_value[k] != 0; };
  run_chunks(blocks, threads, [&](std::size_t block, int) {
    const std::size_t first = block * kBlockRows, last = std::min(rows, first + kBlockRows);
    for (std::size_t i = first; i < last; ++i) keys[i] = key_of(columns, n_columns, one, i);
  });
}

void draw_indices(std::uint64_t seed, std::size_t replicates, const std::uint64_t* row_keys, std::size_t rows,
                  std::size_t n, std::int64_t* indices) {
  const int threads = threads_for(rows * replicates, kMinDrawsPerThread);
  run_chunks(replicates, threads, [&](std::size_t b, int) {
    const std::uint64_t key = replicate_key(seed, b);
    std::int64_t* out = indices + b * rows;
    for (std::size_t i = 0; i < rows; ++i) out[i] = static_cast<std::int64_t>(draw_index(draw_u(key, row_keys[i]), n));
  });
}

void drawn_quantiles(const double* values, std::size_t replicates, std::size_t rows, std::span<const double> factors,
                     std::uint64_t seed, const std::uint64_t* row_keys, double q_lo, double q_hi, double* lo,
                     double* hi) {
  if (replicates == 0) throw std::invalid_argument("drawn_quantiles: no bootstrap replicates");
  if (!(q_lo >= 0.0 && q_lo <= 1.0 && q_hi >= 0.0 && q_hi <= 1.0))
    throw std::invalid_argument("drawn_quantiles: probabilities must be in [0, 1]");
  if (rows == 0) return;
  std::vector<std::uint64_t> keys(replicates);
  for (std::size_t b = 0; b < replicates; ++b) keys[b] = replicate_key(seed, b);
  const QuantilePair quantiles = quantile_pair(replicates, q_lo, q_hi);
  const std::size_t n = factors.size(), blocks = (rows + kBlockRows - 1) / kBlockRows;
  const int threads = threads_for(rows * replicates, kMinDrawsPerThread);
  std::vector<std::vector<double>> scratch(static_cast<std::size_t>(threads));
  run_chunks(blocks, threads, [&](std::size_t block, int slot) {
    std::vector<double>& t = scratch[static_cast<std::size_t>(slot)];  // (row, replicate) of the block
    const std::size_t first = block * kBlockRows, len = std::min(kBlockRows, rows - first);
    t.resize(len * replicates);
    for (std::size_t b = 0; b < replicates; ++b) {  // each replicate's row of the block read in order
      const double* v = values + b * rows + first;
      for (std::size_t i = 0; i < len; ++i) {
        const double f = n == 0 ? 1.0 : factors[draw_index(draw_u(keys[b], row_keys[first + i]), n)];
        t[i * replicates + b] = v[i] * f;
      }
    }
    for (std::size_t i = 0; i < len; ++i) {
      double* row = t.data() + i * replicates;
      bool nan = false;
      for (std::size_t b = 0; b < replicates; ++b) nan |= std::isnan(row[b]);
      row_bounds(row, replicates, quantiles, nan, lo[first + i], hi[first + i]);
    }
  });
}

rows::RangeTally interval_bounds(TemplateId id, std::size_t rows, const double* const* columns,
                                 BroadcastMask broadcast, std::span<const double> params, std::size_t replicates,
                                 std::uint64_t seed, double q_lo, double q_hi, std::span<const IntervalOutput> outputs,
                                 std::span<const double> above,
                                 std::span<const double> below) {
  const std::size_t P = describe(id).n_params;
  const std::size_t n_columns = describe(id).n_features;
  const bool tally = !above.empty() || !below.empty();
  if (tally && (above.size() != n_columns || below.size() != n_columns))
    throw std::invalid_argument("interval_bounds: " + std::to_string(above.size()) + " and " +
                                std::to_string(below.size()) + " range thresholds for " +
                                std::to_string(n_columns) + " features");
  if (replicates == 0) throw std::invalid_argument("interval_bounds: no bootstrap replicates");
  if (params.size() != replicates * P)
    throw std::invalid_argument("interval_bounds: " + std::to_string(params.size()) + " parameter values for " +
                                std::to_string(replicates) + " replicates of " + std::to_string(P) + " parameters");
  if (!(q_lo >= 0.0 && q_lo <= 1.0 && q_hi >= 0.0 && q_hi <= 1.0))
    throw std::invalid_argument("interval_bounds: probabilities must be in [0, 1]");
  for (const IntervalOutput& o : outputs)
    if (o.output != kOutputSum && o.output != 0 && o.output != 1)
      throw std::invalid_argument("interval_bounds: output " + std::to_string(o.output) +
                                  " is not 0, 1 or -1 (out0 + out1)");
  rows::RangeTally total;
  if (tally) {
    total.count.assign(n_columns, 0);
    total.high.assign(n_columns, -std::numeric_limits<double>::infinity());
    total.low.assign(n_columns, std::numeric_limits<double>::infinity());
  }
  if (rows == 0) return total;
  std::vector<std::uint64_t> keys(replicates);
  for (std::size_t b = 0; b < replicates; ++b) keys[b] = replicate_key(seed, b);
  const QuantilePair quantiles = quantile_pair(replicates, q_lo, q_hi);
  const std::size_t blocks = (rows + kBlockRows - 1) / kBlockRows;
  const int threads = threads_for(rows * replicates, kMinDrawsPerThread);
  std::vector<Scratch> scratch(static_cast<std::size_t>(threads));
  for (Scratch& s : scratch) s.tally = total;
  run_chunks(blocks, threads, [&](std::size_t block, int slot) {
    Scratch& s = scratch[static_cast<std::size_t>(slot)];
    const std::size_t first = block * kBlockRows, len = std::min(kBlockRows, rows - first);
    s.out0.resize(replicates * len);
    s.out1.resize(replicates * len);
    s.u.resize(replicates);
    s.values.resize(replicates);
    std::vector<const double*> c(n_columns);
    for (std::size_t k = 0; k < n_columns; ++k) c[k] = columns[k] + (((broadcast >> k) & 1U) != 0 ? 0 : first);
    if (tally) tally_rows(len, c.data(), broadcast, above, below, s);
    if (outputs.empty()) return;
    evaluate_replicates<double>(id, len, c.data(), params, replicates, s.out0.data(), s.out1.data(), broadcast);
    for (std::size_t i = 0; i < len; ++i) {
      const std::uint64_t row = row_key(c.data(), n_columns, broadcast, i);  // the row's values, not its position
      for (std::size_t b = 0; b < replicates; ++b) s.u[b] = draw_u(keys[b], row);
      for (const IntervalOutput& o : outputs) {
        const std::size_t n = o.factors.size();
        bool nan = false;
        for (std::size_t b = 0; b < replicates; ++b) {
          const double a = s.out0[b * len + i], c1 = s.out1[b * len + i];
          const double pick = o.output == 0 ? a : o.output == 1 ? c1 : a + c1;
          const double f = n == 0 ? 1.0 : o.factors[draw_index(s.u[b], n)];
          s.values[b] = pick * f;
          nan |= std::isnan(s.values[b]);
        }
        row_bounds(s.values.data(), replicates, quantiles, nan, o.lo[first + i], o.hi[first + i]);
      }
    }
  });
  if (tally)
    for (const Scratch& s : scratch) {
      for (std::size_t k = 0; k < n_columns; ++k) {
        total.count[k] += s.tally.count[k];
        total.high[k] = std::max(total.high[k], s.tally.high[k]);
        total.low[k] = std::min(total.low[k], s.tally.low[k]);
      }
      total.flagged += s.tally.flagged;
    }
  return total;
}

}  // namespace energylens
