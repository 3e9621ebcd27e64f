"""Tables as practitioners have them: whole-number targets, text and missing cells, unseen
categories, bad target cells, values beyond float32, an explicit task, and the preprocessing
that ``predict`` rebuilds bit for bit."""

from __future__ import annotations

import csv
import json
import re
import time

import numpy as np
import pytest

from chainrule.app import Options, Preprocessing, RunError, load_model, load_table
from chainrule.app import _run as run_module
from chainrule.app._data import Reading
from chainrule.app._model import probabilities, scores
from chainrule.app._preprocess import column_transformer
from chainrule.app._table import decode_target

from ._helpers import run_cli, write_csv
from .test_errors import _one_clear_line

pd = pytest.importorskip("pandas")


def _houses(path, n=120, seed=0, missing=True):
    """A README-style table: whole-number prices, a text column, true/false, missing cells."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        area = rng.uniform(30, 200)
        rooms = int(rng.integers(1, 6))
        city = ["Paris", "Lyon", "Nice", "Brest"][int(rng.integers(0, 4))]
        price = int(area * 3000 + rooms * 9000 + (60000 if city == "Paris" else 0))
        price += int(rng.normal(0, 15000))
        rows.append(
            [
                "" if missing and i % 11 == 3 else f"{area:.1f}",
                rooms,
                "" if missing and i % 13 == 5 else city,
                ["true", "false"][i % 2],
                price,
            ]
        )
    return write_csv(path, ["area", "rooms", "city", "garden", "price"], rows)


def _prepare(tmp_path, **options):
    return run_module.prepare(Options(out=tmp_path / "run", **options))


# -- the task ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cells", "task", "labels"),
    [
        (["1", "0", "2", "1"] * 20, "classification", [0, 1, 2]),  # 80 rows: at most 4
        (["1.5", "0", "2e3", "-1"] * 10, "regression", []),
        (["cat", "dog", "cat", "7"] * 10, "classification", ["7", "cat", "dog"]),
        (["True", "False"] * 20, "classification", ["False", "True"]),
        ([str(1000 + i) for i in range(40)], "regression", []),  # 40 distinct whole numbers
        (["1", "2", "3", "3"] * 5 + ["4"] + ["1"] * 19, "regression", []),  # '4' has one row
    ],
    ids=["integers", "decimals", "words", "bools", "many-integers", "singleton-class"],
)
def test_task_auto_rules(cells, task, labels):
    found = decode_target("t.csv", "t", cells)
    assert (found.task, found.classes) == (task, labels), found.reason
    assert len(found.y) == len(cells) and found.reason.startswith(task)


def test_explicit_task_overrides_and_text_cannot_be_a_regression():
    cells = [str(1000 + i % 30) for i in range(60)]
    assert decode_target("t.csv", "t", cells).task == "regression"
    forced = decode_target("t.csv", "t", cells, task="classification")
    assert forced.task == "classification" and len(forced.classes) == 30
    assert decode_target("t.csv", "t", ["0", "1"] * 20, task="regression").task == "regression"
    with pytest.raises(RunError, match="--task regression needs numbers.*--task classification"):
        decode_target("t.csv", "t", ["a", "b"] * 20, task="regression")


def test_readme_houses_example_is_a_regression_with_huber(tmp_path):
    path = _houses(tmp_path / "houses.csv")
    run = _prepare(tmp_path, data=f"csv:{path}", target="price", loss="huber")
    assert run.table.task == "regression" and run.card.loss == "huber"
    assert "whole numbers with 120 distinct values" in run.table.notes[0]
    assert "override with --task" in run.table.notes[0]


def test_a_loss_that_does_not_fit_names_task(tmp_path):
    path = _houses(tmp_path / "houses.csv")
    argv = ["train", "--data", f"csv:{path}", "--target", "rooms", "--loss", "huber"]
    result = run_cli([*argv, "--out", tmp_path / "o"])
    _one_clear_line(result, "train", "--loss huber fits a regression task", "--task regression")


def test_many_class_integer_target_is_not_a_499_class_classifier(tmp_path):
    rows = [[i * 0.5, (i * 7919) % 499 + 1000] for i in range(500)]
    path = write_csv(tmp_path / "many.csv", ["x", "target"], rows)
    run = _prepare(tmp_path, data=f"csv:{path}")
    assert run.table.task == "regression" and run.card.n_outputs == 1


# -- bad target cells ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bad", "shown"),
    [("nan", "''"), ("inf", "'inf'"), ("", "''"), ("1\x00", "'1\\x00'"), ("12..5", "'12..5'")],
    ids=["nan", "inf", "empty", "nul-byte", "unparsable"],
)
def test_bad_target_cells_are_errors_naming_rows(tmp_path, bad, shown):
    rows = [[i, f"{i * 1.5:.1f}"] for i in range(40)]
    for i in (3, 17):
        rows[i][1] = bad
    path = write_csv(tmp_path / "t.csv", ["x", "target"], rows)
    result = run_cli(["train", "--data", f"csv:{path}", "--out", tmp_path / "o"])
    _one_clear_line(result, "train", "rows 5 and 19", shown, "--drop-missing-target")
    assert not (tmp_path / "o").exists()


def test_drop_missing_target_drops_and_says_how_many(tmp_path):
    rows = [[i, i % 2] for i in range(40)]
    rows[0][1], rows[9][1] = "", "nan"
    path = write_csv(tmp_path / "t.csv", ["x", "target"], rows)
    run = _prepare(tmp_path, data=f"csv:{path}", drop_missing_target=True)
    assert len(run.table.y) == 38 and run.table.classes == [0, 1]
    assert "dropped 2 rows whose target is missing" in run.table.notes


def test_first_five_bad_rows_are_named(tmp_path):
    rows = [[i, "" if i % 3 == 0 else i * 0.5] for i in range(40)]
    path = write_csv(tmp_path / "t.csv", ["x", "target"], rows)
    result = run_cli(["train", "--data", f"csv:{path}"])
    _one_clear_line(result, "train", "14 cell(s)", "rows 2, 5, 8, 11 and 14 and 9 more")


# -- features ------------------------------------------------------------------------------------
def test_text_and_missing_cells_train_and_the_report_lists_treatments(tmp_path):
    path = _houses(tmp_path / "houses.csv")
    out = tmp_path / "run"
    argv = ["train", "--data", f"csv:{path}", "--target", "price", "--epochs", "2"]
    result = run_cli([*argv, "--hidden", "8", "--out", out])
    assert result.code == 0, result.err
    assert "task: regression (whole numbers" in result.out
    metrics = json.loads((out / "metrics.json").read_text())
    columns = metrics["reading"]["columns"]
    assert columns["city"].startswith("categorical, 4 categories")
    # of the 9 and 11 missing cells in the file, those that fell in the 70% training rows
    for name, total in (("city", 9), ("area", 11)):
        found = re.search(r"; (\d+) missing cells in the training rows, imputed", columns[name])
        assert found and 0 < int(found[1]) <= total, columns[name]
    assert "missing-value indicator" in columns["area"]
    assert columns["garden"].startswith("categorical, 2 categories")
    page = (out / "report.html").read_text()
    assert "categorical, 4 categories" in page and "task: regression" in page
    card = json.loads((out / "model.json").read_text())
    # area, its missing indicator, rooms, 4 cities, 2 garden values
    assert card["n_features"] == 9 and card["features"] == ["area", "rooms", "city", "garden"]


def test_categorical_drop_and_impute_options(tmp_path):
    path = _houses(tmp_path / "houses.csv")
    run = _prepare(
        tmp_path, data=f"csv:{path}", target="price", categorical=["rooms"], drop=["garden"]
    )
    kinds = {c.name: c.kind for c in run.card.preprocessing.columns}
    assert kinds == {"area": "numeric", "rooms": "categorical", "city": "categorical"}
    assert ("garden", "--drop") in run.table.dropped
    with pytest.raises(RunError, match="'area' has missing cells in rows 5, 16.*--impute none"):
        _prepare(tmp_path, data=f"csv:{path}", target="price", impute="none")
    with pytest.raises(RunError, match="--drop: data file .* has no column 'nope'"):
        _prepare(tmp_path, data=f"csv:{path}", target="price", drop=["nope"])
    with pytest.raises(RunError, match="--task, --impute apply to csv:PATH and parquet:PATH"):
        _prepare(tmp_path, data="iris", task="regression", impute="mean")


def test_rare_categories_are_grouped(tmp_path):
    rows = [[f"c{i % 7 if i < 60 else i}", i % 2] for i in range(100)]
    path = write_csv(tmp_path / "t.csv", ["kind", "target"], rows)
    run = _prepare(tmp_path, data=f"csv:{path}", max_categories=5)
    (column,) = run.card.preprocessing.columns
    assert len(column.categories) == 4 and len(column.infrequent) > 3
    assert run.card.n_features == 5


def test_values_beyond_float32_are_errors_naming_column_and_row(tmp_path):
    rows = [[i, 1e300 if i == 6 else i, i % 2] for i in range(30)]
    path = write_csv(tmp_path / "big.csv", ["a", "b", "target"], rows)
    result = run_cli(["train", "--data", f"csv:{path}", "--out", tmp_path / "o"])
    _one_clear_line(result, "train", "column 'b' overflows float32", "row 8")
    rows = [[i, 1e39 if i == 2 else i * 0.5] for i in range(30)]
    path = write_csv(tmp_path / "big_target.csv", ["a", "target"], rows)
    result = run_cli(["train", "--data", f"csv:{path}"])
    _one_clear_line(result, "train", "target 'target' overflows float32", "row 4")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("x,target\n", ("has 0 data rows",)),
        ("x,target\n1,0\n", ("has 1 data rows",)),
    ],
    ids=["only-header", "one-row"],
)
def test_tiny_tables(tmp_path, text, fragments):
    path = tmp_path / "t.csv"
    path.write_text(text)
    _one_clear_line(run_cli(["train", "--data", f"csv:{path}"]), "train", *fragments)


def test_quoted_commas_and_a_byte_order_mark(tmp_path):
    lines = ["\ufeffname,x,target"] + [f'"Smith, {i % 3}",{i * 0.1:.1f},{i % 2}' for i in range(40)]
    path = tmp_path / "bom.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = load_table(f"csv:{path}", Reading())
    assert table.features == ["name", "x"] and table.categorical == ["name"]
    assert sorted(set(table.X["name"])) == ["Smith, 0", "Smith, 1", "Smith, 2"]


def test_parquet_reads_like_csv(tmp_path):
    pytest.importorskip("pyarrow")
    path = _houses(tmp_path / "houses.csv")
    frame = pd.read_csv(path)
    frame.to_parquet(tmp_path / "houses.parquet")
    a = load_table(f"csv:{path}", Reading(target="price"))
    b = load_table(f"parquet:{tmp_path / 'houses.parquet'}", Reading(target="price"))
    assert (a.task, a.categorical, a.features) == (b.task, b.categorical, b.features)
    np.testing.assert_array_equal(a.y, b.y)


# -- the preprocessing, applied identically --------------------------------------------------------
def _mixed_frame(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n) * 10
    a[rng.random(n) < 0.2] = np.nan
    b = rng.integers(0, 5, n).astype(float)
    city = rng.choice(["x", "y", "z", "w", "v", "u"], n, p=[0.4, 0.3, 0.15, 0.1, 0.03, 0.02])
    city = city.astype(object)
    city[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({"a": a, "b": b, "city": city})


def test_transform_equals_scikit_learns_column_transformer_bit_for_bit():
    train = _mixed_frame(300, 0)
    new = _mixed_frame(100, 1)
    new.loc[[3, 7], "city"] = "never-seen"
    new.loc[[4], "a"] = np.nan
    columns, categorical = ["a", "b", "city"], ["city"]
    prep = Preprocessing.fit(train, columns, categorical, impute="mean", max_categories=4)
    reference = column_transformer(train, columns, categorical, "mean", 4).fit(train)
    expected = reference.transform(new).astype(np.float32)
    np.testing.assert_array_equal(prep.transform(new), expected)
    assert prep.categorical[0].infrequent, "the test covers grouped categories"
    assert [c.missing for c in prep.columns] == train.isna().sum().tolist()
    again = Preprocessing.from_json(json.loads(json.dumps(prep.to_json())))
    np.testing.assert_array_equal(again.transform(new), expected)


def test_predict_equals_the_in_process_pipeline_bit_for_bit(tmp_path):
    path = _houses(tmp_path / "houses.csv")
    out = tmp_path / "run"
    argv = ["train", "--data", f"csv:{path}", "--target", "rooms", "--task", "classification"]
    assert run_cli([*argv, "--epochs", "2", "--hidden", "8", "--out", out]).code == 0
    new = _houses(tmp_path / "new.csv", n=40, seed=5)
    text = new.read_text().replace("Brest", "Marseille")  # a city never seen in training
    new.write_text(text)
    pred = tmp_path / "pred.csv"
    result = run_cli(["predict", "--model", out, "--data", f"csv:{new}", "--out", pred])
    assert result.code == 0, result.err
    card, model, _ = load_model(out)
    frame = pd.read_csv(new, dtype={"city": str, "garden": str})
    frame["garden"] = frame["garden"].map({"true": "True", "false": "False"})
    frame["city"] = frame["city"].astype(object).where(frame["city"].notna(), np.nan)
    proba = probabilities(card.loss, scores(model, card.preprocessing.transform(frame)))
    with pred.open(newline="") as f:
        rows = list(csv.reader(f))[1:]
    assert [r[1:] for r in rows] == [[f"{p:.6g}" for p in ps] for ps in proba]
    assert [int(r[0]) for r in rows] == [card.classes[k] for k in proba.argmax(axis=1)]


def test_predict_streams_in_chunks_and_rejects_huge_values(tmp_path):
    from chainrule.app import predict

    path = _houses(tmp_path / "houses.csv")
    out = tmp_path / "run"
    argv = ["train", "--data", f"csv:{path}", "--target", "price", "--epochs", "1"]
    assert run_cli([*argv, "--hidden", "8", "--out", out]).code == 0
    whole, chunked = tmp_path / "whole.csv", tmp_path / "chunked.csv"
    said: list[str] = []
    predict(out, f"csv:{path}", whole, say=said.append)
    predict(out, f"csv:{path}", chunked, say=said.append, chunk_rows=7)
    # float32 products of 7-row chunks may round differently from one 120-row product
    np.testing.assert_allclose(
        np.loadtxt(chunked, skiprows=1), np.loadtxt(whole, skiprows=1), rtol=1e-5
    )
    assert said[1] == said[3] and said[1].startswith("R² against the file's 'price' column")
    rows = path.read_text().splitlines()
    rows[30] = "1e300," + rows[30].split(",", 1)[1]
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(RunError, match="'area' overflows float32.*row 31"):
        predict(out, f"csv:{path}", tmp_path / "bad.csv", say=said.append, chunk_rows=7)
    assert not (tmp_path / "bad.csv").exists()


def test_header_reading_time_is_linear_in_columns(tmp_path):
    def timed(n_columns):
        path = tmp_path / f"wide{n_columns}.csv"
        names = [f"c{i}" for i in range(n_columns)] + ["target"]
        body = "\n".join(",".join(["1"] * n_columns + [str(r % 2)]) for r in range(25))
        path.write_text(",".join(names) + "\n" + body + "\n")
        start = time.perf_counter()
        table = load_table(f"csv:{path}", Reading())
        assert len(table.features) == n_columns
        return time.perf_counter() - start

    timed(500)  # warm-up
    small, large = min(timed(1000) for _ in range(2)), min(timed(10_000) for _ in range(2))
    # quadratic reading would take ~100x longer for 10x the columns; linear ~10x
    assert large < 40 * small + 0.5, (small, large)


def _readme_train_commands():
    """The README's ``chainrule train --data csv:...`` commands (continuation lines joined)."""
    from pathlib import Path

    text = (Path(__file__).parents[2] / "README.md").read_text().replace("\\\n", " ")
    lines = [line.split("#")[0].split() for line in text.splitlines()]
    return [
        words[1:]
        for words in lines
        if words[:2] == ["chainrule", "train"]
        and any(w.startswith("csv:") for w in words)
        and "--resume" not in words
    ]


