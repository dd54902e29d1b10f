"""``guard``: the decorator for functions, methods and classes (``nn.Module`` ``forward``)."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
import warnings

from torch.compiler import is_compiling

from .._core._parse import AnnotationSyntaxError
from . import _interp, _match
from ._codegen import generate, is_simple
from ._errors import ShapeError
from ._interp import EMPTY, Param, Plan
from ._locals import ENV_PARAM, has_checked_locals, rewrite_locals
from ._spec import ListSpec, TensorSpec, _is_jax_array, resolve_hints, to_spec
from ._state import STATE, Counter, env_disabled, make_decide

__all__ = ["guard", "guard_function", "shape_annotated"]

_decide = make_decide(is_compiling)
_SKIP_HINTS = (object, inspect.Parameter.empty)


def _bcast(got: tuple, bound: tuple) -> bool:
    return _match.broadcast_ok(got, bound)


def _spec_for(hint, module):
    if hint in _SKIP_HINTS or repr(hint) == "typing.Any":
        return None
    return to_spec(hint, module=module)


def _display_name(fn) -> str:
    return fn.__qualname__.replace(".<locals>", "")


def _warm_expressions(spec) -> None:
    """Compile the arithmetic axes now, so that checking them later (even while torch.compile
    traces) only calls a cached function."""
    if isinstance(spec, TensorSpec):
        for a in spec.shape.axes:
            if a.kind == "expr":
                _match.expr_function(a.body, a.names)
    for sub in getattr(spec, "items", ()) + getattr(spec, "alternatives", ()):
        _warm_expressions(sub)
    if isinstance(spec, ListSpec):
        _warm_expressions(spec.item)


def _lenient_spec(hint, module, name: str, what: str):
    """The import hook's spec: a malformed annotation leaves that one value unchecked, with a warning."""
    try:
        return _spec_for(hint, module)
    except AnnotationSyntaxError as e:
        warnings.warn(f"shapecheck: {name}(): {what} is not checked: {e.message}", stacklevel=4)
        return None


def build_plan(fn, check_locals: bool = True, lenient: bool = False) -> Plan:
    name = _display_name(fn)
    hints = resolve_hints(fn)
    module = getattr(fn, "__module__", None)
    # a pass-through decorator below the guard (``@torch.no_grad()``) keeps the inner signature
    sig = inspect.signature(fn)
    params = []
    if lenient:
        for p in sig.parameters.values():
            spec = _lenient_spec(hints[p.name], module, name, f"argument {p.name}") if p.name in hints else None
            params.append(Param(p.name, p.kind, p.default, spec))
        ret = _lenient_spec(hints["return"], module, name, "the return value") if "return" in hints else None
    else:
        try:
            for p in sig.parameters.values():
                spec = _spec_for(hints[p.name], module) if p.name in hints else None
                params.append(Param(p.name, p.kind, p.default, spec))
            ret = _spec_for(hints["return"], module) if "return" in hints else None
        except AnnotationSyntaxError as e:
            raise AnnotationSyntaxError(f"{name}(): {e.message}", e.token, e.offset) from None
    if inspect.isgeneratorfunction(fn) or inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        ret = None  # the call returns a generator or coroutine (an async guard checks its result)
    call_fn, locals_specs, env_param = fn, (), None
    if check_locals:
        if getattr(fn, "__wrapped__", None) is None:
            rewritten = rewrite_locals(fn)
            if rewritten is not None:
                call_fn, locals_specs = rewritten
                env_param = ENV_PARAM
        elif has_checked_locals(inspect.unwrap(fn)):  # never bypass another decorator: say so
            warnings.warn(f"shapecheck: the annotated locals of {name}() are not checked: @guard sits above "
                          "another decorator; put @guard directly above the function to check them",
                          stacklevel=4)
    for spec in [p.spec for p in params] + [ret] + [sp for _, sp in locals_specs]:
        _warm_expressions(spec)
    defaulted = tuple(p.name for p in params if p.spec is not None and p.default is not EMPTY)
    plan = Plan(call_fn, name, tuple(params), ret, locals_specs, env_param, defaulted=defaulted)
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


