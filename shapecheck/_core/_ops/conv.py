"""Convolutions, transposed convolutions, pooling and adaptive pooling (1-D, 2-D, 3-D), and ``F.pad``."""

from __future__ import annotations

from .._algebra import Expr, const
from .._shape import UNKNOWN, Shape, Unknown, Variadic
from ._registry import OPAQUE, Site, as_int, as_size, module_rule, qd, shape_rule
from ._util import CONV_LEAD, axes, batch_then_channels, axes_any, build, count_text, known, trailing_known, with_trailing

_CONV_INIT = ("in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, "
              "padding_mode='zeros', device=None, dtype=None")
_CONVT_INIT = ("in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, "
               "bias=True, dilation=1, padding_mode='zeros', device=None, dtype=None")


def _tuple(v, n: int, what: str):
    """An int or an n-tuple as a list of n sizes (Expr/UNKNOWN); None when the form is wrong or not static."""
    if isinstance(v, (tuple, list)):
        if len(v) == 1 and n > 1:
            v = tuple(v) * n
        if len(v) != n:
            return None
        return [as_size(x) for x in v]
    s = as_size(v)
    if v is OPAQUE or (isinstance(s, Unknown) and not isinstance(v, Expr)):
        return None
    return [s] * n


def _spatial(site: Site, x: Shape, n: int, what: str):
    """(batch axes, channel (dim, origin), spatial axes) of an input of n+1 or n+2 axes (or of a
    variadic segment followed by at least the channel and spatial axes)."""
    if x.rank is None:
        trailing = len(x.dims) - x.variadic_index - 1
        anonymous = x.dims[x.variadic_index].name is None  # ``...``, not an annotation's ``*batch``
        if trailing < n or trailing < n + 1 and not anonymous:
            return None
        ax = list(zip(x.dims, x.origins or (None,) * len(x.dims)))
        if trailing == n:  # ``... h w`` (``H, W = x.shape[-2:]``): the channels are the axis before them
            ax.insert(x.variadic_index + 1, (UNKNOWN, None))
        elif trailing == n + 2 and anonymous:  # ``... b c h w``: at most n + 2 axes, so ``...`` is empty
            del ax[x.variadic_index]
        elif trailing > n + 1:
            return None
        return ax[:len(ax) - n - 1], ax[len(ax) - n - 1], ax[len(ax) - n:]
    if x.rank not in (n + 1, n + 2):
        site.error("SHP104", f"{what} expects a {n + 2}-D (batched) or {n + 1}-D (unbatched) input, got "
                             f"{x.rank} ax{'is' if x.rank == 1 else 'es'}",
                   notes=(f"{x.label or 'the input'} has shape ({x})",))
        return None
    ax = axes(x)
    lead = ax[:x.rank - n - 1]
    return lead, ax[x.rank - n - 1], ax[x.rank - n:]


def _out_len(site: Site, what: str, L, k, s, p, d, i: int):
    """``(L + 2p - d(k-1) - 1) // s + 1``; records SHP110 when a literal result is below 1."""
    if any(isinstance(v, Unknown) for v in (L, k, s, p, d)):
        return UNKNOWN
    sv = s.value
    if sv is not None and sv <= 0:
        return UNKNOWN
    num = L + 2 * p - d * (k - 1) - 1
    out = num // s + 1 if sv != 1 else num + 1
    if out.value is not None and out.value < 1 and L.value is not None:
        site.error("SHP110", f"{what} output would have {out.value} elements along spatial axis {i} "
                             f"(input {L.value}, kernel {k}, padding {p}, dilation {d}, stride {s})")
        return None
    return out


def _of_unknown_rank(n: int, out_ch) -> Shape | None:
    """A convolution of an input of unknown rank (batched or not): if the call runs, the channels axis
    is ``out_channels``, followed by ``n`` spatial axes."""
    if not isinstance(as_size(out_ch), Expr):
        return None
    return Shape((Variadic(None), as_size(out_ch)) + (UNKNOWN,) * n).with_meta(**{CONV_LEAD: True})


def _lead_marked(out, n: int):
    """A convolution's output of unknown rank: its leading segment is one batch axis or none. With the
    batch axis known already (``... ? c h w``, an input of at least ``n + 2`` axes), the segment is empty."""
    if isinstance(out, Shape) and out.rank is None:
        if len(out.dims) - 1 >= n + 2:
            v = out.variadic_index
            origins = tuple(out.origins[:v]) + tuple(out.origins[v + 1:]) if out.origins else ()
            return Shape(out.dims[:v] + out.dims[v + 1:], origins, out.label, out.meta)
        return out.with_meta(**{CONV_LEAD: True})
    return out


