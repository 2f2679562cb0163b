"""Benchmark nn_helpers against PyTorch and scikit-learn on MNIST, on the CPU.

    pip install -e .[bench]
    python benchmarks/compare.py                 # full run (about 8 minutes on 2 cores)
    python benchmarks/compare.py --quick         # smoke run: 1 repeat, 3 epochs, no tutorial/CLI runs

The same network (784-128-10, ReLU, He init, mini-batches of 128, SGD with momentum 0.9, the same
learning rate and epochs, float32, the 60,000 training images, tested on the 10,000 test images) is
trained three ways:

- nn_helpers: ``nn.train`` (what the notebooks use);
- PyTorch: a plain loop with ``nn.Linear``/``nn.ReLU``/``nn.CrossEntropyLoss`` and ``torch.optim.SGD``,
  starting from the same weights and visiting the batches in the same order as nn_helpers;
- scikit-learn: ``MLPClassifier(solver="sgd")`` with ``partial_fit`` once per epoch (its own
  Glorot-uniform initialization: scikit-learn offers no way to pass initial weights).

Every run happens in its own subprocess, so imports and peak memory do not mix; the methods take turns
(the order rotates every repeat) so that a burst of load from other programs hits all of them alike.
Training time excludes the test evaluation after each epoch. Peak memory is the subprocess's
``ru_maxrss`` (peak resident set size, from ``os.wait4``): the interpreter, the imported libraries, the
data and the training together.

Also measured: the original tutorial's recipe (784-10-10, uniform init, full-batch gradient descent,
500 iterations), the default CLI recipe's time to 98%, ``python -m nn_helpers train`` as a whole, and
the machine's float32 matrix-multiply speed (the floor: how close an epoch comes to pure BLAS time).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
METHODS = ("nn_helpers", "pytorch", "sklearn")
LABELS = {
    "nn_helpers": "nn_helpers (nn.train)",
    "pytorch": "PyTorch (manual loop)",
    "sklearn": "scikit-learn (MLPClassifier)",
    "cli_recipe": "nn_helpers CLI recipe",
    "tutorial": "original tutorial recipe",
}
THRESHOLDS = (0.97, 0.98)


# --------------------------------------------------------------------------------------------------
# Workers: each runs in its own process (python compare.py --worker NAME ...) and prints one JSON line.
# --------------------------------------------------------------------------------------------------

def rss_mb() -> float:
    """Current resident set size of this process in MB (Linux)."""
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def load_data():
    import nn_helpers as nn

    images, y = nn.load_mnist("train")
    test_images, y_test = nn.load_mnist("test")
    return nn.to_features(images), y, nn.to_features(test_images), y_test


class CpuClock:
    """CPU seconds of this process (all its threads) per epoch: pause() before an epoch, lap() after it.
    Unlike wall time, CPU time does not count the moments another program had the core."""

    def __init__(self):
        self.laps, self.start = [], time.process_time()

    def pause(self):
        self.start = time.process_time()

    def lap(self):
        self.laps.append(time.process_time() - self.start)


def best_time(f, repeats=5) -> float:
    """Fastest of a few calls of f(): the least disturbed by other programs."""
    f()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def blas_info() -> list:
    from threadpoolctl import threadpool_info

    keep = ("internal_api", "prefix", "version", "num_threads", "architecture", "threading_layer")
    return [{k: lib.get(k) for k in keep if lib.get(k) is not None} | {"file": Path(lib["filepath"]).name}
            for lib in threadpool_info()]


def worker_nn_helpers(args, X, y, X_test, y_test) -> dict:
    import nn_helpers as nn

    curve = []  # (cumulative training seconds, test accuracy) after each epoch
    cpu = CpuClock()

    def record(epoch, history, params):
        cpu.lap()
        acc = nn.accuracy(y_test, nn.predict(params, X_test))  # after history.seconds[-1] was taken: not timed
        curve.append((sum(history.seconds), acc))
        cpu.pause()

    params = nn.init_params([784, args.hidden, 10], init="he", seed=args.seed)
    rss0 = rss_mb()
    cpu.pause()
    params, history = nn.train(params, X, y, epochs=args.epochs, batch_size=128, optimizer="momentum",
                               lr=args.lr, seed=args.seed, callbacks=[record], progress=False)
    infer = best_time(lambda: nn.predict(params, X_test))
    return dict(curve=curve, epoch_seconds=list(history.seconds), epoch_cpu_seconds=cpu.laps, infer_seconds=infer,
                rss_before_train=rss0)


def worker_pytorch(args, X, y, X_test, y_test) -> dict:
    import numpy as np
    import torch
    import nn_helpers as nn

    torch.set_num_threads(args.threads)
    start = nn.init_params([784, args.hidden, 10], init="he", seed=args.seed)  # the same weights as nn_helpers
    model = torch.nn.Sequential(torch.nn.Linear(784, args.hidden), torch.nn.ReLU(), torch.nn.Linear(args.hidden, 10))
    with torch.no_grad():
        for layer, l in ((model[0], 1), (model[2], 2)):
            layer.weight.copy_(torch.from_numpy(start[f"W{l}"].T))  # torch stores W as (out, in)
            layer.bias.copy_(torch.from_numpy(start[f"b{l}"]))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    X_test_t = torch.from_numpy(X_test)
    rng = np.random.default_rng(args.seed)  # the same batch order as nn.train
    n, batch_size = len(X), 128

    def predict():
        with torch.no_grad():
            return model(X_test_t).argmax(dim=1).numpy()

    curve, epoch_seconds, cpu = [], [], CpuClock()
    rss0 = rss_mb()
    for epoch in range(args.epochs):
        t = time.perf_counter()
        cpu.pause()
        model.train()
        order = torch.from_numpy(rng.permutation(n))
        loss_sum = 0.0
        for b in range(0, n, batch_size):
            idx = order[b : b + batch_size]
            xb, yb = X_t[idx], y_t[idx]
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)  # nn.train also keeps the epoch's mean loss
        epoch_seconds.append(time.perf_counter() - t)
        cpu.lap()
        model.eval()
        curve.append((sum(epoch_seconds), nn.accuracy(y_test, predict())))
    infer = best_time(predict)
    return dict(curve=curve, epoch_seconds=epoch_seconds, epoch_cpu_seconds=cpu.laps, infer_seconds=infer,
                rss_before_train=rss0)


def worker_sklearn(args, X, y, X_test, y_test) -> dict:
    import warnings

    import numpy as np
    from sklearn.neural_network import MLPClassifier
    import nn_helpers as nn

    clf = MLPClassifier(hidden_layer_sizes=(args.hidden,), activation="relu", solver="sgd", alpha=0.0,
                        batch_size=128, learning_rate="constant", learning_rate_init=args.lr, momentum=0.9,
                        nesterovs_momentum=False, shuffle=True, random_state=args.seed)
    classes = np.arange(10)
    curve, epoch_seconds, cpu = [], [], CpuClock()
    rss0 = rss_mb()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in range(args.epochs):
            t = time.perf_counter()
            cpu.pause()
            clf.partial_fit(X, y, classes=classes)  # one pass over the shuffled data in batches of 128
            epoch_seconds.append(time.perf_counter() - t)
            cpu.lap()
            curve.append((sum(epoch_seconds), nn.accuracy(y_test, clf.predict(X_test))))
    dtype = str(clf.coefs_[0].dtype)
    infer = best_time(lambda: clf.predict(X_test))
    return dict(curve=curve, epoch_seconds=epoch_seconds, epoch_cpu_seconds=cpu.laps, infer_seconds=infer,
                rss_before_train=rss0, dtype=dtype)


def worker_cli_recipe(args, X, y, X_test, y_test) -> dict:
    """The default CLI recipe, as cmd_train runs it, with the test accuracy measured after every epoch."""
    import nn_helpers as nn
    from nn_helpers.cli import DEFAULTS as D

    X_train, y_train, _, _ = nn.train_val_split(X, y, D["val"], seed=D["seed"])
    params = nn.init_params([784, *D["hidden"], 10], init=D["init"], seed=D["seed"])
    curve, cpu = [], CpuClock()

    def record(epoch, history, params):
        cpu.lap()
        curve.append((sum(history.seconds), nn.accuracy(y_test, nn.predict(params, X_test, D["activation"]))))
        cpu.pause()

    rss0 = rss_mb()
    cpu.pause()
    params, history = nn.train(params, X_train, y_train, epochs=D["epochs"], batch_size=D["batch_size"],
                               optimizer=D["optimizer"], lr=D["lr"], schedule=D["schedule"],
                               activation=D["activation"], seed=D["seed"], callbacks=[record], progress=False)
    infer = best_time(lambda: nn.predict(params, X_test))
    recipe = f"{'-'.join(map(str, [784, *D['hidden'], 10]))} {D['optimizer']} lr {D['lr']} {D['schedule']}, " \
             f"batch {D['batch_size']}, {D['epochs']} epochs, {len(X_train)} training images"
    return dict(curve=curve, epoch_seconds=list(history.seconds), epoch_cpu_seconds=cpu.laps, infer_seconds=infer,
                rss_before_train=rss0, recipe=recipe)


def worker_tutorial(args, X, y, X_test, y_test) -> dict:
    """The original tutorial: 784-10-10, W, b = rand - 0.5, full-batch gradient descent, lr 0.1, 500 steps."""
    import nn_helpers as nn

    params = nn.init_params([784, 10, 10], init="uniform", seed=args.seed)
    rss0 = rss_mb()
    params, history = nn.train(params, X, y, epochs=args.tutorial_iterations, batch_size=None, optimizer="sgd",
                               lr=0.1, seed=args.seed, progress=False)
    acc = nn.accuracy(y_test, nn.predict(params, X_test))
    total = sum(history.seconds)
    infer = best_time(lambda: nn.predict(params, X_test))
    return dict(curve=[(total, acc)], epoch_seconds=list(history.seconds), infer_seconds=infer,
                rss_before_train=rss0)


def worker_floor(args) -> dict:
    """float32 matrix-multiply speed (GFLOP/s) for a large square product and the shapes one training
    batch of 784-H-10 multiplies (forward and backward)."""
    import numpy as np

    rng = np.random.default_rng(0)
    H, B = args.hidden, 128
    m = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    X, W1, Z1, W2, dZ2 = m(B, 784), m(784, H), m(B, H), m(H, 10), m(B, 10)
    shapes = {
        "2048x2048 @ 2048x2048": (m(2048, 2048), m(2048, 2048)),
        f"X @ W1: {B}x784 @ 784x{H}": (X, W1),
        f"X.T @ dZ1: 784x{B} @ {B}x{H}": (X.T, Z1),
        f"A1 @ W2: {B}x{H} @ {H}x10": (Z1, W2),
        f"A1.T @ dZ2: {H}x{B} @ {B}x10": (Z1.T, dZ2),
        f"dZ2 @ W2.T: {B}x10 @ 10x{H}": (dZ2, W2.T),
    }
    try:  # the same products in PyTorch (its own BLAS: MKL), when it is installed
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    out = {}
    for name, (a, b) in shapes.items():
        flops = 2 * a.shape[0] * a.shape[1] * b.shape[1]
        reps = max(1, int(2e8 / flops))  # about 0.1 s per timing
        t = best_time(lambda: [a @ b for _ in range(reps)], repeats=9) / reps
        out[name] = dict(gflops=flops / t / 1e9, seconds=t, flops=flops, per_batch=not name.startswith("2048"))
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            t = best_time(lambda: [ta @ tb for _ in range(reps)], repeats=9) / reps
            out[name]["torch_gflops"] = flops / t / 1e9
    return out


WORKERS = dict(nn_helpers=worker_nn_helpers, pytorch=worker_pytorch, sklearn=worker_sklearn,
               cli_recipe=worker_cli_recipe, tutorial=worker_tutorial)


def run_worker(args) -> None:
    import numpy as np
    import nn_helpers as nn

    versions = {"python": platform.python_version(), "numpy": np.__version__}
    if args.worker == "floor":
        result = worker_floor(args)
    else:
        X, y, X_test, y_test = load_data()
        if args.worker == "pytorch":
            import torch
            versions["torch"] = torch.__version__
            versions["torch_blas"] = ("MKL" if torch.backends.mkl.is_available() else "?") + \
                f", oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}, " \
                f"CPU capability {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} thread(s)"
        if args.worker == "sklearn":
            import sklearn
            versions["sklearn"] = sklearn.__version__
        result = WORKERS[args.worker](args, X, y, X_test, y_test)
        result["n_train"] = len(X)
    result["blas"] = blas_info()
    result["versions"] = versions
    print("RESULT " + json.dumps(result))


# --------------------------------------------------------------------------------------------------
# The driver: runs the workers in subprocesses, summarizes, prints the table, draws the plot.
# --------------------------------------------------------------------------------------------------

def thread_env(threads: int) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


def run_child(cmd: list, threads: int) -> tuple:
    """Run cmd; return (stdout, stderr, wall seconds, peak RSS in MB of that child alone)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=thread_env(threads), encoding="utf-8")
    # os.wait4 gives the rusage of exactly this child (getrusage(RUSAGE_CHILDREN) would pool all children).
    # Read the pipes in threads so a chatty child cannot block on a full pipe before it exits.
    chunks = {"out": [], "err": []}
    readers = [threading.Thread(target=lambda s, k: chunks[k].append(s.read()), args=(stream, key))
               for stream, key in ((proc.stdout, "out"), (proc.stderr, "err"))]
    for r in readers:
        r.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    for r in readers:
        r.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = "".join(chunks["out"]), "".join(chunks["err"])
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed with exit code {proc.returncode}:\n{err[-2000:]}")
    return out, err, wall, usage.ru_maxrss / 1024  # ru_maxrss is in kB on Linux


