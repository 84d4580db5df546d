#include "energylens/expression_plan.hpp"

#include "energylens/kernel_math.hpp"
#include "energylens/parallel.hpp"
#include "energylens/template_common.hpp"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <utility>

namespace energylens {

namespace {

// d[i] = log_value(d[i]) (fast_log.hpp): a block of positive, normal, finite values in one vectorised
// loop (the check written as a bitwise reduction that vectorises; the short-circuit form ran one value
// at a time), any other block one value at a time, each value depending on its own row only (as the
// kernels generated per expression compute it).
inline __attribute__((always_inline)) void log_values(double* d, std::size_t k) {
  int in_range = 1;
#pragma omp simd reduction(& : in_range)
  for (std::size_t i = 0; i < k; ++i) in_range &= static_cast<int>(d[i] >= DBL_MIN) & static_cast<int>(d[i] <= DBL_MAX);
  if (in_range == 0) {
    for (std::size_t i = 0; i < k; ++i) d[i] = log_value(d[i]);
    return;
  }
#pragma omp simd
  for (std::size_t i = 0; i < k; ++i) d[i] = log_positive_normal(d[i]);
}

}  // namespace

// Values only (no Jacobian): d <- f(a), where d may be a (in place).
ENERGYLENS_CLONES void unary_to(OpCode op, std::int32_t n, const double* a, double* d, std::size_t k) {
  switch (op) {
    case OpCode::Neg:
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) d[i] = -a[i];
      return;
    case OpCode::PowInt: {
      if (n == 2) {
#pragma omp simd
        for (std::size_t i = 0; i < k; ++i) d[i] = a[i] * a[i];
        return;
      }
      if (n == -1) {
#pragma omp simd
        for (std::size_t i = 0; i < k; ++i) d[i] = 1.0 / a[i];
        return;
      }
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) d[i] = pow_int(a[i], n);
      return;
    }
    case OpCode::Exp:
      if (d != a) std::memcpy(d, a, k * sizeof(double));
      exp_in_place(k, d);
      return;
    case OpCode::Log:
      if (d != a) std::memcpy(d, a, k * sizeof(double));
      log_values(d, k);
      return;
    case OpCode::Sqrt:
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) d[i] = std::sqrt(a[i]);
      return;
    case OpCode::Abs:
#pragma omp simd
      for (std::size_t i = 0; i < k; ++i) d[i] = std::abs(a[i]);
      return;
    case OpCode::Tanh:
      for (std::size_t i = 0; i < k; ++i) d[i] = std::tanh(a[i]);
      return;
    default: return;
  }
}

// Values only, three-address: d <- f(A, B), where each operand is a block (x[i]) or one value (x). Three
// functions (block-block, block-value, value-block) so every loop vectorises (a runtime stride would not).
#define ENERGYLENS_BINARY(A, B)                                                                  \
  switch (op) {                                                                                  \
    case OpCode::Add:                                                                            \
      _Pragma("omp simd") for (std::size_t i = 0; i < k; ++i) d[i] = A + B;                      \
      return;                                                                                    \
    case OpCode::Sub:                                                                            \
      _Pragma("omp simd") for (std::size_t i = 0; i < k; ++i) d[i] = A - B;                      \
      return;                                                                                    \
    case OpCode::Mul:                                                                            \
      _Pragma("omp simd") for (std::size_t i = 0; i < k; ++i) d[i] = A * B;                      \
      return;                                                                                    \
    case OpCode::Div:                                                                            \
      _Pragma("omp simd") for (std::size_t i = 0; i < k; ++i) d[i] = A / B;                      \
      return;                                                                                    \
    case OpCode::Pow:                                                                            \
      for (std::size_t i = 0; i < k; ++i) d[i] = std::pow(A, B);                                 \
      return;                                                                                    \
    case OpCode::Min:                                                                            \
      _Pragma("omp simd") for (std::size_t i = 0; i < k; ++i) d[i] = (A <= B || A != A) ? A : B; \
      return;                                                                                    \
    case OpCode::Max:                                                                            \
      _Pragma("omp simd") for (std::size_t i = 0; i < k; ++i) d[i] = (A >= B || A != A) ? A : B; \
      return;                                                                                    \
    default: return;                                                                             \
  }

ENERGYLENS_CLONES void binary_bb(OpCode op, double* d, const double* a, const double* b, std::size_t k) {
  ENERGYLENS_BINARY(a[i], b[i])
}

