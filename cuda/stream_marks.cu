// CUDA-event stream marks and device UUIDs (see cpp/include/energylens/stream_marks.hpp).
#include <cuda_runtime_api.h>

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

struct StreamMarks::Impl {
  struct Pending {
    cudaEvent_t event;
    std::int32_t label;
    std::int32_t device;
  };
  cudaEvent_t reference = nullptr;
  std::int64_t reference_ns = 0;
  std::int64_t uncertainty_ns = 0;
  int device = 0;
  std::vector<Pending> pending;
  std::vector<cudaEvent_t> pool;
};

StreamMarks::StreamMarks() : impl_(std::make_unique<Impl>()) {
  int count = 0;
  check_cuda(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (count == 0) throw CudaUnavailable("stream marks: the CUDA driver reports no devices");
  check_cuda(cudaGetDevice(&impl_->device), "cudaGetDevice");
  // Bracket a reference event: after a synchronise the device is idle, so an event completes as
  // soon as it is recorded and its time lies between the two steady reads. Keep the tightest.
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  std::int64_t best = INT64_MAX;
  for (int i = 0; i < 5; ++i) {
    cudaEvent_t event = nullptr;
    check_cuda(cudaEventCreate(&event), "cudaEventCreate");
    const std::int64_t before = clock::steady_now_ns();
    check_cuda(cudaEventRecord(event, nullptr), "cudaEventRecord");
    check_cuda(cudaEventSynchronize(event), "cudaEventSynchronize");
    const std::int64_t after = clock::steady_now_ns();
    if (after - before < best) {
      best = after - before;
      impl_->reference_ns = before + best / 2;
      impl_->uncertainty_ns = (best + 1) / 2;
      if (impl_->reference != nullptr) impl_->pool.push_back(impl_->reference);
      impl_->reference = event;
    } else {
      impl_->pool.push_back(event);
    }
  }
}

StreamMarks::~StreamMarks() {
  if (!impl_) return;
  for (auto& p : impl_->pending) cudaEventDestroy(p.event);
  for (auto e : impl_->pool) cudaEventDestroy(e);
  if (impl_->reference != nullptr) cudaEventDestroy(impl_->reference);
}

void StreamMarks::record(std::int32_t label, std::uintptr_t stream) {
  cudaEvent_t event = nullptr;
  if (!impl_->pool.empty()) {
    event = impl_->pool.back();
    impl_->pool.pop_back();
  } else {
    check_cuda(cudaEventCreate(&event), "cudaEventCreate");
  }
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  check_cuda(cudaEventRecord(event, reinterpret_cast<cudaStream_t>(stream)), "cudaEventRecord");
  impl_->pending.push_back({event, label, device});
}

std::vector<StreamMark> StreamMarks::collect() {
  std::vector<StreamMark> out;
  out.reserve(impl_->pending.size());
  for (auto& p : impl_->pending) {
    check_cuda(cudaEventSynchronize(p.event), "cudaEventSynchronize");
    float ms = 0.0f;
    check_cuda(cudaEventElapsedTime(&ms, impl_->reference, p.event), "cudaEventElapsedTime");
    out.push_back({impl_->reference_ns + static_cast<std::int64_t>(static_cast<double>(ms) * 1e6), p.label,
                   p.device});
    impl_->pool.push_back(p.event);
  }
  impl_->pending.clear();
  return out;
}

std::int64_t StreamMarks::uncertainty_ns() const noexcept { return impl_->uncertainty_ns; }

}  // namespace energylens::cuda
