// Stream marks with CUDA events: a lighter path than CUPTI to timestamp points in a CUDA stream
// on the steady clock. Implemented in cuda/stream_marks.cu when the CUDA part is built, and in
// cpp/src/stream_marks.cpp (raising CudaUnavailable) otherwise. No CUDA types here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace energylens::cuda {

/// UUIDs ("GPU-xxxxxxxx-xxxx-...") of the CUDA devices this process sees, in CUDA order; empty
/// when the CUDA part is absent or no device is usable. Never throws.
std::vector<std::string> device_uuids() noexcept;

/// One resolved stream mark.
struct StreamMark {
  std::int64_t t_ns = 0;  ///< steady-clock ns at which the GPU reached the mark
  std::int32_t label = 0;  ///< the label id given to record()
  std::int32_t device = 0; ///< CUDA device the event was recorded on
};

/// Records CUDA events into streams and turns them into steady-clock times: an anchor event is
/// recorded and synchronised while the steady clock is read around it; a later event's time is its
/// anchor's time plus cudaEventElapsedTime. A new anchor is taken when the newest is 2 s old (on a
/// private non-blocking stream, not synchronising the device), so the float milliseconds of
/// cudaEventElapsedTime keep a step of ~0.25 us and the GPU timer's rate against the steady clock
/// is re-read every 2 s. Error ~ the bracket. One device: the one current at construction.
class StreamMarks {
 public:
  /// Throws CudaUnavailable when CUDA is not built in or no device is usable.
  StreamMarks();
  /// Destroys the events still pending (their marks are lost) and the anchor stream.
  ~StreamMarks();
  /// Not copyable: the recorded events belong to one object.
  StreamMarks(const StreamMarks&) = delete;
  /// Not copyable.
  StreamMarks& operator=(const StreamMarks&) = delete;
  /// Records an event with `label` into `stream` (a cudaStream_t as an integer; 0 = legacy default).
  void record(std::int32_t label, std::uintptr_t stream);
  /// Waits for every recorded event and returns their steady-clock times (and forgets them).
  std::vector<StreamMark> collect();
  /// The widest bracket half-width of the anchors' steady times so far, ns.
  [[nodiscard]] std::int64_t uncertainty_ns() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace energylens::cuda
