"""How long a slider move of the 2-D playground takes (widgets.boundary_explorer), wall clock and CPU.

    OPENBLAS_NUM_THREADS=1 python benchmarks/boundary_redraw.py              # about a minute on 2 cores
    OPENBLAS_NUM_THREADS=1 python benchmarks/boundary_redraw.py --repeats 9 --json OUT.json

A move of a setting (any control but the epoch shown) trains a new network from scratch and redraws:
**retrain** is the training (``train`` with its snapshots), **redraw** the rest (class probabilities on
the grid, accuracies, the figure, its PNG, the readout). A move of the epoch shown (what Play does at
each tick) only redraws. Each repeat moves the L2 lambda slider between 0 and 1e-4 (a full training run,
like any other setting) and then the epoch shown; the first move is a warm-up and not counted.

Wall-clock seconds count the moments another program had the core; CPU seconds (``time.process_time``)
do not. What the browser adds (sending the PNG, drawing it) is not measured here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # before NumPy loads: the products are too small for a second thread

import numpy as np  # noqa: E402

from nn_helpers import widgets  # noqa: E402

#: The cases: the panel's defaults, and every size control at its maximum (with and without the
#: costlier options: tanh and dropout).
CASES = {
    "default": {},
    "largest": {"n": 500, "depth": 4, "width": 64, "epochs": 1000},
    "largest, tanh, dropout 0.5": {"n": 500, "depth": 4, "width": 64, "epochs": 1000, "activation": "tanh",
                                   "dropout": 0.5},
}


class Clock:
    """Wall and CPU seconds of the last call of the panel's ``update`` (the redraw)."""

    def __init__(self, panel):
        self.wall = self.cpu = 0.0
        update = panel.update

        def timed_update():
            wall, cpu = time.perf_counter(), time.process_time()
            update()
            self.wall, self.cpu = time.perf_counter() - wall, time.process_time() - cpu

        panel.update = timed_update  # retrain() and the epoch slider call self.update()


def timed(action) -> tuple:
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(settings: dict, repeats: int) -> dict:
    """``repeats`` slider moves at these settings: seconds of each (wall, CPU), split into retrain and redraw."""
    panel = widgets.boundary_explorer()
    panel.set(**settings)
    clock = Clock(panel)
    lam, epoch = panel.controls["lam"], panel.controls["epoch"]
    rows = {key: [] for key in ("move_wall", "move_cpu", "retrain_wall", "retrain_cpu", "redraw_wall",
                                "redraw_cpu", "epoch_wall", "epoch_cpu")}
    for i in range(repeats + 1):
        wall, cpu = timed(lambda: setattr(lam, "value", 1e-4 if lam.value == 0 else 0.0))
        redraw_wall, redraw_cpu = clock.wall, clock.cpu
        shown = epoch.max // 2 if epoch.value == epoch.max else epoch.max
        epoch_wall, epoch_cpu = timed(lambda: setattr(epoch, "value", shown))
        if i == 0:
            continue  # warm-up
        for key, value in (("move_wall", wall), ("move_cpu", cpu), ("retrain_wall", wall - redraw_wall),
                           ("retrain_cpu", cpu - redraw_cpu), ("redraw_wall", redraw_wall),
                           ("redraw_cpu", redraw_cpu), ("epoch_wall", epoch_wall), ("epoch_cpu", epoch_cpu)):
            rows[key].append(value)
    st = panel.state
    return {"settings": panel.settings(), "layer_sizes": st["layer_sizes"], "n_params": st["n_params"],
            "png_bytes": len(panel.picture()) * 3 // 4, "train_acc": st["train_acc"], "test_acc": st["test_acc"],
            **rows}


def spread(values: list) -> str:
    """median (min-max) of seconds."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def report(results: dict) -> str:
    head = ("| case | network | setting move: wall s | CPU s | of which retrain, CPU s | redraw, CPU s "
            "| epoch shown (Play tick): wall s | CPU s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for case, r in results["cases"].items():
        lines.append(f"| {case} | {'-'.join(map(str, r['layer_sizes']))}, {r['settings']['epochs']} epochs, "
                     f"{r['settings']['n']} points | {spread(r['move_wall'])} | {spread(r['move_cpu'])} "
                     f"| {spread(r['retrain_cpu'])} | {spread(r['redraw_cpu'])} | {spread(r['epoch_wall'])} "
                     f"| {spread(r['epoch_cpu'])} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="moves per case (after one warm-up); default 7")
    parser.add_argument("--json", type=Path, help="write every measurement to this file")
    args = parser.parse_args(argv)
    results = {"repeats": args.repeats, "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
               "threads": os.environ["OPENBLAS_NUM_THREADS"], "numpy": np.__version__,
               "python": platform.python_version(), "cpu_count": os.cpu_count(), "cases": {}}
    for case, settings in CASES.items():
        results["cases"][case] = measure(settings, args.repeats)
        print(f"{case}: done", flush=True)
    print(f"\nmedian (min-max) over {args.repeats} moves; load average {results['load_average']:.2f} at the start; "
          f"{results['threads']} BLAS thread(s)\n")
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
