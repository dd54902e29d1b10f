"""Canonical integer expressions over positive size symbols.

An :class:`Expr` is a polynomial with integer coefficients over *atoms*: symbols (``d_model``,
``n_head``) and floor divisions that cannot be simplified (``(h-3)//2``). Monomials may carry
negative powers, which stand for an exact division known to be exact (``d_model // n_heads``
once ``d_model % n_heads == 0`` is known), so ``n_heads * (d_model // n_heads)`` is ``d_model``.

Every operation returns the canonical form, so structural equality is semantic equality for the
fragment we normalise. All sizes are positive integers; :func:`provably_positive` uses that to
decide that ``4*n`` is never ``n`` and ``c // 2`` is never ``c``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Mapping

__all__ = [
    "Sym",
    "FloorDiv",
    "Expr",
    "const",
    "sym",
    "provably_positive",
    "provably_distinct",
    "divided_symbol",
]


@dataclass(frozen=True)
class Sym:
    """A positive integer symbol: a named axis or a size that comes from code.

    ``kind`` records where the name came from (``axis``: annotation, ``code``: an int in code,
    ``dim``: an element of some tensor's shape); it is not part of identity, so ``"d_model"`` in an
    annotation and ``cfg.d_model`` in code are one symbol (the name bridge).
    """

    name: str
    kind: str = field(default="axis", compare=False, hash=False)

    def sort_key(self) -> tuple:
        return (0, self.name)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class FloorDiv:
    """``num // den`` that does not simplify; an atom of an expression (a non-negative integer)."""

    num: "Expr"
    den: "Expr"

    def sort_key(self) -> tuple:
        return (1, str(self))

    def __str__(self) -> str:
        return f"{_paren(self.num)}//{_paren(self.den)}"


Mono = tuple  # tuple[tuple[Sym | FloorDiv, int], ...], sorted by atom sort key, powers non-zero


def _mono_key(m: Mono) -> tuple:
    degree = sum(p for _, p in m)
    return (-degree, tuple((a.sort_key(), p) for a, p in m))


def _mono_mul(a: Mono, b: Mono) -> Mono:
    if not a:
        return b
    if not b:
        return a
    powers: dict = {}
    for atom, p in a + b:
        powers[atom] = powers.get(atom, 0) + p
    return tuple(sorted(((k, v) for k, v in powers.items() if v), key=lambda t: t[0].sort_key()))


class Expr:
    """An immutable canonical polynomial; build with :func:`const`, :func:`sym` and operators."""

    __slots__ = ("terms", "_hash")

    def __init__(self, terms: Mapping[Mono, int] | Iterable[tuple[Mono, int]] = ()):
        items = terms.items() if isinstance(terms, Mapping) else terms
        merged: dict = {}
        for mono, coef in items:
            merged[mono] = merged.get(mono, 0) + coef
        object.__setattr__(
            self,
            "terms",
            tuple(sorted(((m, c) for m, c in merged.items() if c), key=lambda t: _mono_key(t[0]))),
        )
        object.__setattr__(self, "_hash", hash(self.terms))

    def __setattr__(self, name, value):  # pragma: no cover - immutability guard
        raise AttributeError("Expr is immutable")

    # -- inspection -------------------------------------------------------------------------
    @property
    def is_const(self) -> bool:
        return all(not m for m, _ in self.terms)

    @property
    def value(self) -> int | None:
        """The integer value of a constant expression, else None."""
        if not self.terms:
            return 0
        if len(self.terms) == 1 and not self.terms[0][0]:
            return self.terms[0][1]
        return None

    def as_sym(self) -> Sym | None:
        """The symbol if this expression is exactly one symbol, else None."""
        if len(self.terms) == 1:
            mono, coef = self.terms[0]
            if coef == 1 and len(mono) == 1 and mono[0][1] == 1 and isinstance(mono[0][0], Sym):
                return mono[0][0]
        return None

    def symbols(self) -> frozenset:
        out = set()
        for mono, _ in self.terms:
            for atom, _p in mono:
                if isinstance(atom, Sym):
                    out.add(atom)
                else:
                    out |= atom.num.symbols() | atom.den.symbols()
        return frozenset(out)

    def const_part(self) -> int:
        for mono, coef in self.terms:
            if not mono:
                return coef
        return 0

    # -- arithmetic -------------------------------------------------------------------------
    def __add__(self, other) -> "Expr":
        other = _lift(other)
        return Expr(list(self.terms) + list(other.terms))

    __radd__ = __add__

    def __neg__(self) -> "Expr":
        return Expr([(m, -c) for m, c in self.terms])

    def __sub__(self, other) -> "Expr":
        return self + (-_lift(other))

    def __rsub__(self, other) -> "Expr":
        return _lift(other) - self

    def __mul__(self, other) -> "Expr":
        other = _lift(other)
        out = []
        for ma, ca in self.terms:
            for mb, cb in other.terms:
                out.append((_mono_mul(ma, mb), ca * cb))
        return Expr(out)

    __rmul__ = __mul__

    def __floordiv__(self, other) -> "Expr":
        return floordiv(self, _lift(other))

    def __rfloordiv__(self, other) -> "Expr":
        return floordiv(_lift(other), self)

    def exact_div(self, other) -> "Expr":
        """``self / other`` where the division is known to be exact (a divisibility fact)."""
        other = _lift(other)
        q = _try_exact(self, other, allow_negative=True)
        return q if q is not None else floordiv(self, other)

    # -- equality and printing ----------------------------------------------------------------
    def __eq__(self, other) -> bool:
        if isinstance(other, int):
            other = const(other)
        return isinstance(other, Expr) and self.terms == other.terms

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Expr({str(self)!r})"

    def __str__(self) -> str:
        if not self.terms:
            return "0"
        pos = [(m, c) for m, c in self.terms if c > 0 and m]
        neg = [(m, c) for m, c in self.terms if c < 0 and m]
        k = self.const_part()
        parts: list[str] = []
        for mono, coef in pos + neg:
            mag = abs(coef)
            body = _mono_str(mono, alone=mag == 1)
            text = body if mag == 1 else f"{body}*{mag}"
            if not parts:
                parts.append(text if coef > 0 else "-" + text)
            else:
                parts.append(("+" if coef > 0 else "-") + text)
        if k or not parts:
            if not parts:
                parts.append(str(k))
            else:
                parts.append(("+" if k > 0 else "-") + str(abs(k)))
        return "".join(parts)

    # -- substitution -----------------------------------------------------------------------
    def subst(self, mapping: Mapping[Sym, "Expr"]) -> "Expr":
        """Replace symbols by expressions (canonicalising again)."""
        if not mapping or not (self.symbols() & mapping.keys()):
            return self
        total = const(0)
        for mono, coef in self.terms:
            term = const(coef)
            for atom, power in mono:
                if isinstance(atom, Sym):
                    base = mapping.get(atom, _atom_expr(atom))
                else:
                    base = floordiv(atom.num.subst(mapping), atom.den.subst(mapping))
                if power > 0:
                    for _ in range(power):
                        term = term * base
                else:
                    for _ in range(-power):
                        term = term.exact_div(base)
            total = total + term
        return total

    def with_facts(self, divisible: frozenset) -> "Expr":
        """Rewrite ``a // b`` atoms to exact divisions where ``(a, b)`` is known divisible, and a multiple of
        ``b`` of such an atom to that multiple of ``a`` (the halves of an even ``d`` joined again,
        ``(d//2)*2``, are ``d``)."""
        if not divisible or not any(isinstance(a, FloorDiv) for m, _ in self.terms for a, _p in m):
            return self
        total = const(0)
        for mono, coef in self.terms:
            if len(mono) == 1 and mono[0][1] == 1 and isinstance(mono[0][0], FloorDiv):
                q = mono[0][0]
                den = q.den.value
                if den and coef % den == 0 and (q.num, q.den) in divisible:
                    total = total + q.num.with_facts(divisible) * const(coef // den)
                    continue
            term = const(coef)
            for atom, power in mono:
                if isinstance(atom, FloorDiv):
                    num = atom.num.with_facts(divisible)
                    den = atom.den.with_facts(divisible)
                    base = num.exact_div(den) if (num, den) in divisible else floordiv(num, den)
                else:
                    base = _atom_expr(atom)
                for _ in range(abs(power)):
                    term = term * base if power > 0 else term.exact_div(base)
            total = total + term
        return total


def _atom_expr(atom) -> Expr:
    return Expr([(((atom, 1),), 1)])


def _mono_str(mono: Mono, alone: bool = False) -> str:
    if alone and len(mono) == 1 and mono[0][1] == 1:
        return str(mono[0][0])
    num = []
    den = []
    for atom, p in mono:
        text = str(atom) if isinstance(atom, Sym) else f"({atom})"
        (num if p > 0 else den).extend([text] * abs(p))
    top = "*".join(num) if num else "1"
    if den:
        bottom = den[0] if len(den) == 1 else "(" + "*".join(den) + ")"
        if len(num) > 1:
            top = f"({top})"
        return f"{top}//{bottom}"
    return top


def _paren(e: Expr) -> str:
    text = str(e)
    if e.value is not None and e.value >= 0:
        return text
    if len(e.terms) == 1 and (e.terms[0][1] > 0) and _mono_is_simple(e.terms[0][0], e.terms[0][1]):
        return text
    return f"({text})"


def _mono_is_simple(mono: Mono, coef: int) -> bool:
    return coef == 1 and len(mono) <= 1 and all(p == 1 and isinstance(a, Sym) for a, p in mono)


def _lift(x) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, bool):
        raise TypeError("bool is not a size")
    if isinstance(x, int):
        return const(x)
    raise TypeError(f"cannot use {type(x).__name__} as a size expression")


def const(n: int) -> Expr:
    return Expr([((), n)]) if n else Expr()


def sym(name: str, kind: str = "axis") -> Expr:
    return Expr([(((Sym(name, kind), 1),), 1)])


def _try_exact(a: Expr, b: Expr, allow_negative: bool) -> Expr | None:
    """a / b when b is a single term that divides every term of a (coefficients included)."""
    if len(b.terms) != 1:
        return None
    bm, bc = b.terms[0]
    if bc == 0:
        return None
    inv = tuple((atom, -p) for atom, p in bm)
    out = []
    for mono, coef in a.terms:
        if coef % bc:
            return None
        m = _mono_mul(mono, inv)
        if not allow_negative and any(p < 0 for _, p in m):
            return None
        out.append((m, coef // bc))
    return Expr(out)


def exact_quotient(a: Expr, b: Expr) -> Expr | None:
    """``a / b`` when ``b`` is one term that divides every term of ``a`` into a polynomial; else None."""
    return _try_exact(a, b, allow_negative=False)


def floordiv(a: Expr, b: Expr) -> Expr:
    """Canonical ``a // b`` for positive ``b``."""
    bv = b.value
    if bv is not None:
        if bv <= 0:
            raise ZeroDivisionError("division by a non-positive size")
        if bv == 1:
            return a
        av = a.value
        if av is not None:
            return const(av // bv)
        # floor((bv*q + r) / bv) == q + floor(r / bv) for integer q
        outside = []
        inside = []
        for mono, coef in a.terms:
            if not mono:
                inside.append((mono, coef))
                continue
            q, r = divmod(coef, bv)
            if q:
                outside.append((mono, q))
            if r:
                inside.append((mono, r))
        rest = Expr(inside)
        if rest.is_const:
            return Expr(outside) + const((rest.value or 0) // bv)
        return Expr(outside) + _atom_expr(FloorDiv(rest, b))
    if a.value == 0:
        return a  # nothing divided by a positive size (a pooling window as long as its axis: ``0 // (n-2) + 1``)
    exact = _try_exact(a, b, allow_negative=False)
    if exact is not None:
        return exact
    return _atom_expr(FloorDiv(a, b))


# -- ordering facts ---------------------------------------------------------------------------

def _bounded(e: Expr, upper: bool, depth: int = 0) -> dict | None:
    """A rational polynomial that bounds ``e`` from below (or above), over monomials of symbols.

    Returns {mono: Fraction}; None if no bound is known. Monomials of symbols are >= 1.
    """
    out: dict = {}
    for mono, coef in e.terms:
        want_upper = upper if coef > 0 else not upper
        if all(isinstance(a, Sym) for a, _ in mono):
            out[mono] = out.get(mono, Fraction(0)) + coef
            continue
        if len(mono) == 1 and mono[0][1] == 1 and depth < 4:
            fd = mono[0][0]
            dv = fd.den.value
            if dv is None:
                if want_upper:
                    return None
                continue  # a // b >= 0
            inner = _bounded(fd.num, want_upper, depth + 1)
            if inner is None:
                return None
            # floor(x/d) <= x/d ; floor(x/d) >= (x - d + 1)/d
            for m, c in inner.items():
                out[m] = out.get(m, Fraction(0)) + coef * c / dv
            if not want_upper:
                out[()] = out.get((), Fraction(0)) + coef * Fraction(-(dv - 1), dv)
            continue
        if want_upper:
            return None
        if coef < 0:
            return None
        # a positive product involving floor divisions: >= 0
    return out


def provably_positive(e: Expr) -> bool:
    """True when ``e > 0`` for every assignment of positive integers to its symbols."""
    lo = _bounded(e, upper=False)
    if lo is None:
        return False
    total = Fraction(0)
    for mono, coef in lo.items():
        if mono and coef < 0:
            return _dominated(lo)
        total += coef
    return total > 0


def _dominated(lo: dict) -> bool:
    """A polynomial over symbols (each at least 1) whose negative terms are each covered by positive terms
    of multiples of their monomial, with something left over: positive (``2*e*d - d``, ``h*d - d + 1``).
    A multiple of a monomial is at least the monomial when every symbol is at least 1."""
    if any(p <= 0 for mono in lo for _a, p in mono):
        return False
    budget = {m: c for m, c in lo.items() if c > 0}
    for m, c in sorted(((m, -c) for m, c in lo.items() if c < 0), key=lambda t: -len(t[0])):
        need = dict(m)
        for other in sorted(budget, key=len):
            if c <= 0:
                break
            have = dict(other)
            if budget[other] > 0 and all(have.get(a, 0) >= p for a, p in need.items()):
                paid = min(c, budget[other])
                budget[other] -= paid
                c -= paid
        if c > 0:
            return False
    return any(v > 0 for v in budget.values())


def divided_symbol(atom) -> Sym | None:
    """The size a number above one divides in the atom ``c // 4`` (``c``); None for any other atom."""
    if isinstance(atom, FloorDiv) and atom.den.value is not None and atom.den.value > 1:
        return atom.num.as_sym()
    return None


def provably_distinct(a: Expr, b: Expr) -> bool:
    """True when ``a != b`` for every positive assignment (sizes are positive integers). A size divided by a
    number is a size too (``c // 4`` at least 1, so ``c`` at least 4): ``c // 2`` and ``c // 4`` differ."""
    d = a - b
    v = d.value
    if v is not None:
        return v != 0
    if provably_positive(d) or provably_positive(-d):
        return True
    least: dict = {}
    for e in (a, b):
        for mono, _c in e.terms:
            for atom, _p in mono:
                s = divided_symbol(atom)
                if s is not None:
                    least[s] = max(least.get(s, 1), atom.den.value)
    if not least:
        return False
    shifted = {s: _atom_expr(s) + const(k - 1) for s, k in least.items()}
    d = a.subst(shifted) - b.subst(shifted)
    return provably_positive(d) or provably_positive(-d)
