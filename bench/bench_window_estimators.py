"""Which figure should a window's ``energy_j`` be when both a power stream and the energy counter are recorded?

The error of each estimator of a window's energy, per window length:

- ``instant``: the integral of NVML's instant field (it averages ~25 ms of each ~100 ms update);
- ``buffer``: the integral of the driver's ~20 ms sample buffer (each reading the mean since the previous one);
- ``counter``: the energy counter's difference, linearly interpolated at the window's ends;
- ``hybrid_instant`` / ``hybrid_buffer``: the counter between its first and last reading inside the window plus
  the power stream's integral over the two edge pieces (the power stream alone where fewer than two counter
  readings lie inside);
- ``energy_j_instant``: ``energy_j`` of a window with the instant readings and the counter, as
  ``integrate_window`` chooses it (``energylens.measure.window_energy.choose_energy``).

1. Synthetic work with a known truth (``synthetic_trace``: ``bursty``, kernels of 2-50 ms at 520 / 330 / 190 W, gaps
   of 0-20 ms at 90 W idle; ``fine``, decode-like kernels of 0.1-2 ms, gaps of 0-1 ms; 5 W reading noise, 100 ms
   updates, instant = mean of the last 25 ms), the counter's rows stamped as energylens' sampler stamps them:
   mid-way between the read that saw a new value and the read before, reads every 3 ms (a tight poll loop, the H200 trace's) and 100 ms (the
   sampler's default ``energy_interval_s``) and 1.2 s (its reader backed off to its CPU budget, no window open),
   plus stamps at the update itself (``exact``).
2. The real H200 polls (``$ENERGYLENS_SHARED_DATA/h200-nvml-trace/nvml_trace.csv``, 4.3 s across idle -> load ->
   idle, polled every ~4 ms). No truth there but the counter itself: over a span between two of its change stamps
   (each within ~2 ms of the change) the counter's move is the energy. ``instant`` is scored on such spans; the
   counter at ends between its readings is scored leaving out the readings at both ends (each end then interpolated
   across two updates: an upper bound on its error at one).

Prints the median and 90th percentile of ``|estimate - truth| / truth`` per estimator and length, and writes them
with ``--json``::

    python bench/bench_window_estimators.py [--seeds 3] [--windows 150] [--json bench/results/window_estimators.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_paths import SHARED_DATA  # noqa: E402
from energylens.measure import synthetic_trace  # noqa: E402
from energylens.measure.integrate import integrate_window  # noqa: E402

LENGTHS_S = (0.01, 0.05, 0.1, 0.3, 1.0, 3.0, 10.0)
POWERS = {"gemm": 520.0, "attention": 330.0, "memcpy": 190.0}
IDLE_W = 90.0
PERIOD_S = 0.1


def _stamped_counter(t_upd: np.ndarray, e_upd: np.ndarray, poll_s: float | None, rng) -> tuple[np.ndarray, ...]:
    """The counter's rows as the sampler records them: one per new value, stamped mid-bracket of the reads (every
    ``poll_s`` +-10 %) that saw the old and the new value, no earlier than one update period before the latter
    (``poll_s`` None: at the update itself)."""
    if poll_s is None:
        return t_upd, e_upd
    steps = rng.uniform(0.9 * poll_s, 1.1 * poll_s, int((t_upd[-1] - t_upd[0]) * 1e-9 / (0.9 * poll_s)) + 4)
    polls = t_upd[0] - int(rng.uniform(0, poll_s) * 1e9) + np.cumsum((steps * 1e9).astype(np.int64))
    seen = np.searchsorted(t_upd, polls, side="right") - 1
    polls, seen = polls[seen >= 0], seen[seen >= 0]
    new = np.flatnonzero(np.diff(seen) > 0) + 1  # reads that saw a new value
    lo = np.maximum(polls[new - 1], polls[new] - int(PERIOD_S * 1e9))
    return (lo + polls[new]) // 2, e_upd[seen[new]]


def _samples(t, p, e, src) -> dict[str, np.ndarray]:
    order = np.argsort(t, kind="stable")
    return {"t_ns": t[order], "gpu": np.zeros(t.size, np.int32), "power_w": p[order], "energy_j": e[order],
            "source": src[order]}


def _join(power: tuple, counter: tuple) -> dict[str, np.ndarray]:
    tp, pp, sp = power
    tc, ec = counter
    return _samples(np.concatenate([tp, tc]), np.concatenate([pp, np.full(tc.size, np.nan)]),
                    np.concatenate([np.full(tp.size, np.nan), ec]),
                    np.concatenate([np.full(tp.size, sp, dtype=object), np.full(tc.size, "nvml_energy", dtype=object)]))


def _window(samples, a: int, b: int, periods) -> tuple[float, float, float]:
    """The power stream's figure, the counter's and ``energy_j`` (the one the window takes)."""
    w = integrate_window(samples, 1, a, b, periods, margin_ns=3_000_000_000, hold_s={})
    return w.power_energy_j_per_gpu[0], w.counter_energy_j_per_gpu[0], w.energy_j_per_gpu[0]


def _hybrid(samples, counter: tuple, a: int, b: int, periods, power_j: float) -> float:
    """The counter between its first and last stamp inside [a, b], the power stream over the edge pieces."""
    tc, ec = counter
    inside = np.flatnonzero((tc >= a) & (tc <= b))
    if inside.size < 2:
        return power_j
    i, j = int(inside[0]), int(inside[-1])
    left = _window(samples, a, int(tc[i]), periods)[0] if tc[i] > a else 0.0
    right = _window(samples, int(tc[j]), b, periods)[0] if b > tc[j] else 0.0
    return left + float(ec[j] - ec[i]) + right


def _errors(rows: dict[str, list[float]], truth: list[float]) -> dict[str, dict[str, float]]:
    t = np.asarray(truth)
    out = {}
    for name, est in rows.items():
        rel = np.abs(np.asarray(est) - t) / t
        rel = rel[np.isfinite(rel)]
        out[name] = {"median_pct": float(np.median(rel) * 100), "p90_pct": float(np.quantile(rel, 0.9) * 100),
                     "n": int(rel.size)} if rel.size else {"n": 0}
    return out


#: The synthetic workloads: kernel durations and gaps (s). ``bursty``: the kernels of docs/measuring.md section 5,
#: which the instant field's 25 ms sees only part of; ``fine``: decode-like, sub-2 ms kernels, whose power the 25 ms
#: average smooths.
WORKLOADS = {"bursty": ((0.002, 0.050), (0.0, 0.020)), "fine": ((0.0001, 0.002), (0.0, 0.001))}


def synthetic(seeds: int, windows: int, duration_s: float, workload: str) -> dict:
    """Errors per counter stamping, window length and estimator on one synthetic ``workload``."""
    kernel_s, gap_s = WORKLOADS[workload]
    result: dict = {}
    for poll in (None, 0.003, 0.1, 1.2):
        label = "exact" if poll is None else f"{poll * 1e3:g}ms"
        per_len: dict = {}
        for length in LENGTHS_S:
            rows: dict[str, list[float]] = {k: [] for k in ("instant", "buffer", "counter", "hybrid_instant",
                                                            "hybrid_buffer", "energy_j_instant")}
            truth: list[float] = []
            for seed in range(seeds):
                trace, _ = synthetic_trace(class_power_w=POWERS, idle_power_w=IDLE_W, duration_s=duration_s,
                                           kernel_duration_s=kernel_s, gap_s=gap_s, noise_w=5.0, seed=seed)
                s = trace.samples
                k = trace.kernels
                dp = np.array([POWERS[c] for c in k["kind"]]) - IDLE_W
                ks, ke = k["start_ns"].to_numpy(), k["end_ns"].to_numpy()
                rng = np.random.default_rng(1000 + seed)
                cnt = s[s["source"] == "nvml_energy"]
                counter = _stamped_counter(cnt["t_ns"].to_numpy(), cnt["energy_j"].to_numpy(), poll, rng)
                streams = {}
                for name, src in (("instant", "nvml_instant"), ("buffer", "nvml_samples")):
                    r = s[s["source"] == src]
                    streams[name] = _join((r["t_ns"].to_numpy(), r["power_w"].to_numpy(), src), counter)
                periods = trace.meta["update_period_s"]
                t_lo = int(s["t_ns"].min()) + int(0.5e9)
                for _ in range(windows):
                    a = t_lo + int(rng.uniform(0, duration_s - 1.0 - length) * 1e9)
                    b = a + int(length * 1e9)
                    overlap = np.clip(np.minimum(ke, b) - np.maximum(ks, a), 0, None)
                    truth.append(IDLE_W * (b - a) * 1e-9 + float(np.sum(overlap * dp)) * 1e-9)
                    for name, samples in streams.items():
                        p, c, chosen = _window(samples, a, b, periods)
                        rows[name].append(p)
                        rows[f"hybrid_{name}"].append(_hybrid(samples, counter, a, b, periods, p))
                        if name == "instant":
                            rows["counter"].append(c)
                            rows["energy_j_instant"].append(chosen)
            per_len[f"{length:g}"] = _errors(rows, truth)
        result[label] = per_len
    return result


def h200(path: Path) -> dict:
    """Errors of the instant readings (spans between counter change stamps) and of the counter left out at both
    ends, per span length, on the real H200 polls."""
    body = np.loadtxt(path, delimiter=",", skiprows=1)
    t = np.round(body[:, 0] * 1e9).astype(np.int64) + 10_000_000_000
    inst, e = body[:, 3] / 1000, body[:, 2] / 1000
    ch = np.flatnonzero(np.diff(e) != 0) + 1  # polls that saw a new counter value
    stamp = (np.maximum(t[ch - 1], t[ch] - int(PERIOD_S * 1e9)) + t[ch]) // 2
    value = e[ch]
    src = np.full(t.size, "nvml_instant", dtype=object)
    full = _samples(np.concatenate([t, t]), np.concatenate([inst, np.full(t.size, np.nan)]),
                    np.concatenate([np.full(t.size, np.nan), e]), np.concatenate([src, np.full(t.size, "nvml_energy",
                                                                                              dtype=object)]))
    periods = {"nvml_instant": PERIOD_S, "nvml_energy": PERIOD_S}
    out: dict = {}
    for length in (0.1, 0.3, 1.0, 3.0):
        rows: dict[str, list[float]] = {"instant": [], "counter_left_out": [], "energy_j_left_out": []}
        if length < 1.0:  # (left out at both ends, a 0.3 s window's counter interpolates across most of it)
            del rows["counter_left_out"], rows["energy_j_left_out"]
        truth: list[float] = []
        for i in range(1, stamp.size - 1):
            j = int(np.argmin(np.abs(stamp - stamp[i] - length * 1e9)))
            if j >= stamp.size - 1 or abs(stamp[j] - stamp[i] - length * 1e9) > 0.2 * length * 1e9 or j <= i:
                continue
            a, b = int(stamp[i]), int(stamp[j])
            truth.append(float(value[j] - value[i]))
            rows["instant"].append(_window(full, a, b, periods)[0])
            if "counter_left_out" in rows:
                drop = np.isin(full["energy_j"], [value[i], value[j]])  # the polls that saw the values at both ends
                _, c, chosen = _window({k: v[~drop] for k, v in full.items()}, a, b, periods)
                rows["counter_left_out"].append(c)
                rows["energy_j_left_out"].append(chosen)
        out[f"{length:g}"] = _errors(rows, truth)
    return out


def _print(title: str, table: dict) -> None:
    print(title)
    names = list(dict.fromkeys(n for by in table.values() for n in by))
    print(f"{'length s':>9} " + " ".join(f"{n:>22}" for n in names))
    for length, by in table.items():
        cells = [f"{by[n]['median_pct']:8.2f} / {by[n]['p90_pct']:6.2f} %" if by.get(n, {}).get("n") else "-"
                 for n in names]
        print(f"{length:>9} " + " ".join(f"{c:>22}" for c in cells))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--windows", type=int, default=150, help="windows per seed and length")
    ap.add_argument("--duration", type=float, default=40.0, help="seconds of each synthetic trace")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # (the disagreement and short-window warnings: scored here, not read)
    out = {"machine": platform.node(), "python": platform.python_version(),
           "median / p90 of": "|estimate - truth| / truth, %",
           "synthetic": {w: synthetic(args.seeds, args.windows, args.duration, w) for w in WORKLOADS}}
    for workload, by in out["synthetic"].items():
        for label, table in by.items():
            _print(f"synthetic {workload} work, counter stamped {label} (median / p90 relative error)", table)
    path = SHARED_DATA / "h200-nvml-trace" / "nvml_trace.csv"
    if path.is_file():
        out["h200"] = h200(path)
        _print("H200 polls (truth: the counter between its change stamps)", out["h200"])
    else:
        print(f"{path} not found: the H200 part is skipped", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
