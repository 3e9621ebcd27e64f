"""``chainrule predict``: a trained run's model on the rows of a table file, streamed in chunks
so that memory does not grow with the file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._data import FILE_KINDS
from ._files import RunError, write_atomic
from ._model import ModelCard, check_output, load_model, probabilities, scores
from ._table import CSV_CHUNK_ROWS, as_labels, check_numbers, read_columns, read_header


def predict(
    model: str | Path,
    data: str,
    out: str | Path,
    say: Any = print,
    chunk_rows: int = CSV_CHUNK_ROWS,
) -> Path:
    """Predicts every row of ``data`` (``csv:PATH`` or ``parquet:PATH``, with the model's
    feature columns by name, in any order; other columns are ignored) and writes ``out``
    atomically: ``prediction`` and, for a classifier, one ``p_<class>`` probability column per
    class. The rows get the preprocessing fitted in training (``model.json``): missing cells
    imputed with the training values, unseen categories ignored.

    When the file also holds the target column, the accuracy or R² on it is printed.
    """
    kind, colon, path = data.partition(":")
    if kind not in FILE_KINDS or not colon or not path:
        raise RunError(f"chainrule predict reads --data csv:PATH or parquet:PATH, got {data!r}")
    card, net, checkpoint = load_model(model)
    out = check_output(out, checkpoint, (path,))
    header = read_header(kind, path)
    absent = [n for n in card.features if n not in header]
    if absent:
        raise RunError(
            f"data file {path} lacks the model's feature columns {absent[:12]} (the model was "
            f"trained on {len(card.features)} columns: see {checkpoint.parent / 'model.json'})"
        )
    target = card.target if card.target in header and card.target not in card.features else None
    text = [c.name for c in card.preprocessing.categorical] + ([target] if target else [])
    columns = [*card.features, *([target] if target else [])]
    chunks = read_columns(kind, path, header, columns, text, chunksize=chunk_rows)
    score = _Score(card)
    rows = 0

    def write(f: IO[bytes]) -> None:
        nonlocal rows
        names = ["prediction", *(f"p_{c}" for c in card.classes)]
        f.write(_csv_text([names]))
        for chunk in _checked(chunks, path):
            frame = _features(card, path, chunk, rows)
            raw = scores(net, card.preprocessing.transform(frame, first_row=rows))
            table, predicted = _rows(card, raw)
            f.write(_csv_text(table))
            if target:
                score.add(chunk[target], predicted)
            rows += len(chunk)
        if not rows:
            raise RunError(f"data file {path} has a header but no data rows")

    try:
        write_atomic(Path(out), write)
    except OSError as err:
        raise RunError(
            f"cannot write the predictions to {out}: {err.strerror or type(err).__name__}"
        ) from err
    say(f"{card.describe()} from {checkpoint}: {rows} rows of {path} predicted into {out}")
    if target:
        say(score.text())
    return Path(out)


def _checked(chunks: Any, path: str) -> Iterator[Any]:
    """The chunks, with a parse error in the middle of the file as a ``RunError``."""
    import pandas as pd

    try:
        yield from chunks
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as err:
        if isinstance(err, RunError):
            raise
        raise RunError(f"data file {path} cannot be read as CSV: {err}") from err


def _features(card: ModelCard, path: str, chunk: Any, first_row: int) -> Any:
    """The chunk's feature columns as the preprocessing reads them (numbers or labels)."""
    prep = card.preprocessing
    for c in prep.categorical:
        chunk[c.name] = as_labels(chunk[c.name])
    check_numbers(path, chunk, [c.name for c in prep.numeric], first_row)
    return chunk


def _rows(card: ModelCard, raw: np.ndarray) -> tuple[list[list[Any]], np.ndarray]:
    """The output rows (labels and probabilities, or values) and the predictions."""
    if card.task == "classification":
        proba = probabilities(card.loss, raw)
        labels = [card.classes[k] for k in proba.argmax(axis=1)]
        return [[label, *(f"{p:.6g}" for p in ps)] for label, ps in zip(labels, proba)], np.array(
            labels, dtype=object
        )
    values = card.preprocessing.untarget(raw[:, 0])
    return [[f"{v:.8g}"] for v in values], values


def _csv_text(rows: list[list[Any]]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue().encode("utf-8")


class _Score:
    """Accuracy, or R² (Chan's pairwise update of the mean and the sum of squares), against
    the file's own target column, accumulated chunk by chunk."""

    def __init__(self, card: ModelCard) -> None:
        self.card = card
        self.n, self.hits, self.mean, self.m2, self.sse = 0, 0, 0.0, 0.0, 0.0
        self.numeric = True

    def add(self, cells: Any, predicted: np.ndarray) -> None:
        import pandas as pd

        text = cells.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
        if self.card.task == "classification":
            self.hits += int(sum(str(p) == t for p, t in zip(predicted, text)))
            self.n += len(text)
            return
        truth = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
        if np.isnan(truth).any():
            self.numeric = False
            return
        n, mean = len(truth), float(truth.mean())
        m2 = float(((truth - mean) ** 2).sum())
        total = self.n + n
        delta = mean - self.mean
        self.m2 += m2 + delta**2 * self.n * n / total
        self.mean += delta * n / total
        self.n = total
        self.sse += float(((truth - predicted) ** 2).sum())

    def text(self) -> str:
        name = self.card.target
        if self.card.task == "classification":
            return f"accuracy against the file's {name!r} column: {self.hits / self.n:.4f}"
        if not self.numeric:
            return f"the file's {name!r} column is not numeric in every row; no score"
        r2 = 1 - self.sse / (self.m2 or 1.0)
        return f"R² against the file's {name!r} column: {r2:.4f}"
