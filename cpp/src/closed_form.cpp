#include "energylens/closed_form.hpp"


#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

#include "energylens/energy_template.hpp"
#include "energylens/fast_log.hpp"
#include "energylens/latency_template.hpp"
#include "energylens/parallel.hpp"

namespace energylens {
namespace {

// Fewest rows worth a thread of their own: below 2x this (~5 ms of work on one core) the loop runs on
// the caller alone. Waking a helper costs little, but with another process busy on the helper's core a
// helper descheduled in the middle of a chunk holds the caller for up to a scheduler time slice (a few
// ms): at 1e5 rows that made two threads ~3x slower than one (bench_public.py, other core busy).
constexpr std::size_t kMinRowsPerThread = 131072;
// The same for the Jacobian loop (about 10x more work per row).
constexpr std::size_t kMinJacobianRowsPerThread = 4096;

// Rows per chunk handed out on demand: large enough to amortise scheduling, small enough that a
// descheduled thread holds up little.
constexpr long kChunkRows = 4096;

// Rows per chunk when some columns are broadcast: the streamed columns of a chunk (8 KB each in
// float64) stay in L2 for the domain check that follows the evaluation.
constexpr long kBroadcastChunkRows = 1024;

// Rows of the block a broadcast column is expanded into, once per thread; a chunk is evaluated block by
// block against it. 128 rows keep a sweep's 17 expanded columns (17 KB in float64) in L1: with
// 1024-row blocks (136 KB) every row read them from L2, ~30 % of a one-thread sweep's time.
constexpr long kBroadcastBlockRows = 128;

// The hot loop without Jacobians: straight-line code per row (no branches), each feature column a
// separate __restrict pointer argument (a pointer table loaded inside the loop defeats the vectoriser).
// Pointers arrive offset to the chunk's first row. Inlined into one wrapper per instruction-set level
// (parallel.hpp), each compiled for its level, so the loop is vectorised three times.
template <class Tpl, typename T, bool WithAux, typename... Columns>
inline __attribute__((always_inline)) void evaluate_block_body(long rows, const T* p, T* __restrict out0,
                                                               T* __restrict out1, T* __restrict out2,
                                                               const Columns* __restrict... c) {
  // ivdep rather than `omp simd`: the latter turns the per-row feature array into a per-lane array
  // GCC cannot scalarise ("not suitable for scatter store"), and the loop stays scalar.
#pragma GCC ivdep
  for (long i = 0; i < rows; ++i) {
    const T f[] = {c[i]...};
    T o0, o1, o2;
    Tpl::eval(f, p, o0, o1, o2, static_cast<T*>(nullptr), static_cast<T*>(nullptr), static_cast<T*>(nullptr));
    out0[i] = o0;
    out1[i] = o1;
    if constexpr (WithAux) out2[i] = o2;
  }
}

template <class Tpl, typename T, bool WithAux, typename... Columns>
void evaluate_block_baseline(long rows, const T* p, T* __restrict out0, T* __restrict out1, T* __restrict out2,
                             const Columns* __restrict... c) {
  evaluate_block_body<Tpl, T, WithAux>(rows, p, out0, out1, out2, c...);
}

#if ENERGYLENS_MULTI_ISA
template <class Tpl, typename T, bool WithAux, typename... Columns>
__attribute__((target("arch=x86-64-v3"))) void evaluate_block_avx2(long rows, const T* p, T* __restrict out0,
                                                                  T* __restrict out1, T* __restrict out2,
                                                                  const Columns* __restrict... c) {
  evaluate_block_body<Tpl, T, WithAux>(rows, p, out0, out1, out2, c...);
}

template <class Tpl, typename T, bool WithAux, typename... Columns>
__attribute__((target("arch=x86-64-v4"))) void evaluate_block_avx512(long rows, const T* p, T* __restrict out0,
                                                                    T* __restrict out1, T* __restrict out2,
                                                                    const Columns* __restrict... c) {
  evaluate_block_body<Tpl, T, WithAux>(rows, p, out0, out1, out2, c...);
}
#endif

template <class Tpl, typename T, bool WithAux, typename... Columns>
void evaluate_block_columns(Isa isa, long rows, const T* p, T* out0, T* out1, T* out2, const Columns*... c) {
#if ENERGYLENS_MULTI_ISA
  if (isa == Isa::Avx512) return evaluate_block_avx512<Tpl, T, WithAux>(rows, p, out0, out1, out2, c...);
  if (isa == Isa::Avx2) return evaluate_block_avx2<Tpl, T, WithAux>(rows, p, out0, out1, out2, c...);
#else
  (void)isa;
#endif
  evaluate_block_baseline<Tpl, T, WithAux>(rows, p, out0, out1, out2, c...);
}

template <class Tpl, typename T, bool WithAux, std::size_t... K>
void evaluate_block(std::index_sequence<K...>, Isa isa, long rows, const T* const* columns, const T* p, T* out0,
                    T* out1, T* out2) {
  evaluate_block_columns<Tpl, T, WithAux>(isa, rows, p, out0, out1, out2, columns[K]...);
}

constexpr bool is_broadcast(BroadcastMask mask, std::size_t k) { return ((mask >> k) & 1U) != 0; }

// Nonzero when some x[i] is not finite or below `lo`: the domain check of evaluate_in_domain(), run on a
// chunk's column right after the evaluation read it (so from cache), vectorised per instruction-set level
// like the evaluation (an OR of compares; x - x == 0 is false for NaN and inf).
template <typename T>
inline __attribute__((always_inline)) unsigned outside_body(long rows, const T* __restrict x, T lo) {
  unsigned bad = 0;
  for (long i = 0; i < rows; ++i) bad |= static_cast<unsigned>(!((x[i] >= lo) & (x[i] - x[i] == T(0))));
  return bad;
}

template <typename T>
unsigned outside_baseline(long rows, const T* __restrict x, T lo) {
  return outside_body(rows, x, lo);
}

#if ENERGYLENS_MULTI_ISA
template <typename T>
__attribute__((target("arch=x86-64-v3"))) unsigned outside_avx2(long rows, const T* __restrict x, T lo) {
  return outside_body(rows, x, lo);
}

template <typename T>
__attribute__((target("arch=x86-64-v4"))) unsigned outside_avx512(long rows, const T* __restrict x, T lo) {
  return outside_body(rows, x, lo);
}
#endif

template <typename T>
inline __attribute__((always_inline)) void add_body(long rows, T* __restrict a, const T* __restrict b) {
  for (long i = 0; i < rows; ++i) a[i] += b[i];
}

template <typename T>
void add_baseline(long rows, T* __restrict a, const T* __restrict b) {
  add_body(rows, a, b);
}

#if ENERGYLENS_MULTI_ISA
template <typename T>
__attribute__((target("arch=x86-64-v3"))) void add_avx2(long rows, T* __restrict a, const T* __restrict b) {
  add_body(rows, a, b);
}

template <typename T>
__attribute__((target("arch=x86-64-v4"))) void add_avx512(long rows, T* __restrict a, const T* __restrict b) {
  add_body(rows, a, b);
}
#endif

// a[i] += b[i] for a chunk (the summed output of evaluate_in_domain), vectorised per level.
template <typename T>
void add_into(Isa isa, long rows, T* a, const T* b) {
#if ENERGYLENS_MULTI_ISA
  if (isa == Isa::Avx512) return add_avx512(rows, a, b);
  if (isa == Isa::Avx2) return add_avx2(rows, a, b);
#else
  (void)isa;
#endif
  add_baseline(rows, a, b);
}

template <typename T>
unsigned outside_domain(Isa isa, long rows, const T* x, T lo) {
#if ENERGYLENS_MULTI_ISA
  if (isa == Isa::Avx512) return outside_avx512(rows, x, lo);
  if (isa == Isa::Avx2) return outside_avx2(rows, x, lo);
#else
  (void)isa;
#endif
  return outside_baseline(rows, x, lo);
}

// Broadcast columns expanded into `step` rows each, in feature order (the block a chunk's columns read).
template <class Tpl, typename T>
void expand_broadcast(std::vector<T>& block, const T* const* columns, BroadcastMask broadcast, long step) {
  if (!block.empty()) return;
  block.resize(static_cast<std::size_t>(std::popcount(broadcast)) * static_cast<std::size_t>(step));
  for (std::size_t k = 0, b = 0; k < Tpl::kFeatures; ++k)
    if (is_broadcast(broadcast, k))
      std::fill_n(block.data() + b++ * static_cast<std::size_t>(step), step, columns[k][0]);
}

// The plain evaluation (no Jacobian) of rows [begin, begin + len), `step` rows at a time, broadcast columns
// read from `block` (expand_broadcast); `second` non-null: out0 receives out0 + out1, out1 going to that
// step-row buffer and added in a separate loop. evaluate_rows() and evaluate_replicates() both run their
// chunks through here, so a row's arithmetic is the same in both.
template <class Tpl, typename T>
void evaluate_span(Isa isa, long begin, long len, long step, const T* const* columns, BroadcastMask broadcast,
                   const T* block, const T* p, T* out0, T* out1, T* out2, T* second) {
  constexpr std::size_t F = Tpl::kFeatures;
  for (long at = begin; at < begin + len; at += step) {
    const long m = std::min(step, begin + len - at);
    const T* c[F];
    for (std::size_t k = 0, b = 0; k < F; ++k)
      c[k] = is_broadcast(broadcast, k) ? block + b++ * static_cast<std::size_t>(step) : columns[k] + at;
    T* o1 = second != nullptr ? second : out1 + at;
    if (out2 != nullptr)
      evaluate_block<Tpl, T, true>(std::make_index_sequence<F>{}, isa, m, c, p, out0 + at, o1, out2 + at);
    else
      evaluate_block<Tpl, T, false>(std::make_index_sequence<F>{}, isa, m, c, p, out0 + at, o1, nullptr);
    if (second != nullptr) add_into(isa, m, out0 + at, o1);
  }
}

// Returns false when `lower` (non-null: one bound per feature, plain evaluation only) finds a value outside
// its feature's domain.
template <class Tpl, typename T>
bool evaluate_rows(std::size_t rows, const T* const* columns, std::span<const double> params, T* out0,
                   T* out1, T* out2, T* jac0, T* jac1, BroadcastMask broadcast, const T* lower = nullptr) {
  constexpr std::size_t F = Tpl::kFeatures;
  constexpr std::size_t P = Tpl::kParams;
  T p[P];
  for (std::size_t j = 0; j < P; ++j) p[j] = static_cast<T>(params[j]);
  const long n = static_cast<long>(rows);
  if (jac0 == nullptr && jac1 == nullptr) {
    // Broadcast columns are expanded once per thread into a chunk-sized block that stays in cache, so
    // the vectorised loop reads them like any column but without memory traffic; smaller chunks keep
    // those blocks in L2.
    const long chunk_rows = broadcast == 0 ? kChunkRows : kBroadcastChunkRows;
    const long chunks = (n + chunk_rows - 1) / chunk_rows;
    const int threads = threads_for(rows, kMinRowsPerThread);
    const Isa isa = active_isa();
    const std::size_t n_broadcast = static_cast<std::size_t>(std::popcount(broadcast));
    std::vector<std::vector<T>> expanded(static_cast<std::size_t>(threads));  // per participant
    // out1 == nullptr (evaluate_in_domain): out0 receives out0 + out1, out1 going to a per-participant
    // chunk buffer that stays in cache; added in a separate loop, so rounded as adding the arrays after.
    const bool summed = out1 == nullptr;
    std::vector<std::vector<T>> second(summed ? static_cast<std::size_t>(threads) : 0U);
    std::atomic<unsigned> bad{0};
    if (lower != nullptr && rows > 0)  // a broadcast value once, here
      for (std::size_t k = 0; k < F; ++k)
        if (is_broadcast(broadcast, k)) bad.fetch_or(outside_domain<T>(Isa::Baseline, 1, columns[k], lower[k]));
    // With broadcast columns the chunk goes block by block (kBroadcastBlockRows), every block reading the
    // same expanded values; otherwise in one piece. Each row's arithmetic is the same either way.
    const long step = n_broadcast > 0 ? kBroadcastBlockRows : chunk_rows;
    run_chunks(static_cast<std::size_t>(chunks), threads, [&](std::size_t chunk_index, int slot) {
      const long begin = static_cast<long>(chunk_index) * chunk_rows;
      const long len = begin + chunk_rows < n ? chunk_rows : n - begin;
      T* block = nullptr;
      if (n_broadcast > 0) {
        std::vector<T>& mine = expanded[static_cast<std::size_t>(slot)];
        expand_broadcast<Tpl>(mine, columns, broadcast, step);
        block = mine.data();
      }
      T* second_buffer = nullptr;
      if (summed) {
        std::vector<T>& mine = second[static_cast<std::size_t>(slot)];
        if (mine.empty()) mine.resize(static_cast<std::size_t>(step));
        second_buffer = mine.data();
      }
      evaluate_span<Tpl, T>(isa, begin, len, step, columns, broadcast, block, p, out0, out1, out2, second_buffer);
      if (lower != nullptr) {
        unsigned chunk_bad = 0;
        for (std::size_t k = 0; k < F; ++k)
          if (!is_broadcast(broadcast, k)) chunk_bad |= outside_domain<T>(isa, len, columns[k] + begin, lower[k]);
        if (chunk_bad != 0) bad.fetch_or(chunk_bad, std::memory_order_relaxed);
      }
    });
    return bad.load(std::memory_order_relaxed) == 0;
  } else {
    const int threads = threads_for(rows, kMinJacobianRowsPerThread);
    constexpr long kJacobianChunkRows = 256;
    const auto chunks = static_cast<std::size_t>((n + kJacobianChunkRows - 1) / kJacobianChunkRows);
    run_chunks(chunks, threads, [&](std::size_t chunk_index, int) {
      const long first = static_cast<long>(chunk_index) * kJacobianChunkRows;
      const long last = std::min(n, first + kJacobianChunkRows);
      for (long i = first; i < last; ++i) {
        T f[F];
        for (std::size_t k = 0; k < F; ++k) f[k] = columns[k][is_broadcast(broadcast, k) ? 0 : i];
        T g0[P], g1[P], g2[P];
        T o0, o1, o2;
        Tpl::eval(f, p, o0, o1, o2, g0, g1, g2);
        out0[i] = o0;
        out1[i] = o1;
        if (out2 != nullptr) out2[i] = o2;
        const std::size_t base = static_cast<std::size_t>(i) * P;
        if (jac0 != nullptr)
          for (std::size_t j = 0; j < P; ++j) jac0[base + j] = g0[j];
        if (jac1 != nullptr)
          for (std::size_t j = 0; j < P; ++j) jac1[base + j] = g1[j];
      }
    });
  }
  return true;
}

// evaluate_rows()'s plain evaluation once per parameter set (params: replicates x P, row-major), replicate b's
// outputs at out0 + b * rows and out1 + b * rows. The work items are (replicate, chunk) pairs over the same
// chunks and blocks evaluate_rows() uses, so each replicate's outputs are those of evaluate() with its
// parameters, bit for bit, at any thread count.
template <class Tpl, typename T>
void evaluate_replicate_rows(std::size_t rows, const T* const* columns, std::span<const double> params,
                             std::size_t replicates, T* out0, T* out1, BroadcastMask broadcast) {
  constexpr std::size_t P = Tpl::kParams;
  const long n = static_cast<long>(rows);
  const long chunk_rows = broadcast == 0 ? kChunkRows : kBroadcastChunkRows;
  const auto chunks = static_cast<std::size_t>((n + chunk_rows - 1) / chunk_rows);
  const long step = broadcast != 0 ? kBroadcastBlockRows : chunk_rows;
  const int threads = threads_for(rows * replicates, kMinRowsPerThread);
  const Isa isa = active_isa();
  std::vector<std::vector<T>> expanded(static_cast<std::size_t>(threads));  // per participant
  run_chunks(replicates * chunks, threads, [&](std::size_t item, int slot) {
    const std::size_t b = item / chunks;
    const long begin = static_cast<long>(item % chunks) * chunk_rows;
    const long len = begin + chunk_rows < n ? chunk_rows : n - begin;
    T p[P];
    for (std::size_t j = 0; j < P; ++j) p[j] = static_cast<T>(params[b * P + j]);
    T* block = nullptr;
    if (broadcast != 0) {
      std::vector<T>& mine = expanded[static_cast<std::size_t>(slot)];
      expand_broadcast<Tpl>(mine, columns, broadcast, step);
      block = mine.data();
    }
    evaluate_span<Tpl, T>(isa, begin, len, step, columns, broadcast, block, p, out0 + b * rows, out1 + b * rows,
                          nullptr, nullptr);
  });
}

// One (row, output) pair that enters the fit: which row, which output (0, 1, 2 = auxiliary, or
// -1 = out0 + out1), the measurement and the residual's weight.
struct Term {
  std::size_t row;
  int output;
  double target;
  double weight;
};

void check_target_value(double y, int k, std::size_t i) {
  if (!(y > 0.0) || !std::isfinite(y))
    throw std::invalid_argument("fit: target " + std::to_string(k) + " row " + std::to_string(i) + " is " +
                                std::to_string(y) + "; measured values must be finite and > 0");
}

std::vector<Term> make_terms(std::size_t rows, std::span<const std::span<const double>> targets,
                             const FitOptions& options) {
  const FitTarget mode = options.target;
  const std::size_t expected = mode == FitTarget::Sum ? 1 : 2;
  if (targets.size() != expected)
    throw std::invalid_argument("fit: this target mode needs " + std::to_string(expected) + " target column(s), got " +
                                std::to_string(targets.size()));
  for (std::size_t k = 0; k < targets.size(); ++k)
    if (targets[k].size() != rows)
      throw std::invalid_argument("fit: target " + std::to_string(k) + " has " + std::to_string(targets[k].size()) +
                                  " values for " + std::to_string(rows) + " rows");
  if (!(options.aux_weight >= 0.0)) throw std::invalid_argument("fit: aux_weight must be >= 0");
  // Terms of one row are adjacent, so the residual function evaluates each row once.
  std::vector<Term> terms;
  terms.reserve(rows * expected);
  for (std::size_t i = 0; i < rows; ++i) {
    if (mode == FitTarget::PerOutput) {
      for (int k = 0; k < 2; ++k) {
        const double y = targets[static_cast<std::size_t>(k)][i];
        if (std::isnan(y)) continue;  // not measured
        check_target_value(y, k, i);
        terms.push_back({i, k, y, 1.0});
      }
      continue;
    }
    check_target_value(targets[0][i], 0, i);
    terms.push_back({i, -1, targets[0][i], 1.0});
    if (mode == FitTarget::SumWithAux && options.aux_weight > 0.0 && !std::isnan(targets[1][i])) {
      check_target_value(targets[1][i], 1, i);
      terms.push_back({i, 2, targets[1][i], options.aux_weight});
    }
  }
  return terms;
}

// Outputs (o[k * rows + i]) and, with `g` non-null, parameter-major gradients (g[(k * P + j) * rows + i])
// of the three template outputs k for every row: the template once per row, vectorised across rows
// (the same __restrict-per-column form as the plain evaluation loop).
template <class Tpl, bool WithGradient, typename... Columns>
ENERGYLENS_CLONES void rows_outputs(long rows, const double* p, double* __restrict o, double* __restrict g,
                                   const Columns* __restrict... c) {
  constexpr long P = static_cast<long>(Tpl::kParams);
#pragma GCC ivdep
  for (long i = 0; i < rows; ++i) {
    const double f[] = {c[i]...};
    double x0, x1, x2;
    if constexpr (WithGradient) {
      double a[P], b[P], s[P];
      Tpl::eval(f, p, x0, x1, x2, a, b, s);
      for (long j = 0; j < P; ++j) {
        g[j * rows + i] = a[j];
        g[(P + j) * rows + i] = b[j];
        g[(2 * P + j) * rows + i] = s[j];
      }
    } else {
      Tpl::eval(f, p, x0, x1, x2, static_cast<double*>(nullptr), static_cast<double*>(nullptr),
                static_cast<double*>(nullptr));
    }
    o[i] = x0;
    o[rows + i] = x1;
    o[2 * rows + i] = x2;
  }
}

template <class Tpl, bool WithGradient, std::size_t... K>
void rows_outputs_columns(std::index_sequence<K...>, long rows, const double* const* columns, const double* p,
                          double* o, double* g) {
  rows_outputs<Tpl, WithGradient>(rows, p, o, g, columns[K]...);
}

// Residuals (log or relative, weighted) of every term and, when `jac` is non-null, their Jacobian,
// parameter-major (jac[j * m + t]), from the per-row outputs and gradients of rows_outputs (a term
// names its row, so bootstrap resamples that repeat rows cost nothing extra).
template <std::size_t P>
ENERGYLENS_CLONES void terms_from_rows(std::size_t rows, const Term* terms, std::size_t m, std::size_t stride,
                                       ResidualKind kind, const double* o, const double* g, double* r, double* jac) {
  const bool log_residual = kind == ResidualKind::Log;
  for (std::size_t t = 0; t < m; ++t) {
    const Term& term = terms[t];
    const std::size_t i = term.row;
    const double pred = term.output < 0 ? o[i] + o[rows + i] : o[static_cast<std::size_t>(term.output) * rows + i];
    const double scale = (log_residual ? 1.0 / pred : 1.0 / term.target) * term.weight;
    r[t] = log_residual ? pred / term.target : term.weight * (pred / term.target - 1.0);  // log taken below
    if (jac == nullptr) continue;
    double* col = jac + t;
    if (term.output < 0) {
      const double* ga = g + i;
      const double* gb = g + P * rows + i;
      for (std::size_t j = 0; j < P; ++j) col[j * stride] = (ga[j * rows] + gb[j * rows]) * scale;
    } else {
      const double* gk = g + static_cast<std::size_t>(term.output) * P * rows + i;
      for (std::size_t j = 0; j < P; ++j) col[j * stride] = gk[j * rows] * scale;
    }
  }
  if (log_residual) {
    log_in_place(m, r);
    for (std::size_t t = 0; t < m; ++t) r[t] *= terms[t].weight;
  }
}

// The prior's residual rows (FitOptions::prior): sqrt(w) (log(theta_j + c_j) - log(prior_j + c_j)).
struct PriorRows {
  double sqrt_weight = 0.0;      // 0: no prior rows
  std::vector<double> offset;    // c_j
  std::vector<double> log_prior; // log(prior_j + c_j)
  std::size_t count() const { return sqrt_weight > 0.0 ? offset.size() : 0; }
};

PriorRows prior_rows(const FitOptions& options, const TemplateDescriptor& d, std::size_t P) {
  PriorRows out;
  if (!(options.prior_weight >= 0.0) || !std::isfinite(options.prior_weight))
    throw std::invalid_argument("fit: prior_weight must be finite and >= 0");
  if (options.prior.empty()) {
    if (options.prior_weight > 0.0) throw std::invalid_argument("fit: prior_weight > 0 needs prior values");
    return out;
  }
  if (options.prior.size() != P)
    throw std::invalid_argument("fit: prior has " + std::to_string(options.prior.size()) + " values for " +
                                std::to_string(P) + " parameters");
  for (std::size_t j = 0; j < P; ++j)
    if (!(options.prior[j] >= d.lower[j] && options.prior[j] <= d.upper[j]))
      throw std::invalid_argument("fit: prior value " + std::to_string(j) + " (" + d.param_names[j] + ") = " +
                                  std::to_string(options.prior[j]) + " is outside its bounds");
  if (options.prior_weight == 0.0) return out;
  out.sqrt_weight = std::sqrt(options.prior_weight);
  for (std::size_t j = 0; j < P; ++j) {
    out.offset.push_back(kPriorOffset * d.upper[j]);
    out.log_prior.push_back(std::log(options.prior[j] + out.offset[j]));
  }
  return out;
}

template <class Tpl>
ResidualFunction make_residual(std::size_t rows, const double* const* columns, const std::vector<Term>& terms,
                               ResidualKind kind, const PriorRows& prior, const std::atomic<bool>* cancel) {
  constexpr std::size_t F = Tpl::kFeatures;
  constexpr std::size_t P = Tpl::kParams;
  // Scratch owned by the function object: each fit (and each bootstrap replicate) has its own.
  auto outputs = std::make_shared<std::vector<double>>(3 * rows);
  auto gradients = std::make_shared<std::vector<double>>(3 * P * rows);
  return [rows, columns, &terms, kind, outputs, gradients, prior, cancel](const double* theta, double* r,
                                                                          double* jac) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) throw FitCancelled();
    const long n = static_cast<long>(rows);
    if (jac != nullptr)
      rows_outputs_columns<Tpl, true>(std::make_index_sequence<F>{}, n, columns, theta, outputs->data(),
                                      gradients->data());
    else
      rows_outputs_columns<Tpl, false>(std::make_index_sequence<F>{}, n, columns, theta, outputs->data(), nullptr);
    const std::size_t T = terms.size(), m = T + prior.count();
    terms_from_rows<P>(rows, terms.data(), T, m, kind, outputs->data(), gradients->data(), r, jac);
    for (std::size_t j = 0; j < prior.count(); ++j) {
      const double x = theta[j] + prior.offset[j];
      r[T + j] = prior.sqrt_weight * (std::log(x) - prior.log_prior[j]);
      if (jac == nullptr) continue;
      for (std::size_t k = 0; k < P; ++k) jac[k * m + T + j] = k == j ? prior.sqrt_weight / x : 0.0;
    }
  };
}

