"""A function's signature as the engine sees it: each annotation read once per function.

The same function is entered from its definition and from every call site; its annotations are
read here the first time and kept in the file's :class:`~._memo.ModuleMemo`.
"""

from __future__ import annotations

import ast
import dataclasses
import os
from dataclasses import dataclass

from .._core._annot import AnnotError, TensorAnnot, read_annotation
from ._memo import per_node


@dataclass(frozen=True)
class Param:
    arg: ast.arg
    annot: TensorAnnot | None  # None: no tensor annotation (or one with a syntax error, reported elsewhere)
    default: ast.expr | None
    keyword_only: bool


@dataclass(frozen=True)
class Signature:
    params: tuple  # Param, positional ones first, then keyword-only
    returns: TensorAnnot | None
    returns_written: bool  # the function has a return annotation (of any type)
    recorded: bool = False  # some annotations are shapes recorded by ``shapecheck trace`` (``--shapes``)
    star_args: bool = False  # it takes ``*args``
    star_kwargs: bool = False  # it takes ``**kwargs``
    wrapped: bool = False  # a decorator may take its calls (and other arguments than its parameters)

    @property
    def param_axes(self) -> frozenset:
        """The axis names the parameters' annotations name."""
        out = frozenset()
        for p in self.params:
            if p.annot is not None and p.annot.spec is not None:
                out |= p.annot.spec.names()
        return out

    @property
    def param_bound(self) -> frozenset:
        """The names the parameters bind: their axis names and their variadics' names."""
        out = self.param_axes
        for p in self.params:
            if p.annot is not None and p.annot.spec is not None:
                out |= {x.name for x in p.annot.spec.axes if x.variadic and x.name}
        return out

    @property
    def return_axes(self) -> frozenset:
        return self.returns.spec.names() if self.returns is not None and self.returns.spec is not None \
            else frozenset()


def _read(node, imports) -> TensorAnnot | None:
    try:
        return read_annotation(node, imports)
    except AnnotError:
        return None


def read_signature(fn: ast.FunctionDef, imports, recorded: dict | None = None) -> Signature:
    """``recorded``: annotation texts recorded by a run for what the source leaves unannotated
    (parameter name or ``"return"`` -> ``'Float[Tensor, "batch seq"]'``)."""
    a = fn.args
    positional = list(a.posonlyargs) + list(a.args)
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    used = []

    def read(node, name):
        if node is None and recorded and name in recorded:
            ann = _read_recorded(recorded[name], fn.lineno, imports)
            if ann is not None:
                used.append(name)
            return ann
        return _read(node, imports)

    params = [Param(p, read(p.annotation, p.arg), d, False) for p, d in zip(positional, defaults)]
    params += [Param(p, read(p.annotation, p.arg), d, True) for p, d in zip(a.kwonlyargs, a.kw_defaults)]
    returns = read(fn.returns, "return")
    return Signature(tuple(params), returns, fn.returns is not None or "return" in used, bool(used),
                     a.vararg is not None, a.kwarg is not None,
                     any(_decorator_name(d) not in _PLAIN_DECORATORS for d in fn.decorator_list))


# decorators that call the function with the arguments its own calls pass
_PLAIN_DECORATORS = frozenset({"staticmethod", "classmethod", "no_grad", "inference_mode", "enable_grad"})


def _decorator_name(node) -> str:
    """``no_grad`` of ``@torch.no_grad()``, ``staticmethod`` of ``@staticmethod``."""
    if isinstance(node, ast.Call):
        node = node.func
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


_RECORDED_NAMES = {"Float": "jaxtyping.Float", "Int": "jaxtyping.Int", "Bool": "jaxtyping.Bool",
                   "Shaped": "jaxtyping.Shaped", "Tensor": "torch.Tensor"}


def _read_recorded(text: str, line: int, imports) -> TensorAnnot | None:
    """A recorded annotation's text read as if written on the function's line (the names it uses are
    jaxtyping's and torch's, whatever the file imports)."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    for n in ast.walk(node):
        n.lineno, n.col_offset = line, 0
    names = dict(imports.names)
    names.update(_RECORDED_NAMES)
    return _read(node, dataclasses.replace(imports, names=names))


def signature_of(fn: ast.FunctionDef, info) -> Signature:
    """``fn``'s signature, read with the imports of its file ``info`` and remembered there."""
    return per_node(info.memo.signatures, fn, lambda: read_signature(fn, info.imports, _recorded_for(fn, info)))


def _recorded_for(fn: ast.FunctionDef, info) -> dict | None:
    """The annotations ``check --shapes`` recorded for ``fn`` (a function or a method of a class)."""
    entries = getattr(info.settings, "entry_shapes", ())
    if not entries:
        return None
    path = os.path.abspath(info.path)
    qualname = fn.name
    if info.functions.get(fn.name) is not fn:
        owner = next((c for c in info.classes.values() if c.methods.get(fn.name) is fn), None)
        if owner is None:
            return None
        qualname = f"{owner.name}.{fn.name}"
    found = {name: text for p, q, name, text in entries if q == qualname and p == path}
    return found or None
