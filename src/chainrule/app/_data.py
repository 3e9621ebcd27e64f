"""The data sources of ``chainrule train`` (``--data``), the seeded train/validation/test split
and the preprocessing that the run, the report and ``chainrule predict`` share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import data
from chainrule.data import load_mnist

from ._files import RunError
from ._options import DEFAULT_TARGET, Reading
from ._preprocess import Preprocessing
from ._table import (
    WIDE,
    all_numbers,
    as_labels,
    check_numbers,
    decode_target,
    is_categorical,
    read_columns,
    read_header,
    spreadsheet_rows,
)

BUNDLED = ("digits", "iris", "breast-cancer", "wine", "diabetes", "blobs", "moons")
"""Data sets named by ``--data`` alone; ``mnist:PATH``, ``csv:PATH`` and ``parquet:PATH``
name files."""

VALID_FRACTION = TEST_FRACTION = 0.15
MIN_ROWS = 20


@dataclass
class Table:
    """A data set: ``X`` (n_samples, n_features) as a float array, or for a table file a
    pandas DataFrame of its feature columns (categorical ones as strings), handed over to
    ``split`` (None after it); ``y`` class indices
    (int64) or values (float64); the names of the features, the target and the classes; the
    categorical columns; a test set when the source comes with one (MNIST); and notes on how
    it was read (the task chosen and why, rows or columns dropped)."""

    name: str
    X: Any
    y: np.ndarray
    features: list[str]
    task: str  # "classification" or "regression"
    target: str = "target"
    classes: list[Any] = field(default_factory=list)
    test: tuple[np.ndarray, np.ndarray] | None = None
    categorical: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (column, why)


FILE_KINDS = ("csv", "parquet")


def data_name(spec: str) -> str:
    """The short name of a ``--data`` value, used in the output folder's name."""
    kind, _, path = spec.partition(":")
    if kind in FILE_KINDS and path:
        return Path(path).stem or kind
    return kind


def check_spec(spec: str, reading: Reading | None = None) -> None:
    """Raises ``RunError`` for a ``--data`` value that names no source, or table options given
    for a source that is not a table file."""
    kind, colon, path = spec.partition(":")
    if kind in ("mnist", *FILE_KINDS) and colon:
        if not path:
            raise RunError(f"--data {spec}: give a path after '{kind}:', e.g. {kind}:data/")
    elif spec not in BUNDLED:
        raise RunError(
            f"unknown data set {spec!r}; expected one of {', '.join(BUNDLED)}, mnist:PATH, "
            f"csv:PATH or parquet:PATH"
        )
    if reading is not None and kind not in FILE_KINDS:
        default = Reading()
        given = [
            f"--{f.name.replace('_', '-')}"
            for f in fields(Reading)
            if getattr(reading, f.name) != getattr(default, f.name)
        ]
        if given:
            raise RunError(
                f"{', '.join(given)} appl{'y' if len(given) > 1 else 'ies'} to csv:PATH and "
                f"parquet:PATH data, not to --data {spec}"
            )


def load_table(spec: str, reading: Reading | None = None, seed: int = 0) -> Table:
    """The data set named by ``spec`` (see ``BUNDLED``, ``mnist:PATH``, ``csv:PATH``,
    ``parquet:PATH``)."""
    check_spec(spec, reading)
    kind, _, path = spec.partition(":")
    if kind in FILE_KINDS:
        return load_file(kind, path, reading or Reading())
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
    loaders: dict[str, Callable[[], tuple[np.ndarray, ...]]] = {
        "iris": data.load_iris,
        "breast-cancer": data.load_breast_cancer,
        "wine": data.load_wine,
        "diabetes": data.load_diabetes,
    }
    X, y = loaders[spec]()
    features, classes = _sklearn_names(spec)
    if spec == "diabetes":
        return Table(spec, X, y.astype(np.float64), features, "regression", "progression")
    return Table(spec, X, y, features, "classification", "class", classes)


