"""Reading a user's table (``csv:PATH`` with pandas' C reader, ``parquet:PATH`` with pyarrow)
and deciding its task: which cells are the target, whether it is a classification or a
regression, and which feature columns are numbers or categories. Every problem is a
``RunError`` naming the file, the column and the rows (counted as a spreadsheet shows them:
the header is row 1).

pandas is imported here, inside the functions, so that ``import chainrule`` and the bundled
data sets do not pay for it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._files import RunError

TASKS = ("auto", "classification", "regression")
FLOAT32_MAX = float(np.finfo(np.float32).max)
SHOWN_ROWS = 5
CSV_CHUNK_ROWS = 50_000
CHECK_CELLS = 1 << 22
WIDE = 1000  # columns from which a table is read in one pass and kept in one block
ASSEMBLE_ROWS = 100_000

TASK_RULES = """--task auto reads the target column: text or true/false values make a
classification; numbers written with a decimal point or an exponent make a regression; whole
numbers make a classification when they take at most max(2, min(50, rows/20)) distinct values and
every value has at least 2 rows, and a regression otherwise."""


@dataclass
class Target:
    """A decoded target column: the task, the targets (class indices or float64 values), the
    class labels, the rows kept (None: all), and the sentence that says why."""

    task: str
    y: np.ndarray
    classes: list[Any] = field(default_factory=list)
    keep: np.ndarray | None = None
    reason: str = ""


def spreadsheet_rows(index: np.ndarray, first_row: int = 0) -> str:
    """'rows 2, 5 and 9' for 0-based data-row positions (the header is row 1), at most five."""
    rows = [str(int(i) + first_row + 2) for i in index[:SHOWN_ROWS]]
    more = f" and {len(index) - SHOWN_ROWS} more" if len(index) > SHOWN_ROWS else ""
    text = rows[0] if len(rows) == 1 else ", ".join(rows[:-1]) + " and " + rows[-1]
    return f"row{'s' if len(index) > 1 else ''} {text}{more}"


def _pandas() -> Any:
    import pandas as pd

    return pd


def read_header(kind: str, path: str) -> list[str]:
    """The column names of a table file, in order; a ``RunError`` for a missing, empty or
    unreadable file and for a name given to two columns."""
    import csv

    _check_file(path)
    if kind == "parquet":
        return list(_parquet(path).schema_arrow.names)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            names = next((row for row in csv.reader(f) if any(c.strip() for c in row)), [])
    except (UnicodeDecodeError, csv.Error, OSError) as err:
        raise RunError(f"data file {path} cannot be read as CSV: {_reason(err)}") from err
    if not names:
        raise RunError(f"data file {path} is empty (expected a header row and data rows)")
    names = [n.strip() for n in names]
    seen: set[str] = set()
    repeated = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if repeated:
        raise RunError(f"data file {path}: the header names columns {repeated} more than once")
    return names


def read_columns(
    kind: str,
    path: str,
    header: list[str],
    columns: list[str],
    text: list[str],
    chunksize: int | None = None,
) -> Any:
    """The ``columns`` of the file (whose ``read_header`` is ``header``) as a DataFrame, or an
    iterator of DataFrames of ``chunksize`` rows; the ``text`` columns are read as strings,
    exactly as written."""
    pd = _pandas()
    if kind == "parquet":
        frame = _parquet(path).read(columns=columns).to_pandas()
        for name in text:  # as a CSV reader would give them: text, None where missing
            frame[name] = frame[name].map(lambda v: None if v is None or v != v else str(v))
        return frame if chunksize is None else iter([frame])
    position = {name: i for i, name in enumerate(header)}
    used = sorted(position[name] for name in columns)
    names = [header[i] for i in used]  # as read_header stripped them
    wide = len(columns) >= WIDE

    def reader(rows: int | None) -> Any:
        return pd.read_csv(
            path,
            usecols=None if len(used) == len(header) else used,
            # pandas' chunked type inference costs time per column and chunk: wide tables are
            # read in one pass (10⁵ columns: 3.5 s instead of 13 s)
            low_memory=not wide,
            # text columns by position: a dtype mapping keeps a tall table's parse lean, and
            # converters a wide one's fast (pandas checks a dtype mapping against every
            # column: 10⁵ columns, 3.7 s instead of 1.2 s)
            **{"converters" if wide else "dtype": {position[n]: str for n in text}},
            chunksize=rows,
            engine="c",
            encoding="utf-8-sig",
        )

    try:
        if chunksize is not None:
            return (_named(chunk, names) for chunk in reader(chunksize))
        if not wide:
            frame = _assemble(reader(ASSEMBLE_ROWS), names, _line_count(path))
            if frame is not None:
                return frame
        return _named(reader(None), names)
    except (UnicodeDecodeError, pd.errors.ParserError, OSError, ValueError) as err:
        raise RunError(f"data file {path} cannot be read as CSV: {_reason(err)}") from err


def _assemble(chunks: Any, names: list[str], n_max: int) -> Any:
    """A tall table read chunk by chunk into one preallocated float64 block for its numeric
    columns (and arrays for the others), so that parsing holds the table about once instead of
    pandas' 2.4 times (a 190 MB file: 160 MB less at the peak). None when a column that was
    numbers turns to text in a later chunk: the caller then reads the file whole."""
    pd = _pandas()
    block, numeric, n = None, [], 0
    texts: dict[str, list[np.ndarray]] = {}
    for chunk in chunks:
        chunk.columns = names
        kinds = dict(zip(names, chunk.dtypes))
        if block is None:
            numeric = [c for c in names if not is_categorical(kinds[c])]
            block = np.empty((n_max, len(numeric)), dtype=np.float64)
            texts = {c: [] for c in names if c not in set(numeric)}
        if any(is_categorical(kinds[c]) for c in numeric) or n + len(chunk) > n_max:
            return None
        block[n : n + len(chunk)] = chunk[numeric].to_numpy(dtype=np.float64, na_value=np.nan)
        for c, parts in texts.items():
            parts.append(chunk[c].to_numpy(dtype=object))
        n += len(chunk)
    if block is None:
        return None
    frame = pd.DataFrame(block[:n], columns=numeric, copy=False)
    for c, parts in texts.items():
        frame[c] = np.concatenate(parts)
    return frame


def _line_count(path: str) -> int:
    """An upper bound of the file's rows: its line breaks, plus one for a last line without."""
    count = 1
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            count += block.count(b"\n")
    return count


