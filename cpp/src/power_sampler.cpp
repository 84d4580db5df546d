#include "energylens/power_sampler.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <stdexcept>

#include "energylens/clock.hpp"
#include "energylens/error.hpp"

namespace energylens {
namespace {

std::string message_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Typed energylens errors travel as they are; anything else becomes a SamplerError.
std::exception_ptr as_sampler_error(const std::exception_ptr& e, const std::string& where) {
  try {
    std::rethrow_exception(e);
  } catch (const Error&) {
    return e;
  } catch (const std::exception& ex) {
    return std::make_exception_ptr(SamplerError(where + ": " + ex.what()));
  } catch (...) {
    return std::make_exception_ptr(SamplerError(where + ": unknown exception"));
  }
}

constexpr std::size_t kMaxChangeTimes = 512;
// An auxiliary source whose update period stays unknown is backed off after this many polls anyway.
constexpr std::uint64_t kPollsBeforeBackOff = 24;
// Until then, and until its period is known, it is read at least this often, half the ~100 ms at which
// NVML-FACTS saw the energy counter move, so that most reads see no move and the moves time it: read every 5 s
// (energy_interval_s=5, or 100 meant as ms) every read saw a move, and the intervals between moves, the reads'
// spacing, were taken for its update period (0.58 s for a 0.1 s counter); read every ~100 ms, 0.15 s on a loaded box.
constexpr std::int64_t kUndetectedPollNs = 50'000'000;

// CPU time of the calling thread (ns): what a poll really costs, as opposed to waiting in the driver.
std::int64_t thread_cpu_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

struct PowerSampler::Producer {
  Producer(std::vector<std::unique_ptr<PowerSource>> sources, bool aux, std::size_t capacity)
      : chain(std::move(sources)), auxiliary(aux), ring(capacity) {
    for (const auto& s : chain) {
      SourceStatus st;
      st.name = s->name();
      st.role = aux ? "auxiliary" : "power";
      status.push_back(st);
    }
    active = chain.size();
  }
  std::vector<std::unique_ptr<PowerSource>> chain;
  std::vector<SourceStatus> status;  // parallel to chain; guarded by PowerSampler::mutex_
  std::size_t active;                // chain.size() when none
  bool auxiliary;
  SpscRing<PowerSample> ring;
  std::thread thread;
  std::uint64_t polled_epoch = 0;  // guarded by mutex_
  std::uint64_t polled_fast_epoch = 0;  // guarded by mutex_
  double cpu_ema_ns = -1.0;        // producer thread only: smoothed CPU time of one poll
  std::uint64_t polls = 0;         // producer thread only: polls of the active source
  double dither = 0.0;             // producer thread only: spreads auxiliary reads (next_poll_interval_ns)
  std::uint64_t hold_epoch = 0;    // guarded by mutex_: the hold_epoch_ this producer last saw
  bool done = true;                // guarded by mutex_: no thread is polling
};

PowerSampler::PowerSampler(std::vector<std::unique_ptr<PowerSource>> power_chain,
                           std::vector<std::unique_ptr<PowerSource>> auxiliary, SamplerOptions options)
    : options_(options) {
  if (power_chain.empty()) throw std::invalid_argument("PowerSampler: the power source chain is empty");
  for (const auto& s : power_chain)
    if (!s) throw std::invalid_argument("PowerSampler: null power source");
  for (const auto& s : auxiliary)
    if (!s) throw std::invalid_argument("PowerSampler: null auxiliary source");
  if (options_.interval_ns < 0) throw std::invalid_argument("PowerSampler: interval must be >= 0");
  if (options_.collect_interval_ns <= 0) throw std::invalid_argument("PowerSampler: collect interval must be > 0");
  if (!(options_.auxiliary_cpu_budget >= 0.0) || !std::isfinite(options_.auxiliary_cpu_budget))
    throw std::invalid_argument("PowerSampler: auxiliary_cpu_budget must be a finite fraction >= 0");
  checked_capacity(options_.ring_capacity);
  gpu_count_ = power_chain.front()->gpu_count();
  producers_.push_back(std::make_unique<Producer>(std::move(power_chain), false, options_.ring_capacity));
  for (auto& s : auxiliary) {
    std::vector<std::unique_ptr<PowerSource>> one;
    one.push_back(std::move(s));
    producers_.push_back(std::make_unique<Producer>(std::move(one), true, options_.ring_capacity));
  }
  change_times_.resize(kSignalCount);
}

PowerSampler::~PowerSampler() {
  try {
    stop();
  } catch (...) {  // a stored error is dropped when nobody asked for the result
  }
}

void PowerSampler::start() {
  // Held for the whole of start() (and stop()): a stop() from another thread waits until the threads
  // exist, rather than marking the sampler stopped while start() goes on to create joinable threads.
  std::lock_guard<std::mutex> lifecycle(lifecycle_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The sources start without mutex_ held (an energy counter reads until its first change, ~0.1 s);
    // a second start() meanwhile waits on lifecycle_mutex_ and then finds the sampler running.
    if (running_) throw Error("PowerSampler: already started; call stop() before starting it again");
  }
  claim_sources();
  struct ClaimGuard {  // start() failing releases the sources for another sampler
    PowerSampler& s;
    bool keep = false;
    ~ClaimGuard() {
      if (!keep) s.release_sources();
    }
  } claims{*this};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
    error_ = nullptr;
    fallbacks_.clear();  // a restart reports this run's sources, not the previous run's failures
    for (auto& c : change_times_) c.clear();
    hold_auxiliary_ = false;
    for (auto& p : producers_) {
      p->active = p->chain.size();
      p->polls = 0;
      for (auto& st : p->status) {
        st.started = st.active = st.failed = st.period_detected = false;
        st.error.clear();
        st.update_period_ns = st.poll_interval_ns = 0;
        st.samples = 0;
      }
    }
  }
  // Every source (fallbacks started later too) gets the sampler's origin: synthetic timelines
  // and replays are anchored to it.
  const std::int64_t now = clock::steady_now_ns();
  start_ns_ = now;
  // The fast chain: the first source that starts.
  Producer& fast = *producers_.front();
  std::exception_ptr last_error;
  for (std::size_t i = 0; i < fast.chain.size(); ++i) {
    try {
      fast.chain[i]->start(now);
      std::lock_guard<std::mutex> lock(mutex_);
      SourceStatus& st = fast.status[i];
      st.started = st.active = true;
      st.update_period_ns = fast.chain[i]->update_period_ns();
      st.period_detected = fast.chain[i]->period_detected();
      st.poll_interval_ns = options_.interval_ns > 0 ? options_.interval_ns : fast.chain[i]->poll_interval_ns();
      fast.active = i;
      break;
    } catch (...) {
      last_error = std::current_exception();
      std::lock_guard<std::mutex> lock(mutex_);
      fast.status[i].failed = true;
      fast.status[i].error = message_of(last_error);
      fallbacks_.push_back({clock::steady_now_ns(), fast.status[i].name,
                            i + 1 < fast.chain.size() ? fast.status[i + 1].name : "", fast.status[i].error});
    }
  }
  if (fast.active == fast.chain.size()) std::rethrow_exception(last_error);
  gpu_count_ = fast.chain[fast.active]->gpu_count();
  for (std::size_t k = 1; k < producers_.size(); ++k) {
    Producer& p = *producers_[k];
    try {
      p.chain[0]->start(now);
      std::lock_guard<std::mutex> lock(mutex_);
      p.status[0].started = p.status[0].active = true;
      p.status[0].update_period_ns = p.chain[0]->update_period_ns();
      p.status[0].period_detected = p.chain[0]->period_detected();
      p.status[0].poll_interval_ns = p.chain[0]->poll_interval_ns();
      p.active = 0;
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      p.status[0].failed = true;
      p.status[0].error = message_of(std::current_exception());
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& p : producers_) p->done = p->active == p->chain.size();
  }
  try {
    for (auto& p : producers_)
      if (p->active != p->chain.size()) p->thread = std::thread([this, raw = p.get()] { run_producer(*raw); });
    collector_ = std::thread([this] { run_collector(); });
  } catch (...) {  // a thread that could not be created: end those that were, never leave one joinable
    join_threads();
    throw;
  }
  claims.keep = true;
  std::lock_guard<std::mutex> lock(mutex_);
  running_ = true;  // only once every thread exists
}

void PowerSampler::claim_sources() {
  std::vector<PowerSource*> claimed;
  for (auto& p : producers_)
    for (auto& source : p->chain) {
      if (!source->try_claim()) {
        for (PowerSource* c : claimed) c->release_claim();
        throw Error("PowerSampler: the source '" + source->name() +
                    "' is in use by another running sampler (a source is polled by one sampler at a time); stop "
                    "that sampler first, or give this one a source of its own");
      }
      claimed.push_back(source.get());
    }
}

void PowerSampler::release_sources() noexcept {
  for (auto& p : producers_)
    for (auto& source : p->chain) source->release_claim();
}

void PowerSampler::join_threads() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& p : producers_)
    if (p->thread.joinable()) p->thread.join();
  if (collector_.joinable()) collector_.join();
}

