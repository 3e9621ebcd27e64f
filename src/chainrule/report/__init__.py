"""The report of a finished ``chainrule train`` run: one self-contained HTML page (figures as
SVG or PNG data URIs, the graph as inline SVG, the style in the page; nothing fetched from
anywhere), drawn from a ``RunRecord`` that the application fills in. It reads values, never
the run that made them: ``chainrule.app`` imports the report, not the other way round."""

from ._figures import figures
from ._html import METRIC_LABELS, render
from ._record import Boundary, RunRecord

__all__ = ["METRIC_LABELS", "Boundary", "RunRecord", "figures", "render"]
