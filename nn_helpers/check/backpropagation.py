"""The checkers of notebook 04: backpropagation."""

from __future__ import annotations

import numpy as np

from ..losses import one_hot as _one_hot
from ..network import backward as _backward, forward as _forward
from ._core import _call, _ce_case, _net, _rng, _run, _same, against
from .softmax_cross_entropy import _shifted_one_hot


def output_gradient(fn) -> bool:
    """``fn(A2, y)``: ``dZ2 = (A2 - Y) / n``, the gradient of the mean cross-entropy with respect to the logits."""
    cases = [("a batch of 6", _ce_case(6, 10, 8)), ("a batch of 1", _ce_case(1, 10, 9)),
             ("a batch of 32", _ce_case(32, 10, 10))]
    Y = lambda A, y: _one_hot(y, A.shape[1], dtype=A.dtype)
    def rows(A, y):
        Yr = np.zeros_like(A)
        Yr[y] = 1
        return (A - Yr) / len(y)

    mistakes = [
        (rows, "Y[y] = 1 sets whole rows of the one-hot matrix, the rows numbered by the labels: row i of Y has a "
               "single 1, in column y[i]; index with one row number for each label, Y[np.arange(n), y]"),
        (lambda A, y: (A - _shifted_one_hot(y, A.shape[1], A.dtype)) / len(y),
         "the 1 is taken off in column y[i] - 1: the labels 0..9 are already the column numbers"),
        (lambda A, y: A - Y(A, y), "the 1/n is missing: the loss is the MEAN over the n samples, so each row of "
                                   "A2 - Y gets a factor 1/n; without it every gradient grows with the batch size"),
        (lambda A, y: (A - Y(A, y)) / len(y) ** 2, "1/n is applied twice: the mean's 1/n appears once in dZ2; "
                                                   "look for a second division by the batch size"),
        (lambda A, y: (Y(A, y) - A) / len(y), "the sign is flipped: the gradient is prediction minus truth, "
                                              "(A2 - Y) / n, not truth minus prediction"),
        (lambda A, y: (A - 1) / len(y), "1 is subtracted from every entry: Y is one-hot, so the 1 belongs only "
                                        "at each row's correct class, column y[i] of row i"),
        (lambda A, y: A / len(y), "the one-hot labels are not subtracted: A2 / n is the prediction alone, but the gradient of the "
                        "loss is prediction minus truth, dZ2 = (A2 - Y) / n, with a 1 taken off at each row's "
                        "correct class (its entry comes out negative)"),
        (lambda A, y: (A - y[:, None]) / len(y), "the label y[i] itself (an integer 0..9) is subtracted from every "
                                                 "entry of row i: Y is one-hot, a single 1 at column y[i] of row i"),
        (lambda A, y: (A - Y(A, y)).mean(axis=0), "the rows are averaged into one: dZ2 keeps one row per sample, "
                                                  "(n, 10). The 1/n scales each row; the sum over the samples "
                                                  "comes later, in dW2 and db2"),
        (lambda A, y: (A - Y(A, y)) // len(y), "// is integer division: (A2 - Y) // n rounds every entry down to a "
                                               "whole number (0 or -1). Divide with /"),
        (lambda A, y: (A - Y(A, y)) / A.shape[1], "it divides by the number of classes, A2.shape[1]: the 1/n of "
                                                  "the mean counts the samples, n = len(y)"),
    ]
    reference = lambda A, y: (A - Y(A, y)) / len(y)
    return _run("output_gradient", fn, cases, against(reference, mistakes), "(A2 - one_hot(y)) / n")


