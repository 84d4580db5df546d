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
