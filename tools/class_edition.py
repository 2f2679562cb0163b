"""The class edition: the series for students, without the folded Solutions of the exercises.

    python3 dev.py class OUT [--no-hints] [--no-book] [--nbgrader]

writes
    OUT/student/notebooks/   the notebooks without the Solution cells (and without the Hint cells with
                             --no-hints); skeletons, check cells and every other cell as they are, with
                             their stored outputs, plus NOTATION.md
    OUT/student/README.md    the project's README (the book's landing page), with its pictures (docs/)
    OUT/student/data         a link to the project's data/ (a copy where links are not allowed): the
                             notebooks read ../data/mnist
    OUT/student-book/        that edition as a website (what `python3 dev.py book` makes of the series)
    OUT/teacher/notebooks/   the teacher's copy: the series as it is, Solutions included
    OUT/nbgrader/source/     with --nbgrader: nbgrader source notebooks, one assignment per notebook with
                             exercises (solutions between ### BEGIN SOLUTION / ### END SOLUTION, the check
                             cells as autograded test cells worth the points of tools/grade.py)

The exercises' cells are found by their ``metadata.exercise`` (tools/exercises.py writes it): nothing is
guessed from the text. Notebooks are written with the same JSON layout as the series'.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
SERIES = ROOT / "notebooks"


def part(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("exercise", {}).get("part")


def source(cell: dict) -> str:
    return "".join(cell["source"])


def dump(notebook: dict) -> str:
    """The series' own JSON layout (tools/exercises.py writes it so)."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def student_notebook(notebook: dict, hints: bool = True) -> dict:
    """The notebook without its Solution cells (and Hint cells unless ``hints``); everything else as is."""
    drop = {"solution"} | (set() if hints else {"hint"})
    out = dict(notebook)
    out["cells"] = [c for c in notebook["cells"] if part(c) not in drop]
    return out


