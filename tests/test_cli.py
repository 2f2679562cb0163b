import subprocess
import sys

import pytest

from nn_helpers.cli import DEFAULTS, main


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


def test_diverging_learning_rate_exits_with_a_message(capsys):
    code = main(["train", "--hidden", "32", "--epochs", "1", "--lr", "10", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Training diverged in epoch 1" in err and "try a smaller one, e.g. 1." in err


def test_missing_model_file(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope.npz")]) == 2
    assert "nope.npz: no such model file" in capsys.readouterr().err


def test_defaults_are_the_98_percent_recipe():
    assert DEFAULTS == dict(hidden=[256], activation="relu", init="he", optimizer="momentum", lr=0.1,
                            schedule="cosine", batch_size=128, epochs=8, val=5000, seed=0)


def test_python_dash_m_help():
    out = subprocess.run([sys.executable, "-m", "nn_helpers", "train", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--hidden H [H ...]" in out.stdout and "--save MODEL.npz" in out.stdout
    with pytest.raises(SystemExit):
        main(["fly"])


def test_recipe_best_sets_the_regularization_and_flags_override_it(capsys):
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


def test_weight_decay_flag_changes_the_result(capsys):
    accs = []
    for wd in ("0", "0.05"):
        assert main(["train", "--hidden", "16", "--epochs", "1", "--val", "1000", "--no-progress",
                     "--weight-decay", wd]) == 0
        accs.append(capsys.readouterr().out.split("test accuracy ")[1].split()[0])
    assert accs[0] != accs[1]
