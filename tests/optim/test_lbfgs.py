"""``optim.LBFGS`` against ``torch.optim.LBFGS``: 20 steps on a small network in float64, both
line-search settings, the state and its round trip through ``state_dict``; the argument checks."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.optim._lbfgs import _cubic_minimum

torch = pytest.importorskip("torch")

N_STEPS = 20


PENALTY = 0.05  # an L2 term keeps the minimum finite: rounding differences then die out


class TwinNetworks:
    """A 4-6-3 tanh network with cross-entropy plus an L2 penalty on fixed data, in chainrule
    and in torch, with the same weights (torch's ``Linear.weight`` is our transpose)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.X = rng.standard_normal((30, 4))
        self.y = rng.integers(0, 3, 30)
        self.model = nn.Sequential(
            nn.Linear(4, 6, dtype=np.float64), nn.Tanh(), nn.Linear(6, 3, dtype=np.float64)
        )
        self.twin = torch.nn.Sequential(
            torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)
        ).double()
        with torch.no_grad():
            for ours, theirs in zip(self.ours(), self.theirs()):
                value = rng.uniform(-0.8, 0.8, ours.data.shape)
                ours.data[...] = value
                theirs.copy_(torch.from_numpy(value.T.copy() if value.ndim == 2 else value))
        self.loss_fn, self.torch_loss_fn = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()

    def ours(self) -> list:
        return list(self.model.parameters())

    def theirs(self) -> list:
        return list(self.twin.parameters())

    def closure(self, opt):
        def closure():
            opt.zero_grad()
            loss = self.loss_fn(self.model(cr.tensor(self.X)), self.y)
            for p in self.ours():
                loss = loss + PENALTY * (p * p).sum()
            loss.backward()
            return loss

        return closure

    def torch_closure(self, opt):
        X, y = torch.from_numpy(self.X), torch.from_numpy(self.y)

        def closure():
            opt.zero_grad()
            loss = self.torch_loss_fn(self.twin(X), y)
            for p in self.theirs():
                loss = loss + PENALTY * (p * p).sum()
            loss.backward()
            return loss

        return closure

    def max_difference(self) -> float:
        pairs = zip(self.ours(), self.theirs())
        return max(
            np.max(np.abs(a.data - (b.detach().numpy().T if b.ndim == 2 else b.detach().numpy())))
            for a, b in pairs
        )


SETTINGS = [
    dict(),
    dict(line_search_fn="strong_wolfe"),
    dict(lr=0.5, max_iter=3, history_size=2),
    dict(line_search_fn="strong_wolfe", max_iter=4, max_eval=6, history_size=3),
    dict(lr=0.3, max_iter=2, tolerance_change=1e-5, tolerance_grad=1e-4),
]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: str(s) or "defaults")
def test_twenty_steps_equal_torch(settings, rng):
    nets = TwinNetworks(rng)
    opt = optim.LBFGS(nets.ours(), **settings)
    ref = torch.optim.LBFGS(nets.theirs(), **settings)
    closure, torch_closure = nets.closure(opt), nets.torch_closure(ref)
    for k in range(N_STEPS):
        loss = float(opt.step(closure))
        ref_loss = ref.step(torch_closure).item()
        assert loss == pytest.approx(ref_loss, rel=1e-10, abs=1e-12), f"{settings}: step {k} loss"
        err = nets.max_difference()
        assert err <= 1e-10, f"{settings}: parameters differ by {err:.2e} after step {k}"
        ours, theirs = opt.state[nets.ours()[0]], ref.state[nets.theirs()[0]]
        for key in ("n_iter", "func_evals"):
            assert ours[key] == theirs[key], f"{settings}: state {key!r} after step {k}"
        assert len(ours["old_dirs"]) == len(theirs["old_dirs"]), f"{settings}: history, step {k}"
        assert float(ours["t"]) == pytest.approx(float(theirs["t"]), rel=1e-8)


