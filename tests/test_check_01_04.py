"""More classic mistakes for the checkers of notebooks 01-04 (issue 23, F), each written the way a learner
writes it: the checker must reject it with a message that names the mistake, not only "wrong values"."""

import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers import check
from mistakes import assert_named, shared_messages


def one_hot(y, k=10):
    return np.eye(k)[y]


def pick(probs, y):
    return probs[np.arange(len(y)), y]


# --- notebook 01 -------------------------------------------------------------------------------------------

def parse_sizes_from_byte_0(raw):
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 * i:4 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def parse_data_from_4_ndim(raw):
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(shape))
    return np.frombuffer(raw, dtype=np.uint8)[4 * ndim:4 * ndim + count].reshape(shape)


def features_by_256(images):
    return images.reshape(len(images), 784) / 256


def features_min_max(images):
    X = images.reshape(len(images), 784).astype(float)
    return (X - X.min()) / (X.max() - X.min())


def features_standardised(images):
    X = images.reshape(len(images), 784).astype(float)
    return (X - X.mean()) / X.std()


def features_back_to_uint8(images):
    return (images / 255).astype(np.uint8).reshape(len(images), 784)


def split_sklearn_order(X, y, n_val, seed):
    order = np.random.default_rng(seed).permutation(len(X))
    return X[order[n_val:]], X[order[:n_val]], y[order[n_val:]], y[order[:n_val]]


def split_train_on_everything(X, y, n_val, seed):
    order = np.random.default_rng(seed).permutation(len(X))
    return X[order], y[order], X[order[:n_val]], y[order[:n_val]]


# --- notebook 02 -------------------------------------------------------------------------------------------

def layer_with_relu(X, W, b):
    return np.maximum(X @ W + b, 0)


def layer_minus_bias(X, W, b):
    return X @ W - b


def layer_summed_bias(X, W, b):
    return X @ W + np.sum(b)


def he_xavier(n_in, n_out, seed):
    return np.random.default_rng(seed).normal(0, np.sqrt(2 / (n_in + n_out)), (n_in, n_out))


def he_sqrt_of_2_only(n_in, n_out, seed):
    return np.random.default_rng(seed).normal(0, np.sqrt(2) / n_in, (n_in, n_out))


def he_uniform(n_in, n_out, seed):
    limit = np.sqrt(2 / n_in)
    return np.random.default_rng(seed).uniform(-limit, limit, (n_in, n_out))


def he_scale_as_mean(n_in, n_out, seed):
    return np.random.default_rng(seed).normal(np.sqrt(2 / n_in), size=(n_in, n_out))


def forward_sigmoid(params, X):
    A1 = 1 / (1 + np.exp(-(X @ params["W1"] + params["b1"])))
    return nn.softmax(A1 @ params["W2"] + params["b2"])


def forward_softmax_hidden(params, X):
    A1 = nn.softmax(X @ params["W1"] + params["b1"])
    return nn.softmax(A1 @ params["W2"] + params["b2"])


def forward_bias_after_relu(params, X):
    A1 = np.maximum(X @ params["W1"], 0) + params["b1"]
    return nn.softmax(A1 @ params["W2"] + params["b2"])


def forward_argmax(params, X):
    A1 = np.maximum(X @ params["W1"] + params["b1"], 0)
    return np.argmax(A1 @ params["W2"] + params["b2"], axis=1)


