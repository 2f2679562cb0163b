"""The checkers of notebook 11: convolutional networks (a convolution's forward pass, im2col, a convolution's
backward pass, max pooling's backward pass, and the backward step from the dense layer back to the last
convolution). Arrays are NCHW: ``X (n, C, H, W)``, kernels ``W (F, C, R, R)``, bias ``b (F,)``,
``Z (n, F, H_out, W_out)`` with ``H_out = floor((H + 2P - R) / S) + 1``.

The known mistakes are written as a learner writes them (loops over the output positions, ``np.pad``, slices), so
that a learner's exception is matched by the variant that raises the same one. A result that several mistakes
explain on one case is run on the other cases too, and only the mistakes that agree with it everywhere are
named: an output size alone never decides.
"""

from __future__ import annotations

import re

import numpy as np

from ._core import SOLVED_BY, _call, _describe, _difference, _quiet, _rng, _run, _same


#: The package's functions that do an exercise of notebook 11 for the learner: checker -> (their names, what
#: the exercise asks the learner to write). A learner's function that calls one is refused with that reason,
#: and the grader refuses the same names (tools/grade.py). bridge_backward may call nn.maxpool_forward and
#: nn.maxpool_backward: its exercise says so.
SOLVED_BY.update({
    "conv_forward": ("nn.conv.conv2d_forward nn.conv.im2col nn.autograd.im2col nn.layers.Conv2D",
                     "the convolution from its formula, window by window"),
    "im2col": ("nn.conv.im2col nn.autograd.im2col nn.conv.conv2d_forward nn.layers.Conv2D",
               "the loop over the kernel offsets that cuts the windows out"),     # conv2d_forward's cache holds them
    "conv_backward": ("nn.conv.conv2d_backward nn.conv.col2im nn.conv.im2col nn.autograd.im2col nn.layers.Conv2D",
                      "the three gradients you derived"),              # col2im gives dX, im2col half of dW
    "maxpool_backward": ("nn.conv.maxpool_backward nn.conv.maxpool_forward nn.layers.MaxPool",
                         "the step that finds each window's maximum and sends it its dA"),   # the forward's cache
                                                                                            # holds the maxima
})


# --- the shared machinery: named items, mistakes decided over every case --------------------------------------

def _items_difference(got, expected, names):
    """What differs between ``got`` and the tuple ``expected``, naming the items (``dX``, ``dW``, ``db``)."""
    if not isinstance(got, (tuple, list)) or len(got) != len(expected):
        return f"returned {_describe(got)}; expected a tuple ({', '.join(names)})"
    wrong = [name for name, g, e in zip(names, got, expected) if _difference(g, e) is not None]
    if not wrong:
        return None
    right = [name for name in names if name not in wrong]
    first = names.index(wrong[0])
    text = _difference(got[first], expected[first], f"in {wrong[0]}")
    also = f"{', '.join(wrong[1:])} too" if len(wrong) > 1 else ""
    fine = f"{' and '.join(right)} {'is' if len(right) == 1 else 'are'} right" if right else ""
    return text + (f" ({'; '.join(p for p in (also, fine) if p)})" if also or fine else "")


def _outcome(fn, args, quiet=True):
    """``("ok", result)`` or ``("error", exception)`` of one call."""
    try:
        return "ok", (_quiet(fn, args) if quiet else _call(fn, args))
    except Exception as err:
        return "error", err


def _broadcast_shapes(err):
    """The shapes a NumPy broadcast error names, in any order (``a * b`` and ``b * a`` say them swapped)."""
    return sorted(re.findall(r"\(([\d, ]*)\)", str(err))) if "could not be broadcast" in str(err) else None


def _agrees(a, b) -> bool:
    """Do two outcomes agree: the same result, or the same exception (a broadcast error naming the same shapes)?"""
    if a[0] != b[0]:
        return False
    if a[0] == "error":
        if type(a[1]) is not type(b[1]):
            return False
        shapes = _broadcast_shapes(a[1])
        return str(a[1]) == str(b[1]) or (shapes is not None and shapes == _broadcast_shapes(b[1]))
    return _same(a[1], b[1])


def _over_cases(fn, cases, reference, mistakes, names=None, first=None):
    """A diagnose function for ``_run``. On a wrong result (or an exception) of one case, the mistakes whose
    variant gives the same (or raises the same) on that case are candidates; when several differ in message,
    ``fn`` is run on the other cases too and only the mistakes that agree with it on every case are kept.
    ``first(got, args)`` may name a problem before any of this (a shape that says it all)."""

    def diagnose(got, args, error=None):
        if error is None and first is not None:
            problem = first(got, args)
            if problem:
                return problem
        problem = None
        if error is None:
            expected = _quiet(reference, args)
            problem = (_items_difference(got, expected, names) if names else _difference(got, expected))
            if problem is None:
                return None
        mine = ("error", error) if error is not None else ("ok", got)
        candidates = [(variant, message) for variant, message in mistakes if _agrees(mine, _outcome(variant, args))]
        if len({m for _, m in candidates}) > 1:
            others = [a for _, a in cases if a is not args]
            for other in others:
                learner = _outcome(fn, other, quiet=False)
                kept = [(v, m) for v, m in candidates if _agrees(learner, _outcome(v, other))]
                candidates = kept or candidates
                if len({m for _, m in candidates}) <= 1:
                    break
        messages = list(dict.fromkeys(m for _, m in candidates))
        if len(messages) == 1:
            return messages[0]
        if len(messages) > 1:
            return ("your result fits several mistakes, and the cases cannot tell them apart: "
                    + "; or ".join(messages))
        return problem

    return diagnose


def _pad(X, pad):
    return np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def _sizes(H, Wd, R, stride, pad):
    return (H + 2 * pad - R) // stride + 1, (Wd + 2 * pad - R) // stride + 1


# --- the references, written from the formulas (not the package's code) ---------------------------------------

def _im2col_ref(X, R, stride, pad):
    """``cols`` (C R R, n H_out W_out): row (c, r, s), column (i, y, x) holds Xp[i, c, S y + r, S x + s]."""
    n, C, H, Wd = X.shape
    Ho, Wo = _sizes(H, Wd, R, stride, pad)
    Xp = _pad(X, pad)
    cols = np.empty((C, R, R, n, Ho, Wo), dtype=X.dtype)
    for r in range(R):
        for s in range(R):
            cols[:, r, s] = Xp[:, :, r : r + stride * Ho : stride, s : s + stride * Wo : stride].transpose(1, 0, 2, 3)
    return cols.reshape(C * R * R, n * Ho * Wo)


def _conv(X, W, b, stride, pad):
    n, C, H, Wd = X.shape
    F, _, R, _ = W.shape
    Ho, Wo = _sizes(H, Wd, R, stride, pad)
    Z = W.reshape(F, -1) @ _im2col_ref(X, R, stride, pad) + b[:, None]
    return Z.reshape(F, n, Ho, Wo).transpose(1, 0, 2, 3)


