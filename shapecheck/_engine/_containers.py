"""Containers: lists grown with ``append`` and ``+=``, ``sum`` of tensors, ``cat``/``stack`` of a list of
unknown length, ``nn.Sequential(*layers)`` and ``nn.ModuleDict``.

A list whose length is known is a tuple of values; one whose length is not (grown in a loop, a list
comprehension) is a :class:`~shapecheck._engine._values.ListOf` its elements all fit. Partial knowledge is
kept: ``torch.stack`` of a list of ``"b c"`` tensors is ``"? b c"``.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from .._core._algebra import Expr, const
from .._core._ops._registry import OPAQUE, as_int
from .._core._ops._util import LAST_OF, batched
from .._core._shape import UNKNOWN, Shape, Variadic
from ._values import EMPTY, ONLY_FIRST, Choice, DictOf, ListOf, ModuleVal, Obj, QualRef, SelfVal, SizeOf, join, list_join

_GROWERS = frozenset({"append", "extend", "insert"})
_DICT_CHANGERS = frozenset({"update", "pop", "popitem", "setdefault", "clear", "__setitem__", "__delitem__"})
_JOINERS = {"torch.cat": "cat", "torch.concat": "cat", "torch.concatenate": "cat", "torch.stack": "stack"}


def grown(current, method: str, args: list):
    """The value of a list after ``current.append(v)`` (``extend``, ``insert``), or None when unknown."""
    if method == "append" and len(args) == 1:
        new = (args[0],)
    elif method == "insert" and len(args) == 2:
        new = (args[1],)
    elif method == "extend" and len(args) == 1 and isinstance(args[0], (tuple, ListOf)):
        new = args[0]
    else:
        return None
    if isinstance(current, tuple):
        if isinstance(new, ListOf):
            return list_join(ListOf(new.elem), current)
        return current + new if method != "insert" else None if not current else list_join(ListOf(new[0]), current)
    if isinstance(current, ListOf):
        out = list_join(current, new)
        # appended after what the list holds: its first element stays first
        return ListOf(out.elem, out.length, current.first) if method != "insert" and current.first is not None else out
    return None


def _layer_choice(v) -> bool:
    """A choice among modules of one class (``Linear(in_dim, width)`` or ``Linear(width, width)``)."""
    return isinstance(v, Choice) and all(isinstance(o, ModuleVal) for o in v.options) \
        and len({o.qualname for o in v.options}) == 1


def sum_of(items):
    """``sum(tensors)``: the elements' common shape when they agree, else unknown; None for numbers."""
    elems = items.elem if isinstance(items, ListOf) else items
    elems = elems if isinstance(elems, tuple) else (elems,)
    if not elems or not all(isinstance(e, Shape) for e in elems):
        return None
    v = elems[0]
    for w in elems[1:]:
        v = join(v, w)
    return v


