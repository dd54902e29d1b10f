"""The function walk: one :class:`FunctionAnalysis` runs one function (or method) from its signature.

The analysis is assembled from rooms, one concern each: statements (``_statements``), assignment
(``_assign``), expressions (``_expressions``), calls (``_calls``), shape rules applied to library
calls (``_shape_rules``), the hand-off to the lint rules (``_lint_rules``), calls into user code
(``_user``) and the checks against annotations (``_checks``). This module holds the state they
share: the function, its signature, the scope's bindings, the diagnostics and whether they are kept.
"""

from __future__ import annotations

import ast
import re
from contextlib import contextmanager

from .._core._algebra import Expr, const
from .._core._annot import AnnotError, TensorAnnot, read_annotation
from .._core._diag import CODES, Diagnostic
from .._core._ops._registry import OPAQUE
from .._core._shape import ANY_SHAPE, UNKNOWN, Shape
from .._core._unify import Bindings, Env, code_size
from ._values import NORM_FACTORIES, ClassRef, Obj, QualRef, SelfVal
from ._assign import Assignment
from ._calls import Calls
from ._checks import Checks, spec_shape
from ._common import SCALAR, param_defaults
from ._dtypes import annotation_dtype
from ._callables import activation_default
from ._expressions import Expressions
from ._lint_rules import LintRuleHandoff
from ._memo import per_node
from ._narrow import Narrowing
from ._roles import RoleInference
from ._containers import Containers
from ._subclass import LayerSubclasses
from ._entries import EntryReports
from ._shape_rules import ShapeRules
from ._signature import signature_of
from ._statements import Statements, _bindings
from ._user import UserCalls


