"""Statements: the flow of states through a function body (branches join, loops widen)."""

from __future__ import annotations

import ast
import re
from contextlib import nullcontext

from .._core._algebra import Expr, const
from .._core._ops._registry import OPAQUE
from .._core._shape import ANY_SHAPE, Shape
from .._core._unify import unnamed_axis, unnamed_size
from .._core._wording import LOCAL, RETURN
from ._values import EMPTY, ONLY_FIRST, FuncRef, ListOf, Obj, QualRef, join, join_states
from ._checks import spec_shape
from ._common import EXPECTS_ERROR, last_name, param_defaults
from ._expressions import SIZE_TEXT
from ._memo import per_node


class Statements:
    """The statement room of :class:`~._walk.FunctionAnalysis`.

    A state maps local names to abstract values; every statement takes a state and returns the
    state after it, or None when no path goes on (a return or a raise)."""

    def block(self, stmts, state):
        """Run statements; returns the state after them, or None when every path returned/raised."""
        for st in stmts:
            if state is None:
                return None
            state = self.stmt(st, state)
        return state

    def stmt(self, st, state):
        handler = _HANDLERS.get(type(st).__name__)
        if handler is None:
            return state  # pass, break, continue, global, nonlocal: no effect on shapes we track
        return getattr(self, handler)(st, state)

    # -- assignments -----------------------------------------------------------------------------
    def stmt_assign(self, st, state):
        if len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) and _reads_one_axis(st.value):
            self.axis_name_hint = st.targets[0].id  # b = x.shape[0]: the axis is named "b"
        if len(st.targets) == 1 and self.unpack_spliced_size(st.targets[0], st.value, state, st):
            return state
        if len(st.targets) == 1 and self.read_axes_pairwise(st.targets[0], st.value, state, st):
            return state
        if len(st.targets) == 1 and self.unpack_sliced_size(st.targets[0], st.value, state, st):
            return state
        before = _updated_in_place(st, state)
        sides = self.grid_side(st, state)
        if sides is not None:
            self.axis_name_hint = None
            for t, v in zip(st.targets, sides):
                self.assign(t, v, state, st)
            return state
        try:
            value = self.ev(st.value, state)
        finally:
            self.axis_name_hint = None
        if not isinstance(value, (Expr, Shape)) and self.rounded_size(st, state):
            # ``c_ = int(2 * c2 * e)`` in a constructor, ``e`` a ratio the engine cannot read: a size it cannot
            # compute, named after the variable and distinct from the other named sizes, as a local a library
            # layer is built with is (``_calls.named_local_sizes``); ``2 * c_`` is not it
            value = self.code_sym(st.targets[0].id)
        if before is not None and isinstance(value, Shape) and value.rank is None and _ends_with(value, before):
            # ``attn = attn + mask`` (or ``attn = add_mask(attn, mask)``) with the mask unknown: the update
            # ``attn += mask`` written out, which keeps ``attn``'s rank (a mask, bias or gate broadcasts into
            # the tensor it updates); each axis is what broadcasting made of it
            value = Shape(value.dims[1:], value.origins[1:] if value.origins else (), None, value.meta)
        elif before is not None and _masking_helper(st.value) and (
                value is OPAQUE or isinstance(value, Shape) and value.rank is None):
            # ``attn = maybe_add_mask(attn, attn_mask)`` with a helper the engine cannot read: a helper named for
            # adding a mask or a bias to its first argument gives back that tensor, its shape kept
            value = before
        for t in st.targets:
            self.assign(t, value, state, st)
        return state

    def read_axes_pairwise(self, target, value, state, st) -> bool:
        """``height, width = x.size(2), x.size(3)``: each target names the axis it reads, as ``height =
        x.size(2)`` does. True when handled."""
        if not (isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts)
                and all(isinstance(t, ast.Name) for t in target.elts) and all(map(_reads_one_axis, value.elts))):
            return False
        values = []
        for t, v in zip(target.elts, value.elts):
            self.axis_name_hint = t.id
            try:
                values.append(self.ev(v, state))
            finally:
                self.axis_name_hint = None
        for t, v in zip(target.elts, values):
            self.assign(t, v, state, st)
        return True

    def rounded_size(self, st, state) -> bool:
        """``c_ = int(2 * c2 * e)`` (or ``round``, ``math.ceil``) in a constructor: one variable set to arithmetic
        of names, attributes and numbers, one of them a size (or an unannotated argument), rounded."""
        v = st.value
        if getattr(self.node, "name", None) != "__init__" or len(st.targets) != 1 \
                or not isinstance(st.targets[0], ast.Name) or not isinstance(v, ast.Call) or len(v.args) != 1 \
                or last_name(v.func) not in ("int", "round", "ceil", "floor") or not isinstance(v.args[0], ast.BinOp):
            return False
        leaves = [n for n in ast.walk(v.args[0]) if isinstance(n, (ast.Name, ast.Attribute))
                  and not isinstance(n.ctx, ast.Store)]
        return all(isinstance(n, (ast.BinOp, ast.Name, ast.Attribute, ast.Constant, ast.operator, ast.expr_context))
                   for n in ast.walk(v.args[0])) and any(isinstance(self.ev(n, state), (Expr, Obj)) for n in leaves)

    def stmt_annassign(self, st, state):
        value = self.ev(st.value, state) if st.value is not None else None
        ann = self.annotation(st.annotation)
        if ann is not None and ann.spec is not None and isinstance(st.target, ast.Name):
            declared = spec_shape(ann.spec, f"annotation, {self.mod.short}:{ann.line}")
            declared = _with_local_sizes(declared, state)
            if isinstance(value, Shape):
                bound = self.check_spec(ann.spec, value, st, f"`{st.target.id}`", LOCAL)
                if declared.rank is not None and (value.rank is not None and value.rank != declared.rank
                                                  or value.rank is None and value.min_rank > declared.rank):
                    # the annotation has another number of axes than the value (reported above): what runs
                    # is the value, so the code after it is checked with the value's shape
                    declared = value.with_label(None)
                elif bound.rank == declared.rank:
                    declared = Shape(tuple(b if isinstance(b, Expr) else d for b, d in zip(bound.dims, declared.dims)),
                                     declared.origins, None, value.meta)
                else:
                    declared = Shape(declared.dims, declared.origins, None, value.meta)
            if st.value is not None:
                # under one member of a union parameter, an annotation written for another member is no
                # evidence: a value the engine cannot see (or of unknown rank) takes no shape from it
                seen = isinstance(value, Shape) and value.rank is not None
                state[st.target.id] = declared if seen or not self.per_member else \
                    value.with_label(None) if isinstance(value, Shape) else ANY_SHAPE
            return state
        if value is not None:
            self.assign(st.target, value, state, st)
        return state

    def stmt_augassign(self, st, state):
        if isinstance(st.op, ast.Add) and isinstance(st.target, ast.Attribute) \
                and isinstance(st.value, (ast.List, ast.Tuple)):
            # ``self.conv += [nn.Sequential(...)]`` on a ``nn.ModuleList()`` attribute: the layers appended
            grow = ast.copy_location(ast.Call(ast.Attribute(st.target, "extend", ast.Load()), [st.value], []), st)
            if self.grow_module_list(grow, state):
                return state
        cur = self.ev(st.target, state)
        rhs = self.ev(st.value, state)
        value = self.binop(st.op, cur, rhs, st)
        if cur is OPAQUE and isinstance(value, Shape) and value.is_any:
            # ``feature -= feature.mean()`` of what a call the engine cannot follow gave: an array does that too
            value = value.with_meta(maybe_array=True)
        if isinstance(cur, Shape) and isinstance(value, Shape) and not isinstance(st.op, ast.MatMult):
            # in place: ``acc += y`` keeps ``acc``'s shape (or raises), whatever is known of ``y``
            value = Shape(cur.dims, cur.origins, None, value.meta)
        self.assign(st.target, value, state, st)
        return state

    def stmt_expr(self, st, state):
        asserted = per_node(self.mod.memo.asserting, st.value, lambda: _shape_assertion_call(st.value))
        if asserted is not None:
            # ``misc.assert_shape(z, [None, self.z_dim])``: a helper that checks a tensor against its sizes (``None``
            # any) is that assertion, wherever it is defined
            return self.stmt_assert(asserted, state)
        self.ev(st.value, state)
        return state

    def stmt_return(self, st, state):
        value = self.ev(st.value, state) if st.value is not None else None
        self.returns.append(value)
        if self.ret_annot is not None and self.ret_annot.spec is not None and isinstance(value, Shape) \
                and not _after_shape_error(value):
            self.check_spec(self.ret_annot.spec, value, st, "the return value", RETURN,
                            persist=False)
        return None

    # -- branches and loops ----------------------------------------------------------------------
    def stmt_if(self, st, state):
        known = self.ev(st.test, state)
        if known is not True and known is not False and not _stops(st.body) and not _stops(st.orelse):
            # ``if in_planes != planes: self.shortcut = nn.Conv2d(in_planes, planes, 1)``: decided by sizes the
            # code names differently (``_expressions.distinct_sizes_test``); not a guard that raises or returns
            known = self.distinct_sizes_test(st.test, state)
        if self.constructor_flag(st.test, residual=False):
            # ``if self.downsampling: identity = self.proj(self.pool(x))``: a name one path rebinds and the other
            # keeps is added later as the callers' flag makes it fit (``_expressions``), whichever path the
            # module's flag takes here
            self.flag_rebound = self.flag_rebound | (_bound_names(st.body) ^ _bound_names(st.orelse))
        if known is True or known is False:  # ``if x.ndim == 2:`` where x is known to have 3 axes
            return self.block(st.body if known else st.orelse, state)
        before = self.env
        # ``if self.residual: return x + self.body(x)``: a branch a constructor's flag opens runs only in a module
        # its callers built with that flag, and they may give it only sizes that fit (``cin == cout``): what it adds
        # judges no two sizes distinct for their names alone (``_expressions``)
        flagged = self.constructor_flag(st.test)
        self.flag_branches += flagged
        self.env = before.copy()
        self.learn_test(st.test, state)
        self.learn_distinct(st.test, state, True)
        receiver = self.self_val
        attrs = dict(receiver.attrs) if receiver is not None else None
        # under a call's shapes (a callee analysed at depth > 0), or in a module built with a flag given
        # (``_driver._run_built_with_flags``), a branch the analysis cannot decide may not be the path that call or
        # that module takes: it proves nothing for it. A test that picks no shape regime (an emptiness check,
        # ``self.training``) is written for the same shapes either way, so what its branch proves holds for the call
        quiet = self.silenced if (self.depth > 0 or self.quiet_undecided) and not _no_regime(st.test) else nullcontext
        with quiet():
            a = self.block(st.body, self.narrowed_branch(st.test, dict(state), True))
        env_a = self.env
        attrs_a = dict(receiver.attrs) if receiver is not None else None
        if receiver is not None:
            receiver.attrs.clear()
            receiver.attrs.update(attrs)
        self.env = before.copy()
        if a is None:  # if d % n != 0: raise / elif a != b: raise: the test is false from here on
            self.learn_test(st.test, state, negated=True)
        self.learn_distinct(st.test, state, False)
        with quiet():
            b = self.block(st.orelse, self.narrowed_branch(st.test, dict(state), False))
        env_b = self.env
        # bindings made in one branch (a name meeting a literal under `if x.shape[-1] == 3`) hold
        # after the if only when the other branch made them too, or returned
        self.env = env_b if a is None else env_a if b is None else env_a.meet(env_b)
        self.flag_branches -= flagged
        if receiver is not None and a is not None:
            # ``if mode == "encoder": self.t = ... else: self.t = ...``: what both branches agree on
            attrs_b = dict(receiver.attrs) if b is not None else {}
            receiver.attrs.clear()
            receiver.attrs.update(_join_attrs(attrs_a, attrs_b))
        if (self.depth > 0 or self.quiet_undecided) and (_returns(st.body) or _returns(st.orelse)):
            self.reporting = False  # under a call's shapes, what follows an early return runs for some calls only
        out = join_states([a, b])
        if a is not None and b is not None:
            for name, v in list(out.items()):
                # ``if not mid_channels: mid_channels = out_channels``: a size, the one given or the other
                kept, new = state.get(name), (a.get(name), b.get(name))
                if v is OPAQUE and kept == Obj(name) and kept in new and self.optional_parameter(ast.Name(id=name)):
                    other = new[1] if new[0] == kept else new[0]
                    out[name] = self.fill_optional(name, other) or v
                elif isinstance(kept, Shape) and kept.rank is not None and kept.rank >= 3 and kept in new \
                        and not all(isinstance(w, Shape) for w in new) and _updates_unknown(st, name):
                    # ``if self.use_rel_pos: attn = add_decomposed_rel_pos(attn, q, ...)`` with a helper the
                    # engine cannot follow: the path that skips the branch keeps ``attn``, and the code after
                    # the if is written for both paths, so it is checked with what that path holds
                    out[name] = kept
        return out

    def stmt_for(self, st, state):
        it = self.ev(st.iter, state)
        elem = self.iter_elem(it)
        pre = dict(state)
        # the first pass is the first iteration, from the state before the loop: what it finds holds (a
        # layer applied to ``x`` by the first block); the second, from the widened state, finds what a later
        # iteration does (one diagnostic per line: the same finding twice is reported once)
        first = len(self.diags)
        s1 = dict(state)
        # ``for layer in self.layers:`` over modules appended in order: the first iteration applies the first
        head = it.first if isinstance(it, ListOf) and it.first is not None else elem
        self.loop_depth += 1
        try:
            self.assign(st.target, head, s1, st)
            s1 = self.block(st.body, s1)
            widened = join_states([pre, s1]) if s1 is not None else pre
            second = len(self.diags)
            s2 = dict(widened)
            self.assign(st.target, elem, s2, st)
            s2 = self.block(st.body, s2)
            self.drop_again(first, second)
            after = join_states([widened, s2]) if s2 is not None else widened
            kept = self.kept_by_later(st, it, s1)
        finally:
            self.loop_depth -= 1
        if kept is not None:
            after = kept
        self.counted_appends(st, state, after)
        return self.block(st.orelse, after) if st.orelse else after

    def constructor_flag(self, test, residual: bool = True) -> bool:
        """Is ``test`` (or its negation) a flag the module's constructor was given for a residual path:
        ``self.residual`` (``skip``, ``shortcut``) set from a parameter whose default is ``True`` or ``False``? Not
        any flag: ``if self.pre_lnorm:`` chooses where a norm goes, and the residual adds on both paths. With
        ``residual`` False, any flag so set (``self.downsampling``)."""
        while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test = test.operand
        sv = self.self_val
        if sv is None or not (isinstance(test, ast.Attribute) and isinstance(test.value, ast.Name)
                              and test.value.id == "self" and (not residual or _RESIDUAL_FLAG.search(test.attr))):
            return False
        init = getattr(sv.cls, "methods", {}).get("__init__")
        if init is None:
            return False
        flags = {p.arg for p, d in param_defaults(init) if isinstance(d, ast.Constant) and isinstance(d.value, bool)}
        return any(isinstance(n, ast.Assign) and isinstance(n.value, ast.Name) and n.value.id in flags
                   and any(isinstance(t, ast.Attribute) and t.attr == test.attr and isinstance(t.value, ast.Name)
                           and t.value.id == "self" for t in n.targets)
                   for n in ast.walk(init))

    def counted_appends(self, st, before, after) -> None:
        """``outs = []`` then ``for _ in range(n): outs.append(...)``: a loop that runs a known number of times
        and appends to a list once in each run leaves it that much longer (``torch.stack(outs)`` has ``n``
        rows; ``torch.cat(outs, -1)`` ``n`` times an element's size)."""
        if any(isinstance(n, (ast.Break, ast.Continue, ast.Return, ast.Raise, ast.Yield, ast.YieldFrom))
               for b in st.body for n in ast.walk(b)):
            return
        count = self.iteration_count(st.iter, before)
        if count is None:
            return
        once = [b.value.func.value.id for b in st.body
                if isinstance(b, ast.Expr) and isinstance(b.value, ast.Call) and len(b.value.args) == 1
                and isinstance(b.value.func, ast.Attribute) and b.value.func.attr == "append"
                and isinstance(b.value.func.value, ast.Name)]
        for name in once:
            had = before.get(name)
            start = const(len(had)) if isinstance(had, tuple) else const(0) if isinstance(had, ListOf) \
                and had.length == EMPTY else had.length if isinstance(had, ListOf) else None
            now = after.get(name)
            if once.count(name) != 1 or not isinstance(start, Expr) or not isinstance(now, ListOf) \
                    or _touched_otherwise(st, name):
                continue
            after[name] = ListOf(now.elem, start + count, now.first, None, now.rest)

    def iteration_count(self, it, state) -> Expr | None:
        """How many times a loop over ``it`` runs: ``range(n)``, ``range(a, b)``, a tuple or list written out; None
        when unknown."""
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range" \
                and "range" not in state and not it.keywords and 1 <= len(it.args) <= 2:
            ends = [self.as_size_sym(self.ev(a, state)) for a in it.args]
            if all(isinstance(e, Expr) for e in ends):
                n = ends[0] if len(ends) == 1 else ends[1] - ends[0]
                return n if n.value is None or n.value >= 0 else None
            return None
        if isinstance(it, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in it.elts):
            return const(len(it.elts))
        return None

    def kept_by_later(self, st, it, s1):
        """``for l in self.conv: x = l(x)`` over a list that surely holds its first layer (a convolution,
        appended outside any loop) and then only layers that keep what the first gives (a norm, an
        activation): the state after the loop is the first iteration's. None when that is not so."""
        if not isinstance(it, ListOf) or it.rest is None or it.first is None or s1 is None \
                or any(isinstance(n, (ast.Break, ast.Continue, ast.Return, ast.Yield, ast.YieldFrom))
                       for b in st.body for n in ast.walk(b)):
            return None
        if it.rest == ONLY_FIRST:
            return s1
        s3 = dict(s1)
        t = st.target
        index = t.elts[0].id if isinstance(t, ast.Tuple) and len(t.elts) == 2 and isinstance(t.elts[0], ast.Name) \
            and isinstance(st.iter, ast.Call) and last_name(st.iter.func) == "enumerate" \
            and isinstance(it.rest, tuple) else None
        saved = self.later_index
        # ``for i, layer in enumerate(self.layers): x = self.layers[i](x)``: the list indexed by the index is a
        # later element too
        self.later_index = (index, it.rest[1]) if index is not None else None
        try:
            with self.silenced():
                self.assign(st.target, it.rest, s3, st)
                s3 = self.block(st.body, s3)
        finally:
            self.later_index = saved
        targets = _target_names(st.target)
        if s3 is None or set(s3) != set(s1) or any(not _same(s3[k], s1[k]) for k in s1 if k not in targets):
            return None
        return s1

    def drop_again(self, first: int, second: int) -> None:
        """Of what a loop's second pass reported (``diags[second:]``), drop what is on a line its first pass
        (``diags[first:second]``) reported on: the same bug, or a consequence of it in the widened state."""
        lines = {d.line for d in self.diags[first:second]}
        if not lines:
            return
        again = [d for d in self.diags[second:] if d.line in lines]
        if again:
            gone = {id(d) for d in again}
            self.diags[second:] = [d for d in self.diags[second:] if id(d) not in gone]
            self.module_fit[:] = [d for d in self.module_fit if id(d) not in gone]

    def stmt_while(self, st, state):
        self.ev(st.test, state)
        pre = dict(state)
        first = len(self.diags)
        self.loop_depth += 1
        try:
            s1 = self.block(st.body, dict(state))  # the first iteration, as for ``for``
            widened = join_states([pre, s1]) if s1 is not None else pre
            second = len(self.diags)
            s2 = self.block(st.body, dict(widened))
        finally:
            self.loop_depth -= 1
        self.drop_again(first, second)
        after = join_states([widened, s2]) if s2 is not None else widened
        return self.block(st.orelse, after) if st.orelse else after

    def stmt_with(self, st, state):
        expects_error = False
        for item in st.items:
            v = self.ev(item.context_expr, state)
            if isinstance(item.context_expr, ast.Call) and _expects_error(item.context_expr.func, self.mod.imports.qualify):
                expects_error = True
            if item.optional_vars is not None:
                self.assign(item.optional_vars, OPAQUE if not isinstance(v, Shape) else v, state, st)
        if not expects_error:
            return self.block(st.body, state)
        with self.silenced():  # `with pytest.raises(...)`: the error is the point of the test
            out = self.block(st.body, state)
        return out if out is not None else dict(state)

    def stmt_try(self, st, state):
        body = self.block(st.body, dict(state))
        outs = [self.block(st.orelse, body) if (st.orelse and body is not None) else body]
        for h in st.handlers:
            hs = join_states([state, body]) if body is not None else dict(state)
            if h.name:
                hs[h.name] = OPAQUE
            outs.append(self.block(h.body, hs))
        joined = join_states(outs)
        if st.finalbody:
            return self.block(st.finalbody, joined if joined is not None else dict(state)) \
                if joined is not None else (self.block(st.finalbody, dict(state)) and None)
        return joined

    def stmt_match(self, st, state):
        self.ev(st.subject, state)
        outs = [self.block(c.body, dict(state)) for c in st.cases]
        return join_states(outs + [state])

    # -- facts and names -------------------------------------------------------------------------
    def stmt_assert(self, st, state):
        self.check_rank_assertion(st, state)
        self.ev(st.test, state)
        self.learn_test(st.test, state)
        return self.narrowed_branch(st.test, state, True)

    def stmt_raise(self, st, state):
        return None

    def stmt_def(self, st, state):
        # a helper defined in the body (``def shape(x): return x.view(bs, -1, heads, d).transpose(1, 2)``)
        # reads the enclosing function's names: those bound once, before the ``def``, are what it sees; the
        # others are values it cannot know (not the module-level names they shadow)
        once, bound = per_node(self.mod.memo.bound_once, self.node, lambda: _bindings(self.node))
        closure = {name: state[name] if name in once and name in state else OPAQUE
                   for name in bound if name != st.name}
        state[st.name] = FuncRef(st.name, st, self.mod, closure=closure)
        return state

    def stmt_class(self, st, state):
        state[st.name] = OPAQUE
        return state

    def stmt_delete(self, st, state):
        for t in st.targets:
            if isinstance(t, ast.Name):
                state.pop(t.id, None)
            elif isinstance(t, ast.Subscript):
                self.set_item(t, None, state)
        return state

    def stmt_import(self, st, state):
        """A function-local ``import torch`` (or ``from torch import nn``) binds the library, as at module level."""
        for a in st.names:
            if isinstance(st, ast.Import):
                q = a.name if a.asname else a.name.split(".")[0]
            elif st.level == 0 and st.module and a.name != "*":
                q = f"{st.module}.{a.name}"
            else:
                q = None
            state[(a.asname or a.name).split(".")[0]] = QualRef(q) if q else OPAQUE
        return state

    def learn_test(self, test, state, negated: bool = False) -> None:
        """``assert C % n == 0`` (and ``if`` tests of the same form, or ``if C % n != 0: raise``) make
        ``C // n`` exact."""
        if negated:
            # ``if x.ndim != 5 or x.shape[1] != 1: raise``: each alternative is false from here on
            if isinstance(test, ast.BoolOp) and not isinstance(test.op, ast.Or):
                return
            want = ast.NotEq
        else:
            want = ast.Eq
        tests = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, (ast.Or if negated else ast.And)) \
            else [test]
        if not negated:
            flag = self.flag_test(tests)
            if flag is not None:  # ``if self.use_res_connect:`` set to ``stride == 1 and inp == oup``
                test_node, state = flag
                tests = test_node.values if isinstance(test_node, ast.BoolOp) and isinstance(test_node.op, ast.And) \
                    else [test_node]
        for t in tests:
            if isinstance(t, ast.Compare) and all(isinstance(op, want) for op in t.ops) and \
                    (want is ast.Eq or len(t.ops) == 1):
                self.learn_equal([t.left] + list(t.comparators), state)
            if (isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], want)
                    and isinstance(t.left, ast.BinOp) and isinstance(t.left.op, ast.Mod)
                    and isinstance(t.comparators[0], ast.Constant) and t.comparators[0].value == 0):
                # ``assert dim % num_heads == 0``: both are sizes, unannotated parameters included
                num = self.as_size_sym(self.ev(t.left.left, state))
                den = self.as_size_sym(self.ev(t.left.right, state))
                if isinstance(num, Expr) and isinstance(den, Expr) and den.value != 0:
                    self.env.add_divisible(num, den)

    def learn_distinct(self, test, state, holds: bool) -> None:
        """``if self.in_channels != self.out_channels:`` (or the ``else`` of ``==``): in that branch the two
        sizes differ, even where the code allows them to be one size elsewhere (``out_channels = in_channels
        if out_channels is None else out_channels``, ``Env.alike``). Only the pair the test names; after the
        ``if`` the branches' facts meet and the pair may be one size again."""
        want, joined = (ast.NotEq, ast.And) if holds else (ast.Eq, ast.Or)
        tests = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, joined) else [test]
        for t in tests:
            if not (isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], want)):
                continue
            if not all(isinstance(n, SIZE_TEXT) for side in (t.left, t.comparators[0]) for n in ast.walk(side)):
                continue
            a, b = (self.as_size_sym(self.ev(side, state)) for side in (t.left, t.comparators[0]))
            sa = a.as_sym() if isinstance(a, Expr) else None
            sb = b.as_sym() if isinstance(b, Expr) else None
            if sa is not None and sb is not None:
                pair = frozenset((sa.name, sb.name))
                if pair in self.env.alike:
                    self.env.alike = self.env.alike - {pair}

    def flag_test(self, tests):
        """``if self.has_skip:`` where ``__init__`` set ``self.has_skip = stride == 1 and c_in == c_out``
        (once, from its own arguments): the test the flag stands for, with a state in which those
        arguments are the sizes they name (the same sizes the layers built from them have). None
        when the test is no such flag."""
        if len(tests) != 1 or self.self_val is None:
            return None
        t = tests[0]
        if not (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"):
            return None
        init = getattr(self.self_val.cls, "methods", {}).get("__init__")
        if init is None:
            return None
        flag = per_node(self.mod.memo.flags, init, lambda: _size_flags(init)).get(t.attr)
        if flag is None:
            return None
        test, names = flag
        return test, {"self": self.self_val, **{name: self.code_sym(name) for name in names}}

    def learn_equal(self, nodes, state) -> None:
        """``assert C == C_`` (or ``if C != C_: raise``): two sizes the code says are equal are one size."""
        values = [self.ev(n, state) for n in nodes]
        if all(isinstance(v, (Expr, Obj)) for v in values):  # ``assert in_ch == out_ch`` of unannotated arguments
            values = [self.as_size_sym(v) for v in values]
        self.bind_equal(values, nodes[0])

    def grid_side(self, st, state):
        """``H = int(math.sqrt(L))`` (``int(L ** 0.5)``, ``math.isqrt(L)``) of a size ``L``: the side of a square
        grid of ``L`` tokens, a size named after the variable (not distinct from the others), with ``L == H * H``
        from here on; the side of the same ``L`` taken again (``W = int(math.sqrt(L))``), or given to two names at
        once (``H = W = ...``), is the same size (a square grid, whose axes no permute tells apart). The value of
        each target, or None for another value."""
        root = _square_root_of(st.value, self.mod.imports.qualify)
        if root is None or not st.targets or not all(isinstance(t, ast.Name) for t in st.targets) \
                or len(st.targets) > 2:
            return None
        n = self.ev(root, state)
        if not isinstance(n, Expr) or n.as_sym() is None or unnamed_axis(n):
            return None  # not of an axis the code never named (``int(math.sqrt(x.shape[-2]))``): left unknown
        n = self.env.resolve(n)
        if n.as_sym() is None:
            return tuple(self.grid_sides[n] for _ in st.targets) if n in self.grid_sides else None
        side = self.code_sym(st.targets[0].id, named=False)
        self.env.bind(n.as_sym(), side * side, self.where(st))
        self.grid_sides = {**self.grid_sides, n: side, side * side: side}
        return tuple(side for _ in st.targets)

    def bind_equal(self, values, node) -> None:
        """Sizes the code says are equal (the values of :meth:`learn_equal`'s nodes, or an axis and the size
        ``assert x.shape == (b, t, c)`` names for it) are one size from here on."""
        sizes = [self.env.resolve(v) for v in values if isinstance(v, Expr)]
        if len(sizes) != len(values):
            return
        first = sizes[0]
        for other in sizes[1:]:
            s = other.as_sym()
            if first.as_sym() is not None and unnamed_size(first) and s is not None and not unnamed_size(other):
                # ``assert x.size(1) == self.in_features``: the axis read off the tensor is the size the code
                # names (a size the code never named binds first, as when a layer meets it)
                self.env.bind(first.as_sym(), other, self.where(node))
                first = other
            elif s is not None and other != first:
                self.env.bind(s, first, self.where(node))
            elif s is None and other.value is not None and first.as_sym() is not None:
                # ``if mask.shape[1] != 1: raise``: the axis is that literal from here on
                self.env.bind(first.as_sym(), other, self.where(node))
                first = other
            elif first.as_sym() is not None and other != first:
                self.env.bind(first.as_sym(), other, self.where(node))


def _size_flags(init) -> dict:
    """The flags ``__init__`` sets once, to a test of its own arguments (``self.has_skip = stride == 1 and
    c_in == c_out``): attribute name -> (the test, the argument names it reads). Read once per
    ``__init__`` (kept in the memo's ``flags``), not at every ``if self.flag:``."""
    params = {a.arg for a in init.args.args[1:] + init.args.kwonlyargs}
    found: dict = {}
    for n in ast.walk(init):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Attribute) \
                and isinstance(n.targets[0].value, ast.Name) and n.targets[0].value.id == "self":
            found.setdefault(n.targets[0].attr, []).append(n.value)
    out = {}
    for attr, values in found.items():
        if len(values) != 1 or not isinstance(values[0], (ast.Compare, ast.BoolOp)):
            continue
        names = frozenset(n.id for n in ast.walk(values[0]) if isinstance(n, ast.Name)) - {"self"}
        if names <= params:
            out[attr] = (values[0], names)
    return out


