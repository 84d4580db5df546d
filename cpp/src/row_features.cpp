// Template features per row from a table's columns and per-combination constants, evaluated in cache.
// Every formula below is python/energylens/profiles/features.py's, written in the same operation order
// (this translation unit is built for the baseline ISA, which has no FMA, so nothing is contracted).
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

// Weight bytes all GPUs stream per decode step (features.py _weight_bytes with dp = ep = 1: one copy of
// the experts, no EP imbalance).
double weight_bytes(const double* v, double P, double Pa, double B) {
  const double E = v[kExperts], k = v[kExpertsPerToken];
  if (!(E > 1.0)) return (1.0 * v[kBytesPerParam]) * Pa;
  const double frac = k / E;
  const double n_exp = std::max(P - Pa, 0.0) / (1.0 - frac);
  const double shared = P - n_exp;
  const double copies = 1.0;
  const double touch = 1.0 - std::pow(1.0 - k / E, std::max(B / copies, 1.0));
  return (1.0 * v[kSharedBytesPerParam]) * shared + ((copies * touch) * 1.0) * v[kBytesPerParam] * n_exp;
}

// Active parameters of a row: light.py's fill of active_params_b (params_b x active / total, params_b
// where that is NaN), then features.py's _architecture (the table's ratio where the filled value is not
// a positive number, the total where nothing is).
double active_params(const double* v, double params_b, double P) {
  const double filled = params_b * v[kFillActive] / v[kFillTotal];
  const double Pa = (std::isnan(filled) ? params_b : filled) * 1e9;
  const bool given = std::isfinite(Pa) && Pa > 0;
  const double ratio = v[kArchRatio];
  const double Pa2 = (given || std::isnan(ratio)) ? Pa : P * ratio;
  return (std::isfinite(Pa2) && Pa2 > 0) ? Pa2 : P;
}

// Share of the attention layers' KV and FLOPs at the row's mean context (sliding windows attend to at
// most the window).
double window_share(const double* v, double ctx) {
  const double ns = v[kSlidingLayers];
  if (!(ns > 0)) return 1.0;
  const double La = v[kAttentionLayers];
  return (La - ns + ns * std::min(ctx, v[kWindowTokens]) / std::max(ctx, 1.0)) / La;
}

void fill_row(const RowColumns& r, const double* v, const RowOptions& o, std::size_t i, std::size_t j,
              double* const* f) {
  const double tp = r.tp[i], B = r.batch[i], Li = r.input_tokens[i], Lo = r.output_tokens[i];
  const double P = r.params_b[i] * 1e9;
  const double Pa = active_params(v, r.params_b[i], P);
  const double ws = window_share(v, Li + 0.5 * Lo);
  const double replication = o.kv_head_replication ? std::max(tp / v[kKvHeads], 1.0) : 1.0;
  f[rf::kTp][j] = tp;
  f[rf::kPp][j] = r.pp[i];
  f[rf::kBatch][j] = B;
  f[rf::kInputTokens][j] = Li;
  f[rf::kOutputTokens][j] = Lo;
  f[rf::kLayers][j] = v[kLayers];
  f[rf::kDModel][j] = v[kDModel];
  f[rf::kActiveParams][j] = Pa;
  f[rf::kWeightBytesPerStep][j] = weight_bytes(v, P, Pa, B);
  f[rf::kKvBytesPerToken][j] = v[kKvBytesConst] * ws * replication;
  f[rf::kAttnFlopsPerTokenCtx][j] = v[kAttnFlopsConst] * ws;
  f[rf::kPrefillExtraFlops][j] = 0.0;
  f[rf::kPeakFlopsPerS][j] = v[kPeakFlops];
  f[rf::kHbmBytesPerS][j] = v[kHbmBytes];
  f[rf::kTdpW][j] = v[kTdpW];
  f[rf::kLinkBytesPerS][j] = v[kLinkBytes];
  f[rf::kDp][j] = 1.0;
  f[rf::kEp][j] = 1.0;
  f[rf::kA2aMoeLayers][j] = 0.0;
  f[rf::kExpertsPerToken][j] = v[kExpertsPerToken];
  f[rf::kStateBytesPerSeq][j] = v[kStateBytes];
  f[rf::kMoeLayers][j] = v[kMoeLayersFeature];
}

