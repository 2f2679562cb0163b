"""The book (python3 dev.py book) in a real browser, as a reader opens it: served on 127.0.0.1, every page,
checked with axe-core in light and dark mode (0 serious or critical findings), at a desktop's and a phone's
width; the menus tapped on a phone and a tablet; the "Run in the browser" button of a build with a (fake)
JupyterLite site. axe-core is fetched once from the npm registry into build/ (book/audit.py).

The site is built here when build/book/ is missing or older than its sources (the notebooks, the README,
book/). Skipped when the book extra is not installed (pip install -e .[book]), unless NN_REQUIRE_BOOK=1
(CI's first run sets it): then a missing extra fails.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from browser_env import ROOT, SCREENSHOTS, skip_or_fail_without_browser

_spec = importlib.util.spec_from_file_location("book_audit", ROOT / "book" / "audit.py")
audit = importlib.util.module_from_spec(_spec)  # the measures the book's audit uses, and axe-core
_spec.loader.exec_module(audit)

skip_or_fail_without_browser(module_level=True)

BOOK_PACKAGES = ["sphinx", "myst_nb", "sphinx_book_theme", "sphinx-mathjax-offline"]
_missing = [name for name in BOOK_PACKAGES if importlib.util.find_spec(name) is None]
if _missing:
    _reason = f"the book extra is not installed ({', '.join(_missing)} missing): pip install -e .[book]"
    if os.environ.get("NN_REQUIRE_BOOK") == "1":
        pytest.fail(f"{_reason} (NN_REQUIRE_BOOK=1 requires the book test)", pytrace=False)
    pytest.skip(_reason, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

SITE = ROOT / "build" / "book"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: The tools beside the build that write nothing into the site: editing them does not make it stale.
TOOLS = {"audit.py", "alt_text.py"}
SOURCES = [*NOTEBOOKS, ROOT / "notebooks" / "NOTATION.md", ROOT / "README.md",
           *(p for p in (ROOT / "book").rglob("*") if p.is_file() and "__pycache__" not in p.parts
             and p.relative_to(ROOT / "book").as_posix() not in TOOLS)]
#: TeX that MathJax should have typeset: left in a page's text, it means the math was not rendered.
#: What a reader should not meet: the tests' marker, a checker's output before anything was solved.
LEFTOVERS = re.compile(r"NBVAL_IGNORE_OUTPUT|: not done yet\.|\b0 of \d+ exercises solved|The capstone needs \d+ more")
RAW_TEX = re.compile(r"\$\$|\\\(|\\\[|\\(frac|sum|mathbf|mathrm|partial|sigma|theta|begin|top|cdot|hat|log)\b")


def stale(site: Path) -> bool:
    index = site / "index.html"
    return not index.exists() or index.stat().st_mtime < max(p.stat().st_mtime for p in SOURCES)


@pytest.fixture(scope="module")
def site():
    """build/book/, built first if it is missing or older than its sources."""
    if stale(SITE):
        subprocess.run([sys.executable, str(ROOT / "book" / "build.py")], cwd=ROOT, check=True)
    assert not stale(SITE)
    return SITE


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # no line per request in the test's output
        pass


#: Where the test's server serves axe-core (audit.AXE), beside the site: a path no page links to.
AXE_PATH = "/__axe-core__/axe.min.js"


class BookHandler(QuietHandler):
    """The site, and axe-core at AXE_PATH (loaded from a URL, the browser compiles it once for all pages)."""

    def translate_path(self, path):
        return str(audit.AXE) if path == AXE_PATH else super().translate_path(path)


@pytest.fixture(scope="module")
def server(site):
    """The site served by Python's http.server on 127.0.0.1 and a free port, in a thread of this process."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(BookHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


#: Every request to another host goes to a proxy that is not there (and fails); 127.0.0.1 goes direct. A fence
#: rather than a route: a route turns the browser's cache off, and each page then fetched and compiled
#: MathJax, the theme's scripts and fonts again (a third more CPU for a page's load).
FENCE = {"server": "http://127.0.0.1:9", "bypass": "127.0.0.1"}


