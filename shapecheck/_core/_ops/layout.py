"""Axis order and layout: transpose, permute, movedim, reshape/view, flatten, squeeze, expand, repeat."""

from __future__ import annotations

from .._algebra import Expr, FloorDiv, const, provably_positive
from .._shape import UNKNOWN, Shape, Unknown, Variadic
from .._unify import unnamed_axis
from ._registry import OPAQUE, Site, as_int, as_size, module_rule, qd, shape_rule
from ._util import (
    axes,
    axes_any,
    build,
    dims_arg,
    int_tuple,
    known,
    locate,
    prod,
    sizes_arg,
)


def _nd(site: Site, d, x: Shape, allow_end: bool = False):
    return site.normalize_dim(d, x.rank, x, allow_end=allow_end)


@shape_rule("torch.transpose", "torch.Tensor.transpose", "torch.swapaxes", "torch.Tensor.swapaxes",
            "torch.swapdims", "torch.Tensor.swapdims", "torch.Tensor.transpose_",
            ok=["b h n d | -2, -1 -> b h d n", "b n h d | 1, 2 -> b h n d", "n | 0, -1 -> n",
                "*B n d | -2, -1 -> *B d n"],
            bad=["b n d | 1, 3 ! SHP106"])
def transpose(site: Site, input, dim0, dim1) -> Shape | None:
    """``x.transpose(d0, d1)``: two axes swapped (with their provenance); with a variadic segment,
    dims inside the fixed prefix or suffix (``transpose(-2, -1)`` of ``*B n d``)."""
    if not isinstance(input, Shape):
        return None
    a, b = locate(site, input, dim0), locate(site, input, dim1)
    if (a is None or b is None) and input.rank is None:
        input = _reaching(input, as_int(dim0), as_int(dim1))
        if input is None:
            return None
        a, b = locate(site, input, dim0), locate(site, input, dim1)
    if a is None or b is None or input.rank == 0:
        return None if (a is None or b is None) else input
    ax = axes_any(input)
    ax[a], ax[b] = ax[b], ax[a]
    return build(ax)


def _reaching(x: Shape, *dims) -> Shape | None:
    """``x``, of unknown rank, with axes of unknown size made room for so that literal ``dims`` name axes of it:
    ``transpose(2, 3)`` of ``...`` or of ``b n ...`` takes at least four axes (``? ? ? ? ...``, ``b n ? ? ...``),
    ``transpose(-2, -1)`` of ``...`` at least two, at the end (``... ? ?``). Where the dims reach past known
    axes on the other side of ``...`` (``transpose(1, 2)`` of ``... n d``: where ``n`` and ``d`` then are is not
    known), only the number of axes is kept: ``? ? ? ...``. None when a dim is not a literal."""
    if any(d is None for d in dims):
        return None
    v = x.variadic_index
    need = max(d + 1 if d >= 0 else -d for d in dims)
    if all(d < 0 for d in dims) and v == 0:
        return build([(Variadic(None), None)] + [(UNKNOWN, None)] * max(0, need - len(x.dims) + 1)
                     + axes_any(x)[1:])
    if all(d >= 0 for d in dims) and v == len(x.dims) - 1:
        return build(axes_any(x)[:-1] + [(UNKNOWN, None)] * max(0, need - v) + [(Variadic(None), None)])
    known = len(x.dims) - 1  # the least rank
    if all(d < 0 for d in dims) and v == known:
        # ``transpose(-2, -1)`` of ``? ? ? ...``: the last axes, after the front axes they can never reach
        # (``? ... ? ?``, three axes or more)
        keep = max(0, known - need)
        return build(axes_any(x)[:keep] + [(Variadic(None), None)] + [(UNKNOWN, None)] * need)
    if all(d >= 0 for d in dims) and v == 0:
        # ``transpose(1, 2)`` of ``... n d``: the first axes, before the back axes they can never reach
        keep = max(0, known - need)
        return build([(UNKNOWN, None)] * need + [(Variadic(None), None)] + (axes_any(x)[len(x.dims) - keep:] if keep else []))
    return Shape((UNKNOWN,) * max(need, known) + (Variadic(None),))


