import re

import numpy as np
import pytest

import nn_helpers as nn


@pytest.fixture(scope="module")
def subset(mnist_train, mnist_test):
    images, labels = mnist_train
    test_images, test_labels = mnist_test
    return nn.to_features(images[:5000]), labels[:5000], nn.to_features(test_images), test_labels


def test_short_training_on_5000_images_beats_90_percent(subset):
    X, y, X_test, y_test = subset
    params = nn.init_params([784, 64, 10], seed=0)
    trained, history = nn.train(params, X, y, epochs=5, batch_size=64, lr=0.1, progress=False)
    acc = nn.accuracy(y_test, nn.predict(trained, X_test))
    assert acc > 0.90, acc
    assert len(history) == 5 and history.train_loss[-1] < history.train_loss[0]
    assert np.isnan(history.val_acc).all()


def test_train_leaves_the_input_params_alone(subset):
    X, y, *_ = subset
    params = nn.init_params([784, 8, 10], seed=0)
    before = {k: v.copy() for k, v in params.items()}
    trained, _ = nn.train(params, X[:500], y[:500], epochs=1, progress=False)
    assert all(np.array_equal(params[k], before[k]) for k in params)
    assert not np.array_equal(trained["W1"], params["W1"])


def test_same_seed_same_parameters(subset):
    X, y, *_ = subset
    runs = [nn.train(nn.init_params([784, 16, 10], seed=4), X[:1000], y[:1000], epochs=2, batch_size=32,
                     optimizer="adam", seed=4, progress=False)[0] for _ in range(2)]
    assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])
    other = nn.train(nn.init_params([784, 16, 10], seed=4), X[:1000], y[:1000], epochs=2, batch_size=32,
                     optimizer="adam", seed=5, progress=False)[0]
    assert not np.array_equal(runs[0]["W1"], other["W1"])  # another shuffling order


def test_batch_gradient_in_chunks_is_the_mean_gradient(subset):
    X, y, *_ = subset
    X, y = X[:1000].astype(np.float64), y[:1000].astype(np.intp)  # 1000 = 3 chunks of 300 + one of 100
    params = nn.init_params([784, 12, 10], init="uniform", seed=0, dtype=np.float64)
    probs, cache = nn.forward(params, X)
    whole = nn.backward(params, cache, y)
    loss, n_correct, chunked = nn.batch_gradient(params, X, y, chunk_rows=300)
    assert all(np.allclose(chunked[k], whole[k], rtol=1e-12, atol=1e-15) for k in params)
    assert np.isclose(loss, nn.cross_entropy(probs, y), rtol=1e-12)
    assert n_correct == np.count_nonzero(probs.argmax(axis=1) == y)


def test_full_batch_is_one_step_of_gradient_descent(subset):
    X, y, *_ = subset
    X, y = X[:200], y[:200]
    params = nn.init_params([784, 10, 10], init="uniform", seed=0)
    trained, history = nn.train(params, X, y, epochs=1, batch_size=None, optimizer="sgd", lr=0.1, progress=False)
    probs, cache = nn.forward(params, X)
    grads = nn.backward(params, cache, y.astype(np.intp))
    for k in params:
        assert np.allclose(trained[k], params[k] - 0.1 * grads[k], atol=1e-6)
    assert history.running_loss[0] == pytest.approx(nn.cross_entropy(probs, y), rel=1e-5)  # before the step


def test_validation_metrics_and_history(subset):
    X, y, X_test, y_test = subset
    trained, history = nn.train(nn.init_params([784, 16, 10]), X[:2000], y[:2000], epochs=3, schedule="cosine",
                                X_val=X_test[:1000], y_val=y_test[:1000], progress=False)
    loss, acc = nn.evaluate(trained, X_test[:1000], y_test[:1000])
    assert history.val_acc[-1] == pytest.approx(acc) and history.val_loss[-1] == pytest.approx(loss)
    assert history.last()["epoch"] == 3 and len(history.seconds) == 3


def test_divergence_stops_with_a_clear_error(subset):
    X, y, *_ = subset
    with pytest.raises(nn.DivergenceError, match=r"diverged in epoch 1 \(batch \d+ of 40\).*learning rate 10 is too "
                                                 r"large.*try a smaller one, e\.g\. 1\b"):
        nn.train(nn.init_params([784, 64, 10]), X, y, epochs=3, lr=10, progress=False)


def test_nan_loss_is_caught(subset):
    X, y, *_ = subset
    params = nn.init_params([784, 8, 10])
    params["b2"][0] = np.nan
    with pytest.raises(nn.DivergenceError, match=r"epoch 1 \(batch 1 of 1\): the loss went from nan to nan"):
        nn.train(params, X[:50], y[:50], epochs=1, batch_size=None, progress=False)


