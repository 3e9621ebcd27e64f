"""Weights for PyTorch: to_torch_state_dict loads into the equivalent torch model (equal
outputs), from_torch_state_dict brings torch weights back, safetensors in between."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.estimators import MLPClassifier
from chainrule.export import from_torch_state_dict, save_torch_safetensors, to_torch_state_dict

TOL = {np.float32: 1e-6, np.float64: 1e-12}


def _pair(dt):
    """The same architecture in chainrule and in PyTorch, with non-default buffers."""
    ours = nn.Sequential(
        nn.Linear(5, 8, dtype=dt),
        nn.ReLU(),
        nn.Sequential(nn.Linear(8, 6, dtype=dt), nn.Tanh(), nn.BatchNorm1d(6, dtype=dt)),
        nn.LayerNorm(6, dtype=dt),
        nn.Linear(6, 3, bias=False, dtype=dt),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Linear(5, 8),
        torch.nn.ReLU(),
        torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.Tanh(), torch.nn.BatchNorm1d(6)),
        torch.nn.LayerNorm(6),
        torch.nn.Linear(6, 3, bias=False),
    ).to({np.float32: torch.float32, np.float64: torch.float64}[dt])
    rng = np.random.default_rng(0)
    bn = ours[2][2]
    bn.running_mean.data[...] = rng.standard_normal(6)
    bn.running_var.data[...] = rng.uniform(0.5, 2.0, 6)
    bn.num_batches_tracked.data[...] = 7
    ours[3].weight.data[...] = rng.standard_normal(6)
    return ours, theirs


def _outputs(ours, theirs, x):
    ours.eval()
    theirs.eval()
    with cr.no_grad(), torch.no_grad():
        return ours(cr.tensor(x)).data, theirs(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["float32", "float64"])
def test_torch_loads_our_weights_and_computes_the_same(dt):
    ours, theirs = _pair(dt)
    state = to_torch_state_dict(ours)
    want = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in state.items()} == want, "PyTorch's names and shapes"
    assert list(state) == list(want), "PyTorch's order"
    assert tuple(state["0.weight"].shape) == (8, 5), "Linear weights are (out, in)"
    np.testing.assert_array_equal(state["0.weight"].numpy(), ours[0].weight.data.T)
    theirs.load_state_dict(state)  # strict
    assert int(theirs[2][2].num_batches_tracked) == 7
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(dt)
    a, b = _outputs(ours, theirs, x)
    np.testing.assert_allclose(b, a, rtol=TOL[dt], atol=TOL[dt])


def test_the_state_dict_is_a_copy():
    ours, _ = _pair(np.float32)
    state = to_torch_state_dict(ours)
    state["0.bias"][0] = 123.0
    state["0.weight"][0, 0] = 123.0
    assert ours[0].bias.data[0] != 123.0 and ours[0].weight.data[0, 0] != 123.0


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["float32", "float64"])
def test_reverse_import_from_torch(dt):
    ours, theirs = _pair(dt)
    torch.manual_seed(0)
    with torch.no_grad():
        theirs[2][2].running_mean.normal_()
        theirs[3].weight.normal_()
    # from a model that trained (grad-carrying parameters), straight from its state_dict
    result = from_torch_state_dict(
        ours, dict(theirs.named_parameters()) | dict(theirs.named_buffers())
    )
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(ours[0].weight.data, theirs[0].weight.detach().numpy().T)
    x = np.random.default_rng(2).standard_normal((4, 5)).astype(dt)
    a, b = _outputs(ours, theirs, x)
    np.testing.assert_allclose(a, b, rtol=TOL[dt], atol=TOL[dt])


def test_round_trip_through_safetensors(tmp_path):
    from safetensors.torch import load_file

    ours, theirs = _pair(np.float32)
    path = tmp_path / "weights.safetensors"
    save_torch_safetensors(ours, path)
    theirs.load_state_dict(load_file(path))
    x = np.random.default_rng(3).standard_normal((4, 5)).astype(np.float32)
    a, b = _outputs(ours, theirs, x)
    np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6)
    # and back into a fresh chainrule model, from the file's arrays
    fresh, _ = _pair(np.float32)
    from_torch_state_dict(fresh, load_file(path))
    np.testing.assert_allclose(_outputs(fresh, theirs, x)[0], a, rtol=0, atol=0)


def test_an_estimators_network():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 3, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier((7,), activation="tanh", max_iter=3, random_state=0).fit(X, y)
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3)
    ).double()
    theirs.load_state_dict(to_torch_state_dict(clf))
    with torch.no_grad():
        proba = torch.softmax(theirs(torch.from_numpy(X)), dim=1).numpy()
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda m: to_torch_state_dict("model"), TypeError, "must be a chainrule nn.Module"),
        (lambda m: from_torch_state_dict(m, [1, 2]), TypeError, "must be a mapping"),
        (
            lambda m: from_torch_state_dict(
                m, {**to_torch_state_dict(m), "0.weight": torch.zeros(5, 8)}
            ),
            ValueError,
            "0.weight must have PyTorch's Linear layout \\(out_features, in_features\\) = "
            "\\(8, 5\\), got shape \\(5, 8\\)",
        ),
        (
            lambda m: from_torch_state_dict(m, {"0.bias": torch.zeros(8)}),
            ValueError,
            "missing keys",
        ),
    ],
    ids=["not-a-model", "not-a-mapping", "our-layout", "strict"],
)
def test_bad_arguments(call, error, match):
    ours, _ = _pair(np.float32)
    before = ours.state_dict()
    with pytest.raises(error, match=match):
        call(ours)
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=f"{k} changed by a failed load")


def test_non_strict_import_reports_missing_keys():
    ours, theirs = _pair(np.float32)
    partial = {k: v for k, v in theirs.state_dict().items() if k.startswith("0.")}
    result = from_torch_state_dict(ours, partial, strict=False)
    assert "4.weight" in result.missing_keys and result.unexpected_keys == []
    np.testing.assert_array_equal(ours[0].bias.data, theirs[0].bias.detach().numpy())
