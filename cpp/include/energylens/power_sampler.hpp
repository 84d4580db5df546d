// The power sampler: one fast thread polls the first working source of a fallback chain (driver
// sample buffer -> instant field -> power average); every auxiliary source (the slow energy
// counter, DCGM) runs on its own low-rate thread so its reads never stall the fast ones. Each
// producer thread writes into its own lock-free SPSC ring (full: drops are counted, nothing
// blocks); a collector thread moves ring contents into an archive that drain() hands out.
// Errors on the sampling threads are stored and re-raised on the caller's thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "energylens/power_source.hpp"
#include "energylens/ring_buffer.hpp"

namespace energylens {

/// Sampler settings.
struct SamplerOptions {
  std::int64_t interval_ns = 0;  ///< > 0: poll the fast chain this often instead of the source's own rate
  std::size_t ring_capacity = std::size_t{1} << 16;  ///< per producer thread; a power of two
  std::int64_t collect_interval_ns = 50'000'000;     ///< how often rings are moved to the archive
  /// Each auxiliary (slow) source polls no more often than keeps its thread's CPU time within this
  /// fraction of one core (the energy counter costs ms per read); 0 turns the back-off off.
  double auxiliary_cpu_budget = 0.0025;
};

/// A source's state as reported in the result.
struct SourceStatus {
  std::string name;                ///< PowerSource::name()
  std::string role;                ///< "power" (fallback chain) or "auxiliary" (own thread)
  bool started = false;            ///< start() succeeded
  bool active = false;             ///< currently polled
  bool failed = false;             ///< failed to start or mid-run
  std::string error;               ///< why it failed ("" otherwise)
  std::int64_t update_period_ns = 0;  ///< detected at start (or declared); 0 unknown
  bool period_detected = false;    ///< measured rather than assumed
  std::uint64_t samples = 0;       ///< samples it produced
  std::int64_t poll_interval_ns = 0;  ///< how often it is polled now (after any CPU back-off)
};

/// A fallback from one source of the chain to the next.
struct FallbackEvent {
  std::int64_t t_ns = 0;  ///< steady-clock ns
  std::string from;       ///< source that failed
  std::string to;         ///< source used next ("" when none was left)
  std::string reason;     ///< the failure's message
};

/// Samples `power_chain[0]` (falling back along the chain) and every auxiliary source.
class PowerSampler {
 public:
  /// `power_chain` must not be empty; `auxiliary` may be. std::invalid_argument otherwise.
  PowerSampler(std::vector<std::unique_ptr<PowerSource>> power_chain,
               std::vector<std::unique_ptr<PowerSource>> auxiliary, SamplerOptions options = {});
  /// Stops the threads (without re-raising a stored error).
  ~PowerSampler();
  /// Not copyable: the sampler owns its sources and threads that point back at it (nor movable).
  PowerSampler(const PowerSampler&) = delete;
  /// Not copy-assignable, for the same reason.
  PowerSampler& operator=(const PowerSampler&) = delete;

  /// Starts the first chain source that starts (detecting its update period), every auxiliary
  /// source that starts (failures are recorded, not fatal), and the threads. Throws the last
  /// chain error when no chain source starts; energylens::Error when already started or starting
  /// (from another thread), or when a source is claimed by another running sampler (released by
  /// stop()). Every source's status and the fallbacks are those of this run.
  void start();
  /// Stops and joins the threads, collects what is left, and re-raises a stored error. Called while
  /// start() runs on another thread, it waits for start() to finish and then stops.
  void stop();
  /// True between start() and stop().
  [[nodiscard]] bool running() const noexcept;
  /// Makes every producer (only the fast chain when `auxiliary` is false: the energy counter
  /// costs ms per read) poll now, waits for those polls, and collects. Re-raises a stored error.
  void flush(bool auxiliary = true);
  /// Samples collected since the previous drain (time-ordered per producer), also after a failure: the
  /// stored error is re-raised by stop(), flush() and rethrow_if_failed(), not here, so what was sampled
  /// before it is never lost.
  std::vector<PowerSample> drain();
  /// Re-raises a stored sampling-thread error on the caller's thread, if any.
  void rethrow_if_failed() const;
  /// While held (a measurement window is open), auxiliary sources are not backed off to their CPU
  /// budget beyond max(their poll interval, their update period), so that a window's edges have
  /// counter reads within about one update period; holding wakes a backed-off reader at once.
  void hold_auxiliary(bool hold);

