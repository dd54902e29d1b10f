"""Matrix products."""

from __future__ import annotations

from .._algebra import Expr
from .._shape import UNKNOWN, Shape, Variadic
from ._registry import Site, as_int, as_size, module_rule, qd, shape_rule
from ._util import axes, build, count_text, known, last_replaced


@shape_rule("torch.matmul", "torch.Tensor.matmul", "torch.Tensor.__matmul__",
            ok=["b n k, b k m -> b n m", "n k, k -> n", "*B n k, k m -> *B n m", "k, k m -> m", "k, k -> "],
            bad=["b n k, b m k ! SHP101", ", n ! SHP104"])
def matmul(site: Site, input, other, *, out=None) -> Shape | None:
    """Batched matrix product: batch axes broadcast, a[-1] contracts with b[-2] (or b[-1] for vectors)."""
    a, b = input, other
    if not isinstance(a, Shape) or not isinstance(b, Shape):
        return None
    if a.rank == 0 or b.rank == 0:
        site.error("SHP104", f"{site.op} needs tensors of at least one axis, got a scalar")
        return None
    if a.is_any or b.is_any:
        return _of_unknown_rank(a, b)
    if b.get_meta("t_lead") and len(b.dims) == 2 and a.variadic_index != len(a.dims) - 1:
        # ``a @ y.t()`` with ``y`` of ``... d`` (one or two axes): ``d`` is contracted either way
        if site.unify(a.dims[-1], b.dims[0]) is False:
            site.error("SHP101", f"{site.op} contracts {qd(site.resolve(a.dims[-1]))} with "
                       f"{qd(site.resolve(b.dims[0]))}", notes=(site.axis_note(a, -1), site.axis_note(b, 0)))
        return None
    ka = a.dims[-1]
    kb_index = -1 if b.rank == 1 else -2
    if b.variadic_index is not None and len(b.dims) - b.variadic_index - 1 < 2 \
            or a.variadic_index is not None and len(a.dims) - a.variadic_index - 1 < 1:
        return _of_unknown_rank(a, b)
    kb = b.dims[kb_index]
    if site.unify(ka, kb) is False:
        site.error("SHP101", f"{site.op} contracts {qd(site.resolve(ka))} with {qd(site.resolve(kb))}",
                   notes=(site.axis_note(a, -1), site.axis_note(b, kb_index)),
                   help=("did you mean `.transpose(-2, -1)` on the right operand?"
                         if b.rank and b.rank >= 2 and site.compare(ka, b.dims[-1]) == "eq" else None))
    if a.rank == 1 and b.rank == 1:
        return Shape(())
    if a.rank == 1:
        return Shape(b.dims[:-2] + b.dims[-1:], (b.origins[:-2] + b.origins[-1:]) if b.origins else ())
    if b.rank == 1:
        return Shape(a.dims[:-1], a.origins[:-1] if a.origins else ())
    batch = site.broadcast(Shape(a.dims[:-2], a.origins[:-2] if a.origins else ()),
                           Shape(b.dims[:-2], b.origins[:-2] if b.origins else ()), operands=(a, b))
    oa = a.origins[-2:-1] if a.origins else (None,)
    ob = b.origins[-1:] if b.origins else (None,)
    origins = (batch.origins or (None,) * len(batch.dims)) + oa + ob
    return Shape(batch.dims + (a.dims[-2], b.dims[-1]), origins)



def _last(x: Shape, i: int):
    """Axis ``i`` (negative) of ``x`` with its origin, where ``x`` states it; else None."""
    if -i > len(x.dims) - (x.variadic_index + 1 if x.variadic_index is not None else 0):
        return None
    return x.dims[i], (x.origins[i] if x.origins else None)


def _known_batch(a: Shape, b: Shape, least_a: int, least_b: int, at_least: int) -> Shape | None:
    """Of two matrices (two axes or more each), one of known rank: its batch axes and its own row (or column)
    axis are the result's, before (or as) the last two, whatever batch axes the other adds in front
    (``torch.matmul(q, k.transpose(2, 3))`` with ``q`` of ``b h t d`` and a cached ``k`` of unknown shape gives
    ``... b h t ?``). An axis of size 1 broadcasts: the other's, unknown."""
    if least_a < 2 or least_b < 2:
        return None
    back_a, back_b = _back(a), _back(b)
    if len(back_a) >= 2 and len(back_a) >= len(back_b):
        lead, rows = back_a[:-2], [back_a[-2]]
        cols = [_last(b, -1) or (UNKNOWN, None)]
    elif len(back_b) >= 2:
        lead, rows = back_b[:-2], [_last(a, -2) or (UNKNOWN, None)]
        cols = [back_b[-1]]
    else:
        return None
    lead = [(UNKNOWN, None) if isinstance(d, Expr) and d.value == 1 else (d, o) for d, o in lead]
    side, other = (a, least_b) if len(back_a) >= 2 and len(back_a) >= len(back_b) else (b, least_a)
    if side.rank is not None and side.rank >= 3 and other <= side.rank:
        # batch axes on the known side already (``b h t d``): the other is taken to add none of its own in front
        return build(lead + rows + cols)
    pad = [(UNKNOWN, None)] * max(0, at_least - len(lead) - 2)
    return build([(Variadic(None), None)] + pad + lead + rows + cols)


