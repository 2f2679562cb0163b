#!/usr/bin/env python3
"""Set up and run the project with one command; needs only Python 3.10+.

    python3 dev.py lab      # set up .venv, then open your copies of the notebooks (my-notebooks/) in JupyterLab
    python3 dev.py lab --series   # open notebooks/ itself, to write the series (CONTRIBUTING.md)
    python3 dev.py reset NN # a fresh copy of notebook NN in my-notebooks/ (yours is moved aside, never deleted)
    python3 dev.py test     # set up .venv, then run every test (unit tests + notebooks with nbval), in parallel
    python3 dev.py train    # set up .venv, then train the default network (python -m nn_helpers train)
    python3 dev.py app      # set up .venv, then open the playground (every slider, no code) with Voila
    python3 dev.py book     # set up .venv with the book extra, then build the series as a website in build/book/
    python3 dev.py book --lite    # the same, with the browser edition in build/book/lite/ (build/lite/, rebuilt if older than the notebooks)
    python3 dev.py lite     # set up .venv with the lite extra, then build the series as a JupyterLite site in build/lite/
                            # (runs in the browser, nothing installed: python -m http.server -d build/lite)
    python3 dev.py class OUT   # the class edition: the series without solutions, its book, a teacher's copy
    python3 dev.py grade SUBMISSIONS --out DIR   # run every checker on each student's my_network.py
    python3 dev.py setup    # only set up .venv

Set-up creates a virtual environment in .venv and installs the project with the pinned versions of
requirements-lock.txt; it is skipped when nothing changed since the last time.
Extra arguments go to the command: `python3 dev.py test -x -k softmax`. On Windows, type `py dev.py ...`.

Your work lives in my-notebooks/ (ignored by git), never in notebooks/, which the tests run:
    my-notebooks/notebooks/   your copies of the series, filled from notebooks/ on first use
    my-notebooks/output/      what your notebooks write (../output/ from a notebook: model, CSV files)
    my-notebooks/data         the bundled MNIST (a link to data/, or a copy where links are not allowed)
    my-notebooks/notebooks/my_network.py   the functions the exercises' checkers accepted (the capstone of
                              notebook 05 trains with them; check.start_over("03") sets 03's aside)
A notebook that is new in notebooks/ is copied in; one that changed there arrives beside yours as
NAME.new-DATE.ipynb, and yours stays as it is (a copy you never changed is simply updated).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
INPUTS = ["pyproject.toml", "requirements-lock.txt"]
SERIES = ROOT / "notebooks"
LEARNER = ROOT / "my-notebooks"
#: In my-notebooks/: the SHA-256 of each file of notebooks/ as last brought in (to see what changed since).
STATE = ".series.json"
#: Test workers: one per core, at most 4 (beyond that the longest notebook alone sets the time, and
#: each worker holds a kernel with MNIST in memory).
WORKERS = max(1, min(os.cpu_count() or 1, 4))
#: Where `dev.py lite` puts the JupyterLite site, and where `dev.py book` puts the book.
LITE = ROOT / "build" / "lite"
BOOK = ROOT / "build" / "book"


def run(*cmd):
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def setup(extras="dev"):
    """Create .venv and install the project (editable) with its pinned dependencies."""
    if sys.version_info < (3, 10):
        sys.exit(f"Python 3.10 or newer is needed; this is {sys.version.split()[0]}.")
    stamp = VENV / f".installed-{extras}"
    inputs = hashlib.sha256(b"".join((ROOT / f).read_bytes() for f in INPUTS)).hexdigest()
    if stamp.exists() and stamp.read_text(encoding="utf-8") == inputs and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"Creating a virtual environment in {VENV.name}/ ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    run(PYTHON, "-m", "pip", "install", "--quiet", "-c", "requirements-lock.txt", "-e", f".[{extras}]")
    stamp.write_text(inputs, encoding="utf-8")


def one_blas_thread_env():
    """The environment with one BLAS thread (OpenBLAS, MKL, OpenMP) unless set already: the network's
    products (128 x 784 @ 784 x 128) are too small for a second BLAS thread to pay off, and when another
    program keeps a core busy, two threads wait on each other and training gets 5-7x slower
    (benchmarks/README.md). JupyterLab's kernels and the test workers (one per core) inherit it."""
    names = ["OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"]
    return {**os.environ, **{name: os.environ.get(name, "1") for name in names}}


# The learner's copies: pure functions on two folders (tests/test_dev.py runs them on temporary ones).

def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def series_files(series: Path) -> list:
    """The files of the series to copy: the notebooks, NOTATION.md, ... (not hidden files or folders)."""
    return sorted(p for p in series.iterdir() if p.is_file() and not p.name.startswith("."))


