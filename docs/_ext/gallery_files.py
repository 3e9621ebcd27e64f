"""How sphinx-gallery runs chainrule's examples and tutorials, and shows what they draw.

* ``reset_argv``: each example runs as ``python examples/NN_name.py --out DIR`` with a folder of
  its own under ``docs/_build/gallery-files``, plus ``--fast`` when ``CHAINRULE_DOCS_FAST=1`` (the
  CI build: the same fast mode the test suite runs). Tutorials take no arguments.
* ``scrape_outputs``: chainrule's plots are made without pyplot (``matplotlib.figure.Figure``
  objects) and the examples save theirs to files, so sphinx-gallery's pyplot scraper sees none of
  them. After each code block this scraper shows every PNG or SVG file the script wrote into its
  folder since the last block, and every ``Figure`` bound to a global name that is new or changed.
"""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path
from typing import Any

OUTPUT_ROOT = Path(__file__).resolve().parents[1] / "_build" / "gallery-files"
IMAGE_SUFFIXES = (".png", ".svg")

# files (path, modification time) and figures already shown, per script; the figures are kept
# so that a new figure never gets a shown one's id
_SEEN: dict[str, tuple[set[tuple[str, int]], list[Any]]] = {}


def fast_mode() -> bool:
    """Whether the gallery runs in its fast mode (``CHAINRULE_DOCS_FAST=1``, set by CI)."""
    return os.environ.get("CHAINRULE_DOCS_FAST", "") not in ("", "0")


def output_dir(src_file: str | os.PathLike[str]) -> Path:
    """The folder a script writes its files into: ``_build/gallery-files/<script name>``."""
    return OUTPUT_ROOT / Path(src_file).stem


def reset_argv(gallery_conf: dict[str, Any], script_vars: dict[str, Any]) -> list[str]:
    """Command-line arguments for an example (``--out DIR`` and, in fast mode, ``--fast``)."""
    src_file = Path(script_vars["src_file"])
    # sphinx-gallery shows the docstring as text and runs the rest: give the script its
    # ``__doc__`` back, as ``python script.py`` would (the examples' argparse help reads it)
    docstring = ast.get_docstring(ast.parse(src_file.read_text(encoding="utf-8")), clean=False)
    script_vars["example_globals"]["__doc__"] = docstring
    if src_file.parent.name != "examples":
        return []
    out = output_dir(src_file)
    shutil.rmtree(out, ignore_errors=True)  # a fresh folder: the images shown are this run's
    _SEEN.pop(str(src_file), None)
    return ["--out", str(out)] + (["--fast"] if fast_mode() else [])


def scrape_outputs(block: Any, block_vars: dict[str, Any], gallery_conf: dict[str, Any]) -> str:
    """reST showing the images a code block produced (see the module docstring)."""
    from matplotlib.figure import Figure
    from sphinx_gallery.scrapers import figure_rst

    src_file = str(block_vars["src_file"])
    files, figures = _SEEN.setdefault(src_file, (set(), []))
    images = []
    out = output_dir(src_file)
    if out.is_dir():
        for path in sorted(p for p in out.rglob("*") if p.suffix in IMAGE_SUFFIXES):
            key = (str(path), path.stat().st_mtime_ns)
            if key not in files:
                files.add(key)
                target = Path(next(block_vars["image_path_iterator"])).with_suffix(path.suffix)
                shutil.copyfile(path, target)
                images.append(target)
    for name, value in list(block_vars["example_globals"].items()):
        if isinstance(value, Figure) and not name.startswith("_"):
            if not any(value is shown for shown in figures):
                figures.append(value)
                target = Path(next(block_vars["image_path_iterator"]))
                value.savefig(target, dpi=90, bbox_inches="tight")
                images.append(target)
    return figure_rst(images, gallery_conf["src_dir"]) if images else ""
