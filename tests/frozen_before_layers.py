"""A frozen copy of the MLP's and the CNN's forward, backward and training path as they were before the layer
contract (nn_helpers/conv.py, network.py, cnn.py and training.py at f784bc1, their code unchanged, only the
imports merged): tests/test_layers_identical.py trains with it and with today's package and compares the
weights and histories bit for bit. Do not edit it to follow the package: it is the reference."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view  # noqa: F401

from nn_helpers.activations import get_activation
from nn_helpers.losses import cross_entropy, cross_entropy_from_logits, softmax
from nn_helpers.metrics import accuracy
from nn_helpers.optimizers import Optimizer, cosine_lr, make_optimizer


# ---- nn_helpers/conv.py ------------------------------------------------------------------------------------------------

def _check_images(X: np.ndarray, name: str = "conv2d") -> np.ndarray:
    """Raise a ValueError that says how to fix ``X`` when it is not a float (n, C, H, W) array."""
    X = np.asarray(X)
    if X.ndim == 2:
        side = int(round(np.sqrt(X.shape[1]))) if X.shape[1] else 0
        fix = f"X.reshape(-1, 1, {side}, {side})" if side * side == X.shape[1] and side else "X.reshape(n, C, H, W)"
        raise ValueError(f"X has shape {X.shape}: feature rows; {name} needs images (n, C, H, W): {fix}.")
    if X.ndim == 3:
        raise ValueError(f"X has shape {X.shape}; {name} expects (n, C, H, W); add the channel axis with X[:, None].")
    if X.ndim != 4:
        raise ValueError(f"X has shape {X.shape}; {name} expects 4 axes (n, C, H, W).")
    if not np.issubdtype(X.dtype, np.floating):
        raise ValueError(f"X has dtype {X.dtype}; {name} expects floats, e.g. X.astype(np.float32) / 255.")
    return X


def output_size(size: int, R: int, stride: int = 1, pad: int = 0, axis: str = "H") -> int:
    """``(size + 2 pad - R) / stride + 1``, or a ValueError when the windows do not tile the input."""
    span = size + 2 * pad - R
    if span < 0:
        raise ValueError(f"{axis}_in + 2P - R = {size} + {2 * pad} - {R} = {span} < 0: the {R}x{R} kernel is "
                         f"larger than the padded input; pad more or use a smaller kernel.")
    if span % stride:
        raise ValueError(f"{axis}_in + 2P - R = {span} is not divisible by stride {stride}; change the padding "
                         f"or the stride so that it is.")
    return span // stride + 1


def _check_conv(X, W, b, stride, pad):
    X = _check_images(X)
    W, b = np.asarray(W), np.asarray(b)
    if W.ndim != 4 or W.shape[2] != W.shape[3]:
        raise ValueError(f"W has shape {W.shape}; expected (F, C, R, R): F filters of C channels, R x R each.")
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X has {X.shape[1]} channels, W expects {W.shape[1]}: X is (n, C, H, W), W (F, C, R, R)."
                         + (" Did you pass NHWC images? Use X.transpose(0, 3, 1, 2)." if X.shape[3] == W.shape[1] else ""))
    if b.shape != (W.shape[0],):
        raise ValueError(f"b has shape {b.shape}; expected ({W.shape[0]},), one bias per filter.")
    if int(stride) != stride or stride < 1 or int(pad) != pad or pad < 0:
        raise ValueError(f"stride={stride}, pad={pad}; expected a stride of at least 1 and a padding of at least 0.")
    return X, W, b


def _im2col(Xp: np.ndarray, R: int, stride: int) -> np.ndarray:
    """The R x R windows of the padded input ``Xp`` (n, C, H, W) as columns: ``cols`` (C R R, n H_out W_out).

    Row ``(c, r, s)`` of ``cols`` holds pixel ``(S y + r, S x + s)`` of channel c of every window ``(i, y, x)``,
    the rows in the order of ``W[f].reshape(-1)``. One loop over the R x R kernel offsets (r, s): offset
    (r, s) of every window at once is the strided slice ``Xp[:, :, r : r + S H_out : S, s : s + S W_out : S]``.
    (The product is then ``W_mat cols``; with the samples last, every copy here and in :func:`_col2im`
    moves whole rows of pixels, which is several times faster than samples first.)
    """
    n, C, H, W = Xp.shape
    H_out, W_out = (H - R) // stride + 1, (W - R) // stride + 1
    channels_first = Xp.transpose(1, 0, 2, 3)                              # (C, n, H, W), a view
    cols = np.empty((C, R, R, n, H_out, W_out), dtype=Xp.dtype)
    for r in range(R):
        for s in range(R):
            cols[:, r, s] = channels_first[:, :, r : r + stride * H_out : stride, s : s + stride * W_out : stride]
    return cols.reshape(C * R * R, n * H_out * W_out)


def _col2im(dcols: np.ndarray, shape: tuple, R: int, stride: int) -> np.ndarray:
    """The adjoint of :func:`_im2col`: add each column of ``dcols`` (C R R, n H_out W_out) back onto the
    window it came from, giving an array of the padded input's ``shape`` (n, C, H, W).

    The same loop over the R x R offsets (r, s) as :func:`_im2col`. Windows overlap when S < R, so the
    contributions are added (``+=``), never assigned.
    """
    n, C, H, W = shape
    H_out, W_out = (H - R) // stride + 1, (W - R) // stride + 1
    d = dcols.reshape(C, R, R, n, H_out, W_out)
    dXp = np.zeros((C, n, H, W), dtype=dcols.dtype)                        # channels first, as in _im2col
    for r in range(R):
        for s in range(R):
            dXp[:, :, r : r + stride * H_out : stride, s : s + stride * W_out : stride] += d[:, r, s]
    return dXp.transpose(1, 0, 2, 3)                                       # (n, C, H, W), a view


def conv2d_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray, *, stride: int = 1, pad: int = 0):
    """Convolution layer: ``X`` (n, C, H_in, W_in), ``W`` (F, C, R, R), ``b`` (F,) -> ``Z`` (n, F, H_out, W_out).

        Z[i, f, y, x] = sum_{c, r, s} Xp[i, c, S y + r, S x + s] W[f, c, r, s] + b[f]
        H_out = (H_in + 2P - R) / S + 1          (Xp: X padded with P zeros on each side)

    As one matrix product: ``Z_mat = W_mat cols + b`` with ``W_mat = W.reshape(F, C R R)`` and ``cols``
    (C R R, n H_out W_out) the windows of Xp (see :func:`_im2col`).
    Returns ``(Z, cache)``; the cache ``(cols, X.shape, W, stride, pad)`` holds what
    :func:`conv2d_backward` needs.
    """
    X, W, b = _check_conv(X, W, b, stride, pad)
    n, C, H_in, W_in = X.shape
    F, _, R, _ = W.shape
    H_out, W_out = output_size(H_in, R, stride, pad, "H"), output_size(W_in, R, stride, pad, "W")
    Xp = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else X
    cols = _im2col(Xp, R, stride)                                   # (C R R, n H_out W_out)
    Z = W.reshape(F, -1) @ cols                                     # (F, n H_out W_out)
    Z += b[:, None]
    Z = np.ascontiguousarray(Z.reshape(F, n, H_out, W_out).transpose(1, 0, 2, 3))
    return Z, (cols, X.shape, W, stride, pad)


def conv2d_backward(dZ: np.ndarray, cache, *, need_dX: bool = True):
    """Gradients of a convolution layer: ``dZ`` (n, F, H_out, W_out) -> ``(dX, dW, db)``, each the shape of
    ``X``, ``W``, ``b``; ``dZ`` and the cache are left as they are.

        db = sum of dZ over i, y, x,    dW = dZ_mat cols^T,    dX = col2im(W_mat^T dZ_mat)

    with ``dZ_mat`` (F, n H_out W_out). ``need_dX=False`` skips dX (returned as None): the first layer's dX
    is the gradient with respect to the images, which training does not use.
    """
    cols, X_shape, W, stride, pad = cache
    n, C, H_in, W_in = X_shape
    F, _, R, _ = W.shape
    if dZ.ndim != 4 or dZ.shape[:2] != (n, F):
        raise ValueError(f"dZ has shape {dZ.shape}; expected ({n}, {F}, H_out, W_out), the shape of Z.")
    dZ_mat = np.ascontiguousarray(dZ.transpose(1, 0, 2, 3)).reshape(F, -1)    # (F, n H_out W_out), a copy
    db = dZ_mat.sum(axis=1)
    dW = (dZ_mat @ cols.T).reshape(W.shape)
    if not need_dX:
        return None, dW, db
    dcols = W.reshape(F, -1).T @ dZ_mat                             # (C R R, n H_out W_out)
    dXp = _col2im(dcols, (n, C, H_in + 2 * pad, W_in + 2 * pad), R, stride)
    dX = dXp[:, :, pad : pad + H_in, pad : pad + W_in]
    return np.ascontiguousarray(dX), dW, db


def _offsets(X: np.ndarray, size: int):
    """The ``size`` x ``size`` views ``X[:, :, r::size, t::size]`` (cropped to whole windows), in reading
    order (r, t): view k holds entry k of every window."""
    H_out, W_out = X.shape[2] // size, X.shape[3] // size
    return [X[:, :, r : size * H_out : size, t : size * W_out : size] for r in range(size) for t in range(size)]


def maxpool_forward(X: np.ndarray, *, size: int = 2):
    """Max pooling over ``size`` x ``size`` windows, stride ``size``: ``X`` (n, C, H_in, W_in) ->
    ``A`` (n, C, H_in // size, W_in // size).

        A[i, c, y, x] = max_{r, t < size} X[i, c, size y + r, size x + t]

    One loop over the size^2 offsets of a window, each a strided view of all windows at once. Returns
    ``(A, cache)``; the cache ``(X.shape, first, size)`` keeps, for each offset k (0 .. size^2 - 1, in reading
    order), the boolean map ``first[k]`` (n, C, H_out, W_out) of the windows whose first maximum is entry k,
    the entry ``argmax`` would pick.
    """
    X = _check_images(X, "maxpool")
    if int(size) != size or size < 1:
        raise ValueError(f"size={size}; expected a window of at least 1 pixel, e.g. 2.")
    if X.shape[2] < size or X.shape[3] < size:
        raise ValueError(f"X has {X.shape[2]}x{X.shape[3]} pixels, fewer than one {size}x{size} window; use a smaller size.")
    views = _offsets(X, size)
    A = views[0].copy()
    for view in views[1:]:
        np.maximum(A, view, out=A)
    first, taken = [], np.zeros(A.shape, dtype=bool)
    for view in views[:-1]:
        is_first = (view == A) & ~taken         # a maximum, and no earlier entry of its window was one
        first.append(is_first)
        taken |= is_first
    first.append(~taken)
    return A, (X.shape, first, size)


def maxpool_backward(dA: np.ndarray, cache) -> np.ndarray:
    """Gradient of max pooling: ``dA`` (n, C, H_out, W_out) -> ``dX`` (n, C, H_in, W_in).

    Each ``dA[i, c, y, x]`` goes to the entry of its window that was the (first) maximum; every other entry,
    and the rows and columns beyond the last window, get 0.
    """
    shape, first, size = cache
    if dA.shape != first[0].shape:
        raise ValueError(f"dA has shape {dA.shape}; expected {first[0].shape}, the shape of A.")
    dX = np.zeros(shape, dtype=dA.dtype)
    for view, is_first in zip(_offsets(dX, size), first):
        np.multiply(dA, is_first, out=view)
    return dX


# ---- nn_helpers/network.py ---------------------------------------------------------------------------------------------

INITS = ("he", "xavier", "uniform")


def n_layers(params: dict) -> int:
    """Number of weight layers L (hidden layers + the output layer)."""
    return sum(1 for k in params if k.startswith("W"))


def layer_sizes(params: dict) -> list[int]:
    """``[n_0, n_1, ..., n_L]``, e.g. ``[784, 128, 10]``."""
    L = n_layers(params)
    return [params["W1"].shape[0]] + [params[f"W{l}"].shape[1] for l in range(1, L + 1)]


def init_params(layer_sizes, init: str = "he", seed: int = 0, dtype=np.float32, scale: float = 1.0) -> dict:
    """Random weights and biases for a network with the given layer sizes, e.g. ``[784, 128, 10]``.

    init:
      - "he":      W ~ Normal(0, 2 / n_in),          b = 0   (made for ReLU)
      - "xavier":  W ~ Normal(0, 2 / (n_in + n_out)), b = 0  (made for tanh/sigmoid)
      - "uniform": W, b ~ Uniform(-0.5, 0.5), i.e. ``rand - 0.5`` as in the original tutorial
    scale multiplies every standard deviation (try 0.1 or 10 to see activations vanish or explode).

    Returns ``{"W1": (n_0, n_1), "b1": (n_1,), "W2": ..., ...}`` in ``dtype``. The values are drawn in
    float64 from ``np.random.default_rng(seed)``, so float32 and float64 networks start alike.
    """
    sizes = [int(s) for s in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"layer_sizes={layer_sizes}; expected at least two positive sizes, e.g. [784, 128, 10].")
    if init not in INITS:
        raise ValueError(f"init={init!r}; expected one of {INITS}.")
    rng = np.random.default_rng(seed)
    params = {}
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        if init == "uniform":
            W = rng.random((n_in, n_out)) - 0.5
            b = rng.random(n_out) - 0.5
            W, b = scale * W, scale * b
        else:
            var = 2 / n_in if init == "he" else 2 / (n_in + n_out)
            W = rng.normal(0.0, scale * np.sqrt(var), size=(n_in, n_out))
            b = np.zeros(n_out)
        params[f"W{l}"], params[f"b{l}"] = W.astype(dtype), b.astype(dtype)
    return params


def check_input(params: dict, X: np.ndarray) -> None:
    """Raise a ValueError that says how to fix ``X`` when it cannot be fed to the network."""
    n_in = params["W1"].shape[0]
    X = np.asarray(X)
    if X.ndim == 3 and X.shape[1:] == (28, 28):
        raise ValueError(
            f"X has shape {X.shape}: images, not feature rows. Flatten and scale them first: "
            f"X = to_features(images), shape (n, {n_in})."
        )
    if X.ndim != 2 or X.shape[1] != n_in:
        hint = " Did you pass X.T?" if X.ndim == 2 and X.shape[0] == n_in else ""
        raise ValueError(f"X has shape {X.shape}; expected (n_samples, {n_in}).{hint}")
    if X.size and (np.issubdtype(X.dtype, np.integer) or (X.min() >= 0 and X.max() > 1)):
        raise ValueError(
            f"X holds values up to {X.max()}: raw 0..255 pixels. The network expects pixels scaled to "
            f"0..1; use X = to_features(images) or X / 255."
        )


def dropout_mask(shape, p: float, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """Inverted-dropout mask ``D = M / (1 - p)`` with ``M ~ Bernoulli(1 - p)``: 0 for a dropped unit,
    ``1 / (1 - p)`` for a kept one, so that ``E[A * D] = A``."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout={p}; expected a rate in [0, 1), e.g. 0.2 (0 turns dropout off).")
    keep = rng.random(shape, dtype=np.float32) >= p
    return keep.astype(dtype) / (1 - p)


