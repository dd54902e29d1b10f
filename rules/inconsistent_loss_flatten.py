"""SHP402 inconsistent-loss-flatten."""

from __future__ import annotations

from shapecheck._core._algebra import Expr
from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import CLASS_LOSSES, ELEMENTWISE, arg, as_int, carry, compare_before, loss_args, qd, register, who

FLAT = "lf_factors"  # (source axes merged into axis 0, node)

_VIEWS = {"torch.Tensor.view", "torch.Tensor.reshape", "torch.reshape", "torch.Tensor.flatten", "torch.flatten"}


def _order(factors) -> str:
    return "(" + ", ".join(qd(f) for f in factors) + ")"


@register
class InconsistentLossFlatten(LintRule):
    """Logits and targets flattened for a loss in different axis orders.

    ## What it does
    Token-level losses flatten logits `(A, B, V)` to `(A*B, V)` and targets `(A, B)` to `(A*B,)`.
    The rule follows both flattens (`view`, `reshape`, `flatten`) into `cross_entropy`/`nll_loss`
    and reports when the merged axes are the same axes in a different order: `(T, B)` for the
    logits of a sequence-first model and `(B, T)` for the targets from the data loader.

    ## Why is this bad?
    The element counts agree, so the loss runs, but logit row `i` is compared with the target of a
    different position and example. The model trains on shuffled labels: the loss plateaus high
    and nothing fails.

    ## Example
    ```python
    out = self.transformer(src)                 # (T, B, V), nn.Transformer is sequence-first
    loss = F.cross_entropy(out.view(-1, V), targets.reshape(-1))    # targets (B, T)
    ```

    ## Use instead
    ```python
    loss = F.cross_entropy(out.transpose(0, 1).reshape(-1, V), targets.reshape(-1))
    ```

    ## Known problems
    Only flattens whose merged axes are all known are compared; a flatten through an intermediate
    variable of unknown shape is not followed.
    """

    code = "SHP402"
    calls = frozenset(ELEMENTWISE | _VIEWS | CLASS_LOSSES)
    name = "inconsistent-loss-flatten"
    summary = "Logits and targets are flattened for a loss in different axis orders"

    VALID = [
        '''
import torch
import torch.nn.functional as F


def loss(logits, targets):
    B, T, V = logits.shape
    return F.cross_entropy(logits.view(-1, V), targets.view(B, T).reshape(-1))
''',
        # near miss: sequence-first logits transposed back before flattening
        '''
import torch
import torch.nn.functional as F


def loss(logits, targets):
    T, B, V = logits.shape
    return F.cross_entropy(logits.transpose(0, 1).reshape(-1, V), targets.view(B, T).reshape(-1))
''',
    ]
    INVALID = [
        '''
import torch
import torch.nn.functional as F


def loss(logits, targets):
    T, B, V = logits.shape
    return F.cross_entropy(logits.view(-1, V), targets.view(B, T).reshape(-1))
''',
        '''
import torch
from torch import nn


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.crit = nn.CrossEntropyLoss()

    def forward(self, out, tgt):
        S, N, V = out.shape
        flat_out = out.reshape(S * N, V)
        flat_tgt = tgt.view(N, S).flatten()
        return self.crit(flat_out, flat_tgt)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        carry(ev, ctx, (FLAT,))
        if ev.qualname in _VIEWS:
            self._tag(ev, ctx)
            return
        x, t = loss_args(ev)
        if not isinstance(x, Shape) or not isinstance(t, Shape) or x.rank != 2 or t.rank != 1:
            return
        fx, ft = x.get_meta(FLAT), t.get_meta(FLAT)
        if fx is None or ft is None:
            return
        a, b = fx[0], ft[0]
        if len(a) != len(b) or len(a) < 2:
            return
        c = lambda p, q: compare_before(ctx, ev.node, p, q)  # noqa: E731
        if all(c(p, q) == "eq" for p, q in zip(a, b)):
            return
        # the same axes, in another order
        rest = list(b)
        for p in a:
            j = next((j for j, q in enumerate(rest) if c(p, q) == "eq"), None)
            if j is None:
                return
            rest.pop(j)
        if any(c(a[i], a[j]) == "eq" for i in range(len(a)) for j in range(i + 1, len(a))):
            return  # two equal axes: their order cannot be told apart
        what = ev.qualname.rsplit(".", 1)[-1]
        ctx.report(
            self.code, ev.node,
            f"`{what}` gets {who(x, 'logits')} flattened from {_order(a)} but {who(t, 'targets')} flattened from "
            f"{_order(b)}: rows and targets belong to different positions",
            notes=(f"the logits were flattened at line {getattr(fx[1], 'lineno', '?')}",
                   f"the targets were flattened at line {getattr(ft[1], 'lineno', '?')}"),
            help="permute one of them into the other's order before flattening (e.g. `.transpose(0, 1)`)",
        )

    @staticmethod
    def _tag(ev, ctx):
        x, out = (ev.args[0] if ev.args else None), ev.result
        if not isinstance(x, Shape) or not isinstance(out, Shape) or x.rank is None or out.rank is None:
            return
        if x.rank < 2:
            return
        if ev.qualname in ("torch.Tensor.flatten", "torch.flatten"):
            start = as_int(arg(ev, 1, "start_dim", 0))
            end = as_int(arg(ev, 2, "end_dim", -1))
            if start != 0 or end is None:
                return
        if out.rank == 1:
            factors = tuple(x.dims)
        elif out.rank == 2 and x.rank >= 3 and ctx.compare(out.dims[-1], x.dims[-1]) == "eq":
            factors = tuple(x.dims[:-1])
        else:
            return
        if all(isinstance(f, Expr) for f in factors):
            ctx.tag_result(FLAT, (factors, ev.node))
