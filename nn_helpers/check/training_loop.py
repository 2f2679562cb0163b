"""The checkers of notebook 05: gradient descent and the training loop (``sgd_step``, ``minibatches``,
``train_epoch``)."""

from __future__ import annotations

import types

import numpy as np

from ..network import backward as _backward
from ..network import forward as _forward
from ..optimizers import SGD
from ._core import _call, _describe, _difference, _net, _properties, _rng, _run, _same, _verdict, against


def _step_case(seed):
    params, _ = _net([784, 8, 10], 1, seed)
    rng = _rng(seed + 50)
    grads = {k: rng.normal(0, 0.1, params[k].shape) for k in params}
    # in the order nn.backward returns them (W2, b2, W1, b1), so that a loop pairing grads with params by
    # position fails here as it would in the capstone
    return params, {k: grads[k] for k in sorted(grads, key=lambda k: (-int(k[1:]), k[0] == "b"))}


def _unchanged(got, params):
    """The names of the parameters ``got`` returns unchanged, when some (not all) are."""
    if not isinstance(got, dict) or set(got) != set(params):
        return []
    same = [k for k in params if _same(got[k], params[k])]
    return same if len(same) < len(params) else []


def _or_else(diagnose, known, extra):
    """``diagnose``, but where it finds no known mistake, ``extra(got, args)`` may name one."""
    def wrapped(got, args, error=None):
        message = diagnose(got, args, error)
        if message is None or error is not None or message in known:
            return message
        return extra(got, args) or message
    return wrapped


def sgd_step(fn) -> bool:
    """``fn(params, grads, lr)``: one gradient-descent step, returns the new params (``p - lr * g`` for each)."""
    cases = [("lr=0.1", (*_step_case(0), 0.1)), ("lr=0.5", (*_step_case(1), 0.5))]
    mistakes = [
        (lambda p, g, lr: {k: p[k] + lr * g[k] for k in p}, "it steps uphill: adding the gradient raises the loss; "
                                                            "the step goes against it, theta - eta * grad"),
        (lambda p, g, lr: {k: p[k] - g[k] for k in p}, "the learning rate is not used: the step is eta times the gradient"),
        (lambda p, g, lr: {k: p[k] - lr * g[k] if k.startswith("W") else p[k] for k in p},
         "the biases are not updated: every parameter, W1, b1, W2, b2, takes a step"),
        (lambda p, g, lr: {k: -lr * g[k] for k in p}, "it returns the step, not the new parameters: "
                                                      "the step is added to the old ones"),
        (lambda p, g, lr: {k: p[k] - g[k] / lr for k in p},
         "the gradient is divided by the learning rate: the step is eta TIMES the gradient, so that a smaller "
         "eta takes a smaller step"),
        (lambda p, g, lr: {k: theta - lr * grad for (k, theta), grad in zip(p.items(), g.values())},
         "the gradients are paired with the parameters by their order, not by their names: nn.backward returns "
         "them in another order (W2, b2, W1, b1). Look each one up by its key"),
    ]

    def reference(p, g, lr):
        SGD(lr).step(p, g)
        return p

    def unchanged(got, args):
        same = _unchanged(got, args[0])
        return same and (f"{', '.join(same)} come back unchanged: every parameter takes a step, each against "
                         f"its own gradient")

    return _run("sgd_step", fn, cases, _or_else(against(reference, mistakes), {m for _, m in mistakes}, unchanged),
                "nn.SGD")


