#include "energylens/parallel.hpp"

#include <omp.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <thread>

namespace energylens {
namespace {

std::atomic<int> g_max_threads{0};  // 0: default
// The calling thread's own cap (0: the process-wide one): ``n_threads=`` of one Python thread's call must
// neither leak into another thread's calls nor be restored over another thread's setting.
thread_local int t_max_threads = 0;
std::atomic<int> g_isa{-1};         // -1: detected

// How long a helper that took part in a job stays awake for the next one before it sleeps on the
// condition variable. A sleeping helper is woken by a futex call and, on a virtual machine whose idle
// CPU halts (KVM with guest halt-polling off, as on the development box), joins ~25 us later, a third
// of its share of a 1e4-row call (~150 us of work, 10 chunks). From Python, where each call returns to
// the interpreter for a few microseconds, the helper slept before every call (one voluntary context
// switch a call), and two threads measured no faster than one at 1e4 rows; a C++ loop calling back to
// back never let it sleep (1.7x). OpenMP runtimes spin likewise (libgomp GOMP_SPINCOUNT, LLVM
// KMP_BLOCKTIME 200 ms); this one is bounded to 50 us (a Python caller is back within ~5 us), so an
// idle process burns no CPU.
constexpr std::chrono::microseconds kHelperSpin{50};
// Polls further apart than this mean the helper was preempted (another thread wants its core).
constexpr std::chrono::microseconds kHelperPreempted{10};

// One run_chunks() call. Shared with the helpers through a shared_ptr, so a helper that wakes after the
// call returned still reads valid counters (and finds no chunk left).
struct Job {
  ChunkFn fn = nullptr;
  void* context = nullptr;
  std::size_t chunks = 0;
  int helpers = 0;  // helper slots 1..helpers take part
  int caller_cpu = -1;  // the CPU the caller posted the job from (-1: unknown)
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::mutex error_mutex;
  std::exception_ptr error;
};

// The CPU this thread runs on now, -1 where unknown.
int current_cpu() {
#if defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

// Runs chunks of `job` until none is left; the number this participant ran.
std::size_t work(Job& job, int slot) {
  for (std::size_t ran = 0;; ++ran) {
    const std::size_t k = job.next.fetch_add(1, std::memory_order_relaxed);
    if (k >= job.chunks) return ran;
    try {
      job.fn(job.context, k, slot);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(job.error_mutex);
      if (!job.error) job.error = std::current_exception();
    }
    job.done.fetch_add(1, std::memory_order_release);
  }
}

// Persistent helper threads, sleeping on a condition variable between jobs. Never destroyed (the
// helpers are detached), so nothing runs at static destruction while Python shuts down.
class Pool {
 public:
  static Pool& instance() {
    static Pool* pool = [] {
      auto* p = new Pool;
      pthread_atfork(&Pool::before_fork, &Pool::after_fork_parent, &Pool::after_fork_child);
      return p;
    }();
    return *pool;
  }

  void run(std::size_t chunks, int threads, ChunkFn fn, void* context) {
    bool idle = false;
    if (threads <= 1 || chunks <= 1 || !running_.compare_exchange_strong(idle, true)) {
      for (std::size_t k = 0; k < chunks; ++k) fn(context, k, 0);  // serial, or nested / concurrent call
      return;
    }
    struct Release {
      std::atomic<bool>& flag;
      ~Release() { flag.store(false, std::memory_order_release); }
    } release{running_};
    auto job = std::make_shared<Job>();
    job->fn = fn;
    job->context = context;
    job->chunks = chunks;
    job->caller_cpu = current_cpu();
    job->helpers = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(threads) - 1, chunks - 1));
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      while (helpers_ < job->helpers) {
        const int slot = ++helpers_;
        std::thread([this, slot] { loop(slot); }).detach();
      }
      job_ = job;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work(*job, 0);
    // Wait only for chunks a helper has claimed and not finished; unclaimed work does not exist.
    for (unsigned spins = 0; job->done.load(std::memory_order_acquire) < chunks; ++spins) {
      if (spins > 64) std::this_thread::yield();
    }
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (job_ == job) job_.reset();
    }
    if (job->error) std::rethrow_exception(job->error);
  }

