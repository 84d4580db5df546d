"""One GPU's datasheet row (:class:`GpuSpec`), its columns, and the checks every row given by a user passes.

The bundled table, a user GPU table and a profile file's GPU spec columns (:mod:`energylens.profiles.gpu_table`)
all make their :class:`GpuSpec` here: each value a number in a physically sane range (:func:`cell_number`), a GPU
no table knows with what the energy template needs (:func:`check_usable`), a second description of a known GPU
only filling its blank cells (:func:`fill_blanks`). Every error names the file, the 1-based data row(s) and the
column (:func:`where_in`).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, fields, replace

from energylens.errors import ProfileSchemaError
from energylens.profiles import precision as _precision
from energylens.profiles.number_cells import NA_WORDS, WATTS, non_numeric_reason
from energylens.profiles.problems import EMPTY_ROW_REASON, HINT
from energylens.profiles.row_names import RowNames

__all__ = [
    "GpuSpec", "GpuTableError", "DEFAULT_SCALE_UP_DOMAIN_GPUS", "DEFAULT_SCALE_OUT_BW_GBS", "GPU_COLUMNS",
    "GPU_NUMERIC_COLUMNS", "INLINE_COLUMNS", "NEEDED_COLUMNS", "SIXTEEN_BIT_COLUMNS", "spec_names", "rows_text",
    "where_in", "cell_number", "spec_from_record", "check_usable", "fill_blanks",
]

@dataclass(frozen=True)
class GpuSpec:
    """One row of the GPU table. Peaks are DENSE (no structured sparsity); NaN where unsupported or
    not published.

    Attributes:
        name: canonical name, e.g. ``"H100-SXM5-80GB"``.
        aliases: other spellings (NVML names among them).
        vendor: ``"nvidia"``, ``"amd"`` (``"user"`` for a GPU described only by profile columns).
        memory_gb: device memory, GB.
        hbm_bw_gbs: peak memory bandwidth (HBM or GDDR), GB/s.
        peak_fp32_tflops: FP32 (CUDA-core / vector, not TF32) peak, TFLOP/s.
        peak_fp16_tflops, peak_bf16_tflops, peak_fp8_tflops, peak_fp4_tflops: tensor peaks, TFLOP/s.
        peak_int8_tops: INT8 tensor peak, TOP/s.
        tdp_w: board power limit (TDP / max TGP / TBP), W.
        interconnect_bw_gbs: per-GPU scale-up bandwidth (NVLink / Infinity Fabric; PCIe when that is
            all a multi-GPU group has), bidirectional, GB/s.
        scale_up_domain_gpus: GPUs in one scale-up domain (NVLink / Infinity Fabric / PCIe server) of the
            GPU's typical platform: 8 on HGX / MI300X-class boards, 72 on GB200 NVL72, 2 for H100 NVL
            bridge pairs. Blank: :data:`DEFAULT_SCALE_UP_DOMAIN_GPUS` (:meth:`domain_gpus`).
        scale_out_bw_gbs: per-GPU inter-node NIC bandwidth of that platform, bidirectional GB/s like
            ``interconnect_bw_gbs`` (400 Gb/s ConnectX-7 per GPU = 100). Blank:
            :data:`DEFAULT_SCALE_OUT_BW_GBS` (:meth:`scale_out_gbs`).
        source: URL(s) of the datasheet and of the platform's (``;``-separated), or the user file the row came from.
    """

    # every field but the name has a default (blank, as a user table's cell): GpuSpec(name=..., hbm_bw_gbs=..., ...)
    # with what a table row needs; the order is the table's, so positional constructions stay valid
    name: str
    aliases: tuple[str, ...] = ()
    vendor: str = "user"
    memory_gb: float = math.nan
    hbm_bw_gbs: float = math.nan
    peak_fp32_tflops: float = math.nan
    peak_fp16_tflops: float = math.nan
    peak_bf16_tflops: float = math.nan
    peak_fp8_tflops: float = math.nan
    peak_int8_tops: float = math.nan
    peak_fp4_tflops: float = math.nan
    tdp_w: float = math.nan
    interconnect_bw_gbs: float = math.nan
    source: str = ""
    scale_up_domain_gpus: float = math.nan  # after source, with defaults: positional constructions stay valid
    scale_out_bw_gbs: float = math.nan

    def domain_gpus(self) -> float:
        """GPUs per scale-up domain: the table's value, :data:`DEFAULT_SCALE_UP_DOMAIN_GPUS` where blank."""
        return DEFAULT_SCALE_UP_DOMAIN_GPUS if math.isnan(self.scale_up_domain_gpus) else self.scale_up_domain_gpus

    def scale_out_gbs(self) -> float:
        """Per-GPU scale-out bandwidth (bidirectional GB/s): the table's, :data:`DEFAULT_SCALE_OUT_BW_GBS` where blank."""
        return DEFAULT_SCALE_OUT_BW_GBS if math.isnan(self.scale_out_bw_gbs) else self.scale_out_bw_gbs

    def compute_precision(self, precision: str) -> str:
        """The precision ``precision`` weights compute at on this GPU (:func:`precision.compute_precision`)."""
        return _precision.compute_precision(precision, self)

    def peak_flops(self, precision: str) -> float:
        """Dense peak FLOP/s of the compute precision of ``precision`` weights on this GPU
        (:func:`energylens.profiles.precision.peak_flops`: mxfp4 -> fp4 or bf16, fp8 -> fp8 or bf16, int4 -> bf16).

        Raises:
            ValueError: unknown precision, or no peak the format can use is filled in.
        """
        return _precision.peak_flops(self, precision)

    def bytes_per_param(self, precision: str) -> float:
        """Same as :func:`energylens.profiles.precision.bytes_per_param` (GPU-independent)."""
        return _precision.bytes_per_param(precision)


