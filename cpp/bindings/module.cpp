// energylens._core: the private extension module. Public names are re-exported by the Python
// package; see docs/binding-conventions.md for ownership and GIL rules.
#include "bindings.hpp"

#ifndef ENERGYLENS_VERSION
#define ENERGYLENS_VERSION "unknown"
#endif

PYBIND11_MODULE(_core, m) {
  m.doc() = "energylens native core (private: import from energylens instead)";
  m.attr("__version__") = ENERGYLENS_VERSION;
  energylens::bindings::bind_errors(m);
  energylens::bindings::bind_capabilities(m);
  energylens::bindings::bind_model(m);
  energylens::bindings::bind_clock(m);
  energylens::bindings::bind_marks(m);
  energylens::bindings::bind_sampler(m);
  energylens::bindings::bind_kernels(m);
  energylens::bindings::bind_attribution(m);
  energylens::bindings::bind_ranking(m);
  energylens::bindings::bind_parallel(m);
  energylens::bindings::bind_expression(m);
  energylens::bindings::bind_search(m);
  energylens::bindings::bind_rows(m);
}