class Containers:
    """The container room of :class:`~._walk.FunctionAnalysis`."""

    def change_dict(self, node: ast.Call, state) -> None:
        """``kwargs.update(...)`` (any call that changes a dict) on a dict variable: its items are unknown."""
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _DICT_CHANGERS and isinstance(func.value, ast.Name) \
                and isinstance(state.get(func.value.id), DictOf):
            state[func.value.id] = OPAQUE

    def grow_list(self, node: ast.Call, state) -> bool:
        """``outs.append(v)`` on a list variable: the variable holds the longer list. True when handled."""
        func = node.func
        if self.grow_module_list(node, state):
            return True
        if isinstance(func, ast.Attribute) and func.attr in ("reverse", "sort") and isinstance(func.value, ast.Name) \
                and not node.args and isinstance(state.get(func.value.id), (tuple, ListOf)):
            # ``blocks.reverse()`` (``sort()``) reorders the list in place: what was known first is not
            cur = state[func.value.id]
            if isinstance(cur, tuple) and func.attr == "reverse":
                state[func.value.id] = tuple(reversed(cur))
            elif isinstance(cur, tuple):
                state[func.value.id] = list_join(ListOf(cur[0]), cur[1:]) if cur else cur
            else:
                state[func.value.id] = ListOf(cur.elem, cur.length)
            return True
        if not (isinstance(func, ast.Attribute) and func.attr in _GROWERS and isinstance(func.value, ast.Name)):
            return False
        current = state.get(func.value.id)
        if isinstance(current, ListOf) and current.length == EMPTY:
            # ``layers = nn.ModuleList([])`` then ``layers.append(block)`` in a loop: modules that each fit every
            # appended one, as for a ``nn.ModuleList()`` attribute
            args, kwargs = self.call_args(node, state)
            new = grown((), func.attr, args) if args is not None and not kwargs else None
            ok = isinstance(new, tuple) and new and all(isinstance(v, ModuleVal) for v in new)
            state[func.value.id] = ListOf(list_join(ListOf(new[0]), new).elem, first=new[0]) if ok \
                else ListOf(OPAQUE)
            return True
        if not isinstance(current, (tuple, ListOf)) or isinstance(current, ListOf) and isinstance(current.elem,
                                                                                                    ModuleVal):
            return False
        args, kwargs = self.call_args(node, state)
        new = grown(current, func.attr, args) if args is not None and not kwargs else None
        state[func.value.id] = new if new is not None else ListOf(OPAQUE)
        return True

    def grow_module_list(self, node: ast.Call, state) -> bool:
        """``self.blocks.append(Block(dim))`` on a ``nn.ModuleList()`` attribute (in a loop, usually): the
        attribute holds modules that each fit every appended one. True when handled."""
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr in _GROWERS and isinstance(func.value, ast.Attribute)
                and isinstance(func.value.value, ast.Name)):
            return False
        owner = state.get(func.value.value.id)
        if not isinstance(owner, SelfVal) or func.value.attr not in owner.attrs:
            return False
        current = owner.attrs[func.value.attr]
        if current == () and func.attr == "append" and len(node.args) == 1 and not node.keywords:
            with self.silenced():  # a look at what is appended (evaluated again below, reported then)
                appended = self.ev(node.args[0], dict(state))
            if isinstance(appended, ModuleVal):
                current = ListOf(OPAQUE, EMPTY)  # ``self.fcs = []`` given layers (``add_module`` registers them)
        if not isinstance(current, ListOf) or current.length != EMPTY and not isinstance(current.elem, ModuleVal) \
                and not _layer_choice(current.elem) and current.first is None:
            return False
        args, kwargs = self.call_args(node, state)
        new = None
        if args is not None and not kwargs:
            new = grown(() if current.length == EMPTY else current, func.attr, args)
            if isinstance(new, tuple) and new:  # a loop appends as often as it runs: the length is unknown
                new = ListOf(list_join(ListOf(new[0]), new).elem, first=new[0] if func.attr != "insert" else None)
        rest = None
        if not self.loop_depth and func.attr == "append" and new is not None and len(args) == 1 \
                and isinstance(args[0], ModuleVal):
            # appended outside any loop: the list surely holds its first element, then what follows it
            before = current.rest if current.length != EMPTY else None
            rest = ONLY_FIRST if current.length == EMPTY else \
                args[0] if before == ONLY_FIRST else join(before, args[0]) if before is not None else None
            rest = rest if rest is ONLY_FIRST or isinstance(rest, (ModuleVal, Choice)) else None
        if isinstance(new, ListOf) and (isinstance(new.elem, ModuleVal) or _layer_choice(new.elem)):
            # layers of one kind built with a size the loop carries (``Linear(d, width)`` then ``d = width``): each
            # element is one of those built, as a choice is (a finding holds when it holds whichever one runs)
            owner.attrs[func.value.attr] = replace(new, rest=rest)
        else:  # modules of several kinds: the first one appended is still known
            first = new.first if isinstance(new, ListOf) and isinstance(new.first, (ModuleVal, ListOf, Choice)) \
                else None
            owner.attrs[func.value.attr] = ListOf(OPAQUE, first=first, rest=rest if first is not None else None)
        return True

    def set_item(self, target: ast.Subscript, value, state) -> None:
        """``kwargs["size"] = v`` on a dict variable: the dict with that item; any other key makes its
        items unknown (``del d[k]`` too, with ``value`` None). ``new_shape[1] = n + 2`` on a list of sizes
        (``new_shape = list(x.shape)``): the list with that element; at an index the engine cannot read, or of
        sizes it does not know one by one, the list is unknown."""
        if isinstance(target.value, ast.Name) and isinstance(state.get(target.value.id), (tuple, SizeOf)):
            seq = state[target.value.id]
            i = self.ev(target.slice, state)
            i = i.value if isinstance(i, Expr) else None
            if isinstance(seq, tuple) and i is not None and -len(seq) <= i < len(seq) and value is not None:
                items = list(seq)
                items[i] = value
                state[target.value.id] = tuple(items)
            else:
                state[target.value.id] = OPAQUE
            return
        if not isinstance(target.value, ast.Name) or not isinstance(state.get(target.value.id), DictOf):
            return
        d = state[target.value.id]
        key = target.slice.value if isinstance(target.slice, ast.Constant) else None
        if not isinstance(key, str) or value is None:
            state[target.value.id] = OPAQUE
            return
        state[target.value.id] = DictOf(tuple((k, v) for k, v in d.items if k != key) + ((key, value),))

    @staticmethod
    def aligned_parts(q: str, args, kwargs=None):
        """``torch.cat((cls, x), dim=1)`` with ``cls`` of known rank and ``x`` of unknown rank: the parts of a
        ``cat``/``stack`` all have one rank, so ``x`` has ``cls``'s rank, its known leading and trailing axes
        in place (``... n d`` beside ``b 1 d`` is ``? n d``); a part the engine could not evaluate is a tensor
        of that many unknown axes. A convolution's output of unknown rank (``... c h w``) joined along an axis
        named by a non-negative index (``torch.cat([up, skip], dim=1)``) is read batched, ``? c h w``, as by
        every op that names its axes so. ``args`` unchanged when no part is of known rank or a part cannot fit."""
        if q not in _JOINERS or not args or not isinstance(args[0], (tuple, list)) or len(args[0]) < 2:
            return args
        parts = list(args[0])
        dim = as_int(args[1] if len(args) > 1 else (kwargs or {}).get("dim", 0))
        if dim is not None and dim >= 0 and any(batched(p) is not p for p in parts):
            parts = [batched(p) for p in parts]
            args = [type(args[0])(parts)] + list(args[1:])
        ranks = {p.rank for p in parts if isinstance(p, Shape) and p.rank is not None}
        if len(ranks) != 1 or all(isinstance(p, Shape) and p.rank is not None for p in parts):
            return args
        r = ranks.pop()
        out = []
        for p in parts:
            if isinstance(p, Shape) and p.rank is not None:
                out.append(p)
            elif isinstance(p, Shape):
                s = _with_rank(p, r)
                if s is None:
                    return args
                out.append(s)
            elif p is OPAQUE or isinstance(p, Obj):
                out.append(Shape((UNKNOWN,) * r))
            else:
                return args
        return [type(args[0])(out)] + list(args[1:])

    def join_list(self, q: str, args, kwargs, node):
        """``torch.cat(outs, dim)`` / ``torch.stack(outs, dim)`` of a list of unknown length: the op on one
        element, with the joined axis of unknown size. None when the call is not of that form."""
        op = _JOINERS.get(q)
        if op is None or not args:
            return None
        parts = args[0]
        alike = True  # every element has the list element's sizes (not only the known parts)
        if isinstance(parts, tuple) and len(parts) > 1 and not all(_known(p) for p in parts) \
                and any(_known(p) for p in parts):
            alike = False
            # some operands unknown: the op on the known ones, the joined axis of unknown size
            # (or, for stack, of the list's length)
            known = [p for p in parts if _known(p)]
            elem = known[0]
            for other in known[1:]:
                elem = join(elem, other)
            parts = ListOf(elem, const(len(parts)))
        if not isinstance(parts, ListOf) or not isinstance(parts.elem, Shape):
            return None
        result = self.call_qual(q, [(parts.elem,)] + list(args[1:]), kwargs, node, {})
        dim = as_int(args[1] if len(args) > 1 else kwargs.get("dim", 0))
        if not isinstance(result, Shape) or result.rank is None:
            return OPAQUE
        if dim is None:
            return Shape((UNKNOWN,) * result.rank)
        i = dim + result.rank if dim < 0 else dim
        if not 0 <= i < result.rank:
            return OPAQUE
        size = parts.length if op == "stack" and isinstance(parts.length, Expr) else UNKNOWN
        if op == "cat" and alike and isinstance(parts.length, Expr) and isinstance(result.dims[i], Expr):
            size = result.dims[i] * parts.length  # ``n`` parts of ``d`` each, joined: ``n*d``
        dims = list(result.dims)
        dims[i] = size
        origins = list(result.origins) if result.origins else [None] * len(dims)
        origins[i] = None
        return Shape(tuple(dims), tuple(origins), None, result.meta)

    def sequential_of(self, node: ast.Call, state):
        """``nn.Sequential(*layers)`` with ``layers`` a list of one kind of module; None when not of that form."""
        if len(node.args) != 1 or not isinstance(node.args[0], ast.Starred) or node.keywords:
            return None
        layers = self.ev(node.args[0].value, state)
        if isinstance(layers, ListOf) and isinstance(layers.first, ModuleVal) and layers.first != layers.elem:
            # ``layers.append(nn.Conv2d(in_ch, out_ch, 3))`` in a loop: the first layer meets the input, the
            # later ones (each fitting the list's element, perhaps none) follow it
            return ModuleVal("torch.nn.Sequential", children=(layers.first,), repeated=True, later=layers.elem)
        if isinstance(layers, ListOf) and isinstance(layers.elem, ModuleVal):
            return ModuleVal("torch.nn.Sequential", children=(layers.elem,), repeated=True)
        return None

    def dict_value(self, node, state):
        """``{"wte": ..., "h": ...}`` or ``dict(wte=..., h=...)`` with string keys: a DictOf; else None."""
        if isinstance(node, ast.Dict):
            if not all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys):
                return None
            return DictOf(tuple((k.value, self.ev(v, state)) for k, v in zip(node.keys, node.values)))
        if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords \
                and isinstance(node.args[0], (ast.List, ast.Tuple)) and self.ev(node.func, state) == QualRef(
                    "collections.OrderedDict") and all(
                    isinstance(e, ast.Tuple) and len(e.elts) == 2 and isinstance(e.elts[0], ast.Constant)
                    and isinstance(e.elts[0].value, str) for e in node.args[0].elts):
            # ``OrderedDict([("c_fc", nn.Linear(d, 4 * d)), ("gelu", GELU()), ...])``: keys in order
            return DictOf(tuple((e.elts[0].value, self.ev(e.elts[1], state)) for e in node.args[0].elts))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" \
                and "dict" not in state and not node.args and all(k.arg for k in node.keywords):
            return DictOf(tuple((k.arg, self.ev(k.value, state)) for k in node.keywords))
        return None


