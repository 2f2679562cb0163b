"""The checkers of notebook 12: automatic differentiation.

A checker of an operation (``value_mul``, ``tensor_max``) runs the learner's function on its own inputs, sets
``out.grad`` to an upstream gradient G, calls the closure ``out._backward()`` once, and reads what arrived in
the inputs' ``.grad``; it names each item it reads (``a.grad``, ``b.grad``, ``out.data``), never "item 1".
An operation built from the engine's own (``a * b``, ``a.max(axis)``) is recognised by its closure's code.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import types

import numpy as np

from ..autograd import Tensor, Value, topological_order as _topological_order, unbroadcast as _unbroadcast
from ._core import _describe, _properties, _rng, _run, against


def _run_in_one_write(*args):
    """``_run``, its printout written in one piece: a kernel's output thread can otherwise split a verdict
    between its text and its newline after a checker that built thousands of nodes (two stream outputs)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        ok = _run(*args)
    sys.stdout.write(buffer.getvalue())
    return ok


# --- what both operation checkers share ------------------------------------------------------------

def _codes(cls) -> set:
    """The code objects of every function defined in ``cls``'s methods (its closures), at any depth."""
    found = set()

    def walk(code):
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                found.add(const)
                walk(const)
    for attr in vars(cls).values():
        fn = getattr(attr, "fget", attr)
        if isinstance(fn, types.FunctionType):
            walk(fn.__code__)
    return found


def _engine_closure(out, cls) -> bool:
    """Is ``out``'s closure one the engine wrote (``a * b`` or ``a.max(axis)`` called the engine's)?"""
    code = getattr(getattr(out, "_backward", None), "__code__", None)
    return code is not None and code in _codes(cls) and code.co_name == "_backward"


def _closure_missing(out, cls) -> bool:
    """Is ``out._backward`` still the do-nothing default that ``__init__`` gives every new node?"""
    code = getattr(getattr(out, "_backward", None), "__code__", None)
    return code is not None and code in _codes(cls) and code.co_name == "<lambda>"


def _structure(out, cls, own_op: str, build: str):
    """What is wrong with ``out`` before its numbers are read (a string), or None."""
    if not isinstance(out, cls):
        return (f"returned {_describe(out)}; expected out, the {cls.__name__} that holds the result (a "
                f"{cls.__name__}, so that the graph goes on through it)")
    if not callable(getattr(out, "_backward", None)):
        return (f"the closure is not attached: out._backward is {getattr(out, '_backward', None)!r}, not a function. "
                f"Attach the closure itself "
                f"(out._backward = _backward, no parentheses); with them, the closure runs once at once and "
                f"out._backward gets what it returned")
    if _engine_closure(out, cls):
        return (f"this out was made by one of the engine's own operations (as {own_op}), so its closure is the engine's, not "
                f"yours. Build out yourself ({build}) and write its _backward")
    if _closure_missing(out, cls):
        return ("the closure is never attached to out: backward() calls out._backward, which is still the "
                f"do-nothing default of a new {cls.__name__}. Assign your function to out._backward")
    return None


def _error_cause(error) -> str | None:
    """The likely cause of an exception raised while the learner's function builds out, or None."""
    if isinstance(error, TypeError) and "not iterable" in str(error):
        return ("the parents must be a tuple: (a, b), or (a,) with its comma for one input; (a) is just a, "
                "and a Value or a Tensor cannot be iterated over")
    return None


def _overwrites_upstream(out, upstream):
    """A message when the learner's closure changed out.grad (G is read, never written), else None."""
    before = np.array(upstream, dtype=float)
    after = np.asarray(out.grad, dtype=float)
    if after.shape == before.shape and np.allclose(after, before):
        return None
    shown = f"{float(after):g}" if after.size == 1 else f"an array of shape {after.shape}"
    return (f"your closure changes out.grad (it was set to {f'{float(before):g}' if before.size == 1 else 'G'}, and "
            f"is {shown} after it ran): out.grad is G, what arrives from above; the closure reads it and adds "
            f"into the inputs' .grad, it never assigns out.grad")


