"""The checkers of notebook 03: softmax and cross-entropy."""

from __future__ import annotations

import numpy as np

from ..losses import cross_entropy as _cross_entropy, one_hot as _one_hot, softmax as _softmax
from ._core import _ce_case, _rng, _run, against


def _softmax_naive(Z):
    return np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)


def softmax(fn) -> bool:
    """``fn(Z)``: row-wise probabilities ``(n, k)`` from logits ``(n, k)``, without overflow."""
    rng = _rng(3)
    cases = [("logits of shape (4, 10)", (rng.normal(0, 3, (4, 10)),)),
             ("a batch of 1 row", (rng.normal(0, 3, (1, 10)),)),
             ("logits of shape (6, 3)", (rng.normal(0, 3, (6, 3)),)),
             ("large logits (up to 1000)", (900 + rng.normal(0, 50, (5, 10)),)),
             ("rows far apart (one near +1000, one near -1000)",
              (np.array([[1000.0, 999.0, 990.0], [-1000.0, -1001.0, -1003.0]]),))]
    mistakes = [
        (_softmax_naive, "it overflows on large logits: np.exp(1000) is inf, and inf / inf is nan. Subtract "
                         "each row's maximum first, np.exp(Z - Z.max(axis=1, keepdims=True)): the "
                         "probabilities do not change"),
        (lambda Z: _softmax(Z.T).T, "it normalises over the wrong axis: the columns sum to 1, not the rows. "
                                    "Take max and sum with axis=1, keepdims=True"),
        (lambda Z: np.exp(Z) / np.exp(Z).sum(axis=0, keepdims=True),
         "it normalises over the wrong axis (axis=0: the columns sum to 1, not the rows), and it overflows on "
         "large logits. Use axis=1 and subtract each row's maximum"),
        (lambda Z: np.exp(Z - Z.max()) / np.exp(Z - Z.max()).sum(),
         "it divides by the sum over the whole batch (np.sum without axis=): only the total is 1, not each "
         "row. Use .sum(axis=1, keepdims=True)"),
        (lambda Z: np.exp(Z) / np.exp(Z).sum(), "it divides by the sum over the whole batch (np.sum without "
                                                "axis=) and overflows on large logits. Use .sum(axis=1, "
                                                "keepdims=True) and subtract each row's maximum"),
        (lambda Z: np.exp(Z - Z.max()) / np.exp(Z - Z.max()).sum(axis=1, keepdims=True),
         "it subtracts the maximum of the whole batch, Z.max(), not of each row: a row far below it "
         "underflows to 0 / 0 = nan. Use Z.max(axis=1, keepdims=True)"),
        (lambda Z: np.exp(Z - Z.max(axis=1)) / np.exp(Z - Z.max(axis=1)).sum(axis=1),
         "a row statistic without keepdims=True has shape (n,), which NumPy lines up with the columns, not "
         "the rows: use Z.max(axis=1, keepdims=True) and .sum(axis=1, keepdims=True)"),
        (lambda Z: np.exp(Z) / np.exp(Z).sum(axis=1),
         "a row sum without keepdims=True has shape (n,), which NumPy lines up with the columns, not the "
         "rows: use .sum(axis=1, keepdims=True)"),
        (lambda Z: (lambda E: E / E.sum(axis=1))(np.exp(Z - Z.max(axis=1, keepdims=True))),
         "the row sum without keepdims=True has shape (n,), which NumPy lines up with the columns, not the "
         "rows: use .sum(axis=1, keepdims=True)"),
    ]
    return _run("softmax", fn, cases, against(_softmax, mistakes), "nn.softmax")


def one_hot(fn) -> bool:
    """``fn(y, n_classes=10)``: labels ``(n,)`` -> one-hot matrix ``(n, n_classes)``."""
    cases = [("y = [3, 0, 9]", (np.array([3, 0, 9]),)), ("a batch of 1 label", (np.array([7]),)),
             ("labels without a 9 (y = [1, 1, 4, 0, 2])", (np.array([1, 1, 4, 0, 2]),)),
             ("12 labels", (_rng(4).integers(0, 10, 12),)),
             ("n_classes=3", (np.array([2, 0, 1, 2]), 3))]

    def cols(y, k=10):
        Y = np.zeros((len(y), k))
        Y[:, y] = 1
        return Y

    mistakes = [
        (lambda y, k=10: _one_hot(y, k).T, "shapes transposed: Y must be (n, n_classes), one row per label"),
        (cols, "Y[:, y] = 1 sets whole columns: set one entry per row, Y[np.arange(n), y] = 1"),
        (lambda y, k=10: np.eye(y.max() + 1)[y], "the width comes from the largest label: a batch without a 9 "
                                                 "gets fewer columns. Use n_classes: np.eye(n_classes)[y]"),
    ]
    return _run("one_hot", fn, cases, against(lambda y, k=10: _one_hot(y, k), mistakes), "nn.one_hot")


def cross_entropy(fn) -> bool:
    """``fn(probs, y)``: the mean cross-entropy, a float, of probabilities ``(n, k)`` and labels ``(n,)``."""
    cases = [("5 samples, 10 classes", _ce_case(5, 10, 5)), ("a batch of 1", _ce_case(1, 10, 6)),
             ("8 samples, 3 classes", _ce_case(8, 3, 7))]
    pick = lambda P, y: P[np.arange(len(y)), y]
    mistakes = [
        (lambda P, y: -np.sum(np.log(pick(P, y))), "the losses are summed, not averaged: divide by the number "
                                                   "of samples (np.mean), or the loss and the step size grow "
                                                   "with the batch size"),
        (lambda P, y: -np.log(pick(P, y)), "it returns one loss per sample: average them into one number"),
        (lambda P, y: -np.mean(_one_hot(y, P.shape[1]) * np.log(P)),
         "it averages over all n * k entries of Y * log(P), which divides by k too: sum over the classes, "
         "average over the samples"),
        (lambda P, y: -np.mean(np.log(P[:, y])), "P[:, y] picks whole columns (an n x n block): pick one entry "
                                                 "per row, P[np.arange(n), y]"),
        (lambda P, y: np.mean(np.log(pick(P, y))), "the sign is wrong: the loss is MINUS the log-probability "
                                                   "of the right class, so it is >= 0"),
        (lambda P, y: -np.mean(np.log(P)), "it averages the log of every probability: only the probability "
                                           "of the correct class counts, P[np.arange(n), y]"),
        (lambda P, y: np.mean(-np.log(P[:, 0])), "it uses the first column instead of the correct class: "
                                                 "P[np.arange(n), y]"),
    ]
    return _run("cross_entropy", fn, cases, against(_cross_entropy, mistakes), "nn.cross_entropy")
