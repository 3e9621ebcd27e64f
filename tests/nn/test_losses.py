"""Every loss, every reduction, against PyTorch: value, gradient of the input (and of the target
where it is differentiable) under a random cotangent, float32 and float64; and the errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

from ._parity import DTYPE_IDS, DTYPES, check_parity, to_torch

torch = pytest.importorskip("torch")
REDUCTIONS = ["mean", "sum", "none"]


@dataclass
class LossCase:
    """``ours(**kw)`` and ``theirs(**kw)`` build the loss; ``make(rng)`` the (input, target)."""

    id: str
    ours: Callable[..., nn.Module]
    theirs: Callable[..., Any]
    make: Callable[[np.random.Generator], list[np.ndarray]]
    kwargs: dict = field(default_factory=dict)
    diff: tuple = (True, True)
    weights: tuple = ()  # names of keyword arguments holding arrays (cast to the dtype)


def _regression(rng):
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    y[0, 0] = x[0, 0]  # a tie: |d|' := 0 for L1
    x[1, 1], y[1, 1] = 1.5, 1.0  # |d| = 0.5, Huber's boundary for delta=0.5
    return [x, y]


def _probabilities(rng):
    return [rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))]


def _logits_binary(rng):
    x = rng.standard_normal((4, 3)) * 3
    x[0, :2] = [40.0, -40.0]  # saturated logits stay finite
    return [x, rng.uniform(0, 1, (4, 3))]


def _indices(rng, shape=(6, 4), ignore=False):
    x = rng.standard_normal(shape) * 2
    t = rng.integers(0, shape[1], (shape[0], *shape[2:]))
    if ignore:
        t.flat[::3] = -1
    return [x, t]


def _soft_targets(rng):
    x = rng.standard_normal((5, 4))
    p = rng.uniform(0.1, 1, (5, 4))
    return [x, p / p.sum(axis=1, keepdims=True)]


def _vector(rng):
    return [rng.standard_normal(5), np.array(2)]


W3 = np.array([0.5, 2.0, 1.0])
W4 = np.array([1.0, 0.2, 3.0, 0.7])
CASES = [
    LossCase("MSELoss", nn.MSELoss, torch.nn.MSELoss, _regression),
    LossCase("L1Loss", nn.L1Loss, torch.nn.L1Loss, _regression),
    LossCase("HuberLoss", nn.HuberLoss, torch.nn.HuberLoss, _regression),
    LossCase("HuberLoss-d0.5", nn.HuberLoss, torch.nn.HuberLoss, _regression, dict(delta=0.5)),
    LossCase("HuberLoss-d3", nn.HuberLoss, torch.nn.HuberLoss, _regression, dict(delta=3.0)),
    LossCase("BCELoss", nn.BCELoss, torch.nn.BCELoss, _probabilities),
    LossCase(
        "BCELoss-w",
        nn.BCELoss,
        torch.nn.BCELoss,
        _probabilities,
        dict(weight=W3),
        weights=("weight",),
    ),
    LossCase("BCEWithLogits", nn.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss, _logits_binary),
    LossCase(
        "BCEWithLogits-w-pw",
        nn.BCEWithLogitsLoss,
        torch.nn.BCEWithLogitsLoss,
        _logits_binary,
        dict(weight=W3[::-1].copy(), pos_weight=W3),
        weights=("weight", "pos_weight"),
    ),
    LossCase("CE", nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, _indices, diff=(True, False)),
    LossCase(
        "CE-ignore",  # the fast path for class indices, with ignored targets
        nn.CrossEntropyLoss,
        torch.nn.CrossEntropyLoss,
        lambda rng: _indices(rng, ignore=True),
        dict(ignore_index=-1),
        diff=(True, False),
    ),
    LossCase(
        "CE-w-ignore-smooth",
        nn.CrossEntropyLoss,
        torch.nn.CrossEntropyLoss,
        lambda rng: _indices(rng, ignore=True),
        dict(weight=W4, ignore_index=-1, label_smoothing=0.1),
        diff=(True, False),
        weights=("weight",),
    ),
    LossCase(
        "CE-probs-smooth",
        nn.CrossEntropyLoss,
        torch.nn.CrossEntropyLoss,
        _soft_targets,
        dict(label_smoothing=0.2),
    ),
    LossCase(
        "CE-probs-w",
        nn.CrossEntropyLoss,
        torch.nn.CrossEntropyLoss,
        _soft_targets,
        dict(weight=W4),
        weights=("weight",),
    ),
    LossCase(
        "CE-3d",
        nn.CrossEntropyLoss,
        torch.nn.CrossEntropyLoss,
        lambda rng: _indices(rng, (3, 4, 5)),
        dict(weight=W4),
        diff=(True, False),
        weights=("weight",),
    ),
    LossCase(
        "CE-3d-probs",
        nn.CrossEntropyLoss,
        torch.nn.CrossEntropyLoss,
        lambda rng: [
            rng.standard_normal((2, 3, 4)),
            rng.dirichlet(np.ones(3), (2, 4)).swapaxes(1, 2),
        ],
        dict(label_smoothing=0.1),
    ),
    LossCase("CE-1d", nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, _vector, diff=(True, False)),
    LossCase("NLLLoss", nn.NLLLoss, torch.nn.NLLLoss, _indices, diff=(True, False)),
    LossCase(
        "NLLLoss-w-ignore",
        nn.NLLLoss,
        torch.nn.NLLLoss,
        lambda rng: _indices(rng, ignore=True),
        dict(weight=W4, ignore_index=-1),
        diff=(True, False),
        weights=("weight",),
    ),
    LossCase(
        "NLLLoss-3d",
        nn.NLLLoss,
        torch.nn.NLLLoss,
        lambda rng: _indices(rng, (3, 4, 5), ignore=True),
        dict(weight=W4, ignore_index=-1),
        diff=(True, False),
        weights=("weight",),
    ),
    LossCase("NLLLoss-1d", nn.NLLLoss, torch.nn.NLLLoss, _vector, diff=(True, False)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_loss_matches_torch(rng, case, reduction, dtype):
    kw = dict(case.kwargs, reduction=reduction)
    ours_kw = {k: (v.astype(dtype) if k in case.weights else v) for k, v in kw.items()}
    theirs_kw = {k: (to_torch(v.astype(dtype)) if k in case.weights else v) for k, v in kw.items()}
    check_parity(
        f"{case.id}(reduction={reduction!r})",
        case.ours(**ours_kw),
        case.theirs(**theirs_kw),
        case.make(rng),
        dtype,
        diff=case.diff,
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_bce_clamps_log_at_minus_100_like_torch_and_stays_finite(dtype):
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.3], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5], dtype=dtype)
    xs = cr.tensor(x, requires_grad=True)
    ours = F.binary_cross_entropy(xs, y, reduction="none")
    theirs = torch.nn.functional.binary_cross_entropy(to_torch(x), to_torch(y), reduction="none")
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6, err_msg="BCE at 0 and 1")
    np.testing.assert_allclose(ours.data[:2], 100.0, err_msg="a certain wrong prediction is 100")
    ours.backward(grad=np.ones(5, dtype=dtype))
    assert np.all(np.isfinite(xs.grad.data)), f"BCE gradient at 0/1 is {xs.grad.data}"
    # interior entry: d/dx −[y log x + (1−y) log(1−x)] = (x − y)/(x(1 − x))
    np.testing.assert_allclose(xs.grad.data[4], (0.3 - 0.5) / (0.3 * 0.7), rtol=1e-6)


def test_cross_entropy_with_integer_tensor_and_list_targets():
    x = cr.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]], requires_grad=True)
    a = F.cross_entropy(x, cr.tensor([1, 2]))
    b = F.cross_entropy(x, [1, 2])
    t = torch.nn.functional.cross_entropy(to_torch(x.data), torch.tensor([1, 2]))
    np.testing.assert_allclose([a.item(), b.item()], [t.item()] * 2, rtol=1e-6)


def test_loss_reprs_match_torch():
    assert repr(nn.MSELoss()) == repr(torch.nn.MSELoss()) == "MSELoss()"
    assert repr(nn.CrossEntropyLoss()) == repr(torch.nn.CrossEntropyLoss())


def test_loss_weights_are_buffers_in_the_state_dict():
    loss = nn.CrossEntropyLoss(weight=[1, 2, 3])
    assert loss.weight.dtype == np.float32, "integer weights become float32"
    assert list(loss.state_dict()) == list(torch.nn.CrossEntropyLoss(torch.ones(3)).state_dict())
    assert list(nn.BCEWithLogitsLoss(pos_weight=[2.0]).state_dict()) == ["pos_weight"]


# --- errors ------------------------------------------------------------------------------------
LOSS_CLASSES = [
    nn.MSELoss,
    nn.L1Loss,
    nn.HuberLoss,
    nn.BCELoss,
    nn.BCEWithLogitsLoss,
    nn.CrossEntropyLoss,
    nn.NLLLoss,
]


@pytest.mark.parametrize("cls", LOSS_CLASSES, ids=lambda c: c.__name__)
def test_bad_reduction_is_rejected_when_built(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: reduction must be one of .* 'avg'"):
        cls(reduction="avg")


@pytest.mark.parametrize(
    "fn",
    [
        F.mse_loss,
        F.l1_loss,
        F.huber_loss,
        F.binary_cross_entropy,
        F.binary_cross_entropy_with_logits,
    ],
    ids=lambda f: f.__name__,
)
def test_elementwise_losses_reject_target_of_another_shape(fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: target of shape \(4,\) must have the "):
        fn(cr.tensor(np.full((4, 1), 0.5)), np.zeros(4))
    with pytest.raises(ValueError, match=f"{fn.__name__}: reduction must be one of"):
        fn(cr.tensor(np.full(4, 0.5)), np.zeros(4), reduction="total")
    with pytest.raises(TypeError, match=f"{fn.__name__}: target must be a tensor .* got None"):
        fn(cr.tensor(np.full(4, 0.5)), None)


def test_huber_rejects_non_positive_delta():
    with pytest.raises(ValueError, match="HuberLoss: delta must be a positive number, got 0"):
        nn.HuberLoss(delta=0)
    with pytest.raises(ValueError, match="huber_loss: delta must be a positive number, got -1"):
        F.huber_loss(cr.zeros(2), np.zeros(2), delta=-1)


def test_bce_rejects_values_outside_0_1():
    with pytest.raises(ValueError, match=r"between 0 and 1 .* got values in \[-0.5, 2.0\]"):
        nn.BCELoss()(cr.tensor([-0.5, 2.0]), cr.tensor([0.0, 1.0]))


@pytest.mark.parametrize("cls", [nn.CrossEntropyLoss, nn.NLLLoss], ids=lambda c: c.__name__)
def test_classification_losses_reject_out_of_range_and_mis_shaped_targets(cls):
    fn = "cross_entropy" if cls is nn.CrossEntropyLoss else "nll_loss"
    x = cr.tensor(np.zeros((4, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=rf"{fn}: target holds class index 3, .*\[0, 3\)"):
        cls()(x, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=rf"{fn}: target holds class index -2"):
        cls()(x, np.array([0, 1, -2, 1]))
    with pytest.raises(ValueError, match=rf"{fn}: target .*shape \(4,\).* got \(4, 1\)"):
        cls()(x, np.zeros((4, 1), dtype=np.int64))
    with pytest.raises(ValueError, match=rf"{fn}: weight must have shape \(3,\), got \(2,\)"):
        cls(weight=[1.0, 2.0])(x, np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match=rf"{fn}: target must have shape \(2, 5\)"):
        cls()(cr.zeros(2, 3, 5), np.zeros((2, 4), dtype=np.int64))


def test_nll_rejects_float_targets_and_ce_rejects_bad_smoothing():
    with pytest.raises(TypeError, match="nll_loss: target must hold integer class indices"):
        nn.NLLLoss()(cr.zeros(2, 3), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(TypeError, match="CrossEntropyLoss: weight must hold numbers"):
        nn.CrossEntropyLoss(weight=["a", "b"])


def test_nll_rejects_a_scalar_input():
    with pytest.raises(ValueError, match=r"nll_loss: input must be \(N, C\), \(C,\) or"):
        F.nll_loss(cr.tensor(1.0), np.array(0))


def test_import_does_not_pull_heavy_dependencies():
    import subprocess
    import sys

    code = (
        "import sys, chainrule.nn; "
        "print(sorted(m for m in ('torch', 'sklearn', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"import chainrule.nn imported {out.stdout.strip()}"


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_index_fast_path_equals_general_path(rng, dtype, reduction):
    # class indices without weight or smoothing skip the coefficient matrix; a weight of ones
    # takes the general formulas, which must give the same bits (ignored rows included)
    x = rng.standard_normal((7, 4)) * 3
    t = np.array([0, 3, -100, 1, 2, -100, 3])
    results = []
    for weight in (None, np.ones(4)):
        xt = cr.tensor(x, dtype=dtype, requires_grad=True)
        loss = F.cross_entropy(xt, t, weight=weight, reduction=reduction)
        loss.backward(cr.ones_like(loss))
        results.append((loss.data, xt.grad.data))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert np.all(results[0][1][[2, 5]] == 0)
