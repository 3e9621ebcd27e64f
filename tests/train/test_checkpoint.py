"""Checkpoints: the file format, atomic writes, exact resume, and bad files that change nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import ArrayDataset, DataLoader
from chainrule.train import (
    Callback,
    CheckpointCallback,
    CheckpointError,
    CheckpointFile,
    EarlyStoppingCallback,
    EveryBatchSchedulerCallback,
    Learner,
    MetricsCallback,
    TrainActivationsCallback,
    TrainLossCallback,
    read_checkpoint,
)

from ._helpers import blobs, loaders, params, tiny_learner

N_EPOCHS = 4


def build(kind: str, seed: int, save_dir=None) -> tuple[Learner, DataLoader, DataLoader]:
    """A run with every source of state: momentum or Adam moments, a one-cycle schedule,
    dropout on the default generator and on its own, a shuffling loader with its own
    generator, early stopping, metrics and telemetry. ``seed`` changes every initial state."""
    cr.manual_seed(seed)
    g = cr.Generator(seed + 1)
    model = nn.Sequential(
        nn.Linear(2, 8, generator=g),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(8, 8, generator=g),
        nn.Dropout(0.2, generator=cr.Generator(seed + 2)),
        nn.Linear(8, 1, generator=g),
    )
    if kind == "sgd":
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    else:
        opt = optim.Adam(model.parameters(), lr=0.01)
    X, y = blobs(48, seed=0)
    dl_train = DataLoader(
        ArrayDataset(X[:32], y[:32]), batch_size=8, shuffle=True, generator=cr.Generator(seed + 3)
    )
    dl_valid = DataLoader(ArrayDataset(X[32:], y[32:]), batch_size=8)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.3, epochs=N_EPOCHS, steps_per_epoch=4)
    callbacks = [
        EveryBatchSchedulerCallback(sched),
        EarlyStoppingCallback(patience=50),
        TrainLossCallback(),
        MetricsCallback(["accuracy"]),
        TrainActivationsCallback(every_n=3),
    ]
    learner = Learner(
        model, opt, nn.BCEWithLogitsLoss(), callbacks, save_dir=save_dir, show_progress=False
    )
    return learner, dl_train, dl_valid


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_resume_is_bit_identical(tmp_path, kind):
    full, dl_train, dl_valid = build(kind, seed=0)
    full.fit(dl_train, N_EPOCHS, dataloader_valid=dl_valid)

    first, dl_train, dl_valid = build(kind, seed=0, save_dir=tmp_path)
    first.fit(dl_train, 2, dataloader_valid=dl_valid)
    path = first.save()
    assert path == tmp_path / "learner.safetensors"

    resumed, dl_train, dl_valid = build(kind, seed=100)  # every initial state differs
    resumed.load(path)
    assert (resumed.epoch, resumed.iteration) == (2, 8)
    resumed.fit(dl_train, N_EPOCHS - 2, dataloader_valid=dl_valid)

    for k, v in params(full).items():
        assert np.array_equal(v, params(resumed)[k]), f"{kind}: {k} differs after resume"
    h_full = full.get_callback(TrainLossCallback).history
    h_res = resumed.get_callback(TrainLossCallback).history
    np.testing.assert_array_equal(h_full["train_loss"], h_res["train_loss"])
    np.testing.assert_array_equal(h_full["lr"], h_res["lr"])
    es_full, es_res = (x.get_callback(EarlyStoppingCallback) for x in (full, resumed))
    assert (es_full.best, es_full.best_epoch, es_full.wait) == (
        es_res.best,
        es_res.best_epoch,
        es_res.wait,
    )
    acts_full, acts_res = (x.get_callback(TrainActivationsCallback) for x in (full, resumed))
    np.testing.assert_array_equal(acts_full.stats("3")["mean"], acts_res.stats("3")["mean"])


def test_checkpoint_callback_files_resume_exactly(tmp_path):
    full, dl_train, dl_valid = build("sgd", seed=0)
    full.fit(dl_train, N_EPOCHS, dataloader_valid=dl_valid)
    run, dl_train, dl_valid = build("sgd", seed=0, save_dir=tmp_path)
    run.add_callback(CheckpointCallback(keep_last=None))
    run.fit(dl_train, N_EPOCHS, dataloader_valid=dl_valid)
    resumed, dl_train, dl_valid = build("sgd", seed=7)
    with pytest.warns(UserWarning, match="CheckpointCallback .* that this learner does not have"):
        resumed.load(tmp_path / "epoch_0001.safetensors")
    resumed.fit(dl_train, N_EPOCHS - 1, dataloader_valid=dl_valid)
    for k, v in params(full).items():
        assert np.array_equal(v, params(resumed)[k]), k


def test_the_file_is_safetensors_with_a_json_header_and_no_pickle(tmp_path):
    from safetensors import safe_open

    learner, dl_train, dl_valid = build("sgd", seed=0, save_dir=tmp_path)
    learner.fit(dl_train, 1, dataloader_valid=dl_valid)
    path = learner.save("run")
    assert path == tmp_path / "run.safetensors"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.safetensors"]
    with safe_open(path, framework="numpy") as f:
        header = json.loads(f.metadata()["chainrule"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    assert header["format_version"] == 2 and header["chainrule_version"] == cr.__version__
    entries = {e["name"]: (e["shape"], e["dtype"]) for e in header["model"]["entries"]}
    assert entries["0.weight"] == ([2, 8], "float32") and entries["5.bias"] == ([1], "float32")
    np.testing.assert_array_equal(tensors["model/0.weight"], learner.model[0].weight.data)
    assert header["counters"] == {"epoch": 1, "iteration": 4, "event": None}
    assert header["optimizer"]["class"] == "SGD"
    assert set(header["generators"]) == {"default", "model:4.generator", "dataloader_train"}
    assert {"every_batch_scheduler", "early_stopping", "train_loss"} <= set(header["callbacks"])
    assert header["callbacks"]["every_batch_scheduler"]["state"]["__dict__"][0][0] == "class"
    assert set(header["arrays"]) == set(tensors)
    read_header, arrays = read_checkpoint(path)
    assert read_header == header and "model/0.weight" in arrays


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    import safetensors.numpy

    learner = tiny_learner(save_dir=tmp_path)
    path = learner.save()
    old = path.read_bytes()

    def broken_save(tensors, metadata=None):
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save", broken_save)
    learner.fit(loaders()[0], 1)
    with pytest.raises(OSError, match="disk full"):
        learner.save()
    assert path.read_bytes() == old and [p.name for p in tmp_path.iterdir()] == [path.name]


class StateProbe(Callback):
    """A callback with state, to see that a failed load leaves callbacks alone."""

    def __init__(self, value: float = 0.0, fail_on_load: bool = False) -> None:
        super().__init__()
        self.value, self.fail_on_load = value, fail_on_load

    def state_dict(self):
        return {"value": self.value, "weights": np.full(3, self.value)}

    def load_state_dict(self, state):
        self.value = float(state["value"])
        if self.fail_on_load:
            self.fail_on_load = False  # once: the rollback's load succeeds
            raise ValueError("probe refuses")


def _snapshot(learner):
    opt = learner.optimizer.state_dict()
    return (
        params(learner),
        {i: s["momentum_buffer"].copy() for i, s in opt["state"].items()},
        opt["param_groups"],
        [cb.state_dict() for cb in learner.callbacks],
        (learner.epoch, learner.iteration),
        cr.default_generator.get_state(),
    )


def _assert_unchanged(before, after):
    for k, v in before[0].items():
        assert np.array_equal(v, after[0][k]), f"parameter {k} changed"
    assert before[1].keys() == after[1].keys()
    for i in before[1]:
        assert np.array_equal(before[1][i], after[1][i]), f"momentum buffer {i} changed"
    assert before[2] == after[2], "optimizer hyper-parameters changed"
    for a, b in zip(before[3], after[3]):
        assert _same(a, b), "callback state changed"
    assert before[4:] == after[4:], "counters or generators changed"


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def _trained(tmp_path, **kwargs):
    learner = tiny_learner(
        [StateProbe(1.0), EarlyStoppingCallback(monitor="train_loss")], save_dir=tmp_path, **kwargs
    )
    learner.fit(loaders()[0], 2)
    return learner


def rewrite(good, target, edit):
    """Copies the checkpoint ``good`` to ``target`` with ``edit(header)`` applied to its JSON."""
    from safetensors import safe_open
    from safetensors.numpy import save

    with safe_open(good, framework="numpy") as f:
        header = json.loads(f.metadata()["chainrule"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    edit(header)
    target.write_bytes(save(tensors, metadata={"chainrule": json.dumps(header)}))


def _bad_files(tmp_path, good):
    from safetensors import safe_open
    from safetensors.numpy import save

    data = good.read_bytes()
    (tmp_path / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[-3] ^= 0xFF  # inside the last tensor's data
    (tmp_path / "flipped.safetensors").write_bytes(bytes(flipped))
    (tmp_path / "text.csv").write_text("a,b\n1,2\n")
    np.save(tmp_path / "array.npy", np.zeros(3))
    np.savez(tmp_path / "old.npz", w=np.zeros(3))
    (tmp_path / "bare.safetensors").write_bytes(save({"w": np.zeros(3)}))
    rewrite(good, tmp_path / "future.safetensors", lambda h: h.update(format_version=99))
    rewrite(good, tmp_path / "no_optimizer.safetensors", lambda h: h.pop("optimizer"))
    rewrite(good, tmp_path / "entries.safetensors", lambda h: h["model"].update(entries=5))
    rewrite(good, tmp_path / "epoch.safetensors", lambda h: h["counters"].update(epoch=10**30))
    rewrite(good, tmp_path / "null.safetensors", lambda h: h.update(callbacks=None))
    rewrite(
        good,
        tmp_path / "huge.safetensors",
        lambda h: h["arrays"]["model/0.weight"].update(shape=[10**12]),
    )
    with safe_open(good, framework="numpy") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "deep.safetensors").write_bytes(save(tensors, metadata={"chainrule": deep}))
    return {
        "truncated.safetensors": "not a chainrule checkpoint, or is truncated or corrupted",
        "flipped.safetensors": "corrupted",
        "text.csv": "not a chainrule checkpoint",
        "array.npy": "not a chainrule checkpoint",
        "old.npz": r"zip archive \(.npz\), not a chainrule checkpoint",
        "bare.safetensors": "a safetensors file but not a chainrule checkpoint",
        "future.safetensors": "format version 99",
        "no_optimizer.safetensors": "optimizer is None, not a dict",
        "entries.safetensors": "model.entries is 5, not a list",
        "epoch.safetensors": "counters.epoch is 1000000000000000000000000000000, not a count",
        "null.safetensors": "callbacks is None, not a dict",
        "huge.safetensors": r"tensor 'model/0.weight' is <f4 \(2, 4\) in the file",
        "deep.safetensors": "malformed checkpoint header .RecursionError",
    }


def test_corrupted_files_raise_and_change_nothing(tmp_path):
    good = _trained(tmp_path).save("good")
    learner = tiny_learner([StateProbe(5.0), EarlyStoppingCallback(monitor="train_loss")], seed=3)
    learner.fit(loaders(seed=3)[0], 1)
    before = _snapshot(learner)
    for name, message in _bad_files(tmp_path, good).items():
        with pytest.raises(CheckpointError, match=message) as caught:
            learner.load(tmp_path / name)
        assert "pickle" not in str(caught.value), name
        _assert_unchanged(before, _snapshot(learner))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        learner.load(tmp_path / "missing.safetensors")


def test_mismatched_checkpoints_raise_and_change_nothing(tmp_path, monkeypatch):
    good = _trained(tmp_path).save("good")

    def no_reading(self, keys=None):
        raise AssertionError("a tensor was read before the model's shapes were checked")

    monkeypatch.setattr(CheckpointFile, "read", no_reading)
    cases = [
        (
            nn.Sequential(nn.Linear(2, 5), nn.Sigmoid(), nn.Linear(5, 1)),
            "SGD",
            r"0.weight has shape \(2, 4\) in the checkpoint, \(2, 5\) in the model",
        ),
        (
            nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1, bias=False)),
            "SGD",
            r"missing keys \[\], unexpected keys \['2.bias'\]",
        ),
        (
            nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1)),
            "Adam",
            "the checkpoint's optimizer is SGD, the learner's Adam",
        ),
    ]
    for model, opt_name, message in cases:
        opt = getattr(optim, opt_name)(model.parameters(), lr=0.1)
        learner = Learner(
            model, opt, nn.BCEWithLogitsLoss(), [StateProbe(5.0)], show_progress=False
        )
        before = _snapshot(learner)
        with pytest.raises(CheckpointError, match=message):
            learner.load(good)
        _assert_unchanged(before, _snapshot(learner))


def test_an_optimizer_buffer_of_another_shape_is_found_before_reading(tmp_path, monkeypatch):
    good = _trained(tmp_path).save("good")

    def swap_first_buffer(header):
        state = header["optimizer"]["state"]
        text = json.dumps(state)
        first = text[text.index('{"__array__": "') :].split('"')[3]
        header["optimizer"]["state"] = json.loads(text.replace(first, "model/2.bias", 1))

    rewrite(good, tmp_path / "swapped.safetensors", swap_first_buffer)

    def no_reading(self, keys=None):
        raise AssertionError("a tensor was read before the optimizer's shapes were checked")

    monkeypatch.setattr(CheckpointFile, "read", no_reading)
    learner = tiny_learner([StateProbe(5.0), EarlyStoppingCallback(monitor="train_loss")])
    with pytest.raises(
        CheckpointError, match=r"optimizer state\[0\]\['momentum_buffer'\] has shape"
    ):
        learner.load(tmp_path / "swapped.safetensors")


def test_a_failure_while_applying_rolls_everything_back(tmp_path):
    good = _trained(tmp_path).save("good")
    learner = tiny_learner(
        [StateProbe(5.0, fail_on_load=True), EarlyStoppingCallback(monitor="train_loss")], seed=3
    )
    learner.fit(loaders(seed=3)[0], 1)
    before = _snapshot(learner)
    with pytest.raises(
        CheckpointError, match="could not be applied .*probe refuses.*left unchanged"
    ):
        learner.load(good)
    _assert_unchanged(before, _snapshot(learner))


def test_strict_false_casts_dtypes_and_extra_callbacks_warn(tmp_path):
    good = _trained(tmp_path).save("good")
    model = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1)).double()
    learner = Learner(
        model,
        optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        nn.BCEWithLogitsLoss(),
        show_progress=False,
    )
    with pytest.raises(
        CheckpointError, match="0.weight is float32 in the checkpoint, float64 in the model"
    ):
        learner.load(good)
    with pytest.warns(UserWarning) as caught:
        learner.load(good, strict=False)
    messages = " ".join(str(w.message) for w in caught)
    assert "callback StateProbe ('state_probe') that this learner does not have" in messages
    assert learner.model[0].weight.dtype == np.float64
    np.testing.assert_array_equal(
        learner.model[0].weight.data, read_checkpoint(good)[1]["model/0.weight"]
    )


def test_loader_generator_states_wait_for_the_next_fit(tmp_path):
    learner = _trained(tmp_path)
    path = learner.save("good")
    fresh = tiny_learner([StateProbe(), EarlyStoppingCallback(monitor="train_loss")])
    fresh.load(path)
    X, y = blobs(32)
    no_generator = DataLoader(ArrayDataset(X, y), batch_size=16, shuffle=True)
    with pytest.warns(UserWarning, match="this loader has none"):
        fresh.fit(no_generator, 1)


def test_a_checkpoint_saved_mid_epoch_warns_on_load(tmp_path):
    class SaveMidEpoch(Callback):
        def after_batch(self):
            if self.learner.iteration == 0:
                self.learner.save(tmp_path / "mid.safetensors")

    tiny_learner([SaveMidEpoch()]).fit(loaders()[0], 1)
    with pytest.warns(UserWarning, match="saved during after_batch, in the middle of an epoch"):
        tiny_learner().load(tmp_path / "mid.safetensors")


def test_save_needs_a_path_or_save_dir():
    with pytest.raises(ValueError, match="give a path, or a save_dir"):
        tiny_learner().save()
