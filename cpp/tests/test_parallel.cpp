// run_chunks (parallel.hpp): every chunk runs exactly once on any thread count, slots stay in range, the
// first exception reaches the caller, and a call from inside a running one (or from another thread while
// one runs) completes on its own caller.
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "check.hpp"
#include "energylens/parallel.hpp"

using energylens::run_chunks;

int main() {
  for (int threads : {1, 2, 4}) {
    for (std::size_t chunks : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{1000}}) {
      std::vector<std::atomic<int>> seen(chunks);
      std::atomic<int> bad_slot{0};
      run_chunks(chunks, threads, [&](std::size_t k, int slot) {
        seen[k].fetch_add(1);
        if (slot < 0 || slot >= threads) bad_slot.fetch_add(1);
      });
      for (auto& s : seen) CHECK(s.load() == 1);
      CHECK(bad_slot.load() == 0);
    }
  }

  bool thrown = false;
  std::atomic<int> ran{0};
  try {
    run_chunks(64, 2, [&](std::size_t k, int) {
      ran.fetch_add(1);
      if (k == 5) throw std::runtime_error("chunk 5");
    });
  } catch (const std::runtime_error& e) {
    thrown = std::string(e.what()) == "chunk 5";
  }
  CHECK(thrown);
  CHECK(ran.load() == 64);  // the other chunks still ran

  std::atomic<int> inner{0};
  run_chunks(8, 2, [&](std::size_t, int) {
    run_chunks(4, 2, [&](std::size_t, int slot) {
      CHECK(slot == 0);  // nested: on its own caller
      inner.fetch_add(1);
    });
  });
  CHECK(inner.load() == 32);

  std::atomic<long> total{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 50; ++rep) run_chunks(100, 2, [&](std::size_t k, int) { total.fetch_add(long(k)); });
    });
  for (auto& c : callers) c.join();
  CHECK(total.load() == 4L * 50L * (99L * 100L / 2L));
  CHECK(energylens::pool_helpers() >= 1);
  return energylens::testing::finish("test_parallel");
}