def _back(x: Shape) -> list:
    """The axes ``x`` states from its end (all of them at a known rank), with their origins."""
    if x.rank is not None:
        return axes(x)
    v = x.variadic_index
    return list(zip(x.dims[v + 1:], (x.origins[v + 1:] if x.origins else [None] * (len(x.dims) - v - 1))))


def _of_unknown_rank(a: Shape, b: Shape) -> Shape | None:
    """The product where an operand's last axes are not known (``q @ k.transpose(2, 3)`` of unannotated
    inputs): the number of axes it has at least, and the last axes it is sure of. ``b`` of two axes or more
    gives its last axis to the result, whatever ``a`` is; with ``a`` of two or more, ``a``'s next to last
    comes before it."""
    def ranks(x):  # the ranks that give the fewest axes: x's own, or the least it may have, one and two
        return {x.rank} if x.rank is not None else {r for r in (1, 2, x.min_rank) if r >= max(1, x.min_rank)}

    def out(ra, rb):
        return ra + rb - 2 if 1 in (ra, rb) else max(ra, rb)

    at_least = min(out(ra, rb) for ra in ranks(a) for rb in ranks(b))
    if at_least < 1:
        return None
    known_side = _known_batch(a, b, min(ranks(a)), min(ranks(b)), at_least)
    if known_side is not None:
        return known_side
    trail = []
    if min(ranks(b)) >= 2 and _last(b, -1) is not None:
        if min(ranks(a)) >= 2 and _last(a, -2) is not None:
            trail.append(_last(a, -2))
        trail.append(_last(b, -1))
    pad = [(UNKNOWN, None)] * max(0, at_least - len(trail))
    return build([(Variadic(None), None)] + pad + trail)


@shape_rule("torch.Tensor.__rmatmul__", ok=["k m, n k -> n m", "k, k -> ()"], bad=["b m k, b n k ! SHP101"])
def rmatmul(site: Site, input, other) -> Shape | None:
    """``other @ self`` (the reflected operator: ``self`` is the right operand)."""
    return matmul(site, other, input)

def _batch_mat(site: Site, a: Shape, b: Shape, rank: int, what: str) -> Shape | None:
    for s in (a, b):
        if s.rank is not None and s.rank != rank:
            site.error("SHP104", f"{site.op} expects {rank}-D tensors, got {s.rank} axes",
                       notes=(f"{s.label or 'the operand'} has shape ({s})",))
            return None
    if a.rank is None or b.rank is None:
        return None
    if site.unify(a.dims[-1], b.dims[-2]) is False:
        site.error("SHP101", f"{site.op} contracts {qd(site.resolve(a.dims[-1]))} with "
                             f"{qd(site.resolve(b.dims[-2]))}",
                   notes=(site.axis_note(a, -1), site.axis_note(b, -2)))
    if rank == 3 and site.unify(a.dims[0], b.dims[0]) is False:
        site.error("SHP110", f"{site.op} pairs batch axis {qd(site.resolve(a.dims[0]))} with "
                             f"{qd(site.resolve(b.dims[0]))}",
                   notes=(site.axis_note(a, 0), site.axis_note(b, 0)))
    ax = axes(a)
    bx = axes(b)
    return build(ax[:-1] + bx[-1:])


@shape_rule("torch.mm", "torch.Tensor.mm", ok=["n k, k m -> n m"], bad=["n k, m k ! SHP101", "b n k, k m ! SHP104"])
def mm(site: Site, input, mat2, *, out=None) -> Shape | None:
    """Matrix product of two 2-D tensors (no broadcasting)."""
    if not known(input) or not known(mat2):
        return None
    return _batch_mat(site, input, mat2, 2, "mm")


@shape_rule("torch.bmm", "torch.Tensor.bmm", ok=["b n k, b k m -> b n m"],
            bad=["b n k, b m k ! SHP101", "b n k, c k m ! SHP110", "n k, k m ! SHP104"])