template <class Tpl>
ClosedFormFit fit_terms(std::size_t rows, const double* const* columns, const std::vector<Term>& terms,
                        std::span<const double> start, const FitOptions& options) {
  constexpr std::size_t P = Tpl::kParams;
  const TemplateDescriptor& d = Tpl::descriptor();
  const PriorRows prior = prior_rows(options, d, P);
  if (prior.count() == 0 && terms.size() < P)
    throw std::invalid_argument("fit: " + std::to_string(terms.size()) + " measurements for " +
                                std::to_string(P) + " parameters; need at least as many measurements as parameters "
                                "(or a prior)");
  if (terms.empty()) throw std::invalid_argument("fit: no measurements");
  std::vector<double> x0(start.begin(), start.end());
  if (x0.empty()) x0.assign(d.init, d.init + P);
  if (x0.size() != P) throw std::invalid_argument("fit: start must have " + std::to_string(P) + " values");
  const std::span<const double> lower(d.lower, P), upper(d.upper, P);
  const ResidualFunction residual = make_residual<Tpl>(rows, columns, terms, options.residual, prior, options.cancel);
  const std::size_t m = terms.size() + prior.count();

  ClosedFormFit out;
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> trial(P), first, winner;
  const int n_starts = std::max(options.n_starts, 1);
  for (int s = 0; s < n_starts; ++s) {
    for (std::size_t j = 0; j < P; ++j) {
      const double factor = s == 0 ? 1.0 : std::exp(options.start_spread * normal(rng));
      trial[j] = std::clamp(x0[j] * factor, lower[j], upper[j]);
    }
    if (s == 0) first = trial;
    FitResult r = levenberg_marquardt(m, P, residual, trial, lower, upper, options.least_squares);
    ++out.starts;
    out.starts_converged += r.converged ? 1 : 0;
    if (s == 0 || r.cost < out.best.cost || !std::isfinite(out.best.cost)) {
      out.best = std::move(r);
      out.best_start = s;
      winner = trial;
    }
  }
  // A parameter no measurement depends on (pp_bubble without pp > 1 rows) ends at its start value, not at the
  // winning start's random shift of it: a later prediction that depends on it must not depend on the seed.
  if (winner != first) restore_unseen_starts(m, residual, first, winner, out.best.params);
  return out;
}

