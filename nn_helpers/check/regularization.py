"""The checkers of notebook 08: regularization (weight decay, early stopping, dropout)."""

from __future__ import annotations

import numpy as np

from ._core import _call, _describe, _net, _properties, _rng, _run, _source_uses, against


def _l2_case(sizes, seed, lam):
    params, _ = _net(sizes, 1, seed)
    rng = _rng(seed + 60)
    return params, {k: rng.normal(0, 0.1, p.shape) for k, p in params.items()}, lam


def l2_gradient(fn) -> bool:
    """``fn(params, grads, lam)``: the gradients of ``J + lam / 2 * sum_l ||W_l||^2``: ``dW_l + lam W_l`` for
    the weights, the biases' gradients unchanged."""
    cases = [("a 784-8-10 network, lam=0.01", _l2_case([784, 8, 10], 0, 0.01)),
             ("a 784-16-12-10 network, lam=0.5", _l2_case([784, 16, 12, 10], 1, 0.5)),
             ("a 784-10 network, lam=0.1", _l2_case([784, 10], 2, 0.1))]
    W = lambda k: k.startswith("W")
    mistakes = [
        (lambda p, g, lam: {k: g[k] + lam * p[k] for k in p},
         "the biases are decayed too: the penalty sums the squared WEIGHTS only, so the biases' gradients stay "
         "as they are"),
        (lambda p, g, lam: {k: g[k] + 2 * lam * p[k] if W(k) else g[k] for k in p},
         "the decay term is twice too large: the derivative of (lam / 2) ||W||^2 is lam W, the 1/2 cancels the "
         "square's 2"),
        (lambda p, g, lam: {k: g[k] + lam / 2 * p[k] if W(k) else g[k] for k in p},
         "the decay term is half too small: the derivative of (lam / 2) ||W||^2 is lam W, the 1/2 cancels the "
         "square's 2"),
        (lambda p, g, lam: {k: lam * p[k] if W(k) else g[k] for k in p},
         "the weights' gradients are only the decay term: the loss J is still there, so each weight gets its "
         "own gradient plus the decay"),
        (lambda p, g, lam: {k: lam * p[k] for k in p},
         "only the decay term comes back: the gradient of J + (lam / 2) sum ||W||^2 is the gradient of J plus "
         "that of the penalty, and the biases get no penalty"),
        (lambda p, g, lam: {k: lam * p[k] for k in p if W(k)},
         "only the decay term of the weights comes back: add it to the gradient of J, and keep the biases' "
         "gradients in the dict"),
        (lambda p, g, lam: {k: g[k] + lam * p[k] for k in p if W(k)},
         "the biases' gradients are missing: return every parameter's gradient, the biases' unchanged"),
        (lambda p, g, lam: {k: g[k] - lam * p[k] if W(k) else g[k] for k in p},
         "the sign of the decay term is wrong: the penalty grows with the weights, so its gradient lam W "
         "points away from 0 and is added"),
        (lambda p, g, lam: {k: p[k] - lam * g[k] for k in p},
         "this looks like a gradient step, p - lam g: the function returns gradients, the gradient of J plus "
         "lam W for each weight"),
        (lambda p, g, lam: {k: g[k] + lam / 2 * p[k] ** 2 if W(k) else g[k] for k in p},
         "it adds the penalty (lam / 2) w^2 itself, not its derivative: differentiate the penalty with respect "
         "to one weight w"),
        (lambda p, g, lam: {k: g[k] + lam * np.sign(p[k]) if W(k) else g[k] for k in p},
         "this adds lam * sign(W), the gradient of the L1 penalty lam * sum |w|; the L2 penalty "
         "(lam / 2) ||W||^2 has another gradient"),
        (lambda p, g, lam: {k: g[k] + lam * np.sum(p[k] ** 2) if W(k) else g[k] for k in p},
         "it adds one number per matrix, lam ||W||^2, the size of the penalty: its gradient has one entry per "
         "weight, each depending on that weight only"),
        (lambda p, g, lam: {k: g[k] + lam / 2 * np.sum(p[k] ** 2) if W(k) else g[k] for k in p},
         "it adds one number per matrix, (lam / 2) ||W||^2, the penalty itself: its gradient has one entry per "
         "weight, each depending on that weight only"),
        (lambda p, g, lam: {k: g[k] * lam * p[k] if W(k) else g[k] for k in p},
         "it multiplies the gradient of J by lam W: the gradient of a sum is the sum of the gradients, so the "
         "decay term is added"),
        (lambda p, g, lam: {k: g[k] + lam * p[k] if k == "W1" else g[k] for k in p},
         "only W1 is decayed: the penalty sums over every weight matrix, W1, W2, ..., so each gets its decay "
         "term"),
        (lambda p, g, lam: {k: g[k] for k in p},
         "the gradients come back unchanged: no weight got its decay term (the weights' keys are \"W1\", "
         "\"W2\", ... with a capital W)"),
    ]
    reference = lambda p, g, lam: {k: g[k] + lam * p[k] if W(k) else g[k] for k in p}
    compare = against(reference, mistakes)

    def diagnose(got, args, error=None):
        problem = compare(got, args, error)
        if problem is None and error is None:
            params, grads = ({k: v.copy() for k, v in d.items()} for d in args[:2])
            lam, before = args[2], {k: v.copy() for k, v in grads.items()}
            with np.errstate(all="ignore"):
                fn(params, grads, lam)
            if any(not np.array_equal(grads[k], before[k]) for k in before):
                return ("it changes the grads passed in (grads[key] += ...): the right values, but the caller's "
                        "gradients of J are overwritten, and a second call adds the decay twice. Build a new "
                        "dict and leave grads as it was")
        return problem

    return _run("l2_gradient", fn, cases, diagnose, "dW + lam W (weights only)")


