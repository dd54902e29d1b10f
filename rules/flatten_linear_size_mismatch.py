"""SHP305 flatten-linear-size-mismatch."""

from __future__ import annotations

from itertools import combinations

from shapecheck._core._algebra import Expr, FloorDiv, const
from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape, Unknown, Variadic

from ._common import ELEMENTWISE, arg, as_int, carry, compare_before, qd, register, size_of, who

FACTORS = "fl_factors"  # (tuple of source axes merged into the last axis, flatten node)

_FLATTEN = {"torch.flatten", "torch.Tensor.flatten"}
_VIEWS = {"torch.Tensor.view", "torch.Tensor.reshape", "torch.reshape"}


def _plain_and_divided(factors):
    plain, divided = set(), set()
    for f in factors:
        for mono, _c in f.terms:
            for atom, _p in mono:
                if isinstance(atom, FloorDiv):
                    divided |= atom.num.symbols()
                else:
                    plain.add(atom)
    return plain, divided - plain


def _of_the_data(size) -> bool:
    """Is ``size`` worked out from a size of the data (the input image's ``H``, read off it or named by an
    annotation), not only from sizes the code chose? Pooled to a fixed kernel (``AvgPool2d(7)``), it is 1 for the
    images the model is built for: a head that leaves it out (``Linear(512)``) fits them."""
    return isinstance(size, Expr) and any(not (s.kind or "").startswith("code") for s in size.symbols())


def _product(items):
    out = const(1)
    for f in items:
        out = out * f
    return out


