"""The interface between the inference engine and the lint rules in ``shapecheck.rules``.

The engine analyses each function and, for every call it evaluates (functions, methods, operators,
module calls), gives a :class:`CallEvent` to each enabled rule that can match it: a rule declares the
qualified names it reads in ``calls`` (:func:`dispatch_table` indexes them once per set of rules). A rule inspects the argument shapes
(with their per-axis provenance in ``Shape.origins`` and their labels), compares axes through
``ctx`` (which knows the scope's bindings), reports through ``ctx.report`` and may attach metadata
to the call's result through ``ctx.tag_result`` (e.g. "this tensor is a softmax over axis k"), which
the engine carries along with the value through assignments and shape-preserving ops.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

from .._core._roles import role_of
from .._core._unify import Env, compare


@dataclass
class CallEvent:
    qualname: str | None  # "torch.nn.functional.softmax", "torch.Tensor.softmax", "torch.Tensor.__matmul__",
    #                       module classes as "torch.nn.Conv2d" (with ``init``), user classes as "<module>.Class"
    node: ast.AST  # the ast.Call / ast.BinOp
    args: tuple  # positional values: Shape for tensors, int/Expr, str, bool, None, OPAQUE
    kwargs: dict
    result: Any  # what the engine inferred (Shape, tuple of Shape, or None)
    init: dict | None = None  # bound constructor arguments for a module call
    receiver: Any = None  # for methods: the value the method was called on (also args[0])


@dataclass(frozen=True)
class LintReport:
    """One finding of a lint rule, to become a diagnostic at ``node``."""

    code: str
    node: ast.AST
    message: str
    notes: tuple = ()
    help: str | None = None
    fix: Any = None  # a Fix whose edits count columns in UTF-8 bytes from 1, as `ast` does


@dataclass
class RuleContext:
    path: str
    env: Env
    reports: list = field(default_factory=list)  # LintReport, in the order reported
    result_tags: dict = field(default_factory=dict)
    function: str | None = None  # qualified name of the function being analysed
    symbol_roles: dict = field(default_factory=dict)  # sizes whose role the function established (Sym -> role)
    scope: ast.AST | None = None  # the function (or module) being analysed, for rules that read the code around a call
    uses: dict = field(default_factory=dict)  # id(call node) -> what its value's later uses state (``_uses.Uses``)
    qualify: Any = None  # the file's imports: an expression to the qualified name it refers to (``F.kl_div``), or None

    def compare(self, a, b) -> str:
        """``eq`` / ``ne`` / ``unknown`` under the scope's bindings."""
        return compare(a, b, self.env)

    def resolve(self, d):
        return self.env.resolve(d)

    def role(self, v, i: int):
        """The role of axis ``i`` of ``v`` (``shapecheck._core._roles``), or None when unknown."""
        return role_of(v, i, self.symbol_roles, self.env.resolve)

    def use_roles(self, node: ast.AST, rank: int | None = None) -> dict:
        """``{axis: role}`` that the uses of the value the call at ``node`` makes state (``x[arange(n), labels]``
        makes axis 0 the batch and axis 1 classes); such a use also proves two axes or more. A use that does not
        (a sum of terms over the last axis) counts only for a value of ``rank`` two or more."""
        u = self.uses.get(id(node))
        if u is None or not u.shows_axes and (rank is None or rank < 2):
            return {}
        return u.roles

    def use_why(self, node: ast.AST) -> str | None:
        """The use that stated :meth:`use_roles` of the call at ``node``, in words (for a note)."""
        u = self.uses.get(id(node))
        return u.why if u is not None else None

    def report(self, code: str, node: ast.AST, message: str, notes=(), help: str | None = None, fix=None) -> None:
        self.reports.append(LintReport(code, node, message, tuple(n for n in notes if n), help, fix))

    def tag_result(self, key: str, value: Any) -> None:
        self.result_tags[key] = value


class LintRule:
    """Base class of a rule: one per file in ``rules/``.

    Subclasses set ``code``, ``name`` (kebab-case), the docstring (sections *What it does*,
    *Why is this bad?*, *Example*, *Use instead*, *Known problems*), and ``VALID``/``INVALID``
    source snippets (every INVALID snippet must yield ``code``; VALID ones nothing).

    ``calls`` names every call the rule reads (qualified names, as in ``CallEvent.qualname``): the
    engine hands the rule only those calls. ``None`` hands it every call.
    """

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    severity: ClassVar[str] = "error"
    fixable: ClassVar[bool] = False  # some of its reports carry a fix (``ctx.report(..., fix=...)``)
    # a report means the call only runs by making two sizes one that the code means to differ (a sequence
    # of one position): its result is unknown downstream, like that of an op whose shapes do not fit
    unknown_after: ClassVar[bool] = False
    VALID: ClassVar[list] = []
    INVALID: ClassVar[list] = []
    calls: ClassVar[frozenset | None] = None

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:  # pragma: no cover - default
        return None


@lru_cache(maxsize=64)
def dispatch_table(classes: tuple) -> tuple:
    """For rules of these classes (in this order): ``(by_name, everywhere)`` where ``by_name`` maps a
    qualified name to the positions of the rules that declared it and ``everywhere`` holds the
    positions of the rules that take every call. Built once per set of rule classes."""
    by_name: dict = {}
    everywhere = []
    for i, cls in enumerate(classes):
        names = getattr(cls, "calls", None)
        if names is None:
            everywhere.append(i)
            continue
        for q in names:
            by_name.setdefault(q, []).append(i)
    if everywhere:
        by_name = {q: sorted(set(ix) | set(everywhere)) for q, ix in by_name.items()}
    return {q: tuple(ix) for q, ix in by_name.items()}, tuple(everywhere)


def rules_for(rules, qualname: str | None) -> list:
    """The rules among ``rules`` that read a call to ``qualname``, in their order."""
    by_name, everywhere = dispatch_table(tuple(type(r) for r in rules))
    idx = by_name.get(qualname, everywhere) if qualname is not None else everywhere
    return [rules[i] for i in idx]
