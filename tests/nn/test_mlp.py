"""nn.MLP and the activation vocabulary shared by the command line and the estimators."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.estimators import MLPRegressor


def _kinds(model: nn.Module) -> list[str]:
    return [type(m).__name__ for m in model]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("relu", "ReLU"),
        ("tanh", "Tanh"),
        ("sigmoid", "Sigmoid"),
        ("logistic", "Sigmoid"),
        ("gelu", "GELU"),
        ("leaky_relu", "LeakyReLU"),
        ("leaky-relu", "LeakyReLU"),
        ("elu", "ELU"),
    ],
)
def test_every_name_and_alias_builds_its_layer(name, kind):
    model = nn.MLP(3, [4, 5, 2], name)
    assert isinstance(model, nn.Sequential)
    assert _kinds(model) == ["Linear", kind, "Linear", kind, "Linear"], name
    assert model.activation == nn.activation_name(name)
    assert [m.out_features for m in model.linears()] == [4, 5, 2]


def test_identity_has_no_layer_and_dropout_follows_each_hidden_activation():
    assert _kinds(nn.MLP(3, [4, 2], "identity")) == ["Linear", "Linear"]
    model = nn.MLP(3, [4, 4, 2], "relu", dropout=0.25)
    assert _kinds(model) == ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    names = [name for name, _ in nn.MLP(3, [4, 2], "tanh").named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"], "dropout 0 adds no layer"


def test_forward_equals_torch_with_the_same_weights(rng):
    model = nn.MLP(3, [6, 2], "tanh", dtype=np.float64)
    ref = torch.nn.Sequential(
        torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2)
    ).double()
    with torch.no_grad():
        for ours, theirs in zip(model.linears(), (ref[0], ref[2])):
            theirs.weight.copy_(torch.from_numpy(ours.weight.data.T.copy()))
            theirs.bias.copy_(torch.from_numpy(ours.bias.data))
    x = rng.standard_normal((5, 3))
    expected = ref(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(cr.tensor(x)).data, expected, rtol=1e-12, atol=1e-14)


def test_init_runs_on_each_layer_as_it_is_built():
    seen: list[tuple[int, int]] = []
    nn.MLP(2, [3, 4], "relu", init=lambda layer: seen.append(layer.weight.shape))
    assert seen == [(2, 3), (3, 4)]


def test_the_generator_makes_the_weights_reproducible():
    a = nn.MLP(3, [4, 2], generator=cr.Generator(7))
    b = nn.MLP(3, [4, 2], generator=cr.Generator(7))
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="activation must be one of 'identity', 'relu'.*'softmax'"):
        nn.MLP(3, [2], "softmax")
    with pytest.raises(TypeError, match="activation must be a name"):
        nn.activation_name(nn.ReLU)
    with pytest.raises(ValueError, match="hidden_features must hold at least"):
        nn.MLP(3, [])
    with pytest.raises(ValueError, match=r"dropout must be a probability in \[0, 1\), got 1.0"):
        nn.MLP(3, [2], dropout=1.0)


def test_the_cli_and_the_estimators_build_with_the_same_vocabulary(rng):
    from chainrule.app._model import ACTIVATIONS, build_mlp

    for name in ACTIVATIONS:  # the command line's spellings
        assert nn.activation_name(name) in nn.ACTIVATIONS, name
        assert isinstance(build_mlp([3, 4, 2], name, seed=0), nn.MLP)
    X, y = rng.standard_normal((20, 3)), rng.standard_normal(20)
    fits = {}
    for name in ("logistic", "sigmoid", "leaky-relu", "leaky_relu"):
        reg = MLPRegressor(hidden_layer_sizes=(4,), activation=name, max_iter=2, random_state=0)
        with pytest.warns(Warning):  # ConvergenceWarning: two epochs on purpose
            fits[name] = reg.fit(X, y).coefs_[0].copy()
        assert _kinds(reg.model_)[1] in ("Sigmoid", "LeakyReLU")
    np.testing.assert_array_equal(fits["logistic"], fits["sigmoid"], "the same network")
    np.testing.assert_array_equal(fits["leaky-relu"], fits["leaky_relu"], "the same network")
