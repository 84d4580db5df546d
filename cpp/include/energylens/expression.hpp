// A compiled expression over named feature columns and fitted constants: a postfix (stack) program
// that is evaluated over blocks of rows (one opcode at a time over a whole block, so each step is a
// SIMD loop), with forward-mode derivatives with respect to the constants, and fitted by the bounded
// Levenberg-Marquardt of least_squares.hpp. The Python side (energylens.discover.compile) turns a
// SymPy expression into this program; docs/discover.md describes the instruction set.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "energylens/least_squares.hpp"

namespace energylens {

class ValuePlan;  // expression_plan.hpp: the fused values-only form of a program

/// One operation of the stack machine. Unary operations replace the top of the stack, binary ones
/// pop b (top) and a (below) and push f(a, b).
enum class OpCode : std::uint8_t {
  Feature = 0,   ///< push column `arg` (a feature)
  Param = 1,     ///< push fitted constant `arg`
  Literal = 2,   ///< push the fixed number `value` (not fitted)
  Add = 3,       ///< a + b
  Sub = 4,       ///< a - b
  Mul = 5,       ///< a * b
  Div = 6,       ///< a / b
  Neg = 7,       ///< -a
  PowInt = 8,    ///< a ^ arg (integer exponent, any sign; a may be negative)
  Pow = 9,       ///< a ^ b (real exponent; NaN for a < 0 with a non-integer b, as std::pow)
  Exp = 10,      ///< exp(a)
  Log = 11,      ///< log(a) (NaN for a < 0, -inf at 0)
  Sqrt = 12,     ///< sqrt(a)
  Abs = 13,      ///< |a|
  Min = 14,      ///< min(a, b)
  Max = 15,      ///< max(a, b)
  Tanh = 16,     ///< tanh(a)
  Store = 17,    ///< pop a into register `arg` (a common subexpression)
  Load = 18,     ///< push register `arg` (stored earlier)
};

/// Number of opcodes (the largest value + 1).
inline constexpr int kOpCodeCount = 19;

/// Name of an opcode as the program listing prints it, e.g. "mul".
const char* to_string(OpCode op) noexcept;

/// Operands an opcode pops from the stack: 0 (Feature, Param, Literal, Load), 1 (the unary operations
/// and Store) or 2 (the binary operations).
constexpr int operand_count(OpCode op) noexcept {
  switch (op) {
    case OpCode::Feature:
    case OpCode::Param:
    case OpCode::Literal:
    case OpCode::Load: return 0;
    case OpCode::Store:
    case OpCode::Neg:
    case OpCode::PowInt:
    case OpCode::Exp:
    case OpCode::Log:
    case OpCode::Sqrt:
    case OpCode::Abs:
    case OpCode::Tanh: return 1;
    default: return 2;
  }
}

/// One instruction: the opcode, its integer argument (column, constant index or integer exponent)
/// and its literal value (Literal only).
struct Instruction {
  OpCode op = OpCode::Literal;  ///< what to do
  std::int32_t arg = 0;         ///< Feature/Param index, PowInt exponent; unused otherwise
  double value = 0.0;           ///< Literal value; unused otherwise
};

/// A validated postfix program. Construction checks every index, the stack balance (exactly one
/// value left) and that every register is stored before it is loaded; it records which constants each
/// instruction's result depends on (the Jacobian path propagates derivative rows for those only) and
/// builds the fused values-only plan (expression_plan.hpp) that evaluations without a Jacobian run.
class ExpressionProgram {
 public:
  /// Validates `code` against `n_features` columns and `n_params` constants; throws
  /// std::invalid_argument naming the instruction (position and opcode) that is wrong.
  ExpressionProgram(std::vector<Instruction> code, std::size_t n_features, std::size_t n_params);

  /// Number of feature columns the program reads.
  std::size_t n_features() const noexcept { return n_features_; }
  /// Number of fitted constants.
  std::size_t n_params() const noexcept { return n_params_; }
  /// The instructions.
  const std::vector<Instruction>& code() const noexcept { return code_; }
  /// The deepest the stack gets.
  std::size_t max_depth() const noexcept { return max_depth_; }
  /// Registers (common subexpressions) the program stores.
  std::size_t n_registers() const noexcept { return n_registers_; }
  /// The fused values-only plan (expression_plan.hpp) evaluations without a Jacobian run.
  const ValuePlan& plan() const noexcept { return *plan_; }

