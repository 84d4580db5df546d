"""The bad-input harness: generated bad inputs across ``fit``, ``predict``, ``evaluate``, ``monitor`` and the
Python API. Each must end with a non-zero exit (or the documented exception), a message naming the file and,
where it applies, the row and the column, no traceback, and no input clobbered.

Cases are data (one row of ``CASES`` each): the command line, files to create, and what the message must
contain. Run in-process through ``energylens.cli.main.main`` (an exception escaping it is a traceback).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from energylens.cli.main import main as cli_main

GOOD = pd.DataFrame({
    "model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"] * 6 + ["meta-llama/Meta-Llama-3.1-70B-Instruct"] * 6,
    "params_b": [8.03] * 6 + [70.55] * 6,
    "gpu": ["NVIDIA H100 80GB HBM3"] * 12,
    "tp": [1, 1, 2, 2, 4, 4, 2, 2, 4, 4, 8, 8],
    "pp": [1] * 12,
    "batch_size": [16.0, 64.0] * 6,
    "input_tokens": [512.0] * 12,
    "output_tokens": [256.0] * 12,
    "energy_j": [40.0, 18.0, 60.0, 26.0, 90.0, 40.0, 300.0, 120.0, 380.0, 160.0, 520.0, 230.0],
    "tpot_s": [0.012, 0.016, 0.010, 0.013, 0.009, 0.011, 0.030, 0.040, 0.022, 0.030, 0.018, 0.025],
})


def _csv(frame: pd.DataFrame, **kw) -> bytes:
    return frame.to_csv(index=False, **kw).encode()


def _with(**changes) -> Callable[[], bytes]:
    """GOOD with column values replaced (a list per column, or a scalar for every row)."""
    def make() -> bytes:
        f = GOOD.copy().astype(object)
        for col, value in changes.items():
            f[col] = value
        return _csv(f)
    return make


def _drop(col: str) -> Callable[[], bytes]:
    return lambda: _csv(GOOD.drop(columns=[col]))


def _rename(old: str, new: str) -> Callable[[], bytes]:
    return lambda: _csv(GOOD.rename(columns={old: new}))


def _at(col: str, row: int, value) -> Callable[[], bytes]:
    """GOOD with one cell (0-based data row) changed."""
    def make() -> bytes:
        f = GOOD.copy().astype(object)
        f.loc[row, col] = value
        return _csv(f)
    return make


@dataclass
class Case:
    """One bad input: argv (with {dir} for the temp folder), files to create, message fragments."""

    name: str
    argv: list[str]
    files: dict[str, Callable[[], bytes] | bytes | None] = field(default_factory=dict)
    expect: tuple[str, ...] = ()
    exit_code: int = 2


def _profile_cases() -> list[Case]:
    """Bad profile files, each tried with fit and as the configurations of predict."""
    bad: list[tuple[str, Callable[[], bytes] | bytes | None, tuple[str, ...]]] = [
        ("missing_file", None, ("nope.csv",)),
        ("empty_file", b"", ("p.csv", "empty")),
        ("binary_file", bytes(range(256)) * 4, ("p.csv",)),
        ("utf16_file", GOOD.to_csv(index=False).encode("utf-16"), ("p.csv",)),
        ("semicolon_csv", lambda: _csv(GOOD, sep=";"), ("p.csv", "separat")),
        ("header_only", lambda: _csv(GOOD.iloc[:0]), ("p.csv",)),
        ("tp_zero", _at("tp", 3, 0), ("p.csv", "'tp'", "4")),
        ("tp_text", _at("tp", 2, "two"), ("p.csv", "'tp'", "3")),
        ("tp_fraction", _at("tp", 1, 1.5), ("p.csv", "'tp'", "2")),
        ("pp_negative", _at("pp", 0, -1), ("p.csv", "'pp'", "1")),
        ("batch_negative", _at("batch_size", 4, -3), ("p.csv", "'batch_size'", "5")),
        ("batch_text", _at("batch_size", 5, "lots"), ("p.csv", "'batch_size'", "6")),
        ("input_negative", _at("input_tokens", 6, -10), ("p.csv", "'input_tokens'", "7")),
        ("output_zero", _at("output_tokens", 7, 0), ("p.csv", "'output_tokens'", "8")),
        ("output_text", _at("output_tokens", 8, "many"), ("p.csv", "'output_tokens'", "9")),
        ("energy_negative", _at("energy_j", 9, -5.0), ("p.csv", "'energy_j'", "10")),
        ("energy_text", _at("energy_j", 10, "hot"), ("p.csv", "'energy_j'", "11")),
        ("energy_inf", _at("energy_j", 11, math.inf), ("p.csv", "'energy_j'", "12")),
        ("params_negative", _at("params_b", 0, -8.0), ("p.csv", "'params_b'", "1")),
        ("unknown_precision", _with(precision="fp7"), ("p.csv", "'precision'", "fp7")),
        ("unknown_modality", _with(modality="smell"), ("p.csv", "'modality'", "smell")),
        ("unknown_gpu", _at("gpu", 2, "Quantum GPU 9000"), ("Quantum GPU 9000", "--gpu-table")),
        ("unknown_kv_dtype", _with(kv_cache_dtype="fp3"), ("p.csv", "kv_cache_dtype", "fp3")),
        ("blank_model", _at("model", 3, ""), ("p.csv", "'model'", "4")),
        ("blank_gpu", _at("gpu", 4, ""), ("p.csv", "'gpu'", "5")),
        # pp is optional (default 1) since 2026-12-06; its column under another name is still an error, not ignored
        ("pp_other_name", _rename("pp", "pipeline_parallel_size"), ("p.csv", "'pipeline_parallel_size'", "'pp'")),
    ] + [(f"missing_{c}", _drop(c), ("p.csv", c)) for c in
         ("model", "gpu", "tp", "batch_size", "input_tokens", "output_tokens")]
    cases = []
    for name, content, expect in bad:
        target = "nope.csv" if content is None else "p.csv"
        files = {} if content is None else {"p.csv": content}
        cases.append(Case(f"fit_{name}", ["fit", f"{{dir}}/{target}", "-o", "{dir}/m.json", "--bootstrap", "0"],
                          files, expect))
        if name.startswith(("energy_",)):
            continue  # predict does not read energy_j
        cases.append(Case(f"predict_{name}", ["predict", "{dir}/good_model.json", f"{{dir}}/{target}", "-o",
                                              "{dir}/out.csv"], files, expect))
    return cases


def _fit_cases() -> list[Case]:
    good = {"g.csv": lambda: _csv(GOOD)}
    base = ["fit", "{dir}/g.csv", "-o"]
    return [
        Case("fit_output_is_input", base + ["{dir}/g.csv"], good, ("g.csv", "input")),
        Case("fit_output_is_folder", base + ["{dir}"], good, ("is a folder",)),
        Case("fit_output_folder_missing", base + ["{dir}/no/such/m.json"], good, ("does not exist",)),
        Case("fit_output_dev_full", base + ["/dev/full"], good, ("/dev/full",)),
        Case("fit_output_named_csv", base + ["{dir}/m.csv"], good, ("m.csv", "JSON model", ".json")),
        Case("fit_energy_misspelled", base + ["{dir}/m.json"], {"g.csv": _rename("energy_j", "Energy_J")},
             ("did you mean", "Energy_J")),
        Case("fit_energy_misnamed", base + ["{dir}/m.json"], {"g.csv": _rename("energy_j", "energy_joules")},
             ("did you mean", "energy_joules")),
        Case("fit_energy_partly_missing", base + ["{dir}/m.json"], {"g.csv": _at("energy_j", 3, "")},
             ("energy_j", "4")),
        Case("fit_no_measurements_at_all", base + ["{dir}/m.json"], {"g.csv": lambda: _csv(GOOD.drop(
            columns=["energy_j", "tpot_s"]))}, ("g.csv", "nothing to fit", "energy_j", "ttft_s / tpot_s")),
        Case("fit_no_latency_and_no_energy", base + ["{dir}/m.json", "--no-latency"],
             {"g.csv": _drop("energy_j")}, ("--no-latency",)),
        # a value that would overflow the model (a batch of 1e300): refused by the schema's plausibility limits
        # (profiles/limits.py) before a fit starts; no model file, the file, row, column and range named
        Case("fit_batch_implausible", base + ["{dir}/m.json", "--bootstrap", "0"],
             {"g.csv": _at("batch_size", 2, 1e300)}, ("g.csv", "'batch_size'", "must be between", "data row 3 (1-based")),
    ] + [Case(f"fit_arg_{opt.strip('-')}_{v}", base + ["{dir}/m.json", opt, v], good, (opt,))
         for opt, v in (("--starts", "0"), ("--starts", "-2"), ("--starts", "x"), ("--bootstrap", "-1"),
                        ("--bootstrap", "1.5"), ("--seed", "-1"), ("--seed", "abc"), ("--seed", str(2**64)),
                        ("--residual", "cubic"), ("--loss", "l3"))]


def _model_file_cases() -> list[Case]:
    def edited(fn: Callable[[dict], None]) -> Callable[[], bytes]:
        def make() -> bytes:
            doc = json.loads(Path(pytest.GOOD_MODEL).read_text())  # type: ignore[attr-defined]
            fn(doc)
            return json.dumps(doc, allow_nan=True).encode()
        return make

    def param(value):
        def f(doc):
            params = doc["energy"]["params"]
            params[next(iter(params))] = value
        return f

    def set_all(value):
        def f(doc):
            doc["energy"]["params"] = {k: value for k in doc["energy"]["params"]}
        return f

    def add_key(where, key):
        def f(doc):
            (doc["energy"][where] if where else doc)[key] = 1
        return f

    def state(key, value):
        def f(doc):
            doc["energy"][key] = value
        return f

    cfg = {"c.csv": lambda: _csv(GOOD.drop(columns=["energy_j"]))}
    argv = ["predict", "{dir}/m.json", "{dir}/c.csv", "-o", "{dir}/out.csv"]
    files = [
        ("missing", None, ("m.json",)),
        ("not_json", b"{not json", ("m.json", "JSON")),
        ("empty", b"", ("m.json",)),
        ("other_format", b'{"format": "something", "version": 1}', ("m.json", "format")),
        ("newer_version", edited(lambda d: d.__setitem__("version", 99)), ("m.json", "version")),
        ("param_nan", edited(param(float("nan"))), ("m.json",)),
        ("param_negative", edited(param(-5.0)), ("m.json",)),
        ("params_zero", edited(set_all(0.0)), ("m.json",)),
        ("param_text", edited(param("big")), ("m.json",)),
        ("unknown_top_key", edited(add_key(None, "surprise")), ("m.json", "surprise")),
        ("unknown_options_key", edited(add_key("options", "n_start")), ("m.json", "n_start")),
        # The residual summary and training ranges of file version 2 (issue 13) are checked like the rest.
        ("residual_sample_text", edited(state("residual_sample", ["a"])), ("m.json", "residual_sample")),
        ("residual_sample_nan", edited(state("residual_sample", [0.1, float("nan")])), ("m.json", "residual_sample")),
        ("residual_sample_table", edited(state("residual_sample", [[0.1], [0.2]])), ("m.json", "residual_sample")),
        ("residual_count_short", edited(state("residual_count", 1)), ("m.json", "residual_count")),
        ("residual_count_text", edited(state("residual_count", "many")), ("m.json", "residual_count")),
        ("train_ranges_inverted", edited(state("train_ranges", {"tp": [8, 1]})), ("m.json", "train_ranges", "tp")),
        ("train_ranges_unknown", edited(state("train_ranges", {"colour": [1, 2]})), ("m.json", "colour")),
        ("train_ranges_not_pairs", edited(state("train_ranges", {"tp": [1, 2, 3]})), ("m.json", "train_ranges")),
        ("train_ranges_list", edited(state("train_ranges", [1, 2])), ("m.json", "train_ranges")),
        ("bootstrap_width", edited(state("bootstrap_params", [[1.0, 2.0]])), ("m.json", "bootstrap_params")),
        ("bootstrap_inf", edited(state("bootstrap_params", [[float("inf")] * 12])), ("m.json", "bootstrap_params")),
        ("old_residuals_text", edited(state("train_residuals", "x")), ("m.json", "train_residuals")),
        ("unidentified_unknown", edited(lambda d: d["energy"]["fit"].__setitem__("unidentified", ["colour"])),
         ("m.json", "unidentified")),
        ("unidentified_text", edited(lambda d: d["energy"]["fit"].__setitem__("unidentified", "pp_bubble")),
         ("m.json", "unidentified")),
        # hand-edited tables that would silently change the intervals
        ("residual_sample_emptied", edited(state("residual_sample", [])), ("m.json", "residual_sample")),
        ("bootstrap_truncated", edited(state("bootstrap_params", [[0.5] * 12] * 3)), ("m.json", "bootstrap_params")),
    ]
    out = []
    for name, content, expect in files:
        f = dict(cfg)
        if content is not None:
            f["m.json"] = content
        out.append(Case(f"predict_model_{name}", argv, f, expect))
    good = dict(cfg, **{"m.json": lambda: Path(pytest.GOOD_MODEL).read_bytes()})  # type: ignore[attr-defined]
    out += [
        Case("predict_output_is_model", argv[:3] + ["-o", "{dir}/m.json"], good, ("m.json", "input")),
        Case("predict_output_is_configs", argv[:3] + ["-o", "{dir}/c.csv"], good, ("c.csv", "input")),
        Case("predict_output_is_folder", argv[:3] + ["-o", "{dir}"], good, ("is a folder",)),
        Case("predict_output_named_xlsx", argv[:3] + ["-o", "{dir}/out.xlsx"], good, ("out.xlsx", "CSV", ".parquet")),
    ] + [Case(f"predict_level_{v}", argv + ["--level", v], good, ("--level",))
         for v in ("1.5", "0", "1", "-0.1", "nan", "abc")]
    return out


def _evaluate_cases() -> list[Case]:
    good = {"g.csv": lambda: _csv(GOOD)}
    base = ["evaluate", "{dir}/g.csv", "--no-progress", "--splits", "random", "--repeats", "1", "--train-size", "6",
            "--methods", "latency_proxy"]  # (energylens needs 12 training rows: its own case below)
    return [
        Case("evaluate_missing_file", ["evaluate", "{dir}/nope.csv"], {}, ("nope.csv",)),
        Case("evaluate_report_is_file", base + ["--report", "{dir}/g.csv"], good, ("--report", "g.csv")),
        Case("evaluate_unknown_group_column", base + ["--group-by", "task,nope"], good, ("nope",)),
        Case("evaluate_unknown_method", base[:-1] + ["magic"], good, ("magic",)),
        Case("evaluate_unknown_split", ["evaluate", "{dir}/g.csv", "--splits", "sideways"], good, ("sideways",)),
        Case("evaluate_train_size_too_small", base[:-1] + ["energylens", "--train-size", "5"], good,
             ("energylens", "12")),
    ] + [Case(f"evaluate_arg_{opt.strip('-')}_{v}", base + [opt, v], good, (opt,))
         for opt, v in (("--repeats", "0"), ("--repeats", "-1"), ("--train-size", "0"), ("--train-size", "x"),
                        ("--seed", "-1"), ("--tpot-slo", "-0.1"), ("--tpot-slo", "nan"))]


def _monitor_cases() -> list[Case]:
    return [Case(f"monitor_arg_{opt.strip('-')}_{v}", ["monitor", opt, v, "--source", "synthetic"], {}, (opt,))
            for opt, v in (("--duration", "0"), ("--duration", "-1"), ("--duration", "x"), ("--interval", "0"),
                           ("--gpus", "a,b"), ("--gpus", "-1"), ("--dcgm", "maybe"), ("--source", "wind"))] + [
    Case("monitor_output_named_csv", ["monitor", "--source", "synthetic", "--duration", "0.2", "-o", "{dir}/t.csv"],
        {}, ("t.csv", "Parquet trace")),
    Case("monitor_output_is_folder", ["monitor", "--source", "synthetic", "--duration", "0.2", "-o", "{dir}"],
             {}, ("is a folder",)),
    ]


CASES = _profile_cases() + _fit_cases() + _model_file_cases() + _evaluate_cases() + _monitor_cases()


@pytest.fixture(scope="module")
def good_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    (folder / "g.csv").write_bytes(_csv(GOOD))
    assert cli_main(["fit", str(folder / "g.csv"), "-o", str(folder / "m.json"), "--bootstrap", "20"]) == 0
    pytest.GOOD_MODEL = str(folder / "m.json")  # type: ignore[attr-defined]
    return folder / "m.json"


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


def test_there_are_at_least_100_cases():
    assert len(CASES) >= 100
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, good_model: Path, tmp_path: Path, capsys):
    (tmp_path / "good_model.json").write_bytes(good_model.read_bytes())
    for name, content in case.files.items():
        (tmp_path / name).write_bytes(content() if callable(content) else content)
    before = _digest(tmp_path)
    argv = [a.replace("{dir}", str(tmp_path)) for a in case.argv]
    try:
        code = cli_main(argv)
    except SystemExit as exc:  # argparse: usage error
        code = exc.code
    err = capsys.readouterr().err
    assert code == case.exit_code, f"exit {code}, stderr:\n{err}"
    assert "Traceback" not in err
    for fragment in case.expect:
        assert fragment.lower() in err.lower(), f"{fragment!r} not in:\n{err}"
    after = _digest(tmp_path)
    for name, digest in before.items():  # no input clobbered
        assert after.get(name) == digest, f"{name} changed"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert set(after) <= set(before), f"a failed command wrote {sorted(set(after) - set(before))}"


API_CASES: list[tuple[str, Callable[[], object], type[BaseException], str]] = []


def _api_cases():
    from energylens.errors import IntervalsUnavailableError, ModelFileError
    from energylens.model import EnergyModel, LatencyModel, load_model
    from energylens.profiles import load_profiles

    fitted = EnergyModel(bootstrap=0).fit(GOOD)
    copies = pd.concat([GOOD.iloc[[0]]] * 60, ignore_index=True)
    degenerate = EnergyModel(bootstrap=20).fit(copies)
    return [
        ("n_starts_zero", lambda: EnergyModel(n_starts=0), ValueError, "n_starts"),
        ("bootstrap_negative", lambda: EnergyModel(bootstrap=-1), ValueError, "bootstrap"),
        ("residual_unknown", lambda: EnergyModel(residual="cubic"), ValueError, "residual"),
        ("loss_unknown", lambda: LatencyModel(loss="l3"), ValueError, "loss"),
        ("seed_negative", lambda: EnergyModel(seed=-1), ValueError, "seed"),
        ("fit_missing_column", lambda: EnergyModel().fit(GOOD.drop(columns=["tp"])), ValueError, "tp"),
        ("fit_too_few_rows", lambda: EnergyModel().fit(GOOD.iloc[:5]), ValueError, "12"),
        ("fit_not_finite", lambda: LatencyModel(bootstrap=0).fit(GOOD.assign(batch_size=[1e300] + [16.0] * 11)),
         ValueError, "data row 1 of the DataFrame (1-based position; index label 0)"),
        ("predict_unfitted", lambda: EnergyModel().predict(GOOD), ValueError, "not fitted"),
        ("predict_bad_level", lambda: fitted.predict_interval(GOOD, level=1.5), ValueError, "level"),
        ("load_missing", lambda: load_model("/nonexistent/m.json"), ModelFileError, "m.json"),
        ("profiles_not_a_frame", lambda: load_profiles(42), (TypeError, ValueError), "int"),
        ("interval_unidentified", lambda: degenerate.predict_interval(GOOD), IntervalsUnavailableError,
         "1 distinct configuration"),
        ("interval_no_bootstrap", lambda: fitted.predict_interval(GOOD), IntervalsUnavailableError, "bootstrap"),
        ("chunk_rows_zero", lambda: fitted.predict(GOOD, chunk_rows=0), ValueError, "chunk_rows"),
        ("chunk_rows_float", lambda: fitted.predict_phases(GOOD, chunk_rows=2.5), ValueError, "chunk_rows"),
        ("chunk_rows_negative", lambda: degenerate.predict_interval(GOOD, chunk_rows=-1), IntervalsUnavailableError,
         "not available"),
        ("extrapolated_unfitted", lambda: EnergyModel().extrapolated(GOOD), ValueError, "not fitted"),
        ("features_wrong_length", lambda: fitted.predict_features({**{k: v for k, v in _feats(fitted).items()},
                                                                   "tp": np.ones(3)}), ValueError, "tp"),
    ]


def _feats(model):
    from energylens.profiles.features import build_features

    return build_features(__import__("energylens.profiles", fromlist=["load_profiles"]).load_profiles(GOOD))


def test_python_api_bad_inputs():
    failures = []
    for name, call, exc_type, fragment in _api_cases():
        try:
            call()
        except exc_type as exc:  # noqa: PERF203 - a table of cases
            if fragment.lower() not in str(exc).lower():
                failures.append(f"{name}: {fragment!r} not in {exc}")
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
        else:
            failures.append(f"{name}: no exception")
    assert not failures, "\n".join(failures)


def test_energy_in_millijoules_fits_with_a_warning_naming_the_units(tmp_path, capsys):
    """Energy 1000x too large still fits (it is a valid table) but the parameters pin at their bounds: the
    command says so and names the likely cause, and exits 0 with the model written."""
    from energylens.profiles.datasets import mlenergy_v2

    rows = mlenergy_v2().head(60)
    rows.assign(energy_j=rows["energy_j"] * 1000).to_csv(tmp_path / "mj.csv", index=False)
    assert cli_main(["fit", str(tmp_path / "mj.csv"), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 0
    err = capsys.readouterr().err
    assert "warning: training MAPE" in err and "ended at a bound of their physical range" in err
    assert "joules per request (not mJ, Wh" in err and (tmp_path / "m.json").is_file()
    rows.to_csv(tmp_path / "j.csv", index=False)  # the same rows in joules: no warning
    assert cli_main(["fit", str(tmp_path / "j.csv"), "-o", str(tmp_path / "m2.json"), "--bootstrap", "0"]) == 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("latency_only", [False, True])
def test_tpot_in_milliseconds_fits_with_a_warning_naming_the_units(tmp_path, capsys, latency_only):
    """tpot_s 1000x too large fitted without a word (energy MAPE 0.14 -> 0.39 through the TPOT it shares)."""
    from energylens.profiles.datasets import mlenergy_v2

    rows = mlenergy_v2().head(60)
    rows = rows.drop(columns=["energy_j"]) if latency_only else rows
    rows.assign(tpot_s=rows["tpot_s"] * 1000).to_csv(tmp_path / "ms.csv", index=False)
    assert cli_main(["fit", str(tmp_path / "ms.csv"), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]
                    + (["--latency-only"] if latency_only else [])) == 0
    err = capsys.readouterr().err
    assert "warning: median tpot_s is" in err and "is it in milliseconds?" in err


def test_evaluate_with_a_tpot_slo_nothing_meets_says_so(tmp_path, capsys):
    (tmp_path / "g.csv").write_bytes(_csv(GOOD))
    argv = ["evaluate", str(tmp_path / "g.csv"), "--no-progress", "--splits", "random", "--repeats", "1",
            "--train-size", "6", "--methods", "latency_proxy"]
    assert cli_main([*argv, "--tpot-slo", "0.001"]) == 0
    err = capsys.readouterr().err
    assert "--tpot-slo 0.001 s: no row of" in err and "the lowest is 0.009 s" in err
    assert cli_main([*argv, "--tpot-slo", "0.02"]) == 0
    assert "--tpot-slo" not in capsys.readouterr().err  # some rows meet it: nothing to say


def test_monitor_labels_the_gpus_asked_for(tmp_path, capsys):
    """--gpus 3,5 on the synthetic source read "GPU0 / GPU1" in the lines, the totals and the trace."""
    from energylens.measure.trace import Trace

    out = tmp_path / "t.parquet"
    assert cli_main(["monitor", "--source", "synthetic", "--gpus", "3,5", "--duration", "0.3", "--interval", "0.1",
                     "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "GPU3" in text and "GPU5" in text and "GPU0" not in text
    assert [g["index"] for g in Trace.load(out).meta["gpus"]] == [3, 5]


def test_sweep_rows_without_energy_fit_the_latency_model_and_say_why(tmp_path, capsys):
    """A store measured where NVML was missing: energy_j NaN, energy_measured False. The hint used to be
    'did you mean column energy_measured?'."""
    rows = GOOD.assign(energy_j=math.nan, energy_measured=False, power_source="none (NVML unavailable: no driver)")
    rows.to_csv(tmp_path / "s.csv", index=False)
    assert cli_main(["fit", str(tmp_path / "s.csv"), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 0
    out = capsys.readouterr().out
    assert "no energy_j measurements (power source: none (NVML unavailable: no driver)); fitted the latency" in out
    assert "energy_measured" not in out


@pytest.mark.parametrize(("extra", "drop", "message"), [
    (["--latency-only", "--calibrate", "family", "--prior", "bundled"], None,
     "--calibrate, --prior: option(s) of the energy model, which is not fitted (--latency-only)"),
    (["--latency-only", "--prior-weight", "0.5"], None, "--prior-weight: option(s) of the energy model"),
    (["--latency-only", "--tpot-weight", "3"], None, "--tpot-weight: option(s) of the energy model"),
    (["--calibrate", "model"], "energy_j", "option(s) of the energy model, which is not fitted (no energy_j"),
    (["--no-latency", "--calibrate-latency", "model"], None, "--calibrate-latency calibrates the latency model, "
     "which --no-latency skips"),
    (["--calibrate-latency", "model"], "tpot_s", "has no ttft_s / tpot_s measurement"),
    (["--tpot-weight", "2"], "tpot_s", "--tpot-weight 2: "),
])
def test_fit_options_the_fit_would_ignore_are_errors(tmp_path, capsys, extra, drop, message):
    """fit --latency-only --calibrate family --prior bundled ... exited 0 and wrote "energy": null: the energy
    options were dropped without a word, as were the latency model's under --no-latency."""
    from energylens.profiles.datasets import mlenergy_v2

    rows = mlenergy_v2().head(60)
    if drop == "tpot_s":
        rows = rows.drop(columns=[c for c in ("ttft_s", "tpot_s") if c in rows])
    elif drop is not None:
        rows = rows.drop(columns=[drop])
    rows.to_csv(tmp_path / "p.csv", index=False)
    out = tmp_path / "m.json"
    assert cli_main(["fit", str(tmp_path / "p.csv"), "-o", str(out), "--bootstrap", "0", *extra]) == 2
    assert message in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["monitor", "--source", "synthetic", "--dcgm", "on", "--duration", "0.1"], "--source synthetic reads neither"),
    (["evaluate", "bundled", "--group-by", "task,,model", "--no-progress"], "--group-by 'task,,model': an empty item"),
    (["profile", "spec.toml", "-o", "store", "--retry-failed"], "with --resume: add --resume"),
    (["profile", "spec.toml", "-o", "store", "--ray-no-gpus"], "with --ray ADDRESS"),
])
def test_options_that_would_do_nothing_are_errors(tmp_path, capsys, monkeypatch, argv, message):
    """--dcgm on with the synthetic source exited 0 without reading DCGM; --group-by task,,model dropped the
    empty item; --retry-failed without --resume and --ray-no-gpus without --ray were accepted and ignored."""
    monkeypatch.chdir(tmp_path)
    assert cli_main(argv) == 2
    assert message in capsys.readouterr().err
