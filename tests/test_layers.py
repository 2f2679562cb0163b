"""Every layer of nn_helpers/layers.py against central differences in float64 (each parameter and dx), batch
norm in both modes (its compact backward equal to the one along the graph), models built from layers (a
gradient check of the whole network), running statistics (updated in training, used in evaluation, saved)."""

import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers.layers import (Activation, BatchNorm, Conv2D, ConvPool, Dense, Dropout, Flatten, LayerNorm, MaxPool, Pass,
                               Residual, SpatialBatchNorm, batchnorm_backward, batchnorm_backward_graph,
                               batchnorm_forward)
from nn_helpers.losses import cross_entropy, softmax
from nn_helpers.model import Sequential, gradient_errors

rng = np.random.default_rng(0)


def error(analytic, numeric):
    """The relative error, or 0 where both are 0 up to rounding (a bias right before batch norm has gradient 0:
    the mean subtracts it)."""
    return 0.0 if np.allclose(analytic, 0, atol=1e-12) and np.allclose(numeric, 0, atol=1e-8) else nn.relative_error(analytic, numeric)


def random_params(layer, shape, seed=0):
    """The layer's parameters for an input of ``shape``, every one random (gamma, beta, biases too) in float64."""
    r = np.random.default_rng(seed)
    params = layer.init(shape, r, np.float64)
    for k in params:
        if k.startswith(("mean", "var")):
            params[k] = r.uniform(0.5, 1.5, params[k].shape) * (1 if k.startswith("var") else 0.3)
        else:
            params[k] = params[k] + r.normal(0, 0.3, params[k].shape)
    return params


def check_layer(layer, x, train=True, masks=None, params=None):
    """dx and the gradient of each parameter of ``layer`` against numerical_vjp, for a random upstream dout."""
    params = random_params(layer, x.shape) if params is None else params
    out, cache = layer.forward(params, x, Pass(train=train, masks=masks))
    dout = np.random.default_rng(1).normal(size=out.shape)
    dx, grads = layer.backward(dout, cache)
    assert set(grads) == set(layer.keys())
    f = lambda p, xx: layer.forward(p, xx, Pass(train=train, masks=masks))[0]
    errors = {"dx": error(dx, nn.numerical_vjp(lambda v: f(params, v), x.copy(), dout))}
    for k in layer.keys():
        errors[k] = error(grads[k], nn.numerical_vjp(lambda v: f({**params, k: v}, x), params[k].copy(), dout))
    assert all(e < 1e-7 for e in errors.values()), errors
    return out


@pytest.mark.parametrize("layer, shape", [
    (Dense(1, 4), (5, 3)),
    (Activation("tanh"), (4, 3)),
    (Activation("sigmoid"), (4, 3)),
    (Activation("relu"), (4, 3)),
    (Flatten(), (2, 3, 2, 2)),
    (Conv2D(1, stride=2, pad=1, filters=2, kernel=3), (2, 3, 5, 5)),
    (MaxPool(2), (2, 2, 4, 6)),
    (ConvPool(1, pad=1, filters=2, kernel=3), (2, 3, 6, 6)),
    (ConvPool(1, stride=2, pad=1, filters=2, kernel=3, pool=2), (2, 2, 9, 7)),
    (LayerNorm(1), (4, 6)),
    (LayerNorm(1), (2, 3, 2, 2)),
    (Residual((Dense(1, 4), Activation("tanh"), Dense(2, 4))), (5, 4)),
    (Residual((Conv2D(1, pad=1, filters=2, kernel=3), SpatialBatchNorm(2), Activation("tanh"))), (3, 2, 4, 4)),
], ids=lambda v: repr(v) if not isinstance(v, tuple) else str(v))
def test_each_layer_matches_central_differences(layer, shape):
    check_layer(layer, rng.normal(size=shape))


