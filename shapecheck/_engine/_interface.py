"""What other files can see of a module: the digest a cached result depends on.

A file's cached result stays valid while its own text and the *interface* of every module its
analysis reached are unchanged. The interface is what the engine reads from another module: its
imports (names, re-exports), module-level statements other than functions and classes (constants,
aliases), each class's name, bases, keywords, decorators and class-level statements, and each
function's and method's signature. A body is part of the interface when the engine analyses it at
a call from another file: ``__init__`` (a module's ``self`` is built from it) and every callee that
``call_user`` does not settle from its annotations alone (no tensor return annotation, and not
"tensor parameters plus a return annotation"), a pytest fixture's (a test in another file takes
its value), and the ``forward`` of a subclass of a torch layer (whether it is that layer). A body edit
elsewhere changes nothing here.
"""

from __future__ import annotations

import ast
import hashlib

from ._signature import signature_of

__all__ = ["interface_digest"]

ABSENT = "absent"


def _body_read(fn, info) -> bool:
    """Whether a call from another file analyses ``fn``'s body (mirrors ``_user.call_user``)."""
    if fn.name == "__init__" or any(_named_fixture(d) for d in fn.decorator_list):
        return True  # a module's ``self`` is built from ``__init__``; a test's fixture is run for its value
    try:
        sig = signature_of(fn, info)
    except Exception:  # noqa: BLE001 - unreadable annotations: keep the body, to be safe
        return True
    if sig.returns is not None:
        return False
    annotated = any(p.annot is not None and p.annot.spec is not None for p in sig.params)
    return not (annotated and sig.returns_written)


def _named_fixture(d) -> bool:
    """``@pytest.fixture`` / ``@fixture(...)``: a test takes the fixture's return value."""
    d = d.func if isinstance(d, ast.Call) else d
    return isinstance(d, ast.Attribute) and d.attr == "fixture" or isinstance(d, ast.Name) and d.id == "fixture"


def _function(fn, info, out: list) -> None:
    body = fn.body
    if not _body_read(fn, info):
        fn.body = []  # the signature alone (dumped without the body, then restored)
    try:
        out.append(ast.dump(fn, include_attributes=False))
    finally:
        fn.body = body


def _class(cls: ast.ClassDef, info, out: list) -> None:
    out.append("class " + cls.name + "(" + ",".join(ast.dump(b) for b in cls.bases + cls.keywords) + ")"
               + "@" + ",".join(ast.dump(d) for d in cls.decorator_list))
    # a subclass of a torch layer is that layer or not by its ``forward``'s body (``ClassInfo.library_layer``)
    layer = len(cls.bases) == 1 and (info.imports.qualify(cls.bases[0]) or "").startswith("torch.nn.")
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if layer and node.name == "forward":
                out.append(ast.dump(node, include_attributes=False))
                continue
            _function(node, info, out)
        elif isinstance(node, ast.ClassDef):
            _class(node, info, out)
        else:
            out.append(ast.dump(node, include_attributes=False))


def interface_digest(info) -> str:
    """The digest of what other files can read of the module ``info`` (a ``ModuleInfo``)."""
    out: list = [info.modname]
    for node in info.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _function(node, info, out)
        elif isinstance(node, ast.ClassDef):
            _class(node, info, out)
        else:  # imports, constants, aliases, and anything a later reader may learn to use
            out.append(ast.dump(node, include_attributes=False))
    return hashlib.blake2b("\n".join(out).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
