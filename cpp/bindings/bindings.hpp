// One bind_<area> function per area; module.cpp calls them in order. Only cpp/bindings/ includes
// pybind11.
#pragma once

#include <pybind11/pybind11.h>

namespace energylens::bindings {

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