  int helpers() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return helpers_;
  }

 private:
  void loop(int slot) {
    std::uint64_t seen = 0;
    bool spin = false;
    for (;;) {
      // A helper that ran chunks of the last job polls for the next one a short while (kHelperSpin);
      // one that found nothing left (woken late: its core is busy elsewhere), or that ran on the caller's
      // CPU (its poll would take the caller's time: measured +60-110 us a call), sleeps at once.
      if (spin) await(seen);
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_relaxed) != seen; });
        seen = generation_.load(std::memory_order_relaxed);
        job = job_;
      }
      spin = job && slot <= job->helpers && work(*job, slot) > 0 && current_cpu() != job->caller_cpu;
    }
  }

  // Polls for a job after `seen` until one is posted or kHelperSpin has passed. Never yields: a helper
  // that gives its core to another thread stays runnable behind it (up to a time slice, milliseconds)
  // where a sleeping one would be woken, and may preempt it, as soon as the next job is posted. Stops
  // at once when the clock jumped between two polls (the helper was preempted: its core is wanted
  // elsewhere), so on a busy core it sleeps as before.
  void await(std::uint64_t seen) const {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    for (auto now = start, last = start; now - start < kHelperSpin && now - last < kHelperPreempted;) {
      for (int k = 0; k < 16; ++k) {
        if (generation_.load(std::memory_order_acquire) != seen) return;
        pause();
      }
      last = now;
      now = clock::now();
    }
  }

  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  static void before_fork() { instance().mutex_.lock(); }
  static void after_fork_parent() { instance().mutex_.unlock(); }
  static void after_fork_child() {
    // Only the forking thread exists in the child: start afresh (the old helpers' objects are leaked).
    Pool& pool = instance();
    pool.helpers_ = 0;
    pool.job_.reset();
    pool.running_.store(false);
    // The dead helpers may still count as waiters of the old condition variable; a notify on it could
    // wait for them forever, so the child gets a new one (the old one is abandoned, not destroyed).
    new (&pool.wake_) std::condition_variable;
    pool.mutex_.unlock();
  }

  std::atomic<bool> running_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::shared_ptr<Job> job_;
  std::atomic<std::uint64_t> generation_{0};  // written under mutex_; read without it by spinning helpers
  int helpers_ = 0;
};

}  // namespace

void run_chunks_raw(std::size_t chunks, int threads, ChunkFn fn, void* context) {
  Pool::instance().run(chunks, threads, fn, context);
}

int pool_helpers() { return Pool::instance().helpers(); }

int available_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  return std::max(1, omp_get_num_procs());
}

int max_threads() {
  const int set = t_max_threads > 0 ? t_max_threads : g_max_threads.load(std::memory_order_relaxed);
  if (set > 0) return set;
  return std::max(1, std::min(available_cpus(), omp_get_max_threads()));
}

void set_max_threads(int n_threads) {
  if (n_threads < 0) throw std::invalid_argument("n_threads must be >= 0 (0: the CPUs this process may use)");
  g_max_threads.store(n_threads, std::memory_order_relaxed);
}

int thread_max_threads() { return t_max_threads; }

void set_thread_max_threads(int n_threads) {
  if (n_threads < 0) throw std::invalid_argument("n_threads must be >= 0 (0: the process-wide setting)");
  t_max_threads = n_threads;
}

int threads_for(std::size_t rows, std::size_t min_rows_per_thread) {
  const std::size_t per = std::max<std::size_t>(min_rows_per_thread, 1);
  if (rows < 2 * per) return 1;
  const std::size_t by_rows = rows / per;
  return static_cast<int>(std::min<std::size_t>(by_rows, static_cast<std::size_t>(max_threads())));
}

Isa detected_isa() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
  return Isa::Baseline;
}

Isa active_isa() {
  const int set = g_isa.load(std::memory_order_relaxed);
  return set < 0 ? detected_isa() : static_cast<Isa>(set);
}

void set_isa(Isa isa) {
  if (static_cast<int>(isa) > static_cast<int>(detected_isa()))
    throw std::invalid_argument("this CPU does not support " + isa_name(isa) + " (best: " +
                                isa_name(detected_isa()) + ")");
  g_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
}

std::string isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    case Isa::Baseline:
      break;
  }
  return "baseline";
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (int k = 0; k <= static_cast<int>(detected_isa()); ++k) out.push_back(static_cast<Isa>(k));
  return out;
}

}  // namespace energylens
