// The roofline time model shared by the energy and latency templates (docs/model.md): decode-step
// time from a smooth max of compute and HBM time (one sqrt), TP all-reduce, EP all-to-all, scale-out PP hop
// and PP stage terms, host overheads;
// prefill time from FLOPs. Host/device (ENERGYLENS_HD) so the CPU loop and the CUDA kernel share it.
#pragma once

#include <cmath>

#include "energylens/template_common.hpp"

namespace energylens::roofline {

/// Feature order shared by both templates (names, units and meanings in cpp/src/templates.cpp).
enum Feature : int {
  kTp = 0,                 ///< tensor-parallel degree
  kPp,                     ///< pipeline-parallel degree
  kBatch,                  ///< running sequences per decode step
  kInputTokens,            ///< prompt tokens per request
  kOutputTokens,           ///< generated tokens per request
  kLayers,                 ///< transformer layers
  kDModel,                 ///< hidden size
  kActiveParams,           ///< parameters used per token
  kWeightBytesPerStep,     ///< weight bytes one decode step streams (MoE: touched experts)
  kKvBytesPerToken,        ///< KV-cache bytes per token over all layers
  kAttnFlopsPerTokenCtx,   ///< attention FLOPs per token per context position
  kPrefillExtraFlops,      ///< vision-encoder FLOPs per request
  kPeakFlopsPerS,          ///< dense peak FLOP/s of one GPU at the row's precision
  kHbmBytesPerS,           ///< HBM bandwidth of one GPU
  kTdpW,                   ///< board power limit of one GPU
  kLinkBytesPerS,          ///< scale-up link bandwidth per GPU per direction
  kDp,                     ///< data-parallel replicas (each tp x pp GPUs); n_gpus = tp x pp x dp
  kEp,                     ///< expert-parallel group size (1 = experts tensor-sliced over tp x dp)
  kA2aMoeLayers,           ///< MoE layers that dispatch/combine the dp ranks' tokens (dp > 1), else 0
  kExpertsPerToken,        ///< routed experts per token (1 dense)
  kStateBytesPerSeq,       ///< per-sequence recurrent state read + written per step (Mamba layers), bytes
  kMoeLayers,              ///< extra launch layers: routed-expert layers, plus every layer of a W8A8 row
  kPrefillAttnFlopsPerTokenCtx,  ///< prefill attention FLOPs per token per context position (MLA: decompressed K/V)
  kA2aBytesPerS,           ///< EP all-to-all bandwidth per GPU per direction (kLinkBytesPerS inside one domain)
  kScaleOutBytesPerS,      ///< scale-out (inter-node NIC) bandwidth per GPU per direction
  kPpScaleOutHops,         ///< pipeline stage boundaries of a replica that cross scale-up domains (0 inside one)
  kNumFeatures             ///< number of features (not a feature)
};

inline constexpr double kMicro = 1e-6;  ///< us -> s

/// Time parameters (SI seconds for the overheads) of the shared roofline.
template <typename T>
struct TimeParams {
  T eta_c, eta_m, p, eta_pf, tau_layer_s, alpha_s, tau_seq_s, theta_pp;  ///< p: roofline overlap s
};

/// Roofline intermediates of one row and the partial derivatives the templates need.
template <typename T>
struct Times {
  T n, n_rep, batch, batch_rep, out_tokens, layers, launch_layers, pp;  ///< n = tp pp dp GPUs; n_rep = tp pp per replica
  T microbatches;               ///< m = min(max(B_r, 1), pp): microbatches in flight through a replica's pipeline
  T flops_step, flops_prefill;  ///< F and F_p
  T tc, tm, tg;                 ///< compute, memory and smooth-max time of a decode step
  T dtg_dtc, dtg_dtm, dtg_dp;   ///< partials of tg
  T n_ar, t_ar, g_pp;           ///< all-reduces per step, their time, PP factor (pp / m) (1 + theta_pp (pp - 1))
  T n_a2a, t_a2a;               ///< EP all-to-alls per step (dispatch + combine) and their time
  T n_x, t_x;                   ///< scale-out PP hops per stage per step (hops / pp) and their time
  T busy, t_step;               ///< device-busy part of a step and the whole step (= TPOT)
  T t_pc, t_pf;                 ///< prefill compute time and prefill time
};

/// Evaluates the shared roofline for one row of features `f`.
template <typename T>
ENERGYLENS_HD Times<T> times(const T* f, const TimeParams<T>& q) {
  using std::sqrt;
  Times<T> r;
  const T tp = f[kTp];
  r.pp = f[kPp];
  const T dp = f[kDp];
  const T ep = f[kEp];
  r.n_rep = tp * r.pp;
  r.n = r.n_rep * dp;  // static power and the step's work are spread over every GPU
  r.batch = f[kBatch];
  r.batch_rep = r.batch / dp;  // each data-parallel replica runs its share of the batch
  const T li = f[kInputTokens];
  r.out_tokens = f[kOutputTokens];
  r.layers = f[kLayers];
  r.launch_layers = r.layers + f[kMoeLayers];  // a MoE (or W8A8) layer launches about twice a dense layer's kernels
  const T na = f[kActiveParams];
  const T a = f[kAttnFlopsPerTokenCtx];
  const T peak = f[kPeakFlopsPerS];
  const T ctx = li + T(0.5) * r.out_tokens;
  r.flops_step = r.batch * (T(2) * na + a * ctx);
  // Pipeline parallelism as vLLM runs it: a replica's B_r sequences move through its pp stages in
  // m = min(B_r, pp) microbatches (at least one), and every stage streams its weights once per microbatch.
  // One decode step of every sequence (a round) is pp stage-times of one microbatch of B_r / m sequences,
  // which is the round's work below (F, and m x the weights + the KV) times pp / m: at B_r >= pp that is
  // a tp-only replica's step at B_r / pp sequences, and at B_r = 1 the stages run one after another, so
  // PP never shortens a lone sequence's step. At pp = 1, m = 1 and every factor below is exactly 1.
  const T b1 = r.batch_rep < T(1) ? T(1) : r.batch_rep;
  r.microbatches = b1 < r.pp ? b1 : r.pp;
  // weight bytes are summed over all GPUs (features.py: every replica streams its dense weights,
  // experts once per expert copy), once per microbatch; KV and recurrent state once per sequence
  const T bytes_step =
      f[kWeightBytesPerStep] * r.microbatches + r.batch * (ctx * f[kKvBytesPerToken] + f[kStateBytesPerSeq]);
  r.tc = r.flops_step / (r.n * peak * q.eta_c);
  r.tm = bytes_step / (r.n * f[kHbmBytesPerS] * q.eta_m);
  // Smooth max of compute and memory time with one sqrt (no transcendental, so the loop vectorises):
  // tg = (tc + tm + R) / 2, R = sqrt((tc - tm)^2 + 4 s tc tm); s = 1 gives tc + tm (no overlap),
  // s -> 0 gives max(tc, tm) (full overlap).
  const T diff = r.tc - r.tm;
  const T root = sqrt(diff * diff + T(4) * q.p * r.tc * r.tm);
  r.tg = T(0.5) * (r.tc + r.tm + root);
  r.dtg_dtc = T(0.5) * (T(1) + (diff + T(2) * q.p * r.tm) / root);
  r.dtg_dtm = T(0.5) * (T(1) + (T(2) * q.p * r.tc - diff) / root);
  r.dtg_dp = r.tc * r.tm / root;
  r.n_ar = T(2) * r.layers * (tp - T(1)) / (tp * r.pp);
  const T link = f[kLinkBytesPerS];
  const T d = f[kDModel];
  // latencies are paid once per microbatch (alpha m), bytes once per sequence
  const T alpha_m = q.alpha_s * r.microbatches;
  r.t_ar = r.n_ar * (alpha_m + T(4) * r.batch_rep * d / link);
  // MoE dispatch + combine among the dp ranks: each GPU sends its tokens' k hidden states (16-bit) to the
  // (G-1)/G remote GPUs of the MoE group G: the EP group, else all tp x dp GPUs (vLLM's MoE layers flatten
  // TP across DP; search_kernel.hpp's moe_group)
  r.n_a2a = T(2) * f[kA2aMoeLayers] / r.pp;
  // group = ep when ep > 1, else tp dp, branch-free (a select of two expressions keeps GCC from vectorising
  // the row loop): min(ep - 1, 1) is 0 or 1 for a whole ep >= 1 (symbolic.py writes the same)
  const T ep_minus_1 = ep - T(1);
  const T with_ep = ep_minus_1 < T(1) ? ep_minus_1 : T(1);
  const T group = tp * dp + with_ep * (ep - tp * dp);
  const T a2a_bytes_per_token = T(2) * f[kExpertsPerToken] * d * (group - T(1)) / (group * tp);
  const T a2a_link = f[kA2aBytesPerS];  // = link inside one scale-up domain (features.py, docs/search.md "Topology")
  r.t_a2a = r.n_a2a * (alpha_m + r.batch_rep * a2a_bytes_per_token / a2a_link);
  // PP stage boundaries that cross scale-up domains send the stage's activations (16-bit, B_r x d) over the
  // scale-out NIC; averaged over the pp stages like the all-reduces (0 inside one domain: +0 is exact)
  // one division: q_x = hops / (pp out), n_x = q_x out (= hops / pp), bytes' time per token 2 d q_x (0 inside a domain)
  const T q_x = f[kPpScaleOutHops] / (r.pp * f[kScaleOutBytesPerS]);
  const T x_per_token = T(2) * d * q_x;
  r.n_x = q_x * f[kScaleOutBytesPerS];
  r.t_x = r.n_x * alpha_m + r.batch_rep * x_per_token;
  // idle stages when fewer microbatches than stages (pp / m), and the fitted cost per extra stage
  r.g_pp = r.pp / r.microbatches * (T(1) + q.theta_pp * (r.pp - T(1)));
  r.busy = (r.tg + r.t_ar + r.t_a2a + r.t_x) * r.g_pp;
  r.t_step = r.busy + q.tau_layer_s * r.launch_layers + q.tau_seq_s * r.batch_rep;
  // a request's prefill runs on its replica's tp x pp GPUs: t_pf is their device time (energy); a prompt
  // passes the pp stages one after another, so its latency is pp t_pf (latency_template.hpp)
  // (the prefill's own attention FLOPs: equal to `a` except for MLA, whose prefill decompresses K/V)
  r.flops_prefill = T(2) * na * li + T(0.5) * f[kPrefillAttnFlopsPerTokenCtx] * li * li + r.n_rep * f[kPrefillExtraFlops];
  r.t_pc = r.flops_prefill / (r.n_rep * peak * q.eta_pf);
  r.t_pf = r.t_pc + r.n_ar * (q.alpha_s + T(4) * li * d / link) +
           r.n_a2a * (q.alpha_s + li * a2a_bytes_per_token / a2a_link) + (r.n_x * q.alpha_s + li * x_per_token);
  return r;
}

/// Gradient of t_step with respect to the eight time parameters (eta_c, eta_m, p, eta_pf,
/// tau_layer_us, alpha_us, tau_seq_us, theta_pp) written into g[0..7]; overheads per microsecond.
template <typename T>
ENERGYLENS_HD void step_time_gradient(const Times<T>& r, const TimeParams<T>& q, T* g) {
  g[0] = r.g_pp * r.dtg_dtc * (-r.tc / q.eta_c);
  g[1] = r.g_pp * r.dtg_dtm * (-r.tm / q.eta_m);
  g[2] = r.g_pp * r.dtg_dp;
  g[3] = T(0);
  g[4] = r.launch_layers * T(kMicro);
  g[5] = r.g_pp * (r.n_ar + r.n_a2a + r.n_x) * r.microbatches * T(kMicro);
  g[6] = r.batch_rep * T(kMicro);
  g[7] = (r.tg + r.t_ar + r.t_a2a + r.t_x) * (r.pp / r.microbatches) * (r.pp - T(1));
}

}  // namespace energylens::roofline