_HANDLERS = {  # statement type -> the method that runs it
    "Assign": "stmt_assign", "AnnAssign": "stmt_annassign",
    "AugAssign": "stmt_augassign", "Expr": "stmt_expr", "Return": "stmt_return",
    "If": "stmt_if", "For": "stmt_for", "AsyncFor": "stmt_for",
    "While": "stmt_while", "With": "stmt_with", "AsyncWith": "stmt_with",
    "Try": "stmt_try", "TryStar": "stmt_try", "Match": "stmt_match",
    "Assert": "stmt_assert", "Raise": "stmt_raise",
    "FunctionDef": "stmt_def", "AsyncFunctionDef": "stmt_def",
    "ClassDef": "stmt_class", "Delete": "stmt_delete",
    "Import": "stmt_import", "ImportFrom": "stmt_import",
}


def _bindings(fn) -> tuple:
    """The names a function binds exactly once (a parameter, or one assignment; not in its inner
    functions, classes or lambdas), whose value a closure reads is then the one bound, and all the names
    it binds."""
    count: dict = {}
    a = fn.args
    for p in a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x is not None]:
        count[p.arg] = count.get(p.arg, 0) + 1
    todo = list(fn.body)
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            count[n.name] = count.get(n.name, 0) + 1
            continue
        if isinstance(n, ast.Lambda):
            continue
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            count[n.id] = count.get(n.id, 0) + 1
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            for name in n.names:
                count[name] = 2
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            for al in n.names:
                name = (al.asname or al.name).split(".")[0]
                count[name] = count.get(name, 0) + 1
        todo.extend(ast.iter_child_nodes(n))
    return frozenset(k for k, v in count.items() if v == 1), frozenset(count)


