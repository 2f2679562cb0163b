"""The checkers of notebook 11 (check.conv_forward, check.conv_backward, check.maxpool_backward): each accepts a
right answer, and names each classic mistake with a message of its own. The functions below are written the way
a learner would write them, with loops over the output positions."""

import numpy as np
import pytest

from nn_helpers import check
from mistakes import assert_named, run, shared_messages


def padded(X, pad):
    return np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


# --- conv_forward, written from the formula ----------------------------------------------------------------

def conv_forward_with(flip=False, use_pad=True, size_plus=1, bias="once", swap=False, step=None, size=None,
                      pad_as=None, kernel_T=False):
    def conv(X, W, b, stride, pad):
        n, C, H, Wd = X.shape
        F, _, R, _ = W.shape
        P = pad if use_pad else 0
        Xp = padded(X, P)
        if pad_as == "one side":
            Xp = np.pad(X, [(0, 0), (0, 0), (pad, 0), (pad, 0)])
        elif pad_as == "np.pad(X, pad)":
            Xp = np.pad(X, pad)
        if size == "ceil":
            H_out = int(np.ceil((H + 2 * P - R) / stride)) + 1
            W_out = int(np.ceil((Wd + 2 * P - R) / stride)) + 1
        elif size == "round":
            H_out, W_out = round((H + 2 * P - R) / stride) + 1, round((Wd + 2 * P - R) / stride) + 1
        elif size == "+1 inside":
            H_out, W_out = (H + 2 * P - R + 1) // stride, (Wd + 2 * P - R + 1) // stride
        elif size == "one side":
            H_out, W_out = (H + P - R) // stride + 1, (Wd + P - R) // stride + 1
        else:
            H_out = (H + 2 * P - R) // stride + size_plus
            W_out = (Wd + 2 * P - R) // stride + size_plus
        kernels = W[:, :, ::-1, ::-1] if flip else W
        if kernel_T:
            kernels = np.swapaxes(W, 2, 3)
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


def conv_forward_mean(X, W, b, stride, pad):
    n, C, H, Wd = X.shape
    F, _, R, _ = W.shape
    Xp = padded(X, pad)
    Ho, Wo = (H + 2 * pad - R) // stride + 1, (Wd + 2 * pad - R) // stride + 1
    Z = np.zeros((n, F, Ho, Wo))
    for i in range(n):
        for f in range(F):
            for y in range(Ho):
                for x in range(Wo):
                    Z[i, f, y, x] = (Xp[i, :, y * stride:y * stride + R, x * stride:x * stride + R] * W[f]).mean() + b[f]
    return Z


def conv_forward_first_channel(X, W, b, stride, pad):
    n, C, H, Wd = X.shape
    F, _, R, _ = W.shape
    Xp = padded(X, pad)
    Ho, Wo = (H + 2 * pad - R) // stride + 1, (Wd + 2 * pad - R) // stride + 1
    Z = np.zeros((n, F, Ho, Wo))
    for i in range(n):
        for f in range(F):
            for y in range(Ho):
                for x in range(Wo):
                    Z[i, f, y, x] = np.sum(Xp[i, 0, y * stride:y * stride + R, x * stride:x * stride + R] * W[f, 0]) + b[f]
    return Z


def conv_forward_whole_batch(X, W, b, stride, pad):
    n, C, H, Wd = X.shape
    F, _, R, _ = W.shape
    Xp = padded(X, pad)
    Ho, Wo = (H + 2 * pad - R) // stride + 1, (Wd + 2 * pad - R) // stride + 1
    Z = np.zeros((n, F, Ho, Wo))
    for f in range(F):
        for y in range(Ho):
            for x in range(Wo):
                Z[:, f, y, x] = np.sum(Xp[:, :, y * stride:y * stride + R, x * stride:x * stride + R] * W[f]) + b[f]
    return Z


def conv_forward_relu(X, W, b, stride, pad):
    return np.maximum(conv_forward_with()(X, W, b, stride, pad), 0)


def conv_forward_im2col(X, W, b, stride, pad):
    n = len(X)
    F, C, R, _ = W.shape
    cols = im2col_loops(X, R, stride, pad)
    Ho, Wo = (X.shape[2] + 2 * pad - R) // stride + 1, (X.shape[3] + 2 * pad - R) // stride + 1
    return (W.reshape(F, -1) @ cols + b[:, None]).reshape(F, n, Ho, Wo).transpose(1, 0, 2, 3)


