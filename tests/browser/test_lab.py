"""The notebooks in JupyterLab: run them from a clean copy, then draw and move a slider."""

import re

import pytest

from browser_helpers import (draw_stroke, expect, expect_new_figure, figure_src, panel, press_on_slider,
                             readout, save_screenshot, slider, type_into_slider)

SEVEN = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]  # a 7, as fractions of the canvas


def new_lab_page(browser):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.set_default_timeout(60_000)
    expect.set_options(timeout=90_000)
    return page


@pytest.fixture(scope="module")
def lab_page(browser, lab):
    """One JupyterLab page for the module: each notebook opens in a tab of its own, from the file browser
    (loading JupyterLab again for the second notebook cost 2-4 s and 2.4 CPU-s of Chromium; a tab, half)."""
    page = new_lab_page(browser)
    yield page
    page.close()


@pytest.fixture(scope="module")
def playground_in_lab(lab_page, lab):
    """The playground run once in JupyterLab for the tests of its panels (each moves a panel of its own and
    puts it back): a run of every panel's cell costs about 10 s a test."""
    run_notebook(lab_page, lab, "playground.ipynb")
    return lab_page


def notebook(page):
    """The notebook on display (the panels of the other tabs are hidden)."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")


def idle(page):
    return notebook(page).locator(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator[data-status='idle']")


def run_notebook(page, lab, name):
    """Open a notebook in JupyterLab (in a new tab if JupyterLab is already loaded) and run all its cells
    from the Run menu."""
    url, token = lab
    if page.url.startswith(url):  # double-click it in the file browser, as a learner does
        tabs = page.locator(".jp-NotebookPanel").count()
        page.locator(".jp-DirListing-item", has_text=name).dblclick()
        expect(page.locator(".jp-NotebookPanel")).to_have_count(tabs + 1)
        expect(page.locator(".jp-NotebookPanel.lm-mod-hidden")).to_have_count(tabs)  # the new tab is on top
    else:
        page.goto(f"{url}/lab/tree/notebooks/{name}?reset&token={token}")
    expect(idle(page)).to_be_visible()
    expect(page.locator(".jp-StatusBar-Widget", has_text="Idle").first).to_be_visible()
    first_prompt = notebook(page).locator(".jp-CodeCell .jp-InputPrompt").first
    for attempt in range(3):  # a click while the kernel is still connecting runs nothing: try again
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
        try:
            expect(first_prompt).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=10_000)
            return
        except AssertionError:
            continue
    raise AssertionError(f"Run All did not start {name}")


def stderr(page):
    """Error output (a traceback, a warning) of the notebook on display."""
    return notebook(page).locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")


def test_draw_a_digit_in_lab(playground_in_lab):
    """The drawing pad in JupyterLab, the playground's (notebook 09's pad is the same widget, and nbval runs
    09: running all of 09 here again, its CNN's training included, cost 8 CPU-s)."""
    lab_page = playground_in_lab
    box = panel(notebook(lab_page), "drawing-pad")
    expect(readout(box)).to_have_text("Draw a digit in the box with the mouse; the MLP reads it.")
    expect(idle(lab_page)).to_be_visible()
    src = figure_src(box)
    draw_stroke(lab_page, box.locator("canvas").first, SEVEN)
    expect(box.locator(".nn-prediction")).to_have_text("7")
    expect(readout(box)).to_contain_text("The MLP reads 7")
    expect_new_figure(box, src)
    src = figure_src(box)
    box.get_by_role("button", name="CNN", exact=True).click()  # the toggle: now the CNN reads the same drawing
    expect_new_figure(box, src)
    expect(readout(box)).to_contain_text("The CNN reads")
    expect(readout(box)).to_contain_text("the MLP would read 7")
    save_screenshot(box, "lab_drawing_pad")
    assert not stderr(lab_page).count()


def test_slider_in_lab(playground_in_lab):
    box = panel(notebook(playground_in_lab), "softmax-explorer")
    expect(readout(box)).to_have_text("probabilities: 0.659, 0.242, 0.099")
    src = figure_src(box)
    type_into_slider(box, "temperature", 0.1)
    expect_new_figure(box, src)
    expect(readout(box)).to_have_text("probabilities: 1.000, 0.000, 0.000")


def test_boundary_explorer_in_lab(playground_in_lab):
    """The playground's first panel in JupyterLab: the depth and the lambda slider (a SelectionSlider,
    moved by the arrow keys) each train a new network, and the figure and the readout change."""
    lab_page = playground_in_lab
    box = panel(notebook(lab_page), "boundary-explorer")
    expect(readout(box)).to_contain_text("network 2-32-3, 195 parameters")
    expect(idle(lab_page)).to_be_visible()
    for label in ("noise", "learning rate", "hidden layers", "L2 lambda"):  # each within its column
        assert slider(box, label).locator(".widget-readout").evaluate("""e => e.getBoundingClientRect().right
            <= e.closest('.widget-vbox').getBoundingClientRect().right + 1"""), f"{label}: readout outside its column"
    src, before = figure_src(box), readout(box).inner_text()
    press_on_slider(box, "hidden layers", "ArrowRight")  # 1 -> 2 hidden layers
    expect_new_figure(box, src)
    expect(readout(box)).to_contain_text("network 2-32-32-3, 1,251 parameters")
    src, deeper = figure_src(box), readout(box).inner_text()
    press_on_slider(box, "L2 lambda", "ArrowRight", 7)  # 0 -> 0.1: the weights decay to nothing
    expect(slider(box, "L2 lambda").locator(".widget-readout")).to_have_text("0.1")
    expect(readout(box)).not_to_have_text(deeper)
    expect_new_figure(box, src)
    expect(readout(box)).to_contain_text(re.compile(r"training accuracy [1-6]\d\.\d%"))  # below 70%
    save_screenshot(box, "lab_boundary_explorer")
    press_on_slider(box, "L2 lambda", "Home")
    press_on_slider(box, "hidden layers", "ArrowLeft")
    expect(readout(box)).to_have_text(before)  # the same network as at the start: seeded
    assert not stderr(lab_page).count()
