"""chainrule.graph: matrix-chain order, DOT and SVG drawings, the backprop trace."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from functools import cache

import numpy as np
import pytest

import chainrule as cr
from chainrule import graph
from chainrule.graph import _svg

SVG = "{http://www.w3.org/2000/svg}"


# --- helpers -----------------------------------------------------------------------------------
def parse_dot(text: str) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, str]]]:
    """Nodes (id -> unescaped attributes) and edges (src, dst, label) of our DOT output."""
    attr = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\s\]]+)')
    unescape = lambda v: re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], v[1:-1])  # noqa: E731
    lines = text.strip().splitlines()
    assert lines[0] == "digraph chainrule {" and lines[-1] == "}", "DOT: not one digraph"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if m := re.fullmatch(r"\s*(n\d+) -> (n\d+)(?: \[label=(\"(?:[^\"\\]|\\.)*\")\])?;", line):
            edges.append((m[1], m[2], unescape(m[3]) if m[3] else ""))
        elif m := re.fullmatch(r"\s*(n\d+) \[(.*)\];", line):
            attrs = dict(attr.findall(m[2]))
            nodes[m[1]] = {k: unescape(v) if v.startswith('"') else v for k, v in attrs.items()}
        else:
            assert re.fullmatch(r"\s*(graph|node|edge) \[.*\];", line), f"DOT: stray line {line!r}"
    for src, dst, _ in edges:
        assert src in nodes and dst in nodes, f"DOT: edge {src} -> {dst} to an undeclared node"
    return nodes, edges


def by_title(nodes: dict[str, dict[str, str]]) -> dict[str, str]:
    """First label line -> node id (for nodes whose first line is unique)."""
    titles = Counter(a["label"].split("\n")[0] for a in nodes.values())
    return {
        a["label"].split("\n")[0]: nid
        for nid, a in nodes.items()
        if titles[a["label"].split("\n")[0]] == 1
    }


def parse_svg(text: str) -> tuple[list[ET.Element], list[ET.Element], ET.Element]:
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg", f"SVG: root element is {root.tag}"
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("node ")]
    paths = [p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]
    return groups, paths, root


def seed_F():
    """The seed's F = log x + x²·y + y² at (2, 3)."""
    x = cr.tensor([2.0], requires_grad=True)
    y = cr.tensor([3.0], requires_grad=True)
    return x, y, x.log() + x**2 * y + y**2


def seed_network():
    """The seed network: x = 1, y = 1, 2 ReLU hidden units, loss ½(ŷ − y)²."""
    x = cr.tensor([1.0], requires_grad=True)
    W1 = cr.tensor([[1.0, 2.0]], requires_grad=True)
    b1 = cr.tensor([0.0, 0.0], requires_grad=True)
    W2 = cr.tensor([[1.0], [1.0]], requires_grad=True)
    b2 = cr.tensor([0.0], requires_grad=True)
    h = cr.relu(cr.linear(x.reshape(1, 1), W1, b1))
    out = cr.linear(h, W2, b2)
    loss = 0.5 * ((out - 1.0) ** 2).sum()
    return loss, (x, W1, b1, W2, b2)


def no_overlaps(groups: list[ET.Element]) -> None:
    boxes = []
    for g in groups:
        (rect,) = g.findall(f"{SVG}rect")
        x, y = float(rect.get("x")), float(rect.get("y"))
        boxes.append(
            (x, y, x + float(rect.get("width")), y + float(rect.get("height")), g.get("id"))
        )
    for a, b in itertools.combinations(boxes, 2):
        apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
        assert apart, f"own layout: boxes {a[4]} and {b[4]} overlap: {a[:4]} {b[:4]}"


# --- matrix_chain_order -------------------------------------------------------------------------
def test_matrix_chain_clrs():
    r = graph.matrix_chain_order((30, 35, 15, 5, 10, 20, 25))
    assert r.order == "((A1(A2A3))((A4A5)A6))", f"CLRS order: {r.order}"
    assert r.cost == 15125 and r.table[0][5] == 15125, f"CLRS cost: {r.cost}"
    # ((((A1A2)A3)A4)A5)A6: 30·35·15 + 30·15·5 + 30·5·10 + 30·10·20 + 30·20·25
    assert r.forward_cost == 40500, f"left to right: {r.forward_cost}"
    # A1(A2(A3(A4(A5A6)))): (30·35 + 35·15 + 15·5 + 5·10 + 10·20)·25
    assert r.reverse_cost == 47500, f"right to left: {r.reverse_cost}"
    assert r.forward_order == "(((((A1A2)A3)A4)A5)A6)"
    assert r.reverse_order == "(A1(A2(A3(A4(A5A6)))))"
    assert r.table[1][0] is None and r.table[2][2] == 0
    assert "15,125" in str(r) and r.n_matrices == 6


