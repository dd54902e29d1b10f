"""Indexing and selection: ``x[...]``, gather, index_select, select, narrow, take_along_dim, tril/triu."""

from __future__ import annotations

from .._algebra import Expr, const, provably_positive
from .._shape import UNKNOWN, Shape, Unknown, Variadic
from ._registry import OPAQUE, Site, as_int, as_size, qd, shape_rule
from ._util import ONE_OR_NONE, axes, axes_any, build, known, locate

_BOOL = ("bool", "torch.bool")


def _dtype_kind(s: Shape) -> str | None:
    dt = s.get_meta("dtype")
    if dt is None:
        return None
    dt = str(dt)
    if dt in _BOOL:
        return "mask"
    return "int"


def _nonneg(e) -> bool:
    return isinstance(e, Expr) and (e.value is not None and e.value >= 0 or provably_positive(e + 1))


def _slice_len(site: Site, n, sl: slice):
    """The length of ``n``-sized axis sliced by ``sl``; UNKNOWN when it cannot be known. Returns
    False (after recording) when the step is not positive."""
    start, stop, step = sl.start, sl.stop, sl.step
    st = 1 if step is None else as_int(step)
    if step is not None and st is None:
        return UNKNOWN
    if st <= 0:
        site.error("SHP110", f"slicing with step {st}: the step must be greater than zero")
        return False
    nv = as_int(n)
    parts = [start, stop]
    if nv is not None and all(p is None or as_int(p) is not None for p in parts):
        return const(len(range(*slice(None if start is None else as_int(start),
                                      None if stop is None else as_int(stop), st).indices(nv))))
    if isinstance(n, Unknown):
        a, b = (None if p is None else as_int(p) for p in parts)
        if st == 1 and (a in (None, 0) and b == 1 or a == -1 and stop is None):
            return const(1)  # ``x[:1]``, ``x[-1:]``: every axis has a first and a last element
        return UNKNOWN
    # a symbolic axis: literal parts must be provably in bounds; symbolic parts (``x[:T]``,
    # ``x[:-M]``, ``x[-T:]``) are taken to lie within the axis (documented assumption)
    lo = _bound(start, n, const(0))
    hi = _bound(stop, n, n)
    if isinstance(lo, Unknown) or isinstance(hi, Unknown):
        return UNKNOWN
    has_sym = any(isinstance(p, Expr) and p.value is None for p in (start, stop))
    if not has_sym and not (_nonneg(lo) and _nonneg(hi - lo) and _nonneg(n - hi)):
        return UNKNOWN
    if site.compare(hi, n) == "eq":
        hi = n
    length = hi - lo
    if st != 1:
        length = (length + st - 1) // st
    return length


def _bound(part, n, default):
    """A slice bound as a position in an axis of size ``n``: negative ints and provably negative
    expressions count from the end; UNKNOWN when the sign of an expression is not known."""
    if part is None:
        return default
    v = as_int(part)
    if v is not None:
        return n + v if v < 0 else const(v)
    if not isinstance(part, Expr):
        return UNKNOWN
    if provably_positive(-part):
        return n + part
    if provably_positive(part + 1):
        return part
    return UNKNOWN


def _full(it) -> bool:
    return isinstance(it, slice) and it.start is None and it.stop is None and it.step is None


def _steps_back(index) -> bool:
    """A slice of the index has a negative literal step (``::-1``)."""
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(it, slice) and as_int(it.step) is not None and as_int(it.step) < 0 for it in items)


def _segment_filled(input, index):
    """A recurrent layer's final states (``n ... h``, meta ``ONE_OR_NONE``: a batch axis or none between) indexed
    with one item more than their known axes (``hidden[-2, :, :]``): batched, ``n ? h``. Else the input."""
    if not isinstance(input, Shape) or input.rank is not None or not input.get_meta(ONE_OR_NONE):
        return input
    items = list(index) if isinstance(index, tuple) else [index]
    if any(it is None or it is Ellipsis or isinstance(it, bool) for it in items) or len(items) != len(input.dims):
        return input
    v = input.variadic_index
    origins = tuple(input.origins) if input.origins else (None,) * len(input.dims)
    return Shape(input.dims[:v] + (UNKNOWN,) + input.dims[v + 1:], origins, input.label)


