"""Build the book: the series as a static website in build/book/, from the notebooks' stored outputs.

    python book/build.py          # what `python3 dev.py book` runs, inside .venv

The sources are laid out in build/book-src/ first (both folders are git-ignored):
- index.md: the README's introduction and its table of what each notebook teaches, then the table of
  contents (the sidebar's), made from notebooks/*.ipynb at every build, so that a new notebook is a new
  chapter without a list to edit;
- notebooks/: the notebooks and NOTATION.md, copied with what a reader should not meet taken out
  (``for_the_book``): the stored widget state (the book shows the picture each panel stores beside its
  widget view, and loads no widget manager), the ``# NBVAL_IGNORE_OUTPUT`` line of the tests, the stored
  "not done yet" outputs of the exercises' checkers; and with what the reader needs put in: each figure's
  alt text (book/alt_text.json), each panel picture's title and the state of its sliders, and a picture of
  the panels that store none (the drawing pad, the playground's training panel: the README's pictures).
Nothing is executed. Sphinx (book/conf.py) writes the site; the path of its index.html is printed. The
notebooks themselves are copied into the site as they are (less the widget state), for the download link.

    python book/build.py --lite   # also copy the JupyterLite site (build/lite/, python3 dev.py lite) into
                                  # build/book/lite/: each chapter then has a "Run in the browser" button
"""

from __future__ import annotations

import base64
import html as html_module
import json
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SOURCE = ROOT / "build" / "book-src"
OUTPUT = ROOT / "build" / "book"
LITE = ROOT / "build" / "lite"
#: The README's introduction ends where this heading starts; its table of notebooks follows.
END_OF_INTRO = "## The notebooks"
ALT_TEXT = BOOK / "alt_text.json"
#: The first line of a widget cell for nbval, which means nothing to a reader.
MARKER = re.compile(r"\A# NBVAL_IGNORE_OUTPUT[ \t]*\n?")
#: What a checker prints before the learner has done anything: the book does not show it.
UNSOLVED = re.compile(r": not done yet\. Write your code|\A0 of \d+ exercises solved|\AThe capstone needs \d+ more")
#: Panels that store no picture of themselves (they show nothing until drawn on or trained): the README's
#: picture of one, with what it shows. Keyed by the panel's first words.
PANEL_STAND_INS = {
    "Draw a digit": ("docs/drawing_pad.png", "drawing pad",
                     "The drawing pad in JupyterLab: a 7 drawn with the mouse in a white box, the 28 x 28 image "
                     "the network sees, and a bar chart of its probabilities with 7 at 100%."),
    "Press <b>Train</b>": ("docs/panel_training.png", "training panel",
                           "The training panel in JupyterLab after a run: sliders for learning rate 0.1, 32 hidden "
                           "units, batch size 64 and 5 epochs, the optimizer and init menus, Train and Stop "
                           "buttons, validation accuracy 0.9070, and loss and accuracy curves over 5 epochs."),
}


def chapters(series: Path) -> list:
    """The notebooks in reading order: the numbered ones (01_..., 02_..., 11_...), then the others."""
    notebooks = sorted(series.glob("*.ipynb"))
    numbered = [p for p in notebooks if re.match(r"\d+_", p.name)]
    return numbered + [p for p in notebooks if p not in numbered]


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading ("Quick start" -> "quick-start")."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def introduction(readme: str) -> str:
    """The README up to its notebooks heading. A link to a section of the README beyond that point (but
    the notebooks' own) becomes plain text: the book has no such section."""
    if END_OF_INTRO not in readme:
        raise ValueError(f"README.md has no {END_OF_INTRO!r} heading: the book's landing page ends there")
    intro = readme.split(END_OF_INTRO, 1)[0].rstrip() + "\n"
    anchors = {anchor(h) for h in re.findall(r"^#+ (.+)$", intro, flags=re.M)} | {anchor(END_OF_INTRO.lstrip("# "))}
    return re.sub(r"\[([^\]]+)\]\(#([^)]+)\)",
                  lambda m: m.group(0) if m.group(2) in anchors else m.group(1), intro)


def notebook_table(readme: str) -> str:
    """The README's table of what each notebook teaches (the first table after its notebooks heading).
    Its links (``notebooks/01_data.ipynb``) lead to the chapters: MyST resolves them to the pages."""
    table, after = [], readme.split(END_OF_INTRO, 1)[1].lstrip("\n").splitlines()
    for line in after:
        if line.startswith("|"):
            table.append(line)
        elif table or line.startswith("#"):
            break
    if not table:
        raise ValueError(f"README.md has no table under {END_OF_INTRO!r}: the book's landing page shows it")
    return "\n".join(table) + "\n"


