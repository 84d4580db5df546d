// Bindings of the expression engine (energylens/expression.hpp): a compiled program as a typed class,
// its vectorised evaluation with the Jacobian, and the native constant fit and bootstrap. Columns are
// checked here (1-D, float64, equal length or one value); the GIL is released around all native work;
// returned arrays own their memory. Unknown option names raise TypeError naming the key.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "bindings.hpp"
#include "energylens/expression.hpp"
#include "energylens/expression_kernel.hpp"
#include "energylens/expression_plan.hpp"

namespace py = pybind11;

namespace energylens::bindings {
namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

struct Columns {
  std::size_t rows = 0;
  std::uint64_t broadcast = 0;
  std::vector<py::object> keep;  // a reference to every column (or its converted copy) while the GIL is released
  std::vector<const double*> ptrs;
};

// The data of a float64 array that is C-contiguous, aligned, in native byte order and at most 1-D, read
// from the array's header without making any Python object: the columns of most calls. Null otherwise.
// (An array_t per column, as before, cost ~0.2 us a column: with 22 columns a third of a 1000-row call.)
const double* plain_float64(PyObject* o, std::size_t& length, int& ndim) {
  const auto& api = py::detail::npy_api::get();
  if (!api.PyArray_Check_(o)) return nullptr;
  const auto* a = py::detail::array_proxy(o);
  const auto* d = py::detail::array_descriptor_proxy(a->descr);
  constexpr int need = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ | py::detail::npy_api::NPY_ARRAY_ALIGNED_;
  if (d->type_num != py::detail::npy_api::NPY_DOUBLE_ || d->byteorder == '>' || (a->flags & need) != need ||
      a->nd > 1)
    return nullptr;
  ndim = a->nd;
  length = a->nd == 0 ? 1 : static_cast<std::size_t>(a->dimensions[0]);
  return reinterpret_cast<const double*>(a->data);
}

// The program's columns from a sequence (list, tuple, 2-D array: its rows); with `allow_broadcast` a
// column of one value (or 0-d) stands for every row. Float64 C-contiguous arrays are used as they are;
// anything else numeric is converted (forcecast); the rest is an error naming the column.
Columns columns_of(const ExpressionProgram& p, const py::object& columns, bool allow_broadcast) {
  if (py::isinstance<py::str>(columns) || !PySequence_Check(columns.ptr()))
    throw py::type_error("columns must be a sequence of 1-D arrays (one per feature column)");
  const py::object seq = py::reinterpret_steal<py::object>(PySequence_Fast(columns.ptr(), "columns must be a sequence"));
  if (!seq) throw py::error_already_set();
  const auto n = static_cast<std::size_t>(PySequence_Fast_GET_SIZE(seq.ptr()));
  if (n != p.n_features())
    throw std::invalid_argument("the expression reads " + std::to_string(p.n_features()) + " feature columns, got " +
                                std::to_string(n));
  PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
  Columns c;
  c.ptrs.resize(n);
  c.keep.reserve(n);  // (another thread may change the caller's list while the work runs without the GIL)
  std::vector<std::size_t> lengths(n);
  for (std::size_t k = 0; k < n; ++k) {
    int ndim = 1;
    const double* data = plain_float64(items[k], lengths[k], ndim);
    if (data != nullptr) {
      c.keep.push_back(py::reinterpret_borrow<py::object>(items[k]));
    } else {
      Array a = Array::ensure(items[k]);
      if (!a) {
        PyErr_Clear();
        throw std::invalid_argument("column " + std::to_string(k) + " is not numeric");
      }
      ndim = static_cast<int>(a.ndim());
      lengths[k] = ndim == 0 ? 1 : static_cast<std::size_t>(a.shape(0));
      data = a.data();
      c.keep.push_back(std::move(a));
    }
    if (ndim > 1 || (ndim == 0 && !allow_broadcast))
      throw std::invalid_argument("column " + std::to_string(k) + " must be 1-D, got " + std::to_string(ndim) + "-D");
    c.ptrs[k] = data;
  }
  c.rows = lengths.empty() ? 0 : *std::max_element(lengths.begin(), lengths.end());
  for (std::size_t k = 0; k < lengths.size(); ++k) {
    if (lengths[k] == c.rows) continue;
    if (allow_broadcast && lengths[k] == 1) {
      c.broadcast |= std::uint64_t{1} << k;
      continue;
    }
    throw std::invalid_argument("column " + std::to_string(k) + " has " + std::to_string(lengths[k]) +
                                " rows, another has " + std::to_string(c.rows));
  }
  return c;
}

std::vector<double> vector_of(const Array& a, std::size_t n, const char* what) {
  if (a.ndim() != 1 || static_cast<std::size_t>(a.shape(0)) != n)
    throw std::invalid_argument(std::string(what) + " must be 1-D with " + std::to_string(n) + " values, got " +
                                std::to_string(a.size()));
  return {a.data(), a.data() + n};
}

// vector_of for an object: a plain float64 array is read as it is (no conversion call).
std::vector<double> vector_of(const py::object& o, std::size_t n, const char* what) {
  std::size_t length = 0;
  int ndim = 0;
  const double* data = plain_float64(o.ptr(), length, ndim);
  if (data != nullptr && ndim == 1 && length == n) return {data, data + n};
  return vector_of(o.cast<Array>(), n, what);
}

struct FitOptions {
  ExpressionResidual residual = ExpressionResidual::Log;
  LeastSquaresOptions ls;
  int n_starts = 1;
  double start_spread = 0.5;
  std::uint64_t seed = 0;
};

FitOptions fit_options(const py::dict& o) {
  FitOptions f;
  for (const auto& item : o) {
    const auto key = item.first.cast<std::string>();
    const py::handle v = item.second;
    if (key == "residual") {
      const auto s = v.cast<std::string>();
      if (s == "absolute") f.residual = ExpressionResidual::Absolute;
      else if (s == "relative") f.residual = ExpressionResidual::Relative;
      else if (s == "log") f.residual = ExpressionResidual::Log;
      else throw std::invalid_argument("residual must be 'absolute', 'relative' or 'log', got '" + s + "'");
    } else if (key == "loss") {
      const auto s = v.cast<std::string>();
      if (s == "linear") f.ls.loss = Loss::Linear;
      else if (s == "soft_l1") f.ls.loss = Loss::SoftL1;
      else if (s == "huber") f.ls.loss = Loss::Huber;
      else throw std::invalid_argument("loss must be 'linear', 'soft_l1' or 'huber', got '" + s + "'");
    } else if (key == "loss_scale") f.ls.loss_scale = v.cast<double>();
    else if (key == "max_iterations") f.ls.max_iterations = v.cast<int>();
    else if (key == "ftol") f.ls.ftol = v.cast<double>();
    else if (key == "xtol") f.ls.xtol = v.cast<double>();
    else if (key == "gtol") f.ls.gtol = v.cast<double>();
    else if (key == "initial_damping") f.ls.initial_damping = v.cast<double>();
    else if (key == "n_starts") f.n_starts = v.cast<int>();
    else if (key == "start_spread") f.start_spread = v.cast<double>();
    else if (key == "seed") f.seed = v.cast<std::uint64_t>();
    else
      throw py::type_error("unknown expression fit option '" + key +
                           "' (known: residual, loss, loss_scale, max_iterations, ftol, xtol, gtol, "
                           "initial_damping, n_starts, start_spread, seed)");
  }
  if (f.ls.max_iterations < 1) throw std::invalid_argument("max_iterations must be >= 1");
  validate(f.ls);
  return f;
}

struct Bounds {
  std::vector<double> start, lower, upper;
};

Bounds bounds_of(const ExpressionProgram& p, const Array& start, const py::object& lower, const py::object& upper) {
  const std::size_t n = p.n_params();
  Bounds b{vector_of(start, n, "start"), std::vector<double>(n, -std::numeric_limits<double>::infinity()),
           std::vector<double>(n, std::numeric_limits<double>::infinity())};
  if (!lower.is_none()) b.lower = vector_of(lower.cast<Array>(), n, "lower");
  if (!upper.is_none()) b.upper = vector_of(upper.cast<Array>(), n, "upper");
  return b;
}

std::string listing(const ExpressionProgram& p) {
  std::ostringstream s;
  for (const Instruction& in : p.code()) {
    s << to_string(in.op);
    if (in.op == OpCode::Feature || in.op == OpCode::Param || in.op == OpCode::PowInt ||
        in.op == OpCode::Store || in.op == OpCode::Load)
      s << ' ' << in.arg;
    if (in.op == OpCode::Literal) s << ' ' << in.value;
    s << '\n';
  }
  return s.str();
}

py::array_t<double> copy_out(const std::vector<double>& v) {
  return py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data());
}

}  // namespace

