"""Image / video sweeps stop before the store is written where every unit of them would fail late: an image or
video axis on a model whose config.json shows no vision part (vLLM cannot give it an image), and a vLLM sweep of a
multimodal model where torchvision is not installed (vLLM's modules for such models import it: each unit started
vLLM and failed ~70 s later with "ValidationError: 1 validation error for ModelConfig"). Folders hold a
config.json only: nothing here loads a model."""

from __future__ import annotations

import importlib.util
import json

import pytest

from energylens.cli import main
from energylens.errors import MissingExtraError
from energylens.profiling import SweepSpecError, load_spec, run_sweep
from energylens.profiling import requirements as req

TEXT = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "num_attention_heads": 2,
        "max_position_embeddings": 2048, "hidden_size": 64, "vocab_size": 256}
LLAVA = {"architectures": ["LlavaForConditionalGeneration"], "model_type": "llava", "image_token_index": 255,
         "text_config": TEXT, "vision_config": {"model_type": "clip_vision_model", "image_size": 64}}


def _folder(tmp_path, name, config, *extra):
    d = tmp_path / name
    d.mkdir()
    (d / "model.safetensors").write_bytes(bytes(8))  # (weights: a folder without is refused)
    (d / "config.json").write_text(json.dumps(config))
    for f in extra:
        (d / f).write_text("{}")
    return str(d)


def _spec(tmp_path, model, modality):
    p = tmp_path / "sweep.toml"
    p.write_text(f'[sweep]\nbackend = "vllm"\nimage_size = [64, 64]\n[grid]\nmodels = ["{model}"]\n'
                 f'max_num_seqs = [2]\ninput_len = [16]\noutput_len = [8]\nmodality = {json.dumps(modality)}\n')
    return p


def _hide(monkeypatch, *names):
    real = importlib.util.find_spec
    monkeypatch.setattr(req.importlib.util, "find_spec",
                        lambda n, *a: None if n in names else (object() if n in ("vllm", "PIL") else real(n, *a)))


def test_an_image_axis_on_a_text_only_model_is_refused_before_the_store(tmp_path):
    model = _folder(tmp_path, "tiny-llama", TEXT)
    spec = load_spec(_spec(tmp_path, model, ["text", "image"]))
    with pytest.raises(SweepSpecError) as exc:
        run_sweep(spec, str(tmp_path / "runs"), power_source="none")
    msg = str(exc.value)
    assert exc.value.key == "grid.modality[1]" and exc.value.line == 9, msg
    assert f"{model!r} is a text-only model" in msg and "no vision part" in msg and "every image unit" in msg
    assert not (tmp_path / "runs").exists()


