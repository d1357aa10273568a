"""Small box-and-arrow diagrams drawn as SVG images, laid out by hand.

Why not Graphviz: st.graphviz_chart sends every browser a 770 KB layout engine (Graphviz compiled to
WebAssembly) and runs it for each diagram. For the app's few fixed diagrams that was the most expensive thing on
the placement page: about 0.6 s of a 2-core machine's CPU on every visit, most of it while the server is still
training the first visitor's models on the same cores. These diagrams never change shape, so their coordinates
are written down once (in the builders of training_charts) and this module only draws them: nodes (rounded boxes
or ellipses with one or more centered lines of text) and straight arrows from border to border.

The fills are light and the text dark, so a diagram reads the same on the light and the dark theme; the arrows
are a mid gray or a placement's color. Each node and edge carries a data-* attribute naming it, which the tests
read back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

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
