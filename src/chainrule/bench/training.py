"""W2–W4: training speed next to PyTorch (same thread count) and scikit-learn's MLPClassifier,
in one process, printed as ratios.

W2  2-10-5-1 sigmoid network, BCE, SGD momentum 0.9, batch 10, 800 make_blobs samples:
    microseconds per training step, the fastest of 7 blocks of 3 epochs for each library,
    the libraries taking turns.
W3  784-256-128-10 ReLU network, cross-entropy, SGD momentum 0.9, batch 128, float32,
    60,000 random samples: seconds per epoch, and the epoch's matrix products alone (floor),
    each the fastest of 3 epochs, the libraries taking turns.
W4  real MNIST 784-800-10 ReLU, batch 128: seconds per epoch and test error after
    ``--w4-epochs`` epochs, read from ../shared/data/mnist.npz or ``--mnist PATH``
    (skipped when absent).

Run: ``python benchmarks/bench_training.py [--json] [--only W2 W3] [--w4-epochs 5]``
(or ``chainrule bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import chainrule as cr

from .. import nn, optim
from ..data import ArrayDataset, DataLoader, load_mnist, make_blobs
from ._timing import best_of, threads


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
def chainrule_epoch(model, loss_fn, opt, X, y, batch_size, generator):
    steps = 0
    for xb, yb in DataLoader(
        ArrayDataset(X, y), batch_size=batch_size, shuffle=True, generator=generator
    ):
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
    return steps


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


def _torch_mlp(torch, sizes, act, seed):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return torch.nn.Sequential(*layers)


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
    model = _chainrule_mlp([2, 10, 5, 1], nn.Sigmoid, cr.float32, 0)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.BCEWithLogitsLoss()
    gen = cr.Generator(0)

    def ours():
        for _ in range(epochs):
            chainrule_epoch(model, loss_fn, opt, X, yf, 10, gen)

    runs = {"chainrule": ours}
    torch = _torch()
    if torch is not None:
        tm = _torch_mlp(torch, [2, 10, 5, 1], torch.nn.Sigmoid, 0)
        topt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
        tl = torch.nn.BCEWithLogitsLoss()
        Xt, yt = torch.as_tensor(X), torch.as_tensor(yf)
        g = torch.Generator().manual_seed(0)

        def theirs():
            for _ in range(epochs):
                torch_epoch(torch, tm, tl, topt, Xt, yt, 10, g)

        runs["torch"] = theirs
    # scikit-learn's fit of `epochs` epochs (its per-epoch bookkeeping included)
    runs["sklearn"] = lambda: _sklearn_epoch_time(X, y, (10, 5), "logistic", 10, epochs, 0.1)
    best = best_of(runs, repeats)
    steps = epochs * 80
    return {"workload": "W2", "unit": "us/step"} | {k: v / steps * 1e6 for k, v in best.items()}


# --- W3 -----------------------------------------------------------------------------------------
def w3(repeats: int = 3, n: int = 60_000) -> dict:
    """Seconds per epoch: the fastest of ``repeats`` epochs for every library (scikit-learn:
    one-epoch fits), the libraries taking turns, and the fastest epoch of matrix products
    alone (the floor)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 784)).astype(np.float32)
    y = rng.integers(0, 10, n)
    sizes = [784, 256, 128, 10]
    model = _chainrule_mlp(sizes, nn.ReLU, cr.float32, 0)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    gen = cr.Generator(0)
    runs = {
        "chainrule": lambda: chainrule_epoch(model, loss_fn, opt, X, y, 128, gen),
    }
    weights = _floor_weights(sizes)
    runs["floor"] = lambda: _gemm_floor(X, sizes, weights=weights)
    torch = _torch()
    if torch is not None:
        tm = _torch_mlp(torch, sizes, torch.nn.ReLU, 0)
        topt = torch.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)
        tl = torch.nn.CrossEntropyLoss()
        Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
        g = torch.Generator().manual_seed(0)
        runs["torch"] = lambda: torch_epoch(torch, tm, tl, topt, Xt, yt, 128, g)
    runs["sklearn"] = lambda: _sklearn_epoch_time(X, y, (256, 128), "relu", 128, 1, 0.01)
    return {"workload": "W3", "unit": "s/epoch"} | best_of(runs, repeats)


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
def w4(epochs: int = 5, path: Path | None = None) -> dict | None:
    path = Path(path) if path is not None else default_mnist()
    if not path.exists():
        return None
    (X, y), (Xt, yt) = load_mnist(path)  # float32 in [0, 1], flattened to (n, 784)
    sizes = [784, 800, 10]
    model = _chainrule_mlp(sizes, nn.ReLU, cr.float32, 0)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    gen = cr.Generator(0)
    t0 = time.perf_counter()
    for _ in range(epochs):
        chainrule_epoch(model, loss_fn, opt, X, y, 128, gen)
    ours = (time.perf_counter() - t0) / epochs
    with cr.no_grad():
        err = float(np.mean(model(cr.tensor(Xt)).data.argmax(1) != yt))
    result = {
        "workload": "W4",
        "unit": "s/epoch",
        "chainrule": ours,
        "chainrule_test_error": err,
        "epochs": epochs,
    }
    torch = _torch()
    if torch is not None:
        tm = _torch_mlp(torch, sizes, torch.nn.ReLU, 0)
        topt = torch.optim.SGD(tm.parameters(), lr=0.05, momentum=0.9)
        tl = torch.nn.CrossEntropyLoss()
        Xg, yg = torch.as_tensor(X), torch.as_tensor(y.astype(np.int64))
        g = torch.Generator().manual_seed(0)
        t0 = time.perf_counter()
        for _ in range(epochs):
            torch_epoch(torch, tm, tl, topt, Xg, yg, 128, g)
        result["torch"] = (time.perf_counter() - t0) / epochs
        with torch.no_grad():
            pred = tm(torch.as_tensor(Xt)).argmax(1).numpy()
        result["torch_test_error"] = float(np.mean(pred != yt))
    sk, clf = _sklearn_epoch_time(X, y, (800,), "relu", 128, epochs, 0.05)
    result["sklearn"] = sk
    result["sklearn_test_error"] = float(np.mean(clf.predict(Xt) != yt))
    return result


