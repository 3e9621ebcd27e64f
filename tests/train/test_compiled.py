"""CompiledStep: recorded and replayed training steps give the eager step's results bit for bit,
and run eagerly wherever a replay cannot be vouched for."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule._replay import NotReplayable, Recorder
from chainrule.data import ArrayDataset, DataLoader
from chainrule.train import Callback, CompiledStep, Learner

RNG = np.random.default_rng(0)
X = RNG.standard_normal((70, 6)).astype(np.float32)
Y_CLASS = RNG.integers(0, 3, 70)
Y_REAL = RNG.standard_normal((70, 3)).astype(np.float32)
Y_BINARY = (RNG.random((70, 3)) > 0.5).astype(np.float32)


def batches(y, size=16):
    """Four epochs of fixed batches, the last of each epoch short (70 = 4·16 + 6)."""
    return [(X[i : i + size], y[i : i + size]) for _ in range(4) for i in range(0, 70, size)]


def eager_step(model, loss_fn, opt, xb, yb):
    opt.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    opt.step()
    return float(loss.data)


def twins(make_model, make_opt):
    cr.manual_seed(0)
    a = make_model()
    cr.manual_seed(0)
    b = make_model()
    return (a, make_opt(a.parameters())), (b, make_opt(b.parameters()))


def assert_same_weights(a, b):
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert p.data.dtype == q.data.dtype
        assert np.array_equal(p.data, q.data), name


def run_both(make_model, loss_fn, make_opt, y, expect_replays=True):
    (m1, o1), (m2, o2) = twins(make_model, make_opt)
    step = CompiledStep(m2, loss_fn, o2)
    for xb, yb in batches(y):
        expected = eager_step(m1, loss_fn, o1, xb, yb)
        assert step(xb, yb) == expected
    assert_same_weights(m1, m2)
    if expect_replays:
        # two kinds of batch (16 rows and the short 6): each recorded, checked, then replayed
        assert step.counts == {"replayed": 16, "recorded": 2, "checked": 2, "eager": 0}, step.reason
    return step


def mlp(*middle):
    """A factory of 6-8-3 networks with fresh ``middle`` layers (made by the callables given)."""
    return lambda: nn.Sequential(nn.Linear(6, 8), *[m() for m in middle], nn.Linear(8, 3))


LAYERS = {
    "relu (fused)": mlp(nn.ReLU),
    "sigmoid (fused)": mlp(nn.Sigmoid),
    "tanh (fused)": mlp(nn.Tanh),
    "leaky relu": mlp(lambda: nn.LeakyReLU(0.1)),
    "gelu": mlp(nn.GELU),
    "elu": mlp(nn.ELU),
    "softplus": mlp(nn.Softplus),
    "layer norm": mlp(lambda: nn.LayerNorm(8), nn.ReLU),
    "identity, dropout p=0": mlp(nn.Identity, lambda: nn.Dropout(0.0)),
    "mlp": lambda: nn.MLP(6, [8, 5, 3], activation="tanh"),
}


@pytest.mark.parametrize("name", LAYERS)
def test_layers_replay_bit_for_bit(name):
    run_both(LAYERS[name], nn.CrossEntropyLoss(), lambda p: optim.SGD(p, lr=0.1), Y_CLASS)


LOSSES = {
    "cross entropy": (nn.CrossEntropyLoss(), Y_CLASS),
    "cross entropy, weighted and smoothed": (
        nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 0.5], np.float32), label_smoothing=0.1),
        Y_CLASS,
    ),
    "cross entropy, ignored class": (nn.CrossEntropyLoss(ignore_index=1), Y_CLASS),
    "bce with logits": (nn.BCEWithLogitsLoss(), Y_BINARY),
    "mse": (nn.MSELoss(), Y_REAL),
    "l1": (nn.L1Loss(reduction="sum"), Y_REAL),
}


@pytest.mark.parametrize("name", LOSSES)
def test_losses_replay_bit_for_bit(name):
    loss_fn, y = LOSSES[name]
    run_both(LAYERS["relu (fused)"], loss_fn, lambda p: optim.SGD(p, lr=0.05), y)


EAGER_LOSSES = {
    # masks or converted targets made with NumPy outside the ops: refused when recorded
    "huber": (nn.HuberLoss(delta=0.5), lambda: nn.Linear(6, 3), Y_REAL),
    "nll": (nn.NLLLoss(), lambda: nn.Sequential(nn.Linear(6, 3), nn.LogSoftmax(dim=1)), Y_CLASS),
    "mse, float64 target": (nn.MSELoss(), lambda: nn.Linear(6, 3), Y_REAL.astype(np.float64)),
    # checks its input's range in Python: not on the replay-safe list
    "bce": (nn.BCELoss(), lambda: nn.Sequential(nn.Linear(6, 3), nn.Sigmoid()), Y_BINARY),
}


@pytest.mark.parametrize("name", EAGER_LOSSES)
def test_losses_that_compute_outside_the_ops_run_eagerly(name):
    loss_fn, model, y = EAGER_LOSSES[name]
    step = run_both(model, loss_fn, lambda p: optim.SGD(p, lr=0.1), y, expect_replays=False)
    assert step.counts["replayed"] == 0 and step.counts["checked"] == 0
    assert ("outside the ops" if name != "bce" else "BCELoss") in step.reason


OPTIMIZERS = {
    "sgd momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    "sgd nesterov, weight decay": lambda p: optim.SGD(
        p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3
    ),
    "adam": lambda p: optim.Adam(p, lr=1e-2),
    "adamw amsgrad": lambda p: optim.AdamW(p, lr=1e-2, amsgrad=True),
    "rmsprop": lambda p: optim.RMSprop(p, lr=1e-3),
    "adagrad": lambda p: optim.Adagrad(p, lr=1e-2),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizers_replay_bit_for_bit(name):
    run_both(LAYERS["tanh (fused)"], nn.CrossEntropyLoss(), OPTIMIZERS[name], Y_CLASS)


def test_float64_and_a_frozen_layer():
    def make():
        cr.manual_seed(0)
        m = nn.Sequential(
            nn.Linear(6, 8, dtype=cr.float64), nn.ReLU(), nn.Linear(8, 3, dtype=cr.float64)
        )
        m[0].bias.requires_grad_(False)
        return m, optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.1)

    (m1, o1), (m2, o2) = make(), make()
    step = CompiledStep(m2, nn.MSELoss(), o2)
    for xb, yb in batches(Y_REAL.astype(np.float64)):
        xb = xb.astype(np.float64)
        assert step(xb, yb) == eager_step(m1, nn.MSELoss(), o1, xb, yb)
    assert_same_weights(m1, m2)
    assert m2[0].bias.grad is None, step.reason
    assert step.counts["replayed"] == 16, step.reason


def test_a_changed_setting_or_module_is_recorded_again():
    loss_fn = nn.CrossEntropyLoss()
    (m1, o1), (m2, o2) = twins(mlp(nn.ReLU), lambda p: optim.SGD(p, lr=0.1))
    step = CompiledStep(m2, loss_fn, o2)
    for i, (xb, yb) in enumerate(batches(Y_CLASS)):
        if i == 6:
            loss_fn.reduction = "sum"  # a setting
        if i == 11:
            m1[1] = nn.Tanh()  # a module swapped for another without parameters
            m2[1] = nn.Tanh()
        assert step(xb, yb) == eager_step(m1, loss_fn, o1, xb, yb)
    assert_same_weights(m1, m2)
    assert step.counts["recorded"] >= 4 and step.counts["replayed"] > 0


def test_loaded_weights_are_read_at_every_replay():
    (m1, o1), (m2, o2) = twins(mlp(nn.ReLU), lambda p: optim.SGD(p, lr=0.1))
    loss_fn = nn.CrossEntropyLoss()
    step = CompiledStep(m2, loss_fn, o2)
    cr.manual_seed(5)
    other = mlp(nn.ReLU)().state_dict()
    for i, (xb, yb) in enumerate(batches(Y_CLASS)):
        if i == 8:
            m1.load_state_dict(other)
            m2.load_state_dict(other)
        assert step(xb, yb) == eager_step(m1, loss_fn, o1, xb, yb)
    assert_same_weights(m1, m2)


class Doubler(nn.Module):
    def forward(self, x):
        return x * 2


@pytest.mark.parametrize(
    ("model", "loss_fn", "reason"),
    [
        (lambda: nn.Sequential(nn.Linear(6, 3), Doubler()), nn.MSELoss(), "Doubler"),
        (lambda: nn.Sequential(nn.Linear(6, 3), nn.Dropout(0.5)), nn.MSELoss(), "Dropout"),
        (lambda: nn.Sequential(nn.Linear(6, 3)), lambda a, b: ((a - b) ** 2).mean(), "loss"),
    ],
    ids=["user module", "dropout while training", "plain loss function"],
)
def test_what_cannot_be_vouched_for_runs_eagerly(model, loss_fn, reason):
    (m1, o1), (m2, o2) = twins(model, lambda p: optim.SGD(p, lr=0.1))
    step = CompiledStep(m2, loss_fn, o2)
    cr.manual_seed(1)
    expected = [eager_step(m1, loss_fn, o1, xb, yb) for xb, yb in batches(Y_REAL)]
    cr.manual_seed(1)
    assert [step(xb, yb) for xb, yb in batches(Y_REAL)] == expected
    assert step.counts["eager"] == 20 and step.counts["replayed"] == 0
    assert reason in step.reason
    assert_same_weights(m1, m2)


def test_hooks_and_engine_modes_run_eagerly_for_as_long_as_they_last():
    (m1, o1), (m2, o2) = twins(mlp(nn.ReLU), lambda p: optim.SGD(p, lr=0.1))
    loss_fn = nn.CrossEntropyLoss()
    step = CompiledStep(m2, loss_fn, o2)
    seen = []
    reasons = []
    for i, (xb, yb) in enumerate(batches(Y_CLASS)):
        handles = []
        if i in (5, 6):
            handles = [m.register_forward_hook(lambda *a: seen.append(1)) for m in (m1[0], m2[0])]
        if i == 7:
            handles = [m1[0].weight.register_hook(lambda g: None)]
            handles.append(m2[0].weight.register_hook(lambda g: None))
        if i == 8:
            with cr.detect_anomaly():
                loss = step(xb, yb)
        else:
            loss = step(xb, yb)
        assert loss == eager_step(m1, loss_fn, o1, xb, yb)
        reasons.append(step.reason)
        for h in handles:
            h.remove()
    assert_same_weights(m1, m2)
    assert len(seen) == 4  # the hooks saw both steps of both models
    assert "hooks" in reasons[5] and "gradient hooks" in reasons[7] and "anomaly" in reasons[8]
    assert reasons[-1] is None  # replaying again
    assert step.counts["eager"] == 4  # hooks twice, a tensor hook, anomaly detection


class Hidden(nn.Module):
    def forward(self, x):
        return x + cr.tensor(x.data.sum())  # a value of the batch, made outside the ops


def test_arrays_made_outside_the_ops_are_refused(monkeypatch):
    import chainrule.train._compiled as compiled

    monkeypatch.setattr(compiled, "why_not_replayable", lambda module: None)  # vouch wrongly
    model = lambda: nn.Sequential(nn.Linear(6, 3), Hidden())  # noqa: E731
    (m1, o1), (m2, o2) = twins(model, lambda p: optim.SGD(p, lr=0.1))
    step = CompiledStep(m2, nn.MSELoss(), o2)
    for xb, yb in batches(Y_REAL):
        assert step(xb, yb) == eager_step(m1, nn.MSELoss(), o1, xb, yb)
    assert_same_weights(m1, m2)
    assert step.counts["replayed"] == 0 and "outside the ops" in step.reason


class Jitter(nn.Module):
    """Scales by a number it changes behind the counters' back (through ``__dict__``)."""

    def forward(self, x):
        self.__dict__["scale"] = float(np.abs(x.data).sum() % 1)
        return x * self.scale


