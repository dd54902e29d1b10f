"""SHP202 attention-softmax-wrong-axis."""

from __future__ import annotations

import ast

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._roles import CHANNEL, CLASS, FEATURE, HEAD, SPATIAL_ROLES
from shapecheck._core._shape import Shape, Unknown, Variadic
from shapecheck._engine._values import EITHER

from .softmax_over_batch_axis import over_batch
from ._common import (EINOPS_EINSUM, EINSUM, ELEMENTWISE, MATMUL, SOFTMAX_CALLS, arg, as_int, axis, carry,
                      compare_before, dims_text, einsum_operands, eq, neg_dim, register, softmax_call, tag, who)

SCORES = "attn_scores"  # (node,) on the result of a product of two activations
SOFTMAX_AXIS = "softmax_axis"  # (axis counted from the end, node) on a softmax over attention scores
SUMMED = "summed_axis"  # (axis counted from the end, or None,) on `x.sum(dim, keepdim=True)`

_SUM = {"torch.Tensor.sum", "torch.sum"}
_CAT = {"torch.cat", "torch.concat", "torch.concatenate"}
_GUMBEL = "torch.nn.functional.gumbel_softmax"
_PER_ITEM = (CHANNEL, CLASS, FEATURE)  # axes a spatially normalised tensor must not be contracted over
_DIV = {"torch.Tensor.__truediv__", "torch.Tensor.div", "torch.div"}
_NORMALIZE = "torch.nn.functional.normalize"
_VIEWS = {"torch.Tensor.view", "torch.Tensor.reshape", "torch.reshape"}


def _fits(v, sub, ell: bool) -> bool:
    """The operand has the axes its subscripts name: as many, or after a leading ``...`` at least as many
    (its last axes, whatever its rank)."""
    if not isinstance(v, Shape):
        return False
    if ell:
        return v.rank is None or v.rank >= len(sub)
    return v.rank == len(sub)



def _kept_tail(ctx, node, x: Shape, y: Shape) -> int:
    """How many last axes a view or reshape of ``x`` into ``y`` keeps whole: the axes, counted from the end, that
    both have with one size (not an unknown one). Row-major, such a reshape regroups only the axes before them,
    so every block of those last axes is carried over intact (``(b*h, i, j)`` viewed as ``(b, h, i, j)`` and back)."""
    n = 0
    for a, b in zip(reversed(x.dims), reversed(y.dims)):
        if isinstance(a, (Variadic, Unknown)) or isinstance(b, (Variadic, Unknown)):
            break
        if not (a == b or compare_before(ctx, node, a, b) == "eq"):  # not one the view's own sizes made one
            break
        n += 1
    return n


def _carry_view(ev, ctx) -> None:
    """Keep the attention facts of weights viewed with their last axes whole (the heads split off the batch to
    add a per-head mask or to return the weights, then merged back, as BART-style attention does): the scores are
    still scores, and a softmax over one of the kept axes (counted from the end) still normalises it; one over an
    axis before them normalised none of the axes the product with the values can contract."""
    x, y = arg(ev, 0, "input"), ev.result
    if not (isinstance(x, Shape) and isinstance(y, Shape)):
        return
    kept = _kept_tail(ctx, ev.node, x, y)
    if kept < 2:
        return

    def fits(t) -> bool:
        # an axis of the kept ones, at the same place from the end; or one before them (a softmax over the batch
        # times the heads of (b * h, i, j)), which is still none of the last axes a product contracts
        return isinstance(t, tuple) and len(t) >= 2 and type(t[0]) is int and t[0] < 0 \
            and (t[0] >= -kept or y.min_rank > kept)

    if tag(x, SCORES) is not None:
        ctx.tag_result(SCORES, tag(x, SCORES))
    t = tag(x, SOFTMAX_AXIS)
    if fits(t):
        ctx.tag_result(SOFTMAX_AXIS, t)
    either = tag(x, EITHER + SOFTMAX_AXIS)
    if either and all(fits(f) for f in either):
        ctx.tag_result(EITHER + SOFTMAX_AXIS, either)


def _softmax_facts(v) -> list:
    """The softmaxes that made the weights ``v``: the one every path made, or the one of each branch of an ``if``
    where they differ (each holds on its path)."""
    t = tag(v, SOFTMAX_AXIS)
    return ([t] if t is not None else []) + list(tag(v, EITHER + SOFTMAX_AXIS) or ())


