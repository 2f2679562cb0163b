"""Notebook 13's checkers: each accepts a right answer written as a learner would, and names each classic
mistake, written as a learner would write it, with a message of its own."""

import numpy as np

from nn_helpers import check
from mistakes import assert_named, run, shared_messages

EPS = 1e-5


# --- right answers, as a learner writes them --------------------------------------------------------------

def bn_forward(Z, gamma, beta, running_mean, running_var, rho=0.9):
    mu = Z.mean(axis=0)
    var = Z.var(axis=0)
    out = gamma * (Z - mu) / np.sqrt(var + EPS) + beta
    n = len(Z)
    return out, rho * running_mean + (1 - rho) * mu, rho * running_var + (1 - rho) * var * n / (n - 1)


def bn_backward(dout, Z, gamma):
    n = len(Z)
    mu, var = Z.mean(axis=0), Z.var(axis=0)
    Z_hat = (Z - mu) / np.sqrt(var + EPS)
    dZ_hat = dout * gamma
    dZ = (n * dZ_hat - dZ_hat.sum(axis=0) - Z_hat * (dZ_hat * Z_hat).sum(axis=0)) / (n * np.sqrt(var + EPS))
    return dZ, (dout * Z_hat).sum(axis=0), dout.sum(axis=0)


def bn_backward_graph(dout, Z, gamma):
    n = len(Z)
    mu = Z.mean(axis=0)
    var = ((Z - mu) ** 2).mean(axis=0)
    Z_hat = (Z - mu) / np.sqrt(var + EPS)
    dZ_hat = dout * gamma
    dvar = np.sum(dZ_hat * (Z - mu), axis=0) * -0.5 * (var + EPS) ** -1.5
    dmu = np.sum(-dZ_hat / np.sqrt(var + EPS), axis=0)
    return dZ_hat / np.sqrt(var + EPS) + dvar * 2 * (Z - mu) / n + dmu / n, np.sum(dout * Z_hat, axis=0), np.sum(dout, axis=0)


def ln_images(X, gamma, beta):
    mu = X.mean(axis=(1, 2, 3), keepdims=True)
    var = X.var(axis=(1, 2, 3), keepdims=True)
    return gamma[None, :, None, None] * (X - mu) / np.sqrt(var + EPS) + beta[None, :, None, None]


def residual_backward(dout, x, Wa, ba, Wb, bb):
    h = x @ Wa + ba
    dh = dout @ Wb.T * (h > 0)
    return dout + dh @ Wa.T, x.T @ dh, dh.sum(axis=0), np.maximum(h, 0).T @ dout, dout.sum(axis=0)


def test_right_answers_pass(capsys):
    for checker, fn in [(check.batchnorm_forward, bn_forward), (check.batchnorm_backward, bn_backward),
                        (check.batchnorm_backward, bn_backward_graph), (check.layernorm_images, ln_images),
                        (check.residual_backward, residual_backward)]:
        ok, out = run(checker, fn, capsys)
        assert ok, out


# --- the classic mistakes ---------------------------------------------------------------------------------

def bn_axis1(Z, gamma, beta, m, v, rho=0.9):
    mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
    return gamma * (Z - mu) / np.sqrt(var + EPS) + beta, *bn_forward(Z, gamma, beta, m, v, rho)[1:]


def bn_running_in_training(Z, gamma, beta, m, v, rho=0.9):
    out = gamma * (Z - m) / np.sqrt(v + EPS) + beta
    return out, *bn_forward(Z, gamma, beta, m, v, rho)[1:]


def bn_eps_outside(Z, gamma, beta, m, v, rho=0.9):
    out = gamma * (Z - Z.mean(0)) / (np.sqrt(Z.var(0)) + EPS) + beta
    return out, *bn_forward(Z, gamma, beta, m, v, rho)[1:]


def bn_biased_running(Z, gamma, beta, m, v, rho=0.9):
    out = bn_forward(Z, gamma, beta, m, v, rho)[0]
    return out, rho * m + (1 - rho) * Z.mean(0), rho * v + (1 - rho) * Z.var(0)


def bn_rho_swapped(Z, gamma, beta, m, v, rho=0.9):
    out = bn_forward(Z, gamma, beta, m, v, rho)[0]
    n = len(Z)
    return out, (1 - rho) * m + rho * Z.mean(0), (1 - rho) * v + rho * Z.var(0) * n / (n - 1)


def bn_std_ddof1(Z, gamma, beta, m, v, rho=0.9):
    out = gamma * (Z - Z.mean(0)) / np.sqrt(Z.var(0, ddof=1) + EPS) + beta
    return out, *bn_forward(Z, gamma, beta, m, v, rho)[1:]


def bn_no_gamma_beta(Z, gamma, beta, m, v, rho=0.9):
    return (Z - Z.mean(0)) / np.sqrt(Z.var(0) + EPS), *bn_forward(Z, gamma, beta, m, v, rho)[1:]


def bn_running_unchanged(Z, gamma, beta, m, v, rho=0.9):
    return bn_forward(Z, gamma, beta, m, v, rho)[0], m, v


def bnb_direct_only(dout, Z, gamma):
    var = Z.var(axis=0)
    Z_hat = (Z - Z.mean(0)) / np.sqrt(var + EPS)
    return dout * gamma / np.sqrt(var + EPS), (dout * Z_hat).sum(0), dout.sum(0)


def bnb_not_summed(dout, Z, gamma):
    dZ, _, _ = bn_backward(dout, Z, gamma)
    Z_hat = (Z - Z.mean(0)) / np.sqrt(Z.var(0) + EPS)
    return dZ, dout * Z_hat, dout


