"""The Pareto plot's title names the GPUs as the printed table does (``H100``, ``A100-SXM4-80GB`` beside it):
it wrote the GPU table's full names (``H100-SXM5-80GB``) whatever the user typed and the table printed."""

import warnings

import matplotlib
import matplotlib.figure
import pytest

import energylens

matplotlib.use("Agg")


def _title(monkeypatch, result, path) -> str:
    seen = {}
    original = matplotlib.figure.Figure.savefig

    def spy(fig, *args, **kwargs):
        seen["title"] = fig._suptitle.get_text()
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    result.plot(str(path))
    return seen["title"].replace("\n", " ")


def _search(model, gpus, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search("meta-llama/Llama-3.1-8B-Instruct", gpus, input_tokens=512, output_tokens=256,
                                 energy_model=model, bootstrap=False, top=20, **kw)


@pytest.mark.parametrize("gpus", ["H100,A100-SXM4-80GB", "NVIDIA H100 80GB HBM3,a100-sxm4-80gb"])
def test_the_title_names_the_gpus_as_the_table_does(model, monkeypatch, tmp_path, gpus):
    r = _search(model, gpus)
    title = _title(monkeypatch, r, tmp_path / "p.png")
    assert title.startswith("Meta-Llama-3.1-8B-Instruct on H100, A100-SXM4-80GB; fixed batch, 512 in / 256 out tokens"), title
    assert "H100-SXM5-80GB" not in title
    table = r.table()
    assert " H100 bf16 " in table and " A100-SXM4-80GB bf16 " in table and "H100-SXM5-80GB" not in table


def test_two_parts_of_one_gpu_keep_their_full_names(model, monkeypatch, tmp_path):
    """"H100" would name only one of them: the title, as the table, writes both in full."""
    r = _search(model, "H100-SXM5-80GB,H100-PCIe-80GB")
    title = _title(monkeypatch, r, tmp_path / "p.svg")
    assert " on H100-SXM5-80GB, H100-PCIe-80GB; " in title, title
    assert "H100-PCIe-80GB bf16" in r.table()
