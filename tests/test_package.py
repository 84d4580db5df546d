"""The public surface: every exported name resolves, and import stays light."""

import subprocess
import sys

import pytest

import energylens


def test_every_public_name_resolves():
    for name in energylens.__all__:
        assert getattr(energylens, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
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


_SDIST_AND_METADATA = """
import sys
from scikit_build_core.build import build_sdist, prepare_metadata_for_build_wheel
names = build_sdist(sys.argv[1]), prepare_metadata_for_build_wheel(sys.argv[1])
print("NAMES", *names)
"""


def test_the_sdist_builds_and_both_carry_the_licences(tmp_path):
    """The sdist has what a build needs (CMake files, cpp/, cuda/, the bindings, the bundled data) and never the
    ML.ENERGY v3 rows; it and the wheel's metadata carry the licences. pyproject said license = {text = ...}
    and there was no licence file: the wheel held no LICENSE of energylens' own, its metadata no License-File,
    and the bundled v2 data's Apache-2.0 NOTICE rode along as package data only (Metadata-Version 2.1)."""
    import io
    import tarfile
    from pathlib import Path

    pytest.importorskip("scikit_build_core")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", _SDIST_AND_METADATA, str(tmp_path)], cwd=root,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    sdist_name, dist_info = next(ln for ln in out.stdout.splitlines() if ln.startswith("NAMES ")).split()[1:]
    licences = ["LICENSE", "python/energylens/data/mlenergy_v2_2024/LICENSE",
                "python/energylens/data/mlenergy_v2_2024/NOTICE"]
    with tarfile.open(tmp_path / sdist_name) as tar:
        prefix = sdist_name.removesuffix(".tar.gz") + "/"
        members = {m.name.removeprefix(prefix): m for m in tar.getmembers() if m.isfile()}
        pkg_info = tar.extractfile(members["PKG-INFO"]).read().decode()
        first_lines = {name: io.BytesIO(tar.extractfile(m).read(4096)).readline() for name, m in members.items()}
    needed = ["CMakeLists.txt", "cpp/CMakeLists.txt", "cuda/CMakeLists.txt", "pyproject.toml", "README.md",
              "python/energylens/data/mlenergy_v2_2024/llm_configs_flat.csv", "python/energylens/data/gpus.csv",
              "python/energylens/data/models.csv", *licences]
    assert [n for n in needed if n not in members] == []
    for folder, suffix in (("cpp/src/", ".cpp"), ("cpp/bindings/", ".cpp"), ("cpp/include/energylens/", ".hpp"),
                           ("cuda/", ".cu")):
        here = sorted(p.relative_to(root).as_posix() for p in (root / folder).glob("*" + suffix))
        assert here and [n for n in here if n not in members] == [], folder
    assert [n for n in members if n.split("/")[0] in ("build", ".git", "energylens-report")] == []
    v3 = [n for n, line in first_lines.items() if b"energy_per_request_joules" in line and b"model_id" in line]
    assert v3 == [], f"the ML.ENERGY v3 rows must never be bundled: {v3}"
    metadata = (tmp_path / dist_info / "METADATA").read_text(encoding="utf-8")
    for text in (pkg_info, metadata):
        assert "License-Expression: Apache-2.0" in text
        assert [f for f in licences if f"License-File: {f}" not in text] == []


_WHEEL = """
import sys
from scikit_build_core.build import build_wheel
print("NAME", build_wheel(sys.argv[1], {"build-dir": sys.argv[2]}))
"""


@pytest.mark.slow
def test_the_wheel_holds_the_data_licences_headers_and_a_self_contained_core(tmp_path):
    """A wheel built as pip builds it (1-4 minutes): the bundled data with its LICENSE and NOTICE, the licences in
    .dist-info/licenses, the headers generated kernels compile against, and a _core that needs neither the CUDA
    runtime (linked statically) nor NVML (dlopen'd) and names no path of the checkout or the build tree."""
    import shutil
    import zipfile
    from pathlib import Path

    pytest.importorskip("scikit_build_core")
    pytest.importorskip("pybind11")
    if shutil.which("readelf") is None:
        pytest.skip("readelf (binutils) not found")
    root = Path(__file__).resolve().parents[1]
    build = tmp_path / "build"
    out = subprocess.run([sys.executable, "-c", _WHEEL, str(tmp_path), str(build)], cwd=root,
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-3000:]
    wheel = tmp_path / next(ln for ln in out.stdout.splitlines() if ln.startswith("NAME ")).split()[1]
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        cores = [n for n in names if n.startswith("energylens/_core") and n.endswith(".so")]
        assert len(cores) == 1, names
        so = tmp_path / "core.so"
        so.write_bytes(zf.read(cores[0]))
    data = "python/energylens/data/mlenergy_v2_2024/"
    want = ["energylens/data/mlenergy_v2_2024/llm_configs_flat.csv", "energylens/data/mlenergy_v2_2024/LICENSE",
            "energylens/data/mlenergy_v2_2024/NOTICE", "energylens/data/gpus.csv", "energylens/data/models.csv",
            "energylens/include/energylens/kernel_math.hpp", "energylens/include/energylens/fast_exp.hpp",
            "energylens/include/energylens/fast_log.hpp", f"{dist_info}/licenses/LICENSE",
            f"{dist_info}/licenses/{data}LICENSE", f"{dist_info}/licenses/{data}NOTICE"]
    assert [n for n in want if n not in names] == []
    assert [n for n in names if "/tests/" in n or n.startswith(("tests/", "cpp/", "bench/"))] == []
    dynamic = subprocess.run(["readelf", "-d", str(so)], capture_output=True, text=True, check=True).stdout
    needed = [line.split("[")[1].rstrip("]") for line in dynamic.splitlines() if "(NEEDED)" in line]
    assert needed and [n for n in needed if n.startswith(("libcudart", "libnvidia-ml", "libcuda."))] == [], needed
    assert "RPATH" not in dynamic and "RUNPATH" not in dynamic, dynamic
    binary = so.read_bytes()
    assert str(root).encode() not in binary and str(build).encode() not in binary
