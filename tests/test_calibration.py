"""Calibration: the reliability diagram's bins and the expected calibration error (nn_helpers.metrics)."""

import numpy as np
import pytest

import nn_helpers as nn


def test_bins_by_hand():
    # confidences 0.95 (right), 0.95 (wrong), 0.55 (right), 0.35 (wrong); 10 bins
    probs = np.array([[0.95, 0.05, 0.0], [0.05, 0.95, 0.0], [0.55, 0.45, 0.0], [0.35, 0.33, 0.32]])
    y = np.array([0, 0, 0, 1])
    edges, confidence, accuracy, counts = nn.reliability_bins(y, probs, n_bins=10)
    assert np.allclose(edges, np.arange(11) / 10)
    assert counts.tolist() == [0, 0, 0, 1, 0, 1, 0, 0, 0, 2]
    assert np.allclose(confidence[[3, 5, 9]], [0.35, 0.55, 0.95]) and np.allclose(accuracy[[3, 5, 9]], [0, 1, 0.5])
    assert np.isnan(confidence[0]) and np.isnan(accuracy[0])
    # ECE = (1/4)|0 - 0.35| + (1/4)|1 - 0.55| + (2/4)|0.5 - 0.95|
    ece = nn.expected_calibration_error(y, probs, n_bins=10)
    assert ece == pytest.approx(0.25 * 0.35 + 0.25 * 0.45 + 0.5 * 0.45)


def test_a_bin_holds_its_upper_edge_and_zero_goes_to_the_first():
    probs = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 0.0]])
    _, _, _, counts = nn.reliability_bins(np.array([0, 0, 0]), probs, n_bins=2)
    assert counts.tolist() == [2, 1]                   # 0.5 and 0 in (.., 0.5], 1.0 in (0.5, 1]


def test_weighted_bin_means_are_the_overall_accuracy_and_confidence():
    rng = np.random.default_rng(0)
    probs = nn.softmax(rng.normal(scale=3, size=(2000, 10)))
    y = rng.integers(0, 10, 2000)
    _, confidence, accuracy, counts = nn.reliability_bins(y, probs, n_bins=15)
    filled = counts > 0
    assert counts.sum() == 2000
    assert np.sum(counts[filled] * accuracy[filled]) / 2000 == pytest.approx(np.mean(probs.argmax(1) == y))
    assert np.sum(counts[filled] * confidence[filled]) / 2000 == pytest.approx(probs.max(1).mean())


def test_ece_is_zero_when_right_with_certainty_and_one_when_wrong_with_certainty():
    y = np.array([0, 1, 2, 1])
    sure = np.eye(3)[y]
    assert nn.expected_calibration_error(y, sure) == 0
    assert nn.expected_calibration_error(y, np.eye(3)[(y + 1) % 3]) == 1


def test_labels_drawn_from_the_probabilities_are_calibrated_and_overconfidence_is_not():
    rng = np.random.default_rng(1)
    probs = nn.softmax(rng.normal(scale=2, size=(20_000, 10)))
    # the top class is right with exactly its probability: calibrated by construction
    top = probs.argmax(axis=1)
    right = rng.random(20_000) < probs.max(axis=1)
    y = np.where(right, top, (top + rng.integers(1, 10, 20_000)) % 10)
    calibrated = nn.expected_calibration_error(y, probs, n_bins=10)
    sharper = nn.softmax(3 * np.log(probs))             # same predictions, more confident
    overconfident = nn.expected_calibration_error(y, sharper, n_bins=10)
    assert calibrated < 0.02 and overconfident > 0.1


def test_errors_say_what_was_wrong():
    probs = np.full((3, 10), 0.1)
    with pytest.raises(ValueError, match="expected \\(3,\\)"):
        nn.reliability_bins(np.array([0, 1]), probs)
    with pytest.raises(ValueError, match="one integer label per row"):
        nn.reliability_bins(np.eye(10)[[0, 1, 2]], probs)        # one-hot labels
    with pytest.raises(ValueError, match="integer labels"):
        nn.reliability_bins(np.array([0.0, 1.0, 2.0]), probs)
    with pytest.raises(ValueError, match="n_classes"):
        nn.reliability_bins(np.array([0, 1, 2]), probs[0])
    with pytest.raises(ValueError, match="at least 1"):
        nn.expected_calibration_error(np.array([0, 1, 2]), probs, n_bins=0)
