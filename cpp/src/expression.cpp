#include "energylens/expression.hpp"

#include "energylens/expression_plan.hpp"

#include "energylens/parallel.hpp"
#include "energylens/template_common.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>

namespace energylens {

const char* to_string(OpCode op) noexcept {
  switch (op) {
    case OpCode::Feature: return "feature";
    case OpCode::Param: return "param";
    case OpCode::Literal: return "literal";
    case OpCode::Add: return "add";
    case OpCode::Sub: return "sub";
    case OpCode::Mul: return "mul";
    case OpCode::Div: return "div";
    case OpCode::Neg: return "neg";
    case OpCode::PowInt: return "powi";
    case OpCode::Pow: return "pow";
    case OpCode::Exp: return "exp";
    case OpCode::Log: return "log";
    case OpCode::Sqrt: return "sqrt";
    case OpCode::Abs: return "abs";
    case OpCode::Min: return "min";
    case OpCode::Max: return "max";
    case OpCode::Tanh: return "tanh";
    case OpCode::Store: return "store";
    case OpCode::Load: return "load";
  }
  return "unknown";
}

namespace {

// Rows per block: each opcode runs as one SIMD loop over a block; the block's stack (values and, for
// the Jacobian, one row per constant) stays in L1/L2.
constexpr std::size_t kBlock = 256;
// Rows per block of the values-only path: its stack holds no derivative rows, so a larger block (fewer
// calls per opcode) still stays in L2.
constexpr std::size_t kValueBlock = 1024;
// Rows per thread below which a second thread does not pay (values: ~20 ns a row for a template-sized
// formula, so 16384 rows are ~0.3 ms of work against tens of microseconds to start and join a team).
constexpr std::size_t kMinRowsPerThread = 4096;
constexpr std::size_t kMinJacobianRowsPerThread = 2048;
// Blocks handed out together (the next block, whose columns are prefetched, is then the same thread's).
constexpr std::size_t kBlocksPerChunk = 4;
// Column bytes of an evaluation above which the next block's columns are prefetched while a block runs
// (below it they are in the caches after the first call; this core's L2 is 1 MiB, its L3 32 MiB).
constexpr std::size_t kPrefetchBytes = std::size_t{4} << 20;

std::string where(std::size_t pos, OpCode op) {
  return "instruction " + std::to_string(pos) + " (" + to_string(op) + ")";
}

ENERGYLENS_CLONES void unary_values(OpCode op, std::int32_t n, const double* a, double* v, double* d, std::size_t k) {
  switch (op) {
    case OpCode::Neg:
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) { v[i] = -a[i]; d[i] = -1.0; }
      return;
    case OpCode::PowInt:
      if (n == 2) {
#pragma omp simd
        for (std::size_t i = 0; i < k; ++i) { v[i] = a[i] * a[i]; d[i] = 2.0 * a[i]; }
      } else if (n == 1) {
#pragma omp simd
        for (std::size_t i = 0; i < k; ++i) { v[i] = a[i]; d[i] = 1.0; }
      } else if (n == -1) {
#pragma omp simd
        for (std::size_t i = 0; i < k; ++i) { v[i] = 1.0 / a[i]; d[i] = -v[i] * v[i]; }
      } else if (n == 0) {
#pragma omp simd
        for (std::size_t i = 0; i < k; ++i) { v[i] = 1.0; d[i] = 0.0; }
      } else {
        const double e = static_cast<double>(n);
#pragma omp simd
        for (std::size_t i = 0; i < k; ++i) {
          v[i] = pow_int(a[i], n);
          d[i] = e * pow_int(a[i], n - 1);  // not v / a: exact at a = 0
        }
      }
      return;
    case OpCode::Exp:
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) { v[i] = std::exp(a[i]); d[i] = v[i]; }
      return;
    case OpCode::Log:
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) { v[i] = std::log(a[i]); d[i] = 1.0 / a[i]; }
      return;
    case OpCode::Sqrt:
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) { v[i] = std::sqrt(a[i]); d[i] = 0.5 / v[i]; }
      return;
    case OpCode::Abs:
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) {
        v[i] = std::abs(a[i]);
        d[i] = a[i] > 0.0 ? 1.0 : (a[i] < 0.0 ? -1.0 : 0.0);
      }
      return;
    case OpCode::Tanh:
      for (std::size_t i = 0; i < k; ++i) { v[i] = std::tanh(a[i]); d[i] = 1.0 - v[i] * v[i]; }
      return;
    default: return;
  }
}

