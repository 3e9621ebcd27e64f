"""Scales and pixels of the report's SVG charts: round tick values and their labels, the
range an axis shows, matplotlib's colours and colour maps, and images as PNG bytes."""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

# matplotlib's default colour cycle (tab10)
TAB10 = tuple(
    "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf".split()
)
# colour maps as evenly spaced anchors, interpolated linearly: matplotlib's viridis (17, within
# 5 levels of its 256 colours) and Blues (ColorBrewer's 9, matplotlib's own anchors)
VIRIDIS = tuple(
    "#440154 #48186a #472d7b #424086 #3b528b #33638d #2c728e #26828e #21918c #1fa088 #28ae80 "
    "#3fbc73 #5ec962 #84d44b #addc30 #d8e219 #fde725".split()
)
BLUES = tuple("#f7fbff #deebf7 #c6dbef #9ecae1 #6baed6 #4292c6 #2171b5 #08519c #08306b".split())
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def colormap(anchors: Sequence[str], values: np.ndarray) -> np.ndarray:
    """RGB colours (..., 3) uint8 of ``values`` in [0, 1] (NaN as 0) under the map."""
    rgb = np.array([[int(a[i : i + 2], 16) for i in (1, 3, 5)] for a in anchors], float)
    where = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0, 1)
    where = where * (len(anchors) - 1)
    low = np.minimum(where.astype(np.int64), len(anchors) - 2)
    t = (where - low)[..., None]
    return np.rint(rgb[low] * (1 - t) + rgb[low + 1] * t).astype(np.uint8)


def png(rgb: np.ndarray) -> bytes:
    """An (h, w, 3) uint8 image as PNG bytes (8-bit RGB, no filter)."""
    h, w, _ = rgb.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, 3 * w)], axis=1)

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(np.ascontiguousarray(rows).tobytes(), 6)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def text_width(text: str, size: float) -> float:
    """About the width in px of ``text`` at ``size`` px in a sans-serif font."""
    return 0.58 * size * len(text)


def num(v: Any) -> str:
    """A coordinate in px (a float or a 0-d array) with at most one decimal."""
    return f"{float(v):.1f}".rstrip("0").rstrip(".")


def ticks(
    low: float, high: float, log: bool = False, n: int = 5, integer: bool = False
) -> list[tuple[float, str]]:
    """About ``n`` round tick values in [low, high] with their labels: steps of 1, 2, 2.5 or 5
    times a power of ten (whole numbers only when ``integer``); powers of ten on a log axis
    (every k-th decade when there are many, with 2 and 5 in between when there are few)."""
    if not low < high:
        return []
    if log:
        first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
        every = max(1, math.ceil((last - first) / (n + 2)))  # labels of decades are short
        values = [10.0**e for e in range(first, last + 1) if e % every == 0]
        if last - first <= 2:  # few decades: 1, 2 and 5 of each, written out when short
            values = sorted(m * v for v in values for m in (1, 2, 5))
        values = [v for v in values if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]
        if len(values) < 2 or (len(values) == 2 and last - first <= 2):
            # a range within a decade or two: round steps, placed on the log scale
            return [(v, label) for v, label in ticks(low, high, n=4) if v > 0]
        plain = last - first <= 2 and all(1e-3 <= v < 1e4 for v in values)
        return [(v, f"{v:g}" if plain else _log_label(v)) for v in values]
    raw = (high - low) / n
    magnitude = 10.0 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in steps if m * magnitude >= raw * 0.999)
    step = max(1.0, step) if integer else step
    decimals = max(0, -math.floor(math.log10(step)) + (step / magnitude == 2.5))
    start = math.ceil(low / step - 1e-9)
    values = [(start + i) * step for i in range(int((high - low) / step + 1e-9) + 2)]
    return [(v, _label(v, decimals)) for v in values if v <= high + step * 1e-9]


def _label(v: float, decimals: int) -> str:
    if decimals > 4 or abs(v) >= 1e6:
        return "0" if v == 0 else f"{v:.2g}"
    return f"{v:.{decimals}f}".replace("-", "−") if round(v, decimals) else "0"


def _log_label(v: float) -> str:
    exponent = math.floor(math.log10(v) + 1e-9)
    mantissa = round(v / 10.0**exponent)
    power = "10" + str(exponent).translate(_SUPERSCRIPT)
    return power if mantissa == 1 else f"{mantissa}·{power}"


def limits(values: list[np.ndarray], log: bool, margin: float) -> tuple[float, float]:
    """The data's extent (finite values; positive ones on a log axis) widened by ``margin``
    of it on each side; (0, 1) or (1, 10) when there are none."""
    data = np.concatenate([np.zeros(0)] + [np.asarray(v, np.float64).ravel() for v in values])
    data = data[np.isfinite(data) & ((data > 0) if log else True)]
    if not data.size:
        return (1.0, 10.0) if log else (0.0, 1.0)
    low, high = float(data.min()), float(data.max())
    if log:
        low, high = math.log10(low), math.log10(high)
    if high - low <= 1e-12 * max(1.0, abs(high)):  # one value: 5% of it on each side
        delta = abs(low) * 0.05 or 0.5
        low, high = low - delta, high + delta
    pad = (high - low) * margin
    low, high = low - pad, high + pad
    return (10.0**low, 10.0**high) if log else (low, high)
