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

/// NVML_SUCCESS: the call succeeded.
inline constexpr Return kSuccess = 0;
/// NVML_ERROR_NOT_SUPPORTED: the device or driver does not support the call (or field).
inline constexpr Return kErrorNotSupported = 3;
/// NVML_ERROR_INSUFFICIENT_SIZE: the buffer given is too small (nvmlDeviceGetSamples with a null buffer
/// then gives the count it needs).
inline constexpr Return kErrorInsufficientSize = 7;
/// NVML_ERROR_NOT_FOUND: nothing to return; from nvmlDeviceGetSamples, no sample newer than lastSeenTimeStamp.
inline constexpr Return kErrorNotFound = 6;
/// NVML_ERROR_GPU_IS_LOST: the GPU fell off the bus or stopped answering.
inline constexpr Return kErrorGpuIsLost = 15;

/// nvmlValue_t: which member holds the value is given by the accompanying nvmlValueType_t
/// (0 double, 1 unsigned int, 2 unsigned long, 3 unsigned long long, 4 signed long long, 5 int,
/// 6 unsigned short).
union Value {
  double d;                 ///< dVal (NVML_VALUE_TYPE_DOUBLE = 0)
  unsigned int ui;          ///< uiVal (NVML_VALUE_TYPE_UNSIGNED_INT = 1)
  unsigned long ul;         ///< ulVal (NVML_VALUE_TYPE_UNSIGNED_LONG = 2)
  unsigned long long ull;   ///< ullVal (NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3)
  long long sll;            ///< sllVal (NVML_VALUE_TYPE_SIGNED_LONG_LONG = 4)
  int si;                   ///< siVal (NVML_VALUE_TYPE_SIGNED_INT = 5)
  unsigned short us;        ///< usVal (NVML_VALUE_TYPE_UNSIGNED_SHORT = 6)
};

/// nvmlSample_t: one entry of the driver's sample buffer (timestamp in microseconds since epoch).
struct Sample {
  unsigned long long time_stamp_us;  ///< timeStamp: wall-clock (CPU) time of the sample, us since the epoch
  Value value;  ///< sampleValue, of the call's valueType: power in mW for NVML_TOTAL_POWER_SAMPLES
};

/// nvmlFieldValue_t: one request and answer of nvmlDeviceGetFieldValues.
struct FieldValue {
  unsigned int field_id;   ///< fieldId: the NVML_FI_* to read (set by the caller)
  unsigned int scope_id;   ///< scopeId: sub-unit of the field (e.g. an NVLink); 0 for the power fields
  long long timestamp_us;  ///< timestamp: wall-clock (CPU) time the value was read, us since the epoch
  long long latency_us;    ///< latencyUsec: how long the read took, us
  int value_type;          ///< valueType: which member of `value` holds it (see Value)
  Return nvml_return;      ///< nvmlReturn: this field's own result (the call may succeed while it fails)
  Value value;             ///< the value (mW for the power fields)
};

/// NVML_TOTAL_POWER_SAMPLES for nvmlDeviceGetSamples.
inline constexpr int kTotalPowerSamples = 0;
/// NVML_FI_DEV_POWER_AVERAGE field id: the ~1 s average power (mW).
inline constexpr unsigned int kFieldPowerAverage = 185;
/// NVML_FI_DEV_POWER_INSTANT field id: the instantaneous power (mW, updated about every 100 ms).
inline constexpr unsigned int kFieldPowerInstant = 186;

/// The resolved entry points. A null pointer means the symbol is absent in this driver.
struct Api {
  Return (*init)() = nullptr;                        ///< nvmlInit_v2
  Return (*shutdown)() = nullptr;                    ///< nvmlShutdown
  const char* (*error_string)(Return) = nullptr;     ///< nvmlErrorString
  Return (*system_get_driver_version)(char*, unsigned int) = nullptr;  ///< nvmlSystemGetDriverVersion
  Return (*system_get_nvml_version)(char*, unsigned int) = nullptr;    ///< nvmlSystemGetNVMLVersion
  Return (*device_get_count)(unsigned int*) = nullptr;                   ///< nvmlDeviceGetCount_v2
  Return (*device_get_handle_by_index)(unsigned int, Device*) = nullptr;  ///< _v2
  Return (*device_get_uuid)(Device, char*, unsigned int) = nullptr;  ///< nvmlDeviceGetUUID ("GPU-...")
  Return (*device_get_name)(Device, char*, unsigned int) = nullptr;  ///< nvmlDeviceGetName (product name)
  Return (*device_get_power_usage)(Device, unsigned int*) = nullptr;                   ///< mW
  Return (*device_get_total_energy_consumption)(Device, unsigned long long*) = nullptr;  ///< mJ
  Return (*device_get_field_values)(Device, int, FieldValue*) = nullptr;  ///< nvmlDeviceGetFieldValues
  /// nvmlDeviceGetSamples(device, type, lastSeenTimeStamp us, valueType out, count in/out, samples).
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
