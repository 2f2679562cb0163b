"""Notebook 08: data augmentation, one digit shifted, rotated and scaled."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ..augment import affine
from ._panel import Panel, slider_style


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
