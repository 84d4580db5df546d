// DCGM as an optional further power source (libdcgm.so.4/.3, dlopen'd; needs a running
// nv-hostengine). Its absence is reported like NVML's and is never fatal unless asked for.
// Only the few DCGM types used are declared here (ABI of dcgm_structs.h / dcgm_agent.h). Implements
// the DCGM section of power_source.hpp.

#include "energylens/dynamic_library.hpp"

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <mutex>

#include "energylens/clock.hpp"
#include "energylens/error.hpp"
#include "energylens/power_source.hpp"

namespace energylens {
namespace {

using DcgmReturn = int;
using DcgmHandle = std::uintptr_t;
using DcgmGroup = std::uintptr_t;
using DcgmFieldGroup = std::uintptr_t;

constexpr unsigned short kFieldPowerUsage = 155;     // DCGM_FI_DEV_POWER_USAGE (W, double)
constexpr unsigned short kFieldTotalEnergy = 156;    // DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION (mJ, int64)
constexpr unsigned short kFieldPowerInstant = 157;   // DCGM_FI_DEV_POWER_USAGE_INSTANT (W, double)
constexpr int kGroupEmpty = 1;                       // DCGM_GROUP_EMPTY

// dcgmFieldValue_v1.
struct DcgmFieldValue {
  unsigned int version;
  unsigned short field_id;
  unsigned short field_type;
  int status;
  std::int64_t ts_us;
  union {
    std::int64_t i64;
    double dbl;
    char str[256];
    char blob[4096];
  } value;
};
constexpr unsigned int kFieldValueVersion = static_cast<unsigned int>(sizeof(DcgmFieldValue)) | (1u << 24);

struct DcgmApi {
  DcgmReturn (*init)() = nullptr;
  DcgmReturn (*connect)(const char*, DcgmHandle*) = nullptr;
  DcgmReturn (*group_create)(DcgmHandle, int, const char*, DcgmGroup*) = nullptr;
  DcgmReturn (*group_add_device)(DcgmHandle, DcgmGroup, unsigned int) = nullptr;
  DcgmReturn (*field_group_create)(DcgmHandle, int, unsigned short*, const char*, DcgmFieldGroup*) = nullptr;
  DcgmReturn (*watch_fields)(DcgmHandle, DcgmGroup, DcgmFieldGroup, long long, double, int) = nullptr;
  DcgmReturn (*get_latest)(DcgmHandle, int, unsigned short*, unsigned int, DcgmFieldValue*) = nullptr;
  const char* (*error_string)(DcgmReturn) = nullptr;
  DcgmHandle handle = 0;
  std::string error;  // empty when loaded and connected
};

using dynlib::resolve;

DcgmApi load() {
  DcgmApi a;
  const char* env = std::getenv("ENERGYLENS_DCGM_LIBRARY");
  std::string tried;
  void* lib = dynlib::open_first({env, "libdcgm.so.4", "libdcgm.so.3", "libdcgm.so"}, tried);
  if (lib == nullptr) {
    a.error = "cannot load DCGM (" + tried +
              "). Fix: install DCGM (datacenter-gpu-manager) and start nv-hostengine, or point "
              "ENERGYLENS_DCGM_LIBRARY at libdcgm.so; DCGM is optional, NVML suffices";
    return a;
  }
  resolve(lib, a.init, "dcgmInit");
  resolve(lib, a.connect, "dcgmConnect");
  resolve(lib, a.group_create, "dcgmGroupCreate");
  resolve(lib, a.group_add_device, "dcgmGroupAddDevice");
  resolve(lib, a.field_group_create, "dcgmFieldGroupCreate");
  resolve(lib, a.watch_fields, "dcgmWatchFields");
  resolve(lib, a.get_latest, "dcgmGetLatestValuesForFields");
  resolve(lib, a.error_string, "errorString");
  if (!a.init || !a.connect || !a.group_create || !a.group_add_device || !a.field_group_create ||
      !a.watch_fields || !a.get_latest) {
    a.error = "the DCGM library lacks dcgmInit/dcgmConnect/dcgmWatchFields/dcgmGetLatestValuesForFields";
    return a;
  }
  auto message = [&](DcgmReturn rc) {
    return std::string(a.error_string ? a.error_string(rc) : "DCGM error") + " (dcgmReturn_t " + std::to_string(rc) + ")";
  };
  DcgmReturn rc = a.init();
  if (rc != 0) {
    a.error = "dcgmInit failed: " + message(rc);
    return a;
  }
  char host[] = "127.0.0.1";
  rc = a.connect(host, &a.handle);
  if (rc != 0) {
    a.error = "no DCGM host engine answered at 127.0.0.1: " + message(rc) +
              ". Fix: start it (sudo nv-hostengine) or leave DCGM off";
  }
  return a;
}

DcgmApi& dcgm() {
  static DcgmApi instance = load();
  return instance;
}

class DcgmSource final : public PowerSource {
 public:
  DcgmSource(std::vector<NvmlGpu> gpus, std::int64_t poll_interval_ns)
      : gpus_(std::move(gpus)), poll_interval_ns_(poll_interval_ns) {}
  std::string name() const override { return "dcgm"; }
  int gpu_count() const override { return static_cast<int>(gpus_.size()); }
  void start(std::int64_t) override {
    DcgmApi& a = dcgm();
    if (!a.error.empty()) throw DcgmUnavailable(a.error);
    DcgmGroup group = 0;
    check(a.group_create(a.handle, kGroupEmpty, "energylens", &group), "dcgmGroupCreate");
    for (const auto& g : gpus_) check(a.group_add_device(a.handle, group, g.index), "dcgmGroupAddDevice");
    unsigned short fields[] = {kFieldPowerInstant, kFieldPowerUsage, kFieldTotalEnergy};
    DcgmFieldGroup field_group = 0;
    check(a.field_group_create(a.handle, 3, fields, "energylens_power", &field_group), "dcgmFieldGroupCreate");
    check(a.watch_fields(a.handle, group, field_group, poll_interval_ns_ / 1000, 10.0, 0), "dcgmWatchFields");
    last_ts_.assign(gpus_.size() * 2, 0);
  }
  void poll(std::int64_t, std::vector<PowerSample>& out) override {
    DcgmApi& a = dcgm();
    const clock::ClockMapping mapping = clock::wall_to_steady(3);
    unsigned short fields[] = {kFieldPowerInstant, kFieldPowerUsage, kFieldTotalEnergy};
    DcgmFieldValue values[3];
    for (std::size_t g = 0; g < gpus_.size(); ++g) {
      for (auto& v : values) v.version = kFieldValueVersion;
      check(a.get_latest(a.handle, static_cast<int>(gpus_[g].index), fields, 3, values),
            "dcgmGetLatestValuesForFields");
      const DcgmFieldValue& power = values[0].status == 0 ? values[0] : values[1];
      if (power.status == 0 && power.ts_us > last_ts_[2 * g]) {
        last_ts_[2 * g] = power.ts_us;
        out.push_back({clock::wall_us_to_steady_ns(static_cast<std::uint64_t>(power.ts_us), mapping),
                       static_cast<std::int32_t>(g), static_cast<std::int32_t>(Signal::kDcgmPower), power.value.dbl,
                       std::numeric_limits<double>::quiet_NaN()});
      }
      if (values[2].status == 0 && values[2].ts_us > last_ts_[2 * g + 1]) {
        last_ts_[2 * g + 1] = values[2].ts_us;
        out.push_back({clock::wall_us_to_steady_ns(static_cast<std::uint64_t>(values[2].ts_us), mapping),
                       static_cast<std::int32_t>(g), static_cast<std::int32_t>(Signal::kDcgmEnergy),
                       std::numeric_limits<double>::quiet_NaN(), static_cast<double>(values[2].value.i64) / 1000.0});
      }
    }
  }
  std::int64_t poll_interval_ns() const override { return poll_interval_ns_; }
  std::int64_t update_period_ns() const override { return poll_interval_ns_; }
  bool period_detected() const override { return false; }

 private:
  static void check(DcgmReturn rc, const char* call) {
    if (rc == 0) return;
    const DcgmApi& a = dcgm();
    throw DcgmUnavailable(std::string(call) + " failed: " + (a.error_string ? a.error_string(rc) : "DCGM error") +
                          " (dcgmReturn_t " + std::to_string(rc) + ")");
  }
  std::vector<NvmlGpu> gpus_;
  std::int64_t poll_interval_ns_;
  std::vector<std::int64_t> last_ts_;
};

}  // namespace

std::string dcgm_unavailable_reason() { return dcgm().error; }

std::unique_ptr<PowerSource> make_dcgm_source(const std::vector<NvmlGpu>& gpus, std::int64_t poll_interval_ns) {
  if (poll_interval_ns <= 0) throw std::invalid_argument("dcgm source: poll interval must be > 0");
  const std::string reason = dcgm_unavailable_reason();
  if (!reason.empty()) throw DcgmUnavailable(reason);
  return std::make_unique<DcgmSource>(gpus, poll_interval_ns);
}

}  // namespace energylens
