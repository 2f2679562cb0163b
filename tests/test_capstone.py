"""The capstone of notebook 05: the solutions of the exercises of 02-05, accepted by their checkers and kept in
my_network.py, train a 784-256-10 network made only of that code to at least 97% validation accuracy; and the
kept code survives a kernel restart. Everything is kept in the test's own $NN_LEARNER_DIR (see conftest.py)."""

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from nn_helpers import check

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_05 = ROOT / "notebooks" / "05_training_loop.ipynb"
KEYS = ["02", "03", "04", "05"]


def cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell):
    return "".join(cell["source"])


def part(cell):
    return cell.get("metadata", {}).get("exercise", {}).get("part")


def solution_code(cell):
    match = re.fullmatch(r"<details><summary>Solution</summary>\n\n```python\n(.*)\n```\n\n</details>",
                         source(cell), re.S)
    assert match, source(cell)
    return match.group(1)


def notebook(key):
    return next((ROOT / "notebooks").glob(f"{key}_*.ipynb"))


def execute(sources, timeout=600):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK_05.parent)}}).execute()
    return ["".join(out.get("text", "") for out in c.outputs) for c in nb.cells]


def solved_run():
    """The import cell, then, for 02-05, each exercise's solution in place of its skeleton and its check."""
    sources, checks = ["import numpy as np\nimport nn_helpers as nn\nfrom nn_helpers import check"], []
    for key in KEYS:
        nb = cells(notebook(key))
        solutions = {c["metadata"]["exercise"]["name"]: solution_code(c) for c in nb if part(c) == "solution"}
        for c in nb:
            if part(c) == "skeleton":
                sources.append(solutions[c["metadata"]["exercise"]["name"]])
            elif part(c) == "check":
                checks.append((c["metadata"]["exercise"]["name"], len(sources)))
                sources.append(source(c))
    return sources, checks


def capstone_cells():
    """Notebook 05's imports and data, then its capstone cell."""
    nb = [c for c in cells(NOTEBOOK_05) if c["cell_type"] == "code"]
    imports = next(c for c in nb if "import nn_helpers as nn" in source(c))
    data = next(c for c in nb if "nn.train_val_split(" in source(c))
    capstone = [c for c in nb if "capstone" in c.get("metadata", {}).get("tags", [])]
    assert len(capstone) == 1
    return [source(imports), source(data), source(capstone[0])]


def test_the_stored_capstone_says_what_is_missing():
    capstone = next(c for c in cells(NOTEBOOK_05) if "capstone" in c.get("metadata", {}).get("tags", []))
    text = "".join("".join(out.get("text", "")) for out in capstone["outputs"])
    assert text.startswith("The capstone needs 8 more of your pieces:")
    assert "  backward: exercise 2 of notebook 04\n" in text and "  train_epoch: exercise 3 of notebook 05\n" in text


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """One kernel solves the exercises of 02-05 and runs the capstone, then exits: its outputs, the checks
    (name, cell index) and the learner folder its kept code is in. Two tests share this run (it is the
    file's cost: the capstone trains for about 20 s)."""
    folder = tmp_path_factory.mktemp("learner-capstone")
    sources, checks = solved_run()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NN_LEARNER_DIR", str(folder))           # the kernel inherits it
        outputs = execute(sources + capstone_cells())
    return outputs, checks, folder


def test_the_solutions_of_02_to_05_train_a_network_of_their_own_to_97_percent(solved):
    outputs, checks, learner_dir = solved
    for name, i in checks:
        assert outputs[i].startswith(f"{name}: correct!") and "Kept in my_network.py" in outputs[i], outputs[i]
    kept = (learner_dir / "my_network.py").read_text(encoding="utf-8")
    assert all(f"# ==== {name}: my_{name} ====" in kept for name, _ in checks)
    printed = outputs[-1]
    assert "needs" not in printed, printed
    accuracies = [float(a) for a in re.findall(r"accuracy (\d\.\d+)", printed)]
    assert len(accuracies) == 10 and accuracies[-1] >= 0.97, printed
    seconds = float(re.search(r"after (\d+) s of training", printed).group(1))
    print(printed)                                                                     # shown with pytest -s,
    print(f"capstone: validation accuracy {accuracies[-1]:.4f} after {seconds:.0f} s")   # as notebook 05 quotes it


def test_the_kept_code_survives_a_kernel_restart(solved, monkeypatch):
    monkeypatch.setenv("NN_LEARNER_DIR", str(solved[2]))   # where the kernel of `solved` kept everything
    progress = execute(["from nn_helpers import check", 'check.progress("05")', 'check.progress("04")',
                        "net = check.my_network(['layer', 'train_epoch', 'momentum_step'])\nprint(net.missing)"])
    for out, key in zip(progress[1:3], ["05", "04"]):
        n = len(check.EXERCISES[key])
        assert out.startswith(f"{n} of {n} exercises solved in this notebook. All done, well done!\n"), (key, out)
        assert f'solved earlier and kept in my_network.py. To solve them afresh, run check.start_over("{key}")' in out
    assert progress[3] == "[('momentum_step', '06', 1)]\n"


def test_a_solution_solved_again_replaces_its_block(learner_dir, capsys):
    def my_sgd_step(params, grads, lr):
        return {k: params[k] - lr * grads[k] for k in params}

    assert check.sgd_step(my_sgd_step)
    first = (learner_dir / "my_network.py").read_text(encoding="utf-8")

    def my_sgd_step(params, grads, lr):                    # noqa: F811 (solved again, written another way)
        new = {}
        for key in params:
            new[key] = params[key] - lr * grads[key]
        return new

    assert check.sgd_step(my_sgd_step)
    second = (learner_dir / "my_network.py").read_text(encoding="utf-8")
    assert first != second and second.count("# ==== sgd_step:") == 1 and "new[key] = " in second
    assert check.my_network().sgd_step is not None
    capsys.readouterr()
    check.sgd_step(lambda p, g, lr: {k: p[k] - lr * g[k] for k in p})
    assert "Not kept in my_network.py" in capsys.readouterr().out
    assert "new[key] = " in (learner_dir / "my_network.py").read_text(encoding="utf-8")   # the def stays


def test_helpers_and_constants_a_piece_needs_are_kept_with_it(learner_dir):
    assert check.layer(_layer_with_helper)
    kept = (learner_dir / "my_network.py").read_text(encoding="utf-8")
    assert "OFFSET = 0.0" in kept and "def _affine(" in kept
    net = check.my_network(["layer"])
    assert net.missing == [] and net.layer(np.ones((1, 1)), np.ones((1, 1)), np.ones(1)).item() == 2.0


OFFSET = 0.0


def _affine(X, W, b):
    return X @ W + b + OFFSET


def _layer_with_helper(X, W, b):
    return _affine(X, W, b)


@pytest.mark.parametrize("key", ["05", "06"])
def test_the_moved_exercises_are_where_the_checkers_say(key):
    names = [c["metadata"]["exercise"]["name"] for c in cells(notebook(key)) if part(c) == "check"]
    assert names == check.EXERCISES[key]
