// Template features per row from a table's columns and per-combination constants, evaluated in cache.
// Every formula below is python/energylens/profiles/features.py's, written in the same operation order;
// this translation unit is built with -ffp-contract=off (cpp/CMakeLists.txt), so its AVX2 / AVX-512
// loops round every operation as NumPy does.
#include "energylens/row_features.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "energylens/parallel.hpp"
#include "energylens/roofline.hpp"

namespace energylens::rows {

namespace {

namespace rf = energylens::roofline;

// Rows whose features are built and evaluated together: 22 columns of 1024 doubles (176 KB) stay in L2.
constexpr std::size_t kBlockRows = 1024;
// Rows handed to a thread at a time (on demand, so a descheduled thread holds up one chunk only).
constexpr std::size_t kChunkRows = 16 * kBlockRows;
// Fewest rows worth a thread: building the features costs several times the evaluation per row.
constexpr std::size_t kMinRowsPerThread = 32768;

void check_code(std::int64_t code, std::size_t size, const char* column, std::size_t row) {
  if (code < 0 || static_cast<std::size_t>(code) >= size)
    throw std::invalid_argument(std::string("predict rows: ") + column + " code " + std::to_string(code) +
                                " at row " + std::to_string(row) + " is outside [0, " + std::to_string(size) + ")");
}

std::size_t combo_of(const RowColumns& r, std::size_t i) {
  const std::size_t p = r.precision == nullptr ? 0 : static_cast<std::size_t>(r.precision[i]);
  return (static_cast<std::size_t>(r.model[i]) * r.n_gpu + static_cast<std::size_t>(r.gpu[i])) * r.n_precision + p;
}

// The MoE weight bytes all GPUs stream per decode step (features.py _weight_bytes with dp = ep = 1: one
// copy of the experts, no EP imbalance). Scalar: pow has no vector form that rounds like NumPy's.
double moe_weight_bytes(const double* v, double P, double Pa, double B) {
  const double E = v[kExperts], k = v[kExpertsPerToken];
  const double frac = k / E;
  const double n_exp = std::max(P - Pa, 0.0) / (1.0 - frac);
  const double shared = P - n_exp;
  const double copies = 1.0;
  const double touch = 1.0 - std::pow(1.0 - k / E, std::max(B / copies, 1.0));
  return (1.0 * v[kSharedBytesPerParam]) * shared + ((copies * touch) * 1.0) * v[kBytesPerParam] * n_exp;
}

// Feature columns a block owns (the others are the table's own columns, read in place).
enum Owned : int {
  oLayers = 0, oDModel, oActive, oWeight, oKv, oAttn, oExtra, oPeak, oHbm, oTdp, oLink, oDp, oEp, oA2a, oK, oState,
  oMoeLayers, kNumOwned
};

// Per participant: the block's combination indices, owned feature columns and its share of the tally.
struct Scratch {
  std::vector<std::size_t> combo;
  std::vector<double> owned;
  std::vector<std::uint8_t> flags;
  RangeTally tally;
};

// The arithmetic of one block, row by row without branches (selects), so that it vectorises: the
// active parameters (light.py's fill of active_params_b, then features.py's _architecture), the dense
// weight bytes, the sliding-window share of the KV bytes and attention FLOPs, the KV-head replication,
// and the per-combination features. Inlined into one wrapper per instruction-set level.
inline __attribute__((always_inline)) void block_body(const RowColumns& r, const double* __restrict table,
                                                      const std::size_t* __restrict combo, std::size_t b,
                                                      std::size_t len, bool replicate, double* __restrict o) {
  const double* __restrict params_b = r.params_b + b;
  const double* __restrict tp = r.tp + b;
  const double* __restrict li = r.input_tokens + b;
  const double* __restrict lo = r.output_tokens + b;
  double* __restrict layers = o + oLayers * kBlockRows;
  double* __restrict dmodel = o + oDModel * kBlockRows;
  double* __restrict active = o + oActive * kBlockRows;
  double* __restrict weight = o + oWeight * kBlockRows;
  double* __restrict kv = o + oKv * kBlockRows;
  double* __restrict attn = o + oAttn * kBlockRows;
  double* __restrict peak = o + oPeak * kBlockRows;
  double* __restrict hbm = o + oHbm * kBlockRows;
  double* __restrict tdp = o + oTdp * kBlockRows;
  double* __restrict link = o + oLink * kBlockRows;
  double* __restrict k = o + oK * kBlockRows;
  double* __restrict state = o + oState * kBlockRows;
  double* __restrict moe_layers = o + oMoeLayers * kBlockRows;
#pragma GCC ivdep
  for (std::size_t j = 0; j < len; ++j) {
    const double* v = table + combo[j] * kNumComboFields;
    const double P = params_b[j] * 1e9;
    const double filled = params_b[j] * v[kFillActive] / v[kFillTotal];
    const double Pa = (std::isnan(filled) ? params_b[j] : filled) * 1e9;
    const bool given = std::isfinite(Pa) && Pa > 0;
    const double Pa2 = (given || std::isnan(v[kArchRatio])) ? Pa : P * v[kArchRatio];
    const double act = (std::isfinite(Pa2) && Pa2 > 0) ? Pa2 : P;
    const double ctx = li[j] + 0.5 * lo[j];
    const double ns = v[kSlidingLayers], La = v[kAttentionLayers];
    const double share = (La - ns + ns * std::min(ctx, v[kWindowTokens]) / std::max(ctx, 1.0)) / La;
    const double ws = ns > 0 ? share : 1.0;
    const double rep = replicate ? std::max(tp[j] / v[kKvHeads], 1.0) : 1.0;
    layers[j] = v[kLayers];
    dmodel[j] = v[kDModel];
    active[j] = act;
    weight[j] = (1.0 * v[kBytesPerParam]) * act;  // dense; MoE rows are redone after the loop
    kv[j] = v[kKvBytesConst] * ws * rep;
    attn[j] = v[kAttnFlopsConst] * ws;
    peak[j] = v[kPeakFlops];
    hbm[j] = v[kHbmBytes];
    tdp[j] = v[kTdpW];
    link[j] = v[kLinkBytes];
    k[j] = v[kExpertsPerToken];
    state[j] = v[kStateBytes];
    moe_layers[j] = v[kMoeLayersFeature];
  }
}

void block_baseline(const RowColumns& r, const double* table, const std::size_t* combo, std::size_t b,
                    std::size_t len, bool replicate, double* o) {
  block_body(r, table, combo, b, len, replicate, o);
}

#if ENERGYLENS_MULTI_ISA
__attribute__((target("arch=x86-64-v3"))) void block_avx2(const RowColumns& r, const double* table,
                                                          const std::size_t* combo, std::size_t b, std::size_t len,
                                                          bool replicate, double* o) {
  block_body(r, table, combo, b, len, replicate, o);
}

__attribute__((target("arch=x86-64-v4"))) void block_avx512(const RowColumns& r, const double* table,
                                                            const std::size_t* combo, std::size_t b,
                                                            std::size_t len, bool replicate, double* o) {
  block_body(r, table, combo, b, len, replicate, o);
}
#endif

// Features of rows [b, b + len) (len <= kBlockRows): pointers in f (roofline order) to the table's
// columns or the scratch's owned columns, which this fills.
void fill_block(const RowColumns& r, std::span<const double> combos, const RowOptions& options, std::size_t b,
                std::size_t len, Scratch& s, const double** f) {
  const std::size_t n_combos = combos.size() / kNumComboFields;
  const std::size_t n_models = n_combos / (r.n_gpu * r.n_precision);
  if (n_models * r.n_gpu * r.n_precision != n_combos)
    throw std::invalid_argument("predict rows: combos must hold n_models x n_gpu x n_precision rows");
  for (std::size_t j = 0; j < len; ++j) {
    const std::size_t i = b + j;
    check_code(r.model[i], n_models, "model", i);
    check_code(r.gpu[i], r.n_gpu, "gpu", i);
    if (r.precision != nullptr) check_code(r.precision[i], r.n_precision, "precision", i);
    s.combo[j] = combo_of(r, i);
  }
  double* o = s.owned.data();
#if ENERGYLENS_MULTI_ISA
  const Isa isa = active_isa();
  if (isa == Isa::Avx512) block_avx512(r, combos.data(), s.combo.data(), b, len, options.kv_head_replication, o);
  else if (isa == Isa::Avx2) block_avx2(r, combos.data(), s.combo.data(), b, len, options.kv_head_replication, o);
  else block_baseline(r, combos.data(), s.combo.data(), b, len, options.kv_head_replication, o);
#else
  block_baseline(r, combos.data(), s.combo.data(), b, len, options.kv_head_replication, o);
#endif
  double* weight = o + oWeight * kBlockRows;
  const double* active = o + oActive * kBlockRows;
  for (std::size_t j = 0; j < len; ++j) {
    const double* v = combos.data() + s.combo[j] * kNumComboFields;
    if (v[kExperts] > 1.0) weight[j] = moe_weight_bytes(v, r.params_b[b + j] * 1e9, active[j], r.batch[b + j]);
  }
  const double* in_place[] = {r.tp + b, r.pp + b, r.batch + b, r.input_tokens + b, r.output_tokens + b};
  static constexpr int kOwnedFeature[] = {rf::kLayers, rf::kDModel, rf::kActiveParams, rf::kWeightBytesPerStep,
                                          rf::kKvBytesPerToken, rf::kAttnFlopsPerTokenCtx, rf::kPrefillExtraFlops,
                                          rf::kPeakFlopsPerS, rf::kHbmBytesPerS, rf::kTdpW, rf::kLinkBytesPerS,
                                          rf::kDp, rf::kEp, rf::kA2aMoeLayers, rf::kExpertsPerToken,
                                          rf::kStateBytesPerSeq, rf::kMoeLayers};
  static constexpr int kInPlace[] = {rf::kTp, rf::kPp, rf::kBatch, rf::kInputTokens, rf::kOutputTokens};
  for (int q = 0; q < kNumOwned; ++q) f[kOwnedFeature[q]] = o + static_cast<std::size_t>(q) * kBlockRows;
  for (int q = 0; q < 5; ++q) f[kInPlace[q]] = in_place[q];
}

// A participant's scratch on first use: the constant columns (no vision encoder, dp = ep = 1, no
// all-to-all layers) are written once.
void prepare(Scratch& s, std::size_t features) {
  if (!s.owned.empty()) return;
  s.combo.resize(kBlockRows);
  s.owned.resize(kNumOwned * kBlockRows);
  std::fill_n(s.owned.begin() + oExtra * kBlockRows, kBlockRows, 0.0);
  std::fill_n(s.owned.begin() + oDp * kBlockRows, kBlockRows, 1.0);
  std::fill_n(s.owned.begin() + oEp * kBlockRows, kBlockRows, 1.0);
  std::fill_n(s.owned.begin() + oA2a * kBlockRows, kBlockRows, 0.0);
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

void used_combos(const RowColumns& r, std::size_t n_models, std::uint8_t* used) {
  for (std::size_t i = 0; i < r.rows; ++i) {
    check_code(r.model[i], n_models, "model", i);
    check_code(r.gpu[i], r.n_gpu, "gpu", i);
    if (r.precision != nullptr) check_code(r.precision[i], r.n_precision, "precision", i);
    used[combo_of(r, i)] = 1;
  }
}

void fill_features(const RowColumns& rows, std::span<const double> combos, const RowOptions& options,
                   std::size_t begin, std::size_t end, double* const* features) {
  Scratch s;
  prepare(s, 0);
  const double* f[rf::kNumFeatures];
  for (std::size_t b = begin; b < end; b += kBlockRows) {
    const std::size_t len = std::min(kBlockRows, end - b);
    fill_block(rows, combos, options, b, len, s, f);
    for (std::size_t k = 0; k < rf::kNumFeatures; ++k) std::copy_n(f[k], len, features[k] + (b - begin));
  }
}

RangeTally predict(TemplateId id, const RowColumns& rows, std::span<const double> combos,
                   std::span<const double> params, const RowOptions& options, double* out0, double* out1,
                   std::span<const double> above, std::span<const double> below) {
  constexpr std::size_t F = rf::kNumFeatures;
  if (describe(id).n_features != F) throw std::invalid_argument("predict rows: the template's features differ");
  if (above.size() != below.size() || (!above.empty() && above.size() != F))
    throw std::invalid_argument("predict rows: range thresholds need one above and one below value per feature");
  if (combos.size() % kNumComboFields != 0) throw std::invalid_argument("predict rows: combos has a partial row");
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
      fill_block(rows, combos, options, b, len, s, f);
      if (out1 == nullptr)
        evaluate_in_domain<double>(id, len, f, params, out0 + b, nullptr, 0, {});
      else
        evaluate<double>(id, len, f, params, out0 + b, out1 + b, nullptr, nullptr, nullptr, 0);
      if (!above.empty()) tally_block(len, f, above, below, s);
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