def _conv(site: Site, n: int, x, out_ch, in_ch, k, stride, padding, dilation, groups, what: str,
          weight: Shape | None = None):
    if isinstance(x, Shape) and x.is_any:
        return _of_unknown_rank(n, out_ch)
    if not isinstance(x, Shape):
        return None
    parts = _spatial(site, x, n, what)
    if parts is None and not site.failed and batch_then_channels(x):
        # ``? c ...``, what a norm over the channels (``GroupNorm``, ``(N, C, *)``) fixes of an unknown
        # input: a batch, so the channels are axis 1 and the spatial axes follow
        ax = axes(x)
        parts = ax[:1], ax[1], [(UNKNOWN, None)] * n
    if parts is None:
        # the channels cannot be located, but if the call runs its output ends in the output channels
        # and the spatial axes
        return None if site.failed else _of_unknown_rank(n, out_ch)
    lead, (c, _), sp = parts
    ks = _tuple(k, n, "kernel_size")
    ss = _tuple(stride, n, "stride")
    ds = _tuple(dilation, n, "dilation")
    g = as_size(groups)
    if ks is None or ss is None or ds is None:
        return None
    if isinstance(padding, str):
        if padding == "valid":
            ps = [const(0)] * n
        elif padding == "same":
            if any(s.value is not None and s.value != 1 for s in ss if isinstance(s, Expr)):
                site.error("SHP110", f"{what} with padding=\"same\" needs stride 1")
                return None
            ps = None
        else:
            return None
    else:
        ps = _tuple(padding, n, "padding")
        if ps is None:
            return None
    # channels
    expected = in_ch
    if site.unify(c, expected) is False:
        cx = -n - 1
        site.error("SHP107", f"{what} expects {_count(site, expected)} input channels, got {qd(site.resolve(c))}",
                   notes=(site.axis_note(x, cx), site.axis_note(weight, 1) if weight is not None else None))
        return None
    gv = as_int(g)
    ov = as_int(out_ch)
    if gv is not None and ov is not None and gv > 0 and ov % gv:
        site.error("SHP110", f"{what} has {ov} output channels, not divisible by groups={gv}")
        return None
    out = []
    for i, ((L, o), kk, s, d) in enumerate(zip(sp, ks, ss, ds)):
        if ps is None:
            out.append((L, o))
            continue
        ln = _out_len(site, what, L, kk, s, ps[i], d, i)
        if ln is None:
            return None
        out.append((ln, o if ln == L else None))
    return _lead_marked(build(lead + [(out_ch, None)] + out), n)


def _count(site: Site, e) -> str:
    return count_text(site, e)


