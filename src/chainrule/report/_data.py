"""The data sources of ``chainrule train`` (``--data``), the seeded train/validation/test split
and the feature scaling that the run, the report and ``chainrule predict`` share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._csv import numeric_columns, parse_target, read_csv
from ._files import RunError

BUNDLED = ("digits", "iris", "breast-cancer", "wine", "diabetes", "blobs", "moons")
"""Data sets named by ``--data`` alone; ``mnist:PATH`` and ``csv:PATH`` name files."""

VALID_FRACTION = TEST_FRACTION = 0.15
MIN_ROWS = 20


@dataclass
class Table:
    """A data set: ``X`` (n_samples, n_features) float32, ``y`` class indices (int64) or
    values (float64), the names of the features, the target and the classes, and a test set
    when the source comes with one (MNIST)."""

    name: str
    X: np.ndarray
    y: np.ndarray
    features: list[str]
    task: str  # "classification" or "regression"
    target: str = "target"
    classes: list[Any] = field(default_factory=list)
    test: tuple[np.ndarray, np.ndarray] | None = None


def data_name(spec: str) -> str:
    """The short name of a ``--data`` value, used in the output folder's name."""
    kind, _, path = spec.partition(":")
    if kind == "csv" and path:
        return Path(path).stem or "csv"
    return kind


def check_spec(spec: str, target: str | None) -> None:
    """Raises ``RunError`` for a ``--data`` value that names no source."""
    kind, colon, path = spec.partition(":")
    if kind in ("mnist", "csv") and colon:
        if not path:
            raise RunError(f"--data {spec}: give a path after '{kind}:', e.g. {kind}:data/")
    elif spec not in BUNDLED:
        raise RunError(
            f"unknown data set {spec!r}; expected one of {', '.join(BUNDLED)}, mnist:PATH or "
            f"csv:PATH"
        )
    if target is not None and kind != "csv":
        raise RunError(f"--target COL applies to csv:PATH data, not to --data {spec}")


def load_table(spec: str, target: str | None = None, seed: int = 0) -> Table:
    """The data set named by ``spec`` (see ``BUNDLED``, ``mnist:PATH``, ``csv:PATH``)."""
    from .. import data

    check_spec(spec, target)
    kind, _, path = spec.partition(":")
    if kind == "csv":
        return load_csv(path, target)
    if kind == "mnist":
        return _load_mnist(path)
    if spec in ("blobs", "moons"):
        if spec == "blobs":
            X, y = data.make_blobs(600, centers=3, random_state=seed)
        else:
            X, y = data.make_moons(600, noise=0.2, random_state=seed)
        return Table(spec, X, y, ["x1", "x2"], "classification", "class", sorted(set(y.tolist())))
    if spec == "digits":
        X, y = data.load_digits()
        pixels = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
        return Table(spec, X, y, pixels, "classification", "digit", list(range(10)))
    loader = {
        "iris": data.load_iris,
        "breast-cancer": data.load_breast_cancer,
        "wine": data.load_wine,
        "diabetes": data.load_diabetes,
    }[spec]
    X, y = loader()
    features, classes = _sklearn_names(spec)
    if spec == "diabetes":
        return Table(spec, X, y.astype(np.float64), features, "regression", "progression")
    return Table(spec, X, y, features, "classification", "class", classes)


