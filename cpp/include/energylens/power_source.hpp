// Where power readings come from. A PowerSource is polled by the sampler's thread and appends
// PowerSample values (steady-clock ns, GPU, signal, W, J). Implementations: NVML's driver sample
// buffer, instant-power field and energy counter (all dlopen'd), DCGM (optional), and two that
// need no GPU: a synthetic source imitating NVML's update period and averaging window, and a
// replay source feeding recorded samples. Everything downstream sees the same samples.
// One header, three translation units: power_source.cpp (synthetic, replay), nvml_sources.cpp and
// dcgm_source.cpp implement its sections; their classes stay private there, callers see the factories.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace energylens {

/// What a sample measures. The synthetic and replay sources emit the signals they imitate.
enum class Signal : std::int32_t {
  kSampleBuffer = 0,   ///< driver sample buffer (~20 ms), driver timestamps
  kInstant = 1,        ///< instantaneous power field (~100 ms update)
  kAverage = 2,        ///< nvmlDeviceGetPowerUsage: ~1 s moving average
  kEnergyCounter = 3,  ///< cumulative energy counter (J); power_w is NaN
  kDcgmPower = 4,      ///< DCGM power usage
  kDcgmEnergy = 5,     ///< DCGM total energy (J); power_w is NaN
};

/// Number of Signal values.
inline constexpr int kSignalCount = 6;

/// Stable lower-case name of a signal ("sample_buffer", "instant", ...), as in trace files.
const char* signal_name(Signal signal) noexcept;

/// One reading. power_w or energy_j is NaN when the signal does not carry it.
struct PowerSample {
  std::int64_t t_ns = 0;  ///< steady-clock ns (clock::steady_now_ns time base)
  std::int32_t gpu = 0;   ///< index among the sampler's GPUs (0..gpu_count-1)
  std::int32_t signal = 0;  ///< a Signal value
  double power_w = 0.0;   ///< watts
  double energy_j = 0.0;  ///< cumulative counter in joules
};

/// A source of power samples, polled by one sampler thread (never concurrently).
class PowerSource {
 public:
  /// Sources are owned through std::unique_ptr / std::shared_ptr to this base.
  virtual ~PowerSource() = default;
  /// Implementation name, e.g. "nvml_sample_buffer", "synthetic_instant", "replay".
  [[nodiscard]] virtual std::string name() const = 0;
  /// Number of GPUs this source reads.
  [[nodiscard]] virtual int gpu_count() const = 0;
  /// Prepares reading (and detects the update period where it can); throws when unusable.
  /// `origin_ns` is the sampler's start time (also for a fallback source started later): synthetic
  /// timelines and replays are anchored to it.
  virtual void start(std::int64_t origin_ns) = 0;
  /// Appends the readings that became available up to `now_ns`; throws on failure (a lost GPU,
  /// an unsupported field), which makes the sampler fall back to the next source.
  virtual void poll(std::int64_t now_ns, std::vector<PowerSample>& out) = 0;
  /// How often the sampler should call poll().
  [[nodiscard]] virtual std::int64_t poll_interval_ns() const = 0;
  /// The source's update period as detected at start (or declared); 0 when unknown.
  [[nodiscard]] virtual std::int64_t update_period_ns() const = 0;
  /// True when update_period_ns() was measured rather than assumed.
  [[nodiscard]] virtual bool period_detected() const = 0;
  /// True once every sample has been emitted (replay); the sampler then idles.
  [[nodiscard]] virtual bool exhausted() const { return false; }
  /// Claims the source for one running sampler (its poll() is not thread-safe): false when it is
  /// claimed already. The sampler claims every source in start() and releases them in stop().
  /// A wrapper forwards both to the source it wraps.
  [[nodiscard]] virtual bool try_claim() noexcept { return !claimed_.exchange(true); }
  /// Releases a claim made by try_claim(), so another sampler may claim the source.
  virtual void release_claim() noexcept { claimed_.store(false); }

 private:
  std::atomic<bool> claimed_{false};
};

// ---- synthetic -------------------------------------------------------------------------------

/// A true piecewise-constant power timeline: per GPU, breakpoints (t_ns relative to the source's
/// start, strictly increasing) and the power from each breakpoint on. Before the first breakpoint
/// the first power holds; after the last, the last.
struct PowerTimeline {
  std::vector<std::vector<std::int64_t>> t_ns;  ///< per GPU, breakpoint times
  std::vector<std::vector<double>> power_w;     ///< per GPU, power from each breakpoint on
  /// Per GPU, the exact energy (J) from relative time 0 to each breakpoint; filled by prepare().
  std::vector<std::vector<double>> cumulative_j;
  /// Validates shapes (std::invalid_argument).
  void validate() const;
  /// Validates and fills cumulative_j so that energy_j() is a binary search, not a walk.
  void prepare();
  /// Exact energy in joules of GPU `gpu` from relative time 0 to `t_rel_ns` (negative allowed).
  [[nodiscard]] double energy_j(int gpu, std::int64_t t_rel_ns) const;
  /// Exact power (W) of GPU `gpu` at relative time `t_rel_ns`.
  [[nodiscard]] double power_at_w(int gpu, std::int64_t t_rel_ns) const;
};

