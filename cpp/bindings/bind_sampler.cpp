// The power sampler: its sources (NVML, DCGM, synthetic, replay), the sampler thread(s), and the
// typed status it reports (SourceStatus, FallbackEvent, NvmlGpu as classes with read-only
// properties). The sampler's threads never touch Python; the GIL is released around
// start/stop/flush/drain and every call that loads or queries NVML/DCGM; arrays returned to Python
// own their memory (copied out of native vectors).
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bindings.hpp"
#include "columns.hpp"
#include "energylens/power_sampler.hpp"
#include "energylens/power_source.hpp"
#include "energylens/ring_buffer.hpp"

namespace py = pybind11;

namespace energylens::bindings {
namespace {

// Python holds sources through shared_ptr; the sampler owns unique_ptrs: this forwards.
class SharedSource final : public PowerSource {
 public:
  explicit SharedSource(std::shared_ptr<PowerSource> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return inner_->name(); }
  int gpu_count() const override { return inner_->gpu_count(); }
  void start(std::int64_t now_ns) override { inner_->start(now_ns); }
  void poll(std::int64_t now_ns, std::vector<PowerSample>& out) override { inner_->poll(now_ns, out); }
  std::int64_t poll_interval_ns() const override { return inner_->poll_interval_ns(); }
  std::int64_t update_period_ns() const override { return inner_->update_period_ns(); }
  bool period_detected() const override { return inner_->period_detected(); }
  bool exhausted() const override { return inner_->exhausted(); }
  bool try_claim() noexcept override { return inner_->try_claim(); }
  void release_claim() noexcept override { inner_->release_claim(); }
  const PowerSource* inner() const noexcept { return inner_.get(); }

