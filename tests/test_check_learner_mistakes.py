"""Mistakes learners write, run through the checkers of 01-06 (issue 29 item 11): each of these got only "wrong
values", a raw NumPy error or a misleading cause before, and each is now named. Written the way a learner writes
them (one-liners included); the checker's message must hold the words given, and no two share a message."""

import numpy as np
import pytest

import nn_helpers as nn  # noqa: F401 (the learner's notebook has it)
from mistakes import assert_named, shared_messages
from nn_helpers import check

def parse_np_uint32(raw):
    ndim = raw[3]
    shape = tuple(np.frombuffer(raw[4:4 + 4 * ndim], dtype=np.uint32))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)

def parse_ndim_byte2(raw):
    ndim = raw[2]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)

def parse_shape_list_str(raw):
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 * ndim).reshape(shape)

def parse_count_only(raw):
    ndim = raw[3]
    n = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(n, -1)

def tf_wrong_order(images): return images.reshape(784, -1).T / 255

def tf_fixed_n(images): return images.reshape(60000, 784) / 255

def layer_dot_reversed(X, W, b): return W @ X + b

def layer_mul(X, W, b): return X * W + b

def layer_b_col(X, W, b): return X @ W + b.reshape(-1, 1)

def layer_sum(X, W, b): return np.sum(X @ W + b, axis=0)

def fw_relu_out(params, X):
    A1 = np.maximum(X @ params["W1"] + params["b1"], 0)
    return np.maximum(A1 @ params["W2"] + params["b2"], 0)

def fw_relu_min(params, X):
    A1 = np.minimum(X @ params["W1"] + params["b1"], 0)
    Z = A1 @ params["W2"] + params["b2"]; E = np.exp(Z - Z.max(1, keepdims=True)); return E / E.sum(1, keepdims=True)

def fw_W1_twice(params, X):
    A1 = np.maximum(X @ params["W1"] + params["b1"], 0)
    Z = A1 @ params["W1"] + params["b2"]; E = np.exp(Z - Z.max(1, keepdims=True)); return E / E.sum(1, keepdims=True)

def fw_cache(params, X):
    A1 = np.maximum(X @ params["W1"] + params["b1"], 0)
    Z = A1 @ params["W2"] + params["b2"]; E = np.exp(Z - Z.max(1, keepdims=True)); return E / E.sum(1, keepdims=True), {"A1": A1}

def he_tuple(n_in, n_out, seed): return np.random.default_rng(seed).normal(0, np.sqrt(2 / n_in), (n_in, n_out)), np.zeros(n_out)

def oh_rows(y, n_classes=10):
    Y = np.zeros((len(y), n_classes)); Y[y] = 1; return Y

def oh_loop_wrong(y, n_classes=10):
    Y = np.zeros((len(y), n_classes))
    for i in range(len(y)): Y[i, i] = 1
    return Y

def oh_int_shape(y, n_classes=10):
    Y = np.zeros(len(y), n_classes); Y[np.arange(len(y)), y] = 1; return Y

def oh_one_minus(y, n_classes=10):
    Y = np.zeros((len(y), n_classes)); Y[np.arange(len(y)), y - 1] = 1; return Y

def ce_P_y(P, y): return -np.mean(np.log(P[y]))

def ce_log1p(P, y): return -np.mean(np.log1p(P[np.arange(len(y)), y]))

def ce_range_len_P0(P, y): return -np.mean(np.log(P[np.arange(P.shape[1]), y]))

def og_onehot_rows(A2, y):
    Y = np.zeros_like(A2); Y[y] = 1; return (A2 - Y) / len(y)

def og_y_minus_1(A2, y):
    Y = np.zeros_like(A2); Y[np.arange(len(y)), y - 1] = 1; return (A2 - Y) / len(y)

def og_in_place(A2, y):
    A2[np.arange(len(y)), y] -= 1; return A2 / len(y)

def bw_cache_X(params, cache, y):
    X = cache["X"]; return {}

