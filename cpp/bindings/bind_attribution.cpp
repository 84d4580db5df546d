// Bindings of energylens/attribution.hpp (private: wrapped by python/energylens/attribution.py).
// Inputs are taken as C-contiguous arrays (converted if needed); the GIL is released around the
// numerics; every returned array owns its memory (a moved std::vector kept alive by a capsule).
#include <pybind11/numpy.h>

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "energylens/attribution.hpp"

namespace py = pybind11;

namespace energylens::bindings {
namespace {

template <typename T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

template <typename T>
std::span<const T> view(const CArray<T>& a) {
  return {a.data(), static_cast<std::size_t>(a.size())};
}

/// A NumPy array that owns `v` (moved), with the given shape.
template <typename T>
py::array_t<T> owned(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule free_when_done(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(std::move(shape), heap->data(), free_when_done);
}

std::size_t matrix_rows(const CArray<double>& a, const char* name, std::size_t& cols) {
  if (a.ndim() != 2) throw std::invalid_argument(std::string(name) + " must be a 2-D array");
  cols = static_cast<std::size_t>(a.shape(1));
  return static_cast<std::size_t>(a.shape(0));
}

void require_1d(const py::array& a, const char* name) {
  if (a.ndim() != 1) throw std::invalid_argument(std::string(name) + " must be a 1-D array");
}

}  // namespace

void bind_attribution(py::module_& m) {
  m.def(
      "attribution_busy_time",
      [](const CArray<std::int64_t>& kernel_start_ns, const CArray<std::int64_t>& kernel_end_ns,
         const CArray<std::int32_t>& kernel_class, std::size_t n_classes,
         const CArray<std::int64_t>& interval_start_ns, const CArray<std::int64_t>& interval_end_ns) {
        require_1d(kernel_start_ns, "kernel_start_ns");
        require_1d(kernel_end_ns, "kernel_end_ns");
        require_1d(kernel_class, "kernel_class");
        require_1d(interval_start_ns, "interval_start_ns");
        require_1d(interval_end_ns, "interval_end_ns");
        std::vector<double> out;
        {
          py::gil_scoped_release release;
          out = busy_time_matrix_s(view(kernel_start_ns), view(kernel_end_ns), view(kernel_class), n_classes,
                                 view(interval_start_ns), view(interval_end_ns));
        }
        return owned(std::move(out), {interval_start_ns.size(), static_cast<py::ssize_t>(n_classes)});
      },
      py::arg("kernel_start_ns"), py::arg("kernel_end_ns"), py::arg("kernel_class"), py::arg("n_classes"),
      py::arg("interval_start_ns"), py::arg("interval_end_ns"),
      "Busy seconds of each class in each interval: float64 (n_intervals, n_classes).");

  m.def(
      "attribution_nnls",
      [](const CArray<double>& a, const CArray<double>& b, int max_iterations) {
        std::size_t n = 0;
        const std::size_t rows = matrix_rows(a, "a", n);
        require_1d(b, "b");
        NnlsResult r;
        {
          py::gil_scoped_release release;
          r = nnls(view(a), rows, n, view(b), max_iterations);
        }
        const auto len = static_cast<py::ssize_t>(r.x.size());
        return py::make_tuple(owned(std::move(r.x), {len}), r.rss, r.iterations, r.converged);
      },
      py::arg("a"), py::arg("b"), py::arg("max_iterations") = 0,
      "Lawson-Hanson NNLS: (x, rss, iterations, converged).");

  m.def(
      "attribution_fit",
      [](const CArray<double>& design, const CArray<double>& target, int bootstrap, std::size_t block_length,
         std::uint64_t seed, int max_iterations) {
        std::size_t n = 0;
        const std::size_t rows = matrix_rows(design, "design", n);
        require_1d(target, "target");
        AttributionOptions opt;
        opt.bootstrap = bootstrap;
        opt.block_length = block_length;
        opt.seed = seed;
        opt.max_iterations = max_iterations;
        AttributionFit f;
        {
          py::gil_scoped_release release;
          f = fit_attribution(view(design), rows, n, view(target), opt);
        }
        const auto nn = static_cast<py::ssize_t>(n);
        const auto mm = static_cast<py::ssize_t>(rows);
        py::dict d;
        d["coef"] = owned(std::move(f.coef), {nn});
        d["stderr_analytic"] = owned(std::move(f.stderr_analytic), {nn});
        d["covariance"] = owned(std::move(f.covariance), {nn, nn});
        d["residuals"] = owned(std::move(f.residuals), {mm});
        d["rss"] = f.rss;
        d["sigma2"] = f.sigma2;
        d["active"] = f.active;
        d["rank"] = f.rank;
        d["condition_number"] = f.condition_number;
        d["converged"] = f.converged;
        d["iterations"] = f.iterations;
        d["block_length"] = f.block_length;
        d["bootstrap_converged"] = f.bootstrap_converged;
        d["bootstrap_coef"] = owned(std::move(f.bootstrap_coef), {static_cast<py::ssize_t>(bootstrap), nn});
        d["stderr_bootstrap"] = owned(std::move(f.stderr_bootstrap), {nn});
        return d;
      },
      py::arg("design"), py::arg("target"), py::arg("bootstrap") = 200, py::arg("block_length") = 0,
      py::arg("seed") = 0, py::arg("max_iterations") = 0,
      "NNLS fit with analytic (active-set) and moving-block bootstrap standard errors; returns a dict.");
}

}  // namespace energylens::bindings
