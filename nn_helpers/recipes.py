"""The training recipes of notebook 06 (from the original tutorial to >= 98% test accuracy), shared
with notebook 07 so it can rebuild the final model and the comparison table when they are missing.

Every step is a dict of settings; each changes one or two things of the step before it:

    0. original tutorial   784-10-10, W, b = rand - 0.5, full-batch gradient descent, lr 0.1, 500 steps
    1. He init             W ~ Normal(0, 2 / n_in), b = 0 (and only 100 full-batch steps)
    2. mini-batches        128 samples per step, 5 epochs
    3. momentum            v <- 0.9 v + g; p <- p - 0.1 v
    4. Adam                lr 0.001
    5a. 256 hidden, Adam   784-256-10, 8 epochs
    5b. 256 hidden, momentum
    6. cosine schedule     momentum, lr glides from 0.1 towards 0   (= FINAL)

and notebook 08's recipe, :data:`BEST`: a wider, deeper network that no longer overfits, thanks to
dropout and shifted copies of the images (99.03% test accuracy with seed 0, 98.96% over 3 seeds:
benchmarks/README.md; the 800-800 width is Simard et al.'s, 2003).

:data:`CNN_RECIPE` (``--recipe cnn``) is the convolutional network of :mod:`nn_helpers.cnn`: conv 32 3x3,
pool, conv 64 3x3, pool, dense 128 with dropout, Adam, trained on all 60,000 training images, each batch
split between two threads (``CNN(workers=2)``) with one BLAS thread each (:mod:`nn_helpers.threads`). A step
with ``"model": "cnn"`` reads the images as (n, 1, 28, 28); every other step is an MLP on rows (n, 784).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np

from .data import load_mnist, to_features, train_val_split
from .augment import shifts
from .cnn import CNN, init_cnn
from .layers import Activation, Conv2D, ConvPool, Dense, Dropout, Flatten, MaxPool, SpatialBatchNorm
from .model import Sequential
from .network import MLP, init_params
from .optimizers import make_optimizer
from .serialization import load_params, save_params
from .threads import blas_threads, cores
from .training import evaluate, train

ORIGINAL = {"step": "0. original tutorial", "hidden": [10], "init": "uniform", "optimizer": "sgd", "lr": 0.1,
            "batch_size": None, "epochs": 500, "schedule": "constant"}


def _then(previous: dict, step: str, **changes) -> dict:
    return {**previous, "step": step, **changes}


_he = _then(ORIGINAL, "1. He init", init="he", epochs=100)
_mini = _then(_he, "2. mini-batches", batch_size=128, epochs=5)
_momentum = _then(_mini, "3. momentum", optimizer="momentum", lr=0.1)
_adam = _then(_momentum, "4. Adam", optimizer="adam", lr=0.001)
_wide_adam = _then(_adam, "5a. 256 hidden units, Adam", hidden=[256], epochs=8)
_wide_momentum = _then(_wide_adam, "5b. 256 hidden units, momentum", optimizer="momentum", lr=0.1)
_cosine = _then(_wide_momentum, "6. cosine schedule", schedule="cosine")

#: Notebook 06's steps, in order.
STEPS = [ORIGINAL, _he, _mini, _momentum, _adam, _wide_adam, _wide_momentum, _cosine]

#: The final recipe (784-256-10, He, momentum lr 0.1, cosine, batch 128, 8 epochs): >= 98% test accuracy.
FINAL = STEPS[-1]

#: Training rows the two full-batch steps (0 and 1) use by default: a fifth of the 55,000. Their mean gradient
#: points almost exactly where the mean over all 55,000 does (notebook 06 measures it), so 500 full-batch steps
#: follow nearly the same path (about 83% test accuracy either way) at a fifth of the cost.
#: ``full_batch_rows=None`` trains them on every row.
FULL_BATCH_ROWS = 11_000


#: Notebook 08's recipe: 784-800-800-10, dropout 0.2 on both hidden layers, every batch shifted by up to
#: 2 pixels, momentum lr 0.1 with the cosine schedule, 20 epochs. The regularization settings
#: (``dropout``, ``augment``: the largest shift in pixels, ``weight_decay``) default to 0 in other steps.
BEST = _then(FINAL, "best: 800-800, dropout, shifts", hidden=[800, 800], epochs=20, dropout=0.2, augment=2,
             weight_decay=0.0)

#: The CNN recipe (``--recipe cnn``): conv 32 3x3, pool, conv 64 3x3, pool, dense 128 (dropout 0.25), 10;
#: Adam lr 0.002 with the cosine schedule, batch 128, shifts of up to 1 pixel, 6 epochs on all 60,000 training
#: images (``val`` 0: no hold-out). ``workers``: threads sharing each batch (at most the cores there are), each
#: with ``blas_threads`` BLAS threads. ``train_sample`` 0: no after-epoch pass over training images (it would
#: add about 4 s an epoch); ``History.running_loss`` and ``running_acc`` tell how training goes. Goal: >= 99.3% test accuracy in <= 5 minutes on 2 cores (benchmarks/README.md).
CNN_RECIPE = {"step": "cnn: conv 32-64 3x3, dropout, shifts", "model": "cnn", "filters": [32, 64], "kernel": 3,
              "hidden": [128], "init": "he", "optimizer": "adam", "lr": 0.002, "batch_size": 128, "epochs": 6,
              "schedule": "cosine", "dropout": 0.25, "augment": 1, "weight_decay": 0.0, "val": 0,
              "train_sample": 0, "workers": 2, "blas_threads": 1}

#: The fast recipe (``--recipe fast``): the CNN's convolutions with spatial batch norm, conv 32 3x3, pool, batch
#: norm, ReLU, conv 64 3x3, pool, batch norm, ReLU, dense 128, 10 (no dropout; :func:`batch_norm_cnn`); Adam with
#: the one-cycle schedule (:func:`~nn_helpers.optimizers.onecycle_lr`: the steps start small, peak at lr 0.01 and
#: end near 0), batch 128, shifts of up to 1 pixel, 2.75 epochs on the 60,000 training images (two passes, then
#: three quarters of the shuffled set: 165,000 images; 3 epochs, 9% more, were no better over the seeds measured:
#: benchmarks/README.md), 2 threads of 1 BLAS
#: thread; ``reuse_memory``: :func:`reuse_freed_memory` (fewer page faults). Goal: >= 99.3% test accuracy in
#: <= 60 s on 2 cores, data loading and the test included (benchmarks/README.md).
FAST = {"step": "fast: conv 32-64 3x3 with batch norm, one-cycle", "model": "cnn", "filters": [32, 64], "kernel": 3,
        "batch_norm": True, "hidden": [128], "init": "he", "optimizer": "adam", "lr": 0.01, "batch_size": 128,
        "epochs": 2.75, "schedule": "onecycle", "dropout": 0.0, "augment": 1, "weight_decay": 0.0, "val": 0,
        "train_sample": 0, "workers": 2, "blas_threads": 1, "reuse_memory": True}

#: The recipes the command line offers as ``--recipe``.
RECIPES = {"final": FINAL, "best": BEST, "cnn": CNN_RECIPE, "fast": FAST}


def is_cnn(step: dict) -> bool:
    """Whether ``step`` trains the CNN of :mod:`nn_helpers.cnn` (``"model": "cnn"``) rather than an MLP."""
    return step.get("model", "mlp") == "cnn"


def workers(step: dict) -> int:
    """Threads that share each batch: the step's ``workers``, at most :func:`~nn_helpers.threads.cores`
    (1 for an MLP)."""
    if not is_cnn(step):
        return 1
    return max(1, min(int(step.get("workers", 1)), cores()))


def build_model(step: dict, seed: int = 0, activation: str = "relu", n_features: int = 784):
    """The initialized parameters and the model :func:`nn_helpers.train` trains for ``step``:
    ``(params, model)``, an :class:`~nn_helpers.training.MLP` (784-hidden...-10) or, for a CNN step, a
    :class:`~nn_helpers.cnn.CNN` with ``init_cnn(filters, kernel, hidden[0])`` (He init, ReLU only)."""
    if not is_cnn(step):
        params = init_params([n_features, *step["hidden"], 10], init=step["init"], seed=seed)
        return params, MLP(activation, step.get("dropout", 0.0))
    if len(step["hidden"]) != 1:
        raise ValueError(f"hidden={list(step['hidden'])}: the CNN has one dense hidden layer after its conv "
                         f"stages; give one width, e.g. --hidden 128.")
    if activation != "relu" or step["init"] != "he":
        raise ValueError(f"activation={activation!r}, init={step['init']!r}: the CNN uses ReLU and He "
                         f"initialization only; leave --activation and --init out with --recipe cnn.")
    if step.get("batch_norm"):
        model = batch_norm_cnn(step, workers(step))
        return model.init((1, 28, 28), seed=seed), model
    params = init_cnn(tuple(step["filters"]), step["kernel"], step["hidden"][0], seed=seed)
    return params, CNN(dropout=step.get("dropout", 0.0), workers=workers(step))


#: Images per forward pass when a batch-norm CNN predicts (the test set of ``--recipe fast``): the pieces of 1,000
#: images the models use by default took 3.1 CPU-s for the 10,000 test images, pieces of 128 1.9 (their im2col
#: columns stay in the caches; one thread, loaded machine, two runs each: benchmarks/README.md).
PREDICT_ROWS = 128


def batch_norm_cnn(step: dict, workers: int = 1) -> Sequential:
    """The CNN of a ``"batch_norm": True`` step as a :class:`~nn_helpers.model.Sequential`: for each conv stage l,
    ``Conv2D(l)`` (padding R // 2), 2x2 max pooling, ``SpatialBatchNorm(l)`` (``gamma_l``, ``beta_l``, running
    ``mean_l``, ``var_l``), ReLU; then ``Flatten``, ``Dense(L - 1, hidden)``, ReLU, [dropout], ``Dense(L, 10)``.
    He initialization (:meth:`~nn_helpers.model.Sequential.init`).

    Batch norm after the pooling, not before: it then normalizes a quarter of the values, and the epoch costs
    about a third less (benchmarks/README.md, "Where an epoch's time goes"). With gamma > 0 batch norm is an
    increasing map per channel, so pooling before or after picks the same entries; only the statistics differ
    (those of the pooled maps). ReLU after the pooling as in the CNN: relu(pool(z)) = pool(relu(z)).

    The first stage's convolution and pooling are one :class:`~nn_helpers.layers.ConvPool` layer (the same values;
    its pooling reads contiguous blocks: 2.1 against 3.3 ms forward, 1.6 against 2.7 ms backward for a piece of 64
    images); the second stage keeps the two layers, where the pooled column order makes im2col and col2im, on
    maps of 14 x 14, slower than the pooling it saves (benchmarks/README.md).
    """
    k, layers = step["kernel"], []
    for l, f in enumerate(step["filters"], start=1):
        conv_pool = [ConvPool(l, pad=k // 2, filters=f, kernel=k, pool=2)] if l == 1 else \
            [Conv2D(l, pad=k // 2, filters=f, kernel=k), MaxPool(2)]
        layers += conv_pool + [SpatialBatchNorm(l), Activation("relu")]
    n = len(step["filters"]) + 1
    layers += [Flatten(), Dense(n, step["hidden"][0]), Activation("relu")]
    layers += [Dropout(step["dropout"])] if step.get("dropout") else []
    layers.append(Dense(n + 1, 10))
    return Sequential(layers, workers=workers, predict_rows=PREDICT_ROWS)


def reuse_freed_memory() -> bool:
    """Ask glibc (Linux) to keep freed memory for the next allocation instead of returning it to the system:
    arrays up to 32 MB come from the heap (``M_MMAP_THRESHOLD``), and freed memory is trimmed only beyond 1 GB
    (``M_TRIM_THRESHOLD``). A CNN batch allocates the same large temporaries again and again; handed fresh pages
    by the kernel each time, the process spent about a sixth of its CPU time in page faults (system time).
    Changes no result, only where memory comes from, for the rest of the process. Returns whether it applied
    (False on other systems and C libraries: nothing changes there)."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, 32 * 2**20)) and bool(libc.mallopt(-1, 2**30))   # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
    except (OSError, AttributeError):           # musl and others: no libc.so.6 or no mallopt
        return False