@cache
def _brute(dims: tuple[int, ...], i: int, j: int) -> int:
    """Least cost of A_{i+1}…A_{j+1} over every parenthesisation."""
    if i == j:
        return 0
    return min(
        _brute(dims, i, k) + _brute(dims, k + 1, j) + dims[i] * dims[k + 1] * dims[j + 1]
        for k in range(i, j)
    )


def _cost_of(order: str, dims: tuple[int, ...]) -> int:
    """Evaluates a parenthesisation string: the multiplications it does."""
    stack: list = []
    total = 0
    for tok in re.findall(r"\(|\)|A\d+", order):
        if tok.startswith("A"):
            k = int(tok[1:])
            stack.append((dims[k - 1], dims[k]))
        elif tok == ")":
            (p, q), (q2, r) = stack[-2], stack[-1]
            assert q == q2, f"{order}: inner dimensions {q} and {q2} differ"
            stack[-2:] = [(p, r)]
            total += p * q * r
    assert len(stack) == 1, f"{order}: not one product"
    return total


def test_matrix_chain_matches_brute_force(rng):
    for n in range(1, 8):
        for _ in range(6):
            dims = tuple(int(d) for d in rng.integers(1, 40, size=n + 1))
            r = graph.matrix_chain_order(dims)
            assert r.cost == _brute(dims, 0, n - 1), f"dims {dims}: cost {r.cost}"
            assert _cost_of(r.order, dims) == r.cost, f"dims {dims}: {r.order} costs otherwise"
            assert _cost_of(r.forward_order, dims) == r.forward_cost, f"dims {dims}: forward"
            assert _cost_of(r.reverse_order, dims) == r.reverse_cost, f"dims {dims}: reverse"
            assert r.cost <= min(r.forward_cost, r.reverse_cost)


def test_matrix_chain_modes_depend_on_the_shape_of_the_chain():
    # a row vector first (few outputs, e.g. a gradient): right to left (reverse mode) wins
    wide = graph.matrix_chain_order((1, 100, 100, 100))
    assert wide.reverse_cost > wide.forward_cost == wide.cost == 20000
    tall = graph.matrix_chain_order((100, 100, 100, 1))
    assert tall.forward_cost > tall.reverse_cost == tall.cost == 20000


def test_matrix_chain_small_cases():
    one = graph.matrix_chain_order([3, 4])
    assert (one.order, one.cost, one.forward_cost, one.reverse_cost) == ("A1", 0, 0, 0)
    two = graph.matrix_chain_order(np.array([2, 3, 4]))
    assert (two.order, two.cost) == ("(A1A2)", 24)


@pytest.mark.parametrize(
    ("dims", "error", "match"),
    [
        ((5,), ValueError, r"at least 2 entries.*got 1"),
        ((), ValueError, r"at least 2 entries"),
        ((3, 0, 2), ValueError, r"dims\[1\] must be positive, got 0"),
        ((3, -2), ValueError, r"dims\[1\] must be positive, got -2"),
        ((3, 2.5), TypeError, r"dims\[1\] must be an int, got float 2.5"),
        ((True, 2), TypeError, r"dims\[0\] must be an int, got bool"),
        ("345", TypeError, r"dims must be a sequence of ints, got str"),
        (7, TypeError, r"dims must be a sequence of ints, got int"),
    ],
)
def test_matrix_chain_rejects_bad_dims(dims, error, match):
    with pytest.raises(error, match=match):
        graph.matrix_chain_order(dims)


# --- traversal ------------------------------------------------------------------------------------
def test_walk_is_topological(rng):
    leaves = [cr.tensor(rng.normal(size=3), requires_grad=True) for _ in range(4)]
    made = list(leaves)
    for _ in range(60):
        a, b = (made[int(i)] for i in rng.integers(0, len(made), size=2))
        made.append(cr.tanh(a) * b if rng.random() < 0.5 else a + b)
    root = made[-1]
    order = graph.walk(root)
    where = {id(t): i for i, t in enumerate(order)}
    assert order[-1] is root and len(where) == len(order), "walk: root last, each tensor once"
    for t in order:
        for p in t._parents if t._op is not None else ():
            if p is not None:
                assert where[id(p)] < where[id(t)], f"walk: input after {t._op.name}"


def test_walk_of_a_100000_op_chain_does_not_recurse():
    x = cr.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = cr.neg(y)
    order = graph.walk(y)
    assert len(order) == 100_001 and order[0] is x and order[-1] is y
    with pytest.raises(ValueError, match=r"200001 nodes.*max_nodes=2000.*max_nodes=None"):
        graph.Graph(y)


