"""SHP405 logits-normalised-over-first-axis."""

from __future__ import annotations

import ast

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._engine._uses import _KEEPS as _SAME_VALUES, _int
from shapecheck._core._algebra import Expr
from shapecheck._core._diag import Edit, Fix
from shapecheck._core._roles import CLASS
from shapecheck._core._shape import Shape, Variadic

from ._common import (CLASS_LOSSES, LOG_SOFTMAX, SOFTMAX, SOFTMAX_CALLS, as_int, last_name, qd, register,
                      softmax_call, who)
from .softmax_over_batch_axis import over_batch


def _short(node, limit: int = 60) -> str:
    """The node's source, its middle cut when long: the end says the axis (``F.kl_div(...).sum(-1)``)."""
    text = ast.unparse(node)
    return text if len(text) <= limit else text[:limit // 2 - 2] + " ... " + text[-(limit // 2 - 3):]


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


def _one_row(ev, scope) -> bool:
    """Is the normalised operand one entry of a tensor picked by a single integer index (``sim[i]``, ``out[-1]``),
    the row of one example whose only axis may well be its classes? Not an element of a sequence the function
    makes (``outs = logits.chunk(n)``, a list) or walks by index (``for v in range(len(outs))``)."""
    node = ev.node
    if not isinstance(node, ast.Call):
        return False
    if ev.receiver is not None and isinstance(node.func, ast.Attribute):
        operand = node.func.value
    elif node.args:
        operand = node.args[0]
    else:
        return False
    while isinstance(operand, ast.BinOp) and isinstance(operand.op, (ast.Div, ast.Mult)) \
            and isinstance(operand.right, (ast.Name, ast.Constant, ast.Attribute)):
        operand = operand.left  # ``(sim[i] / gamma).softmax(0)``: the row, scaled
    if not isinstance(operand, ast.Subscript):
        return False
    index = operand.slice
    if not (isinstance(index, ast.Name) or isinstance(index, ast.Constant) and type(index.value) is int or
            isinstance(index, ast.UnaryOp) and isinstance(index.operand, ast.Constant)):
        return False
    base = operand.value
    return not (isinstance(base, ast.Name) and scope is not None and _a_sequence(base.id, scope))


_SEQUENCE_MAKERS = frozenset({"chunk", "split", "unbind", "tensor_split", "hsplit", "vsplit"})


def _a_sequence(name: str, scope) -> bool:
    """Does ``scope`` bind ``name`` to a sequence (a list or tuple, the pieces of ``chunk``/``split``/``unbind``)
    or walk it by index (``range(len(name))``)?"""
    for n in ast.walk(scope):
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in n.targets):
            v = n.value
            if isinstance(v, (ast.List, ast.Tuple, ast.ListComp)) or isinstance(v, ast.Call) and (
                    isinstance(v.func, ast.Attribute) and v.func.attr in _SEQUENCE_MAKERS
                    or isinstance(v.func, ast.Name) and v.func.id in ("list", "tuple")):
                return True
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "range" and n.args:
            inner = n.args[-1] if len(n.args) <= 2 else n.args[1]
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "len" \
                    and inner.args and isinstance(inner.args[0], ast.Name) and inner.args[0].id == name:
                return True
    return False


_REDUCTIONS = {"sum", "mean", "logsumexp", "argmax", "max", "topk", "amax", "nansum", "sort", "argsort", "min",
               "argmin", "amin"}
# those whose axis defaults to the last one: ``log_probs[i].topk(k)``, ``torch.sort(log_probs, descending=True)``
_LAST_BY_DEFAULT = {"topk", "sort", "argsort"}
# methods that keep the distribution's axes: the copies and casts `_uses` sees through, and its exp, log and clamp
_KEEPS = _SAME_VALUES | {"exp", "log", "clamp", "clamp_min", "masked_fill", "masked_fill_"}
_KL_DIV = {"torch.nn.functional.kl_div", "torch.kl_div"}


def _torch_function(f, qualify) -> bool | None:
    """True for ``torch.<name>`` (through the file's imports: ``th.sum``), False for a method of a value (``t.sum``),
    None for a function of another module (``np.sum``)."""
    q = qualify(f)
    if q is None:
        return False
    return True if q == f"torch.{f.attr}" else None


def _tensor_call(call: ast.Call, qualify, names):
    """``(tensor, other positional arguments, keywords)`` of ``t.<name>(...)`` or ``torch.<name>(t, ...)`` with a
    name of ``names`` (the tensor may be given as ``input=``); None for another call, or a function of another
    module (``np.sum``)."""
    f = call.func
    if not isinstance(f, ast.Attribute) or f.attr not in names:
        return None
    function = _torch_function(f, qualify)
    if function is None:
        return None
    kw = {k.arg: k.value for k in call.keywords if k.arg}
    if function:
        return (call.args[0] if call.args else kw.get("input")), call.args[1:], kw
    return f.value, call.args, kw


