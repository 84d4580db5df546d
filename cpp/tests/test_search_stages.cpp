// The memory check's pipeline stages (search_kernel.hpp's moe_layers_before and binding_stages) against stages
// written out by hand: vLLM's split (get_pp_indices: n / pp layers each, the remainder to the stages from the
// second-to-last backwards), the routed experts on the MoE layers (dense layers first, DeepSeek-V3's
// first_k_dense_replace; every second layer, Llama 4's interleave step 2), the embedding on the first stage and
// the lm_head on the last. Round numbers of bytes, so the sums are exact. CHECK (check.hpp); exit code 1 on
// failure.
#include <array>
#include <cmath>
#include <cstring>

#include "check.hpp"
#include "energylens/search.hpp"
#include "energylens/search_kernel.hpp"

namespace {

namespace search = energylens::search;
namespace kernel = energylens::search::kernel;
namespace roofline = energylens::roofline;

/// A combo of `layers` decoder layers, `moe` of them MoE (0: a dense model): 1000 B of non-expert weights per
/// layer, 58000 B of experts in all, an embedding matrix of `matrix` B (untied), no vision encoder.
std::array<double, search::kNumComboFields> combo(double layers, double moe, double matrix, double experts) {
  std::array<double, search::kNumComboFields> v{};
  v[roofline::kLayers] = layers;
  v[search::kExperts] = moe > 0.0 ? 256.0 : 1.0;
  v[search::kA2aLayersWithDp] = moe;
  v[search::kExpertTotalBytes] = moe > 0.0 ? experts : 0.0;
  v[search::kEmbeddingMatrixBytes] = matrix;
  v[search::kWeightTotalBytes] = 1000.0 * layers + 2.0 * matrix + v[search::kExpertTotalBytes];
  return v;
}

void moe_layers_sit_where_the_model_puts_them() {
  CHECK(kernel::moe_layers_before(15.0, 61.0, 58.0) == 12.0);  // layers 0-2 dense
  CHECK(kernel::moe_layers_before(2.0, 61.0, 58.0) == 0.0);
  CHECK(kernel::moe_layers_before(9.0, 48.0, 24.0) == 4.0);  // layers 1, 3, 5, 7
  CHECK(kernel::moe_layers_before(20.0, 48.0, 48.0) == 20.0);  // every layer
  CHECK(kernel::moe_layers_before(20.0, 48.0, 0.0) == 20.0);
}

void dense_first_layers_move_the_fullest_stage() {
  // 61 layers (58 MoE, 1000 B of experts per MoE layer) over pp 4: 15, 15, 16, 15 layers, 12, 15, 16, 15 MoE.
  // Stages: 15000 + 100 + 12000, 15000 + 15000, 16000 + 16000, 15000 + 100 + 15000: the third binds alone.
  const auto v = combo(61.0, 58.0, 100.0, 58000.0);
  const kernel::Stages s = kernel::binding_stages(v.data(), 1.0, 4.0, 1.0);
  CHECK(s.layers == 16.0 && s.weights == 32000.0 && s.other_layers == 0.0);
  // pp 2: 31 layers (28 MoE + embedding) and 30 (30 MoE + lm_head): the last has more weights, the first
  // more layers (KV): both are kept
  const kernel::Stages two = kernel::binding_stages(v.data(), 1.0, 2.0, 1.0);
  CHECK(two.layers == 30.0 && two.weights == 30000.0 + 100.0 + 30000.0);
  CHECK(two.other_layers == 31.0 && two.other_weights == 31000.0 + 100.0 + 28000.0);
  // over tp 2 and the experts over 4 GPUs
  const kernel::Stages split = kernel::binding_stages(v.data(), 2.0, 4.0, 4.0);
  CHECK(split.weights == 16000.0 / 2.0 + 16000.0 / 4.0);
}

void interleaved_moe_layers_make_the_last_stage_fullest() {
  // 48 layers, every second one MoE (24 x 2000 B), over pp 5: 9, 10, 10, 10, 9 layers with 4, 5, 5, 5, 5 MoE
  // layers. Last: 9000 + 10000 + 3000 (lm_head) = 22000 against 10000 + 10000 in the middle.
  const auto v = combo(48.0, 24.0, 3000.0, 48000.0);
  const kernel::Stages s = kernel::binding_stages(v.data(), 1.0, 5.0, 1.0);
  CHECK(s.layers == 9.0 && s.weights == 22000.0);
  CHECK(s.other_layers == 10.0 && s.other_weights == 20000.0);
}

void even_layers_keep_the_first_stage() {
  // a dense model of 80 layers over pp 3 (27, 27, 26): the first, 27 layers and the embedding
  const auto v = combo(80.0, 0.0, 500.0, 0.0);
  const kernel::Stages s = kernel::binding_stages(v.data(), 1.0, 3.0, 1.0);
  CHECK(s.layers == 27.0 && s.weights == 27500.0 && s.other_layers == 0.0);
  // pp 1: everything, over tp and the experts over their group
  const auto m = combo(48.0, 48.0, 0.0, 48000.0);
  const kernel::Stages one = kernel::binding_stages(m.data(), 2.0, 1.0, 4.0);
  CHECK(one.layers == 48.0 && one.weights == 48000.0 / 2.0 + 48000.0 / 4.0);
}

/// Nemotron-Nano-9B-v2's hybrid_override_pattern: M Mamba-2 (a state), * attention (a KV cache), - MLP.
constexpr const char* kNano9 = "M-M-M-MM-M-M-M*-M-M-M*-M-M-M-M*-M-M-M-M*-M-MM-M-M-M-M-M-";

bool near(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::fabs(b); }

void hybrid_stages_hold_their_attention_and_state_layers() {
  // 56 layers of 1000 B, the embedding and lm_head 500 B each; the masks as stage_cache.py pattern_fields sets
  // them; one sequence's state 3456 B over the 27 Mamba layers (128 each)
  auto v = combo(56.0, 0.0, 500.0, 0.0);
  for (int i = 0; kNano9[i] != '\0'; ++i) {
    const int field = (kNano9[i] == '*' ? search::kAttentionMask0 : search::kStateMask0) + i / kernel::kMaskBits;
    if (kNano9[i] != '-') v[field] += std::ldexp(1.0, i % kernel::kMaskBits);
  }
  v[search::kStateMemoryBytesPerSeq] = 3456.0;
  CHECK(kernel::has_pattern(v.data()) && !kernel::has_pattern(combo(56.0, 0.0, 500.0, 0.0).data()));
  // pp 3: layers 0-18, 19-37, 38-55 hold attention layers 14 | 21, 30 | 39 and 10, 8, 9 Mamba layers
  CHECK(kernel::mask_layers(v.data() + search::kAttentionMask0, 0.0, 19.0) == 1.0);
  CHECK(kernel::mask_layers(v.data() + search::kAttentionMask0, 19.0, 38.0) == 2.0);
  CHECK(kernel::mask_layers(v.data() + search::kAttentionMask0, 38.0, 56.0) == 1.0);
  CHECK(kernel::mask_layers(v.data() + search::kStateMask0, 0.0, 19.0) == 10.0);
  CHECK(kernel::mask_layers(v.data() + search::kStateMask0, 19.0, 38.0) == 8.0);
  const kernel::Stages st = kernel::binding_stages(v.data(), 1.0, 3.0, 1.0);
  CHECK(st.weights == 19500.0);  // the first: 19 layers and the embedding
  kernel::Outer out{};
  kernel::pattern_slots(v.data(), 1.0, 3.0, 1.0, 1.0, st.weights, out);
  CHECK(out.n_slots == 3);
  CHECK(out.slot_offset[0] == 0.0 && out.slot_offset[1] == -500.0 && out.slot_offset[2] == -1000.0);
  CHECK(out.slot_kv_div[0] == 4.0 && out.slot_kv_div[1] == 2.0 && out.slot_kv_div[2] == 4.0);
  CHECK(near(out.slot_state[0], 1280.0) && near(out.slot_state[1], 1024.0) && near(out.slot_state[2], 1152.0));
  // 100 tokens of one sequence, 400 B per token over the 4 attention layers: the middle stage binds
  // (-500 + 100 x 400 / 2 + 1024), where its layers' share counted 19 / 56 x 4 = 1.36 attention layers
  CHECK(near(kernel::pattern_cache_bytes(out, 1.0, 100.0, 100.0, 400.0), 20524.0));
  // pp 9 (above kMaxPatternStages): one slot, the largest attention and Mamba layers at the fullest weights
  kernel::Outer bound{};
  kernel::pattern_slots(v.data(), 1.0, 9.0, 1.0, 1.0, 7500.0, bound);
  CHECK(bound.n_slots == 1 && bound.slot_offset[0] == 0.0 && bound.slot_kv_div[0] == 4.0);
}

}  // namespace

int main() {
  hybrid_stages_hold_their_attention_and_state_layers();
  moe_layers_sit_where_the_model_puts_them();
  dense_first_layers_move_the_fullest_stage();
  interleaved_moe_layers_make_the_last_stage_fullest();
  even_layers_keep_the_first_stage();
  return energylens::testing::finish("test_search_stages");
}
