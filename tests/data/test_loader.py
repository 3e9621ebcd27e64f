"""ArrayDataset, DataLoader and default_collate: batching, shuffling, collation and errors."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import ArrayDataset, DataLoader, Dataset, default_collate


@pytest.fixture
def xy(rng):
    X = rng.standard_normal((23, 3)).astype(np.float32)
    y = np.arange(23, dtype=np.int64)  # labels name the rows, so orders can be checked
    return X, y


class PerSample:
    """A generic data set: per-sample access only."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


# -- ArrayDataset ------------------------------------------------------------------------------
def test_array_dataset_indexing(xy):
    X, y = xy
    ds = ArrayDataset(X, y)
    assert len(ds) == 23 and isinstance(ds, Dataset)
    x0, y0 = ds[4]
    np.testing.assert_array_equal(x0, X[4])
    assert y0 == 4
    xb, yb = ds[np.array([5, 0, 7])]
    assert xb.shape == (3, 3) and yb.tolist() == [5, 0, 7]
    xb, yb = ds[cr.tensor([1, 2])]
    assert yb.tolist() == [1, 2]
    assert ds[2:4][1].tolist() == [2, 3]
    assert ds.X is X, "arrays are used without a copy"
    assert repr(ds) == "ArrayDataset(X: (23, 3) float32, y: (23,) int64)"


def test_array_dataset_conversions():
    ds = ArrayDataset([[1.0, 2.0], [3.0, 4.0]])
    assert ds.X.dtype == np.float32 and ds.y is None
    np.testing.assert_array_equal(ds[1], [3.0, 4.0])
    assert ArrayDataset(np.zeros((2, 2))).X.dtype == np.float64, "float64 arrays keep dtype"
    t = cr.tensor(np.ones((3, 2)))
    assert ArrayDataset(t).X is t.data


@pytest.mark.parametrize(
    "X, y, error, match",
    [
        (
            np.zeros((5, 2)),
            np.zeros(4),
            ValueError,
            r"X and y must have the same number of samples, got len\(X\) = 5 and len\(y\) = 4",
        ),
        (np.array(["a", "b"]), None, TypeError, "ArrayDataset: X must hold numbers, got dtype <U1"),
        (3.0, None, ValueError, "ArrayDataset: X must have a first axis of samples, got a scalar"),
        (np.zeros(3), 1, ValueError, "y must have a first axis of samples"),
    ],
)
def test_array_dataset_errors(X, y, error, match):
    with pytest.raises(error, match=match):
        ArrayDataset(X, y)


# -- DataLoader --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "batch_size, drop_last, sizes",
    [
        (5, False, [5, 5, 5, 5, 3]),
        (5, True, [5, 5, 5, 5]),
        (23, False, [23]),
        (30, False, [23]),
        (30, True, []),
        (1, False, [1] * 23),
    ],
)
def test_batches_in_order(xy, batch_size, drop_last, sizes):
    X, y = xy
    loader = DataLoader(ArrayDataset(X, y), batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes) == len(batches)
    assert [len(yb) for _, yb in batches] == sizes
    for xb, yb in batches:
        assert isinstance(xb, cr.Tensor) and isinstance(yb, cr.Tensor)
        assert xb.dtype == np.float32 and yb.dtype == np.int64
    if sizes:
        np.testing.assert_array_equal(
            np.concatenate([xb.data for xb, _ in batches]), X[: sum(sizes)]
        )


def test_unshuffled_batches_are_read_only_views(xy):
    X, y = xy
    xb, _ = next(iter(DataLoader(ArrayDataset(X, y), batch_size=4)))
    assert np.shares_memory(xb.data, X) and not xb.data.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        xb.data[0, 0] = 1.0
    assert X.flags.writeable


def test_x_only_dataset_yields_tensors_and_keeps_float64(rng):
    X = rng.standard_normal((10, 2))
    batches = list(DataLoader(ArrayDataset(X), batch_size=4, shuffle=True))
    assert all(isinstance(b, cr.Tensor) and b.dtype == np.float64 for b in batches)
    assert [len(b) for b in batches] == [4, 4, 2]


