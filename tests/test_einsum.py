"""einsum beyond the sample cases: NumPy's sublist form and keywords, and random calls (repeated
indices, upper case, broadcast ellipses, implicit and explicit outputs) against NumPy and torch."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def test_einsum_sublist_form():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    ta = cr.tensor(a, requires_grad=True)
    out = np.einsum(ta, [0, 1], b, [1, 2], [0, 2])
    np.testing.assert_array_equal(out.data, a @ b)
    np.testing.assert_array_equal(np.einsum(ta, [Ellipsis, 1], b, [1, 2]).data, a @ b)
    out.sum().backward()
    np.testing.assert_array_equal(ta.grad.data, np.ones((2, 4)) @ b.T)


def test_einsum_accepts_numpys_optimize_keyword():
    a = np.arange(6.0).reshape(2, 3)
    out = np.einsum("ij,kj->ik", cr.tensor(a), a, optimize=True)
    np.testing.assert_array_equal(out.data, a @ a.T)


def _random_einsum(rng):
    """A random einsum call: 1–3 operands over up to 4 labels (upper and lower case), with
    repeats, broadcasting ellipses, implicit or explicit output."""
    labels = rng.choice(list("abCD"), size=4, replace=False)
    sizes = dict(zip(labels, rng.integers(1, 4, size=4)))
    subs, shapes = [], []
    ell = rng.random() < 0.3
    for _ in range(rng.integers(1, 4)):
        term = "".join(rng.choice(labels, size=rng.integers(1, 4)))
        shape = [sizes[c] for c in term]
        if ell:
            term, shape = "..." + term, [2, 1][: rng.integers(0, 3)] + shape
        subs.append(term)
        shapes.append(tuple(shape))
    spec = ",".join(subs)
    if rng.random() < 0.5:
        used = sorted(set(spec) - set(".,"))
        out = "".join(rng.permutation([c for c in used if rng.random() < 0.5]))
        spec += "->" + ("..." if ell else "") + out
    return spec, shapes


@pytest.mark.parametrize("seed", range(40))
def test_random_einsum_matches_numpy_and_torch(seed):
    rng = np.random.default_rng(seed)
    spec, shapes = _random_einsum(rng)
    xs = [rng.standard_normal(s) for s in shapes]
    expected = np.einsum(spec, *xs)
    ts = [cr.tensor(x, requires_grad=True) for x in xs]
    out = cr.einsum(spec, *ts)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12, err_msg=spec)
    v = rng.standard_normal(out.shape)
    out.backward(grad=v)
    tts = [torch.tensor(x, requires_grad=True) for x in xs]
    (torch.einsum(spec, *tts) * torch.as_tensor(v)).sum().backward()
    for i, (t, tt) in enumerate(zip(ts, tts)):
        np.testing.assert_allclose(
            t.grad.data, tt.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"{spec}: operand {i}"
        )
