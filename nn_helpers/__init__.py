"""nn_helpers: a small NumPy neural network for MNIST, built step by step in the notebooks.

    >>> from nn_helpers import load_mnist, to_features, init_params, train, predict, accuracy
    >>> images, labels = load_mnist("train")
    >>> X = to_features(images)                        # (60000, 784) floats in 0..1
    >>> params = init_params([784, 128, 10], init="he")
    >>> params, history = train(params, X, labels, epochs=5)
"""

from .activations import relu, relu_grad, sigmoid, sigmoid_grad, tanh, tanh_grad
from .cnn import CNN, init_cnn
from .conv import conv2d_backward, conv2d_forward, maxpool_backward, maxpool_forward
from .data import load_csv, load_idx, load_mnist, parse_idx, to_features, train_val_split
from .layers import (Activation, BatchNorm, Conv2D, Dense, Dropout, Flatten, LayerNorm, MaxPool, Residual,
                     SpatialBatchNorm)
from .gradcheck import gradient_check, numerical_gradient, numerical_vjp, relative_error
from .losses import cross_entropy, cross_entropy_from_logits, logsumexp, one_hot, softmax
from .model import Sequential
from .metrics import (accuracy, confusion_matrix, expected_calibration_error, most_confident_mistakes,
                      precision_recall, reliability_bins)
from .network import MLP, backward, dropout_mask, forward, init_params, layer_sizes, predict, predict_proba
from .optimizers import SGD, Adam, Momentum, cosine_lr, make_optimizer, onecycle_lr
from .serialization import load_model, load_params, save_model, save_params
from .toy_data import toy_data
from .training import (DivergenceError, EarlyStopping, History, StopTraining, batch_gradient, evaluate,
                       train)

__version__ = "0.1.0"

import sys as _sys

#: True in the browser (JupyterLite: Pyodide, `python3 dev.py lite`), where NumPy has one thread and a
#: notebook may train on fewer images to finish in a few minutes.
IN_BROWSER = _sys.platform == "emscripten"

__all__ = [
    "relu", "relu_grad", "sigmoid", "sigmoid_grad", "tanh", "tanh_grad",
    "CNN", "init_cnn",
    "conv2d_backward", "conv2d_forward", "maxpool_backward", "maxpool_forward",
    "load_csv", "load_idx", "load_mnist", "parse_idx", "to_features", "train_val_split",
    "Activation", "BatchNorm", "Conv2D", "Dense", "Dropout", "Flatten", "LayerNorm", "MaxPool", "Residual",
    "SpatialBatchNorm", "Sequential",
    "gradient_check", "numerical_gradient", "numerical_vjp", "relative_error",
    "cross_entropy", "cross_entropy_from_logits", "logsumexp", "one_hot", "softmax",
    "accuracy", "confusion_matrix", "expected_calibration_error", "most_confident_mistakes", "precision_recall",
    "reliability_bins",
    "backward", "dropout_mask", "forward", "init_params", "layer_sizes", "predict", "predict_proba",
    "SGD", "Adam", "Momentum", "cosine_lr", "make_optimizer", "onecycle_lr",
    "load_model", "load_params", "save_model", "save_params", "toy_data",
    "MLP", "DivergenceError", "EarlyStopping", "History", "StopTraining", "batch_gradient", "evaluate", "train",
]


def __getattr__(name):
    """``nn.plots`` and ``nn.widgets`` load on first use, so the command line never imports matplotlib
    or ipywidgets it does not need."""
    if name in ("plots", "widgets", "recipes", "preprocess", "augment"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'nn_helpers' has no attribute {name!r}")


#: An image of at most this many values a side is drawn to be read value by value (a digit is 28 x 28, a filter
#: 3 x 3, a confusion matrix 10 x 10); a larger one is a smooth field (the class regions on a 120 x 120 grid
#: and more), which 2x would make several times heavier and no clearer.
PIXEL_ART_SIDE = 64


def _shows_pixels(image) -> bool:
    """Whether an ``imshow`` image has at most ``PIXEL_ART_SIDE`` values along both sides."""
    return max(image.get_array().shape[:2]) <= PIXEL_ART_SIDE


def _figure_png(fig):
    """A figure as the notebook stores it: a figure that shows pixels (``imshow`` of at most ``PIXEL_ART_SIDE`` values a
    side: digits, filters, feature maps, confusion matrices) as a PNG of twice its pixels with its size in the metadata (IPython's "retina"), sharp on
    a phone, a high-density screen or zoomed in; curves and bars as a plain PNG, sharp enough at their size
    (2x would make the book's figures weigh about 1.7 times as much: book/build.py)."""
    from IPython.core.pylabtools import print_figure, retina_figure
    if fig.images or any(_shows_pixels(image) for ax in fig.axes for image in ax.images):
        return retina_figure(fig, base64=True, bbox_inches="tight")
    return print_figure(fig, "png", base64=True, bbox_inches="tight")


def _sharp_figures() -> None:
    """In a Jupyter kernel, matplotlib's inline figures go through ``_figure_png``. Every notebook imports
    nn_helpers first, so this is the one place that sets it (and a later ``%matplotlib inline``, which puts
    the inline backend's own formatter back, is undone before the next cell runs and before a cell's figures
    are shown). Outside a kernel (the command line, the tests' own figures) nothing changes, and matplotlib
    is not imported."""
    ipython = _sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None or not hasattr(shell, "kernel"):
        return
    try:
        import matplotlib
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure
        # matplotlib loads its backend at the first figure, and the inline backend then registers its own PNG
        # formatter (in the middle of a cell): load it now, so that ours comes after it
        plt.switch_backend(matplotlib.get_backend())
        formatter = shell.display_formatter.formatters["image/png"]

        def ours(*_):
            if formatter.type_printers.get(Figure) is not _figure_png:
                formatter.for_type(Figure, _figure_png)
        ours()
        shell.events.register("pre_run_cell", ours)
        shell.events.register("post_execute", ours)     # before the inline backend shows the cell's figures
    except Exception:  # another front end: its own default stays
        pass


_sharp_figures()
