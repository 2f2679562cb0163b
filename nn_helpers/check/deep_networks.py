"""The checkers of notebook 13: batch normalization forward (with its running averages) and backward, the
backward pass of a residual block, and layer normalization of images."""

from __future__ import annotations

import numpy as np

from ..layers import (batchnorm_backward as _bn_backward, batchnorm_forward as _bn_forward,
                      layernorm_forward as _ln_forward, running_averages as _running_averages)
from ._core import _rng, _run, against

EPS = 1e-5


# ---- batch norm forward, training mode, with the running averages ------------------------------------------------

def _bn_reference(Z, gamma, beta, running_mean, running_var, rho=0.9):
    out, cache = _bn_forward(Z, gamma, beta)
    mean, var = _running_averages(running_mean, running_var, cache, rho)
    return out, mean, var


def _bn_variant(stats_axis=0, eps_outside=False, use_running=False, biased_running=False, swap_rho=False,
                no_affine=False, ddof=0):
    def variant(Z, gamma, beta, running_mean, running_var, rho=0.9):
        n = Z.shape[stats_axis]
        mu = Z.mean(axis=stats_axis, keepdims=True)
        var = Z.var(axis=stats_axis, keepdims=True, ddof=ddof)
        if use_running:
            mu, var = running_mean, running_var
        Z_hat = (Z - mu) / (np.sqrt(var) + EPS if eps_outside else np.sqrt(var + EPS))
        out = Z_hat if no_affine else gamma * Z_hat + beta
        batch_mu, batch_var = Z.mean(axis=0), Z.var(axis=0)
        unbiased = batch_var if biased_running else batch_var * len(Z) / (len(Z) - 1)
        keep = 1 - rho if swap_rho else rho
        return out, keep * running_mean + (1 - keep) * batch_mu, keep * running_var + (1 - keep) * unbiased
    return variant


def _bn_cases(seed):
    rng = _rng(seed)
    cases = []
    for label, n, d in [("a batch of 8 rows, 5 units", 8, 5), ("a batch of 2 rows", 2, 3),
                        ("a batch of 32 rows, 7 units, far from mean 0 and spread 1", 32, 7)]:
        Z = rng.normal(rng.uniform(-3, 3, d), rng.uniform(0.5, 4, d), size=(n, d))
        gamma, beta = rng.normal(1, 0.5, d), rng.normal(0, 1, d)
        mean, var = rng.normal(0, 1, d), rng.uniform(0.5, 2, d)
        cases.append((label, (Z, gamma, beta, mean, var)))
    cases.append(("rho=0.5", (*cases[0][1], 0.5)))
    return cases


BN_OUT = ("out, the normalised batch")


def batchnorm_forward(fn) -> bool:
    """``fn(Z, gamma, beta, running_mean, running_var, rho=0.9)``: batch norm in training mode, Z (n, d) ->
    ``(out, new_running_mean, new_running_var)``, the running variance fed the unbiased batch variance."""
    mistakes = [
        (_bn_variant(stats_axis=1),
         "the statistics are taken over axis 1, each row's own units (that is layer normalization): batch norm "
         "averages each unit over the batch, axis 0, so mu and sigma^2 have shape (d,)"),
        (_bn_variant(use_running=True),
         "out is normalised with the running averages: in training mode batch norm uses this batch's own mean "
         "and variance (the running averages are only updated, for evaluation mode)"),
        (_bn_variant(eps_outside=True),
         "epsilon is added outside the square root, sqrt(sigma^2) + eps: the formula divides by "
         "sqrt(sigma^2 + eps), epsilon under the root"),
        (_bn_variant(biased_running=True),
         "the running variance is fed the biased batch variance (divided by n): it keeps the unbiased one, "
         "sigma^2 n / (n - 1), as PyTorch does; out itself uses the biased one"),
        (_bn_variant(swap_rho=True),
         "rho and 1 - rho are swapped in the running averages: the old running value keeps the weight rho, "
         "mu_run <- rho mu_run + (1 - rho) mu"),
        (_bn_variant(ddof=1),
         "out is normalised with the unbiased variance (ddof=1): in training the batch variance divides by n; "
         "only the running variance keeps the unbiased n / (n - 1) version"),
        (_bn_variant(no_affine=True),
         "out is Z_hat itself: gamma and beta are never applied (out = gamma Z_hat + beta)"),
        (lambda Z, gamma, beta, m, v, rho=0.9: (beta * (Z - Z.mean(0)) / np.sqrt(Z.var(0) + EPS) + gamma,
                                                *_bn_reference(Z, gamma, beta, m, v, rho)[1:]),
         "gamma and beta are swapped: gamma scales Z_hat, beta shifts it, out = gamma Z_hat + beta"),
        (lambda Z, gamma, beta, m, v, rho=0.9: (_bn_reference(Z, gamma, beta, m, v, rho)[0], m, v),
         "the running averages come back unchanged: every training batch moves them, "
         "mu_run <- rho mu_run + (1 - rho) mu (the same for the variance)"),
    ]
    return _run("batchnorm_forward", fn, _bn_cases(130), against(_bn_reference, mistakes),
                "nn.layers.batchnorm_forward")


