"""The report's charts written as SVG directly: panels with linear or logarithmic axes, lines,
markers, heatmaps (embedded PNG images), text and legends. A figure is a few hundred elements
written in milliseconds, where matplotlib takes about 0.3 s to import and 0.1 to 0.6 s to draw
each of the report's figures (its tick, text and layout machinery, not the pixels). Each figure
is a standalone SVG document, shown in the page as a data URI."""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._html import e as esc
from ._scales import limits, num, png, text_width, ticks

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
INK, MUTED, GRID = "#1f2933", "#52606d", "#d9dee3"


def marker(kind: str, x: float, y: float, size: float, color: str) -> str:
    """One marker at (x, y) px: ``o`` circle, ``D`` diamond, ``s`` square, ``*`` star."""
    r = size / 2
    if kind == "o":
        return f'<circle cx="{num(x)}" cy="{num(y)}" r="{num(r)}" fill="{color}"/>'
    if kind == "*":
        angles = [math.pi / 2 + k * math.pi / 5 for k in range(10)]
        radii = [r * 1.3 if k % 2 == 0 else r * 0.55 for k in range(10)]
        pts = [(x + q * math.cos(a), y - q * math.sin(a)) for a, q in zip(angles, radii)]
    elif kind == "D":
        pts = [(x, y - r * 1.2), (x + r, y), (x, y + r * 1.2), (x - r, y)]
    else:
        pts = [(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)]
    path = " ".join(f"{num(px)},{num(py)}" for px, py in pts)
    return f'<polygon points="{path}" fill="{color}" stroke="white" stroke-width="0.8"/>'


@dataclass
class Series:
    """A line and/or markers of a panel, in data units, and its legend entry."""

    x: np.ndarray
    y: np.ndarray
    color: str
    width: float = 1.5
    opacity: float = 1.0
    dash: str = ""
    marker: str = ""
    size: float = 7.0
    label: str = ""


