"""Command line: ``python -m nn_helpers train`` and ``python -m nn_helpers evaluate MODEL.npz``.

``--recipe cnn`` trains the convolutional network, ``--recipe fast`` the same network with batch norm and the
one-cycle schedule in 2.75 epochs: two threads share each batch, each with one BLAS thread (:mod:`nn_helpers.threads`)."""

from __future__ import annotations

import argparse
import sys
import time

from tqdm.auto import tqdm

from .data import load_mnist, to_features
from .metrics import accuracy, confusion_matrix, precision_recall
from .layers import Conv2D, Dense
from .network import INITS, MLP, layer_sizes
from .activations import ACTIVATIONS
from .augment import shifts
from .cnn import CNN, n_conv_layers
from .optimizers import OPTIMIZERS, make_optimizer
from .recipes import (FINAL, RECIPES, accuracy_on, build_model, is_cnn, load_split, model_inputs, network_name,
                      reuse_freed_memory)
from .serialization import load_model, save_model
from .threads import blas_info, blas_threads
from .training import SCHEDULES, DivergenceError, train

# The default network reaches >= 98% test accuracy in about 4 s of training (benchmarks/README.md).
# It is notebook 06's final recipe.
DEFAULTS = dict(hidden=FINAL["hidden"], activation="relu", init=FINAL["init"], optimizer=FINAL["optimizer"],
                lr=FINAL["lr"], schedule=FINAL["schedule"], batch_size=FINAL["batch_size"], epochs=FINAL["epochs"],
                val=5000, seed=0)

#: The options a ``--recipe`` sets (each can still be given on its own to change it).
RECIPE_OPTIONS = ("hidden", "init", "optimizer", "lr", "schedule", "batch_size", "epochs", "dropout", "augment",
                  "weight_decay")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nn_helpers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a network on MNIST and report its test accuracy",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--recipe", choices=sorted(RECIPES), default="final",
                   help="final: notebook 06's 784-256-10 (98%%, seconds); best: notebook 08's 784-800-800-10 with "
                        "dropout and shifted images (98.7%%+, minutes); cnn: conv 32 3x3, pool, conv 64 3x3, pool, "
                        "128, 10 with dropout and shifted images on all 60,000 training images (99.3%%+, 2.5-5 "
                        "minutes on 2 cores; 2 threads of 1 BLAS thread each); fast: the cnn's convolutions with batch norm, "
                        "no dropout, Adam with the one-cycle schedule peaking at lr 0.01, 2.75 epochs (99.3%%+, about a "
                        "minute on 2 cores). The options below change one of its settings")
    # argparse.SUPPRESS: an option not given keeps the recipe's value (filled in by recipe_settings)
    t.add_argument("--hidden", type=int, nargs="+", default=argparse.SUPPRESS, metavar="H",
                   help="hidden layer sizes, e.g. --hidden 256 or --hidden 128 64; with --recipe cnn one number, "
                        "the width of its dense layer")
    t.add_argument("--activation", choices=sorted(ACTIVATIONS), default=DEFAULTS["activation"])
    t.add_argument("--init", choices=INITS, default=argparse.SUPPRESS)
    t.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=argparse.SUPPRESS)
    t.add_argument("--lr", type=float, default=argparse.SUPPRESS, help="learning rate")
    t.add_argument("--schedule", choices=list(SCHEDULES), default=argparse.SUPPRESS,
                   help="constant, cosine (once an epoch) or onecycle (every step: up from lr / 25 to lr, then down "
                        "to nearly 0)")
    t.add_argument("--batch-size", type=int, default=argparse.SUPPRESS, help="0 means full batch")
    t.add_argument("--epochs", type=int, default=argparse.SUPPRESS)
    t.add_argument("--dropout", type=float, default=argparse.SUPPRESS, metavar="P",
                   help="dropout rate of the hidden units during training, e.g. 0.2 (0: none)")
    t.add_argument("--augment", type=int, default=argparse.SUPPRESS, metavar="PIXELS",
                   help="shift every training image by up to this many pixels in each batch (0: none)")
    t.add_argument("--weight-decay", type=float, default=argparse.SUPPRESS, metavar="LAMBDA",
                   help="L2 penalty on the weights, e.g. 5e-4 (0: none)")
    t.add_argument("--val", type=int, default=argparse.SUPPRESS,
                   help=f"training images held out for validation (default: {DEFAULTS['val']}; 0 with --recipe cnn)")
    t.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="seed of initialization and shuffling")
    t.add_argument("--data-dir", default=None, help="folder with the MNIST .gz files (default: data/mnist)")
    t.add_argument("--save", default=None, metavar="MODEL.npz", help="save the trained network here")
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    e = sub.add_parser("evaluate", help="test accuracy and per-class accuracy of a saved network")
    e.add_argument("model", metavar="MODEL.npz")
    e.add_argument("--data-dir", default=None)
    return parser


def recipe_settings(args) -> dict:
    """The recipe's settings, with those given on the command line in their place (``val``: the images held
    out, the recipe's or 5,000; a CNN recipe keeps its model settings: filters, kernel, workers)."""
    recipe = RECIPES[args.recipe]
    settings = {**recipe, **{k: getattr(args, k, recipe.get(k, 0)) for k in RECIPE_OPTIONS}}
    settings["batch_size"] = settings["batch_size"] or None     # 0 on the command line: full batch
    for k in ("dropout", "augment", "weight_decay"):
        settings[k] = settings[k] or 0
    settings["val"] = getattr(args, "val", recipe.get("val", DEFAULTS["val"]))
    return settings