def forward(params: dict, X: np.ndarray, activation: str = "relu", check: bool = True,
            dropout: float = 0.0, rng: np.random.Generator | None = None, masks: dict | None = None):
    """Forward pass. ``X``: (n, n_0) floats in 0..1 -> ``probs``: (n, 10), each row summing to 1.

    Returns ``(probs, cache)``; ``cache`` holds ``A0 = X``, every ``Z_l`` and ``A_l``, and the
    activation's name, which :func:`backward` needs.

    Training with dropout: ``dropout=p`` drops each hidden unit with probability p, drawing the masks
    from ``rng`` (a ``np.random.default_rng(seed)``), and scales the kept ones by 1 / (1 - p). The masks
    ``D_l`` are in ``cache["masks"]``; pass them back as ``masks=`` to repeat the same dropped network
    (for a gradient check). Predictions use no dropout: the default ``dropout=0`` changes nothing.
    """
    if check:
        check_input(params, X)
    g, _ = get_activation(activation)
    L = n_layers(params)
    if dropout and masks is None:
        if rng is None:
            raise ValueError("dropout needs a random generator: pass rng=np.random.default_rng(seed).")
        masks = {l: dropout_mask((len(X), params[f"W{l}"].shape[1]), dropout, rng, params[f"W{l}"].dtype)
                 for l in range(1, L)}
    cache = {"activation": activation, "A0": X}
    A = X
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        A = g(Z) if l < L else softmax(Z)
        if masks and l < L:
            A = A * masks[l]
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    if masks:
        cache["masks"] = masks
    return A, cache


