// The search's vectorised fixed-batch block path (search_engine.hpp, internal): run() hands each thread
// chunks of kBlock consecutive candidates; fixed_block checks structure and memory without a template
// (fill_block: per candidate with few workload points, fill_run; by vectorised runs of one batch value with
// many, fill_segment), compacts the survivors into feature columns, evaluates the latency template over
// them (eval_block), applies the latency limits (limit_pass), evaluates the energy template over the
// survivors, and offers them to the thread's reductions after a vectorised pre-test (offer_rows). Every
// value is computed by the same operations as the scalar path (search_engine.cpp), so both give the same
// bits; tests/search/test_search_block_paths.py checks both fill paths against the NumPy brute force.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "energylens/parallel.hpp"
#include "energylens/template_common.hpp"
#include "search_engine.hpp"

namespace energylens::search::engine {

/// Scratch of the vectorised fixed-batch path (one per thread). Rows hold only the candidates that passed
/// the checks needing no template (structure, memory), compacted. A row's columns are of three kinds: the
/// combo's (static), the outer's (tp, pp, dp, ep and what follows from them) and the candidate's own (batch
/// and workload); the first two are rewritten only when the row's combo / outer changes, since consecutive
/// blocks mostly lie in one outer (the inner axes, batch x workload, are the fastest).
struct Block {
  alignas(64) double cols[F][kBlock];  ///< feature columns of the rows
  /// template outputs per row: energy (prefill, decode, step), latency (TTFT, TPOT, prefill stall B_r t_pf)
  double pf[kBlock], dec[kBlock], step[kBlock], ttft[kBlock], tpot[kBlock], aux[kBlock];
  double mem[kBlock], rank_batch[kBlock], obj[kBlock];  ///< bytes per GPU, batch per DP rank, objective
  std::uint64_t index[kBlock];  ///< candidate index of each row
  std::int64_t flag[kBlock];    ///< scratch: rows the offers look at (0 / 1, the width of a double: vectorises)
  std::size_t combo[kBlock];    ///< combo whose static columns the row holds (SIZE_MAX: none yet)
  std::uint64_t outer[kBlock];  ///< outer (index / (nb nw)) whose outer columns the row holds
  std::uint32_t sel[kBlock];    ///< scratch: rows kept by a pass
  double batch_all[kBlock], w_step[kBlock];  ///< scratch: a run's template batch and weight bytes per batch value
  double run_mem[kBlock];                    ///< scratch: a run's memory per candidate (fill_run)
  /// Per workload point, for the (combo, tp) of `table_combo`, `table_tp`: the features that depend on
  /// (combo, tp, workload), the context and unreplicated KV bytes per token of the memory check, and 1 / 0:
  /// the point fits in the model's context window (kernel::beyond_context). Built once per (combo, tp) a
  /// thread meets instead of twice per candidate (a division or two each time).
  std::vector<double> kv, attn, attn_prefill, prefill, ctx, full, kv1, in_context;
  std::size_t table_combo = static_cast<std::size_t>(-1);  ///< combo of the workload tables (SIZE_MAX: none)
  std::uint64_t table_tp = 0;                               ///< tp digit of the workload tables
  /// Empty rows and workload tables for `nw` workload points.
  explicit Block(std::size_t nw)
      : kv(nw), attn(nw), attn_prefill(nw), prefill(nw), ctx(nw), full(nw), kv1(nw), in_context(nw) {
    std::fill(combo, combo + kBlock, static_cast<std::size_t>(-1));
    std::fill(outer, outer + kBlock, ~std::uint64_t{0});
  }
};

void BlockDelete::operator()(Block* b) const noexcept { delete b; }

BlockPtr make_block(std::size_t nw) { return BlockPtr(new Block(nw)); }

namespace {

// Workload points from which a run of one batch value is filled by vectorised copies (fill_segment) rather
// than candidate by candidate (fill_run): measured on the bench spaces (40 points: 10 % faster; 1 point: the
// per-run calls cost 1.7x).
constexpr std::uint64_t kSegment = 8;

// Points of each Pareto front the offers' vectorised pre-test compares a row with (offer_candidates).
constexpr std::size_t kCorners = 8;

// The template on a block of rows, vectorised: one __restrict pointer per feature column (the
// evaluator's form, closed_form.cpp).
template <class Tpl, typename... Columns>
ENERGYLENS_CLONES void eval_columns(long rows, const double* p, double* __restrict o0, double* __restrict o1,
                                    double* __restrict o2, const Columns* __restrict... c) {
#pragma GCC ivdep
  for (long i = 0; i < rows; ++i) {
    const double f[] = {c[i]...};
    double a, b, s;
    Tpl::eval(f, p, a, b, s, static_cast<double*>(nullptr), static_cast<double*>(nullptr),
              static_cast<double*>(nullptr));
    o0[i] = a;
    o1[i] = b;
    o2[i] = s;
  }
}

template <class Tpl, std::size_t... K>
void eval_block(std::index_sequence<K...>, long rows, double (*cols)[kBlock], const double* p, double* o0,
                double* o1, double* o2) {
  eval_columns<Tpl>(rows, p, o0, o1, o2, static_cast<const double*>(cols[K])...);
}

// The candidate's own columns; kOuterCols are set per (combo, tp, pp, dp, ep); the rest are the combo's.
constexpr std::size_t kRowCols[] = {roofline::kBatch, roofline::kInputTokens, roofline::kOutputTokens,
                                    roofline::kWeightBytesPerStep, roofline::kPrefillExtraFlops,
                                    roofline::kKvBytesPerToken, roofline::kAttnFlopsPerTokenCtx,
                                    roofline::kPrefillAttnFlopsPerTokenCtx};
constexpr std::size_t kOuterCols[] = {roofline::kTp, roofline::kPp, roofline::kDp, roofline::kEp,
                                      roofline::kA2aMoeLayers, roofline::kLinkBytesPerS, roofline::kA2aBytesPerS,
                                      roofline::kPpScaleOutHops};
// (kLinkBytesPerS: the TP all-reduce's link, the scale-up link, or min(link, scale-out) where tp exceeds a
// domain smaller than a server: H100 / H200 NVL bridge pairs)
constexpr bool is_static(std::size_t k) {
  for (std::size_t c : kRowCols)
    if (c == k) return false;
  for (std::size_t c : kOuterCols)
    if (c == k) return false;
  return true;
}

// The workload tables of `blk` for the (combo, tp) of `d`: the same calls, on the same values, as the
// per-candidate code (kernel::fill_features, kernel::kv_bytes), so every feature keeps its bits.
void workload_tables(const Ctx& x, Digits d, Block& blk) {
  if (blk.table_combo == d.c && blk.table_tp == d.tp) return;
  const double* v = combo(x, d);
  for (std::uint64_t w = 0; w < x.nw; ++w) {
    const double in = x.in_tokens[w], out = x.out_tokens[w];
    kernel::attention_features(v, x.s.tp[d.tp], in, out, blk.kv[w], blk.attn[w], blk.attn_prefill[w]);
    double attn = 0, attn_prefill = 0;
    kernel::attention_features(v, 1.0, in, out, blk.kv1[w], attn, attn_prefill);
    blk.ctx[w] = in + 0.5 * out;
    blk.full[w] = in + out;
    blk.in_context[w] = kernel::beyond_context(v, in, out) ? 0.0 : 1.0;
    d.w = w;
    blk.prefill[w] = kernel::prefill_extra(x.view, d);
  }
  blk.table_combo = d.c;
  blk.table_tp = d.tp;
}

// The outer's and (if its combo changed) the combo's columns into row r.
void outer_columns(const Ctx& x, const Digits& d, const Outer& out, std::uint64_t oid, Block& blk, std::size_t r) {
  const double* v = combo(x, d);
  if (blk.combo[r] != d.c) {
    for (std::size_t k = 0; k < F; ++k)
      if (is_static(k)) blk.cols[k][r] = v[k];
    blk.combo[r] = d.c;
  }
  const double dp = x.s.dp[d.dp], ep = x.s.ep[d.ep];
  blk.cols[roofline::kTp][r] = x.s.tp[d.tp];
  blk.cols[roofline::kPp][r] = x.s.pp[d.pp];
  blk.cols[roofline::kDp][r] = dp;
  blk.cols[roofline::kEp][r] = ep;
  blk.cols[roofline::kA2aMoeLayers][r] = kernel::a2a_layers(v, dp);
  blk.cols[roofline::kLinkBytesPerS][r] = out.tp_link;  // topology of (combo, tp, pp, ep): outer_info
  blk.cols[roofline::kA2aBytesPerS][r] = out.a2a_link;
  blk.cols[roofline::kPpScaleOutHops][r] = out.hops;
  blk.outer[r] = oid;
}

// GPU-seconds per request of row i (the block's form of evaluate_one's; blk.aux holds the prefill stall).
double gpu_seconds(const Ctx& x, const Block& blk, std::size_t i) {
  const double nd = blk.cols[roofline::kTp][i] * blk.cols[roofline::kPp][i];
  const double* v = x.combos.data() + blk.combo[i] * kNumComboFields;
  return nd * kernel::time_in_system(v, blk.ttft[i], blk.tpot[i], blk.aux[i], blk.cols[roofline::kOutputTokens][i]) /
         blk.rank_batch[i];
}

// One (outer, batch) run of workload points [w0, w0 + n) whose first candidate is `first`.
struct Segment {
  const Digits& d;  // d.b is the batch digit
  const Outer& out;
  std::uint64_t oid, w0, n, first;
};

// One workload-table column (`src` at the run's first point) copied into rows [0, n) of `dst`: point k, or sel[k].
ENERGYLENS_CLONES void copy_column(long n, const double* __restrict src, const std::uint32_t* sel,
                                   double* __restrict dst) {
  if (sel == nullptr) {
    for (long k = 0; k < n; ++k) dst[k] = src[k];
  } else {
    for (long k = 0; k < n; ++k) dst[k] = src[sel[k]];
  }
}

// Rows [rows, rows + n) from points w0 + k (or w0 + sel[k]) of segment g: the candidate's columns (copies
// from the workload tables), the outer's where a row held another outer.
void put_rows(const Ctx& x, const Segment& g, Block& blk, std::size_t rows, std::size_t n, const std::uint32_t* sel) {
  const double batch = x.s.max_num_seqs[g.d.b], dp = x.s.dp[g.d.dp];
  const double w_step = kernel::weight_step_bytes(combo(x, g.d), x.s.tp[g.d.tp], dp, x.s.ep[g.d.ep], dp * batch);
  const auto m = static_cast<long>(n);
  copy_column(m, x.in_tokens.data() + g.w0, sel, blk.cols[roofline::kInputTokens] + rows);
  copy_column(m, x.out_tokens.data() + g.w0, sel, blk.cols[roofline::kOutputTokens] + rows);
  copy_column(m, blk.prefill.data() + g.w0, sel, blk.cols[roofline::kPrefillExtraFlops] + rows);
  copy_column(m, blk.kv.data() + g.w0, sel, blk.cols[roofline::kKvBytesPerToken] + rows);
  copy_column(m, blk.attn.data() + g.w0, sel, blk.cols[roofline::kAttnFlopsPerTokenCtx] + rows);
  copy_column(m, blk.attn_prefill.data() + g.w0, sel, blk.cols[roofline::kPrefillAttnFlopsPerTokenCtx] + rows);
  std::fill_n(blk.cols[roofline::kBatch] + rows, n, dp * batch);  // the template's batch: all data-parallel ranks
  std::fill_n(blk.cols[roofline::kWeightBytesPerStep] + rows, n, w_step);
  std::fill_n(blk.rank_batch + rows, n, batch);
  for (std::size_t k = 0; k < n; ++k) blk.index[rows + k] = g.first + (sel == nullptr ? k : sel[k]);
  for (std::size_t r = rows; r < rows + n; ++r)
    if (blk.outer[r] != g.oid) outer_columns(x, g.d, g.out, g.oid, blk, r);
}

// Bytes per GPU of one point (weights, reserve, KV cache and recurrent state: kernel::kv_bytes's
// kernel::cache_bytes on the same values, so every ISA level rounds alike). ctx / full: the workload's mean
// and whole-sequence tokens, kv1 its KV bytes per token.
inline double point_memory(const Outer& out, double batch, double ctx, double full, double kv1) {
  return out.fixed_bytes + kernel::cache_bytes(out, batch, ctx, full, kv1);
}

// point_memory of a hybrid whose stages kernel::pattern_slots weighed (out.n_slots > 0).
inline double pattern_memory(const Outer& out, double batch, double ctx, double full, double kv1) {
  return out.fixed_bytes + kernel::pattern_cache_bytes(out, batch, ctx, full, kv1);
}

// point_memory of n points into mem; returns how many fit (inside the context window and in memory; a NaN
// memory fits, as in the per-candidate check) and counts the points beyond the context window in `beyond`.
ENERGYLENS_CLONES std::size_t kv_memory(long n, const Outer& out, double batch, const double* __restrict ctx,
                                        const double* __restrict full, const double* __restrict kv1,
                                        const double* __restrict in_context, double* __restrict mem,
                                        std::size_t& beyond) {
  const double usable = out.usable_bytes;
  std::size_t fit = 0, outside = 0;
  if (out.n_slots > 0) {  // a hybrid's stages (rare): a loop of its own, so the one below stays as it was
    for (long k = 0; k < n; ++k) {
      mem[k] = pattern_memory(out, batch, ctx[k], full[k], kv1[k]);
      const bool inside = in_context[k] != 0.0;
      outside += !inside;
      fit += inside & !(mem[k] > usable);
    }
    beyond = outside;
    return fit;
  }
  for (long k = 0; k < n; ++k) {
    mem[k] = point_memory(out, batch, ctx[k], full[k], kv1[k]);
    const bool inside = in_context[k] != 0.0;
    outside += !inside;
    fit += inside & !(mem[k] > usable);
  }
  beyond = outside;
  return fit;
}

// Segment g into the block from row `rows`: the KV-cache memory check per point (rejections counted),
// the points that fit appended. Returns the new row count.
std::size_t fill_segment(const Ctx& x, const Segment& g, Block& blk, std::size_t rows, Local& local) {
  const double batch = x.s.max_num_seqs[g.d.b];
  double* mem = blk.mem + rows;
  std::size_t beyond = 0;
  const std::size_t fit =
      kv_memory(static_cast<long>(g.n), g.out, batch, blk.ctx.data() + g.w0, blk.full.data() + g.w0,
                blk.kv1.data() + g.w0, blk.in_context.data() + g.w0, mem, beyond);
  local.rejected[static_cast<std::size_t>(Reason::ContextLength)] += beyond;
  local.rejected[static_cast<std::size_t>(Reason::MemoryKvCache)] += g.n - fit - beyond;
  if (fit == g.n) {
    put_rows(x, g, blk, rows, fit, nullptr);
  } else if (fit > 0) {  // the points that fit, moved up
    std::size_t k = 0;
    for (std::size_t j = 0; j < g.n; ++j) {
      blk.sel[k] = static_cast<std::uint32_t>(j);
      k += (blk.in_context[g.w0 + j] != 0.0) & !(mem[j] > g.out.usable_bytes);
    }
    for (k = 0; k < fit; ++k) mem[k] = mem[blk.sel[k]];
    put_rows(x, g, blk, rows, fit, blk.sel);
  }
  return rows + fit;
}

// Candidates at positions [p, end) of outer `oid` (position b nw + w inside it, digits `d` apart from b
// and w) into the block from row `rows`, each with its KV-cache memory check (a candidate that fails is
// counted and its row reused): the features from the workload tables and from this run's batch values.
// Returns the new row count. A plain loop per candidate: with a single workload point (the CLI's case) a
// run of one batch value is one candidate, so per-run work would cost as much as the candidates.
std::size_t fill_run(const Ctx& x, const Digits& d, const Outer& out, std::uint64_t oid, std::uint64_t p,
                     std::uint64_t end, Block& blk, std::size_t rows, Local& local) {
  const double dp = x.s.dp[d.dp];
  const std::uint64_t b0 = p / x.nw;
  for (std::uint64_t b = b0; b <= (end - 1) / x.nw; ++b) {  // as the per-candidate code, once per batch value
    const double batch_all = dp * x.s.max_num_seqs[b];  // the template's batch: all data-parallel ranks
    blk.batch_all[b - b0] = batch_all;
    blk.w_step[b - b0] = kernel::weight_step_bytes(combo(x, d), x.s.tp[d.tp], dp, x.s.ep[d.ep], batch_all);
  }
  // The memory of every candidate first: in the row loop below the next row depends on whether this one
  // fits, and with the division inside that loop each candidate waited for the previous one's.
  std::uint64_t b = b0, w = p % x.nw;
  for (std::uint64_t q = p; q < end; ++q) {
    blk.run_mem[q - p] = out.n_slots > 0 ? pattern_memory(out, x.s.max_num_seqs[b], blk.ctx[w], blk.full[w], blk.kv1[w])
                                         : point_memory(out, x.s.max_num_seqs[b], blk.ctx[w], blk.full[w], blk.kv1[w]);
    if (++w == x.nw) {
      w = 0;
      ++b;
    }
  }
  const std::uint64_t first = oid * x.nb * x.nw;
  std::uint64_t failed = 0, beyond = 0;
  b = b0;
  w = p % x.nw;
  for (std::uint64_t q = p; q < end; ++q) {
    const std::size_t r = rows;
    if (blk.outer[r] != oid) outer_columns(x, d, out, oid, blk, r);
    const double mem = blk.run_mem[q - p];
    blk.cols[roofline::kInputTokens][r] = x.in_tokens[w];
    blk.cols[roofline::kOutputTokens][r] = x.out_tokens[w];
    blk.cols[roofline::kPrefillExtraFlops][r] = blk.prefill[w];
    blk.cols[roofline::kKvBytesPerToken][r] = blk.kv[w];
    blk.cols[roofline::kAttnFlopsPerTokenCtx][r] = blk.attn[w];
    blk.cols[roofline::kPrefillAttnFlopsPerTokenCtx][r] = blk.attn_prefill[w];
    blk.cols[roofline::kBatch][r] = blk.batch_all[b - b0];
    blk.cols[roofline::kWeightBytesPerStep][r] = blk.w_step[b - b0];
    blk.rank_batch[r] = x.s.max_num_seqs[b];
    blk.mem[r] = mem;
    blk.index[r] = first + q;
    // branch-free (a NaN memory fits, as in the per-candidate check); the context window is checked first
    const bool inside = blk.in_context[w] != 0.0;
    const bool fits = inside & !(mem > out.usable_bytes);
    rows += fits;
    beyond += !inside;
    failed += inside & !fits;
    if (++w == x.nw) {
      w = 0;
      ++b;
    }
  }
  local.rejected[static_cast<std::size_t>(Reason::ContextLength)] += beyond;
  local.rejected[static_cast<std::size_t>(Reason::MemoryKvCache)] += failed;
  return rows;
}

// Candidates [begin, begin + len) of the fixed-batch mode into the block (structure and memory checked,
// rejections counted); returns the rows filled.
std::size_t fill_block(const Ctx& x, std::uint64_t begin, std::size_t len, Block& blk, Local& local) {
  const std::uint64_t inner = x.nb * x.nw;  // candidates per outer
  std::size_t rows = 0;
  for (std::uint64_t i = 0; i < len;) {
    const std::uint64_t index = begin + i, oid = index / inner;
    const std::uint64_t pos = index % inner;
    const std::uint64_t end = pos + std::min<std::uint64_t>(inner - pos, len - i);
    Digits d = decode(x, index);
    const Outer out = outer_info(x, d);
    if (out.reason != kFeasible) {  // the rest of this outer in the block fails for the same reason
      local.rejected[static_cast<std::size_t>(out.reason)] += end - pos;
    } else {
      workload_tables(x, d, blk);
      if (x.nw >= kSegment) {
        for (std::uint64_t p = pos; p < end;) {  // runs of one batch value
          d.b = p / x.nw;
          const std::uint64_t w0 = p % x.nw, n = std::min<std::uint64_t>(x.nw - w0, end - p);
          rows = fill_segment(x, Segment{d, out, oid, w0, n, oid * inner + p}, blk, rows, local);
          p += n;
        }
      } else {
        rows = fill_run(x, d, out, oid, pos, end, blk, rows, local);
      }
    }
    i += end - pos;
  }
  return rows;
}

// Moves row i to row r < i (a candidate that passed the latency limits): its own columns, the outer's
// and combo's only when row r held another.
void move_row(Block& blk, std::size_t i, std::size_t r) {
  for (std::size_t k : kRowCols) blk.cols[k][r] = blk.cols[k][i];
  if (blk.outer[r] != blk.outer[i]) {
    for (std::size_t k = 0; k < F; ++k)
      if (!is_static(k) || blk.combo[r] != blk.combo[i]) blk.cols[k][r] = blk.cols[k][i];
    blk.outer[r] = blk.outer[i];
    blk.combo[r] = blk.combo[i];
  }
  blk.ttft[r] = blk.ttft[i];
  blk.tpot[r] = blk.tpot[i];
  blk.aux[r] = blk.aux[i];
  blk.mem[r] = blk.mem[i];
  blk.rank_batch[r] = blk.rank_batch[i];
  blk.index[r] = blk.index[i];
}

// Flags the rows that may enter the top-k (objective not above `worst`) or a front (no corner below them
// in both coordinates): offer_candidates' superset test. Comparisons only, so every ISA level flags alike.
ENERGYLENS_CLONES void open_rows(long n, const double* __restrict obj, const double* __restrict tpot,
                                 const double* __restrict ttft, const double* tx, const double* ty, const double* rx,
                                 const double* ry, double worst, bool pareto, std::int64_t* __restrict flag) {
  for (long i = 0; i < n; ++i) {
    bool open_t = true, open_r = true;
    for (std::size_t j = 0; j < kCorners; ++j) {
      open_t &= !((tpot[i] > tx[j]) & (obj[i] > ty[j]));
      open_r &= !((ttft[i] > rx[j]) & (obj[i] > ry[j]));
    }
    flag[i] = (!(obj[i] > worst)) | (pareto & (open_t | open_r));
  }
}

// Objective of each of the `kept` rows into blk.obj, and blk.sel the rows that may enter the top-k or a
// front: a vectorised superset test (the top-k's threshold, a few corners of each front) that leaves the
// exact tests (accepts, dominated) to the few rows it keeps.
std::size_t offer_candidates(const Ctx& x, Block& blk, std::size_t kept, const Local& local) {
  double tx[kCorners], ty[kCorners], rx[kCorners], ry[kCorners];
  local.front_tpot.corners(tx, ty, kCorners);
  local.front_ttft.corners(rx, ry, kCorners);
  const double worst = local.top.worst();
  const bool cost = x.lim.objective == static_cast<int>(Objective::Cost);
  for (std::size_t i = 0; i < kept; ++i) {
    const double* v = x.combos.data() + blk.combo[i] * kNumComboFields;
    double pf = blk.pf[i], dec = blk.dec[i];
    if (x.energy_calibrated) kernel::calibrate_energy(v, pf, dec);
    // GPU-seconds only where the objective needs them (the offers recompute them, the same expression)
    const double gpu_s = cost ? gpu_seconds(x, blk, i) : 0.0;
    blk.obj[i] = kernel::objective_of(x.lim, pf + dec, gpu_s, blk.cols[roofline::kOutputTokens][i],
                                      v[kPricePerGpuHour]);
  }
  open_rows(static_cast<long>(kept), blk.obj, blk.tpot, blk.ttft, tx, ty, rx, ry, worst, x.o.pareto, blk.flag);
  std::size_t n = 0;
  for (std::size_t i = 0; i < kept; ++i) {
    blk.sel[n] = static_cast<std::uint32_t>(i);
    n += static_cast<std::size_t>(blk.flag[i]);
  }
  return n;
}

// The reductions of the rows that passed every check (energy template evaluated).
void offer_rows(const Ctx& x, Block& blk, std::size_t kept, Local& local) {
  const std::size_t n = offer_candidates(x, blk, kept, local);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = blk.sel[k];
    const double obj = blk.obj[i];
    const std::uint64_t index = blk.index[i];
    const bool to_top = local.top.accepts(obj, index);
    const bool to_front = x.o.pareto && (!local.front_tpot.dominated(blk.tpot[i], obj, index) ||
                                         !local.front_ttft.dominated(blk.ttft[i], obj, index));
    if (!to_top && !to_front) continue;
    double pf = blk.pf[i], dec = blk.dec[i];
    if (x.energy_calibrated) kernel::calibrate_energy(x.combos.data() + blk.combo[i] * kNumComboFields, pf, dec);
    Candidate c;
    c.index = index;
    c.objective = obj;
    c.energy_j = pf + dec;
    c.prefill_j = pf;
    c.decode_j = dec;
    c.static_j = std::nan("");  // filled by evaluate_one for the candidates reported
    c.ttft_s = blk.ttft[i];
    c.tpot_s = blk.tpot[i];
    c.batch = blk.rank_batch[i];
    c.gpus = blk.cols[roofline::kTp][i] * blk.cols[roofline::kPp][i] * blk.cols[roofline::kDp][i];
    c.gpu_s_per_request = gpu_seconds(x, blk, i);
    c.memory_bytes = blk.mem[i];
    if (to_top) local.top.push(c);
    if (to_front) {
      local.front_tpot.insert(c.tpot_s, obj, c);
      local.front_ttft.insert(c.ttft_s, obj, c);
    }
  }
}

// Latency limits of n rows, in kernel::limit_reason's order (TTFT first; a NaN fails): flag[i] = 1 where
// row i passes; the failures per reason added to ttft_fail, tpot_fail. Comparisons only (vectorised).
ENERGYLENS_CLONES void limit_flags(long n, const double* __restrict ttft, const double* __restrict tpot,
                                   double ttft_limit, double tpot_limit, std::int64_t* __restrict flag,
                                   std::uint64_t& ttft_fail, std::uint64_t& tpot_fail) {
  std::uint64_t t_fail = 0, p_fail = 0;
  for (long i = 0; i < n; ++i) {
    const bool t = !(ttft[i] <= ttft_limit), p = !(tpot[i] <= tpot_limit);
    t_fail += t;
    p_fail += !t & p;
    flag[i] = !t & !p;
  }
  ttft_fail += t_fail;
  tpot_fail += p_fail;
}

// Rows that pass the latency limits moved up (rejections counted per reason); returns how many.
std::size_t limit_pass(const Ctx& x, Block& blk, std::size_t rows, Local& local) {
  limit_flags(static_cast<long>(rows), blk.ttft, blk.tpot, x.lim.ttft_limit_s, x.lim.tpot_limit_s, blk.flag,
              local.rejected[static_cast<std::size_t>(Reason::TtftLimit)],
              local.rejected[static_cast<std::size_t>(Reason::TpotLimit)]);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    blk.sel[kept] = static_cast<std::uint32_t>(i);
    kept += static_cast<std::size_t>(blk.flag[i]);
  }
  for (std::size_t k = 0; k < kept; ++k)
    if (blk.sel[k] != k) move_row(blk, blk.sel[k], k);
  return kept;
}

}  // namespace