void PowerSampler::run_producer(Producer& p) {
  try {
    produce(p);
  } catch (...) {  // never out of the thread (std::terminate): stored for stop() to re-raise
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = as_sampler_error(std::current_exception(), "a sampling thread failed");
    p.done = true;
    polled_.notify_all();
  }
}

void PowerSampler::produce(Producer& p) {
  std::vector<PowerSample> batch;
  batch.reserve(1024);
  for (;;) {
    std::uint64_t epoch = 0;
    std::uint64_t fast_epoch = 0;
    bool hold = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) break;
      epoch = flush_epoch_;
      fast_epoch = fast_flush_epoch_;
      p.hold_epoch = hold_epoch_;
      hold = hold_auxiliary_;
    }
    PowerSource& source = *p.chain[p.active];
    batch.clear();
    const std::int64_t cpu_before = thread_cpu_ns();
    try {
      source.poll(clock::steady_now_ns(), batch);
    } catch (...) {
      if (fall_back(p, std::current_exception())) continue;
      return;
    }
    for (const PowerSample& s : batch) p.ring.push(s);  // a full ring counts drops, never blocks
    ++p.polls;
    const std::int64_t interval = next_poll_interval_ns(p, source, cpu_before, hold);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(interval);
    std::unique_lock<std::mutex> lock(mutex_);
    SourceStatus& st = p.status[p.active];
    st.samples += batch.size();
    st.update_period_ns = source.update_period_ns();  // periods detected online keep improving
    st.poll_interval_ns = interval;
    st.period_detected = source.period_detected();
    p.polled_epoch = epoch;
    p.polled_fast_epoch = fast_epoch;
    polled_.notify_all();
    wake_.wait_until(lock, deadline, [&] {
      return stopping_ || flush_epoch_ != epoch || (!p.auxiliary && fast_flush_epoch_ != fast_epoch) ||
             (p.auxiliary && hold_epoch_ != p.hold_epoch);
    });
  }
  std::lock_guard<std::mutex> lock(mutex_);
  p.done = true;
  polled_.notify_all();
}

