"""The notebook-05 panel: gradient descent and momentum on the quadratic bowl, driven from Python."""

import base64

import numpy as np
import pytest

from nn_helpers import widgets as W
from nn_helpers.widgets.training_loop import BOWLS, START, bowl_loss, bowl_path, steps_to


def png(panel):
    outputs = panel.figure.outputs
    assert len(outputs) == 1, f"expected one figure, found {len(outputs)} outputs"
    return outputs[0]["data"]["image/png"]


def test_plain_steps_multiply_each_coordinate_by_one_minus_eta_a():
    a, lr = (1.0, 4.0), 0.3
    path = bowl_path(a, lr, steps=5)
    expected = np.array(START) * (1 - lr * np.array(a)) ** np.arange(6)[:, None]
    assert np.allclose(path, expected, rtol=1e-12)
    assert bowl_loss(a, [1.0, 1.0]) == pytest.approx(2.5)


def test_the_loss_grows_exactly_beyond_two_over_a_max():
    a = BOWLS["round: a = (1, 4)"]
    limit = 2 / max(a)
    for lr in (0.9 * limit, 0.99 * limit):
        assert bowl_loss(a, bowl_path(a, lr, steps=200))[-1] < bowl_loss(a, START)
    for lr in (1.01 * limit, 1.1 * limit):
        assert bowl_loss(a, bowl_path(a, lr, steps=200))[-1] > bowl_loss(a, START)


def test_momentum_arrives_sooner_on_the_elongated_bowl():
    a = BOWLS["elongated: a = (0.2, 4)"]
    assert steps_to(a, 0.45, beta=0.6) < 0.5 * steps_to(a, 0.45)
    assert steps_to(a, 1e-5, max_steps=100) is None


def test_panel_reacts_to_its_controls():
    panel = W.bowl_explorer()
    assert set(panel.controls) == {"bowl", "lr", "beta"}
    assert panel.state["message"] == "" and not panel.state["diverged"]
    assert panel.state["path"].shape == (41, 2) and panel.state["limit"] == pytest.approx(0.5)
    base64.b64decode(png(panel))
    before = png(panel)
    panel.controls["lr"].value = 0.6                          # above 2 / a_max = 0.5
    assert panel.state["diverged"] and "The loss grows" in panel.state["message"]
    assert "nn-message" in panel.text.value and png(panel) != before
    panel.controls["beta"].value = 0.5                          # the limit moves to 2 (1 + beta) / a_max
    assert panel.state["limit"] == pytest.approx(0.75) and not panel.state["diverged"]
    panel.controls["bowl"].value = "elongated: a = (0.2, 4)"
    assert panel.state["a"] == (0.2, 4.0) and isinstance(panel.state["steps_to_tol"], int)
    panel.controls["lr"].value = 0.01
    panel.controls["beta"].value = 0.0
    assert panel.state["steps_to_tol"] > 1000 and panel.state["message"] == ""   # slow, but it gets there


def test_unknown_bowl_is_refused():
    with pytest.raises(ValueError, match=r"bowl='flat'; expected one of"):
        W.bowl_explorer(bowl="flat")
