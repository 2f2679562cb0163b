import math

import numpy as np

import nn_helpers as nn
from nn_helpers import recipes


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

