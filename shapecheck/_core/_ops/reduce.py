"""Reductions (sum, mean, max with indices...), softmax and other ops along one dim."""

from __future__ import annotations

from .._algebra import const
from .._shape import ANY_SHAPE, UNKNOWN, Shape, Variadic
from ._registry import OPAQUE, Site, as_int, as_size, module_rule, shape_rule
from ._util import axes, axes_any, build, dims_arg, int_tuple, locate

# op -> (positional parameters after the input, dim may be a tuple, returns (values, indices) with a dim)
_SPEC = {
    "sum": (("dim", "keepdim"), True, False), "mean": (("dim", "keepdim"), True, False),
    "nansum": (("dim", "keepdim"), True, False), "nanmean": (("dim", "keepdim"), True, False),
    "amax": (("dim", "keepdim"), True, False), "amin": (("dim", "keepdim"), True, False),
    "logsumexp": (("dim", "keepdim"), True, False), "all": (("dim", "keepdim"), True, False),
    "any": (("dim", "keepdim"), True, False), "count_nonzero": (("dim",), True, False),
    "std": (("dim", "unbiased", "keepdim"), True, False), "var": (("dim", "unbiased", "keepdim"), True, False),
    "norm": (("p", "dim", "keepdim"), True, False),
    "prod": (("dim", "keepdim"), False, False), "argmax": (("dim", "keepdim"), False, False),
    "argmin": (("dim", "keepdim"), False, False),
    "max": (("dim", "keepdim"), False, True), "min": (("dim", "keepdim"), False, True),
    "median": (("dim", "keepdim"), False, True), "nanmedian": (("dim", "keepdim"), False, True),
    "std_mean": (("dim", "unbiased", "keepdim"), True, "pair"),
    "var_mean": (("dim", "unbiased", "keepdim"), True, "pair"),
}


def reduced(site: Site, x: Shape, dims, keepdim: bool) -> Shape:
    """``x`` without the axes ``dims`` (or with them as 1 when ``keepdim``); origins kept for the rest."""
    out = []
    for i, (d, o) in enumerate(axes(x)):
        if i in dims:
            if keepdim:
                out.append((const(1), None))
        else:
            out.append((d, o))
    return build(out)


def _reduction(op: str, site: Site, input, *args, **kwargs) -> Shape | tuple | None:
    """A reduction over ``dim`` (an int or a tuple of ints); with no dim, over every axis (a scalar).

    ``keepdim=True`` keeps the reduced axes as 1. ``max``/``min``/``median`` with a dim return
    ``(values, indices)``; ``std_mean``/``var_mean`` return two tensors; ``max(x, y)`` with a tensor
    ``y`` is the elementwise maximum (broadcast).
    """
    if not isinstance(input, Shape):
        return None
    params, tuples, pair = _SPEC[op]
    if args and isinstance(args[0], Shape):  # max(x, y) / min(x, y): elementwise
        if op in ("max", "min"):
            return site.broadcast(input, args[0])
        return None
    bound = {}
    for name, value in zip(params, args):
        bound[name] = value
    bound.update(kwargs)
    if "axis" in bound and "dim" not in bound:  # torch accepts numpy's spelling
        bound["dim"] = bound.pop("axis")
    if "keepdims" in bound and "keepdim" not in bound:
        bound["keepdim"] = bound.pop("keepdims")
    if set(bound) - set(params) - {"dim", "keepdim", "dtype", "out", "unbiased", "correction", "p"}:
        return None  # a keyword we do not model: unknown rather than a guess
    dim = bound.get("dim")
    if isinstance(dim, bool):  # std(x, True): unbiased, full reduction
        dim = None
    keepdim = bound.get("keepdim", False)
    if not isinstance(keepdim, bool):
        return None
    if isinstance(dim, (tuple, list)) and not dim:
        return None  # an empty dim list: torch's meaning differs between ops
    if dim is None:
        if op == "logsumexp":
            return None
        if input.rank is None and not keepdim:
            return (Shape(()), Shape(())) if pair == "pair" else Shape(())
        if input.rank is None:
            return None
        out = Shape(tuple(const(1) for _ in input.dims)) if keepdim else Shape(())
        return (out, out) if pair == "pair" else out
    if isinstance(dim, (tuple, list)) and not tuples:
        return None
    if op == "norm" and isinstance(dim, (tuple, list)) and len(dim) > 2 and bound.get("p", "fro") in ("fro", "nuc"):
        return None  # a matrix norm over more than two dims: torch rejects; unknown here
    if dim is OPAQUE:
        return None
    if input.rank is None:
        t = int_tuple(dim)
        idx = [locate(site, input, d) for d in t] if t else None
        vi = input.variadic_index
        if t and len(t) == 1 and t[0] >= vi and keepdim and vi == len(input.dims) - 1 and not site.problems:
            # ``x.mean(1, keepdim=True)`` of a tensor whose axes from ``...`` on are unknown: the axes before the
            # reduced one, then 1, then the rest (a tensor of at least ``dim + 1`` axes)
            out = Shape(tuple(input.dims[:vi]) + (UNKNOWN,) * (t[0] - vi) + (const(1), Variadic(None)))
            return (out, out) if pair else out
        if t and (not idx or None in idx) and not site.problems:
            # ``x.mean(-1, keepdim=True)`` of a tensor of unknown rank: a tensor all the same, of a shape unknown
            return (ANY_SHAPE, ANY_SHAPE) if pair else ANY_SHAPE
        if not idx or None in idx or len(set(idx)) != len(idx):
            return None
        out = reduced(site, input, idx, keepdim)
        return (out, out) if pair else out
    dims = dims_arg(site, dim, input)
    if dims is None:
        return None
    if input.rank == 0:
        dims = []
    out = reduced(site, input, dims, keepdim)
    if pair:
        return out, out
    return out