@dataclass
class Panel:
    """A plotting area at (x, y) with size (w, h) in px; what it draws is given in data units
    and placed when the figure is written, once every series is known."""

    x: float
    y: float
    w: float
    h: float
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    xlog: bool = False
    ylog: bool = False
    grid: bool = True
    xlim: tuple[float, float] | None = None
    ylim: tuple[float, float] | None = None
    xinteger: bool = False  # whole numbers on the x axis (epochs)
    xticks: list[tuple[float, str]] | None = None
    yticks: list[tuple[float, str]] | None = None
    series: list[Series] = field(default_factory=list)
    images: list[tuple[np.ndarray, tuple[float, float, float, float]]] = field(default_factory=list)
    vlines: list[tuple[float, str]] = field(default_factory=list)
    texts: list[tuple[float, float, str, str]] = field(default_factory=list)  # x, y, text, fill

    def plot(self, x: Any, y: Any, color: str, **style: Any) -> Series:
        s = Series(np.asarray(x, np.float64), np.asarray(y, np.float64), color, **style)
        self.series.append(s)
        return s

    def image(self, rgb: np.ndarray, extent: tuple[float, float, float, float]) -> None:
        """``rgb`` (rows from the top, columns) stretched over ``extent`` (x0, x1, y0, y1)."""
        self.images.append((rgb, extent))

    def vline(self, x: float, color: str) -> None:
        self.vlines.append((x, color))

    def text(self, x: float, y: float, text: str, color: str = INK) -> None:
        """``text`` centred on (x, y) in data units."""
        self.texts.append((x, y, text, color))

    def limits(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The x and y ranges: as given, else the images' extents and the series' values with
        a margin of 4% on each side."""
        xs = [s.x for s in self.series] + [np.asarray(e[:2]) for _, e in self.images]
        ys = [s.y for s in self.series] + [np.asarray(e[2:]) for _, e in self.images]
        margin = 0.0 if self.images else 0.04
        xlim = self.xlim or limits(xs, self.xlog, margin)
        return xlim, self.ylim or limits(ys, self.ylog, margin)

    def to_px(
        self, lim: tuple[float, float], log: bool, start: float, size: float, flip: bool
    ) -> Callable[[Any], np.ndarray]:
        """The map from data values to px along one axis (``flip``: upwards, as y)."""
        low, high = (math.log10(v) for v in lim) if log else lim
        scale = size / (high - low)

        def place(v: Any) -> np.ndarray:
            v = np.asarray(v, np.float64)
            if log:
                with np.errstate(divide="ignore", invalid="ignore"):
                    v = np.where(v > 0, np.log10(np.where(v > 0, v, 1)), np.nan)
            return start + size - (v - low) * scale if flip else start + (v - low) * scale

        return place

    def svg(self, clip: str) -> str:
        """The panel: its images, grid, lines, markers and texts clipped to the plotting area,
        then its frame, ticks, labels and title."""
        xlim, ylim = self.limits()
        px = self.to_px(xlim, self.xlog, self.x, self.w, False)
        py = self.to_px(ylim, self.ylog, self.y, self.h, True)
        xt = self.xticks
        if xt is None:
            xt = ticks(*xlim, log=self.xlog, integer=self.xinteger)
        yt = self.yticks if self.yticks is not None else ticks(*ylim, log=self.ylog, n=4)
        box = f'x="{self.x}" y="{self.y}" width="{self.w}" height="{self.h}"'
        out = [f'<clipPath id="{clip}"><rect {box}/></clipPath><rect {box} fill="white"/>']
        out.append(f'<g clip-path="url(#{clip})">')
        out += self._images(px, py)
        if self.grid:
            out += self._grid([px(v) for v, _ in xt], [py(v) for v, _ in yt])
        out += [
            f'<line x1="{num(px(v))}" x2="{num(px(v))}" y1="{self.y}" y2="{self.y + self.h}" '
            f'stroke="{color}" stroke-width="1.2" stroke-dasharray="5 3"/>'
            for v, color in self.vlines
        ]
        out += [_series(s, px(s.x), py(s.y)) for s in self.series]
        out += [
            f'<text x="{num(px(x))}" y="{num(py(y))}" dy="0.35em" text-anchor="middle" '
            f'font-size="11" fill="{color}">{esc(text)}</text>'
            for x, y, text, color in self.texts
        ]
        out.append(f'</g><rect {box} fill="none" stroke="{MUTED}" stroke-width="0.8"/>')
        return "".join(out + self._axes_text(px, py, xt, yt))

    def _images(self, px: Callable[[Any], np.ndarray], py: Callable[[Any], np.ndarray]) -> list:
        """Each image as an embedded PNG stretched over its extent, pixels kept square-edged."""
        out = []
        for rgb, (ex0, ex1, ey0, ey1) in self.images:
            (ix0, ix1), (iy1, iy0) = px([ex0, ex1]), py([ey0, ey1])
            uri = base64.b64encode(png(rgb)).decode("ascii")
            out.append(
                f'<image x="{num(ix0)}" y="{num(iy0)}" width="{num(ix1 - ix0)}" '
                f'height="{num(iy1 - iy0)}" preserveAspectRatio="none" '
                f'style="image-rendering:pixelated" href="data:image/png;base64,{uri}"/>'
            )
        return out

    def _grid(self, xs: list[np.ndarray], ys: list[np.ndarray]) -> list[str]:
        """Grid lines at the ticks (px)."""
        x0, y0, x1, y1 = self.x, self.y, self.x + self.w, self.y + self.h
        out = [f'<g stroke="{GRID}" stroke-width="0.8">']
        out += [f'<line x1="{num(x)}" x2="{num(x)}" y1="{y0}" y2="{y1}"/>' for x in xs]
        out += [f'<line x1="{x0}" x2="{x1}" y1="{num(y)}" y2="{num(y)}"/>' for y in ys]
        out.append("</g>")
        return out

    def _axes_text(self, px: Any, py: Any, xt: list, yt: list) -> list[str]:
        x0, y1 = self.x, self.y + self.h
        out = [f'<g fill="{INK}" font-size="11">']
        for v, label in xt:
            p = num(px(v))
            out.append(f'<line x1="{p}" x2="{p}" y1="{y1}" y2="{y1 + 4}" stroke="{MUTED}"/>')
            out.append(f'<text x="{p}" y="{y1 + 16}" text-anchor="middle">{esc(label)}</text>')
        for v, label in yt:
            p = num(py(v))
            out.append(f'<line x1="{x0 - 4}" x2="{x0}" y1="{p}" y2="{p}" stroke="{MUTED}"/>')
            out.append(
                f'<text x="{x0 - 6}" y="{p}" dy="0.35em" text-anchor="end">{esc(label)}</text>'
            )
        out.append("</g>")
        cx, cy = self.x + self.w / 2, self.y + self.h / 2
        if self.title:
            out.append(
                f'<text x="{num(cx)}" y="{self.y - 8}" text-anchor="middle" font-size="13">'
                f"{esc(self.title)}</text>"
            )
        if self.xlabel:
            out.append(
                f'<text x="{num(cx)}" y="{y1 + 32}" text-anchor="middle" font-size="12">'
                f"{esc(self.xlabel)}</text>"
            )
        if self.ylabel:
            width = max((text_width(label, 11) for _, label in yt), default=0)
            lx = num(x0 - width - 16)
            out.append(
                f'<text transform="translate({lx},{num(cy)}) rotate(-90)" text-anchor="middle" '
                f'font-size="12">{esc(self.ylabel)}</text>'
            )
        return out


def _series(s: Series, xs: np.ndarray, ys: np.ndarray) -> str:
    """The series' polylines, broken where a value is missing, and its markers."""
    ok = np.isfinite(xs) & np.isfinite(ys)
    out = []
    if s.width > 0:
        style = f'fill="none" stroke="{s.color}" stroke-width="{s.width}"'
        style += f' stroke-opacity="{s.opacity}"' * (s.opacity < 1)
        style += f' stroke-dasharray="{s.dash}"' * bool(s.dash)
        bounds = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
        for start, stop in zip(bounds[::2], bounds[1::2]):
            if stop - start > 1:
                points = " ".join(
                    f"{x:.1f},{y:.1f}" for x, y in zip(xs[start:stop], ys[start:stop])
                )
                out.append(f'<polyline points="{points}" {style} stroke-linejoin="round"/>')
    if s.marker:
        opacity = f' fill-opacity="{s.opacity}"' if s.opacity < 1 else ""
        out.append(f"<g{opacity}>")
        out += [marker(s.marker, x, y, s.size, s.color) for x, y in zip(xs[ok], ys[ok])]
        out.append("</g>")
    return "".join(out)


@dataclass
class Figure:
    """An SVG document of ``width`` × ``height`` px holding panels, legends and text."""

    width: float
    height: float
    panels: list[Panel] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    def panel(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        title: str = "",
        xlabel: str = "",
        ylabel: str = "",
        **options: Any,
    ) -> Panel:
        """A new panel whose plotting area is (x, y, w, h) px; ``options``: ``Panel``'s."""
        p = Panel(x, y, w, h, title, xlabel, ylabel, **options)
        self.panels.append(p)
        return p

    def text(self, x: float, y: float, text: str, size: float = 12, anchor: str = "middle") -> None:
        self.extra.append(
            f'<text x="{num(x)}" y="{num(y)}" text-anchor="{anchor}" font-size="{size}">'
            f"{esc(text)}</text>"
        )

    def legend(self, entries: Sequence[Series], x: float, y: float, n_cols: int) -> float:
        """The entries' swatches and labels in rows of ``n_cols``, centred on ``x`` from ``y``
        down; returns the height used."""
        entries = [s for s in entries if s.label]
        if not entries:
            return 0.0
        column = 34 + max(text_width(s.label, 11) for s in entries)
        n_cols = min(n_cols, len(entries))
        left = x - column * n_cols / 2
        for i, s in enumerate(entries):
            cx, cy = left + column * (i % n_cols), y + 16 * (i // n_cols) + 8
            sample = Series(np.array([cx, cx + 24]), np.array([cy, cy]), s.color, s.width)
            sample.opacity, sample.dash = max(s.opacity, 0.5), s.dash
            self.extra.append(_series(sample, sample.x, sample.y))
            if s.marker:
                self.extra.append(marker(s.marker, cx + 12, cy, s.size, s.color))
            self.extra.append(
                f'<text x="{num(cx + 30)}" y="{num(cy)}" dy="0.35em" font-size="11">'
                f"{esc(s.label)}</text>"
            )
        return 16.0 * -(-len(entries) // n_cols)

    def svg(self) -> str:
        body = "".join(p.svg(f"clip{i}") for i, p in enumerate(self.panels))
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{num(self.width)}" '
            f'height="{num(self.height)}" viewBox="0 0 {num(self.width)} '
            f'{num(self.height)}" font-family="{FONT}" fill="{INK}">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f"{body}{''.join(self.extra)}</svg>"
        )

    def uri(self) -> str:
        """The figure as a ``data:image/svg+xml;base64,...`` URI."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg().encode()).decode("ascii")
