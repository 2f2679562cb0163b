"""Instant checks for the exercises of the notebooks: you write a piece of the network, a checker tells you
whether it is right, and if not, which classic mistake it makes and where to look.

    from nn_helpers import check

    def my_softmax(Z):
        return np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)

    ok = check.softmax(my_softmax)
    # softmax: not right yet on large logits (up to 1000).
    #   It overflows on large logits: np.exp(1000) is inf, and inf / inf is nan. Subtract each row's ...

Each checker runs your function on a few prepared cases (a batch of one, large logits, non-square layers,
...) against the package's own implementation, prints one verdict and returns ``True`` or ``False``. When
the result is wrong, it runs the known-wrong variants of the piece (the naive softmax, the wrong axis, the
missing ReLU mask, ...) on the same case; the variant that gives your numbers names your mistake. A
checker never raises because of your code: an exception in it is reported with the case that caused it,
and a function that still raises ``NotImplementedError`` (or has only ``...`` or ``pass`` as its body) is
"not done yet".

``check.progress("03")`` prints how many of a notebook's exercises you have solved in this session.
"""

from __future__ import annotations

import ast
import copy
import dis
import inspect
import textwrap
import warnings

import numpy as np

from .data import parse_idx as _parse_idx, to_features as _to_features
from .losses import cross_entropy as _cross_entropy, one_hot as _one_hot, softmax as _softmax
from .metrics import (confusion_matrix as _confusion_matrix, most_confident_mistakes as _mcm,
                      precision_recall as _precision_recall)
from .network import backward as _backward, forward as _forward, init_params as _init_params
from .optimizers import SGD, Momentum

#: The exercises of each notebook, in order: the names of their checkers.
EXERCISES = {
    "01": ["parse_idx", "to_features", "train_val_split"],
    "02": ["layer", "forward", "he_init"],
    "03": ["softmax", "one_hot", "cross_entropy"],
    "04": ["output_gradient", "backward", "numerical_gradient"],
    "06": ["sgd_step", "minibatches", "momentum_step"],
    "07": ["confusion_matrix", "precision_recall", "most_confident_mistakes"],
}

#: The latest verdict of each checker run in this session: name -> True (correct) / False.
results: dict = {}

NOT_DONE = ("{name}: not done yet. Write your code in place of `raise NotImplementedError` in the cell above, "
            "run it, then run this cell again.")


# --------------------------------------------------------------------------------------------------------
# The machinery shared by every checker


class _Placeholder(Exception):
    """The learner's function is still the skeleton."""


def _is_placeholder_body(fn) -> bool:
    """True when the function's body is only a docstring, comments, ``...`` or ``pass``."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):   # no source (a function typed into `python -`): read the bytecode
        idle = {"RESUME", "NOP", "LOAD_CONST", "RETURN_CONST", "RETURN_VALUE", "POP_TOP", "CACHE"}
        return all(ins.opname in idle for ins in dis.get_instructions(fn))
    body = tree.body[0].body if tree.body and hasattr(tree.body[0], "body") else []
    return all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
               for s in body)


def _call(fn, args):
    """Run the learner's function on copies of ``args`` with warnings silenced (the checker explains them)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            out = fn(*copy.deepcopy(args))
        except NotImplementedError:
            raise _Placeholder from None
    if out is None and _is_placeholder_body(fn):
        raise _Placeholder
    return out


