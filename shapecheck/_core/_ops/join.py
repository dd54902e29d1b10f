"""Joining and splitting: cat, stack, split, chunk, unbind."""

from __future__ import annotations

from .._algebra import Expr, FloorDiv, const, sym
from .._shape import UNKNOWN, Shape, Unknown, Variadic
from .._unify import JOINED_GROUP, holds_joined_part
from .._roles import RoleOrigin
from ._registry import Site, as_int, as_size, qd, shape_rule
from ._util import axes, build, known, locate


def _tensors(tensors):
    if isinstance(tensors, (tuple, list)):
        return list(tensors)
    return None


@shape_rule("torch.cat", "torch.concat", "torch.concatenate",
            ok=["b n d, b m d | dim=1 -> b n+m d", "b d, b e | -1 -> b d+e", "n, m -> n+m", "*B d, *B e | -1 -> *B d+e",
                "_ c n w, b c m w | dim=2 -> b c n+m w", "*B d, *C e | dim=1 -> _ _ ..."],
            bad=["b n d, b n e | dim=1 ! SHP110", "b n, b n d | 0 ! SHP104", "b n, b n | 2 ! SHP106"])
def cat(site: Site, *args, **kwargs) -> Shape | None:
    """``torch.cat(tensors, dim=0)``: sizes along ``dim`` add up; every other axis must agree.

    In the examples the tensors are written as separate shapes; in code they arrive as one tuple.
    """
    tensors = args[0] if args and isinstance(args[0], (tuple, list)) else None
    rest = args[1:] if tensors is not None else ()
    if tensors is None:  # the examples' spelling: shapes as separate arguments
        tensors = [a for a in args if isinstance(a, Shape)]
        rest = tuple(a for a in args if not isinstance(a, Shape))
    dim = kwargs.get("dim", kwargs.get("axis", rest[0] if rest else 0))
    shapes = _tensors(tensors)
    if shapes and all(isinstance(s, Shape) for s in shapes) and any(s.is_any for s in shapes) \
            and not all(s.is_any for s in shapes):
        told = [s for s in shapes if not s.is_any]
        if len(told) == 1:
            # ``torch.cat((memory, v), dim=-2)`` with ``memory`` of unknown shape: every part has ``v``'s axes
            # but the joined one, ``v``'s size there and more
            unknown = [s for s in shapes if s.is_any]
            out = _with_unknown_part(site, told[0], dim, unknown[0].label if len(unknown) == 1 else None)
            if out is not None:
                return out
    if shapes and all(isinstance(s, Shape) for s in shapes) and any(s.rank is None for s in shapes):
        joined = _join_variadic(site, shapes, dim, "cat")
        d = as_int(dim)
        if joined is None and d is not None and 0 <= d < 8 and _front_mismatch(site, shapes, d):
            return None
        if joined is None and d is not None and 0 <= d < 8 and all(s.rank is None for s in shapes):
            # ``torch.cat([emb, ctx], dim=1)`` of tensors of unknown rank: each has at least ``dim + 1`` axes
            return Shape((UNKNOWN,) * (d + 1) + (Variadic(None),))
        return joined
    if not shapes or not all(known(s) for s in shapes):
        return None
    rank = shapes[0].rank
    for s in shapes[1:]:
        if s.rank != rank:
            site.error("SHP104", f"{site.op} joins tensors of {rank} and {s.rank} axes",
                       notes=(f"{shapes[0].label or 'the first tensor'} has shape ({shapes[0]})",
                              f"{s.label or 'another tensor'} has shape ({s})"))
            return None
    if rank == 0:
        site.error("SHP104", f"{site.op} cannot join scalars (0-D tensors)")
        return None
    d = site.normalize_dim(dim, rank, shapes[0])
    if d is None:
        return None
    first = shapes[0]
    for s in shapes[1:]:
        for i in range(rank):
            if i == d:
                continue
            if site.unify(first.dims[i], s.dims[i]) is False:
                site.error("SHP110", f"{site.op} along dim {d} needs equal {axis_word(i, rank)}, got "
                                     f"{qd(site.resolve(first.dims[i]))} and {qd(site.resolve(s.dims[i]))}",
                           notes=(site.axis_note(first, i), site.axis_note(s, i)))
                return None
    ax = _agreed_axes(shapes)
    ax[d] = (_joined_size(site, shapes, d), joined_origin(site, d))
    return build(ax)


