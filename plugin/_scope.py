"""What the hooks know about the function being checked: every binding of its variables, and the
shapes the hooks inferred for expressions of its module (mypy gives hooks no statement context)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mypy.nodes import (
    AssignmentStmt,
    Block,
    Expression,
    ForStmt,
    IfStmt,
    NameExpr,
    OperatorAssignmentStmt,
    TryStmt,
    Var,
    WhileStmt,
    WithStmt,
)


@dataclass(frozen=True)
class Binding:
    """One binding of a variable: at ``line`` (a loop's first line inside a loop), to ``rvalue``
    (None when not a plain assignment), or to element ``index`` of ``rvalue`` (tuple unpacking)."""

    line: int
    rvalue: Expression | None = None
    index: int | None = None


@dataclass
class Scope:
    bindings: dict = field(default_factory=dict)  # Var -> [Binding] in source order
    inferred: dict = field(default_factory=dict)  # expression key -> Shape, for this module


def key(e: Any) -> tuple:
    return (e.line, e.column, getattr(e, "end_line", None), getattr(e, "end_column", None))


def statements(block: Block | None, loop_line: int | None = None):
    """(statement, line of the outermost enclosing loop or None) of a body, nested functions excluded."""
    if block is None:
        return
    for s in block.body:
        yield s, loop_line
        if isinstance(s, IfStmt):
            for b in (*s.body, s.else_body):
                yield from statements(b, loop_line)
        elif isinstance(s, (WhileStmt, ForStmt)):
            inner = loop_line if loop_line is not None else s.line
            yield from statements(s.body, inner)
            yield from statements(s.else_body, inner)
        elif isinstance(s, WithStmt):
            yield from statements(s.body, loop_line)
        elif isinstance(s, TryStmt):
            yield from statements(s.body, loop_line)
            for h in s.handlers:
                yield from statements(h, loop_line)
            yield from statements(s.else_body, loop_line)
            yield from statements(s.finally_body, loop_line)


def bindings(fn: Any) -> dict:
    """Every binding of each variable of ``fn``: ``{Var: [Binding, ...]}`` in source order.

    A parameter is bound at the ``def``; an assignment inside a loop counts at the loop's first
    line, since a later iteration sees it before the statements above it.
    """
    out: dict = {}

    def bind(e: Expression, b: Binding) -> None:
        if isinstance(e, NameExpr) and isinstance(e.node, Var):
            out.setdefault(e.node, []).append(b)

    def target(e: Expression, line: int, rvalue: Expression | None) -> None:
        if isinstance(e, NameExpr):
            bind(e, Binding(line, rvalue))
        elif hasattr(e, "items"):
            for i, it in enumerate(e.items):
                if isinstance(it, NameExpr):
                    bind(it, Binding(line, rvalue, i))
                else:
                    target(it, line, None)

    for arg in fn.arguments:
        out.setdefault(arg.variable, []).append(Binding(fn.line))
    for s, loop_line in statements(fn.body):
        at = loop_line if loop_line is not None else s.line
        if isinstance(s, AssignmentStmt):
            for lv in s.lvalues:
                target(lv, at, s.rvalue)
        elif isinstance(s, OperatorAssignmentStmt):
            target(s.lvalue, at, None)
        elif isinstance(s, ForStmt):
            target(s.index, s.line, None)
            target(s.index, s.line, None)  # a loop variable changes every iteration
        elif isinstance(s, WithStmt):
            for t in s.target:
                if t is not None:
                    target(t, at, None)
    for v in out.values():
        v.sort(key=lambda b: b.line)
    return out
