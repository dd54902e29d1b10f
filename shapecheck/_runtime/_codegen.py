"""Generate, once per signature, a wrapper whose body is straight-line Python: ``isinstance``,
dtype set membership and ``.shape`` comparisons inline, no loops, no dicts, no data access.

The source is our own text, built from the parsed annotation and compiled with ``compile``. Any
failed comparison hands the call to the interpreter (``_interp``), which re-checks it and raises
the :class:`ShapeError` with the full message; under ``torch.compile`` it raises a short message
instead (tracing the interpreter would break the graph).
"""

from __future__ import annotations

import ast
import inspect
import linecache

from beartype.roar import BeartypeCallHintViolation

from torch.compiler import is_compiling as _is_compiling

from ._errors import Place, compiled_message
from ._interp import EMPTY, MISSING, LocalChecker, Plan, return_checked, seeded_env
from ._spec import TensorSpec, TupleSpec, TypeSpec, checker

__all__ = ["generate", "is_simple"]

_P = inspect.Parameter


def _straight(spec: TensorSpec) -> bool:
    """False for the axes the generated code leaves to the interpreter: run-time-only axes
    (f-strings, builtin calls), the bare ``*`` and broadcast variadics (which merge across
    arguments)."""
    return not any(a.deferred is not None or (a.variadic and (a.broadcast or a.name == ""))
                   for a in spec.shape.axes)


def _plain_or_tensor(spec) -> bool:
    if isinstance(spec, TensorSpec):
        return _straight(spec)
    return spec is None or isinstance(spec, TypeSpec)


def is_simple(plan: Plan) -> bool:
    """True when the fast path can express the whole check (else the interpreter does it)."""
    for p in plan.params:
        if p.spec is None:
            continue
        if p.kind in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD) or not _plain_or_tensor(p.spec):
            return False
    r = plan.ret
    if isinstance(r, TupleSpec):
        return not r.variable and not r.optional and all(
            (isinstance(i, TensorSpec) and _straight(i)) or (isinstance(i, TypeSpec) and i.plain_class
                                                             and not i.optional)
            for i in r.items)
    return _plain_or_tensor(r)