def forward_softmax_columns(params, X):
    Z2 = np.maximum(X @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"]
    E = np.exp(Z2 - Z2.max(axis=0))
    return E / E.sum(axis=0)


# --- notebook 03 -------------------------------------------------------------------------------------------

def softmax_no_division(Z):
    return np.exp(Z - Z.max(axis=1, keepdims=True))


def softmax_no_exp(Z):
    return Z / Z.sum(axis=1, keepdims=True)


def softmax_log(Z):
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_minus_min(Z):
    E = np.exp(Z - Z.min(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def softmax_minus_mean(Z):
    E = np.exp(Z - Z.mean(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def one_hot_always_10(y, n_classes=10):
    Y = np.zeros((len(y), 10))
    Y[np.arange(len(y)), y] = 1
    return Y


def one_hot_from_ones(y, n_classes=10):
    Y = np.ones((len(y), n_classes))
    Y[np.arange(len(y)), y] = 0
    return Y


def ce_mean_over_classes(probs, y):
    Y = one_hot(y, probs.shape[1])
    return -np.mean(np.sum(Y * np.log(np.maximum(probs, 1e-12)), axis=0))   # the issue's 1.60788 for 3.21576


def ce_divided_by_k(probs, y):
    return -np.sum(np.log(np.maximum(pick(probs, y), 1e-12))) / probs.shape[1]


def ce_log10(probs, y):
    return -np.mean(np.log10(np.maximum(pick(probs, y), 1e-12)))


def ce_log2(probs, y):
    return -np.mean(np.log2(np.maximum(pick(probs, y), 1e-12)))


def ce_all_classes_summed(probs, y):
    return -np.mean(np.sum(np.log(np.maximum(probs, 1e-12)), axis=1))


def ce_of_the_guess(probs, y):
    return -np.mean(np.log(np.maximum(probs.max(axis=1), 1e-12)))


def ce_swapped_index(probs, y):
    return -np.mean(np.log(np.maximum(probs[y, np.arange(len(y))], 1e-12)))


# --- notebook 04 -------------------------------------------------------------------------------------------

def output_gradient_no_labels(A2, y):
    return A2 / len(y)                          # the issue's dZ2 = A2 / n


def output_gradient_minus_label(A2, y):
    return (A2 - y[:, None]) / len(y)


def output_gradient_averaged(A2, y):
    return np.mean(A2 - one_hot(y, A2.shape[1]), axis=0)


def output_gradient_by_classes(A2, y):
    return (A2 - one_hot(y, A2.shape[1])) / A2.shape[1]


def backward_with(bug):
    def my_backward(params, cache, y):
        X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]
        n = len(y)
        dZ2 = A2 / n if bug == "no labels" else (A2 - one_hot(y, A2.shape[1])) / n
        dW2 = {"A2": A2, "Z1": Z1}.get(bug, A1).T @ dZ2
        db2 = dZ2.mean(axis=0) if bug == "db mean" else dZ2.sum(axis=0)
        dA1 = dZ2 @ params["W2"].T
        if bug == "times A1":
            dZ1 = dA1 * A1
        elif bug == "ReLU of dA1":
            dZ1 = np.maximum(dA1, 0)
        else:
            dZ1 = dA1 * (Z1 > 0)
        db1 = dZ1.mean(axis=0) if bug == "db mean" else dZ1.sum(axis=0)
        return {"W1": X.T @ dZ1, "b1": db1, "W2": dW2, "b2": db2}
    return my_backward


def backward_tanh_with(bug):
    def my_backward_tanh(params, cache, y):
        X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]
        n = len(y)
        dZ2 = A2 / n if bug == "no labels" else (A2 - one_hot(y, A2.shape[1])) / n
        slope = {"no labels": 1 - A1**2, "tanh squared": np.tanh(Z1) ** 2, "plus": 1 + A1**2,
                 "sech": 1 / np.cosh(Z1)}[bug]
        dZ1 = (dZ2 @ params["W2"].T) * slope
        return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}
    return my_backward_tanh


def backward_deep_with(bug):
    def my_backward_deep(params, cache, y):
        L = len(params) // 2
        n = len(y)
        A_L = cache[f"A{L}"]
        dZ = A_L / n if bug == "no labels" else (A_L - one_hot(y, A_L.shape[1])) / n
        grads = {}
        for l in range(L, 0, -1):
            grads[f"W{l}"] = cache[f"A{l - 1}"].T @ dZ
            grads[f"b{l}"] = np.mean(dZ, axis=0) if bug == "db mean" else dZ.sum(axis=0)
            if l > 1:
                dZ = (dZ @ params[f"W{l}"].T) * (cache[f"Z{l - 1}"] > 0)
        return grads
    return my_backward_deep


def numerical_gradient_flipped(f, x, h=1e-6):
    g = np.zeros_like(x, dtype=float)
    for j in np.ndindex(x.shape):
        old = x[j]
        x[j] = old - h
        first = f(x)
        x[j] = old + h
        second = f(x)
        x[j] = old
        g[j] = (first - second) / (2 * h)
    return g


def numerical_gradient_flat(f, x, h=1e-6):
    g = []
    for j in np.ndindex(x.shape):
        old = x[j]
        x[j] = old + h
        plus = f(x)
        x[j] = old - h
        minus = f(x)
        x[j] = old
        g.append((plus - minus) / (2 * h))
    return np.array(g)


MISTAKES = {
    # 01
    "IDX sizes from byte 0": (check.parse_idx, parse_sizes_from_byte_0, "magic number counts as the first size"),
    "IDX data from byte 4 ndim": (check.parse_idx, parse_data_from_4_ndim, "read from byte 4 * ndim"),
    "features divided by 256": (check.to_features, features_by_256, "divided by 256"),
    "features min-max scaled": (check.to_features, features_min_max, "batch's own minimum and maximum"),
    "features standardised": (check.to_features, features_standardised, "standardised"),
    "features cast back to uint8": (check.to_features, features_back_to_uint8, "cast back to an integer type"),
    "split in scikit-learn's order": (check.train_val_split, split_sklearn_order, "scikit-learn's order"),
    "split trains on everything": (check.train_val_split, split_train_on_everything, "holds all the samples"),
    # 02
    "layer with ReLU": (check.layer, layer_with_relu, "ReLU is applied"),
    "layer subtracts the bias": (check.layer, layer_minus_bias, "bias is subtracted"),
    "layer adds the summed bias": (check.layer, layer_summed_bias, "sum of all the biases"),
    "He with Xavier's variance": (check.he_init, he_xavier, "Xavier"),
    "He with sqrt(2) / n_in": (check.he_init, he_sqrt_of_2_only, "sqrt(2) / n_in"),
    "He uniform": (check.he_init, he_uniform, "uniform weights"),
    "He scale passed as the mean": (check.he_init, he_scale_as_mean, "takes the mean first"),
    "forward with a sigmoid": (check.forward, forward_sigmoid, "uses a sigmoid"),
    "forward with softmax in the hidden layer": (check.forward, forward_softmax_hidden, "hidden layer too"),
    "forward with b1 after ReLU": (check.forward, forward_bias_after_relu, "added after ReLU"),
    "forward returns the argmax": (check.forward, forward_argmax, "predicted digits"),
    "forward with softmax down the columns": (check.forward, forward_softmax_columns, "down the columns"),
    # 03
    "softmax not normalised": (check.softmax, softmax_no_division, "not divided by their row sum"),
    "softmax without exp": (check.softmax, softmax_no_exp, "without the exponential"),
    "log-softmax": (check.softmax, softmax_log, "log-probabilities"),
    "softmax minus the row minimum": (check.softmax, softmax_minus_min, "row's minimum"),
    "softmax minus the row mean": (check.softmax, softmax_minus_mean, "row's mean"),
    "one-hot always 10 wide": (check.one_hot, one_hot_always_10, "n_classes is ignored"),
    "one-hot from ones": (check.one_hot, one_hot_from_ones, "0s and 1s are swapped"),
    "cross-entropy averaged over the classes": (check.cross_entropy, ce_mean_over_classes,
                                                "averages over the classes instead of over the samples"),
    "cross-entropy divided by K": (check.cross_entropy, ce_divided_by_k,
                                   "averages over the classes instead of over the samples"),
    "cross-entropy in log10": (check.cross_entropy, ce_log10, "base-10 logarithm"),
    "cross-entropy in bits": (check.cross_entropy, ce_log2, "base-2 logarithm"),
    "cross-entropy of every class": (check.cross_entropy, ce_all_classes_summed, "every class's probability"),
    "cross-entropy of the guess": (check.cross_entropy, ce_of_the_guess, "largest probability"),
    "cross-entropy with row and column swapped": (check.cross_entropy, ce_swapped_index, "swapped"),
    # 04
    "output gradient without the labels": (check.output_gradient, output_gradient_no_labels,
                                           "one-hot labels are not subtracted"),
    "output gradient minus the label value": (check.output_gradient, output_gradient_minus_label,
                                              "label y[i] itself"),
    "output gradient averaged over the rows": (check.output_gradient, output_gradient_averaged,
                                               "rows are averaged into one"),
    "output gradient divided by K": (check.output_gradient, output_gradient_by_classes, "number of classes"),
    "backward without the labels": (check.backward, backward_with("no labels"), "one-hot labels are not subtracted"),
    "backward with mean bias gradients": (check.backward, backward_with("db mean"), "means over the samples"),
    "backward times A1": (check.backward, backward_with("times A1"), "the activation itself"),
    "backward with ReLU of the gradient": (check.backward, backward_with("ReLU of dA1"), "applied to the gradient"),
    "backward dW2 from A2": (check.backward, backward_with("A2"), "built from A2"),
    "backward dW2 from Z1": (check.backward, backward_with("Z1"), "built from Z1"),
    "tanh backward without the labels": (check.backward_tanh, backward_tanh_with("no labels"),
                                         "one-hot labels are not subtracted"),
    "tanh slope tanh^2": (check.backward_tanh, backward_tanh_with("tanh squared"), "the slope is tanh(z)^2"),
    "tanh slope 1 + tanh^2": (check.backward_tanh, backward_tanh_with("plus"), "the sign is wrong"),
    "tanh slope sech": (check.backward_tanh, backward_tanh_with("sech"), "not its square"),
    "deep backward without the labels": (check.backward_deep, backward_deep_with("no labels"),
                                         "one-hot labels are not subtracted"),
    "deep backward with mean bias gradients": (check.backward_deep, backward_deep_with("db mean"),
                                               "means over the samples"),
    "numerical gradient flipped": (check.numerical_gradient, numerical_gradient_flipped, "sign is flipped"),
    "numerical gradient flat": (check.numerical_gradient, numerical_gradient_flat, "flat vector"),
}


@pytest.fixture(autouse=True)
def learner_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NN_LEARNER_DIR", str(tmp_path))   # an accepted function must not land in the repository


@pytest.mark.parametrize("name", MISTAKES)
def test_checker_names_the_mistake(name, capsys):
    assert_named(*MISTAKES[name], capsys, numbers_only_allowed=False)


def test_each_mistake_gets_a_message_of_its_own(capsys):
    # the two ways of averaging over the classes are one mistake, and share its message; so does the
    # forgotten one-hot in the backward pass of a ReLU and of a tanh network
    assert sorted(shared_messages(MISTAKES, capsys)) == [
        ("backward without the labels", "tanh backward without the labels"),
        ("cross-entropy averaged over the classes", "cross-entropy divided by K")]


def test_the_issues_two_classic_mistakes_are_named(capsys):
    """Issue 23 F: both got only "Wrong values: got 1.60788, expected 3.21576." before."""
    check.cross_entropy(ce_mean_over_classes)
    out = capsys.readouterr().out
    assert "averages over the classes instead of over the samples" in out and "Wrong values" not in out, out
    check.output_gradient(output_gradient_no_labels)
    out = capsys.readouterr().out
    assert "one-hot labels are not subtracted" in out and "Wrong values" not in out, out
