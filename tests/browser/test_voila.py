"""The playground app in Voila: every panel reacts to its controls in a real browser."""

import re
import time

import pytest

from browser_helpers import (draw_stroke, expect, expect_new_figure, figure_src, number_after, panel,
                             press_on_slider, readout, save_screenshot, slider, type_into_slider)

PANELS = ["boundary-explorer", "digit-browser", "init-explorer", "softmax-explorer", "step-explorer",
          "training-panel", "threshold-explorer", "drawing-pad", "convolution-explorer", "deep-explorer"]


@pytest.fixture(scope="module")
def voila_page(browser, voila):
    """The playground, loaded once for all the tests of this module (Voila runs it on page load)."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.set_default_timeout(60_000)
    expect.set_options(timeout=60_000)
    page.goto(voila, timeout=180_000)
    error = page.get_by_text("Traceback (most recent call last)")
    expect(readout(panel(page, PANELS[-1])).or_(error)).to_be_visible(timeout=180_000)
    assert not error.count(), f"the playground failed in Voila:\n{error.first.inner_text()}"
    for name in PANELS:
        expect(readout(panel(page, name))).not_to_be_empty()
    yield page
    page.close()


def choose(box, label: str) -> None:
    """Pick the option ``label`` of the panel's dropdown, as a user does. ipywidgets' Dropdown shows each
    option with its spaces as no-break spaces ("blur\u00a0(3x3\u00a0mean)"); Playwright 1.40 (the lowest
    version CI installs) matches a label only to the letter, later ones also with white space folded, so
    the label is given as the page spells it, which both match."""
    box.locator("select").select_option(label=label.replace(" ", "\N{NO-BREAK SPACE}"))


def mover(box):
    """``move(action, text)``: do ``action`` on the panel, wait for ``text`` in its readout and for a new
    figure; ``moves`` collects each move's seconds, for a line of the test's output."""
    moves = []

    def move(action, text):
        src, start = figure_src(box), time.perf_counter()
        action()
        expect_new_figure(box, src)
        expect(readout(box)).to_contain_text(text)
        moves.append(time.perf_counter() - start)

    return move, moves


def test_boundary_explorer_depth_and_lambda(voila_page):
    """The first panel: a move of the depth slider or of the lambda slider (a SelectionSlider, moved by
    the arrow keys) trains a new network, and the figure and the readout change."""
    box = panel(voila_page, "boundary-explorer")
    expect(readout(box)).to_contain_text("epoch 300 of 300")
    expect(readout(box)).to_contain_text("network 2-32-3, 195 parameters")
    assert number_after(readout(box).inner_text(), "training accuracy") > 95
    src = figure_src(box)
    press_on_slider(box, "hidden layers", "ArrowLeft")  # 1 -> 0: softmax regression
    expect_new_figure(box, src)
    expect(readout(box)).to_contain_text("network 2-3, 9 parameters")
    assert number_after(readout(box).inner_text(), "training accuracy") < 70
    expect(slider(box, "units per layer").locator(".noUi-target")).to_have_attribute("disabled", "true")
    src = figure_src(box)
    press_on_slider(box, "hidden layers", "ArrowRight")
    expect_new_figure(box, src)
    expect(readout(box)).to_contain_text("network 2-32-3, 195 parameters")
    src, before = figure_src(box), readout(box).inner_text()
    press_on_slider(box, "L2 lambda", "ArrowRight", 6)  # 0 -> 0.03: too strong, the spiral is lost
    expect(slider(box, "L2 lambda").locator(".widget-readout")).to_have_text("0.03")
    expect(readout(box)).not_to_have_text(before)
    expect_new_figure(box, src)
    expect(readout(box)).to_contain_text(re.compile(r"training accuracy [1-6]\d\.\d%"))  # below 70%
    save_screenshot(box, "voila_boundary_explorer")
    press_on_slider(box, "L2 lambda", "Home")
    expect(readout(box)).to_have_text(before)  # the same network again: seeded


def test_boundary_explorer_step_and_play(voila_page):
    """Step shows the network one snapshot later; Play replays the last snapshots up to the end, without
    retraining. Play starts 5 snapshots before the end: each snapshot it shows is a redraw in the kernel,
    and 5 prove that it plays as well as the 49 from epoch 6 did (7 s of a busy test run)."""
    box = panel(voila_page, "boundary-explorer")
    press_on_slider(box, "epoch shown", "Home")
    expect(readout(box)).to_contain_text("epoch 0 of 300")
    box.get_by_role("button", name="Step").click()
    expect(readout(box)).to_contain_text("epoch 6 of 300")
    type_into_slider(box, "epoch shown", 270)
    expect(readout(box)).to_contain_text("epoch 270 of 300")
    src = figure_src(box)
    box.locator(".widget-play button").first.click()  # Play: from epoch 270 to the last, without retraining
    expect_new_figure(box, src)
    expect(readout(box)).to_contain_text("epoch 300 of 300", timeout=120_000)
    expect(slider(box, "epoch shown").locator(".widget-readout")).to_have_text("300")


def test_digit_browser(voila_page):
    box = panel(voila_page, "digit-browser")
    expect(readout(box)).to_have_text("images[0] shows a 7")
    src = figure_src(box)
    type_into_slider(box, "index", 3)
    expect_new_figure(box, src)
    expect(readout(box)).to_have_text("images[3] shows a 0")
    choose(box, "5")
    expect(readout(box)).to_contain_text("shows a 5")
    save_screenshot(box, "voila_digit_browser")


def test_init_explorer(voila_page):
    box = panel(voila_page, "init-explorer")
    expect(readout(box)).to_contain_text("layer 3: std 0.299")
    src = figure_src(box)
    type_into_slider(box, "scale", 0.1)
    expect_new_figure(box, src)
    expect(readout(box)).to_contain_text("layer 3: std 0.000299")  # 0.1 per layer: vanishing
    save_screenshot(box, "voila_init_explorer")


def test_softmax_explorer(voila_page):
    box = panel(voila_page, "softmax-explorer")
    expect(readout(box)).to_have_text("probabilities: 0.659, 0.242, 0.099")
    src = figure_src(box)
    press_on_slider(box, "z2", "ArrowRight", 9)  # z2: 0.1 -> 1.0, by keyboard
    expect(readout(box)).to_have_text("probabilities: 0.576, 0.212, 0.212")
    expect_new_figure(box, src)
    type_into_slider(box, "temperature", 0.1)
    expect(readout(box)).to_have_text("probabilities: 1.000, 0.000, 0.000")
    save_screenshot(box, "voila_softmax_explorer")


def test_step_explorer(voila_page):
    box = panel(voila_page, "step-explorer")
    expect(readout(box)).to_contain_text("h = 1.0e-06")
    src = figure_src(box)
    type_into_slider(box, "log10(h)", -12)
    expect_new_figure(box, src)
    expect(readout(box)).to_contain_text("h = 1.0e-12")
    expect(box.locator(".nn-message")).to_contain_text("rounding error")
    save_screenshot(box, "voila_step_explorer")


def test_training_panel_trains(voila_page):
    box = panel(voila_page, "training-panel")
    box.get_by_role("button", name="Train").click()
    expect(readout(box)).to_contain_text("Validation accuracy", timeout=90_000)
    assert number_after(readout(box).inner_text(), "Validation accuracy") > 0.8
    expect(box.locator(".nn-figure img")).to_be_visible()
    expect(box.locator(".nn-message")).to_have_count(0)
    save_screenshot(box, "voila_training_panel")


def test_training_panel_extremes_and_stop(voila_page):
    box = panel(voila_page, "training-panel")
    type_into_slider(box, "learning rate", 10)
    box.get_by_role("button", name="Train").click()
    expect(box.locator(".nn-message")).to_contain_text("too large", timeout=90_000)
    type_into_slider(box, "learning rate", 0.1)
    type_into_slider(box, "epochs", 20)
    type_into_slider(box, "hidden units", 256)
    press_on_slider(box, "batch size", "Home")  # batches of 1: slow epochs, time to press Stop
    expect(readout(box)).to_contain_text("batches of 1, on 500 images")
    box.get_by_role("button", name="Train").click()
    stop = box.get_by_role("button", name="Stop")
    expect(stop).to_be_enabled()
    stop.click()
    expect(box.locator(".nn-message")).to_contain_text("Stopped by you", timeout=90_000)


def test_threshold_explorer(voila_page):
    box = panel(voila_page, "threshold-explorer")
    expect(readout(box)).to_contain_text("coverage")
    before = number_after(readout(box).inner_text(), "coverage")
    src = figure_src(box)
    type_into_slider(box, "threshold", 0.99)
    expect_new_figure(box, src)
    expect(readout(box)).not_to_contain_text(f"coverage {before:.1f}%")
    assert number_after(readout(box).inner_text(), "coverage") < before
    save_screenshot(box, "voila_threshold_explorer")


def test_drawing_pad(voila_page):
    box = panel(voila_page, "drawing-pad")
    expect(readout(box)).to_have_text("Draw a digit in the box with the mouse; the MLP reads it.")
    src = figure_src(box)
    draw_stroke(voila_page, box.locator("canvas").first, [(0.5, 0.15), (0.5, 0.85)])  # a 1
    expect(box.locator(".nn-prediction")).to_have_text("1")
    expect_new_figure(box, src)
    expect(readout(box)).to_contain_text("The MLP reads")
    box.get_by_role("button", name="CNN").click()  # notebook 09's CNN reads it instead
    expect(readout(box)).to_contain_text("The CNN reads")
    expect(box.locator(".nn-prediction")).to_have_text("1")
    save_screenshot(box, "voila_drawing_pad")
    box.get_by_role("button", name="MLP").click()
    box.get_by_role("button", name="Clear").click()
    expect(readout(box)).to_have_text("Draw a digit in the box with the mouse; the MLP reads it.")


def test_convolution_explorer(voila_page):
    """Every control of the convolution panel: stride and padding (keyboard and typing), the filter, the
    test image, and the drawing on the pad as the source; each move redraws, and says how long it took."""
    box = panel(voila_page, "convolution-explorer")
    expect(readout(box)).to_contain_text("a 26x26 feature map")
    move, moves = mover(box)

    move(lambda: press_on_slider(box, "stride S", "ArrowRight"), "a 13x13 feature map")
    expect(readout(box)).to_contain_text("the last 1 row and column of the padded image is never read")
    move(lambda: type_into_slider(box, "padding P", 1), "a 14x14 feature map")
    move(lambda: press_on_slider(box, "stride S", "End"), "a 10x10 feature map")  # floor(27 / 3) + 1
    move(lambda: choose(box, "blur (3x3 mean)"), "Values from 0.00")
    move(lambda: choose(box, "trained CNN, filter 1"), "a 10x10 feature map")
    move(lambda: type_into_slider(box, "test image", 5), "a 10x10")
    save_screenshot(box, "voila_convolution_explorer")
    pad = panel(voila_page, "drawing-pad")
    draw_stroke(voila_page, pad.locator("canvas").first, [(0.5, 0.15), (0.5, 0.85)])
    expect(pad.locator(".nn-prediction")).to_have_text("1")
    move(lambda: box.get_by_role("button", name="your drawing").click(), "a 10x10")
    print(f"convolution panel, seconds from a move to its new figure: {', '.join(f'{t:.2f}' for t in moves)}")
    pad.get_by_role("button", name="Clear").click()


def test_deep_explorer(voila_page):
    """Notebook 13's panel: each control rebuilds and retrains the deep network, and says how long a move took."""
    box = panel(voila_page, "deep-explorer")
    expect(readout(box)).to_contain_text("20 hidden layers (plain, no normalization)")
    move, moves = mover(box)

    move(lambda: box.get_by_text("batch norm").click(), "(plain, batch norm)")
    move(lambda: box.get_by_text("residual connections").click(), "(residual, batch norm)")
    move(lambda: press_on_slider(box, "hidden layers", "ArrowRight"), "21 hidden layers")   # one more block
    move(lambda: press_on_slider(box, "initial scale", "Home"), "scale 0.5")
    move(lambda: press_on_slider(box, "learning rate", "ArrowLeft"), "learning rate 0.02")
    save_screenshot(box, "voila_deep_explorer")
    print(f"deep network panel, seconds from a move to its new figure: {', '.join(f'{t:.2f}' for t in moves)}")