class FunctionAnalysis(Statements, Assignment, Expressions, Calls, ShapeRules, LintRuleHandoff, UserCalls, Checks,
                       Narrowing, Containers, RoleInference, EntryReports, LayerSubclasses):
    """Analyse one function body; ``self_val`` is the receiver of a method, ``args`` the values its
    parameters take at a call (a call into unannotated code), ``report`` whether diagnostics are kept."""

    def __init__(self, mod, node: ast.FunctionDef, *, self_val: SelfVal | None = None, args: dict | None = None,
                 depth: int = 0, report: bool = True, rules=(), closure: dict | None = None):
        self.mod = mod
        self.node = node
        self.self_val = self_val
        self.env = Env()
        self.depth = depth
        self.reporting = report
        self.per_member = False  # analysing under one member of a union parameter
        self.quiet_undecided = False  # report nothing from a branch the analysis cannot decide (``_statements``)
        self.diags: list = []
        # of ``diags``, those where a tensor of the module analysed (``self.g``) met what came in: under a
        # call's shapes, the call gave the module an input it was not built for (``_entries``)
        self.module_fit: list = []
        self.returns: list = []
        self.rules = rules
        self.signature = signature_of(node, mod)
        self.ret_annot: TensorAnnot | None = None
        self.given_args = args or {}
        self.closure = closure or {}  # an inner function analysed on its own: its enclosing functions' names
        self.axis_names: set = set()
        self.param_names: set = set()  # names the parameters' annotations bind
        self.free = Bindings()  # names first met in a return or local annotation -> what they were bound to
        self.dim_names: set = set()
        # the names the callers' analyses gave the axes of their own tensors (a callee analysed under their shapes
        # names its own otherwise: one spelling is one symbol)
        self.outer_names: frozenset = frozenset()
        self.adopted_names: set = set()  # of ``dim_names``, those given to the axes a callee named (``fresh_axes``)
        self.fresh_calls: dict = {}  # (call node, callee's axis) -> this function's name for it (``_user``)
        self.qualname = node.name if self_val is None else f"{self_val.cls.name}.{node.name}"
        self.env.related = per_node(mod.memo.related, mod.tree, lambda: related_names(mod.tree))
        if self_val is not None and self_val.facts:
            self.env.divisible |= self_val.facts
        if self_val is not None:
            self.env.fields = self_val.fields
            self.env.alike = self_val.alike
            self.env.defaults = self_val.defaults
            self.env.read = self_val.read
        # parameters left to None and filled from another size (``if not mid: mid = out``): ``_expressions``
        self.filled: dict = {}
        self.loop_depth = 0  # how many loops the statement being analysed is in (``_statements``)
        # while ``kept_by_later`` runs a loop's body for the elements after the first: the name of an
        # ``enumerate`` index and what those elements fit (``self.layers[i]`` is one of them)
        self.later_index: tuple | None = None
        self.grid_sides: dict = {}  # the side of a square grid of each number of tokens (``_statements.grid_side``)
        self.flag_rebound: frozenset = frozenset()  # names one path under a constructor's flag rebinds
        self.flag_branches = 0  # how many branches a constructor's flag opens the statement is in (``_statements``)
        # an unannotated input read before a later use taught its axes (``self.fused(inputs)`` on an early-return
        # branch before ``self.dense(inputs)``): its shape at the end of the body, for a second run from there
        # (``_lint/_driver._run_later_shapes``)
        self.later_shapes: dict = {}
        # parameters that, used as sizes, are sizes the caller names (no default, or an int default)
        self.size_params = frozenset(p.arg.arg for p in self.signature.params
                                     if p.default is None or self._int_default(p.default))

    # -- diagnostics ---------------------------------------------------------------------------
    def diag(self, node: ast.AST, code: str, message: str, notes=(), help=None, severity=None, fix=None) -> None:
        if not self.reporting:
            return
        sev = severity or (CODES[code].severity if code in CODES else "error")
        if self.signature.recorded:  # proven under the shapes a run recorded (check --shapes)
            notes = tuple(notes) + (f"the shapes of `{self.qualname}`'s unannotated parameters are the ones "
                                    f"recorded by `shapecheck trace`",)
        self.diags.append(Diagnostic(self.mod.path, getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1,
                                     code, message, sev, tuple(n for n in notes if n), help,
                                     getattr(node, "end_lineno", None),
                                     (getattr(node, "end_col_offset", None) or 0) + 1
                                     if getattr(node, "end_col_offset", None) is not None else None, fix))

    @contextmanager
    def silenced(self):
        """Nothing is reported inside: a loop's first pass, code expected to raise, a call whose callee
        is one of several (a diagnostic must hold whichever runs)."""
        kept = self.reporting
        self.reporting = False
        try:
            yield
        finally:
            self.reporting = kept

    def where(self, node: ast.AST) -> str:
        return f"{self.mod.short}:{getattr(node, 'lineno', 0)}"

    # -- entry -----------------------------------------------------------------------------------
    def code_sym(self, name: str, named: bool = True, read: bool = False, option: bool = False) -> Expr:
        """A size from code; an axis of the signature when its name is one (the name bridge). A ``named``
        size (an int parameter, a constructor argument, a config field) is a distinct axis from the other
        named sizes unless the code relates them."""
        size = code_size(name, self.axis_names, self.mod.imports.axis_aliases)
        name = size.as_sym().name
        if named and name not in self.env.fields:
            self.env.fields = self.env.fields | {name}
        if read and name not in self.env.read:  # read off an object: a field of a configuration (``Env.read``)
            self.env.read = self.env.read | {name}
        if option and name not in self.env.defaults and self.mod.arg_defaults.get(name) is not None:
            # ``opt.latent_dim`` read off the parsed command line of a script whose parser gives ``--latent_dim``
            # an int default (not ``config.latent_dim`` of another object)
            self.env.defaults = {**self.env.defaults, name: self.mod.arg_defaults[name]}
        return size

    def run(self) -> list:
        """Analyse the body; returns the values of its return statements."""
        sig = self.signature
        self.axis_names |= sig.param_axes
        self.param_names |= sig.param_bound
        state: dict = dict(self.closure)
        for i, p in enumerate(sig.params):
            name = p.arg.arg
            if i == 0 and self.self_val is not None and name in ("self", "cls"):
                state[name] = self.self_val
            elif name in self.given_args:
                state[name] = self.given_args[name]
                if isinstance(state[name], Obj) and self.int_parameter(p):
                    # ``LayerNorm2d(out_chans)`` into ``num_channels: int``: the caller's unannotated argument
                    # is the size it names (``torch.ones(num_channels)`` is then ``"out_chans"``)
                    state[name] = self.code_sym(state[name].name.rsplit(".", 1)[-1])
            else:
                state[name] = self.param_value(p.arg, p.default, p.annot)
        if self.self_val is not None and self.node.name == "__init__":
            # ``ResidualLayer(c, c)`` wherever the file builds it: its ``in_channels`` and ``out_channels`` may be one
            # size (what the class does only when they are equal is what this file asks of it)
            cls = self.self_val.cls
            alike = per_node(self.mod.memo.passed_alike, cls.node,
                             lambda: passed_alike(cls.node, self.mod.tree, self.mod.memo))
            if alike:
                self.env.alike = self.env.alike | alike
        a = self.node.args
        # ``*args, **kwargs`` are unknown unless the call gave them (a library layer's subclass: ``_module``)
        if a.vararg:
            state[a.vararg.arg] = self.given_args.get(a.vararg.arg, OPAQUE)
        if a.kwarg:
            state[a.kwarg.arg] = self.given_args.get(a.kwarg.arg, OPAQUE)
        self.ret_annot = sig.returns
        self.axis_names |= sig.return_axes
        union = next((p for p in sig.params if p.annot is not None and len(p.annot.members) > 1
                      and p.arg.arg not in self.given_args), None)
        if union is None:
            self.top_level(state)
            self.after_body()
            return self.returns
        # ``x: Union[Int[Tensor, " n"], Int[Tensor, "1 n"]]``: the body analysed once per member, each
        # from the same start (what one member binds says nothing of another)
        env = self.env.copy()
        axis_names, free = set(self.axis_names), self.free.copy()
        self.per_member = True
        for member in union.annot.members[:4]:
            self.env, self.axis_names, self.free = env.copy(), set(axis_names), free.copy()
            self.axis_names |= member.spec.names()
            s = dict(state)
            s[union.arg.arg] = self.param_value(union.arg, union.default, member)
            self.block(self.node.body, s)
        self.after_body()
        return self.returns

    def top_level(self, state) -> None:
        """Run the body, noting what later uses teach of an input read before them (``later_shapes``)."""
        watch = self.later_shapes_watched()
        if not watch:
            self.block(self.node.body, state)
            return
        start = {p: state.get(p) for p in watch}
        read: set = set()
        changed: set = set()
        for st in self.node.body:
            before = state
            state = self.stmt(st, state)
            now = state if state is not None else before  # a ``return`` narrows the state it was given
            for p in watch - changed:
                if now.get(p) is not start[p]:
                    changed.add(p)
                    if p in read:
                        self.later_shapes[p] = None  # read before a use taught its axes: worth a second run
            for p in list(self.later_shapes):  # keys are watched inputs only
                v = now.get(p)
                if isinstance(v, Shape) and not v.get_meta("unverified"):
                    dims = tuple(_sized_by_code(self.env.resolve(d)) if isinstance(d, Expr) else d for d in v.dims)
                    if any(isinstance(d, Expr) for d in dims):
                        self.later_shapes[p] = Shape(dims, v.origins, v.label, v.meta)
            read |= {n.id for n in ast.walk(st) if isinstance(n, ast.Name) and n.id in watch}
            if state is None:
                break
        self.later_shapes = {p: v for p, v in self.later_shapes.items() if v is not None}

    def later_shapes_watched(self) -> set:
        """The inputs whose shape later uses may teach to the code before them: parameters without an
        annotation or a default, never bound again in the body (``_statements._bindings``), in a function
        analysed on its own."""
        if self.given_args or self.depth or not self.reporting or self.closure:
            return set()
        sig = self.signature
        params = {p.arg.arg for p in sig.params if p.annot is None and p.default is None and p.arg.annotation is None}
        params -= {"self", "cls"}
        if not params:
            return set()
        once, _bound = per_node(self.mod.memo.bound_once, self.node, lambda: _bindings(self.node))
        return params & once

    def annotation(self, node) -> TensorAnnot | None:
        """A local annotation (a syntax error in it is reported by the annotation check, not here)."""
        try:
            return read_annotation(node, self.mod.imports)
        except AnnotError:
            return None

    def _int_default(self, default) -> bool:
        """An int default: a literal, or a module constant (``dim_head=DEFAULT_DIM_HEAD`` with
        ``DEFAULT_DIM_HEAD = 64`` at the top of the file)."""
        if isinstance(default, ast.Constant):
            return type(default.value) is int
        if isinstance(default, ast.Name):
            c = getattr(self.mod, "constants", {}).get(default.id)
            return isinstance(c, Expr) and c.value is not None
        return False

    def _shared_default(self, name: str, default) -> tuple:
        """The other parameters of this function with the same literal int default as ``name``."""
        if not (isinstance(default, ast.Constant) and type(default.value) is int):
            return ()
        return tuple(arg.arg for arg, d in param_defaults(self.node) if arg.arg != name and isinstance(d, ast.Constant)
                     and type(d.value) is int and d.value == default.value)

    def int_parameter(self, param) -> bool:
        """A parameter that holds a size: annotated ``int``, or unannotated with an int default."""
        p, default = param.arg, param.default
        if p.annotation is None:
            return self._int_default(default)
        return isinstance(p.annotation, ast.Name) and p.annotation.id == "int" or \
            self.mod.imports.qualify(p.annotation) == "builtins.int"

    def param_value(self, p: ast.arg, default, ann: TensorAnnot | None):
        """The value a parameter starts with: its annotation's shape, a size, a number or an object."""
        if ann is not None:
            if ann.spec is None:
                return ANY_SHAPE.with_label(f"`{p.arg}`")
            shape = spec_shape(ann.spec, f"annotation, {self.mod.short}:{ann.line}").with_label(f"`{p.arg}`")
            dtype = annotation_dtype(ann.dtype)  # ``Int[Tensor, "n k"]`` indexes as integers
            if dtype:
                shape = shape.with_meta(dtype=dtype)
            return shape.with_meta(maybe_none=True) if isinstance(default, ast.Constant) and default.value is None \
                else shape
        q = self.mod.imports.qualify(p.annotation) if p.annotation is not None else None
        if p.arg in per_node(self.mod.memo.ratios, self.node, lambda: ratio_params(self.node)):
            # ``reduction=16`` in ``nn.Conv2d(channels, channels // reduction, 1)``, ``mult=4`` in ``dim * mult``:
            # a whole ratio greater than one, taken at its default as ``mlp_ratio=4.`` is
            return const(default.value)
        if default is None and self.self_val is not None and self.node.name == "__init__":
            cls = self.self_val.cls
            passed = per_node(self.mod.memo.passed_ratios, cls.node, lambda: passed_ratios(cls.node, self.mod.tree))
            if p.arg in passed:  # ``mult`` with no default, given 2 wherever the file builds the module
                return const(passed[p.arg])
        if isinstance(default, ast.Constant) and type(default.value) is int and default.value == 0:
            # ``c_skip=0``: a count that may be none at all, so ``c + c_skip`` may be ``c``: not a positive size
            return OPAQUE
        if isinstance(p.annotation, ast.Name) and p.annotation.id == "int" or q == "builtins.int" \
                or p.annotation is None and self._int_default(default):
            # a size named by the parameter; one whose literal default another size of the signature shares
            # (``out_channels: int = 2, bwe_out_channels: int = 2``) may well be that size: not distinct
            alike = self._shared_default(p.arg, default)
            if alike:
                self.env.alike = self.env.alike | {frozenset((p.arg, other)) for other in alike}
            size = self.code_sym(p.arg)
            if isinstance(default, ast.Constant) and type(default.value) is int:
                self.env.defaults = {**self.env.defaults, size.as_sym().name: default.value}
            return size
        n = _int_tuple_length(p.annotation, self.mod.imports.qualify)
        if n is not None:  # ``size: Tuple[int, int]``: one named size per element, as ``H, W = size`` reads them
            return tuple(self.code_sym(f"{p.arg}[{i}]") for i in range(n))
        if isinstance(p.annotation, ast.Name) and p.annotation.id == "float" or \
                p.annotation is None and isinstance(default, ast.Constant) and type(default.value) is float:
            if isinstance(default, ast.Constant) and type(default.value) is float and default.value.is_integer() \
                    and 1 < default.value < 2 ** 31:
                # ``mlp_ratio=4.``: a whole ratio greater than one is taken at its default, so that
                # ``int(dim * mlp_ratio)`` is ``4*dim``, a size distinct from ``dim``
                return default.value
            return SCALAR
        if isinstance(p.annotation, ast.Name) and p.annotation.id in ("bool", "str"):
            return OPAQUE
        act = activation_default(default, self.mod.imports.qualify)
        if act is not None:  # ``act_layer=nn.GELU``: an elementwise activation's class
            return act
        if p.arg in NORM_FACTORIES and isinstance(default, (ast.Name, ast.Attribute)) \
                and self.mod.imports.qualify(default) == "torch.nn.LayerNorm":
            # ``norm_layer=nn.LayerNorm``: the module built as it is by default normalises its inputs' last axis
            # (a norm given by a caller keeps its input's shape, unchecked: ``_calls.call_value``)
            return QualRef("torch.nn.LayerNorm")
        if isinstance(p.annotation, (ast.Name, ast.Attribute)):
            cls = self.ev(p.annotation, {})
            if isinstance(cls, ClassRef) and cls.is_module:  # ``block: Block``: an instance of it
                return self.construct_user(cls, [], {}, p)
        if p.annotation is None and default is None and self.self_val is not None and self.node.name == "__init__":
            cls = self.self_val.cls
            given = per_node(self.mod.memo.passed_classes, cls.node, lambda: passed_classes(cls.node, self.mod.tree))
            block = self.ev(given[p.arg], {}) if p.arg in given else None
            if isinstance(block, ClassRef) and block.is_module:
                # ``ResNet(BasicBlock, [2, 2, 2, 2])``: the constructor's ``block`` is the module class the file
                # builds it with (the first such construction's), so its stages are made of that block
                return block
        if p.annotation is None and isinstance(default, (ast.Name, ast.Attribute)) and self.node.name == "__init__":
            cls = self.ev(default, {})
            if isinstance(cls, ClassRef) and cls.is_module:
                # ``block_layers=Block`` in a constructor: the modules it builds are of that class, as by default
                # (a caller's other block takes the same inputs, or the default would not be its default)
                return cls
        return Obj(p.arg)