def test_a_replay_that_disagrees_is_refused_with_a_warning(monkeypatch):
    import chainrule.train._compiled as compiled

    monkeypatch.setattr(compiled, "why_not_replayable", lambda module: None)
    model = lambda: nn.Sequential(nn.Linear(6, 3), Jitter())  # noqa: E731
    (m1, o1), (m2, o2) = twins(model, lambda p: optim.SGD(p, lr=0.1))
    loss_fn = nn.MSELoss()
    step = CompiledStep(m2, loss_fn, o2)
    with pytest.warns(RuntimeWarning, match="disagreed"):
        for xb, yb in batches(Y_REAL):
            # the eager twin computes the same scale from the same batch
            assert step(xb, yb) == eager_step(m1, loss_fn, o1, xb, yb)
    assert_same_weights(m1, m2)
    assert step.counts["replayed"] == 0 and "disagreed" in step.reason


def test_recorder_refuses_gradients_reaching_other_tensors():
    w = nn.Parameter(np.ones((3, 2), np.float32))
    x = cr.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    rec = Recorder([x.data], [w])
    with rec:
        loss = (x @ w).sum()
    with pytest.raises(NotReplayable, match="not a parameter"):
        rec.backward(loss)


def test_recorder_refuses_a_graph_from_before_the_recording():
    w = nn.Parameter(np.ones((3, 2), np.float32))
    early = w * 2
    rec = Recorder([], [w])
    with rec:
        loss = early.sum()
    with pytest.raises(NotReplayable, match="before the recording"):
        rec.backward(loss)


