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

}  // namespace energylens::cuda
#endif

namespace energylens::cuda {

void require_device() {
  const DeviceQuery q = query_devices();
  if (q.device_count <= 0) throw CudaUnavailable("no usable CUDA device: " + q.reason);
}

}  // namespace energylens::cuda

#ifndef ENERGYLENS_HAVE_CUDA
#include "energylens/closed_form_cuda.hpp"

namespace energylens::cuda {

template <typename T>
void evaluate_device(TemplateId, std::size_t, const T* const*, std::span<const double>, T*, T*, std::uintptr_t,
                     bool) {
  throw CudaUnavailable(query_devices().reason);
}

template void evaluate_device<double>(TemplateId, std::size_t, const double* const*, std::span<const double>,
                                      double*, double*, std::uintptr_t, bool);
template void evaluate_device<float>(TemplateId, std::size_t, const float* const*, std::span<const double>,
                                     float*, float*, std::uintptr_t, bool);

}  // namespace energylens::cuda
#endif
