"""The app's box-and-arrow diagrams (the network, and where each regularizer reads under a placement), drawn as
SVG images laid out by hand.

The diagrams never change shape, so their coordinates are written down once here and drawn as plain SVG: nodes
(rounded boxes or ellipses with centered lines of text) and straight arrows from border to border. Graphviz
would lay them out for us, at a cost the placement page cannot afford (docs/figures.md says why). The fills are
light and the text dark, so a diagram reads the same on the light and the dark theme; each node and edge carries a
data-* attribute naming it, which the tests read back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from ..losses import PLACEMENTS
from ..text import capitalized, join
from .style import NEUTRAL, PLACEMENT_COLORS, TERM_NAMES

LINE_HEIGHT = 14.0  # viewBox units per line of text (font size 11.5)
ARROW_LENGTH, ARROW_HALF_WIDTH = 8.0, 4.0
TEXT_COLOR, BORDER_COLOR, BOX_FILL = "#222222", "#8A8A8A", "#EDEDED"
# an image cannot use the page's web font: the same family if the computer has it, else its own sans-serif
FONT = "'Source Sans Pro', 'Source Sans 3', 'Helvetica Neue', Helvetica, Arial, sans-serif"


@dataclass(frozen=True)
class Node:
    """A box (rounded rectangle) or an ellipse, centered at (x, y), w × h, with centered lines of text."""

    key: str
    lines: tuple[str, ...]
    x: float
    y: float
    w: float
    h: float
    shape: str = "box"  # "box" or "ellipse"
    fill: str = BOX_FILL
    bold_border: bool = False

    def border_point(self, toward_x: float, toward_y: float) -> tuple[float, float]:
        """Where the straight line from this node's center toward (toward_x, toward_y) leaves the node: arrows
        start and end on borders, never inside a label. For the ellipse (x/a)² + (y/b)² = 1 along direction
        (dx, dy) the distance is t = 1 / sqrt((dx/a)² + (dy/b)²); for the box it is the nearer of the two edges
        the ray meets, min(a/|dx|, b/|dy|) (the rounded corners are small enough to ignore)."""
        dx, dy = toward_x - self.x, toward_y - self.y
        length = math.hypot(dx, dy)
        if length == 0:
            return self.x, self.y
        dx, dy = dx / length, dy / length
        a, b = self.w / 2, self.h / 2
        if self.shape == "ellipse":
            t = 1 / math.sqrt((dx / a) ** 2 + (dy / b) ** 2)
        else:
            t = min(a / abs(dx) if dx else math.inf, b / abs(dy) if dy else math.inf)
        return self.x + t * dx, self.y + t * dy


@dataclass(frozen=True)
class Edge:
    """A straight arrow from one node's border to another's; `dashed` marks a connection that changes nothing."""

    source: str
    target: str
    color: str = BORDER_COLOR
    width: float = 2.0
    dashed: bool = False


def _node_svg(node: Node) -> str:
    stroke = f'stroke="{BORDER_COLOR}" stroke-width="{2.0 if node.bold_border else 1.0}"'
    if node.shape == "ellipse":
        shape = (
            f'<ellipse cx="{node.x:g}" cy="{node.y:g}" rx="{node.w / 2:g}" ry="{node.h / 2:g}" '
            f'fill="{node.fill}" {stroke}/>'
        )
    else:
        shape = (
            f'<rect x="{node.x - node.w / 2:g}" y="{node.y - node.h / 2:g}" width="{node.w:g}" height="{node.h:g}" '
            f'rx="8" fill="{node.fill}" {stroke}/>'
        )
    first = node.y - (len(node.lines) - 1) * LINE_HEIGHT / 2  # the lines' block is centered on the node
    text = "".join(
        f'<text x="{node.x:g}" y="{first + i * LINE_HEIGHT:g}" dominant-baseline="central">{escape(line)}</text>'
        for i, line in enumerate(node.lines)
    )
    return f'<g data-node="{escape(node.key)}">{shape}{text}</g>'


def _edge_svg(edge: Edge, nodes: dict[str, Node]) -> str:
    """The line stops where the arrowhead starts, so a wide line never pokes through the head's tip."""
    source, target = nodes[edge.source], nodes[edge.target]
    x0, y0 = source.border_point(target.x, target.y)
    x1, y1 = target.border_point(source.x, source.y)
    length = math.hypot(x1 - x0, y1 - y0)
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    bx, by = x1 - ARROW_LENGTH * ux, y1 - ARROW_LENGTH * uy  # the middle of the arrowhead's base
    head = (
        f"{x1:.1f},{y1:.1f} {bx - ARROW_HALF_WIDTH * uy:.1f},{by + ARROW_HALF_WIDTH * ux:.1f} "
        f"{bx + ARROW_HALF_WIDTH * uy:.1f},{by - ARROW_HALF_WIDTH * ux:.1f}"
    )
    dash = ' stroke-dasharray="5 4"' if edge.dashed else ""
    return (
        f'<g data-edge="{escape(edge.source)}->{escape(edge.target)}">'
        f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{bx:.1f}" y2="{by:.1f}" stroke="{edge.color}" '
        f'stroke-width="{edge.width:g}"{dash}/>'
        f'<polygon points="{head}" fill="{edge.color}"/></g>'
    )


