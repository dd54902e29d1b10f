"""SHP209 bare-squeeze-may-drop-batch."""

from __future__ import annotations

import ast

from shapecheck._engine._narrow import rank_test
from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._algebra import Expr, provably_positive
from shapecheck._core._diag import Edit, Fix
from shapecheck._core._shape import Shape, Unknown, Variadic

from ._common import arg, as_int, dims_text, qd, register, who

_SQUEEZE = {"torch.squeeze", "torch.Tensor.squeeze", "torch.Tensor.squeeze_"}


def _size_one(ctx, d) -> bool:
    return isinstance(d, Expr) and as_int(ctx.resolve(d)) == 1


def _may_be_one(ctx, d) -> bool:
    """An axis that is not a literal 1 but may be 1 at run time: a name, a size from code, unknown."""
    if isinstance(d, Unknown):
        return True
    if not isinstance(d, Expr):
        return False
    r = ctx.resolve(d)
    if not isinstance(r, Expr) or r.value is not None:
        return False  # a literal: 1 is the axis meant to go, any other number stays
    return not provably_positive(r - 1)  # `n + 1` (n >= 1) is never 1


def _rewritten(ev, dim_text: str) -> str:
    """The call with the size-one axis named: `h.squeeze(-1)`, `torch.squeeze(m, 1)`."""
    node = ev.node
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if ev.receiver is not None:
            text = f"{ast.unparse(node.func.value)}.{node.func.attr}({dim_text})"  # squeeze or squeeze_
        elif node.args:
            text = f"{ast.unparse(node.func)}({ast.unparse(node.args[0])}, {dim_text})"
        else:
            text = ""
        if text and len(text) <= 60:
            return text
    return f"squeeze({dim_text})"


def _fix(ev, dim_text: str):
    """Insert the dim before the call's closing parenthesis: `h.squeeze()` -> `h.squeeze(-1)`,
    `torch.squeeze(m)` -> `torch.squeeze(m, 1)`."""
    node = ev.node
    if not isinstance(node, ast.Call) or node.keywords or node.end_lineno is None or node.end_col_offset is None:
        return None
    if ev.receiver is not None and not node.args:
        text = dim_text
    elif ev.receiver is None and len(node.args) == 1:
        text = f", {dim_text}"
    else:
        return None
    at = node.end_col_offset  # the closing parenthesis, 1-based, in bytes as `ast` counts
    return Fix(f"squeeze only the size-one axis: `squeeze({dim_text})`",
               (Edit(node.end_lineno, at, node.end_lineno, at, text),), safe=True)


