"""The Optimizer base: groups, state, zero_grad, closures, state dicts, and every error path."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

ALL = {
    "SGD": {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    "Adam": {"amsgrad": True, "weight_decay": 0.01},
    "AdamW": {"amsgrad": True},
    "RMSprop": {"centered": True, "momentum": 0.5},
    "Adagrad": {"lr_decay": 0.01, "initial_accumulator_value": 0.1},
}


def _params(rng, dtype=np.float64):
    return [
        cr.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in [(3, 2), (2,)]
    ]


def _train(opt, params, n, seed):
    """n steps on the gradient of Σ p⁴/4 + noise (deterministic given seed)."""
    noise = np.random.default_rng(seed)
    for _ in range(n):
        for p in params:
            p.grad = cr.tensor(p.data**3 + noise.standard_normal(p.shape))
        opt.step()


@pytest.mark.parametrize("name", list(ALL))
def test_state_dict_round_trip(name, rng):
    """Continuing after load_state_dict equals the uninterrupted run, bit for bit."""
    kw = {"lr": 0.05, **ALL[name]}
    params = _params(rng)
    opt = getattr(optim, name)(params, **kw)
    _train(opt, params, 10, seed=1)
    saved_values = [p.data.copy() for p in params]
    saved = opt.state_dict()
    _train(opt, params, 10, seed=2)  # must not change `saved`
    expected = [p.data.copy() for p in params]

    fresh = [cr.tensor(v, requires_grad=True) for v in saved_values]
    opt2 = getattr(optim, name)(fresh, lr=1.0)  # hyper-parameters come from the state dict
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == 0.05
    _train(opt2, fresh, 10, seed=2)
    for a, b in zip(fresh, expected):
        np.testing.assert_array_equal(a.data, b, err_msg=f"{name} after load_state_dict")


def test_state_dict_is_plain_data_and_json_friendly(rng):
    params = _params(rng)
    opt = optim.Adam(params, lr=0.1)
    _train(opt, params, 3, seed=0)
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0, 1]
    assert set(sd["state"]) == {0, 1}
    assert sd["state"][0]["step"] == 3 and isinstance(sd["state"][0]["step"], int)
    assert isinstance(sd["state"][1]["exp_avg"], np.ndarray)
    assert sd["state"][1]["exp_avg"] is not opt.state[params[1]]["exp_avg"]
    # JSON turns the int keys into strings and arrays into lists: integer keys still load
    text = json.dumps(
        {
            "state": {
                k: {n: (v.tolist() if isinstance(v, np.ndarray) else v) for n, v in s.items()}
                for k, s in sd["state"].items()
            },
            "param_groups": sd["param_groups"],
        }
    )
    loaded = json.loads(text)
    for s in loaded["state"].values():
        for key in ("exp_avg", "exp_avg_sq"):
            s[key] = np.array(s[key])
    opt2 = optim.Adam([cr.tensor(p.data, requires_grad=True) for p in params])
    opt2.load_state_dict(loaded)
    assert opt2.state[opt2.param_groups[0]["params"][1]]["step"] == 3


def test_load_state_dict_casts_to_parameter_dtype(rng):
    params = _params(rng)
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    _train(opt, params, 2, seed=0)
    p32 = [cr.tensor(p.data.astype(np.float32), requires_grad=True) for p in params]
    opt32 = optim.SGD(p32, lr=0.1, momentum=0.9)
    opt32.load_state_dict(opt.state_dict())
    assert opt32.state[p32[0]]["momentum_buffer"].dtype == np.float32


def test_add_param_group_and_group_options(rng):
    a, b = _params(rng)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert len(opt.param_groups) == 2
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9
    assert opt.param_groups[1]["params"] == [b] or opt.param_groups[1]["params"][0] is b
    b.grad = cr.tensor(np.ones(b.shape))
    before = b.data.copy()
    opt.step()  # a has no gradient: skipped, and given no state
    np.testing.assert_allclose(b.data, before - 0.01)
    assert a not in opt.state and opt.state[b]["momentum_buffer"].shape == b.shape


def test_state_is_keyed_by_parameter_and_buffers_are_reused(rng):
    params = _params(rng)
    opt = optim.Adam(params, lr=0.1)
    _train(opt, params, 1, seed=0)
    buffers = {id(opt.state[p]["exp_avg"]) for p in params}
    _train(opt, params, 3, seed=0)
    assert {id(opt.state[p]["exp_avg"]) for p in params} == buffers


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none, rng):
    params = _params(rng)
    opt = optim.SGD(params, lr=0.1)
    (params[0] * params[0]).sum().backward()
    grad_array = params[0].grad.data
    opt.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert params[0].grad is None
    else:
        assert params[0].grad.data is grad_array and not grad_array.any()
    assert params[1].grad is None


def test_zero_grad_drops_a_gradient_graph(rng):
    x = cr.tensor(rng.standard_normal(3), requires_grad=True)
    opt = optim.SGD([x], lr=0.1)
    (x**3).sum().backward(create_graph=True)
    assert not x.grad.is_leaf
    opt.zero_grad(set_to_none=False)
    assert x.grad.is_leaf and not x.grad.data.any()


def test_step_calls_the_closure_with_grad_enabled(rng):
    x = cr.tensor(rng.standard_normal(3), requires_grad=True)
    opt = optim.SGD([x], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    before = x.data.copy()
    with cr.no_grad():
        loss = opt.step(closure)
    assert float(loss) == pytest.approx(float((before**2).sum()))
    np.testing.assert_allclose(x.data, before - 0.1 * 2 * before)


def test_repr_lists_groups():
    opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.5, momentum=0.9)
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n") and "    lr: 0.5\n" in text
    assert "momentum: 0.9" in text and text.endswith(")")


# -- errors ------------------------------------------------------------------------------------
def _p():
    return cr.tensor([1.0, 2.0], requires_grad=True)


BAD = [
    (
        lambda: optim.SGD([_p()], lr=-0.1),
        ValueError,
        "SGD: lr must be a non-negative number, got -0.1",
    ),
    (lambda: optim.SGD([_p()], lr="0.1"), TypeError, "SGD: lr must be a real number, got str"),
    (lambda: optim.SGD([_p()], lr=float("nan")), ValueError, "SGD: lr must be"),
    (
        lambda: optim.SGD([_p()], momentum=-0.9),
        ValueError,
        "SGD: momentum must be a non-negative number, got -0.9",
    ),
    (lambda: optim.SGD([_p()], weight_decay=-1), ValueError, "SGD: weight_decay must be"),
    (
        lambda: optim.SGD([_p()], nesterov=True),
        ValueError,
        "nesterov=True requires momentum > 0 and dampening = 0, got momentum=0",
    ),
    (
        lambda: optim.SGD([_p()], momentum=0.9, dampening=0.1, nesterov=True),
        ValueError,
        "dampening=0.1",
    ),
    (lambda: optim.Adam([_p()], lr=-1e-3), ValueError, "Adam: lr must be"),
    (lambda: optim.Adam([_p()], eps=-1e-8), ValueError, "Adam: eps must be a non-negative number"),
    (
        lambda: optim.Adam([_p()], betas=(1.0, 0.999)),
        ValueError,
        r"Adam: betas\[0\] must be in \[0, 1\), got 1.0",
    ),
    (
        lambda: optim.Adam([_p()], betas=(0.9, -0.1)),
        ValueError,
        r"Adam: betas\[1\] must be in \[0, 1\), got -0.1",
    ),
    (lambda: optim.Adam([_p()], betas=0.9), TypeError, r"Adam: betas must be a pair"),
    (lambda: optim.AdamW([_p()], weight_decay=-0.01), ValueError, "AdamW: weight_decay must be"),
    (lambda: optim.RMSprop([_p()], alpha=-0.5), ValueError, "RMSprop: alpha must be"),
    (lambda: optim.RMSprop([_p()], momentum=-0.5), ValueError, "RMSprop: momentum must be"),
    (lambda: optim.RMSprop([_p()], eps=-1.0), ValueError, "RMSprop: eps must be"),
    (lambda: optim.Adagrad([_p()], lr_decay=-0.5), ValueError, "Adagrad: lr_decay must be"),
    (
        lambda: optim.Adagrad([_p()], initial_accumulator_value=-1),
        ValueError,
        "Adagrad: initial_accumulator_value must be",
    ),
    (lambda: optim.SGD([], lr=0.1), ValueError, "SGD: params is an empty parameter list"),
    (lambda: optim.SGD(iter(()), lr=0.1), ValueError, "empty parameter list"),
    (
        lambda: optim.SGD(_p(), lr=0.1),
        TypeError,
        "params must be an iterable of Tensors or of dicts, got Tensor",
    ),
    (lambda: optim.SGD({_p()}, lr=0.1), TypeError, "params must be an ordered collection"),
    (
        lambda: optim.SGD([cr.tensor([1.0])], lr=0.1),
        ValueError,
        r"params\[0\] \(shape \(1,\)\) does not require grad",
    ),
    (
        lambda: optim.SGD([np.ones(2)], lr=0.1),
        TypeError,
        r"params\[0\] must be a chainrule Tensor, got ndarray",
    ),
    (lambda: optim.SGD([_p() * 2], lr=0.1), ValueError, r"params\[0\] is not a leaf tensor"),
    (lambda: optim.SGD([{"lr": 0.1}]), ValueError, "a parameter group must have a 'params' entry"),
    (
        lambda: optim.SGD([{"params": []}]),
        ValueError,
        "params of a parameter group is an empty list",
    ),
    (
        lambda: optim.SGD([{"params": [_p()], "lr": -2.0}]),
        ValueError,
        "SGD: lr must be a non-negative number, got -2.0",
    ),
]


@pytest.mark.parametrize("make, error, match", BAD, ids=[m for _, _, m in BAD])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_parameter_in_two_groups_or_twice():
    p, q = _p(), _p()
    with pytest.raises(ValueError, match="appear in more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [q, p]}], lr=0.1)
    with pytest.raises(ValueError, match=r"params\[1\] appears twice in the same parameter group"):
        optim.SGD([p, p], lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})
    with pytest.raises(TypeError, match="a parameter group must be a dict"):
        opt.add_param_group([q])


def test_load_state_dict_errors(rng):
    params = _params(rng)
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    _train(opt, params, 1, seed=0)
    sd = opt.state_dict()
    with pytest.raises(TypeError, match="load_state_dict: expected a dict, got list"):
        opt.load_state_dict([])
    with pytest.raises(ValueError, match=r"lacks the keys \['state'\]"):
        opt.load_state_dict({"param_groups": sd["param_groups"]})
    one = optim.SGD([params[0]], lr=0.1)
    with pytest.raises(ValueError, match="parameter group 0 has 2 parameters in state_dict, 1 in"):
        one.load_state_dict(sd)
    two = optim.SGD([{"params": [params[0]]}, {"params": [params[1]]}], lr=0.1)
    with pytest.raises(ValueError, match="state_dict has 1 parameter groups, the optimizer has 2"):
        two.load_state_dict(sd)
    swapped = optim.SGD(params[::-1], lr=0.1, momentum=0.9)
    with pytest.raises(
        ValueError,
        match=r"state\[0\]\['momentum_buffer'\] has shape \(3, 2\), "
        r"the parameter has shape \(2,\)",
    ):
        swapped.load_state_dict(sd)
    bad = {"state": {7: {}}, "param_groups": sd["param_groups"]}
    with pytest.raises(ValueError, match="state refers to parameter 7"):
        opt.load_state_dict(bad)


def test_base_step_is_abstract():
    opt = optim.Optimizer([_p()], {"lr": 0.1})
    with pytest.raises(NotImplementedError, match="Optimizer.step is not implemented"):
        opt.step()
