"""Sweep spec: every bad spec names its key and problem before anything runs; a good one expands."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from energylens.cli import main
from energylens.profiling import SweepSpecError, load_spec, parse_spec

GOOD = {"sweep": {"backend": "transformers", "repetitions": 2, "seed": 3},
        "grid": {"models": ["/tmp/m"], "max_num_seqs": [1, 2], "input_len": [8, {"distribution": "uniform",
                                                                                  "low": 4, "high": 12}],
                 "output_len": 4}}


def _with(table: str, key: str, value) -> dict:
    raw = {"sweep": dict(GOOD["sweep"]), "grid": dict(GOOD["grid"])}
    if value is _DEL:
        del raw[table][key]
    else:
        raw[table][key] = value
    return raw


_DEL = object()

BAD = [
    ("sweep", "backend", "tgi", "sweep.backend", "must be one of transformers, vllm"),
    ("sweep", "backend", _DEL, "sweep.backend", "missing"),
    ("sweep", "mode", "server", "sweep.mode", "needs backend 'vllm'"),
    ("sweep", "repetitions", 0, "sweep.repetitions", "must be >= 1"),
    ("sweep", "warmup", 1.5, "sweep.warmup", "must be an integer"),
    ("sweep", "cooldown_s", -1, "sweep.cooldown_s", "must be >= 0"),
    ("sweep", "timeout_s", "soon", "sweep.timeout_s", "finite number"),
    ("sweep", "timeout_s", 60, "sweep.timeout_s", 'set sweep.isolation = "process"'),  # else silently ignored
    ("sweep", "isolation", "thread", "sweep.isolation", "must be one of process, none"),
    ("sweep", "colour", "red", "sweep.colour", "unknown key"),
    ("sweep", "image_size", [224], "sweep.image_size", "[width, height]"),
    # no bound: [100000, 100000] passed, and each generated image would have needed ~30 GB
    ("sweep", "image_size", [100_000, 100_000], "sweep.image_size[0]", "must be <= 8,192 pixels"),
    ("sweep", "image_size", [224, 8193], "sweep.image_size[1]", "must be <= 8,192 pixels"),
    ("sweep", "num_frames", 100_000, "sweep.num_frames", "must be <= 1,024 frames"),
    ("grid", "models", [], "grid.models", "empty list"),
    ("grid", "models", ["ok", 3], "grid.models[1]", "Hugging Face id or a local path"),
    ("grid", "max_num_seqs", _DEL, "grid.max_num_seqs", "missing"),
    ("grid", "max_num_seqs", [1, 0], "grid.max_num_seqs[1]", "must be >= 1"),
    ("grid", "max_num_seqs", [2, 2], "grid.max_num_seqs", "lists a value twice"),
    ("grid", "tp", [1, 2], "grid.tp", "runs on one device"),
    ("grid", "precision", ["fp8"], "grid.precision[0]", "needs backend 'vllm'"),
    ("grid", "precision", ["q4_k_m"], "grid.precision[0]", "must be one of"),
    ("grid", "kv_cache_dtype", ["fp8"], "grid.kv_cache_dtype[0]", "needs backend 'vllm'"),
    ("grid", "modality", ["image"], "grid.modality[0]", "needs backend 'vllm'"),
    ("grid", "modality", ["audio"], "grid.modality[0]", "must be one of text, image, video"),
    ("grid", "input_len", [{"distribution": "uniform", "low": 4}], "grid.input_len[0]", "needs low and high"),
    ("grid", "input_len", [{"distribution": "normal", "mean": 10}], "grid.input_len[0]", "needs mean and std"),
    ("grid", "input_len", [{"distribution": "zipf"}], "grid.input_len[0].distribution", "must be one of"),
    # a fixed length without its value read "key 'grid.input_len[0].value': must be an integer, got None"
    ("grid", "input_len", [{}], "grid.input_len[0]", "a fixed distribution needs value (or write the length as"),
    ("grid", "output_len", [{"distribution": "fixed"}], "grid.output_len[0]", "a fixed distribution needs value"),
    ("grid", "input_len", [{"value": 3, "spread": 1}], "grid.input_len[0].spread", "unknown key"),
    ("grid", "output_len", [0], "grid.output_len[0]", "must be >= 1"),
    ("grid", "batch", [1], "grid.batch", "unknown key"),
    # settings that would be silently ignored or silently change what is measured
    ("grid", "input_len", [{"distribution": "uniform", "value": 100, "low": 1, "high": 200}],
     "grid.input_len[0].value", "not used by a uniform length"),
    ("grid", "input_len", [{"value": 100, "mean": 5}], "grid.input_len[0].mean", "not used by a fixed length"),
    ("grid", "input_len", [{"distribution": "uniform", "low": 8, "high": 8}], "grid.input_len[0]",
     "is the fixed length 8"),
    ("grid", "input_len", [{"distribution": "normal", "mean": 8, "std": 0}], "grid.input_len[0].std",
     "is the fixed length 8"),
    ("grid", "input_len", [{"distribution": "lognormal", "mean": 100000, "std": 10, "low": 16, "high": 64}],
     "grid.input_len[0].mean", "outside [low, high] = [16, 64]"),
    ("grid", "input_len", [10_000_000_000], "grid.input_len[0]", "must be <= 10,000,000"),
    ("grid", "max_num_seqs", [100_000_000], "grid.max_num_seqs[0]", "must be <= 1,000,000"),
    ("grid", "models", ["/models/x", "/models/./x/"], "grid.models", "are the same path"),
    ("sweep", "name", {"a": 1}, "sweep.name", "must be a non-empty string"),
    ("sweep", "server_requests", 100, "sweep.server_requests", "mode 'server' only"),
    ("sweep", "gpu_memory_utilization", 0.5, "sweep.gpu_memory_utilization", "vLLM's setting"),
]


@pytest.mark.parametrize(("table", "key", "value", "where", "problem"), BAD,
                         ids=[f"{b[3]}-{i}" for i, b in enumerate(BAD)])
def test_bad_spec_names_key_and_problem(table, key, value, where, problem):
    with pytest.raises(SweepSpecError) as info:
        parse_spec(_with(table, key, value), source="s.toml")
    assert info.value.key == where
    assert f"'{where}'" in str(info.value) and problem in str(info.value)
    assert str(info.value).startswith("s.toml: ")


@pytest.mark.parametrize(("body", "key", "line"), [
    ("[sweep]\nbackend = 'transformers'\nwarmup = 1.5  # bad\n[grid]\n" + "{grid}", "sweep.warmup", 3),
    ("[sweep]\nbackend = 'transformers'\n\n[grid]\nmodels = ['m']\nmax_num_seqs = [1]\noutput_len = [4]\n"
     "input_len = [\n  8,\n  {{distribution = 'normal', mean = 9}},\n]\n", "grid.input_len[1]", 8),
    ("[sweep]\nbackend = 'transformers'\n[ grid ]\nmodels = ['m']\ninput_len = [8]\noutput_len = [4]\n",
     "grid.max_num_seqs", 3),                                          # missing: the table's header
    ("grid.models = ['m']\ngrid.max_num_seqs = [0]\ngrid.input_len = [8]\ngrid.output_len = [4]\n"
     "[sweep]\nbackend = 'transformers'\n", "grid.max_num_seqs[0]", 2),  # dotted keys, no [grid] header
    ("[sweep]\nbackend = 'transformers'\n\"colour\" = 'red'\n[grid]\n{grid}", "sweep.colour", 3),
    ("[sweep]\nbackend = 'vllm'\nimage_size = [100000, 100000]\n[grid]\n{grid}", "sweep.image_size[0]", 3),
    ("[sweep]\nbackend = 'vllm'\n\nnum_frames = 5000\n[grid]\n{grid}", "sweep.num_frames", 4),
])
def test_a_bad_value_in_a_file_is_named_with_its_line(tmp_path, body, key, line):
    """A spec file's error says where the key is written (file:line: key '...': problem); before, the file and
    the key only, which a long spec with several [grid]-like lists left to be searched."""
    p = tmp_path / "s.toml"
    p.write_text(body.format(grid="models = ['m']\nmax_num_seqs = [1]\ninput_len = [8]\noutput_len = [4]\n"))
    with pytest.raises(SweepSpecError) as info:
        load_spec(p)
    assert info.value.key == key and info.value.line == line
    assert str(info.value).startswith(f"{p}:{line}: key '{key}': ")


def test_a_server_port_must_be_a_tcp_port():
    raw = {"sweep": {"backend": "vllm", "mode": "server", "server_port": 70000}, "grid": GOOD["grid"]}
    with pytest.raises(SweepSpecError, match="<= 65535") as info:
        parse_spec(raw)
    assert info.value.key == "sweep.server_port"


def test_vllm_specific_rules():
    raw = {"sweep": {"backend": "vllm", "isolation": "none"}, "grid": GOOD["grid"]}
    with pytest.raises(SweepSpecError, match="fresh subprocess") as info:
        parse_spec(raw)
    assert info.value.key == "sweep.isolation"
    raw = {"sweep": {"backend": "vllm"}, "grid": {**GOOD["grid"], "tp": [1, 2], "ep": [2]}}
    with pytest.raises(SweepSpecError, match="must equal tp\\*dp") as info:
        parse_spec(raw)
    assert info.value.key == "grid.ep[0]"
    ok = parse_spec({"sweep": {"backend": "vllm", "mode": "server"},
                     "grid": {**GOOD["grid"], "tp": [2, 4], "pp": [1, 2], "precision": ["bf16", "fp8"],
                              "kv_cache_dtype": ["auto", "fp8"], "modality": ["text", "image"]}})
    units = ok.configs()
    assert len(units) == 2 * 2 * 2 * 2 * 2 * 2 * 2  # tp pp precision kv modality bs input
    assert {u.n_gpus for u in units} == {2, 4, 8}


def test_good_spec_expands_with_stable_ids(tmp_path):
    spec = parse_spec(GOOD)
    units = spec.configs()
    assert len(units) == 2 * 2 * 2  # max_num_seqs x input_len x repetitions
    ids = [u.config_id for u in units]
    assert len(set(ids)) == len(ids)
    assert ids == [u.config_id for u in parse_spec(GOOD).configs()]  # stable across parses
    assert units[0].seed == 3 and units[0].output_len.value == 4
    again = type(units[0]).from_dict(units[0].to_dict())
    assert again == units[0] and again.config_id == units[0].config_id


def test_length_draws_are_seeded_and_bounded():
    import numpy as np

    spec = parse_spec({**GOOD, "grid": {**GOOD["grid"], "input_len": [
        {"distribution": "lognormal", "mean": 50, "std": 20, "low": 10, "high": 90}]}})
    ls = spec.configs()[0].input_len
    a = ls.draw(500, np.random.default_rng(1))
    assert a == ls.draw(500, np.random.default_rng(1))
    assert min(a) >= 10 and max(a) <= 90 and 40 < np.mean(a) < 60


def test_toml_file_and_cli(tmp_path, capsys):
    p = tmp_path / "sweep.toml"
    p.write_text(textwrap.dedent("""
        [sweep]
        backend = "transformers"
        [grid]
        models = ["/tmp/m"]
        max_num_seqs = [1, 2]
        input_len = [8]
        output_len = [4]
    """))
    assert len(load_spec(p).configs()) == 2
    assert main(["profile", str(p), "-o", str(tmp_path / "out"), "--dry-run"]) == 0
    assert "2 units" in capsys.readouterr().out
    p.write_text("[sweep]\nbackend = 'transformers'\n[grid]\nmodels = ['m']\nmax_num_seqs = [1]\n"
                 "input_len = [8]\noutput_len = [4]\ntp = [1, 'two']\n")
    assert main(["profile", str(p), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "sweep.toml:8: key 'grid.tp[1]': must be an integer, got 'two'" in err  # file:line: key
    assert not (tmp_path / "out").exists()  # nothing ran
    p.write_text("[sweep\n")
    assert main(["profile", str(p), "-o", str(tmp_path / "out")]) == 2
    assert "not valid TOML" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "problem"), [
    ("wattmeter", "must be nvml, none, synthetic[:WATTS] or replay:FILE"),
    ("replay", "needs a file"), ("synthetic:-3", "watts must be > 0"), ("synthetic:lots", "needs a number"),
    ("nvml:0", "takes no argument"),
    # an infinite power passed, and every unit failed ("power timeline: GPU 0: power must be finite and >= 0")
    ("synthetic:inf", "watts must be > 0 and finite, got inf"), ("synthetic:1e400", "finite, got inf"),
    ("synthetic:nan", "finite, got nan"),
    # under the schema's 5 W per GPU: the sweep ran, and energylens fit refused every row ("is it in kilowatts?")
    ("synthetic:3", "watts must be at least 5 per GPU"), ("synthetic:0.5", "energylens fit refuses rows of less")])
def test_bad_power_source(text, problem, tmp_path, capsys):
    from energylens.profiling import parse_power_source

    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_power_source(text)
    p = tmp_path / "s.toml"
    p.write_text("[sweep]\nbackend = 'transformers'\n[grid]\nmodels = ['m']\nmax_num_seqs = [1]\n"
                 "input_len = [8]\noutput_len = [4]\n")
    assert main(["profile", str(p), "-o", str(tmp_path / "o"), "--power-source", text]) == 2
    assert problem in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_bad_cli_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["profile", "x.toml", "-o", str(tmp_path / "o"), "--budget", "0"])
    assert info.value.code == 2 and "must be >= 1" in capsys.readouterr().err
    assert main(["profile", str(tmp_path / "missing.toml"), "-o", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_the_spec_in_docs_profiling_md_parses(tmp_path):
    """The annotated example of docs/profiling.md section 1 is a valid spec as written (server_requests = 0
    means 4 x max_num_seqs)."""
    doc = (Path(__file__).parents[2] / "docs" / "profiling.md").read_text()
    block = doc.split("## 1. The spec", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "sweep.toml"
    path.write_text(block)
    spec = load_spec(path)
    assert spec.sweep["server_requests"] == 0


def test_progress_lines_keep_the_org_of_a_hub_id_and_shorten_a_folder():
    raw = {"sweep": {"backend": "transformers"},
           "grid": {"models": ["org-a/m-7b", "org-b/m-7b", "/models/deep/folder/m-7b"], "max_num_seqs": [1],
                    "input_len": [8], "output_len": [4]}}
    described = [c.describe().split()[0] for c in parse_spec(raw).configs()]
    assert described == ["org-a/m-7b", "org-b/m-7b", "m-7b"]


def test_progress_lines_show_the_per_rank_batch_and_the_replicas():
    """vLLM's max_num_seqs is per DP rank: a dp = 2 unit at max_num_seqs 4 keeps 8 requests in flight, and its
    progress line says so (it read bs4 before, as if 4 were in flight)."""
    raw = {"sweep": {"backend": "vllm", "mode": "server"},
           "grid": {"models": ["org/m"], "max_num_seqs": [4], "dp": [1, 2], "input_len": [8], "output_len": [4]}}
    batches = [next(w for w in c.describe().split() if w.startswith("bs")) for c in parse_spec(raw).configs()]
    assert batches == ["bs4", "bs4x2"]


def test_expert_parallel_rows_are_valid_schema_rows():
    """A vLLM TP + EP (or DP + EP) configuration is recorded as it ran: tp, pp, dp, ep and n_gpus = tp x pp x
    dp, which the profile schema accepts (the earlier tp = 1, n_gpus = pp x ep rows it refused for tp > 1)."""
    import pandas as pd

    from energylens.profiles.schema import load_profiles
    from energylens.profiling.worker import base_row

    spec = parse_spec({"sweep": {"backend": "vllm", "mode": "server"},  # dp > 1 runs in server mode only
                       "grid": {**GOOD["grid"], "models": ["Qwen/Qwen3-30B-A3B"], "tp": [2], "dp": [2], "ep": [4]}})
    rows = []
    for cfg in spec.configs()[:2]:
        row = base_row(cfg, "nvml")
        row.update(status="ok", params_b=30.5, gpu="H100", batch_size=8.0, input_tokens=512.0, output_tokens=128.0,
                   energy_j=100.0)
        rows.append(row)
    got = load_profiles(pd.DataFrame(rows))
    assert got[["tp", "pp", "dp", "ep", "n_gpus"]].drop_duplicates().values.tolist() == [[2, 1, 2, 4, 4]]


def test_a_quantised_checkpoint_is_recorded_in_its_own_format():
    """vLLM loads an -FP8 or gpt-oss (mxfp4) checkpoint in its own format whatever --dtype says: the row's
    precision (the weight format) is that format, not the dtype the spec named."""
    from energylens.profiling.worker import base_row

    spec = parse_spec({"sweep": {"backend": "vllm"},
                       "grid": {**GOOD["grid"], "models": ["Qwen/Qwen3-8B-FP8", "openai/gpt-oss-20b", "Qwen/Qwen3-8B"]}})
    got = {cfg.model: base_row(cfg, "nvml")["precision"] for cfg in spec.configs()}
    assert got == {"Qwen/Qwen3-8B-FP8": "fp8", "openai/gpt-oss-20b": "mxfp4", "Qwen/Qwen3-8B": "bf16"}
    tf = parse_spec({"sweep": dict(GOOD["sweep"]), "grid": {**GOOD["grid"], "models": ["Qwen/Qwen3-8B-FP8"]}})
    assert {base_row(cfg, "nvml")["precision"] for cfg in tf.configs()} == {"bf16"}  # transformers: as given


def test_the_precision_recorded_is_the_format_the_checkpoint_declares(tmp_path):
    """A quantised checkpoint's config.json says how vLLM loads it, whatever the spec's dtype or method: a local
    AWQ folder under bf16 is int4, a GPTQ-Int8 checkpoint under gptq int8, a compressed-tensors W4A16 one under
    int8 int4 (before, the rows said bf16, gptq (read as int4) and int8); without one the spec's method, as
    schema v1 spells it (awq / gptq: int4)."""
    from energylens.profiling.worker import base_row

    def folder(name, q):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps({"model_type": "llama", "quantization_config": q}))
        return str(tmp_path / name)

    awq = folder("ckpt-a", {"quant_method": "awq", "bits": 4, "group_size": 128})
    gptq8 = folder("ckpt-g", {"quant_method": "gptq", "bits": 8})
    w4a16 = folder("ckpt-c", {"quant_method": "compressed-tensors", "format": "pack-quantized",
                              "config_groups": {"group_0": {"weights": {"num_bits": 4, "type": "int"}}}})
    block = folder("ckpt-f", {"quant_method": "fp8", "weight_block_size": [128, 128]})
    plain = str(tmp_path / "plain")
    cases = [(awq, "bf16", "int4"), (gptq8, "gptq", "int8"), (w4a16, "int8", "int4"), (block, "bf16", "fp8_block"),
             (plain, "gptq", "int4"), (plain, "awq", "int4"), (plain, "fp8", "fp8"), (plain, "bf16", "bf16")]
    for model, precision, want in cases:
        spec = parse_spec({"sweep": {"backend": "vllm"},
                           "grid": {**GOOD["grid"], "models": [model], "precision": [precision]}})
        assert base_row(spec.configs()[0], "nvml")["precision"] == want, (model, precision)


def test_random_order_continues_the_same_sample_on_resume():
    """--strategy random: a seeded permutation of all the units with the done ones skipped, so a resumed
    sweep measures the sample an uninterrupted one would (a permutation of what was left changed it)."""
    from energylens.profiling.runner import _order

    configs = parse_spec({"sweep": dict(GOOD["sweep"]), "grid": dict(GOOD["grid"])}).configs()
    full = _order(configs, configs, "random", 7)
    for done in (1, 3):
        left = [c for c in configs if c.config_id not in {d.config_id for d in full[:done]}]
        assert _order(configs, left, "random", 7) == full[done:]


def test_rows_hold_strict_json_and_files_follow_the_umask(tmp_path):
    import json

    from energylens.outputs import current_umask
    from energylens.profiling.store import atomic_write_bytes
    from energylens.profiling.worker import base_row

    cfg = parse_spec({"sweep": dict(GOOD["sweep"]), "grid": dict(GOOD["grid"])}).configs()[0]
    json.loads(base_row(cfg, "nvml")["config_json"],
               parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))  # no bare NaN
    atomic_write_bytes(tmp_path / "part", b"x")
    mask = current_umask()
    assert (tmp_path / "part").stat().st_mode & 0o777 == 0o666 & ~mask  # as open() makes it, not 0600
    assert mask & 0o044 or (tmp_path / "part").stat().st_mode & 0o044  # readable by others (umask 022)


@pytest.mark.parametrize("requests", [2, 8, 16])
def test_server_requests_must_exceed_every_batch(requests):
    """server_requests <= max_num_seqs left no steady-state window: the load generator wrote an 'ok' row from
    the send burst (steady_tokens 0, energy per token = the window's energy). With as many requests as the
    batch the window is empty too (the last request is sent before the batch's last first token)."""
    raw = {"sweep": {"backend": "vllm", "mode": "server", "server_requests": requests},
           "grid": {**GOOD["grid"], "max_num_seqs": [4, 16]}}
    with pytest.raises(SweepSpecError) as info:
        parse_spec(raw, source="s.toml")
    assert info.value.key == "sweep.server_requests"
    assert str(info.value).startswith(f"s.toml: key 'sweep.server_requests': {requests} requests leave no steady")
    assert "grid.max_num_seqs = 16" in str(info.value) and "> 16" in str(info.value)
    for fine in (17, 0):  # 0: 4 x max_num_seqs per configuration
        raw["sweep"]["server_requests"] = fine
        assert len(parse_spec(raw).configs()) == 4


def test_a_spec_that_is_not_utf8_names_the_file_and_the_byte(tmp_path, capsys):
    p = tmp_path / "latin1.toml"
    p.write_bytes('[sweep]\nbackend = "vllm"\nname = "café"\n'.encode("latin-1"))
    with pytest.raises(SweepSpecError) as info:
        load_spec(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}: not UTF-8 text")
    assert "byte 0xe9 at byte position 36 (line 3, column 12)" in msg
    assert main(["profile", str(p), "-o", str(tmp_path / "o"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert str(p) in err and "0xe9" in err and "codec can't decode" not in err
    assert not (tmp_path / "o").exists()


def test_a_spec_saved_with_a_byte_order_mark_says_so(tmp_path, capsys):
    """A UTF-8 file that starts with a byte-order mark (Notepad's "UTF-8 with BOM") read "not valid TOML: Invalid
    statement (at line 1, column 1)", as if the first line were wrong."""
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbf" + b'[sweep]\nbackend = "transformers"\n')
    with pytest.raises(SweepSpecError) as info:
        load_spec(p)
    assert str(info.value) == (f"{p}: starts with a UTF-8 byte-order mark (bytes EF BB BF, which some editors write "
                               "as 'UTF-8 with BOM'), which TOML does not allow: save the file as UTF-8 without it")
    assert main(["profile", str(p), "-o", str(tmp_path / "o"), "--dry-run"]) == 2
    assert "byte-order mark" in capsys.readouterr().err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("table, key, value, at, hint", [
    ("sweep", "repetitons", 2, "sweep.repetitons", "did you mean 'repetitions'? allowed: "),
    ("grid", "model", ["org/m"], "grid.model", "did you mean 'models'? allowed: "),
    ("grid", "input_len", [{"distribution": "normal", "mean": 5, "sd": 2}], "grid.input_len[0].sd",
     "did you mean 'std'? allowed: "),
    ("sweep", "colour", "red", "sweep.colour", "unknown key (allowed: "),   # nothing close: the list alone
])
def test_a_misspelt_key_names_the_key_it_is_close_to(table, key, value, at, hint):
    with pytest.raises(SweepSpecError) as err:
        parse_spec(_with(table, key, value))
    assert err.value.key == at and hint in str(err.value)
    with pytest.raises(SweepSpecError, match=r"unknown table \(did you mean 'grid'\? allowed: grid, sweep\)"):
        parse_spec({**_with("sweep", "seed", 0), "grids": {}})


def test_hub_ids_that_differ_only_in_case_are_one_model(tmp_path):
    """The Hub resolves "Org/M" and "org/m" to one repository; a spec listing both measured the model twice as
    two configurations (two config ids, two rows per point). It is refused naming both spellings, where they
    are in the list, and the spec's line."""
    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\nbackend = "vllm"\n[grid]\nmodels = ["Meta-Llama/Llama-3.1-8B", "acme/x",\n'
                    '          "meta-llama/llama-3.1-8b"]\nmax_num_seqs = [1]\ninput_len = [8]\noutput_len = [4]\n')
    with pytest.raises(SweepSpecError) as err:
        load_spec(spec)
    text = str(err.value)
    assert err.value.key == "grid.models" and err.value.line == 4, text
    assert "'Meta-Llama/Llama-3.1-8B' (grid.models[0]) and 'meta-llama/llama-3.1-8b' (grid.models[2])" in text
    assert "the Hub ignores the case" in text and text.startswith(f"{spec}:4: ")
    ok = parse_spec({"sweep": {"backend": "vllm"}, "grid": {"models": ["org/m", "org/m2"], "max_num_seqs": [1],
                                                           "input_len": [8], "output_len": [4]}})
    assert [c.model for c in ok.configs()] == ["org/m", "org/m2"]
