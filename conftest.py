"""What every test run needs, `pytest tests/` and `pytest notebooks/` alike (tests/conftest.py holds the
unit tests' fixtures).

- The learner's kept code: a checker that accepts a function keeps it in `my_network.py` in the folder
  named by NN_LEARNER_DIR. Each pytest process (each xdist worker, too) points it at a temporary folder of
  its own before any notebook kernel starts, so no test writes into the repository or the learner's area,
  and each notebook gets a fresh folder inside it, so what ran before it on the worker is not kept for it.
- Parallel runs (`python3 dev.py test` passes `-n 2 --dist loadfile`): one notebook's cells stay on one
  worker (a notebook is one kernel), notebook 07 runs on the worker that ran 06 right after it (07 reads
  the ../output/steps.json that 06 writes, and would retrain every step without it), and the slowest
  files start first, from the per-file times in benchmarks/test_times.json (benchmarks/test_time.py
  measures them; a notebook not measured yet counts what its stored run took), so no long notebook starts last.
"""

import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
TIMES = ROOT / "benchmarks" / "test_times.json"
#: A file's work unit is the file itself, except these, which run right after another file on its worker.
RUNS_AFTER = {"notebooks/07_evaluation.ipynb": "notebooks/06_training.ipynb"}


def pytest_configure(config):
    config._nn_learner_dir = os.environ["NN_LEARNER_DIR"] = tempfile.mkdtemp(prefix="nn-learner-")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Each notebook starts its kernel with a learner folder of its own (before nbval starts the kernel, at the
    file's first cell): what a test or another notebook on this worker kept (a module fixture runs before the
    per-test folder of tests/conftest.py) must not show as solved in its progress cells."""
    path = str(item.path)
    folder = getattr(item.config, "_nn_learner_dir", None)
    if folder and path.endswith(".ipynb") and getattr(item.config, "_nn_notebook", None) != path:
        item.config._nn_notebook = path
        os.environ["NN_LEARNER_DIR"] = tempfile.mkdtemp(prefix=Path(path).stem[:12] + "-", dir=folder)


def pytest_unconfigure(config):
    folder = getattr(config, "_nn_learner_dir", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def work_unit(nodeid: str) -> str:
    """The file a test belongs to, or the file it must run after: ``notebooks/06_training.ipynb``."""
    path = nodeid.split("::", 1)[0]
    return RUNS_AFTER.get(path, path)


def stored_run_seconds(path: Path) -> float:
    """For a notebook that test_times.json does not know yet (a new one): the seconds its cells took when it
    was last executed (nbconvert keeps each cell's start and end in its metadata), plus 1 s for the kernel.
    So a new long notebook starts early instead of last, where it would make the run's long tail."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return 1.0
    seconds = 1.0
    for cell in cells:
        run = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in run and "shell.execute_reply" in run:
            start, end = (datetime.fromisoformat(run[key].replace("Z", "+00:00"))
                          for key in ("iopub.execute_input", "shell.execute_reply"))
            seconds += max(0.0, (end - start).total_seconds())
    return seconds


def file_seconds(path: str, times: dict) -> float:
    """A file's measured seconds; unmeasured: a notebook's stored run (above), any other file 1 s."""
    if path in times:
        return times[path]
    return stored_run_seconds(ROOT / path) if path.endswith(".ipynb") else 1.0


def unit_seconds(units) -> dict:
    """Measured (or, for a new notebook, estimated) seconds of each work unit."""
    times = json.loads(TIMES.read_text(encoding="utf-8")) if TIMES.exists() else {}
    return {unit: sum(file_seconds(path, times) for path in {unit, *[p for p, u in RUNS_AFTER.items() if u == unit]})
            for unit in units}


def pytest_collection_modifyitems(config, items):
    """Slowest work unit first; the order inside a unit (a notebook's cells, 06 before 07) stays."""
    seconds = unit_seconds({work_unit(item.nodeid) for item in items})
    items.sort(key=lambda item: -seconds[work_unit(item.nodeid)])


@pytest.hookimpl(optionalhook=True)  # xdist's hook: unknown when xdist is not installed or disabled
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, with the work units above and in the order collected (slowest first)."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class NotebookScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            return work_unit(nodeid)

    config.option.loadscopereorder = False  # keep the collected order, not "most tests first"
    return NotebookScheduling(config, log)