def _async_guard(plan: Plan, counter, fn):
    """The guard of an ``async def``: arguments checked at the call, the awaited result against the
    return annotation."""
    sig = inspect.signature(fn)
    ret_spec = None
    try:
        hints = resolve_hints(fn)
        if "return" in hints:
            ret_spec = _spec_for(hints["return"], getattr(fn, "__module__", None))
    except AnnotationSyntaxError:
        ret_spec = None
    ret_plan = Plan(plan.fn, plan.name, plan.params, ret_spec, (), None, False, plan.defaulted)

    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        if STATE.mode == "off" or _decide(counter):
            return await plan.fn(*args, **kwargs)
        bound = sig.bind(*args, **kwargs)
        given = dict(bound.arguments)
        full = {}
        for p in plan.params:
            if p.name in given:
                full[p.name] = given[p.name]
            elif p.kind == inspect.Parameter.VAR_POSITIONAL:
                full[p.name] = ()
            elif p.kind == inspect.Parameter.VAR_KEYWORD:
                full[p.name] = {}
            else:
                full[p.name] = _interp.MISSING
        env = _interp.check_args(plan, full)
        pos, kw = _interp.call_args(plan, full)
        result = await plan.fn(*pos, **kw)
        _interp.check_return(ret_plan, env, result)
        return result

    wrapper.__shapecheck_plan__ = plan
    return wrapper


def guard_function(fn, first=None, every=None, check_locals: bool = True, lenient: bool = False):
    if getattr(fn, "__shapecheck_plan__", None) is not None:
        return fn
    if getattr(fn, "__no_type_check__", False):  # typing.no_type_check, as beartype honours it
        return fn
    plan = build_plan(fn, check_locals, lenient)
    if inspect.iscoroutinefunction(fn):
        return _async_guard(plan, Counter(first, every), fn)
    counter = Counter(first, every)
    holder: list = []

    def slow(site, args):
        if is_compiling():
            if site < 0:  # the interpreter does not trace: step aside under torch.compile
                pos, kw = _interp.call_args(plan, args)
                return plan.fn(*pos, **kw)
            raise ShapeError(holder[0][site])
        return _interp.call_checked(plan, args)

    def slow_ret(site, args, result):
        if is_compiling():
            raise ShapeError(holder[0][site])
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
        if attr == "__init__" and dataclasses.is_dataclass(cls) and inspect.isfunction(val):
            # a dataclass's fields are the parameters of its generated __init__
            if shape_annotated(val):
                setattr(cls, attr, guard_function(val, first, every, False))
            continue
        if attr.startswith("__") and attr.endswith("__"):
            continue
        if isinstance(val, property):
            setattr(cls, attr, _guard_property(val, first, every, check_locals))
            continue
        fn = val.__func__ if isinstance(val, (staticmethod, classmethod)) else val
        if not inspect.isfunction(fn) or not shape_annotated(fn):
            continue
        g = guard_function(fn, first, every, check_locals)
        setattr(cls, attr, type(val)(g) if isinstance(val, (staticmethod, classmethod)) else g)
    return cls


def _guard_property(prop: property, first, every, check_locals) -> property:
    def one(fn):
        if fn is None or not inspect.isfunction(fn) or not shape_annotated(fn):
            return fn
        return guard_function(fn, first, every, check_locals)

    parts = (one(prop.fget), one(prop.fset), one(prop.fdel))
    if parts == (prop.fget, prop.fset, prop.fdel):
        return prop
    return property(*parts, prop.__doc__)


_NO_OBJECT = object()


def guard(obj=_NO_OBJECT, *, first: int | None = None, every: int | None = None, sample=None,
          check_locals: bool = True):
    """Check a function's (or every shape-annotated method's) annotations on each call.

    ``@guard``, ``@guard(first=N, every=k)`` or ``@guard(sample=(N, k))`` / ``@guard(sample=k)``.
    With the guards off (``SHAPECHECK_RUNTIME=0`` or ``set_mode("off")``) it returns ``obj``.
    """
    first, every = _sampling(first, every, sample)
    if obj is _NO_OBJECT:
        return lambda o: guard(o, first=first, every=every, check_locals=check_locals)
    if obj is None:
        raise TypeError("guard() takes a function, a method or a class, not None")
    if env_disabled() or STATE.mode == "off":
        return obj
    if isinstance(obj, type):
        return _guard_class(obj, first, every, check_locals)
    if isinstance(obj, property):
        return _guard_property(obj, first, every, check_locals)
    if isinstance(obj, (staticmethod, classmethod)):
        return type(obj)(guard_function(obj.__func__, first, every, check_locals))
    if not callable(obj) or not hasattr(obj, "__code__"):
        raise TypeError(f"guard() takes a function, a method or a class, not {type(obj).__qualname__}")
    return guard_function(obj, first, every, check_locals)
