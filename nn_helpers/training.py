"""The training loop: mini-batch gradient descent with shuffling, validation and callbacks.

One epoch = one pass over the shuffled training set in batches of ``batch_size``; for each batch:
forward -> loss -> backward -> optimizer step. Full-batch gradient descent (as in the original
tutorial) is the special case ``batch_size=None`` (= n): one step per epoch.

The loop works for any model: a model is an object with four methods (see :class:`Model`);
:class:`~nn_helpers.model.Sequential` builds one from a list of layers (:mod:`nn_helpers.layers`), and
:class:`MLP` (the fully connected network of network.py, the default) and ``cnn.CNN`` are two of those.
The model owns its settings (activation, dropout); the loop owns the data, the order, the steps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .losses import cross_entropy
from .metrics import accuracy
from .model import optimizer_step, thread_pool
from .network import CHUNK_ROWS, MLP
from .optimizers import Optimizer, cosine_lr, make_optimizer, onecycle_lr


#: Training stops with a DivergenceError when a batch's loss is NaN, inf, or this many times the first one.
DIVERGENCE_RATIO = 100


class DivergenceError(RuntimeError):
    """The loss became NaN or inf, or exploded (see ``DIVERGENCE_RATIO``): the steps are too large."""


class StopTraining(Exception):
    """Raise from a callback to end training early; ``train`` returns what it has so far."""


@dataclass
class History:
    """Per-epoch metrics, one entry per epoch.

    ``train_loss``, ``train_acc``: the loss and accuracy measured after the epoch, with the epoch's final
        weights (no dropout), on a fixed sample of the training set drawn once (see ``train_sample`` of
        :func:`train`); NaN when that measurement is turned off. Compare these with ``val_*``.
    ``running_loss``, ``running_acc``: the averages over the epoch's batches, each measured before its
        own step (and with dropout, if any). They cost nothing, but lag behind the weights the epoch ends
        with, so early in training they make the training set look worse than the validation set.
    ``val_loss``, ``val_acc``: measured on the validation set after the epoch (NaN when there is none).
    """

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    running_loss: list = field(default_factory=list)
    running_acc: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    stopped_early: bool = False

    def __len__(self):
        return len(self.epoch)

    def last(self) -> dict:
        """The latest epoch's metrics as a dict."""
        return {k: v[-1] for k, v in vars(self).items() if isinstance(v, list) and v}


class EarlyStopping:
    """A callback for :func:`train` that stops when the validation loss has not improved for ``patience``
    epochs, and puts back the parameters of the best epoch:

        best = argmin_e val_loss[e];   stop after epoch e when e - best >= patience

    ``train(..., X_val=..., y_val=..., callbacks=[EarlyStopping(patience=3)])``. After training,
    ``best_epoch``, ``best_loss`` and ``best_params`` (a copy) tell what it kept. When training ends
    without stopping, the returned parameters are the last epoch's; ``best_params`` still holds the best.
    """

    def __init__(self, patience: int = 3, min_delta: float = 0.0, restore_best: bool = True):
        if patience < 1:
            raise ValueError(f"patience={patience}; expected at least 1 epoch.")
        self.patience, self.min_delta, self.restore_best = patience, min_delta, restore_best
        self.best_epoch, self.best_loss, self.best_params = 0, math.inf, None

    def __call__(self, epoch: int, history: "History", params: dict) -> None:
        loss = history.val_loss[-1]
        if math.isnan(loss):
            raise ValueError("EarlyStopping watches the validation loss: pass X_val and y_val to train.")
        if loss < self.best_loss - self.min_delta:
            self.best_epoch, self.best_loss = epoch, loss
            self.best_params = {k: v.copy() for k, v in params.items()}
        elif epoch - self.best_epoch >= self.patience:
            if self.restore_best:
                for k, v in self.best_params.items():
                    params[k][...] = v      # in place: train returns this dict
            raise StopTraining


