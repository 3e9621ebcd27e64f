"""The Module API: registration, traversal names, modes, gradients, state dicts, repr."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


class Block(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.fc = nn.Linear(n, n)
        self.norm = nn.BatchNorm1d(n)

    def forward(self, x):
        return self.norm(self.fc(x))


class Net(nn.Module):
    """A model with a direct parameter, nested modules, a container and a shared layer."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3, dtype=np.float32))
        self.inp = nn.Linear(2, 3)
        self.block = Block(3)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(3, 1))
        self.tied = self.inp  # the same module under a second name

    def forward(self, x):
        return self.head(self.block(self.inp(x) * self.scale))


class TorchBlock(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.fc = torch.nn.Linear(n, n)
        self.norm = torch.nn.BatchNorm1d(n)


class TorchNet(torch.nn.Module):
    """``Net``'s structure in PyTorch."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(3))
        self.inp = torch.nn.Linear(2, 3)
        self.block = TorchBlock(3)
        self.head = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(3, 1))
        self.tied = self.inp


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    data = np.arange(3, dtype=np.float32)
    p = nn.Parameter(data)
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.is_leaf
    assert p.data is data, "Parameter shares its array, as torch's shares its storage"
    assert not hasattr(p, "__dict__"), "Parameter must keep Tensor's __slots__"
    assert repr(p) == "Parameter containing:\ntensor([0., 1., 2.], requires_grad=True)"
    assert not nn.Parameter(data, requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    assert nn.Parameter(cr.tensor([1.0, 2.0])).dtype == np.float32
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad.data, 2 * data, err_msg="Parameter receives .grad")
    with pytest.raises(TypeError, match="Parameter: data must be floating point .* int64"):
        nn.Parameter(np.array([1, 2]))


def test_named_parameters_modules_children_and_state_dict_keys_match_torch():
    ours, theirs = Net(), TorchNet()
    names = [n for n, _ in ours.named_parameters()]
    assert names == [n for n, _ in theirs.named_parameters()]
    assert names == [
        "scale",
        "inp.weight",
        "inp.bias",
        "block.fc.weight",
        "block.fc.bias",
        "block.norm.weight",
        "block.norm.bias",
        "head.1.weight",
        "head.1.bias",
    ]
    assert len(list(ours.parameters())) == 9, "the tied layer's parameters are yielded once"
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.block.named_parameters(prefix="b")] == [
        "b.fc.weight",
        "b.fc.bias",
        "b.norm.weight",
        "b.norm.bias",
    ]
    assert [n for n, _ in ours.named_parameters(recurse=False)] == ["scale"]
    assert list(ours.children())[0] is ours.inp and list(ours.modules())[0] is ours
    assert ours.get_submodule("block.norm") is ours.block.norm
    with pytest.raises(AttributeError, match="Block has no submodule `conv`"):
        ours.get_submodule("block.conv")


def test_state_dict_holds_copies_and_round_trips(rng):
    a, b = Net(), Net()
    x = cr.tensor(rng.standard_normal((5, 2)).astype(np.float32))
    a(x)  # moves BatchNorm's running statistics
    sd = a.state_dict()
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    assert sd["block.norm.num_batches_tracked"] == 1
    sd["inp.weight"][...] = 99
    assert not np.any(a.inp.weight.data == 99), "state_dict must hold copies"
    sd = a.state_dict()
    weight, weight_data = b.inp.weight, b.inp.weight.data
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert b.inp.weight is weight and b.inp.weight.data is weight_data, "loaded in place"
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v, sd[k], err_msg=f"{k} after load_state_dict")
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(x).data, b(x).data, err_msg="same state, same outputs")
    b.load_state_dict({k: cr.tensor(v) for k, v in sd.items()})  # Tensors are accepted too


def _snapshot(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def _unchanged(model, before):
    after = model.state_dict()
    return all(np.array_equal(after[k], before[k]) for k in before)


def test_load_state_dict_strict_errors_name_the_keys_and_change_nothing():
    model = Net()
    sd = Net().state_dict()
    before = _snapshot(model)
    del sd["inp.bias"]
    sd["extra.weight"] = np.zeros(2)
    sd["head.1.weight"] = np.zeros((1, 3))  # torch's layout by mistake: ours is (3, 1)
    with pytest.raises(ValueError) as info:
        model.load_state_dict(sd)
    msg = str(info.value)
    assert "missing keys: ['inp.bias']" in msg, msg
    assert "unexpected keys: ['extra.weight']" in msg, msg
    assert re.search(r"size mismatch for head\.1\.weight: .*\(1, 3\).*\(3, 1\)", msg), msg
    assert "nothing was changed" in msg
    assert _unchanged(model, before), "a failed load_state_dict must leave the model unchanged"


def test_load_state_dict_non_strict_reports_keys_but_still_rejects_shapes():
    model = Net()
    sd = Net().state_dict()
    del sd["scale"]
    sd["extra"] = np.zeros(1)
    result = model.load_state_dict(sd, strict=False)
    assert result == nn.IncompatibleKeys(["scale"], ["extra"])
    np.testing.assert_array_equal(model.inp.weight.data, sd["inp.weight"])
    before = _snapshot(model)
    sd["inp.bias"] = np.zeros(7)
    with pytest.raises(ValueError, match=r"size mismatch for inp\.bias"):
        model.load_state_dict(sd, strict=False)
    assert _unchanged(model, before)
    sd["inp.bias"] = np.array(["a", "b", "c"])
    with pytest.raises(ValueError, match="value for inp.bias is not numeric"):
        model.load_state_dict(sd, strict=False)
    with pytest.raises(
        TypeError, match="state_dict must be a mapping of names to arrays, got list"
    ):
        model.load_state_dict([1, 2])


def test_train_and_eval_propagate_to_every_descendant():
    model = Net()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.block.train()
    assert model.block.norm.training and not model.training
    assert model.train() is model and all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="mode is expected to be a bool, got 'no'"):
        model.train("no")


def test_zero_grad_to_none_or_in_place(rng):
    model = nn.Linear(3, 2)
    model(cr.tensor(rng.standard_normal((4, 3)).astype(np.float32))).sum().backward()
    grad = model.weight.grad
    model.zero_grad(set_to_none=False)
    assert model.weight.grad is grad and np.all(grad.data == 0), "zeros in place"
    model.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None


def test_zero_grad_detaches_a_graph_recorded_gradient():
    model = nn.Linear(2, 1, dtype=cr.float64)
    x = cr.tensor(np.ones((1, 2)))
    (model(x) ** 2).sum().backward(create_graph=True)
    model.zero_grad(set_to_none=False)
    assert model.weight.grad.is_leaf and np.all(model.weight.grad.data == 0)


def test_apply_visits_children_first_and_returns_self():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]

    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    model.apply(init_weights)
    assert np.all(model[0].weight.data == 0) and np.all(model[1][1].weight.data == 0)


def test_requires_grad_and_dtype_conversion():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_()
    assert model.double() is model
    assert all(t.dtype == np.float64 for t in model.parameters())
    assert model[1].running_var.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64, "integer buffers keep their dtype"
    model.to(cr.float32)
    assert all(t.dtype == np.float32 for t in model.parameters())
    model.float()
    with pytest.raises(TypeError, match="to: dtype must be a floating-point dtype, got int32"):
        model.to(np.int32)


def test_registration_rules_and_errors():
    class Bare(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(1, dtype=np.float32))

    with pytest.raises(AttributeError, match="cannot assign parameters before Module.__init__"):
        Bare()
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        m.weight = cr.zeros(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'int' object to parameter 'p'"):
        m.register_parameter("p", 3)
    with pytest.raises(KeyError, match=r"buffer name can.+t be empty or contain"):
        m.register_buffer("a.b", cr.zeros(1))
    with pytest.raises(KeyError, match="attribute 'in_features' already exists"):
        m.register_buffer("in_features", cr.zeros(1))
    with pytest.raises(TypeError, match="cannot assign 'ndarray' object to buffer 'stat'"):
        m.register_buffer("stat", np.zeros(1))
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        m.add_module("sub", 3)
    m.bias = None  # a parameter slot may be emptied
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    m.extra = nn.ReLU()
    assert "extra" in dict(m.named_children())
    del m.extra
    assert "extra" not in dict(m.named_children()) and not hasattr(m, "extra")
    m.register_buffer("stat", cr.zeros(2), persistent=False)
    assert "stat" not in m.state_dict() and "stat" in dict(m.named_buffers())
    m.stat = cr.ones(2)
    assert dict(m.named_buffers())["stat"] is m.stat
    with pytest.raises(TypeError, match="cannot assign 'list' as buffer 'stat'"):
        m.stat = [1.0]


def test_reassigning_a_name_moves_it_between_registries():
    m = nn.Module()
    m.x = nn.Parameter(np.zeros(1, dtype=np.float32))
    m.x = nn.ReLU()
    assert list(m._parameters) == [] and list(m._modules) == ["x"]


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing .*"forward"'):
        nn.Module()(1)


def test_deepcopy_gives_an_independent_model(rng):
    model = Net()
    clone = copy.deepcopy(model)
    assert clone.tied is clone.inp, "sharing survives the copy"
    clone.inp.weight.data[...] = 0
    assert not np.all(model.inp.weight.data == 0)


def test_repr_matches_torch_for_the_same_structure():
    ours = nn.Sequential(
        nn.Linear(2, 10),
        nn.Sigmoid(),
        nn.Sequential(nn.Linear(10, 5), nn.LeakyReLU(0.1), nn.BatchNorm1d(5)),
        nn.Flatten(),
        nn.Linear(5, 1, bias=False),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Linear(2, 10),
        torch.nn.Sigmoid(),
        torch.nn.Sequential(
            torch.nn.Linear(10, 5), torch.nn.LeakyReLU(0.1), torch.nn.BatchNorm1d(5)
        ),
        torch.nn.Flatten(),
        torch.nn.Linear(5, 1, bias=False),
    )
    assert repr(ours) == repr(theirs)
    assert repr(Net()).startswith("Net(\n  (inp): Linear(in_features=2, out_features=3, bias=True)")

    class Custom(nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    assert repr(Custom()) == "Custom(\n  a=1\n  b=2\n)"


def test_parameters_follow_every_structural_change():
    model = nn.Sequential(nn.Linear(2, 2))
    assert len(list(model.parameters())) == 2
    model.append(nn.Linear(2, 1))
    assert len(list(model.parameters())) == 4, "appended layer's parameters"
    model[0].bias = None
    assert len(list(model.parameters())) == 3, "a parameter set to None disappears"
    model[1].extra = nn.Parameter(np.zeros(1, dtype=np.float32))
    assert any(p is model[1].extra for p in model.parameters()), "a grandchild's new parameter"
    del model[0]
    assert len(list(model.parameters())) == 3 and len(list(model.modules())) == 2
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "0.extra"]


def test_deepcopy_parameters_are_the_copy_s_own():
    model = Net()
    list(model.parameters())  # fills any cache before copying
    clone = copy.deepcopy(model)
    ids = {id(p) for p in model.parameters()}
    assert not ids & {id(p) for p in clone.parameters()}, "clone.parameters() are the clone's"
    assert [id(p) for p in clone.parameters()] == [id(p) for _, p in clone.named_parameters()]


def test_more_registration_errors():
    class Early(nn.Module):
        def __init__(self):
            self.sub = nn.ReLU()

    with pytest.raises(AttributeError, match="cannot assign module before Module.__init__"):
        Early()

    class EarlyBuffer(nn.Module):
        def __init__(self):
            self.register_buffer("b", None)

    with pytest.raises(AttributeError, match="cannot assign buffer before Module.__init__"):
        EarlyBuffer()
    m = nn.Sequential(nn.ReLU())
    with pytest.raises(TypeError, match=r"cannot assign 'str' as child module '0' \(nn.Module"):
        setattr(m, "0", "relu")
    with pytest.raises(TypeError, match="parameter name should be a string, got int"):
        m.register_parameter(1, None)
    m.register_buffer("b", None)
    assert "b" not in m.state_dict()


def test_plain_attributes_and_property_setters_still_work():
    class WithProperty(nn.Module):
        def __init__(self):
            super().__init__()
            self._scale = 1.0
            self.scale = 3.0

        @property
        def scale(self):
            return self._scale

        @scale.setter
        def scale(self, value):
            self._scale = value * 2

    m = WithProperty()
    assert m.scale == 6.0, "a property setter on a Module subclass must run"
    m.note = "plain"
    assert m.note == "plain" and list(m.state_dict()) == []


def test_pickle_round_trip_drops_the_cache_and_keeps_the_model(rng):
    import pickle

    model = Net()
    list(model.parameters())
    clone = pickle.loads(pickle.dumps(model))
    assert "_cache" not in clone.__dict__
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in model.named_parameters()]
    x = cr.tensor(rng.standard_normal((4, 2)).astype(np.float32))
    model.eval(), clone.eval()
    np.testing.assert_array_equal(clone(x).data, model(x).data, err_msg="pickled model output")
