"""The exercise checkers: each accepts the package's own function, and rejects each classic mistake with a
message of its own. The wrong functions below are written the way a learner would write them."""

import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers import autograd, check, conv
from mistakes import assert_named, run, shared_messages
from nn_helpers.check._core import package_allowed


def one_hot(y, k=10):
    return np.eye(k)[y]


# --- the package's own functions, in the exercises' signatures -----------------------------------------

def momentum_step(params, grads, velocity, lr, beta):
    opt = nn.Momentum(lr, beta)
    opt.state = velocity
    opt.step(params, grads)
    return params, velocity


def minibatches(n, batch_size, seed):
    order = np.random.default_rng(seed).permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def he_init(n_in, n_out, seed):
    return nn.init_params([n_in, n_out], init="he", seed=seed, dtype=np.float64)["W1"]


def numerical_gradient(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        g[i] = (plus - minus) / (2 * h)
    return g


def adam_step(params, grads, m, v, t, lr, beta1, beta2, eps):
    opt = nn.Adam(lr, beta1, beta2, eps)
    opt.state = {k: (m[k], v[k]) for k in params}
    opt.t = t - 1
    opt.step(params, grads)
    return params, {k: opt.state[k][0] for k in params}, {k: opt.state[k][1] for k in params}


def l2_gradient(params, grads, lam):
    # what nn.SGD(weight_decay=lam) adds to the gradients before its step
    return {k: g + lam * params[k] if k.startswith("W") else g for k, g in grads.items()}


def early_stopping(val_losses, patience):
    # nn.EarlyStopping, fed one epoch at a time as nn.train does
    stopper = nn.EarlyStopping(patience=patience, restore_best=False)
    history = nn.History()
    for epoch, loss in enumerate(val_losses, start=1):
        history.val_loss.append(loss)
        try:
            stopper(epoch, history, {})
        except nn.StopTraining:
            return stopper.best_epoch, epoch
    return stopper.best_epoch, len(val_losses)


def dropout_forward(A, p, rng):
    D = nn.dropout_mask(A.shape, p, rng, dtype=A.dtype)
    return A * D, D


def sgd_step(params, grads, lr):
    nn.SGD(lr).step(params, grads)
    return params


def train_epoch(params, X, y, lr, batch_size, rng):   # the loop of notebook 05; more: test_train_epoch_check.py
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        _, cache = forward(params, X[idx])              # noqa: F821 (the checker passes forward and backward)
        params = sgd_step(params, backward(params, cache, y[idx]), lr)   # noqa: F821
    return params



def conv_backward(dZ, X, W, stride, pad):
    # nn.conv2d_backward needs the forward pass's cache; the bias does not enter any of the gradients
    _, cache = nn.conv2d_forward(X, W, np.zeros(len(W), dtype=W.dtype), stride=stride, pad=pad)
    return nn.conv2d_backward(dZ, cache)

def value_mul(a, b):        # the engine's a * b is recognised and refused: its closure is the engine's
    out = autograd.Value(a.data * b.data, (a, b))

    def _backward():
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad
    out._backward = _backward
    return out


def tensor_max(a, axis):     # likewise a.max(axis)
    out = a._result(a.data.max(axis=axis), (a,), "max")

    def _backward():
        g = np.zeros_like(a.data)
        np.put_along_axis(g, np.expand_dims(a.data.argmax(axis=axis), axis), np.expand_dims(out.grad, axis), axis)
        a._add_grad(g)
    out._backward = _backward
    return out


PACKAGE = {
    "parse_idx": nn.parse_idx,
    "to_features": nn.to_features,
    "train_val_split": nn.train_val_split,
    "layer": lambda X, W, b: X @ W + b,
    "he_init": he_init,
    "forward": lambda params, X: nn.forward(params, X)[0],
    "softmax": nn.softmax,
    "one_hot": nn.one_hot,
    "cross_entropy": nn.cross_entropy,
    "output_gradient": lambda A2, y: (A2 - one_hot(y, A2.shape[1])) / len(y),
    "backward": nn.backward,
    "backward_tanh": nn.backward,
    "backward_deep": nn.backward,
    "numerical_gradient": numerical_gradient,
    "sgd_step": sgd_step,
    "momentum_step": momentum_step,
    "adam_step": adam_step,
    "cosine_lr": nn.cosine_lr,
    "minibatches": minibatches,
    "train_epoch": train_epoch,
    "confusion_matrix": nn.confusion_matrix,
    "precision_recall": nn.precision_recall,
    "most_confident_mistakes": nn.most_confident_mistakes,
    "l2_gradient": l2_gradient,
    "early_stopping": early_stopping,
    "dropout_forward": dropout_forward,
    "conv_forward": lambda X, W, b, stride, pad: nn.conv2d_forward(X, W, b, stride=stride, pad=pad)[0],
    "conv_backward": conv_backward,                            # notebook 11; its mistakes: test_check_conv.py
    "im2col": lambda X, R, stride, pad: conv._im2col(np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad))), R, stride),
    "bridge_backward": lambda dA, Z, size: (lambda A, cache: nn.maxpool_backward(dA.reshape(A.shape) * (A > 0), cache))(
        *nn.maxpool_forward(Z, size=size)),
    "maxpool_backward": lambda dA, X, size: nn.maxpool_backward(dA, nn.maxpool_forward(X, size=size)[1]),
    "value_mul": value_mul,                                    # notebook 12; its mistakes: test_check_autograd.py
    "topological_order": autograd.topological_order,
    "unbroadcast": autograd.unbroadcast,
    "tensor_max": tensor_max,
    # notebook 13; its references and mistakes: test_check_deep.py
    "batchnorm_forward": lambda Z, g, b, m, v, rho=0.9: (
        nn.layers.batchnorm_forward(Z, g, b)[0], *nn.layers.running_averages(m, v, nn.layers.batchnorm_forward(Z, g, b)[1], rho)),
    "batchnorm_backward": lambda dout, Z, g: nn.layers.batchnorm_backward(dout, nn.layers.batchnorm_forward(Z, g, 0 * g)[1]),
    "layernorm_images": lambda X, g, b: (nn.layers.layernorm_forward(X, np.ones(X.shape[1:]), np.zeros(X.shape[1:]))[0]
                                         * g.reshape(1, -1, 1, 1) + b.reshape(1, -1, 1, 1)),
    "residual_backward": lambda dout, x, Wa, ba, Wb, bb: (
        lambda h: (dout + (dout @ Wb.T * (h > 0)) @ Wa.T, x.T @ (dout @ Wb.T * (h > 0)), (dout @ Wb.T * (h > 0)).sum(0),
                   np.maximum(h, 0).T @ dout, dout.sum(0)))(x @ Wa + ba),
}


