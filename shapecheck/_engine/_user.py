"""Calls into user code: annotated functions instantiated at the call, unannotated ones analysed.

An annotated callee's axis names are bound afresh at every call (:class:`~shapecheck._core._unify.Bindings`)
and its return annotation instantiated with them. An unannotated callee's body is analysed with the
argument values, silently, depth-limited and remembered per file (:class:`~._memo.ModuleMemo`).
"""

from __future__ import annotations

import ast
from contextlib import contextmanager
from dataclasses import replace

from .._core._algebra import Expr, sym
from .._core._ops._registry import OPAQUE
from .._core._roles import RoleOrigin
from .._core._shape import ANY_SHAPE, UNKNOWN, Shape, Unknown
from .._core._unify import Bindings, bridged_name, instantiate, match_spec
from ._values import (CHOICE_MODULE, Choice, ClassRef, DictOf, FuncRef, ModuleVal, Obj, QualRef, join,
                      sequential_chain)
from ._common import MAX_DEPTH, RULELESS_MODULES, after_error, freeze_value, literal_int, own_nodes, sanitize
from ._memo import CallKey, per_node
from ._narrow import own_tensor
from ._signature import signature_of


# recurrent layers: they take a tensor or a ``PackedSequence``
_TAKES_PACKED = frozenset({"RNN", "LSTM", "GRU"})


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
        if m.qualname == CHOICE_MODULE:
            if not isinstance(node, ast.Call):  # the chain's element (``a if flag else b``) where it is built
                node = ast.copy_location(ast.Call(func=ast.Name(id="_", ctx=ast.Load()), args=[], keywords=[]), node)
            results = self.call_choice(Choice(m.init_dict["options"]), args, kwargs, node, {})
            v = results[0]
            for w in results[1:]:
                v = join(v, w)
            return v
        if m.unknown_after and not m.children:
            return self.sequential_tail(m, node)
        if m.children:
            v = args[0] if args else OPAQUE
            if isinstance(v, Obj):  # what a module is called with is a tensor
                v = ANY_SHAPE
            # a chain broken whatever it is given was reported where it is built: here only its first layer
            # meets the input
            broken = m.written_out and self.reporting and bool(self.chain_problems(m, [node] * len(m.children)))
            for i, child in enumerate(m.children):
                if broken and i == 1:
                    return OPAQUE  # what the chain gives is unknown: one bug, one report
                if child.rule is not None and (isinstance(v, Shape) or v is OPAQUE):
                    v = self.layer_argument(child, v, None, {})
                before = after_error([v])
                reported = len(self.diags)
                v = self.call_module(child, [v], {}, node) if isinstance(v, Shape) else OPAQUE
                if isinstance(v, Shape) and after_error([v]) - before:
                    return v  # a layer of the chain failed: what the chain gives is unknown (one bug, one report)
                if len(self.diags) > reported and any(d.code != "reveal" for d in self.diags[reported:]):
                    return OPAQUE  # a layer failed: what the rest makes of its output is unknown
                if not isinstance(v, Shape) and child.rule is not None and not child.children:
                    v = ANY_SHAPE  # a library layer returns a tensor, whatever we know of it
            if m.unknown_after:
                # after the layers it can follow comes one it cannot: what the layers after it give of anything
                return self.sequential_tail(m, node)
            if m.repeated and isinstance(v, Shape):  # the same layer again: only a shape it keeps is known
                later = m.children[0] if m.later is None else m.later
                # a later layer may be one of several (the list's first layer, or those a loop appended): what
                # each gives, joined; one that fails on what the first gave is not among the later ones (ResNet's
                # stage: the first block strides and widens, the blocks appended after it keep what it gave)
                options = later.options if isinstance(later, Choice) else (later,)
                again = ANY_SHAPE
                if all(isinstance(o, ModuleVal) for o in options):
                    outs = [self.trial_call(o, v, node) for o in options]
                    fit = [out for out, failed in outs if not failed]
                    if fit and all(isinstance(o, Shape) for o in fit):
                        again = fit[0]
                        for o in fit[1:]:
                            again = join(again, o)
                v = join(v, again)
            return v
        if m.rule is not None:
            # what a module is called with is a tensor, even when we know nothing else about it: also what a call
            # the engine cannot follow gave (``self.head(self.encoder(x))``), but for a recurrent layer, which
            # also takes a packed sequence
            packed = m.qualname.rsplit(".", 1)[-1] in _TAKES_PACKED
            args = [ANY_SHAPE if isinstance(a, Obj) or (a is OPAQUE and i == 0 and not packed) else a
                    for i, a in enumerate(args)]
            reported = len(self.diags)
            out = self.apply_shape_rule(m.qualname, tuple(args), kwargs, node, known=True, rule=m.rule,
                                        init=m.init_dict, module_q=m.qualname)
            self.name_built_layer(m, node, reported)
            return _output_named(m, out)
        if m.cls is not None:
            fwd = m.cls.find_method("forward")
            if fwd is None and getattr(m.cls, "extended_layer", None) is not None:
                # a library layer's subclass that keeps its ``forward``: the layer its constructor built
                layer = self.extended(self.mod.instance_of(m, self.depth))
                return self.call_module(layer, args, kwargs, node) if layer is not None else OPAQUE
            if fwd is None:
                chain = sequential_chain(self.mod.instance_of(m, self.depth)) \
                    if getattr(m.cls, "is_sequential", False) else None
                if chain is not None:
                    return self.call_module(chain, args, kwargs, node)
                return OPAQUE
            sv = self.mod.instance_of(m, self.depth)
            if sv is None:
                return OPAQUE
            return self.call_user(FuncRef("forward", fwd[0], fwd[1], bound_self=sv), args, kwargs, node,
                                  display=f"{m.cls.name}.forward", layer=True)
        if m.qualname in RULELESS_MODULES and not m.children:
            # a library module without a shape rule: what it gives is unknown, its call is the lint rules'
            return self.run_lint_rules(m.qualname, node, tuple(sanitize(a) for a in args),
                                       {k: sanitize(v) for k, v in kwargs.items()}, OPAQUE, m.init_dict)
        return OPAQUE

    def name_built_layer(self, m: ModuleVal, node, start: int) -> None:
        """A layer that refuses its input where it is applied (``self.key(x)``), built on another line: the
        findings since ``start`` at that call say where it was built, the sizes it takes were chosen there
        (a finding under a caller's shapes is reported at the caller, far from both)."""
        if m.built_at is None or not isinstance(node, ast.Call) or m.built_at.endswith(f":{node.lineno}"):
            return
        note = f"`{ast.unparse(node.func)}` is {m.built_label}"
        for i in range(start, len(self.diags)):
            d = self.diags[i]
            if d.code == "SHP107" and d.line == node.lineno and note not in d.notes:
                self.diags[i] = replace(d, notes=d.notes + (note,))
                # the same finding, for what tells a module's misfit input apart (``module_fit`` holds it by identity)
                self.module_fit[:] = [self.diags[i] if f is d else f for f in self.module_fit]

    def check_chain(self, seq: ModuleVal, node) -> None:
        """``nn.Sequential(a, b, c)`` of library layers, where it is built: each layer takes what the one
        before it gives, whatever the chain is given (``Conv1d(inter, c)`` then ``BatchNorm1d(inter)``), so
        what a later layer finds wrong is reported on that layer, once, here (not where the chain is called)."""
        if self.reporting:
            self.diags.extend(self.chain_problems(seq, node.args))

    @contextmanager
    def trial_run(self):
        """A run whose findings are collected in the list it yields and reported nowhere, and whose sizes bound
        (an einops pattern's axes) are forgotten: not part of the dataflow."""
        kept, kept_fit, kept_reporting, recorder = self.diags, len(self.module_fit), self.reporting, self.recorder
        self.diags, self.reporting, self.recorder = [], True, None
        kept_env, self.env = self.env, self.env.copy()
        try:
            yield self.diags
        finally:
            self.diags, self.reporting, self.recorder, self.env = kept, kept_reporting, recorder, kept_env
            del self.module_fit[kept_fit:]

    def trial_call(self, m: ModuleVal, v: Shape, node) -> tuple:
        """``(what m gives v, whether it found something wrong with it)``, as a trial run."""
        with self.trial_run() as found:
            out = self.call_module(m, [v], {}, node)
            return out, any(d.code != "reveal" for d in found) or isinstance(out, Shape) and bool(
                after_error([out]) - after_error([v]))

    def chain_problems(self, seq: ModuleVal, nodes) -> list:
        """What a layer after the first of ``seq`` (library layers only) finds wrong with what the layers
        before it give an input of unknown shape: wrong for every input. Each reported on its node."""
        if len(seq.children) < 2 or seq.repeated or any(not _library_layer(c) for c in seq.children):
            return []
        with self.trial_run() as found:
            # the input as far as the first layer fixes it (``BatchNorm2d(c)``: ``? c ? ?``)
            first = self.layer_input(seq.children[0])
            with self.silenced():
                v = self.call_module(seq.children[0], [first or ANY_SHAPE], {}, nodes[0])
            for child, node in zip(seq.children[1:], nodes[1:]):
                if found:
                    break
                if not isinstance(v, Shape):
                    v = ANY_SHAPE  # a library layer gives a tensor, of a shape the engine could not compute
                v = self.call_module(child, [v], {}, node)
            note = ("in the `nn.Sequential`, it takes what the layers before it give, whatever the chain is given",)
            return [replace(d, notes=d.notes + note) for d in found if d.code != "reveal"]

    def call_lambda(self, ref: FuncRef, args, kwargs, node):
        """A simple lambda: its body evaluated with the arguments bound (and the closure it saw)."""
        lam = ref.node
        params = [p.arg for p in lam.args.args]
        if len(args) > len(params) or lam.args.vararg or lam.args.kwarg or self.depth >= MAX_DEPTH:
            return OPAQUE
        state = dict(ref.closure or {})
        for p, v in zip(params, args):
            state[p] = own_tensor(v, f"{p}@{getattr(node, 'lineno', 0)}:{getattr(node, 'col_offset', 0)}")
        for k, v in kwargs.items():
            state[k] = v
        return self.ev(lam.body, state)
    def call_user(self, ref: FuncRef, args, kwargs, node, display=None, layer: bool = False):
        """``layer``: the callee is a module's ``forward``, called as a layer (``self.norm(x)``)."""
        out = self.call_user_body(ref, args, kwargs, node, display, layer)
        if self.recorder is not None:  # the observer of the shape-rule room sees user calls too
            self.recorder.user_call(node, ref, args, kwargs, out)
        return out

    def call_user_body(self, ref: FuncRef, args, kwargs, node, display=None, layer: bool = False):
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
        if not _binds(sig, params, args, kwargs, node):
            return OPAQUE  # Python refuses the call (a stale demo's arguments): its shapes say nothing
        bound = _bind_arguments(params, args, kwargs)
        names = {p.arg.arg for p in params}
        keywords = tuple((k, v) for k, v in kwargs.items() if k not in names)  # what ``**kwargs`` takes
        extra = tuple(args[len([p for p in params if not p.keyword_only]):])  # what ``*args`` takes
        inst = _callee_bindings(ref, bound)
        reported = len(self.diags)
        annotated = self.check_arguments(node, display, params, bound, inst)
        elsewhere = self.defined_elsewhere(ref)  # ``layers.py:12`` when the callee is in another file
        if elsewhere and len(self.diags) > reported:
            self.note_definition(reported, display, elsewhere)
        if sig.returns is not None:
            if sig.returns.spec is None:
                # ``-> torch.Tensor`` says a tensor and no shape: the body may say which
                out = self.analyse_callee(ref, bound, node, display, layer, extra, keywords) \
                    if not sig.returns.members and not annotated else OPAQUE
                return out if isinstance(out, Shape) else ANY_SHAPE
            out = instantiate(sig.returns.spec, inst)
            where = f", {elsewhere}" if elsewhere else ""
            return Shape(out.dims, (f"return annotation of `{display}`{where}",) * len(out.dims))
        if annotated and sig.returns_written:
            return OPAQUE
        return self.analyse_callee(ref, bound, node, display, layer, extra, keywords)

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

    def analyse_callee(self, ref: FuncRef, bound: dict, node=None, display: str = "", layer: bool = False,
                       extra: tuple = (), keywords: tuple = ()):
        """An unannotated callee: its body analysed with these arguments (depth-limited, memoised by
        them), when a tensor (even of unknown shape), a size or an object goes in, or the module's own
        tensors and layers say what comes out — otherwise nothing useful comes out. What it
        proves wrong under these shapes is reported by the entry-shape room (``_entries``); for a
        module called as a layer, a finding where the module's own tensor met what came in is the
        call's (the module was given an input it was not built for)."""
        if self.depth >= MAX_DEPTH:
            return OPAQUE
        fn = ref.node if extra else None
        if fn is not None and fn.args.vararg is not None \
                and not any(isinstance(v, Shape) and not v.rank for v in extra):
            # ``def uniform_init(*shape): return torch.empty(shape)``: the positional arguments past the named
            # parameters are the tuple ``*shape`` holds (not where one may be a 0-d tensor: ``new_arange(x,
            # lengths.max())`` reads it as a number, which the engine does not follow)
            bound = {**bound, fn.args.vararg.arg: extra}
        # a tensor of known shape goes in, or the module's own parameters, or the library layers it applies,
        # say what comes out
        informative = any(isinstance(v, Shape) and not v.is_any for v in _flat(bound.values())) or \
            ref.bound_self is not None and any(isinstance(v, Shape) or isinstance(v, ModuleVal) and _has_layer(v)
                                               for v in ref.bound_self.attrs.values())
        # ``get_norm_layer("layernorm")``: only names and flags go in, and what may come out is a layer (a
        # class or an instance chosen by the name); nothing else such a call gives is kept
        layer_only = not informative and not any(isinstance(v, (Shape, Expr, Obj)) for v in _flat(bound.values()))
        if layer_only and not ref.gives_layer():  # ``leaky_relu()``: a factory called with its defaults too
            return OPAQUE
        # with only tensors of unknown shape (or sizes) going in, the body may still name axes
        # (``B, N, C = x.shape``) and say what comes out (a convolution, then a permute); what it proves
        # wrong it proves on its own, and is reported there
        fn = ref.node  # the body is needed: a dropped module is parsed again here
        if fn is None:
            return OPAQUE
        pair = per_node(ref.info.memo.defaults, fn, lambda: _default_pair(fn)) \
            if isinstance(node, ast.Call) and len(node.args) >= 2 else None
        if pair is not None and isinstance(node.args[0], ast.Name) and bound.get(pair[0]) == Obj(node.args[0].id) \
                and self.optional_parameter(node.args[0]):
            # ``init_dim = default(init_dim, dim)`` with ``init_dim=None`` a parameter: the size given, or ``dim``
            filled = self.fill_optional(node.args[0].id, bound.get(pair[1]))
            if filled is not None:
                return filled
        kept = _returned_parameter(fn, ref.info) if any(isinstance(v, Obj) for v in bound.values()) else None
        if kept is not None and isinstance(bound.get(kept), Obj):
            # ``config = self._set_model_config(config)``: a callee that gives back the object it was given
            # (having set its fields, perhaps) returns that object
            return bound[kept]
        bound = dict(bound)
        if fn.args.kwarg is not None and fn.args.kwarg.arg not in bound:
            # ``def forward(self, x, **kwargs)``: the keywords no parameter takes, passed on as they came
            # (``self.fn(x, **kwargs)`` gives the wrapped module the ``context=`` its caller gave)
            bound[fn.args.kwarg.arg] = DictOf(keywords)
        for p in signature_of(fn, ref.info).params:  # what this call leaves to a default is that default
            name = p.arg.arg
            if name not in bound and isinstance(p.default, ast.Constant) and p.annot is None \
                    and (p.default.value is None or type(p.default.value) in (bool, str, float)):
                bound[name] = p.default.value
            elif name not in bound and p.annot is None and (literal_int(p.default) or 0) < 0:
                # ``def stable_softmax(t, dim=-1)``: an axis counted from the end, not a size
                bound[name] = literal_int(p.default)
        # a function defined in the caller's body reads the names the caller bound (``_statements.stmt_def``;
        # at a call in that body, as they are at the call: ``_calls.call_value``)
        closure = _closure_values(fn, ref.closure) if isinstance(ref.closure, dict) and not ref.is_lambda else {}
        try:
            key = CallKey(id(fn), id(ref.bound_self), tuple(sorted((k, freeze_value(v)) for k, v in bound.items()))
                          + tuple(sorted((f" closure {k}", freeze_value(v)) for k, v in closure.items())))
            hash(key)
        except TypeError:
            key = None
        memo = self.mod.memo.calls
        if key is not None and key in memo:
            v, diags, fit = memo[key]
            if layer_only:
                return v if isinstance(v, _LAYERS) else OPAQUE
            self.report_entry(node, display, diags, fit if layer else ())
            self.adopt_named_sizes(bound, v)
            return self.fresh_axes(v, {**closure, **bound} if closure else bound, node, ref.bound_self)
        if key is not None:
            memo[key] = (OPAQUE, (), ())  # recursion guard
        sub = type(self)(ref.info, fn, self_val=ref.bound_self, args=dict(bound), depth=self.depth + 1,
                         rules=self.rules, closure=closure)
        related = sub.env.related  # what the callee's file relates
        # the callee's own names for the axes of an input of unknown shape are apart from the caller's and from
        # those the arguments bring in (a skip connection named by an earlier call, given with an unknown image)
        brought: dict = {}
        _dim_syms(tuple(bound.values()), brought, 0, "")
        sub.outer_names = self.outer_names | frozenset(self.dim_names - self.adopted_names) | frozenset(brought)
        sub.env = self.env.copy()
        sub.env.related = related
        sv = ref.bound_self
        if sv is not None and sv.fields:
            # a method of a module: the sizes its constructor named are distinct axes there, under this call's
            # bindings too (``BertOutput(config).dense`` expects ``config.intermediate_size``, which is not
            # the ``config.hidden_size`` features this call gives it), as are the sizes this function names
            sub.env.fields = sub.env.fields | sv.fields
            sub.env.alike = sub.env.alike | sv.alike
            sub.env.defaults = {**sub.env.defaults, **sv.defaults}
            sub.env.read = sub.env.read | sv.read
            sub.env.divisible |= sv.facts
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
        diags = tuple(sub.diags) if informative else ()
        if any(d.code != "reveal" and d.severity == "error" for d in sub.diags) and isinstance(v, Shape):
            v = ANY_SHAPE  # the call failed under these shapes: what it returns is unknown downstream (one bug, one report)
        fit = tuple(i for i, d in enumerate(diags) if any(d is f for f in sub.module_fit))
        if key is not None:
            memo[key] = (v, diags, fit)
        if layer_only:
            return v if isinstance(v, _LAYERS) else OPAQUE
        self.report_entry(node, display, diags, fit if layer else ())
        self.adopt_named_sizes(bound, v)
        return self.fresh_axes(v, {**closure, **bound} if closure else bound, node, ref.bound_self)

    def sequential_tail(self, m: ModuleVal, node):
        """What the layers of a chain after the last one the engine cannot follow give of a tensor of unknown shape
        (a head's ``nn.Linear(d, vocab)`` last: ``... vocab``); OPAQUE when there are none. Nothing is reported: what
        they meet is unknown."""
        if not m.tail:
            return OPAQUE
        v = ANY_SHAPE
        with self.silenced():
            for child in m.tail:
                v = self.call_module(child, [v], {}, node) if isinstance(v, Shape) else OPAQUE
        return v if isinstance(v, Shape) else OPAQUE

    def adopt_named_sizes(self, bound: dict, v) -> None:
        """A size this function names (an argument of its constructor, ``in_dim``) given to a callee as an
        unknown object and made a size there (``Linear(in_dim, hidden)``, a function building
        ``nn.Linear(in_features, out_features)``) is the size this function names: distinct from its other
        named sizes, as if it had built the layer itself."""
        names = {a.name.rsplit(".", 1)[-1] for a in bound.values()
                 if isinstance(a, Obj) and ("." in a.name or a.name in self.size_params)}
        if not names:
            return
        found: set = set()
        _size_names(v, found, 0)
        for name in sorted(names & found):
            self.code_sym(name)

    def fresh_axes(self, v, bound: dict, node, self_val=None):
        """The axes a callee named itself (``B, N, C = x.shape`` on a parameter of unknown shape) are this
        call's own: renamed apart from the caller's names and from other calls' (``B'``), siblings of one
        another only within this call. Axes the arguments (and the module's own tensors) brought in are kept."""
        found: dict = {}
        _dim_syms(v, found, 0)
        own: dict = {}
        _dim_syms(v, own, 0, "axis")
        if not found and not own:
            return v
        keep: dict = {}
        given: dict = {}  # every name the arguments and the module's own values bring in
        for x in list(bound.values()) + (list(self_val.attrs.values()) if self_val is not None else []):
            _dim_syms(x, keep, 0)
            _dim_syms(x, given, 0, "")

        mapping = {}
        for s in own.values():
            if s.name not in given:
                # a name of the callee's own annotations (``scale: Float[Tensor, "batch pos 1"]`` on an input
                # of unknown shape) that nothing the call gave binds: an axis of the callee's namespace,
                # unknown in the caller's, where the same spelling may name another axis
                mapping[s] = UNKNOWN
        tag = f"#{getattr(node, 'lineno', 0)}:{getattr(node, 'col_offset', 0)}"
        for s in found.values():
            if s.name in keep and keep[s.name].kind == s.kind:
                continue  # brought in by the call (an axis the callee named ``n`` itself is not the caller's ``n``)
            key = (id(node), s.name, s.kind)
            new = self.fresh_calls.get(key)
            if new is None:
                name = self.fresh_dim_name(s.name)
                while name is not None and name in given:
                    name = self.fresh_dim_name(name + "'")
                if name is not None:
                    self.adopted_names.add(name)
                new = self.fresh_calls[key] = sym(name, s.kind + tag) if name else UNKNOWN
            mapping[s] = new
        return _renamed(v, mapping, 0) if mapping else v