def _early_stopping(losses, patience):
    best, best_loss = 0, np.inf
    for e, loss in enumerate(losses, start=1):
        if loss < best_loss:
            best, best_loss = e, loss
        elif e - best >= patience:
            return best, e
    return best, len(losses)


def _early_variant(bug):
    def stop(losses, patience):
        if bug == "argmin":
            return int(np.argmin(losses)) + 1, len(losses)
        best, best_loss, previous, worse = 0, np.inf, np.inf, 0
        for e, loss in enumerate(losses, start=1):
            if bug == "previous":
                worse = worse + 1 if loss >= previous else 0
                previous = loss
                if loss < best_loss:
                    best, best_loss = e, loss
                if worse >= patience:
                    return best, e
                continue
            if loss < best_loss or (bug == "ties" and loss == best_loss):
                best, best_loss = e, loss
            elif (e - best > patience) if bug == "off by one" else (e - best >= patience):
                return best, e
        return best, len(losses)

    if bug == "from 0":
        return lambda losses, patience: tuple(x - 1 for x in _early_stopping(losses, patience))
    if bug == "last kept":
        return lambda losses, patience: (lambda b, s: (s, s))(*_early_stopping(losses, patience))
    if bug == "swapped":
        return lambda losses, patience: _early_stopping(losses, patience)[::-1]
    if bug == "best + patience":
        return lambda losses, patience: (lambda b, s: (b, b + patience))(*_early_stopping(losses, patience))
    if bug == "no end":
        return lambda losses, patience: (lambda b, s: (b, s if s - b >= patience else None))(
            *_early_stopping(losses, patience))
    if bug == "highest":
        return lambda losses, patience: _early_stopping([-x for x in losses], patience)
    return stop


