"""The checkers of notebook 07: evaluation."""

from __future__ import annotations

import numpy as np

from ..losses import softmax as _softmax
from ..metrics import (confusion_matrix as _confusion_matrix, most_confident_mistakes as _mcm,
                      precision_recall as _precision_recall)
from ._core import _rng, _run, against


def confusion_matrix(fn) -> bool:
    """``fn(y_true, y_pred, n_classes=10)``: ``C[k, k']`` = number of samples of class k predicted as k'."""
    rng = _rng(12)
    cases = [("50 random labels", (rng.integers(0, 10, 50), rng.integers(0, 10, 50))),
             ("the same (true, predicted) pair 3 times", (np.array([3, 3, 3, 1]), np.array([5, 5, 5, 1]))),
             ("labels without a 9", (np.array([0, 1, 2, 2, 8]), np.array([0, 2, 2, 1, 8]))),
             ("a batch of 1", (np.array([4]), np.array([7])))]

    def fancy(t, p, k=10):
        C = np.zeros((k, k), dtype=int)
        C[t, p] += 1
        return C

    def from_labels(t, p, k=10):
        k = max(t.max(), p.max()) + 1
        return _confusion_matrix(t, p, k)

    def histogram(t, p, k=10):
        return np.histogram2d(t, p, bins=k)[0]

    def normalised(t, p, k=10):
        C = _confusion_matrix(t, p, k).astype(float)
        return C / np.maximum(C.sum(axis=1, keepdims=True), 1)

    def bincount(t, p, k=10):
        return np.bincount(t * k + p).reshape(k, k)

    mistakes = [
        (lambda t, p, k=10: _confusion_matrix(t, p, k).T, "rows and columns are swapped: C[k, k'] counts "
                                                           "TRUE class k predicted as k', C[y_true, y_pred]"),
        (fancy, "each (true, predicted) pair is counted once however often it occurs: C[y_true, y_pred] += 1 "
                "does not add up repeats (NumPy's fancy indexing), and C[t, p] = 1 sets instead of adding. "
                "The samples must be added one by one, by a loop with += 1 or by an unbuffered add"),
        (from_labels, "the size comes from the labels present: a batch without a 9 gives a smaller matrix. "
                      "Use n_classes x n_classes"),
        (histogram, "the bins of np.histogram2d: it spreads its n_classes bins over the range of the labels in the batch (from "
                    "the smallest to the largest), not over the classes 0 .. n_classes - 1: count by the integer "
                    "labels themselves"),
        (normalised, "each row is divided by its sum: the confusion matrix counts images (whole numbers); "
                     "precision and recall divide later"),
        (bincount, "np.bincount returns only as many counts as the largest index it sees, so it cannot be "
                   "reshaped to n_classes x n_classes when the last pairs are missing: give it "
                   "minlength=n_classes ** 2"),
    ]
    return _run("confusion_matrix", fn, cases, against(lambda t, p, k=10: _confusion_matrix(t, p, k), mistakes),
                "nn.confusion_matrix")


