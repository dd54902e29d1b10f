"""The parser for jaxtyping's dimension strings (``"batch seq d_model"``).

The grammar, token by token (tokens are separated by spaces):

* ``3`` — a fixed size; ``name=3``, ``name=other``, ``name=n+1`` — the part after ``=``, the name
  before it documents the axis only;
* ``name`` — a named axis; ``_`` and ``_name`` — an anonymous axis (any size);
* an arithmetic expression without spaces over names and ints (``n+1``, ``2*d``, ``(h-3)//2+1``);
* prefixes: ``*`` variadic (zero or more axes; at most one per string), ``#`` broadcastable (may
  be 1), ``?`` (a name that may change between calls; checked like a name here); ``...`` is ``*_``;
  a bare ``*`` is a variadic without a name (jaxtyping binds it like a name);
* the empty string is a scalar.

Two spellings are only known at run time: an f-string axis (``{size}``, ``{self.n}-1``, formatted
with the call's arguments) and an expression calling a builtin (``min(foo,bar)``). Their
``AxisSpec`` has kind ``anon`` (static analysis knows nothing of their size) and keeps the text to
evaluate in ``deferred``.

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
    deferred: str | None = None  # run-time text: an f-string (``fstring``) or a builtin call
    fstring: bool = False
    names: tuple = ()  # the axis names ``deferred`` reads

    @property
    def body(self) -> str:
        """The token without its prefixes and without a documenting ``name=``: ``n+1`` of ``#s=n+1``."""
        t = self.text.lstrip("*#?")
        if t.count("=") == 1 and "{" not in t.partition("=")[0]:
            t = t.partition("=")[2].lstrip("*#?")
        return t

    def to_item(self):
        if self.variadic:
            return Variadic(None if self.kind == "anon" or not self.name else self.name)
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

    def __post_init__(self) -> None:
        vi = next((i for i, a in enumerate(self.axes) if a.variadic), None)
        object.__setattr__(self, "_variadic_index", vi)  # read on every guarded call

    @property
    def variadic_index(self) -> int | None:
        return self._variadic_index

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


_BUILTIN_CALLS = frozenset({"min", "max", "abs", "int", "round", "len", "sum", "pow", "divmod"})


def _deferred(body: str, tok: str, offset: int, broadcast: bool) -> AxisSpec | None:
    """An f-string axis or an expression calling a builtin: checked at run time only."""
    if "{" in body:
        try:
            tree = ast.parse("f" + repr(body), mode="eval")
        except SyntaxError:
            raise _bad(f'dimension "{tok}" is not a valid f-string axis; write e.g. "{{size}}" or '
                       '"{self.n}-1"', tok, offset) from None
        return AxisSpec("anon", tok, broadcast=broadcast, deferred=body, fstring=True,
                        names=_free_names(tree))
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError:
        return None
    for nd in ast.walk(tree):
        if isinstance(nd, ast.Call):
            if not (isinstance(nd.func, ast.Name) and nd.func.id in _BUILTIN_CALLS and not nd.keywords):
                return None
        elif isinstance(nd, ast.Constant):
            if type(nd.value) is not int:
                return None
        elif not isinstance(nd, (ast.Expression, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.operator,
                                 ast.unaryop)):
            return None
    return AxisSpec("anon", tok, broadcast=broadcast, deferred=body, names=_free_names(tree))


def _free_names(tree: ast.AST) -> tuple:
    called = {id(nd.func) for nd in ast.walk(tree) if isinstance(nd, ast.Call)}
    return tuple(sorted({nd.id for nd in ast.walk(tree) if isinstance(nd, ast.Name) and id(nd) not in called}))


def _parse_token(tok: str, offset: int, body: str | None = None, variadic: bool = False,
                 broadcast: bool = False) -> AxisSpec:
    if body is None:
        body = tok
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
        if variadic:  # a bare "*" (or "*#"): jaxtyping binds it under the empty name
            return AxisSpec("anon", tok, name="", variadic=True, broadcast=broadcast)
        raise _bad(f'dimension "{tok}" has no name after its prefix; write e.g. "*batch" or "#channels"',
                   tok, offset)
    if body.count("=") == 1 and "{" not in body.partition("=")[0]:
        name, _, value = body.partition("=")
        if not (_NAME.match(name) or _INT.match(name)) or value == "":
            raise _bad(f'dimension "{tok}" is not of the form "name=size"; write e.g. "channels=3" or '
                       '"total=n+m"', tok, offset)
        # jaxtyping reads the part after "=" (prefixes may stand on either side); the name documents
        out = _parse_token(tok, offset, value, variadic, broadcast)
        if out.kind == "fixed":
            if out.variadic:
                raise _bad(f'variadic dimension "{tok}" cannot have a fixed size; write "*{name}"', tok, offset)
            return AxisSpec("fixed", tok, name=name, value=out.value, broadcast=out.broadcast)
        return out
    if "{" in body:
        if variadic:
            raise _bad(f'variadic dimension "{tok}" must be a name; write e.g. "*batch"', tok, offset)
        return _deferred(body, tok, offset, broadcast)
    if ("," in body and "(" not in body) or "[" in body or "]" in body:
        hint = " ".join(p for p in re.split(r"[\s,\[\]]+", body) if p) or "batch seq"
        raise _bad(f'dimension "{tok}" contains "{"," if "," in body else "["}"; separate axes with spaces, '
                   f'e.g. "{hint}"', tok, offset)
    if _INT.match(body):
        if variadic:
            raise _bad(f'variadic dimension "{tok}" cannot be a number; write "*batch" or "..."', tok, offset)
        return AxisSpec("fixed", tok, value=int(body), broadcast=broadcast)
    if _NAME.match(body):
        if body.startswith("_"):  # "_" and "_name": any size, the name documents only
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
    try:
        e = _expr_of(node, tok, offset)
    except AnnotationSyntaxError:
        out = _deferred(body, tok, offset, broadcast)
        if out is None:
            raise
        return out
    s = e.as_sym()
    if s is not None:
        return AxisSpec("named", tok, name=s.name, broadcast=broadcast)
    if e.value is not None:
        if e.value <= 0:
            raise _bad(f'dimension "{tok}" is {e.value}; sizes in annotations are positive', tok, offset)
        return AxisSpec("fixed", tok, value=e.value, broadcast=broadcast)
    names = tuple(sorted(x.name for x in e.symbols()))
    return AxisSpec("expr", tok, expr=e, broadcast=broadcast, names=names)


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
    if any("," in t and "(" not in t for t in text.split()):
        hint = " ".join(p for p in re.split(r"[\s,]+", text) if p)
        tok = next(t for t in text.split() if "," in t and "(" not in t)
        raise _bad(f'dimension string "{text}" contains ","; separate axes with spaces: "{hint}"', tok,
                   text.index(tok) + tok.index(","))
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
