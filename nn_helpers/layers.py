"""Layers: each one a pair of pure functions in one contract (CS231n's), and a small class that names its
parameters in the flat ``params`` dict, so that :class:`~nn_helpers.model.Sequential` can chain any of them.

The functions (arrays in, arrays out; nothing stored anywhere, ``dout`` and the cache never written):

    out, cache = dense_forward(x, W, b)          dx, dW, db = dense_backward(dout, cache)
    out, cache = activation_forward(x, "relu")   dx = activation_backward(dout, cache)
    out, cache = dropout_forward(x, mask)        dx = dropout_backward(dout, cache)
    out, cache = flatten_forward(x)              dx = flatten_backward(dout, cache)
    out, cache = batchnorm_forward(x, gamma, beta, ...)      dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    out, cache = layernorm_forward(x, gamma, beta)           dx, dgamma, dbeta = layernorm_backward(dout, cache)
    convolution and max pooling: conv.conv2d_forward/backward, conv.maxpool_forward/backward, and the two
    in one layer (faster: the pooling compares contiguous blocks): conv.conv_pool_forward/backward

The classes (:class:`Dense`, :class:`Activation`, :class:`Dropout`, :class:`Conv2D`, :class:`MaxPool`, :class:`ConvPool`,
:class:`Flatten`, :class:`BatchNorm`, :class:`SpatialBatchNorm`, :class:`LayerNorm`, :class:`Residual`) hold
settings only, never arrays. Each has

    forward(params, x, run) -> (out, cache)      ``run``: a :class:`Pass` (training or evaluation, dropout
                                                 masks, the running statistics it updates)
    backward(dout, cache, need_dx=True) -> (dx, grads)    ``grads``: {key in params: gradient}
    keys(), state_keys()                         its trained parameters, and its state (running statistics)
    output_shape(params, shape) -> shape         (raises a ValueError that says what does not fit)
    init(shape, rng, dtype) -> dict              new parameters and state for an input of ``shape``

A layer's number ``n`` names its entries of ``params``: ``Dense(3)`` reads ``W3`` and ``b3``, ``BatchNorm(2)``
``gamma2``, ``beta2`` (trained) and ``mean2``, ``var2`` (state: running averages, no gradient, saved with the
weights). The weights stay one flat dict, so weight decay on ``W*``, ``save_params`` and gradient checks see
every layer. To add a layer: write its two functions with shapes and the cache in the docstring, then a class
with the five methods above (a parameter-free layer inherits ``keys``, ``state_keys`` and ``init``), and
gradient-check it in float64 (tests/test_layers.py).

Batch normalization, over the n samples of a batch, per feature j (gamma, beta: (d,)):

    mu_j = (1/n) sum_i x_ij,   var_j = (1/n) sum_i (x_ij - mu_j)^2        (training: the batch's statistics)
    xhat_ij = (x_ij - mu_j) / sqrt(var_j + eps),   out_ij = gamma_j xhat_ij + beta_j
    running_mean <- m running_mean + (1 - m) mu,  running_var <- m running_var + (1 - m) n/(n-1) var
    (evaluation: mu, var are the running averages, so one image's output does not depend on its batch)

    backward, compact:  dxhat = dout gamma
                        dx = (1 / (n sqrt(var + eps))) (n dxhat - sum_i dxhat - xhat sum_i (dxhat xhat))
                        dgamma = sum_i dout xhat,   dbeta = sum_i dout

Spatial batch norm does the same per channel over (n, H, W) of images NCHW; layer norm per sample, over the
features of one sample (no running statistics: training and evaluation compute the same). A residual block
computes ``out = x + F(x)`` for a list of layers F, and its backward pass ``dx = dout + dF`` (the gradient
passes the skip connection unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .activations import get_activation
from .conv import (conv2d_backward, conv2d_forward, conv_pool_backward, conv_pool_forward, maxpool_backward,
                   maxpool_forward, output_size)


# ---- the functions ------------------------------------------------------------------------------------------

def dense_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray):
    """Fully connected layer: ``out = x W + b``. ``x`` (n, d_in), ``W`` (d_in, d_out), ``b`` (d_out,) ->
    ``out`` (n, d_out). The cache is ``(x, W)``."""
    return x @ W + b, (x, W)


def dense_backward(dout: np.ndarray, cache, need_dx: bool = True):
    """``dout`` (n, d_out) -> ``(dx, dW, db)``: ``dW = x^T dout``, ``db = sum_i dout``, ``dx = dout W^T``
    (None when ``need_dx`` is False: the first layer's gradient with respect to the data is never used)."""
    x, W = cache
    return (dout @ W.T if need_dx else None), x.T @ dout, dout.sum(axis=0)


def activation_forward(x: np.ndarray, name: str = "relu"):
    """``out = g(x)`` element-wise (g: ``"relu"``, ``"sigmoid"`` or ``"tanh"``), any shape. Cache ``(x, name)``."""
    g, _ = get_activation(name)
    return g(x), (x, name)


def activation_backward(dout: np.ndarray, cache) -> np.ndarray:
    """``dx = dout g'(x)``, the shape of ``x``. For ReLU, g'(x) = [x > 0] multiplies as a boolean (the same
    values as the float 0s and 1s of ``relu_grad``, one pass over the maps fewer)."""
    x, name = cache
    if name == "relu":
        return dout * (x > 0)
    return dout * get_activation(name)[1](x)


def dropout_mask(shape, p: float, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """Inverted-dropout mask ``D = M / (1 - p)`` with ``M ~ Bernoulli(1 - p)``: 0 for a dropped unit,
    ``1 / (1 - p)`` for a kept one, so that ``E[A * D] = A``."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout={p}; expected a rate in [0, 1), e.g. 0.2 (0 turns dropout off).")
    keep = rng.random(shape, dtype=np.float32) >= p
    return keep.astype(dtype) / (1 - p)


def dropout_forward(x: np.ndarray, mask: np.ndarray | None):
    """Inverted dropout: ``out = x * D`` for a mask ``D`` from :func:`dropout_mask` (the shape of ``x``); None
    (evaluation) passes ``x`` through. Cache: the mask."""
    return (x if mask is None else x * mask), mask


def dropout_backward(dout: np.ndarray, cache) -> np.ndarray:
    """``dx = dout * D``: the gradient goes through the units that were kept, scaled as they were."""
    return dout if cache is None else dout * cache


def flatten_forward(x: np.ndarray):
    """Images (n, C, H, W) (or any (n, ...)) -> rows (n, C H W), a view. Cache: ``x.shape``."""
    return x.reshape(len(x), -1), x.shape


def flatten_backward(dout: np.ndarray, cache) -> np.ndarray:
    """Rows (n, C H W) back to the input's shape (n, C, H, W)."""
    return dout.reshape(cache)


def output_gradient(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of the mean cross-entropy with respect to the logits: ``dZ = (softmax(Z) - Y) / n`` for the
    probabilities ``probs`` (n, K) and labels ``y`` (n,), without building the one-hot ``Y``."""
    dZ = probs.copy()
    dZ[np.arange(len(y)), y] -= 1
    dZ /= len(y)
    return dZ


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, *, train: bool = True,
                      running_mean: np.ndarray | None = None, running_var: np.ndarray | None = None,
                      eps: float = 1e-5):
    """Batch normalization of ``x`` (n, d) per feature: ``out = gamma xhat + beta``, ``xhat = (x - mu) / sqrt(var + eps)``.

    ``train=True``: ``mu``, ``var`` are the batch's mean and (biased, 1/n) variance over its n samples.
    ``train=False``: they are ``running_mean``, ``running_var`` (d,), so each sample is normalized alone.
    ``gamma``, ``beta`` (d,) -> ``out`` (n, d), the dtype of ``x``.
    Cache (a dict): ``xhat`` (n, d), ``xc = x - mu`` (n, d), ``gamma``, ``inv_std = 1 / sqrt(var + eps)`` (d,),
    ``mean``, ``var`` (d,: the statistics used, which :func:`running_averages` folds in) and ``train``.
    """
    if train:
        mean = x.mean(axis=0)
        xc = x - mean
        var = (xc * xc).mean(axis=0)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch norm in evaluation mode needs running_mean and running_var.")
        mean, var = running_mean, running_var
        xc = x - mean
    inv_std = 1 / np.sqrt(var + eps)
    xhat = xc * inv_std
    out = gamma * xhat + beta
    return out, {"xhat": xhat, "xc": xc, "gamma": gamma, "inv_std": inv_std, "mean": mean, "var": var,
                 "train": train}


def batchnorm_backward(dout: np.ndarray, cache):
    """Compact backward pass of :func:`batchnorm_forward`: ``dout`` (n, d) -> ``(dx, dgamma, dbeta)``.

    Training mode (mu and var depend on every sample of the batch):
        dxhat = dout gamma;   dx = inv_std / n (n dxhat - sum_i dxhat - xhat sum_i (dxhat xhat))
    Evaluation mode (fixed statistics, an affine map per feature): dx = dout gamma inv_std.
    Both: dgamma = sum_i dout xhat, dbeta = sum_i dout.
    """
    xhat, gamma, inv_std = cache["xhat"], cache["gamma"], cache["inv_std"]
    dgamma, dbeta = (dout * xhat).sum(axis=0), dout.sum(axis=0)
    dxhat = dout * gamma
    if not cache["train"]:
        return dxhat * inv_std, dgamma, dbeta
    n = len(dout)
    dx = (inv_std / n) * (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    return dx, dgamma, dbeta


def batchnorm_backward_graph(dout: np.ndarray, cache):
    """The same gradients as :func:`batchnorm_backward` (training mode), node by node along the forward
    pass's computational graph, each step the chain rule for one operation:

        mu = mean(x),  xc = x - mu,  var = mean(xc^2),  inv_std = (var + eps)^(-1/2),  xhat = xc inv_std,
        out = gamma xhat + beta

    The gradient reaches x three ways: directly through xc, through mu, and through var (via xc^2).
    """
    xhat, xc, gamma, inv_std = cache["xhat"], cache["xc"], cache["gamma"], cache["inv_std"]
    n = len(dout)
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    dinv_std = (dxhat * xc).sum(axis=0)                  # xhat = xc * inv_std
    dxc = dxhat * inv_std
    dvar = dinv_std * -0.5 * inv_std**3                  # inv_std = (var + eps)^(-1/2)
    dxc = dxc + dvar * 2 * xc / n                        # var = mean(xc^2)
    dmean = -dxc.sum(axis=0)                             # xc = x - mu
    dx = dxc + dmean / n                                 # mu = mean(x)
    return dx, dgamma, dbeta


def running_averages(running_mean, running_var, cache, momentum: float = 0.9):
    """The running statistics after one training batch: ``m running + (1 - m) batch``, with the batch's
    variance made unbiased (times n / (n - 1)), as PyTorch keeps it; ``cache`` from :func:`batchnorm_forward`
    (training mode) on n samples. Returns ``(running_mean, running_var)``, new arrays."""
    n = cache.get("count", len(cache["xhat"]))          # spatial batch norm: the n H W values of a channel
    unbiased = cache["var"] * (n / (n - 1)) if n > 1 else cache["var"]
    return (momentum * running_mean + (1 - momentum) * cache["mean"],
            momentum * running_var + (1 - momentum) * unbiased)


def _per_channel_sum(x: np.ndarray) -> np.ndarray:
    """The sum of images ``x`` (n, C, H, W) over n, H and W: (C,). Each map's sum runs along contiguous memory
    (float32 pairwise summation), then the n maps' sums are added in order (the same bits for a channels-first
    ``x`` as for a contiguous one)."""
    map_sums = x.reshape(x.shape[0], x.shape[1], -1).sum(axis=2)      # (n, C)
    return np.ascontiguousarray(map_sums).sum(axis=0)    # the n sums added one after the other, whatever x's layout


def _per_channel(v: np.ndarray) -> np.ndarray:
    """A (C,) vector as (C, 1, 1), to broadcast over the maps of images (n, C, H, W)."""
    return v.reshape(-1, 1, 1)


def spatial_batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, *, train: bool = True,
                              running_mean: np.ndarray | None = None, running_var: np.ndarray | None = None,
                              eps: float = 1e-5):
    """Batch norm of images ``x`` (n, C, H, W) per channel, the statistics over the m = n H W values of each
    channel; ``gamma``, ``beta`` (C,): :func:`batchnorm_forward` on the rows (n H W, C) of one pixel each, computed
    in place on the images (no transposed copy). Returns ``(out, cache)``, ``out`` (n, C, H, W); the cache holds
    ``xhat`` (n, C, H, W), ``gamma``, ``inv_std``, ``mean``, ``var`` (C,), ``train``, ``shape`` and ``count`` (m)."""
    m = x.shape[0] * x.shape[2] * x.shape[3]
    if train:
        mean = _per_channel_sum(x) / m
        xc = x - _per_channel(mean)
        out = np.square(xc)                                  # a scratch array, reused for the output below
        var = _per_channel_sum(out) / m
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch norm in evaluation mode needs running_mean and running_var.")
        mean, var = running_mean, running_var
        xc = x - _per_channel(mean)
        out = np.empty_like(xc)
    inv_std = 1 / np.sqrt(var + eps)
    xhat = xc
    xhat *= _per_channel(inv_std.astype(x.dtype))
    np.multiply(xhat, _per_channel(gamma), out=out)
    out += _per_channel(beta)
    return out, {"xhat": xhat, "gamma": gamma, "inv_std": inv_std, "mean": mean, "var": var, "train": train,
                 "shape": x.shape, "count": m}


def spatial_batchnorm_backward(dout: np.ndarray, cache):
    """``dout`` (n, C, H, W) -> ``(dx, dgamma, dbeta)``: :func:`batchnorm_backward` per channel, the sums over
    the m = n H W values of each. With sum dxhat = gamma dbeta and sum dxhat xhat = gamma dgamma, the compact
    form is ``dx = gamma inv_std (dout - dbeta / m - xhat dgamma / m)`` (training), ``dout gamma inv_std``
    (evaluation)."""
    xhat, gamma, inv_std, m = cache["xhat"], cache["gamma"], cache["inv_std"], cache["count"]
    dgamma, dbeta = _per_channel_sum(dout * xhat), _per_channel_sum(dout)
    scale = _per_channel((gamma * inv_std).astype(dout.dtype))
    if not cache["train"]:
        return dout * scale, dgamma, dbeta
    dx = xhat * _per_channel((dgamma / m).astype(dout.dtype))
    np.subtract(dout, dx, out=dx)
    dx -= _per_channel((dbeta / m).astype(dout.dtype))
    dx *= scale
    return dx, dgamma, dbeta


def layernorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, *, eps: float = 1e-5):
    """Layer normalization: each sample normalized over its own D features (x (n, ...), D = the product of
    the other axes), ``out = gamma xhat + beta`` with gamma, beta the shape of one sample (x.shape[1:]).

        mu_i = (1/D) sum_j x_ij,  var_i = (1/D) sum_j (x_ij - mu_i)^2,  xhat_ij = (x_ij - mu_i) / sqrt(var_i + eps)

    The same in training and evaluation (nothing depends on the batch). Cache: ``(xhat, gamma, inv_std)``,
    ``xhat`` as rows (n, D), ``inv_std`` (n, 1).
    """
    rows = x.reshape(len(x), -1)
    mean = rows.mean(axis=1, keepdims=True)
    xc = rows - mean
    inv_std = 1 / np.sqrt((xc * xc).mean(axis=1, keepdims=True) + eps)
    xhat = xc * inv_std
    out = gamma.reshape(-1) * xhat + beta.reshape(-1)
    return out.reshape(x.shape), (xhat, gamma, inv_std)


def layernorm_backward(dout: np.ndarray, cache):
    """``dout`` (n, ...) -> ``(dx, dgamma, dbeta)``: batch norm's compact backward with the roles of the axes
    swapped (sums over a sample's D features), ``dx = inv_std / D (D dxhat - sum_j dxhat - xhat sum_j dxhat xhat)``."""
    xhat, gamma, inv_std = cache
    drows = dout.reshape(xhat.shape)
    dgamma, dbeta = (drows * xhat).sum(axis=0).reshape(gamma.shape), drows.sum(axis=0).reshape(gamma.shape)
    dxhat = drows * gamma.reshape(-1)
    D = xhat.shape[1]
    dx = (inv_std / D) * (D * dxhat - dxhat.sum(axis=1, keepdims=True) - xhat * (dxhat * xhat).sum(axis=1, keepdims=True))
    return dx.reshape(dout.shape), dgamma, dbeta


# ---- the classes ----------------------------------------------------------------------------------------------

@dataclass
class Pass:
    """What one forward pass needs besides the weights, shared by its layers.

    ``train``: training mode (dropout on, batch norm with the batch's statistics) or evaluation.
    ``rng``: where dropout draws its masks in training, or ``masks``: the masks to use, one per dropout layer
    in the order they run (for a gradient check, or drawn for a whole batch before it is split).
    ``masks_used``: the masks the pass used, in that order. ``state``: new running statistics
    ``{key: array}`` a training pass computed (the model writes them into ``params``).
    """

    train: bool = False
    rng: np.random.Generator | None = None
    masks: list | None = None
    masks_used: list = field(default_factory=list)
    state: dict = field(default_factory=dict)

    def mask(self, p: float, shape, dtype) -> np.ndarray | None:
        """The next dropout mask: given, drawn from ``rng``, or None (evaluation, or p = 0)."""
        if not self.train or not p:
            return None
        if self.masks is not None:
            mask = self.masks[len(self.masks_used)]
        elif self.rng is None:
            raise ValueError("dropout needs a random generator: pass rng=np.random.default_rng(seed).")
        else:
            mask = dropout_mask(shape, p, self.rng, dtype)
        self.masks_used.append(mask)
        return mask


class Layer:
    """A parameter-free layer; subclasses with parameters override :meth:`keys` and :meth:`init`."""

    def keys(self) -> tuple:
        """The keys of its trained parameters in ``params``."""
        return ()

    def state_keys(self) -> tuple:
        """The keys of its state (not trained, saved with the weights)."""
        return ()

    def init(self, shape, rng, dtype) -> dict:
        return {}

    def output_shape(self, params: dict, shape: tuple) -> tuple:
        return shape

    def dropout_shapes(self, params: dict, shape: tuple) -> list:
        """``(shape, p)`` of each mask its dropout layers draw for an input of ``shape``, in order."""
        return []


def _he(rng, shape, fan_in, dtype):
    return rng.normal(0.0, np.sqrt(2 / fan_in), size=shape).astype(dtype)


@dataclass(frozen=True)
class Dense(Layer):
    """Fully connected: x (n, d_in) -> x W_n + b_n (n, d_out). ``units``: d_out, used by :meth:`init` only."""

    n: int
    units: int | None = None

    def keys(self):
        return (f"W{self.n}", f"b{self.n}")

    def init(self, shape, rng, dtype):
        """He: W ~ Normal(0, 2 / d_in), b = 0."""
        if self.units is None:
            raise ValueError(f"Dense({self.n}) has no width to start from: give it one, e.g. Dense({self.n}, 100).")
        return {f"W{self.n}": _he(rng, (shape[1], self.units), shape[1], dtype), f"b{self.n}": np.zeros(self.units, dtype)}

    def output_shape(self, params, shape):
        W = params[f"W{self.n}"]
        if len(shape) != 2 or shape[1] != W.shape[0]:
            raise ValueError(f"W{self.n} has shape {W.shape}; its input must be rows (n, {W.shape[0]}), got {shape}.")
        return (shape[0], W.shape[1])

    def forward(self, params, x, run):
        return dense_forward(x, params[f"W{self.n}"], params[f"b{self.n}"])

    def backward(self, dout, cache, need_dx=True):
        dx, dW, db = dense_backward(dout, cache, need_dx)
        return dx, {f"W{self.n}": dW, f"b{self.n}": db}


@dataclass(frozen=True)
class Activation(Layer):
    """g(x) element-wise: ``"relu"``, ``"sigmoid"`` or ``"tanh"``."""

    name: str = "relu"

    def __post_init__(self):
        get_activation(self.name)

    def forward(self, params, x, run):
        return activation_forward(x, self.name)

    def backward(self, dout, cache, need_dx=True):
        return activation_backward(dout, cache), {}


@dataclass(frozen=True)
class Dropout(Layer):
    """Inverted dropout of rate ``p`` in training; nothing in evaluation."""

    p: float

    def __post_init__(self):
        if not 0 <= self.p < 1:
            raise ValueError(f"dropout={self.p}; expected a rate in [0, 1), e.g. 0.2 (0 turns dropout off).")

    def dropout_shapes(self, params, shape):
        return [(shape, self.p)] if self.p else []

    def forward(self, params, x, run):
        return dropout_forward(x, run.mask(self.p, x.shape, x.dtype))

    def backward(self, dout, cache, need_dx=True):
        return dropout_backward(dout, cache), {}


@dataclass(frozen=True)
class Flatten(Layer):
    """Images (n, C, H, W) -> rows (n, C H W)."""

    def output_shape(self, params, shape):
        return (shape[0], int(np.prod(shape[1:])))

    def forward(self, params, x, run):
        return flatten_forward(x)

    def backward(self, dout, cache, need_dx=True):
        return flatten_backward(dout, cache), {}


@dataclass(frozen=True)
class Conv2D(Layer):
    """Convolution with ``W_n`` (F, C, R, R), ``b_n`` (F,): images (n, C, H, W) -> (n, F, H_out, W_out), see
    :func:`~nn_helpers.conv.conv2d_forward`. ``filters``, ``kernel``: F and R, used by :meth:`init` only."""

    n: int
    stride: int = 1
    pad: int = 0
    filters: int | None = None
    kernel: int | None = None

    def keys(self):
        return (f"W{self.n}", f"b{self.n}")

    def init(self, shape, rng, dtype):
        """He: W ~ Normal(0, 2 / (C R R)), b = 0."""
        if self.filters is None or self.kernel is None:
            raise ValueError(f"Conv2D({self.n}) needs filters and kernel to start from, e.g. "
                             f"Conv2D({self.n}, pad=1, filters=32, kernel=3).")
        C, R = shape[1], self.kernel
        return {f"W{self.n}": _he(rng, (self.filters, C, R, R), C * R * R, dtype), f"b{self.n}": np.zeros(self.filters, dtype)}

    def output_shape(self, params, shape):
        W = params[f"W{self.n}"]
        if len(shape) != 4 or shape[1] != W.shape[1]:
            raise ValueError(f"W{self.n} has shape {W.shape}; its input must be images (n, {W.shape[1]}, H, W), got {shape}.")
        R = W.shape[2]
        return (shape[0], W.shape[0], output_size(shape[2], R, self.stride, self.pad, "H"),
                output_size(shape[3], R, self.stride, self.pad, "W"))

    def forward(self, params, x, run):
        return conv2d_forward(x, params[f"W{self.n}"], params[f"b{self.n}"], stride=self.stride, pad=self.pad)

    def backward(self, dout, cache, need_dx=True):
        dx, dW, db = conv2d_backward(dout, cache, need_dX=need_dx)
        return dx, {f"W{self.n}": dW, f"b{self.n}": db}


@dataclass(frozen=True)
class MaxPool(Layer):
    """Max pooling over ``size`` x ``size`` windows, stride ``size``: (n, C, H, W) -> (n, C, H // size, W // size)."""

    size: int = 2

    def output_shape(self, params, shape):
        if len(shape) != 4 or shape[2] < self.size or shape[3] < self.size:
            raise ValueError(f"max pooling of {self.size}x{self.size} needs images (n, C, H, W) of at least "
                             f"{self.size}x{self.size} pixels, got {shape}.")
        return (*shape[:2], shape[2] // self.size, shape[3] // self.size)

    def forward(self, params, x, run):
        return maxpool_forward(x, size=self.size)

    def backward(self, dout, cache, need_dx=True):
        return maxpool_backward(dout, cache), {}


@dataclass(frozen=True)
class ConvPool(Conv2D):
    """``Conv2D(n, stride, pad)`` followed by ``MaxPool(pool)``, as one layer with the same parameters ``W_n``,
    ``b_n``: (n, C, H, W) -> (n, F, H_out // pool, W_out // pool), the values the two layers give
    (:func:`~nn_helpers.conv.conv_pool_forward`). The product's columns come grouped by their place in the pooling
    window, so the pooling compares contiguous blocks: for the first convolution of ``--recipe fast`` the pair
    costs about a third less (benchmarks/README.md). The gradient can differ from the two layers' in the last bits
    (dW sums its terms in another order)."""

    pool: int = 2

    def output_shape(self, params, shape):
        n, F, H, W = super().output_shape(params, shape)
        if H < self.pool or W < self.pool:
            raise ValueError(f"ConvPool({self.n}): the convolution's output {H}x{W} is smaller than one "
                             f"{self.pool}x{self.pool} pooling window.")
        return (n, F, H // self.pool, W // self.pool)

    def forward(self, params, x, run):
        return conv_pool_forward(x, params[f"W{self.n}"], params[f"b{self.n}"], stride=self.stride, pad=self.pad,
                                 pool=self.pool)

    def backward(self, dout, cache, need_dx=True):
        dx, dW, db = conv_pool_backward(dout, cache, need_dX=need_dx)
        return dx, {f"W{self.n}": dW, f"b{self.n}": db}


@dataclass(frozen=True)
class BatchNorm(Layer):
    """Batch normalization of rows (n, d) per feature: trained ``gamma_n``, ``beta_n`` (d,); state ``mean_n``,
    ``var_n`` (d,), the running averages evaluation uses (``momentum`` m: running <- m running + (1 - m) batch,
    CS231n's and Keras's convention; PyTorch's ``momentum=0.1`` is 1 - m). Init: gamma 1, beta 0, mean 0, var 1."""

    n: int
    momentum: float = 0.9
    eps: float = 1e-5
    spatial = False

    def keys(self):
        return (f"gamma{self.n}", f"beta{self.n}")

    def state_keys(self):
        return (f"mean{self.n}", f"var{self.n}")

    def init(self, shape, rng, dtype):
        d = shape[1]
        return {f"gamma{self.n}": np.ones(d, dtype), f"beta{self.n}": np.zeros(d, dtype),
                f"mean{self.n}": np.zeros(d, dtype), f"var{self.n}": np.ones(d, dtype)}

    def output_shape(self, params, shape):
        d = params[f"gamma{self.n}"].shape[0]
        if len(shape) != (4 if self.spatial else 2) or shape[1] != d:
            expected = f"images (n, {d}, H, W)" if self.spatial else f"rows (n, {d})"
            raise ValueError(f"gamma{self.n} has {d} entries; {type(self).__name__}({self.n}) needs {expected}, got {shape}.")
        return shape

    def forward(self, params, x, run):
        n = self.n
        f = spatial_batchnorm_forward if self.spatial else batchnorm_forward
        out, cache = f(x, params[f"gamma{n}"], params[f"beta{n}"], train=run.train, running_mean=params[f"mean{n}"],
                       running_var=params[f"var{n}"], eps=self.eps)
        if run.train:
            mean, var = running_averages(params[f"mean{n}"], params[f"var{n}"], cache, self.momentum)
            run.state[f"mean{n}"], run.state[f"var{n}"] = mean.astype(x.dtype), var.astype(x.dtype)
        return out, cache

    def backward(self, dout, cache, need_dx=True):
        dx, dgamma, dbeta = (spatial_batchnorm_backward if self.spatial else batchnorm_backward)(dout, cache)
        return dx, {f"gamma{self.n}": dgamma, f"beta{self.n}": dbeta}


@dataclass(frozen=True)
class SpatialBatchNorm(BatchNorm):
    """Batch normalization of images (n, C, H, W) per channel, statistics over n, H and W (gamma_n ... (C,))."""

    spatial = True


@dataclass(frozen=True)
class LayerNorm(Layer):
    """Layer normalization: each sample over its own features; ``gamma_n``, ``beta_n`` the shape of one sample."""

    n: int
    eps: float = 1e-5

    def keys(self):
        return (f"gamma{self.n}", f"beta{self.n}")

    def init(self, shape, rng, dtype):
        return {f"gamma{self.n}": np.ones(shape[1:], dtype), f"beta{self.n}": np.zeros(shape[1:], dtype)}

    def output_shape(self, params, shape):
        if tuple(shape[1:]) != params[f"gamma{self.n}"].shape:
            raise ValueError(f"gamma{self.n} has shape {params[f'gamma{self.n}'].shape}; LayerNorm({self.n}) needs "
                             f"samples of that shape, got {shape}.")
        return shape

    def forward(self, params, x, run):
        return layernorm_forward(x, params[f"gamma{self.n}"], params[f"beta{self.n}"], eps=self.eps)

    def backward(self, dout, cache, need_dx=True):
        dx, dgamma, dbeta = layernorm_backward(dout, cache)
        return dx, {f"gamma{self.n}": dgamma, f"beta{self.n}": dbeta}


@dataclass(frozen=True)
class Residual(Layer):
    """A residual block: ``out = x + F(x)``, F the ``layers`` in order (their output the shape of x), e.g.
    ``Residual((Dense(2, 100), Activation(), Dense(3, 100)))``. Backward: ``dx = dout + dF``, where dF is the
    gradient F's layers pass back to x: the skip connection hands ``dout`` to x unchanged.
    Cache: the list of F's caches."""

    layers: tuple

    def keys(self):
        return tuple(k for layer in self.layers for k in layer.keys())

    def state_keys(self):
        return tuple(k for layer in self.layers for k in layer.state_keys())

    def init(self, shape, rng, dtype):
        params = {}
        for layer in self.layers:
            params.update(layer.init(shape, rng, dtype))
            shape = layer.output_shape(params, shape)
        return params

    def output_shape(self, params, shape):
        out = shape
        for layer in self.layers:
            out = layer.output_shape(params, out)
        if tuple(out) != tuple(shape):
            raise ValueError(f"a residual block's layers turn {shape} into {out}; x + F(x) needs F(x) the shape of x.")
        return shape

    def dropout_shapes(self, params, shape):
        shapes = []
        for layer in self.layers:
            shapes += layer.dropout_shapes(params, shape)
            shape = layer.output_shape(params, shape)
        return shapes

    def forward(self, params, x, run):
        h, caches = x, []
        for layer in self.layers:
            h, cache = layer.forward(params, h, run)
            caches.append(cache)
        return x + h, caches

    def backward(self, dout, cache, need_dx=True):
        d, grads = dout, {}
        for layer, c in zip(reversed(self.layers), reversed(cache)):
            d, g = layer.backward(d, c)
            grads.update(g)
        return dout + d, grads
