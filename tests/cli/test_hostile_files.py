"""Hostile checkpoints and model cards: every bad edit is one clear error before anything runs
or changes (named edits from the field, then fuzzers that mutate a valid header and card)."""

from __future__ import annotations

import copy
import json
import shutil
import warnings

import numpy as np
import pytest

from chainrule.app import Options, RunError
from chainrule.app import _resume as resume_module
from chainrule.app import _run as run_module
from chainrule.app._model import load_model
from chainrule.train import CheckpointError

from ._helpers import run_cli, write_csv

N_MUTATIONS = 300


@pytest.fixture()
def run_copy(moons_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(moons_run[0], run)
    return run


def _edit_card(run, edit):
    card = json.loads((run / "model.json").read_text())
    edit(card)
    (run / "model.json").write_text(json.dumps(card))


NAMED_EDITS = {
    "activation foo": (lambda c: c.update(activation="foo"), "activation 'foo' is not one of"),
    "hidden -1": (lambda c: c.update(hidden=[-1, 64]), "are not all whole numbers >= 1"),
    "hidden huge": (lambda c: c.update(hidden=[200000, 200000]), "parameters"),
    "hidden text": (lambda c: c.update(hidden="64"), "hidden is a str, not a list"),
    "shortened classes": (lambda c: c.update(classes=[0]), "are not two or more distinct"),
    "zero scale": (lambda c: c["preprocessing"]["scale"].__setitem__(0, 0.0), "scale"),
    "zero target scale": (lambda c: c["preprocessing"].update(target_scale=0), "scale"),
    "bce on 10 classes": (
        lambda c: c.update(loss="bce", classes=list(range(10))),
        "bce loss needs two classes",
    ),
    "task switched": (lambda c: c.update(task="regression"), "does not fit a regression task"),
    "task and loss switched": (
        lambda c: c.update(task="regression", loss="mse"),
        "a regression card has no classes and one output",
    ),
    "n_outputs": (lambda c: c.update(n_outputs=3), "need 2 outputs"),
    "null preprocessing": (lambda c: c.update(preprocessing=None), "preprocessing"),
    "unknown key": (lambda c: c.update(colour="red"), "unexpected keyword argument"),
    "missing features": (lambda c: c.pop("features"), "features"),
    "dropout 1": (lambda c: c.update(dropout=1.0), "dropout 1.0 is not a probability"),
}


@pytest.mark.parametrize("name", sorted(NAMED_EDITS))
def test_named_card_edits_are_one_clear_error(run_copy, tmp_path, name):
    edit, message = NAMED_EDITS[name]
    _edit_card(run_copy, edit)
    points = write_csv(tmp_path / "p.csv", ["x1", "x2"], [[0.0, 0.5]])
    out = tmp_path / "pred.csv"
    result = run_cli(["predict", "--model", run_copy, "--data", f"csv:{points}", "--out", out])
    assert result.code == 2 and len(result.error_lines()) == 1, result.err
    assert result.error_lines()[0].startswith("chainrule predict: error: ")
    assert "model.json is a malformed model card" in result.err and message in result.err
    assert not out.exists()


def _paths(value, prefix=()):
    """Every path into a JSON value (keys and indices)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:4]):  # a few entries of long lists
            yield from _paths(v, (*prefix, i))


REPLACEMENTS = [None, -1, 0, 1, 10**30, -(10**30), 1e308, float("nan"), "foo", "", [], {}]
REPLACEMENTS += [True, [[[[1]]]], {"__array__": "nope"}, {"__dict__": 5}, "x" * 500, [None]]


def mutate(value, rng):
    """A copy of the JSON ``value`` with one random change: a value replaced by a wrong type,
    null, a huge, negative or non-finite number, or nesting; a key deleted or added."""
    value = copy.deepcopy(value)
    paths = [p for p in _paths(value) if p]
    path = paths[rng.integers(len(paths))]
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    key, op = path[-1], rng.integers(4)
    if op == 0 and isinstance(parent, dict):
        del parent[key]
    elif op == 1 and isinstance(parent, dict):
        parent[f"extra{rng.integers(9)}"] = parent[key]
    elif op == 2:
        parent[key] = [parent[key]]  # one level deeper
    else:
        parent[key] = copy.deepcopy(REPLACEMENTS[rng.integers(len(REPLACEMENTS))])
    return value


def test_fuzzed_model_cards_raise_only_checkpoint_or_run_errors(run_copy):
    rng = np.random.default_rng(0)
    good = json.loads((run_copy / "model.json").read_text())
    outcomes = {"CheckpointError": 0, "RunError": 0, "loaded": 0}
    for _ in range(N_MUTATIONS):
        (run_copy / "model.json").write_text(json.dumps(mutate(good, rng)))
        try:
            load_model(run_copy)
            outcomes["loaded"] += 1
        except (CheckpointError, RunError) as err:
            assert "\n" not in str(err)
            outcomes[type(err).__name__] += 1
    (run_copy / "model.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match="cannot be read as a model card"):
        load_model(run_copy)
    assert outcomes["CheckpointError"] > N_MUTATIONS // 2, outcomes


def _write_header(path, tensors, header):
    from safetensors.numpy import save

    path.write_bytes(save(tensors, metadata={"chainrule": json.dumps(header)}))


def test_fuzzed_checkpoint_headers_raise_only_checkpoint_errors(run_copy):
    """Each mutated header goes through the three readers: the Learner's load, train
    --resume's check, and predict's load_model; none raises anything else."""
    from safetensors import safe_open

    path = run_copy / "checkpoint.safetensors"
    with safe_open(path, framework="numpy") as f:
        good = json.loads(f.metadata()["chainrule"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    options = Options(data="moons", epochs=2, lr_find=True, out=run_copy)
    settings = resume_module.run_state(good, path)["settings"]
    card = load_model(run_copy)[0]
    learner, _ = run_module._learner(options, card, run_copy, 0.01, 420)
    rng = np.random.default_rng(1)
    failures = 0
    for _ in range(N_MUTATIONS):
        _write_header(path, tensors, mutate(good, rng))
        for read in (
            lambda: learner.load(path),
            lambda: resume_module.check_resume(path, card, settings),
            lambda: load_model(run_copy),
        ):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # a benign mutation may load and warn
                    read()
            except (CheckpointError, RunError) as err:
                assert "\n" not in str(err) and "pickle" not in str(err)
                failures += 1
    assert failures > N_MUTATIONS, "most mutations are refused by at least one reader"


def test_mlp_shapes_are_those_of_the_built_network():
    from chainrule.app._model import build_mlp, mlp_shapes

    for sizes in ([2, 3], [5, 7, 4, 3], [64, 64, 64, 10]):
        for dropout in (0.0, 0.3):
            net = build_mlp(sizes, "relu", 0, dropout)
            built = {k: v.shape for k, v in net.state_dict().items()}
            assert mlp_shapes(sizes, dropout) == built, (sizes, dropout)


def test_resume_refuses_old_archives_and_plain_learner_checkpoints(run_copy, tmp_path):
    from chainrule.app._model import make_loss, make_optimizer
    from chainrule.train import Learner

    old = tmp_path / "checkpoint.npz"
    np.savez_compressed(old, __header__=np.zeros(10**6, np.uint8))  # would inflate to 1 MB
    card = load_model(run_copy)[0]
    model = card.build()
    learner = Learner(model, make_optimizer("sgd", model.parameters(), 0.1), make_loss(card.loss))
    plain = learner.save(tmp_path / "plain.safetensors")
    for path, message in [
        (old, "zip archive (.npz), not a chainrule checkpoint"),
        (plain, "a Learner checkpoint without a chainrule train run in it"),
    ]:
        result = run_cli(["train", "--data", "moons", "--epochs", "2", "--resume", path])
        assert result.code == 2 and len(result.error_lines()) == 1, result.err
        assert message in result.err and "pickle" not in result.err
