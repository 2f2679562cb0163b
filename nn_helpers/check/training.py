"""The checkers of notebook 06: training."""

from __future__ import annotations

import numpy as np

from ..optimizers import SGD, Momentum
from ._core import _call, _describe, _net, _properties, _rng, _run, against


def _step_case(seed):
    params, _ = _net([784, 8, 10], 1, seed)
    rng = _rng(seed + 50)
    grads = {k: rng.normal(0, 0.1, v.shape) for k, v in params.items()}
    return params, grads


def sgd_step(fn) -> bool:
    """``fn(params, grads, lr)``: one gradient-descent step, returns the new params (``p - lr * g`` for each)."""
    cases = [("lr=0.1", (*_step_case(0), 0.1)), ("lr=0.5", (*_step_case(1), 0.5))]
    mistakes = [
        (lambda p, g, lr: {k: p[k] + lr * g[k] for k in p}, "it steps uphill: p + lr * g raises the loss; "
                                                            "subtract, p - lr * g"),
        (lambda p, g, lr: {k: p[k] - g[k] for k in p}, "the learning rate is not used: p - lr * g"),
        (lambda p, g, lr: {k: p[k] - lr * g[k] if k.startswith("W") else p[k] for k in p},
         "the biases are not updated: every parameter, W1, b1, W2, b2, takes a step"),
        (lambda p, g, lr: {k: -lr * g[k] for k in p}, "it returns the step -lr * g, not the new parameters "
                                                      "p - lr * g"),
    ]

    def reference(p, g, lr):
        SGD(lr).step(p, g)
        return p

    return _run("sgd_step", fn, cases, against(reference, mistakes), "nn.SGD")


def momentum_step(fn) -> bool:
    """``fn(params, grads, velocity, lr, beta)`` -> ``(params, velocity)``: v = beta v + g; p = p - lr v."""
    def case(seed, first):
        params, grads = _step_case(seed)
        rng = _rng(seed + 70)
        velocity = {k: np.zeros_like(v) if first else rng.normal(0, 0.1, v.shape) for k, v in params.items()}
        return params, grads, velocity, 0.1, 0.9

    cases = [("a first step (velocity 0)", case(0, True)), ("a later step (velocity not 0)", case(1, False)),
             ("another later step", case(2, False))]

    def variant(kind):
        def step(p, g, v, lr, beta):
            new_v = {k: {"lr inside": beta * v[k] + lr * g[k], "ema": beta * v[k] + (1 - beta) * g[k],
                         "no beta": v[k] + g[k], "forget": g[k]}.get(kind, beta * v[k] + g[k]) for k in p}
            if kind == "lr inside":
                return {k: p[k] - new_v[k] for k in p}, new_v
            if kind == "old v":
                return {k: p[k] - lr * new_v[k] for k in p}, v
            if kind == "step with g":
                return {k: p[k] - lr * g[k] for k in p}, new_v
            return {k: p[k] - lr * new_v[k] for k in p}, new_v
        return step

    mistakes = [
        (variant("lr inside"), "lr is inside the velocity, v = beta v + lr g: another common form, but this "
                               "series (like nn.Momentum and PyTorch) keeps v = beta v + g and steps p - lr v"),
        (variant("ema"), "the velocity is an average, v = beta v + (1 - beta) g: this series uses the sum "
                         "v = beta v + g (the steps are 1 / (1 - beta) = 10 times larger)"),
        (variant("forget"), "the old velocity is dropped, v = g: that is plain SGD. Use v = beta * v + g"),
        (variant("no beta"), "beta is missing, v = v + g: the velocity never forgets. Use v = beta * v + g"),
        (variant("old v"), "the new velocity is not returned: return (params, velocity) with the updated velocity"),
        (variant("step with g"), "the step uses the gradient, not the velocity: p = p - lr * v"),
    ]

    def reference(p, g, v, lr, beta):
        opt = Momentum(lr, beta)
        opt.state = v
        opt.step(p, g)
        return p, v

    return _run("momentum_step", fn, cases, against(reference, mistakes), "nn.Momentum")


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
    if sorted(everything) != list(range(n)) and len(everything) == n:
        return ("some samples appear twice and others never: shuffle with one permutation per epoch, "
                "rng.permutation(n), not random indices (rng.integers)")
    if sizes == want[:-1] and n % batch_size:
        return (f"the last, smaller batch of {n % batch_size} is missing: loop over range(0, n, batch_size) "
                f"so every sample is used")
    if sizes != want:
        return f"the batch sizes are {sizes}; expected {want}"
    if sorted(everything) != list(range(n)):
        return "the batches do not hold each index 0..n-1 exactly once"
    if n >= 10 and np.array_equal(everything, np.arange(n)):
        return "the samples come in order: shuffle them first, order = rng.permutation(n)"
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
    return _run("minibatches", fn, cases, _properties(fn, _batches_diagnose), "the rules of nn.train's batching")
