"""The grader (python3 dev.py grade, tools/grade.py) on a made-up class: a correct submission, a partial one,
the classic mistakes, and every hostile submission of issue 31 (an endless loop, os._exit and sys.exit,
memory without bound, a syntax error, a missing and a renamed function, megabytes of printing, files
written and deleted outside its folder, nn_helpers.check patched to accept everything, the package's own
functions handed in). Each gets its row with the reason; no other row changes; nothing outside the
scratch folder changes; nothing wrong is accepted. ``--seed`` catches a submission that learned the fixed
cases' outputs by heart.

The class is graded once (a module fixture, about 25 CPU seconds with --jobs 2); the tests read its CSV files.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nn_helpers import check

ROOT = Path(__file__).resolve().parent.parent
GRADE = ROOT / "tools" / "grade.py"
sys.path.insert(0, str(ROOT / "tools"))
import grade  # noqa: E402

ALL = [name for names in check.EXERCISES.values() for name in names]
pytestmark = pytest.mark.skipif(os.name == "nt", reason="the grader needs POSIX limits (Linux, macOS; on Windows: WSL)")


def exercises_tool():
    spec = importlib.util.spec_from_file_location("exercises_tool_grade", ROOT / "tools" / "exercises.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def correct_file(tmp: Path, monkeypatch) -> str:
    """my_network.py as the checkers write it when a learner solves every exercise with its Solution."""
    tool = exercises_tool()
    lines = ["import numpy as np", "import nn_helpers as nn", "from nn_helpers.autograd import Value, Tensor", ""]
    for entries in tool.EXERCISES.values():
        for e in map(tool.as_exercise, entries):
            lines += [e.signature, e.solution, "", ""]
    (tmp / "solutions_for_grading.py").write_text("\n".join(lines), encoding="utf-8")
    learner = tmp / "learner"
    learner.mkdir()
    monkeypatch.setenv("NN_LEARNER_DIR", str(learner))
    monkeypatch.syspath_prepend(str(tmp))
    import solutions_for_grading as solutions
    with contextlib.redirect_stdout(io.StringIO()):
        for name in ALL:
            assert getattr(check, name)(getattr(solutions, f"my_{name}")), name
    return (learner / "my_network.py").read_text(encoding="utf-8")


def replace_block(text: str, name: str, source: str | None) -> str:
    """The file with exercise ``name``'s block holding ``source`` instead (None: the block removed)."""
    pattern = re.compile(rf"^# ==== {name}: (\w+) ====\n.*?(?=^# ==== )", re.S | re.M)
    assert pattern.search(text), name
    if source is None:
        return pattern.sub("", text)
    return pattern.sub(lambda m: f"# ==== {name}: {m.group(1)} ====\n# notebook ?, exercise ?: accepted by "
                                 f"check.{name}\n\n{source.strip()}\n\n\n", text)


def fixed_softmax_outputs() -> dict:
    """sha256 of each input the softmax checker uses (without --seed) -> nn.softmax's output: what a
    submission that learned the fixed cases by heart hands in."""
    import nn_helpers as nn
    table = {}

    def recording(Z):
        out = nn.softmax(Z)
        table[hashlib.sha256(np.ascontiguousarray(Z).tobytes()).hexdigest()] = out.tolist()
        return out
    from nn_helpers.check._core import not_keeping, package_allowed
    # not kept: this runs in the worker's own $NN_LEARNER_DIR (a module fixture, set up before the per-test
    # folder of conftest.py), where a kept softmax would show as solved in the next notebook 03 on that worker
    with contextlib.redirect_stdout(io.StringIO()), package_allowed(), not_keeping():   # it calls nn.softmax: allowed here
        assert check.softmax(recording)
    return table


