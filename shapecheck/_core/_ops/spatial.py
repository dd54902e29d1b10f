"""Spatial resampling: interpolate/Upsample, pixel (un)shuffle, unfold (im2col), padding modules."""

from __future__ import annotations

import math

from .._algebra import Expr, FloorDiv, const
from .._shape import UNKNOWN, Shape, Unknown
from ._registry import OPAQUE, Site, as_int, as_size, module_rule, shape_rule
from ._util import axes_any, batched, build, known, prod, trailing_known, with_trailing


def _n_spatial(site: Site, x: Shape, what: str, ranks=(3, 4, 5)):
    if x.rank is None:
        return None
    if x.rank not in ranks:
        site.error("SHP104", f"{what} expects an input of {' or '.join(str(r) for r in ranks)} axes "
                             f"(batch, channels, spatial...), got {x.rank}",
                   notes=(f"{x.label or 'the input'} has shape ({x})",))
        return None
    return x.rank - 2


def _interpolate(site: Site, input, size, scale_factor, what: str):
    input = batched(input)  # (N, C, *spatial): a convolution's output of unknown rank is batched here
    if not known(input):
        return None
    n = _n_spatial(site, input, what)
    if n is None:
        return None
    if (size is None) == (scale_factor is None):
        site.error("SHP110", f"{what} takes either size or scale_factor" + (", not both" if size is not None else ""))
        return None
    ax = axes_any(input)
    if size is OPAQUE or scale_factor is OPAQUE:  # sizes unknown, the batch and channel axes kept
        return build(ax[:2] + [(UNKNOWN, None)] * n)
    if size is not None:
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * n
        if len(sizes) != n:
            site.error("SHP110", f"{what} gets {len(sizes)} output sizes for {n} spatial axes")
            return None
        return build(ax[:2] + [(as_size(s), None) for s in sizes])
    scales = list(scale_factor) if isinstance(scale_factor, (tuple, list)) else [scale_factor] * n
    if len(scales) != n:
        site.error("SHP110", f"{what} gets {len(scales)} scale factors for {n} spatial axes")
        return None
    out = ax[:2]
    for (L, o), s in zip(ax[2:], scales):
        if isinstance(s, bool) or not isinstance(s, (int, float, Expr)):
            out.append((UNKNOWN, None))
            continue
        sv = as_int(s) if not isinstance(s, float) else None
        if isinstance(s, float) and s.is_integer():
            sv = int(s)
        Lv = as_int(L)
        if Lv is not None and isinstance(s, (int, float)):
            out.append((const(math.floor(Lv * float(s))), None))
        elif sv is not None and isinstance(L, Expr):
            out.append((L * sv, o if sv == 1 else None))
        else:
            out.append((UNKNOWN, None))
    return build(out)


@shape_rule("torch.nn.functional.interpolate", "torch.nn.functional.upsample",
            ok=["b c h w | scale_factor=2 -> b c h*2 w*2", "b c 5 7 | scale_factor=1.5 -> b c 7 10",
                "b c l | size=9 -> b c 9", "b c h w | size=(s, t) -> b c s t", "b c 5 7 | scale_factor=(2, 0.5) -> b c 10 3",
                "b c h w | scale_factor=unknown() -> b c _ _"],
            bad=["b c h w ! SHP110", "b c h w | size=4, scale_factor=2 ! SHP110", "b c | size=4 ! SHP104",
                 "b c h w | size=(4, 4, 4) ! SHP110"])
def interpolate(site: Site, input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False) -> Shape | None:
    """``F.interpolate(x, size=None, scale_factor=None)``: ``(N, C, *spatial)`` with each spatial axis set to
    ``size`` or ``floor(L * scale_factor)``; exactly one of the two must be given."""
    return _interpolate(site, input, size, scale_factor, "interpolate")


@module_rule("torch.nn.Upsample", "torch.nn.UpsamplingNearest2d", "torch.nn.UpsamplingBilinear2d",
             init="size=None, scale_factor=None, mode='nearest', align_corners=None, recompute_scale_factor=None",
             ok=["init: scale_factor=2 | b c h w -> b c h*2 w*2", "init: (8, 8) | b c h w -> b c 8 8"],
             bad=["init: | b c h w ! SHP110"])
def Upsample(site: Site, init: dict, input) -> Shape | None:
    """``nn.Upsample(size=None, scale_factor=None)``; see ``F.interpolate``."""
    return _interpolate(site, input, init.get("size"), init.get("scale_factor"), "nn.Upsample")


