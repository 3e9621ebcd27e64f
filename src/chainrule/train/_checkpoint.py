"""Learner checkpoints: one ``.npz`` file of arrays plus a JSON header, never a pickle.

Layout of the archive (read with ``allow_pickle=False``):

- ``__header__``: the JSON header as a uint8 array (UTF-8): format and version, chainrule's
  version, the model's parameter and buffer names with shapes and dtypes, the optimiser's
  class and state, the callbacks' states, the epoch and iteration counters, the random
  generators' states, and the shape, dtype and CRC-32 of every array in the file;
- ``model/<name>``: each parameter and persistent buffer;
- further arrays referred to from the header as ``{"__array__": key}`` (optimiser buffers,
  early stopping's best weights, telemetry records).

Writing goes to a temporary file in the same folder, then ``os.replace`` renames it into place,
so a crash never leaves a half-written checkpoint under the real name. Loading reads and
checks the whole file, and its fit to the learner, before changing anything; if applying it
still fails, everything is rolled back.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._io import write_atomic
from .._random import Generator, default_generator
from .._tensor import Tensor

if TYPE_CHECKING:
    from ._learner import Learner

FORMAT = "chainrule-learner-checkpoint"
FORMAT_VERSION = 1
HEADER_KEY = "__header__"


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded: unreadable, corrupted, from a newer format, or not
    matching the learner. The learner is unchanged when it is raised."""


# -- packing: nested Python data with arrays <-> JSON plus an array table ------------------------
def pack(value: Any, key: str, arrays: dict[str, np.ndarray]) -> Any:
    """``value`` as JSON-compatible data; arrays (and NumPy scalars) go into ``arrays`` under
    keys derived from ``key`` and are referred to as ``{"__array__": key}``."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.array(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"checkpoint: {key} holds an array of dtype {arr.dtype} (numbers only)")
        arrays[key] = arr
        return {"__array__": key}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return {"__tuple__": [pack(v, f"{key}/{i}", arrays) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [pack(v, f"{key}/{i}", arrays) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"__dict__": [[k, pack(v, f"{key}/{k}", arrays)] for k, v in value.items()]}
        items = []
        for k, v in value.items():
            if isinstance(k, bool) or not isinstance(k, (int, str)):
                raise TypeError(f"checkpoint: {key} has a key of type {type(k).__name__}")
            items.append([k, pack(v, f"{key}/{k}", arrays)])
        return {"__dict__": items}
    raise TypeError(
        f"checkpoint: cannot store {key} of type {type(value).__name__} (JSON values and NumPy "
        f"arrays only; chainrule never pickles)"
    )


def unpack(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The inverse of :func:`pack`."""
    if isinstance(value, list):
        return [unpack(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"__array__"}:
        key = value["__array__"]
        if key not in arrays:
            raise CheckpointError(f"the header refers to an array {key!r} the file does not hold")
        arr = arrays[key]
        return arr[()] if arr.ndim == 0 else arr
    if set(value) == {"__tuple__"}:
        return tuple(unpack(v, arrays) for v in value["__tuple__"])
    if set(value) == {"__dict__"}:
        return {k: unpack(v, arrays) for k, v in value["__dict__"]}
    raise CheckpointError(f"unexpected object in the header: keys {sorted(value)}")


# -- what a learner holds ------------------------------------------------------------------------
def callback_keys(learner: Learner) -> Iterator[tuple[str, Any]]:
    """``(key, callback)``: the callback's name, with ``#k`` for the k-th repeat of a name."""
    seen: dict[str, int] = {}
    for cb in learner.callbacks:
        k = seen.get(cb.name, 0)
        seen[cb.name] = k + 1
        yield (cb.name if k == 0 else f"{cb.name}#{k}"), cb


def generators(learner: Learner, with_loaders: bool = True) -> dict[str, Generator]:
    """Every ``cr.Generator`` the run draws from: the default one, those held by modules
    (``Dropout(generator=...)``) and, when ``with_loaders``, the data loaders' own."""
    out = {"default": default_generator}
    for name, module in learner.model.named_modules():
        for attr, value in vars(module).items():
            if isinstance(value, Generator):
                out[f"model:{name or 'model'}.{attr}"] = value
    if with_loaders:
        for key in ("train", "valid"):
            gen = getattr(getattr(learner, f"dataloader_{key}"), "generator", None)
            if isinstance(gen, Generator):
                out[f"dataloader_{key}"] = gen
    return out


def model_entries(learner: Learner) -> list[dict[str, Any]]:
    return [
        {"name": k, "shape": list(a.shape), "dtype": str(a.dtype)}
        for k, a in learner.model.state_dict().items()
    ]


# -- saving --------------------------------------------------------------------------------------
def save_checkpoint(learner: Learner, path: Path) -> Path:
    """Writes ``learner``'s state to ``path`` atomically; returns ``path``."""
    from .. import __version__

    arrays: dict[str, np.ndarray] = {f"model/{k}": v for k, v in learner.model.state_dict().items()}
    callbacks = {}
    for key, cb in callback_keys(learner):
        state = cb.state_dict()
        if state:
            packed = pack(state, f"callbacks/{key}", arrays)
            callbacks[key] = {"class": type(cb).__name__, "state": packed}
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "chainrule_version": __version__,
        "model": {"class": type(learner.model).__name__, "entries": model_entries(learner)},
        "optimizer": {
            "class": type(learner.optimizer).__name__,
            "state": pack(learner.optimizer.state_dict(), "optimizer", arrays),
        },
        "loss_func": type(learner.loss_func).__name__,
        "counters": {
            "epoch": learner.epoch + (1 if learner._epoch_done else 0),
            "iteration": learner.iteration,
            "event": learner.event,
        },
        "callbacks": callbacks,
        "generators": {
            k: pack(g.get_state(), f"generators/{k}", arrays)
            for k, g in generators(learner).items()
        },
    }
    header["arrays"] = {
        k: {"shape": list(a.shape), "dtype": a.dtype.str, "crc32": zlib.crc32(a.tobytes())}
        for k, a in arrays.items()
    }
    text = json.dumps(header, allow_nan=True).encode("utf-8")
    members = {HEADER_KEY: np.frombuffer(text, dtype=np.uint8), **arrays}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()  # built in memory, then one write: faster than many small ones
    np.savez(buffer, **members)
    write_atomic(path, buffer.getvalue())
    return path


