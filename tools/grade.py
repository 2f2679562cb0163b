"""Grade a class: run every exercise's checker on each student's ``my_network.py``.

    python3 dev.py grade SUBMISSIONS --out DIR [--seed N] [--points points.csv] [--jobs N]
                         [--timeout SECONDS] [--memory MB] [--keep-scratch]

SUBMISSIONS holds one folder or one .zip per student (its name is the student's name), each with the
``my_network.py`` the checkers wrote while the student worked (anywhere inside), and optionally the
student's notebooks. DIR receives:

- ``results.csv``: one row per student and exercise: solved or not, the checker's diagnosis, the points;
- ``totals.csv``: one row per student: points, exercises solved, whether each notebook ran top to bottom;
- ``points.csv``: the points table used (edit it and pass it back with ``--points``);
- ``report.html``: the class report: each exercise's pass rate, what the class got wrong most often, each
  student's row.

``--seed N`` makes every checker draw its test numbers anew (``NN_CHECK_SEED``, read by the checkers'
generators), so that a submission that returns the outputs of the installed package's fixed cases fails.

How a submission is kept from breaking the grading or forging a result: it runs in a process of its own
(``tools/grade_host.py``), in a scratch folder (a copy of the submission), with a time limit per call, a
memory limit, a CPU limit and a file-size limit, and an audit hook that refuses writes outside the
folder, new processes, signals, sockets and ctypes. The checker runs here, in the grader: it calls the
student's functions through a proxy that sends the arguments to that process and gets the result back as
data (``tools/grade_wire.py``: JSON and raw array bytes, never pickle), so the verdict is computed where
the student's code cannot reach it. Each submission is graded by a judge process of its own
(``--judge``), so that nothing one submission does reaches another's row.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import csv
import html
import io
import json
import linecache
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
KEPT = "my_network.py"

#: Points per exercise: 1 for a line or two, 2 for a function, 3 for a derivation (a backward pass, a closure,
#: the training loop). An exercise not in this table (a new one) gets ``POINTS_UNLISTED``.
POINTS = {
    "parse_idx": 2, "to_features": 1, "train_val_split": 2,
    "layer": 1, "forward": 2, "he_init": 1,
    "softmax": 2, "one_hot": 1, "cross_entropy": 2,
    "output_gradient": 2, "backward": 3, "backward_tanh": 2, "numerical_gradient": 2, "backward_deep": 3,
    "sgd_step": 1, "minibatches": 2, "train_epoch": 3,
    "momentum_step": 2, "adam_step": 3, "cosine_lr": 1,
    "confusion_matrix": 2, "precision_recall": 2, "most_confident_mistakes": 2,
    "l2_gradient": 2, "early_stopping": 2, "dropout_forward": 2,
    "conv_forward": 3, "im2col": 2, "conv_backward": 3, "maxpool_backward": 2, "bridge_backward": 2,
    "value_mul": 2, "topological_order": 3, "unbroadcast": 2, "tensor_max": 3,
    "batchnorm_forward": 2, "batchnorm_backward": 3, "layernorm_images": 2, "residual_backward": 2,
}
POINTS_UNLISTED = 2


def default_points() -> dict:
    """exercise -> points, for every exercise of ``check.EXERCISES`` in the series' order (the grader writes
    this table to DIR/points.csv; pass an edited copy with --points)."""
    from nn_helpers import check
    return {name: POINTS.get(name, POINTS_UNLISTED) for names in check.EXERCISES.values() for name in names}


#: The points of today's exercises.
DEFAULT_POINTS = default_points()

#: The package's own functions an exercise's function may not call (it asks for the learner's own code).
FORBIDDEN = {
    "parse_idx": ["parse_idx"], "to_features": ["to_features"], "train_val_split": ["train_val_split"],
    "forward": ["forward"], "he_init": ["init_params"], "softmax": ["softmax"], "one_hot": ["one_hot"],
    "cross_entropy": ["cross_entropy"], "backward": ["backward"], "backward_tanh": ["backward"],
    "backward_deep": ["backward"], "numerical_gradient": ["numerical_gradient"], "cosine_lr": ["cosine_lr"],
    "confusion_matrix": ["confusion_matrix"], "precision_recall": ["precision_recall"],
    "most_confident_mistakes": ["most_confident_mistakes"], "conv_forward": ["conv2d_forward"],
    "conv_backward": ["conv2d_backward"], "maxpool_backward": ["maxpool_backward"],
    "topological_order": ["topological_order"], "unbroadcast": ["unbroadcast"], "im2col": ["_im2col"],
    "batchnorm_forward": ["batchnorm_forward"], "batchnorm_backward": ["batchnorm_backward"],
    "layernorm_images": ["layernorm_forward"],
}

def _with_solved_by(forbidden: dict) -> dict:
    """FORBIDDEN with the package functions that the checkers refuse because they do an exercise for the
    learner (``check._core.SOLVED_BY``: nn.conv.im2col and its alias _im2col, col2im, conv2d_forward ...),
    under every name the package holds them by, so that the grader refuses what the notebook refuses."""
    from nn_helpers.check import _core
    out = {name: list(names) for name, names in forbidden.items()}
    for name in _core.SOLVED_BY:
        out[name] = sorted(set(out.get(name, [])) | set(_core.solved_by_names(name)))
    return out


FORBIDDEN = _with_solved_by(FORBIDDEN)

# (tensor_max: the engine's Tensor.max is a method, no function to trip on; the checker itself refuses a result
# whose closure is the engine's, and the wire tells it which closures are: tools/grade_wire.py)

#: The names the training loop of notebook 05 calls; train_epoch's checker puts its own pieces under them.
LOOP_NAMES = ("forward", "backward", "sgd_step", "minibatches")

#: A submission whose process hangs or ends this many times is not graded further (each costs a timeout).
MAX_RESTARTS = 6

COLUMNS = ["student", "notebook", "exercise", "solved", "points", "max_points", "diagnosis"]


class HostLost(BaseException):
    """The student's process died, hung or broke the protocol: not an Exception, so no checker catches it."""


