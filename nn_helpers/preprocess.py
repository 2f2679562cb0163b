"""Prepare a hand-drawn digit the way the MNIST digits were prepared (NumPy only).

The MNIST digits were scaled to fit a 20x20 box, keeping their aspect ratio (anti-aliasing gives the
grey edge pixels), then placed in a 28x28 image so that their centre of mass sits at the centre.
A digit drawn in a large box, off-centre, must go through the same steps before the network sees it:

1. crop to the bounding box of the ink;
2. resize so that the longer side is 20 pixels (each new pixel is the mean of the old pixels it covers);
3. paste into a 28x28 image, shifted so that the centre of mass lands on pixel (14, 14);
4. scale the values so that the darkest pixel is 1.
"""

from __future__ import annotations

import numpy as np

#: Pixels above this value (on the 0..1 scale) count as ink when cropping.
INK = 0.02
#: The longer side of the digit after resizing, and the side of the final image.
BOX, SIDE = 20, 28
#: Where the centre of mass of an MNIST digit sits (row, column), in pixel indices.
CENTRE = 14.0


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` matrix that resizes a 1-D signal: row ``i`` is the share of each input cell
    covered by output cell ``i`` (rows sum to 1, so a constant signal stays constant)."""
    edges = np.linspace(0, n_in, n_out + 1)        # output cell borders, in input coordinates
    j = np.arange(n_in)
    overlap = np.minimum(edges[1:, None], j + 1) - np.maximum(edges[:-1, None], j)
    overlap = np.clip(overlap, 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a 2-D image to ``shape`` by area averaging: ``R_rows @ image @ R_cols.T``."""
    image = np.asarray(image, dtype=np.float64)
    return area_weights(image.shape[0], shape[0]) @ image @ area_weights(image.shape[1], shape[1]).T


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the centre of mass: the pixel indices weighted by the pixel values."""
    total = image.sum()
    rows = np.arange(image.shape[0]) @ image.sum(axis=1) / total
    cols = np.arange(image.shape[1]) @ image.sum(axis=0) / total
    return float(rows), float(cols)


def crop_to_ink(image: np.ndarray) -> np.ndarray:
    """The smallest rectangle of ``image`` holding every pixel above :data:`INK`."""
    rows = np.flatnonzero((image > INK).any(axis=1))
    cols = np.flatnonzero((image > INK).any(axis=0))
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def mnist_preprocess(image: np.ndarray) -> np.ndarray:
    """A 2-D image (any size, ink = high values in 0..1) -> a (28, 28) MNIST-like digit in 0..1.

    Crop to the ink, scale the longer side to 20 pixels keeping the aspect ratio, paste into 28x28 with
    the centre of mass at (14, 14), scale to a maximum of 1. An image without ink gives all zeros.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"image has shape {image.shape}; expected a 2-D array (height, width).")
    out = np.zeros((SIDE, SIDE))
    if image.size == 0 or image.max() <= INK:
        return out
    digit = crop_to_ink(image)
    h, w = digit.shape
    scale = BOX / max(h, w)
    digit = resize(digit, (max(1, round(h * scale)), max(1, round(w * scale))))
    h, w = digit.shape
    row, col = centre_of_mass(digit)
    top = int(np.clip(round(CENTRE - row), 0, SIDE - h))
    left = int(np.clip(round(CENTRE - col), 0, SIDE - w))
    out[top : top + h, left : left + w] = digit
    return out / out.max()