_OK = {False: ["b n d | -1 -> b n", "b n d | 1, True -> b 1 d", "b n d -> ()", "() | 0 -> ()",
               "b n d | dim=1, keepdim=True -> b 1 d", "*B n d | -1 -> *B n"],
       True: ["b n d | 1 -> b d; b d", "b n d | dim=-1, keepdim=True -> b n 1; b n 1"],
       "pair": ["b n d | (0, 2) -> n; n", "b n d -> (); ()"]}
_BAD = {False: ["b n d | 3 ! SHP106"], True: ["b n d | -4 ! SHP106"], "pair": ["b n | dim=(0, 0) ! SHP106"]}


def _register_reduction(op: str) -> None:
    params, tuples, pair = _SPEC[op]
    names = [f"torch.{op}"] + ([f"torch.Tensor.{op}"] if pair != "pair" else [])
    if op == "norm":
        names.append("torch.linalg.vector_norm")
    ok = list(_OK[pair])
    if tuples and not pair:
        ok.append("b n d | dim=(0, 2) -> n")
    bad = list(_BAD[pair])
    if op == "norm":
        ok = ["b n d | 2, -1 -> b n", "b n d | dim=(0, 2) -> n", "b n d -> ()"]
        bad = ["b n d | 2, 3 ! SHP106"]
    if "keepdim" not in params:
        ok = [e for e in ok if "True" not in e]
    if op == "logsumexp":
        ok = [e for e in ok if e != "b n d -> ()"]
    if "unbiased" in params:
        ok = [e.replace("1, True ->", "1, True, True ->") for e in ok]

    def rule(site: Site, input, *args, **kwargs):
        return _reduction(op, site, input, *args, **kwargs)

    rule.__name__ = op
    rule.__doc__ = (f"``{op}(x, dim, keepdim=False)``: reduces ``dim`` (" +
                    ("an int or a tuple of ints" if tuples else "an int") + "); with no dim, every axis" +
                    (" (the result is ``(values, indices)`` when a dim is given; ``max(x, y)`` with a "
                     "tensor ``y`` is elementwise)" if pair is True else
                     " (two results)" if pair == "pair" else "") + ". ``keepdim`` keeps reduced axes as 1.")
    shape_rule(*names, ok=ok, bad=bad)(rule)


for _op in _SPEC:
    _register_reduction(_op)


def _along_dim_arg(op: str, args: tuple, kwargs: dict):
    if op == "normalize":
        return kwargs.get("dim", args[1] if len(args) > 1 else 1)
    if op == "flip":
        if len(args) > 1:
            return tuple(args)
        return kwargs.get("dims", args[0] if args else None)
    if op == "roll":
        return kwargs.get("dims", args[1] if len(args) > 1 else None)
    if op in ("argsort", "sort"):
        return kwargs.get("dim", args[0] if args and not isinstance(args[0], bool) else -1)
    if op == "gumbel_softmax":
        return kwargs.get("dim", -1)
    return kwargs.get("dim", args[0] if args else None)


_ALONG = {
    "softmax": ("torch.softmax", "torch.Tensor.softmax", "torch.nn.functional.softmax", "torch.special.softmax"),
    "log_softmax": ("torch.log_softmax", "torch.Tensor.log_softmax", "torch.nn.functional.log_softmax",
                    "torch.special.log_softmax"),
    "softmin": ("torch.nn.functional.softmin",),
    "cumsum": ("torch.cumsum", "torch.Tensor.cumsum"), "cumprod": ("torch.cumprod", "torch.Tensor.cumprod"),
    "logcumsumexp": ("torch.logcumsumexp", "torch.Tensor.logcumsumexp"),
    "cummax": ("torch.cummax", "torch.Tensor.cummax"), "cummin": ("torch.cummin", "torch.Tensor.cummin"),
    "argsort": ("torch.argsort", "torch.Tensor.argsort"), "sort": ("torch.sort", "torch.Tensor.sort"),
    "normalize": ("torch.nn.functional.normalize",), "flip": ("torch.flip", "torch.Tensor.flip"),
    "roll": ("torch.roll", "torch.Tensor.roll"), "gumbel_softmax": ("torch.nn.functional.gumbel_softmax",),
}


