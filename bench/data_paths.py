"""Where the benches read the shared measurements that are never bundled (ML.ENERGY v3 H100 rows, the
Splitwise latency table): ``$ENERGYLENS_SHARED_DATA`` (default ``/work/shared/data``, the development
machines' copy), laid out as that folder's README describes (``mlenergy-v3-h100/llm_configs_h100.csv``,
``splitwise-perf-model/perf_model.csv``). Point it at your own copy to rerun the v3 figures."""

import os
from pathlib import Path

SHARED_DATA = Path(os.environ.get("ENERGYLENS_SHARED_DATA", "/work/shared/data"))
V3 = SHARED_DATA / "mlenergy-v3-h100" / "llm_configs_h100.csv"
SPLITWISE = SHARED_DATA / "splitwise-perf-model" / "perf_model.csv"


def read_v3_rows(absent: str):
    """The v3 H100 rows as ``read_profiles`` reads them, index 0..n-1; ``None`` after saying on stderr that the
    export is not at ``V3`` and what the caller therefore skips (``absent``, e.g. "nothing to diagnose")."""
    import sys

    if not V3.is_file():
        print(f"{V3} not found: {absent}", file=sys.stderr)
        return None
    from energylens.profiles import read_profiles

    return read_profiles(str(V3)).reset_index(drop=True)


def v3_protocol_args(doc: str, out: Path, argv=None, *, repeats: int | None = 20):
    """The command line the v3 accuracy benches share: ``--repeats`` (the random 50-row splits; left out when
    ``repeats`` is None) and ``--json`` (where the result goes, default ``out``). Warnings are silenced: the
    benches fit hundreds of models on purpose-made splits, and their figures, not the fits' notes, are the
    output."""
    import argparse
    import warnings

    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    if repeats is not None:
        ap.add_argument("--repeats", type=int, default=repeats)
    ap.add_argument("--json", type=Path, default=out)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    return args
