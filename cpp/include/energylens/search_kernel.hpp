// Per-candidate arithmetic of the search, host/device (ENERGYLENS_HD) so that the CPU engine
// (cpp/src/search_engine.cpp, search_block.cpp) and the CUDA pass (cuda/search.cu) share one copy: decoding the mixed-radix
// index, the feature row, the structural and memory checks, the latency limits and the objective.
// Operates on a plain view of the space (pointers, sizes); no std containers, no CUDA types.
#pragma once

#include <cmath>
#include <cstdint>

#include "energylens/latency_template.hpp"
#include "energylens/roofline.hpp"
#include "energylens/search.hpp"
#include "energylens/topology.hpp"

namespace energylens::search::kernel {

/// The space as flat arrays (every axis as double).
struct View {
  const double* combos;        ///< n_combos x kNumComboFields, row-major
  const double* tp;            ///< n_tp
  const double* pp;            ///< n_pp
  const double* dp;            ///< n_dp
  const double* ep;            ///< n_ep
  const double* max_num_seqs;  ///< n_b
  const double* workloads;     ///< n_w x 2: input_tokens, output_tokens
  const double* prefill_extra; ///< n_combos x n_w, or null (the combo's feature value)
  std::uint64_t n_combos, n_tp, n_pp, n_dp, n_ep, n_b, n_w;  ///< axis lengths
};

/// The options the per-candidate code reads.
struct Limits {
  /// As Options.
  double gpu_memory_utilization, runtime_reserve_bytes, nvls_reserve_bytes_per_gpu, activation_tokens,
      activation_bytes_per_token_dmodel;
  double node_size, ttft_limit_s, tpot_limit_s, carbon_g_per_kwh;  ///< as Options
  int objective;  ///< Objective as int
  bool per_token;  ///< as Options
};

/// Position of a candidate on each axis.
struct Digits {
  std::uint64_t c, tp, pp, dp, ep, b, w;  ///< index on the combo, tp, pp, dp, ep, max_num_seqs and workload axes
};

/// What is shared by every candidate of one (combo, tp, pp, dp, ep).
struct Outer {
  int reason;           ///< structural or weight-memory reason, kFeasible if none
  double fixed_bytes;   ///< weights + reserve per GPU
  double kv_div;        ///< the KV cache's split on the binding stage (binding_stages): min(tp, kv heads) x n_layers / its layers
  double usable_bytes;  ///< gpu_memory_utilization x memory
  double tp_link, a2a_link, hops;  ///< topology::features of (combo, tp, pp, ep): set once per outer change
  double state_bytes;   ///< one sequence's recurrent state per GPU of that stage: over tp, its layers' share
  /// A stage with more layers and fewer weights than that one (binding_stages; else fullest_kv_div is 0):
  /// its KV divisor and state as kv_div and state_bytes, and each stage's weights minus the fuller one's
  /// (fixed_bytes holds the fuller), so the KV check holds on both (vLLM sizes every worker's KV cache
  /// from the most constrained one).
  double fullest_kv_div, fullest_state_bytes, first_offset, fullest_offset;
  /// A hybrid whose layer pattern the combo gives (kAttentionMask0), at pp > 1 (pattern_slots): each stage's
  /// weights minus the fullest's, KV divisor and state per sequence, one slot per stage (n_slots; 0: none),
  /// and pattern_cache_bytes takes the largest; above kMaxPatternStages stages one slot of the largest together.
  int n_slots;
  double slot_offset[8], slot_kv_div[8], slot_state[8];
  /// A pattern with sliding-window layers (S; windowed): per slot its full and its sliding attention layers each
  /// over kv_split x n_attention, the window and the combo's KV bytes per token without the window share.
  bool windowed;
  double slot_full[8], slot_window[8], window, kv_raw;
};

/// Stages pattern_slots weighs one by one (stage_cache.py MAX_PATTERN_STAGES; Outer's slots).
inline constexpr int kMaxPatternStages = 8;
/// Layers per mask field (stage_cache.py MASK_BITS).
inline constexpr int kMaskBits = 48;

/// Axis positions of candidate `i` (workload fastest, combo slowest).
ENERGYLENS_HD Digits decode(const View& s, std::uint64_t i) {
  Digits d{};
  d.w = i % s.n_w; i /= s.n_w;
  d.b = i % s.n_b; i /= s.n_b;
  d.ep = i % s.n_ep; i /= s.n_ep;
  d.dp = i % s.n_dp; i /= s.n_dp;
  d.pp = i % s.n_pp; i /= s.n_pp;
  d.tp = i % s.n_tp; i /= s.n_tp;
  d.c = i;
  return d;
}

/// Moves `d` (the digits of index i) to the digits of i + k, `step` being decode(s, k): a digit-wise add
/// with carry (each digit of d and of step is below its radix, so one subtraction per digit suffices), the
/// device's grid-stride loop's way to avoid six 64-bit divisions per candidate.
ENERGYLENS_HD void advance(const View& s, Digits& d, const Digits& step) {
  std::uint64_t carry = 0;
  auto add = [&carry](std::uint64_t& digit, std::uint64_t by, std::uint64_t radix) {
    digit += by + carry;
    carry = digit >= radix ? 1 : 0;
    if (carry) digit -= radix;
  };
  add(d.w, step.w, s.n_w);
  add(d.b, step.b, s.n_b);
  add(d.ep, step.ep, s.n_ep);
  add(d.dp, step.dp, s.n_dp);
  add(d.pp, step.pp, s.n_pp);
  add(d.tp, step.tp, s.n_tp);
  d.c += step.c + carry;
}

/// The axes that define an Outer (combo, tp, pp, dp, ep) are those of `a` and `b` alike.
ENERGYLENS_HD bool same_outer(const Digits& a, const Digits& b) {
  return a.c == b.c && a.tp == b.tp && a.pp == b.pp && a.dp == b.dp && a.ep == b.ep;
}

/// a divides b (both whole numbers).
ENERGYLENS_HD bool divides(double a, double b) {
  using std::fmod;
  return fmod(b, a) == 0.0;
}

/// GPUs per scale-up domain of a combo (its values `v`): the node-size override when set (> 0), else the
/// GPU table's (combo field kScaleUpDomainGpus).
ENERGYLENS_HD double domain_gpus(const Limits& o, const double* v) {
  return o.node_size > 0.0 ? o.node_size : v[kScaleUpDomainGpus];
}

/// GPUs of one server: the largest tp (tp_node). A scale-up domain smaller than a server (H100 / H200 NVL
/// bridge pairs of 2 or 4 in an 8-card PCIe server) still runs TP across it, its all-reduce leaving the
/// domain (priced in the features); one larger than a server (GB200 NVL72) runs TP across its servers.
inline constexpr double kServerGpus = 8.0;

/// The largest tp of a combo: the node-size override when set, else max(a server, the scale-up domain).
ENERGYLENS_HD double tp_limit(const Limits& o, const double* v) {
  if (o.node_size > 0.0) return o.node_size;
  return v[kScaleUpDomainGpus] > kServerGpus ? v[kScaleUpDomainGpus] : kServerGpus;
}

/// vLLM's weight-block rule for a block-scaled fp8 checkpoint (its fp8.py: validate_fp8_block_shape for the
/// dense layers, Fp8MoEMethod.create_weights for the experts): each GPU's shard of an FFN must hold whole
/// blocks. The dense FFN splits over tp (checked when tp > 1, as vLLM does; kFfnWidth also stands for a
/// shared expert, split over tp too: Python folds the two widths into their gcd, serving_limits.py
/// tp_sharded_width); the routed experts' FFN splits over tp x dp without expert parallelism (vLLM's MoE
/// layers flatten TP across DP) and stays whole with it.
/// Qwen3-235B-A22B-FP8 (expert width 1536, blocks of 128) fails at TP 8 (192 per GPU) and loads at TP 8 +
/// EP 8. A width of 0 (unknown) is not checked.
ENERGYLENS_HD bool fp8_block_misfit(const double* v, double tp, double dp, double ep) {
  const double block = v[kFp8Block], ffn = v[kFfnWidth], expert = v[kExpertFfnWidth];
  if (!(block > 0.0)) return false;
  if (tp > 1.0 && ffn > 0.0 && !divides(block, ffn / tp)) return true;
  const double expert_split = ep > 1.0 ? 1.0 : tp * dp;
  return expert > 0.0 && !divides(block, expert / expert_split);
}

/// The workload point (`input_tokens` + `output_tokens` per request) is longer than the combo's context window
/// (kContextTokens; 0: unknown, never rejected).
ENERGYLENS_HD bool beyond_context(const double* v, double input_tokens, double output_tokens) {
  return v[kContextTokens] > 0.0 && input_tokens + output_tokens > v[kContextTokens];
}

/// GPUs of a stage that one copy of a MoE layer's routed experts spans, and whose tokens its dispatch /
/// combine exchange (topology.py's moe_group_gpus): the EP group, else all tp x dp GPUs (vLLM's MoE layers
/// flatten TP across DP, so the dp replicas of a MoE model share one tensor-sliced expert copy).
ENERGYLENS_HD double moe_group(double tp, double dp, double ep) { return ep > 1.0 ? ep : tp * dp; }

/// Runtime reserve of one GPU (memory.py's runtime_reserve): the flat part, plus NCCL's NVLS buffers where the
/// combo's GPU runs NVLS (kNvls) and the GPU's largest collective group spans more than 2 GPUs of its NVSwitch
/// domain (the GPU table's kScaleUpDomainGpus, NVLS's reach): the TP group, or a MoE layer's group (moe_group:
/// the EP group, else tp x dp); nvls_reserve_bytes_per_gpu per GPU of it inside the domain, up to
/// kNvlsMaxHeads of them (NCCL_MAX_NVLS_ARITY: memory.py's NVLS_MAX_HEADS).
ENERGYLENS_HD double runtime_reserve(const Limits& o, const double* v, double tp, double dp, double ep) {
  constexpr double kNvlsMaxHeads = 32.0;
  const double all = v[kExperts] > 1.0 ? moe_group(tp, dp, ep) : tp;
  const double group = all < v[kScaleUpDomainGpus] ? all : v[kScaleUpDomainGpus];
  const double heads = group < kNvlsMaxHeads ? group : kNvlsMaxHeads;
  return o.runtime_reserve_bytes + (v[kNvls] > 0.0 && group > 2.0 ? o.nvls_reserve_bytes_per_gpu * heads : 0.0);
}

/// MoE layers among the first `x` decoder layers of a model of `n_layers` with `n_moe` MoE layers
/// (memory.py's moe_layers_before): all of them where every layer is MoE (`n_moe` 0, unknown or
/// `n_layers`); every step-th layer, those with (i + 1) % step == 0, where n_layers = step x n_moe with
/// step >= 2 (Llama 4's interleave_moe_layer_step, Qwen2-MoE's decoder_sparse_step); else the dense ones
/// first (DeepSeek-V3's / Kimi-K2's / GLM-4.5's first_k_dense_replace: n_layers - n_moe dense layers).
ENERGYLENS_HD double moe_layers_before(double x, double n_layers, double n_moe) {
  using std::floor;
  if (!(n_moe > 0.0) || !(n_moe < n_layers)) return x;
  const double step = n_layers / n_moe;
  if (step >= 2.0 && floor(step) == step) return floor(x / step);
  const double dense = n_layers - n_moe;
  return x > dense ? x - dense : 0.0;
}

/// Weight bytes per GPU of a stage of `layers` decoder layers, `moe_layers` of them MoE, of a model of
/// `n_moe` MoE layers (its normalised count: n_layers where every layer is MoE) (memory.py's stage_bytes):
/// at pp 1 dense over tp and experts over the MoE group; else the stage's share of the weights outside the
/// embeddings and vision encoder (layers / n_layers, dense over tp) and of the routed experts (moe_layers
/// / n_moe, over the MoE group), plus `extra` (the input embedding and the vision encoder on the first
/// stage, the lm_head and the encoder on the last, the encoder on the others) over tp.
ENERGYLENS_HD double stage_weights(const double* v, double tp, double pp, double shard, double layers,
                                   double moe_layers, double n_moe, double extra) {
  const double total = v[kWeightTotalBytes], experts = v[kExpertTotalBytes];
  if (!(pp > 1.0)) return (total - experts) / (tp * pp) + experts / (shard * pp);
  const double matrix = v[kEmbeddingMatrixBytes], encoder = v[kEncoderBytes];
  const double share = layers / v[roofline::kLayers];
  const double held = matrix * (v[kTiedEmbeddings] > 0.0 ? 1.0 : 2.0) + encoder;
  const double rest = total - experts - held;
  const double body = rest > 0.0 ? rest : 0.0;
  const double body_share = body * share;
  const double own = body_share + extra;
  const double moe_share = moe_layers / n_moe;
  const double expert_share = experts * moe_share;
  return own / tp + expert_share / shard;
}

/// The stages that can bind, by vLLM's default split (vllm/distributed/utils.py get_pp_indices: n_layers /
/// pp whole layers each, the remainder one each to the stages from the second-to-last backwards;
/// VLLM_PP_LAYER_PARTITION not modelled): memory.py's binding_stages. Stages hold q or q + 1 layers, and
/// the KV cache and state grow with the layers, so of each size only the one with the most weights can
/// bind: `layers` / `weights` the stage with the most weights (of the smaller size where sizes differ and
/// it holds more), `other_layers` / `other_weights` the heaviest stage of q + 1 layers where it holds fewer
/// weights than that one (more KV, fewer weights; else other_layers is 0). Each stage's weights per
/// stage_weights: its MoE layers from moe_layers_before, the embedding on the first, the lm_head on the
/// last (a copy where tied), the vision encoder on every one (vLLM builds a multimodal model's tower on
/// every rank). pp 1: all layers, one stage.
struct Stages {
  double layers, weights, other_layers, other_weights;
};

ENERGYLENS_HD Stages binding_stages(const double* v, double tp, double pp, double shard) {
  using std::floor;
  const double n = v[roofline::kLayers];
  const double n_moe_raw = v[kExperts] > 1.0 ? v[kA2aLayersWithDp] : 0.0;  // the combo's MoE layers
  const double n_moe = n_moe_raw > 0.0 && n_moe_raw < n ? n_moe_raw : n;
  if (!(pp > 1.0)) return Stages{n, stage_weights(v, tp, pp, shard, n, n, n, 0.0), 0.0, 0.0};
  const double q = floor(n / pp), r = n - q * pp;
  const double matrix = v[kEmbeddingMatrixBytes], encoder = v[kEncoderBytes];
  double short_w = 0.0, long_w = 0.0, start = 0.0;
  bool any_short = false, any_long = false;
  for (double s = 0.0; s < pp; s += 1.0) {
    const bool longer = r > 0.0 && s >= pp - 1.0 - r && s <= pp - 2.0;
    const double layers = longer ? q + 1.0 : q;
    const double moe = moe_layers_before(start + layers, n, n_moe_raw) - moe_layers_before(start, n, n_moe_raw);
    const double extra = s == 0.0 ? matrix + encoder : (s == pp - 1.0 ? encoder + matrix : encoder);
    const double w = stage_weights(v, tp, pp, shard, layers, moe, n_moe, extra);
    if (longer) { long_w = any_long && long_w >= w ? long_w : w; any_long = true; }
    else { short_w = any_short && short_w >= w ? short_w : w; any_short = true; }
    start += layers;
  }
  if (!any_long) return Stages{q, short_w, 0.0, 0.0};
  if (!any_short || long_w >= short_w) return Stages{q + 1.0, long_w, 0.0, 0.0};
  return Stages{q, short_w, q + 1.0, long_w};
}

/// Layers of [begin, end) whose bit is set in `mask` (4 fields of kMaskBits layers each).
ENERGYLENS_HD double mask_layers(const double* mask, double begin, double end) {
  double count = 0.0;
  for (double i = begin; i < end; i += 1.0) {
    const int layer = static_cast<int>(i);
    const std::uint64_t word = static_cast<std::uint64_t>(mask[layer / kMaskBits]);
    count += static_cast<double>((word >> (layer % kMaskBits)) & 1u);
  }
  return count;
}

/// Whether the combo gives its layer pattern (an attention mask bit set; stage_cache.py pattern_fields).
ENERGYLENS_HD bool has_pattern(const double* v) {
  return v[kAttentionMask0] != 0.0 || v[kAttentionMask1] != 0.0 || v[kAttentionMask2] != 0.0 ||
         v[kAttentionMask3] != 0.0;
}

/// One slot of Outer: a stage of `a` of the `n_att` attention layers (`w` of them sliding-window ones) and `m` of
/// the `n_rec` state layers, `offset` its weights minus the fullest stage's.
ENERGYLENS_HD void set_slot(const double* v, Outer& out, int k, double offset, double kv_split, double tp, double a,
                            double n_att, double m, double n_rec, double w) {
  const double spread_a = a > 0.0 ? n_att / a : HUGE_VAL;
  const double spread_m = m > 0.0 ? n_rec / m : HUGE_VAL;
  out.slot_offset[k] = offset;
  out.slot_kv_div[k] = kv_split * spread_a;
  out.slot_state[k] = v[kStateMemoryBytesPerSeq] / (tp * spread_m);
  out.slot_full[k] = (a - w) / (kv_split * n_att);
  out.slot_window[k] = w / (kv_split * n_att);
}

/// The slots of a model whose combo gives its layer pattern (stage_cache.py _group_cache): each stage of
/// vLLM's split (binding_stages') with its weights (stage_weights), attention, sliding and state layers
/// (mask_layers); above kMaxPatternStages stages one slot of the largest full, sliding and state layers, at the
/// fullest weights.
ENERGYLENS_HD void pattern_slots(const double* v, double tp, double pp, double shard, double kv_split, double weights,
                                 Outer& out) {
  using std::floor;
  const double n = v[roofline::kLayers];
  const double n_moe_raw = v[kExperts] > 1.0 ? v[kA2aLayersWithDp] : 0.0;
  const double n_moe = n_moe_raw > 0.0 && n_moe_raw < n ? n_moe_raw : n;
  const double q = floor(n / pp), r = n - q * pp;
  const double matrix = v[kEmbeddingMatrixBytes], encoder = v[kEncoderBytes];
  const double n_att = mask_layers(v + kAttentionMask0, 0.0, n), n_rec = mask_layers(v + kStateMask0, 0.0, n);
  out.windowed = mask_layers(v + kSlidingMask0, 0.0, n) > 0.0 && v[kWindowTokens] > 0.0;
  out.window = v[kWindowTokens];
  out.kv_raw = v[roofline::kKvBytesPerToken];
  const bool each = pp <= static_cast<double>(kMaxPatternStages);
  double start = 0.0, top_f = 0.0, top_w = 0.0, top_m = 0.0;
  int k = 0;
  for (double s = 0.0; s < pp; s += 1.0) {
    const bool longer = r > 0.0 && s >= pp - 1.0 - r && s <= pp - 2.0;
    const double layers = longer ? q + 1.0 : q;
    const double a = mask_layers(v + kAttentionMask0, start, start + layers);
    const double m = mask_layers(v + kStateMask0, start, start + layers);
    const double w = mask_layers(v + kSlidingMask0, start, start + layers);
    top_f = a - w > top_f ? a - w : top_f;
    top_w = w > top_w ? w : top_w;
    top_m = m > top_m ? m : top_m;
    if (each) {
      const double moe = moe_layers_before(start + layers, n, n_moe_raw) - moe_layers_before(start, n, n_moe_raw);
      const double extra = s == 0.0 ? matrix + encoder : (s == pp - 1.0 ? encoder + matrix : encoder);
      const double sw = stage_weights(v, tp, pp, shard, layers, moe, n_moe, extra);
      set_slot(v, out, k++, sw - weights, kv_split, tp, a, n_att, m, n_rec, w);
    }
    start += layers;
  }
  if (!each) set_slot(v, out, k++, weights - weights, kv_split, tp, top_f + top_w, n_att, top_m, n_rec, top_w);
  out.n_slots = k;
}

/// Structural checks and the weight memory of one (combo, tp, pp, dp, ep): KV heads are split when
/// tp <= kv heads (tp must divide them) and replicated otherwise (kv heads must divide tp), as vLLM
/// does; dense weights split over tp, expert weights over moe_group (whole experts per GPU with EP,
/// tensor-sliced over tp x dp without), each stage holding its layers' and MoE layers' share
/// (binding_stages): fixed_bytes is the fullest stage's.
ENERGYLENS_HD Outer outer_info(const View& s, const Limits& o, const Digits& d) {
  const double* v = s.combos + d.c * kNumComboFields;
  const double tp = s.tp[d.tp], pp = s.pp[d.pp], dp = s.dp[d.dp], ep = s.ep[d.ep];
  const double heads = v[kHeads], kv_heads = v[kKvHeads], experts = v[kExperts];
  const double shard = moe_group(tp, dp, ep);
  const Stages st = binding_stages(v, tp, pp, shard);
  const double spread = pp > 1.0 ? v[roofline::kLayers] / st.layers : pp;  // pp on even stages
  const double kv_split = tp < kv_heads ? tp : kv_heads;
  Outer out{kFeasible, 0.0, kv_split * spread, o.gpu_memory_utilization * v[kMemoryBytes],
            0.0, 0.0, 0.0, v[kStateMemoryBytesPerSeq] / (tp * spread), 0.0, 0.0, 0.0, 0.0,
            0, {}, {}, {}, false, {}, {}, 0.0, 0.0};
  topology::features(domain_gpus(o, v), tp, pp, moe_group(tp, dp, ep), v[roofline::kLinkBytesPerS],
                     v[roofline::kScaleOutBytesPerS], out.tp_link, out.a2a_link, out.hops);
  const bool kv_ok = tp <= kv_heads ? divides(tp, kv_heads) : divides(kv_heads, tp);
  if (!divides(tp, heads) || !kv_ok) out.reason = static_cast<int>(Reason::TpHeads);
  else if (tp > tp_limit(o, v)) out.reason = static_cast<int>(Reason::TpNode);
  else if (ep > 1 && experts <= 1) out.reason = static_cast<int>(Reason::EpWithoutMoe);
  else if (ep > 1 && !divides(ep, experts)) out.reason = static_cast<int>(Reason::EpExperts);
  else if (ep > 1 && ep != tp * dp) out.reason = static_cast<int>(Reason::EpGroup);
  else if (fp8_block_misfit(v, tp, dp, ep)) out.reason = static_cast<int>(Reason::Fp8BlockShape);
  const double weights = st.weights;
  if (st.other_layers > 0.0) {
    const double other = v[roofline::kLayers] / st.other_layers;
    out.fullest_kv_div = kv_split * other;
    out.fullest_state_bytes = v[kStateMemoryBytesPerSeq] / (tp * other);
    out.first_offset = st.weights - weights;
    out.fullest_offset = st.other_weights - weights;
  }
  if (pp > 1.0 && has_pattern(v)) pattern_slots(v, tp, pp, shard, kv_split, weights, out);
  const double reserve = runtime_reserve(o, v, tp, dp, ep) + o.activation_tokens * v[roofline::kDModel] * o.activation_bytes_per_token_dmodel;
  out.fixed_bytes = weights + reserve;
  if (out.reason == kFeasible && out.fixed_bytes > out.usable_bytes) out.reason = static_cast<int>(Reason::MemoryWeights);
  return out;
}

/// Expert copies of a deployment (features.py's _weight_bytes): tp dp / moe_group, at least one: one per EP
/// group with expert parallelism, else one for all the dp replicas.
ENERGYLENS_HD double expert_copies(double tp, double dp, double ep) {
  const double copies = tp * dp / moe_group(tp, dp, ep);
  return copies > 1.0 ? copies : 1.0;
}

/// Weight bytes all GPUs of a deployment stream per decode step at running batch B (all replicas): every
/// data-parallel replica streams the shared weights, each expert copy serves B / copies sequences and
/// touches 1 - (1 - k/E)^max(B / copies, 1) of its experts (features.py's _weight_bytes and
/// moe_touch_fraction, from the combo's values).
ENERGYLENS_HD double weight_step_bytes(const double* v, double tp, double dp, double ep, double batch) {
  using std::exp;
  if (v[kWeightExpertStepBytes] == 0.0) return dp * v[kWeightSharedStepBytes];
  const double copies = expert_copies(tp, dp, ep);
  const double per_copy = batch / copies;
  const double touched = 1.0 - exp((per_copy > 1.0 ? per_copy : 1.0) * v[kExpertMissLog]);
  return dp * v[kWeightSharedStepBytes] + copies * v[kWeightExpertStepBytes] * touched;
}

/// The cache bytes of kv_bytes from its parts: `ctx` the mean and `full` the whole sequence's tokens,
/// `kv1` the unreplicated KV bytes per token; where a pipeline stage with more layers holds fewer weights
/// than the fullest, the larger of the two stages' (Outer). (No multiply feeds an add, and the build does not contract,
/// so the per-candidate and block paths round alike.)
ENERGYLENS_HD double cache_bytes(const Outer& out, double batch, double ctx, double full, double kv1) {
  const double mean_tokens = batch * ctx;
  const double tokens = mean_tokens > full ? mean_tokens : full;
  const double seqs = batch > 1.0 ? batch : 1.0;
  const double first = tokens * kv1 / out.kv_div + seqs * out.state_bytes;
  if (!(out.fullest_kv_div > 0.0)) return first;
  // the fullest stage and one with more layers, each beyond the fuller stage's weights (Outer)
  const double at_first = out.first_offset + first;
  const double at_fullest = out.fullest_offset + (tokens * kv1 / out.fullest_kv_div + seqs * out.fullest_state_bytes);
  return at_first > at_fullest ? at_first : at_fullest;
}

/// cache_bytes of a hybrid whose stages pattern_slots weighed (Outer's n_slots > 0): the largest over the slots
/// of a stage's weights beyond the fullest's plus its KV cache and state (stage_cache.py _group_cache). Apart
/// from cache_bytes so that the loops over a dense model's points stay as they were.
ENERGYLENS_HD double pattern_cache_bytes(const Outer& out, double batch, double ctx, double full, double kv1) {
  const double mean_tokens = batch * ctx;
  const double tokens = mean_tokens > full ? mean_tokens : full;
  const double seqs = batch > 1.0 ? batch : 1.0;
  double best = 0.0;
  if (out.windowed) {  // each stage's sliding layers hold the window's share of the context, its full ones all of it
    const double seen = ctx < out.window ? ctx : out.window;
    const double share = seen / (ctx > 1.0 ? ctx : 1.0);
    for (int k = 0; k < out.n_slots; ++k) {
      const double per_token = out.kv_raw * (out.slot_full[k] + out.slot_window[k] * share);
      const double value = out.slot_offset[k] + (tokens * per_token + seqs * out.slot_state[k]);
      best = k == 0 ? value : (best > value ? best : value);
    }
    return best;
  }
  for (int k = 0; k < out.n_slots; ++k) {
    const double value = out.slot_offset[k] + (tokens * kv1 / out.slot_kv_div[k] + seqs * out.slot_state[k]);
    best = k == 0 ? value : (best > value ? best : value);
  }
  return best;
}

/// KV bytes per token (all GPUs) and the decode and prefill attention FLOPs per token per position of a
/// candidate: the combo's values without windows, times the sliding-window share at the mean context
/// (input + output / 2), and the KV bytes times max(1, tp / kv heads), as vLLM replicates KV heads
/// (features.py).
ENERGYLENS_HD void attention_features(const double* v, double tp, double input_tokens, double output_tokens,
                                      double& kv, double& attn, double& attn_prefill) {
  double share = 1.0;
  if (v[kSlidingShare] > 0.0) {
    const double ctx = input_tokens + 0.5 * output_tokens;
    const double seen = ctx < v[kWindowTokens] ? ctx : v[kWindowTokens];
    share = 1.0 - v[kSlidingShare] + v[kSlidingShare] * seen / (ctx > 1.0 ? ctx : 1.0);
  }
  const double replication = tp / v[kKvHeads];
  kv = v[roofline::kKvBytesPerToken] * share * (replication > 1.0 ? replication : 1.0);
  attn = v[roofline::kAttnFlopsPerTokenCtx] * share;
  attn_prefill = v[roofline::kPrefillAttnFlopsPerTokenCtx] * share;
}

/// Prefill extra FLOPs of (combo, workload).
ENERGYLENS_HD double prefill_extra(const View& s, const Digits& d) {
  if (s.prefill_extra == nullptr) return s.combos[d.c * kNumComboFields + roofline::kPrefillExtraFlops];
  return s.prefill_extra[d.c * s.n_w + d.w];
}

/// Dispatch / combine MoE layers of a candidate: the combo's MoE layers when dp > 1, with EP or without
/// (moe_group; features.py).
ENERGYLENS_HD double a2a_layers(const double* v, double dp) { return dp > 1.0 ? v[kA2aLayersWithDp] : 0.0; }

/// The template's feature row of a candidate whose data-parallel ranks each run `rank_batch` sequences:
/// the template's batch is the deployment's, dp x rank_batch (features.py; the template splits it over dp).
ENERGYLENS_HD void fill_features(const View& s, const Limits& o, const Digits& d, double rank_batch, double* f) {
  const double* v = s.combos + d.c * kNumComboFields;
  for (int k = 0; k < roofline::kNumFeatures; ++k) f[k] = v[k];
  const double tp = s.tp[d.tp], dp = s.dp[d.dp], ep = s.ep[d.ep];
  f[roofline::kTp] = tp;
  f[roofline::kPp] = s.pp[d.pp];
  f[roofline::kDp] = dp;
  f[roofline::kEp] = ep;
  f[roofline::kA2aMoeLayers] = a2a_layers(v, dp);
  f[roofline::kBatch] = dp * rank_batch;
  f[roofline::kInputTokens] = s.workloads[2 * d.w];
  f[roofline::kOutputTokens] = s.workloads[2 * d.w + 1];
  f[roofline::kWeightBytesPerStep] = weight_step_bytes(v, tp, dp, ep, f[roofline::kBatch]);
  f[roofline::kPrefillExtraFlops] = prefill_extra(s, d);
  attention_features(v, tp, f[roofline::kInputTokens], f[roofline::kOutputTokens], f[roofline::kKvBytesPerToken],
                     f[roofline::kAttnFlopsPerTokenCtx], f[roofline::kPrefillAttnFlopsPerTokenCtx]);
  topology::features(domain_gpus(o, v), tp, f[roofline::kPp], moe_group(tp, dp, ep), v[roofline::kLinkBytesPerS],
                     v[roofline::kScaleOutBytesPerS], f[roofline::kLinkBytesPerS], f[roofline::kA2aBytesPerS],
                     f[roofline::kPpScaleOutHops]);
}

/// Cache bytes per GPU of a rank's running batch: the KV cache of its tokens at the mean context
/// (batch x (input + output / 2)), but never less than one whole sequence (input + output: vLLM refuses a
/// max_model_len whose sequence does not fit, and a load-mode batch below one still serves whole
/// requests), plus each sequence's recurrent state (hybrid Mamba layers; at least one sequence).
ENERGYLENS_HD double kv_bytes(const View& s, const Digits& d, const Outer& out, double batch) {
  const double* w = s.workloads + 2 * d.w;
  // Per GPU: the unreplicated KV split over min(tp, kv heads) x pp GPUs (replicated heads are the reason
  // the split stops at the KV-head count), at the window share of this context.
  double kv = 0.0, attn = 0.0, attn_prefill = 0.0;
  attention_features(s.combos + d.c * kNumComboFields, 1.0, w[0], w[1], kv, attn, attn_prefill);
  if (out.n_slots > 0) return pattern_cache_bytes(out, batch, w[0] + 0.5 * w[1], w[0] + w[1], kv);
  return cache_bytes(out, batch, w[0] + 0.5 * w[1], w[0] + w[1], kv);
}

/// The value minimised.
ENERGYLENS_HD double objective_of(const Limits& o, double energy_j, double gpu_s, double out_tokens, double price) {
  double value = energy_j;
  if (o.objective == static_cast<int>(Objective::Carbon)) value = energy_j * o.carbon_g_per_kwh / 3.6e6;
  else if (o.objective == static_cast<int>(Objective::Cost)) value = gpu_s * price / 3600.0;
  return o.per_token ? value / out_tokens : value;
}

/// TTFT and TPOT of one candidate's features `f`: the latency template at `pl`, times the combo's
/// latency-calibration factors (`combo` is its kNumComboFields values; 1 when the model is uncalibrated),
/// and the uncalibrated prefill stall B_r t_pf that time_in_system takes.
ENERGYLENS_HD void latency(const double* f, const double* pl, const double* combo, double& ttft, double& tpot,
                           double& stall) {
  LatencyTemplate::eval_stall(f, pl, ttft, tpot, stall);
  ttft *= combo[kTtftFactor];
  tpot *= combo[kTpotFactor];
}

/// The latency template with the replica's prefill stall as its third output (eval_block's form): TTFT,
/// TPOT and B_r t_pf, uncalibrated (LatencyTemplate::eval_stall).
struct LatencyStall {
  /// One row (the gradient pointers unused).
  template <typename T>
  ENERGYLENS_HD static void eval(const T* f, const T* p, T& ttft, T& tpot, T& stall, T*, T*, T*) {
    LatencyTemplate::eval_stall(f, p, ttft, tpot, stall);
  }
};

/// A request's time in the system (s): TTFT + L_out TPOT + sigma B_r t_p, from the calibrated TTFT and TPOT
/// and the template's uncalibrated `stall` (B_r t_pf), which the combo's TTFT factor and prefill_stall
/// sigma scale (docs/model.md, section 4).
ENERGYLENS_HD double time_in_system(const double* combo, double ttft, double tpot, double stall, double out_tokens) {
  return ttft + out_tokens * tpot + combo[kPrefillStall] * (combo[kTtftFactor] * stall);
}

/// Prefill and decode energy of one candidate times its combo's energy-calibration factor (`combo` is its
/// kNumComboFields values; the factor is 1 when the model is uncalibrated or the combo's key was not seen
/// in training, and x 1 is exact, so an uncalibrated search is unchanged bit for bit).
ENERGYLENS_HD void calibrate_energy(const double* combo, double& prefill_j, double& decode_j) {
  prefill_j *= combo[kEnergyFactor];
  decode_j *= combo[kEnergyFactor];
}

/// TtftLimit, TpotLimit or kFeasible (a NaN prediction fails its limit).
ENERGYLENS_HD int limit_reason(const Limits& o, double ttft, double tpot) {
  if (!(ttft <= o.ttft_limit_s)) return static_cast<int>(Reason::TtftLimit);
  if (!(tpot <= o.tpot_limit_s)) return static_cast<int>(Reason::TpotLimit);
  return kFeasible;
}

}  // namespace energylens::search::kernel
