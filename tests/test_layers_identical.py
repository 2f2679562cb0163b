"""The MLP and the CNN built from layers (nn_helpers/layers.py, model.py) train exactly as the code before the
layer contract did: tests/frozen_before_layers.py keeps that code, and both train the same small runs here,
compared bit for bit (weights, every history list, the running statistics of what the old code knew)."""

import numpy as np
import pytest

import frozen_before_layers as old
import nn_helpers as nn
from nn_helpers.augment import shifts

HISTORY = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "running_loss", "running_acc")


def assert_same_run(new, before):
    (params, history), (params_old, history_old) = new, before
    assert list(params) == list(params_old)
    for k in params:
        assert params[k].dtype == params_old[k].dtype and np.array_equal(params[k], params_old[k]), k
    for name in HISTORY:
        assert np.array_equal(getattr(history, name), getattr(history_old, name), equal_nan=True), name


@pytest.fixture(scope="module")
def mnist_rows(mnist_train):
    images, labels = mnist_train
    return nn.to_features(images[:1300]), labels[:1300].astype(np.intp)


MLP_RUNS = {
    "dropout, momentum, cosine, shifts": dict(hidden=[24], activation="relu", dropout=0.2, optimizer="momentum",
                                              lr=0.1, schedule="cosine", augment=shifts(2), batch_size=50),
    "tanh, adam, weight decay, two layers": dict(hidden=[16, 12], activation="tanh", dropout=0.0, optimizer="adam",
                                                 lr=0.002, weight_decay=1e-3, batch_size=64),
    "full batch in chunks, dropout, sgd": dict(hidden=[8], activation="sigmoid", dropout=0.3, optimizer="sgd",
                                               lr=0.5, batch_size=None, uniform=True),
}


@pytest.mark.parametrize("name", MLP_RUNS)
def test_the_mlp_trains_bit_for_bit_as_before(mnist_rows, name):
    s = dict(MLP_RUNS[name])
    X, y = mnist_rows
    X_train, y_train, X_val, y_val = X[:1200], y[:1200], X[1200:], y[1200:]     # 1,200 rows: two chunks of 1024
    params = nn.init_params([784, *s.pop("hidden"), 10], init="uniform" if s.pop("uniform", False) else "he", seed=1)
    activation, dropout = s.pop("activation"), s.pop("dropout")
    make = lambda: nn.make_optimizer(s["optimizer"], s["lr"], weight_decay=s.get("weight_decay", 0.0))
    common = dict(epochs=2, batch_size=s["batch_size"], schedule=s.get("schedule", "constant"), X_val=X_val,
                  y_val=y_val, seed=3, progress=False, augment=s.get("augment"))
    before = old.train(params, X_train, y_train, optimizer=make(), model=old.MLP(activation, dropout), **common)
    assert_same_run(nn.train(params, X_train, y_train, optimizer=make(), model=nn.MLP(activation, dropout), **common),
                    before)
    assert_same_run(nn.train(params, X_train, y_train, optimizer=make(), activation=activation, dropout=dropout,
                             **common), before)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_cnn_trains_bit_for_bit_as_before(mnist_rows, workers):
    X, y = mnist_rows
    images = X.reshape(-1, 1, 28, 28)
    params = nn.init_cnn((4, 6), kernel=3, hidden=16, seed=2)
    common = dict(epochs=2, batch_size=32, schedule="cosine", X_val=images[1200:1260], y_val=y[1200:1260], seed=4,
                  progress=False, augment=shifts(1), train_sample=40)
    run = lambda train, model: train(params, images[:160], y[:160], optimizer=nn.make_optimizer("adam", 0.003),
                                     model=model, **common)
    assert_same_run(run(nn.train, nn.CNN(dropout=0.25, workers=workers)),
                    run(old.train, old.CNN(dropout=0.25, workers=workers)))


def test_the_learners_functions_give_what_they_gave(mnist_rows):
    """nn.forward, nn.backward, nn.predict_proba, nn.batch_gradient and cnn_forward: same numbers, same cache."""
    X, y = mnist_rows[0][:300], mnist_rows[1][:300]
    params = nn.init_params([784, 20, 15, 10], seed=5)
    masks = {1: old.dropout_mask((300, 20), 0.3, np.random.default_rng(1)),
             2: old.dropout_mask((300, 15), 0.3, np.random.default_rng(2))}
    for kwargs in (dict(), dict(masks=masks), dict(activation="tanh")):
        probs, cache = nn.forward(params, X, **kwargs)
        probs_old, cache_old = old.forward(params, X, **kwargs)
        assert np.array_equal(probs, probs_old) and set(cache) == set(cache_old)
        grads, grads_old = nn.backward(params, cache, y), old.backward(params, cache_old, y)
        assert all(np.array_equal(grads[k], grads_old[k]) for k in params)
    assert np.array_equal(nn.predict_proba(params, X), old.predict_proba(params, X))
    new = nn.batch_gradient(params, X, y, chunk_rows=128, dropout=0.2, rng=np.random.default_rng(0))
    before = old.batch_gradient(params, X, y, chunk_rows=128, dropout=0.2, rng=np.random.default_rng(0))
    assert new[:2] == before[:2] and all(np.array_equal(new[2][k], before[2][k]) for k in params)
    from nn_helpers.cnn import cnn_forward
    cnn = nn.init_cnn((3, 4), kernel=3, hidden=8, seed=0)
    probs, cache = cnn_forward(cnn, X[:5].reshape(-1, 1, 28, 28))
    probs_old, cache_old = old.cnn_forward(cnn, X[:5].reshape(-1, 1, 28, 28))
    assert np.array_equal(probs, probs_old)
    assert all(np.array_equal(cache[f"A{l}"], cache_old[f"A{l}"]) for l in (1, 2, 3, 4))
