"""nn_helpers.autograd: every operation's gradient against central finite differences (float64), reuse of a
node, broadcasting in both directions, a chain of thousands of operations, backward twice, zeroing, and the
MLP against nn.backward."""

import math

import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers.autograd import (Tensor, Value, cross_entropy, draw_graph, im2col, no_grad, saved_bytes,
                                 topological_order, unbroadcast)
from nn_helpers.conv import conv2d_backward, conv2d_forward


def numerical_grad(f, x, h=1e-6):
    """dJ/dx by central differences, for a function f of one float64 array returning a float."""
    return nn.numerical_vjp(f, np.array(x, dtype=np.float64), 1.0, h)


def engine_grads(f, *arrays):
    """The engine's J = f(*tensors) and the gradient of each input."""
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    J = f(*tensors)
    J.backward()
    return float(J.data), [t.grad for t in tensors]


def check_all(f, *arrays, rtol=1e-6, atol=1e-8):
    """The engine's gradient of every input equals the finite differences."""
    _, grads = engine_grads(f, *arrays)
    for k, (a, g) in enumerate(zip(arrays, grads)):
        assert g.shape == np.shape(a)

        def f_k(x, k=k):
            args = [Tensor(x if j == k else b) for j, b in enumerate(arrays)]
            return float(f(*args).data)
        np.testing.assert_allclose(g, numerical_grad(f_k, a), rtol=rtol, atol=atol)


rng = np.random.default_rng(0)
A, B = rng.normal(size=(4, 3)), rng.normal(size=(3, 5))
POS = rng.uniform(0.5, 2.0, size=(4, 3))
ROW, COL = rng.normal(size=(3,)), rng.normal(size=(4, 1))

# (name, J as a function of the tensors, the inputs): each J is a scalar
TENSOR_CASES = [
    ("add", lambda a, b: ((a + b) ** 2).sum(), (A, POS)),
    ("sub", lambda a, b: ((a - b) ** 2).sum(), (A, POS)),
    ("mul", lambda a, b: (a * b).sum(), (A, POS)),
    ("div", lambda a, b: (a / b).sum(), (A, POS)),
    ("neg", lambda a: (-a * a).sum(), (A,)),
    ("pow", lambda a: (a ** 3).sum() + (a ** 0.5).sum(), (POS,)),
    ("matmul", lambda a, b: ((a @ b) ** 2).sum(), (A, B)),
    ("sum axis 0", lambda a: (a.sum(axis=0) ** 2).sum(), (A,)),
    ("sum axis 1 keepdims", lambda a: (a.sum(axis=1, keepdims=True) * a).sum(), (A,)),
    ("mean", lambda a: (a.mean(axis=0) ** 2).mean() + a.mean(), (A,)),
    ("mean of axes (0, 1)", lambda a: (a.reshape(2, 2, 3).mean(axis=(0, 1)) ** 2).sum(), (A,)),
    ("relu", lambda a: (a.relu() * a).sum(), (A,)),
    ("exp", lambda a: a.exp().sum(), (A,)),
    ("log", lambda a: (a.log() * a).sum(), (POS,)),
    ("reshape", lambda a: (a.reshape(2, 6) ** 2 * np.arange(12.0).reshape(2, 6)).sum(), (A,)),
    ("T", lambda a, b: ((a.T @ a) * (b @ b.T)).sum(), (A, B[:, :3] @ B[:, :3].T)),
    ("scalar on the left", lambda a: (2.0 - a + 3.0 * a / 2.0 + 1.0 / (a + 3.0)).sum(), (POS,)),
    ("transpose", lambda a: (a.reshape(2, 2, 3).transpose(2, 0, 1).reshape(3, 4) ** 2 * np.arange(12.0).reshape(3, 4)).sum(), (A,)),
    ("im2col", lambda x: (im2col(x, 2, stride=1, pad=1) ** 2 * np.arange(4.0 * 16).reshape(4, 16)).sum(), (rng.normal(size=(1, 1, 3, 3)),)),
    ("max axis 1", lambda a: (a.max(axis=1) * np.array([1.0, -2.0, 0.5, 3.0])).sum(), (A,)),
    ("max axis 0 of 3-D", lambda a: (a.reshape(2, 2, 3).max(axis=0) ** 2).sum(), (A,)),
    ("max axis -1", lambda a: (a.max(axis=-1) ** 2).sum(), (A,)),
    ("cross_entropy", lambda z: cross_entropy(z, np.array([0, 2, 1, 2])), (A,)),
    ("cross_entropy of large logits", lambda z: cross_entropy(z * 500.0, np.array([1, 0, 0, 2])), (A,)),
]


