"""Test accuracy and time of ``python -m nn_helpers train --recipe cnn`` (recipes.CNN_RECIPE), one run per seed.

    OPENBLAS_NUM_THREADS=1 python benchmarks/cnn_recipe.py                # seeds 0 1 2: about 15 minutes, 2 cores
    OPENBLAS_NUM_THREADS=1 python benchmarks/cnn_recipe.py --seeds 0      # one run
    OPENBLAS_NUM_THREADS=1 python benchmarks/cnn_recipe.py --seeds 1 --append   # one more, kept beside the others
    python benchmarks/cnn_recipe.py --from-json benchmarks/cnn_recipe.json  # report an earlier run, measure nothing

The goal: at least 99.3% test accuracy in at most 300 s of wall time on a quiet 2-core machine, data loading
and the test included. What each run does and records: benchmarks/recipe_runs.py.
"""

from pathlib import Path

from recipe_runs import main

if __name__ == "__main__":
    raise SystemExit(main("cnn", __doc__, Path(__file__).resolve().parent / "cnn_recipe.json"))