def joined_origin(site: Site, d: int | None) -> str | None:
    """Where a joined axis got its size, ``joined along axis 2 by the `cat` at model.py:41``: a check that meets
    the sum far from the join (a second ``cat`` along another axis, a layer's input channels) says which join
    made it. ``d`` is the axis as the code gives it (None where it is not a literal)."""
    if not site.where:
        return None
    along = f" along axis {d}" if d is not None else ""
    return f"joined{along} by the `{site.op}` at {site.where}"


def _joined_size(site: Site, shapes: list, d: int):
    """The size of the joined axis ``d``: the parts' sizes added, as the scope's facts read the sum (the halves
    of an even ``d`` joined again, ``(d//2)*2``, are ``d``); a part of unknown size there adds a size of its
    own (``_plus_unknown_part``). Unknown where no part's size is known."""
    if not any(isinstance(s.dims[d], Expr) for s in shapes):
        return UNKNOWN
    total = const(0)
    for s in shapes:
        if isinstance(s.dims[d], Unknown):
            total = _plus_unknown_part(site, total, d, s.label)
        elif isinstance(s.dims[d], Expr) and isinstance(total, Expr):
            total = total + s.dims[d]
        else:
            return UNKNOWN
    return total.with_facts(site.env.divisible) if isinstance(total, Expr) else total


def _with_unknown_part(site: Site, told: Shape, dim, label: str | None = None) -> Shape | None:
    """What ``cat`` along ``dim`` gives of ``told`` and parts of unknown shape: ``told``'s axes, the joined one
    ``told``'s size there plus the unknown part's (a size of its own, named after that part where there is one;
    unknown where ``told``'s is) (an axis of a variadic segment that ``dim`` reaches is made explicit; the axes
    known on the segment's other side are dropped where one of them may be it). None where that cannot be
    told."""
    if told.rank is not None:
        if told.rank == 0:
            return None
        d = site.normalize_dim(dim, told.rank, told)
        if d is None:
            return None
        ax = axes(told)
        ax[d] = (_plus_unknown_part(site, told.dims[d], d, label), None)
        return build(ax)
    n = as_int(dim)
    v = told.variadic_index
    if n is None or v is None or not -8 <= n < 8:
        return None
    dims = list(told.dims)
    origins = list(told.origins) if told.origins else [None] * len(dims)
    lead, trail = v, len(dims) - v - 1
    # the joined axis may be one of the axes known on the segment's other side (``b ... d`` joined along -2 is
    # ``b d`` joined along its first axis where the segment is empty): those axes are not known in the result
    if n < 0 and lead and -n > trail:
        dims, origins, v = dims[v:], origins[v:], 0
    elif n >= 0 and trail and n >= lead:
        dims, origins = dims[:v + 1], origins[:v + 1]
    if n < 0:
        pad = max(0, -n - (len(dims) - v - 1))
        dims[v + 1:v + 1] = [UNKNOWN] * pad
        origins[v + 1:v + 1] = [None] * pad
        k = len(dims) + n
    else:
        pad = max(0, n + 1 - v)
        dims[v:v] = [UNKNOWN] * pad
        origins[v:v] = [None] * pad
        k = n
    dims[k], origins[k] = UNKNOWN, None
    return Shape(tuple(dims), tuple(origins))


def _plus_unknown_part(site: Site, size, d: int, label: str | None):
    """``size`` joined with what a part of unknown shape has along axis ``d``: a size of its own that only the
    part has (``cat((cls, x), dim=1)`` of ``(b, 1, dim)`` is ``(b, 1 + x[1], dim)``), unknown where ``size``
    is. The part's size is no other size, so it binds to none: the sum is never equated to a single size, only
    proven different from one it exceeds (``dim + x[2]`` is not ``dim``)."""
    if not isinstance(size, Expr):
        return UNKNOWN
    name = (label or "").strip("`")
    line = (site.where or "").rpartition(":")[2]
    name = f"{name}[{d}]" if name.isidentifier() else f"cat@{line if line.isdigit() else 0}"
    return size + sym(name, f"{JOINED_GROUP}{site.where or ''}:{d}:{name}")


def _agreed_axes(shapes: list) -> list:
    """The axes of the first shape, an unknown one taken from another part that knows it (every part of a
    join has the same size there, or the join fails)."""
    ax = axes(shapes[0])
    for i, (dim, _o) in enumerate(ax):
        if isinstance(dim, Unknown):
            for s in shapes[1:]:
                if not isinstance(s.dims[i], Unknown):
                    ax[i] = axes(s)[i]
                    break
    return ax


