"""SHP309 padding-concat-off-padded-axis."""

from __future__ import annotations

import ast

from shapecheck._core._shape import Shape
from shapecheck._engine._common import literal_int
from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext

from ._common import arg, as_int, compare_before, register

_CAT = {"torch.cat", "torch.concat", "torch.concatenate"}
# a tensor built only to fill space: its sizes are all it says
_FILLS = {"torch.zeros", "torch.ones", "torch.empty", "torch.full", "torch.randn", "torch.rand"}
_NEW_FILLS = {"new_zeros", "new_ones", "new_empty", "new_full"}
_KEEPS = {"cuda", "to", "cpu", "float", "half", "double", "type_as", "contiguous", "detach", "requires_grad_"}


def _fill_sizes(call: ast.Call, qualify) -> list | None:
    """The size arguments of ``torch.zeros(B, L - T, D)`` / ``torch.zeros((B, L - T, D))`` / ``x.new_zeros(...)``;
    None for any other call."""
    f = call.func
    if isinstance(f, ast.Attribute) and f.attr in _NEW_FILLS:
        args = call.args[:1] if f.attr == "new_full" else call.args
    elif (qualify(f) or "") in _FILLS:
        args = call.args[:1] if (qualify(f) or "") == "torch.full" else call.args
    else:
        return None
    if len(args) == 1 and isinstance(args[0], (ast.Tuple, ast.List)):
        args = args[0].elts
    if not args or any(isinstance(a, ast.Starred) for a in args):
        return None
    return list(args)


def _last_assignment(scope, name: str, line: int):
    """The value last assigned to ``name`` before ``line`` in ``scope`` (``(value node, index)`` where the name is
    the ``index``-th of a tuple target, index None for a plain target); None when there is none."""
    best = None
    for n in ast.walk(scope):
        if not isinstance(n, ast.Assign) or n.lineno >= line or len(n.targets) != 1:
            continue
        t = n.targets[0]
        if isinstance(t, ast.Name) and t.id == name:
            hit = (n.value, None)
        elif isinstance(t, ast.Tuple) and any(isinstance(e, ast.Name) and e.id == name for e in t.elts):
            hit = (n.value, next(i for i, e in enumerate(t.elts) if isinstance(e, ast.Name) and e.id == name))
        else:
            continue
        if best is None or n.lineno > best[0]:
            best = (n.lineno, hit)
    return best[1] if best else None


