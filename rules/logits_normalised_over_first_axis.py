"""SHP405 logits-normalised-over-first-axis."""

from __future__ import annotations

import ast

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._algebra import Expr
from shapecheck._core._diag import Edit, Fix
from shapecheck._core._roles import CLASS
from shapecheck._core._shape import Shape, Variadic

from ._common import SOFTMAX_CALLS, as_int, qd, register, softmax_call, who
from .softmax_over_batch_axis import over_batch


def _dim_node(ev) -> ast.AST | None:
    """The node of the call's ``dim`` argument (``dim=0``, the second argument of ``F.log_softmax(x, 0)``, the
    first of ``x.log_softmax(0)``); None for a module (``nn.LogSoftmax(dim=0)`` is built elsewhere)."""
    node = ev.node
    if not isinstance(node, ast.Call) or ev.qualname in ("torch.nn.Softmax", "torch.nn.LogSoftmax"):
        return None
    for k in node.keywords:
        if k.arg == "dim":
            return k.value
    k = 0 if ev.receiver is not None else 1
    return node.args[k] if len(node.args) > k else None


@register
class LogitsNormalisedOverFirstAxis(LintRule):
    """A softmax or log_softmax over `dim=0` of logits whose classes are their last axis, of unknown rank.

    ## What it does
    Flags `softmax` / `log_softmax` (the functions and the tensor methods, and `nn.Softmax` /
    `nn.LogSoftmax` modules) over `dim=0` of a tensor whose last axis holds classes, by its producer
    (a head built for `vocab_size`, `num_classes`, `ntoken` outputs) and whose number of axes is
    not known where the call is: a `forward(x)` whose input nobody annotated. Axis 0 is then the
    class axis only when the tensor has a single axis, one example's scores; for a batch (or a
    sequence, or both) it is the batch or the time axis.

    ## Why is this bad?
    A classifier or a language model head is run on batches, where `dim=0` normalises each class
    across the examples (or the positions) instead of over the classes of one example. Nothing
    fails at run time: the loss still decreases, the outputs are not probabilities per example.
    `dim=-1` names the classes whatever the number of axes.

    ## Example
    ```python
    class Generator(nn.Module):
        def __init__(self, d_model, vocab):
            super().__init__()
            self.proj = nn.Linear(d_model, vocab)

        def forward(self, x):
            return F.log_softmax(self.proj(x), dim=0)
    ```

    ## Use instead
    ```python
            return F.log_softmax(self.proj(x), dim=-1)
    ```

    ## Known problems
    This is a warning: code written for one unbatched example at a time is right as it stands, and the
    fix (`dim=-1`) is the same computation for it. A tensor known to have two axes or more is left to
    `SHP211` (the batch axis) and the shape errors.
    """

    code = "SHP405"
    calls = SOFTMAX_CALLS
    name = "logits-normalised-over-first-axis"
    summary = "A softmax or log_softmax over dim 0 of logits whose classes are their last axis (one example only)"
    severity = "warning"
    fixable = True

    VALID = [
        # near miss: over the classes
        '''
import torch.nn.functional as F
from torch import nn


class Generator(nn.Module):
    def __init__(self, d_model: int, vocab: int):
        super().__init__()
        self.proj = nn.Linear(d_model, vocab)

    def forward(self, x):
        return F.log_softmax(self.proj(x), dim=-1)
''',
        # near miss: a head of features that are not classes (attention pooling weights over the positions of
        # a sequence-first tensor: axis 0 is meant)
        '''
import torch
from torch import nn


class Pool(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.score = nn.Linear(d, heads)

    def forward(self, x):
        return torch.softmax(self.score(x), dim=0)
''',
        # near miss: one example's scores, known to have one axis
        '''
import torch.nn.functional as F
from torch import nn


class Policy(nn.Module):
    def __init__(self, n_obs: int, num_classes: int):
        super().__init__()
        self.head = nn.Linear(n_obs, num_classes)

    def forward(self, state):
        assert state.dim() == 1
        return F.softmax(self.head(state), dim=0)
''',
    ]
    INVALID = [
        '''
import torch.nn.functional as F
from torch import nn


class Generator(nn.Module):
    def __init__(self, d_model: int, vocab: int):
        super().__init__()
        self.proj = nn.Linear(d_model, vocab)

    def forward(self, x):
        return F.log_softmax(self.proj(x), dim=0)
''',
        '''
from torch import nn


class LanguageModel(nn.Module):
    def __init__(self, ntoken: int, ninp: int):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.decoder = nn.Linear(ninp, ntoken)

    def forward(self, src):
        output = self.decoder(self.encoder(src))
        return output.log_softmax(0)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        sm = softmax_call(ev)
        if sm is None:
            return
        x, dim, log = sm
        if not isinstance(x, Shape) or x.rank is not None or x.is_any or as_int(dim) != 0:
            return
        if not isinstance(x.dims[0], Variadic) or len(x.dims) != 2 or not isinstance(x.dims[-1], Expr):
            return  # `... classes`: nothing known but the last axis
        last = ctx.resolve(x.dims[-1])
        if as_int(last) is not None or ctx.role(x, -1) != CLASS or over_batch(ev, ctx) is not None:
            return
        fn = "log_softmax" if log else "softmax"
        node = _dim_node(ev)
        fix = None
        if node is not None and node.end_lineno == node.lineno:
            fix = Fix("normalise over the classes: `dim=-1`",
                      (Edit(node.lineno, node.col_offset + 1, node.end_lineno, node.end_col_offset + 1, "-1"),), safe=True)
        ctx.report(
            self.code, ev.node,
            f"{fn} over dim 0 of {who(x)} (..., {qd(last)}), whose classes {qd(last)} are its last axis: dim 0 is "
            f"the class axis only when the tensor has one axis (a single example)",
            notes=("for a batch (or a sequence), dim 0 is the batch (or the time) axis, and each class is normalised "
                   "across the examples",),
            help="normalise over the classes: `dim=-1` (the same for one example, and right for a batch)",
            fix=fix,
        )