/// How the synthetic source imitates NVML.
struct SyntheticConfig {
  std::int64_t update_period_ns = 100'000'000;    ///< instant field / energy counter update period P
  std::int64_t averaging_window_ns = 25'000'000;  ///< instant field averages the last A of every P
  std::int64_t buffer_period_ns = 20'000'000;     ///< driver-buffer-like stream period
  std::int64_t buffer_poll_ns = 100'000'000;      ///< how often the buffer stream is drained
  double energy_offset_j = 1.0e6;                 ///< counter value at relative time 0
  std::int64_t energy_read_latency_ns = 0;        ///< each counter read sleeps this long (slow read)
  std::int64_t energy_read_spin_ns = 0;           ///< each counter read burns this much CPU (busy read)
  std::int64_t fail_after_ns = -1;                ///< >= 0: poll throws NvmlError(GPU lost) after this
};

/// A synthetic NVML signal: kSampleBuffer (mean over each buffer period, stamped at its end),
/// kInstant (every P the mean over the last A, seen when polled), or kEnergyCounter (the exact
/// integral at each multiple of P, seen when polled). `timeline` is shared between sources.
std::unique_ptr<PowerSource> make_synthetic_source(std::shared_ptr<const PowerTimeline> timeline,
                                                   Signal signal, const SyntheticConfig& config);

// ---- replay ----------------------------------------------------------------------------------

/// Recorded samples to replay (sorted by t_ns by the source).
struct ReplayData {
  /// The readings, in any order; not empty, every `gpu` in 0..65535 and `signal` a Signal value
  /// (make_replay_source throws std::invalid_argument otherwise).
  std::vector<PowerSample> samples;
};

/// Replays `data`. realtime: samples appear as their (rebased) time passes, `speed` times faster;
/// otherwise everything is emitted at the first poll. rebase: shift times so the first sample
/// lands at start(); otherwise the recorded t_ns are kept.
std::unique_ptr<PowerSource> make_replay_source(ReplayData data, bool realtime, bool rebase,
                                                double speed = 1.0);

// ---- NVML ------------------------------------------------------------------------------------

/// A GPU as NVML sees it.
struct NvmlGpu {
  unsigned int index = 0;  ///< NVML index
  std::string uuid;        ///< "GPU-..." as nvmlDeviceGetUUID reports
  std::string name;        ///< product name
};

/// Which NVML indices a process sees. cuda_uuids (from the CUDA runtime, in CUDA order) win when
/// given; otherwise CUDA_VISIBLE_DEVICES is parsed: integers index NVML order, "GPU-..." (also
/// prefixes) match UUIDs; unset means all; an empty string means none. Unknown entries throw
/// std::invalid_argument. Pure: no NVML calls (tested without a GPU).
std::vector<unsigned int> resolve_visible_gpus(const char* cuda_visible_devices,
                                               const std::vector<std::string>& nvml_uuids,
                                               const std::vector<std::string>& cuda_uuids);

/// Whether CUDA's device order may differ from NVML's (PCI bus order), so that only the CUDA runtime can
/// say which NVML GPU a CUDA ordinal is: GPUs of more than one model (`names`) under CUDA's default
/// FASTEST_FIRST order (`cuda_device_order` is the CUDA_DEVICE_ORDER variable, nullptr when unset). One
/// model, or CUDA_DEVICE_ORDER=PCI_BUS_ID: the orders agree. Pure (tested without a GPU).
bool cuda_order_may_differ(const std::vector<std::string>& names, const char* cuda_device_order);

/// Every GPU NVML sees, in NVML order, whatever CUDA_VISIBLE_DEVICES says; never asks the CUDA runtime.
/// Throws NvmlUnavailable / NvmlError.
std::vector<NvmlGpu> nvml_all_gpus();

/// The GPUs this process sees (CUDA_VISIBLE_DEVICES-aware), or the subset `requested` (indices into the
/// visible list). The CUDA runtime (UUIDs in CUDA's order) is asked only where cuda_order_may_differ: it
/// initialises the CUDA driver in this process, after which a forked child (vLLM's engine core and workers)
/// cannot use CUDA. Throws NvmlUnavailable / NvmlError.
std::vector<NvmlGpu> nvml_visible_gpus(const std::vector<int>& requested = {});

/// Driver sample buffer (nvmlDeviceGetSamples, drained with lastSeenTimeStamp every
/// `poll_interval_ns`, wall-clock microseconds mapped onto the steady clock once per drain).
std::unique_ptr<PowerSource> make_nvml_sample_buffer_source(const std::vector<NvmlGpu>& gpus,
                                                            std::int64_t poll_interval_ns);
/// Instant-power field (NVML_FI_DEV_POWER_INSTANT); its update period is detected at start.
std::unique_ptr<PowerSource> make_nvml_instant_source(const std::vector<NvmlGpu>& gpus);
/// nvmlDeviceGetPowerUsage (a ~1 s average): the last resort of the power chain.
std::unique_ptr<PowerSource> make_nvml_power_usage_source(const std::vector<NvmlGpu>& gpus);
/// nvmlDeviceGetTotalEnergyConsumption: slow (ms per read), run on its own low-rate thread.
std::unique_ptr<PowerSource> make_nvml_energy_counter_source(const std::vector<NvmlGpu>& gpus,
                                                             std::int64_t poll_interval_ns);

// ---- DCGM ------------------------------------------------------------------------------------

/// Why DCGM cannot be used (libdcgm.so.4/.3 missing, or no host engine answers), or "" when it can.
std::string dcgm_unavailable_reason();
/// DCGM power (and energy) through a running host engine; throws DcgmUnavailable when absent.
std::unique_ptr<PowerSource> make_dcgm_source(const std::vector<NvmlGpu>& gpus,
                                              std::int64_t poll_interval_ns);

/// Median of the differences of an increasing sequence of times (0 when fewer than two).
std::int64_t median_interval_ns(const std::vector<std::int64_t>& times);

}  // namespace energylens