def _front_mismatch(site: Site, shapes: list, d: int) -> bool:
    """A ``cat`` along a non-negative ``d`` of parts known from the front (``? 32 ...`` and ``? 3 ...`` along 2):
    the axes before ``d`` that every part states must agree; True (and SHP110) where two provably differ."""
    for i in range(d):
        dims = [s.axis(i) for s in shapes]
        if any(x is None or isinstance(x, (Unknown, Variadic)) for x in dims):
            continue
        for j, b in enumerate(dims[1:], 1):
            if site.unify(dims[0], b) is False:
                site.error("SHP110", f"cat along dim {d} needs equal axes {i}, got {qd(site.resolve(dims[0]))} and "
                                     f"{qd(site.resolve(b))}",
                           notes=(site.axis_note(shapes[0], i), site.axis_note(shapes[j], i)))
                return True
    return False


def _join_variadic(site: Site, shapes: list, dim, op: str):
    """cat/stack of shapes with a variadic segment in the same place (``*B n d`` with ``*B m d``)."""
    first = shapes[0]
    v = first.variadic_index
    if v is None or any(s.variadic_index != v or len(s.dims) != len(first.dims) for s in shapes):
        return None
    d = locate(site, first, dim, allow_end=(op == "stack"))
    if d is None:
        return None
    for s in shapes[1:]:
        for i, (a, b) in enumerate(zip(first.dims, s.dims)):
            if i == v or (op == "cat" and i == d):
                continue
            if site.unify(a, b) is False:
                site.error("SHP110", f"{op} needs equal axes apart from the joined one, got {qd(site.resolve(a))} "
                                     f"and {qd(site.resolve(b))}", notes=(site.axis_note(first, i), site.axis_note(s, i)))
                return None
    lead = first.dims[v] if all(s.dims[v] == first.dims[v] for s in shapes) else Variadic(None)
    ax = axes(first)
    ax[v] = (lead, None)
    if op == "stack":
        ax.insert(d, (const(len(shapes)), None))
        return build(ax)
    ax[d] = (_joined_size(site, shapes, d), joined_origin(site, as_int(dim)))
    return build(ax)


def axis_word(i: int, rank: int) -> str:
    return "last axes" if i == rank - 1 else f"axes {i}"


@shape_rule("torch.stack",
            ok=["b d, b d | dim=0 -> 2 b d", "b d, b d | -1 -> b d 2", "n, n, n | 1 -> n 3", "*B d, *B d | -1 -> *B d 2",
                "_ d, b _ | 0 -> 2 b d"],
            bad=["b d, b e ! SHP110", "b d, b d | 3 ! SHP106", "b d, d ! SHP104"])
def stack(site: Site, *args, **kwargs) -> Shape | None:
    """``torch.stack(tensors, dim=0)``: equal shapes joined along a new axis of size ``len(tensors)``."""
    tensors = args[0] if args and isinstance(args[0], (tuple, list)) else None
    rest = args[1:] if tensors is not None else ()
    if tensors is None:
        tensors = [a for a in args if isinstance(a, Shape)]
        rest = tuple(a for a in args if not isinstance(a, Shape))
    dim = kwargs.get("dim", rest[0] if rest else 0)
    shapes = _tensors(tensors)
    if shapes and all(isinstance(s, Shape) for s in shapes) and any(s.rank is None for s in shapes):
        return _join_variadic(site, shapes, dim, "stack")
    if not shapes or not all(known(s) for s in shapes):
        return None
    first = shapes[0]
    for s in shapes[1:]:
        if s.rank != first.rank:
            site.error("SHP104", f"stack needs tensors of one shape, got {first.rank} and {s.rank} axes",
                       notes=(f"{first.label or 'the first tensor'} has shape ({first})",
                              f"{s.label or 'another tensor'} has shape ({s})"))
            return None
        for i in range(first.rank):
            if site.unify(first.dims[i], s.dims[i]) is False:
                site.error("SHP110", f"stack needs tensors of one shape, got {qd(site.resolve(first.dims[i]))} "
                                     f"and {qd(site.resolve(s.dims[i]))} at axis {i}",
                           notes=(site.axis_note(first, i), site.axis_note(s, i)))
                return None
    d = site.normalize_dim(dim, first.rank, first, allow_end=True)
    if d is None:
        return None
    ax = _agreed_axes(shapes)
    ax.insert(d, (const(len(shapes)), None))
    return build(ax)


def _pieces(input: Shape, d: int, sizes: list) -> tuple:
    ax = axes(input)
    out = []
    for s in sizes:
        a = list(ax)
        a[d] = (s, ax[d][1] if s == ax[d][0] else _part_of(ax[d][1]))
        out.append(build(a))
    return tuple(out)


