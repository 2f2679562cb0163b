"""Notebook 01: browse the digits."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ._panel import Panel, slider_style


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
