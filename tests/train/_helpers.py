"""Tiny data, models and learners for the training tests (seeded, a few milliseconds each)."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import ArrayDataset, DataLoader
from chainrule.train import EVENTS, Callback, Learner


def blobs(n: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs in 2-D: X (n, 2) float32, y (n, 1) float32 in {0, 1}."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(np.float32)
    X = rng.standard_normal((n, 2)).astype(np.float32) + 2.0 * y[:, None] - 1.0
    return X, y.reshape(-1, 1)


def loaders(n_train: int = 32, n_valid: int = 16, batch_size: int = 16, seed: int = 0):
    """(train loader, shuffled with its own generator; valid loader)."""
    X, y = blobs(n_train + n_valid, seed)
    train = DataLoader(
        ArrayDataset(X[:n_train], y[:n_train]),
        batch_size=batch_size,
        shuffle=True,
        generator=cr.Generator(seed),
    )
    valid = DataLoader(ArrayDataset(X[n_train:], y[n_train:]), batch_size=batch_size)
    return train, valid


def tiny_model(seed: int = 0, hidden: int = 4, act=nn.Sigmoid) -> nn.Module:
    g = cr.Generator(seed)
    return nn.Sequential(
        nn.Linear(2, hidden, generator=g), act(), nn.Linear(hidden, 1, generator=g)
    )


def tiny_learner(callbacks=(), lr: float = 0.1, seed: int = 0, model=None, **kwargs) -> Learner:
    model = tiny_model(seed) if model is None else model
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    kwargs.setdefault("show_progress", False)
    return Learner(model, opt, nn.BCEWithLogitsLoss(), callbacks=list(callbacks), **kwargs)


def params(learner: Learner) -> dict[str, np.ndarray]:
    return learner.model.state_dict()


class EventRecorder(Callback):
    """Records the name of every event it sees, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []


for _event in EVENTS:
    setattr(EventRecorder, _event, lambda self, _e=_event: self.events.append(_e))


class RaiseAt(Callback):
    """Raises ``exc`` at ``event`` when ``when(learner)`` holds (every time by default), after
    the other callbacks (an ``EventRecorder`` sees the event first)."""

    order = 1000

    def __init__(self, event: str, exc: type, when=None) -> None:
        super().__init__()
        self.when = when or (lambda learner: True)
        self.exc = exc
        setattr(self, event, self._maybe_raise)

    def _maybe_raise(self) -> None:
        if self.when(self.learner):
            raise self.exc()
