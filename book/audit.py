"""The book as a reader meets it, in numbers: axe's findings on every page (light and dark), a chapter's
weight and requests, and the code blocks and display equations wider than their column. It also checks, on
every page and in both themes, that axe measures every element of one look alike (uniform_looks), which is
what lets tests/browser/test_book.py measure the contrast of one element of each look.

    .venv/bin/python book/audit.py                  # the site in build/book/ (python3 dev.py book first)
    .venv/bin/python book/audit.py --site DIR --json out.json

Needs Chromium (/usr/bin/chromium, or NN_CHROMIUM) and Playwright, as the browser tests do, and axe-core,
which is fetched once from the npm registry (``npm pack``) into build/ and checked against its SHA-512.
tests/browser/test_book.py uses the same functions.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AXE_VERSION = "4.14.1"
#: dist.integrity of axe-core 4.14.1 on registry.npmjs.org
AXE_INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
AXE = ROOT / "build" / f"axe-core-{AXE_VERSION}" / "axe.min.js"
CHROMIUM = os.environ.get("NN_CHROMIUM", "/usr/bin/chromium")
#: What a reader sees as a block of code or output, and display math.
BLOCKS = "div.cell div.highlight pre, div.cell_output pre, div.highlight pre"
#: The page's width overflowing (scrollWidth > clientWidth) blocks and display equations, and whether each
#: equation shows that it scrolls (the book's .nn-scrolls class, set by book.js).
OVERFLOW_JS = """(blocks) => {
    const wide = e => e.scrollWidth > e.clientWidth + 1;
    const pres = [...document.querySelectorAll(blocks)];
    const eqs = [...document.querySelectorAll('mjx-container[display="true"]')];
    const box = e => e.closest('.nn-math-scroll') || e;
    const figures = [...document.querySelectorAll('div.cell_output img, .nn-panel-picture img')]
        .filter(i => i.naturalWidth > 0);
    const shown = i => i.getBoundingClientRect().width / i.naturalWidth;
    return {blocks: pres.length, wide_blocks: pres.filter(wide).length, equations: eqs.length,
            wide_equations: eqs.filter(e => wide(box(e))).length,
            unmarked_wide_equations: eqs.filter(e => wide(box(e)) && !box(e).classList.contains('nn-scrolls')).length,
            figures: figures.length, figures_under_half: figures.filter(i => shown(i) < 0.5).length,
            figures_under_70: figures.filter(i => shown(i) < 0.69).length};
}"""


def axe_source() -> str:
    """axe.min.js, fetched with `npm pack axe-core@VERSION` into build/ the first time and checked."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(f"axe-core {AXE_VERSION} is needed (the book's accessibility check) and npm is "
                               f"not installed: install Node.js's npm, or put axe.min.js in {AXE.parent}")
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([npm, "pack", f"axe-core@{AXE_VERSION}", "--silent"], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL)
            tgz = Path(tmp) / f"axe-core-{AXE_VERSION}.tgz"
            digest = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
            if digest != AXE_INTEGRITY:
                raise RuntimeError(f"{tgz.name}: SHA-512 {digest} is not the registry's {AXE_INTEGRITY}")
            with tarfile.open(tgz) as archive:
                AXE.parent.mkdir(parents=True, exist_ok=True)
                for name in ("axe.min.js", "LICENSE"):
                    AXE.with_name(name).write_bytes(archive.extractfile(f"package/{name}").read())
    return AXE.read_text(encoding="utf-8")


#: What decides the contrast axe measures for an element's text: the text's own look (colour, size, weight, shadow,
#: stroke, whether it is shown) and what lies behind it, the backgrounds and effects of every ancestor.
#: ``duplicates()`` returns the elements whose look an earlier element of the page already has. On every page of
#: the book, in both themes, axe gave each look one contrast ratio (``uniform_looks`` checks it): where axe
#: measured two elements of one look, it measured the same colours and the same ratio. The only differences were
#: elements it could not measure (partly scrolled out of a code block or the sidebar: "incomplete", never a
#: finding). So one element of each look stands for all of them, and one that is not clipped is preferred.
LOOKS_JS = """
const nnLooks = () => {
    const ids = new Map(), behind = new Map();
    const intern = s => { if (!ids.has(s)) ids.set(s, ids.size); return ids.get(s); };
    const backdrop = el => {                    // the ancestors' backgrounds and effects, as one number
        if (!el) return -1;
        if (!behind.has(el)) {
            const s = getComputedStyle(el);
            behind.set(el, intern([backdrop(el.parentElement), s.backgroundColor, s.backgroundImage, s.opacity,
                                   s.filter, s.mixBlendMode, s.backdropFilter].join("|")));
        }
        return behind.get(el);
    };
    const clipped = el => {                     // partly outside a box that scrolls or clips it
        const r = el.getBoundingClientRect();
        for (let a = el.parentElement; a; a = a.parentElement) {
            const s = getComputedStyle(a);
            if (s.overflowX === "visible" && s.overflowY === "visible") continue;
            const b = a.getBoundingClientRect();
            if (r.left < b.left || r.right > b.right || r.top < b.top || r.bottom > b.bottom) return true;
        }
        return false;
    };
    const textOf = el => ["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(el.tagName) ||
        [...el.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.data.trim());
    const chosen = new Map(), looks = new Map();   // look -> its element; element -> its look
    for (const el of document.body.querySelectorAll("*")) {
        if (!textOf(el)) continue;
        const s = getComputedStyle(el);
        const look = [backdrop(el), s.color, s.webkitTextFillColor, s.fontSize, s.fontWeight, s.textShadow,
                      s.webkitTextStrokeWidth, s.webkitTextStrokeColor,
                      el.checkVisibility({opacityProperty: true, visibilityProperty: true})].join("|");
        looks.set(el, look);
        const first = chosen.get(look);
        if (first === undefined || (first.clipped && !clipped(el))) chosen.set(look, {el, clipped: clipped(el)});
    }
    const kept = new Set([...chosen.values()].map(c => c.el));
    return {looks, duplicates: new Set([...looks.keys()].filter(el => !kept.has(el)))};
};
"""


