"""The CNN model: its backward pass against central differences (float64), the thread split, its input
checks, and training it with nn.train."""

import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers.augment import shifts
from nn_helpers.cnn import CNN, cnn_backward, cnn_forward, init_cnn
from nn_helpers.losses import cross_entropy


def small_cnn(seed=0, dtype=np.float64):
    params = init_cnn((3, 4), kernel=3, hidden=5, image_size=8, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 1)
    for k in params:
        if k.startswith("b"):                                   # non-zero biases: every term of the backward pass counts
            params[k] += rng.normal(0, 0.1, size=params[k].shape).astype(dtype)
    return params


def test_init_shapes_and_he_scale():
    params = init_cnn((32, 64), kernel=5, hidden=128, seed=0)
    assert {k: v.shape for k, v in params.items()} == {
        "W1": (32, 1, 5, 5), "b1": (32,), "W2": (64, 32, 5, 5), "b2": (64,),
        "W3": (7 * 7 * 64, 128), "b3": (128,), "W4": (128, 10), "b4": (10,)}
    assert all(v.dtype == np.float32 for v in params.values())
    assert 0.9 < params["W2"].std() / np.sqrt(2 / (32 * 25)) < 1.1


@pytest.mark.parametrize("dropout", [0.0, 0.4])
def test_backward_matches_central_differences(dropout):
    params = small_cnn()
    rng = np.random.default_rng(2)
    X, y = rng.random((3, 1, 8, 8)), np.array([1, 5, 9])
    masks = {3: nn.dropout_mask((3, 5), dropout, rng, np.float64)} if dropout else None
    _, cache = cnn_forward(params, X, masks=masks)
    grads = cnn_backward(params, cache, y)
    for key in params:
        loss = lambda v: np.array(cross_entropy(cnn_forward({**params, key: v}, X, masks=masks)[0], y))
        numeric = nn.numerical_vjp(loss, params[key].copy(), np.array(1.0))
        assert nn.relative_error(grads[key], numeric) < 1e-7, key


def test_a_broken_backward_fails_the_check():
    """Negative control: ReLU's mask forgotten in the conv stages changes the gradient of W1."""
    params = small_cnn()
    rng = np.random.default_rng(3)
    X, y = rng.random((2, 1, 8, 8)), np.array([0, 7])
    _, cache = cnn_forward(params, X)
    relu1 = 2                                                    # conv 1, pool 1, ReLU: every unit "passed" ReLU
    layers = list(cache["layers"])
    layers[relu1] = (np.abs(layers[relu1][0]) + 1, "relu")
    broken = cnn_backward(params, {**cache, "layers": layers}, y)["W1"]
    numeric = nn.numerical_vjp(lambda v: np.array(cross_entropy(cnn_forward({**params, "W1": v}, X)[0], y)),
                               params["W1"].copy(), np.array(1.0))
    assert nn.relative_error(broken, numeric) > 1e-2


def test_two_workers_give_the_gradient_of_one():
    params = small_cnn()
    X, y = np.random.default_rng(4).random((7, 1, 8, 8)), np.arange(7)
    one = CNN(0.3, workers=1).loss_and_grads(params, X, y, np.random.default_rng(5))
    two = CNN(0.3, workers=2).loss_and_grads(params, X, y, np.random.default_rng(5))
    assert one[0] == pytest.approx(two[0], rel=1e-12) and one[1] == two[1]
    assert all(np.allclose(one[2][k], two[2][k], rtol=1e-10, atol=1e-14) for k in params)


def test_predict_proba_rows_are_distributions_and_keep_float32():
    params = small_cnn(dtype=np.float32)
    probs = CNN().predict_proba(params, np.random.default_rng(6).random((5, 1, 8, 8), dtype=np.float32), batch_size=2)
    assert probs.shape == (5, 10) and probs.dtype == np.float32
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-6)


@pytest.mark.parametrize("X, message", [
    (np.zeros((4, 784)), "X.reshape(-1, 1, 28, 28)"),
    (np.zeros((4, 28, 28)), "add the channel axis with X[:, None]"),
    (np.zeros((4, 1, 32, 32)), "use init_cnn(image_size=...)"),
    (np.full((4, 1, 28, 28), 255.0), "use X / 255"),
    (np.zeros((4, 3, 28, 28)), "X has 3 channels, W1 expects 1"),
])
def test_input_errors_say_how_to_fix_them(X, message):
    with pytest.raises(ValueError) as err:
        CNN().check_input(init_cnn((4, 8), kernel=3, hidden=8), X)
    assert message in str(err.value)


