"""Test accuracy and time of ``python -m nn_helpers train --recipe fast`` (recipes.FAST), one run per seed.

    OPENBLAS_NUM_THREADS=1 python benchmarks/fast_recipe.py               # seeds 0 1 2: about 3-4 minutes, 2 cores
    OPENBLAS_NUM_THREADS=1 python benchmarks/fast_recipe.py --seeds 0     # one run
    OPENBLAS_NUM_THREADS=1 python benchmarks/fast_recipe.py --seeds 1 --append  # one more, kept beside the others
    python benchmarks/fast_recipe.py --from-json benchmarks/fast_recipe.json  # report an earlier run, measure nothing

The recipe: conv 32 3x3 and conv 64 3x3, each with spatial batch norm, ReLU and 2x2 pooling, dense 128, 10; Adam
with the one-cycle schedule peaking at 0.01, batch 128, shifts of up to 1 pixel, 2.75 epochs (two passes over the
training set, then three quarters of it). The goal: at least
99.3% test accuracy in at most 60 s of wall time on a quiet 2-core machine (issue 30), data loading and the
test included. Run it on a quiet machine (the load average is recorded). What each run does and records:
benchmarks/recipe_runs.py.
"""

from pathlib import Path

from recipe_runs import main

if __name__ == "__main__":
    raise SystemExit(main("fast", __doc__, Path(__file__).resolve().parent / "fast_recipe.json"))