template <class Fn>
auto dispatch(TemplateId id, Fn&& fn) {
  switch (id) {
    case TemplateId::Energy: return fn(EnergyTemplate{});
    case TemplateId::Latency: return fn(LatencyTemplate{});
  }
  throw std::invalid_argument("unknown template id " + std::to_string(static_cast<int>(id)));
}

void check_columns(const void* columns, std::size_t rows) {
  if (rows > 0 && columns == nullptr) throw std::invalid_argument("evaluate: no feature columns");
}

}  // namespace

const TemplateDescriptor& describe(TemplateId id) {
  switch (id) {
    case TemplateId::Energy: return EnergyTemplate::descriptor();
    case TemplateId::Latency: return LatencyTemplate::descriptor();
  }
  throw std::invalid_argument("unknown template id " + std::to_string(static_cast<int>(id)));
}

template <typename T>
void evaluate(TemplateId id, std::size_t rows, const T* const* columns, std::span<const double> params,
              T* out0, T* out1, T* out2, T* jacobian0, T* jacobian1, BroadcastMask broadcast) {
  check_columns(columns, rows);
  dispatch(id, [&](auto tpl) {
    using Tpl = decltype(tpl);
    if (params.size() != Tpl::kParams)
      throw std::invalid_argument("evaluate: " + std::to_string(params.size()) + " parameters given, the " +
                                  Tpl::descriptor().id + " template has " + std::to_string(Tpl::kParams));
    if (Tpl::kFeatures < 32 && (broadcast >> Tpl::kFeatures) != 0)
      throw std::invalid_argument("evaluate: broadcast mask names columns beyond the template's " +
                                  std::to_string(Tpl::kFeatures) + " features");
    evaluate_rows<Tpl, T>(rows, columns, params, out0, out1, out2, jacobian0, jacobian1, broadcast);
    return 0;
  });
}