def content_hash(spec: str, table: Table) -> str:
    """SHA-256 of the data a run trained on: the bytes of a ``--data`` file (of each file,
    by name, in an MNIST folder), or of a bundled set's arrays."""
    import hashlib

    digest = hashlib.sha256()
    kind, colon, path = spec.partition(":")
    if colon and path:
        root = Path(path)
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for file in files:
            digest.update(str(file.relative_to(root) if root.is_dir() else "").encode())
            with file.open("rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
    else:
        for a in (table.X, table.y):
            a = np.ascontiguousarray(a)
            if a.dtype.kind not in "biuf":  # an object array's bytes are addresses
                raise TypeError(f"content_hash: {spec} has {a.dtype} data, not numbers")
            digest.update(a.tobytes())
    return digest.hexdigest()


def _sklearn_names(spec: str) -> tuple[list[str], list[Any]]:
    """Feature and class names from scikit-learn's bunch (chainrule.data returns arrays)."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, f"load_{spec.replace('-', '_')}")()
    classes = [str(c) for c in getattr(bunch, "target_names", [])]
    return [str(f) for f in bunch.feature_names], classes


def _load_mnist(path: str) -> Table:
    try:
        (X, y), test = load_mnist(path)
    except (OSError, ValueError) as err:
        raise RunError(str(err).removeprefix("load_mnist: ")) from err
    pixels = [f"pixel_{i}" for i in range(X.shape[1])]
    return Table("mnist", X, y, pixels, "classification", "digit", list(range(10)), test)


def load_file(kind: str, path: str, reading: Reading) -> Table:
    """A table file with a header: the target column (``--target``, default: one named
    ``target``) and feature columns (all others but ``--drop``); text, bool and
    ``--categorical`` columns are categorical, the rest numeric."""
    header = read_header(kind, path)
    target = reading.target or DEFAULT_TARGET
    if target not in header:
        hint = "" if reading.target else "; choose the target with --target COL"
        raise RunError(f"data file {path} has no target column {target!r}{hint} (columns: "
                       f"{_listing(header)})")  # fmt: skip
    for flag, names in (("--drop", reading.drop), ("--categorical", reading.categorical)):
        unknown = [n for n in names if n not in header]
        if unknown:
            raise RunError(f"{flag}: data file {path} has no column {_listing(unknown)} (it has "
                           f"{_listing(header)})")  # fmt: skip
        if target in names:
            raise RunError(f"{flag} {target}: that column is the target")
    features = [h for h in header if h != target and h not in reading.drop]
    if not features:
        raise RunError(f"data file {path} has no feature columns besides the target {target!r}")
    frame = read_columns(kind, path, header, [*features, target], [target, *reading.categorical])
    if len(frame) < MIN_ROWS:
        raise RunError(f"data file {path} has {len(frame)} data rows; training needs {MIN_ROWS}")
    if frame.shape[1] >= WIDE:  # one block per dtype: whole-table steps stay linear
        frame = frame.copy()
    decoded = decode_target(path, target, frame.pop(target), reading.task,
                            reading.drop_missing_target)  # fmt: skip
    notes = [f"task: {decoded.reason}; override with --task"]
    if decoded.keep is not None:
        notes.append(f"dropped {len(frame) - len(decoded.keep)} rows whose target is missing")
        frame = frame.iloc[decoded.keep].reset_index(drop=True)
    kinds, forced = dict(zip(frame.columns, frame.dtypes)), set(reading.categorical)
    categorical = [
        n
        for n in features
        if n in forced or (is_categorical(kinds[n]) and not all_numbers(frame[n]))
    ]
    numeric = [n for n in features if n not in set(categorical)]
    for name in categorical:
        frame[name] = as_labels(frame[name])
    missing = dict(zip(numeric, check_numbers(path, frame, numeric).tolist()))
    missing.update({n: int(frame[n].isna().sum()) for n in categorical})
    empty = [n for n in features if missing[n] == len(frame)]
    dropped = [(n, "--drop") for n in reading.drop] + [(n, "every cell is empty") for n in empty]
    if empty:
        frame = frame.drop(columns=empty)
        features = [n for n in features if n not in set(empty)]
        categorical = [n for n in categorical if n not in set(empty)]
    if not features:
        raise RunError(f"data file {path} has no feature column with values")
    holes = [n for n in features if missing[n]]
    if reading.impute == "none" and holes:
        rows = np.flatnonzero(frame[holes[0]].isna().to_numpy())
        raise RunError(
            f"data file {path}: the column {holes[0]!r} has missing cells in "
            f"{spreadsheet_rows(rows)} and --impute none was given; fill them or use "
            f"--impute median"
        )
    task, classes = decoded.task, decoded.classes
    if task == "classification" and len(classes) < 2:
        raise RunError(f"data file {path}: the target {target!r} has a single class {classes}")
    return Table(Path(path).stem, frame, decoded.y, features, task, target, classes,
                 categorical=categorical, notes=notes, dropped=dropped)  # fmt: skip


def _listing(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


@dataclass
class Split:
    """The three parts as the network's inputs (float32, preprocessed) with their targets
    (class indices, or values in the data's units), and the preprocessing fitted on the
    training part."""

    train: tuple[np.ndarray, np.ndarray]
    valid: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    preprocessing: Preprocessing

    def scaled(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        """``part``'s inputs and targets as the loss sees them: class indices, or the
        standardised values as float32 for regression."""
        X, y = getattr(self, part)
        if y.dtype.kind == "f":
            return X, self.preprocessing.target(y).astype(np.float32)
        return X, y


def split(table: Table, seed: int, impute: str = "median", max_categories: int = 50) -> Split:
    """A seeded split, stratified by class when every class has enough samples: 70/15/15, or
    the source's own test set and 15% of its training rows for validation; the preprocessing
    is fitted on the training part and applied to all three.

    The table's rows are handed over: ``table.X`` is None afterwards, so that a large table is
    held once, as each part's float32 inputs; the parts are read from it column group by
    column group, never copied whole.
    """
    from sklearn.model_selection import train_test_split

    def cut(index: np.ndarray, size: float) -> list[np.ndarray]:
        y = table.y[index]
        strata = y if table.task == "classification" and np.bincount(y).min() >= 2 else None
        try:
            return train_test_split(index, test_size=size, random_state=seed, stratify=strata)
        except ValueError:  # a class too small for the test part: split without strata
            return train_test_split(index, test_size=size, random_state=seed)

    rows = np.arange(len(table.y))
    if table.test is None:
        rest, test = cut(rows, TEST_FRACTION)
        train, valid = cut(rest, VALID_FRACTION / (1 - TEST_FRACTION))
        order = [train, valid, test]
    else:
        train, valid = cut(rows, VALID_FRACTION)
        order = [train, valid]
    X, table.X = table.X, None
    targets = [table.y[part] for part in order]
    prep = Preprocessing.fit(
        X,
        table.features,
        table.categorical,
        targets[0] if table.task == "regression" else None,
        impute,
        max_categories,
        rows=train,
    )
    parts = [(prep.transform(X, rows=part), y) for part, y in zip(order, targets)]
    del X
    if table.test is not None:
        parts.append((prep.transform(table.test[0]), table.test[1]))
    return Split(parts[0], parts[1], parts[2], prep)
