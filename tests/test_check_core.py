"""What every checker does, whatever its exercise (nn_helpers/check/_core.py): it stops a function that runs
too long, refuses one that changes an input it should only read and names that input, quotes the learner's
line that raised, names a tuple's items, and does not count the package's own function."""

import sys
import time

import numpy as np
import pytest

import nn_helpers as nn
from mistakes import run
from nn_helpers import check
from nn_helpers.check import _core


# --- a time limit per call -----------------------------------------------------------------------------

def softmax_endless(Z):
    total = 0
    while total < 1:                        # total never changes: the loop never ends
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / total


def softmax_endless_swallowing(Z):
    while True:
        try:
            Z = Z + 0
        except Exception:                   # a loop that catches everything is still stopped
            pass


#: The limit in these tests: each endless loop runs (and spins a core) this long before it is stopped.
LIMIT = 0.25


@pytest.fixture
def short_limit(monkeypatch):
    monkeypatch.setattr(_core, "TIME_LIMIT", LIMIT)


@pytest.mark.parametrize("runner", ["_in_thread", "_traced"])
def test_an_endless_loop_is_stopped_and_its_line_quoted(runner, short_limit, monkeypatch, capsys):
    monkeypatch.setattr(_core, "_RUNNERS", [getattr(_core, runner)])
    start = time.perf_counter()
    ok, out = run(check.softmax, softmax_endless, capsys)
    print(f"{runner}: stopped after {time.perf_counter() - start:.2f} s (limit {LIMIT:g} s)", file=sys.stderr)
    assert ok is False and f"still running after {LIMIT:g} s on logits of shape (4, 10)" in out, out
    assert "of softmax_endless:" in out and ("while total < 1:" in out or "E = np.exp(" in out), out
    assert "a loop that never ends" in out and "Traceback" not in out
    ok, out = run(check.softmax, softmax_endless_swallowing, capsys)
    assert ok is False and "still running" in out, out
    assert check.results["softmax"] is False


def test_without_threads_the_trace_function_takes_over(short_limit, monkeypatch, capsys):
    def no_threads(*args):
        raise RuntimeError("can't start new thread")      # what Pyodide (JupyterLite) says
    monkeypatch.setattr(_core, "_RUNNERS", [no_threads, _core._traced])
    ok, out = run(check.softmax, softmax_endless, capsys)
    assert ok is False and "still running" in out, out
    assert sys.gettrace() is None or "coverage" in type(sys.gettrace()).__module__


def test_a_right_function_runs_in_the_worker_thread_with_numpy_warnings_silenced(capsys):
    def noisy_softmax(Z):
        np.log(np.zeros(1))                 # a RuntimeWarning the learner would otherwise see
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)
    with _no_warnings():
        ok, out = run(check.softmax, noisy_softmax, capsys)
    assert ok is True and "Warning" not in out, out


class _no_warnings:
    def __enter__(self):
        import warnings
        self.catcher = warnings.catch_warnings(record=True)
        self.caught = self.catcher.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc):
        self.catcher.__exit__(*exc)
        assert [str(w.message) for w in self.caught] == []


# --- inputs a function should only read ----------------------------------------------------------------

def backward_labels_in_place(params, cache, y):
    n = len(y)
    dZ2 = cache["A2"]                        # not a copy: the next line changes the cache
    dZ2[np.arange(n), y] -= 1
    dZ2 /= n
    A1, X = cache["A1"], cache["A0"]
    dZ1 = dZ2 @ params["W2"].T * (cache["Z1"] > 0)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}


def train_val_split_in_place(X, y, n_val, seed):
    order = np.random.default_rng(seed).permutation(len(X))
    X[:], y[:] = X[order], y[order]          # the caller's data, shuffled under its feet
    return X[n_val:], y[n_val:], X[:n_val], y[:n_val]


def sgd_step_in_place(params, grads, lr):
    for key in params:
        params[key] -= lr * grads[key]       # an optimizer step may update its parameters
    return params


def sgd_step_changes_grads(params, grads, lr):
    for key in grads:
        grads[key] *= lr
    return {key: params[key] - grads[key] for key in params}


def test_a_changed_input_is_named_with_the_learners_name_and_key(capsys):
    ok, out = run(check.backward, backward_labels_in_place, capsys)
    assert ok is False and 'changes its input cache["A2"] in place' in out, out
    assert "the values are right" in out
    ok, out = run(check.sgd_step, sgd_step_changes_grads, capsys)
    assert ok is False and 'changes its input grads["W2"] in place' in out, out
    ok, out = run(check.train_val_split, train_val_split_in_place, capsys)
    assert ok is False and "changes its input X in place" in out, out


def test_an_optimizer_step_may_update_its_parameters(capsys):
    ok, out = run(check.sgd_step, sgd_step_in_place, capsys)
    assert ok is True, out


# --- the learner's line that raised --------------------------------------------------------------------

def layer_with_a_typo(X, W, b):
    Z = X @ W
    return Z + b.reshape(-1, 1)             # (n, d) + (d, 1): broadcasts wrongly or fails


def forward_calls_a_broken_helper(params, X):
    return relu_layer(X, params["W1"], params["b1"])


def relu_layer(X, W, b):
    return np.maximum(X @ W.T + b, 0)


