"""SHP211 softmax-over-batch-axis."""

from __future__ import annotations

import ast

from shapecheck._core._roles import BATCH, CLASS, FEATURE, ONE
from shapecheck._core._shape import Shape, Variadic
from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext

from ._common import NORMALISING_CALLS, NORMALIZE, as_int, axis, compare_before, dims_text, normalising_call, register, who


def _leading(x: Shape, dim) -> bool:
    """Is ``dim`` the first axis of ``x`` (``0``, or ``-rank`` / ``-2`` of a 2-axis tensor)?"""
    d = as_int(dim)
    if d is None:
        return False
    if x.rank is not None:
        return -x.rank <= d < x.rank and d % x.rank == 0
    return d == 0 and (x.variadic_index or 0) > 0


def _others(x: Shape) -> list:
    """The indices of the other axes that are known (from the front, then from the end)."""
    n = len(x.dims)
    v = x.variadic_index
    out = []
    for k in range(1, n):
        if isinstance(x.dims[k], Variadic):
            continue
        out.append(k if v is None or k < v else k - n)
    return out


def _source(ev) -> str | None:
    """The normalised operand's source text (`` `logits` ``), for a value the engine has no shape for."""
    node = ev.node
    if not isinstance(node, ast.Call):
        return None
    if ev.qualname and ev.qualname.startswith("torch.Tensor.") and isinstance(node.func, ast.Attribute):
        operand = node.func.value
    elif node.args:
        operand = node.args[0]
    else:
        return None
    text = ast.unparse(operand)
    return f"`{text}`" if len(text) <= 40 else None


def over_batch(ev: CallEvent, ctx: RuleContext):
    """``(x, dim, function name, scored axes and roles)`` when the call normalises over the batch axis
    of per-example scores, else None (SHP202 leaves such a softmax to this rule)."""
    call = normalising_call(ev)
    if call is None or call[2] == "normalize":
        # an L2 norm over the batch is a deliberate idiom (feature correlations across the batch,
        # `F.normalize(z, dim=0).T @ F.normalize(w, dim=0)`): only distributions are checked here
        return None
    x, dim, fn = call
    # what the result's later uses say (they also prove two axes or more, or count where its rank shows them)
    uses = ctx.use_roles(ev.node, x.rank if isinstance(x, Shape) else None)
    if not isinstance(x, Shape):
        if not uses:
            return None
        x = Shape((Variadic(None),), label=_source(ev))  # a call the engine cannot follow: a tensor all the same
    elif not x.label and _source(ev):
        x = x.with_label(_source(ev))
    by_use = uses.get(0) == BATCH and (x.rank is None or x.rank >= 2)
    if by_use and (as_int(dim) == 0 if x.rank is None else _leading(x, dim)):
        by_use = ctx.role(x, 0) != BATCH  # the note says where the batch axis is known from
    elif x.is_any or len(x.dims) < 2 or not _leading(x, dim) or ctx.role(x, 0) != BATCH:
        return None
    else:
        by_use = False
    others = _others(x)
    roles = {i: ctx.role(x, i) for i in others}
    for i, r in uses.items():
        k = i + x.rank if x.rank is not None and i < 0 else i
        if k != 0 and roles.get(k) is None:
            roles[k] = r
    if any(r == BATCH for r in roles.values()):
        return None  # a (batch, batch) similarity: normalising over the batch is the point
    b = axis(x, 0)
    if b is not None and any(compare_before(ctx, ev.node, b, axis(x, i)) == "eq" for i in others):
        return None
    scored = {i: r for i, r in roles.items() if r not in (None, ONE)}
    if not scored:
        return None  # no other axis is known to hold per-example scores
    return x, dim, fn, scored, by_use


