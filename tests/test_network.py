import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers import activations


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("hidden", [[7], [7, 6], [7, 6, 5]], ids=["1-hidden", "2-hidden", "3-hidden"])
def test_gradient_check(activation, hidden, tiny_data):
    X, y = tiny_data
    params = nn.init_params([12, *hidden, 5], init="xavier", seed=3, dtype=np.float64)
    for p in params.values():  # non-zero biases, so their gradients are exercised too
        p += 0.01
    error = nn.gradient_check(params, X, y, activation=activation)
    assert error < 1e-6, f"{activation} {hidden}: relative error {error:.2e}"


def test_gradient_check_catches_a_bug(tiny_data):
    X, y = tiny_data
    params = nn.init_params([12, 7, 5], seed=0, dtype=np.float64)

    def no_relu_mask(params, cache, y):
        grads = nn.backward(params, cache, y)
        dZ2 = cache["A2"].copy()
        dZ2[np.arange(len(y)), y] -= 1
        dZ1 = (dZ2 / len(y)) @ params["W2"].T  # missing * relu_grad(Z1)
        grads["W1"], grads["b1"] = cache["A0"].T @ dZ1, dZ1.sum(axis=0)
        return grads

    assert nn.gradient_check(params, X, y, backward_fn=no_relu_mask) > 1e-2


def test_gradient_check_step_h(tiny_data):
    # the finite-difference step is h (notebooks/NOTATION.md): a tiny h lets round-off dominate
    X, y = tiny_data
    params = nn.init_params([12, 7, 5], init="xavier", seed=3, dtype=np.float64)
    good = nn.gradient_check(params, X, y, activation="tanh", h=1e-5)
    tiny = nn.gradient_check(params, X, y, activation="tanh", h=1e-13)
    assert good < 1e-7 and tiny > 100 * good
    numeric, index = nn.numerical_gradient(params, X, y, activation="tanh", h=1e-5)
    assert set(numeric) == set(params) and all(index[k].size == params[k].size for k in params)


def test_gradient_check_needs_float64(tiny_data):
    X, y = tiny_data
    with pytest.raises(ValueError, match="needs float64 parameters"):
        nn.gradient_check(nn.init_params([12, 3, 5]), X, y)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_activation_derivatives_match_finite_differences(name):
    g, g_prime = activations.ACTIVATIONS[name]
    Z = np.linspace(-4, 4, 81) + 0.0123  # avoid the ReLU kink at exactly 0
    numeric = (g(Z + 1e-6) - g(Z - 1e-6)) / 2e-6
    assert np.allclose(g_prime(Z), numeric, atol=1e-6)


def test_activation_values():
    Z = np.array([-2.0, 0.0, 3.0])
    assert np.array_equal(nn.relu(Z), [0, 0, 3])
    assert np.allclose(nn.sigmoid(Z), 1 / (1 + np.exp(-Z)))
    assert nn.sigmoid(np.array([-1000.0]))[0] == 0 and np.isfinite(nn.sigmoid(np.array([-1e4]))).all()
    with pytest.raises(ValueError, match=r"activation='swish'; expected one of \['relu', 'sigmoid', 'tanh'\]"):
        activations.get_activation("swish")


@pytest.mark.parametrize("init", ["he", "xavier", "uniform"])
def test_init_params_shapes_and_statistics(init):
    params = nn.init_params([784, 300, 10], init=init, seed=0)
    assert list(params) == ["W1", "b1", "W2", "b2"]
    assert params["W1"].shape == (784, 300) and params["b1"].shape == (300,)
    assert params["W2"].shape == (300, 10) and params["W1"].dtype == np.float32
    std = params["W1"].std()
    expected = {"he": np.sqrt(2 / 784), "xavier": np.sqrt(2 / 1084), "uniform": np.sqrt(1 / 12)}[init]
    assert std == pytest.approx(expected, rel=0.02)
    if init == "uniform":
        assert -0.5 <= params["W1"].min() and params["W1"].max() < 0.5 and params["b1"].std() > 0.2
    else:
        assert not params["b1"].any()


