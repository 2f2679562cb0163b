"""How long a move of notebook 13's deep-network panel takes (widgets.deep_explorer), around its default
settings (20 plain hidden layers of 64 units, initial scale 1, learning rate 0.05, no batch norm, no residual
connections): each control moved one step from the default and back, each checkbox on and off.

    OPENBLAS_NUM_THREADS=1 python benchmarks/deep_panel_redraw.py               # about 20 s
    OPENBLAS_NUM_THREADS=1 python benchmarks/deep_panel_redraw.py --json benchmarks/deep_panel_redraw.json

A move builds the network anew, runs the forward and backward pass on 500 rows, trains 40 momentum steps of
64 rows, draws the three pictures, renders the PNG and writes the readout: everything the kernel does before
the browser shows the new figure. The goal: under 1 s a move at the default settings. Wall-clock seconds count
the moments another program had the core; CPU seconds (``time.process_time``) do not. ``default_*`` are the
moves that land on the default settings (the way back of each move).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402

import nn_helpers as nn  # noqa: E402
from conv_panel_redraw import cpu_name  # noqa: E402
from nn_helpers import widgets  # noqa: E402
from nn_helpers.threads import blas_info  # noqa: E402


def moves(panel) -> list:
    """``(control, value)`` pairs: from the default, each control one step away and back again."""
    c, out = panel.controls, []
    for name in ("depth", "scale", "lr"):
        if name == "depth":
            away = c[name].value + 1
        else:
            options = list(c[name].options)
            away = options[options.index(c[name].value) + 1]
        out += [(name, away), (name, c[name].value)]
    for name in ("batch_norm", "residual"):
        out += [(name, not c[name].value), (name, c[name].value)]
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--rounds", type=int, default=3, help="times to make every move")
    args = parser.parse_args(argv)
    images, labels = nn.load_mnist("train")
    panel = widgets.deep_explorer(nn.to_features(images[:5000]), labels[:5000])   # the first figure: fonts loaded
    defaults = {name: w.value for name, w in panel.controls.items()}
    wall, cpu, at_default, slowest = [], [], [], ("", 0.0)
    for _ in range(args.rounds):
        for name, value in moves(panel):
            w, t = time.perf_counter(), time.process_time()
            panel.controls[name].value = value
            wall.append(time.perf_counter() - w)
            cpu.append(time.process_time() - t)
            if value == defaults[name]:
                at_default.append((wall[-1], cpu[-1]))
            if wall[-1] > slowest[1]:
                slowest = (f"{name} = {value}", wall[-1])
    assert {name: w.value for name, w in panel.controls.items()} == defaults
    result = {"defaults": defaults, "moves": len(wall),
              "default_wall_median_s": round(statistics.median(w for w, _ in at_default), 3),
              "default_cpu_median_s": round(statistics.median(c for _, c in at_default), 3),
              "wall_median_s": round(statistics.median(wall), 3), "wall_max_s": round(max(wall), 3),
              "cpu_median_s": round(statistics.median(cpu), 3), "cpu_max_s": round(max(cpu), 3),
              "slowest": slowest[0], "load_average": os.getloadavg(), "cpu": cpu_name(), "blas": blas_info(),
              "python": sys.version.split()[0], "numpy": np.__version__}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
