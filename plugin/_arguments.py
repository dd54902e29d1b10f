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
    OpExpr,
    SliceExpr,
    StrExpr,
    TupleExpr,
    UnaryExpr,
    Var,
)
from mypy.types import Instance, LiteralType, Type, UnionType, get_proper_type
from shapecheck._core._algebra import Expr, const, floordiv
from shapecheck._core._unify import code_size
from shapecheck._core._ops import OPAQUE
from shapecheck._core._shape import ANY_SHAPE

from . import _carrier, _scope


def label(e: Expression | None) -> str | None:
    """A short spelling of an operand for messages (`q`, `self.w`), or None."""
    if isinstance(e, NameExpr):
        return f"`{e.name}`"
    if isinstance(e, MemberExpr) and isinstance(e.expr, (NameExpr, MemberExpr)):
        inner = label(e.expr)
        return f"`{inner.strip('`')}.{e.name}`" if inner else None
    return None


def is_stale(e: Expression | None, t: Type | None, scope: Any) -> bool:
    """Whether ``t``, the type of the name ``e``, may belong to an older value of the variable.

    mypy keeps a variable's declared (or first inferred) type when a new value is ``Any``
    (``x = self.conv(x)``) or a tensor of unknown shape, and also when the new value has the very
    same type. So a variable re-bound before ``e`` whose type is still that first type is trusted
    only when every such re-binding was an assignment whose value the hooks inferred to have that
    same shape.
    """
    if scope is None or not isinstance(e, NameExpr) or not isinstance(e.node, Var):
        return False
    if t is not e.node.type:
        return False  # narrowed by an assignment of a known type
    c = _carrier.carried(t)
    for b in scope.bindings.get(e.node, ())[1:]:
        if b.line >= e.line:
            continue
        if b.rvalue is None or b.index is not None:
            return True
        seen = scope.inferred.get(_scope.key(b.rvalue))
        if seen is None or c is None or seen.dims != c.shape.dims:
            return True
    return False


def size_of(e: Expression, scope: Any) -> Any:
    """An int variable bound once from a tensor's shape (``b, s, d = x.shape``, ``n = x.size(1)``,
    ``d = x.shape[-1]``): that axis of the tensor, or None."""
    if scope is None or not isinstance(e, NameExpr) or not isinstance(e.node, Var):
        return None
    bs = scope.bindings.get(e.node, ())
    if len(bs) != 1 or bs[0].rvalue is None:
        return None
    rv, index = bs[0].rvalue, bs[0].index
    base = None
    if index is not None:
        if isinstance(rv, MemberExpr) and rv.name == "shape":
            base = rv.expr
        elif isinstance(rv, CallExpr) and isinstance(rv.callee, MemberExpr) and rv.callee.name == "size" \
                and not rv.args:
            base = rv.callee.expr
    elif isinstance(rv, IndexExpr) and isinstance(rv.base, MemberExpr) and rv.base.name == "shape":
        base, index = rv.base.expr, _int_of(rv.index)
    elif isinstance(rv, CallExpr) and isinstance(rv.callee, MemberExpr) and rv.callee.name == "size" \
            and len(rv.args) == 1:
        base, index = rv.callee.expr, _int_of(rv.args[0])
    if base is None or index is None or not isinstance(base, NameExpr) or not isinstance(base.node, Var):
        return None
    if len(scope.bindings.get(base.node, ())) != 1:
        return None  # the tensor was re-bound: which value's shape is unclear
    shape = _carrier.shape_of_type(base.node.type)
    if shape is None or shape.is_any:
        return None
    d = shape.axis(index)
    return d if isinstance(d, Expr) else None


def int_value(e: Expression | None, scope: Any) -> Any:
    """An int expression as an int or a size expression (``4 * d_model``, ``d // n_heads``), or None.

    Names are sizes from code: one bound from a tensor's shape is that axis, any other int name is
    the symbol of its name (the name bridge: ``d_model``, ``self.d_model`` and ``cfg.d_model`` are
    the axis "d_model").
    """
    if isinstance(e, IntExpr):
        return e.value
    if isinstance(e, UnaryExpr) and e.op == "-":
        v = int_value(e.expr, scope)
        return -v if v is not None else None
    if isinstance(e, (NameExpr, MemberExpr)):
        t = e.node.type if isinstance(e.node, Var) else None
        lit = _literal(t)
        if isinstance(lit, int) and not isinstance(lit, bool):
            return lit
        if isinstance(e.node, Var) and not _is_int(t):
            return None
        d = size_of(e, scope)
        return d if d is not None else code_size(e.name)
    if isinstance(e, OpExpr) and e.op in ("+", "-", "*", "//"):
        a, b = int_value(e.left, scope), int_value(e.right, scope)
        if a is None or b is None:
            return None
        if e.op == "//":
            if isinstance(a, int) and isinstance(b, int):
                return a // b if b else None
            return floordiv(a if isinstance(a, Expr) else const(a), b if isinstance(b, Expr) else const(b))
        return a + b if e.op == "+" else (a - b if e.op == "-" else a * b)
    return None


