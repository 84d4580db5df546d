// The one time base: steady-clock ns for samples, marks and kernels, and the wall -> steady mapping
// (bracketing reads). Every call here is short; the GIL is kept.
#include <cstdint>

#include "bindings.hpp"
#include "energylens/clock.hpp"

namespace py = pybind11;

namespace energylens::bindings {

void bind_clock(py::module_& m) {
  m.def("steady_now_ns", &clock::steady_now_ns, "Steady-clock ns: the one time base of samples, marks, kernels.");
  m.def(
      "wall_to_steady",
      [](int rounds) {
        const auto mp = clock::wall_to_steady(rounds);
        return py::make_tuple(mp.offset_ns, mp.uncertainty_ns);
      },
      py::arg("rounds") = 7, "(offset_ns, uncertainty_ns) mapping wall-clock ns onto steady ns.");
  m.def(
      "_estimate_mapping_of_shifted_clock",
      [](std::int64_t shift_ns, int rounds) {
        const auto mp = clock::estimate_mapping([shift_ns] { return clock::steady_now_ns() + shift_ns; }, rounds);
        return py::make_tuple(mp.offset_ns, mp.uncertainty_ns);
      },
      py::arg("shift_ns"), py::arg("rounds") = 7, "Test hook: map a clock reading steady + shift.");
}

}  // namespace energylens::bindings
