import math

import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers import recipes
from nn_helpers.augment import shifts


def small_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, size=n)


def test_full_batch_rows_cut_only_the_full_batch_steps():
    X, y = small_data()
    full = {**recipes.STEPS[1], "hidden": [4], "epochs": 2}
    params, _ = recipes.train_step(full, X, y, full_batch_rows=20)
    alone, _ = recipes.train_step(full, X[:20], y[:20])
    assert all(np.array_equal(params[k], alone[k]) for k in params)       # trained on the first 20 rows only
    mini = {**recipes.STEPS[2], "hidden": [4], "epochs": 1, "batch_size": 16}
    cut, _ = recipes.train_step(mini, X, y, full_batch_rows=20)
    every, _ = recipes.train_step(mini, X, y)
    assert all(np.array_equal(cut[k], every[k]) for k in cut)             # mini-batch steps use every row


def test_result_row_reads_train_and_val_from_the_history_and_measures_test():
    X, y = small_data()
    X_test, y_test = small_data(30, seed=1)
    step = {**recipes.STEPS[2], "hidden": [4], "epochs": 2, "batch_size": 16}
    params, history = recipes.train_step(step, X[:40], y[:40], X[40:], y[40:])
    row = recipes.result_row(step, params, history, X[:40], y[:40], X[40:], y[40:], X_test, y_test)
    assert row["train_acc"] == history.train_acc[-1] and row["val_acc"] == history.val_acc[-1]
    assert row["test_acc"] == nn.evaluate(params, X_test, y_test)[1] and row["epochs"] == 2
    history.train_acc[-1] = math.nan                                        # no after-epoch measurement: measured here
    assert recipes.result_row(step, params, history, X[:40], y[:40], X[40:], y[40:], X_test, y_test)["train_acc"] \
        == nn.evaluate(params, X[:40], y[:40])[1]



