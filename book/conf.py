"""Sphinx configuration of the book: the series as a static website (python3 dev.py book).

The sources are laid out by ``book/build.py`` in ``build/book-src/`` at build time: ``index.md``
(the README's introduction, its table of notebooks and the table of contents, made from
``notebooks/*.ipynb``), the notebooks as a reader should meet them (``build.for_the_book``) and NOTATION.md. Nothing is executed: the pages
show the outputs stored in the notebooks. Every asset is served by the site itself (MathJax included).
At the end of the build (``lighten``) the theme's fontawesome.js and the source maps go (the icons the
pages use are written as CSS), and the pages are fixed where the theme fails axe-core. _static/book.js
opens the menus on phones, adds copy buttons, and marks what scrolls sideways.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

project = "Neural Networks from Scratch"
author = "the contributors"
copyright = "the contributors, MIT licence; MNIST: LeCun, Cortes, Burges, CC BY-SA 3.0"

extensions = ["myst_nb"]
exclude_patterns = ["**.ipynb_checkpoints", "_build"]
root_doc = "index"
language = "en"

# Notebooks: the stored outputs, never executed; stop on nothing, but every warning is shown.
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath", "html_image"]
myst_heading_anchors = 3
# The panels (nn_helpers.widgets) store a picture of themselves beside the widget view: the book shows
# the picture (text/html: the figure and the line saying where the sliders are live) and never the
# widget view, whose sliders would move nothing without a kernel. No widget manager is loaded.
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("html", "application/vnd.jupyter.widget-state+json", None),
]
nb_ipywidgets_js = {}


def repository_url(env=os.environ, remote=None) -> str:
    """The repository's web address: $NN_REPOSITORY_URL, else GitHub Actions' (on GitHub Pages), else the
    git remote "origin" when it is on the web (git@github.com:u/r.git -> https://github.com/u/r); else ""."""
    if env.get("NN_REPOSITORY_URL"):
        return env["NN_REPOSITORY_URL"].rstrip("/")
    if env.get("GITHUB_REPOSITORY"):
        return f"{env.get('GITHUB_SERVER_URL', 'https://github.com').rstrip('/')}/{env['GITHUB_REPOSITORY']}"
    if remote is None:
        try:
            remote = subprocess.run(["git", "remote", "get-url", "origin"], capture_output=True, text=True,
                                    cwd=Path(__file__).parent, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            remote = ""
    remote = re.sub(r"^git@([^:]+):", r"https://\1/", remote)
    return remote.removesuffix(".git") if remote.startswith("https://") else ""


REPOSITORY = repository_url()

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["book.css", "icons.css"]  # icons.css: written at the end of the build (lighten())
html_js_files = [("book.js", {"defer": "defer"})]
html_theme_options = {
    "repository_url": REPOSITORY,
    "use_repository_button": bool(REPOSITORY),
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "show_toc_level": 2,
}
# Light: the notebooks' figures are drawn on white. (Without a default, the theme's script logs
# "Got invalid theme mode" as a console error on every page.)
html_context = {"default_mode": "light"}
html_last_updated_fmt = None
html_permalinks_icon = "#"

# MathJax 3 from the sphinx-mathjax-offline package, copied into the site: only the TeX input, the CHTML
# output with its fonts, and what its menu loads on demand (7 MB instead of the package's 24 MB).
mathjax_path = "mathjax/tex-chtml.js"
MATHJAX_PARTS = ["tex-chtml.js", "input/tex", "output/chtml", "ui", "a11y", "sre", "adaptors"]
html_show_sourcelink = False
html_copy_source = False

#: Under the title of each chapter made from a notebook: run it in the browser (when the build holds the
#: JupyterLite site, build.py --lite), download it, the repository, and how to run it on one's machine.
LITE_BUTTON = ('<a class="nn-button nn-lite" href="{root}lite/lab/index.html?path={name}">'
               '<i class="fa-solid fa-play" aria-hidden="true"></i> Run in the browser</a>')
DOWNLOAD_BUTTON = ('<a class="nn-button nn-download" href="{name}" download>'
                   '<i class="fa-solid fa-download" aria-hidden="true"></i> Download the notebook</a>')
REPOSITORY_BUTTON = ('<a class="nn-button nn-repository" href="{repository}">'
                     '<i class="fa-brands fa-github" aria-hidden="true"></i> The repository</a>')
RUN_IT = ('<div class="nn-run-it"><p class="nn-buttons">{buttons}</p>'
          '<p>To run it on your machine, with live sliders: clone the repository, then '
          '<code>python3 dev.py lab</code> opens your own copy of <code>{name}</code> in JupyterLab '
          '(<a href="{index}#quick-start">Quick start</a>).</p></div>')


def run_box(name: str, root: str, index: str, lite: bool, repository: str) -> str:
    buttons = (LITE_BUTTON if lite else "") + DOWNLOAD_BUTTON + (REPOSITORY_BUTTON if repository else "")
    return RUN_IT.format(buttons=buttons.format(root=root, name=name, repository=repository), name=name, index=index)


def add_run_line(app, pagename, templatename, context, doctree):
    """Put the run box under the title of each page made from a notebook (the notebooks stay as they are)."""
    source = Path(app.env.doc2path(pagename)) if pagename in app.env.all_docs else None
    if source is None or source.suffix != ".ipynb" or "body" not in context:
        return
    index = app.builder.get_relative_uri(pagename, root_doc)
    root = "../" * pagename.count("/")
    lite = (Path(app.outdir) / "lite" / "lab" / "index.html").is_file()
    line = run_box(source.name, root, index, lite, REPOSITORY)
    context["body"] = re.sub(r"(</h1>)", lambda m: m.group(1) + line, context["body"], count=1)


def mathjax_source() -> Path:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("MathJax is missing: install the book extra (pip install -e .[book])")
    return Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax"


def copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    source, target = mathjax_source(), Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, target / part)


#: fontawesome.js (1.56 MB, a third of every page) draws a dozen icons: the build writes those icons as
#: CSS masks into icons.css instead, and drops the script; and the source maps (3.5 MB), which no reader uses.
EXTRA_ICONS = {"fa-play", "fa-download", "fa-github", "fa-copy", "fa-check"}
FONTAWESOME = "_static/scripts/fontawesome.js"


#: An icon's definition in fontawesome.js: its name (quoted or not), width, height, aliases, code point, path.
ICON = re.compile(r'(?:"([\w-]+)"|(?<![\w-])([\w-]+)):\[(\d+),(\d+),\[[^\]]*\],"[0-9a-f]+","(M[^"]+)"\]')


def icon_css(script: str, names: set) -> str:
    """CSS drawing each icon ``fa-NAME`` of ``names`` from its path in fontawesome.js (the last definition:
    the solid style, after the regular one; brands have their own names). One pass over the script."""
    last = {}
    for match in ICON.finditer(script):
        last[match.group(1) or match.group(2)] = match.groups()[2:]
    rules = []
    for name in sorted(names):
        if name.removeprefix("fa-") not in last:
            continue
        width, height, path = last[name.removeprefix("fa-")]
        svg = (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}'>"
               f"<path d='{path}'/></svg>").replace("#", "%23").replace('"', "'")
        rules.append(f'.{name}::before {{ width: {int(width) / int(height):.3f}em; '
                     f'-webkit-mask-image: url("data:image/svg+xml;utf8,{svg}"); mask-image: url("data:image/svg+xml;utf8,{svg}"); }}')
    return ("/* The theme's icons, drawn from Font Awesome Free 6 (CC BY 4.0 icons, fontawesome.com), written by\n"
            "   book/conf.py at build time instead of loading fontawesome.js. */\n"
            "i[class*='fa-']::before { content: ''; display: inline-block; height: 1em; vertical-align: -0.125em;\n"
            "  background-color: currentColor; -webkit-mask-repeat: no-repeat; mask-repeat: no-repeat;\n"
            "  -webkit-mask-position: center; mask-position: center; -webkit-mask-size: contain; mask-size: contain; }\n"
            ".fa-lg { font-size: 1.25em; }\n" + "\n".join(rules) + "\n")