def check_labels(y: np.ndarray, n: int, n_classes: int, name: str = "y") -> np.ndarray:
    """Labels must be integers 0..n_classes-1, one per sample."""
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"{name} has shape {y.shape}; expected ({n},), one label per row of X.")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} has dtype {y.dtype}; expected integer labels 0..{n_classes - 1} (not one-hot).")
    if n and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} ranges from {y.min()} to {y.max()}; expected labels 0..{n_classes - 1}.")
    return y.astype(np.intp)


def batch_gradient(params: dict, X: np.ndarray, y: np.ndarray, activation: str = "relu",
                   chunk_rows: int = CHUNK_ROWS, dropout: float = 0.0, rng: np.random.Generator | None = None):
    """Loss, correct predictions and gradient of one batch for the MLP: ``(loss, n_correct, grads)``.

    ``loss`` is the batch's mean cross-entropy J (computed from the logits, exact even where a probability
    underflows), ``grads`` the gradient of J, as :func:`backward` returns it. A batch larger than
    ``chunk_rows`` (full-batch gradient descent) is processed in chunks c of n_c rows,

        J = sum_c (n_c / n) J_c,        dW = sum_c (n_c / n) dW_c,

    (see :class:`~nn_helpers.network.MLP`, whose ``loss_and_grads`` this is). ``dropout`` and ``rng``:
    dropout at training time, the masks drawn from ``rng``.
    """
    return MLP(activation, dropout, chunk_rows).loss_and_grads(params, X, y, rng)


class Model(Protocol):
    """What :func:`train` needs of a model (the parameters stay a plain dict ``{"W1": ..., "b1": ...}``).

    ``check_input(params, X)``: raise a ValueError that says how to fix ``X`` when it cannot be fed in.
    ``n_classes(params)``: the number K of classes, the width of the output layer.
    ``loss_and_grads(params, X, y, rng)``: ``(loss, n_correct, grads)`` of one batch at training time (with
        dropout, drawn from ``rng``): the mean cross-entropy J, the number of correct predictions, and the
        gradient of J as a dict with the keys and shapes of the trained parameters (a model with batch norm
        also writes its new running statistics, state that is not trained, into ``params``).
    ``predict_proba(params, X, check=True)``: class probabilities (n, K) at test time (no dropout); ``check``
        False: ``X`` was checked already (``check_input``), do not read all of it again.
    """

    def check_input(self, params: dict, X: np.ndarray) -> None: ...

    def n_classes(self, params: dict) -> int: ...

    def loss_and_grads(self, params: dict, X: np.ndarray, y: np.ndarray, rng: np.random.Generator): ...

    def predict_proba(self, params: dict, X: np.ndarray, *, check: bool = True) -> np.ndarray: ...


def evaluate(params: dict, X: np.ndarray, y: np.ndarray, activation: str = "relu", model: Model | None = None,
             *, check: bool = True):
    """Mean cross-entropy and accuracy of the network on ``(X, y)``: returns ``(loss, acc)``.
    ``model``: another model than the MLP with ``activation`` (e.g. ``cnn.CNN()``). ``check``: False when ``X``
    was checked already (:func:`train` checks its data once, not after every epoch)."""
    probs = (model or MLP(activation)).predict_proba(params, X, check=check)
    return cross_entropy(probs, y), accuracy(y, probs.argmax(axis=1))


def augmented(X: np.ndarray, augment, rng: np.random.Generator) -> np.ndarray:
    """A batch ``X`` in the model's layout (rows (b, 784) or images (b, 1, 28, 28)) -> uint8 images
    (b, 28, 28) -> ``augment(images, rng)`` -> the same layout again."""
    images = np.rint(X * 255).astype(np.uint8).reshape(len(X), 28, 28)
    images = augment(images, rng)
    if images.shape != (len(X), 28, 28) or images.dtype != np.uint8:
        raise ValueError(f"augment returned {images.dtype} images of shape {images.shape}; expected uint8 "
                         f"({len(X)}, 28, 28), the shape and type it was given.")
    out = images.reshape(X.shape).astype(X.dtype)
    out /= 255
    return out


#: The learning-rate schedules :func:`train` knows.
SCHEDULES = ("constant", "cosine", "onecycle")


#: Training rows sampled for the after-epoch training metrics when there is no validation set.
TRAIN_SAMPLE = 5000


