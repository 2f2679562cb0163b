#!/usr/bin/env python3
"""Set up and run the project with one command; needs only Python 3.10+.

    python3 dev.py lab      # set up .venv, then open the notebooks in JupyterLab
    python3 dev.py test     # set up .venv, then run every test (unit tests + notebooks with nbval)
    python3 dev.py train    # set up .venv, then train the default network (python -m nn_helpers train)
    python3 dev.py app      # set up .venv, then open the playground (every slider, no code) with Voila
    python3 dev.py setup    # only set up .venv

Set-up creates a virtual environment in .venv and installs the project with the pinned versions of
requirements-lock.txt; it is skipped when nothing changed since the last time.
Extra arguments go to the command: `python3 dev.py test -x -k softmax`.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
INPUTS = ["pyproject.toml", "requirements-lock.txt"]


def run(*cmd):
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def setup(extras="dev"):
    """Create .venv and install the project (editable) with its pinned dependencies."""
    if sys.version_info < (3, 10):
        sys.exit(f"Python 3.10 or newer is needed; this is {sys.version.split()[0]}.")
    stamp = VENV / f".installed-{extras}"
    digest = hashlib.sha256(b"".join((ROOT / f).read_bytes() for f in INPUTS)).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"Creating a virtual environment in {VENV.name}/ ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    run(PYTHON, "-m", "pip", "install", "--quiet", "-c", "requirements-lock.txt", "-e", f".[{extras}]")
    stamp.write_text(digest)


def one_blas_thread_env():
    """The environment with OPENBLAS_NUM_THREADS=1 unless already set: the network's products
    (128 x 784 @ 784 x 128) are too small for a second BLAS thread to pay off, and when another program
    keeps a core busy, two threads wait on each other and training gets 5-7x slower
    (benchmarks/README.md). JupyterLab's kernels and the notebook tests inherit it."""
    return {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}


def main(argv):
    commands = {
        "setup": [],
        "lab": [PYTHON, "-m", "jupyter", "lab", "notebooks/"],
        "test": [PYTHON, "-m", "pytest"],
        "train": [PYTHON, "-m", "nn_helpers", "train"],
        "app": [BIN / "voila", "notebooks/playground.ipynb"],
    }
    if not argv or argv[0] not in commands:
        sys.exit(__doc__)
    setup()
    if commands[argv[0]]:
        cmd = [str(c) for c in commands[argv[0]]] + argv[1:]
        print("+", " ".join(cmd), flush=True)
        try:
            sys.exit(subprocess.run(cmd, cwd=ROOT, env=one_blas_thread_env()).returncode)
        except KeyboardInterrupt:  # Ctrl-C stops JupyterLab or Voila: no traceback
            sys.exit(130)


if __name__ == "__main__":
    main(sys.argv[1:])
