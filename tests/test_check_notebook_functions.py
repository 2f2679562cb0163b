"""No function a notebook defines passes one of its exercises' checkers: assigning the worked code of the next
cell (``my_backward = backward_deep``) is not a way through. Every function, class and constant each notebook
defines at the top level of a code cell (not its exercise cells) is run in a ``__main__`` namespace, as in the
notebook, and every function is handed to each of the notebook's checkers. The checkers refuse the notebook's
worked functions by name (``_core.WORKED``) or reject what they compute.

The notebooks of 11 and 12 are added to NOTEBOOKS (and their worked functions to ``_core.WORKED``) once their
exercises are made uncopyable."""

import ast
import contextlib
import io
import json
from pathlib import Path

import pytest

from nn_helpers import check
from nn_helpers.check import _core

ROOT = Path(__file__).resolve().parent.parent

#: The notebooks whose functions are handed to their checkers.
NOTEBOOKS = ["01", "02", "03", "04", "05", "06", "07", "08"]


def notebook_functions(key: str) -> dict:
    """name -> function, for every function the notebook ``key`` defines, with its imports, classes,
    helpers and literal constants in one ``__main__`` namespace (no data, no training: nothing else runs)."""
    path = next((ROOT / "notebooks").glob(f"{key}_*.ipynb"))
    namespace = {"__name__": "__main__"}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code" or "exercise" in cell.get("metadata", {}):
            continue
        code = "\n".join(line for line in "".join(cell["source"]).splitlines()
                         if not line.lstrip().startswith(("%", "!")))
        for node in ast.parse(code).body:
            if isinstance(node, ast.Assign):
                try:
                    ast.literal_eval(node.value)
                except ValueError:
                    continue
            elif not isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
                continue
            try:      # a statement that needs what the notebook computes (data, a widget) is left out
                exec(compile(ast.Module([node], []), f"<{path.name}>", "exec"), namespace)
            except Exception:
                continue
    return {name: value for name, value in namespace.items()
            if callable(value) and not isinstance(value, type) and getattr(value, "__module__", None) == "__main__"}


@pytest.mark.parametrize("key", NOTEBOOKS)
def test_no_function_of_the_notebook_passes_its_checkers(key):
    functions = notebook_functions(key)
    passed = []
    for checker in check.EXERCISES[key]:
        for name, fn in functions.items():
            with _core.not_keeping(), contextlib.redirect_stdout(io.StringIO()) as out:
                if getattr(check, checker)(fn) is not False:
                    passed.append((checker, name, out.getvalue()))
    assert passed == []


def test_the_worked_functions_are_refused_by_name_and_say_where_they_are(capsys):
    functions = notebook_functions("04")
    for checker in ("backward", "backward_tanh", "backward_deep"):
        assert getattr(check, checker)(functions["backward_deep"]) is False
        out = capsys.readouterr().out
        assert out.startswith(f"{checker}: that is backward_deep, notebook 04's backward pass for any depth"), out
        assert "not counted" in out and f"my_{checker}" in out
    assert check.softmax(notebook_functions("03")["softmax"]) is False
    assert "notebook 03's worked softmax" in capsys.readouterr().out