def _named(frame: Any, names: list[str]) -> Any:
    frame.columns = names
    return frame


def _check_file(path: str) -> None:
    p = Path(path)
    if not p.exists():
        raise RunError(f"data file {path} does not exist")
    if p.is_dir():
        raise RunError(f"data file {path} is a folder, not a table file")


def _parquet(path: str) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise RunError("parquet:PATH needs pyarrow: pip install 'chainrule[parquet]'") from None
    try:
        return pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises its own ArrowInvalid and OSError kinds
        raise RunError(f"data file {path} cannot be read as Parquet: {_reason(err)}") from err


def _reason(err: BaseException) -> str:
    if isinstance(err, UnicodeDecodeError):
        return f"not UTF-8 text ({err.reason} at byte {err.start})"
    return " ".join(str(getattr(err, "strerror", None) or err).split())


# -- the target ----------------------------------------------------------------------------------
def decode_target(
    path: str, name: str, cells: Any, task: str = "auto", drop_missing: bool = False
) -> Target:
    """The task and targets of the raw target column ``cells`` (strings, NaN where missing).

    A numeric target (more than half of its filled cells are numbers) must have a finite number
    in every cell: a missing, infinite or unparsable cell is an error naming its rows, or, with
    ``drop_missing``, its row is dropped. A text target must have no missing cell either.
    """
    pd = _pandas()
    text = pd.Series(cells, dtype=object).map(lambda v: v.strip() if isinstance(v, str) else v)
    missing = (text.isna() | (text == "")).to_numpy()
    numbers = pd.to_numeric(text.where(~missing, None), errors="coerce").to_numpy(np.float64)
    is_number = ~np.isnan(numbers)
    looks_numeric = is_number.any() and is_number.sum() * 2 > (~missing).sum()
    numeric = task == "regression" or (task == "auto" and looks_numeric)
    if numeric and not is_number.any():
        raise RunError(
            f"--task regression needs numbers in the target {name!r}, but data file {path} "
            f"holds text there (e.g. {text[~missing].iloc[0]!r}); use --task classification"
        )
    bad = missing | (numeric & ~np.isfinite(numbers))
    keep = None
    if bad.any():
        where = np.flatnonzero(bad)
        values = ", ".join(repr(_cell(text.iloc[i])) for i in where[:SHOWN_ROWS])
        if not drop_missing:
            raise RunError(
                f"data file {path}: the target {name!r} has {len(where)} cell(s) that are "
                f"{'not finite numbers' if numeric else 'empty'} in {spreadsheet_rows(where)} "
                f"({values}); fix them, or drop those rows with --drop-missing-target"
            )
        keep = np.flatnonzero(~bad)
        if not len(keep):
            raise RunError(f"data file {path}: no row has a usable target {name!r}")
        text, numbers = text.iloc[keep], numbers[keep]
    n = len(text)
    if numeric:
        too_big = np.flatnonzero(np.abs(numbers) > FLOAT32_MAX)
        if len(too_big):
            rows = keep[too_big] if keep is not None else too_big
            raise RunError(
                f"data file {path}: the target {name!r} overflows float32 (|value| > 3.4e38) in "
                f"{spreadsheet_rows(rows)}; chainrule trains in float32: rescale the column"
            )
    all_numbers = bool(np.isfinite(numbers).all())
    whole = all_numbers and bool(text.str.fullmatch(r"[+-]?\d+").all())
    if task == "regression" or (task == "auto" and numeric and not whole):
        why = "as asked" if task == "regression" else "its numbers are written with decimals"
        return Target("regression", numbers, [], keep, f"regression ({why})")
    if whole:
        labels = numbers.astype(np.int64)
    elif all_numbers:
        labels = numbers
    else:
        labels = text.astype(str).to_numpy(dtype=object)
    classes, y, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if task == "classification":
        why = "as asked"
    elif not numeric:
        why = "its values are text"
    else:
        limit = max(2, min(50, n // 20))
        if len(classes) > limit or counts.min() < 2:
            reason = (
                f"{len(classes)} distinct values, more than {limit} = max(2, min(50, rows/20))"
                if len(classes) > limit
                else f"the value {classes[counts.argmin()]} has a single row"
            )
            return Target(
                "regression", numbers, [], keep, f"regression (whole numbers with {reason})"
            )
        why = f"whole numbers with {len(classes)} distinct values, at most {limit}"
    labels_out = [c.item() if hasattr(c, "item") else c for c in classes]
    return Target("classification", y.astype(np.int64), labels_out, keep, f"classification ({why})")


def _cell(value: Any) -> str:
    return "" if not isinstance(value, str) else value


# -- the features --------------------------------------------------------------------------------
def is_categorical(dtype: Any) -> bool:
    """Text, pandas category or bool columns are categorical; numbers are numeric."""
    pd = _pandas()
    return not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def all_numbers(series: Any) -> bool:
    """True for a column pandas kept as text although every filled cell is a number: integers
    beyond 64 bits, or digits too long for a float (``check_numbers`` then parses it, and a value
    beyond float32 is an error naming its row, not one category per value)."""
    pd = _pandas()
    filled = series[series.notna()]
    kind = pd.api.types.infer_dtype(filled, skipna=True) if len(filled) else "empty"
    if kind not in ("string", "integer", "floating", "mixed-integer-float", "decimal"):
        return False  # bool, category and mixed values stay categorical
    return not np.isnan(_floats(filled)).any()


def as_labels(series: Any) -> np.ndarray:
    """A categorical column as an object array of strings, NaN where a cell is missing; bool
    values become 'True' and 'False', however they were written."""
    values = series.astype(object)
    missing = values.isna().to_numpy()
    out = np.empty(len(values), dtype=object)
    out[:] = [_label(v) for v in values.to_numpy()]
    out[missing] = np.nan
    return out


def _label(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, str):
        lowered = value.strip().lower()
        return {"true": "True", "false": "False"}.get(lowered, value)
    return str(value)


def check_numbers(path: str, frame: Any, numeric: list[str], first_row: int = 0) -> np.ndarray:
    """Makes the ``numeric`` columns of ``frame`` numbers in place (a column that pandas read as
    text, as a chunk of ``predict`` may, is parsed) and returns each one's count of missing
    cells; a ``RunError`` naming the rows of a cell that is not a number, or whose magnitude
    overflows float32 (chainrule trains in float32). Passes over blocks of many columns, so that
    a table of 10⁵ columns is checked in linear time, each of about 32 MB."""
    kinds = dict(zip(frame.columns, frame.dtypes))  # not frame.dtypes[name]: 10⁵ lookups
    for name in numeric:
        if is_categorical(kinds[name]):
            frame[name] = _parse_numbers(path, name, frame[name], first_row)
    missing = np.zeros(len(numeric), dtype=np.int64)
    width = max(1, CHECK_CELLS // max(1, len(frame)))  # columns per pass: about 32 MB
    for start in range(0, len(numeric), width):
        names = numeric[start : start + width]
        block = frame[names].to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column's maximum
            big = (np.nanmax(block, axis=0) > FLOAT32_MAX) | (
                np.nanmin(block, axis=0) < -FLOAT32_MAX
            )
        missing[start : start + width] = np.isnan(block).sum(axis=0)
        if big.any():
            j = int(big.argmax())
            with np.errstate(invalid="ignore"):
                rows = np.flatnonzero(np.abs(block[:, j]) > FLOAT32_MAX)
            raise RunError(
                f"data file {path}: the column {names[j]!r} overflows float32 (|value| > 3.4e38, "
                f"or infinite) in {spreadsheet_rows(rows, first_row)}; chainrule trains in "
                f"float32: rescale or drop the column (--drop {names[j]})"
            )
    return missing


def _floats(text: Any) -> np.ndarray:
    """Text cells as float64, NaN where a cell is not a number; an integer too long for a
    float is ±inf, as ``float()`` reads its digits (pandas keeps it an exact int)."""
    pd = _pandas()
    try:
        numbers = pd.to_numeric(text, errors="coerce")
        if numbers.dtype != object:
            return numbers.to_numpy(np.float64)
    except OverflowError:  # pandas holding an integer beyond 64 bits
        pass
    return np.fromiter((_float(v) for v in text), dtype=np.float64, count=len(text))


def _float(value: Any) -> float:
    try:
        return float(str(value)) if value is not None else np.nan
    except ValueError:
        return np.nan


def _parse_numbers(path: str, name: str, series: Any, first_row: int) -> np.ndarray:
    text = series.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
    filled = (text.notna() & (text != "")).to_numpy()
    values = _floats(text.where(filled, None))
    bad = np.flatnonzero(filled & np.isnan(values))
    if len(bad):
        raise RunError(
            f"data file {path}: the numeric column {name!r} holds {text.iloc[bad[0]]!r} in "
            f"{spreadsheet_rows(bad, first_row)}, which is not a number"
        )
    return values
