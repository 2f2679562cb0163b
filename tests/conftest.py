import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import nn_helpers as nn  # noqa: E402

# A checker that accepts a function keeps its source in $NN_LEARNER_DIR/my_network.py (nn_helpers/check/_kept.py).
# The conftest.py at the root gives every pytest process a temporary one; every test function gets a fresh
# one of its own here, so a solved run of the exercises never shows in another test or notebook.


@pytest.fixture(autouse=True)
def learner_dir(tmp_path_factory, monkeypatch):
    """A fresh, empty $NN_LEARNER_DIR for each test function (and the kernels it starts)."""
    path = tmp_path_factory.mktemp("learner")
    monkeypatch.setenv("NN_LEARNER_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def mnist_train():
    return nn.load_mnist("train")


@pytest.fixture(scope="session")
def mnist_test():
    return nn.load_mnist("test")


@pytest.fixture
def tiny_data():
    """A small float64 problem: 8 samples with 12 features in 0..1, labels 0..4."""
    rng = np.random.default_rng(1)
    return rng.random((8, 12)), rng.integers(0, 5, size=8)
