"""How long a slider move of the 2-D playground takes (widgets.boundary_explorer), wall clock and CPU.

    OPENBLAS_NUM_THREADS=1 python benchmarks/boundary_redraw.py              # about a minute on 2 cores
    OPENBLAS_NUM_THREADS=1 python benchmarks/boundary_redraw.py --repeats 9 --json OUT.json
    OPENBLAS_NUM_THREADS=1 python benchmarks/boundary_redraw.py --browser   # also as a user sees it (Voila)

A move of a setting (any control but the epoch shown) trains a new network from scratch and redraws:
**retrain** is the training (``train`` with its snapshots), **redraw** the rest (class probabilities on
the grid, accuracies, the figure, its PNG, the readout). A move of the epoch shown (what Play does at
each tick) only redraws. Each repeat moves the L2 lambda slider between 0 and 1e-4 (a full training run,
like any other setting) and then the epoch shown; the first move is a warm-up and not counted.

Wall-clock seconds count the moments another program had the core; CPU seconds (``time.process_time``)
do not. With ``--browser``, Voila serves a notebook holding only the panel, and headless Chromium
(Playwright, /usr/bin/chromium) presses the arrow keys on the lambda slider: the wall clock from the key
press until the page shows the new figure (kernel, messages, PNG, browser), and the CPU seconds of the
kernel process during it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
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
    "largest": {"n": 500, "depth": 4, "width": 64, "epochs": 600},
    "largest, tanh, dropout 0.5": {"n": 500, "depth": 4, "width": 64, "epochs": 600, "activation": "tanh",
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kernel_cpu(server) -> float:
    """CPU seconds (user + sys) of the processes the Voila server started (its kernel)."""
    return sum(sum(child.cpu_times()[:2]) for child in server.children(recursive=True))


def browser_moves(settings: dict, repeats: int) -> dict:
    """``repeats`` moves of the lambda slider by the arrow keys in Voila, after one warm-up: the seconds
    from the key press until the page shows the new figure, and the kernel's CPU seconds meanwhile."""
    import psutil  # installed with ipykernel
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="boundary-redraw-"))
    source = f"from nn_helpers import widgets\npanel = widgets.boundary_explorer()\npanel.set(**{settings!r})\npanel"
    notebook = {"cells": [{"cell_type": "code", "execution_count": None, "id": "panel", "metadata": {},
                           "outputs": [], "source": source}],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (folder / "panel.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    port = free_port()
    log = (folder / "voila.log").open("w", encoding="utf-8")
    server = subprocess.Popen([sys.executable, "-m", "voila", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
                               "panel.ipynb"], cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    rows = {"browser_wall": [], "kernel_cpu": []}
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/", timeout=180_000)
            image = ".nn-boundary-explorer .nn-figure img"
            page.wait_for_selector(image, timeout=180_000)
            handle = page.locator(".nn-boundary-explorer .widget-slider").filter(
                has=page.locator(".widget-label", has_text="L2 lambda")).locator(".noUi-handle")
            handle.focus()
            process = psutil.Process(server.pid)
            for i in range(repeats + 1):
                old = page.locator(image).get_attribute("src")
                cpu, wall = kernel_cpu(process), time.perf_counter()
                handle.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")  # lambda 0 -> 1e-4 -> 0 ...
                page.wait_for_function("old => { const img = document.querySelector('" + image + "');"
                                       " return img !== null && img.src !== old; }", arg=old, timeout=120_000)
                wall, cpu = time.perf_counter() - wall, kernel_cpu(process) - cpu
                if i:
                    rows["browser_wall"].append(wall)
                    rows["kernel_cpu"].append(cpu)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    return rows


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
    if any("browser_wall" in r for r in results["cases"].values()):
        lines += ["", "| case | in Voila, key press to new figure: wall s | kernel CPU s |", "|---|---|---|"]
        lines += [f"| {case} | {spread(r['browser_wall'])} | {spread(r['kernel_cpu'])} |"
                  for case, r in results["cases"].items() if "browser_wall" in r]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="moves per case (after one warm-up); default 7")
    parser.add_argument("--json", type=Path, help="write every measurement to this file")
    parser.add_argument("--browser", action="store_true", help="also measure the moves in Voila with Chromium")
    args = parser.parse_args(argv)
    results = {"repeats": args.repeats, "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
               "threads": os.environ["OPENBLAS_NUM_THREADS"], "numpy": np.__version__,
               "python": platform.python_version(), "cpu_count": os.cpu_count(), "cases": {}}
    for case, settings in CASES.items():
        results["cases"][case] = measure(settings, args.repeats)
        if args.browser:
            results["cases"][case].update(browser_moves(settings, args.repeats))
        print(f"{case}: done", flush=True)
    print(f"\nmedian (min-max) over {args.repeats} moves; load average {results['load_average']:.2f} at the start; "
          f"{results['threads']} BLAS thread(s)\n")
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
