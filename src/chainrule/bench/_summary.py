"""The goals of issue 17 and the one summary table that judges every workload against them.

A workload's result is a dict: ``workload`` ("W2"), ``name``, ``unit``, ``figures`` (lower is
better: seconds, microseconds, MiB) keyed by library, and optionally ``case`` ("digits"),
``test_error`` or ``test_accuracy`` (fractions, keyed by library), ``skipped`` (why it did not
run: its goals are not judged) and ``error`` (why it failed: its goals are not met).
chainrule's figures are the keys that start with ``"chainrule"``: ``"chainrule"`` (eager) and
``"chainrule (compiled)"``; a goal applies to the best of them. The other keys are references:
``"numpy"`` (the hand-written loop), ``"torch"``, ``"sklearn"``, ``"floor"`` (the workload's
matrix products alone).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8")
EAGER, COMPILED = "chainrule", "chainrule (compiled)"
REFERENCES = {
    "numpy": "NumPy by hand",
    "torch": "PyTorch",
    "sklearn": "scikit-learn",
    "floor": "its GEMMs alone",
}
QUALITIES = {"test_error": "test error %", "test_accuracy": "test accuracy %"}


@dataclass(frozen=True)
class Goal:
    """One goal: chainrule's best figure over a reference's at most ``limit`` (a ratio); with
    ``reference`` None, chainrule's figure at most ``limit`` in the workload's unit; with a
    ``quality`` ("test_error", "test_accuracy"), chainrule's within ``limit`` points of the
    reference's."""

    reference: str | None
    limit: float
    quality: str | None = None

    def text(self, unit: str) -> str:
        if self.quality is not None:
            return f"within {self.limit:g} pts"
        if self.reference is None:
            return f"<= {self.limit:g} {unit}"
        return f"<= {self.limit:g}x"


# Issue 17's table ("Goals"); W5 (import chainrule < 0.3 s) from the developers' guide and W7
# (peak memory at most PyTorch's) as the benchmarks had them before.
GOALS: dict[str, tuple[Goal, ...]] = {
    "W1": (Goal("torch", 0.5),),
    "W2": (Goal("numpy", 1.2), Goal("sklearn", 0.4)),
    "W3": (Goal("torch", 0.75), Goal("floor", 1.3)),
    # the same test error after 5 epochs, within 0.3 percentage points
    "W4": (Goal("torch", 0.75), Goal("torch", 0.3, "test_error")),
    "W5": (Goal(None, 0.3),),
    "W6": (Goal("sklearn", 0.5), Goal("sklearn", 0.3, "test_accuracy")),
    "W7": (Goal("torch", 1.0),),
    "W8": (Goal(None, 2.0),),
}


@dataclass(frozen=True)
class Line:
    """One line of the summary: a workload's chainrule figures against one reference.

    ``ratio`` is chainrule's best over the reference's figure, or for a quality the
    difference in points; ``met`` is None where there is no goal or nothing to judge."""

    row: str
    measure: str
    chainrule: float | None
    compiled: float | None
    reference: str
    figure: float | None
    ratio: float | None
    goal: str
    met: bool | None
    note: str = ""


def _title(result: dict) -> str:
    """The workload, its name and its case, e.g. "W6 fit digits, 50 epochs"."""
    return " ".join(filter(None, [result["workload"], result.get("name"), result.get("case")]))


def _best(values: dict) -> float | None:
    ours = [v for k, v in values.items() if k.startswith(EAGER) and v is not None]
    return min(ours) if ours else None


def _judge(result: dict, goal: Goal | None, reference: str | None) -> Line:
    """The line of ``result`` against ``reference``, judged by ``goal`` (None: shown only)."""
    unit = result.get("unit", "")
    quality = goal.quality if goal is not None else None
    if quality is not None:
        values = {k: 100 * v for k, v in result.get(quality, {}).items() if v is not None}
    else:
        values = dict(result.get("figures", {}))
    theirs = values.get(reference) if reference is not None else None
    ours = values.get(EAGER), values.get(COMPILED)
    best = _best(values)
    if quality is not None:
        # every chainrule path must match the reference, not only the fastest
        diffs = [v - theirs for v in ours if v is not None] if theirs is not None else []
        ratio = max(diffs, key=abs) if diffs else None
    else:
        ratio = best / theirs if best is not None and theirs else None
    met, note = _met(result, goal, best, theirs, ratio) if goal is not None else (None, "")
    return Line(
        _title(result),
        QUALITIES[quality] if quality is not None else unit,
        *ours,
        REFERENCES.get(reference, reference) if reference is not None else "",
        theirs,
        ratio,
        goal.text(unit) if goal is not None else "",
        met,
        note,
    )


