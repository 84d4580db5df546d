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