def _conv_backward(dZ, X, W, stride, pad):
    n, C, H, Wd = X.shape
    F, _, R, _ = W.shape
    Ho, Wo = dZ.shape[2:]
    Xp = _pad(X, pad)
    dXp, dW = np.zeros(Xp.shape), np.zeros(W.shape)
    for r in range(R):
        for s in range(R):
            rows, cols = slice(r, r + stride * Ho, stride), slice(s, s + stride * Wo, stride)
            dW[:, :, r, s] = np.einsum("nfyx,ncyx->fc", dZ, Xp[:, :, rows, cols])
            dXp[:, :, rows, cols] += np.einsum("nfyx,fc->ncyx", dZ, W[:, :, r, s])
    return dXp[:, :, pad : pad + H, pad : pad + Wd], dW, dZ.sum(axis=(0, 2, 3))


def _maxpool(X, size):
    n, C, H, Wd = X.shape
    Ho, Wo = H // size, Wd // size
    return X[:, :, : Ho * size, : Wo * size].reshape(n, C, Ho, size, Wo, size).max(axis=(3, 5))


def _maxpool_backward(dA, X, size, rule="first"):
    """Each window's dA to its maximum: the first in reading order (``"first"``, as argmax), the ``"last"``,
    split evenly among the tied maxima (``"split"``), or, wrongly, the whole dA to every tied one (``"all"``).
    Rows and columns beyond the last whole window get 0."""
    n, C, H, Wd = X.shape
    Ho, Wo = H // size, Wd // size
    blocks = X[:, :, : Ho * size, : Wo * size].reshape(n, C, Ho, size, Wo, size).transpose(0, 1, 2, 4, 3, 5)
    windows = blocks.reshape(n, C, Ho, Wo, size * size)
    is_max = windows == windows.max(axis=-1, keepdims=True)
    if rule == "first":
        share = np.eye(size * size)[windows.argmax(axis=-1)]
    elif rule == "last":
        share = np.eye(size * size)[size * size - 1 - windows[..., ::-1].argmax(axis=-1)]
    elif rule == "split":
        share = is_max / is_max.sum(axis=-1, keepdims=True)
    else:
        share = is_max.astype(float)
    g = (share * dA[..., None]).reshape(n, C, Ho, Wo, size, size).transpose(0, 1, 2, 4, 3, 5)
    dX = np.zeros(X.shape)
    dX[:, :, : Ho * size, : Wo * size] = g.reshape(n, C, Ho * size, Wo * size)
    return dX


# --- conv_forward: the mistakes as a learner's loops make them --------------------------------------------------

