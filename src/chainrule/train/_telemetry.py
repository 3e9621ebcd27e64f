"""Telemetry callbacks: bounded summaries of activations, gradients and parameters of chosen
modules, every ``every_n`` training iterations.

Nothing records whole tensors: each recorded iteration adds a fixed number of values per
module (see ``_summary``), so memory grows by a small constant per recorded iteration whatever
the batch size or layer width. Forward hooks are registered only for the iterations that are
recorded and removed right after them.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np

from .._checks import check_int
from .._tensor import Tensor
from ..plot import TelemetryData, telemetry
from ._callback import Callback
from ._summary import Summary


def _first_tensor(out: Any) -> Tensor | None:
    if isinstance(out, Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
        return out[0]
    return None


class TelemetryCallback(Callback):
    """Base of the three telemetry callbacks (see :class:`TrainActivationsCallback`).

    Parameters
    ----------
    every_n : int
        Record every n-th training iteration (the learner's global ``iteration`` % n == 0).
    max_depth_search : int, optional
        How deep in the module tree to look: 0 is the model itself, 1 its children, ...
        (None: no limit).
    name_patterns : sequence of str, optional
        Regular expressions; a module is chosen when one matches (``re.search``) its dotted
        name or its class name (``r"^0$"``, ``"Sigmoid"``). By default, every module without
        children (the layers), and the modules at depth ``max_depth_search``.
    n_bins : int
        Histogram bins per recorded iteration.
    hist_range : (float, float), optional
        Fixed histogram range; by default fixed from the first recorded tensor.
    near_zero : float
        |x| at or below this counts as zero (``frac_near_zero``; dead units).

    Attributes
    ----------
    records : dict of str to Summary
        One bounded record per module (or parameter), by dotted name (``"model"`` for the root).
    """

    needs_graph = False  # reads values only

    what = "tensors"
    default_stats: tuple[str, ...] = ("mean", "std", "frac_near_zero")
    log_histogram = False

    def __init__(
        self,
        every_n: int = 1,
        max_depth_search: int | None = None,
        name_patterns: Sequence[str] | None = None,
        n_bins: int = 40,
        hist_range: tuple[float, float] | None = None,
        near_zero: float = 1e-8,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.every_n = check_int(owner, "every_n", every_n, 1)
        self.max_depth_search = (
            None
            if max_depth_search is None
            else check_int(owner, "max_depth_search", max_depth_search, 0)
        )
        if isinstance(name_patterns, str):
            name_patterns = [name_patterns]
        try:
            self.name_patterns = [re.compile(p) for p in name_patterns or ()]
        except re.error as err:
            raise ValueError(
                f"{owner}: name_patterns holds an invalid regular expression: {err}"
            ) from err
        self.n_bins = check_int(owner, "n_bins", n_bins, 1)
        if hist_range is not None and not (len(hist_range) == 2 and hist_range[0] < hist_range[1]):
            raise ValueError(
                f"{owner}: hist_range must be (low, high) with low < high, got {hist_range!r}"
            )
        self.hist_range = (
            None if hist_range is None else (float(hist_range[0]), float(hist_range[1]))
        )
        self.near_zero = float(near_zero)
        self.records: dict[str, Summary] = {}
        self._handles: list[Any] = []
        self._chosen: list[tuple[str, Any]] | None = None
        self._matched_none = False

    # -- selection ------------------------------------------------------------------------------
    def modules(self) -> list[tuple[str, Any]]:
        """The chosen ``(name, module)`` pairs of the learner's model, in model order (found
        once per fit)."""
        if self._chosen is None:
            self._chosen = self._find_modules()
        return self._chosen

    def _find_modules(self) -> list[tuple[str, Any]]:
        model = self.require_learner().model
        chosen = []
        for name, module in model.named_modules():
            depth = 0 if name == "" else name.count(".") + 1
            if self.max_depth_search is not None and depth > self.max_depth_search:
                continue
            label = name or "model"
            if self.name_patterns:
                kind = type(module).__name__
                if any(p.search(label) or p.search(kind) for p in self.name_patterns):
                    chosen.append((label, module))
            elif next(module.children(), None) is None or depth == self.max_depth_search:
                chosen.append((label, module))
        if not chosen and not self.name_patterns:
            chosen = [("model", model)]
        return chosen

    def before_fit(self) -> None:
        self._matched_none = bool(self.name_patterns) and not self.modules()
        if self._matched_none:
            names = [name or "model" for name, _ in self.require_learner().model.named_modules()]
            warnings.warn(
                f"{type(self).__name__}: name_patterns {self._pattern_text()} match no module "
                f"(by dotted name or class name) of the model, so nothing will be recorded; "
                f"its modules are {names}",
                UserWarning,
                stacklevel=2,
            )

    def _pattern_text(self) -> str:
        return str([p.pattern for p in self.name_patterns])

    @property
    def why_empty(self) -> str:
        """Why ``records`` is empty, in words (for errors that find it so)."""
        if self._matched_none:
            return f"name_patterns {self._pattern_text()} matched no module of the model"
        return "run a fit"

    def _recording(self) -> bool:
        """A training step with ``iteration % every_n == 0``, unless its batch is the short
        last one of an epoch: its statistics come from fewer values, and its histogram would
        stand out as a stripe among the others."""
        learner = self.require_learner()
        if not learner.training or learner.iteration % self.every_n:
            return False
        size = getattr(learner.dataloader, "batch_size", None)
        xb = learner.xb[0] if learner.xb else None
        short = size is not None and xb is not None and learner.n_batches > 1 and len(xb) < size
        return not short

    def _record(self, key: str, kind: str, x: np.ndarray, track_units: bool = False) -> None:
        summary = self.records.get(key)
        if summary is None:
            summary = self.records[key] = Summary(
                kind, self.n_bins, self.hist_range, self.log_histogram, self.near_zero, track_units
            )
        summary.record(self.require_learner().iteration, x)

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def after_batch(self) -> None:
        self._remove_hooks()

    def teardown(self) -> None:
        self._remove_hooks()
        self._chosen = None

    # -- reading --------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self.records)

    def stats(self, name: str) -> dict[str, np.ndarray]:
        """``"iteration"`` and every statistic of ``STATS`` over the recorded iterations."""
        return self._get(name).stats()

    def histograms(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(iterations, edges, counts)``; counts has shape ``(n_records, n_bins)``."""
        s = self._get(name)
        return s.stats()["iteration"], s.edges, s.counts()

    def _get(self, name: str) -> Summary:
        if name not in self.records:
            raise KeyError(f"{type(self).__name__}: no record named {name!r}; have {self.names}")
        return self.records[name]

    @property
    def history(self) -> dict[str, dict[str, np.ndarray]]:
        """``{name: stats(name)}`` for every record."""
        return {name: s.stats() for name, s in self.records.items()}

    @property
    def nbytes(self) -> int:
        """Bytes held by all records' arrays."""
        return sum(s.nbytes for s in self.records.values())

    def data(self) -> TelemetryData:
        """Every record's statistics and histograms as plain arrays (what the plots draw)."""
        stats = {name: s.stats() for name, s in self.records.items()}
        return TelemetryData(
            what=self.what,
            stats=stats,
            histograms={
                name: (stats[name]["iteration"], s.edges, s.counts())
                for name, s in self.records.items()
            },
            kinds={name: s.kind for name, s in self.records.items()},
            default_stats=self.default_stats,
            log_histogram=self.log_histogram,
        )

    def plot(
        self,
        stats: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
        ax: Any = None,
        max_cols: int = 4,
    ) -> Any:
        """Statistics over iterations per module (top) and a histogram-over-time image per
        module (bottom); see ``chainrule.plot.telemetry``. Returns the Figure."""
        if not self.records:
            raise ValueError(f"{type(self).__name__} has recorded nothing yet ({self.why_empty})")
        return telemetry(self.data(), stats=stats, names=names, ax=ax, max_cols=max_cols)

    # -- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"records": {name: s.state_dict() for name, s in self.records.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        records = state.get("records")
        if not isinstance(records, dict):
            raise ValueError(f"{type(self).__name__}: checkpoint state has no 'records'")
        new = {}
        for name, rec in records.items():
            s = Summary(
                str(rec.get("kind", "")),
                self.n_bins,
                None,
                self.log_histogram,
                self.near_zero,
                rec.get("last_active") is not None,
            )
            try:
                s.load_state_dict(rec)
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"{type(self).__name__}: record {name!r}: {err}") from err
            new[name] = s
        self.records = new