# what a layer factory gives: a layer's class (a library one, a user one, a function building one), an
# instance, or one of several
_LAYERS = (QualRef, ClassRef, FuncRef, ModuleVal, Choice)


def _dim_syms(v, out: dict, depth: int, kind: str = "dim:") -> None:
    """The symbols whose kind starts with ``kind`` (``dim:...`` by default; ``""``: all) in a value (a
    shape, a size, a tuple of them), by name."""
    if isinstance(v, Shape):
        for d in v.dims:
            _dim_syms(d, out, depth, kind)
    elif isinstance(v, Expr):
        for s in v.symbols():
            if (s.kind or "").startswith(kind):
                out.setdefault(s.name, s)
    elif isinstance(v, tuple) and depth < 4:
        for x in v:
            _dim_syms(x, out, depth + 1, kind)


def _size_names(v, out: set, depth: int) -> None:
    """The names of the symbols from code in a value a callee gave: a size, a shape, a layer's
    constructor arguments (and its children's), the options of a choice."""
    if depth > 6:
        return
    if isinstance(v, Expr):
        out.update(s.name for s in v.symbols() if (s.kind or "") == "code")
    elif isinstance(v, Shape):
        for d in v.dims:
            _size_names(d, out, depth + 1)
    elif isinstance(v, ModuleVal):
        for x in list(v.args) + [x for _k, x in v.kwargs] + [x for _k, x in (v.init or ())] + list(v.children):
            _size_names(x, out, depth + 1)
    elif isinstance(v, Choice):
        for x in v.options:
            _size_names(x, out, depth + 1)
    elif isinstance(v, tuple):
        for x in v:
            _size_names(x, out, depth + 1)


