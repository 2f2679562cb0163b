"""The checkers of notebook 02: the forward pass."""

from __future__ import annotations

import numpy as np

from ..losses import softmax as _softmax
from ..network import forward as _forward, init_params as _init_params
from ._core import _call, _net, _properties, _rng, _run, against


def _layer_case(n, n_in, n_out, seed):
    rng = _rng(seed)
    return rng.random((n, n_in)), rng.normal(0, 0.1, (n_in, n_out)), rng.normal(0, 0.5, n_out)


def layer(fn) -> bool:
    """``fn(X, W, b)``: one layer's weighted sums ``Z = X @ W + b``, ``(n, n_in) -> (n, n_out)``."""
    cases = [("X (4, 10), W (10, 10)", _layer_case(4, 10, 10, 0)),
             ("X (5, 784), W (784, 16)", _layer_case(5, 784, 16, 1)),
             ("a batch of 1, W (784, 10)", _layer_case(1, 784, 10, 2))]
    mistakes = [
        (lambda X, W, b: X @ W.T + b, "W.T is used where W is needed: with samples in rows, Z = X @ W "
                                      "with W of shape (n_in, n_out); W.T belongs to the column convention"),
        (lambda X, W, b: X @ W, "the bias is missing: Z = X @ W + b"),
        (lambda X, W, b: (W.T @ X.T + b[:, None]), "shapes transposed: you computed W.T @ X.T, one sample per "
                                                   "column. Samples are rows: Z = X @ W + b, shape (n, n_out)"),
        (lambda X, W, b: np.maximum(X @ W + b, 0), "ReLU is applied: this exercise asks for the weighted sums Z "
                                                   "themselves, before any activation (the activation comes next, "
                                                   "A = g(Z))"),
        (lambda X, W, b: X @ W - b, "the bias is subtracted: z_j = b_j + sum_q x_q W_qj adds it"),
        (lambda X, W, b: W @ X + b, "W @ X puts the weights first: with samples in rows, the input comes first, "
                                    "Z = X @ W, (n, n_in) times (n_in, n_out)"),
        (lambda X, W, b: X * W + b, "X * W multiplies entry by entry: each weighted sum adds up its inputs "
                                    "times their weights, a matrix product, X @ W"),
        (lambda X, W, b: X @ W + b.reshape(-1, 1), "b is turned into a column (n_out, 1), which NumPy lines up "
                                                   "with the rows: b keeps its shape (n_out,) and is added to "
                                                   "every row as it is"),
        (lambda X, W, b: np.sum(X @ W + b, axis=0), "the weighted sums are added up over the samples: Z keeps one "
                                                    "row per sample, shape (n, n_out)"),
        (lambda X, W, b: X @ W + b.sum(), "the sum of all the biases is added to every entry: neuron j has its own "
                                          "bias b_j, added to column j of every row (broadcasting b, shape (n_out,))"),
    ]
    return _run("layer", fn, cases, against(lambda X, W, b: X @ W + b, mistakes), "X @ W + b")


def _stats_same(got, expected) -> bool:
    g, e = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    return (g.shape == e.shape and abs(g.mean()) < 0.1 * e.std() + 0.1 * abs(e.mean())
            and abs(g.std() / e.std() - 1) < 0.1)


