// One bind_<area> function per area; module.cpp calls them in order. Only cpp/bindings/ includes
// pybind11.
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <optional>

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