def _sklearn_names(spec: str) -> tuple[list[str], list[Any]]:
    """Feature and class names from scikit-learn's bunch (chainrule.data returns arrays)."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, f"load_{spec.replace('-', '_')}")()
    classes = [str(c) for c in getattr(bunch, "target_names", [])]
    return [str(f) for f in bunch.feature_names], classes


def _load_mnist(path: str) -> Table:
    from ..data import load_mnist

    try:
        (X, y), test = load_mnist(path)
    except (OSError, ValueError) as err:
        raise RunError(str(err).removeprefix("load_mnist: ")) from err
    pixels = [f"pixel_{i}" for i in range(X.shape[1])]
    return Table("mnist", X, y, pixels, "classification", "digit", list(range(10)), test)


def load_csv(path: str, target: str | None) -> Table:
    """A CSV file with a header: the ``target`` column (default: one named ``target``) and
    numeric feature columns (all the others)."""
    header, rows = read_csv(path)
    if target is None:
        if "target" not in header:
            raise RunError(
                f"data file {path} has no column named 'target'; choose the target with "
                f"--target COL (columns: {', '.join(header[:12])})"
            )
        target = "target"
    if target not in header:
        raise RunError(
            f"data file {path} has no target column {target!r} (columns: "
            f"{', '.join(header[:12])}{' ...' if len(header) > 12 else ''})"
        )
    features = [h for h in header if h != target]
    if not features:
        raise RunError(f"data file {path} has no feature columns besides the target {target!r}")
    if len(rows) < MIN_ROWS:
        raise RunError(f"data file {path} has {len(rows)} data rows; training needs {MIN_ROWS}")
    X = numeric_columns(path, header, rows, features).astype(np.float32)
    col = header.index(target)
    task, y, classes = parse_target(path, target, [row[col] for row in rows])
    if task == "classification" and len(classes) < 2:
        raise RunError(f"data file {path}: the target {target!r} has a single class {classes}")
    return Table(Path(path).stem, X, y, features, task, target, classes)


@dataclass
class Scaling:
    """Standardisation fitted on the training rows: x' = (x − mean) / scale (scale 1 for a
    constant feature), and the same for a regression target."""

    mean: np.ndarray
    scale: np.ndarray
    y_mean: float = 0.0
    y_scale: float = 1.0

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, task: str) -> Scaling:
        X = np.asarray(X, dtype=np.float64)
        scale = X.std(axis=0)
        scale[scale < 1e-12] = 1.0
        if task == "regression":
            y_scale = float(np.std(y)) or 1.0
            return cls(X.mean(axis=0), scale, float(np.mean(y)), y_scale)
        return cls(X.mean(axis=0), scale)

    def transform(self, X: np.ndarray) -> np.ndarray:
        return ((np.asarray(X, dtype=np.float64) - self.mean) / self.scale).astype(np.float32)

    def target(self, y: np.ndarray) -> np.ndarray:
        return (np.asarray(y, dtype=np.float64) - self.y_mean) / self.y_scale

    def untarget(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.float64) * self.y_scale + self.y_mean

    def to_json(self) -> dict[str, Any]:
        return {
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "target_mean": self.y_mean,
            "target_scale": self.y_scale,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Scaling:
        return cls(
            np.asarray(d["mean"], dtype=np.float64),
            np.asarray(d["scale"], dtype=np.float64),
            float(d["target_mean"]),
            float(d["target_scale"]),
        )


@dataclass
class Split:
    """Raw (unscaled) features and targets of the three parts, and the scaling fitted on the
    training part."""

    train: tuple[np.ndarray, np.ndarray]
    valid: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    scaling: Scaling

    def scaled(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        """``part``'s scaled features (float32) and targets (class indices, or scaled values
        as float32 for regression)."""
        X, y = getattr(self, part)
        if y.dtype.kind == "f":
            return self.scaling.transform(X), self.scaling.target(y).astype(np.float32)
        return self.scaling.transform(X), y


def split(table: Table, seed: int) -> Split:
    """A seeded split, stratified by class when every class has enough samples: 70/15/15, or
    the source's own test set and 15% of its training rows for validation."""
    from sklearn.model_selection import train_test_split

    def cut(X: np.ndarray, y: np.ndarray, size: float) -> list[np.ndarray]:
        strata = y if table.task == "classification" and np.bincount(y).min() >= 2 else None
        try:
            return train_test_split(X, y, test_size=size, random_state=seed, stratify=strata)
        except ValueError:  # a class too small for the test part: split without strata
            return train_test_split(X, y, test_size=size, random_state=seed)

    if table.test is not None:
        X_train, X_valid, y_train, y_valid = cut(table.X, table.y, VALID_FRACTION)
        test = table.test
    else:
        X_rest, X_test, y_rest, y_test = cut(table.X, table.y, TEST_FRACTION)
        share = VALID_FRACTION / (1 - TEST_FRACTION)
        X_train, X_valid, y_train, y_valid = cut(X_rest, y_rest, share)
        test = (X_test, y_test)
    scaling = Scaling.fit(X_train, y_train, table.task)
    return Split((X_train, y_train), (X_valid, y_valid), test, scaling)
