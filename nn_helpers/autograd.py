"""Automatic differentiation in reverse mode: the gradient of any expression built from a few operations.

Each operation computes its result ``out`` and, right beneath it, a ``_backward`` closure: given the
gradient of the loss J with respect to ``out`` (``out.grad``), it adds the gradient with respect to each
input into that input's ``.grad``. This is the chain rule, one edge at a time:

    dJ/da += dJ/d(out) * d(out)/da            (+=: a node used twice gets both contributions)

``backward()`` lists the nodes in a topological order (every node after its inputs), sets
dJ/dJ = 1, and calls ``_backward`` from the last node to the first, so a node's gradient is complete
before it is passed on to its inputs.

``Value`` holds one number (micrograd's design); ``Tensor`` holds a NumPy array, and each of its
operations has a vector-Jacobian product (VJP): with upstream gradient G = dJ/d(out),

    out = a + b      da = G,            db = G           (each summed back to its shape: unbroadcast)
    out = a * b      da = G * b,        db = G * a
    out = A @ B      dA = G @ B.T,      dB = A.T @ G
    out = a ** c     da = G * c a^(c-1)  (c a number)
    out = a.sum()    da = G broadcast back to a's shape
    out = a.max(axis) da = G at each slice's (first) maximum, 0 elsewhere
    out = im2col(X)  dX = col2im(G)      (the windows of an image as columns: a convolution for free)

As in PyTorch, gradients accumulate into the leaves (the tensors you create) across the backward passes of
separate forward passes, until you zero them (``zero_grad()``); ``no_grad()`` turns the graph off (for an
update step). Unlike PyTorch, which frees a graph's saved arrays in its backward pass (a second
``backward()`` through the same graph raises unless ``retain_graph=True``), this engine keeps the graph: a
second ``backward()`` through it starts the intermediate nodes from zero and adds the leaves' gradient once
more. The backward pass is a loop, not a recursion: a chain of thousands of operations works.

``draw_graph(J)`` draws the graph a loss was built as (each node's operation, value and gradient), and
``saved_bytes(J)`` counts the memory it holds for the backward pass: reverse mode's price.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from .conv import _col2im, _im2col, output_size

_GRAPH = {"enabled": True}


@contextlib.contextmanager
def no_grad():
    """Inside ``with no_grad():`` operations on tensors record no graph (as ``torch.no_grad()``)."""
    before = _GRAPH["enabled"]
    _GRAPH["enabled"] = False
    try:
        yield
    finally:
        _GRAPH["enabled"] = before


def topological_order(root) -> list:
    """Every node ``root`` depends on (through ``_parents``), each once, every node after its inputs,
    ``root`` last. Works for ``Value`` and ``Tensor``.

    Iterative depth-first search with an explicit stack: a node is pushed twice, first to visit its
    inputs, then (``inputs_done``) to be appended once they all are. No recursion, so no depth limit.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((parent, False) for parent in node._parents if parent not in visited)
    return order


def _backward_pass(root, seed) -> None:
    """The reverse sweep shared by Value and Tensor: intermediate gradients start from zero (so a second
    ``backward()`` adds to the leaves only once more), then each node hands its gradient to its inputs."""
    order = topological_order(root)
    for node in order:
        if node._parents:
            node.grad = node.grad * 0
    root.grad = root.grad + seed
    for node in reversed(order):
        if node._parents:          # a leaf (or a constant) has no inputs to pass a gradient on to
            node._backward()


