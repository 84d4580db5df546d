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

// The first and last 8 bytes of a string (all of it, zero-padded, when shorter than 8). With the length
// they decide equality for strings of up to 16 bytes; longer ones compare their middle bytes too.
struct Ends {
  std::uint64_t a = 0, b = 0;
};

Ends ends_of(const char* p, std::size_t n) {
  Ends e;
  if (n >= 8) {
    e.a = load8(p);
    e.b = load8(p + n - 8);
  } else {
    std::memcpy(&e.a, p, n);
  }
  return e;
}

std::uint64_t hash_of(const Ends& e, std::size_t n) {
  const std::uint64_t h = (e.a ^ (e.b * 0x9E3779B97F4A7C15ULL) ^ n) * 0xBF58476D1CE4E5B9ULL;
  return h ^ (h >> 31);
}

}  // namespace

TextCoder::TextCoder() : slots_(64, -1) {}

void TextCoder::grow() {
  std::vector<std::int64_t> slots(slots_.size() * 2, -1);
  const std::size_t mask = slots.size() - 1;
  for (std::size_t c = 0; c < values_.size(); ++c) {
    std::size_t at = keys_[c].hash & mask;
    while (slots[at] >= 0) at = (at + 1) & mask;
    slots[at] = static_cast<std::int64_t>(c);
  }
  slots_.swap(slots);
}

std::int64_t TextCoder::code(std::string_view text) {
  const char* p = text.data();
  const std::size_t n = text.size();
  const Ends e = ends_of(p, n);
  const std::uint64_t h = hash_of(e, n);
  const std::size_t mask = slots_.size() - 1;
  std::size_t at = h & mask;
  for (;; at = (at + 1) & mask) {
    const std::int64_t c = slots_[at];
    if (c < 0) break;
    const Key& k = keys_[static_cast<std::size_t>(c)];
    if (k.a == e.a && k.b == e.b && k.size == n &&
        (n <= 16 || std::memcmp(values_[static_cast<std::size_t>(c)].data() + 8, p + 8, n - 16) == 0))
      return c;
  }
  const auto c = static_cast<std::int64_t>(values_.size());
  values_.emplace_back(text);
  keys_.push_back(Key{e.a, e.b, n, h});
  slots_[at] = c;
  if (2 * values_.size() > slots_.size()) grow();  // load factor <= 1/2
  return c;
}

template <typename Offset>
void TextCoder::check_arrow_offsets(const Offset* offsets, std::size_t rows, std::size_t data_size) {
  // All of them before any row is read: offsets {0, 4096, 5} over 10 bytes read 4096 bytes of row 0
  // when only the pair of each row was compared as it was coded.
  if (offsets[0] < 0) throw std::invalid_argument("text column: Arrow offsets point outside the data buffer (below 0)");
  for (std::size_t i = 0; i < rows; ++i)
    if (offsets[i + 1] < offsets[i])
      throw std::invalid_argument("text column: Arrow offsets decrease at row " + std::to_string(i));
  if (static_cast<std::uint64_t>(offsets[rows]) > static_cast<std::uint64_t>(data_size))
    throw std::invalid_argument("text column: Arrow offsets point outside the data buffer (" +
                                std::to_string(offsets[rows]) + " > " + std::to_string(data_size) + " bytes)");
}

template <typename Offset>
void TextCoder::code_arrow(const Offset* offsets, const char* data, std::size_t data_size, std::size_t rows,
                           std::int64_t* out) {
  check_arrow_offsets(offsets, rows, data_size);
  for (std::size_t i = 0; i < rows; ++i)
    out[i] = code(std::string_view(data + offsets[i], static_cast<std::size_t>(offsets[i + 1] - offsets[i])));
}

template void TextCoder::code_arrow<std::int32_t>(const std::int32_t*, const char*, std::size_t, std::size_t,
                                                  std::int64_t*);
template void TextCoder::code_arrow<std::int64_t>(const std::int64_t*, const char*, std::size_t, std::size_t,
                                                  std::int64_t*);
template void TextCoder::check_arrow_offsets<std::int32_t>(const std::int32_t*, std::size_t, std::size_t);
template void TextCoder::check_arrow_offsets<std::int64_t>(const std::int64_t*, std::size_t, std::size_t);

}  // namespace energylens
