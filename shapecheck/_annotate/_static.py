"""What the source says about each function, read with the standard library's ``ast`` (never run).

For annotate's names: the parameters and their annotations, the locals that hold a size of a
parameter (``B, T, C = x.size()``, ``n = x.shape[0]``), and every name the body mentions (the code's
own use, which settles a size that two ints in scope share).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

__all__ = ["FunctionFacts", "analyse", "class_size_args"]


@dataclass
class FunctionFacts:
    qualname: str
    line: int
    params: list = field(default_factory=list)  # names, in order (self included)
    annotations: dict = field(default_factory=dict)  # name -> ast annotation node
    defaults_none: set = field(default_factory=set)  # parameters whose default is None
    returns: ast.expr | None = None
    axis_locals: dict = field(default_factory=dict)  # (param, axis index, may be negative) -> local name
    unpacked: list = field(default_factory=list)  # names of each `a, b, c = x.size()`, in order
    referenced: set = field(default_factory=set)  # Name ids and attribute names used in the body
    size_args: set = field(default_factory=set)  # names passed to a call (``nn.Linear(d, cfg.vocab)``)


# calls whose arguments are not sizes of what they make (``min(top_k, n)`` computes one)
_NOT_SIZES = {"range", "len", "print", "isinstance", "getattr", "setattr", "hasattr", "enumerate", "zip",
              "min", "max", "abs", "int", "float", "round", "str", "bool"}


def _shape_source(node: ast.AST) -> str | None:
    """``x`` when ``node`` is ``x.shape`` or ``x.size()`` for a plain name ``x``."""
    if isinstance(node, ast.Attribute) and node.attr == "shape" and isinstance(node.value, ast.Name):
        return node.value.id
    if isinstance(node, ast.Call) and not node.args and not node.keywords and \
            isinstance(node.func, ast.Attribute) and node.func.attr == "size" and isinstance(node.func.value, ast.Name):
        return node.func.value.id
    return None


def _int_const(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) is int:
        return -node.operand.value
    return None


def _one_size(node: ast.AST) -> tuple[str, int] | None:
    """(``x``, ``i``) when ``node`` is ``x.shape[i]``, ``x.size(i)``, ``x.size()[i]`` or ``x.size(dim=i)``."""
    if isinstance(node, ast.Subscript):
        src = _shape_source(node.value)
        i = _int_const(node.slice)
        if src is not None and i is not None:
            return src, i
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "size" \
            and isinstance(node.func.value, ast.Name):
        arg = node.args[0] if len(node.args) == 1 and not node.keywords else \
            (node.keywords[0].value if not node.args and len(node.keywords) == 1 and node.keywords[0].arg == "dim"
             else None)
        i = _int_const(arg) if arg is not None else None
        if i is not None:
            return node.func.value.id, i
    return None


class _Collector(ast.NodeVisitor):
    def __init__(self):
        self.out: dict[str, FunctionFacts] = {}
        self.stack: list[str] = []

    def _qual(self, name: str) -> str:
        return ".".join(self.stack + [name])

    def visit_ClassDef(self, node):
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    def visit_FunctionDef(self, node):
        facts = FunctionFacts(self._qual(node.name), node.lineno)
        a = node.args
        positional = a.posonlyargs + a.args
        for arg in positional + a.kwonlyargs:
            facts.params.append(arg.arg)
            if arg.annotation is not None:
                facts.annotations[arg.arg] = arg.annotation
        defaults = list(zip(positional[len(positional) - len(a.defaults):], a.defaults)) + \
            [(k, d) for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
        for arg, d in defaults:
            if isinstance(d, ast.Constant) and d.value is None:
                facts.defaults_none.add(arg.arg)
        facts.returns = node.returns
        params = set(facts.params)
        for sub in _walk_body(node):
            if isinstance(sub, ast.Name):
                facts.referenced.add(sub.id)
            elif isinstance(sub, ast.Attribute):
                facts.referenced.add(sub.attr)
            elif isinstance(sub, ast.Call) and not (isinstance(sub.func, ast.Name) and sub.func.id in _NOT_SIZES):
                for arg in list(sub.args) + [k.value for k in sub.keywords]:
                    if isinstance(arg, ast.Name):
                        facts.size_args.add(arg.id)
                    elif isinstance(arg, ast.Attribute):
                        facts.size_args.add(arg.attr)
            if isinstance(sub, ast.Assign) and len(sub.targets) == 1:
                self._sizes(sub.targets[0], sub.value, params, facts)
        self.out.setdefault(facts.qualname, facts)
        self.stack.extend([node.name, "<locals>"])
        self.generic_visit(node)
        del self.stack[-2:]

    visit_AsyncFunctionDef = visit_FunctionDef

    @staticmethod
    def _sizes(target, value, params, facts):
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            _Collector._paired(target.elts, value.elts, params, facts)
            return
        if isinstance(target, ast.Tuple) and all(isinstance(e, (ast.Name, ast.Starred)) for e in target.elts):
            src = _shape_source(value)
            if src not in params:
                return
            elts = target.elts
            star = next((i for i, e in enumerate(elts) if isinstance(e, ast.Starred)), None)
            names = []
            for i, e in enumerate(elts):
                if isinstance(e, ast.Starred):
                    continue
                index = i if star is None or i < star else i - len(elts)
                if e.id != "_":
                    facts.axis_locals.setdefault((src, index), e.id)
                    names.append(e.id)
            facts.unpacked.append(tuple(names))
        elif isinstance(target, ast.Name):
            one = _one_size(value)
            if one is not None and one[0] in params:
                facts.axis_locals.setdefault(one, target.id)

    @staticmethod
    def _paired(targets, values, params, facts):
        """``n, d = x.shape[1], x.device`` and ``b, *axis, _, dev = *x.shape, x.device``."""
        if values and isinstance(values[0], ast.Starred) and _shape_source(values[0].value) in params \
                and not any(isinstance(v, ast.Starred) for v in values[1:]):
            src = _shape_source(values[0].value)
            star = next((i for i, e in enumerate(targets) if isinstance(e, ast.Starred)), None)
            tail = len(values) - 1  # targets at the end that take the other values
            shape_targets = targets[:len(targets) - tail] if tail else targets
            for i, e in enumerate(shape_targets):
                if not isinstance(e, ast.Name) or e.id == "_":
                    continue
                index = i if star is None or i < star else i - len(shape_targets)
                facts.axis_locals.setdefault((src, index), e.id)
            return
        if len(targets) != len(values) or any(isinstance(e, ast.Starred) for e in targets + values):
            return
        for t, v in zip(targets, values):
            if isinstance(t, ast.Name):
                one = _one_size(v)
                if one is not None and one[0] in params:
                    facts.axis_locals.setdefault(one, t.id)


def _walk_body(fn):
    """The nodes of ``fn``'s body, not descending into nested functions and classes."""
    todo = list(fn.body)
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                todo.append(child)


def analyse(tree: ast.Module) -> dict[str, FunctionFacts]:
    c = _Collector()
    c.visit(tree)
    return c.out


def class_size_args(facts: dict) -> dict:
    """Per method qualname, the names its class passes to calls in any of its methods."""
    by_class: dict = {}
    for q, f in facts.items():
        owner = q.rsplit(".", 1)[0] if "." in q else None
        if owner is not None and not owner.endswith("<locals>"):
            by_class.setdefault(owner, set()).update(f.size_args)
    return {q: by_class.get(q.rsplit(".", 1)[0], set()) if "." in q else set() for q in facts}
