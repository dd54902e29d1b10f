"""SHP210 mask-broadcast-onto-heads."""

from __future__ import annotations

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import arg, as_int, axis, compare_before, dims_text, register, who

_MASKING = {"torch.Tensor.masked_fill", "torch.Tensor.masked_fill_", "torch.masked_fill"}
_ADD = {"torch.Tensor.__add__", "torch.Tensor.__radd__", "torch.Tensor.add", "torch.add", "torch.Tensor.add_",
        "torch.Tensor.__iadd__"}
_SDPA = {"torch.nn.functional.scaled_dot_product_attention"}


def _one(ctx, d) -> bool:
    return d is not None and as_int(ctx.resolve(d)) == 1


@register
class MaskBroadcastOntoHeads(LintRule):
    """A `(batch, queries, keys)` mask broadcast onto `(batch, heads, queries, keys)` scores.

    ## What it does
    Broadcasting aligns shapes from the right, so a 3-axis mask applied to 4-axis attention
    scores lines up its axis 0 with the scores' axis 1, the heads. The rule flags a mask (in
    `masked_fill`, added to the scores, or passed as `attn_mask` to
    `scaled_dot_product_attention`) whose axis 0 is the scores' batch axis (the same size symbol)
    while the scores' axis 1 is a different axis, and whose last two axes fit the scores' last two.

    ## Why is this bad?
    When the head count equals the batch size (or either is 1) the product broadcasts without error
    and each *head* gets the mask of another *sample*: sample `k`'s padding is applied to head `k` of
    every sample. Otherwise it fails only at run time, with the batch size that happens to differ.

    ## Example
    ```python
    # scores: (b, h, t, t), mask: (b, t, t)
    scores = scores.masked_fill(mask, float("-inf"))
    ```

    ## Use instead
    ```python
    scores = scores.masked_fill(mask.unsqueeze(1), float("-inf"))   # (b, 1, t, t)
    ```

    ## Known problems
    Only masks whose axis 0 is provably the scores' batch size are reported; a mask whose batch
    size the analysis cannot relate to the scores (built elsewhere, sizes unknown) is not checked.
    """

    code = "SHP210"
    name = "mask-broadcast-onto-heads"
    summary = "A (batch, queries, keys) mask broadcasts its batch axis onto the heads of (batch, heads, ...) scores"

    VALID = [
        '''
from torch import Tensor
from jaxtyping import Bool, Float


def masked(scores: Float[Tensor, "b h i j"], mask: Bool[Tensor, "b i j"]):
    return scores.masked_fill(mask.unsqueeze(1), float("-inf")).softmax(dim=-1)
''',
        # near miss: a per-head bias (ALiBi) of shape (heads, i, j) lines up with the heads
        '''
from torch import Tensor
from jaxtyping import Float


def biased(scores: Float[Tensor, "b h i j"], bias: Float[Tensor, "h i j"]):
    return (scores + bias).softmax(dim=-1)
''',
        # near miss: a causal mask of shape (i, j) is shared by every batch and head
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def causal(scores: Float[Tensor, "b h t t"]):
    t = scores.size(-1)
    mask = torch.ones(t, t, dtype=torch.bool).triu(1)
    return scores.masked_fill(mask, float("-inf"))
''',
    ]
    INVALID = [
        '''
import torch
from torch import Tensor
from jaxtyping import Bool, Float


def masked(x: Float[Tensor, "b t c"], mask: Bool[Tensor, "b t t"], n_head: int):
    B, T, C = x.shape
    q = x.view(B, T, n_head, C // n_head).transpose(1, 2)
    scores = q @ q.transpose(-2, -1)
    return scores.masked_fill(mask, float("-inf")).softmax(dim=-1)
''',
        '''
import torch.nn.functional as F
from torch import Tensor, nn


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)

    def forward(self, x: Tensor, bias: Tensor):
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        bias = bias.view(b, n, n)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
''',
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def attend(x: Float[Tensor, "b t c"], pad: Float[Tensor, "b t"], n_head: int):
    B, T, C = x.shape
    q = x.view(B, T, n_head, C // n_head).transpose(1, 2)
    att = q @ q.transpose(-2, -1)
    att = att + pad[:, None, :]
    return att.softmax(dim=-1)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        q = ev.qualname
        if q in _MASKING or q in _ADD:
            scores, mask = arg(ev, 0), arg(ev, 1, "mask" if q in _MASKING else "other")
            if isinstance(scores, Shape) and isinstance(mask, Shape) and scores.rank == 3 and mask.rank == 4 \
                    and q in _ADD:
                scores, mask = mask, scores
            if isinstance(scores, Shape) and isinstance(mask, Shape):
                self._check(ctx, ev, scores.dims if scores.rank == 4 else None, mask, f"{who(scores, 'the scores')} "
                            f"{dims_text(ctx, scores, ev.node) if scores.rank == 4 else ''}")
        elif q in _SDPA:
            query, key, mask = arg(ev, 0, "query"), arg(ev, 1, "key"), arg(ev, 3, "attn_mask")
            if not all(isinstance(v, Shape) for v in (query, key, mask)) or query.rank != 4 or key.rank != 4:
                return
            dims = (axis(query, 0), axis(query, 1), axis(query, 2), axis(key, 2))
            self._check(ctx, ev, dims, mask, "the attention scores of `scaled_dot_product_attention`")

    def _check(self, ctx, ev, dims, mask: Shape, scores_text: str) -> None:
        if dims is None or mask.is_any or mask.rank != 3 or any(d is None for d in dims):
            return
        b, h, i, j = dims
        m0, mi, mj = axis(mask, 0), axis(mask, 1), axis(mask, 2)
        if m0 is None or mi is None or mj is None or _one(ctx, m0) or _one(ctx, b):
            return
        if compare_before(ctx, ev.node, m0, b) != "eq" or compare_before(ctx, ev.node, h, b) != "unknown":
            return  # heads equal to the batch: nothing to tell; provably different: SHP102 reports it
        for m, s in ((mi, i), (mj, j)):
            if not _one(ctx, m) and compare_before(ctx, ev.node, m, s) != "eq":
                return  # the mask's last axes are not the queries and keys: some other layout
        ctx.report(
            self.code, ev.node,
            f"mask {(who(mask, '') + ' ').lstrip()}{dims_text(ctx, mask, ev.node)} has the batch axis first, but broadcasting "
            f"aligns it with the heads of {scores_text.strip()}",
            notes=("shapes broadcast from the right: the mask's axis 0 meets the scores' axis 1",),
            help="insert the heads axis: `mask.unsqueeze(1)` (batch, 1, queries, keys)",
        )
