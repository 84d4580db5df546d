"""KernelTracer's CUPTI path (activity buffers, record decoding at cupti_layout.hpp's offsets, the GPU clock
mapped onto the steady clock, kinds it does not read skipped, dropped records counted) against a stand-in
libcupti (tests/measure/data/fake_cupti.c) whose records are laid out by the CUDA toolkit's own cupti.h,
loaded through ENERGYLENS_CUPTI_LIBRARY in a subprocess. Needs a C compiler and the toolkit's headers."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
_CUDA_ROOTS = [os.environ.get("CUDA_HOME", ""), "/usr/local/cuda", *sorted(map(str, Path("/usr/local").glob("cuda-*")))]
#: (toolkit root, folder holding cupti.h): include/ on CUDA 13, extras/CUPTI/include on older layouts.
CUDA_ROOT, CUPTI_INCLUDE = next(((Path(r), Path(r) / sub) for r in _CUDA_ROOTS if r
                                 for sub in ("include", "extras/CUPTI/include") if (Path(r) / sub / "cupti.h").is_file()),
                                (None, None))

pytestmark = pytest.mark.skipif(CC is None or CUPTI_INCLUDE is None,
                                reason="needs a C compiler and the CUDA toolkit's cupti.h to build the stand-in CUPTI")


@pytest.fixture(scope="module")
def fake_cupti(tmp_path_factory):
    out = tmp_path_factory.mktemp("fake_cupti") / "libfake_cupti.so"
    subprocess.run([CC, "-shared", "-fPIC", "-O2", f"-I{CUPTI_INCLUDE}", f"-I{CUDA_ROOT / 'include'}", "-o", str(out),
                    str(DATA / "fake_cupti.c")], check=True)
    return out


SCRIPT = r"""
import json, sys, time
from energylens.measure.kernels import KernelTracer
memcpy = sys.argv[1] == "1"
t0 = time.monotonic_ns()
kt = KernelTracer(memcpy=memcpy).start()
first = kt.flush()
t1 = time.monotonic_ns()
rest = kt.stop()
print(json.dumps({"t0": t0, "t1": t1, "first": first.to_dict("records"), "rest": len(rest),
                  "all": len(kt.kernels), "dropped": kt.dropped}))
"""


def run(fake, memcpy=True, **env_extra):
    env = dict(os.environ, ENERGYLENS_CUPTI_LIBRARY=str(fake), **env_extra)
    out = subprocess.run([sys.executable, "-c", SCRIPT, "1" if memcpy else "0"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_records_are_decoded_at_the_toolkits_offsets_and_mapped_onto_the_steady_clock(fake_cupti):
    r = run(fake_cupti)
    kinds = [(x["kind"], x["name"], x["gpu"]) for x in r["first"]]
    assert kinds == [("kernel", "fake_kernel", 1), ("memcpy", "memcpy_HtoD", 0), ("memset", "memset", 0)]
    kernel = r["first"][0]
    assert kernel["end_ns"] - kernel["start_ns"] == pytest.approx(200_000, abs=2_000)   # 200 us, clock mapped
    # stamped 1.2 ms before the flush on CLOCK_MONOTONIC, which is the steady clock: inside the bracket
    assert r["t0"] - 1_300_000 <= kernel["start_ns"] <= r["t1"]
    assert r["rest"] == 3 and r["all"] == 6 and r["dropped"] == 0   # stop() flushes once more


def test_memcpy_off_is_not_enabled_and_dropped_records_are_counted(fake_cupti):
    r = run(fake_cupti, memcpy=False, FAKE_CUPTI_DROPPED="5")
    assert [x["kind"] for x in r["first"]] == ["kernel", "memset"]
    assert r["dropped"] == 10   # 5 per delivered buffer: the flush and the stop


SECOND_TRACER = r"""
from energylens.errors import EnergyLensError
from energylens.measure.kernels import KernelTracer
first = KernelTracer().start()
try:
    KernelTracer().start()
except EnergyLensError as e:
    print("EnergyLensError:", e)
except Exception as e:
    print("other:", type(e).__name__, e)
first.stop()
KernelTracer().start().stop()  # free again once the first has stopped
print("restarted")
"""


def test_a_second_tracer_is_an_energylens_error_naming_the_fix(fake_cupti):
    # Was std::logic_error: a plain RuntimeError outside the EnergyLensError hierarchy.
    env = dict(os.environ, ENERGYLENS_CUPTI_LIBRARY=str(fake_cupti))
    out = subprocess.run([sys.executable, "-c", SECOND_TRACER], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("EnergyLensError: CUPTI activity recording is already enabled"), lines
    assert "stop the running KernelTracer" in lines[0]
    assert lines[-1] == "restarted"
