"""SHP308 layout-round-trip-swap."""

from __future__ import annotations

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import CHANNEL_LAYERS, ELEMENTWISE, arg, axis, carry, dims_text, eq, looks_like, register, who
from .height_width_swap import _PERMUTE, _TRANSPOSE, _perm

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
    the one reported.

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
    time and frequency are not.
    """

    code = "SHP308"
    name = "layout-round-trip-swap"
    summary = "A permute into another layout and the permute back swap two axes"

    calls = frozenset(_PERMUTE | _TRANSPOSE | _CHANNELS_FIRST | _CHANNELS_LAST | _ACTIVATIONS | ELEMENTWISE)

    VALID = [
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
    ]
    INVALID = [
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
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        q = ev.qualname
        if q in ELEMENTWISE:
            carry(ev, ctx, (TRIP,))
            return
        x = arg(ev, 0, "input")
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
