// Wake-up latency of the chunk pool (cpp/src/parallel.cpp run_chunks): 10 chunks of W us of busy work on
// 2 threads, a gap of G us between calls (a Python caller returns to the interpreter for a few us between
// calls; a C++ loop does not). Prints the loop time a call (gap included), the call's wall time, the chunks the helper ran and how long after
// the call began it started its first one (p10 and median over the calls). Issue 14: at G = 0 the helper
// never sleeps; at G >= 2 us it slept before every call and, on a KVM guest whose idle CPU halts, joined
// ~25 us late before helpers polled briefly for the next job.
//
//   g++ -O2 -std=c++20 -fopenmp -Icpp/include bench/pool_wake.cpp cpp/src/parallel.cpp -o /tmp/pool_wake
//   for g in 0 5 50; do /tmp/pool_wake 15 $g 1000; done     # W G calls
#include "energylens/parallel.hpp"
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
using clk = std::chrono::steady_clock;
static double us_since(clk::time_point t) { return std::chrono::duration<double, std::micro>(clk::now() - t).count(); }
static void busy(double us) { auto t = clk::now(); while (us_since(t) < us) {} }
static double q(std::vector<double> v, double p) { if (v.empty()) return -1; std::sort(v.begin(), v.end()); return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))]; }
int main(int argc, char** argv) {
  const double work_us = argc > 1 ? atof(argv[1]) : 15.0;
  const double gap_us = argc > 2 ? atof(argv[2]) : 0.0;
  const int calls = argc > 3 ? atoi(argv[3]) : 2000;
  const char* tag = argc > 4 ? argv[4] : "run_chunks";
  energylens::set_max_threads(2);
  std::vector<double> first, helper_chunks, wall;
  const auto loop_start = clk::now();
  for (int i = 0; i < calls; ++i) {
    busy(gap_us);
    std::atomic<int> hc{0};
    std::atomic<double> first_us{-1};
    auto t0 = clk::now();
    energylens::run_chunks(10, 2, [&](std::size_t, int slot) {
      if (slot != 0 && hc.fetch_add(1) == 0) first_us.store(us_since(t0));
      busy(work_us);
    });
    wall.push_back(us_since(t0));
    if (first_us.load() >= 0) first.push_back(first_us.load());
    helper_chunks.push_back(hc.load());
  }
  const double per_call = us_since(loop_start) / calls;
  printf("%s gap %3.0f us: %.1f us a call with the gap; call wall p10 %.1f median %.1f us (1T %.0f, 2T %.0f); helper chunks mean %.2f, joined %4zu/%d, "
         "first helper chunk p10 %.1f median %.1f us\n", tag, gap_us, per_call, q(wall, .1), q(wall, .5), 10 * work_us, 5 * work_us,
         [&] { double s = 0; for (double h : helper_chunks) s += h; return s / calls; }(), first.size(), calls, q(first, .1), q(first, .5));
}
