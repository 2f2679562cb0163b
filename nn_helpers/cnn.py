"""A convolutional network: two conv-ReLU-pool stages, a dense hidden layer, softmax.

Images in NCHW order, X (n, 1, 28, 28) floats in 0..1. With F_1, F_2 filters of R x R (padding R // 2, so a
convolution keeps the map's size) and d_1 hidden units:

    Z1 = conv(X, W1) + b1      (n, F_1, 28, 28)     W1: (F_1, 1, R, R)
    A1 = relu(pool(Z1))        (n, F_1, 14, 14)
    Z2 = conv(A1, W2) + b2     (n, F_2, 14, 14)     W2: (F_2, F_1, R, R)
    A2 = relu(pool(Z2))        (n, F_2, 7, 7), read as rows (n, 49 F_2)
    Z3 = A2 W3 + b3            (n, d_1)             W3: (49 F_2, d_1)
    A3 = relu(Z3) * D3         (dropout mask D3 during training, as in network.py)
    Z4 = A3 W4 + b4            (n, 10)              W4: (d_1, 10)
    A4 = softmax(Z4)

relu(pool(Z)) = pool(relu(Z)): the maximum of a window and ReLU commute (ReLU never changes which entry is
largest), so ReLU runs on the pooled map, a quarter of the size. The parameters are a flat dict
``W1, b1, ..., W4, b4``, as the MLP's, so weight decay on ``W*``, ``save_params`` and gradient checks work
unchanged. :class:`CNN` is the model :func:`nn_helpers.train` trains: ``train(params, X, y, model=CNN())``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .conv import _check_images, conv2d_backward, conv2d_forward, maxpool_backward, maxpool_forward
from .losses import cross_entropy_from_logits, softmax
from .network import dropout_mask


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