# ---------------------------------------------------------------------------------------------------------
# The judge: one submission (runs in a process of its own, started by the grader)
# ---------------------------------------------------------------------------------------------------------

def blocks_of(text: str) -> dict:
    """exercise -> function name, from the block headers ``# ==== softmax: my_softmax ====``."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^# ==== (\w+): (\w+) ====$", text, re.M)}


def function_sources(text: str) -> dict:
    """function name -> (its source, the module-level names it may take from nn_helpers), read with ``ast``
    (here, in the grader: never by running the student's code). A file that does not parse is read block
    by block."""
    pieces = [text]
    try:
        ast.parse(text)
    except SyntaxError:
        pieces = re.split(r"^(?=# ==== )", text, flags=re.M)
    found, imported = {}, {}
    for piece in pieces:
        try:
            tree = ast.parse(piece)
        except SyntaxError:
            continue
        lines = re.split(r"\r\n|\r|\n", piece)          # the line ends ast counts
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nn_helpers"):
                for alias in node.names:
                    imported[alias.asname or alias.name] = alias.name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("nn_helpers"):
                        imported[alias.asname or alias.name.split(".")[0]] = "<module>"
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[node.name] = (segment(lines, node), node)
    return {name: (source, node, imported) for name, (source, node) in found.items()}


def segment(lines: list, node) -> str:
    """A top-level function's source, from the file's lines (``ast.get_source_segment`` splits the whole
    file again for each function: seconds for a long file)."""
    first, last = node.lineno - 1, node.end_lineno - 1
    if first == last:
        return lines[first].encode("utf-8")[node.col_offset:node.end_col_offset].decode("utf-8", "replace")
    head = lines[first].encode("utf-8")[node.col_offset:].decode("utf-8", "replace")
    tail = lines[last].encode("utf-8")[:node.end_col_offset].decode("utf-8", "replace")
    return "\n".join([head, *lines[first + 1:last], tail])


def package_calls(node, imported: dict, forbidden) -> list:
    """The package's own functions among ``forbidden`` that a function's source names: ``nn.softmax``,
    ``nn_helpers.losses.softmax``, or a name imported from nn_helpers."""
    modules = {name for name, what in imported.items() if what == "<module>"} | {"nn", "nn_helpers"}
    used = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in forbidden:
            base, chain = sub.value, [sub.attr]
            while isinstance(base, ast.Attribute):
                chain.insert(0, base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules:
                used.add(".".join(["nn", *chain]))             # as written: nn.conv._im2col
        elif isinstance(sub, ast.Name) and imported.get(sub.id) in forbidden:
            used.add(f"nn.{imported[sub.id]}")
        elif isinstance(sub, ast.Constant) and sub.value in forbidden and isinstance(sub.value, str):
            used.add(f"nn.{sub.value}")            # getattr(nn, "softmax")
    return sorted(used)


def refused(fn_name: str, name: str, used: list) -> str:
    """The diagnosis of a function that calls the package's own: the checker's reason where it has one."""
    from nn_helpers.check import _core
    if name in _core.SOLVED_BY:
        return (f"{fn_name} calls the package's own {', '.join(used)}, which does this exercise for you: the "
                f"exercise is to write {_core.SOLVED_BY[name][1]} yourself")
    return f"{fn_name} calls the package's own {', '.join(used)}: the exercise asks for your own code"


class _Default:
    """A default value of the student's that is not a literal: shown as written, never evaluated here."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self):
        return self.text


def signature_of(node) -> "inspect.Signature | None":
    """The parameters of a function, read from its ``def`` (defaults that are literals as values, others as
    written), or None when they make no signature."""
    import inspect
    P = inspect.Parameter

    def default(expr):
        if expr is None:
            return P.empty
        try:
            return ast.literal_eval(expr)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return _Default(ast.unparse(expr)[:100])

    a = node.args
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    params = [P(arg.arg, P.POSITIONAL_ONLY if i < len(a.posonlyargs) else P.POSITIONAL_OR_KEYWORD,
                default=default(d)) for i, (arg, d) in enumerate(zip(positional, defaults))]
    if a.vararg:
        params.append(P(a.vararg.arg, P.VAR_POSITIONAL))
    params += [P(arg.arg, P.KEYWORD_ONLY, default=default(d)) for arg, d in zip(a.kwonlyargs, a.kw_defaults)]
    if a.kwarg:
        params.append(P(a.kwarg.arg, P.VAR_KEYWORD))
    try:
        return inspect.Signature(params)
    except (ValueError, TypeError):
        return None


def limits(memory_mb: int, cpu_seconds: int):
    """Resource limits of the student's process (POSIX), set between fork and exec."""
    def apply():
        import resource
        os.setsid()
        for name, value in (("RLIMIT_AS", memory_mb * 2**20), ("RLIMIT_CPU", cpu_seconds),
                            ("RLIMIT_FSIZE", 64 * 2**20), ("RLIMIT_CORE", 0), ("RLIMIT_NOFILE", 256)):
            if hasattr(resource, name):
                try:
                    resource.setrlimit(getattr(resource, name), (value, value))
                except (ValueError, OSError):
                    pass
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # a file too large: an error, not a killed process
    return apply


class Host:
    """The student's process, and the proxies that call into it."""

    def __init__(self, scratch: Path, functions: dict, timeout: float, memory_mb: int):
        import grade_wire
        self.wire = grade_wire
        self.scratch, self.functions, self.timeout = scratch, functions, timeout
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = {"PATH": os.defpath, "HOME": str(scratch), "NN_LEARNER_DIR": str(scratch), "MPLBACKEND": "Agg",
               "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "MPLCONFIGDIR": str(scratch / ".mpl")}
        for key in ("SYSTEMROOT", "GRADE_DEBUG"):    # not NN_CHECK_SEED: the fresh cases' seed stays with the checkers
            if key in os.environ:
                env[key] = os.environ[key]
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(TOOLS / "grade_host.py"), str(TOOLS), str(to_child_r), str(from_child_w)],
            cwd=scratch, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.environ["GRADE_DEBUG"], "a", encoding="utf-8") if os.environ.get("GRADE_DEBUG") else subprocess.DEVNULL,
            pass_fds=(to_child_r, from_child_w), preexec_fn=limits(memory_mb, cpu_seconds=int(timeout * 60) + 60))
        os.close(to_child_r)
        os.close(from_child_w)
        self.channel = grade_wire.Channel(from_child_r, to_child_w)
        self.codec = grade_wire.Codec("p")
        self.peer = grade_wire.Peer(self.channel, self.codec, self._run_callback)
        self.peer.on_result = self._on_result
        # a function of the student's that came back (a Tensor's _backward closure) runs in their process too,
        # under the same time limit, and a process that dies in it is lost like one that dies in a call
        self.codec.call_remote = lambda key, args, kwargs: self._guarded(
            lambda: self.peer.call({"fid": key}, args, kwargs))
        self.used, self.lost, self.broken = set(), None, False
        self.exercise = None                 # the exercise whose checker called last

    def _run_callback(self, message, args, kwargs):
        fn = self.codec.mine.get(str(message.get("fid")))
        if not callable(fn):
            raise self.wire.WireError("a call of a function the grader never sent")
        return fn(*args, **kwargs)

    def _on_result(self, message):
        used = message.get("used") or []
        if isinstance(used, list):
            self.used.update(str(u)[:200] for u in used[:20])

    def _guarded(self, action, seconds=None):
        """Run a protocol step; a dead, silent or lying student process becomes HostLost."""
        outer = self.channel.deadline            # a callback inside a call: the call's deadline comes back after
        self.channel.deadline = time.monotonic() + (seconds or self.timeout)
        try:
            return action()
        except self.wire.Timeout:
            self.lost = f"did not finish within {seconds or self.timeout:g} s (an endless loop?)"
        except (EOFError, BrokenPipeError, ConnectionResetError):
            code = self.process.poll()
            if code is None:
                try:
                    code = self.process.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    code = None
            self.lost = self._ended(code)
        except self.wire.WireError as err:
            self.lost = f"sent back something the grader does not accept: {err}"
        except BaseException as err:
            if not hasattr(err, "remote_line"):   # not the student's exception: the checker stopped the call
                self.broken = True                # (its own time limit?); the process is mid-call: replace it
            raise
        finally:
            self.channel.deadline = outer
        raise HostLost(self.lost)

    @staticmethod
    def _ended(code) -> str:
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            why = {"SIGKILL": " (out of memory?)", "SIGXCPU": " (its CPU time ran out)",
                   "SIGSEGV": " (a crash)"}.get(name, "")
            return f"ended the process (signal {name}{why})"
        return f"ended the process (exit code {code}: os._exit or sys.exit?)" if code is not None \
            else "closed its connection to the grader"

    def load(self, file: str, forbidden: dict) -> dict:
        """Start-up (Python, NumPy, nn_helpers: seconds on a busy machine, so up to 120 s), then the student's
        file (within the time limit of a call). Returns what the process says it found, checked for shape."""
        def ready():
            self.channel.send({"op": "load", "file": file, "functions": self.functions, "forbidden": forbidden})
            return self.channel.receive()
        if self._guarded(ready, seconds=max(self.timeout, 120)).get("op") != "ready":
            raise HostLost("sent back something the grader does not accept")
        answer = self._guarded(self.channel.receive)
        if answer.get("op") != "loaded":
            raise HostLost("sent back something the grader does not accept")
        problems = answer.get("problems") if isinstance(answer.get("problems"), dict) else {}
        functions = answer.get("functions") if isinstance(answer.get("functions"), dict) else {}
        return {"problems": {str(k): str(v)[:2000] for k, v in problems.items()},
                "functions": {str(k): v for k, v in functions.items() if isinstance(v, dict)}}

    def proxy(self, exercise: str, fn_name: str, source: str, label: str, node=None):
        """A function that looks like the student's to the checker (its name, source and parameters, for the
        checkers that read the source or name an argument: "your function changes its input Z") and runs the
        student's function in the student's process."""
        filename = f"<{label}: {KEPT}, {fn_name}>"
        text = (source or f"def {fn_name}(*args, **kwargs):\n    pass\n").rstrip("\n") + "\n"
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        host = self

        def call(args, kwargs, scope):
            inject = {name: scope[name] for name in LOOP_NAMES if name in scope}
            extra = {}
            if host.exercise != exercise:        # the first call of an exercise: both sides start afresh
                host.codec.forget_all()
                host.exercise, extra["fresh"] = exercise, True
            host.codec.forget_values()
            if inject:
                extra["inject"] = {k: host.codec.pack(v) for k, v in inject.items()}
            return host._guarded(lambda: host.peer.call({"exercise": exercise}, args, kwargs, extra))

        namespace = {"__grader_call__": call, "__name__": "my_network"}
        exec("def proxy(*args, **kwargs):\n    return __grader_call__(args, kwargs, globals())\n", namespace)
        fn = namespace["proxy"]
        fn.__code__ = fn.__code__.replace(co_filename=filename, co_firstlineno=1, co_name=fn_name)
        fn.__name__ = fn.__qualname__ = fn_name
        fn.__module__ = "my_network"
        if node is not None:
            signature = signature_of(node)
            if signature is not None:
                fn.__signature__ = signature
        return fn

    def close(self):
        try:
            self.channel.send({"op": "bye"})
        except OSError:
            pass
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def kill(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
            self.process.wait()
        for fd in (self.channel.read_fd, self.channel.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def unpack_submission(source: Path, scratch: Path) -> None:
    """Copy a submission folder into ``scratch``, or extract a zip there (members that would land outside
    it, links and more than 200 MB in all are refused)."""
    if source.is_dir():
        shutil.copytree(source, scratch, symlinks=True, dirs_exist_ok=True)
        for path in list(scratch.rglob("*")):
            if path.is_symlink():
                path.unlink()          # a link could lead the student's process outside its folder
        return
    with zipfile.ZipFile(source) as archive:
        total = 0
        for info in archive.infolist():
            target = (scratch / info.filename).resolve()
            if not target.is_relative_to(scratch.resolve()) or (info.external_attr >> 28) == 0o12:
                continue
            total += info.file_size
            if total > 200 * 2**20:
                raise ValueError("the zip holds more than 200 MB")
            archive.extract(info, scratch)


def find_kept(scratch: Path) -> Path | None:
    """The submission's my_network.py: the shallowest one (not in a checkpoint folder)."""
    found = sorted((p for p in scratch.rglob(KEPT) if ".ipynb_checkpoints" not in p.parts),
                   key=lambda p: (len(p.parts), str(p)))
    return found[0] if found else None


def run_order(scratch: Path) -> dict:
    """notebook stem -> "in order", "not run", or where the execution counts go out of order: read as JSON
    here (the student's notebooks are never executed)."""
    out = {}
    for path in sorted(scratch.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts or path.stat().st_size > 50 * 2**20:
            continue
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            out[path.stem] = "unreadable"
            continue
        counts = [(i, c.get("execution_count")) for i, c in enumerate(cells, 1)
                  if isinstance(c, dict) and c.get("cell_type") == "code" and "".join(c.get("source", "")).strip()]
        ran = [(i, n) for i, n in counts if isinstance(n, int)]
        if not ran:
            out[path.stem] = "not run"
            continue
        problem = next((f"cell {i} ran as [{n}] after [{m}]" for (_, m), (i, n) in zip(ran, ran[1:]) if n <= m), None)
        if problem is None and len(ran) < len(counts):
            first = next(i for i, n in counts if not isinstance(n, int))
            problem = f"cell {first} never ran"
        if problem is None and ran[0][1] != 1 or problem is None and any(n != m + 1 for (_, m), (_, n) in zip(ran, ran[1:])):
            problem = "cells ran again or in between (the counts are not 1, 2, 3, ...)"
        out[path.stem] = problem or "in order"
    return out


def judge(student: str, source: Path, scratch_root: Path, timeout: float, memory_mb: int) -> dict:
    """Grade one submission; returns {"rows": [[notebook, exercise, solved, diagnosis], ...], "notebooks": {...}}."""
    sys.path.insert(0, str(TOOLS))
    from nn_helpers import check
    from nn_helpers.check import _core

    # the grader's own time limit (a deadline on every answer, tools/grade_wire.py) ends a call that runs too
    # long, and says so; the checkers' limit (a thread of the checker's) stays only as a backstop
    _core.TIME_LIMIT = max(getattr(_core, "TIME_LIMIT", 10.0), 2 * timeout + 10)
    scratch = Path(tempfile.mkdtemp(prefix="submission-", dir=scratch_root))
    rows = []
    exercises = [(key, name) for key, names in check.EXERCISES.items() for name in names]
    try:
        unpack_submission(source, scratch)
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        return {"rows": [[k, n, False, f"the submission could not be opened: {err}"] for k, n in exercises],
                "notebooks": {}}
    notebooks = run_order(scratch)
    kept = find_kept(scratch)
    if kept is None:
        return {"rows": [[k, n, False, f"no {KEPT} in the submission"] for k, n in exercises], "notebooks": notebooks}
    text = kept.read_bytes()[: 5 * 2**20].decode("utf-8", errors="replace")
    headers = blocks_of(text)
    sources = function_sources(text)
    functions = {name: headers.get(name, f"my_{name}") for _, name in exercises}
    relative = str(kept.relative_to(scratch))
    host, loaded = None, None
    keeping = getattr(_core, "not_keeping", contextlib.nullcontext)

    def start():
        h = Host(scratch, functions, timeout, memory_mb)
        answer = h.load(relative, {k: v for k, v in FORBIDDEN.items()})
        return h, answer

    fatal, losses = None, 0
    for key, name in exercises:
        fn_name = functions[name]
        if fatal:
            rows.append([key, name, False, fatal])
            continue
        if name not in headers and fn_name not in sources:
            rows.append([key, name, False, "not handed in: no block for it in my_network.py"])
            continue
        if host is None:
            try:
                host, loaded = start()
            except HostLost as lost:
                fatal = f"{KEPT} {lost} while it was loading"
                rows.append([key, name, False, fatal])
                continue
        problem = loaded.get("problems", {}).get(name)
        status = loaded.get("functions", {}).get(name, {})
        if problem:
            rows.append([key, name, False, f"its block fails when it runs: {problem}"])
            continue
        if fn_name not in sources:
            rows.append([key, name, False, f"{KEPT} defines no function {fn_name} with def (its block's header names "
                                           f"it): was it renamed, or is it not valid Python?"])
            continue
        src, node, imported = sources[fn_name]
        used = package_calls(node, imported, FORBIDDEN.get(name, []))
        if used:
            rows.append([key, name, False, refused(fn_name, name, used)])
            continue
        if not status.get("found"):
            head = loaded.get("problems", {}).get("")
            rows.append([key, name, False, f"{fn_name} is not defined when {KEPT} runs"
                         + (f" (the file fails: {head})" if head else "")])
            continue
        if status.get("package"):
            rows.append([key, name, False, f"{fn_name} is the package's own function, not yours"])
            continue
        proxy = host.proxy(name, fn_name, src, student, node)
        host.used = set()
        out = io.StringIO()
        try:
            with keeping(), contextlib.redirect_stdout(out):
                ok = bool(getattr(check, name)(proxy))
            diagnosis = out.getvalue().strip()
        except HostLost as lost:
            ok, diagnosis = False, f"{name}: your function {lost}"
            host.kill()
            host, losses = None, losses + 1
            if losses >= MAX_RESTARTS:
                fatal = f"not graded: the submission's process hung or ended {losses} times, the grader gave up"
        except Exception as err:      # the checker itself failed on what came back: not solved, say why
            ok, diagnosis = False, f"{name}: the checker could not judge the result ({type(err).__name__}: {err})"
        used = sorted(host.used) if host is not None else []
        if host is not None and host.broken:
            host.kill()
            host = None
        if ok and used:
            ok, diagnosis = False, refused(fn_name, name, used)
        rows.append([key, name, ok, "" if ok else diagnosis])
    if host is not None:
        host.close()
    return {"rows": rows, "notebooks": notebooks}


def judge_main(argv) -> int:
    """``grade.py --judge STUDENT SOURCE SCRATCH TIMEOUT MEMORY``: prints one JSON line, the submission's rows."""
    student, source, scratch, timeout, memory = argv
    real_stdout = os.fdopen(os.dup(1), "w", encoding="utf-8")
    result = judge(student, Path(source), Path(scratch), float(timeout), int(memory))
    real_stdout.write(json.dumps(result) + "\n")
    real_stdout.flush()
    return 0


# ---------------------------------------------------------------------------------------------------------
# The grader: the class
# ---------------------------------------------------------------------------------------------------------

def submissions(folder: Path) -> list:
    """(student, path) for each folder or .zip in ``folder``, sorted by name."""
    items = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            items.append((path.name, path))
        elif path.suffix.lower() == ".zip":
            items.append((path.stem, path))
    return items


def read_points(path: Path | None) -> dict:
    points = dict(DEFAULT_POINTS)
    if path is not None:
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row.get("exercise") in points:
                    points[row["exercise"]] = float(row["points"]) if "." in row["points"] else int(row["points"])
    return points


def grade_one(student, path, scratch_root, timeout, memory_mb, total_timeout) -> dict:
    """Run the judge of one submission in a process of its own; a judge that fails gives every row the reason."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    try:
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--judge", student, str(path),
                               str(scratch_root), str(timeout), str(memory_mb)],
                              capture_output=True, text=True, timeout=total_timeout, env=env, start_new_session=True)
        lines = done.stdout.strip().splitlines()
        if done.returncode == 0 and lines:
            return json.loads(lines[-1])
        reason = f"the grading of this submission failed (exit code {done.returncode}): " \
                 f"{(done.stderr.strip().splitlines() or [''])[-1][:300]}"
    except subprocess.TimeoutExpired:
        reason = f"the grading of this submission took longer than {total_timeout:g} s in all"
    except ValueError as err:
        reason = f"the grading of this submission gave an unreadable result ({err})"
    from nn_helpers import check
    return {"rows": [[k, n, False, reason] for k, names in check.EXERCISES.items() for n in names], "notebooks": {}}


def write_outputs(out: Path, results: dict, points: dict, seed) -> dict:
    """results.csv, totals.csv, points.csv and report.html; returns the summary the report shows."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "points.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["exercise", "points"])
        for name, p in points.items():
            w.writerow([name, p])
    with (out / "results.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for student, result in results.items():
            for key, name, ok, diagnosis in result["rows"]:
                w.writerow([student, key, name, "yes" if ok else "no", points.get(name, 0) if ok else 0,
                            points.get(name, 0), diagnosis])
    maximum = sum(points.get(name, 0) for _, name, _, _ in next(iter(results.values()))["rows"]) if results else 0
    notebooks = sorted({nb for r in results.values() for nb in r["notebooks"]})
    with (out / "totals.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["student", "points", "max_points", "solved", "exercises", *[f"ran in order: {nb}" for nb in notebooks]])
        for student, result in results.items():
            total = sum(points.get(name, 0) for _, name, ok, _ in result["rows"] if ok)
            w.writerow([student, total, maximum, sum(ok for *_, ok, _ in result["rows"]), len(result["rows"]),
                        *[result["notebooks"].get(nb, "") for nb in notebooks]])
    (out / "report.html").write_text(report(results, points, seed), encoding="utf-8", newline="\n")
    return {"max": maximum}


#: The learner's line a diagnosis quotes: "The line that raised, line 72 of my_he_init:" (or "It was at line 9
#: of my_softmax:", a call stopped for running too long), then the line itself, indented.
QUOTED = re.compile(r"^\s*(The line that raised, |It was at )line \d+(?: of (\w+))?(?: \(a lambda\))?:?\s*$")


def mistake(diagnosis: str) -> tuple:
    """What identifies a diagnosis's mistake, without the case it happened on and the place in the file:
    ``(what, line, cause)``: what went wrong (the error raised, or the checker's diagnosis), the learner's
    line it quotes (its code, "" when none) and the likely cause ("" when none). Two students' mistakes are
    the same when these are, whatever line of their my_network.py it was on."""
    lines = [line.rstrip() for line in diagnosis.splitlines() if line.strip()]
    if not lines:
        return ("", "", "")
    head = re.sub(r"^\w+: ", "", lines[0].strip())
    quoted, cause, rest = "", "", []
    i = 1
    while i < len(lines):
        line = lines[i].strip()
        if QUOTED.match(lines[i]):
            if i + 1 < len(lines) and not QUOTED.match(lines[i + 1]) and lines[i + 1].startswith("      "):
                quoted = lines[i + 1].strip()
                i += 1
        elif line.startswith("Likely cause: "):
            cause = line[len("Likely cause: "):]
        else:
            rest.append(line)
        i += 1
    raised = re.match(r"your function raised (\w+) on .*?: (.*)$", head)
    if raised:                                   # the error, without the case it was raised on
        what = f"raised {raised.group(1)}: {raised.group(2)}"
    elif re.match(r"not right yet on ", head) and rest:
        what = rest[0]                           # the diagnosis, not the case
    elif re.match(r"your function was still running after ", head):
        what = re.sub(r" on .*?, a case that", ", on a case that", head)
    else:                                        # the case left out: "returned None on <case>."
        what = re.sub(r"^(the values are right|your function returned None) on .*?(, but |\. )", r"\1\2", head)
    what = re.sub(r"\(line \d+: ", "(", what)    # a block that fails as it runs: "(line 12: sys.exit(1))"
    return (what, quoted, cause)


def mistake_text(key: tuple) -> str:
    """A mistake as one line of text (a tooltip, a CSV cell)."""
    what, quoted, cause = key
    return " ".join(p for p in (what, f"The line: {quoted}" if quoted else "", f"Likely cause: {cause}" if cause
                                else "") if p)


def mistake_html(key: tuple, limit: int = 400) -> str:
    """A mistake in a table cell: what went wrong, the learner's line as code, the likely cause."""
    what, quoted, cause = key
    cut = lambda t: html.escape(t if len(t) <= limit else t[:limit - 1] + "\u2026")
    parts = [f"<div>{cut(what)}</div>"]
    if quoted:
        parts.append(f"<code class='line'>{cut(quoted)}</code>")
    if cause:
        parts.append(f"<div class='cause'>Likely cause: {cut(cause)}</div>")
    return "".join(parts)


def not_done(diagnosis: str) -> bool:
    """The student did not try: the skeleton is still there, or the exercise is not in the file."""
    return "not done yet" in diagnosis or diagnosis.startswith("not handed in")


def report(results: dict, points: dict, seed) -> str:
    """The class report: pass rates, the most frequent diagnoses, each student's row (one HTML file, no
    scripts, no files beside it)."""
    from nn_helpers import check
    students = list(results)
    exercises = [(k, n) for k, names in check.EXERCISES.items() for n in names]
    solved = {s: {n: ok for _, n, ok, _ in results[s]["rows"]} for s in students}
    diag = {s: {n: d for _, n, _, d in results[s]["rows"]} for s in students}
    maximum = sum(points.get(n, 0) for _, n in exercises)
    e = html.escape
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Class report</title><style>",
             "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:22px}h2{font-size:18px;"
             "margin-top:28px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;"
             "text-align:left;vertical-align:top}th{background:#f3f3f3}.bar{display:inline-block;height:10px;"
             "background:#3a7}.ok{background:#dff3e4;text-align:center}.no{background:#fbe3e3;text-align:center}"
             ".none{color:#999;text-align:center}.num{text-align:right}.small{color:#666;font-size:12px}"
             "td.rot{writing-mode:vertical-rl;transform:rotate(180deg);font-size:12px;white-space:nowrap}"
             "td.mistake{max-width:44em}code.line{display:block;margin:2px 0;padding:2px 4px;"
             "background:#f6f6f6;border-left:3px solid #c66;font:12px/1.35 ui-monospace,monospace;"
             "white-space:pre-wrap;overflow-wrap:anywhere}.cause{color:#444}</style>"
             "</head><body>",
             f"<h1>Class report: {len(students)} submissions, {len(exercises)} exercises</h1>",
             f"<p class='small'>{'Fresh cases drawn with --seed ' + e(str(seed)) if seed is not None else 'The checkers fixed cases (no --seed)'}. "
             "Each submission ran in a process of its own; the checkers ran in the grader. "
             "results.csv and totals.csv hold the same numbers.</p>",
             "<h2>Each exercise: how many solved it</h2><table><tr><th>notebook</th><th>exercise</th><th>points</th>"
             "<th>solved</th><th></th><th>wrong</th><th>not done</th><th>what the wrong ones got wrong most often</th></tr>"]
    for key, name in exercises:
        n_ok = sum(solved[s].get(name, False) for s in students)
        missing = sum(not solved[s].get(name) and not_done(diag[s].get(name, "")) for s in students)
        rate = n_ok / len(students) if students else 0
        wrong = Counter(mistake(diag[s][name]) for s in students
                        if not solved[s].get(name) and diag[s].get(name) and not not_done(diag[s][name]))
        common = wrong.most_common(1)
        top = f"{mistake_html(common[0][0])}<span class='small'>({common[0][1]}&times;)</span>" if common else ""
        parts.append(f"<tr><td>{key}</td><td>{e(name)}</td><td class='num'>{points.get(name, 0)}</td>"
                     f"<td class='num'>{n_ok}/{len(students)}</td><td><span class='bar' style='width:{rate * 120:.0f}px'>"
                     f"</span></td><td class='num'>{sum(wrong.values()) or ''}</td><td class='num'>{missing or ''}</td>"
                     f"<td class='mistake'>{top}</td></tr>")
    parts.append("</table><h2>What the class got wrong most often</h2><p class='small'>The checkers' diagnoses, "
                 "counted over every student and exercise (not done yet and not handed in left out): the lesson "
                 "plan for the next session.</p><table><tr><th>times</th><th>exercise</th><th>diagnosis</th></tr>")
    counted = Counter()
    for s in students:
        for _, n, ok, d in results[s]["rows"]:
            if not ok and d and not not_done(d):
                counted[(n, mistake(d))] += 1
    for (n, key), times in counted.most_common(12):
        parts.append(f"<tr><td class='num'>{times}</td><td>{e(n)}</td><td class='mistake'>{mistake_html(key)}</td></tr>")
    parts.append("</table><h2>Each student</h2><table><tr><th>student</th><th>points</th>")
    parts += [f"<td class='rot'>{e(n)}</td>" for _, n in exercises]
    parts.append("</tr>")
    for s in students:
        total = sum(points.get(n, 0) for _, n in exercises if solved[s].get(n))
        parts.append(f"<tr><td>{e(s)}</td><td class='num'>{total}/{maximum}</td>")
        for _, n in exercises:
            d = diag[s].get(n, "")
            if solved[s].get(n):
                parts.append("<td class='ok' title='solved'>&#10003;</td>")
            elif not_done(d):
                parts.append(f"<td class='none' title='{e(mistake_text(mistake(d)))}'>&middot;</td>")
            else:
                parts.append(f"<td class='no' title='{e(mistake_text(mistake(d))[:600])}'>&#10007;</td>")
        parts.append("</tr>")
    parts.append("</table><p class='small'>&#10003; solved, &#10007; wrong (hover for the diagnosis), &middot; not "
                 "done or not handed in.</p></body></html>\n")
    return "".join(parts)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--judge"]:
        return judge_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python3 dev.py grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=Path, help="a folder with one folder or .zip per student")
    parser.add_argument("--out", type=Path, required=True, help="where results.csv, totals.csv, report.html go")
    parser.add_argument("--seed", type=int, help="draw every checker's test numbers anew from this seed")
    parser.add_argument("--points", type=Path, help="a points table (exercise,points), as DIR/points.csv")
    parser.add_argument("--jobs", type=int, default=max(1, min(os.cpu_count() or 1, 4)),
                        help="submissions graded at once (default: one per core, at most 4)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per call of a student's function")
    parser.add_argument("--memory", type=int, default=2048, help="MB of memory per student's process")
    parser.add_argument("--keep-scratch", action="store_true", help="keep DIR/scratch/ (the copies that ran)")
    args = parser.parse_args(argv)
    if os.name == "nt":
        sys.exit("The grader needs a POSIX system (Linux, macOS) for its limits: on Windows, run it in WSL or "
                 "in a container (the teacher's guide shows how).")
    items = submissions(args.submissions)
    if not items:
        sys.exit(f"{args.submissions}: no submission folders or .zip files in it")
    points = read_points(args.points)
    if args.seed is not None and args.seed < 0:
        sys.exit("--seed: a number from 0 up")
    if args.seed is not None:
        os.environ["NN_CHECK_SEED"] = str(args.seed)
    scratch_root = args.out.resolve() / "scratch"
    scratch_root.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = {}
    total_timeout = 120 + 40 * args.timeout
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {student: pool.submit(grade_one, student, path, scratch_root, args.timeout, args.memory,
                                        total_timeout) for student, path in items}
        for i, (student, future) in enumerate(futures.items(), 1):
            results[student] = future.result()
            n_ok = sum(ok for *_, ok, _ in results[student]["rows"])
            print(f"[{i}/{len(items)}] {student}: {n_ok} of {len(results[student]['rows'])} solved", flush=True)
    if not args.keep_scratch:
        shutil.rmtree(scratch_root, ignore_errors=True)
    write_outputs(args.out, results, points, args.seed)
    print(f"{len(items)} submissions graded in {time.perf_counter() - start:.0f} s: {args.out / 'results.csv'}, "
          f"{args.out / 'totals.csv'}, {args.out / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