def _holds(stmts, kinds) -> bool:
    """Whether a branch holds a statement of ``kinds`` (outside nested functions, not in expressions)."""
    todo = list(stmts)
    while todo:
        n = todo.pop()
        if isinstance(n, kinds):
            return True
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.expr)):
            todo.extend(ast.iter_child_nodes(n))
    return False


def _updates_unknown(st: ast.If, name: str) -> bool:
    """One branch of ``st`` (the other empty) updates ``name`` through a function of it, ``name = f(name, ...)`` (or
    names through one call, a method too, ``q, k = self.rotary(q, k, ...)``), and assigns it nowhere else; the test
    reads no rank or size (``if x.ndim == 3: x = to_4d(x)`` tells which shape the code after the if expects)."""
    if bool(st.body) == bool(st.orelse) or _reads_shape(st.test):
        return False
    stores = [n for n in ast.walk(ast.Module(body=st.body + st.orelse, type_ignores=[]))
              if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)]
    if len(stores) != 1:
        return False
    updates = [(n, i) for n in st.body + st.orelse if isinstance(n, ast.Assign) and len(n.targets) == 1
               for i, t in enumerate(n.targets[0].elts if isinstance(n.targets[0], ast.Tuple) else [n.targets[0]])
               if isinstance(t, ast.Name) and t.id == name]
    if len(updates) != 1 or not isinstance(updates[0][0].value, ast.Call):
        return False
    (update, i), call = updates[0], updates[0][0].value
    if isinstance(update.targets[0], ast.Tuple):
        # ``if self.rotary is not None: q, k = self.rotary.apply_rope(q, k, position_ids=...)``: each name given
        # back where it went in
        return len(call.args) >= len(update.targets[0].elts) and isinstance(call.args[i], ast.Name) \
            and call.args[i].id == name
    return isinstance(call.func, ast.Name) and bool(call.args) and isinstance(call.args[0], ast.Name) \
        and call.args[0].id == name


