"""W2–W4: training speed next to a hand-written NumPy loop, PyTorch (same thread count) and
scikit-learn's MLPClassifier, in one process.

W2  2-10-5-1 sigmoid network, BCE with logits, SGD momentum 0.9, batch 10, 800 make_blobs
    samples: microseconds per training step, the fastest of 7 blocks of 3 epochs for each
    library, the libraries taking turns; the NumPy reference is ``_handwritten``'s loop.
W3  784-256-128-10 ReLU network, cross-entropy, SGD momentum 0.9, batch 128, float32,
    ``--w3-samples`` random samples (60,000): seconds per epoch, and the epoch's matrix products
    alone (floor), each the fastest of ``--w3-repeats`` epochs, the libraries taking turns.
W4  real MNIST 784-800-10 ReLU, batch 128 (``--w4-samples`` training rows, all 60,000 by
    default): the fastest of ``--w4-epochs`` (5) epochs after the first, chainrule's and
    PyTorch's epochs taking turns, and each one's test error at the end; scikit-learn's mean
    epoch (of one fit) unless ``--w4-no-sklearn``. Read from ../shared/data/mnist.npz or
    ``--mnist PATH`` (skipped when absent).

chainrule runs each of its paths (:func:`chainrule_steps`): eager, and compiled
(``chainrule.train.CompiledStep``), each on a model of its own with the same weights.

Run: ``python benchmarks/bench_training.py [--json] [--only W2 W3] [--w4-epochs 5]``;
``chainrule bench`` adds the summary that judges the goals.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import chainrule as cr

from .. import nn, optim, train
from ..data import ArrayDataset, DataLoader, load_mnist, make_blobs
from ._handwritten import HandWrittenLoop, params_of
from ._summary import COMPILED, EAGER, describe
from ._timing import best_of, threads

Step = Callable[[Any, Any], Any]


def default_mnist() -> Path:
    """Where W4 looks for MNIST: $CHAINRULE_MNIST, else ../shared/data/mnist.npz next to the
    working directory or next to the source checkout."""
    if os.environ.get("CHAINRULE_MNIST"):
        return Path(os.environ["CHAINRULE_MNIST"])
    checkout = Path(__file__).resolve().parents[3]
    for root in (Path.cwd(), checkout):
        candidate = root.parent / "shared" / "data" / "mnist.npz"
        if candidate.exists():
            return candidate
    return Path.cwd().parent / "shared" / "data" / "mnist.npz"


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads())
    return torch


# --- one training epoch in each library ------------------------------------------------------
def eager_step(model: nn.Module, loss_fn: nn.Module, opt: optim.Optimizer) -> Step:
    """chainrule's training step written out: forward, loss, backward, update."""

    def step(xb, yb):
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def chainrule_steps(build: Callable[[], tuple]) -> dict[str, tuple[nn.Module, Step]]:
    """Each chainrule path's model and step: ``"chainrule"`` (eager) and ``"chainrule
    (compiled)"`` (``train.CompiledStep``, what the Learner runs). ``build()`` returns
    ``(model, loss_fn, optimizer)`` with the same weights at every call."""
    model, loss_fn, opt = build()
    steps = {EAGER: (model, eager_step(model, loss_fn, opt))}
    model, loss_fn, opt = build()
    steps[COMPILED] = (model, train.CompiledStep(model, loss_fn, opt))
    return steps


def chainrule_epoch(step: Step, X, y, batch_size: int, generator) -> int:
    """One shuffled pass of ``step`` over ``X, y``; the number of steps."""
    steps = 0
    for xb, yb in DataLoader(
        ArrayDataset(X, y), batch_size=batch_size, shuffle=True, generator=generator
    ):
        step(xb, yb)
        steps += 1
    return steps


def _chainrule_runs(build, X, y, batch_size: int, epochs: int = 1):
    """For each chainrule path, a function that trains it ``epochs`` epochs (shuffled by a
    generator of its own, seeded 0), and its model."""
    runs, models = {}, {}
    for name, (model, step) in chainrule_steps(build).items():

        def run(step=step, gen=cr.Generator(0)):
            for _ in range(epochs):
                chainrule_epoch(step, X, y, batch_size, gen)

        runs[name], models[name] = run, model
    return runs, models


