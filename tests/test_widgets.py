"""The panels of nn_helpers.widgets, driven from Python: move a control, check what the panel shows."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers.cnn import CNN, init_cnn
from nn_helpers import widgets as W
from nn_helpers.preprocess import centre_of_mass, mnist_preprocess, resize


@pytest.fixture(scope="module")
def mnist():
    images, labels = nn.load_mnist("test")
    return images[:3000], labels[:3000], nn.to_features(images[:3000])


@pytest.fixture(scope="module")
def model(mnist):
    """A small network, trained for a second: about 93% on the held-out images."""
    images, labels, X = mnist
    params = nn.init_params([784, 64, 10], seed=0)
    params, _ = nn.train(params, X[:2000], labels[:2000], epochs=4, lr=0.1, progress=False)
    return params


def png(panel):
    """The panel's figure, checking it shows exactly one image (not a pile of figures)."""
    outputs = panel.figure.outputs
    assert len(outputs) == 1, f"expected one figure, found {len(outputs)} outputs"
    return outputs[0]["data"]["image/png"]


def change(panel, name, value):
    """Set a control and return the new figure, checking that it was redrawn."""
    before = png(panel)
    panel.controls[name].value = value
    after = png(panel)
    assert after != before, f"moving {name!r} did not redraw the figure"
    return after


def test_no_pyplot_figures_pile_up(mnist):
    images, labels, _ = mnist
    panel = W.digit_browser(images, labels)
    for i in range(5):
        panel.controls["index"].value = i
    assert plt.get_fignums() == []


def test_digit_browser(mnist):
    images, labels, _ = mnist
    panel = W.digit_browser(images, labels)
    assert panel.state == {"index": 0, "label": labels[0]}
    change(panel, "index", 7)
    assert panel.state == {"index": 7, "label": labels[7]}
    change(panel, "digit", 3)
    assert panel.state["label"] == 3 and panel.controls["index"].value == 0
    assert panel.controls["index"].max == np.count_nonzero(labels == 3) - 1
    change(panel, "index", 5)
    assert panel.state["index"] == np.flatnonzero(labels == 3)[5]
    panel.controls["digit"].value = "all"
    assert panel.controls["index"].max == len(images) - 1


def test_panel_displays_as_its_widget(mnist):
    images, labels, _ = mnist
    bundle = W.digit_browser(images, labels)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_init_explorer(mnist):
    panel = W.init_explorer(mnist[2][:500])
    assert len(panel.state["std"]) == 3 and len(panel.state["dead"]) == 3
    assert all(0.1 < s < 2 for s in panel.state["std"])  # He keeps the spread steady
    assert all(0.3 < d < 0.7 for d in panel.state["dead"])  # about half the ReLUs are off
    change(panel, "scale", 0.1)
    std = panel.state["std"]
    assert std[2] < std[1] < std[0] < 0.1  # vanishing activations
    panel.controls["init"].value = "uniform"
    panel.controls["scale"].value = 100  # extreme: exploding, but no exception
    assert panel.state["std"][2] > 1e6


def test_softmax_explorer():
    panel = W.softmax_explorer((2.0, 1.0, 0.1))
    assert np.allclose(panel.state["probs"], nn.softmax(np.array([[2.0, 1.0, 0.1]]))[0])
    change(panel, "z2", 5.0)
    assert panel.state["probs"].argmax() == 2
    change(panel, "temperature", 0.01)
    assert panel.state["probs"][2] > 0.999 and np.isfinite(panel.state["probs"]).all()
    change(panel, "temperature", 100)
    assert np.allclose(panel.state["probs"], 1 / 3, atol=0.02)


def test_step_explorer(mnist):
    _, labels, X = mnist
    params = nn.init_params([784, 8, 10], seed=0)  # float32: the panel checks in float64
    panel = W.step_explorer(params, X[:20], labels[:20])
    assert panel.state["h"] == pytest.approx(1e-6) and panel.state["error"] < 1e-6
    assert panel.state["message"] == ""
    change(panel, "log10_h", -12)
    assert panel.state["error"] > 1e-6 and "rounding" in panel.state["message"]
    change(panel, "log10_h", -1)
    assert panel.state["error"] > 1e-6 and "large" in panel.state["message"]


