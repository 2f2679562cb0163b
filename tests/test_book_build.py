"""What book/build.py makes of the notebooks before Sphinx sees them, and book/conf.py's small helpers:
pure functions on small made-up notebooks (no Sphinx, no browser; tests/browser/test_book.py opens the site)."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"book_{name}", ROOT / "book" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build, conf, alt_text = load("build"), load("conf"), load("alt_text")
PNG = "iVBORw0KGgo="


def code(cell_id, source, *outputs, metadata=None):
    return {"cell_type": "code", "id": cell_id, "source": source, "metadata": metadata or {}, "outputs": list(outputs),
            "execution_count": 1}


def stream(text):
    return {"output_type": "stream", "name": "stdout", "text": text}


def display(data):
    return {"output_type": "display_data", "metadata": {}, "data": data}


def notebook(*cells, state=None):
    meta = {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": state or {}}}}
    return {"cells": list(cells), "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def test_the_marker_line_and_unsolved_checker_outputs_go():
    nb = notebook(
        code("a", "# NBVAL_IGNORE_OUTPUT\npanel = widgets.x()\npanel"),
        code("b-check", "ok = check.softmax(my_softmax)",
             stream("softmax: not done yet. Write your code in place of `raise NotImplementedError` ...\n")),
        code("c", "check.progress(\"03\")", stream("0 of 3 exercises solved in this notebook. Still to do: a.\n")),
        code("d", "print('kept')", stream("softmax: correct!\n")),
    )
    assert build.for_the_book(nb, {}) == []
    cells = nb["cells"]
    assert cells[0]["source"] == "panel = widgets.x()\npanel"
    assert cells[1]["outputs"] == [] and cells[2]["outputs"] == []
    assert cells[3]["outputs"][0]["text"] == "softmax: correct!\n"
    assert "widgets" not in nb["metadata"]


def test_figures_get_their_alt_text_or_are_named_missing():
    nb = notebook(code("fig", "plt.plot()", display({"image/png": PNG, "text/plain": "<Figure>"})),
                  code("own", "plt.plot()", display({"image/png": PNG}),
                       metadata={"mystnb": {"image": {"alt": "its own text"}}}),
                  code("bare", "plt.plot()", display({"image/png": PNG})))
    assert build.for_the_book(nb, {"fig": "A bar chart of ten counts."}) == ["bare"]
    assert nb["cells"][0]["metadata"]["mystnb"]["image"]["alt"] == "A bar chart of ten counts."
    assert nb["cells"][1]["metadata"]["mystnb"]["image"]["alt"] == "its own text"


def panel_html(title="softmax explorer"):
    return (f'<div class="nn-panel-picture"><img src="data:image/png;base64,{PNG}" alt="{title}">'
            '<p class="nn-live"><em>The sliders are live in JupyterLab.</em></p></div>')


def test_a_panel_picture_shows_its_title_and_the_state_of_its_sliders():
    state = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_s", "IPY_MODEL_d", "IPY_MODEL_h"]}},
        "s": {"model_name": "FloatSliderModel", "state": {"description": "temperature T", "value": 0.5}},
        "d": {"model_name": "DropdownModel", "state": {"description": "init", "index": 1, "_options_labels": ["xavier", "he"]}},
        "h": {"model_name": "HTMLModel", "state": {"description": "", "value": "<b>0.66</b>"}},
    }
    view = {"model_id": "box", "version_major": 2, "version_minor": 0}
    nb = notebook(code("p", "widgets.softmax_explorer()",
                       display({"application/vnd.jupyter.widget-view+json": view, "text/html": panel_html()})),
                  state=state)
    assert build.for_the_book(nb, {"p": "Three bars."}) == []
    html = nb["cells"][0]["outputs"][0]["data"]["text/html"]
    assert '<p class="nn-panel-title"><b>Softmax explorer</b>, shown with temperature T = 0.5, init = he</p>' in html
    assert 'alt="softmax explorer: Three bars."' in html
    nb = notebook(code("p", "x", display({"application/vnd.jupyter.widget-view+json": view, "text/html": panel_html()})))
    assert build.for_the_book(nb, {}) == ["p"]


def test_a_panel_without_a_picture_gets_the_readmes_picture_of_it():
    html = ('<div class="nn-panel-picture"><div class="nn-readout"><div>Draw a digit in the box with the mouse.</div>'
            '</div><p class="nn-live"><em>The drawing pad is live in JupyterLab.</em></p></div>')
    nb = notebook(code("pad", "widgets.drawing_pad()", display({"text/html": html})))
    assert build.for_the_book(nb, {}) == []
    shown = nb["cells"][0]["outputs"][0]["data"]["text/html"]
    assert "Draw a digit in the box" not in shown and "<img src=\"data:image/png;base64," in shown
    assert 'alt="The drawing pad in JupyterLab: a 7 drawn' in shown and "The drawing pad is live" in shown


def test_the_landing_page_has_the_readmes_table_of_notebooks(tmp_path):
    readme = ("# Title\n\nIntro, see [Quick start](#quick-start) and [Tests](#tests).\n\n## Quick start\n\nRun it.\n\n"
              "## The notebooks\n\n| notebook | what |\n| --- | --- |\n| [01 data](notebooks/01_data.ipynb) | read |\n\n"
              "**Exercises.** more text\n\n## Tests\n")
    (tmp_path / "01_data.ipynb").write_text("{}", encoding="utf-8")
    (tmp_path / "NOTATION.md").write_text("# Notation\n", encoding="utf-8")
    page = build.index_page(readme, tmp_path)
    assert "[Quick start](#quick-start)" in page and "[Tests](#tests)" not in page and "and Tests." in page
    assert "## The notebooks\n\n| notebook | what |\n| --- | --- |\n| [01 data](notebooks/01_data.ipynb) | read |\n" in page
    assert "**Exercises.**" not in page
    assert ":hidden:\n\nnotebooks/01_data\nnotebooks/NOTATION\n```" in page
    with pytest.raises(ValueError, match="no table"):
        build.notebook_table("## The notebooks\n\nNone yet.\n")


def test_options_of_the_build():
    assert build.options([]) == (None, build.OUTPUT, [])
    assert build.options(["--lite", "-W"]) == (build.LITE, build.OUTPUT, ["-W"])
    lite, out, rest = build.options(["--lite=/x/lite", "--out", "/tmp/site"])
    assert (lite, out, rest) == (Path("/x/lite"), Path("/tmp/site").resolve(), [])


def test_the_repository_address():
    assert conf.repository_url({"NN_REPOSITORY_URL": "https://example.org/r/"}, "") == "https://example.org/r"
    assert conf.repository_url({"GITHUB_REPOSITORY": "u/nn", "GITHUB_SERVER_URL": "https://github.com"}, "") \
        == "https://github.com/u/nn"
    assert conf.repository_url({}, "git@github.com:u/nn.git") == "https://github.com/u/nn"
    assert conf.repository_url({}, "https://gitlab.com/u/nn.git") == "https://gitlab.com/u/nn"
    assert conf.repository_url({}, "/srv/git/nn") == ""


def test_the_run_box():
    box = conf.run_box("03_x.ipynb", "../", "../index.html", lite=True, repository="https://github.com/u/nn")
    assert 'href="../lite/lab/index.html?path=03_x.ipynb"' in box and "Run in the browser" in box
    assert 'href="03_x.ipynb" download' in box and 'href="https://github.com/u/nn"' in box
    bare = conf.run_box("03_x.ipynb", "../", "../index.html", lite=False, repository="")
    assert "lite/" not in bare and "github" not in bare and "python3 dev.py lab" in bare


def test_icons_are_drawn_from_fontawesomes_paths():
    script = ('var b={"bars":[448,512,["navicon"],"f0c9","M0 96C0 78z"]};'
              'var c={0:[1,1,[],"f0","M1z"],moon:[512,512,[],"f186","M2 2z"]};var d={moon:[384,512,[],"f186","M3 3z"]}')
    css = conf.icon_css(script, {"fa-bars", "fa-moon", "fa-nothing"})
    assert ".fa-bars::before { width: 0.875em;" in css and "M0 96C0 78z" in css
    assert "M3 3z" in css and "M2 2z" not in css  # the last definition: the solid style
    assert "fa-nothing" not in css


def test_plain_names_and_punctuation_lose_their_spans_and_keep_their_colour():
    css = ('html[data-theme="light"] .highlight .n { color: #080808 } /* Name */\n'
           'html[data-theme="light"] .highlight .p { color: #080808 } /* Punctuation */\n'
           'html[data-theme="light"] .highlight .o { color: #00622F } /* Operator */\n'
           'html[data-theme="dark"] .highlight .n { color: #F8F8F2 } /* Name */\n'
           'html[data-theme="dark"] .highlight .p { color: #F8F8F2 } /* Punctuation */\n')
    rules = conf.plain_code_css(css)
    assert 'html[data-theme="light"] div.highlight-ipython3 pre' in rules and "{ color: #080808 }" in rules
    assert 'html[data-theme="dark"] div.highlight-python pre' in rules and "{ color: #f8f8f2 }" in rules
    assert conf.plain_code_css(css.replace(".p { color: #080808 }", ".p { color: #333333 }")) == ""  # not the same colour
    block = ('<div class="highlight-{} notranslate"><div class="highlight"><pre><span></span><span class="n">x</span>'
             '<span class="w"> </span><span class="o">=</span><span class="w"> </span><span class="n">np</span>'
             '<span class="o">.</span><span class="n">exp</span><span class="p">(</span><span class="n">z</span>'
             '<span class="p">)</span>\n</pre></div></div>')
    plain = conf.plain_code(block.format("ipython3"))
    assert plain == ('<div class="highlight-ipython3 notranslate"><div class="highlight"><pre><span></span>x '
                     '<span class="o">=</span> np<span class="o">.</span>exp(z)\n</pre></div></div>')
    assert conf.plain_code(block.format("none")) == block.format("none")   # an output's block: its own colours


def test_the_alt_text_tool_writes_cell_metadata(tmp_path):
    nb = notebook(code("fig", "plt.plot()", display({"image/png": PNG})), code("text", "print(1)", stream("1\n")))
    (tmp_path / "01_x.ipynb").write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")
    assert alt_text.missing(tmp_path, {}) == [("01_x.ipynb", "fig", "plt.plot()")]
    changed, unmatched = alt_text.apply(tmp_path, {"01_x": {"fig": "A line.", "gone": "?"}, "02_y": {"z": "?"}})
    assert changed == 1 and unmatched == ["01_x/gone", "02_y/z"]
    written = json.loads((tmp_path / "01_x.ipynb").read_text(encoding="utf-8"))
    assert written["cells"][0]["metadata"] == {"mystnb": {"image": {"alt": "A line."}}}
    assert alt_text.missing(tmp_path, {}) == []
    assert alt_text.apply(tmp_path, {"01_x": {"fig": "A line."}}) == (0, [])


def test_every_figure_of_the_series_has_an_alt_text():
    gaps = alt_text.missing(ROOT / "notebooks", alt_text.load())
    assert gaps == [], ("figures without an alt text: write what each shows in book/alt_text.json "
                        f"(notebook -> cell id -> text): {gaps}")


# --- figures: 2x PNGs, made smaller without changing a pixel --------------------------------------------------

def figure_png(dpi: int) -> bytes:
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(4, 2), dpi=dpi)
    a.plot([0, 1, 2], [2, 0, 1], label="loss")
    a.legend()
    b.imshow([[0, 1], [1, 0]], cmap="gray_r")                     # a digit grid's few greys
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi)
    plt.close(fig)
    return out.getvalue()


@pytest.mark.parametrize("dpi", [100, 200])
def test_a_figure_gets_smaller_with_the_same_pixels(dpi):
    import io

    import numpy as np
    from PIL import Image
    original = figure_png(dpi)
    smaller = build.smaller_png(original)
    assert len(smaller) < len(original)
    pixels = lambda data: np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))
    assert np.array_equal(pixels(smaller), pixels(original))
    assert build.smaller_png(b"not a png") == b"not a png"


def test_the_downloads_figures_are_made_smaller(tmp_path):
    import base64
    original = figure_png(200)
    nb = notebook(code("fig", "plt.plot()", {"output_type": "display_data", "metadata": {"image/png": {"width": 400}},
                                             "data": {"image/png": base64.b64encode(original).decode()}}))
    build.lighten_outputs(nb)
    output = nb["cells"][0]["outputs"][0]
    assert len(base64.b64decode(output["data"]["image/png"])) < len(original)
    assert output["metadata"] == {"image/png": {"width": 400}}          # the size it is shown at stays
    import hashlib                                                       # the site's copy, made smaller already
    (tmp_path / f"{hashlib.sha256(original).hexdigest()}.png").write_bytes(build.smaller_png(original))
    nb = notebook(code("fig", "plt.plot()", {"output_type": "display_data", "metadata": {},
                                             "data": {"image/png": base64.b64encode(original).decode()}}))
    build.lighten_outputs(nb, tmp_path)
    assert base64.b64decode(nb["cells"][0]["outputs"][0]["data"]["image/png"]) == build.smaller_png(original)


def test_a_kernel_stores_figures_of_pixels_at_twice_their_pixels(monkeypatch):
    """Importing nn_helpers in a Jupyter kernel puts its PNG formatter in place: a figure that shows pixels
    (imshow of a small array: digits, filters) as a 2x PNG with its size in the metadata, a curve and a smooth
    field (class regions on a 120 x 120 grid) as a plain PNG; outside a kernel it changes nothing."""
    import types

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from IPython.core.events import EventManager, available_events
    from IPython.core.formatters import DisplayFormatter

    import nn_helpers
    shell = types.SimpleNamespace(display_formatter=DisplayFormatter())
    shell.events = EventManager(shell, available_events)
    import IPython
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    nn_helpers._sharp_figures()                                   # not a kernel (no shell.kernel)
    assert shell.events.callbacks["pre_run_cell"] == []
    shell.kernel = object()
    nn_helpers._sharp_figures()
    digits, (ax1, ax2) = plt.subplots(1, 2, figsize=(3, 2))
    ax1.imshow(np.eye(5), cmap="gray_r")
    curve, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0])
    regions, ax = plt.subplots(figsize=(3, 2))                    # a smooth field: class regions on a grid
    ax.imshow(np.zeros((120, 120, 3)))
    figures = (("digits", digits), ("curve", curve), ("regions", regions))
    formats = {name: shell.display_formatter.format(fig) for name, fig in figures}
    plt.close("all")
    size = formats["digits"][1]["image/png"]
    assert Image.open(io.BytesIO(base64.b64decode(formats["digits"][0]["image/png"]))).width == 2 * size["width"]
    for plain in ("curve", "regions"):
        assert "image/png" in formats[plain][0] and "image/png" not in formats[plain][1], plain
    shell.display_formatter.formatters["image/png"].for_type(matplotlib.figure.Figure, lambda fig: None)
    shell.events.trigger("pre_run_cell", None)                    # %matplotlib inline undone before a cell
    assert shell.display_formatter.formatters["image/png"].lookup(digits) is nn_helpers._figure_png


def test_notebook_01_stores_its_digits_at_twice_their_size():
    """Executed with the package's formatter: 01's digit grid and average digits hold twice the pixels of the
    size they say (the book and JupyterLab show them at that size); its bar chart is a plain PNG."""
    cells = {c["id"]: c for c in json.loads((ROOT / "notebooks" / "01_data.ipynb").read_text(encoding="utf-8"))["cells"]}
    figure = lambda cell_id: next(o for o in cells[cell_id]["outputs"] if "image/png" in o.get("data", {}))
    for cell_id in ("ce45c769", "5ed5c279"):                      # plot_digits, the average of each digit
        output = figure(cell_id)
        width = Image.open(io.BytesIO(base64.b64decode("".join(output["data"]["image/png"])))).width
        assert abs(width - 2 * output["metadata"]["image/png"]["width"]) <= 1, output["metadata"]
    assert "image/png" not in figure("6712200c").get("metadata", {})      # the bar chart of the digits' counts
