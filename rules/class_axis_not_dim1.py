"""SHP401 class-axis-not-dim1."""

from __future__ import annotations

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._roles import CLASS, FEATURE, POSITION, SPATIAL_ROLES
from shapecheck._core._shape import Shape

from ._common import CLASS_LOSSES, axis_note, compare_before, dims_text, looks_like, loss_args, qd, register, who


@register
class ClassAxisNotDim1(LintRule):
    """`cross_entropy`/`nll_loss` given `(batch, seq, classes)` logits: the class axis must be axis 1.

    ## What it does
    `F.cross_entropy`, `F.nll_loss`, `nn.CrossEntropyLoss` and `nn.NLLLoss` read the classes from
    axis 1 of a `(N, C, d1, ...)` input. The rule flags logits with three or more axes whose
    target has the logits' axes *except the last* (`(B, T)` targets for `(B, T, V)` logits):
    the classes are last, the layout of every language model and token classifier.

    ## Why is this bad?
    When the sequence length happens to equal the number of classes, or when the sizes are not
    known to the core, the loss is computed over the wrong axis without an error: each
    "class" is a time step. With sizes that provably differ the core reports `SHP110` at the
    same call and this rule stays silent.

    ## Example
    ```python
    logits = self.lm_head(h)                      # (B, T, vocab)
    loss = F.cross_entropy(logits, targets)       # targets (B, T)
    ```

    ## Use instead
    ```python
    loss = F.cross_entropy(logits.transpose(1, 2), targets)
    # or
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
    ```

    ## Known problems
    When the target's shape is unknown, the rule asks the axes' producers: it reports `(B, T, V)`
    logits whose last axis is a Linear head's output and whose axis 1 holds time steps (a
    recurrent layer's output) or rows of a feature map; else it falls back on names: axis 1 named
    like a sequence (`t`, `seq_len`) and the last axis like the classes (`vocab_size`, `n_classes`). Class probabilities as targets (same shape as the logits)
    are not checked by this rule.
    """

    code = "SHP401"
    calls = frozenset(CLASS_LOSSES)
    name = "class-axis-not-dim1"
    summary = "A classification loss gets (batch, seq, classes) logits; the class axis must be axis 1"

    VALID = [
        # near miss: the same head, its classes moved to axis 1
        '''
import torch.nn.functional as F
from torch import nn


class Tagger(nn.Module):
    def __init__(self, d: int, hidden: int, n_out: int):
        super().__init__()
        self.rnn = nn.GRU(d, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_out)

    def forward(self, x, y):
        batch, steps, _ = x.shape
        out, _ = self.rnn(x)
        return F.cross_entropy(self.head(out).permute(0, 2, 1), y)
''',
        '''
import torch
import torch.nn.functional as F
from torch import nn


class LM(nn.Module):
    def __init__(self, d: int, vocab: int):
        super().__init__()
        self.head = nn.Linear(d, vocab)

    def forward(self, h, idx):
        B, T = idx.shape
        logits = self.head(h.view(B, T, -1))
        return F.cross_entropy(logits.transpose(1, 2), idx)
''',
        # near miss: (batch, classes, height, width) segmentation logits with (batch, height, width) targets
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float, Int


class Seg(nn.Module):
    def __init__(self):
        super().__init__()
        self.loss = nn.CrossEntropyLoss()

    def forward(self, logits: Float[Tensor, "b k h w"], mask: Int[Tensor, "b h w"]):
        return self.loss(logits, mask)
''',
        # policy: with distinct annotated axes the core proves it (SHP110) and this rule stays silent
        '''
import torch
import torch.nn.functional as F
from torch import Tensor
from jaxtyping import Float, Int


def loss(logits: Float[Tensor, "b t v"], targets: Int[Tensor, "b t"]):
    return F.cross_entropy(logits, targets)
''',
    ]
    INVALID = [
        # unannotated: a batch-first GRU's (batch, time, hidden) output through a Linear head
        '''
import torch.nn.functional as F
from torch import nn


class Tagger(nn.Module):
    def __init__(self, d: int, hidden: int, n_out: int):
        super().__init__()
        self.rnn = nn.GRU(d, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_out)

    def forward(self, x, y):
        batch, steps, _ = x.shape
        out, _ = self.rnn(x)
        return F.cross_entropy(self.head(out), y)
''',
        '''
import torch
import torch.nn.functional as F
from torch import nn


class LM(nn.Module):
    def __init__(self, d: int, vocab: int):
        super().__init__()
        self.head = nn.Linear(d, vocab)

    def forward(self, h, idx):
        B, T = idx.shape
        logits = self.head(h.view(B, T, -1))
        return F.cross_entropy(logits, idx)
''',
        '''
import torch
from torch import nn


class Tagger(nn.Module):
    def __init__(self, d: int, n_tags: int):
        super().__init__()
        self.proj = nn.Linear(d, n_tags)
        self.crit = nn.NLLLoss()

    def forward(self, h, tags):
        B, T = tags.shape
        log_probs = torch.log_softmax(self.proj(h.view(B, T, -1)), dim=-1)
        return self.crit(log_probs, tags)
''',
        '''
import torch
import torch.nn.functional as F
from torch import nn


class TinyGPT(nn.Module):
    def __init__(self, n_embd: int, vocab_size: int):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)

    def forward(self, idx, targets):
        b, t = idx.size()
        logits = self.lm_head(self.wte(idx))
        return F.cross_entropy(logits, targets)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        x, t = loss_args(ev)
        if not isinstance(x, Shape) or x.rank is None or x.rank < 3:
            return
        if not isinstance(t, Shape) or t.rank is None:
            # the target's shape is unknown: the names of the logits' axes break the tie
            if x.rank == 3 and looks_like(x.dims[1], "seq") and looks_like(x.dims[-1], "classes") \
                    and not looks_like(x.dims[1], "classes") and not looks_like(x.dims[-1], "seq"):
                self._report(ev, ctx, x, None)
            elif x.rank == 3 and self._by_role(ev, ctx, x):
                self._report(ev, ctx, x, None, by_role=True)
            return
        if t.rank != x.rank - 1:
            return
        c = lambda a, b: compare_before(ctx, ev.node, a, b)  # noqa: E731
        if any(c(x.dims[i], t.dims[i]) != "eq" for i in range(t.rank)):
            return
        if c(x.dims[-1], t.dims[-1]) != "unknown" or c(x.dims[1], x.dims[-1]) == "eq":
            return
        self._report(ev, ctx, x, t)

    @staticmethod
    def _by_role(ev, ctx, x) -> bool:
        """The producers say it: the last axis is a head's output (classes, or a Linear's features)
        and axis 1 is positions or space (a recurrent layer's time steps, a feature map's rows)."""
        last, second = ctx.role(x, -1), ctx.role(x, 1)
        if last not in (CLASS, FEATURE) or not (second == POSITION or second in SPATIAL_ROLES):
            return False
        return compare_before(ctx, ev.node, x.dims[1], x.dims[-1]) != "eq"

    def _report(self, ev, ctx, x, t, by_role: bool = False):
        what = ev.qualname.rsplit(".", 1)[-1]
        subject = who(x, "the logits")
        if t is not None:
            why = f"its target {dims_text(ctx, t, ev.node)} matches every axis but the last {qd(x.dims[-1])}"
        elif by_role:
            many = {"class": "classes", "position": "positions (time steps)"}
            second, last = ctx.role(x, 1), ctx.role(x, -1)
            why = (f"axis 1 holds {many.get(second, second + 's')}, the last axis the "
                   f"{many.get(last, last + 's')} of a classification head")
        else:
            why = f"axis 1 {qd(x.dims[1])} is a sequence, the last axis {qd(x.dims[-1])} the classes"
        ctx.report(
            self.code, ev.node,
            f"`{what}` reads classes from axis 1, but {subject} {dims_text(ctx, x, ev.node)} "
            f"{'have' if subject == 'the logits' else 'has'} them last: {why}",
            notes=(axis_note(ctx, x, 1, ev.node), axis_note(ctx, x, -1, ev.node)),
            help="pass `logits.transpose(1, 2)`, or flatten both: "
                 "`logits.view(-1, logits.size(-1))` and `target.view(-1)`",
        )
