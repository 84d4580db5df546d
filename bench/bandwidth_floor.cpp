// The memory-bandwidth floor of the float64 evaluator on this machine: the same OpenMP chunking as
// cpp/src/closed_form.cpp, but the row work is only "add the 16 feature columns, write 2 outputs".
// No template evaluation can stream the same bytes faster.
//
//   g++ -O3 -march=native -fopenmp bench/bandwidth_floor.cpp -o /tmp/bandwidth_floor && /tmp/bandwidth_floor
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

int main() {
  constexpr long kRows = 10000000;
  constexpr int kColumns = 16;
  constexpr long kChunk = 4096;
  std::vector<std::vector<double>> columns(kColumns, std::vector<double>(kRows, 1.0));
  std::vector<double> out0(kRows), out1(kRows);
  const double* c[kColumns];
  for (int k = 0; k < kColumns; ++k) c[k] = columns[k].data();
  double best_s = 1e9;
  for (int rep = 0; rep < 7; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel for schedule(static)
    for (long chunk = 0; chunk < (kRows + kChunk - 1) / kChunk; ++chunk) {
      const long begin = chunk * kChunk, end = std::min(kRows, begin + kChunk);
      for (long i = begin; i < end; ++i) {
        double s = 0.0;
        for (int k = 0; k < kColumns; ++k) s += c[k][i];
        out0[i] = s;
        out1[i] = 2.0 * s;
      }
    }
    best_s = std::min(best_s, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("N = %ld, %d threads: stream %d columns + write 2: %.1f ms (%.1f GB/s)\n", kRows,
              omp_get_max_threads(), kColumns, best_s * 1e3, (kColumns + 2) * 8.0 * kRows / best_s / 1e9);
  return 0;
}
