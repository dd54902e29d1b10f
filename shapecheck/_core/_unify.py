"""Unification and broadcasting with the named-axis semantics of the design.

* Inside one function, distinct annotation names are distinct axes: ``"d_model"`` never equals
  ``"d_ff"`` (both symbols of kind ``axis``).
* Elements of one tensor's shape (``B, T, C = x.size()``) are distinct from one another (kind
  ``dim:<group>``, same group), and one of them is distinct from a product or quotient of another
  (``N`` and ``C // heads``).
* A symbol from code (kind ``code``) meeting anything binds to it; so does an element of a shape;
  a name meeting a literal binds to it. The first binding wins; a later conflict is a mismatch.
* Sizes are positive integers: ``4*n`` is never ``n``. When two sizes merely cannot be proven
  equal, nothing is reported.
* The name bridge (``code_size``): an int the code calls ``d_model`` (``self.d_model``,
  ``cfg.d_model``) is the axis ``"d_model"``.

:class:`Env` holds the bindings and divisibility facts of one analysis scope.
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field

from ._algebra import Expr, FloorDiv, Sym, const, divided_symbol, exact_quotient, provably_distinct, sym
from ._parse import ShapeSpec
from ._shape import UNKNOWN, Shape, Unknown, Variadic

__all__ = ["Env", "compare", "unify_dim", "broadcast_dims", "broadcast_shapes", "match_spec", "SpecMismatch", "Bindings",
           "instantiate", "bridged_name", "code_size", "unnamed_size", "INFERRED_GROUP", "JOINED_GROUP",
           "holds_joined_part", "CALL_AXIS_GROUP"]

EQ, NE, UNK = "eq", "ne", "unknown"
INFERRED_GROUP = "dim:view@"  # the kind of the size a view infers for its -1 on a tensor of unknown size
JOINED_GROUP = "dim:cat@"  # the kind of what a part of unknown shape adds to the axis a ``cat`` joins
# the kind of an axis of a tensor the engine knows nothing of, named by the one call that reads it (an einsum's
# letter on an operand of unknown shape): a placeholder that what it meets names
CALL_AXIS_GROUP = "dim:einops:call:"


def bridged_name(name: str, aliases: dict | None = None) -> str:
    """The axis name an int of the code stands for: the last part of a dotted name (``cfg.d_model``
    -> ``d_model``), through the configured axis aliases (``axis-aliases``)."""
    short = name.rsplit(".", 1)[-1]
    return (aliases or {}).get(short, short)


def code_size(name: str, axis_names=frozenset(), aliases: dict | None = None) -> Expr:
    """The name bridge, for every face that reads sizes from code (the engine, the mypy plugin): an int
    named ``d_model``, ``self.d_model`` or ``cfg.d_model`` is the symbol ``d_model``, the same symbol
    as the annotation name ``"d_model"`` (a symbol's kind is not part of its identity). The kind says
    where it came from: ``axis`` when it names an axis of the annotations in scope (``axis_names``),
    else ``code``. The runtime does not bridge: as in jaxtyping, only annotations bind axes there."""
    short = bridged_name(name, aliases)
    return sym(short, "axis" if short in axis_names else "code")


@dataclass
class Env:
    """Bindings of symbols (with where each was bound) and divisibility facts."""

    bindings: dict = field(default_factory=dict)  # Sym -> (Expr, provenance str | None)
    divisible: set = field(default_factory=set)  # {(num Expr, den Expr)}
    # sizes named in code that are distinct axes from one another: int parameters, constructor
    # arguments and config fields (``d_src`` and ``d_tgt``, ``cfg.hidden`` and ``cfg.rank``)
    fields: frozenset = frozenset()
    # pairs of those sizes that may be one size all the same: int parameters with the same literal
    # default (``out_channels: int = 2, bwe_out_channels: int = 2``)
    alike: frozenset = frozenset()
    # the literal int defaults of those sizes (``dim_head=64``): a product of them the defaults make equal to
    # another (``bwe_in_channels=128`` and ``out_channels * num_mel_channels``, 2 and 64) may be that size
    defaults: dict = field(default_factory=dict)
    # the names each name is computed from anywhere in the file (``self.args.head_size = args.dim_att //
    # args.num_heads`` in another class), shared, never changed: sizes the file relates
    related: dict = field(default_factory=dict)
    # those sizes read off an object (``config.qk_head_dim``, ``cfg["n_embd"]``): fields of a configuration,
    # which another file may compute from the others (``qk_head_dim = qk_rope_head_dim + qk_nope_head_dim``)
    read: frozenset = frozenset()
    # whether sizes the code names differently are judged distinct (``fields``, ``defaults``); not in a module
    # analysed as built by default, whose callers may make the sizes they give equal where a part is left out
    names_distinct: bool = True

    def copy(self) -> "Env":
        return Env(dict(self.bindings), set(self.divisible), self.fields, self.alike, self.defaults, self.related,
                   self.read, self.names_distinct)

    def meet(self, other: "Env") -> "Env":
        """What both of two branches know: the bindings and facts they share. A size either branch named
        (``self.out = nn.Linear(emb_dim, num_tokens)`` on one branch only) is a size the code names."""
        out = Env(fields=self.fields | other.fields, alike=self.alike | other.alike,
                  defaults={**other.defaults, **self.defaults}, related=self.related, read=self.read | other.read,
                  names_distinct=self.names_distinct and other.names_distinct)
        for s, (e, prov) in self.bindings.items():
            o = other.bindings.get(s)
            if o is not None and o[0] == e:
                out.bindings[s] = (e, prov)
        out.divisible = self.divisible & other.divisible
        return out

    def resolve(self, d):
        if not isinstance(d, Expr):
            return d
        mapping = {s: e for s, (e, _) in self.bindings.items()} if self.bindings else None
        d = _substituted(d, mapping)
        if self.divisible and _has_floordiv(d):
            facts = frozenset(self.divisible)
            if mapping:  # ``embed_dim % h == 0`` holds of what ``embed_dim`` was bound to since
                facts |= frozenset((_substituted(n, mapping), _substituted(m, mapping)) for n, m in self.divisible)
            d = d.with_facts(facts)
        return d

    def bind(self, s: Sym, e: Expr, provenance: str | None = None) -> None:
        if s in e.symbols():
            return
        self.bindings[s] = (e, provenance)

    def provenance(self, s: Sym) -> str | None:
        b = self.bindings.get(s)
        return b[1] if b else None

    def unrelated_fields(self) -> frozenset:
        """The sizes named in code that no binding relates to another such size (``assert in_ch ==
        out_ch`` in a constructor relates both): what another method may take as distinct axes."""
        related = set()
        for s, (e, _) in self.bindings.items():
            others = {t.name for t in e.symbols() if t.name in self.fields}
            if s.name in self.fields and others:
                related |= others | {s.name}
        return frozenset(self.fields - related)

    def add_divisible(self, num: Expr, den: Expr) -> None:
        num = self.resolve(num)
        den = self.resolve(den)
        if den.value == 1:
            return
        self.divisible.add((num, den))


def _substituted(d: Expr, mapping: dict | None) -> Expr:
    """``d`` with its bound symbols replaced by what they are bound to (bindings may chain)."""
    if not mapping:
        return d
    for _ in range(8):
        nd = d.subst(mapping)
        if nd == d:
            break
        d = nd
    return d


def _has_floordiv(d: Expr) -> bool:
    return any(isinstance(a, FloorDiv) for m, _ in d.terms for a, _p in m)


def _kind(s: Sym) -> str:
    return s.kind or "axis"


def _rigid_pair(a: Sym, b: Sym) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka == "axis" and kb == "axis":
        return True
    if ka.startswith("dim:") and ka == kb:
        return True
    return False


def compare(a, b, env: Env | None = None) -> str:
    """``eq`` when provably equal, ``ne`` when provably different, else ``unknown``."""
    if isinstance(a, (Unknown, Variadic)) or isinstance(b, (Unknown, Variadic)):
        return UNK
    a0, b0 = a, b
    if env is not None:
        a, b = env.resolve(a), env.resolve(b)
    if a == b:
        return EQ
    if (a.value == 0) != (b.value == 0) and (a.value is None or b.value is None):
        return UNK  # an axis of data may be empty: a size the code does not fix may be 0 (``x[:, 1:]`` of one token)
    if provably_distinct(a, b):
        return NE
    sa, sb = a.as_sym(), b.as_sym()
    if sa is not None and sb is not None and _rigid_pair(sa, sb) and _rigid_origin(a0) and _rigid_origin(b0):
        return NE
    if _siblings(a0, b0):
        return NE  # two axes of one tensor (``rows, cols = x.size()``) are distinct axes
    if _sibling_derived(a0, b0) or _sibling_derived(b0, a0):
        return NE  # ``N`` against ``C // heads`` of ``B, N, C = x.shape``: the sequence is not the head size
    if env is not None and not env.names_distinct:
        return UNK
    if env is not None and env.fields and (_distinct_fields(a0, b0, env)
                                           or _distinct_fields(_as_named(a0, a), _as_named(b0, b), env)
                                           or _distinct_fields(_met_field(a0, env), _met_field(b0, env), env)):
        return NE  # two sizes the code names differently (``d_src``, ``d_tgt``) are distinct axes
    pair = _cancelled(a, b) if env is not None and env.fields else None
    if pair is not None and (_distinct_fields(pair[0], pair[1], env) or _field_against_product(pair[0], pair[1], env)
                             or _field_against_product(pair[1], pair[0], env)):
        return NE  # ``d_model*win`` against ``d_ff*win``: the same number of parts of two distinct sizes
    if env is not None and env.fields and (_field_against_product(a, b, env) or _field_against_product(b, a, env)
                                           or _field_against_product(_met_field(a, env), b, env)
                                           or _field_against_product(_met_field(b, env), a, env)):
        # ``dim`` against ``heads*dim_head``: a size the code names and a product of others it names (``dim`` as
        # the channels ``b, c, h, w = x.shape`` read, which it was bound to)
        return NE
    if env is not None and env.defaults and (_default_against_literal(a, b, env)
                                             or _default_against_literal(b, a, env)):
        return NE  # ``opt.latent_dim`` (10 by default) against 512: not the size it is by default
    return UNK


def _cancelled(a: Expr, b: Expr) -> tuple | None:
    """Two products of sizes with their common factors divided out (``d_model*win``, ``d_ff*win``: ``d_model``,
    ``d_ff``); None when they are not both one product or share no size."""
    if len(a.terms) != 1 or len(b.terms) != 1 or a.value is not None or b.value is not None:
        return None
    (ma, _ca), (mb, _cb) = a.terms[0], b.terms[0]
    pb = dict(mb)
    common = const(1)
    for atom, p in ma:
        if isinstance(atom, Sym) and atom in pb:
            for _ in range(min(p, pb[atom])):
                common = common * sym(atom.name, atom.kind)
    if common.value is not None:
        return None
    qa, qb = exact_quotient(a, common), exact_quotient(b, common)
    return (qa, qb) if qa is not None and qb is not None else None


def _as_named(e0: Expr, e: Expr) -> Expr:
    """A size the code never named (``x[1]``, read as ``x.size(1)``) bound to a size it names (``assert
    x.size(1) == self.in_features``) is that size; anything else is itself."""
    s0 = e0.as_sym()
    if s0 is None or e == e0 or not _unnamed(s0) or e.as_sym() is None:
        return e0
    return e


def _met_field(e: Expr, env: Env) -> Expr:
    """An axis of data that one size the code names met and was bound to (``B, T, C = x.size()`` then ``x +
    self.mix`` with ``mix`` of ``hidden_size`` features binds ``hidden_size`` to ``C``): that size, so that
    ``C`` meeting another such size (a layer built for ``dim_att``) is seen as the two sizes meeting. Not
    when several sizes from code were bound to the axis."""
    s = e.as_sym()
    if s is None or s.name in env.fields or not (_kind(s).startswith("dim:") or _unnamed(s)):
        return e
    found = None
    for f, (bound, _) in env.bindings.items():
        if f.name in env.fields and bound == e:
            if found is not None:
                return e
            found = f
    return e if found is None else sym(found.name, found.kind)


def _distinct_fields(a: Expr, b: Expr, env: Env) -> bool:
    """Two different names of sizes from code that the code does not relate: distinct axes. One bound to
    a data axis (``out_chans`` met the channels of an unannotated input) is still that size, distinct from
    the others; one bound to an expression of another size from code (``assert a == b``) is related."""
    sa, sb = a.as_sym(), b.as_sym()
    if sa is None or sb is None or sa == sb or sa.name not in env.fields or sb.name not in env.fields:
        return False
    if frozenset((sa.name, sb.name)) in env.alike:
        return False
    return not _related(sa, env) and not _related(sb, env)


def _field_against_product(a: Expr, b: Expr, env: Env) -> bool:
    """``a`` one size the code names and ``b`` a product of others it names, or a sum of such products, none
    of them ``a`` and none squared unless times another size (``dim`` against ``heads*dim_head``, ``in_planes``
    against ``4*planes``, ``output_dim`` against ``emb_dim + 2*hid_dim``, ``hidden`` against
    ``patch*patch*chans``): distinct axes, as ``d_src`` and ``d_tgt`` are, unless the
    code relates them (in this scope, or anywhere in the file: ``Env.related``) or their defaults make them
    one size. A square alone (``block_size*block_size``) is an area, which a length of another size is often
    computed to be; it is not judged. Nor is a sum of fields of a configuration (``Env.read``): a config
    class in another file often defines one field as the sum of others."""
    sa = a.as_sym()
    if sa is None or sa.name not in env.fields or _related(sa, env) or not b.terms or b.as_sym() is not None:
        return False
    near = env.related.get(sa.name, frozenset())
    atoms = set()
    for mono, coef in b.terms:
        # a part of a size (``context_dim // 2``) stands for the size it divides; not one of a configuration's
        # fields, which a config class often sizes to fit (``lstm_hidden // 2`` per direction for a d_model)
        if any(_divided(t) is not t and (_divided(t).name in env.read or _divisor_read(t, env)) for t, _p in mono):
            return False
        mono = tuple((_divided(t), p) for t, p in mono)
        # a square alone is an area a length is often computed to be; times another size (a flattened patch,
        # ``patch*patch*chans``) it is a count of features
        squares_ok = any(p == 1 for _t, p in mono)
        if coef <= 0 or not mono or any(not isinstance(t, Sym) or p != 1 and not (p == 2 and squares_ok)
                                        for t, p in mono):
            return False
        atoms |= {t for t, _p in mono}
    if len(b.terms) > 1 and (sa.name in env.read or any(t.name in env.read for t in atoms)):
        return False
    known = sa.name in env.defaults and all(t.name in env.defaults for t in atoms)
    if known and b.subst({t: const(env.defaults[t.name]) for t in atoms}).value == env.defaults[sa.name]:
        return False  # ``bwe_in_channels=128`` against ``out_channels*num_mel_channels``, 2 and 64
    for t in atoms:
        if t.name == sa.name or t.name not in env.fields or _related(t, env) or t.name in near \
                or sa.name in env.related.get(t.name, frozenset()):
            return False
        if frozenset((sa.name, t.name)) in env.alike and not known:
            return False  # one literal default for both; with every default known, the product is not it
    return True


def _divided(t):
    """The size a literal divides (``context_dim`` of ``context_dim//4``), or another size the code names
    (``dim_out`` of ``dim_out//heads``, a head's share of it); any other atom as it is."""
    s = divided_symbol(t)
    if s is None and isinstance(t, FloorDiv) and t.den.as_sym() is not None:
        s = t.num.as_sym()
    return t if s is None else s


def _divisor_read(t, env: Env) -> bool:
    """``t`` divides by a field of a configuration (``hidden_size // num_attention_heads``), which a config class
    often relates to another field (its ``head_dim``)."""
    den = t.den.as_sym() if isinstance(t, FloorDiv) else None
    return den is not None and den.name in env.read


def _default_against_literal(a: Expr, b: Expr, env: Env) -> bool:
    """``a`` a script's command-line option with an int default (``opt.latent_dim``, ``--latent_dim`` 10 by
    default), which nothing bound or related, against a literal it is not by default (512): the script fails
    as it is run without options. Only options read off the parsed command line (``Env.read``): a parameter's
    default is what a caller replaces, and the code may be written for the values its callers give."""
    sa = a.as_sym()
    if sa is None or b.value is None or sa.name not in env.fields or sa.name not in env.read \
            or sa.name not in env.defaults or _related(sa, env):
        return False
    return env.defaults[sa.name] != b.value


def _related(s: Sym, env: Env) -> bool:
    """Is ``s`` bound to something that mentions a size from code (itself related to other sizes)?"""
    if s not in env.bindings:
        return False
    return any(_kind(t) == "code" or t.name in env.fields for t in env.resolve(env.bindings[s][0]).symbols())


def _siblings(a: Expr, b: Expr) -> bool:
    sa, sb = a.as_sym(), b.as_sym()
    return sa is not None and sb is not None and sa != sb and _kind(sa).startswith("dim:") \
        and _kind(sa) == _kind(sb)


def _sibling_derived(a: Expr, b: Expr) -> bool:
    """``a`` is one axis of a tensor and ``b`` a product or quotient of another axis of the same tensor
    (``N`` and ``C // heads``, ``H`` and ``2*W``): distinct axes, as ``N`` and ``C`` are. A sum
    (``W // 2 + 1``) is not judged."""
    sa = a.as_sym()
    if sa is None or not _kind(sa).startswith("dim:") or len(b.terms) != 1 or sa in b.symbols():
        return False
    mono, coef = b.terms[0]
    if coef <= 0:
        return False
    for atom, power in mono:
        if power <= 0:
            continue
        top = atom.num.symbols() if isinstance(atom, FloorDiv) else {atom}
        if any(t != sa and _kind(t) == _kind(sa) for t in top):
            return True
    return False


def _rigid_origin(e: Expr) -> bool:
    """A size is rigid when it is written as a name, not reached through a binding of a size from code:
    ``n`` bound to "query" and compared with "key" says only that query == key == n, no contradiction."""
    s = e.as_sym()
    return s is None or not (_kind(s) == "code" or _kind(s).startswith("dim:"))


def _bindable(s: Sym, other: Expr) -> bool:
    k = _kind(s)
    if k == "code" or k.startswith("dim:"):
        return True
    return other.value is not None  # a name meeting a literal binds to it


def unify_dim(a, b, env: Env, provenance: str | None = None) -> bool | None:
    """Equate two sizes: True (equal, possibly by binding), False (contradiction), None (unknown)."""
    r = compare(a, b, env)
    if r == EQ:
        return True
    if r == NE:
        return False
    if isinstance(a, (Unknown, Variadic)) or isinstance(b, (Unknown, Variadic)):
        return None
    a, b = env.resolve(a), env.resolve(b)
    sa, sb = a.as_sym(), b.as_sym()
    order = []
    if sa is not None and _bindable(sa, b):
        order.append((sa, b))
    if sb is not None and _bindable(sb, a):
        order.append((sb, a))
    # prefer binding a size the code never named (the -1 a view inferred, ``-1@12``; an axis read or unpacked as
    # ``_``, ``x[2]``; a call's own axis of a tensor of unknown shape: what it meets has the better name), then a
    # symbol from code, then an element of a shape, then a name
    rank = {"code": 0}
    order.sort(key=lambda t: -1 if _unnamed(t[0]) or _kind(t[0]).startswith(CALL_AXIS_GROUP) else
               rank.get(_kind(t[0]), 1 if _kind(t[0]).startswith("dim:") else 2))
    for s, e in order:
        if _may_bind(s, e):
            env.bind(s, e, provenance)
            return True
    for x, y in ((a, b), (b, a)):
        # ``C*4`` (four parts of ``B, L, C = x.shape`` joined) against ``dim*4``: ``C`` is ``dim``. Only where the
        # other side divides exactly (``C*4`` against ``dim*2`` learns nothing)
        if len(x.terms) == 1 and len(x.terms[0][0]) == 1 and x.terms[0][0][0][1] == 1 and x.terms[0][1] > 1:
            t = x.terms[0][0][0][0]
            q = exact_quotient(y, const(x.terms[0][1]))
            if isinstance(t, Sym) and q is not None and _bindable(t, q) and _may_bind(t, q):
                env.bind(t, q, provenance)
                return True
    return None


def _may_bind(s: Sym, e: Expr) -> bool:
    """``s`` may be bound to ``e``: ``e`` does not hold it, and holds no sibling of it (``T`` against ``C // n``:
    the axes of one shape are distinct axes; never equate them)."""
    k = _kind(s)
    return s not in e.symbols() and not (k.startswith("dim:") and any(_kind(o) == k for o in e.symbols()))


def _unnamed(s: Sym) -> bool:
    """A size the code never named: the -1 a view inferred (``-1@12``), an axis read as ``x.shape[2]`` or
    unpacked as ``_`` (``x[2]``)."""
    k = _kind(s)
    return k.startswith(INFERRED_GROUP) or k.startswith("dim:") and s.name.rstrip("'").endswith("]")


def unnamed_size(d) -> bool:
    """Is ``d`` one size the code never named (``-1@12``, ``x[2]``)? Its name says nothing of what it holds."""
    s = d.as_sym() if isinstance(d, Expr) else None
    return s is not None and _unnamed(s)


def _is_one(d) -> bool:
    return isinstance(d, Expr) and d.value == 1


def broadcast_dims(a, b, env: Env):
    """The broadcast of two axes and whether they are compatible (False only when proven not)."""
    if _is_one(a):
        return b, True
    if _is_one(b):
        return a, True
    # an unknown axis against a known one: if the program runs, the result is the known axis
    # (unless the known axis is 1, which the checks above handled for literals)
    if isinstance(a, Unknown):
        return (b if isinstance(b, Expr) else UNKNOWN), True
    if isinstance(b, Unknown):
        return (a if isinstance(a, Expr) else UNKNOWN), True
    r = compare(a, b, env)
    if r == EQ:
        return env.resolve(a), True
    if r == UNK and (holds_joined_part(a) or holds_joined_part(b)):
        # what a ``cat`` joined with a part of unknown shape (``n + mem[1]``, at least 2): an unknown size, so the
        # other axis, as for an unknown one, if the program runs
        return (b if holds_joined_part(a) else a), True
    if r == UNK and (_call_axis(a) or _call_axis(b)):
        # an axis of a tensor the engine knows nothing of (named by the one call that read it): the other axis,
        # as for an unknown one
        return (b if _call_axis(a) else a), True
    if r == NE and (unnamed_axis(env.resolve(a)) or unnamed_axis(env.resolve(b))):
        # an axis of a tensor read off it that the code never named, nor a layer since (``_, _, T = mask.size()``
        # of a ``(B, 1, T)`` mask): it may be 1, so it broadcasts; the other axis, as for an unknown one
        return (b if unnamed_axis(env.resolve(a)) else a), True
    if r == NE and (_one_by_default(a, env) or _one_by_default(b, env)):
        return UNKNOWN, True  # ``opt.channels`` (1 by default) broadcasts as the script runs by default
    if r == NE:
        # a named axis or a literal > 1 against another: may still be 1 at run time only for
        # symbols from code; names and literals are taken at their word
        return a, False
    if r == UNK and isinstance(a, Expr) and isinstance(b, Expr) and a.value is None and b.value is None:
        # two sizes made of the same symbols (``r`` and ``((r + 1) // 2) * 2``, a rotary table's
        # width built with ``arange(0, r, 2)``): if the program runs they are one size; keep the simpler
        sa, sb = set(a.symbols()), set(b.symbols())
        if sa and sa == sb:
            return (a if len(str(a)) <= len(str(b)) else b), True
    return UNKNOWN, True


_UNNAMED = re.compile(r".+\[-?\d+\]'*")


def unnamed_axis(d) -> bool:
    """An axis of a tensor of unknown shape that the code never named, known by its place only (``mask[1]`` of
    ``_, _, T = mask.size()``, ``x[0]`` of ``x[:, :1]``): it may be 1."""
    s = d.as_sym() if isinstance(d, Expr) else None
    return s is not None and _kind(s).startswith("dim:") and _UNNAMED.fullmatch(s.name) is not None


def _call_axis(d) -> bool:
    s = d.as_sym() if isinstance(d, Expr) else None
    return s is not None and _kind(s).startswith(CALL_AXIS_GROUP)


def holds_joined_part(d) -> bool:
    """Does the size ``d`` hold what a part of unknown shape added to the axis a ``cat`` joined?"""
    return isinstance(d, Expr) and any(s.kind.startswith(JOINED_GROUP) for s in d.symbols())


def _one_by_default(d, env: Env) -> bool:
    """A script's option that is 1 by default (``Env.defaults``): an axis that broadcasts as the script runs."""
    s = d.as_sym() if isinstance(d, Expr) else None
    return s is not None and env.defaults.get(s.name) == 1


def broadcast_shapes(shapes, env: Env):
    """Broadcast shapes; returns (shape, [(i_from_right, a_dim, b_dim, index_a, index_b)...])."""
    shapes = list(shapes)
    if not shapes:
        return Shape(()), []
    result = shapes[0]
    errors = []
    for other in shapes[1:]:
        result, errs = _broadcast2(result, other, env)
        errors.extend(errs)
    return result, errors


def _without_prefix(s: Shape) -> Shape:
    """``b *rest d`` as ``... d``: the axes before the variadic segment, whose positions from the right
    are unknown, dropped."""
    v = s.variadic_index
    if not v:
        return s
    origins = (None,) + tuple(s.origins[v + 1:]) if s.origins else ()
    return Shape((Variadic(None),) + s.dims[v + 1:], origins)


def _split(s: Shape):
    v = s.variadic_index
    if v is None:
        return None, list(s.dims), list(s.origins) if s.origins else [None] * len(s.dims)
    origins = list(s.origins) if s.origins else [None] * len(s.dims)
    return s.dims[v], list(s.dims[v + 1:]), origins[v + 1:]


def _broadcast2(a: Shape, b: Shape, env: Env):
    ia, ib = a.variadic_index, b.variadic_index
    if ia or ib:  # axes before a variadic segment (``b *rest``): aligned from the right, so only known
        # when both operands start the same way
        same = ia == ib and a.dims[:ia + 1] == b.dims[:ib + 1]
        out, errors = _broadcast2(_without_prefix(a), _without_prefix(b), env)
        if same and out.dims[:1] == (Variadic(None),):
            prefix = a.dims[:ia + 1]
            origins = (list(a.origins[:ia + 1]) if a.origins else [None] * (ia + 1)) + \
                (list(out.origins[1:]) if out.origins else [None] * (len(out.dims) - 1))
            out = Shape(prefix + out.dims[1:], tuple(origins))
        return out, errors
    va, da, oa = _split(a)
    vb, db, ob = _split(b)
    n = max(len(da), len(db))
    out = []
    outo = []
    errors = []
    for k in range(1, n + 1):
        xa = da[-k] if k <= len(da) else (None if va is None else UNKNOWN)
        xb = db[-k] if k <= len(db) else (None if vb is None else UNKNOWN)
        if xa is None:
            out.append(xb)
            outo.append(ob[-k] if k <= len(ob) else None)
            continue
        if xb is None:
            out.append(xa)
            outo.append(oa[-k] if k <= len(oa) else None)
            continue
        if k > len(da) or k > len(db):  # one side is inside a variadic segment: the other decides
            d, _ok = broadcast_dims(xa, xb, env)
            out.append(d)
            outo.append((oa[-k] if k <= len(oa) else None) if k <= len(da) else (ob[-k] if k <= len(ob) else None))
            continue
        d, ok = broadcast_dims(xa, xb, env)
        if not ok:
            errors.append((-k, xa, xb))
        out.append(d)
        origin = oa[-k] if (d == xa and k <= len(oa)) else (ob[-k] if k <= len(ob) else None)
        outo.append(origin)
    out.reverse()
    outo.reverse()
    lead = []
    if va is not None or vb is not None:
        lead = [va if (va is not None and (vb is None or va == vb) and len(db) <= len(da)) else
                (vb if (vb is not None and va is None and len(da) <= len(db)) else Variadic(None))]
        outo = [None] + outo
    return Shape(tuple(lead + out), tuple(outo)), errors


# -- matching a value against an annotation ---------------------------------------------------

@dataclass(frozen=True)
class Bindings:
    """A callee's axis names instantiated at one call, filled in as its arguments are matched.

    ``sizes`` maps a name to the caller's size it stands for, ``segments`` a variadic name
    (``*batch``) to the tuple of sizes it covers, ``where`` a name to what bound it (for notes)."""

    sizes: dict = field(default_factory=dict)
    segments: dict = field(default_factory=dict)
    where: dict = field(default_factory=dict)

    def copy(self) -> "Bindings":
        return Bindings(dict(self.sizes), dict(self.segments), dict(self.where))


@dataclass(frozen=True)
class SpecMismatch:
    kind: str  # "rank" | "axis"
    index: int | None  # axis position in the value (from the left), or None for rank
    expected: object  # Expr / str
    actual: object
    name: str | None = None  # the annotation token
    bound_at: str | None = None  # where the expected size was bound


def match_spec(spec: ShapeSpec, shape: Shape, env: Env, inst: Bindings | None = None,
               provenance: str | None = None) -> list:
    """Check ``shape`` against ``spec``.

    With ``inst is None`` the spec's names are the current function's own axes (symbols of kind
    ``axis``). With :class:`Bindings`, they are the callee's names instantiated for this call, filled
    in as names are met.
    """
    out = []
    if shape.is_any:
        return out
    axes = spec.axes
    sv = spec.variadic_index
    vv = shape.variadic_index
    dims = list(shape.dims)
    if sv is None and vv is None and len(axes) != len(dims):
        return [SpecMismatch("rank", None, len(axes), len(dims))]
    if sv is not None and vv is None and len(dims) < len(axes) - 1:
        return [SpecMismatch("rank", None, f"at least {len(axes) - 1}", len(dims))]
    if sv is None and vv is not None and len(dims) - 1 > len(axes):
        return [SpecMismatch("rank", None, len(axes), f"at least {len(dims) - 1}")]

    pairs = []  # (axis spec, dim, index in shape)
    if sv is None and vv is None:
        pairs = [(axes[i], dims[i], i) for i in range(len(axes))]
    else:
        # align the prefix before the first variadic and the suffix after the last one
        pre = min(sv if sv is not None else len(axes), vv if vv is not None else len(dims))
        for i in range(pre):
            pairs.append((axes[i], dims[i], i))
        post_s = len(axes) - (sv + 1) if sv is not None else len(axes) - pre
        post_v = len(dims) - (vv + 1) if vv is not None else len(dims) - pre
        post = min(post_s, post_v)
        for k in range(1, post + 1):  # counted from the end when the value's rank is unknown
            pairs.append((axes[-k], dims[-k], len(dims) - k if vv is None else -k))
        if sv is not None and vv is None and inst is not None:
            name = axes[sv].name if axes[sv].kind != "anon" else None
            if name:
                seg = tuple(dims[sv: len(dims) - post_s])
                prev = inst.segments.get(name)
                if prev is None:
                    inst.segments[name] = seg
                elif axes[sv].broadcast:  # "*#batch": the segments broadcast together
                    merged, errs = broadcast_shapes([Shape(tuple(prev)), Shape(seg)], env)
                    inst.segments[name] = tuple(merged.dims)
                    for _k, a, b in errs[:1]:
                        out.append(SpecMismatch("axis", None, a, b, name="*" + name))
                elif len(prev) != len(seg):
                    out.append(SpecMismatch("rank", None, f"*{name} of {len(prev)} axes", f"{len(seg)} axes",
                                            name="*" + name))
                else:
                    for p, q in zip(prev, seg):
                        if unify_dim(p, q, env, provenance) is False:
                            out.append(SpecMismatch("axis", None, p, q, name="*" + name))

    for ax, d, idx in pairs:
        if ax.variadic or isinstance(d, Variadic):
            continue
        if ax.kind == "anon":
            continue
        if ax.broadcast and isinstance(d, Expr) and d.value == 1:
            continue
        if ax.kind == "fixed":
            expected = const(ax.value)
        elif ax.kind == "named":
            if inst is None:
                expected = Expr(((((Sym(ax.name, "axis"), 1),), 1),))
            else:
                if ax.name not in inst.sizes:
                    if isinstance(d, Unknown):
                        continue
                    inst.sizes[ax.name] = d
                    inst.where[ax.name] = provenance
                    continue
                expected = inst.sizes[ax.name]
        else:  # expression over names
            if inst is None:
                expected = ax.expr
            else:
                mapping = {}
                for s in ax.expr.symbols():
                    if s.name not in inst.sizes:
                        mapping = None
                        break
                    mapping[s] = inst.sizes[s.name]
                if mapping is None:
                    continue
                expected = ax.expr.subst(mapping)
        if isinstance(d, Unknown):
            continue
        if unify_dim(expected, d, env, provenance) is False:
            where = None
            if inst is not None and ax.name:
                where = inst.where.get(ax.name)
            out.append(SpecMismatch("axis", idx, env.resolve(expected), env.resolve(d), name=ax.text,
                                    bound_at=where))
    return out


def instantiate(spec: ShapeSpec, inst: Bindings) -> Shape:
    """The shape a callee's annotation denotes under the bindings of one call."""
    items = []
    for ax in spec.axes:
        if ax.variadic:
            name = ax.name if ax.kind != "anon" else None
            seg = inst.segments.get(name) if name else None
            if seg is not None:
                items.extend(seg)
            else:
                items.append(Variadic(None))
            continue
        if ax.kind == "fixed":
            items.append(const(ax.value))
        elif ax.kind == "named":
            items.append(inst.sizes.get(ax.name, UNKNOWN))
        elif ax.kind == "expr":
            mapping = {}
            ok = True
            for s in ax.expr.symbols():
                if s.name not in inst.sizes or not isinstance(inst.sizes[s.name], Expr):
                    ok = False
                    break
                mapping[s] = inst.sizes[s.name]
            items.append(ax.expr.subst(mapping) if ok else UNKNOWN)
        else:
            items.append(UNKNOWN)
    # at most one variadic survives
    seen = False
    cleaned = []
    for it in items:
        if isinstance(it, Variadic):
            if seen:
                continue
            seen = True
        cleaned.append(it)
    return Shape(tuple(cleaned))
