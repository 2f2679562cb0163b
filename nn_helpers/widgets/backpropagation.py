"""Notebook 04: the finite-difference step h of the gradient check."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ..gradcheck import gradient_check
from ._panel import Panel, slider_style


class StepExplorer(Panel):
    name = "step-explorer"

    def __init__(self, params, X, y, activation, n_samples=32, max_entries=8):
        self.params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
        self.X, self.y = np.asarray(X, dtype=np.float64)[:n_samples], np.asarray(y)[:n_samples]
        self.activation, self.max_entries = activation, max_entries
        self.errors = {}  # log10(h) -> relative error, computed once each
        self.curve = np.arange(-12, 0)  # log10(h) of the points on the curve
        log10_h = widgets.FloatSlider(-6.0, min=-12, max=-1, step=0.5, description="log10(h)",
                                        **slider_style())
        super().__init__({"log10_h": log10_h})
        self.watch("log10_h")
        self.update()

    def error(self, log10_h: float) -> float:
        """Relative error between backprop and central differences with h = 10**log10_h."""
        if log10_h not in self.errors:
            with np.errstate(all="ignore"):
                self.errors[log10_h] = gradient_check(self.params, self.X, self.y, self.activation,
                                                        h=10.0**log10_h, max_entries=self.max_entries)
        return self.errors[log10_h]

    def update(self) -> None:
        log10_h = float(self.controls["log10_h"].value)
        h, error = 10.0**log10_h, self.error(log10_h)
        curve = [self.error(float(e)) for e in self.curve]
        self.state.update(h=h, error=error)
        fig = Figure(figsize=(5, 3.2), layout="constrained")
        ax = fig.subplots()
        ax.loglog(10.0**self.curve, np.maximum(curve, 1e-16), "o-", color="tab:blue", label="relative error")
        ax.loglog([h], [max(error, 1e-16)], "o", color="crimson", markersize=10, label=f"h = {h:.1e}")
        ax.set(xlabel="h", ylabel="relative error", title="Gradient check: error vs h")
        ax.grid(alpha=0.3)
        ax.legend()
        self.show(fig)
        if h < 1e-9:
            hint = "h is tiny: J(θ+h) and J(θ−h) agree in almost every digit, so rounding error dominates."
        elif h > 1e-3:
            hint = "h is large: the central difference is off by about h², and may step over a ReLU kink."
        else:
            hint = ""
        self.state["message"] = hint
        self.say(f"h = {h:.1e}: relative error {error:.2e}", hint)


def step_explorer(params, X, y, activation="relu") -> Panel:
    """The gradient check's relative error as the finite-difference step h changes.

    Uses float64 copies of ``params``, the first 32 rows of ``X``/``y`` and 8 random entries per
    parameter, so each point takes a moment.
    Control: ``log10_h`` (-12..-1). State: ``h``, ``error``, ``message`` (a hint at the extremes).
    """
    return StepExplorer(params, X, y, activation)
