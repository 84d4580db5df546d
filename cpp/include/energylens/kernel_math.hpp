// Row-local arithmetic shared by the expression plan (expression_plan.cpp) and the kernels generated per
// expression (energylens.model.kernel_source, compiled at run time against this installed header): the same
// integer power, exponential and logarithm, so a generated kernel's bits equal the plan's. Each value
// depends on its own row only (no block-wide choice of a libm fallback).
#pragma once

#include <cstdint>

#include "energylens/fast_exp.hpp"
#include "energylens/fast_log.hpp"

namespace energylens {

/// a^n by binary powering: |n| squarings and multiplies at most 2 log2|n|, each rounded once (a few
/// ulp in all); n < 0 powers 1/a, so a result that is representable never overflows or underflows on
/// the way. Special values as std::pow: 0^-n = inf with the sign of 0 for odd n, x^0 = 1 even for NaN.
inline double pow_int(double a, std::int32_t n) {
  const bool negative = n < 0;
  const std::uint32_t m = negative ? 0U - static_cast<std::uint32_t>(n) : static_cast<std::uint32_t>(n);
  double b = negative ? 1.0 / a : a;
  double r = 1.0;
  for (std::uint32_t e = m; e != 0; e >>= 1) {
    if ((e & 1U) != 0) r *= b;
    b *= b;
  }
  return r;
}

}  // namespace energylens