def svg(nodes: list[Node], edges: list[Edge], width: float, height: float, scale: float = 1.0) -> str:
    """The diagram as one standalone <svg> document of `width` × `height` units, drawn `scale` px per unit. It is
    shown as an image (st.image, with the description as its alt text): an image never grows past its drawn size
    and shrinks with a narrow column, so a phone gets the whole diagram, smaller."""
    by_key = {node.key: node for node in nodes}
    body = "".join(_edge_svg(edge, by_key) for edge in edges) + "".join(_node_svg(node) for node in nodes)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" width="{width * scale:g}" '
        f'height="{height * scale:g}" font-family="{FONT}" font-size="11.5" text-anchor="middle" '
        f'fill="{TEXT_COLOR}">{body}</svg>'
    )


_TAP_FILL = {"encoder": "#F7D2B4", "bottleneck": "#BFD9F2"}  # light tints of the pre / post pair
_NETWORK_CAPTION = (
    "The network, down the left and up the right: 3 color channels → 16 hidden units (GELU) → 4 numbers, "
    "the encoder tap (raw latent z, any length) → divided by its length → the bottleneck tap (unit latent ẑ, "
    "length exactly 1, a point on a 4-D sphere) → 16 hidden units (GELU) → 3 color channels. The decoder only "
    "ever sees ẑ."
)


def network_diagram() -> tuple[str, str]:
    """The autoencoder as a U with its two taps highlighted (SVG), and its description: the encoder runs down the
    left, the taps across the bottom, the decoder up the right. Four nodes tall and three wide, it reads on a
    390 px phone, where a left-to-right chain of nine nodes shrank to unreadable."""
    left, middle, right, w = 75.0, 210.0, 345.0, 120.0
    rows = (25.0, 80.0, 135.0, 192.0)  # top to bottom; the taps' row is one line taller
    nodes = [
        Node("rgb_in", ("RGB in", "3 numbers"), left, rows[0], w, 36),
        Node("enc1", ("Linear 3→16", "+ GELU"), left, rows[1], w, 36),
        Node("enc2", ("Linear 16→4",), left, rows[2], w, 28),
        Node("encoder", ("encoder tap", "raw latent z (4-D)"), left, rows[3], w + 6, 40, fill=_TAP_FILL["encoder"],
             bold_border=True),
        Node("norm", ("normalize", "z / ‖z‖"), middle, rows[3], 90, 36, fill="#FFFFFF"),
        Node("bottleneck", ("bottleneck tap", "unit latent ẑ (4-D)"), right, rows[3], w + 6, 40,
             fill=_TAP_FILL["bottleneck"], bold_border=True),
        Node("dec1", ("Linear 4→16", "+ GELU"), right, rows[2], w, 36),
        Node("dec2", ("Linear 16→3",), right, rows[1], w, 28),
        Node("rgb_out", ("RGB out", "3 numbers"), right, rows[0], w, 36),
    ]  # fmt: skip
    keys = [node.key for node in nodes]
    edges = [Edge(a, b) for a, b in zip(keys, keys[1:])]  # down the left, across the taps, up the right
    return svg(nodes, edges, 420, 216, scale=1.05), _NETWORK_CAPTION


