"""The install advice of ``energylens doctor`` (and of a missing baseline) for xgboost, right for the machine.

The ``compare`` extra installs ``xgboost-cpu``, the CPU-only build. On a machine with an NVIDIA GPU the advice
read ``pip install "energylens[compare]"`` all the same, and a broken install of the CUDA build ``xgboost`` read
``pip install --force-reinstall xgboost-cpu``: a second distribution of the same module, written over the first.
Now a GPU machine is advised the CUDA build ``xgboost`` (with the extra's version bound), a broken install names
the distribution that is there (a broken ``xgboost-cpu`` on a GPU machine: uninstall it, install ``xgboost``), and
where the CUDA build is installed the extra is not advised for another missing package (it would install
``xgboost-cpu`` over it). A machine without a GPU keeps ``pip install "energylens[compare]"``."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.machinery

import pytest

import energylens
from energylens import extras
from energylens.cli import doctor
from energylens.cli.main import main
from energylens.errors import MissingExtraError

SO = importlib.machinery.EXTENSION_SUFFIXES[0]


def _dist(root, name: str, module: str, broken: bool) -> None:
    (root / module).mkdir()
    (root / module / "__init__.py").write_text("")
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"  # (the normalised name, as pip writes it)
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    listed = [f"{module}/__init__.py", *([f"{module}/lib/libfake{SO}"] if broken else [])]
    (info / "RECORD").write_text("".join(f"{p},,\n" for p in listed))


@pytest.fixture
def no_xgboost(monkeypatch):
    """The compare extra with its xgboost module missing (the other packages as installed)."""
    pairs = tuple(("no_such_xgboost_module" if d == "xgboost-cpu" else m, d) for m, d in extras.EXTRAS["compare"])
    monkeypatch.setitem(extras.EXTRAS, "compare", pairs)
    monkeypatch.setitem(extras.EXTRAS, "demo", pairs)


def test_a_gpu_machine_is_advised_the_cuda_build(no_xgboost):
    row = dict(doctor._extra_rows(gpu=True))["extra [compare]"]
    assert row.startswith('no  <- missing xgboost-cpu: pip install "xgboost'), row
    assert "this machine has an NVIDIA GPU: xgboost, the CUDA build, for xgboost-cpu" in row
    assert 'not "energylens[compare]", which installs the CPU-only build' in row


def test_a_machine_without_a_gpu_keeps_the_extra(no_xgboost):
    row = dict(doctor._extra_rows(gpu=False))["extra [compare]"]
    assert row == 'no  <- missing xgboost-cpu: pip install "energylens[compare]"', row


def test_the_baseline_error_follows_the_machine(no_xgboost, monkeypatch):
    monkeypatch.setattr(extras, "nvidia_gpu_present", lambda: True)
    with pytest.raises(MissingExtraError, match=r'pip install "xgboost(>=[0-9.]+)?" \(this machine has an NVIDIA GPU'):
        extras.require("no_such_xgboost_module", "compare", "the xgboost baseline")
    monkeypatch.setattr(extras, "nvidia_gpu_present", lambda: False)
    with pytest.raises(MissingExtraError, match=r'pip install "energylens\[compare\]"$'):
        extras.require("no_such_xgboost_module", "compare", "the xgboost baseline")


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A stand-in module 'fakexgb' whose CPU-only distribution is 'fakexgb-cpu' and GPU build 'fakexgb'."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(extras.GPU_BUILDS, "fakexgb-cpu", "fakexgb")
    monkeypatch.setitem(extras.EXTRAS, "ray", (("fakexgb", "fakexgb-cpu"),))
    monkeypatch.setitem(extras.EXTRAS, "profile", (("fakexgb", "fakexgb-cpu"), ("no_such_module", "nosuchdist")))

    def install(name: str, broken: bool) -> None:
        _dist(tmp_path, name, "fakexgb", broken)
        importlib.invalidate_caches()
    return install


@pytest.mark.parametrize("gpu", [False, True])
def test_a_broken_cuda_build_is_reinstalled_by_its_own_name(fake, gpu):
    fake("fakexgb", broken=True)
    rows = dict(doctor._extra_rows(gpu=gpu))
    assert rows["extra [ray]"].startswith("broken  <- fakexgb-cpu 1.0 (as fakexgb): "), rows["extra [ray]"]
    assert rows["extra [ray]"].endswith(": pip install --force-reinstall fakexgb"), rows["extra [ray]"]


def test_a_broken_cpu_build_on_a_gpu_machine_is_replaced(fake):
    fake("fakexgb-cpu", broken=True)
    assert dict(doctor._extra_rows(gpu=False))["extra [ray]"].endswith("pip install --force-reinstall fakexgb-cpu")
    row = dict(doctor._extra_rows(gpu=True))["extra [ray]"]
    assert row.endswith(': pip uninstall -y fakexgb-cpu && pip install "fakexgb" (this machine has an NVIDIA GPU: '
                        "fakexgb, the CUDA build of the same module)"), row


@pytest.mark.parametrize("gpu", [False, True])
def test_with_the_cuda_build_installed_the_extra_is_not_advised(fake, gpu):
    fake("fakexgb", broken=False)
    row = dict(doctor._extra_rows(gpu=gpu))["extra [profile]"]
    assert row == ('no  <- missing nosuchdist: pip install "nosuchdist" (fakexgb (the CUDA build of fakexgb-cpu\'s '
                   'module) is installed; not "energylens[profile]", which installs fakexgb-cpu over it)'), row


@pytest.mark.parametrize("fields, gpu", [({"cuda_devices": 1, "nvml_available": True}, True),
                                         ({"cuda_devices": 0, "nvml_available": True}, True),  # (utility-only)
                                         ({"cuda_devices": 0, "nvml_available": False}, False)])
def test_the_command_asks_the_native_probe_for_the_gpu(no_xgboost, monkeypatch, capsys, fields, gpu):
    caps = dataclasses.replace(energylens.capabilities(), **fields)
    monkeypatch.setattr(doctor, "capabilities", lambda: caps)
    assert main(["doctor"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("extra [compare]"))
    assert ('pip install "xgboost' in row) == gpu and ('pip install "energylens[compare]"' in row) != gpu, row
