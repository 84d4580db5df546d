// Text coding by value (text_codes.hpp).
#include "energylens/text_codes.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

namespace energylens {

namespace {

std::uint64_t load8(const char* p) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// A cheap key of a string: its length and first and last 8 bytes, mixed. Equal strings have equal keys;
// unequal strings with equal keys are told apart by the byte comparison after the probe.
std::uint64_t key_of(std::string_view s) {
  std::uint64_t a = 0, b = 0;
  if (s.size() >= 8) {
    a = load8(s.data());
    b = load8(s.data() + s.size() - 8);
  } else {
    std::memcpy(&a, s.data(), s.size());
  }
  std::uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ULL) ^ s.size()) * 0xBF58476D1CE4E5B9ULL;
  return h ^ (h >> 31);
}

}  // namespace

TextCoder::TextCoder() : slots_(64, -1) {}

void TextCoder::grow() {
  std::vector<std::int64_t> slots(slots_.size() * 2, -1);
  const std::size_t mask = slots.size() - 1;
  for (std::size_t c = 0; c < values_.size(); ++c) {
    std::size_t at = keys_[c] & mask;
    while (slots[at] >= 0) at = (at + 1) & mask;
    slots[at] = static_cast<std::int64_t>(c);
  }
  slots_.swap(slots);
}

std::int64_t TextCoder::code(std::string_view text) {
  const std::uint64_t key = key_of(text);
  const std::size_t mask = slots_.size() - 1;
  std::size_t at = key & mask;
  for (;; at = (at + 1) & mask) {
    const std::int64_t c = slots_[at];
    if (c < 0) break;
    const std::string& v = values_[static_cast<std::size_t>(c)];
    if (keys_[static_cast<std::size_t>(c)] == key && v.size() == text.size() &&
        std::memcmp(v.data(), text.data(), text.size()) == 0)
      return c;
  }
  const auto c = static_cast<std::int64_t>(values_.size());
  values_.emplace_back(text);
  keys_.push_back(key);
  slots_[at] = c;
  if (2 * values_.size() > slots_.size()) grow();  // load factor <= 1/2
  return c;
}

template <typename Offset>
void TextCoder::code_arrow(const Offset* offsets, const char* data, std::size_t rows, std::int64_t* out) {
  std::string_view last;
  std::int64_t last_code = -1;
  for (std::size_t i = 0; i < rows; ++i) {
    if (offsets[i + 1] < offsets[i])
      throw std::invalid_argument("text column: Arrow offsets decrease at row " + std::to_string(i));
    const std::string_view s(data + offsets[i], static_cast<std::size_t>(offsets[i + 1] - offsets[i]));
    if (last_code < 0 || s.size() != last.size() || std::memcmp(s.data(), last.data(), s.size()) != 0) {
      last_code = code(s);
      last = s;
    }
    out[i] = last_code;
  }
}

template void TextCoder::code_arrow<std::int32_t>(const std::int32_t*, const char*, std::size_t, std::int64_t*);
template void TextCoder::code_arrow<std::int64_t>(const std::int64_t*, const char*, std::size_t, std::int64_t*);

}  // namespace energylens