@pytest.fixture
def training(mnist):
    images, labels, X = mnist
    panel = W.training_panel(X[:2000], labels[:2000], X[2000:], labels[2000:])
    panel.controls["hidden"].value = 16
    panel.controls["epochs"].value = 2
    return panel


def test_training_panel_trains(training):
    assert training.state["history"] is None
    history = training.train()
    assert len(history) == 2 and history is training.state["history"]
    assert training.state["val_acc"] > 0.8 and training.state["message"] == ""
    assert training.progress.value == 2
    assert "Validation accuracy" in training.text.value
    png(training)  # one figure
    assert not training.controls["train"].disabled and training.controls["stop"].disabled


def test_training_panel_extremes(training):
    training.controls["lr"].value = 10.0  # the slider's maximum
    training.controls["optimizer"].value = "adam"
    assert training.train() is None  # nn.DivergenceError, caught
    assert "diverged" in training.state["message"] and "nn-message" in training.text.value
    training.controls["optimizer"].value = "momentum"
    training.train()  # diverges, or learns nothing: either way a message, no exception
    assert "too large" in training.state["message"]
    training.controls["lr"].value = 0.1
    training.controls["hidden"].value = 1
    training.controls["batch_size"].value = 1  # capped at MAX_STEPS steps per epoch
    assert training.n_train() == training.MAX_STEPS
    history = training.train()
    assert len(history) == 2 and np.isfinite(history.train_loss).all()


def test_training_panel_buttons(training):
    training.controls["epochs"].value = 20
    training.controls["batch_size"].value = 1
    training.controls["train"].click()  # trains in a background thread
    training.controls["stop"].click()
    training.wait(timeout=30)
    history = training.state["history"]
    assert history.stopped_early and len(history) < 20
    assert "Stopped" in training.state["message"]


def test_threshold_explorer(mnist, model):
    images, labels, X = mnist
    probs = nn.predict_proba(model, X)
    panel = W.threshold_explorer(probs, labels)
    change(panel, "threshold", 0.0)
    assert panel.state["coverage"] == 1 and panel.state["n_answered"] == len(labels)
    assert panel.state["accuracy"] == pytest.approx(nn.accuracy(labels, probs.argmax(axis=1)))
    all_acc = panel.state["accuracy"]
    change(panel, "threshold", 0.9)
    assert panel.state["coverage"] < 1 and panel.state["accuracy"] > all_acc
    panel.controls["threshold"].value = 1.0  # extreme: few or no answers, no exception
    assert panel.state["n_answered"] == np.count_nonzero(probs.max(axis=1) >= 1.0)


def test_threshold_explorer_nothing_answered():
    probs = np.full((4, 10), 0.1)
    panel = W.threshold_explorer(probs, np.arange(4))
    panel.controls["threshold"].value = 0.5
    assert panel.state["n_answered"] == 0 and np.isnan(panel.state["accuracy"])
    assert "nothing is answered" in panel.text.value


# preprocessing -------------------------------------------------------------------------------------


def test_preprocess_centres_the_mass(mnist):
    image = np.zeros((200, 300))
    image[20:60, 200:220] = 1  # a bar far off-centre
    out = mnist_preprocess(image)
    assert out.shape == (28, 28) and out.max() == 1 and out.min() == 0
    row, col = centre_of_mass(out)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5
    assert np.count_nonzero(out.any(axis=1)) == 20  # the longer side is 20 pixels


def test_preprocess_ignores_position_and_size(mnist):
    digit = mnist[0][0] / 255
    reference = mnist_preprocess(digit)
    shifted = np.zeros((100, 120))
    shifted[50:78, 7:35] = digit
    assert np.allclose(mnist_preprocess(shifted), reference)
    big = np.kron(digit, np.ones((5, 5)))  # drawn 5 times larger
    assert np.allclose(mnist_preprocess(big), reference)


