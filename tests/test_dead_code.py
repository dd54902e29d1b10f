"""No dead code in the package: vulture over the sources (tests and benchmarks count as users).

Names used only dynamically are listed, with why, in tests/_vulture_whitelist.py; shape rules and
lint rules are registered by their decorators (``@shape_rule``, ``@module_rule``, ``@register``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WHITELIST = Path(__file__).with_name("_vulture_whitelist.py")
PACKAGE_DIRS = ("shapecheck/", "plugin/", "rules/")


def _vulture(*paths) -> list:
    pytest.importorskip("vulture")
    cmd = [sys.executable, "-m", "vulture", *map(str, paths), "--min-confidence", "60",
           "--ignore-decorators", "@shape_rule,@module_rule,@register,@pytest.fixture,@gen",
           "--ignore-names", "test_*,pytest_*",
           "--exclude", "tests/mypy_cases,tests/mypy_plugin_internal,fixtures,build"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode in (0, 3), out.stderr  # 3: dead code found
    return out.stdout.splitlines()


def test_no_dead_code_in_the_package():
    found = _vulture("shapecheck", "plugin", "rules", "tests", "bench", WHITELIST)
    assert [line for line in found if line.startswith(PACKAGE_DIRS)] == []


def test_the_check_finds_dead_code(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def used():\n    return 1\n\n\ndef never_called():\n    return 2\n\n\nprint(used())\n")
    found = _vulture(f)
    assert len(found) == 1 and "never_called" in found[0]
