"""Your accepted code, kept: each function a checker accepts is written into ``my_network.py``, so that the
capstone of notebook 05 (and any later notebook) can import the network you built, and ``check.progress``
still counts your solved exercises after a kernel restart.

The file lives in the folder named by the environment variable ``NN_LEARNER_DIR``, or the kernel's working
folder when it is not set (the tests point it at a temporary folder). It is plain Python, one block per
exercise, in the order of the series; a block is replaced when its checker accepts a new version. Its end
binds your pieces to the names the training loop of notebook 05 calls (``forward``, ``backward``,
``sgd_step``, ``minibatches``), so ``import my_network`` gives a network made of your own code.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import inspect
import linecache
import os
import re
import textwrap
import time
import types
from pathlib import Path

FILE_NAME = "my_network.py"

#: Where each exercise is: checker name -> (notebook, exercise number there).
WHERE: dict = {}     # filled from EXERCISES by _core

#: The pieces the capstone of notebook 05 trains with.
CAPSTONE = ("he_init", "layer", "softmax", "cross_entropy", "backward", "sgd_step", "minibatches", "train_epoch")

#: Names the training loop calls that this file binds to your pieces: never copied from a notebook.
LOOP_NAMES = ("forward", "backward", "sgd_step", "minibatches")

_BLOCK = re.compile(r"^# ==== (\w+): (\w+) ====\n(.*?)(?=^# ==== )", re.S | re.M)
#: The comment under a block's header (written by ``_write``, never part of the learner's code).
_ACCEPTED = re.compile(r"\A(?:# notebook [^\n]*: accepted by check\.\w+\n|\n)*")

HEADER = '''"""Your network: every function below was accepted by a checker of nn_helpers.check, and kept here.

Written by nn_helpers.check: one block per exercise, replaced when you solve it again; edit the notebooks,
not this file. The end binds your pieces to the names the training loop of notebook 05 calls.
"""

import numpy as np

import nn_helpers as nn

'''


def learner_dir() -> Path:
    """The folder of ``my_network.py``: ``$NN_LEARNER_DIR``, or the working folder."""
    return Path(os.environ.get("NN_LEARNER_DIR") or Path.cwd())


def learner_file() -> Path:
    return learner_dir() / FILE_NAME


def _blocks(path: Path) -> dict:
    """checker name -> (function name, block source without its "accepted by" comment), in the file's order."""
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8") + "# ==== "
    return {m.group(1): (m.group(2), _ACCEPTED.sub("", m.group(3)).strip("\n")) for m in _BLOCK.finditer(text)}


def kept_names() -> list:
    """The checkers whose accepted function is kept."""
    return list(_blocks(learner_file()))


def _globals_used(code: types.CodeType) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _globals_used(const)
    return names


def _dependencies(fn, seen: set) -> list:
    """Source lines for what ``fn`` takes from its notebook: modules, small constants, helper functions."""
    lines = []
    for name in sorted(_globals_used(fn.__code__)):
        if name in seen or name in LOOP_NAMES or name in ("np", "nn") or hasattr(builtins, name):
            continue
        if name not in fn.__globals__:
            continue                                # an attribute name, or defined later
        seen.add(name)
        value = fn.__globals__[name]
        if isinstance(value, types.ModuleType):
            lines.append(f"import {value.__name__} as {name}" if value.__name__ != name else f"import {name}")
        elif isinstance(value, (bool, int, float, str, type(None))):
            lines.append(f"{name} = {value!r}")
        elif isinstance(value, types.FunctionType) and value.__name__ != "<lambda>":
            if value.__module__ not in ("__main__", fn.__module__):
                lines.append(f"from {value.__module__} import {value.__name__} as {name}")
                continue
            try:
                source = textwrap.dedent(inspect.getsource(value)).strip("\n")
            except (OSError, TypeError):
                lines.append(f"# {name}: a function of your notebook whose source could not be read")
                continue
            lines += _dependencies(value, seen) + [source]
        else:
            where = _importable(value)
            if where:
                module, qualname = where
                lines.append(f"from {module} import {qualname}" + (f" as {name}" if name != qualname else ""))
            elif isinstance(value, (types.FunctionType, type)) and getattr(value, "__module__", None) == "__main__":
                try:          # a class (or a lambda) of the notebook: its source
                    source = textwrap.dedent(inspect.getsource(value)).strip("\n")
                except (OSError, TypeError):
                    source = None
                if source and source.startswith(("class ", "def ", "@")):
                    lines.append(source)
                else:
                    lines.append(f"# {name}: used from your notebook ({type(value).__name__}), not kept here")
            else:
                lines.append(f"# {name}: used from your notebook ({type(value).__name__}), not kept here")
    return lines