def test_state_dict_round_trip_continues_exactly(rng):
    """Stop after 3 steps, load the state into a new optimiser over a copy of the network:
    its next steps equal those of the optimiser that went on (torch's state, kept)."""
    nets, copy = TwinNetworks(rng), TwinNetworks(np.random.default_rng(0))
    opt = optim.LBFGS(nets.ours(), max_iter=3, history_size=4, line_search_fn="strong_wolfe")
    closure = nets.closure(opt)
    for _ in range(3):
        opt.step(closure)
    saved = opt.state_dict()
    assert saved["state"][0]["d"].shape == (sum(p.data.size for p in nets.ours()),)
    for a, b in zip(copy.ours(), nets.ours()):
        a.data[...] = b.data
    resumed = optim.LBFGS(copy.ours(), max_iter=3, history_size=4, line_search_fn="strong_wolfe")
    resumed.load_state_dict(saved)
    for _ in range(3):
        opt.step(closure)
        resumed.step(copy.closure(resumed))
    for a, b in zip(copy.ours(), nets.ours()):
        np.testing.assert_array_equal(a.data, b.data, err_msg="resumed = went on")
    with pytest.raises(ValueError, match=r"state\[0\]\['d'\] has shape \(2,\), it must have"):
        bad = opt.state_dict()
        bad["state"][0]["d"] = np.zeros(2)
        resumed.load_state_dict(bad)


def test_cubic_minimum_of_a_cubic_and_without_one(rng):
    """f(x) = x³ − 3x has its local minimum at 1: from (0, f=0, f'=−3) and (2, f=2, f'=9)."""
    assert _cubic_minimum(0.0, 0.0, -3.0, 2.0, 2.0, 9.0) == pytest.approx(1.0, rel=1e-12)
    assert _cubic_minimum(2.0, 2.0, 9.0, 0.0, 0.0, -3.0) == pytest.approx(1.0, rel=1e-12)
    # no minimum (d1² < g1·g2): the middle of the bounds
    assert _cubic_minimum(0.0, 0.0, 2.0, 1.0, 1.0, 2.0, bounds=(0.0, 4.0)) == 2.0
    from torch.optim.lbfgs import _cubic_interpolate

    cases = [tuple(rng.standard_normal(6)) for _ in range(20)] + [(0.0, 0.0, 1.0, 1.0, 0.0, -1.0)]
    for x1, f1, g1, x2, f2, g2 in cases:
        for bounds in (None, (min(x1, x2) - 1, max(x1, x2) + 1)):
            ours = _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=bounds)
            t = [torch.tensor(v, dtype=torch.float64) for v in (g1, g2)]
            theirs = float(_cubic_interpolate(x1, f1, t[0], x2, f2, t[1], bounds=bounds))
            np.testing.assert_allclose(ours, theirs, rtol=1e-14, err_msg=f"{x1, f1, g1, x2}")


