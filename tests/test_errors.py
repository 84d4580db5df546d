"""Every native error maps onto exactly one Python class (cpp/bindings/bind_errors.cpp)."""

import pytest

import energylens
from energylens import _core, errors

MAPPING = {
    "Error": errors.EnergyLensError,
    "NvmlUnavailable": errors.NvmlUnavailableError,
    "NvmlError": errors.NvmlError,
    "CudaUnavailable": errors.CudaUnavailableError,
    "CuptiUnavailable": errors.CuptiUnavailableError,
    "DcgmUnavailable": errors.DcgmUnavailableError,
    "SamplerError": errors.SamplerError,
    "invalid_argument": ValueError,
    "out_of_range": IndexError,
}


@pytest.mark.parametrize(("kind", "cls"), sorted(MAPPING.items()))
def test_each_native_error_maps_to_its_class(kind, cls):
    with pytest.raises(cls) as info:
        _core._raise_native_error(kind)
    assert type(info.value) is cls, f"{kind} mapped to {type(info.value).__name__}, expected {cls.__name__}"
    assert str(info.value)


def test_nvml_error_keeps_code_and_call():
    with pytest.raises(errors.NvmlError) as info:
        _core._raise_native_error("NvmlError")
    assert info.value.code == 3
    assert info.value.call == "nvmlDeviceGetPowerUsage"
    assert "Not Supported" in str(info.value)


def test_every_energylens_error_is_one_hierarchy():
    for name in errors.__all__:
        cls = getattr(errors, name)
        # The warnings energylens emits (degenerate fits, extrapolation) are UserWarnings, not errors.
        assert issubclass(cls, errors.EnergyLensError) or (issubclass(cls, UserWarning) and name.endswith("Warning"))
        assert getattr(energylens, name, cls) is cls


def test_every_class_errors_defines_is_listed_and_exported():
    """errors.__all__ and energylens.__all__ are kept by hand: a class defined in errors.py but missing from its
    ``__all__`` (IntervalLevelWarning was, until 2026-12-07) escapes the hierarchy check above."""
    defined = {name for name, obj in vars(errors).items()
               if isinstance(obj, type) and issubclass(obj, BaseException) and obj.__module__ == errors.__name__}
    assert defined - set(errors.__all__) == set()
    assert set(errors.__all__) - set(energylens.__all__) == set()


def test_profile_schema_error_is_a_value_error_with_location():
    exc = errors.ProfileSchemaError("bad", source="x.csv", column="tp", rows=[3, 4])
    assert isinstance(exc, ValueError)
    assert (exc.source, exc.column, exc.rows) == ("x.csv", "tp", [3, 4])


def test_unknown_kind_is_a_value_error():
    with pytest.raises(ValueError, match="unknown error kind"):
        _core._raise_native_error("nope")