def _batches_problem(got, args):
    n, batch_size, seed = args
    try:
        batches = [np.asarray(b) for b in got]
    except TypeError:
        return f"returned {_describe(got)}; expected a list of index arrays"
    if not batches:
        return "returned no batches"
    sizes = [len(b) for b in batches]
    want = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    everything = np.concatenate(batches).astype(int)
    if len(everything) and (everything.min() < 0 or everything.max() >= n):
        return (f"index {everything.max() if everything.max() >= n else everything.min()} is out of range: the "
                f"{n} samples have the indices 0..{n - 1}")
    if len(batches) == n and n > 1 and batch_size > 1:
        return ("a batch starts at every index 0, 1, 2, ...: the batches overlap. The starts go up by batch_size: "
                "0, batch_size, 2 * batch_size, ...")
    if (len(everything) == n and sorted(everything) == list(range(n)) and sizes != want and len(want) > 1
            and max(sizes) - min(sizes) <= 1):
        return (f"the batches are {len(batches)} near-equal parts of the epoch, {sizes} (what np.array_split "
                f"makes): every batch holds batch_size samples, only the last one fewer, {want}")
    order = np.random.default_rng(seed).permutation(n)
    if len(everything) == n - 1 and np.array_equal(everything, order[1:]):
        return ("the first sample of the permutation is never used: the batch starts begin at 1; they begin at 0")
    if sorted(everything) != list(range(n)) and len(everything) == n:
        return ("some samples appear twice and others never: random indices drawn with replacement are not a "
                "shuffle; an epoch needs a permutation of all n indices")
    if len(everything) != n and len(np.unique(everything)) < len(everything):
        return ("some samples are in two batches: the batches overlap. Batch k starts at k * batch_size, so the "
                "starts are range(0, n, batch_size), and each batch is order[start : start + batch_size]")
    if sizes == want[:-1] and n % batch_size:
        return (f"the last, smaller batch of {n % batch_size} is missing: the loop over batch starts stops "
                f"too early; every sample must be used")
    if sizes != want:
        return f"the batch sizes are {sizes}; expected {want}"
    if sorted(everything) != list(range(n)):
        return "the batches do not hold each index 0..n-1 exactly once"
    if n >= 10 and np.array_equal(everything, np.arange(n)):
        return "the samples come in order: they are never shuffled; look at where the order of the indices is made"
    return None


def _batches_diagnose(fn, got, args):
    problem = _batches_problem(got, args)
    if problem:
        return problem
    n, batch_size, seed = args
    again = _call(fn, args)
    if n >= 10 and not all(np.array_equal(a, b) for a, b in zip(got, again)):
        return "two calls with the same seed give different batches: use np.random.default_rng(seed)"
    return None


def minibatches(fn) -> bool:
    """``fn(n, batch_size, seed)``: one epoch's mini-batches, a list of index arrays covering 0..n-1 shuffled."""
    cases = [("n=10, batch_size=3", (10, 3, 0)), ("n=12, batch_size=4", (12, 4, 1)),
             ("n=5, batch_size=8 (one batch)", (5, 8, 2)), ("n=1000, batch_size=128", (1000, 128, 3))]
    properties = _properties(fn, _batches_diagnose)

    def reshape_error(got, args, error=None):
        n, batch_size, _ = args
        if isinstance(error, ValueError) and "reshape" in str(error) and n % batch_size:
            return (f"reshape(-1, batch_size) needs n to be a multiple of batch_size ({n} samples in batches of "
                    f"{batch_size} leave {n % batch_size} over): cut the permutation with slices, "
                    f"order[start : start + batch_size], so that the last batch holds what is left")
        return properties(got, args, error)

    return _run("minibatches", fn, cases, reshape_error, "the rules of nn.train's batching")


# --------------------------------------------------------------------------------------------------
# train_epoch: one epoch of mini-batch SGD. Any correct shuffling is right, so the checker does not compare
# with one reference permutation: it hands the learner's loop recording versions of forward and backward,
# reads off which rows (and labels) each step used, and replays plain SGD on exactly those batches.


def _sgd_reference(params, grads, lr):
    return {k: params[k] - lr * grads[k] for k in params}


def _minibatches_reference(n, batch_size, seed):
    order = np.random.default_rng(seed).permutation(n)      # a Generator as seed: drawn from it
    return [order[start : start + batch_size] for start in range(0, n, batch_size)]


class _Recorder:
    """forward/backward that record each batch: the rows of X (column 0 holds each row's id) and labels."""

    def __init__(self):
        self.caches, self.steps = {}, []     # id(cache) -> rows; one (rows, labels) per backward call
        self.n = self.X = self.last_grads = None
        self.forward_tuple = False

    def start(self, X):
        self.caches, self.steps, self.n, self.X, self.last_grads = {}, [], len(X), np.asarray(X), None
        self.forward_tuple = False

    def rows(self, Xb):
        Xb = np.asarray(Xb)
        if Xb.ndim != 2 or Xb.shape[1] != self.X.shape[1] or not len(Xb):
            return None
        ids = np.clip(np.floor(Xb[:, 0].astype(np.float64) * self.n), 0, self.n - 1).astype(int)
        return ids if np.allclose(Xb, self.X[ids], atol=1e-6) else None

    def forward(self, params, Xb, *args, **kwargs):
        probs, cache = _forward(params, Xb, *args, **kwargs)
        self.caches[id(cache)] = (cache, self.rows(Xb))
        return probs, cache

    def backward(self, params, cache, yb, *args, **kwargs):
        if isinstance(cache, tuple) and len(cache) == 2 and id(cache[1]) in self.caches:
            self.forward_tuple = True
        rows = self.caches.get(id(cache), (None, None))[1]
        self.steps.append((rows, np.array(yb, copy=True)))
        self.last_grads = _backward(params, cache, yb, *args, **kwargs)
        return self.last_grads


