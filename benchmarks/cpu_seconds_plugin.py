"""A pytest plugin that adds up the CPU seconds of each test file; benchmarks/test_time.py loads it
(``-p cpu_seconds_plugin``, with benchmarks/ on PYTHONPATH).

A test's CPU seconds are the user + sys time, during its set-up, call and tear-down, of the pytest process
and of the children it waited for in that time: the notebook kernels nbval and nbclient start, the browser
(through Playwright's driver), a Voila server a fixture stops. A busy machine stretches the wall time of a
test, much less its CPU time. Each worker of ``-n 2`` measures its own tests and sends the seconds with the
tear-down report; the main process prints one line per file at the end:

    cpu-s    12.34 tests/test_exercises.py
"""

import time

import pytest

try:
    import resource
except ImportError:  # Windows: the pytest process only
    resource = None

KEY = "cpu_s"


def cpu_now() -> float:
    own = time.process_time()
    if resource is None:
        return own
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + children.ru_utime + children.ru_stime


def _measure(item):
    start = cpu_now()
    yield
    item.user_properties.append((KEY, cpu_now() - start))


# One wrapper per phase: the tear-down report, made after the last, carries all three (xdist sends it over).
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield from _measure(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield from _measure(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield from _measure(item)


_per_file: dict = {}


def pytest_runtest_logreport(report):
    if report.when == "teardown":
        seconds = sum(value for key, value in report.user_properties if key == KEY)
        path = report.nodeid.split("::", 1)[0]
        _per_file[path] = _per_file.get(path, 0.0) + seconds


def pytest_terminal_summary(terminalreporter):
    if _per_file:
        terminalreporter.section("CPU seconds per file (benchmarks/cpu_seconds_plugin.py)")
        for path, seconds in sorted(_per_file.items(), key=lambda item: -item[1]):
            terminalreporter.write_line(f"cpu-s {seconds:8.2f} {path}")