def test_dot_of_a_long_chain_without_limit():
    x = cr.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = cr.neg(y)
    nodes, edges = parse_dot(graph.to_dot(y, max_nodes=None, show_values=False))
    assert (len(nodes), len(edges)) == (10_001, 10_000), "chain: leaf + 5000 × (op, tensor)"


def test_walk_rejects_non_tensors():
    with pytest.raises(TypeError, match="graph: expected a Tensor, got list"):
        graph.walk([1.0])


# --- DOT ----------------------------------------------------------------------------------------
def test_dot_of_the_seed_function_has_every_node_and_edge():
    x, y, F = seed_F()
    nodes, edges = parse_dot(graph.to_dot(F, names={"x": x, "y": y}))
    kinds = Counter(a["class"] for a in nodes.values())
    # log, pow, mul, pow, add, add; x and y; the two exponents 2; 5 intermediates and F
    assert kinds == {"op": 6, "input": 2, "constant": 2, "tensor": 5, "output": 1}, kinds
    # each op: one edge per operand and one to its output (log 1, the others 2 operands)
    assert len(edges) == 6 + 1 + 5 * 2, f"edges: {len(edges)}"
    ids = by_title(nodes)
    ops_of = lambda src: sorted(nodes[d]["label"] for s, d, _ in edges if s == src)  # noqa: E731
    assert ops_of(ids["x"]) == ["log", "pow"], "x feeds log and pow"
    assert ops_of(ids["y"]) == ["mul", "pow"], "y feeds x²·y and y²"
    pow_edges = {lab for s, d, lab in edges if nodes[d]["label"] == "pow"}
    assert pow_edges == {"base", "exponent"}, f"pow's operands are named: {pow_edges}"
    out = [n for n, a in nodes.items() if a["class"] == "output"][0]
    assert nodes[out]["label"].split("\n")[1:] == ["(1,) float32", "value [21.69]"]
    assert nodes[ids["x"]]["style"] == "filled,bold", "leaves that require grad stand out"
    constants = [a for a in nodes.values() if a["class"] == "constant"]
    assert [a["label"] for a in constants] == ["2", "2"] and "dashed" in constants[0]["style"]
    assert not any("grad" in a["label"] for a in nodes.values()), "no gradients yet"


def test_dot_shows_gradients_of_leaves_after_backward_and_of_all_nodes_with_a_trace():
    x, y, F = seed_F()
    F.sum().backward(retain_graph=True)
    nodes, _ = parse_dot(graph.to_dot(F, names={"x": x, "y": y}))
    ids = by_title(nodes)
    assert nodes[ids["x"]]["label"].endswith("grad [12.5]"), nodes[ids["x"]]["label"]
    assert nodes[ids["y"]]["label"].endswith("grad [10]"), nodes[ids["y"]]["label"]
    graded = [a for a in nodes.values() if "grad" in a["label"]]
    assert len(graded) == 2, "only leaves have .grad"
    tr = graph.trace(F.sum())
    nodes, _ = parse_dot(graph.to_dot(F, grads=tr))
    tensors = [a for a in nodes.values() if a["class"] in ("tensor", "output", "input")]
    assert all("\ngrad " in a["label"] for a in tensors), "a trace gives every tensor a grad"
    nodes, _ = parse_dot(graph.to_dot(F, grads={F: [7.0]}, show_values=False))
    (out,) = [a for a in nodes.values() if a["class"] == "output"]
    assert out["label"].split("\n")[1:] == ["(1,) float32", "grad [7]"], out["label"]


def test_dot_labels_settings_constants_and_summaries():
    x = cr.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    c = cr.tensor([1.0, 2.0, 3.0, 4.0])
    s = (x * c).sum(axis=1, keepdims=True)
    nodes, edges = parse_dot(graph.to_dot(s, names={"c": c}, max_value_size=4))
    labels = {a["label"] for a in nodes.values()}
    assert "sum\naxis=1, keepdims=True" in labels, labels
    assert "c\n(4,) float32\nvalue [1, 2, 3, 4]" in labels, "a named constant shows its value"
    assert "leaf\n(3, 4) float64\nvalue 3×4: mean 5.5, min 0, max 11" in labels, labels
    mul_in = [lab for _, d, lab in edges if nodes[d]["label"] == "mul"]
    assert mul_in == ["", ""], "operands of commutative ops are not labelled"
    nodes, _ = parse_dot(graph.to_dot(s, show_values=False))
    assert not any("value" in a["label"] for a in nodes.values())


