"""Bounded summaries of tensors over training: a few statistics and a fixed-bin histogram per
recorded iteration, plus per-unit activity counters of constant size.

What one recorded iteration adds to a :class:`Summary` does not depend on the tensor's size or
the batch size: ``len(STATS)`` float64 values, ``n_bins`` int32 counts and one int64 iteration.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

STATS: tuple[str, ...] = (
    "mean",
    "std",
    "min",
    "max",
    "abs_mean",
    "abs_p50",
    "abs_p90",
    "abs_p99",
    "frac_near_zero",
    "frac_nonfinite",
    "norm",
)
"""The statistics recorded per tensor and iteration (percentiles are of |x|; ``norm`` is the L2
norm; ``frac_near_zero`` the fraction with |x| <= ``near_zero``; all but ``frac_nonfinite``
are computed over the finite values)."""

SATURATION_LEVEL = 0.1
"""A sigmoid or tanh output counts as saturated where the unit's derivative is below this
fraction of its peak: σ' = y(1 − y) < 0.025, tanh' = 1 − y² < 0.1."""

_SATURATED = {
    # y(1 - y) < 0.1 * 0.25  <=>  |y - 1/2| > sqrt(1/4 - 0.025)
    "Sigmoid": lambda y: np.abs(y - 0.5) > math.sqrt(0.25 - 0.25 * SATURATION_LEVEL),
    # 1 - y^2 < 0.1  <=>  |y| > sqrt(0.9)
    "Tanh": lambda y: np.abs(y) > math.sqrt(1.0 - SATURATION_LEVEL),
}
_KNOWN_RANGE = {"Sigmoid": (0.0, 1.0), "Tanh": (-1.0, 1.0), "Softmax": (0.0, 1.0)}
_EMA = 0.9  # per-unit saturation is averaged over about the last ten recorded iterations


class Rows:
    """Rows of a fixed width, appended one at a time into fixed-size chunks, so that memory
    grows with the number of rows (never by doubling) and old rows are never copied."""

    def __init__(self, width: int, dtype: Any, chunk: int = 128) -> None:
        self.width, self.dtype, self.chunk = int(width), np.dtype(dtype), int(chunk)
        self._chunks: list[np.ndarray] = []
        self._n = 0

    def append(self, row: Any) -> None:
        i = self._n % self.chunk
        if i == 0:
            self._chunks.append(np.zeros((self.chunk, self.width), self.dtype))
        self._chunks[-1][i] = row
        self._n += 1

    def __len__(self) -> int:
        return self._n

    def array(self) -> np.ndarray:
        """All rows, shape ``(n_rows, width)`` (a new array)."""
        if not self._chunks:
            return np.empty((0, self.width), self.dtype)
        return np.concatenate(self._chunks)[: self._n]

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self._chunks)

    def map(self, fn: Any) -> None:
        """Replaces every chunk ``c`` by ``fn(c)`` (same shape; rows past the end included)."""
        self._chunks = [fn(c) for c in self._chunks]

    @classmethod
    def from_array(cls, arr: np.ndarray, dtype: Any, chunk: int = 128) -> Rows:
        arr = np.asarray(arr, dtype=dtype)
        rows = cls(arr.shape[1], dtype, chunk)
        for row in arr:
            rows.append(row)
        return rows


_QUANTILES = np.array([0.50, 0.90, 0.99])


@functools.lru_cache(maxsize=256)
def _ranks(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """For ``n`` sorted values: the ranks below and above each quantile, the interpolation
    weights, and the ranks a partial sort must place."""
    pos = _QUANTILES * (n - 1)
    lo = pos.astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    return lo, hi, pos - lo, sorted({*lo.tolist(), *hi.tolist()})


def _percentiles(a: np.ndarray) -> np.ndarray:
    """``np.percentile(a, 100 · _QUANTILES)`` (linear interpolation) from one partial sort:
    several times faster than ``np.percentile`` on the small tensors telemetry sees."""
    lo, hi, frac, kth = _ranks(a.size)
    part = np.partition(a, kth)
    return part[lo] + (part[hi] - part[lo]) * frac


_sum, _min, _max = np.add.reduce, np.minimum.reduce, np.maximum.reduce


def summarize(x: np.ndarray, near_zero: float) -> np.ndarray:
    """The ``STATS`` of ``x`` as a float64 vector (the same sums NumPy's mean and std do,
    called directly: this runs for every recorded tensor)."""
    a = np.asarray(x, dtype=np.float64).ravel()
    n = a.size
    out = np.full(len(STATS), np.nan)
    if n == 0:
        return out
    finite = np.isfinite(a)
    n_bad = n - int(np.count_nonzero(finite))
    out[9] = n_bad / n
    if n_bad:
        a = a[finite]
        if a.size == 0:
            return out
    m = a.size
    absa = np.abs(a)
    mean = _sum(a) / m
    centred = a - mean
    out[0], out[1] = mean, math.sqrt(_sum(centred * centred) / m)
    out[2], out[3] = _min(a), _max(a)
    out[4] = _sum(absa) / m
    out[5:8] = _percentiles(absa)
    out[8] = np.count_nonzero(absa <= near_zero) / n
    out[10] = math.sqrt(float(np.dot(a, a)))
    return out


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is >= ``value``."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value * (1 - 1e-12):
            return step * power
    return 10.0 * power


class Histogram:
    """Bins ``[low, high]`` (``n_bins`` equal widths) over x, or over log10|x| when ``log``;
    values beyond the range are counted in the first or last bin.

    An ``adaptive`` histogram (even ``n_bins``, linear) doubles its range on the side a new
    value falls outside, merging each pair of old bins into one new bin: past counts stay
    exact, and the number of bins never changes.
    """

    MAX_DOUBLINGS = 60

    def __init__(
        self, low: float, high: float, n_bins: int, log: bool, adaptive: bool = False
    ) -> None:
        if not high > low:
            raise ValueError(f"histogram range must have low < high, got ({low}, {high})")
        self.low, self.high, self.n_bins, self.log = float(low), float(high), int(n_bins), log
        self.adaptive = adaptive and not log and self.n_bins % 2 == 0
        self._doublings = 0

    @property
    def edges(self) -> np.ndarray:
        return np.linspace(self.low, self.high, self.n_bins + 1)

    def widen(self, lowest: float, highest: float) -> list[str]:
        """Doubles the range until it holds [lowest, highest] (finite values); returns the
        sides it grew on, in order (``"up"``: old bins now in the lower half)."""
        steps: list[str] = []
        if not self.adaptive:
            return steps
        while self._doublings < self.MAX_DOUBLINGS and (highest > self.high or lowest < self.low):
            width = self.high - self.low
            if highest > self.high:
                self.high += width
                steps.append("up")
            else:
                self.low -= width
                steps.append("down")
            self._doublings += 1
        return steps

    @staticmethod
    def merge_pairs(counts: np.ndarray, side: str) -> np.ndarray:
        """Rows of counts re-binned after one doubling toward ``side``."""
        n = counts.shape[-1]
        merged = counts[..., 0::2] + counts[..., 1::2]
        out = np.zeros_like(counts)
        if side == "up":
            out[..., : n // 2] = merged
        else:
            out[..., n // 2 :] = merged
        return out

    def counts(self, x: np.ndarray) -> np.ndarray:
        v = np.asarray(x, dtype=np.float64).ravel()
        v = v[~np.isnan(v)]
        if self.log:
            with np.errstate(divide="ignore"):
                v = np.log10(np.abs(v))
        scaled = (v - self.low) * (self.n_bins / (self.high - self.low))
        index = np.clip(scaled, 0, self.n_bins - 1).astype(np.int64)
        return np.bincount(index, minlength=self.n_bins).astype(np.int32)

    @classmethod
    def auto(cls, x: np.ndarray, kind: str, n_bins: int) -> Histogram:
        """Bins fixed from the first tensor seen: the known range of bounded activations
        (sigmoid, tanh, softmax); else [0 or −c, c] with c a round number >= 1.25·max|x|,
        adaptive (doubling when later values fall outside)."""
        if kind in _KNOWN_RANGE:
            return cls(*_KNOWN_RANGE[kind], n_bins, log=False)
        a = np.asarray(x, dtype=np.float64)
        a = a[np.isfinite(a)]
        top = _nice_ceiling(1.25 * float(np.abs(a).max())) if a.size else 1.0
        low = 0.0 if a.size and a.min() >= 0 else -top
        return cls(low, top, n_bins, log=False, adaptive=True)


class Summary:
    """The bounded record of one tensor (a module's output, a parameter, a gradient).

    Parameters
    ----------
    kind : str
        Class name of the module it comes from (``"ReLU"``, ``"Sigmoid"``, ``"Linear"``).
    n_bins : int
    hist_range : (float, float), optional
        Fixed bins; None fixes them from the first tensor (see :meth:`Histogram.auto`).
    log : bool
        Histogram of log10|x| instead of x.
    near_zero : float
        Threshold of ``frac_near_zero`` and of a unit being active.
    track_units : bool
        Keep per-unit activity (last axis = units): when each unit was last non-zero and,
        for sigmoid and tanh, how often it is saturated.
    """

    def __init__(
        self,
        kind: str,
        n_bins: int,
        hist_range: tuple[float, float] | None,
        log: bool,
        near_zero: float,
        track_units: bool,
    ) -> None:
        self.kind, self.n_bins, self.log = kind, n_bins, log
        self.near_zero, self.track_units = near_zero, track_units
        self.histogram = None if hist_range is None else Histogram(*hist_range, n_bins, log)
        self.iterations = Rows(1, np.int64)
        self.stats_rows = Rows(len(STATS), np.float64)
        self.count_rows = Rows(n_bins, np.int32)
        self.last_active: np.ndarray | None = None  # per unit: record index, -1 never
        self.saturation: np.ndarray | None = None  # per unit: EMA of the saturated fraction
        self._ema_weight = 0.0

    def record(self, iteration: int, x: np.ndarray) -> None:
        """Adds one row for ``x`` at ``iteration`` (and updates the per-unit counters)."""
        if self.histogram is None:
            self.histogram = Histogram.auto(x, self.kind, self.n_bins)
        index = len(self.iterations)
        stats = summarize(x, self.near_zero)
        if self.histogram.adaptive and stats[0] == stats[0]:  # some finite values
            for side in self.histogram.widen(stats[2], stats[3]):
                self.count_rows.map(lambda c, side=side: Histogram.merge_pairs(c, side))
        self.iterations.append(iteration)
        self.stats_rows.append(stats)
        self.count_rows.append(self.histogram.counts(x))
        if self.track_units:
            self._update_units(index, np.asarray(x))

    def _update_units(self, index: int, x: np.ndarray) -> None:
        units = x.reshape(-1, x.shape[-1]) if x.ndim >= 2 else x.reshape(-1, 1)
        n_units = units.shape[1]
        if (
            self.last_active is None
            or self.saturation is None
            or self.last_active.shape[0] != n_units
        ):
            self.last_active = np.full(n_units, -1, np.int64)
            self.saturation, self._ema_weight = np.zeros(n_units), 0.0
        active = np.any(np.abs(units) > self.near_zero, axis=0)
        self.last_active[active] = index
        saturated = _SATURATED.get(self.kind)
        if saturated is not None:
            frac = np.mean(saturated(units), axis=0)
            self.saturation *= _EMA
            self.saturation += (1 - _EMA) * frac
            self._ema_weight = _EMA * self._ema_weight + (1 - _EMA)

    # -- reading ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.iterations)

    def stats(self) -> dict[str, np.ndarray]:
        """``"iteration"`` and each of ``STATS``, one value per recorded iteration."""
        rows = self.stats_rows.array()
        out = {"iteration": self.iterations.array()[:, 0]}
        out.update({name: rows[:, i] for i, name in enumerate(STATS)})
        return out

    def counts(self) -> np.ndarray:
        """Histogram counts, shape ``(n_records, n_bins)``."""
        return self.count_rows.array()

    @property
    def edges(self) -> np.ndarray:
        return self.histogram.edges if self.histogram is not None else np.empty(0)

    def dead_fraction(self, window: int = 20) -> float | None:
        """Fraction of units not active in any of the last ``window`` records (None: no data)."""
        if self.last_active is None or len(self) == 0:
            return None
        recent = len(self) - min(window, len(self))
        return float(np.mean(self.last_active < recent))

    def saturated_fraction(self, level: float = 0.9) -> float | None:
        """Fraction of units saturated on more than ``level`` of recent samples (sigmoid and
        tanh only; None otherwise)."""
        if self.saturation is None or self.kind not in _SATURATED or self._ema_weight == 0:
            return None
        return float(np.mean(self.saturation / self._ema_weight > level))

    @property
    def nbytes(self) -> int:
        """Bytes held by this record's arrays."""
        extra = sum(a.nbytes for a in (self.last_active, self.saturation) if a is not None)
        return self.iterations.nbytes + self.stats_rows.nbytes + self.count_rows.nbytes + extra

    # -- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        h = self.histogram
        return {
            "kind": self.kind,
            "range": None if h is None else [h.low, h.high, h.adaptive, h._doublings],
            "iterations": self.iterations.array()[:, 0],
            "stats": self.stats_rows.array(),
            "counts": self.count_rows.array(),
            "last_active": self.last_active,
            "saturation": self.saturation,
            "ema_weight": self._ema_weight,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        stats, counts = np.asarray(state["stats"]), np.asarray(state["counts"])
        iters = np.asarray(state["iterations"])
        if stats.ndim != 2 or stats.shape[1] != len(STATS) or counts.shape[1:] != (self.n_bins,):
            raise ValueError(
                f"telemetry record has stats {stats.shape} and counts {counts.shape}, expected "
                f"(n, {len(STATS)}) and (n, {self.n_bins})"
            )
        if not len(iters) == len(stats) == len(counts):
            raise ValueError("telemetry record has rows of different lengths")
        self.kind = str(state["kind"])
        rng = state["range"]
        if rng is None:
            self.histogram = None
        else:
            self.histogram = Histogram(rng[0], rng[1], self.n_bins, self.log, bool(rng[2]))
            self.histogram._doublings = int(rng[3])
        self.iterations = Rows.from_array(iters.reshape(-1, 1), np.int64)
        self.stats_rows = Rows.from_array(stats, np.float64)
        self.count_rows = Rows.from_array(counts, np.int32)
        la, sat = state["last_active"], state["saturation"]
        self.last_active = None if la is None else np.array(la, dtype=np.int64)
        self.saturation = None if sat is None else np.array(sat, dtype=np.float64)
        self._ema_weight = float(state["ema_weight"])
