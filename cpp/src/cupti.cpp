#include "energylens/cupti.hpp"

#include <dlfcn.h>

#include "energylens/cupti_layout.hpp"
#include "energylens/dynamic_library.hpp"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "energylens/error.hpp"

namespace energylens::cupti {
namespace {

// The CUPTI ABI used here: cupti_layout.hpp (checked against the toolkit's headers at build time).
namespace layout = energylens::cupti::layout;
using Result = int;
using layout::kKindConcurrentKernel;
using layout::kKindMemcpy;
using layout::kKindMemset;
using layout::kSuccess;

using RequestFn = void (*)(std::uint8_t**, std::size_t*, std::size_t*);
using CompleteFn = void (*)(void*, std::uint32_t, std::uint8_t*, std::size_t, std::size_t);

struct Api {
  Result (*activity_enable)(int) = nullptr;
  Result (*activity_disable)(int) = nullptr;
  Result (*register_callbacks)(RequestFn, CompleteFn) = nullptr;
  Result (*flush_all)(std::uint32_t) = nullptr;
  Result (*get_next_record)(std::uint8_t*, std::size_t, void**) = nullptr;
  Result (*get_timestamp)(std::uint64_t*) = nullptr;
  Result (*get_result_string)(Result, const char**) = nullptr;
  Result (*get_version)(std::uint32_t*) = nullptr;
  Result (*get_num_dropped)(void*, std::uint32_t, std::size_t*) = nullptr;
  std::uint32_t version = 0;
  std::string error;
};

using dynlib::resolve;

Api load() {
  Api a;
  const char* env = std::getenv("ENERGYLENS_CUPTI_LIBRARY");
  if (env != nullptr && *env == '\0') env = nullptr;  // exported empty: as if unset
  std::string tried;
  void* lib = nullptr;
  // A CUPTI already in the process (e.g. PyTorch's, for its profiler) is the one to use: a second
  // copy would compete for the same activity callbacks.
  if (env == nullptr) {
    for (const char* path : {"libcupti.so.13", "libcupti.so.12", "libcupti.so"}) {
      lib = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
      if (lib != nullptr) break;
    }
  }
  if (lib == nullptr)
    lib = dynlib::open_first({env, "libcupti.so.13", "libcupti.so", "/usr/local/cuda/extras/CUPTI/lib64/libcupti.so",
                              "/usr/local/cuda/lib64/libcupti.so"},
                             tried);
  if (lib == nullptr) {
    a.error = "cannot load CUPTI (" + tried +
              "). Fix: install the CUDA toolkit (it ships libcupti.so.13 under lib64 or "
              "extras/CUPTI/lib64), add that folder to LD_LIBRARY_PATH, or point "
              "ENERGYLENS_CUPTI_LIBRARY at libcupti.so";
    return a;
  }
  resolve(lib, a.activity_enable, "cuptiActivityEnable");
  resolve(lib, a.activity_disable, "cuptiActivityDisable");
  resolve(lib, a.register_callbacks, "cuptiActivityRegisterCallbacks");
  resolve(lib, a.flush_all, "cuptiActivityFlushAll");
  resolve(lib, a.get_next_record, "cuptiActivityGetNextRecord");
  resolve(lib, a.get_timestamp, "cuptiGetTimestamp");
  resolve(lib, a.get_result_string, "cuptiGetResultString");
  resolve(lib, a.get_version, "cuptiGetVersion");
  resolve(lib, a.get_num_dropped, "cuptiActivityGetNumDroppedRecords");
  if (!a.activity_enable || !a.activity_disable || !a.register_callbacks || !a.flush_all || !a.get_next_record ||
      !a.get_timestamp) {
    a.error = "the CUPTI library lacks the activity API (cuptiActivityEnable ... cuptiGetTimestamp)";
    return a;
  }
  if (a.get_version != nullptr) a.get_version(&a.version);
  return a;
}

const Api& api_or_empty() {
  static const Api instance = load();
  return instance;
}

const Api& api() {
  const Api& a = api_or_empty();
  if (!a.error.empty()) throw CuptiUnavailable(a.error);
  return a;
}

std::string result_string(Result rc) {
  const Api& a = api_or_empty();
  const char* text = nullptr;
  if (a.get_result_string != nullptr) a.get_result_string(rc, &text);
  return std::string(text != nullptr ? text : "CUPTI error") + " (CUptiResult " + std::to_string(rc) + ")";
}

struct State {
  std::mutex mutex;
  bool enabled = false;
  bool memcpy = false;
  bool memset = false;
  std::vector<ActivityRecord> completed;
  clock::ClockMapping mapping;
  std::uint64_t dropped = 0;
};

State& state() {
  // Never destroyed: CUPTI may deliver a last buffer from its own thread during process exit.
  static State* s = new State;
  return *s;
}

template <typename T>
T read_at(const std::uint8_t* record, std::size_t offset) {
  T value;
  std::memcpy(&value, record + offset, sizeof(T));
  return value;
}

const char* memcpy_name(std::uint8_t kind) {
  switch (kind) {
    case layout::kCopyHtoD: return "memcpy_HtoD";
    case layout::kCopyDtoH: return "memcpy_DtoH";
    case layout::kCopyDtoD: return "memcpy_DtoD";
    case layout::kCopyHtoH: return "memcpy_HtoH";
    case layout::kCopyPtoP: return "memcpy_PtoP";
    default: return "memcpy";
  }
}

void on_request(std::uint8_t** buffer, std::size_t* size, std::size_t* max_records) noexcept {
  constexpr std::size_t kBytes = 8u << 20;
  *buffer = static_cast<std::uint8_t*>(std::aligned_alloc(8, kBytes));
  *size = *buffer != nullptr ? kBytes : 0;
  *max_records = 0;
}

// Decodes one buffer's records (kernel, memcpy, memset; other kinds skipped) onto the steady clock.
std::vector<ActivityRecord> decode(const Api& a, const clock::ClockMapping& mapping, std::uint8_t* buffer,
                                   std::size_t valid) {
  std::vector<ActivityRecord> records;
  void* raw = nullptr;
  while (a.get_next_record(buffer, valid, &raw) == kSuccess) {
    const auto* r = static_cast<const std::uint8_t*>(raw);
    const int kind = read_at<std::int32_t>(r, layout::kKind);
    ActivityRecord out;
    out.start_ns = mapping.to_steady_ns(static_cast<std::int64_t>(read_at<std::uint64_t>(r, layout::kStart)));
    out.end_ns = mapping.to_steady_ns(static_cast<std::int64_t>(read_at<std::uint64_t>(r, layout::kEnd)));
    if (kind == kKindConcurrentKernel) {
      out.kind = "kernel";
      out.device = static_cast<std::int32_t>(read_at<std::uint32_t>(r, layout::kKernelDevice));
      out.stream = read_at<std::uint32_t>(r, layout::kKernelStream);
      if (a.version >= layout::kKernelNameMinVersion) {
        const char* name = read_at<const char*>(r, layout::kKernelName);
        if (name != nullptr) out.name = name;
      }
    } else if (kind == kKindMemcpy) {
      out.kind = "memcpy";
      out.name = memcpy_name(read_at<std::uint8_t>(r, layout::kMemcpyCopyKind));
      out.device = static_cast<std::int32_t>(read_at<std::uint32_t>(r, layout::kMemcpyDevice));
      out.stream = read_at<std::uint32_t>(r, layout::kMemcpyStream);
    } else if (kind == kKindMemset) {
      out.kind = "memset";
      out.name = "memset";
      out.device = static_cast<std::int32_t>(read_at<std::uint32_t>(r, layout::kMemsetDevice));
      out.stream = read_at<std::uint32_t>(r, layout::kMemsetStream);
    } else {
      continue;
    }
    records.push_back(std::move(out));
  }
  return records;
}

// CUPTI calls this from its own thread, through C frames: nothing may propagate out of it. A buffer whose
// records cannot be stored (out of memory; nothing of it is kept then) is freed and all its records are
// counted as dropped, which dropped() reports, instead of terminating the process being measured.
void on_complete(void* context, std::uint32_t stream, std::uint8_t* buffer, std::size_t, std::size_t valid) noexcept {
  const Api& a = api_or_empty();
  State& s = state();
  try {
    clock::ClockMapping mapping;
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      mapping = s.mapping;
    }
    std::vector<ActivityRecord> records = decode(a, mapping, buffer, valid);
    std::size_t dropped = 0;
    if (a.get_num_dropped != nullptr) a.get_num_dropped(context, stream, &dropped);
    std::lock_guard<std::mutex> lock(s.mutex);
    s.dropped += dropped;
    s.completed.reserve(s.completed.size() + records.size());
    for (auto& r : records) s.completed.push_back(std::move(r));
  } catch (...) {
    std::uint64_t in_buffer = 0;
    for (void* raw = nullptr; a.get_next_record(buffer, valid, &raw) == kSuccess;) ++in_buffer;
    std::lock_guard<std::mutex> lock(s.mutex);
    s.dropped += in_buffer;
  }
  std::free(buffer);
}

clock::ClockMapping measure_mapping(const Api& a) {
  return clock::estimate_mapping(
      [&a] {
        std::uint64_t t = 0;
        a.get_timestamp(&t);
        return static_cast<std::int64_t>(t);
      },
      7);
}

}  // namespace