def _he_diagnose(fn, got, args):
    n_in, n_out, seed = args
    variants = [
        (lambda: _rng(seed).normal(0, 2 / n_in, (n_in, n_out)),
         "the standard deviation is 2 / n_in, the variance: the standard deviation is its square root"),
        (lambda: _rng(seed).normal(0, np.sqrt(1 / n_in), (n_in, n_out)),
         "the standard deviation is sqrt(1 / n_in) (LeCun): He uses sqrt(2 / n_in), the 2 makes up for ReLU "
         "zeroing half the units"),
        (lambda: _rng(seed).normal(0, np.sqrt(2 / n_out), (n_in, n_out)),
         "the standard deviation uses n_out: He divides by the number of inputs, sqrt(2 / n_in)"),
        (lambda: _rng(seed).normal(0, np.sqrt(2 / (n_in + n_out)), (n_in, n_out)),
         "the standard deviation is sqrt(2 / (n_in + n_out)), Xavier's (Glorot's): He uses the fan-in alone, "
         "sqrt(2 / n_in), the factor 2 making up for the half of the units ReLU zeroes"),
        (lambda: _rng(seed).normal(0, np.sqrt(2) / n_in, (n_in, n_out)),
         "the standard deviation is sqrt(2) / n_in: the square root covers the whole fraction, sqrt(2 / n_in)"),
        (lambda: _rng(seed).uniform(-np.sqrt(2 / n_in), np.sqrt(2 / n_in), (n_in, n_out)),
         "these are uniform weights between -sqrt(2 / n_in) and +sqrt(2 / n_in), whose standard deviation is "
         "only sqrt(2 / n_in) / sqrt(3): He draws from a normal distribution"),
        (lambda: _rng(seed).normal(0, 2 / np.sqrt(n_in), (n_in, n_out)),
         "the standard deviation is 2 / sqrt(n_in): the 2 belongs inside the root, sqrt(2 / n_in)"),
        (lambda: _rng(seed).random((n_in, n_out)) - 0.5,
         "these are the original tutorial's uniform weights, rand - 0.5: He draws from a normal distribution, "
         "mean 0 and standard deviation sqrt(2 / n_in)"),
        (lambda: _rng(seed).normal(0, np.sqrt(2 / n_in), (n_out, n_in)),
         f"shapes transposed: W is ({n_out}, {n_in}); samples are rows, so W has shape (n_in, n_out)"),
    ]
    expected = _init_params([n_in, n_out], init="he", seed=seed, dtype=np.float64)["W1"]
    g = np.asarray(got, dtype=float)
    if g.shape == expected.shape and abs(g.mean() - np.sqrt(2 / n_in)) < 0.1 * np.sqrt(2 / n_in) \
            and abs(g.std() - 1) < 0.1:
        return ("the weights have mean sqrt(2 / n_in) and standard deviation 1: the generator's normal takes the "
                "mean first, normal(loc, scale, size); He's mean is 0 and its scale sqrt(2 / n_in)")
    if _stats_same(got, expected):
        if not np.array_equal(np.asarray(got), np.asarray(_call(fn, args))):
            return "two calls with the same seed give different weights: use np.random.default_rng(seed)"
        return None
    for variant, message in variants:
        if _stats_same(got, variant()):
            return message
    g = np.asarray(got, dtype=float)
    if g.shape != expected.shape:
        return f"W has shape {g.shape}; expected {expected.shape} = (n_in, n_out)"
    if g.min() >= 0 and g.max() > 0:
        return ("every weight is positive (a uniform draw from 0..1, rng.random, scaled): He draws from a normal "
                "distribution around 0, rng.normal(0, sqrt(2 / n_in), ...), and half the weights are negative")
    return (f"the weights have mean {g.mean():.3g} and standard deviation {g.std():.3g}; expected mean 0 and "
            f"sqrt(2 / {n_in}) = {np.sqrt(2 / n_in):.3g}")


def he_init(fn) -> bool:
    """``fn(n_in, n_out, seed)``: He-initialized weights ``(n_in, n_out)``, Normal(0, sqrt(2 / n_in))."""
    cases = [("n_in=784, n_out=256", (784, 256, 0)), ("n_in=256, n_out=10", (256, 10, 1)),
             ("n_in=100, n_out=300", (100, 300, 2))]
    return _run("he_init", fn, cases, _properties(fn, _he_diagnose), "the statistics of nn.init_params(init=\"he\")")