def test_dot_linear_without_bias_and_repeated_operand():
    x = cr.tensor(np.ones((2, 3)))
    W = cr.tensor(np.ones((3, 2)), requires_grad=True)
    z = cr.linear(x, W)
    nodes, edges = parse_dot(graph.to_dot(z))
    assert sorted(lab for _, d, lab in edges if nodes[d]["label"] == "linear") == ["W", "x"]
    assert len(nodes) == 4, "x (constant), W, linear, z: no node for the absent bias"
    a = cr.tensor([3.0], requires_grad=True)
    nodes, edges = parse_dot(graph.to_dot(a * a))
    assert len(nodes) == 3 and Counter((s, d) for s, d, _ in edges)[("n0", "n1")] == 2


def test_dot_escapes_quotes_backslashes_and_newlines():
    x = cr.tensor([1.0], requires_grad=True)
    name = 'a "quoted" \\ name\nwith {braces} & <angles>'
    text = graph.to_dot(x * 2.0, names={name: x})
    nodes, _ = parse_dot(text)
    assert nodes["n0"]["label"].startswith(name + "\n"), nodes["n0"]["label"]
    assert len(text.splitlines()) == 4 + 4 + 3 + 1, "the newline in the name stays escaped"


def test_draw_a_leaf_and_a_constant():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    nodes, edges = parse_dot(graph.to_dot(x))
    assert len(nodes) == 1 and not edges and nodes["n0"]["class"] == "input"
    c = cr.tensor([1.0])
    nodes, _ = parse_dot(graph.to_dot(c))
    assert nodes["n0"]["class"] == "constant"


def test_freed_graph_is_drawn_as_far_as_it_remains():
    x, y, F = seed_F()
    F.sum().backward()  # frees the whole graph
    g = graph.Graph(F)
    assert g.n_freed == 1 and len(g.nodes) == 2 and len(g.edges) == 1, repr(g)
    nodes, _ = parse_dot(g.to_dot())
    assert nodes["n0"]["class"] == "freed" and "freed by backward()" in nodes["n0"]["label"]
    assert "1 freed" in repr(g)
    # a new graph on top of a freed one: the new part is intact
    h = x * 2.0
    h.sum().backward()
    G = h + y
    nodes, edges = parse_dot(graph.to_dot(G))
    assert Counter(a["class"] for a in nodes.values()) == {
        "freed": 1,
        "tensor": 1,
        "input": 1,
        "op": 1,
        "output": 1,
    }
    assert len(edges) == 4


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rankdir": "XY"}, ValueError, r"rankdir must be one of .*'TB'.*got 'XY'"),
        ({"names": [1]}, TypeError, r"names must be a mapping from name to tensor.*got list"),
        ({"names": {"x": 1.0}}, TypeError, r"names\['x'\] must be a Tensor, got float"),
        ({"grads": [1.0]}, TypeError, r"grads must be a Trace .* got list"),
        ({"grads": {"x": 1.0}}, TypeError, r"keys of grads must be tensors, got str"),
        ({"max_value_size": -1}, ValueError, r"max_value_size must be >= 0"),
        ({"precision": 0}, ValueError, r"precision >= 1, got -?\d+ and 0"),
        ({"max_nodes": 3}, ValueError, r"at least \d+ nodes .*more than max_nodes=3"),
    ],
)
def test_graph_rejects_bad_options(kwargs, error, match):
    _, _, F = seed_F()
    with pytest.raises(error, match=match):
        graph.Graph(F, **kwargs)


def test_graph_rejects_non_tensors():
    with pytest.raises(TypeError, match=r"graph: expected a Tensor, got ndarray"):
        graph.draw(np.ones(3))


def test_max_nodes_counts_constants_too():
    x = cr.tensor([1.0], requires_grad=True)
    y = (x * 2.0) * 3.0  # x, 2 ops, 2 outputs: 5 nodes, 7 with the constants
    assert len(graph.Graph(y, max_nodes=7)) == 7
    with pytest.raises(ValueError, match=r"has 7 nodes \(with its constants\).*max_nodes=6"):
        graph.Graph(y, max_nodes=6)


