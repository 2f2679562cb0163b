"""check.train_epoch: it accepts any correct way of shuffling, names each classic mistake of the loop with a
message of its own, and keeps an accepted loop in my_network.py. The loops below are written as a learner
would, calling forward, backward and sgd_step by name (the checker passes the package's versions)."""

import numpy as np
import pytest

from nn_helpers import check


def run(fn, capsys):
    ok = check.train_epoch(fn)
    return ok, capsys.readouterr().out


# --- correct loops, shuffled in different ways ------------------------------------------------------------

def epoch_permutation(params, X, y, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        probs, cache = forward(params, X[idx])          # noqa: F821 (the checker passes it)
        grads = backward(params, cache, y[idx])         # noqa: F821
        params = sgd_step(params, grads, lr)            # noqa: F821
    return params


def epoch_shuffled_copies(params, X, y, lr, batch_size, rng):
    idx = np.arange(len(X))
    rng.shuffle(idx)
    Xs, ys = X[idx], y[idx]
    for start in range(0, len(X), batch_size):
        probs, cache = forward(params, Xs[start : start + batch_size])      # noqa: F821
        grads = backward(params, cache, ys[start : start + batch_size])    # noqa: F821
        params = {k: params[k] - lr * grads[k] for k in params}
    return params


def epoch_with_minibatches(params, X, y, lr, batch_size, rng):
    for idx in minibatches(len(X), batch_size, rng):    # noqa: F821
        _, cache = forward(params, X[idx])              # noqa: F821
        params = sgd_step(params, backward(params, cache, y[idx]), lr)   # noqa: F821
    return params


def epoch_choice(params, X, y, lr, batch_size, rng):
    order = rng.choice(len(X), size=len(X), replace=False)
    batches = np.array_split(order, range(batch_size, len(X), batch_size))
    for idx in batches[::-1]:                           # the short batch first: still one epoch
        _, cache = forward(params, X[idx])              # noqa: F821
        grads = backward(params, cache, y[idx])         # noqa: F821
        params = sgd_step(params, grads, lr)            # noqa: F821
    return params


@pytest.mark.parametrize("fn", [epoch_permutation, epoch_shuffled_copies, epoch_with_minibatches, epoch_choice],
                         ids=lambda f: f.__name__)
def test_any_correct_shuffling_is_accepted(fn, capsys):
    ok, out = run(fn, capsys)
    assert ok is True and out.startswith("train_epoch: correct!"), out


# --- the mistakes the issue names, and a few more ---------------------------------------------------------

def no_shuffling(params, X, y, lr, batch_size, rng):
    for start in range(0, len(X), batch_size):
        _, cache = forward(params, X[start : start + batch_size])                      # noqa: F821
        params = sgd_step(params, backward(params, cache, y[start : start + batch_size]), lr)   # noqa: F821
    return params


def two_permutations(params, X, y, lr, batch_size, rng):
    Xs, ys = X[rng.permutation(len(X))], y[rng.permutation(len(X))]
    for start in range(0, len(X), batch_size):
        _, cache = forward(params, Xs[start : start + batch_size])                     # noqa: F821
        params = sgd_step(params, backward(params, cache, ys[start : start + batch_size]), lr)  # noqa: F821
    return params


def same_batch(params, X, y, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[:batch_size]
        _, cache = forward(params, X[idx])                                             # noqa: F821
        params = sgd_step(params, backward(params, cache, y[idx]), lr)                 # noqa: F821
    return params


def uphill(params, X, y, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        _, cache = forward(params, X[idx])                                             # noqa: F821
        grads = backward(params, cache, y[idx])                                        # noqa: F821
        params = {k: params[k] + lr * grads[k] for k in params}
    return params


def whole_data_gradient(params, X, y, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]       # noqa: F841 (the mistake: idx is never used)
        _, cache = forward(params, X)                                                  # noqa: F821
        params = sgd_step(params, backward(params, cache, y), lr)                      # noqa: F821
    return params


def drops_last(params, X, y, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for b in range(len(X) // batch_size):
        idx = order[b * batch_size : (b + 1) * batch_size]
        _, cache = forward(params, X[idx])                                             # noqa: F821
        params = sgd_step(params, backward(params, cache, y[idx]), lr)                 # noqa: F821
    return params


def fixed_seed(params, X, y, lr, batch_size, rng):
    order = np.random.default_rng(0).permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        _, cache = forward(params, X[idx])                                             # noqa: F821
        params = sgd_step(params, backward(params, cache, y[idx]), lr)                 # noqa: F821
    return params


def forgets_the_step(params, X, y, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        _, cache = forward(params, X[idx])                                             # noqa: F821
        new_params = sgd_step(params, backward(params, cache, y[idx]), lr)             # noqa: F821, F841
    return params


def with_replacement(params, X, y, lr, batch_size, rng):
    order = rng.integers(0, len(X), len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        _, cache = forward(params, X[idx])                                             # noqa: F821
        params = sgd_step(params, backward(params, cache, y[idx]), lr)                 # noqa: F821
    return params


def package_loop_by_another_name(params, X, y, lr, batch_size, rng):
    import nn_helpers as nn
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        _, cache = nn.forward(params, X[idx])
        params = sgd_step(params, nn.backward(params, cache, y[idx]), lr)              # noqa: F821
    return params


# --- issue 23: more mistakes, written as learners wrote them ----------------------------------------------

def returns_inside_the_loop(params, X, y, lr, batch_size, rng):
    for idx in minibatches(len(X), batch_size, rng):    # noqa: F821
        probs, cache = forward(params, X[idx])          # noqa: F821
        grads = backward(params, cache, y[idx])         # noqa: F821
        params = sgd_step(params, grads, lr)            # noqa: F821
        return params


def one_step_after_the_loop(params, X, y, lr, batch_size, rng):
    for idx in minibatches(len(X), batch_size, rng):    # noqa: F821
        probs, cache = forward(params, X[idx])          # noqa: F821
        grads = backward(params, cache, y[idx])         # noqa: F821
    params = sgd_step(params, grads, lr)                # noqa: F821
    return params


def lr_over_the_batch_size(params, X, y, lr, batch_size, rng):
    for idx in minibatches(len(X), batch_size, rng):    # noqa: F821
        probs, cache = forward(params, X[idx])          # noqa: F821
        grads = backward(params, cache, y[idx])         # noqa: F821
        params = sgd_step(params, grads, lr / len(idx))   # noqa: F821
    return params


def lr_times_the_batch_size(params, X, y, lr, batch_size, rng):
    for idx in minibatches(len(X), batch_size, rng):    # noqa: F821
        probs, cache = forward(params, X[idx])          # noqa: F821
        grads = backward(params, cache, y[idx])         # noqa: F821
        params = sgd_step(params, grads, lr * batch_size)   # noqa: F821
    return params


def gradients_at_the_start(params, X, y, lr, batch_size, rng):
    new_params = params
    for idx in minibatches(len(X), batch_size, rng):    # noqa: F821
        probs, cache = forward(params, X[idx])          # noqa: F821
        grads = backward(params, cache, y[idx])         # noqa: F821
        new_params = sgd_step(new_params, grads, lr)    # noqa: F821
    return new_params


def returns_the_gradients(params, X, y, lr, batch_size, rng):
    for idx in minibatches(len(X), batch_size, rng):    # noqa: F821
        probs, cache = forward(params, X[idx])          # noqa: F821
        grads = backward(params, cache, y[idx])         # noqa: F821
        params = sgd_step(params, grads, lr)            # noqa: F821
    return grads


def two_epochs(params, X, y, lr, batch_size, rng):
    for epoch in range(2):
        for idx in minibatches(len(X), batch_size, rng):    # noqa: F821
            probs, cache = forward(params, X[idx])          # noqa: F821
            grads = backward(params, cache, y[idx])         # noqa: F821
            params = sgd_step(params, grads, lr)            # noqa: F821
    return params


MISTAKES = {   # the six first
    "no shuffling": (no_shuffling, "there is no shuffling"),
    "X and y shuffled with different permutations": (two_permutations, "shuffled with different permutations"),
    "the same batch every step": (same_batch, "every step uses the same batch"),
    "a step uphill": (uphill, "steps uphill"),
    "the whole data set's gradient": (whole_data_gradient, "gradient of the whole data set"),
    "the last partial batch dropped": (drops_last, "last, smaller batch of 3 images is missing"),
    "a fixed seed inside": (fixed_seed, "does not come from rng"),
    "the step's result dropped": (forgets_the_step, "returns the parameters it started with"),
    "indices with replacement": (with_replacement, "used twice and others never"),
    "nn.forward instead of forward": (package_loop_by_another_name, "never called forward"),
    # issue 23
    "the return inside the loop": (returns_inside_the_loop, "returns after the first batch"),
    "one step after the loop": (one_step_after_the_loop, "only one step is taken, after the loop"),
    "lr divided by the batch size": (lr_over_the_batch_size, "learning rate is divided by the batch size"),
    "lr times the batch size": (lr_times_the_batch_size, "learning rate is multiplied by the batch size"),
    "every gradient at the start": (gradients_at_the_start, "taken at the starting parameters"),
    "the gradients returned": (returns_the_gradients, "returns the gradients of the last batch"),
    "two epochs in one call": (two_epochs, "the loop runs 2 epochs"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_mistake_is_named(mistake, capsys):
    fn, expected = MISTAKES[mistake]
    ok, out = run(fn, capsys)
    assert ok is False and expected.lower() in out.lower() and "correct!" not in out, out


def test_each_mistake_gets_its_own_message(capsys):
    messages = {}
    for mistake, (fn, _) in MISTAKES.items():
        check.train_epoch(fn)
        messages[mistake] = capsys.readouterr().out.split("\n", 1)[-1]
    assert len(set(messages.values())) == len(messages), messages


def test_a_skeleton_is_not_done_and_a_lambda_is_refused(capsys):
    def my_train_epoch(params, X, y, lr, batch_size, rng):
        # your code here
        raise NotImplementedError

    ok, out = run(my_train_epoch, capsys)
    assert ok is False and out == check.NOT_DONE.format(name="train_epoch") + "\n"
    ok, out = run(print, capsys)
    assert ok is False and "expected a function written with def" in out


def test_an_accepted_loop_is_kept_outside_the_repository(learner_dir, capsys):
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    assert check.learner_file() == learner_dir / "my_network.py" and root not in learner_dir.parents
    ok, out = run(epoch_permutation, capsys)
    assert ok and "Kept in my_network.py" in out
    kept = (learner_dir / "my_network.py").read_text(encoding="utf-8")
    assert "# ==== train_epoch: epoch_permutation ====" in kept and "def epoch_permutation(" in kept
    assert not (root / "my_network.py").exists() and not (root / "notebooks" / "my_network.py").exists()