ENERGYLENS_CLONES void binary_bv(OpCode op, double* d, const double* a, double b, std::size_t k) {
  ENERGYLENS_BINARY(a[i], b)
}

ENERGYLENS_CLONES void binary_vb(OpCode op, double* d, double a, const double* b, std::size_t k) {
  ENERGYLENS_BINARY(a, b[i])
}

#undef ENERGYLENS_BINARY

double binary_scalar(OpCode op, double a, double b) {
  double d = 0.0;
  binary_bb(op, &d, &a, &b, 1);
  return d;
}

// ---- The fused sum-of-products step -------------------------------------------------------------------
namespace {

using Factor = ValuePlan::FactorView;
using Term = ValuePlan::TermView;

#if defined(__GNUC__) || defined(__clang__)
// Vectors pass by value only between always_inline functions of this file (internal linkage), so the
// calling convention GCC warns about is never used (to the end of the file: GCC reports it where the
// templates are instantiated, at the end of the translation unit).
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

// x^p for the factor powers the plan folds (1..4), rounded as pow_int (x*(x*x) for 3, (x*x)*(x*x) for 4).
template <typename V>
inline __attribute__((always_inline)) V power_of(V x, std::uint32_t p) {
  if (p == 1) return x;
  const V s = x * x;
  if (p == 2) return s;
  return p == 3 ? x * s : s * s;
}

// One row at a time: the tail of a block, and the whole block where vector types are not available.
void sum_rows(const Term* terms, std::size_t n_terms, const Factor* factors, const double* const* fp,
              const double* scalars, double addend, double* d, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    double acc = addend;
    for (std::size_t t = 0; t < n_terms; ++t) {
      const Term& term = terms[t];
      const Factor* f = factors + term.begin;
      const double* const* x = fp + term.begin;
      double p = scalars[term.coef];
      for (std::uint32_t u = 0; u < term.n_num; ++u) p *= power_of(x[u][i], f[u].power);
      if (term.n_den > 0) {
        f += term.n_num;
        x += term.n_num;
        double q = power_of(x[0][i], f[0].power);
        for (std::uint32_t u = 1; u < term.n_den; ++u) q *= power_of(x[u][i], f[u].power);
        p /= q;
      }
      acc = t == 0 ? addend + p : acc + p;
    }
    d[i] = acc;
  }
}

#if defined(__GNUC__) || defined(__clang__)
#define ENERGYLENS_PLAN_VECTORS 1
// GCC/Clang generic vectors of the ISA's native width: 8 doubles (AVX-512), 4 (AVX2), 2 (SSE2).
typedef double Vec8 __attribute__((vector_size(64)));
typedef double Vec4 __attribute__((vector_size(32)));
typedef double Vec2 __attribute__((vector_size(16)));

template <typename V>
inline __attribute__((always_inline)) V load_v(const double* x) {
  V v;
  std::memcpy(&v, x, sizeof v);  // an unaligned vector load
  return v;
}

// Rows [i, i + N vectors): the partial product of each term and the running sum stay in 3N vector
// registers at most (N = 4: 12 of the 16 AVX2/SSE2 or 32 AVX-512 registers, no spilling). Scalars
// enter as `scalar op vector` (a broadcast), in the order sum_rows() rounds them.
template <typename V, int N>
inline __attribute__((always_inline)) void sum_tile(const Term* terms, std::size_t n_terms, const Factor* factors,
                                                    const double* const* fp, const double* scalars, double addend,
                                                    double* d, std::size_t i) {
  constexpr std::size_t L = sizeof(V) / sizeof(double);
  V acc[N]{}, p[N]{}, q[N]{};  // (every term writes p before reading it; the zeros quiet GCC)
  for (std::size_t t = 0; t < n_terms; ++t) {
    const Term& term = terms[t];
    const Factor* f = factors + term.begin;
    const double* const* ptr = fp + term.begin;
    const double c = scalars[term.coef];
    if (term.n_num > 0) {
      const double* x = ptr[0] + i;
      for (int j = 0; j < N; ++j) p[j] = c * power_of(load_v<V>(x + L * j), f[0].power);
    }
    for (std::uint32_t u = 1; u < term.n_num; ++u) {
      const double* x = ptr[u] + i;
      const std::uint32_t pw = f[u].power;
      for (int j = 0; j < N; ++j) p[j] *= power_of(load_v<V>(x + L * j), pw);
    }
    if (term.n_den > 0) {
      f += term.n_num;
      ptr += term.n_num;
      const double* x = ptr[0] + i;
      for (int j = 0; j < N; ++j) q[j] = power_of(load_v<V>(x + L * j), f[0].power);
      for (std::uint32_t u = 1; u < term.n_den; ++u) {
        x = ptr[u] + i;
        const std::uint32_t pw = f[u].power;
        for (int j = 0; j < N; ++j) q[j] *= power_of(load_v<V>(x + L * j), pw);
      }
      if (term.n_num > 0) {
        for (int j = 0; j < N; ++j) p[j] /= q[j];
      } else {
        for (int j = 0; j < N; ++j) p[j] = c / q[j];
      }
    }
    if (t == 0) {
      for (int j = 0; j < N; ++j) acc[j] = addend + p[j];
    } else {
      for (int j = 0; j < N; ++j) acc[j] += p[j];
    }
  }
  for (int j = 0; j < N; ++j) std::memcpy(d + i + L * j, &acc[j], sizeof(V));
}