def test_video_on_a_text_only_model_through_the_cli_exits_2(tmp_path, capsys):
    model = _folder(tmp_path, "tiny-llama", TEXT)
    argv = ["profile", str(_spec(tmp_path, model, ["video"])), "-o", str(tmp_path / "runs"), "--power-source", "none"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "key 'grid.modality[0]'" in err and "text-only model" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(("config", "extra"), [
    (LLAVA, ()),                                            # vision_config
    (TEXT | {"architectures": ["Phi3VForCausalLM"], "img_processor": {"name": "clip"}}, ()),
    (TEXT, ("preprocessor_config.json",)),                  # an image processor beside the weights
])
def test_a_model_with_a_vision_part_passes(tmp_path, monkeypatch, config, extra):
    monkeypatch.setattr(req.importlib.util, "find_spec", lambda n, *a: object())  # every package installed
    model = _folder(tmp_path, "m", config, *extra)
    req.check_media_models(load_spec(_spec(tmp_path, model, ["image"])))
    req.check_torchvision(load_spec(_spec(tmp_path, model, ["image", "video"])))


@pytest.mark.parametrize("modality", [["text"], ["image"]])
def test_a_multimodal_model_without_torchvision_names_it_before_the_store(tmp_path, monkeypatch, modality):
    """The text units of a LLaVA failed too: vLLM imports its model module (and torchvision) whatever the prompt."""
    _hide(monkeypatch, "torchvision")
    model = _folder(tmp_path, "tiny-llava", LLAVA)
    with pytest.raises(MissingExtraError) as exc:
        run_sweep(load_spec(_spec(tmp_path, model, modality)), str(tmp_path / "runs"), power_source="none")
    msg = str(exc.value)
    assert "torchvision, which is not installed" in msg and repr(model) in msg and "pip install torchvision" in msg
    assert not (tmp_path / "runs").exists()


def test_an_image_axis_on_a_hub_id_without_torchvision_names_it(tmp_path, monkeypatch):
    _hide(monkeypatch, "torchvision")
    with pytest.raises(MissingExtraError, match=r"image prompts: vLLM's modules for image / video models import "
                                                r"torchvision, which is not installed"):
        req.check_torchvision(load_spec(_spec(tmp_path, "org/some-vl", ["image"])))


def test_a_text_sweep_of_a_text_model_needs_no_torchvision(tmp_path, monkeypatch):
    _hide(monkeypatch, "torchvision")
    model = _folder(tmp_path, "tiny-llama", TEXT)
    spec = load_spec(_spec(tmp_path, model, ["text"]))
    req.check_media_models(spec)
    req.check_torchvision(spec)


def test_media_checks_leave_a_malformed_hub_id_to_the_model_check(tmp_path):
    """check_media_models / check_torchvision called on their own (run_sweep runs check_local_models first, which
    names a malformed id) read a malformed Hub id's cache entry and raised huggingface_hub's bare HFValidationError;
    like the worker's config read, they take it as a config that cannot be read here."""
    pytest.importorskip("huggingface_hub")
    spec = load_spec(_spec(tmp_path, "org/name/extra", ["text", "image"]))
    assert req._model_config("org/name/extra") is None
    req.check_media_models(spec)  # nothing to say about a model whose config cannot be read
    with pytest.raises(SweepSpecError, match="no Hugging Face id"):
        req.check_local_models(spec)  # what names it


QWEN2_VL = {"architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl", "video_token_id": 254,
            "image_token_id": 255, "vision_config": {"depth": 2}, **{k: v for k, v in TEXT.items() if k not in (
                "architectures", "model_type")}}


@pytest.mark.parametrize("config", [LLAVA, TEXT | {"architectures": ["Phi3VForCausalLM"], "img_processor": {}}])
def test_a_video_axis_on_an_image_only_model_is_refused_before_the_store(tmp_path, config):
    """LLaVA 1.5 and Phi-3-vision take images, not video: the sweep started and every video unit failed after vLLM
    loaded the model ("takes no video input"); now it stops before the store, naming the model and the axis."""
    model = _folder(tmp_path, "tiny-vlm", config)
    spec = load_spec(_spec(tmp_path, model, ["text", "image", "video"]))
    with pytest.raises(SweepSpecError) as exc:
        run_sweep(spec, str(tmp_path / "runs"), power_source="none")
    msg = str(exc.value)
    assert exc.value.key == "grid.modality[2]", msg
    assert f"{model!r} takes images but not video" in msg and config["architectures"][0] in msg, msg
    assert "every video unit of it would fail" in msg and "drop video from grid.modality" in msg, msg
    assert not (tmp_path / "runs").exists()
    req.check_media_models(load_spec(_spec(tmp_path, model, ["text", "image"])))  # its image axis is fine


def test_a_video_axis_on_an_image_only_model_through_the_cli_exits_2(tmp_path, capsys):
    model = _folder(tmp_path, "tiny-llava", LLAVA)
    argv = ["profile", str(_spec(tmp_path, model, ["video"])), "-o", str(tmp_path / "runs"), "--power-source", "none"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "key 'grid.modality[0]'" in err and "takes images but not video" in err and "Traceback" not in err, err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(("config", "extra"), [
    (QWEN2_VL, ()),                                                        # video_token_id
    (LLAVA | {"architectures": ["LlavaNextVideoForConditionalGeneration"]}, ()),
    (LLAVA, ("video_preprocessor_config.json",)),                          # a video processor beside the weights
    (TEXT | {"architectures": ["InternVLChatModel"], "vision_config": {}}, ()),  # not known as image-only
])
def test_a_model_that_may_take_video_passes(tmp_path, config, extra):
    model = _folder(tmp_path, "m", config, *extra)
    req.check_media_models(load_spec(_spec(tmp_path, model, ["image", "video"])))
