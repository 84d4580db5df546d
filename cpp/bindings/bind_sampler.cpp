#include "bindings.hpp"

namespace py = pybind11;

namespace energylens::bindings {

void bind_sampler(py::module_& m) { (void)m; }

}  // namespace energylens::bindings
