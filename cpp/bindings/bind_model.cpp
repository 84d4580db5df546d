// Bindings of the closed-form templates: evaluate (CPU float64/float32, CUDA device pointers), fit,
// bootstrap, and the typed values that cross the boundary (TemplateDescriptor, FitOptions, FitResult,
// ClosedFormFit, BootstrapResult, Evaluation: classes with read-only properties, never dicts).
// Inputs are validated here (lengths, dtypes, contiguity) and named by feature; the GIL is released
// around all native work; returned arrays own their memory.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "energylens/closed_form.hpp"
#include "energylens/closed_form_cuda.hpp"
#include "energylens/intervals.hpp"
#include "energylens/row_features.hpp"

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

// A (replicates, n_params) matrix of parameter sets (a bootstrap's refits), as C-contiguous float64.
Array<double> param_matrix(const TemplateDescriptor& d, const py::array& params, const char* call) {
  auto a = Array<double>::ensure(params);
  if (!a) throw std::invalid_argument(std::string(call) + ": params must be a numeric (replicates, n_params) array");
  if (a.ndim() != 2 || static_cast<std::size_t>(a.shape(1)) != d.n_params) {
    // (an ostringstream: GCC 12's LTO reads the chained string + of this message as a memcpy past SIZE_MAX)
    std::ostringstream msg;
    msg << call << ": params must have shape (replicates, " << d.n_params << ") for the " << d.id
        << " template, got shape (";
    for (py::ssize_t k = 0; k < a.ndim(); ++k) msg << (k ? ", " : "") << a.shape(k);
    msg << (a.ndim() == 1 ? ",)" : ")");
    throw std::invalid_argument(msg.str());
  }
  return a;
}

/// What both replicate calls read: the template's feature columns (owned by `keep` while `ptrs` points into them)
/// and the (replicates, n_params) parameter matrix, checked for the template.
struct ReplicateInputs {
  std::size_t rows = 0;
  std::vector<Array<double>> keep;
  BroadcastMask broadcast = 0;
  std::vector<const double*> ptrs;  // (declared after rows, keep and broadcast, which its initialiser fills)
  Array<double> params;
  std::size_t replicates;

  ReplicateInputs(const TemplateDescriptor& d, const std::vector<py::array>& columns, const py::array& params_in,
                  const char* call)
      : ptrs(column_pointers<double>(d, columns, rows, keep, &broadcast)),
        params(param_matrix(d, params_in, call)),
        replicates(static_cast<std::size_t>(params.shape(0))) {}

  std::span<const double> flat_params() const { return {params.data(), static_cast<std::size_t>(params.size())}; }
};

py::tuple evaluate_replicates_host(TemplateId id, const std::vector<py::array>& columns, const py::array& params_in) {
  const ReplicateInputs in(describe(id), columns, params_in, "evaluate_replicates");
  const auto shape = std::vector<py::ssize_t>{in.params.shape(0), static_cast<py::ssize_t>(in.rows)};
  Array<double> out0(shape), out1(shape);
  double* o0 = out0.mutable_data();
  double* o1 = out1.mutable_data();
  {
    const ReleaseGilIfLong release(in.rows * in.replicates);
    evaluate_replicates<double>(id, in.rows, in.ptrs.data(), in.flat_params(), in.replicates, o0, o1, in.broadcast);
  }
  return py::make_tuple(out0, out1);
}

/// What `interval_bounds` returns: one (lo, hi) pair of arrays per output, and the extrapolation tally of
/// the rows when thresholds were given (reading it otherwise raises, naming the arguments).
struct IntervalBounds {
  py::list bounds;
  rows::RangeTally tally;
  bool has_tally = false;
  const rows::RangeTally& checked() const {
    if (!has_tally)
      throw std::invalid_argument("IntervalBounds: no range tally was asked for (call interval_bounds(..., "
                                  "above=..., below=...))");
    return tally;
  }
};

std::vector<double> thresholds(const py::object& values, const char* which) {
  if (values.is_none()) return {};
  const auto a = Array<double>::ensure(values);
  if (!a || a.ndim() != 1) throw std::invalid_argument(std::string("interval_bounds: ") + which + " must be 1-D");
  return {a.data(), a.data() + a.size()};
}

