"""SHP212 token-concat-off-sequence-axis."""

from __future__ import annotations

import ast
import re

from shapecheck._core._roles import POSITION
from shapecheck._core._shape import Shape, Unknown, Variadic
from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext

from ._common import arg, as_int, dims_text, env_before, operand_name, register, who

# a learned token of one position, by its name: ``cls_token``, ``cls_tokens``, ``class_token``, ``x_cls``,
# ``dist_token``
_TOKEN = re.compile(r"(\w+_)?(cls|class|dist|distill)(_tokens?|_emb)?|\w+_cls")

_CAT = {"torch.cat", "torch.concat", "torch.concatenate"}


def _parts(ev):
    """The concatenated tensors that are known at least in part (two or more); None otherwise."""
    v = arg(ev, 0, "tensors")
    if not isinstance(v, (tuple, list)):
        return None
    parts = [p for p in v if isinstance(p, Shape) and not p.is_any]
    return parts if len(parts) >= 2 else None


def _leading(p: Shape) -> int:
    """How many leading axes of ``p`` are known by position."""
    return p.rank if p.rank is not None else p.variadic_index


def _one(ctx, d, node) -> bool:
    """Is ``d`` one, by what was known before the call (the ``cat`` itself binds a size from code to the
    ``1`` it meets on the other part)?"""
    return not isinstance(d, (Unknown, Variadic)) and as_int(env_before(ctx, node).resolve(d)) == 1