def train_sample_indices(n: int, size: int, seed: int) -> np.ndarray:
    """The rows of the training set on which :func:`train` measures ``History.train_*``: ``size`` distinct
    indices out of ``n`` (all of them when ``size >= n``), sorted, drawn from their own generator
    ``default_rng([seed, 3])``, so the shuffling generator, and with it the trained weights, are the
    same whatever the sample's size."""
    if size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 3]).choice(n, size=size, replace=False))


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="batch", desc="training", leave=True)


def _check_train_args(model, params, X, y, X_val, y_val, epochs, batch_size, schedule, augment, train_sample):
    """Check ``train``'s arguments; return ``(y, y_val, batch_size, train_sample)`` made ready for the loop."""
    model.check_input(params, X)
    n, n_classes = len(X), model.n_classes(params)
    y = check_labels(y, n, n_classes)
    if (X_val is None) != (y_val is None):
        raise ValueError("pass both X_val and y_val, or neither.")
    if X_val is not None:
        try:
            model.check_input(params, X_val)
        except ValueError as err:
            raise ValueError(f"X_val: {err}") from None
        y_val = check_labels(y_val, len(X_val), n_classes, name="y_val")
    if not (isinstance(epochs, (int, np.integer)) and epochs >= 1) and not (isinstance(epochs, float) and epochs >= 1
                                                                          and math.isfinite(epochs)):
        raise ValueError(f"epochs={epochs}; expected at least 1 (a whole number, or e.g. 2.5: a last epoch on half "
                         f"of the training set).")
    batch_size = n if batch_size is None else int(batch_size)
    if not 1 <= batch_size:
        raise ValueError(f"batch_size={batch_size}; expected at least 1.")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule={schedule!r}; expected 'constant', 'cosine' or 'onecycle'.")
    features = int(np.prod(np.shape(X)[1:]))
    if augment is not None and features != 784:
        raise ValueError(f"augment works on 28x28 images, but X has {features} features; expected 784 pixels.")
    if train_sample is None:
        train_sample = TRAIN_SAMPLE if X_val is None else len(X_val)
    elif int(train_sample) != train_sample or train_sample < 0:
        raise ValueError(f"train_sample={train_sample}; expected a number of rows, at least 0 (0 turns the "
                         f"after-epoch training metrics off).")
    return y, y_val, min(batch_size, n), int(train_sample)


def _model(model, activation: str, dropout: float):
    """The model ``train`` trains: ``model``, or an :class:`MLP` built from ``activation`` and ``dropout``."""
    if model is None:
        return MLP(activation, dropout)
    if activation != "relu" or dropout:
        raise ValueError(f"train got model={model!r} and activation={activation!r}, dropout={dropout}: set them "
                         f"on the model instead, e.g. MLP(activation='tanh', dropout=0.2).")
    return model


@dataclass
class _Run:
    """What a training run carries from batch to batch: model, optimizer, generators, the first loss."""

    model: Model
    optimizer: Optimizer
    batch_size: int
    shuffle: bool
    augment: object
    lr0: float
    rng: np.random.Generator            # shuffling
    dropout_rng: np.random.Generator
    augment_rng: np.random.Generator
    bar: object = None
    first_loss: float | None = None
    total_steps: int = 0                # one-cycle: the steps of the whole run (0: the lr is set per epoch)
    steps_done: int = 0


def _step(run: _Run, params: dict, Xb, yb, where: str):
    """One optimizer step on the batch ``(Xb, yb)`` (augmented already); returns its loss and correct predictions
    (before the step)."""
    if run.total_steps:
        run.optimizer.lr = onecycle_lr(run.lr0, run.steps_done, run.total_steps)
        run.steps_done += 1
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        loss, n_correct, grads = run.model.loss_and_grads(params, Xb, yb, run.dropout_rng)
        run.first_loss = loss if run.first_loss is None else run.first_loss
        if not (math.isfinite(loss) and loss <= DIVERGENCE_RATIO * run.first_loss):
            raise DivergenceError(
                f"Training diverged in {where}: the loss went from {run.first_loss:.3g} to {loss:.3g}. The "
                f"learning rate {run.lr0:g} is too large for this network; try a smaller one, e.g. {run.lr0 / 10:g}."
            )
        optimizer_step(run.optimizer, params, grads, getattr(run.model, "workers", 1))
    return loss, n_correct


