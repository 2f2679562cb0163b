"""Two-dimensional toy data sets, small enough to draw what a network computes: its decision boundary.

Each sample is a point x_i = (x_i1, x_i2) with a class label y_i in 0..K-1. ``noise`` is the standard
deviation of Gaussian noise added to both coordinates (for "spiral": twice ``noise``, in radians, added
to the angle, so that the default 0.1 gives CS231n's spiral). Every
point lies in the box [-BOX, BOX]^2 (points the noise pushes out are clipped to its edge), so one grid
of that box draws the class regions of any data set.

    name       K   what it looks like
    "spiral"   3   three arms winding out of the centre (CS231n): a linear classifier reaches about 50%
    "moons"    2   two interleaved half circles
    "circles"  2   two rings, one of radius 0.5 inside one of radius 1
    "xor"      2   the four quadrants, opposite ones alike: no single line separates them
    "blobs"    3   three round clusters: a linear classifier separates them
"""

from __future__ import annotations

import numpy as np

BOX = 1.5  #: every point lies in [-BOX, BOX]^2
DATASETS = ("spiral", "moons", "circles", "xor", "blobs")
N_CLASSES = {"spiral": 3, "moons": 2, "circles": 2, "xor": 2, "blobs": 3}
MAX_NOISE = 1.0
MIN_N, MAX_N = 10, 100_000


def _spiral(t, k, noise, rng):
    # arm k: radius t in 0..1, angle 4t plus a third of a turn per arm (CS231n's spiral)
    angle = 4 * t + k * 2 * np.pi / 3 + 2 * noise * rng.standard_normal(len(t))
    return np.column_stack([t * np.sin(angle), t * np.cos(angle)]), 0.0


def _moons(t, k, noise, rng):
    # upper half circle (k = 0) and the lower one shifted right and down, centred on (0, 0)
    angle = np.pi * t
    points = (np.column_stack([np.cos(angle), np.sin(angle)]) if k == 0
              else np.column_stack([1 - np.cos(angle), 0.5 - np.sin(angle)]))
    return 0.8 * (points - [0.5, 0.25]), noise


def _circles(t, k, noise, rng):
    # the outer ring (k = 0, radius 1) around the inner one (k = 1, radius 0.5)
    angle = 2 * np.pi * t
    return (1.0 if k == 0 else 0.5) * np.column_stack([np.cos(angle), np.sin(angle)]), noise


def _xor(t, k, noise, rng):
    # uniform in [-1, 1]^2 away from the axes; class 0 where x1 x2 > 0, class 1 where x1 x2 < 0
    points = rng.uniform(0.1, 1.0, size=(len(t), 2)) * rng.choice([-1.0, 1.0], size=(len(t), 1))
    points[:, 1] *= 1 if k == 0 else -1
    return points, noise


def _blobs(t, k, noise, rng):
    # round clusters of radius 0.15 around three centres on a circle of radius 0.7
    angle = np.pi / 2 + k * 2 * np.pi / 3
    centre = 0.7 * np.array([np.cos(angle), np.sin(angle)])
    return centre + 0.15 * rng.standard_normal((len(t), 2)), noise


_MAKERS = {"spiral": _spiral, "moons": _moons, "circles": _circles, "xor": _xor, "blobs": _blobs}


def toy_data(name: str, n: int = 300, noise: float = 0.1, seed: int = 0):
    """``n`` labelled points of the 2-D data set ``name``: returns ``X`` float32 (n, 2) in the box
    [-1.5, 1.5]^2 and ``y`` np.intp (n,) with labels 0..K-1 (K = 3 for "spiral" and "blobs", else 2);
    np.intp is int64 on a 64-bit machine and int32 in the browser (Pyodide), where np.bincount refuses int64.

    The classes are as balanced as n allows (sizes differ by at most one), the rows are in random
    order, and the same ``(name, n, noise, seed)`` gives the same points. ``noise``: standard deviation of the Gaussian noise, 0 to 1.

        >>> X, y = toy_data("spiral", n=300, noise=0.1, seed=0)
        >>> params = init_params([2, 32, 3])     # 2 inputs, 32 hidden units, 3 classes
    """
    if name not in _MAKERS:
        raise ValueError(f"name={name!r}; expected one of {', '.join(map(repr, DATASETS))}.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not MIN_N <= n <= MAX_N:
        raise ValueError(f"n={n!r}; expected a whole number of points from {MIN_N} to {MAX_N:,}, e.g. 300.")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating)) or not 0 <= noise <= MAX_NOISE:
        raise ValueError(f"noise={noise!r}; expected a standard deviation from 0 to {MAX_NOISE:g}, e.g. 0.1 "
                         f"(0: no noise).")
    K = N_CLASSES[name]
    rng = np.random.default_rng(seed)
    parts, labels = [], []
    for k in range(K):
        size = n // K + (k < n % K)
        points, xy_noise = _MAKERS[name](np.linspace(0.0, 1.0, size), k, float(noise), rng)
        parts.append(points + xy_noise * rng.standard_normal(points.shape))
        labels.append(np.full(size, k))
    order = rng.permutation(n)
    X = np.clip(np.concatenate(parts), -BOX, BOX)[order].astype(np.float32)
    return X, np.concatenate(labels)[order].astype(np.intp)
