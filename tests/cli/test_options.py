"""``chainrule train``'s options are written once, as fields of ``Options``: the parser's
defaults, ``--help`` and a run started from Python read the same values."""

from __future__ import annotations

import argparse
import contextlib
import io
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from chainrule.app import (
    DEFAULT_LR,
    ExportOptions,
    Options,
    PredictOptions,
    add_options,
    from_args,
    option,
    positive_int,
    required,
)
from chainrule.cli import build_parser


def _train_parser() -> argparse.ArgumentParser:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices["train"]


def test_parser_defaults_are_the_dataclass_defaults():
    args = build_parser().parse_args(["train"])
    assert from_args(Options, args) == Options()


def test_every_option_field_is_a_flag_of_train_in_field_order():
    flags = [a.option_strings[0] for a in _train_parser()._actions if a.option_strings]
    named = [f"--{f.name.replace('_', '-')}" for f in fields(Options) if "cli" in f.metadata]
    assert [f for f in flags if f in named] == named
    assert named[0] == "--data" and "--command" not in flags


def test_help_shows_the_field_defaults():
    text = _train_parser().format_help().replace("\n", " ")
    text = " ".join(text.split())
    assert f"data set (default: {Options.data})" in text
    assert f"hidden layer sizes (default: {' '.join(map(str, Options().hidden))})" in text
    assert f"(default: {Options.impute}; categories use the most frequent one)" in text
    rates = {f"{rate:g}" for rate in DEFAULT_LR.values()}
    lr_help = text[text.index("--lr LR") :]
    assert all(f"{rate} for" in lr_help for rate in rates), lr_help[:200]


@dataclass
class _Toy:
    size: int = option(7, "a size (default: {default})", type=positive_int, metavar="N")
    names: list[str] = option(["a", "b"], "names (default: {default})", nargs="+")
    fast: bool = option(False, "go fast")
    rate: float = option(0.5, "rate (default: {default})", type=float)
    note: str = "not an option"


def test_a_dataclass_field_makes_the_option_its_default_and_its_help():
    parser = argparse.ArgumentParser(prog="toy")
    add_options(parser, _Toy)
    assert vars(parser.parse_args([])) == {
        "size": 7,
        "names": ["a", "b"],
        "fast": False,
        "rate": 0.5,
    }
    args = parser.parse_args(["--size", "3", "--names", "x", "--fast", "--rate", "0.25"])
    assert (args.size, args.names, args.fast, args.rate) == (3, ["x"], True, 0.25)
    text = " ".join(parser.format_help().split())
    for shown in ("a size (default: 7)", "names (default: a b)", "rate (default: 0.5)"):
        assert shown in text, text
    assert "--note" not in text
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(SystemExit):
        parser.parse_args(["--size", "0"])


def test_a_list_default_is_a_fresh_copy_per_instance():
    a, b = Options(), Options()
    a.hidden.append(8)
    assert b.hidden == [64, 64] and _Toy().names == ["a", "b"]


def test_predict_and_export_options_come_from_their_dataclasses(tmp_path):
    parser = build_parser()
    args = parser.parse_args(["export", "--model", str(tmp_path), "--out", "m.onnx"])
    assert from_args(ExportOptions, args) == ExportOptions(tmp_path, Path("m.onnx"))
    assert args.dtype == ExportOptions.dtype == "float32"
    args = parser.parse_args(["predict", "--model", "r", "--data", "csv:x.csv", "--out", "p.csv"])
    assert from_args(PredictOptions, args) == PredictOptions(Path("r"), "csv:x.csv", Path("p.csv"))


@dataclass
class _Needs:
    name: str = required("a name", metavar="NAME")


def test_a_required_field_is_a_required_option():
    parser = argparse.ArgumentParser(prog="needs")
    add_options(parser, _Needs)
    assert parser.parse_args(["--name", "x"]).name == "x"
    with contextlib.redirect_stderr(io.StringIO()) as err, pytest.raises(SystemExit):
        parser.parse_args([])
    assert "--name" in err.getvalue()
