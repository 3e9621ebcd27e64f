"""Every example script runs in its fast mode and prints and writes what it promises."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name.replace(".py", ""), EXAMPLES / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_layers_by_hand(tmp_path, capsys):
    results = _load("02_layers_by_hand.py").main(["--fast", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert results["neuron_error"] < 1e-12, "hand-written neuron gradient equals the engine's"
    assert results["dense_error"] < 1e-12, "dX, dW, db by hand equal the engine's"
    assert results["coef_relative_error"] < 0.01, "SGD recovers make_regression's coefficients"
    assert results["x_squared_mse"] < 0.05, "the 1-10-1 network fits y = x²"
    png = tmp_path / "fit_x_squared.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "plot written as PNG"
    for text in ("dX = dY·Wᵀ", "dW = Xᵀ·dY", "db = Σ dY", "learned coefficients"):
        assert text in out, f"the example prints {text!r}"


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("[0-9]*.py")))
def test_every_example_has_a_header_and_a_fast_mode(script):
    text = (EXAMPLES / script).read_text()
    assert text.startswith('"""'), f"{script} starts with a docstring saying what it shows"
    assert "--fast" in text, f"{script} has a --fast mode for the test suite"


def test_forward_vs_reverse(tmp_path, capsys):
    results = _load("01_forward_vs_reverse.py").main(["--fast", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert results["modes"]["reverse"] == pytest.approx((12.5, 10.0))
    assert results["modes"]["forward"] == pytest.approx((12.5, 10.0))
    small, large = results["costs"][2], results["costs"][8]
    # reverse mode's work for R^n -> R is flat in n; forward mode's grows with n
    assert small[("R^n->R", "reverse")][1] == large[("R^n->R", "reverse")][1]
    assert large[("R^n->R", "forward")][1] == 4 * small[("R^n->R", "forward")][1]
    # and the other way round for R -> R^m
    assert small[("R->R^m", "forward")][1] == large[("R->R^m", "forward")][1]
    assert large[("R->R^m", "reverse")][1] > small[("R->R^m", "reverse")][1]
    assert results["chain"]["cost"] == 15125
    assert results["chain"]["order"] == "((A1(A2A3))((A4A5)A6))"
    svg = results["svg"].read_text()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "12.5" in svg, "graph shows dF/dx"
    assert "dF/dx = 12.5" in out and "15,125" in out


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _assert_png(path: Path) -> None:
    assert path.exists(), f"the example writes {path.name}"
    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path.name} is a PNG file"


def test_line_search(tmp_path, capsys):
    results = _load("05_line_search.py").main(["--fast", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    b, exact = results["b"], results["exact"]
    # Boyd & Vandenberghe §9.3.2: x_k = b r^k, y_k = (−r)^k, f_k = r^(2k) f_0, r = (b−1)/(b+1)
    r = (b - 1) / (b + 1)
    k = np.arange(len(exact["f"]))
    assert len(k) >= 10, "the example runs at least ten exact steps"
    np.testing.assert_allclose(exact["path"][:, 0], b * r**k, rtol=0, atol=1e-6, err_msg="x_k")
    np.testing.assert_allclose(exact["path"][:, 1], (-r) ** k, rtol=0, atol=1e-6, err_msg="y_k")
    np.testing.assert_allclose(exact["f"], r ** (2 * k) * 0.5 * (b * b + b), rtol=1e-9)
    # the exact step along −∇f of ½(x² + b·y²) from these points is always 2/(1 + b)
    np.testing.assert_allclose(exact["step_sizes"], 2 / (1 + b), rtol=1e-6)
    assert exact["max_cosine"] < 1e-6, "consecutive exact steps are orthogonal (the zig-zag)"
    for name, run in results["race"].items():
        assert run["f"][-1] < 1e-6, f"{name} line search reaches f < 1e-6"
        assert np.all(np.diff(run["f"]) < 0), f"{name} line search decreases f at every step"
    armijo = results["race"]["armijo"]["step_sizes"]
    assert set(np.round(np.log2(armijo), 9)) <= {0, -1, -2, -3, -4, -5}, "Armijo halves from 1"
    _assert_png(tmp_path / "line_search_zigzag.png")
    for text in ("exact line search on f = ½(x² + 10·y²)", "armijo:", "max |iterate − formula|"):
        assert text in out, f"the example prints {text!r}"


def test_sgd_least_squares(tmp_path, capsys):
    module = _load("06_sgd_least_squares.py")
    results = module.main(["--fast", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    x, y = module.make_data(200, 0)  # the data the example uses (seed 0)
    slope, intercept = np.polyfit(x, y, 1)  # an independent least-squares fit
    np.testing.assert_allclose(results["least_squares"], [slope, intercept], rtol=1e-10)
    best = np.mean((slope * x + intercept - y) ** 2)
    assert results["best_loss"] == pytest.approx(best, rel=1e-10)
    assert abs(slope - 2) < 0.1 and abs(intercept + 1) < 0.1, "the fit is near a = 2, b = −1"
    runs = results["runs"]
    assert set(runs) == {"full-batch GD", "mini-batch SGD", "SGD + momentum"}
    assert runs["full-batch GD"]["distance"] < 1e-3, "full-batch GD converges to the closed form"
    assert len(runs["full-batch GD"]["path"]) == 61 and len(runs["mini-batch SGD"]["path"]) == 1201
    for name, run in runs.items():
        final = run["params"]
        assert np.linalg.norm(final - [slope, intercept]) < 0.1, f"{name} ends near the solution"
        assert np.all(run["loss"] >= best - 1e-12), f"{name}: no loss below the least squares"
        assert run["loss"][-1] < best + 0.01, f"{name}: final loss within 0.01 of L*"
        assert run["loss"][0] == pytest.approx(np.mean(y**2)), f"{name} starts at (a, b) = (0, 0)"
    _assert_png(tmp_path / "sgd_least_squares.png")
    for text in ("normal equations", "least squares", "SGD + momentum", "cloud RMS"):
        assert text in out, f"the example prints {text!r}"


def test_initialisation(tmp_path, capsys):
    results = _load("07_initialisation.py").main(["--fast", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    depth, settings = results["depth"], results["settings"]
    lecun, he, narrow = settings["1/fan_in"], settings["2/fan_in"], settings["2/fan_in, width 10"]
    # kaiming_normal_ reads fan_in = shape[0] of an (in_features, out_features) weight
    assert lecun["variance_times_fan_in"] == pytest.approx(1.0, rel=0.1)
    assert he["variance_times_fan_in"] == pytest.approx(2.0, rel=0.1)
    assert len(he["mean"]) == depth + 1 == 31
    he_ratio = he["mean"][-1] / he["mean"][0]
    lecun_ratio = lecun["mean"][-1] / lecun["mean"][0]
    assert 0.2 < he_ratio < 5, f"2/fan_in keeps the length: M_30/M_0 = {he_ratio}"
    assert lecun_ratio < 1e-6, f"1/fan_in shrinks the length: M_30/M_0 = {lecun_ratio}"
    assert 0.1 < lecun_ratio / 2.0**-depth < 10, "1/fan_in halves the length at every layer"
    assert np.all(np.diff(np.log(lecun["mean"])) < 0), "1/fan_in: the length falls every layer"
    assert narrow["log10_spread"] > 2 * he["log10_spread"], "narrower: lengths spread more"
    _assert_png(tmp_path / "activation_length.png")
    for text in ("M_30 / M_0", "variance × fan_in", "std log10 M"):
        assert text in out, f"the example prints {text!r}"


def test_backward_from_scratch(tmp_path, capsys):
    module = _load("08_backward_from_scratch.py")
    results = module.main(["--fast", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    grads = results["gradients"]
    assert set(grads["errors"]) == {"x", "W1", "b1", "W2", "b2"}
    for name, error in grads["errors"].items():
        assert error < 1e-10, f"hand-written d{name} equals the engine's (float64): {error}"
    assert grads["loss"] == pytest.approx(grads["engine_loss"], abs=1e-12)
    # the hand-written gradient against a central difference of the hand-written loss
    X, y = module.load(200)
    weights = module.initial_weights(X.shape[1], 0)
    args = [weights[k] for k in module.NAMES]
    _, by_hand = module.forward_and_backward(X, y, *args)
    for name, index in (("W1", (3, 7)), ("b1", (5,)), ("W2", (11, 0)), ("b2", (0,))):
        h = 1e-6
        plus = {k: v.copy() for k, v in weights.items()}
        minus = {k: v.copy() for k, v in weights.items()}
        plus[name][index] += h
        minus[name][index] -= h
        f = lambda w: module.forward_and_backward(X, y, *(w[k] for k in module.NAMES))[0]
        numeric = (f(plus) - f(minus)) / (2 * h)
        assert by_hand[name][index] == pytest.approx(numeric, abs=1e-6), f"d{name}{index}"
    training = results["training"]
    np.testing.assert_allclose(training["hand"], training["engine"], rtol=0, atol=1e-12)
    assert len(training["hand"]) == 20 and np.all(np.diff(training["hand"]) < 0)
    assert training["weight_error"] < 1e-10
    _assert_png(tmp_path / "backward_from_scratch.png")
    for text in ("loss by hand", "dW1", "engine + optim.SGD", "max |by hand − engine|"):
        assert text in out, f"the example prints {text!r}"


def test_rumelhart(tmp_path, capsys):
    try:
        from chainrule.estimators import Rumelhart1986PerceptronClassifier  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"chainrule.estimators.Rumelhart1986PerceptronClassifier missing: {exc}")
    results = _load("09_rumelhart.py").main(["--fast", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    xor = results["xor"]
    for run in xor:
        assert len(run["errors"]) == 1000, "errors_ has one entry per sweep"
        # weights from U(−0.3, 0.3): every output starts near ½, E = ½·4·¼ = 0.5
        assert 0.4 < run["errors"][0] < 0.7
        if run["accuracy"] == 1.0:
            assert run["errors"][-1] < 0.01, f"solved XOR (seed {run['seed']}) has small E"
            assert np.all(np.abs(run["outputs"] - [0, 1, 1, 0]) < 0.1)
        else:
            assert np.allclose(run["outputs"], 0.5, atol=0.01), "stuck at the ½ plateau"
    assert sum(run["accuracy"] == 1.0 for run in xor) >= 1, "at least one start solves XOR"
    sym = results["symmetry"]
    assert sym["n_symmetric"] == 8, "8 of the 64 six-bit strings are palindromes"
    assert any(run["accuracy"] == 1.0 for run in sym["runs"]), "a start solves mirror symmetry"
    assert sym["antisymmetry"] < 0.01, "mirror positions get opposite weights"
    _assert_png(tmp_path / "rumelhart_errors.png")
    for text in ("XOR, 2-2-1 network", "mirror symmetry", "solved:", "mirror weights cancel"):
        assert text in out, f"the example prints {text!r}"
