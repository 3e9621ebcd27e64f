"""nn.init: PyTorch's gains, bounds and statistics, with fans read from our (in, out) layout."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import init

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(
    "nonlinearity, param",
    [
        ("linear", None),
        ("conv1d", None),
        ("conv_transpose3d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", 3),
        ("selu", None),
    ],
)
def test_calculate_gain_matches_torch(nonlinearity, param):
    ours = init.calculate_gain(nonlinearity, param)
    theirs = torch.nn.init.calculate_gain(nonlinearity, param)
    assert math.isclose(ours, theirs, rel_tol=1e-15), f"gain({nonlinearity}, {param})"


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope 'x' is not a valid number"):
        init.calculate_gain("leaky_relu", "x")
    with pytest.raises(ValueError, match="negative_slope True is not a valid number"):
        init.calculate_gain("leaky_relu", True)


def _w(shape, dtype=np.float32):
    return cr.tensor(np.zeros(shape, dtype=dtype))


def test_fans_follow_our_in_out_layout():
    assert init._calculate_fan_in_and_fan_out(_w((300, 20))) == (300, 20)
    assert init._calculate_fan_in_and_fan_out(_w((3, 4, 5, 2))) == (30, 40)
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions, got shape \(5,\)"):
        init.kaiming_uniform_(_w((5,)))


# Each: (initialiser, kwargs, expected bound or None, expected std); W is (fan_in, fan_out)
FAN_IN, FAN_OUT = 400, 100
_G_LRELU = math.sqrt(2 / (1 + 0.0**2))  # kaiming's a=0 is leaky_relu's slope: gain √2
STATS = [
    ("uniform_", dict(a=-2.0, b=3.0), (-2.0, 3.0), 5 / math.sqrt(12)),
    ("normal_", dict(mean=1.0, std=0.5), None, 0.5),
    ("xavier_uniform_", dict(gain=2.0), 2 * math.sqrt(6 / 500), 2 * math.sqrt(2 / 500)),
    ("xavier_normal_", dict(), None, math.sqrt(2 / 500)),
    ("kaiming_uniform_", dict(), _G_LRELU * math.sqrt(3 / FAN_IN), _G_LRELU / math.sqrt(FAN_IN)),
    (
        "kaiming_uniform_",
        dict(mode="fan_out", nonlinearity="relu"),
        math.sqrt(2) * math.sqrt(3 / FAN_OUT),
        math.sqrt(2 / FAN_OUT),
    ),
    (
        "kaiming_uniform_",
        dict(a=math.sqrt(5)),
        1 / math.sqrt(FAN_IN),
        1 / math.sqrt(3 * FAN_IN),
    ),
    ("kaiming_normal_", dict(nonlinearity="relu"), None, math.sqrt(2 / FAN_IN)),
    ("kaiming_normal_", dict(mode="fan_out", nonlinearity="tanh"), None, 5 / 3 / 10),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize(
    "name, kwargs, bound, std", STATS, ids=[f"{s[0]}{sorted(s[1].items())}" for s in STATS]
)
def test_random_initialisers_bounds_and_statistics(name, kwargs, bound, std, dtype):
    w = _w((FAN_IN, FAN_OUT), dtype)
    out = getattr(init, name)(w, generator=cr.Generator(0), **kwargs)
    assert out is w, f"{name} must return the tensor it filled"
    assert w.dtype == dtype, f"{name} changed the dtype to {w.dtype}"
    d = w.data
    # 40,000 draws: the sample std is within 2% of the true one with overwhelming probability
    assert abs(d.std() - std) < 0.02 * std, f"{name}{kwargs}: std {d.std()} vs {std}"
    if bound is not None:
        lo, hi = bound if isinstance(bound, tuple) else (-bound, bound)
        lo, hi = dtype(lo), dtype(hi)  # rounding to the dtype is monotonic: fl(v) <= fl(hi)
        assert d.min() >= lo and d.max() <= hi, f"{name}{kwargs}: values outside [{lo}, {hi}]"
        assert d.min() < lo + 0.01 * (hi - lo) and d.max() > hi - 0.01 * (hi - lo), (
            f"{name}{kwargs}: draws do not fill [{lo}, {hi}]"
        )
    else:
        mean = kwargs.get("mean", 0.0)
        assert abs(d.mean() - mean) < 0.02 * std + 1e-3, f"{name}: mean {d.mean()} vs {mean}"


def test_kaiming_bound_matches_torch_on_the_transposed_weight():
    # the same layer in both layouts: ours (in=400, out=100), torch's (out=100, in=400)
    ours = init.kaiming_uniform_(_w((400, 100)), a=math.sqrt(5), generator=cr.Generator(1))
    theirs = torch.nn.init.kaiming_uniform_(torch.empty(100, 400), a=math.sqrt(5))
    assert abs(np.abs(ours.data).max() - theirs.abs().max().item()) < 1e-3
    ours = init.xavier_normal_(_w((400, 100)), generator=cr.Generator(1))
    theirs = torch.nn.init.xavier_normal_(torch.empty(100, 400))
    assert abs(ours.data.std() - theirs.std().item()) < 2e-3


def test_random_initialisers_are_reproducible_and_use_the_default_generator():
    cr.manual_seed(3)
    a = init.normal_(_w((10, 10))).data.copy()
    cr.manual_seed(3)
    b = init.normal_(_w((10, 10))).data.copy()
    np.testing.assert_array_equal(a, b, err_msg="normal_ after the same cr.manual_seed")
    c = init.normal_(_w((10, 10)), generator=cr.Generator(3)).data
    d = init.normal_(_w((10, 10)), generator=cr.Generator(3)).data
    np.testing.assert_array_equal(c, d, err_msg="normal_ with the same generator seed")


def test_constant_initialisers_fill_in_place():
    w = _w((2, 3))
    data = w.data
    assert init.constant_(w, 2.5) is w and np.all(w.data == 2.5)
    assert init.ones_(w) is w and np.all(w.data == 1)
    assert init.zeros_(w) is w and np.all(w.data == 0)
    assert w.data is data, "initialisers must write into the existing array"


def test_initialisers_work_on_parameters_and_skip_empty_tensors():
    from chainrule import nn

    p = nn.Parameter(np.zeros((3, 2), dtype=np.float32))
    init.xavier_uniform_(p)
    assert p.requires_grad and p.grad is None and np.any(p.data != 0)
    assert init.kaiming_normal_(_w((0, 3))).shape == (0, 3)


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda: init.uniform_(np.zeros(3)), TypeError, "uniform_: tensor must be a cr.Tensor"),
        (lambda: init.ones_(cr.tensor([1, 2])), TypeError, "ones_: tensor must be floating"),
        (lambda: init.uniform_(_w((2, 2)), 1.0, 0.0), ValueError, "expected a <= b"),
        (lambda: init.normal_(_w((2, 2)), std=-1.0), ValueError, "std must be non-negative"),
        (
            lambda: init.kaiming_normal_(_w((2, 2)), mode="fan_avg"),
            ValueError,
            "kaiming_normal_: mode must be 'fan_in' or 'fan_out', got 'fan_avg'",
        ),
        (lambda: init.normal_(_w((2, 2)), generator=5), TypeError, "generator must be"),
    ],
)
def test_initialiser_errors(call, err, match):
    with pytest.raises(err, match=match):
        call()
