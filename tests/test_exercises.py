"""The exercises of notebooks 01-04, 06 and 07 (tools/exercises.py puts them in): the stored notebooks hold the
unsolved skeletons, nothing else in a notebook uses the learner's functions, and the solutions in the
``<details>`` blocks, put into the skeletons, satisfy every checker.

The solved run is quick: it executes, per notebook, only its import cell and its exercise cells (each
checker builds its own cases), not the whole notebook, which nbval already runs.
"""

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from nn_helpers import check

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = {path.name[:2]: path for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
             if '"exercise"' in path.read_text(encoding="utf-8")}  # the numbered notebooks that hold exercises


def cells(path):
    return json.loads(path.read_text())["cells"]


def source(cell):
    return "".join(cell["source"])


def exercise_cells(path, part):
    return [c for c in cells(path) if c.get("metadata", {}).get("exercise", {}).get("part") == part]


def solution_code(cell):
    match = re.fullmatch(r"<details><summary>Solution</summary>\n\n```python\n(.*)\n```\n\n</details>",
                         source(cell), re.S)
    assert match, source(cell)
    return match.group(1)


def test_every_notebook_has_its_exercises():
    assert sorted(NOTEBOOKS) == sorted(check.EXERCISES)
    for key, path in NOTEBOOKS.items():
        names = [c["metadata"]["exercise"]["name"] for c in exercise_cells(path, "check")]
        assert names == check.EXERCISES[key], path.name
        assert 1 <= len(names) <= 5      # 06 keeps one since sgd_step and minibatches moved to 05
        assert source(cells(path)[-1]) == f'check.progress("{key}")', f"{path.name} must end with its progress"


def test_readme_counts_the_exercises():
    readme = (ROOT / "README.md").read_text()
    for key, path in NOTEBOOKS.items():
        row = next(line for line in readme.splitlines() if line.startswith("| [") and f"({path.relative_to(ROOT)})" in line)
        assert row.rstrip(" |").endswith(f"| {len(check.EXERCISES[key])}"), row


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


@pytest.mark.parametrize("key", sorted(check.EXERCISES))
def test_the_solutions_satisfy_every_checker(key):
    path = NOTEBOOKS[key]
    nb = nbformat.read(path, as_version=4)
    imports = next(c for c in nb.cells if c.cell_type == "code" and "import nn_helpers as nn" in c.source)
    small = nbformat.v4.new_notebook(metadata=nb.metadata)
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
    NotebookClient(small, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    printed = {name: "".join(out.get("text", "") for out in c.outputs)
               for name, c in zip(names, [c for c in small.cells if c.source.startswith("ok = check.")
                                          or c.source.startswith("check.progress")])}
    for name in check.EXERCISES[key]:
        assert printed[name].startswith(f"{name}: correct!"), printed[name]
    n = len(check.EXERCISES[key])
    assert printed["progress"] == f"{n} of {n} exercises solved in this notebook. All done, well done!\n", printed