def _int_of(e: Expression) -> int | None:
    if isinstance(e, IntExpr):
        return e.value
    if isinstance(e, UnaryExpr) and e.op == "-" and isinstance(e.expr, IntExpr):
        return -e.expr.value
    return None


def tensor_shape(e: Expression | None, t: Type | None, scope: Any):
    """The shape of a tensor operand (``ANY_SHAPE`` when unknown or stale), None if not a tensor."""
    shape = _carrier.shape_of_type(t)
    if shape is not None and not shape.is_any and is_stale(e, t, scope):
        return ANY_SHAPE
    return shape


def value(e: Expression | None, t: Type | None, scope: Any = None) -> Any:
    """The core's value for one argument expression of type ``t``."""
    if t is None and isinstance(e, (NameExpr, MemberExpr)) and isinstance(e.node, Var):
        t = e.node.type  # items of a list or tuple display (`torch.cat([a, b])`)
    shape = tensor_shape(e, t, scope)
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
        items = tuple(value(it, None, scope) for it in e.items)
        return items if isinstance(e, TupleExpr) else list(items)
    if isinstance(e, SliceExpr):
        parts = [value(p, None) if p is not None else None for p in (e.begin_index, e.end_index, e.stride)]
        return slice(*parts)
    lit = _literal(t)
    if lit is not OPAQUE:
        return lit
    if _is_int(t) or isinstance(e, OpExpr):
        n = int_value(e, scope)
        if n is not None:
            return n
    if _is_number(t):
        # a float whose value is unknown (`math.sqrt(d)`): certainly a scalar, unlike OPAQUE
        return 1.0
    return OPAQUE


def _literal(t: Type | None) -> Any:
    p = get_proper_type(t) if t is not None else None
    if isinstance(p, Instance) and p.last_known_value is not None:
        p = p.last_known_value
    if isinstance(p, LiteralType) and isinstance(p.value, (int, str)):
        return p.value
    return OPAQUE


def _is_number(t: Type | None) -> bool:
    p = get_proper_type(t) if t is not None else None
    return isinstance(p, Instance) and p.type.fullname in ("builtins.float", "builtins.complex")


def _is_int(t: Type | None) -> bool:
    p = get_proper_type(t) if t is not None else None
    return isinstance(p, Instance) and p.type.fullname == "builtins.int"


def call_arguments(ctx: Any, receiver: Any = None, scope: Any = None) -> tuple | None:
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
            v = value(e, types.get(id(e)), scope)
            if kind == ARG_POS:
                args.append(v)
            elif kind == ARG_NAMED and name is not None:
                kwargs[name] = v
            else:
                return None
        return tuple(args), kwargs
    if isinstance(node, IndexExpr):
        args.append(value(node.index, types.get(id(node.index)), scope))
        return tuple(args), kwargs
    # operators (`a @ b` is a.__matmul__(b), or b.__rmatmul__(a)): the other operand
    for e in (e for exprs in ctx.args for e in exprs):
        args.append(value(e, types.get(id(e)), scope))
    return tuple(args), kwargs



def receiver(ctx: Any, method: str, scope: Any) -> Any:
    """The tensor a method is called on, as a core value labelled with its spelling."""
    node = ctx.context
    if isinstance(node, CallExpr) and isinstance(node.callee, MemberExpr):
        expr = node.callee.expr
    elif isinstance(node, OpExpr):
        reverse = method.startswith("__r") and method != "__rshift__"
        expr = node.right if reverse else node.left
    elif isinstance(node, IndexExpr):
        expr = node.base
    else:
        expr = None
    t = ctx.type
    if isinstance(expr, (NameExpr, MemberExpr)) and isinstance(expr.node, Var) \
            and isinstance(get_proper_type(expr.node.type), UnionType) and _carrier.is_tensor(expr.node.type):
        # mypy calls the hook once per member of a union: the receiver is any of them
        t = expr.node.type
    return value(expr, t, scope)