def test_shuffle_is_a_permutation_and_changes_between_passes(xy):
    X, y = xy
    loader = DataLoader(ArrayDataset(X, y), batch_size=4, shuffle=True)
    first = np.concatenate([yb.data for _, yb in loader])
    second = np.concatenate([yb.data for _, yb in loader])
    assert sorted(first) == list(range(23)) and sorted(second) == list(range(23))
    assert not np.array_equal(first, second) and not np.array_equal(first, np.arange(23))
    for xb, yb in loader:
        np.testing.assert_array_equal(xb.data, X[yb.data], err_msg="inputs travel with labels")


def test_shuffle_is_reproducible_from_manual_seed_and_generators(xy):
    X, y = xy
    loader = DataLoader(ArrayDataset(X, y), batch_size=5, shuffle=True)
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (checks it is untouched)

    def order(loader):
        return np.concatenate([yb.data for _, yb in loader])

    cr.manual_seed(7)
    a = order(loader)
    cr.manual_seed(7)
    b = order(loader)
    cr.manual_seed(8)
    c = order(loader)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    g1 = DataLoader(ArrayDataset(X, y), batch_size=5, shuffle=True, generator=cr.Generator(3))
    g2 = DataLoader(ArrayDataset(X, y), batch_size=5, shuffle=True, generator=cr.Generator(3))
    np.testing.assert_array_equal(order(g1), order(g2))
    np.testing.assert_array_equal(np.random.get_state()[1], state, err_msg="global state")  # noqa: NPY002 (checks it is untouched)


def test_array_path_indexes_once_per_batch(xy, monkeypatch):
    """The array fast path never calls __getitem__ per sample, and agrees with the generic path
    on the same shuffled order."""
    X, y = xy
    ds = ArrayDataset(X, y)
    fast = DataLoader(ds, batch_size=4, shuffle=True, generator=cr.Generator(1))
    slow = DataLoader(PerSample(X, y), batch_size=4, shuffle=True, generator=cr.Generator(1))

    calls = []
    original = ArrayDataset.__getitem__
    monkeypatch.setattr(
        ArrayDataset, "__getitem__", lambda self, i: calls.append(i) or original(self, i)
    )
    fast_batches = list(fast)
    assert calls == []
    for (xa, ya), (xb, yb) in zip(fast_batches, slow, strict=True):
        np.testing.assert_array_equal(xa.data, xb.data)
        np.testing.assert_array_equal(ya.data, yb.data)
        assert ya.dtype == yb.dtype == np.int64 and xa.dtype == xb.dtype == np.float32


def test_subclass_overriding_getitem_goes_sample_by_sample(xy):
    X, y = xy

    class Doubled(ArrayDataset):
        def __getitem__(self, i):
            x, t = super().__getitem__(i)
            return 2 * x, t

    xb, yb = next(iter(DataLoader(Doubled(X, y), batch_size=3)))
    np.testing.assert_array_equal(xb.data, 2 * X[:3])


def test_generic_dataset_and_custom_collate(xy):
    X, y = xy
    loader = DataLoader(PerSample(X, y), batch_size=10, drop_last=True)
    assert len(loader) == 2
    xb, yb = next(iter(loader))
    assert xb.shape == (10, 3) and yb.data.tolist() == list(range(10))
    seen = []
    custom = DataLoader(
        ArrayDataset(X, y),
        batch_size=6,
        collate_fn=lambda samples: seen.append(len(samples)) or len(samples),
    )
    assert list(custom) == [6, 6, 6, 5] and seen == [6, 6, 6, 5]


# -- default_collate ---------------------------------------------------------------------------
def test_collate_tuples_dicts_and_numbers():
    samples = [
        ({"image": np.full((2, 2), i, np.float32), "id": i}, float(i), i % 2 == 0) for i in range(3)
    ]
    inputs, targets, flags = default_collate(samples)
    assert inputs["image"].shape == (3, 2, 2) and inputs["image"].dtype == np.float32
    assert inputs["id"].dtype == np.int64 and inputs["id"].data.tolist() == [0, 1, 2]
    assert targets.dtype == np.float32 and flags.dtype == np.bool_
    assert flags.data.tolist() == [True, False, True]


