"""``CompiledStep``: a training step recorded once and replayed as flat array calls.

A step is the forward pass, the loss, the backward pass and the optimiser's update. The
update is already plain array code; the rest is recorded (``chainrule._replay``) the first
time a batch of a given kind arrives and replayed for the batches like it: the same NumPy
calls as the eager step without its Tensor objects and graph, so the results are the eager
step's bit for bit.

A recording is kept per *signature*: the batch's shapes and dtypes, the parameters' shapes,
dtypes and ``requires_grad``, and the modules' training modes. The recordings are dropped when
one of the step's modules gains or loses a parameter or sub-module or has an attribute set (a
loss's ``reduction``): two counters move whenever any module changes, and then the step's own
modules are compared with what they were. The short last batch of an epoch has its own
recording. Each recording is **checked** before use: the first batch after it runs eagerly
and is replayed as well, and the replay is used only if its loss, predictions and gradients
equal the eager ones exactly; otherwise the signature stays eager and a ``RuntimeWarning``
says so.

The step runs eagerly, never wrongly, wherever a replay cannot be vouched for:

- a module whose class is not in ``nn``'s replay-safe list (``why_not_replayable``: user
  modules, Dropout and BatchNorm while training), or any module with hooks;
- a loss function that is neither such a module nor marked ``replay_safe`` (a plain
  function may do anything);
- gradient hooks, anomaly detection, operation counting, forward-mode watchers, or gradients
  disabled;
- inputs that are not arrays or tensors.

``reason`` says why the last step ran eagerly (None after a replay) and ``counts`` how often
each path ran.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from operator import is_
from typing import Any

import numpy as np

from .._autodiff import _HOOKS
from .._counting import counting
from .._replay import NotReplayable, Program, Recorder
from .._tensor import Tensor, _Mode
from ..nn import Module
from ..nn._module import _MODES, _SETTINGS, _STRUCTURE, _hook_tables
from ..nn._replay import why_not_replayable
from ..optim import Optimizer

_UNCHECKED, _CHECKED, _REFUSED = 0, 1, 2


class CompiledStep:
    """A training step (forward, loss, backward, ``optimizer.step()``) recorded and replayed.

    Parameters
    ----------
    model : nn.Module
    loss_fn : nn.Module, or a callable with ``replay_safe = True``
        Called as ``loss_fn(model(*xb), *yb)``; returns the loss (a scalar tensor), or a
        tuple of the loss and further tensors (``extras``). A callable that is not an ``nn``
        loss module is replayed only if it declares ``replay_safe = True``: a promise that it
        computes with ops alone on its arguments (the recorder's and the check's guards still
        apply).
    optimizer : optim.Optimizer

    Attributes
    ----------
    extras : tuple of Tensor
        The loss function's further results for the last batch (replayed or eager).
    counts : dict of str to int
        Steps run by each path: ``"replayed"``, ``"recorded"``, ``"checked"`` (eager, then
        compared with a replay) and ``"eager"`` (no replay possible; see ``reason``).
    reason : str or None
        Why the last step did not replay (None when it did).

    Examples
    --------
    >>> import numpy as np, chainrule as cr
    >>> from chainrule import nn, optim
    >>> from chainrule.train import CompiledStep
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    >>> step = CompiledStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    >>> x, y = np.ones((8, 3), np.float32), np.zeros(8, np.int64)
    >>> losses = [step(x, y) for _ in range(4)]
    >>> step.counts
    {'replayed': 2, 'recorded': 1, 'checked': 1, 'eager': 0}
    """

    def __init__(self, model: Module, loss_fn: Callable[..., Any], optimizer: Optimizer):
        if not isinstance(model, Module):
            raise TypeError(f"CompiledStep: model must be an nn.Module, got {type(model).__name__}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"CompiledStep: optimizer must be an optim.Optimizer, got "
                f"{type(optimizer).__name__}"
            )
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.counts = {"replayed": 0, "recorded": 0, "checked": 0, "eager": 0}
        self.reason: str | None = None
        # by signature: (state, the program, or why the batches run eagerly)
        self._programs: dict[tuple, tuple[int, Any]] = {}
        self._versions: tuple[int, int] | None = None  # (structure, settings) of _modules
        self._params: list[Tensor] = []
        self._data: list[np.ndarray] = []  # the parameters' arrays when _param_key was made
        self._grads: list[bool] = []  # and their requires_grad
        self._param_key: tuple = ()
        self._modules: list[Module] = []
        self._fingerprint: tuple = ()
        self._hooks: list[dict] = []
        self._why_not: dict[tuple[bool, ...], str | None] = {}  # by the modules' modes
        self._modes: tuple[bool, ...] = ()  # the modules' modes, read when _MODES moved
        self._modes_version = -1
        self._why: str | None = None  # why the modules in these modes cannot replay
        self._pending: tuple[str, Any] = ("eager", None)
        self._returned: Tensor | None = None  # the loss forward returned last
        self.extras: tuple[Tensor, ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        """What a copy or a pickle keeps: the model, loss, optimiser and counts; the
        recordings (function references into this process) are made again when needed."""
        return {"parts": (self.model, self.loss_fn, self.optimizer), "counts": self.counts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(*state["parts"])  # type: ignore[misc]
        self.counts = dict(state["counts"])

    @property
    def replaying(self) -> bool:
        """Whether the last ``forward`` was replayed (its results have no graph)."""
        return self._pending[0] == "replay"

    def runs(self, model: Module, loss_fn: Any, optimizer: Optimizer) -> bool:
        """Whether this is the compiled step of ``model``, ``loss_fn`` and ``optimizer``."""
        return model is self.model and loss_fn is self.loss_fn and optimizer is self.optimizer

    def __call__(self, *batch: Any) -> float:
        """One step on ``batch`` = ``(*xb, y)``; returns the batch's loss as a float."""
        if len(batch) < 2:
            raise TypeError(
                f"CompiledStep: expected the batch's inputs and its targets, step(x, y), got "
                f"{len(batch)} argument{'s' if len(batch) != 1 else ''}"
            )
        xb, yb = batch[:-1], batch[-1:]
        self.optimizer.zero_grad()
        _, loss = self.forward(xb, yb)
        self.backward()
        self.optimizer.step()
        return float(loss.data)

    # -- the two halves, with events between them (the Learner's LossStep) --------------------
    def forward(self, xb: Sequence[Any], yb: Sequence[Any], key: Any = None) -> tuple[Any, Tensor]:
        """Predictions and loss of the batch: replayed (constant tensors), or eager (graph
        tensors); a loss function's further results are in ``extras``. ``backward`` must follow
        before the next call. ``key`` (hashable) is what the loss function reads besides its
        arguments (a batch's weight, say): recordings are kept apart by it."""
        self.extras, self._returned = (), None
        arrays = _arrays((*xb, *yb))
        signature = self._signature(arrays)  # None: the reason is set
        if signature is None or arrays is None:
            return self._eagerly(xb, yb)
        key = (signature, key)
        entry: tuple[int | None, Any] = self._programs.get(key, (None, None))
        state, program = entry
        if state == _CHECKED:
            self.reason = None
            self.counts["replayed"] += 1
            slots = program.run_forward(arrays)
            self._pending = ("replay", (program, slots))
            wrap, outputs = Tensor._wrap, program.outputs
            pred, loss = wrap(slots[outputs[0]]), wrap(slots[outputs[1]])
            if len(outputs) > 2:
                self.extras = tuple(wrap(slots[i]) for i in outputs[2:])
            self._returned = loss
            return pred, loss
        if state is None:
            return self._record(key, arrays, xb, yb)
        if state == _UNCHECKED:
            self.reason = "checking the recording against the eager step"
            self.counts["checked"] += 1
            pred, loss = self._eager(xb, yb)
            self._pending = ("check", (key, program, arrays, [pred, loss, *self.extras]))
            return pred, loss
        return self._eagerly(xb, yb, program)  # refused: the entry holds why

    def backward_of(self, loss: Tensor | None, owner: str) -> None:
        """The gradients of ``loss``: ``backward()`` when it is the loss ``forward`` returned;
        a loss the caller replaced (a callback's) is differentiated eagerly, which a replayed
        step cannot do (its predictions have no graph): an error naming ``owner``."""
        if loss is not None and loss is self._returned:
            self.backward()
            return
        if self.replaying:
            raise RuntimeError(
                f"{owner}: a callback replaced the loss of a replayed step, whose predictions "
                "have no graph to differentiate; give that callback needs_graph = True"
            )
        self._pending = ("eager", None)
        if loss is not None:
            loss.backward()

    def backward(self) -> None:
        """The gradients of the batch ``forward`` last computed (into ``.grad``)."""
        mode, data = self._pending
        self._pending = ("eager", None)
        if mode == "replay":
            program, slots = data
            wrap = Tensor._wrap
            for p, g in program.run_backward(slots):
                if p.grad is None:
                    p.grad = wrap(g)
                else:
                    p.grad.data += g
        elif mode == "record":
            self._finish_record(*data)
        elif mode == "check":
            self._check(*data)
        elif self._returned is not None:
            self._returned.backward()

    # -- paths -----------------------------------------------------------------------------------
    def _eager(self, xb: Sequence[Any], yb: Sequence[Any]) -> tuple[Any, Tensor]:
        pred = self.model(*xb)
        loss = self.loss_fn(pred, *yb)
        if isinstance(loss, tuple):
            loss, *extras = loss
            self.extras = tuple(extras)
        self._returned = loss
        return pred, loss

    def _record(self, key: tuple, arrays: list[np.ndarray], xb, yb) -> tuple[Any, Tensor]:
        try:
            recorder = Recorder(arrays, self._params)
        except NotReplayable as exc:
            return self._eagerly(xb, yb, str(exc))
        with recorder:
            pred, loss = self._eager(xb, yb)
        self.reason = "recording"
        self.counts["recorded"] += 1
        self._pending = ("record", (key, recorder, pred, loss))
        return pred, loss

    def _finish_record(self, key: tuple, recorder: Recorder, pred: Any, loss: Tensor) -> None:
        done = False  # whether the backward pass has run
        try:
            if not isinstance(pred, Tensor) or not isinstance(loss, Tensor) or loss.data.size != 1:
                raise NotReplayable("the model or the loss did not return a single tensor")
            recorder.backward(loss)  # refuses before running, or runs to the end
            done = True
            program = recorder.finish([pred, loss, *self.extras])
        except NotReplayable as exc:
            self.reason = str(exc)
            self._programs[key] = (_REFUSED, self.reason)
            if not done:
                loss.backward()
            return
        self._programs[key] = (_UNCHECKED, program)

    def _check(self, key, program: Program, arrays, outputs: list[Tensor]) -> None:
        """The eager backward pass, then the replay of the same batch, compared exactly."""
        outputs[1].backward()
        slots = program.run_forward(arrays)
        same = len(outputs) == len(program.outputs) and all(
            _equal(slots[i], t.data) for i, t in zip(program.outputs, outputs)
        )
        if same:
            grads = program.run_backward(slots)
            same = len(grads) == sum(p.grad is not None for p in self._params) and all(
                p.grad is not None and _equal(g, p.grad.data) for p, g in grads
            )
        if same:
            self._programs[key] = (_CHECKED, program)
            return
        self._programs[key] = (_REFUSED, "the replay disagreed with the eager step")
        warnings.warn(
            "CompiledStep: the replayed step disagreed with the eager step on the same batch; "
            "batches of this shape train eagerly from now on (please report this with the "
            "model and loss used)",
            RuntimeWarning,
            stacklevel=2,
        )

    def _eagerly(self, xb, yb, why: str | None = None) -> tuple[Any, Tensor]:
        """The batch without a replay, counted as eager (``why``: the reason, if not set)."""
        if why is not None:
            self.reason = why
        self.counts["eager"] += 1
        self._pending = ("eager", None)
        return self._eager(xb, yb)

    # -- when a recording applies ----------------------------------------------------------------
    def _signature(self, arrays: list[np.ndarray] | None) -> tuple | None:
        """The key of the batch's recording, or None (with ``reason``) to run eagerly."""
        versions = (_STRUCTURE[0], _SETTINGS[0])
        if versions != self._versions:
            self._refresh(versions)
        if _MODES[0] != self._modes_version:  # read the modes again
            self._modes_version = _MODES[0]
            modes = self._modes = tuple([m.training for m in self._modules])
            if modes not in self._why_not:  # Dropout qualifies in eval mode only
                self._why_not[modes] = self._modules_why_not()
            self._why = self._why_not[modes]
        modes, why = self._modes, self._why
        if why is None:
            if arrays is None:
                why = "the batch holds something other than arrays and tensors"
            elif not _Mode.grad_enabled:
                why = "gradients are disabled"
            elif _Mode.anomaly or _Mode.watch or counting():
                why = "anomaly detection, a watcher or an operation count is active"
            elif _HOOKS and any(_HOOKS.get(id(p)) for p in self._params):
                why = "a parameter has gradient hooks"
            elif any(self._hooks):
                why = "a module has hooks, which must see every call"
        if why is not None or arrays is None:
            self.reason = why
            return None
        params = self._params
        data = [p.data for p in params]
        grads = [p.requires_grad for p in params]
        if grads != self._grads or not all(map(is_, data, self._data)):
            self._data, self._grads = data, grads
            self._param_key = tuple((a.shape, a.dtype, g) for a, g in zip(data, grads))
        if len(arrays) == 2:  # the common batch, (x, y)
            a, b = arrays
            return (self._param_key, modes, a.shape, a.dtype, b.shape, b.dtype)
        return (self._param_key, modes, *[(a.shape, a.dtype) for a in arrays])

    def _refresh(self, versions: tuple[int, int]) -> None:
        """Re-reads the modules and parameters after some module (any, anywhere) changed
        structure or settings; the recordings go if one of this step's modules changed."""
        self._versions = versions
        modules = self.model._module_list()
        if isinstance(self.loss_fn, Module):
            modules = modules + self.loss_fn._module_list()
        fingerprint = _fingerprint(modules)
        if fingerprint != self._fingerprint:
            self._fingerprint = fingerprint
            self._programs.clear()
        self._modules = modules
        self._params = list(self.model.parameters())
        self._data, self._grads = [], []
        self._why_not = {}
        self._modes_version = -1  # the modes are read again at once
        # the hooks' dicts, whose emptiness is checked at every step (hooks come and go
        # without changing the counters)
        self._hooks = [d for m in modules for d in _hook_tables(m)]

    def _modules_why_not(self) -> str | None:
        if isinstance(self.loss_fn, Module):
            return why_not_replayable(self.model) or why_not_replayable(self.loss_fn)
        if getattr(self.loss_fn, "replay_safe", False) is True:
            return why_not_replayable(self.model)
        return "the loss function is neither an nn loss module nor marked replay_safe"


_SKIP = frozenset({"training", "_cache", "_forward_pre_hooks", "_forward_hooks", "_backward_hooks"})
_PLAIN = (bool, int, float, str, type(None))


def _fingerprint(modules: list[Module]) -> tuple:
    """What a recording depends on in ``modules``: each module and its attributes (plain
    values by value, parameters, buffers, sub-modules and anything else by identity). Modes
    and hooks are checked at every step instead."""
    out = []
    for m in modules:
        items: list[tuple] = [(id(m),)]
        for k, v in m.__dict__.items():
            if k in _SKIP:
                continue
            if isinstance(v, _PLAIN):
                items.append((k, v))
            elif isinstance(v, dict):
                items.append((k, *[(k2, id(v2)) for k2, v2 in v.items()]))
            else:
                items.append((k, id(v)))
        out.append(tuple(items))
    return tuple(out)


def _arrays(values: Sequence[Any]) -> list[np.ndarray] | None:
    out = []
    for v in values:
        if isinstance(v, Tensor):
            if v.requires_grad:
                return None
            out.append(v.data)
        elif type(v) is np.ndarray:
            out.append(v)
        else:
            return None
    return out


def _equal(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
