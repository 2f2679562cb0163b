"""The checkers of notebook 12 (automatic differentiation): each accepts a right answer and names each classic
mistake, written here the way a learner would write it, with a message of its own."""

import numpy as np
import pytest

from nn_helpers import check
from nn_helpers.autograd import Value
from mistakes import assert_named, run, shared_messages


# --- right answers ------------------------------------------------------------------------------------

def mul(a, b):
    out = Value(a.data * b.data, (a, b))

    def _backward():
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad
    out._backward = _backward
    return out


def topo_iterative(root):
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((p, False) for p in node._parents)
    return order


def topo_with_two_stacks(root):          # another correct way: Kahn's algorithm on the reachable nodes
    nodes, stack, seen = [], [root], {root}
    while stack:
        node = stack.pop()
        nodes.append(node)
        for p in node._parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    waiting = {n: len(set(n._parents)) for n in nodes}
    users = {n: [] for n in nodes}
    for n in nodes:
        for p in set(n._parents):
            users[p].append(n)
    ready = [n for n in nodes if waiting[n] == 0]
    order = []
    while ready:
        n = ready.pop()
        order.append(n)
        for u in users[n]:
            waiting[u] -= 1
            if waiting[u] == 0:
                ready.append(u)
    return order


def unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def matmul_vjp(A, B, G):
    return G @ B.T, A.T @ G


RIGHT = [(check.value_mul, mul), (check.topological_order, topo_iterative),
         (check.topological_order, topo_with_two_stacks), (check.unbroadcast, unbroadcast),
         (check.matmul_vjp, matmul_vjp)]


@pytest.mark.parametrize("checker, fn", RIGHT, ids=["value_mul", "topo", "topo Kahn", "unbroadcast", "matmul_vjp"])
def test_a_right_answer_is_accepted(checker, fn, capsys):
    ok, out = run(checker, fn, capsys)
    assert ok is True and "correct!" in out, out


# --- learners' mistakes -------------------------------------------------------------------------------

def mul_assigns(a, b):
    out = Value(a.data * b.data, (a, b))

    def _backward():
        a.grad = b.data * out.grad
        b.grad = a.data * out.grad
    out._backward = _backward
    return out


def mul_not_swapped(a, b):
    out = Value(a.data * b.data, (a, b))

    def _backward():
        a.grad += a.data * out.grad
        b.grad += b.data * out.grad
    out._backward = _backward
    return out


def mul_no_upstream(a, b):
    out = Value(a.data * b.data, (a, b))

    def _backward():
        a.grad += b.data
        b.grad += a.data
    out._backward = _backward
    return out


def mul_no_parents(a, b):
    out = Value(a.data * b.data)

    def _backward():
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad
    out._backward = _backward
    return out


def mul_closure_not_attached(a, b):
    out = Value(a.data * b.data, (a, b))

    def _backward():
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad
    return out


def mul_returns_a_number(a, b):
    return a.data * b.data


def topo_recursive_no_visited(root):
    order = []

    def build(node):
        for p in node._parents:
            build(p)
        order.append(node)
    build(root)
    return order


def topo_preorder(root):
    order, visited, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if node not in visited:
            visited.add(node)
            order.append(node)
            stack.extend(node._parents)
    return order


def topo_reversed(root):
    return topo_iterative(root)[::-1]


def topo_recursive(root):       # micrograd's build_topo: right, but it recurses once per node
    order, visited = [], set()

    def build(node):
        if node not in visited:
            visited.add(node)
            for p in node._parents:
                build(p)
            order.append(node)
    build(root)
    return order


