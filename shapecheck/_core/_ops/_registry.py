"""The operator shape-rule table: one registry keyed by qualified name.

A rule is a pure function ``fn(site, *args, **kwargs)`` whose parameters mirror PyTorch's own
signature. Tensor arguments arrive as :class:`~shapecheck._core._shape.Shape` (``ANY_SHAPE`` when the
tensor's shape is unknown); ints as ``int`` or :class:`~shapecheck._core._algebra.Expr`; anything the
analysis could not evaluate as :data:`OPAQUE`. A rule returns a ``Shape``, a tuple of shapes (for
``chunk``/``split``/``max(dim=...)``...), or ``None`` when the result cannot be known. It never
raises for the user's mistake: it records the mismatch on ``site`` and returns its best answer.

Module rules (``nn.Linear``...) receive the bound constructor arguments as a dict first:
``fn(site, init, *args, **kwargs)``.

Each rule carries worked examples in a tiny language that the tests run::

    "b n k, b k m -> b n m"            inputs, then the output
    "b s d | dim=-1 -> b s d"          static arguments after "|" (Python keyword syntax)
    "b n k, b m k ! SHP101"            a call that must be rejected (with that code)
    "init: 4, 8 | b 4 -> b 8"          module rules: constructor arguments after "init:"
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from .._algebra import Expr, const
from .._shape import ANY_SHAPE, UNKNOWN, Shape, Unknown, Variadic
from .._unify import Env, broadcast_shapes, compare, unify_dim
from .._wording import axis_note, axis_position, qd

__all__ = ["Rule", "Site", "Opaque", "OPAQUE", "shape_rule", "module_rule", "lookup", "RULES", "qd",
           "as_size", "as_int", "axis_position"]


class Opaque:
    """A value the analysis could not evaluate statically."""

    _inst = None

    def __new__(cls):
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "OPAQUE"


OPAQUE = Opaque()


def as_size(v):
    """An int-like argument as an Expr, or UNKNOWN."""
    if isinstance(v, bool):
        return UNKNOWN
    if isinstance(v, int):
        return const(v)
    if isinstance(v, Expr):
        return v
    return UNKNOWN


def as_int(v) -> int | None:
    """A concrete int (a dim index, a literal size), or None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, Expr):
        return v.value
    return None


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    notes: tuple = ()
    help: str | None = None


class Site:
    """Where a rule runs: collects problems, and holds the scope's bindings (``env``)."""

    def __init__(self, op: str, env: Env | None = None, where: str | None = None):
        self.op = op
        self.env = env if env is not None else Env()
        self.where = where  # "model.py:41" for provenance of bindings
        self.problems: list[Problem] = []

    # -- recording -------------------------------------------------------------------------
    def error(self, code: str, message: str, notes=(), help: str | None = None) -> None:
        self.problems.append(Problem(code, message, tuple(n for n in notes if n), help))

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    # -- notes -----------------------------------------------------------------------------
    def axis_note(self, shape: Shape, i: int) -> str | None:
        """'"d_head" is the last axis of `q` (annotation, model.py:30)'."""
        if not isinstance(shape, Shape):
            return None
        d = shape.axis(i) if -len(shape.dims) <= i < len(shape.dims) else None
        if d is None or isinstance(d, (Unknown, Variadic)):
            return None
        resolved = self.env.resolve(d)
        text = axis_note(resolved, i, shape.rank, shape.label or "the operand", shape.origin(i))
        s = d.as_sym() if isinstance(d, Expr) else None
        if s is not None and resolved != d and s in self.env.bindings:
            where = self.env.provenance(s)
            text += f"; `{s}` was bound to {qd(resolved)}" + (f" at {where}" if where else "")
        return text

    # -- comparisons -----------------------------------------------------------------------
    def compare(self, a, b) -> str:
        return compare(a, b, self.env)

    def unify(self, a, b) -> bool | None:
        """Equate two sizes (binding where the semantics allow); False only on a contradiction."""
        return unify_dim(a, b, self.env, self.where)

    def resolve(self, d):
        return self.env.resolve(d)

    def broadcast(self, *shapes: Shape, what: str | None = None, operands: tuple = ()) -> Shape:
        """Broadcast shapes, recording SHP102 for axes that cannot broadcast.

        ``operands`` are the whole tensors when ``shapes`` are their leading (batch) axes, as in a
        matrix product: the notes then name each axis by its position in the whole operand."""
        shapes = [s if isinstance(s, Shape) else ANY_SHAPE for s in shapes]
        out, errors = broadcast_shapes(shapes, self.env)
        for k, a, b in errors[:1]:
            sa = next((s for s in shapes if _has_from_right(s, k, a)), None)
            sb = next((s for s in shapes if s is not sa and _has_from_right(s, k, b)), None)
            self.error(
                "SHP102",
                f"{what or self.op} cannot broadcast {qd(self.resolve(a))} with {qd(self.resolve(b))}",
                notes=(self._broadcast_note(shapes, operands, sa, k), self._broadcast_note(shapes, operands, sb, k)),
            )
        return out

    def _broadcast_note(self, shapes, operands, s, k: int) -> str | None:
        if s is None:
            return None
        whole = next((o for p, o in zip(shapes, operands) if p is s), None)
        if isinstance(whole, Shape) and whole.rank is not None and s.rank is not None:
            return self.axis_note(whole, s.rank + k)  # a batch axis, counted from the left of the operand
        return self.axis_note(s, k)

    def normalize_dim(self, dim, rank: int | None, shape: Shape | None = None, allow_end: bool = False):
        """A dim index in range, made non-negative; records SHP106 and returns None when out of range."""
        d = as_int(dim)
        if d is None or rank is None:
            return None if d is None else d
        n = rank + (1 if allow_end else 0)
        if n == 0:
            n = 1  # torch accepts dim 0 / -1 on scalars
            if d in (0, -1):
                return 0
        if not -n <= d < n:
            who = shape.label if isinstance(shape, Shape) and shape.label else "a tensor"
            self.error("SHP106", f"{self.op} uses dim {d}, but {who} has {rank} "
                                 f"ax{'is' if rank == 1 else 'es'} (valid: {-n}..{n - 1})")
            return None
        return d % n if n else 0


