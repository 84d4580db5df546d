// NVML power sources (the NVML section of power_source.hpp; shared/docs/NVML-FACTS.md): the driver sample
// buffer (~20 ms, drained with lastSeenTimeStamp), the instant-power field (~100 ms), the ~1 s
// power average (last resort) and the slow energy counter (its own thread in the sampler).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <thread>
#include <utility>

#include "energylens/clock.hpp"
#include "energylens/error.hpp"
#include "energylens/nvml.hpp"
#include "energylens/power_source.hpp"
#include "energylens/stream_marks.hpp"

namespace energylens {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::vector<nvml::Device> handles_of(const std::vector<NvmlGpu>& gpus) {
  const nvml::Api& a = nvml::api();
  std::vector<nvml::Device> out;
  for (const auto& g : gpus) {
    nvml::Device d = nullptr;
    nvml::check(a.device_get_handle_by_index(g.index, &d), "nvmlDeviceGetHandleByIndex");
    out.push_back(d);
  }
  return out;
}

double value_as_double(int value_type, const nvml::Value& v) {
  switch (value_type) {
    case 0: return v.d;
    case 1: return static_cast<double>(v.ui);
    case 2: return static_cast<double>(v.ul);
    case 3: return static_cast<double>(v.ull);
    case 4: return static_cast<double>(v.sll);
    case 5: return static_cast<double>(v.si);
    case 6: return static_cast<double>(v.us);
    default: return kNaN;
  }
}

void require(const void* fn, const char* name) {
  if (fn == nullptr)
    throw NvmlError(13 /*NVML_ERROR_FUNCTION_NOT_FOUND*/, name, "not exported by this NVML library");
}

// ---- driver sample buffer --------------------------------------------------------------------

class SampleBufferSource final : public PowerSource {
 public:
  SampleBufferSource(std::vector<NvmlGpu> gpus, std::int64_t poll_interval_ns)
      : gpus_(std::move(gpus)), poll_interval_ns_(poll_interval_ns) {
    // The buffer holds ~2.4 s: draining less often than every 1 s risks losing samples.
    if (poll_interval_ns_ <= 0 || poll_interval_ns_ > 1'000'000'000)
      throw std::invalid_argument("nvml sample buffer: poll interval must be in (0, 1 s]");
  }
  std::string name() const override { return "nvml_sample_buffer"; }
  int gpu_count() const override { return static_cast<int>(gpus_.size()); }

  void start(std::int64_t) override {
    const nvml::Api& a = nvml::api();
    require(reinterpret_cast<const void*>(a.device_get_samples), "nvmlDeviceGetSamples");
    handles_ = handles_of(gpus_);
    last_seen_us_.assign(gpus_.size(), 0);
    recent_us_.assign(gpus_.size(), {});
    newest_us_.assign(gpus_.size(), 0);
    recent_next_.assign(gpus_.size(), 0);
    buffer_.resize(256);
    mapping_ = clock::wall_to_steady(3);
    // The first drain returns the buffer's history (~2.4 s): its timestamps give the update
    // period at once. The history itself predates the start and is not emitted.
    std::vector<std::int64_t> stamps;
    for (std::size_t g = 0; g < handles_.size(); ++g) {
      std::vector<PowerSample> ignored;
      drain_one(g, clock::ClockMapping{}, ignored, g == 0 ? &stamps : nullptr);
    }
    period_ns_ = median_interval_ns(stamps);
    detected_ = period_ns_ > 0;
  }

  void poll(std::int64_t, std::vector<PowerSample>& out) override {
    const clock::ClockMapping mapping = clock::wall_to_steady(3);  // once per drain
    follow_wall_step(mapping);
    for (std::size_t g = 0; g < handles_.size(); ++g) {
      // Without history at start (a fresh driver), detect from the first samples that arrive.
      drain_one(g, mapping, out, (detected_ || g != 0) ? nullptr : &detect_stamps_);
      if (!detected_ && detect_stamps_.size() >= 8) {
        period_ns_ = median_interval_ns(detect_stamps_);
        detected_ = period_ns_ > 0;
      }
    }
  }

  std::int64_t poll_interval_ns() const override { return poll_interval_ns_; }
  std::int64_t update_period_ns() const override { return period_ns_; }
  bool period_detected() const override { return detected_; }

 private:
  // The driver stamps its samples with the wall clock and returns those stamped after lastSeenTimeStamp. When the
  // wall clock steps (an NTP step, a virtual machine resumed) by more than the mappings' error allows, the last
  // sample seen is carried into the new wall time, so that the samples taken after the step are asked for:
  // set back 0.5 s, the drains returned nothing new for 0.5 s (a 1 s window's power 140 J for 200 J; set back
  // 3 s, end_window found no reading). The samples from before the step that the driver then returns again are
  // known by their stamps (recent_us_) and skipped.
  void follow_wall_step(const clock::ClockMapping& mapping) {
    const std::int64_t step_ns = mapping_.offset_ns - mapping.offset_ns;  // > 0: the wall clock went forward
    const std::int64_t tolerance_ns = kWallStepNs + mapping_.uncertainty_ns + mapping.uncertainty_ns;
    mapping_ = mapping;
    if (step_ns <= tolerance_ns && step_ns >= -tolerance_ns) return;
    for (auto& seen : last_seen_us_) {
      const std::int64_t moved = static_cast<std::int64_t>(seen) + step_ns / 1000;
      seen = seen == 0 ? 0 : static_cast<unsigned long long>(std::max<std::int64_t>(moved, 1));
    }
  }

  bool seen_before(std::size_t g, unsigned long long stamp_us) const {
    if (stamp_us > newest_us_[g]) return false;  // the usual case: newer than any sample taken
    const auto& r = recent_us_[g];
    return std::find(r.begin(), r.end(), stamp_us) != r.end();
  }

  void remember(std::size_t g, unsigned long long stamp_us) {
    auto& r = recent_us_[g];
    if (r.size() < kRecentStamps) {
      r.push_back(stamp_us);
    } else {
      r[recent_next_[g] % kRecentStamps] = stamp_us;
    }
    ++recent_next_[g];
    newest_us_[g] = std::max(newest_us_[g], stamp_us);
  }

  void drain_one(std::size_t g, const clock::ClockMapping& mapping, std::vector<PowerSample>& out,
                 std::vector<std::int64_t>* stamps) {
    const nvml::Api& a = nvml::api();
    int value_type = 0;
    unsigned int count = static_cast<unsigned int>(buffer_.size());
    nvml::Return rc = a.device_get_samples(handles_[g], nvml::kTotalPowerSamples, last_seen_us_[g],
                                           &value_type, &count, buffer_.data());
    if (rc == nvml::kErrorInsufficientSize) {
      unsigned int needed = 0;
      nvml::check(a.device_get_samples(handles_[g], nvml::kTotalPowerSamples, last_seen_us_[g],
                                       &value_type, &needed, nullptr),
                  "nvmlDeviceGetSamples");
      buffer_.resize(std::max<std::size_t>(needed, buffer_.size() * 2));
      count = static_cast<unsigned int>(buffer_.size());
      rc = a.device_get_samples(handles_[g], nvml::kTotalPowerSamples, last_seen_us_[g], &value_type,
                                &count, buffer_.data());
    }
    if (rc == nvml::kErrorNotFound) return;  // no new sample since lastSeenTimeStamp
    nvml::check(rc, "nvmlDeviceGetSamples(NVML_TOTAL_POWER_SAMPLES)");
    count = std::min<unsigned int>(count, static_cast<unsigned int>(buffer_.size()));
    std::sort(buffer_.begin(), buffer_.begin() + count,
              [](const nvml::Sample& x, const nvml::Sample& y) { return x.time_stamp_us < y.time_stamp_us; });
    for (unsigned int i = 0; i < count; ++i) {
      const nvml::Sample& s = buffer_[i];
      if (s.time_stamp_us <= last_seen_us_[g] || seen_before(g, s.time_stamp_us)) continue;
      last_seen_us_[g] = s.time_stamp_us;
      remember(g, s.time_stamp_us);
      if (stamps != nullptr) stamps->push_back(static_cast<std::int64_t>(s.time_stamp_us) * 1000);
      out.push_back({clock::wall_us_to_steady_ns(s.time_stamp_us, mapping), static_cast<std::int32_t>(g),
                     static_cast<std::int32_t>(Signal::kSampleBuffer), value_as_double(value_type, s.value) / 1000.0,
                     kNaN});
    }
  }

  std::vector<NvmlGpu> gpus_;
  std::int64_t poll_interval_ns_;
  std::vector<nvml::Device> handles_;
  std::vector<unsigned long long> last_seen_us_;
  std::vector<nvml::Sample> buffer_;
  std::vector<std::int64_t> detect_stamps_;
  std::int64_t period_ns_ = 0;
  bool detected_ = false;
  // A change of the wall clock's offset larger than this plus both mappings' error bounds (half their tightest
  // bracket: ~0.1-0.2 us on the dev box) is a step; it is below the ~20 ms between two driver samples.
  static constexpr std::int64_t kWallStepNs = 5'000'000;
  // Stamps of each GPU's latest samples: more than the driver holds (~120, NVML-FACTS), to know them again.
  static constexpr std::size_t kRecentStamps = 512;
  clock::ClockMapping mapping_;                          // the previous drain's
  std::vector<std::vector<unsigned long long>> recent_us_;  // per GPU
  std::vector<unsigned long long> newest_us_;            // per GPU: the newest stamp in recent_us_
  std::vector<std::size_t> recent_next_;                 // per GPU: where the next stamp goes
};

// ---- polled power readings (instant field, power usage) ---------------------------------------

class PolledPowerSource final : public PowerSource {
 public:
  PolledPowerSource(std::vector<NvmlGpu> gpus, Signal signal) : gpus_(std::move(gpus)), signal_(signal) {}
  std::string name() const override {
    return signal_ == Signal::kInstant ? "nvml_instant" : "nvml_power_usage";
  }
  int gpu_count() const override { return static_cast<int>(gpus_.size()); }