def run_method(name: str, args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--epochs", str(args.epochs),
           "--lr", str(args.lr), "--hidden", str(args.hidden), "--seed", str(args.seed),
           "--threads", str(args.threads), "--tutorial-iterations", str(args.tutorial_iterations)]
    out, err, wall, peak = run_child(cmd, args.threads)
    line = next(l for l in reversed(out.splitlines()) if l.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    result.update(peak_rss_mb=peak, process_wall=wall)
    return result


def run_cli(args) -> dict:
    """``python -m nn_helpers train`` with its defaults: wall time (data loading included) and peak memory."""
    out, err, wall, peak = run_child([sys.executable, "-m", "nn_helpers", "train"], args.threads)
    acc = next((float(l.split()[2]) for l in out.splitlines() if l.startswith("test accuracy")), float("nan"))
    return dict(wall=wall, peak_rss_mb=peak, test_acc=acc, last_line=out.strip().splitlines()[-1])


def time_to(curve, threshold):
    """Training seconds until the test accuracy first reached threshold, or None."""
    return next((t for t, acc in curve if acc >= threshold), None)


def summarize(runs: list) -> dict:
    """min and median over repeats of each measure."""
    def stats(values):
        values = [v for v in values if v is not None]
        return dict(min=min(values), median=statistics.median(values)) if values else None

    s = dict(
        epoch_seconds=stats([statistics.median(r["epoch_seconds"]) for r in runs]),
        epoch_cpu_seconds=stats([statistics.median(r["epoch_cpu_seconds"]) for r in runs if r.get("epoch_cpu_seconds")]),
        train_seconds=stats([r["curve"][-1][0] for r in runs]),
        final_acc=stats([r["curve"][-1][1] for r in runs]),
        peak_rss_mb=stats([r["peak_rss_mb"] for r in runs]),
        rss_before_train_mb=stats([r["rss_before_train"] for r in runs]),
        infer_seconds=stats([r["infer_seconds"] for r in runs]),
    )
    for thr in THRESHOLDS:
        times = [time_to(r["curve"], thr) for r in runs]
        s[f"time_to_{thr:.2f}"] = stats(times)
        s[f"reached_{thr:.2f}"] = f"{sum(t is not None for t in times)}/{len(times)}"
    return s


def fmt(stat, spec="{:.2f}", scale=1.0):
    if stat is None:
        return "not reached"
    return f"{spec.format(stat['min'] * scale)} / {spec.format(stat['median'] * scale)}"


def print_table(summary: dict, order: list) -> str:
    head = ["method", "s/epoch", "CPU s/epoch", "to 97% (s)", "to 98% (s)", "final test acc (%)", "peak RSS (MB)",
            "inference (img/s, best / median)"]
    rows = []
    for name in order:
        s = summary[name]

        def to(thr):  # "min / median", and in how many runs it was reached when not in all
            reached, runs = s[f"reached_{thr:.2f}"].split("/")
            return fmt(s[f"time_to_{thr:.2f}"]) + ("" if reached == runs or reached == "0" else f" ({reached}/{runs} runs)")

        rows.append([LABELS[name], fmt(s["epoch_seconds"], "{:.3f}"),
                     fmt(s["epoch_cpu_seconds"], "{:.3f}") if s["epoch_cpu_seconds"] else "-", to(0.97), to(0.98),
                     fmt(s["final_acc"], "{:.2f}", 100), fmt(s["peak_rss_mb"], "{:.0f}"),
                     f"{10_000 / s['infer_seconds']['min']:,.0f} / {10_000 / s['infer_seconds']['median']:,.0f}"])
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    text = "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])
    print(text)
    return text


def epoch_flops(hidden: int, n: int) -> float:
    """Multiply-add FLOPs of one epoch of 784-H-10: forward (X W1, A1 W2), backward (dW1, dW2, dA1)."""
    forward = 2 * n * (784 * hidden + hidden * 10)
    backward = 2 * n * (784 * hidden + hidden * 10) + 2 * n * hidden * 10
    return forward + backward


def plot(results: dict, args, path: Path) -> None:
    """Test accuracy after each epoch against training time: wall clock (left) and CPU time (right).
    The fastest run of each method (the one other programs disturbed least) is drawn bold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"nn_helpers": "tab:blue", "pytorch": "tab:orange", "sklearn": "tab:green", "cli_recipe": "tab:purple"}
    names = [m for m in (*METHODS, "cli_recipe") if results.get(m)]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), dpi=110, sharey=True)
    for ax, clock in zip(axes, ("wall", "cpu")):
        right = 0.0
        for name in names:
            def times(r):
                if clock == "wall":
                    return [t for t, _ in r["curve"]]
                cpu, total = [], 0.0
                for lap in r["epoch_cpu_seconds"]:
                    total += lap
                    cpu.append(total)
                return cpu

            runs = sorted(results[name], key=lambda r: times(r)[-1])
            for r in runs[1:]:
                ax.plot(times(r), [100 * a for _, a in r["curve"]], "--" if name == "cli_recipe" else "-",
                        color=colors[name], lw=0.7, alpha=0.3)
            label = LABELS[name] + (" (784-256-10, cosine, 8 epochs)" if name == "cli_recipe" else "")
            t = times(runs[0])
            ax.plot(t, [100 * a for _, a in runs[0]["curve"]], "--o" if name == "cli_recipe" else "-o",
                    color=colors[name], lw=2, ms=3.5, label=label)
            right = max(right, t[-1])
        for thr in THRESHOLDS:
            ax.axhline(100 * thr, color="gray", lw=0.8, ls=":")
            ax.text(0.01, 100 * thr + 0.04, f"{thr:.0%}", color="gray", transform=ax.get_yaxis_transform(), fontsize=8)
        ax.set_xlim(0, 1.15 * right)
        ax.set_ylim(95.5, 98.6)
        ax.grid(alpha=0.3)
        ax.set_xlabel("training time, wall clock (s)" if clock == "wall" else "training time, CPU (s)")
        ax.set_title("wall clock (what you wait)" if clock == "wall" else "CPU time (hardly affected by other programs)",
                     fontsize=10)
    axes[0].set_ylabel("test accuracy (%)")
    axes[1].legend(loc="lower right", fontsize=9)
    n = len(results[names[0]])
    fig.suptitle(f"MNIST 784-{args.hidden}-10, SGD momentum 0.9, lr {args.lr:g}, batch 128, float32, "
                 f"{args.threads} BLAS thread{'s' if args.threads > 1 else ''}: test accuracy after each epoch "
                 f"(evaluation time excluded)\nbold: fastest of {n} runs; thin: the others", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def machine_info() -> dict:
    info = {"platform": platform.platform(), "cores": os.cpu_count()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            info["cpu"] = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    try:
        info["loadavg_at_start"] = os.getloadavg()
    except OSError:
        pass
    return info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=int, default=20, help="epochs of the three-way comparison")
    p.add_argument("--repeats", type=int, default=3, help="repeats of every measurement (min and median reported)")
    p.add_argument("--lr", type=float, default=0.1, help="learning rate (all three methods)")
    p.add_argument("--hidden", type=int, default=128, help="hidden layer size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS/OpenMP threads of every method (OPENBLAS/OMP/MKL_NUM_THREADS, torch.set_num_threads)")
    p.add_argument("--tutorial-iterations", type=int, default=500, help="full-batch steps of the tutorial recipe")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 repeat, 3 epochs, skip the tutorial and CLI runs")
    p.add_argument("--skip", nargs="*", default=[], choices=["tutorial", "cli", "floor", *METHODS, "cli_recipe"],
                   help="measurements to leave out")
    p.add_argument("--json", metavar="OUT", help="write every raw measurement to this JSON file")
    p.add_argument("--plot", metavar="PNG", default=str(HERE / "accuracy_vs_time.png"),
                   help="where to save the accuracy-vs-time plot ('' for none)")
    p.add_argument("--from-json", metavar="IN", help="measure nothing: print the report and draw the plot of an earlier --json")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        run_worker(args)
        return 0
    if args.from_json:
        report(json.loads(Path(args.from_json).read_text(encoding="utf-8")), args.plot)
        return 0
    if args.quick:
        args.repeats, args.epochs = 1, min(args.epochs, 3)
        args.skip = sorted(set(args.skip) | {"tutorial", "cli"})

    methods = [m for m in (*METHODS, "cli_recipe") if m not in args.skip]
    machine = machine_info()
    print(f"{machine['cpu']}, {machine['cores']} cores; {args.threads} BLAS/OpenMP thread(s) per method; "
          f"load average at start {machine.get('loadavg_at_start', ('?',))[0]:.2f}")
    print(f"784-{args.hidden}-10, SGD momentum 0.9, lr {args.lr:g}, batch 128, {args.epochs} epochs, "
          f"{args.repeats} repeat(s), methods in rotating order\n")
    results = {m: [] for m in methods}
    cli_runs = []
    for rep in range(args.repeats):
        order = methods[rep % len(methods):] + methods[: rep % len(methods)] if methods else []
        for name in order:
            r = run_method(name, args)
            results[name].append(r)
            t98 = time_to(r["curve"], 0.98)
            print(f"repeat {rep + 1}/{args.repeats}  {name:11s} {statistics.median(r['epoch_seconds']):6.3f} s/epoch  "
                  f"final acc {r['curve'][-1][1]:.4f}  to 98%: {'not reached' if t98 is None else f'{t98:.2f} s'}  "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
        if "cli" not in args.skip:
            c = run_cli(args)
            cli_runs.append(c)
            print(f"repeat {rep + 1}/{args.repeats}  python -m nn_helpers train: {c['wall']:.1f} s wall, "
                  f"peak RSS {c['peak_rss_mb']:.0f} MB, test acc {c['test_acc']:.4f}", flush=True)
    tutorial = run_method("tutorial", args) if "tutorial" not in args.skip else None
    floor = run_method("floor", args) if "floor" not in args.skip else None
    data = dict(args={k: v for k, v in vars(args).items() if k not in ("json", "plot", "worker", "from_json")},
                machine=machine, methods=methods, results=results, cli=cli_runs, tutorial=tutorial, floor=floor)
    report(data, args.plot)
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1), encoding="utf-8")
        print(f"raw measurements written to {args.json}")
    return 0


def report(data: dict, plot_path: str | None) -> None:
    """Print the summary table and the other measurements; draw the plot."""
    args = argparse.Namespace(**data["args"])
    methods, results, cli_runs = data["methods"], data["results"], data["cli"]
    tutorial, floor = data["tutorial"], data["floor"]
    summary = {name: summarize(runs) for name, runs in results.items()}
    print("\nmin / median over repeats (to x%: training seconds until the test accuracy first reached x%)\n")
    print_table(summary, methods)
    if "nn_helpers" in summary and "pytorch" in summary:
        ratios = [statistics.median(a["epoch_seconds"]) / statistics.median(b["epoch_seconds"])
                  for a, b in zip(results["nn_helpers"], results["pytorch"])]
        cpu_ratios = [statistics.median(a["epoch_cpu_seconds"]) / statistics.median(b["epoch_cpu_seconds"])
                      for a, b in zip(results["nn_helpers"], results["pytorch"])]
        print(f"\nnn_helpers / PyTorch seconds per epoch, per repeat: wall {', '.join(f'{r:.2f}' for r in ratios)}; "
              f"CPU {', '.join(f'{r:.2f}' for r in cpu_ratios)}")
    if "cli_recipe" in results:
        print(f"CLI recipe: {results['cli_recipe'][0]['recipe']}")
    if cli_runs:
        walls, peaks = [c["wall"] for c in cli_runs], [c["peak_rss_mb"] for c in cli_runs]
        print(f"python -m nn_helpers train (defaults; data loading, validation and test included): "
              f"{min(walls):.1f} / {statistics.median(walls):.1f} s wall, peak RSS {min(peaks):.0f} / "
              f"{statistics.median(peaks):.0f} MB; last line: {cli_runs[0]['last_line']}")
    if tutorial:
        print(f"original tutorial recipe (784-10-10, uniform init, full-batch GD lr 0.1, {args.tutorial_iterations} "
              f"steps, {tutorial['n_train']} images): {tutorial['curve'][0][0]:.1f} s training, "
              f"test accuracy {tutorial['curve'][0][1]:.4f}, peak RSS {tutorial['peak_rss_mb']:.0f} MB")
    if floor:
        print(f"\nfloat32 matmul speed ({args.threads} thread(s)), GFLOP/s:   NumPy (OpenBLAS)   PyTorch (MKL)")
        for name, v in floor.items():
            if isinstance(v, dict) and "gflops" in v:
                print(f"  {name:36s} {v['gflops']:6.1f}            {v.get('torch_gflops', float('nan')):6.1f}")
        flops = epoch_flops(args.hidden, 60_000)
        # the five products of one batch at their best measured speed, times the number of batches
        batch_floor = sum(v["seconds"] for k, v in floor.items() if isinstance(v, dict) and v.get("per_batch")) * -(-60_000 // 128)
        print(f"  one epoch of 784-{args.hidden}-10 = {flops / 1e9:.1f} GFLOP in matmuls, which alone take "
              f"{batch_floor:.3f} s ({flops / batch_floor / 1e9:.0f} GFLOP/s)")
        for name in (m for m in METHODS if m in summary):
            best = summary[name]["epoch_cpu_seconds"]["min"]
            print(f"  {LABELS[name]:30s} best epoch {best:.3f} CPU s = {flops / best / 1e9:5.1f} GFLOP/s, "
                  f"matmuls at NumPy's speed would be {batch_floor / best:4.0%} of that")
    if results.get("pytorch"):
        print(f"\nPyTorch: {results['pytorch'][0]['versions']['torch_blas']}")
    blas = {m: results[m][0]["blas"] for m in results if results[m]}
    seen_by, first = next(iter(blas.items()), ("-", []))
    print(f"\nthread pools (threadpoolctl, as seen by the {seen_by} worker):")
    for lib in first:
        print("  " + ", ".join(f"{k}={v}" for k, v in lib.items()))

    if plot_path and any(results.values()):
        plot(results, args, Path(plot_path))
        print(f"\nplot saved to {plot_path}")


if __name__ == "__main__":
    sys.exit(main())