template void evaluate<double>(TemplateId, std::size_t, const double* const*, std::span<const double>, double*,
                               double*, double*, double*, double*, BroadcastMask);
template void evaluate<float>(TemplateId, std::size_t, const float* const*, std::span<const double>, float*,
                              float*, float*, float*, float*, BroadcastMask);

template <typename T>
void evaluate_replicates(TemplateId id, std::size_t rows, const T* const* columns, std::span<const double> params,
                         std::size_t replicates, T* out0, T* out1, BroadcastMask broadcast) {
  check_columns(columns, rows);
  dispatch(id, [&](auto tpl) {
    using Tpl = decltype(tpl);
    if (params.size() != replicates * Tpl::kParams)
      throw std::invalid_argument("evaluate_replicates: " + std::to_string(params.size()) + " parameter values for " +
                                  std::to_string(replicates) + " replicates of the " + Tpl::descriptor().id +
                                  " template's " + std::to_string(Tpl::kParams) + " parameters");
    if (Tpl::kFeatures < 32 && (broadcast >> Tpl::kFeatures) != 0)
      throw std::invalid_argument("evaluate_replicates: broadcast mask names columns beyond the template's " +
                                  std::to_string(Tpl::kFeatures) + " features");
    if (rows > 0 && replicates > 0)
      evaluate_replicate_rows<Tpl, T>(rows, columns, params, replicates, out0, out1, broadcast);
    return 0;
  });
}

