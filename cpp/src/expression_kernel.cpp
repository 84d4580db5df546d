#include "energylens/expression_kernel.hpp"

#include "energylens/dynamic_library.hpp"
#include "energylens/error.hpp"
#include "energylens/expression_plan.hpp"
#include "energylens/parallel.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace energylens {

namespace {

// The same block and thread rules as the interpreter's values path (expression.cpp).
constexpr std::size_t kKernelBlock = 1024;
constexpr std::size_t kMinRowsPerThread = 4096;
constexpr std::size_t kBlocksPerChunk = 4;

bool overlaps(const double* out, std::size_t rows, const double* const* columns, std::size_t nf,
              std::uint64_t broadcast) {
  const auto lo = reinterpret_cast<std::uintptr_t>(out), hi = lo + rows * sizeof(double);
  for (std::size_t c = 0; c < nf; ++c) {
    const std::size_t n = ((broadcast >> c) & 1U) != 0 ? 1 : rows;
    const auto a = reinterpret_cast<std::uintptr_t>(columns[c]), b = a + n * sizeof(double);
    if (a < hi && lo < b) return true;
  }
  return false;
}

}  // namespace

ExpressionKernel::ExpressionKernel(const std::string& path, const ExpressionProgram& program) : path_(path) {
  std::string tried;
  void* lib = dynlib::open_first({path.c_str()}, tried);
  if (lib == nullptr) throw Error("generated kernel " + path + " does not load: " + tried);
  KernelInfoFn info = nullptr;
  dynlib::resolve(lib, info, "energylens_kernel_info");
  dynlib::resolve(lib, rows_, "energylens_kernel_rows");
  if (info == nullptr || rows_ == nullptr)
    throw Error("generated kernel " + path + " lacks energylens_kernel_info or energylens_kernel_rows");
  int abi = 0;
  info(&abi, &n_features_, &n_scalars_, &fingerprint_);
  const ValuePlan& plan = program.plan();
  if (abi != kExpressionKernelAbi || n_features_ != program.n_features() || n_scalars_ != plan.n_scalars() ||
      fingerprint_ != plan.fingerprint())
    throw Error("generated kernel " + path + " was made for another plan (abi " + std::to_string(abi) +
                ", " + std::to_string(n_features_) + " columns, " + std::to_string(n_scalars_) +
                " scalars; this program: abi " + std::to_string(kExpressionKernelAbi) + ", " +
                std::to_string(program.n_features()) + ", " + std::to_string(plan.n_scalars()) + ")");
}

void ExpressionKernel::evaluate(const ExpressionProgram& program, std::size_t rows, const double* const* columns,
                                const double* params, double* out, std::uint64_t broadcast, bool parallel) const {
  const std::size_t nf = program.n_features();
  if (nf != n_features_ || program.plan().n_scalars() != n_scalars_)  // (the full check is the constructor's)
    throw std::invalid_argument("generated kernel " + path_ + " evaluated with another program");
  if (rows == 0) return;
  if (overlaps(out, rows, columns, nf, broadcast)) {
    program.evaluate(rows, columns, params, out, nullptr, broadcast, parallel);
    return;
  }
  thread_local std::vector<double> scalars;
  scalars.resize(n_scalars_);
  program.plan().scalars(params, scalars.data());
  const double* const sc = scalars.data();
  const int threads = parallel ? threads_for(rows, kMinRowsPerThread) : 1;
  const std::size_t n_blocks = (rows + kKernelBlock - 1) / kKernelBlock;
  const std::size_t per_chunk =
      std::clamp<std::size_t>(n_blocks / (8 * static_cast<std::size_t>(threads)), 1, kBlocksPerChunk);
  const std::size_t n_chunks = (n_blocks + per_chunk - 1) / per_chunk;
  const KernelRowsFn fn = rows_;
  run_chunks(n_chunks, threads, [&](std::size_t chunk, int) {
    thread_local std::vector<const double*> ptrs;  // NOLINT: per thread, reused
    thread_local std::vector<double> splat;        // NOLINT: a block of each broadcast column's value
    ptrs.resize(nf);
    if (broadcast != 0) {
      splat.resize(nf * kKernelBlock);
      for (std::size_t c = 0; c < nf; ++c)
        if ((broadcast >> c) & 1U) std::fill_n(splat.data() + c * kKernelBlock, kKernelBlock, columns[c][0]);
    }
    const std::size_t last = std::min(n_blocks, (chunk + 1) * per_chunk);
    for (std::size_t b = chunk * per_chunk; b < last; ++b) {
      const std::size_t begin = b * kKernelBlock;
      const std::size_t count = std::min(kKernelBlock, rows - begin);
      for (std::size_t c = 0; c < nf; ++c)
        ptrs[c] = ((broadcast >> c) & 1U) != 0 ? splat.data() + c * kKernelBlock : columns[c] + begin;
      fn(count, ptrs.data(), sc, out + begin);
    }
  });
}

}  // namespace energylens
