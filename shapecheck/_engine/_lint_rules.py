"""The hand-off to the lint rules: an evaluated call becomes a ``CallEvent`` for each enabled rule that reads it."""

from __future__ import annotations

from ._rulebase import CallEvent, RuleContext, rules_for
from .._core._diag import Edit, Fix
from .._core._shape import ANY_SHAPE, Shape
from ._common import after_error


class LintRuleHandoff:
    """The lint-rule room of :class:`~._walk.FunctionAnalysis`."""

    def run_lint_rules(self, q, node, args, kwargs, result, init=None, problems: frozenset = frozenset()):
        """Give the call to the lint rules; returns ``result`` with what they and the shape rule noted."""
        result = self.infer_roles(q, args, kwargs, result, init, node)
        upstream = after_error(args) | after_error(tuple(kwargs.values())) | problems
        if upstream and isinstance(result, Shape):
            result = result.with_meta(after_error=upstream)
        if not self.rules:
            return result
        rules = rules_for(self.rules, q)
        if not rules:
            return result
        # in a silenced region (a branch a call's shapes may not take) the rules still note their facts on the result
        # (a softmax's axis, read where the branches join), and report nothing
        quiet = not self.reporting
        ctx = RuleContext(self.mod.path, self.env, function=self.qualname, symbol_roles=self.symbol_roles or {},
                          scope=getattr(self, "node", None), uses=self.scope_use_roles(),
                          qualify=self.mod.imports.qualify)
        ev = CallEvent(q, node, tuple(args), dict(kwargs), result, init,
                       args[0] if args and q.startswith("torch.Tensor.") else None)
        for r in rules:
            try:
                r.on_call(ev, ctx)
            except Exception:
                if self.mod.strict:
                    raise
        reported = set()
        if quiet:
            if ctx.result_tags and isinstance(result, Shape):
                result = result.with_meta(**ctx.result_tags)
            return result
        for rep in ctx.reports:
            if rep.code in upstream:
                continue  # the same finding again downstream of the first one
            if "SHP101" in problems:
                # the product pairs axes that cannot be one (reported there by its shape rule): what a
                # rule reads from it (which axis it contracts, blamed on the softmax before it or on the
                # product itself) is that one bug again
                continue
            self.diag(rep.node, rep.code, rep.message, rep.notes, rep.help, fix=self.char_columns(rep.fix))
            if rep.node is node:
                reported.add(rep.code)
        if ctx.result_tags and isinstance(result, Shape):
            result = result.with_meta(**ctx.result_tags)
        if reported and isinstance(result, Shape):
            if any(getattr(r, "unknown_after", False) and r.code in reported for r in rules):
                result = ANY_SHAPE.with_label(result.label)  # one bug, one diagnostic
            result = result.with_meta(after_error=upstream | frozenset(reported))
        return result

    def char_columns(self, fix):
        """A rule's fix with its columns counted in characters (the fixer's unit); None without the source."""
        lines = self.mod.lines
        if fix is None or lines is None:
            return None

        def col(line: int, byte_col: int) -> int:
            if not 1 <= line <= len(lines):
                raise IndexError(line)
            return len(lines[line - 1].encode("utf-8")[:byte_col - 1].decode("utf-8", "replace")) + 1

        try:
            edits = tuple(Edit(e.line, col(e.line, e.column), e.end_line, col(e.end_line, e.end_column), e.text)
                          for e in fix.edits)
        except IndexError:
            return None
        return Fix(fix.message, edits, fix.safe)
