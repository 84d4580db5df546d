// The closed-form templates on a CUDA device: the same formula (ENERGYLENS_HD) compiled by nvcc.
// Implemented in cuda/closed_form.cu; without the CUDA part every call throws CudaUnavailable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "energylens/closed_form.hpp"

namespace energylens::cuda {

/// Evaluates `id` on device columns (descriptor.n_features device pointers to `rows` values of T),
/// writing device arrays out0/out1. `stream` is a cudaStream_t as an integer (0 = legacy default);
/// the call is asynchronous with respect to the host unless `synchronize`.
template <typename T>
void evaluate_device(TemplateId id, std::size_t rows, const T* const* device_columns,
                     std::span<const double> params, T* out0, T* out1, std::uintptr_t stream, bool synchronize);

}  // namespace energylens::cuda
