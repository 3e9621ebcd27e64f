"""The LR range test: the ramp, the stops, NaN, the restoration and the suggestions."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.train import (
    EveryBatchSchedulerCallback,
    LRFinderCallback,
    TrainLossCallback,
)
from chainrule.train._lr_finder import steepest, valley

from ._helpers import loaders, params, tiny_learner


def test_the_ramp_is_exponential_from_min_to_max():
    dl_train, _ = loaders(n_train=64, batch_size=8)
    learner = tiny_learner()
    finder = learner.find_learning_rate(
        dl_train, lr_find_callback=LRFinderCallback(1e-4, 1e-2, 9, stop_factor=1e9)
    )
    np.testing.assert_allclose(finder.lrs, np.geomspace(1e-4, 1e-2, 9), rtol=1e-12)
    assert finder.stopped_by == "9 iterations" and len(finder.raw_losses) == 9
    assert finder.losses[0] == pytest.approx(finder.raw_losses[0]), "debiased smoothing"


def test_it_stops_when_the_loss_blows_up_and_survives_nan():
    dl_train, _ = loaders(n_train=64, batch_size=8)
    learner = tiny_learner()
    finder = learner.find_learning_rate(dl_train, lr_find_callback=LRFinderCallback(1e-3, 1e6, 200))
    assert len(finder.lrs) < 200
    assert "4× its best" in finder.stopped_by or "non-finite" in finder.stopped_by
    learner.model[0].weight.data[0, 0] = np.nan
    with np.errstate(invalid="ignore"):
        nan_finder = learner.find_learning_rate(
            dl_train, lr_find_callback=LRFinderCallback(num_iter=20)
        )
    assert "non-finite" in nan_finder.stopped_by and len(nan_finder.lrs) == 1, "NaN ends the search"


def test_model_optimizer_counters_and_generators_are_restored():
    dl_train, _ = loaders()
    learner = tiny_learner([TrainLossCallback()])
    learner.fit(dl_train, 1)
    before = params(learner)
    opt_state = learner.optimizer.state_dict()
    rng_state = dl_train.generator.get_state(), cr.default_generator.get_state()
    learner.find_learning_rate(dl_train, lr_find_callback=LRFinderCallback(1e-3, 10, 20))
    for k, v in params(learner).items():
        np.testing.assert_array_equal(v, before[k])
    after = learner.optimizer.state_dict()
    assert after["param_groups"] == opt_state["param_groups"], "learning rates restored"
    for i, s in opt_state["state"].items():
        np.testing.assert_array_equal(after["state"][i]["momentum_buffer"], s["momentum_buffer"])
    assert (learner.epoch, learner.iteration) == (1, 2)
    assert (dl_train.generator.get_state(), cr.default_generator.get_state()) == rng_state
    assert len(learner.get_callback(TrainLossCallback).losses) == 2, "other callbacks saw nothing"


def test_a_fit_after_the_search_equals_a_fit_without_it():
    results = []
    for search in (False, True):
        dl_train, _ = loaders()
        learner = tiny_learner()
        sched = cr.optim.lr_scheduler.OneCycleLR(learner.optimizer, max_lr=0.5, total_steps=4)
        learner.add_callback(EveryBatchSchedulerCallback(sched))
        if search:
            learner.find_learning_rate(dl_train, lr_find_callback=LRFinderCallback(num_iter=10))
        learner.fit(dl_train, 2)
        results.append(params(learner))
    for k in results[0]:
        np.testing.assert_array_equal(results[0][k], results[1][k])


def test_suggestions_on_a_known_curve():
    lrs = np.geomspace(1e-5, 1, 50)
    x = np.log10(lrs)
    losses = 1.0 - 0.5 * np.tanh(2 * (x + 2.5))  # falls fastest at 10^-2.5
    assert lrs[steepest(lrs, losses)] == pytest.approx(10**-2.5, rel=0.3)
    bumpy = np.array([5.0, 4.0, 4.5, 3.0, 2.0, 1.0, 1.5, 0.5, 3.0])
    # fastai's rule: the longest decreasing run 5,4,3,2,1,0.5 (length 6) ends at 7, so the
    # valley starts at 7 - 6 = 1 and the suggestion is 1 + int(6/3) + int(6/3/2) = 4
    assert valley(bumpy) == 4
    assert valley(np.array([3.0, 2.0, 1.0])) == 0, "start -1 (a run from the first point)"
    assert valley(np.array([1.0, 2.0, 3.0])) == 0, "no decrease: the first point"
    finder = LRFinderCallback(1e-5, 1, 50)
    finder._lrs, finder._losses = list(lrs), list(losses)
    s = finder.suggestion()
    assert 1e-5 < s.valley < 1e-1 and s.steep == pytest.approx(10**-2.5, rel=0.3)


def test_the_suggestion_ignores_the_warm_up_the_blow_up_and_nan():
    finder = LRFinderCallback(1e-5, 1, 40)
    lrs = np.geomspace(1e-5, 1, 40)
    losses = np.r_[np.full(4, 0.1), np.linspace(2.0, 1.0, 30), np.full(6, np.nan)]
    finder._lrs, finder._losses = list(lrs), list(losses)
    # fastai: [num_it // 10 : -5] keeps 4..34, and the NaN at 34 cuts it to 4..33
    s = finder.suggestion()
    assert s.valley == lrs[4:34][valley(losses[4:34])]
    assert s.valley > lrs[4], "the low warm-up losses are not the valley's end"


def test_suggestion_needs_losses_and_arguments_are_checked():
    with pytest.raises(RuntimeError, match="only 0 usable losses"):
        LRFinderCallback().suggestion()
    with pytest.raises(ValueError, match="min_lr must be below max_lr"):
        LRFinderCallback(1.0, 0.1)
    with pytest.raises(ValueError, match="min_lr must be a positive number, got 0"):
        LRFinderCallback(0, 1)
    with pytest.raises(ValueError, match="num_iter must be an integer >= 2, got 1"):
        LRFinderCallback(num_iter=1)
    with pytest.raises(ValueError, match=r"smooth must be in \[0, 1\), got 1"):
        LRFinderCallback(smooth=1)
    with pytest.raises(TypeError, match="must be an LRFinderCallback, got TrainLossCallback"):
        tiny_learner().find_learning_rate(loaders()[0], lr_find_callback=TrainLossCallback())
