"""The figures' alt texts: list the figures without one, or write book/alt_text.json into the notebooks.

    python book/alt_text.py missing   # the figures (notebook, cell id, first line) with no alt text; exit 1 if any
    python book/alt_text.py apply     # write each text into its cell's metadata (mystnb.image.alt), where
                                      # JupyterLab keeps it with the cell and MyST-NB reads it

A figure is a code cell's image output or a panel's stored picture. Its alt text is book/alt_text.json's
entry (notebook name -> cell id -> text), else the cell's own metadata; book/build.py reads both.
``apply`` changes only the metadata of the cells it names, and writes the notebook back as Jupyter does
(one-space indent, a final newline); it says which entries match no cell (a cell renamed or removed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALT_TEXT = ROOT / "book" / "alt_text.json"


def figures(notebook: dict) -> list:
    """The code cells of ``notebook`` that show a picture."""
    found = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            data = output.get("data", {})
            html = "".join(data.get("text/html", ""))
            if any(k.startswith("image/") for k in data) or ("nn-panel-picture" in html and "<img" in html):
                found.append(cell)
                break
    return found


def own_alt(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt")


def load(path: Path = ALT_TEXT) -> dict:
    texts = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {name: cells for name, cells in texts.items() if isinstance(cells, dict)}


def missing(series: Path, texts: dict) -> list:
    """(notebook, cell id, first source line) of every figure without an alt text."""
    found = []
    for path in sorted(series.glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in figures(notebook):
            if not texts.get(path.stem, {}).get(cell.get("id")) and not own_alt(cell):
                source = "".join(cell["source"]).strip().splitlines()
                found.append((path.name, cell.get("id"), source[0] if source else ""))
    return found


def apply(series: Path, texts: dict) -> tuple:
    """Write the texts into the cells' metadata. Returns (cells changed, entries that match no figure)."""
    changed, unmatched = 0, []
    for name, cells in texts.items():
        path = series / f"{name}.ipynb"
        if not path.exists():
            unmatched.extend(f"{name}/{cell_id}" for cell_id in cells)
            continue
        notebook = json.loads(path.read_text(encoding="utf-8"))
        by_id = {cell.get("id"): cell for cell in figures(notebook)}
        before = changed
        for cell_id, text in cells.items():
            cell = by_id.get(cell_id)
            if cell is None:
                unmatched.append(f"{name}/{cell_id}")
            elif own_alt(cell) != text:
                mystnb = cell.setdefault("metadata", {}).setdefault("mystnb", {})
                mystnb["image"] = {**mystnb.get("image", {}), "alt": text}
                changed += 1
        if changed > before:
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed, unmatched


def main(argv: list) -> int:
    if argv not in (["missing"], ["apply"]):
        print(__doc__, file=sys.stderr)
        return 2
    series, texts = ROOT / "notebooks", load()
    if argv == ["apply"]:
        changed, unmatched = apply(series, texts)
        print(f"{changed} cells given their alt text in notebooks/")
        if unmatched:
            print("In book/alt_text.json but no figure has that id (renamed or removed?): " + ", ".join(unmatched))
        return 0
    gaps = missing(series, texts)
    for name, cell_id, first in gaps:
        print(f"{name}: cell {cell_id}: {first[:70]}")
    print(f"{len(gaps)} figures without an alt text" if gaps else "Every figure has an alt text.")
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
