"""The checkers of notebook 06: training (``sgd_step`` and ``minibatches`` are notebook 05's, in
``training_loop.py``)."""

from __future__ import annotations

import numpy as np

from ..optimizers import Adam, Momentum, cosine_lr as _cosine_lr
from ._core import _rng, _run, _source_text, against
from .training_loop import _step_case


def momentum_step(fn) -> bool:
    """``fn(params, grads, velocity, lr, beta)`` -> ``(params, velocity)``: u = beta u + g; theta = theta - lr u."""
    def case(seed, first):
        params, grads = _step_case(seed)
        rng = _rng(seed + 70)
        velocity = {k: np.zeros_like(v) if first else rng.normal(0, 0.1, v.shape) for k, v in params.items()}
        return params, grads, velocity, 0.1, 0.9

    cases = [("a first step (velocity 0)", case(0, True)), ("a later step (velocity not 0)", case(1, False)),
             ("another later step", case(2, False))]

    def variant(kind):
        def step(params, grads, velocity, lr, beta):
            u, g = velocity, grads
            new_u = {k: {"lr inside": beta * u[k] + lr * g[k], "ema": beta * u[k] + (1 - beta) * g[k],
                         "no beta": u[k] + g[k], "forget": g[k], "step inside": beta * u[k] - lr * g[k],
                         "beta on g": u[k] + beta * g[k],
                         "1 - beta on u": (1 - beta) * u[k] + g[k],
                         "minus g": beta * u[k] - g[k]}.get(kind, beta * u[k] + g[k]) for k in params}
            if kind == "lr inside":
                return {k: params[k] - new_u[k] for k in params}, new_u
            if kind == "step inside":
                return {k: params[k] + new_u[k] for k in params}, new_u
            if kind == "step first":
                return {k: params[k] - lr * u[k] for k in params}, new_u
            if kind == "swapped":
                return new_u, {k: params[k] - lr * new_u[k] for k in params}
            if kind == "old u":
                return {k: params[k] - lr * new_u[k] for k in params}, u
            if kind == "step with g":
                return {k: params[k] - lr * g[k] for k in params}, new_u
            return {k: params[k] - lr * new_u[k] for k in params}, new_u
        return step

    mistakes = [
        (variant("lr inside"), "lr is inside the velocity, u = beta u + lr g: another common form, but this "
                               "series (like nn.Momentum and PyTorch) keeps lr out of u: u <- beta u + g, then "
                               "theta <- theta - lr u"),
        (variant("ema"), "the velocity is an average, u = beta u + (1 - beta) g: this series uses the sum "
                         "u <- beta u + g (its steps are 1 / (1 - beta) = 10 times larger)"),
        (variant("forget"), "the old velocity is dropped, u = g: that is plain SGD. The velocity is a running sum "
                            "that keeps beta times its old value"),
        (variant("no beta"), "beta is missing, u = u + g: the velocity never forgets. The old velocity is "
                             "scaled by beta before the gradient is added"),
        (variant("old u"), "the velocity you return is the old one: the caller keeps what you return for the "
                           "next step, so it must be the updated velocity"),
        (variant("step with g"), "the step uses the gradient, not the velocity: theta <- theta - lr u, with the new u"),
        (variant("step inside"), "the velocity holds the step itself, u = beta u - lr g, then theta <- theta + u: "
                                 "another common form (Sutskever's), but this series (like nn.Momentum and "
                                 "PyTorch) keeps lr and the minus sign out of u: u <- beta u + g, then "
                                 "theta <- theta - lr u"),
        (variant("step first"), "the step uses the old velocity: it comes before the update of u. Update the "
                                "velocity first, then step along the new one"),
        (variant("swapped"), "params and velocity come back swapped: return (params, velocity), in that order"),
        (variant("minus g"), "the velocity subtracts the gradient, u = beta u - g, and the step subtracts the "
                             "velocity again: the two minus signs cancel, and the step goes uphill. Either "
                             "u <- beta u + g and theta <- theta - lr u (this series), or both signs flipped"),
        (variant("beta on g"), "beta multiplies the new gradient instead of the old velocity: each older gradient "
                               "counts beta times less, so beta scales the velocity before the gradient is added"),
        (variant("1 - beta on u"), "the old velocity is scaled by 1 - beta (0.1): it keeps only a tenth of its "
                                   "old value. The sum keeps beta times its old value, then adds the gradient"),
    ]

    def reference(params, grads, velocity, lr, beta):
        opt = Momentum(lr, beta)
        opt.state = velocity
        opt.step(params, grads)
        return params, velocity

    return _run("momentum_step", fn, cases, against(reference, mistakes), "nn.Momentum")


