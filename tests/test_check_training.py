"""The checkers of notebooks 05 and 06 (sgd_step, minibatches, momentum_step, adam_step, cosine_lr) name the
mistakes of issue 23 that used to get only "wrong values". Each wrong function is written as a learner wrote
it; tests/test_check.py holds the earlier ones, tests/test_train_epoch_check.py those of train_epoch."""

import math

import numpy as np
import pytest

from nn_helpers import check
from mistakes import assert_named, shared_messages


# --- sgd_step ---------------------------------------------------------------------------------------------

def sgd_divides_by_lr(params, grads, lr):
    return {k: params[k] - grads[k] / lr for k in params}


def sgd_zips_by_position(params, grads, lr):
    new = {}
    for (key, theta), grad in zip(params.items(), grads.values()):
        new[key] = theta - lr * grad
    return new


def sgd_first_layer_only(params, grads, lr):
    new = dict(params)
    new["W1"] = params["W1"] - lr * grads["W1"]
    new["b1"] = params["b1"] - lr * grads["b1"]
    return new


# --- minibatches --------------------------------------------------------------------------------------------

def batches_array_split(n, batch_size, seed):
    order = np.random.default_rng(seed).permutation(n)
    return np.array_split(order, n // batch_size)


def batches_every_start(n, batch_size, seed):
    order = np.random.default_rng(seed).permutation(n)
    return [order[i : i + batch_size] for i in range(n)]


def batches_from_1(n, batch_size, seed):
    order = np.random.default_rng(seed).permutation(n)
    return [order[i : i + batch_size] for i in range(1, n, batch_size)]


def batches_one_too_many(n, batch_size, seed):
    order = np.random.default_rng(seed).permutation(n + 1)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


# --- momentum_step ------------------------------------------------------------------------------------------

def momentum_step_inside(params, grads, velocity, lr, beta):
    velocity = {k: beta * velocity[k] - lr * grads[k] for k in params}
    params = {k: params[k] + velocity[k] for k in params}
    return params, velocity


def momentum_step_first(params, grads, velocity, lr, beta):
    params = {k: params[k] - lr * velocity[k] for k in params}
    velocity = {k: beta * velocity[k] + grads[k] for k in params}
    return params, velocity


def momentum_swapped(params, grads, velocity, lr, beta):
    velocity = {k: beta * velocity[k] + grads[k] for k in params}
    params = {k: params[k] - lr * velocity[k] for k in params}
    return velocity, params


def momentum_beta_on_g(params, grads, velocity, lr, beta):
    velocity = {k: velocity[k] + beta * grads[k] for k in params}
    params = {k: params[k] - lr * velocity[k] for k in params}
    return params, velocity


def momentum_one_minus_beta_on_u(params, grads, velocity, lr, beta):
    velocity = {k: (1 - beta) * velocity[k] + grads[k] for k in params}
    params = {k: params[k] - lr * velocity[k] for k in params}
    return params, velocity


# --- adam_step ----------------------------------------------------------------------------------------------

def adam(step):
    """An Adam step with the moments right, and the learner's way of stepping (and returning) from them."""
    def my_adam_step(params, grads, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        m = {k: beta1 * m[k] + (1 - beta1) * grads[k] for k in params}
        v = {k: beta2 * v[k] + (1 - beta2) * grads[k] ** 2 for k in params}
        return step(params, m, v, t, lr, beta1, beta2, eps)
    return my_adam_step


MISTAKES = {
    "SGD dividing by lr": (check.sgd_step, sgd_divides_by_lr, "divided by the learning rate"),
    "SGD pairing by position": (check.sgd_step, sgd_zips_by_position, "by their order, not by their names"),
    "SGD of the first layer only": (check.sgd_step, sgd_first_layer_only, "W2, b2 come back unchanged"),
    "batches by np.array_split": (check.minibatches, batches_array_split, "near-equal parts"),
    "a batch at every start": (check.minibatches, batches_every_start, "the batches overlap"),
    "batches from 1": (check.minibatches, batches_from_1, "first sample of the permutation is never used"),
    "a permutation of n + 1": (check.minibatches, batches_one_too_many, "is out of range"),
    "momentum with the step inside u": (check.momentum_step, momentum_step_inside, "Sutskever"),
    "momentum stepping first": (check.momentum_step, momentum_step_first, "the step uses the old velocity"),
    "momentum returned swapped": (check.momentum_step, momentum_swapped, "come back swapped"),
    "momentum with beta on g": (check.momentum_step, momentum_beta_on_g, "beta multiplies the new gradient"),
    "momentum with 1 - beta on u": (check.momentum_step, momentum_one_minus_beta_on_u, "scaled by 1 - beta"),
    "Adam with eps outside": (check.adam_step, adam(lambda params, m, v, t, lr, b1, b2, eps: (
        {k: params[k] - lr * (m[k] / (1 - b1**t)) / np.sqrt(v[k] / (1 - b2**t)) + eps for k in params}, m, v)),
        "added outside the fraction"),
    "Adam corrected by beta^t": (check.adam_step, adam(lambda params, m, v, t, lr, b1, b2, eps: (
        {k: params[k] - lr * (m[k] / b1**t) / (np.sqrt(v[k] / b2**t) + eps) for k in params}, m, v)),
        "divides by beta1^t"),
    "Adam without the root": (check.adam_step, adam(lambda params, m, v, t, lr, b1, b2, eps: (
        {k: params[k] - lr * (m[k] / (1 - b1**t)) / (v[k] / (1 - b2**t) + eps) for k in params}, m, v)),
        "not by its square root"),
    "Adam correcting after the root": (check.adam_step, adam(lambda params, m, v, t, lr, b1, b2, eps: (
        {k: params[k] - lr * (m[k] / (1 - b1**t)) / (np.sqrt(v[k]) / (1 - b2**t) + eps) for k in params}, m, v)),
        "applied after the square root"),
    "Adam returning v, m": (check.adam_step, adam(lambda params, m, v, t, lr, b1, b2, eps: (
        {k: params[k] - lr * (m[k] / (1 - b1**t)) / (np.sqrt(v[k] / (1 - b2**t)) + eps) for k in params}, v, m)),
        "m and v come back swapped"),
    "cosine rising": (check.cosine_lr, lambda lr0, epoch, epochs: lr0 * (1 - np.cos(np.pi * (epoch - 1) / epochs)) / 2,
                      "runs backwards"),
    "cosine in degrees": (check.cosine_lr, lambda lr0, epoch, epochs: lr0 * (1 + np.cos(180 * (epoch - 1) / epochs)) / 2,
                          "in degrees"),
    "cosine with //": (check.cosine_lr, lambda lr0, epoch, epochs: lr0 * (1 + math.cos(math.pi * (epoch - 1) // epochs)) / 2,
                       "integer division"),
    "cosine without lr0": (check.cosine_lr, lambda lr0, epoch, epochs: (1 + np.cos(np.pi * (epoch - 1) / epochs)) / 2,
                           "lr0 is missing"),
    "cosine without brackets": (check.cosine_lr, lambda lr0, epoch, epochs: lr0 / 2 * 1 + np.cos(np.pi * (epoch - 1) / epochs),
                                "brackets are missing"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_checker_names_the_mistake(mistake, capsys):
    assert_named(*MISTAKES[mistake], capsys, numbers_only_allowed=False)


def test_each_mistake_gets_its_own_message(capsys):
    assert shared_messages(MISTAKES, capsys) == []


@pytest.mark.parametrize("name", ["sgd_step", "minibatches", "momentum_step", "adam_step", "cosine_lr"])
def test_the_solutions_are_still_accepted(name, capsys):
    from tests.test_check import PACKAGE
    from nn_helpers.check._core import package_allowed
    with package_allowed():
        assert getattr(check, name)(PACKAGE[name]) is True, capsys.readouterr().out