def test_init_params_is_seeded():
    a, b = nn.init_params([20, 5, 3], seed=7), nn.init_params([20, 5, 3], seed=7)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["W1"], nn.init_params([20, 5, 3], seed=8)["W1"])


def test_init_params_errors():
    with pytest.raises(ValueError, match=r"init='normal'; expected one of \('he', 'xavier', 'uniform'\)"):
        nn.init_params([784, 10, 10], init="normal")
    with pytest.raises(ValueError, match="at least two positive sizes"):
        nn.init_params([784])


def test_forward_shapes_and_probabilities():
    params = nn.init_params([784, 32, 16, 10], seed=0)
    X = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    probs, cache = nn.forward(params, X)
    assert probs.shape == (5, 10) and np.allclose(probs.sum(axis=1), 1)
    assert cache["Z1"].shape == (5, 32) and cache["A2"].shape == (5, 16) and cache["Z3"].shape == (5, 10)
    grads = nn.backward(params, cache, np.arange(5))
    assert {k: g.shape for k, g in grads.items()} == {k: p.shape for k, p in params.items()}


def test_forward_matches_the_formula():
    params = nn.init_params([4, 3, 2], init="uniform", seed=1, dtype=np.float64)
    X = np.random.default_rng(1).random((2, 4))
    A1 = np.maximum(X @ params["W1"] + params["b1"], 0)
    Z2 = A1 @ params["W2"] + params["b2"]
    expected = np.exp(Z2) / np.exp(Z2).sum(axis=1, keepdims=True)
    assert np.allclose(nn.forward(params, X)[0], expected)


def test_forward_rejects_transposed_input():
    params = nn.init_params([784, 10, 10])
    with pytest.raises(ValueError, match=r"X has shape \(784, 100\); expected \(n_samples, 784\)\. Did you pass X\.T\?"):
        nn.forward(params, np.zeros((784, 100), np.float32))


def test_forward_rejects_raw_pixels_and_images():
    params = nn.init_params([784, 10, 10])
    raw = np.full((3, 784), 255.0, np.float32)
    with pytest.raises(ValueError, match=r"X holds values up to 255\.0: raw 0\.\.255 pixels.*X / 255"):
        nn.forward(params, raw)
    with pytest.raises(ValueError, match="raw 0..255 pixels"):
        nn.forward(params, np.ones((3, 784), np.uint8))
    with pytest.raises(ValueError, match=r"X has shape \(3, 28, 28\): images, not feature rows.*to_features"):
        nn.forward(params, np.zeros((3, 28, 28), np.float32))


def test_forward_accepts_standardized_features():
    params = nn.init_params([5, 3, 2])
    X = np.array([[-1.5, 2.0, 0.3, 4.0, -0.2]], np.float32)  # negative values: not raw pixels
    assert nn.forward(params, X)[0].shape == (1, 2)


def test_predict_and_accuracy():
    params = nn.init_params([6, 4, 3], seed=0)
    X = np.random.default_rng(0).random((25, 6), dtype=np.float32)
    pred = nn.predict(params, X)
    assert pred.shape == (25,) and np.array_equal(pred, nn.forward(params, X)[0].argmax(axis=1))
    assert nn.accuracy(np.array([1, 2, 3, 4]), np.array([1, 2, 0, 4])) == 0.75
    with pytest.raises(ValueError, match="must match"):
        nn.accuracy(np.array([1, 2]), np.array([1]))


def test_confusion_matrix_and_precision_recall():
    y_true = np.array([0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0])
    C = nn.confusion_matrix(y_true, y_pred, n_classes=3)
    assert C.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    precision, recall = nn.precision_recall(C)
    assert np.allclose(precision, [0.5, 2 / 3, 0]) and np.allclose(recall, [0.5, 1, 0])


def test_most_confident_mistakes():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.95, 0.05]])
    y = np.array([1, 1, 0, 1])
    assert nn.most_confident_mistakes(y, probs, k=5).tolist() == [3, 0, 2]
