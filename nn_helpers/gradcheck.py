"""Gradient checking: compare backpropagation with central finite differences.

For each parameter entry theta_j, with a step h (notebooks/NOTATION.md):

    dJ/dtheta_j ~ (J(theta + h e_j) - J(theta - h e_j)) / (2 h)        error O(h^2)

and the two gradients agree when the relative error

    ||g_num - g_backprop|| / (||g_num|| + ||g_backprop||)

is tiny: below 1e-7 is right in float64; 1e-2 or more is a bug.
"""

from __future__ import annotations

import numpy as np

from .losses import cross_entropy
from .network import backward, forward


def loss_fn(params: dict, X: np.ndarray, y: np.ndarray, activation: str = "relu", masks: dict | None = None) -> float:
    """Mean cross-entropy J of the network on ``(X, y)`` (with fixed dropout ``masks``, if given)."""
    return cross_entropy(forward(params, X, activation, check=False, masks=masks)[0], y)


def numerical_gradient(params: dict, X, y, activation: str = "relu", h: float = 1e-6,
                       max_entries: int | None = None, seed: int = 0, masks: dict | None = None) -> tuple[dict, dict]:
    """Central-difference gradient of :func:`loss_fn` with step ``h``.

    Checks every entry, or ``max_entries`` random entries per parameter (faster for big layers).
    Returns ``(grads, index)``: for each key the numerical derivatives and the flat indices checked.
    """
    rng = np.random.default_rng(seed)
    grads, index = {}, {}
    for key, p in params.items():
        flat = p.reshape(-1)  # a view: changing flat[i] changes params[key]
        idx = np.arange(flat.size)
        if max_entries is not None and flat.size > max_entries:
            idx = np.sort(rng.choice(flat.size, max_entries, replace=False))
        g = np.empty(idx.size)
        for j, i in enumerate(idx):
            old = flat[i]
            flat[i] = old + h
            plus = loss_fn(params, X, y, activation, masks)
            flat[i] = old - h
            minus = loss_fn(params, X, y, activation, masks)
            flat[i] = old
            g[j] = (plus - minus) / (2 * h)
        grads[key], index[key] = g, idx
    return grads, index


def numerical_vjp(f, x: np.ndarray, dout: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference vector-Jacobian product of an array function ``out = f(x)`` with an upstream
    gradient ``dout`` (the shape of ``out``): the gradient of ``sum(f(x) * dout)`` with respect to ``x``,

        dx_j ~ sum((f(x + h e_j) - f(x - h e_j)) * dout) / (2 h)

    the number a backward pass ``dx = backward(dout, cache)`` must return for every entry j of ``x``
    (changed in place and put back). Use float64 arrays; ``f`` may close over the layer's other inputs.
    """
    dx = np.zeros(x.shape, dtype=np.float64)
    flat, dflat = x.reshape(-1), dx.reshape(-1)      # views: changing flat[j] changes x
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + h
        plus = np.sum(f(x) * dout)
        flat[j] = old - h
        minus = np.sum(f(x) * dout)
        flat[j] = old
        dflat[j] = (plus - minus) / (2 * h)
    return dx


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||), 0 when both are 0."""
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else 0.0


def gradient_check(params: dict, X: np.ndarray, y: np.ndarray, activation: str = "relu",
                   h: float = 1e-6, max_entries: int | None = None, seed: int = 0,
                   backward_fn=backward, per_param: bool = False, masks: dict | None = None):
    """Relative error between ``backward_fn`` (default: :func:`nn_helpers.backward`) and central
    finite differences with step ``h``, over all parameters together.

    Use float64 parameters and inputs: in float32 rounding alone gives errors around 1e-3.
    ``backward_fn(params, cache, y)`` lets you check your own (or a deliberately broken) backward pass.
    With ``per_param=True`` returns ``(error, {key: error})``. ``masks``: dropout masks to hold fixed
    (``cache["masks"]`` of a forward pass with dropout), so the function being differentiated is one
    thinned network rather than a random one.
    """
    if any(p.dtype != np.float64 for p in params.values()):
        raise ValueError("gradient_check needs float64 parameters; use init_params(..., dtype=np.float64).")
    X = np.asarray(X, dtype=np.float64)
    params = {k: v.copy() for k, v in params.items()}
    _, cache = forward(params, X, activation, masks=masks)
    analytic = backward_fn(params, cache, y)
    numeric, index = numerical_gradient(params, X, y, activation, h, max_entries, seed, masks)
    a = np.concatenate([analytic[k].reshape(-1)[index[k]] for k in params])
    b = np.concatenate([numeric[k] for k in params])
    error = relative_error(a, b)
    if per_param:
        return error, {k: relative_error(analytic[k].reshape(-1)[index[k]], numeric[k]) for k in params}
    return error
