// Bindings of the closed-form templates: evaluate (CPU float64/float32, CUDA device pointers), fit,
// bootstrap. Inputs are validated here (lengths, dtypes, contiguity) and named by feature; the GIL is
// released around all native work; returned arrays own their memory.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "energylens/closed_form.hpp"
#include "energylens/closed_form_cuda.hpp"

namespace py = pybind11;

namespace energylens::bindings {
namespace {

TemplateId template_id(const std::string& name) {
  if (name == "energy") return TemplateId::Energy;
  if (name == "latency") return TemplateId::Latency;
  throw std::invalid_argument("unknown template '" + name + "'; expected 'energy' or 'latency'");
}

template <typename T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

// Checks and collects the feature columns (same dtype T, 1-D) as raw pointers. All columns have the same
// length, except that with `broadcast` non-null a column of one value (or a 0-d array) stands for every
// row; its bit is set in *broadcast and the row count is the longest column's.
template <typename T>
std::vector<const T*> column_pointers(const TemplateDescriptor& d, const std::vector<py::array>& columns,
                                      std::size_t& rows, std::vector<Array<T>>& keep,
                                      BroadcastMask* broadcast = nullptr) {
  if (columns.size() != d.n_features)
    throw std::invalid_argument(std::string(d.id) + " needs " + std::to_string(d.n_features) +
                                " feature columns, got " + std::to_string(columns.size()));
  std::vector<const T*> ptrs(d.n_features);
  std::vector<std::size_t> lengths(d.n_features);
  keep.clear();
  keep.reserve(d.n_features);
  for (std::size_t k = 0; k < d.n_features; ++k) {
    const bool scalar_ok = broadcast != nullptr && columns[k].ndim() == 0;
    if (columns[k].ndim() != 1 && !scalar_ok)
      throw std::invalid_argument(std::string("feature '") + d.feature_names[k] + "' must be 1-D, got " +
                                  std::to_string(columns[k].ndim()) + "-D");
    keep.push_back(Array<T>::ensure(columns[k]));
    if (!keep.back()) throw std::invalid_argument(std::string("feature '") + d.feature_names[k] + "' is not numeric");
    lengths[k] = keep.back().ndim() == 0 ? 1 : static_cast<std::size_t>(keep.back().shape(0));
    ptrs[k] = keep.back().data();
  }
  rows = lengths.empty() ? 0 : lengths[0];
  if (broadcast != nullptr) {
    *broadcast = 0;
    for (std::size_t n : lengths) rows = std::max(rows, n);
  }
  for (std::size_t k = 0; k < d.n_features; ++k) {
    if (lengths[k] == rows) continue;
    if (broadcast != nullptr && lengths[k] == 1) {
      *broadcast |= BroadcastMask{1} << k;
      continue;
    }
    const std::size_t ref = static_cast<std::size_t>(
        std::find(lengths.begin(), lengths.end(), rows) - lengths.begin());
    throw std::invalid_argument(std::string("feature '") + d.feature_names[k] + "' has " +
                                std::to_string(lengths[k]) + " rows, feature '" + d.feature_names[ref] + "' has " +
                                std::to_string(rows) + (broadcast != nullptr ? " (a column may also hold one value "
                                                                               "for every row)" : ""));
  }
  return ptrs;
}

std::vector<double> as_params(const TemplateDescriptor& d, const Array<double>& params) {
  if (params.ndim() != 1 || static_cast<std::size_t>(params.shape(0)) != d.n_params)
    throw std::invalid_argument(std::string(d.id) + " has " + std::to_string(d.n_params) + " parameters, got " +
                                std::to_string(params.size()));
  return {params.data(), params.data() + d.n_params};
}

// A caller-owned output array: 1-D, C-contiguous, writeable, of T, with `rows` entries.
template <typename T>
py::array_t<T> output_array(const py::object& obj, std::size_t rows, const char* which) {
  if (!py::isinstance<py::array_t<T>>(obj))
    throw std::invalid_argument(std::string("out[") + which + "] must be a NumPy array of the evaluation dtype");
  auto a = obj.cast<py::array_t<T>>();
  if (a.ndim() != 1 || static_cast<std::size_t>(a.shape(0)) != rows)
    throw std::invalid_argument(std::string("out[") + which + "] must be 1-D with " + std::to_string(rows) + " rows");
  if (!(a.flags() & py::array::c_style) || !a.writeable())
    throw std::invalid_argument(std::string("out[") + which + "] must be C-contiguous and writeable");
  return a;
}

template <typename T>
py::tuple evaluate_host(TemplateId id, const std::vector<py::array>& columns, const Array<double>& params_in,
                        bool jacobian, bool aux, const py::object& out) {
  const TemplateDescriptor& d = describe(id);
  std::size_t rows = 0;
  std::vector<Array<T>> keep;
  BroadcastMask broadcast = 0;
  const std::vector<const T*> ptrs = column_pointers<T>(d, columns, rows, keep, &broadcast);
  const std::vector<double> params = as_params(d, params_in);
  const auto n = static_cast<py::ssize_t>(rows);
  const auto p = static_cast<py::ssize_t>(d.n_params);
  if (!out.is_none() && (jacobian || aux))
    throw std::invalid_argument("evaluate: out= is only for the plain evaluation (no jacobian, no aux)");
  py::array_t<T> out0, out1;
  if (out.is_none()) {
    out0 = Array<T>(n);
    out1 = Array<T>(n);
  } else {
    const auto pair = out.cast<py::tuple>();
    if (pair.size() != 2) throw std::invalid_argument("out must be a pair of arrays");
    out0 = output_array<T>(pair[0], rows, "0");
    out1 = output_array<T>(pair[1], rows, "1");
  }
  Array<T> out2(aux ? n : 0);
  T* o2 = aux ? out2.mutable_data() : nullptr;
  Array<T> jac0 = jacobian ? Array<T>({n, p}) : Array<T>(0);
  Array<T> jac1 = jacobian ? Array<T>({n, p}) : Array<T>(0);
  T* o0 = out0.mutable_data();
  T* o1 = out1.mutable_data();
  T* j0 = jacobian ? jac0.mutable_data() : nullptr;
  T* j1 = jacobian ? jac1.mutable_data() : nullptr;
  {
    py::gil_scoped_release release;
    evaluate<T>(id, rows, ptrs.data(), params, o0, o1, aux ? o2 : nullptr, j0, j1, broadcast);
  }
  if (jacobian) return py::make_tuple(out0, out1, jac0, jac1);
  if (aux) return py::make_tuple(out0, out1, out2);
  return py::make_tuple(out0, out1);
}

FitOptions fit_options(const py::dict& o) {
  FitOptions f;
  auto get = [&](const char* key) -> py::object {
    if (o.contains(key)) return o[key];
    return py::none();
  };
  if (auto v = get("target"); !v.is_none()) {
    const auto s = v.cast<std::string>();
    if (s == "sum") f.target = FitTarget::Sum;
    else if (s == "per_output") f.target = FitTarget::PerOutput;
    else if (s == "sum_with_aux") f.target = FitTarget::SumWithAux;
    else throw std::invalid_argument("target must be 'sum', 'per_output' or 'sum_with_aux', got '" + s + "'");
  }
  if (auto v = get("residual"); !v.is_none()) {
    const auto s = v.cast<std::string>();
    if (s == "relative") f.residual = ResidualKind::Relative;
    else if (s == "log") f.residual = ResidualKind::Log;
    else throw std::invalid_argument("residual must be 'relative' or 'log', got '" + s + "'");
  }
  if (auto v = get("loss"); !v.is_none()) {
    const auto s = v.cast<std::string>();
    if (s == "linear") f.least_squares.loss = Loss::Linear;
    else if (s == "soft_l1") f.least_squares.loss = Loss::SoftL1;
    else if (s == "huber") f.least_squares.loss = Loss::Huber;
    else throw std::invalid_argument("loss must be 'linear', 'soft_l1' or 'huber', got '" + s + "'");
  }
  if (auto v = get("aux_weight"); !v.is_none()) f.aux_weight = v.cast<double>();
  if (auto v = get("loss_scale"); !v.is_none()) f.least_squares.loss_scale = v.cast<double>();
  if (auto v = get("max_iterations"); !v.is_none()) f.least_squares.max_iterations = v.cast<int>();
  if (auto v = get("ftol"); !v.is_none()) f.least_squares.ftol = v.cast<double>();
  if (auto v = get("xtol"); !v.is_none()) f.least_squares.xtol = v.cast<double>();
  if (auto v = get("gtol"); !v.is_none()) f.least_squares.gtol = v.cast<double>();
  if (auto v = get("initial_damping"); !v.is_none()) f.least_squares.initial_damping = v.cast<double>();
  if (auto v = get("n_starts"); !v.is_none()) f.n_starts = v.cast<int>();
  if (auto v = get("start_spread"); !v.is_none()) f.start_spread = v.cast<double>();
  if (auto v = get("seed"); !v.is_none()) f.seed = v.cast<std::uint64_t>();
  if (f.least_squares.max_iterations < 1) throw std::invalid_argument("max_iterations must be >= 1");
  return f;
}

struct FitInputs {
  std::size_t rows = 0;
  std::vector<Array<double>> keep_columns;
  std::vector<const double*> columns;
  std::vector<Array<double>> keep_targets;
  std::vector<std::span<const double>> targets;
  std::vector<double> start;
};

FitInputs fit_inputs(TemplateId id, const std::vector<py::array>& columns, const std::vector<py::array>& targets,
                     const py::object& start) {
  const TemplateDescriptor& d = describe(id);
  FitInputs in;
  in.columns = column_pointers<double>(d, columns, in.rows, in.keep_columns);
  for (const auto& t : targets) {
    in.keep_targets.push_back(Array<double>::ensure(t));
    const auto& a = in.keep_targets.back();
    if (!a || a.ndim() != 1) throw std::invalid_argument("targets must be 1-D numeric arrays");
    in.targets.emplace_back(a.data(), static_cast<std::size_t>(a.shape(0)));
  }
  if (!start.is_none()) in.start = as_params(d, start.cast<Array<double>>());
  return in;
}

py::dict fit_result_dict(const ClosedFormFit& f) {
  py::dict r;
  r["params"] = py::array_t<double>(static_cast<py::ssize_t>(f.best.params.size()), f.best.params.data());
  r["cost"] = f.best.cost;
  r["iterations"] = f.best.iterations;
  r["evaluations"] = f.best.evaluations;
  r["converged"] = f.best.converged;
  r["status"] = std::string(to_string(f.best.status));
  r["starts"] = f.starts;
  r["starts_converged"] = f.starts_converged;
  return r;
}

py::dict describe_dict(TemplateId id) {
  const TemplateDescriptor& d = describe(id);
  auto names = [](const char* const* a, std::size_t n) {
    std::vector<std::string> v(a, a + n);
    return v;
  };
  py::dict r;
  r["id"] = std::string(d.id);
  r["feature_names"] = names(d.feature_names, d.n_features);
  r["param_names"] = names(d.param_names, d.n_params);
  r["param_units"] = names(d.param_units, d.n_params);
  r["param_descriptions"] = names(d.param_descriptions, d.n_params);
  r["lower"] = std::vector<double>(d.lower, d.lower + d.n_params);
  r["upper"] = std::vector<double>(d.upper, d.upper + d.n_params);
  r["init"] = std::vector<double>(d.init, d.init + d.n_params);
  r["output_names"] = names(d.output_names, 3);
  return r;
}

}  // namespace

void bind_model(py::module_& m) {
  m.def("describe_template", [](const std::string& name) { return describe_dict(template_id(name)); },
        py::arg("template"), "Names, units, bounds and start point of a closed-form template.");

  m.def(
      "evaluate",
      [](const std::string& name, const std::vector<py::array>& columns, const Array<double>& params,
         bool jacobian, const std::string& dtype, bool aux, const py::object& out) -> py::tuple {
        const TemplateId id = template_id(name);
        if (jacobian && aux) throw std::invalid_argument("evaluate: ask for jacobian or aux, not both");
        if (dtype == "float64") return evaluate_host<double>(id, columns, params, jacobian, aux, out);
        if (dtype == "float32") return evaluate_host<float>(id, columns, params, jacobian, aux, out);
        throw std::invalid_argument("dtype must be 'float64' or 'float32', got '" + dtype + "'");
      },
      py::arg("template"), py::arg("columns"), py::arg("params"), py::arg("jacobian") = false,
      py::arg("dtype") = "float64", py::arg("aux") = false, py::arg("out") = py::none(),
      "Evaluate a template on feature columns (in the template's feature order; a column of one value, "
      "or a 0-d array, is used for every row). Returns (out0, out1) "
      "(written into `out`, a pair of preallocated arrays, when given: no allocation per call), "
      "with aux=True (out0, out1, out2) where out2 is the auxiliary output (energy: implied step time), "
      "or with jacobian=True (out0, out1, d_out0, d_out1) with (rows, n_params) Jacobians.");

  m.def(
      "evaluate_device",
      [](const std::string& name, const std::vector<std::uintptr_t>& column_ptrs, std::size_t rows,
         const Array<double>& params_in, std::uintptr_t out0, std::uintptr_t out1, const std::string& dtype,
         std::uintptr_t stream, bool synchronize) {
        const TemplateId id = template_id(name);
        const TemplateDescriptor& d = describe(id);
        if (column_ptrs.size() != d.n_features)
          throw std::invalid_argument(std::string(d.id) + " needs " + std::to_string(d.n_features) +
                                      " device columns, got " + std::to_string(column_ptrs.size()));
        const std::vector<double> params = as_params(d, params_in);
        py::gil_scoped_release release;
        if (dtype == "float64") {
          std::vector<const double*> cols(column_ptrs.size());
          for (std::size_t k = 0; k < cols.size(); ++k) cols[k] = reinterpret_cast<const double*>(column_ptrs[k]);
          cuda::evaluate_device<double>(id, rows, cols.data(), params, reinterpret_cast<double*>(out0),
                                        reinterpret_cast<double*>(out1), stream, synchronize);
        } else if (dtype == "float32") {
          std::vector<const float*> cols(column_ptrs.size());
          for (std::size_t k = 0; k < cols.size(); ++k) cols[k] = reinterpret_cast<const float*>(column_ptrs[k]);
          cuda::evaluate_device<float>(id, rows, cols.data(), params, reinterpret_cast<float*>(out0),
                                       reinterpret_cast<float*>(out1), stream, synchronize);
        } else {
          throw std::invalid_argument("dtype must be 'float64' or 'float32', got '" + dtype + "'");
        }
      },
      py::arg("template"), py::arg("column_ptrs"), py::arg("rows"), py::arg("params"), py::arg("out0"),
      py::arg("out1"), py::arg("dtype"), py::arg("stream") = 0, py::arg("synchronize") = true,
      "Evaluate on device memory (raw pointers from __cuda_array_interface__ / DLPack).");

  m.def(
      "fit",
      [](const std::string& name, const std::vector<py::array>& columns, const std::vector<py::array>& targets,
         const py::object& start, const py::dict& options) {
        const TemplateId id = template_id(name);
        FitInputs in = fit_inputs(id, columns, targets, start);
        const FitOptions o = fit_options(options);
        ClosedFormFit f;
        {
          py::gil_scoped_release release;
          f = fit(id, in.rows, in.columns.data(), in.targets, in.start, o);
        }
        return fit_result_dict(f);
      },
      py::arg("template"), py::arg("columns"), py::arg("targets"), py::arg("start") = py::none(),
      py::arg("options") = py::dict(),
      "Bounded Levenberg-Marquardt fit with the analytic Jacobian (options: target, residual, aux_weight, loss, "
      "loss_scale, n_starts, start_spread, seed, max_iterations, ftol, xtol, gtol).");

  m.def(
      "bootstrap",
      [](const std::string& name, const std::vector<py::array>& columns, const std::vector<py::array>& targets,
         const py::object& start, int replicates, const py::dict& options) {
        const TemplateId id = template_id(name);
        FitInputs in = fit_inputs(id, columns, targets, start);
        if (in.start.empty()) throw std::invalid_argument("bootstrap needs the start parameters (the full fit)");
        const FitOptions o = fit_options(options);
        std::vector<std::uint8_t> converged;
        std::vector<double> costs, params;
        {
          py::gil_scoped_release release;
          params = bootstrap(id, in.rows, in.columns.data(), in.targets, in.start, replicates, o, converged, costs);
        }
        const auto b = static_cast<py::ssize_t>(replicates);
        const auto p = static_cast<py::ssize_t>(describe(id).n_params);
        py::array_t<double> out({b, p});
        std::copy(params.begin(), params.end(), out.mutable_data());
        py::array_t<bool> conv(b);
        for (py::ssize_t i = 0; i < b; ++i) conv.mutable_data()[i] = converged[static_cast<std::size_t>(i)] != 0;
        py::array_t<double> cost(b, costs.data());
        return py::make_tuple(out, conv, cost);
      },
      py::arg("template"), py::arg("columns"), py::arg("targets"), py::arg("start"), py::arg("replicates"),
      py::arg("options") = py::dict(),
      "Refit on `replicates` seeded resamples (rows with replacement) in parallel; returns (params, "
      "converged, cost).");
}

}  // namespace energylens::bindings
