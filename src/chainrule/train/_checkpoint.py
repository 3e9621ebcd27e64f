"""Learner checkpoints: one safetensors file, the arrays as tensors and the learner's state as
JSON in the header's metadata; never a pickle.

Layout (safetensors, https://huggingface.co/docs/safetensors):

- the header's metadata ``{"chainrule": "<JSON>"}``: format and version, chainrule's
  version, the model's parameter and buffer names with shapes and dtypes, the optimiser's
  class and state, the callbacks' states, the epoch and iteration counters, the random
  generators' states, and the shape, dtype and CRC-32 of every tensor in the file;
- tensors ``model/<name>``: each parameter and persistent buffer;
- further tensors referred to from the JSON as ``{"__array__": key}`` (optimiser buffers,
  early stopping's best weights, telemetry records).

Writing goes to a temporary file in the same folder, then ``os.replace`` renames it into place,
so a crash never leaves a half-written checkpoint under the real name. Reading parses the
header only (safetensors checks that the declared shapes and dtypes cover the file exactly, so
nothing larger than the file is ever allocated), checks the JSON's every field and the
declared tensors against it, and reads a tensor only after its dtype and shape were checked
(against the model, for the model's); nothing is decompressed. Loading into a learner checks
everything before changing anything; if applying it still fails, everything is rolled back.

Checkpoints of chainrule 0.1 (``.npz`` archives) are refused with a message, unread: a zip
archive can hide gigabytes of compressed data behind a small file.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__
from .._io import write_atomic
from .._random import Generator, default_generator
from .._tensor import Tensor
from ._header import (
    DTYPES,
    FORMAT,
    FORMAT_VERSION,
    METADATA_KEY,
    CheckpointError,
    brief,
    check_header,
    error_text,
)

if TYPE_CHECKING:
    from ._learner import Learner
    from ._loop import Loop


# -- packing: nested Python data with arrays <-> JSON plus an array table ------------------------
def pack(value: Any, key: str, arrays: dict[str, np.ndarray]) -> Any:
    """``value`` as JSON-compatible data; arrays (and NumPy scalars) go into ``arrays`` under
    keys derived from ``key`` and are referred to as ``{"__array__": key}``."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.array(value)
        if arr.dtype.kind not in "biuf" or arr.dtype.newbyteorder("<").str not in DTYPES.values():
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
    """The inverse of :func:`pack`; a ``CheckpointError`` for anything it does not write."""
    if isinstance(value, list):
        return [unpack(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"__array__"}:
        key = value["__array__"]
        if not isinstance(key, str) or key not in arrays:
            raise CheckpointError(f"the header refers to an array {key!r} the file does not hold")
        arr = arrays[key]
        return arr[()] if arr.ndim == 0 else arr
    if set(value) == {"__tuple__"} and isinstance(value["__tuple__"], list):
        return tuple(unpack(v, arrays) for v in value["__tuple__"])
    if set(value) == {"__dict__"} and isinstance(value["__dict__"], list):
        items = value["__dict__"]
        if all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], (int, str)) for p in items):
            return {k: unpack(v, arrays) for k, v in items}
    raise CheckpointError(f"unexpected object in the header: {brief(value)}")


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


def non_finite(learner: Loop) -> list[str]:
    """What is not finite at the end of the current epoch (its training or validation loss,
    or a weight), in words; empty when it may be checkpointed."""
    log = learner.epoch_log
    bad = [
        f"the {key.replace('_', ' ')} is {log[key]}"
        for key in ("train_loss", "valid_loss")
        if key in log and not math.isfinite(log[key])
    ]
    if not all(np.isfinite(p.data).all() for p in learner.model.parameters()):
        bad.append("a weight is not finite")
    return bad


def model_entries(learner: Learner) -> list[dict[str, Any]]:
    return [
        {"name": k, "shape": list(a.shape), "dtype": str(a.dtype)}
        for k, a in learner.model.state_dict().items()
    ]


