// PROVISIONAL energy template (replaced by the derived one in docs/model.md).
#pragma once

#include <cmath>
#include <cstddef>

#include "energylens/template_common.hpp"

namespace energylens {

struct EnergyTemplate {
  static constexpr std::size_t kFeatures = 2;
  static constexpr std::size_t kParams = 2;
  static const TemplateDescriptor& descriptor();

  template <typename T>
  ENERGYLENS_HD static void eval(const T* f, const T* p, T& prefill, T& decode, T* d_prefill, T* d_decode) {
    prefill = p[0] * f[0];
    decode = p[1] * f[1];
    if (d_prefill != nullptr) {
      d_prefill[0] = f[0];
      d_prefill[1] = T(0);
    }
    if (d_decode != nullptr) {
      d_decode[0] = T(0);
      d_decode[1] = f[1];
    }
  }
};

}  // namespace energylens