def test_the_line_that_raised_is_quoted_innermost_learner_frame_first(capsys):
    ok, out = run(check.layer, layer_with_a_typo, capsys)
    assert ok is False and "your function raised ValueError" in out, out
    assert "The line that raised, line" in out and "of layer_with_a_typo:" in out, out
    assert "return Z + b.reshape(-1, 1)" in out, out
    ok, out = run(check.forward, forward_calls_a_broken_helper, capsys)
    assert ok is False and "of relu_layer:\n      return np.maximum(X @ W.T + b, 0)" in out, out


# --- a tuple's items by name ---------------------------------------------------------------------------

def momentum_velocity_doubled(params, grads, velocity, lr, beta):
    u = {k: beta * velocity[k] + grads[k] for k in params}
    return {k: params[k] - lr * u[k] for k in params}, {k: 2 * v for k, v in u.items()}


def test_tuple_items_are_named(capsys):
    out = run(check.momentum_step, momentum_velocity_doubled, capsys)[1]
    assert "\n  velocity: W1, b1, W2, b2 differ" in out and "item" not in out.lower(), out
    def reference(dZ, X):
        dX, dW = dZ * 2, X.T @ dZ
        return dX, dW
    assert _core._return_names(reference) == ("dX", "dW")
    assert _core._return_names(lambda dZ, X: reference(dZ, X)) == ("dX", "dW")
    assert _core._difference((1, 2), (1, 3), names=("dW", "db")) == "db: wrong values: got 2, expected 3"
    assert _core._difference((1,), (1, 3), names=("dW", "db")).endswith("expected a tuple of 2 items, (dW, db)")


# --- the package's own function ------------------------------------------------------------------------

def softmax_wrapper(Z):
    return nn.losses.softmax(Z)


@pytest.mark.parametrize("fn", [nn.softmax, nn.losses.softmax, softmax_wrapper, lambda Z: nn.softmax(Z)],
                         ids=["nn.softmax", "nn.losses.softmax", "a function calling it", "a lambda calling it"])
def test_the_package_function_or_an_alias_is_not_counted(fn, capsys):
    check.results.clear()
    ok, out = run(check.softmax, fn, capsys)
    assert ok is False and "package's own function softmax (nn_helpers.losses.softmax)" in out, out
    assert "not counted and not kept" in out and "my_softmax" in out
    check.progress("03")
    assert capsys.readouterr().out.startswith("0 of 3 exercises solved")


def test_a_package_class_or_method_is_not_counted(capsys):
    assert run(check.sgd_step, nn.SGD(0.1).step, capsys)[0] is False
    ok, out = run(check.sgd_step, lambda p, g, lr: nn.SGD(lr).step(p, g) or p, capsys)
    assert ok is False and "package's own class SGD" in out, out
    ok, out = run(check.backward_tanh, nn.backward, capsys)
    assert ok is False and "nn_helpers.network.backward" in out, out


# --- in a Jupyter kernel, where learners run the checkers ----------------------------------------------

def test_an_endless_loop_in_a_kernel_is_stopped_and_the_kernel_goes_on(learner_dir):
    from jupyter_client import KernelManager
    from nbclient import NotebookClient
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in [
        f"import os\nos.environ['NN_LEARNER_DIR'] = {str(learner_dir)!r}\n"
        "import numpy as np\nfrom nn_helpers import check\ncheck._core.TIME_LIMIT = 0.5",
        "def my_softmax(Z):\n    i = 0\n    while i < 10:\n        Z = Z - 1\n    return Z\n\nok = check.softmax(my_softmax)",
        "print('still here', ok)"]]
    km = KernelManager(kernel_name="python3")
    km.start_kernel(extra_arguments=["--HistoryManager.enabled=False"])
    try:
        NotebookClient(notebook, km=km, timeout=60).execute()
    finally:
        km.shutdown_kernel(now=True)
    stopped = "".join(out.get("text", "") for out in notebook.cells[1].outputs)
    assert "still running after 0.5 s" in stopped and "while i < 10:" in stopped, stopped
    assert notebook.cells[2].outputs[0]["text"] == "still here False\n"


def test_a_checkers_docstring_names_the_items_in_each_form_the_modules_use():
    from types import SimpleNamespace

    def names_of(doc):
        def checker(fn):
            pass
        checker.__doc__ = doc
        frame = SimpleNamespace(f_globals={"checker": checker}, f_code=SimpleNamespace(co_name="checker"))
        return _core._docstring_names(frame)

    assert names_of("``fn(params, grads, m, v)`` -> ``(params, m, v)``: one Adam step") == ("params", "m", "v")
    assert names_of("``fn(dZ, X, W, stride, pad) -> (dX, dW, db)``: the gradients") == ("dX", "dW", "db")
    assert names_of("``fn(A, B, G)``: ``(dA, dB)`` for ``C = A @ B``") == ("dA", "dB")
    assert names_of("``fn(Z)``: row-wise probabilities ``(n, K)`` from logits ``(n, K)``") is None


def test_probing_a_module_for_the_learners_names_warns_nothing():
    """The checker tries each name of a learner's function on the modules it uses (NumPy 1.25-1.26 warn on
    ``np.bool``, a name a learner's code may hold): the warning is the probe's, not the learner's to read."""
    import types
    import warnings

    module = types.ModuleType("old_numpy")

    def __getattr__(name):
        warnings.warn(f"np.{name} is deprecated", FutureWarning, stacklevel=2)
        return bool
    module.__getattr__ = __getattr__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _core._probe(module, "bool") is bool
