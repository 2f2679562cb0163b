"""The checkers of notebook 12: automatic differentiation."""

from __future__ import annotations

import numpy as np

from ..autograd import Value, topological_order as _topological_order, unbroadcast as _unbroadcast
from ._core import _describe, _properties, _rng, _run, against


# --- Value's multiplication --------------------------------------------------------------------------

UPSTREAM = 2.0        # out.grad in every case: a factor the learner's backward must carry


def _mul_case(a, b, a_grad=0.0, b_grad=0.0, same=False):
    a, b = Value(a), Value(b)
    a.grad, b.grad = a_grad, b_grad
    return (a, a) if same else (a, b)


def _mul_variant(bug):
    """Value's multiplication with one bug switched on; returns (out.data, a.grad, b.grad) after one
    backward step from out.grad = UPSTREAM."""
    def run(a, b):
        out = Value(a.data * b.data, (a, b), "*")

        def _backward():
            da = {"not swapped": a.data, "no out.grad": b.data}.get(bug, b.data * out.grad)
            db = {"not swapped": b.data, "no out.grad": a.data}.get(bug, a.data * out.grad)
            if bug == "not swapped":
                da, db = da * out.grad, db * out.grad
            if bug == "=":
                a.grad = da
                b.grad = db
            else:
                a.grad += da
                b.grad += db
        if bug != "no closure":
            out._backward = _backward
        out.grad = UPSTREAM
        out._backward()
        return out.data, a.grad, b.grad
    return run


def _mul_outcome(out, args):
    """What the learner's ``out`` does in a backward step: (out.data, a.grad, b.grad), reading a and b
    among ``out._parents`` (the checker's copies) by their values; a string says what is wrong instead."""
    if not isinstance(out, Value):
        return (f"returned {_describe(out)}; expected out, the Value that holds a.data * b.data (a Value, so "
                f"that the graph goes on through it)")
    by_value = {p.data: p for p in out._parents if isinstance(p, Value)}
    if args[0].data not in by_value or args[1].data not in by_value:
        return ("the output does not record its inputs: pass a and b as its parents (the second argument of "
                "Value), or topological_order, and with it backward(), never reaches them")
    a, b = by_value[args[0].data], by_value[args[1].data]
    out.grad = UPSTREAM
    out._backward()
    return out.data, a.grad, b.grad


def value_mul(fn) -> bool:
    """``fn(a, b)``: ``out = a * b`` as a Value whose ``_backward`` adds ``b.data * out.grad`` into
    ``a.grad`` and ``a.data * out.grad`` into ``b.grad``."""
    cases = [("a = 3, b = -2 (out.grad = 2)", _mul_case(3.0, -2.0)),
             ("a * a, the same Value twice (a = 1.5, out.grad = 2)", _mul_case(1.5, 1.5, same=True)),
             ("a = 0.5 that already holds a gradient of 4 from another use, b = 3", _mul_case(0.5, 3.0, 4.0, -1.0))]
    mistakes = [
        (_mul_variant("="), "the gradient is assigned with `=` instead of added with `+=`: a node used twice "
                            "(a * a, or a that feeds two operations) must get the sum of both contributions, "
                            "and `=` keeps only the last one"),
        (_mul_variant("not swapped"), "each input gets its own value as its local derivative: d(ab)/da is b, "
                                      "the OTHER factor, so a.grad gets b.data * out.grad and b.grad gets "
                                      "a.data * out.grad"),
        (_mul_variant("no out.grad"), "the factor out.grad is missing: the chain rule multiplies the local "
                                      "derivative by the gradient that arrives from above, dJ/da += b * dJ/d(out)"),
        (_mul_variant("no closure"), "the closure is never attached to out: backward() calls out._backward, "
                                     "which is still the do-nothing default of a new Value"),
    ]
    reference = _mul_variant(None)
    diagnose_values = against(reference, mistakes)

    def diagnose(got, args, error=None):
        if error is not None:
            return None
        outcome = _mul_outcome(got, args)
        return outcome if isinstance(outcome, str) else diagnose_values(outcome, args)

    return _run("value_mul", fn, cases, diagnose, "Value.__mul__ (out.data, a.grad, b.grad after a backward step)")


# --- a topological order -----------------------------------------------------------------------------

class _Node(Value):
    """A Value that a checker's copy leaves as it is (the order must hold these very nodes)."""

    def __deepcopy__(self, memo):
        return self