IntervalBounds interval_bounds_host(TemplateId id, const std::vector<py::array>& columns, const py::array& params_in,
                                    const std::vector<py::array>& factors, const std::vector<int>& outputs,
                                    std::uint64_t seed, double q_lo, double q_hi, const py::object& above_in,
                                    const py::object& below_in) {
  const ReplicateInputs in(describe(id), columns, params_in, "interval_bounds");
  const std::size_t rows = in.rows;
  if (factors.size() != outputs.size())
    throw std::invalid_argument("interval_bounds: " + std::to_string(factors.size()) + " factor samples for " +
                                std::to_string(outputs.size()) + " outputs");
  if (above_in.is_none() != below_in.is_none())
    throw std::invalid_argument("interval_bounds: give both above= and below=, or neither");
  const std::vector<double> above = thresholds(above_in, "above"), below = thresholds(below_in, "below");
  std::vector<Array<double>> samples;
  std::vector<Array<double>> bounds;
  std::vector<IntervalOutput> specs;
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    samples.push_back(Array<double>::ensure(factors[k]));
    if (!samples.back() || samples.back().ndim() != 1)
      throw std::invalid_argument("interval_bounds: factors[" + std::to_string(k) + "] must be a 1-D numeric array");
    bounds.emplace_back(static_cast<py::ssize_t>(rows));
    bounds.emplace_back(static_cast<py::ssize_t>(rows));
    specs.push_back({outputs[k], {samples.back().data(), static_cast<std::size_t>(samples.back().size())},
                     bounds[2 * k].mutable_data(), bounds[2 * k + 1].mutable_data()});
  }
  IntervalBounds result;
  result.has_tally = !above_in.is_none();
  {
    const ReleaseGilIfLong release(rows * in.replicates);
    result.tally = interval_bounds(id, rows, in.ptrs.data(), in.broadcast, in.flat_params(), in.replicates, seed, q_lo,
                                   q_hi, specs, above, below);
  }
  for (std::size_t k = 0; k < outputs.size(); ++k) result.bounds.append(py::make_tuple(bounds[2 * k], bounds[2 * k + 1]));
  return result;
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

/// What `evaluate` returns, whatever was asked: the two outputs always; the auxiliary output (out2) and
/// the Jacobians only when asked for (reading one that was not asked for raises, naming the flag).
struct Evaluation {
  const TemplateDescriptor* descriptor = nullptr;
  py::array out0, out1;        ///< the template's two outputs (output_names[0], [1])
  py::array out2;              ///< the auxiliary output (output_names[2]); empty unless aux=True
  py::array jacobian0, jacobian1;  ///< d out0 / d params, d out1 / d params (rows x n_params)
  bool has_aux = false;
  bool has_jacobian = false;
  bool summed = false;  ///< evaluate(..., sum=True): out0 holds out0 + out1, out1 is not there
};

const py::array& evaluation_part(const py::array& part, bool present, const char* what, const char* flag) {
  if (!present)
    throw std::invalid_argument(std::string("Evaluation.") + what + ": this evaluation was not asked for it (call "
                                "evaluate(..., " + flag + "=True))");
  return part;
}

template <typename T>
Evaluation evaluate_host(TemplateId id, const std::vector<py::array>& columns, const Array<double>& params_in,
                         bool jacobian, bool aux, const py::object& out, const py::object& domain, bool sum) {
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
  if (sum && (jacobian || aux || !out.is_none()))
    throw std::invalid_argument("evaluate: sum=True is only for the plain evaluation without out=");
  py::array_t<T> out0, out1;
  if (out.is_none()) {
    out0 = Array<T>(n);
    out1 = Array<T>(sum ? 0 : n);
  } else {
    const auto pair = out.cast<py::tuple>();
    if (pair.size() != 2) throw std::invalid_argument("out must be a pair of arrays");
    out0 = output_array<T>(pair[0], rows, "0");
    out1 = output_array<T>(pair[1], rows, "1");
  }
  Array<T> out2(aux ? n : 0);
  Array<T> jac0 = jacobian ? Array<T>({n, p}) : Array<T>(0);
  Array<T> jac1 = jacobian ? Array<T>({n, p}) : Array<T>(0);
  T* o0 = out0.mutable_data();
  T* o1 = out1.mutable_data();
  T* o2 = aux ? out2.mutable_data() : nullptr;
  T* j0 = jacobian ? jac0.mutable_data() : nullptr;
  T* j1 = jacobian ? jac1.mutable_data() : nullptr;
  if (!domain.is_none() || sum) {
    if (jacobian || aux) throw std::invalid_argument("evaluate: domain= is only for the plain evaluation");
    std::vector<T> lower;
    if (!domain.is_none()) {
      const auto bounds = domain.cast<Array<double>>();
      lower.resize(static_cast<std::size_t>(bounds.size()));
      for (std::size_t k = 0; k < lower.size(); ++k) lower[k] = static_cast<T>(bounds.data()[k]);
      if (lower.empty()) throw std::invalid_argument("evaluate: domain= needs one bound per feature, got none");
    }
    bool ok = true;
    {
      const ReleaseGilIfLong release(rows);
      ok = evaluate_in_domain<T>(id, rows, ptrs.data(), params, o0, sum ? nullptr : o1, broadcast, lower);
    }
    if (!ok) throw std::invalid_argument("evaluate: a feature value is outside its domain (domain=)");
    Evaluation ev{&d, out0, out1, out2, jac0, jac1, aux, jacobian};
    ev.summed = sum;
    return ev;
  }
  {
    const ReleaseGilIfLong release(jacobian ? rows * 10 : rows);  // (a Jacobian row costs ~10 plain ones)
    evaluate<T>(id, rows, ptrs.data(), params, o0, o1, o2, j0, j1, broadcast);
  }
  return Evaluation{&d, out0, out1, out2, jac0, jac1, aux, jacobian};
}

