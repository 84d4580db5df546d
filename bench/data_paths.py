"""Where the benches read the shared measurements that are never bundled (ML.ENERGY v3 H100 rows, the
Splitwise latency table): ``$ENERGYLENS_SHARED_DATA`` (default ``/work/shared/data``, the development
machines' copy), laid out as that folder's README describes (``mlenergy-v3-h100/llm_configs_h100.csv``,
``splitwise-perf-model/perf_model.csv``). Point it at your own copy to rerun the v3 figures."""

import os
from pathlib import Path

SHARED_DATA = Path(os.environ.get("ENERGYLENS_SHARED_DATA", "/work/shared/data"))
V3 = SHARED_DATA / "mlenergy-v3-h100" / "llm_configs_h100.csv"
SPLITWISE = SHARED_DATA / "splitwise-perf-model" / "perf_model.csv"
