"""Result shapes of torch operations through the core's op-rule table.

mypy names a method by the type it is called on (``torch._tensor.Tensor.transpose``) and torch's
functions by where the stubs define them (``torch._C._VariableFunctions.matmul``,
``torch.functional.einsum``); :func:`core_name` maps those to the table's qualified names
(``torch.Tensor.transpose``, ``torch.matmul``, ``torch.einsum``).
"""

from __future__ import annotations

from typing import Any

from mypy.types import Instance, Type, get_proper_type
from shapecheck._core._ops import lookup
from shapecheck._core._ops._registry import Site
from shapecheck._core._shape import Shape
from shapecheck._core._unify import Env
from shapecheck._core._wording import RETURN, op_name

from . import _arguments, _carrier, _report

_FUNCTION_PREFIXES = (
    ("torch._C._VariableFunctions.", "torch."),
    ("torch.functional.", "torch."),
    ("torch._C._nn.", "torch.nn.functional."),
    ("torch._C._linalg.", "torch.linalg."),
    ("torch._C._special.", "torch.special."),
    ("torch._C._fft.", "torch.fft."),
    ("torch.nn.functional.", "torch.nn.functional."),
    ("torch.linalg.", "torch.linalg."),
    ("einops.einops.", "einops."),
    ("torch.", "torch."),
)


def function_core_name(fullname: str) -> str | None:
    """The table's name for a function mypy calls ``fullname``, when the table has a rule."""
    for prefix, repl in _FUNCTION_PREFIXES:
        if fullname.startswith(prefix):
            name = repl + fullname[len(prefix):]
            if lookup(name) is not None:
                return name
    return None


def method_core_name(method: str) -> str | None:
    name = f"torch.Tensor.{method}"
    return name if lookup(name) is not None else None


def where(ctx: Any) -> str:
    path = getattr(ctx.api, "path", "?")
    return f"{path.rsplit('/', 1)[-1]}:{ctx.context.line}"


def run_rule(qualname: str, ctx: Any, receiver: Any = None, scope: Any = None) -> Type:
    """Apply the rule for ``qualname`` to the call in ``ctx``; report its problems; attach the result."""
    rule = lookup(qualname)
    default = ctx.default_return_type
    if rule is None:
        return default
    bound = _arguments.call_arguments(ctx, receiver, scope)
    if bound is None:
        return default
    args, kwargs = bound
    if not any(_has_shape(a) for a in (*args, *kwargs.values())):
        return default
    site = Site(op_name(qualname), Env(), where(ctx))
    result = rule.apply(site, args, kwargs)
    for p in site.problems:
        _report.problem(ctx.api, p, ctx.context)
    if site.problems:
        return default  # the result of a reported mismatch is unknown: no cascade of errors
    return with_result(ctx, result)


def _has_shape(v: Any) -> bool:
    if isinstance(v, Shape):
        return not v.is_any
    if isinstance(v, (list, tuple)):
        return any(_has_shape(x) for x in v)
    return False


def run_attribute(qualname: str, ctx: Any, scope: Any = None) -> Type:
    """A shape-valued property (``x.T``, ``x.mT``): the rule with the receiver as its only input."""
    from . import _arguments

    rule = lookup(qualname)
    receiver = _arguments.value(getattr(ctx.context, "expr", None), ctx.type, scope)
    if rule is None or not _has_shape(receiver):
        return ctx.default_attr_type
    site = Site(op_name(qualname), Env(), where(ctx))
    result = rule.apply(site, (receiver,), {})
    for p in site.problems:
        _report.problem(ctx.api, p, ctx.context)
    if site.problems or not isinstance(result, Shape):
        return ctx.default_attr_type
    str_type = ctx.api.named_generic_type("builtins.str", [])
    return _carrier.attach(ctx.default_attr_type, result, str_type)


def with_result(ctx: Any, result: Any) -> Type:
    """The call's type carrying ``result`` (a Shape, a tuple of shapes, or None)."""
    default = ctx.default_return_type
    str_type = ctx.api.named_generic_type("builtins.str", [])
    if isinstance(result, Shape):
        out = _carrier.attach(default, result, str_type)
        check_context(ctx, result)
        return out
    if isinstance(result, tuple) and result and all(isinstance(s, Shape) for s in result):
        fallback = ctx.api.named_generic_type("builtins.tuple", [get_first_item(default)])
        return _carrier.attach_many(default, result, str_type, fallback)
    return _carrier.attach(default, None, str_type)


def get_first_item(t: Type) -> Type:
    p = get_proper_type(t)
    if isinstance(p, Instance) and p.args:
        return p.args[0]
    items = getattr(p, "items", None)
    if items:
        return items[0]
    return t


def check_context(ctx: Any, result: Shape) -> None:
    """``return <expr>``: the result against the enclosing function's own return annotation.

    The expression must be the very expression of a ``return`` of the function being checked
    (mypy checks a returned call once with the declared type as context, discards those errors
    and infers it again without context, so the context alone cannot tell). A callee's parameter
    annotation, whose names are the callee's, is never matched against the caller's axes here.
    """
    from . import _compat, _returns

    stack = _compat.return_type_stack(ctx.api)
    if not stack:
        return
    c = _carrier.carried(stack[-1])
    if c is None:
        return
    fn = _compat.current_function(ctx.api)
    if fn is None or not any(ctx.context is e for e in _returns.returned_expressions(fn)):
        return
    _returns.check_against(ctx.api, c, result, ctx.context, "the return value", RETURN, _returns.own_names(fn))


def reveal(ctx: Any, scope: Any) -> Type:
    """``shapecheck.reveal_shape(expr)``: a note with the shape in jaxtyping syntax."""
    if not (ctx.arg_types and ctx.arg_types[0]):
        return ctx.default_return_type
    from mypy.types import AnyType

    t = ctx.arg_types[0][0]
    e = ctx.args[0][0] if ctx.args and ctx.args[0] else None
    shape = _arguments.tensor_shape(e, t, scope)
    c = _carrier.carried(t)
    if isinstance(get_proper_type(t), AnyType):
        _report.reveal(ctx.api, "...", ctx.context)
    elif shape is None:
        _report.reveal(ctx.api, "not a tensor", ctx.context)
    else:
        _report.reveal(ctx.api, c.text if c is not None and not shape.is_any else "...", ctx.context)
    return t
