// The values-only evaluation plan of an expression program (expression.hpp), and the element-wise
// kernels both evaluation paths share. The postfix program runs one opcode per pass over a block, so a
// formula of the template's size makes ~100 passes per row, each loading two operands and storing one.
// The plan fuses the program's arithmetic: a sum of products and quotients of columns and intermediate
// values (a*x*y/(z*w) + b*u*u + c, with the constant parts a, b, c computed once per evaluation) is one
// step that keeps its partial products and sums in vector registers over a tile of rows and stores
// once. What is left as separate steps are the values used more than once (except products of up to
// three factors, which each reader recomputes), sums nested inside products, and the functions (exp,
// log, sqrt, pow, ...): 29 steps for the template's energy formula. The plan is built once, with the
// program; the Jacobian path (expression.cpp) runs the program as it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "energylens/expression.hpp"
#include "energylens/kernel_math.hpp"

namespace energylens {

/// d[i] = f(a[i]) for a unary opcode (Neg, PowInt with exponent n, Exp, Log, Sqrt, Abs, Tanh); d may be a.
void unary_to(OpCode op, std::int32_t n, const double* a, double* d, std::size_t k);
/// d[i] = f(a[i], b[i]) for a binary opcode (Add, Sub, Mul, Div, Pow, Min, Max); d may be a or b.
void binary_bb(OpCode op, double* d, const double* a, const double* b, std::size_t k);
/// d[i] = f(a[i], b) (b one value for every row).
void binary_bv(OpCode op, double* d, const double* a, double b, std::size_t k);
/// d[i] = f(a, b[i]) (a one value for every row).
void binary_vb(OpCode op, double* d, double a, const double* b, std::size_t k);
/// f(a, b) for one pair.
double binary_scalar(OpCode op, double a, double b);

/// Rows a later block reads: `n_lines` cache lines from each of the `n_columns` pointers (a null
/// pointer is skipped: a column with one value for every row).
struct PrefetchRange {
  const double* const* columns = nullptr;  ///< first row of each column
  std::size_t n_columns = 0;               ///< number of pointers
  std::size_t n_lines = 0;                 ///< 64-byte lines per column
};

/// The fused values-only form of a validated program. Operands of block steps are slots: slot s <
/// n_features is column s, the next n_buffers slots are the plan's block buffers, and the last is the
/// output. Scalars (constants and everything computed from constants only) are computed once per
/// evaluation by scalars().
class ValuePlan {
 public:
  /// Rows of the widest vector tile: run_block() on a multiple of it runs no row on the scalar path.
  static constexpr std::size_t kTileRows = 64;

  /// Builds the plan of `code` (already validated by ExpressionProgram) over `n_features` columns.
  ValuePlan(const std::vector<Instruction>& code, std::size_t n_features);

  /// Number of scalar values the plan computes per evaluation.
  std::size_t n_scalars() const noexcept { return scalar_steps_.size(); }
  /// Number of block buffers (rows of `block` values each) run_block() needs.
  std::size_t n_buffers() const noexcept { return n_buffers_; }
  /// Block steps per block of rows (for the docs and tests: the passes a row makes).
  std::size_t n_steps() const noexcept { return steps_.size(); }

  /// One line per step, e.g. "b3 = s7 + s2*c0*c4^2/(b1) + s9*b2" (c: column, b: buffer, s: scalar), or
  /// "b0 = exp(s0 + s1*c0)" for a sum step that applies a function to its result.
  std::string listing() const;

  /// Fills `out` (n_scalars() values) from the constants `params`.
  void scalars(const double* params, double* out) const;

  /// Rows [0, k) of one block: `slots` holds one pointer per slot (columns already offset to the
  /// block, then the buffers and the output), `buffers` the same buffers and output, writable (slot
  /// n_features() + i is buffers[i]); `scalars` what scalars() computed; `factor_ptrs` scratch of
  /// n_factors() entries (each product's operands, resolved once per block). Buffers hold >= k values.
  /// `next` (optional): the rows the following block will read, asked into L2 a slice before each step.
  void run_block(const double* const* slots, double* const* buffers, const double* scalars,
                 const double** factor_ptrs, std::size_t k, const PrefetchRange* next = nullptr) const;