class Value:
    """One number in a computational graph: ``data``, and ``grad`` = dJ/d(this) after ``J.backward()``.

    >>> a, b = Value(2.0), Value(-3.0)
    >>> J = a * b + a          # J = ab + a
    >>> J.backward()
    >>> a.grad, b.grad         # dJ/da = b + 1, dJ/db = a
    (-2.0, 2.0)
    """

    def __init__(self, data, _parents=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._parents = tuple(_parents)
        self._op = _op
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, c):
        if not isinstance(c, (int, float)):
            raise TypeError(f"Value ** {type(c).__name__}: the exponent must be a number (int or float); "
                            f"for a Value exponent write (b * a.log()).exp()")
        out = Value(self.data**c, (self,), f"**{c}")

        def _backward():
            self.grad += c * self.data ** (c - 1) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1 - out.data**2) * out.grad
        out._backward = _backward
        return out

    # the rest are built from the operations above, so they need no backward of their own
    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other**-1

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return (-self) + other

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return Value(other) * self**-1

    def backward(self) -> None:
        """dJ/d(node) for every node this one (J) depends on, accumulated into the leaves' ``.grad``."""
        _backward_pass(self, 1.0)

    def zero_grad(self) -> None:
        self.grad = 0.0

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` (the shape of a broadcast result) down to ``shape`` (the shape of an input).

    Broadcasting lines shapes up from the right: it prepends axes, and stretches axes of size 1. Each
    stretched copy of an entry sent its own gradient back, so the entry's gradient is their sum: sum over
    the prepended axes, and over each axis of size 1 in ``shape`` keeping it (size 1).
    ``(n, K) -> (K,)`` sums over the rows; ``(n, K) -> (n, 1)`` over the columns, keeping the axis.
    """
    shape = tuple(shape)
    grad = np.asarray(grad)
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


class Tensor:
    """A NumPy array in a computational graph: ``data`` (any shape), and ``grad`` (the same shape) =
    dJ/d(this) after ``J.backward()``, for a tensor made with ``requires_grad=True`` or computed from one.

    >>> W = Tensor(np.ones((3, 2)), requires_grad=True)
    >>> J = (Tensor(np.ones((4, 3))) @ W).relu().mean()
    >>> J.backward()
    >>> W.grad.shape
    (3, 2)
    """

    def __init__(self, data, requires_grad: bool = False, _parents=(), _op=""):
        data = np.asarray(data)
        self.data = data if np.issubdtype(data.dtype, np.floating) else data.astype(np.float64)
        self.requires_grad = bool(requires_grad)
        self.grad = np.zeros_like(self.data) if self.requires_grad else None
        self._parents = tuple(_parents)
        self._op = _op
        self._backward = lambda: None

    @property
    def shape(self) -> tuple:
        return self.data.shape

    def _result(self, data, parents, op):
        """The output of an operation: in the graph when graphs are on and an input needs a gradient."""
        needed = _GRAPH["enabled"] and any(p.requires_grad for p in parents)
        return Tensor(data, requires_grad=needed, _parents=parents if needed else (), _op=op)

    def _lift(self, other):
        return other if isinstance(other, Tensor) else Tensor(np.asarray(other, dtype=self.data.dtype))

    def _add_grad(self, g) -> None:
        if self.requires_grad:
            self.grad += unbroadcast(g, self.shape)

    def __add__(self, other):
        other = self._lift(other)
        out = self._result(self.data + other.data, (self, other), "+")

        def _backward():
            self._add_grad(out.grad)
            other._add_grad(out.grad)
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._lift(other)
        out = self._result(self.data * other.data, (self, other), "*")

        def _backward():
            self._add_grad(out.grad * other.data)
            other._add_grad(out.grad * self.data)
        out._backward = _backward
        return out

    def __matmul__(self, other):
        other = self._lift(other)
        if self.data.ndim != 2 or other.data.ndim != 2:
            raise ValueError(f"@ of shapes {self.shape} and {other.shape}: Tensor's @ takes two matrices (2-D); "
                             f"make a vector a row with .reshape(1, -1)")
        out = self._result(self.data @ other.data, (self, other), "@")

        def _backward():                                  # (a product skipped where no gradient is needed:
            if self.requires_grad:                        # the input X of a network)
                self._add_grad(out.grad @ other.data.T)   # dA = G B^T
            if other.requires_grad:
                other._add_grad(self.data.T @ out.grad)   # dB = A^T G
        out._backward = _backward
        return out

    def __pow__(self, c):
        if not isinstance(c, (int, float)):
            raise TypeError(f"Tensor ** {type(c).__name__}: the exponent must be a number (int or float)")
        out = self._result(self.data**c, (self,), f"**{c}")

        def _backward():
            self._add_grad(out.grad * c * self.data ** (c - 1))
        out._backward = _backward
        return out

    def sum(self, axis=None, keepdims: bool = False):
        out = self._result(self.data.sum(axis=axis, keepdims=keepdims), (self,), "sum")

        def _backward():
            g = out.grad if keepdims or axis is None else np.expand_dims(out.grad, axis)
            self._add_grad(np.broadcast_to(g, self.shape))   # every entry summed gets the sum's gradient
        out._backward = _backward
        return out

    def mean(self, axis=None, keepdims: bool = False):
        axes = range(self.data.ndim) if axis is None else np.atleast_1d(axis)
        count = math.prod(self.shape[a] for a in axes)
        return self.sum(axis=axis, keepdims=keepdims) * (1.0 / count)

    def max(self, axis: int):
        """The largest entry along ``axis``, that axis removed (as ``np.max``): (n, K) -> (n,) for axis=1.
        VJP: each slice's G goes to the entry that was its maximum, all others get 0; at a tie, to the
        FIRST maximum only (notebook 11's rule for max pooling, as ``np.argmax`` picks it), so that the
        slice passes on exactly G, as the max itself does when one entry moves."""
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"max(axis={axis!r}): give one axis as an int, e.g. max(axis=1) for the largest "
                            f"entry of each row")
        if not -self.data.ndim <= axis < self.data.ndim:
            raise ValueError(f"max(axis={axis}) of a tensor of shape {self.shape}: axis must be in "
                             f"[{-self.data.ndim}, {self.data.ndim - 1}]")
        first = np.expand_dims(self.data.argmax(axis=axis), axis)     # the position of each slice's maximum
        out = self._result(np.take_along_axis(self.data, first, axis).squeeze(axis), (self,), "max")

        def _backward():
            g = np.zeros_like(self.data)
            np.put_along_axis(g, first, np.expand_dims(out.grad, axis), axis)   # G back along the axis
            self._add_grad(g)
        out._backward = _backward
        return out

    def relu(self):
        out = self._result(np.maximum(self.data, 0), (self,), "relu")

        def _backward():
            self._add_grad(out.grad * (self.data > 0))
        out._backward = _backward
        return out

    def exp(self):
        out = self._result(np.exp(self.data), (self,), "exp")

        def _backward():
            self._add_grad(out.grad * out.data)
        out._backward = _backward
        return out

    def log(self):
        out = self._result(np.log(self.data), (self,), "log")

        def _backward():
            self._add_grad(out.grad / self.data)
        out._backward = _backward
        return out

    def reshape(self, *shape):
        out = self._result(self.data.reshape(*shape), (self,), "reshape")

        def _backward():
            self._add_grad(out.grad.reshape(self.shape))
        out._backward = _backward
        return out

    def transpose(self, *axes):
        """The axes permuted, as ``np.transpose`` (all reversed when none are given); the VJP permutes back."""
        axes = tuple(axes) or tuple(reversed(range(self.data.ndim)))
        out = self._result(self.data.transpose(axes), (self,), "transpose")

        def _backward():
            self._add_grad(out.grad.transpose(np.argsort(axes)))
        out._backward = _backward
        return out

    @property
    def T(self):
        return self.transpose()

    # built from the operations above
    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __truediv__(self, other):
        return self * self._lift(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def backward(self) -> None:
        """dJ/d(tensor) for every tensor this scalar J depends on, accumulated into the leaves' ``.grad``."""
        if self.data.size != 1:
            raise ValueError(f"backward() of a tensor of shape {self.shape}: the gradient is defined for a "
                             f"scalar loss; call .sum() or .mean() first")
        if not self.requires_grad:
            raise ValueError("backward() of a tensor that needs no gradient: make the parameters with "
                             "Tensor(..., requires_grad=True), and compute outside no_grad()")
        _backward_pass(self, np.ones_like(self.data))

    def zero_grad(self) -> None:
        """Set the accumulated gradient back to zeros (``param.grad.zero_()`` in PyTorch)."""
        if self.requires_grad:
            self.grad = np.zeros_like(self.data)

    def __repr__(self):
        return f"Tensor(shape={self.shape}, dtype={self.data.dtype}, requires_grad={self.requires_grad})"


def cross_entropy(logits: Tensor, y) -> Tensor:
    """The mean cross-entropy J = (1/n) sum_i (logsumexp(Z_i) - Z_{i, y_i}) of logits ``(n, K)`` and
    labels ``y`` (n,), as one fused operation: a stable log-softmax forward, and the VJP

        dZ = G (softmax(Z) - Y) / n          (Y the one-hot labels)

    instead of the graph of exp, sum, log and indexing it is made of."""
    Z, y = logits.data, np.asarray(y)
    if Z.ndim != 2 or y.shape != (Z.shape[0],):
        raise ValueError(f"logits of shape {Z.shape} and y of shape {y.shape}: expected (n, K) and (n,)")
    n = len(y)
    shifted = Z - Z.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    out = logits._result(-log_probs[np.arange(n), y].mean(), (logits,), "cross_entropy")

    def _backward():
        dZ = np.exp(log_probs)
        dZ[np.arange(n), y] -= 1
        logits._add_grad(out.grad * dZ / n)
    out._backward = _backward
    return out


def im2col(X: Tensor, R: int, *, stride: int = 1, pad: int = 0) -> Tensor:
    """The R x R windows of images ``X`` (n, C, H_in, W_in), padded by ``pad`` zeros, as the columns of a
    matrix (C R R, n H_out W_out) (see ``conv.py``), as ONE operation: its VJP is col2im, which adds each
    column's gradient back onto the window it came from and drops the padding. A convolution is then
    ``W.reshape(F, -1) @ im2col(X, R) + b``, and needs no backward pass of its own."""
    n, C, H_in, W_in = X.shape
    output_size(H_in, R, stride, pad, "H"), output_size(W_in, R, stride, pad, "W")   # errors that say how to fix
    Xp = np.pad(X.data, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else X.data
    out = X._result(_im2col(Xp, R, stride), (X,), "im2col")

    def _backward():
        dXp = _col2im(out.grad, Xp.shape, R, stride)
        X._add_grad(dXp[:, :, pad : pad + H_in, pad : pad + W_in])
    out._backward = _backward
    return out


# --- looking at a graph: its picture, and the memory it holds ---------------------------------------

def _buffer(a: np.ndarray) -> np.ndarray:
    """The array that owns the memory of ``a`` (a reshape or a transpose is a view of its input's)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _held_arrays(node) -> list:
    """The arrays a node keeps alive for the backward pass: its result, and the arrays its closure holds."""
    arrays = [node.data] if isinstance(node.data, np.ndarray) else []
    for cell in getattr(node._backward, "__closure__", None) or ():
        try:
            content = cell.cell_contents
        except ValueError:          # an empty cell
            continue
        if isinstance(content, np.ndarray):
            arrays.append(content)
    return arrays


def saved_bytes(root) -> int:
    """The bytes of the arrays the graph of ``root`` holds for its backward pass: the result of every
    operation, and every array an operation's closure keeps (cross_entropy's log-probabilities), each buffer
    counted once (a reshape shares its input's; a slice of a larger array counts its own bytes). The leaves (parameters, inputs) are not counted: they exist
    without a graph. A forward pass alone could drop each result as soon as the next operation has used it."""
    leaves = {id(_buffer(node.data)) for node in topological_order(root)
              if not node._parents and isinstance(node.data, np.ndarray)}
    held = {}
    for node in topological_order(root):
        if node._parents:
            for a in _held_arrays(node):
                key = id(_buffer(a))
                held[key] = max(held.get(key, 0), a.nbytes)
    return sum(nbytes for key, nbytes in held.items() if key not in leaves)


def _summary(a, what: str) -> str:
    if a is None:
        return f"{what}: not needed"
    a = np.asarray(a)
    if a.size == 1:
        return f"{what} {float(a.reshape(())):.4g}"
    return f"{what}: mean {a.mean():.3g}" if what == "data" else f"{what}: |max| {np.abs(a).max():.2g}"


_OP_NAMES = {"+": "add", "*": "mul", "@": "matmul"}


def _label(node, names: dict) -> str:
    """A node's box: its name or operation, its shape (a tensor), its value and its gradient."""
    name = names.get(id(node))
    op = _OP_NAMES.get(node._op, node._op)
    if node._parents:
        head = f"{name} = {op}" if name else op
    else:
        head = name or ("constant" if isinstance(node, Value) else "input")
    if isinstance(node, Value):
        return f"{head}\ndata {node.data:.4g}\ngrad {node.grad:.4g}"
    return f"{head}  {node.shape}\n{_summary(node.data, 'data')}\n{_summary(node.grad, 'grad')}"


def _layout(order) -> dict:
    """Column and row of each node: a result one column right of its deepest input, a leaf just left of its
    first user; in each column the nodes sorted by the rows of their neighbours (fewer crossing edges)."""
    users = {id(n): [] for n in order}
    for n in order:
        for p in n._parents:
            users[id(p)].append(n)
    column = {}
    for n in order:
        column[id(n)] = 1 + max((column[id(p)] for p in n._parents), default=-1)
    for n in order:
        if not n._parents and users[id(n)]:
            column[id(n)] = min(column[id(u)] for u in users[id(n)]) - 1
    shift = min(column.values())
    columns = {}
    for n in order:
        columns.setdefault(column[id(n)] - shift, []).append(n)
    row = {id(n): float(i) for i, n in enumerate(order)}
    for _ in range(3):                                    # a few sweeps of the barycentre heuristic
        for c in sorted(columns):
            nodes = columns[c]
            def centre(n):
                near = [row[id(p)] for p in n._parents] + [row[id(u)] for u in users[id(n)]]
                return sum(near) / len(near) if near else row[id(n)]
            nodes.sort(key=centre)
            for i, n in enumerate(nodes):
                row[id(n)] = i - (len(nodes) - 1) / 2
    return {id(n): (c, row[id(n)]) for c, nodes in columns.items() for n in nodes}


def draw_graph(root, names: dict | None = None, ax=None, title: str | None = None, max_nodes: int = 100):
    """Draw the graph ``root`` was computed as: one box per node, with its name or operation (and shape, for
    a tensor), its value (``data``; its mean for an array) and its gradient (``grad``; its largest absolute
    entry for an array), and an arrow from each input to the result it feeds: inputs on the left, ``root`` on
    the right. An input used twice (``b + b``) gets two arrows. ``names`` labels nodes: ``{"W1": W1, ...}``.
    Returns the figure (matplotlib only). A graph of more than ``max_nodes`` nodes is refused: one box per
    number is unreadable beyond that; build the expression from tensors (one node per array) instead."""
    import matplotlib.pyplot as plt

    order = topological_order(root)
    if len(order) > max_nodes:
        raise ValueError(f"the graph has {len(order):,} nodes, more than max_nodes={max_nodes} boxes can show legibly: "
                         f"draw a smaller expression, build it from Tensors (one node per array, not per number), "
                         f"or pass a larger max_nodes")
    names = {id(node): name for name, node in (names or {}).items()}
    where = _layout(order)
    n_columns = 1 + max(c for c, _ in where.values())
    n_rows = max(sum(1 for c2, _ in where.values() if c2 == c) for c in range(n_columns))
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 2.3 * n_columns), max(2.0, 1.05 * n_rows + 0.6)))
    boxes = {}
    for node in order:
        c, r = where[id(node)]
        leaf = not node._parents
        boxes[id(node)] = ax.text(c, -r, _label(node, names), ha="center", va="center", fontsize=8,
                                  family="monospace", zorder=3,
                                  bbox=dict(boxstyle="round,pad=0.35", lw=0.8,
                                            fc="#eef3fb" if leaf else "#fdf1e6",
                                            ec="tab:blue" if leaf else "tab:orange"))
    for node in order:
        seen = {}
        for p in node._parents:
            k = seen[id(p)] = seen.get(id(p), -1) + 1          # the k-th arrow between the same two nodes
            rad = 0.0 if node._parents.count(p) == 1 else (0.25 if k == 0 else -0.25)
            ax.annotate("", xy=(0, 0.5), xycoords=boxes[id(node)], xytext=(1, 0.5),
                        textcoords=boxes[id(p)], zorder=2,
                        arrowprops=dict(arrowstyle="->", color="grey", lw=0.9, shrinkA=2, shrinkB=2,
                                        connectionstyle=f"arc3,rad={rad}"))
    ax.set_xlim(-0.6, n_columns - 0.4)
    ax.set_ylim(-(n_rows - 1) / 2 - 0.7, (n_rows - 1) / 2 + 0.7)
    ax.axis("off")
    ax.set_title(title or f"the graph of {len(order)} nodes; blue: leaves, orange: operations "
                          f"(data: value, grad: dJ/d node)", fontsize=9)
    ax.figure.tight_layout()
    return ax.figure