def _reduced_dim(call: ast.Call, qualify):
    """``(operand, dim)`` of ``t.sum(-1)``, ``t.sum(dim=-1)``, ``torch.sum(t, dim=-1)``, ``t.topk(k, dim=-1)``... else
    None."""
    found = _tensor_call(call, qualify, _REDUCTIONS)
    if found is None:
        return None
    operand, args, kw = found
    f = call.func
    pos = 1 if f.attr == "topk" else 0
    dim = kw.get("dim", args[pos] if len(args) > pos else None)
    if dim is None and f.attr in _LAST_BY_DEFAULT:
        return (operand, -1) if operand is not None else None
    return (operand, _int(dim)) if operand is not None and dim is not None else None


def read_over_last_axis(scope, call, qualify, batched: bool = False, rank: int | None = None) -> ast.AST | None:
    """The use that reads the value of ``call`` as a distribution over its last axis: a reduction over ``dim=-1``
    of it, of a product or difference it is a term of (``(-p * log_q).sum(dim=-1)``, an entropy, a hand-written
    cross-entropy), or of a name holding either (``nll = -logprobs * target; nll.sum(-1)``), or a product that
    contracts its last axis (``attn @ v``). A name holds what it was last assigned before the use, in the order of
    the text (``attn = self.dropout(attn)`` keeps it: a dropout keeps the axes), or, for one made in a branch of an
    ``if``, also what the other branch last assigned it. ``qualify`` names what the file
    imports (``F.kl_div``). None when nothing does. ``batched``: the value has two axes or more, so entries gathered
    for a target unsqueezed along the last axis (``gather(-1, t.unsqueeze(-1))``) are read along it too."""
    if scope is None:
        return None
    nodes = list(ast.walk(scope))
    stores = []  # (end of the binding, name, the Assign when it binds one name to a value)
    assigned: set = set()  # ids of the names an assignment binds, once its value is read
    for n in nodes:
        if isinstance(n, ast.Assign):
            # bound when the statement ends: ``lp, words = lp.topk(k, dim=-1)`` reads the ``lp`` of before
            one = len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
            for t in n.targets:
                for m in ast.walk(t):
                    if isinstance(m, ast.Name) and isinstance(m.ctx, ast.Store):
                        stores.append(((n.end_lineno, n.end_col_offset), m.id, n if one else None))
                        assigned.add(id(m))
    for n in nodes:
        if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name) \
                and isinstance(n.op, (ast.Add, ast.Sub, ast.Mult)):
            # ``scores += bias``: the name holds ``scores + bias``, a term of what it held
            load = ast.Name(id=n.target.id, ctx=ast.Load(), lineno=n.lineno, col_offset=n.col_offset)
            value = ast.BinOp(left=load, op=n.op, right=n.value)
            stores.append(((n.end_lineno, n.end_col_offset), n.target.id, ast.Assign(targets=[n.target], value=value)))
            assigned.add(id(n.target))
    for n in nodes:
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and id(n) not in assigned:
            stores.append(((n.lineno, n.col_offset), n.id, None))
    stores.sort(key=lambda s: s[0])
    carried: set = set()  # ids of the Assign nodes whose value carries the call's result

    def holder(name: ast.Name):
        """The store of ``name`` that a load reads: the last one before it in the text."""
        at = (name.lineno, name.col_offset)
        found = None
        for pos, n, assign in stores:
            if n == name.id and pos <= at:
                found = assign
        return found

    branches = {}  # id of an Assign -> (id of the If, which branch) for an assignment made in a branch
    ifs = {}  # id of an If -> the If
    for n in nodes:
        if isinstance(n, ast.If):
            ifs[id(n)] = n
            for side, body in ((0, n.body), (1, n.orelse)):
                for st in body:
                    if isinstance(st, ast.Assign):
                        branches[id(st)] = (id(n), side)

    def holders(name: ast.Name) -> list:
        """The stores a load may read: the last one before it in the text, and where that one is made in a
        branch of an ``if``, the last one the other branch makes (``if t: lp = log_softmax(...) else: lp = x``)."""
        last = holder(name)
        if last is None or id(last) not in branches:
            return [last]
        where, side = branches[id(last)]
        other = [a for _pos, n, a in stores if a is not None and n == name.id and branches.get(id(a)) == (where, 1 - side)]
        if not other and side == 0 and not ifs[where].orelse:
            # ``if t: lp = other(lp)`` with no ``else``: what the name held before the ``if`` goes on too
            at = (ifs[where].lineno, ifs[where].col_offset)
            before = None
            for pos, n, assign in stores:
                if n == name.id and pos <= at:
                    before = assign
            return [last, before]
        return [last] + other[-1:]

    def carries(node) -> bool:
        while isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr in _KEEPS:
                node = f.value
            elif _dropout(f) and len(node.args) >= 1:
                node = node.args[0]
            elif qualify(f) in _KL_DIV and len(node.args) >= 2:
                return carries(node.args[0]) or carries(node.args[1])  # elementwise, unless it reduces
            else:
                break
        if isinstance(node, ast.UnaryOp):
            return carries(node.operand)
        if isinstance(node, ast.Subscript) and _keeps_last(node.slice):
            return carries(node.value)  # ``log_probs[i]``, ``log_probs[k, start:]``: a row, its last axis kept
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Sub, ast.Add)):
            return carries(node.left) or carries(node.right)
        if node is call:
            return True
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            return any(h is not None and id(h) in carried for h in holders(node))
        return False

    for _ in range(4):  # a value passes through a few names at most: ``lp = ...; nll = -lp * t; nll.sum(-1)``
        for _pos, _name, assign in stores:
            if assign is not None and id(assign) not in carried and carries(assign.value):
                carried.add(id(assign))

    def over_last(node) -> bool:
        """A softmax or log_softmax over ``dim=-1``, or a name holding one."""
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            h = holder(node)
            node = h.value if h is not None else None
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute) \
                or node.func.attr not in ("softmax", "log_softmax"):
            return False
        q = qualify(node.func)
        if q is not None and q not in SOFTMAX | LOG_SOFTMAX:
            return False
        dim = next((k.value for k in node.keywords if k.arg == "dim"), None)
        if dim is None:
            args = node.args[1:] if q is not None else node.args  # `F.softmax(x, -1)`, `x.softmax(-1)`
            dim = args[0] if args else None
        return _int(dim) == -1

    for n in nodes:
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Mult, ast.Sub)) \
                and (carries(n.left) and over_last(n.right) or carries(n.right) and over_last(n.left)):
            return n  # ``p_t * (log_q - log_p_t)``: combined with a distribution over the last axis
        if isinstance(n, ast.Call) and qualify(n.func) in _KL_DIV and len(n.args) >= 2 \
                and carries(n.args[0]) and over_last(n.args[1]):
            return n  # ``F.kl_div(log_q, p)``: the target a distribution over the last axis, elementwise beside it
    parents = {id(c): p for p in nodes for c in ast.iter_child_nodes(p)}

    def reduced_per_row(gather_call) -> bool:
        """``lp.gather(-1, t.unsqueeze(-1)).squeeze(-1)`` whose result (or a name holding it) is then reduced over
        an axis: the squeezed picks keep one axis or more, so ``t`` has one or more and the log-probabilities two."""
        sq = parents.get(id(gather_call))
        if not isinstance(sq, ast.Attribute) or sq.attr != "squeeze":
            return False
        sq = parents.get(id(sq))
        if not isinstance(sq, ast.Call) or [_int(a) for a in sq.args] != [-1]:
            return False
        up = parents.get(id(sq))
        while isinstance(up, ast.UnaryOp):
            up = parents.get(id(up))
        names = {t.id for t in up.targets if isinstance(t, ast.Name)} if isinstance(up, ast.Assign) else set()
        for m in nodes:
            if isinstance(m, ast.Call):
                red = _reduced_dim(m, qualify)
                if red is None or red[1] not in (-1, 1):
                    continue
                x = red[0]
                while isinstance(x, ast.Call) and isinstance(x.func, ast.Attribute) and x.func.attr in _KEEPS:
                    x = x.func.value
                if x is sq or isinstance(x, ast.Name) and x.id in names:
                    return True
        return False

    walked = set()  # names a loop or comprehension binds to positions: ``for i in range(len(hyps))``
    for m in nodes:
        if isinstance(m, (ast.For, ast.comprehension)) and isinstance(m.target, ast.Name) \
                and isinstance(m.iter, ast.Call) and isinstance(m.iter.func, ast.Name) and m.iter.func.id == "range":
            walked.add(m.target.id)

    def label_pick(n) -> bool:
        """``lp[i, j, tokens[i][j]]``: one integer per axis, two or more, the last a label (a name or an item, not a
        literal): the entry of that label read along that axis, so the classes are not axis 0."""
        if not isinstance(n, ast.Subscript) or not isinstance(n.slice, ast.Tuple) or len(n.slice.elts) < 2:
            return False
        elts = n.slice.elts
        if any(isinstance(e, (ast.Slice, ast.Starred)) or isinstance(e, ast.Constant) and e.value in (None, Ellipsis)
               for e in elts):
            return False
        first, last = elts[0], elts[-1]
        # rows walked by position (``for i in range(...)``, or all at once, ``torch.arange(n)`` with an index between
        # it and the label: ``lp[arange(b), pos, tok]``; ``lp[arange(n), labels]`` of an (n, n) similarity may be
        # normalised over dim 0 on purpose), the last index a label, not another position: a ``(classes, batch)``
        # layout reads ``p[label, i]`` and is left alone
        by_row = isinstance(first, ast.Name) and first.id in walked or isinstance(first, ast.Call) \
            and qualify(first.func) == "torch.arange" and len(elts) >= 3
        return by_row \
            and not (isinstance(last, ast.Name) and last.id in walked) \
            and isinstance(last, (ast.Name, ast.Subscript, ast.Attribute)) and carries(n.value)

    def accumulated_picks():
        """The picks ``w[..., i]`` (``w[:, i]`` of a value known to have two axes) whose loop ``for i in range(...)``
        accumulates them as weights: ``acc = acc + x * w[..., i]`` or ``acc += x * w[..., i]``, a weighted sum written
        out over the picked axis, the last."""
        for loop in nodes:
            if not (isinstance(loop, ast.For) and isinstance(loop.target, ast.Name) and loop.target.id in walked):
                continue
            for st in (m for b in loop.body for m in ast.walk(b)):
                if isinstance(st, ast.AugAssign) and isinstance(st.op, ast.Add) and isinstance(st.target, ast.Name):
                    term = st.value
                elif isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) \
                        and isinstance(st.value, ast.BinOp) and isinstance(st.value.op, ast.Add):
                    acc = st.targets[0].id
                    v = st.value
                    if isinstance(v.left, ast.Name) and v.left.id == acc:
                        term = v.right
                    elif isinstance(v.right, ast.Name) and v.right.id == acc:
                        term = v.left
                    else:
                        continue
                else:
                    continue
                for prod in ast.walk(term):
                    if not (isinstance(prod, ast.BinOp) and isinstance(prod.op, ast.Mult)):
                        continue
                    for pick in ast.walk(prod):
                        if isinstance(pick, ast.Subscript) and _picks_last(pick.slice, loop.target.id, rank) \
                                and carries(pick.value):
                            yield pick

    for n in accumulated_picks():
        return n
    for n in nodes:
        if label_pick(n):
            return n
        if isinstance(n, ast.Call):
            red = _reduced_dim(n, qualify)
            if red is not None and red[1] == -1 and carries(red[0]):
                return n
            left = _contracted_left(n, qualify)
            if left is not None and carries(left):
                return n
            picked = _gathered_from_last(n, qualify, batched)
            if picked is None and not batched and reduced_per_row(n):
                picked = _gathered_from_last(n, qualify, True)
            if picked is not None and carries(picked):
                return n
            if qualify(n.func) in CLASS_LOSSES and n.args and carries(n.args[0]):
                return n  # ``F.nll_loss(log_probs, targets)``: classes in axis 1, or axis 0 of one example's scores
        elif isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult) and carries(n.left):
            return n  # ``attn @ v`` contracts the last axis of the weights
    return None