def _backward_variant(bug):
    def bwd(params, cache, y):
        W2 = params["W2"]
        X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]
        n = len(y)
        dZ2 = A2 if bug == "no labels" else A2 - _one_hot(y, A2.shape[1], dtype=A2.dtype)
        if bug == "X not transposed":
            dZ2 = dZ2 / n
            dZ1 = (dZ2 @ W2.T) * (Z1 > 0)
            return {"W1": X @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1 @ dZ2, "b2": dZ2.sum(axis=0)}
        dZ2 = {"missing 1/n": dZ2, "1/n twice": dZ2 / n**2}.get(bug, dZ2 / n)
        dW2 = dZ2.T @ A1 if bug == "dW transposed" else {"A2 in dW2": A2, "Z1 in dW2": Z1}.get(bug, A1).T @ dZ2
        db = {"scalar db": lambda dZ: dZ.sum(), "db over units": lambda dZ: dZ.sum(axis=1),
              "db mean": lambda dZ: dZ.mean(axis=0)}.get(bug, lambda dZ: dZ.sum(axis=0))
        db2 = db(dZ2)
        dA1 = dZ2 @ W2 if bug == "W2 instead of W2.T" else dZ2 @ (params["W1"] if bug == "W1 in dA1" else W2).T
        dZ1 = {"no ReLU mask": lambda: dA1, "times A1": lambda: dA1 * A1,
               "ReLU of dA1": lambda: np.maximum(dA1, 0)}.get(bug, lambda: dA1 * (Z1 > 0))()
        dW1 = dZ1.T @ X if bug == "dW transposed" else (A1 if bug == "A1 in dW1" else X).T @ dZ1
        db1 = db(dZ1)
        grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
        if bug == "1/n twice in dW":
            grads = {k: g / n if k.startswith("W") else g for k, g in grads.items()}
        return grads
    return bwd


def _backward_case(sizes, n, seed, dtype=np.float64, activation="relu"):
    params, X = _net(sizes, n, seed, dtype)
    y = _rng(seed + 7).integers(0, sizes[-1], n)
    return params, _forward(params, X, activation=activation)[1], y


def backward(fn) -> bool:
    """``fn(params, cache, y)``: the gradients ``{"W1", "b1", "W2", "b2"}`` of the mean cross-entropy."""
    cases = [("a 784-10-10 network and a batch of 6", _backward_case([784, 10, 10], 6, 0)),
             ("a 784-16-10 network and a batch of 1", _backward_case([784, 16, 10], 1, 1)),
             ("a 784-32-10 network and a batch of 20", _backward_case([784, 32, 10], 20, 2))]
    mistakes = [
        (_backward_variant("no ReLU mask"), "the ReLU mask is missing: going back through ReLU multiplies "
                                            "dA1 entry by entry by ReLU'(Z1), 1 where Z1 > 0 and 0 elsewhere. "
                                            "Only W1 and b1 are wrong; look at the line that computes dZ1"),
        (_backward_variant("missing 1/n"), "the 1/n is missing: dZ2 = (A2 - Y) / n (the loss is a mean), so "
                                           "every gradient is n times too large"),
        (_backward_variant("1/n twice"), "1/n is applied twice: every gradient is n times too small. The 1/n "
                                         "belongs to dZ2 only; every later gradient inherits it"),
        (_backward_variant("1/n twice in dW"), "1/n is applied twice in dW1 and dW2, which are n times too "
                                               "small (db1, db2 are right): dZ2 already holds the 1/n, and the "
                                               "weight gradients inherit it"),
        (_backward_variant("scalar db"), "each bias gradient is summed over all entries into one number (as "
                                         "the original tutorial has it): a bias has one gradient per unit, "
                                         "the sum over the samples, so db2 has the shape of b2, (10,)"),
        (_backward_variant("db over units"), "the bias gradients sum over the units (axis=1): a bias gradient "
                                             "sums over the samples, the rows of dZ"),
        (_backward_variant("W2 instead of W2.T"), "W2 is used where its transpose is needed in dA1: "
                                                  "(n, 10) times (10, d1) must give the (n, d1) of A1. Only W1 "
                                                  "and b1 are wrong"),
        (_backward_variant("W1 in dA1"), "dA1 goes back through W1: the gradient reaches A1 through layer 2, "
                                         "whose weights are W2, so dA1 = dZ2 @ W2.T"),
        (_backward_variant("A1 in dW1"), "dW1 is built from A1, the output of layer 1: it needs the layer's input, "
                                         "X (cache[\"A0\"]), so dW1 = X.T @ dZ1 with the shape of W1"),
        (_backward_variant("X not transposed"), "a layer's input is not transposed in its weight gradient: A1 @ dZ2 "
                                                "is (n, d1) times (n, 10), which does not fit; dW2 = A1.T @ dZ2 "
                                                "(d1, 10), the shape of W2, and dW1 = X.T @ dZ1"),
        (_backward_variant("dW transposed"), "shapes transposed: each dW is the transpose of W's shape. Each "
                                             "gradient has its parameter's shape; put the layer's input, "
                                             "transposed, on the left"),
        (_backward_variant("no labels"), "the one-hot labels are not subtracted: dZ2 = A2 / n is the prediction "
                                          "alone; the output layer's gradient is prediction minus truth, "
                                          "(A2 - Y) / n, and every other gradient inherits the mistake"),
        (_backward_variant("db mean"), "the bias gradients are means over the samples, not sums: dZ already "
                                       "holds the mean's 1/n, so db = the column sums of dZ; a mean divides by n "
                                       "a second time"),
        (_backward_variant("times A1"), "the gradient dA1 is multiplied by A1 = ReLU(Z1), the activation itself: going back "
                                        "through ReLU multiplies by its slope, ReLU'(Z1), 1 where Z1 > 0 and 0 "
                                        "elsewhere"),
        (_backward_variant("ReLU of dA1"), "ReLU is applied to the gradient, np.maximum(dA1, 0): the mask comes "
                                           "from the forward pass, where Z1 > 0, not from the sign of dA1"),
        (_backward_variant("A2 in dW2"), "the weight gradient dW2 is built from A2, the output of layer 2: it needs the layer's input, "
                                         "A1 (Z2 = A1 W2 + b2, so dW2 = A1^T dZ2)"),
        (_backward_variant("Z1 in dW2"), "the weight gradient dW2 is built from Z1, the hidden sums before ReLU: the input of layer 2 "
                                         "is A1 = ReLU(Z1), so dW2 = A1^T dZ2"),
    ]
    return _run("backward", fn, cases, against(_backward, mistakes), "nn.backward")