def _renormalised(node) -> bool:
    """Whether the weights' axis was set by a division by their own sum (``att / att.sum(-1, keepdim=True)``),
    not by a softmax."""
    return isinstance(node, ast.BinOp) or isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "div"


@register
class AttentionSoftmaxWrongAxis(LintRule):
    """Attention weights normalised over one axis but summed over another.

    ## What it does
    Follows the result of a softmax over attention scores (a product of two activations, or a
    square `(..., seq, seq)` tensor such as an annotated `"batch heads query_pos key_pos"` when the
    sizes agree) to the
    product with the values, and checks that the axis the softmax normalised is the axis that the
    product contracts: the last axis for `att @ v`, the subscript that disappears for `einsum`.
    A renormalisation such as `att / att.sum(dim=-1, keepdim=True)` moves the normalised axis.
    Scores of unknown rank count when their axes prove the normalised one is not the last:
    `q @ k.transpose(2, 3)` of unannotated tensors has at least four axes, so a softmax over
    `dim=1` normalises over the heads, not the keys. Scores made in either branch of an `if`, and
    scores joined along the keys (`torch.cat((sim_memory, sim), dim=-1)`), are still scores. Where the
    branches of an `if` normalise the scores over different axes, each softmax is checked against the
    product, as on its own path. The weights are followed through a `view` or `reshape` that keeps their
    last two axes whole (`(b * h, i, j)` viewed as `(b, h, i, j)` to add a per-head mask or to return them,
    and back, as BART-style attention does): it regroups only the axes before them, so a softmax over one of
    those (`dim=0`, the batch times the heads) is still over none of the axes the product can contract.
    The diagnostic points at the softmax, the line to fix, except after a softmax over the last axis
    (the keys, as attention code writes it): then the product, its operands in the wrong order, is.
    Weights renormalised over another axis than the product contracts are reported at the division.
    It also reports a softmax over the heads axis of attention scores (split off the features by a `view` or an einops `(h d)`) at
    once, and, beyond attention, a softmax or `gumbel_softmax` over a *spatial* axis (by role: the
    height or width of a convolution's `(batch, k, height, width)` output) whose result is then
    contracted over its channel, class or feature axis: a codebook or mixture weighted along the
    wrong axis.

    ## Why is this bad?
    `softmax(scores, dim=-2)` normalises over the *queries*: each key's column sums to one, but
    `att @ v` then mixes the values with rows that do not sum to one. With self-attention the
    scores are square, so nothing fails; the model just learns a different, unnormalised operator
    (and with causal masking it leaks information about future positions through the column sums).
    Likewise `F.softmax(logits, dim=-1)` on `(batch, k, height, width)` logits normalises each row
    of pixels, so the codebook mixture `einsum("bkhw,kd->bdhw", probs, book)` weights its `k` codes
    with numbers that do not sum to one (`gumbel_softmax`'s default `dim=-1` does the same).

    ## Example
    ```python
    att = (q @ k.transpose(-2, -1)) * scale
    att = att.softmax(dim=-2)
    y = att @ v
    ```

    ## Use instead
    ```python
    att = att.softmax(dim=-1)
    y = att @ v
    ```

    ## Known problems
    Slot attention and clustering layers normalise over slots and then take a weighted *mean* over
    inputs; they renormalise over the contracted axis first, which the rule follows. A
    renormalisation written another way (`att / (att.sum(-1)[..., None] + eps)`) is not recognised
    and, if the product follows directly, may be reported.
    """

    code = "SHP202"
    calls = frozenset(ELEMENTWISE | MATMUL | EINSUM | EINOPS_EINSUM | SOFTMAX_CALLS | _SUM | _DIV
                      | {_GUMBEL, _NORMALIZE} | _CAT | _VIEWS)
    name = "attention-softmax-wrong-axis"
    summary = "Attention weights are normalised over one axis and contracted with the values over another"

    VALID = [
        # near miss: each branch of an `if` normalises over the keys, spelled otherwise
        '''
import torch
import torch.nn.functional as F
from torch import Tensor
from jaxtyping import Float


def attend(q: Float[Tensor, "b h i d"], k: Float[Tensor, "b h j d"], v: Float[Tensor, "b h j d"], causal: bool):
    sim = q @ k.transpose(-2, -1)
    if causal:
        attn = sim.softmax(dim=3)
    else:
        attn = F.softmax(sim, dim=-1)
    return attn @ v
''',
        # NVlabs/SegFormer ema_head.py: an EM step; the responsibilities are normalised over the bases, then
        # renormalised over the pixels (an L1 norm) before the bases are re-estimated over the pixels
        '''
import torch
import torch.nn.functional as F

def em_step(feats, bases):
    att = torch.einsum("bcn,bck->bnk", feats, bases)
    att = F.softmax(att, dim=2)
    weights = F.normalize(att, dim=1, p=1)
    return torch.einsum("bcn,bnk->bck", feats, weights)
''',
        # near miss: the same codebook, normalised over the codes it contracts
        '''
import torch
import torch.nn.functional as F
from torch import nn


class Quantizer(nn.Module):
    def __init__(self, dim: int, n_codes: int):
        super().__init__()
        self.to_logits = nn.Conv2d(dim, n_codes, 1)
        self.book = nn.Embedding(n_codes, dim)

    def forward(self, img):
        n, c, y, x = img.shape
        probs = F.softmax(self.to_logits(img), dim=1)
        return torch.einsum("bkhw,kd->bdhw", probs, self.book.weight)
''',
        # near miss: a spatial softmax (keypoints) contracted over the same spatial axis
        '''
import torch
from torch import nn


class Keypoints(nn.Module):
    def __init__(self, dim: int, k: int):
        super().__init__()
        self.heat = nn.Conv2d(dim, k, 1)

    def forward(self, img, xs):
        n, c, y, x = img.shape
        w = self.heat(img).softmax(dim=-1)
        return w @ xs
''',
        # near miss: a gate over the heads from a Linear layer is not attention scores
        '''
import torch
from einops import rearrange
from torch import nn


class HeadGate(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.to_gates = nn.Linear(dim, heads)
        self.to_v = nn.Linear(dim, dim)

    def forward(self, x):
        v = rearrange(self.to_v(x), "b n (h d) -> b h n d", h=self.heads)
        gates = rearrange(self.to_gates(x), "b n h -> b h n").softmax(dim=1)
        return v * gates.unsqueeze(-1)
''',
        '''
import torch
from einops import rearrange
from torch import Tensor
from jaxtyping import Float

def talking_heads(dots: Float[Tensor, "b h i j"], mix: Float[Tensor, "h g"], v: Float[Tensor, "b g j d"]):
    # vit-pytorch cait.py: heads are mixed after the softmax; the keys are contracted with the values later
    attn = dots.softmax(dim=-1)
    attn = torch.einsum("b h i j, h g -> b g i j", attn, mix)
    return torch.einsum("b h i j, b h j d -> b h i d", attn, v)
''',
        '''
import torch.nn.functional as F
from torch import Tensor
from jaxtyping import Float


def attend(q: Float[Tensor, "b h t d"], k: Float[Tensor, "b h t d"], v: Float[Tensor, "b h t d"]):
    att = F.softmax(q @ k.transpose(-2, -1), dim=-1)
    return att @ v
''',
        # near miss: slot attention normalises over slots, then renormalises over the inputs
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def slots(q: Float[Tensor, "b i d"], k: Float[Tensor, "b j d"], v: Float[Tensor, "b j d"]):
    att = torch.einsum("bid,bjd->bij", q, k).softmax(dim=1) + 1e-8
    att = att / att.sum(dim=-1, keepdim=True)
    return torch.einsum("bij,bjd->bid", att, v)
''',
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def attend(q: Float[Tensor, "b h t d"], k: Float[Tensor, "b h t d"], v: Float[Tensor, "b h t d"]):
    att = torch.einsum("bhqd,bhkd->bhqk", q, k).softmax(dim=3)
    return torch.einsum("bhqk,bhkd->bhqd", att, v)
''',
        # near miss: efficient (linear) attention normalises projections, not scores
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def efficient_attention(q: Float[Tensor, "b h n d"], k: Float[Tensor, "b h n d"], v: Float[Tensor, "b h n e"]):
    q = q.softmax(dim=-1)
    k = k.softmax(dim=-2)
    return q @ (k.transpose(-2, -1) @ v)
''',
        # near miss: unannotated scores of at least two axes; softmax over dim 1 is the last axis of two, so
        # nothing proves it is not the one the product contracts
        '''
import torch


def attend(q, k, v):
    scores = torch.matmul(q, k.transpose(-2, -1))
    return torch.matmul(scores.softmax(dim=1), v)
''',
        # unannotated scores of at least four axes normalised over the last one
        '''
import torch


def attend(q, k, v, scale):
    scores = torch.matmul(q * scale, k.transpose(2, 3))
    return torch.matmul(torch.softmax(scores, dim=-1), v)
''',
        # scores over memories and over local keys joined along the keys, normalised over them
        '''
import torch
from einops import rearrange
from torch import nn


class MemoryAttention(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, heads * dim_head, bias=False)
        self.to_kv = nn.Linear(dim, heads * dim_head * 2, bias=False)

    def forward(self, x, mem):
        q = rearrange(self.to_q(x), "b n (h d) -> b h n d", h=self.heads)
        k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in self.to_kv(x).chunk(2, dim=-1))
        mk, mv = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in self.to_kv(mem).chunk(2, dim=-1))
        sim = torch.cat((torch.einsum("bhid,bhjd->bhij", q, mk), torch.einsum("bhid,bhjd->bhij", q, k)), dim=-1)
        attn = sim.softmax(dim=-1)
        return torch.einsum("bhij,bhjd->bhid", attn, torch.cat((mv, v), dim=-2))
