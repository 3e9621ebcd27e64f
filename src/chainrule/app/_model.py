"""The model of a run: the MLP, its loss, optimiser and schedule from the command's options,
and the model card (``model.json``) that ``chainrule predict`` rebuilds it from."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import init
from chainrule.optim import lr_scheduler
from chainrule.train import CheckpointError, open_checkpoint

from .._numerics import class_probabilities
from ._files import RunError, write_json
from ._preprocess import Preprocessing

ACTIVATIONS = tuple(name.replace("_", "-") for name in nn.ACTIVATIONS if name != "identity")
"""``--activation``'s choices: nn's vocabulary, spelled with the command line's hyphens."""
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("one-cycle", "cosine", "constant")
LOSSES = {
    "classification": ("cross-entropy", "bce"),
    "regression": ("mse", "l1", "huber"),
}
CARD_FORMAT, CARD_VERSION = "chainrule-model", 2
CARD_NAME, CHECKPOINT_NAME = "model.json", "checkpoint.safetensors"
RUN_FILES = (CHECKPOINT_NAME, CARD_NAME, "metrics.json", "report.html")  # a run folder's own
MAX_PARAMETERS = 2**31  # a card asking for more is not a run chainrule train wrote


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
        """Reads ``model.json``: a ``RunError`` when it is missing, a ``CheckpointError``
        when any field is malformed or contradicts another (see :meth:`check`)."""
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunError(
                f"no {CARD_NAME} next to the checkpoint in {path.parent}; chainrule predict "
                f"needs the run folder written by chainrule train"
            ) from None
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
            raise CheckpointError(f"{path} cannot be read as a model card: {err}") from None
        if not isinstance(d, dict) or d.pop("format", None) != CARD_FORMAT:
            raise CheckpointError(f"{path} is not a chainrule model card")
        version = d.pop("format_version", None)
        if version != CARD_VERSION:
            raise CheckpointError(
                f"{path} has format version {version!r}, this chainrule reads {CARD_VERSION}"
                + (" (a run of chainrule 0.1: train it again)" if version == 1 else "")
            )
        try:
            d["preprocessing"] = Preprocessing.from_json(d["preprocessing"])
            card = cls(**d)
            card.check()
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as err:
            raise CheckpointError(
                f"{path} is a malformed model card ({type(err).__name__}: {str(err)[:200]})"
            ) from None
        return card

    def check(self) -> None:
        """Raises ``ValueError`` (``TypeError`` for a wrong kind) unless every field has its
        type and range and the fields agree: the task, its loss and its outputs; the classes;
        the columns and their preprocessing; a network of at most ``MAX_PARAMETERS``."""
        _of(self.task, str, "task")
        if self.task not in LOSSES:
            raise ValueError(f"task {self.task!r} is not one of {sorted(LOSSES)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} is not one of {list(ACTIVATIONS)}")
        if self.loss not in LOSSES[self.task]:
            raise ValueError(f"loss {self.loss!r} does not fit a {self.task} task")
        for name in ("target", "data"):
            _of(getattr(self, name), str, name)
        for name in ("features", "command"):
            for value in _of(getattr(self, name), list, name):
                _of(value, str, f"an entry of {name}")
        sizes = [_of(self.n_features, int, "n_features"), *_of(self.hidden, list, "hidden")]
        sizes.append(_of(self.n_outputs, int, "n_outputs"))
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes):
            raise ValueError(f"layer sizes {sizes} are not all whole numbers >= 1")
        n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
        if n_params > MAX_PARAMETERS:
            raise ValueError(f"layer sizes {sizes} make {n_params:,} parameters")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)):
            raise TypeError(f"dropout is a {type(self.dropout).__name__}, not a number")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout {self.dropout} is not a probability in [0, 1)")
        self._check_outputs()
        prep = self.preprocessing
        if self.features != prep.names or prep.n_outputs != self.n_features:
            raise ValueError("the feature columns and their preprocessing do not match n_features")

    def _check_outputs(self) -> None:
        classes = _of(self.classes, list, "classes")
        if self.task == "regression":
            if classes or self.n_outputs != 1:
                raise ValueError("a regression card has no classes and one output")
            return
        if len(classes) < 2 or len({str(c) for c in classes}) != len(classes):
            raise ValueError(f"classes {classes[:5]} are not two or more distinct labels")
        for c in classes:
            if not isinstance(c, (str, int, float)):
                raise TypeError(f"class {c!r} is not a label")
        want = 1 if self.loss == "bce" else len(classes)
        if self.loss == "bce" and len(classes) != 2:
            raise ValueError(f"bce loss needs two classes, the card lists {len(classes)}")
        if self.n_outputs != want:
            raise ValueError(f"{len(classes)} classes with {self.loss} need {want} outputs")


def _of(value: Any, kind: type, what: str) -> Any:
    """``value`` when it is a ``kind`` (a bool is not an int), else a ``TypeError``."""
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise TypeError(f"{what} is a {type(value).__name__}, not a {kind.__name__}")
    return value


