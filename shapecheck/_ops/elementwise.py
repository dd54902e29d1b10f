"""Elementwise arithmetic and comparison with broadcasting."""

from __future__ import annotations

from .._shape import Shape
from ._registry import Site, shape_rule

_BINARY = ("add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "pow",
           "eq", "ne", "lt", "le", "gt", "ge", "maximum", "minimum", "logical_and", "logical_or",
           "bitwise_and", "bitwise_or", "atan2", "fmod")
_DUNDER = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "eq", "ne", "lt", "le", "gt",
           "ge", "and", "or", "xor")


def _names():
    out = []
    for n in _BINARY:
        out += [f"torch.{n}", f"torch.Tensor.{n}"]
    for n in _DUNDER:
        out += [f"torch.Tensor.__{n}__", f"torch.Tensor.__r{n}__"] if n not in ("eq", "ne", "lt", "le", "gt", "ge") \
            else [f"torch.Tensor.__{n}__"]
    return out


@shape_rule(*_names(),
            ok=["b n d, d -> b n d", "b 1 d, b n 1 -> b n d", "*B n, n -> *B n", "b n, -> b n"],
            bad=["b n, b m ! SHP102", "3, 4 ! SHP102"])
def binary(site: Site, input, other, *args, **kwargs) -> Shape | None:
    """Elementwise binary op: shapes broadcast from the right; a number broadcasts everywhere."""
    shapes = [s for s in (input, other) if isinstance(s, Shape)]
    if not shapes:
        return None
    return site.broadcast(*shapes)
