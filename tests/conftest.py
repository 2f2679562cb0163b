import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import nn_helpers as nn  # noqa: E402


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