def _tanh_variant(slope):
    def bwd(params, cache, y):
        X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]
        n = len(y)
        dZ2 = (A2 - (0 if slope == "no labels" else _one_hot(y, A2.shape[1], dtype=A2.dtype))) / n
        dA1 = dZ2 @ params["W2"].T
        dZ1 = dA1 * {"relu": lambda: Z1 > 0, "Z1": lambda: 1 - Z1**2, "none": lambda: 1,
                     "tanh twice": lambda: 1 - np.tanh(A1) ** 2, "sigmoid": lambda: A1 * (1 - A1),
                     "no square": lambda: 1 - A1, "no labels": lambda: 1 - A1**2, "no 1 minus": lambda: A1**2,
                     "plus": lambda: 1 + A1**2, "sech": lambda: 1 / np.cosh(Z1),
                     "square of 1 minus": lambda: (1 - A1) ** 2}[slope]()
        return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}
    return bwd


def backward_tanh(fn) -> bool:
    """``fn(params, cache, y)``: the gradients of a 784-d1-10 network whose hidden layer is tanh, with
    ``cache`` from ``nn.forward(params, X, activation="tanh")``; ``dZ1 = dA1 * (1 - A1**2)``."""
    cases = [("a 784-10-10 tanh network and a batch of 6", _backward_case([784, 10, 10], 6, 20, activation="tanh")),
             ("a 784-16-10 tanh network and a batch of 1", _backward_case([784, 16, 10], 1, 21, activation="tanh")),
             ("a 784-32-10 tanh network and a batch of 20", _backward_case([784, 32, 10], 20, 22, activation="tanh"))]
    mistakes = [
        (_tanh_variant("relu"), "the ReLU mask is used: this hidden layer is tanh, whose slope "
                                "tanh'(z) = 1 - tanh(z)^2 is never 0. Only W1 and b1 are wrong; look "
                                "at the factor in dZ1"),
        (_tanh_variant("Z1"), "the slope is computed from Z1, as 1 - Z1^2: tanh'(z) = 1 - tanh(z)^2 squares the "
                              "tanh of the weighted sum, which the forward pass already stored as A1"),
        (_tanh_variant("none"), "the tanh's derivative is forgotten: dZ1 is dA1 unchanged, as if the hidden layer "
                                "had no activation. Going back through A1 = tanh(Z1) multiplies entry by entry "
                                "by tanh'(Z1)"),
        (_tanh_variant("tanh twice"), "tanh is applied twice, 1 - tanh(A1)^2: A1 is already tanh(Z1)"),
        (_tanh_variant("sigmoid"), "this is the sigmoid's slope, a (1 - a): tanh's is 1 - a^2, with a = tanh(z)"),
        (_tanh_variant("no square"), "the square is missing: tanh'(z) = 1 - tanh(z)^2, not 1 - tanh(z)"),
        (_tanh_variant("no 1 minus"), "the slope is tanh(z)^2: tanh'(z) = 1 - tanh(z)^2, largest (1) at z = 0"),
        (_tanh_variant("plus"), "the sign is wrong: tanh'(z) = 1 - tanh(z)^2, never above 1"),
        (_tanh_variant("square of 1 minus"), "the square covers 1 - tanh(z): (1 - tanh(z))^2 is not the slope. "
                                             "Square tanh(z) alone, 1 - tanh(z)**2 (** binds before -)"),
        (_tanh_variant("sech"), "1 / cosh(z) is sech(z), not its square: tanh'(z) = 1 / cosh(z)^2 = 1 - tanh(z)^2"),
        (_tanh_variant("no labels"), "the one-hot labels are not subtracted: dZ2 = A2 / n is the prediction "
                                      "alone; the output layer's gradient is prediction minus truth, "
                                      "(A2 - Y) / n, and every other gradient inherits the mistake"),
        (_backward_variant("missing 1/n"), "the 1/n is missing: dZ2 = (A2 - Y) / n, so every gradient is n "
                                           "times too large"),
        (_backward_variant("W2 instead of W2.T"), "W2 is used where its transpose is needed in dA1: (n, 10) "
                                                  "times (10, d1) must give the (n, d1) of A1"),
    ]
    return _run("backward_tanh", fn, cases, against(_backward, mistakes), 'nn.backward (activation="tanh")')


