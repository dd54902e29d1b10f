"""SHP308 layout-round-trip-swap."""

from __future__ import annotations

import ast

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import CHANNEL_LAYERS, ELEMENTWISE, arg, as_int, axis, carry, dims_text, eq, looks_like, register, who
from .height_width_swap import _PERMUTE, _TRANSPOSE, _find, _perm
from shapecheck._core._roles import HEIGHT, WIDTH

# (perm, node, source shape, (layer, axis it read) or None, call text) on the result of a permute and on what keeps
# its axes in place after it
TRIP = "layout_trip"

_F = "torch.nn.functional."
# layers that read axis 1 as channels and the axes after it as space: a permute to channels-first is made for them
_CHANNELS_FIRST = frozenset(
    CHANNEL_LAYERS
    | {f"torch.nn.ConvTranspose{n}d" for n in (1, 2, 3)} | {f"{_F}conv_transpose{n}d" for n in (1, 2, 3)}
    | {f"torch.nn.InstanceNorm{n}d" for n in (1, 2, 3)}
    | {f"{_F}{k}" for k in ("interpolate", "upsample", "group_norm", "batch_norm", "instance_norm")}
    | {"torch.nn.Upsample", "torch.nn.UpsamplingBilinear2d", "torch.nn.UpsamplingNearest2d"})
# layers that read the last axis: a permute to channels-last is made for them
_CHANNELS_LAST = frozenset({"torch.nn.Linear", f"{_F}linear", "torch.nn.LayerNorm", f"{_F}layer_norm",
                            "torch.nn.RMSNorm", f"{_F}rms_norm"})
# what keeps every axis where it is, reading none of them
_ACTIVATIONS = frozenset(
    {f"torch.nn.{k}" for k in ("ReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "LeakyReLU", "ELU", "Mish", "Hardswish",
                               "Identity", "Dropout2d")}
    | {f"{_F}{k}" for k in ("relu", "gelu", "silu", "sigmoid", "tanh", "leaky_relu", "elu", "mish", "hardswish")}
    | {f"torch.{k}" for k in ("relu", "sigmoid", "tanh")} | {f"torch.Tensor.{k}" for k in ("relu", "sigmoid", "tanh")})

_FLATTEN = frozenset({"torch.Tensor.flatten", "torch.flatten"})

_TIME = ("t", "time", "frames", "n_frames", "num_frames", "seq", "seq_len", "length", "steps")
_FREQ = ("f", "freq", "freqs", "n_freq", "n_mels", "mels", "n_fft", "bins", "frequency")


def _display(q: str) -> str:
    head, _, last = q.rpartition(".")
    return f"F.{last}" if head == "torch.nn.functional" else f"nn.{last}" if head == "torch.nn" else last


def _call_text(ev) -> str:
    name = ev.qualname.rsplit(".", 1)[-1]
    if name == "permute":
        return f"permute({', '.join(map(str, _perm_args(ev)))})"
    return f"{name}({', '.join(str(a) for a in ev.args[1:3])})"


def _perm_args(ev):
    rest = list(ev.args[1:])
    if "dims" in ev.kwargs:
        rest = [ev.kwargs["dims"]]
    if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
        rest = list(rest[0])
    return rest


def _time_or_freq(d) -> bool:
    n = None if d is None else getattr(d, "as_sym", lambda: None)()
    name = getattr(n, "name", None) if n is not None else None
    return isinstance(name, str) and name.lower().rsplit(".", 1)[-1] in _TIME + _FREQ


