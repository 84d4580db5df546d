// The search's device pass (search_cuda.hpp): grid-stride over the mixed-radix candidate index, the
// per-candidate code of search_kernel.hpp and the templates compiled by nvcc (ENERGYLENS_HD), counts
// reduced per block in shared memory, the top-k per block by k rounds of a block-wide argmin over each
// thread's sorted list, Pareto points per thread appended to one buffer (merged on the host): a thread's
// front that fills up is flushed there and started again (search_thread_lists.hpp), so only a full
// global buffer sends the fronts back to the CPU engine.
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "energylens/energy_template.hpp"
#include "energylens/error.hpp"
#include "energylens/latency_template.hpp"
#include "energylens/search_cuda.hpp"
#include "energylens/search_thread_lists.hpp"

namespace energylens::search::cuda {
namespace {

constexpr int kThreads = 256;   // power of two (tree reductions)
constexpr int kFrontCap = static_cast<int>(kMaxFrontPoints);  // per-thread front arrays (search_cuda.hpp)
constexpr std::uint64_t kNoIndex = ~std::uint64_t{0};

struct Params {
  double pe[EnergyTemplate::kParams];
  double pl[LatencyTemplate::kParams];
};

struct Out {
  double* block_objective;          // gridDim.x x k
  std::uint64_t* block_index;
  unsigned long long* rejected;     // kNumReasons
  unsigned long long* feasible;
  double* front_x;
  double* front_y;
  std::uint64_t* front_index;
  std::uint8_t* front_which;
  unsigned long long* front_count;
  unsigned long long front_capacity;
  int* overflow;
};

using lists::before;
using lists::topk_push;

// Appends n points of one front (which: 0 = TPOT, 1 = TTFT) to the global buffer the host merges; sets
// overflow (the host then computes the fronts with the CPU engine) when the buffer is full.
__device__ void append_front(const Out& out, const double* fx, const double* fy, const std::uint64_t* fi, int n,
                             std::uint8_t which, bool& overflow) {
  if (n == 0) return;
  const unsigned long long base = atomicAdd(out.front_count, static_cast<unsigned long long>(n));
  if (base + static_cast<unsigned long long>(n) > out.front_capacity) {
    overflow = true;
    return;
  }
  for (int j = 0; j < n; ++j) {
    out.front_x[base + j] = fx[j];
    out.front_y[base + j] = fy[j];
    out.front_index[base + j] = fi[j];
    out.front_which[base + j] = which;
  }
}

// Where a thread's full front goes (lists::front_push): the global buffer, so no point is dropped.
struct FrontSink {
  const Out* out;
  std::uint8_t which;
  bool* overflow;
  __device__ void operator()(const double* fx, const double* fy, const std::uint64_t* fi, int n) const {
    append_front(*out, fx, fy, fi, n, which, *overflow);
  }
};

// MinBlocks: resident blocks per SM the kernel is compiled for, which caps its registers (launch_search).
template <int MinBlocks>
__global__ void __launch_bounds__(kThreads, MinBlocks) search_kernel(kernel::View v, kernel::Limits lim, Params p,
                                                                     std::uint64_t total, int k, bool pareto,
                                                                     int front_points, Out out) {
  __shared__ unsigned long long s_rej[kNumReasons];
  __shared__ unsigned long long s_feasible;
  __shared__ double s_obj[kThreads];
  __shared__ std::uint64_t s_idx[kThreads];
  __shared__ int s_tid[kThreads];
  const int tid = static_cast<int>(threadIdx.x);
  if (tid < static_cast<int>(kNumReasons)) s_rej[tid] = 0;
  if (tid == 0) s_feasible = 0;
  __syncthreads();

  double top_o[kMaxTopK];
  std::uint64_t top_i[kMaxTopK];
  int n_top = 0;
  double ax[kFrontCap], ay[kFrontCap], bx[kFrontCap], by[kFrontCap];
  std::uint64_t ai[kFrontCap], bi[kFrontCap];
  int na = 0, nb = 0;
  bool overflow = false;
  unsigned long long rej[kNumReasons] = {};
  unsigned long long feasible = 0;
  FrontSink sink_tpot{&out, 0, &overflow}, sink_ttft{&out, 1, &overflow};

  // Grid-stride loop over the mixed-radix index: one decode per thread, then the digits advance by the
  // stride's digits (no 64-bit division per candidate), and the (combo, tp, pp, dp, ep) checks are
  // recomputed only when those digits change (the fast axes, workload and batch, usually span the stride).
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  const std::uint64_t first = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const kernel::Digits step = kernel::decode(v, stride);
  kernel::Digits d = kernel::decode(v, first);
  kernel::Digits outer_digits = d;
  kernel::Outer o{};
  if (first < total) o = kernel::outer_info(v, lim, d);
  for (std::uint64_t i = first; i < total; i += stride, kernel::advance(v, d, step)) {
    if (!kernel::same_outer(d, outer_digits)) {
      o = kernel::outer_info(v, lim, d);
      outer_digits = d;
    }
    const double batch = v.max_num_seqs[d.b];
    int reason = o.reason;
    if (reason == kFeasible &&
        kernel::beyond_context(v.combos + d.c * kNumComboFields, v.workloads[2 * d.w], v.workloads[2 * d.w + 1]))
      reason = static_cast<int>(Reason::ContextLength);
    if (reason == kFeasible && o.fixed_bytes + kernel::kv_bytes(v, d, o, batch) > o.usable_bytes)
      reason = static_cast<int>(Reason::MemoryKvCache);
    double f[roofline::kNumFeatures];
    double ttft = 0, tpot = 0, stall = 0;
    if (reason == kFeasible) {
      kernel::fill_features(v, lim, d, batch, f);
      kernel::latency(f, p.pl, v.combos + d.c * kNumComboFields, ttft, tpot, stall);
      reason = kernel::limit_reason(lim, ttft, tpot);
    }
    if (reason != kFeasible) {
      ++rej[reason];
      continue;
    }
    double pf, dec, step;
    EnergyTemplate::eval(f, p.pe, pf, dec, step, static_cast<double*>(nullptr), static_cast<double*>(nullptr),
                         static_cast<double*>(nullptr));
    kernel::calibrate_energy(v.combos + d.c * kNumComboFields, pf, dec);
    ++feasible;
    const double lo = f[roofline::kOutputTokens];
    const double gpu_s = f[roofline::kTp] * f[roofline::kPp] *
                         kernel::time_in_system(v.combos + d.c * kNumComboFields, ttft, tpot, stall, lo) / batch;
    const double obj = kernel::objective_of(lim, pf + dec, gpu_s, lo, v.combos[d.c * kNumComboFields + kPricePerGpuHour]);
    topk_push(top_o, top_i, n_top, k, obj, i);
    if (pareto) {
      lists::front_push(ax, ay, ai, na, front_points, tpot, obj, i, sink_tpot);
      lists::front_push(bx, by, bi, nb, front_points, ttft, obj, i, sink_ttft);
    }
  }

  // Counts: per block in shared memory, then once per block to global memory.
  for (std::size_t r = 0; r < kNumReasons; ++r)
    if (rej[r] != 0) atomicAdd(&s_rej[r], rej[r]);
  if (feasible != 0) atomicAdd(&s_feasible, feasible);

  // Pareto points: what is left of each thread's fronts joins the flushed ones (merged on the host).
  if (pareto) {
    append_front(out, ax, ay, ai, na, 0, overflow);
    append_front(out, bx, by, bi, nb, 1, overflow);
  }
  if (overflow) atomicExch(out.overflow, 1);

  // Top-k of the block: k rounds; each round every thread offers its best unused entry, a tree
  // reduction finds the smallest (objective, index), and its owner moves on.
  int head = 0;
  for (int r = 0; r < k; ++r) {
    s_obj[tid] = head < n_top ? top_o[head] : INFINITY;
    s_idx[tid] = head < n_top ? top_i[head] : kNoIndex;
    s_tid[tid] = tid;
    __syncthreads();
    for (int off = kThreads / 2; off > 0; off >>= 1) {
      if (tid < off && before(s_obj[tid + off], s_idx[tid + off], s_obj[tid], s_idx[tid])) {
        s_obj[tid] = s_obj[tid + off];
        s_idx[tid] = s_idx[tid + off];
        s_tid[tid] = s_tid[tid + off];
      }
      __syncthreads();
    }
    if (tid == 0) {
      out.block_objective[static_cast<std::size_t>(blockIdx.x) * k + r] = s_obj[0];
      out.block_index[static_cast<std::size_t>(blockIdx.x) * k + r] = s_idx[0];
    }
    if (tid == s_tid[0] && head < n_top) ++head;
    __syncthreads();
  }
  if (tid < static_cast<int>(kNumReasons) && s_rej[tid] != 0) atomicAdd(&out.rejected[tid], s_rej[tid]);
  if (tid == 0 && s_feasible != 0) atomicAdd(out.feasible, s_feasible);
}

void check(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) {
    cudaGetLastError();
    throw CudaUnavailable(std::string(what) + " failed: " + cudaGetErrorName(rc) + ": " + cudaGetErrorString(rc));
  }
}

// Device memory freed on scope exit.
struct DeviceBuffer {
  void* p = nullptr;
  explicit DeviceBuffer(std::size_t bytes) { check(cudaMalloc(&p, bytes == 0 ? 1 : bytes), "cudaMalloc"); }
  ~DeviceBuffer() { cudaFree(p); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <typename T>
  T* as() const { return static_cast<T*>(p); }
};

const double* upload(std::vector<DeviceBuffer*>& keep, const double* host, std::size_t n) {
  if (host == nullptr) return nullptr;
  auto* b = new DeviceBuffer(n * sizeof(double));
  keep.push_back(b);
  check(cudaMemcpy(b->p, host, n * sizeof(double), cudaMemcpyHostToDevice), "cudaMemcpy (upload)");
  return b->as<double>();
}

template <typename T>
std::vector<T> download(const DeviceBuffer& b, std::size_t n) {
  std::vector<T> out(n);
  if (n) check(cudaMemcpy(out.data(), b.p, n * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy (download)");
  return out;
}

}  // namespace

DevicePass search_pass(const kernel::View& view, const kernel::Limits& limits, const double* pe, const double* pl,
                       std::uint64_t total, std::size_t k, bool pareto, std::size_t front_points) {
  if (k == 0 || k > kMaxTopK) throw std::invalid_argument("search_pass: k must be in [1, 32]");
  if (front_points == 0) front_points = kMaxFrontPoints;
  if (front_points > kMaxFrontPoints)
    throw std::invalid_argument("search_pass: front_points must be in [0, " + std::to_string(kMaxFrontPoints) + "]");
  std::vector<DeviceBuffer*> keep;
  struct Cleanup {
    std::vector<DeviceBuffer*>& b;
    ~Cleanup() {
      for (DeviceBuffer* p : b) delete p;
    }
  } cleanup{keep};
  kernel::View dv = view;
  dv.combos = upload(keep, view.combos, view.n_combos * kNumComboFields);
  dv.tp = upload(keep, view.tp, view.n_tp);
  dv.pp = upload(keep, view.pp, view.n_pp);
  dv.dp = upload(keep, view.dp, view.n_dp);
  dv.ep = upload(keep, view.ep, view.n_ep);
  dv.max_num_seqs = upload(keep, view.max_num_seqs, view.n_b);
  dv.workloads = upload(keep, view.workloads, 2 * view.n_w);
  dv.prefill_extra = upload(keep, view.prefill_extra, view.n_combos * view.n_w);
  Params params{};
  for (std::size_t j = 0; j < EnergyTemplate::kParams; ++j) params.pe[j] = pe[j];
  for (std::size_t j = 0; j < LatencyTemplate::kParams; ++j) params.pl[j] = pl[j];

  int device = 0, sms = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  const std::uint64_t needed = (total + kThreads - 1) / kThreads;
  const int blocks = static_cast<int>(needed < static_cast<std::uint64_t>(sms) * 8 ? needed : static_cast<std::uint64_t>(sms) * 8);
  // Room for every thread's two fronts twice over (flushes of full fronts and the final lists): 25 bytes a
  // point, ~0.65 GB on a 132-SM H100/H200; a fuller buffer sends the fronts back to the CPU engine.
  const std::size_t front_capacity = static_cast<std::size_t>(blocks) * kThreads * 2 * kFrontCap * 2;

  DeviceBuffer block_obj(static_cast<std::size_t>(blocks) * k * sizeof(double));
  DeviceBuffer block_idx(static_cast<std::size_t>(blocks) * k * sizeof(std::uint64_t));
  DeviceBuffer counts((kNumReasons + 2) * sizeof(unsigned long long));
  DeviceBuffer fx(pareto ? front_capacity * sizeof(double) : 1), fy(pareto ? front_capacity * sizeof(double) : 1);
  DeviceBuffer fi(pareto ? front_capacity * sizeof(std::uint64_t) : 1), fw(pareto ? front_capacity : 1);
  DeviceBuffer overflow(sizeof(int));
  check(cudaMemset(counts.p, 0, (kNumReasons + 2) * sizeof(unsigned long long)), "cudaMemset");
  check(cudaMemset(overflow.p, 0, sizeof(int)), "cudaMemset");
  auto* c = counts.as<unsigned long long>();
  Out out{block_obj.as<double>(), block_idx.as<std::uint64_t>(), c, c + kNumReasons, fx.as<double>(), fy.as<double>(),
          fi.as<std::uint64_t>(), fw.as<std::uint8_t>(), c + kNumReasons + 1, front_capacity, overflow.as<int>()};
  // The kernel compiled for one resident 256-thread block per SM (~185 registers, no spills: the default) or
  // for two (capped at 128 registers: twice the warps to hide latency, some spills). Which is faster is a
  // measurement: ENERGYLENS_SEARCH_MIN_BLOCKS=2 runs the second, and bench/gpu_search_check.py times both on
  // the device and checks their results are identical (the arithmetic is the same code).
  const char* min_blocks = std::getenv("ENERGYLENS_SEARCH_MIN_BLOCKS");
  if (min_blocks != nullptr && std::string(min_blocks) == "2")
    search_kernel<2><<<blocks, kThreads>>>(dv, limits, params, total, static_cast<int>(k), pareto,
                                           static_cast<int>(front_points), out);
  else
    search_kernel<1><<<blocks, kThreads>>>(dv, limits, params, total, static_cast<int>(k), pareto,
                                           static_cast<int>(front_points), out);
  check(cudaGetLastError(), "search_kernel launch");
  check(cudaDeviceSynchronize(), "search_kernel");

  DevicePass pass;
  pass.top_objective = download<double>(block_obj, static_cast<std::size_t>(blocks) * k);
  pass.top_index = download<std::uint64_t>(block_idx, static_cast<std::size_t>(blocks) * k);
  const auto n = download<unsigned long long>(counts, kNumReasons + 2);
  for (std::size_t r = 0; r < kNumReasons; ++r) pass.rejected[r] = n[r];
  pass.feasible = n[kNumReasons];
  pass.front_overflow = download<int>(overflow, 1)[0] != 0;
  if (pareto && !pass.front_overflow) {
    const std::size_t m = n[kNumReasons + 1];
    pass.front_x = download<double>(fx, m);
    pass.front_y = download<double>(fy, m);
    pass.front_index = download<std::uint64_t>(fi, m);
    pass.front_which = download<std::uint8_t>(fw, m);
  }
  return pass;
}

}  // namespace energylens::search::cuda
