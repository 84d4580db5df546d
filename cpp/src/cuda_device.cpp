// The CPU-only half of cuda_device.hpp: used when the CUDA part is not built in.
#include "energylens/cuda_device.hpp"

#include "energylens/error.hpp"

#ifndef ENERGYLENS_HAVE_CUDA
namespace energylens::cuda {

DeviceQuery query_devices() noexcept {
  DeviceQuery q;
  q.reason = "energylens was built without the CUDA part (nvcc not found at build time, or "
             "ENERGYLENS_ENABLE_CUDA=OFF); rebuild with nvcc on PATH";
  return q;
}

void synchronize_device() {}

}  // namespace energylens::cuda
#endif

namespace energylens::cuda {

void require_device() {
  const DeviceQuery q = query_devices();
  if (q.device_count <= 0) throw CudaUnavailable("no usable CUDA device: " + q.reason);
}

}  // namespace energylens::cuda
