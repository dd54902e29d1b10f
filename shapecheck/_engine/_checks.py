"""Post-checks: values against annotations (SHP105) and views that reorder data (SHP109)."""

from __future__ import annotations

import ast
import re
from fractions import Fraction
from itertools import combinations

from .._core._algebra import Expr, Sym, const, exact_quotient
from .._core._wording import (argument_axis_mismatch, argument_rank_mismatch, axis_note, binding_note, qd,
                              spec_axis_mismatch, spec_rank_mismatch)
from .._core._roles import BATCH
from .._core._shape import Shape, Unknown, Variadic
from .._core._unify import Bindings, Env, instantiate, match_spec
from ._memo import per_node
from ._narrow import is_pattern_axis

_ZERO_HINT = 'a scalar is written "" (an empty string); "0" is one axis of size 0'


def spec_shape(spec, origin: str) -> Shape:
    """An annotation's shape, each axis noted as coming from ``origin``."""
    shape = spec.to_shape()
    return Shape(shape.dims, (origin,) * len(shape.dims))


class Checks:
    """The post-check room of :class:`~._walk.FunctionAnalysis`."""

    def check_spec(self, spec, value: Shape, node, who: str, what: str, persist: bool = True) -> Shape:
        """Check a value against a return or local annotation; returns the annotation's shape.

        Names the parameters bind are the function's own axes. A name first met in a return or
        local annotation (``"*bs output_dim"`` where only ``input_dim`` comes in; ``scores: "b q k"``)
        is bound by that value, as jaxtyping binds it, and means that size from then on."""
        inst = Bindings({n: Expr(((((Sym(n, "axis"), 1),), 1),)) for n in spec.names() if n in self.param_names})
        for n, v in self.free.sizes.items():
            inst.sizes.setdefault(n, v)
        for n, v in self.free.segments.items():
            inst.segments.setdefault(n, v)
        for ax in spec.axes:
            if ax.variadic and ax.name and ax.name in self.param_names:
                inst.sizes.pop(ax.name, None)  # a parameter's variadic: matched by position, not bound here
        problems = match_spec(spec, value, self.env, inst, self.where(node))
        if persist:  # each return is its own path: only local annotations bind for later
            for n, v in inst.sizes.items():
                if n not in self.param_names and n not in self.free.sizes:
                    self.free.sizes[n] = v
            for n, v in inst.segments.items():
                if n not in self.free.segments:
                    self.free.segments[n] = v
        zero = any(ax.kind == "fixed" and ax.value == 0 for ax in spec.axes)
        hint = _ZERO_HINT if zero else None
        for p in problems[:1]:
            if p.kind == "rank":
                self.diag(node, "SHP105", spec_rank_mismatch(who, what, spec.text, p.actual, p.expected),
                          notes=(f"inferred shape: {value}",), help=hint)
            else:
                note = None
                if p.index is not None:
                    note = axis_origin_note(value, p.index, who, self.env)
                self.diag(node, "SHP105", spec_axis_mismatch(who, what, spec.text, p.actual, p.expected, p.index,
                                                             value.rank, name=p.name),
                          notes=(note,), help=hint)
        return instantiate(spec, inst)

    def report_argument(self, node, display: str, pname: str, spec, value: Shape, problem) -> None:
        """SHP105 at a call: an argument contradicts the callee's annotation of its parameter."""
        if problem.kind == "rank":
            self.diag(node, "SHP105", argument_rank_mismatch(display, pname, spec.text, problem.actual,
                                                             problem.expected),
                      notes=(f"inferred shape: {value}",))
            return
        self.diag(node, "SHP105",
                  argument_axis_mismatch(display, pname, problem.name, problem.actual, problem.expected,
                                         problem.index, value.rank),
                  notes=(binding_note(problem.name, display, problem.expected, problem.bound_at)
                         if problem.bound_at else None,
                         axis_origin_note(value, problem.index, f"`{pname}`", self.env)
                         if problem.index is not None else None))

    def check_reshape_order(self, src: Shape, out: Shape, node) -> bool:
        """A view/reshape that moves a symbolic axis across others reorders data: SHP109.

        Returns True when the view is not a clean split/merge of adjacent axes and no error was
        reported: its result's axes are a reinterpretation (the Transformer-XL relative shift views
        memory on purpose), and later views of it are not judged by axis identity."""
        if src.rank is None or out.rank is None:
            return False
        sdims = [self.env.resolve(d) for d in src.dims]
        odims = [self.env.resolve(d) for d in out.dims]
        if any(isinstance(d, Unknown) for d in sdims + odims):
            self.check_reshape_tail(src, out, sdims, odims, node)
            return False
        ones = _forced_ones(sdims, odims)
        if ones:
            # ``_, c, h, w = f.size()`` then ``f.view(c, h * w)``: the count says the axis left out is 1
            keep = [i for i in range(len(sdims)) if i not in ones]
            sdims = [sdims[i] for i in keep]
            src = Shape(tuple(sdims), tuple(src.origins[i] for i in keep) if src.origins else (), src.label, src.meta)
        if self.clean_view(sdims, odims):
            return False
        if src.get_meta("reinterpreted") or node in shifting_views(self.node, self.mod.memo):
            return True
        if any(_WEIGHT_AXIS.search(o) for o in src.origins or () if isinstance(o, str)):
            # a layer's weight (or a piece of it) reshaped: weight surgery lays memory out as it needs
            # (``k.reshape(heads, -1, depth)`` of a ``(depth, depth_kv)`` half to interleave keys and values), a
            # size named like an axis need not be that axis
            return True
        # the sizes as the function knows them (``-1@12`` bound to ``-1@11`` by a product reads as ``-1@11``)
        src, out = Shape(tuple(sdims), src.origins, src.label, src.meta), Shape(tuple(odims), out.origins, out.label)
        unclear = False
        for j, d in enumerate(odims):
            s = d.as_sym()
            if s is None or sdims.count(d) != 1 or odims.count(d) != 1:
                continue
            i = sdims.index(d)
            pre_s = const(1)
            for x in sdims[:i]:
                pre_s = pre_s * x
            pre_o = const(1)
            for x in odims[:j]:
                pre_o = pre_o * x
            if pre_s == pre_o or self.env.resolve(pre_s) == self.env.resolve(pre_o):
                continue
            moved_axes = moved_factor(pre_s, pre_o, sdims)
            if moved_axes and is_pattern_axis(s) and all(is_pattern_axis(a) for a in moved_axes):
                continue  # axes an einsum or einops pattern named on tensors of unknown shape may be one axis
            if moved_axes is None:
                factor = literal_factor(pre_s, pre_o)
                if factor is not None and self.role(src, i) == BATCH:
                    # the batch moved across a literal factor (a bidirectional RNN's states viewed
                    # `(batch, -1)`): the examples are mixed, whatever the sizes
                    self.diag(node, "SHP109",
                              f"{_view_word(node)} moves "
                              f"the batch axis {qd(d)} across a factor of {factor}: "
                              f'"{src}" cannot become "{out}" without mixing examples',
                              notes=(axis_origin_note(src, i, src.label or "the input", self.env),),
                              help="move the batch axis first (`.transpose(0, 1)` or `.permute(...)`), "
                                   "then reshape")
                    return False
                unclear = True  # an axis moved by a factor we cannot name: memory reinterpreted on purpose?
                continue
            whole = [x for x in sdims if any(x == Expr([(((a, 1),), 1)]) for a in moved_axes)]
            together = const(1)
            for a in moved_axes:  # with their powers: ``H*H`` of a square grid moved as a whole
                power = abs(dict(pre_o.terms[0][0]).get(a, 0) - dict(pre_s.terms[0][0]).get(a, 0))
                for _ in range(max(1, power)):
                    together = together * Expr([(((a, 1),), 1)])
            if not whole and together not in sdims and not _held_by(sdims, moved_axes) \
                    and _prefix_shrinks(pre_s, pre_o, moved_axes):
                # a factor no axis of the source holds moved to a later axis (``group_size`` of ``t // group_size``
                # into the features, past the heads): frames regrouped on purpose; no proof (a factor moved earlier,
                # the heads of ``C // n_head`` put before the positions, or one of the source's, is the bug)
                unclear = True
                continue
            moved = [x for x in sdims[:i] if x not in odims[:j]] or [x for x in sdims[i + 1:] if x in odims[:j]]
            other = whole[0] if whole else moved[0] if moved else None
            self.report_reorder(node, f"moves axis {qd(d)} across {qd(other) if other is not None else 'other axes'}",
                                src, out, i)
            return False
        # a size moved by a factor that names no whole axis (``l // blocks``) is no proof; a target made of whole
        # source axes that are not next to each other is
        merged = merged_across(sdims, odims)
        if merged is not None:
            a, c, b = merged
            self.report_reorder(node, f"merges axis {qd(sdims[a])} with {qd(sdims[c])} across {qd(sdims[b])}", src,
                                out, a, help="move the axes to merge next to each other first (`.transpose(...)` or "
                                             "`.permute(...)`), then reshape")
            return False
        return unclear

    def report_reorder(self, node, what: str, src: Shape, out: Shape, i: int,
                       help="permute or transpose the axes into the target order first, then reshape") -> None:
        """SHP109 at the view ``node``: it ``what`` (moves an axis, merges two), so ``src`` cannot become ``out``."""
        self.diag(node, "SHP109", f'{_view_word(node)} {what}: "{src}" cannot become "{out}" without reordering data',
                  notes=(axis_origin_note(src, i, src.label or "the input", self.env),), help=help)

    def check_reshape_tail(self, src: Shape, out: Shape, sdims, odims, node) -> None:
        """A view whose leading axes are unknown (``data.permute(0, 3, 2, 1).view(3, H, W)`` of a tensor whose
        first axes were never read) still keeps its trailing axes in their order: an axis known on both sides,
        with only known axes after it, has the same elements after it in a view that does not reorder data.
        Where they differ by whole axes of the source, the axis moved across them: SHP109."""
        if src.get_meta("reinterpreted") or node in shifting_views(self.node, self.mod.memo):
            return
        ks = max(i for i, d in enumerate(sdims) if isinstance(d, Unknown)) + 1 \
            if any(isinstance(d, Unknown) for d in sdims) else 0
        ko = max(j for j, d in enumerate(odims) if isinstance(d, Unknown)) + 1 \
            if any(isinstance(d, Unknown) for d in odims) else 0
        tail_s, tail_o = sdims[ks:], odims[ko:]
        src, out = Shape(tuple(sdims), src.origins, src.label, src.meta), Shape(tuple(odims), out.origins, out.label)
        for j, d in enumerate(tail_o):
            s = d.as_sym()
            if s is None or tail_s.count(d) != 1 or tail_o.count(d) != 1 or sdims.count(d) != 1:
                continue
            i = tail_s.index(d)
            post_s, post_o = const(1), const(1)
            for x in tail_s[i + 1:]:
                post_s = post_s * x
            for x in tail_o[j + 1:]:
                post_o = post_o * x
            if post_s == post_o or self.env.resolve(post_s) == self.env.resolve(post_o):
                continue
            moved_axes = moved_factor(post_s, post_o, tail_s)
            if not moved_axes or is_pattern_axis(s) and all(is_pattern_axis(a) for a in moved_axes):
                return  # moved by a factor that names no whole axis: memory reinterpreted on purpose?
            if not _held_by(sdims, moved_axes) and _prefix_shrinks(post_o, post_s, moved_axes):
                return  # a factor no axis of the source holds, gained after the axis: frames regrouped on purpose
            whole = [x for x in tail_s if any(x == Expr([(((a, 1),), 1)]) for a in moved_axes)]
            other = whole[0] if whole else None
            self.report_reorder(node, f"moves axis {qd(d)} across {qd(other) if other is not None else 'other axes'}",
                                src, out, ks + i)
            return

    def clean_view(self, sdims, odims) -> bool:
        """Each target axis is a source axis, a product of adjacent source axes, or part of a split of one."""
        def eq(a, b):
            return self.env.resolve(a) == self.env.resolve(b)

        s = [d for d in sdims if d.value != 1]
        o = [d for d in odims if d.value != 1]
        i = j = 0
        while i < len(s) and j < len(o):
            if eq(s[i], o[j]):
                i, j = i + 1, j + 1
                continue
            done = False
            acc = s[i]
            for k in range(i + 1, min(len(s), i + 8)):  # merge s[i..k] into o[j]
                acc = acc * s[k]
                if eq(acc, o[j]):
                    i, j, done = k + 1, j + 1, True
                    break
            if done:
                continue
            acc = o[j]
            for k in range(j + 1, min(len(o), j + 8)):  # split s[i] into o[j..k]
                acc = acc * o[k]
                if eq(acc, s[i]):
                    i, j, done = i + 1, k + 1, True
                    break
            if not done:
                return False
        return i == len(s) and j == len(o)

    # -- user code ---------------------------------------------------------------------------------