def _fill_leading(input: Shape, rank: int) -> Shape:
    """``... c h w`` of rank ``rank``: the anonymous ``...`` as that many axes of unknown size (a named
    ``*batch`` or a rank too small is left alone)."""
    v = input.variadic_index
    n = len(input.dims) - 1
    if input.dims[v] != Variadic(None) or rank < n:
        return input
    ax = axes(input)
    return build(ax[:v] + [(UNKNOWN, None)] * (rank - n) + ax[v + 1:])


@shape_rule("torch.permute", "torch.Tensor.permute",
            ok=["b n h d | 0, 2, 1, 3 -> b h n d", "b n d | (2, 0, 1) -> d b n", "b n d | dims=(0, -1, 1) -> b d n"],
            bad=["b n d | 0, 1 ! SHP104", "b n d | 0, 1, 1 ! SHP106", "b n d | 0, 1, 3 ! SHP106"])
def permute(site: Site, input, *dims, **kwargs) -> Shape | None:
    """``x.permute(*dims)`` (or a tuple): the axes reordered; ``dims`` must name every axis once."""
    if "dims" in kwargs:
        dims = (kwargs["dims"],)
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    t = int_tuple(tuple(dims))
    if isinstance(input, Shape) and input.rank is None and t is not None:
        input = _fill_leading(input, len(t))  # the permutation names every axis: it fixes the rank
    if not known(input):
        return None
    if t is None:
        return None
    if len(t) != input.rank:
        site.error("SHP104", f"{site.op} gets {len(t)} dims for a tensor of {input.rank} axes",
                   notes=(f"{input.label or 'the operand'} has shape ({input})",))
        return None
    idx = dims_arg(site, t, input)
    if idx is None:
        return None
    ax = axes(input)
    return build(ax[i] for i in idx)


@shape_rule("torch.movedim", "torch.Tensor.movedim", "torch.moveaxis", "torch.Tensor.moveaxis",
            ok=["b c h w | 1, -1 -> b h w c", "a b c | (0, 1), (2, 0) -> b c a"],
            bad=["b c h w | 4, 0 ! SHP106", "a b c | (0, 1), (1,) ! SHP110"])
def movedim(site: Site, input, source, destination) -> Shape | None:
    """``movedim(x, src, dst)``: the axes in ``src`` moved to the positions ``dst``; the others keep order."""
    if not known(input):
        return None
    s, d = int_tuple(source), int_tuple(destination)
    if s is None or d is None:
        return None
    if len(s) != len(d):
        site.error("SHP110", f"{site.op} moves {len(s)} dims to {len(d)} positions")
        return None
    si, di = dims_arg(site, s, input), dims_arg(site, d, input)
    if si is None or di is None:
        return None
    ax = axes(input)
    out = [None] * input.rank
    for a, b in zip(si, di):
        out[b] = ax[a]
    rest = iter(ax[i] for i in range(input.rank) if i not in si)
    for i in range(input.rank):
        if out[i] is None:
            out[i] = next(rest)
    return build(out)


def _facts(e) -> list:
    """The ``(num, den)`` floor divisions inside a size expression."""
    out = []
    if not isinstance(e, Expr):
        return out
    for mono, _ in e.terms:
        for atom, _p in mono:
            if isinstance(atom, FloorDiv):
                out.append((atom.num, atom.den))
    return out


def _count_eq(site: Site, total, sizes) -> str:
    """Compare an element count with a product of sizes; records divisibility facts when they make
    the counts equal (``C // n`` next to ``n``)."""
    out = prod(sizes)
    if isinstance(total, Unknown) or isinstance(out, Unknown):
        return "unknown"
    r = site.compare(total, out)
    if r != "unknown":
        return r
    facts = [f for s in sizes for f in _facts(site.resolve(s))]
    if facts:
        trial = site.env.copy()
        for num, den in facts:
            trial.add_divisible(num, den)
        from .._unify import compare
        if compare(total, out, trial) == "eq":
            for num, den in facts:
                site.env.add_divisible(num, den)
            return "eq"
    return "unknown"