def model_inputs(step: dict, X):
    """``X`` in the layout ``step``'s model reads: rows (n, 784) for an MLP, images (n, 1, 28, 28) for a
    CNN (a view, no copy). None stays None."""
    if X is None or not is_cnn(step):
        return X
    return X.reshape(len(X), 1, 28, 28)


def network_name(step: dict) -> str:
    """``784-256-10``, or for a CNN ``conv 32 3x3, pool, conv 64 3x3, pool, 128, 10``."""
    if not is_cnn(step):
        return "-".join(map(str, [784, *step["hidden"], 10]))
    k = step["kernel"]
    norm = ", batch norm" if step.get("batch_norm") else ""
    convs = ", ".join(f"conv {f} {k}x{k}, pool{norm}" for f in step["filters"])
    return f"{convs}, {', '.join(map(str, step['hidden']))}, 10"


def describe(step: dict) -> str:
    """One line, e.g. ``784-256-10, he init, momentum lr 0.1 (cosine), batch 128``."""
    sizes = network_name(step)
    batch = "full batch" if step["batch_size"] is None else f"batch {step['batch_size']}"
    schedule = f" ({step['schedule']})" if step["schedule"] != "constant" else ""
    extras = "".join([f", dropout {step['dropout']:g}" if step.get("dropout") else "",
                      f", shifts of up to {step['augment']} px" if step.get("augment") else "",
                      f", weight decay {step['weight_decay']:g}" if step.get("weight_decay") else ""])
    if is_cnn(step):
        extras += f", {step.get('workers', 1)} threads of {step.get('blas_threads') or 'all'} BLAS thread" \
            + ("" if step.get("blas_threads") == 1 else "s")
    return f"{sizes}, {step['init']} init, {step['optimizer']} lr {step['lr']:g}{schedule}, {batch}{extras}"