def backward(params: dict, cache: dict, y: np.ndarray) -> dict:
    """Gradients of the mean cross-entropy with respect to every parameter.

    ``y``: labels (n,). Returns ``{"W1": dW1, "b1": db1, ...}``, each the shape of its parameter.
    A ``cache`` from a forward pass with dropout carries its masks; the gradient goes through them.
    """
    masks = cache.get("masks")
    _, g_prime = get_activation(cache["activation"])
    L = n_layers(params)
    n = len(y)
    dZ = cache[f"A{L}"].copy()          # dZ_L = (A_L - Y) / n, without building Y
    dZ[np.arange(n), y] -= 1
    dZ /= n
    grads = {}
    for l in range(L, 0, -1):
        grads[f"W{l}"] = cache[f"A{l - 1}"].T @ dZ
        grads[f"b{l}"] = dZ.sum(axis=0)
        if l > 1:
            dA = dZ @ params[f"W{l}"].T
            if masks:
                dA *= masks[l - 1]
            dZ = dA * g_prime(cache[f"Z{l - 1}"])
    return grads


def predict_proba(params: dict, X: np.ndarray, activation: str = "relu", batch_size: int = 10_000) -> np.ndarray:
    """Class probabilities ``(n, 10)``, computed in batches to bound memory."""
    check_input(params, X)
    parts = [forward(params, X[i : i + batch_size], activation, check=False)[0] for i in range(0, len(X), batch_size)]
    return np.concatenate(parts) if parts else np.empty((0, layer_sizes(params)[-1]), dtype=params["W1"].dtype)