# --- SVG ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("rankdir", ["TB", "LR", "BT", "RL"])
def test_own_svg_is_well_formed_with_one_box_per_node_and_one_path_per_edge(rankdir):
    loss, _ = seed_network()
    g = graph.trace(loss).draw(rankdir=rankdir)
    groups, paths, root = parse_svg(g.to_svg(engine="own"))
    assert sorted(x.get("id") for x in groups) == sorted(n.id for n in g.nodes)
    for x in groups:
        assert len(x.findall(f"{SVG}rect")) == 1, f"node {x.get('id')}: one box"
        kind = x.get("class").split()[1]
        assert kind == {n.id: n.kind for n in g.nodes}[x.get("id")]
    drawn = Counter((p.get("data-src"), p.get("data-dst")) for p in paths)
    assert drawn == Counter((e.src, e.dst) for e in g.edges), "one path per edge"
    no_overlaps(groups)
    width, height = float(root.get("width")), float(root.get("height"))
    for x in groups:
        r = x.find(f"{SVG}rect")
        assert 0 <= float(r.get("x")) and float(r.get("x")) + float(r.get("width")) <= width + 1
        assert 0 <= float(r.get("y")) and float(r.get("y")) + float(r.get("height")) <= height + 1
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}tspan")]
    assert "grad [[2], [4]]" in texts and "W2" in texts


def test_own_svg_flows_from_inputs_to_output():
    _, _, F = seed_F()
    groups, _, _ = parse_svg(graph.to_svg(F, engine="own"))
    ys = {g.get("class").split()[1]: float(g.find(f"{SVG}rect").get("y")) for g in groups}
    assert ys["input"] < ys["output"], "top to bottom: inputs above the output"


def test_own_svg_escapes_special_characters():
    x = cr.tensor([1.0], requires_grad=True)
    name = '<x & "y"> \x01'
    groups, _, root = parse_svg(graph.to_svg(x * 2.0, names={name: x}, engine="own"))
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}tspan")]
    assert '<x & "y"> ?' in texts, texts


def test_own_svg_stays_tidy_at_200_nodes(rng):
    x = cr.tensor(rng.normal(size=(4, 3)))
    sizes = [3] + [8] * 22 + [2]
    params = []
    h = x
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        W = cr.tensor(rng.normal(size=(a, b)), requires_grad=True)
        bias = cr.tensor(np.zeros(b), requires_grad=True)
        params += [W, bias]
        z = cr.linear(h, W, bias)
        h = cr.tanh(z) + 0.1 * z if i % 2 else cr.relu(z)  # some skip-like reuse
    loss = cr.cross_entropy(h, cr.tensor(np.array([0, 1, 1, 0])))
    g = graph.Graph(loss)
    assert 150 <= len(g) <= 250, f"test graph has {len(g)} nodes"
    groups, paths, _ = parse_svg(g.to_svg(engine="own"))
    assert len(groups) == len(g.nodes) and len(paths) == len(g.edges)
    no_overlaps(groups)


def test_crossings_are_counted_and_removed():
    layers = [[0, 1], [2, 3]]
    down = [[3], [2], [], []]
    up = [[], [], [1], [0]]
    assert _svg._crossings(layers, down, [0, 1, 0, 1]) == 1
    _svg._order(layers, up, down, 4)
    pos = [0] * 4
    for layer in layers:
        for i, v in enumerate(layer):
            pos[v] = i
    assert _svg._crossings(layers, down, pos) == 0, f"order after sweeps: {layers}"


