"""The JupyterLite site (python3 dev.py lite) in a real browser, as a learner with no Python opens it.

The site in build/lite/ is served by Python's http.server on 127.0.0.1 and a free port, and opened in
Chromium with every other host fenced off three ways (a host resolver that resolves nothing but 127.0.0.1,
a proxy that goes nowhere, and a route that aborts and records any request elsewhere): the Pyodide kernel
starts, notebooks run every cell, a slider redraws its figure, an exercise solved in the browser is kept
across a reload, and nothing asks another host or logs an error.

These tests take minutes (each page starts its own Pyodide kernel), so they run only when asked:

    python3 dev.py lite                                          # build the site first
    NN_LITE_TESTS=1 .venv/bin/python -m pytest tests/browser/test_lite.py -s   # -s prints the timings

CI runs them (.ci/run). NN_LITE_SITE=DIR tests another built site. Each run-all time is printed and
written to output/lite-timings.json; none is asserted.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from browser_env import CHROMIUM, CHROMIUM_ARGS, ROOT, SCREENSHOTS, skip_or_fail_without_browser

if os.environ.get("NN_LITE_TESTS") != "1":
    pytest.skip("the JupyterLite tests take minutes: python3 dev.py lite, then NN_LITE_TESTS=1 pytest "
                "tests/browser/test_lite.py (CI runs them)", allow_module_level=True)
skip_or_fail_without_browser(module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

SITE = Path(os.environ.get("NN_LITE_SITE") or ROOT / "build" / "lite")
TIMINGS = Path(os.environ.get("NN_LITE_TIMINGS") or ROOT / "output" / "lite-timings.json")
#: The notebooks run top to bottom here (the issue's "01-05 and the playground"), the longest first, so that
#: the short ones fill the gaps; NN_LITE_NOTEBOOKS="06 07" runs others.
RUN_ALL = os.environ.get("NN_LITE_NOTEBOOKS", "05 playground 02 04 01 03").split()
#: How many notebooks run at once, each in a page of its own (NN_LITE_PAGES; 2 on a 2-core machine).
PAGES = int(os.environ.get("NN_LITE_PAGES", "2"))
#: A notebook's run in Pyodide (one thread, no BLAS threads) may take minutes under load: 06 took 696 s at
#: load 14 (NN_LITE_TIMEOUT, seconds, gives a busier machine more).
RUN_TIMEOUT_S = float(os.environ.get("NN_LITE_TIMEOUT", "1200"))
#: Chromium resolves no host but 127.0.0.1 and sends everything else to a proxy that is not there;
#: this covers workers and the service worker too, which the page's route does not see.
FENCES = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
          "--proxy-server=http://127.0.0.1:9"]


class SiteHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".json": "application/json", ".js": "application/javascript", ".mjs": "application/javascript"}

    def log_message(self, format, *args):  # no line per request in the test's output
        pass


@pytest.fixture(scope="module")
def site_url():
    if not (SITE / "lab" / "index.html").is_file():
        pytest.fail(f"{SITE} holds no JupyterLite site: build it with python3 dev.py lite", pytrace=False)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SiteHandler, directory=str(SITE)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def fenced_browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + FENCES)
        yield browser
        browser.close()


class Learner:
    """A browser context of its own (its own storage: a fresh learner), which aborts and records every
    request to another host and records console errors and failed requests."""

    def __init__(self, browser, base: str):
        self.base, self.foreign, self.failed, self.errors = base, [], [], []
        # each request's page (a count of the main frame's navigations); reload() left the pages up to ``left``
        self.issued, self.pages, self.left = {}, 0, -1
        self.context = browser.new_context(viewport={"width": 1300, "height": 1000})
        self.context.route("**/*", self.route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(120_000)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"console: {m.text} ({m.location.get('url', '')})"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("framenavigated", lambda frame: self.navigated(frame))
        self.page.on("request", lambda r: self.issued.__setitem__(r, self.pages))
        self.page.on("requestfailed", lambda r: self.request_failed(r))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.url}: HTTP {r.status}"))

    def navigated(self, frame) -> None:
        if frame == self.page.main_frame:
            self.pages += 1

    def request_failed(self, request) -> None:
        if request.failure == "net::ERR_ABORTED" and self.issued.get(request, self.pages) <= self.left:
            return                       # a request of the page reload() left, cancelled: not the site's failure
        if request.url not in self.foreign:
            self.failed.append(f"{request.url}: {request.failure}")

    def reload(self) -> None:
        """Reload the page. The requests of the page it leaves, under way or started while it unloads, are
        cancelled (net::ERR_ABORTED; seen in CI, the app fetching the notebook at that moment): the reload's
        doing, so not counted as failed. Every other failed request still is."""
        self.left = self.pages
        self.page.reload()

    def route(self, route):
        url = route.request.url
        if url.startswith(self.base) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()

    def open_notebook(self, notebook: str) -> float:
        """Open a notebook and wait for its kernel; returns the seconds from the page load to Idle."""
        start = time.monotonic()
        self.page.goto(f"{self.base}/lab/index.html?path={notebook}")
        expect(self.page.locator(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator[data-status='idle']")
               ).to_be_visible(timeout=180_000)
        expect(self.page.locator(".jp-StatusBar-Widget", has_text="Idle").first).to_be_visible(timeout=180_000)
        return time.monotonic() - start

    def start_run_all(self, name: str) -> None:
        """Run all cells from the Run menu (the clock starts here: ``self.started``)."""
        self.name, self.started = name, time.monotonic()
        prompts = self.page.locator(".jp-CodeCell .jp-InputPrompt")
        for _ in range(3):  # a click while the kernel is still connecting runs nothing: try again
            self.page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            self.page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
            try:
                expect(prompts.first).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=15_000)
                return
            except AssertionError:
                continue
        raise AssertionError(f"Run All did not start {name}")

    def finished(self) -> float | None:
        """The seconds Run All took once every code cell ran; None while cells are running. Raises when a
        cell failed, or after RUN_TIMEOUT_S."""
        state = self.page.evaluate("""() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim());
            const errors = [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"], .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                .map(e => e.textContent).filter(t => /Error|Traceback/.test(t));
            return {busy: prompts.filter(p => p === '[*]:').length, done: prompts.filter(p => /^\\[\\d+\\]:$/.test(p)).length,
                    cells: prompts.length, errors: errors.map(t => t.slice(0, 2000))};
        }""")
        if state["errors"]:
            raise AssertionError(f"{self.name}: a cell failed in the browser:\n" + "\n---\n".join(state["errors"]))
        if state["done"] == state["cells"]:
            return time.monotonic() - self.started
        if time.monotonic() > self.started + RUN_TIMEOUT_S:
            raise AssertionError(f"{self.name}: not finished after {RUN_TIMEOUT_S:.0f} s ({state})")
        return None

    def run_all(self, name: str) -> float:
        """Run all cells and wait until every code cell ran (or one failed); returns seconds."""
        self.start_run_all(name)
        while (seconds := self.finished()) is None:
            time.sleep(1)
        return seconds

    def cell(self, source_start: str):
        """The cell whose source starts with ``source_start``."""
        return self.page.locator(".jp-Cell").filter(
            has=self.page.locator(".jp-InputArea-editor", has_text=source_start)).first

    def run_cell(self, cell) -> None:
        cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Shift+Enter")

    def assert_clean(self, what: str) -> None:
        assert self.foreign == [], f"{what} asked other hosts: {self.foreign}"
        assert self.failed == [], f"{what}: failed requests: {self.failed}"
        assert self.errors == [], f"{what}: console errors: {self.errors}"

    def close(self):
        self.context.close()


@pytest.fixture
def learner(fenced_browser, site_url, request):
    learner = Learner(fenced_browser, site_url)
    failed_before = request.session.testsfailed
    yield learner
    if request.session.testsfailed > failed_before:  # this test failed: keep a picture of its page
        screenshot(learner, f"FAILED-{request.node.name}.png")
    learner.close()


def screenshot(learner, name: str) -> None:
    """A picture of the learner's whole page in SCREENSHOTS, for a failure (a crashed page has none)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        learner.page.screenshot(path=SCREENSHOTS / name, full_page=True)
    except Exception as error:  # a crashed page: the failure itself says more
        print(f"no screenshot: {error}")