def early_stopping(fn) -> bool:
    """``fn(val_losses, patience)`` -> ``(best_epoch, stop_epoch)``, epochs counted from 1: the epoch of the
    lowest validation loss so far, and the epoch after which training stops (when ``epoch - best >= patience``),
    or the last epoch if it never does; the rule of ``nn.EarlyStopping``."""
    cases = [("a validation loss that falls, then rises (patience 3)",
              ([1.0, 0.8, 0.7, 0.72, 0.75, 0.9, 0.95, 1.0], 3)),
             ("a loss that falls every epoch (patience 2)", ([3.0, 2.0, 1.5, 1.2, 1.1], 2)),
             ("a lower loss after the stop (patience 3)", ([1.0, 0.5, 0.6, 0.7, 0.8, 0.1], 3)),
             ("a loss that goes up and down (patience 2)", ([1.0, 0.9, 0.95, 0.93, 0.97, 0.85, 0.9, 0.95, 0.99], 2)),
             ("a loss that ties with the best (patience 3)", ([1.0, 0.9, 0.95, 0.9, 0.97, 0.96], 3))]
    mistakes = [
        (_early_variant("from 0"), "the epochs are counted from 0: the first epoch is epoch 1 here, as in "
                                   "nn.train's history"),
        (_early_variant("off by one"), "it stops one epoch late: training stops as soon as patience epochs have "
                                       "passed without a new best, when e - e* >= patience"),
        (_early_variant("argmin"), "it picks the lowest loss of the whole list and never stops: early stopping "
                                   "decides after each epoch, from the losses seen so far; a lower loss after "
                                   "the stop is never seen"),
        (_early_variant("previous"), "it counts the epochs that got worse than the previous one: patience counts "
                                     "the epochs since the BEST loss so far, e - e*, whether or not the loss went "
                                     "up in between"),
        (_early_variant("ties"), "a loss equal to the best counts as a new best: only a strictly lower loss is "
                                 "an improvement, so a tie keeps the earlier epoch"),
        (_early_variant("last kept"), "the epoch kept is the last one trained: early stopping puts back the "
                                      "parameters of the best epoch e*, and returns it"),
        (_early_variant("swapped"), "the two epochs are in the wrong order: return (best_epoch, stop_epoch), the "
                                    "best first"),
        (_early_variant("best + patience"), "the stop epoch is always e* + patience, even when the losses run out "
                                            "first: then training stops at the last epoch, len(val_losses)"),
        (_early_variant("no end"), "no stop epoch when training never stops early: it then runs to the last "
                                   "epoch, so return len(val_losses)"),
        (_early_variant("highest"), "it keeps the epoch of the HIGHEST validation loss: the best epoch is the one "
                                    "with the lowest loss"),
    ]
    return _run("early_stopping", fn, cases, against(_early_stopping, mistakes), "the rule of nn.EarlyStopping")


