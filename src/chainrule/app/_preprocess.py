"""The preprocessing of a run's features and target: fitted by scikit-learn, kept as plain data.

scikit-learn fits the transformers of one ``ColumnTransformer`` on the training rows:

* numeric columns: ``SimpleImputer(strategy=median|mean, add_indicator=True)`` then
  ``StandardScaler`` (the missing-value indicators are standardised with the values);
* categorical columns: ``SimpleImputer(strategy="most_frequent")`` then
  ``OneHotEncoder(handle_unknown="ignore", max_categories=N)`` (rarer categories share one
  "infrequent" column; a category never seen in training is all zeros).

Its learned values (fill values, means, scales, category lists) are read out into a
``Preprocessing`` that is saved as JSON in the model card, never pickled, and that applies the
transformation itself, in the same float64 operations and order as scikit-learn, so training,
the report and ``chainrule predict`` transform rows identically (tested bit for bit against the
fitted ``ColumnTransformer``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ._files import RunError
from ._table import spreadsheet_rows

IMPUTE = ("median", "mean", "none")
NUMERIC_GROUPS = 8


@dataclass
class Column:
    """One input column's treatment: numeric (``fill`` for a missing cell, and whether a
    missing-value indicator column follows the numeric block) or categorical (the fill label,
    the categories with a column of their own, and those grouped as infrequent)."""

    name: str
    kind: str  # "numeric" or "categorical"
    fill: Any = None  # None: a missing cell is an error (--impute none)
    indicator: bool = False
    categories: list[str] = field(default_factory=list)
    infrequent: list[str] = field(default_factory=list)
    missing: int = 0  # missing cells in the training rows


@dataclass
class Preprocessing:
    """Fitted feature preprocessing and the regression target's standardisation
    (y' = (y − y_mean) / y_scale; 0 and 1 for classification)."""

    columns: list[Column]
    mean: np.ndarray  # of the numeric block: per group, its values, then its indicators
    scale: np.ndarray
    groups: list[int] = field(default_factory=list)  # numeric columns per group, in order
    y_mean: float = 0.0
    y_scale: float = 1.0

    @property
    def numeric(self) -> list[Column]:
        return [c for c in self.columns if c.kind == "numeric"]

    @property
    def categorical(self) -> list[Column]:
        return [c for c in self.columns if c.kind == "categorical"]

    @property
    def names(self) -> list[str]:
        """The input columns, in the order ``transform`` reads an array's columns."""
        return [c.name for c in self.columns]

    @property
    def n_outputs(self) -> int:
        """Width of the transformed rows (the network's input size)."""
        return len(self.mean) + sum(
            len(c.categories) + bool(c.infrequent) for c in self.categorical
        )

    @property
    def plain(self) -> bool:
        """True when the output columns are the inputs standardised one for one."""
        return not self.categorical and not any(c.indicator for c in self.columns)

    # -- fitting ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        X: Any,
        columns: list[str],
        categorical: list[str],
        y: np.ndarray | None = None,
        impute: str = "median",
        max_categories: int = 50,
        rows: np.ndarray | None = None,
    ) -> Preprocessing:
        """Fits the ``ColumnTransformer``'s transformers on the training rows ``X`` (a DataFrame,
        categorical columns as from ``as_labels``, or a numeric array whose columns are
        ``columns``; only its ``rows`` when given) and reads out what it learned; ``y``: a
        regression target to standardise.
        """
        ct = column_transformer(X, columns, categorical, impute, max_categories)
        # each transformer fitted on its own columns, as ColumnTransformer.fit does, but
        # without its fit_transform's transformed and stacked copy of every training row
        fitted = {name: pipe.fit(_select(X, cols, rows)) for name, pipe, cols in ct.transformers}
        out: dict[str, Column] = {}
        means, scales, groups = [np.zeros(0)], [np.ones(0)], []
        for name, _, group in ct.transformers:
            if not name.startswith("numeric"):
                continue
            imputer, scaler = fitted[name].named_steps.values()
            group = [columns[j] for j in group] if not isinstance(group[0], str) else group
            flagged = set(imputer.indicator_.features_) if imputer.indicator_ is not None else ()
            for j, column in enumerate(group):
                fill = float(np.nan_to_num(imputer.statistics_[j])) if impute != "none" else None
                out[column] = Column(column, "numeric", fill, j in flagged)
            means.append(scaler.mean_.astype(np.float64))
            scales.append(scaler.scale_.astype(np.float64))
            groups.append(len(group))
        mean, scale = np.concatenate(means), np.concatenate(scales)
        if "categorical" in fitted:
            imputer, encoder = fitted["categorical"].named_steps.values()
            rare = getattr(encoder, "infrequent_categories_", None) or [None] * len(categorical)
            for j, name in enumerate(categorical):
                grouped = [] if rare[j] is None else [str(c) for c in rare[j]]
                frequent = [str(c) for c in encoder.categories_[j] if str(c) not in grouped]
                label = str(imputer.statistics_[j]) if impute != "none" else None
                out[name] = Column(name, "categorical", label, False, frequent, grouped)
        prep = cls([out[n] for n in columns], mean, scale, groups)
        for c in prep.columns:
            c.missing = int(_missing(_column(X, columns, c.name, rows)).sum())
        if y is not None:
            prep.y_mean, prep.y_scale = float(np.mean(y)), float(np.std(y)) or 1.0
        return prep

    # -- applying --------------------------------------------------------------------------
    def transform(self, X: Any, first_row: int = 0, rows: np.ndarray | None = None) -> np.ndarray:
        """Rows ``X`` (a DataFrame with the input columns by name, or an array with them in
        ``names`` order; only its ``rows`` when given) as the network's float32 inputs
        (n, n_outputs); ``first_row`` counts the rows before them in their file, for the error
        that a missing cell raises when the model was trained with ``--impute none``.

        Computed in float64 one column group at a time, so that a large table never has a
        float64 copy of all its rows at once."""
        names = self.names
        n = len(X) if rows is None else len(rows)
        out = np.empty((n, self.n_outputs), dtype=np.float32)
        numeric, at = self.numeric, 0
        for size in self.groups:  # ColumnTransformer's order: a group's values, its indicators
            group, numeric = numeric[:size], numeric[size:]
            values = _numbers(X, names, [c.name for c in group], rows)
            missing = np.isnan(values)
            flags = [j for j, c in enumerate(group) if c.indicator]
            for j in np.flatnonzero(missing.any(axis=0)):
                if group[j].fill is None:
                    raise RunError(_missing_error(group[j].name, missing[:, j], first_row))
                values[missing[:, j], j] = group[j].fill
            block = np.concatenate([values, missing[:, flags]], axis=1) if flags else values
            width = size + len(flags)
            block -= self.mean[at : at + width]
            block /= self.scale[at : at + width]
            out[:, at : at + width] = block
            at += width
        for c in self.categorical:
            labels = _column(X, names, c.name, rows)
            missing = _missing(labels)
            if missing.any():
                if c.fill is None:
                    raise RunError(_missing_error(c.name, missing, first_row))
                labels = np.where(missing, c.fill, labels)
            index = {cat: k for k, cat in enumerate(c.categories)}
            other = len(c.categories) if c.infrequent else -1
            index.update(dict.fromkeys(c.infrequent, other))
            codes = np.fromiter((index.get(v, -1) for v in labels), dtype=np.int64, count=n)
            width = len(c.categories) + bool(c.infrequent)
            onehot = out[:, at : at + width]
            onehot[...] = 0.0
            seen = np.flatnonzero(codes >= 0)
            onehot[seen, codes[seen]] = 1.0
            at += width
        return out

    def target(self, y: np.ndarray) -> np.ndarray:
        return (np.asarray(y, dtype=np.float64) - self.y_mean) / self.y_scale

    def untarget(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.float64) * self.y_scale + self.y_mean

    # -- describing and saving -------------------------------------------------------------
    def treatments(self) -> list[tuple[str, str]]:
        """(column, how it is treated) for the report's settings."""
        rows = []
        for c in self.columns:
            if c.kind == "numeric":
                how = "numeric, standardised"
            else:
                rare = f" + {len(c.infrequent)} infrequent grouped" if c.infrequent else ""
                how = f"categorical, {len(c.categories)} categories{rare}, one-hot"
            if c.missing:
                shown = f"{c.fill:.4g}" if isinstance(c.fill, float) else repr(c.fill)
                how += f"; {c.missing} missing cells in the training rows, imputed with {shown}"
                how += " (and a missing-value indicator)" if c.indicator else ""
            rows.append((c.name, how))
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": [asdict(c) for c in self.columns],
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "groups": list(self.groups),
            "target_mean": self.y_mean,
            "target_scale": self.y_scale,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Preprocessing:
        """The inverse of :meth:`to_json`; a ``ValueError`` or ``TypeError`` for any field of
        the wrong type or range (scales must be finite and positive), or fields that disagree."""
        if not isinstance(d, dict) or not isinstance(d["columns"], list):
            raise TypeError("the preprocessing is not an object with a list of columns")
        columns = [Column(**c) for c in d["columns"]]
        for c in columns:
            _check_column(c)
        if len({c.name for c in columns}) != len(columns):
            raise ValueError("the preprocessing names a column twice")
        groups = d["groups"]
        if not isinstance(groups, list) or not all(_is_count(k) and k >= 1 for k in groups):
            raise ValueError(f"groups {groups!r} are not counts >= 1")
        prep = cls(
            columns,
            _finite_array(d["mean"], "mean"),
            _finite_array(d["scale"], "scale"),
            groups,
            _finite_number(d["target_mean"], "target_mean"),
            _finite_number(d["target_scale"], "target_scale"),
        )
        if not (prep.scale > 0).all() or not prep.y_scale > 0:
            raise ValueError("a scale of the preprocessing is zero or negative")
        n_block = len(prep.numeric) + sum(c.indicator for c in prep.numeric)
        if prep.mean.shape != (n_block,) or prep.scale.shape != (n_block,):
            raise ValueError(f"the numeric block has {n_block} columns, its scaling does not")
        if sum(prep.groups) != len(prep.numeric):
            raise ValueError(f"groups {prep.groups} do not cover {len(prep.numeric)} columns")
        return prep


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _finite_number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} is a {type(value).__name__}, not a number")
    if not np.isfinite(float(value)):
        raise ValueError(f"{what} is {value}, not a finite number")
    return float(value)