def _deep_variant(bug):
    """The general recursion for a ReLU network of L weight layers, with one bug switched on."""
    def bwd(params, cache, y):
        L = len(params) // 2
        n = len(y)
        A_L = cache[f"A{L}"]
        Y = 0 if bug == "no labels" else _one_hot(y, A_L.shape[1], dtype=A_L.dtype)
        dZ = (A_L - Y) / (1 if bug == "missing 1/n" else n)
        if bug == "mask on output":
            dZ = dZ * (cache[f"Z{L}"] > 0)
        grads = {}
        for l in range(L, 0, -1):
            grads[f"W{l}"] = cache[f"A{l}" if bug == "A_l" else f"A{l - 1}"].T @ dZ
            grads[f"b{l}"] = dZ.mean(axis=0) if bug == "db mean" else dZ.sum(axis=0)
            if l > 1 or bug == "too far":
                dA = dZ @ (params[f"W{l}"] if bug == "W not transposed" else params[f"W{l}"].T)
                mask = {"mask of layer l": lambda: cache[f"Z{l}"] > 0, "no mask": lambda: 1}.get(
                    bug, lambda: cache[f"Z{l - 1}"] > 0)()
                dZ = dA * mask
        return grads
    return bwd


def _deep_diagnose(reference, mistakes):
    """``against``, after naming the layers a result leaves out (a loop that stops early or starts late)."""
    diagnose = against(reference, mistakes)

    def check_keys(got, args, error=None):
        params = args[0]
        if error is None and isinstance(got, dict) and set(got) < set(params):
            L = len(params) // 2
            missing = sorted(set(params) - set(got), key=lambda k: (int(k[1:]), k))
            if missing == ["W1", "b1"]:
                return (f"the gradients of layer 1 are missing ({', '.join(missing)} of a network with L = {L}): "
                        "the loop stops before the first layer. It runs from l = L down to l = 1, where the "
                        "layer's input A0 is X")
            if missing == [f"W{L}", f"b{L}"]:
                return (f"the gradients of the output layer, W{L} and b{L}, are missing: the recursion starts "
                        f"with dZ{L} = (A{L} - Y) / n, and layer L gets its dW and db from it like every other layer")
            if set(got) == {"W1", "b1", "W2", "b2"}:
                return (f"only W1, b1, W2, b2 come back from a network with L = {L} weight layers: read L from "
                        "params (two entries per layer) and loop over every layer")
            return f"the gradients of {', '.join(missing)} are missing: every layer from L down to 1 gets its dW and db"
        named = diagnose(got, args, error)
        L = len(params) // 2
        if named is None and isinstance(error, KeyError) and error.args and error.args[0] in (
                f"A{2 * L}", f"Z{2 * L}", f"W{2 * L}", f"b{2 * L}"):
            return (f"{error.args[0]!r} is asked for in a network with L = {L} weight layers: L is len(params) // 2, "
                    "since params holds a W and a b for each layer")
        if named is None and error is not None and len(params) != 4:
            return (f"a network with L = {len(params) // 2} weight layers: if your code is written for two layers "
                    "(A2 as the output, W2 as the last weights), read L from params, two entries per layer, and "
                    "loop from l = L down to 1")
        return named

    return check_keys


