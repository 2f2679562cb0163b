import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers.losses import cross_entropy_from_logits


def test_softmax_hand_computed():
    Z = np.array([[0.0, np.log(2.0), np.log(5.0)]])  # exp: 1, 2, 5 -> sum 8
    assert np.allclose(nn.softmax(Z), [[1 / 8, 2 / 8, 5 / 8]])


def test_softmax_rows_sum_to_one_and_shift_invariant():
    Z = np.random.default_rng(0).normal(size=(5, 10))
    P = nn.softmax(Z)
    assert P.shape == (5, 10) and np.allclose(P.sum(axis=1), 1)
    assert np.allclose(P, nn.softmax(Z + 123.0))


def test_softmax_large_logits_do_not_overflow():
    Z = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4]])
    with np.errstate(over="raise", invalid="raise"):  # an overflow or a NaN would raise here
        P = nn.softmax(Z)
    assert np.all(np.isfinite(P))
    assert np.allclose(P, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
    assert np.allclose(nn.softmax(np.array([[1e4, 1e4 - np.log(3)]], dtype=np.float32)), [[0.75, 0.25]], atol=1e-3)


def test_logsumexp_large_and_small():
    Z = np.array([[1000.0, 1000.0], [-1000.0, -1000.0]])
    assert np.allclose(nn.logsumexp(Z), [1000 + np.log(2), -1000 + np.log(2)])


def test_one_hot():
    Y = nn.one_hot(np.array([2, 0, 1]), n_classes=3)
    assert np.array_equal(Y, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    with pytest.raises(ValueError, match=r"labels range from 0 to 10; expected 0\.\.9"):
        nn.one_hot(np.array([0, 10]))


def test_cross_entropy_hand_computed():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.5, 0.4]])
    y = np.array([0, 2])
    expected = -(np.log(0.7) + np.log(0.4)) / 2  # = 0.636...
    assert nn.cross_entropy(probs, y) == pytest.approx(expected)
    assert expected == pytest.approx(0.6364828379)


def test_cross_entropy_of_a_perfect_and_a_uniform_guess():
    assert nn.cross_entropy(np.eye(3), np.arange(3)) == pytest.approx(0, abs=1e-12)
    assert nn.cross_entropy(np.full((4, 10), 0.1), np.arange(4)) == pytest.approx(np.log(10))


def test_cross_entropy_from_logits_matches_and_survives_large_logits():
    Z = np.random.default_rng(2).normal(size=(6, 10))
    y = np.arange(6)
    assert cross_entropy_from_logits(Z, y) == pytest.approx(nn.cross_entropy(nn.softmax(Z), y))
    big = np.array([[1e4, 0.0]])
    assert cross_entropy_from_logits(big, np.array([1])) == pytest.approx(1e4)
    assert nn.cross_entropy(nn.softmax(big), np.array([1])) == pytest.approx(-np.log(1e-12))  # clipped


def test_cross_entropy_shape_error():
    with pytest.raises(ValueError, match=r"probs has shape \(2, 3\) and y \(3,\); expected \(n, K\) and \(n,\)"):
        nn.cross_entropy(np.ones((2, 3)) / 3, np.array([0, 1, 2]))
