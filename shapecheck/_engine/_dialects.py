"""Annotation names a project re-exports: ``Float``, ``Int``, ``Tensor`` from its own typing module.

Projects often write ``from myproj.typing import Float, Tensor`` (or ``from .typing import *``),
where ``myproj/typing.py`` re-exports jaxtyping's dtypes and torch's ``Tensor``, or defines its own
``Float`` around jaxtyping (read with a single dimension string, ``Float["b n d"]``). The
``shape-modules`` setting names such modules by hand; here they are found by following the file's
imports into the project (the modules read are dependencies of the file's cached result).
"""

from __future__ import annotations

import ast

from .._core._annot import DTYPES, from_module, import_statements

__all__ = ["adopt_project_typing", "exports_of"]

_NAMES = DTYPES | {"Tensor"}


def adopt_project_typing(info, tree: ast.Module) -> None:
    """Widen ``info.imports`` with the dtypes and tensor types its project imports re-export."""
    project = info.project
    if project is None:
        return
    imp = info.imports
    wanted: dict = {}  # module -> names imported from it (None: a star import)
    for local, q in imp.names.items():
        mod, _, name = q.rpartition(".")
        if name not in _NAMES or not mod or mod == "jaxtyping" or mod.startswith(("jaxtyping.", "torch")):
            continue
        if name == "Tensor" and q in imp.tensor_types or imp.is_dtype(q):
            continue
        wanted.setdefault(mod, set()).add(name)
    for node in import_statements(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            anchor = f"{info.modname}.__init__" if info.path.endswith(("__init__.py", "__init__.pyi")) else info.modname
            mod = from_module(node, anchor) if node.level else (node.module or "")
            if mod and mod != "jaxtyping" and not mod.startswith(("jaxtyping.", "torch")) \
                    and mod not in imp.shape_modules:
                wanted[mod] = None
    for mod, names in wanted.items():
        exported = _exports(info, mod)
        if not exported:
            continue
        if any(kind == "dtype" for kind in exported.values()) and mod not in imp.shape_modules:
            imp.shape_modules = tuple(imp.shape_modules) + (mod,)
        for name, kind in exported.items():
            if kind == "tensor":
                imp.tensor_types = imp.tensor_types | {f"{mod}.{name}"}
            if names is None:  # a star import binds what the module exports
                imp.names.setdefault(name, f"{mod}.{name}")


def _exports(info, mod: str) -> dict:
    """``{name: "dtype" | "tensor"}`` for the annotation names project module ``mod`` offers."""
    mod = info.project.local_name(mod, info.path)
    info.project.note_read(info.modname, mod)
    dropped = info.project.dropped(mod, info.settings)
    if dropped is not None:  # its summary kept what it offers
        return dict(dropped.summary.exports)
    other = info.project.module_info(mod, info.settings)
    if other is None or other is info:
        return {}
    return exports_of(other)


def exports_of(other) -> dict:
    """``{name: "dtype" | "tensor"}`` for the annotation names the module ``other`` offers."""
    oimp = other.imports
    uses_jaxtyping = any(q == "jaxtyping" or q.startswith("jaxtyping.") for q in oimp.names.values())
    out = {}
    for name in _NAMES:
        q = oimp.names.get(name)
        if name == "Tensor":
            if q is not None and q in oimp.tensor_types:
                out[name] = "tensor"
            continue
        if q is not None and oimp.is_dtype(q):
            out[name] = "dtype"
        elif uses_jaxtyping and (name in other.classes or name in other.functions or _assigned(other.tree, name)):
            out[name] = "dtype"  # the project's own ``Float`` built on jaxtyping
    return out


def _assigned(tree: ast.Module, name: str) -> bool:
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
    return False
