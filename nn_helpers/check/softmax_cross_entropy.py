"""The checkers of notebook 03: softmax and cross-entropy."""

from __future__ import annotations

import numpy as np

from ..losses import cross_entropy as _cross_entropy, one_hot as _one_hot, softmax as _softmax
from ._core import _ce_case, _rng, _run, _source_uses, against


def _softmax_naive(Z):
    return np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)


def softmax(fn) -> bool:
    """``fn(Z)``: row-wise probabilities ``(n, K)`` from logits ``(n, K)``, without overflow."""
    rng = _rng(3)
    cases = [("logits of shape (4, 10)", (rng.normal(0, 3, (4, 10)),)),
             ("a batch of 1 row", (rng.normal(0, 3, (1, 10)),)),
             ("logits of shape (6, 3)", (rng.normal(0, 3, (6, 3)),)),
             ("large logits (up to 1000)", (900 + rng.normal(0, 50, (5, 10)),)),
             ("rows far apart (one near +1000, one near -1000)",
              (np.array([[1000.0, 999.0, 990.0], [-1000.0, -1001.0, -1003.0]]),)),
             ("a row spread wide (1000, 0, -1000)", (np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]]),))]
    stable = lambda E: E / E.sum(axis=1, keepdims=True)
    mistakes = [
        (lambda Z: stable(np.exp(Z - Z.min(axis=1, keepdims=True))),
         "it subtracts each row's minimum: the largest exponent is then the row's spread, which overflows for a "
         "wide row. Subtract each row's maximum, so that every exponent is at most 0"),
        (lambda Z: stable(np.exp(Z - Z.mean(axis=1, keepdims=True))),
         "it subtracts each row's mean: the largest exponent can still be far above 0 and overflow for a wide "
         "row. Subtract each row's maximum, so that every exponent is at most 0"),
        (_softmax_naive, "it overflows on large logits: np.exp(1000) is inf, and inf / inf is nan. Softmax does "
                         "not change when every logit of a row shifts by the same number: shift each row so "
                         "that its largest logit is 0 before the exponential"),
        (lambda Z: stable(np.exp(Z - Z.max(axis=1, keepdims=True)).T).T,
         "each row is shifted by its own maximum, right, but the sum runs down the columns (axis=0): the columns "
         "sum to 1, not the rows. The sum belongs to each row too, axis=1"),
        (lambda Z: _softmax(Z.T).T, "it normalises over the wrong axis: the columns sum to 1, not the rows. "
                                    "The max and the sum belong to each row, axis 1"),
        (lambda Z: np.exp(Z) / np.exp(Z).sum(axis=0, keepdims=True),
         "it normalises over the wrong axis (axis=0: the columns sum to 1, not the rows), and it overflows on "
         "large logits: sum over each row, and shift each row by its largest logit first"),
        (lambda Z: np.exp(Z - Z.max()) / np.exp(Z - Z.max()).sum(),
         "it divides by the sum over the whole batch (np.sum without axis=): only the total is 1, not each "
         "row. Each row needs its own sum"),
        (lambda Z: np.exp(Z) / np.exp(Z).sum(), "it divides by the sum over the whole batch (np.sum without "
                                                "axis=) and overflows on large logits: each row needs its "
                                                "own sum, and a shift by its own largest logit"),
        (lambda Z: np.exp(Z - Z.max()) / np.exp(Z - Z.max()).sum(axis=1, keepdims=True),
         "it subtracts the maximum of the whole batch, Z.max(), not of each row: a row far below it "
         "underflows to 0 / 0 = nan. Each row needs its own maximum"),
        (lambda Z: np.exp(Z - Z.max(axis=1)) / np.exp(Z - Z.max(axis=1)).sum(axis=1),
         "a row statistic without keepdims=True has shape (n,), which NumPy lines up with the columns, not "
         "the rows: the row maximum and the row sum must keep their axis, shape (n, 1), to broadcast across "
         "each row"),
        (lambda Z: np.exp(Z) / np.exp(Z).sum(axis=1),
         "a row sum without keepdims=True has shape (n,), which NumPy lines up with the columns, not the "
         "rows: the sum must keep its axis, shape (n, 1), to divide each row by its own sum"),
        (lambda Z: (lambda E: E / E.sum(axis=1))(np.exp(Z - Z.max(axis=1, keepdims=True))),
         "the maximum is shifted right, but the row sum without keepdims=True has shape (n,), which NumPy "
         "lines up with the columns, not the rows: the sum must keep its axis too"),
        (lambda Z: np.exp(Z - Z.max(axis=1, keepdims=True)),
         "the exponentials are not divided by their row sum: they are not probabilities until each row is "
         "normalised to sum to 1"),
        (lambda Z: Z / Z.sum(axis=1, keepdims=True), "the logits are divided by their sum without the "
                                                     "exponential: negative logits give negative 'probabilities'. "
                                                     "Softmax exponentiates first, e^z / sum e^z"),
        (lambda Z: Z - Z.max(axis=1, keepdims=True) - np.log(np.exp(Z - Z.max(axis=1, keepdims=True)).sum(
            axis=1, keepdims=True)), "these are the log-probabilities, log softmax (all <= 0): softmax returns the "
                                     "probabilities themselves, e^z / sum e^z"),
    ]
    return _run("softmax", fn, cases, against(_softmax, mistakes), "nn.softmax")


