"""Data augmentation: new training images made from old ones, a fresh variant of each in every batch.

A digit moved by a pixel or two is still the same digit, but to a fully connected network, which has
one weight per pixel position, it is a different input. Showing it shifted (and slightly rotated or
scaled) copies teaches it that position does not matter, and it can no longer learn each training
image by heart. Everything works on the uint8 images ``(b, 28, 28)`` of one batch:

    shift:   out[i, r, c] = img[i, r - dy_i, c - dx_i]          (0 where that falls outside)
             dy_i, dx_i uniform integers in -k..k

    affine:  out[i, r, c] = img[i] at  R(-theta_i) (r - 13.5, c - 13.5) / s_i + (13.5, 13.5) - (dy_i, dx_i),
             read with bilinear interpolation; theta_i uniform in +-max_degrees, s_i in 1 +- max_scale

Use them as ``train(..., augment=shifts(2))``: ``train`` calls ``augment(images, rng)`` on every batch.
"""

from __future__ import annotations

import numpy as np


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"images has shape {images.shape} and dtype {images.dtype}; expected uint8 images "
                         f"(b, height, width), e.g. from load_mnist. For feature rows X use "
                         f"np.rint(X * 255).astype(np.uint8).reshape(-1, 28, 28).")
    return images


def shift(images: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Move image i down by ``dy[i]`` and right by ``dx[i]`` pixels (negative: up / left), filling with 0.

    ``images``: uint8 (b, h, w); ``dy``, ``dx``: integers (b,). Returns a new uint8 array (b, h, w).
    """
    images = _check_images(images)
    b, h, w = images.shape
    dy, dx = np.asarray(dy, dtype=np.intp), np.asarray(dx, dtype=np.intp)
    if dy.shape != (b,) or dx.shape != (b,):
        raise ValueError(f"dy and dx have shapes {dy.shape} and {dx.shape}; expected ({b},), one shift per image.")
    k = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    padded = np.pad(images, ((0, 0), (k, k), (k, k)))               # (b, h + 2k, w + 2k), zeros around
    rows = np.arange(h)[None, :] + k - dy[:, None]                  # (b, h): source row of each output row
    cols = np.arange(w)[None, :] + k - dx[:, None]                  # (b, w)
    return padded[np.arange(b)[:, None, None], rows[:, :, None], cols[:, None, :]]


def random_shift(images: np.ndarray, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """Shift each image by a random whole number of pixels in ``-max_shift..max_shift``, both directions."""
    b = len(images)
    return shift(images, rng.integers(-max_shift, max_shift + 1, b), rng.integers(-max_shift, max_shift + 1, b))


def affine(images: np.ndarray, degrees: np.ndarray, scale: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Rotate image i by ``degrees[i]`` and scale it by ``scale[i]`` about its centre,
    then shift it by ``(dy[i], dx[i])`` pixels; bilinear interpolation, 0 outside. uint8 (b, h, w) in and out.
    """
    images = _check_images(images)
    b, h, w = images.shape
    theta = np.deg2rad(np.asarray(degrees, dtype=np.float32))[:, None, None]
    s = np.asarray(scale, dtype=np.float32)[:, None, None]
    cy, cx = (h - 1) / 2, (w - 1) / 2
    r = np.arange(h, dtype=np.float32)[None, :, None] - cy - np.asarray(dy, dtype=np.float32)[:, None, None]
    c = np.arange(w, dtype=np.float32)[None, None, :] - cx - np.asarray(dx, dtype=np.float32)[:, None, None]
    cos, sin = np.cos(theta), np.sin(theta)
    # where each output pixel comes from: the inverse rotation and scaling of its coordinates
    src_r = (cos * r - sin * c) / s + cy                            # (b, h, w)
    src_c = (sin * r + cos * c) / s + cx
    r0, c0 = np.floor(src_r).astype(np.intp), np.floor(src_c).astype(np.intp)
    fr, fc = src_r - r0, src_c - c0
    padded = np.pad(images, ((0, 0), (1, 2), (1, 2))).astype(np.float32)
    r0, c0 = np.clip(r0 + 1, 0, h + 1), np.clip(c0 + 1, 0, w + 1)   # the padding keeps reads in bounds
    i = np.arange(b)[:, None, None]
    out = ((1 - fr) * ((1 - fc) * padded[i, r0, c0] + fc * padded[i, r0, c0 + 1])
           + fr * ((1 - fc) * padded[i, r0 + 1, c0] + fc * padded[i, r0 + 1, c0 + 1]))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def random_affine(images: np.ndarray, rng: np.random.Generator, max_degrees: float = 10.0,
                  max_scale: float = 0.1, max_shift: float = 2.0) -> np.ndarray:
    """Rotate by up to ``max_degrees``, scale by ``1 +- max_scale`` and shift by up to ``max_shift``
    pixels, each drawn uniformly per image."""
    b = len(images)
    return affine(images, rng.uniform(-max_degrees, max_degrees, b), rng.uniform(1 - max_scale, 1 + max_scale, b),
                  rng.uniform(-max_shift, max_shift, b), rng.uniform(-max_shift, max_shift, b))


def shifts(max_shift: int = 2):
    """The augmentation ``train(..., augment=shifts(2))`` uses: ``f(images, rng)`` = :func:`random_shift`."""
    if max_shift < 0:
        raise ValueError(f"max_shift={max_shift}; expected 0 or more pixels.")

    def augment(images, rng):
        return random_shift(images, rng, max_shift)

    augment.__name__ = augment.__qualname__ = f"shifts({max_shift})"
    return augment


def affines(max_degrees: float = 10.0, max_scale: float = 0.1, max_shift: float = 2.0):
    """The augmentation ``f(images, rng)`` = :func:`random_affine` with these limits, for ``train``."""

    def augment(images, rng):
        return random_affine(images, rng, max_degrees, max_scale, max_shift)

    augment.__name__ = augment.__qualname__ = f"affines({max_degrees:g}, {max_scale:g}, {max_shift:g})"
    return augment
