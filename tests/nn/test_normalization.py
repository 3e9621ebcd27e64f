"""BatchNorm1d and LayerNorm against PyTorch: outputs, gradients, running statistics."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

from ._parity import DTYPE_IDS, DTYPES, TOL, check_parity, same, to_torch, torch_dtype

torch = pytest.importorskip("torch")


def _torch_bn(ours: nn.BatchNorm1d, dtype) -> torch.nn.BatchNorm1d:
    t = torch.nn.BatchNorm1d(
        ours.num_features,
        eps=ours.eps,
        momentum=ours.momentum,
        affine=ours.affine,
        track_running_stats=ours.track_running_stats,
        dtype=torch_dtype(dtype),
    )
    if ours.affine:
        with torch.no_grad():
            t.weight.copy_(to_torch(ours.weight.data))
            t.bias.copy_(to_torch(ours.bias.data))
    return t


def _random_affine(rng, layer):
    with cr.no_grad():
        layer.weight.data[...] = rng.uniform(0.5, 1.5, layer.weight.shape)
        layer.bias.data[...] = rng.standard_normal(layer.bias.shape)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)], ids=str)
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_batchnorm_training_matches_torch(rng, dtype, shape, affine):
    ours = nn.BatchNorm1d(3, affine=affine, dtype=dtype)
    if affine:
        _random_affine(rng, ours)
    theirs = _torch_bn(ours, dtype)
    params = (
        [("weight", ours.weight, theirs.weight, same), ("bias", ours.bias, theirs.bias, same)]
        if affine
        else []
    )
    x = rng.standard_normal(shape) * 2 + 1
    check_parity(f"BatchNorm1d(3) train on {shape}", ours, theirs, [x], dtype, params=params)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("momentum", [0.1, 0.5, None], ids=str)
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)], ids=str)
def test_batchnorm_running_stats_and_eval_match_torch_after_several_steps(
    rng, dtype, momentum, shape
):
    ours = nn.BatchNorm1d(3, momentum=momentum, dtype=dtype)
    _random_affine(rng, ours)
    theirs = _torch_bn(ours, dtype)
    tol = TOL[dtype]
    for step in range(4):
        x = rng.standard_normal(shape) * (step + 1) + step
        ours(cr.tensor(x.astype(dtype)))
        theirs(to_torch(x.astype(dtype)))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(
            getattr(ours, name).data,
            getattr(theirs, name).numpy(),
            **tol,
            err_msg=f"BatchNorm1d(momentum={momentum}) {name} after 4 steps vs torch",
        )
    assert ours.running_mean.dtype == dtype, f"running_mean dtype {ours.running_mean.dtype}"
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    check_parity(
        f"BatchNorm1d eval on {shape}",
        ours,
        theirs,
        [x],
        dtype,
        params=[
            ("weight", ours.weight, theirs.weight, same),
            ("bias", ours.bias, theirs.bias, same),
        ],
    )
    before = ours.running_mean.data.copy()
    ours(cr.tensor(x.astype(dtype)))
    np.testing.assert_array_equal(ours.running_mean.data, before, "eval must not update stats")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_batchnorm_without_running_stats_uses_batch_stats_in_eval(rng, dtype):
    ours = nn.BatchNorm1d(3, track_running_stats=False, dtype=dtype).eval()
    assert ours.running_mean is None and "running_mean" not in ours.state_dict()
    theirs = _torch_bn(ours, dtype).eval()
    check_parity("BatchNorm1d(no stats) eval", ours, theirs, [rng.standard_normal((5, 3))], dtype)


def test_batchnorm_errors_and_repr():
    bn = nn.BatchNorm1d(3)
    assert repr(bn) == repr(torch.nn.BatchNorm1d(3))
    with pytest.raises(ValueError, match=r"num_features=3 channels .* got input of shape \(4, 2\)"):
        bn(cr.zeros(4, 2))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(N, C\[, L\]\), got \(3,\)"):
        bn(cr.zeros(3))
    with pytest.raises(ValueError, match="more than 1 value per channel when training"):
        bn(cr.zeros(1, 3))
    with pytest.raises(ValueError, match="num_features must be >= 1, got 0"):
        nn.BatchNorm1d(0)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\] or None, got 2"):
        nn.BatchNorm1d(3, momentum=2)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        nn.BatchNorm1d(3, eps=-1.0)
    with pytest.raises(ValueError, match="running_mean and running_var are required"):
        F.batch_norm(cr.zeros(4, 3), None, None, training=False)


def test_batchnorm_reset_running_stats():
    bn = nn.BatchNorm1d(2)
    bn(cr.tensor([[1.0, 2.0], [3.0, 5.0]]))
    bn.reset_running_stats()
    assert np.all(bn.running_mean.data == 0) and np.all(bn.running_var.data == 1)
    assert int(bn.num_batches_tracked.data) == 0


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize(
    "normalized_shape, shape", [(5, (4, 5)), ((3, 5), (2, 3, 5)), (4, (4,))], ids=str
)
def test_layernorm_matches_torch(rng, dtype, normalized_shape, shape):
    ours = nn.LayerNorm(normalized_shape, dtype=dtype)
    with cr.no_grad():
        ours.weight.data[...] = rng.uniform(0.5, 1.5, ours.weight.shape)
        ours.bias.data[...] = rng.standard_normal(ours.bias.shape)
    theirs = torch.nn.LayerNorm(normalized_shape, dtype=torch_dtype(dtype))
    with torch.no_grad():
        theirs.weight.copy_(to_torch(ours.weight.data))
        theirs.bias.copy_(to_torch(ours.bias.data))
    check_parity(
        f"LayerNorm({normalized_shape}) on {shape}",
        ours,
        theirs,
        [rng.standard_normal(shape) * 3 + 1],
        dtype,
        params=[
            ("weight", ours.weight, theirs.weight, same),
            ("bias", ours.bias, theirs.bias, same),
        ],
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_layernorm_without_affine_matches_torch(rng, dtype):
    ours = nn.LayerNorm(4, elementwise_affine=False, dtype=dtype)
    assert list(ours.parameters()) == []
    theirs = torch.nn.LayerNorm(4, elementwise_affine=False, dtype=torch_dtype(dtype))
    check_parity("LayerNorm(4, affine=False)", ours, theirs, [rng.standard_normal((3, 4))], dtype)


def test_layernorm_errors_and_repr():
    assert repr(nn.LayerNorm(4)) == repr(torch.nn.LayerNorm(4))
    assert repr(nn.LayerNorm((2, 3), eps=1e-3)) == repr(torch.nn.LayerNorm((2, 3), eps=1e-3))
    with pytest.raises(ValueError, match=r"expected input with shape \[\*, 4\], got .*\(3, 5\)"):
        nn.LayerNorm(4)(cr.zeros(3, 5))
    with pytest.raises(ValueError, match="normalized_shape must be >= 1, got 0"):
        nn.LayerNorm(0)
    with pytest.raises(ValueError, match="normalized_shape must not be empty"):
        nn.LayerNorm(())
    assert nn.LayerNorm(3, bias=False).bias is None


def test_functional_norm_errors():
    rm, rv = cr.zeros(3), cr.ones(3)
    with pytest.raises(ValueError, match=r"batch_norm: expected 2D \(N, C\) or 3D .* got \(3,\)"):
        F.batch_norm(cr.zeros(3), rm, rv)
    with pytest.raises(ValueError, match="batch_norm: expected more than 1 value per channel"):
        F.batch_norm(cr.zeros(1, 3), rm, rv, training=True)
    with pytest.raises(ValueError, match=r"layer_norm: given normalized_shape=\[2, 3\]"):
        F.layer_norm(cr.zeros(3), (2, 3))
    with pytest.raises(ValueError, match="LayerNorm: eps must be >= 0, got -0.1"):
        nn.LayerNorm(3, eps=-0.1)


def test_batchnorm_rejects_a_single_sample_before_touching_its_state():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="BatchNorm1d: expected more than 1 value per channel"):
        bn(cr.zeros(1, 3, 1))
    assert int(bn.num_batches_tracked.data) == 0, "a rejected batch must not be counted"