@register
class SoftmaxOverBatchAxis(LintRule):
    """A softmax or log_softmax over the batch axis of per-example scores.

    ## What it does
    Flags `softmax` / `log_softmax` (the functions, the tensor methods, `nn.Softmax` /
    `nn.LogSoftmax`) and `F.gumbel_softmax` that normalise over the *leading* axis of a tensor
    when that axis is the batch and another axis holds each example's scores: classes or features
    from a Linear head, heads, positions. The batch axis is known from what produced it, without
    annotations: the `-1` of `view(-1, K)` over data (or over logits from a model the engine cannot
    follow, when `K` counts classes: `logits.view(-1, vocab_size)`), the first axis of a convolution's output, a
    `B` unpacked first from a tensor's shape (`B, T, C = x.size()`), a `batch`-named annotation axis,
    or a later use of the result that reads it one example per row: `log_probs[torch.arange(n),
    labels]` (axis 1 then holds each example's classes), `log_probs.gather(-1, labels.unsqueeze(1))`
    (one class picked per row), `einx.get_at("b n [l], b n -> b n", log_probs, tokens)` and
    `F.kl_div(..., reduction="batchmean")`,
    which divides by axis 0 as the batch size, and `F.nll_loss(log_probs, target)` where another use
    (`log_probs.argmax(dim=1)`, the accuracy) shows two axes, so the loss reads them as `(N, C)`. Such a use is read even when the engine has no shape
    for the logits (the output of a model it cannot follow), and through copies that keep the layout
    (`torch.gather(logp.clone(), 2, labels.unsqueeze(2))`, `logp = x.log_softmax(-1).detach()`).

    ## Why is this bad?
    Normalising across the batch makes each example's probabilities depend on the other examples
    in the batch: they no longer sum to one per example, a loss on them trains the wrong thing, and
    the results change with the batch size. `dim=0` and `dim=-2` on `(batch, classes)` logits are
    easy slips (`dim=-2` is right for `(classes, batch)` layouts), and nothing fails at run time.

    ## Example
    ```python
    logits = self.head(h).view(-1, self.k)     # (batch, k)
    return F.log_softmax(logits, dim=-2)       # normalises across the batch
    ```

    ## Use instead
    ```python
    return F.log_softmax(logits, dim=-1)       # over the k classes of each example
    ```

    ## Known problems
    Softmax over the batch on purpose (a contrastive loss normalising a `(batch, batch)` similarity
    matrix, attention pooling over the instances of one bag) is not reported when the other axes are
    also batch axes or have no known role. A leading axis that is a set of instances rather than a
    batch, produced by `view(-1, K)`, is taken for the batch: silence the line with
    `# noqa: SHP211`.
    """

    code = "SHP211"
    calls = NORMALISING_CALLS - {NORMALIZE}
    name = "softmax-over-batch-axis"
    summary = "A softmax or log_softmax normalises over the batch axis of per-example scores"

    VALID = [
        # near miss: one distribution (a vector: dim 0 is its last axis), its terms summed
        '''
import torch
import torch.nn.functional as F


def divergence(logits, target):
    logits = logits.reshape(-1)
    return F.kl_div(F.log_softmax(logits, dim=0), target, reduction="none").sum(-1)
''',
        # near miss: the same mixture head, normalised over the k components
        '''
import torch.nn.functional as F
from torch import nn


class Mixture(nn.Module):
    def __init__(self, d: int, k: int):
        super().__init__()
        self.k = k
        self.head = nn.Linear(d, k)

    def forward(self, h):
        logits = self.head(h).view(-1, self.k)
        return F.log_softmax(logits, dim=-1)
''',
        # near miss: a contrastive loss normalises a (batch, batch) similarity over the batch on purpose
        '''
import torch
import torch.nn.functional as F
from torch import nn


class Contrastive(nn.Module):
    def __init__(self, d: int, e: int):
        super().__init__()
        self.img = nn.Linear(d, e)
        self.txt = nn.Linear(d, e)

    def forward(self, a, b):
        za = self.img(a).view(-1, self.img.out_features)
        zb = self.txt(b).view(-1, self.txt.out_features)
        sim = za @ zb.t()
        return F.log_softmax(sim, dim=0)
''',
        # near miss: attention pooling over the instances of one bag, after a transpose
        '''
import torch
import torch.nn.functional as F
from torch import nn


class BagPool(nn.Module):
    def __init__(self, d: int, k: int):
        super().__init__()
        self.d = d
        self.attention = nn.Linear(d, k)

    def forward(self, x):
        h = x.view(-1, self.d)
        a = torch.transpose(self.attention(h), 1, 0)
        return F.softmax(a, dim=1) @ h
''',
        # near miss: a softmax over the batch axis of a tensor whose other axes have no known role
        '''
import torch


def weights(scores):
    b, n = scores.shape
    return torch.softmax(scores, dim=0)
''',
        # near miss: a later use reads the log-probabilities one entry per example, normalised per example
        '''
import torch.nn.functional as F


def selected(classifier, x, y):
    logits = classifier(x)
    log_probs = F.log_softmax(logits, dim=-1)
    return log_probs[range(len(logits)), y.view(-1)]
''',
        # near miss: a contrastive loss over a (batch, batch) similarity reads its diagonal: the rows'
        # own arange is not a label, so axis 1 is not known to hold classes
        '''
import torch
import torch.nn.functional as F


def contrastive(a, b):
    logits = a @ b.t()
    labels = torch.arange(len(logits))
    log_probs = F.log_softmax(logits, dim=0)
    return -log_probs[torch.arange(len(logits)), labels].mean()
''',
        # near miss: distillation normalised over the classes of each example
        '''
import torch.nn.functional as F


def distill(student_logits, teacher_logits, T: float):
    log_p = F.log_softmax(student_logits / T, dim=-1)
    log_q = F.log_softmax(teacher_logits / T, dim=-1)
    return F.kl_div(log_p, log_q, reduction="batchmean", log_target=True)
''',
        # near miss: the pick may come from a single example's 1-D distribution (a 0-d target unsqueezed
        # at -1), where axis 0 is the class axis
        '''
import torch.nn.functional as F


def picked(x, target):
    log_probs = F.log_softmax(x, dim=0)
    return log_probs.gather(-1, target.unsqueeze(-1))
''',
    ]
    INVALID = [
        # the rows of (batch * length, vocab) logits summed over the vocabulary, one KL term per row
        '''
import torch
import torch.nn.functional as F


def smoothed_loss(logits, target, size: int, eps: float):
    logits = logits.reshape(-1, size)
    conf = torch.full_like(logits, eps / (size - 1))
    conf.scatter_(1, target.reshape(-1, 1), 1 - eps)
    lp = F.log_softmax(logits, dim=0)
    return F.kl_div(lp, conf, reduction="none").sum(dim=-1)
''',
        '''
import torch.nn.functional as F
from torch import nn


class Mixture(nn.Module):
    def __init__(self, d: int, k: int):
        super().__init__()
        self.k = k
        self.head = nn.Linear(d, k)

    def forward(self, h):
        logits = self.head(h).view(-1, self.k)
        return F.log_softmax(logits, dim=-2)
''',
        '''
import math
import torch


def attend(x, n_head: int):
    B, T, C = x.size()
    q = x.view(B, T, n_head, C // n_head).transpose(1, 2)
    att = (q @ q.transpose(-2, -1)) * (1.0 / math.sqrt(q.size(-1)))
    att = att.softmax(dim=0)
    return att @ q
''',
        '''
from torch import nn


class Classifier(nn.Module):
    def __init__(self, num_classes: int):
        super().__init__()
        self.features = nn.Conv2d(3, 16, 3)
        self.fc = nn.Linear(16, num_classes)
        self.out = nn.LogSoftmax(dim=0)

    def forward(self, img):
        h = self.features(img).mean(dim=(-2, -1)).view(-1, 16)
        return self.out(self.fc(h))
''',
        # the engine has no shape for the logits; the later use says axis 0 holds the examples
        '''
import torch
import torch.nn.functional as F


def chosen(logits, next_tokens):
    log_probs = F.log_softmax(logits.float(), dim=0)
    return log_probs[torch.arange(log_probs.shape[0]), next_tokens]
''',
        # kl_div's "batchmean" divides by axis 0: the batch, by the function's contract
        '''
import torch.nn.functional as F


def distill(student_logits, teacher_logits, T: float):
    log_p = F.log_softmax(student_logits / T, dim=0)
    log_q = F.log_softmax(teacher_logits / T, dim=-1)
    return F.kl_div(log_p, log_q, reduction="batchmean", log_target=True)
''',
        # a label-smoothed cross-entropy picks one class per row along the last axis
        '''
import torch
import torch.nn.functional as F


def smoothed(x: torch.Tensor, target: torch.Tensor, smoothing: float = 0.1):
    log_probs = F.log_softmax(x, dim=0)
    nll = -log_probs.gather(dim=-1, index=target.unsqueeze(1)).squeeze(1)
    return ((1 - smoothing) * nll - smoothing * log_probs.mean(dim=-1)).mean()
''',
        # a pick per token along axis 2, through a copy: axis 2 holds the classes, axis 0 the batch
        '''
import torch


def per_token_logp(model, tokens, labels):
    logp = model(tokens).float().log_softmax(dim=0).detach()
    return torch.gather(logp.clone(), dim=2, index=labels.unsqueeze(2)).squeeze(2)
''',
        # einx.get_at's brackets name the axis picked from; a leading `b` is the batch
        '''
import einx
import torch


def sequence_log_prob(model, seq):
    logits = model(seq[:, :-1])
    log_prob = logits.log_softmax(dim=0)
    return einx.get_at("b n [l], b n -> b n", log_prob, seq[:, 1:])
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        found = over_batch(ev, ctx)
        if found is None:
            return
        x, dim, fn, scored, by_use = found
        target = next((i for i, r in scored.items() if r in (CLASS, FEATURE)), None)
        if target is None:
            target = -1
        elif target >= 0 and x.rank is not None:
            target -= x.rank
        first = next(iter(scored))
        ctx.report(
            self.code, ev.node,
            f"{fn} over axis {as_int(dim)} of {who(x)}" + (f" {dims_text(ctx, x, ev.node)}" if x.rank else "")
            + ", the batch axis",
            notes=("each example's scores are normalised across the other examples of the batch",
                   f"axis 0 is the batch: {ctx.use_why(ev.node)}" if by_use else None,
                   f"axis {first} holds {scored[first]} scores of each example"),
            help=f"normalise over the scores of each example, e.g. `dim={target}`",
        )
