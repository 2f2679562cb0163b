"""The checkers of notebooks 07 and 08 against a learner's wrong code (issue 23 F): each mistake below is
written the way a learner writes it, and must get a message that names it, not only "wrong values"."""

import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers import check
from mistakes import assert_named, shared_messages


# --- 07: confusion_matrix -------------------------------------------------------------------------------

def confusion_set(y_true, y_pred, n_classes=10):
    C = np.zeros((n_classes, n_classes), dtype=int)
    for t, p in zip(y_true, y_pred):
        C[t, p] = 1
    return C


def confusion_histogram(y_true, y_pred, n_classes=10):
    C, _, _ = np.histogram2d(y_true, y_pred, bins=n_classes)
    return C.astype(int)


def confusion_normalised(y_true, y_pred, n_classes=10):
    C = np.zeros((n_classes, n_classes))
    np.add.at(C, (y_true, y_pred), 1)
    return C / C.sum(axis=1, keepdims=True).clip(min=1)


def confusion_bincount(y_true, y_pred, n_classes=10):
    return np.bincount(y_true * n_classes + y_pred).reshape(n_classes, n_classes)


# --- 07: precision_recall -------------------------------------------------------------------------------

def precision_over_mistakes(C):
    tp = np.diag(C).astype(float)
    fp, fn = C.sum(axis=0) - tp, C.sum(axis=1) - tp
    return (np.divide(tp, fp, out=np.zeros_like(tp), where=fp > 0),
            np.divide(tp, fn, out=np.zeros_like(tp), where=fn > 0))


