"""Sequential, ModuleList and ModuleDict: indexing, mutation, registration, repr."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.ops.fused import LinearCall

from ._parity import DTYPE_IDS, DTYPES, check_parity, linear_params, torch_linear_like

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_sequential_network_matches_torch(rng, dtype):
    # the seeds' 2-10-1 sigmoid network
    ours = nn.Sequential(nn.Linear(2, 10, dtype=dtype), nn.Sigmoid(), nn.Linear(10, 1, dtype=dtype))
    theirs = torch.nn.Sequential(
        torch_linear_like(ours[0]), torch.nn.Sigmoid(), torch_linear_like(ours[2])
    )
    check_parity(
        "Sequential(Linear, Sigmoid, Linear)",
        ours,
        theirs,
        [rng.standard_normal((8, 2))],
        dtype,
        params=linear_params(ours[0], theirs[0], "0.") + linear_params(ours[2], theirs[2], "2."),
    )


def _unfused(seq, x):
    """The layers called one by one: the general path the fused one must equal."""
    for module in seq:
        x = module(x)
    return x


def _linear_calls(out):
    """The metadata of the chain of linear nodes ending at ``out``, first layer first."""
    calls = []
    t = out
    while t is not None and t._op is not None:  # down to the input (None: a constant)
        assert t._op.name == "linear", t._op.name
        calls.append(LinearCall(*t._inputs, **t._kw))
        t = t._parents[0]
    return calls[::-1]


@pytest.mark.parametrize("act", [nn.ReLU, nn.Sigmoid, nn.Tanh])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_sequential_fuses_linear_and_activation_bit_for_bit(rng, act, dtype):
    cr.manual_seed(0)
    seq = nn.Sequential(
        nn.Linear(4, 6, dtype=dtype),
        act(),
        nn.Linear(6, 3, dtype=dtype),
        act(),
        nn.Linear(3, 2, dtype=dtype),
    )
    x = cr.tensor(rng.standard_normal((5, 4)), dtype=dtype)
    fused = seq(x)
    name = act.__name__.lower()
    calls = _linear_calls(fused)  # three linear nodes, the first two carrying the activation
    assert [c.activation for c in calls] == [name, name, None]
    fused.sum().backward()
    fused_grads = [p.grad.data.copy() for p in seq.parameters()]
    seq.zero_grad()
    plain = _unfused(seq, x)
    assert plain._parents[0]._op.name == name  # the general path: separate nodes
    plain.sum().backward()
    np.testing.assert_array_equal(fused.data, plain.data)
    for a, p in zip(fused_grads, seq.parameters()):
        np.testing.assert_array_equal(a, p.grad.data)


@pytest.mark.parametrize("act", [nn.ReLU, nn.Sigmoid, nn.Tanh])
def test_fused_node_metadata_gives_z_and_delta_of_the_separate_layers(rng, act):
    """A fused node's LinearCall: z equals the separate Linear's output bit for bit, and
    delta(∂loss/∂a, a) equals ∂loss/∂z of the separate layers."""
    seq = nn.Sequential(nn.Linear(4, 3, dtype=cr.float64), act(), nn.Linear(3, 2, dtype=cr.float64))
    x = cr.tensor(rng.standard_normal((5, 4)))
    out = seq(x)
    a = out._parents[0]
    call = LinearCall(*a._inputs, **a._kw)
    assert call.activation == act.__name__.lower()
    assert call.x is x.data and call.weight is seq[0].weight.data and call.bias is seq[0].bias.data
    z_sep = seq[0](x)
    np.testing.assert_array_equal(call.z, z_sep.data)
    a_sep = seq[1](z_sep)
    np.testing.assert_array_equal(a.data, a_sep.data)
    g = rng.standard_normal(a.shape)
    (dz,) = cr.gradients(a_sep, z_sep, g)
    np.testing.assert_array_equal(call.delta(g, a.data), dz.data)
    plain = LinearCall(x.data, seq[0].weight.data)
    assert plain.activation is None and plain.delta(g, None) is g
    np.testing.assert_array_equal(plain.z, x.data @ seq[0].weight.data)


def test_sequential_does_not_fuse_layers_with_hooks():
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    seen = []
    handle = seq[1].register_forward_hook(lambda m, args, out: seen.append(out))
    out = seq(cr.tensor(np.ones((2, 3))))
    assert len(seen) == 1 and seen[0].shape == (2, 4)
    assert out._parents[0]._op.name == "relu"
    handle.remove()
    assert [c.activation for c in _linear_calls(seq(cr.tensor(np.ones((2, 3)))))] == ["relu", None]
    seq[1] = nn.LeakyReLU()  # the structure changed: no fusion
    assert seq(cr.tensor(np.ones((2, 3))))._parents[0]._op.name == "leaky_relu"
    seq[1] = nn.Tanh()
    assert [c.activation for c in _linear_calls(seq(cr.tensor(np.ones((2, 3)))))] == ["tanh", None]


def test_sequential_fused_layer_keeps_linear_error_message(monkeypatch):
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    calls = []
    linear = cr.ops.linear
    monkeypatch.setattr(cr.ops, "linear", lambda *a, **k: calls.append(k) or linear(*a, **k))
    with pytest.raises(ValueError, match="Linear: expected input with in_features=3"):
        seq(cr.tensor(np.ones((2, 5))))
    assert calls == [{"activation": "relu"}], "the layer ran once, fused; nothing re-ran"


def test_sequential_with_a_module_set_to_none_says_which():
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    setattr(seq, "2", None)  # allowed, as in PyTorch; calling it is not
    with pytest.raises(TypeError, match="Sequential: module 2 is None"):
        seq(cr.tensor(np.ones((2, 3))))


def test_linear_rejects_unknown_activation():
    with pytest.raises(ValueError, match="linear: activation must be one of"):
        cr.linear(np.ones((2, 3)), np.ones((3, 1)), activation="gelu")


def test_sequential_indexing_slicing_len_iteration():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and list(seq) == [a, b, c]
    assert seq[0] is a and seq[-1] is c
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b]
    assert list(seq[::2]) == [a, c] and list(seq[::2]._modules) == ["0", "2"]
    with pytest.raises(IndexError, match="Sequential: index 3 is out of range for 3 modules"):
        seq[3]
    with pytest.raises(TypeError):
        seq["0"]


def test_sequential_mutation_keeps_torch_numbering():
    seq, ref = (
        nn.Sequential(nn.ReLU(), nn.Tanh()),
        torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Tanh()),
    )
    assert seq.append(nn.Sigmoid()) is seq
    ref.append(torch.nn.Sigmoid())
    seq.insert(1, nn.Identity())
    ref.insert(1, torch.nn.Identity())
    del seq[0]
    del ref[0]
    seq[0] = nn.ELU()
    ref[0] = torch.nn.ELU()
    assert repr(seq) == repr(ref)
    assert list(seq._modules) == list(ref._modules) == ["0", "1", "2"]
    seq.extend([nn.ReLU()])
    assert len(seq) == 4
    with pytest.raises(TypeError, match="Sequential.append: expected an nn.Module, got int"):
        seq.append(1)
    with pytest.raises(IndexError, match="Sequential.insert: index 9 is out of range"):
        seq.insert(9, nn.ReLU())


def test_sequential_from_ordered_dict_keeps_names():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [n for n, _ in seq.named_parameters()] == ["fc.weight", "fc.bias"]
    assert seq.fc is seq[0]
    with pytest.raises(TypeError, match="Sequential: expected an nn.Module, got str"):
        nn.Sequential("relu")


def test_module_list_registers_and_mutates():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(list(layers.parameters())) == 6
    assert [n for n, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]
    extra = nn.Tanh()
    layers.append(extra)
    assert layers[-1] is extra and len(layers) == 4
    layers.insert(0, nn.ReLU())
    assert isinstance(layers[0], nn.ReLU) and list(layers._modules) == ["0", "1", "2", "3", "4"]
    del layers[0]
    assert isinstance(layers[0], nn.Linear)
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    layers += [nn.Sigmoid()]
    layers[0] = nn.GELU()
    assert isinstance(layers[0], nn.GELU) and len(layers) == 5
    with pytest.raises(TypeError, match="ModuleList.extend: expected an iterable of modules"):
        layers.extend(nn.ReLU())
    with pytest.raises(IndexError, match="ModuleList: index 7 is out of range"):
        layers[7]
    with pytest.raises(NotImplementedError, match="missing the required"):
        layers(cr.zeros(2))


def test_module_list_repr_folds_repeats_like_torch():
    ours = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)])
    theirs = torch.nn.ModuleList(
        [torch.nn.Linear(2, 2), torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 2)]
    )
    assert repr(ours) == repr(theirs)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList()) == "ModuleList()"


def test_module_dict_registers_and_mutates():
    d = nn.ModuleDict({"enc": nn.Linear(2, 3), "act": nn.ReLU()})
    assert list(d) == ["enc", "act"] and "enc" in d and len(d) == 2
    assert [n for n, _ in d.named_parameters()] == ["enc.weight", "enc.bias"]
    d["dec"] = nn.Linear(3, 2)
    assert list(d.keys()) == ["enc", "act", "dec"]
    assert [type(m).__name__ for m in d.values()] == ["Linear", "ReLU", "Linear"]
    assert d.pop("act").__class__ is nn.ReLU and "act" not in d
    d.update([("out", nn.Sigmoid())])
    assert dict(d.items())["out"] is d["out"]
    del d["out"]
    with pytest.raises(KeyError):
        del d["out"]
    with pytest.raises(TypeError, match="ModuleDict.update: element #0 should be a"):
        d.update([nn.ReLU()])
    with pytest.raises(TypeError, match="ModuleDict: expected an nn.Module, got float"):
        d["x"] = 1.0
    d.clear()
    assert len(d) == 0 and list(d.parameters()) == []


def test_containers_propagate_train_and_eval():
    model = nn.Sequential(
        nn.ModuleList([nn.Dropout(0.5)]), nn.ModuleDict({"bn": nn.BatchNorm1d(2)})
    )
    model.eval()
    assert not model[0][0].training and not model[1]["bn"].training
    x = cr.tensor(np.ones((2, 2), dtype=np.float32))
    assert model[0][0](x) is x