def test_to_svg_falls_back_to_own_layout_without_dot(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    _, _, F = seed_F()
    g = graph.draw(F)
    for text in (g.to_svg(), g._repr_svg_(), graph.to_svg(F)):
        groups, _, _ = parse_svg(text)
        assert len(groups) == len(g.nodes)
    with pytest.raises(RuntimeError, match=r"engine='dot' needs the Graphviz 'dot' program"):
        g.to_svg(engine="dot")
    with pytest.raises(ValueError, match=r"engine must be one of .*got 'cairo'"):
        g.to_svg(engine="cairo")


@pytest.fixture
def fake_dot(tmp_path, monkeypatch):
    """A stand-in ``dot`` on the PATH: saves its input, prints an SVG (or fails if asked)."""

    def make(fail: bool = False):
        script = tmp_path / "dot"
        body = 'echo "bad graph" >&2; exit 3' if fail else "echo '<svg>from dot</svg>'"
        script.write_text(f'#!/bin/sh\ncat > "{tmp_path}/input.dot"\n{body}\n')
        script.chmod(0o755)
        monkeypatch.setattr("shutil.which", lambda name: str(script) if name == "dot" else None)
        return tmp_path / "input.dot"

    return make


@pytest.mark.skipif(sys.platform == "win32", reason="shell script stand-in")
def test_to_svg_uses_dot_when_present(fake_dot):
    seen = fake_dot()
    _, _, F = seed_F()
    g = graph.draw(F)
    assert g.to_svg().strip() == "<svg>from dot</svg>"
    assert seen.read_text() == g.to_dot(), "dot receives the DOT text"
    assert g.to_svg(engine="own").startswith("<svg xmlns"), "engine='own' ignores dot"


@pytest.mark.skipif(sys.platform == "win32", reason="shell script stand-in")
def test_failing_dot_warns_and_falls_back_or_raises(fake_dot):
    fake_dot(fail=True)
    _, _, F = seed_F()
    g = graph.draw(F)
    with pytest.warns(UserWarning, match=r"exited with status 3: bad graph; using the built-in"):
        text = g.to_svg()
    assert len(parse_svg(text)[0]) == len(g.nodes)
    with pytest.raises(RuntimeError, match=r"-Tsvg exited with status 3: bad graph"):
        g.to_svg(engine="dot")


def test_save_writes_svg_and_dot_atomically(tmp_path, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    _, _, F = seed_F()
    g = graph.draw(F)
    svg = tmp_path / "F.svg"
    svg.write_text("old")
    assert g.save(svg) == svg
    assert parse_svg(svg.read_text())[0], "saved SVG parses"
    dot = g.save(str(tmp_path / "F.DOT"))
    assert dot.read_text() == g.to_dot()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["F.DOT", "F.svg"], "no temp files"
    with pytest.raises(ValueError, match=r"cannot tell the format from 'F.png'.*\.svg or \.dot"):
        g.save(tmp_path / "F.png")


# --- trace --------------------------------------------------------------------------------------
def test_trace_reproduces_the_seed_exactly():
    loss, (x, W1, b1, W2, b2) = seed_network()
    tr = graph.trace(loss)
    assert tr.loss == 2.0
    first, second = tr.layers
    eq = np.testing.assert_array_equal
    eq(first.output, [[1, 2]]), eq(second.output, [[3]])  # layer outputs
    eq(second.delta, [[2]]), eq(first.delta, [[2, 2]])  # deltas, output layer first
    eq(second.weight_grad, [[2], [4]]), eq(first.weight_grad, [[2, 2]])  # weight gradients
    eq(first.bias_grad, [2, 2]), eq(second.bias_grad, [2])  # bias gradients
    eq(first.z, [[1, 2]]), eq(first.input, [[1]]), eq(second.input, [[1, 2]])
    assert (first.activation, second.activation) == ("relu", "identity")
    assert first.names == {"x": "v2", "W": "W1", "b": "b1", "z": "z1", "a": "a1"}
    rows = {r.name: r for r in tr.rows}
    assert [r.name for r in tr.rows] == [
        "x", "v2", "W1", "b1", "z1", "a1", "W2", "b2", "z2", "v10", "v11", "v12", "loss",
    ]  # fmt: skip
    eq(rows["x"].grad, [6])  # dL/dx = δ1 · W1ᵀ = 2·1 + 2·2
    assert rows["loss"].expression == "mul(0.5, v12)" and rows["loss"].role == "loss"
    assert rows["z1"].expression == "linear(v2, W1, b1)" and rows["z1"].role == "z"
    assert rows["v2"].expression == "reshape(x, shape=(1, 1))"
    assert (rows["W2"].expression, rows["W2"].layer, rows["W2"].role) == ("parameter", 2, "W")
    assert rows["x"].expression == "input" and rows["v11"].expression == "pow(v10, 2)"
    eq(tr.grad(W2), [[2], [4]])
    assert set(tr.names) == set(rows) and tr.names["W1"] is W1


@pytest.mark.parametrize("act", ["ReLU", "Sigmoid", "Tanh"])
def test_trace_of_a_fused_layer_equals_the_trace_of_the_separate_layers(act):
    from chainrule import nn

    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(3, 4, dtype=cr.float64), getattr(nn, act)(), nn.Linear(4, 2, dtype=cr.float64)
    )
    x = np.random.default_rng(0).standard_normal((5, 3))
    fused = graph.trace(model(x).sum())  # Linear + activation run as one linear op
    assert [r.op for r in fused.rows].count("linear") == 2 and len(fused.rows) == 7
    handle = model[1].register_forward_hook(lambda *args: None)  # forces the separate layers
    separate = graph.trace(model(x).sum())
    handle.remove()
    assert len(separate.rows) == 8
    for a, b in zip(fused.layers, separate.layers):
        assert a.activation == b.activation and a.names == b.names
        for field in ("input", "z", "output", "delta", "weight_grad", "bias_grad"):
            np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-12)
    assert fused.layers[0].activation == act.lower()
    assert fused.rows[2].name == "a1" and fused.rows[2].role == "a"