// v = f(a, b) and, when `derivs`, c1 = df/da and c2 = df/db (except Mul, whose derivatives are b and a).
ENERGYLENS_CLONES void binary_values(OpCode op, const double* a, const double* b, double* v, double* c1, double* c2,
                                     std::size_t k, bool derivs) {
  switch (op) {
    case OpCode::Add:
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) v[i] = a[i] + b[i];
      return;
    case OpCode::Sub:
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) v[i] = a[i] - b[i];
      return;
    case OpCode::Mul:
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) v[i] = a[i] * b[i];
      return;  // df/da = b, df/db = a: the caller reads the operands

    case OpCode::Div:
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) v[i] = a[i] / b[i];
      if (derivs) {
#pragma omp simd
        for (std::size_t i = 0; i < k; ++i) { c1[i] = 1.0 / b[i]; c2[i] = -v[i] / b[i]; }
      }
      return;
    case OpCode::Pow:
      for (std::size_t i = 0; i < k; ++i) v[i] = std::pow(a[i], b[i]);
      if (derivs) {
        for (std::size_t i = 0; i < k; ++i) {
          c1[i] = b[i] == 0.0 ? 0.0 : b[i] * std::pow(a[i], b[i] - 1.0);
          c2[i] = v[i] == 0.0 ? 0.0 : v[i] * std::log(a[i]);
        }
      }
      return;
    case OpCode::Min:
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) {
        const bool left = a[i] <= b[i] || a[i] != a[i];  // NaN in either operand gives NaN (as NumPy)
        v[i] = left ? a[i] : b[i];
        c1[i] = left ? 1.0 : 0.0;
        c2[i] = left ? 0.0 : 1.0;
      }
      return;
    case OpCode::Max:
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) {
        const bool left = a[i] >= b[i] || a[i] != a[i];
        v[i] = left ? a[i] : b[i];
        c1[i] = left ? 1.0 : 0.0;
        c2[i] = left ? 0.0 : 1.0;
      }
      return;
    default: return;
  }
}

// Derivative rows of a binary result, only for the constants either operand depends on (`js`, with
// `roles`: 1 only a depends on constant js[t], 2 only b, 3 both): ga <- c1 ga + c2 gb. Add and Sub have
// unit coefficients, so a row only a depends on is left as it is. Rows are `stride` apart.
ENERGYLENS_CLONES void binary_derivs(OpCode op, const std::uint32_t* js, const std::uint8_t* roles, std::size_t n,
                                     double* ga, const double* gb, const double* c1, const double* c2,
                                     std::size_t stride, std::size_t k) {
  const bool linear = op == OpCode::Add || op == OpCode::Sub;
  const double sign = op == OpCode::Sub ? -1.0 : 1.0;
  for (std::size_t t = 0; t < n; ++t) {
    double* x = ga + js[t] * stride;
    const double* y = gb + js[t] * stride;
    const std::uint8_t role = roles[t];
    if (linear) {
      if (role == 3) {
#pragma omp simd
        for (std::size_t i = 0; i < k; ++i) x[i] += sign * y[i];
      } else if (role == 2) {
#pragma omp simd
        for (std::size_t i = 0; i < k; ++i) x[i] = sign * y[i];
      }
    } else if (role == 3) {
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) x[i] = c1[i] * x[i] + c2[i] * y[i];
    } else if (role == 1) {
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) x[i] *= c1[i];
    } else {
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) x[i] = c2[i] * y[i];
    }
  }
}

// Derivative rows of a unary result: g[j] <- c g[j] for the constants js the operand depends on.
ENERGYLENS_CLONES void unary_derivs(const std::uint32_t* js, std::size_t n, double* g, const double* c,
                                    std::size_t stride, std::size_t k) {
  for (std::size_t t = 0; t < n; ++t) {
    double* x = g + js[t] * stride;
#pragma omp simd
    for (std::size_t i = 0; i < k; ++i) x[i] *= c[i];
  }
}

}  // namespace

