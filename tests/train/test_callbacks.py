"""Every steering and recording callback: loss history, schedules, early stopping, plateau,
checkpoints, CSV log and metrics."""

from __future__ import annotations

import csv
import importlib.util

import numpy as np
import pytest

from chainrule import optim
from chainrule.train import (
    CheckpointCallback,
    CSVLogger,
    EarlyStoppingCallback,
    EveryBatchSchedulerCallback,
    MetricsCallback,
    ReduceLROnPlateauCallback,
    TrainLossCallback,
    accuracy,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    root_mean_squared_error,
)

from ._helpers import loaders, params, tiny_learner


def test_train_loss_callback_records_every_iteration_and_epoch():
    dl_train, dl_valid = loaders()
    cb = TrainLossCallback()
    learner = tiny_learner([cb])
    learner.fit(dl_train, 3, dataloader_valid=dl_valid)
    h = cb.history
    np.testing.assert_array_equal(h["iteration"], np.arange(6))
    np.testing.assert_array_equal(h["epoch"], [0, 0, 1, 1, 2, 2])
    assert h["train_loss"].shape == (6,) and np.all(h["lr"] == 0.1)
    e = h["epochs"]
    np.testing.assert_array_equal(e["end_iteration"], [2, 4, 6])
    assert e["valid_loss"][-1] == pytest.approx(learner.epoch_log["valid_loss"])
    assert e["train_loss"][0] == pytest.approx(np.mean(h["train_loss"][:2]))


def test_train_loss_to_dataframe_needs_pandas():
    cb = TrainLossCallback()
    dl_train, _ = loaders()
    tiny_learner([cb]).fit(dl_train, 1)
    if importlib.util.find_spec("pandas") is None:
        with pytest.raises(ImportError, match="needs pandas"):
            cb.to_dataframe()
    else:
        frame = cb.to_dataframe()
        assert list(frame.columns) == ["iteration", "epoch", "train_loss", "lr"]
        assert len(cb.to_dataframe("epoch")) == 1
    with pytest.raises(ValueError, match="per must be 'iteration' or 'epoch', got 'batch'"):
        cb.to_dataframe("batch")


def test_every_batch_scheduler_follows_one_cycle_exactly():
    dl_train, _ = loaders()
    loss_cb = TrainLossCallback()
    learner = tiny_learner([loss_cb])
    sched = optim.lr_scheduler.OneCycleLR(learner.optimizer, max_lr=1.0, total_steps=6)
    learner.add_callback(EveryBatchSchedulerCallback(sched))
    learner.fit(dl_train, 3)
    twin = tiny_learner()
    ref = optim.lr_scheduler.OneCycleLR(twin.optimizer, max_lr=1.0, total_steps=6)
    expected = []
    for _ in range(6):
        expected.append(twin.optimizer.param_groups[0]["lr"])
        ref.step()
    np.testing.assert_array_equal(loss_cb.history["lr"], expected)
    assert sched.last_epoch == 6


def test_every_batch_scheduler_errors():
    learner = tiny_learner()
    plateau = optim.lr_scheduler.ReduceLROnPlateau(learner.optimizer)
    with pytest.raises(TypeError, match="got ReduceLROnPlateau; use ReduceLROnPlateauCallback"):
        EveryBatchSchedulerCallback(plateau)
    with pytest.raises(TypeError, match="got str"):
        EveryBatchSchedulerCallback("onecycle")
    other = tiny_learner()
    sched = optim.lr_scheduler.StepLR(other.optimizer, step_size=1)
    learner.add_callback(EveryBatchSchedulerCallback(sched))
    with pytest.raises(ValueError, match="built on another optimizer"):
        learner.fit(loaders()[0], 1)


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    dl_train, dl_valid = loaders()
    snapshots = {}

    class Snap(TrainLossCallback):
        def after_epoch(self):
            snapshots[self.learner.epoch] = params(self.learner)

    es = EarlyStoppingCallback(monitor="valid_loss", patience=2)
    learner = tiny_learner([es, Snap()], lr=0.0)  # lr 0: never improves after epoch 0
    learner.fit(dl_train, 10, dataloader_valid=dl_valid)
    assert learner.epoch == 3 and es.stopped_epoch == 2 and es.best_epoch == 0
    for k, v in params(learner).items():
        np.testing.assert_array_equal(v, snapshots[0][k])

    es2 = EarlyStoppingCallback(monitor="train_loss", patience=1, min_delta=1e-6)
    learner = tiny_learner([es2], lr=0.5)
    learner.fit(dl_train, 3)
    assert es2.stopped_epoch is None and learner.epoch == 3, "improving: no stop"


