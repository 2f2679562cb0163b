"""The checkers of notebook 01: reading the data."""

from __future__ import annotations

import numpy as np

from ..data import parse_idx as _parse_idx, to_features as _to_features
from ._core import _call, _describe, _properties, _rng, _run, _source_text, against


def _idx_bytes(magic, shape, seed):
    data = _rng(seed).integers(0, 256, size=shape, dtype=np.uint8)
    header = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big") for s in shape)
    return header + data.tobytes()


def _parse_offset16(raw):
    n = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, -1)


def _parse_little(raw):
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "little") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _parse_flat(raw):
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * raw[3])


def _parse_no_header(raw):
    return np.frombuffer(raw, dtype=np.uint8).reshape(int.from_bytes(raw[4:8], "big"), -1)


def _parse_28(raw):
    n = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * raw[3]).reshape(n, 28, 28)


def _parse_int8(raw):
    return _parse_idx(raw).astype(np.int8)


def _parse_sizes_from_0(raw):
    """The sizes read from byte 0 on: the magic number taken for the first size."""
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 * i: 4 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _parse_data_from_4ndim(raw):
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8)[4 * ndim: 4 * ndim + int(np.prod(shape))].reshape(shape)


def _parse_ndim_byte2(raw):
    ndim = raw[2]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _parse_offset_4ndim(raw):
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 * ndim).reshape(shape)


def _parse_count_rest(raw):
    n = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * raw[3]).reshape(n, -1)


def parse_idx(fn) -> bool:
    """``fn(raw)``: the bytes of an (uncompressed) IDX file -> uint8 array ``(count, rows, cols)`` or ``(count,)``."""
    cases = [("a label file of 7 labels (8-byte header)", (_idx_bytes(2049, (7,), 1),)),
             ("an image file of 3 images of 4 x 5 pixels", (_idx_bytes(2051, (3, 4, 5), 2),)),
             ("an image file of 2 images of 28 x 28 pixels", (_idx_bytes(2051, (2, 28, 28), 3),))]
    mistakes = [
        (_parse_little, "the header is read little-endian: IDX stores its integers big-endian, the most "
                        "significant byte first"),
        (_parse_offset16, "a 16-byte header is assumed for every file: the header is 4 + 4 * ndim bytes "
                          "(ndim = raw[3]), 8 bytes for a label file"),
        (_parse_no_header, "the header bytes are read as data: skip them with offset= in np.frombuffer"),
        (_parse_flat, "the data come back as one flat run: reshape them to the shape the header gives"),
        (_parse_28, "28 x 28 pixels are assumed: read rows and cols from the header (bytes 8-11 and 12-15)"),
        (_parse_int8, "pixels are read as signed int8, so values above 127 turn negative: IDX pixels are unsigned "
                      "bytes, 0..255"),
        (_parse_sizes_from_0, "the sizes are read from byte 0 on, so the magic number counts as the first size: "
                               "bytes 0-3 are the magic number, and the ndim sizes start at byte 4"),
        (_parse_offset_4ndim, "offset=4 * ndim leaves out the magic number: the data start after 4 bytes of magic "
                              "number and ndim sizes of 4 bytes, at 4 + 4 * ndim"),
        (_parse_count_rest, "every file is reshaped to (count, -1): a label file is 1-D, shape (count,), and an "
                            "image file (count, rows, cols). Take the whole shape from the header, all ndim sizes"),
        (_parse_data_from_4ndim, "the data are read from byte 4 * ndim, so the last header bytes count as "
                                 "pixels: the header is 4 + 4 * ndim bytes, the magic number and then ndim sizes"),
    ]
    diagnose = against(_parse_idx, mistakes)
    byte2 = callable(fn) and "raw[2]" in _source_text(fn).replace(" ", "") and "[3]" not in _source_text(fn)

    def ndim_byte(got, args, error=None):
        problem = diagnose(got, args, error)
        if byte2 and (problem or error is not None):     # it fails the same way as a fixed 16-byte header
            return ("the number of dimensions is read from byte 2, the data type (0x08: unsigned bytes), so ndim "
                    "is 8: it is byte 3, raw[3]")
        return problem

    return _run("parse_idx", fn, cases, ndim_byte, "nn.parse_idx")


def _images(n, seed):
    return _rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