# --- Value's multiplication --------------------------------------------------------------------------

UPSTREAM = 2.0        # out.grad in every case: a factor the learner's backward must carry


def _mul_case(a, b, a_grad=0.0, b_grad=0.0, same=False):
    a, b = Value(a), Value(b)
    a.grad, b.grad = a_grad, b_grad
    return (a, a) if same else (a, b)


# Each mistake as the closure a learner writes: body(a, b, out) runs in place of the right one.
def _right(a, b, out):
    a.grad += b.data * out.grad
    b.grad += a.data * out.grad


def _assigned(a, b, out):
    a.grad = b.data * out.grad
    b.grad = a.data * out.grad


def _not_swapped(a, b, out):
    a.grad += a.data * out.grad
    b.grad += b.data * out.grad


def _no_upstream(a, b, out):
    a.grad += b.data
    b.grad += a.data


def _grad_for_data(a, b, out):
    a.grad += b.grad * out.grad
    b.grad += a.grad * out.grad


def _as_addition(a, b, out):
    a.grad += out.grad
    b.grad += out.grad


def _only_a(a, b, out):
    a.grad += b.data * out.grad


def _mul_variant(body):
    """Value's multiplication with ``body`` as its closure; returns (out.data, a.grad, b.grad) after one
    backward step from out.grad = UPSTREAM."""
    def run(a, b):
        out = Value(a.data * b.data, (a, b), "*")
        out._backward = lambda: body(a, b, out)
        out.grad = UPSTREAM
        out._backward()
        return out.data, a.grad, b.grad
    return run


MUL_MISTAKES = [
    (_mul_variant(_assigned), "the gradient is assigned with `=` instead of added with `+=`: a node used twice "
                              "(a * a, or a that feeds two operations) must get the sum of both contributions, "
                              "and `=` keeps only the last one"),
    (_mul_variant(_not_swapped), "each input gets its own value as its local derivative: d(ab)/da is b, the "
                                 "OTHER factor, so a.grad gets b.data * out.grad and b.grad gets a.data * out.grad"),
    (_mul_variant(_no_upstream), "the factor out.grad is missing: the chain rule multiplies the local derivative "
                                 "by the gradient that arrives from above, dJ/da += b * dJ/d(out)"),
    (_mul_variant(_grad_for_data), "the closure multiplies by the other input's .grad where its .data belongs: "
                                   "the local derivative d(ab)/da is the VALUE of b (b.data); b.grad is b's own "
                                   "gradient, still being summed"),
    (_mul_variant(_as_addition), "the closure passes out.grad on unchanged, as addition's does: for a product "
                                 "each input's share is out.grad times its local derivative, the other factor"),
    (_mul_variant(_only_a), "nothing is added into b.grad: the closure must add a share into BOTH inputs' .grad"),
]


def _mul_outcome(out, args):
    """What the learner's ``out`` does in a backward step: (out.data, a.grad, b.grad), reading a and b
    among ``out._parents`` (the checker's copies) by their values; a string says what is wrong instead."""
    problem = _structure(out, Value, "a * b runs Value.__mul__", "out = Value(data, (a, b))")
    if problem:
        return problem
    by_value = {p.data: p for p in out._parents if isinstance(p, Value)}
    if args[0].data not in by_value or args[1].data not in by_value:
        return ("the output does not record its inputs: pass a and b as its parents (the second argument of "
                "Value), or topological_order, and with it backward(), never reaches them")
    a, b = by_value[args[0].data], by_value[args[1].data]
    out.grad = UPSTREAM
    out._backward()
    return _overwrites_upstream(out, UPSTREAM) or (out.data, a.grad, b.grad)