def test_preprocess_keeps_mnist_digits_readable(mnist, model):
    images, labels, X = mnist
    redone = np.stack([mnist_preprocess(im / 255) for im in images[:500]])
    acc_raw = nn.accuracy(labels[:500], nn.predict(model, X[:500]))
    acc_redone = nn.accuracy(labels[:500], nn.predict(model, redone.reshape(-1, 784).astype(np.float32)))
    assert acc_redone > acc_raw - 0.03


def test_preprocess_empty_and_errors():
    assert not mnist_preprocess(np.zeros((50, 50))).any()
    with pytest.raises(ValueError, match="2-D"):
        mnist_preprocess(np.zeros((2, 28, 28)))
    assert np.allclose(resize(np.ones((7, 13)), (3, 5)), 1)


# drawing pad ---------------------------------------------------------------------------------------


def test_drawing_pad(mnist, model):
    images, labels, _ = mnist
    pad = W.drawing_pad(model)
    assert pad.state["prediction"] is None and not pad.state["image28"].any()
    big = np.zeros((300, 200))
    big[150:290, 30:170] = resize(images[1] / 255, (140, 140))  # drawn large, low and left
    pad.set_image(big)
    assert pad.state["prediction"] == labels[1]
    assert pad.state["probs"].shape == (10,) and pad.state["probs"].sum() == pytest.approx(1)
    png(pad)
    pad.controls["clear"].click()
    assert pad.state["prediction"] is None


def test_drawing_pad_mouse(model):
    pad = W.drawing_pad(model)
    pad.draw_stroke([(140, 40 + 10 * k) for k in range(21)])  # a vertical line
    assert pad.state["image28"].any() and pad.state["prediction"] == 1
    with pytest.raises(ValueError, match="0..1"):
        pad.set_image(np.full((28, 28), 255.0))


def test_drawing_pad_predicts_while_drawing_but_not_at_every_move(model, monkeypatch):
    """A slow prediction (its figure takes 1 s of a fake clock; the mouse moves every 0.1 s) is followed by
    THROTTLE of drawing before the next: counted from its start instead, every move predicted again, and
    the pen lagged behind the mouse."""
    from nn_helpers.widgets import draw_a_digit

    clock = [0.0]
    monkeypatch.setattr(draw_a_digit.time, "perf_counter", lambda: clock[0])
    pad = W.drawing_pad(model)
    draw, predictions = pad.draw, []

    def slow_draw(*args):
        predictions.append(clock[0])
        clock[0] += 1.0
        return draw(*args)

    pad.draw = slow_draw
    pad.on_down(140, 40)
    for k in range(1, 21):
        clock[0] += 0.1
        pad.on_move(140, 40 + 10 * k)
    pad.on_up(140, 240)
    assert 3 <= len(predictions) <= 8, predictions  # 20 moves: every third predicts, and the release
    assert pad.state["prediction"] == 1


def test_drawing_pad_network_toggle(mnist, model):
    """With a CNN, the toggle says which network reads; state and readout follow it, both ways."""
    images, labels, _ = mnist
    cnn = init_cnn((4, 8), kernel=3, hidden=16, seed=0)  # untrained: its probabilities differ from the MLP's
    pad = W.drawing_pad(model, cnn_params=cnn)
    toggle = pad.controls["network"]
    assert list(toggle.options) == ["MLP", "CNN"] and toggle.value == "MLP"
    assert pad.state["network"] == "MLP" and pad.state["predictions"] == {"MLP": None, "CNN": None}
    assert "the MLP reads it" in pad.text.value
    pad.set_image(images[1] / 255)
    x = pad.state["image28"]
    mlp_probs = nn.predict_proba(model, x.reshape(1, 784).astype(np.float32))[0]
    cnn_probs = CNN().predict_proba(cnn, x.reshape(1, 1, 28, 28).astype(np.float32))[0]
    assert np.allclose(pad.state["probs"], mlp_probs) and pad.state["prediction"] == mlp_probs.argmax()
    assert "The MLP reads" in pad.text.value
    change(pad, "network", "CNN")
    assert pad.state["network"] == "CNN" and np.allclose(pad.state["probs"], cnn_probs)
    assert pad.state["prediction"] == cnn_probs.argmax()
    assert pad.state["predictions"] == {"MLP": mlp_probs.argmax(), "CNN": cnn_probs.argmax()}
    assert f"The CNN reads <b class='nn-prediction'>{cnn_probs.argmax()}</b>" in pad.text.value
    assert f"the MLP would read {mlp_probs.argmax()}" in pad.text.value
    assert "image/png" in pad._repr_mimebundle_()  # the stored picture shows the CNN's reading
    change(pad, "network", "MLP")
    assert pad.state["network"] == "MLP" and np.allclose(pad.state["probs"], mlp_probs)
    pad.controls["network"].value = "CNN"
    pad.controls["clear"].click()  # clearing keeps the chosen network
    assert pad.state["network"] == "CNN" and pad.state["prediction"] is None
    assert "the CNN reads it" in pad.text.value and "image/png" not in pad._repr_mimebundle_()