def _getitem_unknown_rank(input, index):
    """``x[:, -1, :]`` on ``"... h"``: ints and full slices that cannot reach the known trailing axes
    keep them (the variadic part absorbs the dropped axes); anything else is unknown. With known leading
    axes (``h_n[-1, :, :]`` on ``"n ... h"``, a recurrent layer's final state) the items on them apply
    to them, and the rest as above."""
    if not isinstance(input, Shape) or input.variadic_index is None:
        return None
    items = list(index) if isinstance(index, tuple) else [index]
    if not all(_full(it) or (isinstance(it, (int, Expr)) and not isinstance(it, bool)) for it in items):
        return None
    p = input.variadic_index
    k, m = len(items), len(input.dims) - p - 1
    safe = p + max(k - p, m) - m  # positions below this index never fall on a trailing known axis
    for j, it in enumerate(items):
        if not _full(it) and j >= safe:
            return None
    if p == 0:
        return Shape(input.dims, input.origins)
    origins = input.origins or (None,) * len(input.dims)
    out = [(input.dims[j], origins[j]) for j in range(p) if j >= k or _full(items[j])]
    out.append((Variadic(None), None))
    out.extend(zip(input.dims[p + 1:], origins[p + 1:]))
    return build(out)


@shape_rule("torch.Tensor.__getitem__",
            ok=["b n d | 0 -> n d", "b n d | (slice(None, None, None), 0) -> b d", "b n d | (..., None) -> b n d 1",
                "b n d | (None, ..., slice(1, None, None)) -> 1 b n d-1", "10 d | slice(2, 8, 2) -> 3 d",
                "b n d | (slice(None, None, None), slice(None, T, None)) -> b T d",
                "b n d | (slice(None, None, None), shape('k', 'long')) -> b k d",
                "b n d | (shape('k', 'long'), slice(None, None, None), shape('k', 'long')) -> k n",
                "b n d | (0, slice(None, None, None), shape('k', 'long')) -> n k",
                "b n d | shape('b n', 'bool') -> _ d", "b n d | [0, 2] -> 2 n d",
                "*B n d | (..., 0) -> *B n", "*B n d | (..., None, slice(None, k, None)) -> *B n 1 k",
                "b *B n | (0, ..., slice(1, None, None)) -> *B n-1",
                "b _ d | (slice(None, None, None), slice(None, 1, None)) -> b 1 d",
                "b _ d | (slice(None, None, None), slice(-1, None, None)) -> b 1 d",
                "b _ d | (slice(None, None, None), slice(1, None, None)) -> b _ d",
                "n ... h | (-1, slice(None, None, None), slice(None, None, None)) -> ... h"],
            bad=["b n | (0, 0, 0) ! SHP104", "3 n | 5 ! SHP110", "b n d | shape('b m', 'bool') ! SHP110",
                 "b n | slice(None, None, -1) ! SHP110"])
