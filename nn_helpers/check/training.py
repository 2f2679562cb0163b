"""The checkers of notebook 06: training (``sgd_step`` and ``minibatches`` are notebook 05's, in
``training_loop.py``)."""

from __future__ import annotations

import numpy as np

from ..optimizers import Momentum
from ._core import _rng, _run, against
from .training_loop import _step_case


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
