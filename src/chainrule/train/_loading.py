"""Loading a checkpoint into a learner: check everything first, then apply, rolling back on
failure, so that a bad file leaves the learner exactly as it was."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._checkpoint import (
    CheckpointError,
    CheckpointFile,
    callback_keys,
    generators,
    model_entries,
    open_checkpoint,
    unpack,
)

if TYPE_CHECKING:
    from ._learner import Learner

_EPOCH_BOUNDARIES = (None, "after_epoch", "after_cancel_epoch", "after_cancel_fit", "after_fit")
# what a malformed value in a checked header can still raise while it is planned
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError)


def load_checkpoint(learner: Learner, path: Path, strict: bool = True) -> None:
    """Reads ``path``, checks that it fits ``learner``, and restores it (see ``Learner.load``)."""
    ckpt = open_checkpoint(path)
    try:
        plan = _plan(learner, ckpt, strict)
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {err} (nothing was loaded)") from None
    except (*_MALFORMED, RecursionError) as err:
        raise CheckpointError(
            f"{path}: malformed checkpoint header ({type(err).__name__}: {str(err)[:200]}); "
            f"nothing was loaded"
        ) from None
    if plan["event"] not in _EPOCH_BOUNDARIES:
        warnings.warn(
            f"Learner.load: {path} was saved during {plan['event']}, in the middle of an epoch; "
            f"the next fit starts a new epoch, so the run will not repeat the saved one exactly",
            stacklevel=3,
        )
    snapshot = _snapshot(learner, plan)
    try:
        _apply(learner, plan)
    except Exception as err:
        _rollback(learner, snapshot)
        raise CheckpointError(
            f"{path}: could not be applied ({type(err).__name__}: {err}); the learner was left "
            f"unchanged"
        ) from err


def _plan(learner: Learner, ckpt: CheckpointFile, strict: bool) -> dict:
    """Everything to apply, checked against the learner (raises CheckpointError). The model's
    tensors and the optimiser's buffers are read only after their declared shapes (and the
    model's dtypes) fit the model."""
    header = ckpt.header
    names = _check_model(learner, header["model"], ckpt.declared, strict)
    opt = header["optimizer"]
    own = type(learner.optimizer).__name__
    if opt["class"] != own:
        raise CheckpointError(f"the checkpoint's optimizer is {opt['class']}, the learner's {own}")
    # the optimiser's buffers against the parameters first, on their declared shapes alone
    # (views of one zero with those shapes allocate nothing)
    shells = {
        k: np.broadcast_to(np.zeros((), dt), shape) for k, (shape, dt) in ckpt.declared.items()
    }
    _check_optimizer_state(learner.optimizer, unpack(opt["state"], shells))
    arrays = ckpt.read()
    plan: dict[str, Any] = {"model": {name: arrays[f"model/{name}"] for name in names}}
    plan["optimizer"] = unpack(opt["state"], arrays)
    plan["callbacks"] = _callback_states(learner, header["callbacks"], arrays)
    counters = header["counters"]  # checked by open_checkpoint
    plan["counters"] = (counters["epoch"], counters["iteration"])
    plan["event"] = counters.get("event")
    plan["generators"], plan["pending"] = _generator_states(learner, header["generators"], arrays)
    return plan


def _check_model(
    learner: Learner, saved: dict, declared: dict[str, tuple[tuple[int, ...], str]], strict: bool
) -> list[str]:
    """The names of the model's entries to load, after their declared shapes and dtypes
    were checked against the model (raises CheckpointError)."""
    own = {e["name"]: e for e in model_entries(learner)}
    entries = {e["name"] for e in saved["entries"]}
    missing = [k for k in own if k not in entries]
    unexpected = [k for k in entries if k not in own]
    problems = []
    if strict and (missing or unexpected):
        problems.append(f"missing keys {missing}, unexpected keys {sorted(unexpected)}")
    names = [name for name in own if name in entries]
    for name in names:
        have_shape, have_dtype = declared[f"model/{name}"]
        want = own[name]
        if list(have_shape) != want["shape"]:
            problems.append(
                f"{name} has shape {tuple(have_shape)} in the checkpoint, "
                f"{tuple(want['shape'])} in the model"
            )
        elif strict and np.dtype(have_dtype) != np.dtype(want["dtype"]):
            problems.append(
                f"{name} is {np.dtype(have_dtype)} in the checkpoint, {want['dtype']} in the "
                f"model (convert the model with .to(dtype), or load with strict=False to cast)"
            )
    if problems:
        raise CheckpointError(
            f"the checkpoint's model ({saved['class']}) does not fit the learner's "
            f"({type(learner.model).__name__}): " + "; ".join(problems)
        )
    return names


