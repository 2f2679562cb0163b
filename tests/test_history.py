"""History: the honest after-epoch training metrics (train_*) and the running averages (running_*)."""

import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers.training import TRAIN_SAMPLE, train_sample_indices


@pytest.fixture(scope="module")
def data(mnist_train):
    images, labels = mnist_train
    X = nn.to_features(images[:3000])
    return X[:2000], labels[:2000], X[2000:2600], labels[2000:2600]


def handwritten_sgd(params, X, y, *, epochs, batch_size, lr, seed):
    """The loop nn.train runs with optimizer='sgd': one permutation per epoch from default_rng(seed)."""
    params = {k: v.copy() for k, v in params.items()}
    rng = np.random.default_rng(seed)
    y = y.astype(np.intp)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start : start + batch_size]
            _, cache = nn.forward(params, X[idx])
            grads = nn.backward(params, cache, y[idx])
            for k in params:
                params[k] -= lr * grads[k]
    return params


def test_the_sample_does_not_change_the_trained_weights(data):
    X, y, X_val, y_val = data
    params = nn.init_params([784, 16, 10], seed=3)
    runs = [nn.train(params, X, y, epochs=2, batch_size=64, optimizer="sgd", lr=0.1, seed=7, progress=False,
                     **kwargs)[0]
            for kwargs in ({}, {"train_sample": 0}, {"train_sample": 123}, {"X_val": X_val, "y_val": y_val})]
    reference = handwritten_sgd(params, X, y, epochs=2, batch_size=64, lr=0.1, seed=7)
    for run in runs:
        assert all(np.array_equal(run[k], reference[k]) for k in reference)


def test_train_metrics_are_measured_after_the_epoch_on_a_fixed_sample(data):
    X, y, X_val, y_val = data
    seen = []
    _, history = nn.train(nn.init_params([784, 16, 10], seed=0), X, y, epochs=3, X_val=X_val, y_val=y_val,
                          seed=5, progress=False,
                          callbacks=[lambda e, h, p: seen.append({k: v.copy() for k, v in p.items()})])
    sample = train_sample_indices(len(X), len(X_val), seed=5)
    assert sample.shape == (len(X_val),) and len(np.unique(sample)) == len(X_val)
    for epoch, params in enumerate(seen):
        loss, acc = nn.evaluate(params, X[sample], y[sample])
        assert history.train_loss[epoch] == pytest.approx(loss, rel=1e-6)
        assert history.train_acc[epoch] == pytest.approx(acc)
    assert len(history.running_loss) == len(history.running_acc) == 3


def test_running_averages_are_the_batches_mean_before_each_step(data):
    X, y, *_ = data
    params = nn.init_params([784, 10, 10], init="uniform", seed=0)
    _, history = nn.train(params, X[:300], y[:300], epochs=1, batch_size=None, optimizer="sgd", lr=0.1,
                          progress=False)
    probs, _ = nn.forward(params, X[:300])
    assert history.running_loss[0] == pytest.approx(nn.cross_entropy(probs, y[:300]), rel=1e-5)
    assert history.running_acc[0] == pytest.approx(nn.accuracy(y[:300], probs.argmax(axis=1)))
    # the after-epoch measure sees the weights after the step: lower loss on the same 300 rows
    assert history.train_loss[0] < history.running_loss[0]


def test_early_on_the_running_average_makes_training_look_worse_than_validation(data):
    X, y, X_val, y_val = data
    _, history = nn.train(nn.init_params([784, 32, 10], seed=1), X, y, epochs=1, batch_size=32, lr=0.05,
                          X_val=X_val, y_val=y_val, progress=False)
    assert history.running_acc[0] < history.val_acc[0] - 0.03      # averaged over a learning epoch
    assert history.train_acc[0] > history.running_acc[0] + 0.03     # measured with the epoch's final weights


def test_sample_size_rules(data):
    X, y, X_val, y_val = data
    assert TRAIN_SAMPLE == 5000
    assert np.array_equal(train_sample_indices(100, 5000, seed=0), np.arange(100))  # at most n: all rows
    assert np.array_equal(train_sample_indices(2000, 50, seed=4), train_sample_indices(2000, 50, seed=4))
    assert not np.array_equal(train_sample_indices(2000, 50, seed=4), train_sample_indices(2000, 50, seed=5))
    params = nn.init_params([784, 8, 10])
    _, all_rows = nn.train(params, X[:200], y[:200], epochs=1, progress=False)          # no validation: n < 5000
    assert all_rows.train_acc[0] == pytest.approx(nn.evaluate(_, X[:200], y[:200])[1])
    _, off = nn.train(params, X[:200], y[:200], epochs=2, train_sample=0, progress=False)
    assert np.isnan(off.train_loss).all() and np.isnan(off.train_acc).all()
    assert np.isfinite(off.running_loss).all()
    with pytest.raises(ValueError, match=r"train_sample=-1; expected a number of rows, at least 0"):
        nn.train(params, X[:200], y[:200], train_sample=-1, progress=False)
