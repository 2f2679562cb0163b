import subprocess
import sys

import pytest

import nn_helpers as nn

from nn_helpers.cli import DEFAULTS, main


@pytest.fixture
def small_split(monkeypatch):
    """The CLI on a slice of MNIST (3,000 training images, at most 500 held out, 1,000 test images), so an
    epoch (a CNN's too) takes a second or two; the rest of cmd_train runs as it does on the whole set. For
    every test but the one whose accuracy needs the whole set (test_train_then_evaluate). `evaluate` reads the
    same 1,000 test images (a CNN's pass over all 10,000 took half of its test's time), so it must give the
    accuracy `train` printed: the saved model (a batch-norm CNN's running statistics too) is the trained one."""
    import nn_helpers.cli as cli
    from nn_helpers import recipes

    def small(n_val=5000, seed=0, data_dir=None):
        X, y, X_val, y_val, X_test, y_test = recipes.load_split(min(n_val, 500), seed, data_dir)
        return X[:3000], y[:3000], X_val, y_val, X_test[:1000], y_test[:1000]

    def small_test(split="train", data_dir=None):
        images, labels = nn.load_mnist(split, data_dir)
        return (images[:1000], labels[:1000]) if split == "test" else (images, labels)

    monkeypatch.setattr(cli, "load_split", small)
    monkeypatch.setattr(cli, "load_mnist", small_test)


