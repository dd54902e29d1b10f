"""The reference semantics of a guarded call, as a plain interpreter over the specs.

The generated fast path (``_codegen``) decides pass/fail with the same rules; whenever it fails,
this interpreter re-checks the call and writes the message, so the two cannot disagree on text.
Only ``type()``, ``isinstance``, ``.shape`` and ``.dtype`` are read from tensors.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from torch.compiler import is_compiling

from .._core import _wording as w
from ._errors import Place, ShapeError, compiled_message, hint_text, make_error, message, type_name, who
from ._match import Env, Mismatch, check_tensor, flush_deferred
from ._spec import DictSpec, ListSpec, TensorSpec, TupleSpec, TypeSpec, UnionSpec, type_check

__all__ = [
    "Env",
    "Param",
    "Plan",
    "call_checked",
    "check_args",
    "check_local",
    "check_return",
]

EMPTY = inspect.Parameter.empty


class _Missing:
    """The default the wrapper's signature shows for a defaulted, annotated parameter: an argument
    left out is not checked (as beartype does), one passed explicitly is, even the default object."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<default>"


MISSING = _Missing()
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True)
class Param:
    name: str
    kind: object  # inspect.Parameter kind
    default: object
    spec: object  # a spec from _spec, or None when unannotated


@dataclass
class Plan:
    """Everything the guard needs about one function, computed once at decoration."""

    fn: object  # what the wrapper calls (the function, rewritten when it has checked locals)
    name: str  # "attention" or "Block.forward"
    params: tuple
    ret: object  # spec or None
    locals_specs: tuple = ()  # ((variable, spec), ...)
    env_param: str | None = None  # hidden keyword of the rewritten function
    simple: bool = True
    defaulted: tuple = ()  # annotated parameters with a default (left out: MISSING, unchecked)


class LazyProv(dict):
    """Provenance for an env seeded by the generated fast path, which keeps sizes but not where
    they came from: the first lookup of an argument's axis re-checks the arguments to find out."""

    def __init__(self, plan, args: dict):
        super().__init__()
        self.plan = plan
        self.args = args

    def copy(self) -> "LazyProv":
        new = LazyProv(self.plan, self.args)
        new.update(self)
        return new

    def __missing__(self, key):
        try:
            full = check_args(self.plan, self.args).prov
        except Exception:  # the fast path accepted these arguments; be safe anyway
            full = {}
        for k, v in full.items():
            self.setdefault(k, v)
        return dict.get(self, key, "the arguments")


def seeded_env(plan: Plan, args: dict, values: dict) -> Env:
    """An env for the locals of a call whose arguments the fast path has checked."""
    return Env({k: v for k, v in values.items() if v is not None}, LazyProv(plan, args),
               args=full_args(plan, args), fn=plan.name)


def check_value(spec, value, where: Place, env: Env) -> None:
    """Check ``value`` against ``spec`` (raises ``Mismatch``), binding axes in ``env``."""
    if value is None and spec.optional:
        return
    if isinstance(spec, TensorSpec):
        check_tensor(spec, value, where, env)
    elif isinstance(spec, TypeSpec):
        if not type_check(spec, value):
            raise Mismatch(w.type_mismatch(who(where, env.fn), type_name(value), hint_text(spec.hint)), where)
    elif isinstance(spec, TupleSpec):
        if not isinstance(value, tuple):
            raise Mismatch(w.type_mismatch(who(where, env.fn), type_name(value), "a tuple"), where)
        if spec.variable:
            for k, item in enumerate(value):
                check_value(spec.items[0], item, where.item(str(k)), env)
        else:
            if len(value) != len(spec.items):
                raise Mismatch(w.length_mismatch(who(where, env.fn), len(value), len(spec.items)), where)
            for k, (s, item) in enumerate(zip(spec.items, value)):
                check_value(s, item, where.item(str(k)), env)
    elif isinstance(spec, DictSpec):
        if not isinstance(value, dict):
            raise Mismatch(w.type_mismatch(who(where, env.fn), type_name(value), "a dict"), where)
        for k, item in value.items():
            check_value(spec.item, item, where.item(repr(k)), env)
    elif isinstance(spec, ListSpec):
        if not isinstance(value, list):
            raise Mismatch(w.type_mismatch(who(where, env.fn), type_name(value), "a list"), where)
        for k, item in enumerate(value):
            check_value(spec.item, item, where.item(str(k)), env)
    elif isinstance(spec, UnionSpec):
        reasons = []
        for alt in spec.alternatives:
            trial = env.copy()
            try:
                check_value(alt, value, where, trial)
                flush_deferred(trial)
            except Mismatch as m:
                reasons.append(m.text)
                continue
            env.values, env.prov, env.deferred, env.vbcast = trial.values, trial.prov, trial.deferred, trial.vbcast
            return
        raise Mismatch(w.no_alternative(who(where, env.fn), reasons), where)


