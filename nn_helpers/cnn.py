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
unchanged. :class:`CNN` is the model :func:`nn_helpers.train` trains: ``train(params, X, y, model=CNN())``, a
:class:`~nn_helpers.model.Sequential` of the layers of :mod:`nn_helpers.layers` (:func:`cnn_layers`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .conv import _check_images
from .layers import Activation, Conv2D, Dense, Dropout, Flatten, MaxPool, output_gradient
from .losses import softmax
from .model import Sequential, check_pixels, check_workers
from .network import n_layers


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


def cnn_layers(params: dict, dropout: float = 0.0) -> list:
    """The CNN's layers for ``params``: for each conv stage l (a 4-D ``W_l``) ``Conv2D(l, pad=R // 2), MaxPool(2),
    Activation("relu")``; then ``Flatten()``; then the dense layers, ``Dense(l), Activation("relu"), [Dropout]``
    for the hidden ones and ``Dense(L)`` for the logits."""
    n_conv, L = n_conv_layers(params), n_layers(params)
    layers = []
    for l in range(1, n_conv + 1):
        layers += [Conv2D(l, pad=params[f"W{l}"].shape[2] // 2), MaxPool(2), Activation("relu")]  # relu(pool(Z)) = pool(relu(Z))
    layers.append(Flatten())
    for l in range(n_conv + 1, L + 1):
        layers.append(Dense(l))
        if l < L:
            layers += [Activation("relu")] + ([Dropout(dropout)] if dropout else [])
    return layers


def cnn_forward(params: dict, X: np.ndarray, dropout: float = 0.0, rng: np.random.Generator | None = None,
                masks: dict | None = None):
    """Forward pass: ``X`` (n, C, H, W) -> ``(probs, cache)``, ``probs`` (n, 10).

    The cache holds every stage's output ``A_l`` (maps (n, F_l, H_l, W_l) for the conv stages, rows for the
    dense layers), the logits ``Z_L``, the dropout masks ``{l: D_l}`` and the layers' caches (``"layers"``, what
    :func:`cnn_backward` reads). ``dropout=p`` drops hidden units of the dense layers with probability p (masks
    drawn from ``rng``); pass ``masks=cache["masks"]`` back to repeat the same thinned network (for a gradient
    check).
    """
    model = CNN(dropout or (0.5 if masks else 0.0))          # with masks given, only their presence matters
    layers, outputs = model.layer_list(params), []
    Z, model_cache = model.forward(params, X, train=bool(dropout or masks), rng=rng,
                                   masks=None if masks is None else [masks[l] for l in sorted(masks)], outputs=outputs)
    L = n_layers(params)
    cache = {**model_cache, "masks": {}}
    dense_hidden = [layer.n for layer in layers if isinstance(layer, Dense)][:-1]
    cache["masks"] = dict(zip(dense_hidden, model_cache["masks"]))
    l = 0
    for layer, A in zip(layers, outputs):
        if isinstance(layer, (Conv2D, Dense)):
            l = layer.n
        elif isinstance(layer, (Activation, Dropout)):
            cache[f"A{l}"] = A
    cache[f"Z{L}"], cache[f"A{L}"] = Z, softmax(Z)
    return cache[f"A{L}"], cache


def cnn_backward(params: dict, cache: dict, y: np.ndarray) -> dict:
    """Gradients of the mean cross-entropy with respect to every parameter, the shapes of ``params``.

        dZ_L = (A_L - Y) / n;  the dense layers' backward passes;  then, for each conv stage l = n_conv..1:
        dP = dA_l * [P_l > 0]  (ReLU),   dZ_l = maxpool_backward(dP),   dA_{l-1}, dW_l, db_l = conv2d_backward(dZ_l)

    The first layer's dX (the gradient with respect to the images) is not computed.
    """
    L = n_layers(params)
    return CNN().backward(params, output_gradient(cache[f"A{L}"], y), cache)


@dataclass
class CNN(Sequential):
    """The network of :func:`cnn_forward` as a model for :func:`nn_helpers.train`: images X (n, C, H, W).

    ``dropout``: rate p of inverted dropout on the dense hidden layer during training (0: none).
    ``workers``: threads that share each batch (its samples split into that many parts; NumPy's matrix
    products and element-wise operations release the GIL, so two threads use two cores). The gradient is
    the same up to rounding; dropout masks are drawn for the whole batch first, so they do not change.
    """

    dropout: float = 0.0
    workers: int = 1
    chunk_rows = None
    predict_rows = 1000

    def __post_init__(self):
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout={self.dropout}; expected a rate in [0, 1), e.g. 0.25 (0 turns dropout off).")
        check_workers(self.workers)

    def layer_list(self, params: dict) -> list:
        return cnn_layers(params, self.dropout)

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
        check_pixels(X)

    def n_classes(self, params: dict) -> int:
        return params[f"W{n_layers(params)}"].shape[1]