def _adam_case(seed, t, eps=1e-8, scale=0.1):
    params, grads = _step_case(seed)
    grads = {k: g * scale / 0.1 for k, g in grads.items()}
    rng = _rng(seed + 90)
    if t == 1:
        m = {k: np.zeros_like(p) for k, p in params.items()}
        v = {k: np.zeros_like(p) for k, p in params.items()}
    else:   # moments as after t - 1 earlier steps: m about the gradients' size, v about their square
        m = {k: rng.normal(0, scale, p.shape) for k, p in params.items()}
        v = {k: rng.normal(0, scale, p.shape) ** 2 for k, p in params.items()}
    return params, grads, m, v, t, 0.01, 0.9, 0.999, eps


def _adam_variant(bug):
    def step(params, grads, m, v, t, lr, beta1, beta2, eps):
        new_p, new_m, new_v = {}, {}, {}
        for k in params:
            g = grads[k]
            b1, b2 = (beta2, beta1) if bug == "betas swapped" else (beta1, beta2)
            new_m[k] = b1 * m[k] + (g if bug == "no 1 - beta" else (1 - b1) * g)
            new_v[k] = b2 * v[k] + (1 - b2) * (g if bug == "g in v" else g**2)
            tt = {"t from 0": t + 1, "t - 1": t - 1}.get(bug, t)
            m_hat, v_hat = new_m[k] / (1 - b1**tt), new_v[k] / (1 - b2**tt)
            if bug == "no power t":
                m_hat, v_hat = new_m[k] / (1 - b1), new_v[k] / (1 - b2)
            if bug == "no correction":
                m_hat, v_hat = new_m[k], new_v[k]
            if bug == "beta^t":
                m_hat, v_hat = new_m[k] / b1**tt, new_v[k] / b2**tt
            denominator = np.sqrt(v_hat + eps) if bug == "eps inside" else np.sqrt(v_hat) + eps
            if bug == "no root":
                denominator = v_hat + eps
            if bug == "root first":
                denominator = np.sqrt(new_v[k]) / (1 - b2**tt) + eps
            new_p[k] = params[k] - lr * (g if bug == "g for m_hat" else m_hat) / denominator
            if bug == "eps outside":
                new_p[k] = params[k] - lr * m_hat / np.sqrt(v_hat) + eps
            if bug == "corrected moments stored":
                new_m[k], new_v[k] = m_hat, v_hat
        if bug == "old moments":
            return new_p, m, v
        if bug == "m and v swapped":
            return new_p, new_v, new_m
        return new_p, new_m, new_v
    return step


