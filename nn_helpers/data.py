"""Loading MNIST: the IDX format parsed with NumPy, the two CSV layouts, and preprocessing.

MNIST ships as four gzip-compressed IDX files. An IDX file is a tiny header followed by raw bytes:

    bytes 0-3   magic number, big-endian uint32: 0x00000803 (2051) for images,
                0x00000801 (2049) for labels. The third byte (0x08) means "unsigned byte data",
                the fourth is the number of dimensions.
    then        one big-endian uint32 per dimension: (count, rows, cols) or (count,)
    then        the data, uint8, row-major.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
import zlib
from pathlib import Path

import numpy as np

N_PIXELS = 28 * 28
N_CLASSES = 10

#: Where the bundled MNIST files live: ``data/mnist`` at the repository root; in the browser (JupyterLite,
#: ``python3 dev.py lite``) the site's ``data/mnist``, which the kernel sees under ``/drive``.
#: Set the environment variable ``NN_HELPERS_DATA`` to use another folder.
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "mnist"
if sys.platform == "emscripten":
    DEFAULT_DATA_DIR = Path("/drive/data/mnist")

#: File names of each split, and the SHA-256 of each original ``.gz`` file.
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    "train-labels-idx1-ubyte.gz": "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
    "t10k-images-idx3-ubyte.gz": "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
    "t10k-labels-idx1-ubyte.gz": "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
}
IDX_MAGIC = {2051: 3, 2049: 1}  # magic number -> number of dimensions (images, labels)


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the (uncompressed) bytes of an IDX file of unsigned bytes into a uint8 array.

    Returns an array of shape ``(count, rows, cols)`` for images or ``(count,)`` for labels.
    """
    if len(raw) < 8:
        raise ValueError(f"{name}: only {len(raw)} bytes; an IDX file has at least an 8-byte header.")
    magic = int.from_bytes(raw[0:4], "big")
    if magic not in IDX_MAGIC:
        raise ValueError(
            f"{name}: magic number is {magic} (0x{magic:08x}); expected 2051 (0x00000803) for images "
            f"or 2049 (0x00000801) for labels. Is this an MNIST IDX file, and was it decompressed only once?"
        )
    ndim = IDX_MAGIC[magic]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(f"{name}: header is cut short ({len(raw)} bytes; expected {header_size}).")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header_size + int(np.prod(shape))
    if len(raw) != expected:
        raise ValueError(
            f"{name}: header announces shape {shape}, i.e. {expected} bytes in all, "
            f"but the file has {len(raw)} bytes. The file is truncated or corrupted."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape).copy()


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read a gzip-compressed (``.gz``) or plain IDX file into a uint8 array."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as err:
            raise ValueError(
                f"{path}: not a valid gzip file ({err}). The download is truncated or corrupted; "
                f"restore the original (for the bundled data: `git checkout data/mnist`)."
            ) from err
    return parse_idx(raw, name=str(path))


def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 digest of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_mnist(split: str = "train", data_dir: str | os.PathLike | None = None):
    """Load an MNIST split from the IDX files, verifying their checksums.

    Parameters
    ----------
    split : "train" (60,000 images) or "test" (10,000 images)
    data_dir : folder with the four ``.gz`` files; default ``data/mnist`` in this repository
        (or ``$NN_HELPERS_DATA``).

    Returns
    -------
    images : uint8 array, shape (n, 28, 28), values 0..255
    labels : uint8 array, shape (n,), values 0..9
    """
    if split not in MNIST_FILES:
        raise ValueError(f"split={split!r}; expected 'train' or 'test'.")
    data_dir = Path(data_dir or os.environ.get("NN_HELPERS_DATA") or DEFAULT_DATA_DIR)
    arrays = []
    for filename in MNIST_FILES[split]:
        path = data_dir / filename
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: missing. The repository bundles MNIST in data/mnist; "
                f"pass data_dir= to point at another folder with the four IDX .gz files."
            )
        digest = sha256(path)
        if digest != MNIST_SHA256[filename]:
            raise ValueError(
                f"{path}: checksum mismatch: SHA-256 is {digest}, expected {MNIST_SHA256[filename]}. "
                f"The file is corrupted or not the original MNIST; restore it (`git checkout data/mnist`)."
            )
        arrays.append(load_idx(path))
    images, labels = arrays
    if len(images) != len(labels):
        raise ValueError(f"{data_dir}: {len(images)} images but {len(labels)} labels for split {split!r}.")
    return images, labels


