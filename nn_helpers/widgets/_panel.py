"""What every panel shares: the :class:`Panel` box (controls, a readout, a figure), the PNG rendering
of a figure, and the sliders' common style."""

from __future__ import annotations

import base64
import io

import ipywidgets as widgets
from matplotlib.figure import Figure

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