def small_images(n=40, seed=0):
    """Feature rows (n, 784) of random 28x28 images and labels, as load_split gives MNIST."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 784)).astype(np.float32) / 255, rng.integers(0, 10, size=n)


def test_describe_keeps_the_mlp_lines_and_names_the_cnn():
    assert recipes.describe(recipes.FINAL) == "784-256-10, he init, momentum lr 0.1 (cosine), batch 128"
    assert recipes.describe(recipes.CNN_RECIPE) == (
        "conv 32 3x3, pool, conv 64 3x3, pool, 128, 10, he init, adam lr 0.002 (cosine), batch 128, dropout 0.25, "
        "shifts of up to 1 px, 2 threads of 1 BLAS thread")
    assert recipes.RECIPES["cnn"] is recipes.CNN_RECIPE and recipes.is_cnn(recipes.CNN_RECIPE)
    assert not any(recipes.is_cnn(step) for step in [*recipes.STEPS, recipes.BEST])


def test_cnn_step_trains_the_cnn_on_images(monkeypatch):
    X, y = small_images()
    step = {**recipes.CNN_RECIPE, "filters": [2, 3], "hidden": [4], "epochs": 2, "batch_size": 16}
    images = recipes.model_inputs(step, X)
    assert images.shape == (40, 1, 28, 28) and np.shares_memory(images, X)   # a view
    assert recipes.model_inputs(recipes.FINAL, X) is X and recipes.model_inputs(step, None) is None
    params, history = recipes.train_step(step, X[:30], y[:30], X[30:], y[30:])
    assert params["W1"].shape == (2, 1, 3, 3) and params["W2"].shape == (3, 2, 3, 3)
    assert params["W3"].shape == (7 * 7 * 3, 4) and params["W4"].shape == (4, 10)
    assert len(history) == 2 and math.isnan(history.train_acc[-1])           # train_sample 0: no after-epoch pass
    row = recipes.result_row(step, params, history, X[:30], y[:30], X[30:], y[30:], X, y)
    assert row["val_acc"] == history.val_acc[-1] and row["configuration"].startswith("conv 2 3x3, pool, conv 3 3x3")
    assert row["train_acc"] == nn.evaluate(params, images[:30], y[:30], model=nn.CNN())[1]
    assert row["test_acc"] == recipes.accuracy_on(step, params, X, y)


def test_workers_are_at_most_the_cores(monkeypatch):
    assert recipes.workers(recipes.FINAL) == 1
    monkeypatch.setattr(recipes, "cores", lambda: 1)
    assert recipes.workers(recipes.CNN_RECIPE) == 1
    assert recipes.build_model(recipes.CNN_RECIPE)[1].workers == 1
    monkeypatch.setattr(recipes, "cores", lambda: 8)
    assert recipes.workers(recipes.CNN_RECIPE) == 2 and recipes.build_model(recipes.CNN_RECIPE)[1].workers == 2


def test_an_mlp_step_trains_what_nn_train_trains_with_its_settings():
    """train_step builds the MLP model itself now: the weights must be the ones nn.train gives the settings."""
    X, y = small_data()
    step = {**recipes.BEST, "hidden": [8], "epochs": 2, "batch_size": 16}
    params, _ = recipes.train_step(step, X, y, seed=3)
    expected, _ = nn.train(nn.init_params([784, 8, 10], seed=3), X, y, epochs=2, batch_size=16,
                           optimizer=nn.make_optimizer("momentum", 0.1), schedule="cosine", seed=3,
                           progress=False, dropout=0.2, augment=shifts(2))
    assert all(np.array_equal(params[k], expected[k]) for k in params)


def test_fast_recipe_settings():
    fast = recipes.RECIPES["fast"]
    assert fast is recipes.FAST and recipes.is_cnn(fast) and fast["batch_norm"]
    assert (fast["filters"], fast["kernel"], fast["hidden"], fast["dropout"], fast["augment"]) == ([32, 64], 3, [128], 0, 1)
    assert (fast["optimizer"], fast["lr"], fast["schedule"], fast["batch_size"], fast["epochs"]) == ("adam", 0.01, "onecycle", 128, 2.75)
    assert (fast["val"], fast["train_sample"], fast["workers"], fast["blas_threads"], fast["reuse_memory"]) \
        == (0, 0, 2, 1, True)
    assert recipes.describe(fast) == (
        "conv 32 3x3, pool, batch norm, conv 64 3x3, pool, batch norm, 128, 10, he init, adam lr 0.01 (onecycle), "
        "batch 128, shifts of up to 1 px, 2 threads of 1 BLAS thread")
    params, model = recipes.build_model(fast)
    layers = [type(layer).__name__ for layer in model.layers]
    assert layers == ["ConvPool", "SpatialBatchNorm", "Activation", "Conv2D", "MaxPool", "SpatialBatchNorm", "Activation",
                      "Flatten", "Dense", "Activation", "Dense"]
    assert model.layers[0].pool == 2 and model.layers[0].pad == 1       # conv 1 and its pooling as one layer
    assert params["W1"].shape == (32, 1, 3, 3) and params["gamma2"].shape == params["var2"].shape == (64,)
    assert params["W3"].shape == (7 * 7 * 64, 128) and params["W4"].shape == (128, 10)
    assert model.trained_keys(params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3", "W4", "b4"]


def test_fast_step_trains_with_batch_norm_on_images():
    X, y = small_images(48)
    step = {**recipes.FAST, "filters": [2, 3], "hidden": [4], "epochs": 2, "batch_size": 16}
    params, history = recipes.train_step(step, X, y)
    assert len(history) == 2 and all(math.isfinite(v) for v in history.running_loss)
    assert not np.array_equal(params["mean1"], np.zeros(2))                 # the running statistics were updated
    assert not np.array_equal(params["var2"], np.ones(3))
    model = recipes.batch_norm_cnn(step)
    probs = model.predict_proba(params, recipes.model_inputs(step, X))
    one = model.predict_proba(params, recipes.model_inputs(step, X[:1]))   # evaluation: alone as in a batch
    np.testing.assert_allclose(one, probs[:1], rtol=1e-5, atol=1e-6)
    assert recipes.accuracy_on(step, params, X, y) == np.mean(probs.argmax(axis=1) == y)


def test_reuse_freed_memory_applies_on_glibc_only():
    import platform
    import sys

    applied = recipes.reuse_freed_memory()
    assert applied == (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc")


def test_a_fraction_of_an_epoch_trains_the_last_epoch_on_part_of_the_set():
    from nn_helpers.optimizers import make_optimizer
    from nn_helpers.training import epoch_rows, train
    assert epoch_rows(100, 3) == [100, 100, 100] and epoch_rows(100, 2.5) == [100, 100, 50]
    assert epoch_rows(100, 1.0) == [100] and epoch_rows(7, 1.01) == [7, 1]
    X, y = small_images(48)
    step = {**recipes.FAST, "filters": [2, 3], "hidden": [4], "batch_size": 16, "workers": 1}
    params, model = recipes.build_model(step)
    adam = make_optimizer("adam", 0.01)
    _, history = train(params, recipes.model_inputs(step, X), y, epochs=1.5, batch_size=16, optimizer=adam,
                       schedule="onecycle", model=model, progress=False, train_sample=0)
    assert adam.t == 3 + 2 and history.epoch == [1, 2]       # 48 images, then 24: the one-cycle spans the 5 steps
    assert all(math.isfinite(v) for v in history.running_loss)
    with pytest.raises(ValueError, match="epochs=0.5; expected at least 1"):
        recipes.train_step({**step, "epochs": 0.5}, X, y)