def _shifted_one_hot(y, k, dtype=float):
    """The 1 of label y[i] in column y[i] - 1 (label 0 wraps round to the last column, as NumPy indexes)."""
    Y = np.zeros((len(y), k), dtype=dtype)
    Y[np.arange(len(y)), np.asarray(y) - 1] = 1
    return Y


def one_hot(fn) -> bool:
    """``fn(y, n_classes=10)``: labels ``(n,)`` -> one-hot matrix ``(n, n_classes)``, built without ``np.eye``
    (the task asks for the indexing that notebook 04 uses again)."""
    cases = [("y = [3, 0, 9]", (np.array([3, 0, 9]),)), ("a batch of 1 label", (np.array([7]),)),
             ("labels without a 9 (y = [1, 1, 4, 0, 2])", (np.array([1, 1, 4, 0, 2]),)),
             ("12 labels", (_rng(4).integers(0, 10, 12),)),
             ("n_classes=3", (np.array([2, 0, 1, 2]), 3))]

    def cols(y, k=10):
        Y = np.zeros((len(y), k))
        Y[:, y] = 1
        return Y

    def rows(y, k=10):
        Y = np.zeros((len(y), k))
        Y[y] = 1
        return Y

    def diagonal(y, k=10):
        Y = np.zeros((len(y), k))
        for i in range(len(y)):
            Y[i, i] = 1
        return Y

    mistakes = [
        (rows, "Y[y] = 1 sets whole rows, the rows numbered by the labels: row i needs a single 1, in column y[i]. "
               "Index the rows and the columns together, one row index for each label"),
        (diagonal, "the 1 of row i is put in column i (Y[i, i]): it belongs in column y[i], the label of sample i"),
        (lambda y, k=10: np.zeros(len(y), k), "np.zeros(n, n_classes) reads its second argument as the dtype: the "
                                             "shape is one tuple, np.zeros((n, n_classes))"),
        (lambda y, k=10: _shifted_one_hot(y, k), "the 1 is put in column y[i] - 1: the labels 0..9 are already the "
                                             "column numbers, so the 1 of label y[i] goes in column y[i]"),
        (lambda y, k=10: _one_hot(y, k).T, "shapes transposed: Y must be (n, n_classes), one row per label"),
        (cols, "Y[:, y] = 1 sets whole columns: row i needs a single 1, in column y[i]. Index the rows and the "
                "columns together, one row index for each label"),
        (lambda y, k=10: np.eye(y.max() + 1)[y], "the width comes from the largest label: a batch without a 9 "
                                                 "gets fewer columns. The width is n_classes, whatever "
                                                 "labels the batch holds"),
        (lambda y, k=10: _one_hot(y, 10), "the argument n_classes is ignored: the result always has 10 columns. "
                                          "Its width is n_classes"),
        (lambda y, k=10: 1 - _one_hot(y, k), "0s and 1s are swapped: start from zeros and set a single 1 per row, "
                                             "at column y[i]"),
    ]
    diagnose = against(lambda y, k=10: _one_hot(y, k), mistakes)
    shortcut = _source_uses(fn, {"eye", "identity"}) if callable(fn) else set()

    def without_eye(got, args, error=None):
        problem = diagnose(got, args, error)
        if problem is None and error is None and shortcut and args is cases[-1][1]:   # right on every case
            return (f"the numbers are right, but your function uses np.{min(shortcut)}: this exercise asks for Y "
                    "without the identity matrix. Start from zeros of shape (n, n_classes) and set the 1 of every "
                    "row, at column y[i], in one assignment")
        return problem

    return _run("one_hot", fn, cases, without_eye, "nn.one_hot")