GOALS = {"W2": ("sklearn", 0.5), "W3": ("torch", 0.75), "W4": ("torch", 0.75)}


def _print(r: dict) -> None:
    unit = r["unit"]
    scale = "{:9.1f}" if unit == "us/step" else "{:9.3f}"
    print(f"{r['workload']} ({unit})")
    for lib in ("chainrule", "torch", "sklearn"):
        if lib in r:
            ratio = (
                "" if lib == "chainrule" else f"   chainrule/{lib} = {r['chainrule'] / r[lib]:.2f}x"
            )
            print(f"  {lib:10s}{scale.format(r[lib])}{ratio}")
    if "floor" in r:
        print(
            f"  GEMM floor{scale.format(r['floor'])}   chainrule/floor = "
            f"{r['chainrule'] / r['floor']:.2f}x"
        )
    for key in ("chainrule_test_error", "torch_test_error", "sklearn_test_error"):
        if key in r:
            print(f"  {key} after {r['epochs']} epochs: {100 * r[key]:.2f}%")
    peer, goal = GOALS[r["workload"]]
    if peer in r:
        print(f"  goal: chainrule/{peer} <= {goal}x")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=["W2", "W3", "W4"], default=["W2", "W3", "W4"])
    parser.add_argument("--w4-epochs", type=int, default=5)
    parser.add_argument("--mnist", type=Path, default=None, help="mnist.npz or IDX folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = []
    for name in args.only:
        r = {"W2": w2, "W3": w3, "W4": lambda: w4(args.w4_epochs, args.mnist)}[name]()
        if r is None:
            print(f"{name}: skipped ({args.mnist or default_mnist()} not found)", file=sys.stderr)
            continue
        results.append(r)
        if not args.json:
            _print(r)
    if args.json:
        print(
            json.dumps(
                {
                    "machine": f"{platform.machine()}, {threads()} threads, Python "
                    f"{platform.python_version()}",
                    "results": results,
                },
                indent=2,
            )
        )
    return results


if __name__ == "__main__":
    main()