def predict(params: dict, X: np.ndarray, activation: str = "relu") -> np.ndarray:
    """Predicted digit per row: argmax of the probabilities, shape (n,)."""
    return predict_proba(params, X, activation).argmax(axis=1)


# ---- nn_helpers/cnn.py -------------------------------------------------------------------------------------------------

def init_cnn(filters=(32, 64), kernel: int = 5, hidden: int = 128, n_classes: int = 10, image_size: int = 28,
             channels: int = 1, seed: int = 0, dtype=np.float32) -> dict:
    """He-initialised parameters of the CNN: W ~ Normal(0, 2 / fan_in), b = 0, where a filter's fan_in
    is C R R. ``filters``: the number of filters of each conv stage (each followed by a 2x2 pooling).

    Returns ``{"W1": (F_1, C, R, R), "b1": (F_1,), "W2": (F_2, F_1, R, R), ..., "W4": (d_1, 10), "b4": (10,)}``
    in ``dtype``, drawn in float64 from ``np.random.default_rng(seed)``.
    """
    if kernel % 2 == 0 or kernel < 1:
        raise ValueError(f"kernel={kernel}; expected an odd size (3, 5, ...), so that padding kernel // 2 keeps the map's size.")
    side = image_size
    for _ in filters:
        if side % 2:
            raise ValueError(f"a {side}x{side} map cannot be pooled by 2 exactly; use fewer stages or another image size.")
        side //= 2
    rng = np.random.default_rng(seed)
    params, c = {}, channels
    for l, f in enumerate(filters, start=1):
        params[f"W{l}"] = rng.normal(0.0, np.sqrt(2 / (c * kernel * kernel)), size=(f, c, kernel, kernel))
        params[f"b{l}"] = np.zeros(f)
        c = f
    sizes = [c * side * side, hidden, n_classes]
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=len(filters) + 1):
        params[f"W{l}"] = rng.normal(0.0, np.sqrt(2 / n_in), size=(n_in, n_out))
        params[f"b{l}"] = np.zeros(n_out)
    return {k: v.astype(dtype) for k, v in params.items()}


def n_conv_layers(params: dict) -> int:
    """How many of the layers are convolutions (4-D weights)."""
    return sum(1 for k, v in params.items() if k.startswith("W") and v.ndim == 4)