def bmm(site: Site, input, mat2, *, out=None) -> Shape | None:
    """Batched matrix product of two 3-D tensors; the batch axes must be equal (no broadcasting)."""
    if not known(input) or not known(mat2):
        return None
    return _batch_mat(site, input, mat2, 3, "bmm")


@shape_rule("torch.mv", "torch.Tensor.mv", ok=["n k, k -> n"], bad=["n k, n ! SHP101", "b n k, k ! SHP104"])
def mv(site: Site, input, vec, *, out=None) -> Shape | None:
    """Matrix-vector product: ``(n, k) @ (k,) -> (n,)``."""
    if not known(input) or not known(vec):
        return None
    if input.rank != 2 or vec.rank != 1:
        site.error("SHP104", f"{site.op} expects a 2-D matrix and a 1-D vector, got {input.rank} and "
                             f"{vec.rank} axes")
        return None
    if site.unify(input.dims[1], vec.dims[0]) is False:
        site.error("SHP101", f"{site.op} contracts {qd(site.resolve(input.dims[1]))} with "
                             f"{qd(site.resolve(vec.dims[0]))}",
                   notes=(site.axis_note(input, 1), site.axis_note(vec, 0)))
    return build(axes(input)[:1])


@shape_rule("torch.dot", "torch.Tensor.dot", "torch.vdot", "torch.Tensor.vdot",
            ok=["n, n -> ()"], bad=["n, m ! SHP101", "n k, k ! SHP104"])
def dot(site: Site, input, other, *, out=None) -> Shape | None:
    """Dot product of two 1-D tensors: a scalar."""
    if not known(input) or not known(other):
        return None
    if input.rank != 1 or other.rank != 1:
        site.error("SHP104", f"{site.op} expects two 1-D tensors, got {input.rank} and {other.rank} axes")
        return None
    if site.unify(input.dims[0], other.dims[0]) is False:
        site.error("SHP101", f"{site.op} contracts {qd(site.resolve(input.dims[0]))} with "
                             f"{qd(site.resolve(other.dims[0]))}",
                   notes=(site.axis_note(input, 0), site.axis_note(other, 0)))
    return Shape(())


@shape_rule("torch.inner", "torch.Tensor.inner", ok=["n, n -> ()", "a n, b n -> a b"], bad=["a n, b m ! SHP101"])
def inner(site: Site, input, other, *, out=None) -> Shape | None:
    """``inner(a, b)``: contracts the last axes; the result is ``a.shape[:-1] + b.shape[:-1]``."""
    if not known(input) or not known(other):
        return None
    if input.rank == 0 or other.rank == 0:
        return build(axes(other if input.rank == 0 else input))
    if site.unify(input.dims[-1], other.dims[-1]) is False:
        site.error("SHP101", f"{site.op} contracts {qd(site.resolve(input.dims[-1]))} with "
                             f"{qd(site.resolve(other.dims[-1]))}",
                   notes=(site.axis_note(input, -1), site.axis_note(other, -1)))
    return build(axes(input)[:-1] + axes(other)[:-1])


@shape_rule("torch.outer", "torch.Tensor.outer", "torch.ger", "torch.Tensor.ger",
            ok=["n, m -> n m"], bad=["n k, m ! SHP104"])
def outer(site: Site, input, vec2, *, out=None) -> Shape | None:
    """Outer product of two 1-D tensors."""
    if not known(input) or not known(vec2):
        return None
    if input.rank != 1 or vec2.rank != 1:
        site.error("SHP104", f"{site.op} expects two 1-D tensors, got {input.rank} and {vec2.rank} axes")
        return None
    return build(axes(input) + axes(vec2))


@shape_rule("torch.Tensor.mT", "torch.Tensor.mH", "torch.Tensor.adjoint", "torch.adjoint",
            ok=["b n m -> b m n", "*B n m -> *B m n"], bad=["n ! SHP104"])
def mT(site: Site, input) -> Shape | None:
    """``x.mT``: the last two axes swapped (batches of matrices); needs at least 2 axes (a 0-D tensor is
    returned as is, as PyTorch does)."""
    if not isinstance(input, Shape):
        return None
    if input.rank == 0:
        return input
    if input.min_rank < 2:
        if input.rank is None:
            return None
        site.error("SHP104", f"{site.op} needs a tensor of at least 2 axes, got {input.rank}")
        return None
    dims = list(input.dims)
    origins = list(input.origins) if input.origins else [None] * len(dims)
    dims[-1], dims[-2] = dims[-2], dims[-1]
    origins[-1], origins[-2] = origins[-2], origins[-1]
    return Shape(tuple(dims), tuple(origins) if any(origins) else ())


