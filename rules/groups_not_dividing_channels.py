"""SHP306 groups-not-dividing-channels."""

from __future__ import annotations

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext

from ._common import is_literal, register, size_of

_CONVS = {f"torch.nn.Conv{n}d" for n in (1, 2, 3)} | {f"torch.nn.ConvTranspose{n}d" for n in (1, 2, 3)}


@register
class GroupsNotDividingChannels(LintRule):
    """A grouped convolution whose `groups` does not divide its channel counts.

    ## What it does
    `nn.Conv2d(in_channels, out_channels, k, groups=g)` splits both channel counts into `g`
    groups, so both must be multiples of `g`. The rule reports a convolution whose input channel
    count is not divisible by `groups`, and an output channel count that only becomes known
    through the shapes that reach the layer (a symbolic width bound to a number by its input).
    A literal output count that is not divisible is already reported by the core (`SHP110`).

    ## Why is this bad?
    PyTorch raises `ValueError: in_channels must be divisible by groups` only when the model is
    built, which for configurable models is often in a training job on a cluster. Grouped and
    depthwise convolutions (ResNeXt, MobileNet, ConvNeXt) are usually configured from a width and a
    group count in different places, so the mismatch is easy to introduce when one of them changes.

    ## Example
    ```python
    self.conv = nn.Conv2d(100, 128, 3, padding=1, groups=32)  # 100 is not a multiple of 32
    ```

    ## Use instead
    ```python
    self.conv = nn.Conv2d(96, 128, 3, padding=1, groups=32)    # or groups=4, which divides 100
    ```

    ## Known problems
    Only sizes that are known numbers, or that resolve to numbers through the shapes reaching the
    layer, are checked; symbolic widths and group counts are assumed compatible.
    """

    code = "SHP306"
    calls = frozenset(_CONVS)
    name = "groups-not-dividing-channels"
    summary = "A grouped convolution's groups does not divide its channel counts"

    VALID = [
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(96, 128, 3, padding=1, groups=32)

    def forward(self, x: Float[Tensor, "b 96 h w"]):
        return self.conv(x)
''',
        # near miss: depthwise convolution, groups equal to a symbolic channel count
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, 2 * dim, 7, padding=3, groups=dim)

    def forward(self, x: Float[Tensor, "b dim h w"]):
        return self.dwconv(x)
''',
    ]
    INVALID = [
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(100, 128, 3, padding=1, groups=32)

    def forward(self, x: Float[Tensor, "b 100 h w"]):
        return self.conv(x)
''',
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Block(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.conv = nn.Conv1d(width, width, 3, padding=1, groups=8)

    def forward(self, x: Float[Tensor, "b 36 t"]):
        return self.conv(x)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        if ev.qualname not in _CONVS or ev.init is None:
            return
        g_raw = size_of(ev.init.get("groups", 1))
        if g_raw is None:
            return
        g = ctx.resolve(g_raw)
        if not is_literal(g) or g.value <= 1:
            return
        what = f"nn.{ev.qualname.rsplit('.', 1)[-1]}"
        for key in ("in_channels", "out_channels"):
            raw = size_of(ev.init.get(key))
            if raw is None:
                continue
            v = ctx.resolve(raw)
            if not is_literal(v) or v.value % g.value == 0:
                continue
            if key == "out_channels" and is_literal(raw) and ev.qualname.startswith("torch.nn.Conv"):
                continue  # the core's SHP110
            bound = "" if is_literal(raw) else f" (`{raw}` is {v.value} here)"
            ctx.report(
                self.code, ev.node,
                f"`{what}` has {key}={v.value}{bound}, not divisible by groups={g.value}",
                notes=(f"each of the {g.value} groups needs a whole number of channels; torch raises "
                       f"`ValueError: {key} must be divisible by groups` when the layer is built",),
                help=f"make {key} a multiple of {g.value}, or choose groups among its divisors",
            )
            return