# -- the Learner ------------------------------------------------------------------------------
def fit(compile_, callbacks=(), epochs=3):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    dl = DataLoader(
        ArrayDataset(X, Y_CLASS), batch_size=16, shuffle=True, generator=cr.Generator(0)
    )
    valid = DataLoader(ArrayDataset(X, Y_CLASS), batch_size=32)
    learner = Learner(
        model,
        optim.Adam(model.parameters(), lr=1e-2),
        nn.CrossEntropyLoss(),
        callbacks=list(callbacks),
        show_progress=False,
        compile=compile_,
        metrics=["accuracy"],
    )
    learner.fit(dl, epochs, dataloader_valid=valid)
    return learner


class Losses(Callback):
    needs_graph = False

    def __init__(self):
        super().__init__()
        self.values = []

    def after_loss(self):
        self.values.append(float(self.learner.loss.data))


def test_learner_compiles_by_default_with_the_eager_results():
    a, b = fit(True, [Losses()]), fit(False, [Losses()])
    assert_same_weights(a.model, b.model)
    assert a.get_callback(Losses).values == b.get_callback(Losses).values
    assert a.epoch_log == b.epoch_log
    assert a.step.compiled.counts["replayed"] == 11  # 3 epochs of 5 batches, 4 not replayed
    assert b.step.compiled is None