class Reader:
    """A browser context that fences off every other host and records what went wrong: each request to
    another host (which fails), each failed request, each console error."""

    def __init__(self, browser, base: str, viewport: dict, **options):
        self.base, self.foreign, self.failed, self.errors = base, [], [], []
        self.context = browser.new_context(viewport=viewport, proxy=FENCE, **options)
        self.context.on("request", self.request)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.page.on("console", lambda m: m.type == "error" and not self.favicon(m) and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: r.url not in self.foreign and self.failed.append(f"{r.url}: {r.failure}"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.url}: HTTP {r.status}"))

    @staticmethod
    def favicon(message) -> bool:
        """The browser's own request for /favicon.ico (the book has none; a route used to hide it), not the page's."""
        return message.location.get("url", "").endswith("/favicon.ico")

    def request(self, request):
        url = request.url
        if not (url.startswith(self.base) or url.startswith(("data:", "blob:", "about:"))):
            self.foreign.append(url)

    def visit(self, path: str):
        self.foreign.clear(), self.failed.clear(), self.errors.clear()
        self.page.goto(f"{self.base}/{path}", wait_until="load")
        if self.page.locator("script[src*='mathjax']").count():  # Sphinx loads MathJax on pages with math
            self.page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            self.page.evaluate("() => MathJax.startup.promise")  # typesetting done
        return self.page

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def axe():
    """axe-core's script (fetched with npm the first time); without npm, a skip, or a failure under NN_REQUIRE_BOOK=1."""
    try:
        return audit.axe_source()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        if os.environ.get("NN_REQUIRE_BOOK") == "1":
            pytest.fail(f"axe-core is needed: {error}", pytrace=False)
        pytest.skip(f"axe-core is not available: {error}")


def no_serious_axe_findings(page, path, axe_url=None):
    """Every rule of axe in light mode; in dark mode what a theme changes, the colours (axe's contrast check
    is its slowest rule: the others would add seconds per page to find the same). The contrast of one element
    of each look (audit.LOOKS_JS; test_one_element_of_each_look_stands_for_all)."""
    for theme, rules in (("light", None), ("dark", ["color-contrast"])):
        found = audit.serious(audit.run_axe(page, theme, rules, axe_url, one_of_each_look=True))
        assert found == [], f"{path} ({theme}): axe finds {found}"


@pytest.fixture(scope="module")
def reader(browser, server):
    reader = Reader(browser, server, {"width": 1280, "height": 900})
    yield reader
    reader.close()


def pages(site: Path) -> list:
    """The book's pages (not those of the JupyterLite site that `--lite` puts in lite/)."""
    return audit.pages(site)


@functools.lru_cache(maxsize=None)
def ids(file: Path) -> frozenset:
    return frozenset(re.findall(r'\bid="([^"]+)"', file.read_text(encoding="utf-8")))


def broken_links(site: Path, page_url: str, hrefs: list) -> list:
    """The links among ``hrefs`` (absolute URLs) that point into the site but to no file or no anchor."""
    broken = []
    for href in hrefs:
        parts = urllib.parse.urlsplit(href)
        if parts.scheme not in ("http", "https") or parts.netloc != urllib.parse.urlsplit(page_url).netloc:
            continue                                     # another host's page (a cited paper): not the site's
        target = site / urllib.parse.unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href}: no such file")
        elif parts.fragment and target.suffix == ".html" and urllib.parse.unquote(parts.fragment) not in ids(target):
            broken.append(f"{href}: no anchor #{parts.fragment} in {target.name}")
    return broken


def test_a_page_for_every_notebook_and_notation(site):
    names = set(pages(site))
    for notebook in NOTEBOOKS:
        assert f"notebooks/{notebook.stem}.html" in names, f"{notebook.name} has no page in the book"
    assert {"index.html", "notebooks/NOTATION.html", "search.html"} <= names
    index = (site / "index.html").read_text(encoding="utf-8")
    numbered = [n.stem for n in NOTEBOOKS if re.match(r"\d+_", n.name)]
    table = index.split('id="the-notebooks"', 1)[1].split("</table>", 1)[0]  # the README's table of notebooks
    links = re.findall(r'class="reference internal" href="notebooks/([^"#]+)\.html"', table)
    assert [n for n in dict.fromkeys(links) if n in numbered] == numbered, "the table's chapters are not in order"
    sidebar = re.findall(r'class="reference internal" href="notebooks/([^"#]+)\.html"', index)
    assert [n for n in dict.fromkeys(sidebar) if n in numbered] == numbered, "the chapters are not in order"


