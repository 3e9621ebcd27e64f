"""The matrix-chain ordering problem: which order of products is cheapest.

A Jacobian of a composition is a product of Jacobians J = J₁·J₂·…·Jₙ. Forward mode multiplies it
from the left end, reverse mode from the right end; the cheapest order in between is found by the
classic dynamic programme (CLRS §15.2), O(n³) time and O(n²) memory.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class MatrixChain:
    """The optimal parenthesisation of A₁·A₂·…·Aₙ, Aᵢ of shape ``dims[i-1] × dims[i]``.

    Attributes
    ----------
    dims : tuple of int
        The n + 1 dimensions.
    order : str
        The optimal parenthesisation, e.g. ``"((A1(A2A3))((A4A5)A6))"``.
    cost : int
        Its number of scalar multiplications (multiplying p×q by q×r costs p·q·r).
    forward_cost : int
        Cost of the left-to-right order ``((A1A2)A3)…`` (forward mode).
    reverse_cost : int
        Cost of the right-to-left order ``A1(A2(A3…))`` (reverse mode).
    table : tuple of tuples
        ``table[i][j]``: the least cost of Aᵢ₊₁…Aⱼ₊₁ (0-based, ``None`` below the diagonal).
    """

    dims: tuple[int, ...]
    order: str
    cost: int
    forward_cost: int
    reverse_cost: int
    table: tuple[tuple[int | None, ...], ...]

    @property
    def n_matrices(self) -> int:
        return len(self.dims) - 1

    @property
    def forward_order(self) -> str:
        """The left-to-right parenthesisation, ``(((A1A2)A3)A4)``."""
        n = self.n_matrices
        text = "A1"
        for k in range(2, n + 1):
            text = f"({text}A{k})"
        return text

    @property
    def reverse_order(self) -> str:
        """The right-to-left parenthesisation, ``(A1(A2(A3A4)))``."""
        n = self.n_matrices
        text = f"A{n}"
        for k in range(n - 1, 0, -1):
            text = f"(A{k}{text})"
        return text

    def __str__(self) -> str:
        return (
            f"matrix chain {' x '.join(map(str, self.dims))}: best {self.order} costs "
            f"{self.cost:,} multiplications; left to right (forward mode) {self.forward_cost:,}; "
            f"right to left (reverse mode) {self.reverse_cost:,}"
        )


def _check_dims(dims: Sequence[int]) -> tuple[int, ...]:
    if isinstance(dims, (str, bytes)) or not hasattr(dims, "__len__"):
        raise TypeError(
            f"matrix_chain_order: dims must be a sequence of ints, got {type(dims).__name__}"
        )
    out = []
    for i, d in enumerate(dims):
        if isinstance(d, bool):
            raise TypeError(f"matrix_chain_order: dims[{i}] must be an int, got bool {d}")
        try:
            d = operator.index(d)
        except TypeError:
            raise TypeError(
                f"matrix_chain_order: dims[{i}] must be an int, got {type(d).__name__} {d!r}"
            ) from None
        if d <= 0:
            raise ValueError(f"matrix_chain_order: dims[{i}] must be positive, got {d}")
        out.append(d)
    if len(out) < 2:
        raise ValueError(
            f"matrix_chain_order: dims needs at least 2 entries (one matrix is dims[0] x dims[1]), "
            f"got {len(out)}"
        )
    return tuple(out)


def matrix_chain_order(dims: Sequence[int]) -> MatrixChain:
    """Finds the cheapest way to multiply a chain of matrices, by dynamic programming.

    Parameters
    ----------
    dims : sequence of int, length n + 1
        Matrix Aᵢ (i = 1…n) has shape ``dims[i-1] × dims[i]``.

    Returns
    -------
    MatrixChain
        The optimal order and its cost, with the costs of the forward-mode (left-to-right) and
        reverse-mode (right-to-left) orders for comparison.

    Examples
    --------
    >>> r = matrix_chain_order((30, 35, 15, 5, 10, 20, 25))
    >>> r.order, r.cost
    ('((A1(A2A3))((A4A5)A6))', 15125)
    """
    p = _check_dims(dims)
    n = len(p) - 1
    # m[i][j]: least cost of A_{i+1}…A_{j+1}; s[i][j]: the split k after which the last product is
    # (A_{i+1}…A_{k+1})(A_{k+2}…A_{j+1})
    m = [[0] * n for _ in range(n)]
    s = [[0] * n for _ in range(n)]
    for length in range(2, n + 1):
        for i in range(n - length + 1):
            j = i + length - 1
            # the cheapest split, the first one on a tie
            m[i][j], s[i][j] = min(
                (m[i][k] + m[k + 1][j] + p[i] * p[k + 1] * p[j + 1], k) for k in range(i, j)
            )
    forward = sum(p[0] * p[k - 1] * p[k] for k in range(2, n + 1))
    reverse = sum(p[k - 1] * p[k] * p[n] for k in range(1, n))
    return MatrixChain(
        dims=p,
        order=_parenthesise(s, n),
        cost=m[0][n - 1],
        forward_cost=forward,
        reverse_cost=reverse,
        table=tuple(
            tuple(c if j >= i else None for j, c in enumerate(row)) for i, row in enumerate(m)
        ),
    )


def _parenthesise(s: list[list[int]], n: int) -> str:
    """The order recorded in the split table, written without recursion."""
    out: list[str] = []
    stack: list[tuple[int, int] | str] = [(0, n - 1)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        i, j = item
        if i == j:
            out.append(f"A{i + 1}")
            continue
        k = s[i][j]
        out.append("(")
        stack.extend([")", (k + 1, j), (i, k)])
    return "".join(out)