  void start(std::int64_t) override {
    const nvml::Api& a = nvml::api();
    if (signal_ == Signal::kInstant)
      require(reinterpret_cast<const void*>(a.device_get_field_values), "nvmlDeviceGetFieldValues");
    else
      require(reinterpret_cast<const void*>(a.device_get_power_usage), "nvmlDeviceGetPowerUsage");
    handles_ = handles_of(gpus_);
    last_value_.assign(gpus_.size(), kNaN);
    last_emit_ns_.assign(gpus_.size(), 0);
    last_stamp_ns_.assign(gpus_.size(), 0);
    last_poll_ns_.assign(gpus_.size(), 0);
    // One read proves the field works; the update period is then detected online from the first
    // changes (polled every 2 ms until four changes or 450 ms) while readings are already recorded:
    // a source taking over mid-run from a failed one must cover the gap at once (detecting before
    // the first reading left ~0.4 s that no source covered: NaN energy for every window across it).
    read(0);
    changes_.clear();
    period_ns_ = 100'000'000;  // assumed (NVML-FACTS: ~100 ms) until detected; reported as such
    detected_ = false;
    detecting_ = true;
    detect_since_ns_ = clock::steady_now_ns();
  }

  void poll(std::int64_t, std::vector<PowerSample>& out) override {
    for (std::size_t g = 0; g < handles_.size(); ++g) {
      const std::int64_t before = clock::steady_now_ns();
      const double w = read(g);
      const std::int64_t t = before + (clock::steady_now_ns() - before) / 2;
      // New values only (and one per second when the value holds). A new value appeared between
      // the previous poll, which still saw the old one, and this one: stamp it at the midpoint.
      const bool changed = w != last_value_[g];
      if (changed && last_poll_ns_[g] > last_stamp_ns_[g] && !std::isnan(last_value_[g])) {
        // The old value held until the previous poll: say so, or the integral would ramp from its last
        // row to the new value across the whole hold (-47 % / +142 % on 300 ms windows where the
        // reading holds for 0.5 s; held values are common at idle, docs/measuring.md).
        out.push_back({last_poll_ns_[g], static_cast<std::int32_t>(g), static_cast<std::int32_t>(signal_),
                       last_value_[g], kNaN});
      }
      if (changed || t - last_emit_ns_[g] >= 1'000'000'000) {
        // ... and at most one update period before this poll (it is the latest value): after a stall of the
        // polling thread, the midpoint back to the poll before it put the value up to half the stall early.
        const std::int64_t lo = std::max(last_poll_ns_[g], t - period_ns_);
        const std::int64_t stamp = changed && last_poll_ns_[g] > 0 ? lo + (t - lo) / 2 : t;
        last_value_[g] = w;
        last_emit_ns_[g] = t;
        last_stamp_ns_[g] = stamp;
        out.push_back({stamp, static_cast<std::int32_t>(g), static_cast<std::int32_t>(signal_), w, kNaN});
        if (g == 0 && changed && detecting_ && last_poll_ns_[g] > 0) changes_.push_back(stamp);
      }
      last_poll_ns_[g] = t;
    }
    if (detecting_) detect_period();
  }

