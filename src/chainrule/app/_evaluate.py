"""After the fit: test metrics, scikit-learn's MLP on the same split, the diagnostics, and the
computational graph of one forward pass and its loss."""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.data import ArrayDataset, DataLoader
from chainrule.train import diagnose, outcome_findings

from ._model import probabilities, scores, targets_for
from ._run import Run

SKLEARN_ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic"}
GRAPH_BATCH = 4


def _metrics(task: str, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Accuracy and macro F1 from labels, or R², RMSE and MAE from values (scikit-learn's);
    NaN for predictions that are not finite (a diverged model)."""
    from sklearn import metrics

    if not np.all(np.isfinite(np.asarray(y_pred, dtype=np.float64))):
        keys = ("accuracy", "f1_macro") if task == "classification" else ("r2", "rmse", "mae")
        return dict.fromkeys(keys, float("nan"))
    if task == "classification":
        return {
            "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
            "f1_macro": float(metrics.f1_score(y_true, y_pred, average="macro")),
        }
    return {
        "r2": float(metrics.r2_score(y_true, y_pred)),
        "rmse": float(np.sqrt(metrics.mean_squared_error(y_true, y_pred))),
        "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
    }


def predictions(run: Run, X_scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Predicted class indices and probabilities, or predicted values (original units)."""
    raw = scores(run.learner.model, X_scaled)
    if run.card.task == "classification":
        proba = probabilities(run.card.loss, raw)
        return proba.argmax(axis=1), proba
    return run.parts.preprocessing.untarget(raw[:, 0]), None


def evaluate(run: Run) -> dict[str, Any]:
    """The test loss and metrics of the trained model (``run.results["test"]``)."""
    X, y_scaled = run.parts.scaled("test")
    loader = DataLoader(ArrayDataset(X, targets_for(run.card.loss, y_scaled)), batch_size=1024)
    loss = run.learner.validate(loader)["valid_loss"]
    y_true = run.parts.test[1]
    y_pred, proba = predictions(run, X)
    result = {"loss": float(loss), **_metrics(run.card.task, y_true, y_pred)}
    run.results["test"] = result
    run.results["test_predictions"] = (y_true, y_pred, proba)
    return result


def compare_sklearn(run: Run) -> dict[str, Any]:
    """scikit-learn's MLPClassifier or MLPRegressor with the same layers, rate, batch size,
    epochs and seed, on the same scaled training rows; its test metrics and wall time."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    o, card = run.options, run.card
    notes = []
    activation = SKLEARN_ACTIVATIONS.get(o.activation)
    if activation is None:
        activation = "relu"
        notes.append(f"scikit-learn has no {o.activation}; it uses relu")
    solver = "sgd" if o.optimizer == "sgd" else "adam"
    if o.optimizer not in ("sgd", "adam"):
        notes.append(f"scikit-learn has no {o.optimizer}; it uses adam")
    if o.schedule != "constant":
        notes.append(f"scikit-learn keeps the rate constant (chainrule: {o.schedule} schedule)")
    if card.loss in ("l1", "huber"):
        notes.append(f"scikit-learn minimises the squared error (chainrule: {card.loss})")
    X, y = run.parts.scaled("train")
    kind = MLPClassifier if card.task == "classification" else MLPRegressor
    model = kind(
        hidden_layer_sizes=tuple(card.hidden),
        activation=activation,
        solver=solver,
        alpha=0.0,
        batch_size=min(o.batch_size, len(X)),
        learning_rate_init=run.lr,
        max_iter=o.epochs,
        shuffle=True,
        random_state=o.seed,
        tol=0.0,
        n_iter_no_change=o.epochs + 1,
        momentum=0.9,
        nesterovs_momentum=False,
    )
    start = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        # scikit-learn's MLP turns Ctrl-C into this warning and goes on: make it Ctrl-C again
        warnings.filterwarnings("error", "Training interrupted by user", UserWarning)
        try:
            model.fit(X, y)
        except UserWarning:
            raise KeyboardInterrupt from None
        except (ValueError, FloatingPointError) as err:  # diverged: non-finite weights
            notes.insert(0, f"scikit-learn's fit failed: {err}")
            model = None
    seconds = time.perf_counter() - start
    X_test, _ = run.parts.scaled("test")
    pred = np.full(len(X_test), np.nan) if model is None else model.predict(X_test)
    if card.task == "regression":
        pred = run.parts.preprocessing.untarget(pred)
    result = {
        "fit_seconds": seconds,
        **_metrics(card.task, run.parts.test[1], pred),
        "settings": {
            "hidden_layer_sizes": list(card.hidden),
            "activation": activation,
            "solver": solver,
            "learning_rate_init": run.lr,
            "batch_size": min(o.batch_size, len(X)),
            "max_iter": o.epochs,
            "alpha": 0.0,
        },
        "notes": notes,
    }
    run.results["sklearn"] = result
    return result


def baseline(run: Run) -> dict[str, Any]:
    """The best constant prediction, fitted on the training rows (scikit-learn's
    ``DummyClassifier`` with the most frequent class, ``DummyRegressor`` with the mean, or the
    median for the L1 loss): its test metrics, and its training loss under the run's loss
    (``run.results["baseline"]``)."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    X, y = run.parts.scaled("train")
    X_test, _ = run.parts.scaled("test")
    if run.card.task == "classification":
        model = DummyClassifier(strategy="prior").fit(X, y)
        pred = model.predict(X_test)
        p = np.full(len(run.card.classes), 1e-12)
        p[model.classes_] = np.maximum(model.class_prior_, 1e-12)
        # the logits of the class frequencies: log p (softmax) or log(p1 / p0) (one logit)
        logit = np.log(p) if run.card.loss == "cross-entropy" else np.log(p[1:] / p[0])
        raw = np.tile(logit, (len(y), 1))
        name = f"the most frequent class ({run.card.classes[int(np.argmax(p))]})"
    else:
        strategy = "median" if run.card.loss == "l1" else "mean"
        model = DummyRegressor(strategy=strategy).fit(X, y)
        pred = run.parts.preprocessing.untarget(model.predict(X_test))
        raw = np.full((len(y), 1), float(model.constant_[0, 0]))
        name = f"the {strategy} of the training targets"
    target = cr.tensor(targets_for(run.card.loss, y))
    with cr.no_grad():
        loss = float(np.mean(run.learner.loss_func(cr.tensor(raw.astype(np.float32)), target).data))
    result = {"name": name, "loss": loss, **_metrics(run.card.task, run.parts.test[1], pred)}
    run.results["baseline"] = result
    return result


def diagnostics(run: Run) -> list[Any]:
    """``chainrule.train.diagnose`` on the learner (with the baseline's training loss), then
    ``outcome_findings`` on the test metric against the baseline's and the classes against
    the training rows (``run.results["findings"]``)."""
    base = run.results["baseline"] if "baseline" in run.results else baseline(run)
    findings = diagnose(run.learner, baseline_loss=base["loss"])
    classes = len(run.card.classes) if run.card.task == "classification" else None
    findings += outcome_findings(
        "accuracy" if classes else "R²",
        run.results["test"][run.metric],
        base[run.metric],
        base["name"],
        n_rows=len(run.parts.train[1]),
        n_classes=classes,
    )
    run.results["findings"] = findings
    return findings


def graph_svg(run: Run) -> str:
    """SVG of the graph of one forward pass and the loss on the first training rows, with
    the gradients that the backward pass gives every parameter."""
    X, y = run.parts.scaled("train")
    model = run.learner.model
    xb = cr.tensor(X[:GRAPH_BATCH])
    yb = cr.tensor(targets_for(run.card.loss, y[:GRAPH_BATCH]))
    params = dict(model.named_parameters())
    saved = {k: p.grad for k, p in params.items()}
    try:
        loss = run.learner.loss_func(model(xb), yb)
        for p in params.values():
            p.grad = None
        cr.backward(loss, retain_graph=True)
        svg = cr.graph.draw(loss, names={"x": xb, "y": yb, **params}).to_svg()
    finally:
        for k, p in params.items():
            p.grad = saved[k]
    start = svg.find("<svg")
    run.results["graph_svg"] = svg[start:] if start >= 0 else svg
    return run.results["graph_svg"]