def train_step(step: dict, X_train, y_train, X_val=None, y_val=None, seed: int = 0, progress: bool = False,
               callbacks=(), full_batch_rows: int | None = None, activation: str = "relu"):
    """Initialize a network with ``step``'s settings and train it: returns ``(params, history)``.

    ``X_train``, ``X_val``: feature rows (n, 784), as :func:`load_split` gives them; a CNN step reads them
    as images (:func:`model_inputs`) and trains within :func:`blas_threads` of its ``blas_threads``.
    ``full_batch_rows``: a full-batch step (``batch_size`` None) trains on the first that many rows of
    ``X_train`` only (e.g. :data:`FULL_BATCH_ROWS`); None, the default, uses them all. Mini-batch steps
    always use every row.
    """
    if full_batch_rows is not None and step["batch_size"] is None:
        X_train, y_train = X_train[:full_batch_rows], y_train[:full_batch_rows]
    params, model = build_model(step, seed=seed, activation=activation, n_features=X_train.shape[1])
    optimizer = make_optimizer(step["optimizer"], step["lr"], weight_decay=step.get("weight_decay", 0.0))
    if step.get("reuse_memory"):
        reuse_freed_memory()
    with blas_threads(step.get("blas_threads") if is_cnn(step) else None):
        return train(params, model_inputs(step, X_train), y_train, epochs=step["epochs"],
                     batch_size=step["batch_size"], optimizer=optimizer, schedule=step["schedule"],
                     X_val=model_inputs(step, X_val), y_val=y_val, seed=seed, progress=progress,
                     callbacks=callbacks, model=model, augment=shifts(step["augment"]) if step.get("augment") else None,
                     train_sample=step.get("train_sample"))


