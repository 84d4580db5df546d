"""Spec values no sweep can hold, and store parts whose row is not the unit their name says: each refused at once,
naming the key or the file, instead of a traceback after a unit was measured, a hang, or a unit silently counted
done while another's row is read twice."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from energylens.cli.main import main as cli_main
from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles
from energylens.profiling import Store, SweepSpecError, parse_spec, run_sweep
from energylens.profiling.worker import base_row

SPEC = {"sweep": {"backend": "transformers", "gpu": "H100"},
        "grid": {"models": ["org/m"], "max_num_seqs": [1, 2], "input_len": [8], "output_len": [4]}}


def _spec(table: str = "", key: str = "", value=None, **grid):
    raw = {"sweep": dict(SPEC["sweep"]), "grid": dict(SPEC["grid"]) | grid}
    if table:
        raw[table][key] = value
    return parse_spec(raw, source="s.toml")


@pytest.mark.parametrize(("table", "key", "value", "where"), [
    ("sweep", "seed", 2**64, "sweep.seed"),            # measured, then the row's write raised OverflowError
    ("sweep", "seed", 2**63, "sweep.seed"),
    ("sweep", "warmup", 10**30, "sweep.warmup"),
    ("grid", "tp", [1, 2**70], "grid.tp[1]"),
])
def test_an_integer_past_toml_64_bits_is_refused_naming_its_key(table, key, value, where):
    """TOML's integers are 64-bit; Python's reader takes larger ones, and a seed of 2**64 ran its unit and then lost
    the row with a traceback from pyarrow (the row's int64 column)."""
    with pytest.raises(SweepSpecError) as info:
        _spec(table, key, value)
    assert info.value.key == where and "64-bit" in str(info.value), str(info.value)
    assert _spec("sweep", "seed", 2**63 - 1).sweep["seed"] == 2**63 - 1  # the largest one TOML has is taken


def test_a_vllm_seed_past_32_bits_is_refused_naming_vllms_limit():
    """vLLM (0.32, utils/torch_utils.set_random_seed) seeds numpy's global generator with the seed, which takes
    0 .. 2**32 - 1: a larger seed passed the spec and then failed every unit's engine start."""
    raw = {"sweep": {"backend": "vllm", "gpu": "H100", "seed": 2**32}, "grid": dict(SPEC["grid"])}
    with pytest.raises(SweepSpecError) as info:
        parse_spec(raw, source="s.toml")
    assert info.value.key == "sweep.seed" and "4,294,967,295" in str(info.value) and "vLLM" in str(info.value)
    assert "4,294,967,296" in str(info.value), str(info.value)
    raw["sweep"]["seed"] = 2**32 - 1
    assert parse_spec(raw, source="s.toml").sweep["seed"] == 2**32 - 1


@pytest.mark.parametrize(("table", "key", "value", "where", "count"), [
    ("sweep", "repetitions", 10**8, "sweep.repetitions", "200,000,000 units"),   # hung, memory growing, no line
    ("grid", "input_len", list(range(1, 1001)), "grid", "2,000,000 units (max_num_seqs 2 x input_len 1,000 x "
     "output_len 1,000"),
])
def test_a_spec_of_more_units_than_a_sweep_holds_is_refused_at_once(table, key, value, where, count):
    """`repetitions = 100000000` (a typo for 10) made `energylens profile --dry-run` expand 10^8 units: it printed
    nothing and grew until the memory ran out. The count is refused with the product that makes it."""
    with pytest.raises(SweepSpecError) as info:
        _spec(table, key, value, **({"output_len": list(range(1, 1001))} if table == "grid" else {}))
    assert info.value.key == where and count in str(info.value), str(info.value)
    assert "1,000,000" in str(info.value)


def _measured(tmp_path):
    out = tmp_path / "runs"
    run_sweep(_spec(), str(out), power_source="none", out=io.StringIO(), run_one=lambda cfg, ps: base_row(cfg, ps) | {
        "config_id": cfg.config_id, "status": "ok", "error": "", "model": cfg.model, "gpu": "H100", "tp": 1,
        "pp": 1, "params_b": 8.0, "batch_size": float(cfg.max_num_seqs), "input_tokens": 8.0, "output_tokens": 4.0,
        "energy_j": 1.0})
    return out, sorted((out / "parts").glob("*.parquet"))


def test_a_part_holding_another_units_row_is_named(tmp_path):
    """A part copied in under another unit's name (a rescued file renamed, parts copied between stores): --resume
    counted that unit done and never measured it, and the store read the other unit's row twice."""
    out, (a, b) = _measured(tmp_path)
    b.write_bytes(a.read_bytes())
    for read in (Store(out).statuses, lambda: load_profiles(out),
                 lambda: run_sweep(_spec(), str(out), resume=True, power_source="none", out=io.StringIO(),
                                   run_one=lambda cfg, ps: pytest.fail("nothing may run"))):
        with pytest.raises(ProfileSchemaError) as info:
            read()
        text = str(info.value)
        assert str(b) in text and f"the row of unit {a.stem}" in text and "--resume" in text, text


def test_a_part_of_two_rows_is_named(tmp_path):
    out, (a, b) = _measured(tmp_path)
    pd.concat([pd.read_parquet(a)] * 2).to_parquet(a)
    with pytest.raises(ProfileSchemaError) as info:
        load_profiles(out)
    assert str(a) in str(info.value) and "2 rows" in str(info.value), str(info.value)


def test_a_plan_hashes_each_unit_once(tmp_path, monkeypatch):
    """A plan asked every unit's config_id 6 times (9 in a --dry-run: the manifest, the order, the states, the list):
    each a JSON dump and a sha1 of the unit, 45 of the 49 s of a 20,000-unit --dry-run. It is kept per unit now
    (2.6 s instead of 10.7 s for 5,000 units on the shared 2-core box)."""
    from energylens.profiling import RunConfig, plan_sweep

    calls = []
    to_dict = RunConfig.to_dict
    monkeypatch.setattr(RunConfig, "to_dict", lambda self: calls.append(1) or to_dict(self))
    spec = _spec("sweep", "repetitions", 10)
    plan = plan_sweep(spec, str(tmp_path / "runs"), power_source="none")
    assert len(plan.units) == 20 and len(calls) <= 2 * 20, f"{len(calls)} hashes for 20 units"


def test_a_bad_cell_in_a_store_names_its_part(tmp_path):
    """A store's rows are read as one table: a bad cell said 'data row 2 (1-based, header not counted)' of the store
    folder, which has no rows to count, so the user could not tell which of its part files to mend or delete."""
    out, (a, b) = _measured(tmp_path)
    frame = pd.read_parquet(b)
    frame["batch_size"] = "lots"
    frame.to_parquet(b)
    with pytest.raises(ProfileSchemaError) as info:
        load_profiles(out)
    text = str(info.value)
    assert "'batch_size'" in text and f"which is the part {b}" in text, text


@pytest.mark.parametrize("what", ["file", "dangling-link"])
def test_a_parts_folder_that_is_no_folder_is_named(tmp_path, capsys, what):
    """A store whose parts/ is a file (or a link to a folder that is gone) ended --resume with a bare
    '[Errno 17] File exists: 'runs/parts'', and --dry-run said the store held 0 of its units done."""
    out, _ = _measured(tmp_path)
    (out / "parts").rename(tmp_path / "parts-moved")
    if what == "file":
        (out / "parts").write_text("")
    else:
        (out / "parts").symlink_to(tmp_path / "gone")
    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\nbackend = "transformers"\ngpu = "H100"\n[grid]\nmodels = ["org/m"]\n'
                    'max_num_seqs = [1, 2]\ninput_len = [8]\noutput_len = [4]\n')
    assert cli_main(["profile", str(spec), "-o", str(out), "--resume", "--power-source", "none", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'parts'} is not a folder" in err and "Errno" not in err, err
    with pytest.raises(ValueError, match="is not a folder") as info:  # (a run: the units' own checks are stubbed)
        run_sweep(_spec(), str(out), resume=True, power_source="none", out=io.StringIO(),
                  run_one=lambda cfg, ps: pytest.fail("nothing may run"))
    assert str(out / "parts") in str(info.value) and "Errno" not in str(info.value)
