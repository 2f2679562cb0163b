"""The checkers of notebook 11 (check.conv_forward, check.conv_backward, check.maxpool_backward): each accepts a
right answer, and names each classic mistake with a message of its own. The functions below are written the way
a learner would write them, with loops over the output positions."""

import numpy as np
import pytest

from nn_helpers import check
from mistakes import assert_named, run


def padded(X, pad):
    return np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


# --- conv_forward, written from the formula ----------------------------------------------------------------

def conv_forward_with(flip=False, use_pad=True, size_plus=1, bias="once", swap=False, step=None):
    def conv(X, W, b, stride, pad):
        n, C, H, Wd = X.shape
        F, _, R, _ = W.shape
        P = pad if use_pad else 0
        Xp = padded(X, P)
        H_out = (H + 2 * P - R) // stride + size_plus
        W_out = (Wd + 2 * P - R) // stride + size_plus
        kernels = W[:, :, ::-1, ::-1] if flip else W
        Z = np.zeros((n, F, H_out, W_out))
        for i in range(n):
            for f in range(F):
                for r in range(H_out):
                    for c in range(W_out):
                        S = stride if step is None else step
                        window = Xp[i, :, r * S:r * S + R, c * S:c * S + R]
                        if bias == "inside":
                            Z[i, f, r, c] = np.sum(window * kernels[f] + b[f])
                        else:
                            Z[i, f, r, c] = np.sum(window * kernels[f])
        if bias == "once":
            Z += b[None, :, None, None]
        elif bias == "last axis":
            Z += b
        elif bias == "sum":
            Z += b.sum()
        return Z.transpose(0, 1, 3, 2) if swap else Z
    return conv


