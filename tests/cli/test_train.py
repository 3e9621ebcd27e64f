"""``chainrule train``: what it prints and writes, and how the options reach the Learner."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from xml.etree import ElementTree

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.app import DEFAULT_LR, Options, Run
from chainrule.app import _run as run_module
from chainrule.train import read_checkpoint

from ._helpers import run_cli
from .conftest import FEATURES, TARGET

EPOCH_LINE = re.compile(r"^epoch\s+(\d+)/(\d+)\s+train loss\s+([0-9.]+)\s+valid loss", re.M)
IMG = re.compile(r'<img src="([^"]*)"')


def _quiet(*args, **kwargs) -> None:
    """A ``say`` that prints nothing."""


def test_moons_prints_epochs_finder_and_the_comparison(moons_run):
    out, result = moons_run
    assert [m[:2] for m in EPOCH_LINE.findall(result.out)] == [("1", "2"), ("2", "2")]
    assert "learning-rate finder: valley at" in result.out
    assert re.search(r"^\s+accuracy\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+$", result.out, re.M), result.out
    assert re.search(r"^\s+fit time \(s\)\s+[0-9.]+\s+[0-9.]+$", result.out, re.M), result.out
    assert "chainrule  scikit-learn" in result.out
    assert "\r" not in result.err, "no progress-bar redraws when stderr is not a terminal"


def test_moons_writes_metrics_checkpoint_and_model_card(moons_run):
    out, _ = moons_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "classification" and metrics["classes"] == [0, 1]
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    assert metrics["lr_finder"]["valley"] > 0
    assert metrics["settings"]["lr"] == pytest.approx(metrics["lr_finder"]["valley"])
    ours, theirs = metrics["test"]["chainrule"], metrics["test"]["scikit-learn"]
    for key in ("accuracy", "f1_macro", "fit_seconds"):
        assert 0 <= ours[key] and 0 <= theirs[key], key
    assert ours["accuracy"] > 0.6, ours
    assert theirs["settings"]["max_iter"] == 2 and theirs["settings"]["hidden_layer_sizes"] == [
        64,
        64,
    ]
    assert sum(metrics["split"].values()) == 600
    card = json.loads((out / "model.json").read_text())
    assert card["features"] == ["x1", "x2"] and card["hidden"] == [64, 64]
    assert len(card["preprocessing"]["mean"]) == 2 and card["classes"] == [0, 1]
    header, _ = read_checkpoint(out / "checkpoint.safetensors")
    assert header["counters"]["epoch"] == 2
    assert not list(out.glob(".*.tmp")), "no temporary files left behind"


def test_moons_report_is_self_contained(moons_run):
    out, _ = moons_run
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    sources = IMG.findall(page)
    assert len(sources) == 7, "curves, LR finder, confusion, boundary and three telemetry plots"
    kinds = [_image_kind(src) for src in sources]
    assert kinds.count("svg") == 5, "curves, confusion and telemetry are drawn as SVG"
    for forbidden in ("<script", "<link", 'src="http', "url(http", "@import"):
        assert forbidden not in page, f"the report must not load anything ({forbidden})"
    assert page.count("<svg") == 1 and "cross_entropy" in page, "the graph, inline"
    for section in ("results", "settings", "curves", "lr-finder", "diagnostics", "predictions"):
        assert f'id="{section}"' in page, section
    assert "scikit-learn" in page and "decision boundary" in page and "confusion matrix" in page
    assert "No problems found" in page or 'class="findings"' in page


def _image_kind(src: str) -> str:
    """ "png" or "svg" for a figure's data URI, after checking that it is a well-formed image
    at most 1024 px wide (a wider one is shrunk on the page, its text with it) that fetches
    nothing."""
    head, _, body = src.partition(",")
    data = base64.b64decode(body)
    if head == "data:image/png;base64":
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(data[16:20], "big")
        assert width <= 1024, f"a {width} px figure is shrunk on the page, its text with it"
        return "png"
    assert head == "data:image/svg+xml;base64", head
    root = ElementTree.fromstring(data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert float(root.get("width", "inf")) <= 1024, f"a {root.get('width')} px wide figure"
    links = [el.get("href", "") for el in root.iter() if el.get("href") is not None]
    assert all(link.startswith("data:image/png;base64,") for link in links), links
    return "svg"


def test_regression_csv_run(regression_run):
    out, result = regression_run
    assert "regression" in result.out and re.search(r"^\s+R²(\s+\S+){3}$", result.out, re.M)
    assert "(baseline: always predicting the mean of the training targets)" in result.out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["baseline"]["r2"] <= 0, "the mean predicts no variance"
    assert metrics["task"] == "regression" and metrics["settings"]["loss"] == "mse"
    assert {"r2", "rmse", "mae"} <= set(metrics["test"]["scikit-learn"])
    page = (out / "report.html").read_text()
    assert "predicted against true values" in page and "confusion matrix" not in page
    assert "of the standardised target (y − mean) / deviation" in page, "the loss axis' unit"
    sources = IMG.findall(page)
    assert len(sources) == 5, "curves, scatter and three telemetry plots"
    assert [_image_kind(src) for src in sources] == ["svg"] * 5


def test_report_escapes_column_names(regression_run):
    page = (regression_run[0] / "report.html").read_text()
    assert "<b>bmi</b>" not in page and "&lt;b&gt;bmi&lt;/b&gt;" in page
    assert "<script>" not in page and "y&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "age &amp; sex" in page
    card = json.loads((regression_run[0] / "model.json").read_text())
    assert card["features"] == FEATURES and card["target"] == TARGET


def test_options_reach_model_optimizer_schedule_and_loader(tmp_path):
    options = Options(
        data="moons",
        hidden=[16, 8],
        activation="tanh",
        loss="bce",
        optimizer="sgd",
        lr=0.1,
        epochs=1,
        batch_size=64,
        schedule="cosine",
        seed=3,
        out=tmp_path / "run",
    )
    run: Run = run_module.prepare(options)
    run_module.fit(run, _quiet)
    layers = list(run.learner.model.children())
    assert [type(m).__name__ for m in layers] == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert [(m.in_features, m.out_features) for m in layers[::2]] == [(2, 16), (16, 8), (8, 1)]
    assert isinstance(run.learner.optimizer, optim.SGD)
    assert run.learner.optimizer.param_groups[0]["momentum"] == 0.9
    assert isinstance(run.learner.loss_func, nn.BCEWithLogitsLoss)
    assert type(run.schedule).__name__ == "CosineAnnealingLR"
    assert run.learner.dataloader_train.batch_size == 64
    assert run.learner.epoch == 1 and (tmp_path / "run" / "checkpoint.safetensors").is_file()


def test_command_line_reaches_options(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr("chainrule.app.train", lambda options: seen.setdefault("o", options))
    argv = ["train", "--data", "iris", "--hidden", "64", "32", "--activation", "gelu"]
    argv += ["--loss", "cross-entropy", "--optimizer", "rmsprop", "--lr", "0.01", "--lr-find"]
    argv += ["--epochs", "3", "--batch-size", "8", "--schedule", "constant", "--seed", "7"]
    argv += ["--out", str(tmp_path)]
    assert run_cli(argv).code == 0
    o = seen["o"]
    assert (o.data, o.hidden, o.activation, o.loss, o.optimizer) == (
        "iris",
        [64, 32],
        "gelu",
        "cross-entropy",
        "rmsprop",
    )
    assert (o.lr, o.lr_find, o.epochs, o.batch_size, o.schedule, o.seed) == (
        0.01,
        True,
        3,
        8,
        "constant",
        7,
    )
    assert o.out == tmp_path and o.resume is None and o.command == argv


def test_scaling_uses_training_rows_only():
    table = run_module.load_table("wine")
    parts = run_module.split(table, seed=0)
    X_train = parts.scaled("train")[0]
    assert np.allclose(X_train.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(X_train.std(axis=0), 1, atol=1e-4)
    n = [len(parts.train[1]), len(parts.valid[1]), len(parts.test[1])]
    assert sum(n) == 178 and abs(n[1] - n[2]) <= 1


def test_mnist_npz_keeps_its_own_test_set(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (60, 4, 4), dtype=np.uint8),
        "y_train": np.arange(60) % 10,
        "x_test": rng.integers(0, 256, (20, 4, 4), dtype=np.uint8),
        "y_test": np.arange(20) % 10,
    }
    np.savez(tmp_path / "mnist.npz", **arrays)
    table = run_module.load_table(f"mnist:{tmp_path / 'mnist.npz'}")
    assert table.X.shape == (60, 16) and table.features[-1] == "pixel_15"
    parts = run_module.split(table, seed=0)
    assert len(parts.test[1]) == 20 and len(parts.valid[1]) == 9 and len(parts.train[1]) == 51
    np.testing.assert_allclose(table.test[0], arrays["x_test"].reshape(20, 16) / 255, rtol=1e-6)
    np.testing.assert_array_equal(parts.test[0], parts.preprocessing.transform(table.test[0]))


def test_the_rate_has_one_home_the_optimizers_param_groups(tmp_path):
    options = Options(data="moons", optimizer="sgd", epochs=1, out=tmp_path / "run")
    run: Run = run_module.prepare(options)
    try:
        group = run.learner.optimizer.param_groups[0]
        assert run.lr == group["lr"] == DEFAULT_LR["sgd"]
        group["lr"] = 0.02  # what the LR finder's suggestion does
        assert run.lr == 0.02
        with pytest.raises(AttributeError):
            run.lr = 1.0  # a read-only view, nothing writes it back
        run_module.fit(run, _quiet)
        # one-cycle starts below its peak: the run's rate is the schedule's max_lr
        assert type(run.schedule).__name__ == "OneCycleLR" and run.lr == 0.02
        assert group["max_lr"] == 0.02 and group["lr"] < 0.02
    finally:
        run.close()


DONE = re.compile(r"^done in ([0-9.]+) s \((.*)\)$")
PHASES = [
    "importing scikit-learn",
    "data",
    "training",
    "evaluation",
    "scikit-learn comparison",
    "report",
]


def _seconds(text: str) -> float:
    number, unit = text.rsplit(" ", 1)
    assert unit in ("s", "ms"), text
    return float(number) / (1000 if unit == "ms" else 1)


def test_the_last_line_says_where_the_time_went(moons_run):
    _, result = moons_run
    last = result.out.strip().splitlines()[-1]
    found = DONE.match(last)
    assert found, f"the last line should be 'done in X s (phase time, ...)', got {last!r}"
    parts = [p.rsplit(" ", 2) for p in found[2].split(", ")]
    assert [name for name, *_ in parts] == PHASES, last
    phases = [_seconds(f"{n} {unit}") for _, n, unit in parts]
    # the phases are parts of the whole: their sum cannot exceed it (each rounded, by up to
    # 0.05 s when shown in tenths of a second)
    assert sum(phases) <= float(found[1]) + 0.05 * (1 + len(phases)), last


def test_stopwatch_adds_a_phase_timed_twice_and_keeps_the_order(monkeypatch):
    from chainrule.app import _train

    ticks = iter([0.0, 1.0, 1.5, 2.0, 2.25, 3.0, 4.5])
    monkeypatch.setattr(_train.time, "perf_counter", lambda: next(ticks))
    clock = _train.Stopwatch()  # starts at 0
    with clock.phase("data"):  # 1.0 to 1.5
        pass
    with clock.phase("training"):  # 2.0 to 2.25
        pass
    with pytest.raises(KeyError), clock.phase("data"):  # 3.0 to 4.5, timed though it failed
        raise KeyError("boom")
    assert clock.phases == {"data": 2.0, "training": 0.25}
    monkeypatch.setattr(_train.time, "perf_counter", lambda: 5.0)
    assert clock.summary() == "done in 5.0 s (data 2.0 s, training 250 ms)"


def test_the_default_report_is_drawn_without_matplotlib(tmp_path):
    """The digits run's figures are SVG written directly: matplotlib (about 0.3 s to import
    and seconds to draw) is left out of the default run."""
    out = tmp_path / "run"
    code = (
        "import sys; from chainrule.cli import main; "
        f"code = main(['train', '--epochs', '1', '--hidden', '8', '--out', {str(out)!r}]); "
        "assert code == 0, code; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    page = (out / "report.html").read_text()
    assert [_image_kind(src) for src in IMG.findall(page)] == ["svg"] * 5


def test_scikit_learn_is_imported_without_collections_then_kept_out_of_them(monkeypatch):
    """The loaded modules' objects are frozen (``gc.freeze``) while the run goes on and given
    back to the collector (``gc.unfreeze``) when it ends, whatever the caller's state was."""
    import gc

    from chainrule.app import _train

    if gc.get_freeze_count():  # the test needs a process that froze nothing itself
        pytest.skip("objects are frozen already")
    seen: list[tuple[bool, int]] = []
    monkeypatch.setattr(
        _train.importlib, "import_module", lambda name: seen.append((gc.isenabled(), 0))
    )
    assert _train.import_frozen(("one", "two")) is True
    try:
        assert seen == [(False, 0), (False, 0)], "the collector is paused while importing"
        assert gc.isenabled() and gc.get_freeze_count() > 0, "then running, the objects frozen"
    finally:
        gc.unfreeze()

    gc.disable()  # a caller that manages the collector itself: left as it is
    try:
        assert _train.import_frozen(("one",)) is False
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()

    def fail(name: str) -> None:
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(_train.importlib, "import_module", fail)
    with pytest.raises(ModuleNotFoundError, match="'sklearn.nope'"):
        _train.import_frozen(("sklearn.nope",))
    assert gc.isenabled() and gc.get_freeze_count() == 0, "a failed import freezes nothing"