def _picks_last(index, name: str, rank: int | None) -> bool:
    """``[..., i]`` (any rank), or ``[:, i]`` / ``[:, :, i]`` of a value of that many axes: the entry ``name`` of
    the last axis, every other axis kept whole."""
    if not isinstance(index, ast.Tuple) or len(index.elts) < 2:
        return False
    *rest, last = index.elts
    if not (isinstance(last, ast.Name) and last.id == name):
        return False
    whole = all(isinstance(e, ast.Slice) and e.lower is None and e.upper is None and e.step is None for e in rest)
    if len(rest) == 1 and isinstance(rest[0], ast.Constant) and rest[0].value is Ellipsis:
        return True
    return whole and rank == len(index.elts)


def _gathered_from_last(call: ast.Call, qualify, batched: bool = False):
    """The tensor of ``x.gather(-1, idx)`` or ``torch.gather(x, -1, idx)``: each row's entries picked along its last
    axis (the log-probabilities of the chosen tokens); else None."""
    found = _tensor_call(call, qualify, ("gather",))
    if found is None:
        return None
    operand, args, kw = found
    dim = kw.get("dim", args[0] if args else None)
    index = kw.get("index", args[1] if len(args) > 1 else None)
    if not batched and isinstance(index, ast.Call) and isinstance(index.func, ast.Attribute) \
            and index.func.attr == "unsqueeze":
        return None  # ``gather(-1, target.unsqueeze(-1))``: a 0-d target, one example's distribution may be 1-D
    return operand if operand is not None and _int(dim) == -1 else None