def record(notebook: str, **seconds) -> None:
    """Print the timings and keep them in output/lite-timings.json (for the README's and the report's table)."""
    load = os.getloadavg()[0]  # other work on the machine: the times grow with it
    print(f"\n[lite] {notebook}: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()) + f" (load {load:.1f})",
          flush=True)
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    table = json.loads(TIMINGS.read_text(encoding="utf-8")) if TIMINGS.exists() else {}
    table[notebook] = {**{k: round(v, 1) for k, v in seconds.items()}, "load": round(load, 1), "pages": PAGES}
    TIMINGS.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def notebook_name(key: str) -> str:
    names = [p.name for p in sorted((SITE / "files").glob("*.ipynb")) if p.name.startswith(key)]
    assert len(names) == 1, f"{key!r}: expected one notebook in the site, found {names}"
    return names[0]


def test_the_site_holds_the_series(site_url):
    """Every notebook of the series is in the site, with the install cell first, and the data is there."""
    for src in sorted((ROOT / "notebooks").glob("*.ipynb")):
        copy = json.loads((SITE / "files" / src.name).read_text(encoding="utf-8"))
        assert "%pip install" in "".join(copy["cells"][0]["source"]), f"{src.name}: no install cell first"
        assert all(not c.get("outputs") for c in copy["cells"] if c["cell_type"] == "code"), src.name
    assert len(list((SITE / "files" / "data" / "mnist").glob("*.gz"))) == 4
    assert list((SITE / "pypi").glob("nn_helpers-*.whl")), "the project's wheel is missing"
    # 06's network and the small CNN, which 07-09 and the playground load instead of training them first
    assert {p.name for p in (SITE / "files" / "output").glob("*.npz")} == {"model.npz", "cnn_small.npz"}