@register
class BareSqueezeMayDropBatch(LintRule):
    """A `squeeze()` without `dim` on a tensor that has an axis which may be 1 at run time.

    ## What it does
    Flags `x.squeeze()` and `torch.squeeze(x)` without a `dim` when the tensor has an axis of
    literal size 1 (the one the call is meant to drop: a `keepdim=True` reduction, an
    `nn.Linear(d, 1)` head, an `unsqueeze`) *and* an axis whose size is not a literal (a name such
    as the batch size, a size taken from code, an unknown size). The help names the `dim` of the
    size-one axis to pass; when there is one such axis, the fix (`shapecheck check --fix`) writes it
    into the call: `h.squeeze()` becomes `h.squeeze(-1)`.

    ## Why is this bad?
    A bare `squeeze()` drops *every* axis of size 1. It works while the batch (or sequence, or
    head count) is larger than one, and silently changes the rank the day it is 1: a batch of one
    at inference, a last incomplete batch, a single-token prompt. `(b, 1)` logits become `()`
    instead of `(b,)`, and the next loss, `cat` or index fails or, worse, broadcasts.

    ## Example
    ```python
    logits = self.head(h)         # (b, 1)
    return logits.squeeze()       # () when b == 1
    ```

    ## Use instead
    ```python
    return logits.squeeze(-1)     # (b,) for every b
    ```

    Code that tests the squeezed tensor's rank afterwards (`t = t.squeeze()` then
    `if t.dim() == 0: ...`, `t.ndim == 1`, `len(t.shape) == 0`) handles the dropped axes itself and is left alone,
    and so is a squeeze flattened at once (`.squeeze().view(-1)`, `.reshape(-1)`, `.flatten()`, `.item()`) or of a
    column of all the tensor's elements (`labels.view(-1, 1).squeeze()`, one axis only when there is one element).

    ## Known problems
    A size that the surrounding code guarantees to be larger than one (checked with an `assert`, or
    a literal configuration read from another module) is still taken as possibly 1. This is a
    warning: silence it with `# noqa: SHP209` where the axis can never be 1.
    """

    code = "SHP209"
    calls = frozenset(_SQUEEZE)
    name = "bare-squeeze-may-drop-batch"
    summary = "A squeeze() without dim on a tensor whose batch or another non-literal axis may also be 1"
    severity = "warning"
    fixable = True

    VALID = [
        # near miss: an image batch of one, its result permuted at once over three axes (the permutation fails
        # unless only the batch axis was dropped)
        '''
import torch


def restore(model, x):
    _, _, h, w = x.shape
    y = model(x).reshape(1, 3, h, w)
    return torch.clamp(y, 0, 1).cpu().numpy().squeeze().transpose((1, 2, 0))
''',
        # TransformerLens HookedTransformer.py (the fix of a squeeze over the positions): a bare squeeze
        # whose result's rank is checked next, and a dropped last axis put back
        '''
from torch import Tensor
from jaxtyping import Int


def first_prompt(ids: Int[Tensor, "1 pos"]):
    ids = ids.squeeze()
    ids = ids.unsqueeze(0) if ids.dim() == 0 else ids
    return ids
''',
        # a pointwise kernel of a re-parametrised convolution, squeezed and viewed at once with every size given:
        # the view makes the shape, whatever the squeeze dropped
        '''
import torch
from torch import nn


class Kernel(nn.Module):
    def __init__(self, o: int, groups: int, tg: int):
        super().__init__()
        self.o, self.groups, self.tg = o, groups, tg
        self.weight_pw = nn.Parameter(torch.zeros(o, groups * tg, 1, 1))

    def forward(self):
        return self.weight_pw.squeeze().view(self.o, self.groups, self.tg)
''',
        # fairseq's noisy-channel scorer: the squeezed scores are flattened at once, whatever was dropped
        '''
import torch
from torch import Tensor
from jaxtyping import Float, Int


def next_word_scores(lprobs: Float[Tensor, "n vocab"], k: int, cand: Int[Tensor, "m 1"]):
    n = lprobs.size(0)
    return torch.gather(lprobs.repeat(1, k).view(n * k, -1), 1, cand).squeeze().view(-1)
''',
        # MoE gating's expert histogram: `histc` counts the values of a tensor of any rank, so what the squeeze
        # drops makes no difference (a squeeze of one token's `(1, 1)` indices gives a 0-d tensor, counted alike)
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def expert_histogram(logits: Float[Tensor, "tokens experts"], num_experts: int):
    indices = torch.argmax(logits, dim=1, keepdim=True)
    return torch.histc(indices.squeeze() + 1, bins=num_experts, min=1, max=num_experts)
''',
        # dgcnn's part segmentation: labels viewed as one column of all their elements and squeezed to a vector;
        # the column's length is every label of every cloud, one only for a single label
        '''
import torch.nn.functional as F


def seg_loss(pred, labels, n_cls: int):
    return F.cross_entropy(pred.view(-1, n_cls), labels.view(-1, 1).squeeze())
''',
        # near miss: the size-one axis is named
        '''
from torch import Tensor, nn


class Scorer(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.head = nn.Linear(d, 1)

    def forward(self, h: Tensor):
        b, d = h.shape
        return self.head(h).squeeze(-1)
''',
        # every axis is a literal: nothing else can vanish
        '''
import torch


def constant():
    w = torch.zeros(3, 1, 4)
    return w.squeeze()
''',
        # near miss: no axis is known to be 1, the squeeze is a guard against one the code does not show
        '''
from torch import Tensor
from jaxtyping import Float


def flat(x: Float[Tensor, "b n"]):
    return x.squeeze()
''',
    ]
    INVALID = [
        # a permutation of as many axes as the input had: the squeeze may still drop "h" or "w"
        '''
import torch


def restore(model, x):
    _, _, h, w = x.shape
    y = model(x).reshape(1, 3, h, w)
    return torch.clamp(y, 0, 1).squeeze().permute(0, 2, 3, 1)
''',
        '''
from torch import Tensor, nn


class Scorer(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.head = nn.Linear(d, 1)

    def forward(self, h: Tensor):
        b, d = h.shape
        return self.head(h).squeeze()
''',
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def pooled(x: Float[Tensor, "batch seq d"]):
    m = x.mean(dim=1, keepdim=True)
    return torch.squeeze(m)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        if ev.qualname not in _SQUEEZE:
            return
        x = arg(ev, 0, "input")
        if arg(ev, 1, "dim") is not None or not isinstance(x, Shape) or x.is_any or x.rank is None:
            return
        if any(isinstance(d, Variadic) for d in x.dims):
            return
        ones = [i for i, d in enumerate(x.dims) if _size_one(ctx, d)]
        maybe = [i for i, d in enumerate(x.dims) if _may_be_one(ctx, d)]
        if not ones or not maybe or _rank_checked_after(ctx.scope, ev.node) or _flattened(ctx.scope, ev.node) \
                or _permuted_at_once(ctx.scope, ev.node) == x.rank - len(ones):
            return
        n = x.rank
        shown = ", ".join(qd(ctx.resolve(x.dims[i])) if isinstance(x.dims[i], Expr) else f"axis {i}" for i in maybe)
        dims = [i - n if i == n - 1 else i for i in ones]
        dim_text = str(dims[0]) if len(dims) == 1 else "(" + ", ".join(map(str, dims)) + ")"
        call = _rewritten(ev, dim_text)
        fix = _fix(ev, dim_text) if len(dims) == 1 else None
        ctx.report(
            self.code, ev.node,
            f"squeeze() without dim on {who(x)} {dims_text(ctx, x, ev.node)} also drops {shown} "
            f"when {'it is' if len(maybe) == 1 else 'they are'} 1 at run time",
            notes=("a bare squeeze removes every axis of size 1, not only the one meant",),
            help=f"name the size-one axis: `{call}`",
            fix=fix,
        )


# functions that read their input's values whatever its rank (``torch.histc`` counts them all)
_RANK_BLIND = frozenset({"histc"})


def _flattened(scope, call) -> bool:
    """``x.squeeze().view(-1)`` (``.reshape(-1)``, ``.flatten()``, ``.ravel()``, ``.item()``): the result
    is flattened at once, so which axes the squeeze dropped makes no difference, nor where it is viewed at once
    with sizes given (``w.squeeze().view(o, groups, tg)``); so is a squeeze (or its sum with a
    number, ``x.squeeze() + 1``) counted by ``torch.histc``, and one of a column of all the tensor's elements
    (``labels.view(-1, 1).squeeze()``: a vector, but of one element)."""
    if scope is None:
        return False
    receiver = call.func.value if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) else None
    if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute) \
            and receiver.func.attr in ("view", "reshape") and not receiver.keywords \
            and sorted(ast.unparse(a) for a in receiver.args) == ["-1", "1"]:
        return True
    for n in ast.walk(scope):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _RANK_BLIND and n.args:
            first = n.args[0]
            if isinstance(first, ast.BinOp) and isinstance(first.right, ast.Constant):
                first = first.left
            if first is call:
                return True
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.value is call:
            if n.func.attr in ("flatten", "ravel", "item") and not n.args and not n.keywords:
                return True
            if n.func.attr in ("view", "reshape") and len(n.args) == 1 and not n.keywords \
                    and isinstance(n.args[0], ast.UnaryOp) and isinstance(n.args[0].op, ast.USub) \
                    and isinstance(n.args[0].operand, ast.Constant) and n.args[0].operand.value == 1:
                return True
            if n.func.attr in ("view", "reshape") and not n.keywords \
                    and (len(n.args) > 1 or len(n.args) == 1 and isinstance(n.args[0], (ast.Tuple, ast.List))):
                # ``w.squeeze().view(o, groups, tg)``: the sizes given make the shape, whatever the squeeze dropped
                return True
            return False
    return False


def _permuted_at_once(scope, call) -> int | None:
    """The number of axes a permutation given at once to the squeeze's result names (``.transpose((1, 2, 0))`` of a
    NumPy array, ``.permute(1, 2, 0)``): the result has that many axes, or the permutation fails; else None."""
    if scope is None:
        return None
    for n in ast.walk(scope):
        if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.value is call) \
                or n.func.attr not in ("permute", "transpose") or n.keywords:
            continue
        axes = n.args[0].elts if len(n.args) == 1 and isinstance(n.args[0], (ast.Tuple, ast.List)) else n.args
        if all(isinstance(a, ast.Constant) and type(a.value) is int for a in axes) \
                and (n.func.attr == "permute" or len(axes) >= 3 or len(n.args) == 1):
            return len(axes)
    return None


def _rank_checked_after(scope, call) -> bool:
    """``t = t.squeeze()`` followed by a test of ``t``'s rank (``t.dim() == 0``, ``t.ndim != 1``,
    ``len(t.shape) == 0``) later in the function: the code handles the axes the squeeze may drop."""
    if scope is None:
        return False
    assign = next((n for n in ast.walk(scope) if isinstance(n, ast.Assign) and n.value is call
                   and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)), None)
    if assign is None:
        return False
    name = assign.targets[0].id
    return any(isinstance(n, ast.Compare) and n.lineno >= assign.end_lineno
               and (rank_test(n) or ("",))[0] == name for n in ast.walk(scope))
