"""The small helpers written once and called everywhere: softmax, class probabilities, the
integer check."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule._checks import check_int
from chainrule._numerics import class_probabilities, softmax


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_softmax_is_the_ops_forward_and_is_stable(rng):
    z = rng.standard_normal((4, 5)) * 3
    for axis in (0, 1, -1):
        p = softmax(z, axis=axis)
        np.testing.assert_array_equal(p, cr.ops.softmax(z, axis=axis).data, err_msg=f"{axis=}")
        np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-15)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(softmax(z, axis=1), e / e.sum(axis=1, keepdims=True), rtol=1e-15)
    big = np.array([[1000.0, 999.0, -1000.0]])  # exp(1000) overflows without the shift
    np.testing.assert_allclose(softmax(big), [[1 / (1 + np.e**-1), 1 / (1 + np.e), 0.0]])
    assert softmax(z.astype(np.float32)).dtype == np.float32


def test_class_probabilities_from_one_logit_or_many(rng):
    z = np.array([-800.0, -1.0, 0.0, 2.0, 800.0])
    p = class_probabilities(z)
    expected = 1 / (1 + np.exp(-np.clip(z, -700, 700)))
    np.testing.assert_allclose(p[:, 1], expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(p[:, 0], 1 - p[:, 1])
    np.testing.assert_array_equal(class_probabilities(z[:, None]), p), "(n, 1) as (n,)"
    logits = rng.standard_normal((6, 3)).astype(np.float32)
    q = class_probabilities(logits)
    assert q.dtype == np.float64 and q.shape == (6, 3)
    np.testing.assert_array_equal(q, softmax(logits.astype(np.float64), axis=1))


def test_check_int_accepts_integers_and_names_what_it_rejects():
    assert check_int("Owner", "n", 3, 1) == 3
    got = check_int("Owner", "n", np.int64(0), 0)
    assert got == 0 and type(got) is int
    for value, low, want in [
        (0, 1, "Owner: n must be a positive integer, got 0"),
        (True, 0, "Owner: n must be an integer >= 0, got True"),
        (2.0, 0, "Owner: n must be an integer >= 0, got 2.0"),
        ("3", 2, "Owner: n must be an integer >= 2, got '3'"),
        (-2, -1, "Owner: n must be an integer >= -1, got -2"),
    ]:
        with pytest.raises(ValueError, match=f"^{want}$"):
            check_int("Owner", "n", value, low)
