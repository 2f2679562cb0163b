"""Notebook 13 and the playground: a deep network's layers at the start and its first steps of training,
with the depth, the initial scale, batch norm and residual connections as controls.

Every move builds the network anew (``nn.Sequential`` of Dense, BatchNorm, Activation and Residual layers,
He-initialised, every weight matrix multiplied by the scale), trains it for a few dozen steps of momentum,
and draws the histogram of each hidden layer's activations at the start, the spread of each layer's
weight gradient at the start and after the steps, and the loss of every step.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ..layers import Activation, BatchNorm, Dense, Residual
from ..losses import softmax
from ..model import Sequential
from ..optimizers import make_optimizer
from ._panel import Panel, slider_style

BINS = np.linspace(-8, 3, 45)  # log10 of a positive activation


def deep_model(depth: int, width: int, batch_norm: bool = False, residual: bool = False) -> Sequential:
    """``depth`` hidden ReLU layers of ``width`` units and a 10-way output layer. With ``residual``: a first
    layer, then ``(depth - 1) // 2`` blocks ``x + F(x)`` of two layers each (F: Dense, ReLU, Dense), then the
    output layer (an even depth gives the blocks of the odd depth below it); with ``batch_norm``: a
    BatchNorm after every hidden Dense."""
    def dense(n):
        return [Dense(n, width)] + ([BatchNorm(n)] if batch_norm else [])

    layers, n = dense(1) + [Activation("relu")], 2
    if residual:
        for _ in range((depth - 1) // 2):
            layers.append(Residual(tuple(dense(n) + [Activation("relu")] + dense(n + 1))))
            n += 2
    else:
        for _ in range(depth - 1):
            layers += dense(n) + [Activation("relu")]
            n += 1
    return Sequential(layers + [Dense(n, 10)])


def start_params(model: Sequential, scale: float, seed: int = 0) -> dict:
    """He-initialised parameters with every weight matrix times ``scale``; each residual block starts as the
    identity (notebook 13, section 6): its last weight matrix set to 0, or, when the block ends with batch
    norm, that batch norm's gamma (a batch norm of zeros would divide by sqrt(eps) on the way back)."""
    params = model.init((784,), seed=seed)
    for key in params:
        if key.startswith("W"):
            params[key] = params[key] * np.float32(scale)
    for layer in model.layers:
        if isinstance(layer, Residual):
            last = layer.layers[-1]
            key = f"gamma{last.n}" if isinstance(last, BatchNorm) else f"W{last.n}"
            params[key] = np.zeros_like(params[key])
    return params


