"""The ``Optimizer`` base: parameter groups, per-parameter state, state dicts (as ``torch.optim``).

An optimiser holds its parameters in ``param_groups``, a list of dicts that each carry a
``"params"`` list and that group's hyper-parameters (filled from ``defaults``), so different
layers can train with different learning rates. ``state`` maps each parameter to its buffers
(momentum, moving averages), created at the first step and updated in place afterwards.
"""

from __future__ import annotations

import copy
import numbers
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._tensor import Tensor, enable_grad

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]
"""What optimisers accept: tensors, or dicts ``{"params": tensors, "lr": ..., ...}``."""


def check_number(
    owner: str,
    name: str,
    value: Any,
    *,
    low: float | None = 0.0,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = True,
) -> None:
    """Raises unless ``value`` is a real number in the interval given (closed at ``low``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{owner}: {name} must be a real number, got {type(value).__name__} {value!r}"
        )
    too_low = low is not None and (value <= low if low_open else value < low)
    # numbers.Real promises only < and <= (NaN is caught below either way)
    too_high = high is not None and not (value < high if high_open else value <= high)
    if too_low or too_high or value != value:
        if high is not None:
            want = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        elif low == 0:
            want = "a positive number" if low_open else "a non-negative number"
        else:
            want = f"a number {'>' if low_open else '>='} {low:g}"
        raise ValueError(f"{owner}: {name} must be {want}, got {value!r}")


def _copy_value(value: Any) -> Any:
    """A copy that shares no arrays with ``value`` (dicts, lists and tuples are walked)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_value(v) for v in value)
    return value


def _group_dict(owner: str, group: object) -> dict[str, Any]:
    """``group`` itself, once checked to be a dict with a ``"params"`` entry."""
    if not isinstance(group, dict):
        raise TypeError(
            f"{owner}: a parameter group must be a dict with a 'params' entry, "
            f"got {type(group).__name__}"
        )
    if "params" not in group:
        raise ValueError(
            f"{owner}: a parameter group must have a 'params' entry, got keys {sorted(group)}"
        )
    return group


