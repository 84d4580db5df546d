// CUDA-event stream marks and device UUIDs (see cpp/include/energylens/stream_marks.hpp).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "energylens/clock.hpp"
#include "energylens/error.hpp"
#include "energylens/stream_marks.hpp"

namespace energylens::cuda {
namespace {

void check_cuda(cudaError_t rc, const char* call) {
  if (rc == cudaSuccess) return;
  cudaGetLastError();
  throw CudaUnavailable(std::string(call) + " failed: " + cudaGetErrorName(rc) + ": " + cudaGetErrorString(rc));
}

}  // namespace

std::vector<std::string> device_uuids() noexcept {
  std::vector<std::string> out;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return out;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
      cudaGetLastError();
      return {};
    }
    const auto* b = reinterpret_cast<const unsigned char*>(prop.uuid.bytes);
    char text[64];
    std::snprintf(text, sizeof(text),
                  "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                  b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    out.emplace_back(text);
  }
  return out;
}

// Each mark is timed from the newest anchor recorded before it: an event whose steady-clock time was
// bracketed on the host. cudaEventElapsedTime returns float milliseconds, whose step grows with the
// interval (0.24 us at 4 s, 62.5 us at 10 min), and one anchor would also leave any rate difference
// between the GPU timer and the steady clock uncorrected, so a new anchor is taken once the newest is
// kAnchorMaxAgeNs old: recorded into a private non-blocking stream (empty, so the event completes as
// soon as the GPU sees it, without waiting for the application's streams or synchronising the device).
constexpr std::int64_t kAnchorMaxAgeNs = 2'000'000'000;

struct StreamMarks::Impl {
  struct Anchor {
    cudaEvent_t event;
    std::int64_t ns;
  };
  struct Pending {
    cudaEvent_t event;
    std::int32_t label;
    std::int32_t device;
    std::size_t anchor;  ///< index into anchors
  };
  std::vector<Anchor> anchors;  ///< time order; the newest last
  std::int64_t uncertainty_ns = 0;
  int device = 0;
  cudaStream_t anchor_stream = nullptr;
  std::vector<Pending> pending;
  std::vector<cudaEvent_t> pool;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  // Here, not in ~StreamMarks: a constructor that throws after creating the stream or an anchor destroys its
  // members (impl_ included) but never runs the outer destructor. Each event is in exactly one list.
  ~Impl() {
    for (auto& p : pending) cudaEventDestroy(p.event);
    for (auto e : pool) cudaEventDestroy(e);
    for (auto& a : anchors) cudaEventDestroy(a.event);
    if (anchor_stream != nullptr) cudaStreamDestroy(anchor_stream);
  }

  cudaEvent_t take() {
    cudaEvent_t event = nullptr;
    if (!pool.empty()) {
      event = pool.back();
      pool.pop_back();
    } else {
      check_cuda(cudaEventCreate(&event), "cudaEventCreate");
    }
    return event;
  }

  // The tightest of `tries` brackets of an event recorded into `stream` (which must hold no work) and
  // synchronised while the steady clock is read around it.
  void anchor(cudaStream_t stream, int tries) {
    std::int64_t best = INT64_MAX;
    Anchor kept{nullptr, 0};
    for (int i = 0; i < tries; ++i) {
      cudaEvent_t event = take();
      const std::int64_t before = clock::steady_now_ns();
      try {
        check_cuda(cudaEventRecord(event, stream), "cudaEventRecord");
        check_cuda(cudaEventSynchronize(event), "cudaEventSynchronize");
      } catch (...) {
        pool.push_back(event);
        if (kept.event != nullptr) pool.push_back(kept.event);
        throw;
      }
      const std::int64_t after = clock::steady_now_ns();
      if (after - before < best) {
        best = after - before;
        if (kept.event != nullptr) pool.push_back(kept.event);
        kept = {event, before + best / 2};
      } else {
        pool.push_back(event);
      }
    }
    anchors.push_back(kept);
    uncertainty_ns = std::max(uncertainty_ns, (best + 1) / 2);
  }
};

StreamMarks::StreamMarks() : impl_(std::make_unique<Impl>()) {
  int count = 0;
  check_cuda(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (count == 0) throw CudaUnavailable("stream marks: the CUDA driver reports no devices");
  check_cuda(cudaGetDevice(&impl_->device), "cudaGetDevice");
  check_cuda(cudaStreamCreateWithFlags(&impl_->anchor_stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  // The first anchor on the legacy default stream after a synchronise: the device is idle, so the event
  // completes as soon as it is recorded and its time lies between the two steady reads.
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  impl_->anchor(nullptr, 5);
}

StreamMarks::~StreamMarks() = default;  // Impl's destructor frees the events and the stream

void StreamMarks::record(std::int32_t label, std::uintptr_t stream) {
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  if (device != impl_->device) {  // its events and anchors belong to the device current at construction
    throw CudaUnavailable("stream marks: record() on CUDA device " + std::to_string(device) +
                          ", but these marks were created on device " + std::to_string(impl_->device) +
                          "; create one StreamMarks per device, each while that device is current");
  }
  if (clock::steady_now_ns() - impl_->anchors.back().ns > kAnchorMaxAgeNs) impl_->anchor(impl_->anchor_stream, 3);
  cudaEvent_t event = impl_->take();
  try {
    check_cuda(cudaEventRecord(event, reinterpret_cast<cudaStream_t>(stream)), "cudaEventRecord");
  } catch (...) {
    impl_->pool.push_back(event);
    throw;
  }
  impl_->pending.push_back({event, label, device, impl_->anchors.size() - 1});
}

std::vector<StreamMark> StreamMarks::collect() {
  std::vector<StreamMark> out;
  out.reserve(impl_->pending.size());
  std::size_t done = 0;  // marks collected, their events back in the pool
  try {
    for (; done < impl_->pending.size(); ++done) {
      const auto& p = impl_->pending[done];
      check_cuda(cudaEventSynchronize(p.event), "cudaEventSynchronize");
      const auto& a = impl_->anchors[p.anchor];
      float ms = 0.0f;
      check_cuda(cudaEventElapsedTime(&ms, a.event, p.event), "cudaEventElapsedTime");
      out.push_back({a.ns + static_cast<std::int64_t>(static_cast<double>(ms) * 1e6), p.label, p.device});
      impl_->pool.push_back(p.event);
    }
  } catch (...) {
    // the pooled events leave `pending`: each event in one list only (destroyed once, never reused while pending)
    impl_->pending.erase(impl_->pending.begin(), impl_->pending.begin() + static_cast<std::ptrdiff_t>(done));
    throw;
  }
  impl_->pending.clear();
  // Only the newest anchor can time a later mark: the others go back to the pool.
  for (std::size_t i = 0; i + 1 < impl_->anchors.size(); ++i) impl_->pool.push_back(impl_->anchors[i].event);
  impl_->anchors.erase(impl_->anchors.begin(), impl_->anchors.end() - 1);
  return out;
}

std::int64_t StreamMarks::uncertainty_ns() const noexcept { return impl_->uncertainty_ns; }

}  // namespace energylens::cuda
