"""What ``energylens discover`` says when a backend is missing. With neither backend installed, ``auto`` said
"backend 'auto': PySR is not installed (pip install pysr, and a Julia runtime (...)); or the default backend: ..."
(the default backend, operon, came last, as an afterthought to PySR), and a missing PySR's install read "and a
Julia runtime" in nested brackets without saying that Julia must be installed apart from pip, nor that energylens
will not let PySR download it. Each message now leads with what to install and says Julia is needed."""
from __future__ import annotations

import pytest

from energylens.cli import main
from energylens.discover import select as sel


def _installed(monkeypatch, *modules: str) -> None:
    monkeypatch.setattr(sel, "_has", lambda module: module in modules)
    monkeypatch.setattr(sel, "julia_executable", lambda: None)


def test_auto_with_no_backend_leads_with_the_default_install(monkeypatch):
    _installed(monkeypatch)
    with pytest.raises(sel.BackendUnavailable) as err:
        sel.select_backend("auto")
    text = str(err.value)
    assert text.startswith("no symbolic-regression backend is installed: the default, operon: pip install "
                           "'energylens[sr]'"), text
    assert text.index("operon") < text.index("PySR") and "Julia" in text, text


@pytest.mark.parametrize("others", [(), ("pyoperon",)])
def test_a_missing_pysr_says_julia_is_needed_apart_from_pip(monkeypatch, capsys, others):
    _installed(monkeypatch, *others)
    assert main(["discover", "bundled", "--backend", "pysr", "-o", "/dev/null"]) == 2
    err = capsys.readouterr().err
    assert "PySR is not installed: pip install pysr; PySR also needs Julia, installed apart from pip" in err, err
    assert "does not let PySR download" in err and "Traceback" not in err, err
    assert ("leave out --backend pysr" in err) == bool(others), err