def topo_visited_by_value(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif node.data not in seen:
            seen.add(node.data)
            stack.append((node, True))
            stack.extend((p, False) for p in node._parents)
    return order


def unbroadcast_no_keepdims(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1:
            grad = grad.sum(axis=axis)
    return grad


def unbroadcast_from_the_left(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=-1)
    return grad


def unbroadcast_leading_only(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    return grad


def unbroadcast_axis_0(grad, shape):
    return grad.sum(axis=0)


def unbroadcast_size_1_only(grad, shape):
    axes = tuple(i for i, s in enumerate(shape) if s == 1)
    return np.sum(grad, axis=axes, keepdims=True)


def unbroadcast_mean(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.mean(axis=0)
    for axis, size in enumerate(shape):
        if size == 1:
            grad = grad.mean(axis=axis, keepdims=True)
    return grad


def vjp_no_transposes(A, B, G):
    return G @ B, A @ G


def vjp_wrong_side(A, B, G):
    return B.T @ G, G @ A.T


def vjp_transposes_swapped(A, B, G):
    return G.T @ B, A @ G.T


def vjp_results_swapped(A, B, G):
    dA = A.T @ G
    dB = G @ B.T
    return dA, dB


def vjp_transposed_results(A, B, G):
    return B @ G.T, G.T @ A


MISTAKES = {
    "mul with =": (check.value_mul, mul_assigns, "assigned with `=` instead of added with `+=`"),
    "mul not swapped": (check.value_mul, mul_not_swapped, "the OTHER factor"),
    "mul without out.grad": (check.value_mul, mul_no_upstream, "the factor out.grad is missing"),
    "mul without parents": (check.value_mul, mul_no_parents, "does not record its inputs"),
    "mul without the closure": (check.value_mul, mul_closure_not_attached, "never attached to out"),
    "mul returning a float": (check.value_mul, mul_returns_a_number, "expected out, the Value"),
    "topo visits twice": (check.topological_order, topo_recursive_no_visited, "is visited twice"),
    "topo pre-order": (check.topological_order, topo_preorder, "comes before its input"),
    "topo reversed": (check.topological_order, topo_reversed, "the order is reversed"),
    "topo recursive": (check.topological_order, topo_recursive, "past Python's limit"),
    "topo visited by value": (check.topological_order, topo_visited_by_value, "two different nodes of equal value"),
    "unbroadcast without keepdims": (check.unbroadcast, unbroadcast_no_keepdims, "a size-1 axis is not kept"),
    "unbroadcast from the left": (check.unbroadcast, unbroadcast_from_the_left, "wrong axes, the last ones"),
    "unbroadcast leading only": (check.unbroadcast, unbroadcast_leading_only, "only the prepended axes"),
    "unbroadcast over axis 0": (check.unbroadcast, unbroadcast_axis_0, "always over axis 0"),
    "unbroadcast size-1 only": (check.unbroadcast, unbroadcast_size_1_only, "the prepended axes are not summed"),
    "unbroadcast mean": (check.unbroadcast, unbroadcast_mean, "averaged"),
    "vjp without transposes": (check.matmul_vjp, vjp_no_transposes, "transposes are missing"),
    "vjp wrong side": (check.matmul_vjp, vjp_wrong_side, "on the wrong side"),
    "vjp transposes swapped": (check.matmul_vjp, vjp_transposes_swapped, "transposes are swapped"),
    "vjp results swapped": (check.matmul_vjp, vjp_results_swapped, "the results are swapped"),
    "vjp transposed results": (check.matmul_vjp, vjp_transposed_results, "both results are transposed"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_checker_names_the_mistake(mistake, capsys):
    assert_named(*MISTAKES[mistake], capsys)


def test_each_mistake_gets_its_own_message(capsys):
    assert shared_messages(MISTAKES, capsys) == []


@pytest.mark.parametrize("name", ["value_mul", "topological_order", "unbroadcast", "matmul_vjp"])
def test_skeletons_exceptions_and_a_forgotten_return(name, capsys):
    def skeleton(*args):
        # your code here
        raise NotImplementedError

    def no_return(*args):
        result = len(args)   # noqa: F841 (computed, never returned)

    checker = getattr(check, name)
    ok, out = run(checker, skeleton, capsys)
    assert ok is False and out == check.NOT_DONE.format(name=name) + "\n"
    ok, out = run(checker, no_return, capsys)
    assert ok is False and "forget the `return`" in out, out