@pytest.mark.parametrize("name, f, arrays", TENSOR_CASES, ids=[c[0] for c in TENSOR_CASES])
def test_each_tensor_operation_matches_finite_differences(name, f, arrays):
    check_all(f, *arrays, rtol=1e-5 if "large" in name else 1e-6)


@pytest.mark.parametrize("f, arrays", [
    (lambda a, b: ((a + b) ** 2).sum(), (A, ROW)),            # (n, K) + (K,): b's gradient sums the rows
    (lambda a, b: ((b + a) ** 2).sum(), (A, ROW)),            # the same with the small one on the left
    (lambda a, b: (a * b).exp().sum(), (A, COL)),             # (n, K) * (n, 1): summed over the columns
    (lambda a, b: (b * a * b).sum(), (COL, ROW)),              # (n, 1) * (K,) -> (n, K): both stretched
    (lambda a, b: ((a - b) ** 2).mean(), (A, np.array(0.7))),  # a 0-d tensor against a matrix
    (lambda a, b: (a / b).sum(), (A, POS[:1])),                # (n, K) / (1, K)
], ids=["rows", "rows, other side", "columns", "both stretched", "0-d", "(1, K)"])
def test_broadcasting_in_both_directions(f, arrays):
    check_all(f, *arrays)


def test_unbroadcast_sums_the_stretched_axes():
    g = np.arange(24.0).reshape(2, 3, 4)
    assert unbroadcast(g, (2, 3, 4)) is not None and np.array_equal(unbroadcast(g, (2, 3, 4)), g)
    assert np.array_equal(unbroadcast(g, (4,)), g.sum(axis=(0, 1)))
    assert np.array_equal(unbroadcast(g, (3, 1)), g.sum(axis=(0, 2))[:, None])
    assert np.array_equal(unbroadcast(g, (1, 3, 4)), g.sum(axis=0, keepdims=True))
    assert unbroadcast(g, ()).shape == () and unbroadcast(g, ()) == g.sum()


def test_max_sends_each_slices_gradient_to_its_first_maximum_only():
    # ties, as after a ReLU: notebook 11's rule, the first maximum (np.argmax's) gets G, the others 0
    a = Tensor(np.array([[0.0, 2.0, 2.0], [0.0, 0.0, 0.0], [1.0, 3.0, 3.0], [5.0, 1.0, 5.0]]), requires_grad=True)
    G = np.array([1.0, -2.0, 0.5, 3.0])
    out = a.max(axis=1)
    (out * G).sum().backward()
    assert np.array_equal(out.data, [2.0, 0.0, 3.0, 5.0])
    assert np.array_equal(a.grad, [[0, 1, 0], [-2, 0, 0], [0, 0.5, 0], [3, 0, 0]])
    b = Tensor(a.data.T.copy(), requires_grad=True)
    (b.max(axis=0) * G).sum().backward()
    assert np.array_equal(b.grad, a.grad.T)
    with pytest.raises(TypeError, match="one axis as an int"):
        a.max(axis=None)
    with pytest.raises(ValueError, match="axis must be in"):
        a.max(axis=2)


def value_grads(f, xs):
    vs = [Value(x) for x in xs]
    J = f(*vs)
    J.backward()
    return J.data, [v.grad for v in vs]


VALUE_CASES = [
    ("add mul", lambda a, b: a * b + a, (2.0, -3.0)),
    ("sub div", lambda a, b: (a - b) / (a + b * b), (1.5, 0.7)),
    ("pow", lambda a, b: a ** 3 + b ** -2 + a ** 0.5, (1.3, 0.8)),
    ("relu", lambda a, b: (a * b).relu() + (a - 5).relu(), (1.3, 0.8)),
    ("exp log", lambda a, b: (a * b).exp() + (a + b).log(), (0.3, 0.8)),
    ("tanh", lambda a, b: (a * b).tanh(), (0.3, 0.8)),
    ("numbers on the left", lambda a, b: 1 - a + 2 * b + 3 / a, (0.3, 0.8)),
    ("reuse", lambda a, b: a * a + a * b * a, (0.3, 0.8)),
]