template void evaluate_replicates<double>(TemplateId, std::size_t, const double* const*, std::span<const double>,
                                          std::size_t, double*, double*, BroadcastMask);
template void evaluate_replicates<float>(TemplateId, std::size_t, const float* const*, std::span<const double>,
                                         std::size_t, float*, float*, BroadcastMask);

template <typename T>
bool evaluate_in_domain(TemplateId id, std::size_t rows, const T* const* columns, std::span<const double> params,
                        T* out0, T* out1, BroadcastMask broadcast, std::span<const T> lower) {
  check_columns(columns, rows);
  if (out0 == nullptr && rows > 0) throw std::invalid_argument("evaluate: no output array");
  return dispatch(id, [&](auto tpl) {
    using Tpl = decltype(tpl);
    if (params.size() != Tpl::kParams || (!lower.empty() && lower.size() != Tpl::kFeatures))
      throw std::invalid_argument("evaluate: " + std::to_string(params.size()) + " parameters and " +
                                  std::to_string(lower.size()) + " domain bounds given, the " +
                                  Tpl::descriptor().id + " template has " + std::to_string(Tpl::kParams) +
                                  " and " + std::to_string(Tpl::kFeatures));
    if (Tpl::kFeatures < 32 && (broadcast >> Tpl::kFeatures) != 0)
      throw std::invalid_argument("evaluate: broadcast mask names columns beyond the template's " +
                                  std::to_string(Tpl::kFeatures) + " features");
    return evaluate_rows<Tpl, T>(rows, columns, params, out0, out1, nullptr, nullptr, nullptr, broadcast,
                                 lower.empty() ? nullptr : lower.data());
  });
}