 private:
  std::shared_ptr<PowerSource> inner_;
};

py::dict samples_to_dict(const std::vector<PowerSample>& s) {
  py::dict d;
  d["t_ns"] = column<std::int64_t>(s.size(), [&](std::size_t i) { return s[i].t_ns; });
  d["gpu"] = column<std::int32_t>(s.size(), [&](std::size_t i) { return s[i].gpu; });
  d["signal"] = column<std::int32_t>(s.size(), [&](std::size_t i) { return s[i].signal; });
  d["power_w"] = column<double>(s.size(), [&](std::size_t i) { return s[i].power_w; });
  d["energy_j"] = column<double>(s.size(), [&](std::size_t i) { return s[i].energy_j; });
  return d;
}

Signal signal_from_name(const std::string& name) {
  for (int i = 0; i < kSignalCount; ++i)
    if (name == signal_name(static_cast<Signal>(i))) return static_cast<Signal>(i);
  throw std::invalid_argument("unknown signal '" + name + "'");
}

// Test hook: a native producer thread and consumer thread over one SPSC ring.
py::dict ring_selftest(std::uint64_t count, std::size_t capacity, bool retry_when_full) {
  SpscRing<std::uint64_t> ring(capacity);
  std::uint64_t received = 0;
  std::uint64_t next_expected = 0;
  bool increasing = true;
  {
    py::gil_scoped_release release;
    std::atomic<bool> done{false};
    std::thread producer([&] {
      for (std::uint64_t i = 0; i < count; ++i) {
        if (retry_when_full) {
          while (!ring.push(i)) std::this_thread::yield();
        } else {
          ring.push(i);
        }
      }
      done.store(true, std::memory_order_release);
    });
    std::vector<std::uint64_t> batch;
    for (;;) {
      const bool finished = done.load(std::memory_order_acquire);
      batch.clear();
      ring.drain(batch);
      for (std::uint64_t v : batch) {
        if (v < next_expected) increasing = false;
        if (retry_when_full && v != next_expected) increasing = false;
        next_expected = v + 1;
        ++received;
      }
      if (finished && ring.size() == 0) break;
      if (batch.empty()) std::this_thread::yield();
    }
    producer.join();
  }
  py::dict d;
  d["received"] = received;
  d["dropped"] = ring.dropped();
  d["in_order"] = increasing;
  return d;
}

void bind_status(py::module_& m) {
  py::class_<SourceStatus>(m, "SourceStatus", "One source of a sampler, as the sampler reports it (read-only).")
      .def_readonly("name", &SourceStatus::name, "PowerSource name, e.g. 'nvml_sample_buffer'.")
      .def_readonly("role", &SourceStatus::role, "'power' (the fallback chain) or 'auxiliary' (own thread).")
      .def_readonly("started", &SourceStatus::started)
      .def_readonly("active", &SourceStatus::active)
      .def_readonly("failed", &SourceStatus::failed)
      .def_readonly("error", &SourceStatus::error, "Why it failed ('' otherwise).")
      .def_readonly("update_period_ns", &SourceStatus::update_period_ns, "Detected or declared; 0: unknown.")
      .def_readonly("period_detected", &SourceStatus::period_detected)
      .def_readonly("samples", &SourceStatus::samples)
      .def_readonly("poll_interval_ns", &SourceStatus::poll_interval_ns, "After any CPU back-off.")
      .def("__repr__", [](const SourceStatus& s) {
        return "SourceStatus(name='" + s.name + "', role='" + s.role + "', active=" + (s.active ? "True" : "False") +
               ", failed=" + (s.failed ? "True" : "False") + ", samples=" + std::to_string(s.samples) + ")";
      });
  py::class_<FallbackEvent>(m, "FallbackEvent", "A chain source failed and the next one took over (read-only).")
      .def_readonly("t_ns", &FallbackEvent::t_ns)
      .def_property_readonly("from_source", [](const FallbackEvent& f) { return f.from; })
      .def_readonly("to", &FallbackEvent::to, "The source used next ('' when none was left).")
      .def_readonly("reason", &FallbackEvent::reason)
      .def("__repr__", [](const FallbackEvent& f) {
        return "FallbackEvent(from_source='" + f.from + "', to='" + f.to + "', reason='" + f.reason + "')";
      });
  py::class_<NvmlGpu>(m, "NvmlGpu", "A GPU this process sees (read-only).")
      .def_readonly("index", &NvmlGpu::index, "NVML index.")
      .def_readonly("uuid", &NvmlGpu::uuid)
      .def_readonly("name", &NvmlGpu::name)
      .def("__repr__", [](const NvmlGpu& g) {
        return "NvmlGpu(index=" + std::to_string(g.index) + ", uuid='" + g.uuid + "', name='" + g.name + "')";
      });
}

}  // namespace

void bind_sampler(py::module_& m) {
  m.def("_ring_selftest", &ring_selftest, py::arg("count"), py::arg("capacity"), py::arg("retry_when_full"),
        "Test hook: native producer and consumer threads over one SPSC ring.");
  m.def("signal_names", [] {
    std::vector<std::string> out;
    for (int i = 0; i < kSignalCount; ++i) out.emplace_back(signal_name(static_cast<Signal>(i)));
    return out;
  });
  bind_status(m);

  // ---- sources ----
  py::class_<PowerSource, std::shared_ptr<PowerSource>>(m, "PowerSource")
      .def_property_readonly("name", &PowerSource::name)
      .def_property_readonly("gpu_count", &PowerSource::gpu_count)
      .def_property_readonly("update_period_ns", &PowerSource::update_period_ns);

  m.def(
      "synthetic_source",
      [](const std::vector<Column<std::int64_t>>& t_ns, const std::vector<Column<double>>& power_w,
         const std::string& signal, std::int64_t update_period_ns, std::int64_t averaging_window_ns,
         std::int64_t buffer_period_ns, std::int64_t buffer_poll_ns, double energy_offset_j,
         std::int64_t energy_read_latency_ns, std::int64_t fail_after_ns, std::int64_t energy_read_spin_ns) {
        auto timeline = std::make_shared<PowerTimeline>();
        for (const auto& a : t_ns) timeline->t_ns.push_back(to_vector<std::int64_t>(a));
        for (const auto& a : power_w) timeline->power_w.push_back(to_vector<double>(a));
        timeline->prepare();
        SyntheticConfig c;
        c.update_period_ns = update_period_ns;
        c.averaging_window_ns = averaging_window_ns;
        c.buffer_period_ns = buffer_period_ns;
        c.buffer_poll_ns = buffer_poll_ns;
        c.energy_offset_j = energy_offset_j;
        c.energy_read_latency_ns = energy_read_latency_ns;
        c.fail_after_ns = fail_after_ns;
        c.energy_read_spin_ns = energy_read_spin_ns;
        return std::shared_ptr<PowerSource>(make_synthetic_source(timeline, signal_from_name(signal), c));
      },
      py::arg("t_ns"), py::arg("power_w"), py::arg("signal"), py::arg("update_period_ns"),
      py::arg("averaging_window_ns"), py::arg("buffer_period_ns"), py::arg("buffer_poll_ns"),
      py::arg("energy_offset_j"), py::arg("energy_read_latency_ns"), py::arg("fail_after_ns"),
      py::arg("energy_read_spin_ns") = 0,
      "A synthetic NVML signal over a piecewise-constant power timeline (relative ns).");
  m.def(
      "replay_source",
      [](const Column<std::int64_t>& t_ns, const Column<std::int32_t>& gpu, const Column<std::int32_t>& signal,
         const Column<double>& power_w, const Column<double>& energy_j, bool realtime, bool rebase, double speed) {
        const auto t = to_vector<std::int64_t>(t_ns);
        const auto g = to_vector<std::int32_t>(gpu);
        const auto s = to_vector<std::int32_t>(signal);
        const auto p = to_vector<double>(power_w);
        const auto e = to_vector<double>(energy_j);
        if (g.size() != t.size() || s.size() != t.size() || p.size() != t.size() || e.size() != t.size())
          throw std::invalid_argument("replay source: columns differ in length");
        ReplayData data;
        for (std::size_t i = 0; i < t.size(); ++i) data.samples.push_back({t[i], g[i], s[i], p[i], e[i]});
        return std::shared_ptr<PowerSource>(make_replay_source(std::move(data), realtime, rebase, speed));
      },
      py::arg("t_ns"), py::arg("gpu"), py::arg("signal"), py::arg("power_w"), py::arg("energy_j"),
      py::arg("realtime"), py::arg("rebase"), py::arg("speed") = 1.0, "Replay recorded samples.");
  m.def(
      "nvml_gpus",
      [](const std::vector<int>& requested) {
        std::vector<NvmlGpu> gpus;
        {
          py::gil_scoped_release release;
          gpus = nvml_visible_gpus(requested);
        }
        return gpus;
      },
      py::arg("requested") = std::vector<int>{},
      "GPUs this process sees (CUDA_VISIBLE_DEVICES-aware; the CUDA runtime is asked only on a host of mixed "
      "GPU models without CUDA_DEVICE_ORDER=PCI_BUS_ID); throws NvmlUnavailable.");
  m.def("nvml_all_gpus", &nvml_all_gpus, py::call_guard<py::gil_scoped_release>(),
        "Every GPU NVML sees, whatever CUDA_VISIBLE_DEVICES says (never asks the CUDA runtime); throws "
        "NvmlUnavailable.");
  m.def(
      "nvml_source",
      [](const std::string& kind, const std::vector<int>& requested, std::int64_t poll_interval_ns) {
        py::gil_scoped_release release;
        const std::vector<NvmlGpu> gpus = nvml_visible_gpus(requested);
        if (kind == "sample_buffer") return std::shared_ptr<PowerSource>(make_nvml_sample_buffer_source(gpus, poll_interval_ns));
        if (kind == "instant") return std::shared_ptr<PowerSource>(make_nvml_instant_source(gpus));
        if (kind == "average") return std::shared_ptr<PowerSource>(make_nvml_power_usage_source(gpus));
        if (kind == "energy_counter")
          return std::shared_ptr<PowerSource>(make_nvml_energy_counter_source(gpus, poll_interval_ns));
        if (kind == "dcgm") return std::shared_ptr<PowerSource>(make_dcgm_source(gpus, poll_interval_ns));
        throw std::invalid_argument("unknown NVML source kind '" + kind +
                                    "' (sample_buffer, instant, average, energy_counter, dcgm)");
      },
      py::arg("kind"), py::arg("requested"), py::arg("poll_interval_ns"),
      "An NVML (or DCGM) source over the requested visible GPUs.");
  m.def(
      "resolve_visible_gpus",
      [](std::optional<std::string> cvd, const std::vector<std::string>& nvml_uuids,
         const std::vector<std::string>& cuda_uuids) {
        return resolve_visible_gpus(cvd ? cvd->c_str() : nullptr, nvml_uuids, cuda_uuids);
      },
      py::arg("cuda_visible_devices"), py::arg("nvml_uuids"), py::arg("cuda_uuids"),
      "NVML indices a process sees given CUDA_VISIBLE_DEVICES (pure; no NVML calls).");
  m.def("dcgm_unavailable_reason", [] {
    py::gil_scoped_release release;
    return dcgm_unavailable_reason();
  });

  // ---- sampler ----
  py::class_<PowerSampler>(m, "PowerSampler")
      .def(py::init([](const std::vector<std::shared_ptr<PowerSource>>& chain,
                       const std::vector<std::shared_ptr<PowerSource>>& auxiliary, std::int64_t interval_ns,
                       std::size_t ring_capacity, std::int64_t collect_interval_ns, double auxiliary_cpu_budget) {
             std::vector<std::unique_ptr<PowerSource>> c, a;
             for (const auto& s : chain) {
               if (!s) throw std::invalid_argument("PowerSampler: None in the source chain");
               c.push_back(std::make_unique<SharedSource>(s));
             }
             for (const auto& s : auxiliary) {
               if (!s) throw std::invalid_argument("PowerSampler: None among the auxiliary sources");
               a.push_back(std::make_unique<SharedSource>(s));
             }
             // Two threads of one sampler must never poll one object (a replay would emit its samples twice).
             std::vector<const PowerSource*> seen;
             for (const auto* list : {&chain, &auxiliary})
               for (const auto& s : *list) {
                 if (std::find(seen.begin(), seen.end(), s.get()) != seen.end())
                   throw std::invalid_argument("PowerSampler: the source '" + s->name() +
                                               "' is passed twice (each source object may appear once in a sampler)");
                 seen.push_back(s.get());
               }
             SamplerOptions o;
             o.interval_ns = interval_ns;
             o.ring_capacity = ring_capacity;
             o.collect_interval_ns = collect_interval_ns;
             o.auxiliary_cpu_budget = auxiliary_cpu_budget;
             return std::make_unique<PowerSampler>(std::move(c), std::move(a), o);
           }),
           py::arg("chain"), py::arg("auxiliary"), py::arg("interval_ns") = 0,
           py::arg("ring_capacity") = std::size_t{1} << 16, py::arg("collect_interval_ns") = 50'000'000,
           py::arg("auxiliary_cpu_budget") = 0.0025)
      .def("start", &PowerSampler::start, py::call_guard<py::gil_scoped_release>())
      .def("stop", &PowerSampler::stop, py::call_guard<py::gil_scoped_release>())
      .def("flush", &PowerSampler::flush, py::arg("auxiliary") = true, py::call_guard<py::gil_scoped_release>())
      .def("drain",
           [](PowerSampler& s) {
             std::vector<PowerSample> samples;
             {
               py::gil_scoped_release release;
               samples = s.drain();
             }
             return samples_to_dict(samples);
           })
      .def("rethrow_if_failed", &PowerSampler::rethrow_if_failed)
      .def("hold_auxiliary", &PowerSampler::hold_auxiliary, py::arg("hold"),
           "While held (a window is open), auxiliary sources poll at least about once per update period.")
      .def_property_readonly("running", &PowerSampler::running)
      .def_property_readonly("gpu_count", &PowerSampler::gpu_count)
      .def_property_readonly("start_ns", &PowerSampler::start_ns)
      .def_property_readonly("dropped", &PowerSampler::dropped)
      .def_property_readonly("active_source", &PowerSampler::active_source)
      .def("sources", &PowerSampler::sources, "SourceStatus of every source, chain first.")
      .def("fallbacks", &PowerSampler::fallbacks, "The FallbackEvents so far, in order.")
      .def("observed_period_ns", [](const PowerSampler& s) {
        py::dict d;
        const auto periods = s.observed_period_ns();
        for (int i = 0; i < kSignalCount; ++i)
          if (periods[static_cast<std::size_t>(i)] > 0) d[signal_name(static_cast<Signal>(i))] = periods[static_cast<std::size_t>(i)];
        return d;
      });
}

}  // namespace energylens::bindings
