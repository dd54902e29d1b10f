"""SHP203 scrambled-head-reshape."""

from __future__ import annotations

import ast

from shapecheck._core._algebra import Expr, FloorDiv
from shapecheck._core._unify import compare

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import axis_note, dims_text, eq, is_heads_axis, is_literal, qd, register, who

_VIEWS = {"torch.Tensor.view", "torch.Tensor.reshape", "torch.reshape"}


def _is_factor(t, s) -> bool:
    """``t`` divides ``s`` as polynomials (``num_heads`` in ``num_heads*qk + num_heads*v``)."""
    if not isinstance(t, Expr) or not isinstance(s, Expr) or t.value is not None:
        return False
    q = s.exact_div(t)
    return all(p > 0 and type(a).__name__ != "FloorDiv" for mono, _ in q.terms for a, p in mono)


def _split_in_place(ctx, dims, s) -> bool:
    """Do the first two or more of ``dims`` multiply to ``s`` (``C*k*k`` split into ``(heads, C // heads, k*k)``)?"""
    if not isinstance(s, Expr) or not dims or not isinstance(dims[0], Expr):
        return False
    p = dims[0]
    for d in dims[1:]:
        if not isinstance(d, Expr):
            return False
        p = p * d
        if ctx.compare(p, s) == "eq":
            return True
        # ``heads * (C // heads)``: the split itself says that the divisions are exact
        trial = ctx.env.copy()
        for mono, _ in ctx.resolve(p).terms:
            for atom, _power in mono:
                if isinstance(atom, FloorDiv):
                    trial.add_divisible(atom.num, atom.den)
        if compare(p, s, trial) == "eq":
            return True
    return False


def _last_inferred(node) -> bool:
    """Is the last size of the view call ``node`` a literal ``-1``?"""
    args = getattr(node, "args", None) or []
    if len(args) == 1 and isinstance(args[0], (ast.Tuple, ast.List)):
        args = args[0].elts
    if not args:
        return False
    last = args[-1]
    return isinstance(last, ast.UnaryOp) and isinstance(last.op, ast.USub) \
        and isinstance(last.operand, ast.Constant) and last.operand.value == 1


