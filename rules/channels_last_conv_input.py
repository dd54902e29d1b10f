"""SHP301 channels-last-conv-input."""

from __future__ import annotations

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import (CHANNEL_LAYERS, axis, axis_note, channel_layer, compare_before, dims_text, is_literal,
                      looks_like, qd, register, size_of, who)


@register
class ChannelsLastConvInput(LintRule):
    """A channels-last image `(batch, height, width, channels)` fed to a channels-first layer.

    ## What it does
    `nn.Conv2d`, `nn.BatchNorm2d`, `nn.InstanceNorm2d`, pooling and their 3-D versions read the
    channels from axis 1. The rule flags an input whose *last* axis is the layer's channel count
    (provably the same axis, e.g. `in_channels=C` with `B, H, W, C = x.shape`) while axis 1 is
    not. For pooling, which has no channel count, the last axis must be a channel count used by a
    convolution in the same file, or be named like one, with axes 1 and 2 named like height and
    width.

    ## Why is this bad?
    Images from PIL, NumPy, TensorFlow data pipelines and `torchvision.io` decoders are often
    `(H, W, C)`. When height happens to equal the channel count (a 3x3 test image, a square
    feature map with as many rows as channels) the convolution runs and learns from a scrambled
    image; otherwise it fails at run time with a message about weights, far from the cause.
    Pooling never fails: it pools over width and channels.

    ## Example
    ```python
    B, H, W, C = img.shape
    y = self.conv(img)            # nn.Conv2d(C, 64, 3)
    ```

    ## Use instead
    ```python
    y = self.conv(img.permute(0, 3, 1, 2))
    ```

    ## Known problems
    When axis 1 provably differs from the channel count, the core reports `SHP107` on the same
    call and this rule stays silent. Channels-last *memory format*
    (`x.to(memory_format=torch.channels_last)`) keeps the logical `(N, C, H, W)` shape and is fine.
    """

    code = "SHP301"
    calls = frozenset(CHANNEL_LAYERS)
    name = "channels-last-conv-input"
    summary = "A channels-last (batch, height, width, channels) tensor is fed to a channels-first layer"

    VALID = [
        '''
import torch
from torch import nn


class Stem(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, 64, 3, padding=1)

    def forward(self, img):
        B, H, W, C = img.shape
        return self.conv(img.permute(0, 3, 1, 2))
''',
        # near miss: a square feature map whose width equals the channel count
        '''
import torch
from torch import nn


class Head(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x):
        B, C, H, W = x.shape
        y = x.view(B, C, H, C)
        return self.bn(y)
''',
    ]
    INVALID = [
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Stem(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, 64, 3, padding=1)

    def forward(self, img: Float[Tensor, "b h w c"]):
        return self.conv(img)
''',
        '''
import torch
import torch.nn.functional as F


def pool(img):
    B, H, W, C = img.shape
    return F.max_pool2d(img, 2)
''',
    ]

    def __init__(self):
        self._channels: list = []  # symbolic channel counts met in this file

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        expected, n, what = channel_layer(ev)
        if n is None:
            return
        init = ev.init or {}
        for key in ("in_channels", "out_channels", "num_features", "num_channels"):
            c = size_of(init.get(key))
            if c is not None and not is_literal(c) and c not in self._channels:
                self._channels.append(c)
        x = ev.args[0] if ev.args else ev.kwargs.get("input")
        if not isinstance(x, Shape) or x.rank is None or n < 2 or x.rank != n + 2:  # 1-D layers: SHP302
            return
        expected = size_of(expected)
        last, ax1 = axis(x, -1), axis(x, 1)
        if last is None or ax1 is None:
            return
        c = lambda a, b: compare_before(ctx, ev.node, a, b)  # noqa: E731
        if expected is not None:
            if c(last, expected) != "eq" or c(ax1, expected) != "unknown":
                return
            if c(ax1, last) == "eq":
                return
        else:
            spatial = [axis(x, i) for i in range(1, n + 1)]
            channel_like = any(c(last, ch) == "eq" for ch in self._channels) or looks_like(last, "channels")
            if not channel_like or any(c(s, ch) == "eq" for s in spatial for ch in self._channels):
                return
            if n >= 2 and not (looks_like(spatial[0], "height") and looks_like(spatial[1], "width")):
                return
        env_note = axis_note(ctx, x, -1, ev.node)
        ctx.report(
            self.code, ev.node,
            f"`{what}` reads channels from axis 1, but {who(x, 'its input')} {dims_text(ctx, x, ev.node)} is "
            f"channels-last: its last axis {qd(last)} is the channel count",
            notes=(env_note, axis_note(ctx, x, 1, ev.node)),
            help=f"move the channels to axis 1 first: `.permute({', '.join(map(str, [0, n + 1, *range(1, n + 1)]))})`",
        )