// ---- FitOptions: keyword construction, unknown names rejected -------------------------------------

constexpr const char* kFitOptionNames[] = {"target",         "residual", "aux_weight", "loss", "loss_scale",
                                           "max_iterations", "ftol",     "xtol",       "gtol", "initial_damping",
                                           "n_starts",       "start_spread", "seed",  "prior", "prior_weight"};

std::string accepted_fit_options() {
  std::string s;
  for (const char* name : kFitOptionNames) s += (s.empty() ? "" : ", ") + std::string(name);
  return s;
}

const char* to_string(FitTarget t) {
  switch (t) {
    case FitTarget::Sum: return "sum";
    case FitTarget::PerOutput: return "per_output";
    case FitTarget::SumWithAux: return "sum_with_aux";
  }
  return "?";
}

const char* to_string(ResidualKind r) { return r == ResidualKind::Relative ? "relative" : "log"; }

const char* to_string(Loss l) {
  switch (l) {
    case Loss::Linear: return "linear";
    case Loss::SoftL1: return "soft_l1";
    case Loss::Huber: return "huber";
  }
  return "?";
}

// The value of option `key` as T; a value of the wrong type is a TypeError naming the option.
template <typename T>
T option_value(const std::string& key, const py::handle& value, const char* type_name) {
  try {
    return value.cast<T>();
  } catch (const py::cast_error&) {
    throw py::type_error("FitOptions: option '" + key + "' must be " + type_name + ", got " +
                         std::string(py::str(py::type::of(value).attr("__name__"))));
  }
}

FitOptions fit_options(const py::kwargs& kwargs) {
  FitOptions f;
  LeastSquaresOptions& ls = f.least_squares;
  for (const auto& item : kwargs) {
    const auto key = item.first.cast<std::string>();
    const py::handle v = item.second;
    if (key == "target") {
      const auto s = option_value<std::string>(key, v, "a str");
      if (s == "sum") f.target = FitTarget::Sum;
      else if (s == "per_output") f.target = FitTarget::PerOutput;
      else if (s == "sum_with_aux") f.target = FitTarget::SumWithAux;
      else throw std::invalid_argument("target must be 'sum', 'per_output' or 'sum_with_aux', got '" + s + "'");
    } else if (key == "residual") {
      const auto s = option_value<std::string>(key, v, "a str");
      if (s == "relative") f.residual = ResidualKind::Relative;
      else if (s == "log") f.residual = ResidualKind::Log;
      else throw std::invalid_argument("residual must be 'relative' or 'log', got '" + s + "'");
    } else if (key == "loss") {
      const auto s = option_value<std::string>(key, v, "a str");
      if (s == "linear") ls.loss = Loss::Linear;
      else if (s == "soft_l1") ls.loss = Loss::SoftL1;
      else if (s == "huber") ls.loss = Loss::Huber;
      else throw std::invalid_argument("loss must be 'linear', 'soft_l1' or 'huber', got '" + s + "'");
    } else if (key == "aux_weight") {
      f.aux_weight = option_value<double>(key, v, "a float");
    } else if (key == "loss_scale") {
      ls.loss_scale = option_value<double>(key, v, "a float");
    } else if (key == "max_iterations") {
      ls.max_iterations = option_value<int>(key, v, "an int");
    } else if (key == "ftol") {
      ls.ftol = option_value<double>(key, v, "a float");
    } else if (key == "xtol") {
      ls.xtol = option_value<double>(key, v, "a float");
    } else if (key == "gtol") {
      ls.gtol = option_value<double>(key, v, "a float");
    } else if (key == "initial_damping") {
      ls.initial_damping = option_value<double>(key, v, "a float");
    } else if (key == "n_starts") {
      f.n_starts = option_value<int>(key, v, "an int");
    } else if (key == "start_spread") {
      f.start_spread = option_value<double>(key, v, "a float");
    } else if (key == "seed") {
      f.seed = option_value<std::uint64_t>(key, v, "a non-negative int");
    } else if (key == "prior") {
      if (!v.is_none()) f.prior = option_value<std::vector<double>>(key, v, "a sequence of floats or None");
    } else if (key == "prior_weight") {
      f.prior_weight = option_value<double>(key, v, "a float");
    } else {
      throw py::type_error("FitOptions: unknown option '" + key + "'; accepted: " + accepted_fit_options());
    }
  }
  if (ls.max_iterations < 1) throw std::invalid_argument("max_iterations must be >= 1");
  validate(ls);
  return f;
}

