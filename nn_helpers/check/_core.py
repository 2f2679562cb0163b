"""The machinery shared by every checker: running the cases, comparing with the reference, naming the mistake, the verdicts and
progress."""

from __future__ import annotations

import ast
import contextlib
import copy
import dis
import functools
import importlib
import inspect
import linecache
import os
import re
import sys
import sysconfig
import textwrap
import threading
import time
import traceback
import types
import warnings
from pathlib import Path

import numpy as np

from ..losses import softmax as _softmax
from ..network import init_params as _init_params
from . import _kept


#: The exercises of each notebook, in order: the names of their checkers.
EXERCISES = {
    "01": ["parse_idx", "to_features", "train_val_split"],
    "02": ["layer", "forward", "he_init"],
    "03": ["softmax", "one_hot", "cross_entropy"],
    "04": ["output_gradient", "backward", "backward_tanh", "numerical_gradient", "backward_deep"],
    "05": ["sgd_step", "minibatches", "train_epoch"],
    "06": ["momentum_step", "adam_step", "cosine_lr"],
    "07": ["confusion_matrix", "precision_recall", "most_confident_mistakes"],
    "08": ["l2_gradient", "early_stopping", "dropout_forward"],
    "11": ["conv_forward", "im2col", "conv_backward", "maxpool_backward", "bridge_backward"],
    "12": ["value_mul", "topological_order", "unbroadcast", "tensor_max"],
    "13": ["batchnorm_forward", "batchnorm_backward", "layernorm_images", "residual_backward"],
}

#: The latest verdict of each checker run in this session: name -> True (correct) / False.
results: dict = {}

#: False while ``not_keeping()`` is on: a verdict is neither kept in my_network.py nor recorded in ``results``.
_keeping = True

#: True while ``package_allowed()`` is on (the tests check that the package's own functions pass): the
#: package's functions are then checked like the learner's instead of refused.
_package_allowed = False

_kept.WHERE.update({name: (key, i) for key, names in EXERCISES.items() for i, name in enumerate(names, 1)})

NOT_DONE = ("{name}: not done yet. Write your code in place of `raise NotImplementedError` in the cell above, "
            "run it, then run this cell again.")


#: Seconds one call of the learner's function may run before the checker stops it (every case is small: a
#: right answer takes milliseconds).
TIME_LIMIT = 10.0

#: The arguments (positions, from 0) each checker's function may change in place; every other argument
#: must come back as it went in. An optimizer step may update its parameters and its state.
MAY_CHANGE = {"sgd_step": {0}, "momentum_step": {0, 2}, "adam_step": {0, 2, 3}, "train_epoch": {0}}

#: Functions the notebooks define that do what an exercise asks (the worked code after it): checker ->
#: {function name: where it is}. Handed to its checker (``my_backward = backward_deep``), one says so and
#: does not count. The lead extends this with the notebooks of 11 and 12.
WORKED = {
    "softmax": {"softmax": "notebook 03's worked softmax (section 1, \"The stable version\", right after the "
                           "exercise)"},
    "backward": {"backward_2layer": "notebook 04's worked backward pass (section 7, the famous bugs)",
                 "backward_deep": "notebook 04's backward pass for any depth (section 10)"},
    "backward_tanh": {"backward_deep": "notebook 04's backward pass for any depth and activation (section 10)"},
    "backward_deep": {"backward_deep": "notebook 04's backward pass for any depth (section 10), the worked "
                                       "answer to this exercise"},
}

#: The package's functions (and classes) that do an exercise's work in one call, beyond the reference its
#: checker names: checker -> (their dotted names, what the exercise asks the learner to write). A
#: learner's function that calls one is refused with that reason; the grader (tools/grade.py) refuses the
#: same names. Filled by each notebook's checkers (convolutional_networks.py for notebook 11).
SOLVED_BY: dict = {}


def solved_by(name: str) -> list:
    """The package's objects in ``SOLVED_BY[name]`` (none when the exercise has no entry)."""
    return _named_objects(SOLVED_BY[name][0]) if name in SOLVED_BY else []


def solved_by_names(name: str) -> list:
    """Every name under which the package's modules hold an object of ``SOLVED_BY[name]`` (``im2col`` and its
    older alias ``_im2col``): what the grader looks for in a submission's source."""
    objects = solved_by(name)                       # (imports the modules that hold them)
    names = {getattr(obj, "__name__", "") for obj in objects}
    for module_name, module in list(sys.modules.items()):
        if module is not None and (module_name == "nn_helpers" or module_name.startswith("nn_helpers.")):
            names |= {attr for attr, value in vars(module).items() if any(value is obj for obj in objects)}
    return sorted(n for n in names if n)


