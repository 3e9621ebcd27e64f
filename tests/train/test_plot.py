"""Plots: each returns a Figure, draws into a given ``ax``, saves as PNG, and checks its input.
``chainrule.plot`` draws plain data; the callbacks' ``.plot()`` hand theirs over."""

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
    assert plot.loss_curves(loss.history, ax=axes[0]) is fig
    assert plot.lr_finder((finder.lrs, finder.losses), ax=axes[1]) is fig
    assert plot.telemetry_stats(acts.data(), stats=["mean"], ax=axes[2]) is fig
    assert plot.telemetry_histograms(acts.data(), names=["1"], ax=axes[3]) is fig
    assert len(axes[0].lines) == 3, "raw and smoothed training loss, validation loss"
    fig2, axes2 = plot.new_figure(5)
    assert plot.telemetry(acts.data(), stats=["mean", "std"], ax=axes2) is fig2
    fig3, axes3 = plot.new_figure(2)
    assert loss.plot(ax=axes3[0]) is fig3 and finder.plot(ax=axes3[1]) is fig3


def test_plot_input_errors(trained):
    _, (loss, acts, _), finder = trained
    fig, axes = plot.new_figure(2)
    data = acts.data()
    with pytest.raises(ValueError, match=r"ax must hold 3 Axes \(one per panel\), got 2"):
        plot.telemetry_stats(data, ax=axes)
    with pytest.raises(ValueError, match=r"unknown statistics \['median'\]; expected some of"):
        plot.telemetry_stats(data, stats=["median"])
    with pytest.raises(KeyError, match="no records named"):
        plot.telemetry_histograms(data, names=["9"])
    with pytest.raises(ValueError, match="has recorded nothing yet"):
        TrainActivationsCallback().plot()
    with pytest.raises(ValueError, match=r"the same records, got \['0', '1', '2'\] and \['1'\]"):
        plot.telemetry_stats(plot.TelemetryData("x", data.stats, {"1": data.histograms["1"]}))
    with pytest.raises(ValueError, match="holds no records"):
        plot.telemetry(plot.TelemetryData("activations", stats={}, histograms={}))
    with pytest.raises(TypeError, match=r"expected TelemetryData .*draws itself with \.plot\(\)"):
        plot.telemetry_stats(acts)
    with pytest.raises(TypeError, match="history must be a dict with 'iteration' and 'train_loss'"):
        plot.loss_curves([1, 2, 3])
    with pytest.raises(TypeError, match="history must be a dict"):
        plot.loss_curves(loss)
    with pytest.raises(TypeError, match=r"curve must be \(lrs, losses\)"):
        plot.lr_finder(finder)
    with pytest.raises(ValueError, match=r"lrs and losses must have one shape \(n,\), got \(3,\)"):
        plot.lr_finder(([1e-3, 1e-2, 1e-1], [1.0, 0.5]))
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 2\)"):
        plot.decision_boundary(lambda p: p[:, 0], np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(TypeError, match="predict must be an nn.Module or a callable"):
        plot.decision_boundary(3, np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="predictions at 2 have 3 values, x has 4"):
        plot.regression_predictions(np.zeros(4), np.zeros(4), {2: np.zeros(3)})
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot.loss_curves(loss.history, ax="left")


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_legends_never_cover_the_plotting_area(trained):
    _, (loss, acts, _), finder = trained
    X, y = blobs(20)
    figures = {
        "loss": plot.loss_curves(loss.history, best_epoch=1),
        "lr_finder": finder.plot(),
        "boundary": plot.decision_boundary(lambda p: p[:, 0] - p[:, 1], X, y, resolution=20),
        "telemetry_stats": plot.telemetry_stats(acts.data()),
        "telemetry": plot.telemetry(acts.data(), max_cols=2),
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
    assert loss.plot(ylabel=label).axes[0].get_ylabel() == label


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
    counts = np.array([[30, 10, 0], [3, 1, 0], [60, 20, 0]])  # the middle step had few values
    data = plot.TelemetryData(
        "activations",
        stats={"a": {"iteration": np.arange(3), "mean": np.zeros(3)}},
        histograms={"a": (np.arange(3), np.linspace(0, 1, 4), counts)},
        kinds={"a": "ReLU"},
    )
    fig, (ax,) = plot.new_figure(1)
    assert plot.telemetry_histograms(data, ax=ax) is fig
    assert ax.get_title() == "a (ReLU)"
    image = np.asarray(ax.images[0].get_array())  # (bins, steps)
    np.testing.assert_allclose(image, np.tile([[0.75], [0.25], [0.0]], 3))


def test_plots_draw_plain_data_without_any_training_object():
    history = {
        "iteration": np.arange(6),
        "train_loss": np.array([1.0, 0.8, 0.7, 0.5, 0.45, 0.4]),
        "epochs": {
            "epoch": np.array([0, 1]),
            "end_iteration": np.array([3, 6]),
            "valid_loss": np.array([0.75, 0.5]),
        },
    }
    ax = plot.loss_curves(history, smooth=0, best_epoch=1).axes[0]
    raw, valid = ax.lines[0], ax.lines[1]
    np.testing.assert_array_equal(raw.get_xdata(), history["iteration"])
    np.testing.assert_array_equal(raw.get_ydata(), history["train_loss"])
    np.testing.assert_array_equal(valid.get_xdata(), [2, 5]), "drawn at each epoch's last batch"
    np.testing.assert_array_equal(valid.get_ydata(), [0.75, 0.5])

    lrs = np.logspace(-4, 0, 20)
    losses = 1 + (np.log10(lrs) + 2) ** 2
    marks = {"steep": 1e-3, "valley": 1e-2, "mine": 0.1}
    ax = plot.lr_finder((lrs, losses), suggestions=marks).axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["smoothed loss", "steep: 1.00e-03", "valley: 1.00e-02", "mine: 1.00e-01"]
    markers = [line for line in ax.lines if ": " in line.get_label()]
    assert [line.get_xdata()[0] for line in markers] == [1e-3, 1e-2, 0.1]
    assert len(plot.lr_finder((lrs, losses)).axes[0].lines) == 1, "nothing marked unless asked"

    it = np.array([0, 2, 4])
    data = plot.TelemetryData(
        "parameters θ",
        stats={
            "0.weight": {"iteration": it, "mean": np.array([0.1, 0.2, 0.3]), "std": np.ones(3)},
            "0.bias": {"iteration": it, "mean": np.zeros(3), "std": np.full(3, 2.0)},
        },
        histograms={
            name: (it, np.linspace(-1, 1, 5), np.ones((3, 4), dtype=np.int32))
            for name in ("0.weight", "0.bias")
        },
        kinds={"0.weight": "Linear", "0.bias": "Linear"},
        default_stats=("std",),
    )
    assert data.available_stats == ["mean", "std"]
    fig = plot.telemetry(data)
    assert fig._suptitle.get_text() == "parameters θ"
    (stats_ax,) = [a for a in fig.axes if a.get_title() == "parameters θ: std"]
    assert [line.get_label() for line in stats_ax.lines] == ["0.weight (Linear)", "0.bias (Linear)"]
    np.testing.assert_array_equal(stats_ax.lines[1].get_ydata(), [2.0, 2.0, 2.0])
    assert stats_ax.get_yscale() == "log", "a positive statistic on a log axis"
    assert len(fig.axes) == 3, "one statistic panel and one histogram per record"


def test_importing_plot_loads_no_training_module():
    import subprocess
    import sys

    code = (
        "import sys, chainrule.plot; "
        "print(sorted(m for m in sys.modules if m.startswith(('chainrule.train', "
        "'chainrule.estimators', 'chainrule.report'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout
