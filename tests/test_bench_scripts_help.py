"""Every bench script run as a program parses its command line, so ``python bench/X.py --help`` prints
its usage and exits: a script that ignored its arguments ran the whole benchmark on ``--help`` and
overwrote its committed result in bench/results/ (bench_validated_predict.py, confidence_ratio.py until
2026-12-06; found by the docs audit, which asks each bench script the docs name for its flags)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _scripts() -> list[Path]:
    """The bench files with an ``if __name__ == "__main__":`` block (the programs, not the helpers)."""
    out = []
    for path in sorted(BENCH.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.If) and "__main__" in ast.unparse(n.test) for n in tree.body):
            out.append(path)
    return out


@pytest.mark.parametrize("path", _scripts(), ids=lambda p: p.name)
def test_bench_program_parses_its_arguments(path):
    text = path.read_text(encoding="utf-8")
    shared = "v3_protocol_args(" in text  # bench/data_paths.py's parser of the v3 accuracy benches
    assert shared or ("ArgumentParser(" in text and ".parse_args(" in text), (
        f"{path.name} runs without reading its command line: `python bench/{path.name} --help` would run "
        "the benchmark (and overwrite its result); give it an argparse parser")


@pytest.mark.parametrize("name", ["worst_groups.py", "v3_ceiling.py"])
def test_help_of_a_v3_protocol_bench_prints_usage_and_runs_nothing(name):
    """The benches whose parser is data_paths.v3_protocol_args: --help exits before reading any data."""
    proc = subprocess.run([sys.executable, str(BENCH / name), "--help"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "usage:" in proc.stdout and "--json" in proc.stdout


def test_help_of_a_fixed_script_prints_usage_and_runs_nothing(tmp_path):
    result = BENCH / "results" / "validated_predict.json"
    before = result.read_bytes() if result.exists() else None
    proc = subprocess.run([sys.executable, str(BENCH / "bench_validated_predict.py"), "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "usage:" in proc.stdout
    assert (result.read_bytes() if result.exists() else None) == before
