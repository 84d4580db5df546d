"""Optional extras: the core works without them, and a missing one is an error naming the pip install to run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from energylens import extras
from energylens.errors import EnergyLensError, MissingExtraError


def _block(monkeypatch, *modules: str) -> None:
    """Make ``import m`` fail for every module (and its submodules already imported)."""
    for name in list(sys.modules):
        if any(name == m or name.startswith(m + ".") for m in modules):
            monkeypatch.setitem(sys.modules, name, None)
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)


def test_require_names_the_pip_install(monkeypatch):
    _block(monkeypatch, "sklearn")
    with pytest.raises(MissingExtraError, match=r'the forest needs scikit-learn, which is not installed .*'
                                                r'pip install "energylens\[compare\]"'):
        extras.require("sklearn.ensemble", "compare", "the forest")


def test_missing_extra_is_an_energylens_error_and_an_import_error(monkeypatch):
    _block(monkeypatch, "sympy")
    with pytest.raises(ImportError) as info:
        extras.require("sympy", "symbolic", "x")
    assert isinstance(info.value, EnergyLensError)


def test_require_returns_the_module_and_checks_its_extra():
    import sympy

    assert extras.require("sympy", "symbolic", "x") is sympy
    with pytest.raises(ValueError, match="not part of the 'compare' extra"):
        extras.require("numpy", "compare", "x")      # numpy is core, in no extra
    with pytest.raises(ValueError, match="unknown extra"):
        extras.install_hint("gpu")


def test_optional_is_none_when_missing(monkeypatch):
    _block(monkeypatch, "tqdm")
    assert extras.optional("tqdm.auto") is None
    assert extras.optional("json") is not None


def test_learned_baselines_stop_before_any_fit_without_the_extra(monkeypatch):
    from energylens.compare import baselines

    _block(monkeypatch, "sklearn", "xgboost")
    for kind, dist in (("rf", "scikit-learn"), ("gb", "scikit-learn"), ("xgb", "xgboost-cpu")):
        with pytest.raises(MissingExtraError, match=rf'{dist}.*pip install "energylens\[compare\]"'):
            baselines.EnsembleRegressor(kind)


def test_report_plots_name_the_extra(monkeypatch, tmp_path):
    from energylens.compare import report_plots

    _block(monkeypatch, "matplotlib")
    with pytest.raises(MissingExtraError, match=r"matplotlib.*energylens\[compare\]"):
        report_plots._plt()


def test_sympy_forms_name_the_extra(monkeypatch):
    from energylens.model import EnergyModel

    _block(monkeypatch, "sympy")
    monkeypatch.delitem(sys.modules, "energylens.model.symbolic", raising=False)   # imported afresh
    with pytest.raises(MissingExtraError, match=r'sympy.*pip install "energylens\[symbolic\]"'):
        EnergyModel().to_sympy()
    with pytest.raises(MissingExtraError, match=r"energylens\[symbolic\]"):
        EnergyModel().to_latex()


def _slow_clock(monkeypatch, step_s: float) -> None:
    """The runner's clock advances ``step_s`` per reading: each fit seems to take that long."""
    from energylens.compare import runner

    now = [0.0]

    def tick() -> float:
        now[0] += step_s
        return now[0]
    monkeypatch.setattr(runner.time, "perf_counter", tick)


def test_runner_progress_is_plain_lines_without_tqdm(monkeypatch, capsys):
    from energylens.compare import runner

    _block(monkeypatch, "tqdm")
    _slow_clock(monkeypatch, 0.5)
    bar = runner._Progress(20, enabled=True)
    for _ in range(20):
        bar.update()
    bar.close()
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 10 and lines[-1].startswith("evaluate: 20/20 fits")


def test_runner_progress_says_something_within_10_s_and_nothing_for_a_fast_run(monkeypatch, capsys):
    """Before 2026-12-06 the plain lines came only at each tenth of the fits: `energylens evaluate` on the
    bundled data (1764 fits, 2.5 min on 2 cores) was silent for its first 20 s, and a 1-second run printed 10
    lines. Now a line comes at least every 10 s, with the time left, and none for a run under a second."""
    from energylens.compare import runner

    _slow_clock(monkeypatch, 0.08)
    bar = runner._Progress(1764, enabled=True)
    bar.bar = None  # plain lines (stderr not a terminal)
    for _ in range(130):  # 10.4 s: before the first tenth (176 fits)
        bar.update()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("evaluate: 12"), lines
    assert "/1764 fits, 10 s; about 2 min left" in lines[0], lines
    _slow_clock(monkeypatch, 0.001)
    quick = runner._Progress(300, enabled=True)
    quick.bar = None
    for _ in range(300):
        quick.update()
    assert capsys.readouterr().err == ""


def test_runner_progress_is_plain_lines_when_stderr_is_not_a_terminal(monkeypatch, capsys):
    """With tqdm installed, output to a file or pipe still gets 10 plain lines, not a redrawn bar."""
    pytest.importorskip("tqdm")
    from energylens.compare import runner

    _slow_clock(monkeypatch, 0.5)
    bar = runner._Progress(30, enabled=True)
    assert bar.bar is None
    for _ in range(30):
        bar.update()
    bar.close()
    err = capsys.readouterr().err
    assert "\r" not in err and len(err.strip().splitlines()) == 10


