"""A fully connected network: parameters, forward pass, backward pass, predictions.

Samples are rows. For layer l = 1..L, with A0 = X of shape (n, 784):

    Z_l = A_{l-1} W_l + b_l        W_l: (n_{l-1}, n_l),  b_l: (n_l,),  Z_l: (n, n_l)
    A_l = g(Z_l)                   for hidden layers (g = ReLU, sigmoid or tanh)
    A_L = softmax(Z_L)             the output layer: (n, 10) class probabilities

Backward, for the mean cross-entropy J = -(1/n) sum_i log A_L[i, y_i] and one-hot labels Y:

    dZ_L = (A_L - Y) / n
    dW_l = A_{l-1}^T dZ_l          db_l = sum over samples of dZ_l
    dA_{l-1} = dZ_l W_l^T          dZ_{l-1} = dA_{l-1} * g'(Z_{l-1})

Dropout (training only) with rate p on the hidden layers, inverted: each hidden unit is kept with
probability 1 - p and the kept ones are scaled by 1 / (1 - p), so the expected activation stays g(Z):

    D_l = M_l / (1 - p),   M_l ~ Bernoulli(1 - p) of shape (n, n_l)
    A_l = g(Z_l) * D_l                        (at test time: A_l = g(Z_l), nothing to change)
    dZ_l = (dA_l * D_l) * g'(Z_l)             backward goes through the same mask

:func:`forward` and :func:`backward` compute it step by step with the layer functions of
:mod:`nn_helpers.layers` (``dense_forward``, ``activation_forward``, ``dropout_forward``, ...), keeping every
``Z_l`` and ``A_l`` in a dict for the notebooks to look at. :class:`MLP` is the same network as a model that
:func:`nn_helpers.train` trains: the list ``Dense(1), Activation, [Dropout], ..., Dense(L)`` run by
:class:`~nn_helpers.model.Sequential`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import get_activation
from .layers import (Activation, Dense, Dropout, activation_backward, activation_forward, dense_backward,
                     dense_forward, dropout_backward, dropout_forward, dropout_mask, output_gradient)
from .losses import softmax
from .model import Sequential, check_pixels

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
    check_pixels(X, "X = to_features(images) or X / 255")


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
    get_activation(activation)                          # an unknown name: say so before any work
    L = n_layers(params)
    if dropout and masks is None:
        if rng is None:
            raise ValueError("dropout needs a random generator: pass rng=np.random.default_rng(seed).")
        masks = {l: dropout_mask((len(X), params[f"W{l}"].shape[1]), dropout, rng, params[f"W{l}"].dtype)
                 for l in range(1, L)}
    cache = {"activation": activation, "A0": X}
    A = X
    for l in range(1, L + 1):
        Z, _ = dense_forward(A, params[f"W{l}"], params[f"b{l}"])
        if l < L:
            A, _ = activation_forward(Z, activation)
            if masks:
                A, _ = dropout_forward(A, masks[l])
        else:
            A = softmax(Z)
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
    L = n_layers(params)
    dZ = output_gradient(cache[f"A{L}"], y)          # dZ_L = (A_L - Y) / n, without building Y
    grads = {}
    for l in range(L, 0, -1):
        dA, grads[f"W{l}"], grads[f"b{l}"] = dense_backward(dZ, (cache[f"A{l - 1}"], params[f"W{l}"]), need_dx=l > 1)
        if l > 1:
            if masks:
                dA = dropout_backward(dA, masks[l - 1])
            dZ = activation_backward(dA, (cache[f"Z{l - 1}"], cache["activation"]))
    return grads


def predict_proba(params: dict, X: np.ndarray, activation: str = "relu", batch_size: int = 10_000) -> np.ndarray:
    """Class probabilities ``(n, 10)``, computed in batches to bound memory."""
    return MLP(activation).predict_proba(params, X, batch_size)


def predict(params: dict, X: np.ndarray, activation: str = "relu") -> np.ndarray:
    """Predicted digit per row: argmax of the probabilities, shape (n,)."""
    return predict_proba(params, X, activation).argmax(axis=1)


#: Rows per piece of a training batch in :class:`MLP`: 1024 rows of 784 float32 pixels (3 MB) and their
#: activations stay in the CPU's cache from the forward to the backward pass.
CHUNK_ROWS = 1024


@dataclass
class MLP(Sequential):
    """The fully connected network above as a model :func:`nn_helpers.train` trains (the default one): for
    ``L`` weight layers in ``params``, the layers ``Dense(1), Activation, [Dropout], ..., Dense(L)``, softmax on
    top. ``activation`` on the hidden layers, inverted dropout of rate ``dropout`` on them during training.
    Samples are rows, X (n, 784).

    A batch larger than ``chunk_rows`` (full-batch gradient descent) runs in chunks of that many rows: J and its
    gradient are means over samples, so they are the chunks' means weighted by n_c / n, the same numbers up to
    rounding. For MNIST's 55,000 rows this is about 15% faster than one pass over them all (75 instead of 90 ms
    for a 784-10-10 step here), because each chunk is still in the cache when its backward pass needs it.
    """

    activation: str = "relu"
    dropout: float = 0.0
    chunk_rows: int = CHUNK_ROWS
    workers = 1
    predict_rows = 10_000

    def __post_init__(self):
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout={self.dropout}; expected a rate in [0, 1), e.g. 0.2 (0 turns dropout off).")
        get_activation(self.activation)

    def layer_list(self, params: dict) -> list:
        L = n_layers(params)
        layers = []
        for l in range(1, L + 1):
            layers.append(Dense(l))
            if l < L:
                layers += [Activation(self.activation)] + ([Dropout(self.dropout)] if self.dropout else [])
        return layers

    def check_input(self, params: dict, X: np.ndarray) -> None:
        check_input(params, X)

    def n_classes(self, params: dict) -> int:
        return layer_sizes(params)[-1]
