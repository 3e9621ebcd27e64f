"""Sample cases for the fused ops: ``linear`` (with its activations), cross-entropy and
binary cross-entropy from logits (registered into ``cases.CASES`` when ``cases`` is imported).
"""

from __future__ import annotations

import itertools

import numpy as np

import chainrule as cr

from ._case_table import _F, Arg, Const, _shape_label, _torch, add_case

for _xs in [(4, 3), (3,), (2, 4, 3)]:
    add_case(
        "linear",
        [Arg(_xs), Arg((3, 2)), Arg((2,))],
        cr.linear,
        lambda x, w, b: x @ w + b,
        f"x{_shape_label(_xs)}",
    )
add_case("linear", [Arg((4, 3)), Arg((3, 2))], cr.linear, lambda x, w: x @ w, "no-bias")
for _act, _xs in itertools.product(("relu", "sigmoid", "tanh"), [(4, 3), (3,), (2, 4, 3)]):
    add_case(
        "linear",
        [Arg(_xs), Arg((3, 2)), Arg((2,))],
        lambda x, w, b, a=_act: cr.linear(x, w, b, activation=a),
        lambda x, w, b, a=_act: getattr(_torch(), a)(x @ w + b),
        f"{_act}-x{_shape_label(_xs)}",
    )
add_case(
    "linear",
    [Arg((4, 3)), Arg((3, 2))],
    lambda x, w: cr.linear(x, w, activation="tanh"),
    lambda x, w: _torch().tanh(x @ w),
    "tanh-no-bias",
)


def _ce_case(label, n=5, c=4, target="index", unbatched=False, **kw):
    shape = (c,) if unbatched else (n, c)
    if target == "index":

        def make(r, ig=kw.get("ignore_index")):
            t = r.integers(0, c, () if unbatched else n)
            if ig is not None and not unbatched:
                t[1] = ig
            return t

        tgt = Const(make)
    else:
        tgt = Arg(shape, 0.0, 1.0)
    weight = kw.pop("weight", None)

    def ours(x, t):
        return cr.cross_entropy(x, t, weight=weight, **kw)

    def theirs(x, t):
        torch = _torch()
        w = None if weight is None else torch.as_tensor(weight, dtype=x.dtype)
        if t.dtype.is_floating_point is False:
            t = t.long()
        return _F().cross_entropy(x, t, weight=w, **kw)

    add_case("cross_entropy", [Arg(shape, -3, 3), tgt], ours, theirs, label)


_W4 = np.array([0.5, 1.0, 2.0, 1.5])
for _red in ("mean", "sum", "none"):
    _ce_case(f"index-{_red}", reduction=_red)
    _ce_case(f"prob-{_red}", target="prob", reduction=_red)
    _ce_case(f"index-weight-{_red}", weight=_W4, reduction=_red)
    _ce_case(f"index-smooth-weight-{_red}", weight=_W4, label_smoothing=0.2, reduction=_red)
_ce_case("index-smooth", label_smoothing=0.1)
_ce_case("prob-smooth-weight", target="prob", label_smoothing=0.1, weight=_W4)
_ce_case("ignore-index", ignore_index=-100)
_ce_case("ignore-index-smooth-weight", ignore_index=2, label_smoothing=0.1, weight=_W4)
_ce_case("unbatched", unbatched=True)
_ce_case("unbatched-prob", target="prob", unbatched=True)


def _bce_case(label, shape=(5, 3), **kw):
    extra = {k: kw.pop(k) for k in ("weight", "pos_weight") if k in kw}

    def ours(x, y):
        return cr.binary_cross_entropy_with_logits(x, y, **extra, **kw)

    def theirs(x, y):
        torch = _torch()
        conv = {k: torch.as_tensor(v, dtype=x.dtype) for k, v in extra.items()}
        return _F().binary_cross_entropy_with_logits(x, y, **conv, **kw)

    add_case(
        "binary_cross_entropy_with_logits",
        [Arg(shape, -4, 4), Arg(shape, 0.0, 1.0)],
        ours,
        theirs,
        label,
    )


for _red in ("mean", "sum", "none"):
    _bce_case(f"plain-{_red}", reduction=_red)
    _bce_case(
        f"weights-{_red}",
        weight=np.array([0.5, 1.0, 2.0]),
        pos_weight=np.array([3.0, 1.0, 0.25]),
        reduction=_red,
    )
_bce_case("scalar", shape=())