def _reads_shape(node) -> bool:
    """A test that reads a rank or a size (``x.ndim``, ``x.dim()``, ``x.shape``, ``x.size(...)``, ``len(x)``)."""
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute) and n.attr in ("ndim", "shape", "dim", "size", "ndimension"):
            return True
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "len":
            return True
    return False


_EMPTINESS = ("size", "numel", "shape", "len")


def _no_regime(test) -> bool:
    """A test that picks no shape regime: an emptiness check (``mask.size(2) > 0``, ``cache.numel() == 0``,
    ``len(x) > 0``), ``self.training``; either branch is then written for the same shapes, and what it proves under a
    call's shapes holds for that call whenever the branch runs. Not a None check: ``if enc is not None:`` may pick
    the states a layer built under a flag is for (a cross-attention's keys)."""
    if isinstance(test, ast.BoolOp):
        return all(_no_regime(v) for v in test.values)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _no_regime(test.operand)
    if isinstance(test, ast.Attribute) and test.attr == "training":
        return True
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if isinstance(op, (ast.Gt, ast.GtE, ast.Eq, ast.NotEq)) and isinstance(right, ast.Constant) \
                and type(right.value) is int and right.value == 0:
            f = left
            if isinstance(f, ast.Subscript):
                f = f.value
            if isinstance(f, ast.Call):
                f = f.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            return name in _EMPTINESS
    return False


