"""Calls of annotated functions, methods and ``nn.Module`` instances (to their ``forward``).

The callee's axis names are instantiated afresh at every call, bound to the caller's axes
(``match_spec`` filling a ``Bindings``), and its return annotation is instantiated with them.
"""

from __future__ import annotations

from typing import Any

from mypy.nodes import Decorator, FuncDef, OverloadedFuncDef, TypeInfo
from mypy.types import CallableType, Instance, Type, get_proper_type
from shapecheck._core._wording import argument_axis_mismatch, argument_rank_mismatch, binding_note, qd
from shapecheck._core._shape import Shape
from shapecheck._core._unify import Bindings, Env, instantiate, match_spec

from . import _arguments, _carrier, _op_hooks, _report

MODULE = "torch.nn.modules.module.Module"


def callable_of(node: Any) -> CallableType | None:
    if isinstance(node, Decorator):
        node = node.func
    if isinstance(node, FuncDef):
        t = get_proper_type(node.type) if node.type is not None else None
        return t if isinstance(t, CallableType) else None
    return None


def is_annotated(sig: CallableType | None) -> bool:
    if sig is None:
        return False
    return any(_carrier.has_carrier(t) for t in (*sig.arg_types, sig.ret_type))


def forward_of(info: TypeInfo) -> CallableType | None:
    """``forward`` of an ``nn.Module`` subclass, when it has shape annotations."""
    if not info.has_base(MODULE):
        return None
    node = info.get_method("forward")
    if node is None or isinstance(node, OverloadedFuncDef):
        return None
    sig = callable_of(node)
    return sig if is_annotated(sig) else None


def bound(sig: CallableType) -> CallableType:
    """A method's signature without ``self``."""
    return sig.copy_modified(arg_types=sig.arg_types[1:], arg_kinds=sig.arg_kinds[1:],
                             arg_names=sig.arg_names[1:])


_LOOSE = ()  # marks a broadcastable variadic: matched per argument, unknown in the result


def _broadcast_variadics(spec) -> frozenset:
    return frozenset("*" + a.name for a in spec.axes if a.variadic and a.broadcast and a.name)


def check_call(ctx: Any, sig: CallableType, name: str, scope: Any = None) -> Type:
    """Match the actual tensors against ``sig``'s annotations; the instantiated return shape."""
    default = ctx.default_return_type
    inst = Bindings()
    env = Env()
    reported = False
    for i, (formal_t, actual_ts, actual_es) in enumerate(zip(sig.arg_types, ctx.arg_types, ctx.args)):
        c = _carrier.carried(formal_t)
        if c is None:
            continue
        pname = sig.arg_names[i] if i < len(sig.arg_names) else None
        for t, e in zip(actual_ts, actual_es):
            shape = _arguments.tensor_shape(e, t, scope)
            if shape is None or shape.is_any:
                continue
            lab = _arguments.label(e) or f"argument `{pname}`"
            loose = _broadcast_variadics(c.spec)
            problems = match_spec(c.spec, shape, env, inst, provenance=f"{lab} (line {e.line})")
            for m in [m for m in problems if not (m.name and m.name in loose)][:1]:
                reported = True
                _mismatch(ctx, name, pname, lab, c, shape, m, e)
            for n in loose:
                inst.segments[n[1:]] = _LOOSE  # `*#batch` broadcasts between arguments: its size is not one binding
    ret = _carrier.carried(sig.ret_type)
    if ret is None:
        return default
    # the declared return type carries the callee's own names: never let them reach the caller
    result = instantiate(ret.spec, Bindings(inst.sizes, {k: v for k, v in inst.segments.items() if v is not _LOOSE}))
    return _op_hooks.with_result(ctx, None if reported or result.is_any else result)


def _mismatch(ctx: Any, fname: str, pname: str | None, lab: str, c: Any, shape: Shape, m: Any, e: Any) -> None:
    """The first argument that contradicts the callee's annotation, in the linter's words (SHP105)."""
    if m.kind == "rank":
        _report.rank(ctx.api, argument_rank_mismatch(fname, pname, c.text, m.actual, m.expected), e)
        return
    variadic = bool(m.name and m.name.startswith("*"))
    idx = None if variadic or m.index is None else m.index
    notes = []
    if m.bound_at:
        notes.append(binding_note(m.name, fname, m.expected, m.bound_at))
    origin = shape.origin(idx) if idx is not None else None
    if origin:
        notes.append(f"{qd(m.actual)} comes from {origin} (in {lab})")
    _report.mismatch(ctx.api, argument_axis_mismatch(fname, pname, m.name, m.actual, m.expected,
                                                     idx if not variadic else None, shape.rank), e, notes)




def module_signature(ctx: Any) -> Any:
    """``Module.__call__`` of a module whose ``forward`` has shape annotations: ``forward``'s signature."""
    t = get_proper_type(ctx.type)
    if isinstance(t, Instance):
        fwd = forward_of(t.type)
        if fwd is not None:
            return bound(fwd).copy_modified(fallback=ctx.default_signature.fallback, name="forward")
    return ctx.default_signature