// Per participant: the block's feature columns and its share of the range tally.
struct Scratch {
  std::vector<double> features;
  std::vector<std::uint8_t> flags;
  RangeTally tally;
};

void tally_block(std::size_t len, const double* const* f, std::span<const double> above,
                 std::span<const double> below, std::vector<std::uint8_t>& flags, RangeTally& t) {
  std::fill_n(flags.begin(), len, std::uint8_t{0});
  for (std::size_t k = 0; k < above.size(); ++k) {
    const double hi = above[k], lo = below[k];
    std::uint64_t n = 0;
    for (std::size_t j = 0; j < len; ++j) {
      const double x = f[k][j];
      const bool up = x > hi, down = x < lo;
      if (up) t.high[k] = std::max(t.high[k], x);
      if (down) t.low[k] = std::min(t.low[k], x);
      n += (up || down) ? 1U : 0U;
      flags[j] = static_cast<std::uint8_t>(flags[j] | (up || down ? 1U : 0U));
    }
    t.count[k] += n;
  }
  for (std::size_t j = 0; j < len; ++j) t.flagged += flags[j];
}

RangeTally empty_tally(std::size_t features) {
  RangeTally t;
  t.count.assign(features, 0);
  t.high.assign(features, -std::numeric_limits<double>::infinity());
  t.low.assign(features, std::numeric_limits<double>::infinity());
  return t;
}

void merge_tally(RangeTally& into, const RangeTally& t) {
  for (std::size_t k = 0; k < into.count.size(); ++k) {
    into.count[k] += t.count[k];
    into.high[k] = std::max(into.high[k], t.high[k]);
    into.low[k] = std::min(into.low[k], t.low[k]);
  }
  into.flagged += t.flagged;
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
  const std::size_t n_combos = combos.size() / kNumComboFields;
  const std::size_t n_models = n_combos / (rows.n_gpu * rows.n_precision);
  if (n_models * rows.n_gpu * rows.n_precision != n_combos)
    throw std::invalid_argument("predict rows: combos must hold n_models x n_gpu x n_precision rows");
  for (std::size_t i = begin; i < end; ++i) {
    check_code(rows.model[i], n_models, "model", i);
    check_code(rows.gpu[i], rows.n_gpu, "gpu", i);
    if (rows.precision != nullptr) check_code(rows.precision[i], rows.n_precision, "precision", i);
    fill_row(rows, combos.data() + combo_of(rows, i) * kNumComboFields, options, i, i - begin, features);
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
    if (s.features.empty()) {
      s.features.resize(F * kBlockRows);
      s.flags.resize(kBlockRows);
      s.tally = empty_tally(above.size());
    }
    double* f[F];
    for (std::size_t k = 0; k < F; ++k) f[k] = s.features.data() + k * kBlockRows;
    const std::size_t stop = std::min(n, (chunk + 1) * kChunkRows);
    for (std::size_t b = chunk * kChunkRows; b < stop; b += kBlockRows) {
      const std::size_t len = std::min(kBlockRows, stop - b);
      fill_features(rows, combos, options, b, b + len, f);
      if (out1 == nullptr)
        evaluate_in_domain<double>(id, len, f, params, out0 + b, nullptr, 0, {});
      else
        evaluate<double>(id, len, f, params, out0 + b, out1 + b, nullptr, nullptr, nullptr, 0);
      if (!above.empty()) tally_block(len, f, above, below, s.flags, s.tally);
    }
  });
  RangeTally total = empty_tally(above.size());
  for (const Scratch& s : scratch)
    if (!s.features.empty()) merge_tally(total, s.tally);
  return total;
}

}  // namespace energylens::rows