template <typename V, int N = 4>
inline __attribute__((always_inline)) void sum_tiles(const Term* terms, std::size_t n_terms, const Factor* factors,
                                                     const double* const* fp, const double* scalars, double addend,
                                                     double* d, std::size_t k) {
  constexpr std::size_t kRows = N * sizeof(V) / sizeof(double);
  std::size_t i = 0;
  for (; i + kRows <= k; i += kRows) sum_tile<V, N>(terms, n_terms, factors, fp, scalars, addend, d, i);
  sum_rows(terms, n_terms, factors, fp, scalars, addend, d, i, k);
}

#if ENERGYLENS_MULTI_ISA
__attribute__((target("arch=x86-64-v4"))) void sum_avx512(const Term* terms, std::size_t n_terms,
                                                         const Factor* factors, const double* const* fp,
                                                         const double* scalars, double addend, double* d,
                                                         std::size_t k) {
  sum_tiles<Vec8, 8>(terms, n_terms, factors, fp, scalars, addend, d, k);
}
__attribute__((target("arch=x86-64-v3"))) void sum_avx2(const Term* terms, std::size_t n_terms,
                                                       const Factor* factors, const double* const* fp,
                                                       const double* scalars, double addend, double* d,
                                                       std::size_t k) {
  sum_tiles<Vec4>(terms, n_terms, factors, fp, scalars, addend, d, k);
}
#endif
#endif

// d[i] = addend + sum over terms of coef * prod(num) / prod(den), at the ISA level the evaluator runs
// (parallel.hpp active_isa(), so tests can run each level).
void sum_block(const Term* terms, std::size_t n_terms, const Factor* factors, const double* const* fp,
               const double* scalars, double addend, double* d, std::size_t k, Isa isa) {
#if defined(ENERGYLENS_PLAN_VECTORS)
#if ENERGYLENS_MULTI_ISA
  switch (isa) {
    case Isa::Avx512: sum_avx512(terms, n_terms, factors, fp, scalars, addend, d, k); return;
    case Isa::Avx2: sum_avx2(terms, n_terms, factors, fp, scalars, addend, d, k); return;
    default: break;
  }
#else
  (void)isa;
#endif
  sum_tiles<Vec2>(terms, n_terms, factors, fp, scalars, addend, d, k);
#else
  (void)isa;
  sum_rows(terms, n_terms, factors, fp, scalars, addend, d, 0, k);
#endif
}

// A power the plan folds into a product as a factor (x^1..x^4; x^-1 is a denominator factor).
bool folded_power(std::int32_t n) { return n >= 1 && n <= 4; }

constexpr std::uint32_t kOutput = std::numeric_limits<std::uint32_t>::max();

}  // namespace

// ---- Building the plan ---------------------------------------------------------------------------------

// One value of the program as a DAG node: the program's registers make a value with several readers.
struct ValuePlan::Node {
  OpCode op = OpCode::Literal;
  std::int32_t arg = 0;
  double value = 0.0;
  int a = -1, b = -1;
  bool scalar = true;  // reads no column: computed once per evaluation
  int uses = 0;        // readers reachable from the result
};

