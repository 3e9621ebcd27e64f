"""The model of a run: the MLP, its loss, optimiser and schedule from the command's options,
and the model card (``model.json``) that ``chainrule predict`` rebuilds it from."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._files import RunError, write_json
from ._preprocess import Preprocessing

ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "leaky-relu", "elu")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("one-cycle", "cosine", "constant")
LOSSES = {
    "classification": ("cross-entropy", "bce"),
    "regression": ("mse", "l1", "huber"),
}
CARD_FORMAT, CARD_VERSION = "chainrule-model", 2
CARD_NAME, CHECKPOINT_NAME = "model.json", "checkpoint.npz"


@dataclass
class ModelCard:
    """What rebuilds a trained model and its preprocessing: the architecture (``n_features``
    is the network's input width), the input columns in order, the fitted preprocessing of
    the features and target, and the classes."""

    task: str
    n_features: int
    hidden: list[int]
    activation: str
    n_outputs: int
    loss: str
    features: list[str]
    preprocessing: Preprocessing
    target: str = "target"
    classes: list[Any] = field(default_factory=list)
    data: str = ""
    command: list[str] = field(default_factory=list)
    dropout: float = 0.0  # training only: predict runs in eval mode, where dropout is identity

    @property
    def sizes(self) -> list[int]:
        return [self.n_features, *self.hidden, self.n_outputs]

    def describe(self) -> str:
        """E.g. ``MLP 64-64-64-10 (ReLU)``."""
        return f"MLP {'-'.join(map(str, self.sizes))} ({self.activation})"

    def build(self, seed: int = 0) -> Any:
        """A freshly initialised ``nn.Sequential`` of this architecture (float32)."""
        return build_mlp(self.sizes, self.activation, seed, self.dropout)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["preprocessing"] = self.preprocessing.to_json()
        return {"format": CARD_FORMAT, "format_version": CARD_VERSION, **d}

    def save(self, folder: Path) -> Path:
        return write_json(folder / CARD_NAME, self.to_json())

    @classmethod
    def load(cls, path: Path) -> ModelCard:
        """Reads ``model.json``; a ``RunError`` when it is missing or malformed."""
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunError(
                f"no {CARD_NAME} next to the checkpoint in {path.parent}; chainrule predict "
                f"needs the run folder written by chainrule train"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise RunError(f"{path} cannot be read as a model card: {err}") from err
        if not isinstance(d, dict) or d.pop("format", None) != CARD_FORMAT:
            raise RunError(f"{path} is not a chainrule model card")
        if d.pop("format_version", None) != CARD_VERSION:
            raise RunError(f"{path} has an unsupported format version")
        try:
            d["preprocessing"] = Preprocessing.from_json(d["preprocessing"])
            card = cls(**d)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise RunError(
                f"{path} is a malformed model card ({type(err).__name__}: {err})"
            ) from err
        prep = card.preprocessing
        if card.features != prep.names or prep.n_outputs != card.n_features:
            raise RunError(
                f"{path}: the feature columns and their preprocessing do not match n_features"
            )
        return card


def build_mlp(sizes: list[int], activation: str, seed: int, dropout: float = 0.0) -> Any:
    """Linear layers of ``sizes`` with ``activation`` between them, seeded; weights drawn
    with variance 2/fan_in for the ReLU family (He) and Glorot's for tanh and sigmoid, so the
    signal keeps its scale with depth; biases zero. With ``dropout`` > 0, an ``nn.Dropout``
    follows each hidden activation (none at p = 0, so the parameter names stay those of the
    plain MLP)."""
    import chainrule as cr
    from chainrule import nn
    from chainrule.nn import init

    act = {
        "relu": nn.ReLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "gelu": nn.GELU,
        "leaky-relu": nn.LeakyReLU,
        "elu": nn.ELU,
    }[activation]
    gen = cr.Generator(seed)
    layers: list[Any] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(act())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        layer = nn.Linear(fan_in, fan_out, generator=gen)
        if activation in ("tanh", "sigmoid"):
            init.xavier_uniform_(layer.weight, init.calculate_gain(activation), generator=gen)
        else:
            init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=gen)
        init.zeros_(layer.bias)
        layers.append(layer)
    return nn.Sequential(*layers)


def make_loss(name: str) -> Any:
    from chainrule import nn

    return {
        "cross-entropy": nn.CrossEntropyLoss,
        "bce": nn.BCEWithLogitsLoss,
        "mse": nn.MSELoss,
        "l1": nn.L1Loss,
        "huber": nn.HuberLoss,
    }[name]()


def make_optimizer(name: str, params: Any, lr: float, weight_decay: float | None = None) -> Any:
    """The optimiser; ``weight_decay`` None keeps its own default (AdamW's 0.01, else 0)."""
    from chainrule import optim

    decay = {} if weight_decay is None else {"weight_decay": weight_decay}
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9, **decay)
    kind = {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop}[name]
    return kind(params, lr=lr, **decay)


def make_schedule(name: str, optimizer: Any, lr: float, total_steps: int) -> Any:
    """The per-batch schedule, or None for a constant rate."""
    from chainrule.optim import lr_scheduler

    if name == "one-cycle":
        return lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps)
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return None


