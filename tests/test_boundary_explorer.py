"""The 2-D playground panel (widgets.boundary_explorer), driven from Python: its state after control changes."""

import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers import widgets as W
from nn_helpers.widgets.boundary import COLOURS, GRID, LAMBDAS, class_regions


def png(panel):
    outputs = panel.figure.outputs
    assert len(outputs) == 1, f"expected one figure, found {len(outputs)} outputs"
    return outputs[0]["data"]["image/png"]


@pytest.fixture
def panel():
    return W.boundary_explorer()


def test_default_state_a_hidden_layer_separates_the_spiral(panel):
    st = panel.state
    assert st["layer_sizes"] == [2, 32, 3] and st["n_params"] == 2 * 32 + 32 + 32 * 3 + 3
    assert st["X_train"].shape == st["X_test"].shape == (200, 2)
    assert st["epoch"] == 300 and panel.controls["play"].value == 300
    assert st["probs"].shape == (GRID, GRID, 3) and np.allclose(st["probs"].sum(-1), 1, atol=1e-5)
    assert st["train_acc"] > 0.95 and st["test_acc"] > 0.9
    assert "held-out accuracy" in panel.text.value and "195 parameters" in panel.text.value


def test_depth_zero_is_a_linear_classifier_far_from_the_spiral(panel):
    before = png(panel)
    panel.controls["depth"].value = 0
    st = panel.state
    assert st["layer_sizes"] == [2, 3] and st["n_params"] == 9
    assert st["train_acc"] < 0.7
    assert png(panel) != before and "network 2-3, 9 parameters" in panel.text.value
    panel.controls["depth"].value = 3
    assert panel.state["layer_sizes"] == [2, 32, 32, 32, 3]


def test_weight_decay_shrinks_the_weights_and_changes_the_readout(panel):
    weights = lambda: sum(float((v ** 2).sum()) for k, v in panel.state["snapshots"][300].items() if k[0] == "W")
    before, text, figure = weights(), panel.text.value, png(panel)
    panel.controls["lam"].value = 0.03
    assert panel.state["settings"]["lam"] == 0.03 and weights() < 0.5 * before
    assert panel.text.value != text and png(panel) != figure
    assert panel.controls["lam"].options == LAMBDAS


def test_the_epoch_shown_moves_without_retraining(panel):
    history = panel.state["history"]
    panel.controls["epoch"].value = 0
    assert panel.state["epoch"] == 0 and panel.state["history"] is history
    untrained = panel.state["train_acc"]
    panel.controls["step"].click()
    assert panel.state["epoch"] == 6 and panel.controls["play"].value == 6
    panel.controls["play"].value = 150  # what Play does, tick by tick
    assert panel.state["epoch"] == 150 and panel.controls["epoch"].value == 150
    assert panel.state["train_acc"] > untrained


def test_more_epochs_retrain_and_show_the_last_one(panel):
    panel.controls["epoch"].value = 60
    panel.controls["epochs"].value = 500
    assert panel.state["epoch"] == 500 and panel.state["history"].epoch == list(range(0, 501, 10))
    assert panel.controls["play"].max == 500 and panel.controls["epoch"].step == 10
    assert len(panel.state["snapshots"]) == 51


@pytest.mark.parametrize("name, value", [("dataset", "moons"), ("noise", 0.3), ("n", 100), ("width", 8),
                                          ("activation", "tanh"), ("lr", 0.01), ("dropout", 0.2), ("seed", 3)])
def test_every_setting_retrains(panel, name, value):
    history, figure = panel.state["history"], png(panel)
    panel.controls[name].value = value
    assert panel.state["settings"][name] == value
    assert panel.state["history"] is not history and png(panel) != figure


def test_the_data_set_sets_the_classes_and_the_points(panel):
    panel.controls["dataset"].value = "xor"
    panel.controls["n"].value = 100
    st = panel.state
    assert st["layer_sizes"][-1] == 2 and st["probs"].shape[-1] == 2
    assert len(st["X_train"]) == len(st["X_test"]) == 100