std::string fit_options_repr(const FitOptions& f) {
  std::ostringstream s;
  s.precision(17);
  const LeastSquaresOptions& ls = f.least_squares;
  s << "FitOptions(target='" << to_string(f.target) << "', residual='" << to_string(f.residual)
    << "', aux_weight=" << f.aux_weight << ", loss='" << to_string(ls.loss) << "', loss_scale=" << ls.loss_scale
    << ", max_iterations=" << ls.max_iterations << ", ftol=" << ls.ftol << ", xtol=" << ls.xtol
    << ", gtol=" << ls.gtol << ", initial_damping=" << ls.initial_damping << ", n_starts=" << f.n_starts
    << ", start_spread=" << f.start_spread << ", seed=" << f.seed;
  if (!f.prior.empty()) {
    s << ", prior=[";
    for (std::size_t j = 0; j < f.prior.size(); ++j) s << (j ? ", " : "") << f.prior[j];
    s << "], prior_weight=" << f.prior_weight;
  }
  s << ")";
  return s.str();
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

py::tuple names(const char* const* a, std::size_t n) {
  py::tuple t(n);
  for (std::size_t i = 0; i < n; ++i) t[i] = py::str(a[i]);
  return t;
}

py::array_t<double> values(const double* a, std::size_t n) {
  return py::array_t<double>(static_cast<py::ssize_t>(n), a);  // a copy: the caller may modify it
}

void bind_types(py::module_& m) {
  py::class_<TemplateDescriptor>(m, "TemplateDescriptor",
                                 "The one list of a template's features and parameters (cpp/src/templates.cpp).")
      .def_property_readonly("id", [](const TemplateDescriptor& d) { return std::string(d.id); },
                             "Versioned id, e.g. 'energylens.energy.v1'.")
      .def_readonly("n_features", &TemplateDescriptor::n_features)
      .def_readonly("n_params", &TemplateDescriptor::n_params)
      .def_property_readonly("feature_names",
                             [](const TemplateDescriptor& d) { return names(d.feature_names, d.n_features); },
                             "Feature names in column order (units in the names).")
      .def_property_readonly("feature_units",
                             [](const TemplateDescriptor& d) { return names(d.feature_units, d.n_features); })
      .def_property_readonly(
          "feature_descriptions",
          [](const TemplateDescriptor& d) { return names(d.feature_descriptions, d.n_features); })
      .def_property_readonly("param_names",
                             [](const TemplateDescriptor& d) { return names(d.param_names, d.n_params); },
                             "Parameter names in parameter-vector order.")
      .def_property_readonly("param_units",
                             [](const TemplateDescriptor& d) { return names(d.param_units, d.n_params); })
      .def_property_readonly("param_descriptions",
                             [](const TemplateDescriptor& d) { return names(d.param_descriptions, d.n_params); })
      .def_property_readonly("lower", [](const TemplateDescriptor& d) { return values(d.lower, d.n_params); },
                             "Lower bounds (a new array on every access).")
      .def_property_readonly("upper", [](const TemplateDescriptor& d) { return values(d.upper, d.n_params); },
                             "Upper bounds (a new array on every access).")
      .def_property_readonly("init", [](const TemplateDescriptor& d) { return values(d.init, d.n_params); },
                             "Physically motivated start point (a new array on every access).")
      .def_property_readonly("output_names", [](const TemplateDescriptor& d) { return names(d.output_names, 3); },
                             "The two outputs and the auxiliary one.")
      .def("__repr__", [](const TemplateDescriptor& d) {
        return "<TemplateDescriptor " + std::string(d.id) + ": " + std::to_string(d.n_features) + " features, " +
               std::to_string(d.n_params) + " parameters>";
      });

  py::class_<FitOptions>(m, "FitOptions",
                         "Options of a native fit, by keyword only; an unknown name raises TypeError.")
      .def(py::init([](const py::kwargs& kwargs) { return fit_options(kwargs); }))
      .def_property_readonly_static("option_names",
                                    [](const py::object&) { return names(kFitOptionNames, std::size(kFitOptionNames)); },
                                    "Every accepted option name.")
      .def_property_readonly("target", [](const FitOptions& f) { return to_string(f.target); })
      .def_property_readonly("residual", [](const FitOptions& f) { return to_string(f.residual); })
      .def_readonly("aux_weight", &FitOptions::aux_weight)
      .def_property_readonly("loss", [](const FitOptions& f) { return to_string(f.least_squares.loss); })
      .def_property_readonly("loss_scale", [](const FitOptions& f) { return f.least_squares.loss_scale; })
      .def_property_readonly("max_iterations", [](const FitOptions& f) { return f.least_squares.max_iterations; })
      .def_property_readonly("ftol", [](const FitOptions& f) { return f.least_squares.ftol; })
      .def_property_readonly("xtol", [](const FitOptions& f) { return f.least_squares.xtol; })
      .def_property_readonly("gtol", [](const FitOptions& f) { return f.least_squares.gtol; })
      .def_property_readonly("initial_damping", [](const FitOptions& f) { return f.least_squares.initial_damping; })
      .def_readonly("n_starts", &FitOptions::n_starts)
      .def_readonly("start_spread", &FitOptions::start_spread)
      .def_readonly("seed", &FitOptions::seed)
      .def_property_readonly("prior", [](const FitOptions& f) -> py::object {
        if (f.prior.empty()) return py::none();
        return values(f.prior.data(), f.prior.size());
      })
      .def_readonly("prior_weight", &FitOptions::prior_weight)
      .def("__repr__", &fit_options_repr);

  py::class_<FitResult>(m, "FitResult", "One least-squares fit; non-convergence is data (converged, status).")
      .def_property_readonly("params", [](const FitResult& r) { return values(r.params.data(), r.params.size()); })
      .def_readonly("cost", &FitResult::cost)
      .def_readonly("iterations", &FitResult::iterations)
      .def_readonly("evaluations", &FitResult::evaluations)
      .def_readonly("converged", &FitResult::converged)
      .def_property_readonly("status", [](const FitResult& r) { return std::string(to_string(r.status)); })
      .def("__repr__", [](const FitResult& r) {
        return "<FitResult " + std::string(to_string(r.status)) + ", cost " + std::to_string(r.cost) + ", " +
               std::to_string(r.iterations) + " iterations>";
      });

  py::class_<ClosedFormFit>(m, "ClosedFormFit", "A multi-start fit: the best start's FitResult and the start counts.")
      .def_readonly("best", &ClosedFormFit::best)
      .def_readonly("starts", &ClosedFormFit::starts)
      .def_readonly("starts_converged", &ClosedFormFit::starts_converged)
      .def_readonly("best_start", &ClosedFormFit::best_start, "which start best came from (0: the unshifted one)")
      .def("__repr__", [](const ClosedFormFit& f) {
        return "<ClosedFormFit " + std::string(to_string(f.best.status)) + ", " + std::to_string(f.starts_converged) +
               "/" + std::to_string(f.starts) + " starts converged>";
      });

  py::class_<BootstrapResult>(m, "BootstrapResult", "The refits of a bootstrap, one entry per replicate.")
      .def_readonly("replicates", &BootstrapResult::replicates)
      .def_property_readonly("params",
                             [](const BootstrapResult& b) {
                               py::array_t<double> a({static_cast<py::ssize_t>(b.replicates),
                                                      static_cast<py::ssize_t>(b.n_params)});
                               std::copy(b.params.begin(), b.params.end(), a.mutable_data());
                               return a;
                             },
                             "(replicates, n_params); NaN rows where a resample had too few measurements.")
      .def_property_readonly("converged",
                             [](const BootstrapResult& b) {
                               py::array_t<bool> a(static_cast<py::ssize_t>(b.replicates));
                               for (std::size_t i = 0; i < b.replicates; ++i) a.mutable_data()[i] = b.converged[i] != 0;
                               return a;
                             })
      .def_property_readonly("costs",
                             [](const BootstrapResult& b) { return values(b.costs.data(), b.costs.size()); });

  py::class_<Evaluation>(m, "Evaluation",
                         "What evaluate returns: out0 and out1 always; out2 with aux=True; jacobian0 and jacobian1 "
                         "with jacobian=True (reading one not asked for raises ValueError).")
      .def_readonly("out0", &Evaluation::out0, "First output (output_names[0]).")
      .def_property_readonly("out1", [](const Evaluation& e) -> const py::array& {
        if (e.summed) throw std::invalid_argument("Evaluation.out1: evaluate(..., sum=True) added it into out0");
        return e.out1;
      }, "Second output (output_names[1]).")
      .def_property_readonly(
          "out2", [](const Evaluation& e) { return evaluation_part(e.out2, e.has_aux, "out2", "aux"); },
          "Auxiliary output (output_names[2], energy: the implied step time); needs aux=True.")
      .def_property_readonly(
          "jacobian0",
          [](const Evaluation& e) { return evaluation_part(e.jacobian0, e.has_jacobian, "jacobian0", "jacobian"); },
          "d out0 / d params, (rows, n_params); needs jacobian=True.")
      .def_property_readonly(
          "jacobian1",
          [](const Evaluation& e) { return evaluation_part(e.jacobian1, e.has_jacobian, "jacobian1", "jacobian"); },
          "d out1 / d params, (rows, n_params); needs jacobian=True.")
      .def_readonly("has_aux", &Evaluation::has_aux)
      .def_readonly("has_jacobian", &Evaluation::has_jacobian)
      .def_property_readonly("output_names",
                             [](const Evaluation& e) { return names(e.descriptor->output_names, 3); })
      .def("__repr__", [](const Evaluation& e) {
        return "<Evaluation " + std::string(e.descriptor->id) + ", " + std::to_string(e.out0.shape(0)) + " rows" +
               (e.has_aux ? ", aux" : "") + (e.has_jacobian ? ", jacobian" : "") + ">";
      });
}

}  // namespace