# -- saving --------------------------------------------------------------------------------------
def save_checkpoint(learner: Learner, path: Path) -> Path:
    """Writes ``learner``'s state to ``path`` atomically; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, checkpoint_bytes(learner))
    return path


def checkpoint_bytes(learner: Learner) -> bytes:
    """``learner``'s state as the bytes of a checkpoint file (what :func:`save_checkpoint`
    writes; ``chainrule.distributed`` broadcasts them)."""
    from safetensors.numpy import save

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
    # safetensors stores little-endian, C-ordered data
    tensors = {k: np.ascontiguousarray(a, a.dtype.newbyteorder("<")) for k, a in arrays.items()}
    header["arrays"] = {
        k: {"shape": list(a.shape), "dtype": a.dtype.str, "crc32": zlib.crc32(a.tobytes())}
        for k, a in tensors.items()
    }
    text = json.dumps(header, allow_nan=True)
    return bytes(save(tensors, metadata={METADATA_KEY: text}))


# -- reading -------------------------------------------------------------------------------------
class CheckpointFile:
    """A checkpoint whose header was read and checked; its tensors are read on demand.

    Attributes
    ----------
    path : Path
    header : dict
        The JSON state (every field checked for type and range).
    declared : dict[str, tuple[tuple[int, ...], str]]
        Each tensor's shape and NumPy dtype string, from the safetensors header.
    """

    def __init__(self, path: Path, header: dict[str, Any], declared: dict[str, Any]) -> None:
        self.path, self.header, self.declared = path, header, declared

    def read(self, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """The tensors ``keys`` (default: all), each checked against its CRC-32."""
        from safetensors import SafetensorError, safe_open

        keys = list(self.declared if keys is None else keys)
        out = {}
        try:
            with safe_open(self.path, framework="numpy") as f:
                for k in keys:
                    out[k] = f.get_tensor(k)
        except (SafetensorError, OSError, ValueError, TypeError) as err:
            raise CheckpointError(f"{self.path} cannot be read (changed on disk?): {err}") from err
        for k, arr in out.items():
            if zlib.crc32(arr.tobytes()) != self.header["arrays"][k]["crc32"]:
                raise CheckpointError(
                    f"{self.path}: tensor {k!r} is corrupted (its checksum differs from the "
                    f"header's)"
                )
        return out


def open_checkpoint(path: str | Path) -> CheckpointFile:
    """Reads and checks a checkpoint's header; no tensor is read.

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    CheckpointError
        When the file is not a chainrule checkpoint, is truncated or corrupted, is malformed
        in any field, or comes from another format version.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    with path.open("rb") as f:
        start = f.read(4)
    if start in (b"PK\x03\x04", b"PK\x05\x06"):
        raise CheckpointError(
            f"{path} is a zip archive (.npz), not a chainrule checkpoint; chainrule writes "
            f"safetensors checkpoints since format version {FORMAT_VERSION} and does not open "
            f"the .npz checkpoints of chainrule 0.1: train the run again"
        )
    try:
        with safe_open(path, framework="numpy") as f:
            metadata = f.metadata()
            declared = {
                k: (f.get_slice(k).get_shape(), f.get_slice(k).get_dtype()) for k in f.keys()
            }
    except (SafetensorError, OSError, ValueError, TypeError) as err:
        raise CheckpointError(
            f"{path} is not a chainrule checkpoint, or is truncated or corrupted (not a "
            f"readable safetensors file: {err})"
        ) from err
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        raise CheckpointError(f"{path} is a safetensors file but not a chainrule checkpoint")
    try:
        header = json.loads(metadata[METADATA_KEY])
        check_header(header, declared)
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {err}") from None
    except (ValueError, RecursionError) as err:
        raise CheckpointError(f"{path}: malformed checkpoint header ({error_text(err)})") from None
    return CheckpointFile(
        path, header, {k: (tuple(s), DTYPES[d]) for k, (s, d) in declared.items()}
    )


def read_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and all the tensors of a checkpoint file, checked (see
    :func:`open_checkpoint`), without touching any learner."""
    ckpt = open_checkpoint(path)
    return ckpt.header, ckpt.read()
