"""The checkers of notebook 12 (automatic differentiation): each accepts a right answer and names each classic
mistake, written here the way a learner would write it, with a message of its own."""

import numpy as np
import pytest

from nn_helpers import check
from nn_helpers.autograd import Tensor, Value
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


def max_first(a, axis):
    out = a._result(a.data.max(axis=axis), (a,), "max")

    def _backward():
        G = np.expand_dims(out.grad, axis)
        first = np.expand_dims(a.data.argmax(axis=axis), axis)
        grad = np.zeros_like(a.data)
        np.put_along_axis(grad, first, G, axis=axis)
        a._add_grad(grad)
    out._backward = _backward
    return out


def max_split(a, axis):            # an even split among tied maxima passes on exactly G too: accepted
    out = Tensor(a.data.max(axis=axis), requires_grad=True, _parents=(a,), _op="max")

    def _backward():
        tied = a.data == np.expand_dims(out.data, axis)
        a.grad += tied / tied.sum(axis=axis, keepdims=True) * np.expand_dims(out.grad, axis)
    out._backward = _backward
    return out


RIGHT = [(check.value_mul, mul), (check.topological_order, topo_iterative),
         (check.topological_order, topo_with_two_stacks), (check.unbroadcast, unbroadcast),
         (check.tensor_max, max_first), (check.tensor_max, max_split)]


@pytest.mark.parametrize("checker, fn", RIGHT, ids=["value_mul", "topo", "topo Kahn", "unbroadcast", "max", "max split"])
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


def mul_engine(a, b):
    return a * b


def mul_grad_for_data(a, b):
    out = Value(a.data * b.data, (a, b))

    def _backward():
        a.grad += b.grad * out.grad
        b.grad += a.grad * out.grad
    out._backward = _backward
    return out


def mul_overwrites_out_grad(a, b):
    out = Value(a.data * b.data, (a, b))

    def _backward():
        out.grad = 1.0
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad
    out._backward = _backward
    return out


def mul_like_addition(a, b):
    out = Value(a.data * b.data, (a, b))

    def _backward():
        a.grad += out.grad
        b.grad += out.grad
    out._backward = _backward
    return out


def mul_only_a(a, b):
    out = Value(a.data * b.data, (a, b))

    def _backward():
        a.grad += b.data * out.grad
    out._backward = _backward
    return out


def mul_squared_upstream(a, b):      # no named mistake: the message names the item and its formula
    out = Value(a.data * b.data, (a, b))

    def _backward():
        a.grad += b.data * out.grad ** 2
        b.grad += a.data * out.grad
    out._backward = _backward
    return out


def mul_closure_called(a, b):
    out = Value(a.data * b.data, (a, b))

    def _backward():
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad
    out._backward = _backward()
    return out


def mul_parents_not_a_tuple(a, b):
    out = Value(a.data * b.data, (a))

    def _backward():
        a.grad += b.data * out.grad
    out._backward = _backward
    return out


def topo_breadth_first_reversed(root):
    order, seen, queue = [], set(), [root]
    while queue:
        node = queue.pop(0)
        if node not in seen:
            seen.add(node)
            order.append(node)
            queue.extend(node._parents)
    return order[::-1]


