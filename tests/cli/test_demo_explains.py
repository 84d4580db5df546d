"""``energylens demo`` says what its tables mean and how to run its search again: the choices table's "latency-first
pick", "B" and "saved" had no word on them, the comparison's columns no pointer to where the report defines them,
and the closing search read "energylens search: model=meta-llama/..., tpot_limit_s=0.1", which is no command line."""

from __future__ import annotations

import io
import shlex

import pytest

from energylens.cli.demo import DEMO_SEARCH, choices_table, demo_search_command, run_demo
from energylens.cli.main import build_parser
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def text() -> str:
    out = io.StringIO()
    assert run_demo(compare=False, out=out, train_size=40) == 0
    return out.getvalue()


def test_the_choices_table_is_explained(text):
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("task ") and "latency-first pick" in line)
    said = lines[header - 1]
    for word in ("energylens pick:", "latency-first pick: its lowest measured TPOT", "B: the server's batch cap",
                 "saved:"):
        assert word in said, said


def test_the_latency_first_pick_is_the_lowest_measured_tpot():
    data = mlenergy_v2().reset_index(drop=True)
    model = EnergyModel(bootstrap=0).fit(data.sample(40, random_state=0))
    table = choices_table(data, model.predict(data, check_range=False), data["tpot_s"].to_numpy())
    for _, r in table.head(10).iterrows():
        g = data[(data["task"] == r["task"]) & (data["gpu"] == r["gpu"]) & data["model"].str.endswith("/" + r["model"])]
        fast = g.loc[g["tpot_s"].idxmin()]
        assert r["latency_first"] == f"TP{int(fast['tp'])} PP{int(fast['pp'])} B{int(fast['max_batch_size'])}"


def test_the_closing_search_is_a_command_line_that_parses_to_its_arguments(text):
    command = demo_search_command()
    assert command in text
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert (args.model, args.gpus, args.tpot_limit, args.top) == (DEMO_SEARCH["model"], DEMO_SEARCH["gpus"],
                                                                   DEMO_SEARCH["tpot_limit_s"], 5)
    assert (list(args.input_tokens), list(args.output_tokens)) == ([DEMO_SEARCH["input_tokens"]],
                                                                   [DEMO_SEARCH["output_tokens"]])
    assert "tpot_limit_s=" not in text


def test_the_nominal_prompt_lengths_read_as_predict_and_fit_write_them(text):
    """They read "chat 140.0, code 130.0" where predict's note reads "chat 140, code 130"."""
    line = next(x for x in text.splitlines() if "nominal prompt tokens per task" in x)
    assert "chat 140," in line and ".0" not in line
