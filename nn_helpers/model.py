"""A model built from a list of layers (:mod:`nn_helpers.layers`), as :func:`nn_helpers.train` trains it.

    logits, cache = model.forward(params, X, train=True, rng=rng)   # each layer: out, cache = layer.forward(...)
    probs = softmax(logits);  J = mean cross-entropy;  dZ = (probs - Y) / n
    grads = model.backward(dZ, cache)                                # the layers' backward passes, reversed

The parameters stay one flat dict ``{"W1": ..., "b1": ..., "gamma2": ..., "mean2": ...}``; the layers only name
their keys. Training mode updates the running statistics of batch-norm layers in that dict (state, not
trained: there is no gradient for them, the optimizer never sees them, ``save_params`` saves them).

``Sequential([...])`` is any list of layers; :class:`~nn_helpers.network.MLP` and :class:`~nn_helpers.cnn.CNN`
are two models whose list follows from the shapes of their parameters. For example, a network with batch
norm on its hidden layer:

    model = Sequential([Dense(1, 100), BatchNorm(2), Activation("relu"), Dense(3, 10)])
    params = model.init((784,), seed=0)
    params, history = train(params, X, y, model=model)

:func:`gradient_errors` checks any such model's backward pass against central differences (float64).

A batch can be split into pieces: ``chunk_rows`` (pieces of at most that many rows, one after the other:
the MLP's full-batch steps stay in the CPU cache) or ``workers`` (that many threads, each a share of the
batch; NumPy's products release the GIL). The loss and gradient are the means over the batch, so the pieces'
results are summed with weights n_c / n (:func:`combine`). Batch norm then normalizes each piece with its own
statistics (as data-parallel frameworks do without synchronized batch norm); its running averages are the
weighted means of the pieces'.
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from .layers import Dense, Pass, dropout_mask, output_gradient
from .losses import cross_entropy_from_logits, softmax


def combine(parts, n: int, workers: int = 1):
    """Combine the ``(loss, n_correct, grads, state)`` of the pieces of a batch of n samples, given as
    ``[(n_c, result), ...]``: J, its gradient and the running statistics are means over samples, so each is
    the sum of the pieces' weighted by n_c / n (one piece: its result as it is). ``workers`` threads share the
    gradients' sums by rows (the same operations on every entry: the same bits)."""
    if len(parts) == 1:
        return parts[0][1]
    loss, n_correct, grads, state = 0.0, 0, {}, {}
    if workers > 1:
        weights, all_grads = [n_c / n for n_c, _ in parts], [result[2] for _, result in parts]
        grads = {k: np.empty(g.shape, np.result_type(weights[0], g)) for k, g in all_grads[0].items()}   # as weight * g

        def rows_share(share):
            for k, total in grads.items():
                sl = _rows(len(total), workers)[share]
                np.multiply(weights[0], all_grads[0][k][sl], out=total[sl])
                for weight, g in zip(weights[1:], all_grads[1:]):
                    total[sl] += weight * g[k][sl]

        list(thread_pool(workers).map(rows_share, range(workers)))
    for n_c, (loss_c, correct_c, grads_c, state_c) in parts:
        weight = n_c / n
        loss += weight * loss_c
        n_correct += correct_c
        for total, part in ((state, state_c),) if workers > 1 else ((grads, grads_c), (state, state_c)):
            for k, g in part.items():
                if k in total:
                    total[k] += weight * g
                else:
                    total[k] = weight * g
    return loss, n_correct, grads, state


def pieces(n: int, chunk_rows: int | None, workers: int) -> list:
    """Slices splitting n rows: into ``workers`` near-equal parts (when there are at least two rows each),
    else into consecutive chunks of ``chunk_rows`` (None: one piece)."""
    if workers > 1 and n >= 2 * workers:
        bounds = np.linspace(0, n, workers + 1).astype(int)
        return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    step = chunk_rows or max(n, 1)
    return [slice(a, min(a + step, n)) for a in range(0, n, step)]


