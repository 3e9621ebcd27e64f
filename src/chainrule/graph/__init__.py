"""Seeing the chain rule: graph drawings, the backprop trace and the matrix-chain order.

>>> import chainrule as cr
>>> x = cr.tensor([2.0], requires_grad=True); y = cr.tensor([3.0], requires_grad=True)
>>> F = (x.log() + x**2 * y + y**2).sum()
>>> cr.graph.draw(F, names={"x": x, "y": y}).save("F.svg")     # doctest: +SKIP
>>> print(cr.graph.trace(F))                                   # doctest: +SKIP
>>> cr.graph.matrix_chain_order((30, 35, 15, 5, 10, 20, 25)).cost
15125

* ``to_dot``, ``to_svg``, ``draw``/``Graph``: the graph below a tensor as Graphviz DOT text or
  SVG (Graphviz's ``dot`` when installed, a built-in layered layout otherwise). A ``Graph`` is a
  snapshot taken when it is made. Traversal is iterative; drawings above ``max_nodes`` (2000 by
  default) are refused with a ``ValueError`` unless ``max_nodes=None``. A graph already consumed
  by ``backward()`` is drawn as far as it remains, each freed op marked as such.
* ``trace``: runs the backward pass with hooks and tabulates every node's value and gradient, in
  forward order, grouped by dense layer; it leaves ``.grad`` and the graph as they were.
* ``matrix_chain_order``: the cheapest product order of a chain of Jacobians, against the
  forward-mode and reverse-mode orders.

Nothing here imports Graphviz, pandas or matplotlib at import time.
"""

from ._chain import MatrixChain, matrix_chain_order
from ._drawing import Edge, Node
from ._trace import LayerTrace, Trace, TraceRow, trace
from ._view import Graph, draw, to_dot, to_svg
from ._walk import walk

__all__ = [
    "Edge",
    "Graph",
    "LayerTrace",
    "MatrixChain",
    "Node",
    "Trace",
    "TraceRow",
    "draw",
    "matrix_chain_order",
    "to_dot",
    "to_svg",
    "trace",
    "walk",
]
