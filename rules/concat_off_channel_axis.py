"""SHP307 concat-off-channel-axis."""

from __future__ import annotations

from shapecheck._core._algebra import Expr, const
from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import (CHANNEL_LAYERS, ELEMENTWISE, arg, as_int, carry, channel_layer, compare_before, qd, register,
                      size_of)

CAT = "cc_cat"  # (node, dim, sum of the parts' channel axes, number of parts)

_CAT = {"torch.cat", "torch.concat", "torch.concatenate"}
_PERMUTE = {"torch.Tensor.permute", "torch.permute"}
_TRANSPOSE = {"torch.Tensor.transpose", "torch.transpose", "torch.Tensor.swapaxes", "torch.swapaxes"}
_REARRANGE = {"einops.rearrange"}


def _parts(ev):
    v = arg(ev, 0, "tensors")
    if isinstance(v, (tuple, list)) and len(v) >= 2 and all(isinstance(p, Shape) for p in v):
        return list(v)
    return None


def _keeps_batch_and_channels(ev) -> bool:
    """Does a layout change leave axes 0 and 1 where they are, only the axes after them turned
    (``permute(0, 1, 3, 2)``, ``transpose(2, 3)``, einops ``"b c w t -> b c t w"``)? The channels a join along
    another axis kept are then still where the next convolution reads them."""
    x = ev.args[0] if ev.args else None
    rank = x.rank if isinstance(x, Shape) else None
    if ev.qualname in _PERMUTE:
        rest = [ev.kwargs["dims"]] if "dims" in ev.kwargs else list(ev.args[1:])
        if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
            rest = list(rest[0])
        p = [as_int(v) for v in rest]
        return len(p) >= 3 and all(v is not None and v >= 0 for v in p) and p[:2] == [0, 1] \
            and sorted(p) == list(range(len(p))) and rank in (None, len(p))
    if ev.qualname in _TRANSPOSE:
        dims = [as_int(arg(ev, 1, "dim0")), as_int(arg(ev, 2, "dim1"))]
        if any(v is None for v in dims) or any(v < 0 for v in dims) and rank is None:
            return False
        return all(v % rank >= 2 if rank else v >= 2 for v in dims)
    pattern = arg(ev, 1, "pattern")
    if not isinstance(pattern, str) or pattern.count("->") != 1 or any(c in pattern for c in "().…"):
        return False
    lhs, rhs = (side.split() for side in pattern.split("->"))
    return len(lhs) >= 3 and sorted(lhs) == sorted(rhs) and len(set(lhs)) == len(lhs) and lhs[:2] == rhs[:2]


def _terms(e) -> int:
    """How many sizes the code names ``e`` adds up (``in_channels + skip_channels``: 2); 0 for a size with a literal
    term or a coefficient (``c + 1``, ``2 * c``), which says nothing of parts."""
    if not isinstance(e, Expr) or any(not mono or coef != 1 for mono, coef in e.terms):
        return 0
    return len(e.terms)


def _copies(e) -> int:
    """How many copies of one size the code names ``e`` is written as (``in_channels * 2``: 2, the channels of two
    maps of ``in_channels`` each); 0 for anything else (a sum, a literal, one size)."""
    if not isinstance(e, Expr) or len(e.terms) != 1:
        return 0
    mono, coef = e.terms[0]
    return coef if mono and coef >= 2 else 0