def torch_epoch(torch, model, loss_fn, opt, X, y, batch_size, g):
    steps = 0
    order = torch.randperm(len(X), generator=g)
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        loss = loss_fn(model(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
    return steps


def _chainrule_mlp(sizes, act, dtype, seed):
    cr.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def _chainrule_build(sizes, act, loss, lr: float) -> Callable[[], tuple]:
    """``build`` for :func:`chainrule_steps`: float32 MLP (seed 0), ``loss``, SGD momentum 0.9."""

    def build():
        model = _chainrule_mlp(sizes, act, cr.float32, 0)
        return model, loss(), optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    return build


def _torch_mlp(torch, sizes, act, seed):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return torch.nn.Sequential(*layers)


def _torch_run(torch, sizes, act, loss, lr: float, X, y, batch_size: int, epochs: int = 1):
    """PyTorch's model (seed 0) and a function that trains it ``epochs`` epochs (SGD momentum
    0.9, shuffled by its own generator)."""
    model = _torch_mlp(torch, sizes, act, 0)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn, g = loss(), torch.Generator().manual_seed(0)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)

    def run():
        for _ in range(epochs):
            torch_epoch(torch, model, loss_fn, opt, Xt, yt, batch_size, g)

    return model, run


def _sklearn_epoch_time(X, y, hidden, activation, batch_size, epochs, lr):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=hidden,
        activation=activation,
        solver="sgd",
        learning_rate_init=lr,
        momentum=0.9,
        nesterovs_momentum=False,
        batch_size=batch_size,
        max_iter=epochs,
        shuffle=True,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        clf.fit(X, y)
        return (time.perf_counter() - t0) / epochs, clf


# --- W2 -----------------------------------------------------------------------------------------
def w2(epochs: int = 3, repeats: int = 7) -> dict:
    """Microseconds per step: the fastest of ``repeats`` blocks of ``epochs`` epochs (80
    steps each) for every library, after a warm-up block, the libraries taking turns."""
    X, y = make_blobs(800, centers=2, n_features=2, random_state=0)
    X = X.astype(np.float32)
    yf = y.astype(np.float32).reshape(-1, 1)
    sizes = [2, 10, 5, 1]
    build = _chainrule_build(sizes, nn.Sigmoid, nn.BCEWithLogitsLoss, 0.1)
    runs, _ = _chainrule_runs(build, X, yf, 10, epochs)
    loop = HandWrittenLoop(params_of(build()[0]), lr=0.1, momentum=0.9, seed=0)
    runs["numpy"] = lambda: [loop.epoch(X, yf, 10) for _ in range(epochs)]
    torch = _torch()
    if torch is not None:
        runs["torch"] = _torch_run(
            torch, sizes, torch.nn.Sigmoid, torch.nn.BCEWithLogitsLoss, 0.1, X, yf, 10, epochs
        )[1]
    # scikit-learn's fit of `epochs` epochs (its per-epoch bookkeeping included)
    runs["sklearn"] = lambda: _sklearn_epoch_time(X, y, (10, 5), "logistic", 10, epochs, 0.1)
    best = best_of(runs, repeats)
    steps = epochs * 80
    figures = {k: v / steps * 1e6 for k, v in best.items()}
    return {"workload": "W2", "name": "2-10-5-1 step", "unit": "us/step", "figures": figures}


# --- W3 -----------------------------------------------------------------------------------------
def w3(repeats: int = 3, n: int = 60_000) -> dict:
    """Seconds per epoch: the fastest of ``repeats`` epochs for every library (scikit-learn:
    one-epoch fits), the libraries taking turns, and the fastest epoch of matrix products
    alone (the floor)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 784)).astype(np.float32)
    y = rng.integers(0, 10, n)
    sizes = [784, 256, 128, 10]
    build = _chainrule_build(sizes, nn.ReLU, nn.CrossEntropyLoss, 0.01)
    runs, _ = _chainrule_runs(build, X, y, 128)
    weights = _floor_weights(sizes)
    runs["floor"] = lambda: _gemm_floor(X, sizes, weights=weights)
    torch = _torch()
    if torch is not None:
        runs["torch"] = _torch_run(
            torch, sizes, torch.nn.ReLU, torch.nn.CrossEntropyLoss, 0.01, X, y, 128
        )[1]
    runs["sklearn"] = lambda: _sklearn_epoch_time(X, y, (256, 128), "relu", 128, 1, 0.01)
    figures = best_of(runs, repeats)
    return {
        "workload": "W3",
        "name": "784-256-128-10",
        "case": f"{n} samples",
        "unit": "s/epoch",
        "figures": figures,
    }


def _floor_weights(sizes: list[int]) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.standard_normal((a, b)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]


def _gemm_floor(X: np.ndarray, sizes: list[int], batch: int = 128, weights=None) -> float:
    """Seconds for one epoch's matrix products alone: 3 forward, 3 weight and 2 input
    gradients per step, in float32 (``weights`` are drawn when not given)."""
    Ws = _floor_weights(sizes) if weights is None else weights
    t0 = time.perf_counter()
    for start in range(0, len(X), batch):
        h = [X[start : start + batch]]
        for W in Ws:
            h.append(h[-1] @ W)
        g = np.ones_like(h[-1])
        for i in range(len(Ws) - 1, -1, -1):
            _ = h[i].T @ g
            if i:
                g = g @ Ws[i].T
    return time.perf_counter() - t0


# --- W4 -----------------------------------------------------------------------------------------
def w4(
    epochs: int = 5, path: Path | None = None, sklearn: bool = True, n: int | None = None
) -> dict:
    """Seconds per epoch: the fastest of ``epochs`` epochs after the first (a warm-up), the
    libraries' epochs taking turns; the test error after all of them. scikit-learn (unless
    ``sklearn`` is False): the mean epoch of an ``epochs``-epoch fit. Trained on MNIST's first
    ``n`` training rows (all by default); ``skipped`` says why when MNIST is not at ``path``."""
    if epochs < 2:
        raise ValueError(f"W4: epochs must be at least 2 (a warm-up and one timed), got {epochs}")
    path = Path(path) if path is not None else default_mnist()
    result: dict[str, Any] = {
        "workload": "W4",
        "name": "MNIST 784-800-10",
        "case": f"{epochs} epochs" + (f" of {n} samples" if n is not None else ""),
        "unit": "s/epoch",
    }
    if not path.exists():
        return result | {"skipped": f"{path} not found"}
    (X, y), (Xt, yt) = load_mnist(path)  # float32 in [0, 1], flattened to (n, 784)
    X, y = X[:n], y[:n]
    sizes = [784, 800, 10]
    build = _chainrule_build(sizes, nn.ReLU, nn.CrossEntropyLoss, 0.05)
    runs, models = _chainrule_runs(build, X, y, 128)
    torch = _torch()
    if torch is not None:
        models["torch"], runs["torch"] = _torch_run(
            torch, sizes, torch.nn.ReLU, torch.nn.CrossEntropyLoss, 0.05, X, y.astype(np.int64), 128
        )
    figures = best_of(runs, repeat=epochs - 1)
    errors = {name: _test_error(model, Xt, yt, torch) for name, model in models.items()}
    if sklearn:
        figures["sklearn"], clf = _sklearn_epoch_time(X, y, (800,), "relu", 128, epochs, 0.05)
        errors["sklearn"] = float(np.mean(clf.predict(Xt) != yt))
    return result | {"figures": figures, "test_error": errors}


def _test_error(model, X: np.ndarray, y: np.ndarray, torch) -> float:
    """The fraction of ``X`` a chainrule or PyTorch model misclassifies."""
    if isinstance(model, nn.Module):
        with cr.no_grad():
            scores = model(cr.tensor(X)).data
    else:
        with torch.no_grad():
            scores = model(torch.as_tensor(X)).numpy()
    return float(np.mean(scores.argmax(1) != y))


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=["W2", "W3", "W4"], default=["W2", "W3", "W4"])
    parser.add_argument("--w2-repeats", type=int, default=7)
    parser.add_argument("--w3-repeats", type=int, default=3)
    parser.add_argument("--w3-samples", type=int, default=60_000)
    parser.add_argument("--w4-epochs", type=int, default=5)
    parser.add_argument("--w4-samples", type=int, default=None, help="MNIST rows (default: all)")
    parser.add_argument("--w4-no-sklearn", action="store_true", help="leave scikit-learn out")
    parser.add_argument("--mnist", type=Path, default=None, help="mnist.npz or IDX folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.w4_epochs < 2:
        parser.error(
            f"--w4-epochs must be at least 2 (a warm-up and one timed), got {args.w4_epochs}"
        )
    runs = {
        "W2": lambda: w2(repeats=args.w2_repeats),
        "W3": lambda: w3(args.w3_repeats, args.w3_samples),
        "W4": lambda: w4(args.w4_epochs, args.mnist, not args.w4_no_sklearn, args.w4_samples),
    }
    results = []
    for name in args.only:  # each printed as it ends: a full run takes minutes
        results.append(runs[name]())
        if not args.json:
            print(describe(results[-1]))
    if args.json:
        print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
