"""The event sequence, the cancel exceptions, callback order, run-time changes and the typo
guard."""

from __future__ import annotations

import re

import numpy as np
import pytest

from chainrule.train import (
    EVENTS,
    Callback,
    CancelBackwardException,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelStepException,
    CancelTrainException,
    CancelValidateException,
    Learner,
)

from ._helpers import EventRecorder, RaiseAt, loaders, params, tiny_learner

BATCH = ["before_batch", "after_pred", "after_loss"]
TRAIN_BATCH = BATCH + [
    "before_backward",
    "after_backward",
    "before_step",
    "after_step",
    "after_batch",
]
VALID_BATCH = BATCH + ["after_batch"]


def documented_sequence() -> list[str]:
    """The literal block in ``Learner.fit``'s docstring."""
    block = Learner.fit.__doc__.split("exactly these events", 1)[1].split("::", 1)[1]
    return block.strip().split("\n\n")[0].split()


def test_the_documented_sequence_is_what_fit_emits():
    dl_train, dl_valid = loaders(n_train=32, n_valid=16, batch_size=16)  # 2 + 1 batches
    rec = EventRecorder()
    tiny_learner([rec]).fit(dl_train, 1, dataloader_valid=dl_valid)
    expected = (
        ["before_fit", "before_epoch", "before_train"]
        + TRAIN_BATCH * 2
        + ["after_train", "before_validate"]
        + VALID_BATCH
        + ["after_validate", "after_epoch", "after_fit"]
    )
    assert documented_sequence() == expected, "the docstring lists the sequence written here"
    assert rec.events == expected, "fit emits exactly the documented sequence"


def test_events_are_fastais_closed_list():
    assert len(EVENTS) == len(set(EVENTS)) == 23
    for stage in ("batch", "backward", "step", "train", "validate", "epoch", "fit"):
        assert f"after_cancel_{stage}" in EVENTS, f"cancel event of {stage}"


def test_without_validation_no_validate_events():
    dl_train, _ = loaders()
    rec = EventRecorder()
    tiny_learner([rec]).fit(dl_train, 2)
    assert "before_validate" not in rec.events
    assert rec.events.count("before_epoch") == 2 and rec.events.count("before_batch") == 4


def _run(raiser, n_epochs=2):
    dl_train, dl_valid = loaders()
    rec = EventRecorder()
    learner = tiny_learner([raiser, rec])
    before = params(learner)
    learner.fit(dl_train, n_epochs, dataloader_valid=dl_valid)
    return learner, rec.events, before


def test_cancel_batch_skips_the_rest_of_that_batch():
    learner, events, before = _run(
        RaiseAt("after_pred", CancelBatchException, lambda lr: lr.training), n_epochs=1
    )
    assert events[3:7] == ["before_batch", "after_pred", "after_cancel_batch", "after_batch"]
    assert "after_loss" not in events[: events.index("after_train")], "no training loss computed"
    assert all(np.array_equal(before[k], v) for k, v in params(learner).items()), "no step"
    assert learner.iteration == 2, "cancelled batches still count as iterations"


def test_cancel_backward_and_cancel_step_leave_parameters_unchanged():
    for event, exc, cancel in (
        ("before_backward", CancelBackwardException, "after_cancel_backward"),
        ("before_step", CancelStepException, "after_cancel_step"),
    ):
        learner, events, before = _run(RaiseAt(event, exc), n_epochs=1)
        i = events.index(cancel)
        assert events[i - 1] == event and events[i + 1] == cancel.replace("cancel_", ""), event
        assert all(np.array_equal(before[k], v) for k, v in params(learner).items()), event
    assert events.count("before_step") == 2, "after a cancelled step the next batch runs"


def test_cancel_train_still_validates():
    _, events, _ = _run(RaiseAt("after_batch", CancelTrainException, lambda lr: lr.training), 1)
    assert events.count("after_step") == 1, "the training pass stopped after its first batch"
    i = events.index("after_cancel_train")
    assert events[i + 1 : i + 3] == ["after_train", "before_validate"]


def test_cancel_validate_skips_the_validation_batches():
    learner, events, _ = _run(RaiseAt("before_validate", CancelValidateException), 1)
    i = events.index("before_validate")
    assert events[i + 1 : i + 4] == ["after_cancel_validate", "after_validate", "after_epoch"]
    assert np.isnan(learner.epoch_log["valid_loss"]), "no validation batch: no loss"


