"""Test accuracy on three bundled data sets within ±1% of scikit-learn's MLPClassifier under the
same settings, with chainrule computing in float32 while scikit-learn uses float64 (so the
runs are not the same numbers, only the same method)."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_iris
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.preprocessing import StandardScaler

from chainrule.estimators import MLPClassifier

from ._helpers import quiet_fit

DATASETS = {
    "digits": (load_digits, dict(hidden_layer_sizes=(64,), max_iter=40)),
    "breast_cancer": (load_breast_cancer, dict(hidden_layer_sizes=(16,), max_iter=60)),
    "iris": (load_iris, dict(hidden_layer_sizes=(16,), max_iter=300, learning_rate_init=0.01)),
}


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_accuracy_matches_sklearn(name, solver):
    load, settings = DATASETS[name]
    X, y = load(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    params = dict(settings, solver=solver, random_state=0)
    if solver == "sgd":
        params.setdefault("learning_rate_init", 0.01)
    ours = quiet_fit(MLPClassifier(dtype="float32", **params), X_train, y_train)
    sk = quiet_fit(SkMLPClassifier(**params), X_train, y_train)
    assert ours.coefs_[0].dtype.name == "float32", "computed in float32"
    ours_acc, sk_acc = ours.score(X_test, y_test), sk.score(X_test, y_test)
    assert ours_acc > 0.85, f"{name}/{solver}: chainrule's accuracy {ours_acc:.3f} is poor"
    assert abs(ours_acc - sk_acc) <= 0.01, (
        f"{name}/{solver}: accuracy {ours_acc:.4f} vs scikit-learn's {sk_acc:.4f}"
    )