def _int_tuple_length(annotation, qualify) -> int | None:
    """The length of a ``Tuple[int, int]`` (``tuple[int, int]``) annotation of fixed length, else None."""
    if not isinstance(annotation, ast.Subscript) or qualify(annotation.value) not in ("typing.Tuple", "builtins.tuple") \
            and not (isinstance(annotation.value, ast.Name) and annotation.value.id in ("tuple", "Tuple")):
        return None
    elts = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
    if not 1 <= len(elts) <= 8 or not all(isinstance(e, ast.Name) and e.id == "int" for e in elts):
        return None
    return len(elts)


_RATIO_WORDS = ("mult", "expan", "reduc", "ratio", "factor")


def ratio_params(fn) -> frozenset:
    """The parameters of ``fn`` with a literal int default greater than one (unannotated or ``int``), named
    as ratios are (``mult``, ``expansion``, ``reduction``, ``ratio``, ``factor``, or the bare ``r`` of
    squeeze-and-excitation code, ``channels // r``), that its code reads only
    to multiply sizes by or to divide them by (``dim * mult``, ``channels // reduction``): ratios, not sizes
    of their own (``dim_head=64`` in ``heads * dim_head`` is a size). Read once per function (kept in the
    memo's ``ratios``)."""
    a = fn.args
    pos = a.posonlyargs + a.args
    pairs = list(zip(pos[len(pos) - len(a.defaults):], a.defaults)) + \
        [(p, d) for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
    found = {p.arg for p, d in pairs if isinstance(d, ast.Constant) and type(d.value) is int and d.value > 1
             and _ratio_named(p)}
    return _scaling_only(fn, found, [p for p, _ in pairs])


def _ratio_named(p: ast.arg) -> bool:
    """An unannotated or ``int`` parameter named as ratios are (``mult``, ``expansion``, ``reduction``, ``r``)."""
    return (p.annotation is None or isinstance(p.annotation, ast.Name) and p.annotation.id == "int") \
        and (p.arg == "r" or any(w.startswith(_RATIO_WORDS) for w in re.split(r"[^a-z]+", p.arg.lower()) if w))


def _scaling_only(fn, found: set, params) -> frozenset:
    """The names of ``found`` that ``fn`` reads only to multiply sizes by or to divide them by."""
    if not found:
        return frozenset()
    found = set(found)
    pairs = [(p, None) for p in params]
    used: set = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.arg) and node.arg in found and not any(node is p for p, _ in pairs):
            found.discard(node.arg)  # a parameter of an inner function of the same name
        for child in ast.iter_child_nodes(node):
            if not (isinstance(child, ast.Name) and child.id in found):
                continue
            scales = isinstance(node, ast.BinOp) and isinstance(child.ctx, ast.Load) and (
                isinstance(node.op, ast.Mult) or isinstance(node.op, (ast.FloorDiv, ast.Div)) and node.right is child)
            kept = isinstance(node, ast.Assign) and node.value is child and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Attribute) and isinstance(node.targets[0].value, ast.Name) \
                and node.targets[0].value.id == "self"  # ``self.expansion = expansion``: kept for the methods
            if scales:
                used.add(child.id)
            elif not kept:
                found.discard(child.id)
    return frozenset(found & used)