@shape_rule("torch.Tensor.T", "torch.Tensor.H", ok=["n m -> m n", "n -> n", "a b c -> c b a"])
def T(site: Site, input) -> Shape | None:
    """``x.T`` reverses the axes; a 0-D or 1-D tensor is returned as is."""
    if not known(input):
        return None
    if input.rank < 2:
        return input
    return build(list(reversed(axes(input))))


T.never_fails = True


@shape_rule("torch.Tensor.t", "torch.t", ok=["n m -> m n", "n -> n", "... n -> n ..."], bad=["a b c ! SHP104"])
def t(site: Site, input) -> Shape | None:
    """``x.t()`` transposes a tensor of at most 2 axes. Of a tensor of unknown rank whose last axis is known
    (``... d``), it has one or two axes, ``d`` first: ``d ...`` marked ``t_lead`` (read by matmul)."""
    if isinstance(input, Shape) and input.variadic_index == 0 and len(input.dims) == 2 \
            and not isinstance(input.dims[1], Variadic):
        origins = (input.origins[1], None) if input.origins else ()
        return Shape((input.dims[1], Variadic(None)), origins).with_meta(t_lead=True)
    if not known(input):
        return None
    if input.rank < 2:
        return input
    if input.rank > 2:
        site.error("SHP104", f"`t()` expects a tensor of at most 2 axes, got {input.rank}")
        return None
    return build(list(reversed(axes(input))))


# -- linear and embedding ----------------------------------------------------------------------

def _features(site: Site, x: Shape, expected, what: str, layer: str):
    if x.rank == 0:
        site.error("SHP104", f"{layer} needs an input of at least one axis, got a scalar")
        return False
    got = x.dims[-1]
    if site.unify(got, expected) is False:
        site.error("SHP107", f"{layer} expects {_count(site, expected)} {what}, got {qd(site.resolve(got))}",
                   notes=(site.axis_note(x, -1),))
        return False
    return True


def _count(site: Site, e) -> str:
    return count_text(site, e)


@shape_rule("torch.nn.functional.linear", "torch._C._nn.linear",
            ok=["b n d, f d -> b n f", "*B d, f d -> *B f", "b d, d -> b"],
            bad=["b n d, f e ! SHP107"])
def linear(site: Site, input, weight, bias=None) -> Shape | None:
    """``F.linear(x, W)``: ``W`` is ``(out_features, in_features)``; the last axis of ``x`` becomes
    ``out_features`` (a 1-D weight contracts it away)."""
    if not isinstance(input, Shape) or not known(weight):
        return None
    if weight.rank not in (1, 2):
        site.error("SHP104", f"linear expects a weight of 1 or 2 axes, got {weight.rank}")
        return None
    if input.rank is not None and input.rank == 0:
        site.error("SHP104", "linear needs an input of at least one axis, got a scalar")
        return None
    if input.min_rank == 0:
        return None
    if isinstance(input.dims[-1], Variadic):  # ``b *rest``: the last axis is unknown, and so is its position
        return last_replaced(input, weight.dims[0]) if weight.rank == 2 else None
    k = weight.dims[-1]
    if site.unify(input.dims[-1], k) is False:
        site.error("SHP107", f"linear expects {_count(site, k)} input features, got "
                             f"{qd(site.resolve(input.dims[-1]))}",
                   notes=(site.axis_note(input, -1), site.axis_note(weight, -1)))
    head = list(zip(input.dims[:-1], (input.origins or (None,) * len(input.dims))[:-1]))
    if weight.rank == 1:
        return build(head)
    return build(head + [(weight.dims[0], weight.origin(0))])


@module_rule("torch.nn.Linear", init="in_features, out_features, bias=True, device=None, dtype=None",
             ok=["init: 4, 8 | b 4 -> b 8", "init: d, f | b n d -> b n f", "init: d, f | *B d -> *B f",
                 "init: d, f | b *rest -> ... f"],
             bad=["init: d, f | b n e ! SHP107", "init: 4, 8 | b 5 ! SHP107", "init: 4, 8 | () ! SHP104"])
