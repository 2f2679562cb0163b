"""Test accuracy against training time of notebook 08's recipes.BEST, beside notebook 06's FINAL.

    OPENBLAS_NUM_THREADS=1 python benchmarks/best_recipe.py                  # seed 0: about 4 minutes on 2 cores
    OPENBLAS_NUM_THREADS=1 python benchmarks/best_recipe.py --seeds 0 1 2    # the spread over seeds
    python benchmarks/best_recipe.py --from-json benchmarks/best_recipe.json  # redraw, measure nothing

Each recipe is trained as ``python -m nn_helpers train --recipe final / best`` trains it (55,000 training
images, 5,000 held out, the split and the initialization from ``--seed``), and the test accuracy is
measured after every epoch. Training seconds are the sum of ``History.seconds`` (the epochs, with their
validation pass), without the test evaluations.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(name: str, seed: int) -> dict:
    import nn_helpers as nn
    from nn_helpers import recipes

    X_train, y_train, X_val, y_val, X_test, y_test = recipes.load_split(seed=seed)
    curve = []

    def record(epoch, history, params):
        curve.append((sum(history.seconds), nn.evaluate(params, X_test, y_test)[1]))

    start = time.perf_counter()
    params, history = recipes.train_step(recipes.RECIPES[name], X_train, y_train, X_val, y_val, seed=seed,
                                         callbacks=[record])
    wall = time.perf_counter() - start
    result = {"recipe": name, "seed": seed, "configuration": recipes.describe(recipes.RECIPES[name]),
              "epochs": len(history), "train_seconds": sum(history.seconds), "wall_seconds": wall,
              "val_acc": history.val_acc[-1], "test_acc": curve[-1][1], "curve": curve}
    print(f"{name:5s} seed {seed}: test {result['test_acc']:.4f}  val {result['val_acc']:.4f}  "
          f"{result['train_seconds']:.0f} s of training ({wall:.0f} s with the test evaluations)", flush=True)
    return result


def plot(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    colors = {"final": "tab:blue", "best": "tab:red"}
    for r in data["runs"]:
        seconds, acc = zip(*r["curve"])
        label = f"{r['recipe']}: {r['configuration'].split(',')[0]} (seed {r['seed']})"
        ax.plot(seconds, [100 * a for a in acc], "o-", ms=3, color=colors[r["recipe"]], label=label,
                alpha=1.0 if r["seed"] == data["runs"][0]["seed"] else 0.5)
    ax.axhline(98.7, color="grey", ls=":", label="98.7%")
    ax.set(title="Test accuracy against training time (1 BLAS thread)", xlabel="training seconds",
           ylabel="test accuracy (%)", ylim=(96.5, 99.5))
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(data: dict) -> None:
    for name in ("final", "best"):
        runs = [r for r in data["runs"] if r["recipe"] == name]
        if not runs:
            continue
        accs = [100 * r["test_acc"] for r in runs]
        secs = [r["train_seconds"] for r in runs]
        spread = f", spread {min(accs):.2f}-{max(accs):.2f} (sd {statistics.stdev(accs):.2f})" if len(runs) > 1 else ""
        print(f"{name}: {runs[0]['configuration']}, {runs[0]['epochs']} epochs; seeds "
              f"{[r['seed'] for r in runs]}: test accuracy mean {statistics.mean(accs):.2f}%{spread}; "
              f"training {min(secs):.0f}-{max(secs):.0f} s")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--recipes", nargs="+", default=["final", "best"], choices=["final", "best"])
    p.add_argument("--json", default=str(HERE / "best_recipe.json"))
    p.add_argument("--plot", default=str(HERE / "best_recipe.png"))
    p.add_argument("--from-json", default=None, metavar="IN", help="redraw and report an earlier run")
    args = p.parse_args(argv)
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
    else:
        data = {"machine": {"platform": platform.platform(), "cores": os.cpu_count(),
                            "loadavg_at_start": os.getloadavg(),
                            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")},
                "runs": [run(name, seed) for seed in args.seeds for name in args.recipes]}
        Path(args.json).write_text(json.dumps(data, indent=1), encoding="utf-8")
    report(data)
    plot(data, Path(args.plot))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
