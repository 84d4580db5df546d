// Template features per row from a table's columns and per-combination constants, evaluated in cache.
// Every formula below is python/energylens/profiles/features.py's, written in the same operation order;
// this translation unit is built with -ffp-contract=off (cpp/CMakeLists.txt), so its AVX2 / AVX-512
// loops round every operation as NumPy does.
#include "energylens/row_features.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "energylens/parallel.hpp"
#include "energylens/roofline.hpp"
#include "energylens/search.hpp"
#include "energylens/topology.hpp"

namespace energylens::rows {

namespace {

namespace rf = energylens::roofline;

// Rows whose features are built and evaluated together: 22 columns of 1024 doubles (176 KB) stay in L2.
constexpr std::size_t kBlockRows = 1024;
// Distance between a block's scratch columns, in values: 16 more than a block, so that the ~40 columns a
// block streams do not all fall in the same L1 sets (columns 8 KB apart alias to one set).
constexpr std::size_t kStride = kBlockRows + 16;
// Rows handed to a thread at a time (on demand, so a descheduled thread holds up one chunk only).
constexpr std::size_t kChunkRows = 16 * kBlockRows;
// Fewest rows worth a thread: building the features costs several times the evaluation per row.
constexpr std::size_t kMinRowsPerThread = 32768;

void check_code(std::int64_t code, std::size_t size, const char* column, std::size_t row) {
  if (code < 0 || static_cast<std::size_t>(code) >= size)
    throw std::invalid_argument(std::string("predict rows: ") + column + " code " + std::to_string(code) +
                                " at row " + std::to_string(row) + " is outside [0, " + std::to_string(size) + ")");
}

// The combination of row i: (model x n_gpu + gpu) x n_precision + precision; std::invalid_argument for a
// code out of range (one branch per row; a negative code wraps to a huge unsigned value).
inline std::size_t checked_combo(const RowColumns& r, std::size_t n_models, std::size_t i) {
  const auto m = static_cast<std::uint64_t>(r.model[i]), g = static_cast<std::uint64_t>(r.gpu[i]);
  const std::uint64_t p = r.precision == nullptr ? 0 : static_cast<std::uint64_t>(r.precision[i]);
  if ((m >= n_models) | (g >= r.n_gpu) | (p >= r.n_precision)) {
    check_code(r.model[i], n_models, "model", i);
    check_code(r.gpu[i], r.n_gpu, "gpu", i);
    check_code(r.precision[i], r.n_precision, "precision", i);  // precision non-null: p was in range otherwise
  }
  return (m * r.n_gpu + g) * r.n_precision + p;
}

// The MoE weight bytes all GPUs stream per decode step (profiles/step_weights.py step_weight_bytes with
// dp = ep = 1: one copy of the experts, no EP imbalance). Scalar: pow has no vector form that rounds like
// NumPy's; `given`: the row's touched fraction computed by the caller (RowColumns::touch), or null.
double moe_weight_bytes(const double* v, double P, double Pa, double B, const double* given) {
  const double E = v[kExperts], k = v[kExpertsPerToken];
  const double frac = k / E;
  const double lm = P - std::min(v[kVisionParams], std::max(P - Pa, 0.0));
  const double n_exp = std::max(lm - Pa, 0.0) / (1.0 - frac);
  const double shared = lm - n_exp;
  const double body = shared - std::min(v[kEmbeddingParams], std::max(shared, 0.0));
  const double copies = 1.0;
  const double touch = given != nullptr ? *given : 1.0 - std::pow(1.0 - k / E, std::max(B / copies, 1.0));
  return (1.0 * v[kSharedBytesPerParam]) * body + 1.0 * v[kHeadBytes] +
         ((copies * touch) * 1.0) * v[kBytesPerParam] * n_exp;
}

// Feature columns a block owns (the others are the table's own columns, read in place).
enum Owned : int {
  oLayers = 0, oDModel, oActive, oWeight, oKv, oAttn, oExtra, oPeak, oHbm, oTdp, oLink, oDp, oEp, oA2a, oK, oState,
  oMoeLayers, oAttnPf, oA2aLink, oScaleOut, oHops, kNumOwned
};

// Per participant: the block's combination indices, owned feature columns and its share of the tally.
struct Scratch {
  std::vector<std::uint32_t> combo;
  std::vector<double> owned;  // kNumOwned feature columns, then kNumGathered gathered fields
  std::vector<std::uint8_t> flags;
  RangeTally tally;
};

// Combination fields the block's arithmetic reads, gathered into contiguous columns first (a scalar
// gather per field: the vectoriser's gathers are off for this CPU family), then read by the vectorised loop.
constexpr int kGathered[] = {kFillActive, kFillTotal, kArchRatio, kSlidingLayers, kAttentionLayers, kWindowTokens,
                             kKvHeads, kKvBytesConst, kAttnFlopsConst, kBytesPerParam,
                             kPrefillAttnFlopsConst, kEmbeddingParams, kHeadBytes};
constexpr std::size_t kNumGathered = sizeof(kGathered) / sizeof(kGathered[0]);
// Combination fields that are features as they are, and the owned column each goes to.
constexpr int kCopied[][2] = {{kLayers, oLayers},           {kDModel, oDModel},
                              {kPeakFlopsPerS, oPeak},       {kHbmBytesPerS, oHbm},
                              {kTdpW, oTdp},                 {kLinkBytesPerS, oLink},
                              {kExpertsPerToken, oK},        {kStateBytes, oState},
                              {kMoeLayersFeature, oMoeLayers}, {kLinkBytesPerS, oA2aLink},
                              {kScaleOutBytesPerS, oScaleOut}};

// Every combination field a block reads, and the scratch column (kStride apart, owned columns
// first, then the gathered ones) it goes to.
constexpr std::size_t kNumMoved = kNumGathered + sizeof(kCopied) / sizeof(kCopied[0]);
constexpr std::array<std::array<int, 2>, kNumMoved> moved() {
  std::array<std::array<int, 2>, kNumMoved> out{};
  for (std::size_t q = 0; q < kNumGathered; ++q) out[q] = {kGathered[q], kNumOwned + static_cast<int>(q)};
  for (std::size_t q = 0; q < kNumMoved - kNumGathered; ++q) out[kNumGathered + q] = {kCopied[q][0], kCopied[q][1]};
  return out;
}
constexpr auto kMoved = moved();

// One row's combination values (row-major `v`) into their scratch columns at position j: one read of the
// row's code, every store at a fixed offset from one base.
template <std::size_t... Q>
inline void gather_row(const double* v, double* base, std::size_t j, std::index_sequence<Q...>) {
  ((base[static_cast<std::size_t>(kMoved[Q][1]) * kStride + j] = v[kMoved[Q][0]]), ...);
}

// The arithmetic of one block, row by row without branches (selects, every value loaded, conditions
// combined without short circuits), so that it vectorises: the active parameters (light.py's fill of
// active_params_b, then features.py's _architecture), the dense weight bytes, the sliding-window share
// of the KV bytes and attention FLOPs and the KV-head replication. `g` holds the gathered fields
// (kGathered order, kStride apart). Inlined into one wrapper per instruction-set level.
template <bool Replicate, bool Sliding>
inline __attribute__((always_inline)) void block_loop(const double* __restrict params_b, const double* __restrict tp,
                                                      const double* __restrict li, const double* __restrict lo,
                                                      const double* __restrict g, std::size_t len,
                                                      double* __restrict o) {
  const double* __restrict fill_active = g;
  const double* __restrict fill_total = g + kStride;
  const double* __restrict ratio = g + 2 * kStride;
  const double* __restrict sliding = g + 3 * kStride;
  const double* __restrict attention_layers = g + 4 * kStride;
  const double* __restrict window = g + 5 * kStride;
  const double* __restrict kv_heads = g + 6 * kStride;
  const double* __restrict kv_const = g + 7 * kStride;
  const double* __restrict attn_const = g + 8 * kStride;
  const double* __restrict bpp = g + 9 * kStride;
  const double* __restrict attn_pf_const = g + 10 * kStride;
  const double* __restrict embeddings = g + 11 * kStride;
  const double* __restrict head_bytes = g + 12 * kStride;
  double* __restrict active = o + oActive * kStride;
  double* __restrict weight = o + oWeight * kStride;
  double* __restrict kv = o + oKv * kStride;
  double* __restrict attn = o + oAttn * kStride;
  double* __restrict attn_pf = o + oAttnPf * kStride;
#pragma GCC ivdep
  for (std::size_t j = 0; j < len; ++j) {
    const double P = params_b[j] * 1e9;
    const double filled = params_b[j] * fill_active[j] / fill_total[j];
    const double Pa = (std::isnan(filled) ? params_b[j] : filled) * 1e9;
    const bool given = std::isfinite(Pa) & (Pa > 0);
    const double by_ratio = std::isnan(ratio[j]) ? Pa : P * ratio[j];
    const double Pa2 = given ? Pa : by_ratio;  // nested selects: (given || isnan) does not vectorise
    const double act = (std::isfinite(Pa2) & (Pa2 > 0)) ? Pa2 : P;
    const double ctx = li[j] + 0.5 * lo[j];
    double ws = 1.0;  // no combination has sliding-window layers: features.py's where(...) gives 1
    if constexpr (Sliding) {
      const double ns = sliding[j], La = attention_layers[j];
      const double share = (La - ns + ns * std::min(ctx, window[j]) / std::max(ctx, 1.0)) / La;
      ws = ns > 0 ? share : 1.0;
    }
    double rep = 1.0;  // a run-time select here keeps GCC 12 from vectorising the loop: a template argument
    if constexpr (Replicate) rep = std::max(tp[j] / kv_heads[j], 1.0);
    active[j] = act;
    // dense (step_weights.py): the embeddings out of the format's count, the lm_head at its own bytes; MoE
    // rows are redone after the loop
    weight[j] = (1.0 * bpp[j]) * (act - std::min(embeddings[j], act)) + 1.0 * head_bytes[j];
    kv[j] = kv_const[j] * ws * rep;
    attn[j] = attn_const[j] * ws;
    attn_pf[j] = attn_pf_const[j] * ws;
  }
}

inline __attribute__((always_inline)) void block_body(const double* params_b, const double* tp, const double* li,
                                                      const double* lo, const double* g, std::size_t len,
                                                      bool replicate, bool sliding, double* o) {
  if (replicate && sliding) block_loop<true, true>(params_b, tp, li, lo, g, len, o);
  else if (replicate) block_loop<true, false>(params_b, tp, li, lo, g, len, o);
  else if (sliding) block_loop<false, true>(params_b, tp, li, lo, g, len, o);
  else block_loop<false, false>(params_b, tp, li, lo, g, len, o);
}

void block_baseline(const RowColumns& r, const double* g, std::size_t b, std::size_t len, bool replicate,
                    bool sliding, double* o) {
  block_body(r.params_b + b, r.tp + b, r.input_tokens + b, r.output_tokens + b, g, len, replicate, sliding, o);
}

#if ENERGYLENS_MULTI_ISA
__attribute__((target("arch=x86-64-v3"))) void block_avx2(const RowColumns& r, const double* g, std::size_t b,
                                                          std::size_t len, bool replicate, bool sliding, double* o) {
  block_body(r.params_b + b, r.tp + b, r.input_tokens + b, r.output_tokens + b, g, len, replicate, sliding, o);
}

__attribute__((target("arch=x86-64-v4"))) void block_avx512(const RowColumns& r, const double* g,
                                                            std::size_t b, std::size_t len, bool replicate,
                                                            bool sliding, double* o) {
  block_body(r.params_b + b, r.tp + b, r.input_tokens + b, r.output_tokens + b, g, len, replicate, sliding, o);
}
#endif

// The combination table twice: row-major as given (one combination's values together) and field-major
// (one field's values together, what the vectorised loop gathers from).
struct Table {
  std::span<const double> rows;
  std::vector<double> fields;
  std::size_t n_combos = 0, n_models = 0;
  bool sliding = false;  ///< some combination has sliding-window layers
};

Table table_of(std::span<const double> combos, const RowColumns& r) {
  Table t{combos, std::vector<double>(combos.size()), combos.size() / kNumComboFields, 0};
  t.n_models = t.n_combos / (r.n_gpu * r.n_precision);
  if (combos.size() % kNumComboFields != 0 || t.n_models * r.n_gpu * r.n_precision != t.n_combos)
    throw std::invalid_argument("predict rows: combos must hold n_models x n_gpu x n_precision rows of fields");
  for (std::size_t c = 0; c < t.n_combos; ++c)
    for (std::size_t k = 0; k < kNumComboFields; ++k) t.fields[k * t.n_combos + c] = combos[c * kNumComboFields + k];
  for (std::size_t c = 0; c < t.n_combos; ++c) t.sliding = t.sliding || combos[c * kNumComboFields + kSlidingLayers] > 0;
  return t;
}

// Rows whose tp x pp GPUs span scale-up domains (ML.ENERGY v2's TP 8 x PP 2 on 8-GPU nodes): their TP
// all-reduce and all-to-all bandwidths and PP scale-out hops by topology.hpp, as features.py prices them;
// every other row keeps its combo's link and no hop. (dp = ep = 1 here, so the MoE group is the tp GPUs.)
void cross_domains(const RowColumns& r, const Table& t, const Scratch& s, std::size_t b, std::size_t len, double* o) {
  double* link = o + oLink * kStride;
  double* a2a = o + oA2aLink * kStride;
  double* hops = o + oHops * kStride;
  for (std::size_t j = 0; j < len; ++j) {
    const double* v = t.rows.data() + s.combo[j] * kNumComboFields;
    const double tp = r.tp[b + j], pp = r.pp[b + j];
    double h = 0.0;
    if (tp * pp > v[kDomainGpus])
      topology::features(v[kDomainGpus], tp, pp, tp, v[kLinkBytesPerS], v[kScaleOutBytesPerS], link[j], a2a[j], h);
    hops[j] = h;
  }
}

// Features of rows [b, b + len) (len <= kBlockRows): pointers in f (roofline order) to the table's
// columns or the scratch's owned columns, which this fills.
void fill_block(const RowColumns& r, const Table& t, const RowOptions& options, std::size_t b, std::size_t len,
                Scratch& s, const double** f) {
  for (std::size_t j = 0; j < len; ++j) {
    const std::size_t i = b + j;
    s.combo[j] = static_cast<std::uint32_t>(checked_combo(r, t.n_models, i));
  }
  double* o = s.owned.data();
  double* g = o + kNumOwned * kStride;
  const std::uint32_t* combo = s.combo.data();
  const double* table = t.rows.data();
  for (std::size_t j = 0; j < len; ++j)
    gather_row(table + static_cast<std::size_t>(combo[j]) * kNumComboFields, o, j,
               std::make_index_sequence<kNumMoved>{});
  const bool rep = options.kv_head_replication;
#if ENERGYLENS_MULTI_ISA
  const Isa isa = active_isa();
  if (isa == Isa::Avx512) block_avx512(r, g, b, len, rep, t.sliding, o);
  else if (isa == Isa::Avx2) block_avx2(r, g, b, len, rep, t.sliding, o);
  else block_baseline(r, g, b, len, rep, t.sliding, o);
#else
  block_baseline(r, g, b, len, rep, t.sliding, o);
#endif
  cross_domains(r, t, s, b, len, o);
  double* weight = o + oWeight * kStride;
  double* active = o + oActive * kStride;
  for (std::size_t j = 0; j < len; ++j) {
    const double* v = t.rows.data() + s.combo[j] * kNumComboFields;
    if (v[kExperts] > 1.0)
      weight[j] = moe_weight_bytes(v, r.params_b[b + j] * 1e9, active[j], r.batch[b + j],
                                   r.touch == nullptr ? nullptr : r.touch + b + j);
    // a token's FLOPs count the matrices it multiplies: not the input embedding, a lookup (step_weights.py
    // token_params; after the weight bytes, which take the active count as it is)
    active[j] = active[j] - std::min(v[kTokenEmbeddingParams], active[j]) + v[kTokenHeadParams];
  }
  const double* in_place[] = {r.tp + b, r.pp + b, r.batch + b, r.input_tokens + b, r.output_tokens + b};
  static constexpr int kOwnedFeature[] = {rf::kLayers, rf::kDModel, rf::kActiveParams, rf::kWeightBytesPerStep,
                                          rf::kKvBytesPerToken, rf::kAttnFlopsPerTokenCtx, rf::kPrefillExtraFlops,
                                          rf::kPeakFlopsPerS, rf::kHbmBytesPerS, rf::kTdpW, rf::kLinkBytesPerS,
                                          rf::kDp, rf::kEp, rf::kA2aMoeLayers, rf::kExpertsPerToken,
                                          rf::kStateBytesPerSeq, rf::kMoeLayers, rf::kPrefillAttnFlopsPerTokenCtx,
                                          rf::kA2aBytesPerS, rf::kScaleOutBytesPerS, rf::kPpScaleOutHops};
  static constexpr int kInPlace[] = {rf::kTp, rf::kPp, rf::kBatch, rf::kInputTokens, rf::kOutputTokens};
  for (int q = 0; q < kNumOwned; ++q) f[kOwnedFeature[q]] = o + static_cast<std::size_t>(q) * kStride;
  for (int q = 0; q < 5; ++q) f[kInPlace[q]] = in_place[q];
}

// A participant's scratch on first use: the constant columns (no vision encoder, dp = ep = 1, no
// all-to-all layers) are written once.
void prepare(Scratch& s, std::size_t features) {
  if (!s.owned.empty()) return;
  s.combo.resize(kBlockRows);
  s.owned.resize((kNumOwned + kNumGathered) * kStride);
  std::fill_n(s.owned.begin() + oExtra * kStride, kBlockRows, 0.0);
  std::fill_n(s.owned.begin() + oDp * kStride, kBlockRows, 1.0);
  std::fill_n(s.owned.begin() + oEp * kStride, kBlockRows, 1.0);
  std::fill_n(s.owned.begin() + oA2a * kStride, kBlockRows, 0.0);
  s.flags.resize(kBlockRows);
  s.tally.count.assign(features, 0);
  s.tally.high.assign(features, -std::numeric_limits<double>::infinity());
  s.tally.low.assign(features, std::numeric_limits<double>::infinity());
}

// Counts the block's values out of range (a vectorisable count per feature); the extremes are looked for
// only in a feature that has some.
void tally_block(std::size_t len, const double* const* f, std::span<const double> above,
                 std::span<const double> below, Scratch& s) {
  std::uint8_t* flags = s.flags.data();
  std::fill_n(flags, len, std::uint8_t{0});
  RangeTally& t = s.tally;
  for (std::size_t k = 0; k < above.size(); ++k) {
    const double hi = above[k], lo = below[k];
    if (hi == std::numeric_limits<double>::infinity() && lo == -std::numeric_limits<double>::infinity()) continue;
    const double* x = f[k];
    std::uint64_t n = 0;
    for (std::size_t j = 0; j < len; ++j) {
      const unsigned out = static_cast<unsigned>(x[j] > hi) | static_cast<unsigned>(x[j] < lo);
      n += out;
      flags[j] = static_cast<std::uint8_t>(flags[j] | out);
    }
    if (n == 0) continue;
    t.count[k] += n;
    for (std::size_t j = 0; j < len; ++j) {
      if (x[j] > hi) t.high[k] = std::max(t.high[k], x[j]);
      if (x[j] < lo) t.low[k] = std::min(t.low[k], x[j]);
    }
  }
  for (std::size_t j = 0; j < len; ++j) t.flagged += flags[j];
}

}  // namespace

namespace {

// The count of values of x[0, n) that fail the rule (the switches are template arguments: a loop-invariant
// run-time select keeps GCC 12 from vectorising the loop).
template <bool Inclusive, bool Whole, bool AllowNan>
ENERGYLENS_CLONES std::size_t count_bad(const double* __restrict x, std::size_t n, double lower) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = x[i];
    bool ok = (v - v == 0.0) & (Inclusive ? v >= lower : v > lower);  // finite (false for NaN, inf) and in range
    if constexpr (Whole) ok = ok & (v == std::trunc(v));
    if constexpr (AllowNan) ok = ok | (v != v);
    bad += ok ? 0U : 1U;
  }
  return bad;
}

