// Thread counts and instruction-set levels for the native loops, set once per process.
//
// Threads: the loops use at most max_threads() threads (default: the CPUs this process may run on,
// from its affinity mask, not the machine's core count), and never more than one per
// min_rows_per_thread rows, so small inputs stay on one thread where start-up and the closing barrier
// would cost more than the work. Work is handed out in chunks on demand, so a thread the OS has
// descheduled (another process busy on its core) delays only its current chunk, not a fixed share;
// run_chunks() never waits for a helper that has not claimed a chunk, so a helper the OS has not woken
// yet costs nothing.
//
// Instruction sets: the evaluator's loop is compiled for x86-64 baseline, x86-64-v3 (AVX2 + FMA) and
// x86-64-v4 (AVX-512); the best level the CPU supports runs unless set_isa() asks for a lower one (tests
// compare the levels; users never need to).
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

namespace energylens {

/// Threads the native loops may use: the calling thread's set_thread_max_threads() value, else the
/// set_max_threads() value, or by default the CPUs in this process's affinity mask (capped by OpenMP's
/// own limit).
int max_threads();

/// The calling thread's own cap (0: none, the process-wide setting applies).
int thread_max_threads();

/// Caps the native loops the calling thread runs, leaving other threads' calls alone; 0 removes the cap.
/// std::invalid_argument for a negative count.
void set_thread_max_threads(int n_threads);

/// Caps the threads of every native loop (fit, bootstrap, evaluate, search); 0 restores the default.
/// std::invalid_argument for a negative count.
void set_max_threads(int n_threads);

/// CPUs in this process's affinity mask (what the default thread count uses).
int available_cpus();

/// Threads to use for `rows` rows: 1 below 2 x min_rows_per_thread, else at most one thread per
/// min_rows_per_thread rows, and at most max_threads().
int threads_for(std::size_t rows, std::size_t min_rows_per_thread);

/// A chunk of work: `chunk` in [0, chunks), `slot` the participant running it (0: the caller, helpers
/// 1..threads-1), for per-participant scratch space.
using ChunkFn = void (*)(void* context, std::size_t chunk, int slot);

/// run_chunks() on a plain function pointer and context (what the template overload forwards to).
void run_chunks_raw(std::size_t chunks, int threads, ChunkFn fn, void* context);

/// Runs `body(chunk, slot)` for every chunk in [0, chunks) on up to `threads` threads, the calling
/// thread included (slot 0). Chunks are claimed one at a time from a shared counter, and the call
/// returns as soon as every chunk has run: a helper that the OS has not scheduled yet (another process
/// busy on its core) finds nothing left when it wakes and is never waited for, unlike an OpenMP join.
/// Helpers are persistent threads started on first use; between calls a helper that ran chunks polls
/// for the next call for 50 us (not on the caller's CPU), then sleeps. A call made while
/// another is running (from another thread, or from inside `body`) runs on its own caller alone. The
/// first exception `body` throws is rethrown to the caller after the claimed chunks have finished.
template <class Body>
void run_chunks(std::size_t chunks, int threads, Body&& body) {
  using B = std::remove_reference_t<Body>;
  run_chunks_raw(
      chunks, threads,
      [](void* context, std::size_t chunk, int slot) { (*static_cast<B*>(context))(chunk, slot); },
      const_cast<void*>(static_cast<const void*>(&body)));
}

/// Helper threads run_chunks() has started so far (0 until the first parallel call).
int pool_helpers();

/// Instruction-set level of a vectorised loop.
enum class Isa : int { Baseline = 0, Avx2 = 1, Avx512 = 2 };

/// The highest level this CPU (and build) supports.
Isa detected_isa();

/// The level the evaluator runs at: detected_isa(), or the lower one asked for with set_isa().
Isa active_isa();

/// Runs the evaluator at `isa` (std::invalid_argument if the CPU lacks it); Baseline..detected_isa().
void set_isa(Isa isa);

/// "baseline", "avx2", "avx512".
std::string isa_name(Isa isa);

/// Every level this CPU supports, lowest first.
std::vector<Isa> supported_isas();

}  // namespace energylens
