"""Figures for the notebooks (matplotlib). Every function returns the Figure it drew."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np


def _as_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    return images.reshape(len(images), 28, 28) if images.ndim == 2 else images


def plot_digits(images, labels=None, predictions=None, ncols: int = 10, title: str | None = None, size: float = 1.1):
    """A grid of digits; under each, its label (and prediction, red when wrong).

    images: (n, 28, 28) or (n, 784); labels, predictions: (n,) or None.
    """
    images = _as_images(images)
    n = len(images)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=images.max() or 1)
        if labels is not None and predictions is not None:
            ok = labels[i] == predictions[i]
            ax.set_title(f"{labels[i]} → {predictions[i]}", fontsize=9, color="black" if ok else "crimson")
        elif labels is not None:
            ax.set_title(str(labels[i]), fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


#: The series' convention for learning curves: solid lines are training, dashed lines validation.
TRAIN_STYLE, VAL_STYLE = "-", "--"


def _history_legend(ax, fontsize: int = 8) -> None:
    """One legend entry per run (its colour), then what solid and dashed mean, in grey."""
    from matplotlib.lines import Line2D

    runs = [line for line in ax.lines if line.get_gid() == "train" and not line.get_label().startswith("_")]
    handles = [Line2D([], [], color=line.get_color(), lw=2) for line in runs]
    labels = [line.get_label() for line in runs]
    has_val = any(line.get_gid() == "val" for line in ax.lines)
    handles.append(Line2D([], [], color="grey", ls=TRAIN_STYLE))
    labels.append("training (solid)")
    if has_val:
        handles.append(Line2D([], [], color="grey", ls=VAL_STYLE))
        labels.append("validation (dashed)")
    ax.legend(handles, labels, fontsize=fontsize)


def plot_history(history, title: str = "Learning curves", label: str | None = None, axes=None, legend: bool = True,
                 log: bool = False):
    """Loss and accuracy per epoch, training and validation, side by side.

    The series' convention: **solid lines are training, dashed lines validation**, one colour per run.
    Training is ``history.train_loss`` / ``train_acc`` (measured on the training data after each epoch),
    validation ``history.val_loss`` / ``val_acc`` (left out when the history has none).

    Pass ``axes`` (two Axes) and ``label`` to draw several runs on one figure; the legend then names each
    run by its colour and says what solid and dashed mean. The caller lays the figure out
    (``fig.tight_layout()``) once the last run is drawn. ``legend=False`` leaves the legends out.
    ``log=True`` draws both panels on a log scale and the right one as the error rate 1 - accuracy, so that
    the first epoch (10% errors) and the last (under 1%) both stay readable.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    own_figure = axes is None
    if own_figure:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        fig.suptitle(title)
    else:
        fig = axes[0].figure
    ax_loss, ax_acc = axes
    epochs = np.asarray(history.epoch)
    acc = (lambda a: 1 - np.asarray(a, dtype=float)) if log else (lambda a: np.asarray(a, dtype=float))
    name = label or "_training"      # an unlabelled run needs no entry of its own in the legend
    line = ax_loss.plot(epochs, history.train_loss, TRAIN_STYLE, label=name, gid="train")[0]
    ax_acc.plot(epochs, acc(history.train_acc), TRAIN_STYLE, color=line.get_color(), label=name, gid="train")
    if not np.all(np.isnan(np.asarray(history.val_loss, dtype=float))):
        ax_loss.plot(epochs, history.val_loss, VAL_STYLE, color=line.get_color(), label=f"_{name.lstrip('_')} validation",
                     gid="val")
        ax_acc.plot(epochs, acc(history.val_acc), VAL_STYLE, color=line.get_color(), label=f"_{name.lstrip('_')} validation",
                    gid="val")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    if log:
        ax_acc.set(xlabel="epoch", ylabel="error rate (1 - accuracy)", title="Error rate (log scale)")
        for ax in axes:
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))           # ticks at 0.01, 0.02, 0.05, 0.1, ...
            ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
    else:
        ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))   # epochs are whole numbers
        ax.grid(alpha=0.3, which="both" if log else "major")
        if legend:
            _history_legend(ax)
    if own_figure:
        fig.tight_layout()
    return fig