def backward_deep(fn) -> bool:
    """``fn(params, cache, y)``: the gradients ``{"W1", "b1", ..., "WL", "bL"}`` of a ReLU network with any
    number ``L`` of weight layers, by the general recursion ``dZ_L = (A_L - Y) / n``; ``dW_l = A_{l-1}^T dZ_l``,
    ``db_l`` = column sums; ``dZ_{l-1} = (dZ_l W_l^T) * ReLU'(Z_{l-1})``."""
    cases = [("a 784-16-10 network (L = 2) and a batch of 6", _backward_case([784, 16, 10], 6, 30)),
             ("a 784-12-8-6-10 network (L = 4) and a batch of 7", _backward_case([784, 12, 8, 6, 10], 7, 31)),
             ("a 784-10 network (L = 1) and a batch of 5", _backward_case([784, 10], 5, 32)),
             ("a 784-20-14-10 network (L = 3) and a batch of 1", _backward_case([784, 20, 14, 10], 1, 33))]
    mistakes = [
        (_deep_variant("A_l"), "the weight gradient uses the layer's output A_l where its input A_(l-1) is needed: "
                               "Z_l = A_(l-1) W_l + b_l, so dW_l = A_(l-1)^T dZ_l, with the shape (d_(l-1), d_l) of W_l"),
        (_deep_variant("mask on output"), "the ReLU mask is applied to the output layer: layer L has softmax, not "
                                          "ReLU, and dZ_L = (A_L - Y) / n is already the gradient of its logits"),
        (_deep_variant("mask of layer l"), "the mask comes from the wrong layer: going back from layer l to "
                                           "l - 1, the mask is ReLU'(Z_(l-1)), the slope of the layer you arrive "
                                           "at, not of Z_l"),
        (_deep_variant("too far"), "the loop goes one layer too far: below layer 1 there is only X, with no Z0 "
                                   "and no activation to go back through; dA and dZ are needed only for l > 1"),
        (_deep_variant("no mask"), "the ReLU mask is missing: dZ_(l-1) = dA_(l-1) * ReLU'(Z_(l-1)) for every "
                                   "hidden layer"),
        (_deep_variant("W not transposed"), "W_l is used where its transpose is needed: dA_(l-1) = dZ_l W_l^T, "
                                            "(n, d_l) times (d_l, d_(l-1))"),
        (_deep_variant("missing 1/n"), "the 1/n is missing: dZ_L = (A_L - Y) / n (the loss is a mean), so every "
                                       "gradient is n times too large"),
        (_deep_variant("no labels"), "the one-hot labels are not subtracted: dZ_L = A_L / n is the prediction "
                                     "alone; the recursion starts from prediction minus truth, (A_L - Y) / n"),
        (_deep_variant("db mean"), "the bias gradients are means over the samples, not sums: dZ_l already holds "
                                   "the 1/n, so db_l = the column sums of dZ_l"),
    ]
    return _run("backward_deep", fn, cases, _deep_diagnose(_backward, mistakes), "nn.backward")


def _f_cubic(x):
    return float(np.sum(x**3) + np.sum(x) ** 2)


def _numgrad(kind):
    def grad(f, x, h=1e-4):
        g = np.zeros_like(x, dtype=float)
        flat = x.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + h
            plus = f(x)
            flat[i] = old - h if kind != "forward" else old
            minus = f(x)
            if kind != "not restored":
                flat[i] = old
            g.reshape(-1)[i] = (plus - minus) / (h if kind in ("forward", "h") else 2 * h)
        return -g if kind == "flipped" else g.reshape(-1) if kind == "flat" else g
    return grad


def _numgrad_rows(view):
    """``for i in range(len(x))``: on a 2-D ``x`` this nudges whole rows (``old`` a copy, or a view of the row)."""
    def grad(f, x, h=1e-4):
        g = np.zeros_like(x, dtype=float)
        for i in range(len(x)):
            old = x[i] if view else np.copy(x[i])
            x[i] = old + h
            plus = f(x)
            x[i] = old - h
            minus = f(x)
            x[i] = old
            g[i] = (plus - minus) / (2 * h)
        return g
    return grad


def _numgrad_precedence(f, x, h=1e-4):
    g = np.zeros_like(x, dtype=float)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        g[i] = (plus - minus) / 2 * h
    return g