def _renamed(v, mapping: dict, depth: int):
    """The value with its symbols replaced (an axis replaced by UNKNOWN becomes unknown)."""
    if isinstance(v, Shape):
        return Shape(tuple(_renamed(d, mapping, depth) for d in v.dims), v.origins, v.label, v.meta)
    if isinstance(v, Expr):
        hit = v.symbols() & mapping.keys()
        if not hit:
            return v
        if any(isinstance(mapping[s], Unknown) for s in hit):
            return UNKNOWN
        return v.subst(mapping)
    if isinstance(v, tuple) and depth < 4:
        return tuple(_renamed(x, mapping, depth + 1) for x in v)
    return v


def _returned_parameter(fn, info) -> str | None:
    """The parameter that every ``return`` of ``fn`` gives back, never assigned in its body; else None
    (remembered in the memo of ``fn``'s file)."""
    return per_node(info.memo.gives_back, fn, lambda: _find_returned_parameter(fn))


def _find_returned_parameter(fn) -> str | None:
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    names = set()
    for node in own_nodes(fn.body):
        if isinstance(node, ast.Return):
            if not isinstance(node.value, ast.Name):
                return None
            names.add(node.value.id)
        elif isinstance(node, (ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal)):
            return None
    if len(names) != 1:
        return None
    (name,) = names
    a = fn.args
    if name not in {p.arg for p in a.posonlyargs + a.args + a.kwonlyargs}:
        return None
    for node in own_nodes(fn.body):
        if isinstance(node, ast.Name) and node.id == name and not isinstance(node.ctx, ast.Load):
            return None
    return name


