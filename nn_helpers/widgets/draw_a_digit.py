"""Notebook 09 (and the playground): draw a digit with the mouse, see the network's probabilities; with a
CNN as well, a toggle chooses which of the two networks reads the drawing."""

from __future__ import annotations

import time

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ..cnn import CNN, n_conv_layers
from ..network import layer_sizes, predict_proba
from ..preprocess import mnist_preprocess, resize
from ._panel import Panel


class DrawingPad(Panel):
    name = "drawing-pad"
    SIZE = 280  # canvas side in screen pixels
    PEN = 22  # pen width in screen pixels
    RASTER = 140  # side of the NumPy image the strokes are drawn into
    THROTTLE = 0.25  # seconds between predictions while drawing

    def __init__(self, params, activation="relu", cnn_params=None):
        from ipycanvas import Canvas  # imported here: only the drawing pad needs it

        check_networks(params, cnn_params)
        self.params, self.activation, self.cnn_params = params, activation, cnn_params
        size = f"{self.SIZE}px"
        canvas = Canvas(width=self.SIZE, height=self.SIZE,
                        layout=widgets.Layout(width=size, height=size, border="2px solid #888"))
        clear = widgets.Button(description="Clear", icon="eraser")
        controls = {"canvas": canvas, "clear": clear}
        if cnn_params is not None:
            controls["network"] = widgets.ToggleButtons(options=["MLP", "CNN"], value="MLP", description="network:",
                                                        style={"description_width": "60px", "button_width": "60px"})
        super().__init__(controls)
        self.image = np.zeros((self.RASTER, self.RASTER))
        self.pen_down, self.last_point, self.last_predict = False, None, 0.0
        canvas.on_mouse_down(self.on_down)
        canvas.on_mouse_move(self.on_move)
        canvas.on_mouse_up(self.on_up)
        canvas.on_mouse_out(self.on_up)
        canvas.on_client_ready(self.on_client_ready)
        clear.on_click(lambda button: self.clear())
        if cnn_params is not None:
            self.watch("network")
        self.clear()

    live = "The drawing pad is live in JupyterLab and in <code>python3 dev.py app</code>."

    def picture(self) -> str | None:
        """The figure once a digit is drawn; an empty pad (a blank square, ten empty bars) has no
        picture worth showing: its readout ("Draw a digit ...") and the line stand for it instead."""
        return None if self.state.get("prediction") is None else super().picture()

    def layout(self) -> list:
        left = widgets.VBox([self.controls["canvas"], self.controls["clear"]],
                            layout=widgets.Layout(flex="0 0 auto", margin="0 16px 0 0"))
        right = [self.controls["network"]] if "network" in self.controls else []
        return [widgets.HBox([left, widgets.VBox([*right, self.text, self.figure])])]

    @property
    def network(self) -> str:
        """The network that reads the drawing: "MLP", or "CNN" when the toggle says so."""
        return self.controls["network"].value if "network" in self.controls else "MLP"

    def read(self, image28: np.ndarray) -> dict:
        """The probabilities (10,) each network gives the 28x28 image: {"MLP": ..., "CNN": ...}."""
        probs = {"MLP": predict_proba(self.params, image28.reshape(1, 784).astype(self.params["W1"].dtype),
                                      self.activation)[0]}
        if self.cnn_params is not None:
            x = image28.reshape(1, 1, 28, 28).astype(self.cnn_params["W1"].dtype)
            probs["CNN"] = CNN().predict_proba(self.cnn_params, x)[0]
        return probs

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
        image28 = mnist_preprocess(self.image)
        network, two = self.network, self.cnn_params is not None
        if image28.any():
            all_probs = self.read(image28)
            predictions = {name: int(p.argmax()) for name, p in all_probs.items()}
            probs, prediction = all_probs[network], predictions[network]
            sure = f"<b class='nn-prediction'>{prediction}</b> ({probs[prediction]:.0%} sure)"
            if two:
                other = "CNN" if network == "MLP" else "MLP"
                text = f"The {network} reads {sure}; the {other} would read {predictions[other]}."
            else:
                text = f"Prediction: {sure}"
        else:
            probs, prediction = np.zeros(layer_sizes(self.params)[-1]), None
            predictions = dict.fromkeys(["MLP", "CNN"] if two else ["MLP"])
            text = "Draw a digit in the box with the mouse" + (f"; the {network} reads it." if two else ".")
        self.state.update(image28=image28, probs=probs, prediction=prediction, network=network,
                          predictions=predictions)
        self.show(self.draw(image28, probs, prediction, network if two else "network"))
        self.say(text)
        # THROTTLE counts from the end of a prediction: on a slow machine, where a prediction and its figure
        # take longer than THROTTLE, counting from its start predicted again at every mouse move, and the
        # pen lagged behind the mouse (21 predictions for a stroke of 21 points, 10 s on a busy machine).
        self.last_predict = time.perf_counter()

    def draw(self, image28, probs, prediction, network="network") -> Figure:
        # Fixed margins, where a constrained layout put the axes: drawing the figure takes half the time
        # (it is redrawn while the mouse draws), and the picture is the same.
        fig = Figure(figsize=(5.6, 2.6))
        ax_img, ax_bar = fig.subplots(1, 2, width_ratios=[1, 1.6])
        fig.subplots_adjust(left=0.0074, right=0.9925, bottom=0.1833, top=0.9019, wspace=0.244)
        ax_img.imshow(image28, cmap="gray_r", vmin=0, vmax=1)
        ax_img.set(title=f"what the {network} sees (28x28)", xticks=[], yticks=[])
        colors = ["crimson" if k == prediction else "tab:blue" for k in range(len(probs))]
        ax_bar.bar(range(len(probs)), probs, color=colors)
        whose = "prediction" if network == "network" else f"the {network}'s prediction"
        ax_bar.set(xticks=range(len(probs)), ylim=(0, 1), xlabel="digit", ylabel="probability",
                   title=whose if prediction is None else f"{whose}: {prediction}")
        ax_img.title.set_fontsize(9)
        return fig