  /// Number of product factors over all steps (the size of run_block()'s scratch).
  std::size_t n_factors() const noexcept { return factors_.size(); }

  /// Number of feature columns (the first slots).
  std::size_t n_features() const noexcept { return n_features_; }

  /// The slot of the output.
  std::size_t output_slot() const noexcept { return n_features_ + n_buffers_; }

  /// One factor of a product: slot, raised to `power` (1..4).
  struct FactorView {
    std::uint32_t slot = 0;   ///< operand slot
    std::uint32_t power = 1;  ///< 1..4
  };
  /// coef * prod(num factors) / prod(den factors); factors [begin, begin + n_num + n_den), numerator first.
  struct TermView {
    std::uint32_t coef = 0;   ///< scalar index
    std::uint32_t begin = 0;  ///< first factor
    std::uint32_t n_num = 0;  ///< numerator factors
    std::uint32_t n_den = 0;  ///< denominator factors
  };

  /// What a step does (see Step).
  enum class StepKind : std::uint8_t { Sum, Unary, Binary, Fill };
  /// One pass over the block: Sum (addend + terms), Unary / Binary (an opcode; a scalar operand is
  /// flagged), Fill (the output is one scalar, or a copy of a column).
  struct Step {
    StepKind kind = StepKind::Sum;  ///< what the step does
    OpCode op = OpCode::Add;                  ///< Unary / Binary: the opcode
    std::int32_t arg = 0;                     ///< Unary PowInt: the exponent
    std::uint32_t dst = 0;                    ///< slot written (a buffer, or output_slot())
    std::uint32_t a = 0, b = 0;               ///< operand slots (or scalar indices when flagged)
    bool a_scalar = false, b_scalar = false;  ///< Binary/Fill: the operand is a scalar
    std::uint32_t addend = 0;                 ///< Sum: scalar index
    std::uint32_t term_begin = 0, term_end = 0;  ///< Sum: its terms, [term_begin, term_end) of terms()
    OpCode post = OpCode::Literal;            ///< Sum: exp, log or sqrt applied to the result; Literal: none
  };
  /// The steps in order (for code generators: energylens.model.kernel_source turns them into a kernel).
  const std::vector<Step>& steps() const noexcept { return steps_; }
  /// The product terms of the Sum steps (Step::term_begin..term_end index them).
  const std::vector<TermView>& terms() const noexcept { return terms_; }
  /// The factors of the terms (TermView::begin indexes them).
  const std::vector<FactorView>& factors() const noexcept { return factors_; }
  /// FNV-1a 64 of listing() and of every scalar step (operation, operands, literal value): a generated
  /// kernel carries it, and is refused for any other plan.
  std::uint64_t fingerprint() const;
  /// The scalars that are fixed numbers (Literal steps: not fitted), as (scalar index, value): a
  /// generated kernel may fold them (a coefficient 1 or a constant part -0 are exact no-ops).
  std::vector<std::pair<std::uint32_t, double>> literal_scalars() const;

 private:
  struct Node;
  struct Builder;
  /// A scalar computed per evaluation: op over earlier scalars a, b (Param: params[arg]; Literal: value).
  struct ScalarStep {
    OpCode op = OpCode::Literal;
    std::int32_t arg = 0;
    double value = 0.0;
    std::uint32_t a = 0, b = 0;
  };

  std::size_t n_features_ = 0;
  std::size_t n_buffers_ = 0;
  std::vector<Step> steps_;
  std::vector<TermView> terms_;
  std::vector<FactorView> factors_;
  std::vector<ScalarStep> scalar_steps_;
};

}  // namespace energylens