ExpressionProgram::ExpressionProgram(std::vector<Instruction> code, std::size_t n_features, std::size_t n_params)
    : code_(std::move(code)), n_features_(n_features), n_params_(n_params) {
  if (code_.empty()) throw std::invalid_argument("expression program is empty");
  if (n_features > 64) throw std::invalid_argument("expression program: at most 64 feature columns");
  std::vector<std::uint8_t> dep, stored;
  for (std::size_t pos = 0; pos < code_.size(); ++pos) {
    const Instruction& in = code_[pos];
    const int op = static_cast<int>(in.op);
    if (op < 0 || op >= kOpCodeCount)
      throw std::invalid_argument("instruction " + std::to_string(pos) + " has unknown opcode " + std::to_string(op));
    if (in.op == OpCode::Feature && (in.arg < 0 || static_cast<std::size_t>(in.arg) >= n_features))
      throw std::invalid_argument(where(pos, in.op) + " reads column " + std::to_string(in.arg) + " of " +
                                  std::to_string(n_features));
    if (in.op == OpCode::Param && (in.arg < 0 || static_cast<std::size_t>(in.arg) >= n_params))
      throw std::invalid_argument(where(pos, in.op) + " reads constant " + std::to_string(in.arg) + " of " +
                                  std::to_string(n_params));
    if (in.op == OpCode::PowInt && in.arg == std::numeric_limits<std::int32_t>::min())
      throw std::invalid_argument(where(pos, in.op) + " has exponent -2^31 (|exponent| < 2^31 only)");
    if (in.op == OpCode::Literal && !std::isfinite(in.value))
      throw std::invalid_argument(where(pos, in.op) + " holds a non-finite number");
    if ((in.op == OpCode::Store || in.op == OpCode::Load) && (in.arg < 0 || in.arg >= 4096))
      throw std::invalid_argument(where(pos, in.op) + " uses register " + std::to_string(in.arg) +
                                  " (0..4095)");
    if (in.op == OpCode::Load && (static_cast<std::size_t>(in.arg) >= stored.size() || !stored[static_cast<std::size_t>(in.arg)]))
      throw std::invalid_argument(where(pos, in.op) + " loads register " + std::to_string(in.arg) +
                                  " before any store");
    if (in.op == OpCode::Store) {
      if (dep.empty()) throw std::invalid_argument(where(pos, in.op) + " needs 1 operand, the stack holds 0");
      const auto r = static_cast<std::size_t>(in.arg);
      if (r >= stored.size()) stored.resize(r + 1, 0);
      stored[r] = 1;
      dep.pop_back();
      continue;
    }
    const int a = operand_count(in.op);
    if (dep.size() < static_cast<std::size_t>(a))
      throw std::invalid_argument(where(pos, in.op) + " needs " + std::to_string(a) + " operand(s), the stack holds " +
                                  std::to_string(dep.size()));
    dep.resize(dep.size() - static_cast<std::size_t>(a));
    dep.push_back(1);
    max_depth_ = std::max(max_depth_, dep.size());
  }
  n_registers_ = stored.size();
  if (dep.size() != 1)
    throw std::invalid_argument("expression program leaves " + std::to_string(dep.size()) +
                                " values on the stack; a complete program leaves exactly one");
  constant_sets();
  plan_ = std::make_shared<const ValuePlan>(code_, n_features_);
}

void ExpressionProgram::constant_sets() {
  // The constants each instruction's result depends on (sorted), and for a binary operation which
  // operand depends on each: 1 the first, 2 the second, 3 both. Constant-free subexpressions get empty
  // sets, so the Jacobian path propagates no rows for them.
  std::vector<std::vector<std::uint32_t>> stack, regs(n_registers_);
  set_begin_.assign(1, 0);
  set_index_.clear();
  set_role_.clear();
  for (const Instruction& in : code_) {
    std::vector<std::uint32_t> result;
    std::vector<std::uint8_t> role;
    const auto r = static_cast<std::size_t>(in.arg);
    if (in.op == OpCode::Store) {
      regs[r] = std::move(stack.back());
      stack.pop_back();
      result = regs[r];
    } else if (in.op == OpCode::Load) {
      result = regs[r];
    } else if (in.op == OpCode::Param) {
      result = {static_cast<std::uint32_t>(in.arg)};
    } else if (operand_count(in.op) == 1) {
      result = std::move(stack.back());
      stack.pop_back();
    } else if (operand_count(in.op) == 2) {
      const std::vector<std::uint32_t> b = std::move(stack.back());
      stack.pop_back();
      const std::vector<std::uint32_t> a = std::move(stack.back());
      stack.pop_back();
      std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(result));
      for (const std::uint32_t j : result)
        role.push_back(static_cast<std::uint8_t>((std::binary_search(a.begin(), a.end(), j) ? 1 : 0) |
                                                 (std::binary_search(b.begin(), b.end(), j) ? 2 : 0)));
    }
    role.resize(result.size(), 0);
    set_index_.insert(set_index_.end(), result.begin(), result.end());
    set_role_.insert(set_role_.end(), role.begin(), role.end());
    set_begin_.push_back(set_index_.size());
    if (in.op != OpCode::Store) stack.push_back(std::move(result));
  }
}

