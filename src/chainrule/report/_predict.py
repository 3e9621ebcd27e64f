"""``chainrule predict``: a trained run's model on the rows of a CSV file."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from ._csv import numeric_columns, read_csv
from ._files import RunError, write_atomic
from ._model import ModelCard, load_model, probabilities, scores


def predict(model: str | Path, data: str, out: str | Path, say: Any = print) -> Path:
    """Predicts every row of ``data`` (``csv:PATH``, with the model's feature columns by name,
    in any order; other columns are ignored) and writes ``out`` atomically: ``prediction``
    and, for a classifier, one ``p_<class>`` probability column per class.

    When the file also holds the target column, the accuracy or R² on it is printed.
    """
    kind, colon, path = data.partition(":")
    if kind != "csv" or not colon or not path:
        raise RunError(f"chainrule predict reads --data csv:PATH, got {data!r}")
    card, net, checkpoint = load_model(model)
    header, rows = read_csv(path)
    if not rows:
        raise RunError(f"data file {path} has a header but no data rows")
    X = card.scaling.transform(numeric_columns(path, header, rows, card.features))
    raw = scores(net, X)
    out = Path(out)
    if card.task == "classification":
        proba = probabilities(card.loss, raw)
        labels = [card.classes[k] for k in proba.argmax(axis=1)]
        columns = ["prediction", *(f"p_{c}" for c in card.classes)]
        table = [[label, *(f"{p:.6g}" for p in ps)] for label, ps in zip(labels, proba)]
    else:
        values = card.scaling.untarget(raw[:, 0])
        columns, table = ["prediction"], [[f"{v:.8g}"] for v in values]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(table)
    try:
        write_atomic(out, text.getvalue())
    except OSError as err:
        raise RunError(
            f"cannot write the predictions to {out}: {err.strerror or type(err).__name__}"
        ) from err
    say(f"{card.describe()} from {checkpoint}: {len(rows)} rows of {path} predicted into {out}")
    if card.target in header:
        say(_score(card, [row[header.index(card.target)] for row in rows], table))
    return out


def _score(card: ModelCard, cells: list[str], table: list[list[Any]]) -> str:
    """Accuracy or R² against the file's own target column."""
    if card.task == "classification":
        hits = [str(label) == cell.strip() for (label, *_), cell in zip(table, cells)]
        return f"accuracy against the file's {card.target!r} column: {np.mean(hits):.4f}"
    try:
        truth = np.asarray([float(c) for c in cells])
    except ValueError:
        return f"the file's {card.target!r} column is not numeric; no score"
    pred = np.asarray([float(v) for (v,) in table])
    ss_tot = float(np.sum((truth - truth.mean()) ** 2)) or 1.0
    r2 = 1 - float(np.sum((truth - pred) ** 2)) / ss_tot
    return f"R² against the file's {card.target!r} column: {r2:.4f}"
