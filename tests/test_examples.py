"""Every example script runs in its fast mode and prints and writes what it promises."""

from __future__ import annotations

import importlib.util
from pathlib import Path

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