def _epoch_case(n, batch_size, seed):
    params, X = _net([6, 5, 3], n, seed)
    X[:, 0] = (np.arange(n) + 0.5) / n          # each row's id, read back from the batches the loop uses
    y = _rng(seed + 7).integers(0, 3, n)
    return params, X, y, 0.5, batch_size, np.random.default_rng(seed + 11)


def _replay(params, X, y, lr, batches, sign=-1, scale=lambda rows: 1, at_start=False):
    """Plain SGD on ``batches``; the variants: uphill (``sign=+1``), the rate times ``scale(rows)``, or every
    gradient taken at the starting parameters (``at_start``)."""
    p = {k: v.copy() for k, v in params.items()}
    for rows in batches:
        at = params if at_start else p
        _, cache = _forward(at, X[rows])
        grads = _backward(at, cache, y[rows])
        p = {k: p[k] + sign * lr * scale(rows) * grads[k] for k in p}
    return p


FORWARD_TUPLE = ("backward got the pair forward returns, (probs, cache), where it needs the cache: forward returns "
                 "two things, so unpack them, `probs, cache = forward(params, X[idx])`, and pass the cache")

USE_THE_PIECES = ("it never called {missing}: compute each batch's gradient with the pieces by their names, "
                  "forward for the batch's rows and backward with its cache and labels (the checker passes the "
                  "package's forward and backward, the capstone passes yours)")


def _epoch_problem(recorder, inst, got, args):
    params, X, y, lr, batch_size, rng = args
    n = len(X)
    steps = recorder.steps
    if not steps:
        return USE_THE_PIECES.format(missing="backward(params, cache, y)" if recorder.caches
                                     else "forward(params, X) and backward(params, cache, y)")
    if any(rows is None for rows, _ in steps):
        return ("backward got a cache that forward did not make from rows of X: the cache backward needs is the "
                "one forward returned for this batch")
    batches = [rows for rows, _ in steps]
    want = sorted([batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else []))
    sizes = sorted(len(rows) for rows in batches)
    if len(batches) == 1 and len(want) > 1 and len(batches[0]) < n:
        return ("it returns after the first batch: the return line is inside the loop. The loop takes every "
                "batch of the epoch, and returns after the last")
    rounds = len(batches) // len(want)
    if rounds > 1 and len(batches) == rounds * len(want) and sizes == sorted(want * rounds):
        return (f"the loop runs {rounds} epochs: one call of train_epoch is one epoch, each sample used once; "
                f"the caller runs the epochs")
    if len(want) > 1 and all(len(rows) == n for rows in batches):
        return ("every step uses the gradient of the whole data set, not the batch's: look at what you pass to "
                "forward and backward inside the loop")
    for rows, labels in steps:
        if labels.shape != rows.shape:
            return (f"backward got {labels.size} labels for a batch of {len(rows)} images: it needs the labels "
                    f"of the batch's own rows")
        if not np.array_equal(labels, y[rows]):
            return ("the labels do not belong to their images: X and y are shuffled with different "
                    "permutations. One permutation per epoch must pick both the images and their labels")
    if len(batches) > 1 and all(np.array_equal(rows, batches[0]) for rows in batches):
        return (f"every step uses the same batch ({len(batches[0])} images, the first of them rows "
                f"{', '.join(map(str, batches[0][:3]))}): where a batch starts in the permutation must move "
                f"on with the batch number")
    if n % batch_size and sizes == want[1:] and want[0] == n % batch_size:
        return (f"the last, smaller batch of {n % batch_size} images is missing: the loop over batch "
                f"starts stops too early; every sample must be used once per epoch")
    everything = np.concatenate(batches)
    if sizes != want or not np.array_equal(np.sort(everything), np.arange(n)):
        if len(everything) == n:
            return ("some samples are used twice and others never: random indices drawn with replacement are not "
                    "a shuffle; an epoch needs a permutation of all n samples")
        return (f"the epoch's {len(batches)} batches hold {sizes} images; expected {want} for {n} samples in "
                f"batches of {batch_size}: each sample exactly once, the last batch holding what is left")
    if n >= 10 and np.array_equal(everything, np.arange(n)):
        return ("the samples come in order 0, 1, 2, ...: there is no shuffling. Each epoch needs a fresh "
                "permutation drawn from rng, and the batches are cut from it")
    problem = _difference(got, _replay(params, X, y, lr, batches))
    if problem is not None:
        if _same(got, _replay(params, X, y, lr, batches, sign=+1)):
            return ("it steps uphill: adding the gradient raises the loss; the step goes against it, "
                    "theta - eta * grad")
        if recorder.last_grads is not None and _same(got, recorder.last_grads):
            return "it returns the gradients of the last batch, not the parameters after the epoch"
        if len(batches) > 1 and _same(got, _replay(params, X, y, lr, batches[-1:])):
            return ("only one step is taken, after the loop, with the last batch's gradient: the step belongs "
                    "inside the loop, one per batch")
        if any(_same(got, _replay(params, X, y, lr, batches, scale=scale))
               for scale in (lambda rows: 1 / len(rows), lambda rows: 1 / batch_size)):
            return ("the learning rate is divided by the batch size: backward's gradient is already the mean "
                    "over the batch (the 1/n of dZ2), and the step is lr times it")
        if any(_same(got, _replay(params, X, y, lr, batches, scale=scale))
               for scale in (len, lambda rows: batch_size)):
            return ("the learning rate is multiplied by the batch size: backward's gradient is the mean over "
                    "the batch, and the step is lr times it")
        if len(batches) > 1 and _same(got, _replay(params, X, y, lr, batches, at_start=True)):
            return ("every batch's gradient is taken at the starting parameters: forward and backward must see "
                    "the parameters the previous step returned, so pass them the updated dict")
        if _same(got, params):
            return ("it returns the parameters it started with: the result of each step is thrown away; the next "
                    "batch must start from the parameters the last step returned")
        return (f"the parameters after the epoch differ from {len(batches)} plain SGD steps on the batches your "
                f"loop used ({problem}): each batch's step uses the "
                f"gradient at the current parameters")
    if n >= 10:
        other = (*args[:5], np.random.default_rng(12345))
        recorder.start(X)
        _call(inst, other)
        if recorder.steps and np.array_equal(np.concatenate([r for r, _ in recorder.steps]), everything):
            return ("the order does not come from rng: another rng gives the same batches. The permutation must "
                    "be drawn from the rng you are given, not from a generator of your own")
        recorder.start(X)
        _call(inst, args)
        again = [r for r, _ in recorder.steps]
        if len(again) != len(batches) or not all(map(np.array_equal, again, batches)):
            return ("two calls with the same rng give different batches: the permutation must come from the rng "
                    "you are given, not from np.random's global state")
    return None


