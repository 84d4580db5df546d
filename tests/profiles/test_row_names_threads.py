"""The read registry of energylens.profiles.row_names under threads: files read at once from several threads (a
service loading profiles per request) each keep their own table, the newest never evicted by another thread's
eviction, and the registry stays within its bounds."""

from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from energylens.profiles import row_names
from energylens.profiles.datasets import mlenergy_v2


def test_concurrent_reads_keep_each_frames_table(monkeypatch):
    base = mlenergy_v2().head(40).reset_index(drop=True)
    monkeypatch.setattr(row_names, "_MAX_TABLES", 3)

    def read(i: int) -> pd.DataFrame:
        frame = base.copy()
        frame.attrs = {"source": f"f{i}.csv"}
        row_names.remember(frame)
        return frame

    with ThreadPoolExecutor(8) as pool:
        frames = list(pool.map(read, range(400)))
    assert len(row_names._HASHES) <= 3
    assert len(row_names._SOURCES) == len(row_names._HASHES)
    newest = max(f.attrs[row_names.READ_ID] for f in frames)
    assert newest in row_names._HASHES