def test_every_exercise_has_a_checker_and_a_reference():
    names = [name for names in check.EXERCISES.values() for name in names]
    assert len(set(names)) == len(names), names
    assert set(names) <= set(PACKAGE), set(names) - set(PACKAGE)
    assert all(callable(getattr(check, name)) for name in PACKAGE)


@pytest.mark.parametrize("name", PACKAGE)
def test_checker_accepts_the_package_function(name, capsys):
    with package_allowed():
        ok, out = run(getattr(check, name), PACKAGE[name], capsys)
    assert ok is True and out.startswith(f"{name}: correct!"), out
    assert check.results[name] is True


# --- classic mistakes: (checker, wrong function, words of the expected message) ------------------------

def softmax_naive(Z):
    return np.exp(Z) / np.sum(np.exp(Z), axis=1, keepdims=True)


def softmax_axis0(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def softmax_no_axis(Z):
    E = np.exp(Z - np.max(Z))
    return E / np.sum(E)


def softmax_global_max(Z):
    E = np.exp(Z - np.max(Z))
    return E / E.sum(axis=1, keepdims=True)


def softmax_no_keepdims(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1)


def ce_summed(probs, y):
    return -np.sum(np.log(probs[np.arange(len(y)), y]))


def ce_all_entries(probs, y):
    return -np.mean(one_hot(y, probs.shape[1]) * np.log(probs))


def ce_columns(probs, y):
    return -np.mean(np.log(probs[:, y]))


def ce_no_minus(probs, y):
    return np.mean(np.log(probs[np.arange(len(y)), y]))


def ce_per_sample(probs, y):
    return -np.log(probs[np.arange(len(y)), y])


def forward_with(bias1=True, bias2=True, relu=True, W2_T=False, softmax=True):
    def fwd(params, X):
        Z1 = X @ params["W1"] + (params["b1"] if bias1 else 0)
        A1 = np.maximum(0, Z1) if relu else Z1
        Z2 = A1 @ (params["W2"].T if W2_T else params["W2"]) + (params["b2"] if bias2 else 0)
        return nn.softmax(Z2) if softmax else Z2
    return fwd


def backward_with(mask=True, m_in_dZ2=1, m_in_dW=0, db="axis0", W2_T=True, dW_T=False):
    """A learner's backward pass; the keywords introduce the classic bugs."""
    def bwd(params, cache, y):
        X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]
        m = len(y)
        dZ2 = (A2 - one_hot(y)) / m**m_in_dZ2
        dW2 = (dZ2.T @ A1 if dW_T else A1.T @ dZ2) / m**m_in_dW
        dA1 = dZ2 @ (params["W2"].T if W2_T else params["W2"])
        dZ1 = dA1 * (Z1 > 0) if mask else dA1
        dW1 = (dZ1.T @ X if dW_T else X.T @ dZ1) / m**m_in_dW
        if db == "scalar":
            db2, db1 = 1 / m * np.sum(dZ2 * m), 1 / m * np.sum(dZ1 * m)   # the original tutorial's db
        else:
            db2, db1 = dZ2.sum(axis=0), dZ1.sum(axis=0)
        return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    return bwd


def to_features_columns(images):
    return (images.reshape(len(images), 784) / 255).T           # (784, n): one image per column


