"""An nn model that outputs logits, exported with an output activation and class labels (as
``chainrule export`` will call it for a run): labels and probabilities as plain tensors."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.estimators import MLPRegressor
from chainrule.export import to_onnx

from ._helpers import assert_close, run


def _model(n_out: int, dt=np.float32) -> nn.Sequential:
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 6, dtype=dt), nn.ELU(), nn.Linear(6, n_out, dtype=dt))


def _logits(model, x):
    with cr.no_grad():
        return model(cr.tensor(x)).data


@pytest.fixture
def raw(rng):
    """Unscaled rows and a run's scaling: an object with ``mean`` and ``scale`` arrays."""
    x = rng.standard_normal((30, 3)) * [2.0, 50.0, 0.5] + [1.0, 100.0, -3.0]
    scaling = SimpleNamespace(mean=x.mean(axis=0), scale=x.std(axis=0))
    return x.astype(np.float32), scaling


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["float32", "float64"])
def test_softmax_classifier_with_string_classes(raw, dt):
    x, scaling = raw
    x = x.astype(dt)
    model = _model(3, dt)
    classes = ["cat", "dog", "eel"]
    graph = to_onnx(
        model,
        input_shape=(None, 3),
        preprocessing=scaling,
        output_activation="softmax",
        classes=classes,
    )
    out = run(graph, input=x)
    proba = cr.softmax(
        cr.tensor(_logits(model, ((x - scaling.mean) / scaling.scale).astype(dt))), axis=1
    ).data
    assert len(set(out["label"])) > 1, "several labels, so the mapping is tested"
    assert list(out["label"]) == [classes[k] for k in proba.argmax(axis=1)]
    assert_close(out["probabilities"], proba, f"softmax head ({np.dtype(dt)})")


def test_one_logit_binary_classifier(rng):
    x = rng.standard_normal((40, 3)).astype(np.float32)
    model = _model(1)
    graph = to_onnx(model, x, output_activation="logistic", classes=[-1, 1])
    out = run(graph, input=x)
    p = cr.sigmoid(cr.tensor(_logits(model, x))).data[:, 0]
    assert set(out["label"]) == {-1, 1}
    np.testing.assert_array_equal(out["label"], np.where(p > 0.5, 1, -1))
    assert_close(out["probabilities"], np.stack([1 - p, p], axis=1), "binary head")


def test_multilabel_classifier(rng):
    x = rng.standard_normal((40, 3)).astype(np.float32)
    model = _model(2)
    out = run(to_onnx(model, x, output_activation="logistic", classes=["a", "b"]), input=x)
    p = cr.sigmoid(cr.tensor(_logits(model, x))).data
    np.testing.assert_array_equal(out["label"], (p > 0.5).astype(np.int64))
    assert_close(out["probabilities"], p, "multilabel head")


@pytest.mark.parametrize(
    ("activation", "f"),
    [("softmax", lambda z: cr.softmax(cr.tensor(z), axis=-1).data), ("exp", np.exp)],
)
def test_output_activation_without_classes(rng, activation, f):
    x = rng.standard_normal((10, 3)).astype(np.float32)
    model = _model(4)
    out = run(to_onnx(model, x, output_activation=activation), input=x)["output"]
    assert_close(out, f(_logits(model, x)).astype(np.float32), activation)


def test_regression_run_with_target_scaling(raw):
    x, scaling = raw
    model = _model(1)
    graph = to_onnx(model, x, preprocessing=scaling, target_scaling={"mean": 20.0, "scale": 4.0})
    expected = _logits(model, ((x - scaling.mean) / scaling.scale).astype(np.float32)) * 4 + 20
    assert_close(run(graph, input=x)["output"], expected.astype(np.float32), "regression run")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"output_activation": "relu"}, "output_activation must be one of"),
        ({"classes": ["a", "b", "c"]}, "classes need output_activation 'softmax' or 'logistic'"),
        (
            {"output_activation": "softmax", "classes": ["a", "b"]},
            "2 classes with a softmax output need the model's output to be \\(batch, 2\\), "
            "got \\(None, 3\\)",
        ),
        (
            {"output_activation": "logistic", "classes": ["a", "b"]},
            "\\(batch, 2\\) or \\(batch, 1\\), got \\(None, 3\\)",
        ),
        ({"output_activation": "softmax", "classes": ["a", "a", "b"]}, "distinct labels"),
        ({"output_activation": "softmax", "classes": [["a", "b", "c"]]}, "1-D"),
        (
            {"output_activation": "softmax", "classes": ["a", "b", "c"], "target_scaling": {}},
            "target_scaling applies to regression",
        ),
    ],
)
def test_bad_heads(kwargs, match):
    with pytest.raises(ValueError, match=match):
        to_onnx(_model(3), input_shape=(None, 3), **kwargs)


def test_an_estimator_keeps_its_own_head(rng):
    import warnings

    x = rng.standard_normal((20, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2).fit(x, x[:, 0])
    with pytest.raises(ValueError, match="output_activation and classes are for nn models"):
        to_onnx(reg, output_activation="exp")
