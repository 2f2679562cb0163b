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
