// Device discovery through the statically linked CUDA runtime: works without a driver, where
// cudaGetDeviceCount returns an error whose string is the reason we report.
#include <cuda_runtime_api.h>

#include <string>

#include "energylens/cuda_device.hpp"

namespace energylens::cuda {

DeviceQuery query_devices() noexcept {
  DeviceQuery q;
  q.built = true;
  cudaRuntimeGetVersion(&q.runtime_version);
  if (cudaDriverGetVersion(&q.driver_version) != cudaSuccess) q.driver_version = 0;
  int count = 0;
  const cudaError_t rc = cudaGetDeviceCount(&count);
  if (rc != cudaSuccess) {
    q.device_count = 0;
    q.reason = std::string(cudaGetErrorName(rc)) + ": " + cudaGetErrorString(rc);
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
  } else {
    q.device_count = count;
    if (count == 0) q.reason = "the CUDA driver reports no devices";
  }
  return q;
}

}  // namespace energylens::cuda