void bind_model(py::module_& m) {
  bind_types(m);

  m.def("describe_template", [](const std::string& name) -> const TemplateDescriptor& {
          return describe(template_id(name));
        },
        py::return_value_policy::reference, py::arg("template"),
        "The TemplateDescriptor of 'energy' or 'latency': feature and parameter names, units, meanings, bounds "
        "and start point.");

  m.def(
      "evaluate",
      [](const std::string& name, const std::vector<py::array>& columns, const Array<double>& params,
         bool jacobian, const std::string& dtype, bool aux, const py::object& out,
         const py::object& domain, bool sum) -> Evaluation {
        const TemplateId id = template_id(name);
        if (jacobian && aux) throw std::invalid_argument("evaluate: ask for jacobian or aux, not both");
        if (dtype == "float64") return evaluate_host<double>(id, columns, params, jacobian, aux, out, domain, sum);
        if (dtype == "float32") return evaluate_host<float>(id, columns, params, jacobian, aux, out, domain, sum);
        throw std::invalid_argument("dtype must be 'float64' or 'float32', got '" + dtype + "'");
      },
      py::arg("template"), py::arg("columns"), py::arg("params"), py::arg("jacobian") = false,
      py::arg("dtype") = "float64", py::arg("aux") = false, py::arg("out") = py::none(),
      py::arg("domain") = py::none(), py::arg("sum") = false,
      "Evaluate a template on feature columns (in the template's feature order; a column of one value, "
      "or a 0-d array, is used for every row). Returns an Evaluation: out0 and out1 (written into `out`, a "
      "pair of preallocated arrays, when given: no allocation per call), out2 (the auxiliary output, energy: "
      "implied step time) with aux=True, jacobian0 and jacobian1 ((rows, n_params)) with jacobian=True. "
      "domain: one lower bound per feature (float64); every value must be finite and >= its bound, checked "
      "in the same pass (ValueError if one is not; the outputs are then meaningless). sum=True: out0 holds "
      "out0 + out1 (added chunk by chunk in cache; no out1 array, no second pass).");

  m.def(
      "evaluate_replicates",
      [](const std::string& name, const std::vector<py::array>& columns, const py::array& params) {
        return evaluate_replicates_host(template_id(name), columns, params);
      },
      py::arg("template"), py::arg("columns"), py::arg("params"),
      "Evaluate a template (float64, plain) at each row of `params`, a (replicates, n_params) matrix (a "
      "bootstrap's refits), in one call: returns (out0, out1), each (replicates, rows); row b equals "
      "evaluate(template, columns, params[b]) bit for bit, at any thread count. Columns as evaluate's.");

  py::class_<IntervalBounds>(m, "IntervalBounds",
                             "What interval_bounds returns: bounds (one (lo, hi) pair per output) and, with above= "
                             "and below=, the rows' extrapolation tally (range_count, range_high, range_low, "
                             "range_flagged, as RowPrediction's).")
      .def_readonly("bounds", &IntervalBounds::bounds)
      .def_property_readonly("range_count", [](const IntervalBounds& r) { return r.checked().count; })
      .def_property_readonly("range_high", [](const IntervalBounds& r) { return r.checked().high; })
      .def_property_readonly("range_low", [](const IntervalBounds& r) { return r.checked().low; })
      .def_property_readonly("range_flagged", [](const IntervalBounds& r) { return r.checked().flagged; });

  m.def(
      "interval_bounds",
      [](const std::string& name, const std::vector<py::array>& columns, const py::array& params,
         const std::vector<py::array>& factors, const std::vector<int>& outputs, std::uint64_t seed, double q_lo,
         double q_hi, const py::object& above, const py::object& below) {
        return interval_bounds_host(template_id(name), columns, params, factors, outputs, seed, q_lo, q_hi, above,
                                    below);
      },
      py::arg("template"), py::arg("columns"), py::arg("params"), py::arg("factors"), py::arg("outputs"),
      py::kw_only(), py::arg("seed"), py::arg("q_lo"), py::arg("q_hi"),
      py::arg("above") = py::none(), py::arg("below") = py::none(),
      "Prediction-interval quantiles per row (energylens.model.intervals): for each output (0: out0, 1: out1, "
      "-1: out0 + out1) and its sorted measurement factors, the template at every row of `params` "
      "((replicates, n_params)) times one factor drawn per (replicate, row) from a hash of "
      "(seed, replicate, row_keys(columns)[row]: the row's feature values, not its position), and np.quantile(..., [q_lo, q_hi], method='linear') of those values per row, "
      "bit for bit. Returns an IntervalBounds: one (lo, hi) pair of arrays per output in .bounds; with above= and "
      "below= (one threshold per feature, +inf / -inf unchecked) also the rows' extrapolation tally, counted in "
      "the same pass.");

  m.def(
      "row_keys",
      [](const std::vector<py::array>& columns) {
        std::vector<Array<double>> keep;
        std::vector<const double*> ptrs;
        std::vector<std::uint8_t> one;
        std::size_t rows = 1;
        for (std::size_t k = 0; k < columns.size(); ++k) {
          keep.push_back(Array<double>::ensure(columns[k]));
          if (!keep.back() || keep.back().ndim() != 1)
            throw std::invalid_argument("row_keys: column " + std::to_string(k) + " must be a 1-D numeric array");
          if (keep.back().size() != 1) rows = static_cast<std::size_t>(keep.back().size());
        }
        for (std::size_t k = 0; k < columns.size(); ++k) {
          const auto n = static_cast<std::size_t>(keep[k].size());
          if (n != rows && n != 1)
            throw std::invalid_argument("row_keys: column " + std::to_string(k) + " has " + std::to_string(n) +
                                        " rows, another " + std::to_string(rows) + " (or one value for every row)");
          ptrs.push_back(keep[k].data());
          one.push_back(n == 1 && rows != 1 ? 1 : 0);
        }
        if (columns.empty()) rows = 0;
        py::array_t<std::uint64_t> out(static_cast<py::ssize_t>(rows));
        std::uint64_t* keys = out.mutable_data();
        {
          const ReleaseGilIfLong release(rows * columns.size());
          row_keys(ptrs.data(), ptrs.size(), one.data(), rows, keys);
        }
        return out;
      },
      py::arg("columns"),
      "The draw key of each row of `columns` (1-D float64 arrays of one length, or one value for every row): a "
      "splitmix64 chain over the row's values (energylens.model.intervals.row_keys), so equal rows get equal "
      "keys and the interval draws of a row depend on its values, not its position; a uint64 array.");

  m.def(
      "draw_indices",
      [](std::uint64_t seed, std::size_t replicates, const py::array_t<std::uint64_t, py::array::c_style |
                                                                      py::array::forcecast>& keys, std::size_t n) {
        if (keys.ndim() != 1) throw std::invalid_argument("draw_indices: keys must be a 1-D array of row keys");
        const auto rows = static_cast<std::size_t>(keys.shape(0));
        py::array_t<std::int64_t> out({static_cast<py::ssize_t>(replicates), static_cast<py::ssize_t>(rows)});
        std::int64_t* indices = out.mutable_data();
        const std::uint64_t* k = keys.data();
        {
          const ReleaseGilIfLong release(rows * replicates);
          draw_indices(seed, replicates, k, rows, n, indices);
        }
        return out;
      },
      py::arg("seed"), py::arg("replicates"), py::arg("keys"), py::arg("n"),
      "The residual drawn for each replicate b and row i of key keys[i] (row_keys; energylens.model.intervals."
      "draw_indices): a (replicates, len(keys)) int64 array of indices in [0, n) (0 when n is 0), from the "
      "splitmix64 hash of (seed, b, keys[i]), bit for bit the NumPy definition; seed below 2**63.");

  m.def(
      "drawn_quantiles",
      [](const py::array& values_in, const py::array& factors_in,
         const py::array_t<std::uint64_t, py::array::c_style | py::array::forcecast>& keys, std::uint64_t seed,
         double q_lo, double q_hi) {
        const auto values = Array<double>::ensure(values_in);
        if (!values || values.ndim() != 2)
          throw std::invalid_argument("drawn_quantiles: values must be a numeric (replicates, rows) array");
        const auto factors = Array<double>::ensure(factors_in);
        if (!factors || factors.ndim() != 1)
          throw std::invalid_argument("drawn_quantiles: factors must be a 1-D numeric array");
        const auto replicates = static_cast<std::size_t>(values.shape(0));
        const auto rows = static_cast<std::size_t>(values.shape(1));
        if (keys.ndim() != 1 || static_cast<std::size_t>(keys.shape(0)) != rows)
          throw std::invalid_argument("drawn_quantiles: keys must be a 1-D array of one row key per column of "
                                      "values (" + std::to_string(rows) + ")");
        const std::uint64_t* k = keys.data();
        py::array_t<double> lo(static_cast<py::ssize_t>(rows)), hi(static_cast<py::ssize_t>(rows));
        double* lo_out = lo.mutable_data();
        double* hi_out = hi.mutable_data();
        {
          const ReleaseGilIfLong release(rows * replicates);
          drawn_quantiles(values.data(), replicates, rows,
                          {factors.data(), static_cast<std::size_t>(factors.size())}, seed, k, q_lo, q_hi, lo_out,
                          hi_out);
        }
        return py::make_tuple(lo, hi);
      },
      py::arg("values"), py::arg("factors"), py::kw_only(), py::arg("keys"), py::arg("seed"), py::arg("q_lo"),
      py::arg("q_hi"),
      "Per row i of `values` ((replicates, rows): a bootstrap's predictions): np.quantile(values * "
      "factors[draw_indices(seed, replicates, keys, len(factors))], [q_lo, q_hi], axis=0) "
      "(method='linear'), bit for bit, with no (replicates, rows) temporary (empty factors: the factor 1; NaN "
      "bounds where a row holds a NaN). Returns (lo, hi), two arrays of `rows`; seed below 2**63.");

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
         const py::object& start, const FitOptions& options) {
        const TemplateId id = template_id(name);
        FitInputs in = fit_inputs(id, columns, targets, start);
        return run_interruptible(static_cast<double>(in.rows), [&](const std::atomic<bool>* cancel) {
          FitOptions o = options;
          o.cancel = cancel;
          return fit(id, in.rows, in.columns.data(), in.targets, in.start, o);
        });
      },
      py::arg("template"), py::arg("columns"), py::arg("targets"), py::arg("start") = py::none(),
      py::arg("options") = FitOptions{},
      "Bounded Levenberg-Marquardt fit with the analytic Jacobian; returns a ClosedFormFit (options: a "
      "FitOptions). The GIL is released; Python's signal handlers run every 100 ms, so Ctrl-C stops it.");

  m.def(
      "bootstrap",
      [](const std::string& name, const std::vector<py::array>& columns, const std::vector<py::array>& targets,
         const py::object& start, int replicates, const FitOptions& options, const py::object& progress) {
        const TemplateId id = template_id(name);
        FitInputs in = fit_inputs(id, columns, targets, start);
        if (in.start.empty()) throw std::invalid_argument("bootstrap needs the start parameters (the full fit)");
        std::atomic<std::size_t> done{0};
        std::function<void()> tick;
        if (!progress.is_none()) tick = [&] { progress(done.load(), replicates); };
        const double row_fits = static_cast<double>(in.rows) * std::max(replicates, 1);
        BootstrapResult out = run_interruptible(row_fits, [&](const std::atomic<bool>* cancel) {
          FitOptions o = options;
          o.cancel = cancel;
          o.replicates_done = &done;
          return bootstrap(id, in.rows, in.columns.data(), in.targets, in.start, replicates, o);
        }, tick);
        if (tick) tick();  // the last call: every replicate done
        return out;
      },
      py::arg("template"), py::arg("columns"), py::arg("targets"), py::arg("start"), py::arg("replicates"),
      py::arg("options") = FitOptions{}, py::arg("progress") = py::none(),
      "Refit on `replicates` seeded resamples (rows with replacement) in parallel; returns a BootstrapResult. "
      "The GIL is released; Python's signal handlers run every 100 ms, so Ctrl-C stops it, and so does an "
      "exception of `progress(done, replicates)`, called then and once at the end.");
}

}  // namespace energylens::bindings