@register
class TokenConcatOffSequenceAxis(LintRule):
    """A single token joined to a sequence of tokens along another axis than the sequence.

    ## What it does
    Vision transformers prepend a class token to the patch tokens with
    `torch.cat((cls_token, x), dim=1)`, and split it off again with `x[:, :1], x[:, 1:]`. The
    rule flags a `cat` whose parts differ on an axis other than the joined one in this way: one
    part holds a single position there (size 1), another holds the positions of a sequence or of
    an image grid (an axis made by flattening height and width, `x.flatten(2)`,
    `reshape(B, C, -1)`, einops `(h w)`, a recurrent layer's time axis, or the axis a learnt
    positional table such as `self.pos_embed` of shape `(1, n, d)` is added along). The roles come
    from the axes' producers, so the rule needs no annotations, and a part of unknown rank takes the
    rank of the others.

    ## Why is this bad?
    `cat` needs every axis but the joined one to agree, so the call only runs when the sequence
    has a single position: the code was written for `dim=1` and `dim=2` (or `-1`) slipped in,
    joining the token's features to the sequence's instead of adding a position. On real inputs
    it fails with a size error far from any hint of the cause, or, on a one-position input (a
    1x1 feature map, a test with one token), silently produces features of twice the width.

    ## Example
    ```python
    x = self.conv(img).flatten(2).transpose(1, 2)   # (b, h*w, c)
    x = torch.cat((cls_token, x), dim=2)            # cls_token: (b, 1, c)
    ```

    ## Use instead
    ```python
    x = torch.cat((cls_token, x), dim=1)            # (b, 1 + h*w, c)
    ```

    A class token named so (`cls_token`, `cls_tokens`, `class_token`, `dist_token`, `x_cls`) of shape
    `(b, 1, d)` joined along its last axis is reported also when the other part's positions are
    unknown (an unannotated sequence), unless that part is known to hold a single position too.

    ## Known problems
    Otherwise a sequence known only by its size (an unannotated input's axis) has no role and is not
    reported; a recurrent step that is always fed one position is taken for a sequence.
    """

    code = "SHP212"
    unknown_after = True  # the join ran only by taking the sequence for one position
    calls = frozenset(_CAT)
    name = "token-concat-off-sequence-axis"
    summary = "A single token is concatenated to a sequence of tokens along another axis than the positions"

    VALID = [
        # near miss: the same unannotated embedding, the class token joined along the positions
        '''
import torch
from torch import nn


class Embed(nn.Module):
    def __init__(self, patch_embed, num_patches: int, dim: int):
        super().__init__()
        self.patch_embed = patch_embed
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, dim))

    def forward(self, img):
        x = self.patch_embed(img) + self.pos_embed
        cls = self.cls_token.expand(img.shape[0], -1, -1)
        return torch.cat((cls, x), dim=1)
''',
        # near miss: the class token joins the patch tokens along the positions
        '''
import torch
from torch import nn


class Embed(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, 16, stride=16)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, img):
        B, C, H, W = img.shape
        x = self.proj(img).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        return torch.cat((cls, x), dim=1)
''',
        # near miss: a token broadcast over the positions first may be joined to their features
        '''
import torch
from torch import nn


class Cond(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, 16, stride=16)
        self.token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, img):
        B, C, H, W = img.shape
        x = self.proj(img).flatten(2).transpose(1, 2)
        t = self.token.expand(x.shape[0], x.shape[1], -1)
        return torch.cat((t, x), dim=2)
''',
        # near miss: two single positions joined along the features
        '''
import torch
from torch import nn


class Pair(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, 16, stride=16)

    def forward(self, img):
        B, C, H, W = img.shape
        x = self.proj(img).flatten(2).transpose(1, 2)
        return torch.cat((x[:, :1], x[:, -1:]), dim=2)
''',
    ]
    VALID += [
        # near miss: the class token joined along the features with another single position (a pooled token)
        '''
import torch
from torch import nn


class Pooled(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x):
        cls_tokens = self.cls_token.expand(x.shape[0], -1, -1)
        pooled = x.mean(dim=1, keepdim=True)
        return torch.cat((cls_tokens, pooled), dim=-1)
''',
        # near miss: a token broadcast over the positions is no single position
        '''
import torch
from torch import nn


class Cond(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x):
        cls_tokens = self.cls_token.expand(x.shape[0], x.shape[1], -1)
        return torch.cat((cls_tokens, x), dim=-1)
''',
    ]
    INVALID = [
        # unannotated tokens from a module the engine cannot follow: the class token, by its name, holds one
        # position, so a join along the features runs only on a one-position sequence
        '''
import torch
from torch import nn


class Embed(nn.Module):
    def __init__(self, patch_embed, dim: int):
        super().__init__()
        self.patch_embed = patch_embed
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, img):
        B = img.shape[0]
        x = self.patch_embed(img)
        cls_tokens = self.cls_token.expand(B, -1, -1)
        return torch.cat((cls_tokens, x), dim=2)
''',
        # unannotated, with a patch embedding the engine cannot follow: the positional table added to
        # the tokens says their axis 1 holds positions, and the cat gives them the class token's rank
        '''
import torch
from torch import nn


class Embed(nn.Module):
    def __init__(self, patch_embed, num_patches: int, dim: int):
        super().__init__()
        self.patch_embed = patch_embed
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, dim))

    def forward(self, img):
        x = self.patch_embed(img) + self.pos_embed
        cls = self.cls_token.expand(img.shape[0], -1, -1)
        return torch.cat((cls, x), dim=2)
''',
        '''
import torch
from torch import nn


class Embed(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, 16, stride=16)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, img):
        B, C, H, W = img.shape
        x = self.proj(img).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        return torch.cat((cls, x), dim=2)
''',
        # unannotated: interpolate states (batch, channel, height, width), the reshape merges the grid
        '''
import torch
import torch.nn.functional as F


def resize_tokens(x, scale: float):
    B, N, C = x.shape
    H = W = int(N ** 0.5)
    cls_token, img = x[:, :1], x[:, 1:]
    img = img.transpose(1, 2).reshape(B, C, H, W)
    img = F.interpolate(img, scale_factor=scale, mode="bilinear")
    img = img.reshape(B, C, -1).transpose(1, 2)
    return torch.cat((cls_token, img), dim=-1)
''',
        # einops: the patch grid "(h w)" holds the positions
        '''
import torch
from einops import rearrange, repeat
from torch import nn


class Embed(nn.Module):
    def __init__(self, dim: int, p: int):
        super().__init__()
        self.p = p
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))

    def forward(self, img):
        x = rearrange(img, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=self.p, p2=self.p)
        cls = repeat(self.cls_token, "() n d -> b n d", b=x.shape[0])
        return torch.cat([cls, x], dim=2)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        if self._token_on_features(ev, ctx):
            return
        parts = _parts(ev)
        if parts is None:
            return
        ranks = {p.rank for p in parts if p.rank is not None}
        if len(ranks) > 1:
            return  # the core reports parts of different ranks
        r = ranks.pop() if ranks else None
        d = as_int(arg(ev, 1, "dim", 0))
        if d is None or r is not None and not -r <= d < r or r is None and d < 0:
            return  # an axis counted from the end of parts of unknown rank cannot be placed
        if r is not None:
            d %= r
        for j in range(max(_leading(p) for p in parts)):
            if j == d:
                continue
            here = [p for p in parts if j < _leading(p)]
            single = next((p for p in here if _one(ctx, p.dims[j], ev.node)), None)
            seq = next((p for p in here if ctx.role(p, j) == POSITION and not _one(ctx, p.dims[j], ev.node)), None)
            if single is None or seq is None:
                continue
            ctx.report(
                self.code, ev.node,
                f"`cat` joins along axis {d}, but {who(single, 'one part')} {dims_text(ctx, single, ev.node)} "
                f"holds one position on axis {j} and {who(seq, 'another part')} {dims_text(ctx, seq, ev.node)} "
                f"a sequence of them",
                notes=("the parts fit only when the sequence has a single position",),
                help=f"join the token to the sequence along its positions: `dim={j}`",
            )
            return

    def _token_on_features(self, ev, ctx) -> bool:
        """A class token (by its name, ``cls_tokens``) of one position, ``(b, 1, d)``, joined along its last axis to
        a part whose positions are not known to be one (an unannotated sequence): reported, True."""
        v = arg(ev, 0, "tensors")
        node = ev.node.args[0] if isinstance(ev.node, ast.Call) and ev.node.args else None
        if not isinstance(v, (tuple, list)) or not isinstance(node, (ast.Tuple, ast.List)) \
                or len(node.elts) != len(v) or len(v) < 2:
            return False
        tokens = [i for i, p in enumerate(v) if isinstance(p, Shape) and p.rank == 3
                  and _one(ctx, p.dims[1], ev.node) and _TOKEN.fullmatch(operand_name(node.elts[i]) or "")]
        d = as_int(arg(ev, 1, "dim", 0))
        if len(tokens) != 1 or d not in (2, -1):
            return False
        token = v[tokens[0]]
        others = [p for i, p in enumerate(v) if i != tokens[0]]
        if any(isinstance(p, Shape) and (p.rank not in (None, 3) or _leading(p) > 1 and _one(ctx, p.dims[1], ev.node))
               for p in others):
            return False  # single positions joined along the features (``x.mean(1, keepdim=True)``)
        other = others[0]
        ctx.report(
            self.code, ev.node,
            f"`cat` joins the class token {who(token, 'one part')} {dims_text(ctx, token, ev.node)} to "
            f"{who(other, 'another part')} along their features (axis {d}): the token holds one position on axis 1, "
            "so the join runs only when the other part has a single position too",
            notes=("a class token joins the patch tokens along the positions",),
            help="join the token to the sequence along its positions: `dim=1`",
        )
        return True
