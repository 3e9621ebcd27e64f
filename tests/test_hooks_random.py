"""Tensor gradient hooks (``register_hook``) and the random generators."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import chainrule as cr
from chainrule import _autodiff


def test_hook_sees_the_gradient_and_can_replace_it():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    seen = []
    y.register_hook(lambda g: seen.append(g.data.copy()) or g * 2.0)
    (y * y).sum().backward()
    np.testing.assert_allclose(seen[0], [6.0, 12.0], err_msg="hook gets dL/dy = 2y")
    np.testing.assert_allclose(x.grad.data, [36.0, 72.0], err_msg="doubled dL/dy, times 3")


def test_leaf_hook_runs_before_grad_is_stored_and_handle_removes_it():
    x = cr.tensor([1.0, -1.0], requires_grad=True)
    handle = x.register_hook(lambda g: g * 0.0)
    (x * 5.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0], err_msg="leaf hook replaced the grad")
    handle.remove()
    x.grad = None
    (x * 5.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [5.0, 5.0], err_msg="removed hook no longer runs")


def test_handle_works_as_context_manager_and_hooks_run_in_order():
    x = cr.tensor(2.0, requires_grad=True)
    order = []
    with x.register_hook(lambda g: order.append("first") or g + 1.0):
        x.register_hook(lambda g: order.append(("second", g.item())))
        (x * 3.0).backward()
    assert order == ["first", ("second", 4.0)], "hooks chain in registration order"
    assert x.grad.item() == 4.0
    order.clear()
    x.grad = None
    (x * 3.0).backward()
    assert order == [("second", 3.0)], "the with-block removed the first hook"


def test_hook_on_tensor_without_grad_and_wrong_shape_are_errors():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor([1.0]).register_hook(lambda g: g)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    y.register_hook(lambda g: cr.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"shape \(3,\) for a gradient of shape \(2,\)"):
        y.sum().backward()


def test_hooks_are_dropped_with_their_tensor():
    x = cr.tensor([1.0], requires_grad=True)
    y = x * 2.0
    y.register_hook(lambda g: g)
    key = id(y)
    assert key in _autodiff._HOOKS
    del y
    gc.collect()
    assert key not in _autodiff._HOOKS, "a dead tensor's hooks must not linger (ids are reused)"


def test_hooks_run_with_create_graph():
    x = cr.tensor(3.0, dtype=cr.float64, requires_grad=True)
    y = x**2
    y.register_hook(lambda g: g * 10.0)
    (y * 1.0).backward(create_graph=True)
    assert x.grad.item() == pytest.approx(60.0), "hook scales dL/dy = 1 to 10; 10 * 2x"


def test_manual_seed_makes_the_default_generator_reproducible():
    a = cr.manual_seed(7).numpy.random(3)
    b = cr.manual_seed(7).numpy.random(3)
    np.testing.assert_array_equal(a, b)
    assert cr.default_generator.initial_seed() == 7


def test_generators_are_independent_and_state_round_trips():
    g1, g2 = cr.Generator(1), cr.Generator(1)
    first = g1.numpy.random(4)
    np.testing.assert_array_equal(first, g2.numpy.random(4))
    state = g1.get_state()
    after = g1.numpy.random(4)
    g1.set_state(state)
    np.testing.assert_array_equal(g1.numpy.random(4), after, err_msg="set_state rewinds")


@pytest.mark.parametrize("seed", [-1, 1.5, "3"])
def test_bad_seed_is_rejected(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        cr.manual_seed(seed)