def _default_pair(fn) -> tuple | None:
    """``(val, d)`` for a function that gives back its first parameter or its second, and nothing else
    (``def default(val, d): return val if exists(val) else d``, with ``d() if callable(d) else d`` for a
    default that may be a factory); else None."""
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    a = fn.args
    params = [p.arg for p in a.posonlyargs + a.args]
    if len(params) < 2:
        return None
    pair = params[0], params[1]

    def gives(e) -> set | None:
        if isinstance(e, ast.Name) and e.id in pair:
            return {e.id}
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id == pair[1] and not e.args \
                and not e.keywords:
            return {pair[1]}  # ``d()``: a default given as a factory
        if isinstance(e, ast.IfExp):
            x, y = gives(e.body), gives(e.orelse)
            return None if x is None or y is None else x | y
        return None

    returned: set = set()
    for node in own_nodes(fn.body):
        if isinstance(node, ast.Return):
            g = gives(node.value) if node.value is not None else None
            if g is None:
                return None
            returned |= g
        elif isinstance(node, (ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal)):
            return None
        elif isinstance(node, ast.Name) and node.id in pair and not isinstance(node.ctx, ast.Load):
            return None
    return pair if returned == set(pair) else None


def _has_layer(m: ModuleVal) -> bool:
    """A library layer, or a ``Sequential`` holding one."""
    return m.rule is not None or any(_has_layer(c) for c in m.children)


