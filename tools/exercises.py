"""Put the exercises into the notebooks, or put them back after a notebook changed:

    python tools/exercises.py            # then re-execute the notebooks (CONTRIBUTING.md)
    python tools/exercises.py 04_backpropagation.ipynb

Each exercise is five cells inserted next to an anchor cell, found by a piece of its text: a Markdown task,
a folded **Hint** (the idea or the shape of the answer, not the code), a skeleton for the learner
(``def my_softmax(Z): ... raise NotImplementedError``), a cell that calls its checker
(``check.softmax(my_softmax)``), and the solution in a folded ``<details>`` block. An exercise goes *after*
its anchor, or *before* it (``before=True``) when the anchor is the worked code that answers it: the learner
tries first, then reads on. The notebook also gets ``from nn_helpers import check`` in its import cell and
``check.progress(...)`` at the end.

The cells carry ``metadata.exercise`` (learners do not see it): running the script again first removes every
cell it added, so editing an exercise here and re-running is all it takes. A notebook whose exercise cells
come out the same as they are is not rewritten, so its stored outputs stay and a second run changes no byte.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@dataclass(frozen=True)
class Exercise:
    anchor: str | tuple  # a piece of text of exactly one cell (not an exercise cell); or a tuple of
    #                      alternatives, the first one found is used
    name: str          # the checker's name: check.<name>(my_<name>)
    task: str          # Markdown: what to write, with every word the learner needs
    hint: str          # Markdown: the idea or the shape to aim for, not the code
    signature: str     # the skeleton's first line, "def my_<name>(...):"
    solution: str      # the body of the solution
    before: bool = False   # insert before the anchor (the anchor is the worked code that answers it)


def ex(anchor, name, task, hint, signature, solution, before=False) -> Exercise:
    return Exercise(anchor, name, task, hint, signature, solution, before)


# notebook -> its exercises, in the order they appear in the notebook
EXERCISES = {
    "01_data.ipynb": [
        ex('labels_mine = np.frombuffer(raw_labels', "parse_idx",
           "Write `my_parse_idx(raw)` for **any** IDX file of unsigned bytes, not only the two above: byte 3 of "
           "the magic number is the number of dimensions `ndim`; then come `ndim` big-endian uint32 sizes, then "
           "the data. Return a `uint8` array of shape `(count, rows, cols)` for images or `(count,)` for labels. "
           "The checker feeds it a label file, small images of 4 x 5 pixels and MNIST-sized ones.",
           "The header is $4 + 4 \\cdot$ `ndim` bytes long. Read the `ndim` sizes in a loop, each four bytes "
           "decoded as above with `int.from_bytes(..., \"big\")`, and collect them into a tuple: that tuple is "
           "the shape. The data start where the header ends (`offset=` of `np.frombuffer`).",
           "def my_parse_idx(raw):",
           '''    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)'''),
        ex("X = images.reshape(len(images), 28 * 28)", "to_features",
           "Before you run the next cell, which does it: write `my_to_features(images)`, the two steps above as "
           "one function. Images `(n, 28, 28)` of 0..255 pixels -> the feature matrix `X` of shape `(n, 784)`, "
           "one image per row (flattened row by row, pixel $(r, c)$ at position $28r + c$), floats in 0..1.",
           "Write down the shape you have and the shape you want: which axis stays, and which two become "
           "one? NumPy can regroup the same numbers without moving them, reading row by row, the order the "
           "text asks for. Then: which number takes the largest pixel value to 1, and what is the dtype of "
           "your result?",
           "def my_to_features(images):",
           '''    return images.reshape(len(images), 28 * 28).astype(np.float32) / 255''', before=True),
        ex("assert np.all(np.abs(val_counts / 5000", "train_val_split",
           "`nn.train_val_split` made the split above. Write your own, `my_train_val_split(X, y, n_val, seed)`: "
           "shuffle the samples with `np.random.default_rng(seed)`, hold out `n_val` of them, and return "
           "`X_train, y_train, X_val, y_val`. Any shuffle is fine, as long as each image keeps its label, no "
           "image is lost or repeated, and the same seed gives the same split.",
           "Shuffle the row numbers $0, \\dots, n-1$, not the data: one random permutation from the seeded "
           "generator. Its first `n_val` entries name the validation rows, the rest the training rows; index "
           "`X` and `y` with the same index arrays, and every label follows its image.",
           "def my_train_val_split(X, y, n_val, seed):",
           '''    order = np.random.default_rng(seed).permutation(len(X))
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]'''),
    ],
    "02_forward_pass.ipynb": [
        ex("For $n$ images at once, stack the images", "layer",
           "Before you read on: the formula above is one neuron and one image. Write `my_layer(X, W, b)`, the "
           "weighted sums of a whole layer for a whole batch at once, **without a Python loop**. `X` `(n, n_in)` "
           "holds one image per row, column $j$ of `W` `(n_in, n_out)` holds neuron $j$'s weights and `b` "
           "`(n_out,)` the biases; return `Z` `(n, n_out)`, whose entry `Z[i, j]` is neuron $j$'s sum "
           "$z_j$ for image $i$. The next cell writes the answer as one line of math.",
           "Write out one entry, `Z[i, j]`, in the indices of `X` and `W`: a sum over the index they share. "
           "Which NumPy operator computes such a sum for every pair $(i, j)$ at once? Check that the shapes "
           "fit, then ask what broadcasting does when you add a vector of `n_out` numbers to an `(n, n_out)` "
           "array.",
           "def my_layer(X, W, b):",
           '''    return X @ W + b''', before=True),
        ex(("### Vectorized", "def forward_vectorized("), "forward",
           "Before you read on: vectorize the loops above. Write `my_forward(params, X)`, the output "
           "probabilities `(n, 10)` of the 784-$d_1$-10 network for a whole batch `X` `(n, 784)`: "
           "$Z_1 = X W_1 + b_1$, $A_1 = \\mathrm{ReLU}(Z_1)$, $Z_2 = A_1 W_2 + b_2$, then `nn.softmax(Z2)`, "
           "which turns each row of ten scores into ten probabilities that sum to 1 (notebook 03 builds "
           "softmax and explains it; here, call the package's). `params` holds `W1`, `b1`, `W2`, `b2` as `nn.init_params` makes them.",
           "Each loop over neurons and pixels is one matrix product plus a bias, as in `my_layer`: two layers, "
           "two products. ReLU acts entry by entry (`np.maximum` against 0); softmax comes last, from "
           "`nn.softmax`, on the output layer only.",
           "def my_forward(params, X):",
           '''    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(Z1, 0)
    Z2 = A1 @ params["W2"] + params["b2"]
    return nn.softmax(Z2)''', before=True),
        ex("images with a probability > 0.99", "he_init",
           "`nn.init_params(..., init=\"he\")` drew the weights above. Write `my_he_init(n_in, n_out, seed)`: "
           "He-initialized weights of shape `(n_in, n_out)`, drawn from a normal distribution with mean 0 and "
           "the variance of the table, $\\sigma^2 = 2 / n_\\text{in}$, by `np.random.default_rng(seed)`. The "
           "checker measures the mean and spread of what you return.",
           "The table gives a variance. Read what the generator's `normal` expects for its spread "
           "(`help(np.random.Generator.normal)`): is it the same quantity? And which axis of `W` counts the "
           "inputs, the fan-in?",
           "def my_he_init(n_in, n_out, seed):",
           '''    rng = np.random.default_rng(seed)
    return rng.normal(0, np.sqrt(2 / n_in), size=(n_in, n_out))'''),
    ],
    "03_softmax_cross_entropy.ipynb": [
        ex("A_batch = softmax_naive(Z)", "softmax",
           "Before you read on, fix both problems: write `my_softmax(Z)` for logits `Z` of shape `(n, K)` ($K$ classes) that "
           "returns probabilities of the same shape, **each row** summing to 1, and never overflows, not even "
           "for logits of 1000. (The next section shows one way.)",
           "Softmax does not change when you subtract the same number from every logit of a row: the factor "
           "$e^{-c}$ cancels between the numerator and the sum. Which $c$ makes every exponent at most 0? Take "
           "it for each row, and keep the row statistics as columns, shape `(n, 1)`, so that they broadcast "
           "across the rows.",
           "def my_softmax(Z):",
           '''    E = np.exp(Z - Z.max(axis=1, keepdims=True))   # every exponent <= 0: no overflow
    return E / E.sum(axis=1, keepdims=True)'''),
        ex("assert np.array_equal(Y, np.eye(10)[y])", "one_hot",
           "Rows of the identity matrix are one way. Write `my_one_hot(y, n_classes=10)` **without** `np.eye` "
           "(the checker looks): labels `(n,)` -> `Y` of shape `(n, n_classes)` with a 1 at `Y[i, y[i]]` and "
           "0 elsewhere. The indexing you need is the one notebook 04 uses for the output layer's gradient.",
           "Start from zeros of the final shape. NumPy sets one entry per row in a single assignment when you "
           "index with two arrays of the same length: the row numbers $0, \\dots, n-1$, and for each row the "
           "column to set.",
           "def my_one_hot(y, n_classes=10):",
           '''    Y = np.zeros((len(y), n_classes))
    Y[np.arange(len(y)), y] = 1
    return Y'''),
        ex("uniform_guess = np.full((1, 10), 0.1)", "cross_entropy",
           "The cell above did one image with the one-hot `Y`. Write the batch version, "
           "`my_cross_entropy(probs, y)`: the mean cross-entropy $J = \\frac{1}{n} \\sum_i -\\log "
           "\\hat y_{i, y_i}$ of probabilities `probs` `(n, K)` and labels `y` `(n,)`, as one number, without "
           "building `Y`. A probability of exactly 0 happens (section 1: it underflows) and must not give "
           "`inf`: count it as $10^{-12}$, the clip `nn.cross_entropy` uses.",
           "Pick one probability per row, the correct class's, with the two-array indexing of `my_one_hot`. "
           "Raise each to at least $10^{-12}$ before the logarithm (`np.maximum` or `np.clip`), then take the "
           "mean of minus the logs.",
           "def my_cross_entropy(probs, y):",
           '''    p = probs[np.arange(len(y)), y]      # the probability of each sample's correct class
    return -np.mean(np.log(np.maximum(p, 1e-12)))'''),
    ],
    "04_backpropagation.ipynb": [
        ex("dZ2 = (A2 - Y) / ", "output_gradient",
           "Before you run the next cell: write `my_output_gradient(A2, y)`, the formula above for the output "
           "probabilities `A2` `(n, 10)` and the labels `y` `(n,)` (integers, not one-hot: build what you need "
           "from them), as one function that works for any batch size $n$.",
           "`A2 - Y` is `A2` with 1 subtracted at each row's correct class, column `y[i]` of row `i` (the "
           "two-array indexing of notebook 03's `one_hot`). The factor $1/n$ comes from the mean, and $n$ is the "
           "number of labels.",
           "def my_output_gradient(A2, y):",
           '''    n = len(y)
    Y = np.zeros_like(A2)
    Y[np.arange(n), y] = 1
    return (A2 - Y) / n''', before=True),
        ex("The second layer's weights", "backward",
           "Try the whole backward pass before you read sections 3 to 5, which derive it line by line (come "
           "back here if you get stuck, or after reading them): write `my_backward(params, cache, y)`. It gets "
           "`params` and the `cache` of `nn.forward` (`cache[\"A0\"]` is `X`, then `Z1`, `A1`, `Z2`, `A2`) and "
           "returns `{\"W1\": dW1, \"b1\": db1, \"W2\": dW2, \"b2\": db2}`, each of its parameter's shape.",
           "Work backwards from $dZ_2$ (section 2), one arrow of the forward pass at a time, as on the "
           "one-neuron graph of section 1: a weight's gradient is its layer's $dZ$ times the input it "
           "multiplies, now for all samples at once. Every gradient has the shape of what it is the gradient "
           "of: write down the shapes of $A_1$ $(n \\times d_1)$, $dZ_2$ and $W_2$, and find the product of "
           "the first two (transposed or not) that has the third's shape. A bias is added to every row: which "
           "axis does its gradient sum over? For ReLU, what is its slope on each side of 0?",
           "def my_backward(params, cache, y):",
           '''    X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]
    n = len(y)
    dZ2 = A2.copy()
    dZ2[np.arange(n), y] -= 1
    dZ2 /= n                                  # (A2 - Y) / n
    dW2 = A1.T @ dZ2
    db2 = dZ2.sum(axis=0)
    dZ1 = (dZ2 @ params["W2"].T) * (Z1 > 0)   # the ReLU mask
    dW1 = X.T @ dZ1
    db1 = dZ1.sum(axis=0)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}''', before=True),
        ex('mine = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}', "backward_tanh",
           "A derivation of your own: the same 784-$d_1$-10 network with a **tanh** hidden layer, "
           "$A_1 = \\tanh(Z_1)$, $\\tanh z = \\frac{e^z - e^{-z}}{e^z + e^{-z}}$. First derive $\\tanh'(z)$ "
           "and write it in terms of $\\tanh z$ itself; then write `my_backward_tanh(params, cache, y)`, with "
           "`cache` from `nn.forward(params, X, activation=\"tanh\")` (it holds `A0` = `X`, `Z1`, `A1`, `Z2`, "
           "`A2`), returning the four gradients as `my_backward` does.",
           "Only one line of the ReLU backward pass changes: which one? For $\\tanh'$, apply the quotient rule "
           "to the definition, then look for $\\tanh z$ itself in what you get (split the fraction into two). "
           "Finally: which array of the cache already holds the values you need?",
           "def my_backward_tanh(params, cache, y):",
           '''    X, A1, A2 = cache["A0"], cache["A1"], cache["A2"]
    n = len(y)
    dZ2 = A2.copy()
    dZ2[np.arange(n), y] -= 1
    dZ2 /= n                                  # (A2 - Y) / n, as with ReLU
    dA1 = dZ2 @ params["W2"].T
    dZ1 = dA1 * (1 - A1**2)                   # tanh'(z) = 1 - tanh(z)**2, and tanh(Z1) is A1
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}'''),
        ex(("## 10. Any number of layers", "Checking gradients with finite differences"), "backward_deep",
           "Before you read section 10, which does it: generalise sections 2-5 to any depth yourself. Write "
           "down, for one layer $l$, its $dW_l$, its $db_l$ and the $dZ_{l-1}$ it passes down, in terms of "
           "$dZ_l$ (sections 3-5 did it for $l = 2$ and $l = 1$), then turn that into a loop: "
           "`my_backward_deep(params, cache, y)` for a ReLU network with $L$ weight layers, `W1`, `b1`, ..., "
           "`WL`, `bL` ($L$ = `len(params) // 2`); `cache` from `nn.forward` holds `A0` = `X`, `Z1`, `A1`, ..., "
           "`ZL`, `AL` (the probabilities). Return every `dWl` and `dbl` under the parameter's name. The checker "
           "tries networks with 1, 2, 3 and 4 weight layers.",
           "Every layer has the form $Z_l = A_{l-1} W_l + b_l$, so sections 3 and 5 hold for each layer with "
           "$A_{l-1}$ as its input, and section 4 takes $dZ_l$ back to $dZ_{l-1}$ through $W_l$ and the ReLU "
           "of layer $l - 1$. Start from $dZ_L$ as in section 2 and loop $l = L, L-1, \\dots, 1$; below layer 1 "
           "there is only $X$, nothing left to go back through. The output layer has softmax, not ReLU.",
           "def my_backward_deep(params, cache, y):",
           '''    L = len(params) // 2                      # W1..WL and b1..bL
    n = len(y)
    dZ = cache[f"A{L}"].copy()
    dZ[np.arange(n), y] -= 1
    dZ /= n                                   # dZ_L = (A_L - Y) / n
    grads = {}
    for l in range(L, 0, -1):
        grads[f"W{l}"] = cache[f"A{l - 1}"].T @ dZ
        grads[f"b{l}"] = dZ.sum(axis=0)
        if l > 1:                             # back through W_l and the ReLU of layer l - 1
            dZ = (dZ @ params[f"W{l}"].T) * (cache[f"Z{l - 1}"] > 0)
    return grads''', before=True),
        ex("X_tiny = rng.random((6, 4))", "numerical_gradient",
           "Before you read the next cell (it runs this loop on a tiny network): write "
           "`my_numerical_gradient(f, x, h=1e-6)`, the central-difference gradient of a function `f` that "
           "maps an array `x` (any shape) to a number, "
           "$\\frac{\\partial f}{\\partial x_j} \\approx \\frac{f(x + h e_j) - f(x - h e_j)}{2h}$, one entry "
           "$x_j$ at a time ($e_j$ is 1 at entry $j$ and 0 elsewhere). Return an array of the shape of `x`.",
           "Visit every entry of `x`, whatever its shape: for a 2-D array an entry is a pair `(i, j)`, and "
           "`np.ndindex(x.shape)` yields them all. At each, set that one entry to `old + h`, evaluate, to "
           "`old - h`, evaluate, and put `old` back before the next entry.",
           "def my_numerical_gradient(f, x, h=1e-6):",
           '''    grad = np.zeros_like(x, dtype=float)
    for j in np.ndindex(x.shape):
        old = x[j]
        x[j] = old + h
        plus = f(x)
        x[j] = old - h
        minus = f(x)
        x[j] = old                            # put it back before the next entry
        grad[j] = (plus - minus) / (2 * h)
    return grad''', before=True),
    ],
    "05_training_loop.ipynb": [
        ex("Choose the change against the gradient", "sgd_step",
           "Before reading on: from the Taylor step alone, find a change $\\Delta\\theta$, built from the "
           "gradient and proportional to a learning rate $\\eta > 0$, for which the predicted change "
           "$\\nabla J \\cdot \\Delta\\theta$ is negative whatever the gradient is (unless it is zero). Then write "
           "it as `my_sgd_step(params, grads, lr)`: the new parameters $\\theta + \\Delta\\theta$, by the same rule "
           "for every array (`W1`, `b1`, `W2`, `b2`), each with its own gradient `grads[k]`; return a new "
           "`params` dict.",
           "The predicted change is a dot product of $\\nabla J$ with your $\\Delta\\theta$. Which vector has a dot "
           "product with $\\nabla J$ that can never be positive, whatever $\\nabla J$ is? Biases are parameters "
           "too.",
           "def my_sgd_step(params, grads, lr):",
           """    return {key: params[key] - lr * grads[key] for key in params}""", before=True),
        ("Batching first: the indices of one epoch", "minibatches",
         "Write `my_minibatches(n, batch_size, seed)`: one epoch's mini-batches, a list of index arrays. "
         "Shuffle the indices 0..n-1 with `np.random.default_rng(seed)`, then cut them into batches of "
         "`batch_size`; the last batch holds what is left, so every sample is used exactly once.",
         "def my_minibatches(n, batch_size, seed):",
         '''    order = np.random.default_rng(seed).permutation(n)
    return [order[start : start + batch_size] for start in range(0, n, batch_size)]'''),
        ex("write one epoch of it before you read the version below", "train_epoch",
           "Write `my_train_epoch(params, X, y, lr, batch_size, rng)`: one epoch of mini-batch gradient descent, "
           "the three steps of the list above, built only from these four pieces, called by these names (the "
           "checker passes the package's, the capstone of section 7 passes yours): `minibatches(n, batch_size, "
           "rng)` gives the epoch's batches of indices (your exercise 2, with the generator `rng` as its seed); "
           "`forward(params, Xb)` returns `(probs, cache)`; `backward(params, cache, yb)` returns `grads`; "
           "`sgd_step(params, grads, lr)` returns new parameters. Return the parameters after the epoch.",
           "Which of the pieces needs the loss $J$ itself? None: `backward` starts from the cache of the same "
           "batch and that batch's labels. And each step must start from the parameters the step before "
           "returned.",
           "def my_train_epoch(params, X, y, lr, batch_size, rng):",
           """    for idx in minibatches(len(X), batch_size, rng):    # a permutation drawn from rng, cut into batches
        probs, cache = forward(params, X[idx])
        grads = backward(params, cache, y[idx])
        params = sgd_step(params, grads, lr)
    return params"""),
    ],
    "06_training.ipynb": [
        ex("The sum needs only its own previous value", "momentum_step",
           "Before the next cell gives it: write `my_momentum_step(params, grads, velocity, lr, beta)`, one "
           "momentum step for every parameter (`W1`, `b1`, ...). `velocity` is a dict like `params` that holds "
           "$u_{t-1}$, the sum above as it was after the previous step (zeros before the first). Find how $u_t$ "
           "follows from $u_{t-1}$ and the new gradient alone, without the older gradients, then step every "
           "parameter along the new velocity, $\\theta \\leftarrow \\theta - \\eta u_t$. Return "
           "`(params, velocity)`, both updated.",
           "Write the sums $u_3$ and $u_2$ out, one above the other: which part of $u_3$ is $u_2$, and what "
           "multiplies it? The step then uses the new velocity, and the caller keeps the velocity you return "
           "for the next step.",
           "def my_momentum_step(params, grads, velocity, lr, beta):",
           """    velocity = {key: beta * velocity[key] + grads[key] for key in params}
    params = {key: params[key] - lr * velocity[key] for key in params}
    return params, velocity""", before=True),
        ex("The weights add up to $(1 - \\beta_1)", "adam_step",
           "Before the next cell gives the correction: write one Adam step, `my_adam_step(params, grads, m, v, "
           "t, lr, beta1, beta2, eps)`, for every parameter. Update `m` and `v` as above; then correct each so "
           "that it becomes a weighted mean whose weights add up to 1 (find by what $m_t$ must be divided at "
           "step $t$, and $v_t$ likewise); then step $\\theta \\leftarrow \\theta - \\eta\\, \\hat m / "
           "(\\sqrt{\\hat v} + \\epsilon)$ with the corrected $\\hat m, \\hat v$. `m` and `v` are dicts like "
           "`params` (zeros before the first step), `t` is the step number counted from 1. Return "
           "`(params, m, v)`.",
           "Add up the weights of the unrolled $m_t$ above, $(1 - \\beta_1)\\beta_1^{t-s}$ for $s = 1, \\dots, "
           "t$: a geometric series, whose sum is the number to divide by ($v$ the same, with $\\beta_2$). The "
           "corrected values are for this step's update only: the next step continues from the uncorrected "
           "`m` and `v`, so those are what you return.",
           "def my_adam_step(params, grads, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):",
           """    m = {k: beta1 * m[k] + (1 - beta1) * grads[k] for k in params}
    v = {k: beta2 * v[k] + (1 - beta2) * grads[k] ** 2 for k in params}
    m_hat = {k: m[k] / (1 - beta1**t) for k in params}   # the bias correction, for this step only
    v_hat = {k: v[k] / (1 - beta2**t) for k in params}
    params = {k: params[k] - lr * m_hat[k] / (np.sqrt(v_hat[k]) + eps) for k in params}
    return params, m, v""", before=True),
        ex("The rate that is $\\eta_0$ at epoch 1", "cosine_lr",
           "Before the next cell gives the formula: write `my_cosine_lr(lr0, epoch, epochs)`, the learning "
           "rate of epoch $e$ = `epoch` of $E$ = `epochs`, epochs counted from 1. It is `lr0` at the first "
           "epoch, falls along half a period of a cosine (from its top to its bottom), and would reach 0 one "
           "epoch after the last, at $e = E + 1$, so that the last epoch still learns a little. Find the "
           "formula yourself; `nn.cosine_lr` computes the same.",
           "$(1 + \\cos\\alpha)/2$ falls from 1 to 0 while the angle $\\alpha$ goes from 0 to $\\pi$. Which angle "
           "belongs to epoch 1, and which to the epoch $E + 1$ that never comes? In between, the angle grows by "
           "the same amount every epoch.",
           "def my_cosine_lr(lr0, epoch, epochs):",
           """    return lr0 * (1 + np.cos(np.pi * (epoch - 1) / epochs)) / 2""", before=True),
    ],
    "07_evaluation.ipynb": [
        ex("C = nn.confusion_matrix(y_test, y_pred)", "confusion_matrix",
           "`nn.confusion_matrix` counted the matrix above. Write `my_confusion_matrix(y_true, y_pred, "
           "n_classes=10)`: $C_{kk'}$ (`C[k, k2]` in code) = the number of samples of true class $k$ predicted "
           "as $k'$, shape `(n_classes, n_classes)`, whatever labels the batch holds.",
           "Start from an `(n_classes, n_classes)` array of integer zeros and add 1 at (true, predicted) for "
           "every sample. Careful: with index arrays, `C[rows, cols] += 1` adds only once for a pair that "
           "occurs several times; a loop over the samples, or `np.add.at`, adds every time.",
           "def my_confusion_matrix(y_true, y_pred, n_classes=10):",
           '''    C = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(C, (y_true, y_pred), 1)        # C[y_true, y_pred] += 1 would count repeats once
    return C'''),
        ex("precision = np.diag(C) / C.sum(axis=0)", "precision_recall",
           "Before you read the next cell: write `my_precision_recall(C)`, the per-class precision and recall "
           "of the formulas above from a confusion matrix, returned as `(precision, recall)`. A class that is "
           "never predicted (or never occurs) gets 0, not `nan`: the checker tries one.",
           "The correct counts are the diagonal. Precision divides them by the column sums (everything called "
           "$k$), recall by the row sums (everything that is $k$). Where a sum is 0, write 0 instead of "
           "dividing: `np.divide` takes `where=` and `out=`.",
           "def my_precision_recall(C):",
           '''    tp = np.diag(C).astype(float)
    predicted, actual = C.sum(axis=0), C.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    return precision, recall''', before=True),
        ex("mistakes = nn.most_confident_mistakes(", "most_confident_mistakes",
           "Before the next cell finds them with `nn.most_confident_mistakes`: write "
           "`my_most_confident_mistakes(y_true, probs, k)`, the indices of the `k` wrong predictions made with "
           "the highest probability, most confident first.",
           "Predict (the argmax of each row), keep the indices where the prediction differs from the truth, "
           "look up the probability of each of those predictions, and order the kept indices by it, largest "
           "first. `np.argsort` sorts ascending: sort minus the values.",
           "def my_most_confident_mistakes(y_true, probs, k):",
           '''    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    confidence = probs[wrong, pred[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:k]]''', before=True),
    ],
    "08_regularization.ipynb": [
        ex("The penalty's gradient: $(W_l)_{qj}$ appears in one term", "l2_gradient",
           "Before the text gives it: derive the gradient of $J_\\lambda = J + \\frac{\\lambda}{2} \\sum_l "
           "\\lVert W_l \\rVert^2$ with respect to each weight matrix and each bias, then write "
           "`my_l2_gradient(params, grads, lam)`: from the gradients `grads` of $J$, the gradients of $J_\\lambda$, "
           "for every parameter of a network of any depth (`W1`, `b1`, `W2`, `b2`, ...). Return a new dict with "
           "every key, and leave `grads` as it was.",
           "Only the penalty is new: `grads` already holds $J$'s part, and the gradient of a sum is the sum of the "
           "gradients. Write $\\lVert W \\rVert^2$ as a sum over the entries and differentiate it with respect to "
           "one entry: how many terms of the sum contain it? Then ask the same of a bias.",
           "def my_l2_gradient(params, grads, lam):",
           '''    return {key: grads[key] + lam * params[key] if key.startswith("W") else grads[key] for key in params}''',
           before=True),
        ex("stopper = nn.EarlyStopping(patience=3)", "early_stopping",
           "Before the next cell trains with `nn.EarlyStopping`: write its rule as "
           "`my_early_stopping(val_losses, patience)`. `val_losses` is the validation loss after epochs "
           "1, 2, ...; return `(best_epoch, stop_epoch)`, both counted from 1: the epoch $e^\\star$ of the lowest "
           "loss seen so far when training stops, and the epoch after which it stops, the first with "
           "$e - e^\\star \\ge p$ (`patience`), or the last epoch if that never happens. Only a strictly lower "
           "loss is a new best.",
           "Walk through the losses once with the epoch number (`enumerate(..., start=1)`), remembering the "
           "best loss so far and its epoch. A lower loss is a new best; otherwise, the moment "
           "$e - e^\\star$ reaches the patience, return. If the loop ends, training ran to the last epoch.",
           "def my_early_stopping(val_losses, patience):",
           '''    best, best_loss = 0, float("inf")
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best_loss:                  # strictly lower: a new best
            best, best_loss = epoch, loss
        elif epoch - best >= patience:
            return best, epoch
    return best, len(val_losses)''', before=True),
        ex("X4 = X_lab[:4]", "dropout_forward",
           "Before you read the next cell: write `my_dropout_forward(A, p, rng)`, inverted dropout of the "
           "activations `A` `(n, d_1)` with drop rate `p`, drawing from the generator `rng`. Return "
           "`(A_dropped, D)`: the mask `D` of `A`'s shape holds 0 for a dropped unit and $1/(1-p)$ for a kept "
           "one, each unit of each sample dropped with probability $p$ on its own, and `A_dropped = A * D`.",
           "Draw one random number per entry of `A`, from the generator you are given. For a number drawn "
           "uniformly from $[0, 1)$, which comparison with $p$ comes out true with probability $1 - p$? Those "
           "booleans say which units are kept; scale them so that the mean of a kept-or-dropped unit stays what "
           "it was.",
           "def my_dropout_forward(A, p, rng):",
           '''    D = (rng.random(A.shape) >= p) / (1 - p)  # kept with probability 1 - p, then scaled up
    return A * D, D''', before=True),
    ],
    "11_convolutional_networks.ipynb": [
        ex("def conv_loops(", "conv_forward",
           "Before you read the next cell, which does it for stride 1 only: write `my_conv_forward(X, W, b, stride, "
           "pad)`, the formula above for a whole batch and any stride. `X` `(n, C, H, W)` holds $n$ images of $C$ "
           "channels, `W` `(F, C, R, R)` the $F$ kernels, `b` `(F,)` one bias per filter; `stride` is $S$ and `pad` "
           "is $P$ (zeros on every side of each image). Return `Z` `(n, F, H_out, W_out)` with $H_\\text{out} = "
           "\\lfloor (H + 2P - R)/S \\rfloor + 1$, and the same for the width. Read the kernel as it is, not "
           "flipped (a cross-correlation, as every framework computes it). Loops over the samples, filters and "
           "output positions are fine: the checker's images are small. It tries strides 2 and 3, including ones "
           "that do not divide $H + 2P - R$, padding 1 and 2, several channels and filters, non-square images and "
           "a batch of one.",
           "Work out the output size first, with integer division. Pad once, before any loop, on the last two "
           "axes only (`np.pad` takes one `(before, after)` pair per axis). Each output entry is then one window "
           "of the padded image: all $C$ channels, $R$ rows starting at row $S y$, $R$ columns starting at "
           "column $S x$. Multiply it entry by entry with filter $f$, sum everything, and add $b_f$ once.",
           "def my_conv_forward(X, W, b, stride, pad):",
           """    n, C, H_in, W_in = X.shape
    F, _, R, _ = W.shape
    H_out = (H_in + 2 * pad - R) // stride + 1
    W_out = (W_in + 2 * pad - R) // stride + 1
    Xp = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Z = np.zeros((n, F, H_out, W_out))
    for i in range(n):
        for f in range(F):
            for y in range(H_out):
                for x in range(W_out):
                    window = Xp[i, :, stride * y : stride * y + R, stride * x : stride * x + R]
                    Z[i, f, y, x] = np.sum(window * W[f]) + b[f]
    return Z""", before=True),
        ex("Z_of = {}  ", "im2col",
           "Write `my_im2col(X, R, stride, pad)`, the fast im2col that `windows_as_columns` is not: any stride, "
           "padding, and **one loop over the $R \\times R$ kernel offsets**, not over the windows. `X` is `(n, C, "
           "H, W)`; return `cols` `(C R R, n H_out W_out)` whose row $(c, r, s)$, column $(i, y, x)$ holds "
           "$\\tilde X_{i, c, Sy + r, Sx + s}$: the rows in the order of `W.reshape(F, C R R)`, the columns "
           "sample by sample, then row by row, as `windows_as_columns` orders them. Then "
           "`W.reshape(F, -1) @ my_im2col(X, R, S, P)` is the whole convolution, and your im2col is what "
           "`check.my_cnn()` will train with. The checker tries strides 1 and 2, padding 0 and 1, one and three "
           "channels, and non-square images.",
           "Fix one offset $(r, s)$. In window $(y, x)$ it meets pixel $(Sy + r, Sx + s)$ of the padded image: as "
           "$y$ and $x$ run, which rows and columns is that, and which slice with a step gives all of them at once, "
           "for every image and channel? Collect the result in an array of shape `(C, R, R, n, H_out, W_out)`; "
           "which axes of the slice go where, and what does one `reshape` at the end give?",
           "def my_im2col(X, R, stride, pad):",
           """    n, C, H, W = X.shape
    H_out, W_out = (H + 2 * pad - R) // stride + 1, (W + 2 * pad - R) // stride + 1
    Xp = np.pad(X, [(0, 0), (0, 0), (pad, pad), (pad, pad)])      # P zeros around the two pixel axes
    cols = np.empty((C, R, R, n, H_out, W_out), dtype=X.dtype)
    for r in range(R):
        for s in range(R):
            seen = Xp[:, :, r : r + stride * H_out : stride, s : s + stride * W_out : stride]   # (n, C, H_out, W_out)
            cols[:, r, s] = seen.transpose(1, 0, 2, 3)
    return cols.reshape(C * R * R, n * H_out * W_out)"""),
        ex("**$dX$, derived.**", "conv_backward",
           "$db$ and $dW$ are derived above; $dX$ is yours. **On paper first**, in one dimension: one channel, one "
           "filter, $z_y = \\sum_{r=0}^{2} x_{Sy + r}\\, w_r$ on 7 pixels. For $S = 1$, write $z_0, \\dots, z_4$ out, "
           "then $dx_3 = \\partial J / \\partial x_3$ in terms of $dz$ and $w$. Do the same for $S = 2$ ($z_0, z_1, "
           "z_2$) and $dx_3$, $dx_4$. **Predict:** read along $y$, is $dx$ the correlation of $dz$ with $w$ as it is, "
           "or with $w$ flipped? Then write `my_conv_backward(dZ, X, W, stride, pad)`, returning `(dX, dW, db)` of "
           "the shapes of `X` `(n, C, H, W)`, `W` `(F, C, R, R)` and `(F,)`. `dZ` `(n, F, H_out, W_out)` is the "
           "gradient of the loss with respect to the output of the convolution of `X` with `W`, stride `stride`, "
           "padding `pad` (the bias enters none of the three). Loops over the samples, filters and output positions "
           "are fine. The checker tries stride 1, stride 2 with overlapping windows and stride 3 (including strides that do not "
           "divide $H + 2P - R$), padding, several samples, channels and filters, and non-square images.",
           "In 1-D: $x_3$ appears in every $z_y$ whose window covers pixel 3; for each, find the weight it is "
           "multiplied by. In 2-D, the same question for a pixel of the padded input: every output $(i, f, y, x)$ "
           "read a $C \\times R \\times R$ block of it and used all of $W_f$; ask what each output owes the block it "
           "read and the kernel it used. Pixels and kernels are shared by many outputs, so their gradients collect "
           "from all of them. The padding's border is not part of `X`. `db` needs no loop.",
           "def my_conv_backward(dZ, X, W, stride, pad):",
           """    n, C, H_in, W_in = X.shape
    F, _, R, _ = W.shape
    _, _, H_out, W_out = dZ.shape
    Xp = np.pad(X, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    dXp, dW = np.zeros(Xp.shape), np.zeros(W.shape)
    for i in range(n):
        for f in range(F):
            for y in range(H_out):
                for x in range(W_out):
                    rows = slice(stride * y, stride * y + R)
                    cols = slice(stride * x, stride * x + R)
                    dW[f] += dZ[i, f, y, x] * Xp[i, :, rows, cols]
                    dXp[i, :, rows, cols] += dZ[i, f, y, x] * W[f]
    db = dZ.sum(axis=(0, 2, 3))
    return dXp[:, :, pad : pad + H_in, pad : pad + W_in], dW, db""", before=True),
        ex("def maxpool_backward_argmax(", "maxpool_backward",
           "Before you read the next cell: write `my_maxpool_backward(dA, X, size)`, the backward pass of max "
           "pooling over `size` x `size` windows (stride `size`). `X` `(n, C, H, W)` is the pooling's input, "
           "`dA` `(n, C, H // size, W // size)` the gradient with respect to its output; return `dX` of the "
           "shape of `X`. Each window's `dA` goes to its maximum, every other entry gets 0, and so do the rows and "
           "columns beyond the last whole window when `size` does not divide $H$ or $W$. At a tie the checker "
           "accepts exactly three conventions: the whole `dA` to the first maximum in reading order (as "
           "`np.argmax` picks it), the whole `dA` to the last one, or `dA` split evenly among the tied maxima. "
           "Its inputs come after ReLU, with many tied windows, and include 3 x 3 windows, non-square images and "
           "a height and width that `size` does not divide.",
           "Loop over the samples, the channels and the windows. `np.argmax` of a window gives the position of "
           "its first maximum as one number, counted over the flattened window; `np.unravel_index` turns that "
           "number into a row and a column inside the window. Add the window's top-left corner to find the "
           "entry of `dX` that receives the window's `dA`.",
           "def my_maxpool_backward(dA, X, size):",
           """    n, C, H, W = X.shape
    dX = np.zeros(X.shape)
    for i in range(n):
        for c in range(C):
            for y in range(H // size):
                for x in range(W // size):
                    window = X[i, c, size * y : size * (y + 1), size * x : size * (x + 1)]
                    r, s = np.unravel_index(np.argmax(window), window.shape)
                    dX[i, c, size * y + r, size * x + s] = dA[i, c, y, x]
    return dX""", before=True),
        ex("def cnn_forward_open(", "bridge_backward",
           "Write `my_bridge_backward(dA_rows, Z, size)`, the step of the backward pass from the dense layer back "
           "to the last convolution. The forward pass computed, from the convolution's output `Z` `(n, F, H, W)`, "
           "the pooled map $P = \\operatorname{pool}(Z)$ `(n, F, H // size, W // size)`, then $A = "
           "\\operatorname{ReLU}(P)$, and the dense layer read $A$ as rows `(n, F (H // size) (W // size))` "
           "(`(n, 784)` in this network: 16 maps of 7 x 7). Given `dA_rows`, the gradient of those rows, return "
           "`dZ` of the shape of `Z`. You may call your `my_maxpool_backward` (or `nn.maxpool_forward` and "
           "`nn.maxpool_backward`). The checker tries 2 x 2 and 3 x 3 pooling and several numbers of maps.",
           "Go back through the forward steps in reverse order, one at a time, and write down the shape after "
           "each. How were the maps turned into rows, in which order of axes? Which array's sign decides where "
           "ReLU let the gradient through, and does it have the shape of the gradient at that point?",
           "def my_bridge_backward(dA_rows, Z, size):",
           """    P, pool_cache = nn.maxpool_forward(Z, size=size)        # (n, F, H // size, W // size)
    dA = dA_rows.reshape(P.shape)                           # the rows back to the maps they were read from
    return nn.maxpool_backward(dA * (P > 0), pool_cache)    # ReLU came after the pooling: its mask is P > 0""", before=True),
    ],
    "12_automatic_differentiation.ipynb": [
        ex("Subtraction, division and negation need no closure of their own", "value_mul",
           "Write `my_value_mul(a, b)`, the multiplication of two `Value`s, in the shape of `__add__` above, without "
           "the engine's own `*` (the checker recognises it). First derive the local derivatives "
           "$\\partial(ab)/\\partial a$ and $\\partial(ab)/\\partial b$. Then return `out`, a new "
           "`Value(data, parents)` that holds `a.data * b.data` and has `(a, b)` as its parents, with a closure "
           "`_backward` attached to it (`out._backward`) that adds each input's share of `out.grad` into that "
           "input's `.grad`. The checker sets `out.grad = 2` and runs your closure once, on three cases: two "
           "different Values, `a * a` (the same Value twice), and an `a` that already holds a gradient from "
           "another use.",
           "The chain rule on one edge: what arrives at `out` (`out.grad`) times the local derivative of `out` "
           "with respect to that input. For $\\partial(ab)/\\partial a$, treat `b` as a constant: what is the "
           "derivative of $3a$ with respect to $a$? Add into `.grad`, as `__add__` does: a Value may be used twice.",
           "def my_value_mul(a, b):",
           """    out = Value(a.data * b.data, (a, b))

    def _backward():
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad
    out._backward = _backward
    return out"""),
        ex('print("topological order, as values:"', "topological_order",
           "Before you run the next cell, which imports the engine's: write `my_topological_order(root)`, which "
           "returns what micrograd's `order_by_recursion` above returns (every node that `root` depends on, "
           "each once, every node after all of its inputs, `root` last; any such order is right), **without a "
           "recursion**: the checker's "
           "chain of 3,000 operations is deeper than Python lets a function call itself. It also tries a diamond "
           "(one node reached along two paths), `c = b + b`, the two-paths graph $J = b + 2b$ and 300 random small "
           "graphs, and checks each node's place against its inputs.",
           "Start from `order_by_recursion`. For every call of `build` that has not returned yet, Python keeps "
           "the node it is working on and how far it has got with it: still to send into its inputs, or done with "
           "them and ready to be appended. Keep the same in a list of your own, used as a stack, and loop until it "
           "is empty. Where does the `visited` check go, so that a node still waiting for its inputs is not "
           "appended before them?",
           "def my_topological_order(root):",
           """    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((parent, False) for parent in node._parents)
    return order""", before=True),
        ex("column = Tensor(np.array([[1.0], [2.0], [0.0], [-1.0]])", "unbroadcast",
           "Before you run the next cell, which imports the engine's: write `my_unbroadcast(grad, shape)` for any "
           "shapes: `grad` has the shape of a broadcast result, `shape` is the shape of one input before "
           "broadcasting; return `grad` summed down to `shape`. The checker tries a bias (3,) and a column (4, 1) "
           "and a row (1, 3) under a (4, 3) gradient, shape (3, 1) under a (2, 3, 4) one, a number (shape `()`), "
           "and an input that was not broadcast at all.",
           "Broadcasting did two things to the input, as the text above says; undo each with a sum. Line the two "
           "shapes up from the right, as NumPy does: which axes of `grad` have no partner in `shape`, and which "
           "axes of `shape` were stretched from size 1? The result must have exactly `shape`: mind which sums "
           "should keep their axis.",
           "def my_unbroadcast(grad, shape):",
           """    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad""", before=True),
        ex("max(axis=1) against finite differences", "tensor_max",
           "Before you run the next cell, which uses the engine's `max`: write `my_tensor_max(a, axis)`, the "
           "largest entry of the Tensor `a` along `axis` (that axis removed, as `np.max` does), in the engine's "
           "form above: `out = a._result(data, (a,), \"max\")` and a closure `_backward` attached to `out` that "
           "adds into `a` (with `a._add_grad`) the VJP you derived: $G$ (`out.grad`) to each slice's maximum, 0 "
           "to every other entry, and at a tie all of it to the **first** maximum (notebook 11's rule). Not the "
           "engine's `a.max(axis)` (the checker recognises it). Test it yourself first, as section 3 tested "
           "every operation: `check_gradients(lambda t: (my_tensor_max(t, 1) ** 2).sum(), A)` must be tiny on a "
           "random `A` (no ties). The checker compares with finite differences on tie-free inputs of 2 and 3 "
           "axes (axis 0, 1, a square matrix, a batch of one, an `a` that already holds a gradient), and with "
           "the tie rule on inputs after a ReLU, full of ties.",
           "Two shapes meet in the closure: `out.grad`'s, which lost `axis`, and `a`'s; line them up first. Then: "
           "which entry of each slice receives the slice's $G$? `np.argmax` along `axis` answers that, ties "
           "included, and NumPy has functions that read or write an array at such per-slice positions (their "
           "names end in `_along_axis`). Comparing `a.data` with the maximum would find every tied entry.",
           "def my_tensor_max(a, axis):",
           """    out = a._result(a.data.max(axis=axis), (a,), "max")

    def max_vjp():                    # the closure: any name will do
        G = np.expand_dims(out.grad, axis)
        first = np.expand_dims(a.data.argmax(axis=axis), axis)
        grad = np.zeros_like(a.data)
        np.put_along_axis(grad, first, G, axis=axis)
        a._add_grad(grad)
    out._backward = max_vjp
    return out""", before=True),
    ],
    "13_deep_networks.ipynb": [
        ex("def batchnorm_forward(Z, gamma, beta):", "batchnorm_forward",
           "Before you read the next cell, which writes the normalisation alone: write batch norm in training "
           "mode **with its running averages**, `my_batchnorm_forward(Z, gamma, beta, running_mean, running_var, "
           "rho=0.9)`. `Z` is a batch `(n, d)`; `gamma`, `beta`, `running_mean`, `running_var` have shape `(d,)`. "
           "Return `out, new_running_mean, new_running_var`: `out` normalised with this batch's own mean and "
           "(biased, $1/n$) variance and $\\epsilon = 10^{-5}$ under the square root, the running averages moved "
           "as the formula above says, the running variance fed the **unbiased** batch variance "
           "$\\sigma^2 \\frac{n}{n-1}$. Leave the arrays you are given as they are: return new ones.",
           "Which axis of `Z` holds the samples? Every statistic averages over that one and has shape `(d,)`, "
           "so it broadcasts across the rows by itself. The normalisation uses only this batch; the running "
           "averages are only updated, each the old value weighted by $\\rho$ plus the batch's weighted by "
           "$1 - \\rho$.",
           "def my_batchnorm_forward(Z, gamma, beta, running_mean, running_var, rho=0.9):",
           '''    n = len(Z)
    mean = Z.mean(axis=0)
    variance = Z.var(axis=0)
    out = gamma * (Z - mean) / np.sqrt(variance + 1e-5) + beta
    new_mean = rho * running_mean + (1 - rho) * mean
    new_var = rho * running_var + (1 - rho) * variance * n / (n - 1)
    return out, new_mean, new_var''', before=True),
        ex("**The backward pass along the graph.**", "batchnorm_backward",
           "Before you read on: derive batch norm's backward pass yourself, then write "
           "`my_batchnorm_backward(dout, Z, gamma)`. Given the upstream gradient `dout` `(n, d)` of "
           "`out = gamma * Z_hat + beta` (training mode, $\\epsilon = 10^{-5}$), return `dZ, dgamma, dbeta` with "
           "the shapes of `Z`, `gamma` and `beta`. Recompute $\\mu$, $\\sigma^2$ and $\\hat Z$ from `Z` inside. "
           "The checker compares with finite differences' answer, so any correct form passes.",
           "Draw the graph first: `Z` reaches $\\hat Z$ directly, and also through $\\mu$ and through "
           "$\\sigma^2$, both of which depend on every row. Find $d\\sigma^2$ and $d\\mu$ as sums over the rows, "
           "then add the three contributions to each row of $dZ$. $\\gamma$ and $\\beta$ are shared by all rows: "
           "what does that make their gradients' shape?",
           "def my_batchnorm_backward(dout, Z, gamma):",
           '''    n = len(Z)
    centred = Z - Z.mean(axis=0)
    inv_std = 1 / np.sqrt((centred ** 2).mean(axis=0) + 1e-5)
    Z_norm = centred * inv_std
    g = dout * gamma
    dZ = inv_std / n * (n * g - g.sum(axis=0) - Z_norm * (g * Z_norm).sum(axis=0))
    return dZ, (dout * Z_norm).sum(axis=0), dout.sum(axis=0)''', before=True),
        ex("alone = np.concatenate([layernorm_forward(", "layernorm_images",
           "Layer norm of **images**, which the notebook does not write: `my_layernorm_images(X, gamma, beta)` "
           "for `X` of shape `(n, C, H, W)`. Each image is normalised alone, over all of its own $C H W$ values "
           "($\\epsilon = 10^{-5}$ under the root); `gamma` and `beta` have shape `(C,)`, one scale and one shift per "
           "channel. Return `out`, the shape of `X`.",
           "Which axes hold one image's values? Average over all of them at once, keeping them (as size 1) so "
           "that the statistics broadcast back over the image. Then give `gamma` and `beta` the shape that lines "
           "them up with the channel axis, not the last one.",
           "def my_layernorm_images(X, gamma, beta):",
           '''    m = X.mean(axis=(1, 2, 3), keepdims=True)
    s = np.sqrt(X.var(axis=(1, 2, 3), keepdims=True) + 1e-5)
    return gamma.reshape(1, -1, 1, 1) * (X - m) / s + beta.reshape(1, -1, 1, 1)'''),
        ex("def residual_forward(x, Wa, ba, Wb, bb):", "residual_backward",
           "Before you read the next cell: write the whole backward pass of the residual block above, "
           "`my_residual_backward(dout, x, Wa, ba, Wb, bb)` for `out = x + ReLU(x Wa + ba) Wb + bb`, `x` and `dout` "
           "`(n, d)`, `Wa`, `Wb` `(d, d)`, `ba`, `bb` `(d,)`. Return `dx, dWa, dba, dWb, dbb`: the formula above "
           "gives `dx`; the four parameter gradients are yours to derive, as notebook 04 did for a layer.",
           "Name the intermediate results of the forward pass ($h = x W_a + b_a$, its ReLU) and go backwards "
           "through them. Two paths leave `x`; the block's path passes the ReLU, which lets the gradient through "
           "only where its input was positive. Each bias gradient sums over the rows.",
           "def my_residual_backward(dout, x, Wa, ba, Wb, bb):",
           '''    pre = x @ Wa + ba
    back = (dout @ Wb.T) * (pre > 0)
    return dout + back @ Wa.T, x.T @ back, back.sum(axis=0), np.maximum(pre, 0).T @ dout, dout.sum(axis=0)''', before=True),
    ],
}


# Hints for entries written as plain 5-tuples ``(anchor, name, task, signature, solution)``, without one
HINTS = {
    "minibatches": "One permutation of $0, \\dots, n-1$ from the seeded generator, then consecutive slices of "
                   "`batch_size` entries starting at 0, `batch_size`, `2 * batch_size`, ...; the last slice comes "
                   "out shorter by itself, since slicing stops at the end.",
}


def as_exercise(entry) -> Exercise:
    """An entry as an Exercise; a plain 5-tuple ``(anchor, name, task, signature, solution)`` takes its hint
    from ``HINTS``."""
    if isinstance(entry, Exercise):
        return entry
    if isinstance(entry, dict):
        return Exercise(**entry)
    anchor, name, task, signature, solution = entry
    return Exercise(anchor, name, task, HINTS.get(name, ""), signature, solution)


def cell(kind: str, source: str, part: str, name: str) -> dict:
    c = {"cell_type": kind, "id": f"exercise-{name}-{part}".replace("_", "-"),
         "metadata": {"exercise": {"name": name, "part": part}}, "source": source}
    if kind == "code":
        c.update(execution_count=None, outputs=[])
    return c


def folded(title: str, body: str) -> str:
    return f"<details><summary>{title}</summary>\n\n{body}\n\n</details>"


def exercise_cells(number: int, e: Exercise) -> list[dict]:
    fn = e.signature.split("(")[0].removeprefix("def ")
    cells = [cell("markdown", f"**Exercise {number}: `{fn}`.** {e.task}", "task", e.name)]
    if e.hint:
        cells.append(cell("markdown", folded("Hint", e.hint), "hint", e.name))
    return cells + [
        cell("code", f"{e.signature}\n    # your code here\n    raise NotImplementedError", "skeleton", e.name),
        cell("code", f"ok = check.{e.name}({fn})", "check", e.name),
        cell("markdown", folded("Solution", f"```python\n{e.signature}\n{e.solution}\n```"), "solution", e.name),
    ]


def source(c: dict) -> str:
    return "".join(c["source"])


def is_exercise(c: dict) -> bool:
    return "exercise" in c.get("metadata", {})


def with_check_import(code: str) -> str:
    lines = code.split("\n")
    helpers = [i for i, line in enumerate(lines) if line.startswith("from nn_helpers import ")]
    if not helpers:
        lines.insert(lines.index("import nn_helpers as nn") + 1, "from nn_helpers import check")
    elif "check" not in lines[helpers[0]].removeprefix("from nn_helpers import ").split(", "):
        names = sorted(lines[helpers[0]].removeprefix("from nn_helpers import ").split(", ") + ["check"])
        lines[helpers[0]] = "from nn_helpers import " + ", ".join(names)
    return "\n".join(lines)


def position(cells: list[dict], e: Exercise, notebook: str) -> int:
    """Where the exercise's cells go among the notebook's own cells: before its anchor, or right after it."""
    for anchor in (e.anchor,) if isinstance(e.anchor, str) else e.anchor:
        found = [i for i, c in enumerate(cells) if anchor in source(c)]
        if found:
            break
    assert len(found) == 1, (f"{notebook}: the anchor {anchor!r} of exercise {e.name!r} is in {len(found)} cells; "
                             "change the anchor in tools/exercises.py to a piece of text of exactly one cell")
    return found[0] if e.before else found[0] + 1


def apply(path: Path) -> bool:
    """Put the exercises into one notebook; returns whether the file changed."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    exercises = [as_exercise(entry) for entry in EXERCISES[path.name]]
    cells = [c for c in nb["cells"] if not is_exercise(c)]
    first_code = next(c for c in cells if c["cell_type"] == "code" and "import nn_helpers as nn" in source(c))
    code = with_check_import(source(first_code))
    if code != source(first_code):
        first_code["source"] = code
    # numbered in the order they land in; several at one place keep the order of the list
    placed = sorted((position(cells, e, path.name), i, e) for i, e in enumerate(exercises))
    for number, (at, _, e) in reversed(list(enumerate(placed, start=1))):
        cells[at:at] = exercise_cells(number, e)
    key = path.name[:2]
    n = len(exercises)
    cells += [cell("markdown", f"## Your exercises\n\nHow many of this notebook's {n} exercises your code solves, "
                               f"counted from what the checkers accepted (kept in `my_network.py`, so it survives a restart of the kernel):", "heading", "progress"),
              cell("code", f'check.progress("{key}")', "count", "progress")]
    for c in cells:   # nbformat stores sources as lists of lines
        if isinstance(c["source"], str):
            c["source"] = c["source"].splitlines(keepends=True)
    shape = lambda cs: [(c["cell_type"], source(c), c.get("metadata", {}).get("exercise")) for c in cs]
    if shape(cells) == shape(json.loads(text)["cells"]):
        return False        # the exercises are already as written here: keep the file and its outputs
    nb["cells"] = cells
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8",
                    newline="\n")
    return True


def main(names):
    for name in names or [name for name in EXERCISES if (NOTEBOOKS / name).exists()]:
        changed = apply(NOTEBOOKS / name)
        missing = [as_exercise(e).name for e in EXERCISES[name] if not as_exercise(e).hint]
        print(f"{name}: {len(EXERCISES[name])} exercises, " + ("rewritten" if changed else "unchanged")
              + (f"; no hint yet for {', '.join(missing)}" if missing else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
