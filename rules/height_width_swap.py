"""SHP303 height-width-swap."""

from __future__ import annotations

import ast

import re

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._roles import CHANNEL, CLASS, HEIGHT, WIDTH
from shapecheck._core._algebra import Expr, Sym, sym
from shapecheck._core._shape import Shape, Unknown

from ._common import arg, as_int, assigned_name, axis, dims_text, is_literal, looks_like, name_of, qd, register, who

_PERMUTE = {"torch.Tensor.permute", "torch.permute"}
_TRANSPOSE = {"torch.Tensor.transpose", "torch.transpose", "torch.Tensor.swapaxes", "torch.swapaxes",
              "torch.Tensor.swapdims", "torch.swapdims"}
_REARRANGE = {"einops.rearrange", "einops.layers.torch.Rearrange"}


def _swapped_back(scope, call, i: int, j: int, rank: int | None = None) -> bool:
    """Is the name the permuted tensor is assigned to (``x = x.permute(0, 3, 2, 1)``) permuted again later in the
    function with axes ``i`` and ``j`` exchanged (``x.permute(0, 2, 1, 3)``, ``x.transpose(1, 2)``)?"""
    target = assigned_name(scope, call)
    if target is None:
        return False
    for n in ast.walk(scope):
        if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n is not call
                and n.lineno > call.lineno and n.func.attr in ("permute", "transpose") and not n.keywords):
            continue
        base = n.func.value
        while isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute):
            base = base.func.value
        if not (isinstance(base, ast.Name) and base.id == target):
            continue
        ints = [a.value for a in n.args if isinstance(a, ast.Constant) and type(a.value) is int]
        if len(ints) != len(n.args):
            continue
        if rank is not None and n.func.attr == "permute" and len(ints) != rank:
            continue  # a permute of another rank permutes another tensor (the name rebound by a view)
        if n.func.attr == "transpose" and sorted(ints) == sorted((i, j)):
            return True
        if n.func.attr == "permute" and max(i, j) < len(ints) and ints[i] == j and ints[j] == i:
            return True
    return False


def _perm(ev, x: Shape):
    n = x.rank
    if ev.qualname in _PERMUTE:
        rest = list(ev.args[1:])
        if "dims" in ev.kwargs:
            rest = [ev.kwargs["dims"]]
        if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
            rest = list(rest[0])
        p = [as_int(v) for v in rest]
        if len(p) != n or any(v is None for v in p):
            return None
        p = [v % n for v in p]
        return p if sorted(p) == list(range(n)) else None
    a, b = as_int(arg(ev, 1, "dim0")), as_int(arg(ev, 2, "dim1"))
    if a is None or b is None or not (-n <= a < n and -n <= b < n):
        return None
    p = list(range(n))
    p[a % n], p[b % n] = p[b % n], p[a % n]
    return p


def _unpermuted(ev, x: Shape):
    """The input of a permutation whose rank was unknown (``? ... k``), read back from its result (``? k ? ?``,
    the axes the permutation named): the result's axes in the order they had, roles kept; else ``x``."""
    y = ev.result
    if not isinstance(y, Shape) or y.rank not in (4, 5):
        return x
    p = _perm(ev, y)
    if p is None:
        return x
    dims, origins = [None] * y.rank, [None] * y.rank
    for i, k in enumerate(p):
        dims[k] = y.dims[i]
        origins[k] = y.origins[i] if y.origins else None
    return Shape(tuple(dims), tuple(origins) if y.origins else (), label=x.label)


def _rearrange_names(pattern: str):
    if not isinstance(pattern, str) or "->" not in pattern or "(" in pattern:
        return None
    lhs, rhs = (side.split() for side in pattern.split("->"))
    if sorted(lhs) != sorted(rhs) or len(set(lhs)) != len(lhs):
        return None
    return lhs, rhs


def _find(ctx, x: Shape, role: str, kind: str):
    """The axis that is height (or width): by the role its producer gave it, else by its name."""
    by_role = [i for i in range(x.rank) if ctx.role(x, i) == role]
    if len(by_role) == 1:
        return by_role[0]
    if by_role:
        return None
    named = [i for i in range(x.rank) if ctx.role(x, i) is None and _says(axis(x, i), kind)]
    return named[0] if len(named) == 1 else None