def free_name(path: Path, tag: str) -> Path:
    """``06_training.ipynb`` -> ``06_training.TAG.ipynb`` (``.TAG-2.``, ... if that exists already)."""
    for n in range(1, 1000):
        candidate = path.with_name(f"{path.stem}.{tag}{'' if n == 1 else f'-{n}'}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(f"{path}: too many copies beside it; move some away")


def read_state(mine: Path) -> dict:
    state = mine / STATE
    return json.loads(state.read_text(encoding="utf-8")) if state.exists() else {}


def write_state(mine: Path, state: dict):
    text = json.dumps(state, indent=1, sort_keys=True) + "\n"
    (mine / STATE).write_text(text, encoding="utf-8", newline="\n")


def sync(series: Path, mine: Path, today: str) -> list:
    """Bring the files of ``series`` into ``mine`` without overwriting the learner's work.

    A file missing from ``mine`` is copied. A file that changed in ``series`` since it was last brought
    in replaces the learner's copy only if that copy is still the old version, byte for byte; otherwise
    it arrives beside it as ``NAME.new-TODAY.ipynb``. Returns the names of those new files.
    """
    mine.mkdir(parents=True, exist_ok=True)
    state, arrived = read_state(mine), []
    for src in series_files(series):
        new, dst = digest(src), mine / src.name
        old = state.get(src.name)  # the version the learner's copy came from
        if dst.exists() and new != old and digest(dst) not in (old, new):  # both changed it
            beside = free_name(dst, f"new-{today}")
            shutil.copyfile(src, beside)
            arrived.append(beside.name)
        elif not dst.exists() or new != old and digest(dst) == old:  # missing, or never changed by the learner
            shutil.copyfile(src, dst)
        state[src.name] = new
    write_state(mine, state)
    return arrived


def reset(series: Path, mine: Path, key: str, stamp: str) -> tuple:
    """A fresh copy of the notebook of ``series`` whose name starts with ``key`` ("06", "playground").
    The learner's copy is renamed ``NAME.mine-STAMP.ipynb`` first. Returns (fresh copy, renamed or None)."""
    matches = [p for p in series.glob("*.ipynb") if p.name.startswith(key)]
    if len(matches) != 1:
        names = ", ".join(p.name for p in sorted(series.glob("*.ipynb")))
        raise SystemExit(f"reset {key!r}: {'several' if matches else 'no'} notebooks match; one of: {names}")
    src = matches[0]
    dst, moved = mine / src.name, None
    if dst.exists():
        moved = free_name(dst, f"mine-{stamp}")
        dst.rename(moved)
    mine.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    state = read_state(mine)
    state[src.name] = digest(src)
    write_state(mine, state)
    return dst, moved


def learner_area(area: Path = LEARNER, data: Path = ROOT / "data") -> Path:
    """my-notebooks/ with output/ and data (a link, or a copy where links are not allowed, as on
    Windows without developer mode), so that a notebook's ../output and ../data work there as in
    notebooks/. Returns the folder of the learner's notebooks."""
    for folder in ("notebooks", "output"):
        (area / folder).mkdir(parents=True, exist_ok=True)
    link = area / "data"
    if not link.exists():
        try:
            link.symlink_to(os.path.relpath(data, area), target_is_directory=True)
        except OSError:
            shutil.copytree(data, link)
    return area / "notebooks"


def lab(args):
    """Fill or update my-notebooks/ from notebooks/, say what arrived, and return JupyterLab's command
    (on notebooks/ itself with --series)."""
    if "--series" in args:
        args.remove("--series")
        return [PYTHON, "-m", "jupyter", "lab", SERIES, *as_root()]
    arrived = sync(SERIES, learner_area(), time.strftime("%Y-%m-%d"))
    if arrived:
        print(f"New versions from notebooks/ are beside your copies in my-notebooks/notebooks/ "
              f"(yours are unchanged): {', '.join(arrived)}", flush=True)
    return [PYTHON, "-m", "jupyter", "lab", LEARNER, *as_root()]


def as_root() -> list:
    """JupyterLab refuses to start as root ("Running as root is not recommended. Use --allow-root"): in a
    container or a classroom VM where the only user is root, pass the flag, and say so."""
    if getattr(os, "geteuid", lambda: 1)() != 0:
        return []
    print("Running as root (a container or a VM?): starting JupyterLab with --allow-root.", flush=True)
    return ["--allow-root"]


def kept_note(mine: Path, key: str) -> str:
    """A line for ``reset``: the accepted code of notebook ``key`` is still kept in my_network.py and counts."""
    kept = mine / "my_network.py"
    if not kept.is_file() or f"# notebook {key}, exercise" not in kept.read_text(encoding="utf-8"):
        return ""
    return (f"Your accepted solutions of notebook {key}'s exercises are still kept in "
            f"{kept.relative_to(ROOT) if kept.is_relative_to(ROOT) else kept} and still count as solved; to solve "
            f'them afresh, run check.start_over("{key}") in the notebook (it sets them aside, never deletes them).')


def reset_command(args):
    if len(args) != 1:
        sys.exit("usage: python3 dev.py reset NN    (for example: python3 dev.py reset 03)")
    fresh, moved = reset(SERIES, learner_area(), args[0], time.strftime("%Y%m%d-%H%M%S"))
    print(f"{fresh.relative_to(ROOT)}: a fresh copy" + (f"; yours is now {moved.name}" if moved else ""))
    note = kept_note(fresh.parent, fresh.name[:2])
    if note:
        print(note)


def test_command(args):
    """pytest, with one worker per core (a notebook whole on one worker, the slowest first: conftest.py) unless
    the arguments choose (-n 0 runs everything in this process)."""
    parallel = [] if any(a.startswith(("-n", "--numprocesses")) for a in args) \
        else ["-n", str(WORKERS), "--dist", "loadfile"]
    return [PYTHON, "-m", "pytest", *parallel]


def book_command(args):
    """The series as a static website in build/book/ from the notebooks' stored outputs (book/build.py):
    the book extra is installed into .venv first. With --lite, the JupyterLite site (build/lite/, built
    first if it is not there) is copied into build/book/lite/, where each chapter's "Run in the browser"
    link opens lite/lab/index.html?path=NN_name.ipynb."""
    setup("dev,book")
    if "--lite" not in args:
        return [PYTHON, ROOT / "book" / "build.py"]
    args.remove("--lite")
    if lite_stale():
        code = subprocess.run([str(c) for c in lite_command([])], cwd=ROOT).returncode
        if code:
            sys.exit(code)
    book = subprocess.run([str(PYTHON), str(ROOT / "book" / "build.py"), *args], cwd=ROOT).returncode
    if book:
        sys.exit(book)
    print(f"+ copy {LITE.relative_to(ROOT)} -> {(BOOK / 'lite').relative_to(ROOT)}", flush=True)
    shutil.rmtree(BOOK / "lite", ignore_errors=True)
    shutil.copytree(LITE, BOOK / "lite")
    args.clear()
    return []


def lite_stale() -> bool:
    """build/lite/ is missing, or older than a notebook, the package or the build script."""
    index = LITE / "lite-build.json"  # written last by tools/lite.py (the site's own files keep old dates)
    if not index.exists():
        return True
    sources = [*SERIES.iterdir(), *(ROOT / "nn_helpers").rglob("*.py"), ROOT / "tools" / "lite.py", ROOT / "pyproject.toml"]
    return index.stat().st_mtime < max(p.stat().st_mtime for p in sources if p.is_file())


def lite_command(args):
    """The series as a JupyterLite site in build/lite/ (tools/lite.py): the lite extra is installed into
    .venv first. Arguments (--pyodide DIR, --output DIR) go to tools/lite.py."""
    setup("dev,lite")
    return [PYTHON, ROOT / "tools" / "lite.py"]


def absolute_paths(args):
    """The commands run in the project's folder: a path the user typed relative to where they are becomes
    absolute (every argument that is neither an option nor a number)."""
    args[:] = [a if a.startswith("-") or a.lstrip("-").replace(".", "", 1).isdigit() else str(Path(a).resolve())
               for a in args]


def class_command(args):
    """The class edition (tools/class_edition.py): notebooks without the folded Solutions, its book, the
    teacher's copy; --nbgrader writes nbgrader source notebooks too (the nbgrader extra is installed)."""
    absolute_paths(args)
    extras = "dev" + ("" if "--no-book" in args else ",book") + (",nbgrader" if "--nbgrader" in args else "")
    setup(extras)
    return [PYTHON, ROOT / "tools" / "class_edition.py"]


def grade_command(args):
    """Grade a class (tools/grade.py): every exercise's checker on each student's my_network.py."""
    absolute_paths(args)
    return [PYTHON, ROOT / "tools" / "grade.py"]


def main(argv):
    commands = {
        "setup": lambda args: [],
        "lab": lab,
        "test": test_command,
        "train": lambda args: [PYTHON, "-m", "nn_helpers", "train"],
        "app": lambda args: [BIN / "voila", "notebooks/playground.ipynb"],
        "book": book_command,
        "lite": lite_command,
        "class": class_command,
        "grade": grade_command,
    }
    if argv[:1] == ["reset"]:  # needs no .venv
        return reset_command(argv[1:])
    if not argv or argv[0] not in commands:
        sys.exit(__doc__)
    setup()
    args = argv[1:]
    command = commands[argv[0]](args)
    if command:
        cmd = [str(c) for c in command] + args
        print("+", " ".join(cmd), flush=True)
        try:
            sys.exit(subprocess.run(cmd, cwd=ROOT, env=one_blas_thread_env()).returncode)
        except KeyboardInterrupt:  # Ctrl-C stops JupyterLab or Voila: no traceback
            sys.exit(130)


if __name__ == "__main__":
    main(sys.argv[1:])
