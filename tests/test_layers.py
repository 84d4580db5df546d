"""The layers of docs/architecture.md, read from the source: no module imports a layer above its own.

    profiles  <-  model  <-  compare          measure (alone)
        ^           ^                            ^
        +-- search, discover, profiling --------+ (discover, profiling: also compare, measure)
                          cli (on top of all; nothing imports it but __main__, the ``python -m energylens``
                               entry point, which is the console script's twin and imports only cli)

Every ``import`` / ``from ... import`` of an ``energylens`` module in ``python/energylens`` is parsed with
``ast`` (conditional and ``TYPE_CHECKING`` imports included). The shared modules (``errors``, ``extras``,
``capabilities``, ``_core`` and the package root) may be imported from anywhere. An import inside a function
is allowed only where :data:`LOCAL_IMPORTS` lists it with its reason, so no one dodges a cycle that way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "python" / "energylens"

#: Modules every layer may import (they import nothing of the layers themselves).
SHARED = {"errors", "extras", "capabilities", "outputs", "parallel", "signal_handlers", "warning_sink", "arguments",
          "_core", ""}

#: Subpackage -> the subpackages it may import (besides itself and SHARED).
ALLOWED: dict[str, set[str]] = {
    "profiles": set(),
    "model": {"profiles"},
    "compare": {"profiles", "model"},
    "measure": set(),
    "search": {"profiles", "model"},
    "discover": {"profiles", "model", "compare", "measure"},
    "profiling": {"profiles", "model", "compare", "measure"},
    "cli": {"profiles", "model", "compare", "measure", "search", "discover", "profiling"},
    "__main__": {"cli"},
    # the package root re-exports the public names of these, lazily (module-level only under TYPE_CHECKING)
    "": {"profiles", "model", "measure", "search"},
}

#: (importing module, imported module) -> why the import sits inside a function.
LOCAL_IMPORTS: dict[tuple[str, str], str] = {
    ("model.closed_form", "model.symbolic"): "optional extra: symbolic needs sympy, only to_sympy/to_latex use it",
    ("cli.discover", "discover"): "optional extra: discover needs the sr extra; the parser is built without it",
    ("cli.fit", "cli.fit_expression"): "optional extra: fit --expression loads SymPy (sr extra); a template fit never does",
    ("cli.evaluate", "cli.evaluate_expression"): "optional extra: evaluate --expression loads SymPy (sr extra); an "
                                                  "evaluation without it never does",
    ("model", "model.expression"): "optional extra: expression models compile SymPy (symbolic), loaded on first use",
    ("model.closed_form", "model.expression"): "optional extra: from_expression / loading an expression model "
                                               "needs SymPy (symbolic); the template path never loads it",
}


def _layer(module: str) -> str:
    """``compare.runner`` -> ``compare``; a top-level module (``errors``) -> itself; the root -> ``""``."""
    return module.split(".")[0]


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported energylens module relative to the package, line, inside a function) for every import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if package else []
                mod = ".".join(p for p in [*base, node.module or ""] if p)
                names = ["energylens." + mod if mod else "energylens"]
            else:
                names = [node.module or ""]
            # ``from energylens import _core`` / ``from energylens.compare import runner``: submodules
            names = list(dict.fromkeys(f"{n}.{a.name}" if _is_module(f"{n}.{a.name}") else n
                                       for n in names for a in node.names))
        else:
            continue
        local = False
        p = node
        while p in parents:
            p = parents[p]
            if isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                local = True
                break
        for n in names:
            if n == "energylens" or n.startswith("energylens."):
                out.append((n.removeprefix("energylens").removeprefix("."), node.lineno, local))
    return out


def _is_module(dotted: str) -> bool:
    if not dotted.startswith("energylens"):
        return False
    rel = Path(*dotted.split(".")[1:]) if "." in dotted else Path()
    return (SRC / rel).with_suffix(".py").exists() or (SRC / rel / "__init__.py").exists() or (
        dotted == "energylens._core")


def _sources() -> list[Path]:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 20, f"found only {len(files)} modules under {SRC}"
    return files


def _violations() -> list[str]:
    bad = []
    for path in _sources():
        me = _module_name(path)
        mine = _layer(me)
        allowed = ALLOWED.get(mine, set()) if mine in ALLOWED else set()
        for target, line, local in _imports(path):
            where = f"{path.relative_to(SRC.parent)}:{line}: energylens.{me or '__init__'} imports " \
                    f"energylens.{target or '(root)'}"
            layer = _layer(target)
            if layer == "cli" and mine not in ("cli", "__main__"):
                bad.append(f"{where}: nothing outside energylens.cli may import it")
            elif mine in SHARED - {""} and layer not in SHARED:
                bad.append(f"{where}: a shared module imports only other shared modules")
            elif layer != mine and layer not in SHARED and layer not in allowed:
                bad.append(f"{where}: layer {mine or 'root'} may import only {sorted(allowed) or 'nothing'}")
            if local and layer not in SHARED and (me, target) not in LOCAL_IMPORTS:
                bad.append(f"{where} inside a function: import it at module level, or list it in "
                           "LOCAL_IMPORTS with the reason (an optional extra)")
    return bad


def test_no_layer_imports_a_higher_one():
    assert _violations() == []


def test_every_listed_local_import_still_exists():
    found = {(_module_name(p), t) for p in _sources() for t, _, local in _imports(p) if local}
    assert set(LOCAL_IMPORTS) <= found, set(LOCAL_IMPORTS) - found


def test_every_subpackage_has_a_rule():
    subpackages = {p.parent.name for p in SRC.glob("*/__init__.py")}
    assert subpackages <= set(ALLOWED), subpackages - set(ALLOWED)


@pytest.mark.parametrize(("code", "message"), [
    ("from energylens.compare.runner import run_evaluation\n", "layer model may import only ['profiles']"),
    ("from energylens.cli import main\n", "nothing outside energylens.cli may import it"),
    ("def f():\n    from energylens.profiles import load_profiles\n", "inside a function"),
    ("from ..measure import trace\n", "layer model may import only ['profiles']"),
])
def test_the_check_catches_a_planted_violation(tmp_path, monkeypatch, code, message):
    """The checker is not vacuous: a copy of the tree with one bad import fails with a located message."""
    import shutil

    tree = tmp_path / "energylens"
    shutil.copytree(SRC, tree, ignore=shutil.ignore_patterns("*.so", "__pycache__", "data"))
    (tree / "model" / "planted.py").write_text(code, encoding="utf-8")
    monkeypatch.setattr(__import__(__name__), "SRC", tree)
    bad = _violations()
    assert any("model/planted.py" in b and message in b for b in bad), bad
