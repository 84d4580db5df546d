"""An output path that is a symbolic link (``models/current.json -> v7.json``, as users keep the model a
scheduler reads) is written through: the link's target gets the new file, atomically (its temporary file
beside the target), and the link stays a link. It was replaced by a regular file, so v7.json kept the old
model and the link was gone. Every file output goes through :func:`energylens.outputs.atomic_file`
(fit -o, predict -o, search --plot, discover -o, monitor -o, save())."""

import os

import pandas as pd
import pytest

from energylens.cli import main
from energylens.errors import OutputError
from energylens.model import load_model
from energylens.outputs import atomic_file, check_output_path
from energylens.profiles.datasets import load_profiles_or_bundled


def _linked(tmp_path, content: bytes, relative: bool = True, suffix: str = ".json"):
    """``models/current.json`` -> ``v7.json`` (relative, as ``ln -s v7.json current.json`` makes) holding
    ``content``."""
    models = tmp_path / "models"
    models.mkdir()
    target = models / f"v7{suffix}"
    target.write_bytes(content)
    link = models / f"current{suffix}"
    link.symlink_to(target.name if relative else target)
    return link, target


@pytest.mark.parametrize("relative", [True, False], ids=["relative link", "absolute link"])
def test_fit_writes_through_a_linked_model_file(small_model_file, tmp_path, capsys, relative):
    link, target = _linked(tmp_path, small_model_file.read_bytes(), relative)
    assert main(["fit", "bundled", "--bootstrap", "0", "--no-latency", "-o", str(link)]) == 0
    assert f"replaced existing {link}" in capsys.readouterr().err
    assert link.is_symlink() and os.readlink(link) == ("v7.json" if relative else str(target))
    assert load_model(target).summary.n_rows == 356  # the new fit (the old one had 60 rows)
    assert sorted(p.name for p in link.parent.iterdir()) == ["current.json", "v7.json"]  # no temporary left


def test_predict_writes_through_a_linked_table(small_model_file, tmp_path):
    data = tmp_path / "p.csv"
    load_profiles_or_bundled("bundled").head(4).to_csv(data, index=False)
    link, target = _linked(tmp_path, b"energy_j_pred\n1.0\n", suffix=".csv")
    assert main(["predict", str(small_model_file), str(data), "-o", str(link)]) == 0
    assert link.is_symlink()
    assert len(pd.read_csv(target)) == 4


def test_atomic_file_writes_a_dangling_links_target(tmp_path):
    link = tmp_path / "out.json"
    link.symlink_to("later.json")
    with atomic_file(link) as tmp:
        tmp.write_text("{}")
    assert link.is_symlink() and (tmp_path / "later.json").read_text() == "{}"


def test_a_link_into_a_missing_folder_is_refused_before_the_work(tmp_path):
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "gone" / "m.json")
    with pytest.raises(OutputError, match=r"out\.json: links to .*gone/m\.json, whose folder .*gone does not "
                                          "exist"):
        check_output_path(link)
