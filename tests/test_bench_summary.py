"""The summary of ``chainrule bench``: issue 17's goals, judged on made-up numbers (nothing
here is timed), and the table that shows them."""

from __future__ import annotations

import pytest

from chainrule.bench import GOALS, WORKLOADS, Goal, format_summary, summary_lines


def made_up(workload: str, **entries) -> dict:
    """A workload's result with made-up entries (``figures``, ``test_error``, ...)."""
    return {"workload": workload, "name": "made up", "unit": "s"} | entries


def only_line(result: dict, reference: str | None, measure: str | None = None):
    """The summary line of ``result`` against ``reference`` (and ``measure``, if given)."""
    lines = [
        x
        for x in summary_lines([result])
        if x.reference == reference and (measure is None or x.measure == measure)
    ]
    assert len(lines) == 1, lines
    return lines[0]


# --- the goals, as issue 17's table states them -------------------------------------------------
def test_goals_are_issue_17s_table():
    # W1 ≤ 0.5x PyTorch; W2 ≤ 1.2x NumPy by hand and ≤ 0.4x scikit-learn; W3 ≤ 0.75x PyTorch
    # and ≤ 1.3x its GEMMs; W4 ≤ 0.75x PyTorch, same test error ±0.3 pts; W5 ≤ 0.3 s;
    # W6 ≤ 0.5x scikit-learn, same accuracy; W7 ≤ 1.0x PyTorch; W8 ≤ 2 s
    assert tuple(GOALS) == WORKLOADS == ("W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8")
    assert GOALS["W1"] == (Goal("torch", 0.5),)
    assert GOALS["W2"] == (Goal("numpy", 1.2), Goal("sklearn", 0.4))
    assert GOALS["W3"] == (Goal("torch", 0.75), Goal("floor", 1.3))
    assert GOALS["W4"] == (Goal("torch", 0.75), Goal("torch", 0.3, "test_error"))
    assert GOALS["W5"] == (Goal(None, 0.3),)
    assert GOALS["W6"] == (Goal("sklearn", 0.5), Goal("sklearn", 0.3, "test_accuracy"))
    assert GOALS["W7"] == (Goal("torch", 1.0),)
    assert GOALS["W8"] == (Goal(None, 2.0),)


# --- judging made-up numbers ----------------------------------------------------------------------
def test_a_ratio_goal_is_judged_on_chainrules_best_path():
    figures = {"chainrule": 60.0, "numpy": 40.0, "sklearn": 120.0, "torch": 300.0}
    eager = made_up("W2", figures=figures)
    numpy_line = only_line(eager, "NumPy by hand")
    assert numpy_line.ratio == pytest.approx(1.5) and numpy_line.met is False
    assert numpy_line.goal == "<= 1.2x" and numpy_line.compiled is None
    assert only_line(eager, "scikit-learn").ratio == pytest.approx(0.5)
    # the compiled path is faster: both goals are judged on it, and both figures are shown
    compiled = made_up("W2", figures=figures | {"chainrule (compiled)": 45.0})
    numpy_line = only_line(compiled, "NumPy by hand")
    assert (numpy_line.chainrule, numpy_line.compiled) == (60.0, 45.0)
    assert numpy_line.ratio == pytest.approx(45 / 40) and numpy_line.met is True
    assert only_line(compiled, "scikit-learn").met is True  # 0.375x <= 0.4x
    # a reference without a goal is shown, not judged
    torch_line = only_line(compiled, "PyTorch")
    assert torch_line.ratio == pytest.approx(0.15) and torch_line.met is None
    assert torch_line.goal == ""


def test_a_ratio_exactly_at_its_goal_is_met():
    line = only_line(made_up("W7", figures={"chainrule": 15.0, "torch": 15.0}), "PyTorch")
    assert line.ratio == 1.0 and line.met is True


def test_w3_is_judged_against_pytorch_and_its_own_matrix_products():
    result = made_up("W3", figures={"chainrule": 0.6, "torch": 1.0, "floor": 0.5, "sklearn": 2})
    assert only_line(result, "PyTorch").met is True  # 0.6x <= 0.75x
    floor = only_line(result, "its GEMMs alone")
    assert floor.ratio == pytest.approx(1.2) and floor.met is True and floor.goal == "<= 1.3x"
    assert only_line(result, "scikit-learn").met is None


