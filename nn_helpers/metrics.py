"""Accuracy, confusion matrix, per-class precision and recall."""

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
