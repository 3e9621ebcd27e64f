"""The report's SVG charts: the PNG writer, the colour maps against matplotlib's, the ticks,
and figures that are well-formed SVG showing what they were given."""

from __future__ import annotations

import base64
import io
import math
from xml.etree import ElementTree

import numpy as np
import pytest

from chainrule.plot import TelemetryData
from chainrule.report import _figures as figures
from chainrule.report._scales import BLUES, VIRIDIS, colormap, png, ticks
from chainrule.report._svg import Figure

SVG = "{http://www.w3.org/2000/svg}"


def _parse(fig: Figure) -> ElementTree.Element:
    uri = fig.uri()
    assert uri.startswith("data:image/svg+xml;base64,")
    return ElementTree.fromstring(base64.b64decode(uri.split(",", 1)[1]))


def _texts(root: ElementTree.Element) -> list[str]:
    return [el.text or "" for el in root.iter(f"{SVG}text")]


def test_png_decodes_to_the_same_pixels():
    Image = pytest.importorskip("PIL.Image")
    rgb = np.random.default_rng(0).integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(png(rgb))).convert("RGB"))
    assert decoded.shape == (7, 5, 3) and np.array_equal(decoded, rgb), "png: pixels differ"


@pytest.mark.parametrize(("anchors", "name"), [(VIRIDIS, "viridis"), (BLUES, "Blues")])
def test_colour_maps_follow_matplotlib(anchors, name):
    from matplotlib import colormaps

    values = np.linspace(0, 1, 101)
    ours = colormap(anchors, values).astype(int)
    theirs = np.rint(colormaps[name](values)[:, :3] * 255).astype(int)
    worst = int(np.abs(ours - theirs).max())
    assert worst <= 6, f"colormap {name}: up to {worst} levels from matplotlib's"
    assert np.array_equal(colormap(anchors, np.array([np.nan, -1.0, 2.0]))[1:], ours[[0, -1]])


@pytest.mark.parametrize(
    ("low", "high"), [(0.0, 1.0), (-0.027, 0.066), (1e-7, 0.0105), (0.92, 2.08), (3.0e-5, 3.3e-5)]
)
def test_linear_ticks_are_round_and_inside(low, high):
    found = ticks(low, high)
    values = [v for v, _ in found]
    assert 3 <= len(values) <= 7, f"ticks({low}, {high}): {found}"
    assert all(low - 1e-12 <= v <= high + 1e-12 for v in values), found
    steps = np.diff(values)
    assert np.allclose(steps, steps[0]), found
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5)), f"step {steps[0]}"
    assert len({label for _, label in found}) == len(found), f"labels repeat: {found}"


def test_log_and_integer_ticks():
    assert [label for _, label in ticks(1e-5, 0.2, log=True)] == [
        "10⁻⁵",
        "10⁻⁴",
        "10⁻³",
        "10⁻²",
        "10⁻¹",
    ]
    assert [label for _, label in ticks(0.9e-5, 0.15, log=True, n=4)] == [
        "10⁻⁵",
        "10⁻⁴",
        "10⁻³",
        "10⁻²",
        "10⁻¹",
    ], "every decade of a few, whatever the number asked for"
    assert [label for _, label in ticks(1e-7, 5e2, log=True)] == [
        "10⁻⁶",
        "10⁻⁴",
        "10⁻²",
        "10⁰",
        "10²",
    ], "every other decade of many"
    assert [label for _, label in ticks(0.38, 2.6, log=True)] == ["0.5", "1", "2"]
    assert [v for v, _ in ticks(0.6, 3.0, log=True)] == [1.0, 2.0, 3.0], "within a decade"
    assert [v for v, _ in ticks(0.92, 2.08, integer=True)] == [1.0, 2.0]
    assert [v for v, _ in ticks(0.2, 20.8, integer=True)] == [5.0, 10.0, 15.0, 20.0]


def test_a_line_breaks_at_missing_values_and_keeps_its_markers():
    fig = Figure(300, 200)
    ax = fig.panel(40, 20, 240, 150)
    ax.plot([0, 1, 2, 3, 4], [1.0, 2.0, np.nan, 3.0, 4.0], "#123456", marker="o", label="a")
    root = _parse(fig)
    lines = [el for el in root.iter(f"{SVG}polyline") if el.get("stroke") == "#123456"]
    assert [len(el.get("points", "").split()) for el in lines] == [2, 2]
    assert len(list(root.iter(f"{SVG}circle"))) == 4, "one marker per finite point"


def test_confusion_matrix_shows_every_count_and_the_class_names():
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 2])
    root = _parse(figures.confusion_matrix(y_true, y_pred, ["cat", "dog", "<eel>"]))
    texts = _texts(root)
    assert sorted(t for t in texts if t.isdigit() and len(t) == 1) == ["1", "1", "1", "1", "2"]
    assert {"cat", "dog", "<eel>"} <= set(texts), "the class names, escaped and read back"
    assert "confusion matrix (test set, 6 samples)" in texts
    assert float(root.get("width", "inf")) <= 1024


def _telemetry_data(n_records: int) -> TelemetryData:
    it = np.arange(0, 50, 5.0)
    stats = {
        f"{i}.weight": {"iteration": it, "mean": np.sin(it + i), "std": 1.0 + it}
        for i in range(n_records)
    }
    counts = np.ones((len(it), 8))
    hists = {name: (it, np.linspace(-1, 1, 9), counts) for name in stats}
    return TelemetryData("parameters θ", stats, hists, {n: "Linear" for n in stats})


def test_telemetry_figure_has_a_panel_per_statistic_and_record():
    data = _telemetry_data(4)
    root = _parse(figures.telemetry(data))
    texts = _texts(root)
    assert texts.count("0.weight (Linear)") == 2, "a legend entry and a histogram's title"
    assert {"mean", "std", "parameters θ"} <= set(texts)
    assert len(list(root.iter(f"{SVG}image"))) == 4, "one histogram image per record"
    assert data.log_scale("std") and not data.log_scale("mean"), "std > 0 is drawn on a log axis"