  /// Number of GPUs (of the first chain source).
  [[nodiscard]] int gpu_count() const noexcept { return gpu_count_; }
  /// State of every source, chain first.
  [[nodiscard]] std::vector<SourceStatus> sources() const;
  /// Fallbacks that happened so far.
  [[nodiscard]] std::vector<FallbackEvent> fallbacks() const;
  /// Name of the chain source now in use ("" when none).
  [[nodiscard]] std::string active_source() const;
  /// Samples dropped because a ring was full.
  [[nodiscard]] std::uint64_t dropped() const noexcept;
  /// Achieved sample period per signal (median interval between sample times of GPU 0), ns;
  /// index = Signal value, 0 where unknown.
  [[nodiscard]] std::vector<std::int64_t> observed_period_ns() const;
  /// Steady-clock ns at which start() began: the origin given to every source (0 before).
  [[nodiscard]] std::int64_t start_ns() const noexcept { return start_ns_; }

 private:
  /// One producer thread's state: its source chain (one source for an auxiliary), ring and status.
  struct Producer;
  /// The producer thread: produce(), an escaping exception stored as the sampler's error.
  void run_producer(Producer& p);
  /// Polls the active source of `p` into its ring until stopping_, falling back on a failure.
  void produce(Producer& p);
  /// After the active source of `p` failed with `failure`: records it and starts the next chain
  /// source (without the lock held while it starts). False when the producer must end: an
  /// auxiliary source, or no chain source left (the error is then stored for the caller).
  bool fall_back(Producer& p, const std::exception_ptr& failure);
  /// How long `p` waits before its next poll of `source` (ns): the sampler's interval or the
  /// source's, an auxiliary source backed off to its CPU budget (once its update period is known;
  /// at most about that period while `hold`), >= 100 ms once exhausted.
  std::int64_t next_poll_interval_ns(Producer& p, const PowerSource& source, std::int64_t cpu_before,
                                     bool hold);
  /// The collector thread: collect() every collect_interval_ns until stopping_; an error is stored.
  void run_collector();
  /// Sets stopping_, wakes and joins every thread that was created (none is left joinable).
  void join_threads();
  /// Claims every source (PowerSource::try_claim); energylens::Error, nothing claimed, when one is taken.
  void claim_sources();
  /// Releases every source's claim (stop(), or a start() that failed).
  void release_sources() noexcept;
  /// Moves every ring's samples into the archive (one ring consumer at a time).
  void collect();
  /// Notes the distinct sample times of GPU 0 per signal (for observed_period_ns()); mutex_ held.
  void record_observation(const std::vector<PowerSample>& samples);

  std::vector<std::unique_ptr<Producer>> producers_;  // [0] = fast chain, then one per auxiliary
  SamplerOptions options_;
  int gpu_count_ = 0;
  std::int64_t start_ns_ = 0;

  std::mutex lifecycle_mutex_;  // held for the whole of start() and stop(): they never interleave
  std::mutex collect_mutex_;  // serialises ring consumers (collector, flush, drain)
  mutable std::mutex mutex_;  // guards everything below and Producer's non-atomic state
  std::condition_variable wake_;    // flush requests and stop, to producers and the collector
  std::condition_variable polled_;  // a producer finished a poll (flush waits on it)
  bool running_ = false;
  bool stopping_ = false;
  std::uint64_t flush_epoch_ = 0;       // bumped by flush(): every producer polls
  std::uint64_t fast_flush_epoch_ = 0;  // bumped by flush(false): only the chain producer polls
  std::uint64_t hold_epoch_ = 0;        // bumped when hold_auxiliary(true) starts a hold
  bool hold_auxiliary_ = false;
  std::exception_ptr error_;
  std::vector<FallbackEvent> fallbacks_;
  std::vector<PowerSample> archive_;
  std::vector<std::vector<std::int64_t>> change_times_;  // per signal, GPU 0: recent sample times
  std::thread collector_;
};

}  // namespace energylens
