"""A small float64 training run, with or without ``mpiexec``; one JSON file per rank.

``python _worker.py CASE --out FOLDER``; each rank seeds its generators with ``1000 * rank``
and writes ``FOLDER/rank<r>.json``. The cases: ``sgd`` (momentum; with checkpoints and a CSV
log), ``adam``, ``onecycle`` (SGD with momentum and ``OneCycleLR``), ``dropout`` (SGD with momentum
and a dropout layer), ``nan`` (rank 1's shard
holds a NaN at iteration 4), ``early`` (early stopping on a validation loss that stops
improving), ``stop`` (rank 1 alone raises ``CancelFitException`` after epoch 0), ``raise``
(rank 1 raises at iteration 2), ``lbfgs`` (``optim.LBFGS`` with a strong-Wolfe line search,
whose closure re-evaluates the batch), ``cancel`` (rank 1 alone cancels batch 2, rank 2 alone
the fit at iteration 6), ``cancels`` (every cancel kind, each on one rank, the step's on all),
``lrfind`` (``Learner.find_learning_rate`` and no fit), ``resume`` (SGD with
momentum and a checkpoint each epoch; ``--load FILE`` resumes, ``--epochs`` in all),
``interrupt`` (``resume`` whose rank 1 alone cancels the fit after epoch 1), ``desync``
(rank 1 alone cancels the step of iteration 2, past the gradients' allreduce),
``lbfgs-cancel`` (``lbfgs`` and ``desync``'s cancel).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

import chainrule as cr
from chainrule import distributed, nn, optim
from chainrule.data import ArrayDataset, DataLoader
from chainrule.train import (
    Callback,
    CancelBackwardException,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelStepException,
    CancelTrainException,
    CancelValidateException,
    CheckpointCallback,
    CSVLogger,
    EarlyStoppingCallback,
    EveryBatchSchedulerCallback,
    Learner,
    LRFinderCallback,
    NonFiniteLossError,
)

N_TRAIN, N_VALID, BATCH, EPOCHS = 100, 45, 32, 3


class _Inject(Callback):
    """Breaks one rank at one iteration: a NaN in its shard, or an exception."""

    order = -90  # after DataParallel has cut the shard

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def before_batch(self) -> None:
        learner = self.require_learner()
        if self.kind == "cancel" and self._on(1, "before_batch", 2):
            raise CancelBatchException()
        if self.kind == "cancels" and self._on(2, "before_batch", 9):
            raise CancelEpochException()
        if not learner.training or distributed.rank() != min(1, distributed.world_size() - 1):
            return
        if self.kind == "nan" and learner.iteration == 4:
            x = np.array(learner.xb[0].data)
            x[0, 0] = np.nan
            learner.xb = (cr.tensor(x),)
        if self.kind == "raise" and learner.iteration == 2:
            raise RuntimeError(f"injected failure on rank {distributed.rank()}")

    def _on(self, rank: int, event: str, iteration: int, training: bool = True) -> bool:
        """Whether rank ``rank`` (the last one with fewer ranks) is at ``event`` of training
        iteration ``iteration`` (of validation batch ``iteration`` of epoch 1)."""
        learner = self.require_learner()
        if distributed.rank() != min(rank, distributed.world_size() - 1):
            return False
        if learner.training != training or learner.event != event:
            return False
        return learner.iteration == iteration if training else learner.batch_index == iteration

    def after_pred(self) -> None:
        if self.kind == "cancel" and self._on(2, "after_pred", 6):
            raise CancelFitException()  # mid-epoch 1, on one rank
        if self.kind == "cancels" and self._on(2, "after_pred", 5):
            raise CancelTrainException()
        learner = self.require_learner()
        if self.kind == "cancels" and self._on(1, "after_pred", 1, training=False):
            if learner.epoch == 1:
                raise CancelValidateException()

    def before_backward(self) -> None:
        if self.kind == "cancels" and self._on(1, "before_backward", 1):
            raise CancelBackwardException()

    def before_step(self) -> None:
        learner = self.require_learner()
        if self.kind == "cancels" and learner.iteration == 3:  # every rank alike
            raise CancelStepException()
        if self.kind == "lbfgs-cancel" and self._on(1, "before_step", 2):
            raise CancelStepException()  # one rank alone: the others wait in the closure
        if self.kind == "desync" and self._on(1, "before_step", 2):
            raise CancelStepException()  # one rank alone, past the gradients' allreduce

    def after_epoch(self) -> None:
        if self.kind == "stop" and distributed.rank() == min(1, distributed.world_size() - 1):
            raise CancelFitException()  # this rank alone ends the fit after epoch 0
        one = distributed.rank() == min(1, distributed.world_size() - 1)
        if self.kind == "interrupt" and one and self.require_learner().epoch == 1:
            raise CancelFitException()  # rank 1 alone stops the run after 2 epochs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case")
    parser.add_argument("--out", required=True, help="folder for rank<r>.json")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="epochs in all (resume)")
    parser.add_argument("--load", help="a checkpoint every rank loads before the fit")
    args = parser.parse_args()
    distributed.init()
    rng = np.random.default_rng(0)  # the data: the same on every rank
    x = rng.normal(size=(N_TRAIN + N_VALID, 5))
    y = (x @ rng.normal(size=(5, 3))).argmax(axis=1)
    # Each rank starts from its own weights and generators: rank 0's are broadcast.
    cr.manual_seed(1000 * distributed.rank())
    dropout = [nn.Dropout(0.3)] if args.case == "dropout" else []
    model = nn.Sequential(
        nn.Linear(5, 16, dtype=np.float64),
        nn.Tanh(),
        *dropout,
        nn.Linear(16, 3, dtype=np.float64),
    )
    callbacks: list[Callback] = [distributed.DataParallel()]
    if args.case == "adam":
        opt: optim.Optimizer = optim.Adam(model.parameters(), lr=0.01)
    elif args.case.startswith("lbfgs"):
        opt = optim.LBFGS(model.parameters(), lr=0.5, max_iter=5, line_search_fn="strong_wolfe")
    else:
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    if args.case == "onecycle":
        steps = -(-N_TRAIN // BATCH)
        sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, epochs=EPOCHS, steps_per_epoch=steps)
        callbacks.append(EveryBatchSchedulerCallback(sched))
    if args.case in (
        "nan",
        "raise",
        "stop",
        "cancel",
        "cancels",
        "desync",
        "interrupt",
        "lbfgs-cancel",
    ):
        callbacks.append(_Inject(args.case))
    if args.case == "early":
        # a validation loss that rises from the first epoch on (lr too high)
        opt.param_groups[0]["lr"] = 3.0
        callbacks.append(EarlyStoppingCallback("valid_loss", patience=1, restore_best=False))
    save_dir = Path(args.out) / f"save{distributed.rank()}"
    if args.case in ("interrupt", "resume"):  # rank 0 writes each epoch's checkpoint
        callbacks.append(CheckpointCallback(keep_last=None))
    if args.case == "sgd":  # only rank 0 writes them
        callbacks += [CheckpointCallback(save_best_on="valid_loss"), CSVLogger()]
    learner = Learner(
        model,
        opt,
        nn.CrossEntropyLoss(),
        callbacks=callbacks,
        metrics=["accuracy", "f1"],
        show_progress=False,
        save_dir=save_dir,
    )
    train = DataLoader(ArrayDataset(x[:N_TRAIN], y[:N_TRAIN]), batch_size=BATCH, shuffle=True)
    valid = DataLoader(ArrayDataset(x[N_TRAIN:], y[N_TRAIN:]), batch_size=BATCH)
    result: dict = {
        "rank": distributed.rank(),
        "world_size": distributed.world_size(),
        "initial": [p.data.tolist() for p in model.parameters()],
    }
    if args.case == "lrfind":  # the LR finder alone; no fit
        finder = learner.find_learning_rate(
            train, lr_find_callback=LRFinderCallback(max_lr=100.0, num_iter=20)
        )
        result.update(
            lrs=finder.lrs.tolist(),
            losses=finder.losses.tolist(),
            stopped_by=finder.stopped_by,
            suggestion=list(finder.suggestion()),
            weights=[p.data.tolist() for p in model.parameters()],
        )
        with open(f"{args.out}/rank{distributed.rank()}.json", "w") as f:
            json.dump(result, f)
        return
    history = []
    # LBFGS's curvature pairs amplify the rounding of a sum taken in another order about 50x
    # per epoch here (valid loss apart by 1e-15, 9e-14, 6e-12 after epochs 1-3): two epochs
    # stay within the tests' 1e-12.
    epochs = 2 if args.case.startswith("lbfgs") else args.epochs
    if args.load:  # resuming: the epochs left
        learner.load(args.load)
        epochs -= learner.epoch

    class _Record(Callback):
        order = 50_000

        def after_epoch(self) -> None:
            history.append(dict(self.require_learner().epoch_log))
            blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
            result["blas_threads"] = max(blas, default=None)

    learner.add_callback(_Record())
    try:
        learner.fit(train, epochs, valid)
    except (NonFiniteLossError, distributed.DesyncError) as err:
        result["nan_iteration"] = learner.iteration
        result["error"] = str(err)
    result["iteration"] = learner.iteration
    result["epoch"] = learner.epoch
    result["history"] = history
    result["weights"] = [p.data.tolist() for p in model.parameters()]
    result["files"] = sorted(os.listdir(save_dir)) if save_dir.exists() else []
    result["shard_sizes"] = callbacks[0].shard_sizes  # type: ignore[attr-defined]
    with open(f"{args.out}/rank{distributed.rank()}.json", "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    sys.exit(main())