  // ~10 ms for a 100 ms field: stamps within +-5 ms at < 1 % of a core for 8 GPUs (the thread's
  // wake-ups, not the 0.5 us reads, are the cost). Attribution below the update period wants
  // 2-5 ms (docs/measuring.md): PowerSampler(interval_s=0.005) sets it.
  std::int64_t poll_interval_ns() const override {
    if (detecting_) return 2'000'000;  // the first changes, 2 ms apart: the period to +-1 ms
    return std::max<std::int64_t>(period_ns_ / 10, 2'000'000);
  }
  std::int64_t update_period_ns() const override { return period_ns_; }
  bool period_detected() const override { return detected_; }

 private:
  // Four changes (three intervals) give the period; after 450 ms without them it stays assumed.
  void detect_period() {
    if (changes_.size() >= 4) {
      period_ns_ = median_interval_ns(changes_);
      detected_ = period_ns_ > 0;
      if (!detected_) period_ns_ = 100'000'000;
      detecting_ = false;
    } else if (clock::steady_now_ns() - detect_since_ns_ >= 450'000'000) {
      if (changes_.size() >= 3) {
        period_ns_ = median_interval_ns(changes_);
        detected_ = period_ns_ > 0;
      }
      if (!detected_) period_ns_ = 100'000'000;
      detecting_ = false;
    }
  }

