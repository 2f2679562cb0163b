"""Where one epoch of a CNN recipe spends its time: CPU seconds per layer, forward and backward, with the
convolutions' im2col and col2im apart, plus the shifts, the loss and the optimizer step.

    OPENBLAS_NUM_THREADS=1 python benchmarks/profile_layers.py                  # --recipe fast, 40 batches
    OPENBLAS_NUM_THREADS=1 python benchmarks/profile_layers.py --recipe cnn --batches 80

One thread, one BLAS thread, the pieces of 64 images each of the recipe's two workers computes (batch 128 split
in two). Times are the thread's CPU time (``time.thread_time``), so another process on the machine slows them
less than it slows wall time; each is scaled to one epoch of 60,000 images (one worker's CPU seconds times the
number of pieces: the epoch's CPU seconds over both cores, about twice its wall time on a quiet 2-core machine).
The shares are what to read: they hold on a loaded machine where the seconds do not.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from nn_helpers import conv, recipes
from nn_helpers.augment import shifts
from nn_helpers.layers import Pass, output_gradient
from nn_helpers.losses import softmax
from nn_helpers.optimizers import make_optimizer
from nn_helpers.threads import blas_info, blas_threads
from nn_helpers.training import augmented

EPOCH_IMAGES = 60_000


def profile(step: dict, batches: int = 40, piece: int = 64, seed: int = 0) -> dict:
    """``{(layer name, "forward"/"backward"/...): CPU seconds}`` over ``batches`` pieces of ``piece`` images."""
    params, model = recipes.build_model({**step, "workers": 1}, seed=seed)
    layers = model.layer_list(params)
    names = [f"{i:2d} {layer!r}" for i, layer in enumerate(layers)]
    X, y = recipes.load_split(0, seed=seed)[:2]
    X = recipes.model_inputs(step, X)
    rng = np.random.default_rng(seed)
    optimizer = make_optimizer(step["optimizer"], step["lr"])
    augment = shifts(step["augment"]) if step.get("augment") else None
    times = defaultdict(float)
    inner = {"im2col": conv.im2col, "col2im": conv.col2im}
    current = {"bucket": None}

    def timed(name, f):
        def wrapper(*args, **kwargs):
            t = time.thread_time()
            out = f(*args, **kwargs)
            times[(current["bucket"], name)] += time.thread_time() - t
            return out
        return wrapper

    conv.im2col, conv.col2im = timed("im2col", inner["im2col"]), timed("col2im", inner["col2im"])
    try:
        for b in range(batches):
            idx = rng.choice(len(X), piece, replace=False)
            t = time.thread_time()
            Xb, yb = X[idx], y[idx]
            if augment is not None:
                Xb = augmented(Xb, augment, rng)
            times[("data", "shifts and copy")] += time.thread_time() - t
            run, caches, A = Pass(train=True, rng=rng), [], Xb
            for name, layer in zip(names, layers):
                current["bucket"] = name
                t = time.thread_time()
                A, cache = layer.forward(params, A, run)
                times[(name, "forward")] += time.thread_time() - t
                caches.append(cache)
            t = time.thread_time()
            d = output_gradient(softmax(A), yb)
            times[("loss", "softmax and dZ")] += time.thread_time() - t
            grads = {}
            for i in range(len(layers) - 1, -1, -1):
                current["bucket"] = names[i]
                t = time.thread_time()
                d, g = layers[i].backward(d, caches[i], need_dx=i > 0)
                times[(names[i], "backward")] += time.thread_time() - t
                grads.update(g)
            t = time.thread_time()
            for k, v in run.state.items():
                params[k][...] = v
            if b % 2:                            # one optimizer step per batch of two pieces
                optimizer.step(params, grads)
            times[("optimizer", "Adam step")] += time.thread_time() - t
    finally:
        conv.im2col, conv.col2im = inner["im2col"], inner["col2im"]
    scale = EPOCH_IMAGES / (batches * piece)
    return {key: seconds * scale for key, seconds in times.items()}


def report(times: dict) -> None:
    total = sum(v for (bucket, what), v in times.items() if what not in ("im2col", "col2im"))
    print(f"{'layer':42s} {'pass':16s} {'CPU-s/epoch':>11s} {'share':>6s}")
    for (bucket, what), seconds in times.items():
        print(f"{bucket:42s} {what:16s} {seconds:11.1f} {100 * seconds / total:5.1f}%")
    print(f"{'total':59s} {total:11.1f}  (im2col and col2im are part of their conv's forward and backward)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default="fast", choices=["fast", "cnn"])
    p.add_argument("--batches", type=int, default=40, help="pieces of 64 images to time")
    args = p.parse_args(argv)
    step = recipes.RECIPES[args.recipe]
    with blas_threads(1):
        print(f"--recipe {args.recipe}: {recipes.describe(step)}; {blas_info()}")
        report(profile(step, args.batches))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
