"""Notebook 11 and the playground: one filter slid over a digit, with the stride and the padding as sliders.

The panel shows three pictures side by side: the padded input with the first window and the rows and
columns no window reads, the R x R kernel with its numbers, and the feature map with its size,

    H_out = floor((H_in + 2P - R) / S) + 1,

the rule of the frameworks (notebooks/NOTATION.md). The digit is a test image picked with a slider or,
when the panel is given a drawing pad, the pad's own drawing.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..conv import conv2d_forward
from ._panel import Panel, slider_style

#: Hand-made 3x3 filters: what a first convolution layer often learns, and two that it never needs.
FILTERS = {
    "vertical edges (Sobel)": np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=float),
    "horizontal edges (Sobel)": np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=float),
    "blur (3x3 mean)": np.full((3, 3), 1 / 9),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
}


def feature_map(image: np.ndarray, kernel: np.ndarray, stride: int = 1, pad: int = 0) -> tuple:
    """Slide ``kernel`` (R, R) over ``image`` (H, W) padded by ``pad`` zeros, ``stride`` pixels at a time.

    Returns ``(Z, used)``: the feature map ``Z`` (H_out, W_out) with
    ``H_out = floor((H + 2P - R) / S) + 1``, and ``used``, the number of rows (and columns) of the padded
    image that some window reads, ``(H_out - 1) S + R``; the rows beyond it are never read.
    """
    R = kernel.shape[0]
    Xp = np.pad(np.asarray(image, dtype=float), pad)
    if Xp.shape[0] < R:
        raise ValueError(f"the {R}x{R} kernel is larger than the padded {Xp.shape[0]}x{Xp.shape[1]} image; "
                         "pad more or use a smaller kernel.")
    H_out, W_out = (Xp.shape[0] - R) // stride + 1, (Xp.shape[1] - R) // stride + 1
    used_h, used_w = (H_out - 1) * stride + R, (W_out - 1) * stride + R
    # the layer itself, on the rows the windows read (so that the stride divides what is left)
    Z, _ = conv2d_forward(Xp[None, None, :used_h, :used_w], kernel[None, None], np.zeros(1), stride=stride)
    return Z[0, 0], (used_h, used_w)


class ConvolutionExplorer(Panel):
    name = "convolution-explorer"

    def __init__(self, images, labels=None, cnn_params=None, pad=None):
        images = np.asarray(images)
        self.images = images.reshape(len(images), 28, 28)
        self.labels = None if labels is None else np.asarray(labels)
        self.filters = dict(FILTERS)
        if cnn_params is not None:
            W1 = np.asarray(cnn_params["W1"], dtype=float)
            for f in range(W1.shape[0]):
                self.filters[f"trained CNN, filter {f + 1}"] = W1[f, 0]
        self.drawing_pad = pad
        controls = {}
        if pad is not None:
            controls["source"] = widgets.ToggleButtons(options=["test digit", "your drawing"], value="test digit",
                                                       description="digit:", style={"description_width": "110px"})
        controls["index"] = widgets.IntSlider(0, min=0, max=min(len(images), 100) - 1, description="test image",
                                              **slider_style())
        controls["filter"] = widgets.Dropdown(options=list(self.filters), value="vertical edges (Sobel)",
                                              description="filter", **slider_style())
        controls["stride"] = widgets.IntSlider(1, min=1, max=3, description="stride S", **slider_style())
        controls["padding"] = widgets.IntSlider(0, min=0, max=3, description="padding P", **slider_style())
        super().__init__(controls)
        self.watch(*controls)
        if pad is not None:  # the drawing changed: redraw when the panel shows it
            pad.text.observe(lambda change: self.update() if self.source == "your drawing" else None, names="value")
        self.update()

    @property
    def source(self) -> str:
        return self.controls["source"].value if "source" in self.controls else "test digit"

    def image(self) -> tuple:
        """The 28x28 image in 0..1 the filter slides over, and its name."""
        if self.source == "your drawing":
            drawn = self.drawing_pad.state.get("image28")
            return (np.zeros((28, 28)) if drawn is None else np.asarray(drawn, dtype=float)), "your drawing"
        i = self.controls["index"].value
        label = "" if self.labels is None else f" (a {int(self.labels[i])})"
        return self.images[i] / (255.0 if self.images.dtype == np.uint8 else 1.0), f"test image {i}{label}"

    def update(self) -> None:
        image, what = self.image()
        name = self.controls["filter"].value
        kernel = self.filters[name]
        S, P = self.controls["stride"].value, self.controls["padding"].value
        self.controls["index"].disabled = self.source == "your drawing"
        R, H = kernel.shape[0], image.shape[0]
        Z, (used, _) = feature_map(image, kernel, S, P)
        H_out = Z.shape[0]
        never = H + 2 * P - used  # rows (and columns) at the bottom (right) that no window reads
        self.state.update(image=what, filter=name, stride=S, padding=P, R=R, H_out=H_out, W_out=Z.shape[1],
                          unread=never, Z=Z)
        self.show(self.draw(image, kernel, Z, S, P, used, what, name))
        formula = f"H_out = floor(({H} + 2&middot;{P} &minus; {R}) / {S}) + 1 = <b>{H_out}</b>"
        note = (f"; the last {never} row{'s' if never > 1 else ''} and column{'s' if never > 1 else ''} of the "
                f"padded image {'are' if never > 1 else 'is'} never read (shaded)" if never else "")
        self.say(f"{formula}: a <b>{H_out}x{Z.shape[1]}</b> feature map from a {H}x{H} image{note}. "
                 f"Values from {Z.min():.2f} to {Z.max():.2f}.")

    def draw(self, image, kernel, Z, S, P, used, what, name) -> Figure:
        fig = Figure(figsize=(9.6, 3.4))
        ax_in, ax_k, ax_out = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 0.55, 1]})
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.84, wspace=0.12)
        Xp = np.pad(image, P)
        ax_in.imshow(Xp, cmap="gray_r", vmin=0, vmax=1)
        R, side = kernel.shape[0], Xp.shape[0]
        if P:
            ax_in.add_patch(Rectangle((P - 0.5, P - 0.5), image.shape[1], image.shape[0], fill=False,
                                      edgecolor="tab:blue", linestyle=":", linewidth=1.2))
        for k in range(2):  # the first two windows along the row, S pixels apart, and the entries they give
            style = dict(fill=False, edgecolor="tab:orange", linewidth=2.2 - k, linestyle="-" if k == 0 else "--")
            ax_in.add_patch(Rectangle((k * S - 0.5, -0.5), R, R, **style))
            if k < Z.shape[1]:
                ax_out.add_patch(Rectangle((k - 0.5, -0.5), 1, 1, **style))
        if used < side:  # the rows and columns no window reads
            ax_in.axhspan(used - 0.5, side - 0.5, color="tab:red", alpha=0.25)
            ax_in.axvspan(used - 0.5, side - 0.5, color="tab:red", alpha=0.25)
        ax_in.set(title=f"{what}\npadded: {side}x{side}, P = {P}", xticks=[], yticks=[])
        limit = np.abs(kernel).max() or 1
        ax_k.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
        if R <= 5:
            for (r, s), v in np.ndenumerate(kernel):
                ax_k.text(s, r, f"{v:.2g}", ha="center", va="center", fontsize=9,
                          color="white" if abs(v) > 0.6 * limit else "black")
        ax_k.set(title=f"{name}\n{R}x{R} kernel, stride S = {S}", xticks=[], yticks=[])
        top = np.abs(Z).max() or 1
        ax_out.imshow(Z, cmap="RdBu_r", vmin=-top, vmax=top)
        ax_out.set(title=f"feature map Z\n{Z.shape[0]}x{Z.shape[1]}", xticks=[], yticks=[])
        return fig

    def title(self) -> str:
        s = self.state
        return (f"convolution explorer: {s['filter']} on {s['image']}, stride {s['stride']}, padding "
                f"{s['padding']}: a {s['H_out']}x{s['W_out']} feature map")


def convolution_explorer(images, labels=None, cnn_params=None, pad=None) -> Panel:
    """Slide one filter over a digit of ``images`` (n, 28, 28) or (n, 784), uint8 or floats in 0..1.

    ``cnn_params`` (from ``nn.init_cnn`` and training) adds its first layer's filters to the choice;
    ``pad`` (a drawing pad) adds the choice of convolving your drawing.
    Controls: ``source`` (with a pad), ``index``, ``filter``, ``stride``, ``padding``.
    State: ``image``, ``filter``, ``stride``, ``padding``, ``R``, ``H_out``, ``W_out``, ``unread`` (rows of
    the padded image no window reads), ``Z`` (the feature map).
    """
    return ConvolutionExplorer(images, labels, cnn_params, pad)
