"""``sweep.gpu`` is the name every row records in its ``gpu`` column, which ``energylens fit`` looks up in the GPU
table. A name the table does not know (a typo, ``H1OO``) or names ambiguously (``A100``: four variants) passed the
sweep without a word, and only ``energylens fit`` refused the measured rows, after the whole sweep had run. The
sweep and its --dry-run now say so at the start, with the table's close matches; it still runs (a GPU the table
lacks can be described with --gpu-table at fit time)."""

from __future__ import annotations

import io

import pytest

from energylens.cli.main import main
from energylens.profiling import load_spec, run_sweep
from energylens.profiling.worker import base_row


def _spec_file(tmp_path, gpu: str):
    model = tmp_path / "m"
    model.mkdir(exist_ok=True)
    (model / "model.safetensors").write_bytes(bytes(8))  # (weights: a folder without is refused)
    (model / "config.json").write_text('{"num_attention_heads": 2}')
    p = tmp_path / "sweep.toml"
    p.write_text(f'[sweep]\nbackend = "transformers"\ngpu = "{gpu}"\n[grid]\nmodels = ["{model}"]\n'
                 'max_num_seqs = [1]\ninput_len = [8]\noutput_len = [4]\n')
    return p


def _run(tmp_path, gpu: str) -> str:
    out = io.StringIO()
    run_sweep(load_spec(_spec_file(tmp_path, gpu)), str(tmp_path / "runs"), power_source="none", out=out,
              run_one=lambda cfg, ps: base_row(cfg, ps) | {"config_id": cfg.config_id, "status": "ok", "error": "",
                                                           "wall_s": 0.1})
    return out.getvalue()


@pytest.mark.parametrize(("gpu", "says"), [("H1OO", "Close matches: H100-SXM5-80GB"),
                                           ("A100", "ambiguous")])
def test_a_gpu_name_fit_cannot_price_is_named_at_the_start(tmp_path, gpu, says):
    text = _run(tmp_path, gpu)
    first = text.splitlines()[0]
    assert f"sweep.toml:3: key 'sweep.gpu': {gpu!r}" in first and says in first, text
    assert "energylens fit" in first and "--gpu-table" in first
    assert "1 ok, 0 failed" in text  # it still runs


def test_a_known_gpu_name_gets_no_note(tmp_path):
    assert "sweep.gpu" not in _run(tmp_path, "h100 sxm")


def test_dry_run_says_it_too(tmp_path, capsys):
    assert main(["profile", str(_spec_file(tmp_path, "H1OO")), "-o", str(tmp_path / "runs"), "--dry-run",
                 "--power-source", "none"]) == 0
    err = capsys.readouterr().err
    assert "key 'sweep.gpu': 'H1OO'" in err and "Close matches: H100-SXM5-80GB" in err
