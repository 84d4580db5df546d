#include "energylens/nvml.hpp"


#include <cstdlib>
#include <utility>

#include "energylens/dynamic_library.hpp"
#include "energylens/error.hpp"

namespace energylens::nvml {
namespace {

struct Loaded {
  Api api;
  std::string error;  // empty when loaded and initialised
};

using dynlib::resolve;

Loaded load() {
  Loaded out;
  const char* env_path = std::getenv("ENERGYLENS_NVML_LIBRARY");
  // Empty (an unset shell variable exported as ''): as if unset; dlopen("") would return the program itself.
  const bool from_env = env_path != nullptr && *env_path != '\0';
  const char* path = from_env ? env_path : "libnvidia-ml.so.1";
  std::string why;
  void* handle = dynlib::open_first({path}, why);
  if (handle == nullptr && from_env) {
    out.error = std::string("cannot load NVML from ENERGYLENS_NVML_LIBRARY=") + path + ": " + why +
                ". Fix: point ENERGYLENS_NVML_LIBRARY at the driver's libnvidia-ml.so.1, or unset "
                "ENERGYLENS_NVML_LIBRARY to load it from the loader path.";
    return out;
  }
  if (handle == nullptr) {
    out.error = std::string("cannot load NVML (") + path + "): " + why +
                ". Fix: install the NVIDIA driver (it ships libnvidia-ml.so.1) and make sure the "
                "library is on the loader path (ldconfig -p | grep nvidia-ml), or point "
                "ENERGYLENS_NVML_LIBRARY at it; inside a container, run with the NVIDIA container "
                "runtime (--gpus all).";
    return out;
  }
  Api& a = out.api;
  resolve(handle, a.init, "nvmlInit_v2", "nvmlInit");
  resolve(handle, a.shutdown, "nvmlShutdown");
  resolve(handle, a.error_string, "nvmlErrorString");
  resolve(handle, a.system_get_driver_version, "nvmlSystemGetDriverVersion");
  resolve(handle, a.system_get_nvml_version, "nvmlSystemGetNVMLVersion");
  resolve(handle, a.device_get_count, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
  resolve(handle, a.device_get_handle_by_index, "nvmlDeviceGetHandleByIndex_v2",
          "nvmlDeviceGetHandleByIndex");
  resolve(handle, a.device_get_uuid, "nvmlDeviceGetUUID");
  resolve(handle, a.device_get_name, "nvmlDeviceGetName");
  resolve(handle, a.device_get_power_usage, "nvmlDeviceGetPowerUsage");
  resolve(handle, a.device_get_total_energy_consumption, "nvmlDeviceGetTotalEnergyConsumption");
  resolve(handle, a.device_get_field_values, "nvmlDeviceGetFieldValues");
  resolve(handle, a.device_get_samples, "nvmlDeviceGetSamples");
  resolve(handle, a.device_get_enforced_power_limit, "nvmlDeviceGetEnforcedPowerLimit");
  std::string lacks;  // the entry points energylens cannot do without, by name
  for (const auto& [present, name] : {std::pair{a.init != nullptr, "nvmlInit_v2 (or nvmlInit)"},
                                      std::pair{a.error_string != nullptr, "nvmlErrorString"},
                                      std::pair{a.device_get_count != nullptr, "nvmlDeviceGetCount_v2"},
                                      std::pair{a.device_get_handle_by_index != nullptr,
                                                "nvmlDeviceGetHandleByIndex_v2"}}) {
    if (!present) lacks += std::string(lacks.empty() ? "" : ", ") + name;
  }
  if (!lacks.empty()) {
    const std::string file = dynlib::loaded_path(handle);
    out.error = std::string("NVML library ") + path +
                (file.empty() || file == path ? std::string() : " (loaded from " + file + ")") + " lacks " +
                lacks + ": it is not NVML or its driver is too old. Fix: make the driver's own "
                "libnvidia-ml.so.1 the one found first (a stub or stale copy on LD_LIBRARY_PATH hides it; "
                "ldconfig -p | grep nvidia-ml), or point ENERGYLENS_NVML_LIBRARY at it.";
    return out;
  }
  const Return rc = a.init();
  if (rc != kSuccess) {
    out.error = std::string("nvmlInit failed: ") + a.error_string(rc) + " (nvmlReturn_t " +
                std::to_string(rc) +
                "). Fix: check that the NVIDIA kernel module is loaded (nvidia-smi must work) and "
                "that the driver and library versions match.";
  }
  return out;
}

const Loaded& loaded() {
  static const Loaded instance = load();  // thread-safe once-initialisation (C++11 magic statics)
  return instance;
}

}  // namespace

const Api& api() {
  const Loaded& l = loaded();
  if (!l.error.empty()) throw NvmlUnavailable(l.error);
  return l.api;
}

std::optional<std::string> unavailable_reason() {
  const Loaded& l = loaded();
  if (l.error.empty()) return std::nullopt;
  return l.error;
}

void check(Return code, const char* call) {
  if (code == kSuccess) return;
  const Api& a = api();
  throw NvmlError(code, call, a.error_string != nullptr ? a.error_string(code) : "unknown NVML error");
}

namespace {

// The version text an NVML call writes into a buffer; "unknown" where this NVML lacks the call.
std::string version_text(Return (*get)(char*, unsigned int), const char* call) {
  if (get == nullptr) return "unknown";
  char buffer[96] = {};
  check(get(buffer, sizeof(buffer)), call);
  return buffer;
}

}  // namespace

std::string driver_version() { return version_text(api().system_get_driver_version, "nvmlSystemGetDriverVersion"); }

std::string library_version() { return version_text(api().system_get_nvml_version, "nvmlSystemGetNVMLVersion"); }

}  // namespace energylens::nvml