  /// Values for `rows` rows: out[i] = f(columns[*][i]; params). With `jacobian` non-null also
  /// d out[i] / d params[j] into jacobian[j * rows + i] (parameter-major, as least_squares.hpp).
  /// `broadcast` bit k set: column k holds one value for every row. Rows are processed in blocks
  /// (1024 values only, through the fused plan; 256 with the Jacobian, through the program), up to four
  /// blocks per chunk of parallel.hpp's run_chunks when `parallel`, on threads_for(rows, ...) threads.
  void evaluate(std::size_t rows, const double* const* columns, const double* params, double* out,
                double* jacobian = nullptr, std::uint64_t broadcast = 0, bool parallel = true) const;

 private:
  struct JacobianScratch;
  void evaluate_block(std::size_t begin, std::size_t count, const double* const* columns, const double* params,
                      double* out, double* jacobian, std::size_t rows, std::uint64_t broadcast,
                      JacobianScratch& scratch) const;
  void constant_sets();
  struct ValueScratch;
  void values_rows(ValueScratch& v, std::size_t begin, std::size_t count, const double* const* columns, double* out,
                   std::uint64_t broadcast, const double* scalars, std::size_t next_count) const;

  std::vector<Instruction> code_;
  std::size_t n_features_ = 0;
  std::size_t n_params_ = 0;
  std::size_t max_depth_ = 0;
  std::size_t n_registers_ = 0;
  std::vector<std::size_t> set_begin_;       // per instruction: where its constant set starts in set_index_
  std::vector<std::uint32_t> set_index_;     // the constants each result depends on, sorted, concatenated
  std::vector<std::uint8_t> set_role_;       // per entry of a binary operation: 1 first operand, 2 second, 3 both
  std::shared_ptr<const ValuePlan> plan_;     // the fused values-only plan (shared by copies)
};

/// How a prediction p is compared with a measurement y in the fit.
enum class ExpressionResidual {
  Absolute = 0,  ///< r = p - y (targets of any sign, e.g. log-residuals)
  Relative = 1,  ///< r = p / y - 1
  Log = 2,       ///< r = log p - log y (p <= 0 gives a non-finite cost, which the fitter rejects)
};

/// The outcome of an expression fit: the fitter's result plus the starts tried.
struct ExpressionFitResult {
  FitResult best;               ///< the lowest-cost start's result
  int starts = 0;               ///< starts tried
  int starts_converged = 0;     ///< starts whose fit converged
  int best_start = 0;           ///< which start `best` came from (0: `start` itself, unshifted)
};

/// Fits the program's constants to `target` (rows entries, all finite; Relative/Log need y > 0)
/// from `start`, within [lower, upper], with `n_starts` starts (the first is `start`, the others
/// multiply each constant by exp(spread * N(0,1)) from a generator seeded with `seed`; a constant no row depends
/// on ends at its value in `start`: restore_unseen_starts). Single
/// threaded (call it from parallel code freely). Throws std::invalid_argument on inconsistent sizes, and
/// FitCancelled at its next residual evaluation once `cancel` (when given) reads true.
ExpressionFitResult fit_expression(const ExpressionProgram& program, std::size_t rows, const double* const* columns,
                                   std::span<const double> target, ExpressionResidual residual,
                                   std::span<const double> start, std::span<const double> lower,
                                   std::span<const double> upper, const LeastSquaresOptions& options,
                                   int n_starts = 1, double spread = 0.5, std::uint64_t seed = 0,
                                   const std::atomic<bool>* cancel = nullptr);

/// `replicates` refits on rows drawn with replacement (replicate b seeded with seed * 1000003 + b),
/// each from `start`, in parallel over replicates. Returns parameters (replicates x n_params,
/// row-major) and fills `converged` (one entry per replicate). Once `cancel` (when given) reads true it
/// throws FitCancelled: the replicates in flight stop at their next residual evaluation (at 1e6 rows one
/// refit is seconds), those not started are skipped. `done` (when given) gets 1 per finished replicate
/// (its caller's progress).
std::vector<double> bootstrap_expression(const ExpressionProgram& program, std::size_t rows,
                                         const double* const* columns, std::span<const double> target,
                                         ExpressionResidual residual, std::span<const double> start,
                                         std::span<const double> lower, std::span<const double> upper,
                                         const LeastSquaresOptions& options, int replicates, std::uint64_t seed,
                                         std::vector<std::uint8_t>& converged,
                                         const std::atomic<bool>* cancel = nullptr,
                                         std::atomic<std::size_t>* done = nullptr);

}  // namespace energylens
