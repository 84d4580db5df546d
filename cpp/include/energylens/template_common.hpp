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

// Hot loops are compiled for x86-64-v4 (AVX-512), x86-64-v3 (AVX2 + FMA) and the baseline, and the
// best the CPU runs is picked: by the loader for ENERGYLENS_CLONES functions (GCC/Clang function
// multi-versioning via ifunc), by energylens::active_isa() for the evaluator (parallel.hpp), so tests can
// run every level. A portable build still uses wide vectors and FMA where they exist.
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define ENERGYLENS_MULTI_ISA 1
#define ENERGYLENS_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ENERGYLENS_MULTI_ISA 0
#define ENERGYLENS_CLONES
#endif

namespace energylens {

/// Static description of a closed-form template (names, units, bounds, start point): the one list of
/// features and parameters, which Python reads through _core.describe_template.
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
  const char* const* feature_units;     ///< n_features units
  const char* const* feature_descriptions;  ///< n_features one-line meanings
};

}  // namespace energylens