// Scratch of the Jacobian path, one per thread, reused across calls.
struct ExpressionProgram::JacobianScratch {
  std::unique_ptr<double[]> data;  // uninitialised: every row is written before it is read
  std::size_t size = 0;
};

void ExpressionProgram::evaluate_block(std::size_t begin, std::size_t k, const double* const* columns,
                                       const double* params, double* out, double* jacobian, std::size_t rows,
                                       std::uint64_t broadcast, JacobianScratch& scratch) const {
  // Forward mode: each stack slot and register carries its value and one derivative row per constant
  // it depends on (the constant sets are fixed by the program, computed at construction: a term with
  // two constants propagates two rows, not n_params). Rows are `G` apart, k rounded up to whole lines.
  const std::size_t P = n_params_, R = n_registers_, D = max_depth_;
  const std::size_t G = (k + 7) & ~std::size_t{7};
  const std::size_t need = (D + R) * G * (1 + P) + 3 * G;
  if (scratch.size < need) {
    scratch.size = need;
    scratch.data = std::make_unique_for_overwrite<double[]>(need);
  }
  double* const val = scratch.data.get();
  double* const grad = val + D * G;
  double* const reg_val = grad + D * P * G;
  double* const reg_grad = reg_val + R * G;
  double* const tmp = reg_grad + R * P * G;
  double* const c1 = tmp + G;
  double* const c2 = c1 + G;
  std::size_t sp = 0;
  for (std::size_t pos = 0; pos < code_.size(); ++pos) {
    const Instruction& in = code_[pos];
    const std::uint32_t* js = set_index_.data() + set_begin_[pos];
    const std::size_t nj = set_begin_[pos + 1] - set_begin_[pos];
    switch (in.op) {
      case OpCode::Store:
      case OpCode::Load: {
        const auto r = static_cast<std::size_t>(in.arg);
        const bool store = in.op == OpCode::Store;
        if (store) --sp;
        double* sv = val + sp * G;
        double* sg = grad + sp * P * G;
        double* rv = reg_val + r * G;
        double* rg = reg_grad + r * P * G;
        std::memcpy(store ? rv : sv, store ? sv : rv, k * sizeof(double));
        for (std::size_t t = 0; t < nj; ++t)
          std::memcpy((store ? rg : sg) + js[t] * G, (store ? sg : rg) + js[t] * G, k * sizeof(double));
        if (!store) ++sp;
        break;
      }
      case OpCode::Feature: {
        double* v = val + sp++ * G;
        const auto col = static_cast<std::size_t>(in.arg);
        if ((broadcast >> col) & 1U) std::fill(v, v + k, columns[col][0]);
        else std::memcpy(v, columns[col] + begin, k * sizeof(double));
        break;
      }
      case OpCode::Param:
      case OpCode::Literal: {
        double* v = val + sp * G;
        const bool is_param = in.op == OpCode::Param;
        std::fill(v, v + k, is_param ? params[in.arg] : in.value);
        if (is_param) {
          double* g = grad + (sp * P + static_cast<std::size_t>(in.arg)) * G;
          std::fill(g, g + k, 1.0);
        }
        ++sp;
        break;
      }
      default: {
        if (operand_count(in.op) == 1) {
          double* a = val + (sp - 1) * G;
          if (nj == 0) {
            unary_to(in.op, in.arg, a, a, k);
            break;
          }
          unary_values(in.op, in.arg, a, tmp, c1, k);
          std::memcpy(a, tmp, k * sizeof(double));
          unary_derivs(js, nj, grad + (sp - 1) * P * G, c1, G, k);
          break;
        }
        double* a = val + (sp - 2) * G;
        const double* b = val + (sp - 1) * G;
        --sp;
        if (nj == 0) {
          binary_bb(in.op, a, a, b, k);
          break;
        }
        binary_values(in.op, a, b, tmp, c1, c2, k, true);
        const bool mul = in.op == OpCode::Mul;
        binary_derivs(in.op, js, set_role_.data() + set_begin_[pos], nj, grad + (sp - 1) * P * G, grad + sp * P * G,
                      mul ? b : c1, mul ? a : c2, G, k);
        std::memcpy(a, tmp, k * sizeof(double));
      }
    }
  }
  std::memcpy(out + begin, val, k * sizeof(double));
  const std::size_t last = code_.size() - 1;
  std::size_t t = set_begin_[last];
  for (std::size_t j = 0; j < P; ++j) {  // constants the result does not depend on: zero rows
    double* dst = jacobian + j * rows + begin;
    if (t < set_begin_[last + 1] && set_index_[t] == j) std::memcpy(dst, grad + j * G, k * sizeof(double)), ++t;
    else std::fill(dst, dst + k, 0.0);
  }
}