def related_names(tree) -> dict:
    """The names each name is computed from, anywhere in the file: ``head_size`` from ``dim_att`` and
    ``num_heads`` in ``self.args.head_size = args.dim_att // args.num_heads``, and both ways, so that
    sizes one class derives from another's are related wherever they meet (``Env.related``). A name is
    the last part of a dotted one, as the name bridge reads it; an assertion relates the names it tests."""
    out: dict = {}

    def names(node) -> set:
        return {n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(node)
                if isinstance(n, ast.Name) or isinstance(n, ast.Attribute)}

    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            here = {t.id if isinstance(t, ast.Name) else t.attr for t in targets
                    if isinstance(t, (ast.Name, ast.Attribute))}
            if not here:
                continue
            sources = names(node.value) - here
        elif isinstance(node, ast.Assert):
            here = sources = names(node.test)
        else:
            continue
        for t in here:
            for s in sources:
                if s != t:
                    out.setdefault(t, set()).add(s)
                    out.setdefault(s, set()).add(t)
    return {k: frozenset(v) for k, v in out.items()}


def _constructions(cls: ast.ClassDef, tree, params=None) -> list:
    """The calls that build ``cls`` in the file (``ResidualLayer(c, c)``); none when the file also names the
    class otherwise (a base, a value handed on), where it may be built with arguments the file does not show.
    ``super(ResidualLayer, self).__init__()`` builds nothing and is no such use. Given the constructor's
    ``params``, the class handed to a builder with keywords that are all its parameters (``make_layer(Block, n,
    in_ch=c, out_ch=c)``) is built with those keywords: such a call is returned as it is, ``cls`` among its
    arguments, for :func:`_given` to read only its keywords."""
    calls, used = [], 0
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and n.id == cls.name and isinstance(n.ctx, ast.Load):
            used += 1
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == cls.name:
            calls.append(n)
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "super" and n.args \
                and isinstance(n.args[0], ast.Name) and n.args[0].id == cls.name:
            used -= 1
        elif params and _handed(n, cls.name, params):
            calls.append(n)
    return calls if used == len(calls) else []


