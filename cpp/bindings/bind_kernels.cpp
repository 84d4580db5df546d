// Device-side timing: CUPTI kernel/memcpy/memset records, CUDA-event stream marks, and the device
// synchronisation at window edges. Every call that may block (loading CUPTI, flushing its buffers,
// waiting for events or devices) releases the GIL; returned arrays own their memory.
#include <pybind11/stl.h>

#include <cstdint>
#include <vector>

#include "bindings.hpp"
#include "columns.hpp"
#include "energylens/cupti.hpp"
#include "energylens/device_sync.hpp"
#include "energylens/stream_marks.hpp"

namespace py = pybind11;

namespace energylens::bindings {
namespace {

py::dict records_to_dict(const std::vector<cupti::ActivityRecord>& r) {
  py::dict d;
  d["gpu"] = column<std::int32_t>(r.size(), [&](std::size_t i) { return r[i].device; });
  d["start_ns"] = column<std::int64_t>(r.size(), [&](std::size_t i) { return r[i].start_ns; });
  d["end_ns"] = column<std::int64_t>(r.size(), [&](std::size_t i) { return r[i].end_ns; });
  d["stream"] = column<std::uint32_t>(r.size(), [&](std::size_t i) { return r[i].stream; });
  py::list names, kinds;
  for (const auto& x : r) {
    names.append(x.name);
    kinds.append(x.kind);
  }
  d["name"] = names;
  d["kind"] = kinds;
  return d;
}

}  // namespace

void bind_kernels(py::module_& m) {
  m.def("synchronize_active_devices", &synchronize_active_devices, py::call_guard<py::gil_scoped_release>(),
        "Synchronise every GPU whose primary context is active (any runtime's work); returns how many.");
  m.def("driver_unavailable_reason", &driver_unavailable_reason);

  // ---- CUPTI ----
  m.def("cupti_unavailable_reason", [] {
    py::gil_scoped_release release;
    return cupti::unavailable_reason();
  });
  m.def("cupti_enable", &cupti::enable, py::arg("memcpy") = true, py::arg("memset") = true,
        py::call_guard<py::gil_scoped_release>());
  m.def("cupti_flush", [] {
    std::vector<cupti::ActivityRecord> r;
    {
      py::gil_scoped_release release;
      r = cupti::flush();
    }
    return records_to_dict(r);
  });
  m.def("cupti_disable", [] {
    std::vector<cupti::ActivityRecord> r;
    {
      py::gil_scoped_release release;
      r = cupti::disable();
    }
    return records_to_dict(r);
  });
  m.def("cupti_enabled", &cupti::enabled);
  m.def("cupti_dropped", &cupti::dropped);

  // ---- CUDA-event stream marks ----
  py::class_<cuda::StreamMarks>(m, "StreamMarks")
      .def(py::init<>())
      .def("record", &cuda::StreamMarks::record, py::arg("label_id"), py::arg("stream") = 0)
      .def("collect",
           [](cuda::StreamMarks& sm) {
             std::vector<cuda::StreamMark> marks;
             {
               py::gil_scoped_release release;
               marks = sm.collect();
             }
             py::dict d;
             d["t_ns"] = column<std::int64_t>(marks.size(), [&](std::size_t i) { return marks[i].t_ns; });
             d["label_id"] = column<std::int32_t>(marks.size(), [&](std::size_t i) { return marks[i].label; });
             d["gpu"] = column<std::int32_t>(marks.size(), [&](std::size_t i) { return marks[i].device; });
             return d;
           })
      .def_property_readonly("uncertainty_ns", &cuda::StreamMarks::uncertainty_ns);
}

}  // namespace energylens::bindings
