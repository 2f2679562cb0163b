"""Interactive panels for the notebooks: sliders, buttons and a drawing pad (ipywidgets 8 + matplotlib).

Every function returns a :class:`Panel`. Put it last in a cell to show it.

- ``panel.controls``: its widgets by name, e.g. ``panel.controls["index"]``;
- ``panel.state``: the numbers it shows right now.

Changing a control's value (with the mouse, or in code: ``panel.controls["index"].value = 7``)
recomputes and redraws at once, so a notebook can set a value and assert on ``panel.state`` in the
same cell.

How a figure is shown: a panel draws a matplotlib ``Figure`` made without pyplot (so figures never
pile up in pyplot's list and none is shown twice), renders it to a PNG, and makes that PNG the only
output of the panel's ``Output`` widget, replacing the previous one in a single step (no flicker).
"""

from __future__ import annotations

import base64
import io
import threading
import time

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from .augment import affine
from .gradcheck import gradient_check
from .losses import softmax
from .network import INITS, forward, init_params, layer_sizes, predict_proba
from .plots import plot_history
from .preprocess import mnist_preprocess, resize
from .training import DivergenceError, StopTraining, train

__all__ = [
    "Panel", "digit_browser", "init_explorer", "softmax_explorer", "epsilon_explorer",
    "training_panel", "threshold_explorer", "drawing_pad", "mnist_preprocess", "augment_explorer",
]

DPI = 80  # resolution of the PNG figures


