// PROVISIONAL latency template (replaced by the derived one in docs/model.md).
#pragma once

#include <cmath>
#include <cstddef>

#include "energylens/template_common.hpp"

namespace energylens {

struct LatencyTemplate {
  static constexpr std::size_t kFeatures = 2;
  static constexpr std::size_t kParams = 2;
  static const TemplateDescriptor& descriptor();

  template <typename T>
  ENERGYLENS_HD static void eval(const T* f, const T* p, T& ttft, T& tpot, T* d_ttft, T* d_tpot) {
    ttft = p[0] * f[0];
    tpot = p[1] * f[1];
    if (d_ttft != nullptr) {
      d_ttft[0] = f[0];
      d_ttft[1] = T(0);
    }
    if (d_tpot != nullptr) {
      d_tpot[0] = T(0);
      d_tpot[1] = f[1];
    }
  }
};

}  // namespace energylens
