// Bindings of the light prediction path (row_features.hpp, text_codes.hpp): text columns coded by value
// (Arrow string buffers, or NumPy object arrays of str walked here with the GIL held, which is the only
// place that touches Python objects) and the one native pass from a table's columns to the template's
// outputs, run with the GIL released. Results are typed classes whose arrays own their memory.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "energylens/closed_form.hpp"
#include "energylens/parallel.hpp"
#include "energylens/row_features.hpp"
#include "energylens/roofline.hpp"
#include "energylens/text_codes.hpp"

namespace py = pybind11;

namespace energylens::bindings {
namespace {

template <typename T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

TemplateId template_named(const std::string& name) {
  if (name == "energy") return TemplateId::Energy;
  if (name == "latency") return TemplateId::Latency;
  throw std::invalid_argument("unknown template '" + name + "' (expected 'energy' or 'latency')");
}

// Pointer -> code memo of the object walk: a str object seen before is not decoded again. Bounded, so a
// column of a million distinct str objects costs no more memory than a small table.
class PointerCodes {
 public:
  static constexpr std::size_t kSlots = 8192;
  PointerCodes() : keys_(kSlots, nullptr), codes_(kSlots, -1) {}
  std::int64_t find(const PyObject* p) const {
    for (std::size_t at = slot(p), n = 0; n < kSlots && keys_[at] != nullptr; at = (at + 1) % kSlots, ++n)
      if (keys_[at] == p) return codes_[at];
    return -1;
  }
  void add(const PyObject* p, std::int64_t code) {
    if (2 * size_ >= kSlots) return;  // full enough: later objects are looked up by value
    std::size_t at = slot(p);
    while (keys_[at] != nullptr) at = (at + 1) % kSlots;
    keys_[at] = p;
    codes_[at] = code;
    ++size_;
  }