def test_early_stopping_argument_and_monitor_errors():
    with pytest.raises(ValueError, match="patience must be a positive integer, got 0"):
        EarlyStoppingCallback(patience=0)
    with pytest.raises(ValueError, match="min_delta must be a number >= 0, got -1"):
        EarlyStoppingCallback(min_delta=-1)
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max', got 'up'"):
        EarlyStoppingCallback(mode="up")
    assert EarlyStoppingCallback(monitor="accuracy").mode == "max"
    learner = tiny_learner([EarlyStoppingCallback()])
    with pytest.raises(KeyError, match="pass dataloader_valid to fit, or monitor 'train_loss'"):
        learner.fit(loaders()[0], 1)


def test_reduce_lr_on_plateau_callback_lowers_the_rate():
    dl_train, _ = loaders()
    cb = ReduceLROnPlateauCallback(monitor="train_loss", mode="max", factor=0.5, patience=0)
    learner = tiny_learner([cb])
    learner.fit(dl_train, 3)
    assert learner.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**2), (
        "a falling loss watched in max mode: no improvement after epoch 0, halved twice"
    )
    assert cb.scheduler.last_epoch == 3 and cb.state_dict()["num_bad_epochs"] == 0


def test_checkpoint_callback_keeps_the_last_files_and_the_best(tmp_path):
    dl_train, dl_valid = loaders()
    cb = CheckpointCallback(every_n_epochs=1, keep_last=2, save_best_on="valid_loss")
    learner = tiny_learner([cb], save_dir=tmp_path)
    learner.fit(dl_train, 4, dataloader_valid=dl_valid)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["best.safetensors", "epoch_0003.safetensors", "epoch_0004.safetensors"], (
        "no temporary files left"
    )
    assert cb.last_path == tmp_path / "epoch_0004.safetensors"
    every2 = CheckpointCallback(every_n_epochs=2, keep_last=None, directory=tmp_path / "sub")
    tiny_learner([every2]).fit(dl_train, 5)
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == [
        "epoch_0002.safetensors",
        "epoch_0004.safetensors",
    ]


def test_checkpoint_callback_saves_the_epoch_early_stopping_ended(tmp_path):
    dl_train, dl_valid = loaders()
    es = EarlyStoppingCallback(patience=1)
    ckpt = CheckpointCallback(keep_last=None)
    learner = tiny_learner([es, ckpt], lr=0.0, save_dir=tmp_path)
    learner.fit(dl_train, 5, dataloader_valid=dl_valid)
    assert learner.epoch == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "epoch_0001.safetensors",
        "epoch_0002.safetensors",
    ]


def test_checkpoint_callback_skips_an_epoch_with_a_non_finite_valid_loss(tmp_path):
    dl_train, dl_valid = loaders()
    learner = tiny_learner([CheckpointCallback(save_best_on="valid_loss")], save_dir=tmp_path)
    learner.fit(dl_train, 1, dataloader_valid=dl_valid)
    saved = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    nan_valid = [(np.full_like(b[0], np.nan), b[1]) for b in dl_valid]  # training stays finite
    with (
        np.errstate(invalid="ignore"),
        pytest.warns(UserWarning, match="epoch 2 is not saved: the valid loss is nan"),
    ):
        learner.fit(dl_train, 1, dataloader_valid=nan_valid)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == saved, "the good files stay"


def test_checkpoint_callback_needs_a_folder():
    with pytest.raises(ValueError, match=r"give Learner\(save_dir=...\)"):
        tiny_learner([CheckpointCallback()]).fit(loaders()[0], 1)
    with pytest.raises(ValueError, match="every_n_epochs must be a positive integer, got 0"):
        CheckpointCallback(every_n_epochs=0)