def _met(
    result: dict, goal: Goal, best: float | None, theirs: float | None, ratio: float | None
) -> tuple[bool | None, str]:
    """Whether ``goal`` is met (None: nothing to judge) and a note saying why not judged."""
    if result.get("error"):
        return False, f"failed: {result['error']}"
    if result.get("skipped"):
        return None, f"skipped: {result['skipped']}"
    if goal.reference is None:
        return (None, "no chainrule figure") if best is None else (best <= goal.limit, "")
    if theirs is None:
        return None, f"no {REFERENCES.get(goal.reference, goal.reference)} figure"
    if ratio is None:
        return None, "no chainrule figure"
    return (abs(ratio) if goal.quality is not None else ratio) <= goal.limit, ""


def summary_lines(results: Iterable[object]) -> list[Line]:
    """Every result's lines, in the order of :data:`WORKLOADS`: one per goal (:data:`GOALS`),
    then one per reference without one. Results without a known ``workload`` are left out."""
    known = [r for r in results if isinstance(r, dict) and r.get("workload") in WORKLOADS]
    lines = []
    for result in sorted(known, key=lambda r: WORKLOADS.index(r["workload"])):
        goals = GOALS.get(result["workload"], ())
        lines += [_judge(result, goal, goal.reference) for goal in goals]
        judged = {g.reference for g in goals if g.quality is None}
        others = [k for k in result.get("figures", {}) if not k.startswith(EAGER)]
        lines += [_judge(result, None, k) for k in others if k not in judged]
    return lines


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


def _ratio(line: Line) -> str:
    if line.ratio is None:
        return "-"
    return f"{line.ratio:+.2f} pts" if line.measure in QUALITIES.values() else f"{line.ratio:.2f}x"


def _verdict(line: Line) -> str:
    verdict = "" if line.met is None else "met" if line.met else "NOT met"
    return ", ".join(filter(None, [verdict, line.note])) or ("n/a" if line.goal else "")


def format_summary(lines: list[Line]) -> str:
    """The lines as a text table, with a count of the goals met at the end."""
    header = ("row", "measure", "chainrule", "compiled", "reference", "figure", "ratio", "goal")
    cells = [(*header, "met")]
    for x in lines:
        cells.append(
            (
                x.row,
                x.measure,
                _number(x.chainrule),
                _number(x.compiled),
                x.reference or "-",
                _number(x.figure),
                _ratio(x),
                x.goal or "-",
                _verdict(x),
            )
        )
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    right = {2, 3, 5, 6}  # numbers
    text = [
        "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))
        )
        + "  "
        + r[-1]
        for r in cells
    ]
    judged = [x for x in lines if x.goal]
    met = sum(1 for x in judged if x.met)
    text.append(f"{met} of {len(judged)} goals met")
    return "\n".join(line.rstrip() for line in text)


def describe(result: dict) -> str:
    """A result's figures (and qualities) as a few indented lines, with ratios to chainrule's."""
    lines = [f"{_title(result)} ({result.get('unit', '')})"]
    for why in ("skipped", "error"):
        if result.get(why):
            return f"{lines[0]}: {why}: {result[why]}"
    figures = result.get("figures", {})
    ours = figures.get(EAGER)
    for key, value in figures.items():
        ratio = ""
        if ours is not None and value and not key.startswith(EAGER):
            ratio = f"   chainrule/{key} = {ours / value:.2f}x"
        lines.append(f"  {REFERENCES.get(key, key):22s}{_number(value):>10s}{ratio}")
    for quality, measure in QUALITIES.items():
        for key, value in result.get(quality, {}).items():
            name = REFERENCES.get(key, key)
            lines.append(f"  {measure} {name}: {'-' if value is None else f'{100 * value:.2f}'}")
    return "\n".join(lines)
