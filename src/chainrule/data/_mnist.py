"""MNIST from its original IDX files (gzipped or not) or from an ``.npz``, with checked headers.

IDX (LeCun's format): a big-endian 32-bit magic number 0x000008TD (T = 0x08 for unsigned
bytes, D = the number of dimensions), D big-endian 32-bit sizes, then the bytes in C order.
Images are 0x00000803 (n, rows, cols) and labels 0x00000801 (n,).
"""

from __future__ import annotations

import gzip
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801
_SPLITS = {"train": "train", "test": "t10k"}
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix == ".gz" or raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"load_mnist: {path}: not a readable gzip file ({e})") from None
    return raw


def read_idx(path: str | os.PathLike, magic: int) -> np.ndarray:
    """Reads one IDX file of unsigned bytes, checking its magic number, header and size.

    Parameters
    ----------
    path : str or PathLike
        The file; gzip-compressed when it ends in ``.gz`` or starts with gzip's signature.
    magic : int
        The expected magic number (0x00000803 for images, 0x00000801 for labels).

    Returns
    -------
    ndarray of uint8, shape given by the header
    """
    path = Path(path)
    raw = _read_bytes(path)
    ndim = magic & 0xFF
    kind = "images" if magic == IMAGES_MAGIC else "labels"
    if len(raw) < 4:
        raise ValueError(
            f"load_mnist: {path}: truncated IDX file ({len(raw)} bytes, fewer "
            f"than the 4-byte magic number)"
        )
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise ValueError(
            f"load_mnist: {path}: bad magic number 0x{found:08X}, expected "
            f"0x{magic:08X} (IDX {kind}, unsigned bytes, {ndim} dimensions)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"load_mnist: {path}: truncated header ({len(raw)} bytes, expected "
            f"{header} for {ndim} dimension sizes)"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise ValueError(
            f"load_mnist: {path}: expected {size} bytes of {kind} for dimensions "
            f"{shape}, found {len(raw) - header}"
            + (" (truncated file)" if len(raw) - header < size else "")
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _find(directory: Path, split: str, what: str) -> Path:
    prefix, suffix = f"{_SPLITS[split]}-{what}", "idx3-ubyte" if what == "images" else "idx1-ubyte"
    names = [f"{prefix}{sep}{suffix}{gz}" for sep in ("-", ".") for gz in ("", ".gz")]
    for name in names:
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"load_mnist: {directory} holds none of {names}")


def _check_pair(images: np.ndarray, labels: np.ndarray, where: str) -> None:
    if images.ndim not in (2, 3) or labels.ndim != 1:
        raise ValueError(
            f"load_mnist: {where}: expected images (n, rows, cols) or (n, pixels) "
            f"and labels (n,), got shapes {images.shape} and {labels.shape}"
        )
    if len(images) != len(labels):
        raise ValueError(f"load_mnist: {where}: {len(images)} images but {len(labels)} labels")
    if labels.dtype.kind not in "iu" or (
        labels.size and not 0 <= labels.min() <= labels.max() <= 9
    ):
        raise ValueError(
            f"load_mnist: {where}: labels must be integers 0 to 9, got dtype "
            f"{labels.dtype} with values in [{labels.min()}, {labels.max()}]"
        )


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise ValueError(f"load_mnist: {path}: not a readable .npz archive (no zip signature)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in _NPZ_KEYS if k not in archive.files]
            if missing:
                raise ValueError(
                    f"load_mnist: {path}: missing arrays {missing} (has {archive.files})"
                )
            return {k: archive[k] for k in _NPZ_KEYS}
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f"load_mnist: {path}: not a readable .npz archive ({e})") from None
    except ValueError as e:
        if str(e).startswith("load_mnist"):
            raise
        raise ValueError(f"load_mnist: {path}: cannot be read without pickle ({e})") from None


def load_mnist(
    path: str | os.PathLike, *, flatten: bool = True, dtype: Any = np.float32
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Loads MNIST (or Fashion-MNIST, same format) from IDX files or an ``.npz`` archive.

    Parameters
    ----------
    path : str or PathLike
        A directory holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each possibly ``.gz``; a
        ``.`` instead of the last ``-`` is accepted), or an ``.npz`` file with arrays
        ``x_train``, ``y_train``, ``x_test``, ``y_test`` (loaded with ``allow_pickle=False``).
    flatten : bool
        Return images as (n, rows · cols) rows instead of (n, rows, cols).
    dtype : numpy dtype
        Images' dtype. A floating dtype scales byte pixels to [0, 1]; ``np.uint8`` gives the
        raw bytes.

    Returns
    -------
    (X_train, y_train), (X_test, y_test)
        X of shape (60000, 784) and (10000, 784) for MNIST with the defaults; y int64 digits.

    Raises
    ------
    ValueError
        Naming the file and the problem: bad magic number, truncated header or data, data size
        not matching the header, images and labels of different counts, labels outside 0–9,
        missing arrays in an ``.npz``.
    FileNotFoundError
        When ``path`` does not exist or a directory lacks one of the four files.
    """
    path = Path(path)
    if path.is_dir():
        arrays = {}
        for split in _SPLITS:
            for what, magic in (("images", IMAGES_MAGIC), ("labels", LABELS_MAGIC)):
                key = f"{'x' if what == 'images' else 'y'}_{split}"
                arrays[key] = read_idx(_find(path, split, what), magic)
            where = f"{_find(path, split, 'images')} and {_find(path, split, 'labels')}"
            _check_pair(arrays[f"x_{split}"], arrays[f"y_{split}"], where)
    elif path.is_file():
        arrays = _load_npz(path)
        for split in _SPLITS:
            _check_pair(arrays[f"x_{split}"], arrays[f"y_{split}"], f"{path} ({split})")
    else:
        raise FileNotFoundError(
            f"load_mnist: {path} is neither a directory of IDX files nor an .npz file"
        )
    out = []
    for split in _SPLITS:
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if flatten:
            x = x.reshape(len(x), -1)
        if np.dtype(dtype).kind == "f" and x.dtype == np.uint8:
            x = x.astype(dtype) / np.asarray(255, dtype)
        else:
            x = x.astype(dtype)
        out.append((x, y.astype(np.int64)))
    return out[0], out[1]
