"""Put the exercises into the notebooks, or put them back after a notebook changed:

    python tools/exercises.py            # then re-execute the notebooks (CONTRIBUTING.md)

Each exercise is four cells inserted after an anchor cell, found by a piece of its text: a Markdown task,
a skeleton for the learner (``def my_softmax(Z): ... raise NotImplementedError``), a cell that calls its
checker (``check.softmax(my_softmax)``), and the solution in a collapsed ``<details>`` block. The notebook
also gets ``from nn_helpers import check`` in its import cell and ``check.progress(...)`` at the end.
The cells carry ``metadata.exercise`` (learners do not see it): running the script again first removes
every cell it added, so editing an exercise here and re-running is all it takes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

# notebook -> list of exercises: (anchor text, checker name, task Markdown, skeleton's signature, solution body)
EXERCISES = {
    "01_data.ipynb": [
        ('labels_mine = np.frombuffer(raw_labels', "parse_idx",
         "Write `my_parse_idx(raw)` for **any** IDX file of unsigned bytes: byte 3 of the magic number is the "
         "number of dimensions `ndim`; then come `ndim` big-endian uint32 sizes, then the data. Return a "
         "`uint8` array of shape `(count, rows, cols)` for images or `(count,)` for labels. The checker feeds "
         "it a label file, small images of 4 x 5 pixels and MNIST-sized ones.",
         "def my_parse_idx(raw):",
         '''    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)'''),
        ("assert np.array_equal(X, nn.to_features(images))", "to_features",
         "Write `my_to_features(images)`: images `(n, 28, 28)` of 0..255 pixels -> the feature matrix `X` of "
         "shape `(n, 784)`, one image per row (flattened row by row), floats in 0..1.",
         "def my_to_features(images):",
         '''    return images.reshape(len(images), 28 * 28).astype(np.float32) / 255'''),
        ("assert np.all(np.abs(val_counts / 5000", "train_val_split",
         "Write `my_train_val_split(X, y, n_val, seed)`: shuffle the samples with "
         "`np.random.default_rng(seed)`, hold out `n_val` of them, and return "
         "`X_train, y_train, X_val, y_val`. Any shuffle is fine, as long as each image keeps its label, no "
         "image is lost or repeated, and the same seed gives the same split.",
         "def my_train_val_split(X, y, n_val, seed):",
         '''    order = np.random.default_rng(seed).permutation(len(X))
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]'''),
    ],
    "02_forward_pass.ipynb": [
        ("X_cols_stored = np.ascontiguousarray", "layer",
         "Write `my_layer(X, W, b)`, one layer's weighted sums $Z = X W + b$ with samples in rows: `X` is "
         "`(n, n_in)`, `W` is `(n_in, n_out)`, `b` is `(n_out,)`, and `Z` is `(n, n_out)`.",
         "def my_layer(X, W, b):",
         '''    return X @ W + b'''),
        ("untrained accuracy on 10,000 images", "forward",
         "Write `my_forward(params, X)`: the output probabilities `(n, 10)` of the 784-h-10 network, "
         "$Z_1 = X W_1 + b_1$, $A_1 = \\mathrm{ReLU}(Z_1)$, $Z_2 = A_1 W_2 + b_2$, then `nn.softmax(Z2)` "
         "(notebook 03 builds softmax). `params` holds `W1`, `b1`, `W2`, `b2` as `nn.init_params` makes them.",
         "def my_forward(params, X):",
         '''    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(Z1, 0)
    Z2 = A1 @ params["W2"] + params["b2"]
    return nn.softmax(Z2)'''),
        ("images with a probability > 0.99", "he_init",
         "Write `my_he_init(n_in, n_out, seed)`: He-initialized weights of shape `(n_in, n_out)`, drawn from "
         "a normal distribution with mean 0 and standard deviation $\\sqrt{2 / n_\\text{in}}$ by "
         "`np.random.default_rng(seed)`. The checker measures the mean and spread of what you return.",
         "def my_he_init(n_in, n_out, seed):",
         '''    rng = np.random.default_rng(seed)
    return rng.normal(0, np.sqrt(2 / n_in), size=(n_in, n_out))'''),
    ],
    "03_softmax_cross_entropy.ipynb": [
        ("A_batch = softmax_naive(Z)", "softmax",
         "Before you read on, fix both problems: write `my_softmax(Z)` for logits `Z` of shape `(n, k)` that "
         "returns probabilities of the same shape, **each row** summing to 1, and never overflows, not even "
         "for logits of 1000. (The next section shows one way.)",
         "def my_softmax(Z):",
         '''    E = np.exp(Z - Z.max(axis=1, keepdims=True))   # every exponent <= 0: no overflow
    return E / E.sum(axis=1, keepdims=True)'''),
        ("assert np.array_equal(Y, np.eye(10)[y])", "one_hot",
         "Write `my_one_hot(y, n_classes=10)`: labels `(n,)` -> `Y` of shape `(n, n_classes)` with a 1 at "
         "`Y[i, y[i]]` and 0 elsewhere, without `np.eye`.",
         "def my_one_hot(y, n_classes=10):",
         '''    Y = np.zeros((len(y), n_classes))
    Y[np.arange(len(y)), y] = 1
    return Y'''),
        ("uniform_guess = np.full((1, 10), 0.1)", "cross_entropy",
         "Write `my_cross_entropy(probs, y)`: the mean cross-entropy $J = \\frac{1}{n} \\sum_i -\\log "
         "A_{i, y_i}$ of probabilities `probs` `(n, k)` and labels `y` `(n,)`, as one number.",
         "def my_cross_entropy(probs, y):",
         '''    p = probs[np.arange(len(y)), y]      # the probability of each sample's correct class
    return -np.mean(np.log(p))'''),
    ],
    "04_backpropagation.ipynb": [
        ("assert np.allclose(dZ2.sum(axis=1), 0)  # each row", "output_gradient",
         "Write `my_output_gradient(A2, y)`: $dZ_2 = (A_2 - Y) / m$ for the output probabilities `A2` "
         "`(m, 10)` and the labels `y` `(m,)`, as one function that works for any batch size.",
         "def my_output_gradient(A2, y):",
         '''    m = len(y)
    Y = np.zeros_like(A2)
    Y[np.arange(m), y] = 1
    return (A2 - Y) / m'''),
        ('mine = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}', "backward",
         "Write the whole backward pass as `my_backward(params, cache, y)`: it gets `params` and the `cache` "
         "of `nn.forward` (`cache[\"A0\"]` is `X`, then `Z1`, `A1`, `Z2`, `A2`) and returns "
         "`{\"W1\": dW1, \"b1\": db1, \"W2\": dW2, \"b2\": db2}`, each of its parameter's shape.",
         "def my_backward(params, cache, y):",
         '''    X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]
    m = len(y)
    dZ2 = A2.copy()
    dZ2[np.arange(m), y] -= 1
    dZ2 /= m                                  # (A2 - Y) / m
    dW2 = A1.T @ dZ2
    db2 = dZ2.sum(axis=0)
    dZ1 = (dZ2 @ params["W2"].T) * (Z1 > 0)   # the ReLU mask
    dW1 = X.T @ dZ1
    db1 = dZ1.sum(axis=0)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}'''),
        ("The row of zeros in `dW2` is no accident", "numerical_gradient",
         "Write `my_numerical_gradient(f, x, eps)`: the central-difference gradient of a function `f` that "
         "maps an array `x` (any shape) to a number, "
         "$\\frac{\\partial f}{\\partial x_i} \\approx \\frac{f(x + \\varepsilon e_i) - f(x - \\varepsilon e_i)}"
         "{2 \\varepsilon}$, one entry at a time. Return an array of the shape of `x`.",
         "def my_numerical_gradient(f, x, eps=1e-6):",
         '''    grad = np.zeros_like(x, dtype=float)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f(x)
        x[i] = old - eps
        minus = f(x)
        x[i] = old                            # put it back before the next entry
        grad[i] = (plus - minus) / (2 * eps)
    return grad'''),
    ],
    "05_training_loop.ipynb": [
        ("so the promise only holds for small enough steps", "sgd_step",
         "Write `my_sgd_step(params, grads, lr)`: one gradient-descent step $\\theta \\leftarrow \\theta - \\eta "
         "\\nabla J$ on every parameter (`W1`, `b1`, `W2`, `b2`), each moved against its own gradient "
         "`grads[k]` by the learning rate `lr`; return the new `params` dict.",
         "def my_sgd_step(params, grads, lr):",
         '''    return {key: params[key] - lr * grads[key] for key in params}'''),
        ("Batching first: the indices of one epoch", "minibatches",
         "Write `my_minibatches(n, batch_size, seed)`: one epoch's mini-batches, a list of index arrays. "
         "Shuffle the indices 0..n-1 with `np.random.default_rng(seed)`, then cut them into batches of "
         "`batch_size`; the last batch holds what is left, so every sample is used exactly once.",
         "def my_minibatches(n, batch_size, seed):",
         '''    order = np.random.default_rng(seed).permutation(n)
    return [order[start : start + batch_size] for start in range(0, n, batch_size)]'''),
        ("write one epoch of it before you read the version below", "train_epoch",
         "Write `my_train_epoch(params, X, y, lr, batch_size, rng)`: one epoch of mini-batch SGD. Draw a "
         "permutation of all `len(X)` samples from `rng` (a `np.random.Generator`), cut it into batches of "
         "`batch_size` (the last holds what is left), and for each batch compute `probs, cache = "
         "forward(params, X[idx])`, `grads = backward(params, cache, y[idx])` and `params = sgd_step(params, "
         "grads, lr)`; return the new `params`. Call the pieces by these names: the checker passes the "
         "package's `forward`, `backward`, `sgd_step` and `minibatches` (which takes `rng` as its seed), and "
         "the capstone of section 7 passes your own.",
         "def my_train_epoch(params, X, y, lr, batch_size, rng):",
         '''    for idx in minibatches(len(X), batch_size, rng):    # a permutation drawn from rng, cut into batches
        probs, cache = forward(params, X[idx])
        grads = backward(params, cache, y[idx])
        params = sgd_step(params, grads, lr)
    return params'''),
    ],
    "06_training.ipynb": [
        ("params3, row3 = run(step3)", "momentum_step",
         "Write `my_momentum_step(params, grads, velocity, lr, beta)`: $v \\leftarrow \\beta v + dp$, "
         "$p \\leftarrow p - \\alpha v$ for every parameter; `velocity` is a dict like `params` (zeros at the "
         "first step). Return `(params, velocity)`, both updated.",
         "def my_momentum_step(params, grads, velocity, lr, beta):",
         '''    velocity = {key: beta * velocity[key] + grads[key] for key in params}
    params = {key: params[key] - lr * velocity[key] for key in params}
    return params, velocity'''),
    ],
    "07_evaluation.ipynb": [
        ("C = nn.confusion_matrix(y_test, y_pred)", "confusion_matrix",
         "Write `my_confusion_matrix(y_true, y_pred, n_classes=10)`: `C[i, j]` = the number of samples of "
         "true class `i` predicted as `j`, shape `(n_classes, n_classes)`.",
         "def my_confusion_matrix(y_true, y_pred, n_classes=10):",
         '''    C = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(C, (y_true, y_pred), 1)        # C[y_true, y_pred] += 1 would count repeats once
    return C'''),
        ("lowest recall: digit", "precision_recall",
         "Write `my_precision_recall(C)`: per-class precision and recall from a confusion matrix, returned "
         "as `(precision, recall)`. A class that is never predicted (or never occurs) gets 0, not `nan`.",
         "def my_precision_recall(C):",
         '''    tp = np.diag(C).astype(float)
    predicted, actual = C.sum(axis=0), C.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    return precision, recall'''),
        ("The 12 most confident mistakes on the test set", "most_confident_mistakes",
         "Write `my_most_confident_mistakes(y_true, probs, k)`: the indices of the `k` wrong predictions "
         "made with the highest probability, most confident first.",
         "def my_most_confident_mistakes(y_true, probs, k):",
         '''    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    confidence = probs[wrong, pred[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:k]]'''),
    ],
}


def cell(kind: str, source: str, part: str, name: str) -> dict:
    c = {"cell_type": kind, "id": f"exercise-{name}-{part}".replace("_", "-"),
         "metadata": {"exercise": {"name": name, "part": part}}, "source": source}
    if kind == "code":
        c.update(execution_count=None, outputs=[])
    return c


def exercise_cells(number: int, name: str, task: str, signature: str, solution: str) -> list[dict]:
    fn = signature.split("(")[0].removeprefix("def ")
    return [
        cell("markdown", f"**Exercise {number}: `{fn}`.** {task}", "task", name),
        cell("code", f"{signature}\n    # your code here\n    raise NotImplementedError", "skeleton", name),
        cell("code", f"ok = check.{name}({fn})", "check", name),
        cell("markdown", f"<details><summary>Solution</summary>\n\n```python\n{signature}\n{solution}\n```\n\n"
                         f"</details>", "solution", name),
    ]


def apply(path: Path) -> None:
    nb = json.loads(path.read_text())
    cells = [c for c in nb["cells"] if "exercise" not in c.get("metadata", {})]
    first_code = next(c for c in cells if c["cell_type"] == "code" and "import nn_helpers as nn" in "".join(c["source"]))
    lines = "".join(first_code["source"]).split("\n")
    helpers = [i for i, line in enumerate(lines) if line.startswith("from nn_helpers import ")]
    if not helpers:
        lines.insert(lines.index("import nn_helpers as nn") + 1, "from nn_helpers import check")
    elif "check" not in lines[helpers[0]]:
        names = sorted(lines[helpers[0]].removeprefix("from nn_helpers import ").split(", ") + ["check"])
        lines[helpers[0]] = "from nn_helpers import " + ", ".join(names)
    first_code["source"] = "\n".join(lines)
    for number, (anchor, name, task, signature, solution) in enumerate(EXERCISES[path.name], start=1):
        found = [i for i, c in enumerate(cells) if anchor in "".join(c["source"])]
        assert len(found) == 1, f"{path.name}: the anchor {anchor!r} of exercise {name!r} is in {len(found)} cells"
        cells[found[0] + 1 : found[0] + 1] = exercise_cells(number, name, task, signature, solution)
    key = path.name[:2]
    n = len(EXERCISES[path.name])
    cells += [cell("markdown", f"## Your exercises\n\nHow many of this notebook's {n} exercises your code solves, "
                               f"counted from the checker cells you ran in this session:", "heading", "progress"),
              cell("code", f'check.progress("{key}")', "count", "progress")]
    for c in cells:   # nbformat stores sources as lists of lines
        if isinstance(c["source"], str):
            c["source"] = c["source"].splitlines(keepends=True)
    nb["cells"] = cells
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def main(names):
    for name in names or EXERCISES:
        apply(NOTEBOOKS / name)
        print(f"{name}: {len(EXERCISES[name])} exercises")


if __name__ == "__main__":
    main(sys.argv[1:])