def conv_forward_vectorised(X, W, b, stride, pad):
    from numpy.lib.stride_tricks import sliding_window_view
    R = W.shape[2]
    windows = sliding_window_view(padded(X, pad), (R, R), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwab,fcab->nfhw", windows, W) + b[None, :, None, None]


def conv_forward_no_stride(X, W, b, stride, pad):
    return conv_forward_with()(X, W, b, 1, pad)


# --- conv_backward ------------------------------------------------------------------------------------------

def conv_backward_with(dX_op="add", flip=False, dW_batch="sum", db_axes=(0, 2, 3), crop=True, step=None):
    def backward(dZ, X, W, stride, pad):
        n, C, H, Wd = X.shape
        F, _, R, _ = W.shape
        Xp = padded(X, pad)
        dXp, dW = np.zeros_like(Xp), np.zeros_like(W)
        dW_per_sample = np.zeros((n, *W.shape))
        kernels = W[:, :, ::-1, ::-1] if flip else W
        for i in range(n):
            for f in range(F):
                for r in range(dZ.shape[2]):
                    for c in range(dZ.shape[3]):
                        S = stride if step is None else step
                        rows, cols = slice(r * S, r * S + R), slice(c * S, c * S + R)
                        if dX_op == "add":
                            dXp[i, :, rows, cols] += kernels[f] * dZ[i, f, r, c]
                        else:
                            dXp[i, :, rows, cols] = kernels[f] * dZ[i, f, r, c]
                        if dW_batch == "last":
                            if i == n - 1:
                                dW[f] += Xp[i, :, rows, cols] * dZ[i, f, r, c]
                        else:
                            dW[f] += Xp[i, :, rows, cols] * dZ[i, f, r, c]
                        dW_per_sample[i, f] += Xp[i, :, rows, cols] * dZ[i, f, r, c]
        if dW_batch == "per sample":
            dW = dW_per_sample
        elif dW_batch == "mean":
            dW = dW / n
        dX = dXp[:, :, pad:pad + H, pad:pad + Wd] if crop else dXp
        return dX, dW, dZ.sum(axis=db_axes)
    return backward


def conv_backward_loops(dZ, X, W, stride, pad):
    return conv_backward_with()(dZ, X, W, stride, pad)


def conv_backward_im2col(dZ, X, W, stride, pad):
    """col2im as a loop over the R x R offsets with slice +=, as nn_helpers does it."""
    n, C, H, Wd = X.shape
    F, _, R, _ = W.shape
    Ho, Wo = dZ.shape[2:]
    Xp = padded(X, pad)
    dXp, dW = np.zeros_like(Xp), np.zeros_like(W)
    for a in range(R):
        for c in range(R):
            rows, cols = slice(a, a + stride * (Ho - 1) + 1, stride), slice(c, c + stride * (Wo - 1) + 1, stride)
            dW[:, :, a, c] = np.einsum("nchw,nfhw->fc", Xp[:, :, rows, cols], dZ)
            dXp[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dZ, W[:, :, a, c])
    return dXp[:, :, pad:pad + H, pad:pad + Wd], dW, dZ.sum(axis=(0, 2, 3))


def conv_backward_db_mean(dZ, X, W, stride, pad):
    dX, dW, db = conv_backward_loops(dZ, X, W, stride, pad)
    return dX, dW, db / len(X)


# --- maxpool_backward ---------------------------------------------------------------------------------------

def maxpool_backward_with(rule="first"):
    def backward(dA, X, size):
        dX = np.zeros_like(X)
        n, C, H, Wd = X.shape
        for i in range(n):
            for ch in range(C):
                for r in range(H // size):
                    for c in range(Wd // size):
                        rows, cols = slice(r * size, (r + 1) * size), slice(c * size, (c + 1) * size)
                        window = X[i, ch, rows, cols]
                        if rule == "first":
                            a, b = np.unravel_index(np.argmax(window), window.shape)
                            dX[i, ch, r * size + a, c * size + b] = dA[i, ch, r, c]
                        elif rule == "split":
                            mask = window == window.max()
                            dX[i, ch, rows, cols] = mask * dA[i, ch, r, c] / mask.sum()
                        elif rule == "all ties":
                            dX[i, ch, rows, cols] = (window == window.max()) * dA[i, ch, r, c]
                        elif rule == "spread":
                            dX[i, ch, rows, cols] = dA[i, ch, r, c] / size**2
                        elif rule == "copied":
                            dX[i, ch, rows, cols] = dA[i, ch, r, c]
        return dX
    return backward


def maxpool_backward_reshape(dA, X, size):
    n, C, H, Wd = X.shape
    windows = X.reshape(n, C, H // size, size, Wd // size, size).transpose(0, 1, 2, 4, 3, 5)
    windows = windows.reshape(n, C, H // size, Wd // size, size * size)
    onehot = np.eye(size * size)[windows.argmax(axis=-1)] * dA[..., None]
    onehot = onehot.reshape(n, C, H // size, Wd // size, size, size).transpose(0, 1, 2, 4, 3, 5)
    return onehot.reshape(X.shape)


def maxpool_backward_kron(dA, X, size):
    return np.kron(dA, np.ones((size, size)))


RIGHT = [
    (check.conv_forward, conv_forward_with()),
    (check.conv_forward, conv_forward_vectorised),
    (check.conv_backward, conv_backward_loops),
    (check.conv_backward, conv_backward_im2col),
    (check.maxpool_backward, maxpool_backward_with("first")),
    (check.maxpool_backward, maxpool_backward_with("split")),
    (check.maxpool_backward, maxpool_backward_reshape),
]


@pytest.mark.parametrize("checker, fn", RIGHT)
def test_checker_accepts_a_right_answer(checker, fn, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NN_LEARNER_DIR", str(tmp_path))
    ok, out = run(checker, fn, capsys)
    assert ok is True and "correct!" in out, out


MISTAKES = {
    "kernel flipped": (check.conv_forward, conv_forward_with(flip=True), "the kernel is flipped"),
    "padding ignored": (check.conv_forward, conv_forward_with(use_pad=False), "padding is ignored"),
    "output size without the +1": (check.conv_forward, conv_forward_with(size_plus=0), "off by one"),
    "stride ignored": (check.conv_forward, conv_forward_no_stride, "the stride is ignored"),
    "windows not moved by the stride": (check.conv_forward, conv_forward_with(step=1), "do not move by the stride"),
    "height and width swapped": (check.conv_forward, conv_forward_with(swap=True), "height and width are swapped"),
    "bias forgotten": (check.conv_forward, conv_forward_with(bias=None), "the bias is missing"),
    "bias inside the sum": (check.conv_forward, conv_forward_with(bias="inside"), "once per product"),
    "bias along the last axis": (check.conv_forward, conv_forward_with(bias="last axis"), "along the last axis"),
    "bias summed": (check.conv_forward, conv_forward_with(bias="sum"), "the sum of all the biases"),
    "windows assigned": (check.conv_backward, conv_backward_with(dX_op="assign"), "assigned (=) instead of added"),
    "dX without the flip": (check.conv_backward, conv_backward_with(flip=True), "without the flip"),
    "dX padded": (check.conv_backward, conv_backward_with(crop=False), "shape of the padded input"),
    "dW per sample": (check.conv_backward, conv_backward_with(dW_batch="per sample"), "one kernel gradient per sample"),
    "dW of the last sample": (check.conv_backward, conv_backward_with(dW_batch="last"), "last sample's gradient"),
    "dW averaged": (check.conv_backward, conv_backward_with(dW_batch="mean"), "divided by n"),
    "db not summed over the batch": (check.conv_backward, conv_backward_with(db_axes=(2, 3)),
                                     "db is not summed over the batch"),
    "db not summed over the positions": (check.conv_backward, conv_backward_with(db_axes=0),
                                         "db is not summed over the positions"),
    "db averaged": (check.conv_backward, conv_backward_db_mean, "db is divided by n"),
    "backward windows not moved by the stride": (check.conv_backward, conv_backward_with(step=1),
                                                 "do not move by the stride"),
    "every tied maximum": (check.maxpool_backward, maxpool_backward_with("all ties"), "every tied maximum"),
    "spread over the window": (check.maxpool_backward, maxpool_backward_with("spread"), "spread evenly"),
    "copied to the window": (check.maxpool_backward, maxpool_backward_with("copied"), "every entry of the window"),
    "copied with kron": (check.maxpool_backward, maxpool_backward_kron, "every entry of the window"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_checker_names_the_mistake(mistake, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NN_LEARNER_DIR", str(tmp_path))
    assert_named(*MISTAKES[mistake], capsys)


@pytest.mark.parametrize("checker", [check.conv_forward, check.conv_backward, check.maxpool_backward])
def test_skeletons_exceptions_wrong_shapes_and_a_forgotten_return_get_a_message(checker, capsys):
    name = checker.__name__

    def skeleton(*args):
        # your code here
        raise NotImplementedError

    def no_return(*args):
        result = len(args)   # noqa: F841 (computed, never returned)

    def crashes(*args):
        return args[0][:, :, 99, 99]

    def wrong_shape(*args):
        return np.zeros((2, 3))

    ok, out = run(checker, skeleton, capsys)
    assert ok is False and out == check.NOT_DONE.format(name=name) + "\n"
    ok, out = run(checker, no_return, capsys)
    assert ok is False and "forget the `return`" in out, out
    ok, out = run(checker, crashes, capsys)
    assert ok is False and f"{name}: your function raised IndexError on " in out, out
    ok, out = run(checker, wrong_shape, capsys)
    assert ok is False and "not right yet" in out and "Traceback" not in out, out
