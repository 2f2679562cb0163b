"""The machinery shared by every checker: running the cases, comparing with the reference, naming the mistake, the verdicts and
progress."""

from __future__ import annotations

import ast
import contextlib
import copy
import dis
import inspect
import textwrap
import warnings

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
    "12": ["value_mul", "topological_order", "matmul_vjp", "unbroadcast"],
}

#: The latest verdict of each checker run in this session: name -> True (correct) / False.
results: dict = {}

#: False while ``not_keeping()`` is on: a verdict is neither kept in my_network.py nor recorded in ``results``.
_keeping = True

_kept.WHERE.update({name: (key, i) for key, names in EXERCISES.items() for i, name in enumerate(names, 1)})

NOT_DONE = ("{name}: not done yet. Write your code in place of `raise NotImplementedError` in the cell above, "
            "run it, then run this cell again.")


class _Placeholder(Exception):
    """The learner's function is still the skeleton."""


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


def _call(fn, args):
    """Run the learner's function on copies of ``args`` with warnings silenced (the checker explains them)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            out = fn(*copy.deepcopy(args))
        except NotImplementedError:
            raise _Placeholder from None
    if out is None and _is_placeholder_body(fn):
        raise _Placeholder
    return out


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


def _difference(got, expected, path: str = "") -> str | None:
    """None when ``got`` equals ``expected`` (arrays to float precision, NaN never equal), else what differs."""
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
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"{where}returned {_describe(got)}; expected a tuple of {len(expected)} items"
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = _difference(g, e, f"{path}[{i}]" if path else f"item {i}")
            if problem:
                return problem
        return None
    try:
        g = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"{where}returned {_describe(got)}; expected {_describe(expected)}"
    e = np.asarray(expected, dtype=float)
    if g.shape != e.shape:
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


def against(reference, mistakes=()):
    """A diagnose function: compare with ``reference``; when different, name the first known mistake
    (a ``(variant, message)`` pair) whose variant gives the same result or raises the same exception."""

    def diagnose(got, args, error=None):
        if error is None:
            problem = _difference(got, _quiet(reference, args))
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

    return diagnose


def _properties(fn, check_result):
    """A diagnose function for a checker with no single right answer (a random split, random weights):
    ``check_result(fn, got, args)`` says what is wrong with ``got``, or None."""

    def diagnose(got, args, error=None):
        return None if error is not None else check_result(fn, got, args)

    return diagnose


def _run(name, fn, cases, diagnose, reference_name):
    """Run ``fn`` on each ``(label, args)`` case; print and record one verdict."""
    if not callable(fn):
        return _verdict(name, False, f"{name}: expected your function, got {_describe(fn)}. "
                                     f"Pass the function itself: check.{name}(my_{name}), without ().")
    for label, args in cases:
        try:
            got = _call(fn, args)
            if got is None:
                return _verdict(name, False, f"{name}: your function returned None on {label}. "
                                             f"Did you forget the `return` line?")
            problem = diagnose(got, args)
        except _Placeholder:
            return _verdict(name, False, NOT_DONE.format(name=name))
        except Exception as err:
            hint = diagnose(None, args, error=err)
            text = f"{name}: your function raised {type(err).__name__} on {label}: {err}"
            return _verdict(name, False, text + (f"\n  Likely cause: {hint}." if hint else ""))
        if problem:
            return _verdict(name, False, f"{name}: not right yet on {label}.\n  {_sentence(problem)}.")
    labels = "; ".join(label for label, _ in cases)
    ok = _verdict(name, True, f"{name}: correct! It agrees with {reference_name} on {len(cases)} cases "
                              f"({labels}).")
    if _keeping:
        print(_kept.keep(name, fn, [n for names in EXERCISES.values() for n in names]))   # for the capstone of 05
    return ok


def _sentence(problem: str) -> str:
    """The diagnosis with a capital letter, unless it starts with a name from the code (b1, dZ2, W1 ...),
    whose case is part of the name."""
    first = problem.split(maxsplit=1)[0].strip(",:;.")
    code_name = any(c.isdigit() for c in first) or any(c.isupper() for c in first[1:])
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
    return np.random.default_rng(seed)


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
