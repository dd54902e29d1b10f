"""SHP206 padding-mask-on-query-axis."""

from __future__ import annotations

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import (ELEMENTWISE, MATMUL, SOFTMAX_CALLS, arg, axis, carry, dims_text, eq, is_literal, neg_dim,
                      register, softmax_call, tag, who)

SCORES = "pm_scores"
QUERY_MASKED = "pm_query_masked"  # (node, mask text) where a mask broadcast along the keys was applied
KEY_MASKED = "pm_key_masked"

_SDPA = {"torch.nn.functional.scaled_dot_product_attention"}
_MASKING = {"torch.Tensor.masked_fill", "torch.Tensor.masked_fill_", "torch.masked_fill"}
_ADD = {"torch.Tensor.__add__", "torch.Tensor.__radd__", "torch.Tensor.add", "torch.add", "torch.Tensor.add_"}
_EINSUM = {"torch.einsum", "torch.functional.einsum"}


def _is_one(d) -> bool:
    return is_literal(d) and d.value == 1


def _layout(ctx, s_q, s_k, mask: Shape) -> str | None:
    """``query`` when the mask varies along the query axis ``s_q`` only, ``key`` along ``s_k`` only."""
    if mask.rank is None or mask.rank < 2:
        return None
    m_q, m_k = axis(mask, -2), axis(mask, -1)
    if s_q is None or s_k is None or _is_one(s_k) or _is_one(s_q):
        return None
    if _is_one(m_k) and m_q is not None and not _is_one(m_q) and eq(ctx, m_q, s_q):
        return "query"
    if _is_one(m_q) and m_k is not None and not _is_one(m_k) and eq(ctx, m_k, s_k):
        return "key"
    return None


