"""Interactive panels for the notebooks: sliders, buttons and a drawing pad (ipywidgets 8 + matplotlib).

One module per notebook, named like the notebook (and like its checkers in ``nn_helpers.check``):
``data`` (01), ``forward_pass`` (02), ``softmax_cross_entropy`` (03), ``backpropagation`` (04),
``training_loop`` (05), ``training`` (06), ``evaluation`` (07), ``regularization`` (08),
``draw_a_digit`` (09), ``convolution`` (11), ``deep_networks`` (13), ``boundary`` (the 2-D playground); ``_panel`` holds what they share. Every panel is also a name of this package:
``from nn_helpers import widgets; widgets.digit_browser(images, labels)``.

Every function returns a :class:`Panel`. Put it last in a cell to show it.

- ``panel.controls``: its widgets by name, e.g. ``panel.controls["index"]``;
- ``panel.state``: the numbers it shows right now.

Changing a control's value (with the mouse, or in code: ``panel.controls["index"].value = 7``)
recomputes and redraws at once, so a notebook can set a value and assert on ``panel.state`` in the
same cell.

How a figure is shown: a panel draws a matplotlib ``Figure`` made without pyplot (so figures never
pile up in pyplot's list and none is shown twice), renders it to a PNG, and makes that PNG the only
output of the panel's ``Output`` widget, replacing the previous one in a single step (no flicker).
"""

from ..preprocess import mnist_preprocess
from ._panel import DPI, Panel, figure_output, slider_style
from .backpropagation import StepExplorer, step_explorer
from .boundary import BoundaryExplorer, boundary_explorer
from .convolution import ConvolutionExplorer, convolution_explorer
from .data import DigitBrowser, digit_browser
from .deep_networks import DeepExplorer, deep_explorer
from .draw_a_digit import DrawingPad, drawing_pad, fit, pen_mask
from .evaluation import ThresholdExplorer, threshold_explorer
from .forward_pass import InitExplorer, init_explorer
from .regularization import AugmentExplorer, augment_explorer
from .softmax_cross_entropy import SoftmaxExplorer, softmax_explorer
from .training import TrainingPanel, training_panel
from .training_loop import BowlExplorer, bowl_explorer

__all__ = [
    "Panel", "digit_browser", "init_explorer", "softmax_explorer", "step_explorer", "bowl_explorer",
    "training_panel", "threshold_explorer", "drawing_pad", "mnist_preprocess", "augment_explorer",
    "boundary_explorer", "convolution_explorer", "deep_explorer",
]