def cnn_forward(params: dict, X: np.ndarray, dropout: float = 0.0, rng: np.random.Generator | None = None,
                masks: dict | None = None):
    """Forward pass: ``X`` (n, C, H, W) -> ``(probs, cache)``, ``probs`` (n, 10).

    The cache holds every stage's output ``A_l`` (maps (n, F_l, H_l, W_l) for the conv stages, rows for the
    dense layer), the conv and pooling caches, the logits ``Z_L`` and the dropout masks. ``dropout=p``
    drops hidden units of the dense layers with probability p (masks drawn from ``rng``); pass
    ``masks=cache["masks"]`` back to repeat the same thinned network (for a gradient check).
    """
    n_conv, L = n_conv_layers(params), sum(1 for k in params if k.startswith("W"))
    if dropout and masks is None and rng is None:
        raise ValueError("dropout needs a random generator: pass rng=np.random.default_rng(seed).")
    cache = {"masks": {}}
    A = X
    for l in range(1, n_conv + 1):
        W = params[f"W{l}"]
        Z, cache[f"conv{l}"] = conv2d_forward(A, W, params[f"b{l}"], pad=W.shape[2] // 2)
        P, cache[f"pool{l}"] = maxpool_forward(Z, size=2)
        A = cache[f"A{l}"] = np.maximum(P, 0)              # relu(pool(Z)) = pool(relu(Z))
    A = A.reshape(len(A), -1)                              # the last maps as rows (n, F H W), a view
    for l in range(n_conv + 1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        if l == L:
            cache[f"Z{l}"] = Z
            A = softmax(Z)
        else:
            A = np.maximum(Z, 0)
            mask = masks.get(l) if masks else (dropout_mask(A.shape, dropout, rng, A.dtype) if dropout else None)
            if mask is not None:
                A = A * mask
                cache["masks"][l] = mask
        cache[f"A{l}"] = A
    return A, cache


def cnn_backward(params: dict, cache: dict, y: np.ndarray) -> dict:
    """Gradients of the mean cross-entropy with respect to every parameter, the shapes of ``params``.

        dZ_L = (A_L - Y) / n;  dense layers as in network.py;  then, for each conv stage l = n_conv..1:
        dP = dA_l * [A_l > 0]  (ReLU),   dZ_l = maxpool_backward(dP),   dA_{l-1}, dW_l, db_l = conv2d_backward(dZ_l)

    The first layer's dX (the gradient with respect to the images) is not computed.
    """
    n_conv, L = n_conv_layers(params), sum(1 for k in params if k.startswith("W"))
    n = len(y)
    dZ = cache[f"A{L}"].copy()
    dZ[np.arange(n), y] -= 1
    dZ /= n
    grads = {}
    for l in range(L, n_conv, -1):
        A_prev = cache[f"A{l - 1}"].reshape(n, -1)
        grads[f"W{l}"], grads[f"b{l}"] = A_prev.T @ dZ, dZ.sum(axis=0)
        dA = dZ @ params[f"W{l}"].T
        if l - 1 > n_conv:
            if l - 1 in cache["masks"]:
                dA *= cache["masks"][l - 1]
            dZ = dA * (A_prev > 0)                           # ReLU': A = relu(Z) D is > 0 exactly where Z passed
    dA = dA.reshape(cache[f"A{n_conv}"].shape)
    for l in range(n_conv, 0, -1):
        dP = dA * (cache[f"A{l}"] > 0)
        dZ = maxpool_backward(dP, cache[f"pool{l}"])
        dA, grads[f"W{l}"], grads[f"b{l}"] = conv2d_backward(dZ, cache[f"conv{l}"], need_dX=l > 1)
    return {k: grads[k] for k in params}


def _weighted_sum(parts, n: int):
    """Combine the ``(loss, n_correct, grads)`` of chunks of a batch of n samples: J and its gradient are
    means over samples, so they are the sums of the chunks' means weighted by n_c / n."""
    loss = sum(len_c / n * part[0] for len_c, part in parts)
    n_correct = sum(part[1] for _, part in parts)
    grads = {k: sum(len_c / n * part[2][k] for len_c, part in parts) for k in parts[0][1][2]}
    return loss, n_correct, grads


@dataclass
class CNN:
    """The network of :func:`cnn_forward` as a model for :func:`nn_helpers.train`: images X (n, C, H, W).

    ``dropout``: rate p of inverted dropout on the dense hidden layer during training (0: none).
    ``workers``: threads that share each batch (its samples split into that many parts; NumPy's matrix
    products and element-wise operations release the GIL, so two threads use two cores). The gradient is
    the same up to rounding; dropout masks are drawn for the whole batch first, so they do not change.
    """

    dropout: float = 0.0
    workers: int = 1

    def __post_init__(self):
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout={self.dropout}; expected a rate in [0, 1), e.g. 0.25 (0 turns dropout off).")
        if int(self.workers) != self.workers or self.workers < 1:
            raise ValueError(f"workers={self.workers}; expected a number of threads, at least 1.")

    def check_input(self, params: dict, X: np.ndarray) -> None:
        """Raise a ValueError that says how to fix ``X`` when the network cannot read it."""
        X = np.asarray(X)
        C = params["W1"].shape[1]
        if X.ndim == 2:
            side = int(round(np.sqrt(X.shape[1] / C))) if X.shape[1] else 0
            raise ValueError(f"X has shape {X.shape}: feature rows; the CNN needs images (n, {C}, H, W): "
                             f"X.reshape(-1, {C}, {side}, {side}).")
        _check_images(X, "the CNN")
        n_conv = n_conv_layers(params)
        if X.shape[1] != C:
            raise ValueError(f"X has {X.shape[1]} channels, W1 expects {C}: X is (n, C, H, W).")
        flat = params[f"W{n_conv}"].shape[0] * (X.shape[2] >> n_conv) * (X.shape[3] >> n_conv)
        if flat != params[f"W{n_conv + 1}"].shape[0]:
            raise ValueError(f"X has {X.shape[2]}x{X.shape[3]} pixels, but the network was built for other images "
                             f"(W{n_conv + 1} has {params[f'W{n_conv + 1}'].shape[0]} rows); use init_cnn(image_size=...).")
        if X.size and X.max() > 1:
            raise ValueError(f"X holds values up to {X.max()}: raw 0..255 pixels. The network expects pixels scaled "
                             f"to 0..1; use X / 255.")

    def n_classes(self, params: dict) -> int:
        return params[f"W{sum(1 for k in params if k.startswith('W'))}"].shape[1]

    def _masks(self, params, n, rng):
        if not self.dropout:
            return None
        L = sum(1 for k in params if k.startswith("W"))
        return {l: dropout_mask((n, params[f"W{l}"].shape[1]), self.dropout, rng, params[f"W{l}"].dtype)
                for l in range(n_conv_layers(params) + 1, L)}

    def _chunk(self, params, X, y, masks):
        probs, cache = cnn_forward(params, X, masks=masks)
        L = sum(1 for k in params if k.startswith("W"))
        loss = cross_entropy_from_logits(cache[f"Z{L}"], y)
        return loss, int(np.count_nonzero(probs.argmax(axis=1) == y)), cnn_backward(params, cache, y)

    def loss_and_grads(self, params: dict, X: np.ndarray, y: np.ndarray, rng: np.random.Generator):
        """``(loss, n_correct, grads)`` of one training batch (dropout masks drawn from ``rng``)."""
        masks = self._masks(params, len(X), rng)
        if self.workers == 1 or len(X) < 2 * self.workers:
            return self._chunk(params, X, y, masks)
        bounds = np.linspace(0, len(X), self.workers + 1).astype(int)
        pieces = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        with ThreadPoolExecutor(self.workers) as pool:
            parts = list(pool.map(lambda sl: (sl.stop - sl.start, self._chunk(
                params, X[sl], y[sl], masks and {l: m[sl] for l, m in masks.items()})), pieces))
        return _weighted_sum(parts, len(X))

    def predict_proba(self, params: dict, X: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """Class probabilities (n, K), no dropout, in batches of ``batch_size`` images to bound memory."""
        self.check_input(params, X)
        parts = [cnn_forward(params, X[i : i + batch_size])[0] for i in range(0, len(X), batch_size)]
        return np.concatenate(parts) if parts else np.empty((0, self.n_classes(params)), dtype=params["W1"].dtype)


# ---- nn_helpers/training.py --------------------------------------------------------------------------------------------

#: Training stops with a DivergenceError when a batch's loss is NaN, inf, or this many times the first one.
DIVERGENCE_RATIO = 100


class DivergenceError(RuntimeError):
    """The loss became NaN or inf, or exploded (see ``DIVERGENCE_RATIO``): the steps are too large."""


class StopTraining(Exception):
    """Raise from a callback to end training early; ``train`` returns what it has so far."""


@dataclass
class History:
    """Per-epoch metrics, one entry per epoch.

    ``train_loss``, ``train_acc``: the loss and accuracy measured after the epoch, with the epoch's final
        weights (no dropout), on a fixed sample of the training set drawn once (see ``train_sample`` of
        :func:`train`); NaN when that measurement is turned off. Compare these with ``val_*``.
    ``running_loss``, ``running_acc``: the averages over the epoch's batches, each measured before its
        own step (and with dropout, if any). They cost nothing, but lag behind the weights the epoch ends
        with, so early in training they make the training set look worse than the validation set.
    ``val_loss``, ``val_acc``: measured on the validation set after the epoch (NaN when there is none).
    """

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    running_loss: list = field(default_factory=list)
    running_acc: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    stopped_early: bool = False

    def __len__(self):
        return len(self.epoch)

    def last(self) -> dict:
        """The latest epoch's metrics as a dict."""
        return {k: v[-1] for k, v in vars(self).items() if isinstance(v, list) and v}


class EarlyStopping:
    """A callback for :func:`train` that stops when the validation loss has not improved for ``patience``
    epochs, and puts back the parameters of the best epoch:

        best = argmin_e val_loss[e];   stop after epoch e when e - best >= patience

    ``train(..., X_val=..., y_val=..., callbacks=[EarlyStopping(patience=3)])``. After training,
    ``best_epoch``, ``best_loss`` and ``best_params`` (a copy) tell what it kept. When training ends
    without stopping, the returned parameters are the last epoch's; ``best_params`` still holds the best.
    """

    def __init__(self, patience: int = 3, min_delta: float = 0.0, restore_best: bool = True):
        if patience < 1:
            raise ValueError(f"patience={patience}; expected at least 1 epoch.")
        self.patience, self.min_delta, self.restore_best = patience, min_delta, restore_best
        self.best_epoch, self.best_loss, self.best_params = 0, math.inf, None

    def __call__(self, epoch: int, history: "History", params: dict) -> None:
        loss = history.val_loss[-1]
        if math.isnan(loss):
            raise ValueError("EarlyStopping watches the validation loss: pass X_val and y_val to train.")
        if loss < self.best_loss - self.min_delta:
            self.best_epoch, self.best_loss = epoch, loss
            self.best_params = {k: v.copy() for k, v in params.items()}
        elif epoch - self.best_epoch >= self.patience:
            if self.restore_best:
                for k, v in self.best_params.items():
                    params[k][...] = v      # in place: train returns this dict
            raise StopTraining


def check_labels(y: np.ndarray, n: int, n_classes: int, name: str = "y") -> np.ndarray:
    """Labels must be integers 0..n_classes-1, one per sample."""
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"{name} has shape {y.shape}; expected ({n},), one label per row of X.")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} has dtype {y.dtype}; expected integer labels 0..{n_classes - 1} (not one-hot).")
    if n and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} ranges from {y.min()} to {y.max()}; expected labels 0..{n_classes - 1}.")
    return y.astype(np.intp)


