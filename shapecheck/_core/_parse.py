"""The parser for jaxtyping's dimension strings (``"batch seq d_model"``).

The grammar, token by token (tokens are separated by spaces):

* ``3`` — a fixed size; ``name=3`` — a fixed size with a name for documentation;
* ``name`` — a named axis; ``_`` — an anonymous axis (any size);
* an arithmetic expression without spaces over names and ints (``n+1``, ``2*d``, ``(h-3)//2+1``);
* prefixes: ``*`` variadic (zero or more axes; at most one per string), ``#`` broadcastable (may
  be 1), ``?`` (a name that may change between calls; checked like a name here); ``...`` is ``*_``;
* the empty string is a scalar.

``parse_shape`` is cached; a malformed string raises :class:`AnnotationSyntaxError`, whose message
quotes the bad token and shows a valid spelling.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache

from ._algebra import Expr, const, floordiv, sym
from ._shape import UNKNOWN, Shape, Variadic

__all__ = ["AxisSpec", "ShapeSpec", "AnnotationSyntaxError", "parse_shape"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INT = re.compile(r"[0-9]+\Z")


class AnnotationSyntaxError(ValueError):
    """A malformed dimension string; ``token`` is the offending token, ``offset`` its column."""

    def __init__(self, message: str, token: str, offset: int):
        super().__init__(message)
        self.message = message
        self.token = token
        self.offset = offset


@dataclass(frozen=True)
class AxisSpec:
    """One token of a dimension string.

    ``kind`` is ``fixed`` (``value``), ``named`` (``name``), ``expr`` (``expr``) or ``anon``.
    """

    kind: str
    text: str
    name: str | None = None
    value: int | None = None
    expr: Expr | None = None
    variadic: bool = False
    broadcast: bool = False

    def to_item(self):
        if self.variadic:
            return Variadic(None if self.kind == "anon" else self.name)
        if self.kind == "fixed":
            return const(self.value)
        if self.kind == "named":
            return sym(self.name)
        if self.kind == "expr":
            return self.expr
        return UNKNOWN


@dataclass(frozen=True)
class ShapeSpec:
    """A parsed dimension string."""

    text: str
    axes: tuple

    @property
    def variadic_index(self) -> int | None:
        for i, a in enumerate(self.axes):
            if a.variadic:
                return i
        return None

    def names(self) -> frozenset:
        out = set()
        for a in self.axes:
            if a.name:
                out.add(a.name)
            if a.expr is not None:
                out |= {s.name for s in a.expr.symbols()}
        return frozenset(out)

    def to_shape(self) -> Shape:
        return Shape(tuple(a.to_item() for a in self.axes))

    def __str__(self) -> str:
        return self.text


def _bad(message: str, token: str, offset: int) -> AnnotationSyntaxError:
    return AnnotationSyntaxError(message, token, offset)


def _expr_of(node: ast.AST, token: str, offset: int) -> Expr:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return const(node.value)
    if isinstance(node, ast.Name):
        return sym(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_expr_of(node.operand, token, offset)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
        return _expr_of(node.operand, token, offset)
    if isinstance(node, ast.BinOp):
        left = _expr_of(node.left, token, offset)
        right = _expr_of(node.right, token, offset)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, (ast.FloorDiv, ast.Div)):
            rv = right.value
            if rv is not None and rv <= 0:
                raise _bad(f'dimension "{token}" divides by {rv}', token, offset)
            return left.exact_div(right) if isinstance(node.op, ast.Div) else floordiv(left, right)
        if isinstance(node.op, ast.Pow):
            rv = right.value
            if rv is not None and 0 <= rv <= 8:
                out = const(1)
                for _ in range(rv):
                    out = out * left
                return out
    raise _bad(
        f'dimension "{token}" is not an arithmetic expression of names and ints; '
        'write e.g. "n+1", "2*d" or "(h-3)//2+1" without spaces',
        token,
        offset,
    )


def _parse_token(tok: str, offset: int) -> AxisSpec:
    body = tok
    variadic = broadcast = False
    while body[:1] in ("*", "#", "?") and body != "":
        mark = body[0]
        if mark == "*":
            if variadic:
                raise _bad(f'dimension "{tok}" repeats "*"; write "*{body.lstrip("*#?")}"', tok, offset)
            variadic = True
        elif mark == "#":
            broadcast = True
        body = body[1:]
    if tok == "...":
        return AxisSpec("anon", tok, variadic=True)
    if body == "":
        raise _bad(f'dimension "{tok}" has no name after its prefix; write e.g. "*batch" or "#channels"',
                   tok, offset)
    if "," in body or "[" in body or "]" in body:
        hint = " ".join(p for p in re.split(r"[\s,\[\]]+", body) if p) or "batch seq"
        raise _bad(f'dimension "{tok}" contains "{"," if "," in body else "["}"; separate axes with spaces, '
                   f'e.g. "{hint}"', tok, offset)
    if "=" in body and "==" not in body:
        name, _, value = body.partition("=")
        if _NAME.match(name) and value == "_":  # "height=_": any size, named for the reader
            return AxisSpec("anon", tok, variadic=variadic, broadcast=broadcast)
        if not _NAME.match(name) or not _INT.match(value):
            raise _bad(f'dimension "{tok}" is not of the form "name=size"; write e.g. "channels=3"', tok, offset)
        if variadic:
            raise _bad(f'variadic dimension "{tok}" cannot have a fixed size; write "*{name}"', tok, offset)
        return AxisSpec("fixed", tok, name=name, value=int(value), broadcast=broadcast)
    if _INT.match(body):
        if variadic:
            raise _bad(f'variadic dimension "{tok}" cannot be a number; write "*batch" or "..."', tok, offset)
        return AxisSpec("fixed", tok, value=int(body), broadcast=broadcast)
    if _NAME.match(body):
        if body == "_":
            return AxisSpec("anon", tok, variadic=variadic, broadcast=broadcast)
        return AxisSpec("named", tok, name=body, variadic=variadic, broadcast=broadcast)
    if variadic:
        raise _bad(f'variadic dimension "{tok}" must be a name; write e.g. "*batch"', tok, offset)
    try:
        node = ast.parse(body, mode="eval").body
    except SyntaxError:
        raise _bad(
            f'dimension "{tok}" is not a name, an int or an expression; '
            'names are identifiers ("d_model"), expressions have no spaces ("n+1")',
            tok,
            offset,
        ) from None
    e = _expr_of(node, tok, offset)
    s = e.as_sym()
    if s is not None:
        return AxisSpec("named", tok, name=s.name, broadcast=broadcast)
    if e.value is not None:
        if e.value <= 0:
            raise _bad(f'dimension "{tok}" is {e.value}; sizes in annotations are positive', tok, offset)
        return AxisSpec("fixed", tok, value=e.value, broadcast=broadcast)
    return AxisSpec("expr", tok, expr=e, broadcast=broadcast)


_GROUP = re.compile(r"\(([^()]*\s[^()]*)\)")


def _mergeable(group) -> bool:
    """An einops group of plain names and sizes (``(h p)``), which a product spells in jaxtyping."""
    return all(_NAME.match(t) or _INT.match(t) for t in group.group(1).split())


@lru_cache(maxsize=4096)
def parse_shape(text: str) -> ShapeSpec:
    """Parse a jaxtyping dimension string; raises :class:`AnnotationSyntaxError`."""
    if not isinstance(text, str):
        raise TypeError("a dimension string must be a str")
    axes = []
    seen_variadic = None
    if "," in text:
        hint = " ".join(p for p in re.split(r"[\s,]+", text) if p)
        tok = next(t for t in text.split() if "," in t)
        raise _bad(f'dimension string "{text}" contains ","; separate axes with spaces: "{hint}"', tok,
                   text.index(","))
    group = next((g for g in _GROUP.finditer(text) if _mergeable(g)), None)
    if group:
        # every group is spelled as a product, so the suggested string is itself valid
        hint = _GROUP.sub(lambda g: "*".join(g.group(1).split()), text)
        fix = f'write "{hint}"' if all(_mergeable(g) for g in _GROUP.finditer(text)) else \
            f'write each group as a product, e.g. "{"*".join(group.group(1).split())}"'
        raise _bad(f'dimension string "{text}" groups axes with parentheses as einops does; jaxtyping has no '
                   f'grouping: {fix}', "(" + group.group(1).split()[0], group.start())
    for m in re.finditer(r"\S+", text):
        tok = m.group(0)
        spec = _parse_token(tok, m.start())
        if spec.variadic:
            if seen_variadic is not None:
                raise _bad(
                    f'"{tok}" is a second variadic dimension (after "{seen_variadic}"); '
                    "a shape may have at most one, e.g. \"*batch seq d\"",
                    tok,
                    m.start(),
                )
            seen_variadic = tok
        axes.append(spec)
    return ShapeSpec(text, tuple(axes))
