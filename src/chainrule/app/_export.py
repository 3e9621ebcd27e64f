"""``chainrule export``: a trained run as one ONNX graph, its table preprocessing included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._files import RunError, write_atomic
from ._model import check_output, load_model
from ._options import ExportOptions


def export(
    model: str | Path, out: str | Path, dtype: str = ExportOptions.dtype, say: Any = print
) -> Path:
    """Writes the run's network with its preprocessing (``model.json``) as an ONNX file.

    The graph's inputs are ``numeric`` (batch, n_numeric) floats, NaN where a cell is missing,
    and ``categorical`` (batch, n_categorical) strings, "" where a cell is missing, in the
    order of the model card's columns; its outputs ``label`` and ``probabilities`` for a
    classifier, ``output`` (values in the target's units) for a regression.
    """
    try:
        import onnx  # noqa: F401  (the [onnx] extra, imported when a model is exported)
    except ImportError:
        raise RunError("chainrule export needs onnx: pip install 'chainrule[onnx]'") from None
    from chainrule.export import to_onnx  # here: chainrule train and predict do without it

    card, net, checkpoint = load_model(model)
    out = check_output(out, checkpoint)
    prep = card.preprocessing
    options: dict[str, Any] = {"input_shape": (None, card.n_features), "preprocessing": prep}
    if card.task == "classification":
        options["classes"] = card.classes
        options["output_activation"] = "logistic" if card.loss == "bce" else "softmax"
    else:
        options["target_scaling"] = {"mean": prep.y_mean, "scale": prep.y_scale}
    graph = to_onnx(net, dtype=dtype, **options)
    try:
        write_atomic(out, graph.SerializeToString())
    except OSError as err:
        raise RunError(f"cannot write {out}: {err.strerror or type(err).__name__}") from err
    names = ", ".join(i.name for i in graph.graph.input)
    say(f"{card.describe()} from {checkpoint} with its preprocessing: {out} (inputs {names})")
    return out