def build_mlp(sizes: list[int], activation: str, seed: int, dropout: float = 0.0) -> Any:
    """Linear layers of ``sizes`` with ``activation`` between them, seeded; weights drawn
    with variance 2/fan_in for the ReLU family (He) and Glorot's for tanh and sigmoid, so the
    signal keeps its scale with depth; biases zero. With ``dropout`` > 0, an ``nn.Dropout``
    follows each hidden activation (none at p = 0, so the parameter names stay those of the
    plain MLP)."""
    gen = cr.Generator(seed)

    def initialise(layer: nn.Linear) -> None:
        if activation in ("tanh", "sigmoid"):
            init.xavier_uniform_(layer.weight, init.calculate_gain(activation), generator=gen)
        else:
            init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=gen)
        if layer.bias is not None:
            init.zeros_(layer.bias)

    return nn.MLP(sizes[0], sizes[1:], activation, dropout, generator=gen, init=initialise)


def make_loss(name: str) -> Any:
    return {
        "cross-entropy": nn.CrossEntropyLoss,
        "bce": nn.BCEWithLogitsLoss,
        "mse": nn.MSELoss,
        "l1": nn.L1Loss,
        "huber": nn.HuberLoss,
    }[name]()


class _Decay(TypedDict, total=False):
    weight_decay: float


def make_optimizer(name: str, params: Any, lr: float, weight_decay: float | None = None) -> Any:
    """The optimiser; ``weight_decay`` None keeps its own default (AdamW's 0.01, else 0)."""
    decay: _Decay = {} if weight_decay is None else {"weight_decay": weight_decay}
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9, **decay)
    kind = {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop}[name]
    return kind(params, lr=lr, **decay)


def make_schedule(name: str, optimizer: Any, total_steps: int) -> Any:
    """The per-batch schedule, or None for a constant rate; one-cycle peaks at the
    optimiser's rate."""
    if name == "one-cycle":
        peak = optimizer.param_groups[0]["lr"]
        return lr_scheduler.OneCycleLR(optimizer, max_lr=peak, total_steps=total_steps)
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
    raw = np.asarray(raw)
    return class_probabilities(raw[:, :1] if loss == "bce" else raw)


def load_model(path: str | Path) -> tuple[ModelCard, Any, Path]:
    """The card, the model with the checkpoint's weights, and the checkpoint's path, from a
    checkpoint file or a run folder (its checkpoint). The card and the checkpoint's header
    are checked, and the header's shapes against the card's architecture, before the model
    is built or a tensor read."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.exists():
        raise RunError(f"checkpoint {path} does not exist")
    card = ModelCard.load(path.parent / CARD_NAME)
    ckpt = open_checkpoint(path)
    check_architecture(path, ckpt, card, f"{card.describe()} of {CARD_NAME}")
    model = card.build()
    own = model.state_dict()
    arrays = ckpt.read([f"model/{k}" for k in own])
    model.load_state_dict({k: arrays[f"model/{k}"].astype(v.dtype) for k, v in own.items()})
    return card, model, path


def check_output(out: str | Path, checkpoint: Path, inputs: tuple[str | Path, ...] = ()) -> Path:
    """``out`` as a path, after checking that it is a file name and would replace neither the
    run's own files (its checkpoint, model card, metrics, report) nor an input."""
    if not str(out).strip():
        raise RunError("--out is empty; give a file name")
    out = Path(out)
    if out.is_dir():
        raise RunError(f"--out {out} is a folder; give a file name")
    own = [checkpoint, *(checkpoint.parent / name for name in RUN_FILES)]
    for path, what in [*((p, "the run's own") for p in own), *((p, "its input") for p in inputs)]:
        path = Path(path)
        same = out.exists() and path.exists() and out.samefile(path)  # hard links too
        if same or out.resolve() == path.resolve():
            raise RunError(f"--out {out} would replace {what} {path}; choose another file")
    return out


def mlp_shapes(sizes: list[int], dropout: float = 0.0) -> dict[str, tuple[int, ...]]:
    """The state-dict names and shapes of ``build_mlp(sizes, ..., dropout)``, without
    building it: Linear layers with an activation (and a dropout) between them."""
    step = 3 if dropout > 0 else 2
    out: dict[str, tuple[int, ...]] = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        out[f"{step * i}.weight"], out[f"{step * i}.bias"] = (fan_in, fan_out), (fan_out,)
    return out


def check_architecture(path: Path, ckpt: Any, card: ModelCard, what: str) -> None:
    """Raises ``RunError`` unless the checkpoint's model tensors (``ckpt`` from
    ``open_checkpoint``) have the names and shapes of ``card``'s MLP."""
    own = mlp_shapes(card.sizes, card.dropout)
    saved = {
        k.removeprefix("model/"): shape
        for k, (shape, _) in ckpt.declared.items()
        if k.startswith("model/")
    }
    problems = [
        f"{k} is {saved[k]} in the checkpoint, {v} in the model"
        for k, v in own.items()
        if k in saved and saved[k] != v
    ]
    if set(saved) != set(own):
        problems.append(f"parameters {sorted(saved)} in the checkpoint, {sorted(own)} in the model")
    if problems:
        raise RunError(
            f"checkpoint {path} is from another architecture than {what}: {'; '.join(problems[:3])}"
        )
