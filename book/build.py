"""Build the book: the series as a static website in build/book/, from the notebooks' stored outputs.

    python book/build.py          # what `python3 dev.py book` runs, inside .venv

The sources are laid out in build/book-src/ first (both folders are git-ignored):
- index.md: the README's introduction (up to its notebook table) and the table of contents, made from
  notebooks/*.ipynb at every build, so that a new notebook is a new chapter without a list to edit;
- notebooks/: the notebooks and NOTATION.md, copied as they are, less the notebooks' stored widget
  state: the book shows the picture each panel stores beside its widget view, and loads no widget manager.
Nothing is executed. Sphinx (book/conf.py) writes the site; the path of its index.html is printed.
"""

from __future__ import annotations

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
#: The README's introduction ends where this heading starts.
END_OF_INTRO = "## The notebooks"


def chapters(series: Path) -> list:
    """The notebooks in reading order: the numbered ones (01_..., 02_..., 11_...), then the others."""
    notebooks = sorted(series.glob("*.ipynb"))
    numbered = [p for p in notebooks if re.match(r"\d+_", p.name)]
    return numbered + [p for p in notebooks if p not in numbered]


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading ("Quick start" -> "quick-start")."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def introduction(readme: str) -> str:
    """The README up to its table of notebooks (which the book's table of contents replaces). A link to
    a section of the README beyond that point becomes plain text: the book has no such section."""
    if END_OF_INTRO not in readme:
        raise ValueError(f"README.md has no {END_OF_INTRO!r} heading: the book's landing page ends there")
    intro = readme.split(END_OF_INTRO, 1)[0].rstrip() + "\n"
    anchors = {anchor(h) for h in re.findall(r"^#+ (.+)$", intro, flags=re.M)}
    return re.sub(r"\[([^\]]+)\]\(#([^)]+)\)",
                  lambda m: m.group(0) if m.group(2) in anchors else m.group(1), intro)


def index_page(readme: str, series: Path) -> str:
    """index.md: the README's introduction, then the chapters and NOTATION as a table of contents."""
    entries = [f"notebooks/{p.stem}" for p in chapters(series)]
    if (series / "NOTATION.md").exists():
        entries.append("notebooks/NOTATION")
    if (series.parent / "book" / "teachers.md").exists():   # the teacher's guide (not in a class edition's book)
        entries.append("teachers")
    toc = "\n".join(["```{toctree}", ":maxdepth: 1", ":caption: Chapters", "", *entries, "```", ""])
    return introduction(readme) + "\n" + toc


def lay_out(root: Path = ROOT, source: Path = SOURCE) -> Path:
    """Write build/book-src/ afresh from the repository's files; returns its path."""
    if source.exists():
        shutil.rmtree(source)
    (source / "notebooks").mkdir(parents=True)
    series = root / "notebooks"
    for path in chapters(series):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        notebook["metadata"].pop("widgets", None)
        (source / "notebooks" / path.name).write_text(json.dumps(notebook), encoding="utf-8")
    if (series / "NOTATION.md").exists():
        shutil.copy2(series / "NOTATION.md", source / "notebooks" / "NOTATION.md")
    if (root / "book" / "teachers.md").exists():
        shutil.copy2(root / "book" / "teachers.md", source / "teachers.md")
    readme = (root / "README.md").read_text(encoding="utf-8")
    (source / "index.md").write_text(index_page(readme, series), encoding="utf-8")
    return source


def main(argv: list) -> int:
    from sphinx.cmd.build import build_main

    start = time.perf_counter()
    source = lay_out()
    if OUTPUT.exists():  # a full build every time: a removed chapter must not stay behind
        shutil.rmtree(OUTPUT)
    code = build_main(["-b", "html", "-q", "-c", str(BOOK), "-d", str(ROOT / "build" / "book-doctrees"),
                       *argv, str(source), str(OUTPUT)])
    if code == 0:
        print(f"The book ({time.perf_counter() - start:.0f} s): {OUTPUT / 'index.html'}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
