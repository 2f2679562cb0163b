"""Sphinx configuration of the book: the series as a static website (python3 dev.py book).

The sources are laid out by ``book/build.py`` in ``build/book-src/`` at build time: ``index.md``
(the README's introduction and the table of contents, made from ``notebooks/*.ipynb``), the notebooks
and NOTATION.md as they are in ``notebooks/``, and the README's pictures. Nothing is executed: the pages
show the outputs stored in the notebooks. Every asset is served by the site itself (MathJax included).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
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

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
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

#: The line on every chapter made from a notebook (after its title): how to run it yourself.
RUN_IT = ('<p class="nn-run-it">To run this chapter yourself, with live sliders: clone the repository, '
          'then <code>python3 dev.py lab</code> opens your own copy of <code>{name}</code> in JupyterLab '
          '(<a href="{index}#quick-start">Quick start</a>).</p>')


def add_run_line(app, pagename, templatename, context, doctree):
    """Put RUN_IT under the title of each page made from a notebook (the notebooks stay as they are)."""
    source = Path(app.env.doc2path(pagename)) if pagename in app.env.all_docs else None
    if source is None or source.suffix != ".ipynb" or "body" not in context:
        return
    index = app.builder.get_relative_uri(pagename, root_doc)
    line = RUN_IT.format(name=source.name, index=index)
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


def setup(app):
    mathjax_source()  # fail before the build, not after it
    app.connect("html-page-context", add_run_line)
    app.connect("build-finished", copy_mathjax)