def bw_keepdims(params, cache, y):
    X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]; n = len(y)
    Y = np.zeros_like(A2); Y[np.arange(n), y] = 1; dZ2 = (A2 - Y) / n
    dZ1 = dZ2 @ params["W2"].T * (Z1 > 0)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0, keepdims=True), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0, keepdims=True)}

def bw_XdZ(params, cache, y):
    X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]; n = len(y)
    Y = np.zeros_like(A2); Y[np.arange(n), y] = 1; dZ2 = (A2 - Y) / n
    dZ1 = dZ2 @ params["W2"].T * (Z1 > 0)
    return {"W1": X @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1 @ dZ2, "b2": dZ2.sum(axis=0)}

def ng_precedence(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]; x[i] = old + h; p = f(x); x[i] = old - h; m = f(x); x[i] = old
        g[i] = (p - m) / 2 * h
    return g

def ng_fixed_h(f, x, h=1e-5):
    g = np.zeros_like(x); hh = 1e-1
    for i in np.ndindex(x.shape):
        old = x[i]; x[i] = old + hh; p = f(x); x[i] = old - hh; m = f(x); x[i] = old
        g[i] = (p - m) / (2 * hh)
    return g

def ng_flat_index(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in range(x.size):
        old = x[i]; x[i] = old + h; p = f(x); x[i] = old - h; m = f(x); x[i] = old
        g[i] = (p - m) / (2 * h)
    return g

def ng_copy_x_plus(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp = x; xp[i] += h; p = f(xp); xm = x; xm[i] -= h; m = f(xm)
        g[i] = (p - m) / (2 * h)
    return g

def sgd_none(params, grads, lr):
    for k in params: params[k] -= lr * grads[k]

def mb_reshape(n, batch_size, seed):
    return list(np.random.default_rng(seed).permutation(n).reshape(-1, batch_size))

def mb_data(n, batch_size, seed):
    o = np.random.default_rng(seed).permutation(n)
    return [o[i:i + batch_size] for i in range(batch_size)]

def te_shuffle_X(params, X, y, lr, batch_size, rng):
    rng.shuffle(X)
    for s in range(0, len(X), batch_size):
        _, c = forward(params, X[s:s + batch_size]); params = sgd_step(params, backward(params, c, y[s:s + batch_size]), lr)  # noqa: F821
    return params

def te_probs(params, X, y, lr, batch_size, rng):
    o = rng.permutation(len(X))
    for s in range(0, len(X), batch_size):
        i = o[s:s + batch_size]; probs = forward(params, X[i]); params = sgd_step(params, backward(params, probs, y[i]), lr)  # noqa: F821
    return params

def mom_neg(params, grads, velocity, lr, beta):
    u = {k: beta * velocity[k] - grads[k] for k in params}
    return {k: params[k] - lr * u[k] for k in params}, u

def adam_no_t(params, grads, m, v, t, lr, beta1, beta2, eps):
    M = {k: beta1 * m[k] + (1 - beta1) * grads[k] for k in params}
    V = {k: beta2 * v[k] + (1 - beta2) * grads[k] ** 2 for k in params}
    return {k: params[k] - lr * (M[k] / (1 - beta1)) / (np.sqrt(V[k] / (1 - beta2)) + eps) for k in params}, M, V

def adam_vhat_g(params, grads, m, v, t, lr, beta1, beta2, eps):
    M = {k: beta1 * m[k] + (1 - beta1) * grads[k] for k in params}
    V = {k: beta2 * v[k] + (1 - beta2) * grads[k] ** 2 for k in params}
    return {k: params[k] - lr * grads[k] / (np.sqrt(V[k] / (1 - beta2 ** t)) + eps) for k in params}, M, V

def cos_int(lr0, epoch, epochs): return lr0 * (1 + np.cos(np.pi * ((epoch - 1) // epochs))) / 2

def cos_deg(lr0, epoch, epochs): return lr0 * (1 + np.cos(np.deg2rad(np.pi * (epoch - 1) / epochs))) / 2

def cos_linear(lr0, epoch, epochs): return lr0 * (1 - (epoch - 1) / epochs)

def cos_np_array(lr0, epoch, epochs): return np.array([lr0 * (1 + np.cos(np.pi * (epoch - 1) / epochs)) / 2])


def sm_sum_axis0_shift_ok(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True)); return E / E.sum(axis=0, keepdims=True)

def bw_dA_with_W1(params, cache, y):
    X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]; n = len(y)
    Y = np.zeros_like(A2); Y[np.arange(n), y] = 1; dZ2 = (A2 - Y) / n
    dZ1 = dZ2 @ params["W1"].T * (Z1 > 0)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}

def bw_dW1_with_A1(params, cache, y):
    X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]; n = len(y)
    Y = np.zeros_like(A2); Y[np.arange(n), y] = 1; dZ2 = (A2 - Y) / n
    dZ1 = dZ2 @ params["W2"].T * (Z1 > 0)
    return {"W1": A1.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}

def deep_L_len(params, cache, y):
    L = len(params); n = len(y)
    dZ = cache[f"A{L}"].copy(); dZ[np.arange(n), y] -= 1; dZ /= n
    g = {}
    for l in range(L, 0, -1):
        g[f"W{l}"] = cache[f"A{l-1}"].T @ dZ; g[f"b{l}"] = dZ.sum(0)
        if l > 1: dZ = dZ @ params[f"W{l}"].T * (cache[f"Z{l-1}"] > 0)
    return g

def tanh_deriv_of_Z(params, cache, y):
    X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]; n = len(y)
    Y = np.zeros_like(A2); Y[np.arange(n), y] = 1; dZ2 = (A2 - Y) / n
    dZ1 = dZ2 @ params["W2"].T * (1 - np.tanh(Z1))**2
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}

