"""What other files read of a module, kept after the project lets go of its parsed tree.

When the project drops a parsed module to stay within its memory budget (``Project.release``), it
keeps a :class:`ModuleSummary`: the names of its top-level functions and classes, each function's
signature (as a call reads it) and line, whether each class is an ``nn.Module``, the annotation
names it re-exports to its project's typing imports (``_dialects``), its axis aliases, and the
names it imports (what it re-exports: its imported names and the modules of its star imports). A later
file that reaches the module is answered from the summary: a name that is neither a function nor a
class resolves to nothing; a function or class resolves to a reference that is answered from the
summary as long as the call needs no body (a call settled by the annotations, an unannotated callee
given no tensor of known shape, a class that is not an ``nn.Module``, an ``nn.Module`` check), and
parses the module again only when it does (a body to analyse, a module's ``__init__`` and
``forward``). A fact the summary did not learn while the module was held (whether a class is an
``nn.Module`` when no file asked) is also read by parsing again. The answers are those a fresh parse
gives: the summary only repeats what was read from the same text.
"""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass
from typing import Any

from ._callables import may_give_layer
from ._signature import Param, Signature, signature_of

__all__ = ["ClassFacts", "Dropped", "FunctionFacts", "ModuleSummary", "call_signature", "summarise"]


@dataclass(frozen=True)
class FunctionFacts:
    """A top-level function: its signature as a call reads it (None when it could not be read), its
    line, and whether it may return a layer (``_callables.may_give_layer``)."""

    signature: Any
    lineno: int
    gives_layer: bool = True


@dataclass(frozen=True)
class ClassFacts:
    """A top-level class: whether it is an ``nn.Module`` (None when that was never decided), and the
    library layer it is (``ClassInfo.library_layer``: read from its own text, so always known)."""

    is_module: bool | None
    library_layer: str | None = None


@dataclass(frozen=True, eq=False)
class ModuleSummary:
    modname: str
    path: str
    functions: dict  # name -> FunctionFacts
    classes: dict  # name -> ClassFacts
    exports: dict  # the annotation names it offers a typing import: name -> "dtype" | "tensor"
    axis_aliases: Any  # its imports' axis aliases (the names its annotations bridge to)
    reexports: dict = dataclasses.field(default_factory=dict)  # imported name -> the qualified name it names
    star_modules: tuple = ()  # the modules of its ``from m import *``


class Dropped:
    """The way back to a dropped module: its summary, and the project that parses it again."""

    __slots__ = ("summary", "project", "settings")

    def __init__(self, summary: ModuleSummary, project, settings):
        self.summary, self.project, self.settings = summary, project, settings

    def load(self):
        """The module parsed again (None when it no longer parses)."""
        return self.project.module_info(self.summary.modname, self.settings)


def summarise(info, previous: ModuleSummary | None, exports: dict) -> ModuleSummary:
    """The summary of the held module ``info`` (a ``ModuleInfo``) as it is dropped. Each top-level
    function's signature is read now unless an earlier summary of the same text has it (a later
    file's call is the common reason to reach a dropped module again), kept as what a call reads of
    it (:func:`call_signature`)."""
    old_f = previous.functions if previous is not None else {}
    old_c = previous.classes if previous is not None else {}
    functions = {}
    for name, fn in info.functions.items():
        sig = old_f[name].signature if name in old_f else None
        if sig is None:
            try:
                sig = call_signature(signature_of(fn, info))
            except Exception:  # noqa: BLE001 - read again (and fail the same way) at the call
                sig = None
        functions[name] = FunctionFacts(sig, fn.lineno, may_give_layer(fn))
    classes = {}
    for name, cls in info.classes.items():
        known = cls.known_module
        if known is None and name in old_c:
            known = old_c[name].is_module
        classes[name] = ClassFacts(known, cls.library_layer)
    return ModuleSummary(info.modname, info.path, functions, classes, exports, info.imports.axis_aliases,
                         dict(info.imports.names), info.star_modules)


def call_signature(sig: Signature) -> Signature:
    """``sig`` as a call from another file reads it (``_user.call_user_body``): each parameter's name,
    kind and tensor annotation, and the return annotation. The parameters' annotation expressions and
    defaults other than constants are left out, so that the summary holds none of the module's tree
    beyond constants (a body's analysis reads the signature of the parsed module again)."""
    params = tuple(Param(ast.arg(arg=p.arg.arg), p.annot, p.default if isinstance(p.default, ast.Constant) else None,
                         p.keyword_only) for p in sig.params)
    return dataclasses.replace(sig, params=params)
