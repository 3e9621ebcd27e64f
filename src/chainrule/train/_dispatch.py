"""``CallbackHost``: the learner's list of callbacks and the dispatch of events to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._callback import Callback
from ._events import EVENTS


class CallbackHost:
    """Holds ``callbacks`` sorted by ``order`` and runs their handlers of each event; the
    ``Learner`` is one, and so is the estimators' ``learner_`` (the same dispatch for both)."""

    callbacks: list[Callback]
    _handlers: dict[str, list[tuple[Callback, Callable[[], Any]]]]
    event: str | None

    def add_callback(self, callback: Callback) -> Callback:
        """Attaches ``callback`` (it runs from the next event on) and returns it."""
        if not isinstance(callback, Callback):
            raise TypeError(
                f"{type(self).__name__}.add_callback: expected a Callback instance, got "
                f"{type(callback).__name__}"
                + (" (a class; call it)" if isinstance(callback, type) else "")
            )
        if callback.learner is not None and callback.learner is not self:
            raise ValueError(
                f"{type(self).__name__}.add_callback: {type(callback).__name__} is already "
                f"attached to another Learner; make a new instance"
            )
        if callback in self.callbacks:
            raise ValueError(
                f"{type(self).__name__}.add_callback: {callback!r} is already attached"
            )
        callback.learner = self
        self.callbacks.append(callback)
        self._sort_callbacks()
        return callback

    def remove_callback(self, callback: Callback) -> Callback:
        """Detaches ``callback`` (it runs no more events) and returns it."""
        if callback not in self.callbacks:
            raise ValueError(f"{type(self).__name__}.remove_callback: {callback!r} is not attached")
        self.callbacks.remove(callback)
        callback.learner = None
        self._sort_callbacks()
        return callback

    def get_callback(self, kind: type | str) -> Callback | None:
        """The first attached callback of class ``kind`` (or with ``name == kind``), or None."""
        for cb in self.callbacks:
            if (isinstance(kind, str) and cb.name == kind) or (
                isinstance(kind, type) and isinstance(cb, kind)
            ):
                return cb
        return None

    def _sort_callbacks(self) -> None:
        self.callbacks.sort(key=lambda cb: cb.order)  # stable: ties keep insertion order
        self._handlers = {
            e: [(cb, getattr(cb, e)) for cb in self.callbacks if callable(getattr(cb, e, None))]
            for e in EVENTS
        }

    def _event(self, name: str) -> None:
        """Runs every attached callback's handler of event ``name``, in order."""
        self.event = name
        for cb, handler in self._handlers[name]:
            if cb.learner is self:  # skip callbacks removed during this event
                handler()

    def _with_events(
        self,
        f: Callable[[], Any],
        stage: str,
        cancel: type,
        finish: Callable[[], Any] | None = None,
    ) -> None:
        """``before_stage``, ``f()``, then ``after_stage`` (``after_cancel_stage`` first if
        ``f`` or ``before_stage`` raised ``cancel``); ``finish()`` runs just before ``after``."""
        try:
            self._event(f"before_{stage}")
            f()
        except cancel:
            self._event(f"after_cancel_{stage}")
        if finish is not None:
            finish()
        self._event(f"after_{stage}")
