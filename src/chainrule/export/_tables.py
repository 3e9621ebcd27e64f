"""A table's preprocessing in the graph, as ``chainrule predict`` applies it: numeric columns
imputed (with missing-value indicators) and standardised, categorical columns one-hot encoded.

The graph then takes two inputs: ``numeric`` (batch, n_numeric) floats, NaN where a cell is
missing, and ``categorical`` (batch, n_categorical) strings, "" where a cell is missing, each
in the order of the model card's columns (an input with no column is left out). The
preprocessing is read from an object with ``columns`` (each with ``name``, ``kind``, ``fill``,
``indicator``, ``categories``, ``infrequent``), ``groups``, ``mean`` and ``scale``, such as the
``Preprocessing`` of a ``chainrule train`` run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._graph import Graph, onnx_type, tensor_info

NUMERIC, CATEGORICAL = "numeric", "categorical"


def is_table(preprocessing: Any) -> bool:
    """True for a table's preprocessing (columns in groups), not a plain scaling."""
    return hasattr(preprocessing, "columns") and hasattr(preprocessing, "groups")


def table_inputs(prep: Any, dtype: np.dtype) -> list[Any]:
    """The graph's input declarations for ``prep``'s numeric and categorical columns."""
    numeric = [c for c in prep.columns if c.kind == "numeric"]
    categorical = [c for c in prep.columns if c.kind == "categorical"]
    return [
        tensor_info(name, dt, (None, len(cols)))
        for name, dt, cols in ((NUMERIC, dtype, numeric), (CATEGORICAL, np.str_, categorical))
        if cols
    ]


def table_nodes(g: Graph, prep: Any) -> str:
    """Nodes from the two inputs to the network's input: ``prep.transform`` as a graph."""
    numeric = [c for c in prep.columns if c.kind == "numeric"]
    blocks, start = [], 0
    for size in prep.groups:  # as the ColumnTransformer: a group's values, then its indicators
        group = numeric[start : start + size]
        index = g.const("group.index", np.arange(start, start + size), np.int64)
        x = g.op("Gather", [NUMERIC, index], "group", axis=1)
        missing = g.op("IsNaN", [x], "group.missing")
        fills = [np.nan if c.fill is None else c.fill for c in group]  # no fill: NaN stays NaN
        blocks.append(g.op("Where", [missing, g.const("group.fill", fills), x], "group.filled"))
        flags = [j for j, c in enumerate(group) if c.indicator]
        if flags:
            flagged = g.op("Gather", [missing, g.const("flags", flags, np.int64)], "flags", axis=1)
            blocks.append(g.op("Cast", [flagged], "indicators", to=onnx_type(g.dtype)))
        start += size
    numbers: str | None = None
    if blocks:
        x = g.op("Concat", blocks, "numeric.block", axis=1) if len(blocks) > 1 else blocks[0]
        x = g.op("Sub", [x, g.const("numeric.mean", prep.mean)], "numeric.centred")
        numbers = g.op("Div", [x, g.const("numeric.scale", prep.scale)], "numeric.scaled")
    onehots = [
        _one_hot(g, c, j) for j, c in enumerate(c for c in prep.columns if c.kind == "categorical")
    ]
    parts = ([numbers] if numbers is not None else []) + onehots
    return g.op("Concat", parts, "features", axis=1) if len(parts) > 1 else parts[0]


def _one_hot(g: Graph, column: Any, j: int) -> str:
    """One categorical column: its categories' columns, then the infrequent one; an unseen
    category is all zeros; a missing cell ("") counts as the training fill value."""
    width = len(column.categories) + bool(column.infrequent)
    keys = [*column.categories, *column.infrequent]
    codes = [*range(len(column.categories)), *[len(column.categories)] * len(column.infrequent)]
    if "" not in keys:
        keys.append("")
        codes.append(codes[keys.index(column.fill)] if column.fill in keys else width)
    cell = g.op("Gather", [CATEGORICAL, g.const("column", [j], np.int64)], column.name, axis=1)
    cell = g.op("Squeeze", [cell, g.const("axis", [1], np.int64)], f"{column.name}.cells")
    code = g.op(
        "LabelEncoder",
        [cell],
        f"{column.name}.code",
        domain="ai.onnx.ml",
        keys_strings=keys,
        values_int64s=codes,
        default_int64=width,  # unseen: the extra column, cut off below
    )
    depth = g.const("depth", width + 1, np.int64)
    values = g.const("onehot.values", [0.0, 1.0])
    onehot = g.op("OneHot", [code, depth, values], f"{column.name}.onehot", axis=-1)
    starts, ends = g.const("start", [0], np.int64), g.const("end", [width], np.int64)
    axes = g.const("axis", [1], np.int64)
    return g.op("Slice", [onehot, starts, ends, axes], f"{column.name}.encoded")
