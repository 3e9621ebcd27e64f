"""load_mnist on small synthetic IDX files (raw and gzipped) and .npz archives, and bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import load_mnist, read_idx

NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """IDX encoding of a uint8 array: magic 0x0000080D, D big-endian sizes, then the bytes."""
    magic = 0x00000800 + array.ndim if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def mnist(rng):
    return {
        "x_train": rng.integers(0, 256, (12, 4, 5), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 12, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (7, 4, 5), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 7, dtype=np.uint8),
    }


def write_idx_dir(directory: Path, arrays: dict, gz: bool, sep: str = "-") -> Path:
    directory.mkdir(exist_ok=True)
    for key, name in NAMES.items():
        name = name.replace("-idx", sep + "idx")  # "train-images.idx3-ubyte" when sep="."
        raw = idx_bytes(arrays[key])
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (directory / name).write_bytes(raw)
    return directory


def _check(result, arrays, flatten=True, scale=True, dtype=np.float32):
    (xtr, ytr), (xte, yte) = result
    for x, y, split in ((xtr, ytr, "train"), (xte, yte, "test")):
        images = arrays[f"x_{split}"]
        expected = images.reshape(len(images), -1) if flatten else images
        if scale:
            expected = expected.astype(dtype) / dtype(255)
        assert x.dtype == (dtype if scale else np.uint8)
        np.testing.assert_array_equal(x, expected)
        np.testing.assert_array_equal(y, arrays[f"y_{split}"])
        assert y.dtype == np.int64


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("sep", ["-", "."])
def test_idx_directory(tmp_path, mnist, gz, sep):
    path = write_idx_dir(tmp_path / "mnist", mnist, gz, sep)
    result = load_mnist(path)
    assert result[0][0].shape == (12, 20) and result[0][0].dtype == np.float32
    assert 0.0 <= result[0][0].min() and result[0][0].max() <= 1.0
    _check(result, mnist)
    _check(load_mnist(str(path), flatten=False), mnist, flatten=False)
    raw = load_mnist(path, flatten=False, dtype=np.uint8)
    _check(raw, mnist, flatten=False, scale=False)
    assert raw[0][0].dtype == np.uint8 and raw[0][0].flags.writeable


def test_npz(tmp_path, mnist):
    np.savez(tmp_path / "mnist.npz", **mnist)
    _check(load_mnist(tmp_path / "mnist.npz"), mnist)
    flat = {k: (v.reshape(len(v), -1) if k.startswith("x") else v) for k, v in mnist.items()}
    np.savez_compressed(tmp_path / "flat.npz", **flat)
    _check(load_mnist(tmp_path / "flat.npz", dtype=np.float64), mnist, dtype=np.float64)


def test_read_idx_shapes(tmp_path, mnist):
    (tmp_path / "a").write_bytes(idx_bytes(mnist["x_train"]))
    np.testing.assert_array_equal(read_idx(tmp_path / "a", 0x00000803), mnist["x_train"])


# -- malformed files -----------------------------------------------------------------------------
def _broken(tmp_path, mnist, key, raw, gz=False):
    directory = write_idx_dir(tmp_path / "broken", mnist, gz=False)
    target = directory / NAMES[key]
    target.unlink()
    if gz:
        (directory / f"{NAMES[key]}.gz").write_bytes(raw)
    else:
        target.write_bytes(raw)
    return directory


@pytest.mark.parametrize(
    "key, make, match",
    [
        (
            "x_train",
            lambda m: idx_bytes(m["x_train"], magic=0x00000801),
            r"train-images-idx3-ubyte: bad magic number 0x00000801, expected 0x00000803 "
            r"\(IDX images",
        ),
        (
            "y_test",
            lambda m: idx_bytes(m["y_test"], magic=0x00000803),
            r"t10k-labels-idx1-ubyte: bad magic number 0x00000803, expected 0x00000801 "
            r"\(IDX labels",
        ),
        (
            "x_train",
            lambda m: idx_bytes(m["x_train"])[:-7],
            r"train-images-idx3-ubyte: expected 240 bytes of images for dimensions \(12, 4, 5\), "
            r"found 233 \(truncated file\)",
        ),
        (
            "x_test",
            lambda m: idx_bytes(m["x_test"]) + b"\x00",
            r"t10k-images-idx3-ubyte: expected 140 bytes of images for dimensions \(7, 4, 5\), "
            r"found 141",
        ),
        (
            "x_train",
            lambda m: idx_bytes(m["x_train"])[:10],
            r"train-images-idx3-ubyte: truncated header \(10 bytes, expected 16",
        ),
        (
            "y_train",
            lambda m: b"\x00\x00",
            r"train-labels-idx1-ubyte: truncated IDX file \(2 bytes",
        ),
        ("y_train", lambda m: idx_bytes(m["y_train"][:11]), r"12 images but 11 labels"),
        (
            "y_train",
            lambda m: idx_bytes(np.full(12, 12, np.uint8)),
            r"labels must be integers 0 to 9, got dtype uint8 with values in \[12, 12\]",
        ),
    ],
)
def test_malformed_idx(tmp_path, mnist, key, make, match):
    with pytest.raises(ValueError, match=match):
        load_mnist(_broken(tmp_path, mnist, key, make(mnist)))


def test_malformed_gzip(tmp_path, mnist):
    truncated = gzip.compress(idx_bytes(mnist["x_train"]))[:30]
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz: not a readable gzip file"):
        load_mnist(_broken(tmp_path, mnist, "x_train", truncated, gz=True))
    # a gzipped file whose content is truncated IDX data: the IDX check names the .gz file
    short = gzip.compress(idx_bytes(mnist["x_train"])[:-1])
    with pytest.raises(ValueError, match=r"idx3-ubyte.gz: expected 240 bytes .* found 239"):
        load_mnist(_broken(tmp_path, mnist, "x_train", short, gz=True))


def test_missing_files(tmp_path, mnist):
    directory = write_idx_dir(tmp_path / "m", mnist, gz=True)
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"holds none of \['t10k-labels-idx1-ubyte'"):
        load_mnist(directory)
    with pytest.raises(FileNotFoundError, match="is neither a directory of IDX files nor"):
        load_mnist(tmp_path / "nowhere")


def test_malformed_npz(tmp_path, mnist):
    partial = {k: v for k, v in mnist.items() if k != "y_test"}
    np.savez(tmp_path / "partial.npz", **partial)
    with pytest.raises(ValueError, match=r"partial.npz: missing arrays \['y_test'\]"):
        load_mnist(tmp_path / "partial.npz")
    pickled = dict(mnist, y_test=np.array([{"a": 1}] * 7, dtype=object))
    np.savez(tmp_path / "pickled.npz", **pickled)
    with pytest.raises(ValueError, match="pickled.npz: cannot be read without pickle"):
        load_mnist(tmp_path / "pickled.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip archive at all")
    with pytest.raises(ValueError, match="junk.npz: not a readable .npz archive"):
        load_mnist(tmp_path / "junk.npz")
    np.savez(tmp_path / "ragged.npz", **dict(mnist, y_train=mnist["y_train"][:5]))
    with pytest.raises(ValueError, match=r"ragged.npz \(train\): 12 images but 5 labels"):
        load_mnist(tmp_path / "ragged.npz")
    np.savez(tmp_path / "shape.npz", **dict(mnist, x_test=np.zeros(7, np.uint8)))
    with pytest.raises(ValueError, match=r"shape.npz \(test\): expected images \(n, rows, cols\)"):
        load_mnist(tmp_path / "shape.npz")