def _importable(value) -> tuple | None:
    """``(module, name)`` such that ``from module import name`` gives back ``value`` itself (a class such as
    ``Value``, a NumPy function such as ``sliding_window_view`` or ``np.exp``), or None."""
    qualname = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    if not isinstance(qualname, str) or not qualname.isidentifier():
        return None
    candidates = [getattr(value, "__module__", None), "numpy", "math"]
    for module_name in dict.fromkeys(m for m in candidates if isinstance(m, str) and m != "__main__"):
        try:
            module = importlib.import_module(module_name)
        except Exception:
            continue
        if getattr(module, qualname, None) is value:
            return module_name, qualname
    return None


def _source(fn) -> str | None:
    """The function's source with what it needs from its notebook, or None when it cannot be kept."""
    if not isinstance(fn, types.FunctionType) or fn.__name__ == "<lambda>":
        return None
    try:
        source = textwrap.dedent(inspect.getsource(fn)).strip("\n")
    except (OSError, TypeError):
        return None
    if not source.startswith(("def ", "@")):
        return None
    return "\n\n".join([*_dependencies(fn, {fn.__name__}), source])


def _wiring(blocks: dict) -> str:
    """The loop's names bound to the learner's pieces, for those that are kept."""
    fn = {name: function for name, (function, _) in blocks.items()}
    lines = ["# ==== the pieces under the names the training loop calls ====", ""]
    if "layer" in fn and "softmax" in fn:
        lines += ["def forward(params, X):",
                  f'    """Your forward pass, with the cache backward needs: your {fn["layer"]} (02), ReLU, your '
                  f'{fn["softmax"]} (03)."""',
                  f'    Z1 = {fn["layer"]}(X, params["W1"], params["b1"])',
                  "    A1 = np.maximum(Z1, 0)",
                  f'    Z2 = {fn["layer"]}(A1, params["W2"], params["b2"])',
                  f'    A2 = {fn["softmax"]}(Z2)',
                  '    return A2, {"A0": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}', "", ""]
    for name, function in fn.items():      # each piece under its exercise's name too: net.train_epoch, ...
        if name != "forward" and name != function:    # "forward" is the loop's, with the cache, above
            lines.append(f"{name} = {function}")
    return "\n".join(lines).rstrip("\n") + "\n"


def _write(path: Path, blocks: dict, order: list) -> None:
    ordered = sorted(blocks, key=lambda name: order.index(name) if name in order else len(order))
    parts = [HEADER]
    for name in ordered:
        function, source = blocks[name]
        notebook, number = WHERE.get(name, ("?", "?"))
        parts.append(f"# ==== {name}: {function} ====\n# notebook {notebook}, exercise {number}: accepted by "
                     f"check.{name}\n\n{source}\n\n\n")
    parts.append(_wiring(blocks))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(parts), encoding="utf-8")
    tmp.replace(path)


def keep(name: str, fn, order: list) -> str:
    """Keep ``fn``, accepted by ``check.<name>``; returns a line to print after the verdict."""
    source = _source(fn)
    if source is None:
        return (f"  (Not kept in {FILE_NAME}: its source cannot be read. Define it with `def` in a cell to "
                f"keep it for the capstone.)")
    path = learner_file()
    try:
        blocks = _blocks(path)
        blocks[name] = (fn.__name__, source)
        _write(path, blocks, order)
    except OSError as err:
        return f"  (Not kept: {path.name} could not be written: {err}.)"
    return f"  Kept in {FILE_NAME}" + (", for the capstone of notebook 05." if name in CAPSTONE else ".")


