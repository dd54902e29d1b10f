"""More operations: one_hot, cosine_similarity, pairwise_distance, cdist, addmm/baddbmm, Tensor.unfold, glu,
the complex views (polar, view_as_complex, view_as_real), the discrete Fourier transforms along one axis."""

from __future__ import annotations

from .._algebra import Expr, const
from .._shape import UNKNOWN, Shape, Unknown, Variadic
from ._registry import OPAQUE, Site, as_int, as_size, module_rule, qd, shape_rule
from ._util import CONV_LEAD, axes_any, batched, build, known, locate
from .linalg import bmm, mm


@shape_rule("torch.nn.functional.one_hot",
            ok=["b n | 10 -> b n 10", "b n | num_classes=v -> b n v", "b n -> b n _"], bad=["b n | -2 ! SHP110"])
def one_hot(site: Site, tensor, num_classes=-1) -> Shape | None:
    """``F.one_hot(idx, num_classes)``: ``idx.shape + (num_classes,)`` (unknown size with -1, read from the data)."""
    if not isinstance(tensor, Shape) or tensor.is_any:
        return None
    v = as_int(num_classes)
    if v is not None and v < -1:
        site.error("SHP110", f"one_hot gets num_classes={v}")
        return None
    n = UNKNOWN if v == -1 or num_classes is OPAQUE else as_size(num_classes)
    return Shape(tensor.dims + (n,), (tensor.origins + (None,)) if tensor.origins else ())


def _broadcast_reduce(site: Site, x1, x2, dim, keepdim: bool, what: str):
    if not isinstance(x1, Shape) or not isinstance(x2, Shape):
        return None
    b = site.broadcast(x1, x2, what=what)
    if site.failed or b.rank is None:
        return None
    d = locate(site, b, dim)
    if d is None:
        return None
    ax = axes_any(b)
    if keepdim:
        ax[d] = (const(1), None)
        return build(ax)
    return build(ax[:d] + ax[d + 1:])


@shape_rule("torch.nn.functional.cosine_similarity", "torch.cosine_similarity",
            ok=["b n d, b n d | dim=-1 -> b n", "b d, d -> b", "b c h, b c h -> b h"],
            bad=["b n d, b n e | dim=-1 ! SHP102", "b d, b d | dim=2 ! SHP106"])
def cosine_similarity(site: Site, x1, x2, dim=1, eps=1e-8) -> Shape | None:
    """``F.cosine_similarity(x1, x2, dim=1)``: the operands broadcast, then ``dim`` is reduced."""
    return _broadcast_reduce(site, x1, x2, dim, False, "cosine_similarity")


@module_rule("torch.nn.CosineSimilarity", init="dim=1, eps=1e-08",
             ok=["init: dim=-1 | b n d, b n d -> b n"], bad=["init: | b d, b e ! SHP102"])
def CosineSimilarity(site: Site, init: dict, x1, x2) -> Shape | None:
    """``nn.CosineSimilarity(dim=1)``; see ``F.cosine_similarity``."""
    return _broadcast_reduce(site, x1, x2, init.get("dim", 1), False, "cosine_similarity")


@shape_rule("torch.nn.functional.pairwise_distance", "torch.pairwise_distance",
            ok=["b d, b d -> b", "b d, b d | keepdim=True -> b 1"], bad=["b d, b e ! SHP102"])
def pairwise_distance(site: Site, x1, x2, p=2.0, eps=1e-6, keepdim=False) -> Shape | None:
    """``F.pairwise_distance(x1, x2)``: the operands broadcast, then the last axis is reduced."""
    if not isinstance(keepdim, bool):
        return None
    return _broadcast_reduce(site, x1, x2, -1, keepdim, "pairwise_distance")


@shape_rule("torch.cdist", ok=["b p m, b r m -> b p r", "p m, r m -> p r"],
            bad=["b p m, b r n ! SHP110", "m, r m ! SHP104"])
