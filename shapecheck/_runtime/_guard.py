"""``guard``: the decorator for functions, methods and classes (``nn.Module`` ``forward``)."""

from __future__ import annotations

import functools
import inspect
import typing

from torch.compiler import is_compiling

from .._core._parse import AnnotationSyntaxError
from . import _interp
from ._codegen import generate, is_simple
from ._errors import ShapeError
from ._interp import EMPTY, Param, Plan
from ._locals import ENV_PARAM, rewrite_locals
from ._spec import ListSpec, TensorSpec, _is_jax_array, resolve_hints, spec_names, to_spec
from ._state import STATE, Counter, env_disabled, make_decide

__all__ = ["guard", "guard_function", "shape_annotated"]

_decide = make_decide(is_compiling)
_SKIP_HINTS = (object, inspect.Parameter.empty)


def _bcast(got: tuple, bound: tuple) -> bool:
    return _interp._broadcast_ok(got, bound)


def _spec_for(hint, default):
    if hint in _SKIP_HINTS or repr(hint) == "typing.Any":
        return None
    return to_spec(hint, optional=default is None)


def _display_name(fn) -> str:
    return fn.__qualname__.replace(".<locals>", "")


def _warm_expressions(spec) -> None:
    """Compile the arithmetic axes now, so that checking them later (even while torch.compile
    traces) only calls a cached function."""
    if isinstance(spec, TensorSpec):
        for a in spec.shape.axes:
            if a.expr is not None:
                _interp.expr_function(a.text.lstrip("*#?"), tuple(sorted(s.name for s in a.expr.symbols())))
    for sub in getattr(spec, "items", ()) + getattr(spec, "alternatives", ()):
        _warm_expressions(sub)
    if isinstance(spec, ListSpec):
        _warm_expressions(spec.item)


def build_plan(fn, check_locals: bool = True) -> Plan:
    name = _display_name(fn)
    hints = resolve_hints(fn)
    # a pass-through decorator below the guard (``@torch.no_grad()``) keeps the inner signature
    sig = inspect.signature(fn)
    params = []
    try:
        for p in sig.parameters.values():
            spec = _spec_for(hints[p.name], p.default) if p.name in hints else None
            params.append(Param(p.name, p.kind, p.default, spec))
        ret = _spec_for(hints["return"], EMPTY) if "return" in hints else None
    except AnnotationSyntaxError as e:
        raise AnnotationSyntaxError(f"{name}(): {e.message}", e.token, e.offset) from None
    if inspect.isgeneratorfunction(fn) or inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        ret = None  # the call returns a generator or coroutine, not the annotated value
    call_fn, locals_specs, env_param = fn, (), None
    if check_locals and getattr(fn, "__wrapped__", None) is None:  # never bypass another decorator
        rewritten = rewrite_locals(fn)
        if rewritten is not None:
            call_fn, locals_specs = rewritten
            env_param = ENV_PARAM
    names: set = set()
    for p in params:
        if p.spec is not None:
            names |= spec_names(p.spec)
    if ret is not None:
        names |= spec_names(ret)
    for _, s in locals_specs:
        names |= spec_names(s)
    var_kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    plain = {p.name for p in params if p.kind not in var_kinds}
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    first = params[0].name if params and params[0].kind in positional else None
    bridge = []
    for dim in sorted(names):
        if dim in plain and dim != first:
            bridge.append((dim, ("arg", dim)))
        elif first == "self":
            bridge.append((dim, ("self", "self")))
    for spec in [p.spec for p in params] + [ret] + [sp for _, sp in locals_specs]:
        _warm_expressions(spec)
    plan = Plan(call_fn, name, tuple(params), ret, tuple(bridge), locals_specs, env_param)
    plan.simple = is_simple(plan)
    return plan


def _mentions_array(hint, depth: int = 0) -> bool:
    if depth > 8:
        return False
    if _is_jax_array(hint):
        return True
    return any(_mentions_array(a, depth + 1) for a in typing.get_args(hint))


