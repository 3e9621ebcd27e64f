"""The Loop under both front ends: the same events, cancels and state for a Learner and an
estimator, and a bare Loop with a TrainingStep of its own."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.estimators import MLPRegressor
from chainrule.train import (
    EVENTS,
    CancelBackwardException,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelStepException,
    CancelTrainException,
    CancelValidateException,
    Learner,
    Loop,
    LossStep,
    TrainingStep,
)

from ._helpers import EventRecorder, RaiseAt, loaders, tiny_learner, tiny_model

CANCELS = [
    ("before_fit", CancelFitException),
    ("after_batch", CancelFitException),
    ("before_epoch", CancelEpochException),
    ("after_train", CancelEpochException),
    ("before_train", CancelTrainException),
    ("after_step", CancelTrainException),
    ("before_validate", CancelValidateException),
    ("after_pred", CancelBatchException),
    ("after_loss", CancelBatchException),
    ("before_backward", CancelBackwardException),
    ("before_step", CancelStepException),
]


def _once(event: str, exc: type) -> RaiseAt:
    """Raises ``exc`` the first time ``event`` comes."""
    fired = []

    def first(_learner) -> bool:
        fired.append(True)
        return len(fired) == 1

    return RaiseAt(event, exc, first)


def _learner_events(*callbacks) -> list[str]:
    rec = EventRecorder()
    dl_train, dl_valid = loaders(n_train=32, n_valid=16, batch_size=16)  # 2 + 1 batches
    tiny_learner([rec, *callbacks]).fit(dl_train, 2, dataloader_valid=dl_valid)
    return rec.events


def _estimator_events(*callbacks) -> tuple[list[str], MLPRegressor]:
    rec = EventRecorder()
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.standard_normal(40)
    reg = MLPRegressor(
        hidden_layer_sizes=(4,),
        batch_size=18,
        early_stopping=True,
        validation_fraction=0.1,
        max_iter=2,
        random_state=0,
        callbacks=[rec, *callbacks],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X, y)  # 36 training rows: batches of 18 and 18; the validation set is one
    return rec.events, reg


@pytest.mark.parametrize(("event", "exc"), CANCELS, ids=[f"{e}-{x.__name__}" for e, x in CANCELS])
def test_a_learner_and_an_estimator_emit_the_same_events(event, exc):
    ours, reg = _estimator_events(_once(event, exc))
    theirs = _learner_events(_once(event, exc))
    assert ours == theirs, f"{exc.__name__} at {event}: the estimator's events differ"
    cancel = "after_cancel_" + exc.__name__[len("Cancel") : -len("Exception")].lower()
    assert ours.count(cancel) == 1, f"{exc.__name__} at {event}: one {cancel}"
    assert isinstance(reg.learner_, Loop) and not isinstance(reg.learner_, Learner)


def test_both_front_ends_count_the_same_and_leave_the_same_state():
    _, reg = _estimator_events()
    learner = tiny_learner()
    dl_train, dl_valid = loaders(n_train=32, n_valid=16, batch_size=16)
    learner.fit(dl_train, 2, dataloader_valid=dl_valid)
    for loop in (reg.learner_, learner):
        name = type(loop).__name__
        assert (loop.epoch, loop.iteration) == (2, 4), name
        assert not loop.in_fit and not loop.training and loop.event is None, name
        assert set(loop.epoch_log) >= {"epoch", "train_loss", "valid_loss", "lr"}, name
    assert reg.learner_.epoch_log["valid_loss"] == reg.validation_loss_curve_[-1]
    assert reg.learner_.epoch_log["train_loss"] == reg.loss_


class Recording(TrainingStep):
    """A squared-error step that notes its hooks and can end the fit after an epoch."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.calls: list[str] = []
        self.stop_after = stop_after

    def loss(self, loop):
        self.calls.append("loss")
        d = loop.pred - loop.yb[0]
        return (d * d).mean()

    def end_pass(self, loop):
        self.calls.append(f"end_pass:{'train' if loop.training else 'valid'}")

    def end_epoch(self, loop):
        self.calls.append("end_epoch")
        return self.stop_after is not None and loop.epoch + 1 >= self.stop_after

    def end_fit(self, loop):
        self.calls.append("end_fit")


class Watch(EventRecorder):
    def __init__(self, step: Recording) -> None:
        super().__init__()
        self.step = step

    def after_train(self):
        self.step.calls.append("after_train")

    def after_epoch(self):
        self.step.calls.append("after_epoch")

    def after_fit(self):
        self.step.calls.append("after_fit")


def _bare_loop(step: TrainingStep, *callbacks) -> Loop:
    model = tiny_model()
    return Loop(model, optim.SGD(model.parameters(), lr=0.1), step, callbacks)


