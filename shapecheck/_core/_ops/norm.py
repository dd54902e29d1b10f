"""Normalisation layers: layer_norm / rms_norm, batch_norm, instance norm, group_norm (function and module forms)."""

from __future__ import annotations

from .._shape import UNKNOWN, Shape
from ._registry import Site, as_int, as_size, module_rule, qd, shape_rule
from ._util import batched, count_text, known


def _count(site: Site, e) -> str:
    return count_text(site, e)


def _trailing(site: Site, x, normalized_shape, what: str):
    """Check that the last axes of ``x`` are ``normalized_shape``; returns ``x`` (or None on a mismatch)."""
    if not isinstance(x, Shape):
        return None
    ns = normalized_shape if isinstance(normalized_shape, (tuple, list)) else (normalized_shape,)
    if isinstance(normalized_shape, Shape):
        ns = normalized_shape.dims if normalized_shape.rank is not None else None
    if ns is None:
        return x
    ns = [as_size(v) for v in ns]
    k = len(ns)
    tail = len(x.dims) - (x.variadic_index + 1) if x.variadic_index is not None else len(x.dims)
    if x.rank is not None and x.rank < k:
        site.error("SHP104", f"{what} normalizes the last {k} axes of a tensor of {x.rank}",
                   notes=(f"{x.label or 'the input'} has shape ({x})",))
        return None
    for j in range(1, min(k, tail) + 1):
        got, want = x.dims[-j], ns[-j]
        if site.unify(got, want) is False:
            where = "in the last axis" if j == 1 else f"in axis {-j}"
            site.error("SHP107", f"{what} expects {_count(site, want)} features {where}, got {qd(site.resolve(got))}",
                       notes=(site.axis_note(x, -j),))
            return None
    return x


@shape_rule("torch.nn.functional.layer_norm", "torch.layer_norm", "torch.nn.functional.rms_norm", "torch.rms_norm",
            ok=["b n d | (d,) -> b n d", "b c h w | [c, h, w] -> b c h w", "*B d | (d,) -> *B d"],
            bad=["b n d | (e,) ! SHP107", "b n 4 | (5,) ! SHP107", "d | (c, d) ! SHP104"])
def layer_norm(site: Site, input, normalized_shape, weight=None, bias=None, eps=None) -> Shape | None:
    """``F.layer_norm(x, normalized_shape)``: the last axes of ``x`` must be ``normalized_shape``; the
    shape is kept (``rms_norm`` too)."""
    return _trailing(site, input, normalized_shape, "layer_norm")


@module_rule("torch.nn.LayerNorm", "torch.nn.RMSNorm",
             init="normalized_shape, eps=None, elementwise_affine=True, bias=True, device=None, dtype=None",
             ok=["init: d | b n d -> b n d", "init: (c, h, w) | b c h w -> b c h w", "init: 512 | b n 512 -> b n 512"],
             bad=["init: d_model | b n d_ff ! SHP107", "init: 512 | b n 256 ! SHP107"])
def LayerNorm(site: Site, init: dict, input) -> Shape | None:
    """``nn.LayerNorm(normalized_shape)`` / ``nn.RMSNorm``: the last axes must be ``normalized_shape``."""
    return _trailing(site, input, init.get("normalized_shape"), "layer_norm")


def _channels(site: Site, x: Shape, expected, what: str):
    c = x.dims[1]
    if site.unify(c, expected) is False:
        site.error("SHP107", f"{what} expects {_count(site, expected)} channels in axis 1, got {qd(site.resolve(c))}",
                   notes=(site.axis_note(x, 1),))
        return None
    return x


@shape_rule("torch.nn.functional.batch_norm", "torch.batch_norm", "torch.nn.functional.instance_norm",
            ok=["b c h w, c, c -> b c h w", "b c, c, c -> b c"],
            bad=["b c h w, h, h ! SHP107", "b c, d, c ! SHP107"])