def train_epoch(fn) -> bool:
    """``fn(params, X, y, lr, batch_size, rng)``: one epoch of mini-batch SGD, returns the new params.

    A permutation of all n samples drawn from ``rng``, cut into batches of ``batch_size`` (the last holds
    what is left); for each batch ``probs, cache = forward(params, X[idx])``, ``grads = backward(params,
    cache, y[idx])``, ``params = sgd_step(params, grads, lr)``. The checker runs ``fn`` with the package's
    ``forward``, ``backward``, ``sgd_step`` and ``minibatches`` under these names, records the batches, and
    compares the result with plain SGD on those batches: any correct way of shuffling is accepted.
    """
    cases = [("n=23, batch_size=5 (a last batch of 3)", _epoch_case(23, 5, 0)),
             ("n=20, batch_size=4", _epoch_case(20, 4, 1)),
             ("n=6, batch_size=10 (one batch)", _epoch_case(6, 10, 2))]
    if callable(fn) and not isinstance(fn, types.FunctionType):
        return _verdict("train_epoch", False, f"train_epoch: expected a function written with def, got "
                                              f"{_describe(fn)}.")
    if not callable(fn):
        return _run("train_epoch", fn, cases, None, "")
    recorder = _Recorder()
    pieces = {"forward": recorder.forward, "backward": recorder.backward, "sgd_step": _sgd_reference,
              "minibatches": _minibatches_reference}
    inst = types.FunctionType(fn.__code__, {**fn.__globals__, **pieces}, fn.__name__, fn.__defaults__,
                              fn.__closure__)
    inst.__dict__.update(fn.__dict__)

    def diagnose(got, args, error=None):
        if error is not None:
            return FORWARD_TUPLE if recorder.forward_tuple else None
        problem = _epoch_problem(recorder, inst, got, args)
        recorder.start(args[1])
        return problem

    class Cases(list):        # start recording afresh before each case's run
        def __iter__(self):
            for label, args in list.__iter__(self):
                recorder.start(args[1])
                yield label, args

    return _run("train_epoch", inst, Cases(cases), diagnose, "plain SGD on the batches your loop drew")
