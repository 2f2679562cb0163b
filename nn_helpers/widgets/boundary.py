"""The 2-D playground: a small network trained on toy points, its class regions drawn as colours.

Every settings change trains a new network from scratch (full-batch Adam on ``toy_data`` points, one
step per epoch) and keeps a copy of its parameters, with their losses, at ``FRAMES`` moments of the
training; the loss curves are drawn through these moments, and Play and Step show the network at
them, so the boundary moves as it learns without retraining.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..network import init_params, predict_proba
from ..optimizers import Adam
from ..threads import blas_threads
from ..toy_data import BOX, DATASETS, toy_data
from ..training import DivergenceError, History, evaluate, train
from ._panel import Panel, slider_style

LAMBDAS = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)  #: choices of the L2 lambda slider
COLOURS = np.array([[0.84, 0.15, 0.16], [0.12, 0.47, 0.71], [0.17, 0.63, 0.17]])  # red, blue, green
FRAMES = 50  # parameter snapshots per training run: what Play and Step show
GRID = 120  # grid points per axis for the class regions
COLUMN = 425  # px: two columns of controls side by side fit in JupyterLab in a window 1300 px wide
#: The controls that define a training run: changing one trains a new network.
SETTINGS = ("dataset", "noise", "n", "depth", "width", "activation", "lr", "lam", "dropout", "epochs", "seed")
HIDDEN = ("width", "activation", "dropout")  # act on hidden layers only: disabled at depth 0


def class_regions(probs: np.ndarray, grid: int) -> np.ndarray:
    """Probabilities (grid*grid, K) on a grid -> an RGB image (grid, grid, 3): each pixel the classes'
    colours mixed by their probabilities, paled towards white so that the points stand out."""
    rgb = probs @ COLOURS[: probs.shape[1]]
    return (0.45 * rgb + 0.55).reshape(grid, grid, 3)


class BoundaryExplorer(Panel):
    name = "boundary-explorer"

    def __init__(self, dataset="spiral", depth=1, seed=0):
        style = {**slider_style(), "layout": widgets.Layout(width=f"{COLUMN - 10}px")}
        controls = {
            "dataset": widgets.Dropdown(options=DATASETS, value=dataset, description="data set", **style),
            "noise": widgets.FloatSlider(0.1, min=0.0, max=0.5, step=0.05, description="noise", **style),
            "n": widgets.IntSlider(200, min=20, max=500, step=10, description="training points", **style),
            "depth": widgets.IntSlider(depth, min=0, max=4, description="hidden layers", **style),
            "width": widgets.IntSlider(32, min=1, max=64, description="units per layer", **style),
            "activation": widgets.Dropdown(options=["relu", "tanh", "sigmoid"], value="relu",
                                           description="activation", **style),
            "lr": widgets.FloatLogSlider(0.03, base=10, min=-3, max=0, step=0.25, description="learning rate",
                                         readout_format=".3g", **style),
            "lam": widgets.SelectionSlider(options=LAMBDAS, value=0.0, description="L2 lambda", **style),
            "dropout": widgets.FloatSlider(0.0, min=0.0, max=0.5, step=0.05, description="dropout p", **style),
            "epochs": widgets.IntSlider(300, min=50, max=600, step=50, description="epochs", **style),
            "seed": widgets.IntSlider(seed, min=0, max=9, description="seed", **style),
            "play": widgets.Play(0, min=0, max=300, step=6, interval=150, description="play"),
            "epoch": widgets.IntSlider(0, min=0, max=300, step=6, description="epoch shown", **style),
            "step": widgets.Button(description="Step", icon="step-forward",
                                   tooltip="show the network a few epochs later"),
        }
        super().__init__(controls)
        self.link = widgets.link((controls["play"], "value"), (controls["epoch"], "value"))
        controls["step"].on_click(lambda button: self.step())
        self.quiet = False  # True while retrain() moves the epoch slider itself
        self.holding = False  # True while set() changes several settings at once
        for name in SETTINGS:
            if hasattr(controls[name], "continuous_update"):
                controls[name].continuous_update = False  # retrain once on release, not at every value dragged over
            controls[name].observe(lambda change: self.holding or self.retrain(), names="value")
        controls["epoch"].observe(lambda change: self.quiet or self.update(), names="value")
        self.retrain()

    def layout(self) -> list:
        c = self.controls
        column = widgets.Layout(width=f"{COLUMN}px", flex="0 0 auto")  # never squeezed below its sliders
        data = widgets.VBox([widgets.HTML("<b>Data</b>"), c["dataset"], c["noise"], c["n"], c["seed"],
                             widgets.HTML("<b>Training</b>"), c["lr"], c["epochs"]], layout=column)
        net = widgets.VBox([widgets.HTML("<b>Network</b>"), c["depth"], c["width"], c["activation"],
                            widgets.HTML("<b>Regularisation</b>"), c["lam"], c["dropout"]], layout=column)
        play = widgets.HBox([c["play"], c["step"], c["epoch"]])
        columns = widgets.HBox([data, net], layout=widgets.Layout(flex_flow="row wrap"))  # narrow: one below the other
        return [columns, play, self.text, self.figure]

    def settings(self) -> dict:
        return {name: self.controls[name].value for name in SETTINGS}

    def set(self, **settings) -> None:
        """Change several settings and train once, e.g. ``panel.set(dataset="moons", depth=3)``
        (setting the controls one by one would train a network after each)."""
        unknown = sorted(set(settings) - set(SETTINGS))
        if unknown:
            raise ValueError(f"set() got {', '.join(unknown)}: not a setting of the boundary explorer; "
                             f"the settings are {', '.join(SETTINGS)}.")
        self.holding = True
        try:
            for name, value in settings.items():
                self.controls[name].value = value
        finally:
            self.holding = False
        self.retrain()

    def retrain(self) -> None:
        """A setting changed: new points, a new network, trained from scratch; show its last epoch."""
        s = self.settings()
        for name in HIDDEN:  # softmax regression has no hidden layer for them to act on
            self.controls[name].disabled = s["depth"] == 0
        X, y = toy_data(s["dataset"], 2 * s["n"], s["noise"], s["seed"])
        X_train, y_train, X_test, y_test = X[: s["n"]], y[: s["n"]], X[s["n"] :], y[s["n"] :]
        K = int(y.max()) + 1
        sizes = [2] + [s["width"]] * s["depth"] + [K]
        params = init_params(sizes, seed=s["seed"])
        every = max(1, s["epochs"] // FRAMES)
        snapshots, curves = {}, History()

        def keep(epoch, params):
            """A copy of the weights, and their losses: measured at the snapshots only, not after every
            epoch, which would double the time of a training run."""
            snapshots[epoch] = {k: v.copy() for k, v in params.items()}
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                train_loss, train_acc = evaluate(params, X_train, y_train, s["activation"])
                val_loss, val_acc = evaluate(params, X_test, y_test, s["activation"])
            for name, value in (("epoch", epoch), ("train_loss", train_loss), ("train_acc", train_acc),
                                ("val_loss", val_loss), ("val_acc", val_acc)):
                getattr(curves, name).append(value)

        def after_epoch(epoch, history, params):
            if epoch % every == 0 or epoch == s["epochs"]:
                keep(epoch, params)

        keep(0, params)
        message = ""
        try:
            # One BLAS thread: on matrices of a few hundred rows a second thread only adds waiting (a
            # learner's kernel has one per core: twice the CPU time, seen on 2 cores).
            with blas_threads(1):
                train(params, X_train, y_train, epochs=s["epochs"], batch_size=None,
                      optimizer=Adam(s["lr"], weight_decay=s["lam"]), activation=s["activation"],
                      dropout=s["dropout"], seed=s["seed"], train_sample=0, progress=False, callbacks=[after_epoch])
            history = curves
        except DivergenceError:
            history = None
            message = "the loss diverged: try a smaller learning rate."
        self.state.update(settings=s, layer_sizes=sizes, X_train=X_train, y_train=y_train, X_test=X_test,
                          y_test=y_test, history=history, snapshots=snapshots, message=message,
                          n_params=int(sum(v.size for v in params.values())))
        self.quiet = True
        try:
            for name in ("play", "epoch"):
                control = self.controls[name]
                control.max, control.step = s["epochs"], every
                control.value = max(snapshots)  # (the link moves Play along)
        finally:
            self.quiet = False
        self.update()

    def step(self) -> None:
        """The Step button: show the network one frame (a few epochs) later."""
        epoch = self.controls["epoch"]
        epoch.value = min(epoch.max, epoch.value + epoch.step)

    def update(self) -> None:
        """Draw the network at the epoch shown (the last snapshot at or before it)."""
        st = self.state
        shown = max(e for e in st["snapshots"] if e <= self.controls["epoch"].value)
        params = st["snapshots"][shown]
        activation = st["settings"]["activation"]
        axis = np.linspace(-BOX, BOX, GRID, dtype=np.float32)
        grid = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
        with blas_threads(1):
            probs = predict_proba(params, grid, activation)
            train_acc = float((predict_proba(params, st["X_train"], activation).argmax(1) == st["y_train"]).mean())
            test_acc = float((predict_proba(params, st["X_test"], activation).argmax(1) == st["y_test"]).mean())
        st.update(epoch=shown, probs=probs.reshape(GRID, GRID, -1), train_acc=train_acc, test_acc=test_acc)
        self.show(self.draw())
        sizes = "-".join(map(str, st["layer_sizes"]))
        self.say(f"epoch {shown} of {st['settings']['epochs']}: training accuracy {100 * train_acc:.1f}%, "
                 f"held-out accuracy {100 * test_acc:.1f}%; network {sizes}, {st['n_params']:,} parameters",
                 st["message"])

    def draw(self) -> Figure:
        st = self.state
        fig = Figure(figsize=(9.5, 4.2))  # fixed margins: a constrained layout would double the redraw time
        regions, curves = fig.subplots(1, 2, width_ratios=[1, 1.15])
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.92, wspace=0.22)
        regions.imshow(class_regions(st["probs"].reshape(GRID * GRID, -1), GRID), origin="lower",
                       extent=(-BOX, BOX, -BOX, BOX), interpolation="bilinear")
        regions.scatter(*st["X_train"].T, c=COLOURS[st["y_train"]], marker="o", s=14, edgecolors="white",
                        linewidths=0.5)
        regions.scatter(*st["X_test"].T, c=COLOURS[st["y_test"]], marker="x", s=12, linewidths=0.9)
        regions.set(xlim=(-BOX, BOX), ylim=(-BOX, BOX), aspect="equal", xlabel="$x_1$", ylabel="$x_2$",
                    title=f"class regions after {st['epoch']} epochs")
        regions.legend(handles=[Line2D([], [], color="0.3", marker="o", linestyle="", label="training points"),
                                Line2D([], [], color="0.3", marker="x", linestyle="", label="held-out points")],
                       loc="lower left", fontsize=8, framealpha=0.8)
        history = st["history"]
        if history is not None:
            curves.plot(history.epoch, history.train_loss, color="k", label="training")
            curves.plot(history.epoch, history.val_loss, color="k", linestyle="--", label="held-out")
            curves.axvline(st["epoch"], color="grey", linewidth=0.8)
            curves.legend()
        curves.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss", xlim=(0, st["settings"]["epochs"]))
        return fig


def boundary_explorer(dataset: str = "spiral", depth: int = 1, seed: int = 0) -> Panel:
    """A network on 2-D toy points (``toy_data``): its class regions, the points and the loss curves.

    Controls: ``dataset``, ``noise``, ``n`` (training points; as many held-out points), ``seed`` (points,
    weights and dropout), ``depth`` (hidden layers, 0-4: 0 is softmax regression), ``width`` (units per
    hidden layer), ``activation``, ``lr`` (Adam's learning rate, full batch: one step per epoch), ``lam``
    (the L2 lambda, weight decay), ``dropout`` (p), ``epochs``; ``play``, ``step`` and ``epoch`` show
    the network during its training (each change of another control trains a new one; a slider trains
    when released, not at every value it is dragged over). At depth 0, ``width``, ``activation`` and
    ``dropout`` are disabled: there is no hidden layer for them to act on. ``panel.set(**settings)``
    changes several settings and trains once.

    State: ``settings``, ``layer_sizes``, ``n_params``, ``X_train``, ``y_train``, ``X_test``, ``y_test``,
    ``history`` (a :class:`History` of the snapshots: ``epoch`` 0, ..., ``epochs``, and the loss and
    accuracy of each on the training and the held-out points; None when the training diverged),
    ``snapshots`` (epoch -> parameters), ``epoch`` (shown), ``probs`` (GRID, GRID, K) (the
    class probabilities on the grid drawn), ``train_acc``, ``test_acc``, ``message``.
    """
    return BoundaryExplorer(dataset, depth, seed)
