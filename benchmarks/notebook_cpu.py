"""Each notebook's CPU seconds, executed top to bottom as a teacher's machine runs it (the teacher's guide quotes
them: book/teachers.md).

    .venv/bin/python benchmarks/notebook_cpu.py                 # every notebook, into benchmarks/notebook_cpu.json
    .venv/bin/python benchmarks/notebook_cpu.py 05 06            # only those (the others' numbers are kept)

Each notebook is executed with ``jupyter nbconvert --to notebook --execute`` in a process of its own, with one
BLAS thread (``OPENBLAS_NUM_THREADS=1``, as the tests run them), its learner folder (``NN_LEARNER_DIR``) a
fresh temporary one and its output written to a temporary folder (the notebooks in the repository are not
changed). What is measured is that process and every process it waits for, the kernel included:
``resource.getrusage(RUSAGE_CHILDREN)`` before and after, user + sys seconds, and the wall seconds. A busy
machine stretches the wall seconds much more than the CPU seconds; for a teacher's table the CPU seconds are
the number to quote (on a quiet machine the wall time comes close to it).

The notebooks run in their numbered order (07 reads the network 06 saved), in the folder notebooks/.
POSIX only (``resource``); on Windows run it in WSL.

    .venv/bin/python benchmarks/notebook_cpu.py --guide         # and the teacher's guide quotes the JSON
    .venv/bin/python benchmarks/notebook_cpu.py --guide --no-run  # only the guide, from the JSON as it is

``--guide`` writes the CPU seconds of the JSON into the last column of the
notebooks' table of book/teachers.md ("CPU s (measured)"); tests/test_grade.py checks that they agree.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
OUT = Path(__file__).resolve().parent / "notebook_cpu.json"


def children_cpu() -> float:
    import resource
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_one(notebook: Path, out_dir: Path, learner: Path, timeout: int) -> dict:
    """Execute one notebook; its CPU (user + sys of nbconvert and the kernel) and wall seconds."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "NN_LEARNER_DIR": str(learner), "MPLBACKEND": "Agg"}
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
               f"--ExecutePreprocessor.timeout={timeout}", "--output-dir", str(out_dir), str(notebook)]
    cpu, wall = children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=NOTEBOOKS, env=env, capture_output=True, text=True)
    cpu, wall = children_cpu() - cpu, time.perf_counter() - wall
    result = {"cpu_s": round(cpu, 1), "wall_s": round(wall, 1), "ok": done.returncode == 0,
              "load_1min": round(os.getloadavg()[0], 1)}          # how busy the machine was, at the end
    if done.returncode != 0:
        result["error"] = (done.stderr.strip().splitlines() or ["?"])[-1][:300]
    return result


GUIDE = ROOT / "book" / "teachers.md"
#: A row of the guide's table of notebooks: "| 01 The data | ... | 60-90 | 6 |" (the last cell: CPU seconds).
ROW = re.compile(r"^(\| (\d\d) [^|]*\|.*\| )(\S+)( \|)$", re.M)


def guide_rows(text: str) -> dict:
    """notebook number -> the CPU seconds the guide's table quotes (as written)."""
    return {m.group(2): m.group(3) for m in ROW.finditer(text) if m.group(1).count("|") == 6}


def quote_in_guide(record: dict, guide: Path = GUIDE) -> list:
    """The guide's CPU column set from ``record`` (whole seconds); returns the notebooks it changed."""
    seconds = {name[:2]: f"{r['cpu_s']:.0f}" for name, r in record["notebooks"].items() if r.get("ok")}
    text = guide.read_text(encoding="utf-8")
    changed = []

    def cell(m):
        if m.group(1).count("|") != 6 or m.group(2) not in seconds:
            return m.group(0)
        if m.group(3) != seconds[m.group(2)]:
            changed.append(m.group(2))
        return m.group(1) + seconds[m.group(2)] + m.group(4)
    guide.write_text(ROW.sub(cell, text), encoding="utf-8", newline="\n")
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("only", nargs="*", help="the notebooks' numbers or names to run (default: all)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"the JSON (default: {OUT.relative_to(ROOT)})")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a cell may take")
    parser.add_argument("--guide", action="store_true", help="then write the CPU seconds into book/teachers.md")
    parser.add_argument("--no-run", action="store_true", help="run nothing (with --guide: the guide from the JSON)")
    args = parser.parse_args(argv)
    if args.no_run:
        if not args.guide or not args.out.exists():
            sys.exit("--no-run: nothing to do without --guide and an existing JSON")
        changed = quote_in_guide(json.loads(args.out.read_text(encoding="utf-8")))
        print(f"{GUIDE.relative_to(ROOT)}: CPU seconds of {', '.join(changed) or 'no notebook'} updated")
        return 0
    if os.name == "nt":
        sys.exit("notebook_cpu.py needs POSIX (resource.getrusage): run it in WSL.")
    notebooks = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) + sorted(NOTEBOOKS.glob("playground.ipynb"))
    if args.only:
        notebooks = [nb for nb in notebooks if any(nb.stem.startswith(o) or nb.name == o for o in args.only)]
        if not notebooks:
            sys.exit(f"no notebook matches {args.only}")
    previous = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    record = {"how": "jupyter nbconvert --to notebook --execute, OPENBLAS_NUM_THREADS=1; cpu_s = user + sys of "
                     "nbconvert and the kernel (getrusage RUSAGE_CHILDREN), wall_s = its wall time",
              "command": "python benchmarks/notebook_cpu.py", "machine": {
                  "platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                  "load_1min": round(os.getloadavg()[0], 1)},
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "notebooks": dict(previous.get("notebooks", {}))}
    with tempfile.TemporaryDirectory(prefix="notebook-cpu-") as tmp:
        tmp = Path(tmp)
        learner = tmp / "learner"
        learner.mkdir()
        for i, notebook in enumerate(notebooks, 1):
            print(f"[{i}/{len(notebooks)}] {notebook.name} ...", end=" ", flush=True)
            result = run_one(notebook, tmp / "out", learner, args.timeout)
            record["notebooks"][notebook.stem] = result
            print(f"{result['cpu_s']:.1f} CPU s, {result['wall_s']:.1f} s wall"
                  + ("" if result["ok"] else f"  FAILED: {result['error']}"), flush=True)
            # written after each notebook: an interrupted run keeps what it measured
            args.out.write_text(json.dumps(record, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    failed = [name for name, r in record["notebooks"].items() if not r["ok"]]
    if args.guide:
        changed = quote_in_guide(record)
        print(f"{GUIDE.relative_to(ROOT)}: CPU seconds of {', '.join(changed) or 'no notebook'} updated")
    print(f"{args.out}: {len(notebooks)} notebooks measured" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