def shape_annotated(fn) -> bool:
    """True when an annotation of ``fn`` mentions a jaxtyping array (its dimension string is not
    parsed here, so a malformed one still counts)."""
    try:
        hints = resolve_hints(fn)
    except Exception:
        return False
    return any(_mentions_array(h) for h in hints.values())


def guard_function(fn, first=None, every=None, check_locals: bool = True):
    if getattr(fn, "__shapecheck_plan__", None) is not None:
        return fn
    plan = build_plan(fn, check_locals)
    counter = Counter(first, every)
    holder: list = []

    def slow(site, args):
        if is_compiling():
            if site < 0:  # the interpreter does not trace: step aside under torch.compile
                pos, kw = _interp.call_args(plan, args)
                return plan.fn(*pos, **kw)
            raise ShapeError(f"{plan.name}(): {holder[0][site]} (under torch.compile; run eagerly for details)")
        return _interp.call_checked(plan, args)

    def slow_ret(site, args, result):
        if is_compiling():
            raise ShapeError(f"{plan.name}(): {holder[0][site]} (under torch.compile; run eagerly for details)")
        env = _interp.check_args(plan, args)
        _interp.check_return(plan, env, result)
        return result

    wrapper = generate(plan, counter, STATE, _decide, slow, slow_ret, _bcast, every is not None,
                       interpreted=not plan.simple)
    holder.append(wrapper.__shapecheck_sites__)
    functools.update_wrapper(wrapper, fn)
    wrapper.__shapecheck_plan__ = plan
    return wrapper


def _sampling(first, every, sample):
    if sample is not None:
        if isinstance(sample, tuple) and len(sample) == 2:
            first, every = sample
        elif type(sample) is int:
            first, every = 1, sample
        else:
            raise ValueError(f"`sample` must be an int k (every k-th call) or a pair (first, every), got {sample!r}")
    if first is None and every is None:
        return None, None
    first = 1 if first is None else first
    every = 1 if every is None else every
    if type(first) is not int or first < 0 or type(every) is not int or every < 1:
        raise ValueError(f"sampling needs first >= 0 and every >= 1, got first={first!r} every={every!r}")
    return first, every


def _guard_class(cls, first, every, check_locals):
    for attr, val in list(vars(cls).items()):
        if attr.startswith("__") and attr.endswith("__"):
            continue
        fn = val.__func__ if isinstance(val, (staticmethod, classmethod)) else val
        if not inspect.isfunction(fn) or not shape_annotated(fn):
            continue
        g = guard_function(fn, first, every, check_locals)
        setattr(cls, attr, type(val)(g) if isinstance(val, (staticmethod, classmethod)) else g)
    return cls


def guard(obj=None, *, first: int | None = None, every: int | None = None, sample=None,
          check_locals: bool = True):
    """Check a function's (or every shape-annotated method's) annotations on each call.

    ``@guard``, ``@guard(first=N, every=k)`` or ``@guard(sample=(N, k))`` / ``@guard(sample=k)``.
    With the guards off (``SHAPECHECK_RUNTIME=0`` or ``set_mode("off")``) it returns ``obj``.
    """
    first, every = _sampling(first, every, sample)
    if obj is None:
        return lambda o: guard(o, first=first, every=every, check_locals=check_locals)
    if env_disabled() or STATE.mode == "off":
        return obj
    if isinstance(obj, type):
        return _guard_class(obj, first, every, check_locals)
    if isinstance(obj, (staticmethod, classmethod)):
        return type(obj)(guard_function(obj.__func__, first, every, check_locals))
    if not callable(obj) or not hasattr(obj, "__code__"):
        raise TypeError(f"guard() takes a function, a method or a class, not {type(obj).__qualname__}")
    return guard_function(obj, first, every, check_locals)
