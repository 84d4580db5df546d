// The templates' features computed per row from a configuration table's own columns, and the template
// evaluated on them in the same pass (EnergyModel.predict(df) on the light path, docs/performance.md).
// What varies per row (tp, pp, batch, lengths, params_b) comes as columns; what depends only on the
// row's (model, GPU, weight precision) comes once per combination (ComboField), resolved by the Python
// side from the model and GPU tables. The arithmetic repeats python/energylens/profiles/features.py
// operation for operation (same order, no FMA contraction), so the features equal its features bit for
// bit except the MoE touched fraction, whose pow may differ from NumPy's in the last bit.
// No Python, no CUDA types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "energylens/closed_form.hpp"

namespace energylens::rows {

/// Per-combination constants (one (model, GPU, weight precision)), field order of a combo row.
enum ComboField : int {
  kLayers = 0,          ///< n_layers of the model table
  kDModel,              ///< d_model
  kFillActive,          ///< active parameters (B) the schema fills active_params_b with (NaN: none)
  kFillTotal,           ///< ... and the total parameters (B) it divides by (NaN: none)
  kArchRatio,           ///< active / total parameters of the architecture lookup (NaN: none)
  kExperts,             ///< routed experts (>= 1; 1 dense)
  kExpertsPerToken,     ///< routed experts per token (>= 1, <= kExperts)
  kAttentionLayers,     ///< attention layers (hybrids: fewer than kLayers)
  kSlidingLayers,       ///< sliding-window attention layers (0: none)
  kWindowTokens,        ///< their window in tokens (1 when none)
  kKvBytesConst,        ///< attention layers x KV-cache elements per token and layer x KV element bytes; the
                        ///< elements: 2 x KV heads x head_dim, or kv_lora_rank + qk_rope_head_dim for a
                        ///< multi-head latent attention model (energylens.profiles.architecture.attention_per_layer)
  kAttnFlopsConst,      ///< attention layers x FLOPs per context token and layer: 4 x heads x head_dim, or
                        ///< 2 x heads x (2 kv_lora_rank + qk_rope_head_dim) for MLA (the same helper)
  kKvHeads,             ///< KV heads the cache is replicated by at tp > KV heads (1 for an MLA latent)
  kStateBytes,          ///< recurrent state bytes per sequence
  kPeakFlopsPerS,       ///< peak FLOP/s of one GPU at the compute precision
  kHbmBytesPerS,        ///< HBM bytes/s of one GPU
  kTdpW,                ///< board power limit, W
  kLinkBytesPerS,       ///< link bytes/s per direction
  kBytesPerParam,       ///< weight bytes per parameter
  kSharedBytesPerParam, ///< bytes per non-expert parameter (the compute dtype's for expert-only formats)
  kMoeLayersFeature,    ///< the moe_layers feature (MoE layers of a MoE model, else 0)
  kPrefillAttnFlopsConst,  ///< attention layers x prefill FLOPs per context token and layer: kAttnFlopsConst's
                           ///< value, or 2 x heads x (head_dim + v_head_dim) for MLA (prefill_attention_per_layer)
  kScaleOutBytesPerS,   ///< scale-out bytes/s per direction
  kDomainGpus,          ///< GPUs per scale-up domain: a row with tp x pp above it crosses domains (topology.hpp;
                        ///< rows have dp = ep = 1, so the all-to-all bandwidth stays kLinkBytesPerS)
  kEmbeddingParams,     ///< input embedding + lm_head parameters in the counts, not streamed in the weight format
                        ///< (profiles/step_weights.py decode_reads; 0: unknown vocabulary or the ablation)
  kHeadBytes,           ///< bytes of the lm_head one replica streams per step (16-bit, or the format's if wider)
  kVisionParams,        ///< encoder parameters in params_b (vision, audio), not streamed per decode step (0: none)
  kTokenEmbeddingParams,  ///< input embedding + lm_head parameters in the active count, for a token's FLOPs
                          ///< (profiles/step_weights.py token_params; 0: unknown vocabulary or the ablation)
  kTokenHeadParams,     ///< lm_head parameters, a GEMM a token's FLOPs count (0: unknown vocabulary or the ablation)
  kNumComboFields       ///< number of combo fields (not a field)
};

/// The per-row columns of a table (`rows` values each). `model`, `gpu` and `precision` are codes
/// (0-based) into their distinct values; a row's combination is (model x n_gpu + gpu) x n_precision +
/// precision. `precision` may be null (one precision, code 0).
struct RowColumns {
  const double* tp = nullptr;             ///< tensor-parallel degree
  const double* pp = nullptr;             ///< pipeline-parallel degree
  const double* batch = nullptr;          ///< running sequences (batch_size)
  const double* input_tokens = nullptr;   ///< prompt tokens per request
  const double* output_tokens = nullptr;  ///< generated tokens per request
  const double* params_b = nullptr;       ///< model parameters, billions
  const std::int64_t* model = nullptr;    ///< model code
  const std::int64_t* gpu = nullptr;      ///< GPU code, < n_gpu
  const std::int64_t* precision = nullptr;  ///< weight-precision code, < n_precision (null: one precision)
  /// The MoE touched fraction 1 - (1 - k/E)^max(batch, 1) per row, computed by the caller (the fit path
  /// passes NumPy's, so that the weight bytes equal features.py's bit for bit; NumPy's SIMD pow and
  /// std::pow differ in the last bit for some inputs); null: std::pow here. Read for MoE rows only.
  const double* touch = nullptr;
  std::size_t n_gpu = 1;        ///< distinct GPUs (the gpu codes' range)
  std::size_t n_precision = 1;  ///< distinct precisions (1 when `precision` is null)
  std::size_t rows = 0;         ///< values in each column
};

/// Switches of features.py that the row arithmetic reads (its module-level ablation switches).
struct RowOptions {
  bool kv_head_replication = true;  ///< KV bytes x max(1, tp / KV heads)
};

/// Extrapolation tally of a prediction: per feature, rows above `above[k]` or below `below[k]`, the
/// largest value above and smallest below, and rows with some feature out of range.
struct RangeTally {
  std::vector<std::uint64_t> count;  ///< rows out of range per feature
  std::vector<double> high;          ///< largest value above the range per feature (-inf: none)
  std::vector<double> low;           ///< smallest value below the range per feature (+inf: none)
  std::uint64_t flagged = 0;         ///< rows with at least one feature out of range
};

/// True when every value of x[0, n) is finite, >= lower (inclusive) or > lower, and a whole number when
/// `whole`; NaN is also accepted with `allow_nan` (a measured column: absent where NaN). One pass, the
/// light path's validation of a number column (python/energylens/profiles/light.py).
bool numbers_ok(const double* x, std::size_t n, double lower, bool inclusive, bool whole, bool allow_nan);

/// Marks in `used` (size n_models x n_gpu x n_precision, zeroed by the caller) every combination some
/// row uses. std::invalid_argument for a code outside its range (naming the column and the row).
void used_combos(const RowColumns& rows, std::size_t n_models, std::uint8_t* used);

/// Writes the template features (roofline::Feature order) of rows [begin, end) into features[k][0 ..
/// end - begin). `combos` holds kNumComboFields values per combination (row-major).
void fill_features(const RowColumns& rows, std::span<const double> combos, const RowOptions& options,
                   std::size_t begin, std::size_t end, double* const* features);

/// Evaluates template `id` (its 12 or 9 params) on every row, the features built block by block in
/// cache and never stored: out0/out1 as evaluate() writes them, or with out1 null out0 = out0 + out1
/// (rounded as adding the two arrays afterwards). With `above` and `below` non-empty (one threshold per
/// feature; +inf / -inf: unchecked) the tally counts values out of range. Threads over blocks of rows
/// (parallel.hpp); the result does not depend on the thread count. std::invalid_argument for a code out
/// of range (naming the column and row). With `stall` non-null (template Latency only) each row's prefill
/// stall B_r t_pf from the same block's features, as the search engine evaluates it
/// (search::latency_stall_block; the time in the system, energylens.model.time_in_system).
RangeTally predict(TemplateId id, const RowColumns& rows, std::span<const double> combos,
                   std::span<const double> params, const RowOptions& options, double* out0, double* out1,
                   std::span<const double> above, std::span<const double> below, double* stall = nullptr);

}  // namespace energylens::rows
