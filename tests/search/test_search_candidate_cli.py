"""`energylens search --candidates FILE` with an axis option: the error names the command's options, not only
the Python arguments (it said "candidates= gives the configurations; do not also pass tp")."""

import pandas as pd

from energylens.cli.main import main


def test_an_axis_option_beside_candidates_is_named_as_the_command_spells_it(tmp_path, capsys):
    path = tmp_path / "cands.csv"
    pd.DataFrame([dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="H100", tp=1, batch_size=8, input_tokens=1000,
                       output_tokens=200)]).to_csv(path, index=False)
    assert main(["search", "--candidates", str(path), "--tp", "2", "--max-num-seqs", "4"]) == 2
    err = capsys.readouterr().err
    assert "candidates= (--candidates) gives the configurations; do not also pass tp (--tp), max_num_seqs " \
           "(--max-num-seqs)" in err