struct ValuePlan::Builder {
  ValuePlan& plan;
  std::vector<Node> nodes;
  std::vector<int> scalar_of, buffer_of;  // per node: scalar index / virtual buffer, or -1
  int n_virtual = 0;

  struct TermBuild {
    bool negative = false;
    std::vector<int> coef_num, coef_den;  // scalar nodes
    std::vector<FactorView> num, den;
  };

  std::uint32_t scalar_step(OpCode op, std::int32_t arg, double value, std::uint32_t a, std::uint32_t b) {
    plan.scalar_steps_.push_back({op, arg, value, a, b});
    return static_cast<std::uint32_t>(plan.scalar_steps_.size() - 1);
  }
  std::uint32_t literal(double v) { return scalar_step(OpCode::Literal, 0, v, 0, 0); }

  std::uint32_t scalar(int n) {
    if (scalar_of[static_cast<std::size_t>(n)] >= 0) return static_cast<std::uint32_t>(scalar_of[static_cast<std::size_t>(n)]);
    const Node x = nodes[static_cast<std::size_t>(n)];
    const std::uint32_t a = x.a >= 0 ? scalar(x.a) : 0, b = x.b >= 0 ? scalar(x.b) : 0;
    const std::uint32_t s = scalar_step(x.op, x.arg, x.value, a, b);
    scalar_of[static_cast<std::size_t>(n)] = static_cast<int>(s);
    return s;
  }

  // The slot holding the block values of a (non-scalar) node: its column, or a buffer it is computed into.
  std::uint32_t block(int n) {
    const Node& x = nodes[static_cast<std::size_t>(n)];
    if (x.op == OpCode::Feature) return static_cast<std::uint32_t>(x.arg);
    if (buffer_of[static_cast<std::size_t>(n)] < 0) {
      const int v = n_virtual++;
      buffer_of[static_cast<std::size_t>(n)] = v;
      emit(n, static_cast<std::uint32_t>(plan.n_features_) + static_cast<std::uint32_t>(v));
    }
    return static_cast<std::uint32_t>(plan.n_features_) + static_cast<std::uint32_t>(buffer_of[static_cast<std::size_t>(n)]);
  }

  static bool sum_like(OpCode op) { return op == OpCode::Add || op == OpCode::Sub || op == OpCode::Neg; }
  bool product_like(const Node& x) const {
    return x.op == OpCode::Mul || x.op == OpCode::Div ||
           (x.op == OpCode::PowInt && (folded_power(x.arg) || x.arg == -1));
  }

  // Factors of a term: a node read only here is flattened (products, quotients with a plain denominator,
  // small integer powers, negation); anything else is one factor (its column or buffer).
  void collect_product(int n, TermBuild& t, bool den, bool flatten) {
    const Node& x = nodes[static_cast<std::size_t>(n)];
    if (x.scalar) {
      (den ? t.coef_den : t.coef_num).push_back(n);
      return;
    }
    auto sole = [this](int c) { return nodes[static_cast<std::size_t>(c)].uses == 1 || inlined(c); };
    if (flatten) {
      if (x.op == OpCode::Mul) {
        collect_product(x.a, t, den, sole(x.a));
        collect_product(x.b, t, den, sole(x.b));
        return;
      }
      if (x.op == OpCode::Div && !den) {
        collect_product(x.a, t, false, sole(x.a));
        collect_product(x.b, t, true, sole(x.b));
        return;
      }
      if (x.op == OpCode::Neg) {
        t.negative = !t.negative;
        collect_product(x.a, t, den, sole(x.a));
        return;
      }
      if (x.op == OpCode::PowInt && folded_power(x.arg)) {
        (den ? t.den : t.num).push_back({block(x.a), static_cast<std::uint32_t>(x.arg)});
        return;
      }
      if (x.op == OpCode::PowInt && x.arg == -1 && !den) {
        t.den.push_back({block(x.a), 1});
        return;
      }
    }
    (den ? t.den : t.num).push_back({block(n), 1});
  }

