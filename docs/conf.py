"""Sphinx configuration of chainrule's documentation: ``make -C docs html``.

The gallery runs every script of ``examples/`` and ``docs/tutorials/`` and shows its printed
numbers and figures; ``CHAINRULE_DOCS_FAST=1`` runs the examples in their fast mode (CI). The
API pages and the op table are made from the code at build time (``_ext/``), so they cannot drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent / "src"))  # the checkout's chainrule, installed or not

import chainrule  # noqa: E402

project = "chainrule"
author = "the chainrule developers"
copyright = "chainrule developers"  # noqa: A001 - Sphinx's name
release = version = chainrule.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx.ext.napoleon",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "api_pages",
    "op_table",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "tutorials/GALLERY_HEADER.rst"]
templates_path: list[str] = []

# -- API reference ----------------------------------------------------------------------------
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autosummary_generate = False  # the package pages document every name themselves
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_custom_sections = ["Shapes"]  # the house style's section stating shapes
napoleon_use_ivar = True  # "Attributes" as fields: autodoc documents the attributes themselves

# -- gallery ----------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["../examples", "tutorials"],
    "gallery_dirs": ["auto_examples", "auto_tutorials"],
    "filename_pattern": r"/\d\d_",  # every numbered script runs
    "ignore_pattern": r"__init__\.py|(^|[/\\])_\w*\.py$",  # helpers: _name.py
    "within_subsection_order": "FileNameSortKey",
    "reset_argv": "gallery_files.reset_argv",
    "image_scrapers": ("gallery_files.scrape_outputs",),
    "reset_modules": ("matplotlib",),
    "capture_repr": ("__repr__",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "line_numbers": False,
    "plot_gallery": "True",
}

# -- HTML -------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "chainrule"
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_static_path: list[str] = []
html_show_sourcelink = True
myst_heading_anchors = 3
