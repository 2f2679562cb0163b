"""nn_helpers.autograd against torch.autograd in float64: the same expressions written twice, once with the
engine and once with torch, give the same values and gradients. Torch is not a dependency of the series: the
file skips where it is not installed. To run it, use a separate environment with torch and the project:

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install numpy pytest torch
    /tmp/torchenv/bin/pip install --no-deps -e .
    /tmp/torchenv/bin/python -m pytest -c /dev/null --rootdir=. --noconftest tests/test_autograd_torch.py

(``-c /dev/null --noconftest``: the project's pytest settings and conftest need nbval and matplotlib, which
this environment does not need.) A CPU-only wheel is enough: ``pip install torch --index-url`` of PyTorch's
CPU wheels, or a local ``torch-*+cpu*.whl`` with ``--no-deps`` plus filelock, typing-extensions, sympy,
networkx, jinja2 and fsspec.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nn_helpers as nn  # noqa: E402
from nn_helpers.autograd import Tensor, Value, cross_entropy  # noqa: E402

rng = np.random.default_rng(0)
X, W, b = rng.normal(size=(5, 4)), rng.normal(size=(4, 3)), rng.normal(size=(3,))
COL, POS = rng.normal(size=(5, 1)), rng.uniform(0.5, 2.0, size=(5, 4))
y = np.array([0, 2, 1, 1, 0])


def torch_ce(Z, labels):
    return torch.nn.functional.cross_entropy(Z, torch.as_tensor(labels))


# (name, J(ops, *inputs), inputs): ops is the engine or torch; each J is written once for both
EXPRESSIONS = [
    ("reuse", lambda ops, x: ((x * x + x) * x).sum(), (X,)),
    ("reuse of an intermediate", lambda ops, x: (lambda s: (s + s) * s)(x * 2.0 - 1.0).mean(), (X,)),
    ("matmul and bias", lambda ops, x, w, b: ((x @ w + b).relu() ** 2).mean(), (X, W, b)),
    ("broadcast a column", lambda ops, x, c: (x * c - c / 2.0).exp().sum(), (X, COL)),
    ("broadcast both ways", lambda ops, c, b: (c * b + c).sum(), (COL, b)),
    ("reductions with keepdims", lambda ops, x: (x / x.sum(axis=1, keepdims=True)).log().sum()
        + (x.mean(axis=0, keepdims=True) * x).sum(), (POS,)),
    ("sum over an axis", lambda ops, x: (x.sum(axis=0) ** 2).mean(), (X,)),
    ("reshape and T", lambda ops, x: ((x.reshape(4, 5) @ x).T ** 2).sum(), (X,)),
    ("division and powers", lambda ops, x: (1.0 / x + x ** 1.5 - 3.0 * x).sum(), (POS,)),
    ("cross-entropy", lambda ops, z: cross_entropy(z, y) if ops == "engine" else torch_ce(z, y), (X[:, :3] * 50,)),
    ("the MLP", lambda ops, x, w1, b1, w2, b2: (cross_entropy if ops == "engine" else torch_ce)(
        (x @ w1 + b1).relu() @ w2 + b2, y), (X, W, b, rng.normal(size=(3, 4)), rng.normal(size=(4,)))),
]


def engine(f, arrays):
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    J = f("engine", *ts)
    J.backward()
    return float(J.data), [t.grad for t in ts]


def with_torch(f, arrays):
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    J = f("torch", *ts)
    J.backward()
    return J.item(), [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("name, f, arrays", EXPRESSIONS, ids=[e[0] for e in EXPRESSIONS])
def test_values_and_gradients_match_torch(name, f, arrays):
    value, grads = engine(f, arrays)
    expected, expected_grads = with_torch(f, arrays)
    assert value == pytest.approx(expected, rel=1e-12)
    for g, e in zip(grads, expected_grads):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


def test_a_bias_row_broadcast_over_the_batch_matches_torch():
    Z, bias = Tensor(X[:, :3], requires_grad=True), Tensor(b, requires_grad=True)
    J = ((Z + bias) ** 2).sum()
    J.backward()
    tz = torch.tensor(X[:, :3], requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ((tz + tb) ** 2).sum().backward()
    np.testing.assert_allclose(bias.grad, tb.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(Z.grad, tz.grad.numpy(), rtol=1e-12)


def test_values_match_torch_scalars():
    a, c = Value(-4.0), Value(2.0)
    d = a * c + c ** 3
    e = (d * 2 + (c + a).relu()).tanh() + (d / 10).exp() + (c * c).log()
    e.backward()
    ta = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    tc = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    td = ta * tc + tc ** 3
    te = (td * 2 + (tc + ta).relu()).tanh() + (td / 10).exp() + (tc * tc).log()
    te.backward()
    assert e.data == pytest.approx(te.item(), rel=1e-12)
    assert (a.grad, c.grad) == (pytest.approx(ta.grad.item(), rel=1e-12), pytest.approx(tc.grad.item(), rel=1e-12))


def test_backward_twice_accumulates_as_in_torch():
    w = Tensor(W, requires_grad=True)
    J = (Tensor(X) @ w).relu().sum()
    J.backward()
    J.backward()
    tw = torch.tensor(W, requires_grad=True)
    tJ = (torch.tensor(X) @ tw).relu().sum()
    tJ.backward(retain_graph=True)
    tJ.backward()
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-12)


def test_torch_linear_stores_W_transposed():
    # the bridge of notebook 12: torch.nn.Linear(784, d1).weight is (d1, 784), our W1 is (784, d1)
    params = nn.init_params([784, 16, 10], init="he", seed=0, dtype=np.float64)
    layer = torch.nn.Linear(784, 16, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(params["W1"].T))
        layer.bias.copy_(torch.tensor(params["b1"]))
    x = rng.random((3, 784))
    np.testing.assert_allclose(layer(torch.tensor(x)).detach().numpy(), x @ params["W1"] + params["b1"], rtol=1e-12)
