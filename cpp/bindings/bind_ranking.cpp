// Bindings of energylens/ranking.hpp (private: wrapped by energylens.compare.metrics.pairwise_counts).
// The GIL is released around the count.
#include <pybind11/numpy.h>

#include <stdexcept>
#include <utility>

#include "bindings.hpp"
#include "energylens/ranking.hpp"

namespace py = pybind11;

namespace energylens::bindings {

void bind_ranking(py::module_& m) {
  using CArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
  m.def(
      "pairwise_counts",
      [](const CArray& pred, const CArray& meas) {
        if (pred.ndim() != 1 || meas.ndim() != 1 || pred.size() != meas.size()) {
          throw std::invalid_argument("pairwise_counts: pred and meas must be 1-D arrays of one length");
        }
        PairwiseCounts c;
        {
          py::gil_scoped_release release;
          c = pairwise_counts(pred.data(), meas.data(), static_cast<std::size_t>(pred.size()));
        }
        return std::make_pair(c.concordant, c.comparable);
      },
      py::arg("pred"), py::arg("meas"),
      "(concordant, comparable) pairs of one group in O(n log n); a predicted tie counts one half.");
}

}  // namespace energylens::bindings
