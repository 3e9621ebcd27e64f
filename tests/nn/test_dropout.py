"""Dropout: inverted scaling in training, identity in eval, seeded masks, bad p."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

from ._parity import DTYPE_IDS, DTYPES


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_training_scales_kept_values_and_their_gradients(rng, dtype, p):
    x = cr.tensor(rng.uniform(0.5, 1.5, (200, 50)).astype(dtype), requires_grad=True)
    drop = nn.Dropout(p, generator=cr.Generator(3))
    y = drop(x)
    assert y.dtype == dtype, f"Dropout({p}) on {np.dtype(dtype)} gave {y.dtype}"
    kept = y.data != 0
    np.testing.assert_allclose(
        y.data[kept], x.data[kept] / (1 - p), rtol=1e-6, err_msg=f"Dropout({p}): kept x/(1-p)"
    )
    frac = 1 - kept.mean()
    assert abs(frac - p) < 0.02, f"Dropout({p}) zeroed {frac:.3f} of 10000 entries"
    g = rng.standard_normal(x.shape).astype(dtype)
    y.backward(grad=g)
    np.testing.assert_allclose(
        x.grad.data, np.where(kept, g / (1 - p), 0), rtol=1e-6, err_msg=f"Dropout({p}) grad"
    )


def test_dropout_eval_and_p0_are_the_identity():
    x = cr.tensor(np.ones((3, 4)), requires_grad=True)
    drop = nn.Dropout(0.5)
    assert drop.eval()(x) is x, "Dropout in eval mode must return its input"
    assert nn.Dropout(0.0)(x) is x, "Dropout(0) must return its input"
    assert F.dropout(x, 0.5, training=False) is x


def test_dropout_p1_zeroes_everything_with_zero_gradient():
    x = cr.tensor(np.ones((3, 4)), requires_grad=True)
    y = nn.Dropout(1.0)(x)
    assert np.all(y.data == 0) and not np.isnan(y.data).any(), "Dropout(1) must give zeros"
    y.backward(grad=np.ones((3, 4)))
    assert np.all(x.grad.data == 0), "Dropout(1): zero gradient"


def test_dropout_mask_is_reproducible_under_manual_seed_and_generator():
    x = cr.ones(10, 10)
    cr.manual_seed(5)
    a = nn.Dropout(0.5)(x)
    cr.manual_seed(5)
    b = nn.Dropout(0.5)(x)
    np.testing.assert_array_equal(a.data, b.data, err_msg="same cr.manual_seed, same mask")
    c = nn.Dropout(0.5)(x)
    assert not np.array_equal(b.data, c.data), "consecutive calls must draw new masks"
    g1 = nn.Dropout(0.5, generator=cr.Generator(9))(x)
    g2 = nn.Dropout(0.5, generator=cr.Generator(9))(x)
    np.testing.assert_array_equal(g1.data, g2.data, err_msg="same generator seed, same mask")


def test_dropout_train_eval_switch():
    drop = nn.Dropout(0.5)
    x = cr.ones(50, 50)
    assert (drop.eval()(x).data == 1).all(), "eval: identity"
    assert (drop.train()(x).data == 0).any(), "train: some zeros"
    assert repr(drop) == "Dropout(p=0.5)"


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5", None, True])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match=r"Dropout: dropout probability p has to be between 0"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match=r"dropout: dropout probability p has to be between 0"):
        F.dropout(cr.ones(2), p)


def test_dropout_rejects_bad_generator():
    with pytest.raises(TypeError, match="Dropout: generator must be a cr.Generator or None"):
        nn.Dropout(0.5, generator=np.random.default_rng(0))
