"""From what the engine saw to a graph: ops as nodes, tensors as edges labelled with their shapes.

Which op feeds which comes from the function's ``ast``: each operand of a drawn op is traced back to
the op that produced it, through the names it was assigned to (assignments reaching the use: both
sides of a branch, a loop's body and what came before it). An edge's label is the shape the engine
inferred for that value, in jaxtyping syntax (``?`` an unknown axis, ``...`` axes of unknown number).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .._core._ops._registry import OPAQUE
from .._core._shape import Shape
from ._labels import broadcast_axes, contracted_axis, is_tensor, op_label, shape_text
from ._record import Analysed

@dataclass
class Node:
    id: str
    label: str
    kind: str  # "input" | "output" | "op" | "call" | "problem"
    error: str | None = None  # a diagnostic on this op: drawn red, its message as the label
    contracted: str | None = None  # the axis a contraction joins
    broadcast: str | None = None  # the result's axes some operand lacked (added, or size 1 there)
    sub: "Graph | None" = None  # an expanded call's own graph


@dataclass
class Edge:
    src: str
    dst: str
    label: str


@dataclass
class Graph:
    title: str
    nodes: list = field(default_factory=list)
    edges: list = field(default_factory=list)

    def node(self, nid: str) -> Node:
        return next(n for n in self.nodes if n.id == nid)


# -- the graph --------------------------------------------------------------------------------------

class _Builder:
    def __init__(self, an: Analysed, source: str, prefix: str):
        self.an = an
        self.source = source
        self.prefix = prefix
        self.graph = Graph(an.qualname)
        self.env = an.env
        fn = an.fn
        params = [a for a in list(fn.args.posonlyargs) + list(fn.args.args) + list(fn.args.kwonlyargs)]
        if an.self_val is not None and params and params[0].arg in ("self", "cls"):
            params = params[1:]
        self.params = params
        # the ops drawn: those with a tensor among their inputs or as their output
        self.drawn = {}
        for n in _body_nodes(fn):
            ev = an.events.get(id(n))
            if ev is None:
                continue
            # a call into user code is drawn; so is an op whose value is unknown (it failed: that is
            # where its diagnostic goes; or its operands are unknown) when it takes a tensor or an unknown
            if is_tensor(ev.result) or ev.ref is not None \
                    or ev.result is OPAQUE and any(is_tensor(a) or a is OPAQUE for a in ev.args):
                self.drawn[id(n)] = (n, ev)
        self.ids = {}
        self.tensor_names = {p.arg for p in params} | _assigned_names(fn, self.drawn)

    def nid(self, key) -> str:
        if key not in self.ids:
            self.ids[key] = f"{self.prefix}n{len(self.ids)}"
        return self.ids[key]

    def build(self) -> Graph:
        g = self.graph
        used_params = set()
        env = {p.arg: {("in", p.arg, None)} for p in self.params}
        self.pending = []  # (sources, operand expr, consumer node id, consumer event)
        self.returns = []  # (sources, expr)
        self.block(self.an.fn.body, env)
        for p in self.params:
            if any(src[0] == "in" and src[1] == p.arg for srcs, *_ in self.pending + self.returns for src in srcs):
                used_params.add(p.arg)
        for p in self.params:
            if p.arg in used_params:
                g.nodes.append(Node(self.nid(("in", p.arg)), p.arg, "input"))
        for nkey, (n, ev) in sorted(self.drawn.items(), key=lambda kv: _pos(kv[1][0])):
            kind = "call" if ev.ref is not None else "op"
            node = Node(self.nid(nkey), op_label(n, self.source, set(self.drawn), self.tensor_names), kind,
                        contracted=contracted_axis(ev, self.env), broadcast=broadcast_axes(ev, self.env))
            child = self.an.children.get(nkey)
            if child is not None:
                node.sub = build_graph(child, self.source if child.info is self.an.info else _source_of(child),
                                       prefix=node.id + "_")
            g.nodes.append(node)
        for srcs, expr, dst, ev in self.pending:
            for src in sorted(srcs, key=self.src_order):
                g.edges.append(Edge(self.src_id(src), dst, self.edge_label(src, expr, ev)))
        if self.returns:
            out = Node(self.nid(("out",)), "return", "output")
            g.nodes.append(out)
            for srcs, expr in self.returns:
                for src in sorted(srcs, key=self.src_order):
                    g.edges.append(Edge(self.src_id(src), out.id, self.edge_label(src, expr, None)))
        self.place_diagnostics()
        _dedupe_edges(g)
        return g

    def src_order(self, src) -> tuple:
        """Sources in a stable order: the parameters in theirs, then ops where they end in the code."""
        if src[0] == "in":
            return (0, [p.arg for p in self.params].index(src[1]), (), -1)
        return (1, 0, _pos(self.drawn[src[1]][0]), -1 if src[2] is None else src[2])

    def src_id(self, src) -> str:
        return self.nid(("in", src[1])) if src[0] == "in" else self.nid(src[1])

    def edge_label(self, src, expr, consumer) -> str:
        if isinstance(expr, ast.Name) and consumer is not None:
            v = _labelled(list(consumer.args) + list(consumer.kwargs.values()), f"`{expr.id}`")
            if v is not None:
                return shape_text(v, self.env) or "?"
        if src[0] == "in":
            p = next(p for p in self.params if p.arg == src[1])
            v = self.an.info and _param_value(self.an, p)
            return shape_text(v, self.env) or "..."
        _, ev = self.drawn[src[1]]
        v = ev.result
        if src[2] is not None and isinstance(v, tuple) and src[2] < len(v):
            v = v[src[2]]
        return shape_text(v, self.env) or "..."

    # -- reaching assignments --------------------------------------------------------------------
    def producers(self, e, env) -> set:
        if e is None:
            return set()
        if id(e) in self.drawn:
            return {("op", id(e), None)}
        if isinstance(e, ast.Name):
            return set(env.get(e.id, ()))
        if id(e) in self.an.events or isinstance(e, (ast.Lambda, ast.Constant, ast.Call, ast.Attribute)):
            # an op whose value is not a tensor (`x.size(-1)`), a call or attribute the engine did not
            # see as a tensor op (`x.size()`, `x.shape`, `len(x)`, `self.n_head`)
            return set()
        if isinstance(e, ast.Subscript):
            return self.producers(e.value, env)  # an element of a container; `x.shape[0]` is nothing
        out = set()
        for c in ast.iter_child_nodes(e):
            if isinstance(c, ast.expr):
                out |= self.producers(c, env)
        return out

    def visit_expr(self, e, env) -> None:
        """Every drawn op inside ``e``: its operands traced to their producers."""
        if e is None:
            return
        for n in ast.walk(e):
            if id(n) in self.drawn and n is not None:
                _, ev = self.drawn[id(n)]
                for operand in _operands(n):
                    self.pending.append((self.producers(operand, env), operand, self.nid(id(n)), ev))

    def block(self, stmts, env) -> dict:
        for st in stmts:
            env = self.stmt(st, env)
        return env

    def stmt(self, st, env) -> dict:
        if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return env
        if isinstance(st, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            value = st.value
            self.visit_expr(value, env)
            if isinstance(st, ast.AugAssign) and id(st) in self.drawn:
                _, ev = self.drawn[id(st)]
                for operand in (st.target, st.value):
                    self.pending.append((self.producers(operand, env), operand, self.nid(id(st)), ev))
                srcs = {("op", id(st), None)}
            elif isinstance(st, ast.AugAssign):
                srcs = self.producers(st.target, env) | self.producers(value, env)
            else:
                srcs = self.producers(value, env) if value is not None else set()
            env = dict(env)
            for t in (st.targets if isinstance(st, ast.Assign) else [st.target]):
                self.bind(t, srcs, value, env)
            return env
        if isinstance(st, ast.Return):
            self.visit_expr(st.value, env)
            if st.value is not None:
                self.returns.append((self.producers(st.value, env), st.value))
            return env
        if isinstance(st, ast.If):
            self.visit_expr(st.test, env)
            a = self.block(st.body, dict(env))
            b = self.block(st.orelse, dict(env))
            return _merge(a, b)
        if isinstance(st, (ast.For, ast.AsyncFor, ast.While)):
            self.visit_expr(getattr(st, "iter", None) or getattr(st, "test", None), env)
            inner = dict(env)
            if isinstance(st, (ast.For, ast.AsyncFor)):
                self.bind(st.target, set(), None, inner)
            after = self.block(st.body, inner)
            after = self.block(st.body, _merge(env, after))  # the second pass sees the first's values
            return self.block(st.orelse, _merge(env, after))
        if isinstance(st, (ast.With, ast.AsyncWith)):
            for item in st.items:
                self.visit_expr(item.context_expr, env)
            return self.block(st.body, env)
        if isinstance(st, ast.Try) or type(st).__name__ == "TryStar":
            out = self.block(st.body, dict(env))
            for h in st.handlers:
                out = _merge(out, self.block(h.body, dict(env)))
            out = self.block(st.orelse, out)
            return self.block(st.finalbody, out)
        for c in ast.iter_child_nodes(st):
            if isinstance(c, ast.expr):
                self.visit_expr(c, env)
        return env

    def bind(self, target, srcs: set, value, env) -> None:
        if isinstance(target, ast.Name):
            env[target.id] = set(srcs)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for i, elt in enumerate(target.elts):
                if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
                    self.bind(elt, self.producers(value.elts[i], env), value.elts[i], env)
                else:
                    self.bind(elt, {(s[0], s[1], i) if s[0] == "op" else s for s in srcs}, None, env)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, srcs, None, env)

    def place_diagnostics(self) -> None:
        """Each diagnostic on the op it names (red, its message the label); one on a line with no op
        (a return annotation, an argument) on the output or as a node of its own."""
        by_pos = {}
        for nkey, (n, _) in self.drawn.items():
            by_pos.setdefault((n.lineno, n.col_offset + 1), []).append(nkey)
        by_line = {}
        for nkey, (n, _) in self.drawn.items():
            by_line.setdefault(n.lineno, []).append(nkey)
        g = self.graph
        for d in self.an.diags:
            if d.code == "reveal":
                continue
            text = f"{d.code} {d.message}"
            keys = by_pos.get((d.line, d.column)) or by_line.get(d.line)
            if keys:
                # the op whose span is the diagnostic's, else the one whose rule recorded it, else
                # the outermost op at that place
                n = max((self.drawn[k][0] for k in keys),
                        key=lambda n: ((n.end_lineno, n.end_col_offset + 1) == (d.end_line, d.end_column),
                                       any(p.code == d.code for p in self.drawn[id(n)][1].problems), _span(n)))
                node = g.node(self.nid(id(n)))
            elif any(nd.kind == "output" for nd in g.nodes) and _is_return_line(self.an.fn, d.line):
                node = g.node(self.nid(("out",)))
            else:
                node = Node(self.nid(("diag", d.line, d.column, d.code)), f"line {d.line}", "problem")
                g.nodes.append(node)
            node.error = text if node.error is None else node.error + "\n" + text


def build_graph(an: Analysed, source: str, prefix: str = "") -> Graph:
    return _Builder(an, source, prefix).build()


def _source_of(an: Analysed) -> str:
    try:
        with open(an.info.path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def _param_value(an: Analysed, p: ast.arg):
    from .._engine._signature import signature_of
    from .._engine._checks import spec_shape

    for sp in signature_of(an.fn, an.info).params:
        if sp.arg is p and sp.annot is not None and sp.annot.spec is not None:
            return spec_shape(sp.annot.spec, "annotation")
    return None


def _labelled(values, label: str):
    for v in values:
        if isinstance(v, Shape) and v.label == label:
            return v
        if isinstance(v, tuple):
            hit = _labelled(list(v), label)
            if hit is not None:
                return hit
    return None


def _operands(n) -> list:
    if isinstance(n, ast.Call):
        out = [n.func.value] if isinstance(n.func, ast.Attribute) else []
        return out + list(n.args) + [k.value for k in n.keywords]
    if isinstance(n, ast.BinOp):
        return [n.left, n.right]
    if isinstance(n, ast.Compare):
        return [n.left] + list(n.comparators)
    if isinstance(n, ast.Subscript):
        return [n.value, n.slice]
    if isinstance(n, ast.Attribute):
        return [n.value]
    return [c for c in ast.iter_child_nodes(n) if isinstance(c, ast.expr)]


def _body_nodes(fn):
    for st in fn.body:
        for n in ast.walk(st):
            yield n


def _assigned_names(fn, drawn) -> set:
    """Names assigned from a drawn op somewhere in the body (tensors, as far as the labels go)."""
    out = set()
    for n in _body_nodes(fn):
        if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and n.value is not None \
                and any(id(m) in drawn for m in ast.walk(n.value)):
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]):
                out |= {x.id for x in ast.walk(t) if isinstance(x, ast.Name)}
    return out


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = set(out.get(k, ())) | set(v)
    return out


def _pos(n):
    """Where an op ends: an operand before the op that uses it."""
    return (getattr(n, "end_lineno", 0) or 0, getattr(n, "end_col_offset", 0) or 0, _span(n))


def _span(n) -> int:
    return ((getattr(n, "end_lineno", 0) or 0) - n.lineno) * 10000 + (getattr(n, "end_col_offset", 0) or 0) \
        - n.col_offset


def _is_return_line(fn, line: int) -> bool:
    return any(isinstance(n, ast.Return) and n.lineno <= line <= (n.end_lineno or n.lineno) for n in ast.walk(fn))


def _dedupe_edges(g: Graph) -> None:
    seen = set()
    out = []
    for e in g.edges:
        key = (e.src, e.dst, e.label)
        if key not in seen:
            seen.add(key)
            out.append(e)
    g.edges = out