  // A value read more than once is still recomputed by each reader when it is a product of at most
  // kInlineFactors columns (or computed values) with no denominator: a few multiplies in registers cost
  // less than a pass that stores it and the loads that read it back. Quotients stay computed once
  // (a division costs more than the pass).
  static constexpr int kInlineFactors = 3;
  bool inlined(int n) {
    int budget = kInlineFactors;
    return nodes[static_cast<std::size_t>(n)].uses > 1 && !nodes[static_cast<std::size_t>(n)].scalar &&
           buffer_of[static_cast<std::size_t>(n)] < 0 && cheap_product(n, budget, true);
  }
  bool cheap_product(int n, int& budget, bool top) {
    const Node& x = nodes[static_cast<std::size_t>(n)];
    if (x.scalar) return true;
    const bool computed = buffer_of[static_cast<std::size_t>(n)] >= 0;
    if (x.op == OpCode::Feature || computed || (!top && x.uses > 1 && !cheap_shape(n))) return --budget >= 0;
    switch (x.op) {
      case OpCode::Mul: return cheap_product(x.a, budget, false) && cheap_product(x.b, budget, false);
      case OpCode::Neg: return cheap_product(x.a, budget, false);
      case OpCode::PowInt: return folded_power(x.arg) && --budget >= 0;
      default: return false;
    }
  }
  bool cheap_shape(int n) {
    int budget = kInlineFactors;
    return cheap_product(n, budget, true);
  }

  void collect_sum(int n, bool negative, bool flatten, std::vector<std::pair<int, bool>>& addends,
                   std::vector<TermBuild>& terms) {
    const Node& x = nodes[static_cast<std::size_t>(n)];
    if (x.scalar) {
      addends.emplace_back(n, negative);
      return;
    }
    auto sole = [this](int c) { return nodes[static_cast<std::size_t>(c)].uses == 1 || inlined(c); };
    if (flatten && sum_like(x.op)) {
      const int a = x.a, b = x.b;
      collect_sum(a, x.op == OpCode::Neg ? !negative : negative, sole(a), addends, terms);
      if (x.op != OpCode::Neg) collect_sum(b, x.op == OpCode::Sub ? !negative : negative, sole(b), addends, terms);
      return;
    }
    TermBuild t;
    t.negative = negative;
    collect_product(n, t, false, flatten);
    terms.push_back(std::move(t));
  }

  // coef = prod(coef_num) / prod(coef_den), negated when the term is (in the program's order: the
  // constant factors first).
  std::uint32_t coefficient(const TermBuild& t) {
    std::uint32_t c = t.coef_num.empty() ? literal(1.0) : scalar(t.coef_num[0]);
    for (std::size_t u = 1; u < t.coef_num.size(); ++u) c = scalar_step(OpCode::Mul, 0, 0.0, c, scalar(t.coef_num[u]));
    for (const int n : t.coef_den) c = scalar_step(OpCode::Div, 0, 0.0, c, scalar(n));
    return t.negative ? scalar_step(OpCode::Neg, 0, 0.0, c, 0) : c;
  }

  void emit_sum(int n, std::uint32_t dst) {
    std::vector<std::pair<int, bool>> addends;
    std::vector<TermBuild> terms;
    collect_sum(n, false, true, addends, terms);
    // The constant part: -0 when there is none (-0 + x is x for every x, the sign of a zero included).
    std::uint32_t addend = addends.empty() ? literal(-0.0) : scalar(addends[0].first);
    if (!addends.empty() && addends[0].second) addend = scalar_step(OpCode::Neg, 0, 0.0, addend, 0);
    for (std::size_t u = 1; u < addends.size(); ++u)
      addend = scalar_step(addends[u].second ? OpCode::Sub : OpCode::Add, 0, 0.0, addend, scalar(addends[u].first));
    Step s;
    s.kind = StepKind::Sum;
    s.dst = dst;
    s.addend = addend;
    s.term_begin = static_cast<std::uint32_t>(plan.terms_.size());
    for (const TermBuild& t : terms) {
      TermView tv;
      tv.coef = coefficient(t);
      tv.begin = static_cast<std::uint32_t>(plan.factors_.size());
      tv.n_num = static_cast<std::uint32_t>(t.num.size());
      tv.n_den = static_cast<std::uint32_t>(t.den.size());
      plan.factors_.insert(plan.factors_.end(), t.num.begin(), t.num.end());
      plan.factors_.insert(plan.factors_.end(), t.den.begin(), t.den.end());
      plan.terms_.push_back(tv);
    }
    s.term_end = static_cast<std::uint32_t>(plan.terms_.size());
    plan.steps_.push_back(s);
  }

