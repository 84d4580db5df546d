"""Pins the full results of the searches bench/bench_search_fixed_cost.py times (a one-row candidate table, a
70B model over its default axes; with and without bootstrap) to what the code gave before the fixed-cost work,
bit for bit: every column of top and both Pareto fronts (floats as hex), and the settings that are numbers.

Regenerate (only for an intended change of results): ``python tests/search/test_search_fixed_cost_pin.py``
(the pin was rewritten after accuracy round 10, commit ae9af51, which changed the fitted model; first written by
the code of commit 6e14dbd; rewritten for the time in the system's prefill stalls, docs/search.md "Modes": in the
fixed-batch cases only gpu_s_per_request and the cost objective changed, the load-mode cases throughout; rewritten
when the interval draws were keyed by the configuration instead of the row's position: energy_j_lo / energy_j_hi of
the bootstrap cases alone changed; and again when a GPU with a few rows more than the parameters began to draw a
share of the transfer factor, as both GPUs of this 50-row fit do: energy_j_lo / energy_j_hi alone; and when the
draw key rounded the feature values to 12 significant bits: energy_j_lo / energy_j_hi of the bootstrap cases alone).
"""

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.model import EnergyModel
from energylens.profiles import read_profiles

PIN = Path(__file__).with_name("search_fixed_cost_pin.json")
TABLE = {"model": ["meta-llama/Meta-Llama-3.1-8B-Instruct", "meta-llama/Meta-Llama-3.1-8B-Instruct"],
         "gpu": ["H100", "A100-SXM4-80GB"], "tp": [1, 2], "batch_size": [32.0, 7.5],
         "input_tokens": [512.0, 1000.0], "output_tokens": [256.0, 100.0]}


def _model(bootstrap: int) -> EnergyModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=bootstrap, seed=0).fit(read_profiles("bundled").sample(50, random_state=0))


def _cases():
    one_row = pd.DataFrame({k: v[:1] for k, v in TABLE.items()})
    two_rows = pd.DataFrame(TABLE, index=["a", "b"])
    seventy = dict(model="meta-llama/Llama-3.1-70B-Instruct", gpus=["H100"], input_tokens=512, output_tokens=256)
    return {
        "one-row": lambda m: energylens.search(candidates=one_row, energy_model=m, bootstrap=False),
        "one-row bootstrap": lambda m: energylens.search(candidates=one_row, energy_model=m),
        "two-row labelled, limits": lambda m: energylens.search(candidates=two_rows, energy_model=m,
                                                                tpot_limit_s=0.05, limit_confidence=0.5),
        "70B": lambda m: energylens.search(**seventy, energy_model=m, bootstrap=False),
        "70B bootstrap cost": lambda m: energylens.search(**seventy, energy_model=m, price_per_gpu_hour=2.5, top=5),
        "70B load": lambda m: energylens.search(**seventy, energy_model=m, rate_per_s=3.0, bootstrap=False),
        "70B load, fronts past 2**20 GPUs": lambda m: energylens.search(**seventy, energy_model=m, rate_per_s=1e4,
                                                                        bootstrap=False),
    }


def _cell(v):
    if isinstance(v, (float, np.floating)):
        return "nan" if math.isnan(v) else float(v).hex()
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_cell(x) for x in v]
    return repr(v)


def _frame(df: pd.DataFrame) -> dict:
    return {"columns": list(df.columns), "dtypes": [str(t) for t in df.dtypes], "index": _cell(list(df.index)),
            "values": {c: [_cell(v) for v in df[c]] for c in df.columns}}


def _numbers(d, prefix=""):
    """The settings' leaves that are numbers (timings left out), by dotted key."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_numbers(v, key + "."))
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) \
                and not str(k).endswith("seconds"):
            out[key] = _cell(v)
    return out


#: Columns added to the result frames after the pin was written (each checked by its own test): left out of the
#: comparison, every pinned column still compared bit for bit.
ADDED = ("compute_precision",)  # tests/search/test_search_compute_precision.py
#: ... and to top alone (the Pareto fronts do not carry it).
ADDED_TOP = ("unseen_gpu",)  # tests/search/test_search_unseen_gpu.py


def _pinned_columns(df: pd.DataFrame, added: tuple[str, ...] = ADDED) -> pd.DataFrame:
    assert all(c in df.columns for c in added), [c for c in added if c not in df.columns]
    return df.drop(columns=list(added))


def _snapshot(result) -> dict:
    top = _pinned_columns(result.top, ADDED + ADDED_TOP)
    tpot, ttft = (_pinned_columns(f) for f in (result.pareto_tpot, result.pareto_ttft))
    return {"top": _frame(top), "pareto_tpot": _frame(tpot),
            "pareto_ttft": _frame(ttft), "settings": _numbers(result.settings),
            "rejected": result.rejected, "candidates": result.candidates, "feasible": result.feasible}


def _all() -> dict:
    models = {0: _model(0), 20: _model(20)}
    out = {"theta": {str(b): _cell(m.theta) for b, m in models.items()}}
    for name, call in _cases().items():
        out[name] = _snapshot(call(models[20 if "bootstrap" in name else 0]))
    return out


@pytest.fixture(scope="module")
def pinned():
    return json.loads(PIN.read_text())


@pytest.mark.parametrize("name", list(_cases()))
def test_search_results_unchanged(pinned, name):
    bootstrap = 20 if "bootstrap" in name else 0
    model = _model(bootstrap)
    if _cell(model.theta) != pinned["theta"][str(bootstrap)]:
        pytest.skip("the model fitted on this platform differs from the pinned one; the pin compares searches")
    got = json.loads(json.dumps(_snapshot(_cases()[name](model))))
    want = pinned[name]
    for part in want:
        assert got[part] == want[part], f"{name}: {part} differs from the pinned result"


if __name__ == "__main__":
    PIN.write_text(json.dumps(_all(), indent=0) + "\n")
    print(f"wrote {PIN}")
