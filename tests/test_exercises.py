"""The exercises of the notebooks (tools/exercises.py puts them in): each is a task, a folded hint, a skeleton, a
checker cell and a folded solution, placed before the worked code that would answer it; the stored notebooks
hold the unsolved skeletons, nothing else in a notebook uses the learner's functions, the tool leaves the stored
notebooks as they are, and the solutions in the ``<details>`` blocks, put into the skeletons, satisfy every
checker.

The solved run is quick: it executes, per notebook, only its import cell and its exercise cells (each
checker builds its own cases), not the whole notebook, which nbval already runs. The notebooks share one
kernel (its start-up was nearly all of the run's time); each starts from an empty namespace, a freshly
imported nn_helpers (no verdicts of another notebook) and a learner folder of its own.
"""

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager
from nbclient import NotebookClient

from nn_helpers import check

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = {path.name[:2]: path for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
             if '"exercise"' in path.read_text(encoding="utf-8")}  # the numbered notebooks that hold exercises


def cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell):
    return "".join(cell["source"])


def exercise_cells(path, part):
    return [c for c in cells(path) if c.get("metadata", {}).get("exercise", {}).get("part") == part]


def solution_code(cell):
    match = re.fullmatch(r"<details><summary>Solution</summary>\n\n```python\n(.*)\n```\n\n</details>",
                         source(cell), re.S)
    assert match, source(cell)
    return match.group(1)


def folded_text(cell, title):
    match = re.fullmatch(rf"<details><summary>{title}</summary>\n\n(.*)\n\n</details>", source(cell), re.S)
    assert match, source(cell)
    return match.group(1)


