"""The documented examples run as written: every fenced ```python block of README.md and docs/*.md, and the
command lines of the README's "Using it" block. Before this file nothing ran them, so they could rot silently.

Rules:

* Every block is listed in ``BLOCKS`` (found by a line of its own text), and ``test_every_block_is_listed``
  fails on a block that is not, so a new example is run or skipped on purpose, never by accident.
* Each block runs with ``exec`` in a fresh namespace, in a temporary working folder. Tried alone, no block
  needs a name from an earlier block of its page; a block that came to build on the one before it would fail
  here with a NameError (then run the page's blocks in order in one namespace for it).
* Names a page leaves to the reader (``my_runs.csv``, ``frame``, ``spec``, ``run_prefill``) are provided by the
  block's ``given`` function, built from the bundled data or the page's own example file, and said there.
* Blocks are skipped by name with a reason: GPU ones (NVML, CUPTI) carry the ``gpu`` marker and run where
  NVML loads; blocks another test already runs and checks say which (and that test must still hold them).
* Where a full run is slow (evaluation.md's ``run_evaluation(df)`` on every split: ~2 min on 2 cores) the
  default run makes the block's documented textual substitutions (each must match, so a changed block fails
  rather than running unchecked) and the unchanged block runs under the ``slow`` marker.
* Command lines run in-process through ``energylens.cli.main.main`` in a temporary folder holding the files
  they name, written from the bundled data (``profiles.csv``: 60 rows of ``mlenergy_v2()``; ``configs.csv``:
  20 other rows without ``energy_j``; ``few.csv``: 8 rows; ``model.json``: the suite's small model file;
  ``bench.py``: half a second's sleep).
  ``fit runs/`` reads a store of 40 bundled rows written by ``profiling.store.Store``, as ``profile`` writes
  one. ``monitor`` (NVML: under the ``gpu`` marker) and ``profile`` (vLLM or torch and a checkpoint: no
  network here) are skipped with their reasons; ``evaluate`` and ``discover`` run with small options by
  default and as written under ``slow``.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import shlex
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.cli.main import main as cli_main
from energylens.profiles import model_table, tables
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiling.store import Store

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CAPS = energylens.capabilities()
NO_NVML = "NVML does not load here; `energylens doctor` says why"
MEASURE_TESTS = ROOT / "tests" / "measure" / "test_doc_examples.py"


def _blocks(path: Path) -> list[str]:
    return _blocks_in(path.read_text(), "python")


def _blocks_in(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


# ---- what each block is given ------------------------------------------------------------------------------

def _given_profile_files(ns: dict) -> None:
    """profile-schema.md: ``my_runs.csv`` is 30 bundled rows; ``frame`` 30 others, one with a negative energy."""
    data = mlenergy_v2()
    data.sample(30, random_state=0).to_csv("my_runs.csv", index=False)
    frame = data.sample(30, random_state=1).reset_index(drop=True)
    frame.loc[3, "energy_j"] = -1.0
    ns["frame"] = frame


def _check_profile_files(ns: dict) -> None:
    assert len(ns["df"]) == len(ns["frame"]) - 1  # drop_invalid=True dropped the bad row


def _given_discovery(ns: dict) -> None:
    """evaluation.md's discovered expression: ``discovered.json`` from a 5-generation discovery on the bundled rows
    (pyoperon, the [sr] extra in [test])."""
    assert cli_main(["discover", "bundled", "--generations", "5", "--seed", "0", "-o", "discovered.json",
                     "--quiet"]) == 0


def _check_discovery(ns: dict) -> None:
    methods = set(ns["res"].table["method"])
    assert "energylens" in methods and any(m.startswith("discovered") for m in methods), methods


def _given_gpu_table(ns: dict) -> None:
    """reference-tables.md: ``my_gpus.csv`` describes one new GPU by the required cells; ``spec`` is the H100's
    figures under another name."""
    Path("my_gpus.csv").write_text("name,hbm_bw_gbs,tdp_w,interconnect_bw_gbs,peak_bf16_tflops\n"
                                   "Acme-X1,2000,500,400,400\n")
    ns["spec"] = dataclasses.replace(tables.gpu_spec("H100"), name="Acme-X2", aliases=())


def _check_gpu_table(ns: dict) -> None:
    assert {g.name for g in tables.user_gpus()} >= {"Acme-X1", "Acme-X2"}


def _given_model_table(ns: dict) -> None:
    """reference-tables.md: ``my_models.csv`` is the page's own example file; ``spec`` is its 13B under another
    name."""
    page = (ROOT / "docs" / "reference-tables.md").read_text()
    example = re.search(r"For example \(`my_models\.csv`.*?\n```\n(.*?)```", page, flags=re.S)
    assert example, "reference-tables.md: the example my_models.csv block is gone"
    Path("my_models.csv").write_text(example[1])
    coder = next(m for m in model_table.load_model_table("my_models.csv") if m.name == "acme/Coder-13B")
    ns["spec"] = dataclasses.replace(coder, name="acme/Other-13B", aliases=())


def _check_evaluation(ns: dict) -> None:
    res = ns["res"]  # the comment: .table, .predictions, .info
    assert all(hasattr(res, name) for name in ("table", "predictions", "info"))
    assert Path("report/report.md").is_file()


def _check_search(ns: dict) -> None:
    assert Path("result.json").is_file() and Path("pareto.png").is_file()


def _check_python_api(ns: dict) -> None:
    """python-api.md: the shapes its comments state, the unseen-GPU flags, and out= filled as predict_features sums."""
    assert ns["energy_j"].shape == (1,) and ns["phases"].shape == (3, 3) and ns["bounds"].shape == (3, 2)
    assert list(ns["times"].columns) == ["ttft_s_pred", "tpot_s_pred", "time_in_system_s_pred"]
    assert ns["flags"].tolist() == [False, True] and "B200" in ns["why"]
    np.testing.assert_allclose(ns["prefill"] + ns["decode"], ns["j"], rtol=1e-12)


def _given_workload(ns: dict) -> None:
    """README.md's measuring block: ``run_prefill`` is the reader's workload; here a short sleep."""
    ns["run_prefill"] = lambda: time.sleep(0.05)


@dataclasses.dataclass(frozen=True)
class Block:
    doc: str                       # path from the repository root
    needle: str                    # a line of the block's own text that finds it
    given: Callable[[dict], None] | None = None
    check: Callable[[dict], None] | None = None
    skip: str = ""                 # why it does not run here
    gpu: bool = False              # runs where NVML loads, under the gpu marker
    elsewhere: Path | None = None  # the test that runs and checks it
    fast: tuple[tuple[str, str], ...] = ()  # substitutions of the default run; the block as written is slow


BLOCKS = [
    Block("README.md", "model = EnergyModel().fit(data.sample(50, random_state=0))"),
    Block("README.md", "with EnergyMonitor(kernels=True) as mon:", given=_given_workload, gpu=True,
          skip=f"needs an NVIDIA GPU with NVML and CUPTI ({NO_NVML})"),
    Block("docs/evaluation.md", "table = evaluate(df, train_size=50, repeats=20)", check=_check_evaluation,
          fast=(("evaluate(df, train_size=50, repeats=20)",
                 "evaluate(df, train_size=50, repeats=2, splits=('random',), progress=False)"),
                ("run_evaluation(df)", "run_evaluation(df, repeats=2, splits=('random', 'unseen_gpu'), "
                                       "progress=False)"))),
    Block("docs/evaluation.md", "from energylens.compare import run_evaluation", given=_given_discovery,
          check=_check_discovery,
          fast=(("run_evaluation(\"bundled\",", "run_evaluation(\"bundled\", repeats=1, splits=('random',), progress=False,"),
                ("DiscoveredExpression(d, 8, seed=seed)", "DiscoveredExpression(d, d.chosen, seed=seed)"))),
    Block("docs/measuring.md", "# load another tool's NVML polls", elsewhere=MEASURE_TESTS,
          skip="run and its printed line checked by tests/measure/test_doc_examples.py (the shared H200 trace)"),
    Block("docs/profile-schema.md", 'df = load_profiles("my_runs.csv")', given=_given_profile_files,
          check=_check_profile_files),
    Block("docs/reference-tables.md", 'tables.register_gpu_table("my_gpus.csv")', given=_given_gpu_table,
          check=_check_gpu_table),
    Block("docs/reference-tables.md", 'model_table.register_model_table("my_models.csv")',
          given=_given_model_table),
    Block("docs/sampler.md", "with EnergyMonitor() as mon:", gpu=True,
          skip=f"samples NVML on every visible GPU ({NO_NVML})"),
    Block("docs/sampler.md", "# record: a known 150 W / 450 W square wave", elsewhere=MEASURE_TESTS,
          skip="run and its printed line checked by tests/measure/test_doc_examples.py"),
    Block("docs/search.md", "r = energylens.search(", check=_check_search),
    Block("docs/python-api.md", "request = dict(model=", check=_check_python_api),
]


def _find(block: Block) -> str:
    hits = [b for b in _blocks(ROOT / block.doc) if block.needle in b]
    assert len(hits) == 1, f"{block.doc}: {len(hits)} python blocks hold {block.needle!r} (expected 1)"
    return hits[0]


def test_every_block_is_listed():
    """A python block no entry of BLOCKS finds would never run: list it (run, or skip with a reason)."""
    listed = {(b.doc, _find(b)) for b in BLOCKS}
    found = {(str(p.relative_to(ROOT)), code) for p in DOCS for code in _blocks(p)}
    missing = sorted(f"{doc}: {code.splitlines()[0]!r}" for doc, code in found - listed)
    assert not missing, "python blocks with no entry in BLOCKS: " + "; ".join(missing)


def _run(block: Block, code: str, tmp_path, monkeypatch) -> dict:
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": "__doc_example__"}
    try:
        if block.given:
            block.given(ns)
        exec(compile(code, f"{block.doc} (python block holding {block.needle!r})", "exec"), ns)
        if block.check:
            block.check(ns)
    finally:
        tables.clear_user_gpus()
        model_table.clear_user_models()
    return ns


def _param(block: Block, variant: str) -> object:
    marks = []
    reason = f"{block.doc}, block with {block.needle!r}: {block.skip}"
    if block.gpu:
        marks += [pytest.mark.gpu, pytest.mark.skipif(not CAPS.nvml_available, reason=reason)]
    elif block.skip:
        marks.append(pytest.mark.skip(reason=reason))
    if variant == "as written" and block.fast:
        marks.append(pytest.mark.slow)
    return pytest.param(block, variant, marks=marks, id=f"{block.doc}:{block.needle[:40]}:{variant}")


_PARAMS = [_param(b, "as written") for b in BLOCKS] + [_param(b, "small") for b in BLOCKS if b.fast]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("block, variant", _PARAMS)
def test_python_block_runs(block, variant, tmp_path, monkeypatch):
    code = _find(block)
    if variant == "small":
        for old, new in block.fast:
            assert code.count(old) == 1, f"{block.doc}: the block no longer holds {old!r} once"
            code = code.replace(old, new)
    _run(block, code, tmp_path, monkeypatch)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.elsewhere], ids=lambda b: f"{b.doc}:{b.needle[:40]}")
def test_blocks_run_elsewhere_are_still_run_there(block):
    """A skip that points at another test holds only while that test still finds the block."""
    assert block.needle in block.elsewhere.read_text(), f"{block.elsewhere} no longer finds {block.needle!r}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.skip], ids=lambda b: f"{b.doc}:{b.needle[:40]}")
def test_skipped_blocks_name_what_exists(block):
    """Where a block cannot run here its names are still checked: it compiles, its imports import, and each
    attribute it reads of an imported name, or of a ``with X(...) as v`` object of an imported class, exists."""
    tree = ast.parse(_find(block), filename=block.doc)
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    ns: dict = {}
    exec(compile(ast.Module(body=imports, type_ignores=[]), block.doc, "exec"), ns)
    objects = {name: value for name, value in ns.items() if name != "__builtins__"}
    for node in ast.walk(tree):
        if isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
            call = node.context_expr
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in objects:
                objects[node.optional_vars.id] = objects[call.func.id]
    read = [(n.value.id, n.attr) for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in objects]
    assert read or imports, block.needle
    missing = [f"{name}.{attr}" for name, attr in read if not hasattr(objects[name], attr)]
    assert not missing, f"{block.doc}: the block reads names that do not exist: {missing}"


# ---- the README's command lines -----------------------------------------------------------------------------

def _cli_lines() -> list[tuple[str, str]]:
    """(command, comment) for each line of the bash block under "## Using it", continuations joined."""
    section = (ROOT / "README.md").read_text().split("## Using it", 1)[1]
    block = _blocks_in(section, "bash")[0].replace("\\\n", " ")
    lines: list[tuple[str, str]] = []
    for raw in block.splitlines():
        command, _, comment = raw.partition("  #")
        if command.strip():
            lines.append((command.strip(), comment.strip()))
        elif lines:  # a comment continued on the next line
            lines[-1] = (lines[-1][0], f"{lines[-1][1]} {comment.strip()}")
    return lines


NVML_LINE = f"energylens monitor samples NVML ({NO_NVML})"
# prefix of a line -> why it is skipped, or the options its default run replaces (old, new)
CLI_SKIPS = {
    "energylens monitor --duration": NVML_LINE,
    "energylens monitor -o run.parquet": NVML_LINE,
    "energylens profile ": "energylens profile runs vLLM or torch on a model checkpoint (none here, no network)",
}
CLI_SMALL = {
    "energylens evaluate bundled": (("--report report/", "--report report/ --splits random --repeats 2"),),
    "energylens discover bundled -o": (("-o ", "--generations 5 -o "),),  # (before the general key: first match)
    "energylens discover bundled": (("--time-budget 60", "--time-budget 2"),),
}


def _cli_params() -> list:
    params = []
    for command, comment in _cli_lines():
        skip = next((why for key, why in CLI_SKIPS.items() if command.startswith(key)), "")
        small = next((subs for key, subs in CLI_SMALL.items() if command.startswith(key)), ())
        marks = []
        if skip == NVML_LINE:
            marks += [pytest.mark.gpu, pytest.mark.skipif(not CAPS.nvml_available, reason=f"README.md, {command!r}: {skip}")]
        elif skip:
            marks.append(pytest.mark.skip(reason=f"README.md, {command!r}: {skip}"))
        if small:
            params.append(pytest.param(command, comment, small, id=f"{command}:small"))
            marks.append(pytest.mark.slow)
        params.append(pytest.param(command, comment, (), id=command, marks=marks))
    return params


@pytest.fixture
def cli_folder(tmp_path, monkeypatch, small_model_file):
    data = mlenergy_v2()
    data.sample(60, random_state=0).to_csv(tmp_path / "profiles.csv", index=False)
    data.sample(20, random_state=1).drop(columns=["energy_j"]).to_csv(tmp_path / "configs.csv", index=False)
    data.sample(8, random_state=2).to_csv(tmp_path / "few.csv", index=False)
    shutil.copy(small_model_file, tmp_path / "model.json")
    (tmp_path / "bench.py").write_text("import time\ntime.sleep(0.5)\n")  # the command monitor runs
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_readme_command_is_known():
    """Each line of "Using it" is a command these tests know to run or skip (a new command gets a decision)."""
    commands = {"doctor", "fit", "predict", "evaluate", "monitor", "search", "discover", "profile"}
    for command, _ in _cli_lines():
        words = shlex.split(command)
        assert words[0] == "energylens" and words[1] in commands, command


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("command, comment, small", _cli_params())
def test_readme_command_line_runs(command, comment, small, cli_folder, capsys):
    for old, new in small:
        assert command.count(old) == 1, f"README.md: {command!r} no longer holds {old!r}"
        command = command.replace(old, new)
    words = shlex.split(command)
    if words[1] == "discover":
        pytest.importorskip("pyoperon", reason="energylens discover needs the [sr] extra (pyoperon)")
    if "--expression" in words:  # the result file the README's discover line before it writes
        pytest.importorskip("pyoperon", reason="energylens fit --expression needs a discovery ([sr] extra, pyoperon)")
        assert cli_main(["discover", "bundled", "--generations", "5", "--quiet", "-o",
                         words[words.index("--expression") + 1]]) == 0
        capsys.readouterr()
    if "runs/" in words[2:3]:  # a sweep's store, as energylens profile writes it: 40 bundled rows
        store = Store(cli_folder / "runs")
        store.init({"spec_hash": "docs"}, resume=False)
        for i, row in enumerate(mlenergy_v2().sample(40, random_state=3).to_dict("records")):
            store.write(f"u{i}", {**row, "config_id": f"u{i}", "status": "ok", "error": ""})
    rc = cli_main(words[1:])
    out = capsys.readouterr()
    assert rc == 0, f"{command!r} exited {rc}:\n{out.err[-3000:]}"
    for option in ("-o", "--report", "--plot"):
        if option in words:
            assert (cli_folder / words[words.index(option) + 1]).exists(), f"{command!r} wrote no {option}"
    if words[1] == "predict":
        # the comment names the columns it writes
        named = set(re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", comment))
        assert named, comment
        missing = named - set(pd.read_csv(cli_folder / words[words.index("-o") + 1]).columns)
        assert not missing, f"README.md: predict's comment names columns it does not write: {sorted(missing)}"
