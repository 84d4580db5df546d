"""Active profiling: the acquisition score on hand-made cases, the chooser on real rows, and a real
budgeted sweep with --strategy active."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from energylens.profiles.datasets import mlenergy_v2
from energylens.profiling import ActiveChooser, Store, acquisition_scores, parse_spec, run_sweep
from energylens.profiling.active import d_optimal_gain, i_optimal_gain, relative_jacobian


def test_contested_optimum_of_an_unmeasured_group_is_measured_first():
    # rows 0-2: group 0, row 0 measured (10 J) and always cheapest -> settled.
    # rows 3-4: group 1, nothing measured; the replicates disagree which is cheaper.
    boot = np.array([[11, 20, 21, 5, 6], [11, 20, 21, 6, 5]] * 10, dtype=float)
    measured = np.array([True, False, False, False, False])
    energy = np.array([10, np.nan, np.nan, np.nan, np.nan])
    groups = np.array([0, 0, 0, 1, 1])
    s = acquisition_scores(boot, measured, energy, groups, spread_weight=0.0)
    assert s[0] == -np.inf
    assert s[3] == s[4] and s[3] > max(s[1], s[2])
    np.testing.assert_allclose(s[3], 0.5 * 0.5 + 0.5)  # contested + probable unmeasured optimum
    np.testing.assert_allclose(s[1:3], 0.0)           # group 0 is settled and its rows certain losers
    # With spread, the widest relative spread among otherwise equal rows wins.
    boot2 = boot.copy()
    boot2[::2, 2] = 40.0
    s2 = acquisition_scores(boot2, measured, energy, groups, spread_weight=1.0)
    assert s2[2] > s2[1]


def test_chooser_on_real_rows_picks_unmeasured_rows_deterministically():
    df = mlenergy_v2().reset_index(drop=True)
    cand = df.drop(columns=["energy_j"])
    rng = np.random.default_rng(0)
    start = {int(i): float(df["energy_j"].iloc[i]) for i in rng.choice(len(df), 20, replace=False)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = ActiveChooser(cand, bootstrap=20, seed=1).next_index(start)
        b = ActiveChooser(cand, bootstrap=20, seed=1).next_index(start)
    assert a == b and a not in start and 0 <= a < len(df)
    few = ActiveChooser(cand, min_rows=15, seed=0)
    assert few.next_index({0: 1.0}) not in (0, None)  # below min_rows: the start design
    assert few.last_scores is None and few.last_model is None
    assert ActiveChooser(cand.iloc[:2]).next_index({0: 1.0, 1: 2.0}) is None


@pytest.mark.torch
def test_budgeted_active_sweep_on_the_tiny_model(tiny_model, tmp_path):
    spec = parse_spec({"sweep": {"backend": "transformers", "gpu": "H100", "warmup": 0, "seed": 2},
                       "grid": {"models": [tiny_model], "precision": ["fp32"], "max_num_seqs": [1, 2, 3, 4, 6],
                                "input_len": [8, 16, 24], "output_len": [3, 6]}})
    res = run_sweep(spec, str(tmp_path / "s"), power_source="synthetic:200", budget=17, strategy="active")
    assert (res.ok, res.total) == (17, 30)
    rows = Store(tmp_path / "s").rows()
    # A local checkpoint has no model facts until one row of it is measured: that row is random; then
    # the D-optimal start design, then active choice.
    assert rows["chosen_by"].value_counts().to_dict() == {"random": 1, "design": 14, "active": 2}
    # The budget counts what is done: resuming with the same budget runs nothing more.
    assert run_sweep(spec, str(tmp_path / "s"), resume=True, power_source="synthetic:200", budget=17,
                     strategy="active").ran == 0


def test_d_optimal_gain_is_the_log_det_increase():
    jac = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [np.nan, 1.0]])
    measured = np.array([True, False, False, False])
    gain = d_optimal_gain(jac, measured, ridge=1e-6)
    assert gain[0] == -np.inf and gain[3] == -np.inf  # measured; sensitivity unknown
    info = 1e-6 * np.eye(2) + np.outer(jac[0], jac[0])
    for i in (1, 2):
        direct = np.linalg.slogdet(info + np.outer(jac[i], jac[i]))[1] - np.linalg.slogdet(info)[1]
        np.testing.assert_allclose(gain[i], direct, rtol=1e-9)
    assert gain[2] > gain[1]  # a direction nothing measured covers beats a repeat of a covered one


def test_relative_jacobian_is_the_fitted_templates():
    from energylens import _core
    from energylens.model import EnergyModel
    from energylens.profiling.active import _TEMPLATE

    assert tuple(_core.describe_template(_TEMPLATE).param_names) == EnergyModel().param_names
    df = mlenergy_v2().reset_index(drop=True).iloc[:40]
    jac = relative_jacobian(df)
    theta0 = np.asarray(_core.describe_template(_TEMPLATE).init)
    # Central differences of log E in each parameter, scaled by theta0.
    model = EnergyModel()
    for k in (0, 4, 8):
        step = np.zeros_like(theta0)
        step[k] = 1e-6 * theta0[k]
        logs = []
        for sgn in (1, -1):
            model._theta = theta0 + sgn * step
            logs.append(np.log(model.predict(df, check_range=False)))
        np.testing.assert_allclose(jac[:, k], (logs[0] - logs[1]) / 2e-6, rtol=1e-4, atol=1e-9)


def _fit_mape(df, chosen, seed):
    from energylens.model import EnergyModel

    model = EnergyModel(bootstrap=0, n_starts=3, seed=seed).fit(df.iloc[chosen], latency=False)
    rest = np.setdiff1d(np.arange(len(df)), chosen)
    return float(np.mean(np.abs(model.predict(df.iloc[rest]) / df["energy_j"].to_numpy()[rest] - 1)))


def test_d_optimal_start_is_deterministic_informative_and_fits_better_than_a_random_one():
    df = mlenergy_v2().reset_index(drop=True)
    cand = df.drop(columns=["energy_j"])
    energy = df["energy_j"].to_numpy()

    def start(seed, design):
        chooser, measured = ActiveChooser(cand, seed=seed, design=design), {}
        while len(measured) < chooser.min_rows:
            i = chooser.next_index(measured)
            assert i not in measured
            measured[i] = float(energy[i])
        return list(measured)

    assert start(3, "d-optimal") == start(3, "d-optimal") and start(3, "d-optimal") != start(4, "d-optimal")
    jac = relative_jacobian(cand)

    def logdet(rows):
        return np.linalg.slogdet(1e-6 * np.eye(jac.shape[1]) + jac[rows].T @ jac[rows])[1]

    seeds = range(6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dopt = [start(s, "d-optimal") for s in seeds]
        rand = [start(s, "random") for s in seeds]
        assert min(logdet(r) for r in dopt) > max(logdet(r) for r in rand)
        # The design spans TP degrees and batch extremes (what the all-reduce and per-sequence terms need).
        for rows in dopt:
            assert df["tp"].iloc[rows].nunique() >= 3
            assert df["batch_size"].iloc[rows].max() >= df["batch_size"].quantile(0.9)
        # And the fit on it predicts the rows not measured better (v2: MAPE ~0.13 vs ~0.15, 20 seeds).
        assert np.mean([_fit_mape(df, r, s) for s, r in zip(seeds, dopt, strict=True)]) < \
            np.mean([_fit_mape(df, r, s) for s, r in zip(seeds, rand, strict=True)])


def test_unknown_design_is_refused():
    with pytest.raises(ValueError, match="design must be one of d-optimal, random"):
        ActiveChooser(mlenergy_v2().drop(columns=["energy_j"]), design="sobol")


@pytest.mark.parametrize(("key", "value", "needs"), [("bootstrap", 1, ">= 2"), ("bootstrap", 0, ">= 2"),
                                                      ("min_rows", 0, ">= 1"), ("information_weight", -1.0, ">= 0"),
                                                      ("spread_weight", -0.5, ">= 0"), ("coverage_weight", -1.0, ">= 0")])
def test_chooser_settings_out_of_range_are_refused_by_name(key, value, needs):
    """bootstrap=1 chose by the start design's rule for ever (one replicate gives no p_opt), min_rows=0 fitted
    on no rows, a negative weight chose the least informative units: all silently. Now each is refused."""
    with pytest.raises(ValueError, match=f"{key} must be {needs}, got {value}"):
        ActiveChooser(mlenergy_v2().drop(columns=["energy_j"]), **{key: value})


def _twenty_measured():
    """The bundled rows as candidates, 20 of them (seeded) measured: (candidates, {row: J}, measured mask)."""
    df = mlenergy_v2().reset_index(drop=True)
    rows = np.random.default_rng(5).choice(len(df), 20, replace=False)
    mask = np.zeros(len(df), dtype=bool)
    mask[rows] = True
    return df.drop(columns=["energy_j"]), {int(i): float(df["energy_j"].iloc[i]) for i in rows}, mask


def test_information_term_picks_the_largest_d_optimal_gain_at_the_fitted_parameters():
    cand, measured, mask = _twenty_measured()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chooser = ActiveChooser(cand, bootstrap=10, seed=0, information_weight=1e9, information="d-optimal")
        pick = chooser.next_index(measured)
        gain = d_optimal_gain(relative_jacobian(cand, chooser.last_model.theta), mask)
    assert pick == int(np.argmax(gain)) and pick not in measured


def test_i_optimal_gain_is_the_summed_variance_decrease_over_unmeasured_rows():
    rng = np.random.default_rng(0)
    jac = rng.normal(size=(30, 4))
    measured = np.zeros(30, dtype=bool)
    measured[:6] = True
    gain = i_optimal_gain(jac, measured, ridge=1e-6)
    targets = ~measured

    def total_variance(mask):
        a = np.linalg.inv(1e-6 * np.eye(4) + jac[mask].T @ jac[mask])
        return np.einsum("ij,jk,ik->i", jac[targets], a, jac[targets]).sum()

    brute = [total_variance(measured) - total_variance(measured | (np.arange(30) == i)) for i in range(6, 30)]
    np.testing.assert_allclose(gain[6:], brute, rtol=1e-9)
    assert np.all(gain[:6] == -np.inf)
    jac[7, 1] = np.nan
    assert i_optimal_gain(jac, measured)[7] == -np.inf


def test_i_optimal_prefers_the_bulk_where_d_optimal_prefers_one_extreme_row():
    # Two parameters, both identified by the measured rows 0-1. Twenty candidates load on the first
    # parameter only, one extreme candidate (row 22) loads three times as hard on the second.
    jac = np.array([[1.0, 0.0], [0.0, 1.0]] + [[1.0, 0.0]] * 20 + [[0.0, 3.0]])
    measured = np.zeros(len(jac), dtype=bool)
    measured[:2] = True
    assert int(np.argmax(d_optimal_gain(jac, measured))) == 22   # the parameters' joint variance
    assert int(np.argmax(i_optimal_gain(jac, measured))) < 22    # the candidates' predictions


def test_information_criterion_is_checked_and_i_optimal_is_used_after_the_start():
    cand, measured, mask = _twenty_measured()
    with pytest.raises(ValueError, match="information must be one of d-optimal, i-optimal"):
        ActiveChooser(cand, information="a-optimal")
    with pytest.raises(ValueError, match="start_information must be one of"):
        ActiveChooser(cand, start_information="x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chooser = ActiveChooser(cand, bootstrap=10, seed=0, information_weight=1e9)
        pick = chooser.next_index(measured)
        jac = relative_jacobian(cand, chooser.last_model.theta)
    assert chooser.information == "i-optimal"
    assert pick == int(np.argmax(i_optimal_gain(jac, mask))) != int(np.argmax(d_optimal_gain(jac, mask)))
    # The two parts of the score are kept for inspection; the pick maximises their sum.
    parts = chooser.last_scores
    assert pick == int(np.argmax(parts["optimum"] + parts["information"]))
    np.testing.assert_allclose(parts["information"].max(), 1e9)
    assert np.all(parts["optimum"][mask] == -np.inf) and np.isfinite(parts["optimum"][~mask]).all()


def test_candidates_carry_the_lengths_their_rows_will_record(tmp_path):
    """transformers records a static batch (the longest lengths drawn): active choice predicts each candidate
    at those, and groups candidates by the length spec, not by the per-unit maxima."""
    from energylens.profiling.active_sweep import candidate_frame as _candidate_frame
    from energylens.profiling.backend_transformers import static_batch_lengths

    spec = parse_spec({"sweep": {"backend": "transformers", "gpu": "H100"},
                       "grid": {"models": ["meta-llama/Llama-3.1-8B-Instruct"], "max_num_seqs": [2, 4, 8],
                                "input_len": [{"distribution": "uniform", "low": 10, "high": 500}, 64],
                                "output_len": [32]}})
    configs = spec.configs()
    cand = _candidate_frame(configs, Store(tmp_path))
    expect = [static_batch_lengths(c) for c in configs]
    assert list(zip(cand["input_tokens"], cand["output_tokens"], strict=True)) == expect
    drawn = cand[cand["input_len_spec"] == "uniform(10,500)"]
    assert drawn["input_tokens"].nunique() == 3  # the max of each unit's own draws, not the spec's mean (255)
    assert (cand.loc[cand["input_len_spec"] == "64", "input_tokens"] == 64).all()
    vllm = parse_spec({"sweep": {"backend": "vllm", "gpu": "H100"},
                       "grid": {"models": ["meta-llama/Llama-3.1-8B-Instruct"], "max_num_seqs": [2],
                                "input_len": [{"distribution": "uniform", "low": 10, "high": 500}],
                                "output_len": [32]}}).configs()
    assert _candidate_frame(vllm, Store(tmp_path))["input_tokens"].tolist() == [255.0]  # vLLM: the mean


def test_active_retries_failed_units_first_within_the_budget(tiny_model, tmp_path):
    """--strategy active with --retry-failed: the failed unit runs again (chosen_by 'retry') and the store
    keeps to --budget; before 2026-12-05 the failed unit was never retried and new units went past it."""
    from energylens.profiling.worker import base_row, execute

    spec = parse_spec({"sweep": {"backend": "transformers", "gpu": "H100", "warmup": 0, "seed": 2},
                       "grid": {"models": [tiny_model], "precision": ["fp32"], "max_num_seqs": [1, 2, 3],
                                "input_len": [8, 16], "output_len": [3]}})
    calls = []

    def first_fails(cfg, src):
        calls.append(cfg.config_id)
        return base_row(cfg, src) | {"error": "out of memory (test)"} if len(calls) == 1 else execute(cfg, src)

    store = tmp_path / "s"
    run_sweep(spec, str(store), power_source="synthetic:200", budget=3, strategy="active", run_one=first_fails)
    assert sorted(Store(store).statuses().values()) == ["failed", "ok", "ok"]
    res = run_sweep(spec, str(store), resume=True, retry_failed=True, power_source="synthetic:200", budget=3,
                    strategy="active", run_one=first_fails)
    assert res.ran == 1 and calls[-1] == calls[0]
    assert sorted(Store(store).statuses().values()) == ["ok"] * 3
    rows = Store(store).rows()
    assert rows.set_index("config_id").loc[calls[0], "chosen_by"] == "retry"


def _vllm_tp_spec():
    return parse_spec({"sweep": {"backend": "vllm", "gpu": "H100", "seed": 2},
                       "grid": {"models": ["meta-llama/Llama-3.1-8B-Instruct"], "tp": [1, 4],
                                "max_num_seqs": [1, 4, 16, 64], "input_len": [128, 1024], "output_len": [64, 512]}})


def _stand_in(fails, log):
    """A worker whose energy follows a smooth law and which fails the units ``fails(cfg)`` names."""
    from energylens.profiling.worker import base_row

    def run_one(cfg, src):
        log.append(cfg)
        if fails(cfg):
            return base_row(cfg, src) | {"error": "CUDA out of memory (test)"}
        e = (1 + 0.3 * cfg.tp) * (0.01 * cfg.input_len.value + cfg.output_len.value) / cfg.full_batch ** 0.5
        return base_row(cfg, src) | {"status": "ok", "error": "", "energy_j": e, "energy_measured": True,
                                     "gpu": "H100", "params_b": 8.0}
    return run_one


def _size(c):
    return (c.max_num_seqs, c.input_len.value, c.output_len.value)


def test_active_does_not_spend_the_budget_on_units_larger_than_one_that_failed(tmp_path):
    """A unit that ran out of memory: the units of the same engine configuration (model, tp, pp, dp, ep,
    precision, ...) with at least its batch and lengths would too. Before 2026-12-06 the start design,
    which favours the extreme units, chose them one after another: with TP 4 failing from batch 16 up,
    --budget 25 ran 8 failed units, every larger TP 4 unit after the first failure."""
    log = []
    fails = lambda c: c.tp == 4 and c.max_num_seqs >= 16  # noqa: E731
    run_sweep(_vllm_tp_spec(), str(tmp_path / "s"), power_source="synthetic:200", budget=25, strategy="active",
              run_one=_stand_in(fails, log), stop="budget")
    for k, bad in enumerate(log):
        if fails(bad):
            later = [c for c in log[k + 1:] if c.tp == bad.tp
                     and all(a >= b for a, b in zip(_size(c), _size(bad), strict=True))]
            assert later == [], f"{bad.describe()} failed, then larger units ran: {[c.describe() for c in later]}"
    assert len(log) == 25 and sum(map(fails, log)) < 8


def test_active_start_after_failures_is_a_fresh_draw_not_the_failed_units_neighbour(tmp_path):
    """While no unit has an energy, each pick is a seeded draw among the units left. Before 2026-12-06 it was
    the same position among them every time, so after a failure it took the failed unit's neighbour in spec
    order (the same tp, failing alike): with every TP 4 unit failing, --budget 10 ran 10 TP 4 units and
    measured nothing. Now the draw moves on with each unit tried, and a unit larger than a failed one of
    its engine configuration waits: after the smallest TP 4 unit fails, no TP 4 unit runs."""
    log = []
    run_sweep(_vllm_tp_spec(), str(tmp_path / "s"), power_source="synthetic:200", budget=10, strategy="active",
              run_one=_stand_in(lambda c: c.tp == 4, log))
    tp4 = [c for c in log if c.tp == 4]
    assert len(log) == 10 and len(tp4) <= 4, [c.describe() for c in log]
    smallest = min(range(len(log)), key=lambda k: (log[k].tp != 4, _size(log[k])))
    assert _size(log[smallest]) == (1, 128, 64) and all(c.tp == 1 for c in log[smallest + 1:])


def test_profile_help_says_the_budget_and_strategy_defaults(capsys):
    """--help listed --budget N and --strategy without their defaults (every unit; grid order), and did not say
    that active choice stops only at the budget."""
    from energylens.cli.main import main as cli_main

    with pytest.raises(SystemExit):
        cli_main(["profile", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "default: every unit" in text and "default: grid" in text
    assert "known (the default) stops before --budget once the model is known" in text


def test_active_without_a_budget_says_it_measures_every_unit(tmp_path):
    """--strategy active with no --budget measures the whole grid, only in another order; the start line said
    nothing, and a user who expected it to stop once the model is known spent the grid's GPU-hours."""
    import io

    out = io.StringIO()
    spec = parse_spec({"sweep": {"backend": "vllm", "gpu": "H100", "seed": 2},
                       "grid": {"models": ["meta-llama/Llama-3.1-8B-Instruct"], "max_num_seqs": [1, 4],
                                "input_len": [128], "output_len": [64]}})
    run_sweep(spec, str(tmp_path / "s"), power_source="synthetic:200", strategy="active",
              run_one=_stand_in(lambda c: False, []), out=out, stop="budget")
    assert "no --budget: active measures all 2 units" in out.getvalue()
    out = io.StringIO()  # (--stop known, the default: it may stop before)
    run_sweep(spec, str(tmp_path / "u"), power_source="synthetic:200", strategy="active",
              run_one=_stand_in(lambda c: False, []), out=out)
    assert "or after 2 units (no --budget: every unit)" in out.getvalue()
    out = io.StringIO()
    run_sweep(spec, str(tmp_path / "t"), power_source="synthetic:200", strategy="active", budget=1,
              run_one=_stand_in(lambda c: False, []), out=out)
    assert "no --budget" not in out.getvalue()