#: Rows per chunk in :func:`batch_gradient`: 1024 rows of 784 float32 pixels (3 MB) and their activations
#: stay in the CPU's cache from the forward to the backward pass.
CHUNK_ROWS = 1024


def batch_gradient(params: dict, X: np.ndarray, y: np.ndarray, activation: str = "relu",
                   chunk_rows: int = CHUNK_ROWS, dropout: float = 0.0, rng: np.random.Generator | None = None):
    """Loss, correct predictions and gradient of one batch: ``(loss, n_correct, grads)``.

    ``loss`` is the batch's mean cross-entropy J (computed from the logits, exact even where a probability
    underflows), ``grads`` the gradient of J, as :func:`backward` returns it. A batch larger than
    ``chunk_rows`` (full-batch gradient descent) is processed in chunks c of n_c rows: J and its gradient
    are means over samples, so they are the weighted sums of the chunks' means,

        J = sum_c (n_c / n) J_c,        dW = sum_c (n_c / n) dW_c,

    the same numbers up to rounding. For MNIST's 55,000 rows this is about 15% faster than one pass over
    them all (75 instead of 90 ms for a 784-10-10 step here), because each chunk is still in the cache when
    its backward pass needs it. ``dropout`` and ``rng`` go to :func:`forward` (dropout at training time).
    """
    n = len(y)
    L = len(layer_sizes(params)) - 1
    loss, n_correct, grads = 0.0, 0, None
    for start in range(0, n, chunk_rows):
        Xc, yc = X[start : start + chunk_rows], y[start : start + chunk_rows]
        probs, cache = forward(params, Xc, activation, check=False, dropout=dropout, rng=rng)
        weight = len(yc) / n
        loss += weight * cross_entropy_from_logits(cache[f"Z{L}"], yc)
        n_correct += int(np.count_nonzero(probs.argmax(axis=1) == yc))
        chunk_grads = backward(params, cache, yc)
        if grads is None:
            grads = chunk_grads if weight == 1 else {k: weight * g for k, g in chunk_grads.items()}
        else:
            for k, g in chunk_grads.items():
                grads[k] += weight * g
    return loss, n_correct, grads


class Model(Protocol):
    """What :func:`train` needs of a model (the parameters stay a plain dict ``{"W1": ..., "b1": ...}``).

    ``check_input(params, X)``: raise a ValueError that says how to fix ``X`` when it cannot be fed in.
    ``n_classes(params)``: the number K of classes, the width of the output layer.
    ``loss_and_grads(params, X, y, rng)``: ``(loss, n_correct, grads)`` of one batch at training time (with
        dropout, drawn from ``rng``): the mean cross-entropy J, the number of correct predictions, and the
        gradient of J as a dict with the keys and shapes of ``params``.
    ``predict_proba(params, X)``: class probabilities (n, K) at test time (no dropout).
    """

    def check_input(self, params: dict, X: np.ndarray) -> None: ...

    def n_classes(self, params: dict) -> int: ...

    def loss_and_grads(self, params: dict, X: np.ndarray, y: np.ndarray, rng: np.random.Generator): ...

    def predict_proba(self, params: dict, X: np.ndarray) -> np.ndarray: ...


