"""Roles stated by a value's uses: the consumer of a tensor says what its axes are for.

The roles room (``_roles``) reads roles from an axis's producer, walking forward. Some consumers are
as unambiguous, and they often come later in the function than the call a rule looks at:

- ``x[torch.arange(n), labels]`` (or ``range(len(x))``) pairs every row of ``x`` with one entry of
  it: axis 0 holds the examples (batch) and axis 1 each example's scores (classes), and ``x`` has
  at least two axes;
- ``F.kl_div(input, target, reduction="batchmean")`` divides by ``input.size(0)``, the batch size
  by the function's contract: axis 0 of both operands is the batch and the distributions lie along
  the other axes.
- ``F.nll_loss(x, y)`` / ``F.cross_entropy(x, y)`` read ``x`` as ``(N, C, ...)`` when it has two axes or
  more (one example's ``(C,)`` scores otherwise): they state axis 0 the batch and axis 1 the classes
  only where another use proves two axes (``x.argmax(dim=1)``, ``torch.max(x, 1)``, ``x.size(1)``, or a use
  above), and not against a target built from the rows' own ``arange`` (a contrastive diagonal).

:func:`use_roles` reads one scope's code once (no shapes needed) and maps each call whose value
reaches such a use to the roles the use states, ``{axis: role}``: the call is the consumer's operand
itself, or it is assigned to a name that is assigned nowhere else in the scope and used so. A role
two uses disagree on is dropped. Axis indices count from the front (``0``, ``1``) or the end (``-1``);
every use here also proves the value has at least two axes, so ``0`` and ``-1`` are distinct. Methods that
keep the values and their layout (``clone``, ``detach``, ``float``, ``to``...) are seen through, on the use
(``torch.gather(logp.clone(), 2, ...)``) and on the assignment (``logp = x.log_softmax(-1).detach()``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .._core._roles import BATCH, CLASS
from ._common import own_nodes

_ARANGE = {"torch.arange", "numpy.arange"}
_KL_DIV = {"torch.nn.functional.kl_div"}
_CLASS_LOSSES = {"torch.nn.functional.nll_loss", "torch.nn.functional.cross_entropy"}
_ARGMAX = {"torch.argmax", "torch.max", "torch.topk"}


def _is_range(node, qualify) -> bool:
    """``range(...)`` or ``torch.arange(...)``: one index per row."""
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    if isinstance(f, ast.Name) and f.id == "range" and qualify(f) is None:
        return True
    return qualify(f) in _ARANGE


def use_roles(scope: ast.AST, qualify) -> dict:
    """``id(call node) -> Uses`` for the calls of ``scope`` whose value a later use describes."""
    nodes = list(own_nodes(ast.iter_child_nodes(scope)))
    stores: dict = {}
    for n in nodes:
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            stores[n.id] = stores.get(n.id, 0) + 1
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            for name in n.names:
                stores[name] = 2  # assigned elsewhere too
    params = {a.arg for a in ast.walk(scope.args) if isinstance(a, ast.arg)} if hasattr(scope, "args") else set()
    axes = _least_axes(nodes, {k: v + (k in params) for k, v in stores.items()})
    ranges = {n.targets[0].id for n in nodes if isinstance(n, ast.Assign) and len(n.targets) == 1
              and isinstance(n.targets[0], ast.Name) and _is_range(n.value, qualify)}

    by_name: dict = {}
    by_node: dict = {}
    why: dict = {}  # key -> the use that stated the roles, in words

    def state(target, roles: dict, text: str) -> None:
        target = _kept(target, qualify)
        if isinstance(target, ast.Name):
            if stores.get(target.id) != 1:
                return
            key, table = target.id, by_name
        elif isinstance(target, ast.Call):
            key, table = id(target), by_node
        else:
            return
        why.setdefault(key, text)
        known = table.setdefault(key, {})
        for axis, role in roles.items():
            known[axis] = role if known.get(axis, role) == role else None

    def key_of(target):
        target = _kept(target, qualify)
        if isinstance(target, ast.Name):
            return target.id if stores.get(target.id) == 1 else None
        return id(target) if isinstance(target, ast.Call) else None

    losses = []  # (operand, text): a classification loss given the value, which reads (N, C) of two axes or more
    two_axes = set()  # keys of values a use proves to have two axes or more without stating their roles
    for n in nodes:
        if isinstance(n, ast.Call) and qualify(n.func) in _CLASS_LOSSES:
            operand = n.args[0] if n.args else next((k.value for k in n.keywords if k.arg == "input"), None)
            target = n.args[1] if len(n.args) > 1 else next((k.value for k in n.keywords if k.arg == "target"), None)
            if operand is not None and target is not None and _is_label_index(target, qualify, ranges):
                losses.append((operand, f"line {n.lineno} gives it to `{_short(n)}`, which reads axis 0 as the "
                                        f"batch and axis 1 as the classes of an input of two axes or more"))
        elif isinstance(n, ast.Call) and _reduced_over_axis_1(n, qualify) is not None:
            k = key_of(_reduced_over_axis_1(n, qualify))
            if k is not None:
                two_axes.add(k)
    for name, least in axes.items():
        if least >= 2 and stores.get(name) == 1:
            two_axes.add(name)

    for n in nodes:
        if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Tuple) and len(n.slice.elts) == 2:
            rows, cols = n.slice.elts
            is_rows = _is_range(rows, qualify) or isinstance(rows, ast.Name) and rows.id in ranges
            if is_rows and _is_label_index(cols, qualify, ranges):
                state(n.value, {0: BATCH, 1: CLASS},
                      f"line {n.lineno} reads it one entry per row (`{_short(n)}`)")
        elif isinstance(n, ast.Call) and qualify(n.func) == "einx.get_at" and len(n.args) >= 2:
            roles = _get_at(n.args[0])
            if roles:
                state(n.args[1], roles, f"line {n.lineno} picks one entry per row along its bracketed axis "
                                        f"(`{_short(n)}`)")
        elif isinstance(n, ast.Call) and _gather(n, qualify, axes) is not None:
            src, g = _gather(n, qualify, axes)
            state(src, {0: BATCH, g: CLASS},
                  f"line {n.lineno} picks one entry per row along axis {g} (`{_short(n)}`)")
        elif isinstance(n, ast.Call) and qualify(n.func) in _KL_DIV and _keyword(n, "reduction") == "batchmean":
            operands = list(n.args[:2]) + [k.value for k in n.keywords if k.arg in ("input", "target")]
            for op in operands:
                state(op, {0: BATCH, -1: CLASS},
                      f"line {n.lineno} gives it to `kl_div(..., reduction=\"batchmean\")`, which divides by axis 0")

    stated = set(by_name) | set(by_node)  # every use above also proves two axes or more
    for operand, text in losses:
        if key_of(operand) in two_axes | stated:
            state(operand, {0: BATCH, 1: CLASS}, text)
    weak = set()  # keys whose roles only a row sum states: the value's own rank must show two axes
    for n in nodes:
        for operand, text in _row_summed(n, qualify):
            k = key_of(operand)
            if k is not None and k not in by_name and k not in by_node:
                state(operand, {0: BATCH, -1: CLASS}, text)
                weak.add(k)

    out = {k: Uses({a: r for a, r in v.items() if r}, why[k], k not in weak) for k, v in by_node.items()}
    for n in nodes:
        if isinstance(n, (ast.Assign, ast.AnnAssign)) and isinstance(n.value, ast.Call):
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name) and targets[0].id in by_name:
                name = targets[0].id
                roles = {a: r for a, r in by_name[name].items() if r}
                value = _kept(n.value, qualify)  # ``lp = F.log_softmax(x, dim=-1).detach()``: the log_softmax
                if roles and isinstance(value, ast.Call) and id(value) not in out:
                    out[id(value)] = Uses(roles, why[name], name not in weak)
    return {k: v for k, v in out.items() if v.roles}


# methods that give back the same values in the same layout (a copy, another dtype or device, detached)
_KEEPS = frozenset({"clone", "detach", "contiguous", "float", "double", "half", "bfloat16", "to", "type_as", "cpu",
                    "cuda"})


def _kept(node, qualify):
    """The tensor a chain of layout-keeping methods starts from: ``logp`` of ``logp.clone().float()``."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _KEEPS \
            and qualify(node.func) is None:
        node = node.func.value
    return node