def _one_hot_map(ctx, x: Shape) -> bool:
    """Is ``x`` a label map made one-hot, ``(b, h, w, classes)``: four axes, the last one holding the classes
    ``F.one_hot`` appended, the middle two of no role a producer stated (what the label map held there)?"""
    return x.rank == 4 and ctx.role(x, 3) == CLASS and all(ctx.role(x, i) is None for i in (1, 2))


def _says(d, kind: str) -> bool:
    """Does the axis's name say ``kind``: its own name, or the one height (or width) a size computed from it
    names (``H // 2``, ``W * up + pad``: the same axis resized)?"""
    if looks_like(d, kind):
        return True
    if not isinstance(d, Expr) or d.as_sym() is not None:
        return False
    other = "width" if kind == "height" else "height"
    names = [_atom(s) for s in d.symbols()]
    return sum(looks_like(n, kind) for n in names) == 1 and not any(looks_like(n, other) for n in names)


def _atom(s: Sym) -> Expr:
    return sym(s.name, s.kind)


_HEIGHT_PART = {"h": "w", "height": "width"}
# an element of a pair of sizes whose name says a 2-D grid (``size[0]``, ``self.input_resolution[1]``, ``hw_shape[0]``)
_GRID_ELEMENT = re.compile(r"^(?P<base>(?:self\.)?\w*(?:size|resolution|res|hw|grid|shape))\[(?P<i>[01])\]'*$", re.I)


def _hw_pair(a: str | None, b: str | None) -> bool:
    """Do two sizes' names say height and width of one grid: the same name with its height part turned into
    the width part (``h_px``/``w_px``, ``grid_h``/``grid_w``, ``feat_height``/``feat_width``, ``Hp``/``Wp``)?"""
    if not a or not b or a == b:
        return False
    ea, eb = _GRID_ELEMENT.match(a), _GRID_ELEMENT.match(b)
    if ea or eb:
        # ``size[0]``/``size[1]``: a grid's two sizes, in the order the code keeps them in
        return bool(ea and eb and ea["base"] == eb["base"] and (ea["i"], eb["i"]) == ("0", "1"))
    pa, pb = a.lower().split("_"), b.lower().split("_")
    if len(pa) == len(pb) > 1:
        diff = [(u, v) for u, v in zip(pa, pb) if u != v]
        return len(diff) == 1 and _HEIGHT_PART.get(diff[0][0]) == diff[0][1]
    if len(pa) == len(pb) == 1 and len(a) == len(b) in (2, 3):
        # a short name whose first or last letter says which (``Hp``/``Wp``, ``h0``/``w0``, ``Wh``/``Ww``)
        la, lb = a.lower(), b.lower()
        if la[1:] == lb[1:] and (la[0], lb[0]) == ("h", "w"):
            return la[1:].isdigit() or la[1:] in ("p", "o", "i")
        # ``nh`` counts heads: not a height; ``nH``/``nW`` (capitals) count windows along height and width
        return la[:-1] == lb[:-1] and (la[-1], lb[-1]) == ("h", "w") and (
            la[:-1] not in ("n", "nu") or (a[-1], b[-1]) == ("H", "W"))
    return False


def _named_pair(ctx, x: Shape):
    """The adjacent axes ``(i, i + 1)`` of ``x`` whose names form a height-and-width pair, when exactly one
    pair does and no producer stated another role for them; else None."""
    pairs = [i for i in range(x.rank - 1)
             if (ctx.role(x, i) in (None, HEIGHT) or _counts_windows(axis(x, i)))
             and ctx.role(x, i + 1) in (None, WIDTH)
             and _hw_pair(_pair_name(axis(x, i)), _pair_name(axis(x, i + 1)))]
    return (pairs[0], pairs[0] + 1) if len(pairs) == 1 else None


def _counts_windows(d) -> bool:
    """``nH`` (a capital H): the number of windows along the height, which a name alone may read as a count of
    heads; next to ``nW`` it is the grid's height."""
    return _pair_name(d) == "nH"


def _pair_name(d) -> str | None:
    """The name :func:`_hw_pair` reads: an element of a pair (``self.input_resolution[0]``) whole, else the bare
    name of a one-symbol axis."""
    s = d.as_sym() if isinstance(d, Expr) else None
    if s is not None and _GRID_ELEMENT.match(s.name):
        return s.name
    return name_of(d)


def _axis_text(x: Shape, i: int) -> str:
    d = axis(x, i)
    return qd(d) if d is not None else f"(axis {i})"


_H = re.compile(r"^(h|height|img_h|ih|rows)$", re.I)
_W = re.compile(r"^(w|width|img_w|iw|cols)$", re.I)