def accuracy_on(step: dict, params: dict, X, y, activation: str = "relu") -> float:
    """The accuracy of ``step``'s trained network ``params`` on feature rows ``X`` (n, 784), labels ``y``; a CNN
    step's ``workers`` threads share the pieces of ``X``."""
    cnn = (batch_norm_cnn(step, workers(step)) if step.get("batch_norm") else CNN(workers=workers(step))) \
        if is_cnn(step) else None
    model = cnn or MLP(activation)
    return evaluate(params, model_inputs(step, X), y, model=model)[1]


def load_split(n_val: int = 5000, seed: int = 0, data_dir=None):
    """MNIST as notebook 06 and the CLI use it: ``X_train, y_train, X_val, y_val, X_test, y_test``
    (55,000 / 5,000 / 10,000 by default; ``n_val=0`` gives ``X_val = y_val = None``).

    The uint8 images are split before they become float32 features, so the copies the split makes
    are a quarter of the size.
    """
    images, labels = load_mnist("train", data_dir)
    test_images, y_test = load_mnist("test", data_dir)
    if n_val > 0:
        train_images, y_train, val_images, y_val = train_val_split(images, labels, n_val, seed=seed)
        X_val = to_features(val_images)
    else:
        train_images, y_train, X_val, y_val = images, labels, None, None
    return to_features(train_images), y_train, X_val, y_val, to_features(test_images), y_test


