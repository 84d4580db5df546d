// What the CUDA part can do on this machine. Implemented in cuda/device.cu when the CUDA part is
// built, and in cpp/src/cuda_device.cpp (reporting "not built") otherwise. No CUDA types here.
#pragma once

#include <string>

namespace energylens::cuda {

/// The result of asking the CUDA runtime for devices; never throws.
struct DeviceQuery {
  bool built = false;          ///< whether the CUDA part was compiled into this module
  int device_count = 0;        ///< usable CUDA devices (0 when none or no driver)
  std::string reason;          ///< why device_count is 0: the runtime's own message; empty otherwise
  int runtime_version = 0;     ///< CUDA runtime version linked in (e.g. 13000), 0 when not built
  int driver_version = 0;      ///< CUDA version the driver supports, 0 when no driver
};

/// Asks the statically linked CUDA runtime how many devices are usable and, if none, why.
DeviceQuery query_devices() noexcept;

/// Throws CudaUnavailable with the reason when the CUDA part is absent or no device is usable.
void require_device();

}  // namespace energylens::cuda