class _Gen:
    def __init__(self, plan: Plan, pre: str):
        self.plan = plan
        self.pre = pre
        self.ns: dict = {}
        self.lines: list = []
        self.state: dict = {}  # dim var -> "sure" | "maybe"
        self.maybe_vars: set = set()
        self.deferred: list = []  # (axis spec, capture var, capture is maybe)
        self.n = 0
        self.depth = 1
        self.fail = ""
        self.cond = False  # inside a conditional block
        self.sites: list = []

    # -- helpers ------------------------------------------------------------------------------
    def fresh(self, stem: str) -> str:
        self.n += 1
        return f"{self.pre}{stem}{self.n}"

    def const(self, obj, stem: str = "k") -> str:
        for k, v in self.ns.items():
            if v is obj and k.startswith(self.pre + stem):
                return k
        name = self.fresh(stem)
        self.ns[name] = obj
        return name

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def site(self, text: str) -> str:
        self.sites.append(text)
        return self.fail.replace("@SITE@", str(len(self.sites) - 1))

    def dimvar(self, name: str, variadic: bool = False) -> str:
        return f"{self.pre}{'v' if variadic else 'd'}_{name}"

    def bind_or_compare(self, var: str, got: str, fail: str, broadcast: bool, variadic: bool) -> None:
        st = self.state.get(var)
        if broadcast and not variadic:
            self.emit(f"if {got} != 1:")
            self.depth += 1
        if st is None:
            if got != var:
                self.emit(f"{var} = {got}")
            new = "maybe" if (self.cond or broadcast) else "sure"
            self.state[var] = new
            if new == "maybe":
                self.maybe_vars.add(var)
        else:
            cmp = (f"not {self.pre}bcast({got}, {var})" if (broadcast and variadic) else f"{got} != {var}")
            if st == "sure":
                self.emit(f"if {cmp}: {fail}")
            else:
                self.emit(f"if {var} is None: {var} = {got}")
                self.emit(f"elif {cmp}: {fail}")
        if broadcast and not variadic:
            self.depth -= 1

    # -- checks -------------------------------------------------------------------------------
    def tensor(self, spec: TensorSpec, val: str, what: Place) -> None:
        fail = self.site(compiled_message(self.plan.name, what))
        t = self.const(spec.array_type, "T")
        self.emit(f"if not isinstance({val}, {t}): {fail}")
        if spec.dtypes is not None:
            self.emit(f"if {val}.dtype not in {self.const(spec.dtypes, 'F')}: {fail}")
        s = f"{self.pre}s"
        axes = spec.shape.axes
        vi = spec.shape.variadic_index
        n = len(axes)
        whole = []  # when every axis is a known size, one tuple comparison does it all
        for a in axes:
            var = self.dimvar(a.name) if a.kind == "named" else None
            if a.broadcast or a.variadic:
                break
            if a.kind == "fixed":
                whole.append(str(a.value))
            elif var is not None and self.state.get(var) == "sure":
                whole.append(var)
            else:
                break
        else:
            tup = "(" + "".join(w + ", " for w in whole)[:-2] + ("," if len(whole) == 1 else "") + ")"
            self.emit(f"if {val}.shape != {tup}: {fail}")
            return
        self.emit(f"{s} = {val}.shape")
        unpacked: dict = {}
        if vi is None:
            self.emit(f"if len({s}) != {n}: {fail}")
            if n >= 2:
                names = []
                for i, a in enumerate(axes):
                    var = self.dimvar(a.name) if a.kind == "named" else None
                    if a.kind == "anon":
                        names.append(f"{self.pre}u")
                    elif (var is not None and not a.broadcast and var not in self.state and not self.cond
                          and sum(b.kind == "named" and b.name == a.name for b in axes) == 1):
                        names.append(var)  # a first binding: unpack straight into it
                    else:
                        names.append(f"{self.pre}a{i}")
                self.emit(", ".join(names) + f" = {s}")
                unpacked = dict(enumerate(names))
        else:
            self.emit(f"{self.pre}n = len({s})")
            self.emit(f"if {self.pre}n < {n - 1}: {fail}")
        for i, a in enumerate(axes):
            if a.variadic:
                if a.kind == "anon":
                    continue
                after = n - 1 - i
                got = f"tuple({s}[{i}:{self.pre}n - {after}])" if after else f"tuple({s}[{i}:])"
                self.bind_or_compare(self.dimvar(a.name, True), got, fail, a.broadcast, True)
                continue
            if a.kind == "anon":
                continue
            idx = str(i) if (vi is None or i < vi) else f"{self.pre}n - {n - i}"
            got = unpacked.get(i) or f"{s}[{idx}]"
            if a.kind == "fixed":
                if a.broadcast:
                    self.emit(f"{self.pre}x = {got}")
                    self.emit(f"if {self.pre}x != {a.value} and {self.pre}x != 1: {fail}")
                else:
                    self.emit(f"if {got} != {a.value}: {fail}")
            elif a.kind == "expr":
                cap = self.fresh("e")
                self.emit(f"{cap} = {got}")
                if self.cond:
                    self.maybe_vars.add(cap)
                self.deferred.append((a, cap, self.cond, fail))
            else:
                if a.broadcast:
                    self.emit(f"{self.pre}x = {got}")
                    got = f"{self.pre}x"
                self.bind_or_compare(self.dimvar(a.name), got, fail, a.broadcast, False)

    def flush(self) -> None:
        for a, cap, cap_maybe, fail in self.deferred:
            tree = ast.parse(a.body, mode="eval")
            names = sorted({nd.id for nd in ast.walk(tree) if isinstance(nd, ast.Name)})
            dvars = [self.dimvar(nm) for nm in names]
            unbound = [v for v in dvars if self.state.get(v) is None]
            if unbound:  # never bound: the interpreter raises (as jaxtyping does)
                self.emit(f"if {cap} is not None: {fail}" if cap_maybe else fail)
                continue
            for nd in ast.walk(tree):
                if isinstance(nd, ast.Name):
                    nd.id = self.dimvar(nd.id)
            expr = ast.unparse(tree)
            maybe = [v for v in dvars if self.state[v] == "maybe"]
            if maybe:  # a name that may be unbound at run time: the interpreter decides
                test = " or ".join(f"{v} is None" for v in maybe)
                self.emit(f"if {cap} is not None and ({test}): {fail}" if cap_maybe else f"if {test}: {fail}")
            guards = [f"{v} is not None" for v in maybe]
            if cap_maybe:
                guards.append(f"{cap} is not None")
            risky = any(isinstance(nd, ast.BinOp) and isinstance(nd.op, (ast.Div, ast.FloorDiv, ast.Mod))
                        and not isinstance(nd.right, ast.Constant) for nd in ast.walk(tree))
            test = " and ".join(guards + [f"{cap} != ({expr})"])
            if risky:
                self.emit("try:")
                self.emit(f"    {self.pre}x = {test}")
                self.emit(f"except ArithmeticError: {self.pre}x = False")
                self.emit(f"if {self.pre}x: {fail}")
            else:
                self.emit(f"if {test}: {fail}")
        self.deferred = []

    def typecheck(self, spec: TypeSpec, val: str, what: Place) -> None:
        fail = self.site(compiled_message(self.plan.name, what))
        if spec.plain_class:
            self.emit(f"if not isinstance({val}, {self.const(spec.hint, 'C')}): {fail}")
            return
        c = self.const(checker(spec), "bt")
        self.emit("try:")
        self.emit(f"    {c}({val})")
        self.emit(f"except {self.pre}BTV: {fail}")

    def shape_guard(self, start: int, text: str) -> None:
        """Put the checks emitted since ``start`` in a ``try``: reading ``.shape`` of a strided
        nested tensor raises RuntimeError, which hands the call to the interpreter (a try block
        costs nothing when nothing is raised)."""
        if start == len(self.lines):
            return
        body = ["    " + ln for ln in self.lines[start:]]
        pad = "    " * self.depth
        self.lines[start:] = [pad + "try:"] + body + [pad + f"except RuntimeError: {self.site(text)}"]

    def gated(self, cond: str | None, body) -> None:
        if cond is None:
            body()
            return
        self.emit(f"if {cond}:")
        self.depth += 1
        saved = self.cond
        self.cond = True
        body()
        self.cond = saved
        self.depth -= 1

    def check_spec(self, spec, val: str, what: Place, default_var: str | None) -> None:
        conds = []
        if default_var is not None:  # an argument left out keeps its default, unchecked
            conds.append(f"{val} is not {default_var}")
        if spec.optional:
            conds.append(f"{val} is not None")

        def body() -> None:
            if isinstance(spec, TensorSpec):
                self.tensor(spec, val, what)
            else:
                self.typecheck(spec, val, what)

        self.gated(" and ".join(conds) or None, body)


