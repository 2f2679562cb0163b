"""Checks on the notebooks as files, and proof that their nbval run still catches a broken package.

nbval compares stored outputs only where they are the same on every machine; the cells it skips must
assert on their numbers instead (CONTRIBUTING.md, "What nbval compares"). These tests keep that honest.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TAG = "nbval-ignore-output"
MARKER = "# NBVAL_IGNORE_OUTPUT"
MACHINE_PATH = re.compile(r"(/work/|/root/|/tmp/|/home/|/Users/|site-packages|[A-Z]:\\\\)")


def code_cells(path):
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


def is_skipped(cell):
    source = "".join(cell["source"])
    return TAG in cell.get("metadata", {}).get("tags", []) or source.startswith(MARKER)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_nbval_skips_asserts_its_numbers(path):
    unchecked = [i for i, cell in enumerate(code_cells(path))
                 if is_skipped(cell) and not re.search(r"^\s*assert ", "".join(cell["source"]), re.M)]
    assert not unchecked, f"{path.name}: cells {unchecked} are not compared by nbval and assert nothing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_ignore_marker_is_alone_on_the_first_line(path):
    # nbval ignores "# NBVAL_IGNORE_OUTPUT" silently when other text follows it on the line
    for i, cell in enumerate(code_cells(path)):
        lines = "".join(cell["source"]).splitlines()
        marked = [line for line in lines if "NBVAL_IGNORE_OUTPUT" in line]
        assert marked in ([], [MARKER]) and (not marked or lines[0] == MARKER), f"{path.name}: cell {i}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_complete_in_order_and_portable(path):
    cells = [c for c in code_cells(path) if "".join(c["source"]).strip()]
    assert [c["execution_count"] for c in cells] == list(range(1, len(cells) + 1)), \
        f"{path.name}: re-run it top to bottom (Restart Kernel and Run All) and save"
    for i, cell in enumerate(cells):
        for out in cell["outputs"]:
            assert out["output_type"] != "error", f"{path.name}: cell {i} stored an error"
            match = MACHINE_PATH.search(json.dumps(out))
            assert not match, f"{path.name}: cell {i} output holds a machine path ({match.group(0)})"


def test_nbval_catches_a_backward_pass_without_the_relu_mask(tmp_path):
    """Notebook 04 run against a copy of nn_helpers whose backward pass forgets ReLU's mask must fail,
    although its gradient-check cells are not compared digit by digit: their asserts catch it."""
    broken = tmp_path / "nn_helpers"
    shutil.copytree(ROOT / "nn_helpers", broken, ignore=shutil.ignore_patterns("__pycache__"))
    network = broken / "network.py"
    source = network.read_text(encoding="utf-8")
    mask = 'activation_backward(dA, (cache[f"Z{l - 1}"], cache["activation"]))'      # dZ = dA * g'(Z)
    assert mask in source, "backward changed: update this test"
    network.write_text(source.replace(mask, "dA"), encoding="utf-8")                   # dZ = dA: the mask forgotten
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "NN_HELPERS_DATA": str(ROOT / "data" / "mnist"),
           "OPENBLAS_NUM_THREADS": "1", "PYTHONIOENCODING": "utf-8"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "notebooks/04_backpropagation.ipynb"],
                         cwd=ROOT, env=env, capture_output=True, encoding="utf-8", timeout=600)
    out = re.sub(r"\x1b\[[0-9;]*m", "", run.stdout)
    assert run.returncode == 1 and re.search(r"\b\d+ failed, \d+ passed", out), out[-3000:]
    # one section per failed cell (before the short summary, which repeats them when CI is set)
    details = out.split("short test summary info")[0]
    sections = re.split(r"^_+ \S+::Cell \d+ _+$", details, flags=re.M)[1:]
    assert len(sections) >= 3, out[-3000:]
    for section in sections:  # each failure is a claim's assert (the gradient checks), not a crash
        assert set(re.findall(r"^(\w+(?:Error|Exception))\b", section, re.M)) == {"AssertionError"}, section
