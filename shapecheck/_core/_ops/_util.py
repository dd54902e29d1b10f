"""Small helpers shared by the rule modules (no torch import)."""

from __future__ import annotations

from .._algebra import Expr, const
from .._roles import BATCH, RoleOrigin
from .._shape import UNKNOWN, Shape, Unknown, Variadic
from ._registry import OPAQUE, Site, as_int, as_size, qd

__all__ = [
    "axes",
    "batched",
    "build",
    "dims_arg",
    "fixed_rank",
    "int_tuple",
    "is_shape",
    "known",
    "last_replaced",
    "names",
    "passthrough",
    "prod",
    "sizes_arg",
]


# meta of a convolution's output whose rank is unknown: its leading segment is the batch axis or nothing
CONV_LEAD = "conv_lead"
# meta of a shape whose variadic segment is one axis or none (a recurrent layer's final states, ``n ... h``: the
# batch axis of a batched input, none of an unbatched one)
ONE_OR_NONE = "one_or_none"
# meta of a layer's output ``... f`` whose input (``b 1 ...``, known in part) had only its last axis replaced:
# ``(input, f)``, so the output's other axes are the input's once its rank is known (``last_replaced``)
LAST_OF = "last_of"


def batched(x):
    """A convolution's output of unknown rank (``... c h w``, a leading segment of at most one axis) read
    as batched, ``? c h w``, by a layer that takes ``(N, C, *)``: unbatched, that layer would take the
    convolution's first spatial axis for its channels. Anything else is returned as it is."""
    if not isinstance(x, Shape) or x.rank is not None or x.variadic_index != 0 or len(x.dims) < 3 \
            or not x.get_meta(CONV_LEAD):
        return x
    # the leading axis so read is the batch: what ``(N, C, *)`` calls N
    rest = tuple(x.origins[1:]) if x.origins else (None,) * (len(x.dims) - 1)
    batch = RoleOrigin("the batch axis of a convolution's output", BATCH)
    return Shape((UNKNOWN,) + tuple(x.dims[1:]), (batch,) + rest, x.label)


def last_replaced(input: Shape, size) -> Shape:
    """``... size``: what a layer that maps the last axis of ``input`` (of unknown rank, its last axis
    unknown, ``b 1 ...``) gives, remembering ``input`` for when the rank becomes known."""
    out = Shape((Variadic(None), size))
    if len(input.dims) > 1:
        out = out.with_meta(**{LAST_OF: (input, size)})
    return out


def is_shape(x) -> bool:
    return isinstance(x, Shape)


def known(x) -> bool:
    """A tensor shape whose rank is known (no variadic segment)."""
    return isinstance(x, Shape) and x.rank is not None


def fixed_rank(x) -> int | None:
    return x.rank if isinstance(x, Shape) else None


def axes(s: Shape) -> list:
    """``[(dim, origin), ...]`` of a shape of known rank."""
    origins = s.origins if s.origins else (None,) * len(s.dims)
    return list(zip(s.dims, origins))


def batch_then_channels(x: Shape) -> bool:
    """``? c ...``: a shape of unknown rank whose only known axes are its first two, the second a size (what
    a norm over the channels, ``(N, C, *)``, fixes of an unknown input)."""
    return x.rank is None and x.variadic_index == 2 and len(x.dims) == 3 and isinstance(x.dims[1], Expr)


def build(pairs) -> Shape:
    """A shape from ``(dim, origin)`` pairs (origins dropped when none is known)."""
    pairs = list(pairs)
    dims = tuple(d for d, _ in pairs)
    origins = tuple(o for _, o in pairs)
    return Shape(dims, origins if any(o is not None for o in origins) else ())


def prod(dims):
    """The product of sizes, or UNKNOWN when one is unknown."""
    out = const(1)
    for d in dims:
        if not isinstance(d, Expr):
            return UNKNOWN
        out = out * d
    return out


