"""Annotations that mypy strips of ``Annotated`` before any hook: aliases, ``cast``, TypeVar bounds.

For ``Batch = Float[Tensor, "batch d"]``, ``cast(Float[Tensor, "n"], x)`` and
``TypeVar("T", bound=Float[Tensor, "n"])`` mypy keeps only ``Tensor`` and analyses it alone. The
plugin is asked about ``torch._tensor.Tensor`` then; when that ``Tensor`` is the first argument
of a jaxtyping subscript in the statement being analysed, the dimension string is read from the
statement's syntax tree and the ``Tensor`` gets its carrier. An alias's target is made during
semantic analysis, so it carries the shape into the module's cache and interface: importers see
it cold or warm, and a changed string re-checks them.
"""

from __future__ import annotations

from typing import Any

from mypy.nodes import (
    AssignmentStmt,
    CallExpr,
    Expression,
    ExpressionStmt,
    IndexExpr,
    ListExpr,
    OpExpr,
    RefExpr,
    ReturnStmt,
    StrExpr,
    TupleExpr,
    TypeAlias,
)
from mypy.plugin import AnalyzeTypeContext
from mypy.types import Instance, Type, get_proper_type
from shapecheck._core._parse import AnnotationSyntaxError, parse_shape

from . import _annotations, _carrier, _report

ANNOTATED = _annotations.ANNOTATED


def _expressions(stmt: Any):
    if isinstance(stmt, AssignmentStmt):
        yield stmt.rvalue
    elif isinstance(stmt, (ExpressionStmt, ReturnStmt)) and stmt.expr is not None:
        yield stmt.expr


def _find(e: Expression | None, line: int, column: int, depth: int = 0) -> tuple | None:
    """(dim string, written name) of the jaxtyping subscript whose array type is at (line, column)."""
    if e is None or depth > 12:
        return None
    if isinstance(e, IndexExpr):
        idx = e.index
        if isinstance(idx, TupleExpr) and len(idx.items) == 2 and isinstance(e.base, RefExpr):
            first, second = idx.items
            if first.line == line and first.column == column and isinstance(second, StrExpr):
                name = e.base.name
                if name != "Annotated" and (not e.base.fullname or e.base.fullname in ANNOTATED):
                    return second.value, name
        return _find(e.base, line, column, depth + 1) or _find(idx, line, column, depth + 1)
    if isinstance(e, CallExpr):
        for sub in (e.callee, *e.args):
            hit = _find(sub, line, column, depth + 1)
            if hit:
                return hit
        return None
    if isinstance(e, (TupleExpr, ListExpr)):
        for sub in e.items:
            hit = _find(sub, line, column, depth + 1)
            if hit:
                return hit
        return None
    if isinstance(e, OpExpr):  # `Float[Tensor, "a"] | None`
        return _find(e.left, line, column, depth + 1) or _find(e.right, line, column, depth + 1)
    return None


def analyze_tensor(ctx: AnalyzeTypeContext) -> Type:
    """The hook for ``torch._tensor.Tensor``: plain ``Tensor``, with a carrier inside a stripped subscript."""
    t = ctx.type
    tensor = ctx.api.named_type(_carrier.TENSOR, [], line=t.line, column=t.column)
    if t.args:
        return tensor  # `Tensor` is not generic; mypy would report the arguments and use it bare
    stmt = getattr(getattr(ctx.api, "api", None), "statement", None)
    hit = None
    for e in _expressions(stmt):
        hit = _find(e, t.line, t.column)
        if hit:
            break
    if hit is None:
        return tensor
    text, written = hit
    try:
        spec = parse_shape(text)
    except AnnotationSyntaxError as e:
        _report.annotation(ctx.api, f'{e.message} in `{written}[..., "{text}"]`', ctx.context)
        return tensor
    sem = getattr(ctx.api, "api", None)
    path = getattr(getattr(sem, "errors", None), "file", None) or "?"
    where = f"annotation, {path.rsplit('/', 1)[-1]}:{t.line}"
    return _carrier.attach_text(tensor, text, tuple(where for _ in spec.axes),
                                ctx.api.named_type("builtins.str", []))


def alias_type(alias: TypeAlias) -> Type:
    """A use of a shaped alias: its target with the carrier (mypy would make a fresh instance)."""
    t = get_proper_type(alias.target)
    return t.copy_modified() if isinstance(t, Instance) else alias.target
