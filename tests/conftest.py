import os
import shutil
import tempfile

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import nn_helpers as nn  # noqa: E402

# A checker that accepts a function keeps its source in $NN_LEARNER_DIR/my_network.py (nn_helpers/check/_kept.py).
# Tests never write into the repository: the notebooks nbval runs (their kernels inherit this environment)
# keep into a folder of this session, and every test function gets a fresh one of its own (below), so a
# solved run of the exercises never shows in the stored notebooks' "0 of N exercises solved".
_SESSION_LEARNER_DIR = tempfile.mkdtemp(prefix="nn-learner-")
os.environ["NN_LEARNER_DIR"] = _SESSION_LEARNER_DIR


def pytest_unconfigure(config):
    shutil.rmtree(_SESSION_LEARNER_DIR, ignore_errors=True)


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
