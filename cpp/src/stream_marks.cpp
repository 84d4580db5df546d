// The CPU-only half of stream_marks.hpp: used when the CUDA part is not built in.
#include "energylens/stream_marks.hpp"

#include "energylens/error.hpp"

#ifndef ENERGYLENS_HAVE_CUDA
namespace energylens::cuda {

struct StreamMarks::Impl {};

std::vector<std::string> device_uuids() noexcept { return {}; }

StreamMarks::StreamMarks() {
  throw CudaUnavailable("stream marks need the CUDA part, which this build lacks (nvcc not found at "
                        "build time, or ENERGYLENS_ENABLE_CUDA=OFF); rebuild with nvcc on PATH");
}
StreamMarks::~StreamMarks() = default;
void StreamMarks::record(std::int32_t, std::uintptr_t) {}
std::vector<StreamMark> StreamMarks::collect() { return {}; }
std::int64_t StreamMarks::uncertainty_ns() const noexcept { return 0; }

}  // namespace energylens::cuda
#endif