def test_callbacks_run_every_epoch_and_can_stop(subset):
    X, y, *_ = subset
    seen = []

    def stop_after_two(epoch, history, params):
        seen.append((epoch, len(history), params["W1"].shape))
        if epoch == 2:
            raise nn.StopTraining

    _, history = nn.train(nn.init_params([784, 8, 10]), X[:300], y[:300], epochs=5, callbacks=[stop_after_two],
                          progress=False)
    assert seen == [(1, 1, (784, 8)), (2, 2, (784, 8))]
    assert history.stopped_early and len(history) == 2


def test_bad_labels_and_arguments(subset):
    X, y, *_ = subset
    params = nn.init_params([784, 8, 10])
    with pytest.raises(ValueError, match=r"y has shape \(99,\); expected \(100,\), one label per row of X"):
        nn.train(params, X[:100], y[:99], progress=False)
    with pytest.raises(ValueError, match=r"y ranges from 0 to 10; expected labels 0\.\.9"):
        nn.train(params, X[:3], np.array([0, 10, 2]), progress=False)
    with pytest.raises(ValueError, match=r"y has dtype float64; expected integer labels 0\.\.9 \(not one-hot\)"):
        nn.train(params, X[:3], np.array([0.0, 1.0, 2.0]), progress=False)
    with pytest.raises(ValueError, match=r"Did you pass X\.T\?"):
        nn.train(params, X[:100].T, y[:100], progress=False)
    with pytest.raises(ValueError, match="raw 0..255 pixels"):
        nn.train(params, X[:100] * 255, y[:100], progress=False)
    with pytest.raises(ValueError, match="schedule='step'; expected 'constant', 'cosine' or 'onecycle'"):
        nn.train(params, X[:100], y[:100], schedule="step", progress=False)
    with pytest.raises(ValueError, match="pass both X_val and y_val"):
        nn.train(params, X[:100], y[:100], X_val=X[:10], progress=False)


def test_the_progress_bar_shows_validation_accuracy_or_else_the_running_one(subset, capsys):
    """Without a validation set the bar shows the batches' running accuracy, never ``val_acc=nan``."""
    X, y, *_ = subset
    params = nn.init_params([784, 8, 10], seed=0)
    nn.train(params, X[:500], y[:500], epochs=1, batch_size=100, progress=True)
    without = capsys.readouterr().err
    nn.train(params, X[:500], y[:500], X_val=X[500:700], y_val=y[500:700], epochs=1, batch_size=100, progress=True)
    with_val = capsys.readouterr().err
    assert "acc=" in without and "val_acc" not in without and "nan" not in without, without
    assert "val_acc=" in with_val and "nan" not in with_val, with_val


def test_train_checks_its_data_once_not_after_every_epoch(monkeypatch):
    """The training set and the validation set are read for NaN before the first epoch; the measurements
    after each epoch do not read them again (evaluate(..., check=False)), and evaluate still checks by default."""
    X = np.random.default_rng(0).random((40, 784)).astype(np.float32)
    y = np.arange(40) % 10
    checked = []
    original = nn.MLP.check_input
    monkeypatch.setattr(nn.MLP, "check_input", lambda self, params, X: (checked.append(len(X)), original(self, params, X)))
    params, history = nn.train(nn.init_params([784, 8, 10]), X[:30], y[:30], X_val=X[30:], y_val=y[30:],
                               epochs=4, progress=False)
    assert checked == [30, 10] and len(history.val_acc) == 4
    X[35, 3] = np.nan
    with pytest.raises(ValueError, match=r"X holds 1 NaN value"):
        nn.evaluate(params, X[30:], y[30:])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("kind", ["mlp", "cnn", "sequential"])
def test_nan_or_inf_pixels_are_named_before_training_not_blamed_on_the_learning_rate(kind, bad):
    X = np.random.default_rng(0).random((20, 784)).astype(np.float32)
    X[7, 300] = bad
    y = np.arange(20) % 10
    if kind == "mlp":
        params, model = nn.init_params([784, 8, 10]), None
    elif kind == "cnn":
        params, model, X = nn.init_cnn((2, 3), kernel=3, hidden=4), nn.CNN(), X.reshape(-1, 1, 28, 28)
    else:
        model = nn.Sequential([nn.Dense(1, 8), nn.BatchNorm(2), nn.Activation(), nn.Dense(3, 10)])
        params = model.init((784,))
    where = "X[7, 300]" if kind != "cnn" else "X[7, 0, 10, 20]"
    name = "NaN" if np.isnan(bad) else "infinite"
    with pytest.raises(ValueError, match=rf"X holds 1 {name} value, in 1 of its 20 samples \(the first at {re.escape(where)}\)"):
        nn.train(params, X, y, model=model, progress=False)
    with pytest.raises(ValueError, match=rf"X_val: X holds 1 {name} value"):
        nn.train(params, np.nan_to_num(X, posinf=0), y, X_val=X, y_val=y, model=model, progress=False)
    with pytest.raises(ValueError, match=r"images holds NaN or infinite pixels in 1 image\(s\), the first images\[7\]"):
        nn.to_features(X.reshape(-1, 28, 28) * 255)