def targets_for(loss: str, y: np.ndarray) -> np.ndarray:
    """Targets as the loss expects them: class indices, or (n, 1) float32 columns."""
    if loss == "cross-entropy":
        return y
    return np.asarray(y, dtype=np.float32).reshape(-1, 1)


def scores(model: Any, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """The model's raw outputs on scaled inputs ``X``, in eval mode without a graph."""
    import chainrule as cr

    was = model.training
    model.eval()
    try:
        with cr.no_grad():
            out = [
                model(cr.tensor(X[i : i + batch_size])).data for i in range(0, len(X), batch_size)
            ]
    finally:
        model.train(was)
    return np.concatenate(out) if out else np.zeros((0, 1), dtype=np.float32)


def probabilities(loss: str, raw: np.ndarray) -> np.ndarray:
    """(n, k) class probabilities from logits (softmax, or σ for one binary logit)."""
    raw = np.asarray(raw, dtype=np.float64)
    if loss == "bce":
        p = 0.5 * (1 + np.tanh(0.5 * raw[:, 0]))  # σ(z) without overflow
        return np.stack([1 - p, p], axis=1)
    z = np.exp(raw - raw.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def load_model(path: str | Path) -> tuple[ModelCard, Any, Path]:
    """The card, the model with the checkpoint's weights, and the checkpoint's path, from a
    checkpoint file or a run folder (its ``checkpoint.npz``)."""
    from chainrule.train import read_checkpoint

    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.exists():
        raise RunError(f"checkpoint {path} does not exist")
    card = ModelCard.load(path.parent / CARD_NAME)
    header, arrays = read_checkpoint(path)
    model = card.build()
    check_architecture(path, header, model, f"{card.describe()} of {CARD_NAME}")
    own = model.state_dict()
    model.load_state_dict({k: arrays[f"model/{k}"].astype(v.dtype) for k, v in own.items()})
    return card, model, path


def check_architecture(path: Path, header: dict[str, Any], model: Any, what: str) -> None:
    """Raises ``RunError`` unless the checkpoint's parameters have ``model``'s names and
    shapes (``header`` from ``read_checkpoint``)."""
    own = model.state_dict()
    entries = header.get("model", {}).get("entries", []) if isinstance(header, dict) else []
    saved = {e["name"]: tuple(e["shape"]) for e in entries}
    problems = [
        f"{k} is {saved[k]} in the checkpoint, {v.shape} in the model"
        for k, v in own.items()
        if k in saved and saved[k] != v.shape
    ]
    if set(saved) != set(own):
        problems.append(f"parameters {sorted(saved)} in the checkpoint, {sorted(own)} in the model")
    if problems:
        raise RunError(
            f"checkpoint {path} is from another architecture than {what}: {'; '.join(problems[:3])}"
        )
