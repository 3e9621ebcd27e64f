"""The Learner's loop: training, validation, prediction, counters, progress bars, NaN stop and
argument errors."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import ArrayDataset, DataLoader
from chainrule.train import (
    CheckpointCallback,
    Learner,
    NonFiniteLossError,
    ProgressCallback,
    TerminateOnNaNCallback,
)
from chainrule.train._stopping import _finite

from ._helpers import blobs, loaders, params, tiny_learner, tiny_model


def test_fit_learns_and_matches_a_hand_written_loop():
    dl_train, dl_valid = loaders()
    learner = tiny_learner(lr=0.1)
    model = tiny_model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.BCEWithLogitsLoss()
    learner.fit(dl_train, 3, dataloader_valid=dl_valid)
    dl_again, _ = loaders()
    for _ in range(3):
        for xb, yb in dl_again:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    for k, v in model.state_dict().items():
        assert np.array_equal(v, params(learner)[k]), f"Learner.fit equals the bare loop for {k}"
    assert learner.epoch == 3 and learner.iteration == 6
    assert set(learner.epoch_log) == {"epoch", "train_loss", "valid_loss", "lr"}
    report = learner.validate(dl_valid)
    assert report["valid_loss"] == pytest.approx(learner.epoch_log["valid_loss"])


def test_epoch_losses_are_sample_weighted_means():
    X, y = blobs(20)
    dl = DataLoader(ArrayDataset(X, y), batch_size=8)  # batches of 8, 8, 4
    learner = tiny_learner()
    got = learner.validate(dl)["valid_loss"]
    model, loss = learner.model, nn.BCEWithLogitsLoss()
    want = float(loss(model(cr.tensor(X)), cr.tensor(y)).item())
    assert got == pytest.approx(want, rel=1e-5)


def test_counters_continue_across_fits():
    dl_train, _ = loaders()
    learner = tiny_learner()
    learner.fit(dl_train, 2)
    learner.fit(dl_train, 1)
    assert (learner.epoch, learner.iteration) == (3, 6)
    learner.fit(dl_train, 0)
    assert learner.epoch == 3


def test_predict_returns_outputs_in_order_and_restores_the_mode():
    X, y = blobs(10)
    learner = tiny_learner()
    learner.model.train()
    out = learner.predict(DataLoader(ArrayDataset(X, y), batch_size=4))
    assert out.shape == (10, 1) and learner.model.training
    direct = learner.model(cr.tensor(X)).data
    np.testing.assert_allclose(out, direct, rtol=1e-6)
    only_x = learner.predict(DataLoader(ArrayDataset(X), batch_size=3))
    np.testing.assert_array_equal(out, only_x)


def test_fit_restores_the_model_mode_and_validates_in_eval_mode():
    modes = []
    model = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5), nn.Linear(3, 1))
    model.register_forward_hook(lambda m, a, o: modes.append(m.training))
    dl_train, dl_valid = loaders()
    learner = tiny_learner(model=model)
    model.eval()
    learner.fit(dl_train, 1, dataloader_valid=dl_valid)
    assert modes == [True, True, False], "train batches in train mode, validation in eval"
    assert not model.training, "the mode from before fit is restored"


def test_nan_loss_stops_with_an_error_naming_the_iteration(tmp_path):
    dl_train, _ = loaders()
    learner = tiny_learner(save_dir=tmp_path, callbacks=[CheckpointCallback()])
    learner.fit(dl_train, 1)
    good = tmp_path / "epoch_0001.safetensors"
    saved = good.read_bytes()
    learner.model[0].weight.data[0, 0] = np.nan
    with (
        np.errstate(invalid="ignore"),
        pytest.raises(NonFiniteLossError, match=r"nan at iteration 2 \(epoch 1, batch 1 of 2\)"),
    ):
        learner.fit(dl_train, 3)
    assert good.read_bytes() == saved, "the last good checkpoint is intact"
    assert not (tmp_path / "epoch_0002.safetensors").exists(), "no checkpoint of the broken model"
    assert learner.model._forward_hooks == {}


def test_terminate_on_nan_is_on_by_default_and_can_be_removed():
    learner = tiny_learner()
    cb = learner.get_callback(TerminateOnNaNCallback)
    assert cb is not None and learner.get_callback("terminate_on_nan") is cb
    learner.remove_callback(cb)
    learner.model[0].weight.data[...] = np.nan
    dl_train, _ = loaders()
    with np.errstate(invalid="ignore"):
        learner.fit(dl_train, 1)  # trains through NaNs without complaint
    assert np.isnan(learner.epoch_log["train_loss"])


@pytest.mark.parametrize(
    "loss",
    [
        np.array(1.5),
        np.array(np.nan),
        np.array(-np.inf, dtype=np.float32),
        np.float64(np.inf),
        np.array(3),
        np.array([1.0, np.nan]),
        np.array([[2.0, 3.0]], dtype=np.float32),
        np.array([], dtype=np.float64),
    ],
    ids=repr,
)
def test_terminate_on_nan_reads_a_scalar_loss_as_numpy_does(loss):
    """The scalar shortcut of the check against NumPy's reduction, on scalars and arrays."""
    with np.errstate(invalid="ignore"):
        expected = bool(np.all(np.isfinite(loss)))
    assert _finite(loss) is expected, f"_finite({loss!r}) should be {expected}"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_write_epochs_and_batches():
    buf = _Terminal()
    dl_train, dl_valid = loaders()
    learner = tiny_learner(callbacks=[ProgressCallback(file=buf)])
    learner.fit(dl_train, 2, dataloader_valid=dl_valid)
    text = buf.getvalue()
    assert "epochs" in text and "2/2" in text and "valid_loss=" in text
    piped = io.StringIO()  # not a terminal: no bars, so a log holds no redraws
    tiny_learner(callbacks=[ProgressCallback(file=piped)]).fit(dl_train, 1)
    assert piped.getvalue() == ""
    default = tiny_learner(show_progress=True)
    assert default.get_callback(ProgressCallback) is not None