def test_a_run_gives_its_frozen_objects_back_to_the_collector(tmp_path):
    import gc

    from chainrule.app import train

    if gc.get_freeze_count():
        pytest.skip("objects are frozen already")
    frozen: list[int] = []
    options = Options(data="moons", epochs=1, hidden=(4,), out=str(tmp_path / "run"))
    train(options, say=lambda line: frozen.append(gc.get_freeze_count()))
    assert frozen and min(frozen) > 0, "the loaded objects are frozen while the run says its lines"
    assert gc.get_freeze_count() == 0 and gc.isenabled(), "and given back when it ends"


def test_a_small_network_runs_its_products_on_one_blas_thread():
    from types import SimpleNamespace

    from threadpoolctl import threadpool_info, threadpool_limits

    from chainrule._blas import SMALL_PRODUCT
    from chainrule.app._train import blas_threads

    def blas() -> list[int]:
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    def run(sizes, test_rows=270, batch=32):
        parts = SimpleNamespace(valid=(np.zeros((270, 1)),), test=(np.zeros((test_rows, 1)),))
        return SimpleNamespace(
            card=SimpleNamespace(sizes=sizes),
            parts=parts,
            options=SimpleNamespace(batch_size=batch),
        )

    with threadpool_limits(limits=2, user_api="blas"):  # as on the 2-core machine
        before = blas()
        assert before, "NumPy's BLAS is found"
        with blas_threads(run([64, 64, 64, 10])):
            assert set(blas()) == {1}, "the default digits network: one thread"
        assert blas() == before, "the threads are given back after the run"
        width = -(-SMALL_PRODUCT // (270 * 2))  # 270 rows times 2 x width: at the limit
        with blas_threads(run([2, width - 1, 2])):
            assert set(blas()) == {1}, "just below the limit is still small"
        with blas_threads(run([2, width, 2])):
            assert blas() == before, "at the limit, BLAS keeps its threads"
        with blas_threads(run([64, 64, 10], test_rows=100_000)):
            assert blas() == before, "so does a small network evaluated on many rows at once"
        with blas_threads(run([784, 800, 10])):
            assert blas() == before, "and a large network"