# -- reading -------------------------------------------------------------------------------------
def read_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the arrays of a checkpoint file, checked for integrity (CRC-32 of every
    array against the header), without touching any learner.

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    CheckpointError
        When the file is not a chainrule checkpoint, is truncated or corrupted, or comes from
        a newer format version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    unreadable = (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, UnicodeDecodeError)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{path} is a single .npy array, not a checkpoint")
        with loaded as npz:
            if HEADER_KEY not in npz.files:
                raise CheckpointError(f"{path} is an .npz archive without a chainrule header")
            header = json.loads(bytes(npz[HEADER_KEY]).decode("utf-8"))
            arrays = {k: npz[k] for k in npz.files if k != HEADER_KEY}
    except unreadable as err:
        raise CheckpointError(
            f"{path} cannot be read as a checkpoint (truncated or corrupted?): "
            f"{type(err).__name__}: {err}"
        ) from err
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a chainrule learner checkpoint")
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format version {version!r}; this chainrule reads up to "
            f"{FORMAT_VERSION} (written by chainrule {header.get('chainrule_version')})"
        )
    _check_arrays(path, header.get("arrays"), arrays)
    return header, arrays


def _check_arrays(path: Path, table: Any, arrays: dict[str, np.ndarray]) -> None:
    if not isinstance(table, dict) or set(table) != set(arrays):
        listed = set(table) if isinstance(table, dict) else set()
        raise CheckpointError(
            f"{path}: the arrays in the file do not match its header (missing "
            f"{sorted(listed - set(arrays))[:5]}, unlisted {sorted(set(arrays) - listed)[:5]})"
        )
    for key, arr in arrays.items():
        meta = table[key]
        if (
            list(arr.shape) != meta.get("shape")
            or arr.dtype.str != meta.get("dtype")
            or zlib.crc32(arr.tobytes()) != meta.get("crc32")
        ):
            raise CheckpointError(
                f"{path}: array {key!r} is corrupted (shape {arr.shape}, dtype {arr.dtype}; the "
                f"header says shape {tuple(meta.get('shape', ()))}, dtype {meta.get('dtype')} "
                f"and a different checksum)"
            )
