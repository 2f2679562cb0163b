import numpy as np
import pytest

import nn_helpers as nn


def test_save_load_round_trip(tmp_path):
    params = nn.init_params([784, 32, 16, 10], seed=2)
    path = nn.save_params(tmp_path / "models" / "net", params, activation="tanh", test_accuracy=0.98)
    assert path.name == "net.npz" and path.is_file()
    loaded, meta = nn.load_params(path)
    assert list(loaded) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert all(np.array_equal(loaded[k], params[k]) and loaded[k].dtype == params[k].dtype for k in params)
    assert meta == {"activation": "tanh", "test_accuracy": 0.98}


def test_load_never_unpickles(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, W1=np.array([{"not": "an array"}], dtype=object))
    with pytest.raises(ValueError, match=r"evil\.npz: not a model file written by save_params"):
        nn.load_params(path)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.npz: no such model file.*--save"):
        nn.load_params(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(ValueError, match=r"holds arrays \['weights'\]; expected W1, b1, W2, b2"):
        nn.load_params(tmp_path / "other.npz")
    with pytest.raises(ValueError, match="JSON-serializable"):
        nn.save_params(tmp_path / "x.npz", {"W1": np.zeros(2)}, bad=object())
