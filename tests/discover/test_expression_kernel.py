"""Kernels generated per expression (energylens.model.kernel_source / kernel_build): the same bits as the
interpreter on random and edge inputs, the disk cache (hit, corrupt file, concurrent builders), the
fallbacks (no compiler, ENERGYLENS_JIT=0, jit="off") with their reasons, threads, and the lazy build.
Tests that compile skip cleanly where no C++ compiler is found."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
import sympy as sp

from energylens import _core
from energylens.errors import EnergyLensError
from energylens.model import kernel_build
from energylens.model.compile import compile_expression
from energylens.model.kernel_source import kernel_source

needs_compiler = pytest.mark.skipif(kernel_build.find_compiler()[0] is None, reason="no C++ compiler found")

x, y, z = sp.symbols("x y z", real=True)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ENERGYLENS_CACHE_DIR", str(tmp_path / "kernels"))
    monkeypatch.delenv("ENERGYLENS_JIT", raising=False)
    monkeypatch.delenv("ENERGYLENS_JIT_MIN_ROWS", raising=False)


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


def _assert_same_bits(c, cols, params=None) -> None:
    assert c.backend == "kernel", c.backend_reason
    theta = c.start if params is None else params
    with np.errstate(all="ignore"):
        want = c.program.evaluate(cols, theta)
        got = c.evaluate(cols, params)
    # Bit for bit; a NaN is any NaN (which operand's payload and sign an x86 instruction propagates
    # depends on operand order, which the compiler may swap in a commutative operation).
    bad = np.flatnonzero((_bits(want) != _bits(got)) & ~(np.isnan(want) & np.isnan(got)))
    assert bad.size == 0, f"{bad.size} rows differ, first {bad[:5]}: {want[bad[:5]]} vs {got[bad[:5]]}"


def _edge_columns(n: int, rng, positive: bool) -> np.ndarray:
    v = rng.uniform(0.1, 5.0, n) if positive else rng.uniform(-5.0, 5.0, n)
    edges = [0.0, -0.0, 1e-300, 1e300, 5e-324, np.inf, np.nan, 1.0, 700.0, 710.0, -745.0]
    idx = rng.choice(n, size=min(n // 10, 200), replace=False)
    v[idx] = rng.choice([e for e in edges if not positive or not (e < 0)], size=idx.size)
    return v


RANDOM_EXPRESSIONS = [
    "1.5*exp(0.3*x) + 2.5*y**2/x + log(y) + 0.1*x*y*(x + y)",
    "sqrt(x**2 + 3.0*y**4) / (z**3 + 1.5) - 0.7*x*y*z",
    "tanh(0.5*x) * Abs(y) + Max(x, z) - Min(y, 2.0*z) + x**7 - y**(-3)",
    "exp(-(x - 1.2)**2 / (2.0*z**2)) * (x + 1)**2.5 + log(1 + x**2) * y",
    "(x*y + z)**3 / (1 + exp(x*z)) - 4.0/x/y + 2.0*x*x*y*y*z*z",
]


@needs_compiler
@pytest.mark.parametrize("text", RANDOM_EXPRESSIONS)
def test_kernel_bits_equal_interpreter_on_random_and_edge_inputs(text):
    c = compile_expression(sp.sympify(text, locals={"x": x, "y": y, "z": z}), ["x", "y", "z"])
    assert c.compile_kernel(), c.backend_reason
    rng = np.random.default_rng(RANDOM_EXPRESSIONS.index(text))
    k = len(c.feature_names)
    for n in (1, 7, 63, 64, 65, 1000, 5003):  # tails of the kernel's 64-row tiles and 1024-row blocks
        _assert_same_bits(c, [_edge_columns(n, rng, positive=False) for _ in range(k)])
    cols = [rng.uniform(-2.0, 2.0, 4096) for _ in range(k)]
    _assert_same_bits(c, cols, c.start * rng.uniform(0.5, 2.0, c.start.size))  # other constants: same kernel
    _assert_same_bits(c, [cols[0], np.float64(0.75), *cols[2:]])  # a broadcast column


@pytest.fixture(scope="module")
def template():
    from energylens.model import EnergyModel
    from energylens.model.symbolic import feature_symbols
    from energylens.profiles.datasets import load_profiles_or_bundled
    from energylens.profiles.features import FEATURE_NAMES, build_features

    df = load_profiles_or_bundled("bundled").reset_index(drop=True)
    m = EnergyModel(bootstrap=0).fit(df.iloc[:50], latency=False)
    pf, dec = m.to_sympy()
    expr = (pf + dec).xreplace({s: sp.Symbol(n, positive=True) for n, s in feature_symbols().items()})
    return expr, FEATURE_NAMES, build_features(df)


@needs_compiler
def test_template_kernel_bits_equal_interpreter(template):
    expr, names, feats = template
    c = compile_expression(expr, names)
    assert c.compile_kernel(), c.backend_reason
    rng = np.random.default_rng(3)
    idx = rng.integers(0, len(feats[names[0]]), 20000)
    cols = [np.ascontiguousarray(feats[n][idx]) for n in c.feature_names]
    _assert_same_bits(c, cols)
    for k in range(len(cols)):  # zero, huge, NaN in each column in turn (division by zero, overflow)
        bad = [col.copy() for col in cols]
        bad[k][::97] = 0.0
        bad[k][1::89] = 1e300
        bad[k][2::83] = np.nan
        _assert_same_bits(c, bad)


@needs_compiler
def test_one_and_two_threads_give_the_same_bits():
    c = compile_expression(sp.sympify(RANDOM_EXPRESSIONS[0], locals={"x": x, "y": y}), ["x", "y"])
    assert c.compile_kernel()
    rng = np.random.default_rng(1)
    cols = [rng.uniform(0.1, 3.0, 300_001) for _ in range(2)]
    try:
        _core.set_max_threads(1)
        one = c.evaluate(cols)
        _core.set_max_threads(2)
        two = c.evaluate(cols)
    finally:
        _core.set_max_threads(0)
    assert np.array_equal(_bits(one), _bits(two))


@needs_compiler
def test_second_use_is_a_cache_hit_not_a_compile(tmp_path):
    text = "2.0*x*y + exp(0.1*y)"
    c1 = compile_expression(text, ["x", "y"])
    before = (kernel_build.STATS.compiles, kernel_build.STATS.cache_hits)
    assert c1.compile_kernel() and "compiled" in c1.backend_reason
    files = list((tmp_path / "kernels").glob("energylens-kernel-*.so"))
    assert len(files) == 1
    mtime = files[0].stat().st_mtime_ns
    c2 = compile_expression(text, ["x", "y"])  # a new compilation of the same expression: same plan
    assert c2.compile_kernel() and "cached" in c2.backend_reason
    assert (kernel_build.STATS.compiles, kernel_build.STATS.cache_hits) == (before[0] + 1, before[1] + 1)
    assert files[0].stat().st_mtime_ns == mtime
    assert c2.jit.result.cache_hit and c2.jit.result.compile_s == 0.0


@needs_compiler
def test_corrupt_cache_file_is_rebuilt(tmp_path):
    # Built by another process (a library this process has loaded stays mapped under its name), then
    # replaced by garbage of the kind a failing disk or a foreign writer leaves.
    code = "from energylens.model.compile import compile_expression; assert compile_expression('x*y + 1.5', ['x', 'y']).compile_kernel()"
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ))
    (path,) = (tmp_path / "kernels").glob("energylens-kernel-*.so")
    path.unlink()
    path.write_bytes(b"\x7fELF not really a library")
    c = compile_expression("x*y + 1.5", ["x", "y"])
    assert c.compile_kernel(), c.backend_reason
    assert "compiled" in c.backend_reason and path.stat().st_size > 100
    _assert_same_bits(c, [np.arange(10.0), np.arange(10.0)])


@needs_compiler
def test_concurrent_processes_build_the_same_kernel(tmp_path):
    code = ("from energylens.model.compile import compile_expression; import numpy as np; "
            "c = compile_expression('x*exp(0.2*y) + y**3', ['x', 'y']); assert c.compile_kernel(), c.backend_reason; "
            "print(c.evaluate([np.ones(4), np.ones(4)])[0])")
    env = dict(os.environ, ENERGYLENS_CACHE_DIR=str(tmp_path / "shared"))
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len({o[0] for o in outs}) == 1
    assert len(list((tmp_path / "shared").glob("*.so"))) == 1
    assert not list((tmp_path / "shared").glob("build-*"))  # no temporary left behind


def test_no_compiler_falls_back_with_the_reason(monkeypatch):
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    c = compile_expression("x*y + exp(x)", ["x", "y"])
    with pytest.warns(RuntimeWarning, match="no generated expression kernel"):
        assert not c.compile_kernel()
    assert c.backend == "interpreter" and "/nonexistent/c++" in c.backend_reason
    cols = [np.linspace(0, 1, 100), np.linspace(1, 2, 100)]
    np.testing.assert_array_equal(c.evaluate(cols), c.program.evaluate(cols, c.start))
    monkeypatch.delenv("CXX")
    monkeypatch.setenv("PATH", "")
    assert kernel_build.find_compiler()[0] is None
    c = compile_expression("x*y + exp(x)", ["x", "y"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not c.compile_kernel()
    assert "no C++ compiler" in c.backend_reason


def test_compile_error_falls_back(monkeypatch, tmp_path):
    fake = tmp_path / "bad-cxx"
    fake.write_text("#!/bin/sh\necho fake 1.0\n[ \"$1\" = --version ] && exit 0\necho 'error: broken' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CXX", str(fake))
    c = compile_expression("x + 2.0*y", ["x", "y"])
    with pytest.warns(RuntimeWarning):
        assert not c.compile_kernel()
    assert "exited with 3" in c.backend_reason and "broken" in c.backend_reason
    assert c.evaluate([np.ones(3), np.ones(3)]).tolist() == [3.0, 3.0, 3.0]


def test_jit_off_by_environment_and_by_option(monkeypatch):
    monkeypatch.setenv("ENERGYLENS_JIT", "0")
    c = compile_expression("x*y", ["x", "y"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the user's choice: no warning
        assert not c.compile_kernel()
    assert c.backend == "interpreter" and "ENERGYLENS_JIT=0" in c.backend_reason
    monkeypatch.delenv("ENERGYLENS_JIT")
    c = compile_expression("x*y", ["x", "y"], jit="off")
    c.evaluate([np.ones(100_000), np.ones(100_000)])
    assert not c.compile_kernel()
    assert c.backend == "interpreter" and "jit='off'" in c.backend_reason
    with pytest.raises(ValueError, match="jit must be"):
        compile_expression("x*y", ["x", "y"], jit="sometimes")


@needs_compiler
def test_background_build_after_the_row_threshold_and_not_for_the_jacobian(monkeypatch):
    """No call waits for the compiler: once the values evaluated reach the threshold (summed over calls;
    Jacobians do not count) the kernel is built in a background thread and later calls run it."""
    monkeypatch.setenv("ENERGYLENS_JIT_MIN_ROWS", "500")
    c = compile_expression("1.5*x*y + 0.5*x", ["x", "y"])
    small = [np.linspace(1, 2, 300), np.linspace(2, 3, 300)]
    first = c.evaluate(small)
    for _ in range(3):
        c.evaluate(small, jacobian=True)
    assert c.backend == "interpreter" and "no kernel yet" in c.backend_reason and c.jit._thread is None
    assert c.evaluate(small).tobytes() == first.tobytes()  # 600 rows: the build starts, this call interprets
    assert c.jit._thread is not None
    assert c.wait_kernel(timeout=120) and c.backend == "kernel", c.backend_reason
    assert c.evaluate(small).tobytes() == first.tobytes()
    v, jac = c.evaluate(small, jacobian=True)  # the Jacobian (and refits) stay on the interpreter
    np.testing.assert_array_equal(v, first)
    assert jac.shape == (300, 2) and any(np.allclose(jac[:, j], small[0] * small[1]) for j in range(2))


@needs_compiler
def test_a_failed_background_build_is_reported_once_and_not_retried(monkeypatch, tmp_path):
    monkeypatch.setenv("ENERGYLENS_JIT_MIN_ROWS", "10")
    monkeypatch.setattr(kernel_build, "build_kernel", lambda program: 1 / 0)
    c = compile_expression("x*y + 2.5", ["x", "y"])
    cols = [np.ones(20), np.ones(20)]
    c.evaluate(cols)
    assert not c.wait_kernel(timeout=60)
    assert "ZeroDivisionError" in c.backend_reason
    thread = c.jit._thread
    assert c.evaluate(cols).tolist() == [3.5] * 20 and c.jit._thread is thread


def test_generated_source_follows_the_plan():
    c = compile_expression("2.0*x**3*y/(z**2) + exp(0.5*x)", ["x", "y", "z"])
    src = kernel_source(c.program)
    assert "energylens_kernel_rows" in src and "energylens_kernel_info" in src
    assert f"{c.program.plan_fingerprint}ULL" in src
    assert "(c0[i] * (c0[i] * c0[i]))" in src  # x^3 as the plan rounds it
    assert "exp_in_range" in src and "exp_value" in src  # fast path and the exact row-by-row redo


@needs_compiler
def test_kernel_for_another_plan_is_refused(tmp_path):
    a = compile_expression("x*y + 1.5", ["x", "y"])
    assert a.compile_kernel()
    b = compile_expression("x*y - 1.5*x", ["x", "y"])
    with pytest.raises(EnergyLensError, match="another plan"):
        _core.ExpressionKernel(str(a.jit.result.path), b.program)


def test_a_kernel_file_that_is_no_kernel_is_an_energylens_error(tmp_path):
    # Was a bare std::runtime_error (a plain RuntimeError): now energylens::Error, naming the path.
    program = compile_expression("x*y + 1.5", ["x", "y"]).program
    missing = tmp_path / "missing.so"
    with pytest.raises(EnergyLensError, match=re.escape(f"generated kernel {missing} does not load")):
        _core.ExpressionKernel(str(missing), program)
    with pytest.raises(EnergyLensError, match="lacks energylens_kernel_info"):
        _core.ExpressionKernel(_core.__file__, program)  # a shared library, but not a generated kernel


def test_doctor_lists_the_kernel_compiler(capsys, monkeypatch):
    from energylens.cli.main import main

    assert main(["doctor"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("expression kernels"))
    compiler = kernel_build.find_compiler()[0]
    assert ("yes, " in line and "cache" in line) if compiler else "no (interpreter only)" in line
    monkeypatch.setenv("ENERGYLENS_JIT", "0")
    assert main(["doctor"]) == 0
    assert "off  <- ENERGYLENS_JIT=0" in capsys.readouterr().out
