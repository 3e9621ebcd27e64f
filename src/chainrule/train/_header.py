"""The header of a learner checkpoint: the format's constants, and the check of every field
that loading reads (types, ranges, and the tensors it lists against those the file holds)."""

from __future__ import annotations

import math
from typing import Any

FORMAT = "chainrule-learner-checkpoint"
FORMAT_VERSION = 2  # 1: the .npz archives of chainrule 0.1
METADATA_KEY = "chainrule"
SUFFIX = ".safetensors"
MAX_COUNT = 2**53  # counters and sizes beyond this are not a training run's
# safetensors' dtype names and NumPy's (little-endian, as safetensors stores them)
DTYPES = {
    "BOOL": "|b1",
    "U8": "|u1",
    "I8": "|i1",
    "U16": "<u2",
    "I16": "<i2",
    "U32": "<u4",
    "I32": "<i4",
    "U64": "<u8",
    "I64": "<i8",
    "F16": "<f2",
    "F32": "<f4",
    "F64": "<f8",
}


class CheckpointError(ValueError):
    """A checkpoint (or run file) that cannot be loaded: not a checkpoint, truncated,
    corrupted, malformed, from a newer format, or not matching the learner. Nothing is changed
    when it is raised."""


# -- the header's fields -------------------------------------------------------------------------
def check_header(header: Any, declared: dict[str, tuple[list[int], str]]) -> None:
    """Raises ``CheckpointError`` unless ``header`` has every field loading reads, of the
    right type and range, and lists exactly the tensors ``declared`` (name: shape, dtype)."""
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError("not a chainrule learner checkpoint (no chainrule header)")
    version = header.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise CheckpointError(
            f"format version {brief(version)}; this chainrule reads version {FORMAT_VERSION} "
            f"(written by chainrule {brief(header.get('chainrule_version'))})"
        )
    model = need(header.get("model"), dict, "model")
    need(model.get("class"), str, "model.class")
    names = set()
    for i, e in enumerate(need(model.get("entries"), list, "model.entries")):
        need(e, dict, f"model.entries[{i}]")
        names.add(need(e.get("name"), str, f"model.entries[{i}].name"))
        shape(e.get("shape"), f"model.entries[{i}].shape")
        need(e.get("dtype"), str, f"model.entries[{i}].dtype")
    if len(names) != len(model["entries"]):
        raise CheckpointError("model.entries names a parameter twice")
    opt = need(header.get("optimizer"), dict, "optimizer")
    need(opt.get("class"), str, "optimizer.class")
    need(opt.get("state"), dict, "optimizer.state")
    need(header.get("loss_func"), str, "loss_func")
    counters = need(header.get("counters"), dict, "counters")
    for key in ("epoch", "iteration"):
        count(counters.get(key), f"counters.{key}")
    if counters.get("event") is not None:
        need(counters["event"], str, "counters.event")
    for key, entry in need(header.get("callbacks"), dict, "callbacks").items():
        need(entry, dict, f"callbacks.{key}")
        need(entry.get("class"), str, f"callbacks.{key}.class")
        if "state" not in entry:
            raise CheckpointError(f"callbacks.{key} has no state")
    need(header.get("generators"), dict, "generators")
    _check_table(need(header.get("arrays"), dict, "arrays"), declared)
    for e in model["entries"]:
        if f"model/{e['name']}" not in declared:
            raise CheckpointError(f"no tensor for the model's {e['name']}")


def _check_table(table: dict[str, Any], declared: dict[str, tuple[list[int], str]]) -> None:
    if set(table) != set(declared):
        raise CheckpointError(
            f"the tensors in the file do not match its header (missing "
            f"{sorted(set(table) - set(declared))[:5]}, unlisted "
            f"{sorted(set(declared) - set(table))[:5]})"
        )
    for key, meta in table.items():
        need(meta, dict, f"arrays.{key}")
        size = shape(meta.get("shape"), f"arrays.{key}.shape")
        count(meta.get("crc32"), f"arrays.{key}.crc32")
        have_shape, have_dtype = declared[key]
        if have_dtype not in DTYPES:
            raise CheckpointError(
                f"tensor {key!r} has dtype {have_dtype}, which chainrule never writes"
            )
        if size != list(have_shape) or meta.get("dtype") != DTYPES[have_dtype]:
            raise CheckpointError(
                f"tensor {key!r} is {DTYPES[have_dtype]} {tuple(have_shape)} in the file, but "
                f"the header says {brief(meta.get('dtype'))} {brief(size)}"
            )


def need(value: Any, kind: type, what: str) -> Any:
    """``value`` when it is a ``kind`` (a bool is not an int), else a ``CheckpointError``."""
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise CheckpointError(f"{what} is {brief(value)}, not a {kind.__name__}")
    return value


def count(value: Any, what: str) -> int:
    """``value`` when it is a whole number from 0 to 2⁵³, else a ``CheckpointError``."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
        raise CheckpointError(f"{what} is {brief(value)}, not a count from 0 to 2**53")
    return value


def shape(value: Any, what: str) -> list[int]:
    dims = need(value, list, what)
    if len(dims) > 32:
        raise CheckpointError(f"{what} has {len(dims)} dimensions")
    for d in dims:
        count(d, what)
    if math.prod(dims) > MAX_COUNT:
        raise CheckpointError(f"{what} is {brief(dims)}, more elements than any array can hold")
    return dims


def brief(value: Any) -> str:
    """A short ``repr`` (nested values are cut off)."""
    import reprlib

    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother = 2, 40, 40
    return short.repr(value)


def error_text(err: BaseException) -> str:
    return f"{type(err).__name__}: {str(err)[:120]}"
