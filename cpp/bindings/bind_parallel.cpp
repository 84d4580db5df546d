// Bindings of energylens/parallel.hpp: the process-wide thread cap and instruction-set level of the
// native loops (wrapped by energylens.parallel).
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "energylens/parallel.hpp"

namespace py = pybind11;

namespace energylens::bindings {
namespace {

Isa isa_from_name(const std::string& name) {
  for (Isa isa : {Isa::Baseline, Isa::Avx2, Isa::Avx512})
    if (isa_name(isa) == name) return isa;
  throw std::invalid_argument("unknown instruction-set level '" + name + "' (baseline, avx2, avx512)");
}

}  // namespace

void bind_parallel(py::module_& m) {
  m.def("max_threads", &max_threads, "Threads the native loops may use.");
  m.def("set_max_threads", &set_max_threads, py::arg("n_threads"),
        "Cap the native loops' threads; 0 restores the default (the CPUs this process may use).");
  m.def("thread_max_threads", &thread_max_threads, "The calling thread's own cap (0: none).");
  m.def("set_thread_max_threads", &set_thread_max_threads, py::arg("n_threads"),
        "Cap the native loops this thread runs (0: remove the cap; other threads are not affected).");
  m.def("available_cpus", &available_cpus, "CPUs in this process's affinity mask.");
  m.def("threads_for", &threads_for, py::arg("rows"), py::arg("min_rows_per_thread"),
        "Threads a loop over `rows` rows uses.");
  m.def("pool_helpers", &pool_helpers, "Helper threads the native loops' chunk pool has started (0 before "
        "the first parallel call; a forked child starts from 0).");
  m.def("active_isa", [] { return isa_name(active_isa()); }, "Instruction-set level the evaluator runs at.");
  m.def("detected_isa", [] { return isa_name(detected_isa()); }, "Best instruction-set level of this CPU.");
  m.def("set_isa", [](const std::string& name) { set_isa(isa_from_name(name)); }, py::arg("isa"),
        "Run the evaluator at a level this CPU supports (baseline, avx2, avx512); for tests.");
  m.def("supported_isas", [] {
    std::vector<std::string> out;
    for (Isa isa : supported_isas()) out.push_back(isa_name(isa));
    return out;
  }, "Instruction-set levels this CPU supports, lowest first.");
}

}  // namespace energylens::bindings