@pytest.mark.parametrize("layer, shape", [(BatchNorm(1), (6, 4)), (SpatialBatchNorm(1), (3, 2, 3, 4))])
@pytest.mark.parametrize("train", [True, False])
def test_batch_norm_matches_central_differences_in_both_modes(layer, shape, train):
    check_layer(layer, rng.normal(2.0, 3.0, size=shape), train=train)


def test_dropout_backward_goes_through_the_same_mask():
    x = rng.normal(size=(6, 5))
    mask = nn.dropout_mask(x.shape, 0.4, np.random.default_rng(2), np.float64)
    out = check_layer(Dropout(0.4), x, masks=[mask])
    assert np.array_equal(out, x * mask)
    assert np.array_equal(Dropout(0.4).forward({}, x, Pass(train=False))[0], x)       # evaluation: nothing dropped


def test_batch_norm_compact_backward_equals_the_graph_one_and_a_partial_one_fails():
    x = rng.normal(1.0, 2.0, size=(8, 5))
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    out, cache = batchnorm_forward(x, gamma, beta)
    assert np.allclose(out.mean(axis=0), beta) and np.allclose(out.std(axis=0), np.abs(gamma), rtol=1e-4)
    dout = rng.normal(size=out.shape)
    compact, graph = batchnorm_backward(dout, cache), batchnorm_backward_graph(dout, cache)
    assert all(np.allclose(a, b, rtol=1e-10, atol=1e-12) for a, b in zip(compact, graph))
    numeric = nn.numerical_vjp(lambda v: batchnorm_forward(v, gamma, beta)[0], x.copy(), dout)
    direct_only = dout * gamma * cache["inv_std"]          # the mistake: mu and var treated as constants
    assert nn.relative_error(compact[0], numeric) < 1e-7 < 1e-2 < nn.relative_error(direct_only, numeric)


def bn_model():
    return Sequential([Dense(1, 6), BatchNorm(2), Activation("tanh"), Dropout(0.3), Residual((Dense(3, 6), LayerNorm(4),
                       Activation("tanh"))), Dense(5, 4)])


def model_gradient_check(model, params, X, y, masks):
    """Every trained parameter of ``model``: backward against central differences of the loss, in training mode."""
    errors = gradient_errors(model, params, X, y, masks=masks)
    assert list(errors) == model.trained_keys(params)
    assert all(e < 1e-7 for e in errors.values()), errors


def test_a_model_of_layers_has_the_gradient_of_its_loss():
    model = bn_model()
    params = model.init((5,), seed=1, dtype=np.float64)
    X, y = rng.normal(size=(7, 5)), rng.integers(0, 4, 7)
    masks = [nn.dropout_mask((7, 6), 0.3, np.random.default_rng(3), np.float64)]
    model_gradient_check(model, params, X, y, masks)
    assert set(params) - set(model.trained_keys(params)) == {"mean2", "var2"}


def test_a_cnn_with_spatial_batch_norm_has_the_gradient_of_its_loss():
    model = Sequential([Conv2D(1, pad=1, filters=3, kernel=3), SpatialBatchNorm(2), Activation("tanh"), MaxPool(2),
                        Flatten(), Dense(3, 10)])
    params = model.init((2, 6, 6), seed=2, dtype=np.float64)
    assert params["W3"].shape == (3 * 3 * 3, 10) and params["gamma2"].shape == (3,)
    model_gradient_check(model, params, rng.normal(size=(4, 2, 6, 6)), np.array([0, 3, 9, 3]), None)


def test_the_gradient_check_of_a_model_catches_a_broken_layer():
    """Negative control: a batch norm whose backward forgets the paths through the mean and the variance."""
    class DirectOnly(BatchNorm):
        def backward(self, dout, cache, need_dx=True):
            dx, grads = super().backward(dout, cache, need_dx)
            return dout * cache["gamma"] * cache["inv_std"], grads

    model = Sequential([Dense(1, 5), DirectOnly(2), Activation("tanh"), Dense(3, 3)])
    params = model.init((4,), seed=0, dtype=np.float64)
    errors = gradient_errors(model, params, rng.normal(size=(6, 4)), np.array([0, 1, 2, 0, 1, 2]))
    assert errors["W1"] > 1e-2 and errors["W3"] < 1e-7