#: The search buttons' name is "Search" while they show "Search Ctrl+K" (axe: label-content-name-mismatch):
#: without the aria-label, their name is what they show.
SEARCH_LABEL = re.compile(r'(<button class="btn search-button-field[^"]*"[^>]*?) aria-label="Search"')


#: The book's title at the top of the chapters' sidebar stood outside any landmark (axe: region).
SIDEBAR_START = re.compile(r'(<div class="sidebar-primary-items__start sidebar-primary__section")')


#: Pygments wraps every name, punctuation mark and space of the code in a span of its own, in the code's own
#: colour: more than half of the book's 70,000 code spans, each one more element for the browser and for
#: axe's colour-contrast check (the book test's largest cost). Those spans are taken out of the Python code
#: blocks and their colour given to the block instead: the same colours, to the pixel, in both themes.
PLAIN_TOKENS = ("n", "p", "w", "nn")
PLAIN_BLOCKS = ("ipython3", "python", "default")
TOKEN_COLOUR = re.compile(r'html\[data-theme="(\w+)"\] \.highlight \.(\w+) \{ color: (#[0-9A-Fa-f]+) \}')
CODE_BLOCK = re.compile(r'(<div class="highlight-(?:%s) notranslate"><div class="highlight"><pre>)(.*?)(</pre>)'
                        % "|".join(PLAIN_BLOCKS), re.S)
