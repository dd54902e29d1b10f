"""The reference semantics of a guarded call, as a plain interpreter over the specs.

The generated fast path (``_codegen``) decides pass/fail with the same rules; whenever it fails,
this interpreter re-checks the call and writes the message, so the two cannot disagree on text.
Only ``type()``, ``isinstance``, ``.shape`` and ``.dtype`` are read from tensors.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass, field

from torch.compiler import is_compiling

from ._errors import ShapeError, fmt_bindings, fmt_shape, hint_text, make_error, type_name
from .._core._parse import AnnotationSyntaxError, parse_shape
from ._spec import DictSpec, ListSpec, TensorSpec, TupleSpec, TypeSpec, UnionSpec, type_check

__all__ = [
    "Env",
    "Param",
    "Plan",
    "call_checked",
    "check_args",
    "check_local",
    "check_return",
    "expr_function",
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


class _Mismatch(Exception):
    """A failed check: ``args`` are (text, where); no ``__init__`` of its own, so it traces."""

    @property
    def text(self) -> str:
        return self.args[0]

    @property
    def where(self) -> str:
        return self.args[1]


@dataclass
class Env:
    """Axis bindings of one call: name (``*name`` for variadics) -> size, and where it was bound."""

    values: dict = field(default_factory=dict)
    prov: dict = field(default_factory=dict)
    deferred: list = field(default_factory=list)
    quiet: bool = False  # while torch.compile traces: fail without writing a message
    args: dict | None = None  # the call's arguments (defaults filled in), for f-string axes
    vbcast: dict | None = None  # "*name" -> whether its last binding was "*#name"

    def copy(self) -> "Env":
        return Env(dict(self.values), self.prov.copy(), list(self.deferred), args=self.args,
                   vbcast=dict(self.vbcast or {}))

    def where(self, key) -> str:
        """Where ``key`` was bound, as text (kept as a tuple until a message needs it)."""
        p = self.prov[key]
        if isinstance(p, str):
            return p
        if len(p) == 2:
            return f"{p[0]}, axis {p[1]}"
        return f"{p[0]}, {_range(p[1], p[2])}"

    def bind(self, key, value, prov) -> None:
        self.values[key] = value
        self.prov[key] = prov


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


_EXPR_FN: dict = {}


def expr_function(text: str, names: tuple):
    """The arithmetic axis ``text`` (``(h-3)//2+1``) as a function of its names, compiled once from
    the parsed token (a plain function call, which ``torch.compile`` traces)."""
    key = (text, names)
    fn = _EXPR_FN.get(key)
    if fn is None:
        tree = ast.parse(text, mode="eval")  # validated by parse_shape: names, ints, + - * // / **
        src = f"lambda {', '.join(names)}: ({ast.unparse(tree)})"
        fn = _EXPR_FN[key] = eval(compile(src, f"<shapecheck axis {text}>", "eval"), {"__builtins__": {}})
    return fn


def seeded_env(plan: Plan, args: dict, values: dict) -> Env:
    """An env for the locals of a call whose arguments the fast path has checked."""
    return Env({k: v for k, v in values.items() if v is not None}, LazyProv(plan, args),
               args=full_args(plan, args))


def _range(lo: int, n: int) -> str:
    if n == 0:
        return "no axes"
    if n == 1:
        return f"axis {lo}"
    return f"axes {lo}..{lo + n - 1}"


def _check_tensor(spec: TensorSpec, value, where: str, env: Env) -> None:
    if not isinstance(value, spec.array_type):  # non-torch array types never raise (_spec)
        if env.quiet:
            raise _Mismatch("", where)
        raise _Mismatch(f"{where} is {type_name(value)}, expected {spec.text}", where)
    if spec.dtypes is not None and value.dtype not in spec.dtypes:
        if env.quiet:
            raise _Mismatch("", where)
        raise _Mismatch(f"{where} has dtype {str(value.dtype).replace('torch.', '')}, expected {spec.kind}",
                        where)
    try:
        shape = tuple(value.shape)
    except RuntimeError:  # a strided nested tensor has no single shape
        raise _Mismatch(f"{where} has no fixed shape (a nested tensor?), expected {spec.text}", where) from None
    axes = spec.shape.axes
    vi = spec.shape.variadic_index
    n, r = len(axes), len(shape)
    text = spec.shape.text
    if vi is None and r != n:
        if env.quiet:
            raise _Mismatch("", where)
        raise _Mismatch(f'{where} expected {n} ax{"is" if n == 1 else "es"} "{text}", got {r} {fmt_shape(shape)}',
                        where)
    if vi is not None and r < n - 1:
        if env.quiet:
            raise _Mismatch("", where)
        raise _Mismatch(f'{where} expected at least {n - 1} ax{"is" if n == 2 else "es"} "{text}", '
                        f"got {r} {fmt_shape(shape)}", where)
    for i, a in enumerate(axes):
        if a.variadic:
            lo, cnt = i, r - (n - 1)
            got = shape[lo:lo + cnt]
            if a.kind == "anon" and a.name is None:
                continue
            key = "*" + a.name
            if key in env.values:
                bound = env.values[key]
                prev_b = bool(env.vbcast and env.vbcast.get(key))
                merged = _merge_variadic(got, bound, a.broadcast, prev_b)
                if merged is None:
                    if env.quiet:
                        raise _Mismatch("", where)
                    how = "do not broadcast with" if a.broadcast or prev_b else "expected"
                    raise _Mismatch(f'{where} axes "*{a.name}" ({_range(lo, cnt)}) are {fmt_shape(got)}, '
                                    f"{how} {fmt_shape(bound)} (bound by {env.where(key)})", where)
                env.values[key] = merged
            else:
                env.bind(key, got, (where, lo, cnt))
            if env.vbcast is None:
                env.vbcast = {}
            env.vbcast[key] = a.broadcast
            continue
        j = i if (vi is None or i < vi) else r - (n - i)
        size = shape[j]
        if a.kind == "anon":
            if a.deferred is not None and not (a.broadcast and size == 1):  # f-string or min(...)
                env.deferred.append((a, size, j, where))
            continue
        if a.kind == "fixed":
            if size != a.value and not (a.broadcast and size == 1):
                label = f'axis "{a.name}" (axis {j})' if a.name else f"axis {j}"
                if env.quiet:
                    raise _Mismatch("", where)
                raise _Mismatch(f'{where} {label} is {size}, expected {a.value} (fixed in "{text}")', where)
            continue
        if a.kind == "expr":
            env.deferred.append((a, size, j, where))
            continue
        # named
        if a.broadcast and size == 1:
            continue
        if a.name in env.values:
            bound = env.values[a.name]
            if size != bound:
                exp = f"1 or {bound}" if a.broadcast else f"{bound}"
                if env.quiet:
                    raise _Mismatch("", where)
                raise _Mismatch(f'{where} axis "{a.name}" (axis {j}) is {size}, expected {exp} '
                                f"(bound by {env.where(a.name)})", where)
        else:
            env.bind(a.name, size, (where, j))


def broadcast_shapes(a: tuple, b: tuple):
    """numpy's broadcast of two shapes, or None when they do not broadcast."""
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            return None
    return tuple(out)


def _merge_variadic(new: tuple, prev: tuple, bcast: bool, prev_bcast: bool):
    """jaxtyping's rule for a variadic seen again: the new binding, or None on a mismatch."""
    if prev_bcast:
        merged = broadcast_shapes(new, prev)
        if merged is None or (not bcast and merged != new):
            return None
        return merged
    if bcast:
        merged = broadcast_shapes(new, prev)
        return prev if merged == prev else None
    return prev if new == prev else None


def _broadcast_ok(got: tuple, bound: tuple) -> bool:
    if len(got) > len(bound):
        return False
    for g, b in zip(reversed(got), reversed(bound)):
        if g != b and g != 1:
            return False
    return True


def flush_deferred(env: Env) -> None:
    """Check the arithmetic axes whose names are all bound by now; the others stay unknown."""
    pending, env.deferred = env.deferred, []
    for a, size, j, where in pending:
        if a.deferred is not None:
            _check_deferred(a, size, j, where, env)
            continue
        names = list(a.names)
        missing = [nm for nm in names if nm not in env.values]
        if missing:
            raise _unbound(a.body, missing, where, env)
        try:
            want = expr_function(a.body, tuple(names))(*[env.values[nm] for nm in names])
        except ArithmeticError:
            continue
        if size != want:
            if env.quiet:
                raise _Mismatch("", where)
            why = ", ".join(f"{nm}={env.values[nm]} bound by {env.where(nm)}" for nm in names)
            if env.quiet:
                raise _Mismatch("", where)
            raise _Mismatch(f'{where} axis "{a.body}" (axis {j}) is {size}, expected {want} ({why})', where)


def _unbound(text: str, missing: list, where: str, env: Env) -> _Mismatch:
    if env.quiet:
        return _Mismatch("", where)
    names = ", ".join(f'"{m}"' for m in missing)
    return _Mismatch(f'{where} axis "{text}" uses {names}, which no annotation checked before it '
                     "binds (bind it in an argument's annotation)", where)


_SAFE_BUILTINS = {"min": min, "max": max, "abs": abs, "int": int, "round": round, "len": len, "sum": sum,
                  "pow": pow, "divmod": divmod}


def _check_deferred(a, size: int, j: int, where: str, env: Env) -> None:
    """An f-string axis (formatted with the call's arguments) or a builtin call over the bindings."""
    text = a.deferred
    if a.fstring:
        try:
            text = eval("f" + repr(text), {"__builtins__": _SAFE_BUILTINS}, dict(env.args or {}))
        except Exception as e:
            raise _Mismatch(f'{where} axis "{a.deferred}" cannot be formatted with the arguments: '
                            f"{type(e).__name__}: {e}", where) from None
        text = str(text).strip()
    try:
        tok = parse_shape(text).axes
    except AnnotationSyntaxError as e:
        raise _Mismatch(f'{where} axis "{a.deferred}" reads "{text}": {e.message}', where) from None
    if len(tok) != 1 or tok[0].variadic:
        raise _Mismatch(f'{where} axis "{a.deferred}" reads "{text}", which is not one axis', where)
    ax = tok[0]
    if ax.kind == "fixed":
        want = ax.value
    elif ax.kind == "anon" and ax.deferred is None:
        return
    else:
        names = ax.names if ax.kind != "named" else (ax.name,)
        missing = [nm for nm in names if nm not in env.values]
        if missing:
            raise _unbound(a.deferred, missing, where, env)
        scope = {nm: env.values[nm] for nm in names}
        try:
            want = eval(ax.deferred or ax.text, {"__builtins__": _SAFE_BUILTINS}, scope)  # the user's axis
        except ArithmeticError:
            return
    if size != want:
        if env.quiet:
            raise _Mismatch("", where)
        raise _Mismatch(f'{where} axis "{a.deferred}" (axis {j}) is {size}, expected {want}', where)


def check_value(spec, value, where: str, env: Env) -> None:
    """Check ``value`` against ``spec`` (raises ``_Mismatch``), binding axes in ``env``."""
    if value is None and spec.optional:
        return
    if isinstance(spec, TensorSpec):
        _check_tensor(spec, value, where, env)
    elif isinstance(spec, TypeSpec):
        if not type_check(spec, value):
            raise _Mismatch(f"{where} is {type_name(value)}, expected {hint_text(spec.hint)}", where)
    elif isinstance(spec, TupleSpec):
        if not isinstance(value, tuple):
            raise _Mismatch(f"{where} is {type_name(value)}, expected a tuple", where)
        if spec.variable:
            for k, item in enumerate(value):
                check_value(spec.items[0], item, f"{where} [{k}]", env)
        else:
            if len(value) != len(spec.items):
                raise _Mismatch(f"{where} has {len(value)} elements, expected {len(spec.items)}", where)
            for k, (s, item) in enumerate(zip(spec.items, value)):
                check_value(s, item, f"{where} [{k}]", env)
    elif isinstance(spec, DictSpec):
        if not isinstance(value, dict):
            raise _Mismatch(f"{where} is {type_name(value)}, expected a dict", where)
        for k, item in value.items():
            check_value(spec.item, item, f"{where} [{k!r}]", env)
    elif isinstance(spec, ListSpec):
        if not isinstance(value, list):
            raise _Mismatch(f"{where} is {type_name(value)}, expected a list", where)
        for k, item in enumerate(value):
            check_value(spec.item, item, f"{where} [{k}]", env)
    elif isinstance(spec, UnionSpec):
        reasons = []
        for alt in spec.alternatives:
            trial = env.copy()
            try:
                check_value(alt, value, where, trial)
                flush_deferred(trial)
            except _Mismatch as m:
                reasons.append(m.text)
                continue
            env.values, env.prov, env.deferred, env.vbcast = trial.values, trial.prov, trial.deferred, trial.vbcast
            return
        raise _Mismatch(f"{where} matches no alternative of its annotation: " + "; ".join(reasons), where)


def _raise(plan: Plan, m: _Mismatch, env: Env):
    b = fmt_bindings(env.values)
    msg = f"{plan.name}(): {m.text}" + (f"\n{b}" if b else "")
    raise make_error(msg, plan.name, m.where, env.values) from None


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
    env = Env(args=full_args(plan, args))
    try:
        for p in plan.params:
            if p.spec is None:
                continue
            v = args[p.name]
            if v is MISSING:
                continue
            if p.kind == inspect.Parameter.VAR_POSITIONAL:
                for k, item in enumerate(v):
                    check_value(p.spec, item, f"argument {p.name} [{k}]", env)
            elif p.kind == inspect.Parameter.VAR_KEYWORD:
                for k, item in v.items():
                    check_value(p.spec, item, f"argument {k}", env)
            else:
                check_value(p.spec, v, f"argument {p.name}", env)
        flush_deferred(env)
    except _Mismatch as m:
        _raise(plan, m, env)
    return env


def check_return(plan: Plan, env: Env, result) -> None:
    if plan.ret is None:
        return
    try:
        check_value(plan.ret, result, "return value", env)
        flush_deferred(env)
    except _Mismatch as m:
        _raise(plan, m, env)


def check_local(plan: Plan, env: Env, index: int, value) -> None:
    name, spec = plan.locals_specs[index]
    try:
        check_value(spec, value, f"local {name}", env)
        flush_deferred(env)
    except _Mismatch as m:
        _raise(plan, m, env)


def return_checked(plan: Plan, env: Env, result):
    if is_compiling():
        if isinstance(plan.ret, TensorSpec):
            _traced_check(plan, env, plan.ret, result, "return value")
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
                _traced_check(self.plan, self.env, spec, value, f"local {name}")
            return
        check_local(self.plan, self.env, index, value)


def _traced_check(plan: Plan, env: Env, spec, value, where: str) -> None:
    env.quiet = True
    try:
        check_value(spec, value, where, env)
        flush_deferred(env)
    except _Mismatch:
        raise ShapeError(f"{plan.name}(): {where} does not match its annotation "
                         "(under torch.compile; run eagerly for details)") from None
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
