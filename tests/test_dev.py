"""dev.py's copies of the notebooks for the learner (my-notebooks/), on temporary folders: what arrives,
what is kept, and that nothing of the learner's is ever overwritten or deleted."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
dev = importlib.util.module_from_spec(spec)
sys.modules["dev"] = dev
spec.loader.exec_module(dev)


@pytest.fixture
def series(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "01_data.ipynb").write_text('{"v": 1}', encoding="utf-8")
    (folder / "02_forward.ipynb").write_text('{"v": 1}', encoding="utf-8")
    (folder / "NOTATION.md").write_text("ε · —\n", encoding="utf-8")
    (folder / ".ipynb_checkpoints").mkdir()
    return folder


def test_first_use_copies_every_file_of_the_series(series, tmp_path):
    mine = tmp_path / "my-notebooks" / "notebooks"
    assert dev.sync(series, mine, "2026-12-01") == []
    assert sorted(p.name for p in mine.iterdir() if not p.name.startswith(".")) == \
        ["01_data.ipynb", "02_forward.ipynb", "NOTATION.md"]
    assert (mine / "NOTATION.md").read_bytes() == (series / "NOTATION.md").read_bytes()


def test_a_later_sync_keeps_the_learners_work_and_brings_what_is_new(series, tmp_path):
    mine = tmp_path / "mine"
    dev.sync(series, mine, "2026-12-01")
    (mine / "01_data.ipynb").write_text('{"v": 1, "my answer": 42}', encoding="utf-8")  # the learner's work
    assert dev.sync(series, mine, "2026-12-02") == []  # nothing changed in the series: nothing happens
    (series / "01_data.ipynb").write_text('{"v": 2}', encoding="utf-8")      # changed in the series
    (series / "02_forward.ipynb").write_text('{"v": 2}', encoding="utf-8")   # ... also, but never opened
    (series / "03_softmax.ipynb").write_text('{"v": 1}', encoding="utf-8")   # new in the series

    assert dev.sync(series, mine, "2026-12-03") == ["01_data.new-2026-12-03.ipynb"]
    assert (mine / "01_data.ipynb").read_text(encoding="utf-8") == '{"v": 1, "my answer": 42}'
    assert (mine / "01_data.new-2026-12-03.ipynb").read_text(encoding="utf-8") == '{"v": 2}'
    assert (mine / "02_forward.ipynb").read_text(encoding="utf-8") == '{"v": 2}'  # the learner never changed it
    assert (mine / "03_softmax.ipynb").read_text(encoding="utf-8") == '{"v": 1}'
    assert dev.sync(series, mine, "2026-12-04") == []  # each new version arrives once

    (series / "01_data.ipynb").write_text('{"v": 3}', encoding="utf-8")
    (mine / "01_data.new-2026-12-05.ipynb").write_text("the learner's own file", encoding="utf-8")
    assert dev.sync(series, mine, "2026-12-05") == ["01_data.new-2026-12-05-2.ipynb"]
    assert (mine / "01_data.new-2026-12-05.ipynb").read_text(encoding="utf-8") == "the learner's own file"


def test_a_file_of_the_learners_with_a_new_notebooks_name_is_kept(series, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "01_data.ipynb").write_text("mine", encoding="utf-8")
    assert dev.sync(series, mine, "2026-12-01") == ["01_data.new-2026-12-01.ipynb"]
    assert (mine / "01_data.ipynb").read_text(encoding="utf-8") == "mine"


def test_reset_moves_the_learners_copy_aside_and_gives_a_fresh_one(series, tmp_path):
    mine = tmp_path / "mine"
    dev.sync(series, mine, "2026-12-01")
    (mine / "02_forward.ipynb").write_text("my work", encoding="utf-8")
    fresh, moved = dev.reset(series, mine, "02", "20261201-093000")
    assert fresh.read_bytes() == (series / "02_forward.ipynb").read_bytes()
    assert moved.name == "02_forward.mine-20261201-093000.ipynb"
    assert moved.read_text(encoding="utf-8") == "my work"
    fresh2, moved2 = dev.reset(series, mine, "02_forward", "20261201-093000")  # same second: no clash
    assert moved2.name == "02_forward.mine-20261201-093000-2.ipynb" and moved.exists()
    assert dev.sync(series, mine, "2026-12-02") == []  # the fresh copy is the series' version


def test_reset_names_the_notebooks_when_the_key_is_not_one(series, tmp_path):
    with pytest.raises(SystemExit, match="no notebooks match; one of: 01_data.ipynb, 02_forward.ipynb"):
        dev.reset(series, tmp_path / "mine", "07", "x")
    with pytest.raises(SystemExit, match="several"):
        dev.reset(series, tmp_path / "mine", "0", "x")


def test_the_learners_area_holds_output_and_data_beside_the_notebooks(tmp_path):
    data = tmp_path / "repo" / "data"
    (data / "mnist").mkdir(parents=True)
    (data / "mnist" / "SHA256SUMS").write_text("x", encoding="utf-8")
    area = tmp_path / "repo" / "my-notebooks"
    notebooks = dev.learner_area(area, data)
    assert notebooks == area / "notebooks" and (area / "output").is_dir()
    # a notebook's ../data/mnist and ../output are the learner's own, as in notebooks/
    assert (notebooks / ".." / "data" / "mnist" / "SHA256SUMS").read_text(encoding="utf-8") == "x"
    assert dev.learner_area(area, data) == notebooks  # a second time changes nothing


def test_state_file_is_byte_identical_on_a_second_run(series, tmp_path):
    mine = tmp_path / "mine"
    dev.sync(series, mine, "2026-12-01")
    first = (mine / dev.STATE).read_bytes()
    dev.sync(series, mine, "2026-12-02")
    assert (mine / dev.STATE).read_bytes() == first and b"\r\n" not in first


def test_my_notebooks_is_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "my-notebooks/" in ignored and dev.LEARNER == ROOT / "my-notebooks"


def test_jupyterlab_gets_allow_root_only_as_root(monkeypatch, capsys):
    monkeypatch.setattr(dev.os, "geteuid", lambda: 0, raising=False)
    assert dev.as_root() == ["--allow-root"]
    assert "--allow-root" in capsys.readouterr().out
    monkeypatch.setattr(dev.os, "geteuid", lambda: 1000, raising=False)
    assert dev.as_root() == []


def test_reset_says_that_the_kept_solutions_still_count(tmp_path):
    assert dev.kept_note(tmp_path, "03") == ""
    (tmp_path / "my_network.py").write_text("# ==== softmax: my_softmax ====\n# notebook 03, exercise 1: accepted "
                                            "by check.softmax\n", encoding="utf-8")
    note = dev.kept_note(tmp_path, "03")
    assert "still count as solved" in note and 'check.start_over("03")' in note
    assert dev.kept_note(tmp_path, "04") == ""
