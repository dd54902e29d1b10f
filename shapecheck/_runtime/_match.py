"""One tensor against its annotation, with jaxtyping's semantics: the call's bindings (``Env``),
tensors matched axis by axis, arithmetic and f-string axes checked once their names are bound.

A failed check raises ``Mismatch`` with its first line and notes in the linter's words (written by
``_errors`` from the core's ``_wording``); only ``type()``, ``isinstance``, ``.shape`` and ``.dtype``
are read from tensors.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import NamedTuple

from .._core import _wording as w
from .._core._parse import AnnotationSyntaxError, parse_shape
from ._errors import Place, axis_text, rank_text, type_name, who

__all__ = ["Env", "Mismatch", "broadcast_ok", "broadcast_shapes", "check_tensor", "expr_function",
           "flush_deferred"]


class Mismatch(Exception):
    """A failed check: ``args`` are (text, where, notes); no ``__init__`` of its own, so it traces."""

    @property
    def text(self) -> str:
        return self.args[0]

    @property
    def where(self):
        return self.args[1]

    @property
    def notes(self) -> tuple:
        return self.args[2] if len(self.args) > 2 else ()


@dataclass
class Env:
    """Axis bindings of one call: name (``*name`` for variadics) -> size, and where it was bound."""

    values: dict = field(default_factory=dict)
    prov: dict = field(default_factory=dict)
    deferred: list = field(default_factory=list)
    quiet: bool = False  # while torch.compile traces: fail without writing a message
    args: dict | None = None  # the call's arguments (defaults filled in), for f-string axes
    vbcast: dict | None = None  # "*name" -> whether its last binding was "*#name"
    fn: str = ""  # the guarded function's name, for messages

    def copy(self) -> "Env":
        return Env(dict(self.values), self.prov.copy(), list(self.deferred), args=self.args,
                   vbcast=dict(self.vbcast or {}), fn=self.fn)

    def where(self, key) -> str:
        """Where ``key`` was bound, as text (kept as a tuple until a message needs it)."""
        p = self.prov[key]
        if isinstance(p, str):
            return p
        place, index, rank, count = p
        return w.bound_by(place.subject, index, rank, count)

    def bind(self, key, value, prov) -> None:
        self.values[key] = value
        self.prov[key] = prov

    def binding_note(self, name: str, key: str | None = None) -> str:
        """``"d_head" of `attention` was bound to 64 by argument `q` at the last axis``."""
        key = key or name
        return w.binding_note(name, self.fn, self.values[key], self.where(key))


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


class _Seen(NamedTuple):
    """One tensor being matched: where it is, its annotation's text and its sizes."""

    place: Place
    spec_text: str
    shape: tuple

    @property
    def rank(self) -> int:
        return len(self.shape)


def _fail(env: Env, seen: _Seen, text_fn, notes=()) -> Mismatch:
    """The mismatch to raise; its text is written only when a message is wanted (not while traced)."""
    if env.quiet:
        return Mismatch("", seen.place)
    return Mismatch(text_fn(), seen.place, tuple(notes) + (w.shape_note(seen.place.subject, seen.shape),))


def check_tensor(spec, value, place: Place, env: Env) -> None:
    """Check a tensor against a ``TensorSpec`` (raises ``Mismatch``), binding axes in ``env``."""
    if not isinstance(value, spec.array_type):  # non-torch array types never raise (_spec)
        if env.quiet:
            raise Mismatch("", place)
        raise Mismatch(w.type_mismatch(who(place, env.fn), type_name(value), spec.text), place)
    if spec.dtypes is not None and value.dtype not in spec.dtypes:
        if env.quiet:
            raise Mismatch("", place)
        raise Mismatch(w.dtype_mismatch(who(place, env.fn), str(value.dtype).replace("torch.", ""), spec.kind),
                       place)
    try:
        shape = tuple(value.shape)
    except RuntimeError:  # a strided nested tensor has no single shape
        raise Mismatch(w.no_fixed_shape(who(place, env.fn), spec.shape.text), place) from None
    seen = _Seen(place, spec.shape.text, shape)
    axes = spec.shape.axes
    vi = spec.shape.variadic_index
    n, r = len(axes), len(shape)
    if vi is None and r != n:
        raise _fail(env, seen, lambda: rank_text(place, env.fn, seen.spec_text, r, n))
    if vi is not None and r < n - 1:
        raise _fail(env, seen, lambda: rank_text(place, env.fn, seen.spec_text, r, f"at least {n - 1}"))
    for i, a in enumerate(axes):
        if a.variadic:
            _check_variadic(a, shape[i:i + r - (n - 1)], i, seen, env)
            continue
        j = i if (vi is None or i < vi) else r - (n - i)
        _check_axis(a, shape[j], j, seen, env)


