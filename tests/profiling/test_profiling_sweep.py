"""A real sweep with the transformers backend on a tiny random Llama, then fit on its rows."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import warnings
import zlib

import numpy as np
import pandas as pd
import pytest

from energylens.cli import main
from energylens.model import load_model
from energylens.profiles import load_profiles, tables
from energylens.profiling import Store, load_spec, parse_spec, run_sweep
from energylens.profiling.runner import Progress
from energylens.search import search

pytestmark = pytest.mark.torch


def _spec(model: str, **grid) -> dict:
    g = {"models": [model], "precision": ["fp32"], "max_num_seqs": [1, 2, 4, 8], "input_len": [8, 16],
         "output_len": [4, 8]}
    g.update(grid)
    return {"sweep": {"backend": "transformers", "gpu": "H100", "warmup": 1, "seed": 1}, "grid": g}


def test_sweep_rows_then_fit(tiny_model, tmp_path, capsys):
    out = tmp_path / "store"
    res = run_sweep(parse_spec(_spec(tiny_model)), str(out), power_source="synthetic:250")
    assert (res.ok, res.failed, res.total) == (16, 0, 16)
    log = capsys.readouterr().out
    assert "[16/16] ok" in log and "ETA" in log
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # architecture comes from the model's config: nothing estimated
        df = load_profiles(out)
    assert len(df) == 16 and df["config_id"].is_unique
    assert (df["power_source"] == "synthetic:250").all() and df["energy_measured"].all()
    assert (df["gpu"] == "H100").all() and (df["device"] == "cpu").all()
    assert {"energylens_version", "torch_version", "transformers_version", "seed", "driver_version"} <= set(df)
    assert (df["n_layers"] == 2).all() and (df["head_dim"] == 32).all()
    n = df["max_num_seqs"].to_numpy()
    # A known 250 W source: every energy is that power times the span it was measured over.
    np.testing.assert_allclose(df["energy_j"] * n, 250.0 * df["latency_s"], rtol=0.03)
    np.testing.assert_allclose(df["prefill_energy_j"] * n * df["prefill_runs"],
                               250.0 * df["ttft_s"] * df["prefill_runs"], rtol=0.03)
    ok = df["decode_energy_j"].notna()
    np.testing.assert_allclose(df.loc[ok, "prefill_energy_j"] + df.loc[ok, "decode_energy_j"], df.loc[ok, "energy_j"])
    assert (df["ttft_s"] > 0).all() and (df["tpot_s"] > 0).all()
    assert set(df["output_tokens"]) == {4.0, 8.0} and set(df["batch_size"]) == {1.0, 2.0, 4.0, 8.0}
    assert main(["fit", str(out), "-o", str(tmp_path / "m.json"), "--bootstrap", "10", "--starts", "2"]) == 0
    model = load_model(tmp_path / "m.json")
    pred = model.predict(df)
    assert pred.shape == (16,) and np.isfinite(pred).all() and (pred > 0).all()
    assert "fitted" in capsys.readouterr().out
    # search on the fitted model: the local checkpoint is described by its measured rows' facts.
    row = df.iloc[0]
    tiny = dataclasses.replace(tables.find_model("meta-llama/Llama-3.1-8B-Instruct"), name=tiny_model, aliases=(),
                               params_b=float(row["params_b"]), active_params_b=float(row["params_b"]),
                               **{c: int(row[c]) for c in ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim")})
    res = search(tiny, "H100", input_tokens=16, output_tokens=8, tp=1, max_num_seqs=[1, 2, 4, 8], precision="fp32",
                 energy_model=model, bootstrap=False)
    assert res.feasible == 4 and res.model_source.startswith(
        f"the given EnergyModel, fitted on {model.summary.n_rows} rows (data sha256:"), res.model_source
    best = res.top.iloc[0]
    grid = pd.DataFrame({"batch_size": [1.0, 2.0, 4.0, 8.0], "max_num_seqs": [1, 2, 4, 8]})
    expect = model.predict(pd.concat([df[(df["input_tokens"] == 16) & (df["output_tokens"] == 8)].iloc[:1]] * 4,
                                     ignore_index=True).assign(**grid))
    assert best["max_num_seqs"] == [1, 2, 4, 8][int(np.argmin(expect))]


def test_drawn_lengths_record_the_static_batch_work(tiny_model, tmp_path):
    """transformers pads every prompt to the longest drawn one and decodes every sequence for the longest
    output drawn: the row says so (input_tokens / output_tokens / batch_size), the drawn means kept apart."""
    spec = _spec(tiny_model, max_num_seqs=[4], input_len=[{"distribution": "uniform", "low": 4, "high": 24}],
                 output_len=[{"distribution": "uniform", "low": 2, "high": 9}])
    res = run_sweep(parse_spec(spec), str(tmp_path / "store"), power_source="synthetic:250")
    assert (res.ok, res.failed) == (1, 0)
    row = load_profiles(tmp_path / "store").iloc[0]
    cfg = parse_spec(spec).configs()[0]
    rng = np.random.default_rng((cfg.seed * 1_000_003 + cfg.repetition * 7919 + zlib.crc32(cfg.config_id.encode()))
                                % 2**32)
    ins, outs = cfg.input_len.draw(4, rng), cfg.output_len.draw(4, rng)  # the backend's draws, in its order
    assert len(set(ins)) > 1 and len(set(outs)) > 1  # a real spread, or padded and drawn would agree anyway
    assert (row["input_tokens"], row["output_tokens"], row["batch_size"]) == (max(ins), max(outs), 4.0)
    assert row["drawn_input_tokens"] == pytest.approx(np.mean(ins))
    assert row["drawn_output_tokens"] == pytest.approx(np.mean(outs))


def test_resume_skips_done_and_refuses_to_clobber(tiny_model, tmp_path):
    spec = parse_spec(_spec(tiny_model, max_num_seqs=[1, 2], input_len=[8], output_len=[4]))
    out = str(tmp_path / "s")
    assert run_sweep(spec, out, power_source="none").ok == 2
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "s" / "parts").iterdir()}
    with pytest.raises(ValueError, match="already holds a sweep store; pass --resume"):
        run_sweep(spec, out, power_source="none")
    res = run_sweep(spec, out, resume=True, power_source="none")
    assert (res.ran, res.skipped) == (0, 2)
    assert before == {p.name: p.stat().st_mtime_ns for p in (tmp_path / "s" / "parts").iterdir()}
    other = parse_spec(_spec(tiny_model, max_num_seqs=[4], input_len=[8], output_len=[4]))
    with pytest.raises(ValueError, match="made by another spec"):
        run_sweep(other, out, resume=True, power_source="none")


def test_without_power_rows_record_time_and_no_energy(tiny_model, tmp_path):
    spec = parse_spec(_spec(tiny_model, max_num_seqs=[2], input_len=[8], output_len=[4]))
    run_sweep(spec, str(tmp_path / "s"), power_source="none")
    df = load_profiles(tmp_path / "s", require_energy=False)
    assert df["energy_j"].isna().all() and df["prefill_energy_j"].isna().all()
    assert not df["energy_measured"].any() and (df["power_source"] == "none").all()
    assert (df["ttft_s"] > 0).all() and (df["latency_s"] > 0).all()


def test_nvml_absent_falls_back_to_time_only(tiny_model, tmp_path, capsys):
    from energylens.capabilities import capabilities

    if capabilities().nvml_available:
        pytest.skip("NVML is present here")
    spec = parse_spec(_spec(tiny_model, max_num_seqs=[1], input_len=[8], output_len=[4]))
    run_sweep(spec, str(tmp_path / "s"), power_source="nvml")
    row = Store(tmp_path / "s").rows().iloc[0]
    assert row["power_source"].startswith("none (NVML unavailable") and math.isnan(row["energy_j"])
    log = capsys.readouterr().out  # said up front and at the end, not "power source nvml" and all ok
    assert "power source nvml, NOT AVAILABLE here" in log and "the ok row has no energy" in log
    # active choice needs energies: refused before the store, not a sweep of time-only rows chosen at random
    with pytest.raises(ValueError, match=r"NVML is not available here \(cannot load NVML.*--strategy random"):
        run_sweep(spec, str(tmp_path / "a"), power_source="nvml", strategy="active")
    assert not (tmp_path / "a").exists()


def test_failed_configurations_are_recorded_and_the_sweep_goes_on(tiny_model, tmp_path, capsys):
    broken = tmp_path / "broken-model"  # a model folder that fails to load (a missing one stops the sweep early)
    broken.mkdir()
    (broken / "model.safetensors").write_bytes(bytes(8))  # (weights: a folder without is refused)
    (broken / "config.json").write_text("{}")
    spec = parse_spec(_spec(tiny_model, models=[str(broken), tiny_model],
                            max_num_seqs=[1], input_len=[8], output_len=[4]))
    res = run_sweep(spec, str(tmp_path / "s"), power_source="none")
    assert (res.ok, res.failed) == (1, 1)
    assert "FAILED" in capsys.readouterr().out
    rows = Store(tmp_path / "s").rows(include_failed=True)
    bad = rows[rows["status"] == "failed"].iloc[0]
    assert "broken-model" in bad["model"] and bad["error"]
    import transformers

    # which GPU and which backend version it failed on, as an ok row says
    assert (bad["gpu"], bad["backend_version"]) == ("H100", transformers.__version__)
    assert len(load_profiles(tmp_path / "s", require_energy=False)) == 1  # failed rows are not profiles
    # A unit that overruns its timeout in a subprocess is killed and recorded; --retry-failed reruns it.
    slow = _spec(tiny_model, max_num_seqs=[1], input_len=[8], output_len=[4])
    slow["sweep"].update(isolation="process", timeout_s=0.5)
    res = run_sweep(parse_spec(slow), str(tmp_path / "t"), power_source="none")
    row = Store(tmp_path / "t").rows(include_failed=True).iloc[0]
    assert res.failed == 1 and row["error"].startswith("timeout: no result after 0.5 s")
    assert (row["gpu"], row["backend_version"]) == ("H100", transformers.__version__)
    assert run_sweep(parse_spec(slow), str(tmp_path / "t"), resume=True, power_source="none").ran == 0


def test_subprocess_isolation_gives_the_same_row_columns(tiny_model, tmp_path):
    spec = _spec(tiny_model, max_num_seqs=[2], input_len=[8], output_len=[4])
    spec["sweep"]["isolation"] = "process"
    run_sweep(parse_spec(spec), str(tmp_path / "s"), power_source="synthetic:100")
    df = load_profiles(tmp_path / "s")
    assert len(df) == 1 and df["energy_measured"].iloc[0]
    np.testing.assert_allclose(df["avg_power_w"], 100.0, rtol=0.03)
    cfg = json.loads(df["config_json"].iloc[0])
    assert cfg["options"]["isolation"] == "process"
    assert isinstance(Store(tmp_path / "s").rows(), pd.DataFrame)


def test_replayed_power_trace(tiny_model, tmp_path):
    from energylens.measure.trace import Trace

    t = np.arange(0, 600_000_000_000, 10_000_000, dtype=np.int64)
    samples = pd.DataFrame({"t_ns": t, "gpu": 0, "power_w": 120.0, "energy_j": np.nan, "source": "nvml_instant"})
    trace = Trace(samples=samples, marks=pd.DataFrame({"t_ns": np.empty(0, np.int64), "label": []}), kernels=None,
                  meta={"gpus": [{"index": 0, "name": "replayed", "uuid": "r"}],
                        "update_period_s": {"nvml_instant": 0.01}})
    trace.save(tmp_path / "power.parquet")
    source = f"replay:{tmp_path / 'power.parquet'}"
    run_sweep(parse_spec(_spec(tiny_model, max_num_seqs=[2], input_len=[8], output_len=[4])), str(tmp_path / "s"),
              power_source=source)
    df = load_profiles(tmp_path / "s")
    assert (df["power_source"] == source).all()
    np.testing.assert_allclose(df["avg_power_w"], 120.0, rtol=0.03)


@pytest.mark.parametrize("name, label", [("", "sweep sweep.toml"), ('name = "llama-bs"\n', "sweep 'llama-bs'")])
def test_the_lines_name_the_spec_file_or_the_sweep_name(tmp_path, name, label):
    """sweep.name defaults to the file's stem: sweep.toml's lines read 'sweep sweep: ...'."""
    path = tmp_path / "sweep.toml"
    path.write_text(f'[sweep]\nbackend = "transformers"\n{name}[grid]\nmodels = ["org/m"]\nmax_num_seqs = [1]\n'
                    "input_len = [8]\noutput_len = [4]\n")
    out = io.StringIO()
    run_sweep(load_spec(path), str(tmp_path / "s"), power_source="none", out=out,
              run_one=lambda c, p: {"config_id": c.config_id, "status": "ok", "wall_s": 0.0})
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"{label}: 1 unit, 0 done already") and lines[-1].startswith(f"{label}: 1 ok"), lines


def test_a_failed_units_progress_line_says_where_its_cut_error_goes_on():
    out = io.StringIO()
    cfg = parse_spec(_spec("org/m", max_num_seqs=[1], input_len=[8], output_len=[4])).configs()[0]
    long = "OSError: " + "word " * 100
    Progress(2, out).update({"status": "failed", "error": f"{long}\nTraceback ...", "wall_s": 0.0}, cfg.describe())
    Progress(2, out).update({"status": "failed", "error": "", "wall_s": 0.0}, cfg.describe())
    first, second = out.getvalue().splitlines()
    assert f": {long[:200].rstrip()} [...; the row's error column has all of it]  (elapsed" in first
    assert "FAILED 0.0 s" in second and "rep0:   (elapsed" in second        # an empty error (it raised IndexError)