def test_demo_checks_its_extra_before_any_work(monkeypatch, capsys):
    from energylens.cli.demo import run_demo

    _block(monkeypatch, "matplotlib")
    with pytest.raises(MissingExtraError, match=r'energylens demo ends with needs matplotlib.*'
                                                r'pip install "energylens\[demo\]"'):
        run_demo(report_dir="unused")
    assert capsys.readouterr().out == ""          # failed before printing anything
    with pytest.raises(ValueError, match="unknown extra"):
        extras.require_extra("gpu", "x")


def test_status_lists_each_extra_without_importing_it():
    status = extras.extras_status()
    assert set(status) == {"compare", "symbolic", "sr", "demo", "profile", "ray", "test"}
    assert set(status["profile"]) == {"torch", "transformers"} and set(status["ray"]) == {"ray"}
    assert set(status["compare"]) == {"scikit-learn", "xgboost-cpu", "matplotlib", "tqdm"}


_WITHOUT_EXTRAS = textwrap.dedent("""
    import importlib.abc, sys
    BLOCKED = ("sklearn", "xgboost", "matplotlib", "sympy", "tqdm", "scipy")

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked {name}")
            return None

    sys.meta_path.insert(0, Block())
    import numpy as np
    import energylens
    from energylens.model import EnergyModel
    from energylens.profiles.datasets import mlenergy_v2
    from energylens.profiles.features import build_features

    data = mlenergy_v2()
    model = EnergyModel(bootstrap=0).fit(data.sample(50, random_state=0))
    feats = build_features(data)
    pred = model.predict_features(feats)
    assert pred.shape == (len(data),) and np.all(np.isfinite(pred))
    from energylens.cli import main
    assert main(["evaluate", "bundled", "--repeats", "1", "--splits", "random",
                 "--methods", "energylens,wilkins2024", "--no-progress"]) == 0
    assert main(["evaluate", "bundled", "--repeats", "1", "--splits", "random",
                 "--methods", "random_forest", "--no-progress"]) == 2
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print("LOADED", loaded)
""")


@pytest.mark.slow
def test_core_works_without_any_extra():
    """import energylens, fit, predict_features and a baseline comparison, with every extra unimportable."""
    out = subprocess.run([sys.executable, "-c", _WITHOUT_EXTRAS], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "LOADED []" in out.stdout
    assert 'the random_forest baseline needs scikit-learn' in out.stderr
    assert 'pip install "energylens[compare]"' in out.stderr


def test_extras_table_is_pyproject_optional_dependencies():
    """energylens.extras.EXTRAS (what doctor and require_extra check) lists, per extra, exactly the
    distributions pyproject.toml's [project.optional-dependencies] installs (energylens[x] expanded), so a
    package added to one and not the other is caught. EXTRAS['test'] held pytest and scipy alone."""
    import re
    from pathlib import Path

    try:
        import tomllib
    except ImportError:  # Python 3.10: tomli, a core dependency there
        import tomli as tomllib

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["optional-dependencies"]

    def dists(extra: str) -> set[str]:
        out = set()
        for req in declared[extra]:
            if m := re.fullmatch(r"energylens\[([a-z,]+)\]", req.strip()):
                out |= set().union(*(dists(e) for e in m.group(1).split(",")))
            else:
                out.add(re.match(r"[A-Za-z0-9._-]+", req).group(0).lower())
        return out

    assert set(extras.EXTRAS) == set(declared)
    for extra, pairs in extras.EXTRAS.items():
        assert {dist.lower() for _, dist in pairs} == dists(extra), extra


def test_status_names_the_distribution_actually_installed(monkeypatch):
    """With the GPU build 'xgboost' installed instead of 'xgboost-cpu', doctor read 'xgboost-cpu 3.1.0', a
    distribution that is not there; the version now says which one it is."""
    import importlib.metadata

    pytest.importorskip("xgboost")
    real = importlib.metadata.version

    def version(name):
        if name == "xgboost-cpu":
            raise importlib.metadata.PackageNotFoundError(name)
        return "3.1.0" if name == "xgboost" else real(name)

    monkeypatch.setattr(extras, "installed_version", version)
    assert extras.extras_status()["compare"]["xgboost-cpu"] == "3.1.0 (as xgboost)"
    assert extras.extras_status()["compare"]["scikit-learn"] == real("scikit-learn")


def test_versions_are_read_from_the_metadata_header_alone(monkeypatch):
    """doctor's ~35 version lookups went through importlib.metadata.version, which parses a distribution's whole
    METADATA with the email parser (pandas' long description included): 30 ms of doctor's run. installed_version
    reads the header alone and gives version()'s answer for every installed distribution."""
    import importlib.metadata

    names = sorted({d.metadata["Name"] for d in importlib.metadata.distributions()})
    assert len(names) > 10
    expected = {name: importlib.metadata.version(name) for name in names}

    def parsed(self):
        raise AssertionError(f"{self} had its whole METADATA parsed")

    monkeypatch.setattr(importlib.metadata.Distribution, "metadata", property(parsed))
    assert {name: extras.installed_version(name) for name in names} == expected
    assert extras.dist_version("pandas") == expected["pandas"]
    assert extras.extras_status()["compare"]["scikit-learn"] == expected["scikit-learn"]
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        extras.installed_version("no-such-distribution-energylens")
