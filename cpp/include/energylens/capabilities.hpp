// What this build and this machine can do: CUDA built in, CUDA devices, NVML. Never throws.
#pragma once

#include <string>

namespace energylens {

/// A snapshot of the native capabilities; each "no" carries the loader's or runtime's own reason.
struct Capabilities {
  bool cuda_built = false;        ///< CUDA part compiled in
  int cuda_device_count = 0;      ///< usable CUDA devices
  std::string cuda_reason;        ///< why no CUDA device is usable (empty when some are)
  int cuda_runtime_version = 0;   ///< e.g. 13000 for CUDA 13.0; 0 when not built
  int cuda_driver_version = 0;    ///< CUDA version the driver supports; 0 without a driver
  bool nvml_available = false;    ///< libnvidia-ml loaded and nvmlInit succeeded
  std::string nvml_reason;        ///< why not (dlopen/nvmlInit message and the fix)
  std::string driver_version;     ///< NVIDIA driver version from NVML, empty when unavailable
  std::string nvml_version;       ///< NVML library version, empty when unavailable
  std::string compiler;           ///< compiler that built the core
  bool openmp = false;            ///< OpenMP enabled in the core
  int openmp_max_threads = 1;     ///< omp_get_max_threads()
};

/// Probes CUDA and NVML (loading NVML at most once per process).
Capabilities query_capabilities() noexcept;

}  // namespace energylens
