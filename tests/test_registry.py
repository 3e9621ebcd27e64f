"""An op is written once: the registry gives its public function (``chainrule.ops`` and
``chainrule``), its Tensor methods and the NumPy functions that run it; the generated imports
and Tensor stub are current; type checkers see Tensor's operators and methods."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import _stubgen, ops
from chainrule.ops import LINEAR, defop, unregister


def test_generated_imports_and_stub_are_current():
    stale = sorted(str(p.relative_to(_stubgen.ROOT.parent)) for p in _stubgen.outdated())
    command = _stubgen.COMMAND
    assert not stale, f"out of date (generated from the op registry): {stale}; run `{command}`"


def test_public_functions_are_the_registry_s():
    for name, entry in ops.PUBLIC.items():
        assert getattr(ops, name) is entry.fn, f"ops.{name} is not the registered function"
        assert name in ops.__all__, f"ops.__all__ lacks {name}"
        if entry.top_level:
            assert getattr(cr, name) is entry.fn, f"cr.{name} is not the registered function"
            assert name in cr.__all__, f"chainrule.__all__ lacks {name}"
        else:
            # in ops only: chainrule keeps it internal or has its own (cr.concatenate([...]))
            assert getattr(cr, name, None) is not entry.fn, f"cr.{name} is the ops function"
    # the other way round: every op function of the namespaces is registered
    tools = {"LINEAR", "MULTILINEAR", "REGISTRY", "PUBLIC", "NUMPY", "METHODS", "Op"}
    names = {n for n in ops.__all__ if not isinstance(getattr(ops, n), type(ops))} - tools
    names -= {"defop", "either", "export", "unbroadcast", "unregister"}
    assert names == set(ops.PUBLIC), sorted(names ^ set(ops.PUBLIC))
    assert set(ops.FUNCTIONS) <= set(cr.__all__)


def test_methods_are_the_registry_s():
    for name, fn in ops.METHODS.items():
        assert getattr(cr.Tensor, name) is fn, f"Tensor.{name} is not the registered function"
    x = cr.tensor([0.5, 2.0])
    np.testing.assert_allclose(x.log1p().data, np.log1p(x.data))
    np.testing.assert_allclose(x.dot(x).data, 4.25)


def test_numpy_ufuncs_run_the_registered_op():
    """Each registered NumPy ufunc, called on tensors, gives the op's result with a graph."""
    x = cr.tensor([0.3, 0.6], requires_grad=True)
    y = cr.tensor([0.4, 0.2], requires_grad=True)
    checked = 0
    for ufunc, fn in ops.NUMPY.items():
        if not isinstance(ufunc, np.ufunc) or ufunc is np.positive:
            continue
        args = (x, y)[: ufunc.nin]
        with np.errstate(invalid="ignore"):  # arccosh below 1: nan from both, compared
            out, expected = ufunc(*args), fn(*args)
        assert isinstance(out, cr.Tensor) and out.requires_grad, f"np.{ufunc.__name__}"
        np.testing.assert_allclose(
            out.data, expected.data, err_msg=f"np.{ufunc.__name__} and {fn.__name__}"
        )
        checked += 1
    assert checked >= 40, f"only {checked} NumPy ufuncs are registered"


@pytest.fixture
def cube():
    """An op of one's own, with its NumPy function and method, for one test."""
    fn = defop(
        "cube_",
        lambda x: x**3,
        vjp=lambda g, out, x: 3 * g * x * x,
        jvp=lambda t, out, x: 3 * t * x * x,
        numpy=np.cbrt,  # any ufunc nobody runs yet: it stands for the op's NumPy twin here
        method=True,
    )
    yield fn
    unregister("cube_")


def test_one_definition_gives_function_method_and_numpy_dispatch(cube):
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    for y in (cube(x), x.cube_(), np.cbrt(x)):
        np.testing.assert_allclose(y.data, [1.0, 8.0])
        assert y.grad_fn is cube.op
    np.cbrt(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 12.0])
    assert ops.PUBLIC["cube_"].fn is cube


def test_unregister_forgets_method_and_numpy_function(cube):
    unregister("cube_")
    assert not hasattr(cr.Tensor, "cube_") and "cube_" not in ops.PUBLIC
    with pytest.raises(TypeError, match="np.cbrt has no differentiable rule"):
        np.cbrt(cr.tensor([1.0]))
    cube_again = defop("cube_", lambda x: x**3, vjp=lambda g, out, x: g, jvp=LINEAR)
    assert cube_again(cr.tensor([2.0])).item() == 8.0


def test_a_method_or_numpy_function_taken_is_an_error():
    with pytest.raises(ValueError, match="Tensor already has an attribute 'sum'"):
        defop("my_sum", np.sum, vjp=lambda g, out, x: g, jvp=LINEAR, method="sum")
    with pytest.raises(ValueError, match="NumPy function <ufunc 'exp'> is missing or taken"):
        defop("my_exp", np.exp, vjp=lambda g, out, x: g, jvp=LINEAR, numpy=np.exp)
    assert "my_sum" not in ops.REGISTRY and "my_exp" not in ops.REGISTRY  # nothing half-done
    # a ufunc forward already run by an op leaves NumPy's dispatch to that op
    mine = defop("my_mul", np.multiply, vjp=(lambda g, o, a, b: g, None), jvp=LINEAR)
    try:
        assert ops.NUMPY[np.multiply] is ops.mul and mine.op.name == "my_mul"
    finally:
        unregister("my_mul")


_SNIPPET = """
    import chainrule as cr

    x = cr.tensor([1.0], requires_grad=True)
    y = cr.tensor([1.0]) * 2
    z = 2 * x + 1.0 - x / 3**x @ x.T
    x.exp().sum().backward()
    w = cr.log1p(x)
    if x.grad is not None:
        g = x.grad.data
    reveal_type(y)
    reveal_type(z)
    reveal_type(w)
    reveal_type(x.grad)
    reveal_type(x.sum(dim=0, keepdim=True).mean())
    x.exp(1)  # type: ignore[call-arg]
"""


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")
def test_mypy_sees_tensor_operators_and_methods(tmp_path, request):
    """mypy checks a user's snippet: no errors, the results are Tensors, and a wrong call is
    caught (its ``type: ignore`` would otherwise be reported as unused)."""
    snippet = tmp_path / "snippet.py"
    snippet.write_text(textwrap.dedent(_SNIPPET))
    pytest_cache = getattr(request.config, "cache", None)  # kept between runs when enabled
    cache = pytest_cache.mkdir("mypy") if pytest_cache else tmp_path / "cache"
    src = Path(cr.__file__).parent.parent  # the chainrule under test, not an installed one
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--warn-unused-ignores",
         f"--cache-dir={cache}", "--no-error-summary", str(snippet)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(src)},
    )  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    revealed = re.findall(r'Revealed type is "([^"]*)"', out)
    tensor = "chainrule._tensor.Tensor"
    assert revealed == [tensor, tensor, tensor, f"{tensor} | None", tensor], out
