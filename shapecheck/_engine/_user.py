"""Calls into user code: annotated functions instantiated at the call, unannotated ones analysed.

An annotated callee's axis names are bound afresh at every call (:class:`~shapecheck._core._unify.Bindings`)
and its return annotation instantiated with them. An unannotated callee's body is analysed with the
argument values, silently, depth-limited and remembered per file (:class:`~._memo.ModuleMemo`).
"""

from __future__ import annotations

import ast

from .._core._algebra import Expr
from .._core._ops._registry import OPAQUE
from .._core._shape import ANY_SHAPE, Shape
from .._core._unify import Bindings, bridged_name, instantiate, match_spec
from ._values import ClassRef, FuncRef, ModuleVal, Obj, join
from ._common import MAX_DEPTH, freeze_value
from ._memo import CallKey
from ._signature import signature_of


class UserCalls:
    """The user-code room of :class:`~._walk.FunctionAnalysis`."""

    def construct_user(self, ref: ClassRef, args, kwargs, node):
        if not ref.is_module:  # answered by a dropped module's summary without parsing it again
            return OPAQUE
        cls = ref.cls
        if cls is None:
            return OPAQUE
        return ModuleVal(cls.qualname, None, None, cls, tuple(args), tuple(kwargs.items()))

    def call_module(self, m: ModuleVal, args, kwargs, node):
        if m.children:
            v = args[0] if args else OPAQUE
            if isinstance(v, Obj):  # what a module is called with is a tensor
                v = ANY_SHAPE
            for child in m.children:
                if child.rule is not None and isinstance(v, Shape):
                    v = self.narrowed_by_use(self.layer_input(child), v, None, {})
                v = self.call_module(child, [v], {}, node) if isinstance(v, Shape) else OPAQUE
                if not isinstance(v, Shape) and child.rule is not None and not child.children:
                    v = ANY_SHAPE  # a library layer returns a tensor, whatever we know of it
            if m.repeated and isinstance(v, Shape):  # the same layer again: only a shape it keeps is known
                with self.silenced():
                    again = self.call_module(m.children[0], [v], {}, node)
                v = join(v, again)
            return v
        if m.rule is not None:
            # what a module is called with is a tensor, even when we know nothing else about it
            args = [ANY_SHAPE if isinstance(a, Obj) else a for a in args]
            return self.apply_shape_rule(m.qualname, tuple(args), kwargs, node, known=True, rule=m.rule,
                                   init=m.init_dict, module_q=m.qualname)
        if m.cls is not None:
            fwd = m.cls.find_method("forward")
            if fwd is None:
                return OPAQUE
            sv = self.mod.instance_of(m, self.depth)
            if sv is None:
                return OPAQUE
            return self.call_user(FuncRef("forward", fwd[0], fwd[1], bound_self=sv), args, kwargs, node,
                                  display=f"{m.cls.name}.forward")
        return OPAQUE

    def call_lambda(self, ref: FuncRef, args, kwargs, node):
        """A simple lambda: its body evaluated with the arguments bound (and the closure it saw)."""
        lam = ref.node
        params = [p.arg for p in lam.args.args]
        if len(args) > len(params) or lam.args.vararg or lam.args.kwarg or self.depth >= MAX_DEPTH:
            return OPAQUE
        state = dict(ref.closure or {})
        for p, v in zip(params, args):
            state[p] = v
        for k, v in kwargs.items():
            state[k] = v
        return self.ev(lam.body, state)
    def call_user(self, ref: FuncRef, args, kwargs, node, display=None):
        out = self.call_user_body(ref, args, kwargs, node, display)
        if self.recorder is not None:  # the observer of the shape-rule room sees user calls too
            self.recorder.user_call(node, ref, args, kwargs, out)
        return out

    def call_user_body(self, ref: FuncRef, args, kwargs, node, display=None):
        if ref.is_lambda:
            return self.call_lambda(ref, args, kwargs, node)
        display = display or (f"{ref.bound_self.cls.name}.{ref.name}" if ref.bound_self else ref.name)
        sig = ref.signature()
        if sig is None:  # its module no longer parses
            return OPAQUE
        params = list(sig.params)
        if ref.bound_self is not None and params and not params[0].keyword_only \
                and params[0].arg.arg in ("self", "cls"):
            params = params[1:]
        bound = _bind_arguments(params, args, kwargs)
        inst = _callee_bindings(ref, bound)
        reported = len(self.diags)
        annotated = self.check_arguments(node, display, params, bound, inst)
        elsewhere = self.defined_elsewhere(ref)  # ``layers.py:12`` when the callee is in another file
        if elsewhere and len(self.diags) > reported:
            self.note_definition(reported, display, elsewhere)
        if sig.returns is not None:
            if sig.returns.spec is None:
                return ANY_SHAPE
            out = instantiate(sig.returns.spec, inst)
            where = f", {elsewhere}" if elsewhere else ""
            return Shape(out.dims, (f"return annotation of `{display}`{where}",) * len(out.dims))
        if annotated and sig.returns_written:
            return OPAQUE
        return self.analyse_callee(ref, bound, node, display)

    def check_arguments(self, node, display: str, params, bound: dict, inst: Bindings) -> bool:
        """Match the arguments against the callee's annotations (binding its names in ``inst``); reports
        the first mismatch. Returns whether any parameter has a tensor annotation."""
        annotated = False
        reported = False
        for p in params:
            ann = p.annot
            if ann is None or ann.spec is None:
                continue
            annotated = True
            v = bound.get(p.arg.arg)
            if not isinstance(v, Shape):
                continue
            problems = match_spec(ann.spec, v, self.env, inst, f"argument `{p.arg.arg}`")
            if reported:
                continue  # one diagnostic per call: later arguments were bound against a wrong one
            reported = bool(problems)
            for pr in problems[:1]:
                self.report_argument(node, display, p.arg.arg, ann.spec, v, pr)
        return annotated

    def analyse_callee(self, ref: FuncRef, bound: dict, node=None, display: str = ""):
        """An unannotated callee: its body analysed with these arguments (depth-limited, memoised by
        them), only when a tensor of known shape goes in — otherwise nothing useful comes out. What it
        proves wrong under these shapes is reported by the entry-shape room (``_entries``)."""
        if self.depth >= MAX_DEPTH:
            return OPAQUE
        if not any(isinstance(v, Shape) and not v.is_any for v in bound.values()):
            if ref.bound_self is None or not any(isinstance(v, Shape) for v in ref.bound_self.attrs.values()):
                return OPAQUE
        fn = ref.node  # the body is needed: a dropped module is parsed again here
        if fn is None:
            return OPAQUE
        bound = dict(bound)
        for p in signature_of(fn, ref.info).params:  # what this call leaves to a default is that default
            name = p.arg.arg
            if name not in bound and isinstance(p.default, ast.Constant) and p.annot is None \
                    and (p.default.value is None or type(p.default.value) in (bool, str, float)):
                bound[name] = p.default.value
        try:
            key = CallKey(id(fn), id(ref.bound_self), tuple(sorted((k, freeze_value(v)) for k, v in bound.items())))
            hash(key)
        except TypeError:
            key = None
        memo = self.mod.memo.calls
        if key is not None and key in memo:
            v, diags = memo[key]
            self.report_entry(node, display, diags)
            return v
        if key is not None:
            memo[key] = (OPAQUE, ())  # recursion guard
        sub = type(self)(ref.info, fn, self_val=ref.bound_self, args=dict(bound), depth=self.depth + 1,
                         rules=self.rules)
        sub.env = self.env.copy()
        try:
            rets = sub.run()
        except Exception:
            if self.mod.strict:
                raise
            return OPAQUE
        rets = [r for r in rets if r is not None]
        v = rets[0] if rets else OPAQUE
        for w in rets[1:]:
            v = join(v, w)
        diags = tuple(sub.diags)
        if key is not None:
            memo[key] = (v, diags)
        self.report_entry(node, display, diags)
        return v


def _bind_arguments(params, args, kwargs) -> dict:
    """Parameter name -> the value the call passes (positionally, or by a keyword the callee has)."""
    bound = {}
    for p, v in zip([p for p in params if not p.keyword_only], args):
        bound[p.arg.arg] = v
    names = {p.arg.arg for p in params}
    for k, v in kwargs.items():
        if k in names:
            bound[k] = v
    return bound


def _callee_bindings(ref: FuncRef, bound: dict) -> Bindings:
    """The callee's names bound before its annotations are read: its int parameters and the int
    attributes of its module bridge to axis names of the same spelling."""
    inst = Bindings()
    aliases = ref.axis_aliases
    for k, v in bound.items():
        if isinstance(v, Expr):
            name = bridged_name(k, aliases)
            inst.sizes[name] = v
            inst.where[name] = f"argument `{k}`"
    if ref.bound_self is not None:
        for k, v in ref.bound_self.attrs.items():
            name = bridged_name(k, aliases)
            if isinstance(v, Expr) and name not in inst.sizes:
                inst.sizes[name] = v
                inst.where[name] = f"`self.{k}`"
    return inst
