#include "energylens/marks.hpp"

#include <stdexcept>

#include "energylens/clock.hpp"

namespace energylens {

MarkLog::MarkLog(std::size_t capacity) : ring_(capacity) {}

MarkLog& MarkLog::global() {
  static MarkLog instance;
  return instance;
}

std::int32_t MarkLog::intern(std::string_view label) {
  std::lock_guard<std::mutex> lock(labels_mutex_);
  const auto it = ids_.find(label);
  if (it != ids_.end()) return it->second;
  const auto id = static_cast<std::int32_t>(names_.size());
  names_.emplace_back(label);
  ids_.emplace(std::string(label), id);
  return id;
}

bool MarkLog::mark_id(std::int32_t label_id) noexcept {
  return ring_.push(Mark{clock::steady_now_ns(), label_id, 0});
}

std::int32_t MarkLog::mark(std::string_view label) {
  const std::int64_t t = clock::steady_now_ns();  // the time of the call, before interning
  const std::int32_t id = intern(label);
  ring_.push(Mark{t, id, 0});
  return id;
}

std::vector<Mark> MarkLog::drain() {
  std::lock_guard<std::mutex> lock(drain_mutex_);
  std::vector<Mark> out;
  ring_.drain(out);
  return out;
}

std::string MarkLog::label(std::int32_t id) const {
  std::lock_guard<std::mutex> lock(labels_mutex_);
  if (id < 0 || static_cast<std::size_t>(id) >= names_.size())
    throw std::out_of_range("unknown mark label id " + std::to_string(id));
  return names_[static_cast<std::size_t>(id)];
}

std::vector<std::string> MarkLog::labels() const {
  std::lock_guard<std::mutex> lock(labels_mutex_);
  return names_;
}

}  // namespace energylens