template <bool Inclusive, bool Whole>
std::size_t count_bad(const double* x, std::size_t n, double lower, bool allow_nan) {
  return allow_nan ? count_bad<Inclusive, Whole, true>(x, n, lower) : count_bad<Inclusive, Whole, false>(x, n, lower);
}

}  // namespace

bool numbers_ok(const double* x, std::size_t n, double lower, bool inclusive, bool whole, bool allow_nan) {
  constexpr std::size_t kStep = 16384;  // stop at the first stretch with a bad value
  for (std::size_t b = 0; b < n; b += kStep) {
    const std::size_t len = std::min(n - b, kStep);
    std::size_t bad = 0;
    if (inclusive) bad = whole ? count_bad<true, true>(x + b, len, lower, allow_nan) : count_bad<true, false>(x + b, len, lower, allow_nan);
    else bad = whole ? count_bad<false, true>(x + b, len, lower, allow_nan) : count_bad<false, false>(x + b, len, lower, allow_nan);
    if (bad != 0) return false;
  }
  return true;
}

void used_combos(const RowColumns& r, std::size_t n_models, std::uint8_t* used) {
  for (std::size_t i = 0; i < r.rows; ++i) used[checked_combo(r, n_models, i)] = 1;
}

void fill_features(const RowColumns& rows, std::span<const double> combos, const RowOptions& options,
                   std::size_t begin, std::size_t end, double* const* features) {
  Scratch s;
  const Table t = table_of(combos, rows);
  prepare(s, 0);
  const double* f[rf::kNumFeatures];
  for (std::size_t b = begin; b < end; b += kBlockRows) {
    const std::size_t len = std::min(kBlockRows, end - b);
    fill_block(rows, t, options, b, len, s, f);
    for (std::size_t k = 0; k < rf::kNumFeatures; ++k) std::copy_n(f[k], len, features[k] + (b - begin));
  }
}

