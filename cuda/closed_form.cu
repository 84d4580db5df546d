// CUDA evaluation of the closed-form templates: one thread per row, the formula shared with the
// CPU evaluator through ENERGYLENS_HD, parameters in constant-size kernel arguments.
#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

#include "energylens/closed_form_cuda.hpp"
#include "energylens/energy_template.hpp"
#include "energylens/error.hpp"
#include "energylens/latency_template.hpp"

namespace energylens::cuda {
namespace {

constexpr int kMaxFeatures = 32;
constexpr int kMaxParams = 32;

template <typename T>
struct KernelArgs {
  const T* columns[kMaxFeatures];
  T params[kMaxParams];
};

template <class Tpl, typename T>
__global__ void evaluate_kernel(KernelArgs<T> args, std::size_t rows, T* __restrict__ out0,
                                T* __restrict__ out1) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < rows; i += stride) {
    T f[Tpl::kFeatures];
#pragma unroll
    for (std::size_t k = 0; k < Tpl::kFeatures; ++k) f[k] = __ldg(args.columns[k] + i);
    T o0, o1, o2;
    Tpl::eval(f, args.params, o0, o1, o2, static_cast<T*>(nullptr), static_cast<T*>(nullptr),
              static_cast<T*>(nullptr));
    out0[i] = o0;
    out1[i] = o1;
  }
}

void check(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) {
    cudaGetLastError();
    throw CudaUnavailable(std::string(what) + " failed: " + cudaGetErrorName(rc) + ": " + cudaGetErrorString(rc));
  }
}

template <class Tpl, typename T>
void launch(std::size_t rows, const T* const* columns, std::span<const double> params, T* out0, T* out1,
            std::uintptr_t stream, bool synchronize) {
  static_assert(Tpl::kFeatures <= kMaxFeatures && Tpl::kParams <= kMaxParams);
  if (params.size() != Tpl::kParams)
    throw std::invalid_argument("evaluate_device: wrong number of parameters for " +
                                std::string(Tpl::descriptor().id));
  KernelArgs<T> args{};
  for (std::size_t k = 0; k < Tpl::kFeatures; ++k) args.columns[k] = columns[k];
  for (std::size_t j = 0; j < Tpl::kParams; ++j) args.params[j] = static_cast<T>(params[j]);
  if (rows == 0) return;
  int device = 0, sms = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  constexpr int threads = 256;
  const std::size_t needed = (rows + threads - 1) / threads;
  const int blocks = static_cast<int>(needed < static_cast<std::size_t>(sms) * 32 ? needed : static_cast<std::size_t>(sms) * 32);
  auto s = reinterpret_cast<cudaStream_t>(stream);
  evaluate_kernel<Tpl, T><<<blocks, threads, 0, s>>>(args, rows, out0, out1);
  check(cudaGetLastError(), "evaluate_kernel launch");
  if (synchronize) check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
}

}  // namespace

template <typename T>
void evaluate_device(TemplateId id, std::size_t rows, const T* const* device_columns,
                     std::span<const double> params, T* out0, T* out1, std::uintptr_t stream, bool synchronize) {
  switch (id) {
    case TemplateId::Energy:
      return launch<EnergyTemplate, T>(rows, device_columns, params, out0, out1, stream, synchronize);
    case TemplateId::Latency:
      return launch<LatencyTemplate, T>(rows, device_columns, params, out0, out1, stream, synchronize);
  }
  throw std::invalid_argument("evaluate_device: unknown template");
}

template void evaluate_device<double>(TemplateId, std::size_t, const double* const*, std::span<const double>,
                                      double*, double*, std::uintptr_t, bool);
template void evaluate_device<float>(TemplateId, std::size_t, const float* const*, std::span<const double>,
                                     float*, float*, std::uintptr_t, bool);

}  // namespace energylens::cuda
