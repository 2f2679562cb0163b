"""What every panel shares: the :class:`Panel` box (controls, a readout, a figure), the PNG rendering
of a figure, the picture of a panel shown where no kernel runs, and the sliders' common style."""

from __future__ import annotations

import base64
import html
import io

import ipywidgets as widgets
from matplotlib.figure import Figure

DPI = 80  # resolution of the PNG figures
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Under the picture of a panel, where the panel itself cannot run (GitHub, nbviewer, the book).
LIVE = "The sliders are live in JupyterLab and in <code>python3 dev.py app</code>."


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

    live = LIVE  # the line under the picture (HTML); a panel without sliders says what is live instead

    def picture(self) -> str | None:
        """The PNG (base64) that stands for the panel where no kernel runs: the figure it shows now,
        or None when it shows none (a panel without a figure worth a picture returns None too)."""
        for output in self.figure.outputs:
            if "image/png" in output.get("data", {}):
                return output["data"]["image/png"]
        return None

    def _repr_mimebundle_(self, **kwargs):
        """The live widget, and for the renderers that cannot run it (GitHub, nbviewer, the book, a
        notebook opened before its cells run) a picture of the panel as it is now, with one line saying
        where the sliders are live. JupyterLab and Voila prefer the widget view over ``text/html`` and
        ``image/png``; the others never render a widget view, so they take the picture.

        ``text/html``: the figure (or, without one, the readout) and the line; ``image/png``: the figure;
        ``text/plain``: the line.
        """
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        png = self.picture()
        shown = (f'<img src="data:image/png;base64,{png}" alt="{html.escape(self.title())}">' if png
                 else f'<div class="nn-readout">{self.text.value}</div>')
        bundle["text/html"] = (f'<div class="nn-panel-picture">{shown}'
                               f'<p class="nn-live"><em>{self.live}</em></p></div>')
        if png:
            bundle["image/png"] = png
        bundle["text/plain"] = f"{self.title()}: " + html.unescape(self.live.replace("<code>", "`").replace("</code>", "`"))
        return bundle

    def title(self) -> str:
        """The panel's kind in words ("digit browser"), for the picture's alt text."""
        return self.name.replace("-", " ")


def slider_style(**kwargs) -> dict:
    """Common keyword arguments for sliders: a wide label, and a wide slider."""
    return dict(style={"description_width": "110px"}, layout=widgets.Layout(width="480px"), **kwargs)