def cmd_train(args) -> int:
    t0 = time.perf_counter()
    r = recipe_settings(args)
    params, model = build_model(r, seed=args.seed, activation=args.activation)   # settings it cannot take: fail first
    X_train, y_train, X_val, y_val, X_test, test_labels = load_split(r["val"], seed=args.seed,
                                                                    data_dir=args.data_dir)
    regularization = ", ".join(([f"dropout {r['dropout']:g}"] if r["dropout"] else [])
                               + ([f"shifts of up to {r['augment']} px"] if r["augment"] else [])
                               + ([f"weight decay {r['weight_decay']:g}"] if r["weight_decay"] else []))
    if r.get("reuse_memory"):
        reuse_freed_memory()                  # fewer page faults: the same temporaries every batch
    with blas_threads(r.get("blas_threads") if is_cnn(r) else None):
        threads = f"; {model.workers} threads share each batch, {blas_info()}" if is_cnn(r) else ""
        print(f"network {network_name(r)} ({args.activation}, {r['init']} init), "
              f"{r['optimizer']} lr={r['lr']:g} ({r['schedule']}), batch {r['batch_size'] or 'full'}, "
              f"{r['epochs']} epochs, {len(X_train)} training / {0 if X_val is None else len(X_val)} validation images"
              + (f"; {regularization}" if regularization else "") + threads)
        report = lambda epoch, h, p: tqdm.write(      # tqdm.write prints above the progress bar instead of through it
            f"epoch {epoch:3d}  " + (f"train loss {h.train_loss[-1]:.4f}  train acc {h.train_acc[-1]:.4f}"
                                     if r.get("train_sample") != 0 else   # no after-epoch pass: the batches' means
                                     f"running loss {h.running_loss[-1]:.4f}  running acc {h.running_acc[-1]:.4f}")
            + ("" if X_val is None else f"  val loss {h.val_loss[-1]:.4f}  val acc {h.val_acc[-1]:.4f}"))
        progress = not args.no_progress
        try:
            params, history = train(
                params, model_inputs(r, X_train), y_train, epochs=r["epochs"], batch_size=r["batch_size"],
                optimizer=make_optimizer(r["optimizer"], r["lr"], weight_decay=r["weight_decay"]),
                schedule=r["schedule"], X_val=model_inputs(r, X_val), y_val=y_val, seed=args.seed,
                progress=progress, callbacks=[report], model=model, train_sample=r.get("train_sample"),
                augment=shifts(r["augment"]) if r["augment"] else None,
            )
        except DivergenceError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        train_seconds = sum(history.seconds)
        test_acc = accuracy_on(r, params, X_test, test_labels, args.activation)
    print(f"test accuracy {test_acc:.4f} ({test_acc * 100:.2f}%) on {len(X_test)} images; "
          f"{train_seconds:.1f} s of training, {time.perf_counter() - t0:.1f} s in all")
    if args.save:
        path = save_model(args.save, params, model, activation=args.activation, test_accuracy=test_acc,
                           config={**{k: v for k, v in vars(args).items() if k not in ("command", "save", "data_dir")}, **r})
        print(f"saved to {path}")
    return 0


def describe_params(params: dict, activation: str = "relu", model=None) -> str:
    """The network a saved ``params`` holds: ``784-256-10 (relu)``, or for a CNN (4-D ``W1``)
    ``conv 32 3x3, pool, conv 64 3x3, pool, 128, 10 (relu)``; for another model, its layers."""
    if model is not None and not isinstance(model, (MLP, CNN)):
        return ", ".join(repr(layer) for layer in model.layer_list(params))
    n_conv = n_conv_layers(params)
    if not n_conv:
        return f"{'-'.join(map(str, layer_sizes(params)))} ({activation})"
    convs = [f"conv {params[f'W{l}'].shape[0]} {params[f'W{l}'].shape[2]}x{params[f'W{l}'].shape[3]}, pool"
             for l in range(1, n_conv + 1)]
    dense = [str(params[f"W{l}"].shape[1]) for l in range(n_conv + 1, sum(k.startswith("W") for k in params) + 1)]
    return f"{', '.join(convs + dense)} (relu)"


def cmd_evaluate(args) -> int:
    params, model, meta = load_model(args.model)
    activation = getattr(model, "activation", "relu")
    images, labels = load_mnist("test", args.data_dir)
    first = next(layer for layer in model.layer_list(params) if isinstance(layer, (Dense, Conv2D)))
    X = to_features(images, dtype=params[f"W{first.n}"].dtype)
    if isinstance(first, Conv2D):                            # a CNN: images (n, C, 28, 28)
        X = X.reshape(len(X), params[f"W{first.n}"].shape[1], 28, 28)
    pred = model.predict_proba(params, X).argmax(axis=1)
    C = confusion_matrix(labels, pred)
    precision, recall = precision_recall(C)
    print(f"network {describe_params(params, activation, model)}")
    print(f"test accuracy {accuracy(labels, pred):.4f} on {len(labels)} images")
    print("digit  accuracy  precision  images")
    for k in range(10):
        print(f"{k:5d}  {recall[k]:8.4f}  {precision[k]:9.4f}  {C[k].sum():6d}")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return cmd_train(args) if args.command == "train" else cmd_evaluate(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
