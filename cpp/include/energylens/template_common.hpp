// Shared by the closed-form templates: a host/device qualifier so one formula is compiled by the
// C++ compiler (OpenMP/SIMD loop) and by nvcc (CUDA kernel), which is what makes CPU/GPU parity
// hold by construction; and the descriptor each template exposes.
#pragma once

#include <cstddef>

#if defined(__CUDACC__)
#define ENERGYLENS_HD __host__ __device__ __forceinline__
#else
#define ENERGYLENS_HD inline __attribute__((always_inline))
#endif

namespace energylens {

/// Static description of a closed-form template (names, units, bounds, start point).
struct TemplateDescriptor {
  const char* id;                       ///< versioned id, e.g. "energylens.energy.v1"
  std::size_t n_features;               ///< per-row inputs
  const char* const* feature_names;     ///< n_features names (units in names)
  std::size_t n_params;                 ///< fitted parameters
  const char* const* param_names;       ///< n_params names
  const char* const* param_units;       ///< n_params units
  const char* const* param_descriptions;  ///< n_params one-line meanings
  const double* lower;                  ///< n_params lower bounds
  const double* upper;                  ///< n_params upper bounds
  const double* init;                   ///< n_params physically motivated start point
  const char* const* output_names;      ///< the three outputs: two predicted quantities and the auxiliary fit target
};

}  // namespace energylens
