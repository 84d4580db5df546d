// The sources that need no GPU: synthetic (imitates NVML's update period and averaging window)
// and replay (feeds recorded samples). NVML sources live in nvml_sources.cpp, DCGM in
// dcgm_source.cpp.
#include "energylens/power_source.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>

#include "energylens/error.hpp"
#include "energylens/nvml.hpp"

namespace energylens {

const char* signal_name(Signal signal) noexcept {
  switch (signal) {
    case Signal::kSampleBuffer: return "sample_buffer";
    case Signal::kInstant: return "instant";
    case Signal::kAverage: return "average";
    case Signal::kEnergyCounter: return "energy_counter";
    case Signal::kDcgmPower: return "dcgm_power";
    case Signal::kDcgmEnergy: return "dcgm_energy";
  }
  return "unknown";
}

std::int64_t median_interval_ns(const std::vector<std::int64_t>& times) {
  if (times.size() < 2) return 0;
  std::vector<std::int64_t> d;
  d.reserve(times.size() - 1);
  for (std::size_t i = 1; i < times.size(); ++i) d.push_back(times[i] - times[i - 1]);
  const auto mid = d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2);
  std::nth_element(d.begin(), mid, d.end());
  return *mid;
}

// ---- PowerTimeline ---------------------------------------------------------------------------

void PowerTimeline::validate() const {
  if (t_ns.empty()) throw std::invalid_argument("power timeline: no GPU");
  if (t_ns.size() != power_w.size())
    throw std::invalid_argument("power timeline: t_ns and power_w differ in GPU count");
  for (std::size_t g = 0; g < t_ns.size(); ++g) {
    if (t_ns[g].empty()) throw std::invalid_argument("power timeline: GPU " + std::to_string(g) + " has no breakpoint");
    if (t_ns[g].size() != power_w[g].size())
      throw std::invalid_argument("power timeline: GPU " + std::to_string(g) + ": t_ns and power_w differ in length");
    for (std::size_t i = 0; i < t_ns[g].size(); ++i) {
      if (i > 0 && t_ns[g][i] <= t_ns[g][i - 1])
        throw std::invalid_argument("power timeline: GPU " + std::to_string(g) + ": t_ns must increase strictly");
      if (!std::isfinite(power_w[g][i]) || power_w[g][i] < 0.0)
        throw std::invalid_argument("power timeline: GPU " + std::to_string(g) + ": power must be finite and >= 0");
    }
  }
}

double PowerTimeline::power_at_w(int gpu, std::int64_t t_rel_ns) const {
  const auto& ts = t_ns.at(static_cast<std::size_t>(gpu));
  const auto& ps = power_w.at(static_cast<std::size_t>(gpu));
  const auto it = std::upper_bound(ts.begin(), ts.end(), t_rel_ns);
  if (it == ts.begin()) return ps.front();
  return ps[static_cast<std::size_t>(it - ts.begin()) - 1];
}

void PowerTimeline::prepare() {
  validate();
  cumulative_j.assign(t_ns.size(), {});
  for (std::size_t g = 0; g < t_ns.size(); ++g) {
    auto& cum = cumulative_j[g];
    cum.reserve(t_ns[g].size());
    cum.push_back(energy_j(static_cast<int>(g), t_ns[g].front()));  // the walk (cum not complete yet)
    for (std::size_t i = 1; i < t_ns[g].size(); ++i)
      cum.push_back(cum.back() + power_w[g][i - 1] * static_cast<double>(t_ns[g][i] - t_ns[g][i - 1]) * 1e-9);
  }
}