bool PowerSampler::fall_back(Producer& p, const std::exception_ptr& failure) {
  const std::string why = message_of(failure);
  std::size_t next = p.active + 1;
  std::unique_lock<std::mutex> lock(mutex_);
  p.status[p.active].failed = true;
  p.status[p.active].active = false;
  p.status[p.active].error = why;
  if (p.auxiliary) {  // no fallback for an auxiliary source: record and end its thread
    fallbacks_.push_back({clock::steady_now_ns(), p.status[p.active].name, "", why});
    p.active = p.chain.size();
    p.done = true;
    polled_.notify_all();
    return false;
  }
  // Fall back along the chain to the next source that starts (started without the lock held).
  std::exception_ptr last = failure;
  while (next < p.chain.size()) {
    lock.unlock();
    try {
      p.chain[next]->start(start_ns_);
      lock.lock();
      break;
    } catch (...) {
      last = std::current_exception();
      lock.lock();
      p.status[next].failed = true;
      p.status[next].error = message_of(last);
      ++next;
    }
  }
  fallbacks_.push_back({clock::steady_now_ns(), p.status[p.active].name,
                        next < p.chain.size() ? p.status[next].name : "", why});
  if (next >= p.chain.size()) {
    if (!error_) error_ = as_sampler_error(last, "power sampling failed and no fallback source was left");
    p.active = p.chain.size();
    p.done = true;
    polled_.notify_all();
    return false;
  }
  p.active = next;
  p.polls = 0;
  SourceStatus& st = p.status[next];
  st.started = st.active = true;
  st.update_period_ns = p.chain[next]->update_period_ns();
  st.period_detected = p.chain[next]->period_detected();
  st.poll_interval_ns = options_.interval_ns > 0 ? options_.interval_ns : p.chain[next]->poll_interval_ns();
  return true;
}