def shifting_views(fn, memo) -> frozenset:
    """The ``view``/``reshape`` calls of ``fn`` whose result loses its first row next (``x.view(b, h, n + 1, m)[:,
    :, 1:]``, or ``x = x.reshape(...)`` then ``x = x[1:, ...]``): the relative shift of Transformer-XL, where
    memory viewed with two sizes swapped is the shift itself, not an axis moved by mistake. Read once per
    function (the memo's ``shifting``)."""
    return per_node(memo.shifting, fn, lambda: frozenset(_shifting_views(fn)))


def _shifting_views(fn):
    def drops_first_row(sub: ast.Subscript) -> bool:
        parts = sub.slice.elts if isinstance(sub.slice, ast.Tuple) else [sub.slice]
        return any(isinstance(p, ast.Slice) and isinstance(p.lower, ast.Constant) and p.lower.value == 1
                   and p.upper is None and p.step is None for p in parts)

    def is_view(node) -> bool:
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in ("view", "reshape")

    body = [n for n in ast.walk(fn) if isinstance(n, ast.stmt)]
    for node in ast.walk(fn):
        if isinstance(node, ast.Subscript) and is_view(node.value) and drops_first_row(node):
            yield node.value
    for stmt in body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and is_view(stmt.value)):
            continue
        name = stmt.targets[0].id
        after = [s for s in body if isinstance(s, ast.Assign) and s.lineno > stmt.lineno]
        nxt = min(after, key=lambda s: s.lineno, default=None)
        if nxt is not None and isinstance(nxt.value, ast.Subscript) and isinstance(nxt.value.value, ast.Name) \
                and nxt.value.value.id == name and drops_first_row(nxt.value):
            yield stmt.value