def to_features_unscaled(images):
    return images.reshape(len(images), 784).astype(np.float32)


def to_features_fortran(images):
    return images.reshape(len(images), 784, order="F") / 255 if images.ndim == 2 else \
        np.stack([im.flatten(order="F") for im in images]) / 255


def layer_W_T(X, W, b):
    return X @ W.T + b


def layer_no_bias(X, W, b):
    return X @ W


def parse_little(raw):
    n = int.from_bytes(raw[4:8], "little")
    return np.frombuffer(raw, dtype=np.uint8, offset=8).reshape(n)


def parse_16(raw):
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(shape)


def parse_28(raw):
    ndim = raw[3]
    n = int.from_bytes(raw[4:8], "big")
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(n, 28, 28) if ndim == 3 else data


def split_separately(X, y, n_val, seed):
    rng = np.random.default_rng(seed)
    X, y = X[rng.permutation(len(X))], y[rng.permutation(len(y))]
    return X[n_val:], y[n_val:], X[:n_val], y[:n_val]


def split_unshuffled(X, y, n_val, seed):
    return X[:-n_val], y[:-n_val], X[-n_val:], y[-n_val:]


def split_with_replacement(X, y, n_val, seed):
    idx = np.random.default_rng(seed).integers(0, len(X), len(X))
    return X[idx[n_val:]], y[idx[n_val:]], X[idx[:n_val]], y[idx[:n_val]]


def he_variance_as_std(n_in, n_out, seed):
    return np.random.default_rng(seed).normal(0, 2 / n_in, (n_in, n_out))


def he_transposed(n_in, n_out, seed):
    return np.random.default_rng(seed).normal(0, np.sqrt(2 / n_in), (n_out, n_in))


def one_hot_columns(y, n_classes=10):
    Y = np.zeros((len(y), n_classes))
    Y[:, y] = 1
    return Y


def one_hot_from_max(y, n_classes=10):
    return np.eye(y.max() + 1)[y]


def output_gradient_no_m(A2, y):
    return A2 - one_hot(y, A2.shape[1])


def output_gradient_m_twice(A2, y):
    return (A2 - one_hot(y, A2.shape[1])) / len(y) / len(y)


def forward_difference(f, x, eps=1e-5):
    g = np.zeros_like(x)
    fx = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        g[i] = (f(x) - fx) / eps
        x[i] = old
    return g


def sgd_uphill(params, grads, lr):
    return {k: params[k] + lr * grads[k] for k in params}


def sgd_weights_only(params, grads, lr):
    return {k: params[k] - lr * grads[k] if k.startswith("W") else params[k] for k in params}


def momentum_forgets(params, grads, velocity, lr, beta):
    return {k: params[k] - lr * grads[k] for k in params}, dict(grads)


def momentum_ema(params, grads, velocity, lr, beta):
    v = {k: beta * velocity[k] + (1 - beta) * grads[k] for k in params}
    return {k: params[k] - lr * v[k] for k in params}, v


def batches_drop_last(n, batch_size, seed):
    order = np.random.default_rng(seed).permutation(n)
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(n // batch_size)]


def batches_in_order(n, batch_size, seed):
    return [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def batches_with_replacement(n, batch_size, seed):
    idx = np.random.default_rng(seed).integers(0, n, n)
    return [idx[i:i + batch_size] for i in range(0, n, batch_size)]


def confusion_fancy(y_true, y_pred, n_classes=10):
    C = np.zeros((n_classes, n_classes), dtype=int)
    C[y_true, y_pred] += 1
    return C


def confusion_transposed(y_true, y_pred, n_classes=10):
    C = np.zeros((n_classes, n_classes), dtype=int)
    for t, p in zip(y_true, y_pred):
        C[p, t] += 1
    return C


def precision_recall_swapped(C):
    return np.diag(C) / C.sum(axis=1), np.diag(C) / C.sum(axis=0)


def precision_recall_nan(C):
    return np.diag(C) / C.sum(axis=0), np.diag(C) / C.sum(axis=1)


def mcm_ascending(y_true, probs, k):
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    return wrong[np.argsort(probs[wrong, pred[wrong]])[:k]]


def mcm_all(y_true, probs, k):
    return np.argsort(-probs.max(axis=1))[:k]


def one_hot_eye(y, n_classes=10):
    return np.eye(n_classes)[y]


def ce_unclipped(probs, y):
    return -np.mean(np.log(probs[np.arange(len(y)), y]))


def ce_other_clip(probs, y):
    return -np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-8, 1)))


