"""What benchmarks/fast_recipe.py and cnn_recipe.py share: one run of a command-line recipe per seed, as
``python -m nn_helpers train --recipe NAME`` does it, its record, the report, and the command line.

Each run loads MNIST (all 60,000 training images, no hold-out), initializes with the seed, trains (two threads
share each batch, one BLAS thread each: threadpoolctl sets it when it is installed, else OPENBLAS_NUM_THREADS=1
must), then measures the test accuracy on the 10,000 test images.

Recorded per run: the test accuracy; ``wall_seconds`` from the start of the data loading to the end of the
test evaluation; ``cpu_seconds``, the process's CPU time over the same span (user + system of all its threads:
about what the run costs, whatever else runs beside it); ``train_seconds``, the epochs alone; the BLAS
library, its kernel (``OPENBLAS_CORETYPE`` can choose a kernel that makes a transposed product 15 times
slower) and thread count, from threadpoolctl; the load average at the start and the end, to tell a quiet
machine from a loaded one (above about 2.5 on 2 cores the wall times say more about the other processes);
and the CPU's model name, family and model numbers (/proc/cpuinfo on Linux).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path


def blas() -> list[dict]:
    """threadpoolctl's view of the BLAS libraries loaded (library, version, kernel, threads)."""
    from threadpoolctl import threadpool_info

    return [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer")}
            for i in threadpool_info() if i.get("user_api") == "blas"]


def cpu_model() -> str:
    """The CPU's model name with its family and model numbers, which name the generation when the name does
    not (``Intel(R) Xeon(R) Processor (family 6, model 207)``); /proc/cpuinfo on Linux, else what
    ``platform.processor()`` says."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
        fields = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in lines if ":" in line)}
        return f"{fields['model name']} (family {fields['cpu family']}, model {fields['model']})"
    except (OSError, KeyError):
        return platform.processor() or platform.machine() or "unknown"


def run(recipe: str, seed: int, epochs: int | None = None) -> dict:
    """Train ``recipes.RECIPES[recipe]`` (``epochs``: another number of epochs, to try a variant) once with
    ``seed`` and return the run's record."""
    from nn_helpers import recipes
    from nn_helpers.threads import blas_threads

    step = recipes.RECIPES[recipe] if epochs is None else {**recipes.RECIPES[recipe], "epochs": epochs}
    load_avg = os.getloadavg()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    X_train, y_train, _, _, X_test, y_test = recipes.load_split(step["val"], seed=seed)
    load_seconds = time.perf_counter() - wall0
    with blas_threads(step["blas_threads"]):
        kernel = blas()
        params, history = recipes.train_step(step, X_train, y_train, seed=seed)
        test_acc = recipes.accuracy_on(step, params, X_test, y_test)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    result = {"seed": seed, "configuration": recipes.describe(step), "epochs": step["epochs"],
              "training_images": len(X_train), "test_acc": test_acc, "wall_seconds": wall, "cpu_seconds": cpu,
              "train_seconds": sum(history.seconds), "load_seconds": load_seconds,
              "epoch_seconds": history.seconds, "running_loss": history.running_loss,
              "running_acc": history.running_acc, "workers": recipes.workers(step), "blas": kernel,
              "loadavg_at_start": load_avg, "loadavg_at_end": os.getloadavg()}
    print(f"{recipe} seed {seed}: test {test_acc:.4f}  {wall:.0f} s wall ({sum(history.seconds):.0f} s of training), "
          f"{cpu:.0f} CPU-s; load average at start {load_avg[0]:.2f}, at the end {os.getloadavg()[0]:.2f}", flush=True)
    return result


def report(data: dict) -> None:
    """Print the runs of ``data`` (as :func:`main` writes it): accuracy over the seeds, wall and CPU time, BLAS."""
    runs = data["runs"]
    accs = [100 * r["test_acc"] for r in runs]
    walls = [r["wall_seconds"] for r in runs]
    cpus = [r["cpu_seconds"] for r in runs]
    spread = f" (min {min(accs):.2f}, max {max(accs):.2f}, sd {statistics.stdev(accs):.2f})" if len(runs) > 1 else ""
    print(f"{runs[0]['configuration']}, {runs[0]['epochs']} epochs on {runs[0]['training_images']} images; "
          f"CPU {data['machine'].get('cpu_model', 'not recorded')}")
    print(f"seeds {[r['seed'] for r in runs]}: test accuracy mean {statistics.mean(accs):.2f}%{spread}; "
          f"wall {min(walls):.0f}-{max(walls):.0f} s, CPU {min(cpus):.0f}-{max(cpus):.0f} s; load average at start "
          f"{min(r['loadavg_at_start'][0] for r in runs):.1f}-{max(r['loadavg_at_start'][0] for r in runs):.1f}")
    for lib in runs[0]["blas"]:
        print(f"BLAS: {lib.get('internal_api')} {lib.get('version') or ''} kernel {lib.get('architecture')}, "
              f"{lib.get('num_threads')} thread(s); OPENBLAS_CORETYPE={data['machine'].get('OPENBLAS_CORETYPE')}")


def main(recipe: str, doc: str, default_json: Path, argv=None) -> int:
    """The command line of a recipe's benchmark: ``--seeds``, ``--epochs``, ``--json``, ``--from-json``,
    ``--append``; the JSON is written after each run, so a stopped run keeps the seeds it finished."""
    from nn_helpers import recipes

    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=lambda v: int(v) if float(v).is_integer() else float(v), default=None,
                   help=f"change the recipe's {recipes.RECIPES[recipe]['epochs']} epochs (to try a variant)")
    p.add_argument("--json", default=str(default_json), help="where to write the results")
    p.add_argument("--from-json", default=None, metavar="IN", help="report an earlier run")
    p.add_argument("--append", action="store_true", help="keep the runs already in --json and add these")
    args = p.parse_args(argv)
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
    else:
        data = {"machine": {"platform": platform.platform(), "processor": platform.processor(), "cpu_model": cpu_model(),
                            "cores": os.cpu_count(),
                            **{k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                                              "OPENBLAS_CORETYPE")}},
                "runs": []}
        if args.append and Path(args.json).is_file():
            data["runs"] = json.loads(Path(args.json).read_text(encoding="utf-8"))["runs"]
        for seed in args.seeds:
            data["runs"].append(run(recipe, seed, args.epochs))
            Path(args.json).write_text(json.dumps(data, indent=1), encoding="utf-8")   # after each run: kept if stopped
    report(data)
    return 0