def _key_of(var: str, pre: str) -> str:
    kind, name = var[len(pre)], var[len(pre) + 2:]
    return "*" + name if kind == "v" else name


def _dim_vars(spec, g: _Gen) -> set:
    """The dim variables a spec reads (named axes, variadics, names in arithmetic axes)."""
    out: set = set()
    if isinstance(spec, TensorSpec):
        for a in spec.shape.axes:
            if a.kind == "named":
                out.add(g.dimvar(a.name, a.variadic))
            elif a.expr is not None:
                out |= {g.dimvar(sym.name) for sym in a.expr.symbols()}
    elif isinstance(spec, TupleSpec):
        for item in spec.items:
            out |= _dim_vars(item, g)
    return out


def _filled(p, gen: _Gen) -> str:
    if p.spec is None or p.default is EMPTY:
        return p.name
    return f"({gen.const(p.default, 'D')} if {p.name} is {gen.const(MISSING, 'M')} else {p.name})"


def _prefix(plan: Plan) -> str:
    k = 0
    while True:
        pre = "_sc_" if k == 0 else f"_sc{k}_"
        if not any(p.name.startswith(pre) for p in plan.params):
            return pre
        k += 1


def _signature_text(plan: Plan, gen: _Gen) -> tuple:
    """The wrapper's parameter list and the call of the function (left-out defaults filled in)."""
    parts, call = [], []
    seen_kwonly = False
    had_posonly = False
    for p in plan.params:
        txt = p.name
        if p.kind == _P.VAR_POSITIONAL:
            txt = "*" + p.name
            seen_kwonly = True
            call.append("*" + p.name)
        elif p.kind == _P.VAR_KEYWORD:
            txt = "**" + p.name
            call.append("**" + p.name)
        elif p.kind == _P.KEYWORD_ONLY:
            if not seen_kwonly:
                parts.append("*")
                seen_kwonly = True
            call.append(f"{p.name}={_filled(p, gen)}")
        else:
            call.append(_filled(p, gen))
        if p.kind != _P.POSITIONAL_ONLY and had_posonly:
            parts.append("/")
            had_posonly = False
        if p.kind == _P.POSITIONAL_ONLY:
            had_posonly = True
        if p.default is not EMPTY:
            txt += "=" + (gen.const(MISSING, "M") if p.spec is not None else gen.const(p.default, "D"))
        parts.append(txt)
    if had_posonly:
        parts.append("/")
    return ", ".join(parts), ", ".join(call), ", ".join(_raw_call(plan))


def _raw_call(plan: Plan) -> list:
    out = []
    for p in plan.params:
        if p.kind == _P.VAR_POSITIONAL:
            out.append("*" + p.name)
        elif p.kind == _P.VAR_KEYWORD:
            out.append("**" + p.name)
        elif p.kind == _P.KEYWORD_ONLY:
            out.append(f"{p.name}={p.name}")
        else:
            out.append(p.name)
    return out


