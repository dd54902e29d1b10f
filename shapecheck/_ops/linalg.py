"""Matrix products."""

from __future__ import annotations

from .._shape import ANY_SHAPE, Shape
from ._registry import Site, qd, shape_rule


@shape_rule("torch.matmul", "torch.Tensor.matmul", "torch.Tensor.__matmul__", "torch.Tensor.__rmatmul__",
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
        return None
    ka = a.dims[-1]
    kb_index = -1 if b.rank == 1 else -2
    if b.variadic_index is not None and len(b.dims) - b.variadic_index - 1 < 2:
        return None
    if a.variadic_index is not None and len(a.dims) - a.variadic_index - 1 < 1:
        return None
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
                           Shape(b.dims[:-2], b.origins[:-2] if b.origins else ()))
    oa = a.origins[-2:-1] if a.origins else (None,)
    ob = b.origins[-1:] if b.origins else (None,)
    origins = (batch.origins or (None,) * len(batch.dims)) + oa + ob
    return Shape(batch.dims + (a.dims[-2], b.dims[-1]), origins)
