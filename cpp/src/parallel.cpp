#include "energylens/parallel.hpp"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>

namespace energylens {
namespace {

std::atomic<int> g_max_threads{0};  // 0: default
std::atomic<int> g_isa{-1};         // -1: detected

}  // namespace

int available_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  return std::max(1, omp_get_num_procs());
}

int max_threads() {
  const int set = g_max_threads.load(std::memory_order_relaxed);
  if (set > 0) return set;
  return std::max(1, std::min(available_cpus(), omp_get_max_threads()));
}

void set_max_threads(int n_threads) {
  if (n_threads < 0) throw std::invalid_argument("n_threads must be >= 0 (0: the CPUs this process may use)");
  g_max_threads.store(n_threads, std::memory_order_relaxed);
}

int threads_for(std::size_t rows, std::size_t min_rows_per_thread) {
  const std::size_t per = std::max<std::size_t>(min_rows_per_thread, 1);
  if (rows < 2 * per) return 1;
  const std::size_t by_rows = rows / per;
  return static_cast<int>(std::min<std::size_t>(by_rows, static_cast<std::size_t>(max_threads())));
}

Isa detected_isa() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
  return Isa::Baseline;
}

Isa active_isa() {
  const int set = g_isa.load(std::memory_order_relaxed);
  return set < 0 ? detected_isa() : static_cast<Isa>(set);
}

void set_isa(Isa isa) {
  if (static_cast<int>(isa) > static_cast<int>(detected_isa()))
    throw std::invalid_argument("this CPU does not support " + isa_name(isa) + " (best: " +
                                isa_name(detected_isa()) + ")");
  g_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
}

std::string isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    case Isa::Baseline:
      break;
  }
  return "baseline";
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (int k = 0; k <= static_cast<int>(detected_isa()); ++k) out.push_back(static_cast<Isa>(k));
  return out;
}

}  // namespace energylens