# ---- batch norm backward, from the raw inputs ---------------------------------------------------------------------

def _bn_backward_reference(dout, Z, gamma):
    _, cache = _bn_forward(Z, gamma, np.zeros_like(gamma))
    return _bn_backward(dout, cache)


def _bn_backward_variant(paths=("direct", "mean", "var"), sum_params=True, gamma_in=True, ddof=0):
    def variant(dout, Z, gamma):
        n = len(Z)
        mu, var = Z.mean(axis=0), Z.var(axis=0, ddof=ddof)
        Z_hat = (Z - mu) / np.sqrt(var + EPS)
        dZ_hat = dout * gamma if gamma_in else dout
        dvar = np.sum(dZ_hat * (Z - mu), axis=0) * -0.5 * (var + EPS) ** -1.5
        dmu = -np.sum(dZ_hat, axis=0) / np.sqrt(var + EPS)
        dZ = np.zeros_like(Z)
        if "direct" in paths:
            dZ = dZ + dZ_hat / np.sqrt(var + EPS)
        if "var" in paths:
            dZ = dZ + dvar * 2 * (Z - mu) / n
        if "mean" in paths:
            dZ = dZ + dmu / n
        dgamma, dbeta = dout * Z_hat, dout
        if sum_params:
            dgamma, dbeta = dgamma.sum(axis=0), dbeta.sum(axis=0)
        return dZ, dgamma, dbeta
    return variant


def _bn_backward_cases(seed):
    rng = _rng(seed)
    cases = []
    for label, n, d in [("a batch of 6 rows, 4 units", 6, 4), ("a batch of 2 rows", 2, 3),
                        ("a batch of 20 rows, 5 units, far from mean 0 and spread 1", 20, 5)]:
        Z = rng.normal(rng.uniform(-3, 3, d), rng.uniform(0.5, 4, d), size=(n, d))
        cases.append((label, (rng.normal(size=(n, d)), Z, rng.normal(1, 0.5, d))))
    return cases


def batchnorm_backward(fn) -> bool:
    """``fn(dout, Z, gamma)``: the gradients of batch norm's output (training mode, beta any) with respect to
    Z, gamma and beta -> ``(dZ, dgamma, dbeta)``, shapes (n, d), (d,), (d,)."""
    mistakes = [
        (_bn_backward_variant(paths=("direct",)),
         "dZ has only the direct path, dZ_hat / sqrt(sigma^2 + eps): mu and sigma^2 depend on every row of Z "
         "too, so the gradient also flows through them (the two other terms of section 4's graph)"),
        (_bn_backward_variant(paths=("direct", "var")),
         "dZ misses the path through mu: mu depends on every row, so every row gets d mu / n (the sum of "
         "-dZ_hat / sqrt(sigma^2 + eps) over the batch, divided by n)"),
        (_bn_backward_variant(paths=("direct", "mean")),
         "dZ misses the path through sigma^2: the variance depends on every row, so every row gets "
         "d sigma^2 times 2 (Z - mu) / n"),
        (_bn_backward_variant(sum_params=False),
         "dgamma and dbeta have one row per sample: gamma and beta are shared by the whole batch, so their "
         "gradients sum over the rows, axis 0, shape (d,)"),
        (_bn_backward_variant(gamma_in=False),
         "dZ_hat is dout itself: out = gamma Z_hat + beta, so dZ_hat = dout * gamma"),
        (_bn_backward_variant(ddof=1),
         "the variance is the unbiased one (ddof=1): the forward pass in training divides by n, and its "
         "gradient must use the same sigma^2"),
        (lambda dout, Z, gamma: (lambda r: (r[0], r[2], r[1]))(_bn_backward_reference(dout, Z, gamma)),
         "dgamma and dbeta are swapped: dgamma = sum of dout * Z_hat, dbeta = sum of dout"),
    ]
    return _run("batchnorm_backward", fn, _bn_backward_cases(131), against(_bn_backward_reference, mistakes),
                "nn.layers.batchnorm_backward")


# ---- residual block backward --------------------------------------------------------------------------------------

def _residual_reference(dout, x, Wa, ba, Wb, bb):
    h = x @ Wa + ba
    r = np.maximum(h, 0)
    dh = (dout @ Wb.T) * (h > 0)
    return dout + dh @ Wa.T, x.T @ dh, dh.sum(axis=0), r.T @ dout, dout.sum(axis=0)


def _residual_variant(skip=True, mask="h", relu_in_dWb=True, sum_b=True):
    def variant(dout, x, Wa, ba, Wb, bb):
        h = x @ Wa + ba
        r = np.maximum(h, 0)
        on = {"h": h > 0, "x": x > 0, None: 1}[mask]
        dh = (dout @ Wb.T) * on
        dx = dh @ Wa.T + (dout if skip else 0)
        dWb = (r if relu_in_dWb else h).T @ dout
        dba, dbb = (dh.sum(axis=0), dout.sum(axis=0)) if sum_b else (dh, dout)
        return dx, x.T @ dh, dba, dWb, dbb
    return variant


