"""The ``chainrule`` command.

``chainrule train`` trains a small multilayer perceptron, built directly on the engine's
primitives, on scikit-learn's bundled digits data set, printing the loss as it falls and the
final test accuracy.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import chainrule as cr


def _load_digits(seed: int):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)


def _init_params(sizes: list[int], rng: np.random.Generator) -> list[cr.Tensor]:
    """Weights (fan_in, fan_out) and biases drawn from U(−1/√fan_in, 1/√fan_in), as torch."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append(
            cr.tensor(
                rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32), requires_grad=True
            )
        )
        params.append(
            cr.tensor(rng.uniform(-bound, bound, fan_out).astype(np.float32), requires_grad=True)
        )
    return params


def _forward(params: list[cr.Tensor], x: cr.Tensor) -> cr.Tensor:
    h = x
    for i in range(0, len(params) - 2, 2):
        h = cr.relu(cr.linear(h, params[i], params[i + 1]))
    return cr.linear(h, params[-2], params[-1])


def train(args: argparse.Namespace) -> int:
    """Mini-batch SGD with momentum on digits; prints the loss per epoch and test accuracy."""
    t0 = time.perf_counter()
    X_train, X_test, y_train, y_test = _load_digits(args.seed)
    rng = np.random.default_rng(args.seed)
    params = _init_params([X_train.shape[1], *args.hidden, 10], rng)
    velocity = [np.zeros_like(p.data) for p in params]
    n = len(X_train)
    print(
        f"chainrule train: digits, {n} training / {len(X_test)} test samples, "
        f"MLP {X_train.shape[1]}-{'-'.join(map(str, args.hidden))}-10 (ReLU), "
        f"SGD lr={args.lr} momentum={args.momentum}, batch {args.batch_size}"
    )
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, args.batch_size):
            idx = order[start : start + args.batch_size]
            loss = cr.cross_entropy(_forward(params, cr.tensor(X_train[idx])), y_train[idx])
            loss.backward()
            for p, v in zip(params, velocity):
                v *= args.momentum
                v -= args.lr * p.grad.data
                p.data += v
                p.grad = None
            total += loss.item() * len(idx)
        print(f"epoch {epoch:3d}  train loss {total / n:.4f}")
    with cr.no_grad():
        logits = _forward(params, cr.tensor(X_test))
    accuracy = float(np.mean(logits.data.argmax(axis=1) == y_test))
    print(f"test accuracy {accuracy:.4f}  ({time.perf_counter() - t0:.1f} s)")
    return 0


def gradcheck(args: argparse.Namespace) -> int:
    """Checks every registered primitive (or those named) and prints a table; 1 on failure."""
    from chainrule.testing import run_gradcheck

    try:
        rows = run_gradcheck(args.op or None, use_torch=not args.no_torch)
    except ValueError as e:
        print(f"chainrule {e}", file=sys.stderr)
        return 2
    width = max(len(r.op) for r in rows)
    print(f"{'op':{width}s}  cases  finite differences (fwd+rev, float64)  PyTorch (float32+64)")
    for r in rows:
        print(
            f"{r.op:{width}s}  {r.cases:5d}  {_cell(r.finite_differences, 37)}  {_cell(r.torch, 0)}"
        )
    failed = [r.op for r in rows if not r.ok]
    print(f"{len(rows) - len(failed)} passed, {len(failed)} failed")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _cell(text: str, width: int) -> str:
    return f"{text:{width}s}" if width else text


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chainrule", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("train", help="train an MLP on the bundled digits data set")
    p.add_argument("--epochs", type=_positive_int, default=20)
    p.add_argument("--hidden", type=_positive_int, nargs="+", default=[64])
    p.add_argument("--lr", type=_positive_float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=train)
    g = sub.add_parser(
        "gradcheck", help="check every primitive's rules against finite differences and PyTorch"
    )
    g.add_argument("--op", nargs="+", metavar="NAME", help="only these ops")
    g.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    g.set_defaults(func=gradcheck)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
