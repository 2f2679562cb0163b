"""The class edition (python3 dev.py class OUT, tools/class_edition.py): the series without the Solutions.

- No solution code of any exercise survives: not the folded Solution cells, and not a line of a solution
  body more often than the rest of the notebook (its worked code, which comes after the exercise) holds it.
- Everything else is the series itself: the same code cells, sources and stored outputs, in the same
  order, so nbval's verdict on the series holds for the edition; one edition notebook runs under nbval
  here to show it (.ci/run runs them all).
- --nbgrader writes source notebooks that nbgrader's own ``generate_assignment`` accepts (skipped where
  nbgrader is not installed, a failure with NN_REQUIRE_NBGRADER=1, as in CI).
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERIES = ROOT / "notebooks"


def load_tool(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


edition = load_tool("class_edition_under_test", ROOT / "tools" / "class_edition.py")
exercises = load_tool("exercises_tool_edition", ROOT / "tools" / "exercises.py")
SOLUTIONS = {name: [exercises.as_exercise(e) for e in entries] for name, entries in exercises.EXERCISES.items()}


def cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def text(cell):
    return "".join(cell["source"])


def solution_lines(solution: str) -> list:
    """The lines of a solution's body that say something (no blank lines, comments or a lone `return x`)."""
    lines = [line.split("  #")[0].strip() for line in solution.split("\n")]
    return [line for line in lines if len(line) > 12 and not line.startswith("#")]


