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
    assert "epoch   2  loss" in out and "val acc" in out
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
