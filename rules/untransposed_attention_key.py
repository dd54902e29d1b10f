"""SHP201 untransposed-attention-key."""

from __future__ import annotations

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape, Unknown
from shapecheck._core._roles import FEATURE, POSITION

from ._common import MATMUL, arg, axis, axis_note, compare_before, env_before, label_name, qd, register

_KEY_LABELS = {"k", "key", "keys", "k_proj", "key_states", "xk", "kh", "k_h", "keys_h", "kv", "mem", "memory"}
_QUERY_LABELS = {"q", "query", "queries", "q_proj", "query_states", "xq", "qh", "q_h"}


def _named(v, labels) -> bool:
    """The tensor is named like one of ``labels``, also with the ``_layer`` suffix of BERT's attention
    (``query_layer``, ``key_layer``)."""
    name = label_name(v)
    return name is not None and (name in labels or name.endswith("_layer") and name[:-len("_layer")] in labels)


@register
class UntransposedAttentionKey(LintRule):
    """Attention scores computed as `q @ k` instead of `q @ k.transpose(-2, -1)`.

    ## What it does
    Flags a matrix product of two tensors laid out the same way, `(..., seq, d_head)`, where the
    right operand was not transposed: the product contracts the head dimension of the queries with
    the *sequence* axis of the keys. The rule looks at axis identity, not only at sizes: it fires
    when the last axes of both operands are provably the same axis ("d_head") and the right
    operand's axis -2 is not, and either both operands share their axis -2 (self-attention) or the
    operands are named like queries and keys (`q`, `query`, `key_states`..., also with BERT's
    `_layer` suffix: `query_layer`, `key_layer`). Where the sizes say nothing (keys of an input of
    unknown shape, split into heads by a reshape's `-1`), the axes' roles do: both last axes are
    per-head features of a head split, and both axes -2 its positions.

    ## Why is this bad?
    When the sequence length happens to equal the head size (a 64-token test batch with 64-wide
    heads, square toy inputs), `q @ k` runs without error and produces garbage scores that mix
    feature channels of the queries with positions of the keys. Training still "works", only worse.
    When shapes can already prove the contraction wrong (distinct annotated axes, or the head size
    `C // n_head` of `B, T, C = x.size()` against `T`), the core reports `SHP101` at the same place
    and this rule stays silent.

    ## Example
    ```python
    B, T, C = x.size()
    q = x.view(B, T, n_head, head_size).transpose(1, 2)
    k = x.view(B, T, n_head, head_size).transpose(1, 2)
    att = q @ k
    ```

    ## Use instead
    ```python
    att = q @ k.transpose(-2, -1)
    ```

    ## Known problems
    A product whose right operand is meant to be square (`x @ W` with `W` of shape `(d, d)`) is
    not flagged, since its axes are provably equal. Keys that arrive already transposed from
    another module are fine: their axis -2 is then the head size.
    """

    code = "SHP201"
    calls = frozenset(MATMUL)
    name = "untransposed-attention-key"
    summary = "Attention scores contract the keys' sequence axis: the keys were not transposed"

    VALID = [
        # near miss: the same head split, keys transposed
        '''
import torch.nn.functional as F
from torch import nn


class CrossAttention(nn.Module):
    def __init__(self, dim: int, heads: int = 8):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(dim, dim, bias=False)

    def forward(self, x, kv):
        B, N, C = x.shape
        M = kv.shape[1]
        q = F.linear(x, self.to_q.weight).reshape(B, N, self.heads, -1).permute(0, 2, 1, 3)
        k = F.linear(kv, self.to_k.weight).reshape(B, M, self.heads, -1).permute(0, 2, 1, 3)
        return q @ k.transpose(-2, -1)
''',
        # near miss: the same einops split, keys transposed
        '''
import torch
from einops import rearrange


class Attention(torch.nn.Module):
    def __init__(self, dim: int, heads: int, dim_head: int):
        super().__init__()
        self.heads = heads
        self.to_qkv = torch.nn.Linear(dim, heads * dim_head * 3, bias=False)

    def forward(self, x):
        qkv = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = map(lambda t: rearrange(t, "b n (h d) -> b h n d", h=self.heads), qkv)
        dots = torch.matmul(q, k.transpose(-1, -2))
        return torch.matmul(dots.softmax(dim=-1), v)
''',
        # the textbook form
        '''
import torch


def scores(x, n_head: int):
    B, T, C = x.size()
    q = x.view(B, T, n_head, C // n_head).transpose(1, 2)
    k = x.view(B, T, n_head, C // n_head).transpose(1, 2)
    return q @ k.transpose(-2, -1)
''',
        # near miss: a square weight shares both axes with the input
        '''
import torch

def mix(x, d: int):
    B, T, D = x.shape
    w = torch.randn(D, D)
    return x @ w
''',
        # keys stored pre-transposed as (B, nh, hs, T)
        '''
import torch


def scores(x, n_head: int):
    B, T, C = x.size()
    q = x.view(B, T, n_head, C // n_head).transpose(1, 2)
    kt = x.view(B, T, n_head, C // n_head).permute(0, 2, 3, 1)
    return q @ kt
''',
        # policy: with distinct annotated axes the core proves it (SHP101) and this rule stays silent
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def scores(q: Float[Tensor, "b h t d"], k: Float[Tensor, "b h t d"]):
    return q @ k
''',
        # near miss: BERT's naming, keys transposed
        '''
import torch


class SelfAttention(torch.nn.Module):
    def __init__(self, hidden: int, heads: int):
        super().__init__()
        self.heads = heads
        self.head_size = hidden // heads
        self.query = torch.nn.Linear(hidden, hidden)
        self.key = torch.nn.Linear(hidden, hidden)

    def split(self, x):
        return x.view(*x.size()[:-1], self.heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, h):
        query_layer = self.split(self.query(h))
        key_layer = self.split(self.key(h))
        return torch.matmul(query_layer, key_layer.transpose(-1, -2))
''',
    ]
    INVALID = [
        # keys of an input of unknown shape, projected and split into heads by a reshape's -1: the queries' per-head
        # features meet the keys' positions
        '''
import torch.nn.functional as F
from torch import nn


class CrossAttention(nn.Module):
    def __init__(self, dim: int, heads: int = 8):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(dim, dim, bias=False)

    def forward(self, x, kv):
        B, N, C = x.shape
        M = kv.shape[1]
        q = F.linear(x, self.to_q.weight).reshape(B, N, self.heads, -1).permute(0, 2, 1, 3)
        k = F.linear(kv, self.to_k.weight).reshape(B, M, self.heads, -1).permute(0, 2, 1, 3)
        return q @ k
''',
        # vit-pytorch style: heads split by einops from an input of unknown shape
        '''
import torch
from einops import rearrange


class Attention(torch.nn.Module):
    def __init__(self, dim: int, heads: int, dim_head: int):
        super().__init__()
        self.heads = heads
        self.to_qkv = torch.nn.Linear(dim, heads * dim_head * 3, bias=False)

    def forward(self, x):
        qkv = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = map(lambda t: rearrange(t, "b n (h d) -> b h n d", h=self.heads), qkv)
        dots = torch.matmul(q, k)
        return torch.matmul(dots.softmax(dim=-1), v)
''',
        '''
import torch


def scores(x, n_head: int, head_size: int):
    B, T, C = x.size()
    q = x.view(B, T, n_head, head_size).transpose(1, 2)
    k = x.view(B, T, n_head, head_size).transpose(1, 2)
    return q @ k
''',
        '''
import torch
from torch import Tensor
from jaxtyping import Float

def scores(x: Float[Tensor, "b t c"], n_head: int):
    B, T, C = x.shape
    q = x.view(B, T, n_head, C // n_head).transpose(1, 2)
    key = x.view(B, T, n_head, C // n_head).transpose(1, 2)
    return torch.matmul(q, key)
''',
        # BERT's naming: the sizes spliced into the view, the keys' positions unknown
        '''
import torch


class SelfAttention(torch.nn.Module):
    def __init__(self, hidden: int, heads: int):
        super().__init__()
        self.heads = heads
        self.head_size = hidden // heads
        self.query = torch.nn.Linear(hidden, hidden)
        self.key = torch.nn.Linear(hidden, hidden)

    def split(self, x):
        return x.view(*x.size()[:-1], self.heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, h):
        query_layer = self.split(self.query(h))
        key_layer = self.split(self.key(h))
        return torch.matmul(query_layer, key_layer)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        if ev.qualname not in MATMUL:
            return
        a, b = arg(ev, 0, "input"), arg(ev, 1, "other")
        if ev.qualname in ("torch.bmm", "torch.Tensor.bmm") and "mat2" in ev.kwargs:
            b = ev.kwargs["mat2"]
        qd_, kd = axis(a, -1), axis(b, -1)
        ks, qs = axis(b, -2), axis(a, -2)
        c = lambda x, y: compare_before(ctx, ev.node, x, y)  # noqa: E731
        # roles of a head split: the queries' per-head features against the keys' positions
        if ctx.role(a, -1) == FEATURE and ctx.role(b, -1) == FEATURE and ctx.role(b, -2) == POSITION \
                and ctx.role(a, -2) == POSITION \
                and (qd_ is None or ks is None or c(qd_, ks) == "unknown") \
                and not (qd_ is not None and kd is not None and c(qd_, kd) == "ne"):
            env = env_before(ctx, ev.node)
            ctx.report(
                self.code, ev.node,
                "attention scores contract the per-head features of the queries with the positions of the keys "
                "(axis -2): the keys are not transposed",
                notes=(axis_note(ctx, a, -1, ev.node), axis_note(ctx, b, -2, ev.node), axis_note(ctx, b, -1, ev.node)),
                help="use `k.transpose(-2, -1)` as the right operand",
            )
            return
        if qd_ is not None and kd is not None and ks is None and _unknown_axis(b, -2) \
                and _named(b, _KEY_LABELS) and _named(a, _QUERY_LABELS) and c(qd_, kd) == "eq":
            # the keys' sequence axis is unknown, but their last axis is the queries' head size: not transposed
            env = env_before(ctx, ev.node)
            ctx.report(
                self.code, ev.node,
                f"attention scores contract {qd(env.resolve(qd_))} of the queries with axis -2 of the keys, "
                f"whose last axis is {qd(env.resolve(kd))}: the keys are not transposed",
                notes=(axis_note(ctx, a, -1, ev.node), axis_note(ctx, b, -1, ev.node)),
                help="use `k.transpose(-2, -1)` as the right operand",
            )
            return
        if qd_ is None or kd is None or ks is None or qs is None:
            return
        if c(qd_, kd) != "eq":
            return  # the two operands do not share their feature axis
        if c(qd_, ks) != "unknown":
            return  # a square product, or a provable mismatch the core reports as SHP101
        if c(ks, kd) == "eq":
            return
        self_attention = c(qs, ks) == "eq"
        named = _named(b, _KEY_LABELS) or _named(a, _QUERY_LABELS)
        if not (self_attention or named):
            return
        env = env_before(ctx, ev.node)
        ctx.report(
            self.code, ev.node,
            f"attention scores contract {qd(env.resolve(qd_))} of the queries with {qd(env.resolve(ks))} "
            f"of the keys: the keys are not transposed",
            notes=(axis_note(ctx, a, -1, ev.node), axis_note(ctx, b, -2, ev.node), axis_note(ctx, b, -1, ev.node)),
            help="use `k.transpose(-2, -1)` as the right operand",
        )


def _unknown_axis(v, i: int) -> bool:
    """The axis at ``i`` exists and is unknown (``?``), as after a pattern over an input of unknown shape."""
    if not isinstance(v, Shape):
        return False
    if v.rank is None:
        # a trailing axis of ``... h ? d`` (a head split of a tensor of unknown rank)
        return v.variadic_index is not None and i < 0 and -i <= len(v.dims) - v.variadic_index - 1 \
            and isinstance(v.dims[i], Unknown)
    return -v.rank <= i < v.rank and isinstance(v.dims[i], Unknown)
