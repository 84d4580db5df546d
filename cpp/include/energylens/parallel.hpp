// Thread counts and instruction-set levels for the native loops, set once per process.
//
// Threads: the loops use at most max_threads() threads (default: the CPUs this process may run on,
// from its affinity mask, not the machine's core count), and never more than one per
// min_rows_per_thread rows, so small inputs stay on one thread where start-up and the closing barrier
// would cost more than the work. Work is handed out in chunks on demand, so a thread the OS has
// descheduled (another process busy on its core) delays only its current chunk, not a fixed share.
//
// Instruction sets: the evaluator's loop is compiled for x86-64 baseline, x86-64-v3 (AVX2 + FMA) and
// x86-64-v4 (AVX-512); the best level the CPU supports runs unless set_isa() asks for a lower one (tests
// compare the levels; users never need to).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace energylens {

/// Threads the native loops may use: the set_max_threads() value, or by default the CPUs in this
/// process's affinity mask (capped by OpenMP's own limit).
int max_threads();

/// Caps the threads of every native loop (fit, bootstrap, evaluate, search); 0 restores the default.
/// std::invalid_argument for a negative count.
void set_max_threads(int n_threads);

/// CPUs in this process's affinity mask (what the default thread count uses).
int available_cpus();

/// Threads to use for `rows` rows: 1 below 2 x min_rows_per_thread, else at most one thread per
/// min_rows_per_thread rows, and at most max_threads().
int threads_for(std::size_t rows, std::size_t min_rows_per_thread);

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