void bind_expression(py::module_& m) {
  py::enum_<OpCode>(m, "OpCode", "Operations of the expression stack machine (energylens/expression.hpp).")
      .value("feature", OpCode::Feature).value("param", OpCode::Param).value("literal", OpCode::Literal)
      .value("add", OpCode::Add).value("sub", OpCode::Sub).value("mul", OpCode::Mul).value("div", OpCode::Div)
      .value("neg", OpCode::Neg).value("powi", OpCode::PowInt).value("pow", OpCode::Pow).value("exp", OpCode::Exp)
      .value("log", OpCode::Log).value("sqrt", OpCode::Sqrt).value("abs", OpCode::Abs).value("min", OpCode::Min)
      .value("max", OpCode::Max).value("tanh", OpCode::Tanh).value("store", OpCode::Store)
      .value("load", OpCode::Load);

  py::class_<ExpressionFitResult>(m, "ExpressionFit", "Outcome of a native constant fit (non-convergence is data).")
      .def_property_readonly("params", [](const ExpressionFitResult& r) { return copy_out(r.best.params); })
      .def_property_readonly("cost", [](const ExpressionFitResult& r) { return r.best.cost; })
      .def_property_readonly("iterations", [](const ExpressionFitResult& r) { return r.best.iterations; })
      .def_property_readonly("evaluations", [](const ExpressionFitResult& r) { return r.best.evaluations; })
      .def_property_readonly("converged", [](const ExpressionFitResult& r) { return r.best.converged; })
      .def_property_readonly("status", [](const ExpressionFitResult& r) { return std::string(to_string(r.best.status)); })
      .def_property_readonly("starts", [](const ExpressionFitResult& r) { return r.starts; })
      .def_property_readonly("starts_converged", [](const ExpressionFitResult& r) { return r.starts_converged; })
      .def_property_readonly("best_start", [](const ExpressionFitResult& r) { return r.best_start; },
                             "which start the result came from (0: the start given, unshifted)");

  py::class_<ExpressionProgram>(m, "ExpressionProgram",
                                "A validated postfix program over feature columns and fitted constants.")
      .def(py::init([](const std::vector<std::tuple<int, int, double>>& code, std::size_t n_features,
                       std::size_t n_params) {
             std::vector<Instruction> ins;
             ins.reserve(code.size());
             for (const auto& [op, arg, value] : code) {
               if (op < 0 || op >= kOpCodeCount)
                 throw std::invalid_argument("instruction " + std::to_string(ins.size()) + " has unknown opcode " +
                                             std::to_string(op));
               ins.push_back({static_cast<OpCode>(op), static_cast<std::int32_t>(arg), value});
             }
             return ExpressionProgram(std::move(ins), n_features, n_params);
           }),
           py::arg("code"), py::arg("n_features"), py::arg("n_params"),
           "code: (opcode, arg, value) triples in postfix order.")
      .def_property_readonly("n_features", &ExpressionProgram::n_features)
      .def_property_readonly("n_params", &ExpressionProgram::n_params)
      .def_property_readonly("max_depth", &ExpressionProgram::max_depth)
      .def_property_readonly("n_registers", &ExpressionProgram::n_registers)
      .def_property_readonly("n_instructions", [](const ExpressionProgram& p) { return p.code().size(); })
      .def_property_readonly(
          "n_passes", [](const ExpressionProgram& p) { return p.plan().n_steps(); },
          "Passes over a block of rows the fused values-only plan makes (sums of products are one pass).")
      .def_property_readonly(
          "n_buffers", [](const ExpressionProgram& p) { return p.plan().n_buffers(); },
          "Block buffers the fused values-only plan uses.")
      .def_property_readonly(
          "plan_listing", [](const ExpressionProgram& p) { return p.plan().listing(); },
          "The fused values-only plan, one pass per line (c: column, b: buffer, s: scalar).")
      .def_property_readonly("listing", &listing, "One instruction per line, e.g. 'feature 3'.")
      .def(
          "evaluate",
          [](const ExpressionProgram& p, const py::object& columns, const py::object& params,
             bool jacobian) -> py::object {
            Columns c = columns_of(p, columns, true);
            const std::vector<double> theta = vector_of(params, p.n_params(), "params");
            const auto rows = static_cast<py::ssize_t>(c.rows);
            py::array_t<double> out(rows);
            double* o = out.mutable_data();
            if (!jacobian) {
              {
                py::gil_scoped_release release;
                p.evaluate(c.rows, c.ptrs.data(), theta.data(), o, nullptr, c.broadcast, true);
              }
              return out;  // with the GIL held: the return may touch the array's reference count
            }
            // Fortran order: element (i, j) at j * rows + i, the parameter-major layout of the core.
            py::array_t<double, py::array::f_style> jac({rows, static_cast<py::ssize_t>(p.n_params())});
            double* jp = jac.mutable_data();
            {
              py::gil_scoped_release release;
              p.evaluate(c.rows, c.ptrs.data(), theta.data(), o, jp, c.broadcast, true);
            }
            return py::make_tuple(out, jac);
          },
          py::arg("columns"), py::arg("params"), py::arg("jacobian") = false,
          "Values per row (and with jacobian=True also d value / d params, shape (rows, n_params)).")
      .def(
          "evaluate_kernel",
          [](const ExpressionProgram& p, const ExpressionKernel& k, const py::object& columns,
             const py::object& params) -> py::object {
            Columns c = columns_of(p, columns, true);
            const std::vector<double> theta = vector_of(params, p.n_params(), "params");
            py::array_t<double> out(static_cast<py::ssize_t>(c.rows));
            double* o = out.mutable_data();
            {
              py::gil_scoped_release release;
              k.evaluate(p, c.rows, c.ptrs.data(), theta.data(), o, c.broadcast, true);
            }
            return out;  // with the GIL held, as in evaluate
          },
          py::arg("kernel"), py::arg("columns"), py::arg("params"),
          "Values per row through a generated kernel loaded for this program (bits equal to evaluate()).")
      .def_property_readonly(
          "n_scalars", [](const ExpressionProgram& p) { return p.plan().n_scalars(); },
          "Scalars (constants and values computed from them only) the plan computes once per evaluation.")
      .def_property_readonly(
          "plan_fingerprint", [](const ExpressionProgram& p) { return p.plan().fingerprint(); },
          "FNV-1a 64 of plan_listing: a generated kernel carries it and is refused for any other plan.")
      .def_property_readonly(
          "plan_literal_scalars", [](const ExpressionProgram& p) { return p.plan().literal_scalars(); },
          "The plan's scalars that are fixed numbers (not fitted), as (scalar index, value).")
      .def_property_readonly(
          "plan_steps", [](const ExpressionProgram& p) { return p.plan().steps(); },
          "The plan's steps in order (PlanStep), for the kernel generator (energylens.model.kernel_source).")
      .def_property_readonly(
          "plan_terms",
          [](const ExpressionProgram& p) {
            std::vector<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t>> t;
            for (const auto& v : p.plan().terms()) t.emplace_back(v.coef, v.begin, v.n_num, v.n_den);
            return t;
          },
          "The Sum steps' terms as (coef scalar, first factor, numerator factors, denominator factors).")
      .def_property_readonly(
          "plan_factors",
          [](const ExpressionProgram& p) {
            std::vector<std::tuple<std::uint32_t, std::uint32_t>> f;
            for (const auto& v : p.plan().factors()) f.emplace_back(v.slot, v.power);
            return f;
          },
          "The terms' factors as (slot, power 1..4); slot < n_features: a column, else a buffer or the output.");

  using Step = ValuePlan::Step;
  py::class_<Step>(m, "PlanStep", "One step of the fused values-only plan (energylens/expression_plan.hpp).")
      .def_property_readonly("kind", [](const Step& s) {
        switch (s.kind) {
          case ValuePlan::StepKind::Sum: return "sum";
          case ValuePlan::StepKind::Unary: return "unary";
          case ValuePlan::StepKind::Binary: return "binary";
          default: return "fill";
        }
      }, "'sum', 'unary', 'binary' or 'fill'.")
      .def_property_readonly("op", [](const Step& s) { return s.op; }, "Unary / Binary: the opcode.")
      .def_property_readonly("arg", [](const Step& s) { return s.arg; }, "Unary powi: the exponent.")
      .def_property_readonly("dst", [](const Step& s) { return s.dst; }, "Slot written.")
      .def_property_readonly("a", [](const Step& s) { return s.a; }, "First operand: slot, or scalar index.")
      .def_property_readonly("b", [](const Step& s) { return s.b; }, "Second operand: slot, or scalar index.")
      .def_property_readonly("a_scalar", [](const Step& s) { return s.a_scalar; }, "a is a scalar index.")
      .def_property_readonly("b_scalar", [](const Step& s) { return s.b_scalar; }, "b is a scalar index.")
      .def_property_readonly("addend", [](const Step& s) { return s.addend; }, "Sum: the constant part's scalar.")
      .def_property_readonly("term_begin", [](const Step& s) { return s.term_begin; }, "Sum: first term.")
      .def_property_readonly("term_end", [](const Step& s) { return s.term_end; }, "Sum: one past the last term.")
      .def_property_readonly(
          "post", [](const Step& s) -> py::object { return s.post == OpCode::Literal ? py::none() : py::cast(s.post); },
          "Sum: exp, log or sqrt applied to the result, or None.");

  py::class_<ExpressionKernel>(m, "ExpressionKernel",
                               "A generated kernel (shared library) loaded and checked against one program.")
      .def(py::init<const std::string&, const ExpressionProgram&>(), py::arg("path"), py::arg("program"),
           "Loads the library; EnergyLensError naming the path when it does not load or was made for another plan.")
      .def_property_readonly("path", &ExpressionKernel::path)
      .def_property_readonly("fingerprint", &ExpressionKernel::fingerprint);
  m.attr("EXPRESSION_KERNEL_ABI") = kExpressionKernelAbi;

  m.def(
      "fit_expression",
      [](const ExpressionProgram& p, const py::object& columns, const Array& target, const Array& start,
         const py::object& lower, const py::object& upper, const py::dict& options) {
        Columns c = columns_of(p, columns, false);
        const std::vector<double> y = vector_of(target, c.rows, "target");
        const Bounds b = bounds_of(p, start, lower, upper);
        const FitOptions o = fit_options(options);
        // As the bootstrap: a long fit (1e6 rows: seconds per start) on a worker thread, Python's signal
        // handlers every 100 ms, so Ctrl-C / SIGTERM stop it at its next residual evaluation; a short one
        // on this thread, GIL released, as before.
        const double row_fits = static_cast<double>(c.rows) * std::max(o.n_starts, 1);
        return run_interruptible(row_fits, [&](const std::atomic<bool>* cancel) {
          return fit_expression(p, c.rows, c.ptrs.data(), y, o.residual, b.start, b.lower, b.upper, o.ls,
                                o.n_starts, o.start_spread, o.seed, cancel);
        });
      },
      py::arg("program"), py::arg("columns"), py::arg("target"), py::arg("start"), py::arg("lower") = py::none(),
      py::arg("upper") = py::none(), py::arg("options") = py::dict(),
      "Bounded Levenberg-Marquardt fit of the constants with forward-mode derivatives (options: residual, loss, "
      "loss_scale, max_iterations, ftol, xtol, gtol, initial_damping, n_starts, start_spread, seed). The GIL is "
      "released; from 50,000 rows x starts Python's signal handlers run every 100 ms, so Ctrl-C stops it.");

  m.def(
      "bootstrap_expression",
      [](const ExpressionProgram& p, const py::object& columns, const Array& target, const Array& start,
         const py::object& lower, const py::object& upper, int replicates, const py::dict& options,
         const py::object& progress) {
        Columns c = columns_of(p, columns, false);
        const std::vector<double> y = vector_of(target, c.rows, "target");
        const Bounds b = bounds_of(p, start, lower, upper);
        const FitOptions o = fit_options(options);
        std::vector<std::uint8_t> conv;
        std::atomic<std::size_t> done{0};
        std::function<void()> tick;
        if (!progress.is_none()) tick = [&] { progress(done.load(), replicates); };
        // As the closed-form bootstrap: long work on a worker thread, Python's signal handlers every 100 ms.
        const double row_fits = static_cast<double>(c.rows) * std::max(replicates, 1);
        const std::vector<double> params = run_interruptible(row_fits, [&](const std::atomic<bool>* cancel) {
          return bootstrap_expression(p, c.rows, c.ptrs.data(), y, o.residual, b.start, b.lower, b.upper, o.ls,
                                      replicates, o.seed, conv, cancel, &done);
        }, tick);
        if (tick) tick();  // the last call: every replicate done
        const auto reps = static_cast<py::ssize_t>(conv.size());
        py::array_t<double> out({reps, static_cast<py::ssize_t>(p.n_params())});
        std::copy(params.begin(), params.end(), out.mutable_data());
        py::array_t<bool> ok(reps);
        for (py::ssize_t i = 0; i < reps; ++i) ok.mutable_data()[i] = conv[static_cast<std::size_t>(i)] != 0;
        return py::make_tuple(out, ok);
      },
      py::arg("program"), py::arg("columns"), py::arg("target"), py::arg("start"), py::arg("lower") = py::none(),
      py::arg("upper") = py::none(), py::arg("replicates") = 200, py::arg("options") = py::dict(),
      py::arg("progress") = py::none(),
      "Refits on rows drawn with replacement, in parallel over replicates: (params (B, P), converged (B,)). "
      "The GIL is released; Python's signal handlers run every 100 ms, so Ctrl-C stops it, and so does an "
      "exception of `progress(done, replicates)`, called then and once at the end.");
}

}  // namespace energylens::bindings