def _numgrad_not_a_copy(f, x, h=1e-4):
    """``x_plus = x`` is the same array, not a copy: the two nudges cancel and the lower point is x itself."""
    g = np.zeros_like(x, dtype=float)
    for i in np.ndindex(x.shape):
        x_plus = x
        x_plus[i] += h
        plus = f(x_plus)
        x_minus = x
        x_minus[i] -= h
        minus = f(x_minus)
        g[i] = (plus - minus) / (2 * h)
    return g


def _numgrad_flat_index(f, x, h=1e-4):
    g = np.zeros_like(x, dtype=float)
    for i in range(x.size):
        old = x[i]
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        g[i] = (plus - minus) / (2 * h)
    return g


def _numgrad_all_at_once(f, x, h=1e-4):
    return np.full(x.shape, (f(x + h) - f(x - h)) / (2 * h))


def numerical_gradient(fn) -> bool:
    """``fn(f, x, h)``: the central-difference gradient of a scalar function ``f`` at the array ``x``."""
    rng = _rng(11)
    cases = [("f(x) = sum(x**3) + sum(x)**2 at 5 points, h=1e-3", (_f_cubic, rng.normal(0, 1, 5), 1e-3)),
             ("the same f at a (3, 4) array", (_f_cubic, rng.normal(0, 1, (3, 4)), 1e-3)),
             ("the same f at 1 point", (_f_cubic, rng.normal(0, 1, 1), 1e-3))]
    rows = ("on a 2-D x, range(len(x)) runs over the rows only: x[i] is a whole row, so all the entries of a row "
            "are nudged together and share one number. Visit every entry: an index is a pair (i, j) for a 2-D "
            "array, one per entry of x.shape")
    mistakes = [
        (_numgrad("forward"), "this is the forward difference (f(x + h) - f(x)) / h, accurate only to O(h): the "
                              "central difference steps both ways, (f(x + h e_i) - f(x - h e_i)) / (2h)"),
        (_numgrad("h"), "the central difference is divided by h: its two points are 2h apart"),
        (_numgrad("not restored"), "each entry is left at x_i - h after its difference, so the later entries are "
                                   "measured at a shifted point: put the old value back before the next entry"),
        (_numgrad_all_at_once, "every entry gets the same number: x + h nudges all the entries at once, which "
                               "measures the slope along all of them together (the sum of the partial "
                               "derivatives). Nudge one entry at a time, f(x + h e_i), and put it back"),
        (_numgrad("flipped"), "the sign is flipped: the difference is f(x + h e_i) - f(x - h e_i), the upper point "
                              "first"),
        (_numgrad("flat"), "the gradient comes back as a flat vector: return an array of the shape of x, one "
                           "partial derivative per entry (np.zeros_like(x) keeps it)"),
        (_numgrad_precedence, "(plus - minus) / 2 * h divides by 2 and then MULTIPLIES by h (Python reads / and * "
                              "left to right): brackets, (plus - minus) / (2 * h)"),
        (_numgrad_not_a_copy, "the results are half the slope: x_plus = x (and x_minus = x) is the same array, not a "
                              "copy, so the second nudge undoes the first and the lower point is x itself. Copy "
                              "x (x.copy()), or nudge x and put the old value back"),
        (_numgrad_flat_index, "x[i] with i counting up to x.size indexes the rows of a 2-D x, not its entries: "
                              "visit every entry with np.ndindex(x.shape) (an index pair for a 2-D array), or "
                              "nudge x.reshape(-1)[i], a view of the same numbers"),
        (_numgrad_rows(view=False), rows),
        (_numgrad_rows(view=True), rows),
    ]
    reference = lambda f, x, h: 3 * x**2 + 2 * np.sum(x)
    diagnose = against(reference, mistakes)

    def h_ignored(got, args, error=None):
        problem = diagnose(got, args, error)
        if problem and error is None and problem.startswith("wrong values"):
            f, x, h = args
            try:
                other = _call(fn, (f, x, h / 10))
            except Exception:
                return problem
            if _same(got, other) and not _same(other, reference(f, x, h / 10)):
                return (f"the argument h is not used: h = {h:g} and h = {h / 10:g} give the same numbers. The "
                        f"step is the h you are given, in both the nudge and the division by 2h")
        return problem

    return _run("numerical_gradient", fn, cases, h_ignored, "the exact gradient")
