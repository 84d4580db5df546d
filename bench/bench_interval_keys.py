"""The interval draws keyed by the row's feature values (2026-12-07) against the draws keyed by the row's position
(before), in the same run: ``_core.interval_bounds`` (the native pass of ``predict_interval``) and the public
``EnergyModel.predict_interval`` on 1e5 and 1e6 resampled bundled rows (200 bootstrap refits, one model file for
both sides), medians over rounds that alternate the two sides. The public call's
"after" side is this working tree, whatever else it holds (a change elsewhere in it, such as a faster validation,
moves that figure too: the native pass is the like-for-like comparison). The baseline is the package tree of an
earlier commit
with its extension built in place (``--old-tree``), run in a child process beside a child of this tree (two
pybind11 modules of one package do not load in one process), e.g.::

    git archive 43bcce69 | tar -x -C /tmp/el_old   # (the tree the figures in bench/README.md were measured against)
    cmake -S /tmp/el_old -B /tmp/el_old/build -DCMAKE_BUILD_TYPE=Release -DENERGYLENS_BUILD_PYTHON=ON
    cmake --build /tmp/el_old/build --target _core && cp /tmp/el_old/build/_core*.so /tmp/el_old/python/energylens/
    python bench/bench_interval_keys.py --old-tree /tmp/el_old/python
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

_CHILD = r"""
import json, os, sys, time, warnings
if os.environ.get("OLD_TREE"):  # the earlier commit's tree, not the editable install of this one
    sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, os.environ["OLD_TREE"])
import energylens
from energylens import _core
from energylens.model import load_model
from energylens.profiles.datasets import mlenergy_v2
warnings.simplefilter("ignore")
model = load_model(sys.argv[1])
m, repeats = int(sys.argv[2]), int(sys.argv[3])
rows = mlenergy_v2().sample(m, replace=True, random_state=1).reset_index(drop=True)
_, chunks = model._chunks(rows, m, None)
((_, _, cols),) = list(chunks)
f = [model.measurement_factors()]
kw = dict(seed=0, q_lo=0.05, q_hi=0.95)
if os.environ.get("OLD_TREE") and "start:" in (_core.interval_bounds.__doc__ or ""):  # a position-keyed build
    kw["start"] = 0
native, public = [], []
model.predict_interval(rows.head(1000), check_range=False)  # warm
for _ in range(repeats):
    t0 = time.perf_counter()
    _core.interval_bounds(model._template, cols, model._boot, f, [-1], **kw)
    native.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    model.predict_interval(rows, check_range=False)
    public.append(time.perf_counter() - t0)
print(json.dumps({"package": energylens.__file__, "native": native, "public": public}))
"""


def _child(model_path: str, rows: int, repeats: int, old_tree: str | None) -> dict:
    env = dict(__import__("os").environ)
    env.pop("OLD_TREE", None)
    if old_tree:
        env["OLD_TREE"] = old_tree
    out = subprocess.run([sys.executable, "-c", _CHILD, model_path, str(rows), str(repeats)], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def key_share(model_path: str, rows: int = 100000, repeats: int = 5) -> dict:
    """One thread, this tree: ``intervals.row_keys`` of the rows' columns against ``_core.interval_bounds`` of them,
    the medians and their ratio: an upper bound of what keying the draws by the rows' values adds to the native pass
    (which hashes the same values in its pass, while the block's columns are in cache)."""
    import time

    from energylens import _core, parallel
    from energylens.model import intervals, load_model
    from energylens.profiles.datasets import mlenergy_v2
    model = load_model(model_path)
    frame = mlenergy_v2().sample(rows, replace=True, random_state=1).reset_index(drop=True)
    _, chunks = model._chunks(frame, rows, None)
    ((_, _, cols),) = list(chunks)
    keys, bounds = [], []
    with parallel.threads(1):
        for _ in range(repeats):
            t0 = time.perf_counter()
            intervals.row_keys(cols)
            keys.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _core.interval_bounds(model._template, cols, model._boot, [model.measurement_factors()], [-1], seed=0,
                                  q_lo=0.05, q_hi=0.95)
            bounds.append(time.perf_counter() - t0)
    k, b = statistics.median(keys), statistics.median(bounds)
    print(f"one thread, {rows} rows, {len(cols)} features: row_keys {k * 1e3:.1f} ms, interval_bounds {b:.3f} s "
          f"({100 * k / b:.1f} %)", file=sys.stderr)
    return {"rows": rows, "features": len(cols), "row_keys_s": k, "interval_bounds_s": b}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old-tree", required=True, help="python/ of the earlier commit, its _core built inside")
    ap.add_argument("--rows", default="100000,1000000")
    ap.add_argument("--rounds", type=int, default=3, help="alternations of the two sides")
    ap.add_argument("--repeats", type=int, default=1, help="calls per side and round")
    args = ap.parse_args(argv)
    from energylens.model import EnergyModel
    from energylens.profiles.datasets import mlenergy_v2
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "model.json")
        EnergyModel(bootstrap=200, seed=0).fit(mlenergy_v2(), latency=False).save(path)
        out = {"replicates": 200, "rounds": args.rounds, "repeats": args.repeats, "key_share": key_share(path),
               "runs": []}
        for m in (int(r) for r in args.rows.split(",")):
            t = {"before": {"native": [], "public": []}, "after": {"native": [], "public": []}}
            for _ in range(args.rounds):
                for side, tree in (("before", args.old_tree), ("after", None)):
                    r = _child(path, m, args.repeats, tree)
                    assert (tree is not None) == r["package"].startswith(str(Path(args.old_tree).resolve())), r
                    t[side]["native"] += r["native"]
                    t[side]["public"] += r["public"]
            res = {"rows": m, **{f"{k}_{side}_s": statistics.median(t[side][k]) for side in t for k in t[side]},
                   **{f"{k}_{side}_min_s": min(t[side][k]) for side in t for k in t[side]}, "samples": t}
            out["runs"].append(res)
            print(f"{m} rows: interval_bounds {res['native_before_s']:.3f} s -> {res['native_after_s']:.3f} s (fastest "
                  f"{res['native_before_min_s']:.3f} -> {res['native_after_min_s']:.3f}); predict_interval "
                  f"{res['public_before_s']:.3f} s -> {res['public_after_s']:.3f} s (fastest {res['public_before_min_s']:.3f} "
                  f"-> {res['public_after_min_s']:.3f}; medians of {args.rounds * args.repeats}, before -> after)",
                  file=sys.stderr)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
