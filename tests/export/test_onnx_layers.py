"""to_onnx for nn models: every exportable layer run in ONNX Runtime against chainrule."""

from __future__ import annotations

import copy

import numpy as np
import onnx
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.export import BATCH, EXPORTABLE_LAYERS, OPSET, to_onnx

from ._helpers import assert_close, run

DTYPES = [np.float32, np.float64]


def _bn(affine: bool, dt) -> nn.BatchNorm1d:
    """A BatchNorm1d whose running statistics and affine parameters are not the defaults."""
    rng = np.random.default_rng(1)
    m = nn.BatchNorm1d(4, affine=affine, dtype=dt, eps=1e-3)
    m.running_mean.data[...] = rng.standard_normal(4)
    m.running_var.data[...] = rng.uniform(0.5, 2.0, 4)
    if affine:
        m.weight.data[...] = rng.standard_normal(4)
        m.bias.data[...] = rng.standard_normal(4)
    return m


def _ln(affine: bool, bias: bool, dt) -> nn.LayerNorm:
    rng = np.random.default_rng(2)
    m = nn.LayerNorm((3, 4), elementwise_affine=affine, bias=bias, dtype=dt)
    if affine:
        m.weight.data[...] = rng.standard_normal((3, 4))
    if m.bias is not None:
        m.bias.data[...] = rng.standard_normal((3, 4))
    return m


# (case id, layer factory taking the dtype, input shape with the batch first)
LAYERS = [
    ("MLP", lambda dt: nn.MLP(4, [5, 3], "tanh", 0.5, dtype=dt), (6, 4)),
    ("Linear", lambda dt: nn.Linear(4, 3, dtype=dt), (6, 4)),
    ("Linear-no-bias", lambda dt: nn.Linear(4, 3, bias=False, dtype=dt), (6, 4)),
    ("Linear-3d", lambda dt: nn.Linear(4, 3, dtype=dt), (6, 2, 4)),
    ("ReLU", lambda dt: nn.ReLU(), (6, 4)),
    ("Sigmoid", lambda dt: nn.Sigmoid(), (6, 4)),
    ("Tanh", lambda dt: nn.Tanh(), (6, 4)),
    ("LeakyReLU", lambda dt: nn.LeakyReLU(0.2), (6, 4)),
    ("ELU", lambda dt: nn.ELU(0.7), (6, 4)),
    ("GELU", lambda dt: nn.GELU(), (6, 4)),
    ("GELU-tanh", lambda dt: nn.GELU("tanh"), (6, 4)),
    ("Softplus", lambda dt: nn.Softplus(), (6, 4)),
    ("Softplus-beta-threshold", lambda dt: nn.Softplus(beta=2.0, threshold=1.5), (6, 4)),
    ("Softmax", lambda dt: nn.Softmax(dim=1), (6, 4)),
    ("Softmax-last-of-3d", lambda dt: nn.Softmax(dim=-1), (6, 2, 4)),
    ("LogSoftmax", lambda dt: nn.LogSoftmax(dim=1), (6, 4)),
    ("Dropout", lambda dt: nn.Dropout(0.5), (6, 4)),
    ("Identity", lambda dt: nn.Identity(), (6, 4)),
    ("BatchNorm1d", lambda dt: _bn(True, dt), (6, 4)),
    ("BatchNorm1d-3d", lambda dt: _bn(True, dt), (6, 4, 3)),
    ("BatchNorm1d-no-affine", lambda dt: _bn(False, dt), (6, 4)),
    ("LayerNorm", lambda dt: _ln(True, True, dt), (6, 3, 4)),
    ("LayerNorm-no-bias", lambda dt: _ln(True, False, dt), (6, 3, 4)),
    ("LayerNorm-no-affine", lambda dt: _ln(False, False, dt), (6, 3, 4)),
    ("Flatten", lambda dt: nn.Flatten(), (6, 3, 4)),
    ("Flatten-start-0", lambda dt: nn.Flatten(0, 1), (6, 3, 4)),
    ("Flatten-inner", lambda dt: nn.Flatten(1, 2), (6, 2, 3, 4)),
]


