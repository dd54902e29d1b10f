"""SHP304 layernorm-on-channels-first."""

from __future__ import annotations

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import arg, axis, axis_note, compare_before, dims_text, qd, register, size_of, who

_LN = {"torch.nn.LayerNorm", "torch.nn.RMSNorm"}
_F_LN = {"torch.nn.functional.layer_norm", "torch.layer_norm", "torch.nn.functional.rms_norm", "torch.rms_norm"}


def _single(ns):
    if isinstance(ns, (tuple, list)):
        return size_of(ns[0]) if len(ns) == 1 else None
    return size_of(ns)


@register
class LayerNormOnChannelsFirst(LintRule):
    """`LayerNorm(C)` applied to a channels-first map `(batch, C, ...)`.

    ## What it does
    `nn.LayerNorm(normalized_shape)` normalises the *last* axes. The rule flags
    `LayerNorm(C)` (and `RMSNorm`, `F.layer_norm`) on a tensor of three or more axes whose axis 1
    is provably `C` while its last axis is not: a convolutional feature map `(B, C, H, W)` or a
    Conv1d output `(B, C, T)`.

    ## Why is this bad?
    ConvNeXt-style blocks and audio encoders mix convolutions (channels first) with layer norms
    (channels last). With a square map whose width equals the channel count the norm runs and
    normalises each row over the width, a different and much weaker operation; otherwise it fails
    with a message about `normalized_shape` that does not point at the layout.

    ## Example
    ```python
    x = self.dwconv(x)             # (B, C, H, W)
    x = self.norm(x)               # nn.LayerNorm(C)
    ```

    ## Use instead
    ```python
    x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    ```

    ## Known problems
    When the last axis provably differs from `C`, the core reports `SHP107` at the same call and
    this rule stays silent. `nn.GroupNorm(1, C)` is the channels-first equivalent and is fine.
    """

    code = "SHP304"
    calls = frozenset(_LN | _F_LN)
    name = "layernorm-on-channels-first"
    summary = "LayerNorm(C) normalises the last axis of a channels-first (batch, C, ...) map"

    VALID = [
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Float[Tensor, "b dim h w"]):
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
''',
        # near miss: a token sequence (batch, seq, dim) is normalised over its last axis
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Float[Tensor, "b seq dim"]):
        return self.norm(x)
''',
    ]
    INVALID = [
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Float[Tensor, "b dim h w"]):
        return self.norm(self.dwconv(x))
''',
        '''
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from jaxtyping import Float


class AudioEncoder(nn.Module):
    def __init__(self, n_mels: int, channels: int):
        super().__init__()
        self.channels = channels
        self.conv = nn.Conv1d(n_mels, channels, 3, padding=1)

    def forward(self, mel: Float[Tensor, "b n_mels t"]):
        h = self.conv(mel)
        return F.layer_norm(h, (self.channels,))
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        if ev.qualname in _LN:
            ns = _single((ev.init or {}).get("normalized_shape"))
            what = f"nn.{ev.qualname.rsplit('.', 1)[-1]}"
        elif ev.qualname in _F_LN:
            ns = _single(arg(ev, 1, "normalized_shape"))
            what = f"F.{ev.qualname.rsplit('.', 1)[-1]}"
        else:
            return
        x = ev.args[0] if ev.args else ev.kwargs.get("input")
        if ns is None or not isinstance(x, Shape) or x.rank is None or x.rank < 3:
            return
        ax1, last = axis(x, 1), axis(x, -1)
        c = lambda a, b: compare_before(ctx, ev.node, a, b)  # noqa: E731
        if c(ax1, ns) != "eq" or c(last, ns) != "unknown" or c(ax1, last) == "eq":
            return
        ctx.report(
            self.code, ev.node,
            f"`{what}({qd(ns)})` normalises the last axis {qd(last)}, but {who(x, 'its input')} "
            f"{dims_text(ctx, x, ev.node)} is channels-first: {qd(ns)} is axis 1",
            notes=(axis_note(ctx, x, 1, ev.node), axis_note(ctx, x, -1, ev.node)),
            help="move the channels last around the norm: `norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)` "
                 "(or `.transpose(1, 2)` for (B, C, T))",
        )
