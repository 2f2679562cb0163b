"""Softmax, cross-entropy and one-hot encoding.

For logits ``Z`` of shape ``(n, K)`` (one row per sample, one column per class):

    softmax(Z)[i, k] = exp(Z[i, k]) / sum_j exp(Z[i, j])
    cross_entropy    = -(1/n) sum_i log P[i, y_i]
"""

from __future__ import annotations

import numpy as np


def logsumexp(Z: np.ndarray) -> np.ndarray:
    """log(sum_j exp(Z[i, j])) per row, computed as m + log(sum_j exp(Z[i, j] - m)), m = max_j Z[i, j].

    Shape ``(n, K) -> (n,)``. Subtracting the row maximum keeps every exponent <= 0, so nothing overflows.
    """
    m = Z.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(Z - m).sum(axis=1, keepdims=True)))[:, 0]


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for logits of any size: exp(Z - max Z) / sum exp(Z - max Z).

    Shape ``(n, K) -> (n, K)``; each row is a probability distribution.
    """
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    E /= E.sum(axis=1, keepdims=True)
    return E


def one_hot(y: np.ndarray, n_classes: int = 10, dtype=np.float32) -> np.ndarray:
    """Labels ``(n,)`` -> one-hot matrix ``Y`` of shape ``(n, n_classes)`` with ``Y[i, y_i] = 1``."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y has shape {y.shape}; expected a 1-D array of labels (n,).")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels range from {y.min()} to {y.max()}; expected 0..{n_classes - 1}.")
    Y = np.zeros((y.size, n_classes), dtype=dtype)
    Y[np.arange(y.size), y] = 1
    return Y


def cross_entropy(probs: np.ndarray, y: np.ndarray, eps: float = 1e-12) -> float:
    """Mean cross-entropy -(1/n) sum_i log P[i, y_i] of probabilities ``(n, K)`` and labels ``(n,)``.

    ``eps`` guards log(0) for a probability that underflowed to zero.
    """
    probs, y = np.asarray(probs), np.asarray(y)
    if probs.ndim != 2 or y.shape != (probs.shape[0],):
        raise ValueError(f"probs has shape {probs.shape} and y {y.shape}; expected (n, K) and (n,).")
    p = probs[np.arange(len(y)), y]
    return float(-np.mean(np.log(np.maximum(p, eps))))


def cross_entropy_from_logits(Z: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy straight from logits, via log-softmax = Z - logsumexp(Z): exact even when a
    probability would underflow to 0."""
    return float(np.mean(logsumexp(Z) - Z[np.arange(len(y)), y]))
