// The one mapping from native errors to Python: every energylens:: error class onto one class of
// energylens.errors, std::invalid_argument/std::out_of_range onto ValueError/IndexError.
#include <string>

#include "bindings.hpp"
#include "energylens/error.hpp"

namespace py = pybind11;

namespace energylens::bindings {
namespace {

// Raises energylens.errors.<name>(*args) as the active Python exception.
void raise_python(const char* name, const py::tuple& args) {
  py::object cls = py::module_::import("energylens.errors").attr(name);
  py::object instance = cls(*args);
  PyErr_SetObject(cls.ptr(), instance.ptr());
}

}  // namespace

void bind_errors(py::module_& m) {
  py::register_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    try {
      std::rethrow_exception(p);
    } catch (const NvmlError& e) {
      raise_python("NvmlError", py::make_tuple(e.what(), e.code(), e.call()));
    } catch (const NvmlUnavailable& e) {
      raise_python("NvmlUnavailableError", py::make_tuple(e.what()));
    } catch (const CudaUnavailable& e) {
      raise_python("CudaUnavailableError", py::make_tuple(e.what()));
    } catch (const CuptiUnavailable& e) {
      raise_python("CuptiUnavailableError", py::make_tuple(e.what()));
    } catch (const DcgmUnavailable& e) {
      raise_python("DcgmUnavailableError", py::make_tuple(e.what()));
    } catch (const SamplerError& e) {
      raise_python("SamplerError", py::make_tuple(e.what()));
    } catch (const Error& e) {
      raise_python("EnergyLensError", py::make_tuple(e.what()));
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::out_of_range& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    }
  });

  // Test hook: throws the named native error so tests/test_errors.py can prove every mapping.
  m.def(
      "_raise_native_error",
      [](const std::string& kind) {
        if (kind == "Error") throw Error("native Error");
        if (kind == "NvmlUnavailable") throw NvmlUnavailable("native NvmlUnavailable");
        if (kind == "NvmlError") throw NvmlError(3, "nvmlDeviceGetPowerUsage", "Not Supported");
        if (kind == "CudaUnavailable") throw CudaUnavailable("native CudaUnavailable");
        if (kind == "CuptiUnavailable") throw CuptiUnavailable("native CuptiUnavailable");
        if (kind == "DcgmUnavailable") throw DcgmUnavailable("native DcgmUnavailable");
        if (kind == "SamplerError") throw SamplerError("native SamplerError");
        if (kind == "invalid_argument") throw std::invalid_argument("native invalid_argument");
        if (kind == "out_of_range") throw std::out_of_range("native out_of_range");
        throw std::invalid_argument("unknown error kind: " + kind);
      },
      py::arg("kind"), "Throw the named native error (test hook).");
}

}  // namespace energylens::bindings
