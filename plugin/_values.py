"""Call arguments as the core's values: shapes for tensors, ints/Exprs, strs, bools, OPAQUE."""

from __future__ import annotations

from typing import Any

from mypy.nodes import (
    ARG_NAMED,
    ARG_POS,
    CallExpr,
    EllipsisExpr,
    Expression,
    FloatExpr,
    IndexExpr,
    IntExpr,
    ListExpr,
    MemberExpr,
    NameExpr,
    SliceExpr,
    StrExpr,
    TupleExpr,
    UnaryExpr,
    Var,
)
from mypy.types import Instance, LiteralType, Type, get_proper_type

from shapecheck._algebra import sym
from shapecheck._ops import OPAQUE
from shapecheck._shape import ANY_SHAPE

from . import _carrier


def label(e: Expression | None) -> str | None:
    """A short spelling of an operand for messages (`q`, `self.w`), or None."""
    if isinstance(e, NameExpr):
        return f"`{e.name}`"
    if isinstance(e, MemberExpr) and isinstance(e.expr, (NameExpr, MemberExpr)):
        inner = label(e.expr)
        return f"`{inner.strip('`')}.{e.name}`" if inner else None
    return None


def is_stale(e: Expression | None, t: Type | None, counts: dict | None) -> bool:
    """Whether ``t``, the type of the name ``e``, may be out of date.

    A variable re-assigned before ``e`` whose type is still its declared (or first inferred) type
    was not narrowed by that assignment: mypy keeps the declared type when the new value is
    ``Any`` (``x = self.conv(x)``) or a tensor of unknown shape, so the shape it carries may
    belong to an older value. ``counts`` maps variables to their binding lines.
    """
    if counts is None or not isinstance(e, NameExpr) or not isinstance(e.node, Var):
        return False
    lines = counts.get(e.node, ())
    return t is e.node.type and any(line < e.line for line in lines[1:])


def tensor_shape(e: Expression | None, t: Type | None, counts: dict | None):
    """The shape of a tensor operand (``ANY_SHAPE`` when unknown or stale), None if not a tensor."""
    shape = _carrier.shape_of_type(t)
    if shape is not None and not shape.is_any and is_stale(e, t, counts):
        return ANY_SHAPE
    return shape


def value(e: Expression | None, t: Type | None, counts: dict | None = None) -> Any:
    """The core's value for one argument expression of type ``t``."""
    if t is None and isinstance(e, (NameExpr, MemberExpr)) and isinstance(e.node, Var):
        t = e.node.type  # items of a list or tuple display (`torch.cat([a, b])`)
    shape = tensor_shape(e, t, counts)
    if shape is not None:
        lab = label(e)
        return shape.with_label(lab) if lab else shape
    if e is None:
        return _literal(t)
    if isinstance(e, IntExpr):
        return e.value
    if isinstance(e, UnaryExpr) and e.op == "-" and isinstance(e.expr, IntExpr):
        return -e.expr.value
    if isinstance(e, StrExpr):
        return e.value
    if isinstance(e, FloatExpr):
        return e.value
    if isinstance(e, EllipsisExpr):
        return Ellipsis
    if isinstance(e, NameExpr) and e.fullname in ("builtins.True", "builtins.False", "builtins.None"):
        return {"builtins.True": True, "builtins.False": False, "builtins.None": None}[e.fullname]
    if isinstance(e, (TupleExpr, ListExpr)):
        items = tuple(value(it, None, counts) for it in e.items)
        return items if isinstance(e, TupleExpr) else list(items)
    if isinstance(e, SliceExpr):
        parts = [value(p, None) if p is not None else None for p in (e.begin_index, e.end_index, e.stride)]
        return slice(*parts)
    lit = _literal(t)
    if lit is not OPAQUE:
        return lit
    if isinstance(e, (NameExpr, MemberExpr)) and _is_int(t):
        # the name bridge: `d_model`, `self.d_model` and `cfg.d_model` are the axis "d_model"
        return sym(e.name, "code")
    return OPAQUE


def _literal(t: Type | None) -> Any:
    p = get_proper_type(t) if t is not None else None
    if isinstance(p, Instance) and p.last_known_value is not None:
        p = p.last_known_value
    if isinstance(p, LiteralType) and isinstance(p.value, (int, str)):
        return p.value
    return OPAQUE


def _is_int(t: Type | None) -> bool:
    p = get_proper_type(t) if t is not None else None
    return isinstance(p, Instance) and p.type.fullname == "builtins.int"


def call_arguments(ctx: Any, receiver: Any = None, counts: dict | None = None) -> tuple | None:
    """(args, kwargs) in the order of the call's source, the receiver first for methods.

    None when the call spreads ``*args``/``**kwargs`` (the binding is not static).
    """
    types: dict = {}
    for exprs, tys in zip(ctx.args, ctx.arg_types):
        for e, t in zip(exprs, tys):
            types[id(e)] = t
    node = ctx.context
    args: list = [] if receiver is None else [receiver]
    kwargs: dict = {}
    if isinstance(node, CallExpr):
        for e, kind, name in zip(node.args, node.arg_kinds, node.arg_names):
            v = value(e, types.get(id(e)), counts)
            if kind == ARG_POS:
                args.append(v)
            elif kind == ARG_NAMED and name is not None:
                kwargs[name] = v
            else:
                return None
        return tuple(args), kwargs
    if isinstance(node, IndexExpr):
        args.append(value(node.index, types.get(id(node.index)), counts))
        return tuple(args), kwargs
    # operators (`a @ b` is a.__matmul__(b), or b.__rmatmul__(a)): the other operand
    for e in (e for exprs in ctx.args for e in exprs):
        args.append(value(e, types.get(id(e)), counts))
    return tuple(args), kwargs