def getitem(site: Site, input, index) -> Shape | None:
    """``x[index]``. The index is built by the engine from the subscript's AST:

    * an ``int`` or an ``Expr`` (a size from code) selects one position and drops the axis;
    * a Python ``slice(start, stop, step)`` whose parts are ``int``, ``Expr`` or None;
    * ``None`` adds an axis of size 1 (``True`` too; ``False`` an axis of size 0);
    * ``Ellipsis`` stands for the axes not otherwise indexed;
    * a ``Shape`` is a tensor index: with ``meta`` dtype ``"bool"`` a mask over as many axes as it has
      (one axis of unknown size in the result), with another dtype an integer index (its axes take the
      place of one axis); of unknown dtype, a 1-D index gives one axis of unknown size;
    * a list of ints is an integer index of that length;
    * a tuple of the above.

    Advanced (tensor) indices broadcast together; their axes go where the first one was when they are
    adjacent, else in front, as in PyTorch. ``x[:T]`` with a symbolic ``T`` is taken to be in bounds.
    On a shape with a variadic segment (``*B n d``), basic indices before and after ``...`` apply to
    the fixed prefix and suffix.
    """
    if index is OPAQUE:
        return None
    if isinstance(input, Shape) and input.get_meta("maybe_array") and _steps_back(index):
        return None  # ``img[:, ::-1]`` of what may be a NumPy array: NumPy reverses it, torch refuses
    input = _segment_filled(input, index)
    if not known(input):
        if isinstance(input, Shape) and not input.is_any:
            out = _getitem_variadic(site, input, index)
            if out is not None or site.failed:
                return out
        return _getitem_unknown_rank(input, index)
    items = list(index) if isinstance(index, tuple) else [index]
    # classify
    consumed = 0
    for it in items:
        if it is None or it is Ellipsis or isinstance(it, bool):
            continue
        if isinstance(it, Shape):
            kind = _dtype_kind(it)
            if it.rank is None:
                return None
            consumed += it.rank if kind == "mask" else 1
        elif isinstance(it, (int, Expr, slice, list)):
            if isinstance(it, list) and it and all(isinstance(v, bool) for v in it):
                consumed += 1
            else:
                consumed += 1
        else:
            return None
    if sum(1 for it in items if it is Ellipsis) > 1:
        return None
    if consumed > input.rank:
        site.error("SHP104", f"indexing uses {consumed} indices on a tensor of {input.rank} "
                             f"ax{'is' if input.rank == 1 else 'es'}",
                   notes=(f"{input.label or 'the tensor'} has shape ({input})",))
        return None
    if Ellipsis in [it for it in items if it is Ellipsis]:
        k = next(i for i, it in enumerate(items) if it is Ellipsis)
        items = items[:k] + [slice(None)] * (input.rank - consumed) + items[k + 1:]
    else:
        items = items + [slice(None)] * (input.rank - consumed)
    src = axes(input)
    pos = 0
    inter = []
    adv = []  # (position in inter, Shape of index dims)
    for it in items:
        if it is None or it is True:
            inter.append((const(1), None))
            continue
        if it is False:
            inter.append((const(0), None))
            continue
        if isinstance(it, slice):
            d, o = src[pos]
            ln = _slice_len(site, d, it)
            if ln is False:
                return None
            inter.append((ln, o if ln == d else None))
            pos += 1
            continue
        if isinstance(it, (int, Expr)):
            d = src[pos][0]
            iv, nv = as_int(it), as_int(d)
            if iv is not None and nv is not None and not -nv <= iv < nv:
                site.error("SHP110", f"index {iv} is out of range for an axis of size {nv}",
                           notes=(site.axis_note(input, pos),))
                return None
            pos += 1
            continue
        if isinstance(it, list):
            if it and all(isinstance(v, bool) for v in it):
                if site.unify(const(len(it)), src[pos][0]) is False:
                    site.error("SHP110", f"a mask of {len(it)} entries indexes an axis of size "
                                         f"{qd(site.resolve(src[pos][0]))}", notes=(site.axis_note(input, pos),))
                    return None
                adv.append((len(inter), Shape((UNKNOWN,))))
            else:
                nv = as_int(src[pos][0])
                bad = next((v for v in it if isinstance(v, int) and nv is not None and not -nv <= v < nv), None)
                if bad is not None:
                    site.error("SHP110", f"index {bad} is out of range for an axis of size {nv}",
                               notes=(site.axis_note(input, pos),))
                    return None
                adv.append((len(inter), Shape((const(len(it)),))))
            inter.append(None)
            pos += 1
            continue
        # a tensor index
        kind = _dtype_kind(it)
        if kind == "mask":
            for j in range(it.rank):
                if site.unify(it.dims[j], src[pos + j][0]) is False:
                    site.error("SHP110", f"a mask axis {qd(site.resolve(it.dims[j]))} indexes axis "
                                         f"{qd(site.resolve(src[pos + j][0]))}",
                               notes=(site.axis_note(it, j), site.axis_note(input, pos + j)))
                    return None
            adv.append((len(inter), Shape((UNKNOWN,))))
            pos += it.rank
        elif it.rank == 0:  # a 0-D integer tensor selects like an int
            if kind == "mask":
                return None
            pos += 1
            continue
        elif kind == "int":
            adv.append((len(inter), it))
            pos += 1
        elif it.rank == 1:
            adv.append((len(inter), Shape((UNKNOWN,))))
            pos += 1
        else:
            return None
        inter.append(None)
    if not adv:
        return build(inter)
    bshape = site.broadcast(*[s for _, s in adv], what="indexing")
    if site.failed or bshape.rank is None:
        return None
    newax = axes(bshape)
    places = [p for p, _ in adv]
    adjacent = places == list(range(places[0], places[0] + len(places)))
    rest = [x for x in inter if x is not None]
    if adjacent:
        first = places[0]
        before = [x for x in inter[:first] if x is not None]
        after = [x for x in inter[first:] if x is not None]
        return build(before + newax + after)
    return build(newax + rest)


