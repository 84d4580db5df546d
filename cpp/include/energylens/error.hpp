// Typed errors of the native core. The bindings map each class onto exactly one Python class of
// energylens.errors (cpp/bindings/bind_errors.cpp); std::invalid_argument becomes ValueError.
#pragma once

#include <stdexcept>
#include <string>

namespace energylens {

/// Base of every error the core raises on purpose (Python: EnergyLensError).
class Error : public std::runtime_error {
 public:
  /// Takes the message: what failed, where, and the fix when there is one.
  using std::runtime_error::runtime_error;
};

/// NVML could not be loaded or initialised; the message says how to fix it (NvmlUnavailableError).
class NvmlUnavailable : public Error {
 public:
  /// Takes the message: what failed, where, and the fix when there is one.
  using Error::Error;
};

/// An NVML call failed: keeps the nvmlReturn_t code and the function name (NvmlError).
class NvmlError : public Error {
 public:
  /// `code` is the nvmlReturn_t value, `call` the NVML function, `detail` NVML's own error string.
  NvmlError(int code, std::string call, const std::string& detail)
      : Error(call + " failed: " + detail + " (nvmlReturn_t " + std::to_string(code) + ")"),
        code_(code),
        call_(std::move(call)) {}
  /// The nvmlReturn_t code of the failed call.
  [[nodiscard]] int code() const noexcept { return code_; }
  /// The name of the NVML function that failed.
  [[nodiscard]] const std::string& call() const noexcept { return call_; }

 private:
  int code_;
  std::string call_;
};

/// CUDA not built in, or no usable device / driver (CudaUnavailableError).
class CudaUnavailable : public Error {
 public:
  /// Takes the message: what failed, where, and the fix when there is one.
  using Error::Error;
};

/// CUPTI could not be loaded or enabled (CuptiUnavailableError).
class CuptiUnavailable : public Error {
 public:
  /// Takes the message: what failed, where, and the fix when there is one.
  using Error::Error;
};

/// DCGM could not be loaded or its host engine did not answer (DcgmUnavailableError).
class DcgmUnavailable : public Error {
 public:
  /// Takes the message: what failed, where, and the fix when there is one.
  using Error::Error;
};

/// The sampler's own thread failed; re-raised on the caller's thread (SamplerError).
class SamplerError : public Error {
 public:
  /// Takes the message: what failed, where, and the fix when there is one.
  using Error::Error;
};

}  // namespace energylens