@pytest.fixture(scope="module", params=[True, False], ids=["with hints", "no hints"])
def out(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("edition")
    edition.write_edition(folder, hints=request.param)
    return folder, request.param


def test_no_solution_code_survives(out):
    folder, hints = out
    for name, entries in SOLUTIONS.items():
        if not (SERIES / name).exists():
            continue
        series = cells(SERIES / name)
        student = cells(folder / "student" / "notebooks" / name)
        everything = "\n".join(text(c) for c in student)
        rest = "\n".join(text(c) for c in series if edition.part(c) != "solution")
        assert "<summary>Solution</summary>" not in everything, name
        assert ("<summary>Hint</summary>" in everything) == hints, name
        for e in entries:
            body = "\n".join(line.strip() for line in e.solution.strip().split("\n"))
            flat = "\n".join(line.strip() for line in everything.split("\n"))
            assert body not in flat, (name, e.name)                      # the body, whole
            for line in solution_lines(e.solution):                     # and line by line
                assert everything.count(line) == rest.count(line), (name, e.name, line)
            defs = [c for c in student if e.signature in text(c)]
            assert [edition.part(c) for c in defs] == ["skeleton"], (name, e.name)
            assert "raise NotImplementedError" in text(defs[0])


def test_everything_else_is_the_series(out):
    folder, hints = out
    dropped = {"solution"} | (set() if hints else {"hint"})
    for path in sorted(SERIES.glob("*.ipynb")):
        series = json.loads(path.read_text(encoding="utf-8"))
        student = json.loads((folder / "student" / "notebooks" / path.name).read_text(encoding="utf-8"))
        assert student["cells"] == [c for c in series["cells"] if edition.part(c) not in dropped], path.name
        assert student["metadata"] == series["metadata"]
        teacher = folder / "teacher" / "notebooks" / path.name
        assert teacher.read_bytes() == path.read_bytes()                 # the teacher's copy: the series itself
    assert (folder / "student" / "notebooks" / "NOTATION.md").read_bytes() == (SERIES / "NOTATION.md").read_bytes()


def test_the_editions_book_has_the_series_alt_texts(out, tmp_path, monkeypatch, capsys):
    """The edition's book is laid out with the series' book/alt_text.json (the edition has no book/ of its
    own): every figure of every chapter has its alt text, none is named missing. Sphinx itself is not run
    here (tests/test_book_build.py and the browser tests build the book); what it would read is checked."""
    folder, _ = out
    import types
    sphinx = types.ModuleType("sphinx.cmd.build")           # Sphinx (the book extra) need not be installed
    sphinx.build_main = lambda argv: 0
    monkeypatch.setitem(sys.modules, "sphinx.cmd.build", sphinx)
    assert edition.build_book(folder / "student", tmp_path / "student-book") == 0
    assert "without an alt text" not in capsys.readouterr().err
    alts = json.loads((ROOT / "book" / "alt_text.json").read_text(encoding="utf-8"))
    laid_out = json.loads((tmp_path / "student-book-src" / "notebooks" / "01_data.ipynb").read_text(encoding="utf-8"))
    figures = [c for c in laid_out["cells"] if any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]
    assert figures and all(c["id"] in alts["01_data"] for c in figures)
    for cell in figures:
        alt = alts["01_data"][cell["id"]]
        shown = "".join("".join(o.get("data", {}).get("text/html", "")) for o in cell["outputs"])
        if "nn-panel-picture" in shown:           # a panel's picture: the alt text in its <img>, after its title
            assert html.escape(alt) + '"' in shown, cell["id"]
        else:                                     # a figure: the alt text MyST-NB gives its <img>
            assert cell["metadata"]["mystnb"]["image"]["alt"] == alt, cell["id"]


def test_an_edition_notebook_passes_nbval(tmp_path):
    """The edition's notebook 03 (its check cells on the unsolved skeletons print "not done yet", as in the
    series): nbval with the project's settings; .ci/run runs every edition notebook."""
    edition.write_edition(tmp_path, hints=False)
    notebook = tmp_path / "student" / "notebooks" / "03_softmax_cross_entropy.ipynb"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "NN_LEARNER_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-c", str(ROOT / "pyproject.toml"), "--rootdir",
                           str(tmp_path), "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
                           "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), str(notebook)],
                          capture_output=True, text=True, cwd=notebook.parent, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout


def nbgrader_available() -> bool:
    return importlib.util.find_spec("nbgrader") is not None


def test_nbgrader_source_notebooks(tmp_path):
    names = edition.write_nbgrader(tmp_path)
    assert names == [Path(n).stem for n in exercises.EXERCISES if (SERIES / n).exists()]
    source = tmp_path / "nbgrader" / "source" / "03_softmax_cross_entropy" / "03_softmax_cross_entropy.ipynb"
    nb = json.loads(source.read_text(encoding="utf-8"))
    graded = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    assert [text(c).split("\n")[0] for c in graded] == ["ok = check.softmax(my_softmax)",
                                                        "ok = check.one_hot(my_one_hot)",
                                                        "ok = check.cross_entropy(my_cross_entropy)"]
    assert all(c["metadata"]["nbgrader"]["locked"] and c["metadata"]["nbgrader"]["points"] > 0 for c in graded)
    solution = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    assert len(solution) == 3 and all("### BEGIN SOLUTION" in text(c) for c in solution)


@pytest.mark.skipif(not nbgrader_available() and not os.environ.get("NN_REQUIRE_NBGRADER"),
                    reason="nbgrader is not installed (pip install -e .[nbgrader]); CI sets NN_REQUIRE_NBGRADER=1")
def test_nbgrader_generate_assignment_accepts_them(tmp_path):
    """nbgrader's own generate_assignment on every assignment: the release holds nbgrader's stubs in place
    of the solutions, and no line of any solution."""
    assert nbgrader_available(), "NN_REQUIRE_NBGRADER is set, but nbgrader is not installed"
    names = edition.write_nbgrader(tmp_path)
    course = tmp_path / "nbgrader"
    every = course / "source" / "every_notebook"      # one run over all of them: nbgrader starts slowly
    every.mkdir()
    for name in names:
        (course / "source" / name / f"{name}.ipynb").rename(every / f"{name}.ipynb")
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "every_notebook", "--force",
                           "--CourseDirectory.root=.", "--CourseDirectory.db_url=sqlite:///gradebook.db"],
                          capture_output=True, text=True, cwd=course, timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    by_notebook = {Path(n).stem: entries for n, entries in SOLUTIONS.items()}
    for name in names:
        release = course / "release" / "every_notebook" / f"{name}.ipynb"
        released = "\n".join(text(c) for c in cells(release))
        original = "\n".join(text(c) for c in cells(SERIES / f"{name}.ipynb") if edition.part(c) != "solution")
        assert "### BEGIN SOLUTION" not in released and "<summary>Solution</summary>" not in released
        assert released.count("raise NotImplementedError()") == len(by_notebook[name])
        for e in by_notebook[name]:
            for line in solution_lines(e.solution):
                assert released.count(line) == original.count(line), (name, e.name, line)