def _forward_variant(bug):
    def fwd(params, X):
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
        Z1 = X @ W1 + (0 if bug in ("no b1", "no biases") else b1)
        A1 = {"no ReLU": lambda: Z1, "sigmoid": lambda: 1 / (1 + np.exp(-Z1)), "softmax hidden": lambda: _softmax(Z1),
              "b1 after ReLU": lambda: np.maximum(X @ W1, 0) + b1, "minimum": lambda: np.minimum(Z1, 0),
              }.get(bug, lambda: np.maximum(Z1, 0))()
        Z2 = A1 @ (W2.T if bug == "W2.T" else W1 if bug == "W1 twice" else W2) + (0 if bug in ("no b2", "no biases") else b2)
        if bug == "logits":
            return Z2
        if bug == "argmax":
            return Z2.argmax(axis=1)
        if bug == "softmax over columns":
            return _softmax(Z2.T).T
        if bug == "ReLU instead of softmax":
            return np.maximum(Z2, 0)

        return _softmax(np.maximum(Z2, 0) if bug == "ReLU on output" else Z2)
    return fwd


def forward(fn) -> bool:
    """``fn(params, X)``: the output probabilities ``(n, 10)`` of a one-hidden-layer ReLU network."""
    cases = [("a 784-10-10 network and a batch of 6", _net([784, 10, 10], 6, 0)),
             ("a 784-16-10 network and a batch of 1", _net([784, 16, 10], 1, 1)),
             ("a 784-32-10 network in float32 and a batch of 8", _net([784, 32, 10], 8, 2, np.float32))]
    mistakes = [
        (_forward_variant("no biases"), "both biases are missing: Z1 = X @ W1 + b1 and Z2 = A1 @ W2 + b2"),
        (_forward_variant("no b1"), "the bias b1 is missing: Z1 = X @ W1 + b1"),
        (_forward_variant("no b2"), "the bias b2 is missing: Z2 = A1 @ W2 + b2"),
        (_forward_variant("no ReLU"), "the ReLU is missing: A1 = ReLU(Z1) before the second layer; "
                                      "without it the two layers collapse into one linear map"),
        (_forward_variant("W2.T"), "W2.T is used where W2 is needed: with samples in rows, Z2 = A1 @ W2 with "
                                   "W2 of shape (d1, 10)"),
        (_forward_variant("logits"), "these are the logits Z2, not probabilities: finish with nn.softmax(Z2)"),
        (_forward_variant("ReLU on output"), "ReLU is applied to the output scores too: only the hidden layer "
                                             "gets ReLU; the output layer gets softmax(Z2)"),
        (_forward_variant("sigmoid"), "the hidden layer uses a sigmoid: this network's hidden layer is ReLU, "
                                      "max(0, z)"),
        (_forward_variant("softmax hidden"), "softmax is applied to the hidden layer too: the hidden layer gets ReLU; "
                                             "softmax belongs to the output layer only"),
        (_forward_variant("b1 after ReLU"), "the bias b1 is added after ReLU: it belongs inside, to the weighted "
                                            "sums, A1 = ReLU(X @ W1 + b1)"),
        (_forward_variant("argmax"), "these are the predicted digits (an argmax), one number per image: return "
                                     "the probabilities, shape (n, 10), one row per image"),
        (_forward_variant("ReLU instead of softmax"), "the output layer gets ReLU instead of softmax: its scores "
                                                      "are not probabilities (rows do not sum to 1); the hidden "
                                                      "layer gets ReLU, the output layer softmax(Z2)"),
        (_forward_variant("minimum"), "np.minimum(Z1, 0) keeps the negative part: ReLU is max(0, z), "
                                      "np.maximum(Z1, 0)"),
        (_forward_variant("W1 twice"), "W1 is used in the second layer too: layer 2 has its own weights, "
                                       "Z2 = A1 @ W2 + b2"),
        (_forward_variant("softmax over columns"), "softmax runs down the columns (over the images of the batch): "
                                                   "each row, one image's ten scores, must sum to 1"),
    ]
    reference = lambda params, X: _forward(params, X)[0]
    return _run("forward", fn, cases, against(reference, mistakes), "nn.forward")