def test_train_then_evaluate(tmp_path, capsys):
    model = tmp_path / "small.npz"
    code = main(["train", "--hidden", "32", "--epochs", "2", "--val", "1000", "--no-progress",
                 "--save", str(model)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "network 784-32-10 (relu, he init)" in out
    assert "epoch   2  train loss" in out and "val acc" in out
    acc = float(out.split("test accuracy ")[1].split()[0])
    assert 0.94 < acc < 1.0
    assert model.is_file()
    assert main(["evaluate", str(model)]) == 0
    out = capsys.readouterr().out
    assert f"test accuracy {acc:.4f} on 10000 images" in out
    assert out.count("\n") >= 12 and "digit  accuracy  precision  images" in out


def test_diverging_learning_rate_exits_with_a_message(small_split, capsys):
    code = main(["train", "--hidden", "32", "--epochs", "1", "--lr", "10", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Training diverged in epoch 1" in err and "try a smaller one, e.g. 1." in err


def test_missing_model_file(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope.npz")]) == 2
    assert "nope.npz: no such model file" in capsys.readouterr().err


def test_evaluate_on_a_file_that_is_not_a_model_says_which_and_what_was_expected(tmp_path, capsys):
    path = tmp_path / "notes.npz"
    path.write_text("my notes, not a model", encoding="utf-8")
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "notes.npz: not a model file written by save_params: expected a NumPy .npz archive" in err
    assert "BadZipFile" not in err and "Traceback" not in err


def test_evaluate_reads_a_saved_model_of_layers(tmp_path, capsys):
    model = nn.Sequential([nn.Dense(1, 8), nn.BatchNorm(2), nn.Activation("relu"), nn.Dense(3, 10)])
    path = nn.save_model(tmp_path / "bn.npz", model.init((784,), seed=0), model)
    assert main(["evaluate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "network Dense(n=1, units=8), BatchNorm(n=2" in out and "test accuracy" in out


def test_defaults_are_the_98_percent_recipe():
    assert DEFAULTS == dict(hidden=[256], activation="relu", init="he", optimizer="momentum", lr=0.1,
                            schedule="cosine", batch_size=128, epochs=8, val=5000, seed=0)


def test_python_dash_m_help():
    out = subprocess.run([sys.executable, "-m", "nn_helpers", "train", "--help"], capture_output=True, encoding="utf-8")
    assert out.returncode == 0 and "--hidden H [H ...]" in out.stdout and "--save MODEL.npz" in out.stdout
    with pytest.raises(SystemExit):
        main(["fly"])


def test_recipe_best_sets_the_regularization_and_flags_override_it(small_split, capsys):
    from nn_helpers.cli import build_parser, recipe_settings
    from nn_helpers.recipes import BEST

    best = recipe_settings(build_parser().parse_args(["train", "--recipe", "best"]))
    assert best["hidden"] == BEST["hidden"] and best["dropout"] == BEST["dropout"] > 0 and best["augment"] == 2
    final = recipe_settings(build_parser().parse_args(["train", "--weight-decay", "1e-4"]))
    assert final["hidden"] == [256] and final["dropout"] == 0 and final["augment"] == 0
    assert final["weight_decay"] == 1e-4
    code = main(["train", "--recipe", "best", "--hidden", "32", "--epochs", "1", "--val", "1000", "--no-progress",
                 "--dropout", "0.1", "--augment", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "network 784-32-10" in out and "; dropout 0.1, shifts of up to 1 px" in out and "s of training" in out


def test_weight_decay_flag_changes_the_result(small_split, capsys):
    accs = []
    for wd in ("0", "0.05"):
        assert main(["train", "--hidden", "16", "--epochs", "1", "--val", "1000", "--no-progress",
                     "--weight-decay", wd]) == 0
        accs.append(capsys.readouterr().out.split("test accuracy ")[1].split()[0])
    assert accs[0] != accs[1]


def test_recipe_cnn_trains_saves_and_evaluates_a_cnn(small_split, tmp_path, capsys):
    from nn_helpers.recipes import CNN_RECIPE, workers
    from nn_helpers.serialization import load_params

    model = tmp_path / "cnn.npz"
    code = main(["train", "--recipe", "cnn", "--epochs", "1", "--hidden", "64", "--no-progress", "--save", str(model)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "network conv 32 3x3, pool, conv 64 3x3, pool, 64, 10 (relu, he init), adam lr=0.002 (cosine)" in out
    assert "1 epochs, 3000 training / 0 validation images; dropout 0.25, shifts of up to 1 px" in out
    assert f"; {workers(CNN_RECIPE)} threads share each batch" in out
    assert "epoch   1  running loss" in out and "val acc" not in out      # no hold-out, no after-epoch pass
    acc = float(out.split("test accuracy ")[1].split()[0])
    assert 0.5 < acc <= 1.0                                                # 10% would be a network that learned nothing
    params, meta = load_params(model)
    assert params["W1"].shape == (32, 1, 3, 3) and params["W3"].shape == (7 * 7 * 64, 64)
    assert meta["config"]["model"] == "cnn" and meta["config"]["epochs"] == 1 and meta["config"]["val"] == 0
    assert main(["evaluate", str(model)]) == 0
    out = capsys.readouterr().out
    assert "network conv 32 3x3, pool, conv 64 3x3, pool, 64, 10 (relu)" in out
    assert f"test accuracy {acc:.4f} on 1000 images" in out            # the model as trained (small_split)


def test_recipe_cnn_settings_and_the_flags_that_override_them():
    from nn_helpers.cli import build_parser, recipe_settings
    from nn_helpers.recipes import CNN_RECIPE

    cnn = recipe_settings(build_parser().parse_args(["train", "--recipe", "cnn"]))
    assert cnn == {**CNN_RECIPE, "val": 0}
    assert (cnn["filters"], cnn["kernel"], cnn["hidden"], cnn["optimizer"], cnn["lr"], cnn["epochs"]) \
        == ([32, 64], 3, [128], "adam", 0.002, 6)
    changed = recipe_settings(build_parser().parse_args(["train", "--recipe", "cnn", "--epochs", "2", "--lr", "0.01",
                                                         "--hidden", "256", "--val", "1000", "--augment", "0"]))
    assert (changed["epochs"], changed["lr"], changed["hidden"], changed["val"], changed["augment"]) \
        == (2, 0.01, [256], 1000, 0)
    assert changed["filters"] == [32, 64] and changed["workers"] == 2
    assert recipe_settings(build_parser().parse_args(["train"]))["val"] == DEFAULTS["val"] == 5000


@pytest.mark.parametrize("flags, message", [
    (["--hidden", "64", "32"], "the CNN has one dense hidden layer after its conv stages; give one width"),
    (["--activation", "tanh"], "the CNN uses ReLU and He initialization only"),
    (["--init", "xavier"], "the CNN uses ReLU and He initialization only"),
])
def test_recipe_cnn_refuses_what_the_cnn_cannot_do_before_loading_data(flags, message, capsys, monkeypatch):
    import nn_helpers.cli as cli

    monkeypatch.setattr(cli, "load_split", lambda *a, **k: pytest.fail("loaded the data before checking the flags"))
    assert main(["train", "--recipe", "cnn", "--no-progress", *flags]) == 2
    assert message in capsys.readouterr().err


def test_help_names_the_cnn_recipe_and_its_thread_setting():
    out = subprocess.run([sys.executable, "-m", "nn_helpers", "train", "--help"], capture_output=True, encoding="utf-8")
    text = " ".join(out.stdout.split())
    assert "cnn: conv 32 3x3, pool, conv 64 3x3, pool, 128, 10" in text and "2 threads of 1 BLAS thread each" in text
    assert "with --recipe cnn one number, the width of its dense layer" in text


def test_recipe_fast_settings_and_a_tiny_run(small_split, tmp_path, capsys):
    from nn_helpers.cli import build_parser, recipe_settings
    from nn_helpers.recipes import FAST
    from nn_helpers.serialization import load_model

    assert recipe_settings(build_parser().parse_args(["train", "--recipe", "fast"])) == {**FAST, "val": 0}
    path = tmp_path / "fast.npz"
    code = main(["train", "--recipe", "fast", "--epochs", "1", "--no-progress", "--save", str(path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert ("network conv 32 3x3, pool, batch norm, conv 64 3x3, pool, batch norm, 128, 10 (relu, he init), "
            "adam lr=0.01 (onecycle), batch 128, 1 epochs, 3000 training") in out
    acc = float(out.split("test accuracy ")[1].split()[0])
    assert 0.5 < acc <= 1.0                            # 24 steps: 0.89-0.92 over seeds 0-2 (10%: nothing learned)
    params, model, meta = load_model(path)
    assert params["mean2"].shape == (64,) and meta["config"]["schedule"] == "onecycle"
    assert main(["evaluate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "SpatialBatchNorm" in out
    assert f"test accuracy {acc:.4f} on 1000 images" in out    # the running statistics saved: the model as trained