def _quiet(fn, args):
    """Run one of our own functions (the reference or a known-wrong variant) on copies of ``args``."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*copy.deepcopy(args))


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    if isinstance(x, dict):
        return f"a dict with keys {sorted(x)}"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)} items"
    return f"{type(x).__name__} {x!r}" if np.isscalar(x) else type(x).__name__


def _difference(got, expected, path: str = "") -> str | None:
    """None when ``got`` equals ``expected`` (arrays to float precision, NaN never equal), else what differs."""
    where = f"{path}: " if path else ""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{where}returned {_describe(got)}; expected a dict with keys {sorted(expected)}"
        if set(got) != set(expected):
            return f"{where}returned the keys {sorted(got)}; expected {sorted(expected)}, as nn.backward names them"
        wrong = [k for k in expected if _difference(got[k], expected[k]) is not None]
        if wrong:
            right = [k for k in expected if k not in wrong]
            return (f"{where}{', '.join(wrong)} differ" + (f" ({', '.join(right)} are right)" if right else "")
                    + ": " + _difference(got[wrong[0]], expected[wrong[0]], wrong[0]))
        return None
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"{where}returned {_describe(got)}; expected a tuple of {len(expected)} items"
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = _difference(g, e, f"{path}[{i}]" if path else f"item {i}")
            if problem:
                return problem
        return None
    try:
        g = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"{where}returned {_describe(got)}; expected {_describe(expected)}"
    e = np.asarray(expected, dtype=float)
    if g.shape != e.shape:
        if g.ndim == 2 and g.shape == e.shape[::-1] and np.allclose(g.T, e, rtol=1e-4, atol=1e-6):
            return (f"{where}shapes transposed: the result is {g.shape}, the transpose of the expected "
                    f"{e.shape}. Samples are rows: X is (n, 784) and W1 is (784, h)")
        return f"{where}the result has shape {g.shape}; expected {e.shape}"
    if not np.all(np.isfinite(g)):
        return f"{where}the result holds nan or inf"
    if np.allclose(g, e, rtol=1e-4, atol=1e-6):
        return None
    worst = np.unravel_index(np.argmax(np.abs(g - e)), e.shape) if e.ndim else ()
    at = f" at index {tuple(int(i) for i in worst)}" if e.ndim else ""
    return f"{where}wrong values{at}: got {g[worst]:.6g}, expected {e[worst]:.6g}"


def _same(got, wrong) -> bool:
    """Does the learner's result equal a known-wrong variant's (NaN where it has NaN)?"""
    if isinstance(wrong, dict):
        return isinstance(got, dict) and set(got) == set(wrong) and all(_same(got[k], wrong[k]) for k in wrong)
    if isinstance(wrong, tuple):
        return isinstance(got, (tuple, list)) and len(got) == len(wrong) and all(map(_same, got, wrong))
    try:
        g, w = np.asarray(got, dtype=float), np.asarray(wrong, dtype=float)
    except (TypeError, ValueError):
        return False
    return g.shape == w.shape and np.allclose(g, w, rtol=1e-4, atol=1e-6, equal_nan=True)


def against(reference, mistakes=()):
    """A diagnose function: compare with ``reference``; when different, name the first known mistake
    (a ``(variant, message)`` pair) whose variant gives the same result or raises the same exception."""

    def diagnose(got, args, error=None):
        if error is None:
            problem = _difference(got, _quiet(reference, args))
            if problem is None:
                return None
        for variant, message in mistakes:
            try:
                wrong = _quiet(variant, args)
            except Exception as err:  # a variant that crashes the same way as the learner's code
                if error is not None and type(err) is type(error) and str(err) == str(error):
                    return message
                continue
            if error is None and _same(got, wrong):
                return message
        return problem if error is None else None

    return diagnose


def _properties(fn, check_result):
    """A diagnose function for a checker with no single right answer (a random split, random weights):
    ``check_result(fn, got, args)`` says what is wrong with ``got``, or None."""

    def diagnose(got, args, error=None):
        return None if error is not None else check_result(fn, got, args)

    return diagnose


def _run(name, fn, cases, diagnose, reference_name):
    """Run ``fn`` on each ``(label, args)`` case; print and record one verdict."""
    if not callable(fn):
        return _verdict(name, False, f"{name}: expected your function, got {_describe(fn)}. "
                                     f"Pass the function itself: check.{name}(my_{name}), without ().")
    for label, args in cases:
        try:
            got = _call(fn, args)
            if got is None:
                return _verdict(name, False, f"{name}: your function returned None on {label}. "
                                             f"Did you forget the `return` line?")
            problem = diagnose(got, args)
        except _Placeholder:
            return _verdict(name, False, NOT_DONE.format(name=name))
        except Exception as err:
            hint = diagnose(None, args, error=err)
            text = f"{name}: your function raised {type(err).__name__} on {label}: {err}"
            return _verdict(name, False, text + (f"\n  Likely cause: {hint}." if hint else ""))
        if problem:
            return _verdict(name, False, f"{name}: not right yet on {label}.\n  {problem[0].upper()}{problem[1:]}.")
    labels = "; ".join(label for label, _ in cases)
    return _verdict(name, True, f"{name}: correct! It agrees with {reference_name} on {len(cases)} cases "
                                f"({labels}).")


def _verdict(name, ok, text):
    results[name] = ok
    print(text)
    return ok


def progress(notebook: str | None = None) -> None:
    """Print how many exercises of ``notebook`` ("01" ... "06") are solved in this session (of all checkers
    run so far when ``notebook`` is None)."""
    names = EXERCISES[notebook] if notebook else list(results)
    solved = [n for n in names if results.get(n)]
    todo = [n for n in names if not results.get(n)]
    where = "in this notebook" if notebook else "so far"
    line = f"{len(solved)} of {len(names)} exercises solved {where}"
    print(line + (f". Still to do: {', '.join(todo)}." if todo else ". All done, well done!"))


def _rng(seed):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------------------------------------
# Notebook 01: reading the data


def _idx_bytes(magic, shape, seed):
    data = _rng(seed).integers(0, 256, size=shape, dtype=np.uint8)
    header = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big") for s in shape)
    return header + data.tobytes()


def _parse_offset16(raw):
    n = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, -1)


def _parse_little(raw):
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "little") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _parse_flat(raw):
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * raw[3])


def _parse_no_header(raw):
    return np.frombuffer(raw, dtype=np.uint8).reshape(int.from_bytes(raw[4:8], "big"), -1)


def _parse_28(raw):
    n = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * raw[3]).reshape(n, 28, 28)


def _parse_int8(raw):
    return _parse_idx(raw).astype(np.int8)


def parse_idx(fn) -> bool:
    """``fn(raw)``: the bytes of an (uncompressed) IDX file -> uint8 array ``(count, rows, cols)`` or ``(count,)``."""
    cases = [("a label file of 7 labels (8-byte header)", (_idx_bytes(2049, (7,), 1),)),
             ("an image file of 3 images of 4 x 5 pixels", (_idx_bytes(2051, (3, 4, 5), 2),)),
             ("an image file of 2 images of 28 x 28 pixels", (_idx_bytes(2051, (2, 28, 28), 3),))]
    mistakes = [
        (_parse_little, "the header is read little-endian: IDX stores its integers big-endian, "
                        "int.from_bytes(raw[4:8], \"big\")"),
        (_parse_offset16, "a 16-byte header is assumed for every file: the header is 4 + 4 * ndim bytes "
                          "(ndim = raw[3]), 8 bytes for a label file"),
        (_parse_no_header, "the header bytes are read as data: skip them with offset= in np.frombuffer"),
        (_parse_flat, "the data come back as one flat run: reshape them to the shape the header gives"),
        (_parse_28, "28 x 28 pixels are assumed: read rows and cols from the header (bytes 8-11 and 12-15)"),
        (_parse_int8, "pixels are read as signed int8, so values above 127 turn negative: use dtype=np.uint8"),
    ]
    return _run("parse_idx", fn, cases, against(_parse_idx, mistakes), "nn.parse_idx")


def _images(n, seed):
    return _rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


def to_features(fn) -> bool:
    """``fn(images)``: uint8 images ``(n, 28, 28)`` -> ``X`` of shape ``(n, 784)``, floats in 0..1."""
    cases = [("5 images", (_images(5, 1),)), ("a batch of 1 image", (_images(1, 2),)),
             ("784 images", (_images(784, 3),))]
    mistakes = [
        (lambda im: _to_features(im).T, "shapes transposed: X is (784, n), one image per column. Samples are "
                                        "rows: X = images.reshape(len(images), 784), shape (n, 784)"),
        (lambda im: im.reshape(len(im), -1).astype(float), "the pixels are still 0..255: divide by 255"),
        (lambda im: im.reshape(len(im), -1) // 255, "integer division // 255 leaves only 0s and 1s: use / 255"),
        (lambda im: im.transpose(0, 2, 1).reshape(len(im), -1) / 255,
         "each image is flattened column by column: reshape(len(images), 784) reads it row by row, as the "
         "rest of the series expects"),
        (lambda im: im.reshape(-1) / 255, "all images are flattened into one long vector: keep one row per "
                                           "image, reshape(len(images), 784)"),
    ]
    return _run("to_features", fn, cases, against(_to_features, mistakes), "nn.to_features")


def _split_problem(got, args):
    """What is wrong with a returned split ``(X_train, y_train, X_val, y_val)``, or None."""
    X, y, n_val, seed = args
    n = len(X)
    if not isinstance(got, (tuple, list)) or len(got) != 4:
        return f"returned {_describe(got)}; expected the tuple (X_train, y_train, X_val, y_val)"
    X_tr, y_tr, X_v, y_v = (np.asarray(a) for a in got)
    if X_tr.shape == (n_val, X.shape[1]) and X_v.shape == (n - n_val, X.shape[1]) and n_val != n - n_val:
        return "the validation set comes first: return X_train, y_train, X_val, y_val in that order"
    if X_tr.shape != (n - n_val, X.shape[1]) or X_v.shape != (n_val, X.shape[1]):
        return f"X_train is {X_tr.shape} and X_val {X_v.shape}; expected {(n - n_val, X.shape[1])} and {(n_val, X.shape[1])}"
    if y_tr.shape != (n - n_val,) or y_v.shape != (n_val,):
        return f"y_train is {y_tr.shape} and y_val {y_v.shape}; expected {(n - n_val,)} and {(n_val,)}"
    rows = np.concatenate([X_tr[:, 0], X_v[:, 0]]).astype(int)   # X[i, 0] == i: each row names itself
    if sorted(rows) != list(range(n)):
        return ("some rows appear twice and others are missing: shuffle with a permutation "
                "(rng.permutation(n)), not with random indices (rng.integers)")
    if not np.array_equal(np.concatenate([y_tr, y_v]), y[rows]):
        return "the labels no longer match their images: shuffle X and y with the same permutation, X[order], y[order]"
    if set(X_v[:, 0].astype(int)) in ({*range(n_val)}, {*range(n - n_val, n)}):
        return "the validation set is the first or last rows, not shuffled: draw rng.permutation(n) first"
    return None


def _split_diagnose(fn, got, args):
    problem = _split_problem(got, args)
    if problem:
        return problem
    X, y, n_val, seed = args
    if not all(np.array_equal(a, b) for a, b in zip(got, _call(fn, args))):
        return "two calls with the same seed give different splits: use np.random.default_rng(seed)"
    if all(np.array_equal(a, b) for a, b in zip(got, _call(fn, (X, y, n_val, seed + 1)))):
        return "the split ignores the seed: use np.random.default_rng(seed)"
    return None


def train_val_split(fn) -> bool:
    """``fn(X, y, n_val, seed)`` -> ``(X_train, y_train, X_val, y_val)``: a seeded shuffle, ``n_val`` held out."""
    cases = []
    for n, n_val, seed in [(20, 5, 0), (50, 10, 1), (7, 1, 2)]:
        X = np.repeat(np.arange(n, dtype=float)[:, None], 3, axis=1)       # row i is [i, i, i]
        y = _rng(seed + 10).integers(0, 10, size=n)
        cases.append((f"{n} samples, n_val={n_val}, seed={seed}", (X, y, n_val, seed)))
    return _run("train_val_split", fn, cases, _properties(fn, _split_diagnose), "the rules of nn.train_val_split")


# --------------------------------------------------------------------------------------------------------
# Notebook 02: the forward pass


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
         "the standard deviation is 2 / n_in, the variance: use np.sqrt(2 / n_in)"),
        (lambda: _rng(seed).normal(0, np.sqrt(1 / n_in), (n_in, n_out)),
         "the standard deviation is sqrt(1 / n_in) (LeCun): He uses sqrt(2 / n_in), the 2 makes up for ReLU "
         "zeroing half the units"),
        (lambda: _rng(seed).normal(0, np.sqrt(2 / n_out), (n_in, n_out)),
         "the standard deviation uses n_out: He divides by the number of inputs, sqrt(2 / n_in)"),
        (lambda: _rng(seed).random((n_in, n_out)) - 0.5,
         "these are the original tutorial's uniform weights, rand - 0.5: draw rng.normal(0, np.sqrt(2 / n_in), ...)"),
        (lambda: _rng(seed).normal(0, np.sqrt(2 / n_in), (n_out, n_in)),
         f"shapes transposed: W is ({n_out}, {n_in}); samples are rows, so W has shape (n_in, n_out)"),
    ]
    expected = _init_params([n_in, n_out], init="he", seed=seed, dtype=np.float64)["W1"]
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
    return (f"the weights have mean {g.mean():.3g} and standard deviation {g.std():.3g}; expected mean 0 and "
            f"sqrt(2 / {n_in}) = {np.sqrt(2 / n_in):.3g}")


def he_init(fn) -> bool:
    """``fn(n_in, n_out, seed)``: He-initialized weights ``(n_in, n_out)``, Normal(0, sqrt(2 / n_in))."""
    cases = [("n_in=784, n_out=256", (784, 256, 0)), ("n_in=256, n_out=10", (256, 10, 1)),
             ("n_in=100, n_out=300", (100, 300, 2))]
    return _run("he_init", fn, cases, _properties(fn, _he_diagnose), "the statistics of nn.init_params(init=\"he\")")


def _net(sizes, n, seed, dtype=np.float64):
    """Parameters as nn.init_params makes them, with non-zero biases (a missing bias must show), and X."""
    params = _init_params(sizes, init="he", seed=seed, dtype=dtype)
    rng = _rng(seed + 100)
    for key in params:
        if key.startswith("b"):
            params[key] = rng.normal(0, 0.5, params[key].shape).astype(dtype)
    return params, rng.random((n, sizes[0])).astype(dtype)


def _forward_variant(bug):
    def fwd(params, X):
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
        Z1 = X @ W1 + (0 if bug in ("no b1", "no biases") else b1)
        A1 = Z1 if bug == "no ReLU" else np.maximum(Z1, 0)
        Z2 = A1 @ (W2.T if bug == "W2.T" else W2) + (0 if bug in ("no b2", "no biases") else b2)
        if bug == "logits":
            return Z2
        return _softmax(np.maximum(Z2, 0) if bug == "ReLU on output" else Z2)
    return fwd


def forward(fn) -> bool:
    """``fn(params, X)``: the output probabilities ``(n, 10)`` of a one-hidden-layer ReLU network."""
    cases = [(f"a 784-10-10 network and a batch of 6", _net([784, 10, 10], 6, 0)),
             (f"a 784-16-10 network and a batch of 1", _net([784, 16, 10], 1, 1)),
             (f"a 784-32-10 network in float32 and a batch of 8", _net([784, 32, 10], 8, 2, np.float32))]
    mistakes = [
        (_forward_variant("no biases"), "both biases are missing: Z1 = X @ W1 + b1 and Z2 = A1 @ W2 + b2"),
        (_forward_variant("no b1"), "the bias b1 is missing: Z1 = X @ W1 + b1"),
        (_forward_variant("no b2"), "the bias b2 is missing: Z2 = A1 @ W2 + b2"),
        (_forward_variant("no ReLU"), "the ReLU is missing: A1 = np.maximum(Z1, 0) before the second layer; "
                                      "without it the two layers collapse into one linear map"),
        (_forward_variant("W2.T"), "W2.T is used where W2 is needed: with samples in rows, Z2 = A1 @ W2 with "
                                   "W2 of shape (h, 10)"),
        (_forward_variant("logits"), "these are the logits Z2, not probabilities: finish with nn.softmax(Z2)"),
        (_forward_variant("ReLU on output"), "ReLU is applied to the output scores too: only the hidden layer "
                                             "gets ReLU; the output layer gets softmax(Z2)"),
    ]
    reference = lambda params, X: _forward(params, X)[0]
    return _run("forward", fn, cases, against(reference, mistakes), "nn.forward")


# --------------------------------------------------------------------------------------------------------
# Notebook 03: softmax and cross-entropy


def _softmax_naive(Z):
    return np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)


def softmax(fn) -> bool:
    """``fn(Z)``: row-wise probabilities ``(n, k)`` from logits ``(n, k)``, without overflow."""
    rng = _rng(3)
    cases = [("logits of shape (4, 10)", (rng.normal(0, 3, (4, 10)),)),
             ("a batch of 1 row", (rng.normal(0, 3, (1, 10)),)),
             ("logits of shape (6, 3)", (rng.normal(0, 3, (6, 3)),)),
             ("large logits (up to 1000)", (900 + rng.normal(0, 50, (5, 10)),)),
             ("rows far apart (one near +1000, one near -1000)",
              (np.array([[1000.0, 999.0, 990.0], [-1000.0, -1001.0, -1003.0]]),))]
    mistakes = [
        (_softmax_naive, "it overflows on large logits: np.exp(1000) is inf, and inf / inf is nan. Subtract "
                         "each row's maximum first, np.exp(Z - Z.max(axis=1, keepdims=True)): the "
                         "probabilities do not change"),
        (lambda Z: _softmax(Z.T).T, "it normalises over the wrong axis: the columns sum to 1, not the rows. "
                                    "Take max and sum with axis=1, keepdims=True"),
        (lambda Z: np.exp(Z) / np.exp(Z).sum(axis=0, keepdims=True),
         "it normalises over the wrong axis (axis=0: the columns sum to 1, not the rows), and it overflows on "
         "large logits. Use axis=1 and subtract each row's maximum"),
        (lambda Z: np.exp(Z - Z.max()) / np.exp(Z - Z.max()).sum(),
         "it divides by the sum over the whole batch (np.sum without axis=): only the total is 1, not each "
         "row. Use .sum(axis=1, keepdims=True)"),
        (lambda Z: np.exp(Z) / np.exp(Z).sum(), "it divides by the sum over the whole batch (np.sum without "
                                                "axis=) and overflows on large logits. Use .sum(axis=1, "
                                                "keepdims=True) and subtract each row's maximum"),
        (lambda Z: np.exp(Z - Z.max()) / np.exp(Z - Z.max()).sum(axis=1, keepdims=True),
         "it subtracts the maximum of the whole batch, Z.max(), not of each row: a row far below it "
         "underflows to 0 / 0 = nan. Use Z.max(axis=1, keepdims=True)"),
        (lambda Z: np.exp(Z - Z.max(axis=1)) / np.exp(Z - Z.max(axis=1)).sum(axis=1),
         "a row statistic without keepdims=True has shape (n,), which NumPy lines up with the columns, not "
         "the rows: use Z.max(axis=1, keepdims=True) and .sum(axis=1, keepdims=True)"),
        (lambda Z: np.exp(Z) / np.exp(Z).sum(axis=1),
         "a row sum without keepdims=True has shape (n,), which NumPy lines up with the columns, not the "
         "rows: use .sum(axis=1, keepdims=True)"),
        (lambda Z: (lambda E: E / E.sum(axis=1))(np.exp(Z - Z.max(axis=1, keepdims=True))),
         "the row sum without keepdims=True has shape (n,), which NumPy lines up with the columns, not the "
         "rows: use .sum(axis=1, keepdims=True)"),
    ]
    return _run("softmax", fn, cases, against(_softmax, mistakes), "nn.softmax")


def one_hot(fn) -> bool:
    """``fn(y, n_classes=10)``: labels ``(n,)`` -> one-hot matrix ``(n, n_classes)``."""
    cases = [("y = [3, 0, 9]", (np.array([3, 0, 9]),)), ("a batch of 1 label", (np.array([7]),)),
             ("labels without a 9 (y = [1, 1, 4, 0, 2])", (np.array([1, 1, 4, 0, 2]),)),
             ("12 labels", (_rng(4).integers(0, 10, 12),)),
             ("n_classes=3", (np.array([2, 0, 1, 2]), 3))]

    def cols(y, k=10):
        Y = np.zeros((len(y), k))
        Y[:, y] = 1
        return Y

    mistakes = [
        (lambda y, k=10: _one_hot(y, k).T, "shapes transposed: Y must be (n, n_classes), one row per label"),
        (cols, "Y[:, y] = 1 sets whole columns: set one entry per row, Y[np.arange(n), y] = 1"),
        (lambda y, k=10: np.eye(y.max() + 1)[y], "the width comes from the largest label: a batch without a 9 "
                                                 "gets fewer columns. Use n_classes: np.eye(n_classes)[y]"),
    ]
    return _run("one_hot", fn, cases, against(lambda y, k=10: _one_hot(y, k), mistakes), "nn.one_hot")


def _ce_case(n, k, seed):
    rng = _rng(seed)
    return _softmax(rng.normal(0, 2, (n, k))), rng.integers(0, k, n)


def cross_entropy(fn) -> bool:
    """``fn(probs, y)``: the mean cross-entropy, a float, of probabilities ``(n, k)`` and labels ``(n,)``."""
    cases = [("5 samples, 10 classes", _ce_case(5, 10, 5)), ("a batch of 1", _ce_case(1, 10, 6)),
             ("8 samples, 3 classes", _ce_case(8, 3, 7))]
    pick = lambda P, y: P[np.arange(len(y)), y]
    mistakes = [
        (lambda P, y: -np.sum(np.log(pick(P, y))), "the losses are summed, not averaged: divide by the number "
                                                   "of samples (np.mean), or the loss and the step size grow "
                                                   "with the batch size"),
        (lambda P, y: -np.log(pick(P, y)), "it returns one loss per sample: average them into one number"),
        (lambda P, y: -np.mean(_one_hot(y, P.shape[1]) * np.log(P)),
         "it averages over all n * k entries of Y * log(P), which divides by k too: sum over the classes, "
         "average over the samples"),
        (lambda P, y: -np.mean(np.log(P[:, y])), "P[:, y] picks whole columns (an n x n block): pick one entry "
                                                 "per row, P[np.arange(n), y]"),
        (lambda P, y: np.mean(np.log(pick(P, y))), "the sign is wrong: the loss is MINUS the log-probability "
                                                   "of the right class, so it is >= 0"),
        (lambda P, y: -np.mean(np.log(P)), "it averages the log of every probability: only the probability "
                                           "of the correct class counts, P[np.arange(n), y]"),
        (lambda P, y: np.mean(-np.log(P[:, 0])), "it uses the first column instead of the correct class: "
                                                 "P[np.arange(n), y]"),
    ]
    return _run("cross_entropy", fn, cases, against(_cross_entropy, mistakes), "nn.cross_entropy")


# --------------------------------------------------------------------------------------------------------
# Notebook 04: backpropagation


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


# --------------------------------------------------------------------------------------------------------
# Notebook 06: training


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


# --------------------------------------------------------------------------------------------------------
# Notebook 07: evaluation


def confusion_matrix(fn) -> bool:
    """``fn(y_true, y_pred, n_classes=10)``: ``C[i, j]`` = number of samples of class i predicted as j."""
    rng = _rng(12)
    cases = [("50 random labels", (rng.integers(0, 10, 50), rng.integers(0, 10, 50))),
             ("the same (true, predicted) pair 3 times", (np.array([3, 3, 3, 1]), np.array([5, 5, 5, 1]))),
             ("labels without a 9", (np.array([0, 1, 2, 2, 8]), np.array([0, 2, 2, 1, 8]))),
             ("a batch of 1", (np.array([4]), np.array([7])))]

    def fancy(t, p, k=10):
        C = np.zeros((k, k), dtype=int)
        C[t, p] += 1
        return C

    def from_labels(t, p, k=10):
        k = max(t.max(), p.max()) + 1
        return _confusion_matrix(t, p, k)

    mistakes = [
        (lambda t, p, k=10: _confusion_matrix(t, p, k).T, "rows and columns are swapped: C[i, j] counts "
                                                           "TRUE class i predicted as j, C[y_true, y_pred]"),
        (fancy, "C[y_true, y_pred] += 1 counts each (true, predicted) pair once however often it occurs "
                "(NumPy's fancy indexing does not add up repeats): use np.add.at(C, (y_true, y_pred), 1) or "
                "a loop"),
        (from_labels, "the size comes from the labels present: a batch without a 9 gives a smaller matrix. "
                      "Use n_classes x n_classes"),
    ]
    return _run("confusion_matrix", fn, cases, against(lambda t, p, k=10: _confusion_matrix(t, p, k), mistakes),
                "nn.confusion_matrix")


def precision_recall(fn) -> bool:
    """``fn(C)`` -> ``(precision, recall)``, per class, from a confusion matrix (0 where a class is empty)."""
    rng = _rng(13)
    full = _confusion_matrix(rng.integers(0, 10, 200), rng.integers(0, 10, 200))
    never = _confusion_matrix(np.array([0, 1, 1, 2, 3, 3, 4]), np.array([0, 1, 0, 2, 3, 1, 4]))  # 5-9 empty
    cases = [("a 10 x 10 matrix", (full,)), ("3 classes", (np.array([[5, 1, 0], [2, 7, 1], [0, 3, 4]]),)),
             ("digits that never occur (empty rows and columns)", (never,))]

    def nan_variant(C):
        tp = np.diag(C).astype(float)
        return tp / C.sum(axis=0), tp / C.sum(axis=1)

    mistakes = [
        (lambda C: _precision_recall(C)[::-1], "precision and recall are swapped: precision divides by the "
                                                "column sum (all images called k), recall by the row sum "
                                                "(all images that are k)"),
        (lambda C: (np.diag(C) / C.sum(axis=1), np.diag(C) / C.sum(axis=1)),
         "both divide by the row sums: precision divides by the column sums, C.sum(axis=0)"),
        (lambda C: (np.diag(C) / C.sum(axis=0), np.diag(C) / C.sum(axis=0)),
         "both divide by the column sums: recall divides by the row sums, C.sum(axis=1)"),
        (lambda C: (np.diag(C) / C.sum(), np.diag(C) / C.sum()), "it divides by the total count: precision "
                                                                 "divides by each column's sum, recall by "
                                                                 "each row's sum"),
        (nan_variant, "a class that is never predicted (or never occurs) gives 0 / 0 = nan: report 0 there, "
                      "e.g. np.where(C.sum(axis=0) > 0, tp / C.sum(axis=0), 0.0) under np.errstate"),
    ]
    return _run("precision_recall", fn, cases, against(_precision_recall, mistakes), "nn.precision_recall")


def most_confident_mistakes(fn) -> bool:
    """``fn(y_true, probs, k)``: indices of the k wrong predictions with the highest probability, highest first."""
    def case(n, seed, k):
        rng = _rng(seed)
        return rng.integers(0, 10, n), _softmax(rng.normal(0, 3, (n, 10))), k

    cases = [("40 samples, k=5", case(40, 14, 5)), ("200 samples, k=12", case(200, 15, 12)),
             ("6 samples, k=3", case(6, 16, 3))]

    def variant(kind):
        def mcm(y, P, k):
            pred = P.argmax(axis=1)
            wrong = np.flatnonzero(pred != y) if kind != "all" else np.arange(len(y))
            conf = P[wrong, y[wrong]] if kind == "true class" else P[wrong, pred[wrong]]
            order = np.argsort(conf if kind == "ascending" else -conf, kind="stable")[:k]
            return order if kind == "positions" else wrong[order]
        return mcm

    mistakes = [
        (variant("ascending"), "these are the LEAST confident mistakes: sort by minus the confidence, "
                               "np.argsort(-confidence), to get the most confident first"),
        (variant("all"), "correct predictions are ranked too: keep only the mistakes, pred != y_true"),
        (variant("true class"), "it ranks by the probability of the true class: rank by the probability the "
                                "network gave its (wrong) answer, probs[wrong, pred[wrong]]"),
        (variant("positions"), "these are positions in the list of mistakes, not indices of samples: "
                               "return wrong[order]"),
    ]
    return _run("most_confident_mistakes", fn, cases, against(_mcm, mistakes), "nn.most_confident_mistakes")
