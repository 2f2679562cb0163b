"""The learner's kept code (nn_helpers/check/_kept.py) as a learner meets it: solving again and again, editing
my_network.py by hand, restarting a notebook's count, and the progress of the whole series."""

import numpy as np

from nn_helpers import check


def my_layer(X, W, b):
    return X @ W + b


def my_softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def my_one_hot(y, n_classes=10):
    Y = np.zeros((len(y), n_classes))
    Y[np.arange(len(y)), y] = 1
    return Y


def my_cross_entropy(probs, y):
    p = probs[np.arange(len(y)), y]
    return -np.mean(np.log(np.maximum(p, 1e-12)))


def my_backward(params, cache, y):
    X, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]
    n = len(y)
    dZ2 = A2.copy()
    dZ2[np.arange(n), y] -= 1
    dZ2 /= n
    dW2 = A1.T @ dZ2
    db2 = dZ2.sum(axis=0)
    dZ1 = (dZ2 @ params["W2"].T) * (Z1 > 0)
    dW1 = X.T @ dZ1
    db1 = dZ1.sum(axis=0)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def solve(capsys, *pairs):
    for checker, fn in pairs:
        assert checker(fn)
    return capsys.readouterr().out


def kept_text(learner_dir):
    return (learner_dir / "my_network.py").read_text(encoding="utf-8")


def test_one_comment_per_block_however_often_a_cell_is_run(learner_dir, capsys):
    for _ in range(7):      # 14 acceptances of two pieces
        solve(capsys, (check.layer, my_layer), (check.softmax, my_softmax))
    text = kept_text(learner_dir)
    assert text.count("# notebook 02, exercise 1: accepted by check.layer") == 1
    assert text.count("# notebook 03, exercise 1: accepted by check.softmax") == 1
    assert text.count("def my_layer(") == 1 and text.count("def my_softmax(") == 1


def test_a_kept_piece_edited_into_a_wrong_one_is_named_before_training(learner_dir, capsys):
    solve(capsys, (check.layer, my_layer), (check.backward, my_backward))
    path = learner_dir / "my_network.py"
    text = kept_text(learner_dir)
    assert "* (Z1 > 0)" in text
    path.write_text(text.replace(" * (Z1 > 0)", ""), encoding="utf-8")   # the ReLU mask deleted by hand
    net = check.my_network(["layer", "backward"])
    out = capsys.readouterr().out
    assert net.missing == [("backward", "04", 2)]
    assert out.startswith("backward (exercise 2 of notebook 04): kept, but no longer passes check.backward:")
    assert "mask" in out, out                           # the checker's own diagnosis of the mistake
    assert net.layer is not None and "backward" in net.problems
    assert "# notebook 04, exercise 2" in kept_text(learner_dir)   # re-checking keeps nothing anew
    assert kept_text(learner_dir) == text.replace(" * (Z1 > 0)", "")


def test_a_deleted_block_is_missing_with_its_notebook_and_exercise(learner_dir, capsys):
    solve(capsys, (check.layer, my_layer), (check.softmax, my_softmax))
    text = kept_text(learner_dir)
    start = text.index("# ==== softmax: my_softmax ====")
    end = text.index("# ==== ", start + 1)
    (learner_dir / "my_network.py").write_text(text[:start] + text[end:], encoding="utf-8")
    net = check.my_network(["layer", "softmax"])         # the wiring at the end still names my_softmax
    assert net.missing == [("softmax", "03", 1)]
    assert "not solved yet" in net.problems["softmax"]
    assert net.layer(np.ones((1, 1)), np.ones((1, 1)), np.ones(1)).item() == 2.0


def test_a_typo_in_a_kept_name_names_the_piece_and_its_exercise(learner_dir, capsys):
    solve(capsys, (check.layer, my_layer), (check.softmax, my_softmax))
    path = learner_dir / "my_network.py"
    path.write_text(kept_text(learner_dir).replace("def my_softmax(", "def my_sofmax("), encoding="utf-8")
    net = check.my_network(["layer", "softmax"])
    out = capsys.readouterr().out
    assert net.missing == [("softmax", "03", 1)]
    assert out.startswith("softmax (exercise 1 of notebook 03): its block in my_network.py no longer defines "
                          "my_softmax"), out
    assert "renamed" in out


def test_a_block_that_fails_to_run_names_its_piece(learner_dir, capsys):
    solve(capsys, (check.layer, my_layer))
    path = learner_dir / "my_network.py"
    path.write_text(kept_text(learner_dir).replace("return X @ W + b", "return X @ W + b +"), encoding="utf-8")
    net = check.my_network(["layer"])
    out = capsys.readouterr().out
    assert net.missing == [("layer", "02", 1)]
    assert out.startswith("layer (exercise 1 of notebook 02): its block in my_network.py fails when it runs: "
                          "SyntaxError"), out