def _inputs(shape, dt) -> np.ndarray:
    """Standard normal values, with the kinks and tails of the activations in them: 0 exactly,
    ±25 (softplus's threshold, GELU's and sigmoid's tails) and a tiny value (expm1, log1p)."""
    x = np.random.default_rng(0).standard_normal(shape) * 2
    x.flat[:5] = [0.0, 25.0, -25.0, 1e-9, -4.0]
    return x.astype(dt)


def _expected(model: nn.Module, x: np.ndarray) -> np.ndarray:
    model.eval()
    with cr.no_grad():
        return model(cr.tensor(x)).data


def test_every_exportable_layer_has_a_case():
    covered = {type(make(np.float32)).__name__ for _, make, _ in LAYERS} | {"Sequential"}
    assert covered == set(EXPORTABLE_LAYERS), (
        f"layers without a case: {set(EXPORTABLE_LAYERS) - covered}"
    )


@pytest.mark.parametrize("dt", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize(("name", "make", "shape"), LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_matches_chainrule_in_onnx_runtime(name, make, shape, dt):
    model = nn.Sequential(make(dt))
    x = _inputs(shape, dt)
    graph = to_onnx(model, x)
    # the batch axis is dynamic: a batch of another size than the example runs too
    for batch in (x, x[:1], np.concatenate([x, -x])):
        got = run(graph, input=batch)["output"]
        assert_close(got, _expected(model, batch), f"{name} ({np.dtype(dt)}), batch {len(batch)}")


def test_softmax_without_dim_takes_pytorchs_legacy_axis():
    model = nn.Sequential(nn.Softmax())
    x = _inputs((5, 3, 4), np.float32)  # 3-D: the legacy axis is 0
    with pytest.warns(UserWarning, match="Implicit dimension"):
        graph = to_onnx(model, x)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        expected = _expected(model, x)
    assert_close(run(graph, input=x)["output"], expected, "Softmax(dim=None)")


@pytest.mark.parametrize("dt", DTYPES, ids=["float32", "float64"])
def test_nested_sequentials_with_fused_dense_layers(dt):
    """Sequential runs Linear+ReLU/Sigmoid/Tanh as one fused op; the graph equals it."""
    model = nn.Sequential(
        nn.Linear(5, 8, dtype=dt),
        nn.ReLU(),
        nn.Sequential(
            nn.Linear(8, 8, dtype=dt),
            nn.Tanh(),
            nn.Dropout(0.3),
            nn.Sequential(nn.Linear(8, 6, dtype=dt), nn.Sigmoid()),
            nn.LayerNorm(6, dtype=dt),
        ),
        _bn_sized(6, dt),
        nn.Linear(6, 3, dtype=dt),
        nn.LogSoftmax(dim=1),
    )
    x = _inputs((7, 5), dt)
    graph = to_onnx(model, input_shape=(None, 5))
    assert_close(run(graph, input=x)["output"], _expected(model, x), f"nested ({np.dtype(dt)})")
    names = {i.name for i in graph.graph.initializer}
    assert {"0.weight", "2.3.0.bias", "3.running_mean", "4.weight"} <= names, names


def _bn_sized(c: int, dt) -> nn.BatchNorm1d:
    m = nn.BatchNorm1d(c, dtype=dt)
    m.running_mean.data[...] = np.linspace(-1, 1, c)
    m.running_var.data[...] = np.linspace(0.5, 2, c)
    return m


def test_graph_is_eval_mode_whatever_the_training_flag():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.9), _bn_sized(4, np.float32))
    model.train()
    graph = to_onnx(model, input_shape=(None, 4))
    assert model.training, "to_onnx must not change the model's mode"
    x = _inputs((6, 4), np.float32)
    assert_close(run(graph, input=x)["output"], _expected(model, x), "eval-mode graph")


def test_declares_opset_dynamic_batch_and_output_shape():
    model = nn.Sequential(nn.Linear(4, 3))
    graph = to_onnx(model, input_shape=(32, 4))
    assert [(o.domain, o.version) for o in graph.opset_import] == [("", OPSET)]
    assert OPSET == 17
    (inp,), (out,) = graph.graph.input, graph.graph.output
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == [BATCH, 4]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == [BATCH, 3]
    assert graph.ir_version == onnx.helper.find_min_ir_version_for(list(graph.opset_import))