def test_the_site_drops_what_no_reader_needs(site):
    """fontawesome.js (1.56 MB, a third of each page) and the source maps (3.5 MB) are not in the site;
    the icons are (icons.css); each chapter's notebook is there to download."""
    assert not (site / "_static" / "scripts" / "fontawesome.js").exists()
    assert sorted(p.name for p in site.rglob("*.map") if "lite" not in p.relative_to(site).parts[:1]) == []
    assert ".fa-bars::before" in (site / "_static" / "icons.css").read_text(encoding="utf-8")
    for notebook in NOTEBOOKS:
        assert (site / "notebooks" / notebook.name).is_file(), f"{notebook.name}: no download in the site"


@pytest.mark.parametrize("path", pages(SITE) if SITE.exists() else ["index.html"])
def test_page(reader, site, axe, path):
    if path not in pages(site):  # the site was (re)built after collection with other pages
        pytest.skip(f"{path} is not a page of the site as built now")
    page = reader.visit(path)
    page.evaluate("""() => Promise.all([...document.images].map(img => {
        img.loading = "eager"; return img.decode().catch(() => null); }))""")
    assert reader.foreign == [], f"{path} asked other hosts: {reader.foreign}"
    assert reader.failed == [], f"{path}: failed requests: {reader.failed}"
    assert reader.errors == [], f"{path}: {reader.errors}"
    broken = page.evaluate("() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))")
    assert broken == [], f"{path}: images not loaded: {broken}"
    text = page.evaluate("""() => { const body = document.querySelector("main") || document.body;
        const copy = body.cloneNode(true);
        copy.querySelectorAll("pre, code, script, style, mjx-container, .cell_output, textarea").forEach(e => e.remove());
        return copy.innerText; }""")
    raw = sorted({m.group(0) for m in RAW_TEX.finditer(text)})
    assert raw == [], f"{path}: TeX left untypeset in the text: {raw}"
    hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    assert broken_links(site, page.url, hrefs) == []
    leaving = page.evaluate("""() => [...document.querySelectorAll('.bd-article a.reference.external')].map(a =>
        [a.href, a.target, getComputedStyle(a, '::after').content])""")      # cited papers, the original tutorials
    assert all(target in ("", "_self") and "\u2197" in after for _, target, after in leaving), \
        f"{path}: a link to another site without its arrow, or opening another tab: {leaving}"
    if path == "teachers.html":
        assert any("nbgrader.readthedocs.io" in href for href, *_ in leaving), leaving
    assert page.locator("details[open]").count() == 0, f"{path}: a Hint or Solution is open"
    assert "VBox(" not in page.inner_text("main") and "HBox(" not in page.inner_text("main"), \
        f"{path}: a panel shows as text (re-execute the notebook: its panels then store their picture)"
    assert not LEFTOVERS.search(page.inner_text("main")), f"{path}: {LEFTOVERS.search(page.inner_text('main')).group(0)!r} shown"
    for img in page.locator("main img").all():
        alt = img.get_attribute("alt") or ""
        assert alt.strip() and not re.search(r"\.(png|jpe?g|svg)$|_images/", alt), \
            f"{path}: an image without an alt text that says what it shows ({alt!r}): book/alt_text.json"
    code = page.locator("div.cell_input div.highlight")
    expect(page.locator("div.cell_input div.highlight button.nn-copy")).to_have_count(code.count())
    wide = page.evaluate(audit.OVERFLOW_JS, audit.BLOCKS)
    assert wide["wide_blocks"] == 0, f"{path}: {wide['wide_blocks']} code blocks wider than the column"
    assert wide["unmarked_wide_equations"] == 0, f"{path}: equations that scroll without showing it"
    if (ROOT / "notebooks" / Path(path).with_suffix(".ipynb").name).is_file() and path.startswith("notebooks/"):
        chapter(page, path)  # a page made from a notebook
    no_serious_axe_findings(page, path, reader.base + AXE_PATH)


