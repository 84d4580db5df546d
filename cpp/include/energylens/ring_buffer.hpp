// Lock-free bounded queues for the sampler (one producer thread per ring) and for marks (any
// thread). Capacity is a power of two; a full queue counts a drop and returns false instead of
// blocking, so a stalled consumer can never stall sampling.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace energylens {

/// Size of a cache line, used to keep producer and consumer indices on separate lines.
inline constexpr std::size_t kCacheLine = 64;

/// Checks that `capacity` is a power of two >= 2 (std::invalid_argument otherwise).
inline std::size_t checked_capacity(std::size_t capacity) {
  if (capacity < 2 || (capacity & (capacity - 1)) != 0)
    throw std::invalid_argument("ring capacity must be a power of two >= 2, got " +
                                std::to_string(capacity));
  return capacity;
}

/// Single-producer single-consumer ring. push() only from one thread, pop()/drain() only from
/// one (other) thread. Indices grow monotonically; slot = index & mask. The producer publishes
/// with a release store of head_, the consumer frees slots with a release store of tail_.
template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "SpscRing holds trivially copyable values");

 public:
  /// `capacity`: a power of two >= 2.
  explicit SpscRing(std::size_t capacity)
      : mask_(checked_capacity(capacity) - 1), slots_(std::make_unique<T[]>(capacity)) {}

  /// Not copyable: producer and consumer share this one object.
  SpscRing(const SpscRing&) = delete;
  /// Not copyable.
  SpscRing& operator=(const SpscRing&) = delete;

  /// Producer: appends `value`; when full, counts a drop and returns false (never blocks).
  bool push(const T& value) noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_cache_ > mask_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head - tail_cache_ > mask_) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
    }
    slots_[head & mask_] = value;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  /// Consumer: takes the oldest value into `out`; false when empty.
  bool pop(T& out) noexcept {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_cache_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail == head_cache_) return false;
    }
    out = slots_[tail & mask_];
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  /// Consumer: appends everything available (at most `max_items`) to `out`; returns the count.
  std::size_t drain(std::vector<T>& out, std::size_t max_items = SIZE_MAX) {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    head_cache_ = head;
    std::uint64_t n = head - tail;
    if (n > max_items) n = max_items;
    out.reserve(out.size() + static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) out.push_back(slots_[(tail + i) & mask_]);
    tail_.store(tail + n, std::memory_order_release);
    return static_cast<std::size_t>(n);
  }

  /// Number of slots.
  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }
  /// Values pushed and not yet consumed (a snapshot; exact only when both sides are quiet).
  [[nodiscard]] std::size_t size() const noexcept {
    return static_cast<std::size_t>(head_.load(std::memory_order_acquire) -
                                    tail_.load(std::memory_order_acquire));
  }
  /// Values rejected because the ring was full.
  [[nodiscard]] std::uint64_t dropped() const noexcept {
    return dropped_.load(std::memory_order_relaxed);
  }
  /// Values accepted so far.
  [[nodiscard]] std::uint64_t pushed() const noexcept {
    return head_.load(std::memory_order_acquire);
  }

 private:
  const std::uint64_t mask_;
  std::unique_ptr<T[]> slots_;
  alignas(kCacheLine) std::atomic<std::uint64_t> head_{0};  // written by the producer
  std::uint64_t tail_cache_ = 0;                            // producer's view of tail_
  alignas(kCacheLine) std::atomic<std::uint64_t> tail_{0};  // written by the consumer
  std::uint64_t head_cache_ = 0;                            // consumer's view of head_
  alignas(kCacheLine) std::atomic<std::uint64_t> dropped_{0};
};

/// Multi-producer single-consumer bounded ring (Vyukov's sequence-per-slot scheme): any thread
/// may push(); one thread pops. Used for marks, which may come from several threads.
template <typename T>
class MpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "MpscRing holds trivially copyable values");

 public:
  /// `capacity`: a power of two >= 2.
  explicit MpscRing(std::size_t capacity)
      : mask_(checked_capacity(capacity) - 1), slots_(std::make_unique<Slot[]>(capacity)) {
    for (std::size_t i = 0; i < capacity; ++i) slots_[i].sequence.store(i, std::memory_order_relaxed);
  }

  /// Not copyable: producers and the consumer share this one object.
  MpscRing(const MpscRing&) = delete;
  /// Not copyable.
  MpscRing& operator=(const MpscRing&) = delete;

  /// Any thread: appends `value`; when full, counts a drop and returns false (never blocks).
  bool push(const T& value) noexcept {
    std::uint64_t pos = head_.load(std::memory_order_relaxed);
    for (;;) {
      Slot& slot = slots_[pos & mask_];
      const std::uint64_t seq = slot.sequence.load(std::memory_order_acquire);
      const auto diff = static_cast<std::int64_t>(seq - pos);
      if (diff == 0) {
        if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          slot.value = value;
          slot.sequence.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      } else {
        pos = head_.load(std::memory_order_relaxed);
      }
    }
  }

  /// The single consumer: takes the oldest value; false when empty (or the oldest is in flight).
  bool pop(T& out) noexcept {
    Slot& slot = slots_[tail_ & mask_];
    const std::uint64_t seq = slot.sequence.load(std::memory_order_acquire);
    if (seq != tail_ + 1) return false;
    out = slot.value;
    slot.sequence.store(tail_ + mask_ + 1, std::memory_order_release);
    ++tail_;
    return true;
  }

  /// The single consumer: appends everything available to `out`; returns the count.
  std::size_t drain(std::vector<T>& out) {
    std::size_t n = 0;
    T value;
    while (pop(value)) {
      out.push_back(value);
      ++n;
    }
    return n;
  }

  /// Number of slots.
  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }
  /// Values rejected because the ring was full.
  [[nodiscard]] std::uint64_t dropped() const noexcept {
    return dropped_.load(std::memory_order_relaxed);
  }

 private:
  struct Slot {
    std::atomic<std::uint64_t> sequence{0};
    T value{};
  };
  const std::uint64_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(kCacheLine) std::atomic<std::uint64_t> head_{0};
  alignas(kCacheLine) std::uint64_t tail_ = 0;
  alignas(kCacheLine) std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace energylens