class DeepExplorer(Panel):
    name = "deep-explorer"
    WIDTH = 64
    STEPS = 40
    BATCH = 64

    def __init__(self, X, y):
        self.X, self.y = np.asarray(X, dtype=np.float32), np.asarray(y)
        if self.X.ndim != 2 or self.X.shape[1] != 784:
            raise ValueError(f"X has shape {self.X.shape}; expected rows (n, 784): nn.to_features(images).")
        if len(self.X) < self.STEPS * self.BATCH:
            raise ValueError(f"X has {len(self.X)} rows; the panel trains on {self.STEPS * self.BATCH}.")
        controls = {
            "depth": widgets.IntSlider(20, min=2, max=40, description="hidden layers", **slider_style()),
            "scale": widgets.SelectionSlider(options=[0.5, 0.7, 0.85, 1.0, 1.2, 1.4, 2.0], value=1.0,
                                             description="initial scale", **slider_style()),
            "lr": widgets.SelectionSlider(options=[0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5], value=0.05,
                                          description="learning rate", **slider_style()),
            "batch_norm": widgets.Checkbox(False, description="batch norm", indent=False),
            "residual": widgets.Checkbox(False, description="residual connections", indent=False),
        }
        super().__init__(controls)
        self.watch(*controls)
        self.update()

    def layout(self) -> list:
        c = self.controls
        toggles = widgets.HBox([c["batch_norm"], c["residual"]], layout=widgets.Layout(margin="0 0 0 118px"))
        return [c["depth"], c["scale"], c["lr"], toggles, self.text, self.figure]

    def update(self) -> None:
        c = self.controls
        depth, scale, lr = c["depth"].value, c["scale"].value, c["lr"].value
        bn, res = c["batch_norm"].value, c["residual"].value
        model = deep_model(depth, self.WIDTH, bn, res)
        params = start_params(model, scale)
        hidden, grad_std = self.inside(model, params)
        act_std = np.array([A.std() for A in hidden])
        losses = self.train(model, params, lr)
        diverged = len(losses) < self.STEPS
        grad_after = np.full_like(grad_std, np.nan) if diverged else self.inside(model, params)[1]
        self.state.update(depth=depth, scale=scale, lr=lr, batch_norm=bn, residual=res, act_std=act_std,
                          grad_std=grad_std, grad_std_after=grad_after, losses=np.array(losses), diverged=diverged,
                          final_loss=float(np.mean(losses[-5:])) if losses else float("nan"))
        self.show(self.draw(hidden, grad_std, grad_after, losses))
        kind = ("residual, " if res else "plain, ") + ("batch norm" if bn else "no normalization")
        if diverged:
            verdict = f"the loss exploded after {len(losses)} steps"
        else:
            verdict = f"loss after {self.STEPS} steps {self.state['final_loss']:.2f} (ln 10 = 2.30 is guessing)"
        spread = (f"activation spread from layer 1 to layer {len(act_std)}: {act_std[0]:.2g} &rarr; {act_std[-1]:.2g}"
                  if np.all(np.isfinite(act_std)) else "activations overflow at the start")
        self.say(f"{depth} hidden layers ({kind}), scale {scale}, learning rate {lr}: {spread}; {verdict}.",
                 "" if not diverged else "Too large a step for this network: try batch norm, or a smaller rate.")

    def inside(self, model, params) -> tuple:
        """Each hidden layer's output (a list of arrays) and each weight layer's gradient spread (an array),
        for the first 500 rows, in training mode (batch norm with the batch's statistics)."""
        X0, y0 = self.X[:500], self.y[:500]
        outputs = []
        with np.errstate(all="ignore"):
            logits, cache = model.forward(params, X0, train=True, outputs=outputs)
            dZ = softmax(logits)
            dZ[np.arange(len(y0)), y0] -= 1
            grads = model.backward(params, dZ / len(y0), cache)
        hidden = [A for layer, A in zip(model.layers, outputs) if isinstance(layer, (Activation, Residual))]
        return hidden, np.array([grads[k].std() for k in grads if k.startswith("W")])

    def train(self, model, params, lr) -> list:
        """Momentum steps on fixed batches of the first STEPS * BATCH rows; the loss of each step (stops at
        the first non-finite or exploding loss)."""
        optimizer = make_optimizer("momentum", lr)
        losses = []
        with np.errstate(all="ignore"):
            for step in range(self.STEPS):
                rows = slice(step * self.BATCH, (step + 1) * self.BATCH)
                loss, _, grads = model.loss_and_grads(params, self.X[rows], self.y[rows], None)
                if not np.isfinite(loss) or (losses and loss > 10 * max(losses[0], 2.3)):
                    break
                losses.append(float(loss))
                optimizer.step(params, grads)
        return losses

    def draw(self, hidden, grad_std, grad_after, losses) -> Figure:
        fig = Figure(figsize=(11, 3.3))
        axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.2, 1, 1]})
        fig.subplots_adjust(left=0.06, right=0.99, bottom=0.16, top=0.88, wspace=0.32)
        counts = np.zeros((len(hidden), len(BINS) - 1))
        with np.errstate(all="ignore"):
            for l, A in enumerate(hidden):
                positive = A[A > 0]
                counts[l] = np.histogram(np.log10(positive[np.isfinite(positive)]), bins=BINS)[0]
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        axes[0].imshow(shares.T, origin="lower", aspect="auto", cmap="Greys",
                       extent=(0.5, len(hidden) + 0.5, BINS[0], BINS[-1]))
        axes[0].set(xlabel="hidden layer", ylabel="log10 of a positive activation",
                    title="Activations at the start, per layer")
        layers = range(1, len(grad_std) + 1)
        axes[1].semilogy(layers, np.where(grad_std > 0, grad_std, np.nan), marker="o", markersize=3,
                         label="at the start")
        axes[1].semilogy(layers, np.where(grad_after > 0, grad_after, np.nan), marker="o", markersize=3,
                         label=f"after {len(losses)} steps")
        axes[1].set(xlabel="weight layer", ylabel="std of dW (log)", title="Gradients per layer")
        axes[1].legend(fontsize=8)
        axes[2].plot(range(1, len(losses) + 1), losses, color="tab:red")
        axes[2].axhline(np.log(10), color="grey", linestyle=":", label="ln 10: guessing")
        axes[2].set(xlabel="step", ylabel="training loss", title=f"The first {self.STEPS} steps",
                    xlim=(0, self.STEPS), ylim=(0, max(3.5, min(max(losses, default=3), 10))))
        axes[2].legend(fontsize=8)
        return fig

    def title(self) -> str:
        s = self.state
        return (f"deep network explorer: {s['depth']} hidden layers, scale {s['scale']}, learning rate {s['lr']}, "
                f"batch norm {'on' if s['batch_norm'] else 'off'}, residual {'on' if s['residual'] else 'off'}")


def deep_explorer(X, y) -> Panel:
    """A deep network's start and first steps: ``X`` (n, 784) rows, ``y`` (n,) labels, n >= 2,560.

    Controls: ``depth`` (hidden layers), ``scale`` (times He's standard deviation), ``lr`` (momentum's
    learning rate), ``batch_norm``, ``residual`` (checkboxes).
    State: ``act_std`` (each hidden layer's activation spread at the start), ``grad_std`` and
    ``grad_std_after`` (each weight layer's gradient spread at the start and after the steps; NaN when the
    loss exploded), ``losses`` (per step), ``final_loss`` (mean of the last 5), ``diverged``.
    """
    return DeepExplorer(X, y)
