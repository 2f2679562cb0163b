"""How long `python3 dev.py test` takes: wall time, CPU time, and the seconds of each test file.

    python benchmarks/test_time.py             # set up .venv (not timed), then time `dev.py test`
    python benchmarks/test_time.py -n 0        # the same, everything in one process (the old way)
    python benchmarks/test_time.py --update    # also store the per-file CPU seconds in test_times.json,
                                               # which conftest.py uses to start the slowest files first
    python benchmarks/test_time.py --json out.json -- -k softmax   # after `--`: more pytest arguments
    python benchmarks/test_time.py --plan [WORKERS]   # no run: how conftest.py's order spreads the stored
                                               # seconds over WORKERS (2) workers, and the longest worker

Wall time is what a teacher waits; it depends on what else the machine runs. CPU time (user + sys of
dev.py test and everything it started: workers, kernels, browsers) depends much less on that, so
compare CPU seconds when the machine is busy. A file's seconds are the sum of its tests' set-up, call
and tear-down (pytest --durations): for a notebook, its kernel's start and every cell. Its CPU seconds
(benchmarks/cpu_seconds_plugin.py, loaded into every worker) are user + sys of the worker and of the
kernels, browser and servers it started and stopped in that time: what a quiet machine's wall seconds
are for a file that computes on one core, and nearly the same on a busy machine, so --update stores those
(or the wall seconds, where smaller: a kernel reaped late counts in the next file's first test).

Except for the browser tests (tests/browser/): Chromium runs from the first browser test to the end of
the session, and its pages' processes are reaped by Chromium, never by pytest, so their CPU seconds miss
most of what these files cost (test_book.py: 13 CPU-s counted, 154 s of wall in a run where the other files
took 1.9 s of wall per CPU-s). For them --update stores their wall seconds scaled by the run's CPU-s per
wall second over the other files: what the load added to every file, taken off theirs too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMES = ROOT / "benchmarks" / "test_times.json"
CPU_LINE = re.compile(r"^cpu-s\s+(\d+(?:\.\d+)?) (\S+)$")
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s (?:setup|call|teardown)\s+(\S+?)(?:::.*)?$")
#: As in conftest.py: notebook 07 runs right after 06, on the same worker.
RUNS_AFTER = {"notebooks/07_evaluation.ipynb": "notebooks/06_training.ipynb"}
#: Files whose CPU seconds the plugin cannot see (the browser's): stored from their wall seconds (above).
WALL_ONLY = "tests/browser/"
SUMMARY = re.compile(r"^=+ (.*\d+ (?:passed|failed).*) in [\d.]+s")


def cpu_seconds() -> float | None:
    """User + sys seconds of this process's finished children (POSIX only)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def per_file_seconds(output: str) -> dict:
    seconds: dict = {}
    for line in output.splitlines():
        match = DURATION.match(line)
        if match:
            seconds[match[2]] = seconds.get(match[2], 0.0) + float(match[1])
    return seconds


def per_file_cpu_seconds(output: str) -> dict:
    return {match[2]: float(match[1]) for match in map(CPU_LINE.match, output.splitlines()) if match}


def measure(pytest_args: list) -> dict:
    subprocess.run([sys.executable, "dev.py", "setup"], cwd=ROOT, check=True)  # not timed
    cmd = [sys.executable, "dev.py", "test", "--durations=0", "--durations-min=0", "-p", "cpu_seconds_plugin",
           *pytest_args]
    here = str(Path(__file__).resolve().parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
    cpu, start = cpu_seconds(), time.perf_counter()
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, encoding="utf-8", errors="replace")
    wall = time.perf_counter() - start
    cpu = None if cpu is None else cpu_seconds() - cpu
    summary = next((m[1] for m in map(SUMMARY.match, reversed(run.stdout.splitlines())) if m), "no summary")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"command": " ".join(["python3", "dev.py", "test", *pytest_args]), "returncode": run.returncode,
            "summary": summary, "wall_s": round(wall, 1), "cpu_s": None if cpu is None else round(cpu, 1),
            "cores": os.cpu_count(), "load_before_end": None if load is None else round(load, 1), "files": per_file_seconds(run.stdout),
            "files_cpu_s": per_file_cpu_seconds(run.stdout),
            "tail": run.stdout[-3000:] if run.returncode else ""}


