#include <pybind11/stl.h>

#include "bindings.hpp"
#include "energylens/capabilities.hpp"
#include "energylens/cuda_device.hpp"
#include "energylens/nvml.hpp"

namespace py = pybind11;

namespace energylens::bindings {

void bind_capabilities(py::module_& m) {
  m.def(
      "query_capabilities",
      []() {
        Capabilities c;
        {
          py::gil_scoped_release release;  // dlopen + nvmlInit + cudaGetDeviceCount can take ~1 s
          c = query_capabilities();
        }
        py::dict d;
        d["cuda_built"] = c.cuda_built;
        d["cuda_device_count"] = c.cuda_device_count;
        d["cuda_reason"] = c.cuda_reason;
        d["cuda_runtime_version"] = c.cuda_runtime_version;
        d["cuda_driver_version"] = c.cuda_driver_version;
        d["nvml_available"] = c.nvml_available;
        d["nvml_reason"] = c.nvml_reason;
        d["driver_version"] = c.driver_version;
        d["nvml_version"] = c.nvml_version;
        d["compiler"] = c.compiler;
        d["openmp"] = c.openmp;
        d["openmp_max_threads"] = c.openmp_max_threads;
        return d;
      },
      "Probe CUDA and NVML; returns a dict (wrapped by energylens.capabilities()).");
  m.def(
      "nvml_driver_version",
      []() -> std::string {
        if (nvml::unavailable_reason()) return "";
        try {
          return nvml::driver_version();
        } catch (const std::exception&) {
          return "";
        }
      },
      py::call_guard<py::gil_scoped_release>(),
      "The NVIDIA driver version NVML reports, '' without NVML or when nvmlSystemGetDriverVersion fails "
      "(display-only: a profile row's driver_version; query_capabilities keeps the reason, which doctor's NVML "
      "row shows); unlike query_capabilities it never asks the CUDA runtime (which initialises the CUDA driver "
      "in the process).");
}

}  // namespace energylens::bindings