def numgrad_rows(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in range(len(x)):          # a 2-D x: x[i] is a whole row
        old = x[i].copy()
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        g[i] = (plus - minus) / (2 * h)
    return g


def numgrad_all_at_once(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        g[i] = (f(x + h) - f(x - h)) / (2 * h)
    return g


def backward_tanh_with(slope):
    def bwd(params, cache, y):
        X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]
        n = len(y)
        dZ2 = (A2 - one_hot(y)) / n
        dA1 = dZ2 @ params["W2"].T
        if slope == "relu":
            dZ1 = dA1 * (Z1 > 0)
        elif slope == "Z1":
            dZ1 = dA1 * (1 - Z1 ** 2)
        elif slope == "tanh twice":
            dZ1 = dA1 * (1 - np.tanh(A1) ** 2)
        elif slope == "sigmoid":
            dZ1 = dA1 * A1 * (1 - A1)
        elif slope == "no square":
            dZ1 = dA1 * (1 - A1)
        else:
            dZ1 = dA1
        return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}
    return bwd


def backward_deep_with(bug=None):
    def bwd(params, cache, y):
        L = len(params) // 2
        n = len(y)
        dZ = (cache[f"A{L}"] - one_hot(y)) / (1 if bug == "no 1/n" else n)
        if bug == "mask on output":
            dZ = dZ * (cache[f"Z{L}"] > 0)
        grads = {}
        first = 2 if bug == "skip first" else 1
        last = L - 1 if bug == "skip last" else L
        for l in range(L, first - 1, -1):
            if l <= last:
                A_in = cache[f"A{l}"] if bug == "A_l" else cache[f"A{l - 1}"]
                grads[f"W{l}"] = A_in.T @ dZ
                grads[f"b{l}"] = dZ.sum(axis=0)
            if l > 1 or bug == "too far":
                W = params[f"W{l}"] if bug == "W not transposed" else params[f"W{l}"].T
                mask = cache[f"Z{l}"] > 0 if bug == "mask of layer l" else cache[f"Z{l - 1}"] > 0
                dZ = (dZ @ W) * (1 if bug == "no mask" else mask)
        return grads
    return bwd


