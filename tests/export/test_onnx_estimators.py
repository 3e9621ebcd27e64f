"""Estimators' to_onnx: labels and probabilities as plain tensors, equal to predict and
predict_proba in ONNX Runtime."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from chainrule.estimators import MLPClassifier, MLPRegressor
from chainrule.export import to_onnx

from ._helpers import assert_close, run

DTYPES = ["float32", "float64"]


def _fit(est, X, y):
    """A short fit on purpose (the weights only have to be non-trivial)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def _data(n_classes: int, dtype: str = "float64", n: int = 60):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5) * (n_classes > 2)
    return X.astype(dtype), y


def _outputs(graph: onnx.ModelProto) -> dict[str, tuple[int, list]]:
    """Each output's element type and shape (dim_param or dim_value)."""
    return {
        o.name: (
            o.type.tensor_type.elem_type,
            [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim],
        )
        for o in graph.graph.output
    }


def _no_zipmap(graph: onnx.ModelProto) -> None:
    assert all(n.op_type != "ZipMap" and n.domain == "" for n in graph.graph.node)
    assert all(o.type.WhichOneof("value") == "tensor_type" for o in graph.graph.output)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("activation", "n_classes", "dropout"),
    [("relu", 2, 0.0), ("tanh", 3, 0.0), ("logistic", 3, 0.2), ("gelu", 2, 0.0)],
)
def test_classifier_labels_and_probabilities(activation, n_classes, dropout, dtype):
    X, y = _data(n_classes, dtype)
    clf = MLPClassifier(
        (8, 6), activation, max_iter=30, learning_rate_init=0.05, dropout=dropout, random_state=0
    )
    _fit(clf, X, y)
    assert len(set(clf.predict(X))) > 1, "the labels' mapping is tested with several labels"
    graph = clf.to_onnx()
    _no_zipmap(graph)
    want = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    assert _outputs(graph) == {
        "label": (onnx.TensorProto.INT64, ["batch"]),
        "probabilities": (want, ["batch", n_classes]),
    }
    out = run(graph, input=X)
    what = f"{activation}, {n_classes} classes, {dtype}"
    np.testing.assert_array_equal(out["label"], clf.predict(X), err_msg=what)
    assert_close(out["probabilities"], clf.predict_proba(X), what)


def test_string_labels_and_a_batch_of_one():
    X, y = _data(3)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = _fit(MLPClassifier((6,), max_iter=5, random_state=0), X, names)
    graph = clf.to_onnx()
    assert _outputs(graph)["label"] == (onnx.TensorProto.STRING, ["batch"])
    for batch in (X, X[:1]):
        out = run(graph, input=batch)
        assert list(out["label"]) == list(clf.predict(batch))
        assert_close(out["probabilities"], clf.predict_proba(batch), "string labels")


def test_binary_labels_that_are_not_0_and_1():
    X, y = _data(2)
    clf = MLPClassifier((6,), max_iter=50, learning_rate_init=0.05, random_state=0)
    _fit(clf, X, np.where(y, 7, -3))
    out = run(clf.to_onnx(), input=X)
    assert set(out["label"]) == {7, -3}
    np.testing.assert_array_equal(out["label"], clf.predict(X))
    assert_close(out["probabilities"], clf.predict_proba(X), "binary 7/-3")


def test_multilabel_indicators():
    X, y = _data(2)
    Y = np.stack([y, 1 - y, (X[:, 3] > 0).astype(int)], axis=1)
    clf = _fit(MLPClassifier((6,), max_iter=5, random_state=0), X, Y)
    graph = clf.to_onnx()
    assert _outputs(graph)["label"] == (onnx.TensorProto.INT64, ["batch", 3])
    out = run(graph, input=X)
    np.testing.assert_array_equal(out["label"], clf.predict(X))
    assert_close(out["probabilities"], clf.predict_proba(X), "multilabel")


