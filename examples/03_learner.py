"""The Learner seed's flow, done with chainrule: watch a small network learn, from the inside.
===========================================================================================

1. two Gaussian blobs (``make_blobs``), split into training, validation and test sets;
2. a 2-10-1 sigmoid network, SGD with momentum and binary cross-entropy on logits;
3. the learning-rate finder (an exponential ramp from 1e-5 to 100) and its plot, which
   suggests the peak rate of a one-cycle schedule;
4. a fit with validation, ``OneCycleLR`` stepped after every batch by
   ``EveryBatchSchedulerCallback``, while four callbacks record the loss, the activations,
   the parameter gradients and the parameters (bounded summaries, every iteration);
5. the four telemetry plots and the decision boundary saved as PNG, the training-health
   diagnostics in words, a checkpoint, and scikit-learn's classification report on the test set.

Run: ``python examples/03_learner.py [--fast] [--out DIR]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import nn, optim, plot
from chainrule.data import ArrayDataset, DataLoader, make_blobs
from chainrule.train import (
    EveryBatchSchedulerCallback,
    Learner,
    LRFinderCallback,
    TrainActivationsCallback,
    TrainGradientsCallback,
    TrainLossCallback,
    TrainParametersCallback,
    diagnose,
)


def split_blobs(n_samples: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Two blobs in 2-D, shuffled and cut 60/20/20 into train, valid and test."""
    X, y = make_blobs(n_samples, centers=2, random_state=seed)
    order = np.random.default_rng(seed).permutation(n_samples)
    X, y = X[order], y[order]
    a, b = int(0.6 * n_samples), int(0.8 * n_samples)
    return {"train": (X[:a], y[:a]), "valid": (X[a:b], y[a:b]), "test": (X[b:], y[b:])}


def loader(X: np.ndarray, y: np.ndarray, shuffle: bool, seed: int) -> DataLoader:
    """Batches of 16 with targets shaped (n, 1) in float32, as BCEWithLogitsLoss expects."""
    dataset = ArrayDataset(X.astype(np.float32), y.reshape(-1, 1).astype(np.float32))
    return DataLoader(dataset, batch_size=16, shuffle=shuffle, generator=cr.Generator(seed))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer samples and epochs (tests)")
    parser.add_argument("--out", type=Path, default=Path("learner_output"), help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    n_samples, n_epochs, n_iter = (400, 4, 60) if args.fast else (2000, 10, 100)

    cr.manual_seed(args.seed)
    sets = split_blobs(n_samples, args.seed)
    dl_train = loader(*sets["train"], shuffle=True, seed=args.seed)
    dl_valid = loader(*sets["valid"], shuffle=False, seed=args.seed)
    dl_test = loader(*sets["test"], shuffle=False, seed=args.seed)

    model = nn.Sequential(nn.Linear(2, 10), nn.Sigmoid(), nn.Linear(10, 1))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    telemetry = {
        "loss": TrainLossCallback(),
        "activations": TrainActivationsCallback(),
        "gradients": TrainGradientsCallback(),
        "parameters": TrainParametersCallback(),
    }
    learner = Learner(
        model,
        opt,
        nn.BCEWithLogitsLoss(),
        callbacks=list(telemetry.values()),
        save_dir=out / "checkpoints",
        metrics=["accuracy"],
        show_progress=not args.fast,
    )

    finder = learner.find_learning_rate(
        dl_train, lr_find_callback=LRFinderCallback(1e-5, 100, n_iter)
    )
    suggestion = finder.suggestion()
    max_lr = float(min(10.0, suggestion.valley))
    print(f"LR finder: steep {suggestion.steep:.3g}, valley {suggestion.valley:.3g}, ", end="")
    print(f"stopped by {finder.stopped_by}; one-cycle peak rate {max_lr:.3g}")
    files = {"lr_finder": out / "lr_finder.png"}
    finder.plot().savefig(files["lr_finder"], dpi=80)

    schedule = optim.lr_scheduler.OneCycleLR(
        opt, max_lr=max_lr, epochs=n_epochs, steps_per_epoch=len(dl_train)
    )
    learner.add_callback(EveryBatchSchedulerCallback(schedule))
    learner.fit(dl_train, n_epochs, dataloader_valid=dl_valid)
    log = learner.epoch_log
    print(f"after {learner.epoch} epochs: train loss {log['train_loss']:.4f}, ", end="")
    print(f"valid loss {log['valid_loss']:.4f}, valid accuracy {log['accuracy']:.3f}")

    for name, cb in telemetry.items():
        files[name] = out / f"{name}.png"
        cb.plot().savefig(files[name], dpi=80)
    X_all = np.concatenate([sets[k][0] for k in ("train", "valid", "test")])
    y_all = np.concatenate([sets[k][1] for k in ("train", "valid", "test")])
    files["decision_boundary"] = out / "decision_boundary.png"
    plot.decision_boundary(model, X_all, y_all, resolution=120).savefig(
        files["decision_boundary"], dpi=80
    )

    findings = diagnose(learner)
    print("diagnostics:", "no problems found" if not findings else "")
    for finding in findings:
        print(f"  {finding}")
    checkpoint = learner.save()

    from sklearn.metrics import classification_report

    X_test, y_test = sets["test"]
    predicted = (learner.predict(dl_test)[:, 0] > 0).astype(np.int64)
    report = classification_report(y_test, predicted, digits=3)
    print("classification report on the test set:")
    print(report)
    print("wrote", ", ".join(str(p) for p in [*files.values(), checkpoint]))
    return {
        "accuracy": float(np.mean(predicted == y_test)),
        "valid_accuracy": log["accuracy"],
        "lr_suggestion": suggestion,
        "max_lr": max_lr,
        "report": report,
        "findings": [f.name for f in findings],
        "files": files,
        "checkpoint": checkpoint,
        "epochs": learner.epoch,
    }


if __name__ == "__main__":
    main()