def _handed(n, name: str, params) -> bool:
    """``make_layer(Block, n, in_ch=c, out_ch=c)``: ``name`` handed once, as an argument, to a call whose keywords
    are all parameters of its constructor."""
    return isinstance(n, ast.Call) and not (isinstance(n.func, ast.Name) and n.func.id == name) \
        and sum(isinstance(a, ast.Name) and a.id == name for a in n.args) == 1 \
        and bool(n.keywords) and all(k.arg in params for k in n.keywords)


def _given(c, name: str, positional) -> tuple[dict, bool] | None:
    """The arguments a construction of ``name`` gives its parameters, and whether others may come from elsewhere
    (a ``**cfg``, or a builder that may pass more); None when they cannot be read (``*args``, too many)."""
    if not (isinstance(c.func, ast.Name) and c.func.id == name):  # handed to a builder: its keywords alone
        return {k.arg: k.value for k in c.keywords}, True
    if any(isinstance(a, ast.Starred) for a in c.args) or len(c.args) > len(positional):
        return None
    given = dict(zip(positional, c.args))
    given.update({k.arg: k.value for k in c.keywords if k.arg is not None})
    # ``Block(inp=dim, oup=dim, **dd)``: what ``**dd`` holds may fill any parameter not given, never one given
    return given, any(k.arg is None for k in c.keywords)


