"""Products: ``einsum`` is the primitive; dot, vdot, inner, outer, tensordot and kron are
compositions of it (and of ``matmul``), exact by construction; cross is built from slices.

``einsum`` is multilinear, so its forward rule is the op with one operand replaced by its
tangent, and each operand's reverse rule is one more einsum: the cotangent contracted with the
other operands onto that operand's subscripts. Two things need care there:
- an index that only that operand carries (summed away in the forward) comes back by
  contracting with a vector of ones of its size;
- a repeated index (``"ii->i"``, a diagonal) is written back onto the diagonal by contracting
  with an identity matrix that links the repeat to a fresh index.
Subscripts are normalised once, in ``_explicit``: implicit output made explicit, ellipses
replaced by letters (right-aligned, as NumPy broadcasts them).
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any

import numpy as np

from ._registry import MULTILINEAR, defop, either, export
from .arithmetic import matmul, mul, sub
from .shape import getitem, permute, reshape, stack

if TYPE_CHECKING:  # annotations only: op files do not import the engine
    from numpy.typing import ArrayLike

    from .._tensor import Tensor

_LETTERS = string.ascii_letters


def _einsum(*xs, subscripts):
    return np.einsum(subscripts, *xs, optimize=len(xs) > 2)


# x̄_k = einsum(ȳ, x_j (j ≠ k) [, ones for indices only x_k has][, eyes for repeats] → s_k)
def _einsum_vjp(g, out, *xs, subscripts, argnum):
    ins, result = subscripts.split("->")
    ins = ins.split(",")
    own, x = ins[argnum], xs[argnum]
    subs = [result] + [s for j, s in enumerate(ins) if j != argnum]
    operands = [g] + [v for j, v in enumerate(xs) if j != argnum]
    fresh = iter(c for c in _LETTERS if c not in subscripts)
    present = set("".join(subs))
    target, seen = "", set()
    for axis, c in enumerate(own):
        if c in seen:  # a repeated index: back onto the diagonal through an identity
            f = next(fresh)
            subs.append(c + f)
            operands.append(np.eye(x.shape[axis], dtype=g.dtype))
            target += f
            continue
        seen.add(c)
        target += c
        if c not in present:  # summed only over this operand: broadcast back with ones
            subs.append(c)
            operands.append(np.ones(x.shape[axis], dtype=g.dtype))
    return _einsum_any(*operands, subscripts=",".join(subs) + "->" + target)


_einsum_op = defop("einsum", _einsum, vjp=_einsum_vjp, variadic=True, jvp=MULTILINEAR, public=False)
_einsum_any = either(_einsum_op)


def _explicit(subscripts: str, ndims: list[int]) -> str:
    """``subscripts`` with the output written out and every ``...`` replaced by letters."""
    subscripts = subscripts.replace(" ", "")
    ins, arrow, result = subscripts.partition("->")
    parts = ins.split(",")
    if len(parts) != len(ndims):
        raise ValueError(
            f"einsum: subscripts {subscripts!r} name {len(parts)} operands, got {len(ndims)}"
        )
    used = set(subscripts) - set(".,->")
    spare = [c for c in _LETTERS if c not in used]
    n_ell = 0
    for p, nd in zip(parts, ndims):
        if "..." in p:
            n_ell = max(n_ell, nd - len(p.replace("...", "")))
    ell = "".join(spare[:n_ell])
    out_parts = []
    for p, nd in zip(parts, ndims):
        if "..." in p:
            k = nd - len(p.replace("...", ""))
            p = p.replace("...", ell[n_ell - k :] if k else "")
        if len(p) != nd:
            raise ValueError(
                f"einsum: operand subscripts {p!r} have {len(p)} indices for an operand "
                f"with {nd} dimensions"
            )
        out_parts.append(p)
    if arrow:
        result = result.replace("...", ell)
    else:  # implicit mode: the ellipsis axes, then indices used once, in alphabetical order
        joined = "".join(out_parts)
        once = sorted(c for c in set(joined) if joined.count(c) == 1 and c not in ell)
        result = ell + "".join(once)
    return ",".join(out_parts) + "->" + result


@export(numpy=True)
def einsum(subscripts: str, *operands: ArrayLike, optimize: Any = None, out: Any = None) -> Tensor:
    """Einstein summation, as ``np.einsum`` / ``torch.einsum`` (explicit, implicit, ``...``).

    Parameters
    ----------
    subscripts : str
        e.g. ``"ij,jk->ik"``, ``"ii"`` (trace), ``"...ij,...jk"`` (batched product); NumPy's
        sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` is accepted too.
    *operands : Tensor or array_like
        One per comma-separated term (a single list of operands is accepted as torch does).
    optimize : ignored
        Accepted for NumPy's signature; the contraction order is chosen here (NumPy's
        optimiser for three or more operands).

    Returns
    -------
    Tensor
        Shape given by the output subscripts.
    """
    if out is not None:
        raise TypeError("einsum: out= is not supported for tensors (results are new tensors)")
    if not isinstance(subscripts, str):  # the sublist form: op0, [0, 1], op1, [1, 2][, [0, 2]]
        subscripts, operands = _from_sublists((subscripts, *operands))
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ndims = [np.ndim(o) for o in operands]
    return _einsum_op(*operands, subscripts=_explicit(subscripts, ndims))


def _from_sublists(args: tuple) -> tuple[str, tuple]:
    """NumPy's sublist form of einsum's arguments as a subscripts string and the operands."""
    operands, sublists = list(args[0::2]), list(args[1::2])
    result = operands.pop() if len(args) % 2 else None

    def letters(sub):
        return "".join("..." if i is Ellipsis else _LETTERS[i] for i in sub)

    spec = ",".join(letters(sub) for sub in sublists)
    return (spec if result is None else f"{spec}->{letters(result)}"), tuple(operands)


def _axes_pair(axes, a_ndim: int, b_ndim: int) -> tuple[list[int], list[int]]:
    if isinstance(axes, int):
        if axes < 0:
            raise ValueError(f"tensordot: axes must be non-negative, got {axes}")
        return list(range(a_ndim - axes, a_ndim)), list(range(axes))
    left, right = axes
    left = [left] if isinstance(left, int) else list(left)
    right = [right] if isinstance(right, int) else list(right)
    if len(left) != len(right):
        raise ValueError(f"tensordot: axes {axes} pair {len(left)} with {len(right)} axes")
    return [i % a_ndim for i in left], [i % b_ndim for i in right]


@export(numpy=True)
def tensordot(a: ArrayLike, b: ArrayLike, axes: Any = 2) -> Tensor:
    """Sums products over ``axes`` (an int N: the last N of a with the first N of b; or two
    sequences of axes), as ``np.tensordot``; output: a's free axes then b's."""
    nda, ndb = np.ndim(a), np.ndim(b)
    left, right = _axes_pair(axes, nda, ndb)
    sa = _LETTERS[:nda]
    letters = list(_LETTERS[nda : nda + ndb])
    for i, j in zip(left, right):
        letters[j] = sa[i]
    sb = "".join(letters)
    result = "".join(c for i, c in enumerate(sa) if i not in left)
    result += "".join(c for j, c in enumerate(sb) if j not in right)
    return _einsum_op(a, b, subscripts=f"{sa},{sb}->{result}")


@export(numpy=True, method=True)
def dot(a: ArrayLike, b: ArrayLike) -> Tensor:
    """``np.dot``: products of scalars, inner product of vectors, matrix product of
    matrices, and for N-D a sum over the last axis of a and the second-to-last of b."""
    nda, ndb = np.ndim(a), np.ndim(b)
    if nda == 0 or ndb == 0:
        return mul(a, b)
    if ndb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([-1], [-2]))


@export(numpy=True, method=True)
def vdot(a: ArrayLike, b: ArrayLike) -> Tensor:
    """``np.vdot`` on real arrays: the sum of products of the flattened inputs."""
    return _einsum_op(_flat(a), _flat(b), subscripts="i,i->")


@export(numpy=True, method=True)
def inner(a: ArrayLike, b: ArrayLike) -> Tensor:
    """``np.inner``: sums products over the last axes of both (a scalar operand multiplies)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return mul(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


@export(numpy=True, method=True)
def outer(a: ArrayLike, b: ArrayLike) -> Tensor:
    """``np.outer``: out[i, j] = a.ravel()[i] · b.ravel()[j], shape (a.size, b.size)."""
    return _einsum_op(_flat(a), _flat(b), subscripts="i,j->ij")


@export(numpy=True, method=True)
def kron(a: ArrayLike, b: ArrayLike) -> Tensor:
    """``np.kron``: the Kronecker product, blocks a[i, j]·b (shapes padded with leading 1s)."""
    nd = max(np.ndim(a), np.ndim(b))
    sa, sb = np.shape(a), np.shape(b)
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    la, lb = _LETTERS[:nd], _LETTERS[nd : 2 * nd]
    pairs = "".join(x + y for x, y in zip(la, lb))
    blocks = _einsum_op(
        reshape(a, shape=sa), reshape(b, shape=sb), subscripts=f"{la},{lb}->{pairs}"
    )
    return reshape(blocks, shape=tuple(m * n for m, n in zip(sa, sb)))


@export(numpy=True)
def cross(a: ArrayLike, b: ArrayLike, axis: int = -1) -> Tensor:
    """``np.cross`` / ``torch.linalg.cross`` of 3-vectors along ``axis`` (broadcast)."""
    sa, sb = np.shape(a), np.shape(b)
    if not sa or not sb or sa[axis] != 3 or sb[axis] != 3:
        raise ValueError(
            f"cross: both inputs need size 3 along axis {axis}, got shapes {sa} and {sb}"
        )
    a, b = _last(a, axis), _last(b, axis)
    a0, a1, a2 = (getitem(a, index=(Ellipsis, i)) for i in range(3))
    b0, b1, b2 = (getitem(b, index=(Ellipsis, i)) for i in range(3))
    parts = [sub(a1 * b2, a2 * b1), sub(a2 * b0, a0 * b2), sub(a0 * b1, a1 * b0)]
    out = stack(*parts, axis=-1)
    nd = np.ndim(out)
    if axis % nd != nd - 1:
        axes = list(range(nd - 1))
        axes.insert(axis % nd, nd - 1)
        out = permute(out, axes=tuple(axes))
    return out


def _last(x, axis):
    """``x`` with ``axis`` moved to the end."""
    nd = np.ndim(x)
    axis %= nd
    if axis == nd - 1:
        return x
    return permute(x, axes=tuple(i for i in range(nd) if i != axis) + (axis,))


def _flat(x):
    return reshape(x, shape=(-1,))
