// An exponential that vectorises (no libm call, no branch), for the expression engine's exp opcode:
// fdlibm's e_exp.c reduction and rational approximation with the integer part of x / ln 2 and the
// scale 2^k built from bits (AVX2 has no int64 <-> double conversion). Inputs in [-708, 708] only;
// exp_value sends anything else (overflow, underflow to subnormal, NaN) to std::exp.
// Accuracy: within 1 ulp of std::exp (tests/discover/test_expression.py compares with NumPy).
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace energylens {

/// exp(x) for x in [-708, 708].
inline double exp_in_range(double x) {
  constexpr double kShift = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer in the low bits
  constexpr double kInvLn2 = 1.44269504088896338700e+00;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  const double kk = x * kInvLn2 + kShift;
  const double k = kk - kShift;  // nearest integer to x / ln 2
  const std::uint64_t ki = std::bit_cast<std::uint64_t>(kk) - std::bit_cast<std::uint64_t>(kShift);  // k, two's complement
  const double hi = x - k * kLn2Hi;
  const double lo = k * kLn2Lo;
  const double r = hi - lo;
  const double t = r * r;
  const double c = r - t * (1.66666666666666019037e-01 +
                            t * (-2.77777777770155933842e-03 +
                                 t * (6.61375632143793436117e-05 +
                                      t * (-1.65339022054652515390e-06 + t * 4.13813679705723846039e-08))));
  const double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
  const double scale = std::bit_cast<double>((ki + 1023ULL) << 52);
  return y * scale;
}

/// exp(x) for any x: exp_in_range on [-708, 708], std::exp outside it (overflow, subnormal results, NaN).
inline double exp_value(double x) { return std::fabs(x) <= 708.0 ? exp_in_range(x) : std::exp(x); }

/// x[i] = exp_value(x[i]) for i < n: a block with every input in [-708, 708] in one vectorised loop,
/// any other block one value at a time (each value as exp_value: it depends on its own row only).
inline void exp_in_place(std::size_t n, double* x) {
  // One comparison a value (|x| <= 708 is false for NaN) and a bitwise reduction: this vectorises, the
  // two comparisons and a short-circuit && ran one value at a time (a third of the exp opcode's time).
  int in_range = 1;
#pragma omp simd reduction(& : in_range)
  for (std::size_t i = 0; i < n; ++i) in_range &= static_cast<int>(std::fabs(x[i]) <= 708.0);
  if (in_range == 0) {
    for (std::size_t i = 0; i < n; ++i) x[i] = exp_value(x[i]);
    return;
  }
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) x[i] = exp_in_range(x[i]);
}

}  // namespace energylens
