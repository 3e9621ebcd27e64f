"""Reading CSV files for ``chainrule train`` and ``chainrule predict``: a header row, numeric
feature columns, and a target column of numbers or labels. Every problem is a ``RunError``
naming the file, the column and the first offending row."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from ._files import RunError


def read_csv(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """The header and the rows (lists of cell strings) of ``path``; blank lines are skipped.

    Raises
    ------
    RunError
        When the file is missing, a folder, unreadable, not UTF-8 text, empty, has a repeated
        column name, or a row with another number of cells than the header.
    """
    path = Path(path)
    if not path.exists():
        raise RunError(f"data file {path} does not exist")
    if path.is_dir():
        raise RunError(f"data file {path} is a folder, not a CSV file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            lines = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    except UnicodeDecodeError as err:
        raise RunError(
            f"data file {path} is not UTF-8 text ({err.reason} at byte {err.start})"
        ) from err
    except (OSError, csv.Error) as err:
        reason = getattr(err, "strerror", None) or err
        raise RunError(f"data file {path} cannot be read: {reason}") from err
    if not lines:
        raise RunError(f"data file {path} is empty (expected a header row and data rows)")
    header = [name.strip() for name in lines[0]]
    repeated = sorted({n for n in header if header.count(n) > 1})
    if repeated:
        raise RunError(f"data file {path}: the header names columns {repeated} more than once")
    for i, row in enumerate(lines[1:], start=2):
        if len(row) != len(header):
            raise RunError(
                f"data file {path}: row {i} has {len(row)} cells, the header {len(header)}"
            )
    return header, lines[1:]


def _number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def numeric_columns(
    path: str | Path, header: list[str], rows: list[list[str]], names: list[str]
) -> np.ndarray:
    """The columns ``names`` as a float64 array (n_rows, len(names)).

    Raises
    ------
    RunError
        Naming every column that holds a cell which is not a finite number (with the first
        such cell and its row), or that is missing from the header.
    """
    missing = [n for n in names if n not in header]
    if missing:
        raise RunError(f"data file {path} lacks the columns {missing} (it has {_listing(header)})")
    out = np.empty((len(rows), len(names)), dtype=np.float64)
    bad = []
    for j, name in enumerate(names):
        col = header.index(name)
        for i, row in enumerate(rows):
            value = _number(row[col])
            if value is None:
                bad.append(f"{name!r} ({row[col].strip()!r} in row {i + 2})")
                break
            out[i, j] = value
    if bad:
        which = "column" if len(bad) == 1 else "columns"
        raise RunError(
            f"data file {path}: {which} {', '.join(bad)} not numeric; chainrule needs "
            f"numbers in every feature cell (encode categories as numbers, fill empty cells)"
        )
    return out


def parse_target(path: str | Path, name: str, cells: list[str]) -> tuple[str, np.ndarray, list]:
    """The task and targets of a target column: ``("classification", class indices, labels)``
    when every cell is an integer or when some are words, ``("regression", float64 values,
    [])`` when they are numbers written with a decimal point or an exponent."""
    cells = [c.strip() for c in cells]
    empty = next((i for i, c in enumerate(cells) if not c), None)
    if empty is not None:
        raise RunError(f"data file {path}: the target column {name!r} is empty in row {empty + 2}")
    try:
        values = [int(c) for c in cells]
    except ValueError:
        numbers = [_number(c) for c in cells]
        if all(v is not None for v in numbers):
            return "regression", np.asarray(numbers, dtype=np.float64), []
        values = cells
    labels = sorted(set(values))
    index = {label: k for k, label in enumerate(labels)}
    return "classification", np.asarray([index[v] for v in values], dtype=np.int64), labels


def _listing(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