def check_networks(params: dict, cnn_params: dict | None) -> None:
    """Raise a ValueError that says what to pass when ``params`` is not an MLP or ``cnn_params`` not a CNN
    (an MLP's W1 is a matrix (784, h); a CNN's W1 holds filters (F, 1, R, R))."""
    if np.ndim(params.get("W1")) == 4:
        raise ValueError("params holds a CNN (W1 has 4-D filters); pass the MLP first and the CNN as "
                         "cnn_params: drawing_pad(mlp_params, cnn_params=cnn_params).")
    if cnn_params is not None and (np.ndim(cnn_params.get("W1")) != 4 or n_conv_layers(cnn_params) == 0):
        raise ValueError(f"cnn_params has W1 of shape {np.shape(cnn_params.get('W1'))}; expected a CNN's filters "
                         "(F, 1, R, R), e.g. from nn.cnn.init_cnn. An MLP goes in the first argument.")


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


def drawing_pad(params, activation="relu", cnn_params=None) -> Panel:
    """Draw a digit with the mouse and watch the network's probabilities.

    The drawing goes through :func:`mnist_preprocess` (crop, scale to 20 px, centre the mass in 28x28)
    before the network sees it. Controls: ``canvas`` (ipycanvas), ``clear``, and with ``cnn_params`` (a CNN
    of :mod:`nn_helpers.cnn`, read as images (1, 1, 28, 28)) ``network``, a toggle "MLP" / "CNN" that says
    which network reads the drawing (``params``, the MLP, to begin with).
    ``pad.set_image(array)`` feeds an image (2-D, 0..1, any size) as if drawn; ``pad.draw_stroke(points)``
    draws a stroke. State: ``image28`` (28x28), ``network`` ("MLP" or "CNN"), ``probs`` (10,) and
    ``prediction`` (int, or None when empty) of that network, ``predictions`` (every network's, by name).
    """
    return DrawingPad(params, activation, cnn_params)
