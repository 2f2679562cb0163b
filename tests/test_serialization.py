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


@pytest.mark.parametrize("content, what", [
    (b"hello, not a model", r"the file is not a zip archive \(it starts with b'hell'\)"),
    (b"PK\x03\x04 a broken zip", r"\(File is not a zip file\)"),
    (None, r"the file is a single NumPy array \(\.npy\)"),
])
def test_a_file_that_is_not_a_model_is_named_with_what_was_expected(tmp_path, content, what):
    path = tmp_path / "weights.npz"
    if content is None:
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"weights\.npz: not a model file written by save_params: expected a NumPy "
                                         rf"\.npz archive of the arrays W1, b1, W2, b2, .*{what}"):
        nn.load_params(path)


def test_save_model_keeps_an_mlp_and_a_cnn_and_old_files_still_load(tmp_path):
    mlp = nn.init_params([12, 5, 10], seed=0)
    params, model, meta = nn.load_model(nn.save_model(tmp_path / "mlp", mlp, nn.MLP("tanh", 0.2), acc=0.5))
    assert model == nn.MLP("tanh", 0.2) and meta["acc"] == 0.5 and list(params) == list(mlp)
    cnn = nn.init_cnn((2, 3), kernel=3, hidden=4, image_size=8)
    assert nn.load_model(nn.save_model(tmp_path / "cnn", cnn, nn.CNN(0.25, workers=2)))[1] == nn.CNN(0.25, workers=2)
    assert nn.load_model(nn.save_params(tmp_path / "old_mlp", mlp, activation="sigmoid"))[1] == nn.MLP("sigmoid")
    assert nn.load_model(nn.save_params(tmp_path / "old_cnn", cnn))[1] == nn.CNN()
