"""Dropout, early stopping and the train options of notebook 08 (augmentation: test_augment.py)."""

import numpy as np
import pytest

import nn_helpers as nn


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_dropout_gradient_check_with_a_fixed_mask(activation, tiny_data):
    X, y = tiny_data
    params = nn.init_params([12, 9, 8, 5], init="xavier", seed=3, dtype=np.float64)
    for p in params.values():  # non-zero biases: a sample whose units are all dropped does not sit on ReLU's kink
        p += 0.01
    _, cache = nn.forward(params, X, activation, dropout=0.5, rng=np.random.default_rng(0))
    masks = cache["masks"]
    assert sorted(masks) == [1, 2] and masks[1].shape == (8, 9) and masks[2].shape == (8, 8)
    assert set(np.unique(masks[1])) == {0.0, 2.0}       # dropped, or kept and scaled by 1 / (1 - p)
    error = nn.gradient_check(params, X, y, activation=activation, masks=masks)
    assert error < 1e-6, f"relative error {error:.2e}"


def test_gradient_check_catches_a_backward_that_ignores_the_mask(tiny_data):
    X, y = tiny_data
    params = nn.init_params([12, 9, 5], seed=0, dtype=np.float64)
    masks = nn.forward(params, X, dropout=0.5, rng=np.random.default_rng(0))[1]["masks"]

    def no_mask(params, cache, y):
        return nn.backward(params, {k: v for k, v in cache.items() if k != "masks"}, y)

    assert nn.gradient_check(params, X, y, masks=masks, backward_fn=no_mask) > 1e-2


def test_inverted_dropout_keeps_the_expected_activation():
    rng = np.random.default_rng(0)
    X = rng.random((20_000, 20)).astype(np.float32)
    params = nn.init_params([20, 50, 10], seed=0)
    plain = nn.forward(params, X)[1]["A1"]
    for p in (0.2, 0.5):
        dropped = nn.forward(params, X, dropout=p, rng=rng)[1]["A1"]
        assert abs(np.mean(dropped == 0) - (np.mean(plain == 0) + p * np.mean(plain > 0))) < 0.01
        # mean over 20,000 samples of each unit: the same up to sampling noise
        np.testing.assert_allclose(dropped.mean(axis=0), plain.mean(axis=0), rtol=0.05, atol=1e-3)


def test_no_dropout_changes_nothing_and_predictions_never_drop():
    rng = np.random.default_rng(0)
    X = rng.random((50, 12)).astype(np.float32)
    params = nn.init_params([12, 9, 5], seed=0)
    probs, cache = nn.forward(params, X)
    assert "masks" not in cache
    assert np.array_equal(nn.forward(params, X, dropout=0.0, rng=rng)[0], probs)
    assert np.array_equal(nn.predict_proba(params, X), probs)
    assert not np.array_equal(nn.forward(params, X, dropout=0.5, rng=rng)[0], probs)


def test_dropout_errors():
    params = nn.init_params([12, 9, 5], seed=0)
    X = np.zeros((3, 12), dtype=np.float32)
    with pytest.raises(ValueError, match="rng="):
        nn.forward(params, X, dropout=0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        nn.forward(params, X, dropout=1.0, rng=np.random.default_rng(0))


@pytest.fixture(scope="module")
def small(mnist_train):
    images, labels = mnist_train
    X = nn.to_features(images[:3000])
    return X[:2000], labels[:2000], X[2000:], labels[2000:3000]


def test_train_defaults_are_unchanged_by_the_new_options(small):
    X, y, X_val, y_val = small
    params = nn.init_params([784, 32, 10], seed=1)
    kw = dict(epochs=2, batch_size=64, seed=1, progress=False, X_val=X_val, y_val=y_val)
    a, ha = nn.train(params, X, y, **kw)
    b, hb = nn.train(params, X, y, dropout=0.0, augment=None, **kw)
    assert all(np.array_equal(a[k], b[k]) for k in a) and ha.val_loss == hb.val_loss


def test_train_with_dropout_and_augmentation_is_seeded_and_learns(small):
    X, y, X_val, y_val = small
    params = nn.init_params([784, 64, 10], seed=1)
    kw = dict(epochs=4, batch_size=64, seed=1, progress=False, X_val=X_val, y_val=y_val, dropout=0.3,
              augment=nn.augment.shifts(1))
    a, ha = nn.train(params, X, y, **kw)
    b, _ = nn.train(params, X, y, **kw)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert ha.val_acc[-1] > 0.8, ha.val_acc
    plain, _ = nn.train(params, X, y, **{**kw, "dropout": 0.0, "augment": None})
    assert not np.array_equal(plain["W1"], a["W1"])


def test_train_rejects_bad_dropout_and_augment(small):
    X, y, *_ = small
    params = nn.init_params([784, 8, 10], seed=0)
    with pytest.raises(ValueError, match="dropout=1.5"):
        nn.train(params, X, y, dropout=1.5, progress=False)
    with pytest.raises(ValueError, match="expected uint8"):
        nn.train(params, X, y, augment=lambda images, rng: images[:, :20], progress=False)
    with pytest.raises(ValueError, match="784 pixels"):
        nn.train(nn.init_params([12, 8, 10]), np.zeros((4, 12)), np.zeros(4, dtype=int),
                 augment=nn.augment.shifts(1), progress=False)


def test_early_stopping_stops_and_restores_the_best_epoch(small):
    X, y, X_val, y_val = small
    params = nn.init_params([784, 256, 10], seed=0)
    # a large constant learning rate on 2,000 images: the validation loss bottoms out, then climbs
    stopper = nn.EarlyStopping(patience=2)
    trained, history = nn.train(params, X, y, epochs=40, batch_size=32, lr=0.1, X_val=X_val, y_val=y_val,
                                progress=False, callbacks=[stopper])
    assert history.stopped_early and len(history) < 40
    best = int(np.argmin(history.val_loss)) + 1
    assert stopper.best_epoch == best and len(history) == best + 2
    assert all(np.array_equal(trained[k], stopper.best_params[k]) for k in trained)
    assert nn.evaluate(trained, X_val, y_val)[0] == pytest.approx(min(history.val_loss), rel=1e-5)


def test_early_stopping_needs_validation_data(small):
    X, y, *_ = small
    with pytest.raises(ValueError, match="X_val and y_val"):
        nn.train(nn.init_params([784, 8, 10]), X, y, epochs=2, progress=False, callbacks=[nn.EarlyStopping()])
    with pytest.raises(ValueError, match="patience"):
        nn.EarlyStopping(patience=0)