double PowerTimeline::energy_j(int gpu, std::int64_t t_rel_ns) const {
  // Integral from 0 to t of the piecewise-constant power (negative t gives a negative integral).
  const auto& ts = t_ns.at(static_cast<std::size_t>(gpu));
  const auto& ps = power_w.at(static_cast<std::size_t>(gpu));
  if (cumulative_j.size() == t_ns.size() && cumulative_j[static_cast<std::size_t>(gpu)].size() == ts.size()) {
    const auto& cum = cumulative_j[static_cast<std::size_t>(gpu)];
    const auto it = std::upper_bound(ts.begin(), ts.end(), t_rel_ns);
    if (it == ts.begin()) return cum.front() + ps.front() * static_cast<double>(t_rel_ns - ts.front()) * 1e-9;
    const auto i = static_cast<std::size_t>(it - ts.begin()) - 1;
    return cum[i] + ps[i] * static_cast<double>(t_rel_ns - ts[i]) * 1e-9;
  }
  auto integral_from_zero = [&](std::int64_t t) {
    // Walk the segments overlapping [0, t] (t >= 0).
    double e = 0.0;
    std::int64_t cursor = 0;
    double p = power_at_w(gpu, 0);
    auto it = std::upper_bound(ts.begin(), ts.end(), std::int64_t{0});
    for (; it != ts.end() && *it < t; ++it) {
      e += p * static_cast<double>(*it - cursor) * 1e-9;
      cursor = *it;
      p = ps[static_cast<std::size_t>(it - ts.begin())];
    }
    e += p * static_cast<double>(t - cursor) * 1e-9;
    return e;
  };
  if (t_rel_ns >= 0) return integral_from_zero(t_rel_ns);
  // Negative times: integrate [t, 0] with the same walk on a shifted origin.
  double e = 0.0;
  std::int64_t cursor = t_rel_ns;
  double p = power_at_w(gpu, t_rel_ns);
  auto it = std::upper_bound(ts.begin(), ts.end(), t_rel_ns);
  for (; it != ts.end() && *it < 0; ++it) {
    e += p * static_cast<double>(*it - cursor) * 1e-9;
    cursor = *it;
    p = ps[static_cast<std::size_t>(it - ts.begin())];
  }
  e += p * static_cast<double>(0 - cursor) * 1e-9;
  return -e;
}

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- synthetic -------------------------------------------------------------------------------

class SyntheticSource final : public PowerSource {
 public:
  SyntheticSource(std::shared_ptr<const PowerTimeline> timeline, Signal signal, SyntheticConfig config)
      : timeline_(std::move(timeline)), signal_(signal), config_(config) {
    if (!timeline_) throw std::invalid_argument("synthetic source: no timeline");
    if (timeline_->cumulative_j.size() != timeline_->t_ns.size()) {
      auto prepared = std::make_shared<PowerTimeline>(*timeline_);
      prepared->prepare();
      timeline_ = std::move(prepared);
    }
    timeline_->validate();
    if (config_.update_period_ns <= 0 || config_.averaging_window_ns <= 0 ||
        config_.averaging_window_ns > config_.update_period_ns || config_.buffer_period_ns <= 0 ||
        config_.buffer_poll_ns <= 0)
      throw std::invalid_argument(
          "synthetic source: need update_period > 0, 0 < averaging_window <= update_period, "
          "buffer_period > 0 and buffer_poll > 0");
    if (signal_ != Signal::kSampleBuffer && signal_ != Signal::kInstant && signal_ != Signal::kEnergyCounter)
      throw std::invalid_argument("synthetic source: signal must be sample_buffer, instant or energy_counter");
    last_index_.assign(timeline_->t_ns.size(), std::numeric_limits<std::int64_t>::min());
  }

  std::string name() const override { return std::string("synthetic_") + signal_name(signal_); }
  int gpu_count() const override { return static_cast<int>(timeline_->t_ns.size()); }

  void start(std::int64_t now_ns) override {
    origin_ns_ = now_ns;
    last_poll_ns_ = -1;
    const std::int64_t period = this->period();
    // Nothing published before the start is re-emitted (as a freshly drained NVML buffer would
    // not go back before its first drain).
    for (auto& k : last_index_) k = floor_div(0, period) - (signal_ == Signal::kSampleBuffer ? 0 : 1);
  }