@lru_cache(maxsize=None)
def thread_pool(workers: int) -> ThreadPoolExecutor:
    """One pool of ``workers`` threads for the whole process, kept from batch to batch (starting two threads for
    every batch cost more than it had to)."""
    return ThreadPoolExecutor(workers, thread_name_prefix="nn_helpers")


@lru_cache(maxsize=None)
def _rows(n_rows: int, parts: int) -> list:
    bounds = np.linspace(0, n_rows, parts + 1).astype(int)
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def optimizer_step(optimizer, params: dict, grads: dict, workers: int = 1) -> None:
    """``optimizer.step(params, grads)``, its element-wise update shared by ``workers`` threads: each updates its
    share of the rows of every parameter (and of the optimizer's state for it: momentum's velocity, Adam's m and
    v) through views, with a shallow copy of the optimizer that holds those views. Every entry is computed by
    the same operations as in one thread: the same bits. One thread (or the first step, before the state exists,
    or an optimizer with a ``step`` of its own, or a state that is not arrays the shape of the parameter): the
    plain ``optimizer.step``."""
    from .optimizers import Optimizer

    state = getattr(optimizer, "state", None)

    def sliced(value, sl, shape):
        if isinstance(value, np.ndarray) and value.shape == shape:
            return value[sl]
        if isinstance(value, tuple) and all(isinstance(v, np.ndarray) and v.shape == shape for v in value):
            return tuple(v[sl] for v in value)
        raise TypeError

    if workers < 2 or not isinstance(optimizer, Optimizer) or type(optimizer).step is not Optimizer.step \
            or not isinstance(state, dict) or any(k not in state for k in grads):
        optimizer.step(params, grads)
        return
    shares = []
    try:
        for part in range(workers):
            shadow = copy.copy(optimizer)
            shadow.state, p, g = {}, {}, {}
            for k, grad in grads.items():
                sl = _rows(len(grad), workers)[part]
                p[k], g[k] = params[k][sl], grad[sl]
                shadow.state[k] = sliced(state[k], sl, params[k].shape)
            shares.append((shadow, p, g))
    except TypeError:
        optimizer.step(params, grads)
        return
    list(thread_pool(workers).map(lambda share: share[0].step(share[1], share[2]), shares))
    optimizer.t += 1