def precision_integer_division(C):
    tp, called, actual = np.diag(C), C.sum(axis=0), C.sum(axis=1)
    return np.where(called > 0, tp // np.maximum(called, 1), 0), np.where(actual > 0, tp // np.maximum(actual, 1), 0)


def precision_accuracy(C):
    acc = np.trace(C) / C.sum()
    return acc, acc


def precision_averaged(C):
    tp = np.diag(C).astype(float)
    precision = np.where(C.sum(axis=0) > 0, tp / np.maximum(C.sum(axis=0), 1), 0.0)
    recall = np.where(C.sum(axis=1) > 0, tp / np.maximum(C.sum(axis=1), 1), 0.0)
    return precision.mean(), recall.mean()


def precision_empty_is_one(C):
    tp = np.diag(C).astype(float)
    called, actual = C.sum(axis=0), C.sum(axis=1)
    return (np.divide(tp, called, out=np.ones_like(tp), where=called > 0),
            np.divide(tp, actual, out=np.ones_like(tp), where=actual > 0))


# --- 07: most_confident_mistakes ------------------------------------------------------------------------

def mcm_last_k(y_true, probs, k):
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    return wrong[np.argsort(probs[wrong, pred[wrong]])[-k:]]


def mcm_every_mistake(y_true, probs, k):
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    return wrong[np.argsort(-probs[wrong, pred[wrong]])]


def mcm_probabilities(y_true, probs, k):
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    return np.sort(probs[wrong, pred[wrong]])[::-1][:k]


def mcm_sorted_indices(y_true, probs, k):
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    return np.sort(wrong[np.argsort(-probs[wrong, pred[wrong]])[:k]])


def mcm_least_true(y_true, probs, k):
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    return wrong[np.argsort(probs[wrong, y_true[wrong]])[:k]]


# --- 08: l2_gradient ------------------------------------------------------------------------------------

def l2_in_place(params, grads, lam):
    for key in params:
        if key.startswith("W"):
            grads[key] += lam * params[key]
    return grads


def l2_penalty_itself(params, grads, lam):
    return {k: grads[k] + lam / 2 * params[k] ** 2 if k.startswith("W") else grads[k] for k in params}


def l2_sign(params, grads, lam):
    return {k: grads[k] + lam * np.sign(params[k]) if k.startswith("W") else grads[k] for k in params}


def l2_norm(params, grads, lam):
    return {k: grads[k] + lam * np.sum(params[k] ** 2) if k.startswith("W") else grads[k] for k in params}


def l2_times(params, grads, lam):
    return {k: grads[k] * lam * params[k] if k.startswith("W") else grads[k] for k in params}


def l2_first_layer(params, grads, lam):
    new = dict(grads)
    new["W1"] = grads["W1"] + lam * params["W1"]
    return new


def l2_lowercase(params, grads, lam):
    return {k: grads[k] + lam * params[k] if k.startswith("w") else grads[k] for k in params}


# --- 08: early_stopping ---------------------------------------------------------------------------------

def early_swapped(val_losses, patience):
    best, best_loss = 0, float("inf")
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best_loss:
            best, best_loss = epoch, loss
        elif epoch - best >= patience:
            return epoch, best
    return len(val_losses), best


def early_best_plus_patience(val_losses, patience):
    best, best_loss = 0, float("inf")
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best_loss:
            best, best_loss = epoch, loss
        elif epoch - best >= patience:
            break
    return best, best + patience


def early_no_end(val_losses, patience):
    best, best_loss = 0, float("inf")
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best_loss:
            best, best_loss = epoch, loss
        elif epoch - best >= patience:
            return best, epoch
    return best, None


def early_highest(val_losses, patience):
    best, best_loss = 0, -float("inf")
    for epoch, loss in enumerate(val_losses, start=1):
        if loss > best_loss:
            best, best_loss = epoch, loss
        elif epoch - best >= patience:
            return best, epoch
    return best, len(val_losses)


def early_with_a_counter(val_losses, patience):        # right: the same rule, written with a counter
    best, best_loss, waited = 0, float("inf"), 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best_loss:
            best, best_loss, waited = epoch, loss, 0
        else:
            waited += 1
            if waited >= patience:
                return best, epoch
    return best, len(val_losses)


# --- 08: dropout_forward --------------------------------------------------------------------------------

def dropout_swapped(A, p, rng):
    D = (rng.random(A.shape) >= p) / (1 - p)
    return D, A * D


def dropout_divided_by_p(A, p, rng):
    D = (rng.random(A.shape) >= p) / p if p > 0 else np.ones_like(A)
    return A * D, D


def dropout_boolean_mask(A, p, rng):
    D = rng.random(A.shape) >= p
    return A * D / (1 - p), D


def dropout_normal(A, p, rng):
    D = (rng.standard_normal(A.shape) >= p) / (1 - p)
    return A * D, D


def dropout_a_unchanged(A, p, rng):
    D = (rng.random(A.shape) >= p) / (1 - p)
    return A, D


MISTAKES = {
    "confusion set to 1 in a loop": (check.confusion_matrix, confusion_set, "sets instead of adding"),
    "confusion by np.histogram2d": (check.confusion_matrix, confusion_histogram, "histogram2d"),
    "confusion normalised": (check.confusion_matrix, confusion_normalised, "divided by its sum"),
    "confusion by bincount without minlength": (check.confusion_matrix, confusion_bincount, "minlength"),
    "precision over the mistakes only": (check.precision_recall, precision_over_mistakes, "mistakes only"),
    "precision by integer division": (check.precision_recall, precision_integer_division, "integer division"),
    "precision as the accuracy": (check.precision_recall, precision_accuracy, "the accuracy"),
    "precision averaged": (check.precision_recall, precision_averaged, "averaged into one number"),
    "precision of an empty class is 1": (check.precision_recall, precision_empty_is_one, "gets 1"),
    "mistakes: the last k of an ascending sort": (check.most_confident_mistakes, mcm_last_k, "least confident of them comes first"),
    "mistakes: all of them": (check.most_confident_mistakes, mcm_every_mistake, "every mistake is returned"),
    "mistakes: their probabilities": (check.most_confident_mistakes, mcm_probabilities, "not their indices"),
    "mistakes: sorted by index": (check.most_confident_mistakes, mcm_sorted_indices, "order of their indices"),
    "mistakes: lowest true-class probability": (check.most_confident_mistakes, mcm_least_true, "how little probability the true class got"),
    "L2 in place": (check.l2_gradient, l2_in_place, "changes the grads passed in"),
    "L2 adding the penalty": (check.l2_gradient, l2_penalty_itself, "not its derivative"),
    "L2 with sign(W)": (check.l2_gradient, l2_sign, "L1 penalty"),
    "L2 with the squared norm": (check.l2_gradient, l2_norm, "one number per matrix"),
    "L2 multiplied": (check.l2_gradient, l2_times, "multiplies the gradient of J"),
    "L2 on W1 only": (check.l2_gradient, l2_first_layer, "only W1 is decayed"),
    "L2 keys in lower case": (check.l2_gradient, l2_lowercase, "capital W"),
    "early stopping swapped": (check.early_stopping, early_swapped, "wrong order"),
    "early stopping at best + patience": (check.early_stopping, early_best_plus_patience, "always e* + patience"),
    "early stopping without an end": (check.early_stopping, early_no_end, "return len(val_losses)"),
    "early stopping on the highest loss": (check.early_stopping, early_highest, "HIGHEST"),
    "dropout returns swapped": (check.dropout_forward, dropout_swapped, "wrong order"),
    "dropout divided by p": (check.dropout_forward, dropout_divided_by_p, "divided by p"),
    "dropout with a 0/1 mask": (check.dropout_forward, dropout_boolean_mask, "D holds 0 and 1"),
    "dropout from normal numbers": (check.dropout_forward, dropout_normal, "uniform on [0, 1)"),
    "dropout leaving A unchanged": (check.dropout_forward, dropout_a_unchanged, "A unchanged"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_checker_names_the_learners_mistake(mistake, capsys):
    assert_named(*MISTAKES[mistake], capsys, numbers_only_allowed=False)


def test_each_mistake_gets_a_message_of_its_own(capsys):
    assert shared_messages(MISTAKES, capsys) == []


def test_the_rule_written_with_a_counter_is_accepted(capsys):
    assert check.early_stopping(early_with_a_counter) is True, capsys.readouterr().out


def test_l2_gradient_leaves_the_learners_grads_alone(capsys):
    # the package's rule as a learner writes it right: a new dict, grads untouched
    def l2_new_dict(params, grads, lam):
        return {k: grads[k] + lam * params[k] if k.startswith("W") else grads[k] for k in params}
    assert check.l2_gradient(l2_new_dict) is True, capsys.readouterr().out
