"""The process that holds one student's code while ``tools/grade.py`` grades it (never run by hand).

    python -I tools/grade_host.py TOOLS_DIR READ_FD WRITE_FD

It runs in the submission's scratch folder, with the time, memory and file-size limits the grader set
before starting it. It loads ``my_network.py`` block by block, then answers the grader's calls: "run the
student's ``my_softmax`` on these arrays" (and calls the grader's functions back when the student's code
calls them). It computes no verdict and sends no verdict: the grader runs the checker on what comes back.

Before the student's code runs, an audit hook (PEP 578) refuses, for the rest of the process's life,
writing, deleting or renaming files outside the scratch folder, starting processes, signalling other
processes, sockets and ctypes. Audit hooks are not a sandbox: code that finds a way around them can do
what the grader's user can do. The teacher's guide says so, and how to grade in a container.
"""

from __future__ import annotations

import io
import linecache
import os
import re
import sys
import types

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
PATH_EVENTS = {"os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1), "os.mkdir": (0,), "os.chmod": (0,),
               "os.chown": (0,), "os.link": (0, 1), "os.symlink": (1,), "os.truncate": (0,), "os.utime": (0,),
               "os.setxattr": (0,), "os.removexattr": (0,), "os.chflags": (0,), "os.lchflags": (0,),
               "shutil.rmtree": (0,), "shutil.copyfile": (1,), "shutil.copytree": (1,), "shutil.move": (0, 1),
               "shutil.chown": (0,), "os.chdir": (0,)}
DENIED = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
          "os.kill", "os.killpg", "signal.pthread_kill", "pty.spawn", "ctypes.", "socket.", "resource.setrlimit",
          "resource.prlimit", "sys.settrace", "sys.setprofile", "os.startfile", "webbrowser.open", "winreg.")


class CappedOutput(io.TextIOBase):
    """sys.stdout and sys.stderr of the student's code: keeps the first 20,000 characters, counts the rest."""

    def __init__(self, limit=20_000):
        self.kept, self.count, self.limit = [], 0, limit

    def write(self, text):
        text = str(text)
        if self.count < self.limit:
            self.kept.append(text[: self.limit - self.count])
        self.count += len(text)
        return len(text)

    def writable(self):
        return True


def install_guard(scratch: str):
    root = os.path.realpath(scratch)

    def inside(path) -> bool:
        if isinstance(path, int):
            return True                       # an open file descriptor: it was allowed when it was opened
        try:
            real = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return real == root or real.startswith(root + os.sep)

    def guard(event, args):
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, 0))[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS)
            if writing and path is not None and not inside(path):
                raise PermissionError(f"the grader lets a submission write only inside its own folder, not to {path}")
        elif event in PATH_EVENTS:
            for i in PATH_EVENTS[event]:
                if i < len(args) and args[i] is not None and not inside(args[i]):
                    raise PermissionError(f"the grader lets a submission change files only inside its own "
                                          f"folder ({event} {args[i]})")
        elif event.startswith(DENIED):
            raise PermissionError(f"{event} is not allowed while grading")

    sys.addaudithook(guard)


#: A block of my_network.py: "# ==== softmax: my_softmax ====" up to the next "# ==== " line.
BLOCK = re.compile(r"^# ==== (\w+): (\w+) ====\n(.*?)(?=^# ==== )", re.S | re.M)


def load(path: str, module: types.ModuleType) -> dict:
    """Run my_network.py in ``module``: its blocks one by one (a broken block costs only its exercise), or
    the whole file when it has no blocks. Returns {exercise or "": what went wrong}."""
    import grade_wire
    text = open(path, encoding="utf-8", errors="replace").read()
    linecache.cache[path] = (len(text), None, text.splitlines(True), path)
    problems = {}
    blocks = list(BLOCK.finditer(text + "# ==== "))
    if not blocks:
        pieces = [("", text, 1)]
    else:
        head = text[: blocks[0].start()]
        pieces = [("", head, 1)] + [(m.group(1), m.group(3), text.count("\n", 0, m.start(3)) + 1) for m in blocks]
    for name, source, first_line in pieces:
        try:
            code = compile("\n" * (first_line - 1) + source, path, "exec")
            exec(code, module.__dict__)
        except BaseException as err:         # noqa: BLE001 - a SystemExit at import time too
            described = grade_wire.describe_exception(err, path)
            if isinstance(err, SyntaxError):
                described["line"] = f"line {err.lineno}: {(err.text or '').strip()}"
                described["message"] = err.msg
            problems[name] = (f"{described['type']}: {described['message']}"
                              + (f" ({described['line']})" if described["line"] else ""))
    return problems


