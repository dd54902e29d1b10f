"""Every worked example of every operator shape rule runs as a test."""

import pytest

from shapecheck._core._ops import all_rules
from shapecheck._core._ops._examples import run_example

CASES = [
    pytest.param(rule, ex, ok, id=f"{rule.names[0]}:{'ok' if ok else 'bad'}:{ex}")
    for rule in all_rules()
    for ok, examples in ((True, rule.ok), (False, rule.bad))
    for ex in examples
]


@pytest.mark.parametrize("rule,example,ok", CASES)
def test_rule_example(rule, example, ok):
    assert run_example(rule, example, ok) is None, run_example(rule, example, ok)


def test_every_rule_has_examples():
    for rule in all_rules():
        assert rule.ok, f"{rule.names[0]} has no ok examples"
        assert rule.bad or getattr(rule.fn, "never_fails", False), f"{rule.names[0]} has no bad examples"


def test_unknown_call_is_unknown():
    from shapecheck._core._ops import lookup
    assert lookup("torch.some_op_that_does_not_exist") is None