def _raise(plan: Plan, m: Mismatch, env: Env):
    msg = message(plan.name, m.where, m.text, m.notes, env.values)
    raise make_error(msg, plan.name, str(m.where), env.values) from None


def full_args(plan: Plan, args: dict) -> dict:
    """The arguments with every left-out default filled in (what f-string axes are formatted with)."""
    for name in plan.defaulted:
        if args[name] is MISSING:
            break
    else:
        return args
    return {p.name: (p.default if args[p.name] is MISSING else args[p.name]) for p in plan.params}


def check_args(plan: Plan, args: dict) -> Env:
    """Check the arguments (``args``: parameter name -> value); returns the bindings."""
    env = Env(args=full_args(plan, args), fn=plan.name)
    try:
        for p in plan.params:
            if p.spec is None:
                continue
            v = args[p.name]
            if v is MISSING:
                continue
            if p.kind == inspect.Parameter.VAR_POSITIONAL:
                for k, item in enumerate(v):
                    check_value(p.spec, item, Place("argument", p.name, (str(k),)), env)
            elif p.kind == inspect.Parameter.VAR_KEYWORD:
                for k, item in v.items():
                    check_value(p.spec, item, Place("argument", k), env)
            else:
                check_value(p.spec, v, Place("argument", p.name), env)
        flush_deferred(env)
    except Mismatch as m:
        _raise(plan, m, env)
    return env


def check_return(plan: Plan, env: Env, result) -> None:
    if plan.ret is None:
        return
    try:
        check_value(plan.ret, result, Place("return"), env)
        flush_deferred(env)
    except Mismatch as m:
        _raise(plan, m, env)


def check_local(plan: Plan, env: Env, index: int, value) -> None:
    name, spec = plan.locals_specs[index]
    try:
        check_value(spec, value, Place("local", name), env)
        flush_deferred(env)
    except Mismatch as m:
        _raise(plan, m, env)


def return_checked(plan: Plan, env: Env, result):
    if is_compiling():
        if isinstance(plan.ret, TensorSpec):
            _traced_check(plan, env, plan.ret, result, Place("return"))
        return result
    check_return(plan, env, result)
    return result


class LocalChecker:
    """Passed to a rewritten function as its hidden keyword: checks annotated locals."""

    __slots__ = ("env", "plan")

    def __init__(self, plan: Plan, env: Env):
        self.plan = plan
        self.env = env

    def check(self, index: int, value) -> None:
        if is_compiling():
            name, spec = self.plan.locals_specs[index]
            if isinstance(spec, TensorSpec):  # only plain tensor locals are traced
                _traced_check(self.plan, self.env, spec, value, Place("local", name))
            return
        check_local(self.plan, self.env, index, value)


def _traced_check(plan: Plan, env: Env, spec, value, where: Place) -> None:
    env.quiet = True
    try:
        check_value(spec, value, where, env)
        flush_deferred(env)
    except Mismatch:
        raise ShapeError(compiled_message(plan.name, where)) from None
    finally:
        env.quiet = False


def call_args(plan: Plan, args: dict) -> tuple:
    pos, kw = [], {}
    for p in plan.params:
        v = args[p.name]
        if v is MISSING:
            v = p.default
        if p.kind in _POSITIONAL:
            pos.append(v)
        elif p.kind == inspect.Parameter.VAR_POSITIONAL:
            pos.extend(v)
        elif p.kind == inspect.Parameter.KEYWORD_ONLY:
            kw[p.name] = v
        else:
            kw.update(v)
    return pos, kw


def call_checked(plan: Plan, args: dict):
    """The whole guarded call, interpreted: arguments, the call (with locals), the return value."""
    env = check_args(plan, args)
    pos, kw = call_args(plan, args)
    if plan.env_param is not None:
        kw[plan.env_param] = LocalChecker(plan, env)
    result = plan.fn(*pos, **kw)
    check_return(plan, env, result)
    return result
