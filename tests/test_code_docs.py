"""Every diagnostic code has a real page, and the core codes' examples are tests.

A core code's *Example* (``shapecheck/_core/_codedocs.py``) must make the linter report that code and no
other; its *Use instead* must make it report nothing. ``shapecheck explain CODE`` prints the page,
and docs/rules.md and docs/ops.md are generated and current.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from _lanes import fast_sample

from shapecheck._core._codedocs import CODE_DOCS
from shapecheck._lint._config import load_codes
from shapecheck._core._diag import CODES, default_codes
from shapecheck._lint._runner import Job, lint_text
from shapecheck._core._settings import Settings
from shapecheck.rules import rule_classes

load_codes()
ROOT = pathlib.Path(__file__).resolve().parent.parent
RULE_CODES = {c.code for c in rule_classes()}
CORE = sorted(set(CODES) - RULE_CODES)
SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead")


def _lint(source: str, code: str) -> list:
    settings = Settings(select=default_codes() | {code})  # an opt-in code is selected by its own code
    job = Job(settings=settings, root=str(ROOT), digests=False)
    return [d for d in lint_text(source, "example.py", "example.py", job) if d.code != "reveal"]


def test_every_core_code_has_a_page():
    assert sorted(CODE_DOCS) == CORE


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_page_has_the_fixed_sections(code):
    doc = CODES[code].doc
    positions = [doc.find(s) for s in SECTIONS]
    assert all(p >= 0 for p in positions), f"{code} lacks a section: {positions}"
    assert positions == sorted(positions), f"{code}: sections out of order"


def test_only_the_internal_error_and_the_missing_path_have_no_source_example():
    assert sorted(c for c, d in CODE_DOCS.items() if not d.example) == ["SHP900", "SHP902"]
    assert all(d.use_instead for d in CODE_DOCS.values() if d.example)
    for code, name in (("SHP900", "internal-error"), ("SHP902", "path-not-found")):
        page = CODE_DOCS[code]
        assert f"{code} [{name}]" in page.example_text and page.use_instead_text.strip()


EXAMPLES = sorted(c for c, d in CODE_DOCS.items() if d.example)


@pytest.mark.parametrize("code", EXAMPLES)
def test_example_reports_the_code(code):
    got = _lint(CODE_DOCS[code].example.lstrip("\n"), code)
    assert got and {d.code for d in got} == {code}, [f"{d.line}: {d.code} {d.message}" for d in got]


@pytest.mark.parametrize("code", EXAMPLES)
def test_use_instead_reports_nothing(code):
    got = _lint(CODE_DOCS[code].use_instead.lstrip("\n"), code)
    assert got == [], [f"{d.line}: {d.code} {d.message}" for d in got]


@pytest.mark.parametrize("code", EXAMPLES)
def test_the_page_shows_the_tested_examples(code):
    doc = CODES[code].doc
    assert CODE_DOCS[code].example.strip("\n") in doc and CODE_DOCS[code].use_instead.strip("\n") in doc


def test_the_opt_in_example_is_silent_by_default():
    job = Job(settings=Settings(), root=str(ROOT), digests=False)
    assert lint_text(CODE_DOCS["SHP002"].example, "example.py", "example.py", job) == []


@pytest.mark.parametrize("code", fast_sample(CORE, keep=2))
def test_explain_prints_the_page(code):
    out = subprocess.run([sys.executable, "-m", "shapecheck", "explain", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"{code} [{CODES[code].name}]")
    assert CODES[code].doc.strip() in out.stdout


def test_rules_md_is_current_and_covers_every_code():
    from shapecheck.rules._gendocs import render

    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert text == render(), "docs/rules.md is stale: run `python -m shapecheck.rules._gendocs`"
    for code, info in CODES.items():
        assert f"### {code} `{info.name}`" in text


def test_ops_md_is_current():
    from shapecheck._core._ops._doc import render

    text = (ROOT / "docs" / "ops.md").read_text(encoding="utf-8")
    assert text == render(), "docs/ops.md is stale: run `python -m shapecheck._core._ops._doc > docs/ops.md`"