def test_a_newer_opset_runs_too():
    model = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.LayerNorm(4))
    graph = to_onnx(model, input_shape=(None, 3), opset=21)
    assert graph.opset_import[0].version == 21
    x = _inputs((5, 3), np.float32)
    assert_close(run(graph, input=x)["output"], _expected(model, x), "opset 21")


@pytest.mark.parametrize(
    ("model_dt", "graph_dt"), [(np.float64, np.float32), (np.float32, np.float64)]
)
def test_weights_cast_explicitly_to_the_graphs_dtype(model_dt, graph_dt):
    model = nn.Sequential(nn.Linear(4, 5, dtype=model_dt), nn.ELU(), _bn_sized(5, model_dt))
    graph = to_onnx(model, input_shape=(None, 4), dtype=graph_dt)
    want = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(graph_dt))
    assert {i.data_type for i in graph.graph.initializer} == {want}
    assert "Cast" not in {n.op_type for n in graph.graph.node}
    x = _inputs((6, 4), graph_dt)
    reference = copy.deepcopy(model).to(graph_dt)
    assert_close(run(graph, input=x)["output"], _expected(reference, x), "cast weights")
    assert model.state_dict()["0.weight"].dtype == model_dt, "the model itself is not cast"


def test_default_dtype_is_the_models():
    graph = to_onnx(nn.Linear(2, 2, dtype=np.float64), input_shape=(None, 2))
    assert graph.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    # a model without parameters takes its dtype from the example
    graph = to_onnx(nn.Tanh(), np.zeros((1, 2)))
    assert graph.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_a_bare_layer_exports_with_state_dict_names(tmp_path):
    model = nn.Linear(3, 2)
    path = tmp_path / "linear.onnx"
    graph = to_onnx(model, cr.tensor(np.ones((4, 3), dtype=np.float32)), path=path)
    assert onnx.load(path) == graph
    assert sorted(i.name for i in graph.graph.initializer) == ["bias", "weight"]
    x = _inputs((4, 3), np.float32)
    assert_close(run(graph, input=x)["output"], _expected(model, x), "bare Linear")


def test_input_and_output_names():
    graph = to_onnx(nn.ReLU(), input_shape=(None, 2), input_name="X", output_name="relu")
    x = _inputs((3, 2), np.float32)
    assert_close(run(graph, X=x)["relu"], np.maximum(x, 0), "renamed")


@pytest.mark.parametrize("dt", DTYPES, ids=["float32", "float64"])
def test_preprocessing_and_target_scaling_in_the_graph(dt):
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(3)
    raw = (rng.standard_normal((20, 3)) * [1.0, 10.0, 0.1] + [5.0, -2.0, 0.0]).astype(dt)
    model = nn.Sequential(nn.Linear(3, 2, dtype=dt), nn.Tanh())
    scaler = StandardScaler().fit(raw)
    expected = _expected(model, scaler.transform(raw).astype(dt))
    as_dict = {"mean": scaler.mean_, "scale": scaler.scale_}
    for pre in (scaler, as_dict):
        graph = to_onnx(model, raw, preprocessing=pre)
        assert_close(run(graph, input=raw)["output"], expected, f"preprocessing {type(pre)}")
    graph = to_onnx(model, raw, preprocessing=as_dict, target_scaling={"mean": 3.0, "scale": 2.0})
    assert_close(run(graph, input=raw)["output"], expected * 2 + 3, "target scaling")


def test_scaler_without_centring():
    from sklearn.preprocessing import StandardScaler

    raw = np.random.default_rng(4).standard_normal((10, 3)).astype(np.float32) + 2
    scaler = StandardScaler(with_mean=False).fit(raw)
    graph = to_onnx(nn.Identity(), raw, preprocessing=scaler)
    assert "Sub" not in {n.op_type for n in graph.graph.node}
    assert_close(run(graph, input=raw)["output"], scaler.transform(raw).astype(np.float32), "std")


class Custom(nn.Module):
    def forward(self, x):
        return x * 2


class MyLinear(nn.Linear):
    """A subclass may change forward, so it needs a rule of its own."""