def _least_rank(x) -> int | None:
    """The number of axes a shape of unknown rank has at least; None for a value that is no shape."""
    return len(x.dims) - 1 if isinstance(x, Shape) else None


def _keeps_last(index) -> bool:
    """An index that keeps a tensor's last axis where it is: one index (a row, ``x[i]``), or a tuple of them that
    ends in a slice (``x[k, start:]``), with no ``...`` or ``None``."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    if any(isinstance(p, ast.Constant) and p.value in (Ellipsis, None) for p in parts):
        return False
    return not isinstance(index, ast.Tuple) or isinstance(parts[-1], ast.Slice)


def _dropout(f) -> bool:
    """``self.dropout``, ``self.attn_drop``, ``F.dropout``, a ``dropout`` passed in: a call that keeps the axes."""
    return "drop" in last_name(f).lower()


def _contracted_left(call: ast.Call, qualify):
    """The left operand of ``torch.matmul(a, b)``, ``torch.bmm(a, b)``, ``a.matmul(b)``, ``a.bmm(b)``: the operand whose
    last axis the product contracts; else None."""
    f = call.func
    if not isinstance(f, ast.Attribute) or f.attr not in ("matmul", "bmm"):
        return None
    function = _torch_function(f, qualify)
    if function is None:
        return None
    if function:
        return call.args[0] if len(call.args) == 2 else None
    return f.value if len(call.args) == 1 else None


@register
class LogitsNormalisedOverFirstAxis(LintRule):
    """A softmax or log_softmax over `dim=0` of logits whose classes are their last axis, of unknown rank.

    ## What it does
    Flags `softmax` / `log_softmax` (the functions and the tensor methods, and `nn.Softmax` /
    `nn.LogSoftmax` modules) over `dim=0` of a tensor whose last axis holds classes, by its producer
    (a head built for `vocab_size`, `num_classes`, `ntoken` outputs) and whose number of axes is
    not known where the call is: a `forward(x)` whose input nobody annotated (or known to be two or
    more, `... b t classes` once an unknown addend left the rank open). Also when a later use
    reads the result as a distribution over its *last* axis: a reduction over `dim=-1` of it, of a
    product it is a term of, or of a name holding one (`(-p * log_q).sum(dim=-1)`, an entropy, a
    hand-written cross-entropy or distillation loss, `log_probs.topk(k, dim=-1)`, a row of it read so,
    `log_probs[i].topk(k)` (`topk` and `sort` take the last axis by default), the entries gathered along the
    last axis (`log_probs.gather(-1, tokens)`), also where one branch of an `if` assigned the name it is read
    through, the log-likelihood of targets (`F.nll_loss(log_probs, targets)`,
    `F.cross_entropy`: classes in axis 1 of a batch), through
    `kl_div(..., reduction="none")`), a product or difference with a distribution normalised over the
    last axis (`p * (log_q - log_p)`), or a product that contracts its last axis (`attn @ v`: attention
    weights over the keys). Axis 0 is then the
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
    fix (`dim=-1`) is the same computation for it. The fix is safe where the producer says the classes
    are last; where only a later use says so, that use may be the slip instead (a `(classes, batch)`
    layout reduced over the wrong axis), and the fix is applied only with `--unsafe-fixes`. A tensor known
    to have two axes or more (`logits[:, start:]`, or `... b t` once an unknown addend left the rank open) that a
    use reads over its last axis is reported too: dim 0 is not that axis, whatever the rest of its shape. A tensor of known rank is left to
    `SHP211` (the batch axis) and the shape errors.
    """

    code = "SHP405"
    calls = SOFTMAX_CALLS
    name = "logits-normalised-over-first-axis"
    summary = "A softmax or log_softmax over dim 0 of logits whose classes are their last axis (one example only)"
    severity = "warning"
    fixable = True

    VALID = [
        # near misses of the cases below: over the last axis; a classes-first layout read as ``p[label, i]``
        '''
import torch
import torch.nn.functional as F


def sentence_scores(logits, labels):
    logprobs = logits.log_softmax(dim=-1)
    token_scores = logprobs.gather(dim=-1, index=labels.unsqueeze(-1)).squeeze(-1)
    return token_scores.sum(dim=-1, keepdim=True)


def label_scores(class_major, labels):
    p = F.log_softmax(class_major, dim=0)
    return [p[labels[i], i] for i in range(len(labels))]


def one_example(scores, label):
    picked = scores.log_softmax(dim=0).gather(-1, label.unsqueeze(-1)).squeeze(-1)
    return picked


def attend(scores, value, keep):
    attn = torch.softmax(scores, dim=-1).masked_fill(keep, 0.0)
    return torch.matmul(attn, value)
''',
        # near miss: the row of one example, picked by an index, has its classes as its only axis
        '''
import torch


def nearest(sim, i: int, k: int):
    return torch.topk(sim[i].softmax(0), k=k)
''',
        # near miss: both distributions of the divergence normalised over dim 0
        '''
import torch.nn.functional as F


def column_divergence(p_logits, q_logits):
    return F.kl_div(F.log_softmax(q_logits, dim=0), F.softmax(p_logits, dim=0), reduction="sum")
''',
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
    VALID += [
        # near miss: a slice of the positions normalised over the last axis, gathered there
        '''
import torch


def answer_loss(logits, answers):
    n = answers.shape[1]
    log_probs = logits[:, -n:].log_softmax(-1)
    return -log_probs.gather(-1, answers.unsqueeze(-1)).mean()
''',
        # near miss: the negative log-likelihood of log-probabilities over the classes
        '''
import torch.nn.functional as F


def loss(logits, targets):
    return F.nll_loss(F.log_softmax(logits, dim=-1), targets)
''',
        # near miss: two distributions over dim 0, combined
        '''
import torch.nn.functional as F


def cross(p_logits, q_logits):
    return (F.softmax(p_logits, dim=0) * F.log_softmax(q_logits, dim=0)).sum(0)
''',
        # near miss: the name reduced over the last axis holds another distribution by then
        '''
import torch


def two(x, y):
    p = torch.softmax(x, dim=0)
    kept = p * 2
    p = y.log_softmax(-1)
    return p.sum(-1), kept
''',
        # near miss: weights over the rows of a (rows, d) matrix, applied on the left of a transposed product
        '''
import torch


def weighted(scores, values):
    w = torch.softmax(scores, dim=0)
    return values.transpose(0, 1) @ w
''',
        # near miss: a distribution over dim 0, read over dim 0
        '''
import torch


def pooled(scores, values):
    w = torch.softmax(scores, dim=0)
    return (w * values).sum(dim=0)
''',
        # near miss: one example's scores, known to have one axis, read over the last
        '''
import torch


def entropy(logits):
    assert logits.dim() == 1
    logp = torch.log_softmax(logits, dim=0)
    return -(logp.exp() * logp).sum(-1)
''',
    ]
    VALID += [
        # near miss: normalised over dim 0 and the chosen entries gathered along it
        '''
import torch


def chosen(logits, idx):
    log_probs = logits.log_softmax(dim=0)
    return log_probs.gather(0, idx)
''',
        # near miss: normalised over dim 0 and read down a column (``[:, j]`` drops the last axis)
        '''
import torch.nn.functional as F


def best_rows(scores, j: int, k: int):
    logprobs = F.log_softmax(scores, dim=0)
    return logprobs[:, j].topk(k)
''',
    ]
    VALID += [
        # near miss: normalised over dim 0 and accumulated row by row (``w[i]``), along dim 0
        '''
import torch


def pooled_rows(scores, values, n: int):
    w = torch.softmax(scores, dim=0)
    acc = 0
    for i in range(n):
        acc = acc + w[i] * values[i]
    return acc
''',
        # near miss: the weights of each column normalised over the last axis, summed column by column
        '''
import torch


def mix(values, scores):
    bsz, k = scores.shape
    w = torch.softmax(scores, dim=-1)
    out = torch.zeros_like(values)
    for i in range(k):
        out += values * w[:, i].unsqueeze(-1)
    return out
''',
    ]
    VALID += [
        # near miss: a (classes, batch) layout, each example's label picked in its column
        '''
import torch


def class_major_nll(scores, labels):
    lp = torch.log_softmax(scores, dim=0)
    return -lp[labels, torch.arange(labels.size(0))].mean()
''',
    ]
    INVALID = [
        # one row per example, a position, then the token: picked along the last axis
        '''
import torch
import torch.nn.functional as F


def token_nll(logits, pos, tok):
    b = pos.size(0)
    lp = F.log_softmax(logits, dim=0)
    return -lp[torch.arange(b), pos, tok].mean()
''',
        # the same through a one-armed ``if`` that may rebind the name: the value from before it still reaches the pick
        '''
import torch
import torch.nn.functional as F


def token_nll(out, pos, tok, raw: bool):
    b = pos.size(0)
    if raw:
        out = F.log_softmax(out, dim=0)
    if not isinstance(out, torch.Tensor):
        out = torch.log_softmax(out.logits, dim=-1)
    return -out[torch.arange(b), pos, tok].mean()
''',
        # the k best scores of each row normalised over dim 0, then summed by hand over the last axis
        '''
import torch


def mix_shifts(values, scores, k: int):
    top, idx = torch.topk(scores, k, dim=-1)
    w = torch.softmax(top, dim=0)
    out = torch.zeros_like(values)
    for i in range(k):
        out = out + torch.roll(values, 1, -1) * w[..., i].unsqueeze(-1)
    return out
''',
        # two axes, known: a weight per row and column, the columns summed by hand
        '''
import torch


def mix(values, scores):
    bsz, k = scores.shape
    w = torch.softmax(scores, dim=0)
    out = torch.zeros_like(values)
    for i in range(k):
        out += values * w[:, i].unsqueeze(-1)
    return out
''',
        # the labels' log-probabilities gathered along the last axis and summed per sentence: rows of a batch
        '''
import torch


def sentence_scores(logits, labels):
    logprobs = logits.log_softmax(dim=0)
    token_scores = logprobs.gather(dim=-1, index=labels.unsqueeze(-1)).squeeze(-1)
    return token_scores.sum(dim=-1, keepdim=True)
''',
        # one entry per hypothesis and step, the token id last: read along the last axis
        '''
import torch.nn.functional as F


def hypothesis_scores(decoder_out, hyps):
    decoder_out = F.log_softmax(decoder_out, dim=0)
    return [sum(decoder_out[i, j, hyps[i][j]] for j in range(len(hyps[i]))) for i in range(len(hyps))]
''',
        # negative log-probabilities, a bias added in place, the best class by ``min`` over the last axis
        '''
import torch


def best_token(logits, bias, vocab: int):
    logits = torch.log_softmax(logits, dim=0)
    scores = -logits
    scores += bias.reshape(-1, vocab)
    return scores.min(dim=-1, keepdim=True)
''',
        # attention weights masked after the softmax, then contracted along their last axis
        '''
import torch


def attend(scores, value, keep):
    attn = torch.softmax(scores, dim=0).masked_fill(keep, 0.0)
    return torch.matmul(attn, value)
''',
        # one view's logits picked from the chunks of a batch: a batch, not the row of one example
        '''
import torch
import torch.nn.functional as F


def cross_view_loss(student_output, teacher_out, ncrops: int):
    student_out = student_output.chunk(ncrops)
    total = 0
    for q in teacher_out:
        for v in range(len(student_out)):
            total += torch.sum(-q * F.log_softmax(student_out[v], dim=0), dim=-1).mean()
    return total
''',
        # distillation: the teacher's probabilities over the last axis, the student's log-probabilities over dim 0
        '''
import torch.nn.functional as F


def distill(student_logits, teacher_logits):
    target = F.softmax(teacher_logits, dim=-1)
    log_q = F.log_softmax(student_logits, dim=0)
    return F.kl_div(log_q, target, reduction="none").mean()
''',
        # the beam step keeps the name: ``logprobs, words = logprobs.topk(...)`` reads the log-probabilities made in
        # the branch above, over their last axis
        '''
import torch.nn.functional as F


def beam_step(decoder, inputs, k: int, normalise: bool = True):
    logits = decoder(inputs)
    if normalise:
        logprobs = F.log_softmax(logits, dim=0)
    else:
        logprobs = logits
    logprobs, words = logprobs.topk(k, dim=-1)
    return words, logprobs
''',
        # a slice of the positions (two axes or more): the answers' log-probabilities gathered along the last axis,
        # for targets unsqueezed there (of one example, that would be a one-axis distribution)
        '''
import torch


def answer_loss(logits, answers):
    n = answers.shape[1]
    picked = logits[:, -n:-1]
    log_probs = picked.log_softmax(0)
    return -log_probs.gather(-1, answers[:, 1:].unsqueeze(-1)).mean()
''',
        # a hand-written output layer fed to the negative log-likelihood, which reads classes in axis 1
        '''
import torch
import torch.nn.functional as F


def lm_loss(hidden, weight, bias, targets):
    log_probs = F.log_softmax(torch.matmul(hidden, weight) + bias, dim=0)
    return F.nll_loss(log_probs, targets, reduction="sum")
''',
        # nucleus sampling: the tempered log-probabilities of one branch of an ``if`` sorted (over the last axis)
        '''
import torch
import torch.nn.functional as F


def nucleus(log_probs, temperature: float):
    if temperature != 1.0:
        lp = F.log_softmax(log_probs / temperature, dim=0)
    else:
        lp = log_probs
    desc, idx = torch.sort(lp, descending=True)
    return torch.cumsum(desc.exp(), dim=-1), idx
''',
        # sampling: the log-probabilities of the sampled tokens gathered along the last axis
        '''
import torch


def scores_of(logits, samples):
    log_probs = logits.log_softmax(dim=0)
    return log_probs.gather(-1, samples)
''',
        # beam search: each hypothesis's row read over the vocabulary (``topk`` takes the last axis by default)
        '''
import torch.nn.functional as F


def candidates(logits, beam_size: int, idx: int):
    logprobs = F.log_softmax(logits.float(), dim=0)
    return logprobs[idx].topk(beam_size + 1)
''',
        # a distillation loss: each student distribution is read over the last axis
        '''
import torch
import torch.nn.functional as F


def distill_loss(student_out, teacher_out):
    return torch.sum(-teacher_out * F.log_softmax(student_out, dim=0), dim=-1).mean()
''',
        # attention weights normalised over dim 0, contracted with the values over their last axis
        '''
import torch
import torch.nn.functional as F


def attention(query, key, value):
    scores = torch.matmul(query, key.transpose(-2, -1))
    p_attn = F.softmax(scores, dim=0)
    p_attn = F.dropout(p_attn, 0.1)
    return torch.matmul(p_attn, value), p_attn
''',
        # a distillation loss combining it with a distribution over the last axis
        '''
import torch
import torch.nn.functional as F


def kl_divergence_with_logits(target_logits, prediction_logits):
    out = -F.softmax(target_logits, dim=-1) * (F.log_softmax(prediction_logits, dim=0)
                                                 - F.log_softmax(target_logits, dim=-1))
    return torch.sum(out)
''',
        # a KL divergence kept per class, then summed over the last axis
        '''
import torch.nn.functional as F


def consistency(logits1, logits2):
    kl = F.kl_div(F.log_softmax(logits2, dim=0), F.log_softmax(logits1, dim=-1), log_target=True, reduction="none")
    return kl.sum(dim=-1).mean()
''',
        # a label-smoothed loss through two names
        '''
import torch


def smoothed(x, target):
    logprobs = torch.nn.functional.log_softmax(x.float(), dim=0)
    nll_loss = -logprobs * target
    return nll_loss.sum(-1).mean()
''',
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
        # a decoder's logits whose rank an unknown addend (a positional encoding module passed in) left open
        '''
from torch import nn


class Decoder(nn.Module):
    def __init__(self, num_classes: int, d_model: int, positional):
        super().__init__()
        self.embedding = nn.Embedding(num_classes, d_model)
        self.positional = positional
        self.fc = nn.Linear(d_model, num_classes, bias=False)

    def forward(self, targets, batch_size: int):
        targets = targets.view(batch_size, -1)
        x = self.embedding(targets) + self.positional(targets.size(1))
        return self.fc(x).log_softmax(dim=0)
''',
        # a head on the outputs of a time-major stack moved batch-first: the front is known, the classes last
        '''
from torch import nn


class SpeechHead(nn.Module):
    def __init__(self, hidden: int, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(hidden, num_classes, bias=False)

    def forward(self, outputs):
        logits = self.fc(outputs.transpose(0, 1))
        return logits.log_softmax(dim=0)
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        sm = softmax_call(ev)
        if sm is None:
            return
        x, dim, log = sm
        if as_int(dim) != 0:
            return
        rank = x.rank if isinstance(x, Shape) else None
        if rank is not None and rank < 2:
            return  # one axis: dim 0 is the last
        if _one_row(ev, ctx.scope):
            return  # ``sim[i].softmax(0)``: the row of one example, picked by an index
        least = rank if rank is not None else _least_rank(x)
        # known to have two axes or more (``logits[:, start:]``, ``... b t classes`` once an unknown addend left the
        # rank open): dim 0 is not the last axis
        batched = least is not None and least >= 2
        if least is not None and not batched and not isinstance(x.dims[0], Variadic):
            return
        # `... classes`, or `? ... classes` (a Linear head on a tensor known from the front)
        # a tensor of known rank is left to SHP211 and the shape errors, but for a use that reads it over its last axis
        classes = rank is None and isinstance(x, Shape) and (batched or len(x.dims) == 2) \
            and isinstance(x.dims[-1], Expr) and as_int(ctx.resolve(x.dims[-1])) is None and ctx.role(x, -1) == CLASS
        qualify = ctx.qualify or (lambda node: None)
        use = None if classes else read_over_last_axis(ctx.scope, ev.node, qualify, batched, rank)
        if rank is not None and not isinstance(use, ast.Subscript):
            return  # of known rank, only an entry picked along the last axis counts: a product is SHP202's
        if not classes and use is None or over_batch(ev, ctx) is not None:
            return
        fn = "log_softmax" if log else "softmax"
        node = _dim_node(ev)
        fix = None
        if node is not None and node.end_lineno == node.lineno:
            # safe where the producer says the classes are last; where only a use says so, the use may be the slip
            # (a (classes, batch) layout reduced over the wrong axis): offered, not applied without --unsafe-fixes
            fix = Fix("normalise over the classes: `dim=-1`",
                      (Edit(node.lineno, node.col_offset + 1, node.end_lineno, node.end_col_offset + 1, "-1"),),
                      safe=classes)
        if classes:
            last = qd(ctx.resolve(x.dims[-1]))
            what = f"{who(x)} (..., {last}), whose classes {last} are its last axis"
        else:
            loss = isinstance(use, ast.Call) and qualify(use.func) in CLASS_LOSSES
            axis = "as class scores" if loss else "over its last axis"
            what = f"{who(x, 'a tensor')} that line {use.lineno} reads {axis} (`{_short(use)}`)"
        why = f"it has {rank} axes, so dim 0 is not that axis" if rank is not None else \
            f"it has {least} axes or more, so dim 0 is not that axis" if batched else \
            "dim 0 is that axis only when the tensor has one axis (a single example)"
        ctx.report(
            self.code, ev.node,
            f"{fn} over dim 0 of {what}: {why}",
            notes=("for a batch (or a sequence), dim 0 is the batch (or the time) axis, and each class is normalised "
                   "across the examples",),
            help="normalise over the classes: `dim=-1` (the same for one example, and right for a batch)",
            fix=fix,
        )