def _builders(tree) -> dict:
    """The class whose constructor makes each call in the file, by the call's id."""
    out = {}
    for d in ast.walk(tree):
        if isinstance(d, ast.ClassDef):
            for f in d.body:
                if isinstance(f, ast.FunctionDef) and f.name == "__init__":
                    out.update((id(n), d) for n in ast.walk(f) if isinstance(n, ast.Call))
    return out


def passed_alike(cls: ast.ClassDef, tree, memo=None, _seen: frozenset = frozenset()) -> frozenset:
    """Pairs of a class's constructor parameters to which every construction of the class in the file
    passes one value (``ResidualLayer(in_channels, in_channels)``, ``Block(inp=dim, oup=dim)``): sizes that
    may be one size (``Env.alike``). Nothing when the file builds it nowhere, or uses the class otherwise
    than by calling it with its arguments written out (a base, a value passed on, ``*args``; ``**cfg`` may
    fill only the parameters not written out), or when the constructor rebinds the parameter. Two parameters
    of a building class's constructor are one value where that class's own constructions make them one
    (``Block(mid, out)`` in a stage that every construction gives ``mid=c, out=c``). ``memo``, the file's
    :class:`~._memo.ModuleMemo`, keeps which class builds each call, read once per file."""
    init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is None or init.args.vararg or init.args.kwarg or init.args.posonlyargs:
        return frozenset()
    params = [a.arg for a in init.args.args[1:]] + [a.arg for a in init.args.kwonlyargs]
    # bound anew anywhere in the constructor (an assignment, a loop's target, a comprehension's): not the argument
    rebound = {n.id for n in ast.walk(init) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    defaults = dict(zip([a.arg for a in init.args.args[1:]][::-1], init.args.defaults[::-1]))
    defaults.update({a.arg: d for a, d in zip(init.args.kwonlyargs, init.args.kw_defaults) if d is not None})
    calls = _constructions(cls, tree, set(params))
    if not calls:
        return frozenset()
    passed = []
    positional = [a.arg for a in init.args.args[1:]]
    builders = None
    for c in calls:
        read = _given(c, cls.name, positional)
        if read is None:
            return frozenset()
        given, spread = read
        bound = {}
        for p in params:
            v = given.get(p, None if spread else defaults.get(p))
            if v is not None and not any(isinstance(x, (ast.Call, ast.Lambda, ast.NamedExpr)) for x in ast.walk(v)):
                bound[p] = v
        if any(isinstance(v, ast.Name) for v in bound.values()) and builders is None:
            builders = per_node(memo.builders, tree, lambda: _builders(tree)) if memo is not None else _builders(tree)
        builder = builders.get(id(c)) if builders else None
        alike = passed_alike(builder, tree, memo, _seen | {cls.name}) \
            if builder is not None and builder.name not in _seen | {cls.name} else frozenset()
        passed.append((bound, alike))
    pairs = set()
    for i, p in enumerate(params):
        for q in params[i + 1:]:
            if p in rebound or q in rebound:
                continue
            if all(p in b and q in b and _one_value(b[p], b[q], alike) for b, alike in passed):
                pairs.add(frozenset((p, q)))
    return frozenset(pairs)


def _one_value(a, b, alike) -> bool:
    """The same expression, or two parameters the building class's constructions give one value."""
    if ast.dump(a) == ast.dump(b):
        return True
    return isinstance(a, ast.Name) and isinstance(b, ast.Name) and frozenset((a.id, b.id)) in alike


def _own_calls(body, name: str):
    """The calls of ``name(...)`` in ``body``, not in the functions or classes it defines (their own)."""
    stack = list(body)
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            if isinstance(n, ast.ClassDef):
                stack.extend(b for b in n.body if not isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef)))
            continue
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name:
            yield n
        stack.extend(ast.iter_child_nodes(n))