def _part_of(origin):
    """Where a piece's axis came from: a part of the split axis, with its role (half of a layer's output
    features, split off where the layer is built, names that line in a note far away)."""
    if not origin:
        return None
    text = f"a part of {origin}"
    role = getattr(origin, "role", None)
    return RoleOrigin(text, role) if role is not None else text


def _split_count(site: Site, n, size):
    """Sizes of ``split(n, size)``: all ``size`` but the last; None when the count is not known."""
    nv, sv = as_int(n), as_int(size)
    if nv is not None and sv is not None:
        if sv <= 0:
            return None
        full, rem = divmod(nv, sv)
        return [const(sv)] * full + ([const(rem)] if rem else [])
    if not isinstance(n, Expr) or not isinstance(size, Expr) or (sv is not None and sv <= 0):
        return None
    q = site.resolve(n) // site.resolve(size)
    if _has_quotient(q) and site.resolve(size) == site.resolve(n) // 2 and _halves_one_name(n):
        # ``x.split(self.expand_chs // 2, dim=1)`` of ``expand_chs``, a size the code names: halves, as
        # ``x.chunk(2, dim=1)`` is (the size even from here on)
        half = _halved(site, n)
        return [half, half] if half is not None else None
    if _has_quotient(q):
        return None
    qv = q.value
    if qv is None or qv > 64:
        return None
    return [size] * qv


@shape_rule("torch.split", "torch.Tensor.split", "torch.Tensor.split_with_sizes", "torch.split_with_sizes",
            ok=["b 3*c | c, -1 -> b c; b c; b c", "b 10 | 4, 1 -> b 4; b 4; b 2", "b n | (2, n-2), 1 -> b 2; b n-2",
                "6 b | 3 -> 3 b; 3 b"],
            bad=["b 10 | (4, 5), 1 ! SHP110", "b n | 2, 2 ! SHP106"])
def split(site: Site, tensor, split_size_or_sections=None, dim=0, *, split_size=None) -> tuple | None:
    """``split(x, size, dim=0)``: pieces of ``size`` (the last may be smaller), or of the listed
    sizes, which must add up to the axis. Unknown when the number of pieces is not known. The method also
    takes the sizes as ``split_size=``."""
    if split_size_or_sections is None:
        split_size_or_sections = split_size
    if not isinstance(tensor, Shape) or tensor.is_any or tensor.rank == 0 or split_size_or_sections is None:
        return None
    d = locate(site, tensor, dim)
    if d is None:
        return None
    n = tensor.dims[d]
    if isinstance(split_size_or_sections, (tuple, list)):
        sizes = [as_size(s) for s in split_size_or_sections]
        if any(isinstance(s, Unknown) for s in sizes):
            return _pieces(tensor, d, sizes)
        total = const(0)
        for s in sizes:
            total = total + s
        if site.unify(total, n) is False:
            site.error("SHP110", f"{site.op} sizes ({', '.join(str(s) for s in sizes)}) add up to "
                                 f"{qd(site.resolve(total))}, not to {qd(site.resolve(n))}",
                       notes=(site.axis_note(tensor, d),))
            return None
        return _pieces(tensor, d, sizes)
    size = as_size(split_size_or_sections)
    if isinstance(size, Unknown) or isinstance(n, Unknown):
        return None
    sizes = _split_count(site, n, size)
    if sizes is None:
        return None
    return _pieces(tensor, d, sizes)


@shape_rule("torch.chunk", "torch.Tensor.chunk",
            ok=["b 3*c | 3, -1 -> b c; b c; b c", "b 10 | 4, 1 -> b 3; b 3; b 3; b 1", "6 b | 2 -> 3 b; 3 b",
                "b n d | 2, -1 -> b n _; b n _"],
            bad=["b n | 2, 2 ! SHP106"])
