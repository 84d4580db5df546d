"""The stop rule (``--stop known``) across a crash: a resumed active sweep reaches the decision an uninterrupted one
reaches from the same measured rows.

Until 2026-12-06 the rule's run of known fits lived only in the sweep's memory: a sweep killed (or stopped with
Ctrl-C) while that run stood at 2 of 3 counted from 0 again after ``--resume`` and measured more units than the
same sweep uninterrupted (26 instead of 25 on the stand-in sweep below)."""

from __future__ import annotations

import io
import json

import pytest
from test_profiling_active import _stand_in, _vllm_tp_spec

from energylens.profiling import run_sweep
from energylens.profiling.active_sweep import RULE_FILE
from energylens.profiling.store import Store

ARGS = {"power_source": "synthetic:200", "budget": 32, "strategy": "active", "known_width": 0.3}


def _crashing(k: int, log: list):
    """The stand-in worker, killed while it measures the (k+1)-th unit (that unit's row is never written)."""
    inner = _stand_in(lambda c: False, log)

    def run_one(cfg, src):
        if len(log) == k:
            raise KeyboardInterrupt
        return inner(cfg, src)
    return run_one


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    log, out = [], io.StringIO()
    run_sweep(_vllm_tp_spec(), str(tmp_path_factory.mktemp("u") / "s"), run_one=_stand_in(lambda c: False, log),
              out=out, **ARGS)
    assert "known 3 of 3 fits): stopped before --budget 32" in out.getvalue()
    return [c.config_id for c in log], out.getvalue()


def _streaks(text: str) -> list[int]:
    return [int(ln.split("known ")[-1].split(" of")[0]) for ln in text.splitlines() if ln.startswith("[") and "; model: " in ln]


def test_a_sweep_killed_mid_streak_and_resumed_measures_what_the_uninterrupted_one_does(uninterrupted, tmp_path):
    ids, text = uninterrupted
    streaks = _streaks(text)
    assert streaks[-1] == 2  # the last unit was chosen by the second known fit; the third stopped the sweep
    k = len(ids) - 1  # killed while that last unit ran: the run of known fits stood at 2 of 3
    log = []
    with pytest.raises(KeyboardInterrupt):
        run_sweep(_vllm_tp_spec(), str(tmp_path / "s"), run_one=_crashing(k, log), out=io.StringIO(), **ARGS)
    assert len(Store(tmp_path / "s").statuses()) == k
    out = io.StringIO()
    res = run_sweep(_vllm_tp_spec(), str(tmp_path / "s"), resume=True, run_one=_stand_in(lambda c: False, log), out=out,
                    **ARGS)
    assert [c.config_id for c in log] == ids, out.getvalue()  # (the unit killed is measured again)
    assert res.ran == 1 and _streaks(out.getvalue()) == [2]
    assert f"the model is known after {len(ids)} measured units" in out.getvalue()


def test_a_sweep_stopped_between_units_and_resumed_measures_what_the_uninterrupted_one_does(uninterrupted, tmp_path):
    """Stopped after a unit's row was written, before the next choice (Ctrl-C between units; a larger budget
    given after a --budget stop), wherever the run of known fits stood: the readings made so far go on."""
    ids, text = uninterrupted
    streaks = _streaks(text)  # of the readings that chose units len(ids) - len(streaks) + 1, ..., len(ids)
    first = len(ids) - len(streaks) + 1
    budgets = [first + j for j, s in enumerate(streaks) if s >= 1 and first + j < len(ids)]
    assert budgets  # (a stop at a unit chosen by a known fit, not the last one)
    for b in budgets:
        log, store = [], tmp_path / f"s{b}"
        run_sweep(_vllm_tp_spec(), str(store), run_one=_stand_in(lambda c: False, log), out=io.StringIO(),
                  **dict(ARGS, budget=b))
        assert [c.config_id for c in log] == ids[:b]
        out = io.StringIO()
        run_sweep(_vllm_tp_spec(), str(store), resume=True, run_one=_stand_in(lambda c: False, log), out=out, **ARGS)
        assert [c.config_id for c in log] == ids, (b, out.getvalue())


def test_readings_of_another_store_state_are_not_taken(uninterrupted, tmp_path):
    """A store changed since the rule's last reading (a part removed by hand) starts the count again rather than
    read a run of fits made on other rows; a damaged file of readings too, with a note."""
    ids, _ = uninterrupted
    log = []
    run_sweep(_vllm_tp_spec(), str(tmp_path / "s"), run_one=_stand_in(lambda c: False, log), out=io.StringIO(),
              **dict(ARGS, budget=len(ids) - 1))
    saved = json.loads((tmp_path / "s" / RULE_FILE).read_text())
    assert len(saved["readings"]) >= 2
    store = Store(tmp_path / "s")
    store.part_path(ids[3]).unlink()
    out = io.StringIO()
    run_sweep(_vllm_tp_spec(), str(tmp_path / "s"), resume=True, run_one=_stand_in(lambda c: False, []), out=out,
              **dict(ARGS, budget=len(ids)))
    assert _streaks(out.getvalue())[0] <= 1, out.getvalue()
    (tmp_path / "s" / RULE_FILE).write_text("{not json")
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stderr", err)
        run_sweep(_vllm_tp_spec(), str(tmp_path / "s"), resume=True, run_one=_stand_in(lambda c: False, []),
                  out=io.StringIO(), **dict(ARGS, budget=len(ids) + 1))
    assert f"{tmp_path / 's' / RULE_FILE}: cannot be read" in err.getvalue()
    assert "the stop rule counts its known fits from 0 again" in err.getvalue()


def test_a_full_disk_at_the_rule_file_says_what_the_store_keeps_and_how_to_go_on(tmp_path, monkeypatch, capsys):
    """The stop rule's file is written before its unit runs, so a full disk there loses no measurement; until
    2026-12-06 the command ended with the bare '[Errno 28] No space left on device: DIR/active-known.json' (it
    was not said that the measured rows are kept, nor how to go on)."""
    import errno

    import energylens.cli.profile as profile_cli
    import energylens.profiling.active_sweep as active_sweep
    from energylens.cli.main import main as cli_main

    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\nbackend = "vllm"\ngpu = "H100"\nseed = 2\n[grid]\nmodels = '
                    '["meta-llama/Llama-3.1-8B-Instruct"]\ntp = [1, 4]\nmax_num_seqs = [1, 4, 16, 64]\n'
                    'input_len = [128, 1024]\noutput_len = [64, 512]\n')
    real, write = profile_cli.run_sweep, active_sweep.atomic_write_bytes
    monkeypatch.setattr(profile_cli, "run_sweep", lambda *a, **k: real(*a, **k, run_one=_stand_in(lambda c: False, [])))

    def full(path, data):
        if str(path).endswith(RULE_FILE):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return write(path, data)
    monkeypatch.setattr(active_sweep, "atomic_write_bytes", full)
    out = tmp_path / "o"
    assert cli_main(["profile", str(spec), "-o", str(out), "--strategy", "active", "--budget", "20",
                     "--power-source", "synthetic:200"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"No space left on device: '{out / RULE_FILE}'" in err[0], err
    assert f"; the store {out} keeps 15 units' rows (every unit that finished); `energylens profile " in err[0]
    assert "--strategy active --budget 20 --resume` measures the rest" in err[0]