namespace {

// Whether out[0, count) shares memory with rows [begin, begin + count) of a column (an evaluation written
// over its own input): then the last tile cannot be recomputed in place.
bool overlaps_columns(const double* out, std::size_t count, const double* const* columns, std::size_t nf,
                      std::size_t begin, std::size_t rows, std::uint64_t broadcast) {
  const auto lo = reinterpret_cast<std::uintptr_t>(out), hi = lo + count * sizeof(double);
  for (std::size_t c = 0; c < nf; ++c) {
    if (((broadcast >> c) & 1U) != 0) continue;
    const auto a = reinterpret_cast<std::uintptr_t>(columns[c] + begin), b = a + rows * sizeof(double);
    if (a < hi && lo < b) return true;
  }
  return false;
}

}  // namespace

// Scratch of the values-only path, one per thread, reused across calls: the plan's block buffers, the
// slot table, and one block per broadcast column holding its value.
struct ExpressionProgram::ValueScratch {
  std::unique_ptr<double[]> pool;  // uninitialised: every buffer is written before it is read
  std::size_t pool_size = 0;
  std::vector<const double*> slots;
  std::vector<double*> buffers;
  std::vector<const double*> factors;
  std::vector<double> splat;
  std::vector<double> tail;  // a last partial tile: its columns and output, padded to a whole tile
  std::vector<const double*> next;  // the next block's columns (prefetched while this one runs)
};

// Rows [begin, begin + count) through the plan: whole vector tiles in place, and a last partial tile
// (the end of the last block) either in place over the tile before it or, below one tile or when the
// output is written over a column, on copies padded to a whole tile, so no row takes the scalar path
// (with a tile of 64 rows the scalar tail cost up to a third of a 1000-row call).
void ExpressionProgram::values_rows(ValueScratch& v, std::size_t begin, std::size_t count, const double* const* columns,
                                    double* out, std::uint64_t broadcast, const double* scalars,
                                    std::size_t next_count) const {
  const std::size_t nf = n_features_, nb = plan_->n_buffers(), tile = ValuePlan::kTileRows;
  const std::size_t whole = count - count % tile;
  if (whole > 0) {
    for (std::size_t c = 0; c < nf; ++c)
      v.slots[c] = (broadcast >> c) & 1U ? v.splat.data() + c * kValueBlock : columns[c] + begin;
    v.slots[nf + nb] = v.buffers[nb] = out + begin;
    // The next block's columns travel while this one computes: a block reads its columns at scattered
    // points of the plan, too short a run for the hardware prefetcher to pick up each time.
    PrefetchRange next;
    if (next_count > 0) {
      v.next.resize(nf);
      for (std::size_t c = 0; c < nf; ++c) v.next[c] = (broadcast >> c) & 1U ? nullptr : columns[c] + begin + count;
      next = {v.next.data(), nf, (next_count * sizeof(double) + 63) / 64};
    }
    plan_->run_block(v.slots.data(), v.buffers.data(), scalars, v.factors.data(), whole,
                     next_count > 0 ? &next : nullptr);
  }
  if (whole == count) return;
  if (whole > 0 && !overlaps_columns(out + begin, count, columns, nf, begin, count, broadcast)) {
    // The last tile overlaps the whole tiles: rows [count - tile, count), computed in place with no
    // copies of the columns (a 1000-row call copied 22 columns and padded them). The rows computed
    // again come out with the same bits (every step, exp and log included, is row-local).
    const std::size_t from = begin + count - tile;
    for (std::size_t c = 0; c < nf; ++c)
      if (((broadcast >> c) & 1U) == 0) v.slots[c] = columns[c] + from;
    v.slots[nf + nb] = v.buffers[nb] = out + from;
    plan_->run_block(v.slots.data(), v.buffers.data(), scalars, v.factors.data(), tile);
    return;
  }
  const std::size_t rest = count - whole;
  v.tail.resize((nf + 1) * tile);
  for (std::size_t c = 0; c < nf; ++c) {
    double* t = v.tail.data() + c * tile;
    if ((broadcast >> c) & 1U) {
      std::fill_n(t, tile, columns[c][0]);
    } else {
      std::memcpy(t, columns[c] + begin + whole, rest * sizeof(double));
      std::fill(t + rest, t + tile, 1.0);  // padding rows: computed, never copied out
    }
    v.slots[c] = t;
  }
  double* t_out = v.tail.data() + nf * tile;
  v.slots[nf + nb] = v.buffers[nb] = t_out;
  plan_->run_block(v.slots.data(), v.buffers.data(), scalars, v.factors.data(), tile);
  std::memcpy(out + begin + whole, t_out, rest * sizeof(double));
}