def topo_visited_when_pushed(root):
    order, visited, stack = [], {root}, [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        else:
            stack.append((node, True))
            for p in node._parents:
                if p not in visited:
                    visited.add(p)
                    stack.append((p, False))
    return order


def topo_leaves_first(root):         # the leaves, then in rounds every node one of whose inputs is listed
    nodes, seen, stack = [], {root}, [root]
    while stack:
        node = stack.pop()
        nodes.append(node)
        for p in node._parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    order = [n for n in nodes if not n._parents]
    rest = [n for n in nodes if n._parents]
    while rest:
        ready = [n for n in rest if any(p in order for p in n._parents)]
        order += ready
        rest = [n for n in rest if n not in ready]
    return order


def topo_of_values(root):
    return [node.data for node in topo_iterative(root)]


def two_paths_graph():        # the notebook's J = b + 2b, b = a * a
    a = Value(3.0)
    b = a * a
    return a, b + b * 2.0


def max_every_tie(a, axis):
    out = a._result(a.data.max(axis=axis), (a,), "max")

    def _backward():
        mask = a.data == np.expand_dims(out.data, axis)
        a._add_grad(mask * np.expand_dims(out.grad, axis))
    out._backward = _backward
    return out


def max_no_expand(a, axis):
    out = a._result(a.data.max(axis=axis), (a,), "max")

    def _backward():
        mask = np.zeros_like(a.data)
        np.put_along_axis(mask, np.expand_dims(a.data.argmax(axis=axis), axis), 1.0, axis=axis)
        a._add_grad(mask * out.grad)
    out._backward = _backward
    return out


def max_no_upstream(a, axis):
    out = a._result(a.data.max(axis=axis), (a,), "max")

    def _backward():
        mask = np.zeros_like(a.data)
        np.put_along_axis(mask, np.expand_dims(a.data.argmax(axis=axis), axis), 1.0, axis=axis)
        a._add_grad(mask)
    out._backward = _backward
    return out


def max_assigns(a, axis):
    out = a._result(a.data.max(axis=axis), (a,), "max")

    def _backward():
        grad = np.zeros_like(a.data)
        np.put_along_axis(grad, np.expand_dims(a.data.argmax(axis=axis), axis), np.expand_dims(out.grad, axis), axis)
        a.grad = grad
    out._backward = _backward
    return out


def max_last_tie(a, axis):
    out = a._result(a.data.max(axis=axis), (a,), "max")

    def _backward():
        flipped = np.flip(a.data, axis)
        last = a.data.shape[axis] - 1 - flipped.argmax(axis=axis)
        grad = np.zeros_like(a.data)
        np.put_along_axis(grad, np.expand_dims(last, axis), np.expand_dims(out.grad, axis), axis)
        a._add_grad(grad)
    out._backward = _backward
    return out


def max_keepdims(a, axis):
    out = a._result(a.data.max(axis=axis, keepdims=True), (a,), "max")

    def _backward():
        a._add_grad((a.data == out.data) * out.grad)
    out._backward = _backward
    return out


def max_axis_1_only(a, axis):          # out.data[:, None]: right for axis=1, not for axis=0
    out = a._result(a.data.max(axis=axis), (a,), "max")

    def _backward():
        mask = a.data == out.data[:, None]
        a._add_grad(mask * out.grad[:, None])
    out._backward = _backward
    return out


def max_no_requires_grad(a, axis):
    out = Tensor(a.data.max(axis=axis), _parents=(a,), _op="max")

    def _backward():
        grad = np.zeros_like(a.data)
        np.put_along_axis(grad, np.expand_dims(a.data.argmax(axis=axis), axis), np.expand_dims(out.grad, axis), axis)
        a._add_grad(grad)
    out._backward = _backward
    return out


def max_engine(a, axis):
    return a.max(axis)


def max_no_parents(a, axis):
    out = Tensor(a.data.max(axis=axis), requires_grad=True)

    def _backward():
        a._add_grad((a.data == np.expand_dims(out.data, axis)) * np.expand_dims(out.grad, axis))
    out._backward = _backward
    return out


def max_array(a, axis):
    return a.data.max(axis=axis)


def max_times_value(a, axis):
    out = a._result(a.data.max(axis=axis), (a,), "max")

    def _backward():
        grad = np.zeros_like(a.data)
        np.put_along_axis(grad, np.expand_dims(a.data.argmax(axis=axis), axis), np.expand_dims(out.grad * out.data, axis), axis)
        a._add_grad(grad)
    out._backward = _backward
    return out


def max_closure_not_attached(a, axis):
    out = a._result(a.data.max(axis=axis), (a,), "max")

    def _backward():
        a._add_grad((a.data == np.expand_dims(out.data, axis)) * np.expand_dims(out.grad, axis))
    return out


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
    "mul is the engine's": (check.value_mul, mul_engine, "one of the engine's own operations (as a * b runs Value.__mul__"),
    "mul with .grad for .data": (check.value_mul, mul_grad_for_data, "where its .data belongs"),
    "mul overwrites out.grad": (check.value_mul, mul_overwrites_out_grad, "your closure changes out.grad"),
    "mul like addition": (check.value_mul, mul_like_addition, "passes out.grad on unchanged"),
    "mul only into a": (check.value_mul, mul_only_a, "nothing is added into b.grad"),
    "mul unnamed": (check.value_mul, mul_squared_upstream, "a.grad is -8; expected -4"),
    "topo breadth-first reversed": (check.topological_order, topo_breadth_first_reversed,
                                    "breadth-first order, reversed"),
    "topo visited when pushed": (check.topological_order, topo_visited_when_pushed,
                                 "marked visited when they are pushed"),
    "topo of values": (check.topological_order, topo_of_values, "expected the nodes themselves"),
    "topo leaves first": (check.topological_order, topo_leaves_first, "the leaves come first"),
    "max to every tie": (check.tensor_max, max_every_tie, "every tied maximum gets the full G"),
    "max not broadcast back": (check.tensor_max, max_no_expand, "has lost axis 1"),
    "max without upstream": (check.tensor_max, max_no_upstream, "upstream gradient is not multiplied in"),
    "max with =": (check.tensor_max, max_assigns, "assigned with `=`, not added"),
    "max to the last tie": (check.tensor_max, max_last_tie, "the LAST tied maximum"),
    "max keepdims": (check.tensor_max, max_keepdims, "the axis is kept (keepdims)"),
    "mul closure called": (check.value_mul, mul_closure_called, "no parentheses"),
    "mul parents not a tuple": (check.value_mul, mul_parents_not_a_tuple, "the parents must be a tuple"),
    "max for axis 1 only": (check.tensor_max, max_axis_1_only, "put back in the wrong place"),
    "max without requires_grad": (check.tensor_max, max_no_requires_grad, "does not require a gradient"),
    "max is the engine's": (check.tensor_max, max_engine, "a.max(axis) runs Tensor.max"),
    "max without parents": (check.tensor_max, max_no_parents, "does not record its input"),
    "max as an array": (check.tensor_max, max_array, "expected out, the Tensor"),
    "max times the value": (check.tensor_max, max_times_value, "multiplied by the maximum's value"),
    "max closure not attached": (check.tensor_max, max_closure_not_attached, "never attached to out"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_checker_names_the_mistake(mistake, capsys):
    assert_named(*MISTAKES[mistake], capsys)


def test_each_mistake_gets_its_own_message(capsys):
    assert shared_messages(MISTAKES, capsys) == []


@pytest.mark.parametrize("name", ["value_mul", "topological_order", "unbroadcast", "tensor_max"])
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


@pytest.mark.parametrize("fn", [topo_breadth_first_reversed, topo_visited_when_pushed])
def test_the_wrong_orders_give_the_wrong_gradient_on_two_paths_and_the_checker_says_which(fn, capsys):
    # what the issue found: with either order, backward gives dJ/da = 6 instead of 18 on J = b + 2b
    a, J = two_paths_graph()
    J.grad = 1.0
    for node in reversed(fn(J)):
        node._backward()
    assert a.grad == 6.0
    out = assert_named(check.topological_order, fn, "dJ/da = 6, not 18", capsys)
    assert "two_paths_graph" in out


def test_an_order_that_holds_on_the_small_graphs_is_refused_on_the_random_ones(capsys):
    def leaves_then_longest_first_input(root):     # valid on the diamond, c = b + b and J = b + 2b
        nodes = topo_iterative(root)
        depth = {}
        for n in nodes:
            depth[n] = 1 + depth[n._parents[0]] if n._parents else 0
        return sorted(nodes, key=lambda n: depth[n])       # only the FIRST input's depth counts
    for _, graph in (two_paths_graph(), (None, Value(1.0) + Value(2.0))):
        order = leaves_then_longest_first_input(graph)
        position = {id(n): i for i, n in enumerate(order)}
        assert all(position[id(p)] < position[id(n)] for n in order for p in n._parents)
    out = assert_named(check.topological_order, leaves_then_longest_first_input, "comes before its input", capsys)
    assert "on 300 random small graphs" in out, out


def test_a_right_order_is_valid_on_300_random_graphs():
    from nn_helpers.check.automatic_differentiation import _first_early, _random_graphs
    root = _random_graphs()
    assert len(root._parents) == 300 and _first_early(topo_iterative(root)) is None
    assert _first_early(topo_breadth_first_reversed(root)) is not None


def test_no_message_numbers_items(capsys):
    # a.grad, b.grad and out.data are named, never "item 1"
    for checker, fn, _ in MISTAKES.values():
        if checker in (check.value_mul, check.tensor_max):
            ok, out = run(checker, fn, capsys)
            assert "item " not in out.lower() and "wrong values" not in out.lower(), out