def index_page(readme: str, series: Path) -> str:
    """index.md: the README's introduction, its table of notebooks, and the table of contents (hidden:
    the sidebar shows it) of the chapters and the other pages."""
    entries = [f"notebooks/{p.stem}" for p in chapters(series)]
    if (series / "NOTATION.md").exists():
        entries.append("notebooks/NOTATION")
    teachers = (series.parent / "book" / "teachers.md").exists()   # the teacher's guide (not in a class edition's book)
    if teachers:
        entries.append("teachers")
    toc = "\n".join(["```{toctree}", ":maxdepth: 1", ":caption: Chapters", ":hidden:", "", *entries, "```", ""])
    notation = ("\nEvery symbol of the series, in one table: [the notation](notebooks/NOTATION.md).\n"
                if (series / "NOTATION.md").exists() else "")
    if teachers:
        notation += "\nFor teachers: [the teacher's guide](teachers.md), the class edition and the grader.\n"
    return (introduction(readme) + "\n" + END_OF_INTRO + "\n\n" + notebook_table(readme) + notation
            + "\n" + toc)


def text(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def widget_state(notebook: dict) -> dict:
    return notebook["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})


def panel_state(state: dict, model_id: str) -> list:
    """The controls of the panel whose view is ``model_id``, as the notebook stored them: ["z0 = 2",
    "optimizer = momentum", ...] (from the widget state the notebook saved with its outputs)."""
    found, todo = [], [model_id]
    while todo:
        model = state.get(todo.pop(0).replace("IPY_MODEL_", ""), {})
        fields = model.get("state", {})
        todo.extend(c for c in fields.get("children", []) if isinstance(c, str))
        name, description = model.get("model_name", ""), str(fields.get("description", "")).strip()
        if not description:
            continue
        if name.endswith(("SliderModel", "TextModel", "CheckboxModel", "ToggleButtonModel")) and "value" in fields:
            value = fields["value"]
            value = f"{value:g}" if isinstance(value, float) else ("on" if value is True else "off" if value is False else value)
            found.append(f"{description.rstrip(':')} = {value}")
        elif name in ("DropdownModel", "RadioButtonsModel", "ToggleButtonsModel", "SelectModel") \
                and isinstance(fields.get("index"), int) and fields.get("_options_labels"):
            found.append(f"{description.rstrip(':')} = {fields['_options_labels'][fields['index']]}")
    return found


def panel_picture(html: str, alt: str | None, controls: list, root: Path) -> str:
    """The panel's stored picture (text/html) with a line above it naming the panel and the state of its
    sliders, and its alt text; a panel that stores no picture gets the README's picture of one."""
    title = re.search(r'<img [^>]*alt="([^"]*)"', html)
    title = html_module.unescape(title.group(1)) if title else None
    for words, (picture, name, stand_in_alt) in PANEL_STAND_INS.items():
        if title is None and words in html:
            png = base64.b64encode((root / picture).read_bytes()).decode("ascii")
            live = re.search(r'<p class="nn-live">.*?</p>', html, flags=re.S)
            caption = f"The {name}, as it looks in JupyterLab (here only a picture: run the chapter to use it)"
            return (f'<div class="nn-panel-picture"><p class="nn-panel-title">{caption}</p>'
                    f'<img src="data:image/png;base64,{png}" alt="{html_module.escape(alt or stand_in_alt)}">'
                    f'{live.group(0) if live else ""}</div>')
    if title is None:
        return html
    caption = f"<b>{html_module.escape(title[:1].upper() + title[1:])}</b>"
    if controls:
        caption += ", shown with " + html_module.escape(", ".join(controls))
    html = html.replace('<div class="nn-panel-picture">', f'<div class="nn-panel-picture"><p class="nn-panel-title">{caption}</p>', 1)
    if alt:
        html = re.sub(r'(<img [^>]*alt=")[^"]*(")', lambda m: m.group(1) + html_module.escape(f"{title}: {alt}") + m.group(2), html, count=1)
    return html


def cell_alt(cell: dict, alts: dict) -> str | None:
    """A figure's alt text: book/alt_text.json's, else the cell's own (metadata mystnb.image.alt)."""
    return alts.get(cell.get("id")) or cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt")


def for_the_book(notebook: dict, alts: dict, root: Path = ROOT) -> list:
    """Change ``notebook`` (a copy) into what the book shows; returns the ids of the cells whose figures
    have no alt text (book/alt_text.json, or the cell's metadata mystnb.image.alt)."""
    state = widget_state(notebook)
    notebook["metadata"].pop("widgets", None)
    missing = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        cell["source"] = MARKER.sub("", text(cell["source"]))
        cell["outputs"] = [o for o in cell.get("outputs", [])
                           if not (o["output_type"] == "stream" and UNSOLVED.search(text(o.get("text", ""))))]
        alt = cell_alt(cell, alts)
        for output in cell["outputs"]:
            data = output.get("data", {})
            html = text(data.get("text/html", ""))
            if "<th></th>" in html:  # pandas' corner above the index: an empty header cell (axe: empty-table-header)
                data["text/html"] = html = html.replace("<th></th>", "<td></td>")
            if "nn-panel-picture" in html:
                view = data.get("application/vnd.jupyter.widget-view+json", {}).get("model_id", "")
                data["text/html"] = panel_picture(html, alt, panel_state(state, view), root)
                if "<img" in data["text/html"] and not alt and not any(w in html for w in PANEL_STAND_INS):
                    missing.append(cell.get("id"))
            elif any(key.startswith("image/") for key in data):
                if alt:
                    meta = cell.setdefault("metadata", {}).setdefault("mystnb", {})
                    meta["image"] = {**meta.get("image", {}), "alt": alt}
                elif cell.get("id") not in missing:
                    missing.append(cell.get("id"))
    return missing


def write_if_changed(path: Path, text: str, written: set) -> None:
    """Write ``text`` unless ``path`` holds it already: Sphinx reads again only the sources that changed."""
    written.add(path)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def lay_out(root: Path = ROOT, source: Path = SOURCE, alt_text: Path = ALT_TEXT) -> Path:
    """Write build/book-src/ from the repository's files (only what changed; what is no longer made goes);
    returns its path. Figures without an alt text are named on stderr (the book's test fails on them).

    ``alt_text``: the figures' alt texts, keyed by notebook and cell id: the series' book/alt_text.json,
    also for an edition of the series laid out from another ``root`` (a class edition has no book/ of its
    own, and its notebooks keep the series' cell ids)."""
    (source / "notebooks").mkdir(parents=True, exist_ok=True)
    written = set()
    series = root / "notebooks"
    alt_texts = json.loads(alt_text.read_text(encoding="utf-8")) if alt_text.exists() else {}
    for path in chapters(series):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        missing = for_the_book(notebook, alt_texts.get(path.stem, {}), root)
        if missing:
            print(f"{path.name}: figures without an alt text (book/alt_text.json) in cells {', '.join(map(str, missing))}",
                  file=sys.stderr)
        write_if_changed(source / "notebooks" / path.name, json.dumps(notebook), written)
    if (series / "NOTATION.md").exists():
        write_if_changed(source / "notebooks" / "NOTATION.md", (series / "NOTATION.md").read_text(encoding="utf-8"), written)
    if (root / "book" / "teachers.md").exists():   # the teacher's guide (a class edition's root has no book/)
        write_if_changed(source / "teachers.md", (root / "book" / "teachers.md").read_text(encoding="utf-8"), written)
        picture = root / "book" / "class_report.png"   # the class report it shows (tests/test_grade.py makes it)
        if picture.exists():
            written.add(source / picture.name)
            if not (source / picture.name).exists() or (source / picture.name).read_bytes() != picture.read_bytes():
                shutil.copy2(picture, source / picture.name)
    readme = (root / "README.md").read_text(encoding="utf-8")
    write_if_changed(source / "index.md", index_page(readme, series), written)
    for path in [p for p in source.rglob("*") if p.is_file() and p not in written]:
        path.unlink()  # a chapter removed from notebooks/
    return source


def smaller_png(data: bytes) -> bytes:
    """The same picture in fewer bytes, pixel for pixel: without an alpha channel that is opaque everywhere,
    as a palette when it has at most 256 colours (checked exact), compressed with Pillow's ``optimize``; the
    original when nothing is smaller. The notebooks' figures are 2x PNGs ("retina"), so every byte counts
    twice as often."""
    import io

    from PIL import Image, ImageChops
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:      # not a picture Pillow reads: left as it is
        return data
    keep = {key: image.info[key] for key in ("dpi",) if key in image.info}
    if image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")
    candidates = [image]
    if image.mode in ("RGB", "RGBA", "L") and image.getcolors(256) is not None:
        method = Image.Quantize.FASTOCTREE if image.mode == "RGBA" else Image.Quantize.MEDIANCUT
        palette = image.quantize(colors=256, method=method, dither=Image.Dither.NONE)
        if ImageChops.difference(palette.convert(image.mode), image).getbbox() is None:    # exact
            candidates.insert(0, palette)
    best = data
    for candidate in candidates:
        out = io.BytesIO()
        candidate.save(out, "PNG", optimize=True, **keep)
        if len(out.getvalue()) < len(best):
            best = out.getvalue()
    return best


PNG_CACHE = ROOT / "build" / "png-cache"


def smaller_png_cached(data: bytes, cache: Path = PNG_CACHE) -> bytes:
    """``smaller_png(data)``, kept in ``cache`` under the SHA-256 of ``data``: a figure that did not change since
    the last build is not compressed again (that took most of a rebuild's seconds)."""
    import hashlib
    kept = cache / f"{hashlib.sha256(data).hexdigest()}.png"
    if kept.is_file():
        return kept.read_bytes()
    smaller = smaller_png(data)
    cache.mkdir(parents=True, exist_ok=True)
    partial = kept.with_suffix(f".{time.time_ns()}.part")  # two builds at once never read half a file
    partial.write_bytes(smaller)
    partial.replace(kept)
    return smaller


def lighten_images(output: Path) -> tuple:
    """Every PNG the book wrote (``_images/``), made smaller without changing a pixel; (bytes before, after)."""
    before = after = 0
    for path in sorted((output / "_images").glob("*.png")):
        data = path.read_bytes()
        smaller = smaller_png_cached(data)
        before, after = before + len(data), after + len(smaller)
        if len(smaller) < len(data):
            path.write_bytes(smaller)
    return before, after


def lighten_outputs(notebook: dict, images: Path | None = None) -> None:
    """The notebook's stored PNG outputs made smaller without changing a pixel (for the downloads). ``images``:
    the site's _images/, where MyST-NB wrote each figure under the SHA-256 of its bytes and lighten_images
    made it smaller already: that copy is taken instead of compressing the figure again."""
    import hashlib
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                png = base64.b64decode(text(data["image/png"]))
                done = images / f"{hashlib.sha256(png).hexdigest()}.png" if images is not None else None
                smaller = done.read_bytes() if done is not None and done.is_file() else smaller_png_cached(png)
                data["image/png"] = base64.b64encode(smaller).decode("ascii")


def downloads(series: Path, output: Path) -> None:
    """Each chapter's notebook beside its page (notebooks/NAME.ipynb), as in the repository, with its
    stored outputs, less the widget state (which only a live kernel can use)."""
    for path in chapters(series):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        notebook["metadata"].pop("widgets", None)
        lighten_outputs(notebook, output / "_images")
        (output / "notebooks" / path.name).write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n",
                                                      encoding="utf-8")


def options(argv: list) -> tuple:
    """(lite folder or None, output folder, the arguments for Sphinx) from ``--lite[=DIR]`` and ``--out DIR``."""
    lite, output, rest = None, OUTPUT, []
    args = iter(argv)
    for arg in args:
        if arg == "--lite" or arg.startswith("--lite="):
            lite = Path(arg.split("=", 1)[1]) if "=" in arg else LITE
        elif arg == "--out":
            output = Path(next(args)).resolve()
        else:
            rest.append(arg)
    return lite, output, rest


def main(argv: list) -> int:
    from sphinx.cmd.build import build_main

    start = time.perf_counter()
    lite, output, rest = options(argv)
    if lite is not None and not (lite / "lab" / "index.html").is_file():
        print(f"{lite} holds no JupyterLite site (no lab/index.html): build it first with `python3 dev.py lite`",
              file=sys.stderr)
        return 2
    source = lay_out()
    if output.exists():  # a full build every time: a removed chapter must not stay behind
        shutil.rmtree(output)
    output.mkdir(parents=True)
    if lite is not None:  # first: the pages link to it when it is there (book/conf.py)
        shutil.copytree(lite, output / "lite")
    doctrees = ROOT / "build" / "book-doctrees"  # what Sphinx read: a source that did not change is not read again
    code = build_main(["-b", "html", "-q", "-c", str(BOOK), "-d", str(doctrees), *rest, str(source), str(output)])
    if code == 0:
        before, after = lighten_images(output)
        print(f"The figures: {before / 1e6:.2f} MB, {after / 1e6:.2f} MB once optimised (the same pixels)")
        downloads(ROOT / "notebooks", output)
        print(f"The book ({time.perf_counter() - start:.0f} s): {output / 'index.html'}"
              + (f", with the JupyterLite site in {output / 'lite'}" if lite is not None else ""))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
