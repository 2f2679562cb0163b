"""Accuracy, confusion matrix, per-class precision and recall, and calibration (how far the network's
confidence can be trusted)."""

from __future__ import annotations

import numpy as np


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of predictions equal to the labels: (1/n) sum_i [y_pred_i == y_true_i]."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred {y_pred.shape}; they must match.")
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """``C[i, j]`` = number of samples of true class i predicted as j; shape (n_classes, n_classes)."""
    C = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(C, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return C


def precision_recall(C: np.ndarray):
    """Per-class precision C[k,k] / sum_i C[i,k] and recall C[k,k] / sum_j C[k,j] from a confusion matrix."""
    tp = np.diag(C).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(C.sum(axis=0) > 0, tp / C.sum(axis=0), 0.0)
        recall = np.where(C.sum(axis=1) > 0, tp / C.sum(axis=1), 0.0)
    return precision, recall


def most_confident_mistakes(y_true: np.ndarray, probs: np.ndarray, k: int = 12) -> np.ndarray:
    """Indices of the ``k`` wrong predictions made with the highest probability, most confident first."""
    y_true = np.asarray(y_true)
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    confidence = probs[wrong, pred[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:k]]


def _confidence_and_correct(y_true: np.ndarray, probs: np.ndarray):
    """The top probability c_i = max_k probs[i, k] (float64) and whether its class is the label, both (n,)."""
    probs, y_true = np.asarray(probs), np.asarray(y_true)
    if probs.ndim != 2:
        raise ValueError(f"probs has shape {probs.shape}; expected (n, n_classes), one row of class "
                         f"probabilities per sample (nn.predict_proba gives it).")
    if y_true.shape != (len(probs),):
        raise ValueError(f"y_true has shape {y_true.shape} but probs {probs.shape}; expected ({len(probs)},), "
                         f"one integer label per row of probs.")
    if not np.issubdtype(y_true.dtype, np.integer):
        raise ValueError(f"y_true has dtype {y_true.dtype}; expected integer labels (not one-hot).")
    return probs.max(axis=1).astype(np.float64), probs.argmax(axis=1) == y_true


def reliability_bins(y_true: np.ndarray, probs: np.ndarray, n_bins: int = 10):
    """The numbers of a reliability diagram: the samples grouped by their confidence, and per group the
    mean confidence against the accuracy.

    y_true: (n,) integer labels; probs: (n, K) predicted probabilities. The confidence of sample i is
    c_i = max_k probs[i, k]; bin m (m = 1..M, M = ``n_bins``) holds the samples with
    (m - 1)/M < c_i <= m/M (a confidence of exactly 0 goes to bin 1). For each bin B_m:

        confidence_m = (1/|B_m|) sum_{i in B_m} c_i
        accuracy_m   = (1/|B_m|) sum_{i in B_m} [argmax_k probs[i, k] == y_i]

    Returns ``(edges, confidence, accuracy, counts)``: the M + 1 bin edges 0, 1/M, ..., 1, and three
    (M,) arrays; confidence and accuracy are NaN in an empty bin, counts are the |B_m|. A perfectly
    calibrated network has accuracy_m = confidence_m in every bin.
    """
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins={n_bins!r}; expected a whole number of bins, at least 1 (10 or 15 are usual).")
    n_bins = int(n_bins)
    c, correct = _confidence_and_correct(y_true, probs)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bin_of = np.digitize(c, edges[1:-1], right=True)       # edges[m-1] < c <= edges[m]  ->  m - 1 (0-based)
    counts = np.bincount(bin_of, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(bin_of, weights=c, minlength=n_bins) / counts
        accuracy = np.bincount(bin_of, weights=correct, minlength=n_bins) / counts
    return edges, confidence, accuracy, counts


def expected_calibration_error(y_true: np.ndarray, probs: np.ndarray, n_bins: int = 10) -> float:
    """The expected calibration error (ECE): the gap between accuracy and confidence, bin by bin,
    weighted by the share of samples in each bin (the bins of :func:`reliability_bins`):

        ECE = sum_m (|B_m| / n) |accuracy_m - confidence_m|

    y_true: (n,) integer labels; probs: (n, K). 0 for a perfectly calibrated network; at most 1.
    Empty bins count 0.
    """
    _, confidence, accuracy, counts = reliability_bins(y_true, probs, n_bins)
    filled = counts > 0
    return float(np.sum(counts[filled] / counts.sum() * np.abs(accuracy[filled] - confidence[filled])))
