// The templates' features and parameters are defined here, once: names, units, meanings, bounds and start
// point. Python reads them through _core.describe_template (energylens.profiles.features,
// energylens.model.reference, energylens.model.symbolic); tests/model/test_descriptor.py checks the docs.
#include "energylens/energy_template.hpp"
#include "energylens/latency_template.hpp"

namespace energylens {
namespace {

const char* const kFeatureNames[] = {
    "tp", "pp", "batch_size", "input_tokens", "output_tokens", "n_layers", "d_model", "active_params",
    "weight_bytes_per_step", "kv_bytes_per_token", "attn_flops_per_token_ctx", "prefill_extra_flops",
    "peak_flops_per_s", "hbm_bytes_per_s", "tdp_w", "link_bytes_per_s", "dp", "ep", "a2a_moe_layers",
    "experts_per_token", "state_bytes_per_seq", "moe_layers", "prefill_attn_flops_per_token_ctx",
    "a2a_bytes_per_s", "scale_out_bytes_per_s", "pp_scale_out_hops"};
static_assert(sizeof(kFeatureNames) / sizeof(kFeatureNames[0]) == roofline::kNumFeatures);
const char* const kFeatureUnits[] = {
    "1", "1", "sequences", "tokens/request", "tokens/request", "1", "1", "parameters", "B", "B/token",
    "FLOP/token/position", "FLOP/request", "FLOP/s", "B/s", "W", "B/s", "1", "1", "1", "1", "B/sequence", "1",
    "FLOP/token/position", "B/s", "B/s", "1"};
static_assert(sizeof(kFeatureUnits) / sizeof(kFeatureUnits[0]) == roofline::kNumFeatures);
const char* const kFeatureDescriptions[] = {
    "tensor-parallel degree",
    "pipeline-parallel degree",
    "running sequences per decode step",
    "prompt tokens per request (image tokens included)",
    "generated tokens per request",
    "transformer layers",
    "hidden size (all-reduce message width)",
    "parameters used per token (top-k experts for MoE)",
    "weight bytes one decode step streams (MoE: the experts the batch touches)",
    "KV-cache bytes per token over all layers",
    "attention FLOPs per token per context position",
    "vision-encoder FLOPs per request (0 for text)",
    "dense peak FLOP/s of one GPU at the row's precision",
    "HBM bandwidth of one GPU",
    "board power limit of one GPU",
    "scale-up link bandwidth per GPU per direction",
    "data-parallel replicas (each tp x pp GPUs); n_gpus = tp x pp x dp",
    "expert-parallel group size (1: experts tensor-sliced over tp x dp)",
    "MoE layers that dispatch and combine the data-parallel ranks' tokens (dp > 1, with or without EP), else 0",
    "routed experts per token (1 dense)",
    "per-sequence recurrent-state bytes read and written per decode step (Mamba layers)",
    "extra kernel-launch layers: layers with routed experts (router, permute and grouped-GEMM kernels), plus every "
    "layer of a W8A8 row (activation-quantisation kernels)",
    "prefill attention FLOPs per token per context position (equal to attn_flops_per_token_ctx except for "
    "multi-head latent attention, whose prefill decompresses K/V instead of the decode's absorbed form)",
    "MoE dispatch / combine bandwidth per GPU per direction: the scale-up link inside one domain; a MoE group (ep, "
    "else tp x dp) larger than the domain sends 1 - domain/group of its bytes over scale-out (docs/search.md, Topology)",
    "scale-out (inter-node NIC) bandwidth per GPU per direction",
    "pipeline stage boundaries per replica that cross scale-up domains (0 inside one domain)"};
static_assert(sizeof(kFeatureDescriptions) / sizeof(kFeatureDescriptions[0]) == roofline::kNumFeatures);

const char* const kEnergyNames[] = {
    "eta_compute", "eta_memory", "roofline_overlap", "eta_prefill", "static_power_frac", "flop_energy_coef",
    "busy_power_frac", "layer_overhead_us", "allreduce_latency_us", "seq_overhead_us", "pp_bubble",
    "prefill_stall_per_kseq"};
const char* const kEnergyUnits[] = {
    "1 (fraction of peak FLOP/s)", "1 (fraction of HBM B/s)", "1", "1 (fraction of peak FLOP/s)",
    "1 (fraction of TDP per device)", "TDP/peak_FLOP_rate (J per FLOP)", "1 (fraction of TDP per device)",
    "us per layer per decode step", "us per all-reduce hop", "us per sequence per decode step",
    "1 (per extra pipeline stage)", "1 per 1000 co-running sequences"};
const char* const kEnergyDescriptions[] = {
    "achieved fraction of dense peak FLOP/s in decode GEMMs",
    "achieved fraction of HBM bandwidth when streaming weights and KV cache",
    "overlap of compute and memory time in the smooth max ((t_c + t_m + sqrt((t_c - t_m)^2 + 4 s t_c t_m)) / 2): 0 = full overlap (max), 1 = none (sum)",
    "achieved fraction of peak FLOP/s in prefill",
    "power every device draws for the whole wall time, as a fraction of its TDP",
    "dynamic energy per FLOP in units of TDP/peak (1 = running at peak costs one TDP on top)",
    "extra power of a device while its kernels run (weight/KV streaming, GEMMs, all-reduce), fraction of TDP",
    "per-layer per-step fixed time (kernel launches, synchronisation)",
    "latency of one all-reduce step between TP peers (ring hop)",
    "host-side time per running sequence per decode step (scheduling, sampling, detokenisation)",
    "extra stage time per additional pipeline stage (bubbles, p2p, idle stages)",
    "prefill stall: prefill wall time and energy grow by this per 1000 co-running sequences"};
const double kEnergyLower[] = {0.01, 0.05, 1e-4, 0.01, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
const double kEnergyUpper[] = {1.0, 1.0, 1.0, 1.0, 0.6, 3.0, 1.0, 1000.0, 500.0, 2000.0, 3.0, 50.0};
const double kEnergyInit[] = {0.5, 0.5, 0.5, 0.4, 0.25, 0.5, 0.4, 100.0, 10.0, 200.0, 0.5, 0.5};
const char* const kEnergyOutputs[] = {"prefill_energy_j", "decode_energy_j", "step_time_s"};

const char* const kLatencyNames[] = {
    "eta_compute", "eta_memory", "roofline_overlap", "eta_prefill", "layer_overhead_us", "allreduce_latency_us",
    "seq_overhead_us", "pp_bubble", "prefill_batch_factor", "tp_sync_us"};
const char* const kLatencyUnits[] = {
    "1", "1", "1", "1", "us per layer per step", "us per all-reduce hop", "us per sequence per step",
    "1 per extra stage", "1 per extra prompt in the prefill batch", "us per layer per extra TP peer"};
const char* const kLatencyDescriptions[] = {
    "achieved fraction of peak FLOP/s in decode",
    "achieved fraction of HBM bandwidth",
    "overlap of compute and memory time (0 = max, 1 = sum)",
    "achieved fraction of peak FLOP/s in prefill",
    "per-layer fixed time per forward pass",
    "latency of one all-reduce hop",
    "host time per running sequence per decode step",
    "extra stage time per extra pipeline stage",
    "TTFT grows by this fraction of one prompt's prefill per extra prompt sharing the batch",
    "per-layer synchronisation time per extra TP peer (grows linearly in tp; 0 = the roofline's all-reduce alone)"};
const double kLatencyLower[] = {0.01, 0.05, 1e-4, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
const double kLatencyUpper[] = {1.0, 1.0, 1.0, 1.0, 500.0, 200.0, 2000.0, 3.0, 2.0, 200.0};
const double kLatencyInit[] = {0.5, 0.6, 0.5, 0.4, 50.0, 10.0, 150.0, 0.5, 0.5, 5.0};
const char* const kLatencyOutputs[] = {"ttft_s", "tpot_s", "tpot_s"};

}  // namespace

const TemplateDescriptor& EnergyTemplate::descriptor() {
  static const TemplateDescriptor d{"energylens.energy.v2", kFeatures, kFeatureNames, kParams, kEnergyNames,
                                    kEnergyUnits, kEnergyDescriptions, kEnergyLower, kEnergyUpper, kEnergyInit,
                                    kEnergyOutputs, kFeatureUnits, kFeatureDescriptions};
  return d;
}

const TemplateDescriptor& LatencyTemplate::descriptor() {
  static const TemplateDescriptor d{"energylens.latency.v3", kFeatures, kFeatureNames, kParams, kLatencyNames,
                                    kLatencyUnits, kLatencyDescriptions, kLatencyLower, kLatencyUpper,
                                    kLatencyInit, kLatencyOutputs, kFeatureUnits, kFeatureDescriptions};
  return d;
}

}  // namespace energylens
