// The 12-parameter closed-form energy per request (template energylens.energy.v1, docs/model.md):
//   E_dec = L_out/B [ n TDP (pi_s t_step + pi_b t_busy) + c_f TDP/peak F ]
//   E_pf  = (1 + kappa B_rep) [ n_rep TDP (pi_s + pi_b) t_pf + c_f TDP/peak F_p ]   (n = tp pp dp, n_rep = tp pp)
// with the roofline times of roofline.hpp. Outputs: prefill J, decode J, and the decode-step time
// (s) the energy implies (fitted against measured TPOT to pin the time scale).
#pragma once

#include <cstddef>

#include "energylens/roofline.hpp"

namespace energylens {

/// The energy template: its parameter order and the per-row evaluation (host and device).
struct EnergyTemplate {
  static constexpr std::size_t kFeatures = roofline::kNumFeatures;  ///< feature columns (roofline::Feature)
  static constexpr std::size_t kParams = 12;                         ///< fitted parameters (Param)
  /// Parameter order.
  enum Param : int {
    kEtaCompute = 0, kEtaMemory, kRooflineP, kEtaPrefill, kStaticPowerFrac, kFlopEnergyCoef,
    kBusyPowerFrac, kLayerOverheadUs, kAllreduceLatencyUs, kSeqOverheadUs, kPpBubble, kPrefillStallPerKseq
  };
  /// Names, units, meanings, bounds and start point of the features and parameters (templates.cpp).
  static const TemplateDescriptor& descriptor();

  /// One row: prefill and decode energy (J), the implied step time (s); with non-null gradient
  /// pointers (all three or none) their gradients over the 12 parameters.
  template <typename T>
  ENERGYLENS_HD static void eval(const T* f, const T* p, T& prefill_j, T& decode_j, T& step_time_s, T* g_prefill,
                                 T* g_decode, T* g_step) {
    const roofline::TimeParams<T> q{p[kEtaCompute], p[kEtaMemory], p[kRooflineP], p[kEtaPrefill],
                                    p[kLayerOverheadUs] * T(roofline::kMicro),
                                    p[kAllreduceLatencyUs] * T(roofline::kMicro),
                                    p[kSeqOverheadUs] * T(roofline::kMicro), p[kPpBubble]};
    const roofline::Times<T> r = roofline::times(f, q);
    const T tdp = f[roofline::kTdpW];
    const T peak = f[roofline::kPeakFlopsPerS];
    const T pi_s = p[kStaticPowerFrac];
    const T pi_b = p[kBusyPowerFrac];
    const T e_flop = p[kFlopEnergyCoef] * tdp / peak;
    const T k = r.out_tokens / r.batch;  // decode steps per request, shared by the batch
    decode_j = k * (r.n * tdp * (pi_s * r.t_step + pi_b * r.busy) + e_flop * r.flops_step);
    const T h = T(1) + p[kPrefillStallPerKseq] * T(1e-3) * r.batch_rep;  // stalls its replica's sequences
    const T pw = r.n_rep * tdp * (pi_s + pi_b);  // a request's prefill occupies its replica
    prefill_j = h * (pw * r.t_pf + e_flop * r.flops_prefill);
    step_time_s = r.t_step;
    if (g_prefill == nullptr) return;

    T gs[8];
    roofline::step_time_gradient(r, q, gs);
    const T ks = k * r.n * tdp * pi_s;           // d E_dec / d t_step (overheads only)
    const T kb = k * r.n * tdp * (pi_s + pi_b);  // d E_dec / d t_busy (busy is inside t_step too)
    // Callers ask for all three gradients or none (closed_form.cpp); each is written in full.
    T* gd = g_decode;
    T* gp = g_prefill;
    T* gt = g_step;
    for (std::size_t j = 0; j < kParams; ++j) gd[j] = gp[j] = gt[j] = T(0);
    // Time parameters: eta_c, eta_m, overlap, theta_pp, alpha act on t_busy; tau_layer, tau_seq on t_step only.
    gd[kEtaCompute] = kb * gs[0];
    gd[kEtaMemory] = kb * gs[1];
    gd[kRooflineP] = kb * gs[2];
    gd[kLayerOverheadUs] = ks * gs[4];
    gd[kAllreduceLatencyUs] = kb * gs[5];
    gd[kSeqOverheadUs] = ks * gs[6];
    gd[kPpBubble] = kb * gs[7];
    gd[kStaticPowerFrac] = k * r.n * tdp * r.t_step;
    gd[kBusyPowerFrac] = k * r.n * tdp * r.busy;
    gd[kFlopEnergyCoef] = k * tdp / peak * r.flops_step;
    gp[kEtaPrefill] = h * pw * (-r.t_pc / q.eta_pf);
    gp[kStaticPowerFrac] = h * r.n_rep * tdp * r.t_pf;
    gp[kBusyPowerFrac] = h * r.n_rep * tdp * r.t_pf;
    gp[kFlopEnergyCoef] = h * tdp / peak * r.flops_prefill;
    gp[kAllreduceLatencyUs] = h * pw * (r.n_ar + r.n_a2a + r.n_x) * T(roofline::kMicro);
    gp[kPrefillStallPerKseq] = T(1e-3) * r.batch_rep * (pw * r.t_pf + e_flop * r.flops_prefill);
    gt[kEtaCompute] = gs[0];
    gt[kEtaMemory] = gs[1];
    gt[kRooflineP] = gs[2];
    gt[kLayerOverheadUs] = gs[4];
    gt[kAllreduceLatencyUs] = gs[5];
    gt[kSeqOverheadUs] = gs[6];
    gt[kPpBubble] = gs[7];
  }
};

}  // namespace energylens
