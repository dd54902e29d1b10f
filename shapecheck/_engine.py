"""The inference engine: flow-sensitive abstract interpretation of function bodies over shapes.

One :class:`FunctionAnalysis` runs one function (or method) from its annotations: it evaluates
expressions to abstract values (``_values``), applies the operator shape rules of ``_ops`` to
library calls, instantiates annotated user functions and modules at their call sites, checks
returns and annotated locals, learns divisibility facts from asserts and splits, and hands every
call to the lint rules. It never executes the code it reads.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ._algebra import Expr, Sym, const, sym
from ._annot import AnnotError, TensorAnnot, read_annotation
from ._diag import Diagnostic
from ._ops import lookup
from ._ops._registry import OPAQUE, Opaque, Site, qd
from ._rulebase import CallEvent, RuleContext
from ._shape import ANY_SHAPE, UNKNOWN, Shape, Unknown, Variadic
from ._unify import Env, instantiate, match_spec
from ._values import (Choice, ClassRef, FuncRef, ListOf, ModuleVal, Obj, QualRef, SelfVal, SizeOf, join,
                      join_states)

_MAX_DEPTH = 3
_SIZE_METHODS = {"size", "dim", "ndimension", "numel", "nelement"}
_CONTAINERS = {"torch.nn.ModuleList", "torch.nn.ModuleDict", "torch.nn.ParameterList"}


class _Scalar:
    """A Python number whose value is unknown (``math.sqrt(d)``, ``float(x)``, ``t.item()``)."""

    def __repr__(self) -> str:
        return "SCALAR"


SCALAR = _Scalar()
_SCALAR_FUNCS = {"math", "builtins.float", "builtins.abs", "numpy.sqrt", "numpy.log", "numpy.exp"}


@dataclass
class Report:
    """Diagnostics of one analysis (the caller decides whether to keep them)."""

    items: list = field(default_factory=list)


def _expr_text(node: ast.AST, limit: int = 40) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _expr_text(node.value, limit)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, ast.Subscript):
        base = _expr_text(node.value, limit)
        return f"{base}[...]" if base else None
    return None


def _spec_shape(spec, origin: str) -> Shape:
    shape = spec.to_shape()
    return Shape(shape.dims, (origin,) * len(shape.dims))


class FunctionAnalysis:
    """Analyse one function body; ``self_val`` is the receiver of a method."""

    def __init__(self, mod, node: ast.FunctionDef, *, self_val: SelfVal | None = None, args: dict | None = None,
                 depth: int = 0, report: bool = True, rules=()):
        self.mod = mod
        self.node = node
        self.self_val = self_val
        self.env = Env()
        self.depth = depth
        self.reporting = report
        self.diags: list = []
        self.returns: list = []
        self.rules = rules
        self.ret_annot: TensorAnnot | None = None
        self.given_args = args or {}
        self.axis_names: set = set()
        self.param_names: set = set()  # names the parameters' annotations bind
        self.free: dict = {}  # names first met in a return or local annotation -> what they were bound to
        self.dim_names: set = set()
        self.qualname = node.name if self_val is None else f"{self_val.cls.name}.{node.name}"
        if self_val is not None and self_val.facts:
            self.env.divisible |= self_val.facts

    # -- diagnostics ---------------------------------------------------------------------------
    def diag(self, node: ast.AST, code: str, message: str, notes=(), help=None, severity=None) -> None:
        if not self.reporting:
            return
        from ._diag import CODES

        sev = severity or (CODES[code].severity if code in CODES else "error")
        self.diags.append(Diagnostic(self.mod.path, getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1,
                                     code, message, sev, tuple(n for n in notes if n), help,
                                     getattr(node, "end_lineno", None),
                                     (getattr(node, "end_col_offset", None) or 0) + 1
                                     if getattr(node, "end_col_offset", None) is not None else None))

    def where(self, node: ast.AST) -> str:
        return f"{self.mod.short}:{getattr(node, 'lineno', 0)}"

    # -- entry -----------------------------------------------------------------------------------
    def code_sym(self, name: str) -> Expr:
        """A size from code; an axis of the signature when its name is one (the name bridge)."""
        name = (self.mod.imports.axis_aliases or {}).get(name, name)
        return sym(name, "axis" if name in self.axis_names else "code")

    def run(self):
        state: dict = {}
        a = self.node.args
        for p in list(a.posonlyargs) + list(a.args) + list(a.kwonlyargs):
            try:
                ann = self.annotation(p.annotation)
            except AnnotError:
                ann = None
            if ann is not None and ann.spec is not None:
                self.axis_names |= ann.spec.names()
                self.param_names |= ann.spec.names() | {
                    x.name for x in ann.spec.axes if x.variadic and x.name}
        params = list(a.posonlyargs) + list(a.args)
        defaults = [None] * (len(params) - len(a.defaults)) + list(a.defaults)
        allp = [(p, d) for p, d in zip(params, defaults)] + [(p, d) for p, d in zip(a.kwonlyargs, a.kw_defaults)]
        for i, (p, default) in enumerate(allp):
            if i == 0 and self.self_val is not None and p.arg in ("self", "cls"):
                state[p.arg] = self.self_val
                continue
            if p.arg in self.given_args:
                state[p.arg] = self.given_args[p.arg]
                continue
            state[p.arg] = self.param_value(p, default)
        if a.vararg:
            state[a.vararg.arg] = OPAQUE
        if a.kwarg:
            state[a.kwarg.arg] = OPAQUE
        try:
            self.ret_annot = self.annotation(self.node.returns)
        except AnnotError:
            self.ret_annot = None
        if self.ret_annot is not None and self.ret_annot.spec is not None:
            self.axis_names |= self.ret_annot.spec.names()
        out = self.block(self.node.body, state)
        if out is not None and not self.returns:
            pass
        return self.returns

    def annotation(self, node):
        return read_annotation(node, self.mod.imports)

    def param_value(self, p: ast.arg, default):
        try:
            ann = self.annotation(p.annotation)
        except AnnotError:
            ann = None
        if ann is not None:
            if ann.spec is None:
                return ANY_SHAPE.with_label(f"`{p.arg}`")
            return _spec_shape(ann.spec, f"annotation, {self.mod.short}:{ann.line}").with_label(f"`{p.arg}`")
        q = self.mod.imports.qualify(p.annotation) if p.annotation is not None else None
        if isinstance(p.annotation, ast.Name) and p.annotation.id == "int" or q == "builtins.int":
            return self.code_sym(p.arg)
        if p.annotation is None and isinstance(default, ast.Constant) and type(default.value) is int:
            return self.code_sym(p.arg)
        if isinstance(p.annotation, ast.Name) and p.annotation.id == "float" or \
                p.annotation is None and isinstance(default, ast.Constant) and type(default.value) is float:
            return SCALAR
        if isinstance(p.annotation, ast.Name) and p.annotation.id in ("bool", "str"):
            return OPAQUE
        return Obj(p.arg)

    # -- statements ------------------------------------------------------------------------------
    def block(self, stmts, state):
        """Run statements; returns the state after them, or None when every path returned/raised."""
        for st in stmts:
            if state is None:
                return None
            state = self.stmt(st, state)
        return state

    def stmt(self, st, state):
        if isinstance(st, ast.Assign):
            value = self.ev(st.value, state)
            for t in st.targets:
                self.assign(t, value, state, st)
            return state
        if isinstance(st, ast.AnnAssign):
            value = self.ev(st.value, state) if st.value is not None else None
            try:
                ann = self.annotation(st.annotation)
            except AnnotError:
                ann = None
            if ann is not None and ann.spec is not None and isinstance(st.target, ast.Name):
                declared = _spec_shape(ann.spec, f"annotation, {self.mod.short}:{ann.line}")
                if isinstance(value, Shape):
                    bound = self.check_spec(ann.spec, value, st, f"`{st.target.id}`", "annotation of local")
                    if bound.rank == declared.rank:
                        declared = Shape(tuple(b if isinstance(b, Expr) else d for b, d in zip(bound.dims, declared.dims)),
                                         declared.origins, None, value.meta)
                    else:
                        declared = Shape(declared.dims, declared.origins, None, value.meta)
                if st.value is not None:
                    state[st.target.id] = declared
                return state
            if value is not None:
                self.assign(st.target, value, state, st)
            return state
        if isinstance(st, ast.AugAssign):
            cur = self.ev(st.target, state)
            rhs = self.ev(st.value, state)
            value = self.binop(st.op, cur, rhs, st, st.target, st.value)
            self.assign(st.target, value, state, st)
            return state
        if isinstance(st, ast.Expr):
            self.ev(st.value, state)
            return state
        if isinstance(st, ast.Return):
            value = self.ev(st.value, state) if st.value is not None else None
            self.returns.append(value)
            if self.ret_annot is not None and self.ret_annot.spec is not None and isinstance(value, Shape):
                self.check_spec(self.ret_annot.spec, value, st, "the return value", "return annotation",
                                persist=False)
            return None
        if isinstance(st, ast.If):
            self.ev(st.test, state)
            before = self.env
            self.env = before.copy()
            self.learn_test(st.test, state)
            a = self.block(st.body, dict(state))
            env_a = self.env
            self.env = before.copy()
            b = self.block(st.orelse, dict(state))
            env_b = self.env
            # bindings made in one branch (a name meeting a literal under `if x.shape[-1] == 3`) hold
            # after the if only when the other branch made them too, or returned
            self.env = env_b if a is None else env_a if b is None else env_a.meet(env_b)
            if a is None and not st.orelse:
                self.learn_test(st.test, state, negated=True)  # if d % n != 0: raise
            return join_states([a, b])
        if isinstance(st, (ast.For, ast.AsyncFor)):
            it = self.ev(st.iter, state)
            elem = self.iter_elem(it)
            pre = dict(state)
            quiet = self.reporting
            self.reporting = False
            s1 = dict(state)
            self.assign(st.target, elem, s1, st)
            s1 = self.block(st.body, s1)
            self.reporting = quiet
            widened = join_states([pre, s1]) if s1 is not None else pre
            s2 = dict(widened)
            self.assign(st.target, elem, s2, st)
            s2 = self.block(st.body, s2)
            after = join_states([widened, s2]) if s2 is not None else widened
            return self.block(st.orelse, after) if st.orelse else after
        if isinstance(st, ast.While):
            self.ev(st.test, state)
            pre = dict(state)
            quiet = self.reporting
            self.reporting = False
            s1 = self.block(st.body, dict(state))
            self.reporting = quiet
            widened = join_states([pre, s1]) if s1 is not None else pre
            s2 = self.block(st.body, dict(widened))
            after = join_states([widened, s2]) if s2 is not None else widened
            return self.block(st.orelse, after) if st.orelse else after
        if isinstance(st, (ast.With, ast.AsyncWith)):
            expects_error = False
            for item in st.items:
                v = self.ev(item.context_expr, state)
                if isinstance(item.context_expr, ast.Call) and \
                        self.mod.imports.qualify(item.context_expr.func) in _EXPECTS_ERROR:
                    expects_error = True
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, OPAQUE if not isinstance(v, Shape) else v, state, st)
            if not expects_error:
                return self.block(st.body, state)
            quiet = self.reporting
            self.reporting = False  # `with pytest.raises(...)`: the error is the point of the test
            try:
                out = self.block(st.body, state)
            finally:
                self.reporting = quiet
            return out if out is not None else dict(state)
        if isinstance(st, ast.Try) or type(st).__name__ == "TryStar":
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
        if isinstance(st, ast.Assert):
            self.ev(st.test, state)
            self.learn_test(st.test, state)
            return state
        if isinstance(st, ast.Raise):
            return None
        if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)):
            state[st.name] = FuncRef(st.name, st, self.mod)
            return state
        if isinstance(st, ast.ClassDef):
            state[st.name] = OPAQUE
            return state
        if isinstance(st, ast.Delete):
            for t in st.targets:
                if isinstance(t, ast.Name):
                    state.pop(t.id, None)
            return state
        if isinstance(st, (ast.Import, ast.ImportFrom)):
            for a in st.names:
                state[(a.asname or a.name).split(".")[0]] = OPAQUE
            return state
        if type(st).__name__ == "Match":
            self.ev(st.subject, state)
            outs = [self.block(c.body, dict(state)) for c in st.cases]
            return join_states(outs + [state])
        return state  # pass, break, continue, global, nonlocal: no effect on shapes we track

    def learn_test(self, test, state, negated: bool = False) -> None:
        """``assert C % n == 0`` (and ``if`` tests of the same form, or ``if C % n != 0: raise``) make
        ``C // n`` exact."""
        if negated:
            if isinstance(test, ast.BoolOp):
                return
            want = ast.NotEq
        else:
            want = ast.Eq
        tests = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) else [test]
        for t in tests:
            if (isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], want)
                    and isinstance(t.left, ast.BinOp) and isinstance(t.left.op, ast.Mod)
                    and isinstance(t.comparators[0], ast.Constant) and t.comparators[0].value == 0):
                num = self.ev(t.left.left, state)
                den = self.ev(t.left.right, state)
                if isinstance(num, Expr) and isinstance(den, Expr) and den.value != 0:
                    self.env.add_divisible(num, den)

    # -- assignment -------------------------------------------------------------------------------
    def assign(self, target, value, state, st) -> None:
        if isinstance(target, ast.Name):
            if isinstance(value, Shape):
                value = value.with_label(None)
            state[target.id] = value
            return
        if isinstance(target, (ast.Tuple, ast.List)):
            elts = target.elts
            star = next((i for i, e in enumerate(elts) if isinstance(e, ast.Starred)), None)
            values = self.unpack(value, len(elts), target, st, state, star is not None)
            if values is None:
                for e in elts:
                    self.assign(e.value if isinstance(e, ast.Starred) else e, OPAQUE, state, st)
                return
            if star is None:
                for e, v in zip(elts, values):
                    self.assign(e, v, state, st)
            else:
                n_after = len(elts) - star - 1
                for e, v in zip(elts[:star], values[:star]):
                    self.assign(e, v, state, st)
                rest = values[star: len(values) - n_after]
                self.assign(elts[star].value, tuple(rest), state, st)
                for e, v in zip(elts[star + 1:], values[len(values) - n_after:]):
                    self.assign(e, v, state, st)
            return
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            owner = state.get(target.value.id)
            if isinstance(owner, SelfVal):
                owner.attrs[target.attr] = value
            return
        if isinstance(target, ast.Starred):
            self.assign(target.value, value, state, st)

    def unpack(self, value, n, target, st, state, has_star):
        if isinstance(value, tuple):
            if (len(value) == n) or (has_star and len(value) >= n - 1):
                return list(value)
            return None
        if isinstance(value, SizeOf) and not has_star:
            # B, T, C = x.size(): name the axes after the targets, and learn x's rank
            names = [self.fresh_dim_name(e.id if isinstance(e, ast.Name) else f"d{i}")
                     for i, e in enumerate(target.elts)]
            group = f"dim:{value.var}@{st.lineno}"
            origin = f"`{value.var}.size()`, {self.mod.short}:{st.lineno}" if value.var else None
            if value.shape.rank == n:
                dims = [d if not isinstance(d, Unknown) else _dim_sym(names[i], group)
                        for i, d in enumerate(value.shape.dims)]
            elif value.shape.is_any or value.shape.rank is None:
                dims = self.fill_variadic(value.shape, n, names, group)
                if dims is None:
                    return None
            else:
                return None
            if value.var and value.var in state and isinstance(state[value.var], (Shape, Obj)):
                old = state[value.var] if isinstance(state[value.var], Shape) else ANY_SHAPE
                origins = tuple(old.origin(i) if isinstance(old.axis(i), Expr) and old.rank == n else origin
                                for i in range(n))
                state[value.var] = Shape(tuple(dims), origins, None, old.meta)
            return dims
        if isinstance(value, Shape) and value.rank is not None:
            if value.rank == 0:
                return None
            first = value.dims[0]
            if isinstance(first, Expr) and first.value is not None and (first.value == n or has_star):
                count = first.value
                return [Shape(value.dims[1:], value.origins[1:] if value.origins else ())] * count \
                    if (count == n or has_star) else None
            return None
        if isinstance(value, ListOf) and not has_star:
            return [value.elem] * n
        return None

    def fresh_dim_name(self, name: str) -> str | None:
        """The name of an axis learnt by unpacking; a name unpacked again from another tensor is another
        size (``channels'``), and ``_`` names nothing."""
        if name == "_" or name.startswith("_") and name.strip("_") == "":
            return None
        while name in self.dim_names:
            name += "'"
        self.dim_names.add(name)
        return name

    def fill_variadic(self, shape: Shape, n: int, names, group):
        v = shape.variadic_index
        known_pre = list(shape.dims[:v])
        known_post = list(shape.dims[v + 1:])
        k = n - len(known_pre) - len(known_post)
        if k < 0:
            return None
        mid = [_dim_sym(names[len(known_pre) + i], group) for i in range(k)]
        dims = known_pre + mid + known_post
        return [d if not isinstance(d, Unknown) else _dim_sym(names[i], group) for i, d in enumerate(dims)]

    def iter_elem(self, it):
        if isinstance(it, ListOf):
            return it.elem
        if isinstance(it, ModuleVal) and it.children:
            first = it.children[0]
            return first if all(c == first for c in it.children) else OPAQUE
        if isinstance(it, tuple) and it:
            v = it[0]
            for w in it[1:]:
                v = join(v, w)
            return v
        if isinstance(it, Shape) and it.rank:
            return Shape(it.dims[1:], it.origins[1:] if it.origins else ())
        return OPAQUE

    # -- checks -------------------------------------------------------------------------------------
    def check_spec(self, spec, value: Shape, node, who: str, what: str, persist: bool = True) -> Shape:
        """Check a value against a return or local annotation; returns the annotation's shape.

        Names the parameters bind are the function's own axes. A name first met in a return or
        local annotation (``"*bs output_dim"`` where only ``input_dim`` comes in; ``scores: "b q k"``)
        is bound by that value, as jaxtyping binds it, and means that size from then on."""
        inst = {n: Expr(((((Sym(n, "axis"), 1),), 1),)) for n in spec.names() if n in self.param_names}
        for n, v in self.free.items():
            inst.setdefault(n, v)
        for ax in spec.axes:
            if ax.variadic and ax.name and ax.name in self.param_names:
                inst.pop(ax.name, None)  # a parameter's variadic: matched by position, not bound here
        problems = match_spec(spec, value, self.env, inst, self.where(node))
        for n, v in inst.items():
            if persist and not n.startswith("@") and n not in self.param_names and n not in self.free:
                self.free[n] = v  # each return is its own path: only local annotations bind for later
        zero = any(ax.kind == "fixed" and ax.value == 0 for ax in spec.axes)
        hint = 'a scalar is written "" (an empty string); "0" is one axis of size 0' if zero else None
        for p in problems[:1]:
            if p.kind == "rank":
                self.diag(node, "SHP105", f'{who} has {p.actual} axes where its {what} "{spec.text}" '
                                          f"has {p.expected}",
                          notes=(f"inferred shape: {value}",), help=hint)
            else:
                note = None
                if p.index is not None:
                    note = _axis_origin_note(value, p.index, who, self.env)
                self.diag(node, "SHP105", f"{who} has {qd(p.actual)} at axis {p.index} where its {what} "
                                          f'"{spec.text}" says {qd(p.expected)}',
                          notes=(note,), help=hint)
        shape = instantiate(spec, {k: v for k, v in inst.items() if not k.startswith("@")})
        return shape

    # -- expressions ----------------------------------------------------------------------------------
    def ev(self, node, state):
        try:
            return self._ev(node, state)
        except RecursionError:
            return OPAQUE

    def _ev(self, node, state):
        if node is None:
            return None
        if isinstance(node, ast.Constant):
            v = node.value
            if type(v) is int:
                return const(v)
            return v
        if isinstance(node, ast.Name):
            if node.id in state:
                v = state[node.id]
                return v.with_label(f"`{node.id}`") if isinstance(v, Shape) else v
            return self.global_value(node.id)
        if isinstance(node, ast.Attribute):
            return self.attribute(node, state)
        if isinstance(node, ast.Call):
            return self.call(node, state)
        if isinstance(node, ast.BinOp):
            left = self.ev(node.left, state)
            right = self.ev(node.right, state)
            return self.binop(node.op, left, right, node, node.left, node.right)
        if isinstance(node, ast.UnaryOp):
            v = self.ev(node.operand, state)
            if isinstance(node.op, ast.USub) and isinstance(v, Expr):
                return -v
            if isinstance(node.op, ast.USub) and isinstance(v, (int, float)) and not isinstance(v, bool):
                return -v
            if isinstance(v, Shape) and not isinstance(node.op, ast.Not):
                return v
            return OPAQUE
        if isinstance(node, (ast.Tuple, ast.List)):
            out = self.spliced(node.elts, state)
            return OPAQUE if out is None else tuple(out)
        if isinstance(node, ast.Subscript):
            return self.subscript(node, state)
        if isinstance(node, ast.IfExp):
            self.ev(node.test, state)
            return join(self.ev(node.body, state), self.ev(node.orelse, state))
        if isinstance(node, ast.Compare):
            vals = [self.ev(node.left, state)] + [self.ev(c, state) for c in node.comparators]
            if isinstance(vals[0], Shape) and len(vals) == 2 and isinstance(node.ops[0], (ast.Eq, ast.NotEq, ast.Lt,
                                                                                             ast.LtE, ast.Gt, ast.GtE)):
                name = {ast.Eq: "__eq__", ast.NotEq: "__ne__", ast.Lt: "__lt__", ast.LtE: "__le__",
                        ast.Gt: "__gt__", ast.GtE: "__ge__"}[type(node.ops[0])]
                return self.apply_rule(f"torch.Tensor.{name}", (vals[0], vals[1]), {}, node, known=True)
            return OPAQUE
        if isinstance(node, ast.BoolOp):
            for v in node.values:
                self.ev(v, state)
            return OPAQUE
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return self.comprehension(node, state)
        if isinstance(node, ast.NamedExpr):
            v = self.ev(node.value, state)
            self.assign(node.target, v, state, node)
            return v
        if isinstance(node, ast.Starred):
            return self.ev(node.value, state)
        if isinstance(node, ast.Lambda):
            return FuncRef("<lambda>", node, self.mod, closure=dict(state))
        return OPAQUE

    def comprehension(self, node, state):
        if len(node.generators) != 1:
            return OPAQUE
        gen = node.generators[0]
        it = self.ev(gen.iter, state)
        inner = dict(state)
        length = None
        if isinstance(gen.iter, ast.Call) and isinstance(gen.iter.func, ast.Name) and gen.iter.func.id == "range" \
                and len(gen.iter.args) == 1:
            length = self.ev(gen.iter.args[0], state)
            self.assign(gen.target, OPAQUE, inner, node)
        else:
            self.assign(gen.target, self.iter_elem(it), inner, node)
        elem = self.ev(node.elt, inner)
        return ListOf(elem, length)

    def global_value(self, name: str):
        info = self.mod
        if name in info.functions:
            return FuncRef(name, info.functions[name], info)
        if name in info.classes:
            return ClassRef(name, info.classes[name])
        q = info.imports.names.get(name)
        if q is not None:
            target = info.resolve_import(q)
            if target is not None:
                return target
            return QualRef(q)
        if name in info.constants:
            return info.constants[name]
        if name in ("len", "range", "int", "min", "max", "isinstance", "print", "list", "tuple", "super",
                    "getattr", "reveal_shape", "float", "sum", "abs", "round", "enumerate", "zip", "map"):
            return QualRef(f"builtins.{name}")
        return OPAQUE

    def attribute(self, node, state):
        q = self.mod.imports.qualify(node)
        if q is not None and not self.shadowed(node, state):
            return self.mod.resolve_import(q) or QualRef(q)
        base = self.ev(node.value, state)
        attr = node.attr
        if isinstance(base, Shape):
            if attr == "shape":
                return self.size_tuple(base, node.value)
            if attr == "ndim":
                return const(base.rank) if base.rank is not None else OPAQUE
            if attr in ("T", "mT", "mH", "H"):
                return self.apply_rule(f"torch.Tensor.{attr}", (base,), {}, node, known=True)
            if attr in ("data", "real", "imag"):
                return base
            if attr in ("dtype", "device", "is_cuda", "requires_grad", "grad_fn"):
                return OPAQUE
            return OPAQUE
        if isinstance(base, SelfVal):
            if attr in base.attrs:
                v = base.attrs[attr]
                return v.with_label(f"`self.{attr}`") if isinstance(v, Shape) else v
            meth = base.cls.find_method(attr)
            if meth is not None:
                return FuncRef(attr, meth[0], meth[1], bound_self=base)
            return self.code_sym(attr) if self.looks_like_size(attr) else OPAQUE
        if isinstance(base, Obj):
            if attr in ("shape",):
                return SizeOf(base.name, ANY_SHAPE)
            return self.code_sym(attr) if self.looks_like_size(attr) else Obj(f"{base.name}.{attr}")
        if isinstance(base, ModuleVal):
            return self.module_attr(base, attr)
        if isinstance(base, QualRef):
            return QualRef(f"{base.qualname}.{attr}")
        return OPAQUE

    @staticmethod
    def looks_like_size(attr: str) -> bool:
        return not attr.startswith("_") and not attr[:1].isupper()

    def module_attr(self, m: ModuleVal, attr: str):
        init = m.init_dict
        if m.rule is not None:
            if attr == "weight" and m.qualname.endswith("Linear") and "in_features" in init:
                return Shape((_size(init["out_features"]), _size(init["in_features"])))
            if attr == "weight" and m.qualname.endswith("Embedding") and "num_embeddings" in init:
                return Shape((_size(init["num_embeddings"]), _size(init["embedding_dim"])))
            if attr in init:
                v = init[attr]
                return v if isinstance(v, (Expr, tuple, str, bool)) else OPAQUE
            return OPAQUE
        if m.cls is not None:
            sv = self.mod.instance_of(m, self.depth)
            if sv is not None and attr in sv.attrs:
                return sv.attrs[attr]
        return OPAQUE

    def shadowed(self, node, state) -> bool:
        while isinstance(node, ast.Attribute):
            node = node.value
        return isinstance(node, ast.Name) and node.id in state

    def size_tuple(self, shape: Shape, of_node):
        if shape.rank is not None and not any(isinstance(d, Unknown) for d in shape.dims):
            return tuple(shape.dims)
        var = of_node.id if isinstance(of_node, ast.Name) else None
        return SizeOf(var, shape)

    def subscript(self, node, state):
        base = self.ev(node.value, state)
        if isinstance(base, (tuple, SizeOf)):
            idx = self.ev(node.slice, state)
            seq = base if isinstance(base, tuple) else None
            if isinstance(idx, Expr) and idx.value is not None:
                i = idx.value
                if seq is not None:
                    return seq[i] if -len(seq) <= i < len(seq) else OPAQUE
                d = base.shape.axis(i)
                return d if isinstance(d, Expr) else OPAQUE
            if isinstance(node.slice, ast.Slice) and seq is None:
                return self.slice_size_of(base, node.slice, state)
            if isinstance(node.slice, ast.Slice) and seq is not None:
                lo, hi, step = (self.ev(x, state) if x is not None else None
                                for x in (node.slice.lower, node.slice.upper, node.slice.step))
                parts = []
                for x in (lo, hi, step):
                    if x is None:
                        parts.append(None)
                    elif isinstance(x, Expr) and x.value is not None:
                        parts.append(x.value)
                    else:
                        return OPAQUE
                return seq[slice(*parts)]
            return OPAQUE
        if isinstance(base, Shape):
            idx = self.index_value(node.slice, state)
            if idx is OPAQUE:
                return ANY_SHAPE if base.rank is None else OPAQUE
            return self.apply_rule("torch.Tensor.__getitem__", (base, idx), {}, node, known=True)
        if isinstance(base, ListOf):
            return ListOf(base.elem) if isinstance(node.slice, ast.Slice) else base.elem
        if isinstance(base, ModuleVal) and base.children:
            idx = self.ev(node.slice, state)
            if isinstance(idx, Expr) and idx.value is not None and -len(base.children) <= idx.value < len(base.children):
                return base.children[idx.value]
        return OPAQUE

    def slice_size_of(self, base: SizeOf, sl: ast.Slice, state):
        """``x.size()[:-1]`` of a tensor of unknown rank: drop known trailing axes."""
        if sl.lower is not None or sl.step is not None or sl.upper is None:
            return OPAQUE
        k = self.ev(sl.upper, state)
        kv = k.value if isinstance(k, Expr) else None
        dims = base.shape.dims
        v = base.shape.variadic_index
        if kv is None or kv >= 0 or v is None or -kv > len(dims) - v - 1:
            return OPAQUE
        return SizeOf(None, Shape(dims[:kv]))

    def index_value(self, sl, state):
        """The index representation of the ``__getitem__`` rule: ints, slices, None, Ellipsis, Shape, tuples."""
        if isinstance(sl, ast.Tuple):
            out = []
            for e in sl.elts:
                v = self.index_value(e, state)
                if v is OPAQUE:
                    return OPAQUE
                out.append(v)
            return tuple(out)
        if isinstance(sl, ast.Slice):
            parts = []
            for x in (sl.lower, sl.upper, sl.step):
                if x is None:
                    parts.append(None)
                    continue
                v = self.ev(x, state)
                parts.append(v if isinstance(v, Expr) else OPAQUE)
            return slice(*parts)
        if isinstance(sl, ast.Constant) and sl.value is None:
            return None
        if isinstance(sl, ast.Constant) and sl.value is Ellipsis:
            return Ellipsis
        v = self.ev(sl, state)
        if isinstance(v, (Expr, Shape)):
            return v
        return OPAQUE

    # -- operators ----------------------------------------------------------------------------------
    def as_size_sym(self, v):
        """An unknown object used as a size (``C // n_head`` with ``n_head`` unannotated) is a symbol from code."""
        if isinstance(v, Obj):
            return self.code_sym(v.name.rsplit(".", 1)[-1])
        return v

    def binop(self, op, left, right, node, lnode, rnode):
        if isinstance(left, Expr) and isinstance(right, Obj) or isinstance(left, Obj) and isinstance(right, Expr):
            if isinstance(op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)):
                left, right = self.as_size_sym(left), self.as_size_sym(right)
        if isinstance(left, Expr) and isinstance(right, Expr):
            try:
                if isinstance(op, ast.Add):
                    return left + right
                if isinstance(op, ast.Sub):
                    return left - right
                if isinstance(op, ast.Mult):
                    return left * right
                if isinstance(op, (ast.FloorDiv, ast.Div)):  # int(a / b) is a // b for sizes
                    if right.value is not None and right.value <= 0:
                        return OPAQUE
                    return left // right
                if isinstance(op, ast.Pow) and right.value is not None and 0 <= right.value <= 4:
                    out = const(1)
                    for _ in range(right.value):
                        out = out * left
                    return out
            except (ZeroDivisionError, TypeError):
                return OPAQUE
            return OPAQUE
        if isinstance(left, tuple) and isinstance(right, tuple) and isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Add) and isinstance(left, SizeOf) and isinstance(right, tuple):
            return SizeOf(None, Shape(left.shape.dims + tuple(_size_item(v) for v in right)))
        if isinstance(op, ast.Add) and isinstance(left, tuple) and isinstance(right, SizeOf):
            return SizeOf(None, Shape(tuple(_size_item(v) for v in left) + right.shape.dims))
        if _is_number(left) and _is_number(right):
            a, b = _number(left), _number(right)
            if a is not None and b is not None:  # 3 + 1.0: a known number, kept
                try:
                    return {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                            ast.Div: lambda: a / b, ast.FloorDiv: lambda: a // b}.get(type(op), lambda: SCALAR)()
                except (ZeroDivisionError, OverflowError, TypeError):
                    return SCALAR
            return SCALAR
        if isinstance(left, Shape) or isinstance(right, Shape):
            name = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "truediv", ast.FloorDiv: "floordiv",
                    ast.Mod: "mod", ast.Pow: "pow", ast.MatMult: "matmul", ast.BitAnd: "and", ast.BitOr: "or",
                    ast.BitXor: "xor"}.get(type(op))
            if name is None:
                return OPAQUE
            if isinstance(left, Shape):
                return self.apply_rule(f"torch.Tensor.__{name}__", (left, self.operand(right)), {}, node,
                                       known=True)
            if left is OPAQUE or isinstance(left, Obj):
                return ANY_SHAPE if name != "matmul" else OPAQUE
            return self.apply_rule(f"torch.Tensor.__r{name}__", (right, self.operand(left)), {}, node, known=True)
        return OPAQUE

    @staticmethod
    def operand(v):
        if v is SCALAR:
            return 1.0
        if isinstance(v, (Shape, Expr, float, int)) and not isinstance(v, bool):
            return v
        if isinstance(v, bool):
            return v
        return ANY_SHAPE

    # -- calls ------------------------------------------------------------------------------------------
    def spliced(self, nodes, state) -> list | None:
        """Values of a list of expressions with ``*tuple`` spliced in; None when a starred value is unknown."""
        out = []
        for e in nodes:
            if isinstance(e, ast.Starred):
                v = self.ev(e.value, state)
                if not isinstance(v, tuple):
                    return None
                out.extend(v)
            else:
                out.append(self.ev(e, state))
        return out

    def call_args(self, node, state):
        args = self.spliced(node.args, state)
        if args is None:
            return None, None
        kwargs = {}
        for k in node.keywords:
            if k.arg is None:
                return None, None
            kwargs[k.arg] = self.ev(k.value, state)
        return args, kwargs

    def call(self, node, state):
        func = node.func
        # methods on values
        if isinstance(func, ast.Attribute) and (self.mod.imports.qualify(func) is None or self.shadowed(func, state)):
            recv = self.ev(func.value, state)
            if isinstance(recv, Shape) or isinstance(recv, Obj) or recv is OPAQUE:
                return self.tensor_method(recv, func, node, state)
            if isinstance(recv, SelfVal):
                if func.attr == "register_buffer" or func.attr == "register_parameter":
                    args, kwargs = self.call_args(node, state)
                    if args and len(args) >= 2 and isinstance(args[0], str):
                        recv.attrs[args[0]] = args[1]
                    return None
        callee = self.ev(func, state)
        args, kwargs = self.call_args(node, state)
        if args is None:
            return OPAQUE
        return self.call_value(callee, args, kwargs, node, state)

    def tensor_method(self, recv, func, node, state):
        name = func.attr
        args, kwargs = self.call_args(node, state)
        if args is None:
            return OPAQUE
        known = isinstance(recv, Shape) and not recv.get_meta("unverified")
        shape = recv if isinstance(recv, Shape) else ANY_SHAPE
        if name in _SIZE_LIST_OPS and len(args) > 1:  # one unknown argument may be a whole tuple of sizes
            args = [self.as_size_sym(a) for a in args]
        if name == "item" and known:
            return SCALAR
        if name in _SIZE_METHODS:
            if name == "size":
                if not args and not kwargs:
                    if not known and isinstance(recv, Obj):
                        return SizeOf(recv.name, ANY_SHAPE)
                    return self.size_tuple(shape, func.value) if known else SizeOf(None, shape)
                i = args[0] if args else kwargs.get("dim")
                if isinstance(i, Expr) and i.value is not None:
                    d = shape.axis(i.value)
                    return d if isinstance(d, Expr) else OPAQUE
                return OPAQUE
            if name in ("dim", "ndimension"):
                return const(shape.rank) if shape.rank is not None else OPAQUE
            return OPAQUE
        if not known and not _TENSOR_METHOD_HINT(name):
            return OPAQUE
        result = self.apply_rule(f"torch.Tensor.{name}", (shape,) + tuple(args), kwargs, node, known=known)
        if (recv is OPAQUE or not known) and not isinstance(recv, Obj) and isinstance(result, Shape):
            # the receiver may not be a tensor at all (a NumPy array from an unknown call): what follows
            # from it is inferred, never reported
            result = result.with_meta(unverified=True)
        return result

    def call_value(self, callee, args, kwargs, node, state):
        if isinstance(callee, QualRef):
            return self.call_qual(callee.qualname, args, kwargs, node, state)
        if isinstance(callee, ModuleVal):
            return self.call_module(callee, args, kwargs, node)
        if isinstance(callee, ClassRef):
            return self.construct_user(callee, args, kwargs, node)
        if isinstance(callee, FuncRef):
            return self.call_user(callee, args, kwargs, node)
        if isinstance(callee, ListOf) and isinstance(callee.elem, ModuleVal):
            return self.call_module(callee.elem, args, kwargs, node)
        if isinstance(callee, Choice):
            quiet = self.reporting
            self.reporting = False  # a diagnostic must hold whichever option runs: report none
            try:
                results = [self.call_value(c, args, kwargs, node, state) for c in callee.options]
            finally:
                self.reporting = quiet
            v = results[0]
            for w in results[1:]:
                v = join(v, w)
            return v
        return OPAQUE

    def call_qual(self, q: str, args, kwargs, node, state):
        if q.startswith("math.") or q in _SCALAR_FUNCS:
            return self.run_rules(q, node, tuple(_sanitize(a) for a in args),
                                  {k: _sanitize(v) for k, v in kwargs.items()}, SCALAR)
        if q.startswith("builtins."):
            return self.builtin(q[9:], args, kwargs, node, state)
        if q in ("shapecheck.reveal_shape",) or q.endswith(".reveal_shape"):
            v = args[0] if args else None
            text = _reveal_text(v, self.env)
            if self.reporting:
                self.diags.append(Diagnostic(self.mod.path, node.lineno, node.col_offset + 1, "reveal", text, "note"))
            return v
        if q in ("torch.nn.Sequential",):
            return ModuleVal(q, children=tuple(a for a in args if isinstance(a, ModuleVal)))
        if q in _CONTAINERS:
            elem = args[0] if args else None
            if isinstance(elem, ListOf):
                return ListOf(elem.elem, elem.length)
            if isinstance(elem, tuple) and elem:
                v = elem[0]
                for w in elem[1:]:
                    v = v if v == w else OPAQUE
                return ListOf(v, const(len(elem)))
            return ListOf(OPAQUE)
        if q in ("torch.nn.Parameter", "torch.nn.parameter.Parameter", "torch.nn.Buffer"):
            return args[0] if args and isinstance(args[0], Shape) else ANY_SHAPE
        rule = lookup(q)
        if rule is None:
            alt = _ALIASES.get(q)
            rule = lookup(alt) if alt else None
        if rule is None:
            if q.startswith(("torch.", "einops.")):  # no shape rule, but the lint rules may know the call
                # what it returns is unknown (a tensor, a tuple of them like meshgrid's, or no tensor)
                return self.run_rules(q, node, tuple(_sanitize(a) for a in args),
                                      {k: _sanitize(v) for k, v in kwargs.items()}, OPAQUE)
            return OPAQUE
        if rule.module:
            args = [self.as_size_sym(a) for a in args]
            kwargs = {k: self.as_size_sym(v) for k, v in kwargs.items()}
            init = rule.bind_init(tuple(args), kwargs)
            if init is None:
                return OPAQUE
            return ModuleVal(q, rule, tuple(init.items()))
        if q.startswith("torch.nn.functional.") and args and isinstance(args[0], Obj):
            args = [ANY_SHAPE] + list(args[1:])  # F.op(input, ...): the input is a tensor
        return self.apply_rule(q, tuple(args), kwargs, node, known=True, rule=rule)

    def builtin(self, name, args, kwargs, node, state):
        if name == "len" and args:
            v = args[0]
            if isinstance(v, tuple):
                return const(len(v))
            if isinstance(v, Shape):
                d = v.axis(0)
                return d if isinstance(d, Expr) else OPAQUE
            if isinstance(v, ListOf) and isinstance(v.length, Expr):
                return v.length
            return OPAQUE
        if name == "int" and args and isinstance(args[0], Expr):
            return args[0]
        if name == "float" and args and _number(args[0]) is not None:
            return float(_number(args[0]))
        if name in ("float", "abs", "round", "sum") and args and not isinstance(args[0], Shape):
            return SCALAR
        if name == "super":
            return OPAQUE
        if name in ("min", "max") and len(args) == 2 and all(isinstance(a, Expr) for a in args):
            a, b = args
            if a == b:
                return a
            return OPAQUE
        if name == "reveal_shape":
            return self.call_qual("shapecheck.reveal_shape", args, kwargs, node, state)
        if name == "map" and len(args) == 2 and isinstance(args[1], tuple) and len(args[1]) <= 16:
            # q, k, v = map(lambda t: rearrange(t, ...), qkv)
            return tuple(self.call_value(args[0], [x], {}, node, state) for x in args[1])
        if name in ("tuple", "list") and args and isinstance(args[0], tuple):
            return args[0]
        return OPAQUE

    def apply_rule(self, q: str, args: tuple, kwargs: dict, node, known: bool = True, rule=None, init=None,
                   module_q=None):
        rule = rule or lookup(q)
        if rule is None:
            return ANY_SHAPE if q.startswith("torch.Tensor.") and q[13:] in _SHAPE_PRESERVING_UNKNOWN else OPAQUE
        args, kwargs = self.size_arguments(rule, args, kwargs)
        args = tuple(_sanitize(a) for a in args)
        kwargs = {k: _sanitize(v) for k, v in kwargs.items()}
        if q.rsplit(".", 1)[-1] in _SIZE_LIST_OPS and any(
                v is OPAQUE or (isinstance(v, tuple) and any(x is OPAQUE for x in v))
                for v in list(args[1 if q.startswith("torch.Tensor.") else 0:])
                + [kwargs[k] for k in ("size", "shape", "dims", "sizes") if k in kwargs]):
            # a size list we could not evaluate (``x.view(new_shape)``): the result's shape is unknown
            return ANY_SHAPE
        site = Site(_display(q, rule) if not module_q else module_q.rsplit(".", 1)[-1], self.env, self.where(node))
        if q in _EINOPS_PATTERN_OPS and len(args) >= 2:
            args = (_expand_for_pattern(args[0], args[1]),) + tuple(args[1:])
        lead = _leading_variadic_call(rule, args, kwargs) if init is None else None
        if lead is not None:
            args = (lead,) + tuple(args[1:])
        try:
            result = rule.apply(site, args, kwargs, init)
            if lead is not None:
                result = _restore_variadic(result, args[0])
        except Exception:  # a rule must never take the analysis down; unknown instead
            if self.mod.strict:
                raise
            result = None
        upstream = _after_error(args) | _after_error(tuple(kwargs.values()))
        unverified = any(isinstance(a, Shape) and a.get_meta("unverified") for a in args)
        if unverified:
            known = False  # inferred from a value that may not be a tensor: never reported
            if isinstance(result, Shape):
                result = result.with_meta(unverified=True)
        if known and self.reporting:
            for p in site.problems:
                if p.code not in upstream:  # the same error again, as a consequence of one reported upstream
                    self.diag(node, p.code, p.message, p.notes, p.help)
        if known and q in _VIEW_OPS and isinstance(result, Shape) and args and isinstance(args[0], Shape) \
                and not site.problems:
            if self.check_reshape_order(args[0], result, node):
                result = result.with_meta(reinterpreted=True)
        elif q == "torch.Tensor.__getitem__" and isinstance(result, Shape) and args \
                and isinstance(args[0], Shape) and args[0].get_meta("reinterpreted"):
            result = result.with_meta(reinterpreted=True)  # a slice of reinterpreted memory stays so
        if site.problems and isinstance(result, Shape):
            # the operation failed: its value is unknown downstream, so the one bug is reported once
            result = ANY_SHAPE.with_label(result.label)
        if result is None:
            result = OPAQUE
        return self.run_rules(module_q or q, node, args, kwargs, result, init,
                              problems=frozenset(p.code for p in site.problems) if known else frozenset())

    def size_arguments(self, rule, args, kwargs):
        """Unknown objects passed where the op takes a size (``split(self.n_embd)`` with ``n_embd`` an
        unannotated constructor argument) are sizes from code."""
        if not any(isinstance(a, Obj) for a in list(args[1:]) + list(kwargs.values())):
            return args, kwargs
        bound = rule.bind(tuple(args), kwargs)
        if bound is None:
            return args, kwargs
        names = list(bound.arguments)
        args = list(args)
        for i, a in enumerate(args):
            if i > 0 and isinstance(a, Obj) and i < len(names) and names[i] in _SIZE_PARAMS:
                args[i] = self.as_size_sym(a)
        kwargs = {k: self.as_size_sym(v) if isinstance(v, Obj) and k in _SIZE_PARAMS else v for k, v in kwargs.items()}
        return tuple(args), kwargs

    def run_rules(self, q, node, args, kwargs, result, init=None, problems: frozenset = frozenset()):
        upstream = _after_error(args) | _after_error(tuple(kwargs.values())) | problems
        if upstream and isinstance(result, Shape):
            result = result.with_meta(after_error=upstream)
        if not self.rules or not self.reporting:
            return result
        ctx = RuleContext(self.mod.path, self.env, function=self.qualname)
        ev = CallEvent(q, node, tuple(args), dict(kwargs), result, init,
                       args[0] if args and q.startswith("torch.Tensor.") else None)
        for r in self.rules:
            try:
                r.on_call(ev, ctx)
            except Exception:
                if self.mod.strict:
                    raise
        reported = set()
        for code, rnode, message, notes, help in ctx.reports:
            if code in upstream:
                continue  # the same finding again downstream of the first one
            self.diag(rnode, code, message, notes, help)
            if rnode is node:
                reported.add(code)
        if ctx.result_tags and isinstance(result, Shape):
            result = result.with_meta(**ctx.result_tags)
        if reported and isinstance(result, Shape):
            result = result.with_meta(after_error=upstream | frozenset(reported))
        return result

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
            return False
        if self.clean_view(sdims, odims):
            return False
        if src.get_meta("reinterpreted"):
            return True
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
            moved_axes = _moved_factor(pre_s, pre_o, sdims)
            if moved_axes is None:
                unclear = True  # an axis moved by a factor we cannot name: memory reinterpreted on purpose?
                continue
            moved = [x for x in sdims[:i] if x not in odims[:j]] or [x for x in sdims[i + 1:] if x in odims[:j]]
            other = moved[0] if moved else None
            self.diag(node, "SHP109",
                      f"{'view' if 'view' in str(getattr(node.func, 'attr', '')) else 'reshape'} moves axis "
                      f"{qd(d)} across {qd(other) if other is not None else 'other axes'}: "
                      f'"{src}" cannot become "{out}" without reordering data',
                      notes=(_axis_origin_note(src, i, src.label or "the input", self.env),),
                      help="permute or transpose the axes into the target order first, then reshape")
            return False
        return unclear

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
    def construct_user(self, ref: ClassRef, args, kwargs, node):
        cls = ref.cls
        if not cls.is_module:
            return OPAQUE
        return ModuleVal(cls.qualname, None, None, cls, tuple(args), tuple(kwargs.items()))

    def call_module(self, m: ModuleVal, args, kwargs, node):
        if m.children:
            v = args[0] if args else OPAQUE
            for child in m.children:
                v = self.call_module(child, [v], {}, node) if isinstance(v, Shape) else OPAQUE
            return v
        if m.rule is not None:
            # what a module is called with is a tensor, even when we know nothing else about it
            args = [ANY_SHAPE if isinstance(a, Obj) else a for a in args]
            return self.apply_rule(m.qualname, tuple(args), kwargs, node, known=True, rule=m.rule,
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
        if len(args) > len(params) or lam.args.vararg or lam.args.kwarg or self.depth >= _MAX_DEPTH:
            return OPAQUE
        state = dict(ref.closure or {})
        for p, v in zip(params, args):
            state[p] = v
        for k, v in kwargs.items():
            state[k] = v
        return self.ev(lam.body, state)

    def call_user(self, ref: FuncRef, args, kwargs, node, display=None):
        fn = ref.node
        info = ref.info
        if isinstance(fn, ast.Lambda):
            return self.call_lambda(ref, args, kwargs, node)
        display = display or (f"{ref.bound_self.cls.name}.{ref.name}" if ref.bound_self else ref.name)
        a = fn.args
        params = list(a.posonlyargs) + list(a.args)
        if ref.bound_self is not None and params and params[0].arg in ("self", "cls"):
            params = params[1:]
        bound = {}
        for p, v in zip(params, args):
            bound[p.arg] = v
        names = {p.arg for p in params} | {p.arg for p in a.kwonlyargs}
        for k, v in kwargs.items():
            if k in names:
                bound[k] = v
        # the callee's axis names are instantiated for this call; its int parameters and the int
        # attributes of its module bridge to axis names of the same spelling
        inst: dict = {}
        for k, v in bound.items():
            if isinstance(v, Expr):
                inst[k] = v
                inst.setdefault("@where", {})[k] = f"argument `{k}`"
        if ref.bound_self is not None:
            for k, v in ref.bound_self.attrs.items():
                if isinstance(v, Expr) and k not in inst:
                    inst[k] = v
                    inst.setdefault("@where", {})[k] = f"`self.{k}`"
        annotated = False
        reported = False
        for p in params + list(a.kwonlyargs):
            try:
                ann = read_annotation(p.annotation, info.imports)
            except AnnotError:
                continue
            if ann is None or ann.spec is None:
                continue
            annotated = True
            v = bound.get(p.arg)
            if not isinstance(v, Shape):
                continue
            problems = match_spec(ann.spec, v, self.env, inst, f"argument `{p.arg}`")
            if reported:
                continue  # one diagnostic per call: later arguments were bound against a wrong one
            reported = bool(problems)
            for pr in problems[:1]:
                if pr.kind == "rank":
                    self.diag(node, "SHP105", f"argument `{p.arg}` of `{display}` has {pr.actual} axes where "
                                              f'its annotation "{ann.spec.text}" has {pr.expected}',
                              notes=(f"inferred shape: {v}",))
                else:
                    where = f" (bound by {pr.bound_at})" if pr.bound_at else ""
                    at = f"at axis {pr.index}" if pr.index is not None else f'in "{pr.name}"'
                    self.diag(node, "SHP105",
                              f"argument `{p.arg}` of `{display}` has {qd(pr.actual)} {at} "
                              f'where "{pr.name}" is {qd(pr.expected)}{where}',
                              notes=(_axis_origin_note(v, pr.index, f"`{p.arg}`", self.env)
                                     if pr.index is not None else None,))
        try:
            ret = read_annotation(fn.returns, info.imports)
        except AnnotError:
            ret = None
        if ret is not None:
            if ret.spec is None:
                return ANY_SHAPE
            out = instantiate(ret.spec, inst)
            return Shape(out.dims, (f"return annotation of `{display}`",) * len(out.dims))
        if annotated and fn.returns is not None:
            return OPAQUE
        # unannotated: analyse the body with these arguments (depth-limited, silently, memoised),
        # only when a tensor of known shape goes in — otherwise nothing useful can come out
        if self.depth >= _MAX_DEPTH:
            return OPAQUE
        if not any(isinstance(v, Shape) and not v.is_any for v in bound.values()):
            if ref.bound_self is None or not any(isinstance(v, Shape) for v in ref.bound_self.attrs.values()):
                return OPAQUE
        try:
            key = (id(fn), id(ref.bound_self), tuple(sorted((k, _freeze_value(v)) for k, v in bound.items())))
            hash(key)
        except TypeError:
            key = None
        memo = self.mod.__dict__.setdefault("_call_memo", {})
        if key is not None and key in memo:
            return memo[key]
        if key is not None:
            memo[key] = OPAQUE  # recursion guard
        given = dict(bound)
        sub = FunctionAnalysis(info, fn, self_val=ref.bound_self, args=given, depth=self.depth + 1,
                               report=False)
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
        if key is not None:
            memo[key] = v
        return v


def _moved_factor(pre_s: Expr, pre_o: Expr, sdims) -> list | None:
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
    if not all(isinstance(a, Sym) for a in diff):
        return None
    return list(diff)


def _after_error(values) -> frozenset:
    """The codes already reported upstream of these values (the same code is not reported again)."""
    out = frozenset()
    for v in values:
        if isinstance(v, Shape) and v.get_meta("after_error"):
            out |= v.get_meta("after_error")
        elif isinstance(v, tuple):
            out |= _after_error(v)
    return out


def _dim_sym(name: str | None, group: str):
    return UNKNOWN if name is None else sym(name, group)


def _display(q: str, rule) -> str:
    """The operation's name in messages: ``mul`` for ``torch.Tensor.__rmul__``, ``softmax`` for ``F.softmax``."""
    name = q.rsplit(".", 1)[-1]
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
        if name.startswith("r") and name[1:] in _DUNDER_NAMES:
            name = name[1:]
        return {"truediv": "div", "floordiv": "floor_divide", "getitem": "indexing"}.get(name, name)
    return name or rule.display


_DUNDER_NAMES = {"add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor"}


_EINOPS_PATTERN_OPS = {"einops.rearrange", "einops.reduce", "einops.repeat"}


def _expand_for_pattern(x, pattern):
    """``rearrange(t, "b n (h d) -> ...")`` on ``"... e"``: a pattern without ``...`` fixes the rank."""
    if not isinstance(x, Shape) or not isinstance(pattern, str) or x.variadic_index != 0 or "->" not in pattern:
        return x
    lhs = pattern.split("->", 1)[0]
    if "..." in lhs:
        return x
    depth = 0
    count = 0
    for tok in lhs.replace("(", " ( ").replace(")", " ) ").split():
        if tok == "(":
            if depth == 0:
                count += 1
            depth += 1
        elif tok == ")":
            depth -= 1
        elif depth == 0:
            count += 1
    k = count - (len(x.dims) - 1)
    if k < 0:
        return x
    origins = ((None,) * k + tuple(x.origins[1:])) if x.origins else ()
    return Shape((UNKNOWN,) * k + tuple(x.dims[1:]), origins, x.label, x.meta)


_LEAD = Sym("__leading_axes__", "code")
_DIM_PARAMS = {"dim", "dim0", "dim1", "dims", "source", "destination", "start_dim", "end_dim"}


def _leading_variadic_call(rule, args, kwargs):
    """``x.chunk(3, dim=-1)`` on ``"... d"``: when every dim argument counts from the end, the op only
    touches the known trailing axes, so the leading ``...`` can stand in as one placeholder axis."""
    if not args or not isinstance(args[0], Shape):
        return None
    x = args[0]
    if x.variadic_index != 0 or len(x.dims) < 2 or x.dims[0] != Variadic(None):
        return None
    bound = rule.bind(args, kwargs)
    if bound is None:
        return None
    dims = [v for k, v in bound.arguments.items() if k in _DIM_PARAMS]
    if not dims:
        return None
    flat = []
    for v in dims:
        flat.extend(v if isinstance(v, tuple) else [v])
    m = len(x.dims) - 1
    for v in flat:
        iv = v.value if isinstance(v, Expr) else (v if isinstance(v, int) and not isinstance(v, bool) else None)
        if iv is None or not -m <= iv < 0:
            return None
    placeholder = Expr(((((_LEAD, 1),), 1),))
    return Shape((placeholder,) + x.dims[1:], x.origins, x.label, x.meta)


def _restore_variadic(result, lead: Shape):
    if isinstance(result, tuple):
        out = tuple(_restore_variadic(r, lead) for r in result)
        return None if any(r is None and o is not None for r, o in zip(out, result)) else out
    if not isinstance(result, Shape):
        return result
    dims = list(result.dims)
    if not dims or dims[0] != lead.dims[0] or any(_LEAD in d.symbols() for d in dims[1:] if isinstance(d, Expr)):
        return None
    return Shape((Variadic(None),) + tuple(dims[1:]), result.origins, result.label, result.meta)


def _freeze_value(v):
    if isinstance(v, Shape):
        return ("shape", v.dims)
    if isinstance(v, (SelfVal, ListOf, dict, list)):
        return ("id", id(v))
    return v


def _is_number(v) -> bool:
    return v is SCALAR or isinstance(v, (Expr, float)) or (isinstance(v, int) and not isinstance(v, bool))


def _number(v):
    """The value of a number known exactly (a literal size, an int or a float), else None."""
    if isinstance(v, Expr):
        return v.value
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    return None


def _sanitize(v):
    """Values the op rules understand; anything else is OPAQUE."""
    if v is SCALAR:
        return OPAQUE  # a number of unknown value (an arange bound, a size): not a value to compute with
    if v is None or isinstance(v, (Shape, Expr, bool, int, float, str, slice)) or v is Ellipsis:
        return v
    if isinstance(v, tuple):
        return tuple(_sanitize(x) for x in v)
    if isinstance(v, SizeOf):
        return v.shape  # a torch.Size: the rules take a Shape for it
    return OPAQUE


def _size_item(v):
    return v if isinstance(v, Expr) else UNKNOWN


_SIZE_LIST_OPS = {"view", "reshape", "expand", "repeat", "permute", "tile", "new_zeros", "new_ones", "new_empty",
                  "new_full", "zeros", "ones", "empty", "randn", "rand", "full", "unflatten", "broadcast_to"}


def _size(v):
    if isinstance(v, Expr):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return const(v)
    return UNKNOWN


def _axis_origin_note(shape: Shape, i: int, who: str, env: Env) -> str | None:
    if not isinstance(shape, Shape) or i is None:
        return None
    d = shape.axis(i)
    if d is None or isinstance(d, (Unknown, Variadic)):
        return None
    origin = shape.origin(i)
    text = f"{qd(env.resolve(d))} is axis {i} of {who}"
    return text + (f" ({origin})" if origin else "")


def _reveal_text(v, env: Env) -> str:
    if isinstance(v, Shape):
        return " ".join(str(env.resolve(d)) if isinstance(d, Expr) else str(d) for d in v.dims)
    if isinstance(v, tuple) and all(isinstance(x, Shape) for x in v) and v:
        return ", ".join(_reveal_text(x, env) for x in v)
    return "..."


_EXPECTS_ERROR = {"pytest.raises", "unittest.TestCase.assertRaises"}
_SIZE_PARAMS = {"split_size_or_sections", "split_size", "chunks", "sections", "repeats", "num_classes",
                "out_features", "in_features", "num_embeddings", "embedding_dim", "upscale_factor"}
_VIEW_OPS = {"torch.Tensor.view", "torch.Tensor.reshape", "torch.reshape"}
_SHAPE_PRESERVING_UNKNOWN = set()
_ALIASES = {
    "torch.nn.modules.linear.Linear": "torch.nn.Linear",
    "torch.functional.einsum": "torch.einsum",
}

_TENSOR_METHODS = None


def _TENSOR_METHOD_HINT(name: str) -> bool:
    """On a receiver of unknown type, only names that are tensor methods in the rule table count."""
    global _TENSOR_METHODS
    if _TENSOR_METHODS is None:
        from ._ops import RULES

        lookup("")
        _TENSOR_METHODS = {n[13:] for n in RULES if n.startswith("torch.Tensor.") and not n.startswith("torch.Tensor.__")}
    return name in _TENSOR_METHODS
