// A kernel generated for one expression's plan (energylens.model.kernel_source writes its C++, and
// energylens.model.kernel_build compiles it with the system compiler into a shared library): the whole
// formula per row in registers, over the plan's scalars. This class loads such a library, checks that it
// was generated for the program at hand, and runs it over blocks of rows on the chunk pool of
// parallel.hpp. Its values equal ExpressionProgram::evaluate's bit for bit (same operations in the same
// order, kernel_math.hpp's exp/log/pow, no FMA contraction on either side).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "energylens/expression.hpp"

namespace energylens {

/// Version of the interface between the core and a generated kernel (the exported functions below).
inline constexpr int kExpressionKernelAbi = 1;

/// `energylens_kernel_rows`: rows [0, n) into out, `columns` one pointer per feature column (at the first
/// row), `scalars` what ValuePlan::scalars() computed. `out` shares no memory with a column.
using KernelRowsFn = void (*)(std::size_t n, const double* const* columns, const double* scalars, double* out);
/// `energylens_kernel_info`: the ABI version, feature columns, scalars and plan fingerprint it was made for.
using KernelInfoFn = void (*)(int* abi, std::size_t* n_features, std::size_t* n_scalars, std::uint64_t* fingerprint);

/// A loaded generated kernel. The library stays loaded for the life of the process (a function pointer
/// handed out earlier may still be running on a helper thread; kernels are a few KiB each).
class ExpressionKernel {
 public:
  /// dlopen()s `path` and checks its exported info against `program` (ABI, columns, scalars, plan
  /// fingerprint). Throws energylens::Error naming the path and what failed (the library does not
  /// load, a symbol is missing, it was made for another plan).
  ExpressionKernel(const std::string& path, const ExpressionProgram& program);

  /// The library's path.
  const std::string& path() const noexcept { return path_; }
  /// The plan fingerprint it was generated for (ValuePlan::fingerprint()).
  std::uint64_t fingerprint() const noexcept { return fingerprint_; }

  /// Values of `program` (the one it was checked against) for `rows` rows, as ExpressionProgram::evaluate
  /// without a Jacobian: `broadcast` bit k set, column k holds one value for every row; blocks of rows on
  /// threads_for(rows, ...) threads when `parallel`. An output that shares memory with a column is
  /// computed by the program's plan instead (the kernel's pointers are restrict).
  void evaluate(const ExpressionProgram& program, std::size_t rows, const double* const* columns,
                const double* params, double* out, std::uint64_t broadcast = 0, bool parallel = true) const;

 private:
  std::string path_;
  KernelRowsFn rows_ = nullptr;
  std::size_t n_features_ = 0;
  std::size_t n_scalars_ = 0;
  std::uint64_t fingerprint_ = 0;
};

}  // namespace energylens
