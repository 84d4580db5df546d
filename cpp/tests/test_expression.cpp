// C++ unit tests of the expression engine: values and forward-mode derivatives against a hand-written
// formula and central differences (both evaluation paths, with a stored common subexpression), the
// vectorised exp against std::exp (row-local outside its range), the native refit, the program validation,
// the plan's fingerprint and the refusal of a generated kernel that does not load.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "energylens/expression.hpp"
#include "energylens/expression_kernel.hpp"
#include "energylens/expression_plan.hpp"
#include "energylens/parallel.hpp"
#include "energylens/fast_exp.hpp"

namespace {

using energylens::ExpressionProgram;
using energylens::Instruction;
using energylens::OpCode;

// f(x, z; c) = c0 * s^2 + exp(c1 * x) / (z + c2) with s = x * z stored in register 0 and loaded twice.
ExpressionProgram program() {
  std::vector<Instruction> code = {
      {OpCode::Feature, 0, 0.0}, {OpCode::Feature, 1, 0.0}, {OpCode::Mul, 0, 0.0}, {OpCode::Store, 0, 0.0},
      {OpCode::Param, 0, 0.0},   {OpCode::Load, 0, 0.0},    {OpCode::Load, 0, 0.0}, {OpCode::Mul, 0, 0.0},
      {OpCode::Mul, 0, 0.0},     {OpCode::Param, 1, 0.0},   {OpCode::Feature, 0, 0.0}, {OpCode::Mul, 0, 0.0},
      {OpCode::Exp, 0, 0.0},     {OpCode::Feature, 1, 0.0}, {OpCode::Param, 2, 0.0}, {OpCode::Add, 0, 0.0},
      {OpCode::Div, 0, 0.0},     {OpCode::Add, 0, 0.0}};
  return ExpressionProgram(code, 2, 3);
}

double reference(double x, double z, const double* c) {
  const double s = x * z;
  return c[0] * s * s + std::exp(c[1] * x) / (z + c[2]);
}

void test_values_and_jacobian() {
  const ExpressionProgram p = program();
  CHECK(p.n_registers() == 1);
  const std::size_t n = 3000;  // several blocks of both paths, and a partial one
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0.1, 3.0);
  std::vector<double> x(n), z(n), out(n), out2(n), jac(3 * n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = u(rng);
    z[i] = u(rng);
  }
  const double* cols[] = {x.data(), z.data()};
  const double c[] = {0.7, -0.4, 1.3};
  p.evaluate(n, cols, c, out.data());
  p.evaluate(n, cols, c, out2.data(), jac.data());
  int bad_value = 0, bad_jac = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double ref = reference(x[i], z[i], c);
    if (std::abs(out[i] - ref) > 1e-13 * std::abs(ref) || std::abs(out2[i] - ref) > 1e-13 * std::abs(ref)) ++bad_value;
    for (std::size_t j = 0; j < 3; ++j) {
      double up[] = {c[0], c[1], c[2]}, dn[] = {c[0], c[1], c[2]};
      const double h = 1e-6;
      up[j] += h;
      dn[j] -= h;
      const double fd = (reference(x[i], z[i], up) - reference(x[i], z[i], dn)) / (2 * h);
      if (std::abs(jac[j * n + i] - fd) > 1e-6 * (1.0 + std::abs(fd))) ++bad_jac;
    }
  }
  CHECK(bad_value == 0);
  CHECK(bad_jac == 0);
}