@register
class PaddingMaskOnQueryAxis(LintRule):
    """A padding mask broadcast along the query axis of the scores instead of the key axis.

    ## What it does
    Attention scores are `(..., queries, keys)`. A padding mask built from a `(batch, seq)` tensor
    must be expanded to `(batch, 1, 1, seq)` so that it broadcasts over the *queries* and masks
    *keys*. The rule flags a mask of layout `(..., seq, 1)` applied to scores `(..., seq, seq)`
    (with `masked_fill` or added to them) that are then normalised with a softmax over the keys,
    when no mask along the key axis was applied; and such a mask passed as `attn_mask` to
    `scaled_dot_product_attention`.

    ## Why is this bad?
    With self-attention the two axes have the same size, so a mask unsqueezed at the wrong place
    broadcasts without error. It blanks whole *rows*: padded queries get all `-inf` scores (NaN
    after the softmax, which then spreads through the loss), and real queries still attend to the
    padding.

    ## Example
    ```python
    mask = pad[:, None, :, None]      # (B, 1, T, 1)
    att = att.masked_fill(mask, float("-inf"))
    att = att.softmax(dim=-1)
    ```

    ## Use instead
    ```python
    mask = pad[:, None, None, :]      # (B, 1, 1, T)
    ```

    ## Known problems
    Code that masks padded queries *and* keys (two masks) is not reported. A mask whose layout the
    analysis cannot see (built in another module, or of unknown rank) is not checked.
    """

    code = "SHP206"
    calls = frozenset(ELEMENTWISE | MATMUL | _EINSUM | _MASKING | _ADD | SOFTMAX_CALLS | _SDPA)
    name = "padding-mask-on-query-axis"
    summary = "A padding mask broadcasts along the query axis of the attention scores, not the key axis"

    VALID = [
        '''
import torch
from torch import Tensor
from jaxtyping import Bool, Float


def attend(q: Float[Tensor, "b h t d"], k: Float[Tensor, "b h t d"], v: Float[Tensor, "b h t d"],
           pad: Bool[Tensor, "b t"]):
    B, H, T, D = q.shape
    att = q @ k.transpose(-2, -1)
    att = att.masked_fill(pad.view(B, 1, 1, T), float("-inf"))
    return att.softmax(dim=-1) @ v
''',
        # near miss: padded query rows zeroed after the softmax
        '''
import torch
from torch import Tensor
from jaxtyping import Bool, Float


def attend(q: Float[Tensor, "b h t d"], k: Float[Tensor, "b h t d"], v: Float[Tensor, "b h t d"],
           pad: Bool[Tensor, "b t"]):
    B, H, T, D = q.shape
    att = (q @ k.transpose(-2, -1)).masked_fill(pad.view(B, 1, 1, T), float("-inf")).softmax(dim=-1)
    att = att.masked_fill(pad.view(B, 1, T, 1), 0.0)
    return att @ v
''',
        # near miss: padded positions of per-token logits (batch, seq, vocab) blanked before a log_softmax
        '''
import torch
from torch import Tensor
from jaxtyping import Bool, Float


def token_log_probs(logits: Float[Tensor, "b t v"], pad: Bool[Tensor, "b t"]):
    return logits.masked_fill(pad.unsqueeze(-1), 0.0).log_softmax(dim=-1)
''',
        # cross-attention with the key padding mask in place
        '''
import math
import torch
from torch import Tensor
from jaxtyping import Bool, Float


def cross_attention(q: Float[Tensor, "b h tq d"], k: Float[Tensor, "b h tk d"], v: Float[Tensor, "b h tk d"],
                    pad: Bool[Tensor, "b tk"]):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
    return scores.softmax(dim=-1) @ v
''',
    ]
    INVALID = [
        '''
import torch
from torch import Tensor
from jaxtyping import Bool, Float


def attend(q: Float[Tensor, "b h t d"], k: Float[Tensor, "b h t d"], v: Float[Tensor, "b h t d"],
           pad: Bool[Tensor, "b t"]):
    B, H, T, D = q.shape
    att = q @ k.transpose(-2, -1)
    att = att.masked_fill(pad.view(B, 1, T, 1), float("-inf"))
    return att.softmax(dim=-1) @ v
''',
        '''
import torch.nn.functional as F
import torch
from torch import Tensor
from jaxtyping import Bool, Float


def attend(q: Float[Tensor, "b h t d"], k: Float[Tensor, "b h t d"], v: Float[Tensor, "b h t d"],
           pad: Bool[Tensor, "b t"]):
    B, H, T, D = q.shape
    mask = pad.view(B, 1, T, 1)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        q = ev.qualname
        carry(ev, ctx, (SCORES, QUERY_MASKED, KEY_MASKED))
        if q in MATMUL or q in _EINSUM:
            shapes = [v for v in ev.args if isinstance(v, Shape)]
            if len(shapes) == 2 and isinstance(ev.result, Shape) and (ev.result.rank or 0) >= 2:
                ctx.tag_result(SCORES, True)
        elif q in _MASKING or q in _ADD:
            scores, mask = arg(ev, 0), arg(ev, 1, "mask" if q in _MASKING else "other")
            if q in _ADD and tag(mask, SCORES) and not tag(scores, SCORES):
                scores, mask = mask, scores
            if not isinstance(scores, Shape) or not isinstance(mask, Shape):
                return
            if not tag(scores, SCORES) and not eq(ctx, axis(scores, -1), axis(scores, -2)):
                return  # neither a product of two activations nor square (..., seq, seq) scores
            layout = _layout(ctx, axis(scores, -2), axis(scores, -1), mask)
            if layout == "query" and not tag(scores, KEY_MASKED):
                ctx.tag_result(QUERY_MASKED, (ev.node, who(mask, ""), dims_text(ctx, mask, ev.node),
                                              f"the scores {dims_text(ctx, scores, ev.node)}"))
            elif layout == "key":
                ctx.tag_result(KEY_MASKED, True)
                ctx.tag_result(QUERY_MASKED, None)
        elif softmax_call(ev) is not None:
            x, dim, _log = softmax_call(ev)
            t = tag(x, QUERY_MASKED)
            # over the keys (the last axis): a query-masked row is then all -inf / constant
            if t is not None and not tag(x, KEY_MASKED) and neg_dim(dim, x) == -1:
                self._report(ctx, t[0], t[1], t[2], t[3])
        elif q in _SDPA:
            query, key, mask = arg(ev, 0, "query"), arg(ev, 1, "key"), arg(ev, 3, "attn_mask")
            if not isinstance(query, Shape) or not isinstance(key, Shape) or not isinstance(mask, Shape):
                return
            if query.rank is None or key.rank is None or query.rank < 2:
                return
            if _layout(ctx, axis(query, -2), axis(key, -2), mask) == "query":  # scores are (..., L, S)
                self._report(ctx, ev.node, who(mask, ""), dims_text(ctx, mask, ev.node), "the scores, as `attn_mask`")

    def _report(self, ctx, node, mask_who, mask_dims, scores_dims):
        ctx.report(
            self.code, node,
            f"padding mask {mask_who + ' ' if mask_who else ''}of shape {mask_dims} is broadcast along the keys of "
            f"{scores_dims}: it masks query rows instead of key columns",
            notes=("attention scores are (..., queries, keys); a padding mask must be (..., 1, keys)",
                   "fully masked rows become NaN after the softmax"),
            help="unsqueeze the padding mask before the sequence axis: `pad[:, None, None, :]`",
        )