  double read(std::size_t g) {
    const nvml::Api& a = nvml::api();
    if (signal_ == Signal::kInstant) {
      nvml::FieldValue fv{};
      fv.field_id = nvml::kFieldPowerInstant;
      nvml::check(a.device_get_field_values(handles_[g], 1, &fv), "nvmlDeviceGetFieldValues");
      nvml::check(fv.nvml_return, "nvmlDeviceGetFieldValues(NVML_FI_DEV_POWER_INSTANT)");
      return value_as_double(fv.value_type, fv.value) / 1000.0;
    }
    unsigned int mw = 0;
    nvml::check(a.device_get_power_usage(handles_[g], &mw), "nvmlDeviceGetPowerUsage");
    return static_cast<double>(mw) / 1000.0;
  }

  std::vector<NvmlGpu> gpus_;
  Signal signal_;
  std::vector<nvml::Device> handles_;
  std::vector<double> last_value_;
  std::vector<std::int64_t> last_emit_ns_;
  std::vector<std::int64_t> last_stamp_ns_;  // the stamp of the last row sent
  std::vector<std::int64_t> last_poll_ns_;
  std::vector<std::int64_t> changes_;  // GPU 0: stamps of the first changes (period detection)
  std::int64_t period_ns_ = 100'000'000;
  std::int64_t detect_since_ns_ = 0;
  bool detected_ = false;
  bool detecting_ = false;
};

// ---- energy counter --------------------------------------------------------------------------

class EnergyCounterSource final : public PowerSource {
 public:
  EnergyCounterSource(std::vector<NvmlGpu> gpus, std::int64_t poll_interval_ns)
      : gpus_(std::move(gpus)), poll_interval_ns_(poll_interval_ns) {
    if (poll_interval_ns_ <= 0) throw std::invalid_argument("nvml energy counter: poll interval must be > 0");
  }
  std::string name() const override { return "nvml_energy_counter"; }
  int gpu_count() const override { return static_cast<int>(gpus_.size()); }

