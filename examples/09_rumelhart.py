"""The Rumelhart classifier flow: the 1986 network learning XOR and mirror symmetry.
=================================================================================

The seed exercise, done with ``chainrule.estimators.Rumelhart1986PerceptronClassifier``
(Rumelhart, Hinton and Williams, "Learning representations by back-propagating errors",
Nature 323, 1986): logistic units, the error E = ½ Σ_cases Σ_outputs (y − d)², one weight change
per sweep through the training set by the generalised delta rule
Δw(t) = −ε ∂E/∂w + α Δw(t − 1), weights drawn from U(−0.3, 0.3). ``errors_`` holds E per sweep.

1. XOR (4 cases) with two hidden units, ε = 0.5, α = 0.9, from several random starts: most
   runs drive E towards 0 and classify all four cases; some settle on the plateau E = 0.5,
   where the output is ½ for every case, and do not leave it in 1000 sweeps (the paper notes
   that gradient descent can get stuck like this, rarely in its tasks).
2. The paper's first task, detecting mirror symmetry of 6-bit strings (64 cases, 8 symmetric)
   with two hidden units, ε = 0.1, α = 0.9 and the paper's 1425 sweeps. A solved network puts
   weights of equal size and opposite sign on mirror positions, so a symmetric string sends a
   net input of just the bias to both hidden units, as the paper's figure 1 shows.
3. Every run's error curve drawn to ``rumelhart_errors.png``.

Run: ``python examples/09_rumelhart.py [--fast] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from chainrule.estimators import Rumelhart1986PerceptronClassifier

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])


def symmetry_data() -> tuple[np.ndarray, np.ndarray]:
    """All 64 strings of 6 bits; label 1 for the 8 that read the same backwards."""
    X = np.array(list(itertools.product([0.0, 1.0], repeat=6)))
    return X, (X == X[:, ::-1]).all(axis=1).astype(int)


def runs(X, y, seeds, **settings) -> list[dict]:
    """Fits one classifier per seed; returns its error curve, accuracy and the model."""
    results = []
    for seed in seeds:
        clf = Rumelhart1986PerceptronClassifier(random_state=seed, verbose=False, **settings)
        clf.fit(X, y)
        results.append(
            {
                "seed": seed,
                "errors": np.array(clf.errors_),
                "accuracy": float(np.mean(clf.predict(X) == y)),
                "model": clf,
            }
        )
    return results


def _report(title: str, results: list[dict]) -> None:
    print(title)
    print(f"   {'seed':>4} {'E first':>9} {'E last':>10} {'accuracy':>9}")
    for r in results:
        print(
            f"   {r['seed']:4d} {r['errors'][0]:9.4f} {r['errors'][-1]:10.2e} {r['accuracy']:9.2f}"
        )
    solved = sum(r["accuracy"] == 1.0 for r in results)
    print(f"   solved: {solved} of {len(results)} random starts")


def xor(seeds, epochs: int) -> list[dict]:
    results = runs(XOR_X, XOR_Y, seeds, n_hidden=(2,), eps=0.5, alpha=0.9, epochs=epochs)
    _report(f"1. XOR, 2-2-1 network, ε = 0.5, α = 0.9, {epochs} sweeps", results)
    for r in results:
        r["outputs"] = r["model"].predict_proba(XOR_X)[:, 1]
        print(
            f"   seed {r['seed']}: outputs for (0,0) (0,1) (1,0) (1,1): "
            + " ".join(f"{d:.3f}" for d in r["outputs"])
        )
    return results


def symmetry(seeds, epochs: int) -> dict:
    X, y = symmetry_data()
    results = runs(X, y, seeds, n_hidden=(2,), eps=0.1, alpha=0.9, epochs=epochs)
    _report(
        f"2. mirror symmetry of 6 bits (64 cases), 6-2-1 network, ε = 0.1, α = 0.9, "
        f"{epochs} sweeps",
        results,
    )
    solved = [r for r in results if r["accuracy"] == 1.0]
    antisymmetry = None
    if solved:
        clf = solved[0]["model"]
        W, b = clf.coefs_[0], clf.intercepts_[0]  # (6 inputs, 2 hidden), (2,)
        # w_i + w_(7−i) ≈ 0 relative to the weights' size: mirror positions cancel
        antisymmetry = float(np.max(np.abs(W + W[::-1])) / np.max(np.abs(W)))
        print(
            f"   weights into the hidden units of the network from seed {solved[0]['seed']} "
            f"(inputs 1 … 6; bias last):"
        )
        for j in range(W.shape[1]):
            print("   " + " ".join(f"{w:7.2f}" for w in W[:, j]) + f"   | {b[j]:6.2f}")
        print(f"   max |w_i + w_(7−i)| / max |w| = {antisymmetry:.1e}: mirror weights cancel")
    return {"runs": results, "antisymmetry": antisymmetry, "n_symmetric": int(y.sum())}


def plot(xor_runs: list[dict], sym_runs: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, results, title in (
        (axes[0], xor_runs, "XOR, 2-2-1"),
        (axes[1], sym_runs, "6-bit mirror symmetry, 6-2-1"),
    ):
        for r in results:
            style = "-" if r["accuracy"] == 1.0 else "--"
            ax.semilogy(
                r["errors"], style, lw=1.2, label=f"seed {r['seed']} (accuracy {r['accuracy']:.2f})"
            )
        ax.set(xlabel="sweep", ylabel="E = ½ ΣΣ (y − d)²", title=f"{title}: errors_ per sweep")
        ax.legend(fontsize=7)
    fig.suptitle(
        "Rumelhart1986PerceptronClassifier (dashed: not solved in the sweeps given)", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"3. error curves drawn in {path}")
    return path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer random starts (for tests)")
    parser.add_argument("--out", type=Path, default=Path("chainrule-runs/examples"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    xor_runs = xor(range(3) if args.fast else range(8), 1000)
    sym = symmetry(range(2) if args.fast else range(8), 1425)
    png = plot(xor_runs, sym["runs"], args.out / "rumelhart_errors.png")
    return {"xor": xor_runs, "symmetry": sym, "plot": png}


if __name__ == "__main__":
    main()
