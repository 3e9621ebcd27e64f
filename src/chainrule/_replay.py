"""Record and replay: a forward and backward pass as a flat list of array calls.

The eager engine makes a ``Tensor`` and a graph node for every op and walks the graph on every
backward pass. For a computation that repeats with the same structure (a training step), that
bookkeeping is the same every time; only the arrays change. A ``Program`` keeps the
computation and drops the bookkeeping:

- **Recording** runs the computation once eagerly. A watcher sees every op (its forward
  function, the arrays it read and the array it made) and the backward loop
  (``_autodiff._run``) reports every reverse rule it calls and every gradient it adds up. Each
  array gets a *slot*: the inputs and the parameters have theirs, each op's output and each
  gradient a new one, and an array that is none of these (a Python scalar, a fixed array a
  module built) is kept as a constant.
- **Replaying** calls the same functions on the slots, in the same order: the NumPy calls of
  the eager pass, without Tensor objects, graph nodes or the topological sort, as two
  straight-line Python functions generated from the recording (one line per call). The results are
  therefore the eager pass's bit for bit, as long as the computation has the structure that
  was recorded. Parameters are read afresh (``p.data``) at every replay, so in-place updates
  and loaded weights are seen.

The caller decides when a recording stays valid (``train.CompiledStep``: the same shapes,
dtypes, model structure and modes) and checks the first replay against the eager pass.
What the recorder cannot replay faithfully it refuses with :class:`NotReplayable`: gradient
hooks on the graph's tensors, anomaly detection, operation counting, forward-mode watchers,
a graph that reaches tensors computed before the recording began, gradients reaching tensors
other than the parameters, and arrays made during the step outside the ops (a mask computed
with NumPy from the batch would be replayed unchanged; the recorder finds them as the
constants that nothing but the recording holds once the graph is freed).
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from ._autodiff import _HOOKS, _backward, _own
from ._counting import counting
from ._tensor import Tensor, _Mode
from .ops._registry import WATCHERS, add_watcher, remove_watcher, unbroadcast

Instruction = tuple[Callable[..., Any], tuple[int, ...], int]
"""``(fn, argument slots, result slot)``: ``slots[result] = fn(*slots[arguments])``; a
negative result slot ``~r`` (that is ``-r - 1``) spreads the results of a joint rule over
slots r, r + 1, ...."""


class NotReplayable(RuntimeError):
    """The computation cannot be recorded as a ``Program``; the message says why."""


class Program:
    """A recorded forward and backward pass (see the module's notes).

    Attributes
    ----------
    forward, backward : list of Instruction
        The calls of each pass, in order.
    inputs : list of int
        The slots of the inputs, in the order ``run_forward`` takes them.
    params : list of Tensor
        The parameters whose ``data`` fills their slots at every replay.
    outputs : list of int
        The slots of the recorded outputs (e.g. predictions and loss).
    leaves : list of (Tensor, int)
        Each parameter that receives a gradient and the slot of that gradient, in the order
        the eager pass assigns them.
    """

    __slots__ = (
        "forward",
        "backward",
        "inputs",
        "params",
        "param_slots",
        "outputs",
        "leaves",
        "seed",
        "template",
        "_passes",
    )

    def __init__(self) -> None:
        self.forward: list[Instruction] = []
        self.backward: list[Instruction] = []
        self.inputs: list[int] = []
        self.params: list[Tensor] = []
        self.param_slots: list[int] = []
        self.outputs: list[int] = []
        self.leaves: list[tuple[Tensor, int]] = []
        self.seed: tuple[int, np.ndarray] | None = None  # its slot, and a copy of the seed
        self.template: list[Any] = []  # constants in their slots, None elsewhere
        self._passes: tuple[Callable, Callable] | None = None  # the passes as straight code

    def __repr__(self) -> str:
        return (
            f"Program({len(self.forward)} forward and {len(self.backward)} backward calls, "
            f"{len(self.params)} parameters, {len(self.template)} slots)"
        )

    def run_forward(self, inputs: Sequence[np.ndarray]) -> list[Any]:
        """Replays the forward pass on ``inputs``; returns the slots (read the outputs with
        ``slots[i] for i in outputs``), which ``run_backward`` continues from."""
        slots = self.template.copy()
        for i, x in zip(self.inputs, inputs):
            slots[i] = x
        if self._passes is None:
            self._passes = _straight_code(self)
        self._passes[0](slots)
        return slots

    def run_backward(
        self, slots: list[Any], _ndarray: Any = np.ndarray
    ) -> list[tuple[Tensor, np.ndarray]]:
        """Replays the backward pass after ``run_forward``; returns each parameter with its
        gradient (arrays that no other parameter's gradient shares, as ``backward`` leaves
        them)."""
        assert self.seed is not None and self._passes is not None, "run_forward comes first"
        seed_slot, one = self.seed
        seed = slots[seed_slot] = one.copy()
        self._passes[1](slots)
        seen = {id(seed)}
        grads = []
        template = self.template
        for p, i in self.leaves:
            g: Any = slots[i]
            # _own's checks, the cheap ones first: a rule's fresh array (no base, the
            # parameter's dtype, not a constant, which may be read-only) is kept as it is
            if (
                type(g) is not _ndarray
                or g.base is not None
                or id(g) in seen
                or g.dtype != p.data.dtype
                or template[i] is not None
            ):
                g = _own(g, p.data.dtype, seen, False)
            else:
                seen.add(id(g))
            grads.append((p, g))
        return grads


def _straight_code(program: Program) -> tuple[Callable, Callable]:
    """The program's two passes as Python functions of the slots, one line per call (no loop
    over instructions, no lookup of arguments): the same calls in the same order.

    The forward pass reads the parameters' arrays into their slots, then each call stores its
    result (made an array, as ``_node`` does); the backward pass stores each rule's result, a
    joint rule's results into consecutive slots."""
    names: dict[str, Any] = {"N": np.ndarray, "A": np.asarray}
    forward = ["def forward(s):"]
    for k, slot in enumerate(program.param_slots):
        names[f"p{k}"] = program.params[k]
        forward.append(f"    s[{slot}] = p{k}.data")
    for k, (fn, args, out) in enumerate(program.forward):
        names[f"f{k}"] = fn
        call = f"f{k}({', '.join(f's[{a}]' for a in args)})"
        forward.append(f"    v = {call}; s[{out}] = v if type(v) is N else A(v)")
    backward = ["def backward(s):", "    pass"]
    for k, (fn, args, out) in enumerate(program.backward):
        names[f"b{k}"] = fn
        call = f"b{k}({', '.join(f's[{a}]' for a in args)})"
        if out >= 0:
            backward.append(f"    s[{out}] = {call}")
        else:  # a joint rule (g, y, needs, *inputs): one result per input
            first = ~out
            backward.append(f"    s[{first}:{first + len(args) - 3}] = {call}")
    exec("\n".join(forward + [""] + backward), names)  # noqa: S102 - our own calls, by index
    return names["forward"], names["backward"]