def passed_ratios(cls: ast.ClassDef, tree) -> dict:
    """``{param: n}`` for the ratio parameters of a class's constructor that have no default (``mult`` in
    ``nn.Conv2d(dim, dim * mult, 1)``) to which every construction of the class in the file passes one whole
    number above one: written out (``FeedForward(dim, 2)``), or a parameter of the function building it whose
    default is that number (``FeedForward(dim, mlp_mult)`` in a ``__init__`` with ``mlp_mult=2``). The ratio the
    module is built with there, as ``mult=4`` is taken at its default. Empty when the file builds it nowhere, or
    names the class otherwise than to call it (``block = FeedForward``, a base; ``super(FeedForward, self)`` is
    no such use)."""
    init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is None or init.args.vararg or init.args.posonlyargs:
        return {}
    built = _constructions(cls, tree)
    if not built:
        return {}
    positional = [a.arg for a in init.args.args[1:]]
    with_default = {p.arg for p, d in param_defaults(init) if d is not None}
    candidates = {a.arg for a in init.args.args[1:] + init.args.kwonlyargs
                  if a.arg not in with_default and _ratio_named(a)}
    candidates = set(_scaling_only(init, candidates, init.args.args + init.args.kwonlyargs))
    if not candidates:
        return {}
    found: dict = {}
    sites = 0
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
            continue
        outer = {} if isinstance(fn, ast.Module) else {p.arg: d for p, d in param_defaults(fn) if d is not None}
        for n in _own_calls(fn.body, cls.name):
            sites += 1
            if any(isinstance(x, ast.Starred) for x in n.args) or any(k.arg is None for k in n.keywords):
                return {}
            given = dict(zip(positional, n.args))
            given.update({k.arg: k.value for k in n.keywords})
            for name in list(candidates):
                v = given.get(name)
                if isinstance(v, ast.Name) and isinstance(outer.get(v.id), ast.Constant):
                    v = outer[v.id]
                value = v.value if isinstance(v, ast.Constant) and type(v.value) is int else None
                if value is None or value <= 1 or found.setdefault(name, value) != value:
                    candidates.discard(name)
                    found.pop(name, None)
    if sites != len(built):
        return {}  # a construction this walk does not reach (in a lambda): its ratio is not known
    return {k: v for k, v in found.items() if k in candidates}