def batch_norm(site: Site, input, running_mean=None, running_var=None, weight=None, bias=None, *args, **kwargs):
    """``F.batch_norm(x, mean, var, ...)``: channels are axis 1 and must match the statistics' length."""
    if not known(input) or input.rank < 2:
        return None
    for stat in (running_mean, running_var, weight, bias):
        if known(stat) and stat.rank == 1 and _channels(site, input, stat.dims[0], site.op) is None:
            return None
    return input


def _register_bn(n: int) -> None:
    ranks = {1: (2, 3), 2: (4,), 3: (5,)}[n]

    def bn(site: Site, init: dict, input):
        given = input
        input = batched(input)
        if isinstance(input, Shape) and len(ranks) == 1 and input.variadic_index == 0 \
                and len(input.dims) - 1 < ranks[0] and len(input.dims) > 1:
            # "... c h w" into BatchNorm2d, which takes only 4-D input: the variadic is one axis
            input = Shape((UNKNOWN,) * (ranks[0] - len(input.dims) + 1) + input.dims[1:])
        if not known(input):
            # of a rank the engine does not know (``... 512``, a ``Linear``'s output): the channels cannot be
            # placed, but a norm keeps the shape it is given
            return given if isinstance(given, Shape) and not given.is_any else None
        if input.rank not in ranks:
            want = " or ".join(f"{r}-D" for r in ranks)
            site.error("SHP104", f"nn.BatchNorm{n}d expects a {want} input, got {input.rank} "
                                 f"ax{'is' if input.rank == 1 else 'es'}",
                       notes=(f"{input.label or 'the input'} has shape ({input})",))
            return None
        if _channels(site, input, as_size(init.get("num_features")), f"nn.BatchNorm{n}d") is None:
            return None
        return given if given.rank is None else input

    bn.__name__ = f"BatchNorm{n}d"
    bn.__doc__ = (f"``nn.BatchNorm{n}d(num_features)``: a {' or '.join(f'{r}-D' for r in ranks)} input whose axis 1 "
                  "is ``num_features``; the shape is kept.")
    sp = {1: "", 2: " h w", 3: " d h w"}[n]
    module_rule(f"torch.nn.BatchNorm{n}d",
                init="num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, device=None, "
                     "dtype=None, *, bias=True",
                ok=[f"init: c | b c{sp} -> b c{sp}", f"init: 16 | b 16{sp} -> b 16{sp}", "init: c | ... d -> ... d"],
                bad=[f"init: c | b e{sp} ! SHP107", f"init: c | c{sp} 1 1 1 ! SHP104"])(bn)


for _n in (1, 2, 3):
    _register_bn(_n)


def _register_instance_norm(n: int) -> None:
    ranks = (n + 1, n + 2)

    def inorm(site: Site, init: dict, input):
        if not isinstance(input, Shape) or input.is_any:
            return None
        if input.rank is not None and input.rank not in ranks:
            site.error("SHP104", f"nn.InstanceNorm{n}d expects a {n + 2}-D (batched) or {n + 1}-D (unbatched) input, "
                                 f"got {input.rank} ax{'is' if input.rank == 1 else 'es'}",
                       notes=(f"{input.label or 'the input'} has shape ({input})",))
            return None
        tail = len(input.dims) - (input.variadic_index + 1) if input.variadic_index is not None else len(input.dims)
        if init.get("affine") is True and tail >= n + 1:
            # the channels are the axis before the n spatial ones, batched or not; only an affine layer
            # (weights of ``num_features``) rejects another count (otherwise PyTorch warns)
            c, want = input.dims[-n - 1], as_size(init.get("num_features"))
            axis = input.rank - n - 1 if input.rank is not None else -n - 1
            if site.unify(c, want) is False:
                site.error("SHP107", f"nn.InstanceNorm{n}d expects {_count(site, want)} channels in axis {axis}, "
                                     f"got {qd(site.resolve(c))}", notes=(site.axis_note(input, -n - 1),))
                return None
        return input

    inorm.__name__ = f"InstanceNorm{n}d"
    inorm.__doc__ = (f"``nn.InstanceNorm{n}d(num_features, affine=False)``: a {n + 2}-D or {n + 1}-D input; with "
                     f"``affine=True`` its channels (axis {-n - 1}) are ``num_features``; the shape is kept.")
    sp = {1: "l", 2: "h w", 3: "d h w"}[n]
    module_rule(f"torch.nn.InstanceNorm{n}d",
                init="num_features, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False, device=None, "
                     "dtype=None",
                ok=[f"init: c, affine=True | b c {sp} -> b c {sp}", f"init: c, affine=True | c {sp} -> c {sp}",
                    f"init: 16 | b 8 {sp} -> b 8 {sp}", f"init: c, affine=True | *B c {sp} -> *B c {sp}"],
                bad=[f"init: c, affine=True | b e {sp} ! SHP107", f"init: 16, affine=True | b 8 {sp} ! SHP107",
                     f"init: c | b b c {sp} ! SHP104"])(inorm)


