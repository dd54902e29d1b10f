"""SHP302 untransposed-sequence-conv1d."""

from __future__ import annotations

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import (CHANNEL_LAYERS, axis, axis_note, channel_layer, compare_before, dims_text, qd, register,
                      size_of, who)


@register
class UntransposedSequenceConv1d(LintRule):
    """`Conv1d`, `BatchNorm1d` or 1-D pooling applied to `(batch, time, features)` without a transpose.

    ## What it does
    One-dimensional convolutions, batch norm and pooling read `(batch, channels, length)`.
    Sequence models produce `(batch, time, features)`. The rule flags a 3-axis input whose *last*
    axis is provably the layer's channel count (`in_channels`, `num_features`) while axis 1 is
    not, i.e. the features are still last.

    ## Why is this bad?
    When the sequence length equals the feature size (fixed-length windows, a unit test with a
    square input) the layer runs and convolves over the features while mixing time steps as
    channels; `BatchNorm1d` normalises each *time step* over features, which silently leaks
    statistics across positions. Otherwise the error surfaces at run time as a weight-shape
    message that does not mention the missing transpose.

    ## Example
    ```python
    h = self.embed(tokens)          # (B, T, d_model)
    h = self.conv(h)                # nn.Conv1d(d_model, d_model, 3, padding=1)
    ```

    ## Use instead
    ```python
    h = self.conv(h.transpose(1, 2)).transpose(1, 2)
    ```

    ## Known problems
    When axis 1 provably differs from the channel count, the core already reports `SHP107` there
    and this rule stays silent. A 2-axis input to `BatchNorm1d` is `(batch, features)` and is fine.
    """

    code = "SHP302"
    calls = frozenset(CHANNEL_LAYERS)
    name = "untransposed-sequence-conv1d"
    summary = "A 1-D convolution or batch norm gets (batch, time, features) instead of (batch, features, time)"

    VALID = [
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Block(nn.Module):
    def __init__(self, d_model: int):
        super().__init__()
        self.conv = nn.Conv1d(d_model, d_model, 3, padding=1)

    def forward(self, h: Float[Tensor, "b t d_model"]):
        return self.conv(h.transpose(1, 2)).transpose(1, 2)
''',
        # near miss: BatchNorm1d on (batch, features) is fine
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Head(nn.Module):
    def __init__(self, d_model: int):
        super().__init__()
        self.bn = nn.BatchNorm1d(d_model)

    def forward(self, h: Float[Tensor, "b d_model"]):
        return self.bn(h)
''',
        # Mamba's causal depthwise conv, transposed in and out
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class MambaConv(nn.Module):
    def __init__(self, d_inner: int, d_conv: int):
        super().__init__()
        self.conv1d = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1)

    def forward(self, x: Float[Tensor, "b l d_inner"]):
        B, L, D = x.shape
        return self.conv1d(x.transpose(1, 2))[..., :L].transpose(1, 2)
''',
    ]
    INVALID = [
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Block(nn.Module):
    def __init__(self, d_model: int):
        super().__init__()
        self.conv = nn.Conv1d(d_model, d_model, 3, padding=1)

    def forward(self, h: Float[Tensor, "b t d_model"]):
        return self.conv(h)
''',
        '''
import torch
from torch import nn


class Encoder(nn.Module):
    def __init__(self, vocab: int, dim: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.norm = nn.BatchNorm1d(dim)

    def forward(self, tokens):
        B, T = tokens.shape
        return self.norm(self.embed(tokens))
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        expected, n, what = channel_layer(ev)
        if n != 1:
            return
        x = ev.args[0] if ev.args else ev.kwargs.get("input")
        expected = size_of(expected)
        if not isinstance(x, Shape) or x.rank != 3 or expected is None:
            return
        last, ax1 = axis(x, -1), axis(x, 1)
        c = lambda a, b: compare_before(ctx, ev.node, a, b)  # noqa: E731
        if c(last, expected) != "eq" or c(ax1, expected) != "unknown" or c(ax1, last) == "eq":
            return
        ctx.report(
            self.code, ev.node,
            f"`{what}` reads (batch, channels, length), but {who(x, 'its input')} {dims_text(ctx, x, ev.node)} "
            f"has its {qd(last)} features last: the sequence axis {qd(ax1)} is read as channels",
            notes=(axis_note(ctx, x, -1, ev.node), axis_note(ctx, x, 1, ev.node)),
            help="transpose around the layer: `layer(x.transpose(1, 2)).transpose(1, 2)`",
        )