def _register_conv(n: int) -> None:
    name = f"conv{n}d"
    sp = " ".join("hwd"[:n]) if n > 1 else "l"
    ones = " ".join(["7"] * n)
    out5 = " ".join(["3"] * n)

    def fconv(site: Site, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        if not known(weight):
            return None
        if weight.rank != n + 2:
            site.error("SHP104", f"{name} expects a {n + 2}-D weight (out, in/groups, *kernel), got {weight.rank} axes")
            return None
        g = as_size(groups)
        in_ch = weight.dims[1] * g if isinstance(g, Expr) and isinstance(weight.dims[1], Expr) else UNKNOWN
        return _conv(site, n, input, weight.dims[0], in_ch, list(weight.dims[2:]), stride, padding, dilation,
                     groups, name, weight)

    fconv.__name__ = name
    fconv.__doc__ = (f"``F.{name}(x, W, bias, stride, padding, dilation, groups)``: ``W`` is "
                     f"``(out, in/groups, *kernel)``; each spatial axis becomes "
                     f"``(L + 2p - d(k-1) - 1) // s + 1`` (``padding=\"same\"`` keeps it).")
    shape_rule(f"torch.nn.functional.{name}", f"torch.{name}",
               ok=[f"b c {sp}, o c {' '.join(['3'] * n)} | padding=1 -> b o {sp}",
                   f"b c {ones}, o c {ones} -> b o {' '.join(['1'] * n)}",
                   f"c {sp}, o c {' '.join(['1'] * n)} -> o {sp}",
                   f"b 4 {ones}, 6 2 {' '.join(['1'] * n)} | groups=2 -> b 6 {ones}",
                   f"b c {ones}, o c {' '.join(['3'] * n)} | stride=2 -> b o {out5}"],
               bad=[f"b c {sp}, o e {' '.join(['3'] * n)} ! SHP107", f"b, o c {' '.join(['3'] * n)} ! SHP104",
                    f"b c {' '.join(['2'] * n)}, o c {' '.join(['3'] * n)} ! SHP110"])(fconv)

    def mconv(site: Site, init: dict, input):
        return _conv(site, n, input, as_size(init.get("out_channels")), as_size(init.get("in_channels")),
                     init.get("kernel_size"), init.get("stride", 1), init.get("padding", 0),
                     init.get("dilation", 1), init.get("groups", 1), f"nn.Conv{n}d")

    mconv.__name__ = f"Conv{n}d"
    mconv.__doc__ = f"``nn.Conv{n}d(in, out, kernel_size, stride, padding, dilation, groups)``; see ``F.{name}``."
    module_rule(f"torch.nn.Conv{n}d", init=_CONV_INIT,
                ok=[f"init: c, o, 3, padding=1 | b c {sp} -> b o {sp}", f"init: c, o, 1 | *B c {sp} -> *B o {sp}",
                    f"init: c, o, 1 | ... {sp} -> ... o {sp}", f"init: c, o, 1 | ... b c {sp} -> b o {sp}",
                    f"init: c, o, 3, padding='same' | b c {sp} -> b o {sp}",
                    f"init: 3, 8, 3, stride=2 | b 3 {ones} -> b 8 {out5}",
                    f"init: c, o, 1 | c {sp} -> o {sp}"],
                bad=[f"init: c, o, 3 | b e {sp} ! SHP107", f"init: 3, 8, 3, stride=2, padding='same' | b 3 {ones} ! SHP110",
                     f"init: 4, 6, 1, groups=4 | b 4 {ones} ! SHP110"])(mconv)


def _convT(site: Site, n: int, x, out_ch, in_ch, k, stride, padding, output_padding, groups, dilation,
           what: str):
    if isinstance(x, Shape) and x.is_any:
        return _of_unknown_rank(n, out_ch)
    if not isinstance(x, Shape):
        return None
    parts = _spatial(site, x, n, what)
    if parts is None:
        return None if site.failed else _of_unknown_rank(n, out_ch)
    lead, (c, _), sp = parts
    ks, ss, ps = _tuple(k, n, "k"), _tuple(stride, n, "s"), _tuple(padding, n, "p")
    ops, ds = _tuple(output_padding, n, "op"), _tuple(dilation, n, "d")
    if None in (ks, ss, ps, ops, ds):
        return None
    if site.unify(c, in_ch) is False:
        site.error("SHP107", f"{what} expects {_count(site, in_ch)} input channels, got {qd(site.resolve(c))}",
                   notes=(site.axis_note(x, -n - 1),))
        return None
    out = []
    for i, ((L, o), kk, s, p, op, d) in enumerate(zip(sp, ks, ss, ps, ops, ds)):
        if any(isinstance(v, Unknown) for v in (L, kk, s, p, op, d)):
            out.append((UNKNOWN, None))
            continue
        opv, sv, dv = op.value, s.value, d.value
        if opv is not None and sv is not None and dv is not None and opv >= max(sv, dv):
            site.error("SHP110", f"{what} output_padding {opv} must be smaller than the stride or the dilation")
            return None
        ln = (L - 1) * s - 2 * p + d * (kk - 1) + op + 1
        if ln.value is not None and ln.value < 0:  # PyTorch accepts an empty output
            site.error("SHP110", f"{what} output would have {ln.value} elements along spatial axis {i}")
            return None
        out.append((ln, None))
    return _lead_marked(build(lead + [(out_ch, None)] + out), n)


def _register_convT(n: int) -> None:
    name = f"conv_transpose{n}d"
    sp = " ".join("hwd"[:n]) if n > 1 else "l"
    fives = " ".join(["5"] * n)

    def fconvT(site: Site, input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        if not known(weight):
            return None
        if weight.rank != n + 2:
            site.error("SHP104", f"{name} expects a {n + 2}-D weight (in, out/groups, *kernel), got {weight.rank} axes")
            return None
        g = as_size(groups)
        out_ch = weight.dims[1] * g if isinstance(g, Expr) and isinstance(weight.dims[1], Expr) else UNKNOWN
        return _convT(site, n, input, out_ch, weight.dims[0], list(weight.dims[2:]), stride, padding,
                      output_padding, groups, dilation, name)

    fconvT.__name__ = name
    fconvT.__doc__ = (f"``F.{name}``: ``W`` is ``(in, out/groups, *kernel)``; each spatial axis becomes "
                      "``(L-1)*s - 2p + d(k-1) + output_padding + 1``.")
    shape_rule(f"torch.nn.functional.{name}", f"torch.{name}",
               ok=[f"b c {fives}, c o {' '.join(['2'] * n)} | stride=2 -> b o {' '.join(['10'] * n)}",
                   f"b c {sp}, c o {' '.join(['1'] * n)} -> b o {sp}"],
               bad=[f"b c {sp}, e o {' '.join(['3'] * n)} ! SHP107",
                    f"b c {fives}, c o {' '.join(['2'] * n)} | stride=2, output_padding=2 ! SHP110"])(fconvT)

    def mconvT(site: Site, init: dict, input, output_size=None):
        return _convT(site, n, input, as_size(init.get("out_channels")), as_size(init.get("in_channels")),
                      init.get("kernel_size"), init.get("stride", 1), init.get("padding", 0),
                      init.get("output_padding", 0), init.get("groups", 1), init.get("dilation", 1),
                      f"nn.ConvTranspose{n}d")

    mconvT.__name__ = f"ConvTranspose{n}d"
    mconvT.__doc__ = f"``nn.ConvTranspose{n}d(in, out, kernel_size, stride, padding, output_padding, groups, bias, dilation)``."
    module_rule(f"torch.nn.ConvTranspose{n}d", init=_CONVT_INIT,
                ok=[f"init: c, o, 2, stride=2 | b c {fives} -> b o {' '.join(['10'] * n)}",
                    f"init: c, o, 3, padding=1 | b c {sp} -> b o {sp}"],
                bad=[f"init: c, o, 2 | b e {sp} ! SHP107"])(mconvT)


def _pool_len(site: Site, what: str, L, k, s, p, d, ceil_mode: bool, i: int):
    if any(isinstance(v, Unknown) for v in (L, k, s, p, d)):
        return UNKNOWN
    kv, pv, dv, sv = k.value, p.value, d.value, s.value
    if kv is not None and pv is not None and pv * 2 > kv:
        site.error("SHP110", f"{what} padding {pv} is more than half the kernel size {kv}")
        return None
    if sv is not None and sv <= 0:
        return UNKNOWN
    if L.value is not None and None not in (kv, pv, dv, sv):
        Lv = L.value
        out = (Lv + 2 * pv - dv * (kv - 1) - 1 + ((sv - 1) if ceil_mode else 0)) // sv + 1
        if ceil_mode and (out - 1) * sv >= Lv + pv:
            out -= 1
        if out < 1:
            site.error("SHP110", f"{what} output would have {out} elements along spatial axis {i} "
                                 f"(input {Lv}, kernel {kv}, padding {pv}, stride {sv})")
            return None
        return const(out)
    if ceil_mode:
        return UNKNOWN
    num = L + 2 * p - d * (k - 1) - 1
    return num // s + 1 if sv != 1 else num + 1


def _pool(site: Site, n: int, x, kernel_size, stride, padding, dilation, ceil_mode, what: str,
          kernel_fits: bool = False):
    if not isinstance(x, Shape) or x.is_any:
        return None
    if x.rank is None and len(x.dims) - x.variadic_index - 1 < n + 1:
        return None
    if x.rank is not None and x.rank not in (n + 1, n + 2):
        site.error("SHP104", f"{what} expects a {n + 2}-D (batched) or {n + 1}-D (unbatched) input, got "
                             f"{x.rank} ax{'is' if x.rank == 1 else 'es'}",
                   notes=(f"{x.label or 'the input'} has shape ({x})",))
        return None
    ks = _tuple(kernel_size, n, "k")
    ss = ks if stride is None or (isinstance(stride, (tuple, list)) and not stride) else _tuple(stride, n, "s")
    ps, ds = _tuple(padding, n, "p"), _tuple(dilation, n, "d")
    ax = list(zip(x.dims, x.origins or (None,) * len(x.dims)))
    out = ax[:len(ax) - n]
    if None in (ks, ss, ps, ds) or not isinstance(ceil_mode, bool):
        # options the engine cannot read (``kernel_skip`` built in a loop): a pool keeps batch and channels
        return _lead_marked(build(out + [(UNKNOWN, None)] * n), n)
    for i, ((L, o), k, s, p, d) in enumerate(zip(ax[len(ax) - n:], ks, ss, ps, ds)):
        if kernel_fits and as_int(L) is not None and as_int(k) is not None and as_int(L) < as_int(k):
            site.error("SHP110", f"{what} kernel {as_int(k)} is larger than spatial axis {i} of size {as_int(L)}",
                       notes=(site.axis_note(x, i - n),))
            return None
        ln = _pool_len(site, what, L, k, s, p, d, ceil_mode, i)
        if ln is None:
            return None
        out.append((ln, o if ln == L else None))
    return _lead_marked(build(out), n)


def _register_pool(n: int) -> None:
    sp = " ".join("hwd"[:n]) if n > 1 else "l"
    eights = " ".join(["8"] * n)
    fours = " ".join(["4"] * n)

    def fmax(site: Site, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
             return_indices=False):
        out = _pool(site, n, input, kernel_size, stride, padding, dilation, ceil_mode, f"max_pool{n}d")
        return (out, out) if out is not None and return_indices is True else out

    fmax.__name__ = f"max_pool{n}d"
    fmax.__doc__ = (f"``F.max_pool{n}d(x, kernel_size, stride=kernel_size, padding=0, dilation=1, ceil_mode=False)``: "
                    "each spatial axis becomes ``floor_or_ceil((L + 2p - d(k-1) - 1) / s) + 1``; with "
                    "``return_indices`` a pair.")
    shape_rule(f"torch.nn.functional.max_pool{n}d", f"torch.max_pool{n}d",
               f"torch.nn.functional.max_pool{n}d_with_indices",
               ok=[f"b c {eights} | 2 -> b c {fours}", f"b c {' '.join(['7'] * n)} | 2, ceil_mode=True -> b c {fours}",
                   f"c {eights} | 3, 1, 1 -> c {eights}", f"b c {sp} | 3, 1, 1 -> b c {sp}",
                   f"b c {eights} | 2, return_indices=True -> b c {fours}; b c {fours}"],
               bad=[f"b c {eights} | 2, 2, 2 ! SHP110", f"b {eights} {eights} | 2 ! SHP104"][:1 if n == 1 else 2]
               + [f"b c {' '.join(['1'] * n)} | 3 ! SHP110"])(fmax)

    def favg(site: Site, input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
             divisor_override=None):
        return _pool(site, n, input, kernel_size, stride, padding, 1, ceil_mode, f"avg_pool{n}d", n == 3)

    favg.__name__ = f"avg_pool{n}d"
    favg.__doc__ = f"``F.avg_pool{n}d(x, kernel_size, stride=kernel_size, padding=0, ceil_mode=False)``."
    shape_rule(f"torch.nn.functional.avg_pool{n}d", f"torch.avg_pool{n}d",
               ok=[f"b c {eights} | 2 -> b c {fours}", f"b c {sp} | 3, 1, 1 -> b c {sp}",
                   f"b c {' '.join(['7'] * n)} | 2, ceil_mode=True -> b c {fours}"],
               bad=[f"b c {eights} | 2, 2, 2 ! SHP110", f"b c {' '.join(['1'] * n)} | 3 ! SHP110"])(favg)

    def mmax(site: Site, init: dict, input):
        out = _pool(site, n, input, init.get("kernel_size"), init.get("stride"), init.get("padding", 0),
                    init.get("dilation", 1), init.get("ceil_mode", False), f"nn.MaxPool{n}d")
        return (out, out) if out is not None and init.get("return_indices") is True else out

    mmax.__name__ = f"MaxPool{n}d"
    mmax.__doc__ = f"``nn.MaxPool{n}d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False)``."
    module_rule(f"torch.nn.MaxPool{n}d",
                init="kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False",
                ok=[f"init: 2 | b c {eights} -> b c {fours}", f"init: 3, stride=1, padding=1 | b c {sp} -> b c {sp}"],
                bad=[f"init: 3, padding=2 | b c {eights} ! SHP110"])(mmax)

    def mavg(site: Site, init: dict, input):
        return _pool(site, n, input, init.get("kernel_size"), init.get("stride"), init.get("padding", 0), 1,
                     init.get("ceil_mode", False), f"nn.AvgPool{n}d", n == 3)

    mavg.__name__ = f"AvgPool{n}d"
    mavg.__doc__ = f"``nn.AvgPool{n}d(kernel_size, stride=None, padding=0, ceil_mode=False, ...)``."
    module_rule(f"torch.nn.AvgPool{n}d",
                init="kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, "
                     "divisor_override=None",
                ok=[f"init: 2 | b c {eights} -> b c {fours}", f"init: 3, 1, 1 | c {sp} -> c {sp}"],
                bad=[f"init: 3, padding=2 | b c {eights} ! SHP110"])(mavg)

    def _adaptive(site: Site, input, output_size, what):
        if isinstance(input, Shape) and not input.is_any and input.rank is None \
                and len(input.dims) - input.variadic_index - 1 >= n + 1:
            # ``... c h w`` (a convolution's output): the leading segment and the channels are kept
            sizes = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size] * n
            if len(sizes) != n or any(s is None or as_int(s) is None or as_int(s) < 0 for s in sizes):
                return None
            head = list(zip(input.dims, input.origins or (None,) * len(input.dims)))[:len(input.dims) - n]
            return _lead_marked(build(head + [(as_size(s), None) for s in sizes]), n)
        if not known(input):
            return None
        if input.rank not in (n + 1, n + 2):
            site.error("SHP104", f"{what} expects a {n + 2}-D (batched) or {n + 1}-D (unbatched) input, got "
                                 f"{input.rank} ax{'is' if input.rank == 1 else 'es'}")
            return None
        if isinstance(output_size, (tuple, list)):
            if len(output_size) != n:
                site.error("SHP110", f"{what} gets an output size of {len(output_size)} values for {n} spatial axes")
                return None
            sizes = list(output_size)
            if n == 1 and None in sizes:
                return None  # adaptive 1-D pooling takes ints only
        else:
            sizes = [output_size] * n
        ax = axes(input)
        out = ax[:input.rank - n]
        for (L, o), s in zip(ax[input.rank - n:], sizes):
            if s is None:
                out.append((L, o))
            else:
                v = as_int(s)
                if v is not None and v < 0:
                    site.error("SHP110", f"{what} gets the negative output size {v}")
                    return None
                out.append((as_size(s), None))
        return build(out)

    def fadapt_avg(site: Site, input, output_size):
        return _adaptive(site, input, output_size, f"adaptive_avg_pool{n}d")

    def fadapt_max(site: Site, input, output_size, return_indices=False):
        out = _adaptive(site, input, output_size, f"adaptive_max_pool{n}d")
        return (out, out) if out is not None and return_indices is True else out

    for fn, kind in ((fadapt_avg, "avg"), (fadapt_max, "max")):
        fn.__name__ = f"adaptive_{kind}_pool{n}d"
        fn.__doc__ = (f"``F.adaptive_{kind}_pool{n}d(x, output_size)``: the spatial axes become ``output_size`` "
                      "(an int, or a tuple whose None entries keep the axis)"
                      + (" ; with ``return_indices`` a pair." if kind == "max" else "."))
        shape_rule(f"torch.nn.functional.adaptive_{kind}_pool{n}d", f"torch.adaptive_{kind}_pool{n}d",
                   ok=[f"b c {sp} | 1 -> b c {' '.join(['1'] * n)}", f"c {sp} | {tuple([7] * n)} -> c {' '.join(['7'] * n)}"],
                   bad=[f"b c {sp} | {tuple([1] * (n + 1))} ! SHP110", f"{' '.join(['b'] * (n + 3))} | 1 ! SHP104"])(fn)

    def madapt(site: Site, init: dict, input):
        out = _adaptive(site, input, init.get("output_size"), f"nn.Adaptive{n}d pooling")
        return (out, out) if out is not None and init.get("return_indices") is True else out

    madapt.__name__ = f"AdaptivePool{n}d"
    madapt.__doc__ = f"``nn.AdaptiveAvgPool{n}d(output_size)`` / ``nn.AdaptiveMaxPool{n}d(output_size, return_indices)``."
    module_rule(f"torch.nn.AdaptiveAvgPool{n}d", f"torch.nn.AdaptiveMaxPool{n}d",
                init="output_size, return_indices=False",
                ok=[f"init: 1 | b c {sp} -> b c {' '.join(['1'] * n)}"],
                bad=[f"init: 1 | {' '.join(['b'] * (n + 3))} ! SHP104"])(madapt)


# a project's own convolution block that the analysis cannot read (imported from a module it did not see): the
# qualified name the engine builds it as (``_engine._calls``)
CONV_BLOCK = "shapecheck.ConvBlock"


@module_rule(CONV_BLOCK, init="in_channels, out_channels, name=None",
             ok=["init: c, o | b c h w -> b o _ _", "init: c, o | b c l -> b o _", "init: c, o | b c ... -> b o ...",
                 "init: c, o | ... -> _ o ..."],
             bad=["init: c, o | b e h w ! SHP107", "init: 64, 32 | b 48 h w ! SHP107"])
def ConvBlock(site: Site, init: dict, input) -> Shape | None:
    """A convolution block of the project that the analysis cannot read (``ConvBNReLU(in_ch, out_ch, 3)``
    imported from a module it did not see, named for a convolution and built with two channel counts): a
    batched map of ``in_channels`` channels (axis 1) becomes one of ``out_channels``, of the same rank, its
    other axes of unknown size (the block's kernel, stride and padding are not known)."""
    in_ch, out_ch = as_size(init.get("in_channels")), as_size(init.get("out_channels"))
    if not isinstance(input, Shape):
        return None
    if input.rank is not None and input.rank < 3:
        return None  # not a batched map: what the block does with it is not known
    v = input.variadic_index
    if input.rank is None and (v is None or v < 2):
        return Shape((UNKNOWN, out_ch, Variadic(None)))
    c = input.dims[1]
    if site.unify(c, in_ch) is False:
        site.error("SHP107", f"{init.get('name') or 'the block'} expects {count_text(site, in_ch)} input channels, got "
                             f"{qd(site.resolve(c))}", notes=(site.axis_note(input, 1),))
        return None
    ax = axes_any(input)
    rest = [(d, None) if isinstance(d, Variadic) else (UNKNOWN, None) for d, _o in ax[2:]]
    return build([ax[0], (out_ch, None)] + rest)


for _n in (1, 2, 3):
    _register_conv(_n)
    _register_convT(_n)
    _register_pool(_n)


@shape_rule("torch.nn.functional.pad",
            ok=["b c h w | (1, 1) -> b c h w+2", "b c h w | (1, 1, 2, 0) -> b c h+2 w+2", "b n | [0, 3] -> b n+3",
                "*B c h w | (1, 1, 2, 0) -> *B c h+2 w+2", "*B c n | (2, 0) -> *B c n+2"],
            bad=["b n | (1, 1, 1, 1, 1, 1) ! SHP104", "b n | (1, 1, 1) ! SHP110"])
def pad(site: Site, input, pad, mode="constant", value=None) -> Shape | None:
    """``F.pad(x, pad)``: ``pad`` holds (left, right) pairs from the last axis backwards (of a tensor of
    unknown rank, its known last axes)."""
    if not isinstance(pad, (tuple, list)) or not known(input) and not trailing_known(input, len(pad) // 2):
        return None
    if len(pad) % 2:
        site.error("SHP110", f"pad gets {len(pad)} values; padding takes (before, after) pairs")
        return None
    if input.rank is not None and len(pad) // 2 > input.rank:
        site.error("SHP104", f"pad pads {len(pad) // 2} axes of a tensor of {input.rank}")
        return None
    ax = axes(input) if input.rank is not None else axes_any(input)
    for j in range(len(pad) // 2):
        i = len(ax) - 1 - j
        a, b = as_size(pad[2 * j]), as_size(pad[2 * j + 1])
        if isinstance(a, Unknown) or isinstance(b, Unknown) or isinstance(ax[i][0], Unknown):
            ax[i] = (UNKNOWN, None)
            continue
        new = ax[i][0] + a + b
        if new.value is not None and new.value < 0:
            site.error("SHP110", f"pad makes axis {i} negative")
            return None
        ax[i] = (new, ax[i][1] if new == ax[i][0] else None)
    return build(ax) if input.rank is not None else with_trailing(input, ax)