def _view_word(node) -> str:
    """``view`` or ``reshape``: how the call that a SHP109 message names is spelled."""
    return "view" if "view" in str(getattr(getattr(node, "func", None), "attr", "")) else "reshape"


def merged_across(sdims, odims) -> tuple | None:
    """Where each target size is the product of whole source axes, all of them named, distinct and used once, the
    first target axis made of axes that are not next to each other: ``(a, c, b)``, source axes ``a`` and ``c``
    merged across ``b`` (``(bs, n, blocks, d)`` viewed ``(bs * blocks, n, d)``). None where the sizes do not
    say (a literal, a size that is no product of whole axes)."""
    if any(not isinstance(d, Expr) or d.value is not None for d in list(sdims) + list(odims)) \
            or len(set(sdims)) != len(sdims) or len(sdims) > 8:
        return None
    left = list(range(len(sdims)))
    groups = []
    for d in odims:
        found = None
        for k in (1, 2, 3):
            for combo in combinations(left, k):
                p = const(1)
                for i in combo:
                    p = p * sdims[i]
                if p == d:
                    found = combo
                    break
            if found is not None:
                break
        if found is None:
            return None
        groups.append(found)
        left = [i for i in left if i not in found]
    if left:
        return None
    for g in groups:
        if len(g) > 1 and g[-1] - g[0] + 1 != len(g):
            return g[0], g[-1], next(i for i in range(g[0], g[-1]) if i not in g)
    return None