def figure_output(fig: Figure) -> dict:
    """A figure as one notebook output (a PNG image), the form ``Output.outputs`` holds."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": png, "text/plain": "<Figure>"}}


class Panel:
    """Controls, a text readout and a figure in one box; subclasses fill in :meth:`update`."""

    name = "panel"

    def __init__(self, controls: dict):
        self.controls = controls
        self.state = {}
        self.text = widgets.HTML()
        self.text.add_class("nn-readout")
        self.figure = widgets.Output()
        self.figure.add_class("nn-figure")
        self.widget = widgets.VBox(self.layout())
        self.widget.add_class("nn-panel")
        self.widget.add_class(f"nn-{self.name}")

    def layout(self) -> list:
        """The widgets from top to bottom: controls, then the text, then the figure."""
        return [*self.controls.values(), self.text, self.figure]

    def watch(self, *names: str) -> None:
        """Call :meth:`update` whenever one of these controls changes its value."""
        for name in names:
            self.controls[name].observe(lambda change: self.update(), names="value")

    def update(self) -> None:
        """Recompute ``self.state`` from the controls and redraw."""
        raise NotImplementedError

    def show(self, fig: Figure) -> None:
        """Replace the figure on display with ``fig``."""
        self.figure.outputs = (figure_output(fig),)

    def say(self, html: str, message: str = "") -> None:
        """Show ``html`` in the readout, and ``message`` (a warning) in orange under it."""
        warning = f'<div class="nn-message" style="color:#b35900">{message}</div>' if message else ""
        self.text.value = f"<div>{html}</div>{warning}"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def slider_style(**kwargs) -> dict:
    """Common keyword arguments for sliders: a wide label, and a wide slider."""
    return dict(style={"description_width": "110px"}, layout=widgets.Layout(width="480px"), **kwargs)


# --------------------------------------------------------------------------------------------------
# 01: browse the digits


class DigitBrowser(Panel):
    name = "digit-browser"

    def __init__(self, images, labels):
        images = np.asarray(images)
        self.images = images.reshape(len(images), 28, 28)
        self.labels = np.asarray(labels)
        index = widgets.IntSlider(0, min=0, max=len(images) - 1, description="index", **slider_style())
        options = [("all", "all")] + [(str(d), d) for d in range(10)]
        digit = widgets.Dropdown(options=options, value="all", description="digit", **slider_style())
        super().__init__({"digit": digit, "index": index})
        self.watch("index")
        digit.observe(self.on_digit, names="value")
        self.update()

    def positions(self) -> np.ndarray:
        """Indices into ``images`` of the digits the slider walks through."""
        digit = self.controls["digit"].value
        return np.arange(len(self.labels)) if digit == "all" else np.flatnonzero(self.labels == digit)

    def on_digit(self, change) -> None:
        """A new digit was chosen: restart the slider at its first image."""
        index = self.controls["index"]
        if index.value != 0:
            index.value = 0  # redraws
        else:
            self.update()
        index.max = len(self.positions()) - 1

    def update(self) -> None:
        i = int(self.positions()[self.controls["index"].value])
        label = int(self.labels[i])
        self.state.update(index=i, label=label)
        fig = Figure(figsize=(3, 3), layout="constrained")
        ax = fig.subplots()
        ax.imshow(self.images[i], cmap="gray_r")
        ax.set(title=f"images[{i}]: label {label}", xticks=[], yticks=[])
        self.show(fig)
        self.say(f"images[{i}] shows a <b>{label}</b>")


def digit_browser(images, labels) -> Panel:
    """Browse ``images`` (n, 28, 28) or (n, 784) with their ``labels`` (n,).

    Controls: ``index`` (slider), ``digit`` ("all" or 0..9: browse only that digit).
    State: ``index`` (index into ``images``), ``label``.
    """
    return DigitBrowser(images, labels)


# --------------------------------------------------------------------------------------------------
# 02: initialisation and the spread of the activations


class InitExplorer(Panel):
    name = "init-explorer"

    def __init__(self, X, layer_sizes, activation, seed, n_samples=1000):
        self.X = np.asarray(X, dtype=np.float32)[:n_samples]
        self.sizes, self.activation, self.seed = list(layer_sizes), activation, seed
        init = widgets.Dropdown(options=INITS, value="he", description="init", **slider_style())
        scale = widgets.FloatLogSlider(1.0, base=10, min=-2, max=2, step=0.1, description="scale",
                                       readout_format=".3g", **slider_style())
        super().__init__({"init": init, "scale": scale})
        self.watch("init", "scale")
        self.update()

    def update(self) -> None:
        init, scale = self.controls["init"].value, self.controls["scale"].value
        params = init_params(self.sizes, init=init, seed=self.seed, scale=scale)
        with np.errstate(all="ignore"):  # huge scales overflow; we report it instead
            _, cache = forward(params, self.X, self.activation)
            hidden = [cache[f"A{l}"] for l in range(1, len(self.sizes) - 1)]
            std = [float(A.std()) for A in hidden]
        dead = [float(np.mean(A == 0)) for A in hidden]
        self.state.update(std=std, dead=dead)
        self.show(self.draw(hidden, std, dead, init, scale))
        rows = " · ".join(f"layer {l}: std {s:.3g} ({d:.0%} zeros)" for l, (s, d) in enumerate(zip(std, dead), 1))
        bad = not all(np.isfinite(std))
        self.say(rows, "The activations overflowed: the weights are far too large." if bad else "")

    def draw(self, hidden, std, dead, init, scale) -> Figure:
        """One histogram per hidden layer, of the activations that are not 0 (the zeros are counted in
        the title: with ReLU about half the units are off, and their spike would hide the rest)."""
        fig = Figure(figsize=(3 * len(hidden), 2.8), layout="constrained")
        for l, (ax, A) in enumerate(zip(np.atleast_1d(fig.subplots(1, len(hidden))), hidden), 1):
            values = A[np.isfinite(A) & (A != 0)]
            ax.hist(values, bins=50, color="tab:blue", histtype="stepfilled")
            ax.set(title=f"layer {l}: std {std[l - 1]:.3g}\n{dead[l - 1]:.0%} are 0 (not shown)",
                   xlabel="activation", ylabel="count" if l == 1 else None)
        fig.suptitle(f"Hidden activations, init={init}, scale={scale:.3g}")
        return fig


def init_explorer(X, layer_sizes=(784, 256, 256, 256, 10), activation="relu", seed=0) -> Panel:
    """Histograms of each hidden layer's activations for the first 1000 rows of ``X`` (n, 784), for
    the chosen initialisation.

    Controls: ``init`` (he, xavier, uniform), ``scale`` (multiplies every weight's std).
    State: ``std`` (activation std per hidden layer), ``dead`` (fraction of outputs exactly 0 per
    hidden layer: ReLU units that are off).
    """
    return InitExplorer(X, layer_sizes, activation, seed)


# --------------------------------------------------------------------------------------------------
# 03: softmax and temperature


class SoftmaxExplorer(Panel):
    name = "softmax-explorer"

    def __init__(self, logits, temperature):
        controls = {f"z{k}": widgets.FloatSlider(float(z), min=-10, max=10, step=0.1, description=f"z{k}",
                                                 **slider_style()) for k, z in enumerate(logits)}
        controls["temperature"] = widgets.FloatLogSlider(temperature, base=10, min=-2, max=2, step=0.05,
                                                         description="temperature T", readout_format=".3g",
                                                         **slider_style())
        super().__init__(controls)
        self.watch(*controls)
        self.update()

    def update(self) -> None:
        z = np.array([c.value for name, c in self.controls.items() if name != "temperature"])
        T = self.controls["temperature"].value
        probs = softmax((z / T)[None, :])[0]
        self.state.update(probs=probs, logits=z, temperature=T)
        fig = Figure(figsize=(5, 3), layout="constrained")
        ax = fig.subplots()
        bars = ax.bar([f"z{k}" for k in range(len(z))], probs, color="tab:orange")
        ax.bar_label(bars, fmt="%.3f")
        ax.set(ylim=(0, 1.1), xlabel="class", ylabel="probability", title=f"softmax(z / T), T = {T:.3g}")
        self.show(fig)
        self.say("probabilities: " + ", ".join(f"{p:.3f}" for p in probs))


def softmax_explorer(logits=(2.0, 1.0, 0.1), temperature=1.0) -> Panel:
    """A bar chart of softmax(z / T) for the logits z and temperature T set by sliders.

    Controls: ``z0``, ``z1``, ... (one per logit), ``temperature``. State: ``probs`` (np.ndarray).
    """
    return SoftmaxExplorer(logits, temperature)


# --------------------------------------------------------------------------------------------------
# 04: the step size of the gradient check


class EpsilonExplorer(Panel):
    name = "epsilon-explorer"

    def __init__(self, params, X, y, activation, n_samples=32, max_entries=8):
        self.params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
        self.X, self.y = np.asarray(X, dtype=np.float64)[:n_samples], np.asarray(y)[:n_samples]
        self.activation, self.max_entries = activation, max_entries
        self.errors = {}  # log10(eps) -> relative error, computed once each
        self.curve = np.arange(-12, 0)  # log10(eps) of the points on the curve
        log10_eps = widgets.FloatSlider(-6.0, min=-12, max=-1, step=0.5, description="log10(eps)",
                                        **slider_style())
        super().__init__({"log10_eps": log10_eps})
        self.watch("log10_eps")
        self.update()

    def error(self, log10_eps: float) -> float:
        """Relative error between backprop and central differences with eps = 10**log10_eps."""
        if log10_eps not in self.errors:
            with np.errstate(all="ignore"):
                self.errors[log10_eps] = gradient_check(self.params, self.X, self.y, self.activation,
                                                        h=10.0**log10_eps, max_entries=self.max_entries)
        return self.errors[log10_eps]

    def update(self) -> None:
        log10_eps = float(self.controls["log10_eps"].value)
        eps, error = 10.0**log10_eps, self.error(log10_eps)
        curve = [self.error(float(e)) for e in self.curve]
        self.state.update(eps=eps, error=error)
        fig = Figure(figsize=(5, 3.2), layout="constrained")
        ax = fig.subplots()
        ax.loglog(10.0**self.curve, np.maximum(curve, 1e-16), "o-", color="tab:blue", label="relative error")
        ax.loglog([eps], [max(error, 1e-16)], "o", color="crimson", markersize=10, label=f"eps = {eps:.1e}")
        ax.set(xlabel="eps", ylabel="relative error", title="Gradient check: error vs eps")
        ax.grid(alpha=0.3)
        ax.legend()
        self.show(fig)
        if eps < 1e-9:
            hint = "eps is tiny: J(θ+eps) and J(θ−eps) agree in almost every digit, so rounding error dominates."
        elif eps > 1e-3:
            hint = "eps is large: the central difference is off by about eps², and may step over a ReLU kink."
        else:
            hint = ""
        self.state["message"] = hint
        self.say(f"eps = {eps:.1e}: relative error {error:.2e}", hint)


def epsilon_explorer(params, X, y, activation="relu") -> Panel:
    """The gradient check's relative error as the finite-difference step eps changes.

    Uses float64 copies of ``params``, the first 32 rows of ``X``/``y`` and 8 random entries per
    parameter, so each point takes a moment.
    Control: ``log10_eps`` (-12..-1). State: ``eps``, ``error``, ``message`` (a hint at the extremes).
    """
    return EpsilonExplorer(params, X, y, activation)


# --------------------------------------------------------------------------------------------------
# 05: train a network


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
    """Train a 784-h-10 network with the chosen settings, on 5,000 training images (fewer for tiny
    batches, at most 500 steps per epoch) and 2,000 validation images: a run takes seconds.

    Controls: ``lr``, ``hidden``, ``batch_size``, ``epochs``, ``optimizer``, ``init``, ``train``
    (starts training in the background, with a progress bar and live curves) and ``stop``.
    ``panel.train()`` does what Train does and waits for the result.
    State: ``history`` (History or None), ``val_acc``, ``message`` ("" or what went wrong, e.g. the
    DivergenceError text when the learning rate is too large).
    """
    return TrainingPanel(X_train, y_train, X_val, y_val)


# --------------------------------------------------------------------------------------------------
# 06: answer only when confident


class ThresholdExplorer(Panel):
    name = "threshold-explorer"

    def __init__(self, probs, y):
        probs = np.asarray(probs)
        self.confidence, self.correct = probs.max(axis=1), probs.argmax(axis=1) == np.asarray(y)
        threshold = widgets.FloatSlider(0.5, min=0, max=1, step=0.01, description="threshold", **slider_style())
        super().__init__({"threshold": threshold})
        # answering the k most confident images: coverage k/n, accuracy (correct among them)/k
        order = np.argsort(-self.confidence, kind="stable")
        k = np.arange(1, len(order) + 1)
        self.curve = (k / len(order), np.cumsum(self.correct[order]) / k)
        self.watch("threshold")
        self.update()

    def stats(self, threshold: float):
        """(coverage, accuracy on the answered, n_answered) when answering only if p >= threshold."""
        answered = self.confidence >= threshold
        n = int(answered.sum())
        acc = float(self.correct[answered].mean()) if n else float("nan")
        return n / len(self.correct), acc, n

    def update(self) -> None:
        t = self.controls["threshold"].value
        coverage, acc, n = self.stats(t)
        self.state.update(coverage=coverage, accuracy=acc, n_answered=n)
        fig = Figure(figsize=(9, 3.2), layout="constrained")
        ax_hist, ax_curve = fig.subplots(1, 2)
        bins = np.linspace(0, 1, 41)
        ax_hist.hist(self.confidence[self.correct], bins=bins, color="tab:blue", alpha=0.7, label="right")
        ax_hist.hist(self.confidence[~self.correct], bins=bins, color="crimson", alpha=0.7, label="wrong")
        ax_hist.axvspan(0, t, color="grey", alpha=0.2, label="not answered")
        ax_hist.axvline(t, color="black", linestyle="--")
        ax_hist.set(yscale="log", xlabel="top probability", ylabel="images",
                    title=f"Answer when the top probability ≥ {t:.2f}")
        ax_hist.legend(loc="upper left", fontsize=8)
        ax_curve.plot(*self.curve, color="tab:blue")
        if n:
            ax_curve.plot([coverage], [acc], "o", color="crimson", markersize=9, label=f"threshold {t:.2f}")
            ax_curve.legend(loc="lower left", fontsize=8)
        ax_curve.set(xlim=(0, 1.02), xlabel="coverage (fraction answered)", ylabel="accuracy on the answered",
                     title="Fewer answers, fewer mistakes")
        ax_curve.grid(alpha=0.3)
        self.show(fig)
        if n:
            self.say(f"answers {n:,} of {len(self.correct):,} images (coverage {coverage:.1%}), "
                     f"accuracy on those {acc:.2%}")
        else:
            self.say("answers none of the images", "No image reaches this threshold: nothing is answered.")


def threshold_explorer(probs, y) -> Panel:
    """Answer only when the top probability is at least a threshold: coverage vs accuracy.

    ``probs``: (n, 10) predicted probabilities, ``y``: (n,) true labels.
    Control: ``threshold`` (0..1). State: ``coverage`` (fraction answered), ``accuracy`` (on the
    answered ones; NaN when none is), ``n_answered``.
    """
    return ThresholdExplorer(probs, y)


# --------------------------------------------------------------------------------------------------
# 06/07: draw a digit


class DrawingPad(Panel):
    name = "drawing-pad"
    SIZE = 280  # canvas side in screen pixels
    PEN = 22  # pen width in screen pixels
    RASTER = 140  # side of the NumPy image the strokes are drawn into
    THROTTLE = 0.25  # seconds between predictions while drawing

    def __init__(self, params, activation="relu"):
        from ipycanvas import Canvas  # imported here: only the drawing pad needs it

        self.params, self.activation = params, activation
        size = f"{self.SIZE}px"
        canvas = Canvas(width=self.SIZE, height=self.SIZE,
                        layout=widgets.Layout(width=size, height=size, border="2px solid #888"))
        clear = widgets.Button(description="Clear", icon="eraser")
        super().__init__({"canvas": canvas, "clear": clear})
        self.image = np.zeros((self.RASTER, self.RASTER))
        self.pen_down, self.last_point, self.last_predict = False, None, 0.0
        canvas.on_mouse_down(self.on_down)
        canvas.on_mouse_move(self.on_move)
        canvas.on_mouse_up(self.on_up)
        canvas.on_mouse_out(self.on_up)
        canvas.on_client_ready(self.on_client_ready)
        clear.on_click(lambda button: self.clear())
        self.clear()

    def layout(self) -> list:
        left = widgets.VBox([self.controls["canvas"], self.controls["clear"]],
                            layout=widgets.Layout(flex="0 0 auto", margin="0 16px 0 0"))
        return [widgets.HBox([left, widgets.VBox([self.text, self.figure])])]

    def clear(self) -> None:
        """Wipe the canvas and the prediction."""
        self.image = np.zeros((self.RASTER, self.RASTER))
        self.repaint()
        self.update()

    def repaint(self) -> None:
        """Paint ``self.image`` on the canvas (black ink on white), and set up the pen."""
        canvas = self.controls["canvas"]
        grey = (255 * (1 - fit(self.image, self.SIZE))).astype(np.uint8)
        canvas.put_image_data(np.dstack([grey] * 3), 0, 0)
        canvas.stroke_style, canvas.line_width, canvas.line_cap = "black", self.PEN, "round"

    def on_client_ready(self) -> None:
        """A browser has just shown the canvas: paint it again. ipycanvas sends its drawing commands as
        messages, and those sent before the page was ready are lost (Voila runs the whole notebook
        first), including the one that says which canvas to draw on: make ipycanvas send it again."""
        self.controls["canvas"]._canvas_manager._current_canvas = None
        self.repaint()

    def on_down(self, x, y) -> None:
        self.pen_down, self.last_point = True, (x, y)
        self.add_segment((x, y), (x, y))

    def on_move(self, x, y) -> None:
        if self.pen_down:
            self.add_segment(self.last_point, (x, y))
            self.last_point = (x, y)
            if time.perf_counter() - self.last_predict > self.THROTTLE:
                self.update()

    def on_up(self, x, y) -> None:
        if self.pen_down:
            self.pen_down = False
            self.update()

    def draw_stroke(self, points) -> None:
        """Draw a stroke through ``points`` [(x, y), ...] in canvas pixels, as the mouse would."""
        self.on_down(*points[0])
        for point in points[1:]:
            self.on_move(*point)
        self.on_up(*points[-1])

    def add_segment(self, p, q) -> None:
        """Draw the segment p-q on the canvas and into ``self.image`` (a round pen, soft edges)."""
        self.controls["canvas"].stroke_line(*p, *q)
        if self.image.shape != (self.RASTER, self.RASTER):  # after set_image: back to the pad's grid
            self.image = fit(self.image, self.RASTER)
        k = self.RASTER / self.SIZE
        ink = pen_mask(self.RASTER, np.array(p) * k, np.array(q) * k, self.PEN / 2 * k)
        np.maximum(self.image, ink, out=self.image)

    def set_image(self, image) -> None:
        """Show a drawn image (2-D array in 0..1, ink high, any size) and predict it."""
        image = np.asarray(image, dtype=np.float64)
        if image.ndim != 2 or image.size == 0 or image.min() < 0 or image.max() > 1:
            raise ValueError(f"image has shape {image.shape}; expected a 2-D array with values in 0..1 "
                             "(divide 0..255 pixels by 255).")
        self.image = image
        self.repaint()
        self.update()

    def update(self) -> None:
        self.last_predict = time.perf_counter()
        image28 = mnist_preprocess(self.image)
        if image28.any():
            probs = predict_proba(self.params, image28.reshape(1, 784).astype(self.params["W1"].dtype),
                                  self.activation)[0]
            prediction = int(probs.argmax())
            text = f"Prediction: <b class='nn-prediction'>{prediction}</b> ({probs[prediction]:.0%} sure)"
        else:
            probs, prediction = np.zeros(layer_sizes(self.params)[-1]), None
            text = "Draw a digit in the box with the mouse."
        self.state.update(image28=image28, probs=probs, prediction=prediction)
        self.show(self.draw(image28, probs, prediction))
        self.say(text)

    def draw(self, image28, probs, prediction) -> Figure:
        fig = Figure(figsize=(5.6, 2.6), layout="constrained")
        ax_img, ax_bar = fig.subplots(1, 2, width_ratios=[1, 1.6])
        ax_img.imshow(image28, cmap="gray_r", vmin=0, vmax=1)
        ax_img.set(title="what the network sees (28x28)", xticks=[], yticks=[])
        colors = ["crimson" if k == prediction else "tab:blue" for k in range(len(probs))]
        ax_bar.bar(range(len(probs)), probs, color=colors)
        ax_bar.set(xticks=range(len(probs)), ylim=(0, 1), xlabel="digit", ylabel="probability",
                   title="prediction" if prediction is None else f"prediction: {prediction}")
        ax_img.title.set_fontsize(9)
        return fig


def pen_mask(side: int, p: np.ndarray, q: np.ndarray, radius: float) -> np.ndarray:
    """(side, side) image of a thick segment p-q (x, y): 1 within ``radius``, fading to 0 over one pixel."""
    rows, cols = np.mgrid[0:side, 0:side] + 0.5  # pixel centres
    d = q - p
    length2 = float(d @ d)
    t = 0.0 if length2 == 0 else np.clip(((cols - p[0]) * d[0] + (rows - p[1]) * d[1]) / length2, 0, 1)
    distance = np.hypot(cols - (p[0] + t * d[0]), rows - (p[1] + t * d[1]))
    return np.clip(radius + 0.5 - distance, 0, 1)


def fit(image: np.ndarray, side: int) -> np.ndarray:
    """Resize ``image`` to fit a (side, side) square, keeping its aspect ratio, centred on zeros."""
    h, w = image.shape
    scale = side / max(h, w)
    small = resize(image, (max(1, round(h * scale)), max(1, round(w * scale))))
    out = np.zeros((side, side))
    top, left = (side - small.shape[0]) // 2, (side - small.shape[1]) // 2
    out[top : top + small.shape[0], left : left + small.shape[1]] = small
    return out


def drawing_pad(params, activation="relu") -> Panel:
    """Draw a digit with the mouse and watch the network's probabilities.

    The drawing goes through :func:`mnist_preprocess` (crop, scale to 20 px, centre the mass in 28x28)
    before the network sees it. Controls: ``canvas`` (ipycanvas), ``clear``.
    ``pad.set_image(array)`` feeds an image (2-D, 0..1, any size) as if drawn; ``pad.draw_stroke(points)``
    draws a stroke. State: ``image28`` (28x28), ``probs`` (10,), ``prediction`` (int, or None when empty).
    """
    return DrawingPad(params, activation)


# --------------------------------------------------------------------------------------------------
# 09: data augmentation


class AugmentExplorer(Panel):
    name = "augment-explorer"

    def __init__(self, images, labels):
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
            raise ValueError(f"images has dtype {images.dtype} and shape {images.shape}; expected uint8 "
                             f"(n, 28, 28), e.g. from load_mnist.")
        self.images, self.labels = images, np.asarray(labels)
        controls = {
            "index": widgets.IntSlider(0, min=0, max=len(images) - 1, description="index", **slider_style()),
            "dy": widgets.IntSlider(0, min=-4, max=4, description="shift down dy", **slider_style()),
            "dx": widgets.IntSlider(0, min=-4, max=4, description="shift right dx", **slider_style()),
            "degrees": widgets.FloatSlider(0.0, min=-30, max=30, step=1, description="rotation (deg)",
                                           **slider_style()),
            "scale": widgets.FloatSlider(1.0, min=0.7, max=1.3, step=0.05, description="scale",
                                         **slider_style()),
        }
        super().__init__(controls)
        self.watch(*controls)
        self.update()

    def update(self) -> None:
        c = {name: control.value for name, control in self.controls.items()}
        original = self.images[c["index"]]
        moved = affine(original[None], [c["degrees"]], [c["scale"]], [c["dy"]], [c["dx"]])[0]
        border = np.concatenate([moved[0], moved[-1], moved[:, 0], moved[:, -1]])
        self.state.update(index=c["index"], label=int(self.labels[c["index"]]), image=moved,
                          cut=bool(border.any()))
        fig = Figure(figsize=(5, 2.8), layout="constrained")
        for ax, image, title in zip(fig.subplots(1, 2), (original, moved), ("original", "augmented")):
            ax.imshow(image, cmap="gray_r", vmin=0, vmax=255)
            ax.set(title=title, xticks=[], yticks=[])
        fig.suptitle(f"images[{c['index']}]: a {self.state['label']}")
        self.show(fig)
        message = "the digit reaches the edge: part of it may be cut off" if self.state["cut"] else ""
        self.say(f"shift ({c['dy']}, {c['dx']}) px, rotation {c['degrees']:.0f} degrees, scale {c['scale']:.2f}",
                 message)


def augment_explorer(images, labels) -> Panel:
    """One digit and its augmented copy: shift, rotation and scale set by sliders (``augment.affine``).

    Controls: ``index``, ``dy``, ``dx`` (pixels), ``degrees``, ``scale``. State: ``index``, ``label``,
    ``image`` (the augmented uint8 (28, 28) image), ``cut`` (True when the digit reaches the image's edge).
    """
    return AugmentExplorer(images, labels)