def precision_recall(fn) -> bool:
    """``fn(C)`` -> ``(precision, recall)``, per class, from a confusion matrix (0 where a class is empty)."""
    rng = _rng(13)
    full = _confusion_matrix(rng.integers(0, 10, 200), rng.integers(0, 10, 200))
    never = _confusion_matrix(np.array([0, 1, 1, 2, 3, 3, 4]), np.array([0, 1, 0, 2, 3, 1, 4]))  # 5-9 empty
    cases = [("a 10 x 10 matrix", (full,)), ("3 classes", (np.array([[5, 1, 0], [2, 7, 1], [0, 3, 4]]),)),
             ("digits that never occur (empty rows and columns)", (never,))]

    def nan_variant(C):
        tp = np.diag(C).astype(float)
        return tp / C.sum(axis=0), tp / C.sum(axis=1)

    def safe(top, bottom, empty=0.0):
        top, bottom = np.asarray(top, dtype=float), np.asarray(bottom, dtype=float)
        return np.divide(top, bottom, out=np.full_like(top, empty), where=bottom > 0)

    def mistakes_only(C):
        tp = np.diag(C)
        return safe(tp, C.sum(axis=0) - tp), safe(tp, C.sum(axis=1) - tp)

    def integer_division(C):
        tp, called, actual = np.diag(C), C.sum(axis=0), C.sum(axis=1)
        return np.where(called > 0, tp // np.maximum(called, 1), 0), np.where(actual > 0, tp // np.maximum(actual, 1), 0)

    def averaged(C):
        return tuple(x.mean() for x in _precision_recall(C))

    def empty_is_one(C):
        tp = np.diag(C)
        return safe(tp, C.sum(axis=0), 1.0), safe(tp, C.sum(axis=1), 1.0)

    mistakes = [
        (lambda C: _precision_recall(C)[::-1], "precision and recall are swapped: precision divides by the "
                                                "column sum (all images called k), recall by the row sum "
                                                "(all images that are k)"),
        (lambda C: (np.diag(C) / C.sum(axis=1), np.diag(C) / C.sum(axis=1)),
         "both divide by the row sums: precision divides by the column sums, C.sum(axis=0)"),
        (lambda C: (np.diag(C) / C.sum(axis=0), np.diag(C) / C.sum(axis=0)),
         "both divide by the column sums: recall divides by the row sums, C.sum(axis=1)"),
        (lambda C: (np.diag(C) / C.sum(), np.diag(C) / C.sum()), "it divides by the total count: precision "
                                                                 "divides by each column's sum, recall by "
                                                                 "each row's sum"),
        (nan_variant, "a class that is never predicted (or never occurs) gives 0 / 0 = nan: report 0 there, "
                      "dividing only where the sum is above 0"),
        (mistakes_only, "it divides the correct counts by the mistakes only: precision divides by everything "
                        "called k, the correct ones included (the whole column sum), recall by the whole row sum"),
        (integer_division, "integer division: // of two counts rounds down to 0 (or 1); divide with / (or "
                           "np.divide) to get fractions"),
        (lambda C: (np.trace(C) / C.sum(),) * 2, "one number for all classes, the accuracy: precision and recall "
                                                 "are per class, one value per digit (arrays of length K)"),
        (averaged, "the per-class values are averaged into one number: return the arrays, one value per class"),
        (empty_is_one, "a class that is never predicted (or never occurs) gets 1: the task asks for 0 there"),
    ]
    return _run("precision_recall", fn, cases, against(_precision_recall, mistakes), "nn.precision_recall")


def most_confident_mistakes(fn) -> bool:
    """``fn(y_true, probs, k)``: indices of the k wrong predictions with the highest probability, highest first."""
    def case(n, seed, k):
        rng = _rng(seed)
        return rng.integers(0, 10, n), _softmax(rng.normal(0, 3, (n, 10))), k

    cases = [("40 samples, k=5", case(40, 14, 5)), ("200 samples, k=12", case(200, 15, 12)),
             ("6 samples, k=3", case(6, 16, 3))]

    def variant(kind):
        def mcm(y, P, k):
            pred = P.argmax(axis=1)
            wrong = np.flatnonzero(pred != y) if kind != "all" else np.arange(len(y))
            conf = P[wrong, y[wrong]] if kind == "true class" else P[wrong, pred[wrong]]
            order = np.argsort(conf if kind == "ascending" else -conf, kind="stable")[:k]
            return order if kind == "positions" else wrong[order]
        return mcm

    def top_k_ascending(y, P, k):
        pred = P.argmax(axis=1)
        wrong = np.flatnonzero(pred != y)
        return wrong[np.argsort(P[wrong, pred[wrong]], kind="stable")[-k:]]    # the top k, least confident first

    def all_mistakes(y, P, k):
        return _mcm(y, P, len(y))

    def confidences(y, P, k):
        idx = _mcm(y, P, k)
        return P[idx, P[idx].argmax(axis=1)]

    def by_index(y, P, k):
        return np.sort(_mcm(y, P, k))

    def lowest_true(y, P, k):
        pred = P.argmax(axis=1)
        wrong = np.flatnonzero(pred != y)
        return wrong[np.argsort(P[wrong, y[wrong]], kind="stable")[:k]]

    mistakes = [
        (variant("ascending"), "these are the LEAST confident mistakes: np.argsort sorts ascending, so sort "
                               "minus the confidence to get the most confident first"),
        (top_k_ascending, "these are the k most confident mistakes, but the least confident of them comes first: "
                          "the last k of an ascending sort must also be reversed, most confident first"),
        (all_mistakes, "every mistake is returned: keep only the first k of the sorted mistakes"),
        (confidences, "these are the probabilities of the mistakes, not their indices: return the sample "
                      "indices, ordered by those probabilities"),
        (by_index, "the right k samples, but in the order of their indices: order them by confidence, most "
                   "confident first (np.sort sorts the indices themselves)"),
        (lowest_true, "it ranks by how little probability the true class got: rank by the probability the "
                      "network gave its own (wrong) answer, the predicted class"),
        (variant("all"), "correct predictions are ranked too: keep only the mistakes, pred != y_true"),
        (variant("true class"), "it ranks by the probability of the true class: rank by the probability the "
                                "network gave its own (wrong) answer, the predicted class"),
        (variant("positions"), "these are positions in the list of mistakes, not indices of samples: "
                               "map them back through the array of the mistakes' sample indices"),
    ]
    return _run("most_confident_mistakes", fn, cases, against(_mcm, mistakes), "nn.most_confident_mistakes")