  // exp, log or sqrt of a sum (or product) that nothing else reads: one step, the function applied to
  // each tile as it is computed, instead of a pass that stores the sum and one that reads it back.
  bool fused_post(const Node& x) const {
    if (x.op != OpCode::Exp && x.op != OpCode::Log && x.op != OpCode::Sqrt) return false;
    const Node& a = nodes[static_cast<std::size_t>(x.a)];
    return !a.scalar && a.uses == 1 && buffer_of[static_cast<std::size_t>(x.a)] < 0 &&
           (sum_like(a.op) || product_like(a));
  }

  void emit(int n, std::uint32_t dst) {
    const Node& x = nodes[static_cast<std::size_t>(n)];
    if (sum_like(x.op) || product_like(x)) {
      emit_sum(n, dst);
      return;
    }
    if (fused_post(x)) {
      const OpCode post = x.op;
      emit_sum(x.a, dst);
      plan.steps_.back().post = post;
      return;
    }
    Step s;
    s.op = x.op;
    s.arg = x.arg;
    s.dst = dst;
    if (operand_count(x.op) == 1) {
      s.kind = StepKind::Unary;
      s.a = block(x.a);
    } else {
      s.kind = StepKind::Binary;
      const Node& a = nodes[static_cast<std::size_t>(x.a)];
      const Node& b = nodes[static_cast<std::size_t>(x.b)];
      s.a_scalar = a.scalar;
      s.b_scalar = b.scalar;
      s.a = a.scalar ? scalar(x.a) : block(x.a);
      s.b = b.scalar ? scalar(x.b) : block(x.b);
    }
    plan.steps_.push_back(s);
  }

  int parse(const std::vector<Instruction>& code);
  void assign_buffers();
};

int ValuePlan::Builder::parse(const std::vector<Instruction>& code) {
  std::vector<int> stack, regs;
  auto pop = [&stack]() {
    const int n = stack.back();
    stack.pop_back();
    return n;
  };
  for (const Instruction& in : code) {
    const auto r = static_cast<std::size_t>(in.arg);
    if (in.op == OpCode::Store) {
      if (regs.size() <= r) regs.resize(r + 1, -1);
      regs[r] = pop();
      continue;
    }
    if (in.op == OpCode::Load) {
      stack.push_back(regs[r]);
      continue;
    }
    Node x;
    x.op = in.op;
    x.arg = in.arg;
    x.value = in.value;
    x.scalar = in.op != OpCode::Feature;
    const int ar = operand_count(in.op);
    if (ar == 2) x.b = pop();
    if (ar >= 1) x.a = pop();
    if (x.a >= 0) x.scalar = nodes[static_cast<std::size_t>(x.a)].scalar;
    if (x.b >= 0) x.scalar = x.scalar && nodes[static_cast<std::size_t>(x.b)].scalar;
    nodes.push_back(x);
    stack.push_back(static_cast<int>(nodes.size() - 1));
  }
  const int root = stack.back();
  // Readers reachable from the result (a dead store's value has none).
  std::vector<std::uint8_t> seen(nodes.size(), 0);
  std::vector<int> todo{root};
  seen[static_cast<std::size_t>(root)] = 1;
  nodes[static_cast<std::size_t>(root)].uses = 1;
  while (!todo.empty()) {
    const Node& x = nodes[static_cast<std::size_t>(todo.back())];
    todo.pop_back();
    for (const int c : {x.a, x.b}) {
      if (c < 0) continue;
      ++nodes[static_cast<std::size_t>(c)].uses;
      if (!seen[static_cast<std::size_t>(c)]) {
        seen[static_cast<std::size_t>(c)] = 1;
        todo.push_back(c);
      }
    }
  }
  scalar_of.assign(nodes.size(), -1);
  buffer_of.assign(nodes.size(), -1);
  return root;
}