def test_progress_without_a_notebook_counts_the_whole_series(capsys):
    check.results.clear()
    solve(capsys, (check.softmax, my_softmax), (check.one_hot, my_one_hot), (check.cross_entropy, my_cross_entropy))
    check.progress()
    out = capsys.readouterr().out
    total = sum(len(names) for names in check.EXERCISES.values())
    assert out.startswith(f"3 of {total} exercises of the series solved (01: 0/3, 02: 0/3, 03: 3/3, 04: 0/5"), out
    assert "All done" not in out


def test_a_fresh_notebook_says_its_count_comes_from_kept_code_and_can_start_over(learner_dir, capsys):
    solve(capsys, (check.softmax, my_softmax), (check.one_hot, my_one_hot), (check.cross_entropy, my_cross_entropy))
    check.results.clear()                                # a kernel restart, or `python3 dev.py reset 03`
    check.progress("03")
    out = capsys.readouterr().out
    assert out.startswith("3 of 3 exercises solved in this notebook. All done, well done!\n")
    assert "solved earlier and kept in my_network.py" in out and 'check.start_over("03")' in out
    check.start_over("03")
    out = capsys.readouterr().out
    assert out.startswith("Notebook 03: its count starts from 0. Your earlier solutions are in my_network.before-")
    check.progress("03")
    assert capsys.readouterr().out.startswith("0 of 3 exercises solved in this notebook.")
    aside = list(learner_dir.glob("my_network.before-*.py"))
    assert len(aside) == 1 and "def my_softmax(" in aside[0].read_text(encoding="utf-8")   # nothing deleted
    assert "def my_softmax(" not in kept_text(learner_dir)


# --- what is kept runs on its own (issue 29 item 10): classes and NumPy functions are imported -----------

import subprocess  # noqa: E402
import sys  # noqa: E402

from numpy import exp  # noqa: E402 (a NumPy ufunc under a name of its own, as a learner imports it)
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

from nn_helpers.autograd import Value  # noqa: E402

SHIFT = "max"


def exp_softmax(Z):
    E = exp(Z - getattr(Z, SHIFT)(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def windows_conv_forward(X, W, b, stride, pad):
    Xp = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    R = W.shape[2]
    windows = sliding_window_view(Xp, (R, R), axis=(2, 3))[:, :, ::stride, ::stride]   # (n, C, H_out, W_out, R, R)
    return np.einsum("nchwrs,fcrs->nfhw", windows, W) + b[None, :, None, None]


def value_mul(a, b):
    out = Value(a.data * b.data, (a, b))

    def _backward():
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad
    out._backward = _backward
    return out


def run_in_a_fresh_python(learner_dir, code):
    """``code`` run by a new Python in the learner's folder, after ``import my_network``: its output."""
    done = subprocess.run([sys.executable, "-c", "import my_network\n" + code], cwd=learner_dir,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_kept_code_imports_the_classes_and_numpy_functions_it_uses(learner_dir, capsys):
    solve(capsys, (check.softmax, exp_softmax), (check.conv_forward, windows_conv_forward),
          (check.value_mul, value_mul))
    text = kept_text(learner_dir)
    assert "from numpy import exp\n" in text
    assert "from numpy.lib.stride_tricks import sliding_window_view\n" in text
    assert "from nn_helpers.autograd import Value\n" in text and "SHIFT = 'max'" in text
    assert "not kept here" not in text, text
    out = run_in_a_fresh_python(learner_dir, "\n".join([
        "import numpy as np",
        "from nn_helpers.autograd import Value",
        "print(my_network.exp_softmax(np.zeros((1, 4))).sum())",
        "print(my_network.windows_conv_forward(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), np.zeros(1), 1, 0).sum())",
        "a, b = Value(3.0), Value(-2.0)",
        "out = my_network.value_mul(a, b); out.grad = 1.0; out._backward(); print(out.data, a.grad, b.grad)"]))
    assert out.split() == ["1.0", "36.0", "-6.0", "-2.0", "3.0"], out
    net = check.my_network(["softmax", "conv_forward", "value_mul"])    # the just-kept pieces pass again
    assert net.missing == [] and net.problems == {}, capsys.readouterr().out


def test_the_whole_kept_file_of_the_capstone_pieces_imports_in_a_fresh_python(learner_dir, capsys):
    solve(capsys, (check.layer, my_layer), (check.softmax, my_softmax), (check.one_hot, my_one_hot),
          (check.cross_entropy, my_cross_entropy), (check.backward, my_backward))
    out = run_in_a_fresh_python(learner_dir, "import numpy as np\n"
                                             "print(my_network.softmax(np.zeros((2, 5))).sum(axis=1))")
    assert out.strip() == "[1. 1.]"