def test_trace_markdown_reads_like_the_blackboard():
    loss, _ = seed_network()
    md = graph.trace(loss).to_markdown()
    assert "loss = 2;" in md
    assert "| 1 | relu | [1] | [1, 2] | [1, 2] | [2, 2] | [[2, 2]] | [2, 2] |" in md, md
    assert "| 2 | identity | [1, 2] | [3] | [3] | [2] | [[2], [4]] | [2] |" in md, md
    assert "| 9 | z2 | linear(a1, W2, b2) | (1, 1) | [[3]] | [[2]] |" in md
    assert "| 13 | loss | mul(0.5, v12) | scalar | 2 | 1 |" in md
    backward = md[md.index("**Backward pass**") :].splitlines()[2:]
    assert backward == [
        "- layer 2: δ2 = ∂loss/∂z2 = [2]; ∂loss/∂W2 = a1ᵀ · δ2 = [[2], [4]]; "
        "∂loss/∂b2 = Σ δ2 = [2]",
        "- layer 1: δ1 = (δ2 · W2ᵀ) ⊙ relu'(z1) = [2, 2]; ∂loss/∂W1 = v2ᵀ · δ1 = [[2, 2]]; "
        "∂loss/∂b1 = Σ δ1 = [2, 2]",
    ], backward
    table = [line for line in md.splitlines() if re.match(r"\| \d+ \| ", line)]
    assert len(table) == 13 + 2, "13 node rows and 2 layer rows"
    cells = Counter(len(line.strip("|").split(" | ")) for line in table)
    assert cells == {6: 13, 8: 2}, f"cells per row: {cells}"


def test_trace_leaves_grads_and_graph_as_they_were():
    loss, params = seed_network()
    x, W1 = params[0], params[1]
    W1.grad = cr.tensor([[10.0, 20.0]])
    before = W1.grad
    graph.trace(loss)
    graph.trace(loss)
    assert W1.grad is before and W1.grad.tolist() == [[10.0, 20.0]], "W1.grad untouched"
    assert all(p.grad is None for p in params if p is not W1), "no .grad appeared"
    loss.backward(grad=2.0)  # the graph is still there, and the trace's hooks are gone
    assert W1.grad.tolist() == [[14.0, 24.0]] and x.grad.tolist() == [12.0]


def test_trace_hooks_are_removed():
    loss, (_, W1, *_) = seed_network()
    tr = graph.trace(loss)
    loss.backward(grad=5.0)
    np.testing.assert_array_equal(tr.grad(W1), [[2, 2]], "later passes do not reach the trace")
    np.testing.assert_array_equal(W1.grad.data, [[10, 10]])


def test_trace_matches_torch_on_every_node(rng):
    torch = pytest.importorskip("torch")
    X, T = rng.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0])
    shapes = [(3, 4), (4,), (4, 3), (3,)]
    vals = [rng.normal(size=s) for s in shapes]
    ps = [cr.tensor(v, requires_grad=True) for v in vals]
    z1 = cr.linear(cr.tensor(X), ps[0], ps[1])
    a1 = cr.sigmoid(z1)
    z2 = cr.linear(a1, ps[2], ps[3])
    loss = cr.cross_entropy(z2, cr.tensor(T))
    tr = graph.trace(loss)

    tp = [torch.tensor(v, requires_grad=True) for v in vals]
    tz1 = torch.tensor(X) @ tp[0] + tp[1]
    ta1 = torch.sigmoid(tz1)
    tz2 = ta1 @ tp[2] + tp[3]
    for t in (tz1, ta1, tz2):
        t.retain_grad()
    tl = torch.nn.functional.cross_entropy(tz2, torch.tensor(T))
    tl.backward()
    expected = dict(zip(["W1", "b1", "W2", "b2"], (p.grad for p in tp)))
    expected |= {"z1": tz1.grad, "a1": ta1.grad, "z2": tz2.grad}
    rows = {r.name: r for r in tr.rows}
    assert set(rows) == set(expected) | {"loss"}, sorted(rows)
    for name, g in expected.items():
        np.testing.assert_allclose(rows[name].grad, g.numpy(), rtol=1e-10, err_msg=name)
    np.testing.assert_allclose(tr.loss, tl.item(), rtol=1e-12)
    assert tr.layers[0].names["x"] == "x", "a constant input to the first layer is x"
    md = tr.to_markdown()
    assert "batch of one" not in md and "(δ2 · W2ᵀ) ⊙ sigmoid'(z1)" in md


def test_trace_without_layers_and_of_a_leaf():
    x, y, F = seed_F()
    tr = graph.trace(F.sum(), names={"x": x, "y": y})
    assert tr.layers == [] and "Dense layers" not in tr.to_markdown()
    rows = {r.name: r for r in tr.rows}
    np.testing.assert_allclose(rows["x"].grad, [12.5])
    np.testing.assert_allclose(rows["y"].grad, [10.0])
    assert str(tr) == repr(tr) == tr._repr_markdown_() == tr.to_markdown()
    assert len(tr) == 9 and tr.rows[-1].name == "loss"
    single = graph.trace(x)
    assert len(single) == 1 and single.rows[0].grad.tolist() == [1.0] and x.grad is None