''',
        # near miss: BART-style weights normalised over the keys on both paths of the dtype test, then viewed with
        # the heads split off and merged back (the last two axes kept whole) before the product with the values
        '''
import torch
from torch import nn


class BartStyleAttention(nn.Module):
    def __init__(self, embed_dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)

    def _shape(self, t, seq_len: int, bsz: int):
        return t.view(bsz, seq_len, self.num_heads, self.head_dim).transpose(1, 2).contiguous()

    def forward(self, x, head_mask=None, output_attentions: bool = False):
        bsz, tgt_len, _ = x.size()
        proj_shape = (bsz * self.num_heads, -1, self.head_dim)
        q = self._shape(self.q_proj(x), tgt_len, bsz).view(*proj_shape)
        k = self._shape(self.k_proj(x), -1, bsz).view(*proj_shape)
        v = self._shape(self.v_proj(x), -1, bsz).view(*proj_shape)
        src_len = k.size(1)
        w = torch.bmm(q, k.transpose(1, 2))
        if w.dtype == torch.float16:
            w = nn.functional.softmax(w, dim=-1, dtype=torch.float32).to(torch.float16)
        else:
            w = nn.functional.softmax(w, dim=-1)
        if head_mask is not None:
            w = head_mask.view(1, -1, 1, 1) * w.view(bsz, self.num_heads, tgt_len, src_len)
            w = w.view(bsz * self.num_heads, tgt_len, src_len)
        if output_attentions:
            w_reshaped = w.view(bsz, self.num_heads, tgt_len, src_len)
            w = w_reshaped.view(bsz * self.num_heads, tgt_len, src_len)
        else:
            w_reshaped = None
        return torch.bmm(w, v), w_reshaped
