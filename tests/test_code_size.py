"""Readable sizes, checked on the source: no function of python/energylens over 80 lines and no module over
500 lines, unless the module's docstring says why (a sentence containing "over 500 lines because")."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "python" / "energylens"
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 500


def _modules() -> list[Path]:
    found = sorted(p for p in SRC.rglob("*.py"))
    # a wrong SRC finds nothing and both checks pass: the package has well over 100 modules
    assert len(found) > 100 and SRC / "model" / "__init__.py" in found, f"found {len(found)} modules under {SRC}"
    return found


def test_functions_are_short():
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, "functions over 80 lines:\n" + "\n".join(long)


def test_modules_are_short_or_say_why():
    long = []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        n = len(text.splitlines())
        doc = ast.get_docstring(ast.parse(text)) or ""
        if n > MAX_MODULE_LINES and "over 500 lines because" not in doc:
            long.append(f"{path.relative_to(SRC)} ({n} lines)")
    assert not long, "modules over 500 lines without a reason in their docstring:\n" + "\n".join(long)


def test_the_check_can_fail(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES + 1))
    tree = ast.parse(f"def f():\n{body}\n")
    fn = tree.body[0]
    assert fn.end_lineno - fn.lineno + 1 > MAX_FUNCTION_LINES
