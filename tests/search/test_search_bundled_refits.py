"""A search without a model file fitted the bundled model with 100 bootstrap refits, ``energylens fit bundled``
with 200 (EnergyModel's and the command's default), so the same data gave two sets of intervals, P(best) and
confidence limits: a search given the fitted file disagreed with one given nothing. The search now fits with
EnergyModel's default."""

import warnings

from tests.search.quiet_search import search_quietly

from energylens.cli.main import main
from energylens.cli.parsers.common import DEFAULTS
from energylens.model import EnergyModel, load_model
from energylens.search.api import bundled_model

KW = dict(model="meta-llama/Llama-3.1-70B-Instruct", gpus="H100,H200", input_tokens=512, output_tokens=256, top=4)


def test_the_bundled_model_has_the_fit_commands_refits():
    assert bundled_model().bootstrap_replicates == DEFAULTS["bootstrap"] == EnergyModel().bootstrap_replicates


def test_a_search_without_a_model_file_matches_one_given_fit_bundled(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["fit", "bundled", "-o", str(tmp_path / "m.json")]) == 0
    given = search_quietly(**KW, energy_model=load_model(tmp_path / "m.json"), tpot_limit_s=0.12, limit_confidence=0.9)
    default = search_quietly(**KW, tpot_limit_s=0.12, limit_confidence=0.9)
    assert default.settings["effective_tpot_limit_s"] == given.settings["effective_tpot_limit_s"]
    cols = ["index", "energy_j", "energy_j_lo", "energy_j_hi", "p_best"]
    assert default.top[cols].equals(given.top[cols]), (default.top[cols], given.top[cols])