def test_a_classifier_that_saw_one_class():
    X, _ = _data(2)
    clf = _fit(MLPClassifier((4,), max_iter=2, random_state=0), X, np.full(len(X), "only"))
    out = run(clf.to_onnx(), input=X[:5])
    assert list(out["label"]) == list(clf.predict(X[:5]))
    assert_close(out["probabilities"], clf.predict_proba(X[:5]), "one class")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("loss", "n_outputs", "activation"),
    [("squared_error", 1, "relu"), ("huber", 2, "leaky_relu"), ("poisson", 1, "tanh")],
)
def test_regressor_predictions(loss, n_outputs, activation, dtype):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 4)).astype(dtype)
    y = np.abs(X[:, :n_outputs] * 2 + 1)
    reg = MLPRegressor(loss, (8,), activation, max_iter=5, random_state=0)
    _fit(reg, X, y.ravel() if n_outputs == 1 else y)
    graph = reg.to_onnx()
    want = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    shape = ["batch"] if n_outputs == 1 else ["batch", n_outputs]
    assert _outputs(graph) == {"predictions": (want, shape)}
    assert_close(run(graph, input=X)["predictions"], reg.predict(X), f"{loss}, {dtype}")


def test_regressor_with_target_scaling():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 3))
    reg = _fit(MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0), X, X[:, 0])
    graph = reg.to_onnx(target_scaling={"mean": 10.0, "scale": 3.0})
    assert_close(run(graph, input=X)["predictions"], reg.predict(X) * 3 + 10, "target scaling")


@pytest.mark.parametrize("est", [MLPClassifier, MLPRegressor])
def test_pipeline_scaling_is_part_of_the_graph(est, tmp_path):
    X, y = _data(3)
    X = X * [1, 100, 0.01, 5, 1] + [0, 50, 0, -3, 8]
    pipe = make_pipeline(StandardScaler(), StandardScaler(with_std=False), est(max_iter=5))
    _fit(pipe, X, y)
    path = tmp_path / "pipe.onnx"
    graph = to_onnx(pipe, path=path)
    assert onnx.load(path) == graph
    out = run(graph, input=X)
    if est is MLPClassifier:
        np.testing.assert_array_equal(out["label"], pipe.predict(X))
        assert_close(out["probabilities"], pipe.predict_proba(X), "pipeline classifier")
    else:
        assert_close(out["predictions"], pipe.predict(X), "pipeline regressor")


def test_preprocessing_argument_of_the_method():
    X, y = _data(2)
    scaler = StandardScaler().fit(X)
    clf = _fit(MLPClassifier((4,), max_iter=5, random_state=0), scaler.transform(X), y)
    out = run(clf.to_onnx(preprocessing=scaler), input=X)
    assert_close(out["probabilities"], clf.predict_proba(scaler.transform(X)), "preprocessing")


def test_float64_estimator_exported_in_float32():
    X, y = _data(3)
    clf = _fit(MLPClassifier((6,), max_iter=5, random_state=0), X, y)
    graph = clf.to_onnx(dtype="float32")
    out = run(graph, input=X.astype(np.float32))
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), atol=1e-5)
    assert out["probabilities"].dtype == np.float32


@pytest.mark.parametrize(
    ("make", "kwargs", "error", "match"),
    [
        (lambda: MLPClassifier(), {}, NotFittedError, "not fitted"),
        (
            lambda: make_pipeline(MinMaxScaler(), MLPClassifier()),
            {},
            NotImplementedError,
            "StandardScalers, got MinMaxScaler",
        ),
        (
            lambda: make_pipeline(StandardScaler(), StandardScaler()),
            {},
            TypeError,
            "must end in a chainrule MLPClassifier or MLPRegressor, got StandardScaler",
        ),
        (
            lambda: _fit(MLPClassifier(max_iter=1), *_data(2)),
            {"input_shape": (None, 4)},
            ValueError,
            "takes input of shape \\(batch, 5\\), got \\(None, 4\\)",
        ),
        (
            lambda: _fit(MLPClassifier(max_iter=1), *_data(2)),
            {"target_scaling": {"scale": 2.0}},
            ValueError,
            "target_scaling applies to regression, not to a classifier",
        ),
    ],
    ids=["unfitted", "other-scaler", "no-estimator", "width", "target-scaling"],
)
def test_bad_estimator_exports(make, kwargs, error, match):
    with pytest.raises(error, match=match):
        to_onnx(make(), **kwargs)