std::string unavailable_reason() { return api_or_empty().error; }

clock::ClockMapping timestamp_mapping() { return measure_mapping(api()); }

void enable(bool memcpy, bool memset) {
  const Api& a = api();
  State& s = state();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.enabled)
      throw Error("CUPTI activity recording is already enabled in this process (cupti::enable); one "
                  "recording at a time: stop the running KernelTracer first");
  }
  Result rc = a.register_callbacks(&on_request, &on_complete);
  if (rc != kSuccess) throw CuptiUnavailable("cuptiActivityRegisterCallbacks failed: " + result_string(rc));
  std::vector<int> kinds{kKindConcurrentKernel};
  if (memcpy) kinds.push_back(kKindMemcpy);
  if (memset) kinds.push_back(kKindMemset);
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    rc = a.activity_enable(kinds[i]);
    if (rc != kSuccess) {
      for (std::size_t j = 0; j < i; ++j) a.activity_disable(kinds[j]);
      throw CuptiUnavailable("cuptiActivityEnable(" + std::to_string(kinds[i]) + ") failed: " + result_string(rc) +
                             ". Fix: CUPTI needs a working NVIDIA driver and no other profiler "
                             "(Nsight, another CUPTI client) attached to the process");
    }
  }
  std::lock_guard<std::mutex> lock(s.mutex);
  s.enabled = true;
  s.memcpy = memcpy;
  s.memset = memset;
  s.dropped = 0;
  s.completed.clear();
  s.mapping = measure_mapping(a);
}

