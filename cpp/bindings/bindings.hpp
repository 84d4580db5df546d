// One bind_<area> function per area; module.cpp calls them in order. Only cpp/bindings/ includes
// pybind11.
#pragma once

#include <pybind11/pybind11.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "energylens/parallel.hpp"

namespace energylens::bindings {

// Row count from which a row loop releases the GIL. Below it the loop's work (< ~0.3 ms) is shorter than
// the wait for the GIL to come back while another Python thread runs (up to the 5 ms switch interval):
// releasing it for a one-row call made four threads calling predict 3x slower in all than one thread.
inline constexpr std::size_t kReleaseGilRows = 65536;

// Releases the GIL for its lifetime when the loop has at least kReleaseGilRows rows (or work as long).
class ReleaseGilIfLong {
 public:
  explicit ReleaseGilIfLong(std::size_t rows) {
    if (rows >= kReleaseGilRows) release_.emplace();
  }

 private:
  std::optional<pybind11::gil_scoped_release> release_;
};

// Runs `work(cancel)` (a long native loop: the closed-form and the expression fits, their bootstraps) on a
// worker thread with the GIL released, while the calling thread wakes every 100 ms to run Python's signal
// handlers (PyErr_CheckSignals). When one raises (Ctrl-C's KeyboardInterrupt, the CLI's SIGTERM handler) `cancel`
// is set, the work stops at its next check, and the handler's exception is raised here: a long fit stops
// within a fraction of a second instead of at its end. The worker keeps the caller's thread cap
// (set_thread_max_threads). Called with the GIL held; the work's own exceptions reach the caller as if
// it had run on the calling thread.
// `tick`, when given, is called under the GIL at each wake-up (a progress callable); an exception it raises
// stops the work as a signal's does. Work of fewer than kInterruptibleRowFits row-fits (`row_fits`: rows x
// refits; the scheduler's 50-row refit, 0.55 ms) runs on the calling thread, GIL released, no cancel and no
// tick, as before: a new thread per call (and the OpenMP team it starts) cost such a fit ~3 ms, and it ends
// before a signal or a progress line would matter.
inline constexpr double kInterruptibleRowFits = 50000.0;  // ~0.1 s of fitting on one core

template <class Work>
auto run_interruptible(double row_fits, Work&& work, const std::function<void()>& tick = {}) {
  if (row_fits < kInterruptibleRowFits) {
    pybind11::gil_scoped_release release;
    return work(static_cast<const std::atomic<bool>*>(nullptr));
  }
  std::atomic<bool> cancel{false};
  using Result = decltype(work(&cancel));
  std::optional<Result> result;
  std::exception_ptr failed;
  std::optional<pybind11::error_already_set> signalled;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  const int cap = thread_max_threads();
  {
    pybind11::gil_scoped_release release;
    std::thread worker([&] {
      try {
        set_thread_max_threads(cap);
        result.emplace(work(&cancel));
      } catch (...) {
        failed = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mu);
      done = true;
      cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(mu);
    while (!cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return done; })) {
      if (signalled) continue;
      lock.unlock();
      {
        pybind11::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() != 0) {
          signalled.emplace();  // fetches the handler's exception
        } else if (tick) {
          try {
            tick();
          } catch (pybind11::error_already_set& e) {
            signalled.emplace(std::move(e));
          }
        }
      }
      if (signalled) cancel.store(true);
      lock.lock();
    }
    lock.unlock();
    worker.join();
  }
  if (signalled) throw std::move(*signalled);
  if (failed) std::rethrow_exception(failed);
  return std::move(*result);
}

void bind_errors(pybind11::module_& m);
void bind_capabilities(pybind11::module_& m);
void bind_model(pybind11::module_& m);
void bind_clock(pybind11::module_& m);
void bind_marks(pybind11::module_& m);
void bind_sampler(pybind11::module_& m);
void bind_kernels(pybind11::module_& m);
void bind_attribution(pybind11::module_& m);
void bind_ranking(pybind11::module_& m);
void bind_parallel(pybind11::module_& m);
void bind_expression(pybind11::module_& m);
void bind_search(pybind11::module_& m);
void bind_rows(pybind11::module_& m);

}  // namespace energylens::bindings
