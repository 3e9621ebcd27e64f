"""Telemetry: what is recorded, when, from which modules, and that memory stays flat."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import ArrayDataset, DataLoader
from chainrule.train import (
    STATS,
    TrainActivationsCallback,
    TrainGradientsCallback,
    TrainParametersCallback,
)
from chainrule.train._summary import Histogram, Rows, Summary, summarize

from ._helpers import blobs, loaders, tiny_learner

ROW_BYTES = 8 + 8 * len(STATS) + 4 * 40  # iteration, statistics, 40 int32 counts


def test_summarize_matches_numpy(rng):
    x = rng.standard_normal((7, 5)).astype(np.float32)
    x[0, 0], x[1, 1] = np.nan, 0.0
    got = dict(zip(STATS, summarize(x, near_zero=1e-8)))
    a = x.astype(np.float64).ravel()
    a = a[np.isfinite(a)]
    want = {
        "mean": a.mean(),
        "std": a.std(),
        "min": a.min(),
        "max": a.max(),
        "abs_mean": np.abs(a).mean(),
        "abs_p50": np.percentile(np.abs(a), 50),
        "abs_p90": np.percentile(np.abs(a), 90),
        "abs_p99": np.percentile(np.abs(a), 99),
        "frac_near_zero": 1 / 35,
        "frac_nonfinite": 1 / 35,
        "norm": np.linalg.norm(a),
    }
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-12), f"statistic {k} of a (7, 5) tensor"


def test_histogram_counts_every_value_with_clipping(rng):
    h = Histogram(-1.0, 1.0, 4, log=False)
    counts = h.counts(np.array([-5.0, -0.9, -0.1, 0.1, 0.6, 3.0, np.nan]))
    np.testing.assert_array_equal(counts, [2, 1, 1, 2])
    log = Histogram(-8, 2, 10, log=True)
    np.testing.assert_array_equal(
        log.counts(np.array([0.0, 1e-3, -1e-3, 50.0]))[[0, 5, 9]], [1, 2, 1]
    )


def test_adaptive_histogram_rebins_past_counts_exactly(rng):
    s = Summary("Linear", n_bins=8, hist_range=None, log=False, near_zero=0.0, track_units=False)
    xs = [rng.standard_normal(200) * scale for scale in (0.5, 0.5, 3.0, 40.0)]
    xs.append(-np.abs(xs[-1]) * 10)
    for i, x in enumerate(xs):
        s.record(i, x)
    assert s.histogram.low < -400 and s.histogram.high > 100, "the range grew to hold the data"
    final = Histogram(s.histogram.low, s.histogram.high, 8, log=False)
    np.testing.assert_array_equal(s.counts(), [final.counts(x) for x in xs])


def test_rows_grow_in_fixed_chunks():
    r = Rows(3, np.float64, chunk=4)
    for i in range(9):
        r.append([i, i, i])
    assert len(r) == 9 and r.nbytes == 3 * 4 * 3 * 8
    np.testing.assert_array_equal(r.array()[:, 0], np.arange(9))


def _nested_model():
    g = cr.Generator(0)
    block = nn.Sequential(nn.Linear(4, 4, generator=g), nn.ReLU())
    return nn.Sequential(
        nn.Linear(2, 4, generator=g), nn.Sigmoid(), block, nn.Linear(4, 1, generator=g)
    )


def test_module_selection_by_depth_and_pattern():
    learner = tiny_learner(model=_nested_model())

    def chosen(**kwargs):
        cb = learner.add_callback(TrainActivationsCallback(**kwargs))
        names = [n for n, _ in cb.modules()]
        learner.remove_callback(cb)
        return names

    assert chosen() == ["0", "1", "2.0", "2.1", "3"], "the layers (modules without children)"
    assert chosen(max_depth_search=1) == ["0", "1", "2", "3"], "the block counts as one at depth 1"
    assert chosen(max_depth_search=0) == ["model"]
    assert chosen(name_patterns=["Sigmoid", "ReLU"]) == ["1", "2.1"], "class names match"
    assert chosen(name_patterns=[r"^2\."]) == ["2.0", "2.1"], "dotted names match"
    grads = learner.add_callback(TrainGradientsCallback(name_patterns=["^3$"]))
    assert [k for k, _, _ in grads.parameters()] == ["3.weight", "3.bias"]


def test_every_n_and_hooks_are_removed():
    dl_train, _ = loaders(n_train=48, batch_size=8)  # 6 batches per epoch
    acts = TrainActivationsCallback(every_n=4)
    grads = TrainGradientsCallback(every_n=4, wrt="outputs")
    learner = tiny_learner([acts, grads])
    learner.fit(dl_train, 2)
    np.testing.assert_array_equal(acts.stats("1")["iteration"], [0, 4, 8])
    np.testing.assert_array_equal(grads.stats("2")["iteration"], [0, 4, 8])
    assert all(not m._forward_hooks for m in learner.model.modules()), "no hooks left behind"


def test_steps_on_the_short_last_batch_are_not_recorded():
    dl_train, _ = loaders(n_train=40, batch_size=16)  # batches of 16, 16 and 8 rows
    cbs = [TrainActivationsCallback(), TrainParametersCallback(), TrainGradientsCallback()]
    learner = tiny_learner(cbs)
    learner.fit(dl_train, 2)
    for cb in cbs:
        for name in cb.records:
            np.testing.assert_array_equal(cb.stats(name)["iteration"], [0, 1, 3, 4], name)
    _, _, counts = cbs[0].histograms("1")
    assert set(counts.sum(axis=1)) == {16 * 4}, "every column counts a full batch's values"
    whole = DataLoader(ArrayDataset(*blobs(5)), batch_size=16)  # one batch, smaller than 16
    acts = TrainActivationsCallback()
    tiny_learner([acts]).fit(whole, 2)
    np.testing.assert_array_equal(acts.stats("1")["iteration"], [0, 1]), "nothing else to show"


def test_name_patterns_that_match_nothing_warn_at_the_start_of_the_fit():
    acts = TrainActivationsCallback(name_patterns=["Conv2d", "^9$"])
    learner = tiny_learner([acts])
    with pytest.warns(UserWarning, match=r"\['Conv2d', '\^9\$'\] match no module") as caught:
        learner.fit(loaders()[0], 1)
    assert "its modules are ['model', '0', '1', '2']" in str(caught[0].message)
    assert acts.records == {}
    with pytest.raises(ValueError, match=r"matched no module of the model"):
        acts.plot()
    with pytest.raises(ValueError, match=r"has recorded nothing yet \(run a fit\)"):
        TrainActivationsCallback().plot()


def test_recorded_values_are_the_tensors_of_that_iteration():
    X, y = blobs(8)
    dl = DataLoader(ArrayDataset(X, y), batch_size=8)
    acts, params = TrainActivationsCallback(), TrainParametersCallback()
    pgrads, ograds = TrainGradientsCallback(), TrainGradientsCallback(wrt="outputs")
    learner = tiny_learner([acts, params, pgrads, ograds])
    model = learner.model
    w0 = model[0].weight.data.copy()
    z = model(cr.tensor(X))
    sig = cr.sigmoid(cr.tensor(X) @ model[0].weight + model[0].bias).data
    dlogits = (1 / (1 + np.exp(-z.data)) - y) / len(y)
    learner.fit(dl, 1)
    np.testing.assert_allclose(acts.stats("1")["mean"], [sig.mean()], rtol=1e-6)
    np.testing.assert_allclose(params.stats("0.weight")["norm"], [np.linalg.norm(w0)], rtol=1e-6)
    grad_now = model[2].weight.grad.data
    np.testing.assert_allclose(
        pgrads.stats("2.weight")["norm"], [np.linalg.norm(grad_now)], rtol=1e-6
    )
    np.testing.assert_allclose(ograds.stats("2")["mean"], [dlogits.mean()], rtol=1e-5, atol=1e-9)
    assert pgrads.what == "parameter gradients dL/dθ" and "module outputs dL/dy" in ograds.what
    iters, edges, counts = acts.histograms("1")
    assert (
        counts.shape == (1, 40) and counts.sum() == sig.size and edges[[0, -1]].tolist() == [0, 1]
    )


def test_unit_counters_find_dead_and_saturated_units(rng):
    relu = Summary("ReLU", 40, None, False, 1e-8, track_units=True)
    for i in range(30):
        x = np.maximum(rng.standard_normal((16, 10)), 0)
        x[:, :6] = 0.0 if i >= 5 else x[:, :6]  # units 0-5 die after 5 records
        relu.record(i, x)
    assert relu.dead_fraction(window=20) == pytest.approx(0.6)
    assert relu.dead_fraction(window=30) == 0.0, "all were active within the last 30 records"
    sig = Summary("Sigmoid", 40, None, False, 1e-8, track_units=True)
    for i in range(10):
        z = rng.standard_normal((32, 4))
        z[:, :3] *= 50  # three units saturated almost always
        sig.record(i, 1 / (1 + np.exp(-z)))
    assert sig.saturated_fraction(0.9) == pytest.approx(0.75)
    assert relu.saturated_fraction() is None


def test_memory_per_recorded_iteration_is_constant_and_independent_of_tensor_size(rng):
    per_record = []
    for width, batch in ((3, 4), (128, 32)):
        s = Summary("Linear", 40, None, False, 1e-8, track_units=False)
        sizes = []
        for i in range(300):
            s.record(i, rng.standard_normal((batch, width)))
            sizes.append(s.nbytes)
        chunks = -(-np.arange(1, 301) // 128)
        np.testing.assert_array_equal(sizes, chunks * 128 * ROW_BYTES)
        per_record.append(sizes[-1])
    assert per_record[0] == per_record[1], "the same bytes for (4, 3) and (32, 128) tensors"


def test_callback_memory_does_not_depend_on_batch_size():
    totals = []
    for batch in (4, 32):
        X, y = blobs(128)
        dl = DataLoader(
            ArrayDataset(X, y), batch_size=batch, shuffle=True, generator=cr.Generator(0)
        )
        cbs = [TrainActivationsCallback(), TrainGradientsCallback(), TrainParametersCallback()]
        learner = tiny_learner(cbs)
        learner.fit(dl, 128 // len(dl))  # 128 iterations, all recorded
        assert all(len(s) == 128 for cb in cbs for s in cb.records.values())
        totals.append([cb.nbytes for cb in cbs])
    assert totals[0] == totals[1]


def test_tracemalloc_stays_flat_over_a_long_run():
    X, y = blobs(128)
    dl = DataLoader(ArrayDataset(X, y), batch_size=128)
    g = cr.Generator(0)
    model = nn.Sequential(nn.Linear(2, 128, generator=g), nn.ReLU(), nn.Linear(128, 1, generator=g))
    cbs = [TrainActivationsCallback(every_n=4), TrainGradientsCallback(every_n=4)]
    learner = tiny_learner(cbs, model=model, lr=0.01)
    learner.fit(dl, 4)  # warm up: records exist, chunks allocated
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        learner.fit(dl, 120)  # 30 more records per module
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    n_records = 7  # 3 activations + 4 parameter gradients
    whole_tensors = 30 * 128 * 128 * 4 * 2  # what keeping the two wide activations would cost
    assert end - start < n_records * 128 * ROW_BYTES + 200_000, "at most one new chunk per record"
    assert end - start < whole_tensors / 20


def test_state_dict_round_trip(rng):
    dl_train, _ = loaders()
    acts = TrainActivationsCallback()
    tiny_learner([acts]).fit(dl_train, 2)
    twin = TrainActivationsCallback()
    twin.load_state_dict(acts.state_dict())
    for name in acts.names:
        for k, v in acts.stats(name).items():
            np.testing.assert_array_equal(v, twin.stats(name)[k])
        np.testing.assert_array_equal(acts.histograms(name)[2], twin.histograms(name)[2])
    with pytest.raises(ValueError, match="has no 'records'"):
        twin.load_state_dict({})


def test_argument_errors():
    with pytest.raises(ValueError, match="every_n must be a positive integer, got 0"):
        TrainActivationsCallback(every_n=0)
    with pytest.raises(ValueError, match="invalid regular expression"):
        TrainActivationsCallback(name_patterns=["("])
    with pytest.raises(ValueError, match=r"hist_range must be \(low, high\) with low < high"):
        TrainParametersCallback(hist_range=(1, 0))
    with pytest.raises(ValueError, match="wrt must be 'parameters' or 'outputs', got 'inputs'"):
        TrainGradientsCallback(wrt="inputs")
    with pytest.raises(KeyError, match="no record named 'x'"):
        TrainActivationsCallback().stats("x")


@pytest.mark.parametrize("n", [1, 2, 3, 10, 101, 2048])
def test_fast_percentiles_equal_numpys(n, rng):
    from chainrule.train._summary import _percentiles

    a = np.abs(rng.standard_normal(n))
    np.testing.assert_allclose(
        _percentiles(a),
        np.percentile(a, (50, 90, 99)),
        rtol=1e-13,
        atol=0,
        err_msg=f"{n} values",
    )
