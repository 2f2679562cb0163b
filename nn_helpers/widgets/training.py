"""Notebook 06: train a network with the chosen settings, live curves, Train and Stop buttons."""

from __future__ import annotations

import threading
import time

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..network import INITS, init_params
from ..plots import plot_history
from ..training import DivergenceError, StopTraining, train
from ._panel import Panel, slider_style


class TrainingPanel(Panel):
    name = "training-panel"
    N_TRAIN, N_VAL = 5000, 2000  # subset sizes, so a run takes seconds
    MAX_STEPS = 500  # per epoch: small batches train on fewer images

    def __init__(self, X_train, y_train, X_val, y_val, activation="relu", seed=0):
        self.data = (X_train, y_train, X_val[: self.N_VAL], y_val[: self.N_VAL])
        self.activation, self.seed = activation, seed
        self.thread, self.stop_requested = None, False
        style = slider_style()
        controls = {
            "lr": widgets.FloatLogSlider(0.1, base=10, min=-4, max=1, step=0.1, description="learning rate",
                                         readout_format=".3g", **style),
            "hidden": widgets.IntSlider(32, min=1, max=256, description="hidden units", **style),
            "batch_size": widgets.SelectionSlider(options=[2**k for k in range(13)], value=64,
                                                  description="batch size", **style),
            "epochs": widgets.IntSlider(5, min=1, max=20, description="epochs", **style),
            "optimizer": widgets.Dropdown(options=["sgd", "momentum", "adam"], value="momentum",
                                          description="optimizer", **style),
            "init": widgets.Dropdown(options=INITS, value="he", description="init", **style),
            "train": widgets.Button(description="Train", button_style="primary", icon="play"),
            "stop": widgets.Button(description="Stop", icon="stop", disabled=True),
        }
        self.progress = widgets.IntProgress(0, min=0, max=1, description="epoch 0", **slider_style())
        super().__init__(controls)
        self.state.update(history=None, val_acc=float("nan"), message="")
        controls["train"].on_click(lambda button: self.start())
        controls["stop"].on_click(lambda button: self.stop())
        self.watch("lr", "hidden", "batch_size", "epochs", "optimizer", "init")
        self.update()

    def layout(self) -> list:
        sliders = [c for name, c in self.controls.items() if name not in ("train", "stop")]
        buttons = widgets.HBox([self.controls["train"], self.controls["stop"]],
                               layout=widgets.Layout(margin="4px 0 4px 114px"))
        return [*sliders, buttons, self.progress, self.text, self.figure]

    def settings(self) -> dict:
        """The control values that define a run."""
        return {name: self.controls[name].value for name in ("lr", "hidden", "batch_size", "epochs", "optimizer", "init")}

    def n_train(self) -> int:
        """How many training images a run uses: at most MAX_STEPS batches per epoch."""
        return min(self.N_TRAIN, len(self.data[0]), self.MAX_STEPS * self.controls["batch_size"].value)

    def update(self) -> None:
        """A control moved: describe the run the Train button will start."""
        s = self.settings()
        self.say(f"Press <b>Train</b>: 784-{s['hidden']}-10, {s['optimizer']} with learning rate {s['lr']:.3g}, "
                 f"{s['epochs']} epochs, batches of {s['batch_size']}, on {self.n_train():,} images.")

    def train(self):
        """Train with the current settings and return the History (what Train does, but waits)."""
        self.stop_requested = False
        self.set_running(True)
        try:
            self.run()
        finally:
            self.set_running(False)
        return self.state["history"]

    def start(self) -> None:
        """The Train button: train in a background thread, so the kernel stays free for Stop."""
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self.train_in_background, daemon=True)
            self.thread.start()

    def train_in_background(self) -> None:
        try:
            self.train()
        except Exception as error:  # no traceback in a thread: show what went wrong instead
            self.state["message"] = f"Training failed: {type(error).__name__}: {error}"
            self.say("", self.state["message"])

    def wait(self, timeout: float | None = None) -> None:
        """Wait until a run started by the Train button has ended."""
        if self.thread is not None:
            self.thread.join(timeout)

    def stop(self) -> None:
        """The Stop button: end training after the current epoch."""
        self.stop_requested = True

    def set_running(self, running: bool) -> None:
        for name, control in self.controls.items():
            control.disabled = (name == "stop") != running

    def run(self) -> None:
        s = self.settings()
        n = self.n_train()
        X, y, X_val, y_val = self.data
        params = init_params([X.shape[1], s["hidden"], 10], init=s["init"], seed=self.seed)
        self.progress.value, self.progress.max, self.progress.description = 0, s["epochs"], "epoch 0"
        self.state.update(history=None, val_acc=float("nan"), message="")
        self.say(f"Training on {n:,} images...")
        self.last_draw = 0.0
        start = time.perf_counter()
        try:
            _, history = train(params, X[:n], y[:n], epochs=s["epochs"], batch_size=s["batch_size"],
                               optimizer=s["optimizer"], lr=s["lr"], activation=self.activation,
                               X_val=X_val, y_val=y_val, seed=self.seed, callbacks=[self.on_epoch],
                               progress=False)
        except DivergenceError as error:
            self.state["message"] = str(error)
            self.say("Training stopped: the loss blew up.", str(error))
            return
        seconds = time.perf_counter() - start
        self.state.update(history=history, val_acc=float(history.val_acc[-1]))
        self.draw(history, final=True)
        done = f"after {len(history)} epochs" if not history.stopped_early else f"stopped after epoch {len(history)}"
        self.state["message"] = self.hint(history)
        self.say(f"Validation accuracy <b>{history.val_acc[-1]:.4f}</b> {done} "
                 f"({n:,} training images, {seconds:.1f} s).", self.state["message"])

    def hint(self, history) -> str:
        """"" after a good run; otherwise a word on what went wrong."""
        s = self.settings()
        if history.stopped_early:
            return f"Stopped by you after epoch {len(history)} of {s['epochs']}."
        if history.val_acc[-1] >= 0.5:
            return ""
        if s["lr"] >= 1:
            return (f"The network learned almost nothing: the learning rate {s['lr']:.3g} is too large, each step "
                    f"overshoots. Try {s['lr'] / 10:.3g}.")
        if s["hidden"] < 4:
            return (f"With {s['hidden']} hidden unit(s), each image is squeezed into {s['hidden']} number(s) "
                    "before the output layer: try 16 or more.")
        return "The network learned little: try another learning rate, or more epochs."

    def on_epoch(self, epoch, history, params) -> None:
        """After each epoch: move the progress bar, redraw the curves (at most twice a second)."""
        self.progress.value, self.progress.description = epoch, f"epoch {epoch}/{self.progress.max}"
        self.say(f"Epoch {epoch}: validation accuracy {history.val_acc[-1]:.4f}")
        if time.perf_counter() - self.last_draw > 0.5:
            self.draw(history)
        if self.stop_requested:
            raise StopTraining

    def draw(self, history, final=False) -> None:
        fig = Figure(figsize=(8, 3))
        plot_history(history, axes=fig.subplots(1, 2))
        s = self.settings()
        fig.suptitle(f"784-{s['hidden']}-10, {s['optimizer']}, learning rate {s['lr']:.3g}, batches of "
                     f"{s['batch_size']}" + ("" if final else " (training...)"))
        fig.tight_layout()
        self.show(fig)
        self.last_draw = time.perf_counter()


def training_panel(X_train, y_train, X_val, y_val) -> Panel:
    """Train a 784-d1-10 network (d1 hidden units) with the chosen settings, on 5,000 training images (fewer
    for tiny batches, at most 500 steps per epoch) and 2,000 validation images: a run takes seconds.

    Controls: ``lr``, ``hidden``, ``batch_size``, ``epochs``, ``optimizer``, ``init``, ``train``
    (starts training in the background, with a progress bar and live curves) and ``stop``.
    ``panel.train()`` does what Train does and waits for the result.
    State: ``history`` (History or None), ``val_acc``, ``message`` ("" or what went wrong, e.g. the
    DivergenceError text when the learning rate is too large).
    """
    return TrainingPanel(X_train, y_train, X_val, y_val)