@register
class FlattenLinearSizeMismatch(LintRule):
    """A `Linear` after `flatten` whose `in_features` is not what the conv stack produces.

    ## What it does
    Follows `torch.flatten(x, 1)`, `x.flatten(1)`, `nn.Flatten()` and `x.view(B, -1)` of a
    feature map `(B, C, H', W')` to the next `nn.Linear`/`F.linear`, and reports when
    `in_features` is built from the wrong sizes: only part of the flattened axes (`Linear(C, ...)`
    instead of `Linear(C * H' * W', ...)`), or the spatial size of the *input* image where the
    conv stack has changed it (`Linear(C * H * W)` with `H' = (H - 3) // 2 + 1`).

    ## Why is this bad?
    Classifier heads are usually written with sizes worked out by hand. When the input resolution
    changes or a stride is added, `in_features` silently goes stale; at run time the error is a
    matrix-multiplication message that names neither the flatten nor the convolution. When the
    sizes are literal and provably different, the core reports `SHP107` at the `Linear` and this
    rule stays silent; the rule covers symbolic sizes, which the core cannot decide.

    ## Example
    ```python
    self.features = nn.Sequential(nn.Conv2d(3, c, 3, stride=2), nn.ReLU())
    self.head = nn.Linear(c * h * w, n_classes)
    ...
    return self.head(torch.flatten(self.features(x), 1))
    ```

    ## Use instead
    ```python
    self.pool = nn.AdaptiveAvgPool2d(1)
    self.head = nn.Linear(c, n_classes)
    ...
    return self.head(torch.flatten(self.pool(self.features(x)), 1))
    ```

    ## Known problems
    Only the flatten that directly feeds the `Linear` (through activations, dropout and other
    shape-preserving ops) is followed. `nn.LazyLinear` infers its size and is never reported. A `Linear`
    built from part of the flattened axes is not reported where the axes it leaves out are worked out from the
    input's own size (a fixed `AvgPool2d(7)` over the map a 224-pixel image makes): they are 1 for the images the
    model is built for.
    """

    code = "SHP305"
    calls = frozenset(ELEMENTWISE | _FLATTEN | _VIEWS
                      | {"torch.nn.Flatten", "torch.nn.Linear", "torch.nn.functional.linear"})
    name = "flatten-linear-size-mismatch"
    summary = "Linear after flatten has in_features built from sizes the conv stack does not produce"

    VALID = [
        # near miss: a classic head, a fixed 7x7 pool over the map the input size it is built for makes; the
        # spatial axes it leaves are the image's, 1 for those images
        '''
import torch
from torch import nn


class ClassicHead(nn.Module):
    def __init__(self, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 512, kernel_size=32, stride=32), nn.ReLU())
        self.avgpool = nn.AvgPool2d(7)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, img):
        b, c, h, w = img.shape
        x = self.avgpool(self.features(img))
        return self.fc(x.view(x.size(0), -1))
''',
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Net(nn.Module):
    def __init__(self, c: int, side: int, n_classes: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(side)
        self.head = nn.Linear(c * side * side, n_classes)

    def forward(self, x: Float[Tensor, "b c h w"]):
        return self.head(torch.flatten(self.pool(x), 1))
''',
        # near miss: in_features is only the channels, but the map was pooled to 1x1 first
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Net(nn.Module):
    def __init__(self, c: int, n_classes: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(c, n_classes)

    def forward(self, x: Float[Tensor, "b c h w"]):
        return self.head(self.pool(x).flatten(1))
''',
        # near miss: in_features worked out for the strides (``img_size // 16`` after four stride-2 convolutions);
        # the stack gives ``ceil(img_size / 16)``, the same for the sizes the model is built for
        '''
import torch
from torch import nn


class Discriminator(nn.Module):
    def __init__(self, img_size: int):
        super().__init__()
        self.model = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1), nn.Conv2d(16, 32, 3, 2, 1), nn.Conv2d(32, 64, 3, 2, 1), nn.Conv2d(64, 128, 3, 2, 1)
        )
        ds_size = img_size // 2 ** 4
        self.adv_layer = nn.Linear(128 * ds_size ** 2, 1)

    def forward(self, img: torch.Tensor, img_size: int):
        out = self.model(img.view(img.shape[0], 3, img_size, img_size))
        return self.adv_layer(out.view(out.shape[0], -1))
''',
    ]
    INVALID = [
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Net(nn.Module):
    def __init__(self, c: int, side: int, n_classes: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(side)
        self.head = nn.Linear(c, n_classes)

    def forward(self, x: Float[Tensor, "b c h w"]):
        return self.head(torch.flatten(self.pool(x), 1))
''',
        '''
import torch
from torch import Tensor, nn
from jaxtyping import Float


class Net(nn.Module):
    def __init__(self, c: int, h: int, w: int, n_classes: int):
        super().__init__()
        self.conv = nn.Conv2d(3, c, 3, stride=2)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(c * h * w, n_classes)

    def forward(self, x: Float[Tensor, "b 3 h w"]):
        return self.head(self.flatten(torch.relu(self.conv(x))))
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        q = ev.qualname
        carry(ev, ctx, (FACTORS,))
        if q in _FLATTEN or q == "torch.nn.Flatten" or q in _VIEWS:
            self._tag_flatten(ev, ctx)
            return
        if q == "torch.nn.Linear":
            in_f = size_of((ev.init or {}).get("in_features"))
        elif q == "torch.nn.functional.linear":
            w = arg(ev, 1, "weight")
            in_f = w.dims[-1] if isinstance(w, Shape) and w.rank == 2 and not isinstance(w.dims[-1], Unknown) else None
        else:
            return
        x = ev.args[0] if ev.args else ev.kwargs.get("input")
        t = x.get_meta(FACTORS) if isinstance(x, Shape) else None
        if t is None or in_f is None or x.rank is None:
            return
        factors, flat_node = t
        flat = x.dims[-1]
        c = lambda a, b: compare_before(ctx, ev.node, a, b)  # noqa: E731
        if isinstance(flat, (Unknown, Variadic)) or c(in_f, flat) != "unknown":
            return
        problem = None
        for k in range(1, len(factors)):
            for sub in combinations(factors, k):
                left = [f for f in factors if f not in sub]
                if c(in_f, _product(sub)) == "eq" and not any(_of_the_data(f) for f in left):
                    problem = f"only {' * '.join(qd(f) for f in sub)} of the flattened axes"
                    break
            if problem:
                break
        if problem is None:
            _plain, divided = _plain_and_divided(factors)
            # a size ``in_features`` reads whole (``Linear(c * img_size ** 2)``), not one it divides as the layers
            # do (``Linear(128 * (img_size // 16) ** 2)``, worked out for the strides)
            whole, _ = _plain_and_divided([in_f])
            stale = sorted(s.name for s in whole & divided)
            if stale:
                names = ", ".join(f'"{n}"' for n in stale)  # sorted: the same text in every run
                problem = f"the input size {names} that the layers before have changed"
        if problem is None:
            return
        ctx.report(
            self.code, ev.node,
            f"`Linear` expects {qd(in_f)} input features, built from {problem}; the flatten produces {qd(flat)}",
            notes=(f"{who(x, 'the input')} was flattened at line {getattr(flat_node, 'lineno', '?')} from "
                   f"({', '.join(qd(f) for f in factors)})",),
            help=f"use `nn.Linear({flat}, ...)`, `nn.LazyLinear`, or pool to a fixed size first",
        )

    @staticmethod
    def _tag_flatten(ev, ctx):
        x, out = (ev.args[0] if ev.args else None), ev.result
        if not isinstance(x, Shape) or not isinstance(out, Shape) or x.rank is None or out.rank is None:
            return
        q = ev.qualname
        if q == "torch.nn.Flatten":
            init = ev.init or {}
            start, end = as_int(init.get("start_dim", 1)), as_int(init.get("end_dim", -1))
        elif q in _FLATTEN:
            start, end = as_int(arg(ev, 1, "start_dim", 0)), as_int(arg(ev, 2, "end_dim", -1))
        else:
            if out.rank != 2 or x.rank < 3 or ctx.compare(out.dims[0], x.dims[0]) != "eq":
                return
            start, end = 1, -1
        if start is None or end is None:
            return
        start, end = start % x.rank, end % x.rank
        if end != x.rank - 1 or end - start < 1:
            return
        factors = tuple(x.dims[start:])
        if any(not isinstance(f, Expr) for f in factors):
            return
        ctx.tag_result(FACTORS, (factors, ev.node))