def test_batches_without_targets_are_an_error():
    X, _ = blobs(8)
    learner = tiny_learner()
    with pytest.raises(ValueError, match=r"must be \(inputs, targets\)"):
        learner.fit(DataLoader(ArrayDataset(X), batch_size=4), 1)


def test_argument_errors():
    model = tiny_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = nn.MSELoss()
    with pytest.raises(TypeError, match="model must be an nn.Module, got function"):
        Learner(lambda x: x, opt, loss)
    with pytest.raises(TypeError, match="optimizer must be an optim.Optimizer, got list"):
        Learner(model, [], loss)
    with pytest.raises(TypeError, match="loss_func must be callable, got str"):
        Learner(model, opt, "mse")
    learner = Learner(model, opt, loss, show_progress=False)
    dl_train, _ = loaders()
    with pytest.raises(ValueError, match="n_epochs must be an integer >= 0, got -1"):
        learner.fit(dl_train, -1)
    with pytest.raises(ValueError, match="n_epochs must be an integer >= 0, got 1.5"):
        learner.fit(dl_train, 1.5)
    with pytest.raises(TypeError, match="dataloader_train must be a DataLoader"):
        learner.fit(42, 1)
    with pytest.raises(TypeError, match="dataloader_valid must be a DataLoader"):
        learner.fit(dl_train, 1, dataloader_valid=3.0)
    with pytest.raises(ValueError, match="dataloader yields no batches"):
        learner.predict([])


def test_an_empty_loader_is_an_error_not_a_nan_fit():
    X, y = blobs(8)
    learner = tiny_learner()
    empty = DataLoader(ArrayDataset(X[:0], y[:0]), batch_size=4)
    with pytest.raises(
        ValueError, match=r"dataloader_train yields no batches \(its data set has 0"
    ):
        learner.fit(empty, 1)
    short = DataLoader(ArrayDataset(X[:3], y[:3]), batch_size=4, drop_last=True)
    with pytest.raises(ValueError, match="has 3 rows.*drop_last=False"):
        learner.fit(short, 1)
    full = DataLoader(ArrayDataset(X, y), batch_size=4)
    with pytest.raises(ValueError, match="dataloader_valid yields no batches"):
        learner.fit(full, 1, dataloader_valid=empty)
    with pytest.raises(ValueError, match="dataloader yields no batches"):
        learner.validate(empty)
    with pytest.raises(ValueError, match="dataloader yields no batches"):
        learner.find_learning_rate(empty)
    assert (learner.epoch, learner.iteration) == (0, 0), "nothing ran"


def test_validate_and_fit_refuse_to_run_inside_fit():
    from chainrule.train import Callback

    errors = []

    class Nested(Callback):
        def after_epoch(self):
            for call in (
                lambda: self.learner.validate(dl_valid),
                lambda: self.learner.fit(dl_train, 1),
            ):
                try:
                    call()
                except RuntimeError as err:
                    errors.append(str(err))

    dl_train, dl_valid = loaders()
    tiny_learner([Nested()]).fit(dl_train, 1)
    assert "cannot be called during fit" in errors[0] and "already fitting" in errors[1]


def test_repr_names_the_parts():
    text = repr(tiny_learner())
    assert "Learner(model=Sequential, optimizer=SGD" in text and "TerminateOnNaNCallback" in text


def test_import_needs_no_optional_dependencies():
    import subprocess

    code = (
        "import sys, chainrule.train, chainrule.plot; "
        "print(sorted(m for m in ('matplotlib', 'pandas', 'torch', 'sklearn', 'tqdm') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", "import chainrule.train loads no optional dependency"