def _residual_cases(seed):
    rng = _rng(seed)
    cases = []
    for label, n, d in [("4 rows of 6 units", 4, 6), ("a batch of 1 row", 1, 5), ("10 rows of 3 units", 10, 3)]:
        x = rng.normal(size=(n, d))
        Wa, Wb = rng.normal(size=(d, d)), rng.normal(size=(d, d))
        cases.append((label, (rng.normal(size=(n, d)), x, Wa, rng.normal(size=d), Wb, rng.normal(size=d))))
    return cases


def residual_backward(fn) -> bool:
    """``fn(dout, x, Wa, ba, Wb, bb)`` for ``out = x + ReLU(x Wa + ba) Wb + bb`` -> ``(dx, dWa, dba, dWb, dbb)``."""
    mistakes = [
        (_residual_variant(skip=False),
         "the skip path is missing from dx: out = x + F(x) depends on x directly too, so dx = dout + dF (dF "
         "alone is what a plain layer would pass back)"),
        (_residual_variant(mask=None),
         "the ReLU mask is missing: the gradient reaches x Wa + ba only where it was positive, so "
         "dh = (dout Wb^T) * (h > 0)"),
        (_residual_variant(mask="x"),
         "the ReLU mask is taken from x: ReLU acts on h = x Wa + ba, so the mask is (h > 0)"),
        (_residual_variant(relu_in_dWb=False),
         "dWb uses h before the ReLU: Wb multiplies ReLU(h), so dWb = ReLU(h)^T dout"),
        (_residual_variant(sum_b=False),
         "dba and dbb have one row per sample: the biases are shared by the batch, so their gradients sum "
         "over the rows, axis 0"),
        (_residual_variant(skip=False, mask=None),
         "the skip path is missing from dx (dx = dout + dF), and the ReLU mask (h > 0) is missing from dh"),
    ]
    return _run("residual_backward", fn, _residual_cases(132), against(_residual_reference, mistakes),
                "the notebook's residual_backward")


# ---- layer norm of images -----------------------------------------------------------------------------------------

def _ln_images_reference(X, gamma, beta):
    C = X.shape[1]
    out, _ = _ln_forward(X, np.ones(X.shape[1:]), np.zeros(X.shape[1:]))
    return gamma.reshape(1, C, 1, 1) * out + beta.reshape(1, C, 1, 1)


def _ln_images_variant(axes=(1, 2, 3), eps_outside=False, per_channel_gamma=True):
    def variant(X, gamma, beta):
        mu = X.mean(axis=axes, keepdims=True)
        var = X.var(axis=axes, keepdims=True)
        X_hat = (X - mu) / (np.sqrt(var) + EPS if eps_outside else np.sqrt(var + EPS))
        if per_channel_gamma:
            return gamma.reshape(1, -1, 1, 1) * X_hat + beta.reshape(1, -1, 1, 1)
        return gamma * X_hat + beta   # broadcast against the last axis, W
    return variant


def _ln_cases(seed):
    rng = _rng(seed)
    cases = []
    for label, shape in [("images (2, 3, 4, 5)", (2, 3, 4, 5)), ("one image (1, 2, 3, 3)", (1, 2, 3, 3)),
                         ("images (4, 5, 2, 6)", (4, 5, 2, 6))]:
        X = rng.normal(rng.uniform(-2, 2, (shape[0], 1, 1, 1)), rng.uniform(0.5, 3, (shape[0], 1, 1, 1)), size=shape)
        cases.append((label, (X, rng.normal(1, 0.5, shape[1]), rng.normal(0, 1, shape[1]))))
    return cases


def layernorm_images(fn) -> bool:
    """``fn(X, gamma, beta)``: layer norm of images X (n, C, H, W), each image over its own C H W values;
    ``gamma``, ``beta`` (C,) one per channel -> out (n, C, H, W)."""
    mistakes = [
        (_ln_images_variant(axes=(0, 2, 3)),
         "the statistics are taken over the batch and the pixels of each channel (axes 0, 2, 3): that is spatial "
         "batch norm. Layer norm takes each image alone, over its own C, H and W (axes 1, 2, 3)"),
        (_ln_images_variant(axes=(2, 3)),
         "the statistics are taken per image and per channel (axes 2, 3: instance normalization). Layer norm "
         "pools all of an image's channels, axes 1, 2, 3"),
        (_ln_images_variant(axes=1),
         "the statistics are taken over the channels only (axis 1), per pixel: layer norm of images pools "
         "every value of an image, axes 1, 2, 3"),
        (_ln_images_variant(axes=None),
         "the statistics are taken over the whole batch (no axis): each image needs its own mean and variance, "
         "over axes 1, 2, 3 with keepdims=True"),
        (_ln_images_variant(eps_outside=True),
         "epsilon is added outside the square root: divide by sqrt(sigma^2 + eps)"),
        (_ln_images_variant(per_channel_gamma=False),
         "gamma and beta (C,) are broadcast against the last axis, W, not the channels: reshape them to "
         "(1, C, 1, 1) so that each channel gets its own"),
    ]
    return _run("layernorm_images", fn, _ln_cases(133), against(_ln_images_reference, mistakes),
                "nn.layers.layernorm_forward")