def _forced_ones(sdims, odims) -> list:
    """The indices of source axes that a view's element count forces to be 1: whole axes of one name each,
    absent from the target, whose product is what the source has more than the target (``(n, p, xy)`` viewed
    as ``(n, xy)`` holds only when ``p`` is 1). Empty when there are none."""
    ps, po = const(1), const(1)
    for d in sdims:
        ps = ps * d
    for d in odims:
        po = po * d
    if ps == po:
        return []
    q = exact_quotient(ps, po)
    if q is None:
        return []
    alone = [i for i, d in enumerate(sdims) if d.as_sym() is not None and sdims.count(d) == 1
             and not any(d.as_sym() in _symbols(o) for o in odims)]
    prod = const(1)
    for i in alone:
        prod = prod * sdims[i]
    if prod == q:
        return alone
    return [i for i in alone if sdims[i] == q][:1]


def _symbols(e: Expr) -> set:
    return {a for mono, _ in e.terms for a, _p in mono}


def literal_factor(pre_s: Expr, pre_o: Expr) -> str | None:
    """``"2"`` when the two prefixes differ by a literal factor only (``2*n`` against ``n``)."""
    if len(pre_s.terms) != 1 or len(pre_o.terms) != 1:
        return None
    (ms, cs), (mo, co) = pre_s.terms[0], pre_o.terms[0]
    if ms != mo or cs == co or not cs or not co:
        return None
    ratio = Fraction(cs) / Fraction(co)
    return str(ratio if ratio > 1 else 1 / ratio)