class Sequential:
    """A model from a list of layers: ``forward`` runs them in order, ``backward`` in reverse.

    ``layers``: the list (see :mod:`nn_helpers.layers`); the last one gives the logits (n, K).
    ``chunk_rows``, ``workers``: how a training batch is split (see the module's docstring).
    ``predict_rows``: samples per forward pass in :meth:`predict_proba` (bounds the memory).
    Implements the :class:`~nn_helpers.training.Model` protocol (``check_input``, ``n_classes``,
    ``loss_and_grads``, ``predict_proba``).
    """

    layers: tuple = ()
    chunk_rows: int | None = None
    workers: int = 1
    predict_rows: int = 1000

    def __init__(self, layers, *, chunk_rows: int | None = None, workers: int = 1, predict_rows: int = 1000):
        self.layers, self.chunk_rows, self.workers, self.predict_rows = tuple(layers), chunk_rows, workers, predict_rows
        check_workers(workers)

    def __repr__(self):
        return f"Sequential([{', '.join(map(repr, self.layers))}])"

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    def layer_list(self, params: dict) -> list:
        """The layers, in order (MLP and CNN build theirs from the shapes in ``params``)."""
        return list(self.layers)

    # ---- parameters ----
    def init(self, input_shape, seed: int = 0, dtype=np.float32) -> dict:
        """New parameters and state for samples of ``input_shape`` (e.g. ``(784,)`` or ``(1, 28, 28)``): each
        layer's :meth:`~nn_helpers.layers.Layer.init` in order, drawn from ``np.random.default_rng(seed)``."""
        rng, shape, params = np.random.default_rng(seed), (1, *input_shape), {}
        for layer in self.layer_list(params):
            params.update(layer.init(shape, rng, dtype))
            shape = layer.output_shape(params, shape)
        return params

    def trained_keys(self, params: dict) -> list:
        """The keys the optimizer updates (the rest of ``params`` is state)."""
        return [k for layer in self.layer_list(params) for k in layer.keys()]

    # ---- the Model protocol ----
    def output_shape(self, params: dict, shape: tuple) -> tuple:
        """The logits' shape for an input of ``shape``; a ValueError names the first layer that does not fit."""
        for layer in self.layer_list(params):
            shape = layer.output_shape(params, shape)
        return shape

    def check_input(self, params: dict, X: np.ndarray) -> None:
        """Raise a ValueError that says what is wrong when the layers cannot read ``X``."""
        X = np.asarray(X)
        if not np.issubdtype(X.dtype, np.floating):
            raise ValueError(f"X has dtype {X.dtype}; the network expects floats, e.g. X.astype(np.float32).")
        check_finite(X)
        self.output_shape(params, X.shape)

    def n_classes(self, params: dict) -> int:
        last = [layer for layer in self.layer_list(params) if isinstance(layer, Dense)][-1]
        return params[f"W{last.n}"].shape[1]

    def forward(self, params: dict, X: np.ndarray, *, train: bool = False, rng: np.random.Generator | None = None,
                masks: list | None = None, outputs: list | None = None):
        """Logits ``(n, K)`` and the cache: ``{"layers": [each layer's cache], "layer_list": [the layers],
        "masks": [dropout masks used], "state": {new running statistics}}``. ``train``: training mode (dropout masks from ``rng``, or the given
        ``masks``; batch statistics). ``outputs``: a list to which each layer's output is appended."""
        run = Pass(train=train, rng=rng, masks=masks)
        caches, A, layers = [], X, self.layer_list(params)
        for layer in layers:
            A, cache = layer.forward(params, A, run)
            caches.append(cache)
            if outputs is not None:
                outputs.append(A)
        return A, {"layers": caches, "layer_list": layers, "masks": run.masks_used, "state": run.state}

    def backward(self, params: dict, dZ: np.ndarray, cache: dict) -> dict:
        """The gradient of every trained parameter, given ``dZ``, the gradient of the loss with respect to the
        logits, and the ``cache`` of :meth:`forward`. The layers below the first one with parameters get no
        gradient (nothing there to train)."""
        layers = cache["layer_list"]
        first = next((i for i, layer in enumerate(layers) if layer.keys()), 0)
        grads, d = {}, dZ
        for i in range(len(layers) - 1, first - 1, -1):
            d, g = layers[i].backward(d, cache["layers"][i], need_dx=i > first)
            grads.update(g)
        return {k: grads[k] for layer in layers for k in layer.keys()}

    def _piece(self, params, X, y, rng, masks):
        Z, cache = self.forward(params, X, train=True, rng=rng, masks=masks)
        probs = softmax(Z)
        loss = cross_entropy_from_logits(Z, y)
        n_correct = int(np.count_nonzero(probs.argmax(axis=1) == y))
        return loss, n_correct, self.backward(params, output_gradient(probs, y), cache), cache["state"]

    def loss_and_grads(self, params: dict, X: np.ndarray, y: np.ndarray, rng: np.random.Generator):
        """``(loss, n_correct, grads)`` of one training batch: the mean cross-entropy J, the correct
        predictions, the gradient of J (the keys of :meth:`trained_keys`). Dropout masks come from ``rng``:
        drawn piece by piece in order, or, when threads share the batch, for the whole batch first (so they
        do not depend on the threads). Writes the new running statistics into ``params``."""
        n = len(X)
        slices = pieces(n, self.chunk_rows, self.workers)
        if len(slices) > 1 and self.workers > 1:
            shape, needed = X.shape, []
            for layer in self.layer_list(params):
                needed += layer.dropout_shapes(params, shape)
                shape = layer.output_shape(params, shape)
            masks = [dropout_mask(shape, p, rng, X.dtype) for shape, p in needed] or None
            parts = list(thread_pool(self.workers).map(lambda sl: (sl.stop - sl.start, self._piece(
                params, X[sl], y[sl], None, masks and [m[sl] for m in masks])), slices))
        else:
            parts = [(sl.stop - sl.start, self._piece(params, X[sl], y[sl], rng, None)) for sl in slices]
        loss, n_correct, grads, state = combine(parts, n, self.workers if len(slices) > 1 else 1)
        for k, v in state.items():
            params[k][...] = v
        return loss, n_correct, grads

    def predict_proba(self, params: dict, X: np.ndarray, batch_size: int | None = None, *,
                      check: bool = True) -> np.ndarray:
        """Class probabilities (n, K) in evaluation mode (no dropout, batch norm with its running statistics),
        ``batch_size`` samples at a time (default ``predict_rows``), shared by the model's ``workers`` threads
        (the same pieces either way: the same results). ``check``: False skips :meth:`check_input` (``X`` was
        checked already: reading all of it again for NaN costs 14% of the evaluation of a 784-100-10 network, 29% of
        a 784-10-10 one)."""
        if check:
            self.check_input(params, X)
        size = batch_size or self.predict_rows
        predict = lambda i: softmax(self.forward(params, X[i : i + size])[0])
        starts = range(0, len(X), size)
        parts = list(thread_pool(self.workers).map(predict, starts)) if self.workers > 1 and len(starts) > 1 \
            else [predict(i) for i in starts]
        if parts:
            return np.concatenate(parts)
        return np.empty((0, self.n_classes(params)), dtype=next(iter(params.values())).dtype)


