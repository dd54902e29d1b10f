"""torch's own layers (``nn.Linear``, ``nn.Conv2d``...): constructor arguments and calls.

The constructor call records its static arguments on the layer's type (a second carrier key), so
``self.fc = nn.Linear(d, 4 * d)`` in ``__init__`` reaches ``self.fc(x)`` in ``forward`` through the
attribute's inferred type, across methods, modules and the cache. The call then runs the core's
module rule with those arguments.
"""

from __future__ import annotations

import json
from typing import Any

from mypy.nodes import TypeInfo
from mypy.types import AnyType, Instance, Type, get_proper_type
from shapecheck._core._algebra import Expr, Sym, sym
from shapecheck._core._ops import OPAQUE, lookup
from shapecheck._core._ops._registry import Site
from shapecheck._core._parse import AnnotationSyntaxError, parse_shape
from shapecheck._core._shape import Shape
from shapecheck._core._unify import Env

from . import _arguments, _calls, _carrier, _compat, _op_hooks, _report

INIT_KEY = "__shapecheck_init__"
MODULE = _calls.MODULE


def core_name(info: TypeInfo) -> str | None:
    """The rule table's name for one of torch's layers (``torch.nn.Conv2d``), if it has a module rule."""
    for base in info.mro:
        if base.fullname.startswith("torch.nn.modules."):
            name = f"torch.nn.{base.name}"
            rule = lookup(name)
            if rule is not None and rule.module:
                return name
            return None
    return None


# -- constructor arguments on the type ---------------------------------------------------------

def _encode(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, Expr):
        return {"x": str(v), "c": sorted(s.name for s in v.symbols() if s.kind == "code")}
    if isinstance(v, (tuple, list)):
        return {"t": [_encode(x) for x in v]}
    return {"o": 1}


def _decode(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    if "t" in v:
        return tuple(_decode(x) for x in v["t"])
    if "x" in v:
        try:
            spec = parse_shape(v["x"])
        except AnnotationSyntaxError:
            return OPAQUE
        if len(spec.axes) != 1 or spec.axes[0].variadic:
            return OPAQUE
        item = spec.axes[0].to_item()
        if not isinstance(item, Expr):
            return OPAQUE
        return item.subst({Sym(n): sym(n, "code") for n in v.get("c", ())})
    return OPAQUE


def construct(ctx: Any, name: str) -> Type:
    """``nn.Conv2d(3, 64, kernel_size=7)``: the layer's type with its constructor arguments."""
    default = ctx.default_return_type
    p = get_proper_type(default)
    rule = lookup(name)
    bound = _arguments.call_arguments(ctx, None, None)
    if rule is None or bound is None or not isinstance(p, Instance):
        return default
    init = rule.bind_init(*bound)
    if init is None:
        return default
    text = json.dumps({k: _encode(v) for k, v in init.items()}, separators=(",", ":"), sort_keys=True)
    return _compat.with_extra(p, INIT_KEY, text, ctx.api.named_generic_type("builtins.str", []))


def init_of(t: Type) -> dict | None:
    p = get_proper_type(t)
    if not isinstance(p, Instance):
        return None
    raw = _compat.get_extra(p, INIT_KEY)
    if raw is None:
        return None
    try:
        return {k: _decode(v) for k, v in json.loads(raw).items()}
    except (ValueError, TypeError, AttributeError):
        return None


# -- calls ----------------------------------------------------------------------------------------

def call(ctx: Any, name: str, scope: Any) -> Type:
    """``self.conv(x)``: the module rule with the recorded constructor arguments."""
    default = ctx.default_return_type
    init = init_of(ctx.type)
    rule = lookup(name)
    bound = _arguments.call_arguments(ctx, None, scope)
    if init is None or rule is None or bound is None:
        return default
    args, kwargs = bound
    if not any(isinstance(a, Shape) and not a.is_any for a in (*args, *kwargs.values())):
        return default
    site = Site(name.rsplit(".", 1)[-1], Env(), _op_hooks.where(ctx))
    result = rule.apply(site, args, kwargs, init=init)
    for prob in site.problems:
        _report.problem(ctx.api, prob, ctx.context)
    if site.problems or not isinstance(result, Shape):
        return default
    template = _tensor_template(ctx)
    if template is None:
        return default
    out = _carrier.attach(template, result, ctx.api.named_generic_type("builtins.str", []))
    _op_hooks.check_context(ctx, result)
    return out


def _tensor_template(ctx: Any) -> Instance | None:
    """A plain ``Tensor`` instance for a call whose declared result is ``Any`` (``Module.__call__``).

    Built from an argument's type: ``named_generic_type("torch._tensor.Tensor")`` crashes mypy.
    """
    for tys in ctx.arg_types:
        for t in tys:
            p = get_proper_type(t)
            if isinstance(p, Instance) and p.type.fullname == _carrier.TENSOR:
                return _compat.without_extra(p)
            if isinstance(p, Instance) and p.type.has_base(_carrier.TENSOR):
                for base in p.type.mro:
                    if base.fullname == _carrier.TENSOR:
                        return Instance(base, [])
    p = get_proper_type(ctx.default_return_type)
    if isinstance(p, AnyType):
        return None
    return p if isinstance(p, Instance) and _carrier.is_tensor(p) else None
