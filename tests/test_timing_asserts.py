"""No assert in a notebook may depend on a time measurement.

A timing changes from run to run and from machine to machine: on a loaded two-core machine, under other
BLAS kernels or with two threads, a ratio that is 700 on one run can be 4 on the next, and an assert on it
is a flaky test (issue 29: notebook 12's `0.5 < price < 4` failed so). Notebooks print timings and assert
what holds on any machine: counts of operations, lines run, bytes, shapes.

This test reads every notebook's code cells (it runs nothing) and fails when an assert can see a clock:

1. **Data flow.** A name is *timed* when it is assigned from a clock (`time.perf_counter()`, `time.time()`,
   `timeit.timeit(...)`, `t = %timeit -o ...`, a `History`'s `.seconds`) or from an expression that uses a
   timed name; a container is timed once a timed value is stored in it (`times.append(...)`,
   `seconds["A"] = ...`); a function whose return value is timed makes its calls timed. The names flow from
   cell to cell in order, as in the kernel. An `assert` (or an `assert_*` call) whose expression uses a
   timed name or a clock fails.
2. **Names.** As a second net, for values the data flow cannot follow (a duration returned by a package
   function, a `%time` magic), an assert fails when one of its names reads like a duration: `t_loops`,
   `step_time`, `seconds`, `elapsed`, ... (comments are not read). Rename a variable that is no duration.

Each notebook is one test case, so a failure names the notebook, the cell and the line.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

#: Functions that read a clock, by their dotted name as written (`time.perf_counter`) or imported bare.
CLOCKS = {f"{module}{name}" for module in ("time.", "")
          for name in ("perf_counter", "perf_counter_ns", "time", "time_ns", "monotonic", "monotonic_ns",
                       "process_time", "process_time_ns", "thread_time", "thread_time_ns")}
CLOCKS |= {"timeit.timeit", "timeit.repeat", "timeit.default_timer", "timeit.Timer", "default_timer",
           "datetime.now", "datetime.datetime.now", "datetime.utcnow", "datetime.datetime.utcnow"}
#: Attributes that hold measured durations (`nn.train`'s History keeps each epoch's seconds).
TIMED_ATTRIBUTES = {"seconds", "elapsed", "wall_time", "duration", "durations"}
#: Methods that store their argument in the object they are called on.
FILLERS = {"append", "extend", "insert", "update", "setdefault", "add", "appendleft", "put"}
#: Names that read like a duration: the second net.
DURATION_NAME = re.compile(r"^(t|time|times|seconds|secs|elapsed|duration|durations|timing|timings|ms|us)$"
                           r"|^(t|time|times|secs|seconds|elapsed|timing)_|_(time|times|secs|seconds|ms|elapsed|"
                           r"duration|timing|timings)$|speedup")
#: IPython magics whose result is a timing when assigned: `t = %timeit -o f()`.
TIMING_MAGIC = re.compile(r"^(\s*)([\w\s,\[\]().]+?)\s*=\s*%(timeit|time)\b.*$")


def code_cells(path: Path) -> list[tuple[int, str]]:
    """(index among all cells, source) of each code cell, with IPython magics made plain Python."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(i, python_source("".join(cell["source"]))) for i, cell in enumerate(cells) if cell["cell_type"] == "code"]