def _mul_difference(got, args) -> str | None:
    """Which of out.data, a.grad, b.grad differs from the right one, by name."""
    a, b = args
    expected = _mul_variant(_right)(*_fresh(args))
    names = ("out.data", "a.grad", "b.grad") if a is not b else ("out.data", "a.grad", "a.grad")
    formulas = ("a.data * b.data", f"{a.grad:g} (what it held) + b.data * out.grad",
                f"{b.grad:g} (what it held) + a.data * out.grad")
    for name, g, e, formula in zip(names, got, expected, formulas):
        if not np.isclose(g, e, rtol=1e-9, atol=1e-12):
            return f"after the backward step, {name} is {g:g}; expected {e:g} = {formula}"
    return None


def value_mul(fn) -> bool:
    """``fn(a, b)``: ``out = a * b`` as a Value whose ``_backward`` adds ``b.data * out.grad`` into
    ``a.grad`` and ``a.data * out.grad`` into ``b.grad``."""
    cases = [("a = 3, b = -2 (out.grad = 2)", _mul_case(3.0, -2.0)),
             ("a * a, the same Value twice (a = 1.5, out.grad = 2)", _mul_case(1.5, 1.5, same=True)),
             ("a = 0.5 that already holds a gradient of 4 from another use, b = 3 that holds -1",
              _mul_case(0.5, 3.0, 4.0, -1.0))]

    def diagnose(got, args, error=None):
        if error is not None:
            return _error_cause(error)
        outcome = _mul_outcome(got, args)
        if isinstance(outcome, str):
            return outcome
        if _mul_difference(outcome, args) is None:
            return None
        for variant, message in MUL_MISTAKES:
            if np.allclose(outcome, variant(*_fresh(args)), rtol=1e-9, atol=1e-12):
                return message
        return _mul_difference(outcome, args)

    return _run_in_one_write("value_mul", fn, cases, diagnose, "Value.__mul__ (out.data, a.grad, b.grad after a backward step)")


def _fresh(args):
    """New Values with the same data and gradients as ``args`` (the same one twice when they are)."""
    a = Value(args[0].data)
    a.grad = args[0].grad
    if args[1] is args[0]:
        return a, a
    b = Value(args[1].data)
    b.grad = args[1].grad
    return a, b


# --- a topological order -----------------------------------------------------------------------------

class _Node(Value):
    """A Value that a checker's copy leaves as it is (the order must hold these very nodes)."""

    def __deepcopy__(self, memo):
        return self


def _node(label, data, parents=()):
    v = _Node(data, parents)
    v.label = label
    return v


def _two_paths():
    """Notebook 12's J = b + 2b with b = a * a, a = 3, built by the engine (closures and all): a wrong order
    gives a wrong dJ/da (18 is right)."""
    a = Value(3.0)
    b = a * a
    c = b * 2.0
    J = b + c
    for node, label in ((a, "a"), (b, "b"), (c, "c = 2b"), (c._parents[1], "the constant 2"), (J, "J")):
        node.__class__ = _Node
        node.label = label
    return J


def _random_graphs(count=300, seed=12):
    """``count`` random small graphs (2-4 leaves, 3-7 operations of one or two inputs, an input possibly
    used twice), as the inputs of one root, so that one call orders them all."""
    rng = _rng(seed)
    roots = []
    for g in range(count):
        nodes = [_node(f"g{g}.x{i}", float(i)) for i in range(rng.integers(2, 5))]
        for j in range(rng.integers(3, 8)):
            parents = tuple(nodes[k] for k in rng.integers(0, len(nodes), size=rng.integers(1, 3)))
            nodes.append(_node(f"g{g}.v{j}", float(len(nodes)), parents))
        roots.append(nodes[-1])
    return _node("root", 0.0, tuple(roots))


def _graph(kind):
    """The root of a small graph (names in ``label``), made of _Node."""
    if kind == "reuse":          # a = 1; b = a + a; c = b + b
        a = _node("a", 1.0)
        b = _node("b", 2.0, (a, a))
        return _node("c", 4.0, (b, b))
    if kind == "diamond":        # x feeds u and v, both feed y; w (equal to u) also feeds y
        x = _node("x", 2.0)
        u, v = _node("u", 4.0, (x,)), _node("v", 3.0, (x,))
        w = _node("w", 4.0)
        s = _node("s", 7.0, (u, v))
        return _node("y", 28.0, (s, w))
    if kind == "two paths":
        return _two_paths()
    if kind == "random":
        return _random_graphs()
    x = _node("x0", 0.0)              # a chain of 3,000: far past Python's recursion limit
    for i in range(1, 3001):
        x = _node(f"x{i}", 0.0, (x,))
    return x