def to_features(fn) -> bool:
    """``fn(images)``: uint8 images ``(n, 28, 28)`` -> ``X`` of shape ``(n, 784)``, floats in 0..1."""
    cases = [("5 images", (_images(5, 1),)), ("a batch of 1 image", (_images(1, 2),)),
             ("784 images", (_images(784, 3),))]
    mistakes = [
        (lambda im: _to_features(im).T, "shapes transposed: X is (784, n), one image per column. Samples are "
                                        "rows: one image per row, shape (n, 784)"),
        (lambda im: im.reshape(len(im), -1).astype(float), "the pixels are still 0..255: divide by 255"),
        (lambda im: im.reshape(len(im), -1) // 255, "only 0s and 1s are left: integer division (// 255), or a cast "
                                                    "back to an integer type after dividing (astype(np.uint8)), "
                                                    "drops the fractions. Keep floats: / 255"),
        (lambda im: im.reshape(len(im), -1) / 256, "the pixels are divided by 256: the largest pixel value, 255, "
                                                   "must become exactly 1"),
        (lambda im: (lambda X: (X - X.min()) / (X.max() - X.min()))(im.reshape(len(im), -1).astype(float)),
         "the pixels are scaled by this batch's own minimum and maximum, so every batch gets a different scale "
         "(a batch without a 0 or a 255 shifts): the scale is fixed, 0..255 to 0..1, a division by 255"),
        (lambda im: (lambda X: (X - X.mean()) / X.std())(im.reshape(len(im), -1).astype(float)),
         "the pixels are standardised (mean 0, standard deviation 1): this series scales them to 0..1 by "
         "dividing by 255, so that 0 stays empty paper"),
        (lambda im: im.transpose(0, 2, 1).reshape(len(im), -1) / 255,
         "each image is flattened column by column: the series reads an image row by row, pixel (r, c) at "
         "position 28 r + c, which is the order NumPy's reshape uses; look for a transpose or order=\"F\""),
        (lambda im: im.reshape(-1) / 255, "all images are flattened into one long vector: keep one row per "
                                           "image, shape (n, 784)"),
        (lambda im: im.reshape(784, -1).T / 255, "reshape(784, n).T mixes the images: reshape reads the numbers in "
                                                 "their order, image after image, so its rows of 784 must be the "
                                                 "last axis, reshape(n, 784), with no transpose"),
        (lambda im: im.reshape(60000, 784) / 255, "the number of images is written in as 60000: the function gets "
                                                  "batches of any size; take it from the array, len(images), or "
                                                  "let NumPy work it out with -1"),
    ]
    return _run("to_features", fn, cases, against(_to_features, mistakes), "nn.to_features")


def _split_problem(got, args):
    """What is wrong with a returned split ``(X_train, y_train, X_val, y_val)``, or None."""
    X, y, n_val, seed = args
    n = len(X)
    if not isinstance(got, (tuple, list)) or len(got) != 4:
        return f"returned {_describe(got)}; expected the tuple (X_train, y_train, X_val, y_val)"
    X_tr, y_tr, X_v, y_v = (np.asarray(a) for a in got)
    if y_tr.ndim == 2 and X_v.ndim == 1 and len(y_tr) == n_val:
        return ("the four arrays come back in scikit-learn's order, X_train, X_val, y_train, y_val: this function "
                "returns X_train, y_train, X_val, y_val")
    if len(X_tr) == n and len(X_v) == n_val:
        return ("the training set holds all the samples, the validation ones too: the model would be scored on "
                "images it trained on. Train on the rows you did not hold out")
    if X_tr.shape == (n_val, X.shape[1]) and X_v.shape == (n - n_val, X.shape[1]) and n_val != n - n_val:
        return "the validation set comes first: return X_train, y_train, X_val, y_val in that order"
    if X_tr.shape != (n - n_val, X.shape[1]) or X_v.shape != (n_val, X.shape[1]):
        return f"X_train is {X_tr.shape} and X_val {X_v.shape}; expected {(n - n_val, X.shape[1])} and {(n_val, X.shape[1])}"
    if y_tr.shape != (n - n_val,) or y_v.shape != (n_val,):
        return f"y_train is {y_tr.shape} and y_val {y_v.shape}; expected {(n - n_val,)} and {(n_val,)}"
    rows = np.concatenate([X_tr[:, 0], X_v[:, 0]]).astype(int)   # X[i, 0] == i: each row names itself
    if sorted(rows) != list(range(n)):
        return ("some rows appear twice and others are missing: shuffle with a permutation "
                "(rng.permutation(n)), not with random indices (rng.integers)")
    if not np.array_equal(np.concatenate([y_tr, y_v]), y[rows]):
        return "the labels no longer match their images: X and y must be shuffled by the same permutation"
    if set(X_v[:, 0].astype(int)) in ({*range(n_val)}, {*range(n - n_val, n)}):
        return "the validation set is the first or last rows, not shuffled: shuffle the row order first"
    return None


def _split_diagnose(fn, got, args):
    problem = _split_problem(got, args)
    if problem:
        return problem
    X, y, n_val, seed = args
    if not all(np.array_equal(a, b) for a, b in zip(got, _call(fn, args))):
        return "two calls with the same seed give different splits: use np.random.default_rng(seed)"
    if all(np.array_equal(a, b) for a, b in zip(got, _call(fn, (X, y, n_val, seed + 1)))):
        return "the split ignores the seed: use np.random.default_rng(seed)"
    return None


def train_val_split(fn) -> bool:
    """``fn(X, y, n_val, seed)`` -> ``(X_train, y_train, X_val, y_val)``: a seeded shuffle, ``n_val`` held out."""
    cases = []
    for n, n_val, seed in [(20, 5, 0), (50, 10, 1), (7, 1, 2)]:
        X = np.repeat(np.arange(n, dtype=float)[:, None], 3, axis=1)       # row i is [i, i, i]
        y = _rng(seed + 10).integers(0, 10, size=n)
        cases.append((f"{n} samples, n_val={n_val}, seed={seed}", (X, y, n_val, seed)))
    return _run("train_val_split", fn, cases, _properties(fn, _split_diagnose), "the rules of nn.train_val_split")
