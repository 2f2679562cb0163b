"""Command line: ``python -m nn_helpers train`` and ``python -m nn_helpers evaluate MODEL.npz``."""

from __future__ import annotations

import argparse
import sys
import time

from tqdm.auto import tqdm

from .data import load_mnist, to_features
from .metrics import accuracy, confusion_matrix, precision_recall
from .network import INITS, init_params, layer_sizes, predict
from .activations import ACTIVATIONS
from .optimizers import OPTIMIZERS
from .recipes import FINAL, load_split
from .serialization import load_params, save_params
from .training import DivergenceError, train

# The default network reaches >= 98% test accuracy in about 4 s of training (benchmarks/README.md).
# It is notebook 05's final recipe.
DEFAULTS = dict(hidden=FINAL["hidden"], activation="relu", init=FINAL["init"], optimizer=FINAL["optimizer"],
                lr=FINAL["lr"], schedule=FINAL["schedule"], batch_size=FINAL["batch_size"], epochs=FINAL["epochs"],
                val=5000, seed=0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nn_helpers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a network on MNIST and report its test accuracy",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--hidden", type=int, nargs="+", default=DEFAULTS["hidden"], metavar="H",
                   help="hidden layer sizes, e.g. --hidden 256 or --hidden 128 64")
    t.add_argument("--activation", choices=sorted(ACTIVATIONS), default=DEFAULTS["activation"])
    t.add_argument("--init", choices=INITS, default=DEFAULTS["init"])
    t.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=DEFAULTS["optimizer"])
    t.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="learning rate")
    t.add_argument("--schedule", choices=["constant", "cosine"], default=DEFAULTS["schedule"])
    t.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"], help="0 means full batch")
    t.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    t.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty on the weights")
    t.add_argument("--val", type=int, default=DEFAULTS["val"], help="training images held out for validation")
    t.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="seed of initialization and shuffling")
    t.add_argument("--data-dir", default=None, help="folder with the MNIST .gz files (default: data/mnist)")
    t.add_argument("--save", default=None, metavar="MODEL.npz", help="save the trained network here")
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    e = sub.add_parser("evaluate", help="test accuracy and per-class accuracy of a saved network")
    e.add_argument("model", metavar="MODEL.npz")
    e.add_argument("--data-dir", default=None)
    return parser


def cmd_train(args) -> int:
    t0 = time.perf_counter()
    X_train, y_train, X_val, y_val, X_test, test_labels = load_split(args.val, seed=args.seed,
                                                                    data_dir=args.data_dir)
    sizes = [X_train.shape[1], *args.hidden, 10]
    params = init_params(sizes, init=args.init, seed=args.seed)
    print(f"network {'-'.join(map(str, sizes))} ({args.activation}, {args.init} init), "
          f"{args.optimizer} lr={args.lr:g} ({args.schedule}), batch {args.batch_size or 'full'}, "
          f"{args.epochs} epochs, {len(X_train)} training / {0 if X_val is None else len(X_val)} validation images")
    report = lambda epoch, h, p: tqdm.write(
        f"epoch {epoch:3d}  loss {h.train_loss[-1]:.4f}  train acc {h.train_acc[-1]:.4f}"
        + ("" if X_val is None else f"  val loss {h.val_loss[-1]:.4f}  val acc {h.val_acc[-1]:.4f}"))  # tqdm.write prints above the progress bar instead of through it
    progress = not args.no_progress
    try:
        params, history = train(
            params, X_train, y_train, epochs=args.epochs, batch_size=args.batch_size or None,
            optimizer=args.optimizer, lr=args.lr, schedule=args.schedule, activation=args.activation,
            X_val=X_val, y_val=y_val, seed=args.seed, progress=progress, callbacks=[report],
        )
    except DivergenceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    test_acc = accuracy(test_labels, predict(params, X_test, args.activation))
    print(f"test accuracy {test_acc:.4f} ({test_acc * 100:.2f}%) on {len(X_test)} images; "
          f"{time.perf_counter() - t0:.1f} s in all")
    if args.save:
        path = save_params(args.save, params, activation=args.activation, test_accuracy=test_acc,
                           config={k: v for k, v in vars(args).items() if k not in ("command", "save", "data_dir")})
        print(f"saved to {path}")
    return 0


def cmd_evaluate(args) -> int:
    params, meta = load_params(args.model)
    activation = meta.get("activation", "relu")
    images, labels = load_mnist("test", args.data_dir)
    pred = predict(params, to_features(images, dtype=params["W1"].dtype), activation)
    C = confusion_matrix(labels, pred)
    precision, recall = precision_recall(C)
    print(f"network {'-'.join(map(str, layer_sizes(params)))} ({activation})")
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
