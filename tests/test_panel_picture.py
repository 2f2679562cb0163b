"""The picture a panel stores beside its widget view, for GitHub, nbviewer and the book (no kernel there)."""

import base64

import ipywidgets
import numpy as np
import pytest
from matplotlib.figure import Figure

import nn_helpers as nn
from nn_helpers import widgets as W
from nn_helpers.widgets._panel import WIDGET_VIEW, Panel

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data():
    images, labels = nn.load_mnist("test")
    X = nn.to_features(images[:600])
    params = nn.init_params([784, 16, 10], seed=0)
    return images[:600], labels[:600], X, params


def every_panel(data):
    """Each panel of the series as a notebook builds it, by name."""
    images, labels, X, params = data
    probs = nn.predict_proba(params, X)
    return {
        "digit_browser": W.digit_browser(images, labels),
        "init_explorer": W.init_explorer(X[:200]),
        "softmax_explorer": W.softmax_explorer(),
        "step_explorer": W.step_explorer(nn.init_params([784, 8, 10], seed=0, dtype=np.float64),
                                         X[:8].astype(np.float64), labels[:8]),
        "bowl_explorer": W.bowl_explorer(),
        "threshold_explorer": W.threshold_explorer(probs, labels),
        "augment_explorer": W.augment_explorer(images[:4], labels[:4]),
        "training_panel": W.training_panel(X[:400], labels[:400], X[400:], labels[400:]),
        "drawing_pad": W.drawing_pad(params),
        "boundary_explorer": W.boundary_explorer(),
        "convolution_explorer": W.convolution_explorer(images[:10], labels[:10]),
        "deep_explorer": W.deep_explorer(np.resize(X, (2560, 784)), np.resize(labels, 2560)),
    }


def shown_png(panel):
    return panel.figure.outputs[0]["data"]["image/png"] if panel.figure.outputs else None


def test_every_panel_of_the_series_gives_its_picture(data):
    panels = every_panel(data)
    assert set(panels) >= set(W.__all__) - {"Panel", "mnist_preprocess"}, "a panel of widgets is not tested here"
    for name, panel in panels.items():
        bundle = panel._repr_mimebundle_()
        assert WIDGET_VIEW in bundle, f"{name}: the live widget is gone"
        assert "python3 dev.py app" in bundle["text/plain"] and "JupyterLab" in bundle["text/plain"], name
        assert "<code>python3 dev.py app</code>" in bundle["text/html"], name
        png = panel.picture()
        if name in ("training_panel", "drawing_pad"):  # nothing drawn yet: the readout stands for it
            assert png is None and "image/png" not in bundle, name
            assert panel.text.value in bundle["text/html"] and "<img" not in bundle["text/html"], name
        else:  # the figure the panel shows, as a PNG beside the widget and inside the HTML
            assert png == shown_png(panel) and base64.b64decode(png).startswith(PNG_MAGIC), name
            assert bundle["image/png"] == png, name
            assert f'<img src="data:image/png;base64,{png}"' in bundle["text/html"], name


def test_the_picture_follows_the_controls(data):
    images, labels, _, _ = data
    panel = W.digit_browser(images, labels)
    before = panel._repr_mimebundle_()["image/png"]
    panel.controls["index"].value = 3
    after = panel._repr_mimebundle_()
    assert after["image/png"] != before and after["image/png"] == shown_png(panel)
    assert 'alt="digit browser"' in after["text/html"]


def test_the_drawing_pad_shows_a_picture_once_a_digit_is_drawn(data):
    images, labels, _, params = data
    pad = W.drawing_pad(params)
    assert "Draw a digit" in pad._repr_mimebundle_()["text/html"]
    assert "drawing pad is live" in pad._repr_mimebundle_()["text/plain"]
    pad.set_image(images[0] / 255)
    assert pad._repr_mimebundle_()["image/png"] == shown_png(pad)
    pad.clear()
    assert "image/png" not in pad._repr_mimebundle_()


def test_the_training_panel_shows_its_curves_after_a_run(data):
    images, labels, X, _ = data
    panel = W.training_panel(X[:300], labels[:300], X[300:], labels[300:])
    panel.controls["epochs"].value = 1
    panel.train()
    bundle = panel._repr_mimebundle_()
    assert bundle["image/png"] == shown_png(panel) and "<img" in bundle["text/html"]


class Dial(Panel):
    """A new panel, written as the series writes them: it never mentions the picture."""

    name = "dial"

    def __init__(self):
        super().__init__({"x": ipywidgets.FloatSlider(1.0, min=0, max=2)})
        self.watch("x")
        self.update()

    def update(self):
        fig = Figure(figsize=(2, 2))
        fig.subplots().plot([0, 1], [0, self.controls["x"].value])
        self.state["x"] = self.controls["x"].value
        self.show(fig)
        self.say(f"x = {self.state['x']}")


def test_a_new_panel_gets_its_picture_without_code_of_its_own():
    panel = Dial()
    bundle = panel._repr_mimebundle_()
    assert set(bundle) == {WIDGET_VIEW, "text/html", "image/png", "text/plain"}
    assert bundle["image/png"] == shown_png(panel)
    assert bundle["text/plain"] == "dial: The sliders are live in JupyterLab and in `python3 dev.py app`."
