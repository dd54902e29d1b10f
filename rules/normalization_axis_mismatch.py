"""SHP403 normalization-axis-mismatch."""

from __future__ import annotations

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import (CLASS_LOSSES, ELEMENTWISE, SOFTMAX_CALLS, arg, as_int, carry, compare_before, loss_args,
                      neg_dim, rank, register, softmax_call, who)
from .softmax_over_batch_axis import over_batch

NORM = "nz_axis"  # (axis counted from the end, rank or None, node, "softmax" | "log_softmax")
# a tensor of unknown rank normalised over an axis counted from the front: (axis, node, "softmax" | "log_softmax")
NORM_FRONT = "nz_front"

_LOG = {"torch.log", "torch.Tensor.log", "torch.Tensor.log_", "torch.clamp", "torch.Tensor.clamp",
        "torch.Tensor.clamp_min", "torch.Tensor.__add__"}
_KL = {"torch.nn.functional.kl_div", "torch.nn.KLDivLoss"}
_CTC = {"torch.nn.functional.ctc_loss", "torch.nn.CTCLoss"}
_COMBINE = {"torch.Tensor.__mul__", "torch.Tensor.__rmul__", "torch.mul", "torch.Tensor.mul", "torch.Tensor.__sub__",
            "torch.Tensor.__add__", "torch.sub", "torch.add"}