def load_csv(path: str | os.PathLike):
    """Load MNIST from CSV: Kaggle's ``train.csv`` (header ``label,pixel0..pixel783``) or the
    headerless ``mnist_train.csv`` / ``mnist_test.csv`` (label first, then 784 pixels).

    Returns ``(images, labels)`` as :func:`load_mnist` does: uint8 ``(n, 28, 28)`` and uint8 ``(n,)``.
    (Kaggle's ``test.csv`` has no labels and is not one of these layouts.)
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    with open(path, encoding="utf-8") as f:
        first = f.readline().strip()
    if first.startswith("pixel"):
        raise ValueError(
            f"{path}: the header starts with 'pixel0' and has no 'label' column: this is Kaggle's test.csv "
            f"(unlabelled images), which load_csv cannot load. Read it with "
            f"pd.read_csv(path).to_numpy().astype(np.uint8).reshape(-1, 28, 28)."
        )
    has_header = first.startswith("label")
    frame = pd.read_csv(path, header=0 if has_header else None)
    layout = "Kaggle train.csv" if has_header else "headerless mnist_train.csv"
    if frame.shape[1] != 1 + N_PIXELS:
        raise ValueError(
            f"{path}: {frame.shape[1]} columns; expected {1 + N_PIXELS} (a label, then {N_PIXELS} pixels) "
            f"for the {layout} layout. Kaggle's test.csv has no label column and cannot be loaded here."
        )
    if frame.isna().any().any():
        rows = np.flatnonzero(frame.isna().any(axis=1).to_numpy())
        raise ValueError(
            f"{path}: missing values in {len(rows)} row(s), first at data row {rows[0]}; "
            f"every row needs a label and {N_PIXELS} pixels."
        )
    values = frame.to_numpy()
    if not np.issubdtype(values.dtype, np.number) or not np.all(values == np.round(values)):
        raise ValueError(f"{path}: non-integer values found; expected whole numbers (labels 0..9, pixels 0..255).")
    labels, pixels = values[:, 0], values[:, 1:]
    bad = np.flatnonzero((labels < 0) | (labels > 9))
    if bad.size:
        raise ValueError(f"{path}: label {labels[bad[0]]} at data row {bad[0]}; labels must be digits 0..9.")
    bad = np.flatnonzero(((pixels < 0) | (pixels > 255)).any(axis=1))
    if bad.size:
        row = pixels[bad[0]]
        value = row[(row < 0) | (row > 255)][0]
        raise ValueError(f"{path}: pixel value {value} at data row {bad[0]}; pixels must be in 0..255.")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.uint8)


def to_features(images: np.ndarray, dtype=np.float32) -> np.ndarray:
    """Flatten images ``(n, 28, 28)`` to rows ``(n, 784)`` and scale 0..255 to 0..1: ``X = images / 255``."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images has shape {images.shape}; expected (n, 28, 28).")
    if np.issubdtype(images.dtype, np.floating) and images.size and not np.isfinite(images).all():
        bad = np.flatnonzero(~np.isfinite(images).reshape(len(images), -1).all(axis=1))
        raise ValueError(f"images holds NaN or infinite pixels in {len(bad)} image(s), the first images[{bad[0]}]; "
                         f"a network cannot learn from them: drop or repair those images first.")
    X = images.reshape(len(images), -1).astype(dtype)
    X /= 255
    return X


def train_val_split(X: np.ndarray, y: np.ndarray, n_val: int = 5000, seed: int = 0):
    """Shuffle with ``np.random.default_rng(seed)`` and hold out ``n_val`` samples for validation.

    Returns ``X_train, y_train, X_val, y_val``.
    """
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}; they must match.")
    if not 0 < n_val < len(X):
        raise ValueError(f"n_val={n_val}; expected between 1 and {len(X) - 1}.")
    order = np.random.default_rng(seed).permutation(len(X))
    val, tr = order[:n_val], order[n_val:]
    return X[tr], y[tr], X[val], y[val]
