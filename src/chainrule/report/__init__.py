"""The report of a finished ``chainrule train`` run: one self-contained HTML page (figures as
PNG data URIs, the graph as inline SVG, the style in the page)."""

from ._figures import figures
from ._html import render

__all__ = ["figures", "render"]