def _basic_item(site: Site, input: Shape, it, pos: int, out: list) -> int | None:
    """Apply one basic index item at ``input.dims[pos]``; returns how many axes it consumed."""
    if it is None or it is True:
        out.append((const(1), None))
        return 0
    if it is False:
        out.append((const(0), None))
        return 0
    d, o = input.dims[pos], input.origin(pos)
    if isinstance(it, slice):
        ln = _slice_len(site, d, it)
        if ln is False:
            return None
        out.append((ln, o if ln == d else None))
        return 1
    iv, nv = as_int(it), as_int(d)
    if iv is not None and nv is not None and not -nv <= iv < nv:
        site.error("SHP110", f"index {iv} is out of range for an axis of size {nv}", notes=(site.axis_note(input, pos),))
        return None
    return 1


def _getitem_variadic(site: Site, input: Shape, index):
    """Basic indexing of a shape with a variadic segment: the items before ``...`` apply to the fixed
    prefix, those after it to the fixed suffix; None when they might reach into the variadic part."""
    items = list(index) if isinstance(index, tuple) else [index]
    if not all(it is None or it is Ellipsis or isinstance(it, (bool, int, Expr, slice)) for it in items):
        return None
    n_ell = sum(1 for it in items if it is Ellipsis)
    if n_ell > 1:
        return None
    if n_ell == 0:
        items = [*items, Ellipsis]
    k = next(i for i, it in enumerate(items) if it is Ellipsis)
    before, after = items[:k], items[k + 1:]
    n_before = sum(1 for it in before if not (it is None or isinstance(it, bool)))
    n_after = sum(1 for it in after if not (it is None or isinstance(it, bool)))
    v = input.variadic_index
    if n_before > v or n_after > len(input.dims) - v - 1:
        return None
    out: list = []
    pos = 0
    for it in before:
        n = _basic_item(site, input, it, pos, out)
        if n is None:
            return None
        pos += n
    tail = len(input.dims) - n_after
    origins = input.origins or (None,) * len(input.dims)
    out.extend(zip(input.dims[pos:tail], origins[pos:tail]))
    pos = tail
    for it in after:
        n = _basic_item(site, input, it, pos, out)
        if n is None:
            return None
        pos += n
    return build(out)


@shape_rule("torch.gather", "torch.Tensor.gather", "torch.take_along_dim", "torch.Tensor.take_along_dim",
            ok=["b n d, b n k | -1 -> b n k", "b n d, b 1 d | 1 -> b 1 d"],
            bad=["b n d, b n | -1 ! SHP104", "b n d, b n k | 3 ! SHP106", "3 4, 5 4 | 1 ! SHP110"])
def gather(site: Site, input, *args, **kwargs) -> Shape | None:
    """``gather(x, dim, index)`` (``x.gather(dim, index)``) has the index's shape; the ranks must agree.
    ``take_along_dim(x, indices, dim)`` likewise. (Examples pass the index before the dim.)"""
    shapes = [a for a in args if isinstance(a, Shape)]
    index = kwargs.get("index", kwargs.get("indices", shapes[0] if shapes else None))
    ints = [a for a in args if not isinstance(a, Shape)]
    dim = kwargs.get("dim", ints[0] if ints else None)
    if isinstance(input, Shape) and isinstance(index, Shape) and dim is not None and \
            (input.rank is None or index.rank is None) and not index.is_any:
        return index  # the result has the index's shape; ranks are checked when both are known
    if not known(input) or not known(index):
        return None
    if dim is None:
        return None
    if index.rank != input.rank:
        site.error("SHP104", f"{site.op} needs an index of {input.rank} axes like its input, got {index.rank}",
                   notes=(f"{input.label or 'the input'} has shape ({input})",
                          f"{index.label or 'the index'} has shape ({index})"))
        return None
    d = site.normalize_dim(dim, input.rank, input)
    if d is None:
        return None
    for i in range(input.rank):
        if i == d:
            continue
        a, b = as_int(site.resolve(index.dims[i])), as_int(site.resolve(input.dims[i]))
        if a is not None and b is not None and a > b:
            site.error("SHP110", f"{site.op} index axis {i} has {a} entries, more than the input's {b}",
                       notes=(site.axis_note(index, i), site.axis_note(input, i)))
            return None
    return index