def _finite_array(values: Any, what: str) -> np.ndarray:
    if not isinstance(values, list):
        raise TypeError(f"{what} is a {type(values).__name__}, not a list")
    return np.array([_finite_number(v, f"an entry of {what}") for v in values], dtype=np.float64)


def _check_column(c: Column) -> None:
    """Raises unless every field of ``c`` has the type and range ``Preprocessing.fit`` gives."""
    if not isinstance(c.name, str) or c.kind not in ("numeric", "categorical"):
        raise ValueError(f"column {c.name!r} has an unknown kind {c.kind!r}")
    if not isinstance(c.indicator, bool) or not _is_count(c.missing):
        raise TypeError(f"column {c.name!r}: indicator or missing has a wrong type")
    labels = [*c.categories, *c.infrequent] if isinstance(c.categories, list) else None
    if not isinstance(c.infrequent, list) or labels is None:
        raise TypeError(f"column {c.name!r}: categories are not lists")
    if not all(isinstance(v, str) for v in labels) or len(set(labels)) != len(labels):
        raise ValueError(f"column {c.name!r}: categories are not distinct labels")
    if c.kind == "numeric":
        if labels or (c.fill is not None and not np.isfinite(_finite_number(c.fill, "fill"))):
            raise ValueError(f"numeric column {c.name!r} has categories")
    elif c.indicator or not (c.fill is None or isinstance(c.fill, str)):
        raise ValueError(f"categorical column {c.name!r}: its fill is not a label")