def show(page, theme: str, axe_url: str | None = None) -> None:
    """The page in ``theme`` ("light" or "dark"), without transitions, with axe loaded (from ``axe_url``, or
    sent as text)."""
    page.evaluate("""(theme) => {  // without transitions: axe must see the colours, not a fade between them
        if (!document.getElementById("nn-no-transitions")) {
            const style = document.createElement("style");
            style.id = "nn-no-transitions";
            style.textContent = "*, *::before, *::after { transition: none !important; animation: none !important; }";
            document.head.appendChild(style);
        }
        document.documentElement.dataset.theme = theme;
        document.documentElement.dataset.mode = theme; }""", theme)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        if axe_url:
            page.add_script_tag(url=axe_url)
        else:
            page.add_script_tag(content=axe_source())


def run_axe(page, theme: str = "light", rules: list | None = None, axe_url: str | None = None,
            one_of_each_look: bool = False) -> list:
    """axe's violations on the page as shown in ``theme`` ("light" or "dark"), of all its rules or of
    ``rules`` only (["color-contrast"]: what a theme changes): a list of {id, impact, nodes, targets}
    (targets: the first few elements' selectors). ``axe_url``: where the page's server serves axe.min.js; a
    script loaded from a URL is compiled once for all pages (the browser caches its code), one sent as text is
    compiled on every page. ``one_of_each_look``: the contrast check measures one element of each look
    (LOOKS_JS) instead of every element with text: on a chapter, 50-150 elements instead of 800-2,800, and
    half the time of the check; every other rule still sees every element."""
    show(page, theme, axe_url)
    result = page.evaluate("""async ([rules, oneOfEachLook]) => {""" + LOOKS_JS + """
        // axe's own test of which elements its contrast rule measures, behind one that leaves out the
        // elements whose look was measured already (an element the scan did not see is measured)
        const contrast = axe._audit.rules.find(r => r.id === "color-contrast");
        if (!contrast.nnMatches) contrast.nnMatches = contrast.matches;
        const skip = oneOfEachLook ? nnLooks().duplicates : new Set();
        contrast.matches = function (node, ...rest) { return !skip.has(node) && contrast.nnMatches.call(this, node, ...rest); };
        const options = {resultTypes: ['violations']};
        if (rules) options.runOnly = {type: 'rule', values: rules};
        const r = await axe.run(document, options);
        return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                                       targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""", [rules, one_of_each_look])
    return result


def uniform_looks(page, theme: str = "light", axe_url: str | None = None) -> dict:
    """The contrast check of every element, grouped by look (LOOKS_JS): {"elements": measured, "looks": n,
    "mixed": the looks whose elements axe measured differently (other colours, another ratio, or a finding
    beside a pass), with what it found}. "mixed" empty: one element of each look says what all of them would."""
    show(page, theme, axe_url)
    return page.evaluate("""async () => {""" + LOOKS_JS + """
        const {looks} = nnLooks();
        const contrast = axe._audit.rules.find(r => r.id === "color-contrast");
        if (!contrast.nnMatches) contrast.nnMatches = contrast.matches;
        contrast.matches = contrast.nnMatches;           // every element
        const r = await axe.run(document, {runOnly: {type: 'rule', values: ['color-contrast']}, elementRef: true});
        const verdicts = new Map();              // look -> the set of verdicts axe gave its elements
        let elements = 0;
        for (const kind of ['passes', 'violations'])  // 'incomplete': elements axe could not measure
            for (const v of r[kind]) for (const n of v.nodes) {
                const d = (n.any[0] || {}).data || {};
                const look = looks.get(n.element) ?? `not scanned: ${n.target.join(' ')}`;
                if (!verdicts.has(look)) verdicts.set(look, new Set());
                verdicts.get(look).add(`${kind} ${d.contrastRatio} ${d.fgColor} on ${d.bgColor}`);
                elements += 1;
            }
        const mixed = [...verdicts].filter(([look, found]) => found.size > 1 || look.startsWith('not scanned'))
                                   .map(([look, found]) => ({look, found: [...found]}));
        return {elements, looks: verdicts.size, mixed};
    }""")