def sizes_arg(args: tuple):
    """Sizes given as varargs (``view(B, T, C)``) or one sequence (``view((B, T, C))``).

    Returns a list of ``Expr``/UNKNOWN (``-1`` stays the int -1), or None when not static.
    """
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    if len(args) == 1 and isinstance(args[0], Shape):  # torch.Size of a known shape
        if args[0].rank is None:
            return None
        # ``x.reshape(*idx.size(), -1)`` spliced into one size: its ``-1`` is still the size left to infer
        return [v if (v := as_int(d)) is not None and v < 0 else d for d in args[0].dims]
    out = []
    for a in args:
        v = as_int(a)
        if v is not None and v < 0:
            out.append(v)
            continue
        s = as_size(a)
        if isinstance(s, Unknown) and a is not OPAQUE and not isinstance(a, Expr):
            return None  # a float, a string...: not a size list
        out.append(s)
    return out


def int_tuple(v) -> tuple | None:
    """An int or a sequence of ints as a tuple of ints; None when not static."""
    if isinstance(v, (tuple, list)):
        out = tuple(as_int(x) for x in v)
        return None if any(x is None for x in out) else out
    i = as_int(v)
    return None if i is None else (i,)


def dims_arg(site: Site, dim, shape: Shape, allow_end: bool = False):
    """Normalised dim indices from an int or a tuple; None when undecidable or out of range."""
    t = int_tuple(dim)
    if t is None:
        return None
    out = []
    for d in t:
        n = site.normalize_dim(d, shape.rank, shape, allow_end=allow_end)
        if n is None:
            return None
        out.append(n)
    if len(set(out)) != len(out):
        site.error("SHP106", f"{site.op} names the same dim twice ({', '.join(str(d) for d in t)})")
        return None
    return out


def names(*ns: str, prefixes=("torch.", "torch.Tensor.")) -> list:
    return [p + n for n in ns for p in prefixes]


def passthrough(x):
    """The input shape itself, for shape-preserving ops (meta, label and origins kept)."""
    return x if isinstance(x, Shape) else None


def is_literal(d, n: int | None = None) -> bool:
    return isinstance(d, Expr) and d.value is not None and (n is None or d.value == n)


def locate(site: Site, shape: Shape, dim, allow_end: bool = False):
    """The index into ``shape.dims`` of a dim argument, also for a shape with a variadic segment
    (a negative dim inside the fixed suffix, a non-negative one inside the fixed prefix); None when
    undecidable. SHP106 is recorded only when the rank is known (or the dim is out of range anyway)."""
    if shape.rank is not None:
        return site.normalize_dim(dim, shape.rank, shape, allow_end=allow_end)
    d = as_int(dim)
    v = shape.variadic_index
    if d is None:
        return None
    if d >= 0:
        if d < v:
            return d
        # a convolution's output, its leading segment read as the batch axis as a layer reads it (``batched``):
        # ``h.split(c, dim=1)`` splits its channels
        return d if v == 0 and 1 <= d < len(shape.dims) and shape.get_meta(CONV_LEAD) else None
    suffix = len(shape.dims) - v - 1 + (1 if allow_end else 0)
    if -d <= suffix:
        return len(shape.dims) + d + (1 if allow_end else 0)
    return None


def trailing_known(x, n: int) -> bool:
    """A shape of unknown rank whose last ``n`` axes are known (``... c h w``, a convolution's output)."""
    if not isinstance(x, Shape) or x.rank is not None or x.variadic_index is None:
        return False
    return len(x.dims) - x.variadic_index - 1 >= n


def with_trailing(s: Shape, pairs) -> Shape:
    """``s`` (of unknown rank) with its axes replaced by ``(dim, origin)`` pairs, its variadic part and
    the facts it carries (``Shape.meta``) kept."""
    dims = tuple(d for d, _ in pairs)
    origins = tuple(o for _, o in pairs)
    return Shape(dims, origins if any(o is not None for o in origins) else (), None, s.meta)


def axes_any(s: Shape) -> list:
    """``[(dim, origin), ...]`` including a variadic item (for shapes of unknown rank)."""
    origins = s.origins if s.origins else (None,) * len(s.dims)
    return list(zip(s.dims, origins))


def count_text(site: Site, e) -> str:
    """A size for a message: ``512``, ``"d_model"``, or ``512 ("d_model")`` when a name is bound to a literal."""
    r = site.resolve(e)
    v = as_int(r)
    if v is None:
        return qd(r)
    if isinstance(e, Expr) and e.value is None:
        return f"{v} ({qd(e)})"
    return str(v)