def test_notebooks_run_in_the_browser(fenced_browser, site_url, request):
    """Each notebook of RUN_ALL opened in a fresh learner's page and run top to bottom, PAGES pages at a time
    (each page's Pyodide kernel is one thread: two pages use two cores); then its slider, if it has one in
    SLIDERS, moves and its figure changes. Every notebook runs even when one fails; the failures are reported
    together at the end."""
    queue, running, failures = [notebook_name(key) for key in RUN_ALL], [], []
    keys = {notebook_name(key): key for key in RUN_ALL}

    def finish(learner, error=None):
        running.remove(learner)
        try:
            if error is None:
                if keys[learner.name] in SLIDERS:
                    SLIDERS[keys[learner.name]](learner)
                learner.assert_clean(learner.name)
        except AssertionError as raised:
            error = raised
        if error is not None:
            failures.append(f"{learner.name}: {error}")
            print(f"\n[lite] {learner.name} FAILED: {str(error)[:3000]}", flush=True)
            screenshot(learner, f"FAILED-lite-{learner.name}.png")
        learner.close()

    while queue or running:
        while queue and len(running) < PAGES:
            learner = Learner(fenced_browser, site_url)
            name = queue.pop(0)
            learner.name = name
            running.append(learner)
            try:
                learner.kernel_start = learner.open_notebook(name)
                learner.start_run_all(name)
            except AssertionError as error:
                finish(learner, error)
        for learner in list(running):
            try:
                seconds = learner.finished()
            except AssertionError as error:
                finish(learner, error)
                continue
            if seconds is not None:
                record(learner.name, kernel_start=learner.kernel_start, run_all=seconds)
                finish(learner)
        time.sleep(1)
    assert not failures, "\n\n".join(failures)


def digit_browser_slider(learner):
    """01's digit browser: a new index typed into its slider shows that image and redraws."""
    from browser_helpers import expect_new_figure, figure_src, panel, readout, type_into_slider

    box = panel(learner.page, "digit-browser")
    expect(readout(box)).to_contain_text(re.compile(r"images\[\d+\] shows a \d"))
    before, src = readout(box).inner_text(), figure_src(box)
    type_into_slider(box, "index", 1)
    expect(readout(box)).not_to_have_text(before, timeout=60_000)
    expect(readout(box)).to_contain_text("images[1] shows a")
    expect_new_figure(box, src)


def softmax_explorer_slider(learner):
    """The playground's softmax explorer: typing a temperature into its slider redraws the figure."""
    from browser_helpers import expect_new_figure, figure_src, panel, readout, type_into_slider

    box = panel(learner.page, "softmax-explorer")
    expect(readout(box)).to_have_text("probabilities: 0.659, 0.242, 0.099")
    src = figure_src(box)
    type_into_slider(box, "temperature", 0.1)
    expect(readout(box)).to_have_text("probabilities: 1.000, 0.000, 0.000", timeout=60_000)
    expect_new_figure(box, src)


def timed_move(box, action, text: str) -> float:
    """Do ``action`` on a panel; wait until its readout contains ``text`` and its figure changed; seconds."""
    from browser_helpers import expect_new_figure, figure_src, readout

    src, start = figure_src(box), time.monotonic()
    action()
    expect(readout(box)).to_contain_text(text, timeout=180_000)
    expect_new_figure(box, src)
    return time.monotonic() - start