@dataclass
class MLP:
    """The fully connected network of network.py as a :class:`Model`: ``activation`` on the hidden layers,
    inverted dropout of rate ``dropout`` on them during training. Samples are rows, X (n, 784)."""

    activation: str = "relu"
    dropout: float = 0.0
    chunk_rows: int = CHUNK_ROWS

    def __post_init__(self):
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout={self.dropout}; expected a rate in [0, 1), e.g. 0.2 (0 turns dropout off).")

    def check_input(self, params, X):
        check_input(params, X)

    def n_classes(self, params):
        return layer_sizes(params)[-1]

    def loss_and_grads(self, params, X, y, rng):
        return batch_gradient(params, X, y, self.activation, self.chunk_rows, dropout=self.dropout, rng=rng)

    def predict_proba(self, params, X):
        return predict_proba(params, X, self.activation)


def evaluate(params: dict, X: np.ndarray, y: np.ndarray, activation: str = "relu", model: Model | None = None):
    """Mean cross-entropy and accuracy of the network on ``(X, y)``: returns ``(loss, acc)``.
    ``model``: another model than the MLP with ``activation`` (e.g. ``cnn.CNN()``)."""
    probs = (model or MLP(activation)).predict_proba(params, X)
    return cross_entropy(probs, y), accuracy(y, probs.argmax(axis=1))


def augmented(X: np.ndarray, augment, rng: np.random.Generator) -> np.ndarray:
    """A batch ``X`` in the model's layout (rows (b, 784) or images (b, 1, 28, 28)) -> uint8 images
    (b, 28, 28) -> ``augment(images, rng)`` -> the same layout again."""
    images = np.rint(X * 255).astype(np.uint8).reshape(len(X), 28, 28)
    images = augment(images, rng)
    if images.shape != (len(X), 28, 28) or images.dtype != np.uint8:
        raise ValueError(f"augment returned {images.dtype} images of shape {images.shape}; expected uint8 "
                         f"({len(X)}, 28, 28), the shape and type it was given.")
    out = images.reshape(X.shape).astype(X.dtype)
    out /= 255
    return out


#: Training rows sampled for the after-epoch training metrics when there is no validation set.
TRAIN_SAMPLE = 5000


def train_sample_indices(n: int, size: int, seed: int) -> np.ndarray:
    """The rows of the training set on which :func:`train` measures ``History.train_*``: ``size`` distinct
    indices out of ``n`` (all of them when ``size >= n``), sorted, drawn from their own generator
    ``default_rng([seed, 3])``, so the shuffling generator, and with it the trained weights, are the
    same whatever the sample's size."""
    if size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 3]).choice(n, size=size, replace=False))


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="batch", desc="training", leave=True)


def _check_train_args(model, params, X, y, X_val, y_val, epochs, batch_size, schedule, augment, train_sample):
    """Check ``train``'s arguments; return ``(y, y_val, batch_size, train_sample)`` made ready for the loop."""
    model.check_input(params, X)
    n, n_classes = len(X), model.n_classes(params)
    y = check_labels(y, n, n_classes)
    if (X_val is None) != (y_val is None):
        raise ValueError("pass both X_val and y_val, or neither.")
    if X_val is not None:
        model.check_input(params, X_val)
        y_val = check_labels(y_val, len(X_val), n_classes, name="y_val")
    if epochs < 1:
        raise ValueError(f"epochs={epochs}; expected at least 1.")
    batch_size = n if batch_size is None else int(batch_size)
    if not 1 <= batch_size:
        raise ValueError(f"batch_size={batch_size}; expected at least 1.")
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule={schedule!r}; expected 'constant' or 'cosine'.")
    features = int(np.prod(np.shape(X)[1:]))
    if augment is not None and features != 784:
        raise ValueError(f"augment works on 28x28 images, but X has {features} features; expected 784 pixels.")
    if train_sample is None:
        train_sample = TRAIN_SAMPLE if X_val is None else len(X_val)
    elif int(train_sample) != train_sample or train_sample < 0:
        raise ValueError(f"train_sample={train_sample}; expected a number of rows, at least 0 (0 turns the "
                         f"after-epoch training metrics off).")
    return y, y_val, min(batch_size, n), int(train_sample)


def _model(model, activation: str, dropout: float):
    """The model ``train`` trains: ``model``, or an :class:`MLP` built from ``activation`` and ``dropout``."""
    if model is None:
        return MLP(activation, dropout)
    if activation != "relu" or dropout:
        raise ValueError(f"train got model={model!r} and activation={activation!r}, dropout={dropout}: set them "
                         f"on the model instead, e.g. MLP(activation='tanh', dropout=0.2).")
    return model


@dataclass
class _Run:
    """What a training run carries from batch to batch: model, optimizer, generators, the first loss."""

    model: Model
    optimizer: Optimizer
    batch_size: int
    shuffle: bool
    augment: object
    lr0: float
    rng: np.random.Generator            # shuffling
    dropout_rng: np.random.Generator
    augment_rng: np.random.Generator
    bar: object = None
    first_loss: float | None = None


def _step(run: _Run, params: dict, Xb, yb, where: str):
    """One optimizer step on the batch ``(Xb, yb)``; returns its loss and correct predictions (before the step)."""
    if run.augment is not None:
        Xb = augmented(Xb, run.augment, run.augment_rng)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        loss, n_correct, grads = run.model.loss_and_grads(params, Xb, yb, run.dropout_rng)
        run.first_loss = loss if run.first_loss is None else run.first_loss
        if not (math.isfinite(loss) and loss <= DIVERGENCE_RATIO * run.first_loss):
            raise DivergenceError(
                f"Training diverged in {where}: the loss went from {run.first_loss:.3g} to {loss:.3g}. The "
                f"learning rate {run.lr0:g} is too large for this network; try a smaller one, e.g. {run.lr0 / 10:g}."
            )
        run.optimizer.step(params, grads)
    return loss, n_correct