def _register_along(op: str) -> None:
    pair = op in ("sort", "cummax", "cummin")

    def rule(site: Site, input, *args, **kwargs):
        if not isinstance(input, Shape):
            return None
        dim = _along_dim_arg(op, args, kwargs)
        if dim is not None and input.rank is not None and dims_arg(site, dim, input) is None and site.failed:
            return None
        return (input, input) if pair else input

    rule.__name__ = op
    rule.__doc__ = (f"``{op}`` along a dim keeps the shape (the input ``Shape`` itself"
                    + (", twice: values and indices" if pair else "") + "); the dim must be in range.")
    if op in ("flip",):
        ok, bad = ["b n | (0, 1) -> b n", "b n | dims=(-1,) -> b n"], ["b n | (2,) ! SHP106"]
    elif op == "roll":
        ok, bad = ["b n | 1, 0 -> b n", "b n | 3 -> b n"], ["b n | 1, 2 ! SHP106"]
    elif op == "normalize":
        ok, bad = ["b n | dim=-1 -> b n", "b n -> b n"], ["b n | 2.0, 2 ! SHP106"]
    elif op == "gumbel_softmax":
        ok, bad = ["b n -> b n", "b n | dim=0 -> b n"], ["b n | dim=2 ! SHP106"]
    elif pair:
        ok, bad = ["b n | -1 -> b n; b n", "*B n | dim=-1 -> *B n; *B n"], ["b n | dim=2 ! SHP106"]
    else:
        ok = ["b h n n | -1 -> b h n n", "b n | dim=1 -> b n", "*B n | -1 -> *B n"]
        bad = ["b n | 2 ! SHP106", "b n | dim=-3 ! SHP106"]
    shape_rule(*_ALONG[op], ok=ok, bad=bad)(rule)


for _op in _ALONG:
    _register_along(_op)


@module_rule("torch.nn.Softmax", "torch.nn.LogSoftmax", "torch.nn.Softmin", init="dim=None",
             ok=["init: -1 | b n d -> b n d", "init: dim=1 | b c h w -> b c h w"],
             bad=["init: dim=3 | b n d ! SHP106"])
def Softmax(site: Site, init: dict, input) -> Shape | None:
    """``nn.Softmax(dim)``: the output has the input's shape; the dim must be in range."""
    if not isinstance(input, Shape):
        return None
    dim = init.get("dim")
    if dim is not None and input.rank is not None and site.normalize_dim(dim, input.rank, input) is None:
        return None
    return input


def _k_select(op: str, site: Site, input, args: tuple, kwargs: dict):
    if not isinstance(input, Shape) or input.is_any:
        return None
    if op == "topk":
        k = kwargs.get("k", args[0] if args else None)
        dim = kwargs.get("dim", args[1] if len(args) > 1 else -1)
    elif op == "kthvalue":
        dim = kwargs.get("dim", args[1] if len(args) > 1 else -1)
    else:
        dim = kwargs.get("dim", args[0] if args else -1)
    d = locate(site, input, dim)
    if d is None:
        return None
    if input.rank == 0:
        return (input, input) if op != "topk" else None
    if op == "topk":
        ks = as_size(k)
        n = input.dims[d]
        kv, nv = as_int(ks), as_int(n)
        if kv is not None and nv is not None and kv > nv:
            site.error("SHP110", f"topk selects {kv} elements from an axis of size {nv}",
                       notes=(site.axis_note(input, d),))
            return None
        ax = axes_any(input)
        ax[d] = (ks, None)
        out = build(ax)
        return out, out
    if op == "kthvalue":
        keepdim = kwargs.get("keepdim", args[2] if len(args) > 2 else False)
    else:
        keepdim = kwargs.get("keepdim", args[1] if len(args) > 1 else False)
    if not isinstance(keepdim, bool):
        return None
    out = reduced(site, input, [d], keepdim)
    return out, out


@shape_rule("torch.topk", "torch.Tensor.topk", ok=["b n | 5 -> b 5; b 5", "b n | k, dim=0 -> k n; k n"],
            bad=["b n | 5, 2 ! SHP106", "b 4 | 5 ! SHP110"])
def topk(site: Site, input, k, dim=-1, largest=True, sorted=True, *, out=None):
    """``topk(x, k, dim=-1)``: ``(values, indices)`` with the dim replaced by ``k``."""
    return _k_select("topk", site, input, (k, dim), {})


@shape_rule("torch.kthvalue", "torch.Tensor.kthvalue", ok=["b n | 2 -> b; b", "b n | 1, 0, True -> 1 n; 1 n"],
            bad=["b n | 1, 2 ! SHP106"])
def kthvalue(site: Site, input, k, dim=-1, keepdim=False, *, out=None):
    """``kthvalue(x, k, dim=-1)``: ``(values, indices)`` without the dim (kept as 1 with ``keepdim``)."""
    return _k_select("kthvalue", site, input, (k, dim, keepdim), {})


@shape_rule("torch.mode", "torch.Tensor.mode", ok=["b n -> b; b", "b n | 0, True -> 1 n; 1 n"],
            bad=["b n | 2 ! SHP106"])
def mode(site: Site, input, dim=-1, keepdim=False, *, out=None):
    """``mode(x, dim=-1)``: ``(values, indices)`` without the dim (kept as 1 with ``keepdim``)."""
    return _k_select("mode", site, input, (dim, keepdim), {})