def _dropout_problem(got, args, fn=None):
    """What is wrong with ``(A_dropped, D)`` for ``A`` and the rate ``p``, or None."""
    A, p, _ = args
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"returned {_describe(got)}; expected the tuple (A_dropped, D)"
    try:
        A_dropped, D = (np.asarray(x, dtype=float) for x in got)
    except (TypeError, ValueError):
        return f"returned {_describe(got[0])} and {_describe(got[1])}; expected two arrays"
    n, d1 = A.shape
    if n > 1 and p > 0 and (D.shape in ((d1,), (1, d1)) or (D.shape == A.shape and np.all(D == D[:1]))):
        return ("one mask is shared by every sample of the batch: each sample drops its own units, so D needs "
                "one random draw per entry of A, with A's shape")
    if D.shape != A.shape:
        return f"D has shape {D.shape}; expected the shape of A, {A.shape}"
    if A_dropped.shape != A.shape:
        return f"A_dropped has shape {A_dropped.shape}; expected the shape of A, {A.shape}"
    values = set(np.unique(np.round(D, 6)).tolist())
    if not np.allclose(A_dropped, A * D):
        scaled = set(np.unique(np.round(A_dropped, 6)).tolist())
        if p > 0 and scaled <= {0.0, round(1 / (1 - p), 6)} and np.allclose(D, A * A_dropped):
            return "the two arrays are in the wrong order: return (A_dropped, D), the dropped activations first"
        if p > 0 and np.allclose(A_dropped, A):
            return "A_dropped is A unchanged: the dropped activations are A times the mask, A * D"
        if p > 0 and values <= {0.0, 1.0} and np.allclose(A_dropped, A * D / (1 - p)):
            return ("D holds 0 and 1 (kept or not), while A_dropped is rescaled: the mask you return must be the "
                    "one A is multiplied by, 0 or 1 / (1 - p), so that the backward pass can use it as it is")
        return "A_dropped is not A * D: the dropped activations are A times the mask you return"
    if p > 0 and values <= {0.0, 1.0}:
        return ("the kept units are not rescaled: D is 0 or 1. Inverted dropout divides the kept units by 1 - p, "
                "so that the expected activation stays A")
    if p > 0 and values <= {0.0, round(1 - p, 6)}:
        return ("the kept units are multiplied by 1 - p: inverted dropout divides by 1 - p, so that the kept "
                "units make up for the dropped ones")
    if p > 0 and values <= {0.0, round(1 / p, 6)} and round(1 / p, 6) != round(1 / (1 - p), 6):
        return ("the kept units are divided by p: inverted dropout divides them by 1 - p, the probability of "
                "being kept")
    if not values <= {0.0, round(1 / (1 - p), 6)}:
        return f"D holds the values {sorted(values)[:4]}; expected only 0 and 1 / (1 - p) = {1 / (1 - p):.4g}"
    kept = np.mean(D > 0)
    tolerance = 4 * np.sqrt(max(p * (1 - p), 1e-12) / D.size) + 1e-9
    if abs(kept - (1 - p)) > tolerance:
        if abs(kept - p) <= tolerance:
            return (f"{kept:.1%} of the units are kept with p = {p}: a unit is DROPPED with probability p and "
                    f"kept with probability 1 - p")
        if fn is not None and _source_uses(fn, {"normal", "standard_normal", "randn", "integers", "randint"}):
            return (f"{kept:.1%} of the units are kept; with p = {p}, about {1 - p:.0%} should be. A number "
                    f"uniform on [0, 1) (rng.random) is below p with probability p; normal numbers or random "
                    f"integers are not")
        return f"{kept:.1%} of the units are kept; with p = {p}, about {1 - p:.0%} should be"
    return None


def _dropout_diagnose(fn, got, args):
    problem = _dropout_problem(got, args, fn)
    if problem:
        return problem
    A, p, rng = args
    if 0 < p:
        again = _call(fn, args)                          # the same generator state again
        if not np.array_equal(np.asarray(got[1]), np.asarray(again[1])):
            return ("two calls with generators in the same state give different masks: draw the mask from rng, "
                    "the generator passed in, not from np.random")
        other = _call(fn, (A, p, np.random.default_rng(12345)))
        if np.array_equal(np.asarray(got[1]), np.asarray(other[1])):
            return "the mask is the same whatever rng you are given: draw it from rng, the generator passed in"
    return None


def dropout_forward(fn) -> bool:
    """``fn(A, p, rng)`` -> ``(A_dropped, D)``: inverted dropout with drop rate ``p``, ``D`` 0 or ``1 / (1 - p)``
    per entry of ``A`` (drawn from ``rng``), ``A_dropped = A * D``."""
    def case(n, h, p, seed):
        return _rng(seed).random((n, h)) + 0.1, p, np.random.default_rng(seed + 1)

    cases = [("activations (64, 100), p=0.2", case(64, 100, 0.2, 0)), ("activations (32, 50), p=0.5", case(32, 50, 0.5, 1)),
             ("activations (200, 30), p=0.8", case(200, 30, 0.8, 2)), ("a batch of 1, (1, 400), p=0.3", case(1, 400, 0.3, 3)),
             ("p=0 (dropout off)", case(10, 20, 0.0, 4))]
    return _run("dropout_forward", fn, cases, _properties(fn, _dropout_diagnose),
                "the rules of inverted dropout (nn.dropout_mask)")