  void start(std::int64_t) override {
    const nvml::Api& a = nvml::api();
    require(reinterpret_cast<const void*>(a.device_get_total_energy_consumption),
            "nvmlDeviceGetTotalEnergyConsumption");
    handles_ = handles_of(gpus_);
    last_mj_.assign(gpus_.size(), std::numeric_limits<unsigned long long>::max());
    last_read_ns_.assign(gpus_.size(), 0);
    intervals_.clear();
    last_change_ns_ = 0;
    last_move_timed_ = true;
    pending_.clear();
    period_ns_ = 0;
    // The first value read was published up to one update period before the read: stamped at the
    // read, a window opened at start read high by up to a period's energy (+2.4 % on a 1 s window,
    // always positive). Read until each GPU's counter moves (<= ~1 update period), so that the first
    // row is a move bracketed to about a millisecond.
    for (std::size_t g = 0; g < handles_.size(); ++g) {  // also proves support before the thread runs
      const auto [mj, t] = read_at(g);
      last_mj_[g] = mj;
      last_read_ns_[g] = t;
    }
    std::vector<bool> moved(handles_.size(), false);
    std::size_t left = handles_.size();
    const std::int64_t t0 = clock::steady_now_ns();
    while (left > 0 && clock::steady_now_ns() - t0 < kFirstMoveTimeoutNs) {
      for (std::size_t g = 0; g < handles_.size(); ++g) {
        if (moved[g]) continue;
        const auto [mj, t] = read_at(g);
        if (mj != last_mj_[g]) {
          const std::int64_t stamp = last_read_ns_[g] + (t - last_read_ns_[g]) / 2;
          pending_.push_back(sample(g, stamp, mj));
          if (g == 0) last_change_ns_ = stamp;  // bracketed to ~1 ms: it times the next move
          last_mj_[g] = mj;
          moved[g] = true;
          --left;
        }
        last_read_ns_[g] = t;
      }
      if (left > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    for (std::size_t g = 0; g < handles_.size(); ++g)  // a counter that did not move: its value at the read
      if (!moved[g]) pending_.push_back(sample(g, last_read_ns_[g], last_mj_[g]));
  }

  void poll(std::int64_t, std::vector<PowerSample>& out) override {
    out.insert(out.end(), pending_.begin(), pending_.end());
    pending_.clear();
    for (std::size_t g = 0; g < handles_.size(); ++g) {
      const auto [mj, t] = read_at(g);
      const std::int64_t previous_read = last_read_ns_[g];
      last_read_ns_[g] = t;
      if (mj == last_mj_[g]) continue;
      last_mj_[g] = mj;
      const std::int64_t stamp = stamp_change(previous_read, t);
      if (g == 0) time_move(stamp, t - previous_read);
      out.push_back(sample(g, stamp, mj));
    }
  }

  std::int64_t poll_interval_ns() const override { return poll_interval_ns_; }
  // The median interval between the first consecutive moves each seen by a read that came soon after the
  // read before it (time_move). 0 until kTimedIntervals such intervals.
  std::int64_t update_period_ns() const override { return period_ns_; }
  bool period_detected() const override { return period_ns_ > 0; }

 private:
  static constexpr std::int64_t kFirstMoveTimeoutNs = 300'000'000;
  static constexpr std::size_t kDetectChanges = 16;
  // A move times the counter when the read that saw it came within 1.5 of this (or of the requested poll
  // interval, when shorter) after the read before it: NVML-FACTS's ~100 ms update period.
  static constexpr std::int64_t kTimingReadNs = 100'000'000;
  static constexpr std::size_t kTimedIntervals = 5;  // the median of this many, at least

  // GPU 0's counter moved to a value stamped at `stamp`, seen by a read `bracket` ns after the read before it.
  // Reads sparser than the updates see a move every read: the intervals between moves were the reads' spacing
  // (a 5 s energy_interval_s "detected" 0.58 s for a 0.1 s counter), and backed-off reads a second apart did
  // the same. Only an interval between two moves each seen by reads close together times the counter.
  void time_move(std::int64_t stamp, std::int64_t bracket) {
    const bool timed = bracket <= std::min(poll_interval_ns_, kTimingReadNs) * 3 / 2;
    if (timed && last_move_timed_ && last_change_ns_ > 0 && intervals_.size() < kDetectChanges) {
      intervals_.push_back(stamp - last_change_ns_);
      if (intervals_.size() >= kTimedIntervals) {
        std::vector<std::int64_t> v(intervals_);
        std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
        period_ns_ = v[v.size() / 2];
      }
    }
    last_change_ns_ = stamp;
    last_move_timed_ = timed;
  }

  // The counter of GPU g moved after the read at `previous_read` and by the read at `t`, and at most
  // one update period P before this read: a read backed off to its CPU budget can come a second after
  // the previous one, and a stamp midway back to it put the value up to 0.6 s early (a 0.3 s window's
  // counter read up to 2x off). The stamp is the middle of what is left of the bracket.
  std::int64_t stamp_change(std::int64_t previous_read, std::int64_t t) const {
    const std::int64_t lo = period_ns_ > 0 ? std::max(previous_read, t - period_ns_) : previous_read;
    return lo + (t - lo) / 2;
  }

  std::pair<unsigned long long, std::int64_t> read_at(std::size_t g) const {
    unsigned long long mj = 0;
    const std::int64_t before = clock::steady_now_ns();
    nvml::check(nvml::api().device_get_total_energy_consumption(handles_[g], &mj),
                "nvmlDeviceGetTotalEnergyConsumption");
    return {mj, before + (clock::steady_now_ns() - before) / 2};
  }
  static PowerSample sample(std::size_t g, std::int64_t t_ns, unsigned long long mj) {
    return {t_ns, static_cast<std::int32_t>(g), static_cast<std::int32_t>(Signal::kEnergyCounter), kNaN,
            static_cast<double>(mj) / 1000.0};
  }

  std::vector<NvmlGpu> gpus_;
  std::int64_t poll_interval_ns_;
  std::vector<nvml::Device> handles_;
  std::vector<unsigned long long> last_mj_;
  std::vector<std::int64_t> last_read_ns_;
  std::vector<std::int64_t> intervals_;  // between consecutive timed moves of GPU 0 (time_move)
  std::int64_t last_change_ns_ = 0;
  bool last_move_timed_ = true;
  std::vector<PowerSample> pending_;  // the first change of each GPU, found by start()
  std::int64_t period_ns_ = 0;
};

}  // namespace

std::vector<unsigned int> resolve_visible_gpus(const char* cuda_visible_devices,
                                               const std::vector<std::string>& nvml_uuids,
                                               const std::vector<std::string>& cuda_uuids) {
  std::vector<unsigned int> out;
  const auto count = static_cast<unsigned int>(nvml_uuids.size());
  if (!cuda_uuids.empty()) {
    for (const auto& cu : cuda_uuids) {
      unsigned int found = count;
      for (unsigned int i = 0; i < count; ++i)
        if (lower(nvml_uuids[i]) == lower(cu)) found = i;
      if (found == count)
        throw std::invalid_argument("CUDA device " + cu + " has no NVML device with the same UUID");
      out.push_back(found);
    }
    return out;
  }
  if (cuda_visible_devices == nullptr) {
    for (unsigned int i = 0; i < count; ++i) out.push_back(i);
    return out;
  }
  // CUDA's rule: the list ends at the first entry that names no device.
  std::string list = cuda_visible_devices;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const std::size_t comma = list.find(',', pos);
    const std::string token = trim(list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    pos = comma == std::string::npos ? list.size() + 1 : comma + 1;
    if (token.empty()) break;
    if (lower(token).rfind("mig-", 0) == 0)
      throw std::invalid_argument("CUDA_VISIBLE_DEVICES names a MIG instance (" + token +
                                  "): power is only measured per physical GPU; name the GPU instead");
    unsigned int found = count;
    if (std::all_of(token.begin(), token.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      const unsigned long v = std::strtoul(token.c_str(), nullptr, 10);
      if (v < count) found = static_cast<unsigned int>(v);
    } else {
      unsigned int matches = 0;
      const std::string want = lower(token.rfind("GPU-", 0) == 0 || lower(token).rfind("gpu-", 0) == 0 ? token : "gpu-" + token);
      for (unsigned int i = 0; i < count; ++i)
        if (lower(nvml_uuids[i]).rfind(want, 0) == 0) {
          found = i;
          ++matches;
        }
      if (matches != 1) found = count;  // ambiguous or unknown prefix ends the list
    }
    if (found == count) break;
    if (std::find(out.begin(), out.end(), found) != out.end()) break;  // CUDA: duplicates end it too
    out.push_back(found);
  }
  return out;
}

bool cuda_order_may_differ(const std::vector<std::string>& names, const char* cuda_device_order) {
  if (cuda_device_order != nullptr && std::string(cuda_device_order) == "PCI_BUS_ID") return false;
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return n != names.front(); });
}

std::vector<NvmlGpu> nvml_all_gpus() {
  const nvml::Api& a = nvml::api();
  unsigned int count = 0;
  nvml::check(a.device_get_count(&count), "nvmlDeviceGetCount");
  std::vector<NvmlGpu> all;
  for (unsigned int i = 0; i < count; ++i) {
    NvmlGpu g;
    g.index = i;
    nvml::Device d = nullptr;
    nvml::check(a.device_get_handle_by_index(i, &d), "nvmlDeviceGetHandleByIndex");
    char buffer[96] = {};
    if (a.device_get_uuid != nullptr) {
      nvml::check(a.device_get_uuid(d, buffer, sizeof(buffer)), "nvmlDeviceGetUUID");
      g.uuid = buffer;
    }
    char name[96] = {};
    if (a.device_get_name != nullptr && a.device_get_name(d, name, sizeof(name)) == nvml::kSuccess) g.name = name;
    all.push_back(g);
  }
  return all;
}

std::vector<NvmlGpu> nvml_visible_gpus(const std::vector<int>& requested) {
  const std::vector<NvmlGpu> all = nvml_all_gpus();
  std::vector<std::string> uuids, names;
  for (const NvmlGpu& g : all) {
    uuids.push_back(g.uuid);
    names.push_back(g.name);
  }
  // The CUDA runtime only where the orders may differ: asking it initialises the CUDA driver here.
  const std::vector<std::string> cuda_uuids =
      cuda_order_may_differ(names, std::getenv("CUDA_DEVICE_ORDER")) ? cuda::device_uuids() : std::vector<std::string>{};
  const std::vector<unsigned int> visible = resolve_visible_gpus(std::getenv("CUDA_VISIBLE_DEVICES"), uuids, cuda_uuids);
  std::vector<NvmlGpu> out;
  if (requested.empty()) {
    for (unsigned int i : visible) out.push_back(all[i]);
  } else {
    for (int r : requested) {
      if (r < 0 || static_cast<std::size_t>(r) >= visible.size())
        throw std::invalid_argument("GPU " + std::to_string(r) + " is not visible (this process sees " +
                                    std::to_string(visible.size()) + " GPU(s))");
      out.push_back(all[visible[static_cast<std::size_t>(r)]]);
    }
  }
  if (out.empty()) throw std::invalid_argument("no GPU to sample: NVML sees none visible to this process");
  return out;
}

std::unique_ptr<PowerSource> make_nvml_sample_buffer_source(const std::vector<NvmlGpu>& gpus,
                                                            std::int64_t poll_interval_ns) {
  return std::make_unique<SampleBufferSource>(gpus, poll_interval_ns);
}
std::unique_ptr<PowerSource> make_nvml_instant_source(const std::vector<NvmlGpu>& gpus) {
  return std::make_unique<PolledPowerSource>(gpus, Signal::kInstant);
}
std::unique_ptr<PowerSource> make_nvml_power_usage_source(const std::vector<NvmlGpu>& gpus) {
  return std::make_unique<PolledPowerSource>(gpus, Signal::kAverage);
}
std::unique_ptr<PowerSource> make_nvml_energy_counter_source(const std::vector<NvmlGpu>& gpus,
                                                             std::int64_t poll_interval_ns) {
  return std::make_unique<EnergyCounterSource>(gpus, poll_interval_ns);
}

}  // namespace energylens
