"""What the engine did while analysing one function: one event per operation, seen by an observer."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .._core._settings import Settings
from .._engine import FunctionAnalysis
from .._engine._module import ModuleInfo
from .._engine._values import FuncRef, SelfVal
from .._lint._driver import _load_rules


@dataclass
class Event:
    """One operation at one ``ast`` node: a shape rule (``ref`` None) or a call into user code."""

    node: ast.AST
    name: str
    args: tuple
    kwargs: dict
    result: object
    ref: FuncRef | None = None
    problems: tuple = ()


class Recorder:
    """The engine's observer: keeps the last event of every node (a loop's passes, the options of a
    call join into one), and chains a container's layers (``nn.Sequential``) into one event."""

    def __init__(self):
        self.events: dict = {}  # id(node) -> Event

    def _keep(self, ev: Event) -> None:
        prev = self.events.get(id(ev.node))
        if prev is not None and ev.args and ev.args[0] is prev.result and prev.result is not None:
            # the next layer of the same container: the input is the first layer's
            ev = Event(ev.node, prev.name, prev.args, prev.kwargs, ev.result, prev.ref or ev.ref,
                       prev.problems + ev.problems)
        self.events[id(ev.node)] = ev

    def op(self, node, name, args, kwargs, result, problems) -> None:
        self._keep(Event(node, name, tuple(args), dict(kwargs), result, None, tuple(problems)))

    def user_call(self, node, ref, args, kwargs, result) -> None:
        if isinstance(ref.node, ast.Lambda):
            return
        self._keep(Event(node, ref.name, tuple(args), dict(kwargs), result, ref))


@dataclass
class Analysed:
    """One function analysed with the recorder on."""

    qualname: str
    fn: ast.FunctionDef
    info: ModuleInfo
    events: dict
    diags: list
    env: object
    self_val: SelfVal | None = None
    children: dict = field(default_factory=dict)  # id(call node) -> Analysed (an expanded call)


def module_info(path: str, source: str) -> ModuleInfo:
    """Raises SyntaxError when ``source`` is not Python."""
    tree = ast.parse(source, filename=path)
    return ModuleInfo(path, tree, Settings(), None, "")


def targets(info: ModuleInfo) -> dict:
    """Qualified name -> (function node, class or None): every module class's ``forward`` and every
    top-level function whose signature has a tensor annotation; methods are reachable by name too."""
    from .._engine._signature import signature_of

    out = {}
    for name, fn in info.functions.items():
        sig = signature_of(fn, info)
        if sig.returns is not None or any(p.annot is not None for p in sig.params):
            out[name] = (fn, None)
    for cls in info.classes.values():
        if cls.is_module and "forward" in cls.methods:
            out[cls.name] = (cls.methods["forward"], cls)
    return out


def candidates(info: ModuleInfo) -> list:
    """Every name ``PATH::QUALNAME`` accepts."""
    names = set(targets(info)) | set(info.functions)
    for cls in info.classes.values():
        names |= {f"{cls.name}.{m}" for m in cls.methods if m != "__init__"}
        if "forward" in cls.methods:
            names.add(cls.name)
    return sorted(names)


def resolve(info: ModuleInfo, qualname: str):
    """(function node, class or None) for a name of :func:`candidates`, or None."""
    if qualname in info.functions:
        return info.functions[qualname], None
    cls_name, _, meth = qualname.partition(".")
    for cls in info.classes.values():
        if cls.name == cls_name:
            meth = meth or "forward"
            if meth in cls.methods and meth != "__init__":
                return cls.methods[meth], cls
    return None


def analyse(info: ModuleInfo, fn: ast.FunctionDef, cls, depth: int = 0) -> Analysed:
    """``fn`` analysed as the linter analyses it (a method on a generic instance of its class)."""
    rules = _load_rules(info.settings)
    sv = None
    if cls is not None:
        try:
            sv, _ = info.generic_instance(cls, rules)
        except Exception:  # noqa: BLE001 - as the linter: the methods are analysed all the same
            sv = SelfVal(cls, {})
    is_static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)
    fa = FunctionAnalysis(info, fn, self_val=None if is_static else sv, rules=rules)
    name = fn.name if cls is None else f"{cls.name}.{fn.name}"
    return _run(fa, name, depth)


def _run(fa: FunctionAnalysis, name: str, depth: int) -> Analysed:
    rec = Recorder()
    fa.recorder = rec
    fa.run()
    out = Analysed(name, fa.node, fa.mod, rec.events, list(fa.diags), fa.env, fa.self_val)
    if depth > 0:
        for key, ev in rec.events.items():
            if ev.ref is not None and isinstance(ev.ref.node, ast.FunctionDef):
                out.children[key] = _expand(ev, depth - 1)
    return out


def _expand(ev: Event, depth: int) -> Analysed:
    """A user call's body analysed with the call's arguments (nothing reported: the linter reports
    the callee's own findings on the callee)."""
    ref = ev.ref
    fn = ref.node
    params = [a.arg for a in list(fn.args.posonlyargs) + list(fn.args.args)]
    if ref.bound_self is not None and params and params[0] in ("self", "cls"):
        params = params[1:]
    bound = dict(zip(params, ev.args))
    names = params + [a.arg for a in fn.args.kwonlyargs]
    bound.update({k: v for k, v in ev.kwargs.items() if k in names})
    fa = FunctionAnalysis(ref.info, fn, self_val=ref.bound_self, args=bound, report=False)
    name = f"{ref.bound_self.cls.name}.{fn.name}" if ref.bound_self is not None else fn.name
    return _run(fa, name, depth)