@pytest.mark.parametrize(
    ("model", "layer", "path"),
    [
        (nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), Custom())), "Custom", "'1.1'"),
        (Custom(), "Custom", "the model itself"),
        (nn.Sequential(nn.ModuleList([nn.ReLU()])), "ModuleList", "'0'"),
        (nn.Sequential(MyLinear(2, 2)), "MyLinear", "'0'"),
    ],
    ids=["nested-custom", "bare-custom", "ModuleList", "subclass"],
)
def test_layer_without_a_rule_is_named(model, layer, path):
    with pytest.raises(NotImplementedError) as info:
        to_onnx(model, input_shape=(None, 2))
    message = str(info.value)
    assert f"no ONNX export rule for {layer} at {path}; the layers that export are " in message
    assert all(name in message for name in EXPORTABLE_LAYERS), message


def test_batchnorm_without_running_statistics_is_refused():
    model = nn.Sequential(nn.BatchNorm1d(3, track_running_stats=False))
    with pytest.raises(NotImplementedError, match="'0' has track_running_stats=False"):
        to_onnx(model, input_shape=(None, 3))


@pytest.mark.parametrize(
    ("model", "kwargs", "error", "match"),
    [
        (nn.Linear(3, 2), {"input_shape": (None, 4)}, ValueError, "expects 3 input features"),
        (
            nn.Sequential(nn.Linear(3, 2), nn.Linear(3, 2)),
            {"input_shape": (None, 3)},
            ValueError,
            "Linear at '1' expects 3 input features, but its input has shape \\(None, 2\\)",
        ),
        (nn.BatchNorm1d(3), {"input_shape": (None, 4)}, ValueError, "expects input \\(N, 3"),
        (nn.LayerNorm(3), {"input_shape": (None, 4)}, ValueError, "normalises over \\(3,\\)"),
        (nn.Softmax(dim=2), {"input_shape": (None, 4)}, ValueError, "dim=2, out of range"),
        (
            nn.Flatten(2, 1),
            {"input_shape": (None, 4, 3)},
            ValueError,
            "start_dim=2 after end_dim=1",
        ),
        (nn.ReLU(), {}, TypeError, "needs example_input .* or input_shape"),
        (
            nn.ReLU(),
            {"input_shape": (None, 2), "example_input": np.ones((1, 2))},
            ValueError,
            "not both",
        ),
        (nn.ReLU(), {"input_shape": (None,)}, ValueError, "must be \\(batch, \\*features\\)"),
        (nn.ReLU(), {"input_shape": (None, 0)}, ValueError, "positive feature sizes"),
        (nn.ReLU(), {"input_shape": (None, 2), "dtype": "int32"}, ValueError, "dtype must be"),
        (nn.ReLU(), {"input_shape": (None, 2), "dtype": "float16"}, ValueError, "dtype must be"),
        (
            nn.ReLU(),
            {"input_shape": (None, 2), "opset": 16},
            ValueError,
            "opset must be an int >= 17",
        ),
        (nn.ReLU(), {"input_shape": (None, 2), "output_name": "input"}, ValueError, "distinct"),
        (
            nn.ReLU(),
            {"input_shape": (None, 2), "preprocessing": [0, 1]},
            TypeError,
            "preprocessing must be a fitted StandardScaler",
        ),
        (
            nn.ReLU(),
            {"input_shape": (None, 2), "preprocessing": {"mean": [1, 2, 3]}},
            ValueError,
            "preprocessing mean must be finite, of shape \\(\\) or \\(2,\\), got shape \\(3,\\)",
        ),
        (
            nn.ReLU(),
            {"input_shape": (None, 2), "preprocessing": {"scale": [1, 0]}},
            ValueError,
            "scale must be non-zero",
        ),
        (
            nn.ReLU(),
            {"input_shape": (None, 2), "preprocessing": {"mean": [1, np.nan]}},
            ValueError,
            "non-finite",
        ),
        (
            "not a model",
            {"input_shape": (None, 2)},
            TypeError,
            "model must be a chainrule nn.Module",
        ),
    ],
)
def test_bad_arguments(model, kwargs, error, match):
    with pytest.raises(error, match=match):
        to_onnx(model, **kwargs)


def test_unfitted_scaler_is_refused():
    from sklearn.exceptions import NotFittedError
    from sklearn.preprocessing import StandardScaler

    with pytest.raises(NotFittedError):
        to_onnx(nn.ReLU(), input_shape=(None, 2), preprocessing=StandardScaler())