// Register reuse: r0 = x is stored, loaded, stored again with x^-3 (the old value still on the stack),
// a dead store (r1, never loaded), then f = (x + 2) * x^-3 + x^-3 * c0 + x^5 with integer powers by
// multiplication. Checks both paths against std::pow, including a negative base, zero and NaN.
void test_register_reuse_and_integer_powers() {
  const std::vector<Instruction> code = {
      {OpCode::Feature, 0, 0.0}, {OpCode::Store, 0, 0.0},   {OpCode::Load, 0, 0.0},   {OpCode::Literal, 0, 2.0},
      {OpCode::Add, 0, 0.0},     {OpCode::Load, 0, 0.0},    {OpCode::PowInt, -3, 0.0}, {OpCode::Store, 0, 0.0},
      {OpCode::Feature, 0, 0.0}, {OpCode::Store, 1, 0.0},   {OpCode::Load, 0, 0.0},   {OpCode::Mul, 0, 0.0},
      {OpCode::Load, 0, 0.0},    {OpCode::Param, 0, 0.0},   {OpCode::Mul, 0, 0.0},    {OpCode::Add, 0, 0.0},
      {OpCode::Feature, 0, 0.0}, {OpCode::PowInt, 5, 0.0},  {OpCode::Add, 0, 0.0}};
  const ExpressionProgram p(code, 1, 1);
  const std::size_t n = 2053;  // two full blocks of the values path and a partial one
  std::vector<double> x(n), out(n), out2(n), jac(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = -3.0 + 6.0 * static_cast<double>(i) / static_cast<double>(n);
  x[7] = 0.0;
  x[8] = -0.0;
  x[9] = NAN;
  x[10] = 1e-70;  // x^-3 = 1e210 and x^5 = 1e-350 (underflow to zero), as std::pow
  const double* cols[] = {x.data()};
  const double c0 = 0.5;
  p.evaluate(n, cols, &c0, out.data());
  p.evaluate(n, cols, &c0, out2.data(), jac.data());
  int bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double inv3 = std::pow(x[i], -3.0);
    const double ref = (x[i] + 2.0) * inv3 + inv3 * c0 + std::pow(x[i], 5.0);
    const bool same = std::isnan(ref) ? std::isnan(out[i]) && std::isnan(out2[i])
                                      : (std::isinf(ref) ? out[i] == ref && out2[i] == ref
                                                         : std::abs(out[i] - ref) <= 1e-14 * std::abs(ref) &&
                                                               std::abs(out2[i] - ref) <= 1e-14 * std::abs(ref));
    const bool jac_ok = std::isnan(inv3) ? std::isnan(jac[i]) : (jac[i] == inv3 || std::abs(jac[i] - inv3) <= 1e-14 * std::abs(inv3));
    if (!same || !jac_ok) ++bad;
  }
  CHECK(bad == 0);
}

void test_fast_exp() {
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(-708.0, 708.0);
  int worse_than_1ulp = 0;
  for (int i = 0; i < 200000; ++i) {
    const double x = i < 100000 ? u(rng) : u(rng) / 700.0;
    const double got = energylens::exp_in_range(x), ref = std::exp(x);
    if (std::abs(got - ref) > std::abs(std::nextafter(ref, INFINITY) - ref)) ++worse_than_1ulp;
  }
  CHECK(worse_than_1ulp == 0);
  std::vector<double> v = {-800.0, 0.0, 1.0, 710.0, NAN};
  energylens::exp_in_place(v.size(), v.data());  // out-of-range block: std::exp semantics
  CHECK(v[0] == 0.0 && v[1] == 1.0 && std::isinf(v[3]) && std::isnan(v[4]));
}

void test_fit() {
  const ExpressionProgram p = program();
  const std::size_t n = 50;
  std::vector<double> x(n), z(n), y(n);
  const double truth[] = {0.5, 0.3, 2.0};
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = 0.2 + 0.05 * static_cast<double>(i);
    z[i] = 1.0 + 0.03 * static_cast<double>(i % 7);
    y[i] = reference(x[i], z[i], truth);
  }
  const double* cols[] = {x.data(), z.data()};
  const std::vector<double> start = {1.0, 0.1, 1.0}, lo(3, -10.0), hi(3, 10.0);
  const auto r = energylens::fit_expression(p, n, cols, y, energylens::ExpressionResidual::Log, start, lo, hi, {});
  CHECK(r.best.converged);
  for (std::size_t j = 0; j < 3; ++j) CHECK(std::abs(r.best.params[j] - truth[j]) < 1e-6);
}

void test_validation() {
  auto throws = [](std::vector<Instruction> code, std::size_t f, std::size_t p) {
    try {
      ExpressionProgram prog(std::move(code), f, p);
    } catch (const std::invalid_argument&) {
      return true;
    }
    return false;
  };
  CHECK(throws({{OpCode::Feature, 0, 0.0}, {OpCode::Feature, 0, 0.0}}, 1, 0));  // two values left
  CHECK(throws({{OpCode::Add, 0, 0.0}}, 1, 0));                                  // no operands
  CHECK(throws({{OpCode::Param, 2, 0.0}}, 1, 2));                                // constant out of range
  CHECK(throws({{OpCode::Load, 0, 0.0}}, 1, 0));                                 // load before store
  CHECK(throws({{OpCode::Literal, 0, INFINITY}}, 0, 0));                          // non-finite literal
  CHECK(!throws({{OpCode::Literal, 0, 2.0}}, 0, 0));
}

}  // namespace