std::vector<ActivityRecord> flush() {
  const Api& a = api();
  State& s = state();
  {
    const clock::ClockMapping m = measure_mapping(a);  // re-measured before the records map
    std::lock_guard<std::mutex> lock(s.mutex);
    s.mapping = m;
  }
  const Result rc = a.flush_all(layout::kFlushForced);
  if (rc != kSuccess) throw CuptiUnavailable("cuptiActivityFlushAll failed: " + result_string(rc));
  std::lock_guard<std::mutex> lock(s.mutex);
  std::vector<ActivityRecord> out;
  out.swap(s.completed);
  return out;
}

std::vector<ActivityRecord> disable() {
  const Api& a = api();
  State& s = state();
  bool memcpy = false;
  bool memset = false;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!s.enabled) return {};
    memcpy = s.memcpy;
    memset = s.memset;
  }
  std::vector<ActivityRecord> out = flush();
  a.activity_disable(kKindConcurrentKernel);
  if (memcpy) a.activity_disable(kKindMemcpy);
  if (memset) a.activity_disable(kKindMemset);
  std::lock_guard<std::mutex> lock(s.mutex);
  s.enabled = false;
  return out;
}

bool enabled() noexcept {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.enabled;
}

std::uint64_t dropped() noexcept {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.dropped;
}

}  // namespace energylens::cupti
