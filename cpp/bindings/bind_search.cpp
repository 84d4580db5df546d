// Bindings of the configuration search (search.hpp): the space comes as arrays (combos x fields, the
// axes, workload points), options as a dict whose unknown keys raise TypeError; the GIL is released
// while the engine runs (a progress callback re-acquires it); results are typed classes whose array
// properties own their memory.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "energylens/latency_template.hpp"
#include "energylens/search.hpp"

namespace py = pybind11;

namespace energylens::bindings {
namespace {

using search::Candidate;

template <typename T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

// Candidates as columns: each property returns a new array (owning its memory).
struct CandidateSet {
  std::vector<Candidate> items;
};

template <typename T, typename Get>
py::array_t<T> column(const CandidateSet& s, Get get) {
  py::array_t<T> out(static_cast<py::ssize_t>(s.items.size()));
  T* p = out.mutable_data();
  for (std::size_t i = 0; i < s.items.size(); ++i) p[i] = static_cast<T>(get(s.items[i]));
  return out;
}

std::vector<double> vector_of(const Array<double>& a, const char* name) {
  if (a.ndim() != 1) throw std::invalid_argument(std::string("search: '") + name + "' must be 1-D");
  return {a.data(), a.data() + a.size()};
}

std::vector<int> int_axis(const Array<double>& a, const char* name) {
  std::vector<int> out;
  for (double v : vector_of(a, name)) {
    if (!(v >= 1) || v != std::floor(v) || v > 1e6)
      throw std::invalid_argument(std::string("search: axis '") + name + "' holds " + std::to_string(v) +
                                  "; it takes whole numbers >= 1");
    out.push_back(static_cast<int>(v));
  }
  return out;
}

search::Space make_space(const Array<double>& combos, const Array<double>& tp, const Array<double>& pp,
                         const Array<double>& dp, const Array<double>& ep, const Array<double>& max_num_seqs,
                         const Array<double>& workloads, const py::object& prefill_extra,
                         const py::object& workload_weights) {
  search::Space s;
  if (combos.ndim() != 2 || combos.shape(1) != static_cast<py::ssize_t>(search::kNumComboFields))
    throw std::invalid_argument("search: combos must be (n, " + std::to_string(search::kNumComboFields) +
                                ") in search_combo_fields() order");
  s.combos.resize(static_cast<std::size_t>(combos.shape(0)));
  for (std::size_t c = 0; c < s.combos.size(); ++c)
    for (std::size_t k = 0; k < search::kNumComboFields; ++k)
      s.combos[c].v[k] = combos.at(static_cast<py::ssize_t>(c), static_cast<py::ssize_t>(k));
  s.tp = int_axis(tp, "tp");
  s.pp = int_axis(pp, "pp");
  s.dp = int_axis(dp, "dp");
  s.ep = int_axis(ep, "ep");
  s.max_num_seqs = vector_of(max_num_seqs, "max_num_seqs");
  if (workloads.ndim() != 2 || workloads.shape(1) != 2)
    throw std::invalid_argument("search: workloads must be (n, 2): input_tokens, output_tokens");
  for (py::ssize_t i = 0; i < workloads.shape(0); ++i) s.workloads.push_back({workloads.at(i, 0), workloads.at(i, 1)});
  if (!prefill_extra.is_none()) {
    auto a = Array<double>::ensure(prefill_extra);
    if (!a) throw std::invalid_argument("search: prefill_extra_flops is not numeric");
    s.prefill_extra_flops.assign(a.data(), a.data() + a.size());
  }
  if (!workload_weights.is_none()) {
    auto a = Array<double>::ensure(workload_weights);
    if (!a) throw std::invalid_argument("search: workload_weights is not numeric");
    s.workload_weights = vector_of(a, "workload_weights");
  }
  return s;
}

search::Options make_options(const py::dict& d) {
  search::Options o;
  for (auto item : d) {
    const auto key = item.first.cast<std::string>();
    const py::handle v = item.second;
    if (key == "gpu_memory_utilization") o.gpu_memory_utilization = v.cast<double>();
    else if (key == "runtime_reserve_bytes") o.runtime_reserve_bytes = v.cast<double>();
    else if (key == "nvls_reserve_bytes_per_gpu") o.nvls_reserve_bytes_per_gpu = v.cast<double>();
    else if (key == "activation_tokens") o.activation_tokens = v.cast<double>();
    else if (key == "activation_bytes_per_token_dmodel") o.activation_bytes_per_token_dmodel = v.cast<double>();
    else if (key == "node_size") o.node_size = v.cast<int>();
    else if (key == "ttft_limit_s") o.ttft_limit_s = v.cast<double>();
    else if (key == "tpot_limit_s") o.tpot_limit_s = v.cast<double>();
    else if (key == "rate_per_s") o.rate_per_s = v.cast<double>();
    else if (key == "max_utilization") o.max_utilization = v.cast<double>();
    else if (key == "per_token") o.per_token = v.cast<bool>();
    else if (key == "carbon_g_per_kwh") o.carbon_g_per_kwh = v.cast<double>();
    else if (key == "top_k") o.top_k = v.cast<std::size_t>();
    else if (key == "threads") o.threads = v.cast<int>();
    else if (key == "bisection_iterations") o.bisection_iterations = v.cast<int>();
    else if (key == "pareto") o.pareto = v.cast<bool>();
    else if (key == "device_front_points") o.device_front_points = v.cast<std::size_t>();
    else if (key == "objective") {
      const auto s = v.cast<std::string>();
      if (s == "energy") o.objective = search::Objective::Energy;
      else if (s == "carbon") o.objective = search::Objective::Carbon;
      else if (s == "cost") o.objective = search::Objective::Cost;
      else throw std::invalid_argument("search: objective must be 'energy', 'carbon' or 'cost', got '" + s + "'");
    } else {
      throw py::type_error("search: unknown option '" + key + "'");
    }
  }
  return o;
}

std::vector<double> params_of(const Array<double>& a, const char* which) { return vector_of(a, which); }

}  // namespace

void bind_search(py::module_& m) {
  py::class_<CandidateSet>(m, "SearchCandidates", "Candidates of a search as columns (arrays own their memory).")
      .def("__len__", [](const CandidateSet& s) { return s.items.size(); })
      .def_property_readonly("index", [](const CandidateSet& s) { return column<std::uint64_t>(s, [](const Candidate& c) { return c.index; }); })
      .def_property_readonly("objective", [](const CandidateSet& s) { return column<double>(s, [](const Candidate& c) { return c.objective; }); })
      .def_property_readonly("energy_j", [](const CandidateSet& s) { return column<double>(s, [](const Candidate& c) { return c.energy_j; }); })
      .def_property_readonly("prefill_j", [](const CandidateSet& s) { return column<double>(s, [](const Candidate& c) { return c.prefill_j; }); })
      .def_property_readonly("decode_j", [](const CandidateSet& s) { return column<double>(s, [](const Candidate& c) { return c.decode_j; }); })
      .def_property_readonly("idle_j", [](const CandidateSet& s) { return column<double>(s, [](const Candidate& c) { return c.idle_j; }); })
      .def_property_readonly("static_j", [](const CandidateSet& s) { return column<double>(s, [](const Candidate& c) { return c.static_j; }); })
      .def_property_readonly("ttft_s", [](const CandidateSet& s) { return column<double>(s, [](const Candidate& c) { return c.ttft_s; }); })
      .def_property_readonly("tpot_s", [](const CandidateSet& s) { return column<double>(s, [](const Candidate& c) { return c.tpot_s; }); })
      .def_property_readonly("batch", [](const CandidateSet& s) { return column<double>(s, [](const Candidate& c) { return c.batch; }); })
      .def_property_readonly("replicas", [](const CandidateSet& s) { return column<double>(s, [](const Candidate& c) { return c.replicas; }); })
      .def_property_readonly("gpus", [](const CandidateSet& s) { return column<double>(s, [](const Candidate& c) { return c.gpus; }); })
      .def_property_readonly("gpu_s_per_request", [](const CandidateSet& s) { return column<double>(s, [](const Candidate& c) { return c.gpu_s_per_request; }); })
      .def_property_readonly("memory_bytes", [](const CandidateSet& s) { return column<double>(s, [](const Candidate& c) { return c.memory_bytes; }); })
      .def_property_readonly("reason", [](const CandidateSet& s) { return column<std::int32_t>(s, [](const Candidate& c) { return c.reason; }); });

  py::class_<search::Result>(m, "SearchOutcome", "What the native search kept: top-k, Pareto fronts, rejections.")
      .def_property_readonly("top", [](const search::Result& r) { return CandidateSet{r.top}; })
      .def_property_readonly("front_tpot", [](const search::Result& r) { return CandidateSet{r.front_tpot}; })
      .def_property_readonly("front_ttft", [](const search::Result& r) { return CandidateSet{r.front_ttft}; })
      .def_property_readonly("rejected", [](const search::Result& r) {
        py::array_t<std::uint64_t> out(static_cast<py::ssize_t>(search::kNumReasons));
        for (std::size_t k = 0; k < search::kNumReasons; ++k) out.mutable_data()[k] = r.rejected[k];
        return out;
      })
      .def_property_readonly("candidates", [](const search::Result& r) { return r.candidates; })
      .def_property_readonly("feasible", [](const search::Result& r) { return r.feasible; })
      .def_property_readonly("threads", [](const search::Result& r) { return r.threads; });

  m.def("search_reason_names", [] {
    py::tuple t(search::kNumReasons);
    for (std::size_t k = 0; k < search::kNumReasons; ++k)
      t[k] = search::reason_name(static_cast<search::Reason>(k));
    return t;
  }, "Names of the rejection reasons, in SearchOutcome.rejected order.");
  m.def("search_combo_fields", [] {
    py::tuple t(static_cast<std::size_t>(search::kNumComboFields));
    for (std::size_t k = 0; k < search::kNumComboFields; ++k) t[k] = search::combo_field_name(k);
    return t;
  }, "Column order of the combos array.");

  m.def(
      "search_run",
      [](const Array<double>& combos, const Array<double>& tp, const Array<double>& pp, const Array<double>& dp,
         const Array<double>& ep, const Array<double>& max_num_seqs, const Array<double>& workloads,
         const py::object& prefill_extra, const py::object& workload_weights, const Array<double>& energy_params, const Array<double>& latency_params,
         const py::dict& options, const py::object& progress, const py::object& indices) {
        const search::Space space = make_space(combos, tp, pp, dp, ep, max_num_seqs, workloads, prefill_extra, workload_weights);
        const search::Options opts = make_options(options);
        const std::vector<double> pe = params_of(energy_params, "energy_params");
        const std::vector<double> pl = params_of(latency_params, "latency_params");
        // The engine calls this from the calling thread about twice a second, inside its parallel loop: a
        // Python exception must not escape there (std::terminate). It is kept, the engine told to stop, and
        // raised here once the loop has ended. Signals are checked on every call, with or without a
        // progress callable, so Ctrl-C (KeyboardInterrupt) and SIGTERM's handler stop a long search.
        std::exception_ptr raised;
        const search::Progress cb = [&progress, &raised](std::uint64_t done, std::uint64_t total) {
          py::gil_scoped_acquire gil;
          try {
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();
            if (!progress.is_none()) progress(done, total);
            return true;
          } catch (...) {
            raised = std::current_exception();
            return false;
          }
        };
        if (!indices.is_none()) {
          const auto a = py::array_t<std::uint64_t, py::array::c_style | py::array::forcecast>::ensure(indices);
          if (!a || a.ndim() != 1) throw std::invalid_argument("search: indices must be a 1-D array of candidate indices");
          const std::vector<std::uint64_t> idx(a.data(), a.data() + a.size());
          py::gil_scoped_release release;
          return search::run_subset(space, opts, idx, pe, pl);
        }
        search::Result result;
        {
          py::gil_scoped_release release;
          result = search::run(space, opts, pe, pl, cb);
        }
        if (raised) std::rethrow_exception(raised);
        return result;
      },
      py::arg("combos"), py::arg("tp"), py::arg("pp"), py::arg("dp"), py::arg("ep"), py::arg("max_num_seqs"),
      py::arg("workloads"), py::arg("prefill_extra_flops"), py::arg("workload_weights"), py::arg("energy_params"), py::arg("latency_params"),
      py::arg("options"), py::arg("progress") = py::none(), py::arg("indices") = py::none(),
      "Searches the space natively (GIL released): SearchOutcome. With indices, only those candidates (no "
      "progress callback).");

  m.def(
      "search_run_device",
      [](const Array<double>& combos, const Array<double>& tp, const Array<double>& pp, const Array<double>& dp,
         const Array<double>& ep, const Array<double>& max_num_seqs, const Array<double>& workloads,
         const py::object& prefill_extra, const py::object& workload_weights, const Array<double>& energy_params, const Array<double>& latency_params,
         const py::dict& options) {
        const search::Space space = make_space(combos, tp, pp, dp, ep, max_num_seqs, workloads, prefill_extra, workload_weights);
        const search::Options opts = make_options(options);
        const std::vector<double> pe = params_of(energy_params, "energy_params");
        const std::vector<double> pl = params_of(latency_params, "latency_params");
        py::gil_scoped_release release;
        return search::run_device(space, opts, pe, pl);
      },
      py::arg("combos"), py::arg("tp"), py::arg("pp"), py::arg("dp"), py::arg("ep"), py::arg("max_num_seqs"),
      py::arg("workloads"), py::arg("prefill_extra_flops"), py::arg("workload_weights"), py::arg("energy_params"), py::arg("latency_params"),
      py::arg("options"),
      "The fixed-batch search on the CUDA device (GIL released): SearchOutcome; CudaUnavailableError without one.");

  m.def(
      "latency_stall",
      [](const std::vector<Array<double>>& columns, const Array<double>& params) {
        constexpr std::size_t F = roofline::kNumFeatures;
        if (columns.size() != F)
          throw std::invalid_argument("latency_stall: expected " + std::to_string(F) + " feature columns, got " +
                                      std::to_string(columns.size()));
        const std::size_t n = columns.empty() ? 0 : static_cast<std::size_t>(columns[0].size());
        for (std::size_t k = 0; k < F; ++k)
          if (columns[k].ndim() != 1 || static_cast<std::size_t>(columns[k].size()) != n)
            throw std::invalid_argument("latency_stall: feature column " + std::to_string(k) +
                                        " must be 1-D with the first column's " + std::to_string(n) + " rows");
        const std::vector<double> p = params_of(params, "params");
        if (p.size() != LatencyTemplate::kParams)
          throw std::invalid_argument("latency_stall: expected " + std::to_string(LatencyTemplate::kParams) +
                                      " latency parameters, got " + std::to_string(p.size()));
        std::vector<const double*> c(F);
        for (std::size_t k = 0; k < F; ++k) c[k] = columns[k].data();
        const auto rows = static_cast<py::ssize_t>(n);
        py::array_t<double> ttft(rows), tpot(rows), stall(rows);
        {
          const ReleaseGilIfLong release(n);  // held again before the tuple is made
          search::latency_stall(n, c.data(), p, ttft.mutable_data(), tpot.mutable_data(), stall.mutable_data());
        }
        return py::make_tuple(ttft, tpot, stall);
      },
      py::arg("columns"), py::arg("params"),
      "(TTFT, TPOT, B_r t_pf) per row of the latency template's feature columns at params, uncalibrated: "
      "the search engine's block evaluation (search::latency_stall: kernel::LatencyStall, "
      "LatencyTemplate::eval_stall), so the prefill "
      "stall that predict's time_in_system_s_pred and the bench use is the engine's, bit for bit.");

  m.def(
      "search_evaluate",
      [](const Array<double>& combos, const Array<double>& tp, const Array<double>& pp, const Array<double>& dp,
         const Array<double>& ep, const Array<double>& max_num_seqs, const Array<double>& workloads,
         const py::object& prefill_extra, const py::object& workload_weights, const Array<double>& energy_params, const Array<double>& latency_params,
         const py::dict& options, const py::array_t<std::uint64_t, py::array::c_style | py::array::forcecast>& indices) {
        const search::Space space = make_space(combos, tp, pp, dp, ep, max_num_seqs, workloads, prefill_extra, workload_weights);
        const search::Options opts = make_options(options);
        const std::vector<double> pe = params_of(energy_params, "energy_params");
        const std::vector<double> pl = params_of(latency_params, "latency_params");
        const std::vector<std::uint64_t> idx(indices.data(), indices.data() + indices.size());
        py::gil_scoped_release release;
        return CandidateSet{search::evaluate(space, opts, idx, pe, pl)};
      },
      py::arg("combos"), py::arg("tp"), py::arg("pp"), py::arg("dp"), py::arg("ep"), py::arg("max_num_seqs"),
      py::arg("workloads"), py::arg("prefill_extra_flops"), py::arg("workload_weights"), py::arg("energy_params"), py::arg("latency_params"),
      py::arg("options"), py::arg("indices"),
      "Evaluates given candidate indices without filtering (SearchCandidates; reason -1 = feasible).");
}

}  // namespace energylens::bindings