void ExpressionProgram::evaluate(std::size_t rows, const double* const* columns, const double* params, double* out,
                                 double* jacobian, std::uint64_t broadcast, bool parallel) const {
  const bool values_only = jacobian == nullptr || n_params_ == 0;
  const std::size_t block = values_only ? kValueBlock : kBlock;
  const std::size_t n_blocks = (rows + block - 1) / block;
  // One thread below 2 x kMinRowsPerThread rows (start-up and the closing barrier would cost more than
  // the work), at most max_threads() (parallel.hpp); blocks handed out on demand, a few at a time so the
  // next block (whose columns are prefetched) is usually the same thread's.
  const int threads = parallel ? threads_for(rows, values_only ? kMinRowsPerThread : kMinJacobianRowsPerThread) : 1;
  // The plan's scalars (constants and what is computed from them only), once per evaluation.
  thread_local std::vector<double> scalars;
  if (values_only) {
    scalars.resize(plan_->n_scalars());
    plan_->scalars(params, scalars.data());
  }
  const double* const sc = scalars.data();
  const std::size_t nf = n_features_, nb = plan_->n_buffers();
  // Prefetching pays where the columns come from memory; on columns that fit in the caches it only
  // costs the instructions (and the miss buffers they hold).
  const std::size_t streamed = static_cast<std::size_t>(nf - static_cast<std::size_t>(std::popcount(broadcast)));
  const bool prefetch = rows * streamed * sizeof(double) > kPrefetchBytes;
  // Blocks a few at a time on the chunk pool (parallel.hpp run_chunks): the caller never waits for a helper
  // the OS has not scheduled; scratch is per thread and reused across calls (no allocation per evaluation).
  // Up to four blocks a chunk, fewer when that leaves under eight chunks a thread: at 1e4 rows (10 blocks)
  // four a chunk made 3 chunks, split 2:1 between two threads (1.3x of one thread, not 2x).
  const std::size_t per_chunk =
      std::clamp<std::size_t>(n_blocks / (8 * static_cast<std::size_t>(threads)), 1, kBlocksPerChunk);
  const std::size_t n_chunks = (n_blocks + per_chunk - 1) / per_chunk;
  run_chunks(n_chunks, threads, [&](std::size_t chunk, int) {
    thread_local ValueScratch values;  // NOLINT: per thread, reused
    thread_local JacobianScratch derivs;
    if (values_only) {
      ValueScratch& v = values;
      if (v.pool_size < nb * kValueBlock) {
        v.pool_size = nb * kValueBlock;
        v.pool = std::make_unique_for_overwrite<double[]>(v.pool_size);
      }
      v.slots.resize(nf + nb + 1);
      v.buffers.resize(nb + 1);
      v.factors.resize(plan_->n_factors());
      for (std::size_t i = 0; i < nb; ++i) v.slots[nf + i] = v.buffers[i] = v.pool.get() + i * kValueBlock;
      if (broadcast != 0) {
        v.splat.resize(nf * kValueBlock);
        for (std::size_t c = 0; c < nf; ++c)
          if ((broadcast >> c) & 1U) std::fill_n(v.splat.data() + c * kValueBlock, kValueBlock, columns[c][0]);
      }
    }
    const std::size_t last = std::min(n_blocks, (chunk + 1) * per_chunk);
    for (std::size_t b = chunk * per_chunk; b < last; ++b) {
      const std::size_t begin = b * block;
      const std::size_t count = std::min(block, rows - begin);
      if (values_only) {
        values_rows(values, begin, count, columns, out, broadcast, sc,
                    prefetch ? std::min(block, rows - begin - count) : 0);
        if (jacobian != nullptr)  // a program without constants: an empty Jacobian
          for (std::size_t j = 0; j < n_params_; ++j) std::fill(jacobian + j * rows + begin, jacobian + j * rows + begin + count, 0.0);
      } else {
        evaluate_block(begin, count, columns, params, out, jacobian, rows, broadcast, derivs);
      }
    }
  });
}

