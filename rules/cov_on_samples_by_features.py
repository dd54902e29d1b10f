"""SHP404 cov-on-samples-by-features."""

from __future__ import annotations

import re

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from shapecheck._core._roles import BATCH, CHANNEL, CLASS, FEATURE

from ._common import arg, axis, dims_text, looks_like, name_of, register, who

_COV = {"torch.cov": "torch.cov", "torch.corrcoef": "torch.corrcoef", "torch.Tensor.cov": "cov",
        "torch.Tensor.corrcoef": "corrcoef"}

_SAMPLES = {"n", "N", "samples", "n_samples", "num_samples", "nsamples", "n_obs", "num_obs", "observations",
            "n_observations", "num_observations", "points", "n_points", "num_points"}
_FEATURES = {"d", "D", "dim", "features", "feature", "n_features", "num_features", "feature_dim", "feat",
             "feat_dim", "f", "F", "n_feat", "variables", "n_vars", "num_vars", "vars", "p"}

_SAMPLE_SIMILARITY = re.compile(r"rdm|rsa|similarit|dissimilar|gram")


def _is_samples(d) -> bool:
    n = name_of(d)
    return n is not None and (n in _SAMPLES or n.lower() in _SAMPLES) or looks_like(d, "batch")


def _is_features(d) -> bool:
    n = name_of(d)
    return n is not None and (n in _FEATURES or n.lower() in _FEATURES) or looks_like(d, "channels") \
        or looks_like(d, "head_dim") or (looks_like(d, "model") and n not in ("c", "e"))


@register
class CovOnSamplesByFeatures(LintRule):
    """`torch.cov` / `torch.corrcoef` on a `(samples, features)` matrix.

    ## What it does
    `torch.cov(x)` and `torch.corrcoef(x)` read each *row* of `x` as a variable and each column as
    an observation (as `numpy.cov` does by default). The rule flags a 2-axis input whose axis 0 is
    named as the samples (`batch`, `b`, `n`, `n_samples`, `samples`...) and whose axis 1 as the
    features (`d`, `features`, `dim`, `channels`, `hidden_size`...), by the names the shapes carry
    (annotations, `B, D = x.shape`), or by the roles their producers give them without names: the
    batch (`view(-1, k)` of data, a convolution's first axis) in rows and a Linear's features or a
    convolution's channels in columns. Other inputs are not checked.

    ## Why is this bad?
    On `(n, d)` data the result is the `(n, n)` covariance between *samples* across features, not
    the `(d, d)` covariance between features. Both are square matrices, so the code downstream
    (an eigendecomposition, a whitening, a decorrelation loss) runs and quietly computes the wrong
    statistic; when `n == d` not even the size gives it away.

    ## Example
    ```python
    def whiten(x: Float[Tensor, "n d"]):
        c = torch.cov(x)          # (n, n)
    ```

    ## Use instead
    ```python
    def whiten(x: Float[Tensor, "n d"]):
        c = torch.cov(x.T)        # (d, d): variables in rows
    ```

    ## Known problems
    The samples and features are recognised by the axis names only; a matrix with other names
    (`"a b"`) or sizes from code without telling names is not checked. Representational similarity
    analysis correlates samples on purpose (`corrcoef` of `(stimuli, features)`); the rule stays
    silent in functions whose name says so (`rdm`, `rsa`, `similarity`), elsewhere silence it with
    `# noqa: SHP404`.
    """

    code = "SHP404"
    calls = frozenset(_COV.keys())
    name = "cov-on-samples-by-features"
    summary = "torch.cov or torch.corrcoef gets (samples, features) data; it wants variables in rows"

    VALID = [
        # near miss: the same features, transposed into rows first
        '''
import torch
from torch import nn


class Whitening(nn.Module):
    def __init__(self, d: int, k: int):
        super().__init__()
        self.k = k
        self.proj = nn.Linear(d, k)

    def forward(self, h):
        z = self.proj(h).view(-1, self.k)
        return torch.cov(z.T)
''',
        # near miss: transposed first, the variables are in rows
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def whiten(x: Float[Tensor, "n d"]):
    return torch.cov(x.T)
''',
        # near miss: a batch of signals over time: the rows are the variables, by design
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def signal_correlation(x: Float[Tensor, "b t"]):
    return torch.corrcoef(x)
''',
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def feature_cov(x: Float[Tensor, "batch features"]):
    return x.transpose(0, 1).cov()
''',
        # near miss: a representational dissimilarity matrix correlates the samples on purpose
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def compute_rdm(x: Float[Tensor, "n d"]):
    return 1 - torch.corrcoef(x)
''',
    ]
    INVALID = [
        # unannotated: a Linear's features, the batch flattened by `view(-1, k)`
        '''
import torch
from torch import nn


class Whitening(nn.Module):
    def __init__(self, d: int, k: int):
        super().__init__()
        self.k = k
        self.proj = nn.Linear(d, k)

    def forward(self, h):
        z = self.proj(h).view(-1, self.k)
        return torch.cov(z)
''',
        '''
import torch
from torch import Tensor
from jaxtyping import Float


def whiten(x: Float[Tensor, "n d"]):
    return torch.cov(x)
''',
        '''
import torch


def decorrelation_loss(z):
    batch_size, dim = z.shape
    c = torch.corrcoef(z)
    return (c - torch.eye(dim)).pow(2).sum()
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        fn = _COV.get(ev.qualname or "")
        if fn is None or _SAMPLE_SIMILARITY.search((ctx.function or "").lower()):
            return
        x = arg(ev, 0, "input")
        if not isinstance(x, Shape) or x.is_any or x.rank != 2:
            return
        rows, cols = axis(x, 0), axis(x, 1)
        if rows is not None and cols is not None and (rows == cols or ctx.compare(rows, cols) == "eq"):
            return
        r0, r1 = ctx.role(x, 0), ctx.role(x, 1)
        by_role = r0 == BATCH and r1 in (FEATURE, CHANNEL, CLASS)  # the producers say (samples, features)
        by_name = rows is not None and cols is not None and r0 in (None, BATCH) \
            and r1 in (None, FEATURE, CHANNEL, CLASS) \
            and _is_samples(rows) and not _is_samples(cols) and _is_features(cols)
        if not (by_role or by_name):
            return
        ctx.report(
            self.code, ev.node,
            f"{fn} reads the rows of {who(x)} {dims_text(ctx, x, ev.node)} as variables, but axis 0 holds the samples",
            notes=("torch.cov and torch.corrcoef take variables in rows and observations in columns",
                   "the result relates the samples to each other, not the features"),
            help=f"transpose the input first: `{fn + '(x.T)' if fn.startswith('torch.') else 'x.T.' + fn + '()'}`",
        )