def chapter(page, path):
    """What every chapter made from a notebook shows: math, the line on running it, folded exercises."""
    source = ROOT / "notebooks" / Path(path).with_suffix(".ipynb").name
    notebook = source.read_text(encoding="utf-8")
    run_it = page.locator("div.nn-run-it")
    expect(run_it).to_have_count(1)
    expect(run_it).to_contain_text("python3 dev.py lab")
    expect(run_it.locator(f'a.nn-download[href="{source.name}"]')).to_have_count(1)  # the file: broken_links
    lite = (SITE / "lite" / "lab" / "index.html").is_file()
    expect(run_it.locator("a.nn-lite")).to_have_count(1 if lite else 0)
    if "$" in notebook:
        assert page.locator("mjx-container").count() > 0, f"{path}: no math typeset"
    hints = notebook.count("<summary>Hint</summary>")
    assert page.locator("details > summary", has_text="Hint").count() == hints
    assert page.locator("details > summary", has_text="Solution").count() == notebook.count("<summary>Solution</summary>")
    for summary in page.locator("details > summary").all()[:3]:  # folded: the answer is not visible
        details = summary.locator("xpath=..")
        assert not details.evaluate("d => d.open")
        expect(details.locator("p, pre").last).to_be_hidden()
    if "raise NotImplementedError" in notebook:  # an exercise's skeleton, which the learner fills in, is shown as code
                                                 # (a Hint alone can belong to a predict-then-run question: 09)
        expect(page.locator("div.cell pre", has_text="raise NotImplementedError").first).to_be_visible()
    pictures = page.locator(".nn-panel-picture")
    for i in range(pictures.count()):  # each panel: its picture, its name (and state), where it is live
        expect(pictures.nth(i)).to_contain_text("python3 dev.py app")
        expect(pictures.nth(i).locator("img")).to_have_count(1)
        expect(pictures.nth(i).locator("p.nn-panel-title")).to_have_count(1)


def test_one_element_of_each_look_stands_for_all(reader, axe):
    """What lets test_page measure one element of each look: on a chapter with code, outputs and math, axe
    measures every element of a look alike (book/audit.py checks every page in both themes)."""
    page = reader.visit("notebooks/03_softmax_cross_entropy.html")
    looks = audit.uniform_looks(page, "light", reader.base + AXE_PATH)
    assert looks["mixed"] == [], looks["mixed"]
    assert looks["elements"] > 5 * looks["looks"] > 100, looks       # many elements, few looks


LOOKS_PAGE = """<!doctype html><html lang="en"><head><title>Looks</title><style>
    .a { color: #333; } .box { background: #222; padding: 4px; } .hidden { display: none; }
</style></head><body><main><h1>Looks</h1>
<pre>{tokens}</pre>
<div class="hidden"><span style="color: #999">hidden, then shown below</span></div>
<p>Plain text, <span style="color: #999">and late in the page a grey of 2.8:1 on white</span>.</p>
<div class="box"><span class="a">the tokens' colour on a dark box</span></div>
</main></body></html>"""


def test_one_element_of_each_look_still_finds_each_bad_one(browser, axe):
    """Among 300 elements of one good look, the elements of other looks are measured: a colour first met
    hidden, then shown; the same colour as the 300 on another background."""
    page = browser.new_page()
    try:
        page.set_content(LOOKS_PAGE.replace("{tokens}", " ".join('<span class="a">token</span>' for _ in range(300))))
        found = audit.run_axe(page, "light", ["color-contrast"], one_of_each_look=True)
        assert [(v["id"], v["nodes"]) for v in found] == [("color-contrast", 2)], found
        assert sorted(found[0]["targets"]) == [".box > .a", "p > span"], found
        every = audit.uniform_looks(page)                  # all 300 tokens are one look, the heading another, ...
        assert every["elements"] == 304 and every["looks"] == 5 and every["mixed"] == [], every
    finally:
        page.close()


def test_search_finds_softmax(reader):
    page = reader.visit("search.html?q=softmax")
    results = page.locator("#search-results ul.search li a")
    expect(results.first).to_be_visible(timeout=30_000)
    hrefs = [a.get_attribute("href") for a in results.all()]
    assert any("03_softmax_cross_entropy" in href for href in hrefs), hrefs
    assert reader.errors == [] and reader.failed == [] and reader.foreign == []