@shape_rule("torch.index_select", "torch.Tensor.index_select",
            ok=["v d, k | 0 -> k d", "b n, k | dim=1 -> b k"], bad=["b n, k | 2 ! SHP106", "b n, k j | 0 ! SHP104"])
def index_select(site: Site, input, *args, **kwargs) -> Shape | None:
    """``index_select(x, dim, index)``: the dim replaced by the 1-D index's length."""
    shapes = [a for a in args if isinstance(a, Shape)]
    ints = [a for a in args if not isinstance(a, Shape)]
    index = kwargs.get("index", shapes[0] if shapes else None)
    dim = kwargs.get("dim", ints[0] if ints else None)
    if not isinstance(input, Shape) or not known(index) or dim is None:
        return None
    if index.rank > 1:
        site.error("SHP104", f"index_select needs a 1-D index, got {index.rank} axes")
        return None
    d = locate(site, input, dim)
    if d is None or input.rank == 0:
        return None
    ax = axes_any(input)
    ax[d] = (index.dims[0] if index.rank == 1 else const(1), index.origin(0) if index.rank == 1 else None)
    return build(ax)


@shape_rule("torch.select", "torch.Tensor.select",
            ok=["b n d | 1, 0 -> b d", "b n d | -1, 2 -> b n"], bad=["b n | 2, 0 ! SHP106", "b 3 | 1, 3 ! SHP110"])
def select(site: Site, input, dim, index) -> Shape | None:
    """``select(x, dim, i)``: the dim removed."""
    if not isinstance(input, Shape):
        return None
    d = locate(site, input, dim)
    if d is None or input.rank == 0:
        return None
    iv, nv = as_int(index), as_int(input.dims[d])
    if iv is not None and nv is not None and not -nv <= iv < nv:
        site.error("SHP110", f"index {iv} is out of range for an axis of size {nv}", notes=(site.axis_note(input, d),))
        return None
    ax = axes_any(input)
    return build(ax[:d] + ax[d + 1:])


@shape_rule("torch.narrow", "torch.Tensor.narrow",
            ok=["b n d | 1, 0, k -> b k d", "b 10 | -1, 2, 3 -> b 3"], bad=["b 10 | 1, 8, 3 ! SHP110", "b n | 2, 0, 1 ! SHP106"])
def narrow(site: Site, input, dim, start, length) -> Shape | None:
    """``narrow(x, dim, start, length)``: the dim becomes ``length``."""
    if not isinstance(input, Shape):
        return None
    d = locate(site, input, dim)
    if d is None or input.rank == 0:
        return None
    sv, lv, nv = as_int(start), as_int(length), as_int(input.dims[d])
    if sv is not None and lv is not None and nv is not None:
        s0 = sv + nv if sv < 0 else sv
        if lv < 0 or s0 < 0 or s0 + lv > nv:
            site.error("SHP110", f"narrow takes {lv} elements from position {sv} of an axis of size {nv}",
                       notes=(site.axis_note(input, d),))
            return None
    ax = axes_any(input)
    ax[d] = (as_size(length), None)
    return build(ax)


@shape_rule("torch.tril", "torch.Tensor.tril", "torch.triu", "torch.Tensor.triu", "torch.Tensor.tril_",
            "torch.Tensor.triu_",
            ok=["n n -> n n", "b n m | 1 -> b n m", "b n m | diagonal=-1 -> b n m"], bad=["n ! SHP104"])
def tril(site: Site, input, diagonal=0) -> Shape | None:
    """``tril``/``triu``: the shape is kept; the input needs at least 2 axes."""
    if not isinstance(input, Shape):
        return None
    if input.rank is not None and input.rank < 2:
        site.error("SHP104", f"{site.op} needs a tensor of at least 2 axes, got {input.rank}")
        return None
    return input