@pytest.mark.parametrize("name, f, xs", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_each_value_operation_matches_finite_differences(name, f, xs):
    _, grads = value_grads(f, xs)
    for k in range(len(xs)):
        def f_k(x, k=k):
            return f(*[Value(float(x)) if j == k else Value(v) for j, v in enumerate(xs)]).data
        assert grads[k] == pytest.approx(float(numerical_grad(f_k, xs[k])), rel=1e-6, abs=1e-9)


def test_a_reused_intermediate_node_gets_every_contribution():
    # micrograd's own example where a recursion from the output goes wrong: b is used twice by c
    a = Value(1.0)
    b = a + a
    c = b + b
    c.backward()
    assert (c.data, b.grad, a.grad) == (4.0, 2.0, 4.0)
    t = Tensor(np.ones(3), requires_grad=True)
    s = t * t
    (s + s).sum().backward()        # d/dt of 2 t^2 = 4 t
    assert np.array_equal(t.grad, 4 * np.ones(3))


def test_topological_order_lists_each_node_once_after_its_inputs():
    a = Value(1.0)
    b = a + a
    c = b * b + a
    order = topological_order(c)
    assert len(order) == len(set(map(id, order))) == 4     # a, b, b*b, c, and nothing twice
    position = {id(node): i for i, node in enumerate(order)}
    assert all(position[id(p)] < position[id(node)] for node in order for p in node._parents)
    assert order[-1] is c


@pytest.mark.parametrize("length", [3000])
def test_a_chain_of_thousands_of_operations(length):
    x = Value(0.5)
    y = x
    for _ in range(length):
        y = y * 1.0 + 0.0            # two nodes per step: 6,000 deep, past Python's recursion limit
    y.backward()
    assert x.grad == 1.0
    t = Tensor(np.ones(2), requires_grad=True)
    u = t
    for _ in range(length):
        u = u + 1.0
    u.sum().backward()
    assert np.array_equal(t.grad, np.ones(2))


def test_backward_twice_accumulates_into_the_leaves_and_zero_grad_resets():
    a, b = Value(2.0), Value(-3.0)
    J = a * b + a            # dJ/da = b + 1 = -2, dJ/db = a = 2
    J.backward()
    J.backward()             # as in PyTorch (with retain_graph): the leaves get each call's gradient once more
    assert (a.grad, b.grad) == (-4.0, 4.0)
    a.zero_grad()
    b.zero_grad()
    J.backward()
    assert (a.grad, b.grad) == (-2.0, 2.0)
    W = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    L = (W * W).sum()
    L.backward()
    L.backward()
    assert np.array_equal(W.grad, 4 * W.data)
    W.zero_grad()
    assert np.array_equal(W.grad, np.zeros((2, 3)))


def test_what_needs_no_gradient_gets_none_and_no_grad_records_no_graph():
    X = Tensor(np.ones((2, 3)))
    W = Tensor(np.ones((3, 1)), requires_grad=True)
    J = (X @ W).sum()
    J.backward()
    assert X.grad is None and W.grad.shape == (3, 1)
    with no_grad():
        out = X @ W
    assert not out.requires_grad and out._parents == ()
    with pytest.raises(ValueError, match="requires_grad=True"):
        out.sum().backward()


def test_errors_say_how_to_fix():
    with pytest.raises(ValueError, match=r"call \.sum\(\) or \.mean\(\) first"):
        Tensor(np.ones(3), requires_grad=True).exp().backward()
    with pytest.raises(TypeError, match="exponent must be a number"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(ValueError, match="reshape"):
        Tensor(np.ones(3)) @ Tensor(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"expected \(n, K\) and \(n,\)"):
        cross_entropy(Tensor(np.ones((3, 2))), np.array([0, 1]))


def test_dtype_is_kept():
    W = Tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    J = (Tensor(np.ones((4, 3), dtype=np.float32)) @ W * 0.5 + 1.0).mean()
    J.backward()
    assert J.data.dtype == np.float32 and W.grad.dtype == np.float32


def mlp_loss(params, X, y):
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    return cross_entropy((Tensor(X) @ W1 + b1).relu() @ W2 + b2, y)


def test_the_mlp_matches_nn_backward_in_float64():
    params = nn.init_params([784, 32, 10], init="he", seed=1, dtype=np.float64)
    params["b1"] += np.random.default_rng(1).normal(0, 0.1, 32)
    data_rng = np.random.default_rng(2)
    X, y = data_rng.random((16, 784)), data_rng.integers(0, 10, 16)
    tensors = {k: Tensor(v, requires_grad=True) for k, v in params.items()}
    J = mlp_loss(tensors, X, y)
    J.backward()
    _, cache = nn.forward(params, X)
    expected = nn.backward(params, cache, y)
    assert math.isclose(float(J.data), nn.cross_entropy_from_logits(cache["Z2"], y), rel_tol=1e-12)
    for k in params:
        np.testing.assert_allclose(tensors[k].grad, expected[k], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("stride, pad, C", [(1, 0, 1), (1, 1, 3), (2, 1, 2)])
def test_a_convolution_from_im2col_needs_no_backward_of_its_own(stride, pad, C):
    data = np.random.default_rng(stride + 10 * pad + C)
    X, W, b = data.normal(size=(2, C, 5, 5)), data.normal(size=(4, C, 3, 3)), data.normal(size=(4,))
    Z, cache = conv2d_forward(X, W, b, stride=stride, pad=pad)
    dZ = data.normal(size=Z.shape)
    dX, dW, db = conv2d_backward(dZ, cache)
    Xt, Wt, bt = (Tensor(a, requires_grad=True) for a in (X, W, b))
    n, F, H_out, W_out = Z.shape
    Zt = (Wt.reshape(F, -1) @ im2col(Xt, 3, stride=stride, pad=pad) + bt.reshape(F, 1))
    Zt = Zt.reshape(F, n, H_out, W_out).transpose(1, 0, 2, 3)
    (Zt * dZ).sum().backward()
    np.testing.assert_allclose(Zt.data, Z, rtol=1e-12, atol=1e-12)
    for got, expected in ((Xt.grad, dX), (Wt.grad, dW), (bt.grad, db)):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_saved_bytes_counts_what_the_graph_keeps_for_the_backward_pass():
    params = nn.init_params([784, 32, 10], seed=1, dtype=np.float64)
    tensors = {k: Tensor(v, requires_grad=True) for k, v in params.items()}
    X, y = np.random.default_rng(0).random((16, 784)), np.arange(16) % 10
    J = mlp_loss(tensors, X, y)
    # X W1, + b1, relu: (16, 32); A1 W2, + b2, the log-probabilities: (16, 10); the labels y; J itself
    assert saved_bytes(J) == (3 * 16 * 32 + 3 * 16 * 10) * 8 + y.nbytes + 8
    J2 = cross_entropy(((Tensor(X) @ tensors["W1"]).reshape(16, 32) + tensors["b1"]).T.T, y)
    assert saved_bytes(J2) == (2 * 16 * 32) * 8 + 16 * 32 * 8 + y.nbytes + 8   # a reshape's view costs nothing
    with no_grad():
        assert saved_bytes(mlp_loss(tensors, X, y)) == 0


def test_draw_graph_shows_each_node_with_its_value_and_gradient():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    a = Value(3.0)
    b = a * a
    J = b + b * 2.0
    J.backward()
    fig = draw_graph(J, {"a": a, "b": b, "J": J})
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]
    assert len(texts) == 5 and "a\ndata 3\ngrad 18" in texts and "b = mul\ndata 9\ngrad 3" in texts
    assert "J = add\ndata 27\ngrad 1" in texts and "constant\ndata 2\ngrad 9" in texts
    arrows = [c for c in fig.axes[0].get_children() if isinstance(c, matplotlib.text.Annotation) and not c.get_text()]
    assert len(arrows) == 6                      # a -> b twice (a * a), b -> mul, 2 -> mul, b -> J, mul -> J
    plt.close(fig)
    W = Tensor(np.ones((3, 2)), requires_grad=True)
    L = (Tensor(np.ones((4, 3))) @ W).relu().mean()
    fig = draw_graph(L, {"W": W})
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]
    assert any(t.startswith("W  (3, 2)\ndata: mean 1") for t in texts) and any("grad: not needed" in t for t in texts)
    assert any(t.startswith("input  (4, 3)") for t in texts)
    fig.canvas.draw()
    plt.close(fig)
    x = Value(1.0)
    for _ in range(200):
        x = x * 1.0                  # two nodes a step: the product and its constant 1.0
    with pytest.raises(ValueError, match="401 nodes, more than max_nodes=100"):
        draw_graph(x)