def test_cancel_epoch_goes_on_with_the_next_epoch():
    learner, events, _ = _run(RaiseAt("before_train", CancelEpochException), n_epochs=3)
    assert events.count("after_cancel_epoch") == 3 and events.count("after_epoch") == 3
    assert "before_batch" not in events and learner.epoch == 3


def test_cancel_fit_ends_after_cancel_fit_and_after_fit():
    learner, events, _ = _run(RaiseAt("after_epoch", CancelFitException), n_epochs=5)
    assert events[-3:] == ["after_epoch", "after_cancel_fit", "after_fit"]
    assert events.count("before_epoch") == 1 and learner.epoch == 1


def test_callbacks_run_in_order_and_ties_keep_insertion_order():
    seen = []

    def make(tag, order):
        cls = type(f"C{tag}", (Callback,), {"order": order})
        cls.before_fit = lambda self: seen.append(tag)
        return cls()

    dl_train, _ = loaders()
    tiny_learner([make("b", 5), make("a", -5), make("c", 5), make("d", 0)]).fit(dl_train, 0)
    assert seen == ["a", "d", "b", "c"]


def test_callbacks_can_be_added_and_removed_while_fitting():
    late = EventRecorder()

    class Juggler(Callback):
        def after_batch(self):
            learner = self.learner
            if learner.iteration == 0:
                learner.add_callback(late)
            elif learner.iteration == 2:
                learner.remove_callback(self)
                learner.remove_callback(late)

    dl_train, _ = loaders()
    juggler = Juggler()
    learner = tiny_learner([juggler])
    learner.fit(dl_train, 3)
    assert late.events[0] == "before_batch", "an added callback runs from the next event"
    assert late.events.count("before_batch") == 2 and late.learner is None
    assert juggler not in learner.callbacks and juggler.learner is None


def test_callbacks_reach_the_learner_explicitly_without_delegation():
    rec = EventRecorder()
    learner = tiny_learner([rec])
    assert rec.learner is learner
    assert not hasattr(rec, "model") and not hasattr(rec, "loss"), "no attribute delegation"
    with pytest.raises(AttributeError):
        rec.optimizer  # noqa: B018


def test_fit_callbacks_are_attached_for_that_fit_only():
    dl_train, _ = loaders()
    rec = EventRecorder()
    learner = tiny_learner()
    learner.fit(dl_train, 1, callbacks=[rec])
    assert rec.events[0] == "before_fit" and rec not in learner.callbacks and rec.learner is None


def test_a_method_named_like_an_event_that_is_none_is_a_type_error():
    with pytest.raises(TypeError, match=re.escape("did you mean 'after_batch'")):

        class Typo(Callback):
            def after_bach(self):
                pass

    with pytest.raises(TypeError, match="'before_valid' is not"):

        class Typo2(Callback):
            def before_valid(self):
                pass

    class Fine(Callback):
        def after_cancel_fit(self):
            pass

        def _before_something_private(self):
            pass

    assert Fine().name == "fine"


def test_add_callback_errors():
    learner = tiny_learner()
    with pytest.raises(TypeError, match=r"expected a Callback instance, got type \(a class"):
        learner.add_callback(EventRecorder)
    rec = learner.add_callback(EventRecorder())
    with pytest.raises(ValueError, match="already attached"):
        learner.add_callback(rec)
    with pytest.raises(ValueError, match="already attached to another Learner"):
        tiny_learner().add_callback(rec)
    learner.remove_callback(rec)
    with pytest.raises(ValueError, match="is not attached"):
        learner.remove_callback(rec)
    with pytest.raises(RuntimeError, match="not attached to a Learner"):
        rec.require_learner()


def test_a_cancel_hook_can_take_a_callbacks_cancel():
    """``Loop.cancel_hook`` sees each handler's cancel with its callback; True takes it (the
    stage goes on: DataParallel defers it to a vote), False lets it end the stage."""
    dl_train, _ = loaders()
    raiser = RaiseAt("after_pred", CancelBatchException, lambda lr: lr.training)
    rec = EventRecorder()
    learner = tiny_learner([raiser, rec])
    seen = []
    learner.cancel_hook = lambda cb, exc: seen.append((cb, type(exc))) or True
    before = params(learner)
    learner.fit(dl_train, 1)
    assert seen == [(raiser, CancelBatchException)] * 2
    assert "after_cancel_batch" not in rec.events and rec.events.count("after_step") == 2
    assert any(not np.array_equal(before[k], v) for k, v in params(learner).items())
    learner.cancel_hook = lambda cb, exc: False
    learner.fit(dl_train, 1)
    assert rec.events.count("after_cancel_batch") == 2 and rec.events.count("after_step") == 2
