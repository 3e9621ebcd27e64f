"""Forward, forward-pre and full backward hooks; removable handles; backward hooks vs torch."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

from ._parity import to_torch, torch_linear_like

torch = pytest.importorskip("torch")
TOL = dict(rtol=1e-12, atol=1e-14)


def _recorder(log):
    def hook(module, grad_input, grad_output):
        log.append((grad_input, grad_output))

    return hook


def _arrays(grads):
    return [
        None if g is None else np.asarray(g.data if isinstance(g, cr.Tensor) else g) for g in grads
    ]


def _assert_same_grads(what, ours, theirs):
    ours, theirs = _arrays(ours), [None if g is None else g.numpy() for g in theirs]
    assert len(ours) == len(theirs), f"{what}: {len(ours)} entries, torch has {len(theirs)}"
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert (o is None) == (t is None), f"{what}[{i}]: ours {o}, torch's {t}"
        if o is not None:
            np.testing.assert_allclose(o, t, **TOL, err_msg=f"{what}[{i}] vs torch")


# --- forward hooks -----------------------------------------------------------------------------
def test_forward_pre_hook_and_forward_hook_fire_in_order_and_can_replace():
    layer = nn.Identity()
    calls = []
    h1 = layer.register_forward_pre_hook(lambda m, args: calls.append(("pre", args)))
    h2 = layer.register_forward_pre_hook(lambda m, args: args[0] * 2)  # single value: wrapped
    h3 = layer.register_forward_hook(lambda m, args, out: calls.append(("fwd", args, out)))
    h4 = layer.register_forward_hook(lambda m, args, out: out + 1)
    x = cr.tensor([1.0, 2.0])
    out = layer(x)
    np.testing.assert_array_equal(out.data, [3.0, 5.0], err_msg="(2x) + 1")
    assert calls[0] == ("pre", (x,))
    assert calls[1][0] == "fwd" and np.array_equal(calls[1][2].data, [2.0, 4.0])
    assert np.array_equal(calls[1][1][0].data, [2.0, 4.0]), "forward hooks see the new args"
    for h in (h1, h2, h3, h4):
        h.remove()
    h1.remove()  # twice is harmless
    assert layer(x) is x and len(calls) == 2, "removed hooks must not fire"


def test_pre_hook_may_return_a_tuple_of_args():
    loss = nn.MSELoss()
    loss.register_forward_pre_hook(lambda m, args: (args[1], args[0]))
    assert loss(cr.tensor([1.0]), cr.tensor([3.0])).item() == 4.0


def test_handles_are_context_managers():
    layer = nn.ReLU()
    seen = []
    with layer.register_forward_hook(lambda m, a, o: seen.append(o)) as handle:
        layer(cr.tensor([1.0]))
    layer(cr.tensor([1.0]))
    assert len(seen) == 1, "the hook must be removed at the end of the with block"
    assert isinstance(handle, cr.RemovableHandle)


def test_hooks_must_be_callable():
    with pytest.raises(TypeError, match="register_forward_hook: hook must be callable, got int"):
        nn.ReLU().register_forward_hook(3)


# --- full backward hooks vs torch ---------------------------------------------------------------
def _linear_pair(rng):
    ours = nn.Linear(3, 2, dtype=cr.float64)
    return ours, torch_linear_like(ours), rng.standard_normal((4, 3)), rng.standard_normal((4, 2))


def test_full_backward_hook_on_linear_matches_torch(rng):
    ours, theirs, x, v = _linear_pair(rng)
    log_o, log_t = [], []
    ours.register_full_backward_hook(_recorder(log_o))
    theirs.register_full_backward_hook(_recorder(log_t))
    ours(cr.tensor(x, requires_grad=True)).backward(grad=v)
    theirs(to_torch(x, requires_grad=True)).backward(to_torch(v))
    assert len(log_o) == 1, f"the hook fired {len(log_o)} times for one backward"
    _assert_same_grads("grad_input", log_o[0][0], log_t[0][0])
    _assert_same_grads("grad_output", log_o[0][1], log_t[0][1])
    # dX = dY·Wᵀ, and grad_output is the cotangent itself
    np.testing.assert_allclose(log_o[0][0][0].data, v @ ours.weight.data.T, **TOL)
    np.testing.assert_allclose(log_o[0][1][0].data, v, **TOL)


def test_full_backward_hook_sees_only_the_path_through_the_module(rng):
    ours, theirs, x, v = _linear_pair(rng)
    ours2 = nn.Linear(3, 3, dtype=cr.float64)
    theirs2 = torch_linear_like(ours2)
    log_o, log_t = [], []
    ours.register_full_backward_hook(_recorder(log_o))
    theirs.register_full_backward_hook(_recorder(log_t))
    xo, xt = cr.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    ho, ht = ours2(xo), theirs2(xt)
    yo = cr.concatenate([ours(ho), ho], axis=1)  # h feeds the hooked layer and skips it
    yt = torch.cat([theirs(ht), ht], dim=1)
    w = rng.standard_normal(yo.shape)
    yo.backward(grad=w)
    yt.backward(to_torch(w))
    _assert_same_grads("grad_input", log_o[0][0], log_t[0][0])
    _assert_same_grads("grad_output", log_o[0][1], log_t[0][1])
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), **TOL, err_msg="x.grad")


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_full_backward_hook_with_input_not_requiring_grad_gets_none(rng):
    ours, theirs, x, v = _linear_pair(rng)
    log_o, log_t = [], []
    ours.register_full_backward_hook(_recorder(log_o))
    theirs.register_full_backward_hook(_recorder(log_t))
    ours(cr.tensor(x)).backward(grad=v)
    theirs(to_torch(x)).backward(to_torch(v))
    assert len(log_o) == 1 and log_o[0][0] == (None,)
    _assert_same_grads("grad_output", log_o[0][1], log_t[0][1])


def test_full_backward_hook_can_replace_grad_input_like_torch(rng):
    ours, theirs, x, v = _linear_pair(rng)
    ours.register_full_backward_hook(lambda m, gi, go: (gi[0] * 2,))
    theirs.register_full_backward_hook(lambda m, gi, go: (gi[0] * 2,))
    xo, xt = cr.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    ours(xo).backward(grad=v)
    theirs(xt).backward(to_torch(v))
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), **TOL, err_msg="doubled x.grad")
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy().T, **TOL)


class _Mix(nn.Module):
    """Two tensor inputs of different shapes and a plain number."""

    def forward(self, a, b, scale):
        return a * b * scale + a, (a * a).sum(axis=1)


class _TorchMix(torch.nn.Module):
    def forward(self, a, b, scale):
        return a * b * scale + a, (a * a).sum(dim=1)


@pytest.mark.parametrize("b_grad", [True, False], ids=["b-grad", "b-const"])
def test_full_backward_hook_with_several_inputs_and_outputs_matches_torch(rng, b_grad):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    v1, v2 = rng.standard_normal((3, 4)), rng.standard_normal(3)
    ours, theirs = _Mix(), _TorchMix()
    log_o, log_t = [], []
    ours.register_full_backward_hook(_recorder(log_o))
    theirs.register_full_backward_hook(_recorder(log_t))
    ao, bo = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=b_grad)
    at, bt = to_torch(a, requires_grad=True), to_torch(b, requires_grad=b_grad)
    o1, o2 = ours(ao, bo, 0.5)
    t1, t2 = theirs(at, bt, 0.5)
    ((o1 * v1).sum() + (o2 * v2).sum()).backward()
    ((t1 * to_torch(v1)).sum() + (t2 * to_torch(v2)).sum()).backward()
    _assert_same_grads("grad_input", log_o[0][0], log_t[0][0])
    _assert_same_grads("grad_output", log_o[0][1], log_t[0][1])
    np.testing.assert_allclose(ao.grad.data, at.grad.numpy(), **TOL, err_msg="a.grad")


def test_unused_output_gets_none_in_grad_output_like_torch():
    ours, theirs = _Mix(), _TorchMix()
    log_o, log_t = [], []
    ours.register_full_backward_hook(_recorder(log_o))
    theirs.register_full_backward_hook(_recorder(log_t))
    o1, _ = ours(cr.tensor(np.ones((2, 3)), requires_grad=True), cr.tensor(np.ones(3)), 1.0)
    t1, _ = theirs(torch.ones(2, 3, dtype=torch.float64, requires_grad=True), torch.ones(3), 1.0)
    o1.sum().backward()
    t1.sum().backward()
    assert log_o[0][1][1] is None and log_t[0][1][1] is None
    _assert_same_grads("grad_output", log_o[0][1], log_t[0][1])


def test_full_backward_hook_on_a_sequential_and_removal(rng):
    ours = nn.Sequential(
        nn.Linear(3, 4, dtype=cr.float64), nn.Tanh(), nn.Linear(4, 2, dtype=cr.float64)
    )
    theirs = torch.nn.Sequential(
        torch_linear_like(ours[0]), torch.nn.Tanh(), torch_linear_like(ours[2])
    )
    log_o, log_t = [], []
    handle = ours.register_full_backward_hook(_recorder(log_o))
    theirs.register_full_backward_hook(_recorder(log_t))
    x, v = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    ours(cr.tensor(x, requires_grad=True)).backward(grad=v)
    theirs(to_torch(x, requires_grad=True)).backward(to_torch(v))
    _assert_same_grads("grad_input", log_o[0][0], log_t[0][0])
    _assert_same_grads("grad_output", log_o[0][1], log_t[0][1])
    handle.remove()
    ours(cr.tensor(x, requires_grad=True)).backward(grad=v)
    assert len(log_o) == 1, "a removed backward hook must not fire"


def test_full_backward_hook_works_with_create_graph(rng):
    layer = nn.Linear(2, 1, dtype=cr.float64)
    log = []
    layer.register_full_backward_hook(_recorder(log))
    x = cr.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    (layer(x) ** 2).sum().backward(create_graph=True)
    assert len(log) == 1 and log[0][0][0].shape == (3, 2)
    np.testing.assert_allclose(
        log[0][0][0].data, 2 * layer(x).data @ layer.weight.data.T, **TOL, err_msg="grad_input"
    )


def test_full_backward_hook_errors():
    layer = nn.Linear(2, 2)
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        layer(cr.tensor(np.ones((1, 2), dtype=np.float32), requires_grad=True)).sum().backward()
    with pytest.raises(RuntimeError, match="no input requires gradient should always return None"):
        layer(cr.tensor(np.ones((1, 2), dtype=np.float32))).sum().backward()

    class Dict(nn.Module):
        def forward(self, x):
            return {"y": x}

    d = Dict()
    d.register_full_backward_hook(lambda m, gi, go: None)
    with pytest.raises(TypeError, match="Dict.forward must return a Tensor or a tuple"):
        d(cr.tensor([1.0], requires_grad=True))


def test_backward_hooks_are_not_wired_under_no_grad():
    layer = nn.Linear(2, 2)
    layer.register_full_backward_hook(lambda m, gi, go: None)
    with cr.no_grad():
        out = layer(cr.tensor(np.ones((1, 2), dtype=np.float32), requires_grad=True))
    assert not out.requires_grad


def test_full_backward_hook_rejects_a_mis_shaped_replacement():
    layer = nn.Linear(2, 2)
    layer.register_full_backward_hook(lambda m, gi, go: (cr.zeros(3),))
    with pytest.raises(RuntimeError, match=r"returned grad_input\[0\] of shape \(3,\), expected"):
        layer(cr.tensor(np.ones((1, 2), dtype=np.float32), requires_grad=True)).sum().backward()
