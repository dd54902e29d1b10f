"""Every VALID and INVALID example of every axis-order rule runs through the real linter.

An INVALID example must yield the rule's code; a VALID one must yield no diagnostic from any
axis-order rule (SHP2xx-SHP4xx). The rule documentation in docs/rules.md must be up to date.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

from shapecheck._core._diag import CODES
from shapecheck._lint import check_source
from shapecheck._core._settings import Settings
from shapecheck.rules import all_rules
from shapecheck.rules._gendocs import render

RULES = all_rules()
AXIS_ORDER = re.compile(r"^SHP[234]\d\d$")

CASES = [
    pytest.param(rule, i, src, kind, id=f"{rule.code}-{rule.name}-{kind}{i}")
    for rule in RULES
    for kind, examples in (("valid", rule.VALID), ("invalid", rule.INVALID))
    for i, src in enumerate(examples)
]


def _lint(src: str):
    return check_source(textwrap.dedent(src), "example.py", Settings(), strict=True)


@pytest.mark.parametrize("rule,i,src,kind", CASES)
def test_rule_example(rule, i, src, kind):
    diags = [d for d in _lint(src) if d.code != "reveal"]
    got = [f"{d.line}: {d.code} {d.message}" for d in diags]
    if kind == "invalid":
        assert any(d.code == rule.code for d in diags), f"{rule.code} not reported; got {got}"
        others = [d for d in diags if AXIS_ORDER.match(d.code) and d.code != rule.code]
        assert not others, f"other axis-order rules also fired: {got}"
    else:
        ours = [d for d in diags if AXIS_ORDER.match(d.code)]
        assert not ours, f"false alarm on a valid example: {got}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_contract(rule):
    assert re.fullmatch(r"SHP[234]\d\d", rule.code)
    assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", rule.name)
    assert len(rule.VALID) >= 2 and len(rule.INVALID) >= 2
    doc = rule.__doc__ or ""
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert section in doc, f"{rule.code} lacks {section!r}"
    info = CODES.get(rule.code)
    assert info is not None and info.name == rule.name and "## What it does" in info.doc
    mod = type(rule).__module__.rsplit(".", 1)[-1]
    assert mod == rule.name.replace("-", "_"), f"{rule.code} lives in {mod}.py"
    assert not rule.summary.endswith(".")


def test_every_rule_module_loads():
    from shapecheck.rules import LOAD_ERRORS, RULE_MODULES

    assert not LOAD_ERRORS, LOAD_ERRORS
    assert len(RULES) == len(RULE_MODULES) >= 17


def test_codes_are_unique():
    codes = [r.code for r in RULES]
    names = [r.name for r in RULES]
    assert len(set(codes)) == len(codes) and len(set(names)) == len(names)


def test_rules_are_loaded_by_the_linter():
    src = RULES[0].INVALID[0]
    assert any(d.code == RULES[0].code for d in _lint(src))
    assert not any(d.code == RULES[0].code for d in check_source(
        textwrap.dedent(src), "x.py", Settings(ignore=frozenset({RULES[0].code}))))


@pytest.mark.parametrize("rule", [RULES[0], RULES[len(RULES) // 2], RULES[-1]], ids=lambda r: r.code)
def test_explain_prints_the_rule_documentation(rule):
    out = subprocess.run([sys.executable, "-m", "shapecheck", "explain", rule.code], capture_output=True,
                         text=True, timeout=120, cwd=pathlib.Path(__file__).resolve().parent.parent)
    assert out.returncode == 0, out.stderr
    assert f"{rule.code} [{rule.name}]" in out.stdout
    assert "## Why is this bad?" in out.stdout and "## Use instead" in out.stdout


def test_docs_are_up_to_date():
    path = pathlib.Path(__file__).resolve().parent.parent / "docs" / "rules.md"
    assert path.read_text(encoding="utf-8") == render(), \
        "docs/rules.md is stale: run `python -m shapecheck.rules._gendocs`"
