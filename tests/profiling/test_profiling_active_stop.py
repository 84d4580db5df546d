"""Active profiling's stop rule (``--stop known``, the default) and what ``--dry-run`` shows of active choice.

Before 2026-12-06 an active sweep ran to --budget (without one, the whole grid) even when further units no
longer moved the fitted model's picks or intervals, and --dry-run listed every new unit as a 'candidate',
not what active choice would measure first."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from test_profiling_active import _stand_in, _vllm_tp_spec

from energylens.cli.main import main as cli_main
from energylens.profiling import plan_sweep, run_sweep
from energylens.profiling.active_known import Fit, KnownRule, read_fit
from energylens.profiling.active_sweep import STOP_FILE


def test_a_fit_reads_each_groups_pick_its_settlement_and_the_interval_width():
    rng = np.random.default_rng(0)
    # group 0: rows 0-1, row 0 measured at 1 J and row 1 always dearer: settled on row 0.
    # group 1: rows 2-3 unmeasured, row 2 cheaper in 30 of 40 replicates: pick row 2, not settled at 0.9.
    boot = np.empty((40, 4))
    boot[:, 0] = 5.0
    boot[:, 1] = 2.0 + rng.uniform(0, 0.1, 40)
    boot[:, 2] = 10.0 + rng.normal(0, 1, 40)
    boot[:, 3] = np.where(np.arange(40) < 30, boot[:, 2] + 1, boot[:, 2] - 1)
    energy = np.array([1.0, np.nan, np.nan, np.nan])
    fit = read_fit(boot, energy, np.array([0, 0, 1, 1]), ["a", "b", "c", "d"])
    assert fit.picks == ("a", "c") and (fit.settled, fit.groups) == (1, 2)
    lo, mid, hi = np.quantile(boot[:, 1:], [0.05, 0.5, 0.95], axis=0)
    assert fit.width == pytest.approx(np.median((hi - lo) / mid))
    assert read_fit(boot, energy, np.array([0, 0, 1, 1]), "abcd", p_opt=0.75).settled == 2


def test_the_model_is_known_after_three_known_fits_with_the_same_picks():
    rule = KnownRule(width=0.2)
    known, wide, other = Fit(("a", "c"), 2, 2, 0.1), Fit(("a", "c"), 2, 2, 0.3), Fit(("a", "d"), 2, 2, 0.1)
    for fit, streak in [(known, 1), (known, 2), (other, 1), (known, 1), (None, 0), (known, 1), (known, 2),
                        (wide, 0), (Fit(("a", "c"), 1, 2, 0.1), 0), (known, 1), (known, 2), (known, 3)]:
        rule.add(fit)
        assert rule.streak == streak and rule.known == (streak >= 3)
    assert rule.describe() == "model: 2 of 2 picks settled, intervals 10 % (target 20 %), known 3 of 3 fits"
    with pytest.raises(ValueError, match=r"--known-width is a relative interval width in \(0, 1\]"):
        KnownRule(width=5)


def test_an_active_sweep_stops_once_the_model_is_known_and_resume_does_not_count_again(tmp_path):
    store, log, out = tmp_path / "s", [], io.StringIO()
    spec = _vllm_tp_spec()  # 32 units
    res = run_sweep(spec, str(store), power_source="synthetic:200", budget=32, strategy="active",
                    run_one=_stand_in(lambda c: False, log), out=out, known_width=0.3)
    text = out.getvalue()
    assert 17 <= res.ran < 32 and len(log) == res.ran, text
    assert "active stops once the model is known" in text.splitlines()[1]
    lines = [ln for ln in text.splitlines() if ln.startswith("[") and "] running " not in ln]  # (units' ends)
    assert all("; model: " in ln for ln in lines[15:]) and "known 2 of 3 fits" in lines[-1], lines[-1]
    # the lines count to --budget, which --stop known may not reach: their time left is a bound, not an ETA
    # (until 2026-12-06 "ETA 9 s" on the last line, counted to unit 32 of a sweep that stopped there)
    assert all(re.search(r"\(elapsed \d+ s, at most \d+ s left, sooner if the model is known\)$", ln)
               for ln in lines), lines[-1]
    assert "ETA" not in text
    assert f"the model is known after {res.ran} measured units (model: " in text
    assert "known 3 of 3 fits): stopped before --budget 32; --stop budget measures on to it" in text
    assert json.loads((store / STOP_FILE).read_text())["n_measured"] == res.ran
    plan = plan_sweep(spec, str(store), resume=True, power_source="synthetic:200", budget=32, strategy="active")
    assert plan.first == [] and plan.known.startswith("model: ") and "known 3 of 3 fits" in plan.known
    again = io.StringIO()  # the same command again: nothing measured since the stop, nothing to measure
    assert run_sweep(spec, str(store), resume=True, power_source="synthetic:200", budget=32, strategy="active",
                     run_one=_stand_in(lambda c: False, log), out=again, known_width=0.3).ran == 0
    assert "the model was known when this store's sweep stopped" in again.getvalue()
    rest = io.StringIO()
    more = run_sweep(spec, str(store), resume=True, power_source="synthetic:200", budget=32, strategy="active",
                     run_one=_stand_in(lambda c: False, log), out=rest, stop="budget")
    assert more.ran == 32 - res.ran and len(log) == 32
    lines = [ln for ln in rest.getvalue().splitlines()  # --stop budget runs to it: an ETA
             if ln.startswith("[") and "] running " not in ln]
    assert len(lines) == more.ran and all(re.search(r"\(elapsed \d+ s, ETA \d+ s\)$", ln) for ln in lines), lines


def test_stop_budget_measures_to_the_budget_and_says_the_model_was_not_known(tmp_path):
    out = io.StringIO()
    res = run_sweep(_vllm_tp_spec(), str(tmp_path / "s"), power_source="synthetic:200", budget=20, strategy="active",
                    run_one=_stand_in(lambda c: False, []), out=out)
    assert res.ran == 20
    assert "the model was not known yet when its last unit ran (model: " in out.getvalue()
    assert not (tmp_path / "s" / STOP_FILE).exists()


@pytest.mark.parametrize("argv,needs", [
    (["--stop", "known"], "--stop says when --strategy active stops"),
    (["--strategy", "active", "--stop", "budget", "--known-width", "0.1"], "drop --stop budget"),
    (["--strategy", "active", "--known-width", "20"], "must be a relative width in (0, 1]"),
])
def test_stop_options_outside_active_or_out_of_range_are_refused(tmp_path, capsys, argv, needs):
    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\nbackend = "vllm"\ngpu = "H100"\n[grid]\nmodels = ["org/m"]\nmax_num_seqs = [1]\n'
                    'input_len = [8]\noutput_len = [4]\n')
    command = ["profile", str(spec), "-o", str(tmp_path / "o"), "--dry-run", *argv]
    if "20" in argv:  # (argparse's own refusal)
        with pytest.raises(SystemExit) as stop:
            cli_main(command)
        assert stop.value.code == 2
    else:
        assert cli_main(command) == 2
    assert needs in capsys.readouterr().err


def test_dry_run_of_an_active_sweep_lists_the_start_design_it_would_measure_first(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\nbackend = "vllm"\ngpu = "H100"\nseed = 2\n[grid]\nmodels = '
                    '["meta-llama/Llama-3.1-8B-Instruct"]\ntp = [1, 4]\nmax_num_seqs = [1, 4, 16, 64]\n'
                    'input_len = [128, 1024]\noutput_len = [64, 512]\n')
    assert cli_main(["profile", str(spec), "-o", str(tmp_path / "s"), "--strategy", "active", "--budget", "20",
                     "--power-source", "synthetic:200", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    planned = sorted((int(ln.split()[2]), ln.split()[0]) for ln in lines[:-1] if ln.split()[1] == "run")
    assert [k for k, _ in planned] == list(range(1, 16))
    assert sum(" candidate " in ln for ln in lines) == 17
    assert "[design 1 of 15: drawn with the seed]" in next(ln for ln in lines if planned[0][1] in ln)
    assert ("a run would measure up to 20 (active, --budget 20): first the 15 marked run, in that order, if each is "
            "measured") in lines[-1]
    assert "then up to 5 candidates chosen one at a time from the energies measured" in lines[-1]
    log = []  # what the run measures first is what the dry run said
    run_sweep(_vllm_tp_spec(), str(tmp_path / "s"), power_source="synthetic:200", budget=15, strategy="active",
              run_one=_stand_in(lambda c: False, log), out=io.StringIO())
    assert [c.config_id for c in log] == [cid for _, cid in planned]
    plan = plan_sweep(_vllm_tp_spec(), str(tmp_path / "s"), resume=True, power_source="synthetic:200", budget=20,
                      strategy="active")
    assert plan.first == [] and plan.known == ""  # the design is done: every later unit needs the energies