def tool():
    spec = importlib.util.spec_from_file_location("exercises_tool", ROOT / "tools" / "exercises.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # a dataclass needs its module registered
    spec.loader.exec_module(module)
    return module


def code_lines(text):
    """The expressions of the lines worth comparing (what follows ``return`` or ``name =``), comments and short
    ones (``grads``, ``len(y)``) left out."""
    lines = (line.split("#")[0].strip() for line in text.splitlines())
    lines = (re.sub(r"^(return\s+|[\w\[\], \"]+\s=\s)", "", line) for line in lines if not line.startswith("def "))
    return {line for line in lines if len(line) >= 25}


def test_every_notebook_has_its_exercises():
    assert sorted(NOTEBOOKS) == sorted(check.EXERCISES)
    for key, path in NOTEBOOKS.items():
        names = [c["metadata"]["exercise"]["name"] for c in exercise_cells(path, "check")]
        assert names == check.EXERCISES[key], path.name
        assert 1 <= len(names) <= 5      # 06 keeps one since sgd_step and minibatches moved to 05
        assert source(cells(path)[-1]) == f'check.progress("{key}")', f"{path.name} must end with its progress"


def test_readme_counts_the_exercises():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for key, path in NOTEBOOKS.items():
        row = next(line for line in readme.splitlines() if line.startswith("| [") and f"({path.relative_to(ROOT)})" in line)
        assert row.rstrip(" |").endswith(f"| {len(check.EXERCISES[key])}"), row


@pytest.mark.parametrize("key", sorted(check.EXERCISES))
def test_each_exercise_is_task_hint_skeleton_check_solution(key):
    parts = [(c["metadata"]["exercise"]["name"], c["metadata"]["exercise"]["part"]) for c in cells(NOTEBOOKS[key])
             if "exercise" in c.get("metadata", {}) and c["metadata"]["exercise"]["name"] != "progress"]
    expected = [(name, part) for name in check.EXERCISES[key] for part in ("task", "hint", "skeleton", "check", "solution")]
    assert parts == expected, "every exercise needs a hint: add it to its entry in tools/exercises.py"
    by_part = {(c["metadata"]["exercise"]["name"], c["metadata"]["exercise"]["part"]): c for c in cells(NOTEBOOKS[key])
               if "exercise" in c.get("metadata", {})}
    for name in check.EXERCISES[key]:
        hint = folded_text(by_part[name, "hint"], "Hint")
        copied = code_lines(solution_code(by_part[name, "solution"])) & code_lines(hint)
        assert hint.strip() and not copied, f"{name}: the hint gives the solution's code {copied}"


@pytest.mark.parametrize("key", sorted(check.EXERCISES))
def test_no_exercise_has_its_answer_above_it(key):
    """The learner tries first: no line of a solution stands in a (non-exercise) code cell above its exercise."""
    above = ""
    for c in cells(NOTEBOOKS[key]):
        part = c.get("metadata", {}).get("exercise", {}).get("part")
        if part == "solution":
            copied = code_lines(solution_code(c)) & code_lines(above)
            assert not copied, f"{c['metadata']['exercise']['name']}: the worked code above holds {copied}"
        elif part is None and c["cell_type"] == "code":
            above += source(c) + "\n"


def test_the_tool_leaves_the_stored_notebooks_unchanged(tmp_path):
    exercises = tool()
    exercises.NOTEBOOKS = tmp_path
    for path in NOTEBOOKS.values():
        shutil.copy(path, tmp_path / path.name)
        assert exercises.apply(tmp_path / path.name) is False, f"run python tools/exercises.py {path.name}"
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()


def test_the_tool_writes_the_same_bytes_twice(tmp_path):
    exercises = tool()
    path = next(iter(NOTEBOOKS.values()))
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"] = [c for c in nb["cells"] if "exercise" not in c.get("metadata", {})]   # as if new
    (tmp_path / path.name).write_text(json.dumps(nb, indent=1), encoding="utf-8", newline="\n")
    exercises.NOTEBOOKS = tmp_path
    assert exercises.apply(tmp_path / path.name) is True
    once = (tmp_path / path.name).read_bytes()
    assert exercises.apply(tmp_path / path.name) is False and (tmp_path / path.name).read_bytes() == once
    assert b"\r\n" not in once


def test_an_exercise_can_go_before_its_anchor(tmp_path):
    exercises = tool()
    nb = {"cells": [{"cell_type": "code", "id": "a", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": ["import nn_helpers as nn"]},
                    {"cell_type": "markdown", "id": "b", "metadata": {}, "source": ["the idea"]},
                    {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": ["worked = code"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "99_test.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    exercises.EXERCISES = {path.name: [exercises.ex("worked = code", "softmax", "Task.", "Hint.", "def my_softmax(Z):",
                                                    "    return Z", before=True)]}
    exercises.apply(path)
    out = [source(c) for c in cells(path)]
    assert out[0] == "import nn_helpers as nn\nfrom nn_helpers import check" and out[1] == "the idea"
    assert out[2].startswith("**Exercise 1: `my_softmax`.** Task.") and out[3].startswith("<details><summary>Hint")
    assert out[7] == "worked = code" and out[-1] == 'check.progress("99")'


@pytest.mark.parametrize("key", sorted(check.EXERCISES))
def test_stored_notebook_holds_the_skeletons_and_not_done_outputs(key):
    path = NOTEBOOKS[key]
    for skeleton, checker in zip(exercise_cells(path, "skeleton"), exercise_cells(path, "check")):
        assert source(skeleton).endswith("    # your code here\n    raise NotImplementedError"), source(skeleton)
        name = checker["metadata"]["exercise"]["name"]
        texts = ["".join(out.get("text", "")) for out in checker["outputs"]]
        assert texts == [check.NOT_DONE.format(name=name) + "\n"], (path.name, name, texts)
    progress = cells(path)[-1]["outputs"]
    assert "".join(progress[0]["text"]).startswith(f"0 of {len(check.EXERCISES[key])} exercises solved")


@pytest.mark.parametrize("key", sorted(check.EXERCISES))
def test_nothing_else_uses_the_learners_functions(key):
    path = NOTEBOOKS[key]
    mine = set(re.findall(r"def (my_\w+)\(", "".join(source(c) for c in exercise_cells(path, "skeleton"))))
    assert len(mine) == len(check.EXERCISES[key])
    for i, cell in enumerate(cells(path)):
        if cell["cell_type"] == "code" and "exercise" not in cell.get("metadata", {}):
            used = mine & set(re.findall(r"\bmy_\w+", source(cell)))
            assert not used, f"{path.name}: cell {i} uses {used}; exercises must stay independent"


@pytest.fixture(scope="module")
def kernel():
    """One kernel for the solved runs of all the notebooks, in notebooks/ as theirs would be."""
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(ROOT / "notebooks"))
    yield km
    km.shutdown_kernel(now=True)


#: The first cell of each solved run: what a fresh kernel would be, in the test's own learner folder.
FRESH = """%reset -f
import os as _os, sys as _sys
_stale = [name for name in _sys.modules if name.split(".")[0] == "nn_helpers"]
[_sys.modules.pop(name) for name in _stale]
_os.environ["NN_LEARNER_DIR"] = {folder!r}
del _os, _sys, _stale"""


@pytest.mark.parametrize("key", sorted(check.EXERCISES))
def test_the_solutions_satisfy_every_checker(key, kernel, learner_dir):
    path = NOTEBOOKS[key]
    nb = nbformat.read(path, as_version=4)
    imports = next(c for c in nb.cells if c.cell_type == "code" and "import nn_helpers as nn" in c.source)
    small = nbformat.v4.new_notebook(metadata=nb.metadata)
    small.cells.append(nbformat.v4.new_code_cell(FRESH.format(folder=str(learner_dir))))
    small.cells.append(nbformat.v4.new_code_cell(imports.source))
    solutions = {c.metadata.exercise.name: solution_code(c) for c in nb.cells
                 if c.get("metadata", {}).get("exercise", {}).get("part") == "solution"}
    names = []   # the checker's name of each cell that prints a verdict, "progress" for the last
    for c in nb.cells:
        part = c.get("metadata", {}).get("exercise", {}).get("part")
        if part == "skeleton":
            small.cells.append(nbformat.v4.new_code_cell(solutions[c.metadata.exercise.name]))
        elif part in ("check", "count"):
            small.cells.append(nbformat.v4.new_code_cell(c.source))
            names.append(c.metadata.exercise.name)
    client = NotebookClient(small, km=kernel, timeout=300)
    try:
        client.execute()
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
    printed = {name: "".join(out.get("text", "") for out in c.outputs)
               for name, c in zip(names, [c for c in small.cells if c.source.startswith("ok = check.")
                                          or c.source.startswith("check.progress")])}
    for name in check.EXERCISES[key]:
        assert printed[name].startswith(f"{name}: correct!"), printed[name]
    n = len(check.EXERCISES[key])
    assert printed["progress"] == f"{n} of {n} exercises solved in this notebook. All done, well done!\n", printed
    assert (learner_dir / "my_network.py").is_file(), "the accepted functions are kept in the test's own folder"