def adam_step(fn) -> bool:
    """``fn(params, grads, m, v, t, lr, beta1, beta2, eps)`` -> ``(params, m, v)``: one Adam step at step
    number ``t`` (counted from 1): ``m <- beta1 m + (1 - beta1) g``, ``v <- beta2 v + (1 - beta2) g^2``,
    ``p <- p - lr m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - beta1^t)``, ``v_hat = v / (1 - beta2^t)``."""
    cases = [("the first step (t = 1, m and v 0)", _adam_case(0, 1)), ("step t = 3", _adam_case(1, 3)),
             ("step t = 20", _adam_case(2, 20)),
             ("step t = 2 with small gradients (about 1e-3) and eps = 1e-3", _adam_case(3, 2, 1e-3, 1e-3))]
    mistakes = [
        (_adam_variant("no correction"), "the bias correction is missing: m and v start at 0, so in the first "
                                         "steps they are too small by the factors 1 - beta1^t and 1 - beta2^t; "
                                         "the step divides m_hat = m / (1 - beta1^t) by the square root of "
                                         "v_hat = v / (1 - beta2^t)"),
        (_adam_variant("t from 0"), "the step number is off by one: t counts from 1 here (the first step has "
                                    "t = 1 and a correction 1 - beta1^1); the exponent is t itself"),
        (_adam_variant("t - 1"), "the correction uses t - 1: at the first step, t = 1, that divides by "
                                 "1 - beta^0 = 0. t already counts from 1; the exponent is t itself"),
        (_adam_variant("eps inside"), "the eps is inside the square root: the denominator is sqrt(v_hat) + eps, eps "
                                      "added after the root (it only matters where v_hat is tiny)"),
        (_adam_variant("g in v"), "the second moment v is updated with g instead of g^2: v is the running mean of the SQUARED "
                                  "gradient, so it can never be negative and its root is the gradient's size"),
        (_adam_variant("corrected moments stored"), "the bias-corrected m_hat and v_hat are returned as the new "
                                                    "m and v: the correction is for this step's update only; "
                                                    "the stored moments stay uncorrected, or the next step "
                                                    "corrects them again"),
        (_adam_variant("old moments"), "the m and v you return are the old ones: the caller keeps what you "
                                       "return for the next step, so return the updated moments"),
        (_adam_variant("no 1 - beta"), "the new gradient enters m without the factor 1 - beta1: m is a running "
                                       "MEAN, m <- beta1 m + (1 - beta1) g"),
        (_adam_variant("betas swapped"), "beta1 and beta2 are swapped: beta1 (0.9) belongs to the mean of the "
                                         "gradient m, beta2 (0.999) to the mean of its square v"),
        (_adam_variant("eps outside"), "the eps is added outside the fraction, to the parameter: without brackets, "
                                       "lr * m_hat / sqrt(v_hat) + eps adds eps after the division. It belongs "
                                       "in the denominator, sqrt(v_hat) + eps"),
        (_adam_variant("beta^t"), "the correction divides by beta1^t (and beta2^t): the weights of the running "
                                  "mean add up to 1 - beta1^t, and that is the number to divide by"),
        (_adam_variant("no root"), "the step divides by v_hat, not by its square root: v is a mean of SQUARED "
                                   "gradients, and only its root has the size of a gradient"),
        (_adam_variant("root first"), "the correction of v is applied after the square root: correct v first, "
                                      "v_hat = v / (1 - beta2^t), then take the root of v_hat"),
        (_adam_variant("no power t"), "the correction divides by 1 - beta1 (and 1 - beta2), without the power t: "
                                      "it is 1 - beta1^t, which shrinks to 0 as t grows (only the first steps "
                                      "need much correcting)"),
        (_adam_variant("g for m_hat"), "the step uses the raw gradient g where the corrected mean m_hat belongs: "
                                       "p <- p - lr m_hat / (sqrt(v_hat) + eps); m is what smooths the steps"),
        (_adam_variant("m and v swapped"), "m and v come back swapped: return (params, m, v), in that order"),
    ]

    def reference(params, grads, m, v, t, lr, beta1, beta2, eps):
        opt = Adam(lr, beta1, beta2, eps)
        opt.state = {k: (m[k], v[k]) for k in params}
        opt.t = t - 1                         # step() counts this step
        opt.step(params, grads)
        return params, {k: opt.state[k][0] for k in params}, {k: opt.state[k][1] for k in params}

    return _run("adam_step", fn, cases, against(reference, mistakes), "nn.Adam")


