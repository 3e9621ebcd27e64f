"""Plots: each returns a Figure, draws into a given ``ax``, saves as PNG, and checks its input."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import plot
from chainrule.train import (
    LRFinderCallback,
    TrainActivationsCallback,
    TrainGradientsCallback,
    TrainLossCallback,
)

from ._helpers import blobs, loaders, tiny_learner

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained():
    dl_train, dl_valid = loaders(n_train=64, batch_size=8)
    cbs = [TrainLossCallback(), TrainActivationsCallback(), TrainGradientsCallback(wrt="outputs")]
    learner = tiny_learner(cbs)
    finder = learner.find_learning_rate(dl_train, lr_find_callback=LRFinderCallback(1e-4, 10, 30))
    learner.fit(dl_train, 3, dataloader_valid=dl_valid)
    return learner, cbs, finder


def _saved(fig, tmp_path, name) -> bytes:
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=40)
    return path.read_bytes()[:8]


def test_every_plot_returns_a_figure_that_saves_as_png(trained, tmp_path):
    from matplotlib.figure import Figure

    learner, (loss, acts, grads), finder = trained
    X, y = blobs(20)
    figures = {
        "loss": loss.plot(),
        "lr_finder": finder.plot(),
        "activations": acts.plot(),
        "gradients": grads.plot(stats=["abs_p90"], names=["0", "2"]),
        "boundary": plot.decision_boundary(learner.model, X, y, resolution=30),
        "boundary_fn": plot.decision_boundary(lambda p: p[:, 0] - p[:, 1], X, y, resolution=20),
        "regression": plot.regression_predictions(
            X[:, 0], X[:, 1], {1: X[:, 0] * 0.5, 5: X[:, 0]}, truth=lambda x: x
        ),
        "multiclass": plot.decision_boundary(
            lambda p: np.c_[p[:, 0], p[:, 1], -p.sum(1)],
            X,
            np.arange(20) % 3,
            resolution=20,
            from_logits=True,
        ),
    }
    for name, fig in figures.items():
        assert isinstance(fig, Figure), name
        assert _saved(fig, tmp_path, name) == PNG, f"{name} saves as PNG"
    titles = [a.get_title() for a in figures["gradients"].axes]
    assert any("w.r.t. module outputs dL/dy" in t for t in titles), "the plot says which gradient"
    legend = [t.get_text() for t in figures["lr_finder"].axes[0].get_legend().get_texts()]
    assert any(t.startswith("valley: ") for t in legend) and any(
        t.startswith("steep: ") for t in legend
    )


def test_plots_draw_into_given_axes(trained):
    learner, (loss, acts, _), finder = trained
    fig, axes = plot.new_figure(4)
    assert plot.loss_curves(loss, ax=axes[0]) is fig
    assert plot.lr_finder((finder.lrs, finder.losses), ax=axes[1]) is fig
    assert plot.telemetry_stats(acts, stats=["mean"], ax=axes[2]) is fig
    assert plot.telemetry_histograms(acts, names=["1"], ax=axes[3]) is fig
    assert len(axes[0].lines) == 3, "raw and smoothed training loss, validation loss"
    fig2, axes2 = plot.new_figure(5)
    assert plot.telemetry(acts, stats=["mean", "std"], ax=axes2) is fig2


def test_plot_input_errors(trained):
    _, (loss, acts, _), _ = trained
    fig, axes = plot.new_figure(2)
    with pytest.raises(ValueError, match=r"ax must hold 3 Axes \(one per panel\), got 2"):
        plot.telemetry_stats(acts, ax=axes)
    with pytest.raises(ValueError, match="unknown statistics"):
        plot.telemetry_stats(acts, stats=["median"])
    with pytest.raises(KeyError, match="no records named"):
        plot.telemetry_histograms(acts, names=["9"])
    with pytest.raises(ValueError, match="has recorded nothing yet"):
        plot.telemetry(TrainActivationsCallback())
    with pytest.raises(TypeError, match="expected a telemetry callback"):
        plot.telemetry_stats(loss)
    with pytest.raises(TypeError, match="must be a TrainLossCallback or its history dict"):
        plot.loss_curves([1, 2, 3])
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 2\)"):
        plot.decision_boundary(lambda p: p[:, 0], np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(TypeError, match="predict must be an nn.Module or a callable"):
        plot.decision_boundary(3, np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="predictions at 2 have 3 values, x has 4"):
        plot.regression_predictions(np.zeros(4), np.zeros(4), {2: np.zeros(3)})
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot.loss_curves(loss, ax="left")


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_legends_never_cover_the_plotting_area(trained):
    _, (loss, acts, _), finder = trained
    X, y = blobs(20)
    figures = {
        "loss": plot.loss_curves(loss, best_epoch=1),
        "lr_finder": finder.plot(),
        "boundary": plot.decision_boundary(lambda p: p[:, 0] - p[:, 1], X, y, resolution=20),
        "telemetry_stats": plot.telemetry_stats(acts),
        "telemetry": plot.telemetry(acts, max_cols=2),
    }
    for name, fig in figures.items():
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        legends = [a.get_legend() for a in fig.axes if a.get_legend() is not None]
        legends += fig.legends
        assert legends, f"{name} has a legend"
        for legend in legends:
            box = legend.get_window_extent(renderer)
            for ax in fig.axes:
                assert not _overlaps(box, ax.get_window_extent(renderer)), f"{name}: legend on axes"
    legend = [t.get_text() for t in figures["loss"].axes[0].get_legend().get_texts()]
    assert "best epoch (2)" in legend
    label = "mse loss (target standardised)"
    assert plot.loss_curves(loss, ylabel=label).axes[0].get_ylabel() == label


def test_lr_finder_markers_lie_inside_the_axes(trained):
    _, _, finder = trained
    ax = finder.plot().axes[0]
    s = finder.suggestion()
    (y0, y1), (x0, x1) = ax.get_ylim(), ax.get_xlim()
    markers = [line for line in ax.lines if line.get_label().startswith(("steep", "valley"))]
    assert len(markers) == 2
    for line, lr in zip(markers, (s.steep, s.valley)):
        (x,), (y,) = line.get_data()
        assert x == lr and x0 <= x <= x1 and y0 <= y <= y1, line.get_label()


def test_telemetry_columns_are_shares_so_a_short_step_is_no_stripe():
    from types import SimpleNamespace

    counts = np.array([[30, 10, 0], [3, 1, 0], [60, 20, 0]])  # the middle step had few values
    cb = SimpleNamespace(
        histograms=lambda name: (np.arange(3), np.linspace(0, 1, 4), counts),
        records={"a": SimpleNamespace(kind="ReLU")},
        log_histogram=False,
    )
    fig, (ax,) = plot.new_figure(1)
    from chainrule.plot._telemetry import _histogram_image

    _histogram_image(cb, "a", ax)
    image = np.asarray(ax.images[0].get_array())  # (bins, steps)
    np.testing.assert_allclose(image, np.tile([[0.75], [0.25], [0.0]], 3))