def epoch_rows(n: int, epochs: float) -> list:
    """The samples each epoch trains on: n for every epoch, except a last one of ``round(f n)`` when ``epochs``
    has a fraction f (``epochs=2.5``: n, n, n / 2)."""
    whole = math.ceil(epochs)
    last = n if epochs == whole else max(1, round((epochs - (whole - 1)) * n))
    return [n] * (whole - 1) + [last]


def _run_epoch(run: _Run, params: dict, X, y, epoch: int, rows: int | None = None):
    """One pass over the shuffled training set (``rows``: over the first that many samples of the shuffled
    order only); returns the mean loss and accuracy of its batches."""
    n = len(X)
    rows = n if rows is None else rows
    n_batches = math.ceil(rows / run.batch_size)
    order = run.rng.permutation(n) if run.shuffle else np.arange(n)
    loss_sum = correct = 0.0

    def batch(b):
        idx = order[b * run.batch_size : min((b + 1) * run.batch_size, rows)]
        # one batch holding every sample: the order does not change the mean gradient, skip the copy
        Xb, yb = (X, y) if n_batches == 1 and rows == n else (X[idx], y[idx])
        return (Xb if run.augment is None else augmented(Xb, run.augment, run.augment_rng)), yb

    # With threads sharing each batch, a helper thread gathers and augments batch b + 1 while batch b trains (the
    # batches in order: the augmentation draws what it drew without the helper).
    ahead = thread_pool(1) if run.augment is not None and getattr(run.model, "workers", 1) > 1 else None
    upcoming = ahead.submit(batch, 0) if ahead else None
    for b in range(n_batches):
        Xb, yb = upcoming.result() if ahead else batch(b)
        if ahead and b + 1 < n_batches:
            upcoming = ahead.submit(batch, b + 1)
        loss, n_correct = _step(run, params, Xb, yb, f"epoch {epoch} (batch {b + 1} of {n_batches})")
        loss_sum += loss * len(yb)
        correct += n_correct
        if run.bar is not None:
            run.bar.update(1)
    return loss_sum / rows, correct / rows


def _measure_epoch(model: Model, params: dict, history: History, train_set, val_set) -> None:
    """Append the after-epoch metrics to ``history``: loss and accuracy on the training sample and on the
    validation set, each ``(X, y)``, or NaN where it is None."""
    nan = (float("nan"), float("nan"))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        train_loss, train_acc = evaluate(params, *train_set, model=model, check=False) if train_set else nan
        val_loss, val_acc = evaluate(params, *val_set, model=model, check=False) if val_set else nan
    history.train_loss.append(train_loss)
    history.train_acc.append(train_acc)
    history.val_loss.append(val_loss)
    history.val_acc.append(val_acc)


