"""The closing line of a sweep that --budget stopped short says how many of its units are not measured yet: it said
'1 ok, 0 failed, 0 skipped' of a 4-unit vLLM sweep run with --budget 1, which reads as a finished sweep."""

from __future__ import annotations

import io

from energylens.profiling import parse_spec, run_sweep
from energylens.profiling.active_known import KnownRule
from energylens.profiling.runner import _active_start
from energylens.profiling.worker import base_row

SPEC = {"sweep": {"backend": "transformers", "gpu": "H100"},
        "grid": {"models": ["org/m"], "max_num_seqs": [1, 2, 3], "input_len": [8], "output_len": [4]}}


def _row(cfg, ps):
    return base_row(cfg, ps) | {"config_id": cfg.config_id, "status": "ok", "error": "", "model": cfg.model,
                                "gpu": "H100", "tp": 1, "pp": 1, "params_b": 8.0, "batch_size": 1.0,
                                "input_tokens": 8.0, "output_tokens": 4.0, "energy_j": 1.0}


def test_a_sweep_stopped_by_its_budget_says_what_is_left(tmp_path):
    out = io.StringIO()
    run_sweep(parse_spec(SPEC), str(tmp_path / "s"), power_source="none", budget=1, out=out, run_one=_row)
    last = out.getvalue().splitlines()[-1]
    assert "1 ok, 0 failed, 0 skipped" in last and "2 of its 3 units are not measured (--budget 1)" in last, last
    out = io.StringIO()  # the rest: nothing left to say
    run_sweep(parse_spec(SPEC), str(tmp_path / "s"), power_source="none", resume=True, out=out, run_one=_row)
    assert "not measured" not in out.getvalue().splitlines()[-1]


def test_one_unit_left_or_allowed_reads_in_the_singular(tmp_path):
    """'1 of its 2 units are not measured (--budget 1): --resume with a larger --budget measures them' and the active
    start line's 'or after 1 units'."""
    spec = parse_spec({**SPEC, "grid": {**SPEC["grid"], "max_num_seqs": [1, 2]}})
    out = io.StringIO()
    run_sweep(spec, str(tmp_path / "s"), power_source="none", budget=1, out=out, run_one=_row)
    assert "; 1 of its 2 units is not measured (--budget 1): --resume with a larger --budget measures it" \
        in out.getvalue().splitlines()[-1]
    assert _active_start(1, 1, KnownRule(0.2)).endswith(" or after 1 unit")
    assert _active_start(1, 1, None) == "--stop budget: active measures 1 unit"


def test_an_active_sweep_of_one_unit_and_no_budget_reads_in_the_singular(tmp_path):
    """'no --budget: active measures all 1 units, only in another order (--budget N stops it at N units in all)',
    and '1 of the 1 ok rows have no energy' at its close."""
    spec = parse_spec({**SPEC, "grid": {**SPEC["grid"], "max_num_seqs": [1]}})
    out = io.StringIO()
    run_sweep(spec, str(tmp_path / "s"), power_source="synthetic", strategy="active", stop="budget", out=out,
              run_one=_row)
    text = out.getvalue()
    assert "no --budget: active measures its 1 unit\n" in text, text
    assert "1 units" not in text and "1 of the 1 ok rows" not in text, text
    assert "sweep <spec>: the ok row has no energy (power source synthetic gave none" in text, text
    assert _active_start(2, None, None) == ("no --budget: active measures all 2 units, only in another order "
                                            "(--budget N stops it at N units in all)")