@dataclass(frozen=True)
class Uses:
    """What the later uses of one call's value state: ``{axis: role}`` and the use, in words; ``shows_axes``: the use
    also proves two axes or more (a row sum does not: the value's own rank must show them)."""

    roles: dict
    why: str
    shows_axes: bool = True


def _row_summed(node, qualify):
    """``(operand, text)`` of each distribution whose terms ``node`` sums over the last axis, one sum per row:
    ``F.kl_div(lp, q, reduction="none").sum(-1)`` (both operands), ``torch.sum(-q * lp, dim=-1)`` (the factors)."""
    if not isinstance(node, ast.Call):
        return []
    f = node.func
    if isinstance(f, ast.Attribute) and f.attr in ("sum", "mean") and qualify(f) is None:
        inner, rest = f.value, list(node.args)
    elif qualify(f) in ("torch.sum", "torch.mean") and node.args:
        inner, rest = node.args[0], list(node.args[1:])
    else:
        return []
    dim = next((k.value for k in node.keywords if k.arg == "dim"), rest[0] if rest else None)
    if _int(dim) != -1:
        return []
    text = f"line {node.lineno} sums its terms over the last axis, one sum per row (`{_short(node)}`)"
    while isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.USub):
        inner = inner.operand
    if isinstance(inner, ast.Call) and qualify(inner.func) in _KL_DIV and _keyword(inner, "reduction") == "none":
        return [(a, text) for a in inner.args[:2]]
    if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Mult):
        factors = []
        for side in (inner.left, inner.right):
            while isinstance(side, ast.UnaryOp) and isinstance(side.op, ast.USub):
                side = side.operand
            factors.append(side)
        return [(a, text) for a in factors]
    return []