def serious(violations: list) -> list:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@functools.lru_cache(maxsize=None)
def serve(site: str) -> str:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=site))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}"


def pages(site: Path) -> list:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if "_static" not in p.parts and "lite" not in p.relative_to(site).parts[:1])


def open_page(context, url: str):
    page = context.new_page()
    page.goto(url, wait_until="load")
    if page.locator("script[src*='mathjax']").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
    return page


def weight(browser, base: str, path: str) -> dict:
    """Bytes and requests of one page loaded into an empty cache (every image loaded)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    sizes = []
    context.on("response", lambda r: sizes.append(len(r.body()) if r.ok else 0))
    page = open_page(context, f"{base}/{path}")
    page.evaluate("""() => Promise.all([...document.images].map(img => {
        img.loading = "eager"; return img.decode().catch(() => null); }))""")
    page.wait_for_load_state("networkidle")
    context.close()
    return {"bytes": sum(sizes), "requests": len(sizes)}


def audit(site: Path, chapter: str = "notebooks/03_softmax_cross_entropy.html") -> dict:
    from playwright.sync_api import sync_playwright

    base = serve(str(site))
    report = {"pages": {}, "looks": {}, "weight": {}, "overflow": {}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        for width, height in ((1280, 900), (390, 844)):
            context = browser.new_context(viewport={"width": width, "height": height})
            totals = dict.fromkeys(["blocks", "wide_blocks", "equations", "wide_equations", "unmarked_wide_equations",
                                    "figures", "figures_under_half", "figures_under_70"], 0)
            for path in pages(site):
                page = open_page(context, f"{base}/{path}")
                page.evaluate("""() => Promise.all([...document.images].map(img => {
                    img.loading = "eager"; return img.decode().catch(() => null); }))""")
                counts = page.evaluate(OVERFLOW_JS, BLOCKS)
                totals = {k: totals[k] + counts[k] for k in totals}
                if width == 1280:
                    report["pages"][path] = {theme: run_axe(page, theme) for theme in ("light", "dark")}
                    report["looks"][path] = {theme: uniform_looks(page, theme) for theme in ("light", "dark")}
                page.close()
            report["overflow"][width] = totals
            context.close()
        report["weight"][chapter] = weight(browser, base, chapter)
        browser.close()
    report["size"] = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    return report


def summary(report: dict) -> str:
    lines = [f"{'page':<48} {'light: nodes (serious)':>24} {'dark: nodes (serious)':>24}"]
    for path, themes in report["pages"].items():
        cells = [f"{sum(v['nodes'] for v in vs)} ({sum(v['nodes'] for v in serious(vs))})" for vs in themes.values()]
        lines.append(f"{path:<48} {cells[0]:>24} {cells[1]:>24}")
    for theme in ("light", "dark"):
        ids = {}
        for themes in report["pages"].values():
            for v in themes[theme]:
                ids[(v["id"], v["impact"])] = ids.get((v["id"], v["impact"]), 0) + v["nodes"]
        lines.append(f"{theme}: " + ", ".join(f"{i} [{imp}] {n}" for (i, imp), n in sorted(ids.items())))
    looks = [t for themes in report["looks"].values() for t in themes.values()]
    mixed = [(path, theme, m) for path, themes in report["looks"].items() for theme, t in themes.items() for m in t["mixed"]]
    lines.append(f"contrast by look: {sum(t['elements'] for t in looks)} elements measured in {sum(t['looks'] for t in looks)} "
                 f"looks ({len(looks)} page-themes); looks measured differently: {len(mixed)}")
    lines += [f"  {path} ({theme}): {m['look']}: {m['found']}" for path, theme, m in mixed]
    for width, t in report["overflow"].items():
        lines.append(f"{width} px: {t['wide_blocks']} of {t['blocks']} code/output blocks wider than their column; "
                     f"{t['wide_equations']} of {t['equations']} display equations "
                     f"({t['unmarked_wide_equations']} without a sign that they scroll); of {t['figures']} figures "
                     f"{t['figures_under_half']} shown at under half their size, {t['figures_under_70']} under 70%")
    for path, w in report["weight"].items():
        lines.append(f"{path}: {w['bytes'] / 1e6:.2f} MB in {w['requests']} requests")
    lines.append(f"site: {report['size'] / 1e6:.1f} MB")
    return "\n".join(lines)


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "build" / "book")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    report = audit(args.site)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(summary(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