def drawing_pad_stroke(learner) -> dict:
    """The notebook's drawing pad (ipycanvas; empty, the MLP reading): a vertical stroke drawn with the mouse
    is read as a 1 by the MLP, and again by the CNN once the toggle is switched; seconds per move."""
    from browser_helpers import draw_stroke, panel, readout

    page, moves = learner.page, {}
    pad = panel(page, "drawing-pad")
    expect(readout(pad)).to_have_text("Draw a digit in the box with the mouse; the MLP reads it.")
    moves["drawing pad"] = timed_move(pad, lambda: draw_stroke(page, pad.locator("canvas").first,
                                                               [(0.5, 0.15), (0.5, 0.85)]), "The MLP reads")
    expect(pad.locator(".nn-prediction")).to_have_text("1")
    moves["pad, CNN"] = timed_move(pad, lambda: pad.get_by_role("button", name="CNN").click(), "The CNN reads")
    expect(pad.locator(".nn-prediction")).to_have_text("1")
    return moves


def draw_a_digit_pad(learner):
    """Notebook 09's own pad (its section 6, left empty for the learner): a stroke drawn there is read."""
    record("09 drawing pad (seconds per move)", **drawing_pad_stroke(learner))


def playground_panels(learner):
    """The playground's panels in the browser: the softmax explorer's slider, a stroke drawn on the drawing
    pad (ipycanvas, as in notebook 09) read by the MLP and the CNN, a move of the convolution panel and one
    of the deep network panel (notebook 13's, which retrains its network): each redraws its figure, and the
    seconds per move are printed and recorded."""
    from browser_helpers import panel, readout, type_into_slider

    page = learner.page
    softmax_explorer_slider(learner)
    moves = drawing_pad_stroke(learner)
    conv = panel(page, "convolution-explorer")
    expect(readout(conv)).to_contain_text("a 26x26 feature map")
    moves["convolution stride"] = timed_move(conv, lambda: type_into_slider(conv, "stride S", 2),
                                             "a 13x13 feature map")
    deep = panel(page, "deep-explorer")
    expect(readout(deep)).to_contain_text("20 hidden layers (plain, no normalization)")
    moves["deep network, residual"] = timed_move(deep, lambda: deep.get_by_text("residual connections").click(),
                                                 "(residual, no normalization)")
    record("playground panels (seconds per move)", **moves)


#: After a notebook ran: a slider moved there (or a stroke drawn), and its figure must change. 09 runs only when
#: chosen (NN_LITE_NOTEBOOKS="09"), not in CI's default run.
SLIDERS = {"01": digit_browser_slider, "09": draw_a_digit_pad, "playground": playground_panels}


SOLUTION = '''def my_parse_idx(raw):
ndim = raw[3]
shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)
'''  # typed into the editor, which indents the body itself


def test_an_exercise_solved_in_the_browser_is_kept_after_a_reload(learner):
    """Notebook 01's first exercise: solved and checked ("correct!"), then the page reloaded (a new
    kernel): the notebook still holds the solution and check.progress counts the exercise as solved,
    from my_network.py in the browser's storage."""
    name = notebook_name("01")
    start = learner.open_notebook(name)
    page = learner.page
    for first_line in ("# In the browser", "import numpy as np"):
        learner.run_cell(learner.cell(first_line))
    skeleton = learner.cell("def my_parse_idx(raw):")
    skeleton.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+a")
    page.keyboard.type(SOLUTION)
    learner.run_cell(skeleton)
    check = learner.cell("ok = check.parse_idx(my_parse_idx)")
    learner.run_cell(check)
    expect(check.locator(".jp-OutputArea-output")).to_contain_text("correct!", timeout=120_000)
    page.keyboard.press("Control+s")
    time.sleep(1)

    learner.reload()  # the app drops ?path= from the address once it opened the notebook: open it again
    learner.open_notebook(name)
    expect(page.locator(".jp-DirListing-item", has_text="my_network.py")).to_be_visible()
    expect(learner.cell("def my_parse_idx(raw):").locator(".jp-InputArea-editor")).to_contain_text("np.frombuffer")
    for first_line in ("# In the browser", "import numpy as np"):
        learner.run_cell(learner.cell(first_line))
    progress = learner.cell('check.progress("01")')
    learner.run_cell(progress)
    expect(progress.locator(".jp-OutputArea-output")).to_contain_text("1 of 3 exercises solved", timeout=120_000)
    expect(progress.locator(".jp-OutputArea-output")).to_contain_text("parse_idx")
    record("exercise (01)", kernel_start=start)
    learner.assert_clean("the exercise")
