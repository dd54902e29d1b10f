"""The engine hands a lint rule only the calls it declares (``LintRule.calls``); nothing is lost by that.

Every rule's examples, the rule fixtures and a few real-code files are linted with every rule handed
*every* call; a call outside a rule's declared names must leave no trace: no report, no tag on the
result, no change to the rule's own state. Then the dispatched run must give the same diagnostics.
"""

from __future__ import annotations

import copy
import pathlib
import textwrap

import pytest

from shapecheck._core._settings import Settings
from shapecheck._engine import _lint_rules
from shapecheck._engine._rulebase import dispatch_table, rules_for
from shapecheck._lint import check_source
from shapecheck.rules import all_rules

ROOT = pathlib.Path(__file__).resolve().parent.parent
RULES = all_rules()


def _sources():
    for rule in RULES:
        for kind, examples in (("valid", rule.VALID), ("invalid", rule.INVALID)):
            for i, src in enumerate(examples):
                yield f"{rule.code}-{kind}{i}", textwrap.dedent(src)
    for sub in ("rules", "bugs", "correct"):
        for p in sorted((ROOT / "fixtures" / sub).glob("*.py")):
            yield f"fixture-{sub}-{p.name}", p.read_text(encoding="utf-8")


SOURCES = list(_sources())


class _Strays(list):
    """(rule code, qualname) of every undeclared call that left a trace."""


def _checked_every_call(strays: _Strays):
    """A stand-in for ``rules_for``: every rule gets every call; a rule handed a call it did not
    declare is watched (reports, result tags and its own attributes before and after)."""

    def wrapped(rule):
        class Watch:
            def __init__(self, inner):
                self.inner = inner
                self.code = inner.code
                self.unknown_after = type(inner).unknown_after

            def on_call(self, ev, ctx):
                declared = type(self.inner).calls
                if declared is None or ev.qualname in declared:
                    return self.inner.on_call(ev, ctx)
                before = (len(ctx.reports), dict(ctx.result_tags), copy.deepcopy(vars(self.inner)))
                try:
                    self.inner.on_call(ev, ctx)
                except Exception:  # noqa: BLE001 - a crash on a call it never sees is no loss either
                    pass
                after = (len(ctx.reports), dict(ctx.result_tags), copy.deepcopy(vars(self.inner)))
                if after != before:
                    strays.append((self.inner.code, ev.qualname))
                    del ctx.reports[before[0]:]

        return Watch(rule)

    def every(rules, qualname):
        return [wrapped(r) for r in rules]

    return every


@pytest.mark.parametrize("name,src", SOURCES, ids=[n for n, _ in SOURCES])
def test_undeclared_calls_leave_no_trace(name, src, monkeypatch):
    dispatched = check_source(src, "example.py", Settings())
    strays = _Strays()
    monkeypatch.setattr(_lint_rules, "rules_for", _checked_every_call(strays))
    every = check_source(src, "example.py", Settings())
    assert strays == []
    assert [d.to_json() for d in every] == [d.to_json() for d in dispatched]


def test_every_rule_declares_its_calls():
    for rule in RULES:
        assert type(rule).calls, f"{rule.code} declares no calls: it would be handed every call"


def test_dispatch_keeps_rule_order_and_takes_undeclared_rules_everywhere():
    class Anything:
        calls = None

    class Matmul:
        calls = frozenset({"torch.matmul"})

    class Both:
        calls = frozenset({"torch.matmul", "torch.softmax"})

    rules = [Both(), Anything(), Matmul()]
    assert [type(r) for r in rules_for(rules, "torch.matmul")] == [Both, Anything, Matmul]
    assert [type(r) for r in rules_for(rules, "torch.softmax")] == [Both, Anything]
    assert [type(r) for r in rules_for(rules, "torch.relu")] == [Anything]
    assert [type(r) for r in rules_for(rules, None)] == [Anything]
    assert rules_for([Matmul()], "torch.relu") == []
    assert dispatch_table((Matmul,))[0] == {"torch.matmul": (0,)}
