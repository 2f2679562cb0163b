"""One epoch of ``--recipe cnn``'s network in NumPy (nn_helpers) and the same network in PyTorch on the CPU,
back to back in one run: both times and their ratio (the goal, issue 30: NumPy at most 1.5x PyTorch's time, on
the CPU it runs on).

    /tmp/torchvenv/bin/python benchmarks/torch_cnn.py                        # about 2-3 minutes on 2 cores
    /tmp/torchvenv/bin/python benchmarks/torch_cnn.py --threads 1 --append   # one core each, a run added to the JSON

torch is not a dependency of the project: install it into a venv of its own, with nn_helpers beside it:

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch==2.13.0 numpy threadpoolctl   # or a torch CPU wheel file
    /tmp/torchvenv/bin/pip install --no-deps -e .

The same work on both sides: conv 32 3x3 (padding 1), 2x2 max pool, ReLU, conv 64 3x3, pool, ReLU, dense 128,
ReLU, dropout 0.25, dense 10, softmax cross-entropy; float32, batch 128, Adam lr 0.002, one epoch over all
60,000 training images in a shuffled order, every batch shifted by up to 1 pixel by nn_helpers.training's
``augmented`` (the same NumPy code and cost on both sides). The same 2 cores on both sides: ours runs ``CNN(workers=2)``, two
threads that each use one BLAS thread (threadpoolctl); PyTorch runs ``torch.set_num_threads(2)`` (intra-op
threads, one inter-op thread). Both start from a warm-up batch, so first-call costs are not counted. Times
are wall seconds and the process's CPU seconds (user + system, all threads) over the epoch.

On a machine that other jobs share, PyTorch's 2 OpenMP threads wait for each other at every operation by
spinning: when one of them loses its core, the other burns CPU waiting, so both its CPU and its wall time
grow far more than ours (measured: a batch took 128 instead of 55 CPU-ms). ``OMP_WAIT_POLICY=PASSIVE`` or
``--threads 1`` avoid that; on a quiet machine the default is the fair comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
THREADS = 2      # the default of --threads


def timed(fn) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return {"wall_seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu, **out}


def numpy_epoch(X: np.ndarray, y: np.ndarray, seed: int, threads: int = THREADS) -> dict:
    """One epoch of ``recipes.CNN_RECIPE`` with ``nn.train`` (no after-epoch pass, no progress bar)."""
    import nn_helpers as nn
    from nn_helpers import recipes
    from nn_helpers.threads import blas_info, blas_threads
    from nn_helpers.augment import shifts

    step = {**recipes.CNN_RECIPE, "workers": threads}
    params, model = recipes.build_model(step, seed=seed)
    images = recipes.model_inputs(step, X)
    with blas_threads(1):
        blas = blas_info()
        nn.train(params, images[:256], y[:256], epochs=1, batch_size=128, optimizer="adam", lr=step["lr"],
                 model=model, train_sample=0, progress=False)                                      # warm-up
        result = timed(lambda: {"running_loss": nn.train(
            params, images, y, epochs=1, batch_size=step["batch_size"], optimizer="adam", lr=step["lr"], model=model,
            augment=shifts(step["augment"]), train_sample=0, progress=False, seed=seed)[1].running_loss[-1]})
    return {**result, "threads": f"CNN(workers={model.workers}), 1 BLAS thread each", "blas": blas}


def torch_network(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))


def torch_epoch(torch, X: np.ndarray, y: np.ndarray, seed: int) -> dict:
    """One epoch of the same network in PyTorch, fed the same kind of shifted uint8 batches."""
    from nn_helpers.augment import shifts
    from nn_helpers.training import augmented

    torch.manual_seed(seed)
    net = torch_network(torch).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.002)
    loss_fn = torch.nn.CrossEntropyLoss()
    images, labels, shift = X.reshape(len(X), 1, 28, 28), torch.from_numpy(y.astype(np.int64)), shifts(1)

    def step(idx, rng):
        xb = torch.from_numpy(augmented(images[idx], shift, rng))          # what nn.train does to each batch
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), labels[idx])
        loss.backward()
        optimizer.step()
        return loss.item()

    step(np.arange(256), np.random.default_rng(1))                                               # warm-up

    def epoch():
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(X))
        losses = [step(order[i : i + 128], rng) * len(order[i : i + 128]) for i in range(0, len(X), 128)]
        return {"running_loss": sum(losses) / len(X)}

    result = timed(epoch)
    return {**result, "threads": f"torch.set_num_threads({torch.get_num_threads()}), "
                                 f"{torch.get_num_interop_threads()} inter-op thread",
            "torch": torch.__version__, "mkldnn": bool(torch.backends.mkldnn.is_available()),
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def cpu_model() -> str:
    """The CPU's name, family and model (Linux: /proc/cpuinfo's first processor: a virtual machine's name can
    be as vague as "Intel(R) Xeon(R) Processor"), or what the platform module says."""
    try:
        fields = {}
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                break                                          # the first processor only
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
        return f"{fields['model name']} (family {fields['cpu family']}, model {fields['model']})"
    except (OSError, KeyError):
        return platform.processor() or platform.machine()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=THREADS,
                   help="cores for each side: CNN(workers=N) of 1 BLAS thread each, torch.set_num_threads(N)")
    p.add_argument("--json", default=str(HERE / "torch_cnn.json"), help="where to write the results")
    p.add_argument("--append", action="store_true", help="add this run to the runs already in --json")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("torch_cnn.py needs PyTorch, which is not a dependency of the project. Install it into a venv of "
              "its own (see the top of this file: python3 -m venv /tmp/torchvenv; /tmp/torchvenv/bin/pip install "
              "torch numpy threadpoolctl; /tmp/torchvenv/bin/pip install --no-deps -e .) and run this script "
              "with that venv's python.", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:                                     # already set in this process
        pass
    from nn_helpers import recipes

    X, y, _, _, _, _ = recipes.load_split(0)
    load_avg = os.getloadavg()
    ours = numpy_epoch(X, y, args.seed, args.threads)
    print(f"nn_helpers: {ours['wall_seconds']:.1f} s wall, {ours['cpu_seconds']:.1f} CPU-s "
          f"(loss {ours['running_loss']:.4f}; {ours['threads']}; {ours['blas']})", flush=True)
    theirs = torch_epoch(torch, X, y, args.seed)
    print(f"PyTorch {theirs['torch']}: {theirs['wall_seconds']:.1f} s wall, {theirs['cpu_seconds']:.1f} CPU-s "
          f"(loss {theirs['running_loss']:.4f}; {theirs['threads']})", flush=True)
    ratio = {k: ours[k] / theirs[k] for k in ("wall_seconds", "cpu_seconds")}
    print(f"ratio nn_helpers / PyTorch: {ratio['wall_seconds']:.2f} (wall), {ratio['cpu_seconds']:.2f} (CPU); "
          f"goal <= 1.5", flush=True)
    run = {"machine": {"platform": platform.platform(), "cores": os.cpu_count(), "loadavg_at_start": load_avg,
                        "cpu": cpu_model(),
                        **{k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
                                                          "OMP_WAIT_POLICY", "ATEN_CPU_CAPABILITY",
                                                          "DNNL_MAX_CPU_ISA")}},
            "epoch": {"images": len(X), "batch_size": 128, "seed": args.seed}, "nn_helpers": ours, "torch": theirs,
            "ratio": ratio}
    path = Path(args.json)
    runs = json.loads(path.read_text(encoding="utf-8"))["runs"] if args.append and path.is_file() else []
    path.write_text(json.dumps({"runs": [*runs, run]}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
