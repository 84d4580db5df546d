"""A sweep killed (SIGKILL) while its isolated worker was still starting (importing, before it watches its
parent) left the unit's energylens-worker-* folder in the temporary directory: the worker took the parent to
watch from os.getppid() once it ran, by then the process that adopted it, so it never saw the sweep die; it
measured the unit as an orphan and left config.json and row.json there (one such folder in this box's /tmp).
The sweep now names itself on the worker's command line, and a worker whose sweep is gone at its start ends
at once, removing the folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from energylens.profiling import parse_spec, worker


def _cfg():
    return parse_spec({"sweep": {"backend": "transformers", "gpu": "H100", "isolation": "process"},
                       "grid": {"models": ["org/m"], "max_num_seqs": [1], "input_len": [8],
                                "output_len": [4]}}).configs()[0]


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX process groups")
def test_a_worker_whose_sweep_died_before_it_started_removes_its_folder(tmp_path):
    folder = tmp_path / "energylens-worker-abc"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(_cfg().to_dict()))
    proc = subprocess.Popen([sys.executable, "-m", "energylens.profiling.worker", str(folder / "config.json"),
                             str(folder / "row.json"), "none", str(_dead_pid())],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and folder.exists() and proc.poll() is None:
            time.sleep(0.05)
        left = sorted(os.listdir(folder)) if folder.exists() else []
        assert not folder.exists(), f"the orphaned worker's folder was left behind, holding {left}"
        out = proc.communicate(timeout=30)[0].decode(errors="replace")
        assert "is gone" in out, out
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()


def test_the_sweep_names_itself_to_its_worker(monkeypatch):
    seen, real_popen = [], subprocess.Popen

    def fake_popen(cmd, **kw):
        seen.append(cmd)
        return real_popen([sys.executable, "-c", "pass"], **kw)

    monkeypatch.setattr(worker.subprocess, "Popen", fake_popen)
    worker.run_in_subprocess(_cfg(), "none")
    assert seen and seen[0][-1] == str(os.getpid())