class TrainActivationsCallback(TelemetryCallback):
    """Summaries of the chosen modules' outputs on recorded training iterations.

    Besides the statistics and histograms, each record keeps per-unit counters (units: the
    last axis) of constant size: when each unit was last non-zero (dead ReLUs) and, for
    ``Sigmoid`` and ``Tanh`` modules, how often it is saturated. See
    :class:`TelemetryCallback` for the parameters.
    """

    what = "activations (module outputs)"

    def before_batch(self) -> None:
        if not self._recording():
            return
        for name, module in self.modules():
            hook = functools.partial(self._on_output, name)
            self._handles.append(module.register_forward_hook(hook))

    def _on_output(self, name: str, module: Any, args: Any, out: Any) -> None:
        t = _first_tensor(out)
        if t is not None:
            self._record(name, type(module).__name__, t.data, track_units=True)


class TrainGradientsCallback(TelemetryCallback):
    """Summaries of gradients on recorded training iterations.

    Parameters
    ----------
    wrt : {"parameters", "outputs"}
        ``"parameters"`` (default): dL/dθ of each chosen module's own parameters, keyed
        ``"0.weight"``, read after the backward pass. ``"outputs"``: dL/dy, the gradient of
        the loss with respect to each chosen module's output (what some tools call "the
        gradients"), keyed by module name. Plots say which.
    **kwargs
        As :class:`TelemetryCallback`; histograms are of log10|g| on [-8, 2] by default.
    """

    default_stats = ("abs_mean", "std", "norm")
    log_histogram = True

    def __init__(
        self,
        every_n: int = 1,
        max_depth_search: int | None = None,
        name_patterns: Sequence[str] | None = None,
        wrt: Literal["parameters", "outputs"] = "parameters",
        n_bins: int = 40,
        hist_range: tuple[float, float] | None = (-8.0, 2.0),
        near_zero: float = 1e-12,
    ) -> None:
        super().__init__(every_n, max_depth_search, name_patterns, n_bins, hist_range, near_zero)
        if wrt not in ("parameters", "outputs"):
            raise ValueError(
                f"TrainGradientsCallback: wrt must be 'parameters' or 'outputs', got {wrt!r}"
            )
        self.wrt = wrt

    @property
    def what(self) -> str:  # type: ignore[override]
        if self.wrt == "parameters":
            return "parameter gradients dL/dθ"
        return "gradients w.r.t. module outputs dL/dy"

    def parameters(self) -> Iterator[tuple[str, Any, Any]]:
        """``(key, module, parameter)`` for the chosen modules' own parameters."""
        for name, module in self.modules():
            prefix = "" if name == "model" else f"{name}."
            for pname, p in module.named_parameters(recurse=False):
                yield prefix + pname, module, p

    def before_batch(self) -> None:
        if self.wrt == "outputs" and self._recording():
            for name, module in self.modules():
                hook = functools.partial(self._on_output, name)
                self._handles.append(module.register_forward_hook(hook))

    def _on_output(self, name: str, module: Any, args: Any, out: Any) -> None:
        t = _first_tensor(out)
        if t is not None and t.requires_grad:
            kind = type(module).__name__
            t.register_hook(lambda g: self._record(name, kind, g.data))

    def after_backward(self) -> None:
        if self.wrt == "parameters" and self._recording():
            for key, module, p in self.parameters():
                if p.grad is not None:
                    self._record(key, type(module).__name__, p.grad.data)


class TrainParametersCallback(TelemetryCallback):
    """Summaries of the chosen modules' own parameters (``"0.weight"``...), as used by the
    forward pass of each recorded iteration. See :class:`TelemetryCallback`."""

    what = "parameters θ"
    default_stats = ("mean", "std", "abs_p99")

    def before_batch(self) -> None:
        if not self._recording():
            return
        for name, module in self.modules():
            prefix = "" if name == "model" else f"{name}."
            for pname, p in module.named_parameters(recurse=False):
                self._record(prefix + pname, type(module).__name__, p.data)
