// A natural logarithm that vectorises (no libm call, no branch): for the fitter's log residuals, where
// libm's scalar log was a fifth of a fit. Positive normal finite inputs only; callers fix up the rest
// (log_in_place below does). Accuracy: within 1 ulp of std::log on [DBL_MIN, DBL_MAX]
// (cpp/tests/test_least_squares.cpp).
#pragma once

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace energylens {

/// log(x) for positive, normal, finite x: x = 2^e m with m in [sqrt(1/2), sqrt(2)), then fdlibm's
/// polynomial for log m.
inline double log_positive_normal(double x) {
  constexpr std::uint64_t kSqrtHalf = 0x3fe6a09e667f3bcdULL;  // bits of sqrt(1/2)
  constexpr std::uint64_t kBias = 1024ULL << 52;             // keeps the exponent field non-negative
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
  // x = 2^k m with m in [sqrt(1/2), sqrt(2)): k + 1024 is the top 12 bits of bits + kBias - kSqrtHalf.
  const std::uint64_t tmp = bits + kBias - kSqrtHalf;
  const double m = std::bit_cast<double>(bits - (tmp & 0xfff0000000000000ULL) + kBias);
  // k as a double without an int64 -> double conversion (AVX2 has none): (2^52 + k + 1024) - (2^52 + 1024).
  const double e = std::bit_cast<double>((tmp >> 52) | 0x4330000000000000ULL) - (4503599627370496.0 + 1024.0);
  // fdlibm's e_log.c from here: f = m - 1 (exact), s = f / (2 + f), log(1 + f) = f - hfsq + s (hfsq + R)
  // with R(s^2) its minimax polynomial (|error| < 2^-58.45), assembled so the rounding stays below 1 ulp.
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double r = z * (6.666666666666735130e-01 +
                        z * (3.999999999940941908e-01 +
                             z * (2.857142874366239149e-01 +
                                  z * (2.222219843214978396e-01 +
                                       z * (1.818357216161805012e-01 +
                                            z * (1.531383769920937332e-01 + z * 1.479819860511658591e-01))))));
  const double hfsq = 0.5 * f * f;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2 split so e * kLn2Hi is exact
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  return e * kLn2Hi - ((hfsq - (s * (hfsq + r) + e * kLn2Lo)) - f);
}

/// log(x) for any x: log_positive_normal on [DBL_MIN, DBL_MAX], std::log otherwise (zero, negative,
/// subnormal, infinite, NaN).
inline double log_value(double x) { return x >= DBL_MIN && x <= DBL_MAX ? log_positive_normal(x) : std::log(x); }

/// x[i] = log(x[i]) for i < n. The branch-free kernel vectorises once inlined into the caller's loop;
/// if any input is outside its range (zero, negative, subnormal, infinite, NaN) all go to std::log.
inline void log_in_place(std::size_t n, double* x) {
  bool in_range = true;
  for (std::size_t i = 0; i < n; ++i) in_range &= x[i] >= DBL_MIN && x[i] <= DBL_MAX;
  if (!in_range) {
    for (std::size_t i = 0; i < n; ++i) x[i] = std::log(x[i]);
    return;
  }
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) x[i] = log_positive_normal(x[i]);
}

}  // namespace energylens
