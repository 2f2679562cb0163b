"""Activation functions g(Z) and their derivatives g'(Z), applied element-wise.

Each derivative takes the pre-activation ``Z`` (the same array the activation was applied to),
so backpropagation computes ``dZ = dA * g'(Z)``.
"""

from __future__ import annotations

import numpy as np


def relu(Z: np.ndarray) -> np.ndarray:
    """ReLU(z) = max(0, z)."""
    return np.maximum(Z, 0)


def relu_grad(Z: np.ndarray) -> np.ndarray:
    """ReLU'(z) = 1 if z > 0 else 0 (we take 0 at z = 0)."""
    return (Z > 0).astype(Z.dtype)


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """sigma(z) = 1 / (1 + e^-z), written as (1 + tanh(z/2)) / 2, which never overflows."""
    return 0.5 * (1 + np.tanh(0.5 * Z))


def sigmoid_grad(Z: np.ndarray) -> np.ndarray:
    """sigma'(z) = sigma(z) (1 - sigma(z))."""
    s = sigmoid(Z)
    return s * (1 - s)


def tanh(Z: np.ndarray) -> np.ndarray:
    """tanh(z) = (e^z - e^-z) / (e^z + e^-z)."""
    return np.tanh(Z)


def tanh_grad(Z: np.ndarray) -> np.ndarray:
    """tanh'(z) = 1 - tanh(z)^2."""
    return 1 - np.tanh(Z) ** 2


#: name -> (g, g')
ACTIVATIONS = {
    "relu": (relu, relu_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
}


def get_activation(name: str):
    """Return ``(g, g_prime)`` for an activation name."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"activation={name!r}; expected one of {sorted(ACTIVATIONS)}.") from None
