"""A GPU name cut inside its model number (``H10``, ``MI3``) was called "ambiguous" and the message offered a user GPU
table row mapping it onto H100-SXM5-80GB, as if ``H10`` were a family name like ``A100``. There is no GPU named H10:
now it is an unknown GPU with its close names (the H100 parts first); a family name that ends where the table's
names break (``A100``, ``A100-SXM4``, ``RTX``) is still ambiguous with its variants."""

from __future__ import annotations

import pytest

from energylens.cli import main
from energylens.errors import UnknownGpuError
from energylens.profiles import tables


@pytest.mark.parametrize(("name", "first"), [("H10", "H100"), ("MI3", "MI3"), ("GH20", "GH200")])
def test_a_name_cut_inside_its_number_is_unknown_with_close_names(name, first):
    with pytest.raises(UnknownGpuError) as err:
        tables.gpu_spec(name)
    text = str(err.value)
    assert text.startswith(f"unknown GPU {name!r}") and "ambiguous" not in text and "'name,aliases'" not in text, text
    close = text.split("Close matches: ", 1)[1].split(".", 1)[0].split(", ")
    assert close[0].startswith(first), close


@pytest.mark.parametrize(("name", "variants"), [
    ("A100", ["A100-PCIe-40GB", "A100-PCIe-80GB", "A100-SXM4-40GB", "A100-SXM4-80GB"]),
    ("A100-SXM4", ["A100-SXM4-40GB", "A100-SXM4-80GB"]),
    ("RTX", ["RTX-6000-Ada", "RTX-PRO-6000-Blackwell"]),
])
def test_a_family_name_is_still_ambiguous(name, variants):
    with pytest.raises(UnknownGpuError, match="is ambiguous") as err:
        tables.gpu_spec(name)
    assert f"({', '.join(variants)})" in str(err.value)


def test_search_says_there_is_no_gpu_named_h10(capsys):
    code = main(["search", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpus", "H10", "--input-tokens", "512",
                 "--output-tokens", "256"])
    err = capsys.readouterr().err
    assert code != 0 and "unknown GPU 'H10' given to --gpus" in err and "H100-SXM5-80GB" in err, err
    assert "ambiguous" not in err and "'H100-SXM5-80GB,H10'" not in err
