"""How long a move of the playground's convolution panel takes (widgets.convolution_explorer), at every
setting: each filter (the hand-made ones and notebook 09's CNN's eight) at every stride and padding.

    OPENBLAS_NUM_THREADS=1 python benchmarks/conv_panel_redraw.py            # about a minute
    OPENBLAS_NUM_THREADS=1 python benchmarks/conv_panel_redraw.py --json OUT.json

A move recomputes the feature map, draws the three pictures, renders the PNG and writes the readout:
everything the kernel does before the browser shows the new figure. Wall-clock seconds count the moments
another program had the core; CPU seconds (``time.process_time``) do not. The browser's share (messages,
the PNG shown) is printed by tests/browser/test_voila.py::test_convolution_explorer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402

import nn_helpers as nn  # noqa: E402
from nn_helpers import recipes, widgets  # noqa: E402
from nn_helpers.threads import blas_info  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def cpu_name() -> str:
    """The CPU's model name with its family and model numbers (which name the generation when the name
    does not), from /proc/cpuinfo on Linux."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
                      if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        return f"{fields['model name']} (family {fields['cpu family']}, model {fields['model']})"
    except (OSError, KeyError):
        return platform.processor() or platform.machine()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    images, labels = nn.load_mnist("test")
    cnn_params, _ = recipes.small_cnn(ROOT / "output" / "cnn_small.npz")
    panel = widgets.convolution_explorer(images[:100], labels[:100], cnn_params=cnn_params)
    c = panel.controls
    wall, cpu, worst = [], [], ("", 0.0)
    c["padding"].value = 3  # warm-up: the first figure loads matplotlib's fonts
    for name in c["filter"].options:
        for S in range(c["stride"].min, c["stride"].max + 1):
            for P in range(c["padding"].min, c["padding"].max + 1):
                c["filter"].value, c["stride"].value = name, S
                w, t = time.perf_counter(), time.process_time()
                c["padding"].value = P if c["padding"].value != P else (P + 1) % (c["padding"].max + 1)
                wall.append(time.perf_counter() - w)
                cpu.append(time.process_time() - t)
                if wall[-1] > worst[1]:
                    worst = (f"{name}, S={S}, P={c['padding'].value}", wall[-1])
    result = {"moves": len(wall), "wall_median_s": round(statistics.median(wall), 3),
              "wall_max_s": round(max(wall), 3), "cpu_median_s": round(statistics.median(cpu), 3),
              "cpu_max_s": round(max(cpu), 3), "slowest": worst[0], "load_average": os.getloadavg(),
              "cpu": cpu_name(), "blas": blas_info(), "python": sys.version.split()[0],
              "numpy": np.__version__}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