void fixed_block(const Ctx& x, std::uint64_t begin, std::size_t len, Block& blk, Local& local) {
  const std::size_t rows = fill_block(x, begin, len, blk, local);
  if (rows == 0) return;
  eval_block<kernel::LatencyStall>(std::make_index_sequence<F>{}, static_cast<long>(rows), blk.cols, x.pl, blk.ttft,
                                   blk.tpot, blk.aux);
  for (std::size_t i = 0; x.latency_calibrated && i < rows; ++i) {  // latency calibration: the combo's factors
    const double* cv = x.combos.data() + blk.combo[i] * kNumComboFields;
    blk.ttft[i] *= cv[kTtftFactor];
    blk.tpot[i] *= cv[kTpotFactor];
  }
  const std::size_t kept = limit_pass(x, blk, rows, local);
  if (kept == 0) return;
  eval_block<EnergyTemplate>(std::make_index_sequence<F>{}, static_cast<long>(kept), blk.cols, x.pe, blk.pf,
                             blk.dec, blk.step);
  local.feasible += kept;
  offer_rows(x, blk, kept, local);
}

}  // namespace energylens::search::engine

namespace energylens::search {
namespace {

template <std::size_t... K>
void stall_columns(std::index_sequence<K...>, long rows, const double* const* c, const double* p, double* ttft,
                   double* tpot, double* stall) {
  engine::eval_columns<kernel::LatencyStall>(rows, p, ttft, tpot, stall, c[K]...);
}

}  // namespace

void latency_stall_block(std::size_t rows, const double* const* columns, const double* latency_params, double* ttft,
                         double* tpot, double* stall) {
  stall_columns(std::make_index_sequence<engine::F>{}, static_cast<long>(rows), columns, latency_params, ttft, tpot,
                stall);
}

void latency_stall(std::size_t rows, const double* const* columns, std::span<const double> latency_params,
                   double* ttft, double* tpot, double* stall) {
  constexpr std::size_t kChunk = 4096;  // rows per task handed to a thread
  if (latency_params.size() != LatencyTemplate::kParams)
    throw std::invalid_argument("latency_stall: expected " + std::to_string(LatencyTemplate::kParams) +
                                " latency parameters, got " + std::to_string(latency_params.size()));
  run_chunks((rows + kChunk - 1) / kChunk, threads_for(rows, 131072), [&](std::size_t chunk, int) {
    const std::size_t begin = chunk * kChunk, len = std::min(rows - begin, kChunk);
    const double* c[engine::F];
    for (std::size_t k = 0; k < engine::F; ++k) c[k] = columns[k] + begin;
    latency_stall_block(len, c, latency_params.data(), ttft + begin, tpot + begin, stall + begin);
  });
}

}  // namespace energylens::search