def train(
    params: dict,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: float = 10,
    batch_size: int | None = 128,
    optimizer: str | Optimizer = "momentum",
    lr: float | None = None,
    schedule: str = "constant",
    activation: str = "relu",
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    seed: int = 0,
    shuffle: bool = True,
    callbacks=(),
    progress: bool = True,
    dropout: float = 0.0,
    augment=None,
    train_sample: int | None = None,
    model: Model | None = None,
):
    """Train a copy of ``params`` on ``X`` (n, n_0) and labels ``y`` (n,); the input dict is left as is.

    epochs: passes over the training set; with a fraction (e.g. 2.5) the last pass trains on that part of the
        shuffled set only (half of it; :func:`epoch_rows`), and the schedules span the steps actually taken.
    optimizer: "sgd", "momentum", "adam" or an :class:`Optimizer`; ``lr`` overrides its learning rate.
    schedule: "constant" learning rate, "cosine" (set once an epoch, see :func:`cosine_lr`) or "onecycle"
        (set before every step, up from lr / 25 to lr over the first 30% of the steps, then down to nearly 0:
        :func:`~nn_helpers.optimizers.onecycle_lr`; ``lr`` is its peak).
    batch_size: samples per step; ``None`` or ``n`` gives full-batch gradient descent.
    callbacks: callables ``f(epoch, history, params)`` run after every epoch (live plots, early
        stopping); one may raise :class:`StopTraining` to end training early.
    progress: show a tqdm progress bar (terminal or Jupyter).
    model: what to train, any :class:`Model`; by default ``MLP(activation, dropout)``, the fully connected
        network. ``train(params, X, y, model=CNN(dropout=0.25))`` trains ``nn_helpers.cnn``'s network on
        images ``X`` (n, 1, 28, 28); ``model=Sequential([...])`` any list of layers (:mod:`nn_helpers.model`).
    activation, dropout: the MLP's settings when no ``model`` is given; dropout is the rate p of inverted
        dropout on the hidden layers during training (0: none), see :func:`forward`.
    augment: a function ``f(images, rng) -> images`` applied to every batch's uint8 images (b, 28, 28),
        recovered from ``X`` (rows or images, the model's layout) as ``round(255 X)``, e.g.
        ``augment.shifts(2)`` from ``nn_helpers.augment``.
    Dropout and augmentation draw from their own generators (seeded from ``seed``), so the shuffling
    is the same with and without them.
    train_sample: how many training rows ``History.train_loss``/``train_acc`` are measured on after each
        epoch; ``None`` (default): as many as the validation set has, or ``TRAIN_SAMPLE`` (5,000) without
        one, at most n; 0 turns the measurement off (NaN). The rows are drawn once from ``seed``, from their
        own generator (see :func:`train_sample_indices`): the sample does not change the trained weights.
        ``History.running_loss``/``running_acc`` keep the averages over each epoch's batches.

    Returns ``(params, history)``. Raises :class:`DivergenceError` as soon as the loss is NaN or inf.
    Deterministic: the same ``seed`` (shuffling) and starting ``params`` give the same result on the same
    machine (CPU, BLAS library and thread count); another machine rounds differently in the last digits.
    """
    model = _model(model, activation, dropout)
    y, y_val, batch_size, train_sample = _check_train_args(model, params, X, y, X_val, y_val, epochs, batch_size,
                                                           schedule, augment, train_sample)
    if isinstance(optimizer, str):
        optimizer = make_optimizer(optimizer, lr)
    elif lr is not None:
        optimizer.lr = lr
    n = len(X)
    rows = epoch_rows(n, epochs)
    params = {k: v.copy() for k, v in params.items()}
    X = np.asarray(X, dtype=next(iter(params.values())).dtype)        # the weights' float type
    sample = train_sample_indices(n, train_sample, seed) if train_sample else None
    train_set = None if sample is None else (X, y) if len(sample) == n else (X[sample], y[sample])
    val_set = None if X_val is None else (X_val, y_val)
    run = _Run(model, optimizer, batch_size, shuffle, augment, optimizer.lr, np.random.default_rng(seed),
               np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2]),
               _progress_bar(sum(math.ceil(r / batch_size) for r in rows), progress),
               total_steps=sum(math.ceil(r / batch_size) for r in rows) if schedule == "onecycle" else 0)
    history = History()
    try:
        for epoch, epoch_n in enumerate(rows, start=1):
            start = time.perf_counter()
            if schedule == "cosine":
                optimizer.lr = cosine_lr(run.lr0, epoch, epochs)
            running_loss, running_acc = _run_epoch(run, params, X, y, epoch, epoch_n)
            history.epoch.append(epoch)
            history.running_loss.append(running_loss)
            history.running_acc.append(running_acc)
            _measure_epoch(model, params, history, train_set, val_set)
            history.seconds.append(time.perf_counter() - start)
            if run.bar is not None:
                shown = {"val_acc": f"{history.val_acc[-1]:.4f}"} if val_set else {"acc": f"{running_acc:.4f}"}
                run.bar.set_postfix(epoch=epoch, loss=f"{running_loss:.4f}", **shown, refresh=False)
            for callback in callbacks:
                callback(epoch, history, params)
    except StopTraining:
        history.stopped_early = True
    finally:
        if run.bar is not None:
            run.bar.close()
    return params, history