def python_source(source: str) -> str:
    """A cell's source as Python: `x = %timeit -o f()` becomes a clock reading, other magics and shell
    lines `pass`; a `%%timeit` / `%%time` cell keeps its body (what it times is not asserted on by it)."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        lines = lines[1:] if lines[0].lstrip().startswith(("%%time", "%%capture")) else []
    out = []
    for line in lines:
        timed = TIMING_MAGIC.match(line)
        if timed:
            out.append(f"{timed.group(1)}{timed.group(2)} = time.perf_counter()")
        elif line.lstrip().startswith(("%", "!")):
            out.append(line[: len(line) - len(line.lstrip())] + "pass")
        else:
            out.append(line)
    return "\n".join(out)


#: Calls whose result is a count or a type, never a duration, whatever they are given: `len(seconds)`.
COUNTS = {"len", "isinstance", "type"}


def counted_out(node: ast.AST):
    """The nodes of ``node`` (as ast.walk), but not those inside ``len(...)`` and the like."""
    todo = [node]
    while todo:
        sub = todo.pop()
        yield sub
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in COUNTS:
            continue
        todo.extend(ast.iter_child_nodes(sub))


def dotted(node: ast.AST) -> str:
    """`time.perf_counter` for the expression time.perf_counter; '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def root_name(node: ast.AST) -> str | None:
    """The variable an assignment target or a method call writes into: `times` for times.append(...),
    seconds["A"], params.x."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def target_names(target: ast.AST) -> set[str]:
    names = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    root = root_name(target)
    return names | ({root} if root else set())


class Taint:
    """The timed names of one notebook, followed statement by statement in the kernel's order.

    A plain assignment from an untimed value un-times its names (`start = 3` after a timing); where the
    path is not known (the branches of an `if`, a loop's repeats, a `try`) the timed names of every path
    are kept."""

    def __init__(self):
        # functions whose return value is timed: name -> the timed items of the tuple they return (None: all)
        self.functions: dict[str, set[int] | None] = {}
        self.found: list[tuple[ast.AST, list[str]]] = []   # (assert node, the timed names it uses)

    def is_timed(self, node: ast.AST | None, timed: set[str]) -> bool:
        if node is None:
            return False
        for sub in counted_out(node):
            if isinstance(sub, ast.Name) and (sub.id in timed or sub.id in self.functions):
                return True
            if isinstance(sub, ast.Call) and dotted(sub.func) in CLOCKS:
                return True
            if isinstance(sub, ast.Attribute) and sub.attr in TIMED_ATTRIBUTES and isinstance(sub.ctx, ast.Load):
                return True
        return False

    def block(self, stmts: list[ast.stmt], timed: set[str]) -> set[str]:
        for stmt in stmts:
            timed = self.statement(stmt, timed)
        return timed

    def loop(self, body: list[ast.stmt], timed: set[str]) -> set[str]:
        once = self.block(body, set(timed))
        twice = self.block(body, set(once))     # a name timed late in the body, used early in the next repeat
        return timed | once | twice

    def statement(self, stmt: ast.stmt, timed: set[str]) -> set[str]:
        timed = set(timed)
        self.expressions(stmt, timed)
        unpacked = self.unpacked(stmt, timed)
        if unpacked is not None:                # mine, seconds = train(...): only `seconds` is timed
            timed = (timed - unpacked[1]) | unpacked[0]
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if self.is_timed(stmt.value, timed):
                for t in targets:
                    timed |= target_names(t)
            elif not isinstance(stmt, ast.AugAssign):
                for t in targets:
                    if isinstance(t, (ast.Name, ast.Tuple, ast.List)):
                        names = {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
                        timed -= names
                        for name in names:
                            self.functions.pop(name, None)
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            names = target_names(stmt.target)
            timed = timed | names if self.is_timed(stmt.iter, timed) else timed - names
            timed = self.loop(stmt.body, timed) | self.block(stmt.orelse, set(timed))
        elif isinstance(stmt, ast.While):
            timed = self.loop(stmt.body, timed) | self.block(stmt.orelse, set(timed))
        elif isinstance(stmt, ast.If):
            timed = self.block(stmt.body, set(timed)) | self.block(stmt.orelse, set(timed))
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                if item.optional_vars is not None and self.is_timed(item.context_expr, timed):
                    timed |= target_names(item.optional_vars)
            timed = self.block(stmt.body, timed)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            after = self.block(stmt.body, set(timed))
            for handler in stmt.handlers:
                after |= self.block(handler.body, set(timed | after))
            timed = self.block(stmt.finalbody, after | self.block(stmt.orelse, set(after)))
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside = self.loop(stmt.body, set(timed))    # its asserts see its locals; twice: recursion, loops
            returns = [r.value for r in ast.walk(stmt) if isinstance(r, ast.Return) and r.value is not None]
            self.functions.pop(stmt.name, None)
            timed.discard(stmt.name)
            if any(self.is_timed(value, inside) for value in returns):
                items = None
                if all(isinstance(v, ast.Tuple) and len(v.elts) == len(returns[0].elts) for v in returns):
                    items = {i for v in returns for i, e in enumerate(v.elts) if self.is_timed(e, inside)}
                self.functions[stmt.name] = items
        elif isinstance(stmt, ast.Assert):
            self.check(stmt, stmt.test, timed)
        return timed

    def unpacked(self, stmt: ast.stmt, timed: set[str]) -> tuple[set[str], set[str]] | None:
        """(timed names, untimed names) of `a, b = f(...)` where f returns a tuple with known timed items."""
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Tuple)
                and isinstance(stmt.value, ast.Call) and self.functions.get(dotted(stmt.value.func)) is not None):
            return None
        items, elts = self.functions[dotted(stmt.value.func)], stmt.targets[0].elts
        if any(self.is_timed(a, timed) for a in [*stmt.value.args, *(k.value for k in stmt.value.keywords)]):
            return None
        names = [{n.id for n in ast.walk(e) if isinstance(n, ast.Name)} for e in elts]
        return (set().union(*(n for i, n in enumerate(names) if i in items)),
                set().union(*(n for i, n in enumerate(names) if i not in items)))

    def expressions(self, stmt: ast.stmt, timed: set[str]) -> None:
        """What the statement's own expressions do (not its nested statements): assert_*(...) calls,
        containers filled with timed values, walrus assignments."""
        nodes = [n for field in ("value", "test", "iter", "targets", "target", "items")
                 for n in _as_list(getattr(stmt, field, None))]
        if isinstance(stmt, ast.Expr):
            nodes = [stmt.value]
        for node in nodes:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Lambda):
                    continue
                if isinstance(sub, ast.NamedExpr) and self.is_timed(sub.value, timed):
                    timed.add(sub.target.id)
                if isinstance(sub, ast.Call):
                    name = dotted(sub.func)
                    arguments = [*sub.args, *(k.value for k in sub.keywords)]
                    if name.split(".")[-1].startswith("assert"):
                        self.check(sub, ast.Tuple(elts=arguments, ctx=ast.Load()), timed)
                    elif (isinstance(sub.func, ast.Attribute) and sub.func.attr in FILLERS
                          and any(self.is_timed(a, timed) for a in arguments)):
                        root = root_name(sub.func.value)
                        if root:
                            timed.add(root)

    def check(self, node: ast.AST, expr: ast.AST, timed: set[str]) -> None:
        if self.is_timed(expr, timed):
            names = sorted({n.id for n in ast.walk(expr) if isinstance(n, ast.Name)
                            and (n.id in timed or n.id in self.functions)})
            self.found.append((node, names))


def _as_list(value) -> list:
    if value is None:
        return []
    return [v for v in value if isinstance(v, ast.AST)] + [v.context_expr for v in value if isinstance(v, ast.withitem)] \
        if isinstance(value, list) else [value]


def timing_asserts(cells: list[tuple[int, str]]) -> list[str]:
    """'cell N, line L: <the assert>  (why)' for each assert in `cells` that depends on a time measurement."""
    taint, timed, found = Taint(), set(), []
    for index, source in cells:
        try:
            module = ast.parse(source)
        except SyntaxError as error:
            found.append(f"cell {index}: cannot be read as Python ({error.msg}, line {error.lineno})")
            continue
        taint.found = []
        timed = taint.block(module.body, timed)
        flagged = {id(node): names for node, names in taint.found}
        lines = source.splitlines()
        for node in ast.walk(module):
            if isinstance(node, ast.Assert):
                expr = node.test
            elif isinstance(node, ast.Call) and dotted(node.func).split(".")[-1].startswith("assert"):
                expr = ast.Tuple(elts=[*node.args, *(k.value for k in node.keywords)], ctx=ast.Load())
            else:
                continue
            why = []
            if id(node) in flagged:
                names = flagged[id(node)]
                why.append("uses " + (", ".join(names) if names else "a clock") + ", from a time measurement")
            else:
                named = sorted({n.id for n in counted_out(expr) if isinstance(n, ast.Name)
                                and DURATION_NAME.search(n.id.lower())})
                if named:
                    why.append(f"{', '.join(named)} reads like a duration (rename it if it is none)")
            if why:
                found.append(f"cell {index}, line {node.lineno}: {lines[node.lineno - 1].strip()}  ({'; '.join(why)})")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_assert_depends_on_a_time_measurement(path):
    found = timing_asserts(code_cells(path))
    assert not found, (f"{path.name} asserts on timings (flaky on a loaded or another machine: print the "
                       f"timing, assert a count of operations instead):\n  " + "\n  ".join(found))


# ---- the test of the test: planted timing asserts are caught, honest asserts are not ----

def cells(*sources: str) -> list[tuple[int, str]]:
    return list(enumerate(python_source(textwrap.dedent(s)) for s in sources))


PLANTED = {
    "direct": ["import time\nstart = time.perf_counter()\nf()\nassert time.perf_counter() - start < 1"],
    "a ratio of two timings, cells apart": [
        "import time\nstart = time.perf_counter()\nslow()\nt_slow = time.perf_counter() - start",
        "from time import perf_counter\nbegin = perf_counter()\nfast()\nwhole = perf_counter() - begin",
        "ratio = t_slow / whole\nbig = ratio > 5",
        "assert big"],
    "the best of a list of timings": [
        "times = []\nfor _ in range(5):\n    s = time.time()\n    f()\n    times.append(time.time() - s)\nbest = min(times)",
        "assert best < 0.2 * 3"],
    "a helper that returns a timing": [
        "def fastest(f, repeat=20):\n    times = []\n    for _ in range(repeat):\n        start = time.perf_counter()\n"
        "        f()\n        times.append(time.perf_counter() - start)\n    return min(times)",
        "a = fastest(lambda: 1)\nb = fastest(lambda: 2)\nrate = a / b",
        "assert rate > 3"],
    "a dict of timings": [
        "seconds = {}\nstart = time.perf_counter()\nf()\nseconds['A'] = time.perf_counter() - start",
        "assert seconds['A'] < 10"],
    "timeit": ["import timeit\nbest = min(timeit.repeat(f, number=10))\nassert best < 1e-3"],
    "%timeit -o": ["result = %timeit -o -q f()\ngain = result.best", "assert gain < 1"],
    "a History's seconds": ["params, history = nn.train(params, X, y)\ntotal = sum(history.seconds)",
                            "assert total < 60"],
    "an assert_* call": ["start = time.monotonic()\nf()\nnp.testing.assert_array_less(time.monotonic() - start, 1)"],
    "inside a function": ["def check():\n    start = time.perf_counter()\n    f()\n    took = time.perf_counter() - start\n"
                          "    assert took < 1\ncheck()"],
    "a walrus": ["assert (t := time.perf_counter()) > 0"],
    "only the name says it": ["step_time = measure_step()\nassert step_time < 1"],
    "the timed item of a returned tuple": [
        "def train(p):\n    start = time.perf_counter()\n    p = step(p)\n    return p, time.perf_counter() - start",
        "trained, took = train(p0)\nassert trained['W1'].shape == (784, 64)\nassert took < 30"],
}

HONEST = {
    "timings printed, counts asserted": [
        "import time\nstart = time.perf_counter()\nf()\nt_loops = time.perf_counter() - start\n"
        "print(f'{t_loops * 1000:.1f} ms')\nn_ops = 20 * 7940\nassert n_ops == 158_800"],
    "a name reused for something else": [
        "start = time.perf_counter()\nf()\nprint(time.perf_counter() - start)",
        "start = 3\nassert start == 3"],
    "how many timings, not how long": ["import time\nseconds = []\nstart = time.perf_counter()\nf()\n"
                                       "seconds.append(time.perf_counter() - start)\nassert len(seconds) == 1"],
    "epochs, not seconds": ["params, history = nn.train(params, X, y)\nassert len(history) == 15 and history.val_acc[-1] > 0.9"],
    "the untimed item of a returned tuple": [
        "def train(p):\n    seconds = []\n    start = time.perf_counter()\n    p = step(p)\n"
        "    seconds.append(time.perf_counter() - start)\n    return p, seconds",
        "trained, seconds_per_epoch = train(p0)\nprint(seconds_per_epoch)\nassert trained['W1'].shape == (784, 64)"],
    "a function that times nothing": ["def fastest(values):\n    return min(values)\nassert fastest([3, 1]) == 1"],
    "magics": ["%matplotlib inline\n!ls\nx = 1\nassert x == 1", "%%capture\ny = 2\nassert y == 2"],
}


@pytest.mark.parametrize("name", PLANTED)
def test_a_planted_timing_assert_is_caught(name):
    found = timing_asserts(cells(*PLANTED[name]))
    assert len(found) == 1 and "assert" in found[0], found


@pytest.mark.parametrize("name", HONEST)
def test_an_honest_assert_is_not_flagged(name):
    assert timing_asserts(cells(*HONEST[name])) == []


def test_a_notebook_with_a_planted_timing_assert_fails(tmp_path):
    """A real notebook of the series, with notebook 02's old kind of timing assert in a cell of its own at the end:
    exactly that cell's assert is added to what the notebook is told."""
    original = ROOT / "notebooks" / "02_forward_pass.ipynb"
    notebook = json.loads(original.read_text(encoding="utf-8"))
    notebook["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                              "source": ["start = time.perf_counter()\n", "forward_vectorized(X, W1, b1, W2, b2)\n",
                                         "t_vectorized = time.perf_counter() - start\n", "ratio = 1 / t_vectorized\n",
                                         "assert ratio > 5\n"]})
    planted = tmp_path / original.name
    planted.write_text(json.dumps(notebook), encoding="utf-8")
    cell = len(notebook["cells"]) - 1
    assert timing_asserts(code_cells(planted)) == [*timing_asserts(code_cells(original)),
                                                   f"cell {cell}, line 5: assert ratio > 5  (uses ratio, from a time measurement)"]
