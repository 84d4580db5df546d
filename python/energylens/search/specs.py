"""A user's ModelSpec (``search(model=ModelSpec(...))``) checked before anything is priced from it.

A table row passes (tests/search/test_search_spec_checks.py runs every row through :func:`check_model_spec`);
a hand-written or edited spec with a value no model has (0 layers, NaN heads, 32 heads over 3 KV heads,
more active parameters than parameters, 4 experts per token of 1) is a ValueError naming the spec and the
field. Before, such a spec met the first check that happened to read the field: "pp=1 exceeds the 0
layers", "tp=1 divides the attention heads of none of the models (x has nan)", a schema error about data
row 1 of an internal "<DataFrame>", or no error at all (experts_per_token above n_experts was clamped to it,
KV heads that do not divide the heads were priced as given).
"""

from __future__ import annotations

from energylens.errors import UnknownModelError
from energylens.profiles import tables
from energylens.profiles.model_checks import OPTIONAL_FIELDS, WHOLE_FIELDS, spec_problem

__all__ = ["check_model_spec", "named_model", "UNKNOWN_MODEL_REMEDY", "spec_problem", "WHOLE_FIELDS", "OPTIONAL_FIELDS"]


def check_model_spec(spec: tables.ModelSpec, where: str = "search(model=...)") -> tables.ModelSpec:
    """``spec`` itself when its values describe a model; else ValueError naming the spec, the field, its value
    and what it must be (:func:`spec_problem`)."""
    name = spec.name if isinstance(spec.name, str) and spec.name.strip() else None
    if name is None:
        raise ValueError(f"a ModelSpec given to {where} has no name ({spec.name!r}); the results and the features "
                         "tell models apart by it")
    problem = spec_problem(spec)
    if problem is not None:
        field, value, need, _ = problem
        raise ValueError(f"ModelSpec {name!r} given to {where}: {field} is {value!r}; it must be {need}")
    return spec


#: What search() can be given for a model the table lacks (it takes no ``params_b``, which the table's own
#: message offers: that is :func:`energylens.profiles.tables.model_spec`'s keyword, not the search's).
UNKNOWN_MODEL_REMEDY = (
    " To search a model the table lacks, give search(model=...) its architecture as a ModelSpec (e.g. "
    "dataclasses.replace(energylens.profiles.tables.estimate_architecture(20.0), name='org/model'), then the "
    "n_layers, d_model, n_heads, n_kv_heads, head_dim and experts of its config.json; "
    "energylens.profiles.tables.ModelSpec), or describe it in a user model table (a CSV with the columns of "
    "energylens/data/models.csv) registered with energylens.profiles.model_table.register_model_table(FILE) "
    "(--model-table FILE), or search(candidates=df) with rows that give params_b (docs/search.md).")


def named_model(name: str) -> tables.ModelSpec:
    """The model table's spec of ``name``; UnknownModelError (close matches) with :data:`UNKNOWN_MODEL_REMEDY`
    in place of the table's "pass params_b", which search() does not take (before 2026-12-06 it offered it)."""
    try:
        return tables.model_spec(name)
    except UnknownModelError as exc:
        raise UnknownModelError(str(exc.args[0]).split(" Pass params_b")[0] + UNKNOWN_MODEL_REMEDY) from None
