"""Optimizers: they turn gradients into parameter updates, in place.

With gradient g of a parameter theta, learning rate eta, and optional L2 weight decay lambda applied to
the weights (not the biases): g <- g + lambda theta. The step number t counts from 1. The names follow
notebooks/NOTATION.md: u (``velocity``) is momentum's velocity, m and v are Adam's moments.

    SGD:       theta <- theta - eta g
    Momentum:  u <- beta u + g;                      theta <- theta - eta u
    Adam:      m <- beta1 m + (1 - beta1) g;         v <- beta2 v + (1 - beta2) g^2
               m_hat = m / (1 - beta1^t);            v_hat = v / (1 - beta2^t)
               theta <- theta - eta m_hat / (sqrt(v_hat) + eps)

Learning-rate schedules change eta as training goes: :func:`cosine_lr` once an epoch, :func:`onecycle_lr`
before every step (up from eta_max / 25 to eta_max, then down to nearly 0).
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
        self.t = 0                  # the number of steps taken; step() makes it 1 for the first step

    def step(self, params: dict, grads: dict) -> None:
        """Update every parameter in ``params`` in place from ``grads`` (same keys)."""
        self.t += 1
        for key, g in grads.items():
            theta = params[key]
            if self.weight_decay and key.startswith("W"):
                g = g + self.weight_decay * theta
            self.update(key, theta, g)

    def update(self, key: str, theta: np.ndarray, g: np.ndarray) -> None:
        """Move the parameter array ``theta`` (any shape) in place, given its gradient ``g`` (same shape)."""
        raise NotImplementedError

    def __repr__(self):
        fields = ", ".join(f"{name}={value}" for name, value in vars(self).items() if name not in ("state", "t"))
        return f"{type(self).__name__}({fields})"


class SGD(Optimizer):
    """Plain (stochastic) gradient descent: theta <- theta - eta g."""

    def __init__(self, lr: float = 0.1, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)

    def update(self, key, theta, g):
        theta -= self.lr * g


class Momentum(Optimizer):
    """SGD with momentum: u <- beta u + g; theta <- theta - eta u (the form PyTorch uses).

    The velocity u of each parameter is kept in ``state[key]``, zeros before the first step. Along a
    direction where the gradient stays the same, u grows to g / (1 - beta): with beta = 0.9 the step is
    ten times the plain step at the same lr.
    """

    def __init__(self, lr: float = 0.1, beta: float = 0.9, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.beta = beta

    def update(self, key, theta, g):
        velocity = self.state.get(key)
        if velocity is None:
            velocity = self.state[key] = np.zeros_like(theta)
        velocity *= self.beta
        velocity += g
        theta -= self.lr * velocity


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): per-parameter step sizes from running moments of the gradient.

    ``state[key]`` holds the pair (m, v) of each parameter, zeros before the first step; ``t`` is the step
    number, counted from 1, of the bias corrections 1 - beta1^t and 1 - beta2^t.
    """

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def update(self, key, theta, g):
        if key not in self.state:
            self.state[key] = (np.zeros_like(theta), np.zeros_like(theta))
        m, v = self.state[key]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        m_hat = m / (1 - self.beta1**self.t)
        v_hat = v / (1 - self.beta2**self.t)
        theta -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def cosine_lr(lr0: float, epoch: int, epochs: int) -> float:
    """Cosine learning-rate schedule: eta_e = eta_0 (1 + cos(pi (e - 1) / E)) / 2 for epoch e = 1..E.

    Starts at eta_0 and glides towards 0, so the last epochs take small, careful steps.
    """
    return lr0 * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))


#: The one-cycle schedule's settings (PyTorch's ``OneCycleLR`` defaults): the share of the steps spent warming
#: up, and eta_max / eta_start, eta_start / eta_end.
ONECYCLE_WARMUP, ONECYCLE_DIV, ONECYCLE_FINAL_DIV = 0.3, 25.0, 1e4


def onecycle_lr(lr_max: float, step: int, total_steps: int, warmup: float = ONECYCLE_WARMUP,
                div: float = ONECYCLE_DIV, final_div: float = ONECYCLE_FINAL_DIV) -> float:
    """One-cycle learning-rate schedule (Smith & Topin, 2018; PyTorch's ``OneCycleLR`` with cosine annealing),
    set before every step (not every epoch). For step t = 0..T-1 of T, with T_up = warmup (T - 1) steps of
    warm-up, eta_0 = eta_max / div and eta_end = eta_0 / final_div:

        t <= T_up:  eta_t = eta_0 + (eta_max - eta_0) (1 - cos(pi t / T_up)) / 2          (rises to eta_max)
        t >  T_up:  eta_t = eta_end + (eta_max - eta_end) (1 + cos(pi (t - T_up) / (T - 1 - T_up))) / 2

    The small start lets Adam's moment estimates and batch norm's statistics settle before the large steps;
    the long glide towards eta_end (nearly 0) then settles the weights. ``lr_max`` is the peak eta_max, e.g.
    0.01 for Adam with batch norm (``--recipe fast``).
    """
    if total_steps < 1 or not 0 <= step < total_steps:
        raise ValueError(f"step={step}, total_steps={total_steps}; expected 0 <= step < total_steps.")
    if not 0 < warmup < 1:
        raise ValueError(f"warmup={warmup}; expected the share of the steps spent warming up, in (0, 1), e.g. 0.3.")
    lr0 = lr_max / div
    lr_end = lr0 / final_div
    up = warmup * (total_steps - 1)
    if step <= up:
        frac = step / up if up > 0 else 1.0
        return lr0 + (lr_max - lr0) * 0.5 * (1 - math.cos(math.pi * frac))
    frac = (step - up) / (total_steps - 1 - up)
    return lr_end + (lr_max - lr_end) * 0.5 * (1 + math.cos(math.pi * frac))


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