''',
        # near miss: a reshape that does not keep the last two axes whole (the weights read as (keys, queries))
        # leaves no normalised axis the rule can place
        '''
import torch


def attend(q, k, v):
    b, i, d = q.shape
    j = k.shape[1]
    w = torch.softmax(torch.bmm(q, k.transpose(1, 2)), dim=-2)
    return torch.bmm(w.reshape(b, j, i), v[:, :i])
''',
    ]
    INVALID = [
        # slot attention mirrored by halves: softmax over the keys, then renormalised over the queries, but the
        # product still contracts the keys (reported at the renormalisation, the line that set the axis)
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def inputs_to_slots(q: Float[Tensor, "b i d"], k: Float[Tensor, "b j d"], v: Float[Tensor, "b j d"]):
    att = torch.einsum("bid,bjd->bij", q, k).softmax(dim=2) + 1e-8
    att = att / att.sum(dim=1, keepdim=True)
    return torch.einsum("bjd,bij->bid", v, att)
''',
        # BART-style: one path of the dtype test normalises over the queries (axis 1 of (b * h, i, j)); the weights
        # viewed with the heads split off and merged back keep that axis
        '''
import torch
from torch import nn


class BartStyleAttention(nn.Module):
    def __init__(self, embed_dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)

    def _shape(self, t, seq_len: int, bsz: int):
        return t.view(bsz, seq_len, self.num_heads, self.head_dim).transpose(1, 2).contiguous()

    def forward(self, x, output_attentions: bool = False):
        bsz, tgt_len, _ = x.size()
        proj_shape = (bsz * self.num_heads, -1, self.head_dim)
        q = self._shape(self.q_proj(x), tgt_len, bsz).view(*proj_shape)
        k = self._shape(self.k_proj(x), -1, bsz).view(*proj_shape)
        v = self._shape(self.v_proj(x), -1, bsz).view(*proj_shape)
        src_len = k.size(1)
        w = torch.bmm(q, k.transpose(1, 2))
        if w.dtype == torch.float16:
            w = nn.functional.softmax(w, dim=-1, dtype=torch.float32).to(torch.float16)
        else:
            w = nn.functional.softmax(w, dim=1)
        if output_attentions:
            w_reshaped = w.view(bsz, self.num_heads, tgt_len, src_len)
            w = w_reshaped.view(bsz * self.num_heads, tgt_len, src_len)
        else:
            w_reshaped = None
        return torch.bmm(w, v), w_reshaped
''',
        # normalised over the batch times the heads (axis 0 of (b * h, i, j)), then viewed with the heads split off and
        # merged back
        '''
import torch


def attend(q, k, v, heads: int):
    bh, i, d = q.shape
    j = k.shape[1]
    w = torch.softmax(torch.bmm(q, k.transpose(1, 2)), dim=0)
    w = w.view(bh // heads, heads, i, j).view(bh, i, j)
    return torch.bmm(w, v)
''',
        # the weights viewed with the heads split off (the last two axes kept whole) to add a per-head mask
        '''
import torch


def attend(q, k, v, head_mask, heads: int):
    bh, i, d = q.shape
    j = k.shape[1]
    w = torch.softmax(torch.bmm(q, k.transpose(1, 2)), dim=1)
    w = head_mask.view(1, -1, 1, 1) * w.view(bh // heads, heads, i, j)
    return torch.bmm(w.view(bh, i, j), v)
''',
        # one branch of an `if` normalises the masked scores over axis 1: the product is wrong on that path
        '''
import torch
import torch.nn.functional as F


def attend(q, k, v, mask=None):
    b, h, t, d = q.shape
    w = torch.matmul(q, k.transpose(-2, -1))
    if mask is not None:
        w = w * mask + -1e9 * (1 - mask)
        w = F.softmax(w, dim=1)
    else:
        w = F.softmax(w, dim=-1)
    return torch.matmul(w, v)
''',
        # unannotated: `k.transpose(2, 3)` runs only on four axes or more, so the scores have at least four, and
        # dim 1 (the heads) is not the last axis, which the product with the values contracts
        '''
import torch
import torch.nn.functional as F


def attend(q, k, v, scale):
    scores = torch.matmul(q / scale, k.transpose(2, 3))
    weights = F.softmax(scores, dim=1)
    return torch.matmul(weights, v)
''',
        # unannotated: the convolution's output is (batch, k, height, width); the softmax runs over the width
        '''
import torch
import torch.nn.functional as F
from torch import nn


class Quantizer(nn.Module):
    def __init__(self, dim: int, n_codes: int):
        super().__init__()
        self.to_logits = nn.Conv2d(dim, n_codes, 1)
        self.book = nn.Embedding(n_codes, dim)

    def forward(self, img):
        n, c, y, x = img.shape
        probs = F.softmax(self.to_logits(img), dim=-1)
        return torch.einsum("bkhw,kd->bdhw", probs, self.book.weight)
''',
        # gumbel_softmax normalises its last axis by default
        '''
import torch
import torch.nn.functional as F
from torch import nn


class Quantizer(nn.Module):
    def __init__(self, dim: int, n_codes: int):
        super().__init__()
        self.to_logits = nn.Conv2d(dim, n_codes, 1)
        self.book = nn.Embedding(n_codes, dim)

    def forward(self, img):
        n, c, y, x = img.shape
        probs = F.gumbel_softmax(self.to_logits(img), tau=1.0, hard=True)
        return torch.einsum("bkhw,kd->bdhw", probs, self.book.weight)
''',
        # the heads split by an einops pattern: normalising over them, whatever follows
        '''
import torch
from einops import rearrange
from torch import nn


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.to_qkv = nn.Linear(dim, dim * 3, bias=False)

    def forward(self, x):
        q, k, v = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in (q, k, v))
        dots = torch.einsum("b h i d, b h j d -> b h i j", q, k)
        attn = dots.softmax(dim=1)
        return attn
''',
        '''
import math
import torch.nn.functional as F


def attend(x, n_head: int):
    B, T, C = x.size()
    q = x.view(B, T, n_head, C // n_head).transpose(1, 2)
    att = (q @ q.transpose(-2, -1)) * (1.0 / math.sqrt(q.size(-1)))
    att = F.softmax(att, dim=-2)
    att = F.dropout(att, 0.1)
    return att @ q
''',
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.softmax = nn.Softmax(dim=2)

    def forward(self, q: Float[Tensor, "b h t d"], k: Float[Tensor, "b h t d"], v: Float[Tensor, "b h t d"]):
        att = self.softmax(torch.matmul(q, k.transpose(-1, -2)))
        return torch.matmul(att, v)