 private:
  static std::size_t slot(const PyObject* p) {
    return static_cast<std::size_t>((reinterpret_cast<std::uintptr_t>(p) >> 4) * 0x9E3779B97F4A7C15ULL >> 51) %
           kSlots;
  }
  std::vector<const PyObject*> keys_;
  std::vector<std::int64_t> codes_;
  std::size_t size_ = 0;
};

// Codes of a 1-D object array whose every cell is a str (a str subclass counts by value, as in
// pandas.factorize), or nullopt when some cell is not one (the caller falls back to pandas).
std::optional<py::array_t<std::int64_t>> code_objects(TextCoder& coder, const py::array& values) {
  if (values.ndim() != 1 || values.dtype().kind() != 'O')
    throw std::invalid_argument("code_objects: expected a 1-D NumPy array of dtype object");
  const auto n = values.shape(0);
  const auto stride = values.strides(0);
  const char* base = static_cast<const char*>(values.data());
  py::array_t<std::int64_t> out(n);
  std::int64_t* o = out.mutable_data();
  PointerCodes memo;
  const PyObject* last = nullptr;
  std::int64_t last_code = -1;
  for (py::ssize_t i = 0; i < n; ++i) {
    PyObject* cell = *reinterpret_cast<PyObject* const*>(base + i * stride);
    if (cell != last) {
      std::int64_t c = memo.find(cell);
      if (c < 0) {
        if (cell == nullptr || !PyUnicode_Check(cell)) return std::nullopt;
        Py_ssize_t size = 0;
        const char* utf8 = PyUnicode_AsUTF8AndSize(cell, &size);
        if (utf8 == nullptr) {  // a lone surrogate: not UTF-8; pandas handles it
          PyErr_Clear();
          return std::nullopt;
        }
        c = coder.code(std::string_view(utf8, static_cast<std::size_t>(size)));
        memo.add(cell, c);
      }
      last = cell;
      last_code = c;
    }
    o[i] = last_code;
  }
  return out;
}

template <typename Offset>
py::array_t<std::int64_t> code_arrow(TextCoder& coder, const Array<Offset>& offsets, const Array<std::uint8_t>& data) {
  if (offsets.ndim() != 1 || offsets.size() < 1) throw std::invalid_argument("code_arrow: offsets must be 1-D, rows + 1 values");
  const std::size_t rows = static_cast<std::size_t>(offsets.size() - 1);
  const Offset* off = offsets.data();
  py::array_t<std::int64_t> out(static_cast<py::ssize_t>(rows));
  static const char kEmpty = 0;
  const char* bytes = data.size() > 0 ? reinterpret_cast<const char*>(data.data()) : &kEmpty;
  coder.code_arrow<Offset>(off, bytes, static_cast<std::size_t>(data.size()), rows, out.mutable_data());
  return out;
}

// One Arrow string chunk of a column: its offsets (int32 or int64, rows + 1) and data bytes.
struct ArrowChunk {
  const void* offsets = nullptr;
  bool wide = false;  // int64 offsets (large_string)
  const char* data = nullptr;
  std::size_t data_size = 0;
  std::size_t rows = 0;
};

ArrowChunk arrow_chunk(const py::array& offsets, const py::array& data, std::vector<py::array>& keep) {
  ArrowChunk c;
  if (offsets.ndim() != 1 || offsets.size() < 1 || !(offsets.flags() & py::array::c_style))
    throw std::invalid_argument("code_arrow_columns: offsets must be contiguous, 1-D, rows + 1 values");
  if (data.ndim() != 1 || data.dtype().itemsize() != 1 || !(data.flags() & py::array::c_style))
    throw std::invalid_argument("code_arrow_columns: data must be contiguous 1-D bytes");
  c.wide = offsets.dtype().is(py::dtype::of<std::int64_t>());
  if (!c.wide && !offsets.dtype().is(py::dtype::of<std::int32_t>()))
    throw std::invalid_argument("code_arrow_columns: offsets must be int32 or int64");
  c.rows = static_cast<std::size_t>(offsets.size() - 1);
  c.data_size = static_cast<std::size_t>(data.size());
  // Every offset checked here, with the GIL held, before the coding threads read any row.
  if (c.wide) TextCoder::check_arrow_offsets(static_cast<const std::int64_t*>(offsets.data()), c.rows, c.data_size);
  else TextCoder::check_arrow_offsets(static_cast<const std::int32_t*>(offsets.data()), c.rows, c.data_size);
  static const char kEmpty = 0;
  c.offsets = offsets.data();
  c.data = data.size() > 0 ? static_cast<const char*>(data.data()) : &kEmpty;
  keep.push_back(offsets);
  keep.push_back(data);
  return c;
}

// Codes of several Arrow string columns (each a list of (offsets, data) chunks), one column per thread
// with the GIL released: [(codes, distinct values)] in column order.
py::list code_arrow_columns(const std::vector<std::vector<std::pair<py::array, py::array>>>& columns) {
  std::vector<py::array> keep;
  std::vector<std::vector<ArrowChunk>> chunks(columns.size());
  std::vector<py::array_t<std::int64_t>> out;
  std::size_t total = 0;
  for (std::size_t k = 0; k < columns.size(); ++k) {
    std::size_t rows = 0;
    for (const auto& [offsets, data] : columns[k]) {
      chunks[k].push_back(arrow_chunk(offsets, data, keep));
      rows += chunks[k].back().rows;
    }
    out.emplace_back(static_cast<py::ssize_t>(rows));
    total += rows;
  }
  std::vector<TextCoder> coders(columns.size());
  std::vector<std::int64_t*> dst;
  for (auto& a : out) dst.push_back(a.mutable_data());
  {
    const ReleaseGilIfLong release(total);
    const int threads = total < 65536 ? 1 : std::min(static_cast<int>(columns.size()), max_threads());
    run_chunks(columns.size(), threads, [&](std::size_t k, int) {
      std::int64_t* o = dst[k];
      for (const ArrowChunk& c : chunks[k]) {
        if (c.wide) coders[k].code_arrow(static_cast<const std::int64_t*>(c.offsets), c.data, c.data_size, c.rows, o);
        else coders[k].code_arrow(static_cast<const std::int32_t*>(c.offsets), c.data, c.data_size, c.rows, o);
        o += c.rows;
      }
    });
  }
  py::list result;
  for (std::size_t k = 0; k < columns.size(); ++k) result.append(py::make_tuple(out[k], coders[k].values()));
  return result;
}

// The outputs of predict_rows and the extrapolation tally (arrays owned by the result).
struct RowPrediction {
  py::array_t<double> out0, out1;
  rows::RangeTally tally;
};

struct RowInputs {
  std::vector<Array<double>> numbers;
  std::vector<Array<std::int64_t>> codes;
  rows::RowColumns columns;
};

RowInputs row_inputs(const std::vector<py::array>& numbers, const std::vector<py::object>& codes,
                     std::size_t n_gpu, std::size_t n_precision, bool numbers_needed = true) {
  if (numbers.size() != 6) throw std::invalid_argument("predict_rows: expected 6 number columns (tp, pp, batch_size, input_tokens, output_tokens, params_b)");
  if (codes.size() != 3) throw std::invalid_argument("predict_rows: expected 3 code columns (model, gpu, precision or None)");
  RowInputs in;
  for (const auto& a : numbers) in.numbers.push_back(Array<double>::ensure(a));
  for (std::size_t k = 0; k < 3; ++k)
    if (!(k == 2 && codes[k].is_none())) in.codes.push_back(Array<std::int64_t>::ensure(codes[k]));
  const auto n = numbers_needed ? in.numbers[0].size() : in.codes[0].size();
  for (const auto& a : in.numbers)
    if (numbers_needed && (!a || a.ndim() != 1 || a.size() != n))
      throw std::invalid_argument("predict_rows: number columns must be 1-D of one length");
  for (const auto& a : in.codes)
    if (!a || a.ndim() != 1 || a.size() != n) throw std::invalid_argument("predict_rows: code columns must be 1-D of the rows' length");
  auto& c = in.columns;
  c.tp = in.numbers[0].data();
  c.pp = in.numbers[1].data();
  c.batch = in.numbers[2].data();
  c.input_tokens = in.numbers[3].data();
  c.output_tokens = in.numbers[4].data();
  c.params_b = in.numbers[5].data();
  c.model = in.codes[0].data();
  c.gpu = in.codes[1].data();
  c.precision = in.codes.size() == 3 ? in.codes[2].data() : nullptr;
  c.n_gpu = n_gpu;
  c.n_precision = c.precision == nullptr ? 1 : n_precision;
  c.rows = static_cast<std::size_t>(n);
  return in;
}

// `out` (a writable C-contiguous float64 array of n values) or, when None, a new array of n values.
py::array_t<double> output_or_new(const py::object& out, py::ssize_t n, const char* name) {
  if (out.is_none()) return py::array_t<double>(n);
  using Exact = py::array_t<double, py::array::c_style>;
  if (!Exact::check_(out)) throw std::invalid_argument(std::string("predict_rows: ") + name + " must be a C-contiguous float64 array");
  auto a = py::reinterpret_borrow<py::array_t<double>>(out);
  if (a.ndim() != 1 || a.shape(0) != n || !a.writeable())
    throw std::invalid_argument(std::string("predict_rows: ") + name + " must be writable, 1-D, one value per row");
  return a;
}

std::vector<double> flat(const Array<double>& a) { return std::vector<double>(a.data(), a.data() + a.size()); }

// Text coding and number checks of the light path's columns.
void bind_columns(py::module_& m) {
  py::class_<TextCoder>(m, "TextCoder",
                        "Codes text by value, 0, 1, 2, ... in order of first appearance (pandas.factorize's order).")
      .def(py::init<>())
      .def("code_objects", &code_objects, py::arg("values"),
           "Codes of a 1-D object array of str; None when some cell is not a str.")
      .def("code_arrow", &code_arrow<std::int32_t>, py::arg("offsets"), py::arg("data"),
           "Codes of an Arrow string array's rows (int32 offsets, rows + 1 of them, and the data bytes).")
      .def("code_arrow", &code_arrow<std::int64_t>, py::arg("offsets"), py::arg("data"),
           "Codes of an Arrow large_string array's rows (int64 offsets).")
      .def_property_readonly("values", &TextCoder::values, "The distinct values, index = code.");

  m.def("code_arrow_columns", &code_arrow_columns, py::arg("columns"),
        "Codes of Arrow string columns (each a list of (offsets, data) chunks), the columns coded in parallel "
        "with the GIL released: [(codes, distinct values in order of first appearance)].");

  m.def(
      "numbers_ok",
      [](const Array<double>& values, double lower, bool inclusive, bool whole, bool allow_nan) {
        if (values.ndim() != 1) throw std::invalid_argument("numbers_ok: expected a 1-D array");
        const double* x = values.data();
        const auto n = static_cast<std::size_t>(values.size());
        const ReleaseGilIfLong release(n);
        return rows::numbers_ok(x, n, lower, inclusive, whole, allow_nan);
      },
      py::arg("values"), py::arg("lower"), py::arg("inclusive"), py::arg("whole") = false, py::arg("allow_nan") = false,
      "Every value finite and >= / > lower (a whole number with whole=True); NaN also accepted with allow_nan.");
}

// The native pass from a table's columns to the template's outputs.
void bind_predict(py::module_& m) {
  py::class_<RowPrediction>(m, "RowPrediction", "Outputs of predict_rows and its extrapolation tally.")
      .def_readonly("out0", &RowPrediction::out0)
      .def_readonly("out1", &RowPrediction::out1, "Empty when summed.")
      .def_property_readonly("range_count", [](const RowPrediction& r) { return r.tally.count; })
      .def_property_readonly("range_high", [](const RowPrediction& r) { return r.tally.high; })
      .def_property_readonly("range_low", [](const RowPrediction& r) { return r.tally.low; })
      .def_property_readonly("range_flagged", [](const RowPrediction& r) { return r.tally.flagged; });

  m.attr("ROW_COMBO_FIELDS") = static_cast<int>(rows::kNumComboFields);

  m.def(
      "used_combos",
      [](const std::vector<py::object>& codes, std::size_t n_models, std::size_t n_gpu, std::size_t n_precision) {
        RowInputs in = row_inputs(std::vector<py::array>(6, py::array_t<double>(0)), codes, n_gpu, n_precision, false);
        py::array_t<std::uint8_t> used(static_cast<py::ssize_t>(n_models * in.columns.n_gpu * in.columns.n_precision));
        std::fill_n(used.mutable_data(), used.size(), std::uint8_t{0});
        {
          py::gil_scoped_release release;
          rows::used_combos(in.columns, n_models, used.mutable_data());
        }
        return used;
      },
      py::arg("codes"), py::arg("n_models"), py::arg("n_gpu"), py::arg("n_precision"),
      "1 per (model, gpu, precision) combination some row uses, model-major.");

  m.def(
      "row_features",
      [](const std::vector<py::array>& numbers, const std::vector<py::object>& codes, std::size_t n_gpu,
         std::size_t n_precision, const Array<double>& combos, bool kv_head_replication,
         std::optional<Array<double>> touch) {
        RowInputs in = row_inputs(numbers, codes, n_gpu, n_precision);
        const auto n = static_cast<py::ssize_t>(in.columns.rows);
        if (touch) {
          if (touch->ndim() != 1 || touch->size() != n)
            throw std::invalid_argument("row_features: touch must be 1-D, one value per row");
          in.columns.touch = touch->data();
        }
        py::array_t<double> out({static_cast<py::ssize_t>(roofline::kNumFeatures), n});
        std::vector<double*> f(roofline::kNumFeatures);
        for (std::size_t k = 0; k < f.size(); ++k) f[k] = out.mutable_data() + k * static_cast<std::size_t>(n);
        const std::vector<double> table = flat(combos);
        rows::RowOptions options{kv_head_replication};
        const ReleaseGilIfLong release(in.columns.rows);
        rows::fill_features(in.columns, table, options, 0, in.columns.rows, f.data());
        return out;
      },
      py::arg("numbers"), py::arg("codes"), py::arg("n_gpu"), py::arg("n_precision"), py::arg("combos"),
      py::arg("kv_head_replication") = true, py::kw_only(), py::arg("touch") = py::none(),
      "The template features (features x rows) of predict_rows, a new C-contiguous array (the fit path's "
      "features; codes must be in range). touch: the MoE touched fraction per row (NumPy's, for features "
      "equal to features.py's bit for bit), else computed here.");

  m.def(
      "predict_rows",
      [](const std::string& name, const std::vector<py::array>& numbers, const std::vector<py::object>& codes,
         std::size_t n_gpu, std::size_t n_precision, const Array<double>& combos, const Array<double>& params,
         bool summed, std::optional<Array<double>> above, std::optional<Array<double>> below,
         bool kv_head_replication, const py::object& out0, const py::object& out1, const py::object& stall) {
        const TemplateId id = template_named(name);
        RowInputs in = row_inputs(numbers, codes, n_gpu, n_precision);
        const auto n = static_cast<py::ssize_t>(in.columns.rows);
        RowPrediction r{output_or_new(out0, n, "out0"), output_or_new(out1, summed ? 0 : n, "out1"), {}};
        const std::vector<double> table = flat(combos), theta = flat(params);
        const std::vector<double> hi = above ? flat(*above) : std::vector<double>{};
        const std::vector<double> lo = below ? flat(*below) : std::vector<double>{};
        if (theta.size() != describe(id).n_params) throw std::invalid_argument("predict_rows: wrong number of params");
        double* o0 = r.out0.mutable_data();
        double* o1 = summed ? nullptr : r.out1.mutable_data();
        py::array_t<double> st;
        if (!stall.is_none()) st = output_or_new(stall, n, "stall");
        double* o2 = stall.is_none() ? nullptr : st.mutable_data();
        const ReleaseGilIfLong release(in.columns.rows);
        r.tally = rows::predict(id, in.columns, table, theta, rows::RowOptions{kv_head_replication}, o0, o1, hi, lo, o2);
        return r;
      },
      py::arg("template"), py::arg("numbers"), py::arg("codes"), py::arg("n_gpu"), py::arg("n_precision"),
      py::arg("combos"), py::arg("params"), py::kw_only(), py::arg("summed") = false, py::arg("above") = py::none(),
      py::arg("below") = py::none(), py::arg("kv_head_replication") = true, py::arg("out0") = py::none(),
      py::arg("out1") = py::none(), py::arg("stall") = py::none(),
      "The template's outputs for a table's rows in one native pass (features built in cache). Codes are "
      "checked by used_combos first; combos has ROW_COMBO_FIELDS values per combination. stall (template "
      "'latency'): an array written with each row's prefill stall B_r t_pf as the search engine evaluates it.");
}

}  // namespace

void bind_rows(py::module_& m) {
  bind_columns(m);
  bind_predict(m);
}

}  // namespace energylens::bindings