def main(argv):
    tools, read_fd, write_fd = argv[0], int(argv[1]), int(argv[2])
    sys.path.insert(0, tools)
    import numpy as np  # noqa: F401 - loaded before the guard, as the student's code expects it

    import grade_wire
    import nn_helpers as nn
    import nn_helpers.autograd  # noqa: F401
    from nn_helpers import check  # noqa: F401 - a student who patches it patches this process only

    channel = grade_wire.Channel(read_fd, write_fd)
    codec = grade_wire.Codec("c")
    hello = channel.receive()                       # {"op": "load", "file": ..., "functions": {...}, "forbidden": ...}
    scratch = os.getcwd()
    path = os.path.join(scratch, str(hello["file"]))
    forbidden = {k: set(v) for k, v in hello.get("forbidden", {}).items()}
    state = {"exercise": None, "used": set()}

    # Tripwires: the package's own function of an exercise, called while that exercise's function runs.
    names = set().union(*forbidden.values()) if forbidden else set()
    wrapped = {}
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("nn_helpers") or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, types.FunctionType) and value.__name__ in names and attr == value.__name__:
                if id(value) not in wrapped:
                    def tripwire(*args, __original=value, **kwargs):
                        if state["exercise"] and __original.__name__ in forbidden.get(state["exercise"], ()):
                            state["used"].add(f"{__original.__module__}.{__original.__name__}")
                        return __original(*args, **kwargs)
                    tripwire.__name__, tripwire.__qualname__ = value.__name__, value.__qualname__
                    tripwire.__module__, tripwire.__doc__ = value.__module__, value.__doc__
                    wrapped[id(value)] = tripwire
                setattr(module, attr, wrapped[id(value)])

    out = CappedOutput()
    sys.stdout = sys.stderr = out
    sys.stdin = io.StringIO("")
    install_guard(scratch)
    channel.send({"op": "ready"})                   # started: from here on, the student's code runs
    module = types.ModuleType("my_network")
    module.__file__ = path
    # what the notebooks' namespace offers the kept pieces (notebook 12's classes are not kept in the file)
    exec("import numpy as np\nimport nn_helpers as nn\nfrom nn_helpers.autograd import Value, Tensor",
         module.__dict__)
    sys.modules["my_network"] = module
    problems = load(path, module)
    found = {}
    for exercise, function in hello["functions"].items():
        fn = module.__dict__.get(function)
        if callable(fn):
            package = getattr(fn, "__module__", "") or ""
            found[exercise] = {"found": True, "package": package.startswith("nn_helpers")}
        else:
            found[exercise] = {"found": False}
    channel.send({"op": "loaded", "problems": problems, "functions": found, "printed": out.count})

    def run_local(message, args, kwargs):
        if "fid" in message:
            fn = codec.mine.get(str(message["fid"]))
            if not callable(fn):
                raise grade_wire.WireError("a call of an unknown function")
            return fn(*args, **kwargs)
        exercise = str(message["exercise"])
        fn = module.__dict__[hello["functions"][exercise]]
        inject = message.get("inject") or {}
        if inject:        # the checker's own pieces (train_epoch: forward, backward, ...) under their names
            pieces = {name: codec.unpack(value) for name, value in inject.items()}
            fn = types.FunctionType(fn.__code__, {**fn.__globals__, **pieces}, fn.__name__, fn.__defaults__,
                                    fn.__closure__)
        state["exercise"], state["used"] = exercise, set()
        try:
            return fn(*args, **kwargs)
        finally:
            state["exercise"] = None

    peer = grade_wire.Peer(channel, codec, run_local)
    peer.student_file = path
    peer.extra_reply = lambda: {"used": sorted(state["used"]), "printed": out.count}
    while True:
        message = channel.receive()
        if message.get("op") == "bye":
            return
        if message.get("op") == "call":
            if message.get("fresh"):      # a new exercise: the grader forgets everything too, now
                codec.forget_all()
            elif "exercise" in message:   # a new call of an exercise's function: the grader forgets too, now
                codec.forget_values()     # (a call of a closure returned earlier refers to values of its call)
            peer.answer(message)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except BaseException:                 # a broken protocol: the grader reports the process as lost
        if os.environ.get("GRADE_DEBUG"):
            import traceback
            traceback.print_exc(file=sys.__stderr__)
        os._exit(1)
    os._exit(0)              # at once: a thread the student's code started must not keep the process alive