@pytest.mark.parametrize("seed", [4, 5])
def test_a_model_without_facts_gets_one_random_unit_not_several_of_other_models(tmp_path, seed):
    """A model neither in the model table nor measured: its first unit is drawn at random, as the docs say.
    Before 2026-12-06 the draw was among all the units, so with one such model of four, seed 4 spent 4 of
    --budget 16 on random units (3 of them of table models, instead of the start design)."""
    log = []
    spec = parse_spec({"sweep": {"backend": "vllm", "gpu": "H100", "seed": seed},
                       "grid": {"models": ["meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct",
                                           "mistralai/Mistral-7B-Instruct-v0.3", "acme/unlisted-7b"],
                                "max_num_seqs": [1, 4, 16, 64], "input_len": [128, 1024], "output_len": [64, 512]}})
    run_sweep(spec, str(tmp_path / "s"), power_source="synthetic:200", budget=16, strategy="active",
              run_one=_stand_in(lambda c: False, log))
    rows = Store(tmp_path / "s").rows()
    random = rows[rows["chosen_by"] == "random"]
    assert random["model"].tolist() == ["acme/unlisted-7b"]
    assert rows["chosen_by"].value_counts().to_dict() == {"design": 14, "random": 1, "active": 1}


def test_active_progress_lines_say_why_each_unit_was_chosen(tmp_path):
    """The progress lines of an active sweep showed the unit and nothing of why it was chosen, nor how far the
    start design had come; the rows' chosen_by said which phase only, after the run."""
    import io
    import re

    out = io.StringIO()
    run_sweep(_vllm_tp_spec(), str(tmp_path / "s"), power_source="synthetic:200", budget=17, strategy="active",
              run_one=_stand_in(lambda c: False, []), out=out)
    lines = [ln for ln in out.getvalue().splitlines() if ln.startswith("[") and "] running " not in ln]  # (ends)
    assert "[design 1 of 15: drawn with the seed]" in lines[0]
    assert "[design 2 of 15: most log det gain]" in lines[1]
    assert "[design 15 of 15: most log det gain]" in lines[14]
    why = re.search(r"\[active: optimum terms (\d\.\d\d) \+ information term (\d\.\d\d); model: ", lines[15])
    assert why and 0 <= float(why[1]) <= 2 and 0 <= float(why[2]) <= 3


def test_the_design_count_of_a_sweep_smaller_than_the_design_is_its_size(tmp_path):
    """A 4-unit active sweep said 'design 1 of 15' ... 'design 4 of 15': the start design is 15 units, but a sweep
    of fewer has only its own to measure; it now says 'design 1 of 4' ... 'design 4 of 4'."""
    import io

    spec = parse_spec({"sweep": {"backend": "vllm", "gpu": "H100", "seed": 2},
                       "grid": {"models": ["meta-llama/Llama-3.1-8B-Instruct"], "tp": [1, 4],
                                "max_num_seqs": [1, 4], "input_len": [128], "output_len": [64]}})
    out = io.StringIO()
    run_sweep(spec, str(tmp_path / "s"), power_source="synthetic:200", strategy="active",
              run_one=_stand_in(lambda c: False, []), out=out)
    lines = [ln for ln in out.getvalue().splitlines() if ln.startswith("[") and "] running " not in ln]
    assert [ln.split(" [design ")[1].split(":")[0] for ln in lines] == ["1 of 4", "2 of 4", "3 of 4", "4 of 4"]
