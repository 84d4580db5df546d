// Kernel-boundary timestamps from CUPTI's activity API. libcupti (libcupti.so.13 / libcupti.so,
// shipped with the CUDA toolkit) is loaded with dlopen; the few CUPTI types used are declared in
// cupti.cpp, so the core compiles without CUDA headers. GPU timestamps (cuptiGetTimestamp's
// clock) are mapped onto the steady clock by bracketing reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "energylens/clock.hpp"

namespace energylens::cupti {

/// One kernel, memcpy or memset as CUPTI recorded it, on the steady clock.
struct ActivityRecord {
  std::int64_t start_ns = 0;  ///< steady-clock ns
  std::int64_t end_ns = 0;    ///< steady-clock ns
  std::int32_t device = 0;    ///< CUDA device ordinal
  std::uint32_t stream = 0;   ///< CUDA stream id
  std::string name;           ///< kernel name (mangled) or "memcpy_HtoD", "memset", ...
  std::string kind;           ///< "kernel", "memcpy" or "memset"
};

/// Why CUPTI cannot be loaded (the loader's message and the fix), or "" when it loads.
std::string unavailable_reason();

/// Starts recording kernels (and memcpy/memset when asked); throws CuptiUnavailable with the
/// loader's or CUPTI's own message when libcupti is absent or activity cannot be enabled (no
/// driver, another profiler active). One recording per process at a time (energylens::Error).
void enable(bool memcpy = true, bool memset = true);
/// Flushes CUPTI's buffers and returns the records completed since the last call.
std::vector<ActivityRecord> flush();
/// Stops recording (returns what was still buffered).
std::vector<ActivityRecord> disable();
/// True while recording.
bool enabled() noexcept;
/// Records CUPTI dropped (buffers full) since enable().
std::uint64_t dropped() noexcept;
/// The current mapping of CUPTI's timestamps onto the steady clock (throws when not loaded).
clock::ClockMapping timestamp_mapping();

}  // namespace energylens::cupti