@register
class ScrambledHeadReshape(LintRule):
    """Heads split off the sequence axis by a `view`/`reshape` instead of off the feature axis.

    ## What it does
    Walks a `view` or `reshape` of a `(batch, seq, features)` tensor axis by axis. Where the
    target introduces a head axis (structurally: the last target axis is `features // heads`, or
    named `n_head`, `num_heads`...) at a position where the source still has a non-feature axis,
    the reshape cuts the head axis out of the sequence axis: `x.view(B, n_head, T, d_head)` instead
    of `x.view(B, T, n_head, d_head).transpose(1, 2)`.

    ## Why is this bad?
    The element count is right, so nothing fails; but every "head" now holds a slice of the
    sequence with all features interleaved, and attention runs over a mixture of positions and
    channels. When the same symbol reappears in the target (`view(B, n_head, T, hs)` with `T` from
    the input), the core reports `SHP109`; this rule covers the remaining symbolic case, where the
    sequence length is written as `-1` or a size the core cannot tie to the input's axis.

    ## Example
    ```python
    B, T, C = x.shape
    q = self.q_proj(x).view(B, self.n_head, -1, self.head_dim)
    ```

    ## Use instead
    ```python
    q = self.q_proj(x).view(B, -1, self.n_head, self.head_dim).transpose(1, 2)
    ```

    ## Known problems
    Layouts that deliberately fold heads into a *preceding* axis (`view(B * n_head, T, d)` from
    `(B, n_head, T, d)`) are fine and not reported. Head axes recognised only by name rely on
    conventional spellings.
    """

    code = "SHP203"
    calls = frozenset(_VIEWS)
    name = "scrambled-head-reshape"
    summary = "A view or reshape cuts the head axis out of the sequence axis instead of the features"

    VALID = [
        # near miss: tokens laid out on their grid, ``(B, HW, C)`` viewed ``(B, height, width, -1)``: the sequence
        # is split, and the inferred last axis still holds it (no heads are cut out of it)
        '''
import torch
from helpers import to_2tuple


def tokens_to_grid(q, feat_size):
    B, HW, C = q.shape
    height, width = to_2tuple(feat_size)
    return q.reshape(B, height, width, -1)
''',
        # near miss: the sequence axis has one position (a class token), so heads can go either side of it
        '''
import torch


class ClassTokenQuery(torch.nn.Module):
    def __init__(self, dim: int, n_heads: int, d_head: int):
        super().__init__()
        self.n_heads, self.d_head = n_heads, d_head
        self.q = torch.nn.Linear(dim, n_heads * d_head)

    def forward(self, x):
        B, N, C = x.shape
        return self.q(x[:, :1, :]).reshape(B, self.n_heads, 1, self.d_head)
''',
        '''
import torch


def split_heads(x, n_head: int, head_dim: int):
    B, T, C = x.shape
    return x.view(B, -1, n_head, head_dim).transpose(1, 2)
''',
        # near miss: heads folded into the batch axis
        '''
import torch


def fold(y):
    B, H, T, D = y.shape
    return y.reshape(B * H, T, D)
''',
        # an unfold's (B, C*k*k, L) split in place into (B, heads, C // heads, k*k, L): nothing moves
        '''
import math

import torch
from torch import nn


class Outlook(nn.Module):
    def __init__(self, dim: int, num_heads: int, kernel_size: int = 3, stride: int = 1):
        super().__init__()
        self.num_heads = num_heads
        self.kernel_size = kernel_size
        self.stride = stride
        self.v = nn.Linear(dim, dim)
        self.unfold = nn.Unfold(kernel_size=kernel_size, padding=1, stride=stride)

    def forward(self, x):
        B, H, W, C = x.shape
        v = self.v(x).permute(0, 3, 1, 2)
        h, w = math.ceil(H / self.stride), math.ceil(W / self.stride)
        return self.unfold(v).reshape(B, self.num_heads, C // self.num_heads,
                                      self.kernel_size * self.kernel_size, h * w)
''',
        # near miss: a helper module lays the (batch * heads, positions, d) queries it is given on their grid; its
        # batch is its caller's batch times heads, and the -1 it infers divides by the grid's sides, not by heads
        '''
import torch
from torch import nn


class GridBias(nn.Module):
    def __init__(self, side: int):
        super().__init__()
        self.side = side

    def forward(self, q):
        N, L, _ = q.shape
        return q.reshape(N, self.side, self.side, -1).sum(-1).reshape(N, -1, 1)


class ConvHeads(nn.Module):
    def __init__(self, dim: int, side: int, heads: int = 4):
        super().__init__()
        self.heads, self.dh = heads, dim // heads
        self.to_qk = nn.Conv2d(dim, dim * 2, 1)
        self.bias = GridBias(side)

    def forward(self, x):
        B, C, H, W = x.shape
        q, k = self.to_qk(x).chunk(2, dim=1)
        q = q.reshape(B * self.heads, self.dh, -1).transpose(-1, -2)
        k = k.reshape(B * self.heads, self.dh, -1)
        return q @ k + self.bias(q)
''',
        # near miss: queries and keys of 1x1 convolutions are channels-first, ``(b, channels, t)``; the heads are
        # split out of the channels, and the time axis stays last
        '''
import torch
from torch import nn


class ConvHeadsChannelsFirst(nn.Module):
    def __init__(self, channels: int, n_heads: int):
        super().__init__()
        self.n_heads, self.k_channels = n_heads, channels // n_heads
        self.conv_k = nn.Conv1d(channels, channels, 1)

    def split(self, key):
        b, d, t = key.size()
        return key.view(b, self.n_heads, self.k_channels, t).transpose(2, 3)

    def forward(self, x):
        return self.split(self.conv_k(x))
''',
    ]
    INVALID = [
        '''
import torch


def split_heads(x, n_head: int, head_dim: int):
    B, T, C = x.shape
    return x.view(B, n_head, -1, head_dim)
''',
        '''
from torch import nn

class Attn(nn.Module):
    def __init__(self, d_model: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.d_k = d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        return self.q_proj(x).reshape(B, self.num_heads, -1, self.d_k)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        if ev.qualname not in _VIEWS:
            return
        src, out = ev.args[0] if ev.args else None, ev.result
        if not isinstance(src, Shape) or not isinstance(out, Shape) or src.rank is None or out.rank is None:
            return
        if src.rank < 2 or out.rank <= src.rank:
            return  # a split adds axes
        i = 0
        while i < min(src.rank, out.rank) and eq(ctx, src.dims[i], out.dims[i]):
            i += 1
        if i >= src.rank - 1 or i >= out.rank:
            return  # the split happens in the last (feature) axis
        t = out.dims[i]
        # the inferred -1 of ``view(B, height, width, -1)`` is the element count divided by every other size, so
        # its dividing by axis ``i`` says nothing of heads
        if is_literal(t) or not is_heads_axis(ctx, out, i, structural=not _last_inferred(ev.node)):
            return
        s = src.dims[i]
        if is_heads_axis(ctx, src, i) or eq(ctx, s, t):
            return
        if is_literal(s) and ctx.resolve(s).value == 1:
            return  # a sequence of one position (a class token): nothing is cut out of it
        if _split_in_place(ctx, out.dims[i:], s):
            return  # the axis is split in place ((h) -> (num_splits, h // num_splits)): nothing moves
        rs, last = ctx.resolve(s), ctx.resolve(out.dims[-1])
        if isinstance(rs, Expr) and isinstance(last, Expr) and rs.as_sym() is not None \
                and rs.as_sym() in last.symbols():
            return  # the last axis still holds the sequence (``(B, HW, C)`` viewed ``(B, height, width, -1)``): the
            # sequence is split in place, no heads are cut out of it
        if not is_literal(src.dims[-1]) and eq(ctx, src.dims[-1], out.dims[-1]):
            return  # the last axis is kept whole after the split: a channels-first ``(b, channels, t)`` tensor whose
            # channels (axis ``i``) are split into heads
        if _is_factor(ctx.resolve(t), ctx.resolve(s)):
            return  # "heads * head_dim" split into (heads, head_dim): a weight's output features, not a sequence
        # a head axis the source already has is a plain reorder of existing axes, and a sequence axis
        # that reappears further right in the target is a provable move: both are the core's SHP109
        if any(eq(ctx, t, d) for d in src.dims):
            return
        rs = ctx.resolve(s)
        if getattr(rs, "as_sym", lambda: None)() is not None and \
                sum(1 for d in out.dims[i + 1:] if ctx.resolve(d) == rs) == 1:
            return
        ctx.report(
            self.code, ev.node,
            f"reshape of {who(src)} {dims_text(ctx, src, ev.node)} puts the head axis {qd(ctx.resolve(t))} where the "
            f"sequence axis {qd(ctx.resolve(s))} is: heads are cut out of the sequence, not the features",
            notes=(axis_note(ctx, src, i), axis_note(ctx, src, -1)),
            help="split the last axis into heads, then move the head axis: "
                 "`.view(B, T, n_head, d_head).transpose(1, 2)`",
        )
