"""A small layered (Sugiyama-style) layout drawn as SVG, for when Graphviz is not installed.

1. Layers: longest path from the sources, then each source moved down next to its first consumer
   (a constant sits beside the op that uses it, not at the top of the page).
2. Edges that span several layers get one invisible point per layer crossed.
3. Order within layers: barycentre sweeps down and up, keeping the order with fewest crossings
   (counted exactly, by inversions).
4. Positions: each node moves towards the mean of its neighbours in the previous layer, then the
   layer is spread to remove overlaps (the mean of a left-packed and a right-packed placement,
   which keeps the order and the gaps).
"""

from __future__ import annotations

import re

from ._dot import STYLES
from ._drawing import Edge, Node

CHAR_W, LINE_H, PAD_X, PAD_Y = 7.4, 15.0, 10.0, 6.0  # 12 px monospace text
NODE_GAP, DUMMY_GAP, LAYER_GAP, MARGIN = 22.0, 8.0, 42.0, 16.0
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def esc(text: str) -> str:
    """Text safe inside an XML element or a double-quoted attribute."""
    text = _BAD_XML.sub("?", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _topological(n: int, preds: list[list[int]], succs: list[list[int]]) -> list[int]:
    """Kahn's order, smallest index first among the ready (the model is nearly sorted already)."""
    missing = [len(set(p)) for p in preds]
    ready = [v for v in range(n) if not missing[v]][::-1]
    order = []
    while ready:
        v = ready.pop()
        order.append(v)
        for s in dict.fromkeys(succs[v]):
            missing[s] -= 1
            if not missing[s]:
                ready.append(s)
    if len(order) != n:
        raise ValueError("graph: the drawing has a cycle, which a recorded graph never has")
    return order


def _layers(n: int, edges: list[tuple[int, int]]) -> list[int]:
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        preds[v].append(u)
        succs[u].append(v)
    order = _topological(n, preds, succs)
    layer = [0] * n
    for v in order:
        for u in preds[v]:
            layer[v] = max(layer[v], layer[u] + 1)
    for v in order:
        if not preds[v] and succs[v]:
            layer[v] = min(layer[s] for s in succs[v]) - 1
    return layer


def _crossings(layers: list[list[int]], down: list[list[int]], pos: list[int]) -> int:
    """Edge crossings between adjacent layers: inversions of the targets' positions, counted
    with a Fenwick tree in O(E log V)."""
    total = 0
    for l, layer in enumerate(layers[:-1]):
        size = len(layers[l + 1])
        tree = [0] * (size + 1)
        pairs = sorted((pos[u], pos[v]) for u in layer for v in down[u])
        for seen, (_, pv) in enumerate(pairs):
            i, le = pv + 1, 0  # le: targets seen so far at positions <= pv
            while i:
                le += tree[i]
                i -= i & -i
            total += seen - le
            i = pv + 1
            while i <= size:
                tree[i] += 1
                i += i & -i
    return total


def _sweep(layers: list[list[int]], nbrs: list[list[int]], pos: list[int], rng: range) -> None:
    for l in rng:
        layer = layers[l]

        def key(v: int) -> float:
            ns = nbrs[v]
            return sum(pos[u] for u in ns) / len(ns) if ns else pos[v]

        layer.sort(key=key)
        for i, v in enumerate(layer):
            pos[v] = i


def _order(layers: list[list[int]], up: list[list[int]], down: list[list[int]], nv: int) -> None:
    """Barycentre sweeps; leaves ``layers`` in the best order found."""
    pos = [0] * nv
    for layer in layers:
        for i, v in enumerate(layer):
            pos[v] = i
    best, best_layers, stale = _crossings(layers, down, pos), [list(x) for x in layers], 0
    for _ in range(12):
        if best == 0 or stale >= 3:
            break
        _sweep(layers, up, pos, range(1, len(layers)))
        _sweep(layers, down, pos, range(len(layers) - 2, -1, -1))
        c = _crossings(layers, down, pos)
        if c < best:
            best, best_layers, stale = c, [list(x) for x in layers], 0
        else:
            stale += 1
    layers[:] = best_layers


def _spread(layer: list[int], want: list[float], size: list[float], real: int) -> list[float]:
    """Positions as close to ``want`` as the gaps allow, in ``layer``'s order."""
    k = len(layer)

    def gap(a: int, b: int) -> float:
        g = NODE_GAP if a < real and b < real else DUMMY_GAP
        return (size[a] + size[b]) / 2 + g

    left = [0.0] * k
    right = [0.0] * k
    for i in range(k):
        w = want[layer[i]]
        left[i] = w if i == 0 else max(w, left[i - 1] + gap(layer[i - 1], layer[i]))
    for i in range(k - 1, -1, -1):
        w = want[layer[i]]
        right[i] = w if i == k - 1 else min(w, right[i + 1] - gap(layer[i], layer[i + 1]))
    return [(a + b) / 2 for a, b in zip(left, right)]


def _tuck_sources(layer, x, source, down, size, real) -> None:
    """Moves each source beside the op it feeds while the other nodes stay where they are
    (unless a source between two of them needs the room): sources before the first other
    node pack leftwards from it, the rest rightwards from their left neighbour."""

    def gap(v: int) -> float:
        return size[v] / 2 + (NODE_GAP if v < real else DUMMY_GAP)

    def want(v: int) -> float:
        return sum(x[u] for u in down[v]) / len(down[v]) if source[v] else x[v]

    lead = 0
    while lead < len(layer) and source[layer[lead]]:
        lead += 1
    at = None
    if 0 < lead < len(layer):  # leading sources, right to left from the first other node
        edge = x[layer[lead]] - gap(layer[lead])
        for v in reversed(layer[:lead]):
            x[v] = min(want(v), edge - size[v] / 2)
            edge = x[v] - gap(v)
        at = x[layer[lead - 1]] + gap(layer[lead - 1])
    for v in layer[lead if at is not None else 0 :]:
        c = want(v)
        x[v] = c if at is None else max(c, at + size[v] / 2)
        at = x[v] + gap(v)


def _coordinates(layers, up, down, size, real) -> list[float]:
    """Within-layer centre of every node (real and dummy).

    The main lines are placed first, without the sources (leaves, constants), so that an op
    sits straight below its main input instead of being pulled sideways by its weights; the
    sources are tucked in beside their ops at the end.
    """
    source = [v < real and not up[v] and bool(down[v]) for v in range(len(size))]
    core = [[v for v in layer if not source[v]] for layer in layers]
    x = [0.0] * len(size)
    for layer in core:
        at = 0.0
        for v in layer:
            x[v] = at + size[v] / 2
            at += size[v] + NODE_GAP
    downwards, upwards = (up, range(1, len(core))), (down, range(len(core) - 2, -1, -1))
    # ends going down, so that each op sits straight below its main input
    for nbrs, rng in [downwards, upwards] * 4 + [downwards]:
        for l in rng:
            want = list(x)
            for v in core[l]:
                ns = [u for u in nbrs[v] if not source[u]]
                if ns:
                    want[v] = sum(x[u] for u in ns) / len(ns)
            for v, c in zip(core[l], _spread(core[l], want, size, real)):
                x[v] = c
    for layer in layers:
        _tuck_sources(layer, x, source, down, size, real)
    low = min((x[v] - size[v] / 2 for layer in layers for v in layer), default=0.0)
    return [c - low + MARGIN for c in x]


def render(nodes: list[Node], edges: list[Edge], rankdir: str = "TB") -> str:
    """SVG text of the graph drawn with the layered layout."""
    n = len(nodes)
    index = {node.id: i for i, node in enumerate(nodes)}
    pairs = [(index[e.src], index[e.dst]) for e in edges]
    w = [max(len(s) for s in node.lines) * CHAR_W + 2 * PAD_X for node in nodes]
    h = [len(node.lines) * LINE_H + 2 * PAD_Y for node in nodes]
    w = [wi + (h[i] / 2 if STYLES[nodes[i].kind][0] == "ellipse" else 0) for i, wi in enumerate(w)]
    layer = _layers(n, pairs)
    # chains of points: an edge gets one dummy vertex per layer it crosses, shortest edges
    # first, within a budget (a tensor reused across hundreds of layers would otherwise bring
    # hundreds of thousands); edges past the budget are drawn straight to their target
    budget = 4 * n + 400
    chains: list[list[int]] = [[u, v] for u, v in pairs]
    nv = n
    for e in sorted(range(len(pairs)), key=lambda e: layer[pairs[e][1]] - layer[pairs[e][0]]):
        u, v = pairs[e]
        if layer[v] - layer[u] - 1 > budget:
            break
        budget -= layer[v] - layer[u] - 1
        for l in range(layer[u] + 1, layer[v]):
            layer.append(l)
            chains[e].insert(-1, nv)
            nv += 1
    up: list[list[int]] = [[] for _ in range(nv)]
    down: list[list[int]] = [[] for _ in range(nv)]
    for chain in chains:
        for a, b in zip(chain, chain[1:]):
            if layer[b] == layer[a] + 1:  # not an edge left without dummies
                down[a].append(b)
                up[b].append(a)
    layers: list[list[int]] = [[] for _ in range(max(layer, default=0) + 1)]
    # start from the order of the edges, which the model lists argument by argument
    first_out = [len(chains)] * nv
    for e, chain in enumerate(chains):
        for v in chain[:-1]:
            first_out[v] = min(first_out[v], e)
    for v in sorted(range(nv), key=lambda v: first_out[v]):
        layers[layer[v]].append(v)
    _order(layers, up, down, nv)
    vertical = rankdir in ("TB", "BT")
    across = [(w if vertical else h)[v] if v < n else 0.0 for v in range(nv)]
    along = [(h if vertical else w)[v] if v < n else 0.0 for v in range(nv)]
    x = _coordinates(layers, up, down, across, n)
    thick = [max((along[v] for v in lay), default=0.0) for lay in layers]
    starts, at = [], MARGIN
    for t in thick:
        starts.append(at)
        at += t + LAYER_GAP
    depth = at - LAYER_GAP + MARGIN
    breadth = max((x[v] + across[v] / 2 for v in range(nv)), default=0.0) + MARGIN
    centre = [starts[layer[v]] + thick[layer[v]] / 2 for v in range(nv)]
    if rankdir in ("BT", "RL"):
        centre = [depth - c for c in centre]
    xy = [(x[v], centre[v]) if vertical else (centre[v], x[v]) for v in range(nv)]
    width, height = (breadth, depth) if vertical else (depth, breadth)
    return _svg(nodes, edges, chains, xy, w, h, width, height, rankdir)


def _port(xy, w, h, v: int, rankdir: str, out: bool, offset: float) -> tuple[float, float]:
    """Where an edge leaves (``out``) or enters node ``v``: the side facing the flow, moved
    ``offset`` along that side so that several edges do not meet in one point."""
    x, y = xy[v]
    sign = 1 if rankdir in ("TB", "LR") else -1
    sign = sign if out else -sign
    if rankdir in ("TB", "BT"):
        return x + offset, y + sign * h[v] / 2
    return x + sign * w[v] / 2, y + offset


def _offsets(chains, xy, w, h, vertical: bool) -> tuple[list[float], list[float]]:
    """Per edge, the offsets of its start and end ports: a node's edges fan out along its side
    in the order of the nodes at their other ends."""
    starts, ends = [0.0] * len(chains), [0.0] * len(chains)
    axis = 0 if vertical else 1
    for which, end, other in ((starts, 0, 1), (ends, -1, -2)):
        by_node: dict[int, list[int]] = {}
        for e, chain in enumerate(chains):
            by_node.setdefault(chain[end], []).append(e)
        for v, es in by_node.items():
            if len(es) < 2:
                continue
            es.sort(key=lambda e: xy[chains[e][other]][axis])
            side = (w[v] if vertical else h[v]) * 0.6
            step = min(side / (len(es) - 1), 16.0)
            for i, e in enumerate(es):
                which[e] = (i - (len(es) - 1) / 2) * step
    return starts, ends


def _edge_path(points: list[tuple[float, float]], vertical: bool) -> str:
    """Cubic curves through the points, tangent to the flow at each of them."""
    (x0, y0), parts = points[0], [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for x1, y1 in points[1:]:
        if vertical:
            my = (y0 + y1) / 2
            parts.append(f"C{x0:.1f},{my:.1f} {x1:.1f},{my:.1f} {x1:.1f},{y1:.1f}")
        else:
            mx = (x0 + x1) / 2
            parts.append(f"C{mx:.1f},{y0:.1f} {mx:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
        x0, y0 = x1, y1
    return " ".join(parts)


def _svg(nodes, edges, chains, xy, w, h, width, height, rankdir) -> str:
    vertical = rankdir in ("TB", "BT")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.1f} {height:.1f}" font-family="DejaVu Sans Mono, Menlo, Consolas, '
        f'monospace" font-size="12">',
        '<defs><marker id="cr-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555555"/></marker>'
        "</defs>",
        f'<rect class="background" width="{width:.1f}" height="{height:.1f}" fill="#ffffff"/>',
        '<g class="edges">',
    ]
    starts, ends = _offsets(chains, xy, w, h, vertical)
    for e, chain, d0, d1 in zip(edges, chains, starts, ends):
        pts = [_port(xy, w, h, chain[0], rankdir, True, d0)]
        pts += [xy[v] for v in chain[1:-1]]
        pts.append(_port(xy, w, h, chain[-1], rankdir, False, d1))
        title = f"{e.src} -> {e.dst}"
        out.append(
            f'<path class="edge" data-src="{e.src}" data-dst="{e.dst}" '
            f'd="{_edge_path(pts, vertical)}" fill="none" stroke="#555555" stroke-width="1.2" '
            f'marker-end="url(#cr-arrow)"><title>{esc(title)}</title></path>'
        )
        if e.label:
            (xa, ya), (xb, yb) = pts[-2], pts[-1]
            lx, ly = xb + 0.3 * (xa - xb), yb + 0.3 * (ya - yb)
            lx, ly = (lx + 3, ly) if vertical else (lx, ly - 3)
            out.append(
                f'<text class="edge-label" x="{lx:.1f}" y="{ly:.1f}" font-size="10" '
                f'fill="#555555">{esc(e.label)}</text>'
            )
    out.append("</g>")
    out.append('<g class="nodes">')
    for i, node in enumerate(nodes):
        out.append(_node_svg(node, xy[i], w[i], h[i]))
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _node_svg(node: Node, centre: tuple[float, float], w: float, h: float) -> str:
    shape, fill, border, dashed, bold = STYLES[node.kind]
    cx, cy = centre
    rx = h / 2 if shape == "ellipse" else 3.0
    dash = ' stroke-dasharray="5,3"' if dashed else ""
    text_top = cy - len(node.lines) * LINE_H / 2 + LINE_H * 0.75
    weight = ' font-weight="bold"' if bold else ""
    spans = "".join(
        f'<tspan x="{cx:.1f}" y="{text_top + k * LINE_H:.1f}"{weight if k == 0 else ""}>'
        f"{esc(line)}</tspan>"
        for k, line in enumerate(node.lines)
    )
    return (
        f'<g class="node {node.kind}" id="{node.id}"><title>{esc(" | ".join(node.lines))}</title>'
        f'<rect class="box" x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" '
        f'height="{h:.1f}" rx="{rx:.1f}" fill="{fill}" stroke="{border}" '
        f'stroke-width="{2 if bold else 1}"{dash}/>'
        f'<text text-anchor="middle" fill="#111111">{spans}</text></g>'
    )