def plot_confusion_matrix(C: np.ndarray, title: str = "Confusion matrix"):
    """Counts of true class (rows) vs predicted class (columns), with the numbers written in."""
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    # log colour scale so the few mistakes stand out next to the large diagonal
    im = ax.imshow(np.log1p(C), cmap="Blues")
    k = len(C)
    for i in range(k):
        for j in range(k):
            if C[i, j]:
                ax.text(j, i, str(C[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if i == j else "black")
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted digit", ylabel="true digit", title=title)
    fig.colorbar(im, ax=ax, label="log(1 + count)")
    fig.tight_layout()
    return fig


def plot_weights(W1: np.ndarray, n: int = 16, ncols: int = 8, title: str = "First-layer weights"):
    """The first ``n`` columns of ``W1`` (784, d1) as 28x28 images: red pixels push a hidden unit up,
    blue pixels push it down, white is 0. All the images share **one** symmetric colour scale,
    ±(the largest |weight| drawn), shown by the colour bar, so that their sizes compare."""
    n = min(n, W1.shape[1])
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    lim = float(np.abs(W1[:, :n]).max()) or 1.0
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols + 1.0, 1.45 * nrows), squeeze=False)
    for j, ax in enumerate(axes.flat):
        ax.axis("off")
        if j < n:
            im = ax.imshow(W1[:, j].reshape(28, 28), cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(f"unit {j}", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.03, pad=0.02, label="weight")
    return fig


def plot_mistakes(images, y_true, probs, indices, ncols: int = 6, title: str = "Most confident mistakes"):
    """The images at ``indices`` with their true label, the prediction and its probability."""
    images = _as_images(images)
    n = len(indices)
    ncols = min(ncols, n) or 1
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.7 * ncols, 1.9 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, indices):
        pred = probs[i].argmax()
        ax.imshow(images[i], cmap="gray_r")
        ax.set_title(f"true {y_true[i]}, said {pred}\np = {probs[i, pred]:.3f}", fontsize=8, color="crimson")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_weights_shared(weights: dict, n: int = 8, title: str = "First-layer weights", size: float = 1.5):
    """First-layer weights of several networks, one row per network, on **one** colour scale with a colour
    bar, so that their sizes compare: ``weights`` maps a row label to a ``W1`` of shape (784, h); the first
    ``n`` columns of each are drawn as 28x28 images (red +, blue -, white 0). The scale is symmetric,
    ±(the largest |weight| drawn)."""
    rows = list(weights.items())
    n = min([n, *(W.shape[1] for _, W in rows)])
    lim = max(float(np.abs(W[:, :n]).max()) for _, W in rows) or 1.0
    fig, axes = plt.subplots(len(rows), n, figsize=(size * n + 1.2, size * len(rows) + 0.6), squeeze=False)
    for (label, W), row in zip(rows, axes):
        for j, ax in enumerate(row):
            im = ax.imshow(W[:, j].reshape(28, 28), cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"unit {j}", fontsize=8)
        row[0].set_ylabel(label, fontsize=9)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.92, 1))
    fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.02, pad=0.01, label="weight")
    return fig


def plot_class_regions(params: dict, X: np.ndarray, y: np.ndarray, activation: str = "relu", X_test=None,
                       y_test=None, title: str | None = None, ax=None, grid: int = 200, lines: bool = True):
    """A network's class regions on 2-D points (``nn.toy_data``), with the points drawn on top.

    params: a network ``[2, ..., K]``; X: (n, 2) and y: (n,) the training points (dots); X_test, y_test:
    held-out points (crosses), optional. The box [-1.5, 1.5]^2 of ``toy_data`` is cut into a grid of
    ``grid`` x ``grid`` points x_g; each pixel is the classes' colours mixed by the network's probabilities
    ``predict_proba(params, x_g, activation)`` (grid*grid, K), paled towards white, as in
    ``widgets.boundary_explorer``. ``lines``: also draw the decision boundaries as dark lines, the level 0
    of each class's margin p_k - max_{j != k} p_j, where the predicted class changes.
    ``ax``: an Axes to draw into (e.g. one of several side by side); by default a new figure.
    Returns the Figure.
    """
    from matplotlib.lines import Line2D

    from .network import layer_sizes, predict_proba
    from .toy_data import BOX
    from .widgets.boundary import COLOURS, class_regions

    sizes = layer_sizes(params)
    if sizes[0] != 2:
        raise ValueError(f"the network takes {sizes[0]} inputs; plot_class_regions draws networks of 2 inputs "
                         "(points from nn.toy_data), e.g. nn.init_params([2, 32, 3]).")
    if sizes[-1] > len(COLOURS):
        raise ValueError(f"the network has {sizes[-1]} classes; plot_class_regions has colours for at most "
                         f"{len(COLOURS)}.")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.6, 4.6))
    else:
        fig = ax.figure
    axis = np.linspace(-BOX, BOX, grid, dtype=params["W1"].dtype)
    points = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)        # (grid*grid, 2), row by row
    probs = predict_proba(params, points, activation)
    ax.imshow(class_regions(probs, grid), origin="lower", extent=(-BOX, BOX, -BOX, BOX), interpolation="nearest")
    if lines:
        for k in range(probs.shape[1]):
            margin = probs[:, k] - np.delete(probs, k, axis=1).max(axis=1)        # > 0 where class k wins
            if margin.min() < 0 < margin.max():
                ax.contour(axis, axis, margin.reshape(grid, grid), levels=[0.0], colors="0.15", linewidths=1.0)
    y = np.asarray(y)
    ax.scatter(*np.asarray(X).T, c=COLOURS[y], marker="o", s=14, edgecolors="white", linewidths=0.5)
    handles = [Line2D([], [], color="0.3", marker="o", linestyle="", label="training points")]
    if X_test is not None:
        ax.scatter(*np.asarray(X_test).T, c=COLOURS[np.asarray(y_test)], marker="x", s=12, linewidths=0.9)
        handles.append(Line2D([], [], color="0.3", marker="x", linestyle="", label="held-out points"))
    ax.set(xlim=(-BOX, BOX), ylim=(-BOX, BOX), aspect="equal", xlabel="$x_1$", ylabel="$x_2$")
    if title:
        ax.set_title(title)
    ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.8)
    return fig
