"""Convolution and max pooling layers, arrays in NCHW order (notebooks/NOTATION.md).

A convolution layer slides F filters of C x R x R weights over an image of C channels (the
cross-correlation, as every framework computes it, without flipping the kernel). With the input padded
by P zeros on each side and the filter moved S pixels at a time:

    Z[i, f, y, x] = sum_{c, r, s} Xp[i, c, S y + r, S x + s] W[f, c, r, s] + b[f]
    H_out = floor((H_in + 2P - R) / S) + 1,      W_out = floor((W_in + 2P - R) / S) + 1

floored, as PyTorch and TensorFlow ("valid" windows) do: when S does not divide H_in + 2P - R, the last
(H_in + 2P - R) mod S rows of the padded input (and columns alike) are in no window; they are never read,
and their gradient is 0.

    X (n, C, H_in, W_in),  W (F, C, R, R),  b (F,),  Z (n, F, H_out, W_out)

im2col turns it into one matrix product: every window of the padded input becomes a column of
``cols`` (C R R, n H_out W_out), and ``Z_mat = W_mat cols + b`` with ``W_mat = W.reshape(F, C R R)``,
``Z_mat`` (F, n H_out W_out). The backward pass, for the upstream gradient dZ (the shape of Z):

    db[f] = sum_{i, y, x} dZ[i, f, y, x]
    dW = dZ_mat cols^T                      the correlation of the input with dZ
    dX = col2im(W_mat^T dZ_mat)             every window adds its share back where it came from
                                            (the "full" convolution of dZ with the flipped kernel)

Max pooling of size s (stride s) keeps the largest of every s x s window:

    A[i, c, y, x] = max_{r, t < s} X[i, c, s y + r, s x + t],     H_out = floor((H_in - s) / s) + 1 = H_in // s

and its backward pass sends each dA[i, c, y, x] to the entry that was the maximum. When several entries
of a window tie for the maximum (the flat background of a digit, all 0 after ReLU), the gradient goes
to one of them only: the first in reading order, as ``argmax`` picks it. Rows or columns beyond the last
whole window (H_in not a multiple of s) are dropped, as in the frameworks, and get gradient 0.

float32 in, float32 out; float64 in, float64 out (for gradient checks).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _check_images(X: np.ndarray, name: str = "conv2d") -> np.ndarray:
    """Raise a ValueError that says how to fix ``X`` when it is not a float (n, C, H, W) array."""
    X = np.asarray(X)
    if X.ndim == 2:
        side = int(round(np.sqrt(X.shape[1]))) if X.shape[1] else 0
        fix = f"X.reshape(-1, 1, {side}, {side})" if side * side == X.shape[1] and side else "X.reshape(n, C, H, W)"
        raise ValueError(f"X has shape {X.shape}: feature rows; {name} needs images (n, C, H, W): {fix}.")
    if X.ndim == 3:
        raise ValueError(f"X has shape {X.shape}; {name} expects (n, C, H, W); add the channel axis with X[:, None].")
    if X.ndim != 4:
        raise ValueError(f"X has shape {X.shape}; {name} expects 4 axes (n, C, H, W).")
    if not np.issubdtype(X.dtype, np.floating):
        raise ValueError(f"X has dtype {X.dtype}; {name} expects floats, e.g. X.astype(np.float32) / 255.")
    return X


def output_size(size: int, R: int, stride: int = 1, pad: int = 0, axis: str = "H") -> int:
    """``floor((size + 2 pad - R) / stride) + 1``: how many windows of R pixels, one every ``stride`` pixels,
    fit in ``size`` pixels padded by ``pad`` on each side (the rule of PyTorch's ``Conv2d`` and ``MaxPool2d``).

    When ``stride`` does not divide ``size + 2 pad - R``, the last ``(size + 2 pad - R) % stride`` rows are in no
    window: they are dropped. A ValueError says how to fix a kernel larger than the padded input.
    """
    span = size + 2 * pad - R
    if span < 0:
        raise ValueError(f"{axis}_in + 2P - R = {size} + {2 * pad} - {R} = {span} < 0: the {R}x{R} kernel is "
                         f"larger than the padded input; pad more or use a smaller kernel.")
    return span // stride + 1


def _check_conv(X, W, b, stride, pad):
    X = _check_images(X)
    W, b = np.asarray(W), np.asarray(b)
    if W.ndim != 4 or W.shape[2] != W.shape[3]:
        raise ValueError(f"W has shape {W.shape}; expected (F, C, R, R): F filters of C channels, R x R each.")
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X has {X.shape[1]} channels, W expects {W.shape[1]}: X is (n, C, H, W), W (F, C, R, R)."
                         + (" Did you pass NHWC images? Use X.transpose(0, 3, 1, 2)." if X.shape[3] == W.shape[1] else ""))
    if b.shape != (W.shape[0],):
        raise ValueError(f"b has shape {b.shape}; expected ({W.shape[0]},), one bias per filter.")
    if int(stride) != stride or stride < 1 or int(pad) != pad or pad < 0:
        raise ValueError(f"stride={stride}, pad={pad}; expected a stride of at least 1 and a padding of at least 0.")
    return X, W, b


def channels_first(shape: tuple, dtype, fill=None) -> np.ndarray:
    """A new array of ``shape`` (n, C, H, W), laid out channels first (C, n, H, W) in memory, as
    :func:`conv2d_forward` returns Z: the layers after a convolution keep that layout (their outputs too), so
    the next im2col and the backward pass's ``dZ_mat`` read whole rows and nothing is reordered. Empty, or
    filled with ``fill``."""
    n, C, H, W = shape
    out = np.empty((C, n, H, W), dtype=dtype).transpose(1, 0, 2, 3)
    if fill is not None:
        out.fill(fill)
    return out


def as_channels_first(X: np.ndarray) -> np.ndarray:
    """``X`` (n, C, H, W) itself when it is laid out channels first in memory, else a copy that is."""
    if X.strides[1] >= X.strides[0]:
        return X
    out = channels_first(X.shape, X.dtype)
    out[...] = X
    return out


def pad_images(X: np.ndarray, pad: int) -> np.ndarray:
    """``X`` (n, C, H, W) with ``pad`` zeros added on each side of every map: (n, C, H + 2P, W + 2P), laid out
    channels first (C, n, H + 2P, W + 2P) in memory, the order :func:`im2col` reads. ``pad=0`` returns ``X``
    itself (no copy)."""
    if not pad:
        return X
    n, C, H, W = X.shape
    Xp = channels_first((n, C, H + 2 * pad, W + 2 * pad), X.dtype, fill=0)    # one zeroed buffer, the maps into it
    Xp[:, :, pad : pad + H, pad : pad + W] = X
    return Xp


def crop_images(Xp: np.ndarray, pad: int) -> np.ndarray:
    """The inverse of :func:`pad_images` for a gradient: drop ``pad`` rows and columns on each side, a view."""
    return Xp[:, :, pad : Xp.shape[2] - pad, pad : Xp.shape[3] - pad] if pad else Xp


def im2col(X: np.ndarray, R: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The R x R windows of the input ``X`` (n, C, H_in, W_in), padded with ``pad`` zeros on each side, as
    columns: ``cols`` (C R R, n H_out W_out).

    Row ``(c, r, s)`` of ``cols`` holds pixel ``(S y + r, S x + s)`` of channel c of the padded input for every
    window ``(i, y, x)``, the rows in the order of ``W[f].reshape(-1)``. One loop over the R x R kernel offsets
    (r, s): offset (r, s) of every window at once is the strided slice ``Xp[:, :, r : r + S H_out : S, s : ...]``.
    (The product is then ``W_mat cols``; with the samples last, every copy here and in :func:`col2im` moves
    whole rows of pixels, which is several times faster than samples first.)
    """
    Xp = pad_images(X, pad)
    n, C, H, W = Xp.shape
    H_out, W_out = (H - R) // stride + 1, (W - R) // stride + 1
    channels_first = Xp.transpose(1, 0, 2, 3)                              # (C, n, H, W), a view (contiguous
                                                                           # after pad_images)
    cols = np.empty((C, R, R, n, H_out, W_out), dtype=Xp.dtype)
    for r in range(R):
        for s in range(R):
            cols[:, r, s] = channels_first[:, :, r : r + stride * H_out : stride, s : s + stride * W_out : stride]
    return cols.reshape(C * R * R, n * H_out * W_out)


def col2im(dcols: np.ndarray, shape: tuple, R: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The adjoint of :func:`im2col`: add each column of ``dcols`` (C R R, n H_out W_out) back onto the
    window it came from, then drop the padding: an array of the input's ``shape`` (n, C, H_in, W_in).

    The same loop over the R x R offsets (r, s) as :func:`im2col`. Windows overlap when S < R, so the
    contributions are added (``+=``), never assigned.
    """
    n, C, H, W = shape[0], shape[1], shape[2] + 2 * pad, shape[3] + 2 * pad
    H_out, W_out = (H - R) // stride + 1, (W - R) // stride + 1
    d = dcols.reshape(C, R, R, n, H_out, W_out)
    dXp = np.zeros((C, n, H, W), dtype=dcols.dtype)                        # channels first, as in im2col
    for r in range(R):
        for s in range(R):
            dXp[:, :, r : r + stride * H_out : stride, s : s + stride * W_out : stride] += d[:, r, s]
    return crop_images(dXp.transpose(1, 0, 2, 3), pad)                    # (n, C, H_in, W_in), a view


#: The names other modules imported before im2col and col2im were public (padded input, pad 0).
_im2col, _col2im = im2col, col2im


def _pooled_offsets(R: int, stride: int, pool: int):
    """The (r, s, dy, dx) of :func:`im2col_pooled`'s loop, and where offset (r, s) of the windows at pooling
    offset (dy, dx) starts in the padded input: row ``r + S dy``, column ``s + S dx``."""
    return [(r, s, dy, dx, r + stride * dy, s + stride * dx)
            for r in range(R) for s in range(R) for dy in range(pool) for dx in range(pool)]


def im2col_pooled(X: np.ndarray, R: int, stride: int = 1, pad: int = 0, pool: int = 2) -> np.ndarray:
    """:func:`im2col` with the windows in another order, for a convolution followed by ``pool`` x ``pool`` max
    pooling: ``cols`` (C R R, p p n H_p W_p), p = ``pool``, H_p = H_out // p, W_p = W_out // p.

    Output pixel (y, x) = (p y' + dy, p x' + dx) is column ``((dy p + dx) n + i) H_p W_p + y' W_p + x'``: the
    columns come in p^2 blocks, block k = dy p + dx holding entry k (reading order) of every pooling window. The
    product ``W_mat cols`` then has the p^2 entries of each window in p^2 contiguous blocks, and the pooling
    compares whole blocks (:func:`conv_pool_forward`) instead of strided views. Output rows and columns beyond the
    last whole pooling window (H_out not a multiple of p) are left out: the pooling would drop them.
    """
    Xp = pad_images(X, pad)
    n, C, H, W = Xp.shape
    H_p, W_p = ((H - R) // stride + 1) // pool, ((W - R) // stride + 1) // pool
    step = stride * pool                                                   # between two windows' entry k
    src = Xp.transpose(1, 0, 2, 3)                                         # (C, n, H, W), contiguous
    cols = np.empty((C, R, R, pool, pool, n, H_p, W_p), dtype=Xp.dtype)
    for r, s, dy, dx, y0, x0 in _pooled_offsets(R, stride, pool):
        cols[:, r, s, dy, dx] = src[:, :, y0 : y0 + step * H_p : step, x0 : x0 + step * W_p : step]
    return cols.reshape(C * R * R, pool * pool * n * H_p * W_p)


def col2im_pooled(dcols: np.ndarray, shape: tuple, R: int, stride: int = 1, pad: int = 0, pool: int = 2) -> np.ndarray:
    """The adjoint of :func:`im2col_pooled` (as :func:`col2im` is of :func:`im2col`): ``dcols``
    (C R R, p p n H_p W_p) -> the input's ``shape`` (n, C, H_in, W_in), laid out channels first."""
    n, C, H, W = shape[0], shape[1], shape[2] + 2 * pad, shape[3] + 2 * pad
    H_p, W_p = ((H - R) // stride + 1) // pool, ((W - R) // stride + 1) // pool
    step = stride * pool
    d = dcols.reshape(C, R, R, pool, pool, n, H_p, W_p)
    dXp = np.zeros((C, n, H, W), dtype=dcols.dtype)
    for r, s, dy, dx, y0, x0 in _pooled_offsets(R, stride, pool):
        dXp[:, :, y0 : y0 + step * H_p : step, x0 : x0 + step * W_p : step] += d[:, r, s, dy, dx]
    return crop_images(dXp.transpose(1, 0, 2, 3), pad)


def conv2d_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray, *, stride: int = 1, pad: int = 0):
    """Convolution layer: ``X`` (n, C, H_in, W_in), ``W`` (F, C, R, R), ``b`` (F,) -> ``Z`` (n, F, H_out, W_out).

        Z[i, f, y, x] = sum_{c, r, s} Xp[i, c, S y + r, S x + s] W[f, c, r, s] + b[f]
        H_out = floor((H_in + 2P - R) / S) + 1   (Xp: X padded with P zeros on each side; rows beyond the
                                                  last window are never read)

    As one matrix product: ``Z_mat = W_mat cols + b`` with ``W_mat = W.reshape(F, C R R)`` and ``cols``
    (C R R, n H_out W_out) the windows of Xp (see :func:`im2col`).
    Returns ``(Z, cache)``; the cache ``(cols, X.shape, W, stride, pad)`` holds what
    :func:`conv2d_backward` needs. ``Z`` is ``Z_mat`` read as (n, F, H_out, W_out), a view laid out channels
    first (F, n, H_out, W_out) in memory: NumPy's element-wise operations and the next im2col read it as fast
    as a contiguous array, and no copy is made to reorder it.
    """
    X, W, b = _check_conv(X, W, b, stride, pad)
    n, C, H_in, W_in = X.shape
    F, _, R, _ = W.shape
    H_out, W_out = output_size(H_in, R, stride, pad, "H"), output_size(W_in, R, stride, pad, "W")
    cols = im2col(X, R, stride, pad)                                # (C R R, n H_out W_out)
    Z = W.reshape(F, -1) @ cols                                     # (F, n H_out W_out)
    Z += b[:, None]
    Z = Z.reshape(F, n, H_out, W_out).transpose(1, 0, 2, 3)         # (n, F, H_out, W_out), a view
    return Z, (cols, X.shape, W, stride, pad)


def conv2d_backward(dZ: np.ndarray, cache, *, need_dX: bool = True):
    """Gradients of a convolution layer: ``dZ`` (n, F, H_out, W_out) -> ``(dX, dW, db)``, each the shape of
    ``X``, ``W``, ``b``; ``dZ`` and the cache are left as they are.

        db = sum of dZ over i, y, x,    dW = dZ_mat cols^T,    dX = col2im(W_mat^T dZ_mat)

    with ``dZ_mat`` (F, n H_out W_out). ``need_dX=False`` skips dX (returned as None): the first layer's dX
    is the gradient with respect to the images, which training does not use. ``dX`` is a view laid out
    channels first (C, n, H_in, W_in) in memory, as the forward pass's ``Z``.
    """
    cols, X_shape, W, stride, pad = cache
    n, C, H_in, W_in = X_shape
    F, _, R, _ = W.shape
    if dZ.ndim != 4 or dZ.shape[:2] != (n, F):
        raise ValueError(f"dZ has shape {dZ.shape}; expected ({n}, {F}, H_out, W_out), the shape of Z.")
    dZ_mat = np.ascontiguousarray(dZ.transpose(1, 0, 2, 3)).reshape(F, -1)    # (F, n H_out W_out); no copy when
                                                                               # dZ is laid out channels first
    db = dZ_mat.sum(axis=1)
    dW = (dZ_mat @ cols.T).reshape(W.shape)
    if not need_dX:
        return None, dW, db
    dcols = W.reshape(F, -1).T @ dZ_mat                             # (C R R, n H_out W_out)
    return col2im(dcols, X_shape, R, stride, pad), dW, db             # channels first in memory, as Z


def _offsets(X: np.ndarray, size: int):
    """The ``size`` x ``size`` views ``X[:, :, r::size, t::size]`` (cropped to whole windows), in reading
    order (r, t): view k holds entry k of every window."""
    H_out, W_out = X.shape[2] // size, X.shape[3] // size
    return [X[:, :, r : size * H_out : size, t : size * W_out : size] for r in range(size) for t in range(size)]


def maxpool_forward(X: np.ndarray, *, size: int = 2):
    """Max pooling over ``size`` x ``size`` windows, stride ``size``: ``X`` (n, C, H_in, W_in) ->
    ``A`` (n, C, H_in // size, W_in // size).

        A[i, c, y, x] = max_{r, t < size} X[i, c, size y + r, size x + t]

    One loop over the size^2 offsets of a window, each a strided view of all windows at once. Returns
    ``(A, cache)``; the cache ``(X.shape, first, size)`` keeps, for each offset k (0 .. size^2 - 1, in reading
    order), the boolean map ``first[k]`` (n, C, H_out, W_out) of the windows whose first maximum is entry k,
    the entry ``argmax`` would pick.
    """
    X = _check_images(X, "maxpool")
    if int(size) != size or size < 1:
        raise ValueError(f"size={size}; expected a window of at least 1 pixel, e.g. 2.")
    if X.shape[2] < size or X.shape[3] < size:
        raise ValueError(f"X has {X.shape[2]}x{X.shape[3]} pixels, fewer than one {size}x{size} window; use a smaller size.")
    views = _offsets(X, size)
    A = channels_first(views[0].shape, X.dtype)                     # (n, C, H_out, W_out), channels first
    np.copyto(A, views[0])
    for view in views[1:]:
        np.maximum(A, view, out=A)
    first, taken = [], channels_first(A.shape, bool, fill=False)
    for view in views[:-1]:
        is_first = np.equal(view, A, out=channels_first(A.shape, bool))
        is_first &= ~taken                      # a maximum, and no earlier entry of its window was one
        first.append(is_first)
        taken |= is_first
    first.append(~taken)
    return A, (X.shape, first, size)


def maxpool_backward(dA: np.ndarray, cache) -> np.ndarray:
    """Gradient of max pooling: ``dA`` (n, C, H_out, W_out) -> ``dX`` (n, C, H_in, W_in).

    Each ``dA[i, c, y, x]`` goes to the entry of its window that was the (first) maximum; every other entry,
    and the rows and columns beyond the last window, get 0. ``dX`` is laid out channels first (C, n, H_in, W_in)
    in memory (:func:`channels_first`), the order :func:`conv2d_backward` reads its ``dZ`` in.
    """
    shape, first, size = cache
    if dA.shape != first[0].shape:
        raise ValueError(f"dA has shape {dA.shape}; expected {first[0].shape}, the shape of A.")
    whole = shape[2] % size == 0 and shape[3] % size == 0     # then every entry is in one window: no zeros needed
    dX = channels_first(shape, dA.dtype, fill=None if whole else 0)
    dA = as_channels_first(dA)                  # the layout of the masks: the loop below reads whole rows
    for view, is_first in zip(_offsets(dX, size), first):
        np.multiply(dA, is_first, out=view)
    return dX


def _first_maxima(blocks, A: np.ndarray) -> list:
    """For entries ``blocks`` (the p^2 arrays of one pooling window's entries, in reading order) and their
    maximum ``A``: the boolean maps of the windows whose first maximum is entry k, one per k (as ``argmax``
    picks it). Each map has the layout of ``A``."""
    first, taken = [], np.zeros(A.shape, dtype=bool)
    for block in blocks[:-1]:
        is_first = np.equal(block, A, out=np.empty(A.shape, dtype=bool))
        is_first &= ~taken                      # a maximum, and no earlier entry of its window was one
        first.append(is_first)
        taken |= is_first
    first.append(~taken)
    return first


def conv_pool_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray, *, stride: int = 1, pad: int = 0, pool: int = 2):
    """A convolution followed by ``pool`` x ``pool`` max pooling, in one layer: ``X`` (n, C, H_in, W_in) ->
    ``A`` (n, F, H_out // p, W_out // p), the values of ``maxpool_forward(conv2d_forward(X, W, b)[0], size=p)``.

        A[i, f, y', x'] = max_{dy, dx < p} Z[i, f, p y' + dy, p x' + dx] + b[f],    Z = conv(X, W) without b

    The bias is added after the maximum (max_k (z_k + b) = max_k z_k + b, on a quarter of the values for p = 2).
    :func:`im2col_pooled` orders the columns so that the product ``W_mat cols`` holds the p^2 entries of every
    window in p^2 contiguous blocks: the pooling compares whole blocks (fast element-wise passes) instead of the
    strided views :func:`maxpool_forward` reads. ``A`` is laid out channels first (F, n, H_p, W_p) in memory.
    The cache ``(cols, X.shape, W, stride, pad, pool, first)``: ``first[k]`` (F, n, H_p, W_p) marks the windows
    whose first maximum (reading order) is entry k, where :func:`conv_pool_backward` sends the gradient.
    """
    X, W, b = _check_conv(X, W, b, stride, pad)
    if int(pool) != pool or pool < 1:
        raise ValueError(f"pool={pool}; expected a window of at least 1 pixel, e.g. 2.")
    n, C, H_in, W_in = X.shape
    F, _, R, _ = W.shape
    H_p = output_size(H_in, R, stride, pad, "H") // pool
    W_p = output_size(W_in, R, stride, pad, "W") // pool
    if not H_p or not W_p:
        raise ValueError(f"the convolution's output is smaller than one {pool}x{pool} pooling window; use a smaller pool.")
    cols = im2col_pooled(X, R, stride, pad, pool)                   # (C R R, p p n H_p W_p)
    Z = (W.reshape(F, -1) @ cols).reshape(F, pool * pool, n, H_p, W_p)
    blocks = [Z[:, k] for k in range(pool * pool)]                  # each (F, n, H_p, W_p), rows contiguous
    A = blocks[0].copy() if len(blocks) == 1 else np.maximum(blocks[0], blocks[1])
    for block in blocks[2:]:
        np.maximum(A, block, out=A)
    first = _first_maxima(blocks, A)
    A += b.reshape(-1, 1, 1, 1)
    return A.transpose(1, 0, 2, 3), (cols, X.shape, W, stride, pad, pool, first)


def conv_pool_backward(dA: np.ndarray, cache, *, need_dX: bool = True):
    """Gradients of :func:`conv_pool_forward`: ``dA`` (n, F, H_p, W_p) -> ``(dX, dW, db)``.

        dZ (entry k of every window) = dA * first[k],    db = sum of dA over i, y', x',
        dW = dZ_mat cols^T,    dX = col2im_pooled(W_mat^T dZ_mat)

    ``need_dX=False`` skips dX (None), as in :func:`conv2d_backward`.
    """
    cols, X_shape, W, stride, pad, pool, first = cache
    F, _, R, _ = W.shape
    if dA.shape[1:] != (F, *first[0].shape[2:]) or dA.shape[0] != first[0].shape[1]:
        raise ValueError(f"dA has shape {dA.shape}; expected {(first[0].shape[1], F, *first[0].shape[2:])}, the shape of A.")
    dA_cf = as_channels_first(dA).transpose(1, 0, 2, 3)            # (F, n, H_p, W_p), contiguous
    dZ = np.empty((F, len(first), *dA_cf.shape[1:]), dtype=dA.dtype)
    for k, is_first in enumerate(first):
        np.multiply(dA_cf, is_first, out=dZ[:, k])
    dZ_mat = dZ.reshape(F, -1)
    db = dA_cf.reshape(F, -1).sum(axis=1)
    dW = (dZ_mat @ cols.T).reshape(W.shape)
    if not need_dX:
        return None, dW, db
    return col2im_pooled(W.reshape(F, -1).T @ dZ_mat, X_shape, R, stride, pad, pool), dW, db