#: The wrong functions, written as learners write them: exercise -> source. Among them a closure that raises
#: when the checker calls it (its line quoted) and a function that changes its input (named as the learner
#: named it), as the checker says in the notebook.
MISTAKES = {
    "softmax": "def my_softmax(Z):\n    return np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)",
    "one_hot": "def my_one_hot(y, n_classes=10):\n    Y = np.zeros((len(y), n_classes))\n    Y[:, y] = 1\n    return Y",
    "layer": "def my_layer(X, W, b):\n    return X @ W",
    "tensor_max": "def my_tensor_max(a, axis):\n    out = a._result(a.data.max(axis=axis), (a,), \"max\")\n\n"
                  "    def max_vjp():\n        a._add_grad(out.grad * (a.data == out.data))\n"
                  "    out._backward = max_vjp\n    return out",
    "batchnorm_forward": "def my_batchnorm_forward(Z, gamma, beta, running_mean, running_var, rho=0.9):\n"
                         "    n = len(Z)\n    mean, variance = Z.mean(axis=0), Z.var(axis=0)\n    Z -= mean\n"
                         "    out = gamma * Z / np.sqrt(variance + 1e-5) + beta\n"
                         "    return out, rho * running_mean + (1 - rho) * mean, "
                         "rho * running_var + (1 - rho) * variance * n / (n - 1)",
    "residual_backward": "def my_residual_backward(dout, x, Wa, ba, Wb, bb):\n    h = np.maximum(0, x @ Wa + ba)\n"
                         "    dz = (dout @ Wb.T) * (h > 0)\n"
                         "    return dz @ Wa.T, x.T @ dz, dz.sum(axis=0), h.T @ dout, dout.sum(axis=0)",
}


#: The engine's own Tensor.max handed in for tensor_max: its closure comes back over the wire as the engine's.
PACKAGE_TENSOR_MAX = "def my_tensor_max(a, axis):\n    return a.max(axis)"