def _stops(stmts) -> bool:
    """Whether a branch holds a ``return`` or a ``raise``."""
    return _holds(stmts, (ast.Return, ast.Raise))


def _returns(stmts) -> bool:
    """Whether a branch holds a ``return`` (not only a ``raise``): its test splits the calls in two."""
    return _holds(stmts, ast.Return)


_UPDATES = (ast.Add, ast.Sub, ast.Mult, ast.Div)


_UPDATE_METHODS = frozenset({"masked_fill", "add", "sub", "mul", "div"})


def _updated_in_place(st: ast.Assign, state) -> Shape | None:
    """``x = x + m`` (or ``m + x``, ``-``, ``*``, ``/``, ``x = x.masked_fill(m, v)``, or ``x = helper(x, m)``) with ``x`` of three or more
    known axes (scores, feature maps, batches of tokens): ``x``'s shape, else None (the caller keeps its rank
    when the result is ``x``'s axes behind an unknown prefix, what broadcasting with an unknown gives)."""
    if len(st.targets) != 1 or not isinstance(st.targets[0], ast.Name):
        return None
    name = st.targets[0].id
    if isinstance(st.value, ast.Call) and isinstance(st.value.func, ast.Attribute) \
            and st.value.func.attr in _UPDATE_METHODS and isinstance(st.value.func.value, ast.Name) \
            and st.value.func.value.id == name:
        # ``scores = scores.masked_fill(mask == 0, -1e9)``: the method form of the update
        cur = state.get(name)
        return cur if isinstance(cur, Shape) and cur.rank is not None and cur.rank >= 3 else None
    if isinstance(st.value, ast.Call):  # ``attn = maybe_add_mask(attn, bias)``: a helper updating ``attn``
        if not any(isinstance(a, ast.Name) and a.id == name for a in st.value.args[:1]):
            return None
        cur = state.get(name)
        return cur if isinstance(cur, Shape) and cur.rank is not None and cur.rank >= 3 else None
    if not isinstance(st.value, ast.BinOp) or not isinstance(st.value.op, _UPDATES):
        return None
    sides = (st.value.left, st.value.right)
    mine = [isinstance(n, ast.Name) and n.id == name for n in sides]
    if mine.count(True) != 1:
        return None
    cur = state.get(name)
    other = sides[1] if mine[0] else sides[0]
    if not isinstance(cur, Shape) or cur.rank is None or cur.rank < 3 or isinstance(other, ast.Constant):
        return None  # a table of fewer axes (``n d``) may well grow a batch axis: ``x = x + batched``
    return cur


