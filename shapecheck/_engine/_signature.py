"""A function's signature as the engine sees it: each annotation read once per function.

The same function is entered from its definition and from every call site; its annotations are
read here the first time and kept in the file's :class:`~._memo.ModuleMemo`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .._core._annot import AnnotError, TensorAnnot, read_annotation


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


def read_signature(fn: ast.FunctionDef, imports) -> Signature:
    a = fn.args
    positional = list(a.posonlyargs) + list(a.args)
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    params = [Param(p, _read(p.annotation, imports), d, False) for p, d in zip(positional, defaults)]
    params += [Param(p, _read(p.annotation, imports), d, True) for p, d in zip(a.kwonlyargs, a.kw_defaults)]
    return Signature(tuple(params), _read(fn.returns, imports), fn.returns is not None)


def signature_of(fn: ast.FunctionDef, info) -> Signature:
    """``fn``'s signature, read with the imports of its file ``info`` and remembered there."""
    memo = info.memo.signatures
    hit = memo.get(id(fn))
    if hit is not None and hit[0] is fn:
        return hit[1]
    sig = read_signature(fn, info.imports)
    memo[id(fn)] = (fn, sig)
    return sig
