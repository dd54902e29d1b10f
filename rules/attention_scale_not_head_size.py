"""SHP207 attention-scale-not-head-size."""

from __future__ import annotations

import ast

from shapecheck._core._algebra import Expr, FloorDiv, const
from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import (ELEMENTWISE, MATMUL, arg, axis, carry, compare_before, env_before, last_name, name_of, qd,
                      register, tag)

SCORES = "sc_scores"  # (d_head Expr,) on q @ k^T

_SCALE_OPS = {"torch.Tensor.__mul__", "torch.Tensor.__rmul__", "torch.Tensor.__truediv__", "torch.Tensor.mul",
              "torch.Tensor.div", "torch.mul", "torch.div", "torch.Tensor.mul_", "torch.Tensor.div_"}
_SQRT = {"sqrt", "math.sqrt", "np.sqrt", "numpy.sqrt", "torch.sqrt", "torch.rsqrt", "math.pow"}


def _sqrt_argument(node) -> ast.AST | None:
    """The ``E`` of ``math.sqrt(E)``, ``E ** 0.5``, ``E ** -0.5``, ``1 / math.sqrt(E)``..."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and sub.args:
            f = sub.func
            if last_name(f) in ("sqrt", "rsqrt"):
                inner = sub.args[0]
                if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) \
                        and inner.func.attr in ("tensor", "as_tensor") and inner.args:
                    inner = inner.args[0]
                return inner
        if isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.Pow) \
                and isinstance(sub.right, (ast.Constant, ast.UnaryOp)):
            r = sub.right
            val = r.value if isinstance(r, ast.Constant) else (
                -r.operand.value if isinstance(r.op, ast.USub) and isinstance(r.operand, ast.Constant) else None)
            if val in (0.5, -0.5):
                return sub.left
    return None


def _symbols_by_name(exprs) -> dict:
    out = {}
    for e in exprs:
        if not isinstance(e, Expr):
            continue
        for s in e.symbols():
            n = name_of(Expr(((((s, 1),), 1),)))
            if n:
                out.setdefault(n, Expr(((((s, 1),), 1),)))
    return out


def _numerators(e: Expr) -> list:
    """``C`` for ``C // n_head`` (a floor division, or an exact one once divisibility is known)."""
    out = []
    for mono, coef in e.terms:
        num = const(coef)
        exact = False
        for atom, p in mono:
            if isinstance(atom, FloorDiv):
                out.append(atom.num)
            elif p > 0:
                num = num * Expr(((((atom, p),), 1),))
            else:
                exact = True
        if exact:
            out.append(num)
    return out


@register
class AttentionScaleNotHeadSize(LintRule):
    """Attention scores scaled by a size that is not the head size.

    ## What it does
    Scaled dot-product attention divides the scores by `sqrt(d_head)`, the size of the contracted
    axis of `q @ k.transpose(-2, -1)`. The rule finds the scaling applied to the scores
    (`* (1.0 / math.sqrt(E))`, `/ math.sqrt(E)`, `* E ** -0.5`) and reports when `E` is provably
    another size: the model width the heads were split from (`C` in `C // n_head`), the sequence
    length, or a different literal.

    ## Why is this bad?
    Dividing by `sqrt(d_model)` instead of `sqrt(d_head)` shrinks the logits by `sqrt(n_head)`:
    the softmax becomes nearly uniform at initialisation, gradients shrink, and the model trains
    slower or not at all. The code runs, so nothing points at the line.

    ## Example
    ```python
    B, T, C = x.size()
    ...
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C))
    ```

    ## Use instead
    ```python
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
    ```

    ## Known problems
    Only a scale written next to the scores with a size the analysis can name is checked; a scale
    computed in `__init__` (`self.scale = ...`) is not followed. Models that scale by the model
    width on purpose (some variants of the original Transformer's embedding scaling) do so on
    embeddings, not on scores, and are not affected.
    """

    code = "SHP207"
    calls = frozenset(ELEMENTWISE | MATMUL | _SCALE_OPS)
    name = "attention-scale-not-head-size"
    summary = "Attention scores are scaled by a size other than the head size"

    VALID = [
        '''
import math
import torch


def attend(x, n_head: int):
    B, T, C = x.size()
    q = x.view(B, T, n_head, C // n_head).transpose(1, 2)
    return (q @ q.transpose(-2, -1)) * (1.0 / math.sqrt(q.size(-1)))
''',
        # near miss: the head size spelled as a name
        '''
import math
import torch


def attend(x, n_head: int, head_dim: int):
    B, T, C = x.size()
    q = x.view(B, T, n_head, head_dim).transpose(1, 2)
    return (q @ q.transpose(-2, -1)) / math.sqrt(head_dim)
''',
    ]
    INVALID = [
        '''
import math
import torch


def attend(x, n_head: int):
    B, T, C = x.size()
    q = x.view(B, T, n_head, C // n_head).transpose(1, 2)
    return (q @ q.transpose(-2, -1)) * (1.0 / math.sqrt(C))
''',
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def attend(q: Float[Tensor, "b h t 64"], k: Float[Tensor, "b h t 64"]):
    return (q @ k.transpose(-2, -1)) * 512 ** -0.5
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        q = ev.qualname
        carry(ev, ctx, (SCORES,))
        if q in MATMUL:
            a, b = arg(ev, 0, "input"), arg(ev, 1, "other")
            d = axis(a, -1)
            if isinstance(b, Shape) and d is not None and isinstance(ev.result, Shape) and (ev.result.rank or 0) >= 2:
                ctx.tag_result(SCORES, (d,))
            return
        if q not in _SCALE_OPS:
            return
        scores = arg(ev, 0)
        t = tag(scores, SCORES)
        node = ev.node
        if t is None or not isinstance(node, ast.BinOp):
            return
        other = node.right if q != "torch.Tensor.__rmul__" else node.left
        e_node = _sqrt_argument(other)
        if e_node is None:
            return
        env = env_before(ctx, ev.node)
        d_head = env.resolve(t[0])
        size = self._size_of(e_node, scores, d_head)
        if size is None:
            return
        verdict = compare_before(ctx, ev.node, size, d_head)
        if verdict == "eq":
            return
        what = None
        if verdict == "ne":
            what = "a size that is not the head size"
        elif any(compare_before(ctx, ev.node, size, n) == "eq" for n in _numerators(d_head)):
            what = "the model width the heads were split from"
        elif any(compare_before(ctx, ev.node, size, axis(scores, i)) == "eq" for i in (-1, -2)):
            what = "the sequence length"
        if what is None:
            return
        ctx.report(
            self.code, ev.node,
            f"attention scores are scaled by the square root of {qd(size)}, {what}; the head size is {qd(d_head)}",
            notes=(f"the scores contract {qd(d_head)}, the last axis of the queries",),
            help="scale by `1 / math.sqrt(d_head)` (e.g. `q.size(-1)`)",
        )

    @staticmethod
    def _size_of(e_node, scores, d_head):
        if isinstance(e_node, ast.Constant) and type(e_node.value) is int and e_node.value > 0:
            return const(e_node.value)
        name = None
        if isinstance(e_node, ast.Name):
            name = e_node.id
        elif isinstance(e_node, ast.Attribute):
            name = e_node.attr
        if name is None:
            return None
        pool = _symbols_by_name(list(scores.dims) + [d_head] + _numerators(d_head))
        return pool.get(name.strip("_")) or pool.get(name)