def _flat(values):
    """The values, those of a tuple (``*args``) one by one."""
    for v in values:
        yield from (v if isinstance(v, tuple) else (v,))


def _binds(sig, params, args, kwargs, node) -> bool:
    """False where the call written at ``node`` cannot bind to the callee's parameters: more positional
    arguments than it takes, a parameter given both positionally and by keyword, a keyword it does not
    have. Only a plain call of an undecorated function is judged (no ``*args`` or ``**kw`` at the call; a
    decorator's wrapper may take keywords of its own)."""
    if sig.wrapped or not isinstance(node, ast.Call) or any(isinstance(a, ast.Starred) for a in node.args) \
            or any(k.arg is None for k in node.keywords) \
            or len(node.args) != len(args) or set(kwargs) != {k.arg for k in node.keywords}:
        return True
    positional = [p.arg.arg for p in params if not p.keyword_only]
    if not sig.star_args and len(args) > len(positional):
        return False
    if any(k in positional[:len(args)] for k in kwargs):
        return False
    return sig.star_kwargs or all(k in {p.arg.arg for p in params} for k in kwargs)


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


def _closure_values(fn, closure: dict) -> dict:
    """The variables of the enclosing function that ``fn`` reads and does not bind itself, with their values."""
    a = fn.args
    own = {p.arg for p in a.posonlyargs + a.args + a.kwonlyargs} | {p.arg for p in (a.vararg, a.kwarg) if p}
    read, bound = set(), set()
    for n in ast.walk(fn):
        if isinstance(n, ast.Name):
            (read if isinstance(n.ctx, ast.Load) else bound).add(n.id)
    return {k: closure[k] for k in sorted(read - own - bound) if k in closure}


