"""Elementwise arithmetic and comparison with broadcasting; ``where``, ``masked_fill``, ``clamp``."""

from __future__ import annotations

from .._shape import ANY_SHAPE, Shape
from ._registry import OPAQUE, Site, qd, shape_rule
from ._util import CONV_LEAD

_BINARY = ("add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
           "remainder", "pow", "eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal",
           "less_equal", "not_equal", "maximum", "minimum", "fmax", "fmin", "logical_and", "logical_or",
           "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "atan2", "fmod", "hypot",
           "copysign", "xlogy", "logaddexp")
_DUNDER = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "eq", "ne", "lt", "le", "gt",
           "ge", "and", "or", "xor")
_INPLACE = ("add", "sub", "mul", "div", "floor_divide", "remainder", "pow", "fmod", "maximum", "minimum")
_IDUNDER = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor")


def binary_names() -> list:
    """Every qualified name of the broadcasting binary ops (``torch.add``, ``x + y``, ``y * x``...)."""
    out = []
    for n in _BINARY:
        out += [f"torch.{n}", f"torch.Tensor.{n}"]
    for n in _DUNDER:
        out += [f"torch.Tensor.__{n}__", f"torch.Tensor.__r{n}__"] if n not in ("eq", "ne", "lt", "le", "gt", "ge") \
            else [f"torch.Tensor.__{n}__"]
    return out


@shape_rule(*binary_names(),
            ok=["b n d, d -> b n d", "b 1 d, b n 1 -> b n d", "*B n, n -> *B n", "b n, -> b n",
                "b n | 2 -> b n"],
            bad=["b n, b m ! SHP102", "3, 4 ! SHP102"])
def binary(site: Site, input, other, *args, **kwargs) -> Shape | None:
    """Elementwise binary op: shapes broadcast from the right; a number broadcasts everywhere; an
    operand the analysis could not evaluate may be a tensor of any shape."""
    input, other = (ANY_SHAPE if v is OPAQUE else v for v in (input, other))
    shapes = [s for s in (input, other) if isinstance(s, Shape)]
    if not shapes:
        return None
    if len(shapes) == 1:
        return shapes[0]
    return _keep_conv_lead(site.broadcast(*shapes), shapes)


def _keep_conv_lead(out: Shape, shapes: list) -> Shape:
    """``out + residual`` of two convolution outputs of unknown rank (``... c h w``, a leading segment of
    at most one axis): their sum has that rank too, so it is still read batched by what takes
    ``(N, C, *)``. So is the sum with a tensor of no more axes than the trailing ones (a ``c 1 1`` bias).
    Summed with a batched tensor of one axis more (``b c h w``, a batch norm's output), the sum has exactly
    that tensor's axes."""
    n = len(out.dims) - 1
    if out.rank is not None or out.variadic_index != 0 or n < 2:
        return out
    ranks = [s.rank for s in shapes if s.rank is not None]
    lead = [s for s in shapes if s.rank is None]
    if ranks and max(ranks) == n and lead and all(
            s.get_meta(CONV_LEAD) and s.variadic_index == 0 and len(s.dims) <= n for s in lead):
        # each operand of unknown rank has at most ``len(s.dims)`` axes (one leading axis or none), no more
        # than the batched operand: the variadic segment of the broadcast is empty
        return Shape(out.dims[1:], tuple(out.origins[1:]) if out.origins else (), out.label, out.meta)
    for s in shapes:
        if s.rank is not None:
            if s.rank > n:
                return out
        elif not (s.get_meta(CONV_LEAD) and s.variadic_index == 0 and len(s.dims) - 1 == n):
            return out
    return out.with_meta(**{CONV_LEAD: True})


@shape_rule(*([f"torch.Tensor.{n}_" for n in _INPLACE] + [f"torch.Tensor.__i{n}__" for n in _IDUNDER]),
            ok=["b n d, d -> b n d", "b n d, 1 n 1 -> b n d"],
            bad=["b n, b m ! SHP102", "n, b n ! SHP102"])
def binary_inplace(site: Site, input, other, *args, **kwargs) -> Shape | None:
    """In-place elementwise op (``x += y``, ``x.add_(y)``): ``other`` must broadcast to ``input``'s shape."""
    if not isinstance(input, Shape):
        return None
    if not isinstance(other, Shape):
        return input
    out = site.broadcast(input, other)
    if site.failed or out.rank is None or input.rank is None:
        return input
    if out.rank > input.rank:
        site.error("SHP102", f"{site.op} cannot write a result of {out.rank} axes into a tensor of "
                             f"{input.rank} in place",
                   notes=(site.axis_note(other, 0),))
    else:
        for i, (a, b) in enumerate(zip(out.dims, input.dims)):
            if site.compare(a, b) == "ne":
                site.error("SHP102", f"{site.op} cannot write axis {qd(site.resolve(a))} into "
                                     f"{qd(site.resolve(b))} in place", notes=(site.axis_note(input, i),))
                break
    return input


@shape_rule("torch.where", "torch.Tensor.where",
            ok=["b n, b n, b n -> b n", "b 1, n | 0.0 -> b n", "n, b 1, b n -> b n"],
            bad=["b n, b m, b n ! SHP102"])
def where(site: Site, condition, input=None, other=None) -> Shape | None:
    """``torch.where(cond, x, y)``: the three operands broadcast (an operand the analysis could not evaluate
    may be a tensor of any shape, so a mask's trailing 1 does not decide the result); one-argument form is
    unknown."""
    if input is None and other is None:
        return None
    condition, input, other = (ANY_SHAPE if v is OPAQUE else v for v in (condition, input, other))
    shapes = [s for s in (condition, input, other) if isinstance(s, Shape)]
    if not isinstance(condition, Shape):
        return None
    return site.broadcast(*shapes)


@shape_rule("torch.Tensor.masked_fill_", ok=["b h n n, n n | 0.0 -> b h n n"],
            bad=["b h n n, n m | 0.0 ! SHP102", "n n, b n n | 0.0 ! SHP102"])
def masked_fill_(site: Site, input, mask, value=None) -> Shape | None:
    """``x.masked_fill_(mask, v)`` (in place): the mask must broadcast to ``x``'s shape."""
    return binary_inplace(site, input, mask)


@shape_rule("torch.masked_fill", "torch.Tensor.masked_fill",
            ok=["b h n n, n n | 0.0 -> b h n n", "b n, b 1 | value=1.0 -> b n"],
            bad=["b h n n, n m | 0.0 ! SHP102"])
def masked_fill(site: Site, input, mask, value=None) -> Shape | None:
    """``x.masked_fill(mask, v)``: the mask broadcasts against ``x``."""
    if not isinstance(input, Shape):
        return None
    if not isinstance(mask, Shape):
        return input
    out = site.broadcast(input, mask, what=f"{site.op} (mask)")
    if out == input:
        return input
    return out


@shape_rule("torch.clamp", "torch.Tensor.clamp", "torch.clip", "torch.Tensor.clip", "torch.Tensor.clamp_",
            ok=["b n | 0.0, 1.0 -> b n", "b n, n -> b n", "b n | min=0 -> b n"],
            bad=["b n, m ! SHP102"])
def clamp(site: Site, input, min=None, max=None) -> Shape | None:
    """``clamp(x, min, max)``: tensor bounds broadcast with ``x``."""
    if not isinstance(input, Shape):
        return None
    shapes = [s for s in (min, max) if isinstance(s, Shape)]
    if not shapes:
        return input
    return site.broadcast(input, *shapes)