# The wrong orders learners write, each as it would be written (the parents pushed in both orders, so that
# either way of writing the loop is recognised).
def _distances(root) -> dict:
    """id(node) -> the length of the shortest path from ``root`` down to the node (breadth-first)."""
    distance, frontier = {id(root): 0}, [root]
    while frontier:
        following = []
        for node in frontier:
            for p in node._parents:
                if id(p) not in distance:
                    distance[id(p)] = distance[id(node)] + 1
                    following.append(p)
        frontier = following
    return distance


def _visited_when_pushed(root, flip=False):
    order, visited, stack = [], {root}, [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        stack.append((node, True))
        for p in (reversed(node._parents) if flip else node._parents):
            if p not in visited:
                visited.add(p)
                stack.append((p, False))
    return order


BREADTH_FIRST = (
    "this is a breadth-first order, reversed. A breadth-first search meets a node at its SHORTEST distance "
    "from the root, but a node must come after every node that uses it, the farthest included: in "
    "J = b + 2b, b is met straight from J, before c = 2b, so the reversed list puts c before its input b. "
    "Search depth-first, and append a node only once all of its inputs are in the list")
VISITED_WHEN_PUSHED = (
    "nodes are marked visited when they are pushed, not when they are expanded: b is pushed from J, then "
    "c = 2b finds it already marked and finishes first, so c comes before its input b. Mark a node (and "
    "skip one already marked) when it comes off the stack to have its inputs pushed")


def _backward_along(order, root):
    """dJ/da on the two-paths graph when backward() walks ``order`` (reversed)."""
    nodes = _topological_order(root)
    for n in nodes:
        n.grad = 0.0
    root.grad = 1.0
    for n in reversed(order):
        n._backward()
    return next(n for n in nodes if getattr(n, "label", "") == "a").grad


def _order_problem(fn, got, args):
    root = args[0]
    if not isinstance(got, (list, tuple)):
        return f"returned {_describe(got)}; expected a list of the nodes"
    stranger = next((n for n in got if not isinstance(n, Value)), None)
    if stranger is not None:
        return (f"the list holds {_describe(stranger)}; expected the nodes themselves (the Values, as in "
                f"node._parents), not their data or labels: backward() calls each node's _backward")
    nodes = _topological_order(root)
    ids = [id(n) for n in got]
    seen, repeated = set(), []
    for n in got:
        if id(n) in seen:
            repeated.append(n)
        seen.add(id(n))
    if repeated:
        return (f"node {getattr(repeated[0], 'label', '?')} appears {ids.count(id(repeated[0]))} times: a "
                f"node reached along two paths is visited twice. Keep a set of the nodes already visited, and "
                f"skip a node that is in it")
    missing = [n for n in nodes if id(n) not in seen]
    if missing:
        values = {getattr(m, "data", None) for m in got}
        equal = [n for n in missing if n.data in values]
        if equal:
            return (f"node {equal[0].label} is missing, and another node has its value {equal[0].data:g}: the "
                    f"visited set holds values (node.data), so two different nodes of equal value count as one. "
                    f"Put the nodes themselves into the set")
        return f"{len(missing)} of the {len(nodes)} nodes are missing, for example {missing[0].label}"
    if len(got) != len(nodes):
        return f"the list holds {len(got)} items; the graph has {len(nodes)} nodes"
    early = _first_early(got)
    if early is None:
        return None
    effect = ""
    if getattr(root, "label", "") == "J":
        effect = f" (with this order, backward() gives dJ/da = {_backward_along(got, root):g}, not 18)"
    if _first_early(got[::-1]) is None:
        return ("the order is reversed: the root comes first. topological_order lists every node after its "
                "inputs, the root last; backward() is what walks it from the end" + effect)
    distance = _distances(root)
    if all(distance[id(n)] >= distance[id(m)] for n, m in zip(got, got[1:])):
        return BREADTH_FIRST + effect
    if any([id(n) for n in _visited_when_pushed(root, flip)] == ids for flip in (False, True)):
        return VISITED_WHEN_PUSHED + effect
    node, parent = early
    leaves = sum(1 for n in nodes if not n._parents)
    if all(not n._parents for n in got[:leaves]):
        return (f"the leaves come first, which is fine, but then node {node.label} comes before its input "
                f"{parent.label}: an operation must still come after every operation it reads. Let a "
                f"depth-first search decide the order of every node, leaves included" + effect)
    return (f"node {node.label} comes before its input {parent.label}: a node is appended when it is first "
            f"reached, before its inputs. Append a node only after all of its inputs are in the list "
            f"(after the loop over its parents)" + effect)


def _first_early(order):
    """The first (node, input) pair where the input comes after the node, or None."""
    position = {id(n): i for i, n in enumerate(order)}
    for n in order:
        for p in n._parents:
            if position[id(p)] > position[id(n)]:
                return n, p
    return None


def _order_diagnose(fn, check_result):
    properties = _properties(fn, check_result)

    def diagnose(got, args, error=None):
        if isinstance(error, RecursionError):
            return ("a recursive walk goes one call deeper per node, and this chain is 3,000 nodes long, past "
                    "Python's limit. Keep the nodes still to visit in a list of your own (a stack), with a flag "
                    "for 'its inputs are done'")
        return properties(got, args, error)
    return diagnose


def topological_order(fn) -> bool:
    """``fn(root)``: every node ``root`` depends on (through ``_parents``), each once, each after its inputs."""
    cases = [("a diamond: x feeds u and v, which feed y, with w (equal in value to u)", (_graph("diamond"),)),
             ("a = 1; b = a + a; c = b + b (b used twice)", (_graph("reuse"),)),
             ("J = b + 2b with b = a * a (the notebook's two_paths_graph)", (_graph("two paths"),)),
             ("300 random small graphs (the inputs of one root)", (_graph("random"),)),
             ("a chain of 3,000 operations", (_graph("chain"),))]
    return _run_in_one_write("topological_order", fn, cases, _order_diagnose(fn, _order_problem),
                "nn_helpers.autograd.topological_order (each node once, after its inputs)")


# --- unbroadcast -------------------------------------------------------------------------------------

def _unbroadcast_case(grad_shape, shape, seed):
    return _rng(seed).normal(size=grad_shape), tuple(shape)


def _sum_leading(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    return grad


def _unbroadcast_variant(bug):
    """unbroadcast with one bug switched on."""
    def run(grad, shape):
        if bug == "trailing":        # the shapes lined up from the left
            while grad.ndim > len(shape):
                grad = grad.sum(axis=-1)
            return grad
        if bug == "axis 0":
            return grad.sum(axis=0)
        if bug == "size-1 only":
            return grad.sum(axis=tuple(i for i, size in enumerate(shape) if size == 1), keepdims=True)
        grad = _sum_leading(grad, shape)
        if bug == "leading only":
            return grad
        axes = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
        return grad.sum(axis=axes) if axes else grad      # "no keepdims"
    return run


def _mean_variant(grad, shape):
    """The copies averaged instead of summed."""
    grad = grad.mean(axis=tuple(range(grad.ndim - len(shape))))
    axes = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.mean(axis=axes, keepdims=True) if axes else grad


def unbroadcast(fn) -> bool:
    """``fn(grad, shape)``: ``grad`` summed down to ``shape``, the shape of an input that was broadcast."""
    cases = [("a gradient (4, 3) for a bias of shape (3,)", _unbroadcast_case((4, 3), (3,), 0)),
             ("a gradient (4, 3) for a column of shape (4, 1)", _unbroadcast_case((4, 3), (4, 1), 1)),
             ("a gradient (4, 3) for a row of shape (1, 3)", _unbroadcast_case((4, 3), (1, 3), 2)),
             ("a gradient (2, 3, 4) for shape (3, 1)", _unbroadcast_case((2, 3, 4), (3, 1), 3)),
             ("a gradient (4, 3) for a number, shape ()", _unbroadcast_case((4, 3), (), 4)),
             ("a gradient (4, 3) for an input of the same shape (nothing to sum)", _unbroadcast_case((4, 3), (4, 3), 5))]
    mistakes = [
        (_unbroadcast_variant("no keepdims"), "a size-1 axis is not kept: an input of shape (4, 1) was stretched "
                                              "along its axis of size 1; sum over that axis with keepdims=True, so "
                                              "the result keeps the input's shape"),
        (_unbroadcast_variant("leading only"), "only the prepended axes are summed: an axis of size 1 in shape "
                                               "was stretched too (a (1, 3) row added to every row of a (4, 3)), "
                                               "so sum over it as well"),
        (_unbroadcast_variant("trailing"), "the sum is over the wrong axes, the last ones: broadcasting lines the "
                                           "shapes up from the RIGHT, so the axes it prepended, the ones to sum "
                                           "away, are the leading ones (axis 0, ...)"),
        (_unbroadcast_variant("axis 0"), "the sum is always over axis 0, the rows: which axes to sum depends on "
                                         "shape, the axes broadcasting prepended and those of size 1 in shape"),
        (_unbroadcast_variant("size-1 only"), "the prepended axes are not summed: an input of shape (3,) added to a "
                                              "(4, 3) was lined up on the right and copied along a new leading "
                                              "axis; sum that axis away too (it is not in shape, so no keepdims)"),
        (_mean_variant, "the copies are averaged: every stretched copy of an entry sent back its full gradient, "
                        "so the entry's gradient is their sum, not their mean"),
    ]
    return _run_in_one_write("unbroadcast", fn, cases, against(_unbroadcast, mistakes), "nn_helpers.autograd.unbroadcast")


# --- a new operation: max along an axis --------------------------------------------------------------

def _max_case(shape, axis, seed, ties=False, held=False):
    """A tensor ``a`` (requires_grad) and the axis."""
    rng = _rng(seed)
    data = np.maximum(rng.integers(-2, 3, size=shape), 0).astype(float) if ties else rng.normal(size=shape)
    a = Tensor(data, requires_grad=True)
    if held:
        a.grad = rng.normal(size=shape)              # a gradient from another use of a, already there
    return a, axis


def _upstream(a, axis):
    """The G the checker sets as out.grad: out's shape, no zeros, all different (made from the shape)."""
    shape = tuple(np.delete(np.array(a.shape), axis))
    rng = _rng(sum(a.shape) + 7 * axis)
    return rng.choice([-1, 1], size=shape) * rng.uniform(0.5, 2.0, size=shape)


def _max_masks(data, axis):
    """The first maximum of each slice (notebook 11's rule), every tied maximum, and the last one."""
    top = data.max(axis=axis, keepdims=True)
    tied = (data == top).astype(float)
    first = np.zeros_like(data)
    np.put_along_axis(first, np.expand_dims(data.argmax(axis=axis), axis), 1.0, axis)
    flipped = np.flip(data, axis)
    last = np.zeros_like(data)
    np.put_along_axis(last, np.expand_dims(data.shape[axis] - 1 - flipped.argmax(axis=axis), axis), 1.0, axis)
    return first, tied, last


def _finite_differences(data, axis, G, h=1e-6):
    """dJ/da for J = sum(G * max(a, axis)) by central differences (right where no slice has a tie)."""
    grad = np.zeros_like(data)
    for q in np.ndindex(data.shape):
        plus, minus = data.copy(), data.copy()
        plus[q] += h
        minus[q] -= h
        grad[q] = (np.sum(G * plus.max(axis=axis)) - np.sum(G * minus.max(axis=axis))) / (2 * h)
    return grad


def _max_outcome(out, args):
    """(out.data, a.grad after one backward step from out.grad = G), or a string saying what is wrong."""
    a_in, axis = args
    G = _upstream(a_in, axis)
    problem = _structure(out, Tensor, "a.max(axis) runs Tensor.max", "out = a._result(data, (a,), \"max\")")
    if problem:
        return problem
    expected = a_in.data.max(axis=axis)
    data = np.asarray(out.data)
    if data.shape != expected.shape:
        kept = np.expand_dims(expected, axis)
        if data.shape == kept.shape:
            return (f"the result out has shape {data.shape}: the axis is kept (keepdims). max removes it, as np.max does: "
                    f"expected {expected.shape}, so that G has that shape too")
        return f"the result out has shape {data.shape}; expected {expected.shape}, a's shape {a_in.shape} without axis {axis}"
    if not np.allclose(data, expected):
        for other in range(a_in.data.ndim):
            if other != axis % a_in.data.ndim and a_in.data.max(axis=other).shape == data.shape \
                    and np.allclose(a_in.data.max(axis=other), data):
                return f"the result out.data is the maximum along axis {other}; expected along axis {axis}"
        return "the result out.data is not the largest entry along axis (np.max(a.data, axis=axis))"
    parents = [p for p in out._parents if isinstance(p, Tensor) and p.shape == a_in.shape
               and np.array_equal(p.data, a_in.data)]
    if not parents:
        return ("the output does not record its input: pass (a,) as its parents, or backward() never reaches a "
                "and its .grad stays as it was")
    if not getattr(out, "requires_grad", False):
        return ("the result out does not require a gradient (requires_grad is False), so backward() cannot hand it one: "
                "make out with a._result(data, (a,), \"max\"), which sets it when a needs a gradient")
    a = parents[0]
    held = None if a.grad is None else np.array(a.grad, dtype=float)
    out.grad = G.copy()
    out._backward()
    problem = _overwrites_upstream(out, G)
    if problem:
        return problem
    if a.grad is None:
        return "nothing reached a.grad (it is still None): add the gradient into a.grad (a._add_grad does it)"
    return data, np.asarray(a.grad, dtype=float) - (0 if held is None else held), held, a.grad


def _max_diagnosis(got, args):
    """None when a.grad got G at each slice's first maximum (or split evenly among tied maxima), else what is
    wrong, by name."""
    a, axis = args
    G = _upstream(a, axis)
    _, added, held, total = got
    Gx = np.expand_dims(G, axis)
    first, tied, last = _max_masks(a.data, axis)
    counts = tied.sum(axis=axis, keepdims=True)
    if added.shape != a.shape:
        return f"the gradient a.grad has shape {added.shape}; expected a's shape {a.shape}"
    if not (counts > 1).any():           # no tie: finite differences are the reference
        if np.allclose(added, _finite_differences(a.data, axis, G), rtol=1e-5, atol=1e-6):
            return None
    elif np.allclose(added, first * Gx) or np.allclose(added, tied * Gx / counts):
        return None                       # notebook 11's rule, or an even split: both pass on exactly G
    if held is not None and np.any(held != 0) and np.allclose(total, first * Gx) \
            or held is not None and np.any(held != 0) and np.allclose(total, tied * Gx):
        return ("the gradient is assigned with `=`, not added: a held a gradient from another use, and the "
                "closure replaced it. Add into a.grad (+=, or a._add_grad), as every closure of the engine does")
    if np.allclose(added, tied * Gx):
        return ("at a tie, every tied maximum gets the full G, so the slice passes on G times the number of ties, "
                "while max itself only grows by G when one of them grows. Send G to one of them, the first "
                "(notebook 11's rule, as np.argmax picks it)")
    if np.allclose(added, first) or np.allclose(added, tied):
        return ("the upstream gradient is not multiplied in: the maximum gets 1 (max's local derivative), but "
                "the chain rule multiplies it by G = out.grad, what arrives from above")
    if np.allclose(added, last * Gx):
        return ("at a tie, G goes to the LAST tied maximum; notebook 11's rule (and np.argmax's) is the first")
    if np.allclose(added, first * Gx * a.data) or np.allclose(added, tied * Gx * a.data):
        return ("G is multiplied by the maximum's value: the local derivative of max with respect to the "
                "winning entry is 1, not the entry itself")
    if axis % a.data.ndim == a.data.ndim - 1 and added.ndim == 2:
        wrong = first * G[np.newaxis, :] if G.shape[0] == a.shape[1] else None
        if wrong is not None and np.allclose(added, wrong):
            return ("G is not broadcast back along the axis: out.grad has out's shape, with the axis removed, so "
                    "multiplied with an array of a's shape it lines up along the wrong axis. Put the removed axis "
                    "back (np.expand_dims(out.grad, axis)) before multiplying")
    where = np.unravel_index(np.argmax(np.abs(added - first * Gx)), a.shape)
    return (f"after the backward step, a.grad is wrong at index {tuple(int(i) for i in where)}: it got {added[where]:.4g} added, expected "
            f"{(first * Gx)[where]:.4g} (G of its slice if it is the slice's first maximum, 0 otherwise)")


def _broadcast_cause(text, a, axis) -> str:
    """Which array of the learner's closure did not line up with a, read from NumPy's message."""
    shapes = [tuple(int(n) for n in found.split(",") if n) for found in re.findall(r"\(([\d,]*)\)", text)]
    other = next((shape for shape in shapes if shape != a.shape), None)
    removed = tuple(int(n) for n in np.delete(np.array(a.shape), axis))
    kept = tuple(np.expand_dims(np.zeros(removed), axis).shape)
    if other == removed:
        return (f"an array of out's shape {removed} (out.grad, or out.data) meets one of a's shape {a.shape}: it "
                f"has lost axis {axis}, so it does not line up with a. Put the removed axis back "
                f"(np.expand_dims(..., axis) gives {kept}) before they meet")
    if other is not None and len(other) == len(a.shape):
        return (f"an array of shape {other} meets one of a's shape {a.shape}: the removed axis is put back in the "
                f"wrong place (a fixed [:, None] works for axis=1 only). np.expand_dims(..., axis) puts it back "
                f"where axis says, {kept} here")
    return f"an array does not line up with a {a.shape}: every array of the closure must have a's shape, or {kept}"


def _max_diagnose(got, args, error=None):
    if error is not None:
        text = str(error)
        if isinstance(error, ValueError) and "broadcast" in text:
            return _broadcast_cause(text, *args)
        return _error_cause(error)
    outcome = _max_outcome(got, args)
    return outcome if isinstance(outcome, str) else _max_diagnosis(outcome, args)


def tensor_max(fn) -> bool:
    """``fn(a, axis)``: ``out = a.max(axis)`` as a Tensor whose ``_backward`` adds G (``out.grad``, put back
    along ``axis``) into ``a.grad`` at each slice's maximum (the first at a tie, or split evenly), 0 elsewhere."""
    cases = [("a (4, 3), axis=1, no ties", _max_case((4, 3), 1, 0)),
             ("a (4, 3), axis=0, no ties", _max_case((4, 3), 0, 1)),
             ("a (3, 3), axis=1 (square), no ties", _max_case((3, 3), 1, 2)),
             ("a (2, 3, 4), axis=1", _max_case((2, 3, 4), 1, 3)),
             ("a (6, 4) after a ReLU, axis=1: many tied maxima (0 or 2)", _max_case((6, 4), 1, 4, ties=True)),
             ("a (1, 5): a batch of one, axis=1", _max_case((1, 5), 1, 5)),
             ("a (4, 3) that already holds a gradient from another use, axis=1", _max_case((4, 3), 1, 6, held=True))]
    return _run_in_one_write("tensor_max", fn, cases, _max_diagnose,
                "central finite differences where no slice has a tie, and notebook 11's tie rule where one has")
