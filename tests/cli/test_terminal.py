"""The command line in a terminal and in a pipe: progress bars only on a terminal (also one
that reports no size), one plain line per epoch otherwise, ``--version``, one-line argparse
errors, help in sentences, and ``bench`` saying what it runs."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time

from chainrule.cli import build_parser

TRAIN = ["train", "--data", "iris", "--epochs", "3", "--hidden", "8"]
CLI = [sys.executable, "-m", "chainrule"]


def _in_a_pty(argv: list[str], timeout: float = 120) -> bytes:
    """What ``chainrule ARGV`` writes to a pseudo-terminal of size 0 (as ``script`` makes)."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([*CLI, *argv], stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    out, end = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        assert proc.wait(timeout=max(1, end - time.monotonic())) == 0, out.decode()[-2000:]
    finally:
        proc.kill()
        os.close(master)
    return out


def test_progress_bars_in_a_terminal_of_unknown_size(tmp_path):
    out = _in_a_pty([*TRAIN, "--out", str(tmp_path / "run")]).decode()
    assert re.search(r"epochs: +\d+%\|", out), out[:2000]
    assert re.search(r"train: +\d+%\|", out), out[:2000]
    assert len(re.findall(r"^epoch +\d/3 ", out.replace("\r", "\n"), re.M)) == 3


def test_piped_output_has_plain_epoch_lines_and_no_redraws(tmp_path):
    proc = subprocess.run(
        [*CLI, *TRAIN, "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stdout + proc.stderr and "%|" not in proc.stderr
    lines = re.findall(r"^epoch +(\d)/3 .*\((\d+) ms\)$", proc.stdout, re.M)
    assert [n for n, _ in lines] == ["1", "2", "3"], proc.stdout


def test_version_and_one_line_argument_errors(capsys):
    from chainrule import __version__
    from chainrule.cli import main

    assert _catch_exit(lambda: main(["--version"])) == 0
    assert capsys.readouterr().out == f"chainrule {__version__}\n"
    for argv, prog in [
        (["train", "--bogus"], "chainrule train"),
        (["train", "--epochs", "zero"], "chainrule train"),
        (["frobnicate"], "chainrule"),
        (["bench", "--only", "W9"], "chainrule bench"),
    ]:
        assert _catch_exit(lambda argv=argv: main(argv)) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"{prog}: error: ") and lines[0].endswith(f"see '{prog} --help'")


def _catch_exit(fn):
    try:
        fn()
    except SystemExit as exit_:
        return exit_.code
    return None


def test_every_help_is_sentences(capsys):
    import contextlib
    import io

    from chainrule.bench import run

    texts = {}
    for argv in ([], ["train"], ["predict"], ["export"], ["gradcheck"]):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert _catch_exit(lambda a=argv: build_parser().parse_args([*a, "--help"])) == 0
        texts[" ".join(argv) or "chainrule"] = buffer.getvalue()
    assert _catch_exit(lambda: run(["--help"])) == 0
    texts["bench"] = capsys.readouterr().out
    for name, text in texts.items():
        assert "``" not in text, f"{name} --help shows markup"
        description = text.split("\n\n")[1]
        assert description.rstrip().endswith("."), f"{name} --help: {description!r}"


def test_bench_says_which_workload_it_runs(monkeypatch, capsys):
    from chainrule import bench
    from chainrule.bench import engine

    monkeypatch.setattr(engine, "main", lambda argv: {"stub": argv})
    assert bench.run(["--only", "W5", "--json"]) == 0
    out = capsys.readouterr()
    assert "running W5 (engine)..." in out.err and '"stub"' in out.out
