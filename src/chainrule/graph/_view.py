"""``Graph``: a snapshot of the computational graph below a tensor, as DOT text or SVG."""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._io import write_atomic
from .._tensor import Tensor
from ._dot import RANKDIRS, to_dot_text
from ._drawing import Edge, Node, Options, build
from ._svg import render
from ._walk import resolve_names

ENGINES = ("auto", "dot", "own")


def _grads_by_id(grads: Any) -> dict[int, Any]:
    """Gradients keyed by tensor identity, from a ``Trace`` or a ``{tensor: gradient}`` dict."""
    if grads is None:
        return {}
    by_id = getattr(grads, "grads_by_id", None)
    if by_id is not None:
        return dict(by_id)
    if not isinstance(grads, Mapping):
        raise TypeError(
            f"graph: grads must be a Trace (cr.graph.trace(loss)) or a mapping from tensor to "
            f"gradient, got {type(grads).__name__}"
        )
    out = {}
    for t, g in grads.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"graph: the keys of grads must be tensors, got {type(t).__name__}")
        out[id(t)] = g.data if isinstance(g, Tensor) else np.asarray(g)
    return out


class Graph:
    """The computational graph below ``tensor``, captured when the ``Graph`` is made.

    Tensor boxes show shape and dtype, the value when it has at most ``max_value_size``
    elements (a summary otherwise) and the gradient once known: a leaf's ``.grad``, or any
    node's gradient from ``grads`` (``cr.graph.trace(loss)`` captures them all). Leaves that
    require grad are blue and bold, constants grey and dashed, the drawn tensor green, ops yellow.

    A graph already consumed by ``backward()`` (without ``retain_graph=True``) is drawn as far
    as it remains: each freed op is a red dashed node saying so, with nothing below it.

    Parameters
    ----------
    tensor : Tensor
        The output to draw the graph of (any shape).
    names : mapping of str to Tensor, optional
        Labels for tensors, e.g. ``{"x": x, "W1": W1}``; a constant tensor is labelled too.
        Nothing is inferred: unnamed leaves read "leaf".
    grads : Trace or mapping of Tensor to array, optional
        Gradients to show on intermediate tensors.
    show_values, show_grads : bool
        Whether boxes show values and gradients.
    max_value_size : int
        Arrays with more elements are summarised (shape, mean, min, max).
    precision : int
        Significant digits of the numbers shown.
    rankdir : {"TB", "LR", "BT", "RL"}
        Direction of the flow from inputs to output (top to bottom by default).
    max_nodes : int or None
        Refuse (``ValueError``) to draw more nodes than this; ``None``: no limit.

    Attributes
    ----------
    nodes : tuple of Node
        In topological order (inputs first); ``Node.kind`` is one of ``input`` (a leaf that
        requires grad), ``constant``, ``tensor``, ``output``, ``op``, ``freed``.
    edges : tuple of Edge
        From each operand to its op (labelled with the argument name where order matters) and
        from each op to its result.
    n_freed : int
        How many ops had their saved values released by ``backward()``.
    """

    def __init__(
        self,
        tensor: Tensor,
        *,
        names: Mapping[str, Tensor] | None = None,
        grads: Any = None,
        show_values: bool = True,
        show_grads: bool = True,
        max_value_size: int = 6,
        precision: int = 4,
        rankdir: str = "TB",
        max_nodes: int | None = 2000,
    ) -> None:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"graph: expected a Tensor, got {type(tensor).__name__}")
        if rankdir not in RANKDIRS:
            raise ValueError(f"graph: rankdir must be one of {RANKDIRS}, got {rankdir!r}")
        if max_value_size < 0 or precision < 1:
            raise ValueError(
                f"graph: max_value_size must be >= 0 and precision >= 1, got "
                f"{max_value_size} and {precision}"
            )
        by_name = resolve_names(names, "graph")
        opts = Options(show_values, show_grads, int(max_value_size), int(precision))
        self.rankdir = rankdir
        nodes, edges, freed = build(tensor, by_name, _grads_by_id(grads), opts, max_nodes)
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.edges: tuple[Edge, ...] = tuple(edges)
        self.n_freed = freed

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        freed = f", {self.n_freed} freed" if self.n_freed else ""
        return f"<Graph: {len(self.nodes)} nodes, {len(self.edges)} edges{freed}>"

    def to_dot(self) -> str:
        """Graphviz DOT text (render it with ``dot -Tsvg`` or the ``graphviz`` package)."""
        return to_dot_text(list(self.nodes), list(self.edges), self.rankdir)

    def to_svg(self, engine: str = "auto") -> str:
        """SVG text.

        ``engine="auto"`` uses the Graphviz ``dot`` program when it is on the PATH and the
        built-in layered layout otherwise (or if ``dot`` fails, with a warning); ``"dot"`` and
        ``"own"`` force one of them.
        """
        if engine not in ENGINES:
            raise ValueError(f"to_svg: engine must be one of {ENGINES}, got {engine!r}")
        if engine != "own":
            exe = shutil.which("dot")
            if exe is None and engine == "dot":
                raise RuntimeError(
                    "to_svg: engine='dot' needs the Graphviz 'dot' program on the PATH "
                    "(install graphviz, e.g. apt-get install graphviz), or use engine='own'"
                )
            if exe is not None:
                try:
                    return _run_dot(exe, self.to_dot())
                except RuntimeError as e:
                    if engine == "dot":
                        raise
                    warnings.warn(f"{e}; using the built-in layout instead", stacklevel=2)
        return render(list(self.nodes), list(self.edges), self.rankdir)

    def save(self, path: str | os.PathLike[str], engine: str = "auto") -> Path:
        """Writes ``.svg`` or ``.dot`` (by suffix), via a temporary file renamed into place."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".svg", ".dot", ".gv"):
            raise ValueError(
                f"Graph.save: cannot tell the format from {path.name!r}: use a name ending "
                f"in .svg or .dot"
            )
        text = self.to_dot() if suffix in (".dot", ".gv") else self.to_svg(engine)
        write_atomic(path, text)
        return path

    def _repr_svg_(self) -> str:
        return self.to_svg()


def _run_dot(exe: str, dot_text: str) -> str:
    try:
        done = subprocess.run(
            [exe, "-Tsvg"], input=dot_text, capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError(f"to_svg: running {exe} failed: {e}") from None
    if done.returncode != 0 or "<svg" not in done.stdout:
        raise RuntimeError(
            f"to_svg: {exe} -Tsvg exited with status {done.returncode}: {done.stderr.strip()[:500]}"
        )
    return done.stdout


def draw(tensor: Tensor, **options: Any) -> Graph:
    """The ``Graph`` below ``tensor`` (shows itself in notebooks); options as ``Graph``."""
    return Graph(tensor, **options)


def to_dot(tensor: Tensor, **options: Any) -> str:
    """Graphviz DOT text of the graph below ``tensor``; options as ``Graph``.

    Examples
    --------
    >>> x = cr.tensor([2.0], requires_grad=True); y = cr.tensor([3.0], requires_grad=True)
    >>> print(cr.graph.to_dot(x.log() + x**2 * y, names={"x": x, "y": y}))  # doctest: +SKIP
    """
    return Graph(tensor, **options).to_dot()


def to_svg(tensor: Tensor, engine: str = "auto", **options: Any) -> str:
    """SVG text of the graph below ``tensor``: Graphviz when installed, else the built-in
    layered layout (see ``Graph.to_svg``); options as ``Graph``."""
    return Graph(tensor, **options).to_svg(engine)