def cosine_lr(fn) -> bool:
    """``fn(lr0, epoch, epochs)``: the cosine schedule ``lr0 (1 + cos(pi (epoch - 1) / epochs)) / 2`` for
    epoch = 1 .. epochs."""
    cases = [("lr0=0.1, the first of 8 epochs", (0.1, 1, 8)), ("lr0=0.1, epoch 3 of 8", (0.1, 3, 8)),
             ("lr0=0.1, the last of 8 epochs", (0.1, 8, 8)), ("lr0=0.5, epoch 3 of 10", (0.5, 3, 10)),
             ("lr0=0.02, epoch 2 of 3", (0.02, 2, 3))]
    mistakes = [
        (lambda lr0, e, E: lr0 * 0.5 * (1 + np.cos(np.pi * e / E)),
         "the epochs are counted from 0: the first epoch gets less than lr0 and the last one 0. Epochs count "
         "from 1 here, and the formula's e - 1 makes the first epoch's cosine cos(0) = 1"),
        (lambda lr0, e, E: lr0 * 0.5 * (1 + np.cos(np.pi * (e - 1) / (E - 1))),
         "the last epoch gets learning rate 0 and learns nothing: the angle is pi (e - 1) / E, which never "
         "quite reaches pi"),
        (lambda lr0, e, E: lr0 * 0.5 * (1 + np.cos(2 * np.pi * (e - 1) / E)),
         "a full period: the rate falls to 0 half-way and climbs back to lr0. Over the E epochs the angle "
         "goes from 0 to (almost) pi, half a period of the cosine"),
        (lambda lr0, e, E: lr0 * 0.5 * (1 + np.cos(np.pi * (e - 1) / (2 * E))),
         "a quarter period: the rate only falls to about lr0 / 2. Over the E epochs the angle goes from 0 to "
         "(almost) pi, half a period of the cosine"),
        (lambda lr0, e, E: lr0 * (1 + np.cos(np.pi * (e - 1) / E)),
         "the 1/2 is missing: the first epoch gets 2 lr0. (1 + cos) runs from 2 to 0; halved, it runs from 1 to 0"),
        (lambda lr0, e, E: lr0 * np.cos(np.pi * (e - 1) / E),
         "the rate turns negative in the second half: cos runs from 1 to -1; (1 + cos) / 2 runs from 1 to 0"),
        (lambda lr0, e, E: lr0 * 0.5 * (1 + np.cos((e - 1) / E)),
         "pi is missing from the angle: (e - 1) / E runs from 0 to 1, so the cosine covers only 1 radian; "
         "the angle is pi (e - 1) / E"),
        (lambda lr0, e, E: lr0 * 0.5 * (1 - np.cos(np.pi * (e - 1) / E)),
         "the rate rises from 0 towards lr0: with 1 - cos the schedule runs backwards. (1 + cos) / 2 starts at 1 "
         "and falls"),
        (lambda lr0, e, E: lr0 * 0.5 * (1 + np.cos(180 * (e - 1) / E)),
         "the angle is in degrees: np.cos and math.cos take radians, so half a period is pi, not 180"),
        (lambda lr0, e, E: lr0 * 0.5 * (1 + np.cos(np.pi * (e - 1) // E)),
         "// is integer division: pi (e - 1) // E rounds the angle down to a whole number of radians (0 for the "
         "first epochs); divide with /"),
        (lambda lr0, e, E: lr0 * 0.5 * (1 + np.cos(np.deg2rad(np.pi * (e - 1) / E))),
         "the angle, already in radians, is converted from degrees again (np.deg2rad, math.radians): it shrinks "
         "180-fold and the rate barely moves from lr0. pi (e - 1) / E is in radians, as np.cos takes it"),
        (lambda lr0, e, E: lr0 * (1 - (e - 1) / E),
         "the rate falls in a straight line, lr0 (1 - (e - 1) / E): the cosine schedule follows half a cosine, "
         "lr0 (1 + cos(pi (e - 1) / E)) / 2, flat at the start and at the end"),
        (lambda lr0, e, E: 0.5 * (1 + np.cos(np.pi * (e - 1) / E)),
         "lr0 is missing: the schedule starts at 1 whatever lr0 is; the rate is lr0 times (1 + cos) / 2"),
        (lambda lr0, e, E: lr0 / 2 * 1 + np.cos(np.pi * (e - 1) / E),
         "brackets are missing: only the 1 is multiplied by lr0 / 2, and the cosine is added on its own. "
         "lr0 / 2 multiplies the whole (1 + cos)"),
    ]
    floor = next(message for _, message in mistakes if message.startswith("// is integer division"))
    source = _source_text(fn) if callable(fn) else ""
    if source and "//" not in source:          # another mistake that happens to give the same numbers
        mistakes = [(variant, message) for variant, message in mistakes if message != floor]
    return _run("cosine_lr", fn, cases, against(_cosine_lr, mistakes), "nn.cosine_lr")
