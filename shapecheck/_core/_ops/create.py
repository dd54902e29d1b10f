"""Tensor factories: zeros/ones/empty/rand/randn/full from sizes, ``new_*``, ``*_like``, arange, eye."""

from __future__ import annotations

from .._algebra import Expr, const
from .._shape import UNKNOWN, Shape, Unknown
from ._registry import OPAQUE, Site, as_int, as_size, shape_rule
from ._util import sizes_arg

_FACTORIES = ("zeros", "ones", "empty", "rand", "randn")


def _from_sizes(site: Site, sizes: tuple, what: str) -> Shape | None:
    sz = sizes_arg(sizes)
    if sz is None:
        return None
    for s in sz:
        if isinstance(s, int):
            site.error("SHP110", f"{what} gets the negative size {s}")
            return None
    return Shape(tuple(sz))


@shape_rule(*[f"torch.{n}" for n in _FACTORIES],
            ok=["| 2, 3 -> 2 3", "| (b, n, d) -> b n d", "| b, n -> b n", "| size=(4,) -> 4", "| () -> ()", "| [] -> ()"],
            bad=["| 2, -3 ! SHP110"])
def factory(site: Site, *size, **kwargs) -> Shape | None:
    """``torch.zeros(*size)`` / ``torch.zeros(size)`` (also ones, empty, rand, randn): the given sizes."""
    if "size" in kwargs:
        size = (kwargs["size"],)
    if not size:
        return None  # `torch.zeros()` is a TypeError; `torch.zeros(())` is a scalar
    return _from_sizes(site, size, site.op)


@shape_rule("torch.full", ok=["| (b, n), 0.0 -> b n", "| size=(3,), fill_value=1 -> 3"], bad=["| (-1, 2), 0 ! SHP110"])
def full(site: Site, size, fill_value, **kwargs) -> Shape | None:
    """``torch.full(size, fill_value)``: the given sizes."""
    return _from_sizes(site, (size,), "full")


@shape_rule("torch.randint", ok=["| 10, (b, n) -> b n", "| 0, 10, (4,) -> 4"], bad=["| 10, (-2,) ! SHP110"])
def randint(site: Site, *args, **kwargs) -> Shape | None:
    """``torch.randint(high, size)`` or ``randint(low, high, size)``: the given sizes."""
    size = kwargs.get("size", args[-1] if args else None)
    if not isinstance(size, (tuple, list)):
        return None
    return _from_sizes(site, (size,), "randint")


@shape_rule("torch.Tensor.new_zeros", "torch.Tensor.new_ones", "torch.Tensor.new_empty",
            ok=["b n | 3, 4 -> 3 4", "b n | (b, 2) -> b 2", "b n | size=(4,) -> 4"], bad=["b n | (2, -3) ! SHP110"])
def new_sized(site: Site, input, *size, **kwargs) -> Shape | None:
    """``x.new_zeros(*size)`` (also ``new_ones``, ``new_empty``): the given sizes."""
    if "size" in kwargs:
        size = (kwargs["size"],)
    if not size:
        return None
    return _from_sizes(site, size, site.op)


@shape_rule("torch.Tensor.new_full", ok=["b n | (b, 2), 0.0 -> b 2"], bad=["b n | (-2,), 0 ! SHP110"])
def new_full(site: Site, input, size, fill_value, **kwargs) -> Shape | None:
    """``x.new_full(size, fill_value)``: the given sizes."""
    return _from_sizes(site, (size,), "new_full")


@shape_rule(*[f"torch.{n}_like" for n in _FACTORIES + ("full", "randint", "empty_strided")],
            ok=["b n d -> b n d", "*B d | 0.0 -> *B d"])
def like(site: Site, input, *args, **kwargs) -> Shape | None:
    """``torch.zeros_like(x)`` (ones, empty, rand, randn, full, randint): ``x``'s axes, as a new tensor
    (origins kept, no label or metadata)."""
    if not isinstance(input, Shape):
        return None
    return Shape(input.dims, input.origins)


like.never_fails = True


@shape_rule("torch.arange",
            ok=["| 5 -> 5", "| n -> n", "| 2, 10 -> 8", "| 0, 10, 3 -> 4", "| end=t -> t", "| 1.5 -> 2"],
            bad=["| 5, 2, 1 ! SHP110", "| 0, 5, 0 ! SHP110"])
def arange(site: Site, *args, **kwargs) -> Shape | None:
    """``arange(end)`` / ``arange(start, end, step=1)``: ``ceil((end - start) / step)`` elements."""
    start, end, step = 0, None, 1
    if len(args) == 1:
        end = args[0]
    elif len(args) == 2:
        start, end = args
    elif len(args) >= 3:
        start, end, step = args[:3]
    start = kwargs.get("start", start)
    end = kwargs.get("end", end)
    step = kwargs.get("step", step)
    if end is None:
        return None
    nums = [start, end, step]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in nums):
        if step == 0:
            site.error("SHP110", "arange with step 0")
            return None
        if (end - start) * step < 0:
            site.error("SHP110", f"arange from {start} to {end} with step {step} is empty in the wrong direction")
            return None
        import math
        return Shape((const(max(0, math.ceil((end - start) / step))),))
    s, e, k = as_size(start), as_size(end), as_int(step)
    if isinstance(s, Unknown) or isinstance(e, Unknown) or k is None or k <= 0:
        return Shape((UNKNOWN,))
    n = e - s
    if k != 1:
        n = (n + k - 1) // k
    return Shape((n,))


@shape_rule("torch.linspace", "torch.logspace", ok=["| 0.0, 1.0, 5 -> 5", "| 0, 1, steps=n -> n"],
            bad=["| 0.0, 1.0, -1 ! SHP110"])
def linspace(site: Site, start, end, steps, *args, **kwargs) -> Shape | None:
    """``linspace(start, end, steps)``: ``steps`` elements."""
    v = as_int(steps)
    if v is not None and v < 0:
        site.error("SHP110", f"{site.op} gets a negative number of steps ({v})")
        return None
    return Shape((as_size(steps),))


@shape_rule("torch.eye", ok=["| 3 -> 3 3", "| n, m -> n m"], bad=["| -1 ! SHP110"])
def eye(site: Site, n, m=None, **kwargs) -> Shape | None:
    """``eye(n, m=n)``: an ``n x m`` matrix."""
    for v in (n, m):
        iv = as_int(v)
        if iv is not None and iv < 0:
            site.error("SHP110", f"eye gets a negative size ({iv})")
            return None
    if m is None or m is OPAQUE or not isinstance(m, (int, Expr)):
        m = n
    return Shape((as_size(n), as_size(m)))
