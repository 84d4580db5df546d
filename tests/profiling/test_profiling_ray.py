"""A sweep on a local Ray cluster: one task per configuration, rows gathered into the same store."""

from __future__ import annotations

import pytest

from energylens.cli import main
from energylens.profiles import load_profiles
from energylens.profiling import Store

pytestmark = [pytest.mark.ray, pytest.mark.torch]


def test_local_ray_sweep(tiny_model, tmp_path, capsys):
    pytest.importorskip("ray", reason="needs Ray (pip install 'energylens[ray]')")
    spec = tmp_path / "ray.toml"
    spec.write_text(f"""
[sweep]
backend = "transformers"
gpu = "H100"
warmup = 0
[grid]
models = ["{tiny_model}"]
precision = ["fp32"]
max_num_seqs = [1, 2]
input_len = [8]
output_len = [3, 4]
""")
    out = tmp_path / "store"
    rc = main(["profile", str(spec), "-o", str(out), "--ray", "local", "--ray-no-gpus",
               "--power-source", "synthetic:150"])
    assert rc == 0
    assert "on Ray local" in capsys.readouterr().out
    df = load_profiles(out)
    assert len(df) == 4 and df["config_id"].is_unique and df["ray_node"].notna().all()
    assert (df["power_source"] == "synthetic:150").all()
    # Resuming on Ray runs nothing more.
    assert main(["profile", str(spec), "-o", str(out), "--ray", "local", "--ray-no-gpus", "--resume",
                 "--power-source", "synthetic:150"]) == 0
    assert len(Store(out).statuses()) == 4
