"""The trace format (energylens.measure.trace): schema, exact Parquet round trips, every load error, and the
synthetic NVML-like generator's invariants."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from energylens.errors import EnergyLensError
from energylens.measure.trace import FORMAT_VERSION, SOURCES, Trace, synthetic_trace


def small_trace():
    return Trace(
        samples={
            "t_ns": np.array([10, 20, 30, 2**62], dtype=np.int64),
            "gpu": np.array([0, 0, 1, 1], dtype=np.int32),
            # (awkward floats kept bit for bit, at watts a GPU draws: 0.1 + 0.2 and 1e-300 W raised UnitsWarnings)
            "power_w": np.array([100.5, np.nan, 300.0 + (0.1 + 0.2), np.nextafter(250.0, 300.0)]),
            "energy_j": np.array([np.nan, 12.345678901234567, np.nan, 3.0]),
            "source": ["nvml_instant", "nvml_energy", "nvml_samples", "replay"],
        },
        marks={"t_ns": np.array([5, 25], dtype=np.int64), "label": ["prefill", "décode ✓"]},
        kernels={
            "gpu": np.array([0], dtype=np.int32),
            "start_ns": np.array([11], dtype=np.int64),
            "end_ns": np.array([19], dtype=np.int64),
            "name": ["sm90_xmma_gemm"],
            "kind": ["kernel"],
        },
        meta={"gpus": [{"index": 0, "name": "NVIDIA H200", "uuid": "GPU-1"},
                       {"index": 1, "name": "NVIDIA H200", "uuid": "GPU-2"}],
              "update_period_s": {"nvml_instant": 0.1}, "note": [1, 2.5, None]},
    )


def test_schema_dtypes_and_defaults():
    tr = small_trace()
    assert str(tr.samples["t_ns"].dtype) == "int64"
    assert str(tr.samples["gpu"].dtype) == "int32"
    assert isinstance(tr.samples["source"].dtype, pd.CategoricalDtype)
    assert list(tr.samples["source"].cat.categories) == list(SOURCES)
    assert tr.meta["energylens_version"] and tr.meta["created"]
    assert tr.update_period_s("nvml_instant") == 0.1 and tr.update_period_s("dcgm") is None
    assert tr.sources() == ["nvml_samples", "nvml_instant", "nvml_energy", "replay"]


def test_round_trip_exact(tmp_path):
    tr = small_trace()
    tr.save(tmp_path / "t.parquet")
    back = Trace.load(tmp_path / "t.parquet")
    assert back.equals(tr)
    assert back.samples["t_ns"].iloc[3] == 2**62
    assert np.array_equal(back.samples["power_w"].to_numpy(), tr.samples["power_w"].to_numpy(), equal_nan=True)


def test_the_file_format_identifier_does_not_follow_module_moves(tmp_path):
    # Files written before the measure subpackage existed say "energylens.trace": keep reading and
    # writing exactly that, whatever the module is called.
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    Trace().save(path)
    md = pq.read_schema(path).metadata
    assert b"energylens.trace" in md and b"energylens.measure.trace" not in md
    assert json.loads(md[b"energylens.trace"])["format"] == "energylens.trace"


def test_round_trip_empty_and_synthetic(tmp_path):
    Trace().save(tmp_path / "e.parquet")
    assert Trace.load(tmp_path / "e.parquet").equals(Trace(meta=Trace.load(tmp_path / "e.parquet").meta))
    tr, _ = synthetic_trace(duration_s=5, seed=3, phases={"prefill": {"gemm": 1}, "decode": {"memcpy": 1}})
    tr.save(tmp_path / "s.parquet")
    assert Trace.load(tmp_path / "s.parquet").equals(tr)


def test_accepts_dataframes():
    tr = small_trace()
    again = Trace(samples=tr.samples, marks=tr.marks, kernels=tr.kernels, meta=tr.meta)
    assert again.equals(tr)


@pytest.mark.parametrize(
    ("table", "data", "match"),
    [
        ("samples", {"t_ns": [1], "gpu": [0], "power_w": [1.0], "energy_j": [1.0], "source": ["bogus"]},
         "unknown value"),
        ("samples", {"t_ns": [1], "gpu": [0], "power_w": [1.0]}, "missing"),
        ("samples", {"t_ns": [1.5], "gpu": [0], "power_w": [1.0], "energy_j": [1.0], "source": ["dcgm"]},
         "must be integer"),
        ("kernels", {"gpu": [0], "start_ns": [10], "end_ns": [5], "name": ["k"], "kind": ["kernel"]},
         "end_ns < start_ns"),
        ("marks", {"t_ns": [1, 2], "label": ["a"]}, "different lengths"),
        ("marks", {"t_ns": [1], "label": [3]}, "strings"),
    ],
)
def test_constructor_errors(table, data, match):
    with pytest.raises(EnergyLensError, match=match):
        Trace(**{table: data})


def test_meta_must_be_json():
    with pytest.raises(EnergyLensError, match="JSON"):
        Trace(meta={"x": object()})


def _rewrite(src, dst, *, header=None, drop_meta=False, table_fn=None):
    t = pq.read_table(src)
    if table_fn is not None:
        t = table_fn(t)
    md = dict(pq.read_table(src).schema.metadata)
    if drop_meta:
        md = {}
    elif header is not None:
        md[b"energylens.trace"] = header if isinstance(header, bytes) else json.dumps(header).encode()
    pq.write_table(t.replace_schema_metadata(md), dst)


def test_load_errors_name_the_file(tmp_path):
    good = tmp_path / "good.parquet"
    small_trace().save(good)
    hdr = json.loads(pq.read_table(good).schema.metadata[b"energylens.trace"])

    cases = {}
    cases["newer"] = dict(header={**hdr, "version": FORMAT_VERSION + 1})
    cases["format"] = dict(header={**hdr, "format": "something.else"})
    cases["versiontype"] = dict(header={**hdr, "version": "1"})
    cases["badjson"] = dict(header=b"{not json")
    cases["nometa"] = dict(drop_meta=True)
    cases["dropcol"] = dict(table_fn=lambda t: t.drop_columns(["energy_j"]))
    cases["nulls"] = dict(table_fn=lambda t: t.set_column(
        t.column_names.index("label"), "label", pa.array([None] * t.num_rows, pa.string())))
    cases["badtype"] = dict(table_fn=lambda t: t.set_column(
        t.column_names.index("t_ns"), "t_ns", pc_cast(t.column("t_ns"))))
    cases["periods"] = dict(header={**hdr, "meta": {**hdr["meta"], "update_period_s": [0.1]}})
    cases["periodtext"] = dict(header={**hdr, "meta": {**hdr["meta"], "update_period_s": {"nvml_samples": "20ms"}}})
    cases["gpus"] = dict(header={**hdr, "meta": {**hdr["meta"], "gpus": "0,1"}})
    # (until 2026-12-05 these loaded, and attribute failed "could not convert string to float: '25ms'")
    cases["windowtext"] = dict(header={**hdr, "meta": {**hdr["meta"], "averaging_window_s": {"nvml_instant": "25ms"}}})
    cases["negperiod"] = dict(header={**hdr, "meta": {**hdr["meta"], "update_period_s": {"nvml_instant": -0.1}}})
    cases["neggpu"] = dict(table_fn=lambda t: t.set_column(
        t.column_names.index("gpu"), "gpu", pa.array([-1] * t.num_rows, pa.int32())))
    expected = {"newer": "newer", "format": "format", "versiontype": "not an integer",
                "badjson": "not valid JSON", "nometa": "not an energylens trace", "dropcol": "energy_j",
                "nulls": "null", "badtype": "type double",
                # loaded cleanly, then a TypeError in replay / the monitor / update_period_s
                "periods": "'update_period_s' must be an object", "periodtext": "'update_period_s' must be an object",
                "gpus": "'gpus' must be a list of objects", "windowtext": "'averaging_window_s' must be an object",
                "negperiod": "'update_period_s' must be an object of seconds > 0", "neggpu": "gpu must be >= 0"}
    for name, kw in cases.items():
        path = tmp_path / f"{name}.parquet"
        _rewrite(good, path, **kw)
        with pytest.raises(EnergyLensError) as info:
            Trace.load(path)
        assert str(path) in str(info.value), name
        assert expected[name] in str(info.value), (name, str(info.value))


def test_a_null_cell_or_an_unknown_source_names_its_row(tmp_path):
    """A null t_ns and an unknown source named the column and a count, not the row to look at."""
    good = tmp_path / "good.parquet"
    small_trace().save(good)
    t = pq.read_table(good)
    n = int((t.column("table").to_numpy(zero_copy_only=False) == "samples").sum())
    assert n >= 3
    ts = t.column("t_ns").to_pylist()
    ts[2] = None
    _rewrite(good, tmp_path / "null.parquet",
             table_fn=lambda x: x.set_column(x.column_names.index("t_ns"), "t_ns", pa.array(ts, pa.int64())))
    with pytest.raises(EnergyLensError, match=r"null.parquet: table 'samples' column 't_ns' .* at rows \[2\]"):
        Trace.load(tmp_path / "null.parquet")
    src = t.column("source").to_pylist()
    src[1] = "nvml_bogus"
    _rewrite(good, tmp_path / "src.parquet",
             table_fn=lambda x: x.set_column(x.column_names.index("source"), "source", pa.array(src, pa.string())))
    with pytest.raises(EnergyLensError, match=r"src.parquet: .*'nvml_bogus'.\] at rows \[1\]"):
        Trace.load(tmp_path / "src.parquet")


def pc_cast(col):
    return col.cast(pa.float64(), safe=False)


def test_load_missing_and_garbage(tmp_path):
    with pytest.raises(EnergyLensError, match="no such trace file"):
        Trace.load(tmp_path / "absent.parquet")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    with pytest.raises(EnergyLensError, match="junk.parquet"):
        Trace.load(junk)


def test_synthetic_invariants():
    tr, truth = synthetic_trace(duration_s=10, seed=7, noise_w=0.0)
    s = tr.samples
    inst = s[s["source"] == "nvml_instant"]
    energy = s[s["source"] == "nvml_energy"]
    buf = s[s["source"] == "nvml_samples"]
    assert np.allclose(np.diff(inst["t_ns"].to_numpy()), 100_000_000)
    assert 0.0175 < np.diff(buf["t_ns"].to_numpy()).mean() * 1e-9 < 0.0225
    lo, hi = truth.idle_power_w, max(truth.class_power_w.values())
    assert inst["power_w"].between(lo - 1e-9, hi + 1e-9).all()
    assert np.all(np.diff(energy["energy_j"].to_numpy()) >= 0)
    # the energy counter is the exact integral (to 1 mJ): last reading <= total energy
    assert energy["energy_j"].iloc[-1] <= truth.total_energy_j + 1e-9
    k = tr.kernels
    d = (k["end_ns"] - k["start_ns"]).to_numpy() * 1e-9
    assert d.min() >= 0.002 - 1e-9 and d.max() <= 0.050 + 1e-9
    assert np.all(k["start_ns"].to_numpy()[1:] >= k["end_ns"].to_numpy()[:-1])  # one stream
    busy = sum(truth.class_busy_s.values())
    idle_e = truth.idle_power_w * (10 - busy)
    assert np.isclose(truth.total_energy_j,
                      idle_e + sum(truth.class_power_w[c] * truth.class_busy_s[c] for c in truth.class_busy_s))
    # deterministic per seed
    again, _ = synthetic_trace(duration_s=10, seed=7)
    assert again.samples.equals(tr.samples) and again.kernels.equals(tr.kernels)


def test_synthetic_argument_errors():
    with pytest.raises(ValueError, match=r"averaging_window_s must be in \(0, update_period_s\]"):
        synthetic_trace(averaging_window_s=0.2, update_period_s=0.1)
    with pytest.raises(ValueError, match="class_power_w must name at least one class"):
        synthetic_trace(class_power_w={})
    with pytest.raises(ValueError, match="unknown classes"):
        synthetic_trace(class_weights={"nope": 1.0})


@pytest.mark.parametrize(("column", "value"), [("power_w", -500.0), ("power_w", np.inf), ("energy_j", -1.0)])
def test_negative_or_infinite_readings_are_refused_naming_the_rows(column, value):
    """A negative or infinite power or energy reading is a fault, not data (it pulled an attributed idle power
    from 90 to 47 W); NaN stays the mark of a reading not taken."""
    trace, _ = synthetic_trace(duration_s=2, seed=0)
    s = trace.samples.copy()
    row = int(np.flatnonzero(np.isfinite(s[column].to_numpy()))[3])
    s.loc[s.index[row], column] = value
    with pytest.raises(EnergyLensError, match=rf"samples\.{column} must be finite and >= 0 .*rows \[{row}\]"):
        Trace(samples=s, kernels=trace.kernels, marks=trace.marks, meta=trace.meta)


def test_a_trace_is_checked_where_it_is_made():
    """Meta and gpu values are refused by the constructor too, not first when the saved file is read back."""
    with pytest.raises(EnergyLensError, match="'averaging_window_s' must be an object of seconds > 0"):
        Trace(meta={"averaging_window_s": {"nvml_instant": "25ms"}})
    samples = small_trace().samples.assign(gpu=np.array([0, -1, 1, 1], dtype=np.int32))
    with pytest.raises(EnergyLensError, match=r"samples.gpu must be >= 0 .*rows \[1\]"):
        Trace(samples=samples)


def test_a_column_the_format_lacks_is_refused_not_dropped(tmp_path):
    """A trace file with a column added (say the GPU temperature) loaded without it, silently; Trace() itself
    refuses unexpected columns."""
    good = tmp_path / "good.parquet"
    small_trace().save(good)
    _rewrite(good, tmp_path / "extra.parquet",
             table_fn=lambda t: t.append_column("temperature_c", pa.array([40.0] * t.num_rows)))
    with pytest.raises(EnergyLensError, match=r"extra.parquet: column\(s\) \['temperature_c'\] are not part of trace "
                                              r"format version 1"):
        Trace.load(tmp_path / "extra.parquet")


def test_with_marks_replaces_the_marks_only():
    """What energylens monitor adds its window's marks with: the samples shared, not normalised again."""
    tr = synthetic_trace(duration_s=0.3)[0]
    marked = tr.with_marks({"t_ns": [5, 7], "label": ["a", "b"]})
    assert list(marked.marks["label"]) == ["a", "b"] and str(marked.marks["t_ns"].dtype) == "int64"
    assert marked.samples is tr.samples and marked.meta == tr.meta and len(tr.marks) != 2
    with pytest.raises(EnergyLensError, match=r"Trace\.with_marks: marks\.label must hold strings"):
        tr.with_marks({"t_ns": [5], "label": [3]})
