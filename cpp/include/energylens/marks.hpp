// Marks: a label and a steady-clock time, recorded from any thread in well under a microsecond
// (one clock read, an interned label id, one lock-free push). Labels are interned once.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "energylens/ring_buffer.hpp"

namespace energylens {

/// One mark.
struct Mark {
  std::int64_t t_ns = 0;   ///< steady-clock ns
  std::int32_t label = 0;  ///< interned label id (MarkLog::label)
  std::int32_t reserved = 0;  ///< always 0: names the padding, so a Mark is 16 bytes with no indeterminate bytes
};

/// A process-wide log of marks: any thread marks, one consumer drains.
class MarkLog {
 public:
  /// `capacity`: a power of two; a full log counts drops.
  explicit MarkLog(std::size_t capacity = std::size_t{1} << 18);
  /// The process-wide log used by energylens.mark().
  static MarkLog& global();

  /// The id of `label` (interned on first use; ids are dense from 0).
  std::int32_t intern(std::string_view label);
  /// Records `label_id` at the current steady time; false when the log is full (counted).
  bool mark_id(std::int32_t label_id) noexcept;
  /// intern(label) then mark_id(); returns the id.
  std::int32_t mark(std::string_view label);
  /// Marks recorded since the previous drain, in push order (one consumer at a time).
  std::vector<Mark> drain();
  /// Label of an id (std::out_of_range for an unknown id).
  [[nodiscard]] std::string label(std::int32_t id) const;
  /// All labels, indexed by id.
  [[nodiscard]] std::vector<std::string> labels() const;
  /// Marks rejected because the log was full.
  [[nodiscard]] std::uint64_t dropped() const noexcept { return ring_.dropped(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  MpscRing<Mark> ring_;
  mutable std::mutex labels_mutex_;
  std::unordered_map<std::string, std::int32_t, Hash, std::equal_to<>> ids_;
  std::vector<std::string> names_;
  std::mutex drain_mutex_;
};

}  // namespace energylens
