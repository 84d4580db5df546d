"""What a sweep's start line (and ``--dry-run``) says before anything runs: the energy a power source will give here
(:func:`power_source_note`) and what ``energylens fit`` will make of the GPU name each row records
(:func:`gpu_name_note`)."""

from __future__ import annotations

from energylens.capabilities import capabilities
from energylens.errors import UnknownGpuError
from energylens.profiles.gpu_table import gpu_spec
from energylens.profiling.spec import SweepSpec, spec_error

__all__ = ["gpu_name_note", "power_source_note"]


def _nvml_reason(caps) -> tuple[str, str]:
    """Why NVML is unavailable, as both start notes quote it: the first line of the loader's message, split into the
    reason and its ". Fix: ..." ("" where the message has none); ("no driver", "") without a message."""
    first = caps.nvml_reason.splitlines()[0] if caps.nvml_reason else "no driver"
    why, _, fix = first.partition(". Fix:")
    return why, fix.strip()


def gpu_name_note(spec: SweepSpec, local: bool = True) -> str:
    """What ``energylens fit`` will say of the rows' ``gpu`` column, with the key's line, or ``""``: where
    ``sweep.gpu`` is one the GPU table does not know or names ambiguously; where it is not set, the units run on this
    machine (``local``) and neither NVML nor energylens's CUDA runtime sees a GPU here, that each row records the
    device torch names (worker.run_in_process), ``'cpu'`` where torch sees no GPU either, which fit refuses (until
    2026-12-07 nothing said so before the rows were refused); a GPU only torch sees (ROCm) records torch's name for
    it. torch is not imported to ask (1.3 s on the dev box, at every start and --dry-run):
    until 2026-12-07 the note said every such row records 'cpu', ROCm's and CUDA-without-NVML's included."""
    gpu = spec.sweep.get("gpu", "")
    if not gpu:
        caps = capabilities() if local else None
        if caps is None or caps.nvml_available or caps.cuda_devices > 0:  # CUDA sees one: rows record its name
            return ""
        return str(spec_error(spec, "sweep.gpu", f"not set, and NVML sees no GPU here ({_nvml_reason(caps)[0]}), so "
                              "each row will record the device its unit runs on as torch names it: 'cpu' where torch "
                              "sees no GPU either, which `energylens fit` refuses (it prices GPUs), or a GPU NVML "
                              "cannot see (ROCm) by its torch.cuda.get_device_name(), which fit prices where the GPU "
                              "table knows the name; to exercise the pipeline on a CPU, set sweep.gpu to the GPU the "
                              'test stands for (gpu = "H100")'))
    try:
        gpu_spec(gpu)
        return ""
    except UnknownGpuError as exc:
        said = str(exc.args[0] if exc.args else exc).split(". ")
        said = said[:2] if len(said) > 1 and "close matches" in said[1].lower() else said[:1]
        return str(spec_error(spec, "sweep.gpu", f"{gpu!r}, the name each row records in its gpu column, is not "
                              f"one the GPU table prices ({'. '.join(said).rstrip('.')}): `energylens fit` will "
                              "refuse the rows unless a --gpu-table FILE adds the name; or write a name the table "
                              "knows"))


def power_source_note(power_source: str, local: bool) -> str:
    """The start line's word on energy: NVML asked for on a machine without it measures time only."""
    if power_source != "nvml" or not local:
        return f"power source {power_source}"
    caps = capabilities()
    if caps.nvml_available:
        return "power source nvml"
    why, fix = _nvml_reason(caps)
    return (f"power source nvml, NOT AVAILABLE here ({why}{'. Fix: ' + fix if fix else ''}): "
            "rows get timings only, energy columns NaN; run where NVML is, or pass --power-source none to say so")