def _check_optimizer_state(optimizer: Any, state: Any) -> None:
    groups = state["param_groups"]
    own = optimizer.param_groups
    if len(groups) != len(own):
        raise CheckpointError(
            f"the optimizer state has {len(groups)} parameter groups, the learner's optimizer "
            f"{len(own)}"
        )
    params: dict[int, Any] = {}
    for i, (g, o) in enumerate(zip(groups, own)):
        if len(g["params"]) != len(o["params"]):
            raise CheckpointError(
                f"parameter group {i} has {len(g['params'])} parameters in the checkpoint, "
                f"{len(o['params'])} in the optimizer"
            )
        params.update(zip((int(k) for k in g["params"]), o["params"]))
    for key, values in state["state"].items():
        p = params.get(int(key))
        if p is None:
            raise CheckpointError(f"optimizer state for parameter {key}, which no group lists")
        for name, v in values.items():
            shape = optimizer.state_shape(p, name)  # the parameter's, or LBFGS's flat (n,)
            if isinstance(v, np.ndarray) and v.ndim and v.shape != shape:
                raise CheckpointError(
                    f"optimizer state[{key}][{name!r}] has shape {v.shape}, expected {shape}"
                )


def _callback_states(
    learner: Learner, saved: dict[str, Any], arrays: dict[str, np.ndarray]
) -> list[tuple[Any, Any]]:
    own = dict(callback_keys(learner))
    out = []
    for key, entry in saved.items():
        cb = own.get(key)
        if cb is None:
            warnings.warn(
                f"Learner.load: the checkpoint holds the state of callback {entry['class']} "
                f"({key!r}) that this learner does not have; it is ignored",
                stacklevel=4,
            )
            continue
        if type(cb).__name__ != entry["class"]:
            raise CheckpointError(
                f"callback {key!r} is a {entry['class']} in the checkpoint, a "
                f"{type(cb).__name__} in the learner"
            )
        out.append((cb, unpack(entry["state"], arrays)))
    return out


def _generator_states(learner: Learner, saved: dict, arrays: dict) -> tuple[list, dict]:
    own = generators(learner, with_loaders=False)
    states, pending = [], {}
    for key, packed in saved.items():
        state = unpack(packed, arrays)
        if key.startswith("dataloader_"):
            pending[key] = state
            continue
        gen = own.get(key)
        if gen is None:
            warnings.warn(
                f"Learner.load: the checkpoint holds the state of generator {key!r}, which this "
                f"model does not have; it is ignored",
                stacklevel=4,
            )
            continue
        kind = gen.get_state().get("bit_generator")
        if not isinstance(state, dict) or state.get("bit_generator") != kind:
            raise CheckpointError(
                f"generator {key!r}: the checkpoint's state is not a {kind} state"
            )
        states.append((gen, state))
    return states, pending


def _snapshot(learner: Learner, plan: dict) -> dict:
    """The learner's current values of everything ``plan`` would change."""
    return {
        "model": learner.model.state_dict(),
        "optimizer": learner.optimizer.state_dict(),
        "callbacks": [(cb, cb.state_dict()) for cb, _ in plan["callbacks"]],
        "counters": (learner.epoch, learner.iteration),
        "generators": [(g, g.get_state()) for g, _ in plan["generators"]],
        "pending": dict(learner._pending_generators),
    }


def _steps(learner: Learner, plan: dict) -> list:
    """The changes ``plan`` makes, one callable each, in order."""

    def counters() -> None:
        learner.epoch, learner.iteration = plan["counters"]
        learner._epoch_done = False
        learner._pending_generators = dict(plan["pending"])

    return [
        lambda: learner.model.load_state_dict(plan["model"], strict=False),
        lambda: learner.optimizer.load_state_dict(plan["optimizer"]),
        *[lambda cb=cb, state=state: cb.load_state_dict(state) for cb, state in plan["callbacks"]],
        *[lambda g=g, state=state: g.set_state(state) for g, state in plan["generators"]],
        counters,
    ]


def _apply(learner: Learner, plan: dict) -> None:
    for step in _steps(learner, plan):
        step()


def _rollback(learner: Learner, snapshot: dict) -> None:
    """Puts the snapshot back, every part even if one fails (the first error is re-raised
    after the others were restored)."""
    errors = []
    for step in _steps(learner, snapshot):
        try:
            step()
        except Exception as err:  # noqa: BLE001 - restore as much as possible
            errors.append(err)
    if errors:
        raise errors[0]


def apply_pending_generators(learner: Learner) -> None:
    """Gives the loaders of the fit that starts the generator states a loaded checkpoint
    saved for them."""
    for key, loader in (("train", learner.dataloader_train), ("valid", learner.dataloader_valid)):
        state = learner._pending_generators.pop(f"dataloader_{key}", None)
        if state is None:
            continue
        gen = getattr(loader, "generator", None)
        if gen is None:
            warnings.warn(
                f"Learner.fit: the checkpoint holds the state of the {key} loader's generator "
                f"but this loader has none (generator=None uses the default generator); the "
                f"shuffling order will differ from the saved run",
                stacklevel=3,
            )
            continue
        gen.set_state(state)
    learner._pending_generators.clear()