def test_drawing_pad_without_cnn_has_no_toggle(model):
    pad = W.drawing_pad(model)
    assert "network" not in pad.controls and pad.state["network"] == "MLP"
    assert pad.text.value == "<div>Draw a digit in the box with the mouse.</div>"


def test_drawing_pad_says_which_argument_takes_the_cnn(model):
    cnn = init_cnn((4, 8), kernel=3, hidden=16, seed=0)
    with pytest.raises(ValueError, match="cnn_params"):
        W.drawing_pad(cnn)
    with pytest.raises(ValueError, match=r"\(784, 64\); expected a CNN's filters"):
        W.drawing_pad(model, cnn_params=model)


def test_augment_explorer(mnist):
    images, labels, _ = mnist
    panel = W.augment_explorer(images[:10], labels[:10])
    assert np.array_equal(panel.state["image"], images[0]) and not panel.state["cut"]
    change(panel, "dy", 2)
    assert np.array_equal(panel.state["image"], nn.augment.shift(images[:1], [2], [0])[0])
    change(panel, "degrees", 15)
    assert panel.state["image"].dtype == np.uint8 and not np.array_equal(panel.state["image"], images[0])
    change(panel, "dx", -4)
    change(panel, "dy", 4)
    change(panel, "scale", 1.3)
    assert panel.state["cut"] and "edge" in panel.text.value
    with pytest.raises(ValueError, match="uint8"):
        W.augment_explorer(nn.to_features(images[:2]), labels[:2])


def brute_force_map(image, kernel, stride, pad):
    """The feature map written as the definition: one window at a time."""
    Xp = np.pad(image, pad)
    R = kernel.shape[0]
    H_out, W_out = (Xp.shape[0] - R) // stride + 1, (Xp.shape[1] - R) // stride + 1
    return np.array([[(Xp[stride * y:stride * y + R, stride * x:stride * x + R] * kernel).sum()
                      for x in range(W_out)] for y in range(H_out)])


