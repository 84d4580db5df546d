"""The last words of bench/gpu_session.sh: what passed, what failed, what was skipped and why, with the key
figures of each check, from the session's step table and the files its steps wrote (pytest's JUnit XML, the
checks' JSON).

    python bench/gpu_session_summary.py --steps STEPS.tsv [-o summary.txt]

STEPS.tsv has one row per step: name, status (ok / failed / timeout / skipped), seconds, limit, detail, and the
step's file (JUnit XML or a check's JSON; may be empty). Prints the summary and writes it to -o.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

WORDS = {"ok": "PASS", "failed": "FAIL", "timeout": "TIMED OUT", "skipped": "SKIPPED"}


def junit_lines(path: Path) -> tuple[str, list[str]]:
    """(counts, lines naming each failed test and each skip reason) of a pytest JUnit XML file."""
    root = ET.parse(path).getroot()
    cases = [c for c in root.iter("testcase") if c.get("name") is not None]  # (an interrupted one has none)
    failed, skipped, lines = 0, 0, []
    reasons: dict[str, int] = {}
    for case in cases:
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        if bad is not None:
            failed += 1
            message = (bad.get("message") or "").strip().splitlines()
            lines.append(f"failed: {name}: {message[0][:200] if message else ''}")
        skip = case.find("skipped")
        if skip is not None:
            skipped += 1
            why = (skip.get("message") or "").strip()
            if why == "collection skipped" and skip.text:  # a module's skip: its reason in the text
                why = _module_skip_reason(skip.text.strip())
            why = why[:200]
            reasons[why] = reasons.get(why, 0) + 1
    lines += [f"skipped x{n}: {why}" for why, n in reasons.items()]
    return f"{len(cases) - failed - skipped} passed, {failed} failed, {skipped} skipped", lines


def _module_skip_reason(text: str) -> str:
    """The reason in a module-level skip's JUnit text: ``('path', line, 'Skipped: reason')`` (pytest 8) or
    ``path:line: reason``."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = None
    if isinstance(value, tuple) and value and isinstance(value[-1], str):
        return value[-1].removeprefix("Skipped: ")
    return text.split(": ", 1)[-1]


def _num(x) -> str:
    return f"{x:.3g}" if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else str(x)


def _verdicts(d: dict) -> list[str]:
    out = []
    for key, v in (d.get("pass") or {}).items():
        if isinstance(v, dict):  # per source (gpu_check's attribution)
            out += [f"{'PASS' if ok else 'FAIL'} {key} [{src}]" for src, ok in v.items()]
        else:
            out.append(f"{'PASS' if v else 'FAIL'} {key}")
    return out


#: The key figures a check's JSON may hold (gpu_search_check, gpu_model_check, gpu_check, gpu_profiling_check).
FIGURES = ["device", "gpu_per_s_median", "target_per_s", "cpu_per_s_median", "gpu_vs_cpu", "gpu_candidates", "gpu_s",
           "gpu_small_first_s", "gpu_small_per_s", "gpu_no_fronts_per_s", "pattern_gpu_per_s", "min_blocks_2_vs_1",
           "gpu_min_blocks_2_per_s_median", "min_blocks_2_skipped", "max_relative_difference_vs_cpu",
           "float32_configs_per_s", "fraction_of_copy_bandwidth", "d2d_copy_bandwidth_bytes_per_s", "load", "op_s",
           "phase_timing", "update_period_s", "observed_period_s", "overhead", "steady_power_w", "cut_short", "cupti",
           "mark_latency", "max_abs_rel_sum_vs_total", "tolerance", "ok", "failed", "mismatches"]


def sampler_lines(d: dict) -> list[str]:
    """gpu_check's sources (which started, which failed and why), fallbacks, and its attribution per source with
    every figure (a dict too long for one FIGURES line: the per-class errors are what the 5 % target is about)."""
    lines = []
    for s in d.get("sources", []):
        state = "active" if s.get("active") else "failed" if s.get("failed") else "started" if s.get("started") \
            else "not started"
        lines.append(f"source {s.get('name')} ({s.get('role')}): {state}, {s.get('samples')} samples, update period "
                     f"{_num(s.get('update_period_s'))} s{'' if s.get('period_detected') else ' (assumed)'}"
                     + (f"; error: {str(s['error'])[:200]}" if s.get("error") else ""))
    for f in d.get("fallbacks", []):
        lines.append(f"fallback {f.get('from')} -> {f.get('to') or '(none left)'}: {str(f.get('reason'))[:200]}")
    for src, row in (d.get("attribution") or {}).items():
        figures = ", ".join(f"{k} {_num(v)}" for k, v in row.items()) if isinstance(row, dict) else str(row)
        lines.append(f"attribution {src}: {figures[:600]}")
    return lines


