"""Notebook 03: softmax and its temperature."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ..losses import softmax
from ._panel import Panel, slider_style


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
