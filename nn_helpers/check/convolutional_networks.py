"""The checkers of notebook 11: convolutional networks (a convolution's forward and backward pass, max
pooling's backward pass). Arrays are NCHW: ``X (n, C, H, W)``, kernels ``W (F, C, R, R)``, bias ``b (F,)``,
``Z (n, F, H_out, W_out)`` with ``H_out = (H + 2P - R) // S + 1``."""

from __future__ import annotations

import numpy as np

from ..conv import conv2d_backward as _conv_backward_layer, conv2d_forward as _conv_forward
from ..conv import maxpool_backward as _maxpool_backward_layer, maxpool_forward as _maxpool_forward
from ._core import _quiet, _rng, _run, _same, against


# --- references: nn_helpers.conv, and the variants the mistakes need ------------------------------------------

def _out_size(H, Wd, R, stride, pad):
    return (H + 2 * pad - R) // stride + 1, (Wd + 2 * pad - R) // stride + 1


def _pad(X, pad):
    return np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def _conv(X, W, b, stride, pad):
    return _conv_forward(X, W, b, stride=stride, pad=pad)[0]


def _conv_backward(dZ, X, W, stride, pad):
    return _conv_backward_layer(dZ, _conv_forward(X, W, np.zeros(len(W)), stride=stride, pad=pad)[1])