def bnb_no_mean_path(dout, Z, gamma):
    n, mu, var = len(Z), Z.mean(0), Z.var(0)
    dZ_hat = dout * gamma
    dvar = np.sum(dZ_hat * (Z - mu), axis=0) * -0.5 * (var + EPS) ** -1.5
    Z_hat = (Z - mu) / np.sqrt(var + EPS)
    return dZ_hat / np.sqrt(var + EPS) + dvar * 2 * (Z - mu) / n, (dout * Z_hat).sum(0), dout.sum(0)


def bnb_no_gamma(dout, Z, gamma):
    return bn_backward(dout, Z, np.ones_like(gamma))[0], *bn_backward(dout, Z, gamma)[1:]


def ln_batch_axes(X, gamma, beta):
    mu, var = X.mean(axis=(0, 2, 3), keepdims=True), X.var(axis=(0, 2, 3), keepdims=True)
    return gamma[None, :, None, None] * (X - mu) / np.sqrt(var + EPS) + beta[None, :, None, None]


def ln_instance(X, gamma, beta):
    mu, var = X.mean(axis=(2, 3), keepdims=True), X.var(axis=(2, 3), keepdims=True)
    return gamma[None, :, None, None] * (X - mu) / np.sqrt(var + EPS) + beta[None, :, None, None]


def ln_gamma_on_last_axis(X, gamma, beta):
    mu, var = X.mean(axis=(1, 2, 3), keepdims=True), X.var(axis=(1, 2, 3), keepdims=True)
    return gamma * (X - mu) / np.sqrt(var + EPS) + beta


def ln_no_keepdims_whole(X, gamma, beta):
    return gamma[None, :, None, None] * (X - X.mean()) / np.sqrt(X.var() + EPS) + beta[None, :, None, None]


def res_no_skip(dout, x, Wa, ba, Wb, bb):
    h = x @ Wa + ba
    dh = dout @ Wb.T * (h > 0)
    return dh @ Wa.T, x.T @ dh, dh.sum(axis=0), np.maximum(h, 0).T @ dout, dout.sum(axis=0)


def res_no_mask(dout, x, Wa, ba, Wb, bb):
    h = x @ Wa + ba
    dh = dout @ Wb.T
    return dout + dh @ Wa.T, x.T @ dh, dh.sum(axis=0), np.maximum(h, 0).T @ dout, dout.sum(axis=0)


def res_mask_from_x(dout, x, Wa, ba, Wb, bb):
    h = x @ Wa + ba
    dh = dout @ Wb.T * (x > 0)
    return dout + dh @ Wa.T, x.T @ dh, dh.sum(axis=0), np.maximum(h, 0).T @ dout, dout.sum(axis=0)


def res_h_in_dWb(dout, x, Wa, ba, Wb, bb):
    h = x @ Wa + ba
    dh = dout @ Wb.T * (h > 0)
    return dout + dh @ Wa.T, x.T @ dh, dh.sum(axis=0), h.T @ dout, dout.sum(axis=0)


MISTAKES = {
    "bn statistics over axis 1": (check.batchnorm_forward, bn_axis1, "axis 1"),
    "bn running averages in training": (check.batchnorm_forward, bn_running_in_training, "normalised with the running averages"),
    "bn epsilon outside the root": (check.batchnorm_forward, bn_eps_outside, "outside the square root"),
    "bn biased running variance": (check.batchnorm_forward, bn_biased_running, "biased batch variance"),
    "bn rho swapped": (check.batchnorm_forward, bn_rho_swapped, "rho and 1 - rho are swapped"),
    "bn unbiased variance in out": (check.batchnorm_forward, bn_std_ddof1, "unbiased variance (ddof=1)"),
    "bn without gamma and beta": (check.batchnorm_forward, bn_no_gamma_beta, "never applied"),
    "bn running averages unchanged": (check.batchnorm_forward, bn_running_unchanged, "come back unchanged"),
    "bn backward, direct path only": (check.batchnorm_backward, bnb_direct_only, "only the direct path"),
    "bn backward, not summed": (check.batchnorm_backward, bnb_not_summed, "one row per sample"),
    "bn backward, no path through mu": (check.batchnorm_backward, bnb_no_mean_path, "misses the path through mu"),
    "bn backward, no gamma": (check.batchnorm_backward, bnb_no_gamma, "dZ_hat = dout * gamma"),
    "ln over the batch": (check.layernorm_images, ln_batch_axes, "spatial batch norm"),
    "ln per channel": (check.layernorm_images, ln_instance, "instance normalization"),
    "ln gamma on W": (check.layernorm_images, ln_gamma_on_last_axis, "broadcast against the last axis"),
    "ln whole batch": (check.layernorm_images, ln_no_keepdims_whole, "over the whole batch"),
    "residual without the skip": (check.residual_backward, res_no_skip, "skip path is missing from dx"),
    "residual without the mask": (check.residual_backward, res_no_mask, "ReLU mask is missing"),
    "residual mask from x": (check.residual_backward, res_mask_from_x, "mask is taken from x"),
    "residual h in dWb": (check.residual_backward, res_h_in_dWb, "before the ReLU"),
}


import pytest  # noqa: E402


@pytest.mark.parametrize("mistake", MISTAKES)
def test_checker_names_the_mistake(mistake, capsys):
    assert_named(*MISTAKES[mistake], capsys)


def test_each_mistake_gets_its_own_message(capsys):
    assert not shared_messages(MISTAKES, capsys)
