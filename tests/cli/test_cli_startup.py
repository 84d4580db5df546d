"""Start-up of the command line: ``--help``, a command's ``--help``, ``--version`` and an argument error build
the parsers only (energylens.cli.parsers) and load no library: `energylens --help` imported pandas, the model and
the profiling runner (~1 s on a loaded 2-core box, 0.16 s now), and so did every ``energylens predict ...``
that a scheduler or shell user mistyped. The command's own module is imported when it runs."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import subprocess
import sys

import pytest

from energylens.cli.main import COMMANDS, build_parser

#: What a parser must not load: the third-party stack and the library's layers (energylens.errors, extras,
#: capabilities and the package root are light and allowed).
HEAVY_PACKAGES = ("pandas", "pyarrow", "numpy", "scipy", "sklearn", "matplotlib", "torch")
HEAVY_LAYERS = ("model", "profiles", "profiling", "compare", "search", "measure", "discover")

#: (argv, exit status): help, version, and errors argparse reports (exit 2) before any command runs.
PARSE_ONLY = [
    (["--help"], 0),
    (["--version"], 0),
    *[([name, "--help"], 0) for name in COMMANDS],
    (["frobnicate"], 2),
    (["predict", "--nope"], 2),
    (["fit"], 2),
    (["search", "--model", "Llama-3.1-8B", "--gpus", "H100", "--tp", "0"], 2),
    (["monitor", "--gpus", "x"], 2),
    (["profile", "s.toml", "-o", "d", "--strategy", "bogus"], 2),
    (["evaluate", "p.csv", "--repeats", "0"], 2),
]

_PROBE = r"""
import contextlib, io, json, sys
from energylens.cli import main

heavy_packages, heavy_layers, cases = json.loads(sys.argv[1])

def heavy():
    return sorted(m for m in sys.modules if m.split(".")[0] in heavy_packages
                  or (m.startswith("energylens.") and m.split(".")[1] in heavy_layers))

out = []
for argv, _ in cases:
    before = set(heavy())
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            status = main(argv)
        except SystemExit as exc:
            status = exc.code
    out.append([argv, status, [m for m in heavy() if m not in before]])