@register
class NormalizationAxisMismatch(LintRule):
    """Distributions normalised over different axes are combined, or fed to a loss over another axis.

    ## What it does
    Tags the result of every `softmax`/`log_softmax` (function, method or module) with the axis it
    normalised, follows it through `log`, `clamp` and the like, and reports:
    `nll_loss`/`NLLLoss`/`cross_entropy` given log-probabilities normalised over an axis other than
    the class axis (axis 1); `ctc_loss`/`CTCLoss` given log-probabilities normalised over an axis other
    than the last (its classes; axis 0 is time, whatever the rank of the model's output); `kl_div`
    with input and target normalised over different axes; and a
    product or difference of two distributions normalised over different axes
    (`p * log_q`, as in a hand-written cross-entropy or distillation loss).

    ## Why is this bad?
    `log_softmax(x, dim=0)` on a `(batch, classes)` tensor normalises over the *batch*; the loss
    still decreases (the model learns to rank examples against each other) but the outputs are
    not class probabilities. Mixing a teacher distribution over one axis with a student over
    another computes a meaningless divergence. Neither fails at run time.
    Products of two softmaxes (dual-softmax matching) are deliberate and not reported; a product
    of probabilities with log-probabilities is.

    ## Example
    ```python
    log_probs = F.log_softmax(logits, dim=0)     # (batch, classes): over the batch
    loss = F.nll_loss(log_probs, labels)
    ```

    ## Use instead
    ```python
    log_probs = F.log_softmax(logits, dim=1)
    ```

    ## Known problems
    An implicit `dim` (deprecated `F.softmax(x)`) is not followed. When the logits are
    `(batch, seq, classes)` with matching targets, the layout itself is wrong and `SHP401`
    reports it instead.
    """

    code = "SHP403"
    calls = frozenset(ELEMENTWISE | SOFTMAX_CALLS | CLASS_LOSSES | _KL | _CTC | _COMBINE
                      | {"torch.log", "torch.Tensor.log"})
    name = "normalization-axis-mismatch"
    summary = "Distributions normalised over different axes are combined, or a loss reads another axis"

    VALID = [
        '''
import torch
import torch.nn.functional as F
from torch import Tensor
from jaxtyping import Float, Int


def loss(logits: Float[Tensor, "b k"], labels: Int[Tensor, " b"]):
    return F.nll_loss(F.log_softmax(logits, dim=1), labels)
''',
        # near miss: distillation with both distributions over the class axis (-1 == 1 for 2 axes)
        '''
import torch
import torch.nn.functional as F
from torch import Tensor
from jaxtyping import Float


def distill(student: Float[Tensor, "b k"], teacher: Float[Tensor, "b k"]):
    return F.kl_div(F.log_softmax(student, dim=-1), F.softmax(teacher, dim=1), reduction="batchmean")
''',
        # near miss: dual-softmax matching multiplies two softmaxes over different axes on purpose
        '''
import torch
import torch.nn.functional as F
from torch import Tensor
from jaxtyping import Float


def mutual_matches(feat0: Float[Tensor, "b n d"], feat1: Float[Tensor, "b m d"]):
    sim = feat0 @ feat1.transpose(1, 2)
    return F.softmax(sim, 1) * F.softmax(sim, 2)
''',
        # near miss: CTC log-probabilities over the classes, whatever the model's output rank; and a distribution
        # over axis 0 that a transpose moves before the loss (the tag does not follow the axes)
        '''
from torch import nn


class Recognizer(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.criterion = nn.CTCLoss(blank=0, zero_infinity=True)

    def training_step(self, inputs, targets, input_sizes, target_sizes):
        out = self.model(inputs).transpose(0, 1)
        loss = self.criterion(out.log_softmax(-1), targets, input_sizes, target_sizes)
        moved = self.model(inputs).log_softmax(0).transpose(0, 1)
        return loss + self.criterion(moved, targets, input_sizes, target_sizes)
''',
    ]
    INVALID = [
        # CTC reads (time, batch, classes): a log_softmax over axis 0 normalises over time
        '''
from torch import nn


class Recognizer(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.criterion = nn.CTCLoss(blank=0, zero_infinity=True)

    def training_step(self, inputs, targets, input_sizes, target_sizes):
        out = self.model(inputs).transpose(0, 1)
        out = out.log_softmax(0)
        return self.criterion(out, targets, input_sizes, target_sizes)
''',
        '''
import torch
import torch.nn.functional as F
from torch import Tensor
from jaxtyping import Float, Int


def loss(logits: Float[Tensor, "b k"], labels: Int[Tensor, " b"]):
    log_probs = F.log_softmax(logits, dim=0)
    return F.nll_loss(log_probs, labels)
''',
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def soft_ce(student: Float[Tensor, "b k t"], teacher: Float[Tensor, "b k t"]):
    p = teacher.softmax(dim=1)
    log_q = torch.log_softmax(student, dim=-1)
    return -(p * log_q).sum(dim=1).mean()
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        carry(ev, ctx, (NORM,))
        sm = softmax_call(ev)
        if sm is not None:
            x, dim, log = sm
            d = neg_dim(dim, x)
            fn = "log_softmax" if log else "softmax"
            if over_batch(ev, ctx) is not None:
                return  # over the batch axis: SHP211 reports it there
            if d is not None:
                ctx.tag_result(NORM, (d, x.rank, ev.node, fn))
            elif rank(x) is None and as_int(dim) is not None and as_int(dim) >= 0:
                ctx.tag_result(NORM_FRONT, (as_int(dim), ev.node, fn))
            return
        if ev.qualname in _CTC:
            self._ctc(ctx, ev, arg(ev, 0, "log_probs"))
            return
        if ev.qualname in ("torch.log", "torch.Tensor.log"):
            t = arg(ev, 0).get_meta(NORM) if isinstance(arg(ev, 0), Shape) else None
            if t is not None:
                ctx.tag_result(NORM, (t[0], t[1], t[2], "log_softmax"))
            return
        x, target = loss_args(ev)
        if isinstance(x, Shape) and x.get_meta(NORM) is not None and x.rank:
            t = x.get_meta(NORM)
            cls = -x.rank + (1 if x.rank >= 2 else 0)
            if t[0] != cls and t[1] == x.rank and not self._class_last_layout(ctx, ev, x, target):
                what = ev.qualname.rsplit(".", 1)[-1]
                ctx.report(
                    self.code, ev.node,
                    f"`{what}` reads classes from axis {cls + x.rank}, but {who(x, 'its input')} was normalised "
                    f"over axis {t[0] + x.rank} by `{t[3]}`",
                    notes=(f"the `{t[3]}` is at line {getattr(t[2], 'lineno', '?')}",),
                    help=f"normalise over the class axis: `{t[3]}(..., dim=1)`",
                )
            return
        if ev.qualname in _KL:
            a, b = arg(ev, 0, "input"), arg(ev, 1, "target")
            self._mixed(ctx, ev, a, b, "`kl_div`")
            return
        if ev.qualname in _COMBINE:
            a, b = arg(ev, 0), arg(ev, 1)
            self._mixed(ctx, ev, a, b, "this product" if "mul" in ev.qualname else "this combination")

    def _ctc(self, ctx, ev, x) -> None:
        """CTC reads log-probabilities ``(time, batch, classes)`` (``(time, classes)`` unbatched): the classes are
        the last of two axes or more, so a distribution over any other axis, axis 0 above all, is not theirs."""
        if not isinstance(x, Shape):
            return
        t, front = x.get_meta(NORM), x.get_meta(NORM_FRONT)
        if t is not None and x.rank and x.rank >= 2 and t[1] == x.rank and t[0] != -1:
            axis, node, fn = t[0] + x.rank, t[2], t[3]
        elif front is not None and front[0] == 0 and x.rank is None:
            axis, node, fn = 0, front[1], front[2]
        else:
            return
        ctx.report(
            self.code, ev.node,
            f"`ctc_loss` reads classes from the last axis, but {who(x, 'its input')} was normalised over axis {axis} "
            f"by `{fn}`",
            notes=(f"the `{fn}` is at line {getattr(node, 'lineno', '?')}",
                   "CTC takes log-probabilities laid out (time, batch, classes), or (time, classes)"),
            help=f"normalise over the classes: `{fn}(..., dim=-1)`",
        )

    @staticmethod
    def _class_last_layout(ctx, ev, x, target) -> bool:
        """(batch, seq, classes) logits with (batch, seq) targets: SHP401's case."""
        if not isinstance(target, Shape) or x.rank < 3 or target.rank != x.rank - 1:
            return False
        return all(compare_before(ctx, ev.node, x.dims[i], target.dims[i]) == "eq" for i in range(target.rank))

    def _mixed(self, ctx, ev, a, b, what):
        ta = a.get_meta(NORM) if isinstance(a, Shape) else None
        tb = b.get_meta(NORM) if isinstance(b, Shape) else None
        if ta is None or tb is None or ta[1] is None or ta[1] != tb[1] or ta[0] == tb[0]:
            return
        if what != "`kl_div`" and ta[3] == tb[3]:
            return  # dual softmax (matching: softmax(s, 1) * softmax(s, 2)) is deliberate; p * log q is not
        ctx.report(
            self.code, ev.node,
            f"{what} combines {who(a, 'a distribution')} normalised over axis {ta[0] + ta[1]} with "
            f"{who(b, 'a distribution')} normalised over axis {tb[0] + tb[1]}",
            notes=(f"`{ta[3]}` over axis {ta[0] + ta[1]} at line {getattr(ta[2], 'lineno', '?')}",
                   f"`{tb[3]}` over axis {tb[0] + tb[1]} at line {getattr(tb[2], 'lineno', '?')}"),
            help="normalise both over the same (class) axis",
        )