def test_collate_keeps_types_and_dtypes():
    Pair = namedtuple("Pair", "x y")
    batch = default_collate(
        [Pair(np.float64(1.5), np.int32(2)), Pair(np.float64(2.5), np.int32(3))]
    )
    assert isinstance(batch, Pair) and batch.x.dtype == np.float64 and batch.y.dtype == np.int32
    lists = default_collate([[cr.tensor([1.0]), "a"], [cr.tensor([2.0]), "b"]])
    assert isinstance(lists, list) and lists[1] == ["a", "b"]
    assert lists[0].shape == (2, 1) and lists[0].dtype == np.float32


@pytest.mark.parametrize(
    "batch, error, match",
    [
        ([], ValueError, "default_collate: got an empty batch"),
        (
            [np.zeros(2), np.zeros(3)],
            ValueError,
            r"same shape to be stacked, got shapes \[\(2,\), \(3,\)\]",
        ),
        ([{"a": 1}, {"b": 1}], ValueError, r"every sample must have the keys \['a'\], got \['b'\]"),
        ([(1, 2), (1,)], ValueError, r"same number of fields, got lengths \[1, 2\]"),
        ([object(), object()], TypeError, "cannot batch samples of type object"),
    ],
)
def test_collate_errors(batch, error, match):
    with pytest.raises(error, match=match):
        default_collate(batch)


# -- DataLoader errors -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw, error, match",
    [
        ({"batch_size": 0}, ValueError, "DataLoader: batch_size must be a positive integer, got 0"),
        ({"batch_size": -3}, ValueError, "batch_size must be a positive integer, got -3"),
        ({"batch_size": 2.5}, ValueError, "batch_size must be a positive integer, got float 2.5"),
        ({"batch_size": "8"}, ValueError, "batch_size must be a positive integer, got str '8'"),
        ({"batch_size": True}, ValueError, "batch_size must be a positive integer, got bool True"),
        (
            {"generator": "seed"},
            TypeError,
            "generator must be a chainrule.Generator, a numpy.random.Generator, an int seed or "
            "None, got str",
        ),
        ({"generator": -1}, ValueError, "generator seed must be >= 0, got -1"),
        ({"generator": True}, TypeError, "an int seed or None, got bool"),
        ({"collate_fn": 3}, TypeError, "collate_fn must be callable, got int"),
    ],
)
def test_loader_errors(xy, kw, error, match):
    with pytest.raises(error, match=match):
        DataLoader(ArrayDataset(*xy), **kw)


def test_generator_may_be_a_numpy_generator_or_an_int_seed(xy):
    def order(generator):
        loader = DataLoader(ArrayDataset(*xy), batch_size=100, shuffle=True, generator=generator)
        return [next(iter(loader))[1].data.tolist() for _ in range(2)]

    expected = order(cr.Generator(7))
    assert order(7) == expected, "an int seeds a new Generator"
    rng = np.random.default_rng(7)
    assert order(rng) == expected, "a NumPy Generator is drawn from directly"
    assert rng.bit_generator.state != np.random.default_rng(7).bit_generator.state, "it advanced"
    loader = DataLoader(ArrayDataset(*xy), shuffle=True, generator=np.random.default_rng(1))
    assert isinstance(loader.generator, cr.Generator), "checkpoints read its state"
    assert loader.generator.get_state() == np.random.default_rng(1).bit_generator.state


def test_loader_needs_a_dataset():
    with pytest.raises(TypeError, match="dataset must have __len__ and __getitem__, got int"):
        DataLoader(5)
    assert repr(DataLoader(ArrayDataset(np.zeros((4, 1))), batch_size=2)) == (
        "DataLoader(ArrayDataset of 4, batch_size=2, shuffle=False, drop_last=False)"
    )


def test_subclassing_the_protocol():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.float32(i), "y": i * i}

    batch = next(iter(DataLoader(Squares(), batch_size=5)))
    assert batch["x"].dtype == np.float32 and batch["y"].data.tolist() == [0, 1, 4, 9, 16]
    assert not isinstance(5, Dataset)