def test_trace_draw_shows_every_gradient_with_the_trace_names():
    loss, _ = seed_network()
    g = graph.trace(loss).draw()
    nodes, _ = parse_dot(g.to_dot())
    ids = by_title(nodes)
    assert nodes[ids["W2"]]["label"].endswith("grad [[2], [4]]")
    assert nodes[ids["z1"]]["label"].endswith("grad [[2, 2]]")
    assert nodes[ids["loss"]]["class"] == "output"


def test_trace_to_dataframe(monkeypatch):
    loss, _ = seed_network()
    tr = graph.trace(loss)
    with pytest.raises(ValueError, match=r"kind must be 'nodes' or 'layers', got 'edges'"):
        tr.to_dataframe("edges")
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if pandas were not installed
    with pytest.raises(ImportError, match=r"needs pandas.*\.to_markdown\(\)"):
        tr.to_dataframe()


def test_trace_to_dataframe_with_pandas():
    pytest.importorskip("pandas")
    loss, _ = seed_network()
    tr = graph.trace(loss)
    df = tr.to_dataframe()
    assert len(df) == 13 and df.loc[13, "name"] == "loss"
    layers = tr.to_dataframe("layers")
    np.testing.assert_array_equal(layers.loc[2, "weight_grad"], [[2], [4]])


def test_trace_rejects_bad_losses():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="trace: expected a Tensor, got float"):
        graph.trace(1.0)
    with pytest.raises(ValueError, match=r"one element, got shape \(2,\).*loss.sum\(\)"):
        graph.trace(x * 2.0)
    with pytest.raises(ValueError, match="does not require grad"):
        graph.trace(cr.tensor([1.0]) * 2.0)
    with pytest.raises(TypeError, match=r"trace: names\['x'\] must be a Tensor"):
        graph.trace((x * 2.0).sum(), names={"x": "x"})
    loss = (x * 2.0).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"freed by an earlier backward\(\).*retain_graph=True"):
        graph.trace(loss)
    assert x.grad.tolist() == [2.0, 2.0]
    h = x * 3.0
    h.sum().backward()
    with pytest.raises(RuntimeError, match=r"op 'mul' no longer holds its saved values"):
        graph.trace((h + x).sum())


def test_trace_grad_of_a_foreign_tensor():
    loss, _ = seed_network()
    with pytest.raises(KeyError, match="not a node of the traced graph"):
        graph.trace(loss).grad(cr.tensor([1.0]))


def test_trace_summarises_large_arrays(rng):
    W = cr.tensor(rng.normal(size=(20, 30)), requires_grad=True)
    loss = (W * W).sum()
    md = graph.trace(loss, names={"W": W}).to_markdown(max_value_size=4, precision=3)
    assert re.search(
        r"\| 1 \| W \| input \| \(20, 30\) \| 20×30: mean \S+, min \S+, max \S+ \|", md
    )


# --- packaging ----------------------------------------------------------------------------------
def test_import_pulls_in_no_optional_dependency():
    code = (
        "import sys, chainrule.graph; optional = ('matplotlib', 'pandas', 'torch', 'graphviz'); "
        "print(sorted(m for m in optional if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_trace_reads_a_fused_layer_from_the_ops_metadata():
    """A linear node with an activation and no bias, called directly: the trace's z and δ are
    the op's public metadata (LinearCall), i.e. x·W and ∂loss/∂a ⊙ tanh'(z)."""
    from chainrule.ops.fused import LinearCall

    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    W = cr.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    a = cr.linear(x, W, activation="tanh")
    tr = graph.trace((a * a).sum())
    (layer,) = tr.layers
    assert layer.activation == "tanh" and layer.bias is None and layer.bias_grad is None
    call = LinearCall(*a._inputs, **a._kw)
    np.testing.assert_array_equal(layer.z, call.z)
    np.testing.assert_allclose(layer.z, x.data @ W.data, rtol=1e-15)
    g = 2 * a.data  # ∂loss/∂a
    np.testing.assert_allclose(layer.delta, g * (1 - np.tanh(x.data @ W.data) ** 2), rtol=1e-12)
    np.testing.assert_allclose(layer.weight_grad, x.data.T @ layer.delta, rtol=1e-12)
    assert layer.names == {"x": "x", "W": "W1", "z": "z1", "a": "a1"}