RangeTally predict(TemplateId id, const RowColumns& rows, std::span<const double> combos,
                   std::span<const double> params, const RowOptions& options, double* out0, double* out1,
                   std::span<const double> above, std::span<const double> below, double* stall) {
  constexpr std::size_t F = rf::kNumFeatures;
  if (describe(id).n_features != F) throw std::invalid_argument("predict rows: the template's features differ");
  if (stall != nullptr && id != TemplateId::Latency)
    throw std::invalid_argument("predict rows: the prefill stall is the latency template's");
  if (above.size() != below.size() || (!above.empty() && above.size() != F))
    throw std::invalid_argument("predict rows: range thresholds need one above and one below value per feature");
  const Table t = table_of(combos, rows);
  const std::size_t n = rows.rows;
  const std::size_t chunks = (n + kChunkRows - 1) / kChunkRows;
  const int threads = threads_for(n, kMinRowsPerThread);
  std::vector<Scratch> scratch(static_cast<std::size_t>(threads));
  run_chunks(chunks, threads, [&](std::size_t chunk, int slot) {
    Scratch& s = scratch[static_cast<std::size_t>(slot)];
    prepare(s, above.size());
    const double* f[F];
    const std::size_t stop = std::min(n, (chunk + 1) * kChunkRows);
    for (std::size_t b = chunk * kChunkRows; b < stop; b += kBlockRows) {
      const std::size_t len = std::min(kBlockRows, stop - b);
      fill_block(rows, t, options, b, len, s, f);
      if (out1 == nullptr)
        evaluate_in_domain<double>(id, len, f, params, out0 + b, nullptr, 0, {});
      else
        evaluate<double>(id, len, f, params, out0 + b, out1 + b, nullptr, nullptr, nullptr, 0);
      if (!above.empty()) tally_block(len, f, above, below, s);
      if (stall != nullptr) {
        double ttft[kBlockRows], tpot[kBlockRows];  // the engine's; predict's are out0 / out1
        search::latency_stall_block(len, f, params.data(), ttft, tpot, stall + b);
      }
    }
  });
  RangeTally total;
  total.count.assign(above.size(), 0);
  total.high.assign(above.size(), -std::numeric_limits<double>::infinity());
  total.low.assign(above.size(), std::numeric_limits<double>::infinity());
  for (const Scratch& s : scratch) {
    if (s.owned.empty()) continue;
    for (std::size_t k = 0; k < above.size(); ++k) {
      total.count[k] += s.tally.count[k];
      total.high[k] = std::max(total.high[k], s.tally.high[k]);
      total.low[k] = std::min(total.low[k], s.tally.low[k]);
    }
    total.flagged += s.tally.flagged;
  }
  return total;
}

}  // namespace energylens::rows