def _call_with(fn: Callable, kw: dict) -> Callable:
    return partial(fn, **kw) if kw else fn


class Recorder:
    """Records one eager forward and backward pass into a :class:`Program`.

    Use it as a context manager around the forward pass, then call :meth:`backward` on the
    scalar to differentiate (outside or inside the block)::

        rec = Recorder(inputs=[x, y], params=model.parameters())
        with rec:
            loss = loss_fn(model(x), y)
        rec.backward(loss)  # the eager backward pass, recorded: .grad is set as usual
        program = rec.finish([loss])

    Parameters
    ----------
    inputs : sequence of ndarray
        The arrays that change from one replay to the next (a batch), in the order
        ``Program.run_forward`` will take them.
    params : iterable of Tensor
        The parameters, read afresh at each replay.
    """

    def __init__(self, inputs: Sequence[np.ndarray], params: Sequence[Tensor]) -> None:
        _check_recordable()
        self.program = program = Program()
        self._slot: dict[int, int] = {}  # id(array) -> slot
        self._nodes: dict[int, tuple[int, tuple[int, ...], Tensor]] = {}  # id(t) -> out, ins, t
        self._grad: dict[int, int] = {}  # id(t) -> slot of its gradient so far
        self._joint = -1  # the slot of the current node's joint rule result
        self._keep: list[Any] = []  # arrays whose ids are keys: alive while recording
        self._params: set[int] = set()
        for x in inputs:
            program.inputs.append(self._new(x))
        for p in params:
            program.params.append(p)
            program.param_slots.append(self._new(p.data))
            self._params.add(id(p))

    def _new(self, value: Any) -> int:
        """A new slot, registered for ``value``'s identity."""
        slot = len(self.program.template)
        self.program.template.append(None)
        self._slot[id(value)] = slot
        self._keep.append(value)
        return slot

    def _read(self, value: Any) -> int:
        """The slot of an array an op reads: its own, or a new constant."""
        slot = self._slot.get(id(value))
        if slot is None:
            slot = self._new(value)
            self.program.template[slot] = value
        return slot

    # -- the forward pass: a watcher ----------------------------------------------------------
    def __enter__(self) -> Recorder:
        add_watcher(self._on_op)
        return self

    def __exit__(self, *exc: object) -> None:
        remove_watcher(self._on_op)

    def _on_op(self, op: Any, t: Tensor, args: tuple, inputs: tuple, kw: dict) -> None:
        if len(WATCHERS) > 1:
            raise NotReplayable("another watcher (forward mode, anomaly detection) is active")
        ins = tuple(self._read(x) for x in inputs)
        out = self._new(t.data)
        self.program.forward.append((_call_with(op.forward, kw), ins, out))
        self._nodes[id(t)] = (out, ins, t)

    # -- the backward pass: a tape for _autodiff._run -------------------------------------------
    def backward(self, root: Tensor) -> None:
        """``root.backward()`` (a scalar), recorded."""
        _check_recordable()
        if id(root) not in self._nodes or root._op is None:
            raise NotReplayable("the output was not computed by an op while recording")
        _backward(root, None, False, False, self)

    def seed(self, root: Tensor, seed: np.ndarray) -> None:
        slot = self._new(seed)
        self.program.seed = (slot, seed.copy())
        self._grad[id(root)] = slot

    def check(self, consumers: dict[int, int], leaves: list[Tensor]) -> None:
        """Refuses a graph (before the backward pass runs) whose nodes were not all recorded
        or whose leaves are not all parameters."""
        leaf_ids = {id(leaf) for leaf in leaves}
        if any(_HOOKS.get(k) for k in consumers):
            raise NotReplayable("a tensor of the graph has gradient hooks")
        if any(k not in self._nodes for k in consumers if k not in leaf_ids):
            raise NotReplayable("the graph reaches a tensor computed before the recording began")
        if not leaf_ids <= self._params:
            raise NotReplayable("a gradient reaches a tensor that is not a parameter")

    def node(self, t: Tensor) -> None:
        """The rules of node ``t`` are about to run; a joint rule runs now."""
        op: Any = t._op
        if op.joint:
            out, ins, _ = self._nodes[id(t)]
            template = self.program.template
            needs = len(template)  # a constant slot: which inputs need a gradient
            template.append(tuple(None if p is None else True for p in t._parents or ()))
            first = len(template)
            template.extend([None] * len(template[needs]))
            self._emit(_call_with(op.vjp, t._kw), (self._grad[id(t)], out, needs, *ins), ~first)
            self._joint = first

    def part(self, t: Tensor, i: int, p: Tensor, shape: tuple[int, ...] | None, how: int) -> None:
        """Input ``i`` of node ``t`` (parent ``p``) received its gradient: unbroadcast to
        ``shape`` when not None, then stored (``how`` 0), added in place (1) or added into a
        new array (2)."""
        op: Any = t._op
        kw = t._kw
        out, ins, _ = self._nodes[id(t)]
        if op.joint:
            slot = self._joint + i
        else:
            rule = partial(op.vjp, argnum=i, **kw) if op.variadic else _call_with(op.vjp[i], kw)
            slot = self._emit(rule, (self._grad[id(t)], out, *ins))
        if shape is not None:
            slot = self._emit(partial(unbroadcast, shape=shape), (slot,))
        k = id(p)
        if how == 0:
            self._grad[k] = slot
        elif how == 1:
            self._emit(operator.iadd, (self._grad[k], slot), self._grad[k])
        else:
            self._grad[k] = self._emit(operator.add, (self._grad[k], slot))

    def leaf(self, leaf: Tensor) -> None:
        """``leaf`` receives its gradient (in this order)."""
        self.program.leaves.append((leaf, self._grad[id(leaf)]))

    def _emit(self, fn: Callable, args: tuple[int, ...], out: int | None = None) -> int:
        if out is None:
            out = len(self.program.template)
            self.program.template.append(None)
        self.program.backward.append((fn, args, out))
        return out

    def finish(self, outputs: Sequence[Tensor]) -> Program:
        """The program, with ``outputs`` (tensors computed while recording) as its outputs."""
        for t in outputs:
            entry = self._nodes.get(id(t))
            slot = entry[0] if entry is not None else self._slot.get(id(t.data))
            if slot is None:
                raise NotReplayable("an output was not computed while recording")
            self.program.outputs.append(slot)
        self._keep.clear()
        self._nodes.clear()
        for value in self.program.template:
            # held by the template, this loop and getrefcount alone: an array made during the
            # step outside the ops (a mask computed with NumPy from the batch), which a replay
            # would repeat as a constant
            if type(value) is np.ndarray and sys.getrefcount(value) <= 3:
                raise NotReplayable(
                    f"the step makes an array of shape {value.shape} outside the ops, which a "
                    f"replay would repeat unchanged"
                )
        return self.program


def _check_recordable() -> None:
    why = (
        "anomaly detection is on"
        if _Mode.anomaly
        else "operations are being counted"
        if counting()
        else "gradients are disabled"
        if not _Mode.grad_enabled
        else None
    )
    if why is not None:
        raise NotReplayable(why)