def test_same_test_error_within_three_tenths_of_a_point():
    def w4(ours, theirs, compiled=None):
        errors = {"chainrule": ours, "torch": theirs}
        if compiled is not None:
            errors["chainrule (compiled)"] = compiled
        figures = {"chainrule": 1.0, "torch": 2.0}
        return only_line(
            made_up("W4", figures=figures, test_error=errors), "PyTorch", "test error %"
        )

    line = w4(0.0210, 0.0185)
    assert line.ratio == pytest.approx(0.25) and line.met is True and line.goal == "within 0.3 pts"
    assert (line.chainrule, line.figure) == pytest.approx((2.10, 1.85))
    assert w4(0.0150, 0.0185).met is False  # better by 0.35 points is not the same error either
    # every chainrule path must match: a compiled path 0.4 points off fails the goal
    line = w4(0.0185, 0.0185, compiled=0.0225)
    assert line.ratio == pytest.approx(0.4) and line.met is False


def test_w6_judges_each_case_on_time_and_accuracy():
    results = [
        made_up(
            "W6",
            case=case,
            figures={"chainrule": ours, "sklearn": 1.0},
            test_accuracy={"chainrule": 0.95, "sklearn": accuracy},
        )
        for case, ours, accuracy in [("digits", 0.4, 0.95), ("60000x784 MNIST", 0.6, 0.96)]
    ]
    lines = summary_lines(results)
    verdicts = [(x.row, x.measure, x.met) for x in lines]
    assert verdicts == [
        ("W6 made up digits", "s", True),
        ("W6 made up digits", "test accuracy %", True),
        ("W6 made up 60000x784 MNIST", "s", False),
        ("W6 made up 60000x784 MNIST", "test accuracy %", False),  # 1 point below
    ]


def test_absolute_goals_errors_and_skipped_workloads():
    assert only_line(made_up("W8", figures={"chainrule": 1.9}), "").met is True
    line = only_line(made_up("W8", figures={"chainrule": 2.5}), "")
    assert line.met is False and line.goal == "<= 2 s" and line.ratio is None
    failed = only_line(made_up("W8", error="timed out after 60 s"), "")
    assert failed.met is False and failed.note == "failed: timed out after 60 s"
    skipped = [x for x in summary_lines([made_up("W4", skipped="mnist.npz not found")])]
    assert [x.met for x in skipped] == [None, None]
    assert {x.note for x in skipped} == {"skipped: mnist.npz not found"}


def test_a_missing_reference_is_not_judged():
    line = only_line(made_up("W1", figures={"chainrule": 4.0}), "PyTorch")
    assert line.met is None and line.figure is None and line.note == "no PyTorch figure"


def test_summary_is_in_workload_order_and_leaves_out_what_is_no_result():
    results = [
        made_up("W5", figures={"chainrule": 0.2}),
        {"stub": ["--quick"]},
        made_up("W1", figures={"chainrule": 4.0, "torch": 8.0}),
        made_up("W9", figures={"chainrule": 1.0}),
    ]
    assert [x.row for x in summary_lines(results)] == ["W1 made up", "W5 made up"]


def test_the_table_has_a_line_per_goal_and_counts_the_goals_met():
    results = [
        made_up("W1", unit="us/op", figures={"chainrule": 4.4, "torch": 7.36}),
        made_up(
            "W2",
            unit="us/step",
            figures={"chainrule": 78.8, "chainrule (compiled)": 41.0, "numpy": 50.0},
        ),
        made_up("W8", error="chainrule train exited with 2: no data"),
    ]
    text = format_summary(summary_lines(results)).splitlines()
    assert text[0].split() == [
        "row", "measure", "chainrule", "compiled", "reference", "figure", "ratio", "goal", "met"
    ]  # fmt: skip
    assert text[1].split() == ["W1", "made", "up", "us/op", "4.4", "-", "PyTorch", "7.36"] + [
        "0.60x", "<=", "0.5x", "NOT", "met"
    ]  # fmt: skip
    assert text[2].split()[4:] == ["78.8", "41", "NumPy", "by", "hand", "50", "0.82x"] + [
        "<=", "1.2x", "met"
    ]  # fmt: skip
    assert text[3].endswith("<= 0.4x  no scikit-learn figure")
    assert text[4].endswith("NOT met, failed: chainrule train exited with 2: no data")
    assert text[-1] == "1 of 4 goals met"
