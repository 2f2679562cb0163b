"""Find and drive the panels of nn_helpers.widgets on a page (Voila or JupyterLab).

Each panel is a box with the CSS class ``nn-<name>`` (e.g. ``nn-training-panel``); inside it
``.nn-readout`` holds the text it prints and ``.nn-figure img`` its figure.
"""

from __future__ import annotations

import re

from browser_env import SCREENSHOTS, skip_or_fail_without_browser

skip_or_fail_without_browser(module_level=True)

from playwright.sync_api import Locator, Page, expect  # noqa: E402  (only once we know it is there)
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError  # noqa: E402



def panel(page: Page, name: str) -> Locator:
    return page.locator(f".nn-{name}").first


def readout(box: Locator) -> Locator:
    return box.locator(".nn-readout").first


def figure_src(box: Locator) -> str:
    """The data URL of the panel's figure, once it is drawn."""
    img = box.locator(".nn-figure img").first
    expect(img).to_be_visible()
    return img.get_attribute("src")


NEW_FIGURE = """([box, old]) => {
    const img = box.querySelector('.nn-figure img');
    return img !== null && img.getAttribute('src') !== old;
}"""


def expect_new_figure(box: Locator, old_src: str) -> None:
    """Wait until the panel shows a different figure (a redraw happened).

    The page is asked every 50 ms: Playwright's ``expect`` asks at growing intervals, up to 0.5 s apart
    (1 s in older versions), so a redraw of 0.3 s was seen after 0.77 s. The panels draw the figure first and the readout right after
    it, so the readout's expect that follows passes at once. A timeout falls through to ``expect``, for
    its message."""
    try:
        box.page.wait_for_function(NEW_FIGURE, arg=[box.element_handle(), old_src], polling=50)
    except PlaywrightTimeoutError:
        pass
    expect(box.locator(".nn-figure img").first).not_to_have_attribute("src", old_src, timeout=1_000)


def slider(box: Locator, label: str) -> Locator:
    """The slider whose label reads ``label``."""
    return box.locator(".widget-slider").filter(has=box.page.locator(".widget-label", has_text=label)).first


def type_into_slider(box: Locator, label: str, value) -> None:
    """Set a slider by typing into its readout, as a user would, then pressing Enter."""
    field = slider(box, label).locator(".widget-readout")
    field.click()
    field.press("Control+a")
    field.type(str(value))
    field.press("Enter")


def press_on_slider(box: Locator, label: str, key: str, times: int = 1) -> None:
    """Move a slider with the keyboard: focus its handle and press ``key``."""
    handle = slider(box, label).locator(".noUi-handle")
    handle.focus()
    for _ in range(times):
        handle.press(key)


def number_after(text: str, words: str) -> float:
    """The number that follows ``words`` in ``text``, e.g. number_after("coverage 99.7%", "coverage")."""
    match = re.search(re.escape(words) + r"\s*([-+0-9.e]+)", text)
    assert match, f"{words!r} not found in {text!r}"
    return float(match.group(1))


def draw_stroke(page: Page, canvas: Locator, points) -> None:
    """Draw with the mouse through ``points`` given as fractions (x, y) of the canvas size."""
    canvas.evaluate("element => element.scrollIntoView({block: 'center'})")  # all of it in the viewport
    box = canvas.bounding_box()
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()


def save_screenshot(box: Locator, name: str) -> None:
    """Save a picture of a panel in output/browser-screenshots/, cropped to its controls and figure
    (the panel's box itself is as wide as the page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    box.evaluate("element => element.scrollIntoView({block: 'start'})")
    right = box.evaluate("""element => Math.max(...Array.from(element.querySelectorAll(
        'img, canvas, button, select, .widget-readout, .noUi-target, .progress')).map(e => e.getBoundingClientRect().right))""")
    bounds = box.bounding_box()
    width = min(bounds["width"], right - bounds["x"] + 12)
    box.page.screenshot(path=SCREENSHOTS / f"{name}.png",
                        clip={"x": bounds["x"], "y": bounds["y"], "width": width, "height": bounds["height"]})