def write_edition(out: Path, hints: bool = True, series: Path = SERIES) -> Path:
    """OUT/student/ (notebooks, NOTATION.md, README.md) and OUT/teacher/notebooks/; returns OUT/student."""
    student, teacher = out / "student", out / "teacher"
    for folder in (student, teacher):
        if (folder / "data").is_symlink():
            (folder / "data").unlink()           # the link only, never the data it points to
        if folder.exists():
            shutil.rmtree(folder)
        (folder / "notebooks").mkdir(parents=True)
    for path in sorted(series.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        shutil.copyfile(path, teacher / "notebooks" / path.name)
        if path.suffix == ".ipynb":
            notebook = json.loads(path.read_text(encoding="utf-8"))
            (student / "notebooks" / path.name).write_text(dump(student_notebook(notebook, hints)),
                                                            encoding="utf-8", newline="\n")
        else:
            shutil.copyfile(path, student / "notebooks" / path.name)
    data = series.parent / "data"            # the notebooks read ../data/mnist, as in the series
    if data.is_dir():
        try:
            (student / "data").symlink_to(data.resolve(), target_is_directory=True)
        except OSError:                          # Windows without developer mode: a copy
            shutil.copytree(data, student / "data")
    readme = (series.parent / "README.md").read_text(encoding="utf-8")
    docs = series.parent / "docs"            # the README's pictures, which the book also shows for panels
    if docs.is_dir():
        for folder in (student, teacher):
            shutil.rmtree(folder / "docs", ignore_errors=True)
            shutil.copytree(docs, folder / "docs")
    (student / "README.md").write_text(readme, encoding="utf-8", newline="\n")
    (teacher / "README.md").write_text(readme, encoding="utf-8", newline="\n")
    return student


def build_book(edition: Path, out: Path) -> int:
    """The edition as a website in ``out`` (book/build.py's layout, from the edition's notebooks)."""
    sys.path.insert(0, str(ROOT / "book"))
    import build as book
    from sphinx.cmd.build import build_main

    source = out.parent / (out.name + "-src")
    book.lay_out(root=edition, source=source, alt_text=book.ALT_TEXT)    # the series' alt texts (same cell ids)
    if out.exists():
        shutil.rmtree(out)
    code = build_main(["-b", "html", "-q", "-c", str(ROOT / "book"), "-d", str(out.parent / (out.name + "-doctrees")),
                       str(source), str(out)])
    if code == 0:
        book.lighten_images(out)             # every PNG losslessly optimised, as in the series' book
    return code


# ---------------------------------------------------------------------------------------------------------
# nbgrader: source notebooks that nbgrader's generate_assignment turns into the students' release
# ---------------------------------------------------------------------------------------------------------

def nbgrader_meta(kind: str, grade_id: str, points=None) -> dict:
    meta = {"grade": kind == "tests", "solution": kind == "solution", "locked": kind != "solution",
            "grade_id": grade_id, "schema_version": 3}
    if kind == "tests":
        meta["points"] = points
    return meta


def nbgrader_notebook(notebook: dict, solutions: dict, points: dict, hints: bool = True) -> dict:
    """nbgrader's source version of a notebook: each skeleton cell holds its solution between
    ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (generate_assignment puts nbgrader's own stub there),
    each check cell is an autograded test cell that fails unless the checker accepts (``assert check.x(...)``),
    worth the exercise's points; the Solution cells go, and the Hint cells with ``hints=False``."""
    cells = []
    for cell in student_notebook(notebook, hints)["cells"]:
        cell = json.loads(json.dumps(cell))
        name = cell.get("metadata", {}).get("exercise", {}).get("name", "")
        if part(cell) == "skeleton":
            signature, body = solutions[name]
            indented = "\n".join(line for line in body.split("\n"))
            cell["source"] = f"{signature}\n    ### BEGIN SOLUTION\n{indented}\n    ### END SOLUTION\n"
            cell["metadata"]["nbgrader"] = nbgrader_meta("solution", f"{name}-solution")
        elif part(cell) == "check":
            call = source(cell).strip()
            match = re.fullmatch(r"ok = (check\.\w+\(\w+\))", call)
            assert match, call
            cell["source"] = f"{match.group(0)}\nassert ok, \"check.{name} does not accept it yet: see its message above\"\n"
            cell["metadata"]["nbgrader"] = nbgrader_meta("tests", f"{name}-check", points.get(name, 1))
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    out = dict(notebook)
    out["cells"] = cells
    return out


def exercises_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location("exercises_tool_class", TOOLS / "exercises.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # a dataclass needs its module registered
    spec.loader.exec_module(module)
    return module


def write_nbgrader(out: Path, hints: bool = True, series: Path = SERIES) -> list:
    """OUT/nbgrader/source/<notebook>/<notebook>.ipynb for each notebook with exercises; returns the
    assignment names."""
    sys.path.insert(0, str(TOOLS))
    from grade import DEFAULT_POINTS

    tool = exercises_tool()
    solutions = {e.name: (e.signature, e.solution) for entries in tool.EXERCISES.values()
                 for e in map(tool.as_exercise, entries)}
    root = out / "nbgrader"
    if root.exists():
        shutil.rmtree(root)
    names = []
    for name in tool.EXERCISES:
        path = series / name
        if not path.exists():
            continue
        assignment = path.stem
        folder = root / "source" / assignment
        folder.mkdir(parents=True)
        notebook = json.loads(path.read_text(encoding="utf-8"))
        (folder / path.name).write_text(dump(nbgrader_notebook(notebook, solutions, DEFAULT_POINTS, hints)),
                                        encoding="utf-8", newline="\n")
        names.append(assignment)
    (root / "nbgrader_config.py").write_text(
        "# nbgrader's course folder for the series (python3 dev.py class OUT --nbgrader).\n"
        "# Then, in this folder: nbgrader generate_assignment 03_softmax_cross_entropy\n"
        "c = get_config()  # noqa: F821\n"
        "c.CourseDirectory.root = '.'\n", encoding="utf-8")
    return names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 dev.py class", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the folder to write (its student/, teacher/, ... are replaced)")
    parser.add_argument("--no-hints", action="store_true", help="leave the folded Hints out too")
    parser.add_argument("--no-book", action="store_true", help="do not build the edition's book")
    parser.add_argument("--nbgrader", action="store_true", help="also write nbgrader source notebooks")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    start = time.perf_counter()
    student = write_edition(args.out, hints=not args.no_hints)
    print(f"The students' edition: {student / 'notebooks'} (no Solutions{', no Hints' if args.no_hints else ''})")
    print(f"The teacher's copy, with the Solutions: {args.out / 'teacher' / 'notebooks'}")
    if args.nbgrader:
        names = write_nbgrader(args.out, hints=not args.no_hints)
        print(f"nbgrader source notebooks ({len(names)} assignments): {args.out / 'nbgrader' / 'source'}; "
              f"in {args.out / 'nbgrader'}: nbgrader generate_assignment {names[0]}")
    if not args.no_book:
        code = build_book(student, args.out / "student-book")
        if code:
            return code
        print(f"The edition's book: {args.out / 'student-book' / 'index.html'}")
    print(f"Done in {time.perf_counter() - start:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