#: Assumed where a row leaves ``scale_up_domain_gpus`` / ``scale_out_bw_gbs`` blank (an old user GPU table, inline
#: ``gpu_*`` columns): an 8-GPU HGX-class node (the search's node size before the column), and one 400 Gb/s NIC
#: per GPU as on HGX H100 / H200 (ConnectX-7: 50 GB/s per direction, 100 bidirectional).
DEFAULT_SCALE_UP_DOMAIN_GPUS, DEFAULT_SCALE_OUT_BW_GBS = 8.0, 100.0
GPU_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(GpuSpec))
GPU_NUMERIC_COLUMNS: tuple[str, ...] = tuple(c for c in GPU_COLUMNS[3:] if c != "source")
#: Profile column -> GPU-table column for GPUs described inline (``gpu_`` + the table column).
INLINE_COLUMNS: dict[str, str] = {f"gpu_{c}": c for c in GPU_NUMERIC_COLUMNS}
#: Physically sane ranges (inclusive) a user value must fall in; catches unit slips (TB/s for GB/s).
_RANGES: dict[str, tuple[float, float]] = {
    "memory_gb": (1.0, 4096.0), "hbm_bw_gbs": (50.0, 50000.0), "tdp_w": (10.0, 5000.0),
    "interconnect_bw_gbs": (1.0, 50000.0), "scale_up_domain_gpus": (1.0, 100000.0),
    "scale_out_bw_gbs": (1.0, 50000.0),
    # tensor-core peaks below 5 TFLOP/s are a unit slip (0.8 for 800: PFLOP/s), not a GPU anyone serves an LLM on
    # (the table's lowest 16-bit peak is 121, a 2016 P100's 21); plain fp32 from 1
    **{c: (1.0 if "fp32" in c else 5.0, 200000.0) for c in GPU_NUMERIC_COLUMNS if "peak" in c},
}
#: What a GPU needs for the energy template (plus one of the 16-bit peaks).
NEEDED_COLUMNS: tuple[str, ...] = ("hbm_bw_gbs", "tdp_w", "interconnect_bw_gbs")
SIXTEEN_BIT_COLUMNS: tuple[str, ...] = ("peak_bf16_tflops", "peak_fp16_tflops")
_AGREE_REL = 1e-6
#: Rows an error lists before "and N more".
_MAX_ROWS_SHOWN = 20


class GpuTableError(ProfileSchemaError):
    """A GPU table (bundled or user) or a profile's GPU spec columns are malformed; the message names
    the file, the 1-based data row(s) and the column (``.source``, ``.rows`` zero-based, ``.column``)."""


def spec_names(spec_or_row) -> list[str]:
    """The name and the aliases of a spec (or of anything with ``name`` and ``aliases``)."""
    return [spec_or_row.name, *spec_or_row.aliases]


# ---- Checking the values of one row --------------------------------------------------------------

def rows_text(rows: list[int]) -> str:
    """``data rows 2, 5`` for zero-based ``rows`` (the first 20, then ``and N more``)."""
    shown = ", ".join(str(r + 1) for r in rows[:_MAX_ROWS_SHOWN])
    more = f" and {len(rows) - _MAX_ROWS_SHOWN} more" if len(rows) > _MAX_ROWS_SHOWN else ""
    return f"data row{'s' if len(rows) > 1 else ''} {shown}{more}"