@pytest.mark.parametrize("size", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_screenshot_of_a_chapter(browser, server, size):
    """Screenshots for a person to look at (output/browser-screenshots/book_*.png); the page must fit the
    screen's width (wide code and tables scroll inside their own box)."""
    width, height = size
    reader = Reader(browser, server, {"width": width, "height": height})
    try:
        page = reader.visit("notebooks/03_softmax_cross_entropy.html")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"book_chapter_{width}x{height}.png")
        page.locator(".nn-panel-picture, .cell_output img").first.scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOTS / f"book_chapter_{width}x{height}_figure.png")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow} px wider than a {width} px screen"
        wide = page.evaluate(audit.OVERFLOW_JS, audit.BLOCKS)
        assert wide["wide_blocks"] == 0 and wide["unmarked_wide_equations"] == 0, wide
        small = page.evaluate("""(legible) => [...document.querySelectorAll('div.cell_output img, .nn-panel-picture img')]
            .filter(i => i.naturalWidth && i.getBoundingClientRect().width
                         < legible * (Number(i.getAttribute('width')) || i.naturalWidth) - 1)
            .map(i => i.alt.slice(0, 40))""", 0.69)
        assert small == [], f"figures shown at under 70% of their size (text too small to read): {small}"
    finally:
        reader.close()


@pytest.mark.parametrize("size", [(390, 844), (820, 1180)], ids=["phone", "tablet"])
def test_the_menus_open_on_a_phone_and_a_tablet(browser, server, size):
    """The chapters' menu and the page's contents: tapped, they open (the theme's buttons did nothing below
    992 px and 1200 px); a tap on a chapter in the menu goes there; Escape closes the contents."""
    width, height = size
    reader = Reader(browser, server, {"width": width, "height": height}, has_touch=True)
    try:
        page = reader.visit("notebooks/03_softmax_cross_entropy.html")
        contents = page.locator(".secondary-toggle").filter(visible=True)
        contents.first.tap()
        dialog = page.locator("#pst-secondary-sidebar-modal")
        expect(dialog).to_have_attribute("open", "")
        expect(dialog.locator("a", has_text="Log-sum-exp").first).to_be_visible()
        page.keyboard.press("Escape")
        expect(dialog).not_to_have_attribute("open", "")
        page.locator(".primary-toggle").filter(visible=True).first.tap()
        menu = page.locator("#pst-primary-sidebar-modal")
        expect(menu).to_have_attribute("open", "")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"book_menu_{width}x{height}.png", animations="disabled")  # the menu as it ends up, not mid-slide
        menu.locator("a", has_text="Backpropagation").first.tap()
        page.wait_for_url("**/04_backpropagation.html")
        assert reader.errors == [], reader.errors
    finally:
        reader.close()


def test_run_in_the_browser_with_a_lite_site(browser, tmp_path):
    """`dev.py book --lite` copies build/lite/ into the site: each chapter then has a "Run in the browser"
    button that opens its notebook there (here a fake JupyterLite site, built with --lite=DIR --out DIR)."""
    lite, out = tmp_path / "lite", tmp_path / "book"
    (lite / "lab").mkdir(parents=True)
    (lite / "lab" / "index.html").write_text("<!doctype html><title>lite</title><p id='lite'>JupyterLite</p>",
                                             encoding="utf-8")
    subprocess.run([sys.executable, str(ROOT / "book" / "build.py"), f"--lite={lite}", "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(out)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    reader = Reader(browser, f"http://127.0.0.1:{httpd.server_address[1]}", {"width": 1280, "height": 900})
    try:
        for notebook in NOTEBOOKS:
            html = (out / "notebooks" / f"{notebook.stem}.html").read_text(encoding="utf-8")
            assert f'href="../lite/lab/index.html?path={notebook.name}"' in html, f"{notebook.name}: no button"
        page = reader.visit("notebooks/03_softmax_cross_entropy.html")
        page.locator("a.nn-lite").click()
        page.wait_for_url("**/lite/lab/index.html?path=03_softmax_cross_entropy.ipynb")
        expect(page.locator("#lite")).to_have_text("JupyterLite")
    finally:
        reader.close()
        httpd.shutdown()
        httpd.server_close()