@register
class ConcatOffChannelAxis(LintRule):
    """Feature maps concatenated along a spatial axis before a layer that expects their channels summed.

    ## What it does
    U-Net skips, DenseNet blocks and feature pyramids join feature maps with
    `torch.cat([a, b], dim=1)`. The rule follows a `cat` of `(batch, channels, ...)` maps along
    any axis other than 1 to the next convolution or normalisation, and reports the `cat` when that
    layer's channel count is the *sum* of the parts' channel counts: the code meant to stack
    channels. Joined along another axis the parts have one channel count, so a part whose channels
    are unknown (an unannotated skip connection) counts with the others'. Where no part's channels
    are known (parts of unknown shape, or of a known rank only, as a `repeat` gives), a `cat` along
    axis 2 or later (a spatial axis of what a convolution reads, batched or not) is reported when
    the layer's channel count is written as a sum of as many sizes as there are parts
    (`nn.Conv2d(in_channels + skip_channels, ...)`, `nn.Conv2d(2 * c, ...)` after two parts).

    ## Why is this bad?
    `dim=-1` or `dim=2` is a natural slip (it is right for token sequences). The concatenation
    succeeds, doubling the height or width instead of the channels, and the error (if any) appears
    at the next convolution as a channel-count mismatch, far from its cause. The rule reports at
    the `cat`, the line to fix; the core may also report `SHP107` at the layer.

    ## Example
    ```python
    x = torch.cat([up, skip], dim=-1)
    x = self.conv(x)               # nn.Conv2d(2 * c, c, 3, padding=1)
    ```

    ## Use instead
    ```python
    x = torch.cat([up, skip], dim=1)
    ```

    ## Known problems
    Only a `cat` that reaches the layer directly, through shape-preserving ops (activations,
    dropout), through a turn of the axes after the channels (`permute(0, 1, 3, 2)`,
    `transpose(2, 3)`, einops `"b c w t -> b c t w"`) or as the input of a module of the file whose
    first layer it is (a double convolution block) is followed. Tiling images side by side and then
    convolving them with the original channel count is deliberate and not reported.
    """

    code = "SHP307"
    calls = frozenset(ELEMENTWISE | _CAT | CHANNEL_LAYERS | _PERMUTE | _TRANSPOSE | _REARRANGE
                      | {"shapecheck.ConvBlock"})
    name = "concat-off-channel-axis"
    summary = "Feature maps are concatenated along a non-channel axis before a layer expecting summed channels"

    VALID = [
        # near miss: the three maps joined along the channels the sum counts
        '''
import torch
from torch import nn


class DecoderBlock(nn.Module):
    def __init__(self, in_channels, skip_channels, src_channels, out_channels):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2)
        self.conv = nn.Conv2d(in_channels + skip_channels + src_channels, out_channels, 3, padding=1)

    def forward(self, x, skip, src):
        x = torch.cat([self.up(x), skip, src], dim=1)
        return self.conv(x)
''',
        # near miss: the same maps joined along the channels
        '''
import torch
from torch import nn


class Up(nn.Module):
    def __init__(self, in_channels: int, skip_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels + skip_channels, out_channels, 3, padding=1)

    def forward(self, x, skip):
        x = nn.functional.interpolate(x, scale_factor=2.0)
        x = torch.cat([x, skip], dim=1)
        return self.conv(x)
''',
        # near miss: images of unknown shape tiled side by side, then convolved with their own channel count
        '''
import torch
from torch import nn


class Tiles(nn.Module):
    def __init__(self, channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, out_channels, 3, padding=1)

    def forward(self, left, right):
        return self.conv(torch.cat([left, right], dim=3))
''',
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Up(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(2 * c, c, 3, padding=1)

    def forward(self, up: Float[Tensor, "b c h w"], skip: Float[Tensor, "b c h w"]):
        return self.conv(torch.cat([up, skip], dim=1))
''',
        # near miss: images tiled side by side, convolved with their own channel count
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Tiles(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, left: Float[Tensor, "b c h w"], right: Float[Tensor, "b c h w"]):
        return self.conv(torch.cat([left, right], dim=3))
''',
        # near miss: an unannotated skip tiled beside the upsampled map along the width, convolved with
        # the channels of one of them
        '''
import torch
from torch import nn


class Tile(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(c, c, 2, stride=2)
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x, skip):
        return self.conv(torch.cat([self.up(x), skip], dim=3))
''',
    ]
    INVALID = [
        # a decoder block's channels written as a sum of three constructor arguments, its three maps joined along the
        # height
        '''
import torch
from torch import nn


class DecoderBlock(nn.Module):
    def __init__(self, in_channels, skip_channels, src_channels, out_channels):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2)
        self.conv = nn.Conv2d(in_channels + skip_channels + src_channels, out_channels, 3, padding=1)

    def forward(self, x, skip, src):
        x = torch.cat([self.up(x), skip, src], dim=2)
        return self.conv(x)
''',
        # maps of unknown shape joined along axis 2, before a convolution built for the sum of two channel counts
        '''
import torch
from torch import nn


class Up(nn.Module):
    def __init__(self, in_channels: int, skip_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels + skip_channels, out_channels, 3, padding=1)

    def forward(self, x, skip):
        x = nn.functional.interpolate(x, scale_factor=2.0)
        x = torch.cat([x, skip], dim=2)
        return self.conv(x)
''',
        # unannotated: the skip connection's channels are unknown, but joined along the height they are
        # the upsampled map's, so the layer's 2 * c is their sum
        '''
import torch
from torch import nn


class Up(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(2 * c, c, 2, stride=2)
        self.conv = nn.Conv2d(2 * c, c, 3, padding=1)

    def forward(self, x, skip):
        x = self.up(x)
        x = torch.cat([x, skip], dim=2)
        return self.conv(x)
''',
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Up(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(2 * c, c, 3, padding=1)

    def forward(self, up: Float[Tensor, "b c h w"], skip: Float[Tensor, "b c h w"]):
        x = torch.cat([up, skip], dim=-1)
        return self.conv(x)
''',
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Fuse(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.bn = nn.BatchNorm1d(c + c)

    def forward(self, a: Float[Tensor, "b c t"], b: Float[Tensor, "b c t"]):
        return self.bn(torch.relu(torch.cat((a, b), 2)))
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        carry(ev, ctx, (CAT,))
        if ev.qualname in _PERMUTE | _TRANSPOSE | _REARRANGE:
            # a turn of the axes after the channels (a spectrogram's frequency and time) keeps what the join did
            x = ev.args[0] if ev.args else None
            t = x.get_meta(CAT) if isinstance(x, Shape) else None
            if t is not None and isinstance(ev.result, Shape) and CAT not in ctx.result_tags \
                    and _keeps_batch_and_channels(ev):
                ctx.tag_result(CAT, t)
            return
        if ev.qualname in _CAT:
            parts = _parts(ev)
            if parts is not None and any(p.rank is None for p in parts):
                # maps of unknown rank joined along axis 2 or later, counted from the front: a spatial axis of
                # whatever a convolution reads, batched or not; their channels are unknown (None)
                d = as_int(arg(ev, 1, "dim", 0))
                if d is not None and d >= 2 and all(p.rank is None or p.rank > d for p in parts):
                    # the parts themselves, whose trailing axes (``... 128 ? ?``) may say their channels
                    ctx.tag_result(CAT, (ev.node, d, None, len(parts), True, tuple(parts)))
                return
            if parts is None or any(p.rank < 3 for p in parts):
                return
            rank = parts[0].rank
            d = as_int(arg(ev, 1, "dim", 0))
            if d is None or any(p.rank != rank for p in parts) or not -rank <= d < rank:
                return
            d %= rank
            if d in (0, 1):
                return
            # joined along another axis, the parts have one channel count (the cat runs only so): a part whose
            # channels are unknown (a skip connection passed in) has those of the others
            known = [p.dims[1] for p in parts if isinstance(p.dims[1], Expr)]
            if not known:
                # no part's channels known (``? ? ? ?`` of a repeat or a helper's input): as for maps of unknown
                # rank, the layer's channel count written as a sum of as many sizes as there are parts says what
                # the code meant to stack
                ctx.tag_result(CAT, (ev.node, d, None, len(parts), True, tuple(parts)))
                return
            total = const(0)
            for p in parts:
                total = total + (p.dims[1] if isinstance(p.dims[1], Expr) else known[0])
            ctx.tag_result(CAT, (ev.node, d, total, len(parts), len(known) < len(parts)))
            return
        expected, n, what = channel_layer(ev)
        if ev.qualname == "shapecheck.ConvBlock":
            # ``_ConvBNReLU(in_ch, out_ch, 3)`` of a module the engine did not see, taken for a convolution
            # block by its name, reads its input's channels as a convolution does (kept to this rule: other rules
            # that take it for a layer would read its spatial behaviour, which the name does not say)
            name = str((ev.init or {}).get("name") or "")
            expected, n, what = (ev.init or {}).get("in_channels"), 3 if "3d" in name.lower() else \
                1 if "1d" in name.lower() else 2, name or "the convolution block"
        if n is None:
            return
        x = ev.args[0] if ev.args else ev.kwargs.get("input")
        t = x.get_meta(CAT) if isinstance(x, Shape) else None
        expected = size_of(expected)
        if t is None or expected is None or x.rank is None and t[2] is not None:
            return
        node, d, total, count, partial = t[:5]
        if total is None and len(t) > 5 and isinstance(n, int) and n >= 1:
            # maps of unknown rank joined along axis 2 or later counted from the front: batched or not,
            # their channel axis is the one before the layer's spatial axes, ``-(n + 1)``, which the join keeps
            chans = []
            for p in t[5]:
                v = p.variadic_index
                suffix = len(p.dims) if v is None else len(p.dims) - v - 1
                # ``? 128 ...`` (a batch and channels in front, what a block the engine guessed gives): axis 1
                c = p.dims[-(n + 1)] if suffix >= n + 1 else p.dims[1] if v is not None and v >= 2 else None
                chans.append(c if isinstance(c, Expr) else None)
            known = [c for c in chans if c is not None]
            if known:
                total = const(0)
                for c in chans:
                    total = total + (c if c is not None else known[0])
                partial = len(known) < len(chans)
                joined = known[0]
                if compare_before(ctx, ev.node, expected, total) == "eq" \
                        and compare_before(ctx, ev.node, joined, expected) != "eq":
                    self._report(ctx, ev, what, node, d, count, total, expected)
                elif partial and compare_before(ctx, ev.node, joined, expected) == "ne":
                    ctx.report(
                        self.code, node,
                        f"`cat` joins {count} feature maps along axis {d}, which keeps their {qd(joined)} channels, "
                        f"but `{what}` expects {qd(expected)}",
                        notes=(f"`{what}` at line {getattr(ev.node, 'lineno', '?')} reads {qd(expected)} channels",
                               "joined along the channel axis, the channels of the parts would add up"),
                    )
                return
        if total is None:
            # no part's channels known: the layer's channel count written as a sum of as many sizes as there are
            # parts (``nn.Conv2d(in_channels + skip_channels, ...)``) says what the code meant to stack
            if _terms(expected) == count >= 2 or _copies(expected) == count >= 2 and d >= 2:
                # (``Conv2d(2 * c, ...)`` after a join of two maps: the channels of two maps of ``c`` each)
                self._report(ctx, ev, what, node, d, count, expected, expected)
            return
        if compare_before(ctx, ev.node, expected, total) != "eq":
            if partial and compare_before(ctx, ev.node, x.dims[1], expected) == "ne":
                # a part's channels are unknown (a skip connection passed in): the sum cannot be named, but the
                # joined map provably has other channels than the layer reads
                ctx.report(
                    self.code, node,
                    f"`cat` joins {count} feature maps along axis {d}, which keeps their {qd(x.dims[1])} channels, "
                    f"but `{what}` expects {qd(expected)}",
                    notes=(f"`{what}` at line {getattr(ev.node, 'lineno', '?')} reads {qd(expected)} channels from "
                           f"axis 1",
                           "joined along axis 1, the channels of the parts would add up"),
                )
            elif _terms(expected) == count >= 2 and compare_before(ctx, ev.node, x.dims[1], expected) != "eq":
                # the parts' channels known only as sizes the layer's do not name (``s[2]``, read off an
                # argument): the layer's count written as a sum of as many sizes as there are parts still says what
                # the code meant to stack, as where no part's channels are known
                self._report(ctx, ev, what, node, d, count, expected, expected)
            return
        if compare_before(ctx, ev.node, x.dims[1], expected) == "eq":
            return
        self._report(ctx, ev, what, node, d, count, total, expected)

    def _report(self, ctx, ev, what, node, d, count, total, expected):
        ctx.report(
            self.code, node,
            f"`cat` joins {count} feature maps along axis {d}, but `{what}` expects their channels summed "
            f"({qd(total)} channels on axis 1)",
            notes=(f"`{what}` at line {getattr(ev.node, 'lineno', '?')} reads {qd(expected)} channels from axis 1",),
            help="concatenate along the channel axis: `dim=1`",
        )
