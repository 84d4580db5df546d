// Column helpers shared by the sampler, marks and kernels bindings: native records -> NumPy columns
// that own their memory (allocated by pybind11, filled while the GIL is held).
#pragma once

#include <pybind11/numpy.h>

#include <cstddef>
#include <stdexcept>
#include <vector>

namespace energylens::bindings {

/// A new 1-D array of `n` values, element i = get(i).
template <typename T, typename Get>
pybind11::array_t<T> column(std::size_t n, Get get) {
  pybind11::array_t<T> a(static_cast<pybind11::ssize_t>(n));
  auto* p = a.mutable_data();
  for (std::size_t i = 0; i < n; ++i) p[i] = get(i);
  return a;
}

/// A C-contiguous 1-D array of T (converted if needed), as accepted from Python.
template <typename T>
using Column = pybind11::array_t<T, pybind11::array::c_style | pybind11::array::forcecast>;

/// Copy of a 1-D column; std::invalid_argument (ValueError) for any other rank.
template <typename T>
std::vector<T> to_vector(const Column<T>& a) {
  if (a.ndim() != 1) throw std::invalid_argument("expected a one-dimensional array");
  return std::vector<T>(a.data(), a.data() + a.size());
}

}  // namespace energylens::bindings
