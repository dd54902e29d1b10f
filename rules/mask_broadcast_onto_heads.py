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
    `masked_fill`, added to the scores, the condition of `torch.where`, or passed as `attn_mask`
    to `scaled_dot_product_attention`) whose axis 0 is the scores' batch axis (the same size
    symbol) while the scores' axis 1 is a different axis, and whose last two axes fit the scores'
    last two.
    The same holds one axis further in: a `(1, windows, n, n)` shifted-window mask added to
    `(batch, windows, heads, n, n)` scores meets the heads with its windows axis.

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
    calls = frozenset(_MASKING | _ADD | _SDPA | {"torch.where"})
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
        # Swin's shifted-window mask (windows, n, n) on (batch, windows, heads, n, n) scores, heads inserted
        '''
from torch import Tensor, nn
from jaxtyping import Float


class WindowAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)

    def forward(self, x: Float[Tensor, "bw n c"], mask: Float[Tensor, "nw n n"]):
        B_, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = q @ k.transpose(-2, -1)
        nW = mask.shape[0]
        attn = attn.view(B_ // nW, nW, self.num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
        return attn.view(-1, self.num_heads, N, N).softmax(dim=-1)
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
        '''
import torch
from torch import Tensor
from jaxtyping import Bool


def masked(scores: Tensor, keep: Bool[Tensor, "b t t"], heads: int):
    b, t, _ = keep.shape
    scores = scores.view(b, heads, t, t)
    return torch.where(keep, scores, torch.finfo(scores.dtype).min).softmax(dim=-1)
''',
        # the same without the heads axis: the windows meet the heads
        '''
from torch import Tensor, nn
from jaxtyping import Float


class WindowAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)

    def forward(self, x: Float[Tensor, "bw n c"], mask: Float[Tensor, "nw n n"]):
        B_, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = q @ k.transpose(-2, -1)
        nW = mask.shape[0]
        attn = attn.view(B_ // nW, nW, self.num_heads, N, N) + mask.unsqueeze(0)
        return attn.view(-1, self.num_heads, N, N).softmax(dim=-1)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        q = ev.qualname
        if q in _MASKING or q in _ADD:
            scores, mask = arg(ev, 0), arg(ev, 1, "mask" if q in _MASKING else "other")
            if not isinstance(scores, Shape) or not isinstance(mask, Shape) or scores.is_any or mask.is_any \
                    or scores.rank is None or mask.rank is None:
                return
            if q in _ADD and mask.rank == scores.rank + 1:
                scores, mask = mask, scores
            if scores.rank >= 4:
                self._check(ctx, ev, scores.dims, mask,
                            f"{who(scores, 'the scores')} {dims_text(ctx, scores, ev.node)}")
        elif q == "torch.where":
            cond, a, b = arg(ev, 0, "condition"), arg(ev, 1, "input"), arg(ev, 2, "other")
            scores = next((v for v in (a, b) if isinstance(v, Shape) and v.rank is not None and v.rank >= 4), None)
            if scores is not None and isinstance(cond, Shape) and not cond.is_any:
                self._check(ctx, ev, scores.dims, cond,
                            f"{who(scores, 'the scores')} {dims_text(ctx, scores, ev.node)}")
        elif q in _SDPA:
            query, key, mask = arg(ev, 0, "query"), arg(ev, 1, "key"), arg(ev, 3, "attn_mask")
            if not all(isinstance(v, Shape) for v in (query, key, mask)) or query.rank != 4 or key.rank != 4:
                return
            dims = (axis(query, 0), axis(query, 1), axis(query, 2), axis(key, 2))
            self._check(ctx, ev, dims, mask, "the attention scores of `scaled_dot_product_attention`")

    def _check(self, ctx, ev, dims, mask: Shape, scores_text: str) -> None:
        """``mask`` has one axis fewer than the scores ``dims``: right-aligned, its axis ``k`` meets the
        scores' axis ``k + 1``. Reported when a leading mask axis is the scores' axis ``k`` itself."""
        if mask.is_any or mask.rank is None or mask.rank != len(dims) - 1 or any(d is None for d in dims):
            return
        mdims = [axis(mask, i) for i in range(mask.rank)]
        if any(d is None for d in mdims):
            return
        for m, s in ((mdims[-2], dims[-2]), (mdims[-1], dims[-1])):
            if not _one(ctx, m) and compare_before(ctx, ev.node, m, s) != "eq":
                return  # the mask's last axes are not the queries and keys: some other layout
        for k in range(mask.rank - 2):
            m, own, met = mdims[k], dims[k], dims[k + 1]
            if _one(ctx, m) or _one(ctx, own):
                continue
            if compare_before(ctx, ev.node, m, own) != "eq" or compare_before(ctx, ev.node, met, own) != "unknown":
                continue  # the axis it meets is the same size (nothing to tell) or provably not (SHP102 says so)
            if compare_before(ctx, ev.node, m, met) == "eq":
                continue
            ctx.report(
                self.code, ev.node,
                f"mask {(who(mask, '') + ' ').lstrip()}{dims_text(ctx, mask, ev.node)} lacks the heads axis: "
                f"its axis {k} meets axis {k + 1} of {scores_text.strip()}",
                notes=(f"shapes broadcast from the right: the mask's axis {k} meets the scores' axis {k + 1}",),
                help=f"insert the heads axis: `mask.unsqueeze({k + 1})`",
            )
            return
