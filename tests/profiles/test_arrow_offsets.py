"""Arrow text coding checks every offset before reading any row: offsets that start and end inside the data
but jump past it in between read beyond the buffer (an ASan heap-buffer-overflow before the check)."""

import numpy as np
import pytest

from energylens import _core

DATA = np.zeros(10, np.uint8)


@pytest.mark.parametrize("kind", [np.int32, np.int64])
def test_text_coder_rejects_an_offset_past_the_data_between_valid_ends(kind):
    with pytest.raises(ValueError, match="decrease at row 1"):
        _core.TextCoder().code_arrow(np.array([0, 4096, 5], kind), DATA)
    with pytest.raises(ValueError, match="outside the data buffer"):
        _core.TextCoder().code_arrow(np.array([0, 4, 11], kind), DATA)
    with pytest.raises(ValueError, match="outside the data buffer"):
        _core.TextCoder().code_arrow(np.array([-1, 4], kind), DATA)


@pytest.mark.parametrize("kind", [np.int32, np.int64])
def test_arrow_columns_reject_an_offset_past_the_data_between_valid_ends(kind):
    with pytest.raises(ValueError, match="decrease at row 1"):
        _core.code_arrow_columns([[(np.array([0, 4096, 5], kind), DATA)]])
    good = np.array([0, 2, 10], kind)
    with pytest.raises(ValueError, match="decrease at row 1"):  # a bad second chunk: refused before any coding
        _core.code_arrow_columns([[(good, DATA), (np.array([0, 4096, 5], kind), DATA)]])


def test_good_offsets_still_code():
    coder = _core.TextCoder()
    codes = coder.code_arrow(np.array([0, 2, 2, 4], np.int64), DATA)
    assert codes.tolist() == [0, 1, 0]