def _graph(kind):
    """The root of a small graph (names in ``label``), made of _Node."""
    def node(label, data, parents=()):
        v = _Node(data, parents)
        v.label = label
        return v
    if kind == "reuse":          # a = 1; b = a + a; c = b + b
        a = node("a", 1.0)
        b = node("b", 2.0, (a, a))
        return node("c", 4.0, (b, b))
    if kind == "diamond":        # x feeds u and v, both feed y; w (equal to u) also feeds y
        x = node("x", 2.0)
        u, v = node("u", 4.0, (x,)), node("v", 3.0, (x,))
        w = node("w", 4.0)
        s = node("s", 7.0, (u, v))
        return node("y", 28.0, (s, w))
    x = node("x0", 0.0)              # a chain of 3,000: far past Python's recursion limit
    for i in range(1, 3001):
        x = node(f"x{i}", 0.0, (x,))
    return x


def _order_problem(fn, got, args):
    root = args[0]
    if not isinstance(got, (list, tuple)):
        return f"returned {_describe(got)}; expected a list of the nodes"
    nodes = _topological_order(root)
    ids = [id(n) for n in got]
    repeated = [n for i, n in enumerate(got) if id(n) in ids[:i]]
    if repeated:
        return (f"node {getattr(repeated[0], 'label', '?')} appears {ids.count(id(repeated[0]))} times: a "
                f"node reached along two paths is visited twice. Keep a set of the nodes already visited, and "
                f"skip a node that is in it")
    missing = [n for n in nodes if id(n) not in ids]
    if missing:
        equal = [n for n in missing if any(m.data == n.data for m in got)]
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
    if _first_early(got[::-1]) is None:
        return ("the order is reversed: the root comes first. topological_order lists every node after its "
                "inputs, the root last; backward() is what walks it from the end")
    node, parent = early
    return (f"node {node.label} comes before its input {parent.label}: a node is appended when it is first "
            f"reached, before its inputs. Append a node only after all of its inputs are in the list "
            f"(after the loop over its parents)")


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
             ("a chain of 3,000 operations", (_graph("chain"),))]
    return _run("topological_order", fn, cases, _order_diagnose(fn, _order_problem),
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
    return _run("unbroadcast", fn, cases, against(_unbroadcast, mistakes), "nn_helpers.autograd.unbroadcast")


# --- matmul's vector-Jacobian product ----------------------------------------------------------------

def _matmul_case(n, m, p, seed):
    rng = _rng(seed)
    return rng.normal(size=(n, m)), rng.normal(size=(m, p)), rng.normal(size=(n, p))


def matmul_vjp(fn) -> bool:
    """``fn(A, B, G)``: ``(dA, dB)`` for ``C = A @ B`` with upstream gradient ``G = dJ/dC``: ``dA = G B^T``,
    ``dB = A^T G``."""
    cases = [("A, B, G all 3 x 3", _matmul_case(3, 3, 3, 0)),
             ("A (4, 3), B (3, 2), G (4, 2)", _matmul_case(4, 3, 2, 1)),
             ("A (1, 5), B (5, 3), G (1, 3): a batch of one", _matmul_case(1, 5, 3, 2))]
    mistakes = [
        (lambda A, B, G: (G @ B, A @ G), "the transposes are missing: dA = G B^T and dB = A^T G; the shapes "
                                         "tell where: dA must be (n, m) like A, from G (n, p) and B (m, p)"),
        (lambda A, B, G: (B.T @ G, G @ A.T), "the transposed factor is on the wrong side of G: A sits left of B "
                                             "in C = A B, so in dA = G B^T the B^T stands right of G, and in "
                                             "dB = A^T G the A^T stands left of G"),
        (lambda A, B, G: (G.T @ B, A @ G.T), "the transposes are swapped: the transpose belongs on the other "
                                             "factor (B^T in dA = G B^T, A^T in dB = A^T G), not on G"),
        (lambda A, B, G: (A.T @ G, G @ B.T), "the results are swapped: dA pairs G with the OTHER factor B "
                                             "(dA = G B^T), and dB pairs it with A (dB = A^T G)"),
        (lambda A, B, G: (B @ G.T, G.T @ A), "both results are transposed: G^T A is (A^T G)^T; each gradient "
                                             "has its matrix's shape, dA like A (n, m), dB like B (m, p)"),
    ]
    reference = lambda A, B, G: (G @ B.T, A.T @ G)
    return _run("matmul_vjp", fn, cases, against(reference, mistakes), "(G @ B.T, A.T @ G)")