namespace {

// The residuals (and Jacobian) of a fit; FitCancelled once `cancel` (when given) reads true, checked at each
// evaluation (1e6 rows: ~20 ms apart), so a long fit stops within a fraction of a second of its caller's signal.
ResidualFunction residual_function(const ExpressionProgram& program, std::size_t rows, const double* const* columns,
                                   std::span<const double> target, ExpressionResidual kind,
                                   std::vector<double>& pred, const std::atomic<bool>* cancel) {
  return [&program, rows, columns, target, kind, &pred, cancel](const double* theta, double* r, double* jac) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) throw FitCancelled();
    program.evaluate(rows, columns, theta, pred.data(), jac, 0, false);
    const std::size_t n = program.n_params();
    for (std::size_t i = 0; i < rows; ++i) {
      const double p = pred[i], y = target[i];
      double scale = 1.0;
      switch (kind) {
        case ExpressionResidual::Absolute: r[i] = p - y; break;
        case ExpressionResidual::Relative:
          r[i] = p / y - 1.0;
          scale = 1.0 / y;
          break;
        case ExpressionResidual::Log:
          r[i] = p > 0.0 ? std::log(p / y) : std::numeric_limits<double>::quiet_NaN();
          scale = 1.0 / p;
          break;
      }
      if (jac != nullptr && scale != 1.0)
        for (std::size_t j = 0; j < n; ++j) jac[j * rows + i] *= scale;
    }
  };
}

void check_fit_inputs(const ExpressionProgram& program, std::size_t rows, std::span<const double> target,
                      ExpressionResidual kind, std::span<const double> start) {
  if (program.n_params() == 0) throw std::invalid_argument("fit_expression: the expression has no constants to fit");
  if (rows == 0) throw std::invalid_argument("fit_expression: no rows");
  if (target.size() != rows)
    throw std::invalid_argument("fit_expression: " + std::to_string(target.size()) + " targets for " +
                                std::to_string(rows) + " rows");
  if (start.size() != program.n_params())
    throw std::invalid_argument("fit_expression: start has " + std::to_string(start.size()) + " values for " +
                                std::to_string(program.n_params()) + " constants");
  for (std::size_t i = 0; i < rows; ++i) {
    if (!std::isfinite(target[i]))
      throw std::invalid_argument("fit_expression: target row " + std::to_string(i) + " is not finite");
    if (kind != ExpressionResidual::Absolute && !(target[i] > 0.0))
      throw std::invalid_argument("fit_expression: target row " + std::to_string(i) +
                                  " is not > 0 (relative and log residuals need positive targets)");
  }
}

}  // namespace