std::int64_t PowerSampler::next_poll_interval_ns(Producer& p, const PowerSource& source,
                                                 std::int64_t cpu_before, bool hold) {
  const std::int64_t base = (!p.auxiliary && options_.interval_ns > 0) ? options_.interval_ns
                                                                       : source.poll_interval_ns();
  std::int64_t interval = base;
  const std::int64_t period = source.update_period_ns();
  if (p.auxiliary && period <= 0 && p.polls < kPollsBeforeBackOff) interval = std::min(interval, kUndetectedPollNs);
  if (p.auxiliary && options_.auxiliary_cpu_budget > 0.0) {
    // A slow reader (the energy counter: ms per read) backs off until its own CPU time stays
    // within the budget (a fraction of one core); the EMA smooths the driver's jitter. Not before
    // its update period is known (detected from reads at its own rate: a backed-off read would
    // measure the poll, not the counter), nor, while a window is open (hold_auxiliary), beyond
    // about one update period: a window's edges need counter reads within a period of them.
    const auto cpu = static_cast<double>(thread_cpu_ns() - cpu_before);
    p.cpu_ema_ns = p.cpu_ema_ns < 0.0 ? cpu : 0.8 * p.cpu_ema_ns + 0.2 * cpu;
    if (period > 0 || p.polls >= kPollsBeforeBackOff)
      interval = std::max(interval, static_cast<std::int64_t>(p.cpu_ema_ns / options_.auxiliary_cpu_budget));
    if (hold) interval = std::min(interval, std::max(base, period));
    // Spread the reads over 0.75-1.25 of the interval (a low-discrepancy sequence): read at about its
    // update rate, a counter's reads phase-locked to its updates, and every mid-bracket stamp was off
    // by the same part of a period (+24 ms on the stand-in NVML, a fixed bias on every window edge).
    p.dither = std::fmod(p.dither + 0.6180339887498949, 1.0);
    interval = static_cast<std::int64_t>(static_cast<double>(interval) * (0.75 + 0.5 * p.dither));
  }
  if (source.exhausted()) interval = std::max<std::int64_t>(interval, 100'000'000);
  return interval;
}

void PowerSampler::run_collector() {
  try {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait_for(lock, std::chrono::nanoseconds(options_.collect_interval_ns), [&] { return stopping_; });
        if (stopping_) return;
      }
      collect();
    }
  } catch (...) {  // (bad_alloc growing the archive) stored for stop() to re-raise, never std::terminate
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = as_sampler_error(std::current_exception(), "the sampler's collector thread failed");
  }
}