def generate(plan: Plan, counter, state, decide, slow, slow_ret, bcast, own_sampling: bool, interpreted: bool):
    """Source and namespace of the wrapper of ``plan``; returns the wrapper function."""
    pre = _prefix(plan)
    g = _Gen(plan, pre)
    g.ns.update({f"{pre}fn": plan.fn, f"{pre}S": state, f"{pre}decide": decide, f"{pre}ctr": counter,
                 f"{pre}slow": slow, f"{pre}slow_ret": slow_ret, f"{pre}bcast": bcast,
                 f"{pre}BTV": BeartypeCallHintViolation})
    sig, call, raw = _signature_text(plan, g)
    argdict = "{" + ", ".join(f"{p.name!r}: {p.name}" for p in plan.params) + "}"
    head = [f"def {pre}wrapper({sig}):"]
    if own_sampling:
        head.append(f"    if {pre}decide({pre}ctr): return {pre}fn({call})")
    else:
        head.append(f"    if not {pre}S.fast:")
        head.append(f"        if {pre}decide({pre}ctr): return {pre}fn({call})")
    if interpreted:
        g.emit(f"return {pre}slow(-1, {argdict})")
    else:
        g.fail = f"return {pre}slow(@SITE@, {argdict})"
        start = len(g.lines)
        for p in plan.params:
            if p.spec is None:
                continue
            dv = g.const(MISSING, "M") if p.default is not EMPTY else None
            g.check_spec(p.spec, p.name, Place("argument", p.name), dv)
        g.flush()
        g.shape_guard(start, compiled_message(plan.name, None, "has no fixed shape"))

        r = f"{pre}r"
        ret = plan.ret
        if plan.env_param is not None:
            # annotated locals: hand the bindings to the interpreter's local checker
            g.ns.update({f"{pre}plan": plan, f"{pre}seed": seeded_env, f"{pre}LC": LocalChecker,
                         f"{pre}retck": return_checked})
            values = ", ".join(f"{_key_of(v, pre)!r}: {v}" for v in g.state)
            g.emit(f"{pre}env = {pre}LC({pre}plan, {pre}seed({pre}plan, {argdict}, {{{values}}}))")
            extra = f"{plan.env_param}={pre}env"
            g.emit(f"{r} = {pre}fn({call + ', ' if call else ''}{extra})")
            if ret is not None and not all(g.state.get(v) == "sure" for v in _dim_vars(ret, g)):
                g.emit(f"return {pre}retck({pre}plan, {pre}env.env, {r})")
                ret = r = None
        else:
            g.emit(f"{r} = {pre}fn({call})")
        if ret is not None:
            g.fail = f"return {pre}slow_ret(@SITE@, {argdict}, {r})"
            if isinstance(ret, TupleSpec):
                start = len(g.lines)
                fail = g.site(compiled_message(plan.name, Place("return")))
                g.emit(f"if not isinstance({r}, tuple) or len({r}) != {len(ret.items)}: {fail}")
                for k, item in enumerate(ret.items):
                    iv = g.fresh("ri")
                    g.emit(f"{iv} = {r}[{k}]")
                    g.check_spec(item, iv, Place("return", None, (str(k),)), None)
            else:
                start = len(g.lines)
                g.check_spec(ret, r, Place("return"), None)
            g.flush()
            g.shape_guard(start, compiled_message(plan.name, Place("return"), "has no fixed shape"))
        if r is not None:
            g.emit(f"return {r}")
    init = ["    " + f"{v} = None" for v in sorted(g.maybe_vars)]
    src = "\n".join(head + init + g.lines) + "\n"
    filename = f"<shapecheck guard of {plan.name}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    g.ns["__builtins__"] = __builtins__
    exec(compile(src, filename, "exec"), g.ns)  # our own generated source
    real = g.ns[f"{pre}wrapper"]
    # What is returned first runs a bootstrap: on its first call outside torch.compile it puts the
    # checking code in place, or a plain pass-through when ``@typing.no_type_check`` was applied
    # above the guard (as jaxtyping honours it); later calls cost nothing extra.
    boot = (f"def {pre}wrapper({sig}):\n"
            f"    if {pre}compiling(): return {pre}real({raw})\n"
            f"    return {pre}install()({raw})\n"
            f"def {pre}pass({sig}):\n"
            f"    return {pre}fn({call})\n")
    exec(compile(boot, filename, "exec"), g.ns)  # our own generated source
    wrapper = g.ns[f"{pre}wrapper"]
    passthrough = g.ns[f"{pre}pass"]

    def install():
        chosen = passthrough if wrapper.__dict__.get("__no_type_check__") else real
        wrapper.__code__ = chosen.__code__
        return chosen

    g.ns.update({f"{pre}real": real, f"{pre}install": install, f"{pre}compiling": _is_compiling})
    wrapper.__shapecheck_source__ = src
    wrapper.__shapecheck_sites__ = tuple(g.sites)
    return wrapper
