"""A graph as text: Graphviz ``dot`` and Mermaid (no external program), SVG/PNG through Graphviz.

Inputs and outputs are rounded, ops are boxes, a call into user code is a box with a double border
(expanded with ``--depth``: its body drawn in a cluster beside it), a contraction names the axis it
joins, an op with a diagnostic is red with the message below its code.
"""

from __future__ import annotations

from ._dataflow import Graph, Node

ERROR_COLOR = "#c62828"
INPUT_COLOR = "#e3f2fd"
CALL_COLOR = "#f3e5f5"


class RenderError(Exception):
    """SVG/PNG could not be produced (the binding or the ``dot`` program is missing)."""


def _lines(n: Node) -> list:
    lines = [n.label]
    if n.contracted:
        lines.append(f"contracts {n.contracted}")
    if n.broadcast:
        lines.append(f"broadcasts over {n.broadcast}")
    if n.error:
        lines.extend(n.error.split("\n"))
    return lines


# -- dot --------------------------------------------------------------------------------------------

def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_node(n: Node, indent: str) -> str:
    attrs = {"label": "\\n".join(_q(x)[1:-1] for x in _lines(n))}
    if n.kind in ("input", "output"):
        attrs.update(shape="box", style="rounded,filled", fillcolor=INPUT_COLOR)
    elif n.kind == "call":
        attrs.update(shape="box", peripheries="2", style="filled", fillcolor=CALL_COLOR)
    elif n.kind == "problem":
        attrs.update(shape="note")
    if n.error:
        attrs.update(color=ERROR_COLOR, fontcolor=ERROR_COLOR, penwidth="2")
    body = ", ".join(f'{k}="{v}"' for k, v in attrs.items())
    return f"{indent}{n.id} [{body}];"


def _dot_body(g: Graph, indent: str) -> list:
    out = []
    for n in g.nodes:
        out.append(_dot_node(n, indent))
        if n.sub is not None:
            out.append(f"{indent}subgraph cluster_{n.id} {{")
            out.append(f"{indent}  label={_q(n.sub.title)}; style=dashed; color=\"#888888\";")
            out.extend(_dot_body(n.sub, indent + "  "))
            out.append(f"{indent}}}")
            for s in n.sub.nodes:
                if s.kind == "input":
                    out.append(f'{indent}{n.id} -> {s.id} [style=dotted, arrowhead=none];')
    for e in g.edges:
        out.append(f"{indent}{e.src} -> {e.dst} [label={_q(' ' + e.label + ' ')}];")
    return out


def to_dot(graphs: list) -> str:
    lines = ["digraph shapecheck {", "  rankdir=TB;",
             '  node [shape=box, fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=10, fontcolor="#1a237e"];']
    if len(graphs) == 1:
        lines.append(f"  label={_q(graphs[0].title)}; labelloc=t;")
        lines.extend(_dot_body(graphs[0], "  "))
    else:
        for i, g in enumerate(graphs):
            lines.append(f"  subgraph cluster_f{i} {{")
            lines.append(f"    label={_q(g.title)};")
            lines.extend(_dot_body(g, "    "))
            lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- mermaid ----------------------------------------------------------------------------------------

def _m(text: str) -> str:
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            .replace("|", "#124;"))


def _mermaid_node(n: Node) -> str:
    label = "<br/>".join(_m(x) for x in _lines(n))
    if n.kind in ("input", "output"):
        return f'{n.id}(["{label}"])'
    if n.kind == "call":
        return f'{n.id}[["{label}"]]'
    return f'{n.id}["{label}"]'


def _mermaid_body(g: Graph, indent: str, errors: list) -> list:
    out = []
    for n in g.nodes:
        out.append(indent + _mermaid_node(n))
        if n.error:
            errors.append(n.id)
        if n.sub is not None:
            out.append(f'{indent}subgraph {n.id}_body["{_m(n.sub.title)}"]')
            out.extend(_mermaid_body(n.sub, indent + "  ", errors))
            out.append(f"{indent}end")
            out.append(f"{indent}{n.id} -.- {n.id}_body")
    for e in g.edges:
        out.append(f'{indent}{e.src} -->|"{_m(e.label)}"| {e.dst}')
    return out


def to_mermaid(graphs: list) -> str:
    lines = ["flowchart TD"]
    errors: list = []
    if len(graphs) == 1:
        lines.extend(_mermaid_body(graphs[0], "  ", errors))
    else:
        for i, g in enumerate(graphs):
            lines.append(f'  subgraph f{i}["{_m(g.title)}"]')
            lines.extend(_mermaid_body(g, "    ", errors))
            lines.append("  end")
    lines.append(f"  classDef error fill:#ffebee,stroke:{ERROR_COLOR},stroke-width:2px,color:{ERROR_COLOR}")
    if errors:
        lines.append(f"  class {','.join(errors)} error")
    return "\n".join(lines) + "\n"


# -- images -----------------------------------------------------------------------------------------

def to_image(dot_text: str, fmt: str) -> bytes:
    """SVG or PNG bytes; raises :class:`RenderError` with what to install when something is missing."""
    try:
        import graphviz
    except ImportError:
        raise RenderError("the graphviz Python package is needed for svg and png: "
                          "pip install 'shapecheck[graph]' (or write --format dot or mermaid)") from None
    try:
        return graphviz.Source(dot_text).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise RenderError("the Graphviz `dot` program is not installed, so svg and png cannot be drawn: "
                          "install it (apt-get install graphviz, brew install graphviz, or "
                          "conda install graphviz), or write --format dot or mermaid") from None
    except graphviz.CalledProcessError as e:
        raise RenderError(f"Graphviz could not lay out the graph: {e.stderr.decode(errors='replace').strip()}") \
            from None
