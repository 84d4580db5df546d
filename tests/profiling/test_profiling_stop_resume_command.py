"""The stop line of an interrupted sweep gives the command that goes on. It read `energylens profile SPEC -o DIR
--resume` whatever the run's options, so an interrupted `--strategy active --budget 20` sweep, resumed as
told, measured every unit left in grid order, and a `--power-source synthetic:200` one was refused."""

from __future__ import annotations

import io
import shlex

import pytest
from test_profiling_active import _stand_in, _vllm_tp_spec

import energylens.cli.profile as profile_cli
from energylens.cli.main import main as cli_main
from energylens.profiling import run_sweep


@pytest.mark.parametrize("extra", [
    ["--strategy", "active", "--budget", "20", "--power-source", "synthetic:200"],
    ["--strategy", "active", "--stop", "budget", "--budget", "7", "--power-source", "replay:my trace.csv"],
    ["--ray", "local", "--ray-no-gpus", "--strategy", "random", "--retry-failed", "--resume"],
    [],
])
def test_the_resume_command_of_the_stop_line_keeps_the_runs_options(tmp_path, monkeypatch, capsys, extra):
    spec = tmp_path / "my spec.toml"
    spec.write_text('[sweep]\nbackend = "vllm"\ngpu = "H100"\n[grid]\nmodels = ["org/m"]\nmax_num_seqs = [1]\n'
                    'input_len = [8]\noutput_len = [4]\n')
    monkeypatch.setattr(profile_cli, "parse_power_source", lambda source: None)  # (the replay file is not there)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(profile_cli, "run_sweep", interrupted)
    out = tmp_path / "out"
    (out / "parts").mkdir(parents=True)
    (out / "parts" / "a.parquet").write_bytes(b"")
    assert cli_main(["profile", str(spec), "-o", str(out), *extra]) == 130
    line = next(ln for ln in capsys.readouterr().err.splitlines() if "measures the rest" in ln)
    command = shlex.split(line.split("`")[1])
    assert command[:5] == ["energylens", "profile", str(spec), "-o", str(out)] and command[-1] == "--resume", line
    assert _options(command[5:-1]) == _options([a for a in extra if a != "--resume"]), line


@pytest.mark.parametrize("n, said", [(1, "keeps 1 unit's row ("), (2, "keeps 2 units' rows (")])
def test_the_stop_line_counts_one_row_and_many(tmp_path, monkeypatch, capsys, n, said):
    """'keeps 1 units' rows' read as a typo in the line a user reads after Ctrl-C."""
    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\nbackend = "vllm"\ngpu = "H100"\n[grid]\nmodels = ["org/m"]\nmax_num_seqs = [1]\n'
                    'input_len = [8]\noutput_len = [4]\n')
    monkeypatch.setattr(profile_cli, "run_sweep", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    out = tmp_path / "out"
    (out / "parts").mkdir(parents=True)
    for k in range(n):
        (out / "parts" / f"{k}.parquet").write_bytes(b"")
    assert cli_main(["profile", str(spec), "-o", str(out), "--power-source", "synthetic:200"]) == 130
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"the store {out} {said}every unit that finished); `" in line, line


def test_a_sweep_stopped_before_its_first_unit_finished_says_how_to_go_on(tmp_path, monkeypatch, capsys):
    """Ctrl-C before any unit finished left the store's marker: the same command again is refused (the directory
    holds a store), and until 2026-12-06 the stop line said only 'no unit had finished, DIR holds no rows'."""
    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\nbackend = "vllm"\ngpu = "H100"\n[grid]\nmodels = ["org/m"]\nmax_num_seqs = [1]\n'
                    'input_len = [8]\noutput_len = [4]\n')

    def interrupted(cfg, source):
        raise KeyboardInterrupt

    real = profile_cli.run_sweep
    monkeypatch.setattr(profile_cli, "run_sweep", lambda *a, **k: real(*a, **k, run_one=interrupted))
    out = tmp_path / "out"
    argv = ["profile", str(spec), "-o", str(out), "--power-source", "synthetic:200"]
    assert cli_main(argv) == 130
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"no unit had finished, {out} holds no rows yet; `" in line and "` starts it again" in line, line
    command = shlex.split(line.split("`")[1])
    assert command[-1] == "--resume"
    monkeypatch.setattr(profile_cli, "run_sweep", real)
    assert cli_main(argv[:1] + command[2:] + ["--dry-run"]) == 0  # (the command given is accepted)
    assert cli_main(argv + ["--dry-run"]) == 2 and "already holds a sweep store" in capsys.readouterr().err
    (tmp_path / "fresh").mkdir()  # stopped before the store was made: nothing to resume, nothing said of it
    monkeypatch.setattr(profile_cli, "run_sweep", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert cli_main(["profile", str(spec), "-o", str(tmp_path / "fresh"), "--power-source", "synthetic:200"]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(f"no unit had finished, {tmp_path / 'fresh'} "
                                                                     "holds no rows")


def _options(words: list[str]) -> dict[str, str]:
    """--flag value pairs and bare flags, in any order."""
    out, k = {}, 0
    while k < len(words):
        bare = words[k] in ("--ray-no-gpus", "--retry-failed")
        out[words[k]] = "" if bare else words[k + 1]
        k += 1 if bare else 2
    return out


def test_resuming_an_active_store_in_another_order_says_so(tmp_path):
    """A crashed `--strategy active --budget 18` sweep (no stop line to copy) resumed by hand as `--resume` went on in
    grid order through every unit left without a word; it still may (finishing the grid is a choice), but the
    start says the store's units were chosen by active and how to go on choosing."""
    store = tmp_path / "s"
    run_sweep(_vllm_tp_spec(), str(store), power_source="synthetic:200", budget=3, strategy="active",
              run_one=_stand_in(lambda c: False, []), out=io.StringIO())
    out = io.StringIO()
    run_sweep(_vllm_tp_spec(), str(store), resume=True, power_source="synthetic:200", budget=4,
              run_one=_stand_in(lambda c: False, []), out=out)
    assert ("note: the 3 units measured in this store were chosen by --strategy active; this run measures in grid "
            "order (add --strategy active to go on choosing)") in out.getvalue()
    out = io.StringIO()
    run_sweep(_vllm_tp_spec(), str(store), resume=True, power_source="synthetic:200", budget=5, strategy="active",
              run_one=_stand_in(lambda c: False, []), out=out)
    assert "chosen by --strategy active" not in out.getvalue()