def reshape_dims(site: Site, input: Shape, sizes: list, what: str):
    """The sizes of a reshape of ``input`` (``-1`` inferred); records SHP103 on a provably wrong count."""
    neg = [i for i, v in enumerate(sizes) if isinstance(v, int)]
    if any(sizes[i] != -1 for i in neg):
        bad = next(sizes[i] for i in neg if sizes[i] != -1)
        site.error("SHP103", f"{what} gets the invalid size {bad}")
        return None
    if len(neg) > 1:
        site.error("SHP103", f"{what} infers more than one size (-1 appears {len(neg)} times)")
        return None
    total = prod(input.dims) if input.rank is not None else UNKNOWN
    shown = " ".join(str(site.resolve(d)) for d in input.dims)
    if not neg:
        r = _count_eq(site, total, sizes)
        if r == "ne":
            site.error("SHP103", f"{what} to ({', '.join(str(site.resolve(s)) for s in sizes)}) changes the "
                                 f"number of elements of ({shown})",
                       notes=(f"{input.label or 'the input'} has {site.resolve(total)} elements",))
            return None
        return list(sizes)
    k = neg[0]
    others = [s for i, s in enumerate(sizes) if i != k]
    known_part = prod(others)
    if isinstance(total, Unknown) or isinstance(known_part, Unknown):
        return [UNKNOWN if i == k else s for i, s in enumerate(sizes)]
    total, known_part = site.resolve(total), site.resolve(known_part)
    tv, kv = total.value, known_part.value
    if kv == 0:  # a zero size beside -1: nothing to infer from (tensors here have positive sizes)
        site.error("SHP103", f"{what} cannot infer a size next to a zero-sized axis",
                   notes=(f"{input.label or 'the input'} has shape ({shown})",))
        return None
    if tv is not None and kv is not None:
        if kv == 0 or tv % kv:
            site.error("SHP103", f"{what} cannot split {tv} elements into ({', '.join(str(s) for s in sizes)})",
                       notes=(f"{input.label or 'the input'} has shape ({shown})",))
            return None
        inferred = const(tv // kv)
    else:
        if len(total.terms) == 1 and len(known_part.terms) == 1 and total.terms[0][0] == known_part.terms[0][0] \
                and total.terms[0][1] % known_part.terms[0][1]:
            site.error("SHP103", f"{what} cannot split {total} elements into "
                                 f"({', '.join(str(site.resolve(s)) if not isinstance(s, int) else str(s) for s in sizes)})",
                       notes=(f"{input.label or 'the input'} has shape ({shown})",))
            return None
        inferred = total // known_part
        if _facts(inferred) and kv != 0:
            site.env.add_divisible(total, known_part)
            inferred = site.resolve(inferred)
    return [inferred if i == k else s for i, s in enumerate(sizes)]


def _with_origins(input: Shape, dims: list) -> Shape:
    """A new shape; axes that match the input's at the same place from either end keep their origin (an
    unknown size matches nothing: it may be a merge of several axes)."""
    n = len(dims)
    ins = axes(input)
    origins = [None] * n
    for i in range(min(n, len(ins))):
        if isinstance(dims[i], Expr) and dims[i] == ins[i][0]:
            origins[i] = ins[i][1]
        else:
            break
    for k in range(1, min(n, len(ins)) + 1):
        if isinstance(dims[-k], Expr) and dims[-k] == ins[-k][0]:
            origins[-k] = origins[-k] or ins[-k][1]
        else:
            break
    return build(zip(dims, origins))


@shape_rule("torch.reshape", "torch.Tensor.reshape", "torch.Tensor.view",
            ok=["b t n*h | b, t, n, h -> b t n h", "... h*d | shape('... h d') -> ... h d", "b t c | (b, t, c) -> b t c", "b t c | -1 -> b*t*c",
                "b t c | b, -1 -> b t*c", "6 4 | 3, -1 -> 3 8", "b t c | shape=(b*t, c) -> b*t c"],
            bad=["6 4 | 5, -1 ! SHP103", "b t c | b, t, c, 2 ! SHP103", "b t c | -1, -1 ! SHP103", "6 4 | 5, 4 ! SHP103"])
def reshape(site: Site, input, *shape, **kwargs) -> Shape | None:
    """``x.view(*sizes)`` / ``x.reshape(sizes)``: sizes as varargs or one tuple, one of them may be -1.

    A count that cannot be proven wrong is not an error; a size ``C // n`` that makes the counts equal
    records that ``n`` divides ``C``. ``x.view(dtype)`` is unknown.
    """
    if "shape" in kwargs:
        shape = (kwargs["shape"],)
    if "size" in kwargs:
        shape = (kwargs["size"],)
    if not isinstance(input, Shape):
        return None
    if len(shape) == 1 and isinstance(shape[0], Shape) and shape[0].rank is None:
        # a torch.Size of unknown rank (``x.size()[:-1] + (h, d)``): the result has those sizes, and the one
        # a ``-1`` stands for is unknown (the number of elements is)
        if shape[0].is_any:
            return None
        neg = [d for d in shape[0].dims if isinstance(d, Expr) and d.value is not None and d.value < 0]
        if neg and (len(neg) > 1 or neg[0].value != -1):
            return None
        return Shape(tuple(UNKNOWN if d in neg else d for d in shape[0].dims))
    sizes = sizes_arg(shape)
    if sizes is None or not shape:
        return None
    dims = reshape_dims(site, input, sizes, site.op)
    if dims is None:
        return None
    return _with_origins(input, dims)


@shape_rule("torch.Tensor.view_as", "torch.Tensor.reshape_as",
            ok=["b t c, b t*c -> b t*c"], bad=["b t c, b t c 2 ! SHP103", "6 4, 5 5 ! SHP103"])
def view_as(site: Site, input, other) -> Shape | None:
    """``x.view_as(y)``: ``y``'s shape; the element counts must agree."""
    if not isinstance(input, Shape) or not known(other):
        return None
    dims = reshape_dims(site, input, list(other.dims), site.op)
    return None if dims is None else other


@shape_rule("torch.flatten", "torch.Tensor.flatten",
            ok=["b c h w | 1 -> b c*h*w", "b c h w -> b*c*h*w", "b c h w | 1, 2 -> b c*h w", "() -> 1",
                "b n | start_dim=1 -> b n", "b ... | 1 -> b _", "... c h w | 2 -> _ _ _"],
            bad=["b c h | 4 ! SHP106", "b c h | 2, 1 ! SHP106"])
def flatten(site: Site, input, start_dim=0, end_dim=-1) -> Shape | None:
    """``flatten(x, start_dim=0, end_dim=-1)``: the axes from ``start_dim`` to ``end_dim`` merged into one."""
    if isinstance(input, Shape) and input.rank is None:
        s, e = locate(site, input, start_dim), locate(site, input, end_dim)
        v = input.variadic_index
        first = as_int(start_dim)
        if s is None and first is not None and first > 0 and as_int(end_dim) == -1:
            # ``torch.flatten(x, 1)`` of a tensor of unknown rank: its first axes, then one (it runs only with more)
            ax = axes_any(input)
            return build([ax[i] if i < v else (UNKNOWN, None) for i in range(first)] + [(UNKNOWN, None)])
        if s is None or e is None or s > e or (s < v < e):
            return None
        ax = axes_any(input)
        return build(ax[:s] + [(prod([d for d, _ in ax[s:e + 1]]), None)] + ax[e + 1:]) if s < e else input
    if not known(input):
        return None
    if input.rank == 0:
        if site.normalize_dim(start_dim, 0, input) is None or site.normalize_dim(end_dim, 0, input) is None:
            return None
        return Shape((const(1),))
    s, e = _nd(site, start_dim, input), _nd(site, end_dim, input)
    if s is None or e is None:
        return None
    if s > e:
        site.error("SHP106", f"{site.op} gets start_dim {start_dim} after end_dim {end_dim}")
        return None
    if s == e:
        return input
    ax = axes(input)
    merged = prod([d for d, _ in ax[s:e + 1]])
    return build(ax[:s] + [(merged, None)] + ax[e + 1:])


@module_rule("torch.nn.Flatten", init="start_dim=1, end_dim=-1",
             ok=["init: | b c h w -> b c*h*w", "init: 2 | b c h w -> b c h*w"],
             bad=["init: 3, 1 | b c h w ! SHP106"])
def Flatten(site: Site, init: dict, input) -> Shape | None:
    """``nn.Flatten(start_dim=1, end_dim=-1)``."""
    return flatten(site, input, init.get("start_dim", 1), init.get("end_dim", -1))


@shape_rule("torch.unflatten", "torch.Tensor.unflatten",
            ok=["b n | 1, (h, w) -> b h w", "b 12 | -1, (3, -1) -> b 3 4", "b h*w | 1, (h, w) -> b h w"],
            bad=["b 12 | 1, (5, -1) ! SHP103", "b n | 2, (n,) ! SHP106"])
def unflatten(site: Site, input, dim, sizes) -> Shape | None:
    """``unflatten(x, dim, sizes)``: one axis split into ``sizes`` (one may be -1)."""
    if not known(input):
        return None
    d = _nd(site, dim, input)
    sz = sizes_arg((sizes,))
    if d is None or sz is None or input.rank == 0:
        return None
    if not sz:
        return None
    part = Shape((input.dims[d],), (input.origin(d),) if input.origin(d) else (), input.label)
    dims = reshape_dims(site, part, sz, site.op)
    if dims is None:
        return None
    ax = axes(input)
    return build(ax[:d] + [(x, None) for x in dims] + ax[d + 1:])


@module_rule("torch.nn.Unflatten", init="dim, unflattened_size",
             ok=["init: 1, (c, h, w) | b c*h*w -> b c h w"], bad=["init: 1, (2, 5) | b 12 ! SHP103"])
def Unflatten(site: Site, init: dict, input) -> Shape | None:
    """``nn.Unflatten(dim, sizes)``."""
    return unflatten(site, input, init.get("dim"), init.get("unflattened_size"))


def _may_be_one(site: Site, d) -> bool:
    if not isinstance(d, Expr):
        return True
    r = site.resolve(d)
    if provably_positive(r - 1):
        return False
    return any((s.kind or "axis") != "axis" for s in r.symbols())


@shape_rule("torch.squeeze", "torch.Tensor.squeeze", "torch.Tensor.squeeze_",
            ok=["b 1 d -> b d", "b 1 d | 1 -> b d", "b 3 d | 1 -> b 3 d", "1 n 1 | (0, 2) -> n", "b n d | 1 -> b n d",
                "b n+1 d | 1 -> b n+1 d", "1 *B d | 0 -> *B d"],
            bad=["b 1 d | 3 ! SHP106"])
def squeeze(site: Site, input, dim=None) -> Shape | None:
    """``squeeze(x, dim=None)``: axes of size 1 removed (only those in ``dim`` when given). Annotation
    names are taken at their word (not 1, as in broadcasting); an axis whose size comes from code
    (``b, s, h = x.shape``) or is unknown may or may not be 1: it becomes a variadic segment (zero or
    one axes), so the rank afterwards is unknown; several such axes merge into one segment. Axes before a
    variadic segment are squeezed the same way (``? ... h`` squeezed at 0 is ``... h``)."""
    if not known(input):
        return _squeeze_head(site, input, dim)
    if dim is None:
        idx = list(range(input.rank))
    else:
        idx = dims_arg(site, dim, input)
        if idx is None:
            return None
        if input.rank == 0:
            return input
    out = []
    maybe = []  # positions in ``out`` of axes that may be 1
    for i, (d, o) in enumerate(axes(input)):
        if i in idx:
            v = as_int(site.resolve(d)) if isinstance(d, Expr) else None
            if v == 1:
                continue
            if v is None and _may_be_one(site, d):
                maybe.append(len(out))
        out.append((d, o))
    if maybe:
        out = out[:maybe[0]] + [(Variadic(None), None)] + out[maybe[-1] + 1:]
    return build(out)


def _squeeze_head(site: Site, input, dim) -> Shape | None:
    """``squeeze`` at non-negative axes that lie before the variadic segment of ``input``: each that may be
    1 joins the segment, and the axes after it are kept."""
    v = input.variadic_index if isinstance(input, Shape) else None
    t = int_tuple(dim) if dim is not None else None
    if not v or t is None or not all(0 <= i < v for i in t):
        return None
    pairs = axes(input)
    head, cut = [], None
    for i, (d, o) in enumerate(pairs[:v]):
        if i in t:
            n = as_int(site.resolve(d)) if isinstance(d, Expr) else None
            if n == 1:
                continue
            if n is None and _may_be_one(site, d) and cut is None:
                cut = len(head)  # removed or not: from here on, the head joins the variadic segment
        head.append((d, o))
    if cut is not None:
        head = head[:cut]
    return build(head + pairs[v:])


@shape_rule("torch.unsqueeze", "torch.Tensor.unsqueeze", "torch.Tensor.unsqueeze_",
            ok=["b n | 1 -> b 1 n", "b n | -1 -> b n 1", "b n | 2 -> b n 1", "() | 0 -> 1", "*B n | -1 -> *B n 1",
                "*B n | -2 -> *B 1 n",
                "*B n | 0 -> 1 *B n", "b *B | 1 -> b 1 *B", "b *B n | -2 -> b *B 1 n", "*B n | 1 -> _ 1 ..."],
            bad=["b n | 3 ! SHP106", "b n | -4 ! SHP106"])
def unsqueeze(site: Site, input, dim) -> Shape | None:
    """``unsqueeze(x, dim)``: a new axis of size 1 at ``dim`` (from ``-rank-1`` to ``rank``). Of a tensor of
    unknown rank, an index that does not reach into its variadic segment (``0`` of ``...``: ``1 ...``); one
    that does reach into it from the front (``1`` of ``... n``) puts the new axis there, after axes whose
    sizes are not known (``n`` may be among them) and before the rest (``? 1 ...``)."""
    if not isinstance(input, Shape):
        return None
    v = input.variadic_index
    i = as_int(dim)
    if v is not None and i is not None:
        ax = axes_any(input) if input.dims else [(Variadic(None), None)]
        v = v if input.dims else 0
        if 0 <= i <= v:
            return build(ax[:i] + [(const(1), None)] + ax[i:])
        if i > v:  # the input has at least ``i`` axes (or the call raises)
            return build(ax[:v] + [(UNKNOWN, None)] * (i - v) + [(const(1), None), (Variadic(None), None)])
        after = len(ax) - v - 1
        if i < 0 and -i - 1 <= after:
            at = len(ax) + i + 1
            return build(ax[:at] + [(const(1), None)] + ax[at:])
        return None
    d = locate(site, input, dim, allow_end=True)
    if d is None:
        return None
    ax = axes_any(input)
    ax.insert(d, (const(1), None))
    return build(ax)


def _expand_to(site: Site, input: Shape, sizes: list, what: str):
    if len(sizes) < input.rank:
        site.error("SHP104", f"{what} gets {len(sizes)} sizes for a tensor of {input.rank} axes")
        return None
    lead = len(sizes) - input.rank
    out = []
    for i, s in enumerate(sizes[:lead]):
        if isinstance(s, int):
            site.error("SHP110", f"{what} cannot infer the new leading axis {i} (size {s})")
            return None
        out.append((s, None))
    for i, (d, o) in enumerate(axes(input)):
        s = sizes[lead + i]
        if isinstance(s, int):  # -1 keeps the axis
            out.append((d, o))
            continue
        if isinstance(d, Expr) and d.value == 1:
            out.append((s, None))
            continue
        if unnamed_axis(site.resolve(d)):  # an axis the code never named may be 1: stretched (``bb, _ = mask.size()``)
            out.append((s, None))
            continue
        if site.unify(d, s) is False:
            site.error("SHP110", f"{what} cannot stretch {qd(site.resolve(d))} to {qd(site.resolve(s))}",
                       notes=(site.axis_note(input, i),))
            return None
        out.append((d, o))
    return out


def _onto_unknown_rank(input, sz, repeats: bool) -> Shape | None:
    """``x.repeat(*counts)`` or ``x.expand(*sizes)`` of ``x`` of unknown rank: as many axes as sizes (PyTorch
    takes no fewer sizes than axes). The sizes line up with ``x``'s axes from the right, so the axes known at
    ``x``'s end give the last axes: a count of one or an expanded ``-1`` keeps the axis, another count
    multiplies it; an expanded size is itself. None where a size is no size (a negative count)."""
    if not isinstance(input, Shape) or sz is None:
        return None
    v = input.variadic_index
    tail = axes_any(input)[v + 1:] if v is not None else []
    out: list = []
    for i, s in enumerate(sz):
        k = len(sz) - i  # the k-th size from the right
        d, o = tail[-k] if k <= len(tail) else (UNKNOWN, None)
        if isinstance(s, int) and (repeats or s != -1):
            return None
        if isinstance(s, int) or repeats and isinstance(s, Expr) and s.value == 1:
            out.append((d, o))  # expanded with -1, repeated once: the axis itself
        elif repeats:
            out.append((prod([d, s]) if isinstance(d, Expr) and isinstance(s, Expr) else UNKNOWN, None))
        else:
            out.append((s, None))
    return build(out)


@shape_rule("torch.Tensor.expand", "torch.broadcast_to", "torch.Tensor.broadcast_to",
            ok=["b 1 d | b, n, d -> b n d", "1 d | 4, -1, -1 -> 4 1 d", "b 1 | (b, 5) -> b 5"],
            bad=["b n d | b, m, d ! SHP110", "b n d | n, d ! SHP104", "n | -1, -1 ! SHP110"])
def expand(site: Site, input, *sizes, **kwargs) -> Shape | None:
    """``x.expand(*sizes)``: axes of size 1 stretched, new leading axes added; -1 keeps an axis."""
    if "size" in kwargs:
        sizes = (kwargs["size"],)
    sz = sizes_arg(sizes)
    if not known(input):
        return _onto_unknown_rank(input, sz, repeats=False)
    if sz is None or any(isinstance(s, int) and s != -1 for s in sz):
        return None
    out = _expand_to(site, input, sz, site.op)
    return None if out is None else build(out)


@shape_rule("torch.Tensor.expand_as", ok=["b 1 d, b n d -> b n d"], bad=["b m d, b n d ! SHP110"])
def expand_as(site: Site, input, other) -> Shape | None:
    """``x.expand_as(y)``: ``x`` expanded to ``y``'s shape."""
    if not known(input) or not known(other):
        return None
    out = _expand_to(site, input, list(other.dims), site.op)
    return None if out is None else other


@shape_rule("torch.Tensor.repeat",
            ok=["b n | 2, 1 -> b*2 n", "n | 3, 1 -> 3 n", "b n | (1, k) -> b n*k"],
            bad=["b n d | 2, 2 ! SHP104"])
def repeat(site: Site, input, *sizes, **kwargs) -> Shape | None:
    """``x.repeat(*sizes)``: axis ``i`` multiplied by its count; extra counts add leading axes."""
    if "repeats" in kwargs:
        sizes = (kwargs["repeats"],)
    if not known(input):
        return _onto_unknown_rank(input, sizes_arg(sizes), repeats=True)
    sz = sizes_arg(sizes)
    if sz is None or any(isinstance(s, int) for s in sz):
        return None
    if len(sz) < input.rank:
        site.error("SHP104", f"repeat gets {len(sz)} counts for a tensor of {input.rank} axes")
        return None
    lead = len(sz) - input.rank
    out = [(s, None) for s in sz[:lead]]
    for (d, o), s in zip(axes(input), sz[lead:]):
        out.append((d, o) if (isinstance(s, Expr) and s.value == 1) else (prod([d, s]), None))
    return build(out)


@shape_rule("torch.tile", "torch.Tensor.tile",
            ok=["b n | (2, 1) -> b*2 n", "b n | (3,) -> b n*3", "n | (2, 1) -> 2 n"])
def tile(site: Site, input, dims) -> Shape | None:
    """``tile(x, dims)``: like ``repeat``; fewer counts than axes are padded with 1 on the left."""
    if not known(input):
        return None
    sz = sizes_arg((dims,))
    if sz is None or any(isinstance(s, int) for s in sz):
        return None
    sz = [const(1)] * (input.rank - len(sz)) + list(sz)
    return repeat(site, input, *sz)


tile.never_fails = True


@shape_rule("torch.repeat_interleave", "torch.Tensor.repeat_interleave",
            ok=["b n | 2, 1 -> b n*2", "b n | 3 -> b*n*3", "b n | repeats=2, dim=0 -> b*2 n", "b n, b | dim=0 -> _ n"],
            bad=["b n | 2, 2 ! SHP106"])
def repeat_interleave(site: Site, input, repeats=None, dim=None, *, output_size=None) -> Shape | None:
    """``repeat_interleave(x, repeats, dim=None)``: the dim multiplied by an int ``repeats`` (the
    flattened tensor when no dim); a tensor of repeats makes the size unknown (or ``output_size``)."""
    if not known(input) or repeats is None:
        return None
    r = as_size(repeats) if not isinstance(repeats, Shape) else UNKNOWN
    if repeats is OPAQUE:
        r = UNKNOWN
    if dim is None:
        if isinstance(repeats, Shape):
            return Shape((as_size(output_size) if output_size is not None else UNKNOWN,))
        return Shape((prod(list(input.dims) + [r]),))
    d = _nd(site, dim, input)
    if d is None:
        return None
    if input.rank == 0:
        return None
    ax = axes(input)
    if isinstance(repeats, Shape):
        new = as_size(output_size) if output_size is not None else UNKNOWN
    else:
        new = prod([ax[d][0], r])
    ax[d] = (new, None)
    return build(ax)