def Linear(site: Site, init: dict, input) -> Shape | None:
    """``nn.Linear(in_features, out_features)``: the last axis must be ``in_features``; it becomes
    ``out_features``."""
    if not isinstance(input, Shape):
        return None
    out_f = as_size(init.get("out_features"))
    if input.rank == 0:
        site.error("SHP104", "nn.Linear needs an input of at least one axis, got a scalar")
        return None
    if input.min_rank == 0:
        # a tensor of unknown rank: if the call runs, its last axis becomes ``out_features``
        return Shape((Variadic(None), out_f)) if input.variadic_index == 0 and len(input.dims) == 1 else None
    if isinstance(input.dims[-1], Variadic):  # ``b *rest``: the last axis is unknown, and so is its position
        return last_replaced(input, out_f)
    in_f = as_size(init.get("in_features"))
    if site.unify(input.dims[-1], in_f) is False:
        site.error("SHP107", f"linear expects {_count(site, in_f)} input features, got "
                             f"{qd(site.resolve(input.dims[-1]))}",
                   notes=(site.axis_note(input, -1),),
                   help=None)
    head = list(zip(input.dims[:-1], (input.origins or (None,) * len(input.dims))[:-1]))
    return build(head + [(out_f, None)])


@module_rule("torch.nn.LazyLinear", init="out_features, bias=True, device=None, dtype=None",
             ok=["init: 8 | b 4 -> b 8"], bad=["init: 8 | () ! SHP104"])
def LazyLinear(site: Site, init: dict, input) -> Shape | None:
    """``nn.LazyLinear(out_features)``: the last axis becomes ``out_features``."""
    if not isinstance(input, Shape):
        return None
    if input.rank == 0:
        site.error("SHP104", "nn.LazyLinear needs an input of at least one axis, got a scalar")
        return None
    if input.min_rank == 0:
        return None
    if isinstance(input.dims[-1], Variadic):
        return Shape((Variadic(None), as_size(init.get("out_features"))))
    head = list(zip(input.dims[:-1], (input.origins or (None,) * len(input.dims))[:-1]))
    return build(head + [(as_size(init.get("out_features")), None)])


@shape_rule("torch.nn.functional.embedding", "torch.embedding",
            ok=["b n, v d -> b n d", ", v d -> d"],
            bad=["b n, v ! SHP104"])
def embedding(site: Site, input, weight, *args, **kwargs) -> Shape | None:
    """``F.embedding(idx, W)``: ``W`` is ``(num_embeddings, dim)``; the result is ``idx.shape + (dim,)``."""
    if not isinstance(input, Shape) or not known(weight):
        return None
    if weight.rank != 2:
        site.error("SHP104", f"embedding expects a 2-D weight (num_embeddings, embedding_dim), got "
                             f"{weight.rank} axes")
        return None
    if input.rank is None and not input.dims:
        return None
    return Shape(input.dims + (weight.dims[1],),
                 (input.origins + (weight.origin(1),)) if input.origins else ())


@module_rule("torch.nn.Embedding",
             init="num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0, "
                  "scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None",
             ok=["init: 100, d | b n -> b n d", "init: 100, 16 | *B -> *B 16", "init: 100, 16 | () -> 16"])
def Embedding(site: Site, init: dict, input) -> Shape | None:
    """``nn.Embedding(num, dim)``: an index tensor of any shape gets a trailing ``embedding_dim`` axis."""
    if not isinstance(input, Shape):
        return None
    d = as_size(init.get("embedding_dim"))
    return Shape(input.dims + (d,), (input.origins + (None,)) if input.origins else ())


Embedding.never_fails = True


@module_rule("torch.nn.EmbeddingBag",
             init="num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, "
                  "mode='mean', sparse=False, _weight=None, include_last_offset=False, padding_idx=None, "
                  "device=None, dtype=None",
             ok=["init: 100, d | b n -> b d", "init: 100, 16 | n, m -> m 16",
                 "init: 100, 16, include_last_offset=True | n, m -> m-1 16"],
             bad=["init: 100, 16 | b n k ! SHP104"])
def EmbeddingBag(site: Site, init: dict, input, offsets=None, **_weights) -> Shape | None:
    """``nn.EmbeddingBag(num, dim)``: each bag of indices summed (or averaged) into one ``embedding_dim`` row; the
    bags are the rows of a 2-D input, or the stretches of a 1-D input that ``offsets`` starts."""
    if not isinstance(input, Shape):
        return None
    d = as_size(init.get("embedding_dim"))
    if input.rank == 2:
        return Shape((input.dims[0], d), (input.origins[0], None) if input.origins else ())
    if input.rank == 1 and isinstance(offsets, Shape) and offsets.rank == 1:
        bags = offsets.dims[0]
        if init.get("include_last_offset") is True or as_int(init.get("include_last_offset")) == 1:
            bags = bags - 1 if isinstance(bags, Expr) else UNKNOWN
        return Shape((bags, d))
    if input.rank not in (None, 1):
        site.error("SHP104", f"{site.op} expects bags as a 2-D tensor, or a 1-D one with offsets, got {input.rank} axes")
        return None
    return Shape((UNKNOWN, d))