def where_in(source: str, rows: list[int], column: str | None) -> str:
    """``FILE: data rows 2, 5 (1-based, header not counted), column 'c'`` for zero-based ``rows``; a DataFrame's
    rows (``source`` a :class:`~energylens.profiles.row_names.RowNames`, ``rows`` its positions) as it names them."""
    if isinstance(source, RowNames):
        return source.where(rows, column)
    col = f", column {column!r}" if column else ""
    return f"{source}: {rows_text(rows)} (1-based, header not counted){col}"


def _blank(value: object) -> bool:
    """A cell read as NaN, None or blank text."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() in ("", "nan")


def cell_number(value, source: str, row: int, column: str, label: str | None = None, at: str | None = None) -> float:
    """``value`` as a float (NaN when blank), in :data:`_RANGES`; errors name ``label`` (default ``column``) at
    ``row`` of ``source``, or begin with ``at`` (a GpuSpec's field: :func:`check_spec`)."""
    label = label or column
    where, rows = (where_in(source, [row], label), [row]) if at is None else (at, None)
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() in NA_WORDS:
        return math.nan  # blank, or 'N/A' / 'NaN' as a profile table's CSV reads them
    try:
        x = float(str(value).strip())
    except ValueError:
        unit = _CELL_UNITS.get(column_unit(column))  # '0.7 kW': write 700
        hint = non_numeric_reason(value, label, unit=unit).partition(HINT)[2]  # '1,234': write 1234
        raise GpuTableError(f"{where}: {value!r} is not a number" + (f": {hint}" if hint else ""),
                            source=source, column=label, rows=rows) from None
    lo, hi = _RANGES[column]
    if column == "scale_up_domain_gpus" and x != int(x):
        raise GpuTableError(f"{where}: {x:g} is not a whole number of GPUs", source=source, column=label, rows=rows)
    if not (lo <= x <= hi):
        raise GpuTableError(f"{where}: {x:g} is outside the sane range [{lo:g}, {hi:g}]" + _range_hint(column, x),
                            source=source, column=label, rows=rows)
    return x


#: A column name's unit as people write it, and the units a datasheet (or a tool) gives the same number in:
#: (factor to this unit, unit) tried in order; the first that lands in the sane range is the likely slip.
_UNITS: dict[str, tuple[str, tuple[tuple[float, str], ...]]] = {
    "gbs": ("GB/s", ((1e3, "TB/s"), (1e-9, "bytes/s"), (1e-3, "MB/s"), (0.125, "Gbit/s"))),
    "gb": ("GB", ((1e-9, "bytes"), (1e-6, "kB"), (1e3, "TB"))),
    "w": ("W", ((1e3, "kW"),)),
    "tflops": ("TFLOP/s", ((1e3, "PFLOP/s"), (1e-12, "FLOP/s"), (1e-3, "GFLOP/s"))),
    "tops": ("TOP/s", ((1e3, "POP/s"), (1e-12, "OP/s"), (1e-3, "GOP/s"))),
    "gpus": ("GPUs", ()),
}


#: A column's unit (:func:`column_unit`) -> the unit a non-numeric cell's hint converts a written unit into
#: (:mod:`.number_cells`): '0.7 kW' in tdp_w is 700.
_CELL_UNITS = {"W": WATTS}


def column_unit(column: str) -> str:
    """The unit of GPU-table column ``column`` as people write it (``'GB/s'`` for hbm_bw_gbs); '' for a text column."""
    return _UNITS.get(column.rsplit("_", 1)[-1], ("",))[0] if column in _RANGES else ""


def _range_hint(column: str, x: float) -> str:
    """What an out-of-range value of ``column`` is in units (`` (GB/s): 3.35 reads as TB/s? write 3350``), the
    unit slip that lands it in range named with the number to write; peaks are dense (a sparse one is 2x)."""
    unit, slips = _UNITS[column.rsplit("_", 1)[-1]]
    lo, hi = _RANGES[column]
    said = f" ({unit}{'; dense peaks, not sparse' if 'peak' in column else ''})"
    for factor, other in slips:
        if lo <= x * factor <= hi:
            return f"{said}: is {x:g} in {other}? write {x * factor:g}, in {unit}"
    return said


#: Vendors whose GPUs the model prices differently (NVIDIA: NCCL's NVLS memory on NVLink 4+ switches; AMD: block-fp8
#: at the bf16 rate), with the company names tools print for them; any other vendor is kept as written.
_VENDORS: dict[str, str] = {"nvidia": "nvidia", "nvidia corporation": "nvidia", "amd": "amd",
                            "advanced micro devices": "amd", "advanced micro devices, inc.": "amd",
                            "advanced micro devices inc": "amd", "amd inc": "amd"}


def vendor_cell(value, source: str, row: int, at: str | None = None) -> str:
    """A ``vendor`` cell as the model reads it: ``nvidia`` / ``amd`` (the company names too), ``user`` when blank,
    any other vendor lower-cased; a misspelt ``nvidia`` / ``amd`` (``nvida``, ``amdd``) is an error, for it would
    silently price the GPU as neither's (its memory without NCCL's NVLS buffers, say)."""
    written = " ".join(str(value if value is not None else "").split())
    if _blank(value) or written in NA_WORDS:
        return "user"
    text = written.lower()
    if text in _VENDORS:
        return _VENDORS[text]
    close = difflib.get_close_matches(text.split()[0].strip(",."), ("nvidia", "amd"), n=1, cutoff=0.75)
    if close:
        close = close[0]
        raise GpuTableError(f"{at or where_in(source, [row], 'vendor')}: {value!r} is not a vendor energylens knows: did you "
                            f"mean {close!r}? (nvidia and amd GPUs are priced with their own memory and kernels; "
                            "another vendor may be written as it is, or left blank)", source=source, column="vendor",
                            rows=[row])
    return text


#: Each format's dense peak over the one below it is at most this (2x on every bundled part, 3x allowed): a 4x step is
#: a 2:4 sparse figure (2x dense) beside a dense one.
_MAX_PEAK_STEP = 3.0


def peak_step_problem(spec: GpuSpec) -> tuple[str, str] | None:
    """(column, text) where a peak of ``spec`` is more than :data:`_MAX_PEAK_STEP` times the format below it
    (fp8 over the 16-bit peak, fp4 over fp8): a sparse figure among dense ones; None where the steps are sane."""
    filled = [c for c in SIXTEEN_BIT_COLUMNS if not math.isnan(getattr(spec, c))]
    below = max(filled, key=lambda c: getattr(spec, c), default=SIXTEEN_BIT_COLUMNS[0])
    sixteen = getattr(spec, below)
    for column, base, x, b in (("peak_fp8_tflops", below, spec.peak_fp8_tflops, sixteen),
                               ("peak_fp4_tflops", "peak_fp8_tflops", spec.peak_fp4_tflops, spec.peak_fp8_tflops)):
        if not (math.isnan(x) or math.isnan(b)) and x > _MAX_PEAK_STEP * b:
            return column, (f"{x:g} is {x / b:.3g}x {base} ({b:g}); a format's dense peak is at most "
                            f"{_MAX_PEAK_STEP:g}x the one below (2x on every bundled GPU): is it the 2:4 sparse figure? "
                            f"write the dense one ({x / 2:g} if so)")
    return None


def check_spec(spec: GpuSpec, where: str) -> GpuSpec:
    """``spec`` (a user's :class:`GpuSpec`, not read from a table's cells) with its vendor read as a cell's, after the
    checks a table's cells pass: each number a number in its sane range (a TB/s slip named with the number to
    write), a whole scale-up domain, no misspelt nvidia / amd. Errors name ``where``, the GPU and the field."""
    values = {}
    for c in GPU_NUMERIC_COLUMNS:
        at, v = f"{where}: GpuSpec {spec.name!r}, field {c!r}", getattr(spec, c)
        try:
            x = float(v)  # a Python value (True, numpy scalars) as float() reads it, not as a table cell's text
        except (TypeError, ValueError):
            raise GpuTableError(f"{at}: {v!r} is not a number", source=where, column=c) from None
        values[c] = cell_number(x, where, 0, c, at=at)  # the table cells' range and whole-GPU checks
    vendor = vendor_cell(spec.vendor, where, 0, at=f"{where}: GpuSpec {spec.name!r}, field 'vendor'")
    spec = replace(spec, vendor=vendor, **values)
    if (step := peak_step_problem(spec)) is not None:
        raise GpuTableError(f"{where}: GpuSpec {spec.name!r}, field {step[0]!r}: {step[1]}", source=where, column=step[0])
    return spec


def spec_from_record(rec: dict, source: str, row: int, default_source: str) -> GpuSpec:
    name = str(rec.get("name", "") or "").strip()
    if not name or name.lower() == "nan":
        if all(_blank(v) for v in rec.values()):  # a spreadsheet's trailing ',,,,' row
            raise GpuTableError(f"{where_in(source, [row], None)}: {EMPTY_ROW_REASON}", source=source, rows=[row])
        raise GpuTableError(f"{where_in(source, [row], 'name')}: missing GPU name", source=source,
                            column="name", rows=[row])
    aliases = str(rec.get("aliases", "") or "")
    aliases = "" if aliases.lower() == "nan" else aliases
    if "," in aliases:  # 'AX, Acme X1' would be one alias no one types
        raise GpuTableError(f"{where_in(source, [row], 'aliases')}: {aliases!r} holds a ','; aliases are ';'-separated: "
                            f"write {'; '.join(a.strip() for a in aliases.split(',') if a.strip())!r}", source=source,
                            column="aliases", rows=[row])
    vendor = vendor_cell(rec.get("vendor"), source, row)
    src = str(rec.get("source", "") or "").strip()
    values = {c: cell_number(rec.get(c), source, row, c) for c in GPU_NUMERIC_COLUMNS}
    if (step := peak_step_problem(GpuSpec(name=name, **values))) is not None:
        raise GpuTableError(f"{where_in(source, [row], step[0])}: {step[1]}", source=source, column=step[0], rows=[row])
    return GpuSpec(name=name, aliases=tuple(a.strip() for a in aliases.split(";") if a.strip()),
                   vendor=vendor,
                   source=src if src and src.lower() != "nan" else default_source, **values)


def check_usable(spec: GpuSpec, source: str, rows: list[int], prefix: str = "", columns=()) -> None:
    """A GpuTableError where ``spec`` lacks a value the template needs; a column of ``columns`` (the file's) written
    for a missing one (``gpu_hbm_bw_gb``, ``gpu_hbm_bw (TB/s)``, ``gpu_tdp_kw``: read as an extra column) is named."""
    missing = [c for c in NEEDED_COLUMNS if math.isnan(getattr(spec, c))]
    if all(math.isnan(getattr(spec, c)) for c in SIXTEEN_BIT_COLUMNS):
        missing.append(" or ".join(SIXTEEN_BIT_COLUMNS))
    if missing:
        cols = ", ".join(prefix + m.replace(" or ", " or " + prefix) for m in missing)
        written = [(n, prefix + c) for m in missing for c in m.split(" or ")
                   for n in [_written_for(prefix + c, columns)] if n is not None]
        said = "".join(f"; the column {n!r} is not read: name it {c!r}, in {column_unit(c.removeprefix(prefix))}"
                       for n, c in written)
        raise GpuTableError(f"{where_in(source, rows, None)}: GPU {spec.name!r} lacks {cols} (needed to predict "
                            f"energy; take them from the datasheet, dense peaks){said}", source=source,
                            column=prefix + missing[0].split(" ")[0], rows=rows)


def _written_for(column: str, columns) -> str | None:
    """The column of ``columns`` that is ``column`` with another unit, or none, or a unit in brackets; or None."""
    stem = column.rsplit("_", 1)[0]
    for name in columns:
        text = re.sub(r"\W+", "_", re.sub(r"\s*[(\[][^)\]]*[)\]]\s*$", "", str(name)).strip().lower())
        if str(name) != column and stem in (text, text.rsplit("_", 1)[0]):
            return str(name)
    return None


def fill_blanks(base: GpuSpec, extra: GpuSpec | dict, source: str, rows: list[int], prefix: str = "",
                named: str = "") -> GpuSpec:
    """``base`` with its blank cells filled from ``extra``; a filled cell ``extra`` contradicts is an error (``named``:
    after the GPU's name, how the row came to name it: `` (named by this row's alias 'H100')``)."""
    values = extra if isinstance(extra, dict) else {c: getattr(extra, c) for c in GPU_NUMERIC_COLUMNS}
    updates = {}
    for c, v in values.items():
        old = getattr(base, c)
        if math.isnan(v):
            continue
        if math.isnan(old):
            updates[c] = v
        elif not math.isclose(old, v, rel_tol=_AGREE_REL):
            raise GpuTableError(
                f"{where_in(source, rows, prefix + c)}: GPU {base.name!r}{named} is in the table with {c} = {old:g} "
                f"({base.source}); {v:g} describes a different part, so give it another GPU name (spec "
                "values may only fill the table's blank cells)", source=source, column=prefix + c, rows=rows)
    return replace(base, **updates) if updates else base