@pytest.mark.parametrize("R", [2, 3, 5])
def test_feature_map_is_the_definition(mnist, R):
    """Every stride and padding of the panel, a square and a non-square image: the map of the definition,
    with the frameworks' floor, and the rows no window reads counted."""
    from nn_helpers.widgets.convolution import feature_map
    images, _, _ = mnist
    kernel = np.random.default_rng(R).normal(size=(R, R))
    for image in (images[0] / 255, images[1][:, 3:] / 255):
        for S in (1, 2, 3):
            for P in (0, 1, 2, 3):
                Z, (used_h, used_w) = feature_map(image, kernel, S, P)
                assert np.allclose(Z, brute_force_map(image, kernel, S, P)), (R, S, P)
                H, Wd = image.shape
                assert Z.shape == ((H + 2 * P - R) // S + 1, (Wd + 2 * P - R) // S + 1)
                assert used_h == (Z.shape[0] - 1) * S + R <= H + 2 * P < used_h + S


def test_convolution_explorer(mnist):
    images, labels, _ = mnist
    conv = W.convolution_explorer(images[:10], labels[:10])
    assert "source" not in conv.controls  # no pad, no choice of source
    assert conv.state["H_out"] == conv.state["W_out"] == 26 and conv.state["unread"] == 0
    assert "H_out = floor((28 + 2&middot;0 &minus; 3) / 1) + 1 = <b>26</b>" in conv.text.value
    change(conv, "stride", 2)
    assert conv.state["H_out"] == 13 and conv.state["unread"] == 1
    assert "the last 1 row and column of the padded image is never read" in conv.text.value
    change(conv, "padding", 2)
    assert conv.state["H_out"] == 15 and conv.state["unread"] == 1  # floor(29 / 2) + 1
    change(conv, "stride", 3)
    assert conv.state["H_out"] == 10 and conv.state["unread"] == 2  # floor(29 / 3) + 1
    change(conv, "filter", "blur (3x3 mean)")
    Z = conv.state["Z"]
    assert np.allclose(Z, brute_force_map(images[0] / 255, np.full((3, 3), 1 / 9), 3, 2))
    assert Z.min() >= 0  # a blur of ink is never negative
    change(conv, "index", 3)
    assert conv.state["image"] == f"test image 3 (a {labels[3]})"
    assert "convolution explorer: blur (3x3 mean) on test image 3" in conv.title()


def test_convolution_explorer_trained_filters_and_drawing(mnist, model):
    images, labels, _ = mnist
    cnn = init_cnn((4, 8), kernel=5, hidden=16, seed=0)
    pad = W.drawing_pad(model, cnn_params=cnn)
    conv = W.convolution_explorer(images[:10], labels[:10], cnn_params=cnn, pad=pad)
    trained = [name for name in conv.controls["filter"].options if name.startswith("trained CNN")]
    assert len(trained) == 4
    change(conv, "filter", trained[2])
    assert conv.state["R"] == 5 and conv.state["H_out"] == 24 and np.array_equal(conv.filters[trained[2]], cnn["W1"][2, 0])
    conv.controls["source"].value = "your drawing"
    assert conv.state["image"] == "your drawing" and not conv.state["Z"].any()  # the pad is empty
    assert conv.controls["index"].disabled
    pad.set_image(images[1] / 255)  # drawing on the pad redraws the panel
    assert conv.state["Z"].any()
    assert np.allclose(conv.state["Z"], brute_force_map(pad.state["image28"], cnn["W1"][2, 0], 1, 0))
    conv.controls["source"].value = "test digit"
    assert not conv.controls["index"].disabled and conv.state["image"].startswith("test image 0")


def test_deep_explorer(mnist):
    """The panel of notebook 13: a plain 20-layer network at learning rate 0.05 barely learns in 40 steps;
    batch norm or residual connections make it learn; a small scale makes the activations vanish; a large
    scale and rate make the loss explode, and the readout says so."""
    images, labels, X = mnist
    deep = W.deep_explorer(X, labels)
    s = deep.state
    assert (s["depth"], s["scale"], s["lr"], s["batch_norm"], s["residual"]) == (20, 1.0, 0.05, False, False)
    assert len(s["act_std"]) == 20 and len(s["grad_std"]) == 21 and len(s["losses"]) == 40
    plain = s["final_loss"]
    assert plain > 1.8 and not s["diverged"]
    change(deep, "batch_norm", True)
    assert deep.state["final_loss"] < plain - 0.2 and "batch norm" in deep.text.value
    change(deep, "batch_norm", False)
    change(deep, "residual", True)
    assert deep.state["final_loss"] < plain - 0.2 and len(deep.state["act_std"]) == 10   # a first layer and 9 blocks
    change(deep, "residual", False)
    change(deep, "scale", 0.5)
    assert deep.state["act_std"][-1] < 1e-4 * deep.state["act_std"][0]     # 0.25 per layer: vanished
    change(deep, "scale", 2.0)
    deep.controls["lr"].value = 0.5
    assert deep.state["diverged"] and "exploded" in deep.text.value and np.all(np.isnan(deep.state["grad_std_after"]))
    assert "deep network explorer: 20 hidden layers" in deep.title()


def test_deep_explorer_needs_rows(mnist):
    images, labels, X = mnist
    with pytest.raises(ValueError, match="expected rows"):
        W.deep_explorer(images, labels)
    with pytest.raises(ValueError, match="trains on 2560"):
        W.deep_explorer(X[:100], labels[:100])