def _exact_div(site: Site, n, k: int, what: str, x: Shape, i: int):
    """``n / k`` for a size that must be a multiple of ``k``; records SHP110 when a literal is not."""
    nv = as_int(site.resolve(n)) if isinstance(n, Expr) else None
    if nv is not None:
        if nv % k:
            site.error("SHP110", f"{what} needs axis {i} to be a multiple of {k}, got {nv}",
                       notes=(site.axis_note(x, i),))
            return None
        return const(nv // k)
    if not isinstance(n, Expr):
        return UNKNOWN
    q = site.resolve(n) // k
    if any(isinstance(a, FloorDiv) for m, _ in q.terms for a, _p in m):
        site.env.add_divisible(site.resolve(n), const(k))  # the call only runs when it divides
        q = site.resolve(q)
    return q


def _pixel(site: Site, input, r, shuffle: bool, what: str):
    if not known(input):
        return None
    rv = as_int(r)
    if rv is None or rv <= 0:
        return None
    if input.rank < 3:
        site.error("SHP104", f"{what} expects an input of at least 3 axes (channels, height, width), got {input.rank}")
        return None
    ax = axes_any(input)
    c, h, w = ax[-3][0], ax[-2][0], ax[-1][0]
    if shuffle:
        nc = _exact_div(site, c, rv * rv, what, input, input.rank - 3)
        if nc is None:
            return None
        return build(ax[:-3] + [(nc, None), (prod([h, const(rv)]), None), (prod([w, const(rv)]), None)])
    nh = _exact_div(site, h, rv, what, input, input.rank - 2)
    nw = _exact_div(site, w, rv, what, input, input.rank - 1) if nh is not None else None
    if nh is None or nw is None:
        return None
    return build(ax[:-3] + [(prod([c, const(rv * rv)]), None), (nh, None), (nw, None)])


@shape_rule("torch.nn.functional.pixel_shuffle", "torch.pixel_shuffle",
            ok=["b 12 h w | 2 -> b 3 h*2 w*2", "b c*4 h w | 2 -> b c h*2 w*2"], bad=["b 10 h w | 2 ! SHP110", "c h | 2 ! SHP104"])
def pixel_shuffle(site: Site, input, upscale_factor) -> Shape | None:
    """``F.pixel_shuffle(x, r)``: ``(*, C*r*r, H, W) -> (*, C, H*r, W*r)``."""
    return _pixel(site, input, upscale_factor, True, "pixel_shuffle")


@shape_rule("torch.nn.functional.pixel_unshuffle", "torch.pixel_unshuffle",
            ok=["b c 8 6 | 2 -> b c*4 4 3", "b c h*2 w*2 | 2 -> b c*4 h w"], bad=["b c 7 6 | 2 ! SHP110"])
def pixel_unshuffle(site: Site, input, downscale_factor) -> Shape | None:
    """``F.pixel_unshuffle(x, r)``: ``(*, C, H*r, W*r) -> (*, C*r*r, H, W)``."""
    return _pixel(site, input, downscale_factor, False, "pixel_unshuffle")


@module_rule("torch.nn.PixelShuffle", init="upscale_factor", ok=["init: 2 | b 12 h w -> b 3 h*2 w*2"],
             bad=["init: 2 | b 10 h w ! SHP110"])
def PixelShuffle(site: Site, init: dict, input) -> Shape | None:
    """``nn.PixelShuffle(r)``; see ``F.pixel_shuffle``."""
    return _pixel(site, input, init.get("upscale_factor"), True, "nn.PixelShuffle")


@module_rule("torch.nn.PixelUnshuffle", init="downscale_factor", ok=["init: 2 | b c 8 6 -> b c*4 4 3"],
             bad=["init: 2 | b c 7 6 ! SHP110"])
def PixelUnshuffle(site: Site, init: dict, input) -> Shape | None:
    """``nn.PixelUnshuffle(r)``; see ``F.pixel_unshuffle``."""
    return _pixel(site, input, init.get("downscale_factor"), False, "nn.PixelUnshuffle")


def _pair(v):
    if isinstance(v, (tuple, list)):
        return [as_size(x) for x in v] if len(v) == 2 else None
    s = as_size(v)
    return None if isinstance(s, Unknown) else [s, s]


def _unfold(site: Site, input, kernel_size, dilation, padding, stride, what: str):
    if not known(input):
        return None
    if input.rank not in (3, 4):
        site.error("SHP104", f"{what} expects a 4-D (batched) or 3-D input, got {input.rank} axes")
        return None
    ks, ds, ps, ss = _pair(kernel_size), _pair(dilation), _pair(padding), _pair(stride)
    if None in (ks, ds, ps, ss):
        return None
    ax = axes_any(input)
    blocks = const(1)
    for i, ((L, _), k, d, p, s) in enumerate(zip(ax[-2:], ks, ds, ps, ss)):
        if any(isinstance(v, Unknown) for v in (L, k, d, p, s)) or (s.value is not None and s.value <= 0):
            blocks = UNKNOWN
            continue
        num = L + 2 * p - d * (k - 1) - 1
        n_i = num // s + 1 if s.value != 1 else num + 1
        if n_i.value is not None and n_i.value < 1:
            site.error("SHP110", f"{what} finds no block along spatial axis {i} (size {L}, kernel {k})",
                       notes=(site.axis_note(input, input.rank - 2 + i),))
            return None
        blocks = prod([blocks, n_i])
    c = ax[-3][0]
    return build(ax[:-3] + [(prod([c, ks[0], ks[1]]), None), (blocks, None)])


@shape_rule("torch.nn.functional.unfold",
            ok=["b c 8 8 | 3, padding=1, stride=2 -> b c*9 16", "c h w | 1 -> c h*w"],
            bad=["b c 2 2 | 3 ! SHP110", "b c h w d | 3 ! SHP104"])
def unfold(site: Site, input, kernel_size, dilation=1, padding=0, stride=1) -> Shape | None:
    """``F.unfold(x, kernel_size, dilation, padding, stride)`` (im2col): ``(N, C*kh*kw, L)`` where ``L`` is
    the number of blocks (the product of the conv output sizes)."""
    return _unfold(site, input, kernel_size, dilation, padding, stride, "unfold")


@module_rule("torch.nn.Unfold", init="kernel_size, dilation=1, padding=0, stride=1",
             ok=["init: 2, stride=2 | b c 8 8 -> b c*4 16"], bad=["init: 3 | b c 2 2 ! SHP110"])
def Unfold(site: Site, init: dict, input) -> Shape | None:
    """``nn.Unfold(kernel_size, dilation, padding, stride)``; see ``F.unfold``."""
    return _unfold(site, input, init.get("kernel_size"), init.get("dilation", 1), init.get("padding", 0),
                   init.get("stride", 1), "nn.Unfold")


def _register_pad_modules(n: int, constant: bool) -> None:
    def rule(site: Site, init: dict, input):
        if not known(input) and not trailing_known(input, n):
            return None
        # of ``... c h w`` (a convolution's output of unknown rank) the last axes are padded, its rank unchecked
        if constant and input.rank is not None and input.rank < n:
            site.error("SHP104", f"padding {n}-D expects an input of at least {n} axes, got {input.rank}")
            return None
        if not constant and input.rank is not None and input.rank not in (n + 1, n + 2):
            site.error("SHP104", f"padding {n}-D expects an input of {n + 1} or {n + 2} axes, got {input.rank}")
            return None
        p = init.get("padding")
        pads = [p] * (2 * n) if not isinstance(p, (tuple, list)) else list(p)
        if len(pads) != 2 * n:
            return None
        ax = axes_any(input)
        for j in range(n):
            i = len(ax) - 1 - j
            a, b = as_size(pads[2 * j]), as_size(pads[2 * j + 1])
            d = ax[i][0]
            if any(isinstance(v, Unknown) for v in (a, b, d)):
                ax[i] = (UNKNOWN, None)
                continue
            new = d + a + b
            if new.value is not None and new.value < 0:
                site.error("SHP110", f"padding makes spatial axis {i} negative")
                return None
            ax[i] = (new, ax[i][1] if new == d else None)
        return build(ax) if input.rank is not None else with_trailing(input, ax)

    rule.__name__ = f"{'Constant' if constant else 'Reflection'}Pad{n}d"
    rule.__doc__ = ((f"``nn.ZeroPad{n}d(padding)`` / ``nn.ConstantPad{n}d(padding, value)``: any input of at least "
                     f"{n} axes" if constant else
                     f"``nn.ReflectionPad{n}d(padding)`` (replication, circular too): an input of {n + 1} or {n + 2} axes")
                    + f"; each of the last {n} axes grows by its (before, after) padding.")
    sp = " ".join("hwd"[:n]) if n > 1 else "l"
    grown = " ".join(f"{a}+2" for a in sp.split())
    kinds = ("Zero", "Constant") if constant else ("Reflection", "Replication", "Circular")
    names = [f"torch.nn.{k}Pad{n}d" for k in kinds]
    module_rule(*names, init="padding, value=0.0",
                ok=[f"init: 1 | b c {sp} -> b c {grown}", f"init: {tuple([1, 0] * n)} | c {sp} -> c "
                    + " ".join(f"{a}+1" for a in sp.split())] + ([f"init: 1 | *B c {sp} -> *B c {grown}"] if constant else []),
                bad=[f"init: 1 | {' '.join(['b'] * (n - 1)) or '()'} ! SHP104" if constant else
                     f"init: 1 | {' '.join(['b'] * (n + 3))} ! SHP104"])(rule)


for _n in (1, 2, 3):
    _register_pad_modules(_n, True)
    _register_pad_modules(_n, False)