// The fused values-only plan: f = c0 * x^3 * s / (z + 1) - s + 2 with s = x * z stored and loaded twice
// (a cheap product: recomputed by each reader) is two passes (z + 1, then the sum), gives the formula
// within a few ulp at every ISA level, and the same bits at each; the rows (1000 + 7) end in a partial
// tile.
void test_fused_plan() {
  using energylens::Isa;
  std::vector<Instruction> code = {
      {OpCode::Feature, 0, 0.0}, {OpCode::Feature, 1, 0.0}, {OpCode::Mul, 0, 0.0},    {OpCode::Store, 0, 0.0},
      {OpCode::Param, 0, 0.0},   {OpCode::Feature, 0, 0.0}, {OpCode::PowInt, 3, 0.0}, {OpCode::Mul, 0, 0.0},
      {OpCode::Load, 0, 0.0},    {OpCode::Mul, 0, 0.0},     {OpCode::Feature, 1, 0.0}, {OpCode::Literal, 0, 1.0},
      {OpCode::Add, 0, 0.0},     {OpCode::Div, 0, 0.0},     {OpCode::Load, 0, 0.0},    {OpCode::Sub, 0, 0.0},
      {OpCode::Literal, 0, 2.0}, {OpCode::Add, 0, 0.0}};
  const ExpressionProgram p(code, 2, 1);
  CHECK(p.plan().n_steps() == 2);
  const std::size_t n = 1007;
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-3.0, 3.0);
  std::vector<double> x(n), z(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = u(rng), z[i] = u(rng);
  x[5] = -0.0, z[5] = 2.0;  // -0 in a vector tile
  const double c0 = 1.75;
  const double* cols[] = {x.data(), z.data()};
  const Isa before = energylens::active_isa();
  std::vector<double> first;
  for (const Isa isa : energylens::supported_isas()) {
    energylens::set_isa(isa);
    std::vector<double> out(n);
    p.evaluate(n, cols, &c0, out.data());
    for (std::size_t i = 0; i < n; ++i) {
      const double s = x[i] * z[i];
      const double want = c0 * x[i] * x[i] * x[i] * s / (z[i] + 1.0) - s + 2.0;
      CHECK(std::abs(out[i] - want) <= 1e-13 * (1.0 + std::abs(want)));
    }
    if (first.empty()) first = out;
    for (std::size_t i = 0; i < n; ++i) CHECK(out[i] == first[i]);
  }
  energylens::set_isa(before);
  // The last partial tile runs in place over the rows before it: the same bits as those rows of a
  // longer evaluation (whole tiles only). Written over its own input column, it takes the padded copy.
  std::vector<double> lx(x), lz(z);
  lx.resize(n + 17, 1.0), lz.resize(n + 17, 1.0);
  const double* lcols[] = {lx.data(), lz.data()};
  std::vector<double> longer(n + 17), out(n);
  p.evaluate(n + 17, lcols, &c0, longer.data());
  p.evaluate(n, cols, &c0, out.data());
  std::vector<double> own(x);
  const double* own_cols[] = {own.data(), z.data()};
  p.evaluate(n, own_cols, &c0, own.data());
  for (std::size_t i = 0; i < n; ++i) {
    CHECK(std::memcmp(&out[i], &longer[i], sizeof(double)) == 0);
    CHECK(std::memcmp(&own[i], &out[i], sizeof(double)) == 0);
  }
}

// exp_value / log_value: each value on its own (no block-wide libm fallback), and a block holding an
// out-of-range value gives its in-range rows the same bits as alone.
void test_row_local_exp_and_fingerprint() {
  std::vector<double> v = {0.5, 800.0, -1.25, NAN};
  energylens::exp_in_place(v.size(), v.data());
  CHECK(v[0] == energylens::exp_in_range(0.5) && v[2] == energylens::exp_in_range(-1.25) && std::isinf(v[1]) &&
        std::isnan(v[3]));
  CHECK(energylens::log_value(2.0) == energylens::log_positive_normal(2.0) && std::isnan(energylens::log_value(-1.0)));
  // The fingerprint covers literal values, which the listing does not show.
  auto with_literal = [](double value) {
    return ExpressionProgram({{OpCode::Feature, 0, 0.0}, {OpCode::Literal, 0, value}, {OpCode::Add, 0, 0.0}}, 1, 0);
  };
  CHECK(with_literal(2.0).plan().listing() == with_literal(3.0).plan().listing());
  CHECK(with_literal(2.0).plan().fingerprint() != with_literal(3.0).plan().fingerprint());
  CHECK(with_literal(2.0).plan().fingerprint() == with_literal(2.0).plan().fingerprint());
  bool threw = false;
  try {
    energylens::ExpressionKernel("/nonexistent/energylens-kernel.so", program());
  } catch (const std::runtime_error& e) {
    threw = std::strstr(e.what(), "/nonexistent/energylens-kernel.so") != nullptr;
  }
  CHECK(threw);
}

int main() {
  test_values_and_jacobian();
  test_row_local_exp_and_fingerprint();
  test_register_reuse_and_integer_powers();
  test_fast_exp();
  test_fit();
  test_validation();
  test_fused_plan();
  return energylens::testing::finish("test_expression");
}