# a helper that adds a mask or a bias to the tensor it is given: ``maybe_add_mask``, ``apply_mask``, ``add_bias``
# (not one named for positions: ``add_rel_pos`` may be written for one rank and reshape another)
_MASKING = re.compile(r"(maybe_)?(add|apply)_(\w+_)?(mask|bias)")


def _masking_helper(node) -> bool:
    """``helper(x, ...)`` with a helper named for adding a mask or a bias (``_MASKING``)."""
    if not isinstance(node, ast.Call):
        return False
    return bool(_MASKING.fullmatch(last_name(node.func)))


def _ends_with(value: Shape, before: Shape) -> bool:
    """The value is the tensor's axes behind an unknown prefix (what broadcasting with an unknown gives)."""
    tail = value.dims[value.variadic_index + 1:] if value.variadic_index is not None else ()
    return value.variadic_index == 0 and len(tail) == before.rank


def _reads_one_axis(node) -> bool:
    """``x.shape[i]``, ``x.size(i)`` or ``x.size()[i]`` with a constant ``i``."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, (ast.Constant, ast.UnaryOp)):
        base = node.value
        return isinstance(base, ast.Attribute) and base.attr == "shape" or \
            isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute) and base.func.attr == "size"
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "size" \
        and len(node.args) == 1 and isinstance(node.args[0], (ast.Constant, ast.UnaryOp))


def _with_local_sizes(declared: Shape, state) -> Shape:
    """A name in a local annotation that is a size variable of the function (``NR = rays.size(0)`` then
    ``x: Float[Tensor, "NR 3 3"]``) is that size, not a new axis."""
    mapping = {}
    for d in declared.dims:
        for s in d.symbols() if isinstance(d, Expr) else ():
            v = state.get(s.name)
            if isinstance(v, Expr) and s not in v.symbols():
                mapping[s] = v
    if not mapping:
        return declared
    dims = tuple(d.subst(mapping) if isinstance(d, Expr) else d for d in declared.dims)
    return Shape(dims, declared.origins, declared.label, declared.meta)


def _join_attrs(a: dict, b: dict) -> dict:
    """Attributes after two branches: an attribute set in one branch only keeps that value (it is read
    where that branch ran); one set in both is what the two values agree on."""
    out = dict(b)
    for k, v in a.items():
        out[k] = join(v, b[k]) if k in b else v
    return out


def _after_shape_error(value: Shape) -> bool:
    """Was ``value`` computed from an operation whose shapes did not fit (reported there)? What is known of
    it comes from the other operands only (``failed + y`` has ``y``'s axes), so an annotation it then
    contradicts is that one bug again."""
    return any(c.startswith("SHP1") for c in value.get_meta("after_error") or ())


_RESIDUAL_FLAG = re.compile(r"resid|(?:^|_)res(?:$|_)|skip|shortcut|identity", re.I)


def _touched_otherwise(st, name: str) -> bool:
    """Does a loop's body change the list ``name`` other than by appending to it at its top level: an append
    under a condition, an ``extend``, a ``pop``, an assignment?"""
    top = {id(b.value) for b in st.body if isinstance(b, ast.Expr)}
    for n in ast.walk(ast.Module(body=st.body, type_ignores=[])):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name) \
                and n.func.value.id == name and (n.func.attr != "append" or id(n) not in top):
            return True
        if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = n.targets if isinstance(n, (ast.Assign, ast.Delete)) else [n.target]
            if any(isinstance(t, ast.Name) and t.id == name or isinstance(t, ast.Subscript)
                   and isinstance(t.value, ast.Name) and t.value.id == name for t in targets):
                return True
    return False


def _target_names(target) -> frozenset:
    """The names a loop's target binds (``i, layer`` of ``enumerate``)."""
    return frozenset(n.id for n in ast.walk(target) if isinstance(n, ast.Name))


def _same(a, b) -> bool:
    """The same value, a tensor by its sizes alone."""
    if isinstance(a, Shape) and isinstance(b, Shape):
        return a.dims == b.dims
    return a == b


_SHAPE_ASSERTING = frozenset({"assert_shape", "check_shape"})


def _shape_assertion_call(node) -> ast.Assert | None:
    """``assert_shape(x, (n, c, t))`` (also ``misc.assert_shape``, ``check_shape``) with ``x`` a name and the sizes
    written out: the statement ``assert x.shape == (n, c, t)``, placed where the call is; else None."""
    if not isinstance(node, ast.Call) or len(node.args) != 2 or node.keywords:
        return None
    f = node.func
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
    x, sizes = node.args
    if name not in _SHAPE_ASSERTING or not isinstance(x, ast.Name) or not isinstance(sizes, (ast.Tuple, ast.List)) \
            or any(isinstance(e, ast.Starred) for e in sizes.elts):
        return None
    shape = ast.copy_location(ast.Attribute(value=x, attr="shape", ctx=ast.Load()), node)
    test = ast.copy_location(ast.Compare(left=shape, ops=[ast.Eq()], comparators=[sizes]), node)
    ast.fix_missing_locations(test)
    return ast.copy_location(ast.Assert(test=test, msg=None), node)


def _expects_error(func, qualify) -> bool:
    """``pytest.raises``, or a test case's ``self.assertRaises`` / ``self.assertRaisesRegex`` (a context the code
    enters to see its body fail)."""
    if qualify(func) in EXPECTS_ERROR:
        return True
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self" \
        and func.attr in ("assertRaises", "assertRaisesRegex", "assertRaisesRegexp")


def _bound_names(stmts) -> frozenset:
    """The names the statements assign to (``identity = ...``, ``identity, idx = ...``)."""
    out = set()
    for st in stmts:
        for n in ast.walk(st):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                out.add(n.id)
    return frozenset(out)


def _square_root_of(node, qualify):
    """``L`` of ``int(math.sqrt(L))``, ``int(np.sqrt(L))``, ``int(L ** 0.5)``, ``round(...)`` of those, or
    ``math.isqrt(L)``; else None."""
    if not (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords):
        return None
    inner = node.args[0]
    if qualify(node.func) == "math.isqrt":
        return inner
    if not (isinstance(node.func, ast.Name) and node.func.id in ("int", "round")):
        return None
    if isinstance(inner, ast.Call) and len(inner.args) == 1 and qualify(inner.func) in ("math.sqrt", "numpy.sqrt"):
        return inner.args[0]
    if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Pow) and isinstance(inner.right, ast.Constant) \
            and inner.right.value == 0.5:
        return inner.left
    return None