def _check_variadic(a, got: tuple, lo: int, seen: _Seen, env: Env) -> None:
    if a.kind == "anon" and a.name is None:
        return
    key = "*" + a.name
    if key in env.values:
        bound = env.values[key]
        prev_b = bool(env.vbcast and env.vbcast.get(key))
        merged = _merge_variadic(got, bound, a.broadcast, prev_b)
        if merged is None:
            notes = [env.binding_note(key)]
            if a.broadcast or prev_b:
                notes.append(f"{w.sizes(got)} and {w.sizes(bound)} do not broadcast")
            raise _fail(env, seen, lambda: axis_text(seen.place, env.fn, seen.spec_text, key, key, bound, got,
                                                     None, seen.rank), notes if not env.quiet else ())
        env.values[key] = merged
        if not prev_b:
            # a binding made by a plain ``*name`` stays plain (jaxtyping keeps its flag): later uses compare strictly
            return
    else:
        env.bind(key, got, (seen.place, lo, seen.rank, len(got)))
    if env.vbcast is None:
        env.vbcast = {}
    env.vbcast[key] = a.broadcast


def _check_axis(a, size: int, j: int, seen: _Seen, env: Env) -> None:
    if a.kind == "anon":
        if a.deferred is not None and not (a.broadcast and size == 1):  # f-string or min(...)
            env.deferred.append((a, size, j, seen))
        return
    if a.kind == "fixed":
        if size != a.value and not (a.broadcast and size == 1):
            raise _fail(env, seen, lambda: axis_text(seen.place, env.fn, seen.spec_text, a.text, a.value, a.value,
                                                     size, j, seen.rank))
        return
    if a.kind == "expr":
        env.deferred.append((a, size, j, seen))
        return
    # named
    if a.broadcast and size == 1:
        return
    if a.name in env.values:
        bound = env.values[a.name]
        if size != bound:
            raise _fail(env, seen, lambda: axis_text(seen.place, env.fn, seen.spec_text, a.text, a.name, bound,
                                                     size, j, seen.rank),
                        (env.binding_note(a.name),) if not env.quiet else ())
    else:
        env.bind(a.name, size, (seen.place, j, seen.rank, None))


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


def broadcast_ok(got: tuple, bound: tuple) -> bool:
    if len(got) > len(bound):
        return False
    for g, b in zip(reversed(got), reversed(bound)):
        if g != b and g != 1:
            return False
    return True


def flush_deferred(env: Env) -> None:
    """Check the arithmetic axes whose names are all bound by now; the others stay unknown."""
    pending, env.deferred = env.deferred, []
    for a, size, j, seen in pending:
        if a.deferred is not None:
            _check_deferred(a, size, j, seen, env)
            continue
        names = list(a.names)
        missing = [nm for nm in names if nm not in env.values]
        if missing:
            raise _unbound(a.body, missing, seen.place, env)
        try:
            want = expr_function(a.body, tuple(names))(*[env.values[nm] for nm in names])
        except ArithmeticError:
            continue
        if size != want:
            notes = () if env.quiet else tuple(env.binding_note(nm) for nm in names)
            raise _fail(env, seen, lambda: axis_text(seen.place, env.fn, seen.spec_text, a.text, a.body, want, size,
                                                     j, seen.rank), notes)


def _unbound(text: str, missing: list, place: Place, env: Env) -> Mismatch:
    if env.quiet:
        return Mismatch("", place)
    return Mismatch(w.unbound_names(who(place, env.fn), text, missing), place)


_SAFE_BUILTINS = {"min": min, "max": max, "abs": abs, "int": int, "round": round, "len": len, "sum": sum,
                  "pow": pow, "divmod": divmod}


def _check_deferred(a, size: int, j: int, seen: _Seen, env: Env) -> None:
    """An f-string axis (formatted with the call's arguments) or a builtin call over the bindings."""
    text = a.deferred
    subject = who(seen.place, env.fn)
    if a.fstring:
        try:
            text = eval("f" + repr(text), {"__builtins__": _SAFE_BUILTINS}, dict(env.args or {}))
        except Exception as e:
            raise Mismatch(w.axis_not_formatted(subject, a.deferred, f"{type(e).__name__}: {e}"),
                           seen.place) from None
        text = str(text).strip()
    try:
        tok = parse_shape(text).axes
    except AnnotationSyntaxError as e:
        raise Mismatch(w.axis_not_one(subject, a.deferred, text, e.message), seen.place) from None
    if len(tok) != 1 or tok[0].variadic:
        raise Mismatch(w.axis_not_one(subject, a.deferred, text), seen.place)
    ax = tok[0]
    if ax.kind == "fixed":
        want = ax.value
    elif ax.kind == "anon" and ax.deferred is None:
        return
    else:
        names = ax.names if ax.kind != "named" else (ax.name,)
        missing = [nm for nm in names if nm not in env.values]
        if missing:
            raise _unbound(a.deferred, missing, seen.place, env)
        scope = {nm: env.values[nm] for nm in names}
        try:
            want = eval(ax.deferred or ax.text, {"__builtins__": _SAFE_BUILTINS}, scope)  # the user's axis
        except ArithmeticError:
            return
    if size != want:
        notes = () if (env.quiet or text == a.deferred) else (f'"{a.deferred}" reads "{text}" in this call',)
        raise _fail(env, seen, lambda: axis_text(seen.place, env.fn, seen.spec_text, a.deferred, want, want, size,
                                                 j, seen.rank), notes)
