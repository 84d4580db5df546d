#include "energylens/capabilities.hpp"

#include <omp.h>

#include <exception>

#include "energylens/cuda_device.hpp"
#include "energylens/nvml.hpp"

#ifndef ENERGYLENS_COMPILER
#define ENERGYLENS_COMPILER "unknown"
#endif

namespace energylens {

Capabilities query_capabilities() noexcept {
  Capabilities c;
  const cuda::DeviceQuery q = cuda::query_devices();
  c.cuda_built = q.built;
  c.cuda_device_count = q.device_count;
  c.cuda_reason = q.reason;
  c.cuda_runtime_version = q.runtime_version;
  c.cuda_driver_version = q.driver_version;
  if (auto reason = nvml::unavailable_reason()) {
    c.nvml_reason = *reason;
  } else {
    c.nvml_available = true;
    try {
      c.driver_version = nvml::driver_version();
      c.nvml_version = nvml::library_version();
    } catch (const std::exception& e) {
      c.nvml_reason = e.what();
    }
  }
  c.compiler = ENERGYLENS_COMPILER;
#ifdef _OPENMP
  c.openmp = true;
  c.openmp_max_threads = omp_get_max_threads();
#endif
  return c;
}

}  // namespace energylens