class Optimizer:
    """Base class of all optimisers (``torch.optim.Optimizer``).

    Parameters
    ----------
    params : iterable of Tensor or of dict
        The tensors to optimise (leaves with ``requires_grad=True``), or parameter groups:
        dicts with a ``"params"`` entry and per-group hyper-parameters overriding ``defaults``.
    defaults : dict
        Default hyper-parameters of every group.

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``"params"`` (list of tensors) and the group's hyper-parameters.
    state : dict
        Per-parameter state, keyed by the parameter tensor itself; values are dicts of NumPy
        arrays (the same shape and dtype as the parameter) and numbers (``"step"``).
    defaults : dict
        The hyper-parameters given to the constructor.
    """

    #: Whether ``step`` needs a closure that re-evaluates the loss (the ``Learner`` passes one).
    needs_closure: bool = False

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self._check_hyper(self.defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._work: dict[Tensor, list[np.ndarray]] = {}  # scratch arrays by parameter
        self._block_work: dict[np.dtype, list[np.ndarray]] = {}  # the same, per block (_blocks)
        self._flat: dict[int, Any] = {}  # fused-update buffers by id(group)
        name = type(self).__name__
        if isinstance(params, Tensor) or not isinstance(params, Iterable):
            raise TypeError(
                f"{name}: params must be an iterable of Tensors or of dicts, got "
                f"{type(params).__name__}; wrap a single tensor in a list"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: params must be an ordered collection (list, tuple or "
                f"generator), got a set whose order changes between runs"
            )
        groups = list(params)
        if not groups:
            raise ValueError(
                f"{name}: params is an empty parameter list; pass at least one "
                f"tensor with requires_grad=True (is the model built?)"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(_group_dict(name, group))

    # -- hyper-parameters -----------------------------------------------------------------------
    def _check_hyper(self, options: dict[str, Any]) -> None:
        """Validates one group's hyper-parameters (subclasses override); raises on bad values."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Adds a group of parameters with its own hyper-parameters (missing ones from defaults).

        Parameters
        ----------
        param_group : dict
            ``{"params": tensor or iterable of tensors, "lr": ..., ...}``.
        """
        name = type(self).__name__
        group = dict(_group_dict(name, param_group))
        params = group["params"]
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: params must be an ordered collection, got a set")
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name}: params of a parameter group is an empty list")
        seen: set[int] = set()
        for i, p in enumerate(params):
            self._check_param(i, p, seen)
            seen.add(id(p))
        for other in self.param_groups:
            if any(id(p) in seen for p in other["params"]):
                raise ValueError(
                    f"{name}: params: some parameters appear in more than one parameter group"
                )
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        group["params"] = params
        self._check_hyper(group)
        self.param_groups.append(group)

    def _check_param(self, i: int, p: Any, seen: set[int]) -> None:
        name = type(self).__name__
        if not isinstance(p, Tensor):
            raise TypeError(
                f"{name}: params[{i}] must be a chainrule Tensor, got {type(p).__name__}"
            )
        if not p.requires_grad:
            raise ValueError(
                f"{name}: params[{i}] (shape {p.shape}) does not require grad; "
                f"create it with requires_grad=True or leave it out"
            )
        if not p.is_leaf:
            raise ValueError(
                f"{name}: params[{i}] is not a leaf tensor (it was computed by "
                f"{p.grad_fn.name}); optimise the leaves it was computed from"
            )
        if id(p) in seen:
            raise ValueError(f"{name}: params[{i}] appears twice in the same parameter group")

    # -- gradients ------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Resets the gradients of all parameters.

        Parameters
        ----------
        set_to_none : bool
            Set ``.grad`` to ``None`` (the default, as PyTorch) instead of filling it with zeros.
            Optimisers skip parameters whose ``.grad`` is ``None``.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif p.grad.is_leaf:
                    p.grad.data.fill(0)
                else:  # a gradient with a graph (create_graph=True): drop the graph
                    p.grad = Tensor._wrap(np.zeros_like(p.grad.data))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Updates the parameters once from their ``.grad`` (subclasses implement it).

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss; called with gradients enabled.
        """
        raise NotImplementedError(f"{type(self).__name__}.step is not implemented")

    @staticmethod
    def _evaluate(closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _scratch(self, p: Tensor, n: int) -> list[np.ndarray]:
        """``n`` work arrays shaped like ``p``, allocated once (not part of the state)."""
        work, data = self._work.get(p), p.data
        if (
            work is None
            or len(work) < n
            or work[0].shape != data.shape
            or (work[0].dtype != data.dtype)
        ):
            work = [np.empty_like(data) for _ in range(n)]
            self._work[p] = work
        return work

    # -- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state as plain data (a copy), parameters referred to by index.

        Returns
        -------
        dict
            ``{"state": {index: {name: ndarray or number}}, "param_groups": [{..., "params":
            [index, ...]}]}``; indices count the parameters in group order, as PyTorch's.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: _copy_value(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {
            index[id(p)]: _copy_value(s) for p, s in self.state.items() if id(p) in index and s
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores a state from :meth:`state_dict` (arrays are copied and cast to each
        parameter's dtype).

        Parameters
        ----------
        state_dict : dict
            As returned by :meth:`state_dict` of an optimiser over parameters of the same shapes,
            in the same groups. Integer keys may also be given as strings (JSON).
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"{name}.load_state_dict: expected a dict, got {type(state_dict).__name__}"
            )
        missing = [k for k in ("state", "param_groups") if k not in state_dict]
        if missing:
            raise ValueError(f"{name}.load_state_dict: state_dict lacks the keys {missing}")
        saved = copy.deepcopy(state_dict["param_groups"])
        if len(saved) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: state_dict has {len(saved)} parameter "
                f"groups, the optimizer has {len(self.param_groups)}"
            )
        id_map: dict[int, Tensor] = {}
        for i, (old, group) in enumerate(zip(saved, self.param_groups)):
            if len(old["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} has "
                    f"{len(old['params'])} parameters in state_dict, "
                    f"{len(group['params'])} in the optimizer"
                )
            id_map.update(zip((int(k) for k in old["params"]), group["params"]))
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, values in state_dict["state"].items():
            if int(key) not in id_map:
                raise ValueError(
                    f"{name}.load_state_dict: state refers to parameter {key}, "
                    f"which no parameter group lists"
                )
            p = id_map[int(key)]
            state[p] = {k: self._cast_state(p, int(key), k, v) for k, v in values.items()}
        for old, group in zip(saved, self.param_groups):
            old["params"] = group["params"]
        self.state = state
        self.param_groups[:] = saved
        self._work.clear()
        self._flat.clear()

    def state_shape(self, p: Tensor, key: str) -> tuple[int, ...]:
        """The shape of the array ``state[p][key]``: the parameter's (subclasses that keep other
        shapes say so; ``load_state_dict`` and checkpoints check against it)."""
        return p.shape

    def _cast_state(self, p: Tensor, index: int, key: str, value: Any) -> Any:
        if not isinstance(value, np.ndarray):
            return _copy_value(value)
        shape = self.state_shape(p, key)
        if value.ndim and value.shape != shape:
            want = "the parameter has" if shape == p.shape else "it must have"
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: state[{index}]['{key}'] "
                f"has shape {value.shape}, {want} shape {shape}"
            )
        if value.dtype.kind == "f":
            return value.astype(p.data.dtype, copy=True)
        return value.copy()

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"