def column_transformer(
    X: Any, columns: list[str], categorical: list[str], impute: str, max_categories: int
) -> Any:
    """The unfitted ``ColumnTransformer`` of the module docstring."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    by_name = hasattr(X, "columns")
    pick = (lambda names: names) if by_name else (lambda names: [columns.index(n) for n in names])
    numeric = [n for n in columns if n not in categorical]
    strategy = "median" if impute == "none" else impute  # 'none' has no missing cell to fill
    steps = []
    # numeric columns in up to NUMERIC_GROUPS groups: the imputer's median works on masked
    # copies of its whole input, so fitting a group at a time keeps the peak memory low
    groups = np.array_split(numeric, min(NUMERIC_GROUPS, len(numeric))) if numeric else []
    for k, group in enumerate(groups):
        imputer = SimpleImputer(strategy=strategy, add_indicator=True, keep_empty_features=True)
        pipeline = Pipeline([("impute", imputer), ("scale", StandardScaler())])
        steps.append((f"numeric-{k}", pipeline, pick(group.tolist())))
    if categorical:
        encoder = OneHotEncoder(
            handle_unknown="ignore", max_categories=max_categories, sparse_output=False
        )
        imputer = SimpleImputer(strategy="most_frequent", keep_empty_features=True)
        steps.append(
            ("categorical", Pipeline([("impute", imputer), ("encode", encoder)]),
             pick(categorical))
        )  # fmt: skip
    return ColumnTransformer(steps, remainder="drop", sparse_threshold=0.0)


def _numbers(X: Any, names: list[str], group: list[str], rows: Any = None) -> np.ndarray:
    """A float64 copy of the ``group`` columns of ``X`` (a DataFrame, or an array with columns
    ``names``), of its ``rows`` only when given."""
    if hasattr(X, "columns"):
        values = X[group].to_numpy(dtype=np.float64, na_value=np.nan, copy=rows is None)
        return values if rows is None else values[rows]
    position = {name: j for j, name in enumerate(names)}
    index = [position[n] for n in group]
    picked = np.asarray(X)[:, index] if rows is None else np.asarray(X)[np.ix_(rows, index)]
    return picked.astype(np.float64)


def _select(X: Any, columns: list, rows: Any = None) -> Any:
    """The ``columns`` (names of a DataFrame, or positions in an array) of ``X``, of its
    ``rows`` only when given."""
    if hasattr(X, "columns"):
        return X[columns] if rows is None else X[columns].iloc[rows]
    return np.asarray(X)[:, columns] if rows is None else np.asarray(X)[np.ix_(rows, columns)]


def _column(X: Any, names: list[str], name: str, rows: Any = None) -> np.ndarray:
    values = X[name].to_numpy() if hasattr(X, "columns") else np.asarray(X)[:, names.index(name)]
    return values if rows is None else values[rows]


def _missing(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.isnan(values)
    return np.fromiter((v is None or v != v for v in values), dtype=bool, count=len(values))


def _missing_error(name: str, missing: np.ndarray, first_row: int) -> str:
    return (
        f"the column {name!r} has {int(missing.sum())} missing cell(s) in "
        f"{spreadsheet_rows(np.flatnonzero(missing), first_row)}, and the model was trained "
        f"with --impute none"
    )