def gradient_errors(model, params: dict, X: np.ndarray, y: np.ndarray, *, masks: list | None = None,
                    h: float = 1e-6) -> dict:
    """``{key: relative error}`` between ``model``'s backward pass and central differences of its training-mode
    loss, for every trained parameter (below 1e-7 in float64 is right). ``masks``: dropout masks to hold fixed
    (``cache["masks"]`` of a forward pass), so the function differentiated is one thinned network. The running
    statistics in ``params`` are not changed. Use float64 parameters and inputs; small ones (every entry is
    nudged twice)."""
    from .gradcheck import numerical_vjp, relative_error
    from .losses import cross_entropy

    params = {k: v.copy() for k, v in params.items()}
    Z, cache = model.forward(params, X, train=True, masks=masks)
    grads = model.backward(params, output_gradient(softmax(Z), y), cache)
    masks = cache["masks"]
    loss = lambda p: np.array(cross_entropy(softmax(model.forward(p, X, train=True, masks=masks)[0]), y))
    errors = {}
    for k, g in grads.items():
        numeric = numerical_vjp(lambda v: loss({**params, k: v}), params[k], np.array(1.0), h)
        both_zero = np.allclose(g, 0, atol=1e-12) and np.allclose(numeric, 0, atol=1e-8)   # e.g. a bias before batch norm
        errors[k] = 0.0 if both_zero else relative_error(g, numeric)
    return errors

def check_workers(workers) -> None:
    if int(workers) != workers or workers < 1:
        raise ValueError(f"workers={workers}; expected a number of threads, at least 1.")


def check_pixels(X: np.ndarray, fix: str = "X / 255") -> None:
    """Raise a ValueError when ``X`` holds NaN or infinite values, or raw 0..255 pixels (integers, or values
    above 1 and none below 0) where the network expects pixels scaled to 0..1; ``fix``: what to write instead."""
    if not X.size:
        return
    if np.issubdtype(X.dtype, np.integer):
        lo, hi = 0, X.max()
    else:
        lo, hi = X.min(), X.max()
        check_finite(X, lo, hi)
    if np.issubdtype(X.dtype, np.integer) or (lo >= 0 and hi > 1):
        raise ValueError(f"X holds values up to {hi}: raw 0..255 pixels. The network expects pixels scaled to "
                         f"0..1; use {fix}.")


