// evaluate_replicates (closed_form.hpp) and interval_bounds (intervals.hpp): each replicate's outputs equal
// evaluate()'s with its parameters bit for bit, broadcast columns included, on 1 and 2 threads; the bounds
// equal a sort-based reimplementation of np.quantile(method="linear") over the same draws, do not depend
// on the thread count or on where the caller splits the rows, and bad sizes throw std::invalid_argument.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <span>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "energylens/closed_form.hpp"
#include "energylens/intervals.hpp"
#include "energylens/parallel.hpp"

using namespace energylens;

namespace {

struct Inputs {
  std::vector<std::vector<double>> columns;
  std::vector<const double*> ptrs;
  std::vector<double> params;  // replicates x P
};

// Positive features and parameters spread around the start point (log-normal, within a factor ~2).
Inputs make_inputs(TemplateId id, std::size_t rows, std::size_t replicates, unsigned seed) {
  const TemplateDescriptor& d = describe(id);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> feature(1.0, 64.0);
  std::normal_distribution<double> spread(0.0, 0.3);
  Inputs in;
  in.columns.assign(d.n_features, std::vector<double>(rows));
  for (auto& c : in.columns)
    for (double& x : c) x = std::round(feature(rng));
  for (const auto& c : in.columns) in.ptrs.push_back(c.data());
  for (std::size_t b = 0; b < replicates; ++b)
    for (std::size_t j = 0; j < d.n_params; ++j)
      in.params.push_back(std::clamp(d.init[j] * std::exp(spread(rng)), d.lower[j], d.upper[j]));
  return in;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

void check_replicates(TemplateId id, std::size_t rows, BroadcastMask broadcast) {
  const std::size_t B = 5, P = describe(id).n_params;
  const Inputs in = make_inputs(id, rows, B, static_cast<unsigned>(rows));
  for (int threads : {1, 2}) {
    set_max_threads(threads);
    std::vector<double> out0(B * rows), out1(B * rows);
    evaluate_replicates<double>(id, rows, in.ptrs.data(), in.params, B, out0.data(), out1.data(), broadcast);
    for (std::size_t b = 0; b < B; ++b) {
      std::vector<double> e0(rows), e1(rows);
      evaluate<double>(id, rows, in.ptrs.data(), {in.params.data() + b * P, P}, e0.data(), e1.data(), nullptr,
                       nullptr, nullptr, broadcast);
      CHECK(same_bits(e0, std::vector<double>(out0.begin() + static_cast<long>(b * rows),
                                              out0.begin() + static_cast<long>((b + 1) * rows))));
      CHECK(same_bits(e1, std::vector<double>(out1.begin() + static_cast<long>(b * rows),
                                              out1.begin() + static_cast<long>((b + 1) * rows))));
    }
  }
  set_max_threads(0);
}

// np.quantile(values, q, method="linear") by a full sort (values without NaN).
double np_quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  const double virtual_index = static_cast<double>(n - 1) * q;
  double previous = std::floor(virtual_index);
  double next = previous + 1.0;
  if (virtual_index >= static_cast<double>(n - 1)) previous = next = -1.0;
  const double gamma = virtual_index - previous;
  const double a = values[previous < 0 ? n - 1 : static_cast<std::size_t>(previous)];
  const double b = values[next < 0 ? n - 1 : static_cast<std::size_t>(next)];
  const double diff = b - a;
  volatile double t = gamma;  // no contraction into a fused multiply-add
  volatile double low = diff * t, high = diff * (1.0 - t);
  return t >= 0.5 ? b - high : a + low;
}

void check_intervals(TemplateId id) {
  const std::size_t rows = 4000, B = 40, P = describe(id).n_params;  // 160000 draws: two threads
  const Inputs in = make_inputs(id, rows, B, 7);
  std::vector<double> factors(64);
  for (std::size_t k = 0; k < factors.size(); ++k) factors[k] = 0.7 + 0.01 * static_cast<double>(k);
  const std::uint64_t seed = 11;
  const double q_lo = 0.05, q_hi = 0.95;
  std::vector<std::uint8_t> none(in.columns.size(), 0);
  std::vector<std::uint64_t> keys(rows);
  row_keys(in.ptrs.data(), in.columns.size(), none.data(), rows, keys.data());
  auto bounds = [&](std::size_t first, std::size_t count, int output, std::vector<double>& lo, std::vector<double>& hi) {
    std::vector<const double*> cols;
    for (const auto& c : in.columns) cols.push_back(c.data() + first);
    const IntervalOutput o{output, factors, lo.data() + first, hi.data() + first};
    interval_bounds(id, count, cols.data(), 0, in.params, B, seed, q_lo, q_hi, {&o, 1});
  };
  for (int output : {kOutputSum, 0, 1}) {
    std::vector<double> lo(rows), hi(rows);
    set_max_threads(1);
    bounds(0, rows, output, lo, hi);
    // the definition: every replicate evaluated, the hashed draw, a sorted quantile
    std::vector<double> out0(B * rows), out1(B * rows);
    evaluate_replicates<double>(id, rows, in.ptrs.data(), in.params, B, out0.data(), out1.data());
    bool all_equal = true;
    for (std::size_t i = 0; i < rows; ++i) {
      std::vector<double> values(B);
      for (std::size_t b = 0; b < B; ++b) {
        const double a = out0[b * rows + i], c = out1[b * rows + i];
        const double pick = output == 0 ? a : output == 1 ? c : a + c;
        const double u = draw_u(replicate_key(seed, b), keys[i]);  // the row's values' key
        values[b] = pick * factors[draw_index(u, factors.size())];
      }
      all_equal &= np_quantile(values, q_lo) == lo[i] && np_quantile(values, q_hi) == hi[i] && lo[i] <= hi[i];
    }
    CHECK(all_equal);
    // two threads, and the rows split unevenly: the same bits
    std::vector<double> lo2(rows), hi2(rows);
    set_max_threads(2);
    bounds(0, 1333, output, lo2, hi2);
    bounds(1333, rows - 1333, output, lo2, hi2);
    CHECK(same_bits(lo, lo2) && same_bits(hi, hi2));
    set_max_threads(0);
  }
  // a row's bounds follow its values, not its position: row 5's values copied to row 4321 of a longer table (and
  // as a broadcast one-row table) give row 5's bits; -0 and +0 are one key
  {
    std::vector<std::vector<double>> cols2 = in.columns;
    for (auto& c : cols2) c.push_back(c[5]);
    std::vector<const double*> p2, p1;
    for (const auto& c : cols2) p2.push_back(c.data());
    for (const auto& c : in.columns) p1.push_back(c.data() + 5);
    std::vector<double> lo(rows + 1), hi(rows + 1), lo1(1), hi1(1), lo5(rows), hi5(rows);
    const IntervalOutput o2{kOutputSum, factors, lo.data(), hi.data()}, o1{kOutputSum, factors, lo1.data(), hi1.data()};
    interval_bounds(id, rows + 1, p2.data(), 0, in.params, B, seed, q_lo, q_hi, {&o2, 1});
    interval_bounds(id, 1, p1.data(), (BroadcastMask{1} << in.columns.size()) - 1, in.params, B, seed, q_lo, q_hi,
                    {&o1, 1});
    CHECK(lo[rows] == lo[5] && hi[rows] == hi[5] && lo1[0] == lo[5] && hi1[0] == hi[5]);
    std::size_t distinct = 0;
    for (std::size_t i = 0; i + 1 < rows; ++i) distinct += keys[i] != keys[i + 1] ? 1 : 0;
    CHECK(distinct == rows - 1);
    const double zero = 0.0, minus_zero = -0.0;
    const double* z0[] = {&zero};
    const double* z1[] = {&minus_zero};
    CHECK(row_key(z0, 1, 0, 0) == row_key(z1, 1, 0, 0));
    // a value read as float32, or a last bit off, keys as the float64 value (rounded to float32's 24 bits, then to
    // kKeySignificantBits); distinct configurations (a batch of 64 and of 65) keep distinct keys
    const auto key = [](double v) {
      const double* c[] = {&v};
      return row_key(c, 1, 0, 0);
    };
    const double x = 127.76634210917;
    CHECK(key(x) == key(static_cast<double>(static_cast<float>(x))) && key(x) == key(std::nextafter(x, 1e9)));
    CHECK(key(x) == key(x * (1 + 1e-15)) && key(64.0) != key(65.0) && key(x) != key(-x));
    CHECK(key(std::numeric_limits<double>::quiet_NaN()) == key(-std::numeric_limits<double>::quiet_NaN()));
    CHECK(key(std::numeric_limits<double>::infinity()) != key(1e300));
  }
  // the extrapolation tally: feature 0 above 40 or below 3 (values 1..64), the others unchecked
  {
    const std::size_t F = in.columns.size();
    std::vector<double> above(F, std::numeric_limits<double>::infinity());
    std::vector<double> below(F, -std::numeric_limits<double>::infinity());
    above[0] = 40.0;
    below[0] = 3.0;
    std::uint64_t want = 0;
    double high = -std::numeric_limits<double>::infinity();
    for (double x : in.columns[0]) {
      want += (x > 40.0 || x < 3.0) ? 1 : 0;
      if (x > 40.0) high = std::max(high, x);
    }
    std::vector<double> lo(rows), hi(rows);
    const IntervalOutput o{kOutputSum, factors, lo.data(), hi.data()};
    for (int threads : {1, 2}) {
      set_max_threads(threads);
      const rows::RangeTally t =
          interval_bounds(id, rows, in.ptrs.data(), 0, in.params, B, seed, q_lo, q_hi, {&o, 1}, above, below);
      CHECK(t.count.size() == F && t.count[0] == want && t.flagged == want && t.high[0] == high);
      CHECK(t.count[1] == 0 && t.low[1] == std::numeric_limits<double>::infinity());
    }
    set_max_threads(0);
  }
  // sizes and codes
  std::vector<double> lo(rows), hi(rows);
  const IntervalOutput o{kOutputSum, factors, lo.data(), hi.data()};
  auto throws = [&](auto&& call) {
    try {
      call();
    } catch (const std::invalid_argument&) {
      return true;
    }
    return false;
  };
  CHECK(throws([&] { interval_bounds(id, rows, in.ptrs.data(), 0, {in.params.data(), P + 1}, 1, 0, 0.1, 0.9, {&o, 1}); }));
  CHECK(throws([&] { interval_bounds(id, rows, in.ptrs.data(), 0, {}, 0, 0, 0.1, 0.9, {&o, 1}); }));
  CHECK(throws([&] { interval_bounds(id, rows, in.ptrs.data(), 0, in.params, B, 0, 0.1, 1.5, {&o, 1}); }));
  const IntervalOutput bad{3, factors, lo.data(), hi.data()};
  CHECK(throws([&] { interval_bounds(id, rows, in.ptrs.data(), 0, in.params, B, 0, 0.1, 0.9, {&bad, 1}); }));
  std::vector<double> o0(rows), o1(rows);
  CHECK(throws([&] { evaluate_replicates<double>(id, rows, in.ptrs.data(), {in.params.data(), P + 1}, 1, o0.data(), o1.data()); }));
}

// draw_indices and drawn_quantiles (the expression model's and the search's path, on predictions already
// evaluated): the indices are draw_index(draw_u(...)) per (replicate, row key); the bounds are the sorted
// quantiles of values x factors at those draws, NaN for a row holding a NaN, the factor 1 without factors,
// the same bits on 1 and 2 threads and wherever the caller splits the rows.
void check_drawn_quantiles() {
  const std::size_t rows = 3000, B = 60;  // 180000 draws: two threads
  const std::uint64_t seed = (1ULL << 63) - 5;
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> spread(0.0, 0.4);
  std::vector<double> values(B * rows), factors(50);
  for (double& v : values) v = 100.0 * spread(rng);
  for (double& f : factors) f = spread(rng);
  std::sort(factors.begin(), factors.end());
  values[5 * rows + 17] = std::nan("");  // row 17 holds a NaN
  std::vector<std::uint64_t> keys(rows);
  for (std::size_t i = 0; i < rows; ++i) keys[i] = rng();
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, factors.size()}) {
    std::vector<std::int64_t> idx(B * rows), idx2(B * rows);
    set_max_threads(1);
    draw_indices(seed, B, keys.data(), rows, n, idx.data());
    set_max_threads(2);
    draw_indices(seed, B, keys.data(), rows, n, idx2.data());
    CHECK(idx == idx2);
    bool indices_ok = true;
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t i = 0; i < rows; ++i)
        indices_ok &= idx[b * rows + i] == static_cast<std::int64_t>(
                                               draw_index(draw_u(replicate_key(seed, b), keys[i]), n)) &&
                      idx[b * rows + i] >= 0 && idx[b * rows + i] < static_cast<std::int64_t>(std::max<std::size_t>(n, 1));
    CHECK(indices_ok);
    const std::span<const double> f{factors.data(), n};
    std::vector<double> lo(rows), hi(rows), lo2(rows), hi2(rows);
    set_max_threads(1);
    drawn_quantiles(values.data(), B, rows, f, seed, keys.data(), 0.05, 0.95, lo.data(), hi.data());
    bool all_equal = true;
    for (std::size_t i = 0; i < rows; ++i) {
      std::vector<double> v(B);
      for (std::size_t b = 0; b < B; ++b) v[b] = values[b * rows + i] * (n == 0 ? 1.0 : factors[idx[b * rows + i]]);
      if (i == 17) {
        all_equal &= std::isnan(lo[i]) && std::isnan(hi[i]);
        continue;
      }
      all_equal &= np_quantile(v, 0.05) == lo[i] && np_quantile(v, 0.95) == hi[i];
    }
    CHECK(all_equal);
    set_max_threads(2);  // split at row 1000, each part with its rows' keys
    std::vector<double> part(B * 1000), rest(B * (rows - 1000));
    for (std::size_t b = 0; b < B; ++b) {
      std::copy_n(values.begin() + static_cast<long>(b * rows), 1000, part.begin() + static_cast<long>(b * 1000));
      std::copy_n(values.begin() + static_cast<long>(b * rows + 1000), rows - 1000,
                  rest.begin() + static_cast<long>(b * (rows - 1000)));
    }
    drawn_quantiles(part.data(), B, 1000, f, seed, keys.data(), 0.05, 0.95, lo2.data(), hi2.data());
    drawn_quantiles(rest.data(), B, rows - 1000, f, seed, keys.data() + 1000, 0.05, 0.95, lo2.data() + 1000,
                    hi2.data() + 1000);
    CHECK(same_bits(lo, lo2) && same_bits(hi, hi2));
    set_max_threads(0);
  }
  bool threw = false;
  try {
    drawn_quantiles(values.data(), 0, rows, factors, 0, keys.data(), 0.1, 0.9, nullptr, nullptr);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
}

}  // namespace

int main() {
  for (TemplateId id : {TemplateId::Energy, TemplateId::Latency}) {
    for (std::size_t rows : {std::size_t{1}, std::size_t{7}, std::size_t{129}, std::size_t{60000}}) {  // 60000 x 5: 2 threads
      check_replicates(id, rows, 0);
      check_replicates(id, rows, BroadcastMask{0b101});  // columns 0 and 2 hold one value for every row
    }
    check_intervals(id);
  }
  check_drawn_quantiles();
  return energylens::testing::finish("test_intervals");
}
