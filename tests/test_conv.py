"""The convolution and max-pooling layers: forward against loops written from the formula, backward
against central differences (float64), ties, dtypes, and the error messages."""

import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers.conv import _col2im, _im2col, output_size


def conv_loops(X, W, b, stride, pad):
    """Z[i, f, y, x] = sum_{c, r, s} Xp[i, c, S y + r, S x + s] W[f, c, r, s] + b[f], four loops."""
    n, C, H, Wd = X.shape
    F, _, R, _ = W.shape
    Xp = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    H_out, W_out = (H + 2 * pad - R) // stride + 1, (Wd + 2 * pad - R) // stride + 1
    Z = np.zeros((n, F, H_out, W_out))
    for i in range(n):
        for f in range(F):
            for y in range(H_out):
                for x in range(W_out):
                    window = Xp[i, :, stride * y : stride * y + R, stride * x : stride * x + R]
                    Z[i, f, y, x] = np.sum(window * W[f]) + b[f]
    return Z


# (n, C, H, W), (F, R), stride, pad: stride 2, padding, non-square inputs, 1 and 3 channels, n = 1
CASES = [((2, 1, 6, 6), (3, 3), 1, 0), ((1, 3, 7, 5), (2, 3), 2, 1), ((3, 2, 5, 8), (4, 2), 1, 1),
         ((2, 3, 9, 7), (2, 3), 2, 0), ((1, 1, 4, 6), (2, 1), 1, 0), ((2, 2, 6, 4), (3, 4), 2, 2),
         # strides that do not divide H + 2P - R: the last rows (columns) are in no window, and floored away
         ((2, 2, 8, 7), (3, 3), 2, 1), ((1, 2, 10, 9), (2, 3), 3, 0), ((2, 1, 7, 8), (2, 4), 3, 1)]


def random_case(shape, F, R, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=shape).astype(dtype)
    W = rng.normal(size=(F, shape[1], R, R)).astype(dtype)
    b = rng.normal(size=F).astype(dtype)
    return X, W, b


