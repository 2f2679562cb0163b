"""Browser tests: the panels in a real browser (headless Debian Chromium driven by Playwright),
served by Voila (the playground app) and by JupyterLab (notebooks run from a clean copy).

Skipped when Chromium or Playwright is missing, unless NN_REQUIRE_BROWSER=1 (CI sets it): then they
fail. Chromium comes from apt (`apt-get install chromium chromium-driver`), never `playwright install`.
A failing test leaves a screenshot of its page in output/browser-screenshots/.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from browser_env import CHROMIUM, CHROMIUM_ARGS, ROOT, SCREENSHOTS, skip_or_fail_without_browser

NOTEBOOKS = ROOT / "notebooks"
MODEL = ROOT / "output" / "model.npz"
CNN = ROOT / "output" / "cnn_small.npz"


@pytest.fixture(scope="session")
def browser():
    skip_or_fail_without_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Save a screenshot of the test's page when the test fails."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for name in ("voila_page", "lab_page", "playground_in_lab"):
            page = item.funcargs.get(name)
            if page is not None:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                path = SCREENSHOTS / f"FAILED-{item.name}.png"
                try:
                    page.screenshot(path=path, full_page=True)
                    report.sections.append(("screenshot", f"saved to {path.relative_to(ROOT)}"))
                except Exception as error:  # a crashed page: the failure itself says more
                    report.sections.append(("screenshot", f"could not be saved: {error}"))


@pytest.fixture(scope="session")
def model_file(browser):
    """The notebooks load ../output/model.npz; train it once here (seconds) if it is missing, as
    notebook 07 does (notebook 06's final recipe, with the same metadata)."""
    from nn_helpers import recipes

    recipes.final_model(MODEL)
    return MODEL


@pytest.fixture(scope="session")
def cnn_file(browser):
    """The playground loads ../output/cnn_small.npz (notebook 09's CNN): train it once here if it is missing,
    rather than in every server's run of the playground (3-4 CPU-s each)."""
    from nn_helpers import recipes

    recipes.small_cnn(CNN)
    return CNN


#: Kernels of the test servers use one BLAS thread: on a busy CI machine, small matrix products run
#: many times faster than with threads that wait for each other (and the results are the same).
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process started for the tests, stopped by its PID."""

    def __init__(self, cmd: list, url: str, log: Path, cwd: Path, env: dict | None = None):
        self.url, self.log = url, log
        self.process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log.open("w", encoding="utf-8"), stderr=subprocess.STDOUT)

    def wait_ready(self, path: str | None, timeout: float = 60) -> None:
        """Wait until ``url + path`` answers 200 (or, with path None, until the port accepts connections)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with code {self.process.returncode}:\n{self.log.read_text(encoding='utf-8', errors='replace')}")
            try:
                if path is None:
                    host, port = self.url.removeprefix("http://").split(":")
                    socket.create_connection((host, int(port)), timeout=5).close()
                    return
                with urllib.request.urlopen(self.url + path, timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)  # polling a port that is not open yet
        raise TimeoutError(f"server not ready after {timeout} s:\n{self.log.read_text(encoding='utf-8', errors='replace')}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def voila(browser, model_file, cnn_file, tmp_path_factory):
    """`voila notebooks/playground.ipynb` on a free port; yields its URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    server = Server([sys.executable, "-m", "voila", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
                     "--show_tracebacks=True", "notebooks/playground.ipynb"],
                    f"http://127.0.0.1:{port}", log, cwd=ROOT, env={**os.environ, **ONE_THREAD})
    try:
        server.wait_ready(None, timeout=60)  # GET / would already run the notebook
    except Exception:
        server.stop()
        raise
    yield server.url
    server.stop()


def clean_copy(src: Path, dst: Path) -> None:
    """Copy a notebook without its outputs and widget state: a stale output must not pass a test."""
    nb = json.loads(src.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb["metadata"].pop("widgets", None)
    dst.write_text(json.dumps(nb, indent=1), encoding="utf-8")


LAB_SETTINGS = {
    # no news or update toast over the widgets
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    # draw every cell, also those outside the viewport; start the kernel without asking
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none",
                                                                   "autoStartDefaultKernel": True},
}


@pytest.fixture(scope="module")
def lab(browser, model_file, cnn_file, tmp_path_factory):
    """JupyterLab serving a clean copy of the notebooks (and the models); yields (url, token)."""
    root = tmp_path_factory.mktemp("lab")
    (root / "notebooks").mkdir()
    clean_copy(NOTEBOOKS / "playground.ipynb", root / "notebooks" / "playground.ipynb")
    (root / "output").mkdir()
    for model in (model_file, cnn_file):
        shutil.copy(model, root / "output" / model.name)
    settings = root / "settings"
    for name, value in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value), encoding="utf-8")
    env = {**os.environ, **ONE_THREAD, "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces")}
    port, token = free_port(), "nn-browser-test"
    server = Server([sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                     "--allow-root", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
                     "--LabApp.news_url=None"],
                    f"http://127.0.0.1:{port}", root / "lab.log", cwd=root, env=env)
    try:
        server.wait_ready(f"/api/status?token={token}", timeout=60)
    except Exception:
        server.stop()
        raise
    yield server.url, token
    server.stop()