def test_too_large_a_learning_rate_says_so(panel):
    panel.controls["depth"].value = 4
    panel.controls["width"].value = 64
    panel.controls["lr"].value = 1.0
    assert panel.state["history"] is None and "smaller learning rate" in panel.state["message"]
    assert "smaller learning rate" in panel.text.value and 0 in panel.state["snapshots"]
    panel.controls["lr"].value = 0.01
    assert panel.state["history"] is not None and panel.state["message"] == ""


def test_class_regions_mix_the_colours_by_probability():
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    image = class_regions(probs, 2)
    assert image.shape == (2, 2, 3) and image.min() >= 0.55 and image.max() <= 1
    assert np.allclose(image[0, 0], 0.45 * COLOURS[0] + 0.55) and np.allclose(image[0, 1], 0.45 * COLOURS[2] + 0.55)
    assert np.allclose(image[1, 0], 0.45 * (COLOURS[0] + COLOURS[1]) / 2 + 0.55)


def test_depth_zero_disables_what_acts_on_hidden_layers(panel):
    hidden = ("width", "activation", "dropout")
    assert not any(panel.controls[name].disabled for name in hidden)
    panel.controls["depth"].value = 0
    assert all(panel.controls[name].disabled for name in hidden)
    assert not panel.controls["lam"].disabled and not panel.controls["lr"].disabled
    panel.controls["depth"].value = 2
    assert not any(panel.controls[name].disabled for name in hidden)


def test_sliders_retrain_when_released_and_the_epoch_shown_follows_the_drag(panel):
    for name in ("noise", "n", "depth", "width", "lr", "lam", "dropout", "epochs", "seed"):
        assert panel.controls[name].continuous_update is False, name
    assert panel.controls["epoch"].continuous_update is True  # redraws only: cheap enough to follow


def test_set_changes_several_settings_and_trains_once(panel, monkeypatch):
    runs = []
    train = type(panel).retrain
    monkeypatch.setattr(type(panel), "retrain", lambda self: (runs.append(self.settings()), train(self)))
    panel.set(dataset="moons", noise=0.3, n=100, depth=3, width=16)
    assert len(runs) == 1 and runs[0]["dataset"] == "moons" and runs[0]["width"] == 16
    st = panel.state
    assert st["layer_sizes"] == [2, 16, 16, 16, 2] and len(st["X_train"]) == 100
    assert "network 2-16-16-16-2" in panel.text.value
    panel.controls["seed"].value = 1  # one control: still one training run
    assert len(runs) == 2


def test_set_names_an_unknown_setting(panel):
    with pytest.raises(ValueError, match="hidden_layers: not a setting.*depth"):
        panel.set(hidden_layers=3)


def test_the_readout_shows_the_accuracies_of_the_state(panel):
    st = panel.state
    assert f"training accuracy {100 * st['train_acc']:.1f}%" in panel.text.value
    assert f"held-out accuracy {100 * st['test_acc']:.1f}%" in panel.text.value
    panel.controls["epoch"].value = 0
    assert f"training accuracy {100 * panel.state['train_acc']:.1f}%" in panel.text.value
    assert panel.text.value.startswith("<div>epoch 0 of 300")


def test_the_loss_curves_are_the_losses_of_the_snapshots(panel):
    st = panel.state
    history = st["history"]
    assert history.epoch == sorted(st["snapshots"]) and history.epoch[0] == 0 and history.epoch[-1] == 300
    for epoch, train_loss, val_loss, val_acc in zip(history.epoch, history.train_loss, history.val_loss,
                                                     history.val_acc):
        params = st["snapshots"][epoch]
        probs = nn.predict_proba(params, st["X_train"])
        assert np.isclose(train_loss, -np.log(probs[np.arange(200), st["y_train"]]).mean(), rtol=1e-4)
        test_probs = nn.predict_proba(params, st["X_test"])
        assert np.isclose(val_loss, -np.log(test_probs[np.arange(200), st["y_test"]]).mean(), rtol=1e-4)
        assert val_acc == (test_probs.argmax(1) == st["y_test"]).mean()
    assert history.val_loss[0] > 1 > 0.2 > history.val_loss[-1]  # untrained (3 classes: about ln 3) -> trained
    assert st["test_acc"] == history.val_acc[-1]