@pytest.mark.parametrize("shape, FR, stride, pad", CASES)
def test_forward_is_the_formula(shape, FR, stride, pad):
    X, W, b = random_case(shape, *FR)
    Z, _ = nn.conv2d_forward(X, W, b, stride=stride, pad=pad)
    assert np.allclose(Z, conv_loops(X, W, b, stride, pad), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, FR, stride, pad", CASES)
def test_backward_matches_central_differences(shape, FR, stride, pad):
    X, W, b = random_case(shape, *FR, seed=1)
    Z, cache = nn.conv2d_forward(X, W, b, stride=stride, pad=pad)
    dZ = np.random.default_rng(2).normal(size=Z.shape)
    dX, dW, db = nn.conv2d_backward(dZ, cache)
    f = lambda X_, W_, b_: nn.conv2d_forward(X_, W_, b_, stride=stride, pad=pad)[0]
    assert nn.relative_error(dX, nn.numerical_vjp(lambda v: f(v, W, b), X, dZ)) < 1e-7
    assert nn.relative_error(dW, nn.numerical_vjp(lambda v: f(X, v, b), W, dZ)) < 1e-7
    assert nn.relative_error(db, nn.numerical_vjp(lambda v: f(X, W, v), b, dZ)) < 1e-7
    assert dX.shape == X.shape and dW.shape == W.shape and db.shape == b.shape


def test_a_broken_backward_fails_the_check():
    """Negative control: col2im that assigns overlapping windows (=) instead of adding them."""
    X, W, b = random_case((2, 2, 6, 6), 3, 3, seed=3)
    Z, cache = nn.conv2d_forward(X, W, b, stride=1, pad=1)
    dZ = np.random.default_rng(4).normal(size=Z.shape)
    cols, shape, W_, S, P = cache
    dcols = W.reshape(3, -1).T @ dZ.transpose(1, 0, 2, 3).reshape(3, -1)     # (C R R, n H_out W_out)
    d = dcols.reshape(2, 3, 3, 2, 6, 6).transpose(3, 0, 1, 2, 4, 5)          # (n, C, R, R, H_out, W_out)
    dXp = np.zeros((2, 2, 8, 8))
    for r in range(3):
        for s in range(3):
            dXp[:, :, r : r + 6, s : s + 6] = d[:, :, r, s]          # the bug: = instead of +=
    numeric = nn.numerical_vjp(lambda v: nn.conv2d_forward(v, W, b, stride=1, pad=1)[0], X, dZ)
    assert nn.relative_error(dXp[:, :, 1:-1, 1:-1], numeric) > 1e-2
    assert nn.relative_error(nn.conv2d_backward(dZ, cache)[0], numeric) < 1e-7


def test_col2im_is_the_adjoint_of_im2col():
    """<im2col(X), D> = <X, col2im(D)> for any X and D: the backward pass of the reshaping."""
    rng = np.random.default_rng(5)
    Xp = rng.normal(size=(2, 3, 7, 9))
    cols = _im2col(Xp, 3, 2)
    D = rng.normal(size=cols.shape)
    assert np.isclose(np.sum(cols * D), np.sum(Xp * _col2im(D, Xp.shape, 3, 2)), rtol=1e-12)


def test_float32_in_float32_out_and_inputs_unchanged():
    X, W, b = random_case((2, 3, 8, 6), 4, 3, dtype=np.float32)
    Z, cache = nn.conv2d_forward(X, W, b, stride=1, pad=1)
    dZ = np.ones_like(Z)
    before = [a.copy() for a in (X, W, b, dZ, cache[0])]
    dX, dW, db = nn.conv2d_backward(dZ, cache)
    assert Z.dtype == dX.dtype == dW.dtype == db.dtype == np.float32
    assert all(np.array_equal(x, y) for x, y in zip(before, (X, W, b, dZ, cache[0])))
    A, pcache = nn.maxpool_forward(Z, size=2)
    assert A.dtype == nn.maxpool_backward(np.ones_like(A), pcache).dtype == np.float32


def test_first_layer_can_skip_dX():
    X, W, b = random_case((2, 1, 6, 6), 2, 3)
    Z, cache = nn.conv2d_forward(X, W, b)
    dX, dW, db = nn.conv2d_backward(np.ones_like(Z), cache, need_dX=False)
    full = nn.conv2d_backward(np.ones_like(Z), cache)
    assert dX is None and np.array_equal(dW, full[1]) and np.array_equal(db, full[2])


def test_maxpool_forward_is_the_max_of_each_window():
    X = np.random.default_rng(6).normal(size=(2, 3, 6, 4))
    A, _ = nn.maxpool_forward(X, size=2)
    loops = np.array([[[[X[i, c, 2 * y : 2 * y + 2, 2 * x : 2 * x + 2].max() for x in range(2)] for y in range(3)]
                       for c in range(3)] for i in range(2)])
    assert np.array_equal(A, loops)


@pytest.mark.parametrize("shape, size", [((2, 3, 6, 4), 2), ((1, 2, 7, 5), 2), ((2, 1, 9, 6), 3)])
def test_maxpool_backward_matches_central_differences_without_ties(shape, size):
    rng = np.random.default_rng(7)
    X = rng.permutation(np.prod(shape)).reshape(shape) / 10.0         # distinct values: no ties, no kink within h
    A, cache = nn.maxpool_forward(X, size=size)
    dA = rng.normal(size=A.shape)
    numeric = nn.numerical_vjp(lambda v: nn.maxpool_forward(v, size=size)[0], X, dA)
    assert nn.relative_error(nn.maxpool_backward(dA, cache), numeric) < 1e-7


def test_maxpool_tie_sends_the_gradient_to_the_first_maximum_only():
    X = np.zeros((1, 1, 4, 4))                   # all four entries of every window tie (background after ReLU)
    X[0, 0, 2, 3] = X[0, 0, 3, 2] = 1.0          # the bottom-right window: a tie between two of them
    A, cache = nn.maxpool_forward(X, size=2)
    dX = nn.maxpool_backward(np.full(A.shape, 5.0), cache)
    expected = np.zeros((4, 4))
    expected[0, 0] = expected[0, 2] = expected[2, 0] = 5.0     # first entry of each tied window (as argmax)
    expected[2, 3] = 5.0                                       # first of the two maxima in reading order
    assert np.array_equal(dX[0, 0], expected)
    assert dX.sum() == 5.0 * A.size                            # never every tied entry


def test_maxpool_drops_the_rows_beyond_the_last_window():
    X = np.arange(2 * 5 * 5, dtype=float).reshape(1, 2, 5, 5)
    A, cache = nn.maxpool_forward(X, size=2)
    dX = nn.maxpool_backward(np.ones_like(A), cache)
    assert A.shape == (1, 2, 2, 2) and dX.shape == X.shape
    assert not dX[:, :, 4, :].any() and not dX[:, :, :, 4].any()


@pytest.mark.parametrize("X, message", [
    (np.zeros((5, 28, 28)), "conv2d expects (n, C, H, W); add the channel axis with X[:, None]"),
    (np.zeros((5, 784)), "X.reshape(-1, 1, 28, 28)"),
    (np.zeros((5, 3, 8, 8)), "X has 3 channels, W expects 1"),
    (np.zeros((5, 8, 8, 1)), "Did you pass NHWC images? Use X.transpose(0, 3, 1, 2)"),
    (np.zeros((5, 1, 8, 8), dtype=np.uint8), "X.astype(np.float32) / 255"),
])
def test_conv_errors_say_how_to_fix_the_input(X, message):
    with pytest.raises(ValueError) as err:
        nn.conv2d_forward(X, np.zeros((2, 1, 3, 3)), np.zeros(2))
    assert message in str(err.value)


def torch_output_size(size, kernel, stride, pad, dilation=1):
    """PyTorch's documented formula for Conv2d and MaxPool2d (torch.nn docs, "Shape"), written as it is there."""
    return int(np.floor((size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1))


def test_output_size_is_pytorchs_formula():
    checked = 0
    for size in range(1, 40):
        for R in range(1, 8):
            for stride in range(1, 6):
                for pad in range(0, 4):
                    if size + 2 * pad < R:
                        continue
                    assert output_size(size, R, stride, pad) == torch_output_size(size, R, stride, pad), (size, R, stride, pad)
                    checked += 1
    assert checked > 5_000
    for H in range(2, 40):                                           # max pooling: window = stride = size
        for size in (2, 3, 4):
            if H >= size:
                assert nn.maxpool_forward(np.zeros((1, 1, H, H + 1)), size=size)[0].shape[2:] == (
                    torch_output_size(H, size, size, 0), torch_output_size(H + 1, size, size, 0))


def test_rows_beyond_the_last_window_are_never_read():
    """3x3 kernel, padding 1, stride 2 on 28 pixels (H + 2P - R = 27, odd): 14 outputs; the last padded row
    (row 29, a padding zero) and, for padding 0, the input's last row get no gradient and change nothing."""
    X, W, b = random_case((2, 1, 8, 8), 2, 3, seed=8)
    Z, cache = nn.conv2d_forward(X, W, b, stride=2, pad=0)            # (8 - 3) / 2: 2.5 -> 2, so 3 outputs
    assert Z.shape == (2, 2, 3, 3)
    X2 = X.copy()
    X2[:, :, 7, :] = 100.0                                            # the last row: in no window
    X2[:, :, :, 7] = 100.0
    assert np.array_equal(nn.conv2d_forward(X2, W, b, stride=2, pad=0)[0], Z)
    dX = nn.conv2d_backward(np.ones_like(Z), cache)[0]
    assert not dX[:, :, 7, :].any() and not dX[:, :, :, 7].any() and dX[:, :, 6, :].any()
    assert nn.conv2d_forward(np.zeros((1, 1, 28, 28)), np.zeros((2, 1, 3, 3)), np.zeros(2), stride=2, pad=1)[0].shape == (1, 2, 14, 14)


def test_conv_errors_on_weights_and_bias():
    X = np.zeros((2, 1, 28, 28))
    with pytest.raises(ValueError, match=r"expected \(F, C, R, R\)"):
        nn.conv2d_forward(X, np.zeros((2, 1, 3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="one bias per filter"):
        nn.conv2d_forward(X, np.zeros((2, 1, 3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="larger than the padded input"):
        nn.conv2d_forward(np.zeros((1, 1, 2, 2)), np.zeros((2, 1, 3, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="maxpool expects"):
        nn.maxpool_forward(np.zeros((2, 28, 28)))


@pytest.mark.parametrize("shape, FR, stride, pad, pool", [((3, 2, 8, 8), (4, 3), 1, 1, 2), ((2, 3, 9, 7), (5, 3), 1, 1, 2),
                                                          ((2, 1, 12, 12), (3, 3), 2, 0, 2), ((2, 2, 9, 9), (3, 3), 1, 1, 3)])
def test_conv_pool_is_the_convolution_then_the_pooling(shape, FR, stride, pad, pool):
    from nn_helpers.conv import conv_pool_backward, conv_pool_forward
    X, W, b = random_case(shape, *FR)
    Z, conv_cache = nn.conv2d_forward(X, W, b, stride=stride, pad=pad)
    A, pool_cache = nn.maxpool_forward(Z, size=pool)
    A2, cache = conv_pool_forward(X, W, b, stride=stride, pad=pad, pool=pool)
    assert A2.shape == A.shape and np.allclose(A2, A, rtol=0, atol=1e-12)
    dA = np.random.default_rng(8).normal(size=A.shape)
    expected = nn.conv2d_backward(nn.maxpool_backward(dA, pool_cache), conv_cache)
    for name, got, want in zip(("dX", "dW", "db"), conv_pool_backward(dA, cache), expected):
        assert np.allclose(got, want, rtol=0, atol=1e-12), name
    assert conv_pool_backward(dA, cache, need_dX=False)[0] is None


def test_conv_pool_ties_send_the_gradient_to_the_first_maximum_as_maxpool_does():
    from nn_helpers.conv import conv_pool_backward, conv_pool_forward
    X = np.zeros((1, 1, 6, 6))
    X[0, 0, 2, 3] = X[0, 0, 3, 2] = 1.0            # ties inside windows, and flat zero windows elsewhere
    W, b = np.ones((1, 1, 1, 1)), np.array([0.5])   # a 1x1 convolution: Z = X + 0.5, the ties kept
    A, cache = conv_pool_forward(X, W, b, pool=2)
    dX, dW, db = conv_pool_backward(np.full(A.shape, 5.0), cache)
    Z, conv_cache = nn.conv2d_forward(X, W, b)
    _, pool_cache = nn.maxpool_forward(Z, size=2)
    assert np.array_equal(dX, nn.conv2d_backward(nn.maxpool_backward(np.full(A.shape, 5.0), pool_cache), conv_cache)[0])
    assert dX.sum() == 5.0 * A.size                 # one entry of each window, never every tied one