# the origin of an axis of a library layer's weight read as an attribute (``_expressions._weight``), or of a piece
# of one: "`out_features` of the `Linear` built at model.py:12"
_WEIGHT_AXIS = re.compile(r"`\w+` of the `\w+` built at ")


def _held_by(sdims, factors) -> bool:
    """Does an axis of the source hold one of the ``factors`` (``num_head`` of ``batch_size*num_head``)?"""
    held = {x for d in sdims if isinstance(d, Expr) for x in d.symbols()}
    return any(a in held for a in factors)


def _prefix_shrinks(pre_s: Expr, pre_o: Expr, factors) -> bool:
    """Does the target's prefix lack the ``factors`` the source's has (they moved past the axis, to a later one)?"""
    if len(pre_s.terms) != 1 or len(pre_o.terms) != 1:
        return False
    ps, po = dict(pre_s.terms[0][0]), dict(pre_o.terms[0][0])
    return all(po.get(a, 0) < ps.get(a, 0) for a in factors)


def moved_factor(pre_s: Expr, pre_o: Expr, sdims) -> list | None:
    """The source axes by which the two prefixes differ, when one prefix is the other times
    whole symbolic axes of the source (an axis moved across them); None when undecidable."""
    if len(pre_s.terms) != 1 or len(pre_o.terms) != 1:
        return None
    (ms, cs), (mo, co) = pre_s.terms[0], pre_o.terms[0]
    if cs != co:
        return None
    ps = dict(ms)
    po = dict(mo)
    diff = {a: po.get(a, 0) - ps.get(a, 0) for a in set(ps) | set(po)}
    diff = {a: d for a, d in diff.items() if d}
    if not diff or not (all(d > 0 for d in diff.values()) or all(d < 0 for d in diff.values())):
        return None  # both sides have factors of their own (or a division is involved): cannot tell
    # each factor a symbol, or a quotient that is itself a whole axis of the source (``ch`` of
    # ``ch = width // (3 * n_heads)`` viewed as its own axis)
    if not all(isinstance(a, Sym) or Expr([(((a, 1),), 1)]) in sdims for a in diff):
        return None
    return list(diff)


def axis_origin_note(shape: Shape, i: int, who: str, env: Env) -> str | None:
    if not isinstance(shape, Shape) or i is None:
        return None
    d = shape.axis(i)
    if d is None or isinstance(d, (Unknown, Variadic)):
        return None
    return axis_note(env.resolve(d), i, shape.rank, who, shape.origin(i))