def _pool_windows(X, size):
    """(n, C, H, W) -> (n, C, H / size, W / size, size * size): each window's entries in row order."""
    n, C, H, Wd = X.shape
    blocks = X.reshape(n, C, H // size, size, Wd // size, size).transpose(0, 1, 2, 4, 3, 5)
    return blocks.reshape(n, C, H // size, Wd // size, size * size)


def _unpool(G, shape, size):
    """The inverse of ``_pool_windows``: (n, C, Ho, Wo, size * size) -> (n, C, H, W)."""
    n, C, H, Wd = shape
    G = G.reshape(n, C, H // size, Wd // size, size, size).transpose(0, 1, 2, 4, 3, 5)
    return G.reshape(shape)


def _maxpool_backward(dA, X, size, rule="first"):
    """The gradient goes to the window's maximum: the first one (``rule="first"``, as argmax picks it), the
    last, split evenly among tied maxima (``"split"``), or, wrongly, to every tied maximum (``"all"``)."""
    windows = _pool_windows(X, size)
    is_max = windows == windows.max(axis=-1, keepdims=True)
    if rule == "first":
        share = np.eye(size * size)[windows.argmax(axis=-1)]
    elif rule == "last":
        share = np.eye(size * size)[size * size - 1 - windows[..., ::-1].argmax(axis=-1)]
    elif rule == "split":
        share = is_max / is_max.sum(axis=-1, keepdims=True)
    else:
        share = is_max.astype(float)
    return _unpool(share * dA[..., None], X.shape, size)


# --- cases ---------------------------------------------------------------------------------------------------

def _conv_case(n, C, H, Wd, F, R, stride, pad, seed):
    rng = _rng(seed)
    return (rng.normal(0, 1, (n, C, H, Wd)), rng.normal(0, 1, (F, C, R, R)), rng.normal(0, 1, F), stride, pad)


def _label(n, C, H, Wd, F, R, stride, pad):
    return (f"{n} image{'s' * (n > 1)} of {C} channel{'s' * (C > 1)}, {H}x{Wd} pixels, {F} filters {R}x{R}, "
            f"stride {stride}, padding {pad}")


def _conv_cases(seed):
    shapes = [(2, 1, 6, 6, 4, 3, 1, 0),      # W_out = F = 4: a bias added along the last axis shows in values
              (3, 2, 7, 5, 3, 3, 1, 1),      # padding 1, non-square
              (3, 3, 9, 7, 2, 3, 2, 1),      # stride 2: overlapping windows
              (1, 2, 8, 6, 3, 2, 2, 2)]      # a batch of one, an even kernel, padding 2
    return [(_label(*s), _conv_case(*s, seed + i)) for i, s in enumerate(shapes)]


def _size_problem(got_hw, H, Wd, R, stride, pad):
    """What a wrong output size (H_out, W_out) says about the formula, or None."""
    Ho, Wo = _out_size(H, Wd, R, stride, pad)
    formula = f"H_out = (H_in + 2P - R) / S + 1 = ({H} + {2 * pad} - {R}) / {stride} + 1 = {Ho}"
    if got_hw == (Wo, Ho):
        return f"height and width are swapped: the output is {got_hw}, expected ({Ho}, {Wo}); Z is (n, F, H_out, W_out)"
    if pad and got_hw == _out_size(H, Wd, R, stride, 0):
        return (f"padding is ignored: the output {got_hw} has the size of the unpadded input. With padding P the "
                f"input gets P rows and columns of zeros on every side before the kernel slides over it, so "
                f"{formula}")
    if stride > 1 and got_hw == _out_size(H, Wd, R, 1, pad):
        return (f"the stride is ignored: the output {got_hw} has a position for every pixel. The kernel moves S = "
                f"{stride} pixels per step, so {formula}")
    if got_hw in ((Ho - 1, Wo - 1), (Ho + 1, Wo + 1)):
        return (f"the output size is off by one: {got_hw} instead of ({Ho}, {Wo}). Count the positions where the "
                f"kernel fits: the first at 0, then one every S pixels, the last at H_in + 2P - R, so {formula}")
    return None


def _sizes_first(diagnose):
    """For ``conv_forward``: name a wrong output size (H_out, W_out) first, then run ``diagnose``."""
    def sized(got, args, error=None):
        X, W, _, stride, pad = args
        expected = _out_size(*X.shape[2:], W.shape[2], stride, pad)
        shape = np.shape(got) if error is None and isinstance(got, np.ndarray) else None
        if shape and len(shape) == 4 and shape[:2] == (len(X), len(W)) and shape[2:] != expected:
            problem = _size_problem(shape[2:], *X.shape[2:], W.shape[2], stride, pad)
            if problem:
                return problem
        return diagnose(got, args, error)
    return sized


# --- conv_forward --------------------------------------------------------------------------------------------

def _without_bias(X, W, b, stride, pad):
    return _conv(X, W, np.zeros_like(b), stride, pad)


def _unstrided(X, W, b, stride, pad):
    """The right output size, but output (y, x) reads the window at (y, x) instead of (S y, S x)."""
    Ho, Wo = _out_size(*X.shape[2:], W.shape[2], stride, pad)
    return _conv(X, W, b, 1, pad)[:, :, :Ho, :Wo]


UNSTRIDED = ("the windows do not move by the stride: output (y, x) reads the window whose top-left corner is at "
             "row y, column x of the padded input, but with stride S it starts at row S y, column S x. The output "
             "size is right; the window's position is not")


CROSS_CORRELATION = ("Z[i, f, y, x] = sum over the channels c and the offsets r, s of Xp[i, c, S y + r, S x + s] "
                     "W[f, c, r, s] + b[f]")


def conv_forward(fn) -> bool:
    """``fn(X, W, b, stride, pad) -> Z``: the cross-correlation of ``X (n, C, H, W)`` with the kernels ``W (F, C,
    R, R)``, plus one bias per filter, ``Z (n, F, H_out, W_out)``."""
    cases = _conv_cases(0)
    mistakes = [
        (lambda X, W, b, S, P: _conv(X, W[:, :, ::-1, ::-1], b, S, P),
         "the kernel is flipped: this is the convolution of mathematics, which reads the kernel backwards. A "
         "convolutional layer computes the cross-correlation (as every framework does), the kernel in its own "
         f"order: {CROSS_CORRELATION}"),
        (_without_bias, "the bias is missing: each filter f adds its b[f] to every output position of its map"),
        (lambda X, W, b, S, P: _without_bias(X, W, b, S, P) + W[0].size * b[None, :, None, None],
         "the bias is added once per product, inside the sum over the window, so it counts C R R times: each "
         "output gets b[f] once, after the sum over the channels and offsets"),
        (lambda X, W, b, S, P: _conv(X, W, b, S, P).transpose(0, 1, 3, 2),
         "height and width are swapped: Z is (n, F, H_out, W_out), rows before columns, as X is (n, C, H, W)"),
        (lambda X, W, b, S, P: _without_bias(X, W, b, S, P) + b,
         "the bias is added along the last axis (the output's columns): Z is (n, F, H_out, W_out) and b is (F,), "
         "so b[f] belongs to the filter axis, 1; give b the shape (1, F, 1, 1) to add it to every position of "
         "map f"),
        (lambda X, W, b, S, P: _without_bias(X, W, b, S, P) + b.sum(),
         "every filter gets the sum of all the biases: filter f adds only its own b[f]"),
        (_unstrided, UNSTRIDED),
    ]
    return _run("conv_forward", fn, cases, _sizes_first(against(_conv, mistakes)), "nn.conv2d_forward")


# --- conv_backward -------------------------------------------------------------------------------------------

def _backward_case(shape, seed):
    X, W, b, stride, pad = _conv_case(*shape, seed)
    Ho, Wo = _out_size(*X.shape[2:], W.shape[2], stride, pad)
    return _rng(seed + 50).normal(0, 1, (len(X), len(W), Ho, Wo)), X, W, stride, pad


def _backward_cases():
    shapes = [(2, 1, 6, 6, 4, 3, 1, 0), (3, 2, 7, 5, 3, 3, 1, 1), (3, 3, 9, 7, 2, 3, 2, 1), (1, 2, 8, 6, 3, 2, 2, 2)]
    return [(_label(*s), _backward_case(s, 10 + i)) for i, s in enumerate(shapes)]


def _assigned(dZ, X, W, stride, pad, also_dW=False):
    """col2im with ``=``: each window's contribution overwrites the ones before it."""
    n, C, H, Wd = X.shape
    F, _, R, _ = W.shape
    Xp = _pad(X, pad)
    dXp = np.zeros_like(Xp)
    dW = np.zeros_like(W) if also_dW else _conv_backward(dZ, X, W, stride, pad)[1]
    for i in range(n):
        for f in range(F):
            for r in range(dZ.shape[2]):
                for c in range(dZ.shape[3]):
                    window = (slice(r * stride, r * stride + R), slice(c * stride, c * stride + R))
                    dXp[(i, slice(None), *window)] = W[f] * dZ[i, f, r, c]
                    if also_dW:
                        dW[f] = Xp[(i, slice(None), *window)] * dZ[i, f, r, c]
    return dXp[:, :, pad:pad + H, pad:pad + Wd], dW, dZ.sum(axis=(0, 2, 3))


def _unstrided_backward(dZ, X, W, stride, pad):
    """The gradients of :func:`_unstrided`: windows at (y, x) instead of (S y, S x)."""
    Ho, Wo = _out_size(*X.shape[2:], W.shape[2], 1, pad)
    dZ_full = np.zeros((*dZ.shape[:2], Ho, Wo))
    dZ_full[:, :, :dZ.shape[2], :dZ.shape[3]] = dZ
    return _conv_backward(dZ_full, X, W, 1, pad)


def _replace(item, value_of):
    """A variant of the reference with one of (dX, dW, db) replaced by ``value_of(*args, reference)``."""
    def variant(*args):
        grads = list(_conv_backward(*args))
        grads[item] = value_of(*args, grads)
        return tuple(grads)
    return variant


ASSIGNED = ("overlapping windows are assigned (=) instead of added: a pixel of X lies in several windows when the "
            "stride is smaller than the kernel, and it receives a gradient from each of them. Every window's "
            "dZ[i, f, y, x] W[f] must be added into dX (and each filter's share too), not written over what the "
            "windows before it put there")


def _shapes_problem(got, args):
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
    if pad and dX == padded:
        return (f"the gradient dX has the shape of the padded input, {padded}: the padding's zeros are not part "
                f"of X. Keep only the inner part, without the P = {pad} rows and columns of each border")
    if dW == (n, *W.shape):
        return (f"the gradient dW has one kernel gradient per sample, {dW}: every image uses the same kernels, so "
                f"their gradient is the sum over the samples (and the positions), of shape {W.shape}")
    if db in ((n, F), (n, F, *dZ.shape[2:])) and db != (F,):
        return (f"the gradient db is not summed over the batch, {db}: there is one bias per filter, used at every "
                f"position of every image, so db (F,) = dZ summed over the samples and the positions, axes 0, 2, 3")
    if db == (F, *dZ.shape[2:]):
        return (f"the gradient db is not summed over the positions, {db}: b[f] is added at every position of map "
                f"f, so db[f] sums dZ over the samples and all the positions, axes 0, 2 and 3")
    if db == (n,) and n != F:
        return ("the gradient db is summed over the filters: there is one bias per filter, db (F,) sums over the "
                "axes 0, 2 and 3")
    return None


def conv_backward(fn) -> bool:
    """``fn(dZ, X, W, stride, pad) -> (dX, dW, db)``: the gradients of a convolution from ``dZ (n, F, H_out,
    W_out)``: ``db`` the sum of ``dZ``, ``dW`` the correlation of the padded input with ``dZ``, ``dX`` every
    window's ``dZ W`` added back where the window was (col2im), the padding cut off."""
    cases = _backward_cases()
    mistakes = [
        (_assigned, ASSIGNED),
        (lambda *args: _assigned(*args, also_dW=True), ASSIGNED),
        (_replace(0, lambda dZ, X, W, S, P, g: _conv_backward(dZ, X, W[:, :, ::-1, ::-1], S, P)[0]),
         "the gradient dX is the correlation of dZ with the kernel as it is, without the flip: in one "
         "dimension with stride 1, input pixel q reached output position y through W[q - y], so going back "
         "the kernel is read backwards (dX is the full convolution of dZ with the flipped kernel). Adding each "
         "window's dZ[i, f, y, x] W[f] back where the window was does the flip by itself"),
        (_replace(1, lambda dZ, X, W, S, P, g: _conv_backward(dZ[-1:], X[-1:], W, S, P)[1]),
         "the gradient dW holds the last sample's gradient only: each image's contribution must be added, dW "
         "sums over the samples and over every output position"),
        (_replace(1, lambda dZ, X, W, S, P, g: g[1] / len(X)),
         "the gradient dW is divided by n: dZ already holds the 1/n of the mean loss, so dW is a plain sum "
         "over the samples"),
        (_replace(2, lambda dZ, X, W, S, P, g: g[2] / len(X)),
         "the gradient db is divided by n: dZ already holds the 1/n of the mean loss, so db is a plain sum "
         "over the samples and positions"),
        (_replace(2, lambda dZ, X, W, S, P, g: dZ[-1].sum(axis=(1, 2))),
         "the gradient db holds the last sample's sum only: db[f] sums dZ over every sample and position"),
        (_unstrided_backward, UNSTRIDED + " (in dW and dX alike: the windows of the backward pass are the forward "
                                          "pass's)"),
    ]
    diagnose = against(lambda *args: _conv_backward(*args), mistakes)

    def named(got, args, error=None):
        if error is None:
            problem = _shapes_problem(got, args)
            if problem:
                return problem
        return diagnose(got, args, error)

    return _run("conv_backward", fn, cases, named, "nn.conv2d_backward")


# --- maxpool_backward ----------------------------------------------------------------------------------------

def _pool_case(n, C, H, Wd, size, seed, ties):
    """Inputs as after conv and ReLU: about half zeros when ``ties``, so many windows have a tied maximum."""
    rng = _rng(seed)
    X = rng.normal(0, 1, (n, C, H, Wd))
    X = np.maximum(X - 0.3, 0) if ties else X
    if ties:
        X[0, 0, :size, :size] = 0.7                                     # one window with four tied non-zeros
    return rng.normal(0, 1, (n, C, H // size, Wd // size)), X, size


def maxpool_backward(fn) -> bool:
    """``fn(dA, X, size) -> dX``: the gradient of max pooling over ``size x size`` windows (stride ``size``):
    each window's ``dA`` goes to its maximum, 0 elsewhere. At a tie, to one of the maxima (the first, as argmax
    picks it, or the last) or split evenly among them."""
    cases = [("2 images of 3 channels, 4x6 pixels, windows 2x2, no ties", _pool_case(2, 3, 4, 6, 2, 0, False)),
             ("2 images of 3 channels, 6x4 pixels, windows 2x2, after ReLU (tied zeros)",
              _pool_case(2, 3, 6, 4, 2, 1, True)),
             ("3 images of 2 channels, 6x9 pixels, windows 3x3, after ReLU", _pool_case(3, 2, 6, 9, 3, 2, True)),
             ("1 image of 1 channel, 8x8 pixels, windows 2x2, after ReLU", _pool_case(1, 1, 8, 8, 2, 3, True))]
    mistakes = [
        (lambda dA, X, size: _maxpool_backward(dA, X, size, "all"),
         "every tied maximum gets the gradient: in a window like [0, 0, 0, 0] (the flat background after ReLU) all "
         "the entries equal the maximum, and each got dA, so the window sends back several times dA although the "
         "forward pass passed on one value. Give dA to one of them (the first maximum, as argmax picks it), or "
         "split it evenly among the ties"),
        (lambda dA, X, size: _unpool(np.repeat(dA[..., None] / size**2, size**2, axis=-1), X.shape, size),
         "the gradient is spread evenly over the window (dA / size^2 to every entry), as for average pooling: "
         "max pooling passes on only the maximum, so only that entry gets dA, the others did not change the output "
         "and get 0"),
        (lambda dA, X, size: _unpool(np.repeat(dA[..., None], size**2, axis=-1), X.shape, size),
         "every entry of the window gets dA, as if the window were copied: only the maximum reached the output, so "
         "only that entry gets dA, the others get 0"),
    ]
    reference = lambda dA, X, size: _maxpool_backward_layer(dA, _maxpool_forward(X, size=size)[1])
    diagnose = against(reference, mistakes)

    def any_convention(got, args, error=None):
        if error is None and any(_same(got, _quiet(lambda *a: _maxpool_backward(*a, rule), args))
                                 for rule in ("last", "split")):
            return None
        return diagnose(got, args, error)

    return _run("maxpool_backward", fn, cases, any_convention,
                "nn.maxpool_backward (the first maximum; the last, or an even split, are right too)")