def he_rand(n_in, n_out, seed): return np.random.default_rng(seed).random((n_in, n_out)) * np.sqrt(2 / n_in)

def he_std_sqrt_nin(n_in, n_out, seed): return np.random.default_rng(seed).standard_normal((n_in, n_out)) / np.sqrt(n_in) * 2

def og_A_minus_y_onehot_int(A2, y):
    Y = np.zeros(A2.shape, dtype=int); Y[np.arange(len(y)), y] = 1; return (A2 - Y) // len(y)


MISTAKES = {
    'parse_np_uint32': (check.parse_idx, parse_np_uint32, 'little-endian'),
    'parse_ndim_byte2': (check.parse_idx, parse_ndim_byte2, 'read from byte 2'),
    'parse_shape_list_str': (check.parse_idx, parse_shape_list_str, 'offset=4 * ndim leaves out the magic number'),
    'parse_count_only': (check.parse_idx, parse_count_only, 'reshaped to (count, -1)'),
    'tf_wrong_order': (check.to_features, tf_wrong_order, 'reshape(784, n).T mixes the images'),
    'tf_fixed_n': (check.to_features, tf_fixed_n, 'written in as 60000'),
    'layer_dot_reversed': (check.layer, layer_dot_reversed, 'W @ X puts the weights first'),
    'layer_mul': (check.layer, layer_mul, 'X * W multiplies entry by entry'),
    'layer_b_col': (check.layer, layer_b_col, 'b is turned into a column'),
    'layer_sum': (check.layer, layer_sum, 'added up over the samples'),
    'fw_relu_out': (check.forward, fw_relu_out, 'ReLU instead of softmax'),
    'fw_relu_min': (check.forward, fw_relu_min, 'np.minimum(Z1, 0) keeps the negative part'),
    'fw_W1_twice': (check.forward, fw_W1_twice, 'W1 is used in the second layer too'),
    'fw_cache': (check.forward, fw_cache, 'tuple of 2 items whose first is the right result'),
    'he_tuple': (check.he_init, he_tuple, 'returned a tuple of 2 items, which cannot be read'),
    'oh_rows': (check.one_hot, oh_rows, 'Y[y] = 1 sets whole rows'),
    'oh_loop_wrong': (check.one_hot, oh_loop_wrong, 'Y[i, i]'),
    'oh_int_shape': (check.one_hot, oh_int_shape, 'np.zeros(n, n_classes) reads its second argument as the dtype'),
    'oh_one_minus': (check.one_hot, oh_one_minus, 'column y[i] - 1'),
    'ce_P_y': (check.cross_entropy, ce_P_y, 'probs[y] picks whole rows'),
    'ce_log1p': (check.cross_entropy, ce_log1p, 'np.log1p(p) is log(1 + p)'),
    'ce_range_len_P0': (check.cross_entropy, ce_range_len_P0, 'np.arange(probs.shape[1]) counts the classes'),
    'og_onehot_rows': (check.output_gradient, og_onehot_rows, 'Y[y] = 1 sets whole rows of the one-hot matrix'),
    'og_y_minus_1': (check.output_gradient, og_y_minus_1, 'taken off in column y[i] - 1'),
    'og_in_place': (check.output_gradient, og_in_place, 'changes its input A2 in place'),
    'bw_cache_X': (check.backward, bw_cache_X, "cache has no key 'X': its keys are 'activation', 'A0', 'Z1'"),
    'bw_keepdims': (check.backward, bw_keepdims, 'extra axis of length 1 (keepdims=True'),
    'bw_XdZ': (check.backward, bw_XdZ, 'input is not transposed in its weight gradient'),
    'ng_precedence': (check.numerical_gradient, ng_precedence, 'MULTIPLIES by h'),
    'ng_fixed_h': (check.numerical_gradient, ng_fixed_h, 'the argument h is not used'),
    'ng_flat_index': (check.numerical_gradient, ng_flat_index, 'i counting up to x.size'),
    'ng_copy_x_plus': (check.numerical_gradient, ng_copy_x_plus, 'is the same array, not a copy'),
    'sgd_none': (check.sgd_step, sgd_none, 'updates params in place (params["W1"]) but returns nothing'),
    'mb_reshape': (check.minibatches, mb_reshape, 'reshape(-1, batch_size) needs n to be a multiple'),
    'mb_data': (check.minibatches, mb_data, 'the batches overlap'),
    'te_shuffle_X': (check.train_epoch, te_shuffle_X, 'changes its input X in place'),
    'te_probs': (check.train_epoch, te_probs, 'backward got the pair forward returns'),
    'mom_neg': (check.momentum_step, mom_neg, 'the two minus signs cancel'),
    'adam_no_t': (check.adam_step, adam_no_t, 'without the power t'),
    'adam_vhat_g': (check.adam_step, adam_vhat_g, 'raw gradient g where the corrected mean m_hat'),
    'cos_int': (check.cosine_lr, cos_int, '// is integer division'),
    'cos_deg': (check.cosine_lr, cos_deg, 'converted from degrees again'),
    'cos_linear': (check.cosine_lr, cos_linear, 'falls in a straight line'),
    'cos_np_array': (check.cosine_lr, cos_np_array, 'holding the number; expected a plain number'),
    'sm_sum_axis0_shift_ok': (check.softmax, sm_sum_axis0_shift_ok, 'the sum runs down the columns (axis=0)'),
    'bw_dA_with_W1': (check.backward, bw_dA_with_W1, 'dA1 goes back through W1'),
    'bw_dW1_with_A1': (check.backward, bw_dW1_with_A1, 'dW1 is built from A1'),
    'deep_L_len': (check.backward_deep, deep_L_len, 'L is len(params) // 2'),
    'tanh_deriv_of_Z': (check.backward_tanh, tanh_deriv_of_Z, 'the square covers 1 - tanh(z)'),
    'he_rand': (check.he_init, he_rand, 'every weight is positive'),
    'he_std_sqrt_nin': (check.he_init, he_std_sqrt_nin, '2 / sqrt(n_in): the 2 belongs inside the root'),
    'og_A_minus_y_onehot_int': (check.output_gradient, og_A_minus_y_onehot_int, '(A2 - Y) // n rounds every entry down'),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_checker_names_the_mistake(mistake, capsys):
    assert_named(*MISTAKES[mistake], capsys, numbers_only_allowed=False)


def test_each_mistake_gets_its_own_message(capsys):
    shared = shared_messages({k: v for k, v in MISTAKES.items() if k not in ("og_in_place", "te_shuffle_X")}, capsys)
    assert shared == []
