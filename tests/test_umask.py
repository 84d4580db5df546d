"""Reading the umask never changes it: os.umask can only read it by setting it, and two threads doing that
at once (parallel saves of a scheduler) left the process's umask at 0, so later files were world-writable."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from energylens.outputs import atomic_file, current_umask
from energylens.profiling.store import atomic_write_bytes


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux reports the umask in /proc")
def test_the_umask_is_read_without_setting_it(monkeypatch):
    real = os.umask(0o027)
    try:
        def refuse(mask):
            raise AssertionError("os.umask called")

        monkeypatch.setattr(os, "umask", refuse)
        assert current_umask() == 0o027
    finally:
        monkeypatch.undo()
        os.umask(real)


def test_outputs_follow_the_umask_of_the_moment_and_threads_leave_it_alone(tmp_path):
    real = os.umask(0o077)  # set after import: the store read it once at import before 2026-12-05
    try:
        atomic_write_bytes(tmp_path / "part", b"x")
        with atomic_file(str(tmp_path / "out.csv")) as tmp:
            with open(tmp, "w") as f:
                f.write("a\n")
        assert (tmp_path / "part").stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o600
        switch = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # many thread switches inside the reads
        try:
            workers = [threading.Thread(target=lambda: [current_umask() for _ in range(2000)]) for _ in range(4)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        finally:
            sys.setswitchinterval(switch)
        assert current_umask() == 0o077
    finally:
        os.umask(real)