# the size a library layer gives its output, by the name its constructor takes it under, and what it is called
_OUTPUT_SIZES = (("out_features", "output features"), ("out_channels", "output channels"),
                 ("embedding_dim", "embedding width"))


def _output_named(m: ModuleVal, out):
    """``out`` with the axis a layer sized (a ``Linear``'s features, a convolution's channels) said to come
    from where the layer is built, where nothing else names its origin: a note about that axis far from the
    layer (a class token joined to a patch embedding's output) points at the size chosen there."""
    if m.built_at is None or not isinstance(out, Shape) or out.is_any:
        return out
    init = m.init_dict
    for key, what in _OUTPUT_SIZES:
        size = init.get(key)
        if not isinstance(size, Expr):
            continue
        origins = list(out.origins) if out.origins else [None] * len(out.dims)
        hits = [i for i, d in enumerate(out.dims) if d == size and not origins[i]]
        if len(hits) != 1:
            return out
        text = f"{what} of {m.built_label}"
        role = getattr(origins[hits[0]], "role", None)  # the role its producer gave the axis stays
        origins[hits[0]] = RoleOrigin(text, role) if role is not None else text
        return Shape(out.dims, tuple(origins), out.label, out.meta)
    return out


def _library_layer(m) -> bool:
    """A library layer (with a shape rule), or one of several (``nn.BatchNorm2d(c) if bn else nn.Identity()``)."""
    if m.qualname == CHOICE_MODULE:
        return all(isinstance(o, ModuleVal) and _library_layer(o) for o in m.init_dict["options"])
    return m.rule is not None and not m.children