// Virtual buffers (one per computed value) onto as few physical ones as the steps' order allows: a
// buffer is free again after its last reader, and that reader may write into it (every step is
// element-wise over a tile, reading a tile before it writes it).
void ValuePlan::Builder::assign_buffers() {
  const auto nf = static_cast<std::uint32_t>(plan.n_features_);
  std::vector<std::vector<std::uint32_t*>> reads(plan.steps_.size());
  for (std::size_t s = 0; s < plan.steps_.size(); ++s) {
    Step& st = plan.steps_[s];
    if (st.kind == StepKind::Sum) {
      for (std::uint32_t t = st.term_begin; t < st.term_end; ++t) {
        const TermView& term = plan.terms_[t];
        for (std::uint32_t u = 0; u < term.n_num + term.n_den; ++u) reads[s].push_back(&plan.factors_[term.begin + u].slot);
      }
    } else {
      if (!st.a_scalar) reads[s].push_back(&st.a);
      if (st.kind == StepKind::Binary && !st.b_scalar) reads[s].push_back(&st.b);
    }
  }
  const auto nv = static_cast<std::size_t>(n_virtual);
  std::vector<std::size_t> last_read(nv, 0);
  for (std::size_t s = 0; s < reads.size(); ++s)
    for (const std::uint32_t* p : reads[s])
      if (*p >= nf) last_read[*p - nf] = s;
  std::vector<std::uint32_t> phys(nv, 0), free;
  std::vector<std::uint8_t> released(nv, 0);
  std::uint32_t n_phys = 0;
  for (std::size_t s = 0; s < plan.steps_.size(); ++s) {
    for (const std::uint32_t* p : reads[s]) {
      if (*p < nf) continue;
      const std::size_t v = *p - nf;
      if (last_read[v] == s && !released[v]) {
        released[v] = 1;
        free.push_back(phys[v]);
      }
    }
    Step& st = plan.steps_[s];
    if (st.dst == kOutput) continue;
    const std::size_t v = st.dst - nf;
    if (free.empty()) {
      phys[v] = n_phys++;
    } else {
      phys[v] = free.back();
      free.pop_back();
    }
  }
  for (std::size_t s = 0; s < plan.steps_.size(); ++s) {
    for (std::uint32_t* p : reads[s])
      if (*p >= nf) *p = nf + phys[*p - nf];
    Step& st = plan.steps_[s];
    st.dst = st.dst == kOutput ? nf + n_phys : nf + phys[st.dst - nf];
  }
  plan.n_buffers_ = n_phys;
}

ValuePlan::ValuePlan(const std::vector<Instruction>& code, std::size_t n_features) : n_features_(n_features) {
  Builder b{*this, {}, {}, {}, 0};
  const int root = b.parse(code);
  const Node& r = b.nodes[static_cast<std::size_t>(root)];
  if (r.scalar || r.op == OpCode::Feature) {  // the result is one value, or a column as it is
    Step s;
    s.kind = StepKind::Fill;
    s.a_scalar = r.scalar;
    s.a = r.scalar ? b.scalar(root) : static_cast<std::uint32_t>(r.arg);
    s.dst = kOutput;
    steps_.push_back(s);
  } else {
    b.emit(root, kOutput);
  }
  b.assign_buffers();
}

std::string ValuePlan::listing() const {
  std::ostringstream s;
  auto slot = [this, &s](std::uint32_t x) -> std::ostringstream& {
    if (x < n_features_) s << 'c' << x;
    else if (x == output_slot()) s << "out";
    else s << 'b' << (x - n_features_);
    return s;
  };
  auto factor = [&slot, &s](const FactorView& f) {
    slot(f.slot);
    if (f.power > 1) s << '^' << f.power;
  };
  auto operand = [&slot, &s](std::uint32_t x, bool scalar) {
    if (scalar) s << 's' << x;
    else slot(x);
  };
  for (const Step& st : steps_) {
    slot(st.dst) << " = ";
    switch (st.kind) {
      case StepKind::Sum:
        if (st.post != OpCode::Literal) s << to_string(st.post) << '(';
        s << 's' << st.addend;
        for (std::uint32_t t = st.term_begin; t < st.term_end; ++t) {
          const TermView& term = terms_[t];
          s << " + s" << term.coef;
          for (std::uint32_t u = 0; u < term.n_num; ++u) {
            s << '*';
            factor(factors_[term.begin + u]);
          }
          if (term.n_den > 0) {
            s << "/(";
            for (std::uint32_t u = 0; u < term.n_den; ++u) {
              if (u > 0) s << '*';
              factor(factors_[term.begin + term.n_num + u]);
            }
            s << ')';
          }
        }
        if (st.post != OpCode::Literal) s << ')';
        break;
      case StepKind::Unary:
        s << to_string(st.op) << '(';
        slot(st.a) << ')';
        break;
      case StepKind::Binary:
        s << to_string(st.op) << '(';
        operand(st.a, st.a_scalar);
        s << ", ";
        operand(st.b, st.b_scalar);
        s << ')';
        break;
      case StepKind::Fill: operand(st.a, st.a_scalar); break;
    }
    s << '\n';
  }
  return s.str();
}