def _has_from_right(s: Shape, k: int, d) -> bool:
    if not isinstance(s, Shape) or s.variadic_index is not None and -k > len(s.dims) - s.variadic_index - 1:
        return False
    return -k <= len(s.dims) and s.dims[k] == d


@dataclass
class Rule:
    names: tuple
    fn: Callable
    ok: tuple = ()
    bad: tuple = ()
    module: bool = False
    init: inspect.Signature | None = None
    signature: inspect.Signature | None = None
    doc: str = ""

    @property
    def display(self) -> str:
        return self.names[0].rsplit(".", 1)[-1].strip("_")

    def bind(self, args: tuple, kwargs: dict):
        """Bind call arguments to the rule's parameters (after ``site``/``init``); None if they do not fit."""
        try:
            return self.signature.bind(*args, **kwargs)
        except TypeError:
            return None

    def bind_init(self, args: tuple, kwargs: dict) -> dict | None:
        if self.init is None:
            return {}
        try:
            ba = self.init.bind(*args, **kwargs)
        except TypeError:
            return None
        ba.apply_defaults()
        return dict(ba.arguments)

    def apply(self, site: Site, args: tuple, kwargs: dict, init: dict | None = None):
        """Run the rule; returns whatever it returns, or None when the arguments do not fit."""
        if self.bind(args, kwargs) is None:
            return None
        if self.module:
            return self.fn(site, init or {}, *args, **kwargs)
        return self.fn(site, *args, **kwargs)


RULES: dict[str, Rule] = {}


def _call_signature(fn: Callable, skip: int) -> inspect.Signature:
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())[skip:]
    return sig.replace(parameters=params)


def shape_rule(*names: str, ok=(), bad=()):
    """Register a function rule under every qualified name that reaches the op."""

    def deco(fn):
        rule = Rule(tuple(names), fn, tuple(ok), tuple(bad), signature=_call_signature(fn, 1),
                    doc=inspect.getdoc(fn) or "")
        return _register(rule, fn)

    return deco


def _register(rule: Rule, fn):
    """``rule`` under each of its names (a name registered twice is an error); ``fn`` carries it."""
    for n in rule.names:
        if n in RULES:
            raise ValueError(f"shape rule {n} registered twice")
        RULES[n] = rule
    fn.rule = rule
    return fn


def module_rule(*names: str, init: str, ok=(), bad=()):
    """Register an ``nn.Module`` rule; ``init`` spells the constructor's parameters (Python syntax)."""

    def deco(fn):
        ns: dict = {}
        exec(f"def __init__({init}): pass", {}, ns)  # a signature from our own literal text
        init_sig = inspect.signature(ns["__init__"])
        rule = Rule(tuple(names), fn, tuple(ok), tuple(bad), module=True, init=init_sig,
                    signature=_call_signature(fn, 2), doc=inspect.getdoc(fn) or "")
        return _register(rule, fn)

    return deco


def lookup(qualname: str) -> Rule | None:
    _load()
    return RULES.get(qualname)


_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from . import _catalog  # noqa: F401  (registers every rule module)