def adam_with(bug=None):
    def step(params, grads, m, v, t, lr, beta1, beta2, eps):
        if bug == "t from 0":
            t = t + 1
        if bug == "t - 1":
            t = t - 1
        if bug == "betas swapped":
            beta1, beta2 = beta2, beta1
        new_params, new_m, new_v = {}, {}, {}
        for k in params:
            g = grads[k]
            new_m[k] = beta1 * m[k] + (g if bug == "no 1 - beta1" else (1 - beta1) * g)
            new_v[k] = beta2 * v[k] + (1 - beta2) * (g if bug == "g in v" else g * g)
            if bug == "no correction":
                m_hat, v_hat = new_m[k], new_v[k]
            else:
                m_hat, v_hat = new_m[k] / (1 - beta1 ** t), new_v[k] / (1 - beta2 ** t)
            if bug == "eps inside":
                new_params[k] = params[k] - lr * m_hat / np.sqrt(v_hat + eps)
            else:
                new_params[k] = params[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
            if bug == "corrected stored":
                new_m[k], new_v[k] = m_hat, v_hat
        if bug == "old moments":
            return new_params, m, v
        return new_params, new_m, new_v
    return step


def cosine_from_0(lr0, epoch, epochs):
    return lr0 * 0.5 * (1 + np.cos(np.pi * epoch / epochs))


def cosine_full_period(lr0, epoch, epochs):
    return lr0 / 2 * (1 + np.cos(2 * np.pi * (epoch - 1) / epochs))


def cosine_quarter_period(lr0, epoch, epochs):
    return 0.5 * lr0 * (1 + np.cos(np.pi * (epoch - 1) / (2 * epochs)))


def cosine_to_zero(lr0, epoch, epochs):
    return lr0 / 2 * (1 + np.cos(np.pi * (epoch - 1) / (epochs - 1)))


def cosine_no_half(lr0, epoch, epochs):
    return lr0 * (1 + np.cos(np.pi * (epoch - 1) / epochs))


def cosine_no_pi(lr0, epoch, epochs):
    return lr0 / 2 * (1 + np.cos((epoch - 1) / epochs))


def cosine_plain(lr0, epoch, epochs):
    return lr0 * np.cos(np.pi * (epoch - 1) / epochs)


def dropout_no_rescale(A, p, rng):
    D = (rng.random(A.shape) >= p).astype(float)
    return A * D, D


def dropout_keep_p(A, p, rng):
    D = (rng.random(A.shape) < p) / (1 - p)
    return A * D, D


def dropout_times_1_minus_p(A, p, rng):
    D = (rng.random(A.shape) >= p) * (1 - p)
    return A * D, D


def dropout_shared_mask(A, p, rng):
    D = (rng.random(A.shape[1]) >= p) / (1 - p)
    return A * D, D


def dropout_global_random(A, p, rng):
    D = (np.random.rand(*A.shape) >= p) / (1 - p)
    return A * D, D


def l2_biases_too(params, grads, lam):
    return {k: grads[k] + lam * params[k] for k in params}


def l2_two_lam(params, grads, lam):
    return {k: grads[k] + 2 * lam * params[k] if k[0] == "W" else grads[k] for k in params}


def l2_decay_only(params, grads, lam):
    return {k: lam * params[k] if k[0] == "W" else grads[k] for k in params}


def l2_half(params, grads, lam):
    return {k: grads[k] + lam / 2 * params[k] if k[0] == "W" else grads[k] for k in params}


def l2_penalty_gradient_only(params, grads, lam):
    return {k: lam * params[k] for k in params}


def l2_weights_decay_only(params, grads, lam):
    return {k: lam * params[k] for k in params if k.startswith("W")}


def l2_no_biases(params, grads, lam):
    return {k: grads[k] + lam * params[k] for k in params if k.startswith("W")}


def l2_minus(params, grads, lam):
    return {k: grads[k] - lam * params[k] if k.startswith("W") else grads[k] for k in params}


def l2_step(params, grads, lam):
    return {k: params[k] - lam * grads[k] for k in params}


def early_worse_than_previous(val_losses, patience):
    best, best_loss, previous, worse = 0, np.inf, np.inf, 0
    for epoch, loss in enumerate(val_losses, start=1):
        worse = worse + 1 if loss >= previous else 0
        previous = loss
        if loss < best_loss:
            best, best_loss = epoch, loss
        if worse >= patience:
            return best, epoch
    return best, len(val_losses)


def early_ties(val_losses, patience):
    best, best_loss = 0, np.inf
    for epoch, loss in enumerate(val_losses, start=1):
        if loss <= best_loss:
            best, best_loss = epoch, loss
        elif epoch - best >= patience:
            return best, epoch
    return best, len(val_losses)


def early_keeps_last(val_losses, patience):
    best, best_loss = 0, np.inf
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best_loss:
            best, best_loss = epoch, loss
        elif epoch - best >= patience:
            return epoch, epoch
    return len(val_losses), len(val_losses)


def early_from_0(val_losses, patience):
    best, best_loss = 0, np.inf
    for epoch, loss in enumerate(val_losses):
        if loss < best_loss:
            best, best_loss = epoch, loss
        elif epoch - best >= patience:
            return best, epoch
    return best, len(val_losses) - 1


def early_one_late(val_losses, patience):
    best, best_loss = 0, np.inf
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best_loss:
            best, best_loss = epoch, loss
        elif epoch - best > patience:
            return best, epoch
    return best, len(val_losses)


def early_argmin(val_losses, patience):
    return int(np.argmin(val_losses)) + 1, len(val_losses)


MISTAKES = {
    # item 3 of issue 9
    "naive softmax": (check.softmax, softmax_naive, "overflows on large logits"),
    "softmax over the wrong axis": (check.softmax, softmax_axis0, "wrong axis"),
    "softmax over the whole batch": (check.softmax, softmax_no_axis, "sum over the whole batch"),
    "softmax with the batch maximum": (check.softmax, softmax_global_max, "maximum of the whole batch"),
    "softmax without keepdims": (check.softmax, softmax_no_keepdims, "without keepdims=True"),
    "cross-entropy summed": (check.cross_entropy, ce_summed, "summed, not averaged"),
    "cross-entropy over all entries": (check.cross_entropy, ce_all_entries, "all n * k entries"),
    "cross-entropy with P[:, y]": (check.cross_entropy, ce_columns, "P[:, y] picks whole columns"),
    "cross-entropy without the minus": (check.cross_entropy, ce_no_minus, "the sign is wrong"),
    "cross-entropy per sample": (check.cross_entropy, ce_per_sample, "one loss per sample"),
    "forward without b1": (check.forward, forward_with(bias1=False), "the bias b1 is missing"),
    "forward without b2": (check.forward, forward_with(bias2=False), "the bias b2 is missing"),
    "forward without biases": (check.forward, forward_with(bias1=False, bias2=False), "both biases are missing"),
    "forward without ReLU": (check.forward, forward_with(relu=False), "the ReLU is missing"),
    "forward with W2.T": (check.forward, forward_with(W2_T=True), "W2.T is used where W2 is needed"),
    "forward returning logits": (check.forward, forward_with(softmax=False), "these are the logits Z2"),
    "layer with W.T": (check.layer, layer_W_T, "W.T is used where W is needed"),
    "layer without bias": (check.layer, layer_no_bias, "the bias is missing"),
    "backward without the ReLU mask": (check.backward, backward_with(mask=False), "the ReLU mask is missing"),
    "backward without 1/m": (check.backward, backward_with(m_in_dZ2=0), "the 1/n is missing"),
    "backward with 1/m twice": (check.backward, backward_with(m_in_dW=1), "1/n is applied twice"),
    "backward with 1/m squared": (check.backward, backward_with(m_in_dZ2=2), "1/n is applied twice"),
    "backward with a scalar db": (check.backward, backward_with(db="scalar"), "summed over all entries into one number"),
    "backward with W2 for W2.T": (check.backward, backward_with(W2_T=False), "W2 is used where its transpose is needed"),
    "backward with transposed dW": (check.backward, backward_with(dW_T=True), "shapes transposed"),
    "features transposed (784, n)": (check.to_features, to_features_columns, "shapes transposed: X is (784, n)"),
    # the other checkers' classic mistakes
    "features not scaled": (check.to_features, to_features_unscaled, "still 0..255"),
    "features flattened by columns": (check.to_features, to_features_fortran, "column by column"),
    "IDX header little-endian": (check.parse_idx, parse_little, "little-endian"),
    "IDX 16-byte header for labels": (check.parse_idx, parse_16, "16-byte header is assumed"),
    "IDX 28 x 28 assumed": (check.parse_idx, parse_28, "28 x 28 pixels are assumed"),
    "split shuffles X and y apart": (check.train_val_split, split_separately, "labels no longer match"),
    "split without shuffling": (check.train_val_split, split_unshuffled, "not shuffled"),
    "split with replacement": (check.train_val_split, split_with_replacement, "appear twice"),
    "He with the variance as std": (check.he_init, he_variance_as_std, "2 / n_in, the variance"),
    "He transposed": (check.he_init, he_transposed, "shapes transposed"),
    "one-hot by columns": (check.one_hot, one_hot_columns, "sets whole columns"),
    "one-hot width from the labels": (check.one_hot, one_hot_from_max, "width comes from the largest label"),
    "output gradient without 1/m": (check.output_gradient, output_gradient_no_m, "the 1/n is missing"),
    "output gradient with 1/m twice": (check.output_gradient, output_gradient_m_twice, "1/n is applied twice"),
    "forward difference": (check.numerical_gradient, forward_difference, "forward difference"),
    "SGD uphill": (check.sgd_step, sgd_uphill, "steps uphill"),
    "SGD without the biases": (check.sgd_step, sgd_weights_only, "biases are not updated"),
    "momentum forgetting v": (check.momentum_step, momentum_forgets, "old velocity is dropped"),
    "momentum as an average": (check.momentum_step, momentum_ema, "velocity is an average"),
    "batches drop the last": (check.minibatches, batches_drop_last, "last, smaller batch"),
    "batches in order": (check.minibatches, batches_in_order, "come in order"),
    "batches with replacement": (check.minibatches, batches_with_replacement, "appear twice"),
    "confusion by fancy +=": (check.confusion_matrix, confusion_fancy, "does not add up repeats"),
    "confusion transposed": (check.confusion_matrix, confusion_transposed, "rows and columns are swapped"),
    "precision and recall swapped": (check.precision_recall, precision_recall_swapped, "swapped"),
    "precision 0/0 = nan": (check.precision_recall, precision_recall_nan, "0 / 0 = nan"),
    "least confident mistakes": (check.most_confident_mistakes, mcm_ascending, "LEAST confident"),
    "right answers ranked too": (check.most_confident_mistakes, mcm_all, "correct predictions are ranked"),
    # issue 16: the checker gaps
    "one-hot with np.eye": (check.one_hot, one_hot_eye, "uses np.eye"),
    "cross-entropy without a clip": (check.cross_entropy, ce_unclipped, "log(0) = -inf"),
    "cross-entropy clipped elsewhere": (check.cross_entropy, ce_other_clip, "must count as 1e-12"),
    "numerical gradient over range(len(x))": (check.numerical_gradient, numgrad_rows, "range(len(x)) runs over the rows"),
    "numerical gradient nudging everything": (check.numerical_gradient, numgrad_all_at_once, "nudges all the entries at once"),
    # issue 16: the new checkers
    "tanh backward with the ReLU mask": (check.backward_tanh, backward_tanh_with("relu"), "the ReLU mask is used"),
    "tanh backward with 1 - Z1**2": (check.backward_tanh, backward_tanh_with("Z1"), "computed from Z1"),
    "tanh backward without the derivative": (check.backward_tanh, backward_tanh_with(None), "derivative is forgotten"),
    "deep backward skipping layer 1": (check.backward_deep, backward_deep_with("skip first"), "gradients of layer 1 are missing"),
    "deep backward skipping the output layer": (check.backward_deep, backward_deep_with("skip last"), "output layer"),
    "deep backward with A_l for A_(l-1)": (check.backward_deep, backward_deep_with("A_l"), "uses the layer's output A_l"),
    "deep backward masking the output": (check.backward_deep, backward_deep_with("mask on output"), "applied to the output layer"),
    "deep backward with the mask of layer l": (check.backward_deep, backward_deep_with("mask of layer l"), "mask comes from the wrong layer"),
    "deep backward for two layers only": (check.backward_deep, backward_with(), "written for two layers"),
    "Adam without bias correction": (check.adam_step, adam_with("no correction"), "bias correction is missing"),
    "Adam with t from 0": (check.adam_step, adam_with("t from 0"), "off by one"),
    "Adam with eps inside the root": (check.adam_step, adam_with("eps inside"), "eps is inside the square root"),
    "Adam with g in v": (check.adam_step, adam_with("g in v"), "instead of g^2"),
    "Adam storing the corrected moments": (check.adam_step, adam_with("corrected stored"), "returned as the new"),
    "cosine from epoch 0": (check.cosine_lr, cosine_from_0, "counted from 0"),
    "cosine with a full period": (check.cosine_lr, cosine_full_period, "a full period"),
    "cosine with a quarter period": (check.cosine_lr, cosine_quarter_period, "a quarter period"),
    "cosine reaching 0": (check.cosine_lr, cosine_to_zero, "last epoch gets learning rate 0"),
    "cosine without the 1/2": (check.cosine_lr, cosine_no_half, "the 1/2 is missing"),
    "dropout without rescaling": (check.dropout_forward, dropout_no_rescale, "not rescaled"),
    "dropout keeping with p": (check.dropout_forward, dropout_keep_p, "kept with probability 1 - p"),
    "dropout times 1 - p": (check.dropout_forward, dropout_times_1_minus_p, "multiplied by 1 - p"),
    "dropout with one mask": (check.dropout_forward, dropout_shared_mask, "shared by every sample"),
    "dropout from np.random": (check.dropout_forward, dropout_global_random, "from rng"),
    "L2 on the biases too": (check.l2_gradient, l2_biases_too, "biases are decayed too"),
    "L2 with 2 lam": (check.l2_gradient, l2_two_lam, "twice too large"),
    "L2 returning the decay only": (check.l2_gradient, l2_decay_only, "only the decay term"),
    "early stopping from epoch 0": (check.early_stopping, early_from_0, "counted from 0"),
    "early stopping one epoch late": (check.early_stopping, early_one_late, "one epoch late"),
    "early stopping by argmin": (check.early_stopping, early_argmin, "never stops"),
    # the other mistakes the new checkers name
    "tanh backward with tanh twice": (check.backward_tanh, backward_tanh_with("tanh twice"), "tanh is applied twice"),
    "tanh backward with the sigmoid's slope": (check.backward_tanh, backward_tanh_with("sigmoid"), "sigmoid's slope"),
    "tanh backward without the square": (check.backward_tanh, backward_tanh_with("no square"), "the square is missing"),
    "deep backward one layer too far": (check.backward_deep, backward_deep_with("too far"), "one layer too far"),
    "deep backward without the mask": (check.backward_deep, backward_deep_with("no mask"), "the relu mask is missing"),
    "deep backward with W_l for W_l.T": (check.backward_deep, backward_deep_with("W not transposed"), "W_l is used where its transpose"),
    "deep backward without 1/n": (check.backward_deep, backward_deep_with("no 1/n"), "the 1/n is missing"),
    "Adam with t - 1": (check.adam_step, adam_with("t - 1"), "the correction uses t - 1"),
    "Adam returning the old moments": (check.adam_step, adam_with("old moments"), "the m and v you return are the old ones"),
    "Adam without 1 - beta1": (check.adam_step, adam_with("no 1 - beta1"), "without the factor 1 - beta1"),
    "Adam with the betas swapped": (check.adam_step, adam_with("betas swapped"), "beta1 and beta2 are swapped"),
    "cosine without pi": (check.cosine_lr, cosine_no_pi, "pi is missing"),
    "cosine without 1 +": (check.cosine_lr, cosine_plain, "turns negative"),
    "L2 with lam / 2": (check.l2_gradient, l2_half, "half too small"),
    "L2 as the penalty's gradient only": (check.l2_gradient, l2_penalty_gradient_only, "only the decay term comes back"),
    "L2 as the weights' decay only": (check.l2_gradient, l2_weights_decay_only, "only the decay term of the weights"),
    "L2 without the biases": (check.l2_gradient, l2_no_biases, "biases' gradients are missing"),
    "L2 subtracted": (check.l2_gradient, l2_minus, "sign of the decay term"),
    "L2 as a step": (check.l2_gradient, l2_step, "looks like a gradient step"),
    "early stopping against the previous epoch": (check.early_stopping, early_worse_than_previous, "worse than the previous one"),
    "early stopping with ties as a best": (check.early_stopping, early_ties, "equal to the best"),
    "early stopping keeping the last epoch": (check.early_stopping, early_keeps_last, "the epoch kept is the last one"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_checker_names_the_mistake(mistake, capsys):
    assert_named(*MISTAKES[mistake], capsys)


def test_each_mistake_of_the_issue_gets_its_own_message(capsys):
    same = shared_messages(MISTAKES, capsys)
    allowed = {("backward with 1/m squared", "backward with 1/m twice")}     # the same mistake, written two ways
    assert set(same) <= allowed, same


def test_a_mistake_on_one_case_only_is_caught(capsys):
    # right on every batch of more than one row, wrong on a batch of 1: the batch-of-1 case catches it
    def softmax_squeezed(Z):
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return np.squeeze(E / E.sum(axis=1, keepdims=True))
    ok, out = run(check.softmax, softmax_squeezed, capsys)
    assert not ok and "a batch of 1 row" in out and "shape (10,); expected (1, 10)" in out, out


# --- placeholders, exceptions, progress --------------------------------------------------------------

def my_one_hot(y, n_classes=10):
    Y = np.zeros((len(y), n_classes))
    Y[np.arange(len(y)), y] = 1
    return Y


def skeleton_raises(Z):
    # your code here
    raise NotImplementedError


def skeleton_ellipsis(Z):
    ...


def skeleton_pass(Z):
    """Row-wise softmax."""
    pass


@pytest.mark.parametrize("fn", [skeleton_raises, skeleton_ellipsis, skeleton_pass])
def test_a_skeleton_is_not_done_yet_in_one_line(fn, capsys):
    ok, out = run(check.softmax, fn, capsys)
    assert ok is False and out == check.NOT_DONE.format(name="softmax") + "\n"


def test_forgotten_return_is_not_a_placeholder(capsys):
    def softmax_no_return(Z):
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        E / E.sum(axis=1, keepdims=True)
    ok, out = run(check.softmax, softmax_no_return, capsys)
    assert not ok and "returned None" in out and "forget the `return`" in out


def test_an_exception_names_itself_and_the_case(capsys):
    def buggy(probs, y):
        return -np.mean(np.log(probs[y]))[0]
    ok, out = run(check.cross_entropy, buggy, capsys)
    assert not ok and "raised IndexError on 5 samples, 10 classes" in out, out


def test_an_exception_of_a_known_mistake_is_explained(capsys):
    # W1.T @ X.T: NumPy refuses the product on a non-square layer; the checker names the mistake
    def forward_columns(params, X):
        A1 = np.maximum(0, X @ params["W1"].T + params["b1"])
        return nn.softmax(A1 @ params["W2"] + params["b2"])
    ok, out = run(check.layer, lambda X, W, b: X @ W.T + b, capsys)
    assert not ok and "W.T is used where W is needed" in out
    ok, out = run(check.forward, forward_columns, capsys)
    assert not ok and "raised ValueError on a 784-10-10 network" in out, out


def test_a_checker_never_raises_and_warns_nothing(capsys, recwarn):
    def explodes(Z):
        raise RecursionError("deep")
    assert check.softmax(explodes) is False
    assert check.softmax("not a function") is False
    assert check.softmax(softmax_naive) is False          # overflows: no RuntimeWarning escapes
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    out = capsys.readouterr().out
    assert "RecursionError" in out and "Pass the function itself" in out


def test_a_function_that_changes_its_input_is_refused_and_the_argument_named(capsys):
    def softmax_in_place(Z):
        Z -= Z.max(axis=1, keepdims=True)
        np.exp(Z, out=Z)
        Z /= Z.sum(axis=1, keepdims=True)
        return Z
    ok, out = run(check.softmax, softmax_in_place, capsys)
    assert ok is False and "the values are right" in out and "changes its input Z in place" in out, out


def test_progress_counts_the_notebook_exercises(capsys):
    check.results.clear()
    check.softmax(skeleton_raises)
    check.one_hot(nn.one_hot)                         # the package's own: not counted
    check.one_hot(my_one_hot)
    capsys.readouterr()
    check.progress("03")
    assert capsys.readouterr().out == "1 of 3 exercises solved in this notebook. Still to do: softmax, cross_entropy.\n"
    with package_allowed():
        check.softmax(nn.softmax)
        check.cross_entropy(nn.cross_entropy)
    capsys.readouterr()
    check.progress("03")
    assert capsys.readouterr().out == "3 of 3 exercises solved in this notebook. All done, well done!\n"


NEW_CHECKERS = ["backward_tanh", "backward_deep", "adam_step", "cosine_lr", "l2_gradient", "early_stopping",
                "dropout_forward"]


@pytest.mark.parametrize("name", NEW_CHECKERS)
def test_new_checkers_handle_skeletons_exceptions_and_a_forgotten_return(name, capsys):
    def skeleton(*args):
        # your code here
        raise NotImplementedError

    def no_return(*args):
        result = len(args)   # noqa: F841 (computed, never returned)

    def crashes(*args):
        return args[99]

    checker = getattr(check, name)
    ok, out = run(checker, skeleton, capsys)
    assert ok is False and out == check.NOT_DONE.format(name=name) + "\n"
    ok, out = run(checker, no_return, capsys)
    assert ok is False and "returned None" in out and "forget the `return`" in out, out
    ok, out = run(checker, crashes, capsys)
    assert ok is False and f"{name}: your function raised IndexError on " in out, out


def test_the_notebook_solutions_of_the_new_exercises_pass(capsys):
    # the tool's solutions are run in the notebooks by test_exercises.py; here the same functions, quickly
    def backward_tanh(params, cache, y):
        X, A1, A2 = cache["A0"], cache["A1"], cache["A2"]
        dZ2 = (A2 - one_hot(y)) / len(y)
        dZ1 = dZ2 @ params["W2"].T * (1 - A1**2)
        return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}

    assert run(check.backward_tanh, backward_tanh, capsys)[0]
    assert run(check.backward_deep, backward_deep_with(), capsys)[0]
    assert run(check.adam_step, adam_with(), capsys)[0]