  void poll(std::int64_t now_ns, std::vector<PowerSample>& out) override {
    const std::int64_t rel = now_ns - origin_ns_;
    if (config_.fail_after_ns >= 0 && rel >= config_.fail_after_ns)
      throw NvmlError(nvml::kErrorGpuIsLost, name() + " poll", "GPU is lost (synthetic failure)");
    if (signal_ == Signal::kEnergyCounter && config_.energy_read_latency_ns > 0)
      std::this_thread::sleep_for(std::chrono::nanoseconds(config_.energy_read_latency_ns));
    if (signal_ == Signal::kEnergyCounter && config_.energy_read_spin_ns > 0) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(config_.energy_read_spin_ns);
      while (std::chrono::steady_clock::now() < until) {
      }
    }
    const std::int64_t period = this->period();
    const std::int64_t k_now = floor_div(rel, period);
    for (int g = 0; g < gpu_count(); ++g) {
      auto& last = last_index_[static_cast<std::size_t>(g)];
      if (signal_ == Signal::kSampleBuffer) {
        // Every buffer period ending in (last, now] becomes one sample stamped at its end.
        for (std::int64_t k = last + 1; k <= k_now; ++k) {
          const std::int64_t t_end = k * period;
          const double e = timeline_->energy_j(g, t_end) - timeline_->energy_j(g, t_end - period);
          out.push_back({origin_ns_ + t_end, g, static_cast<std::int32_t>(signal_),
                         e / (static_cast<double>(period) * 1e-9), kNaN});
        }
        last = std::max(last, k_now);
      } else if (k_now != last) {
        // A new value was published at k_now * P; a poller sees it now and, like the NVML sources,
        // stamps it midway between the previous poll (which still saw the old value) and this one, or,
        // when that poll was longer than a period ago (a backed-off counter, the first poll), midway
        // through the last period (never before the origin, where the first value is published).
        last = k_now;
        const std::int64_t t_pub = k_now * period;
        const std::int64_t lo = std::max({last_poll_ns_, now_ns - period, origin_ns_});
        const std::int64_t stamp = lo + (now_ns - lo) / 2;
        PowerSample s{stamp, g, static_cast<std::int32_t>(signal_), kNaN, kNaN};
        if (signal_ == Signal::kInstant) {
          const std::int64_t a = config_.averaging_window_ns;
          s.power_w = (timeline_->energy_j(g, t_pub) - timeline_->energy_j(g, t_pub - a)) /
                      (static_cast<double>(a) * 1e-9);
        } else {
          s.energy_j = config_.energy_offset_j + timeline_->energy_j(g, t_pub);
        }
        out.push_back(s);
      }
    }
    last_poll_ns_ = now_ns;
  }

  std::int64_t poll_interval_ns() const override {
    if (signal_ == Signal::kSampleBuffer) return config_.buffer_poll_ns;
    if (signal_ == Signal::kEnergyCounter) return std::max<std::int64_t>(config_.update_period_ns / 4, 1'000'000);
    return std::max<std::int64_t>(config_.update_period_ns / 10, 1'000'000);  // as the NVML instant source
  }
  std::int64_t update_period_ns() const override { return period(); }
  bool period_detected() const override { return false; }

 private:
  std::int64_t period() const {
    return signal_ == Signal::kSampleBuffer ? config_.buffer_period_ns : config_.update_period_ns;
  }

  std::shared_ptr<const PowerTimeline> timeline_;
  Signal signal_;
  SyntheticConfig config_;
  std::int64_t origin_ns_ = 0;
  std::int64_t last_poll_ns_ = -1;        // time of the previous poll (-1: none yet)
  std::vector<std::int64_t> last_index_;  // per GPU: last period index emitted
};

// ---- replay ----------------------------------------------------------------------------------

constexpr std::int32_t kMaxReplayGpus = 1 << 16;

// Update period of a replayed trace (time-sorted): the shortest, over the signals of GPU 0, of the median interval
// between changes of value (the driver buffer: between readings, each one a reading however alike). A trace of raw
// polls repeats each value until the next update: its row spacing (3 ms for the shared H200 trace) is the poll, not
// the ~100 ms update. 0 (unknown) when no signal changes three times. (PowerSampler.replay reads the same per source.)
std::int64_t finest_period_ns(const std::vector<PowerSample>& samples) {
  std::int64_t best = 0;
  for (int sig = 0; sig < kSignalCount; ++sig) {
    const bool every_row = sig == static_cast<int>(Signal::kSampleBuffer);
    std::vector<std::int64_t> changes;
    double last = std::nan("");
    for (const auto& s : samples) {
      if (s.signal != sig || s.gpu != 0) continue;
      const double v = std::isfinite(s.power_w) ? s.power_w : s.energy_j;
      if (!std::isfinite(v)) continue;
      const bool changed = std::isfinite(last) && (every_row || v != last);
      if (changed && (changes.empty() || s.t_ns > changes.back())) changes.push_back(s.t_ns);
      last = v;
    }
    const std::int64_t period = changes.size() >= 3 ? median_interval_ns(changes) : 0;
    if (period > 0 && (best == 0 || period < best)) best = period;
  }
  return best;
}