std::uint64_t ValuePlan::fingerprint() const {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  auto add = [&h](std::uint64_t v) {
    for (int byte = 0; byte < 8; ++byte, v >>= 8) {
      h ^= v & 0xffU;
      h *= 0x100000001b3ULL;
    }
  };
  for (const char c : listing()) add(static_cast<unsigned char>(c));
  for (const ScalarStep& st : scalar_steps_) {
    add(static_cast<std::uint64_t>(st.op));
    add(static_cast<std::uint64_t>(static_cast<std::uint32_t>(st.arg)));
    add(std::bit_cast<std::uint64_t>(st.value));
    add((static_cast<std::uint64_t>(st.a) << 32) | st.b);
  }
  return h;
}

std::vector<std::pair<std::uint32_t, double>> ValuePlan::literal_scalars() const {
  std::vector<std::pair<std::uint32_t, double>> out;
  for (std::size_t i = 0; i < scalar_steps_.size(); ++i)
    if (scalar_steps_[i].op == OpCode::Literal) out.emplace_back(static_cast<std::uint32_t>(i), scalar_steps_[i].value);
  return out;
}

void ValuePlan::scalars(const double* params, double* out) const {
  for (std::size_t i = 0; i < scalar_steps_.size(); ++i) {
    const ScalarStep& s = scalar_steps_[i];
    switch (s.op) {
      case OpCode::Param: out[i] = params[s.arg]; break;
      case OpCode::Literal: out[i] = s.value; break;
      default:
        if (operand_count(s.op) == 1) unary_to(s.op, s.arg, out + s.a, out + i, 1);
        else out[i] = binary_scalar(s.op, out[s.a], out[s.b]);
    }
  }
}

namespace {

// Lines [from, to) of every column of `r` into L2 (prefetcht1): a slice of the next block per step, so
// the misses overlap the arithmetic instead of stalling it in one burst (the miss buffers hold a few
// dozen lines; a whole block is thousands).
void prefetch_slice(const PrefetchRange& r, std::size_t from, std::size_t to) {
#if defined(__GNUC__) || defined(__clang__)
  constexpr std::size_t kLine = 64 / sizeof(double);
  for (std::size_t c = 0; c < r.n_columns; ++c) {
    const double* p = r.columns[c];
    if (p == nullptr) continue;
    for (std::size_t l = from; l < to; ++l) __builtin_prefetch(p + l * kLine, 0, 2);
  }
#else
  (void)r, (void)from, (void)to;
#endif
}

}  // namespace

void ValuePlan::run_block(const double* const* slots, double* const* buffers, const double* scalars,
                          const double** factor_ptrs, std::size_t k, const PrefetchRange* next) const {
  for (std::size_t u = 0; u < factors_.size(); ++u) factor_ptrs[u] = slots[factors_[u].slot];
  const Isa isa = active_isa();
  const std::size_t n_steps = steps_.size();
  for (std::size_t step = 0; step < n_steps; ++step) {
    const Step& s = steps_[step];
    if (next != nullptr) prefetch_slice(*next, next->n_lines * step / n_steps, next->n_lines * (step + 1) / n_steps);
    double* d = buffers[s.dst - n_features_];
    switch (s.kind) {
      case StepKind::Sum:
        sum_block(terms_.data() + s.term_begin, s.term_end - s.term_begin, factors_.data(), factor_ptrs, scalars,
                  scalars[s.addend], d, k, isa);
        // A fused function: over the block just written (still in L1), not a pass over another buffer.
        if (s.post != OpCode::Literal) unary_to(s.post, 0, d, d, k);
        break;
      case StepKind::Unary: unary_to(s.op, s.arg, slots[s.a], d, k); break;
      case StepKind::Binary:
        if (s.a_scalar) binary_vb(s.op, d, scalars[s.a], slots[s.b], k);
        else if (s.b_scalar) binary_bv(s.op, d, slots[s.a], scalars[s.b], k);
        else binary_bb(s.op, d, slots[s.a], slots[s.b], k);
        break;
      case StepKind::Fill:
        if (s.a_scalar) std::fill(d, d + k, scalars[s.a]);
        else std::memcpy(d, slots[s.a], k * sizeof(double));
        break;
    }
  }
}


}  // namespace energylens