def test_csv_logger_writes_a_row_per_epoch(tmp_path):
    dl_train, dl_valid = loaders()
    learner = tiny_learner([CSVLogger("log.csv")], save_dir=tmp_path, metrics=["accuracy"])
    learner.fit(dl_train, 2, dataloader_valid=dl_valid)
    learner.fit(dl_train, 1, dataloader_valid=dl_valid)
    with (tmp_path / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"], "later fits append"
    assert set(rows[0]) == {"epoch", "train_loss", "valid_loss", "accuracy", "lr"}
    assert float(rows[-1]["valid_loss"]) == learner.epoch_log["valid_loss"], "full precision"


def test_metrics_callback_puts_metrics_in_the_epoch_log():
    dl_train, dl_valid = loaders()
    own = MetricsCallback(["accuracy", "f1", ("neg_mae", lambda p, t: -mean_absolute_error(p, t))])
    learner = tiny_learner([own])
    learner.fit(dl_train, 2, dataloader_valid=dl_valid)
    pred = learner.predict(dl_valid)
    target = np.concatenate([yb.data for _, yb in dl_valid])
    assert learner.epoch_log["accuracy"] == accuracy(pred, target)
    assert learner.epoch_log["f1"] == f1_score(pred, target)
    assert own.history["epoch"] == [0, 1] and len(own.history["neg_mae"]) == 2
    assert learner.validate(dl_valid)["accuracy"] == accuracy(pred, target)
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        MetricsCallback(["auc"])
    with pytest.raises(TypeError, match="got int"):
        MetricsCallback([3])


def test_metric_functions_agree_with_scikit_learn():
    from sklearn import metrics as skm

    rng = np.random.default_rng(0)
    logits = rng.standard_normal((50, 1))
    labels = rng.integers(0, 2, (50, 1)).astype(np.float32)
    assert accuracy(logits, labels) == skm.accuracy_score(labels.ravel(), logits.ravel() > 0)
    assert f1_score(logits, labels) == pytest.approx(
        skm.f1_score(labels.ravel(), logits.ravel() > 0)
    )
    scores, classes = rng.standard_normal((60, 3)), rng.integers(0, 3, 60)
    assert accuracy(scores, classes) == skm.accuracy_score(classes, scores.argmax(1))
    assert f1_score(scores, classes) == pytest.approx(
        skm.f1_score(classes, scores.argmax(1), average="macro")
    )
    assert accuracy(scores, np.eye(3)[classes]) == accuracy(scores, classes), "one-hot targets"
    y, p = rng.standard_normal((40, 2)), rng.standard_normal((40, 2))
    assert r2_score(p, y) == pytest.approx(skm.r2_score(y, p))
    assert mean_absolute_error(p, y) == pytest.approx(skm.mean_absolute_error(y, p))
    assert mean_squared_error(p, y) == pytest.approx(skm.mean_squared_error(y, p))
    assert root_mean_squared_error(p, y) == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    with pytest.raises(ValueError, match="predictions give 3 samples, targets 2"):
        accuracy(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match=r"shape \(3,\) and targets of shape \(2,\)"):
        r2_score(np.zeros(3), np.zeros(2))


def test_callback_state_errors():
    from chainrule.train import Callback, TrainActivationsCallback

    learner = tiny_learner()
    sched = optim.lr_scheduler.StepLR(learner.optimizer, step_size=1)
    with pytest.raises(ValueError, match="holds a 'OneCycleLR' schedule, this callback a 'StepLR'"):
        EveryBatchSchedulerCallback(sched).load_state_dict({"class": "OneCycleLR", "state": {}})
    with pytest.raises(ValueError, match=r"lacks \['best_epoch', 'best_weights'"):
        EarlyStoppingCallback().load_state_dict({"best": 1.0, "wait": 0, "stopped_epoch": None})
    es = learner.add_callback(EarlyStoppingCallback())
    state = es.state_dict() | {"best_weights": {"0.weight": np.zeros((3, 3))}}
    with pytest.raises(ValueError, match="saved best weights do not fit the model"):
        es.load_state_dict(state)
    plateau = learner.add_callback(ReduceLROnPlateauCallback())
    with pytest.raises(ValueError, match="checkpoint state lacks"):
        plateau.load_state_dict({"best": 1.0})
    with pytest.raises(ValueError, match="checkpoint state lacks 'best' or 'saved'"):
        CheckpointCallback().load_state_dict({})
    with pytest.raises(ValueError, match=r"checkpoint has metrics \['f1'\]"):
        MetricsCallback(["accuracy"]).load_state_dict({"f1": []})
    with pytest.raises(ValueError, match="does not hold a loss history"):
        TrainLossCallback().load_state_dict({"iterations": {}})
    with pytest.raises(ValueError, match=r"keeps no state, got keys \['x'\]"):
        Callback().load_state_dict({"x": 1})
    acts = TrainActivationsCallback()
    bad = {"kind": "ReLU", "range": None, "iterations": np.zeros(2), "stats": np.zeros((2, 3))}
    bad |= {"counts": np.zeros((2, 40)), "last_active": None, "saturation": None, "ema_weight": 0}
    with pytest.raises(ValueError, match=r"record 'x': telemetry record has stats \(2, 3\)"):
        acts.load_state_dict({"records": {"x": bad}})


def test_csv_logger_refuses_new_columns(tmp_path):
    dl_train, dl_valid = loaders()
    learner = tiny_learner([CSVLogger(tmp_path / "log.csv")])
    learner.fit(dl_train, 1)
    with pytest.raises(ValueError, match=r"epoch values \['valid_loss'\] are not columns"):
        learner.fit(dl_train, 1, dataloader_valid=dl_valid)
