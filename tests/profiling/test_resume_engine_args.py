"""--resume on a store whose vLLM rows record other engine arguments than this energylens gives their units (a
release that changed max_num_batched_tokens or limit_mm_per_prompt): engine arguments are not part of a unit's id,
and --resume kept such rows as this configuration's with no word (only rows recording none got a note). Now it
stops naming the units and the arguments, unless --changed-engine-args says remeasure or keep."""

from __future__ import annotations

import io
import json

import pytest

from energylens.cli.main import main
from energylens.profiling import Store, parse_spec, plan_sweep, run_sweep
from energylens.profiling.backend_vllm import engine_args

ROW = {"status": "ok", "error": "", "model": "org/m", "params_b": 8.0, "gpu": "H100", "tp": 1, "pp": 1,
       "batch_size": 1.0, "input_tokens": 8.0, "output_tokens": 4.0, "energy_j": 10.0, "backend": "vllm"}
SPEC = {"sweep": {"backend": "vllm", "gpu": "H100"},
        "grid": {"models": ["org/m"], "max_num_seqs": [1, 2], "input_len": [8], "output_len": [4]}}


def _measure(budget_tokens=None, calls=None):
    """A stand-in for the vLLM worker: the row records the unit's engine arguments, the bs1 unit's with another
    max_num_batched_tokens where ``budget_tokens`` is given (an earlier release's mapping)."""
    def run_one(cfg, power_source):
        args = engine_args(cfg)
        if budget_tokens and cfg.max_num_seqs == 1:
            args["max_num_batched_tokens"] = budget_tokens
        if calls is not None:
            calls.append(cfg.config_id)
        return {**ROW, "config_id": cfg.config_id, "max_num_seqs": cfg.max_num_seqs,
                "engine_args": json.dumps(args, sort_keys=True)}
    return run_one


@pytest.fixture
def store(tmp_path):
    spec = parse_spec(SPEC, source=str(tmp_path / "sweep.toml"))
    out = tmp_path / "runs"
    run_sweep(spec, str(out), power_source="none", run_one=_measure(16384), out=io.StringIO())
    return spec, out


def _parts(out):
    return {p.name: p.read_bytes() for p in (out / "parts").glob("*.parquet")}


def test_resume_refuses_rows_measured_with_other_engine_args(store):
    spec, out = store
    bs1 = spec.configs()[0].config_id
    before = _parts(out)
    calls = []
    with pytest.raises(ValueError) as err:
        run_sweep(spec, str(out), power_source="none", run_one=_measure(calls=calls), resume=True, out=io.StringIO())
    msg = str(err.value)
    assert f"{out}: 1 vLLM unit of this sweep was measured with other engine arguments" in msg
    assert f"e.g. {bs1} (org/m vllm/offline tp1 pp1 dp1 ep1 bf16 kv=auto bs1 " in msg
    assert "max_num_batched_tokens 16384 -> 8192" in msg and "max_num_seqs" not in msg.split("->")[0][-40:]
    assert "--changed-engine-args remeasure" in msg and "--changed-engine-args keep" in msg
    assert calls == [] and _parts(out) == before  # nothing measured, nothing moved
    with pytest.raises(ValueError, match="measured with other engine arguments"):
        plan_sweep(spec, str(out), power_source="none", resume=True)  # --dry-run says the same


def test_keep_leaves_the_rows_done_with_a_note(store):
    spec, out = store
    before, calls, printed = _parts(out), [], io.StringIO()
    res = run_sweep(spec, str(out), power_source="none", run_one=_measure(calls=calls), resume=True, out=printed,
                    changed_engine_args="keep")
    assert calls == [] and res.skipped == 2 and _parts(out) == before
    assert "note: 1 unit measured with other engine arguments (e.g." in printed.getvalue()
    assert "kept as done (--changed-engine-args keep)" in printed.getvalue()


def test_remeasure_runs_those_units_again_and_keeps_their_earlier_rows(store):
    spec, out = store
    bs1, bs2 = (c.config_id for c in spec.configs())
    old_bs2 = (out / "parts" / f"{bs2}.parquet").read_bytes()
    old_bs1 = (out / "parts" / f"{bs1}.parquet").read_bytes()
    plan = plan_sweep(spec, str(out), power_source="none", resume=True, changed_engine_args="remeasure")
    assert [c.config_id for c in plan.run] == [bs1] and plan.skipped == 1
    calls, printed = [], io.StringIO()
    res = run_sweep(spec, str(out), power_source="none", run_one=_measure(calls=calls), resume=True, out=printed,
                    changed_engine_args="remeasure")
    assert calls == [bs1] and (res.ran, res.skipped) == (1, 1)
    assert f"their earlier rows are in {out}/superseded/" in printed.getvalue()
    assert (out / "superseded" / f"{bs1}.parquet").read_bytes() == old_bs1  # not lost
    assert (out / "parts" / f"{bs2}.parquet").read_bytes() == old_bs2  # the unchanged unit is not touched
    rows = Store(out).rows().set_index("config_id")
    assert json.loads(rows.loc[bs1, "engine_args"])["max_num_batched_tokens"] == 8192
    # now every row records today's arguments: a plain --resume runs nothing and refuses nothing
    assert run_sweep(spec, str(out), power_source="none", run_one=_measure(calls=calls), resume=True,
                     out=io.StringIO()).ran == 0


def test_rows_that_record_the_same_args_or_none_resume_as_before(tmp_path):
    spec = parse_spec(SPEC, source=str(tmp_path / "sweep.toml"))
    for name, measure in (("same", _measure()), ("unrecorded", lambda cfg, ps: {**_measure()(cfg, ps), "engine_args": ""})):
        run_sweep(spec, str(tmp_path / name), power_source="none", run_one=measure, out=io.StringIO())
        printed = io.StringIO()
        assert run_sweep(spec, str(tmp_path / name), power_source="none", run_one=measure, resume=True,
                         out=printed).ran == 0
        assert ("record no engine_args" in printed.getvalue()) is (name == "unrecorded")


def test_supersede_keeps_an_earlier_superseded_row(tmp_path):
    store = Store(tmp_path)
    store.init({"spec_hash": "h"}, resume=False)
    for energy in (1.0, 2.0):
        store.write("abc", {**ROW, "config_id": "abc", "energy_j": energy})
        store.supersede(["abc", "not-there"])
    assert sorted(p.name for p in (tmp_path / "superseded").iterdir()) == ["abc.1.parquet", "abc.parquet"]
    assert store.statuses() == {}


def test_the_command_line_refuses_and_offers_the_option(store, capsys):
    spec, out = store
    argv = ["profile", spec.source, "-o", str(out), "--power-source", "none"]
    with open(spec.source, "w") as f:
        f.write('[sweep]\nbackend = "vllm"\ngpu = "H100"\n[grid]\nmodels = ["org/m"]\nmax_num_seqs = [1, 2]\n'
                'input_len = [8]\noutput_len = [4]\n')
    assert main(argv + ["--resume", "--dry-run"]) == 2
    assert "--changed-engine-args remeasure" in capsys.readouterr().err
    assert main(argv + ["--resume", "--dry-run", "--changed-engine-args", "remeasure"]) == 0
    assert "a run would measure 1 now" in capsys.readouterr().out
    assert main(argv + ["--changed-engine-args", "keep"]) == 2
    assert "add --resume" in capsys.readouterr().err