for _n in (1, 2, 3):
    _register_instance_norm(_n)


def _groups(site: Site, x: Shape, num_groups, what: str):
    c = x.dims[1]
    g, cv = as_int(num_groups), as_int(site.resolve(c))
    if g is not None and cv is not None and g > 0 and cv % g:
        site.error("SHP110", f"{what} splits {cv} channels into {g} groups", notes=(site.axis_note(x, 1),))
        return None
    return x


@shape_rule("torch.nn.functional.group_norm", "torch.group_norm",
            ok=["b c h w | 1 -> b c h w", "b 32 n | 8 -> b 32 n"], bad=["b 30 n | 8 ! SHP110"])
def group_norm(site: Site, input, num_groups, weight=None, bias=None, eps=1e-05) -> Shape | None:
    """``F.group_norm(x, num_groups)``: axis 1 (channels) must be divisible by ``num_groups``."""
    x = batched(input)
    if not known(x) or x.rank < 2:
        return None
    return input if _groups(site, x, num_groups, "group_norm") is not None else None


@module_rule("torch.nn.GroupNorm", init="num_groups, num_channels, eps=1e-05, affine=True, device=None, dtype=None, *, bias=True",
             ok=["init: 8, c | b c h w -> b c h w", "init: 4, 32 | b 32 n -> b 32 n"],
             bad=["init: 8, c | b e h w ! SHP107", "init: 8, 30 | b 30 n ! SHP110"])
def GroupNorm(site: Site, init: dict, input) -> Shape | None:
    """``nn.GroupNorm(num_groups, num_channels)``: axis 1 is ``num_channels``, divisible by ``num_groups``; the
    shape is kept (also when axis 1 cannot be located: ``... c h w``). A convolution's output of unknown
    rank is read batched."""
    x = batched(input)
    if isinstance(x, Shape) and not x.is_any and x.rank is None:
        return input
    if not known(x) or x.rank < 2:
        return None
    if _channels(site, x, as_size(init.get("num_channels")), "nn.GroupNorm") is None:
        return None
    return input if _groups(site, x, init.get("num_groups"), "nn.GroupNorm") is not None else None


# a project's own norm layer that the analysis cannot read (imported from a module it did not see: a channels-first
# ``LayerNorm``, an ``RMSNorm``, ``LayerNorm2d``): the qualified name the engine builds it as (``_engine._calls``)
NORM_BLOCK = "shapecheck.NormBlock"


@module_rule(NORM_BLOCK, init="*args, **kwargs",
             ok=["init: c | b c h w -> b c h w", "init: d | b t d -> b t d", "init: | ... d -> ... d"])
def NormBlock(site: Site, init: dict, input, *rest, **options) -> Shape | None:
    """A norm layer of the project that the analysis cannot read (``LayerNorm(n_chans, dim=1)`` imported from a
    module it did not see): whatever axes it normalises and whatever it was built with, it gives back a tensor of
    its input's shape. It checks nothing: which axes a project's norm reads (its channels first or last) is not
    known."""
    return input if isinstance(input, Shape) else None


NormBlock.never_fails = True