class ReplaySource final : public PowerSource {
 public:
  ReplaySource(ReplayData data, bool realtime, bool rebase, double speed)
      : samples_(std::move(data.samples)), realtime_(realtime), rebase_(rebase), speed_(speed) {
    if (samples_.empty()) throw std::invalid_argument("replay source: no samples");
    if (!(speed_ > 0.0) || !std::isfinite(speed_)) throw std::invalid_argument("replay source: speed must be > 0");
    std::stable_sort(samples_.begin(), samples_.end(),
                     [](const PowerSample& a, const PowerSample& b) { return a.t_ns < b.t_ns; });
    for (const auto& s : samples_) {
      if (s.gpu < 0) throw std::invalid_argument("replay source: negative gpu index");
      // (s.gpu + 1 overflowed int at INT32_MAX; a GPU position this large is no machine's anyway)
      if (s.gpu >= kMaxReplayGpus)
        throw std::invalid_argument("replay source: gpu index " + std::to_string(s.gpu) + " is not a GPU position (0.." +
                                    std::to_string(kMaxReplayGpus - 1) + ")");
      if (s.signal < 0 || s.signal >= kSignalCount)
        throw std::invalid_argument("replay source: unknown signal " + std::to_string(s.signal));
      gpus_ = std::max(gpus_, s.gpu + 1);
    }
    period_ns_ = finest_period_ns(samples_);
  }

  std::string name() const override { return "replay"; }
  int gpu_count() const override { return gpus_; }
  void start(std::int64_t now_ns) override {
    start_ns_ = now_ns;
    first_ns_ = samples_.front().t_ns;
    next_ = 0;  // a restarted replay plays from its first sample again (it yielded nothing)
  }
  void poll(std::int64_t now_ns, std::vector<PowerSample>& out) override {
    const std::int64_t shift = rebase_ ? start_ns_ - first_ns_ : 0;
    while (next_ < samples_.size()) {
      PowerSample s = samples_[next_];
      const double due = static_cast<double>(s.t_ns - first_ns_) / speed_;
      if (realtime_ && static_cast<double>(now_ns - start_ns_) < due) break;
      // Rebased and played in real time at `speed`, a sample is stamped when it is delivered, on the timeline
      // the windows are measured on (it was stamped (t - first) after start, up to 1.5 s in the future at
      // speed 4, so a window read idle power while the load step had played).
      // The trace then plays `speed` times faster: power values kept, the energy counter scaled by 1 / speed,
      // so that both give a window the energy of the compressed profile.
      if (rebase_ && realtime_) {
        s.t_ns = start_ns_ + static_cast<std::int64_t>(due);
        s.energy_j /= speed_;  // (NaN stays NaN)
      } else {
        s.t_ns += shift;
      }
      out.push_back(s);
      ++next_;
    }
  }
  std::int64_t poll_interval_ns() const override { return realtime_ ? 10'000'000 : 1'000'000; }
  std::int64_t update_period_ns() const override {
    return rebase_ && realtime_ ? static_cast<std::int64_t>(static_cast<double>(period_ns_) / speed_) : period_ns_;
  }
  bool period_detected() const override { return period_ns_ > 0; }
  bool exhausted() const override { return next_ >= samples_.size(); }

 private:
  std::vector<PowerSample> samples_;
  bool realtime_;
  bool rebase_;
  double speed_;
  int gpus_ = 0;
  std::int64_t period_ns_ = 0;
  std::int64_t start_ns_ = 0;
  std::int64_t first_ns_ = 0;
  std::size_t next_ = 0;
};

}  // namespace

std::unique_ptr<PowerSource> make_synthetic_source(std::shared_ptr<const PowerTimeline> timeline,
                                                   Signal signal, const SyntheticConfig& config) {
  return std::make_unique<SyntheticSource>(std::move(timeline), signal, config);
}

std::unique_ptr<PowerSource> make_replay_source(ReplayData data, bool realtime, bool rebase, double speed) {
  return std::make_unique<ReplaySource>(std::move(data), realtime, rebase, speed);
}

}  // namespace energylens