# The placement diagram's row of terms, left to right, with each one's x. Its own order, not designs.PLACED_TERMS:
# unitarity reads the encoder tap under every design, so drawn first (below the encoder tap) its arrow crosses none
# of the others. The description follows the same order, so it reads the diagram left to right.
TERM_X = {"unit": 45.0, "anchor": 135.0, "separate": 260.0, "planar": 395.0}
# Separate divides its inputs by their length itself (cosines of unit vectors), so on the encoder tap and on the
# bottleneck tap it has the same value and gradient (SPEC §4): its tap is drawn, dashed, but changes nothing.
TAP_INDIFFERENT = ("separate",)
# Said wherever a page first states it: the sameness is exact arithmetic, and a single seed can still break it.
SEPARATE_ROUNDING_NOTE = (
    "(That holds in exact arithmetic. With float rounding the two taps differ in the last digits, and 3,000 training "
    "steps can grow that into a visible difference on a single seed, either way; across seeds it averages out, as "
    "the Experiment lab's factorial screen measures.)"
)


def _term_node(term: str) -> Node:
    lines = (TERM_NAMES[term], "(same on either tap)") if term in TAP_INDIFFERENT else (TERM_NAMES[term],)
    width = 150.0 if term in TAP_INDIFFERENT else 80.0
    return Node(term, lines, TERM_X[term], 122.0, width, 40 if len(lines) > 1 else 30, shape="ellipse")


def placement_diagram(placement: str, placements: Mapping[str, Mapping[str, str]] = PLACEMENTS) -> str:
    """One placement's wiring (SVG): the two taps on top, the four regularizers below, an arrow from the tap each
    term reads, in the placement's color. Two of these side by side show the experiment's one difference."""
    color = PLACEMENT_COLORS.get(placement, NEUTRAL)
    nodes = [
        Node("encoder", ("encoder tap", "raw latent z"), 120, 30, 100, 38, fill=_TAP_FILL["encoder"], bold_border=True),
        Node("norm", ("normalize", "z / ‖z‖"), 232, 30, 80, 36, fill="#FFFFFF"),
        Node("bottleneck", ("bottleneck tap", "unit latent ẑ"), 348, 30, 108, 38, fill=_TAP_FILL["bottleneck"],
             bold_border=True),
        *(_term_node(term) for term in TERM_X),
    ]  # fmt: skip
    edges = [Edge("encoder", "norm"), Edge("norm", "bottleneck")]
    edges += [
        Edge(placements[placement][term], term, color=color, width=2.5, dashed=term in TAP_INDIFFERENT)
        for term in TERM_X
    ]
    return svg(nodes, edges, 440, 146, scale=1.05)


def placement_description(placements: Mapping[str, Mapping[str, str]] = PLACEMENTS) -> str:
    """Which tap each term reads under each placement, in words; terms wired alike share a sentence."""
    names = list(placements)
    groups: dict[tuple[str, ...], list[str]] = {}
    for term in TERM_X:
        groups.setdefault(tuple(placements[p][term] for p in names), []).append(TERM_NAMES[term])
    sentences = []
    for taps, terms in groups.items():
        subject = capitalized(join(terms))
        verb = "reads" if len(terms) == 1 else "read"
        if len(set(taps)) == 1:
            sentences.append(f"{subject} {verb} the {taps[0]} tap under both placements")
        else:
            where = " and ".join(f"the {tap} tap {p}-norm" for p, tap in zip(names, taps))
            sentences.append(f"{subject} {verb} {where}")
    moved = [t for t in TERM_X if len({placements[p][t] for p in names}) > 1]
    real = [TERM_NAMES[t] for t in moved if t not in TAP_INDIFFERENT]
    idle = [TERM_NAMES[t] for t in moved if t in TAP_INDIFFERENT]
    if idle:
        sentences.append(
            f"{capitalized(join(idle))} divides its inputs by their length itself, so it computes the same value "
            "and the same gradient on either tap (its arrow is dashed): "
            + (f"only {join(real)} really change with the placement" if real else "both train the same model")
        )
    return (
        "Where each regularizer looks, one diagram per placement: the encoder tap, the normalization and the "
        "bottleneck tap on top, the four regularizers below, an arrow from the tap each one is computed on. "
        + ". ".join(sentences)
        + "."
    )
