// NVML loaded at run time with dlopen: the core never links libnvidia-ml, so it imports on a
// machine without a driver. Only the handful of types we use are declared here (ABI-stable C types
// from nvml.h); raw NVML units (mW, mJ, us) stay inside the core.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace energylens::nvml {

/// nvmlReturn_t.
using Return = int;
/// nvmlDevice_t (opaque).
using Device = struct DeviceOpaque*;

inline constexpr Return kSuccess = 0;
inline constexpr Return kErrorNotSupported = 3;
inline constexpr Return kErrorInsufficientSize = 7;
inline constexpr Return kErrorNotFound = 6;
inline constexpr Return kErrorGpuIsLost = 15;

/// nvmlValue_t.
union Value {
  double d;
  unsigned int ui;
  unsigned long ul;
  unsigned long long ull;
  long long sll;
  int si;
  unsigned short us;
};

/// nvmlSample_t: one entry of the driver's sample buffer (timestamp in microseconds since epoch).
struct Sample {
  unsigned long long time_stamp_us;
  Value value;
};

/// nvmlFieldValue_t.
struct FieldValue {
  unsigned int field_id;
  unsigned int scope_id;
  long long timestamp_us;
  long long latency_us;
  int value_type;
  Return nvml_return;
  Value value;
};

/// NVML_TOTAL_POWER_SAMPLES for nvmlDeviceGetSamples.
inline constexpr int kTotalPowerSamples = 0;
/// NVML_FI_DEV_POWER_AVERAGE / NVML_FI_DEV_POWER_INSTANT field ids (mW).
inline constexpr unsigned int kFieldPowerAverage = 185;
inline constexpr unsigned int kFieldPowerInstant = 186;

/// The resolved entry points. A null pointer means the symbol is absent in this driver.
struct Api {
  Return (*init)() = nullptr;                        ///< nvmlInit_v2
  Return (*shutdown)() = nullptr;                    ///< nvmlShutdown
  const char* (*error_string)(Return) = nullptr;     ///< nvmlErrorString
  Return (*system_get_driver_version)(char*, unsigned int) = nullptr;
  Return (*system_get_nvml_version)(char*, unsigned int) = nullptr;
  Return (*device_get_count)(unsigned int*) = nullptr;                   ///< nvmlDeviceGetCount_v2
  Return (*device_get_handle_by_index)(unsigned int, Device*) = nullptr;  ///< _v2
  Return (*device_get_uuid)(Device, char*, unsigned int) = nullptr;
  Return (*device_get_name)(Device, char*, unsigned int) = nullptr;
  Return (*device_get_power_usage)(Device, unsigned int*) = nullptr;                   ///< mW
  Return (*device_get_total_energy_consumption)(Device, unsigned long long*) = nullptr;  ///< mJ
  Return (*device_get_field_values)(Device, int, FieldValue*) = nullptr;
  Return (*device_get_samples)(Device, int, unsigned long long, int*, unsigned int*, Sample*) = nullptr;
  Return (*device_get_enforced_power_limit)(Device, unsigned int*) = nullptr;  ///< mW
};

/// Loads and initialises NVML once per process (thread-safe). Throws NvmlUnavailable with the
/// loader's own message and the fix when libnvidia-ml.so.1 cannot be loaded or nvmlInit fails.
const Api& api();

/// Like api() but never throws: the reason NVML is unavailable, or nullopt when it loads.
std::optional<std::string> unavailable_reason();

/// Throws NvmlError(code, call, nvmlErrorString(code)) when `code` is not NVML_SUCCESS.
void check(Return code, const char* call);

/// The driver version string (e.g. "580.159.04"); throws when NVML is unavailable.
std::string driver_version();

/// The NVML library version string; throws when NVML is unavailable.
std::string library_version();

}  // namespace energylens::nvml
