"""``sweep.cooldown_s`` comes after a unit's row is in the store: a sweep stopped during the pause (Ctrl-C, or a
pause too long to sleep) keeps the unit it measured; and a pause or window past a day is refused in the spec (a
cooldown_s of 1e300 crashed the sweep with OverflowError from time.sleep after its first unit, whose row was lost)."""

from __future__ import annotations

import io

import pytest

from energylens.profiling import Store, SweepSpecError, parse_spec, run_sweep, worker
from energylens.profiling import runner as runner_mod


def _spec(tmp_path, **sweep):
    model = tmp_path / "m"
    model.mkdir(exist_ok=True)
    (model / "model.safetensors").write_bytes(bytes(8))  # (weights: a folder without is refused)
    (model / "config.json").write_text('{"num_attention_heads": 2}')
    return parse_spec({"sweep": {"backend": "transformers", "gpu": "H100", **sweep},
                       "grid": {"models": [str(model)], "max_num_seqs": [1, 2], "input_len": [8],
                                "output_len": [4]}})


def test_ctrl_c_in_the_cooldown_keeps_the_measured_row(tmp_path, monkeypatch):
    """The row was written only after execute's cooldown returned: a Ctrl-C in the pause lost the unit measured
    (a vLLM unit: minutes of work) and --resume measured it again."""
    monkeypatch.setattr(runner_mod, "check_local_backend", lambda *a: None)
    monkeypatch.setattr(worker, "run_in_process", lambda cfg, ps: worker.base_row(cfg, ps) | {
        "config_id": cfg.config_id, "status": "ok", "error": "", "wall_s": 0.1})
    pauses = []

    def sleep(s):
        pauses.append(s)
        raise KeyboardInterrupt

    monkeypatch.setattr(worker.time, "sleep", sleep)
    spec, out = _spec(tmp_path, cooldown_s=5.0), io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, str(tmp_path / "runs"), power_source="none", out=out)
    assert pauses == [5.0]
    first = spec.configs()[0].config_id
    assert Store(tmp_path / "runs").statuses() == {first: "ok"}, out.getvalue()
    assert "[1/2] ok" in out.getvalue()  # its progress line came before the pause


def test_cooldown_still_follows_every_unit_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(runner_mod, "check_local_backend", lambda *a: None)
    events = []
    monkeypatch.setattr(worker, "run_in_process", lambda cfg, ps: events.append("unit") or worker.base_row(cfg, ps)
                        | {"config_id": cfg.config_id, "status": "ok", "error": "", "wall_s": 0.1})
    monkeypatch.setattr(worker.time, "sleep", lambda s: events.append(("sleep", s)))
    store = Store(tmp_path / "runs")
    real_write = store.write
    monkeypatch.setattr(Store, "write", lambda self, cid, row: (events.append("write"), real_write(cid, row))[1])
    run_sweep(_spec(tmp_path, cooldown_s=2.0), str(tmp_path / "runs"), power_source="none", out=io.StringIO())
    assert events == ["unit", "write", ("sleep", 2.0)] * 2


@pytest.mark.parametrize("key", ["cooldown_s", "min_window_s"])
def test_a_pause_or_window_past_a_day_is_refused(tmp_path, key):
    with pytest.raises(SweepSpecError, match=r"must be <= 86,400") as info:
        _spec(tmp_path, **{key: 1e300})
    assert info.value.key == f"sweep.{key}"
    assert _spec(tmp_path, **{key: 86_400}).sweep[key] == 86_400


def test_a_ray_tasks_cooldown_ends_at_its_cancellation_and_returns_the_row(tmp_path, monkeypatch):
    """A stopped Ray sweep cancels its tasks; Ray's cancellation is a KeyboardInterrupt scheduled in the task's
    main thread (``_thread.interrupt_main``), not a signal, so one time.sleep of the whole cooldown_s ignored it: the
    driver waited out its grace and shut Ray down, the measured unit's row lost. The task now pauses in slices,
    ends the pause at the cancellation and returns the row it measured."""
    import _thread
    import threading
    import time

    from energylens.profiling import ray_runner

    monkeypatch.setattr(worker, "run_in_process", lambda cfg, ps: worker.base_row(cfg, ps) | {
        "config_id": cfg.config_id, "status": "ok", "error": "", "wall_s": 0.1})
    cfg = _spec(tmp_path, cooldown_s=20.0).configs()[0]
    timer = threading.Timer(0.5, _thread.interrupt_main)
    t0 = time.monotonic()
    timer.start()
    try:
        row = ray_runner._task(cfg.to_dict(), "none")
    finally:
        timer.cancel()
    assert time.monotonic() - t0 < 0.5 + 2 * worker.WAIT_SLICE_S
    assert row["status"] == "ok" and row["config_id"] == cfg.config_id
