// The sampler's SPSC ring and the marks' MPSC ring under a concurrent producer and consumer:
// every value arrives exactly once and in order (per producer), a full ring counts drops instead
// of blocking, and bad capacities are rejected. CHECK (check.hpp); exit code 1 on failure.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <vector>

#include "check.hpp"
#include "energylens/clock.hpp"
#include "energylens/marks.hpp"
#include "energylens/power_sampler.hpp"
#include "energylens/ring_buffer.hpp"

namespace {

struct Item {
  std::uint64_t seq;
  std::uint64_t payload;
};

void spsc_concurrent_in_order() {
  energylens::SpscRing<Item> ring(1024);
  constexpr std::uint64_t kCount = 500'000;
  std::atomic<bool> producer_done{false};
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < kCount; ++i) {
      while (!ring.push({i, i * 7 + 1})) std::this_thread::yield();  // retry on full (test only)
    }
    producer_done.store(true, std::memory_order_release);
  });
  std::uint64_t expected = 0;
  bool in_order = true;
  std::vector<Item> batch;
  while (expected < kCount) {
    batch.clear();
    Item one{};
    if (expected % 3 == 0 && ring.pop(one)) {
      batch.push_back(one);
    } else {
      ring.drain(batch, 100);
    }
    for (const Item& it : batch) {
      if (it.seq != expected || it.payload != expected * 7 + 1) in_order = false;
      ++expected;
    }
  }
  producer.join();
  CHECK(in_order);
  CHECK(expected == kCount);
  CHECK(ring.size() == 0);
  CHECK(ring.pushed() == kCount);
}

void spsc_full_counts_drops() {
  energylens::SpscRing<Item> ring(8);
  int accepted = 0;
  for (int i = 0; i < 20; ++i) accepted += ring.push({static_cast<std::uint64_t>(i), 0}) ? 1 : 0;
  CHECK(accepted == 8);
  CHECK(ring.dropped() == 12);
  std::vector<Item> out;
  CHECK(ring.drain(out) == 8);
  CHECK(out.front().seq == 0 && out.back().seq == 7);
  CHECK(ring.push({99, 0}));
}

void spsc_drop_while_consumer_stalls() {
  // A producer never blocks: with a stalled consumer it keeps going and counts drops.
  energylens::SpscRing<Item> ring(64);
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < 10'000; ++i) ring.push({i, 0});
  });
  producer.join();
  CHECK(ring.pushed() == 64);
  CHECK(ring.dropped() == 10'000 - 64);
}

void capacity_checked() {
  bool threw = false;
  try {
    energylens::SpscRing<Item> bad(100);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
  threw = false;
  try {
    energylens::MpscRing<Item> bad(1);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
}

void mpsc_concurrent_producers() {
  energylens::MpscRing<Item> ring(4096);
  constexpr int kProducers = 4;
  constexpr std::uint64_t kPer = 50'000;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (std::uint64_t i = 0; i < kPer; ++i)
        while (!ring.push({i, static_cast<std::uint64_t>(p)})) std::this_thread::yield();
    });
  }
  std::vector<std::uint64_t> next(kProducers, 0);
  std::uint64_t total = 0;
  bool ordered = true;
  Item it{};
  while (total < kProducers * kPer) {
    if (ring.pop(it)) {
      if (it.seq != next[it.payload]) ordered = false;
      ++next[it.payload];
      ++total;
    } else {
      std::this_thread::yield();
    }
  }
  for (auto& t : producers) t.join();
  CHECK(ordered);
  for (auto n : next) CHECK(n == kPer);
}

void marks_intern_and_drain() {
  energylens::MarkLog log(16);
  const auto a = log.mark("prefill");
  const auto b = log.mark("decode");
  CHECK(log.mark("prefill") == a);
  CHECK(a != b);
  auto marks = log.drain();
  CHECK(marks.size() == 3);
  CHECK(marks[0].t_ns <= marks[1].t_ns && marks[1].t_ns <= marks[2].t_ns);
  CHECK(log.label(b) == "decode");
  for (int i = 0; i < 20; ++i) log.mark_id(a);
  CHECK(log.dropped() == 4);
}

void clock_mapping_recovers_offset() {
  // A fake clock = steady + 12345 ns: the bracketed estimate must land within its uncertainty.
  const std::int64_t true_offset = -12'345;
  const auto m = energylens::clock::estimate_mapping([] { return energylens::clock::steady_now_ns() + 12'345; });
  CHECK(m.uncertainty_ns >= 0);
  const std::int64_t err = m.offset_ns - true_offset;
  CHECK(err <= m.uncertainty_ns + 1 && err >= -m.uncertainty_ns - 1);
}

}  // namespace

int main() {
  spsc_concurrent_in_order();
  spsc_full_counts_drops();
  spsc_drop_while_consumer_stalls();
  capacity_checked();
  mpsc_concurrent_producers();
  marks_intern_and_drain();
  clock_mapping_recovers_offset();
  return energylens::testing::finish("test_ring_buffer");
}