def stored_times(result: dict) -> dict:
    """What --update stores per file: its CPU seconds, no more than its wall seconds (a child's CPU counts when
    it is reaped, sometimes in the next file's first test); a browser test's wall seconds times the run's CPU-s
    per wall second over the other files."""
    wall, cpu = result["files"], result["files_cpu_s"]
    measured = [path for path in wall if not path.startswith(WALL_ONLY) and path in cpu]
    stretch = min(1.0, sum(cpu[p] for p in measured) / max(sum(wall[p] for p in measured), 1e-9)) if measured else 1.0
    return {path: round(seconds * stretch if path.startswith(WALL_ONLY) else min(seconds, cpu.get(path, seconds)), 1)
            for path, seconds in sorted(wall.items())}


def report(result: dict) -> None:
    cpu = "n/a" if result["cpu_s"] is None else f"{result['cpu_s']:.0f} s"
    print(f"{result['command']}: {result['summary']} (exit {result['returncode']})")
    print(f"wall {result['wall_s']:.0f} s, CPU {cpu} (user + sys of everything it started), "
          f"{result['cores']} cores, load average {result['load_before_end']}")
    cpu_s = result["files_cpu_s"]
    files = sorted(result["files"].items(), key=lambda item: -cpu_s.get(item[0], item[1]))
    print(f"{'seconds':>8} {'CPU s':>7}  file (sum of its tests' set-up, call and tear-down)")
    for path, seconds in files:
        print(f"{seconds:8.1f} {cpu_s.get(path, float('nan')):7.1f}  {path}")
    print(f"{sum(result['files'].values()):8.1f} {sum(cpu_s.values()):7.1f}  in all")
    if result["tail"]:
        print(result["tail"])


def plan(times: dict, workers: int) -> list:
    """What each worker runs and for how long, when the work units of conftest.py (a file, or 06 with 07
    after it) go, slowest first, each to the worker that is free first (as --dist loadfile hands them
    out): a list of (seconds, [unit, ...]) per worker. The longest is the wall time's lower bound."""
    units: dict = {}
    for path, seconds in times.items():
        unit = RUNS_AFTER.get(path, path)
        units[unit] = units.get(unit, 0.0) + seconds
    loads = [[0.0, []] for _ in range(workers)]
    for unit, seconds in sorted(units.items(), key=lambda item: -item[1]):
        free = min(loads, key=lambda load: load[0])
        free[0] += seconds
        free[1].append(unit)
    return [(round(seconds, 1), names) for seconds, names in loads]


def report_plan(times: dict, workers: int) -> None:
    print(f"{sum(times.values()):.0f} s in all (benchmarks/test_times.json), over {workers} workers:")
    for seconds, names in plan(times, workers):
        print(f"{seconds:6.1f} s: " + ", ".join(f"{Path(n).name} {sum(t for p, t in times.items() if RUNS_AFTER.get(p, p) == n):.0f}"
                                        for n in names[:6]) + (f", and {len(names) - 6} more" if len(names) > 6 else ""))


def main(argv=None):
    """Our options (--update, --json OUT, --help); every other argument goes to pytest, in order."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "-h" in argv or "--help" in argv:
        sys.exit(__doc__)
    argv = [a for a in argv if a != "--"]
    if "--plan" in argv:
        rest = argv[argv.index("--plan") + 1:]
        report_plan(json.loads(TIMES.read_text(encoding="utf-8")), int(rest[0]) if rest else 2)
        return 0
    update = "--update" in argv
    json_out = Path(argv[argv.index("--json") + 1]) if "--json" in argv else None
    if json_out:
        del argv[argv.index("--json"):argv.index("--json") + 2]
    result = measure([a for a in argv if a != "--update"])
    report(result)
    if json_out:
        json_out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8", newline="\n")
    if update:
        TIMES.write_text(json.dumps(stored_times(result), indent=1) + "\n", encoding="utf-8", newline="\n")
    return result["returncode"]


if __name__ == "__main__":
    sys.exit(main())