# --- im2col ---------------------------------------------------------------------------------------------------

def im2col_loops(X, R, stride, pad, step=None, use_pad=True, order=None, samples_last=False):
    n, C, H, Wd = X.shape
    Ho, Wo = (H + 2 * pad - R) // stride + 1, (Wd + 2 * pad - R) // stride + 1
    Xp = padded(X, pad) if use_pad else X
    S = step or stride
    cols = np.zeros((C * R * R, n * Ho * Wo))
    k = 0
    positions = [(i, y, x) for i in range(n) for y in range(Ho) for x in range(Wo)]
    if samples_last:
        positions = [(i, y, x) for y in range(Ho) for x in range(Wo) for i in range(n)]
    for i, y, x in positions:
        window = Xp[i, :, y * S:y * S + R, x * S:x * S + R]
        if order == "rsc":
            window = np.moveaxis(window, 0, -1)
        cols[:, k] = window.ravel()
        k += 1
    return cols


def im2col_offsets(X, R, stride, pad):
    """Vectorised, as nn_helpers does it: one slice per kernel offset."""
    n, C, H, Wd = X.shape
    Ho, Wo = (H + 2 * pad - R) // stride + 1, (Wd + 2 * pad - R) // stride + 1
    Xp = padded(X, pad)
    cols = np.zeros((C, R, R, n, Ho, Wo))
    for r in range(R):
        for s in range(R):
            cols[:, r, s] = Xp[:, :, r:r + stride * Ho:stride, s:s + stride * Wo:stride].transpose(1, 0, 2, 3)
    return cols.reshape(C * R * R, -1)


def im2col_unstrided(X, R, stride, pad):
    return im2col_loops(X, R, stride, pad, step=1)


def im2col_unpadded(X, R, stride, pad):
    return im2col_loops(X, R, stride, pad, use_pad=False)


def im2col_channels_last(X, R, stride, pad):
    return im2col_loops(X, R, stride, pad, order="rsc")


def im2col_samples_last(X, R, stride, pad):
    return im2col_loops(X, R, stride, pad, samples_last=True)


def im2col_rows(X, R, stride, pad):
    return im2col_loops(X, R, stride, pad).T


# --- conv_backward ------------------------------------------------------------------------------------------

def conv_backward_with(dX_op="add", flip=False, dW_batch="sum", db_axes=(0, 2, 3), crop=True, step=None,
                       dW_from_X=False, order=None):
    def backward(dZ, X, W, stride, pad):
        n, C, H, Wd = X.shape
        F, _, R, _ = W.shape
        Xp = padded(X, pad)
        source = X if dW_from_X else Xp
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
                                dW[f] += source[i, :, rows, cols] * dZ[i, f, r, c]
                        elif dW_batch == "assign":
                            dW[f] = source[i, :, rows, cols] * dZ[i, f, r, c]
                        else:
                            dW[f] += source[i, :, rows, cols] * dZ[i, f, r, c]
                        dW_per_sample[i, f] += Xp[i, :, rows, cols] * dZ[i, f, r, c]
        if dW_batch == "per sample":
            dW = dW_per_sample
        elif dW_batch == "mean":
            dW = dW / n
        if crop == "-pad":
            dX = dXp[:, :, pad:-pad, pad:-pad]
        elif crop == "front":
            dX = dXp[:, :, pad:, pad:]
        else:
            dX = dXp[:, :, pad:pad + H, pad:pad + Wd] if crop else dXp
        if order == "dW first":
            return dW, dX, dZ.sum(axis=db_axes)
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


def conv_backward_dX_mean(dZ, X, W, stride, pad):
    dX, dW, db = conv_backward_loops(dZ, X, W, stride, pad)
    return dX / X.shape[0], dW, db


def conv_backward_db_wrong_axes(dZ, X, W, stride, pad):
    dX, dW, db = conv_backward_loops(dZ, X, W, stride, pad)
    return dX, dW, dZ.sum(axis=(0, 1, 2))


# --- maxpool_backward ---------------------------------------------------------------------------------------

