"""``energylens doctor``'s two driver rows read a bare "none": on this machine (no driver) without the reason
the other rows give, and also where they were not true: a build without the CUDA part never asks the CUDA
driver's version (doctor said "CUDA driver : none" beside an NVIDIA driver NVML reports), and an NVML that does
not load says nothing of a driver the CUDA runtime found ("NVIDIA driver : none" beside "CUDA driver : 13.0")."""

from __future__ import annotations

import dataclasses

import energylens
from energylens.cli import doctor
from energylens.cli.main import main


def _rows(monkeypatch, capsys, **fields) -> dict[str, str]:
    caps = dataclasses.replace(energylens.capabilities(), **fields)
    monkeypatch.setattr(doctor, "capabilities", lambda: caps)
    assert main(["doctor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition(" : ") for line in lines)}


def test_no_driver_rows_say_why(monkeypatch, capsys):
    rows = _rows(monkeypatch, capsys, cuda_built=True, cuda_devices=0, cuda_driver_version="", nvml_available=False,
                 nvml_reason="cannot load NVML (libnvidia-ml.so.1): ...", driver_version="", nvml_version="",
                 cuda_runtime_version="13.0", cuda_reason="cudaErrorInsufficientDriver: ...")
    assert rows["CUDA driver"].startswith("none  <- ") and "libcuda.so.1" in rows["CUDA driver"], rows["CUDA driver"]
    assert rows["NVIDIA driver"].startswith("none  <- ") and "see NVML" in rows["NVIDIA driver"], rows["NVIDIA driver"]


def test_a_build_without_cuda_does_not_say_there_is_no_cuda_driver(monkeypatch, capsys):
    rows = _rows(monkeypatch, capsys, cuda_built=False, cuda_devices=0, cuda_driver_version="", cuda_runtime_version="",
                 cuda_reason="energylens was built without the CUDA part", nvml_available=True, nvml_reason="",
                 driver_version="580.65.06", nvml_version="13.580.65.06")
    row = rows["CUDA driver"]
    assert not row.startswith("none") and row.startswith("unknown  <- ") and "CUDA built in" in row, row
    assert rows["NVIDIA driver"] == "580.65.06"


def test_a_driver_the_cuda_runtime_found_is_not_none_without_nvml(monkeypatch, capsys):
    rows = _rows(monkeypatch, capsys, cuda_built=True, cuda_devices=1, cuda_driver_version="13.0",
                 cuda_runtime_version="13.0", cuda_reason="", nvml_available=False,
                 nvml_reason="cannot load NVML (libnvidia-ml.so.1): ...", driver_version="", nvml_version="")
    assert rows["CUDA driver"] == "13.0"
    row = rows["NVIDIA driver"]
    assert row.startswith("unknown  <- ") and "see NVML" in row, row