''',
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def attend(q: Float[Tensor, "b h t d"], k: Float[Tensor, "b h t d"], v: Float[Tensor, "b h t d"]):
    att = torch.einsum("bhqd,bhkd->bhqk", q, k).softmax(dim=2)
    return torch.einsum("bhqk,bhkd->bhqd", att, v)
''',
        # the scores made in either branch of an `if`, then normalised over the heads
        '''
import torch
from einops import rearrange
from torch import nn


class CrossAttention(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, heads * dim_head, bias=False)
        self.to_kv = nn.Linear(dim, heads * dim_head * 2, bias=False)

    def forward(self, x, context, sharpen: bool):
        q = rearrange(self.to_q(x), "b n (h d) -> b h n d", h=self.heads)
        k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in self.to_kv(context).chunk(2, dim=-1))
        if sharpen:
            dots = torch.einsum("bhid,bhjd->bhij", q, k) * 2.0
        else:
            dots = torch.einsum("bhid,bhjd->bhij", q, k)
        attn = dots.softmax(dim=1)
        return torch.einsum("bhij,bhjd->bhid", attn, v)
''',
        # scores over memories and local keys joined along the keys, then normalised over the heads
        '''
import torch
from einops import rearrange
from torch import nn


class MemoryAttention(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, heads * dim_head, bias=False)
        self.to_kv = nn.Linear(dim, heads * dim_head * 2, bias=False)

    def forward(self, x, mem):
        q = rearrange(self.to_q(x), "b n (h d) -> b h n d", h=self.heads)
        k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in self.to_kv(x).chunk(2, dim=-1))
        mk, mv = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in self.to_kv(mem).chunk(2, dim=-1))
        sim = torch.cat((torch.einsum("bhid,bhjd->bhij", q, mk), torch.einsum("bhid,bhjd->bhij", q, k)), dim=-1)
        attn = sim.softmax(dim=1)
        return torch.einsum("bhij,bhjd->bhid", attn, torch.cat((mv, v), dim=-2))
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        q = ev.qualname
        carry(ev, ctx, (SCORES, SOFTMAX_AXIS, EITHER + SOFTMAX_AXIS))
        if q in _VIEWS:
            _carry_view(ev, ctx)
        elif q in MATMUL:
            a, b = arg(ev, 0, "input"), arg(ev, 1, "other")
            self._check_matmul(ev, ctx, a, b)
            if isinstance(a, Shape) and isinstance(b, Shape) and isinstance(ev.result, Shape) \
                    and ev.result.min_rank >= 2:
                ctx.tag_result(SCORES, (ev.node,))
        elif q in EINSUM or q in EINOPS_EINSUM:
            parsed = einsum_operands(ev)
            if parsed is None:
                return
            self._check_einsum(ev, ctx, *parsed)
            subs, out, ops, _ell = parsed
            self._carry_einsum(ev, ctx, *parsed)
            if len(ops) == 2 and all(isinstance(o, Shape) for o in ops) and len(out) >= 2:
                ctx.tag_result(SCORES, (ev.node,))
        elif softmax_call(ev) is not None or q == _GUMBEL:
            x, dim, _log = softmax_call(ev) if q != _GUMBEL else (arg(ev, 0, "logits"), arg(ev, 4, "dim", -1), False)
            if not isinstance(x, Shape):
                return
            square = x.rank is not None and x.rank >= 3 and eq(ctx, axis(x, -1), axis(x, -2))
            if tag(x, SCORES) is None and not square:
                # not attention scores: followed only when the roles say the normalised axis is spatial
                # (a softmax over the width of (batch, k, height, width) logits)
                d = neg_dim(dim, x)
                if d is not None and ctx.role(x, d) in SPATIAL_ROLES:
                    ctx.tag_result(SOFTMAX_AXIS, (d, ev.node, ctx.role(x, d)))
                return
            d = neg_dim(dim, x)
            if d is None and x.rank is None:
                # scores of unknown rank with at least two axes after the normalised one (`q @ k.transpose(2, 3)`
                # makes four): that axis, counted from the front, is not the last; over dim 0 of `...`, SHP405
                d0 = as_int(dim)
                if d0 is not None and 0 <= d0 <= x.min_rank - 2 and (d0 > 0 or not isinstance(x.dims[0], Variadic)) \
                        and over_batch(ev, ctx) is None:
                    ctx.tag_result(SOFTMAX_AXIS, (d0, ev.node))
                return
            if d is None or over_batch(ev, ctx) is not None:  # over the batch axis: SHP211 reports it
                return
            if d < -2 and ctx.role(x, d) == HEAD:
                # over the heads of the scores: no product can make that right, report it here
                self._report_heads(ctx, ev, x, dim)
                return
            ctx.tag_result(SOFTMAX_AXIS, (d, ev.node))
        elif q in _CAT:
            # ``torch.cat((sim_mem, sim), dim=-1)``: the scores of the queries over memories and over local keys,
            # joined along the keys, are the scores over both
            parts = arg(ev, 0, "tensors")
            dim = as_int(arg(ev, 1, "dim", 0))
            r = ev.result
            if isinstance(parts, (tuple, list)) and len(parts) >= 2 and isinstance(r, Shape) and dim is not None \
                    and all(isinstance(p, Shape) and tag(p, SCORES) is not None for p in parts) \
                    and (dim == -1 or r.rank is not None and dim == r.rank - 1):
                ctx.tag_result(SCORES, tag(parts[0], SCORES))
        elif q in _SUM:
            x = arg(ev, 0, "input")
            keep = arg(ev, 2, "keepdim", ev.kwargs.get("keepdims", False))  # numpy's spelling is accepted too
            if isinstance(x, Shape) and keep is True:
                # an axis not counted from the end (``dim=1`` of scores of unknown rank): summed over an axis the
                # rule cannot place, ``(None,)``
                ctx.tag_result(SUMMED, (neg_dim(arg(ev, 1, "dim"), x),))
        elif q == _NORMALIZE:
            # ``F.normalize(att, p=1, dim=d)`` renormalises the weights over d (an EM step's responsibilities
            # over the pixels); another norm leaves weights that are not a distribution over any axis
            x = arg(ev, 0, "input")
            t = tag(x, SOFTMAX_AXIS)
            if t is None:
                return
            d = neg_dim(arg(ev, 2, "dim", 1), x)
            p = arg(ev, 1, "p", 2.0)
            one = isinstance(p, (int, float)) and not isinstance(p, bool) and p == 1
            ctx.tag_result(SOFTMAX_AXIS, (d, t[1]) if one and d is not None and len(t) == 2 else None)
        elif q in _DIV:
            a, b = arg(ev, 0), arg(ev, 1)
            sa, sb = tag(a, SOFTMAX_AXIS), tag(b, SUMMED)
            if sa is not None and sb is not None and sb[0] is None:
                # renormalised over an axis the rule cannot place (PCT's offset attention divides the weights by
                # their sum over dim 1): no longer known to be a distribution over the softmax's axis
                ctx.tag_result(SOFTMAX_AXIS, None)
            elif sa is not None and sb is not None and len(sa) == 2:
                # renormalised over the summed axis: the division is where the weights got their axis
                ctx.tag_result(SOFTMAX_AXIS, (sb[0], ev.node))

    def _report(self, ctx, ev, who, t, contracted_axis):
        """Reported at the softmax (the line to fix), with the product as a note; ``t`` is the softmax's
        tag: (normalised axis, softmax node[, role of the normalised axis]).

        Attention code normalises its scores over the last axis, the keys: when a softmax over axis -1
        meets a product that contracts another axis, the product is the odd one out (its operands in the
        wrong order: `einsum("bhij,bhjd->bhid", v, attn)`, `v @ attn`), and the diagnostic is placed on
        the product, naming the softmax."""
        norm_axis, softmax_node = t[0], t[1]
        if len(t) == 2 and norm_axis != -1 and _renormalised(softmax_node):
            ctx.report(
                self.code, softmax_node,
                f"the weights are renormalised over axis {norm_axis}, but the product with the values contracts "
                f"axis {contracted_axis}",
                notes=(f"{who} is multiplied with the values at line {getattr(ev.node, 'lineno', '?')}",
                       "the weights summed over the contracted axis must add up to one"),
                help=f"divide by the sum over the contracted axis: `.sum(dim={contracted_axis}, keepdim=True)`",
            )
            return
        if len(t) == 2 and norm_axis == -1:
            ctx.report(
                self.code, ev.node,
                f"the product contracts axis {contracted_axis} of the attention weights {who}, but the softmax "
                f"normalised them over axis -1",
                notes=(f"the softmax at line {getattr(softmax_node, 'lineno', '?')} normalises each query's "
                       "weights over the keys, the last axis",
                       "the weights summed over the contracted axis must add up to one"),
                help="contract the last axis of the weights: are the product's operands in the right order?",
            )
            return
        if len(t) > 2:
            what = f"the weights over the {t[2]} axis {norm_axis}, but the product contracts axis {contracted_axis}"
        else:
            what = (f"the attention weights over axis {norm_axis}, but the product with the values contracts axis "
                    f"{contracted_axis}")
        ctx.report(
            self.code, softmax_node,
            f"softmax normalises {what}",
            notes=(f"{who} is multiplied with the values at line {getattr(ev.node, 'lineno', '?')}",
                   "the weights summed over the contracted axis must add up to one"),
            help=f"normalise over the contracted axis: `softmax(..., dim={contracted_axis})`",
        )

    def _report_heads(self, ctx, ev, x, d):
        ctx.report(
            self.code, ev.node,
            f"softmax normalises the attention weights of {who(x, 'the scores')} {dims_text(ctx, x, ev.node)} over "
            f"axis {as_int(d)}, the head axis",
            notes=("each query's weights over the keys must add up to one; across heads they are unrelated",),
            help="normalise over the keys: `softmax(..., dim=-1)`",
        )

    def _check_matmul(self, ev, ctx, a, b):
        for v, contracted in ((a, -1), (b, -2)):
            for t in _softmax_facts(v):
                if self._check_matmul_fact(ev, ctx, v, contracted, t):
                    return

    def _check_matmul_fact(self, ev, ctx, v, contracted, t) -> bool:
        if not isinstance(v, Shape) or len(v.dims) < 2:
            return False
        if t[0] >= 0 and v.min_rank < t[0] + (2 if contracted == -1 else 3):
            return False  # an axis counted from the front (a tensor of unknown rank): not known to be another
        if len(t) > 2 and ctx.role(v, contracted) not in _PER_ITEM:
            return False  # a spatial softmax: reported only when the product contracts channels or classes
        if t[0] == contracted:
            return False
        self._report(ctx, ev, v.label or "the scores", t, contracted)
        return True

    def _carry_einsum(self, ev, ctx, subs, out, ops, ell):
        """Heads mixed after the softmax (talking heads: `einsum("b h i j, h g -> b g i j", attn, mix)`)
        leave each query's weights over the keys where they were: the normalised axis is kept, at the same
        place from the end, and no other operand has it."""
        for sub, v, e in zip(subs, ops, ell):
            t = tag(v, SOFTMAX_AXIS)
            if t is None or len(t) != 2 or t[0] >= 0 or not _fits(v, sub, e) or -t[0] > len(sub) \
                    or SOFTMAX_AXIS in ctx.result_tags:
                continue
            label = sub[t[0]]
            if label in out and out.index(label) - len(out) == t[0] \
                    and not any(label in o for o in subs if o is not sub):
                ctx.tag_result(SOFTMAX_AXIS, t)
            return

    def _check_einsum(self, ev, ctx, subs, out, ops, ell):
        for sub, v, e in zip(subs, ops, ell):
            for t in _softmax_facts(v):
                if self._check_einsum_fact(ev, ctx, subs, out, sub, v, e, t):
                    return

    def _check_einsum_fact(self, ev, ctx, subs, out, sub, v, e, t) -> bool:
        if t[0] >= 0 or not _fits(v, sub, e) or -t[0] > len(sub):
            return False
        others = [o for o in subs if o is not sub]
        label = sub[t[0]]
        contracted = [i - len(sub) for i, ch in enumerate(sub) if ch not in out and sub.count(ch) == 1]
        if len(t) > 2:  # a spatial softmax: the codebook or class axis contracted instead
            contracted = [i for i in contracted if ctx.role(v, i) in _PER_ITEM]
        elif not any(len(o) >= min(3, len(sub)) for o in others):
            return False  # mixing heads with a matrix ("b h i j, h g -> b g i j"), not a product with values
        if label not in out or not contracted:
            return False
        self._report(ctx, ev, v.label or "the scores", t, contracted[0])
        return True
