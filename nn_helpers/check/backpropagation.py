"""The checkers of notebook 04: backpropagation."""

from __future__ import annotations

import numpy as np

from ..losses import one_hot as _one_hot
from ..network import backward as _backward, forward as _forward
from ._core import _ce_case, _net, _rng, _run, against


def output_gradient(fn) -> bool:
    """``fn(A2, y)``: ``dZ2 = (A2 - Y) / m``, the gradient of the mean cross-entropy with respect to the logits."""
    cases = [("a batch of 6", _ce_case(6, 10, 8)), ("a batch of 1", _ce_case(1, 10, 9)),
             ("a batch of 32", _ce_case(32, 10, 10))]
    Y = lambda A, y: _one_hot(y, A.shape[1], dtype=A.dtype)
    mistakes = [
        (lambda A, y: A - Y(A, y), "the 1/m is missing: dZ2 = (A2 - Y) / m, as the loss is the MEAN over the "
                                   "m samples; without it every gradient grows with the batch size"),
        (lambda A, y: (A - Y(A, y)) / len(y) ** 2, "1/m is applied twice: (A2 - Y) / m already holds the "
                                                   "mean's 1/m; do not divide again"),
        (lambda A, y: (Y(A, y) - A) / len(y), "the sign is flipped: dZ2 = (A2 - Y) / m, not (Y - A2) / m"),
        (lambda A, y: (A - 1) / len(y), "1 is subtracted everywhere: subtract the one-hot Y, i.e. 1 only at "
                                        "each row's correct class"),
    ]
    reference = lambda A, y: (A - Y(A, y)) / len(y)
    return _run("output_gradient", fn, cases, against(reference, mistakes), "(A2 - one_hot(y)) / m")


def _backward_variant(bug):
    def bwd(params, cache, y):
        W2 = params["W2"]
        X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]
        m = len(y)
        dZ2 = A2 - _one_hot(y, A2.shape[1], dtype=A2.dtype)
        dZ2 = {"missing 1/m": dZ2, "1/m twice": dZ2 / m**2}.get(bug, dZ2 / m)
        dW2 = dZ2.T @ A1 if bug == "dW transposed" else A1.T @ dZ2
        db2 = dZ2.sum() if bug == "scalar db" else dZ2.sum(axis=1) if bug == "db over units" else dZ2.sum(axis=0)
        dA1 = dZ2 @ W2 if bug == "W2 instead of W2.T" else dZ2 @ W2.T
        dZ1 = dA1 if bug == "no ReLU mask" else dA1 * (Z1 > 0)
        dW1 = dZ1.T @ X if bug == "dW transposed" else X.T @ dZ1
        db1 = dZ1.sum() if bug == "scalar db" else dZ1.sum(axis=1) if bug == "db over units" else dZ1.sum(axis=0)
        grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
        if bug == "1/m twice in dW":
            grads = {k: g / m if k.startswith("W") else g for k, g in grads.items()}
        return grads
    return bwd


def _backward_case(sizes, n, seed, dtype=np.float64):
    params, X = _net(sizes, n, seed, dtype)
    y = _rng(seed + 7).integers(0, sizes[-1], n)
    return params, _forward(params, X)[1], y


def backward(fn) -> bool:
    """``fn(params, cache, y)``: the gradients ``{"W1", "b1", "W2", "b2"}`` of the mean cross-entropy."""
    cases = [("a 784-10-10 network and a batch of 6", _backward_case([784, 10, 10], 6, 0)),
             ("a 784-16-10 network and a batch of 1", _backward_case([784, 16, 10], 1, 1)),
             ("a 784-32-10 network and a batch of 20", _backward_case([784, 32, 10], 20, 2))]
    mistakes = [
        (_backward_variant("no ReLU mask"), "the ReLU mask is missing: dZ1 = dA1 * (Z1 > 0). Only W1 and b1 "
                                            "are wrong; look at the line that computes dZ1"),
        (_backward_variant("missing 1/m"), "the 1/m is missing: dZ2 = (A2 - Y) / m (the loss is a mean), so "
                                           "every gradient is m times too large"),
        (_backward_variant("1/m twice"), "1/m is applied twice: every gradient is m times too small. Divide "
                                         "once, in dZ2 = (A2 - Y) / m, and not again in dW or db"),
        (_backward_variant("1/m twice in dW"), "1/m is applied twice in dW1 and dW2, which are m times too "
                                               "small (db1, db2 are right): dZ2 = (A2 - Y) / m already holds "
                                               "the 1/m, do not divide dW by m again"),
        (_backward_variant("scalar db"), "each bias gradient is summed over all entries into one number "
                                         "(db = np.sum(dZ), or 1/m * np.sum(dZ) as the original tutorial "
                                         "has it): a bias has one gradient per unit, the sum over the "
                                         "samples, db2 = dZ2.sum(axis=0) of shape (10,)"),
        (_backward_variant("db over units"), "the bias gradients sum over the units (axis=1): sum over the "
                                             "samples, db = dZ.sum(axis=0)"),
        (_backward_variant("W2 instead of W2.T"), "W2 is used where W2.T is needed: dA1 = dZ2 @ W2.T, "
                                                  "(m, 10) @ (10, h). Only W1 and b1 are wrong"),
        (_backward_variant("dW transposed"), "shapes transposed: dW = dZ.T @ A gives the transpose of W's "
                                             "shape; use dW2 = A1.T @ dZ2 and dW1 = X.T @ dZ1"),
    ]
    return _run("backward", fn, cases, against(_backward, mistakes), "nn.backward")


def _f_cubic(x):
    return float(np.sum(x**3) + np.sum(x) ** 2)


def _numgrad(kind):
    def grad(f, x, eps=1e-4):
        g = np.zeros_like(x, dtype=float)
        flat = x.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            plus = f(x)
            flat[i] = old - eps if kind != "forward" else old
            minus = f(x)
            if kind != "not restored":
                flat[i] = old
            g.reshape(-1)[i] = (plus - minus) / (eps if kind in ("forward", "eps") else 2 * eps)
        return g
    return grad


def numerical_gradient(fn) -> bool:
    """``fn(f, x, eps)``: the central-difference gradient of a scalar function ``f`` at the array ``x``."""
    rng = _rng(11)
    cases = [("f(x) = sum(x**3) + sum(x)**2 at 5 points, eps=1e-3", (_f_cubic, rng.normal(0, 1, 5), 1e-3)),
             ("the same f at a (3, 4) array", (_f_cubic, rng.normal(0, 1, (3, 4)), 1e-3)),
             ("the same f at 1 point", (_f_cubic, rng.normal(0, 1, 1), 1e-3))]
    mistakes = [
        (_numgrad("forward"), "this is the forward difference (f(x + eps) - f(x)) / eps, accurate only to "
                              "O(eps): use the central difference (f(x + eps) - f(x - eps)) / (2 eps)"),
        (_numgrad("eps"), "the central difference is divided by eps: the two points are 2 eps apart, "
                          "divide by 2 * eps"),
        (_numgrad("not restored"), "each entry is left at x - eps after its difference: restore it "
                                   "(x[i] = old) before the next one"),
    ]
    reference = lambda f, x, eps: 3 * x**2 + 2 * np.sum(x)
    return _run("numerical_gradient", fn, cases, against(reference, mistakes), "the exact gradient")