def _run_epoch(run: _Run, params: dict, X, y, epoch: int):
    """One pass over the shuffled training set; returns the mean loss and accuracy of its batches."""
    n = len(X)
    n_batches = math.ceil(n / run.batch_size)
    order = run.rng.permutation(n) if run.shuffle else np.arange(n)
    loss_sum = correct = 0.0
    for b in range(n_batches):
        idx = order[b * run.batch_size : (b + 1) * run.batch_size]
        # one batch holding every sample: the order does not change the mean gradient, skip the copy
        Xb, yb = (X, y) if n_batches == 1 else (X[idx], y[idx])
        loss, n_correct = _step(run, params, Xb, yb, f"epoch {epoch} (batch {b + 1} of {n_batches})")
        loss_sum += loss * len(yb)
        correct += n_correct
        if run.bar is not None:
            run.bar.update(1)
    return loss_sum / n, correct / n


def _measure_epoch(model: Model, params: dict, history: History, train_set, val_set) -> None:
    """Append the after-epoch metrics to ``history``: loss and accuracy on the training sample and on the
    validation set, each ``(X, y)``, or NaN where it is None."""
    nan = (float("nan"), float("nan"))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        train_loss, train_acc = evaluate(params, *train_set, model=model) if train_set else nan
        val_loss, val_acc = evaluate(params, *val_set, model=model) if val_set else nan
    history.train_loss.append(train_loss)
    history.train_acc.append(train_acc)
    history.val_loss.append(val_loss)
    history.val_acc.append(val_acc)


def train(
    params: dict,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 10,
    batch_size: int | None = 128,
    optimizer: str | Optimizer = "momentum",
    lr: float | None = None,
    schedule: str = "constant",
    activation: str = "relu",
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    seed: int = 0,
    shuffle: bool = True,
    callbacks=(),
    progress: bool = True,
    dropout: float = 0.0,
    augment=None,
    train_sample: int | None = None,
    model: Model | None = None,
):
    """Train a copy of ``params`` on ``X`` (n, n_0) and labels ``y`` (n,); the input dict is left as is.

    optimizer: "sgd", "momentum", "adam" or an :class:`Optimizer`; ``lr`` overrides its learning rate.
    schedule: "constant" learning rate, or "cosine" (see :func:`cosine_lr`).
    batch_size: samples per step; ``None`` or ``n`` gives full-batch gradient descent.
    callbacks: callables ``f(epoch, history, params)`` run after every epoch (live plots, early
        stopping); one may raise :class:`StopTraining` to end training early.
    progress: show a tqdm progress bar (terminal or Jupyter).
    model: what to train, any :class:`Model`; by default ``MLP(activation, dropout)``, the fully connected
        network. ``train(params, X, y, model=CNN(dropout=0.25))`` trains ``nn_helpers.cnn``'s network on
        images ``X`` (n, 1, 28, 28).
    activation, dropout: the MLP's settings when no ``model`` is given; dropout is the rate p of inverted
        dropout on the hidden layers during training (0: none), see :func:`forward`.
    augment: a function ``f(images, rng) -> images`` applied to every batch's uint8 images (b, 28, 28),
        recovered from ``X`` (rows or images, the model's layout) as ``round(255 X)``, e.g.
        ``augment.shifts(2)`` from ``nn_helpers.augment``.
    Dropout and augmentation draw from their own generators (seeded from ``seed``), so the shuffling
    is the same with and without them.
    train_sample: how many training rows ``History.train_loss``/``train_acc`` are measured on after each
        epoch; ``None`` (default): as many as the validation set has, or ``TRAIN_SAMPLE`` (5,000) without
        one, at most n; 0 turns the measurement off (NaN). The rows are drawn once from ``seed``, from their
        own generator (see :func:`train_sample_indices`): the sample does not change the trained weights.
        ``History.running_loss``/``running_acc`` keep the averages over each epoch's batches.

    Returns ``(params, history)``. Raises :class:`DivergenceError` as soon as the loss is NaN or inf.
    Deterministic: the same ``seed`` (shuffling) and starting ``params`` give the same result on the same
    machine (CPU, BLAS library and thread count); another machine rounds differently in the last digits.
    """
    model = _model(model, activation, dropout)
    y, y_val, batch_size, train_sample = _check_train_args(model, params, X, y, X_val, y_val, epochs, batch_size,
                                                           schedule, augment, train_sample)
    if isinstance(optimizer, str):
        optimizer = make_optimizer(optimizer, lr)
    elif lr is not None:
        optimizer.lr = lr
    n = len(X)
    params = {k: v.copy() for k, v in params.items()}
    X = np.asarray(X, dtype=params["W1"].dtype)
    sample = train_sample_indices(n, train_sample, seed) if train_sample else None
    train_set = None if sample is None else (X, y) if len(sample) == n else (X[sample], y[sample])
    val_set = None if X_val is None else (X_val, y_val)
    run = _Run(model, optimizer, batch_size, shuffle, augment, optimizer.lr, np.random.default_rng(seed),
               np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2]),
               _progress_bar(epochs * math.ceil(n / batch_size), progress))
    history = History()
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            if schedule == "cosine":
                optimizer.lr = cosine_lr(run.lr0, epoch, epochs)
            running_loss, running_acc = _run_epoch(run, params, X, y, epoch)
            history.epoch.append(epoch)
            history.running_loss.append(running_loss)
            history.running_acc.append(running_acc)
            _measure_epoch(model, params, history, train_set, val_set)
            history.seconds.append(time.perf_counter() - start)
            if run.bar is not None:
                shown = {"val_acc": f"{history.val_acc[-1]:.4f}"} if val_set else {"acc": f"{running_acc:.4f}"}
                run.bar.set_postfix(epoch=epoch, loss=f"{running_loss:.4f}", **shown, refresh=False)
            for callback in callbacks:
                callback(epoch, history, params)
    except StopTraining:
        history.stopped_early = True
    finally:
        if run.bar is not None:
            run.bar.close()
    return params, history