def test_a_bare_loop_runs_a_step_of_its_own_and_its_hooks_come_before_the_after_events():
    step = Recording()
    loop = _bare_loop(step, Watch(step))
    dl_train, dl_valid = loaders(n_train=32, n_valid=16, batch_size=16)
    assert loop.run(1, dl_train, dl_valid) is True, "every epoch ran"
    assert step.calls == [
        "loss",
        "loss",
        "end_pass:train",
        "after_train",
        "loss",
        "end_pass:valid",
        "end_epoch",
        "after_epoch",
        "end_fit",
        "after_fit",
    ]
    assert loop.iteration == 2 and loop.epoch == 1 and np.isfinite(loop.epoch_log["valid_loss"])
    assert "step=Recording" in repr(loop)


def test_a_step_that_ends_the_fit_emits_no_cancel_event():
    step = Recording(stop_after=2)
    rec = EventRecorder()
    loop = _bare_loop(step, rec)
    assert loop.run(5, loaders()[0]) is False, "stopped before the fifth epoch"
    assert loop.epoch == 2 and rec.events.count("after_epoch") == 2
    assert not any("cancel" in e for e in rec.events) and rec.events[-1] == "after_fit"
    loop.step = Recording(stop_after=4)
    assert loop.run(1, loaders()[0]) is True, "a new run starts afresh"
    loop.step = Recording(stop_after=4)
    assert loop.run(2, loaders()[0]) is False, "a stop at the last epoch is a stop"


def test_cancel_fit_makes_run_return_false_after_the_fit_events():
    rec = EventRecorder()
    loop = _bare_loop(LossStep(nn.MSELoss()), rec, _once("after_epoch", CancelFitException))
    assert loop.run(3, loaders()[0]) is False
    assert rec.events[-3:] == ["after_epoch", "after_cancel_fit", "after_fit"]
    assert loop.epoch == 1 and not loop.in_fit


def test_other_exceptions_leave_the_loop_and_still_tear_down():
    class Torn(RaiseAt):
        torn = 0

        def teardown(self):
            Torn.torn += 1

    loop = _bare_loop(LossStep(nn.MSELoss()), Torn("after_loss", ZeroDivisionError))
    with pytest.raises(ZeroDivisionError):
        loop.run(1, loaders()[0])
    assert Torn.torn == 1 and not loop.in_fit and loop.event is None


def test_loop_argument_errors():
    model = tiny_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="Loop: model must be an nn.Module, got list"):
        Loop([], opt, LossStep(nn.MSELoss()))
    with pytest.raises(TypeError, match="Loop: optimizer must be an optim.Optimizer, got dict"):
        Loop(model, {}, LossStep(nn.MSELoss()))
    with pytest.raises(TypeError, match="Loop: step must be a TrainingStep, got MSELoss"):
        Loop(model, opt, nn.MSELoss())
    with pytest.raises(NotImplementedError, match="TrainingStep.loss: a TrainingStep must"):
        Loop(model, opt, TrainingStep()).run(1, loaders()[0])


def test_run_refuses_to_start_inside_a_run():
    errors = []

    class Nested(RaiseAt):
        def __init__(self):
            super().__init__("before_epoch", RuntimeError)

        def _maybe_raise(self):
            try:
                self.learner.run(1, loaders()[0])
            except RuntimeError as err:
                errors.append(str(err))

    _bare_loop(LossStep(nn.MSELoss()), Nested()).run(1, loaders()[0])
    assert errors == ["Loop.run: already running (called from a callback)"]


def test_every_event_is_one_the_loop_can_emit():
    assert all(e.startswith(("before_", "after_")) for e in EVENTS)


def test_a_callback_that_needs_a_learner_says_so_on_a_bare_loop(tmp_path):
    from chainrule.train import CheckpointCallback

    ckpt = CheckpointCallback(directory=tmp_path)
    loop = _bare_loop(LossStep(nn.MSELoss()), ckpt)
    with pytest.raises(TypeError, match="CheckpointCallback needs a Learner .* attached to a Loop"):
        loop.run(1, loaders()[0])
    assert ckpt.require_learner() is loop and list(tmp_path.iterdir()) == []
    assert tiny_learner([rec := EventRecorder()]) is rec.require_learner(Learner)


def test_the_learners_loss_function_lives_in_its_step():
    learner = tiny_learner()
    assert isinstance(learner.step, LossStep) and learner.loss_func is learner.step.loss_func
    mse = nn.MSELoss()
    learner.loss_func = mse
    assert learner.step.loss_func is mse
    with pytest.raises(TypeError, match="loss_func must be callable, got int"):
        learner.loss_func = 3