PLAIN_SPAN = re.compile(r'<span class="(?:%s)">([^<]*)</span>' % "|".join(PLAIN_TOKENS))


def plain_code_css(pygments_css: str) -> str:
    """The rules that give the Python blocks the colour of their names and punctuation, one per theme; empty
    when a theme gives the two token classes different colours (then no span may be taken out)."""
    colours = {}
    for theme, token, colour in TOKEN_COLOUR.findall(pygments_css):
        if token in PLAIN_TOKENS:
            colours.setdefault(theme, set()).add(colour.lower())
    if not colours or any(len(found) != 1 for found in colours.values()):
        return ""
    blocks = ", ".join(f'html[data-theme="{{theme}}"] div.highlight-{name} pre' for name in PLAIN_BLOCKS)
    return "".join(f"{blocks.format(theme=theme)} {{ color: {next(iter(found))} }}\n" for theme, found in colours.items())


def plain_code(html: str) -> str:
    """The Python blocks of a page without the spans of PLAIN_TOKENS (their text kept as it is)."""
    return CODE_BLOCK.sub(lambda m: m.group(1) + PLAIN_SPAN.sub(r"\1", m.group(2)) + m.group(3), html)


def lighten(app, exception):
    """The icons as CSS, fontawesome.js and the source maps dropped, the pages fixed where the theme fails axe,
    the code's plain names and punctuation without spans of their own."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    pages = [p for p in out.rglob("*.html") if "_static" not in p.parts and "lite" not in p.relative_to(out).parts[:1]]
    script = out / FONTAWESOME
    if script.exists():
        names = set(EXTRA_ICONS)
        for page in pages:
            names |= set(re.findall(r"\bfa-[a-z0-9-]+", page.read_text(encoding="utf-8")))
        (out / "_static" / "icons.css").write_text(icon_css(script.read_text(encoding="utf-8"), names), encoding="utf-8")
        script.unlink()
    for path in (out / "_static").rglob("*.map"):
        path.unlink()
    for path in [*(out / "_static" / "scripts").glob("*.js"), *(out / "_static" / "styles").glob("*.css")]:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        if "sourceMappingURL=" in text:
            path.write_text(re.sub(r"\n?(//|/\*)# sourceMappingURL=\S+( \*/)?", "", text),
                            encoding="utf-8", errors="surrogateescape")
    pygments = out / "_static" / "pygments.css"
    css = pygments.read_text(encoding="utf-8") if pygments.exists() else ""
    plain = plain_code_css(css)
    if plain and not css.endswith(plain):
        pygments.write_text(css + plain, encoding="utf-8")
    for page in pages:
        html = page.read_text(encoding="utf-8")
        if plain:
            html = plain_code(html)
        html = re.sub(r'\s*<script[^>]*src="[^"]*scripts/fontawesome\.js[^"]*"[^>]*></script>', "", html)
        html = SEARCH_LABEL.sub(r"\1", html)
        html = SIDEBAR_START.sub(r'\1 role="navigation" aria-label="The book"', html)
        html = html.replace('<th class="head"><p></p></th>', '<td class="head"></td>')  # a table's empty corner
        page.write_text(html, encoding="utf-8")


def setup(app):
    mathjax_source()  # fail before the build, not after it
    app.connect("html-page-context", add_run_line)
    app.connect("build-finished", copy_mathjax)
    app.connect("build-finished", lighten, priority=900)  # after the theme has written pygments.css' two themes
