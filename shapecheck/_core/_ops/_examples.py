"""Runs a rule's worked examples (the mini-language described in ``_registry``).

Beyond the basics there:

* ``()`` spells a scalar tensor (``"() | 0 -> ()"``); a result may be several shapes joined by ``;``;
* static arguments are Python expressions: literals, size names (``b, t, n, c // n``: symbols, so
  ``x.view(B, T, n_head, C // n_head)`` is written as it reads), ``+ - * //`` over them, tuples and
  lists, ``...``, ``slice(start, stop, step)``, and ``shape("k", "long")`` for a tensor argument
  inside a static one (an index tensor of dtype ``long``, a ``"bool"`` mask), ``unknown()`` for an
  argument the analysis could not evaluate;
* the output side is split at the last ``->``, so einops patterns may contain ``->``.
"""

from __future__ import annotations

import ast

from .._algebra import sym
from .._parse import parse_shape
from .._shape import Shape
from ._registry import OPAQUE, Rule, Site


def _value(node: ast.AST):
    """A static argument: a literal, a size name (a symbol), ``+ - * //`` over sizes, a tuple or list,
    ``slice(a, b, c)``, or ``shape("b n")`` for a tensor argument (inside a tuple index)."""
    if isinstance(node, ast.Name):
        return sym(node.id)
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_value(e) for e in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _value(node.operand)
        return -v
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)):
        a, b = _value(node.left), _value(node.right)
        op = {ast.Add: lambda x, y: x + y, ast.Sub: lambda x, y: x - y, ast.Mult: lambda x, y: x * y,
              ast.FloorDiv: lambda x, y: x // y}[type(node.op)]
        return op(a, b)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "unknown" and not node.args:
        return OPAQUE
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("slice", "shape"):
        args = [_value(a) for a in node.args]
        if node.func.id == "slice":
            return slice(*args)
        shape = Shape(()) if args[0] == "()" else parse_shape(args[0]).to_shape()
        return shape.with_meta(dtype=args[1]) if len(args) > 1 else shape  # shape("k", "long")
    if isinstance(node, ast.Slice):
        return slice(*(None if p is None else _value(p) for p in (node.lower, node.upper, node.step)))
    return ast.literal_eval(node)


def _kwargs(text: str) -> tuple[list, dict]:
    if not text.strip():
        return [], {}
    call = ast.parse(f"f({text})", mode="eval").body
    args = [_value(a) for a in call.args]
    return args, {k.arg: _value(k.value) for k in call.keywords}


def _shapes(text: str) -> list:
    text = text.strip()
    if text == "":
        return []
    parts = [p.strip() for p in text.split(",")]
    out = []
    for i, p in enumerate(parts):
        shape = Shape(()) if p == "()" else parse_shape(p).to_shape()  # "()" spells a scalar
        out.append(shape.with_label(f"`arg{i}`"))
    return out


def _flatten(result) -> list:
    """Results as a flat list: ``(out, (h, c))`` is three shapes."""
    if isinstance(result, tuple):
        out = []
        for r in result:
            out.extend(_flatten(r))
        return out
    return [result]


def run_example(rule: Rule, example: str, expect_ok: bool) -> str | None:
    """None when the example holds, else a sentence saying how it failed."""
    text = example
    init = None
    if text.startswith("init:"):
        init_text, _, text = text[5:].partition("|")
        iargs, ikw = _kwargs(init_text)
        init = rule.bind_init(tuple(iargs), ikw)
        if init is None:
            return f"constructor arguments do not fit: {init_text!r}"
    if expect_ok:
        lhs, _, out_text = text.rpartition("->")  # patterns may contain "->" too
    else:
        lhs, _, out_text = text.partition("!")
    shapes_text, _, static = lhs.partition("|")
    args = _shapes(shapes_text)
    pargs, kwargs = _kwargs(static)
    site = Site(rule.display)
    result = rule.apply(site, tuple(args) + tuple(pargs), kwargs, init)
    if expect_ok:
        if site.problems:
            return f"unexpected problem: {site.problems[0].message}"
        expected = [p.strip() for p in out_text.split(";")] if ";" in out_text else [out_text.strip()]
        got = _flatten(result)
        if len(got) != len(expected):
            return f"expected {len(expected)} results, got {got!r}"
        for g, e in zip(got, expected):
            if not isinstance(g, Shape):
                return f"expected {e!r}, got {g!r}"
            want = Shape(()) if e == "()" else parse_shape(e).to_shape()
            if tuple(site.resolve(d) for d in g.dims) != want.dims:
                return f"expected {e!r}, got {str(g)!r}"
        return None
    if not site.problems:
        return f"expected a problem, got {result!r}"
    code = out_text.strip()
    if code and not any(p.code == code for p in site.problems):
        return f"expected {code}, got {[p.code for p in site.problems]}"
    return None