class _Placeholder(Exception):
    """The learner's function is still the skeleton."""


class _TimeLimit(BaseException):
    """Raised inside the learner's running function when it runs past ``TIME_LIMIT`` (a BaseException, so
    that an ``except Exception`` in the learner's loop does not swallow it)."""


class _TooSlow(Exception):
    """The learner's function ran past ``TIME_LIMIT``; ``where`` is the line it was at, or ``""``."""

    def __init__(self, where: str, stuck: bool):
        super().__init__(where)
        self.where, self.stuck = where, stuck


def _is_placeholder_body(fn) -> bool:
    """True when the function's body is only a docstring, comments, ``...`` or ``pass``."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):   # no source (a function typed into `python -`): read the bytecode
        idle = {"RESUME", "NOP", "LOAD_CONST", "RETURN_CONST", "RETURN_VALUE", "POP_TOP", "CACHE"}
        return all(ins.opname in idle for ins in dis.get_instructions(fn))
    body = tree.body[0].body if tree.body and hasattr(tree.body[0], "body") else []
    return all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
               for s in body)


_TREES: dict = {}


def _tree(fn):
    """The parsed source of ``fn`` (None when it cannot be read), kept per code object: a checker reads the same
    reference again and again."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    if code not in _TREES:
        if len(_TREES) > 1000:
            _TREES.clear()
        try:
            _TREES[code] = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        except (OSError, TypeError, SyntaxError, IndentationError):
            _TREES[code] = None
    return _TREES[code]


