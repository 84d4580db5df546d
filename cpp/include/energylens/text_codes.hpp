// Text columns coded by value: a code per row and the distinct values in order of first appearance, as
// pandas.factorize gives them, for the light path of EnergyModel.predict(df) / fit(df)
// (python/energylens/profiles/light.py). One hash-table probe per row on a cheap key (length, first and
// last 8 bytes), which decides equality of strings up to 16 bytes; longer ones compare their middle too.
// No Python: the binding walks Python str objects and hands their UTF-8 bytes here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace energylens {

/// Codes strings by value, 0, 1, 2, ... in order of first appearance.
class TextCoder {
 public:
  /// An empty coder (no values yet).
  TextCoder();
  /// The code of `text`, a new one when it is the first of its value.
  std::int64_t code(std::string_view text);
  /// Codes rows [0, rows) of an Arrow string array (`offsets` rows + 1 values, each row the bytes
  /// data[offsets[i], offsets[i + 1])) into out[0, rows). Offset is int32_t (string) or int64_t
  /// (large_string). std::invalid_argument, before anything is read or coded, unless every offset
  /// lies in [0, data_size] and none decreases (check_arrow_offsets).
  template <typename Offset>
  void code_arrow(const Offset* offsets, const char* data, std::size_t data_size, std::size_t rows, std::int64_t* out);
  /// std::invalid_argument unless offsets[0] >= 0, offsets[i + 1] >= offsets[i] for every row and
  /// offsets[rows] <= data_size: every row's bytes lie inside the data buffer.
  template <typename Offset>
  static void check_arrow_offsets(const Offset* offsets, std::size_t rows, std::size_t data_size);
  /// The distinct values, index = code.
  const std::vector<std::string>& values() const { return values_; }

 private:
  struct Key {
    std::uint64_t a, b;  // first and last 8 bytes
    std::size_t size;
    std::uint64_t hash;
  };
  void grow();
  std::vector<std::string> values_;
  std::vector<Key> keys_;  // per value
  std::vector<std::int64_t> slots_;  // open addressing: code, or -1 empty
};

}  // namespace energylens
