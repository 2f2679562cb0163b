"""One training loop for any model: the MLP through ``train(model=...)`` trains exactly as the loop did
before it took models (a copy of that loop is below), and augmentation works in the model's layout."""

import math

import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers.augment import shifts
from nn_helpers.training import augmented, batch_gradient, cosine_lr


def loop_before_models(params, X, y, *, epochs, batch_size, optimizer, schedule, seed, dropout, augment, activation):
    """The batch loop of ``train`` as it was before models (training.py at 0c06ee9), without its checks."""
    params = {k: v.copy() for k, v in params.items()}
    rng = np.random.default_rng(seed)
    dropout_rng, augment_rng = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])
    lr0, n = optimizer.lr, len(X)
    for epoch in range(1, epochs + 1):
        if schedule == "cosine":
            optimizer.lr = cosine_lr(lr0, epoch, epochs)
        order = rng.permutation(n)
        for b in range(math.ceil(n / batch_size)):
            idx = order[b * batch_size : (b + 1) * batch_size]
            Xb, yb = X[idx], y[idx]
            if augment is not None:
                Xb = augmented(Xb, augment, augment_rng)
            _, _, grads = batch_gradient(params, Xb, yb, activation, dropout=dropout, rng=dropout_rng)
            optimizer.step(params, grads)
    return params


@pytest.mark.parametrize("settings", [
    dict(optimizer="momentum", schedule="cosine", dropout=0.2, augment=shifts(2), activation="relu"),
    dict(optimizer="adam", schedule="constant", dropout=0.0, augment=None, activation="tanh"),
])
def test_mlp_weights_are_bit_identical_to_the_loop_before_models(mnist_train, settings):
    images, labels = mnist_train
    X, y = nn.to_features(images[:600]), labels[:600].astype(np.intp)
    params = nn.init_params([784, 24, 10], seed=1)
    lr = 0.1 if settings["optimizer"] == "momentum" else 0.002
    expected = loop_before_models(params, X, y, epochs=2, batch_size=50, seed=3,
                                  **{**settings, "optimizer": nn.make_optimizer(settings["optimizer"], lr)})
    shim, _ = nn.train(params, X, y, epochs=2, batch_size=50, seed=3, lr=lr, progress=False, **settings)
    model = nn.MLP(settings["activation"], settings["dropout"])
    rest = {k: v for k, v in settings.items() if k not in ("activation", "dropout")}
    explicit, _ = nn.train(params, X, y, epochs=2, batch_size=50, seed=3, lr=lr, progress=False, model=model, **rest)
    for k in params:
        assert np.array_equal(shim[k], expected[k]) and np.array_equal(explicit[k], expected[k]), k


def test_augmented_keeps_the_models_layout():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    X_rows, X_images = (images / np.float32(255)).reshape(3, 784), (images / np.float32(255))[:, None]
    def right(images, rng):
        return nn.augment.shift(images, np.zeros(3, int), np.ones(3, int))
    rows, maps = augmented(X_rows, right, rng), augmented(X_images, right, rng)
    assert rows.shape == (3, 784) and maps.shape == (3, 1, 28, 28) and maps.dtype == np.float32
    assert np.array_equal(rows.reshape(3, 1, 28, 28), maps)
    assert np.array_equal(maps[:, 0, :, 1:], X_images[:, 0, :, :-1]) and not maps[:, 0, :, 0].any()


def test_augment_needs_28x28_images_in_any_layout():
    with pytest.raises(ValueError, match="augment works on 28x28 images, but X has 100 features"):
        nn.train(nn.init_params([100, 4, 10]), np.zeros((8, 100), np.float32), np.zeros(8, int), augment=shifts(1),
                 progress=False)
