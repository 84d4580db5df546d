#include "energylens/device_sync.hpp"


#include "energylens/dynamic_library.hpp"

#include <cstdint>

#include "energylens/error.hpp"

namespace energylens {
namespace {

using CuResult = int;
using CuDevice = int;
using CuContext = struct CuCtxOpaque*;

struct Driver {
  CuResult (*init)(unsigned int) = nullptr;
  CuResult (*device_get_count)(int*) = nullptr;
  CuResult (*device_get)(CuDevice*, int) = nullptr;
  CuResult (*primary_ctx_get_state)(CuDevice, unsigned int*, int*) = nullptr;
  CuResult (*primary_ctx_retain)(CuContext*, CuDevice) = nullptr;
  CuResult (*primary_ctx_release)(CuDevice) = nullptr;
  CuResult (*ctx_push)(CuContext) = nullptr;
  CuResult (*ctx_pop)(CuContext*) = nullptr;
  CuResult (*ctx_synchronize)() = nullptr;
  CuResult (*get_error_string)(CuResult, const char**) = nullptr;
  std::string error;
};

using dynlib::resolve;

Driver load() {
  Driver d;
  std::string why;
  void* lib = dynlib::open_first({"libcuda.so.1"}, why);
  if (lib == nullptr) {
    d.error = std::string("cannot load the CUDA driver (libcuda.so.1): ") + why;
    return d;
  }
  resolve(lib, d.init, "cuInit");
  resolve(lib, d.device_get_count, "cuDeviceGetCount");
  resolve(lib, d.device_get, "cuDeviceGet");
  resolve(lib, d.primary_ctx_get_state, "cuDevicePrimaryCtxGetState");
  resolve(lib, d.primary_ctx_retain, "cuDevicePrimaryCtxRetain");
  resolve(lib, d.primary_ctx_release, "cuDevicePrimaryCtxRelease_v2");
  if (d.primary_ctx_release == nullptr) resolve(lib, d.primary_ctx_release, "cuDevicePrimaryCtxRelease");
  resolve(lib, d.ctx_push, "cuCtxPushCurrent_v2");
  resolve(lib, d.ctx_pop, "cuCtxPopCurrent_v2");
  resolve(lib, d.ctx_synchronize, "cuCtxSynchronize");
  resolve(lib, d.get_error_string, "cuGetErrorString");
  if (!d.init || !d.device_get_count || !d.device_get || !d.primary_ctx_get_state || !d.primary_ctx_retain ||
      !d.primary_ctx_release || !d.ctx_push || !d.ctx_pop || !d.ctx_synchronize) {
    d.error = "libcuda.so.1 lacks the primary-context API";
    return d;
  }
  const CuResult rc = d.init(0);
  if (rc != 0) d.error = "cuInit failed (CUresult " + std::to_string(rc) + ")";
  return d;
}

const Driver& driver() {
  static const Driver instance = load();
  return instance;
}

}  // namespace

std::string driver_unavailable_reason() { return driver().error; }

int synchronize_active_devices() {
  const Driver& d = driver();
  if (!d.error.empty()) return 0;
  int count = 0;
  if (d.device_get_count(&count) != 0) return 0;
  int synced = 0;
  for (int i = 0; i < count; ++i) {
    CuDevice dev = 0;
    unsigned int flags = 0;
    int active = 0;
    if (d.device_get(&dev, i) != 0 || d.primary_ctx_get_state(dev, &flags, &active) != 0 || active == 0) continue;
    CuContext ctx = nullptr;
    if (d.primary_ctx_retain(&ctx, dev) != 0) continue;
    CuResult rc = d.ctx_push(ctx);
    if (rc == 0) {
      rc = d.ctx_synchronize();
      CuContext popped = nullptr;
      d.ctx_pop(&popped);
    }
    d.primary_ctx_release(dev);
    if (rc != 0) {
      const char* text = nullptr;
      if (d.get_error_string != nullptr) d.get_error_string(rc, &text);
      throw CudaUnavailable("synchronising CUDA device " + std::to_string(i) + " failed: " +
                            (text ? text : "CUDA error") + " (CUresult " + std::to_string(rc) + ")");
    }
    ++synced;
  }
  return synced;
}

}  // namespace energylens
