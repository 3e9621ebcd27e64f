"""How the weight variance at initialisation decides whether signals survive a deep ReLU network.
==============================================================================================

The seed exercise, done with chainrule: a 30-layer ReLU network of width 100 (the first layer
takes 25 inputs), biases 0, weights drawn by ``chainrule.nn.init.kaiming_normal_`` from
N(0, gain²/fan_in). chainrule stores a Linear weight as (in_features, out_features), so
fan_in = shape[0]; the drawn variance times fan_in is printed as a check.

1. The activation length of layer l, M_l = ‖h_l‖²/n_l (mean squared activation), averaged over
   a batch of standard normal inputs, layer by layer, for

   - variance 1/fan_in (gain 1, ``nonlinearity="linear"``): ReLU zeroes half of each
     pre-activation's mass, so E[M_l] = M₀/2^l and the signal fades by 2^-30 ≈ 1e-9;
   - variance 2/fan_in (gain √2, ``nonlinearity="relu"``, He et al. 2015): E[M_l] = M₀ at
     every depth, the condition Hanin and Rolnick (2018, "How to start training: the effect
     of initialization and architecture") prove keeps the mean length constant.

   printed as a table next to those expectations, over several random networks.
   With zero biases a ReLU network is positively homogeneous, and the two settings use the same
   random draws, so each 1/fan_in network is its 2/fan_in twin scaled by 2^(-l/2) at layer l.
2. Hanin and Rolnick's second point: even at 2/fan_in the length of one input in one network
   fluctuates, log M_l with a variance that grows with Σ_l 1/n_l. A narrow network of the same
   depth (width 10, Σ 1/n_l = 3) keeps the mean only in expectation: its typical (median)
   length falls by orders of magnitude, a few networks blow up and some signals die.
3. M_l against depth on a log scale, drawn to ``activation_length.png``.

Run: ``python examples/07_initialisation.py [--fast] [--out DIR]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.nn import init

N_INPUTS = 25
SETTINGS = {  # label: (width, nonlinearity given to kaiming_normal_, variance × fan_in)
    "1/fan_in": (100, "linear", 1.0),
    "2/fan_in": (100, "relu", 2.0),
    "2/fan_in, width 10": (10, "relu", 2.0),
}


def network(depth: int, width: int, nonlinearity: str, seed: int) -> nn.Sequential:
    """``depth`` Linear + ReLU pairs, weights N(0, gain²/fan_in), biases 0."""
    generator = cr.Generator(seed)
    layers = []
    for i in range(depth):
        linear = nn.Linear(N_INPUTS if i == 0 else width, width)
        init.kaiming_normal_(linear.weight, nonlinearity=nonlinearity, generator=generator)
        init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers)


def lengths(model: nn.Sequential, x: np.ndarray) -> np.ndarray:
    """‖h_l‖²/n_l for each input (rows) and layer l = 0 (the input) … depth (columns),
    recorded by forward hooks on the ReLU modules."""
    per_layer = [np.mean(x.astype(np.float64) ** 2, axis=1)]

    def record(module, args, output):
        per_layer.append(np.mean(output.data.astype(np.float64) ** 2, axis=1))

    handles = [m.register_forward_hook(record) for m in model if isinstance(m, nn.ReLU)]
    with cr.no_grad():
        model(cr.tensor(x))
    for handle in handles:
        handle.remove()
    return np.stack(per_layer, axis=1)


def study(depth: int, n_nets: int, n_samples: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_samples, N_INPUTS)).astype(np.float32)
    print(
        f"1. activation length M_l = ‖h_l‖²/n_l of {n_samples} standard normal inputs through "
        f"{depth} Linear+ReLU layers, {n_nets} random networks per setting"
    )
    results = {}
    for label, (width, nonlinearity, gain2) in SETTINGS.items():
        per_input, drawn = [], []
        for net in range(n_nets):
            model = network(depth, width, nonlinearity, seed=1000 * net + width)
            first = model[0].weight.data
            drawn.append(float(first.var() * first.shape[0]))
            per_input.append(lengths(model, x))
        per_input = np.stack(per_input)  # (nets, samples, depth + 1)
        per_net = per_input.mean(axis=1)  # the batch average: one curve per network
        # the spread of one input's log10-length at the last layer, over inputs and networks
        final = per_input[:, :, -1].ravel()
        spread = float(np.std(np.log10(final[final > 0]))) if np.any(final > 0) else np.inf
        results[label] = {
            "width": width,
            "variance_times_fan_in": float(np.mean(drawn)),
            "mean": per_net.mean(axis=0),
            "per_net": per_net,
            "expected": per_net[:, 0].mean() * (gain2 / 2) ** np.arange(depth + 1),
            "log10_spread": spread,
            "dead_fraction": float(np.mean(final == 0)),
            "median_ratio": float(np.median(per_input[:, :, -1] / per_input[:, :, 0])),
        }
        print(
            f"   {label:18s}: first weight's variance × fan_in (shape[0] = {N_INPUTS}) = "
            f"{np.mean(drawn):.3f}"
        )
    _table(results, depth)
    print(
        f"2. one input in one network at the last layer (over all inputs and networks): "
        f"median of M_{depth} / M_0, spread (std of log10 M_{depth}), signals that died (M = 0)"
    )
    for label, r in results.items():
        print(
            f"   {label:18s}: width {r['width']:3d}, Σ 1/n_l = {depth / r['width']:.2f}, "
            f"median {r['median_ratio']:.3g}, std log10 M = {r['log10_spread']:.3f}, "
            f"died {100 * r['dead_fraction']:.0f}%"
        )
    return results


def _table(results: dict, depth: int) -> None:
    rows = sorted({0, 1, 2, 5, 10, 15, 20, 25, depth} & set(range(depth + 1)))
    header = "".join(f"{label:>20s} {'expected':>10s}" for label in results)
    print(f"   {'layer':>5}{header}")
    for l in rows:
        cells = "".join(f"{r['mean'][l]:20.3e} {r['expected'][l]:10.3e}" for r in results.values())
        print(f"   {l:5d}{cells}")
    for label, r in results.items():
        ratio = r["mean"][-1] / r["mean"][0]
        expected = r["expected"][-1] / r["expected"][0]
        print(f"   {label:18s}: M_{depth} / M_0 = {ratio:.3g}, expected {expected:.3g}")


def plot(results: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (label, r) in enumerate(results.items()):
        layers = np.arange(len(r["mean"]))
        for curve in r["per_net"]:  # a network whose signal died (M = 0) ends its line
            ax.semilogy(
                layers, np.where(curve > 0, curve, np.nan), color=f"C{i}", alpha=0.25, lw=0.8
            )
        ax.semilogy(layers, r["mean"], color=f"C{i}", lw=2, label=f"variance {label}")
        ax.semilogy(layers, r["expected"], color=f"C{i}", ls=":", lw=1)
    ax.set(
        xlabel="layer l",
        ylabel="M_l = ‖h_l‖² / n_l",
        title="activation length through a deep ReLU network (thin: single networks,\n"
        "thick: their mean, dotted: expectation M₀·(gain²/2)^l)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"3. M_l against depth drawn in {path}")
    return path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer networks and inputs (tests)")
    parser.add_argument("--depth", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("chainrule-runs/examples"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    n_nets, n_samples = (4, 128) if args.fast else (20, 512)
    results = study(args.depth, n_nets, n_samples, args.seed)
    return {
        "depth": args.depth,
        "settings": results,
        "plot": plot(results, args.out / "activation_length.png"),
    }


if __name__ == "__main__":
    main()
