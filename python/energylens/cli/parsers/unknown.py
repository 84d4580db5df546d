"""What an unrecognised option of a command should have been (light: :mod:`energylens.cli.parsers`).

``energylens search --tensor-parallel-size 8`` (vLLM's name) read only argparse's "unrecognized arguments"; the
Python ``search(tensor_parallel_size=8)`` names ``tp`` (energylens.search.options.VLLM_NAMES). Here the command
line does the same with its own option names, and names the closest of the command's options for another
unknown one (:func:`unknown_options_message`).
"""

from __future__ import annotations

import argparse
import difflib

__all__ = ["VLLM_OPTIONS", "unknown_options_message"]

#: vLLM's option names (``vllm serve``'s, short forms included) -> this command line's option, and what to add.
#: The long names are energylens.search.options.VLLM_NAMES' keys with dashes (copied: importing the search loads
#: numpy; tests/cli/test_unknown_option_hints.py compares them).
VLLM_OPTIONS = {
    "--tensor-parallel-size": ("--tp", ""), "-tp": ("--tp", ""),
    "--pipeline-parallel-size": ("--pp", ""), "-pp": ("--pp", ""),
    "--data-parallel-size": ("--dp", ""), "-dp": ("--dp", ""),
    "--enable-expert-parallel": ("--ep", ", the EP group size, which vLLM makes tp x dp: --tp 8 --ep 1,8 searches "
                                         "TP 8 with and without expert parallelism"),
    "--expert-parallel-size": ("--ep", " (vLLM makes the EP group tp x dp)"),
    "--quantization": ("--precision", ", the weights' format: fp8, int4, mxfp4, ..."), "-q": ("--precision", ""),
}


def _hint(option: str, known: list[str]) -> str:
    """``option`` (an unknown one, without ``=value``) and what the command takes instead, where something fits."""
    if option in VLLM_OPTIONS and VLLM_OPTIONS[option][0] in known:
        target, more = VLLM_OPTIONS[option]
        return f"{option}: vLLM's name; here {target}{more}"
    close = difflib.get_close_matches(option, [k for k in known if k.startswith("--")], n=3, cutoff=0.7)
    return f"{option}: did you mean {' or '.join(close)}?" if close else ""


def unknown_options_message(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    """argparse's "unrecognized arguments: ..." for ``extras`` (what ``parser``, a command's, left unparsed), with
    a hint for each unknown option that has one: the command's option for a vLLM name, else its closest options."""
    known = [s for action in parser._actions for s in action.option_strings]
    hints = [_hint(a.split("=", 1)[0], known) for a in extras if a.startswith("-") and len(a) > 1]
    said = "; ".join(h for h in hints if h)
    return f"unrecognized arguments: {' '.join(extras)}" + (f" ({said})" if said else "")