print(json.dumps(out))
"""


def _probe(cases) -> list:
    arg = json.dumps([HEAVY_PACKAGES, HEAVY_LAYERS, cases])
    proc = subprocess.run([sys.executable, "-c", _PROBE, arg], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_help_version_and_argument_errors_load_no_library():
    """One fresh interpreter runs every case in turn; each case's newly loaded heavy modules are listed, so the
    first case that loads one is named (a later case cannot hide behind an earlier one's imports)."""
    results = _probe(PARSE_ONLY)
    assert [status for _, status, _ in results] == [status for _, status in PARSE_ONLY], results
    loaded = {" ".join(argv): mods[:8] for argv, _, mods in results if mods}
    assert loaded == {}, f"parsing alone imported the library: {loaded}"


def test_a_command_still_loads_its_module_when_it_runs(tmp_path):
    """The probe sees imports: a command that runs (predict on a missing model file, exit 2) loads its module."""
    (argv, status, loaded), = _probe([(["predict", str(tmp_path / "no.json"), "bundled", "-o",
                                        str(tmp_path / "out.csv")], 2)])
    assert status == 2 and "pandas" in loaded and "energylens.model" in loaded, loaded


def test_every_command_runs_a_function_of_its_own_module():
    """Each parser's ``func`` names an existing function of ``energylens.cli.<module>`` (a typo in the name would
    only show when the command runs)."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert list(sub.choices) == list(COMMANDS)
    for name, module in COMMANDS.items():
        func = sub.choices[name].get_default("func")
        target = func.resolve()
        assert callable(target) and target.__module__ == f"energylens.cli.{module}", (name, func)


@pytest.mark.parametrize(("copy", "original"), [
    ("energylens.cli.parsers.common:DEFAULT_PRIOR_WEIGHT", "energylens.model.prior:DEFAULT_PRIOR_WEIGHT"),
    ("energylens.cli.parsers.fit:ENERGY_TPOT_WEIGHT", "energylens.model.closed_form:ENERGY_TPOT_WEIGHT"),
    ("energylens.cli.parsers.evaluate:DEFAULT_GROUP_BY", "energylens.compare.splits:DEFAULT_GROUP_BY"),
    ("energylens.cli.parsers.evaluate:SPLIT_NAMES", "energylens.compare.splits:SPLIT_NAMES"),
    ("energylens.cli.parsers.profile:STRATEGIES", "energylens.profiling.runner:STRATEGIES"),
    ("energylens.cli.parsers.profile:STOPS", "energylens.profiling.active_known:STOPS"),
    ("energylens.cli.parsers.profile:WIDTH", "energylens.profiling.active_known:WIDTH"),
    ("energylens.cli.parsers.profile:CHANGED_ENGINE_ARGS", "energylens.profiling.engine_resume:CHANGED_ENGINE_ARGS"),
    ("energylens.cli.doctor:VLLM_HINT", "energylens.profiling.requirements:VLLM_HINT"),
])
def test_values_copied_from_the_library_match_it(copy, original):
    """The parsers show (and check) these in help texts and choices without importing the library."""
    def value(ref):
        module, _, name = ref.partition(":")
        return getattr(importlib.import_module(module), name)
    assert value(copy) == value(original)


def test_the_template_parameter_count_shown_matches_the_template():
    """``TEMPLATE_PARAMETERS`` (fit's and discover's help texts and discover's lines) is the template's count, its
    parameter-name tuple's length: a template that gains a parameter fails here, not in a wrong help text."""
    from energylens.cli.parsers.common import TEMPLATE_PARAMETERS
    from energylens.model.reference import ENERGY_PARAM_NAMES

    assert TEMPLATE_PARAMETERS == len(ENERGY_PARAM_NAMES)


def test_doctor_does_not_load_the_profiling_runner():
    """doctor needs the model (its kernel row) and imports pandas to check it; the profiling package (the sweep
    runner, the sampler: ~0.2 s) it loaded for one string, the vLLM install hint."""
    code = ("import contextlib, io, sys\nfrom energylens.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    main(['doctor'])\n"
            "print(sorted(m for m in sys.modules if m.startswith(('energylens.profiling', 'energylens.measure'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


_MONITOR_PROBE = r"""
import contextlib, io, json, sys
from energylens.cli import main
import energylens.cli.monitor as monitor

seen = {}
live = monitor._live
def watched(*args, **kwargs):  # sampling has started: what had the command loaded by then?
    seen["at_start"] = sorted(m for m in sys.modules if m.split(".")[0] in ("pandas", "pyarrow", "scipy")
                              or m == "importlib.metadata")
    return live(*args, **kwargs)
monitor._live = watched
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    status = main(["monitor", "--source", "synthetic", "--duration", "0.3", "--interval", "0.1", *sys.argv[1:]])
seen["status"] = status
seen["at_end"] = "pandas" in sys.modules
print(json.dumps(seen))
"""


@pytest.mark.parametrize("save", [False, True])
def test_monitor_samples_before_loading_pandas(tmp_path, save):
    """``energylens monitor`` imported pandas (and with it pyarrow: ~0.5 s on a loaded 2-core box) before its
    sampler started, so the first half second of the job it watches went unrecorded; pandas is needed only for
    a saved trace (-o), at the end, and the run without -o never loads it. Nor does it read energylens' version
    (importlib.metadata: ~30 ms) before it samples."""
    out = tmp_path / "run.parquet"
    proc = subprocess.run([sys.executable, "-c", _MONITOR_PROBE, *(["-o", str(out)] if save else [])],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.splitlines()[-1])
    assert seen["status"] == 0 and seen["at_start"] == [], seen
    assert seen["at_end"] == save and out.exists() == save, seen


def test_parsing_does_not_read_the_installed_version():
    """Building the parser read energylens' version for ``--version`` (importlib.metadata and its email parser:
    ~30 ms of every command, ``--help`` included); it is read when ``--version`` is asked for."""
    code = ("import contextlib, io, json, sys\nfrom energylens.cli import main\nout = []\n"
            "for argv in (['--help'], ['fit', '--help'], ['predict', '--nope'], ['--version']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()) as o, contextlib.redirect_stderr(io.StringIO()):\n"
            "        try:\n            main(argv)\n        except SystemExit:\n            pass\n"
            "    out.append(['importlib.metadata' in sys.modules, o.getvalue()])\nprint(json.dumps(out))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (helped, _), (fit_help, _), (mistyped, _), (versioned, version) = json.loads(proc.stdout.splitlines()[-1])
    assert not helped and not fit_help and not mistyped
    assert versioned and version.strip() == f"energylens {importlib.metadata.version('energylens')}"


#: Loaded only where they are used: SymPy (mpmath under it) by expression models (EnergyModel.from_expression,
#: their model files, energylens discover), matplotlib by plots, SciPy and scikit-learn by the comparison.
LAZY_PACKAGES = ("sympy", "mpmath", "matplotlib", "scipy", "sklearn")


@pytest.mark.parametrize("module", ["energylens.search", "energylens.cli.search", "energylens.cli.predict",
                                    "energylens.model"])
def test_the_search_and_predict_modules_load_no_sympy(module):
    """``import energylens.search`` loaded SymPy (~0.2 s of ~0.6 s) for one isinstance check against the
    expression model, and every ``energylens search`` / ``predict`` / ``demo`` paid it; it loads with an
    expression model now."""
    code = (f"import json, sys\nimport {module}\n"
            f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(LAZY_PACKAGES)!r}))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == [], f"import {module} loaded {proc.stdout.strip()}"


@pytest.fixture(scope="module")
def expression_file(tmp_path_factory):
    import warnings

    from energylens.model import EnergyModel
    from energylens.profiles.datasets import mlenergy_v2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel.from_expression("0.001*input_tokens*tp + 0.01*output_tokens + 3.0",
                                            bootstrap=0).fit(mlenergy_v2().head(40))
    path = tmp_path_factory.mktemp("m") / "expr.json"
    model.save(path)
    return path


_SEARCH = ["search", "--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpus", "H100", "--input-tokens", "512",
           "--output-tokens", "256"]


def test_search_and_predict_runs_load_no_sympy_until_an_expression_model(tmp_path, expression_file):
    """In one fresh interpreter, in turn: the search, a fit, a predict: none loads SymPy; then a search given an
    expression model file (refused, exit 2) loads it: the probe sees SymPy when something needs it."""
    model = str(tmp_path / "m.json")
    cases = [(_SEARCH, 0), (["fit", "bundled", "-o", model], 0),
             (["predict", model, "bundled", "-o", str(tmp_path / "p.csv")], 0),
             ([*_SEARCH, "--json"], 0), ([*_SEARCH, "--model-file", str(expression_file)], 2)]
    arg = json.dumps([LAZY_PACKAGES, [], cases])
    proc = subprocess.run([sys.executable, "-c", _PROBE, arg], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.splitlines()[-1])
    assert [status for _, status, _ in results] == [status for _, status in cases], results
    loaded = [(argv[0], mods) for argv, _, mods in results]
    assert loaded[:4] == [("search", []), ("fit", []), ("predict", []), ("search", [])], loaded
    assert {"sympy", "mpmath"} <= set(loaded[4][1]), loaded


_WITHOUT_SYMPY = r"""
import contextlib, importlib.abc, io, json, sys

class Block(importlib.abc.MetaPathFinder):  # a core install: the symbolic extra (SymPy) is not there
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("sympy", "mpmath"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, Block())
from energylens.cli import main

out = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        status = main(argv)
    out.append([status, err.getvalue()])
print(json.dumps(out))
"""


def test_search_and_predict_run_without_the_symbolic_extra(tmp_path, expression_file):
    """SymPy is an extra (``energylens[symbolic]``), but ``energylens search`` and ``predict`` imported it at
    start-up, so a core install could not run them (a traceback: ModuleNotFoundError: No module named 'sympy').
    They run now; an expression model file, which needs SymPy, is refused naming the pip install."""
    model = str(tmp_path / "m.json")
    cases = [_SEARCH, ["fit", "bundled", "-o", model], ["predict", model, "bundled", "-o", str(tmp_path / "p.csv")],
             [*_SEARCH, "--model-file", str(expression_file)]]
    proc = subprocess.run([sys.executable, "-c", _WITHOUT_SYMPY, json.dumps(cases)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (searched, _), (fitted, _), (predicted, _), (refused, said) = json.loads(proc.stdout.splitlines()[-1])
    assert (searched, fitted, predicted) == (0, 0, 0)
    assert refused == 2 and 'pip install "energylens[symbolic]"' in said and "expression energy model" in said, said