def _loop_conv(size="floor", pad_mode="both", step=None, flip=False, transpose=False, reduce="sum",
               channel0=False, batch=False, bias="once", relu=False, swap=False):
    """The loops of a learner's ``conv_forward`` with one mistake: the output size's formula, the padding, the
    windows' step, the kernel read flipped or transposed, a mean, one channel, the whole batch summed, the bias."""
    def conv(X, W, b, stride, pad):
        n, C, H, Wd = X.shape
        F, _, R, _ = W.shape
        P = 0 if pad_mode == "none" else pad
        rule = {"floor": lambda span: span // stride + 1, "ceil": lambda span: -(-span // stride) + 1,
                "round": lambda span: round(span / stride) + 1, "plus one inside": lambda span: (span + 1) // stride,
                "no +1": lambda span: span // stride,
                "one side": lambda span: (span - pad) // stride + 1}[size]
        Ho, Wo = rule(H + 2 * P - R), rule(Wd + 2 * P - R)
        if pad_mode == "one side":
            Xp = np.pad(X, ((0, 0), (0, 0), (pad, 0), (pad, 0)))
        elif pad_mode == "all axes":
            Xp = np.pad(X, pad)
        else:
            Xp = _pad(X, P)
        K = W[:, :, ::-1, ::-1] if flip else (W.transpose(0, 1, 3, 2) if transpose else W)
        S = stride if step is None else step
        Z = np.zeros((n, F, Ho, Wo))
        for i in range(n):
            for f in range(F):
                for y in range(Ho):
                    for x in range(Wo):
                        if batch:
                            window = Xp[:, :, S * y : S * y + R, S * x : S * x + R]
                        elif channel0:
                            window = Xp[i, 0, S * y : S * y + R, S * x : S * x + R]
                        else:
                            window = Xp[i, :, S * y : S * y + R, S * x : S * x + R]
                        kernel = K[f, 0] if channel0 else K[f]
                        total = window * kernel + (b[f] if bias == "inside" else 0)
                        Z[i, f, y, x] = np.mean(total) if reduce == "mean" else np.sum(total)
        if bias == "once":
            Z += b[None, :, None, None]
        elif bias == "last axis":
            Z += b
        elif bias == "sum":
            Z += b.sum()
        if relu:
            Z = np.maximum(Z, 0)
        return Z.transpose(0, 1, 3, 2) if swap else Z
    return conv


def _conv_case(n, C, H, Wd, F, R, stride, pad, seed):
    rng = _rng(seed)
    return (rng.normal(0, 1, (n, C, H, Wd)), rng.normal(0, 1, (F, C, R, R)), rng.normal(0, 1, F), stride, pad)


def _label(n, C, H, Wd, F, R, stride, pad):
    note = "" if (H + 2 * pad - R) % stride == 0 and (Wd + 2 * pad - R) % stride == 0 else \
        f" (S does not divide H + 2P - R = {H + 2 * pad - R}: floor)"
    return (f"{n} image{'s' * (n > 1)} of {C} channel{'s' * (C > 1)}, {H}x{Wd} pixels, {F} filters {R}x{R}, "
            f"stride {stride}, padding {pad}{note}")


CONV_SHAPES = [(2, 1, 6, 6, 4, 3, 1, 0),       # W_out = F = 4: a bias added along the last axis shows in values
               (3, 2, 7, 5, 3, 3, 1, 1),       # padding 1, non-square, two channels
               (2, 2, 8, 7, 3, 3, 2, 1),       # stride 2 that does not divide 7 (rows) but divides 6 (columns)
               (3, 3, 9, 7, 2, 3, 2, 1),       # stride 2: overlapping windows
               (2, 2, 6, 7, 2, 5, 1, 2),       # a 5x5 kernel, padding 2 (the size kept)
               (1, 3, 10, 11, 2, 3, 3, 1),     # stride 3, 11 + 2 - 3 = 10 not a multiple of 3, a batch of one
               (1, 2, 8, 6, 3, 2, 2, 2)]       # an even kernel, padding 2


def _conv_cases(seed):
    return [(_label(*s), _conv_case(*s, seed + i)) for i, s in enumerate(CONV_SHAPES)]


FORMULA = "H_out = floor((H_in + 2P - R) / S) + 1, in Python (H_in + 2 * P - R) // S + 1"
CROSS_CORRELATION = ("Z[i, f, y, x] = sum over the channels c and the offsets r, s of Xp[i, c, S y + r, S x + s] "
                     "W[f, c, r, s] + b[f]")
UNSTRIDED = ("the windows do not move by the stride: output (y, x) reads the window whose top-left corner is at "
             "row y, column x of the padded input, but with stride S it starts at row S y, column S x")

CONV_MISTAKES = [
    (_loop_conv(flip=True),
     "the kernel is flipped: this is the convolution of mathematics, which reads the kernel backwards. A "
     "convolutional layer computes the cross-correlation (as every framework does), the kernel in its own "
     f"order: {CROSS_CORRELATION}"),
    (_loop_conv(transpose=True),
     "the kernel is transposed: W[f, c, r, s] has the row offset r first and the column offset s second, as the "
     "window Xp[i, c, S y + r, S x + s] has"),
    (_loop_conv(bias=None), "the bias is missing: each filter f adds its b[f] to every output position of its map"),
    (_loop_conv(bias="inside"),
     "the bias is added once per product, inside the sum over the window, so it counts C R R times: each "
     "output gets b[f] once, after the sum over the channels and offsets"),
    (_loop_conv(bias="last axis"),
     "the bias is added along the last axis (the output's columns): Z is (n, F, H_out, W_out) and b is (F,), so "
     "b[f] belongs to the filter axis, 1; give b the shape (1, F, 1, 1) to add it to every position of map f"),
    (_loop_conv(bias="sum"), "every filter gets the sum of all the biases: filter f adds only its own b[f]"),
    (_loop_conv(swap=True),
     "height and width are swapped: Z is (n, F, H_out, W_out), rows before columns, as X is (n, C, H, W)"),
    (_loop_conv(reduce="mean"),
     "the window's products are averaged (np.mean) where the formula sums them: the output is C R R times too small"),
    (_loop_conv(channel0=True),
     "only the first channel is read: the window takes all C channels, Xp[i, :, ...], and filter f has a kernel for "
     "each of them, W[f] (C, R, R); the sum runs over the channels too"),
    (_loop_conv(batch=True),
     "every output sums the window over the whole batch: the window is Xp[i, :, ...] of one image i, not "
     "Xp[:, :, ...] of all of them"),
    (_loop_conv(relu=True), "a ReLU is applied: the layer returns Z itself; the activation is a layer of its own"),
    (_loop_conv(step=1), UNSTRIDED + ". The output size is right; the windows' positions are not"),
    (_loop_conv(pad_mode="none"),
     f"padding is ignored: the input is not padded and the output size has no 2P. With padding P the input gets P "
     f"rows and columns of zeros on every side before the kernel slides over it: {FORMULA}"),
    (_loop_conv(pad_mode="one side"),
     "the padding is on one side only: np.pad(X, ((0, 0), (0, 0), (P, 0), (P, 0))) puts P zeros above and left "
     "but none below and right, so the last windows run out of the image. Pad both sides of the two pixel axes: "
     "(P, P)"),
    (_loop_conv(pad_mode="one side", size="one side"),
     "the padding is on one side only, and the output size counts it once (H_in + P - R): pad both sides of the "
     f"two pixel axes, (P, P), and {FORMULA}"),
    (_loop_conv(pad_mode="all axes"),
     "np.pad(X, P) pads every axis, the samples and the channels too: give one (before, after) pair per axis, "
     "(0, 0) for the first two, np.pad(X, ((0, 0), (0, 0), (P, P), (P, P)))"),
    (_loop_conv(size="ceil"),
     f"the output size is rounded up (ceil): when S does not divide H_in + 2P - R, the last window would run past "
     f"the padded input. The frameworks count only whole windows: {FORMULA}; the last rows are never read"),
    (_loop_conv(size="round"),
     f"the output size is rounded (round) where it must be floored: only whole windows count, {FORMULA}"),
    (_loop_conv(size="plus one inside"),
     f"the + 1 is inside the division: (H_in + 2P - R + 1) // S counts the places a window fits for S = 1 only. "
     f"One window at 0, then one every S pixels up to H_in + 2P - R: {FORMULA}"),
    (_loop_conv(size="no +1"),
     f"the output size is one short: (H_in + 2P - R) // S counts the steps between the first and the last "
     f"window, not the windows. Add the first one: {FORMULA}"),
]


def _conv_forward_first(got, args):
    """A size that is the stride ignored (which the loop variants cannot give without another mistake)."""
    X, W, _, stride, pad = args
    shape = np.shape(got) if isinstance(got, np.ndarray) else None
    expected = _sizes(*X.shape[2:], W.shape[2], stride, pad)
    if shape and len(shape) == 4 and shape[:2] == (len(X), len(W)) and shape[2:] != expected and stride > 1:
        if shape[2:] == _sizes(*X.shape[2:], W.shape[2], 1, pad):
            full = _conv(X, W, args[2], 1, pad)
            if np.allclose(got, full, rtol=1e-4, atol=1e-6):
                return (f"the stride is ignored: the output {shape[2:]} has a window at every pixel. The kernel moves "
                        f"S = {stride} pixels per step: {FORMULA}")
    return None


def conv_forward(fn) -> bool:
    """``fn(X, W, b, stride, pad) -> Z``: the cross-correlation of ``X (n, C, H, W)`` with the kernels ``W (F, C,
    R, R)``, plus one bias per filter, ``Z (n, F, H_out, W_out)``, ``H_out = floor((H + 2P - R) / S) + 1``."""
    cases = _conv_cases(0)
    named = _over_cases(fn, cases, _conv, CONV_MISTAKES, first=_conv_forward_first)

    def diagnose(got, args, error=None):
        problem = named(got, args, error)
        shapes = _broadcast_shapes(error) if error is not None and problem is None else None
        if shapes and len(shapes) == 2:
            R = args[1].shape[2]
            window = [int(v) for v in re.findall(r"\d+", shapes[0] if shapes[1].endswith(f"{R},{R}") else shapes[1])]
            if window and (len(window) < 2 or min(window[-2:]) < R):
                return (f"a window runs past the padded input: it has only {window[-2:]} pixels where the kernel "
                        f"has {R}x{R}, so your output has more positions than fit. Only whole windows count: "
                        f"{FORMULA}")
        return problem

    return _run("conv_forward", fn, cases, diagnose, "a convolution written from its formula")


# --- im2col -----------------------------------------------------------------------------------------------------

def _im2col_variant(order="c r s", step=None, use_pad=True, samples="first", transpose=False, into=False):
    """A learner's loop over the windows, each flattened into a column; ``into``: written into a cols array
    allocated with the right shape (the error of a wrong window then names that shape)."""
    def im2col(X, R, stride, pad):
        n, C, H, Wd = X.shape
        Ho, Wo = _sizes(H, Wd, R, stride, pad)
        Xp = _pad(X, pad) if use_pad else X
        S = stride if step is None else step
        columns = []
        loops = [(i, y, x) for i in range(n) for y in range(Ho) for x in range(Wo)]
        if samples == "last":
            loops = [(i, y, x) for y in range(Ho) for x in range(Wo) for i in range(n)]
        for i, y, x in loops:
            window = Xp[i, :, S * y : S * y + R, S * x : S * x + R]                     # (C, R, R)
            if order == "r s c":
                window = window.transpose(1, 2, 0)
            elif order == "c s r":
                window = window.transpose(0, 2, 1)
            columns.append(window.reshape(-1))
        if into:
            cols = np.zeros((C * R * R, n * Ho * Wo))
            for k, column in enumerate(columns):
                cols[:, k] = column
        else:
            cols = np.stack(columns, axis=1)
        return cols.T if transpose else cols
    return im2col


def _im2col_cases():
    shapes = [(2, 1, 4, 4, 3, 1, 0), (2, 3, 5, 6, 3, 1, 1), (2, 2, 7, 6, 3, 2, 1), (1, 3, 8, 9, 2, 2, 0),
              (3, 2, 9, 7, 3, 2, 0)]
    cases = []
    for k, (n, C, H, Wd, R, S, P) in enumerate(shapes):
        X = _rng(20 + k).normal(0, 1, (n, C, H, Wd))
        label = (f"{n} image{'s' * (n > 1)} of {C} channel{'s' * (C > 1)}, {H}x{Wd} pixels, windows {R}x{R}, "
                 f"stride {S}, padding {P}")
        cases.append((label, (X, R, S, P)))
    return cases


IM2COL_MISTAKES = [
    (_im2col_variant(step=1),
     "the windows are read at the wrong stride: column (i, y, x) holds the window whose top-left corner is at row "
     "S y, column S x of the padded input, one every S pixels, not one every pixel"),
    (_im2col_variant(order="r s c"),
     "the channels are in the wrong order of rows: row (c, r, s) of cols must meet W[f, c, r, s] in "
     "W.reshape(F, C R R), whose entries run channel first, then row offset, then column offset. Your rows run "
     "(r, s, c): the window (C, R, R) flattened as it is, window.reshape(-1), gives the right order"),
    (_im2col_variant(order="c s r"),
     "the offsets inside the window are transposed: row (c, r, s) holds the pixel at row offset r and column "
     "offset s, flattened row by row, as W[f].reshape(-1) is"),
    *[(_im2col_variant(use_pad=False, into=into),
       "padding is forgotten: the windows are cut from X itself. Pad first, P zeros on every side of the two pixel "
       "axes, then cut the windows from the padded Xp") for into in (False, True)],
    (_im2col_variant(step=1, into=True),
     "the windows are read at the wrong stride: column (i, y, x) holds the window whose top-left corner is at row "
     "S y, column S x of the padded input, one every S pixels, not one every pixel"),
    (_im2col_variant(samples="last"),
     "the columns are in the wrong order: column i H_out W_out + y W_out + x holds window (y, x) of image i, the "
     "samples first, then the rows, then the columns, so that Z_mat.reshape(F, n, H_out, W_out) reads them back"),
    (_im2col_variant(transpose=True),
     "the result is transposed: cols is (C R R, n H_out W_out), one window per column, so that the product is "
     "W.reshape(F, -1) @ cols"),
]


def im2col(fn) -> bool:
    """``fn(X, R, stride, pad) -> cols``: every R x R window of the padded images ``X (n, C, H, W)`` as a column of
    ``cols (C R R, n H_out W_out)``; row ``(c, r, s)`` of column ``(i, y, x)`` holds ``Xp[i, c, S y + r, S x + s]``,
    the rows in the order of ``W.reshape(F, C R R)``, the columns sample by sample, row by row."""
    cases = _im2col_cases()
    diagnose = _over_cases(fn, cases, _im2col_ref, IM2COL_MISTAKES)
    return _run("im2col", fn, cases, diagnose, "the windows cut out one by one")


# --- conv_backward -----------------------------------------------------------------------------------------------

def _loop_backward(dx_op="add", flip=False, dw="sum", db_axes=(0, 2, 3), crop="right", step=None, dw_from="Xp",
                   order="dX dW db", dx_scale=1.0):
    def backward(dZ, X, W, stride, pad):
        n, C, H, Wd = X.shape
        F, _, R, _ = W.shape
        Xp = _pad(X, pad)
        source = X if dw_from == "X" else Xp
        dXp, dW = np.zeros(Xp.shape), np.zeros(W.shape)
        per_sample = np.zeros((n, *W.shape))
        K = W[:, :, ::-1, ::-1] if flip else W
        S = stride if step is None else step
        for i in range(n):
            for f in range(F):
                for y in range(dZ.shape[2]):
                    for x in range(dZ.shape[3]):
                        rows, cols = slice(S * y, S * y + R), slice(S * x, S * x + R)
                        if dx_op == "add":
                            dXp[i, :, rows, cols] += dZ[i, f, y, x] * K[f]
                        else:
                            dXp[i, :, rows, cols] = dZ[i, f, y, x] * K[f]
                        g = dZ[i, f, y, x] * source[i, :, rows, cols]
                        if dw == "assign":
                            dW[f] = g
                        elif dw != "last" or i == n - 1:
                            dW[f] += g
                        per_sample[i, f] += g
        if dw == "per sample":
            dW = per_sample
        elif dw == "mean":
            dW = dW / n
        if crop == "right":
            dX = dXp[:, :, pad : pad + H, pad : pad + Wd]
        elif crop == "-pad":
            dX = dXp[:, :, pad:-pad, pad:-pad]
        elif crop == "front":
            dX = dXp[:, :, pad:, pad:]
        else:
            dX = dXp
        dX = dX * dx_scale
        db = dZ.sum(axis=db_axes) if db_axes != "mean" else dZ.sum(axis=(0, 2, 3)) / n
        out = {"dX": dX, "dW": dW, "db": db}
        return tuple(out[k] for k in order.split())
    return backward


def _db_over(axes):
    def variant(dZ, X, W, stride, pad):
        dX, dW, _ = _conv_backward(dZ, X, W, stride, pad)
        return dX, dW, dZ.sum(axis=axes)
    return variant


DB_AXES = ("the gradient db is summed over the wrong axes: db[f] sums dZ (n, F, H_out, W_out) over the samples and the positions, "
           "axes 0, 2 and 3, and keeps the filters, axis 1")


def _scaled(item, by_n):
    def variant(dZ, X, W, stride, pad):
        grads = list(_conv_backward(dZ, X, W, stride, pad))
        grads[item] = grads[item] / len(X) if by_n else grads[item]
        return tuple(grads)
    return variant


def _backward_case(shape, seed):
    X, W, b, stride, pad = _conv_case(*shape, seed)
    Ho, Wo = _sizes(*X.shape[2:], W.shape[2], stride, pad)
    return _rng(seed + 50).normal(0, 1, (len(X), len(W), Ho, Wo)), X, W, stride, pad


def _backward_cases():
    return [(_label(*s), _backward_case(s, 10 + i)) for i, s in enumerate(CONV_SHAPES)]


ASSIGNED = ("overlapping windows are assigned (=) instead of added: a pixel of X lies in several windows when the "
            "stride is smaller than the kernel, and it receives a gradient from each of them. Every window's "
            "dZ[i, f, y, x] W[f] must be added into dX, not written over what the windows before it put there")

BACKWARD_MISTAKES = [
    (_loop_backward(dx_op="assign"), ASSIGNED),
    (_loop_backward(dx_op="assign", dw="assign"),
     ASSIGNED + "; dW too: each filter's gradient collects dZ[i, f, y, x] times the window from every position"),
    (_loop_backward(dw="assign"),
     "dW is assigned (=) instead of added: filter f meets every window of every image, and its gradient is the "
     "sum of dZ[i, f, y, x] times the window over all of them, not the last one's share"),
    (_loop_backward(flip=True),
     "dX is the correlation of dZ with the kernel flipped: adding each window's dZ[i, f, y, x] W[f] back where the "
     "window was already reads the kernel backwards (the flip of the full convolution comes by itself); flip it "
     "again and it is read the wrong way round"),
    (_loop_backward(dw="last"),
     "dW holds the last sample's gradient only: each image's contribution must be added, dW sums over the "
     "samples and over every output position"),
    (_loop_backward(dw="mean"),
     "dW is divided by n: dZ already holds the 1/n of the mean loss, so dW is a plain sum over the samples"),
    (_loop_backward(db_axes="mean"),
     "the gradient db is divided by n: dZ already holds the 1/n of the mean loss, so db is a plain sum over the samples and "
     "positions"),
    (_scaled(0, True),
     "dX is divided by n: dZ already holds the 1/n of the mean loss, and dX has one row per sample, each its own "
     "image's gradient"),
    (_db_over((0, 1, 2)), DB_AXES),
    (_db_over((0, 1, 3)), DB_AXES),
    (_loop_backward(step=1),
     UNSTRIDED + " (in dW and dX alike: the windows of the backward pass are the forward pass's)"),
    (_loop_backward(dw_from="X"),
     "dW reads the windows of X where the padded input is needed: the forward pass multiplied W with the windows "
     "of Xp (X with P zeros on every side), so dW[f] collects dZ[i, f, y, x] times the window of Xp"),
    (_loop_backward(order="dW dX db"),
     "the gradients come back in the order (dW, dX, db); return (dX, dW, db)"),
    (_loop_backward(crop="front"),
     "dX keeps the padding's last rows and columns: dXp[:, :, P:, P:] cuts only the first P. Cut both borders, "
     "dXp[:, :, P:P + H, P:P + W]"),
]


def _backward_shapes(got, args):
    """A named problem with the shapes of (dX, dW, db), or None."""
    dZ, X, W, stride, pad = args
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return None
    try:
        dX, dW, db = (np.shape(g) for g in got)
    except (TypeError, ValueError):
        return None
    n, F = dZ.shape[:2]
    padded = (*X.shape[:2], X.shape[2] + 2 * pad, X.shape[3] + 2 * pad)
    if dX == W.shape and dW == X.shape and W.shape != X.shape:
        return "the gradients come back in the order (dW, dX, db); return (dX, dW, db)"
    if pad and dX == padded:
        return (f"dX has the shape of the padded input, {padded}: the padding's zeros are not part of X. Keep only "
                f"the inner part, without the P = {pad} rows and columns of each border")
    if pad == 0 and dX == (*X.shape[:2], 0, 0):
        return ("dX is empty: dXp[:, :, pad:-pad, pad:-pad] with pad = 0 is dXp[:, :, 0:0, 0:0], since -0 is 0. "
                "Cut with the end counted from the start: dXp[:, :, pad:pad + H, pad:pad + W]")
    if dW == (n, *W.shape):
        return (f"dW has one kernel gradient per sample, {dW}: every image uses the same kernels, so their "
                f"gradient is the sum over the samples (and the positions), of shape {W.shape}")
    if db in ((n, F), (n, F, *dZ.shape[2:])) and db != (F,):
        return (f"the gradient db is not summed over the batch, {db}: there is one bias per filter, used at every position of "
                f"every image, so db (F,) = dZ summed over the samples and the positions, axes 0, 2, 3")
    if db == (F, *dZ.shape[2:]):
        return (f"the gradient db is not summed over the positions, {db}: b[f] is added at every position of map f, so db[f] "
                f"sums dZ over the samples and all the positions, axes 0, 2 and 3")
    if db != (F,) and len(db) == 1:
        return f"{DB_AXES}: db has shape {db}, expected (F,) = ({F},)"
    return None


def conv_backward(fn) -> bool:
    """``fn(dZ, X, W, stride, pad) -> (dX, dW, db)``: the gradients of a convolution from ``dZ (n, F, H_out,
    W_out)``: ``db`` the sum of ``dZ``, ``dW`` the correlation of the padded input with ``dZ``, ``dX`` every
    window's ``dZ W`` added back where the window was (col2im), the padding cut off."""
    cases = _backward_cases()
    diagnose = _over_cases(fn, cases, _conv_backward, BACKWARD_MISTAKES, names=("dX", "dW", "db"),
                           first=_backward_shapes)
    return _run("conv_backward", fn, cases, diagnose, "the gradients derived in section 3")


# --- maxpool_backward -----------------------------------------------------------------------------------------

def _pool_case(n, C, H, Wd, size, seed, ties):
    """Inputs as after conv and ReLU: about half zeros when ``ties``, so many windows have a tied maximum."""
    rng = _rng(seed)
    X = rng.normal(0, 1, (n, C, H, Wd))
    X = np.maximum(X - 0.3, 0) if ties else X
    if ties:
        X[0, 0, :size, :size] = 0.7                                     # one window with tied non-zeros
        X[0, 0, size - 1, size - 1] = 0.2                               # the last entry not among them
    return rng.normal(0, 1, (n, C, H // size, Wd // size)), X, size


def _pool_loops(rule="first", step=None, swap=False, target="dX"):
    def backward(dA, X, size):
        n, C, H, Wd = X.shape
        dX = np.zeros(X.shape)
        S = size if step is None else step
        for i in range(n):
            for c in range(C):
                for y in range(H // size):
                    for x in range(Wd // size):
                        rows, cols = slice(S * y, S * y + size), slice(S * x, S * x + size)
                        window = X[i, c, rows, cols]
                        if rule == "first":
                            r, s = np.unravel_index(np.argmax(window), window.shape)
                            if swap:
                                r, s = s, r
                            dX[i, c, S * y + r, S * x + s] = dA[i, c, y, x]
                        elif rule == "all":
                            dX[i, c, rows, cols] = (window == window.max()) * dA[i, c, y, x]
                        elif rule == "spread":
                            dX[i, c, rows, cols] = dA[i, c, y, x] / size**2
                        elif rule == "copied":
                            dX[i, c, rows, cols] = dA[i, c, y, x]
        return dX
    return backward


def _pool_reshape(dA, X, size):
    """A learner's vectorised version: the windows by a reshape, which needs H and W multiples of size."""
    n, C, H, Wd = X.shape
    windows = X.reshape(n, C, H // size, size, Wd // size, size).transpose(0, 1, 2, 4, 3, 5)
    first = windows.reshape(n, C, H // size, Wd // size, size * size).argmax(axis=-1)
    g = (np.eye(size * size)[first] * dA[..., None]).reshape(n, C, H // size, Wd // size, size, size)
    return g.transpose(0, 1, 2, 4, 3, 5).reshape(X.shape)


def _pool_repeat(dA, X, size):
    """A learner's vectorised version: dA and the pooled maximum repeated over each window."""
    up = np.repeat(np.repeat(dA, size, axis=2), size, axis=3)
    A = _maxpool(X, size)
    return up * (X == np.repeat(np.repeat(A, size, axis=2), size, axis=3))


NOT_WHOLE = ("the input's height or width is not a multiple of size here, and your code needs it to be. Max "
             "pooling keeps only whole windows, H_out = H // size (the floor, as the frameworks do): the rows and "
             "columns beyond the last whole window are never read, and their gradient is 0. Work on "
             "X[:, :, :H_out * size, :W_out * size] and leave the rest of dX at 0")

CONVENTIONS = ("the whole dA to the first maximum in reading order (as np.argmax picks it), the whole dA to the "
               "last one, or dA split evenly among the tied maxima")

EVERY_TIE = ("every tied maximum gets the whole gradient: in a window like [0, 0, 0, 0] (the flat background after "
             "ReLU) all the entries equal the maximum (a mask X == max marks each of them), and each got dA, so the "
             "window sends back several times dA although the forward pass passed on one value. This checker "
             f"accepts {CONVENTIONS}")

POOL_MISTAKES = [
    (_pool_loops("all"), EVERY_TIE),
    (_pool_loops("spread"),
     "the gradient is spread evenly over the window (dA / size^2 to every entry), as for average pooling: max "
     "pooling passes on only the maximum, so only that entry gets dA, the others did not change the output and "
     "get 0"),
    (_pool_loops("copied"),
     "every entry of the window gets dA, as if the window were copied: only the maximum reached the output, so "
     "only that entry gets dA, the others get 0"),
    (lambda dA, X, size: np.kron(dA, np.ones((size, size))),
     "every entry of the window gets dA (np.kron copies it over the window): only the maximum reached the output, "
     "so only that entry gets dA, the others get 0"),
    (_pool_loops(step=1),
     "the windows move by 1 pixel instead of size: window (y, x) covers rows size y to size y + size - 1; the "
     "pooling windows do not overlap"),
    (_pool_loops(swap=True),
     "the row and the column of the maximum are swapped inside the window: np.unravel_index(k, (size, size)) "
     "gives (row, column), in that order, as k // size and k % size"),
    (_pool_reshape, NOT_WHOLE),
    (_pool_repeat, EVERY_TIE),
]


def _pool_first(got, args):
    dA, X, size = args
    if isinstance(got, np.ndarray) and got.shape == dA.shape and dA.shape != X.shape:
        return (f"dX has the shape of dA, {dA.shape}: the gradient goes back to the pooling's input, of the shape of "
                f"X, {X.shape}; each entry of dA goes to one entry of its size x size window")
    return None


def maxpool_backward(fn) -> bool:
    """``fn(dA, X, size) -> dX``: the gradient of max pooling over ``size x size`` windows (stride ``size``):
    each window's ``dA`` goes to its maximum, 0 elsewhere and beyond the last whole window. At a tie, it
    accepts the first maximum in reading order (as argmax), the last, or an even split among the tied ones."""
    cases = [("2 images of 3 channels, 4x6 pixels, windows 2x2, no ties", _pool_case(2, 3, 4, 6, 2, 0, False)),
             ("2 images of 3 channels, 6x4 pixels, windows 2x2, after ReLU (tied zeros)",
              _pool_case(2, 3, 6, 4, 2, 1, True)),
             ("3 images of 2 channels, 6x9 pixels, windows 3x3, after ReLU", _pool_case(3, 2, 6, 9, 3, 2, True)),
             ("2 images of 2 channels, 7x5 pixels, windows 2x2, after ReLU (the last row and column in no window)",
              _pool_case(2, 2, 7, 5, 2, 4, True)),
             ("1 image of 1 channel, 8x8 pixels, windows 2x2, after ReLU", _pool_case(1, 1, 8, 8, 2, 3, True))]
    diagnose = _over_cases(fn, cases, _maxpool_backward, POOL_MISTAKES, first=_pool_first)

    def any_convention(got, args, error=None):
        if error is None and any(_same(got, _quiet(lambda *a: _maxpool_backward(*a, rule=rule), args))
                                 for rule in ("last", "split")):
            return None
        return diagnose(got, args, error)

    return _run("maxpool_backward", fn, cases, any_convention, f"max pooling's gradient ({CONVENTIONS})")


# --- bridge_backward: from the dense layer's rows back to the last convolution --------------------------------

def _bridge(dA_rows, Z, size):
    """dZ (n, F, H, W) of the stage ``A = relu(maxpool(Z))``, read as rows (n, F H_out W_out) by the dense layer."""
    n, F, H, Wd = Z.shape
    P = _maxpool(Z, size)
    dA = dA_rows.reshape(P.shape)
    return _maxpool_backward(dA * (P > 0), Z, size)


def _bridge_variant(kind):
    def bridge(dA_rows, Z, size):
        n, F, H, Wd = Z.shape
        Ho, Wo = H // size, Wd // size
        P = _maxpool(Z, size)
        if kind == "no reshape":
            dA = dA_rows
        elif kind == "channels last":
            dA = dA_rows.reshape(n, Ho, Wo, F).transpose(0, 3, 1, 2)
        elif kind == "transposed map":
            dA = dA_rows.reshape(n, F, Wo, Ho).transpose(0, 1, 3, 2)
        else:
            dA = dA_rows.reshape(n, F, Ho, Wo)
        if kind == "mask before pooling":
            dP = dA * (Z > 0)[:, :, ::size, ::size][:, :, :Ho, :Wo]
        elif kind == "mask of Z":
            dP = dA * (Z > 0)
        elif kind == "no mask":
            dP = dA
        else:
            dP = dA * (P > 0)
        return _maxpool_backward(dP, Z, size)
    return bridge


BRIDGE_MISTAKES = [
    (_bridge_variant("no reshape"),
     "the rows are not reshaped back into maps: the dense layer read A_2 (n, F_2, 7, 7) as rows (n, 49 F_2), so "
     "its gradient comes back as rows and must become maps again, dA_rows.reshape(n, F_2, 7, 7), before the "
     "ReLU mask and the pooling's backward pass"),
    (_bridge_variant("channels last"),
     "the rows are reshaped in the wrong axis order, (n, 7, 7, F_2): the forward pass flattened (n, F_2, 7, 7) "
     "row by row, the filter first, so the way back is dA_rows.reshape(n, F_2, 7, 7), with no transpose"),
    (_bridge_variant("transposed map"),
     "the maps come back transposed: the forward pass flattened each 7 x 7 map row by row, so reshape to "
     "(n, F_2, H_out, W_out), rows first, with no transpose"),
    (_bridge_variant("mask before pooling"),
     "the ReLU mask is taken before pooling: A = relu(pool(Z)), so ReLU's slope is 1 where the pooled map P = "
     "pool(Z) is positive, P > 0 (n, F_2, 7, 7); the entries of Z at the top-left of each window are not the ones "
     "that were pooled"),
    (_bridge_variant("mask of Z"),
     "the ReLU mask is taken before pooling, on Z (n, F_2, 14, 14), where dA is pooled (n, F_2, 7, 7): the ReLU "
     "came after the pooling, so its mask is P > 0 with P = pool(Z), of dA's shape"),
    (_bridge_variant("no mask"),
     "the ReLU mask is missing: A = relu(pool(Z)), so dP = dA * (P > 0) before the pooling's backward pass"),
]


def _bridge_case(n, F, H, Wd, size, seed):
    rng = _rng(seed)
    Z = rng.normal(0, 1, (n, F, H, Wd))
    return rng.normal(0, 1, (n, F * (H // size) * (Wd // size))), Z, size


def bridge_backward(fn) -> bool:
    """``fn(dA_rows, Z, size) -> dZ``: the gradient with respect to the last convolution's output ``Z (n, F, H,
    W)`` of the stage ``A = relu(maxpool(Z))`` read as rows ``(n, F H_out W_out)``, from the rows' gradient."""
    cases = [("2 images, 3 maps of 4x4, pooled 2x2 to 2x2", _bridge_case(2, 3, 4, 4, 2, 40)),
             ("3 images, 4 maps of 6x8, pooled 2x2 to 3x4", _bridge_case(3, 4, 6, 8, 2, 41)),
             ("2 images, 16 maps of 14x14, pooled to 7x7 (the CNN's)", _bridge_case(2, 16, 14, 14, 2, 42)),
             ("1 image, 5 maps of 6x9, pooled 3x3 to 2x3", _bridge_case(1, 5, 6, 9, 3, 43))]
    diagnose = _over_cases(fn, cases, _bridge, BRIDGE_MISTAKES)
    return _run("bridge_backward", fn, cases, diagnose, "reshape, ReLU's mask and max pooling's gradient")


# --- check.my_cnn: capstone 2, a CNN made of the learner's own pieces -------------------------------------------

#: The pieces ``my_cnn`` trains with: the network's (02-05) and the convolution's (11).
CNN_PIECES = ("he_init", "layer", "softmax", "cross_entropy", "sgd_step", "minibatches", "train_epoch",
              "im2col", "conv_backward", "maxpool_backward", "bridge_backward")


class _Adjoint:
    """col2im as the adjoint of the learner's own im2col: im2col copies pixels, so running it once on an image of
    pixel numbers (1, 2, ...; padding reads 0) says which pixel every entry of ``cols`` is; col2im then adds each
    entry's gradient onto its pixel (``np.bincount``). One map per input shape."""

    def __init__(self, im2col):
        self.im2col, self.maps = im2col, {}

    def __call__(self, dcols, shape, R, pad):
        key = (shape, R, pad)
        if key not in self.maps:
            numbers = np.arange(1, int(np.prod(shape)) + 1, dtype=np.float64).reshape(shape)
            self.maps[key] = np.rint(self.im2col(numbers, R, 1, pad)).astype(np.int64).ravel()
        summed = np.bincount(self.maps[key], weights=dcols.ravel(), minlength=int(np.prod(shape)) + 1)
        return summed[1:].reshape(shape).astype(dcols.dtype)


def _cnn_pieces(net, col2im):
    """The CNN's forward and backward pass (the contract of notebook 05's loop: ``forward(params, X) -> (probs,
    cache)``, ``backward(params, cache, y) -> grads``), built from the learner's pieces in ``net``."""

    def conv(A, W, b):
        n, _, H, Wd = A.shape
        F, C, R, _ = W.shape
        cols = np.asarray(net.im2col(A, R, 1, R // 2), dtype=A.dtype)              # your im2col (11)
        Z = (W.reshape(F, -1) @ cols + b[:, None]).reshape(F, n, H, Wd).transpose(1, 0, 2, 3)
        return Z, cols

    def conv_grads(dZ, cols, shape, W, need_dX=True):
        F, C, R, _ = W.shape
        dZ_mat = dZ.transpose(1, 0, 2, 3).reshape(F, -1)
        dW, db = (dZ_mat @ cols.T).reshape(W.shape), dZ_mat.sum(axis=1)
        dX = col2im(W.reshape(F, -1).T @ dZ_mat, shape, R, R // 2) if need_dX else None
        return dX, dW, db

    def forward(params, X):
        cache, A = {}, X
        for l in (1, 2):
            Z, cols = conv(A, params[f"W{l}"], params[f"b{l}"])
            n, F, H, Wd = Z.shape
            P = np.maximum(np.maximum(Z[:, :, 0::2, 0::2], Z[:, :, 0::2, 1::2]),   # max pooling 2 x 2: the
                           np.maximum(Z[:, :, 1::2, 0::2], Z[:, :, 1::2, 1::2]))   # largest of 4 offsets
            cache[l] = (A.shape, cols, Z, P)
            A = np.maximum(P, 0)
        rows = A.reshape(len(A), -1)
        A3 = np.maximum(net.layer(rows, params["W3"], params["b3"]), 0)          # your layer (02)
        probs = net.softmax(net.layer(A3, params["W4"], params["b4"]))            # your softmax (03)
        cache.update(rows=rows, A3=A3, probs=probs)
        return probs, cache

    def backward(params, cache, y):
        n = len(y)
        dZ4 = np.array(cache["probs"], dtype=params["W4"].dtype)
        dZ4[np.arange(n), y] -= 1
        dZ4 /= n
        grads = {"W4": cache["A3"].T @ dZ4, "b4": dZ4.sum(axis=0)}
        dZ3 = (dZ4 @ params["W4"].T) * (cache["A3"] > 0)
        grads["W3"], grads["b3"] = cache["rows"].T @ dZ3, dZ3.sum(axis=0)
        shape2, cols2, Z2, _ = cache[2]
        dZ2 = np.asarray(net.bridge_backward(dZ3 @ params["W3"].T, Z2, 2), dtype=Z2.dtype)     # your bridge (11)
        dA1, grads["W2"], grads["b2"] = conv_grads(dZ2, cols2, shape2, params["W2"])
        shape1, cols1, Z1, P1 = cache[1]
        dZ1 = np.asarray(net.maxpool_backward(dA1 * (P1 > 0), Z1, 2), dtype=Z1.dtype)          # your pooling (11)
        _, grads["W1"], grads["b1"] = conv_grads(dZ1, cols1, shape1, params["W1"], need_dX=False)
        return {k: grads[k].astype(params[k].dtype) for k in params}

    return forward, backward, conv_grads


def _init(net, filters, hidden, seed):
    """He initialisation with your he_init (02): a filter's fan-in is C R R."""
    params, C = {}, 1
    for l, F in enumerate(filters, start=1):
        params[f"W{l}"] = np.asarray(net.he_init(C * 25, F, seed + l)).T.reshape(F, C, 5, 5)
        params[f"b{l}"] = np.zeros(F)
        C = F
    params["W3"], params["b3"] = np.asarray(net.he_init(C * 49, hidden, seed + 3)), np.zeros(hidden)
    params["W4"], params["b4"] = np.asarray(net.he_init(hidden, 10, seed + 4)), np.zeros(10)
    return {k: v.astype(np.float32) for k, v in params.items()}


def my_cnn(n_train: int = 30_000, epochs: int = 3, lr: float = 0.1, batch_size: int = 64, budget: float = 150,
           filters=(8, 16), hidden: int = 64, seed: int = 0, data=None):
    """Capstone 2: train a CNN made only of your kept pieces (``my_network.py``) on MNIST and report its
    validation accuracy. Two conv (5 x 5) - pool - ReLU stages of ``filters``, a dense layer of ``hidden`` units:
    your ``im2col`` makes the convolutions (one matrix product each) and, through its adjoint, their ``dX``;
    your ``bridge_backward`` and ``maxpool_backward`` go back through the pooling; your ``layer``, ``softmax``,
    ``he_init`` and ``cross_entropy`` make the dense part, and your ``train_epoch`` (with your ``minibatches``
    and ``sgd_step``) trains it, ``epochs`` epochs on the first ``n_train`` training images, the learning rate
    ``lr`` and a third of it in the last epoch (a step schedule, notebook 06). Your ``conv_backward`` is checked against these gradients first.

    Every piece is checked again first; a missing or broken one is named with its notebook and exercise.
    Before training, one batch is timed: when the run would take longer than ``budget`` seconds, it says which
    piece is slow and stops. ``data``: ``(X_train, y_train, X_val, y_val)`` feature rows (default: MNIST's
    split of notebook 06). Returns ``(params, validation accuracy)``, or None when it cannot train.
    """
    import time
    from . import _kept

    net = _kept.my_network(CNN_PIECES)
    if net.missing:
        print(f"my_cnn needs {len(net.missing)} more of your pieces:")
        for name, notebook, number in net.missing:
            print(f"  {name}: exercise {number} of notebook {notebook}")
        print("Solve them (each checker keeps what it accepts), then run this again.")
        return None
    col2im = _Adjoint(net.im2col)
    forward, backward, conv_grads = _cnn_pieces(net, col2im)

    # your conv_backward and the gradients of your im2col agree (both checked, so this is a check of the wiring)
    rng = np.random.default_rng(seed)
    X_small, W_small = rng.normal(size=(2, 3, 6, 6)), rng.normal(size=(4, 3, 5, 5))
    cols = np.asarray(net.im2col(X_small, 5, 1, 2), dtype=float)
    dZ = rng.normal(size=(2, 4, 6, 6))
    fast = conv_grads(dZ, cols, X_small.shape, W_small)
    yours = net.conv_backward(dZ, X_small, W_small, 1, 2)
    if not all(np.allclose(a, b) for a, b in zip(fast, yours)):
        print("im2col (exercise 2 of notebook 11) and conv_backward (exercise 3) disagree on a 5 x 5 kernel with "
              "padding 2: solve both again.")
        return None

    if data is None:
        from ..recipes import load_split
        X_train, y_train, X_val, y_val = load_split()[:4]
    else:
        X_train, y_train, X_val, y_val = data
    X_train = np.asarray(X_train[:n_train], dtype=np.float32).reshape(-1, 1, 28, 28)
    y_train = np.asarray(y_train[:n_train])
    X_val = np.asarray(X_val, dtype=np.float32).reshape(-1, 1, 28, 28)
    params = _init(net, filters, hidden, seed)

    # one batch, timed piece by piece (CPU time: other programs do not count), before any training
    batch, yb = X_train[:batch_size], y_train[:batch_size]
    timings = {}
    start = time.process_time()
    net.im2col(batch, 5, 1, 2)
    timings["im2col (exercise 2 of notebook 11)"] = 2 * (time.process_time() - start)     # two conv layers
    _, cache = forward(params, batch)
    shape1, cols1, Z1, P1 = cache[1]
    start = time.process_time()
    net.maxpool_backward(np.ones_like(P1), Z1, 2)
    timings["maxpool_backward (exercise 4 of notebook 11)"] = time.process_time() - start
    start = time.process_time()
    net.bridge_backward(np.ones_like(cache["rows"]), cache[2][2], 2)
    timings["bridge_backward (exercise 5 of notebook 11)"] = time.process_time() - start
    backward(params, cache, yb)                            # builds col2im's maps for this batch size
    start = time.process_time()
    probs, cache = forward(params, batch)
    backward(params, cache, yb)
    per_batch = time.process_time() - start
    estimate = per_batch * epochs * -(-len(X_train) // batch_size)
    if estimate > budget:
        slow = max(timings, key=timings.get)
        print(f"Training would take about {estimate / 60:.0f} minutes of CPU ({per_batch * 1000:.0f} ms per batch of "
              f"{batch_size}, {epochs} epochs of {len(X_train):,} images); the budget is {budget:.0f} s. The "
              f"slowest piece is {slow.split(' (')[0]}: {timings[slow] * 1000:.0f} ms per batch. Pieces that loop "
              f"over windows or pixels in Python are right but slow: write {slow.split(' (')[0]} with one loop over "
              f"the kernel (or window) offsets, each a strided slice of every window at once, and solve "
              f"{slow.split(' (')[1].rstrip(')')} again.")
        return None

    net.forward, net.backward = forward, backward          # the names your train_epoch (05) calls
    print(f"A CNN of your own code: filters {filters}, {hidden} hidden units, {len(X_train):,} images, {epochs} "
          f"epochs (about {estimate:.0f} s).")
    rng = np.random.default_rng(seed)
    start, cpu = time.perf_counter(), time.process_time()
    for epoch in range(1, epochs + 1):
        rate = lr if epoch < epochs else lr / 3
        params = net.train_epoch(params, X_train, y_train, rate, batch_size, rng)
        probs = np.concatenate([forward(params, X_val[i : i + 1000])[0] for i in range(0, len(X_val), 1000)])
        accuracy = float(np.mean(probs.argmax(axis=1) == y_val))
        print(f"epoch {epoch}: validation loss {net.cross_entropy(probs, y_val):.4f}, accuracy {accuracy:.4f} "
              f"({time.perf_counter() - start:.0f} s)")
    print(f"Your own CNN: {accuracy:.2%} of the validation digits, after {time.perf_counter() - start:.0f} s of "
          f"training ({time.process_time() - cpu:.0f} CPU-s).")
    return params, accuracy