def cross_entropy(fn) -> bool:
    """``fn(probs, y)``: the mean cross-entropy, a float, of probabilities ``(n, K)`` and labels ``(n,)``."""
    zero = _ce_case(4, 10, 17)
    zero[0][1, zero[1][1]] = 0.0                  # the network gave sample 1's correct class probability 0
    zero[0][1] /= zero[0][1].sum()
    cases = [("5 samples, 10 classes", _ce_case(5, 10, 5)), ("a batch of 1", _ce_case(1, 10, 6)),
             ("8 samples, 3 classes", _ce_case(8, 3, 7)),
             ("4 samples, one of them with probability exactly 0 for its correct class", zero)]
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
                                                 "per row, row i at column y[i], with one row index for each "
                                                 "label"),
        (lambda P, y: np.mean(np.log(pick(P, y))), "the sign is wrong: the loss is MINUS the log-probability "
                                                   "of the right class, so it is >= 0"),
        (lambda P, y: -np.mean(np.log(P)), "it averages the log of every probability: only the probability "
                                           "of each sample's correct class counts"),
        (lambda P, y: np.mean(-np.log(P[:, 0])), "it uses the first column instead of the correct class: row "
                                                 "i's entry is in column y[i]"),
        (lambda P, y: -np.sum(np.log(pick(P, y))) / P.shape[1],
         "it averages over the classes instead of over the samples: the sum over the samples is divided by the "
         "number of classes K (a mean over axis 1 or over the columns, or a division by probs.shape[1]). J is "
         "the mean over the n samples, of each sample's -log probability of its label"),
        (lambda P, y: -np.mean(np.log10(pick(P, y))), "it uses the base-10 logarithm, np.log10: cross-entropy "
                                                      "uses the natural log, np.log (in nats)"),
        (lambda P, y: -np.mean(np.log2(pick(P, y))), "it uses the base-2 logarithm, np.log2, which gives bits: "
                                                     "the loss uses the natural log, np.log (nats); bits are "
                                                     "J / ln 2"),
        (lambda P, y: -np.mean(np.sum(np.log(P), axis=1)), "it adds the log of every class's probability: only "
                                                           "the probability of each sample's correct class counts"),
        (lambda P, y: -np.mean(np.log(P.max(axis=1))), "it uses each row's largest probability, the network's "
                                                       "guess: the loss uses the probability of the label y[i], "
                                                       "right or wrong"),
        (lambda P, y: -np.mean(np.log(P[y])), "probs[y] picks whole rows, the rows numbered by the labels: the "
                                              "entry of sample i is probs[i, y[i]], row i (the sample) and column "
                                              "y[i] (its label); index with one row number for each label"),
        (lambda P, y: -np.mean(np.log1p(pick(P, y))), "np.log1p(p) is log(1 + p), not log(p): the loss is "
                                                       "-log of the probability itself, np.log"),
        (lambda P, y: -np.mean(np.log(P[np.arange(P.shape[1]), y])),
         "np.arange(probs.shape[1]) counts the classes, not the samples: the row numbers are np.arange(len(y)), "
         "one per sample"),
        (lambda P, y: -np.mean(np.log(P[y, np.arange(len(y))])),
         "the row and the column are swapped: the entry of sample i is probs[i, y[i]], row i (the sample) and "
         "column y[i] (its label); index with the row numbers first"),
    ]
    mistakes.insert(0, (lambda P, y: -np.mean(np.log(pick(P, y))),
                        "a probability of exactly 0 gives log(0) = -inf, so the loss is inf (a float32 softmax "
                        "underflows to 0 for a confidently wrong network): clip the probabilities at 1e-12 "
                        "before the log, as nn.cross_entropy does"))
    diagnose = against(_cross_entropy, mistakes)

    def zero_clipped(got, args, error=None):
        problem = diagnose(got, args, error)
        if problem and error is None and np.any(pick(*args) == 0) and np.all(np.isfinite(np.asarray(got, float))):
            return (f"{problem}. One probability is exactly 0: it must count as 1e-12, the clip nn.cross_entropy "
                    f"uses, so that sample's loss is -log(1e-12) = {-np.log(1e-12):.1f}")
        return problem

    return _run("cross_entropy", fn, cases, zero_clipped, "nn.cross_entropy")