def check_finite(X: np.ndarray, lo=None, hi=None) -> None:
    """Raise a ValueError naming the NaN or infinite entries of ``X`` (``lo``, ``hi``: its min and max, when
    already computed: a NaN or an infinity shows in them, so a finite array costs nothing more)."""
    if not X.size or not np.issubdtype(X.dtype, np.floating):
        return
    lo = X.min() if lo is None else lo
    hi = X.max() if hi is None else hi
    if np.isfinite(lo) and np.isfinite(hi):
        return
    bad = ~np.isfinite(X)
    where = tuple(int(i) for i in np.unravel_index(np.argmax(bad), X.shape))
    counts = [(int(np.isnan(X).sum()), "NaN"), (int(np.isinf(X).sum()), "infinite")]
    what = " and ".join(f"{c:,} {kind}" for c, kind in counts if c)
    rows = int(np.count_nonzero(bad.reshape(len(X), -1).any(axis=1)))
    raise ValueError(
        f"X holds {what} value{'s' if bad.sum() > 1 else ''}, in {rows:,} of its {len(X):,} samples (the first at "
        f"X[{', '.join(map(str, where))}]): a network cannot learn from them (the loss would be NaN, whatever the "
        f"learning rate). Drop or repair those samples first, e.g. "
        f"keep = np.isfinite(X).reshape(len(X), -1).all(axis=1); X, y = X[keep], y[keep].")


# ---- a model as JSON, saved beside its weights -------------------------------------------------------------

def model_config(model) -> dict:
    """A JSON-ready description of ``model`` (its class and settings; for a :class:`Sequential`, its layers),
    which :func:`model_from_config` turns back into the model. :func:`~nn_helpers.serialization.save_model`
    stores it with the weights."""
    from dataclasses import fields, is_dataclass

    from . import layers as L

    def layer(obj):
        out = {"type": type(obj).__name__}
        for f in fields(obj):
            value = getattr(obj, f.name)
            out[f.name] = [layer(x) for x in value] if isinstance(obj, L.Residual) and f.name == "layers" else value
        return out

    if type(model) is Sequential:
        return {"type": "Sequential", "layers": [layer(x) for x in model.layers], "chunk_rows": model.chunk_rows,
                "workers": model.workers, "predict_rows": model.predict_rows}
    if is_dataclass(model) and type(model).__name__ in ("MLP", "CNN"):
        return {"type": type(model).__name__, **{f.name: getattr(model, f.name) for f in fields(model)}}
    raise ValueError(f"cannot describe {model!r} as JSON: save_model knows Sequential, MLP and CNN.")


def model_from_config(config: dict):
    """The model :func:`model_config` described."""
    from . import layers as L
    from .cnn import CNN
    from .network import MLP

    def layer(spec):
        spec = dict(spec)
        cls = getattr(L, spec.pop("type"), None)
        if not (isinstance(cls, type) and issubclass(cls, L.Layer)):
            raise ValueError(f"unknown layer in a saved model: {spec}")
        if cls is L.Residual:
            spec["layers"] = tuple(layer(x) for x in spec["layers"])
        return cls(**spec)

    config = dict(config)
    kind = config.pop("type", None)
    if kind == "Sequential":
        return Sequential([layer(x) for x in config.pop("layers")], **config)
    if kind in ("MLP", "CNN"):
        return {"MLP": MLP, "CNN": CNN}[kind](**config)
    raise ValueError(f"unknown model type {kind!r} in a saved model; expected Sequential, MLP or CNN.")
