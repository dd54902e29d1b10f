"""SHP213 queries-on-the-key-axis."""

from __future__ import annotations

import ast
import re

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import (EINOPS_EINSUM, EINSUM, ELEMENTWISE, MATMUL, SOFTMAX_CALLS, carry, einsum_operands, neg_dim,
                      operand_name, operand_nodes, register, softmax_call, tag)

LAYOUT = "qk_layout"  # (product node, queries' name, keys' name, "the einsum"/"the product") on (keys, queries) scores

_QUERY = re.compile(r"(q|qs|query|queries)(_\w+)?|\w+_(q|query)")
_KEY = re.compile(r"(k|ks|key|keys)(_\w+)?|\w+_(k|key)")


def _transposed(node) -> bool:
    """``q.transpose(-2, -1)``, ``q.mT``, ``q.permute(0, 2, 1)``: the operand of a product that gives scores."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("transpose", "swapaxes", "swapdims", "permute")
    return isinstance(node, ast.Attribute) and node.attr in ("mT", "T")


def _roles(nodes) -> tuple | None:
    """(index of the queries' operand, index of the keys', their names), or None."""
    names = [operand_name(n) for n in nodes]
    roles = ["q" if n and _QUERY.fullmatch(n) else "k" if n and _KEY.fullmatch(n) else None for n in names]
    if len(roles) != 2 or sorted(r or "" for r in roles) != ["k", "q"]:
        return None
    return roles.index("q"), roles.index("k"), names


@register
class QueriesOnTheKeyAxis(LintRule):
    """Attention scores computed with the queries' positions last, then normalised over the last axis.

    ## What it does
    Follows an `einsum` (or a matrix product, `k @ q.transpose(-2, -1)`) of two operands named as queries and
    keys (`q`, `query`, `q_i`, `k`, `keys`, `k_self`...) that keeps one position axis of each: attention code
    lays the scores out as `(..., queries, keys)` and normalises each query's row over the keys, the last axis.
    The rule reports the product when its output puts the queries' positions last and the keys' next to last,
    and a softmax over the last axis follows (directly or through elementwise ops: scaling, masking, a bias).

    ## Why is this bad?
    The operands of `einsum("b h i d, b h j d -> b h i j", q, k)` given in the other order, `(k, q)`, make
    `sim[..., i, j]` the score of key `i` for query `j`. With self-attention the shape is the same, so nothing
    fails: the softmax then normalises each key's scores over the queries, and the product with the values mixes
    them with weights that do not sum to one per query (with a causal mask, future positions leak in). The model
    trains, worse.

    ## Example
    ```python
    sim = einsum("b h i d, b h j d -> b h i j", k, q) * scale
    attn = sim.softmax(dim=-1)
    ```

    ## Use instead
    ```python
    sim = einsum("b h i d, b h j d -> b h i j", q, k) * scale
    attn = sim.softmax(dim=-1)
    ```

    The scores are followed through an einsum that keeps them on its last two axes (talking heads mixing the
    heads before the softmax, `einsum("b h i j, h g -> b g i j", sim, mix)`).

    ## Known problems
    Queries and keys are known by their names only: operands named otherwise (a projection called in place,
    `self.to_q(x)`), or scores transposed or reshaped before the softmax, are not followed. Scores laid out
    `(keys, queries)` on purpose and normalised over the keys (`softmax(dim=-2)`) are right, and not reported.
    """

    code = "SHP213"
    name = "queries-on-the-key-axis"
    summary = "Attention scores put the queries' positions last, and the softmax normalises over them"
    calls = frozenset(ELEMENTWISE | EINSUM | EINOPS_EINSUM | MATMUL | SOFTMAX_CALLS)

    VALID = [
        # talking heads with the queries first: the scores (queries, keys) kept on the last two axes
        '''
import torch
from torch import einsum


def attend(q, k, v, mix):
    dots = einsum("b h i d, b h j d -> b h i j", q, k)
    dots = einsum("b h i j, h g -> b g i j", dots, mix)
    return einsum("b h i j, b h j d -> b h i d", dots.softmax(dim=-1), v)
''',
        '''
import torch
from torch import einsum


def attend(q, k, v, scale):
    sim = einsum("b h i d, b h j d -> b h i j", q, k) * scale
    attn = sim.softmax(dim=-1)
    return einsum("b h i j, b h j d -> b h i d", attn, v)
''',
        # near miss: the keys first in the call, the output still (queries, keys)
        '''
import torch


def attend(q, k, v):
    sim = torch.einsum("bhjd,bhid->bhij", k, q)
    return torch.einsum("bhij,bhjd->bhid", sim.softmax(dim=-1), v)
''',
        # near miss: laid out (keys, queries) on purpose and normalised over the keys
        '''
import torch


def attend(q, k, v):
    sim = torch.einsum("bid,bjd->bij", k, q)
    return torch.einsum("bij,bid->bjd", sim.softmax(dim=-2), v)
''',
        # near miss: the product with the keys transposed, (queries, keys)
        '''
import torch


def attend(q, k, v):
    attn = torch.softmax(q @ k.transpose(-2, -1), dim=-1)
    return attn @ v
''',
        # near miss: not a product of queries and transposed keys (the keys' features mixed by the queries' rows)
        '''
import torch


def mix(q, k):
    return torch.softmax(k @ q, dim=-1)
''',
        # near miss: slots attend over the inputs and compete for them, a softmax over the slots (the queries)
        '''
import torch


def slot_step(q, k, v):
    dots = torch.einsum("bid,bjd->bij", q, k)
    attn = dots.softmax(dim=1) + 1e-8
    attn = attn / attn.sum(dim=-1, keepdim=True)
    return torch.einsum("bjd,bij->bid", v, attn)
''',
    ]
    INVALID = [
        # talking heads: the heads mixed before the softmax, the scores still (keys, queries)
        '''
import torch
from torch import einsum


def attend(q, k, v, mix):
    dots = einsum("b h i d, b h j d -> b h i j", k, q)
    dots = einsum("b h i j, h g -> b g i j", dots, mix)
    return einsum("b h i j, b h j d -> b h i d", dots.softmax(dim=-1), v)
''',
        '''
import torch


def attend(q, k, v):
    scores = torch.matmul(k, q.transpose(-2, -1))
    return torch.matmul(scores.softmax(dim=-1), v)
''',
        '''
import torch
from torch import einsum


def attend(q, k, v, scale):
    sim = einsum("b h i d, b h j d -> b h i j", k, q) * scale
    attn = sim.softmax(dim=-1)
    return einsum("b h i j, b h j d -> b h i d", attn, v)
''',
        '''
import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.to_qkv = nn.Linear(dim, dim * 3)

    def forward(self, x, mask):
        query, key, value = self.to_qkv(x).chunk(3, dim=-1)
        scores = torch.einsum("bnd,bmd->bnm", key, query)
        scores = scores.masked_fill(mask, float("-inf"))
        return torch.einsum("bnm,bmd->bnd", F.softmax(scores, dim=-1), value)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        q = ev.qualname
        carry(ev, ctx, (LAYOUT,))
        if q in EINSUM or q in EINOPS_EINSUM:
            self._tag_layout(ev, ctx)
            return
        if q in MATMUL:
            # ``k @ q.transpose(-2, -1)``: the left operand's positions are the result's rows, the right one's its
            # columns
            nodes = operand_nodes(ev, MATMUL)
            r = _roles(nodes)
            if r is not None and r[0] == 1 and _transposed(nodes[1]) and isinstance(ev.result, Shape):
                ctx.tag_result(LAYOUT, (ev.node, r[2][1], r[2][0], "the product"))
            return
        sm = softmax_call(ev)
        if sm is None:
            return
        x, dim, _log = sm
        t = tag(x, LAYOUT)
        if t is None or not isinstance(x, Shape) or neg_dim(dim, x) != -1:
            return
        node, qn, kn, what = t
        ctx.report(
            self.code, node,
            f"{what} puts the positions of the queries `{qn}` last and those of the keys `{kn}` next to last, and the "
            f"softmax at line {getattr(ev.node, 'lineno', '?')} normalises over the last axis: each key's scores over "
            "the queries",
            notes=("attention normalises each query's scores over the keys",),
            help=(f"give the einsum `{qn}` first, or name the queries' positions next to last in its output"
                  if what == "the einsum" else f"multiply `{qn}` by the transposed `{kn}`"),
        )

    def _tag_layout(self, ev, ctx) -> None:
        parsed = einsum_operands(ev)
        nodes = operand_nodes(ev, MATMUL)
        if parsed is None or len(nodes) != 2 or not isinstance(ev.result, Shape):
            return
        subs, out, ops, _ell = parsed
        if len(subs) != 2 or len(out) < 2:
            return
        for i, op in enumerate(ops):
            # talking heads, ``einsum("b h i j, h g -> b g i j", sim, mix)``: the heads mixed, each score where it
            # was on the last two axes
            t = tag(op, LAYOUT) if isinstance(op, Shape) else None
            if t is not None and len(subs[i]) >= 2 and out[-2:] == subs[i][-2:] \
                    and not set(subs[i][-2:]) & set(subs[1 - i]):
                ctx.tag_result(LAYOUT, t)
                return
        r = _roles(nodes)
        if r is None:
            return
        qi, ki, names = r
        free_q = [s for s in subs[qi] if s in out and s not in subs[ki]]
        free_k = [s for s in subs[ki] if s in out and s not in subs[qi]]
        if len(free_q) == 1 and len(free_k) == 1 and out[-1] == free_q[0] and out[-2] == free_k[0]:
            ctx.tag_result(LAYOUT, (ev.node, names[qi], names[ki], "the einsum"))
