"""Values against their own function's annotations: ``return y`` and ``y: Float[...] = expr``.

mypy has no statement hook. An operation written directly in a ``return`` is checked by its hook
(the declared return type is its type context). Everything else is checked by a post-pass that mypy
runs per module after type checking (``get_additional_indirect_deps``): names assigned once carry
their inferred type on their ``Var``, and results of operations are recorded by the hooks.
"""

from __future__ import annotations

from typing import Any

from mypy.nodes import (
    AssignmentStmt,
    ClassDef,
    Decorator,
    Expression,
    FuncDef,
    IfStmt,
    MemberExpr,
    MypyFile,
    NameExpr,
    OverloadedFuncDef,
    ReturnStmt,
    Statement,
    Var,
)
from shapecheck._core._algebra import sym
from shapecheck._core._wording import LOCAL, RETURN, qd, spec_axis_mismatch, spec_rank_mismatch
from shapecheck._core._shape import Shape
from shapecheck._core._unify import Bindings, Env, match_spec

from . import _carrier, _compat, _report, _scope


def own_names(fn: Any, with_return: bool = False) -> frozenset:
    """The axis names of ``fn``'s parameter annotations (and its return annotation)."""
    t = getattr(fn, "type", None)
    types = list(getattr(t, "arg_types", None) or ())
    if with_return and t is not None:
        types.append(t.ret_type)
    names: set = set()
    for a in types:
        c = _carrier.carried(a)
        if c is not None:
            names |= c.spec.names()
    return frozenset(names)


def describe(who: str, kind: str, c: _carrier.Carried, shape: Shape, rigid: frozenset | None = None) -> list:
    """The first way (message, notes, is_rank) ``shape`` contradicts the annotation ``c``, if any, in the
    linter's words (``who``: "the return value" or a variable; ``kind``: ``RETURN`` or ``LOCAL``).

    ``rigid`` are the function's own axis names (its parameters'). A name of ``c`` outside them
    (``-> Float[Tensor, "*bs output_dim"]`` over ``"*bs input_dim"``) is bound by the value, as
    jaxtyping binds it; None makes every name rigid.
    """
    out: list = []
    inst = None
    if rigid is not None:
        inst = Bindings({n: sym(n) for n in rigid})
    for m in match_spec(c.spec, shape, Env(), inst)[:1]:
        if m.kind == "rank":
            out.append((spec_rank_mismatch(who, kind, c.text, m.actual, m.expected), (), True))
            continue
        idx = m.index if m.index is not None else 0
        notes = []
        origin = shape.origin(idx)
        if origin:
            notes.append(f"{qd(m.actual)} comes from {origin}")
        ann = c.origins[0] if c.origins else None
        if ann:
            notes.append(f'"{c.text}" is the {ann}')
        out.append((spec_axis_mismatch(who, kind, c.text, m.actual, m.expected, idx, shape.rank), tuple(notes), False))
    return out


def check_against(api: Any, c: _carrier.Carried, shape: Shape, context: Any, who: str, kind: str,
                  rigid: frozenset | None = None) -> None:
    """Report (through a checker API) every way ``shape`` contradicts the annotation ``c``."""
    for message, notes, is_rank in describe(who, kind, c, shape, rigid):
        (_report.rank if is_rank else _report.mismatch)(api, message, context, notes)


# -- the post-pass ------------------------------------------------------------------------------

def post_pass(tree: MypyFile, errors: Any, inferred: dict) -> None:
    """Check returns and annotated assignments of every function in ``tree``."""
    for stmt in tree.defs:
        _visit_top(stmt, errors, inferred)


def _visit_top(stmt: Statement, errors: Any, inferred: dict) -> None:
    if isinstance(stmt, FuncDef):
        _check_function(stmt, errors, inferred)
    elif isinstance(stmt, Decorator):
        _check_function(stmt.func, errors, inferred)
    elif isinstance(stmt, OverloadedFuncDef):
        for item in stmt.items:
            _visit_top(item, errors, inferred)
    elif isinstance(stmt, ClassDef):
        for s in stmt.defs.body:
            _visit_top(s, errors, inferred)
    elif isinstance(stmt, IfStmt):
        for b in (*stmt.body, stmt.else_body):
            if b is not None:
                for s in b.body:
                    _visit_top(s, errors, inferred)


def _statements(block: Any):
    """Every statement of a function body, nested blocks included, nested functions excluded."""
    return (s for s, _ in _scope.statements(block))


def returned_expressions(fn: Any) -> list:
    """The expressions of the ``return`` statements of ``fn`` (not of nested functions)."""
    return [s.expr for s in _statements(getattr(fn, "body", None))
            if isinstance(s, ReturnStmt) and s.expr is not None]


def _shape_of(e: Expression, counts: dict, inferred: dict):
    k = _scope.key(e)
    if k in inferred:
        return inferred[k]
    if isinstance(e, NameExpr) and isinstance(e.node, Var) and len(counts.get(e.node, ())) == 1:
        c = _carrier.carried(e.node.type)
        return c.shape if c is not None else None
    return None


def _check_function(fn: FuncDef, errors: Any, inferred: dict) -> None:
    t = fn.type
    ret = _carrier.carried(getattr(t, "ret_type", None))
    counts: dict = {}
    computed = False
    for s in _statements(fn.body):
        if not computed and (isinstance(s, ReturnStmt) and ret is not None or
                             isinstance(s, AssignmentStmt) and s.type is not None):
            counts, computed = _scope.bindings(fn), True
        if isinstance(s, (FuncDef, Decorator, ClassDef)):
            _visit_top(s, errors, inferred)
        elif isinstance(s, ReturnStmt) and s.expr is not None and ret is not None:
            if isinstance(s.expr, (NameExpr, MemberExpr)):
                shape = _shape_of(s.expr, counts, inferred)
                if shape is not None:
                    _report_all(errors, "the return value", RETURN, ret, shape.with_label(f"`{s.expr.name}`"), s.expr,
                                own_names(fn))
        elif isinstance(s, AssignmentStmt) and s.type is not None and len(s.lvalues) == 1:
            declared = _carrier.carried(s.type)
            if declared is None:
                continue
            shape = _shape_of(s.rvalue, counts, inferred)
            if shape is not None:
                lv = s.lvalues[0]
                name = getattr(lv, "name", "the target")
                _report_all(errors, f"`{name}`", LOCAL, declared, shape, s.rvalue,
                            own_names(fn, with_return=True))


def _report_all(errors: Any, who: str, kind: str, c: _carrier.Carried, shape: Shape, node: Expression,
                rigid: frozenset) -> None:
    for message, notes, is_rank in describe(who, kind, c, shape, rigid):
        code = _report.SHAPE_RANK if is_rank else _report.SHAPE_MISMATCH
        _compat.report_error(errors, node.line, node.column, message, code)
        for n in notes:
            _compat.report_error(errors, node.line, node.column, n, code, severity="note")