def result_row(step: dict, params, history, X_train, y_train, X_val, y_val, X_test, y_test) -> dict:
    """One row of the steps table: the step, its configuration, train / validation / test accuracy, epochs.

    The training and validation accuracy are the last epoch's in ``history`` (``train_acc`` is measured there
    on a fixed sample of the training rows, as many as the validation set has); they are measured here on
    ``X_train`` and ``X_val`` only when the history has none (NaN). The test accuracy is always measured here.
    """
    def last(values, X, y):
        return values[-1] if values and math.isfinite(values[-1]) else accuracy_on(step, params, X, y)

    return {"step": step["step"], "configuration": describe(step),
            "train_acc": last(history.train_acc, X_train, y_train), "val_acc": last(history.val_acc, X_val, y_val),
            "test_acc": accuracy_on(step, params, X_test, y_test), "epochs": len(history)}


def run_steps(steps=STEPS, seed: int = 0, verbose: bool = True, full_batch_rows: int | None = FULL_BATCH_ROWS
              ) -> list[dict]:
    """Train every step from scratch, as notebook 06 does (its full-batch steps on ``full_batch_rows``
    rows), and return the table rows (train accuracy on every training row)."""
    X_train, y_train, X_val, y_val, X_test, y_test = load_split(seed=seed)
    rows = []
    for step in steps:
        start = time.perf_counter()
        params, history = train_step(step, X_train, y_train, X_val, y_val, seed=seed, full_batch_rows=full_batch_rows)
        rows.append(result_row(step, params, history, X_train, y_train, X_val, y_val, X_test, y_test))
        if verbose:
            print(f"{step['step']:32s} test acc {rows[-1]['test_acc']:.4f}  ({time.perf_counter() - start:.0f} s)")
    return rows


def final_model(path="../output/model.npz"):
    """The network notebook 06 saves at ``path``: loaded, or, when it is missing (notebook 06 not run
    yet), trained with :data:`FINAL` (seconds) and saved there first. Returns ``(params, meta)``."""
    path = Path(path)
    if not path.exists():
        X_train, y_train, X_val, y_val, X_test, y_test = load_split()
        params, _ = train_step(FINAL, X_train, y_train, X_val, y_val)
        test_acc = evaluate(params, X_test, y_test)[1]
        # write beside it, then rename: a notebook running at the same time never reads half a file
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
        save_params(partial, params, activation="relu", recipe=FINAL, test_accuracy=round(test_acc, 4))
        os.replace(partial, path)
    return load_params(path)


#: Notebook 09's small CNN, which the playground's drawing pad and convolution panel read with: conv 8 3x3,
#: pool, conv 16 3x3, pool, dense 64; Adam (lr 0.002, cosine), shifts of up to 3 pixels, the first 10,000
#: training images for 2 epochs (seconds; about 96% test accuracy).
SMALL_CNN = {"filters": (8, 16), "kernel": 3, "hidden": 64, "n_images": 10_000, "epochs": 2, "batch_size": 64,
             "lr": 0.002, "shift": 3}


def small_cnn(path="../output/cnn_small.npz"):
    """The CNN of :data:`SMALL_CNN` saved at ``path``: loaded, or, when it is missing, trained (seconds) and
    saved there first. Returns ``(params, meta)``."""
    path = Path(path)
    if not path.exists():
        s = SMALL_CNN
        images, labels = load_mnist("train")
        X = images[: s["n_images"]].reshape(-1, 1, 28, 28) / np.float32(255)
        params = init_cnn(filters=s["filters"], kernel=s["kernel"], hidden=s["hidden"], seed=0)
        params, _ = train(params, X, labels[: s["n_images"]], model=CNN(), epochs=s["epochs"],
                          batch_size=s["batch_size"], optimizer=make_optimizer("adam", s["lr"]), schedule="cosine",
                          augment=shifts(s["shift"]), progress=False, seed=0)
        test_images, test_labels = load_mnist("test")
        probs = CNN().predict_proba(params, test_images.reshape(-1, 1, 28, 28) / np.float32(255))
        test_acc = float((probs.argmax(axis=1) == test_labels).mean())
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
        save_params(partial, params, model="cnn", recipe={k: list(v) if isinstance(v, tuple) else v
                                                           for k, v in s.items()}, test_accuracy=round(test_acc, 4))
        os.replace(partial, path)
    return load_params(path)
