"""examples/04_check_against_sklearn.py runs in its fast mode and shows the seed's numbers."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "04_check_against_sklearn.py"


def test_check_against_sklearn_example(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("example_04", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--fast", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert results["max_difference"] == 0.0, "every source gives the hand-worked numbers"
    expected = {
        "hidden": [1, 2],
        "output": [3],
        "loss": 2,
        "dW1": [[2, 2]],
        "dW2": [[2], [4]],
        "db1": [2, 2],
        "db2": [2],
    }
    for source in ("by hand", "engine", "trace", "estimator", "scikit-learn"):
        assert results["columns"][source] == expected, f"{source}: the seed's numbers"
    digits = results["digits"]
    assert digits["chainrule"]["accuracy"] == digits["scikit-learn"]["accuracy"], (
        "same settings and random_state: the same model"
    )
    saved = json.loads((tmp_path / "check_against_sklearn.json").read_text())
    assert saved["columns"]["estimator"]["dW2"] == [[2.0], [4.0]]
    table = (tmp_path / "seed_network_trace.md").read_text()
    assert "∂loss/∂W2 = a1ᵀ · δ2 = [[2], [4]]" in table, "the trace's backward pass"
    for text in ("by hand", "scikit-learn", "L = ½(ŷ − y)² = ½·(3 − 1)² = 2", "time ratio"):
        assert text in out, f"the example prints {text!r}"