def _source_text(fn) -> str:
    """The function's source, or "" when it is not available."""
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def _source_uses(fn, names) -> set:
    """The names among ``names`` that the function's source calls or reads as ``np.<name>`` or ``<name>``
    (``set()`` when the source is not available)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return set()
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    used |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return used & set(names)


# --------------------------------------------------------------------------------------------------
# Running the learner's function: within a time limit, on copies, watching whether it changes them


def _silenced(fn, args):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*args)


def _stop(thread) -> None:
    """Raise ``_TimeLimit`` inside ``thread`` (CPython's asynchronous exception: it lands at the next line of
    Python the thread runs, on every OS; a thread inside one long NumPy call stops when that call returns)."""
    try:
        import ctypes          # here: a Python without ctypes (Pyodide may lack it) still imports the checkers
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_TimeLimit))
    except (ImportError, AttributeError, TypeError, ValueError):
        pass


def _in_thread(fn, args, limit):
    """``fn(*args)`` in a worker thread that the caller waits for at most ``limit`` seconds. The thread gets a
    large stack (macOS gives threads 512 KB), so a deep recursion fails as it would in the notebook."""
    box = {}

    def work():
        try:
            box["out"] = _silenced(fn, args)
        except BaseException as err:        # handed to the caller, with its traceback
            box["error"] = err

    worker = threading.Thread(target=work, name="nn_helpers.check: your function", daemon=True)
    size = threading.stack_size()
    try:
        threading.stack_size(256 * 2**20)
    except (ValueError, RuntimeError):
        pass
    try:
        worker.start()
    finally:
        threading.stack_size(size)
    try:
        worker.join(limit)
    except KeyboardInterrupt:                # the learner pressed stop: stop their function too
        _stop(worker)
        raise
    if worker.is_alive():
        where = _running_line(sys._current_frames().get(worker.ident))
        _stop(worker)
        worker.join(2.0)
        raise _TooSlow(where, stuck=worker.is_alive())
    if "error" in box:
        if isinstance(box["error"], _TimeLimit):
            raise _TooSlow("", stuck=False)
        raise box["error"]
    return box["out"]


def _traced(fn, args, limit):
    """``fn(*args)`` in this thread, stopped after ``limit`` seconds by a trace function (where no thread can
    be started, e.g. Pyodide in the browser): slower, since it runs at every line."""
    deadline = time.monotonic() + limit
    where = []

    def local(frame, event, arg):
        if time.monotonic() > deadline:
            where.append(_running_line(frame))
            raise _TimeLimit
        return local

    before = sys.gettrace()
    sys.settrace(lambda frame, event, arg: local)
    try:
        return _silenced(fn, args)
    except _TimeLimit:
        raise _TooSlow(where[0] if where else "", stuck=False) from None
    finally:
        sys.settrace(before)


#: How the learner's function is run: in a worker thread (the default) or under a trace function.
_RUNNERS = [_in_thread, _traced]


def _timed(fn, args):
    """``fn(*args)`` with warnings silenced (the checker explains them), stopped after ``TIME_LIMIT`` seconds."""
    for runner in _RUNNERS:
        try:
            return runner(fn, args, TIME_LIMIT)
        except RuntimeError as err:              # "can't start new thread": try the next way
            if runner is _RUNNERS[-1] or "thread" not in str(err):
                raise
    raise AssertionError("unreachable")


def _missing_key(fn, args, err) -> str | None:
    """For a KeyError on one of the dicts the function was given: which dict, and the keys it has."""
    if not isinstance(err, KeyError) or len(err.args) != 1:
        return None
    key, names = err.args[0], _parameter_names(fn)
    frames = [f for f in traceback.extract_tb(err.__traceback__) if _is_learners(f.filename)]
    line = frames[-1].line or "" if frames else ""
    order = sorted(range(len(args)), key=lambda i: i >= len(names) or f"{names[i]}[" not in line)
    for i in order:
        arg = args[i]
        if isinstance(arg, dict) and key not in arg and all(isinstance(k, str) for k in arg):
            name = names[i] if i < len(names) else f"argument {i + 1}"
            return f"{name} has no key {key!r}: its keys are {', '.join(map(repr, arg))}"
    return None


#: The copies the last call of ``_call_watched`` worked on (what the function left in them).
_last_copies: tuple = ()


def _call_watched(fn, args, may_change=()):
    """Run the learner's function on copies of ``args``: its result, and what it changed among the
    arguments it should only read (``None`` when nothing)."""
    global _last_copies
    copies = _last_copies = copy.deepcopy(args)
    try:
        out = _timed(fn, copies)
    except NotImplementedError:
        raise _Placeholder from None
    if out is None and _is_placeholder_body(fn):
        raise _Placeholder
    return out, _changed_argument(fn, args, copies, may_change)


def _call(fn, args):
    """Run the learner's function on copies of ``args``, with warnings silenced (the checker explains them) and
    a time limit (a diagnosis calls it again this way; ``_run`` also watches what it changes)."""
    return _call_watched(fn, args)[0]


def _data_paths(before, after, path, seen, depth=0):
    """The first place (a path like ``cache["A2"]``, ``[0]`` or ``.data``) where ``after`` differs from
    ``before``, or None. Only data is compared: arrays, numbers, strings, the containers holding them and the
    data attributes of objects; functions, generators and other objects are not."""
    if depth > 6 or id(before) in seen:
        return None
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray) or before.shape != after.shape or before.dtype != after.dtype:
            return path
        if before.dtype.kind in "fc":
            return None if np.array_equal(before, after, equal_nan=True) else path
        try:
            return None if np.array_equal(before, after) else path
        except (TypeError, ValueError):
            return None
    if isinstance(before, (bool, int, float, complex, str, bytes, np.generic, type(None))):
        try:
            same = before == after or (before != before and after != after)
        except (TypeError, ValueError):
            same = True
        return None if bool(np.all(same)) else path
    seen = seen | {id(before)}
    if isinstance(before, dict):
        if not isinstance(after, dict) or list(before) != list(after):
            return path
        for key in before:
            found = _data_paths(before[key], after[key], f"{path}[{key!r}]".replace("'", '"'), seen, depth + 1)
            if found:
                return found
        return None
    if isinstance(before, (list, tuple)):
        if type(after) is not type(before) or len(after) != len(before):
            return path
        for i, (b, a) in enumerate(zip(before, after)):
            found = _data_paths(b, a, f"{path}[{i}]", seen, depth + 1)
            if found:
                return found
        return None
    if isinstance(before, (types.FunctionType, types.MethodType, types.ModuleType, type, np.random.Generator,
                           np.random.BitGenerator)):
        return None
    try:
        attributes = vars(before)
    except TypeError:
        return None
    for key, value in attributes.items():
        if isinstance(value, (np.ndarray, bool, int, float, np.generic)) and not key.startswith("__"):
            found = _data_paths(value, getattr(after, key, None), f"{path}.{key}", seen, depth + 1)
            if found:
                return found
    return None


def _changed_argument(fn, originals, copies, may_change) -> str | None:
    """Which argument the call changed (``cache["A2"]``, with the learner's name for it), or None."""
    names = _parameter_names(fn)
    for i, (before, after) in enumerate(zip(originals, copies)):
        if i in may_change:
            continue
        name = names[i] if i < len(names) else f"argument {i + 1}"
        found = _data_paths(before, after, name, frozenset())
        if found:
            return found
    return None


def _parameter_names(fn) -> list:
    try:
        return [p.name for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return []


CHANGED = ("your function changes its input {where} in place: the caller's arrays must come back as they went "
           "in (the cache, the data, the labels are used again after your function returns). Compute into a new "
           "array instead: `A = A - x` or `A.copy()` first, not `A -= x`, `A[...] = ...`, or `np.random.shuffle(A)`")


# --------------------------------------------------------------------------------------------------
# Reading the learner's code: the line that raised, the line that ran too long


@functools.lru_cache(maxsize=1)
def _not_learners() -> tuple:
    """Folders whose code is not the learner's: Python's own library, installed packages, this package."""
    paths = sysconfig.get_paths()
    folders = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    folders |= {str(Path(np.__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)}
    return tuple(str(Path(f).resolve()) for f in folders if f)


def _is_learners(filename: str) -> bool:
    if filename.startswith("<"):                 # <stdin>, <string>: typed in; <frozen ...>: Python's own
        return "frozen" not in filename
    try:
        resolved = str(Path(filename).resolve())
    except (OSError, ValueError):
        return True
    return not resolved.startswith(_not_learners())


def _describe_line(filename: str, lineno: int, function: str, line: str | None) -> str:
    where = f"line {lineno} of {function}" if function not in ("<module>", "<lambda>") else f"line {lineno}"
    if function == "<lambda>":
        where += " (a lambda)"
    text = (line or "").strip()
    return f"{where}:\n      {text}" if text else where


def _raising_line(err: BaseException) -> str:
    """The line of the learner's code where ``err`` was raised (the innermost frame that is theirs), or ""."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if _is_learners(f.filename)]
    if not frames:
        return ""
    f = frames[-1]
    return _describe_line(f.filename, f.lineno, f.name, f.line)


def _running_line(frame) -> str:
    """The line of the learner's code that ``frame`` (or the innermost of its callers that is theirs) runs."""
    while frame is not None and not _is_learners(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return ""
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
    return _describe_line(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name, line)


# --------------------------------------------------------------------------------------------------
# The package's own function, handed to its checker


def _named_objects(reference_name: str) -> list:
    """The package's objects named in a checker's ``reference_name`` ("nn.softmax", "the rules of
    nn.train_val_split", "nn_helpers.autograd.unbroadcast")."""
    import nn_helpers
    found = []
    for dotted in re.findall(r"\b(nn(?:_helpers)?(?:\.[A-Za-z_]\w*)+)", reference_name or ""):
        obj, parts = nn_helpers, dotted.split(".")[1:]
        for part in parts:
            obj = getattr(obj, part, None)
            if obj is None:
                try:
                    obj = importlib.import_module(".".join(["nn_helpers", *parts[: parts.index(part) + 1]]))
                except ImportError:
                    break
        if obj is not None and not isinstance(obj, types.ModuleType):
            found.append(obj)
    return found


def _package_name(obj) -> str | None:
    """``nn_helpers.losses.softmax`` for one of the package's own functions, classes or their methods (not
    a checker's), else None."""
    while isinstance(obj, (types.MethodType,)) or hasattr(obj, "func") and callable(getattr(obj, "func", None)):
        obj = obj.__func__ if isinstance(obj, types.MethodType) else obj.func     # methods, functools.partial
    module = getattr(obj, "__module__", None) or ""
    if module == "nn_helpers" or module.startswith("nn_helpers.") and not module.startswith("nn_helpers.check"):
        return f"{module}.{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"
    return None


def _reads(fn, references) -> object | None:
    """The reference among ``references`` that ``fn``'s code reads (``nn.softmax(Z)``, ``softmax(Z)`` after
    ``from nn_helpers import softmax``, ``nn.losses.softmax``), or None."""
    if not isinstance(fn, types.FunctionType) or not references:
        return None
    scope = dict(fn.__globals__)
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            scope[name] = cell.cell_contents
        except ValueError:
            pass

    def is_ref(obj):
        return any(obj is r for r in references)

    tree = _tree(fn)
    if tree is not None:
        for node in ast.walk(tree):
            chain = []
            while isinstance(node, ast.Attribute):
                chain.append(node.attr)
                node = node.value
            if isinstance(node, ast.Name) and node.id in scope:
                obj = scope[node.id]
                if is_ref(obj):
                    return obj
                for attr in reversed(chain):
                    obj = getattr(obj, attr, None)
                    if is_ref(obj):
                        return obj
        return None
    names = set(fn.__code__.co_names) | set(fn.__code__.co_freevars)
    for name in names & set(scope):
        obj = scope[name]
        if is_ref(obj):
            return obj
        if isinstance(obj, types.ModuleType):
            for attr in names:
                inner = _probe(obj, attr)
                if is_ref(inner):
                    return inner
                for attr2 in names if isinstance(inner, types.ModuleType) else ():
                    if is_ref(_probe(inner, attr2)):
                        return _probe(inner, attr2)
    return None


def _probe(module, attr: str):
    """``getattr(module, attr, None)`` without the warnings of a deprecated name: the learner's own names
    (``bool``, ...) are tried on every module the function uses, and NumPy 1.25-1.26 warn on ``np.bool``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(module, attr, None)


def _own_function(name, fn, reference_name, diagnose) -> str | None:
    """Why ``fn`` is not the learner's own (the package's function, an alias or a wrapper of it, or the
    notebook's worked function), or None."""
    write = f"Write your own in my_{name}: the checker counts only that."
    package = _package_name(fn)
    if package:
        return (f"{name}: that is the package's own function {package.split('.')[-1]} ({package}), not yours: "
                f"it is not counted and not kept. {write}")
    worked = WORKED.get(name, {}).get(getattr(fn, "__name__", None))
    if worked and getattr(fn, "__module__", None) == "__main__":
        return (f"{name}: that is {fn.__name__}, {worked}, not yours: it is not counted and not kept. {write}")
    references = _named_objects(reference_name)
    if getattr(diagnose, "reference", None) is not None and _package_name(diagnose.reference):
        references.append(diagnose.reference)
    read = _reads(fn, references)
    if read is None and name in SOLVED_BY:
        read = _reads(fn, solved_by(name))
        if read is not None:
            kind = "class" if isinstance(read, type) else "function"
            return (f"{name}: your function uses the package's own {kind} {getattr(read, '__name__', '')} "
                    f"({_package_name(read) or 'nn_helpers'}), which does this exercise for you: it is not counted "
                    f"and not kept. The exercise is to write {SOLVED_BY[name][1]} yourself, in my_{name}.")
    if read is not None:
        kind = "class" if isinstance(read, type) else "function"
        return (f"{name}: your function uses the package's own {kind} {getattr(read, '__name__', '')} "
                f"({_package_name(read) or 'nn_helpers'}), the one this checker compares with: it is not "
                f"counted and not kept. {write}")
    return None


# --------------------------------------------------------------------------------------------------
# The names of a tuple's items, read from the reference's ``return`` line


def _docstring_names(frame) -> tuple | None:
    """The names of a checker's result as its docstring gives them, ``-> ``(best_epoch, stop_epoch)````, read
    from the checker that called ``against`` (``frame``)."""
    checker = frame.f_globals.get(frame.f_code.co_name) if frame is not None else None
    doc = getattr(checker, "__doc__", None) or ""
    # "``fn(...)`` -> ``(a, b)``", "``fn(...) -> (a, b)``" or "``fn(...)``: ``(a, b)`` for ..."
    match = (re.search(r"->\s*(?:``)?\(([^()`]*)\)``", doc)
             or re.match(r"\s*``fn\([^`]*\)``:\s*``\(([^()`]*)\)``", doc))
    if not match:
        return None
    names = tuple(n.strip() for n in match.group(1).split(","))
    return names if all(re.fullmatch(r"[A-Za-z_][\w.]*", n) for n in names) else None


def _return_names(fn, depth: int = 0) -> tuple | None:
    """``("dX", "dW", "db")`` when ``fn``'s last ``return`` gives a tuple of names (or attributes: ``a.grad``);
    a lambda or a function that returns a call of another function: that function's names."""
    if depth > 2 or not isinstance(fn, types.FunctionType):
        return None
    tree = _tree(fn)
    if tree is None:
        return None
    if fn.__name__ == "<lambda>":
        lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)
                   and len(n.args.args) == fn.__code__.co_argcount]
        if len(lambdas) != 1:
            return None
        value = lambdas[0].body
    else:
        top = tree.body[0] if tree.body else None
        if not isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        returns = []

        def visit(node):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.Return):
                    returns.append(child)
                elif not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                    visit(child)
        visit(top)
        if not returns or returns[-1].value is None:
            return None
        value = returns[-1].value
    if isinstance(value, ast.Tuple):
        if all(isinstance(e, (ast.Name, ast.Attribute)) for e in value.elts):
            return tuple(ast.unparse(e) for e in value.elts)
        return None
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        inner = fn.__globals__.get(value.func.id)
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
            if name == value.func.id:
                inner = cell.cell_contents
        return _return_names(inner, depth + 1)
    return None


def _quiet(fn, args):
    """Run one of our own functions (the reference or a known-wrong variant) on copies of ``args``."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*copy.deepcopy(args))


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    if isinstance(x, dict):
        return f"a dict with keys {sorted(x)}"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)} items"
    return f"{type(x).__name__} {x!r}" if np.isscalar(x) else type(x).__name__


def _difference(got, expected, path: str = "", names=None) -> str | None:
    """None when ``got`` equals ``expected`` (arrays to float precision, NaN never equal), else what differs.
    ``names``: the names of a tuple's items (``("dX", "dW", "db")``), used in place of "item 0", "item 1"."""
    where = f"{path}: " if path else ""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{where}returned {_describe(got)}; expected a dict with keys {sorted(expected)}"
        if set(got) != set(expected):
            return f"{where}returned the keys {sorted(got)}; expected {sorted(expected)}, as nn.backward names them"
        wrong = [k for k in expected if _difference(got[k], expected[k]) is not None]
        if wrong:
            right = [k for k in expected if k not in wrong]
            return (f"{where}{', '.join(wrong)} differ" + (f" ({', '.join(right)} are right)" if right else "")
                    + ": " + _difference(got[wrong[0]], expected[wrong[0]], wrong[0]))
        return None
    if isinstance(expected, tuple):
        named = names is not None and len(names) == len(expected)
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return (f"{where}returned {_describe(got)}; expected a tuple of {len(expected)} items"
                    + (f", ({', '.join(names)})" if named else ""))
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = _difference(g, e, f"{path}[{i}]" if path else names[i] if named else f"item {i}")
            if problem:
                return problem
        return None
    if isinstance(got, tuple) and len(got) > 1 and _difference(got[0], expected) is None:
        return (f"{where}returned a tuple of {len(got)} items whose first is the right result: return that "
                f"alone, {_describe(expected)}")
    try:
        g = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"{where}returned {_describe(got)}; expected {_describe(expected)}"
    e = np.asarray(expected, dtype=float)
    if g.shape != e.shape:
        if e.ndim == 0 and g.size == 1:
            return (f"{where}returned an array of shape {g.shape} holding the number; expected a plain number: "
                    f"return float(...) of it, or index the one entry")
        if g.size == e.size and g.ndim > e.ndim and tuple(d for d in g.shape if d != 1) == tuple(
                d for d in e.shape if d != 1):
            return (f"{where}the result has shape {g.shape}; expected {e.shape}: an extra axis of length 1 "
                    f"(keepdims=True, or a reshape) that the expected result does not have")
        if g.ndim == 2 and g.shape == e.shape[::-1] and np.allclose(g.T, e, rtol=1e-4, atol=1e-6):
            return (f"{where}shapes transposed: the result is {g.shape}, the transpose of the expected "
                    f"{e.shape}. Samples are rows: X is (n, 784) and W1 is (784, d1)")
        return f"{where}the result has shape {g.shape}; expected {e.shape}"
    if not np.all(np.isfinite(g)):
        return f"{where}the result holds nan or inf"
    if np.allclose(g, e, rtol=1e-4, atol=1e-6):
        return None
    worst = np.unravel_index(np.argmax(np.abs(g - e)), e.shape) if e.ndim else ()
    at = f" at index {tuple(int(i) for i in worst)}" if e.ndim else ""
    return f"{where}wrong values{at}: got {g[worst]:.6g}, expected {e[worst]:.6g}"


def _same(got, wrong) -> bool:
    """Does the learner's result equal a known-wrong variant's (NaN where it has NaN)?"""
    if isinstance(wrong, dict):
        return isinstance(got, dict) and set(got) == set(wrong) and all(_same(got[k], wrong[k]) for k in wrong)
    if isinstance(wrong, tuple):
        return isinstance(got, (tuple, list)) and len(got) == len(wrong) and all(map(_same, got, wrong))
    try:
        g, w = np.asarray(got, dtype=float), np.asarray(wrong, dtype=float)
    except (TypeError, ValueError):
        return False
    return g.shape == w.shape and np.allclose(g, w, rtol=1e-4, atol=1e-6, equal_nan=True)


def against(reference, mistakes=(), names=None):
    """A diagnose function: compare with ``reference``; when different, name the first known mistake
    (a ``(variant, message)`` pair) whose variant gives the same result or raises the same exception.
    ``names``: the names of the items of a tuple result (``("dX", "dW", "db")``); by default those of the
    reference's ``return`` line, when it returns a tuple of names."""
    item_names = names if names is not None else _return_names(reference) or _docstring_names(sys._getframe(1))

    def diagnose(got, args, error=None):
        if error is None:
            problem = _difference(got, _quiet(reference, args), names=item_names)
            if problem is None:
                return None
        for variant, message in mistakes:
            try:
                wrong = _quiet(variant, args)
            except Exception as err:  # a variant that crashes the same way as the learner's code
                if error is not None and type(err) is type(error) and str(err) == str(error):
                    return message
                continue
            if error is None and _same(got, wrong):
                return message
        return problem if error is None else None

    diagnose.reference = reference
    return diagnose


def _properties(fn, check_result):
    """A diagnose function for a checker with no single right answer (a random split, random weights):
    ``check_result(fn, got, args)`` says what is wrong with ``got``, or None."""

    def diagnose(got, args, error=None):
        return None if error is not None else check_result(fn, got, args)

    return diagnose


def _run(name, fn, cases, diagnose, reference_name, may_change=None):
    """Run ``fn`` on each ``(label, args)`` case; print and record one verdict. ``may_change``: the positions of
    the arguments ``fn`` may change in place (default ``MAY_CHANGE[name]``, else none)."""
    if not callable(fn):
        return _verdict(name, False, f"{name}: expected your function, got {_describe(fn)}. "
                                     f"Pass the function itself: check.{name}(my_{name}), without ().")
    own = None if _package_allowed else _own_function(name, fn, reference_name, diagnose)
    if own:
        return _verdict(name, False, own)
    may_change = MAY_CHANGE.get(name, set()) if may_change is None else set(may_change)
    for label, args in cases:
        try:
            got, changed = _call_watched(fn, args, may_change)
            if got is None:
                updated = _changed_argument(fn, args, _last_copies, set())
                if updated:
                    top = updated.split("[")[0].split(".")[0]
                    return _verdict(name, False, f"{name}: your function returned None on {label}: it updates "
                                                 f"{top} in place ({updated}) but returns nothing. The caller uses "
                                                 f"what it returns: end with `return {top}`"
                                                 + (", and the rest of the result" if len(may_change) > 1 else "")
                                                 + ".")
                return _verdict(name, False, f"{name}: your function returned None on {label}. "
                                             f"Did you forget the `return` line?")
            try:
                problem = diagnose(got, args)
            except (_Placeholder, _TooSlow):
                raise
            except Exception as err:
                if _raising_line(err):         # the learner's code raised (the checker called it again)
                    raise
                reason = str(err).split(". ")[0]
                problem = (f"returned {_describe(got)}, which cannot be read as the expected result "
                           f"({type(err).__name__}: {reason})")
        except _Placeholder:
            return _verdict(name, False, NOT_DONE.format(name=name))
        except _TooSlow as slow:
            return _verdict(name, False, _too_slow(name, label, slow))
        except Exception as err:
            try:
                hint = diagnose(None, args, error=err)
            except Exception:
                hint = None
            hint = hint or _missing_key(fn, args, err)
            text = f"{name}: your function raised {type(err).__name__} on {label}: {err}"
            line = _raising_line(err)
            if line:
                text += f"\n  The line that raised, {line}"
            return _verdict(name, False, text + (f"\n  Likely cause: {hint}." if hint else ""))
        if changed:
            change = CHANGED.format(where=changed)
            if problem and ("in place" in problem or "changes" in problem):    # the diagnosis says it already
                return _verdict(name, False, f"{name}: not right yet on {label}.\n  {_sentence(problem)}.")
            if problem:
                return _verdict(name, False, f"{name}: not right yet on {label}.\n  {_sentence(problem)}.\n  "
                                             f"And {change}.")
            return _verdict(name, False, f"{name}: the values are right on {label}, but {change}.")
        if problem:
            return _verdict(name, False, f"{name}: not right yet on {label}.\n  {_sentence(problem)}.")
    labels = "; ".join(label for label, _ in cases)
    ok = _verdict(name, True, f"{name}: correct! It agrees with {reference_name} on {len(cases)} cases "
                              f"({labels}).")
    if _keeping:
        print(_kept.keep(name, fn, [n for names in EXERCISES.values() for n in names]))   # for the capstone of 05
    return ok


def _too_slow(name, label, slow) -> str:
    text = (f"{name}: your function was still running after {TIME_LIMIT:g} s on {label}, a case that takes a "
            f"right answer milliseconds, so the checker stopped it.")
    if slow.where:
        text += f"\n  It was at {slow.where}"
    text += ("\n  Look for a loop that never ends: a `while` whose condition never turns False (is the "
             "variable it tests updated inside the loop?), or a loop over a list that grows as it runs.")
    if slow.stuck:
        text += ("\n  (It is still busy inside one long NumPy call and stops when that call returns; if the "
                 "kernel stays busy, restart it.)")
    return text


def _sentence(problem: str) -> str:
    """The diagnosis with a capital letter, unless it starts with a name from the code (b1, dZ2, W1 ...),
    whose case is part of the name."""
    raw = problem.split(maxsplit=1)[0]
    first = raw.strip(",:;.")
    code_name = (any(c.isdigit() for c in first) or any(c.isupper() for c in first[1:])
                 or raw.endswith(":") and first.isidentifier() or "." in first or "_" in first)
    return problem if code_name else problem[0].upper() + problem[1:]


def _verdict(name, ok, text):
    if _keeping:
        results[name] = ok
    print(text)
    return ok


@contextlib.contextmanager
def not_keeping():
    """Run checkers without keeping what they accept or recording their verdicts (``my_network`` re-checks
    the kept pieces this way)."""
    global _keeping
    before, _keeping = _keeping, False
    try:
        yield
    finally:
        _keeping = before


@contextlib.contextmanager
def package_allowed():
    """Check the package's own functions like a learner's (the tests use it to see that every checker accepts
    its reference); outside it, a checker says that such a function is not the learner's and counts nothing."""
    global _package_allowed
    before, _package_allowed = _package_allowed, True
    try:
        yield
    finally:
        _package_allowed = before


def _solved(names, kept) -> list:
    return [n for n in names if results.get(n) or n in kept]


def progress(notebook: str | None = None) -> None:
    """Print how many exercises of ``notebook`` ("01", "02", ...) are solved, or of the whole series when
    ``notebook`` is None. Solved: accepted in this session, or kept in ``my_network.py`` from an earlier one
    (see ``check/_kept.py``), so the count survives a kernel restart; the line says which count only
    because they are kept, and how to start over."""
    kept = set(_kept.kept_names())
    if notebook is None:
        names = [n for key in EXERCISES for n in EXERCISES[key]]
        solved = _solved(names, kept)
        per = ", ".join(f"{key}: {len(_solved(EXERCISES[key], kept))}/{len(EXERCISES[key])}" for key in EXERCISES)
        done = ". All done, well done!" if len(solved) == len(names) else ""
        print(f"{len(solved)} of {len(names)} exercises of the series solved ({per}){done}")
        return
    if notebook not in EXERCISES:
        print(f"progress: no notebook {notebook!r} has exercises; one of {', '.join(EXERCISES)}.")
        return
    names = EXERCISES[notebook]
    solved = _solved(names, kept)
    todo = [n for n in names if n not in solved]
    line = f"{len(solved)} of {len(names)} exercises solved in this notebook"
    print(line + (f". Still to do: {', '.join(todo)}." if todo else ". All done, well done!"))
    earlier = [n for n in solved if n in kept and not results.get(n)]
    if earlier:
        print(f"  ({', '.join(earlier)}: solved earlier and kept in {_kept.FILE_NAME}. To solve "
              f"{'it' if len(earlier) == 1 else 'them'} afresh, run check.start_over(\"{notebook}\").)")


def start_over(notebook: str) -> None:
    """Start the count of ``notebook``'s exercises over: its kept blocks move from ``my_network.py`` to
    ``my_network.before-STAMP.py`` beside it (nothing is deleted), and this session's verdicts are forgotten."""
    if notebook not in EXERCISES:
        print(f"start_over: no notebook {notebook!r} has exercises; one of {', '.join(EXERCISES)}.")
        return
    for name in EXERCISES[notebook]:
        results.pop(name, None)
    aside = _kept.start_over(EXERCISES[notebook])
    if aside is None:
        print(f"Notebook {notebook}: nothing was kept; its count starts from 0.")
    else:
        print(f"Notebook {notebook}: its count starts from 0. Your earlier solutions are in {aside.name}, "
              f"beside {_kept.FILE_NAME}.")


def _rng(seed):
    """The generator of a case table. With ``NN_CHECK_SEED`` set (``python3 dev.py grade --seed N``), every
    table draws fresh numbers from it, so that outputs learned by heart from the fixed cases fail."""
    fresh = os.environ.get("NN_CHECK_SEED", "")
    return np.random.default_rng([int(fresh), seed] if fresh.isdigit() else seed)


# Cases shared by the checkers of several notebooks


def _net(sizes, n, seed, dtype=np.float64):
    """Parameters as nn.init_params makes them, with non-zero biases (a missing bias must show), and X."""
    params = _init_params(sizes, init="he", seed=seed, dtype=dtype)
    rng = _rng(seed + 100)
    for key in params:
        if key.startswith("b"):
            params[key] = rng.normal(0, 0.5, params[key].shape).astype(dtype)
    return params, rng.random((n, sizes[0])).astype(dtype)


def _ce_case(n, k, seed):
    rng = _rng(seed)
    return _softmax(rng.normal(0, 2, (n, k))), rng.integers(0, k, n)