def test_learner_runs_eagerly_with_a_callback_that_needs_the_graph():
    class Reads(Callback):
        def after_loss(self):
            assert self.learner.loss.requires_grad or not self.learner.training

    learner = fit(True, [Reads()])
    assert learner.step.compiled is None


def test_a_replaced_loss_on_a_replayed_step_is_an_error():
    class Replaces(Callback):
        needs_graph = False  # wrongly: from iteration 8 on, it replaces the loss

        def after_loss(self):
            if self.learner.training and self.learner.iteration >= 8:
                self.learner.loss = self.learner.loss * 2

    with pytest.raises(RuntimeError, match="needs_graph = True"):
        fit(True, [Replaces()])


def test_warning_free_by_default():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(True)


def test_a_pickled_step_records_again_and_goes_on_alike():
    import pickle

    (m1, o1), (m2, o2) = twins(mlp(nn.ReLU), lambda p: optim.SGD(p, lr=0.1, momentum=0.9))
    loss_fn = nn.CrossEntropyLoss()
    step = CompiledStep(m2, loss_fn, o2)
    data = batches(Y_CLASS)
    for xb, yb in data[:6]:
        assert step(xb, yb) == eager_step(m1, loss_fn, o1, xb, yb)
    copy = pickle.loads(pickle.dumps(step))
    assert copy.counts == step.counts and copy.model is not step.model
    for xb, yb in data[6:]:
        assert copy(xb, yb) == eager_step(m1, loss_fn, o1, xb, yb)
    assert_same_weights(m1, copy.model)
    assert copy.counts["recorded"] == step.counts["recorded"] + 2