void PowerSampler::collect() {
  std::lock_guard<std::mutex> consumer(collect_mutex_);
  std::vector<PowerSample> fresh;
  for (auto& p : producers_) p->ring.drain(fresh);
  if (fresh.empty()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  record_observation(fresh);
  archive_.insert(archive_.end(), fresh.begin(), fresh.end());
}

void PowerSampler::record_observation(const std::vector<PowerSample>& samples) {
  // Achieved sample period per signal: median interval between distinct sample times of GPU 0.
  for (const PowerSample& s : samples) {
    if (s.gpu != 0 || s.signal < 0 || s.signal >= kSignalCount) continue;
    auto& times = change_times_[static_cast<std::size_t>(s.signal)];
    if (times.size() >= kMaxChangeTimes) times.erase(times.begin(), times.begin() + kMaxChangeTimes / 2);
    if (times.empty() || s.t_ns > times.back()) times.push_back(s.t_ns);
  }
}

void PowerSampler::stop() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mutex_);  // a start() in progress finishes first
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!running_) return;
  }
  join_threads();
  release_sources();
  collect();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = false;
    for (auto& p : producers_)
      for (auto& st : p->status) st.active = false;
  }
  rethrow_if_failed();
}

bool PowerSampler::running() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_;
}

void PowerSampler::flush(bool auxiliary) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (running_ && !stopping_) {
      if (auxiliary) {
        const std::uint64_t epoch = ++flush_epoch_;
        wake_.notify_all();
        polled_.wait(lock, [&] {
          for (const auto& p : producers_)
            if (!p->done && p->polled_epoch < epoch) return false;
          return true;
        });
      } else {
        const std::uint64_t epoch = ++fast_flush_epoch_;
        wake_.notify_all();
        const Producer& fast = *producers_.front();
        polled_.wait(lock, [&] { return fast.done || fast.polled_fast_epoch >= epoch; });
      }
    }
  }
  collect();
  rethrow_if_failed();
}

std::vector<PowerSample> PowerSampler::drain() {
  collect();
  std::vector<PowerSample> out;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    out.swap(archive_);
  }
  std::stable_sort(out.begin(), out.end(), [](const PowerSample& a, const PowerSample& b) { return a.t_ns < b.t_ns; });
  return out;  // never throws the stored error: the samples taken before a failure are the caller's
}

void PowerSampler::hold_auxiliary(bool hold) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (hold == hold_auxiliary_) return;
    hold_auxiliary_ = hold;
    if (!hold) return;  // the backed-off rate resumes after the next poll
    ++hold_epoch_;      // a reader asleep for a backed-off interval reads now, then at the held rate
  }
  wake_.notify_all();
}

void PowerSampler::rethrow_if_failed() const {
  std::exception_ptr e;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    e = error_;
  }
  if (e) std::rethrow_exception(e);
}

std::vector<SourceStatus> PowerSampler::sources() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<SourceStatus> out;
  for (const auto& p : producers_)
    for (std::size_t i = 0; i < p->chain.size(); ++i) {
      out.push_back(p->status[i]);
    }
  return out;
}

std::vector<FallbackEvent> PowerSampler::fallbacks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fallbacks_;
}

std::string PowerSampler::active_source() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Producer& fast = *producers_.front();
  return fast.active < fast.chain.size() ? fast.status[fast.active].name : "";
}

std::uint64_t PowerSampler::dropped() const noexcept {
  std::uint64_t n = 0;
  for (const auto& p : producers_) n += p->ring.dropped();
  return n;
}

std::vector<std::int64_t> PowerSampler::observed_period_ns() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::int64_t> out;
  for (const auto& times : change_times_) out.push_back(median_interval_ns(times));
  return out;
}

}  // namespace energylens
