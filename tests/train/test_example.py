"""The Learner example runs end to end in its fast mode and writes what it promises."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "03_learner.py"
PNG = b"\x89PNG\r\n\x1a\n"


def test_learner_example_fast(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("example_03_learner", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--fast", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    for text in ("LR finder: steep", "classification report", "precision", "recall", "f1-score"):
        assert text in out, f"the example prints {text!r}"
    assert results["accuracy"] > 0.9, "two well-separated blobs are learned"
    assert results["epochs"] == 4 and results["max_lr"] > 0
    names = ["lr_finder", "loss", "activations", "gradients", "parameters", "decision_boundary"]
    assert sorted(results["files"]) == sorted(names)
    for name in names:
        png = tmp_path / f"{name}.png"
        assert png.exists() and png.read_bytes()[:8] == PNG, f"{name}.png is a PNG"
    assert results["checkpoint"].exists() and results["checkpoint"].suffix == ".safetensors"
