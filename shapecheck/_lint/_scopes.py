"""Which names a string in an annotation can see: a small scope resolver over ``ast``.

pyflakes (and ruff's F821) reads a string inside an annotation as a forward reference and looks
the name up once the whole module is read: in the scope that holds the annotation, then in the
enclosing function scopes (class bodies are skipped, as Python skips them), then in the module,
then in the builtins. SHP002 asks this module whether a one-axis dimension string would be
reported there, so it warns only where the other tool really would.

What counts as binding a name in a scope: assignments of every kind (``=``, ``+=``, annotated,
``:=``, ``for``, ``with ... as``, ``except ... as``, ``match`` captures), imports, ``def`` and
``class``, parameters, ``global``/``nonlocal`` declarations, and a bare annotation (``x: int``).
A ``from m import *`` in a visible scope makes every name possibly bound: pyflakes reports F405
there, never F821.
"""

from __future__ import annotations

import ast
import builtins

__all__ = ["AnnotationScopes"]

_BUILTINS = frozenset(dir(builtins)) | {"__file__", "__builtins__", "__annotations__", "WindowsError"}


class _ClassBodyNames:
    names = dir()  # what a class body sees before its own statements (``__module__``, ``__qualname__``...)


_CLASS_MAGIC = frozenset(n for n in _ClassBodyNames.names if n.startswith("__"))


class _Scope:
    __slots__ = ("kind", "parent", "names", "star")

    def __init__(self, kind: str, parent: "_Scope | None"):
        self.kind = kind  # "module" | "class" | "function"
        self.parent = parent
        self.names: set = set()
        self.star = False


class AnnotationScopes:
    """Every string constant inside an annotation of a module, with the scope it is looked up in."""

    def __init__(self, tree: ast.Module, filename: str = ""):
        self.module = _Scope("module", None)
        self._where: dict = {}  # id(ast.Constant) -> _Scope of the annotation
        self._is_init = filename.replace("\\", "/").rsplit("/", 1)[-1] == "__init__.py"
        self._walk_body(tree.body, self.module)

    # -- queries --------------------------------------------------------------------------------
    def resolves(self, node: ast.AST, name: str) -> bool:
        """Does ``name``, written in the annotation string ``node``, resolve (so F821 is not reported)?"""
        scope = self._where.get(id(node))
        if scope is None:
            return True  # not an annotation: pyflakes does not read the string at all
        first = scope
        while scope is not None:
            if scope is first or scope.kind != "class":
                if name in scope.names or scope.star:
                    return True
            scope = scope.parent
        if name in _BUILTINS:
            return True
        if name == "__path__" and self._is_init:
            return True
        return first.kind == "class" and name in _CLASS_MAGIC

    # -- building -------------------------------------------------------------------------------
    def _annotation(self, node, scope: _Scope) -> None:
        if node is None:
            return
        for sub in ast.walk(node):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                self._where[id(sub)] = scope
        self._expr(node, scope)

    def _walk_body(self, body, scope: _Scope) -> None:
        for stmt in body:
            self._stmt(stmt, scope)

    def _stmt(self, node, scope: _Scope) -> None:
        # PEP 695 type parameters are visible to the annotations (counted in the enclosing scope: a
        # name bound there too can only make a report less likely)
        scope.names.update(p.name for p in getattr(node, "type_params", ()) or () if getattr(p, "name", None))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            scope.names.add(node.name)
            for d in node.decorator_list:
                self._expr(d, scope)
            a = node.args
            params = a.posonlyargs + a.args + a.kwonlyargs + [p for p in (a.vararg, a.kwarg) if p]
            for p in params:
                self._annotation(p.annotation, scope)
            self._annotation(node.returns, scope)
            for d in a.defaults + [d for d in a.kw_defaults if d is not None]:
                self._expr(d, scope)
            inner = _Scope("function", scope)
            inner.names.update(p.arg for p in params)
            self._walk_body(node.body, inner)
        elif isinstance(node, ast.ClassDef):
            scope.names.add(node.name)
            for e in node.bases + [k.value for k in node.keywords] + node.decorator_list:
                self._expr(e, scope)
            self._walk_body(node.body, _Scope("class", scope))
        elif isinstance(node, ast.AnnAssign):
            self._annotation(node.annotation, scope)
            if node.value is not None:
                if _is_type_alias(node.annotation):
                    self._annotation(node.value, scope)
                else:
                    self._expr(node.value, scope)
            self._target(node.target, scope)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    scope.star = True
                else:
                    scope.names.add(alias.asname or alias.name.split(".")[0])
        elif type(node).__name__ == "TypeAlias":  # ``type X = ...`` (Python 3.12)
            scope.names.add(node.name.id)
            self._annotation(node.value, scope)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            scope.names.update(node.names)
            if isinstance(node, ast.Global):
                self.module.names.update(node.names)
        else:
            for field, value in ast.iter_fields(node):
                if isinstance(value, list):
                    for v in value:
                        self._child(v, scope, field)
                elif isinstance(value, ast.AST):
                    self._child(value, scope, field)

    def _child(self, v, scope: _Scope, field: str) -> None:
        if isinstance(v, ast.stmt):
            self._stmt(v, scope)
        elif isinstance(v, ast.expr):
            if field in ("targets", "target", "optional_vars"):
                self._target(v, scope)
            else:
                self._expr(v, scope)
        elif isinstance(v, ast.ExceptHandler):
            if v.name:
                scope.names.add(v.name)
            if v.type is not None:
                self._expr(v.type, scope)
            self._walk_body(v.body, scope)
        elif isinstance(v, ast.AST):  # withitem, match_case, pattern, ...
            for sub in ast.walk(v):
                if isinstance(sub, (ast.MatchAs, ast.MatchStar)) and sub.name:
                    scope.names.add(sub.name)
                elif isinstance(sub, ast.MatchMapping) and sub.rest:
                    scope.names.add(sub.rest)
            for field2, value in ast.iter_fields(v):
                for x in value if isinstance(value, list) else [value]:
                    if isinstance(x, (ast.stmt, ast.expr)):
                        self._child(x, scope, field2)

    def _target(self, node, scope: _Scope) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                scope.names.add(sub.id)
            elif isinstance(sub, (ast.Subscript, ast.Attribute)):
                self._expr(sub, scope)

    def _expr(self, node, scope: _Scope) -> None:
        # a walrus binds in the enclosing scope; lambdas and comprehensions bind only inside themselves,
        # and hold no annotations
        for sub in ast.walk(node):
            if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                scope.names.add(sub.target.id)


def _is_type_alias(node) -> bool:
    return (isinstance(node, ast.Name) and node.id == "TypeAlias") or \
        (isinstance(node, ast.Attribute) and node.attr == "TypeAlias")