def _is_label_index(node, qualify, ranges) -> bool:
    """An index that picks one entry per row (labels, chosen tokens), not a slice, a literal or one made
    from an ``arange`` (``x[arange(n), arange(n)]`` is a diagonal)."""
    if isinstance(node, (ast.Slice, ast.Constant, ast.Starred, ast.Tuple, ast.List)):
        return False
    # built from the rows' own arange (a diagonal, or a shifted one: `(torch.arange(n) + n) % (2 * n)`
    # picks the positive pair of a (batch, batch) similarity): not a label
    return not any(_is_range(n, qualify) or isinstance(n, ast.Name) and n.id in ranges for n in ast.walk(node))


def _least_axes(nodes, stores) -> dict:
    """``name -> n``: the scope reads axis ``n - 1`` of the tensor bound to ``name`` (``t.shape[1]``, ``t.size(-2)``,
    ``len(t)``) or binds it to ``n`` slices of a tensor (``t = tokens[:, 1:]``), so it has ``n`` axes or more; only for
    a name bound once at most (a parameter, one assignment)."""
    out: dict = {}

    def seen(node, k) -> None:
        if isinstance(node, ast.Name) and stores.get(node.id, 0) <= 1 and k is not None:
            n = k + 1 if k >= 0 else -k
            out[node.id] = max(out.get(node.id, 0), n)

    for n in nodes:
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Attribute) and n.value.attr == "shape":
            seen(n.value.value, _int(n.slice))
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "size" \
                and len(n.args) == 1 and not n.keywords:
            seen(n.func.value, _int(n.args[0]))
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "len" and len(n.args) == 1:
            seen(n.args[0], 0)
        elif isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.value, ast.Subscript) \
                and isinstance(n.value.slice, ast.Tuple) and len(n.value.slice.elts) >= 2 \
                and all(isinstance(e, ast.Slice) for e in n.value.slice.elts):
            seen(n.targets[0], len(n.value.slice.elts) - 1)  # ``labels = tokens[:, 1:]``: slices keep their axes
    return out