@pytest.mark.parametrize("argv", _readme_train_commands(), ids=lambda a: " ".join(a[1:5]))
def test_every_readme_csv_command_runs_on_a_real_world_table(argv, tmp_path, monkeypatch):
    """Each README command on a table it names: whole-number targets, a text column, missing
    cells, plus the columns its options name (dropped, categorical)."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / argv[argv.index("--data") + 1].removeprefix("csv:")
    target = argv[argv.index("--target") + 1]
    extra = [argv[i + 1] for i, a in enumerate(argv) if a in ("--drop", "--categorical")]
    rng = np.random.default_rng(0)
    rows = []
    for i in range(150):
        size = rng.uniform(10, 100)
        label = int(size * 40 + rng.normal(0, 50)) if i % 3 else int(size // 50)
        rows.append(
            [
                "" if i % 9 == 4 else f"{size:.2f}",
                ["red", "green", "blue", ""][i % 4],
                *[str(10000 + i % 7 * 11) for _ in extra],
                "" if "--drop-missing-target" in argv and i == 5 else label,
            ]
        )
    write_csv(path, ["size", "colour", *extra, target], rows)
    out = tmp_path / "run"
    result = run_cli([*argv, "--epochs", "1", "--hidden", "4", "--out", out])
    assert result.code == 0, result.err
    assert "task: regression" in result.out and (out / "report.html").is_file()


def test_header_names_are_read_stripped_and_text_columns_as_written(tmp_path):
    lines = [" zip , size ,target "] + [f"0{2100 + i % 4},{i * 0.5},{i % 2}" for i in range(40)]
    path = tmp_path / "spaces.csv"
    path.write_text("\n".join(lines) + "\n")
    table = load_table(f"csv:{path}", Reading(categorical=["zip"]))
    assert table.features == ["zip", "size"] and table.target == "target"
    assert sorted(set(table.X["zip"])) == ["02100", "02101", "02102", "02103"]


def test_a_model_card_of_chainrule_0_1_says_to_train_again(tmp_path):
    from chainrule.app import ModelCard
    from chainrule.train import CheckpointError

    path = tmp_path / "model.json"
    path.write_text(json.dumps({"format": "chainrule-model", "format_version": 1, "task": "x"}))
    with pytest.raises(
        CheckpointError, match=r"format version 1, .*chainrule 0\.1: train it again"
    ):
        ModelCard.load(path)


def test_a_tall_table_read_in_chunks_equals_one_read(tmp_path, monkeypatch):
    """Tall tables are assembled chunk by chunk into one block; the values are pandas' own,
    and a column that turns to text in a later chunk falls back to one whole read."""
    from chainrule.app import _table

    path = _houses(tmp_path / "houses.csv", n=60)
    whole = load_table(f"csv:{path}", Reading(target="price"))
    monkeypatch.setattr(_table, "ASSEMBLE_ROWS", 7)
    chunked = load_table(f"csv:{path}", Reading(target="price"))
    assert (chunked.categorical, chunked.features) == (whole.categorical, whole.features)
    for name in whole.features:  # whole numbers come as float64 from the block: same values
        pd.testing.assert_series_equal(chunked.X[name], whole.X[name], check_dtype=False)
    np.testing.assert_array_equal(chunked.y, whole.y)
    rows = path.read_text().splitlines()
    rows[50] = "big," + rows[50].split(",", 1)[1]  # 'area' becomes text after 7 chunks
    path.write_text("\n".join(rows) + "\n")
    table = load_table(f"csv:{path}", Reading(target="price"))
    assert "area" in table.categorical, "a text cell makes the column categorical, as one read"


def test_numbers_pandas_keeps_as_text_are_numeric_not_one_category_each(tmp_path):
    """Integers beyond 64 bits come from pandas as text: they are numbers, and a value beyond
    float32 is an error naming its row, never a category per value."""
    rows = [[i, str(10**22 + i), i % 2] for i in range(40)]
    path = write_csv(tmp_path / "big_ints.csv", ["x", "id_like", "target"], rows)
    table = load_table(f"csv:{path}", Reading())
    assert table.categorical == [] and table.X["id_like"].dtype == np.float64
    assert table.X["id_like"].iloc[3] == pytest.approx(1e22)
    rows[9][1] = "1" + "0" * 400
    path = write_csv(tmp_path / "huge.csv", ["x", "id_like", "target"], rows)
    with pytest.raises(RunError, match="'id_like' overflows float32.*row 11"):
        load_table(f"csv:{path}", Reading())
    text = write_csv(
        tmp_path / "text.csv", ["x", "city", "target"], [[i, f"c{i % 3}", i % 2] for i in range(40)]
    )
    assert load_table(f"csv:{text}", Reading()).categorical == ["city"]
