"""Optimizers: they turn gradients into parameter updates, in place.

With gradient g of a parameter p, learning rate eta, and optional L2 weight decay lambda applied to
the weights (not the biases): g <- g + lambda p.

    SGD:       p <- p - eta g
    Momentum:  v <- beta v + g;              p <- p - eta v
    Adam:      m <- b1 m + (1 - b1) g;       v <- b2 v + (1 - b2) g^2
               m_hat = m / (1 - b1^t);       v_hat = v / (1 - b2^t)
               p <- p - eta m_hat / (sqrt(v_hat) + eps)
"""

from __future__ import annotations

import math

import numpy as np


class Optimizer:
    """Base class: subclasses implement :meth:`update` for one parameter array."""

    def __init__(self, lr: float, weight_decay: float = 0.0):
        if not lr > 0:
            raise ValueError(f"lr={lr}; the learning rate must be positive (try 0.1 for SGD, 0.001 for Adam).")
        if weight_decay < 0:
            raise ValueError(f"weight_decay={weight_decay}; expected >= 0.")
        self.lr, self.weight_decay = lr, weight_decay
        self.state: dict = {}
        self.t = 0

    def step(self, params: dict, grads: dict) -> None:
        """Update every parameter in ``params`` in place from ``grads`` (same keys)."""
        self.t += 1
        for key, g in grads.items():
            p = params[key]
            if self.weight_decay and key.startswith("W"):
                g = g + self.weight_decay * p
            self.update(key, p, g)

    def update(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def __repr__(self):
        fields = ", ".join(f"{k}={v}" for k, v in vars(self).items() if k not in ("state", "t"))
        return f"{type(self).__name__}({fields})"


class SGD(Optimizer):
    """Plain (stochastic) gradient descent: p <- p - eta g."""

    def __init__(self, lr: float = 0.1, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)

    def update(self, key, p, g):
        p -= self.lr * g


class Momentum(Optimizer):
    """SGD with momentum: v <- beta v + g; p <- p - eta v (the form PyTorch uses)."""

    def __init__(self, lr: float = 0.1, beta: float = 0.9, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.beta = beta

    def update(self, key, p, g):
        v = self.state.get(key)
        if v is None:
            v = self.state[key] = np.zeros_like(p)
        v *= self.beta
        v += g
        p -= self.lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): per-parameter step sizes from running moments of the gradient."""

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def update(self, key, p, g):
        if key not in self.state:
            self.state[key] = (np.zeros_like(p), np.zeros_like(p))
        m, v = self.state[key]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        m_hat = m / (1 - self.beta1**self.t)
        v_hat = v / (1 - self.beta2**self.t)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def cosine_lr(lr0: float, epoch: int, epochs: int) -> float:
    """Cosine learning-rate schedule: eta_e = eta_0 (1 + cos(pi (e - 1) / E)) / 2 for epoch e = 1..E.

    Starts at eta_0 and glides towards 0, so the last epochs take small, careful steps.
    """
    return lr0 * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


def make_optimizer(name: str, lr: float | None = None, **kwargs) -> Optimizer:
    """Build an optimizer by name ("sgd", "momentum", "adam"); ``lr=None`` keeps its default."""
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"optimizer={name!r}; expected one of {sorted(OPTIMIZERS)}.") from None
    if lr is not None:
        kwargs["lr"] = lr
    return cls(**kwargs)
