"""SHP204 attention-over-heads."""

from __future__ import annotations

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import MATMUL, arg, axis_note, dims_text, is_heads_axis, looks_like, qd, register, who

_SDPA = {"torch.nn.functional.scaled_dot_product_attention"}
_FLASH = {"flash_attn.flash_attn_func", "flash_attn.flash_attn_interface.flash_attn_func"}


def _batched(v) -> bool:
    """At least three axes, or a leading batch of unknown rank before two known axes."""
    if not isinstance(v, Shape):
        return False
    if v.rank is not None:
        return v.rank >= 3
    return v.variadic_index == 0 and len(v.dims) >= 3


@register
class AttentionOverHeads(LintRule):
    """Attention applied to `(batch, seq, heads, d_head)` tensors: it attends over the heads.

    ## What it does
    `F.scaled_dot_product_attention` and hand-written `q @ k.transpose(-2, -1)` treat axis -2 as
    the sequence. The rule flags them when axis -2 of the queries is the head axis — structurally
    (the last axis is `features // axis_-2`, as produced by `view(B, T, n_head, C // n_head)`) or
    by name (`heads`, `n_head`) where shapes cannot decide. It also flags the opposite mistake for
    `flash_attn_func`, which expects `(batch, seq, heads, d_head)`.

    ## Why is this bad?
    After `view(B, T, n_head, d_head)` the heads are at axis -2. Forgetting the `.transpose(1, 2)`
    makes every position attend over its own heads: a `(B, T, n_head, n_head)` score matrix. No
    error is raised, since all the shapes still line up, and causal masking silently stops
    working because the mask is applied to the head axis.

    ## Example
    ```python
    q = q.view(B, T, self.n_head, C // self.n_head)
    k = k.view(B, T, self.n_head, C // self.n_head)
    v = v.view(B, T, self.n_head, C // self.n_head)
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    ```

    ## Use instead
    ```python
    q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
    ```

    ## Known problems
    Architectures that mix information across heads on purpose (talking-heads attention) do so
    with explicit projections, not with SDPA; they are not affected. Head axes recognised only by
    name rely on conventional spellings.
    """

    code = "SHP204"
    calls = frozenset(_SDPA | _FLASH | MATMUL)
    name = "attention-over-heads"
    summary = "Attention over (batch, seq, heads, d_head) tensors attends over the heads"

    VALID = [
        '''
import torch.nn.functional as F

def attend(x, n_head: int):
    B, T, C = x.size()
    q = x.view(B, T, n_head, C // n_head).transpose(1, 2)
    return F.scaled_dot_product_attention(q, q, q, is_causal=True)
''',
        # near miss: heads folded into the batch, sequence at axis -2
        '''
import torch


def attend(x, n_head: int):
    B, T, C = x.size()
    q = x.view(B, T, n_head, C // n_head).transpose(1, 2).reshape(B * n_head, T, C // n_head)
    return (q @ q.transpose(-2, -1)).softmax(dim=-1) @ q
''',
        # near miss: "h" next to a "w" is a height, not a head count
        '''
import torch
import torch.nn.functional as F
from torch import Tensor
from jaxtyping import Float


def attend_over_rows(x: Float[Tensor, "b c h w"]):
    return F.scaled_dot_product_attention(x, x, x)
''',
    ]
    INVALID = [
        '''
import torch.nn.functional as F

def attend(x, n_head: int):
    B, T, C = x.size()
    q = x.view(B, T, n_head, C // n_head)
    return F.scaled_dot_product_attention(q, q, q, is_causal=True)
''',
        '''
import math
import torch

def attend(x, n_head: int):
    B, T, C = x.size()
    q = x.view(B, T, n_head, C // n_head)
    k = x.view(B, T, n_head, C // n_head)
    att = (q @ k.transpose(-2, -1)) / math.sqrt(C // n_head)
    return att.softmax(dim=-1)
''',
        '''
import torch
import torch.nn.functional as F
from torch import Tensor
from jaxtyping import Float


def attend(q: Float[Tensor, "b t h d"], k: Float[Tensor, "b t h d"], v: Float[Tensor, "b t h d"]):
    return F.scaled_dot_product_attention(q, k, v)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        q = ev.qualname
        if q in _SDPA:
            query = arg(ev, 0, "query")
            if self._heads_at_seq(ctx, query):
                ctx.report(
                    self.code, ev.node,
                    f"`scaled_dot_product_attention` attends over axis -2 of {who(query, 'the queries')}, which "
                    f"is the head axis {qd(ctx.resolve(query.dims[-2]))}",
                    notes=(axis_note(ctx, query, -2), "SDPA expects (batch, heads, seq, d_head)"),
                    help="move the heads before the sequence: `.transpose(1, 2)` on query, key and value",
                )
        elif q in _FLASH:
            query = arg(ev, 0, "q")
            if isinstance(query, Shape) and query.rank == 4 and is_heads_axis(ctx, query, 1, allow_h=True) \
                    and not is_heads_axis(ctx, query, 2, allow_h=True):
                ctx.report(
                    self.code, ev.node,
                    f"`flash_attn_func` expects (batch, seq, heads, d_head) but axis 1 of {who(query)} is the "
                    f"head axis {qd(ctx.resolve(query.dims[1]))}: it attends over the heads",
                    notes=(axis_note(ctx, query, 1),),
                    help="pass `.transpose(1, 2)` of query, key and value",
                )
        elif q in MATMUL:
            a, b = arg(ev, 0, "input"), arg(ev, 1, "other")
            if not (_batched(a) and _batched(b)):
                return
            # scores: (..., heads, d) @ (..., d, heads); "... heads d" (a leading batch of unknown rank) too
            if self._heads_at_seq(ctx, a) and (b.rank == a.rank or a.rank is None or b.rank is None) \
                    and ctx.compare(a.dims[-2], b.dims[-1]) == "eq":
                ctx.report(
                    self.code, ev.node,
                    f"attention scores over the head axis {qd(ctx.resolve(a.dims[-2]))}: {who(a)} is laid out "
                    f"{dims_text(ctx, a, ev.node)}, with the heads where the sequence should be",
                    notes=(axis_note(ctx, a, -2),),
                    help="move the heads before the sequence: `.transpose(1, 2)` after splitting them",
                )

    @staticmethod
    def _heads_at_seq(ctx, v) -> bool:
        if not _batched(v):
            return False
        allow_h = not any(looks_like(d, "width") for d in v.dims)  # "h" is a height next to a "w"
        if v.rank is None:  # "... heads d": axis -3 lies in the unknown leading part
            return is_heads_axis(ctx, v, -2, allow_h=allow_h) and len(v.dims) == 3
        return is_heads_axis(ctx, v, -2, allow_h=allow_h) and not is_heads_axis(ctx, v, -3, allow_h=allow_h)
