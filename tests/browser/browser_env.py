"""Where things are, and whether a browser is available (no Playwright import here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "output" / "browser-screenshots"
CHROMIUM = os.environ.get("NN_CHROMIUM", "/usr/bin/chromium")  # Debian's; set NN_CHROMIUM to use another
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def missing_browser() -> str:
    """Why the browser tests cannot run here, or "" when they can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found: apt-get install chromium chromium-driver (or set NN_CHROMIUM)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install playwright"
    return ""


def skip_or_fail_without_browser(module_level: bool = False) -> None:
    """Skip when the browser is missing, or fail when NN_REQUIRE_BROWSER=1 (as CI sets it)."""
    reason = missing_browser()
    if reason and os.environ.get("NN_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (NN_REQUIRE_BROWSER=1 requires the browser tests)", pytrace=False)
    if reason:
        pytest.skip(reason, allow_module_level=module_level)