def test_training_a_small_cnn_lowers_the_loss(mnist_train):
    images, labels = mnist_train
    X, y = (images[:256] / np.float32(255)).astype(np.float32)[:, None], labels[:256]
    params = init_cnn((4, 8), kernel=3, hidden=16, seed=0)
    before = nn.evaluate(params, X, y, model=CNN())[0]
    trained, history = nn.train(params, X, y, epochs=3, batch_size=16, optimizer="adam", lr=0.01, progress=False,
                                model=CNN(dropout=0.2, workers=2), augment=shifts(1), schedule="cosine")
    after = nn.evaluate(trained, X, y, model=CNN())[0]
    assert after < 0.8 * before, (before, after)
    assert history.train_loss[-1] < history.train_loss[0] and len(history) == 3
    assert not np.array_equal(trained["W1"], params["W1"])


def test_weight_decay_and_serialization_see_the_conv_weights(tmp_path):
    params = init_cnn((2, 3), kernel=3, hidden=4, image_size=8, seed=0)
    zero = {k: np.zeros_like(v) for k, v in params.items()}
    opt = nn.make_optimizer("sgd", 1.0, weight_decay=0.5)
    decayed = {k: v.copy() for k, v in params.items()}
    opt.step(decayed, zero)
    assert np.allclose(decayed["W1"], 0.5 * params["W1"]) and np.array_equal(decayed["b1"], params["b1"])
    loaded, meta = nn.load_params(nn.save_params(tmp_path / "cnn.npz", params, model="cnn"))
    assert list(loaded) == list(params) and all(np.array_equal(loaded[k], params[k]) for k in params)


def test_train_says_where_model_settings_go():
    with pytest.raises(ValueError, match="set them on the model instead"):
        nn.train(init_cnn((2, 3), kernel=3, hidden=4), np.zeros((4, 1, 28, 28), np.float32), np.zeros(4, int),
                 model=CNN(), dropout=0.2, progress=False)


@pytest.mark.parametrize("name, decay", [("sgd", 0.0), ("momentum", 0.01), ("adam", 0.01)])
def test_the_optimizer_step_shared_by_two_threads_is_the_same_bits(name, decay):
    from nn_helpers.model import optimizer_step
    rng = np.random.default_rng(9)
    params = small_cnn(dtype=np.float32)
    one, two = nn.make_optimizer(name, 0.01, weight_decay=decay), nn.make_optimizer(name, 0.01, weight_decay=decay)
    p1, p2 = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in params.items()}
    for _ in range(3):                       # the first step makes the state; the next ones share it by rows
        grads = {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in params.items()}
        one.step(p1, grads)
        optimizer_step(two, p2, grads, workers=2)
    assert one.t == two.t == 3
    assert all(np.array_equal(p1[k], p2[k]) for k in params)
    assert all(np.array_equal(np.asarray(one.state[k]), np.asarray(two.state[k])) for k in one.state)


def test_predict_proba_shared_by_two_threads_is_the_same():
    params = small_cnn(dtype=np.float32)
    X = np.random.default_rng(6).random((9, 1, 8, 8), dtype=np.float32)
    assert np.array_equal(CNN().predict_proba(params, X, batch_size=2), CNN(workers=2).predict_proba(params, X, batch_size=2))


def test_the_pieces_gradients_summed_by_two_threads_are_the_same_bits():
    from nn_helpers.model import combine
    r = np.random.default_rng(10)
    grads = lambda: {"W1": r.standard_normal((37, 5)).astype(np.float32), "b1": r.standard_normal(3).astype(np.float32)}
    parts = [(5, (0.3, 2, grads(), {"mean1": np.ones(3, np.float32)})), (6, (0.4, 3, grads(), {"mean1": np.zeros(3, np.float32)}))]
    one, two = combine(parts, 11), combine(parts, 11, workers=2)
    assert one[2]["W1"].dtype == np.float32                      # a Python float weight keeps float32
    parts = [(np.int64(n_c), result) for n_c, result in parts]    # a NumPy one (from pieces' bounds) makes float64
    one, two = combine(parts, 11), combine(parts, 11, workers=2)  # under NumPy 2's promotion rules (NEP 50); 1.x
    numpy_2 = int(np.__version__.split(".")[0]) >= 2              # keeps float32: the two sums must agree either way
    assert two[2]["W1"].dtype == (np.float64 if numpy_2 else np.float32)
    assert one[:2] == two[:2] and np.array_equal(one[3]["mean1"], two[3]["mean1"])
    assert all(np.array_equal(one[2][k], two[2][k]) and one[2][k].dtype == two[2][k].dtype for k in one[2])
