// The 10-parameter closed-form latency model (template energylens.latency.v3, docs/model.md):
//   TPOT = t_step + tau_sync L_l (tp - 1),  TTFT = pp t_pf (1 + kappa_b (B - 1)) + (tau_layer + tau_sync (tp - 1)) L_l
// on the same roofline (roofline.hpp) and features as the energy template. tau_sync is a per-layer cost per
// extra TP peer (each layer's collectives wait for, and exchange flags with, every other rank: vLLM's
// one-shot all-reduce reads all tp - 1 peers' buffers), so it grows linearly in tp where the roofline's
// all-reduce term saturates as (tp - 1) / tp.
#pragma once

#include <cstddef>

#include "energylens/roofline.hpp"

namespace energylens {

/// The latency template: its parameter order and the per-row evaluation (host and device).
struct LatencyTemplate {
  static constexpr std::size_t kFeatures = roofline::kNumFeatures;  ///< feature columns (roofline::Feature)
  static constexpr std::size_t kParams = 10;                         ///< fitted parameters (Param)
  /// Parameter order.
  enum Param : int {
    kEtaCompute = 0, kEtaMemory, kRooflineP, kEtaPrefill, kLayerOverheadUs, kAllreduceLatencyUs,
    kSeqOverheadUs, kPpBubble, kPrefillBatchFactor, kTpSyncUs
  };
  /// Names, units, meanings, bounds and start point of the features and parameters (templates.cpp).
  static const TemplateDescriptor& descriptor();

  /// The roofline's time parameters (overheads in s) of the template's parameters `p`.
  template <typename T>
  ENERGYLENS_HD static roofline::TimeParams<T> time_params(const T* p) {
    return {p[kEtaCompute], p[kEtaMemory], p[kRooflineP], p[kEtaPrefill], p[kLayerOverheadUs] * T(roofline::kMicro),
            p[kAllreduceLatencyUs] * T(roofline::kMicro), p[kSeqOverheadUs] * T(roofline::kMicro), p[kPpBubble]};
  }

  /// One row's TTFT (s) and TPOT (s) from its roofline `r` (roofline::times at time_params(p)), and the
  /// prompt batching x pp stages `hbp` and the layer x extra-peer synchronisations `sync_layers` eval's
  /// gradients take: the arithmetic eval and eval_stall share, so they give the same bits. (The roofline is
  /// the caller's local, not a member of a returned struct: copying it into one kept GCC from vectorising
  /// the fit's gradient loop, closed_form.cpp rows_outputs.)
  template <typename T>
  ENERGYLENS_HD static void outputs(const T* f, const T* p, const roofline::TimeParams<T>& q,
                                    const roofline::Times<T>& r, T& ttft_s, T& tpot_s, T& hbp, T& sync_layers) {
    const T hb = T(1) + p[kPrefillBatchFactor] * (r.batch_rep - T(1));  // prompts batched in one replica
    sync_layers = r.launch_layers * (f[roofline::kTp] - T(1));         // layer x extra-peer synchronisations
    const T t_sync = p[kTpSyncUs] * T(roofline::kMicro) * sync_layers;
    hbp = hb * r.pp;  // a prompt passes the replica's pp stages one after another
    ttft_s = r.t_pf * hbp + q.tau_layer_s * r.launch_layers + t_sync;
    tpot_s = r.t_step + t_sync;
  }

  /// One row without gradients: TTFT (s), TPOT (s) as eval gives them (outputs: the same operations, so the
  /// same bits), and stall_s = B_r t_pf: the device prefill time of the replica's B_r running sequences'
  /// prompts, one prompt each (TTFT without the pp stages, the prompt batching and the per-layer launch and
  /// sync terms). In steady state a replica admits B_r requests during one request's time in the system,
  /// each stalling its decode for about one prompt's prefill: the time-in-system term (docs/model.md,
  /// section 4).
  template <typename T>
  ENERGYLENS_HD static void eval_stall(const T* f, const T* p, T& ttft_s, T& tpot_s, T& stall_s) {
    const roofline::TimeParams<T> q = time_params(p);
    const roofline::Times<T> r = roofline::times(f, q);
    T hbp, sync_layers;
    outputs(f, p, q, r, ttft_s, tpot_s, hbp, sync_layers);
    stall_s = r.batch_rep * r.t_pf;
  }

  /// One row: TTFT (s), TPOT (s), and TPOT again as the auxiliary output; with non-null gradient
  /// pointers (all three or none) their gradients over the 10 parameters.
  template <typename T>
  ENERGYLENS_HD static void eval(const T* f, const T* p, T& ttft_s, T& tpot_s, T& aux_s, T* g_ttft, T* g_tpot,
                                 T* g_aux) {
    const roofline::TimeParams<T> q = time_params(p);
    const roofline::Times<T> r = roofline::times(f, q);
    T hbp, sync_layers;
    outputs(f, p, q, r, ttft_s, tpot_s, hbp, sync_layers);
    aux_s = tpot_s;
    if (g_ttft == nullptr) return;
    T gs[8];
    roofline::step_time_gradient(r, q, gs);
    // Callers ask for all three gradients or none (closed_form.cpp); each is written in full.
    T* gf = g_ttft;
    T* gt = g_tpot;
    for (std::size_t j = 0; j < kParams; ++j) gf[j] = gt[j] = T(0);
    for (int j = 0; j < 3; ++j) gt[j] = gs[j];
    gt[kLayerOverheadUs] = gs[4];
    gt[kAllreduceLatencyUs] = gs[5];
    gt[kSeqOverheadUs] = gs[6];
    gt[kPpBubble] = gs[7];
    gf[kEtaPrefill] = hbp * (-r.t_pc / q.eta_pf);
    gf[kLayerOverheadUs] = r.launch_layers * T(roofline::kMicro);
    gf[kAllreduceLatencyUs] = hbp * (r.n_ar + r.n_a2a + r.n_x) * T(roofline::kMicro);
    gf[kPrefillBatchFactor] = r.t_pf * r.pp * (r.batch_rep - T(1));
    gf[kTpSyncUs] = gt[kTpSyncUs] = sync_layers * T(roofline::kMicro);
    for (std::size_t j = 0; j < kParams; ++j) g_aux[j] = gt[j];
  }
};

}  // namespace energylens
