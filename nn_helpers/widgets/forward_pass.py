"""Notebook 02: the initialisation and the spread of the hidden activations."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ..network import INITS, forward, init_params
from ._panel import Panel, slider_style


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