def test_running_statistics_follow_the_batches_and_evaluation_uses_them():
    model = Sequential([Dense(1, 3), BatchNorm(2, momentum=0.8), Dense(3, 2)])
    params = model.init((4,), seed=0, dtype=np.float64)
    X, y = rng.normal(3.0, 2.0, size=(10, 4)), rng.integers(0, 2, 10)
    H = X @ params["W1"] + params["b1"]
    model.loss_and_grads(params, X, y, rng)
    assert np.allclose(params["mean2"], 0.2 * H.mean(axis=0))
    assert np.allclose(params["var2"], 0.8 + 0.2 * H.var(axis=0, ddof=1))             # unbiased, as PyTorch keeps it
    for _ in range(60):
        model.loss_and_grads(params, X, y, rng)                                        # weights unchanged: converges
    assert np.allclose(params["mean2"], H.mean(axis=0)) and np.allclose(params["var2"], H.var(axis=0, ddof=1))


def test_evaluation_mode_predicts_each_image_alone(mnist_train):
    """The classic bug, measured: with the batch's statistics one image's prediction depends on its batch."""
    images, labels = mnist_train
    X, y = nn.to_features(images[:600]), labels[:600]
    model = Sequential([Dense(1, 32), BatchNorm(2), Activation("relu"), Dense(3, 10)])
    params, _ = nn.train(model.init((784,), seed=0), X, y, epochs=1, batch_size=50, model=model, progress=False)
    alone = model.predict_proba(params, X[:1])
    assert np.allclose(alone, model.predict_proba(params, X[:200])[:1], rtol=1e-5, atol=1e-7)
    in_batch = lambda batch: softmax(model.forward(params, batch, train=True)[0])[:1]
    assert not np.allclose(in_batch(X[:2]), in_batch(X[:200]), atol=1e-3)


def test_save_and_load_keep_the_model_and_its_running_statistics(tmp_path, mnist_train):
    images, labels = mnist_train
    X, y = nn.to_features(images[:300]), labels[:300]
    model = Sequential([Dense(1, 16), BatchNorm(2), Activation("tanh"), Dropout(0.3),
                        Residual((Dense(3, 16), LayerNorm(4), Activation("tanh"))), Dense(5, 10)], workers=2)
    params = model.init((784,), seed=0)
    trained, _ = nn.train(params, X, y, epochs=1, batch_size=60, model=model, progress=False)
    assert not np.array_equal(trained["mean2"], params["mean2"]) and not np.array_equal(trained["var2"], params["var2"])
    loaded, loaded_model, meta = nn.load_model(nn.save_model(tmp_path / "bn", trained, model, note="x"))
    assert loaded_model == model and meta["note"] == "x" and list(loaded) == list(trained)
    assert all(np.array_equal(loaded[k], trained[k]) and loaded[k].dtype == trained[k].dtype for k in trained)
    assert np.array_equal(loaded_model.predict_proba(loaded, X), model.predict_proba(trained, X))


def test_bad_shapes_name_the_layer():
    model = Sequential([Dense(1, 8), BatchNorm(2), Dense(3, 10)])
    params = model.init((784,))
    with pytest.raises(ValueError, match=r"W1 has shape \(784, 8\); its input must be rows \(n, 784\), got \(2, 100\)"):
        model.check_input(params, np.zeros((2, 100)))
    with pytest.raises(ValueError, match=r"Dense\(3\) has no width to start from: give it one, e.g. Dense\(3, 100\)"):
        Sequential([Dense(1, 8), Dense(3)]).init((784,))
    with pytest.raises(ValueError, match="x \\+ F\\(x\\) needs F\\(x\\) the shape of x"):
        Sequential([Residual((Dense(1, 3),))]).init((4,))