@register
class HeightWidthSwap(LintRule):
    """A layout change (`permute`, `transpose`, `rearrange`) that also swaps height and width.

    ## What it does
    Converting between channels-last `(B, H, W, C)` and channels-first `(B, C, H, W)` takes
    `permute(0, 3, 1, 2)` (or `permute(0, 2, 3, 1)` back). `permute(0, 3, 2, 1)` and
    `transpose(1, 3)` also move the channels but reverse the spatial axes, giving `(B, C, W, H)`.
    The rule flags a permutation that moves the channel axis *and* reverses the order of height and
    width. Height and width are known from the axes' producers without annotations (the output of a
    convolution or pooling layer is `(batch, channel, height, width)`, sizes read off it keep those
    roles in a later `view(B, H, W, C)`, and `permute(0, 2, 3, 1)` of a 4-axis tensor converts it to
    channels-last) or from their names (`B, H, W, C = x.shape`, annotations `"b h w c"`, einops
    patterns; also resized: `H // 2`).

    ## Why is this bad?
    The shapes still fit every following layer when images are square, so the network trains on
    transposed images: its filters learn mirrored orientations, pretrained weights see rotated
    inputs, and predictions of boxes or keypoints come out with x and y exchanged. With
    non-square images the error shows up much later, as a size mismatch in an unrelated layer.

    ## Example
    ```python
    B, H, W, C = img.shape
    x = img.permute(0, 3, 2, 1)   # (B, C, W, H)
    ```

    ## Use instead
    ```python
    x = img.permute(0, 3, 1, 2)   # (B, C, H, W)
    ```

    ## Known problems
    Sizes cannot tell height and width apart: where no producer states them they are recognised by
    name (`H`/`W`, or one grid's pair such as `h_px`/`w_px`, `grid_h`/`grid_w`, `Hp`/`Wp`, or the two elements
    of a pair named for a grid, `size[0]`/`size[1]`, `hw_shape[0]`/`hw_shape[1]`, in that order), and a
    `permute(0, 2, 3, 1)` of a tensor that is not channels-first (a spectrogram's time
    and frequency) is taken for a conversion to channels-last. A pure spatial
    transpose (`transpose(2, 3)`, which does not move the channels) is deliberate and not reported;
    so are spectrogram layouts whose axes are named time and frequency. Moving the channels last from a map
    whose height and width are of unknown size (or of one) is not reported: pooled to a point, as text
    convolutions are, the map has nothing to swap.
    """

    code = "SHP303"
    calls = frozenset(_REARRANGE | _PERMUTE | _TRANSPOSE)
    name = "height-width-swap"
    summary = "A permute or transpose that changes the channel layout also swaps height and width"

    VALID = [
        # near miss: ``nh`` (lower case) counts heads, ``nw`` windows: no grid of height and width
        '''
import torch


def heads_first(x):
    B, nh, nw, C = x.shape
    return x.permute(0, 3, 2, 1)
''',
        # near miss: a sub-pixel upsampling that turns height and width on purpose, reshuffles one, and turns back
        '''
import torch
from torch import nn


class DUpsampling(nn.Module):
    def __init__(self, cin: int, cout: int, scale: int = 2):
        super().__init__()
        self.scale = scale
        self.conv = nn.Conv2d(cin, cout * scale * scale, 1)

    def forward(self, x):
        x = self.conv(x)
        n, c, h, w = x.size()
        x = x.permute(0, 3, 2, 1).contiguous()
        x = x.view(n, w, h * self.scale, c // self.scale)
        x = x.permute(0, 2, 1, 3).contiguous()
        x = x.view(n, h * self.scale, w * self.scale, c // (self.scale * self.scale))
        return x.permute(0, 3, 1, 2)
''',
        # near miss: text convolutions pooled to a point (TextCNN): the channels moved last from maps whose height
        # and width the engine cannot tell, one by one, before a flatten
        '''
import torch
from torch import nn


class TextCNN(nn.Module):
    def __init__(self, vocab_size: int, embedding_size: int, num_filters: int, seq_len: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embedding_size)
        self.conv = nn.Conv2d(1, num_filters, (2, embedding_size))
        self.pool = nn.MaxPool2d((seq_len - 1, 1))

    def forward(self, tokens):
        h = torch.relu(self.conv(self.embed(tokens).unsqueeze(1)))
        return self.pool(h).permute(0, 3, 2, 1).flatten(1)
''',
        # near miss: a channels-first map turned for a mixer, the channels into the middle, and turned back: no
        # change between channels-first and channels-last
        '''
import torch
from torch import nn


class PatchMixer(nn.Module):
    def __init__(self, channels: int, patches: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels)
        self.mix = nn.Linear(patches, patches)

    def forward(self, x):
        y = self.norm(x).permute(0, 3, 1, 2)
        return self.mix(y).permute(0, 2, 3, 1)
''',
        # near miss: resized height and width in their order; a size that names both is neither
        '''
import torch


def downsampled_map(x, H: int, W: int):
    B = x.shape[0]
    y = x.reshape(B, H // 2, W // 2, -1).permute(0, 3, 1, 2)
    z = x.reshape(B, H * W // 4, 2, -1).permute(0, 3, 2, 1)
    return y, z
''',
        # near miss: the axes' producers (a convolution, then a channels-last permute) say which is which
        '''
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.fc2(self.fc1(self.norm(y)))
        return x + y.permute(0, 3, 1, 2)
''',
        '''
import torch


def to_channels_first(img):
    B, H, W, C = img.shape
    return img.permute(0, 3, 1, 2)
''',
        # near miss: a deliberate spatial transpose keeps the channels in place
        '''
import torch


def transpose_image(x):
    B, C, H, W = x.shape
    return x.transpose(2, 3)
''',
        # near miss: a spectrogram (batch, time, freq, channels) reordered on purpose
        '''
import torch


def to_cft(spec):
    B, T, F, C = spec.shape
    return spec.permute(0, 3, 2, 1)
''',
        # Swin window partition permutes window and in-window axes, not height and width
        '''
import torch


def window_partition(x, ws: int):
    B, H, W, C = x.shape
    x = x.view(B, H // ws, ws, W // ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, ws, ws, C)
''',
        # a helper called on (B, H, W, d) and on its transpose: its names hold for one call only, and the
        # tiled relative logits (B, H, H, W, W) are no image
        '''
import torch
from helpers import to_2tuple


def rel_logits_1d(q, rel_k, permute_mask):
    B, H, W, dim = q.shape
    x = (q @ rel_k.transpose(-1, -2)).reshape(-1, W, 2 * W - 1)[:, :, W - 1:]
    x = x.reshape(B, H, 1, W, W).expand(-1, -1, H, -1, -1)
    return x.permute(permute_mask)


def rel_logits(q, rel_w, rel_h, feat_size):
    B, HW, _ = q.shape
    height, width = to_2tuple(feat_size)
    q = q.reshape(B, height, width, -1)
    w = rel_logits_1d(q, rel_w, permute_mask=(0, 1, 3, 2, 4))
    h = rel_logits_1d(q.transpose(1, 2), rel_h, permute_mask=(0, 3, 1, 4, 2))
    return w + h
''',
        # near miss: names of one grid in the right order; and a pair that is no height and width (heads)
        '''
import torch


def tokens_to_map(x, grid_h: int, grid_w: int, nh: int, nw: int):
    y = x.reshape(x.shape[0], grid_h, grid_w, -1).permute(0, 3, 1, 2)
    z = x.reshape(x.shape[0], nh, nw, -1).permute(0, 3, 2, 1)
    return y, z
''',
        # near miss: one size under two names is a square grid, whose axes no permute can tell apart
        '''
import torch


def to_map(y, n: int):
    H = W = int(n ** 0.5)
    return y.reshape(y.shape[0], H, W, -1).permute(0, 3, 2, 1)
''',
        # near miss: a norm whose name does not say it keeps the shape (an l2 norm may reduce) hides the layout
        # (the channels moved last by ``movedim``: no round trip of two permutes, which SHP308 reads from the code)
        '''
import torch
from kernels import fused_l2_norm


def norm2d(x, w):
    x = x.movedim(1, -1)
    x = fused_l2_norm(x, w)
    return x.permute(0, 3, 2, 1)
''',
        # near miss: a grid's pair of sizes given in its order and permuted in it, or given reversed on purpose;
        # a pair whose name says no grid
        '''
import torch


def to_map(x, hw_shape):
    B, L, C = x.shape
    return x.reshape(B, hw_shape[0], hw_shape[1], C).permute(0, 3, 1, 2)


def to_map_transposed(x, size):
    B, L, C = x.shape
    return x.reshape(B, size[1], size[0], C).permute(0, 3, 2, 1)


def to_pairs(x, pair):
    B, L, C = x.shape
    return x.reshape(B, pair[0], pair[1], C).permute(0, 3, 2, 1)
''',
    ]
    INVALID = [
        # window counts along height and width (``nH``, ``nW``), the channels moved first
        '''
import torch


def windows_first(x):
    B, nH, nW, C = x.shape
    return x.permute(0, 3, 2, 1)
''',
        # a height and width resized (``H // 2``) keep their names
        '''
import torch


def downsampled_map(x, H: int, W: int):
    B = x.shape[0]
    return x.reshape(B, H // 2, W // 2, -1).permute(0, 3, 2, 1)
''',
        # a round trip around a pooling: reported here once, not again as SHP308 for the pair
        '''
import torch
import torch.nn.functional as F


def pool_tokens(x):
    B, H, W, C = x.shape
    return F.avg_pool2d(x.permute(0, 3, 2, 1), 2).permute(0, 2, 3, 1)
''',
        # sizes read off a convolution's output are its height and width, whatever their names
        '''
import torch
from torch import nn


class Down(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, stride=2)
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        x = self.conv(x)
        n, c, y, z = x.shape
        x = self.fc(x.flatten(2).transpose(1, 2))
        return x.view(n, y, z, c).permute(0, 3, 2, 1)
''',
        # sizes read by a slice of the shape (``H, W = x.shape[-2:]``) name the axes, as unpacking does
        '''
import torch


def tokens_to_map(x):
    H, W = x.shape[-2:]
    t = x.flatten(2).transpose(1, 2)
    return t.reshape(-1, H, W, t.shape[-1]).permute(0, 3, 2, 1)
''',
        # sizes from a call the engine cannot follow keep the names of their variables
        '''
import torch
from helpers import feat_size


def to_map(y, img):
    H, W = feat_size(img)
    return y.reshape(y.shape[0], H, W, -1).permute(0, 3, 2, 1)
''',
        # names given again by a second stage are still height and width (the engine calls them H', W')
        '''
import torch
from helpers import embed


def two_stages(x):
    B = x.shape[0]
    x, H, W = embed(x)
    x = x.reshape(B, H, W, -1).permute(0, 3, 1, 2)
    x, H, W = embed(x)
    return x.reshape(B, H, W, -1).permute(0, 3, 2, 1)
''',
        # the names of one grid's height and width
        '''
import torch


def tokens_to_map(x, h_px: int, w_px: int):
    return x.reshape(x.shape[0], h_px, w_px, -1).permute(0, 3, 2, 1)
''',
        # a fused layer-norm kernel of another package keeps the channels-last layout
        '''
import torch
from apex.normalization.fused_layer_norm import fused_rms_norm_affine


def rms_norm2d(x, weight, shape, eps: float):
    x = x.permute(0, 2, 3, 1)
    x = fused_rms_norm_affine(x, weight, shape, eps)
    return x.permute(0, 3, 2, 1)
''',
        # unannotated: the convolution says (batch, channel, height, width), the permute keeps the roles
        '''
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.fc2(self.fc1(self.norm(y)))
        return x + y.permute(0, 3, 2, 1)
''',
        '''
import torch
from torch import nn


class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 64, 4, stride=4)
        self.norm = nn.LayerNorm(64)

    def forward(self, img):
        n, k, y, x = img.shape  # names that say nothing to this rule: the roles decide
        return self.norm(self.conv(img).transpose(1, 3))
''',
        '''
import torch


def to_channels_first(img):
    B, H, W, C = img.shape
    return img.permute(0, 3, 2, 1)
''',
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def to_channels_first(img: Float[Tensor, "b h w c"]):
    return img.transpose(1, 3)
''',
        '''
import torch
from einops.layers.torch import Rearrange
from torch import Tensor, nn
from jaxtyping import Float


class ToChannelsFirst(nn.Module):
    def __init__(self):
        super().__init__()
        self.to_cf = Rearrange("b h w c -> b c w h")

    def forward(self, img: Float[Tensor, "b h w c"]):
        return self.to_cf(img)
''',
        # the two elements of a grid's size (a pair the engine cannot read), in the order the code keeps them
        '''
import torch


def to_map(x, hw_shape):
    B, L, C = x.shape
    return x.reshape(B, hw_shape[0], hw_shape[1], C).permute(0, 3, 2, 1)
''',
        '''
import torch
import torch.nn.functional as F


def resize_pos_embed(posemb, old_size, new_size):
    posemb = posemb.reshape(1, old_size[0], old_size[1], -1).permute(0, 3, 2, 1)
    return F.interpolate(posemb, size=new_size, mode="bicubic")
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        q = ev.qualname
        if q in _REARRANGE:
            self._rearrange(ev, ctx)
            return
        if q not in _PERMUTE and q not in _TRANSPOSE:
            return
        x = ev.args[0] if ev.args else None
        if isinstance(x, Shape) and x.rank is None and q in _PERMUTE:
            x = _unpermuted(ev, x)  # ``c.squeeze(1).permute(0, 3, 1, 2)``: the permutation fixes the rank
        if not isinstance(x, Shape) or x.rank not in (4, 5):
            return
        p = _perm(ev, x)
        if p is None:
            return
        hi = _find(ctx, x, HEIGHT, "height")
        wi = _find(ctx, x, WIDTH, "width")
        if hi is None or wi is None:
            hi, wi = _named_pair(ctx, x) or (hi, wi)
        one_hot = False
        if (hi is None or wi is None) and _one_hot_map(ctx, x):
            hi, wi, one_hot = 1, 2, True  # a one-hot label map (b, h, w, classes): its middle axes are the image's
        if hi is None or wi is None or wi != hi + 1:
            return  # an image layout keeps height just before width; other tensors are not images
        others = [i for i in range(1, x.rank) if i not in (hi, wi)]
        if p[-1] in others and p[-1] < hi and all(
                isinstance(x.dims[i], Unknown) or is_literal(x.dims[i]) and ctx.resolve(x.dims[i]).value == 1
                for i in (hi, wi)):
            return  # channels moved last from a map whose height and width nobody knows, or are one: a map pooled to a
            # point (TextCNN's (k, 1) max-pool over a width-one convolution) has no data to swap
        moved = any(p.index(i) != i for i in others)
        flipped = (hi < wi) != (p.index(hi) < p.index(wi))
        if not (moved and flipped) or p[0] != 0:
            return
        channels = [i for i in others if ctx.role(x, i) == CHANNEL]
        if len(channels) == 1 and p.index(channels[0]) not in (1, x.rank - 1):
            return  # the channels moved into the middle: no change of layout (a mixer's turn, undone later)
        if _swapped_back(ctx.scope, ev.node, p.index(hi), p.index(wi), x.rank):
            return  # height and width turned on purpose, and back later (a sub-pixel reshuffle of one of them)
        fixed = sorted([hi, wi])
        good = [i for i in p]
        a, b = good.index(hi), good.index(wi)
        good[min(a, b)], good[max(a, b)] = fixed
        call = "permute" if q in _PERMUTE else "transpose"
        into = f" into {dims_text(ctx, ev.result, ev.node)}" if isinstance(ev.result, Shape) else ""
        ctx.report(
            self.code, ev.node,
            f"`{call}` turns {who(x, 'the input')} {dims_text(ctx, x, ev.node)}{into}: "
            f"height {_axis_text(x, hi)} and width {_axis_text(x, wi)} are swapped",
            notes=("moving the channels must keep height before width",
                   "the last axis holds the classes `one_hot` appended to a label map: the two before it are the "
                   "map's height and width" if one_hot else ""),
            help=f"use `.permute({', '.join(map(str, good))})`",
        )

    def _rearrange(self, ev, ctx):
        pattern = (ev.init or {}).get("pattern") if ev.qualname.endswith("Rearrange") else arg(ev, 1, "pattern")
        names = _rearrange_names(pattern)
        if names is None:
            return
        lhs, rhs = names
        hs = [t for t in lhs if _H.match(t)]
        ws = [t for t in lhs if _W.match(t)]
        if len(hs) != 1 or len(ws) != 1:
            return
        h, w = hs[0], ws[0]
        others = [t for t in lhs[1:] if t not in (h, w)]
        moved = any(lhs.index(t) != rhs.index(t) for t in others)
        flipped = (lhs.index(h) < lhs.index(w)) != (rhs.index(h) < rhs.index(w))
        if moved and flipped:
            ctx.report(
                self.code, ev.node,
                f"`rearrange` pattern \"{' '.join(lhs)} -> {' '.join(rhs)}\" swaps height \"{h}\" and width \"{w}\"",
                notes=("moving the channels must keep height before width",),
                help="keep the spatial order: \"" + " ".join(lhs) + " -> " +
                     " ".join(w if t == h else h if t == w else t for t in rhs) + "\"",
            )