def chunk(site: Site, input, chunks, dim=0) -> tuple | None:
    """``chunk(x, chunks, dim=0)``: pieces of ``ceil(n / chunks)`` (torch may return fewer than
    ``chunks``); unknown unless the axis is a literal or a known multiple of ``chunks``, or of unknown size
    (``chunks`` pieces, which the targets that unpack them must match, of unknown size on that axis), or
    halved: a size the code names (a constructor's argument, not an annotation's axis) is even from there on (two
    pieces of half of it), another gives two pieces of unknown size on that axis."""
    if not isinstance(input, Shape) or input.is_any or input.rank == 0:
        return None
    d = locate(site, input, dim)
    c = as_int(chunks)
    if d is None or c is None or c <= 0:
        return None
    n = input.dims[d]
    nv = as_int(n)
    if nv is not None:
        size = -(-nv // c)
        return _pieces(input, d, _split_count(site, n, const(size)))
    if isinstance(n, Unknown) or holds_joined_part(n):
        # an axis of unknown size (or holding the unknown size of a part ``cat`` joined): the pieces are as many
        # as the targets that unpack them (``q, k, v = qkv.chunk(3, dim=2)``, else the unpacking fails), each of
        # unknown size on that axis and the input's size on the others
        return _pieces(input, d, [UNKNOWN] * c)
    if not isinstance(n, Expr):
        return None
    q = site.resolve(n) // c
    if _has_quotient(q):
        q = _halved(site, n) if c == 2 else _quotient_by_fact(site, site.resolve(n), c)
        if q is None:
            # ``x1, x2 = x.chunk(2, dim=-1)`` on ``d``, not known even: two pieces (a size of at least 2 gives
            # two), ``(d+1)//2`` and ``d//2``, of unknown size here, each with the input's other axes; three or
            # more chunks may be fewer pieces (4 by 3 gives 2)
            return _pieces(input, d, [UNKNOWN] * c) if c == 2 else None
    return _pieces(input, d, [q] * c)


def _halved(site: Site, n: Expr) -> Expr | None:
    """``n // 2`` as the scope's facts make it exact; for ``n`` a size the code names, ``n`` is even from here on (model
    code halves features it built even: a GLU's gate, a mean beside a log-variance, rotary halves, CSPNet's
    stages), a fact of the scope. None otherwise."""
    q = _quotient_by_fact(site, site.resolve(n), 2)
    if q is None and _halves_one_name(n):
        site.env.add_divisible(site.resolve(n), const(2))
        q = _quotient_by_fact(site, site.resolve(n), 2)
    return q


def _halves_one_name(n: Expr) -> bool:
    """``n`` is one size the code names (``dim``, ``hidden_size``, a constructor's argument), not an axis an
    annotation names or one read from a tensor (an image's width may be odd), nor a sum or quotient."""
    s = n.as_sym()
    return s is not None and s.kind == "code"


def _has_quotient(e: Expr) -> bool:
    return any(isinstance(a, FloorDiv) for m, _ in e.terms for a, _p in m)


def _quotient_by_fact(site: Site, n: Expr, c: int) -> Expr | None:
    """``n // c`` where a known divisibility of ``n`` by a multiple of ``c`` makes it exact: after
    ``assert width % (3 * heads) == 0``, ``width // 3`` is ``heads * (width // (3 * heads))``."""
    for num, den in site.env.divisible:
        if num != n:
            continue
        m = den.exact_div(const(c))
        if _has_quotient(m) or any(p < 0 for mono, _ in m.terms for _a, p in mono) \
                or any(coef < 0 for _m, coef in m.terms):
            continue
        return m * site.resolve(n // den)
    return None


@shape_rule("torch.unbind", "torch.Tensor.unbind",
            ok=["3 b d -> b d; b d; b d", "b 2 | 1 -> b; b"],
            bad=["b d | 2 ! SHP106"])
def unbind(site: Site, input, dim=0) -> tuple | None:
    """``unbind(x, dim=0)``: a tuple of ``x.shape[dim]`` tensors without that axis; unknown unless the
    axis is a literal."""
    if not isinstance(input, Shape) or input.is_any or input.rank == 0:
        return None
    d = locate(site, input, dim)
    if d is None:
        return None
    n = as_int(input.dims[d])
    if n is None or n > 64:
        return None
    ax = axes(input)
    out = build(ax[:d] + ax[d + 1:])
    return tuple(out for _ in range(n))


@shape_rule("torch.meshgrid", ok=["h, w -> h w; h w", "n, m, k -> n m k; n m k; n m k"], bad=["h d, w ! SHP104"])
def meshgrid(site: Site, *args, **kwargs) -> tuple | None:
    """``torch.meshgrid(a, b, ..., indexing="ij")``: one tensor per input, each of shape
    ``(len(a), len(b), ...)``; ``indexing="xy"`` swaps the first two sizes. Inputs are 1-D (or scalars)."""
    tensors = list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else list(args)
    if not tensors or not all(isinstance(t, Shape) and t.rank is not None for t in tensors):
        return None
    for t in tensors:
        if t.rank > 1:
            site.error("SHP104", f"meshgrid takes 1-D tensors, got one of {t.rank} axes",
                       notes=(f"{t.label or 'an input'} has shape ({t})",))
            return None
    sizes = [t.dims[0] if t.rank == 1 else const(1) for t in tensors]
    indexing = kwargs.get("indexing", "ij")
    if indexing == "xy" and len(sizes) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    elif indexing != "ij":
        return None
    out = Shape(tuple(sizes))
    return tuple(out for _ in tensors)