def _size_read(node, other: str, rank: int):
    """The axis of ``other`` that ``node`` reads (``xs.size(2)``, ``xs.shape[-1]``, ``xs.size()[0]``); None else."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "size" \
            and isinstance(node.func.value, ast.Name) and node.func.value.id == other and len(node.args) == 1 \
            and isinstance(node.args[0], (ast.Constant, ast.UnaryOp)):
        i = literal_int(node.args[0])
        return i % rank if i is not None and -rank <= i < rank else None
    if isinstance(node, ast.Subscript):
        base = node.value
        if isinstance(base, ast.Attribute) and base.attr == "shape" and isinstance(base.value, ast.Name) \
                and base.value.id == other or isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute) \
                and base.func.attr == "size" and not base.args and isinstance(base.func.value, ast.Name) \
                and base.func.value.id == other:
            i = literal_int(node.slice)
            return i % rank if i is not None and -rank <= i < rank else None
    return None


def _copied_axis(node, other: str, rank: int, scope, line: int, depth: int = 0):
    """The axis of ``other`` whose size the size argument ``node`` is: read directly (``xs.size(0)``) or through a
    local that holds such a read (``B, T, D = xs.size()``, ``b, d = xs.size(0), xs.size(-1)``); None else."""
    k = _size_read(node, other, rank)
    if k is not None or depth > 1 or not isinstance(node, ast.Name):
        return k
    hit = _last_assignment(scope, node.id, line)
    if hit is None:
        return None
    value, index = hit
    if index is None:
        return _copied_axis(value, other, rank, scope, line, depth + 1)
    if isinstance(value, ast.Tuple) and index < len(value.elts):
        return _copied_axis(value.elts[index], other, rank, scope, line, depth + 1)
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "size" \
            and not value.args and isinstance(value.func.value, ast.Name) and value.func.value.id == other \
            or isinstance(value, ast.Attribute) and value.attr == "shape" and isinstance(value.value, ast.Name) \
            and value.value.id == other:
        return index if index < rank else None  # ``B, T, D = xs.size()``
    return None


@register
class PaddingConcatOffPaddedAxis(LintRule):
    """A block of zeros built to pad one axis, concatenated along another.

    ## What it does
    Padding a tensor to a length by concatenation builds a block of zeros with the tensor's own
    sizes on every axis but the padded one (`pad = torch.zeros(B, L - T, D)` for `xs` of shape
    `(B, T, D)`), then joins it along that axis. The rule reports a `cat` of a tensor and such a block
    (`torch.zeros`, `ones`, `empty`, `full`, `x.new_zeros`, ...) whose sizes are read off the tensor
    (`xs.size(0)`, `xs.shape[-1]`, `B, T, D = xs.size()`) on every axis but one, when the join runs
    along another axis.

    ## Why is this bad?
    `cat` needs the parts to agree on every axis but the joined one. Joined along an axis the block
    copied, it runs only when the padding happens to be as long as the tensor's own axis (`L - T
    == T`), and then doubles the wrong axis: zeros are appended as extra features or channels, and
    the length is left short. Elsewhere it fails with a size error that does not name the cause.

    ## Example
    ```python
    B, T, D = xs.size()
    pad = torch.zeros(B, L - T, D)
    xs = torch.cat([xs, pad], dim=2)
    ```

    ## Use instead
    ```python
    xs = torch.cat([xs, pad], dim=1)
    ```

    ## Known problems
    Only a `cat` of two parts is read, one of them a block of constant fill built in the same
    function (or inline) with one size argument per axis.
    """

    code = "SHP309"
    calls = frozenset(_CAT)
    name = "padding-concat-off-padded-axis"
    summary = "A block of zeros built to pad one axis is concatenated along another"

    VALID = [
        # near miss: the zeros joined along the axis they pad
        '''
import torch


def pad_to(xs, L: int):
    B, T, D = xs.size()
    pad = torch.zeros(B, L - T, D, device=xs.device)
    return torch.cat([xs, pad], dim=1)
''',
        # near miss: extra channels of zeros joined along the channels
        '''
import torch


def widen(x, extra: int):
    z = torch.zeros(x.size(0), extra, x.size(2), x.size(3))
    return torch.cat((x, z), dim=1)
''',
        # near miss: a block that copies every axis (a second image of the same size) may be joined along any
        '''
import torch


def tile(x):
    z = torch.zeros(x.size(0), x.size(1), x.size(2), x.size(3))
    return torch.cat((x, z), dim=3)
''',
        # near miss: two blocks built alike (the conditional and unconditional halves), joined along the batch
        '''
import torch


def halves(n: int, d: int):
    a = torch.zeros(n, 1, d)
    b = torch.zeros(n, 1, d)
    return torch.cat([a, b], dim=0)
''',
    ]
    INVALID = [
        '''
import torch


def pad_to(xs, L: int):
    B, T, D = xs.size()
    pad = torch.zeros(B, L - T, D, device=xs.device)
    return torch.cat([xs, pad], dim=2)
''',
        # extra channels of zeros, joined along the height
        '''
import torch


def widen(x, extra: int):
    z = torch.zeros((x.size(0), extra, x.size(2), x.size(3)))
    return torch.cat((x, z), dim=2)
''',
        # the block moved to the input's device before the join is the same block
        '''
import torch


def widen(x, extra: int):
    z = torch.zeros(x.size(0), extra, x.size(2), x.size(3))
    if torch.cuda.is_available():
        z = z.cuda()
    return torch.cat((x, z), dim=2)
''',
        # sizes read into locals first, the padding a value the engine cannot read
        '''
import torch


def pad_tail(xs, target):
    batch_size, hidden = xs.size(0), xs.size(-1)
    missing = max(0, int(target) - xs.size(1))
    pad = xs.new_zeros(batch_size, missing, hidden)
    return torch.cat([xs, pad], dim=-1)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        node = ev.node
        if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], (ast.List, ast.Tuple)) \
                or len(node.args[0].elts) != 2 or ctx.scope is None:
            return
        d = as_int(arg(ev, 1, "dim", 0))
        if d is None:
            return
        elts = node.args[0].elts
        values = arg(ev, 0, "tensors")
        for i in (0, 1):
            fill, other = elts[i], elts[1 - i]
            if not isinstance(other, ast.Name):
                continue
            call = fill
            if isinstance(fill, ast.Name):
                line = node.lineno
                for _ in range(3):
                    hit = _last_assignment(ctx.scope, fill.id, line)
                    call = hit[0] if hit is not None and hit[1] is None else None
                    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                            and call.func.attr in _KEEPS and isinstance(call.func.value, ast.Name)
                            and call.func.value.id == fill.id):
                        break
                    line = call.lineno  # ``z = z.cuda()``: the same block, moved
            if not isinstance(call, ast.Call):
                continue
            sizes = _fill_sizes(call, ctx.qualify)
            if sizes is None or len(sizes) < 2:
                continue
            rank = len(sizes)
            if not -rank <= d < rank:
                continue
            dd = d % rank
            fs = values[i] if isinstance(values, (tuple, list)) and len(values) == 2 else None
            os_ = values[1 - i] if isinstance(values, (tuple, list)) and len(values) == 2 else None
            # an axis counts as copied only where the code reads it off the other part: two blocks built alike
            # (zeros for the conditional and the unconditional half, joined along the batch) copy nothing
            own = [j for j, s in enumerate(sizes) if _copied_axis(s, other.id, rank, ctx.scope, node.lineno) != j]
            if len(own) != 1 or own[0] == dd:
                continue
            k = own[0]
            if isinstance(fs, Shape) and isinstance(os_, Shape) and fs.rank == rank == os_.rank \
                    and compare_before(ctx, node, fs.dims[k], os_.dims[k]) == "eq":
                continue
            what = fill.id if isinstance(fill, ast.Name) else "the block"
            ctx.report(
                self.code, node,
                f"`cat` joins `{other.id}` and `{what}` along axis {dd}, but `{what}` is built with `{other.id}`'s "
                f"sizes on every axis but {k}: it pads axis {k}",
                notes=(f"`{what}` is built at line {call.lineno}: `{ast.unparse(call)}`",
                       f"joined along axis {dd}, the two agree only when the padding on axis {k} is as long as "
                       f"`{other.id}` there"),
                help=f"concatenate along the padded axis: `dim={k}`",
            )
            return
