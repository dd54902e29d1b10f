"""SHP208 softmax-over-size-one-axis."""

from __future__ import annotations

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import NORMALISING_CALLS, as_int, axis, axis_note, dims_text, neg_dim, normalising_call, register, who

# what the call returns over one element, whatever the scores
_CONSTANT = {"softmax": "1.0", "gumbel_softmax": "1.0", "log_softmax": "0.0"}


def _literal_one(ctx, d) -> bool:
    return d is not None and as_int(ctx.resolve(d)) == 1


@register
class SoftmaxOverSizeOneAxis(LintRule):
    """A softmax, log_softmax or normalize over an axis of size one.

    ## What it does
    Flags `softmax` / `log_softmax` (the functions, the tensor methods, `nn.Softmax` /
    `nn.LogSoftmax`), `F.gumbel_softmax` and `F.normalize` whose normalised axis has the literal size 1: an axis
    made by `keepdim=True`, `unsqueeze`, a `(d, 1)` weight in a product, an `nn.Linear(d, 1)` head or a `1` in an
    annotation. Axes whose size is a name or comes from code are never reported.

    ## Why is this bad?
    Normalising over one element always gives the same answer: `softmax` returns 1.0 everywhere
    and `log_softmax` 0.0, whatever the scores; `F.normalize` keeps only each value's sign. An attention-pooling gate written as
    `(x @ w).softmax(dim=-1)` with `w` of shape `(d, 1)` weights every position by one, so the
    "attention" is a plain sum and the gate's parameters get no gradient. Nothing fails; the model
    just learns less.

    ## Example
    ```python
    a = x @ w                       # (b, n, d) @ (d, 1) -> (b, n, 1)
    return (a.softmax(dim=-1) * x).sum(dim=1)
    ```

    ## Use instead
    ```python
    a = x @ w                       # (b, n, 1)
    return (a.softmax(dim=1) * x).sum(dim=1)   # normalise over the positions
    ```

    ## Known problems
    A size that is 1 only under one configuration (`nn.Linear(d, num_classes)` with
    `num_classes=1` passed by the caller) is not seen unless the constructor's literal argument
    reaches the analysis.
    """

    code = "SHP208"
    calls = NORMALISING_CALLS
    name = "softmax-over-size-one-axis"
    summary = "A softmax, log_softmax or normalize runs over an axis of size one (always 1.0 / 0.0 / the sign)"

    VALID = [
        # near miss: the gate's size-one axis is kept, the softmax runs over the positions
        '''
from torch import Tensor
from jaxtyping import Float


def pool(x: Float[Tensor, "b n d"], w: Float[Tensor, "d 1"]):
    a = x @ w
    return (a.softmax(dim=1) * x).sum(dim=1)
''',
        # near miss: a class axis whose size is a name may be anything, it is not reported
        '''
import torch.nn.functional as F
from torch import Tensor, nn


class Head(nn.Module):
    def __init__(self, d: int, k: int):
        super().__init__()
        self.fc = nn.Linear(d, k)

    def forward(self, h: Tensor):
        return F.log_softmax(self.fc(h), dim=-1)
''',
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def attend(q: Float[Tensor, "b 1 d"], k: Float[Tensor, "b t d"]):
    # one query against t keys: the softmax runs over the keys, the size-one query axis is left alone
    return torch.softmax(q @ k.transpose(1, 2), dim=-1)
''',
        # near miss: F.normalize's default axis is 1, the features of a (batch, features) embedding
        '''
import torch.nn.functional as F
from torch import nn


class Embed(nn.Module):
    def __init__(self, d: int, e: int):
        super().__init__()
        self.proj = nn.Linear(d, e)
        self.gate = nn.Linear(d, 1)

    def forward(self, x):
        b, d = x.shape
        return F.normalize(self.proj(x)) * self.gate(x)
''',
    ]
    INVALID = [
        '''
from torch import Tensor
from jaxtyping import Float


def gate(x: Float[Tensor, "b n d"], w: Float[Tensor, "d 1"]):
    a = x @ w
    return a.softmax(dim=-1) * x
''',
        '''
import torch.nn.functional as F
from torch import nn


class AttentionPool(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.score = nn.Linear(d, 1)

    def forward(self, x):
        b, n, d = x.shape
        w = F.softmax(self.score(x), dim=2)
        return (w * x).sum(dim=1)
''',
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def normalised(x: Float[Tensor, "b n"]):
    s = x.sum(dim=-1, keepdim=True)
    return torch.log_softmax(s, dim=1)
''',
        '''
import torch.nn.functional as F
from torch import Tensor
from jaxtyping import Float


def pick(logits: Float[Tensor, "b k"]):
    return F.gumbel_softmax(logits.unsqueeze(-1), tau=0.5, hard=True)
''',
        # a one-unit projection normalised over its only unit: every value becomes 1.0 or -1.0
        '''
import torch.nn.functional as F
from torch import nn


class Direction(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.proj = nn.Linear(d, 1)

    def forward(self, x):
        b, d = x.shape
        return F.normalize(self.proj(x), dim=-1)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        call = normalising_call(ev)
        if call is None:
            return
        x, dim, fn = call
        if not isinstance(x, Shape) or x.is_any:
            return
        d = neg_dim(dim, x)
        if d is None:
            # ``softmax(scores.unsqueeze(1), dim=1)`` of unknown rank: an axis known from the front
            i = as_int(dim)
            lead = x.variadic_index if x.rank is None else None
            if i is None or lead is None or not 0 <= i < lead:
                return
            d = i
            size = x.dims[i]
        else:
            size = axis(x, d)
        if not _literal_one(ctx, size):
            return
        if x.rank is not None and all(_literal_one(ctx, axis(x, i)) for i in range(x.rank)):
            return  # a tensor of ones everywhere: nothing else to normalise over either
        what = (f"the result is {_CONSTANT[fn]} everywhere: {fn} over one element does not depend on the scores"
                if fn in _CONSTANT else "the result is 1.0 or -1.0: normalize over one element keeps only its sign")
        others = [] if x.rank is None else [i - x.rank for i in range(x.rank) if not _literal_one(ctx, axis(x, i))]
        others.sort(key=lambda i: abs(i - d))  # the nearest axis that holds more than one score
        hint = f"normalise over an axis that holds the scores, e.g. `dim={others[0]}`" if others \
            else "normalise over the axis that holds the scores"
        shown = as_int(dim)
        ctx.report(
            self.code, ev.node,
            f"{fn} over axis {shown} of {who(x)} {dims_text(ctx, x, ev.node)}, which has size 1",
            notes=(what,
                   axis_note(ctx, x, d, ev.node)),
            help=hint,
        )