@register
class LayoutRoundTripSwap(LintRule):
    """A permute into another layout and the permute back that do not undo each other.

    ## What it does
    Code converts a tensor to the layout a layer needs and back: `x.permute(0, 3, 1, 2)` before a
    convolution or `F.interpolate` and `.permute(0, 2, 3, 1)` after it, or `attn.permute(0, 2, 3, 1)`
    before a `Linear` over the heads and `.permute(0, 3, 1, 2)` after it. The rule follows the result
    of a permute through the layer it was made for (and through activations and elementwise ops) to
    the next permute, and flags the pair when together they swap two axes other than the one the
    layer read: the two spatial axes the layer took as height and width, or two axes of one size (a
    square grid, a square attention map). The permute that reverses the order of the two axes is
    the one reported. A grid flattened back into positions after the layer (`.flatten(2)`) is a way
    back too: its height and width must merge in the order they were split in. Where layers the
    engine cannot follow (imported from another file) lose the shape between the two, the round trip
    is read from the code: `x = x.permute(...)` (or `x` made by a permute of another tensor), then only the
    module's own layers (also applied in a loop over them, `for blk in self.blocks: x = blk(x)`), other
    callables of the code given `x` first whose names say nothing of a layout (`simple_norm(x, shape, w)`,
    `model(x)`, `torch.clamp(x, 0, 1)`; not one the caller gives, such as a parameter or a loop over one) and
    elementwise arithmetic on `x`, also into another name (`out = torch.clamp(model(patch), 0, 1)`), then
    `.permute(...)` (also written in one expression, or under two branches of one test).

    ## Why is this bad?
    The shapes fit whenever the two axes have the same size (a square position-embedding grid,
    `(batch, heads, seq, seq)` attention scores), so nothing fails: position embeddings come back
    transposed, attention weights are normalised over queries instead of keys, images come out
    mirrored along their diagonal.

    ## Example
    ```python
    grid = tokens.reshape(-1, size, size, dim).permute(0, 3, 2, 1)
    grid = F.interpolate(grid, size=(new, new), mode="bicubic")
    tokens = grid.permute(0, 2, 3, 1).flatten(1, 2)
    ```

    ## Use instead
    ```python
    grid = tokens.reshape(-1, size, size, dim).permute(0, 3, 1, 2)
    ```

    ## Known problems
    A round trip meant to transpose on purpose is reported too; spectrograms whose axes are named
    time and frequency are not. Read from the code, the layers between the permutes are taken to keep
    the axes where they are: a layer of the module that transposes them itself is not seen.
    """

    code = "SHP308"
    name = "layout-round-trip-swap"
    summary = "A permute into another layout and the permute back swap two axes"

    calls = frozenset(_PERMUTE | _TRANSPOSE | _CHANNELS_FIRST | _CHANNELS_LAST | _ACTIVATIONS | ELEMENTWISE | _FLATTEN)

    VALID = [
        # near miss: what the image goes through between the permutes is named for a change of layout
        '''
import torch
from helpers import to_hwc_grid

def restore(img, model):
    patch = torch.from_numpy(img).unsqueeze(0).permute(0, 3, 1, 2)
    out = to_hwc_grid(patch)
    return out.permute(0, 2, 1, 3)
''',
        # the round trip around an interpolation that undoes itself
        '''
import torch
import torch.nn.functional as F


def resize_pos_embed(pos, size: int, new: int):
    grid = pos.reshape(-1, size, size, pos.shape[-1]).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new, new), mode="bicubic")
    return grid.permute(0, 2, 3, 1).flatten(1, 2)
''',
        # near miss: the permutes swap two axes, but no layer between them read the layout they made
        '''
import torch


def swap(x):
    B, N, C = x.shape
    y = x.reshape(B, N, N, -1).permute(0, 3, 2, 1)
    return (y * 2).permute(0, 2, 3, 1)
''',
        # near miss: the two swapped axes (queries and keys of another length) differ in size
        '''
import torch
from torch import nn


class CrossTalk(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.mix = nn.Linear(heads, heads)

    def forward(self, x, ctx):
        B, N, C = x.shape
        M = ctx.shape[1]
        q = self.q(x).reshape(B, N, self.heads, C // self.heads).transpose(1, 2)
        k = self.k(ctx).reshape(B, M, self.heads, C // self.heads).transpose(1, 2)
        attn = q @ k.transpose(-2, -1)
        return self.mix(attn.permute(0, 2, 3, 1)).permute(0, 3, 2, 1)
''',
        # near miss: a spectrogram turned from (batch, freq, time, channel) to (batch, time, freq, channel)
        '''
import torch
from torch import nn


class Spec(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        b, freq, time, c = x.shape
        y = self.conv(x.permute(0, 3, 2, 1))
        return y.permute(0, 2, 3, 1)
''',
        # near miss: the code's own round trip around layers the engine cannot follow, undone
        '''
import torch
from torch import nn
from timm.layers import LayerNorm, Mlp


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x):
        shortcut = x
        x = self.conv_dw(x)
        x = x.permute(0, 2, 3, 1)
        x = self.mlp(self.norm(x))
        x = x.permute(0, 3, 1, 2)
        return x + shortcut
''',
        # near miss: a function of the file's between the permutes may change the layout (windows)
        '''
import torch
from torch import nn
from helpers import window_partition, window_reverse


class Stage(nn.Module):
    def __init__(self, attn):
        super().__init__()
        self.attn = attn

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = window_partition(x, 7)
        x = self.attn(x)
        x = window_reverse(x, 7)
        return x.permute(0, 3, 2, 1)
''',
        # near miss: the two permutes are under different tests, which need not hold together
        '''
import torch
from torch import nn
from blocks import GridAttention


class Stage(nn.Module):
    def __init__(self, dim: int, nhwc_in: bool, nchw_out: bool):
        super().__init__()
        self.nhwc_in = nhwc_in
        self.nchw_out = nchw_out
        self.attn = GridAttention(dim)

    def forward(self, x):
        if not self.nhwc_in:
            x = x.permute(0, 2, 3, 1)
        x = self.attn(x)
        if self.nchw_out:
            x = x.permute(0, 3, 2, 1)
        return x
''',
        # near miss: tokens split into a grid, convolved and flattened back in their order
        '''
import torch
from torch import nn


class PosConv(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)

    def forward(self, x, size: int):
        B, N, C = x.shape
        grid = x.reshape(B, size, size, C).permute(0, 3, 1, 2)
        return x + self.proj(grid).flatten(2).transpose(1, 2)
''',
        # near miss: the module's own blocks applied in a loop between a round trip that undoes itself; callables
        # given from outside, which may change the layout, between two that do not
        '''
import torch
from torch import nn
from blocks import Block


class Stage(nn.Module):
    def __init__(self, dim: int, depth: int):
        super().__init__()
        self.blocks = nn.ModuleList([Block(dim) for _ in range(depth)])

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        for blk in self.blocks:
            x = blk(x)
        return x.permute(0, 3, 1, 2)


def run(x, blocks):
    x = x.permute(0, 2, 3, 1)
    for blk in blocks:
        x = blk(x)
    return x.permute(0, 3, 2, 1)
''',
    ]
    INVALID = [
        # Restormer's test script: an image made channels-first for a model imported from another file, its output
        # clamped and made channels-last with a permute that is not the inverse of the first
        '''
import torch
from basicsr.models.archs.restormer_arch import Restormer

model = Restormer()


def restore(img):
    patch = torch.from_numpy(img).unsqueeze(0).permute(0, 3, 2, 1)
    out = torch.clamp(model(patch), 0, 1)
    return out.permute(0, 2, 3, 1).squeeze(0).numpy()
''',
        # a square grid of position embeddings comes back transposed
        '''
import torch
import torch.nn.functional as F


def resize_pos_embed(pos, size: int, new: int):
    grid = pos.reshape(-1, size, size, pos.shape[-1]).permute(0, 3, 2, 1)
    grid = F.interpolate(grid, size=(new, new), mode="bicubic")
    return grid.permute(0, 2, 3, 1).flatten(1, 2)
''',
        # sizes from a call the engine cannot follow: the interpolation says they are height and width
        '''
import math
import torch
from torch import nn


def resize(pos, dim, scale):
    n = pos.shape[1]
    grid = pos.reshape(1, int(math.sqrt(n)), int(math.sqrt(n)), dim).permute(0, 3, 2, 1)
    grid = nn.functional.interpolate(grid, scale_factor=scale, mode="bicubic")
    return grid.permute(0, 2, 3, 1).reshape(1, -1, dim)
''',
        # a Linear over the heads of square attention scores: the way back transposes every map
        '''
import torch
from torch import nn


class TalkingHeads(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.mix = nn.Linear(heads, heads)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        attn = self.mix(attn.permute(0, 2, 3, 1)).permute(0, 3, 2, 1)
        return attn.softmax(dim=-1) @ v
''',
        # the round trip in one expression, around a block of the file's own the engine cannot follow
        '''
import torch
from torch import nn


class Bottleneck(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.a = nn.Conv2d(dim, dim // 2, 1)
        self.b = nn.Conv2d(dim // 2, dim, 3, padding=1)

    def forward(self, x):
        out = x
        for layer in self.children():
            out = layer(out)
        return x + out


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.residual = Bottleneck(dim)

    def forward(self, x):
        return self.residual(x.permute(0, 3, 2, 1)).permute(0, 2, 3, 1)
''',
        # tokens split into a grid, convolved, and flattened back with height and width reversed
        '''
import torch
from torch import nn


class PosConv(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)

    def forward(self, x, size: int):
        B, N, C = x.shape
        grid = x.reshape(B, size, size, C).permute(0, 3, 2, 1)
        return x + self.proj(grid).flatten(2).transpose(1, 2)
''',
        # a layout changed under a test and changed back under the same test
        '''
import torch
from torch import nn
from blocks import GridAttention


class Stage(nn.Module):
    def __init__(self, dim: int, nchw: bool):
        super().__init__()
        self.nchw = nchw
        self.attn = GridAttention(dim)

    def forward(self, x):
        if not self.nchw:
            x = x.permute(0, 2, 3, 1)
        x = self.attn(x)
        if not self.nchw:
            x = x.permute(0, 3, 2, 1)
        return x
''',
        # layers imported from another file lose the shape, not the round trip the code writes
        '''
import torch
from torch import nn
from timm.layers import LayerNorm, Mlp


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        shortcut = x
        x = self.conv_dw(x)
        x = x.permute(0, 2, 3, 1)
        x = self.norm(x)
        if self.gamma is not None:
            x = self.gamma * self.mlp(x)
        x = x.permute(0, 3, 2, 1)
        return x + shortcut
''',
        # the module's own blocks (of another file) applied in a loop: each is given what the one before gave back
        '''
import torch
from torch import nn
from blocks import Block


class Stage(nn.Module):
    def __init__(self, dim: int, depth: int):
        super().__init__()
        self.blocks = nn.ModuleList([Block(dim) for _ in range(depth)])

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        for blk in self.blocks:
            x = blk(x)
        return x.permute(0, 3, 2, 1)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        q = ev.qualname
        if q in ELEMENTWISE:
            carry(ev, ctx, (TRIP,))
            return
        x = arg(ev, 0, "input")
        if q in _PERMUTE and isinstance(x, Shape) and x.rank in (None, 4) and ctx.scope is not None \
                and isinstance(ev.result, Shape) and ev.result.rank == 4 \
                and (x.get_meta(TRIP) is None or x.get_meta(TRIP)[3] is None):
            p = _literal_perm(ev, 4)
            if p is not None:
                self._check_code(ev, ctx, p)  # what the engine lost between two permutes, the code still says
        if not isinstance(x, Shape) or x.rank is None or not isinstance(ev.result, Shape):
            return
        t = x.get_meta(TRIP)
        if q in _PERMUTE or q in _TRANSPOSE:
            p = _perm(ev, x)
            if p is None:
                return
            if t is not None and len(t[0]) == x.rank and t[3] is not None:
                self._check(ev, ctx, t, p)
            ctx.tag_result(TRIP, (tuple(p), ev.node, x, None, _call_text(ev)))
            return
        if q in _FLATTEN:
            if t is not None and t[3] is not None and len(t[0]) == x.rank == 4:
                self._check_flatten(ev, ctx, x, t)
            return
        if t is None or ev.result.rank != x.rank or len(t[0]) != x.rank:
            return
        if q in _ACTIVATIONS:
            ctx.tag_result(TRIP, t)
            return
        if q not in _CHANNELS_FIRST and q not in _CHANNELS_LAST:
            return
        read = 1 if q in _CHANNELS_FIRST else x.rank - 1
        if t[3] is None and t[0][read] == read:
            return  # the permute did not bring this layer's axis into place: not made for it
        ctx.tag_result(TRIP, t if t[3] is not None else (t[0], t[1], t[2], (q, read), t[4]))

    def _check_flatten(self, ev, ctx, x: Shape, t) -> None:
        """``grid.reshape(B, H, W, C).permute(0, 3, 2, 1)``, a convolution or interpolation, then ``.flatten(2)``:
        the spatial axes merge back into tokens in the reverse of the order they were split in."""
        p1, node1, src, (layer, read), text1 = t
        start, end = as_int(arg(ev, 1, "start_dim", 0)), as_int(arg(ev, 2, "end_dim", -1))
        if start is None or end is None or start % 4 != 2 or end % 4 != 3 or layer not in _CHANNELS_FIRST:
            return
        a, b = p1[2], p1[3]
        if a < b or a - b != 1 or 0 in (a, b) or p1[read] in (a, b):
            return  # the two merged in their order, or axes that were never neighbours
        if _time_or_freq(axis(src, a)) or _time_or_freq(axis(src, b)) \
                or any(looks_like(d, "seq") for d in (axis(src, a), axis(src, b)) if d is not None):
            return
        good = [a if w == b else b if w == a else w for w in p1]
        ctx.report(
            self.code, node1,
            f"`{text1}` and the `flatten({start}, {end})` at line {getattr(ev.node, 'lineno', '?')} around "
            f"`{_display(layer)}` merge axes {b} and {a} of {who(src, 'the input')} {dims_text(ctx, src)} in the "
            f"reverse of their order: the positions come back transposed",
            notes=(f"`{_display(layer)}` reads height and width in the order the permute gives them; flattening "
                   f"them keeps that order",),
            help=f"use `.permute({', '.join(map(str, good))})`",
        )

    def _check(self, ev, ctx, t, p2) -> None:
        p1, node1, src, (layer, read), text1 = t
        n = len(p1)
        comp = [p1[p2[k]] for k in range(n)]
        moved = [k for k in range(n) if comp[k] != k]
        if len(moved) != 2:
            return
        i, j = moved
        if p1[read] in (i, j):
            return  # the layer's own axis is one of the two: another layout, not a round trip
        a, b = axis(src, i), axis(src, j)
        spatial = layer in _CHANNELS_FIRST and n == 4 and {p1.index(i), p1.index(j)} == {2, 3}
        if spatial and (_time_or_freq(a) or _time_or_freq(b)
                        or any(looks_like(d, "seq") for d in (a, b) if d is not None)):
            return  # a spectrogram's time and frequency may be swapped on purpose
        if not spatial and not eq(ctx, a, b):
            return
        first_flips = (p1.index(i) < p1.index(j)) != (i < j)
        if _height_width_swap_said(ctx, ev.args[0], first_flips):
            return
        here, there = (node1, ev.node) if first_flips else (ev.node, node1)
        bad, other = (text1, _call_text(ev)) if first_flips else (_call_text(ev), text1)
        if first_flips:
            good = [j if v == i else i if v == j else v for v in p1]
        else:
            u, w = p1.index(i), p1.index(j)
            good = [w if v == u else u if v == w else v for v in p2]
        what = "height and width" if spatial else "two axes of one size"
        ctx.report(
            self.code, here,
            f"`{bad}` and the `{other}` at line "
            f"{getattr(there, 'lineno', '?')} around `{_display(layer)}` do not undo each other: axes {i} and {j} "
            f"of {who(src, 'the input')} {dims_text(ctx, src)} come back swapped",
            notes=(f"the {what} of the layout `{_display(layer)}` reads keep their order only if one permute "
                   f"is the inverse of the other",),
            help=f"use `.permute({', '.join(map(str, good))})`",
        )

    def _check_code(self, ev, ctx, p2) -> None:
        """``x = x.permute(0, 2, 3, 1)``, then only the module's own layers applied to ``x`` (``x = self.norm(x)``,
        ``x = self.mlp(x)``, ``x = self.gamma * x``), then ``x.permute(0, 3, 2, 1)``: layers the engine cannot
        follow (imported from another file) lose the shape, not the round trip the code writes."""
        f = ev.node.func if isinstance(ev.node, ast.Call) else None
        if not isinstance(f, ast.Attribute):
            return
        receiver = f.value
        if isinstance(receiver, ast.Call):
            # ``self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)``: the round trip in one expression
            layers: list = []
            receiver = _through_layers(receiver, layers)
            found = _literal_permute(receiver)
            if found is not None and layers:
                self._code_pair(ev, ctx, found, p2, layers[0])
            if found is not None or layers:
                return
            # ``restored.cpu().detach().permute(0, 2, 3, 1)``: the variable, read on from where it was made
        if not isinstance(receiver, ast.Name):
            return
        v = receiver.id
        path = _stmt_path(getattr(ctx.scope, "body", []), ev.node)
        if not path:
            return
        layers = []
        given = _caller_given(ctx.scope)
        for body, k in reversed(path):
            holder = body[k]
            for st in reversed(_inline_with(body[:k])):
                found = _permute_of(st, v) or _same_test_permute(st, holder, v, layers, given)
                if found is not None:
                    if layers:
                        self._code_pair(ev, ctx, found, p2, layers[-1])
                    return
                before = _renamed_from(st, v, layers, given)
                if before is not None:
                    v = before
                    continue
                if not _keeps_layout(st, v, layers, given):
                    return

    def _code_pair(self, ev, ctx, found, p2, layer: str) -> None:
        node1, p1 = found
        comp = [p1[p2[k]] for k in range(4)]
        moved = [k for k in range(4) if comp[k] != k]
        if len(moved) != 2 or 0 in moved or p1[0] != 0:
            return
        i, j = moved
        if all(p1[k] in (k, i, j) for k in range(4)):
            return  # the first permute moves no other axis: a transpose on purpose, not a change of layout
        first_flips = (p1.index(i) < p1.index(j)) != (i < j)
        if _height_width_swap_said(ctx, ev.args[0], first_flips):
            return
        here, there = (node1, ev.node) if first_flips else (ev.node, node1)
        text1, text2 = f"permute({', '.join(map(str, p1))})", _call_text(ev)
        bad, other = (text1, text2) if first_flips else (text2, text1)
        if first_flips:
            good = [j if w == i else i if w == j else w for w in p1]
        else:
            u, w2 = p1.index(i), p1.index(j)
            good = [w2 if w == u else u if w == w2 else w for w in p2]
        ctx.report(
            self.code, here,
            f"`{bad}` and the `{other}` at line {getattr(there, 'lineno', '?')} around `{layer}` do not undo each "
            f"other: axes {i} and {j} come back swapped",
            notes=("a layout changed for a layer and changed back keeps the other axes in their order only if one "
                   "permute is the inverse of the other",),
            help=f"use `.permute({', '.join(map(str, good))})`",
        )


def _height_width_swap_said(ctx, x, first_flips: bool) -> bool:
    """Did SHP303 report the first permute, or will it report the second (the axes' roles say height and
    width)? One bug, one report."""
    if "SHP303" in (x.get_meta("after_error") or ()):
        return True
    return not first_flips and x.rank == 4 and _find(ctx, x, HEIGHT, "height") is not None \
        and _find(ctx, x, WIDTH, "width") is not None


def _same_test_permute(st, holder, v: str, layers: list, given: frozenset = frozenset()):
    """``if not self.nchw: x = x.permute(0, 2, 3, 1)`` ... ``if not self.nchw: x = x.permute(0, 3, 1, 2)``: the
    permute that ends an earlier branch of the same test as the branch holding the second one (no ``else``)."""
    if not (isinstance(st, ast.If) and isinstance(holder, ast.If) and not st.orelse and not holder.orelse
            and ast.dump(st.test) == ast.dump(holder.test)):
        return None
    if any(isinstance(n, (ast.Call, ast.NamedExpr)) for n in ast.walk(st.test)):
        return None  # a test that may change its answer
    for i in range(len(st.body) - 1, -1, -1):
        found = _permute_of(st.body[i], v)
        if found is not None:
            return found if all(_keeps_layout(t, v, layers, given) for t in st.body[i + 1:]) else None
    return None


def _literal_perm(ev, n: int):
    """The permutation a ``permute`` call spells with ``n`` literal indices, or None."""
    rest = _perm_args(ev)
    p = [as_int(a) for a in rest]
    if len(p) != n or any(a is None for a in p):
        return None
    p = [a % n for a in p]
    return p if sorted(p) == list(range(n)) else None


def _inline_with(stmts) -> list:
    """The statements with each ``with`` block's body written in its place (a context manager such as
    ``torch.no_grad()`` changes nothing of the order the statements run in)."""
    out = []
    for st in stmts:
        if isinstance(st, (ast.With, ast.AsyncWith)) and not any(i.optional_vars is not None for i in st.items):
            out.extend(_inline_with(st.body))
        else:
            out.append(st)
    return out


def _stmt_path(body, target) -> list | None:
    """``[(statement list, index), ...]`` from a function's body down to the statement holding ``target``."""
    line = getattr(target, "lineno", None)
    if line is None:
        return None
    for k, st in enumerate(body):
        if not st.lineno <= line <= (st.end_lineno or st.lineno) or isinstance(st, (ast.FunctionDef, ast.ClassDef,
                                                                                    ast.AsyncFunctionDef)):
            continue
        if not any(n is target for n in ast.walk(st)):
            continue
        subs = [getattr(st, name, None) for name in ("body", "orelse", "finalbody")]
        subs += [h.body for h in getattr(st, "handlers", [])]
        subs = [b for b in subs if isinstance(b, list) and b and isinstance(b[0], ast.stmt)]
        for sub in subs:
            inner = _stmt_path(sub, target)
            if inner:
                return [(body, k)] + inner
        return None if subs else [(body, k)]  # (in a compound statement's test or header: not followed)
    return None


_KEEP_METHODS = frozenset({"contiguous", "float", "half", "to", "clone", "detach", "type_as", "mul", "add", "div",
                           "mul_", "add_", "clamp", "cpu", "cuda"})


def _permute_of(st, v: str):
    """``(call, permutation)`` when ``st`` is ``v = v.permute(...)`` (maybe followed by ``.contiguous()``)."""
    if not isinstance(st, ast.Assign) or len(st.targets) != 1 or not _is_name(st.targets[0], v):
        return None
    e = st.value
    while isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr in _KEEP_METHODS:
        e = e.func.value
    if not (isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute)):
        return None
    # ``v = v.permute(...)``, or ``v`` made by a permute of another tensor (``out = x.reshape(B, h, w, C).permute(0,
    # 3, 1, 2)``, ``patch = torch.from_numpy(img).unsqueeze(0).permute(0, 3, 1, 2)``): the layout starts there
    return _literal_permute(e)


def _through_layers(e, layers: list):
    """The expression the module's own layers (and elementwise methods) are applied to in ``e``."""
    while isinstance(e, ast.Call):
        if isinstance(e.func, ast.Attribute) and e.func.attr in _KEEP_METHODS:
            e = e.func.value
            continue
        layer = _self_layer(e.func)
        if layer is None or len(e.args) != 1 or e.keywords:
            break
        layers.append(layer)
        e = e.args[0]
    return e


def _literal_permute(e):
    """``(call, permutation)`` when ``e`` is ``<tensor>.permute(a, b, c, d)`` with four literal indices."""
    if not (isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "permute"
            and not e.keywords):
        return None
    p = [a.value if isinstance(a, ast.Constant) and type(a.value) is int else None for a in e.args]
    if len(p) != 4 or any(a is None for a in p) or sorted(p) != [0, 1, 2, 3]:
        return None
    return e, p


def _is_name(e, v: str) -> bool:
    return isinstance(e, ast.Name) and e.id == v


def _self_layer(f) -> str | None:
    """``self.norm`` or ``self.blocks[i]``: the module's own layer, in words; else None."""
    e = f.value if isinstance(f, ast.Subscript) else f
    if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id == "self":
        return f"self.{e.attr}"
    return None


def _keeps_expr(e, v: str, layers: list, looped: dict | None = None, given: frozenset = frozenset()) -> bool:
    """Is ``e`` ``v`` through the module's own layers (also one of them taken by a loop over them, ``looped``) and
    elementwise arithmetic only?"""
    if _is_name(e, v):
        return True
    if isinstance(e, ast.BinOp) and isinstance(e.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        return _keeps_expr(e.left, v, layers, looped, given) or _keeps_expr(e.right, v, layers, looped, given)
    if isinstance(e, ast.Call) and all(k.arg for k in e.keywords):
        if isinstance(e.func, ast.Attribute) and e.func.attr in _KEEP_METHODS \
                and _keeps_expr(e.func.value, v, layers, looped, given):
            return True
        layer = _self_layer(e.func)
        if layer is None and isinstance(e.func, ast.Name) and looped and e.func.id in looped:
            layer = looped[e.func.id]
        if layer is None:
            layer = _other_callable(e.func, given)
        if layer is not None and e.args and _keeps_expr(e.args[0], v, layers, looped, given):
            layers.append(layer)
            return True
    return False


# what a callable's name says of a change of layout: a call so named is not taken to keep the axes in place
_LAYOUT_WORDS = ("permute", "transpose", "swap", "movedim", "moveaxis", "rearrange", "einsum", "flip", "rot90",
                 "view", "reshape", "flatten", "unflatten", "nchw", "nhwc", "channels", "to_", "from_", "layout",
                 "unfold", "fold", "window", "patch", "pixel", "grid", "format")


def _other_callable(f, given: frozenset = frozenset()) -> str | None:
    """A callable other than the module's own layers, given the tensor first (``simple_norm(x, shape, w)``,
    ``model(patch)``, ``torch.clamp(out, 0, 1)``, ``self.fn(x)``), whose name says nothing of a change of layout:
    taken to keep the axes where they are, as the module's own layers are. Its text; else None."""
    text = ast.unparse(f)
    if not isinstance(f, (ast.Name, ast.Attribute)) or len(text) > 40 or any(w in text.lower() for w in _LAYOUT_WORDS):
        return None
    root = f
    while isinstance(root, ast.Attribute):
        root = root.value
    if isinstance(root, ast.Name) and root.id in given:
        return None  # a callable the caller gives (``for blk in blocks:`` over a parameter): it may move axes
    return text


def _caller_given(scope) -> frozenset:
    """The names of ``scope`` that hold what its caller gives: its parameters (``self`` aside) and the targets of
    loops over anything but the module's own layers."""
    args = getattr(scope, "args", None)
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs} - {"self"} if args is not None else set()
    if args is not None:
        names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    for n in ast.walk(scope) if scope is not None else ():
        if isinstance(n, (ast.For, ast.AsyncFor)) and _self_layer(n.iter) is None:
            names |= {t.id for t in ast.walk(n.target) if isinstance(t, ast.Name)}
    return frozenset(names)


def _renamed_from(st, v: str, layers: list, given: frozenset = frozenset()) -> str | None:
    """``v = f(u)`` (``out = torch.clamp(model(patch), 0, 1)``) with ``u`` another name, through callables that keep
    the layout: ``u``, the tensor ``v`` was before; else None."""
    if not isinstance(st, ast.Assign) or len(st.targets) != 1 or not _is_name(st.targets[0], v):
        return None
    e = st.value
    names = {n.id for n in ast.walk(e) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    for u in sorted(names - {v}):
        found: list = []
        if _keeps_expr(e, u, found, given=given) and found:
            layers.extend(reversed(found))  # the scan goes backwards: what ``u`` met first goes last
            return u
    return None


def _keeps_layout(st, v: str, layers: list, given: frozenset = frozenset()) -> bool:
    """Does the statement leave ``v`` in its layout: it assigns ``v`` only from ``v`` through the module's layers
    (also inside a branch or a loop), and permutes nothing? ``for blk in self.blocks: x = blk(x)`` applies the
    module's own layers, each given what the one before gave back."""
    looped = {n.target.id: _self_layer(n.iter) for n in ast.walk(st)
              if isinstance(n, ast.For) and isinstance(n.target, ast.Name) and _self_layer(n.iter) is not None}
    for n in ast.walk(st):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) \
                and n.func.attr in ("permute", "transpose", "view", "reshape", "flatten", "swapaxes", "movedim"):
            if _is_name(n.func.value, v):
                return False
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return False
        if isinstance(n, ast.Assign):
            if any(_is_name(t2, v) for t in n.targets for t2 in ast.walk(t)):
                if len(n.targets) != 1 or not _is_name(n.targets[0], v) \
                        or not _keeps_expr(n.value, v, layers, looped, given):
                    return False
        elif isinstance(n, (ast.AugAssign, ast.AnnAssign)) and _is_name(n.target, v):
            if isinstance(n, ast.AnnAssign) or not isinstance(n.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
                return False
        elif isinstance(n, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
            targets = [n.target] if isinstance(n, (ast.For, ast.AsyncFor)) else [i.optional_vars for i in n.items]
            if any(_is_name(t2, v) for t in targets if t is not None for t2 in ast.walk(t)):
                return False
        elif isinstance(n, ast.NamedExpr) and _is_name(n.target, v):
            return False
    return True