def where(name: str) -> str:
    """``"exercise 2 of notebook 04"`` for checker ``name``."""
    notebook, number = WHERE.get(name, ("?", "?"))
    return f"exercise {number} of notebook {notebook}"


def _load_block(module: types.ModuleType, name: str, function: str, source: str, path: Path) -> str | None:
    """Run one kept block in ``module``; None when it defines ``function``, else what is wrong with it."""
    filename = f"{path} (block {name})"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # for inspect.getsource
    try:
        exec(compile(source, filename, "exec"), module.__dict__)
    except Exception as err:
        return (f"its block in {FILE_NAME} fails when it runs: {type(err).__name__}: {err}. Solve the "
                f"exercise again, with everything the function needs inside it")
    if not callable(module.__dict__.get(function)):
        return (f"its block in {FILE_NAME} no longer defines {function} (the header says `# ==== {name}: "
                f"{function} ====`): was the function renamed or deleted? Solve the exercise again")
    return None


def _recheck(name: str, fn) -> str | None:
    """Run ``check.<name>`` on a kept function without keeping it again: None when it still passes, else
    the checker's diagnosis."""
    from . import _core        # here, not at the top: _core imports this module
    from .. import check

    out = io.StringIO()
    with _core.not_keeping(), contextlib.redirect_stdout(out):
        ok = getattr(check, name)(fn)
    return None if ok else out.getvalue().strip()


def my_network(needed=()) -> types.ModuleType:
    """Your kept pieces from ``my_network.py``, as a module: each under its exercise's name (``net.layer``,
    ``net.train_epoch``, ...) and the loop's ``net.forward`` (with the cache).

    Each block is run on its own, and each of the ``needed`` pieces is checked again by its checker, so a
    block edited by hand into a wrong one is caught before any training. ``net.missing`` lists the
    ``needed`` pieces that are not kept, or whose block fails or no longer passes its checker, as (name,
    notebook, exercise number); ``net.problems`` says what is wrong with each of those (printed too)."""
    path = learner_file()
    blocks = _blocks(path)
    module = types.ModuleType("my_network", f"Your kept pieces, from {FILE_NAME}.")
    module.__file__ = str(path)
    exec("import numpy as np\nimport nn_helpers as nn", module.__dict__)
    problems = {name: f"not solved yet: no block for it in {FILE_NAME}" for name in needed if name not in blocks}
    loaded = {}
    for name, (function, source) in blocks.items():
        problem = _load_block(module, name, function, source, path)
        if problem:
            problems[name] = problem
        else:
            loaded[name] = (function, source)
    exec(_wiring(loaded), module.__dict__)
    for name in needed:
        if name in loaded:
            diagnosis = _recheck(name, module.__dict__[loaded[name][0]])
            if diagnosis:
                problems[name] = f"kept, but no longer passes check.{name}:\n    " + diagnosis.replace("\n", "\n    ")
    module.problems = {name: problems[name] for name in needed if name in problems}
    module.missing = [(name, *WHERE.get(name, ("?", "?"))) for name in needed if name in problems]
    for name, problem in module.problems.items():
        if name in blocks:
            print(f"{name} ({where(name)}): {problem}")
    return module


def start_over(notebook_names: list, stamp: str | None = None) -> Path | None:
    """Move the kept blocks of ``notebook_names`` out of ``my_network.py`` into ``my_network.before-STAMP.py``
    beside it (nothing is deleted); returns that file, or None when none of them was kept."""
    path = learner_file()
    blocks = _blocks(path)
    moved = {name: blocks.pop(name) for name in notebook_names if name in blocks}
    if not moved:
        return None
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.stem}.before-{stamp}{path.suffix}")
    order = sorted(WHERE, key=WHERE.get)
    _write(aside, moved, order)
    _write(path, blocks, order)
    return aside
