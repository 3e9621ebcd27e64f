"""``Callback``: the base class of everything that watches or steers a ``Learner``'s loop."""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._events import EVENTS

if TYPE_CHECKING:
    from ._loop import Loop

LoopT = TypeVar("LoopT", bound="Loop")

_EVENT_LIKE = re.compile(r"^(before|after)_[a-z0-9_]+$")
_EVENT_SET = frozenset(EVENTS)


def check_event_names(cls: type) -> None:
    """Raises a TypeError when ``cls`` defines a public method named like an event that is none
    (``after_bach``, ``before_valid``): such a method would silently never run."""
    for name, value in vars(cls).items():
        if callable(value) and _EVENT_LIKE.match(name) and name not in _EVENT_SET:
            close = difflib.get_close_matches(name, EVENTS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(
                f"{cls.__name__}.{name} is named like a training event but {name!r} is not "
                f"one{hint} (the events are: {', '.join(EVENTS)})"
            )


def _snake(name: str) -> str:
    name = name[: -len("Callback")] if name.endswith("Callback") and name != "Callback" else name
    name = name.replace("NaN", "Nan")
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class Callback:
    """Base class of training callbacks: define methods named after events (see ``EVENTS``).

    A callback reaches the learner through its ``learner`` attribute (set when it is added to
    one, ``None`` otherwise) and reads or changes the loop's state there, e.g.
    ``self.learner.loss`` in ``after_loss``. There is no attribute delegation: ``self.model``
    is not the learner's model. Callbacks run in increasing ``order`` (ties keep the order in
    which they were added).

    Attributes
    ----------
    order : int
        Sort key among the learner's callbacks (class attribute; 0 by default).
    learner : Loop or None
        The loop (a ``Learner``, or an estimator's ``learner_``) this callback is attached to.
    needs_graph : bool
        Whether the callback may use the batch's graph: replace ``pred`` or ``loss``,
        differentiate them itself or read their graph (class attribute; True by default).
        While any attached callback needs it, the ``Learner`` runs every training batch
        eagerly. A callback that only reads values (losses, predictions' values, gradients,
        parameters) sets it False, so that the Learner can replay its compiled step
        (``CompiledStep``), whose predictions and loss are the same values without a graph.
        Module hooks need no flag: a step with hooks always runs eagerly.

    Notes
    -----
    A subclass that defines a public method called ``before_*`` or ``after_*`` that is not an
    event (a typo such as ``after_bach``) raises a ``TypeError`` when the class is defined.
    Override :meth:`state_dict` and :meth:`load_state_dict` to have the callback's state saved
    in checkpoints, and :meth:`teardown` to release resources when a fit ends in any way.
    """

    order: int = 0
    needs_graph: bool = True
    learner: Loop | None = None  # also set here, for subclasses that skip __init__

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_event_names(cls)

    def __init__(self) -> None:
        self.learner: Loop | None = None

    @property
    def name(self) -> str:
        """Snake-case class name without ``Callback``: ``EarlyStoppingCallback`` ->
        ``'early_stopping'`` (the key of this callback's state in a checkpoint)."""
        return _snake(type(self).__name__)

    def state_dict(self) -> dict[str, Any]:
        """The state to save in a checkpoint: JSON-compatible values and NumPy arrays, nested
        in dicts and lists. Empty by default (nothing saved)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores :meth:`state_dict`'s output; raise ``ValueError`` if it does not fit."""
        if state:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: this callback keeps no state, got keys "
                f"{sorted(state)}"
            )

    def teardown(self) -> None:
        """Called when a fit ends, normally or by an exception: remove hooks, close files."""

    @overload
    def require_learner(self) -> Loop: ...
    @overload
    def require_learner(self, kind: type[LoopT]) -> LoopT: ...
    def require_learner(self, kind: type[Loop] | None = None) -> Loop:
        """The loop this callback is attached to (a ``RuntimeError`` when none), checked to be
        a ``kind`` when given: ``require_learner(Learner)`` for a callback that needs a
        Learner's checkpoints or data loaders (a ``TypeError`` on an estimator's loop)."""
        if self.learner is None:
            raise RuntimeError(
                f"{type(self).__name__} is not attached to a Learner; pass it in "
                f"Learner(callbacks=[...]) or learner.add_callback(...)"
            )
        if kind is not None and not isinstance(self.learner, kind):
            raise TypeError(
                f"{type(self).__name__} needs a {kind.__name__} (its checkpoints and data "
                f"loaders); it is attached to a {type(self.learner).__name__}, which has none"
            )
        return self.learner

    def __repr__(self) -> str:
        return f"{type(self).__name__}(order={self.order})"