template bool evaluate_in_domain<double>(TemplateId, std::size_t, const double* const*, std::span<const double>,
                                         double*, double*, BroadcastMask, std::span<const double>);
template bool evaluate_in_domain<float>(TemplateId, std::size_t, const float* const*, std::span<const double>,
                                        float*, float*, BroadcastMask, std::span<const float>);

ClosedFormFit fit(TemplateId id, std::size_t rows, const double* const* columns,
                  std::span<const std::span<const double>> targets, std::span<const double> start,
                  const FitOptions& options) {
  check_columns(columns, rows);
  const std::vector<Term> terms = make_terms(rows, targets, options);
  return dispatch(id, [&](auto tpl) { return fit_terms<decltype(tpl)>(rows, columns, terms, start, options); });
}

BootstrapResult bootstrap(TemplateId id, std::size_t rows, const double* const* columns,
                          std::span<const std::span<const double>> targets, std::span<const double> start,
                          int replicates, const FitOptions& options) {
  check_columns(columns, rows);
  if (replicates < 1) throw std::invalid_argument("bootstrap: replicates must be >= 1");
  if (rows == 0) throw std::invalid_argument("bootstrap: no rows");
  const std::vector<Term> all_terms = make_terms(rows, targets, options);
  const std::size_t P = describe(id).n_params;
  BootstrapResult result;
  result.replicates = static_cast<std::size_t>(replicates);
  result.n_params = P;
  result.params.assign(static_cast<std::size_t>(replicates) * P, 0.0);
  result.converged.assign(static_cast<std::size_t>(replicates), 0);
  result.costs.assign(static_cast<std::size_t>(replicates), 0.0);
  std::vector<double>& params = result.params;
  std::vector<std::uint8_t>& converged = result.converged;
  std::vector<double>& costs = result.costs;
  // Terms grouped by row, so a resampled row brings all of its measured outputs.
  std::vector<std::vector<std::size_t>> by_row(rows);
  for (std::size_t t = 0; t < all_terms.size(); ++t) by_row[all_terms[t].row].push_back(t);
  FitOptions single = options;
  single.n_starts = 1;
  const int threads = std::min(max_threads(), replicates);
  run_chunks(static_cast<std::size_t>(replicates), threads, [&](std::size_t replicate, int) {
    if (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed)) throw FitCancelled();
    const int b = static_cast<int>(replicate);
    std::mt19937_64 rng(options.seed * 1000003ULL + static_cast<std::uint64_t>(b));
    std::uniform_int_distribution<std::size_t> pick(0, rows - 1);
    std::vector<Term> terms;
    terms.reserve(all_terms.size());
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t t : by_row[pick(rng)]) terms.push_back(all_terms[t]);
    try {
      const ClosedFormFit f =
          dispatch(id, [&](auto tpl) { return fit_terms<decltype(tpl)>(rows, columns, terms, start, single); });
      std::copy(f.best.params.begin(), f.best.params.end(), params.begin() + static_cast<long>(b * P));
      converged[static_cast<std::size_t>(b)] = f.best.converged ? 1 : 0;
      costs[static_cast<std::size_t>(b)] = f.best.cost;
    } catch (const std::invalid_argument&) {
      // A resample with too few distinct measurements: mark it, keep going.
      std::fill(params.begin() + static_cast<long>(b * P), params.begin() + static_cast<long>((b + 1) * P),
                std::nan(""));
      costs[static_cast<std::size_t>(b)] = std::nan("");
    }
    if (options.replicates_done != nullptr) options.replicates_done->fetch_add(1, std::memory_order_relaxed);
  });
  return result;
}

}  // namespace energylens
