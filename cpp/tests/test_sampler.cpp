// The sampler without Python: synthetic timelines (prefix sums vs the exact walk), samples and
// update periods, a mid-run fallback, a stored error re-raised by stop(), drops on a full ring,
// replay, and CUDA_VISIBLE_DEVICES resolution. CHECK (check.hpp); exit code 1 on failure.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include "check.hpp"
#include "energylens/error.hpp"
#include "energylens/power_sampler.hpp"
#include "energylens/power_source.hpp"

namespace {

using energylens::PowerSample;
using energylens::Signal;

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

void prefix_sums_match_the_walk() {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::int64_t> step(1, 50'000'000);
  std::uniform_real_distribution<double> watts(0.0, 700.0);
  energylens::PowerTimeline walk;
  walk.t_ns.resize(1);
  walk.power_w.resize(1);
  std::int64_t t = -200'000'000;
  for (int i = 0; i < 500; ++i) {
    walk.t_ns[0].push_back(t);
    walk.power_w[0].push_back(watts(rng));
    t += step(rng);
  }
  energylens::PowerTimeline fast = walk;
  fast.prepare();
  double worst = 0.0;
  for (std::int64_t q = -400'000'000; q < t + 400'000'000; q += 3'333'337) {
    worst = std::max(worst, std::abs(fast.energy_j(0, q) - walk.energy_j(0, q)));
  }
  CHECK(worst < 1e-6);
  CHECK(std::abs(fast.energy_j(0, 0)) < 1e-12);
}

std::shared_ptr<const energylens::PowerTimeline> constant(double w, int gpus = 1) {
  auto tl = std::make_shared<energylens::PowerTimeline>();
  for (int g = 0; g < gpus; ++g) {
    tl->t_ns.push_back({0});
    tl->power_w.push_back({w + 10.0 * g});
  }
  tl->prepare();
  return tl;
}

void synthetic_sampling_and_periods() {
  energylens::SyntheticConfig c;
  c.buffer_poll_ns = 20'000'000;
  auto tl = constant(200.0, 2);
  std::vector<std::unique_ptr<energylens::PowerSource>> chain, aux;
  chain.push_back(energylens::make_synthetic_source(tl, Signal::kSampleBuffer, c));
  aux.push_back(energylens::make_synthetic_source(tl, Signal::kEnergyCounter, c));
  energylens::PowerSampler s(std::move(chain), std::move(aux));
  s.start();
  sleep_ms(150);
  s.flush(false);  // the chain only
  sleep_ms(150);
  s.flush();
  const auto samples = s.drain();
  s.stop();
  int buffer = 0, counter = 0;
  for (const PowerSample& x : samples) {
    if (x.signal == static_cast<int>(Signal::kSampleBuffer)) {
      ++buffer;
      CHECK(std::abs(x.power_w - (x.gpu == 0 ? 200.0 : 210.0)) < 1e-9);
    } else if (x.signal == static_cast<int>(Signal::kEnergyCounter)) {
      ++counter;
      CHECK(std::isnan(x.power_w));
    }
  }
  CHECK(buffer >= 2 * 13 && buffer <= 2 * 15);  // 300 ms / 20 ms per GPU
  CHECK(counter >= 2 * 3);
  const auto periods = s.observed_period_ns();
  CHECK(periods[static_cast<int>(Signal::kSampleBuffer)] == 20'000'000);
  CHECK(s.dropped() == 0);
  const auto st = s.sources();
  CHECK(st.size() == 2 && st[0].started && st[0].update_period_ns == 20'000'000);
}

void fallback_then_stored_error() {
  energylens::SyntheticConfig failing;
  failing.fail_after_ns = 50'000'000;
  failing.buffer_poll_ns = 10'000'000;
  auto tl = constant(100.0);
  {
    std::vector<std::unique_ptr<energylens::PowerSource>> chain;
    chain.push_back(energylens::make_synthetic_source(tl, Signal::kSampleBuffer, failing));
    chain.push_back(energylens::make_synthetic_source(tl, Signal::kInstant, {}));
    energylens::PowerSampler s(std::move(chain), {});
    s.start();
    sleep_ms(200);
    s.stop();
    const auto fb = s.fallbacks();
    CHECK(fb.size() == 1 && fb[0].from == "synthetic_sample_buffer" && fb[0].to == "synthetic_instant");
    CHECK(s.active_source() == "synthetic_instant");
  }
  {
    std::vector<std::unique_ptr<energylens::PowerSource>> chain;
    chain.push_back(energylens::make_synthetic_source(tl, Signal::kSampleBuffer, failing));
    energylens::PowerSampler s(std::move(chain), {});
    s.start();
    sleep_ms(150);
    bool raised = false;
    try {
      s.stop();
    } catch (const energylens::NvmlError& e) {
      raised = e.code() == 15;
    }
    CHECK(raised);
    CHECK(s.active_source().empty());
  }
}

void full_ring_counts_drops() {
  energylens::ReplayData data;
  for (int i = 0; i < 1000; ++i)
    data.samples.push_back({i * 1000, 0, static_cast<std::int32_t>(Signal::kInstant), 50.0, std::nan("")});
  std::vector<std::unique_ptr<energylens::PowerSource>> chain;
  chain.push_back(energylens::make_replay_source(std::move(data), false, false));
  energylens::SamplerOptions o;
  o.ring_capacity = 16;
  energylens::PowerSampler s(std::move(chain), {}, o);
  s.start();
  sleep_ms(50);
  s.stop();
  CHECK(s.dropped() == 1000 - 16);
  CHECK(s.drain().size() == 16);
}

void bad_arguments() {
  bool threw = false;
  try {
    energylens::PowerSampler s({}, {});
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
  threw = false;
  try {
    energylens::make_replay_source({}, false, false);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
}

// A constant source whose start() takes `start_ms` (an energy counter waiting for its first change).
class SlowStart final : public energylens::PowerSource {
 public:
  explicit SlowStart(int start_ms) : start_ms_(start_ms) {}
  std::string name() const override { return "slow_start"; }
  int gpu_count() const override { return 1; }
  void start(std::int64_t) override { sleep_ms(start_ms_); }
  void poll(std::int64_t now_ns, std::vector<PowerSample>& out) override {
    out.push_back({now_ns, 0, static_cast<int>(Signal::kInstant), 100.0, 0.0});
  }
  std::int64_t poll_interval_ns() const override { return 1'000'000; }
  std::int64_t update_period_ns() const override { return 0; }
  bool period_detected() const override { return false; }

 private:
  int start_ms_;
};

std::unique_ptr<energylens::PowerSampler> slow_sampler(int start_ms) {
  std::vector<std::unique_ptr<energylens::PowerSource>> chain;
  chain.push_back(std::make_unique<SlowStart>(start_ms));
  return std::make_unique<energylens::PowerSampler>(std::move(chain),
                                                    std::vector<std::unique_ptr<energylens::PowerSource>>{});
}

// stop() on another thread while start() runs: it waits for start() and stops, never leaving a
// joinable thread behind (std::terminate in the destructor) nor a sampler running after stop() returned.
void stop_racing_start() {
  for (int i = 0; i < 200; ++i) {
    auto s = slow_sampler(0);
    std::atomic<bool> done{false};
    std::thread stopper([&] {
      while (!done.load()) s->stop();
    });
    s->start();
    done.store(true);
    stopper.join();
    s->stop();
    CHECK(!s->running());
  }
  auto s = slow_sampler(150);
  std::thread starter([&] { s->start(); });
  sleep_ms(50);  // the source is still starting
  s->stop();
  CHECK(!s->running());
  starter.join();
  CHECK(!s->running());
}

// A source whose update_period_ns() throws once the sampler thread runs (outside poll()'s fallback):
// the exception is stored and stop() re-raises it, instead of std::terminate on the thread.
class ThrowsOnThread final : public energylens::PowerSource {
 public:
  std::string name() const override { return "throws_on_thread"; }
  int gpu_count() const override { return 1; }
  void start(std::int64_t) override {}
  void poll(std::int64_t now_ns, std::vector<PowerSample>& out) override {
    out.push_back({now_ns, 0, static_cast<int>(Signal::kInstant), 100.0, 0.0});
  }
  std::int64_t poll_interval_ns() const override { return 1'000'000; }
  std::int64_t update_period_ns() const override {
    if (++calls_ > 1) throw std::runtime_error("period lost");
    return 0;
  }
  bool period_detected() const override { return false; }

 private:
  mutable int calls_ = 0;
};

void thread_exception_is_stored() {
  std::vector<std::unique_ptr<energylens::PowerSource>> chain;
  chain.push_back(std::make_unique<ThrowsOnThread>());
  energylens::PowerSampler s(std::move(chain), {});
  s.start();
  sleep_ms(50);
  bool raised = false;
  try {
    s.stop();
  } catch (const energylens::SamplerError& e) {
    raised = std::string(e.what()).find("period lost") != std::string::npos;
  }
  CHECK(raised);
}

void visible_gpus() {
  const std::vector<std::string> uuids{"GPU-aa", "GPU-bb", "GPU-cc"};
  CHECK((energylens::resolve_visible_gpus(nullptr, uuids, {}) == std::vector<unsigned>{0, 1, 2}));
  CHECK((energylens::resolve_visible_gpus("2,GPU-aa", uuids, {}) == std::vector<unsigned>{2, 0}));
  CHECK((energylens::resolve_visible_gpus("1,9,0", uuids, {}) == std::vector<unsigned>{1}));
  CHECK((energylens::resolve_visible_gpus("0", uuids, {"GPU-CC"}) == std::vector<unsigned>{2}));
  // The CUDA runtime is asked only where CUDA's order may differ from NVML's: mixed models, no PCI_BUS_ID.
  const std::vector<std::string> same{"NVIDIA H200", "NVIDIA H200"}, mixed{"NVIDIA H200", "NVIDIA A10"};
  CHECK(!energylens::cuda_order_may_differ(same, nullptr));
  CHECK(!energylens::cuda_order_may_differ({}, nullptr));
  CHECK(energylens::cuda_order_may_differ(mixed, nullptr));
  CHECK(energylens::cuda_order_may_differ(mixed, "FASTEST_FIRST"));
  CHECK(!energylens::cuda_order_may_differ(mixed, "PCI_BUS_ID"));
}

}  // namespace

int main() {
  prefix_sums_match_the_walk();
  synthetic_sampling_and_periods();
  fallback_then_stored_error();
  full_ring_counts_drops();
  bad_arguments();
  visible_gpus();
  stop_racing_start();
  thread_exception_is_stored();
  return energylens::testing::finish("test_sampler");
}