def passed_classes(cls: ast.ClassDef, tree) -> dict:
    """``{param: name node}`` for the constructor parameters of ``cls`` without a default or annotation to which
    a construction of the class in the file passes a class the file defines: ``ResNet(BasicBlock, [2, 2])``, or
    through one function that hands its own parameter on (torchvision's ``_resnet(block, layers)`` building
    ``ResNet(block, layers)``, called as ``_resnet(Bottleneck, [3, 4, 6, 3])``). The first construction in the file
    decides: the module is then analysed as the file builds it there."""
    init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is None or init.args.posonlyargs:
        return {}
    positional = [a.arg for a in init.args.args[1:]]
    with_default = {p.arg for p, d in param_defaults(init) if d is not None}
    wanted = [a.arg for a in init.args.args[1:] + init.args.kwonlyargs if a.arg not in with_default
              and a.annotation is None]
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    found: dict = {}

    def argument(call, names, param):
        if any(isinstance(a, ast.Starred) for a in call.args[:len(names)]):
            return None
        given = dict(zip(names, call.args))
        given.update({k.arg: k.value for k in call.keywords if k.arg is not None})
        return given.get(param)

    sites = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
            sites += [(n, fn) for n in _own_calls(fn.body, cls.name)]
    for call, fn in sorted(sites, key=lambda s: (s[0].lineno, s[0].col_offset)):
        for p in wanted:
            v = argument(call, positional, p)
            if p in found or not isinstance(v, ast.Name):
                continue
            if v.id in classes:
                found[p] = v
            elif isinstance(fn, ast.FunctionDef) and fn.name in functions and fn is functions[fn.name] \
                    and v.id in [a.arg for a in fn.args.args]:
                outer = [a.arg for a in fn.args.args]
                calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                         and n.func.id == fn.name]
                for site in sorted(calls, key=lambda n: (n.lineno, n.col_offset)):
                    w = argument(site, outer, v.id)
                    if isinstance(w, ast.Name) and w.id in classes:
                        found[p] = w
                        break
    return found


def _sized_by_code(d: Expr):
    """An axis a later use taught, kept where the code sizes it (a layer built for ``c1``, a literal); an axis
    named by a pattern (an einsum's ``d``) says only where an operand goes, which a swapped operand gets wrong:
    unknown."""
    return d if all(s.kind in ("code", "axis") for s in d.symbols()) else UNKNOWN
