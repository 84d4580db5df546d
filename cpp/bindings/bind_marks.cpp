// The process-wide mark log: mark(label) from any thread (one steady read, an interned id, a
// lock-free push), drained by one consumer. drain_marks releases the GIL around the drain; the arrays
// it returns own their memory.
#include <pybind11/stl.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "bindings.hpp"
#include "columns.hpp"
#include "energylens/clock.hpp"
#include "energylens/marks.hpp"

namespace py = pybind11;

namespace energylens::bindings {

void bind_marks(py::module_& m) {
  m.def("_noop", []() {}, "A plain pybind11 call doing nothing (benchmark baseline for mark).");
  m.def(
      "mark", [](std::string_view label) { MarkLog::global().mark(label); }, py::arg("label"),
      "Record `label` at the current steady-clock time (process-wide mark log).");
  m.def(
      "_bench_mark_native",
      [](std::int64_t n) {
        // Native cost of one mark (clock read + interned lookup + lock-free push), ns per call.
        py::gil_scoped_release release;
        MarkLog log(std::size_t{1} << 20);
        const std::int64_t t0 = clock::steady_now_ns();
        for (std::int64_t i = 0; i < n; ++i) log.mark("decode");
        const std::int64_t t1 = clock::steady_now_ns();
        return static_cast<double>(t1 - t0) / static_cast<double>(n);
      },
      py::arg("n"), "Benchmark hook: ns per native MarkLog::mark (n <= 2^20 to avoid drops).");
  m.def(
      "mark_id", [](std::int32_t id) { MarkLog::global().mark_id(id); }, py::arg("label_id"),
      "Record an interned label id at the current steady-clock time.");
  m.def(
      "intern_label", [](std::string_view label) { return MarkLog::global().intern(label); }, py::arg("label"));
  m.def("mark_labels", [] { return MarkLog::global().labels(); });
  m.def("marks_dropped", [] { return MarkLog::global().dropped(); });
  m.def("drain_marks", [] {
    std::vector<Mark> marks;
    {
      py::gil_scoped_release release;
      marks = MarkLog::global().drain();
    }
    py::dict d;
    d["t_ns"] = column<std::int64_t>(marks.size(), [&](std::size_t i) { return marks[i].t_ns; });
    d["label_id"] = column<std::int32_t>(marks.size(), [&](std::size_t i) { return marks[i].label; });
    return d;
  });
}

}  // namespace energylens::bindings