def test_a_converged_point_takes_no_step():
    x = cr.tensor([0.0, 0.0], requires_grad=True)
    opt = optim.LBFGS([x])

    def closure():
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 0.0
    assert opt.state[x]["n_iter"] == 0 and opt.state[x]["func_evals"] == 1
    np.testing.assert_array_equal(x.data, [0.0, 0.0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lr=-1.0), "LBFGS: lr must be a non-negative number, got -1.0"),
        (dict(max_iter=0), "LBFGS: max_iter must be an integer >= 1, got 0"),
        (dict(max_eval=2.5), "LBFGS: max_eval must be an integer >= 1, got 2.5"),
        (dict(history_size=0), "LBFGS: history_size must be an integer >= 1, got 0"),
        (dict(tolerance_grad=-1e-3), "LBFGS: tolerance_grad must be a non-negative number"),
        (dict(line_search_fn="armijo"), "line_search_fn must be None or 'strong_wolfe', got"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        optim.LBFGS([cr.tensor([1.0], requires_grad=True)], **kwargs)


def test_one_group_and_a_closure_are_required():
    a, b = cr.tensor([1.0], requires_grad=True), cr.tensor([2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"LBFGS doesn't support per-parameter options .* got 2"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])
    opt = optim.LBFGS([a])
    with pytest.raises(TypeError, match="LBFGS.step: closure must be a callable"):
        opt.step(None)
    assert opt.needs_closure and not optim.SGD([a], lr=0.1).needs_closure
    assert optim.LBFGS([a], max_iter=8).defaults["max_eval"] == 10, "max_iter * 5 // 4"


# -- in a Learner -----------------------------------------------------------------------------
def _lbfgs_learner(seed: int, save_dir=None):
    from chainrule.train import Learner, TrainLossCallback

    from ..train._helpers import loaders, tiny_model

    model = tiny_model(seed)
    opt = optim.LBFGS(model.parameters(), max_iter=3, history_size=4, line_search_fn="strong_wolfe")
    learner = Learner(
        model,
        opt,
        nn.BCEWithLogitsLoss(),
        callbacks=[TrainLossCallback()],
        save_dir=save_dir,
        show_progress=False,
    )
    return learner, *loaders(batch_size=16)


def test_the_learner_steps_lbfgs_with_a_closure_over_the_batch():
    """Each batch: the Learner's step is ``step(closure)`` on that batch; the same as a loop
    written by hand over the same batches."""
    from ..train._helpers import loaders, tiny_model

    learner, dl_train, _ = _lbfgs_learner(seed=0)
    learner.fit(dl_train, 2)
    model = tiny_model(0)
    opt = optim.LBFGS(model.parameters(), max_iter=3, history_size=4, line_search_fn="strong_wolfe")
    loss_fn = nn.BCEWithLogitsLoss()
    hand_train, _ = loaders(batch_size=16)
    for _ in range(2):
        for xb, yb in hand_train:

            def closure(xb=xb, yb=yb):
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                return loss

            opt.step(closure)
    for (name, a), b in zip(learner.model.state_dict().items(), model.parameters()):
        np.testing.assert_array_equal(a, b.data, err_msg=f"{name}: Learner = hand-written loop")
    ours = learner.optimizer.state[next(iter(learner.model.parameters()))]
    hand = opt.state[next(iter(model.parameters()))]
    assert (ours["n_iter"], ours["func_evals"]) == (hand["n_iter"], hand["func_evals"])
    assert hand["n_iter"] > 4, "several iterations per batch"


def test_a_learner_checkpoint_resumes_lbfgs_exactly(tmp_path):
    from ..train._helpers import params

    full, dl_train, _ = _lbfgs_learner(seed=0)
    full.fit(dl_train, 4)
    first, dl_train, _ = _lbfgs_learner(seed=0, save_dir=tmp_path)
    first.fit(dl_train, 2)
    path = first.save()
    resumed, dl_train, _ = _lbfgs_learner(seed=5)  # other initial weights
    resumed.load(path)
    resumed.fit(dl_train, 2)
    for k, v in params(full).items():
        np.testing.assert_array_equal(v, params(resumed)[k], err_msg=f"{k} after resume")
    state = resumed.optimizer.state[next(iter(resumed.model.parameters()))]
    assert state["n_iter"] == full.optimizer.state[next(iter(full.model.parameters()))]["n_iter"]


def test_the_learner_passes_a_closure_to_a_line_search_too():
    from chainrule.train import Learner

    from ..train._helpers import loaders, tiny_model

    model = tiny_model(0)
    opt = optim.GradientDescent(model.parameters(), lr=1.0, line_search="armijo")
    assert opt.needs_closure and not optim.GradientDescent(model.parameters()).needs_closure
    learner = Learner(model, opt, nn.BCEWithLogitsLoss(), show_progress=False)
    dl_train, dl_valid = loaders(batch_size=16)
    before = learner.validate(dl_valid)["valid_loss"]
    learner.fit(dl_train, 3)
    assert opt.state[next(iter(model.parameters()))]["func_evals"] >= 2 * 6, "searched"
    assert learner.validate(dl_valid)["valid_loss"] < before
