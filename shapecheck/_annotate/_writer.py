"""Insert planned annotations into source with libcst; everything outside the edits keeps its bytes.

libcst is imported here only, when annotate runs: the linter never needs it.
"""

from __future__ import annotations

import ast

__all__ = ["WriterError", "apply_plans", "needed_imports"]

JAXTYPING_NAMES = ("Float", "Int", "Bool", "Complex", "Shaped")


class WriterError(Exception):
    pass


def _libcst():
    try:
        import libcst
    except ImportError:
        raise WriterError("annotate needs libcst: pip install 'shapecheck[annotate]' (or pip install libcst)") from None
    return libcst


def _bound_names(tree: ast.Module) -> dict:
    """Top-level names bound by imports: name -> (module, original name) (module None for others)."""
    out: dict = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            for a in node.names:
                out[a.asname or a.name] = (node.module, a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = (None, a.name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.setdefault(node.name, (None, node.name))
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out.setdefault(t.id, (None, t.id))
    return out


def needed_imports(tree: ast.Module, texts) -> tuple[list[str], bool, list[str]]:
    """(jaxtyping names to import, whether ``Tensor`` must be imported from torch, conflicts)."""
    used = {n for n in JAXTYPING_NAMES if any(f"{n}[" in t for t in texts)}
    bound = _bound_names(tree)
    missing, conflicts = [], []
    for n in sorted(used, key=JAXTYPING_NAMES.index):
        have = bound.get(n)
        if have is None:
            missing.append(n)
        elif have != ("jaxtyping", n):
            conflicts.append(n)
    tensor = bound.get("Tensor")
    need_tensor = tensor is None
    if tensor is not None and tensor != ("torch", "Tensor"):
        conflicts.append("Tensor")
    return missing, need_tensor, conflicts


def _insert_at(cst, module) -> int:
    """Index of the top-level statement after which the new imports go: the last import of the
    leading block (after the docstring when there is no import), -1 for the very top."""
    index = -1
    for i, stmt in enumerate(module.body):
        small = stmt.body if isinstance(stmt, cst.SimpleStatementLine) else None
        if small and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in small):
            index = i
        elif i == 0 and small and len(small) == 1 and isinstance(small[0], cst.Expr) and \
                isinstance(small[0].value, (cst.SimpleString, cst.ConcatenatedString)):
            index = i
        else:
            break
    return index


def apply_plans(source: str, plans, tree: ast.Module) -> tuple[str, list[str]]:
    """``source`` with the plans' annotations and the imports they need; and any conflicts found."""
    cst = _libcst()
    by_qual = {p.qualname: p for p in plans if p.params or p.returns}
    if not by_qual:
        return source, []
    texts = [t for p in by_qual.values() for t in list(p.params.values()) + ([p.returns] if p.returns else [])]
    missing, need_tensor, conflicts = needed_imports(tree, texts)
    if conflicts:
        return source, conflicts
    module = cst.parse_module(source)

    class Annotator(cst.CSTTransformer):
        def __init__(self):
            self.stack: list[str] = []

        def visit_ClassDef(self, node):
            self.stack.append(node.name.value)

        def leave_ClassDef(self, original, updated):
            self.stack.pop()
            return updated

        def visit_FunctionDef(self, node):
            self.stack.append(node.name.value)
            self.stack.append("<locals>")

        def leave_FunctionDef(self, original, updated):
            del self.stack[-2:]
            qual = ".".join(self.stack + [original.name.value])
            plan = by_qual.get(qual)
            if plan is None:
                return updated
            params = updated.params

            def annotate(p):
                text = plan.params.get(p.name.value)
                if text is None or p.annotation is not None:
                    return p
                changes = {"annotation": cst.Annotation(cst.parse_expression(text))}
                if p.default is not None:
                    changes["equal"] = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(" "),
                                                       whitespace_after=cst.SimpleWhitespace(" "))
                return p.with_changes(**changes)

            params = params.with_changes(
                posonly_params=[annotate(p) for p in params.posonly_params],
                params=[annotate(p) for p in params.params],
                kwonly_params=[annotate(p) for p in params.kwonly_params])
            changes = {"params": params}
            if plan.returns and updated.returns is None:
                changes["returns"] = cst.Annotation(
                    cst.parse_expression(plan.returns),
                    whitespace_before_indicator=cst.SimpleWhitespace(" "),
                    whitespace_after_indicator=cst.SimpleWhitespace(" "))
            return updated.with_changes(**changes)

    module = module.visit(Annotator())
    new_imports = []
    if missing:
        new_imports.append(f"from jaxtyping import {', '.join(missing)}\n")
    if need_tensor:
        new_imports.append("from torch import Tensor\n")
    if new_imports:
        stmts = [cst.parse_statement(s) for s in new_imports]
        at = _insert_at(cst, module)
        body = list(module.body)
        if at < 0:
            body = stmts + body
        else:
            body = body[:at + 1] + stmts + body[at + 1:]
        module = module.with_changes(body=body)
    return module.code, []
