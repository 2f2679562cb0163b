"""Saving and loading a trained network as a NumPy ``.npz`` file (no pickle involved).

``save_params``/``load_params``: the flat dict of arrays (weights, biases, batch norm's gamma and beta and its
running statistics) and JSON metadata. ``save_model``/``load_model``: the same, with the model that reads
them (an MLP, a CNN or any :class:`~nn_helpers.model.Sequential`) described in the metadata.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np

META_KEY = "__meta__"

#: The names of the arrays a model's ``params`` holds: a kind and a layer number.
KEY = re.compile(r"(W|b|gamma|beta|mean|var)(\d+)")


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
    expected = "a NumPy .npz archive of the arrays W1, b1, W2, b2, ... (as save_params and `train --save` write it)"
    with open(path, "rb") as f:
        head = f.read(4)
    if not head.startswith(b"PK"):
        what = "a single NumPy array (.npy)" if head.startswith(b"\x93NUM") else f"not a zip archive (it starts with {head!r})"
        raise ValueError(f"{path}: not a model file written by save_params: expected {expected}, but the file is {what}.")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: not a model file written by save_params: expected {expected} ({err}).") from err
    meta = json.loads(str(arrays.pop(META_KEY))) if META_KEY in arrays else {}
    if not arrays or not all(KEY.fullmatch(k) for k in arrays):
        raise ValueError(f"{path}: holds arrays {sorted(arrays)}; expected W1, b1, W2, b2, ...")
    keys = sorted(arrays, key=lambda k: int(KEY.fullmatch(k)[2]))      # by layer; within one, as saved
    return {k: arrays[k] for k in keys}, meta


def save_model(path: str | os.PathLike, params: dict, model, **meta) -> Path:
    """Save ``params`` (with the running statistics of batch norm, if any) and a description of ``model``
    (:func:`~nn_helpers.model.model_config`) to ``path``, for :func:`load_model`."""
    from .model import model_config

    return save_params(path, params, model=model_config(model), **meta)


def load_model(path: str | os.PathLike):
    """Load a file written by :func:`save_model` (or :func:`save_params`): ``(params, model, meta)``. A file
    without a model description holds an MLP (2-D ``W1``; ``meta["activation"]``) or a CNN (4-D ``W1``)."""
    from .cnn import CNN
    from .model import model_from_config
    from .network import MLP

    params, meta = load_params(path)
    if "model" in meta and isinstance(meta["model"], dict) and "type" in meta["model"]:
        model = model_from_config(meta["model"])
    elif "W1" in params and params["W1"].ndim == 4:
        model = CNN()
    else:
        model = MLP(meta.get("activation", "relu"))
    return params, model, meta

