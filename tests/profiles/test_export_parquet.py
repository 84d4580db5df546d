"""A Parquet copy of a leaderboard export is recognised by its columns and read like the CSV."""

import pandas as pd
import pytest

from data_paths import V3
from energylens.errors import ProfileSchemaError
from energylens.profiles.datasets import bundled_path, load_profiles_or_bundled


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)


def test_v2_export_as_parquet_reads_like_the_csv(tmp_path):
    path = tmp_path / "llm_configs_flat.parquet"
    pd.read_csv(bundled_path()).to_parquet(path)
    _same(load_profiles_or_bundled(str(path)), load_profiles_or_bundled(str(bundled_path())))


def test_v3_export_as_parquet_reads_like_the_csv(tmp_path):
    try:
        raw = pd.read_csv(V3).head(40)
    except FileNotFoundError:
        pytest.skip("the shared v3 rows are not on this machine")
    csv, pq = tmp_path / "v3.csv", tmp_path / "v3.pq"
    raw.to_csv(csv, index=False)
    raw.to_parquet(pq)
    _same(load_profiles_or_bundled(str(pq)), load_profiles_or_bundled(str(csv)))


def test_a_parquet_file_that_is_not_parquet_is_a_named_error(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_text("task,model_id\nchat,x\n")
    with pytest.raises(ProfileSchemaError, match="broken.parquet"):
        load_profiles_or_bundled(str(path))
