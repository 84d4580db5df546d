"""The public surface: every exported name resolves, and import stays light."""

import subprocess
import sys

import energylens


def test_every_public_name_resolves():
    for name in energylens.__all__:
        assert getattr(energylens, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        energylens.nope  # noqa: B018


def test_import_does_not_load_pandas_or_the_learners():
    heavy = ('pandas', 'sklearn', 'xgboost', 'matplotlib', 'sympy', 'tqdm', 'scipy')
    code = f"import sys, energylens; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_lazy_table_and_all_agree():
    assert set(energylens._LAZY) <= set(energylens.__all__)


def test_search_is_the_callable_package_whatever_was_imported_first():
    """``from energylens import search`` bound the function over the subpackage's name, after which every
    ``import energylens.search.api`` failed ("cannot import name 'api' from 'search'"), e.g. a test file run
    after another. Each order is its own process: the first access decides what the name holds."""
    orders = [
        "from energylens import search\nimport energylens.search.api as api\nimport energylens.search.space",
        "import energylens\nenergylens.search\nimport energylens.search.api as api",
        "import energylens.search.api as api\nfrom energylens import search",
    ]
    check = ("\nimport inspect, energylens\nassert energylens.search.api is api\n"
             "assert callable(energylens.search) and energylens.search.search is api.search\n"
             "assert inspect.signature(energylens.search) == inspect.signature(api.search)\n"
             "assert energylens.search.__call__.__doc__ == api.search.__doc__\n")
    for code in orders:
        out = subprocess.run([sys.executable, "-c", code + check], capture_output=True, text=True)
        assert out.returncode == 0, f"{code!r}:\n{out.stderr[-1500:]}"


def test_python_dash_m_runs_the_command_line():
    """``python -m energylens`` (what users type where the console script is not on PATH, e.g. a venv not
    activated) said "No module named energylens.__main__"; it runs the same command line as ``energylens``,
    with its exit statuses."""
    ok = subprocess.run([sys.executable, "-m", "energylens", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "usage: energylens" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "energylens", "no-such-command"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "no-such-command" in bad.stderr
