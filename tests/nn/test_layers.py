"""Linear, Identity, Flatten and the activation layers against PyTorch, plus their errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

from ._parity import DTYPE_IDS, DTYPES, check_parity, linear_params, torch_linear_like

torch = pytest.importorskip("torch")


# --- Linear ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("shape", [(5, 3), (3,), (2, 4, 3)], ids=str)
def test_linear_matches_torch(rng, dtype, bias, shape):
    layer = nn.Linear(3, 4, bias=bias, dtype=dtype)
    assert layer.weight.shape == (3, 4), f"Linear(3, 4).weight is {layer.weight.shape}, not (3, 4)"
    theirs = torch_linear_like(layer)
    check_parity(
        f"Linear(3, 4, bias={bias}) on {shape}",
        layer,
        theirs,
        [rng.standard_normal(shape)],
        dtype,
        params=linear_params(layer, theirs),
    )


def test_linear_backward_reads_as_on_the_blackboard(rng):
    # y = x W + b:  dX = dY Wᵀ,  dW = Xᵀ dY,  db = Σ_n dY
    layer = nn.Linear(3, 2, dtype=cr.float64)
    x = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    dy = rng.standard_normal((4, 2))
    layer(x).backward(grad=dy)
    W = layer.weight.data
    np.testing.assert_allclose(x.grad.data, dy @ W.T, rtol=1e-12, err_msg="Linear: dX = dY·Wᵀ")
    np.testing.assert_allclose(
        layer.weight.grad.data, x.data.T @ dy, rtol=1e-12, err_msg="Linear: dW = Xᵀ·dY"
    )
    np.testing.assert_allclose(
        layer.bias.grad.data, dy.sum(axis=0), rtol=1e-12, err_msg="Linear: db = Σ dY"
    )


@pytest.mark.parametrize("fan_in, fan_out", [(4, 3), (50, 7), (400, 20)])
def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in(fan_in, fan_out):
    layer = nn.Linear(fan_in, fan_out, generator=cr.Generator(0))
    bound = np.float32(1 / math.sqrt(fan_in))  # draws are rounded to float32 monotonically
    for name in ("weight", "bias"):
        p = getattr(layer, name).data
        assert p.dtype == np.float32, f"Linear({fan_in}, {fan_out}).{name} dtype is {p.dtype}"
        assert np.all(np.abs(p) <= bound), (
            f"Linear({fan_in}, {fan_out}).{name} leaves U(-1/√{fan_in}, 1/√{fan_in})"
        )
    w = layer.weight.data
    # U(-b, b) has standard deviation b/√3; with 8000 draws it is within a few percent
    if w.size >= 8000:
        assert abs(w.std() - bound / math.sqrt(3)) < 0.03 * bound, (
            f"Linear weight std {w.std()} vs U(-b, b)'s {bound / math.sqrt(3)}"
        )
        assert np.abs(w).max() > 0.95 * bound, "Linear weights do not reach the bound"


def test_linear_init_uses_fan_in_from_our_layout_not_out_features():
    # in_features=400, out_features=4: the bound is 1/√400 = 0.05, not 1/√4 = 0.5
    w = nn.Linear(400, 4, generator=cr.Generator(1)).weight.data
    assert np.abs(w).max() <= np.float32(0.05), (
        f"Linear(400, 4) weight reaches {np.abs(w).max()} > 0.05"
    )


def test_linear_init_is_reproducible_under_manual_seed_and_generator():
    cr.manual_seed(7)
    a = nn.Linear(5, 3)
    cr.manual_seed(7)
    b = nn.Linear(5, 3)
    np.testing.assert_array_equal(a.weight.data, b.weight.data, err_msg="same seed, same W")
    c = nn.Linear(5, 3, generator=cr.Generator(11))
    d = nn.Linear(5, 3, generator=cr.Generator(11))
    np.testing.assert_array_equal(c.weight.data, d.weight.data, err_msg="same generator seed")
    assert not np.array_equal(a.weight.data, c.weight.data), "different seeds gave the same W"


def test_linear_float64_and_repr():
    layer = nn.Linear(2, 3, dtype=cr.float64)
    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64
    assert repr(nn.Linear(2, 3, bias=False)) == repr(torch.nn.Linear(2, 3, bias=False))
    assert nn.Linear(2, 3, bias=False).bias is None


def test_linear_wrong_width_names_expected_and_received_features():
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"in_features=3 .*shape \(4, 5\) with 5 features"):
        layer(cr.tensor(np.zeros((4, 5), dtype=np.float32)))
    with pytest.raises(ValueError, match="got a scalar"):
        layer(cr.tensor(1.0))


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(in_features=-1, out_features=2), ValueError, "in_features must be >= 0, got -1"),
        (dict(in_features=2.5, out_features=2), TypeError, "in_features must be an int"),
        (dict(in_features=2, out_features=True), TypeError, "out_features must be an int"),
        (dict(in_features=2, out_features=2, dtype=np.int64), TypeError, "floating-point"),
        (dict(in_features=2, out_features=2, generator=3), TypeError, "generator must be"),
    ],
)
def test_linear_bad_arguments(kwargs, err, match):
    with pytest.raises(err, match=match):
        nn.Linear(**kwargs)


# --- Identity and Flatten ----------------------------------------------------------------------
def test_identity_returns_its_input():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert nn.Identity(3, foo=1)(x) is x
    assert repr(nn.Identity()) == "Identity()"


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize(
    "shape, start, end", [((2, 3, 4), 1, -1), ((2, 3, 4, 5), 0, 2), ((2, 3, 4), -2, -2)], ids=str
)
def test_flatten_matches_torch(rng, dtype, shape, start, end):
    check_parity(
        f"Flatten({start}, {end}) on {shape}",
        nn.Flatten(start, end),
        torch.nn.Flatten(start, end),
        [rng.standard_normal(shape)],
        dtype,
    )


def test_flatten_errors_and_repr():
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())
    with pytest.raises(ValueError, match=r"start_dim=3 and end_dim=-1 must lie in \[-3, 2\]"):
        nn.Flatten(3)(cr.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="start_dim=2 comes after end_dim=1"):
        nn.Flatten(2, 1)(cr.zeros(2, 3, 4))
    with pytest.raises(TypeError, match="start_dim must be an int"):
        nn.Flatten(1.0)


# --- activations -------------------------------------------------------------------------------
ACTIVATIONS = [
    ("ReLU", lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    ("Sigmoid", lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    ("Tanh", lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    ("GELU", lambda: nn.GELU(), lambda: torch.nn.GELU()),
    ("GELU-tanh", lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    ("ELU", lambda: nn.ELU(0.7), lambda: torch.nn.ELU(0.7)),
    ("Softplus", lambda: nn.Softplus(2.0, 3.0), lambda: torch.nn.Softplus(2.0, 3.0)),
    ("Softmax0", lambda: nn.Softmax(0), lambda: torch.nn.Softmax(0)),
    ("Softmax-1", lambda: nn.Softmax(dim=-1), lambda: torch.nn.Softmax(dim=-1)),
    ("LogSoftmax1", lambda: nn.LogSoftmax(1), lambda: torch.nn.LogSoftmax(1)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name, ours, theirs", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_torch(rng, dtype, name, ours, theirs):
    x = rng.uniform(-3, 3, (4, 5))
    x[0, :3] = [0.0, 1.5, -1.5]  # a kink at 0, and Softplus's threshold βx = 3
    check_parity(f"{name} on (4, 5)", ours(), theirs(), [x], dtype)


@pytest.mark.parametrize("name, ours, theirs", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_repr_matches_torch(name, ours, theirs):
    assert repr(ours()) == repr(theirs()), f"{name}: repr differs from torch's"


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_softmax_without_dim_uses_torch_legacy_axis_and_warns(rng, dtype):
    x = rng.standard_normal((3, 4))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = nn.Softmax()(cr.tensor(x.astype(dtype)))
    np.testing.assert_allclose(out.data.sum(axis=1), 1.0, rtol=1e-6, err_msg="legacy dim=1")
    with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
        out = F.log_softmax(cr.tensor(x[0].astype(dtype)))
    np.testing.assert_allclose(np.exp(out.data).sum(), 1.0, rtol=1e-6, err_msg="legacy dim=0")


@pytest.mark.parametrize(
    "make, err, match",
    [
        (lambda: nn.GELU("fast"), ValueError, "GELU: approximate must be 'none' or 'tanh'"),
        (lambda: nn.LeakyReLU("a"), TypeError, "LeakyReLU: negative_slope must be a number"),
        (lambda: nn.ELU(None), TypeError, "ELU: alpha must be a number"),
        (lambda: nn.Softplus(beta=0), ValueError, "Softplus: beta must be non-zero"),
    ],
)
def test_activation_bad_arguments(make, err, match):
    with pytest.raises(err, match=match):
        make()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_functional_forms_match_torch_functional(rng, dtype):
    x = rng.standard_normal((3, 4))
    tf = torch.nn.functional
    for name, ours, theirs in [
        ("relu", F.relu, tf.relu),
        ("sigmoid", F.sigmoid, torch.sigmoid),
        ("tanh", F.tanh, torch.tanh),
        ("gelu", lambda t: F.gelu(t, approximate="tanh"), lambda t: tf.gelu(t, approximate="tanh")),
        ("elu", lambda t: F.elu(t, alpha=0.5), lambda t: tf.elu(t, alpha=0.5)),
        ("leaky_relu", lambda t: F.leaky_relu(t, 0.3), lambda t: tf.leaky_relu(t, 0.3)),
        ("softplus", lambda t: F.softplus(t, beta=3), lambda t: tf.softplus(t, beta=3)),
        ("softmax", lambda t: F.softmax(t, dim=0), lambda t: tf.softmax(t, dim=0)),
        ("log_softmax", lambda t: F.log_softmax(t, dim=1), lambda t: tf.log_softmax(t, dim=1)),
    ]:
        check_parity(f"F.{name}", ours, theirs, [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_functional_linear_takes_our_weight_layout(rng, dtype):
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    check_parity(
        "F.linear(x, W, b) vs torch's F.linear(x, Wᵀ, b)",
        F.linear,
        lambda x, w, b: torch.nn.functional.linear(x, w.T, b),
        [x, w, b],
        dtype,
    )


def test_softmax_dim_and_functional_gelu_errors():
    with pytest.raises(TypeError, match="Softmax: dim must be an int or None, got str"):
        nn.Softmax("1")
    with pytest.raises(TypeError, match="LogSoftmax: dim must be an int or None, got float"):
        nn.LogSoftmax(1.0)
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'x'"):
        F.gelu(cr.zeros(2), approximate="x")