ExpressionFitResult fit_expression(const ExpressionProgram& program, std::size_t rows, const double* const* columns,
                                   std::span<const double> target, ExpressionResidual residual,
                                   std::span<const double> start, std::span<const double> lower,
                                   std::span<const double> upper, const LeastSquaresOptions& options, int n_starts,
                                   double spread, std::uint64_t seed, const std::atomic<bool>* cancel) {
  check_fit_inputs(program, rows, target, residual, start);
  if (n_starts < 1) throw std::invalid_argument("fit_expression: n_starts must be >= 1");
  std::vector<double> pred(rows);
  const ResidualFunction fn = residual_function(program, rows, columns, target, residual, pred, cancel);
  ExpressionFitResult out;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> x0(start.begin(), start.end()), winner(x0);
  for (int s = 0; s < n_starts; ++s) {
    if (s > 0)
      for (std::size_t j = 0; j < x0.size(); ++j) {
        const double z = normal(rng);
        x0[j] = start[j] == 0.0 ? spread * z : start[j] * std::exp(spread * z);
      }
    FitResult r = levenberg_marquardt(rows, program.n_params(), fn, x0, lower, upper, options);
    ++out.starts;
    if (r.converged) ++out.starts_converged;
    const bool better = s == 0 || (std::isfinite(r.cost) && !(r.cost >= out.best.cost));
    if (better) {
      out.best = std::move(r);
      out.best_start = s;
      winner = x0;
    }
  }
  // A constant no row depends on ends at its start value, not at the winning start's random shift of it.
  // (both as the fit took them: clamped into the bounds)
  std::vector<double> first(start.begin(), start.end());
  for (std::size_t j = 0; j < first.size() && j < lower.size() && j < upper.size(); ++j) {
    first[j] = std::clamp(first[j], lower[j], upper[j]);
    winner[j] = std::clamp(winner[j], lower[j], upper[j]);
  }
  if (winner != first) restore_unseen_starts(rows, fn, first, winner, out.best.params);
  return out;
}

std::vector<double> bootstrap_expression(const ExpressionProgram& program, std::size_t rows,
                                         const double* const* columns, std::span<const double> target,
                                         ExpressionResidual residual, std::span<const double> start,
                                         std::span<const double> lower, std::span<const double> upper,
                                         const LeastSquaresOptions& options, int replicates, std::uint64_t seed,
                                         std::vector<std::uint8_t>& converged, const std::atomic<bool>* cancel,
                                         std::atomic<std::size_t>* done) {
  check_fit_inputs(program, rows, target, residual, start);
  if (replicates < 1) throw std::invalid_argument("bootstrap_expression: replicates must be >= 1");
  const std::size_t n = program.n_params(), f = program.n_features();
  const auto reps = static_cast<std::size_t>(replicates);
  std::vector<double> params(reps * n, std::numeric_limits<double>::quiet_NaN());
  converged.assign(reps, 0);
  // Replicates on the chunk pool (parallel.hpp), at most max_threads(); resampled columns per slot.
  const int threads = std::max(1, std::min(max_threads(), replicates));
  struct Resample {
    std::vector<double> cols, y;
    std::vector<const double*> ptrs;
  };
  std::vector<Resample> scratch(static_cast<std::size_t>(threads));
  for (Resample& s : scratch) {
    s.cols.resize(f * rows);
    s.y.resize(rows);
    s.ptrs.resize(f);
    for (std::size_t c = 0; c < f; ++c) s.ptrs[c] = s.cols.data() + c * rows;
  }
  run_chunks(reps, threads, [&](std::size_t b, int slot) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) throw FitCancelled();  // the rest skipped
    Resample& s = scratch[static_cast<std::size_t>(slot)];
    std::mt19937_64 rng(seed * 1000003ULL + b);
    std::uniform_int_distribution<std::size_t> pick(0, rows - 1);
    for (std::size_t i = 0; i < rows; ++i) {
      const std::size_t src = pick(rng);
      s.y[i] = target[src];
      for (std::size_t c = 0; c < f; ++c) s.cols[c * rows + i] = columns[c][src];
    }
    std::vector<double> pred(rows);
    const ResidualFunction fn = residual_function(program, rows, s.ptrs.data(), s.y, residual, pred, cancel);
    const FitResult r = levenberg_marquardt(rows, n, fn, start, lower, upper, options);
    converged[b] = r.converged ? 1 : 0;
    std::copy(r.params.begin(), r.params.end(), params.begin() + static_cast<std::ptrdiff_t>(b * n));
    if (done != nullptr) done->fetch_add(1, std::memory_order_relaxed);
  });
  return params;
}

}  // namespace energylens