def cdist(site: Site, x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary") -> Shape | None:
    """``torch.cdist(x1 (*B, P, M), x2 (*B, R, M))``: ``(*B, P, R)``; the batch axes broadcast."""
    if not known(x1) or not known(x2):
        return None
    if x1.rank < 2 or x2.rank < 2:
        site.error("SHP104", f"cdist expects operands of at least 2 axes, got {x1.rank} and {x2.rank}")
        return None
    if site.unify(x1.dims[-1], x2.dims[-1]) is False:
        site.error("SHP110", f"cdist compares points of {qd(site.resolve(x1.dims[-1]))} and "
                             f"{qd(site.resolve(x2.dims[-1]))} features",
                   notes=(site.axis_note(x1, -1), site.axis_note(x2, -1)))
        return None
    a1, a2 = axes_any(x1), axes_any(x2)
    batch = site.broadcast(build(a1[:-2]), build(a2[:-2]), what="cdist (batch axes)")
    if site.failed:
        return None
    return build(axes_any(batch) + [a1[-2], a2[-2]])


def _add_into(site: Site, bias, out: Shape | None, what: str):
    """``input`` of addmm/baddbmm must broadcast to the product's shape."""
    if out is None or not isinstance(bias, Shape):
        return out
    b = site.broadcast(out, bias, what=what)
    if site.failed:
        return None
    if b.rank is not None and out.rank is not None and (
            b.rank != out.rank or any(site.compare(x, y) == "ne" for x, y in zip(b.dims, out.dims))):
        site.error("SHP102", f"{what} cannot broadcast its input ({bias}) to the product's shape ({out})")
        return None
    return out


@shape_rule("torch.addmm", "torch.Tensor.addmm", ok=["m, n k, k m -> n m", "n m, n k, k m -> n m"],
            bad=["p, n k, k m ! SHP102", "m, n k, j m ! SHP101"])
def addmm(site: Site, input, mat1, mat2, *, beta=1, alpha=1, out=None) -> Shape | None:
    """``addmm(input, m1, m2)``: ``m1 @ m2`` (2-D) plus ``input``, which broadcasts to the product."""
    return _add_into(site, input, mm(site, mat1, mat2), "addmm")


@shape_rule("torch.baddbmm", "torch.Tensor.baddbmm", ok=["1 n m, b n k, b k m -> b n m"],
            bad=["b n p, b n k, b k m ! SHP102", "b n m, b n k, b j m ! SHP101"])
def baddbmm(site: Site, input, batch1, batch2, *, beta=1, alpha=1, out=None) -> Shape | None:
    """``baddbmm(input, b1, b2)``: ``bmm(b1, b2)`` plus ``input``, which broadcasts to the product."""
    return _add_into(site, input, bmm(site, batch1, batch2), "baddbmm")


@shape_rule("torch.Tensor.unfold", ok=["b 10 | 1, 3, 2 -> b 4 3", "b t | 1, k, 1 -> b t-k+1 k"],
            bad=["b 2 | 1, 3, 1 ! SHP110", "b n | 2, 2, 1 ! SHP106"])
def tensor_unfold(site: Site, input, dimension, size, step) -> Shape | None:
    """``x.unfold(dim, size, step)``: the dim becomes ``(L - size) // step + 1`` windows; a new last axis
    of ``size``."""
    if not known(input):
        return None
    d = locate(site, input, dimension)
    if d is None:
        return None
    if input.rank == 0:
        return None
    ax = axes_any(input)
    L = ax[d][0]
    sz, st = as_size(size), as_size(step)
    if isinstance(L, Unknown) or isinstance(sz, Unknown) or isinstance(st, Unknown) or st.value is None:
        n = UNKNOWN
    else:
        if L.value is not None and sz.value is not None and sz.value > L.value:
            site.error("SHP110", f"unfold takes windows of {sz.value} from an axis of size {L.value}",
                       notes=(site.axis_note(input, d),))
            return None
        if st.value <= 0:
            return None
        n = (L - sz) // st + 1 if st.value != 1 else L - sz + 1
    ax[d] = (n, None)
    return build([*ax, (sz, None)])


def _glu(site: Site, input, dim, what: str):
    if as_int(dim) is not None and as_int(dim) >= 0 and batched(input) is not input:
        # ``GLU(dim=1)`` after a convolution of unknown rank: its channels, read batched
        out = _glu(site, batched(input), dim, what)
        if not isinstance(out, Shape):
            return out
        origins = (None,) + tuple(out.origins[1:]) if out.origins else ()
        return Shape((Variadic(None),) + tuple(out.dims[1:]), origins, out.label).with_meta(**{CONV_LEAD: True})
    if not isinstance(input, Shape) or input.is_any:
        return None
    if input.rank == 0:
        site.error("SHP104", f"{what} needs a tensor of at least one axis")
        return None
    d = locate(site, input, dim)
    if d is None:
        return None
    ax = axes_any(input)
    n = ax[d][0]
    nv = as_int(site.resolve(n)) if isinstance(n, Expr) else None
    if nv is not None and nv % 2:
        site.error("SHP110", f"{what} halves axis {d}, but its size {nv} is odd", notes=(site.axis_note(input, d),))
        return None
    ax[d] = (site.resolve(n) // 2 if isinstance(n, Expr) else UNKNOWN, None)
    return build(ax)


@shape_rule("torch.nn.functional.glu", ok=["b 2*d -> b d", "b 6 n | 1 -> b 3 n"], bad=["b 5 ! SHP110", "b n | 2 ! SHP106"])
def glu(site: Site, input, dim=-1) -> Shape | None:
    """``F.glu(x, dim=-1)``: the dim is halved (it must be even)."""
    return _glu(site, input, dim, "glu")


@module_rule("torch.nn.GLU", init="dim=-1", ok=["init: | b 2*d -> b d"], bad=["init: | b 5 ! SHP110"])
def GLU(site: Site, init: dict, input) -> Shape | None:
    """``nn.GLU(dim=-1)``; see ``F.glu``."""
    return _glu(site, input, init.get("dim", -1), "glu")


# -- complex numbers (rotary embeddings written with them) ----------------------------------------

@shape_rule("torch.polar", "torch.complex", ok=["n d, n d -> n d", "n 1, d -> n d"], bad=["n d, n e ! SHP102"])
def polar(site: Site, abs, angle, *, out=None) -> Shape | None:
    """``torch.polar(abs, angle)`` and ``torch.complex(real, imag)``: one complex number per element of
    the operands' broadcast shape."""
    if not isinstance(abs, Shape) or not isinstance(angle, Shape):
        return None
    return site.broadcast(abs, angle, what="torch.polar")


@shape_rule("torch.view_as_complex", ok=["b n 2 -> b n", "b h n d 2 -> b h n d", "*B 2 -> *B"],
            bad=["b n 3 ! SHP110", "| shape('') ! SHP104"])
def view_as_complex(site: Site, input) -> Shape | None:
    """``torch.view_as_complex(x)``: the last axis, of size 2, pairs the real and imaginary parts, and goes."""
    if not isinstance(input, Shape) or input.is_any:
        return None
    if input.rank == 0:
        site.error("SHP104", "view_as_complex needs a tensor of at least one axis")
        return None
    last = input.dims[-1]
    if isinstance(last, Variadic):
        return None
    if isinstance(last, Expr) and site.unify(last, const(2)) is False:
        site.error("SHP110", f"view_as_complex reads the last axis as (real, imaginary), but its size is "
                             f"{qd(site.resolve(last))}", notes=(site.axis_note(input, len(input.dims) - 1),))
        return None
    ax = axes_any(input)
    return build(ax[:-1]) if input.rank is not None else Shape(input.dims[:-1], input.origins[:-1], None)


@shape_rule("torch.view_as_real", ok=["b n -> b n 2", "*B d -> *B d 2"])
def view_as_real(site: Site, input) -> Shape | None:
    """``torch.view_as_real(z)``: a last axis of size 2 is added, the real and imaginary parts."""
    if not isinstance(input, Shape) or input.is_any:
        return None
    return Shape(input.dims + (const(2),), (input.origins + (None,)) if input.origins else ())


view_as_real.never_fails = True


def _transformed(site: Site, input, n, dim, size_of) -> Shape | None:
    """A Fourier transform along one axis: every other axis kept, the transformed one ``size_of(m)`` of its
    size ``m`` (or of ``n``, where given, which pads or trims the input there first)."""
    if not isinstance(input, Shape) or input.is_any or input.rank == 0:
        return None
    d = locate(site, input, dim)
    if d is None or isinstance(input.dims[d], Variadic):
        return None
    m = as_size(n) if n is not None else input.dims[d]
    if not isinstance(m, Expr):
        size = UNKNOWN
    else:
        size = size_of(m, n is not None)
    dims = list(input.dims)
    dims[d] = size
    origins = list(input.origins) if input.origins else [None] * len(dims)
    origins[d] = None
    return Shape(tuple(dims), tuple(origins))


@shape_rule("torch.fft.fft", "torch.fft.ifft",
            ok=["b 10 -> b 10", "b n | dim=0 -> b n", "b 10 | 16 -> b 16", "b n c | dim=1 -> b n c"],
            bad=["b n | dim=2 ! SHP106"])
def fft(site: Site, input, n=None, dim=-1, norm=None, *, out=None) -> Shape | None:
    """``torch.fft.fft(x, n=None, dim=-1)``: the same shape (complex), ``n`` along ``dim`` where given."""
    return _transformed(site, input, n, dim, lambda m, given: m)


@shape_rule("torch.fft.rfft", "torch.fft.ihfft",
            ok=["b 10 -> b 6", "b 9 -> b 5", "b 10 c | dim=1 -> b 6 c", "b 10 | 16 -> b 9"],
            bad=["b n | dim=-3 ! SHP106"])
def rfft(site: Site, input, n=None, dim=-1, norm=None, *, out=None) -> Shape | None:
    """``torch.fft.rfft(x, n=None, dim=-1)``: the one-sided spectrum, ``m // 2 + 1`` along ``dim``."""
    return _transformed(site, input, n, dim, lambda m, given: m // const(2) + const(1))


@shape_rule("torch.fft.irfft", "torch.fft.hfft",
            ok=["b 6 -> b 10", "b 6 c | dim=1 -> b 10 c", "b 6 | 9 -> b 9"],
            bad=["b n | dim=2 ! SHP106"])
def irfft(site: Site, input, n=None, dim=-1, norm=None, *, out=None) -> Shape | None:
    """``torch.fft.irfft(x, n=None, dim=-1)``: back from a one-sided spectrum of ``m``, ``2 * (m - 1)`` along
    ``dim`` (``n`` where given)."""
    return _transformed(site, input, n, dim, lambda m, given: m if given else (m - const(1)) * const(2))
