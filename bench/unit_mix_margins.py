"""How far real data stays from the mixed-units check of a fit (energylens.profiles.unit_mix,
docs/profile-schema.md "Mixed units"): per data set and measured column, the largest ratio between neighbouring
values within one model and GPU (energy_j per output token), against GAP_FACTOR. Prints only; writes nothing.
The v3 export and Splitwise are read from $ENERGYLENS_SHARED_DATA (bench/data_paths.py), skipped when absent.

    python bench/unit_mix_margins.py
"""

import argparse
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from data_paths import SHARED_DATA, SPLITWISE, V3  # noqa: E402
from energylens.profiles import load_profiles  # noqa: E402
from energylens.profiles.unit_mix import GAP_FACTOR, largest_step  # noqa: E402

SETS = (("bundled ML.ENERGY v2", "bundled", True),
        ("ML.ENERGY v2 flat CSV", SHARED_DATA / "mlenergy-v2-2024" / "llm_configs_flat.csv", True),
        ("ML.ENERGY v3 H100", V3, True), ("Splitwise", SPLITWISE, False))


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    print(f"check: a step over {GAP_FACTOR:g}x between neighbours (one model and GPU) splits a column")
    for name, path, energy in SETS:
        if path != "bundled" and not Path(path).is_file():
            print(f"{name}: {path} not found, skipped", file=sys.stderr)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the readers' own notes (dropped derived rows, ...)
            frame = load_profiles(str(path), require_energy=energy)
        for col in ("energy_j", "ttft_s", "tpot_s"):
            if col in frame and frame[col].notna().any():
                step = largest_step(frame, col)
                print(f"{name} ({len(frame)} rows) {col}: largest step {step:.2f}x, "
                      f"{GAP_FACTOR / step:.0f}x below the check")


if __name__ == "__main__":
    main()