def hostile(outside: Path) -> dict:
    """student -> {exercise: block source}: what a class hands in when some of it tries to break things."""
    outside = str(outside)
    return {
        "loop": {"softmax": "def my_softmax(Z):\n    while True:\n        pass"},
        "exit": {"momentum_step": "import os\n\ndef my_momentum_step(params, grads, velocity, lr, beta):\n"
                                  "    os._exit(3)",
                 "cosine_lr": "import sys\nsys.exit(1)\n\ndef my_cosine_lr(lr0, epoch, epochs):\n    return lr0"},
        "memory": {"one_hot": "def my_one_hot(y, n_classes=10):\n    hoard = []\n    while True:\n"
                              "        hoard.append(np.ones(10**7))"},
        "syntax": {"cross_entropy": "def my_cross_entropy(probs, y):\n    return -np.mean(np.log(probs[np.arange("
                                    "len(y)), y])"},
        "missing": {"backward": None},
        "renamed": {"layer": "def my_dense_layer(X, W, b):\n    return X @ W + b"},
        "printing": {"to_features": "def my_to_features(images):\n    for _ in range(5):\n"
                                    "        print('x' * 10**6)\n"
                                    "    return images.reshape(len(images), 28 * 28).astype(np.float32) / 255"},
        "files": {"he_init": f"import os, shutil\n\ndef my_he_init(n_in, n_out, seed):\n"
                             f"    open('inside.txt', 'w').write('mine')\n"
                             f"    try:\n        os.remove({outside!r} + '/sentinel.txt')\n    except OSError:\n        pass\n"
                             f"    try:\n        shutil.rmtree({outside!r})\n    except OSError:\n        pass\n"
                             f"    try:\n        os.kill(os.getppid(), 9)\n    except OSError:\n        pass\n"
                             f"    open({outside!r} + '/written.txt', 'w').write('escaped')\n"
                             f"    return np.random.default_rng(seed).normal(0, np.sqrt(2 / n_in), (n_in, n_out))"},
        "patching": {"softmax": "from nn_helpers import check\nfrom nn_helpers.check import _core\n"
                                "check.softmax = lambda fn: True\n_core._difference = lambda *a, **k: None\n"
                                "_core.against = lambda *a, **k: (lambda *b, **c: None)\n\n"
                                "def my_softmax(Z):\n    return Z"},
        "package": {"softmax": "from nn_helpers.losses import softmax as my_softmax",
                    "one_hot": "def my_one_hot(y, n_classes=10):\n    return getattr(nn, 'one' + '_hot')(y, n_classes)",
                    "cross_entropy": "def my_cross_entropy(probs, y):\n    return nn.cross_entropy(probs, y)",
                    "tensor_max": PACKAGE_TENSOR_MAX,
                    "im2col": "def my_im2col(X, R, stride, pad):\n"
                              "    return nn.conv._im2col(np.pad(X, [(0, 0), (0, 0), (pad, pad), (pad, pad)]), R, stride)",
                    "conv_backward": "from nn_helpers.conv import col2im\n\n"
                                     "def my_conv_backward(dZ, X, W, stride, pad):\n"
                                     "    F, R = len(W), W.shape[2]\n"
                                     "    dZ_mat = dZ.transpose(1, 0, 2, 3).reshape(F, -1)\n"
                                     "    cols = my_im2col(X, R, stride, pad)\n"
                                     "    dX = col2im(W.reshape(F, -1).T @ dZ_mat, X.shape, R, stride, pad)\n"
                                     "    return dX, (dZ_mat @ cols.T).reshape(W.shape), dZ.sum(axis=(0, 2, 3))",
                    "batchnorm_backward": "def my_batchnorm_backward(dout, Z, gamma):\n"
                                          "    out, cache = nn.layers.batchnorm_forward(Z, gamma, 0 * gamma)\n"
                                          "    return nn.layers.batchnorm_backward(dout, cache)"},
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The made-up class, graded once: {"dir": ..., "results": {student: {exercise: row}}, "totals": ...}."""
    tmp = tmp_path_factory.mktemp("class")
    with pytest.MonkeyPatch.context() as mp:
        text = correct_file(tmp, mp)
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "sentinel.txt").write_text("keep me", encoding="utf-8")
    table = fixed_softmax_outputs()
    students = {"alice": {}, "bob": {n: None for n in ALL if n not in check.EXERCISES["01"] + check.EXERCISES["02"]},
                "carol": MISTAKES,
                "learned_by_heart": {"softmax": "import hashlib\nTABLE = " + json.dumps(table) + "\n\n"
                                     "def my_softmax(Z):\n    key = hashlib.sha256(np.ascontiguousarray(Z).tobytes())"
                                     ".hexdigest()\n    return np.array(TABLE[key])"},
                **hostile(outside)}
    submissions = tmp / "submissions"
    for student, blocks in students.items():
        folder = submissions / student
        folder.mkdir(parents=True)
        body = text
        for name, source in blocks.items():
            body = replace_block(body, name, source)
        (folder / "my_network.py").write_text(body, encoding="utf-8")
    # a notebook that ran top to bottom, one run out of order; alice hands in a zip
    cells = lambda counts: {"cells": [{"cell_type": "code", "source": "x = 1", "execution_count": c, "outputs": []}
                                      for c in counts], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (submissions / "bob" / "03_softmax_cross_entropy.ipynb").write_text(json.dumps(cells([1, 2, 3])), encoding="utf-8")
    (submissions / "carol" / "03_softmax_cross_entropy.ipynb").write_text(json.dumps(cells([1, 5, 2])),
                                                                          encoding="utf-8")
    with zipfile.ZipFile(submissions / "alice.zip", "w") as z:
        z.write(submissions / "alice" / "my_network.py", "alice/my_network.py")
        z.writestr("../escaped.txt", "a member that would land outside the folder")
    (submissions / "alice" / "my_network.py").unlink()
    (submissions / "alice").rmdir()
    before = {p: p.read_bytes() for p in submissions.rglob("*") if p.is_file()}
    out = tmp / "out"
    done = subprocess.run([sys.executable, str(GRADE), str(submissions), "--out", str(out), "--jobs", "2",
                           "--timeout", "3", "--memory", "1024"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    print(done.stdout)
    rows = list(csv.DictReader((out / "results.csv").open(encoding="utf-8")))
    results = {}
    for row in rows:
        results.setdefault(row["student"], {})[row["exercise"]] = row
    return {"dir": out, "tmp": tmp, "results": results, "text": text, "outside": outside, "before": before,
            "submissions": submissions, "students": students,
            "totals": {r["student"]: r for r in csv.DictReader((out / "totals.csv").open(encoding="utf-8"))}}


def verdict(graded, student, name):
    row = graded["results"][student][name]
    return row["solved"], row["diagnosis"]


def in_process(source: str, name: str, first_line: int = 1) -> str:
    """What ``check.<name>`` prints for a function defined by ``source``, run here as a learner would (its
    source starting at line ``first_line``, where the submission's file holds it)."""
    import linecache

    import nn_helpers as nn
    filename = f"<{name} in process>"
    text = "\n" * (first_line - 1) + source
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {"np": np, "nn": nn}
    exec(compile(text, filename, "exec"), namespace)
    out = io.StringIO()
    with check._core.not_keeping(), contextlib.redirect_stdout(out):
        assert getattr(check, name)(namespace[f"my_{name}"]) is False
    return out.getvalue().strip()


def first_line_of(graded, student: str, source: str) -> int:
    """The line of the student's my_network.py where ``source`` begins."""
    text = (graded["submissions"] / student / "my_network.py").read_text(encoding="utf-8")
    return text[: text.index(source.strip())].count("\n") + 1


def test_a_correct_submission_solves_everything_from_a_zip(graded):
    assert all(row["solved"] == "yes" for row in graded["results"]["alice"].values())
    total = graded["totals"]["alice"]
    assert total["points"] == total["max_points"] == str(sum(grade.DEFAULT_POINTS[n] for n in ALL))
    assert not (graded["tmp"] / "escaped.txt").exists() and not (graded["dir"] / "escaped.txt").exists()


def test_a_partial_submission_counts_what_it_handed_in(graded):
    solved = [n for n, row in graded["results"]["bob"].items() if row["solved"] == "yes"]
    assert solved == check.EXERCISES["01"] + check.EXERCISES["02"]
    assert graded["results"]["bob"]["softmax"]["diagnosis"] == "not handed in: no block for it in my_network.py"


def test_classic_mistakes_get_the_checkers_diagnosis_word_for_word(graded):
    """The same message as in the notebook, the line a closure raised at quoted (its line of the file), the
    input a function changes named as the learner named it."""
    for name, source in MISTAKES.items():
        expected = in_process(source, name, first_line_of(graded, "carol", source))
        assert verdict(graded, "carol", name) == ("no", expected), name
    assert "The line that raised, line" in verdict(graded, "carol", "tensor_max")[1]
    assert "changes its input Z in place" in verdict(graded, "carol", "batchnorm_forward")[1]
    assert sorted(n for n, row in graded["results"]["carol"].items() if row["solved"] == "no") == sorted(MISTAKES)


def test_the_run_order_of_handed_in_notebooks(graded):
    assert graded["totals"]["bob"]["ran in order: 03_softmax_cross_entropy"] == "in order"
    assert graded["totals"]["carol"]["ran in order: 03_softmax_cross_entropy"] == "cell 3 ran as [2] after [5]"
    assert graded["totals"]["alice"]["ran in order: 03_softmax_cross_entropy"] == ""


EXPECTED = {   # student -> {exercise: the row's diagnosis}, byte for byte
    "loop": {"softmax": "softmax: your function did not finish within 3 s (an endless loop?)"},
    "exit": {"momentum_step": "momentum_step: your function ended the process (exit code 3: os._exit or sys.exit?)",
             "cosine_lr": "its block fails when it runs: SystemExit: 1 (line {line}: sys.exit(1))"},
    "syntax": {"cross_entropy": "its block fails when it runs: SyntaxError: '(' was never closed "
                                "(line {line}: return -np.mean(np.log(probs[np.arange(len(y)), y]))"},
    "missing": {"backward": "not handed in: no block for it in my_network.py"},
    "renamed": {"layer": "my_network.py defines no function my_layer with def (its block's header names it): was it "
                         "renamed, or is it not valid Python?"},
    "package": {"softmax": "my_network.py defines no function my_softmax with def (its block's header names it): "
                           "was it renamed, or is it not valid Python?",
                "one_hot": "my_one_hot calls the package's own nn_helpers.losses.one_hot: the exercise asks for your "
                           "own code",
                "cross_entropy": "my_cross_entropy calls the package's own nn.cross_entropy: the exercise asks for "
                                 "your own code",
                "batchnorm_backward": "my_batchnorm_backward calls the package's own nn.layers.batchnorm_backward: "
                                      "the exercise asks for your own code",
                "im2col": "my_im2col calls the package's own nn.conv._im2col, which does this exercise for you: the "
                          "exercise is to write the loop over the kernel offsets that cuts the windows out yourself",
                "conv_backward": "my_conv_backward calls the package's own nn.col2im, which does this exercise for "
                                 "you: the exercise is to write the three gradients you derived yourself"},
}


def test_each_hostile_submission_gets_its_row_with_the_reason(graded):
    for student, rows in EXPECTED.items():
        for name, expected in rows.items():
            if "{line}" in expected:          # the line of the file the message quotes
                text = (graded["submissions"] / student / "my_network.py").read_text(encoding="utf-8").split("\n")
                quoted = expected.rsplit("{line}: ", 1)[1][:-1]
                expected = expected.format(line=1 + [t.strip() for t in text].index(quoted))
            assert verdict(graded, student, name) == ("no", expected), (student, name)
    solved, memory = verdict(graded, "memory", "one_hot")
    assert solved == "no" and ("MemoryError" in memory or "out of memory" in memory), memory
    solved, files = verdict(graded, "files", "he_init")
    assert solved == "no" and "PermissionError" in files and "only inside its own folder" in files, files
    assert verdict(graded, "printing", "to_features") == ("yes", "")       # printing breaks nothing
    assert verdict(graded, "package", "tensor_max") == ("no", in_process(PACKAGE_TENSOR_MAX, "tensor_max"))
    assert "the engine's own operations" in verdict(graded, "package", "tensor_max")[1]
    solved, patched = verdict(graded, "patching", "softmax")
    assert solved == "no" and "correct" not in patched, patched          # the grader's checker was never patched


def test_no_other_row_changes(graded):
    """Every exercise a hostile or wrong submission did not touch is solved, as in the correct one; the
    process restarted after a hang or an exit, so later exercises still ran."""
    for student, blocks in graded["students"].items():
        if student in ("alice", "bob"):
            continue
        untouched = [n for n in ALL if n not in blocks]
        assert all(graded["results"][student][n]["solved"] == "yes" for n in untouched), \
            (student, [(n, graded["results"][student][n]["diagnosis"]) for n in untouched
                       if graded["results"][student][n]["solved"] != "yes"])


def test_nothing_outside_the_scratch_folder_changes(graded):
    assert (graded["outside"] / "sentinel.txt").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in graded["outside"].iterdir()) == ["sentinel.txt"]
    after = {p: p.read_bytes() for p in graded["submissions"].rglob("*") if p.is_file()}
    assert after == graded["before"]                                  # the hand-ins themselves untouched
    assert not (graded["dir"] / "scratch").exists()                   # the scratch folders are removed
    assert sorted(p.name for p in graded["dir"].iterdir()) == ["points.csv", "report.html", "results.csv",
                                                                "totals.csv"]


def test_a_submission_that_learned_the_fixed_cases_passes_only_without_seed(graded, tmp_path):
    assert verdict(graded, "learned_by_heart", "softmax") == ("yes", "")
    submissions = tmp_path / "two"
    for student in ("alice", "learned_by_heart"):
        (submissions / student).mkdir(parents=True)
    (submissions / "alice" / "my_network.py").write_text(graded["text"], encoding="utf-8")
    by_heart = (graded["submissions"] / "learned_by_heart" / "my_network.py").read_text(encoding="utf-8")
    for name in ALL:      # its softmax block alone: only that row is read here, and the other 37 cost a second
        if name != "softmax":
            by_heart = replace_block(by_heart, name, None)
    (submissions / "learned_by_heart" / "my_network.py").write_text(by_heart, encoding="utf-8")
    done = subprocess.run([sys.executable, str(GRADE), str(submissions), "--out", str(tmp_path / "out"), "--seed",
                           "2026", "--jobs", "2"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = {(r["student"], r["exercise"]): r for r in csv.DictReader((tmp_path / "out" / "results.csv").open(encoding="utf-8"))}
    assert all(rows[("alice", n)]["solved"] == "yes" for n in ALL)    # fresh cases: right code still passes
    row = rows[("learned_by_heart", "softmax")]
    assert row["solved"] == "no" and "KeyError" in row["diagnosis"], row
    assert sum(rows[("learned_by_heart", n)]["diagnosis"].startswith("not handed in") for n in ALL) == len(ALL) - 1
    assert "Fresh cases drawn with --seed 2026" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_the_points_table_and_the_report(graded):
    points = list(csv.DictReader((graded["dir"] / "points.csv").open(encoding="utf-8")))
    assert [r["exercise"] for r in points] == ALL
    page = (graded["dir"] / "report.html").read_text(encoding="utf-8")
    assert f"{len(graded['students'])} submissions" in page and "<script" not in page
    assert "It overflows on large logits" in page            # carol's naive softmax, among the frequent diagnoses
    results = (graded["dir"] / "results.csv").read_text(encoding="utf-8")
    assert "submission-" not in page and "submission-" not in results       # no scratch path in what the grader says


def test_the_report_shows_the_quoted_line_of_a_mistake(graded):
    """A diagnosis that quotes the learner's line: the report shows the error, the line itself and the likely
    cause (not only "The line that raised, line 34 of max_vjp:"), in the exercise's row and among the class's
    most frequent mistakes."""
    page = (graded["dir"] / "report.html").read_text(encoding="utf-8")
    assert "The line that raised" not in page
    tensor_max = page[page.index("<td>tensor_max</td>"):]
    row, frequent = tensor_max[:tensor_max.index("</tr>")], page[page.index("most often</h2>"):]
    for shown in (row, frequent):
        assert "raised ValueError: operands could not be broadcast together" in shown
        assert "<code class='line'>a._add_grad(out.grad * (a.data == out.data))</code>" in shown
        assert "Likely cause: an array of out&#x27;s shape (4,)" in shown


def test_the_report_counts_a_mistake_once_whatever_its_line_in_the_file():
    """Three students raise at the same line of code, on lines 72, 140 and 9 of their my_network.py, a fourth
    makes another mistake: the report counts the first mistake 3 times, with its line of code, and the other
    once (the checkers' own diagnoses, run here; grade.report on them: no grading run)."""
    wrong = ("def my_he_init(n_in, n_out, seed):\n    rng = np.random.default_rng(seed)\n"
             "    return rng.normal(0, np.sqrt(2 / n_in), (n_out, n_in)) @ np.ones((3, 3))")
    other = "def my_he_init(n_in, n_out, seed):\n    return np.zeros((n_in, n_out), n_out)"
    diagnoses = {"ann": in_process(wrong, "he_init", 72), "ben": in_process(wrong, "he_init", 140),
                 "cat": in_process(wrong, "he_init", 9), "dan": in_process(other, "he_init", 30)}
    assert len(set(diagnoses.values())) == 4                      # the files' line numbers differ
    results = {student: {"rows": [[key, name, name != "he_init", d if name == "he_init" else ""]
                                  for key, names in check.EXERCISES.items() for name in names], "notebooks": {}}
               for student, d in diagnoses.items()}
    page = grade.report(results, grade.DEFAULT_POINTS, None)
    frequent = page[page.index("most often</h2>"):page.index("<h2>Each student")]
    rows = re.findall(r"<tr><td class='num'>(\d+)</td><td>he_init</td><td class='mistake'>(.*?)</td></tr>", frequent)
    assert [times for times, _ in rows] == ["3", "1"], rows
    line = "<code class='line'>return rng.normal(0, np.sqrt(2 / n_in), (n_out, n_in)) @ np.ones((3, 3))</code>"
    assert "raised ValueError: matmul" in rows[0][1] and line in rows[0][1], rows[0][1]
    assert "line 72" not in page and "line 140" not in page
    he_init = page[page.index("<td>he_init</td>"):]
    assert line in he_init[:he_init.index("</tr>")] and "(3&times;)" in he_init[:he_init.index("</tr>")]


def test_an_edited_points_table_changes_the_totals(graded, tmp_path):
    table = tmp_path / "points.csv"
    table.write_text("exercise,points\nsoftmax,10\n", encoding="utf-8")
    points = grade.read_points(table)
    assert points["softmax"] == 10 and points["layer"] == grade.DEFAULT_POINTS["layer"]


def test_the_wire_refuses_what_it_must_not_build():
    import grade_wire
    codec = grade_wire.Codec("p")
    for forged in ({"object": "x"}, {"array": {"dtype": "|O", "shape": [1], "data": "AAAAAAAAAAA="}},
                   {"weird": 1}, [1, 2]):
        with pytest.raises(grade_wire.WireError):
            codec.unpack({"value": forged, "objects": {}})
    with pytest.raises(grade_wire.WireError):
        codec.unpack({"value": None, "objects": {"c1": {"class": "os:system", "attrs": {}}}})
    err = grade_wire.exception_from({"type": "SystemExit", "module": "builtins", "message": "1"})
    assert isinstance(err, Exception)                    # a student's SystemExit never ends the grader
    # a function's claim to be one of the engine's closures: outside nn_helpers it is a plain stub; inside, it
    # can only make a checker refuse it (its code object is the engine's own)
    from nn_helpers.autograd import Tensor
    engine = Tensor(np.ones((2, 3)), requires_grad=True).max(axis=1)._backward
    claimed = codec.unpack({"value": {"function": "c7", "name": "f", "package": ["os", "system"]}, "objects": {}})
    assert not isinstance(claimed, grade_wire.PackageFunction)
    claimed = codec.unpack({"value": {"function": "c8", "name": "f", "package": [engine.__module__,
                                                                                 engine.__qualname__]}, "objects": {}})
    assert claimed.__code__ is engine.__code__


def test_the_class_report_in_chromium(graded):
    """The report as a teacher opens it: Debian's Chromium (skipped without it, unless NN_REQUIRE_BROWSER=1),
    no request but the file itself, every student's row; its picture goes to build/class-report.png (for the
    teacher's guide; git-ignored)."""
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    from browser_env import CHROMIUM, CHROMIUM_ARGS, skip_or_fail_without_browser
    skip_or_fail_without_browser()
    from playwright.sync_api import sync_playwright

    report = graded["dir"] / "report.html"
    requests, errors, failures = [], [], []

    def look():   # in a thread of its own: Playwright's sync API refuses a thread where an asyncio loop runs
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.on("request", lambda r: requests.append(r.url))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(report.as_uri())
                tables = page.locator("table")
                counts = (tables.count(), tables.nth(0).locator("tr").count(), tables.nth(2).locator("tr").count(),
                          page.locator("td.ok").count())
                (ROOT / "build").mkdir(exist_ok=True)
                page.screenshot(path=ROOT / "build" / "class-report.png", full_page=True)
                browser.close()
            failures.append(counts)
        except Exception as error:   # reported by the test below
            failures.append(error)

    import threading
    thread = threading.Thread(target=look)
    thread.start()
    thread.join(timeout=180)
    assert failures and not isinstance(failures[0], Exception), failures
    tables, first, third, ok = failures[0]
    assert tables == 3 and first == 1 + len(ALL) and third == 1 + len(graded["students"])
    assert ok == sum(r["solved"] == "yes" for s in graded["results"].values() for r in s.values())
    assert requests == [report.as_uri()] and errors == []


def test_the_teachers_guide_lists_every_exercise_with_its_points():
    """book/teachers.md's tables follow check.EXERCISES and the grader's points: each notebook's exercises in
    order with their points, the count of each notebook's exercises, and the totals."""
    guide = (ROOT / "book" / "teachers.md").read_text(encoding="utf-8")
    listed = {m.group(1): re.findall(r"`(\w+)` \((\d+)\)", m.group(2))
              for m in re.finditer(r"^\| (\d\d) \| (`.*) \|$", guide, re.M)}
    assert listed == {key: [(n, str(grade.DEFAULT_POINTS[n])) for n in names]
                      for key, names in check.EXERCISES.items()}
    counts = {m.group(1): m.group(2) for m in re.finditer(r"^\| (\d\d) [^|]+\|[^|]+\|[^|]+\| (\d+) \|", guide, re.M)}
    assert {key: counts.get(key) for key in check.EXERCISES} == {k: str(len(v)) for k, v in check.EXERCISES.items()}
    graded = re.findall(r"^\| \d \|[^|]+\| (\d\d)(?:-(\d\d))? \((\d+) points\)", guide, re.M)   # the plans' weeks
    assert graded and [int(p) for *_, p in graded] == [
        sum(grade.DEFAULT_POINTS[n] for key, names in check.EXERCISES.items() if a <= key <= (b or a) for n in names)
        for a, b, _ in graded]
    assert sorted(k for k in check.EXERCISES if any(a <= k <= (b or a) for a, b, _ in graded)) == sorted(check.EXERCISES)
    total = sum(grade.DEFAULT_POINTS.values())
    assert f"{len(ALL)} exercises, {total} points in all" in guide
    assert f"points out of {total}" in guide


def test_the_teachers_guide_quotes_the_measured_cpu_seconds():
    """The guide's "CPU s (measured)" column is benchmarks/notebook_cpu.json's, rounded (notebook_cpu.py --guide
    writes it; a notebook that changed is measured again and the guide follows)."""
    spec = importlib.util.spec_from_file_location("notebook_cpu", ROOT / "benchmarks" / "notebook_cpu.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    measured = json.loads((ROOT / "benchmarks" / "notebook_cpu.json").read_text(encoding="utf-8"))["notebooks"]
    quoted = tool.guide_rows((ROOT / "book" / "teachers.md").read_text(encoding="utf-8"))
    assert sorted(quoted) == sorted(check.EXERCISES.keys() | {"09", "10"})
    assert quoted == {name[:2]: f"{r['cpu_s']:.0f}" for name, r in measured.items() if name[:2] in quoted}
