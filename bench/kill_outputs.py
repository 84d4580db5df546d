"""Kill commands at random points and check what they leave (issue 13): every output is either complete
and valid, or absent. A temporary ``.NAME.*.partial`` left by SIGKILL (which no process can clean up) is
counted separately: it is never at the output's path and its name marks it incomplete.

    python bench/kill_outputs.py                 # 20 SIGKILL/SIGTERM trials each of fit, predict, evaluate, monitor
    python bench/kill_outputs.py --trials 3 --commands fit,monitor

Each trial starts the command in its own process group, waits a random time drawn over its measured run
time (so kills land before, during and after the write), sends SIGKILL, SIGTERM or SIGINT (in turn) to the
whole group, as Ctrl-C does, and checks the output:
fit -o (load_model), predict -o (a CSV with every row and the prediction columns), evaluate --report
(report.md and every file it links), monitor -o (Trace.load with samples). A command stopped by SIGTERM / SIGINT
must exit 143 / 130 (or 0 when it had finished) with no traceback on stderr. Writes bench/results/kill_outputs.json; tests/cli/test_kill_outputs.py runs a few
trials in the default suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

COMMANDS = ("fit", "predict", "evaluate", "monitor")


@dataclass
class Trial:
    command: str
    signal: str
    delay_s: float
    returncode: int | None
    output: str  # "absent", "valid" or "INVALID: why"
    partial_leftovers: int
    traceback: bool


def _bundled_csv(folder: Path, rows: int) -> Path:
    from energylens.profiles.datasets import load_profiles_or_bundled

    base = load_profiles_or_bundled("bundled")
    frame = pd.concat([base] * max(1, -(-rows // len(base))), ignore_index=True).iloc[:rows]
    path = folder / f"profiles_{rows}.csv"
    frame.to_csv(path, index=False)
    return path


def setup(folder: Path) -> dict[str, Path]:
    """Inputs shared by every trial: a profile CSV, a larger configuration CSV and a fitted model."""
    folder.mkdir(parents=True, exist_ok=True)
    data = _bundled_csv(folder, 356)
    configs = _bundled_csv(folder, 20_000)
    model = folder / "model.json"
    subprocess.run(_cli("fit", str(data), "-o", str(model), "--bootstrap", "40"), check=True, capture_output=True)
    return {"data": data, "configs": configs, "model": model}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from energylens.cli.main import main; sys.exit(main())", *args]


def command_line(command: str, inputs: dict[str, Path], out: Path) -> list[str]:
    if command == "fit":
        return _cli("fit", str(inputs["data"]), "-o", str(out), "--bootstrap", "100")
    if command == "predict":
        return _cli("predict", str(inputs["model"]), str(inputs["configs"]), "-o", str(out))
    if command == "evaluate":
        return _cli("evaluate", str(inputs["data"]), "--report", str(out), "--repeats", "1", "--methods",
                    "energylens,latency_proxy", "--no-progress")
    # --force: the trials reuse one output path, so each kill meets the previous trial's trace (kept unless forced)
    return _cli("monitor", "--source", "synthetic", "--duration", "1.5", "--interval", "0.1", "-o", str(out), "--force")


def check_output(command: str, out: Path, inputs: dict[str, Path]) -> str:
    """"absent", "valid", or "INVALID: why" for what a (possibly killed) command left at ``out``."""
    if not out.exists():
        return "absent"
    try:
        if command == "fit":
            from energylens.model import load_model

            load_model(out).predict(inputs["data"], check_range=False)
        elif command == "predict":
            got = pd.read_csv(out)
            n = sum(1 for _ in open(inputs["configs"])) - 1
            if len(got) != n or "energy_j_pred" not in got or "extrapolated" not in got:
                return f"INVALID: {len(got)} rows of {n}, columns {list(got.columns)[-6:]}"
        elif command == "evaluate":
            report = out / "report.md"
            if not report.is_file():
                return f"INVALID: no report.md in {sorted(p.name for p in out.iterdir())}"
            for link in re.findall(r"\]\(([^)#]+)\)", report.read_text()):
                if not link.startswith("http") and not (out / link).exists():
                    return f"INVALID: report.md links {link}, which is missing"
        else:
            from energylens.measure.trace import Trace

            if len(Trace.load(out).samples) == 0:
                return "INVALID: trace without samples"
    except Exception as exc:  # noqa: BLE001 - anything that fails to read back is an invalid output
        return f"INVALID: {type(exc).__name__}: {exc}"
    return "valid"


def run_time(command: str, inputs: dict[str, Path], folder: Path) -> float:
    out = folder / f"timing_{command}{'' if command == 'evaluate' else '.out'}"
    t0 = time.perf_counter()
    subprocess.run(command_line(command, inputs, out), check=True, capture_output=True)
    return time.perf_counter() - t0


def trial(command: str, sig: signal.Signals, delay_s: float, inputs: dict[str, Path], folder: Path) -> Trial:
    out = folder / (f"{command}_out" + {"fit": ".json", "predict": ".csv", "evaluate": "", "monitor": ".parquet"}
                    [command])
    before = set(folder.iterdir())
    # A session of its own, SIGINT at its default (a background job inherits it ignored): the signal goes to
    # the whole process group, as Ctrl-C in a terminal sends it, worker processes and threads included.
    proc = subprocess.Popen(command_line(command, inputs, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(delay_s)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=300)
    leftovers = [p for p in set(folder.iterdir()) - before if p != out]
    result = Trial(command, sig.name, round(delay_s, 3), proc.returncode, check_output(command, out, inputs),
                   len([p for p in leftovers if ".partial" in p.name]), "Traceback" in err)
    for p in leftovers:  # clean up for the next trial (a SIGKILL'd writer's temporary, only)
        if p.is_dir():
            __import__("shutil").rmtree(p)
        else:
            p.unlink()
    if out.is_dir():
        __import__("shutil").rmtree(out)
    elif out.exists():
        out.unlink()
    return result


def run(commands: list[str], trials: int, folder: Path, seed: int = 0) -> list[Trial]:
    rng = random.Random(seed)
    inputs = setup(folder)
    results = []
    for command in commands:
        span = run_time(command, inputs, folder) * 1.1
        for k in range(trials):
            sig = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT)[k % 3]
            results.append(trial(command, sig, rng.uniform(0.0, span), inputs, folder))
    return results


def problems(results: list[Trial]) -> list[Trial]:
    """Trials that left an invalid output, or a SIGTERM that did not end with 143 / ended with a traceback."""
    bad = []
    for t in results:
        # -15 / -2: the signal came while Python itself was starting or shutting down, outside main() and its
        # handler (the default action, which a shell reports as 143 / 130); the output check still applies.
        expected = {"SIGTERM": 143, "SIGINT": 130}.get(t.signal)
        term_ok = expected is None or t.returncode in (0, expected, -signal.Signals[t.signal].value)
        if t.output.startswith("INVALID") or t.traceback or not term_ok:
            bad.append(t)
    return bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--commands", default=",".join(COMMANDS))
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--folder", default="/tmp/energylens_kill")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "kill_outputs.json"))
    args = ap.parse_args()
    results = run(args.commands.split(","), args.trials, Path(args.folder))
    summary = {}
    for command in args.commands.split(","):
        mine = [t for t in results if t.command == command]
        summary[command] = {k: sum(1 for t in mine if t.output.split(":")[0] == k) for k in ("absent", "valid", "INVALID")}
        summary[command].update(trials=len(mine), partial_leftovers=sum(t.partial_leftovers for t in mine),
                                exit_143=sum(1 for t in mine if t.returncode == 143),
                                exit_130=sum(1 for t in mine if t.returncode == 130),
                                killed=sum(1 for t in mine if t.returncode == -9))
    bad = problems(results)
    doc = {"summary": summary, "problems": [asdict(t) for t in bad], "trials": [asdict(t) for t in results]}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=1))
    print(json.dumps({"summary": summary, "problems": doc["problems"]}, indent=1))
    return 1 if bad else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    raise SystemExit(main())