def test_bad_arguments_are_named():
    model = mlp(nn.ReLU)()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="model must be an nn.Module, got function"):
        CompiledStep(lambda x: x, nn.MSELoss(), opt)
    with pytest.raises(TypeError, match="optimizer must be an optim.Optimizer, got list"):
        CompiledStep(model, nn.MSELoss(), [opt])
    step = CompiledStep(model, nn.CrossEntropyLoss(), opt)
    with pytest.raises(TypeError, match=r"step\(x, y\), got 1 argument$"):
        step(X)
    with pytest.raises(TypeError, match="compile must be True or False, got 'yes'"):
        Learner(model, opt, nn.CrossEntropyLoss(), compile="yes")


def test_nan_huge_and_list_batches_give_the_eager_results():
    (m1, o1), (m2, o2) = twins(mlp(nn.Tanh), lambda p: optim.SGD(p, lr=0.1))
    loss_fn = nn.MSELoss()
    step = CompiledStep(m2, loss_fn, o2)
    x = X[:16].copy()
    plain = [(x, Y_REAL[:16])] * 3
    nan = x.copy()
    nan[0, 0] = np.nan
    huge = x * np.float32(1e30)
    for xb, yb in plain + [(nan, Y_REAL[:16]), (huge, Y_REAL[:16])] + plain:
        expected = eager_step(m1, loss_fn, o1, xb, yb)
        got = step(xb, yb)
        assert got == expected or (np.isnan(got) and np.isnan(expected))
        assert_same_weights_or_nan(m1, m2)
    assert step.counts["replayed"] >= 3
    # a batch of lists is no array: it runs eagerly, as the model takes it
    lists = (x.tolist(), Y_REAL[:16].tolist())
    got, expected = step(*lists), eager_step(m1, loss_fn, o1, *lists)
    assert got == expected or (np.isnan(got) and np.isnan(expected))
    assert "other than arrays" in step.reason
    assert_same_weights_or_nan(m1, m2)


def assert_same_weights_or_nan(a, b):
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p.data, q.data, equal_nan=True)


def test_an_empty_batch_gives_the_eager_result():
    (m1, o1), (m2, o2) = twins(mlp(nn.ReLU), lambda p: optim.SGD(p, lr=0.1))
    loss_fn = nn.MSELoss(reduction="sum")
    step = CompiledStep(m2, loss_fn, o2)
    for rows in (16, 0, 0, 0, 16):
        xb, yb = X[:rows], Y_REAL[:rows]
        assert step(xb, yb) == eager_step(m1, loss_fn, o1, xb, yb)
    assert_same_weights(m1, m2)
    assert step.counts["replayed"] == 1  # the third empty batch