def _gather(call: ast.Call, qualify, axes=None):
    """``(source, axis)`` of ``src.gather(g, t.unsqueeze(g))`` / ``torch.gather(src, g, t[:, None])``: one entry
    picked per row along ``g``, the class axis, when the index proves two axes or more (``g >= 1``, or an
    index unsqueezed at ``1``/``-2``... or ``t[:, None]``) and ``g`` is not axis 0 (``g`` is ``-1`` or positive)."""
    f = call.func
    if qualify(f) == "torch.gather":
        args = list(call.args)
    elif isinstance(f, ast.Attribute) and f.attr == "gather" and qualify(f) is None:
        args = [f.value] + list(call.args)
    else:
        return None
    kw = {k.arg: k.value for k in call.keywords if k.arg}
    src = kw.get("input", args[0] if args else None)
    dim = kw.get("dim", args[1] if len(args) > 1 else None)
    index = kw.get("index", args[2] if len(args) > 2 else None)
    g = _int(dim)
    if src is None or index is None or g is None or g < -1 or g == 0:
        return None
    if g >= 1:
        return src, g
    return (src, g) if _one_per_row(index, axes or {}) else None


def _get_at(pattern) -> dict | None:
    """Roles ``einx.get_at("b n [l], b n -> b n", x, idx)`` states for ``x``: the bracketed axis is picked
    from (classes), a leading ``b``/``batch`` is the batch; indices count from the end after a ``...``."""
    if not isinstance(pattern, ast.Constant) or not isinstance(pattern.value, str):
        return None
    first = pattern.value.split("->", 1)[0].split(",", 1)[0]
    tokens = first.replace("[", " [").replace("]", "] ").split()
    if not tokens or any(t.startswith("(") or t.endswith(")") for t in tokens):
        return None
    ellipsis = tokens.index("...") if "..." in tokens else None
    picked = [i for i, t in enumerate(tokens) if t.startswith("[")]
    if len(picked) != 1 or not (tokens[picked[0]].endswith("]") and len(tokens[picked[0]]) > 2):
        return None
    k = picked[0]
    if ellipsis is not None and k < ellipsis:
        return None
    roles = {k if ellipsis is None else k - len(tokens): CLASS}
    if tokens[0] in ("b", "batch") and k != 0:
        roles[0] = BATCH
    if len(tokens) < 2 or (ellipsis is not None and len(tokens) < 3) or 0 not in roles:
        return None  # two axes or more, and a batch axis, or nothing is stated
    return roles


def _one_per_row(index, axes: dict) -> bool:
    """``t.unsqueeze(k)`` with ``k`` not ``0``/``-1``, or ``t[:, None]``: an index of two axes or more whose
    last axis has size one (one pick per row); also ``t.unsqueeze(-1)`` of a ``t`` the scope reads an axis of
    (``t.shape[0]``: one axis or more, so the index has two or more)."""
    if isinstance(index, ast.Call) and isinstance(index.func, ast.Attribute) and index.func.attr == "unsqueeze":
        k = _int(index.args[0]) if len(index.args) == 1 else None
        if k == -1 and isinstance(index.func.value, ast.Name) and axes.get(index.func.value.id, 0) >= 1:
            return True
        return k is not None and k not in (0, -1)
    if isinstance(index, ast.Subscript) and isinstance(index.slice, ast.Tuple) and len(index.slice.elts) >= 2:
        first, *rest = index.slice.elts
        return (isinstance(first, ast.Slice) and first.lower is None and first.upper is None
                and isinstance(rest[-1], ast.Constant) and rest[-1].value is None)
    return False


def _reduced_over_axis_1(call: ast.Call, qualify):
    """The tensor of ``x.argmax(dim=1)``, ``x.max(1)``, ``torch.max(x, 1)``, ``x.topk(k, dim=1)``: the prediction
    read along axis 1 (``.max(1)[1]``, the accuracy of a classifier), which proves two axes or more; else None."""
    f = call.func
    if isinstance(f, ast.Attribute) and f.attr in ("argmax", "max", "topk") and qualify(f) is None:
        src, args = f.value, list(call.args)
        name = f.attr
    elif qualify(f) in _ARGMAX and call.args:
        src, args = call.args[0], list(call.args[1:])
        name = qualify(f).rsplit(".", 1)[1]
    else:
        return None
    dim = next((k.value for k in call.keywords if k.arg == "dim"), None)
    if dim is None:
        pos = 1 if name == "topk" else 0
        dim = args[pos] if len(args) > pos else None
    return src if _int(dim) == 1 else None


def _int(node):
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _int(node.operand)
        return -v if v is not None else None
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _short(node, limit: int = 60) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _keyword(call: ast.Call, name: str):
    for k in call.keywords:
        if k.arg == name and isinstance(k.value, ast.Constant):
            return k.value.value
    return None