def _known(v) -> bool:
    return isinstance(v, Shape) and v.rank is not None


def _with_rank(p: Shape, r: int) -> Shape | None:
    """``p`` (one unnamed variadic segment) with exactly ``r`` axes: its known leading and trailing axes kept
    with their provenance, the segment filled with unknown axes; None when ``p`` has more known axes. A
    layer's output ``... f`` that replaced the last axis of an input known in part (``Linear`` of
    ``x[:, :1]``, ``b 1 ...``) is that input with ``r`` axes, its last one ``f``: ``b 1 f``."""
    last_of = p.get_meta(LAST_OF)
    if last_of is not None and len(p.dims) == 2 and p.dims[1] == last_of[1]:
        base = _with_rank(last_of[0], r)
        if base is not None and base.rank:
            origins = list(base.origins) if base.origins else [None] * r
            origins[-1] = p.origins[-1] if p.origins else None
            return Shape(base.dims[:-1] + (p.dims[1],), tuple(origins), p.label)
    v = p.variadic_index
    if v is None or p.dims[v] != Variadic(None):
        return None
    pre, post = p.dims[:v], p.dims[v + 1:]
    k = r - len(pre) - len(post)
    if k < 0:
        return None
    origins = list(p.origins) if p.origins else [None] * len(p.dims)
    return Shape(pre + (UNKNOWN,) * k + post, tuple(origins[:v] + [None] * k + origins[v + 1:]), p.label, p.meta)
