"""nn.toy_data: 2-D points for decision boundaries: shapes, labels, seeds, errors, and the MLP on them."""

import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers.toy_data import BOX, DATASETS, N_CLASSES


@pytest.mark.parametrize("name", DATASETS)
def test_shapes_types_box_and_balanced_labels(name):
    for n in (10, 301):
        X, y = nn.toy_data(name, n=n, noise=0.3, seed=1)
        K = N_CLASSES[name]
        assert X.shape == (n, 2) and X.dtype == np.float32
        assert y.shape == (n,) and np.issubdtype(y.dtype, np.integer)
        assert set(np.unique(y)) == set(range(K))
        counts = np.bincount(y)
        assert counts.max() - counts.min() <= 1
        assert np.abs(X).max() <= BOX


def test_the_class_counts_are_three_for_spiral_and_blobs_two_for_the_others():
    assert {name: int(nn.toy_data(name)[1].max()) + 1 for name in DATASETS} == {
        "spiral": 3, "moons": 2, "circles": 2, "xor": 2, "blobs": 3}


@pytest.mark.parametrize("name", DATASETS)
def test_the_seed_repeats_the_points_and_another_seed_changes_them(name):
    X, y = nn.toy_data(name, 200, 0.1, seed=3)
    X2, y2 = nn.toy_data(name, 200, 0.1, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(nn.toy_data(name, 200, 0.1, seed=4)[0], X)


def test_the_rows_are_shuffled_not_sorted_by_class():
    _, y = nn.toy_data("spiral", 300)
    assert (np.diff(y) != 0).sum() > 100


def test_no_noise_puts_the_points_on_their_curves():
    X, y = nn.toy_data("circles", 100, noise=0.0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert np.allclose(radius[y == 0], 1.0, atol=1e-6) and np.allclose(radius[y == 1], 0.5, atol=1e-6)
    X, y = nn.toy_data("xor", 100, noise=0.0)
    assert np.all((X[:, 0] * X[:, 1] > 0) == (y == 0))


def test_more_noise_spreads_the_circles():
    spread = [np.hypot(*nn.toy_data("circles", 400, noise=s)[0].T).std() for s in (0.0, 0.2)]
    assert spread[1] > spread[0]


@pytest.mark.parametrize("kwargs, words", [
    (dict(name="spirals"), "expected one of 'spiral', 'moons', 'circles', 'xor', 'blobs'"),
    (dict(name="spiral", n=5), "from 10 to 100,000"),
    (dict(name="spiral", n=300.0), "a whole number of points"),
    (dict(name="spiral", n=10**6), "from 10 to 100,000"),
    (dict(name="spiral", noise=-0.1), "from 0 to 1"),
    (dict(name="spiral", noise=2), "from 0 to 1"),
    (dict(name="spiral", noise="high"), "a standard deviation"),
])
def test_bad_arguments_say_what_is_allowed(kwargs, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        nn.toy_data(**kwargs)


def test_the_mlp_and_train_work_on_the_points_unchanged():
    X, y = nn.toy_data("spiral", 600, seed=0)
    params = nn.init_params([2, 32, 3], seed=0)
    params, history = nn.train(params, X[:300], y[:300], X_val=X[300:], y_val=y[300:], epochs=200,
                               batch_size=None, optimizer="adam", lr=0.03, progress=False)
    assert nn.predict_proba(params, X).shape == (600, 3)
    assert history.val_acc[-1] > 0.9
    linear, history = nn.train(nn.init_params([2, 3], seed=0), X[:300], y[:300], X_val=X[300:],
                               y_val=y[300:], epochs=200, batch_size=None, optimizer="adam", lr=0.03,
                               progress=False)
    assert history.val_acc[-1] < 0.7