def json_lines(path: Path) -> list[str]:
    """A check's verdicts (its "pass"), why it skipped or broke, and its key figures."""
    d = json.loads(path.read_text())
    lines = []
    if "skipped" in d:
        lines.append(f"skipped: {d['skipped']}")
    if "error" in d:
        lines.append(f"error: {d['error']}")
    if "skipped" in d:
        return lines
    lines += _verdicts(d)
    if not {"pass", "passed", "skipped", "error"} & d.keys():
        lines.append(f"no verdict: cut short at stage {d.get('stage', '?')!r}")
    for w in d.get("windows", []):  # (the power stream's figure; a JSON from before 2026-12-07 has energy_j only)
        lines.append(f"window {w['window']}: {w.get('source', 'power')} {_num(w.get('power_energy_j', w['energy_j']))}"
                     f" J vs counter {_num(w['counter_energy_j'])} J (rel {_num(w['rel_diff'])})")
    if "driver_buffer_vs_counter" in d:
        lines.append(f"driver buffer vs counter: {json.dumps(d['driver_buffer_vs_counter'], default=str)[:400]}")
    lines += sampler_lines(d)
    for key in FIGURES:
        if key in d:
            v = d[key]
            text = json.dumps(v, default=str)[:300 if key != "mismatches" else 1500] if isinstance(v, (dict, list)) \
                else _num(v)
            lines.append(f"{key}: {text}")
    return lines


def step_lines(row: list[str]) -> list[str]:
    """The step's line (its word: PASS only where it ran, exited 0 and nothing inside it failed or skipped it
    whole) and, indented, what its file says."""
    name, status, seconds, limit, detail, artifact = (row + [""] * 6)[:6]
    word = WORDS.get(status, status.upper())
    head = f"{name}: {detail}" if status == "skipped" else f"{name} ({seconds} s of {limit})" + (f": {detail}" if detail else "")
    if name == "capabilities" and detail == "exit 3":
        head += " - the build sees no usable CUDA device (the capabilities printed above say why)"
    path = Path(artifact) if artifact else None
    more: list[str] = []
    if path is not None and not path.exists():
        if status != "skipped":
            more.append(f"(no {path.name} was written)")
    elif path is not None:
        try:
            if path.suffix == ".xml":
                counts, more = junit_lines(path)
                head += f" - {counts}"
                if counts.startswith("0 passed, 0 failed") and word == "PASS":
                    word = "SKIPPED"
            else:
                more = json_lines(path)
                if more and more[0].startswith("skipped:") and word == "PASS":
                    word = "SKIPPED"
        except Exception as exc:  # noqa: BLE001 - a broken file is reported, the summary goes on
            more = [f"unreadable {path.name}: {type(exc).__name__}: {exc}"]
    if word == "PASS" and any(x.startswith(("FAIL ", "failed:", "error:", "no verdict", "unreadable", "(no "))
                               for x in more):
        word = "FAIL"
    return [f"{word:<9} {head}"] + [f"    {x}" for x in more]


def summarise(rows: list[list[str]]) -> str:
    """The whole summary: a line per step (PASS / FAIL / TIMED OUT / SKIPPED), what each found, and the count."""
    out = ["", "================ GPU session summary ================"]
    words: dict[str, int] = {}
    for row in rows:
        lines = step_lines(row)
        word = lines[0].split()[0] if not lines[0].startswith("TIMED OUT") else "TIMED OUT"
        words[word] = words.get(word, 0) + 1
        out += lines
    out.append("steps: " + ", ".join(f"{words.get(w, 0)} {w.lower()}" for w in ("PASS", "FAIL", "TIMED OUT", "SKIPPED"))
               + " (PASS: ran, exit 0, every test and target inside it met)")
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", required=True, help="the session's step table (tab-separated)")
    ap.add_argument("-o", "--output", default=None, help="also write the summary here")
    args = ap.parse_args()
    rows = [line.split("\t") for line in Path(args.steps).read_text().splitlines() if line.strip()]
    text = summarise(rows)
    sys.stdout.write(text)
    if args.output:
        Path(args.output).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