def maxpool_backward_with(rule="first", step=None):
    def backward(dA, X, size):
        dX = np.zeros_like(X)
        n, C, H, Wd = X.shape
        S = step or size
        for i in range(n):
            for ch in range(C):
                for r in range(H // size):
                    for c in range(Wd // size):
                        rows, cols = slice(r * S, r * S + size), slice(c * S, c * S + size)
                        window = X[i, ch, rows, cols]
                        if rule == "first":
                            a, b = np.unravel_index(np.argmax(window), window.shape)
                            dX[i, ch, r * S + a, c * S + b] = dA[i, ch, r, c]
                        elif rule == "last":
                            k = window.size - 1 - np.argmax(window.ravel()[::-1])
                            dX[i, ch, r * size + k // size, c * size + k % size] = dA[i, ch, r, c]
                        elif rule == "swapped":
                            k = np.argmax(window)
                            dX[i, ch, r * size + k % size, c * size + k // size] = dA[i, ch, r, c]
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


def maxpool_backward_repeat(dA, X, size):
    n, C, H, Wd = X.shape
    A = X.reshape(n, C, H // size, size, Wd // size, size).max(axis=(3, 5))
    up = lambda M: M.repeat(size, axis=2).repeat(size, axis=3)
    return up(dA) * (X == up(A))


def maxpool_backward_in_place(dA, X, size):
    """Zeroes the non-maxima of X itself: right values, X changed (the helpers' input check refuses it)."""
    n, C, H, Wd = X.shape
    for i in range(n):
        for ch in range(C):
            for r in range(H // size):
                for c in range(Wd // size):
                    window = X[i, ch, r * size:(r + 1) * size, c * size:(c + 1) * size]
                    k = np.argmax(window)
                    window[...] = 0
                    window.flat[k] = dA[i, ch, r, c]
    X[:, :, (H // size) * size:, :] = 0
    X[:, :, :, (Wd // size) * size:] = 0
    return X


def maxpool_backward_no_upsampling(dA, X, size):
    return dA * 1.0


# --- bridge_backward: rows of the dense layer back to the last convolution's output --------------------------

def maxpool_backward_cropped(dA, X, size):
    n, C, H, Wd = X.shape
    Ho, Wo = H // size, Wd // size
    dX = np.zeros_like(X)
    dX[:, :, :Ho * size, :Wo * size] = maxpool_backward_reshape(dA, np.ascontiguousarray(X[:, :, :Ho * size, :Wo * size]), size)
    return dX


def bridge_with(reshape="right", mask="pooled"):
    def bridge(dA_rows, Z, size):
        n, F, H, Wd = Z.shape
        Ho, Wo = H // size, Wd // size
        P = Z[:, :, :Ho * size, :Wo * size].reshape(n, F, Ho, size, Wo, size).max(axis=(3, 5))
        if reshape == "right":
            dA = dA_rows.reshape(n, F, Ho, Wo)
        elif reshape == "channels last":
            dA = dA_rows.reshape(n, Ho, Wo, F).transpose(0, 3, 1, 2)
        else:
            dA = dA_rows
        if mask == "pooled":
            dP = dA * (P > 0)
        elif mask == "Z":
            dP = dA * (Z > 0)
        elif mask == "corner":
            dP = dA * (Z[:, :, ::size, ::size] > 0)
        else:
            dP = dA
        return maxpool_backward_cropped(dP, Z, size)
    return bridge


RIGHT = [
    (check.conv_forward, conv_forward_with()),
    (check.conv_forward, conv_forward_vectorised),
    (check.conv_forward, conv_forward_im2col),
    (check.im2col, im2col_loops),
    (check.im2col, im2col_offsets),
    (check.conv_backward, conv_backward_loops),
    (check.conv_backward, conv_backward_im2col),
    (check.maxpool_backward, maxpool_backward_with("first")),
    (check.maxpool_backward, maxpool_backward_with("last")),
    (check.maxpool_backward, maxpool_backward_with("split")),
    (check.maxpool_backward, maxpool_backward_cropped),
    (check.bridge_backward, bridge_with()),
]


@pytest.mark.parametrize("checker, fn", RIGHT)
def test_checker_accepts_a_right_answer(checker, fn, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NN_LEARNER_DIR", str(tmp_path))
    ok, out = run(checker, fn, capsys)
    assert ok is True and "correct!" in out, out


MISTAKES = {
    # conv_forward
    "kernel flipped": (check.conv_forward, conv_forward_with(flip=True), "the kernel is flipped"),
    "kernel transposed": (check.conv_forward, conv_forward_with(kernel_T=True), "the kernel is transposed"),
    "padding ignored": (check.conv_forward, conv_forward_with(use_pad=False), "padding is ignored"),
    "output size without the +1": (check.conv_forward, conv_forward_with(size_plus=0), "one short"),
    "output size + 2": (check.conv_forward, conv_forward_with(size_plus=2), "a window runs past the padded input"),
    "output size ceil": (check.conv_forward, conv_forward_with(size="ceil"), "rounded up (ceil)"),
    "output size round": (check.conv_forward, conv_forward_with(size="round"), "rounded (round)"),
    "+1 inside the division": (check.conv_forward, conv_forward_with(size="+1 inside"), "the + 1 is inside"),
    "padding on one side": (check.conv_forward, conv_forward_with(pad_as="one side"), "one side only"),
    "padding on one side, size counts it once": (check.conv_forward,
                                                  conv_forward_with(pad_as="one side", size="one side"),
                                                  "counts it once"),
    "np.pad on every axis": (check.conv_forward, conv_forward_with(pad_as="np.pad(X, pad)"), "pads every axis"),
    "stride ignored": (check.conv_forward, conv_forward_no_stride, "the stride is ignored"),
    "windows not moved by the stride": (check.conv_forward, conv_forward_with(step=1), "do not move by the stride"),
    "height and width swapped": (check.conv_forward, conv_forward_with(swap=True), "height and width are swapped"),
    "bias forgotten": (check.conv_forward, conv_forward_with(bias=None), "the bias is missing"),
    "bias inside the sum": (check.conv_forward, conv_forward_with(bias="inside"), "once per product"),
    "bias along the last axis": (check.conv_forward, conv_forward_with(bias="last axis"), "along the last axis"),
    "bias summed": (check.conv_forward, conv_forward_with(bias="sum"), "the sum of all the biases"),
    "mean of the window": (check.conv_forward, conv_forward_mean, "averaged (np.mean)"),
    "first channel only": (check.conv_forward, conv_forward_first_channel, "only the first channel"),
    "whole batch summed": (check.conv_forward, conv_forward_whole_batch, "over the whole batch"),
    "ReLU applied": (check.conv_forward, conv_forward_relu, "a ReLU is applied"),
    # im2col
    "im2col at the wrong stride": (check.im2col, im2col_unstrided, "read at the wrong stride"),
    "im2col without padding": (check.im2col, im2col_unpadded, "padding is forgotten"),
    "im2col channels in the wrong order": (check.im2col, im2col_channels_last, "channels are in the wrong order of rows"),
    "im2col samples last": (check.im2col, im2col_samples_last, "columns are in the wrong order"),
    "im2col transposed": (check.im2col, im2col_rows, "the result is transposed"),
    # conv_backward
    "windows assigned": (check.conv_backward, conv_backward_with(dX_op="assign"), "assigned (=) instead of added"),
    "dW assigned": (check.conv_backward, conv_backward_with(dW_batch="assign"), "dW is assigned"),
    "dX without the flip": (check.conv_backward, conv_backward_with(flip=True), "flipped"),
    "dX padded": (check.conv_backward, conv_backward_with(crop=False), "shape of the padded input"),
    "dX cropped with -pad": (check.conv_backward, conv_backward_with(crop="-pad"), "-0 is 0"),
    "dX cropped at the front only": (check.conv_backward, conv_backward_with(crop="front"), "cuts only the first P"),
    "dW from X unpadded": (check.conv_backward, conv_backward_with(dW_from_X=True), "windows of X where the padded"),
    "gradients in another order": (check.conv_backward, conv_backward_with(order="dW first"), "order (dW, dX, db)"),
    "dW per sample": (check.conv_backward, conv_backward_with(dW_batch="per sample"), "one kernel gradient per sample"),
    "dW of the last sample": (check.conv_backward, conv_backward_with(dW_batch="last"), "last sample's gradient"),
    "dW averaged": (check.conv_backward, conv_backward_with(dW_batch="mean"), "dW is divided by n"),
    "dX averaged": (check.conv_backward, conv_backward_dX_mean, "dX is divided by n"),
    "db not summed over the batch": (check.conv_backward, conv_backward_with(db_axes=(2, 3)),
                                     "db is not summed over the batch"),
    "db not summed over the positions": (check.conv_backward, conv_backward_with(db_axes=0),
                                         "db is not summed over the positions"),
    "db over the wrong axes": (check.conv_backward, conv_backward_db_wrong_axes, "summed over the wrong axes"),
    "db averaged": (check.conv_backward, conv_backward_db_mean, "db is divided by n"),
    "backward windows not moved by the stride": (check.conv_backward, conv_backward_with(step=1),
                                                 "do not move by the stride"),
    # maxpool_backward
    "every tied maximum": (check.maxpool_backward, maxpool_backward_with("all ties"), "every tied maximum"),
    "every tied maximum, vectorised": (check.maxpool_backward, maxpool_backward_repeat, "every tied maximum"),
    "spread over the window": (check.maxpool_backward, maxpool_backward_with("spread"), "spread evenly"),
    "copied to the window": (check.maxpool_backward, maxpool_backward_with("copied"), "every entry of the window"),
    "copied with kron": (check.maxpool_backward, maxpool_backward_kron, "np.kron"),
    "pool windows moved by 1": (check.maxpool_backward, maxpool_backward_with("first", step=1), "move by 1 pixel"),
    "row and column swapped": (check.maxpool_backward, maxpool_backward_with("swapped"), "swapped inside the window"),
    "reshape needs whole windows": (check.maxpool_backward, maxpool_backward_reshape, "not a multiple of size"),
    "dA not sent back to the windows": (check.maxpool_backward, maxpool_backward_no_upsampling, "the shape of dA"),
    # bridge_backward
    "bridge: reshape forgotten": (check.bridge_backward, bridge_with(reshape=None), "not reshaped back into maps"),
    "bridge: reshape in the wrong axis order": (check.bridge_backward, bridge_with(reshape="channels last"),
                                                "wrong axis order"),
    "bridge: mask of Z before pooling": (check.bridge_backward, bridge_with(mask="Z"), "taken before pooling"),
    "bridge: mask of the windows' corners": (check.bridge_backward, bridge_with(mask="corner"), "taken before pooling"),
    "bridge: mask forgotten": (check.bridge_backward, bridge_with(mask=None), "the ReLU mask is missing"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_checker_names_the_mistake(mistake, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NN_LEARNER_DIR", str(tmp_path))
    assert_named(*MISTAKES[mistake], capsys)


def test_no_two_mistakes_share_a_message(capsys):
    different_causes = {k: v for k, v in MISTAKES.items() if k not in (
        "copied to the window", "windows assigned", "every tied maximum",
        "bridge: mask of Z before pooling", "bridge: mask of the windows' corners", "output size + 2")}
    assert shared_messages(different_causes, capsys) == []


def test_the_maxpool_checker_says_which_tie_conventions_it_accepts(capsys):
    out = assert_named(check.maxpool_backward, maxpool_backward_with("all ties"), "every tied maximum", capsys)
    assert "the first maximum in reading order" in out and "the last one" in out and "split evenly" in out


def test_named_items_and_no_item_numbers(capsys):
    def dW_wrong(dZ, X, W, stride, pad):
        dX, dW, db = conv_backward_loops(dZ, X, W, stride, pad)
        return dX, dW + 0.5, db
    out = assert_named(check.conv_backward, dW_wrong, "in dW: wrong values", capsys)
    assert "dX and db are right" in out and "item" not in out.lower(), out


@pytest.mark.parametrize("checker", [check.conv_forward, check.im2col, check.conv_backward, check.maxpool_backward,
                                     check.bridge_backward])
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


# --- the package's own functions that do an exercise: refused, with the reason -----------------------------------

def _package_solutions():
    """A learner's function for each exercise of notebook 11 that hands the work to one of the package's
    functions, as a learner who found them would write it: exercise -> [(how, fn, the function named)]."""
    import nn_helpers as nn
    from nn_helpers.autograd import Tensor
    from nn_helpers.conv import im2col as imported_im2col
    from numpy.lib.stride_tricks import sliding_window_view

    def pad(X, P):
        return np.pad(X, ((0, 0), (0, 0), (P, P), (P, P)))

    def conv_via_im2col(X, W, b, stride, pad_):
        F, n = len(W), len(X)
        cols = nn.conv.im2col(X, W.shape[2], stride, pad_)
        Z = W.reshape(F, -1) @ cols + b[:, None]
        return Z.reshape(F, n, -1).reshape(F, n, *[(s + 2 * pad_ - W.shape[2]) // stride + 1 for s in X.shape[2:]]) \
            .transpose(1, 0, 2, 3)

    def conv_via_layer(X, W, b, stride, pad_):
        return nn.conv2d_forward(X, W, b, stride=stride, pad=pad_)[0]

    def backward_via_col2im(dZ, X, W, stride, pad_):
        F, R = len(W), W.shape[2]
        dZ_mat = dZ.transpose(1, 0, 2, 3).reshape(F, -1)
        windows = sliding_window_view(pad(X, pad_), (R, R), axis=(2, 3))[:, :, ::stride, ::stride]
        windows = windows[:, :, : dZ.shape[2], : dZ.shape[3]]                       # (n, C, H_out, W_out, R, R)
        dX = nn.conv.col2im(W.reshape(F, -1).T @ dZ_mat, X.shape, R, stride, pad_)
        return dX, np.einsum("nfyx,ncyxrs->fcrs", dZ, windows), dZ.sum(axis=(0, 2, 3))

    def backward_via_layer(dZ, X, W, stride, pad_):
        _, cache = nn.conv2d_forward(X, W, np.zeros(len(W)), stride=stride, pad=pad_)
        return nn.conv2d_backward(dZ, cache)

    def backward_via_autograd(dZ, X, W, stride, pad_):
        x = Tensor(X, requires_grad=True)
        cols = nn.autograd.im2col(x, W.shape[2], stride=stride, pad=pad_)
        F = len(W)
        dZ_mat = dZ.transpose(1, 0, 2, 3).reshape(F, -1)
        (cols * Tensor(W.reshape(F, -1).T @ dZ_mat)).sum().backward()
        return x.grad, (dZ_mat @ cols.data.T).reshape(W.shape), dZ.sum(axis=(0, 2, 3))

    return {
        "conv_forward": [("im2col", conv_via_im2col, "im2col"), ("conv2d_forward", conv_via_layer, "conv2d_forward")],
        "im2col": [
            ("the old private name", lambda X, R, stride, pad_: nn.conv._im2col(pad(X, pad_), R, stride), "im2col"),
            ("the public one", lambda X, R, stride, pad_: nn.conv.im2col(X, R, stride, pad_), "im2col"),
            ("imported", lambda X, R, stride, pad_: imported_im2col(X, R, stride, pad_), "im2col"),
            ("the engine's", lambda X, R, stride, pad_: nn.autograd.im2col(Tensor(X), R, stride=stride, pad=pad_).data,
             "im2col (nn_helpers.autograd.im2col)"),
            ("a convolution's cache", lambda X, R, stride, pad_: nn.conv2d_forward(
                X, np.zeros((1, X.shape[1], R, R)), np.zeros(1), stride=stride, pad=pad_)[1][0], "conv2d_forward"),
        ],
        "conv_backward": [("col2im", backward_via_col2im, "col2im"), ("conv2d_backward", backward_via_layer,
                                                                       "conv2d_backward"),
                          ("the engine's im2col", backward_via_autograd, "im2col (nn_helpers.autograd.im2col)")],
        "maxpool_backward": [("maxpool_backward", lambda dA, X, size: nn.maxpool_backward(
            dA, nn.maxpool_forward(X, size=size)[1]), "maxpool_")],
    }


PACKAGE_SOLUTIONS = [(name, how, fn, named) for name, entries in _package_solutions().items()
                     for how, fn, named in entries]


@pytest.mark.parametrize("name, how, fn, named", PACKAGE_SOLUTIONS, ids=[f"{n}: {h}" for n, h, *_ in PACKAGE_SOLUTIONS])
def test_a_package_function_that_does_the_exercise_is_refused_and_says_why(name, how, fn, named, capsys, tmp_path,
                                                                           monkeypatch):
    """Each of them computes the right answer (the checker would accept the values), so only the refusal stops
    it: the message names the package's function and what the exercise asks for instead, and nothing is kept."""
    monkeypatch.setenv("NN_LEARNER_DIR", str(tmp_path))
    out = assert_named(getattr(check, name), fn, f"your function uses the package's own function {named}", capsys)
    assert "which does this exercise for you" in out and f"yourself, in my_{name}." in out, out
    assert not (tmp_path / "my_network.py").exists()
    from nn_helpers.check._core import package_allowed
    with package_allowed():                          # the values themselves are right: the refusal is the reason
        assert getattr(check, name)(fn) is True, capsys.readouterr().out
