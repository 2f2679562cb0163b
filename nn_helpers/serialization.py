"""Saving and loading a trained network as a NumPy ``.npz`` file (no pickle involved)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

META_KEY = "__meta__"


def save_params(path: str | os.PathLike, params: dict, **meta) -> Path:
    """Save ``params`` (``W1, b1, ...``) and JSON-serializable metadata (activation, accuracy...) to ``path``.

    Creates missing parent folders. Returns the path written (``.npz`` is appended if missing).
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        meta_json = json.dumps(meta)
    except TypeError as err:
        raise ValueError(f"metadata must be JSON-serializable (numbers, strings, lists): {err}") from err
    # written beside it, then renamed: a reader (another notebook run in parallel) sees the old file or
    # the new one, never half of one
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.npz")
    np.savez(partial, **params, **{META_KEY: np.array(meta_json)})
    os.replace(partial, path)
    return path


def load_params(path: str | os.PathLike):
    """Load a file written by :func:`save_params`. Returns ``(params, meta)``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file. Train one with `python -m nn_helpers train --save {path}`.")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (ValueError, OSError) as err:
        raise ValueError(f"{path}: not a model file written by save_params ({err}).") from err
    meta = json.loads(str(arrays.pop(META_KEY))) if META_KEY in arrays else {}
    keys = sorted(arrays, key=lambda k: (int(k[1:]) if k[1:].isdigit() else 0, k))
    if not keys or any(k[0] not in "Wb" or not k[1:].isdigit() for k in keys):
        raise ValueError(f"{path}: holds arrays {sorted(arrays)}; expected W1, b1, W2, b2, ...")
    return {k: arrays[k] for k in keys}, meta
