"""The real-fixed-bug benchmark's data (bench/fixed_bugs/bugs.toml) is complete and consistent.

bench/fixed_bugs.py measures; this only checks what the measurement stands on: each bug names its
commits, file, line, kind and split; a repository is in one split only (the held-out part is chosen
by repository); every reproduction exists and says which diagnostic it should get; and the fixed
versions, which are correct code, get no diagnostic at all.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "fixed_bugs" / "bugs.toml"
_COMMIT = re.compile(r"[0-9a-f]{40}$")
_ERROR = re.compile(r"#\s*error:\s*SHP")
FIELDS = {"id", "repo", "buggy", "fixed", "file", "line", "kind", "split", "description", "needs", "repro"}


def bugs() -> list[dict]:
    return tomllib.loads(DATA.read_text(encoding="utf-8"))["bug"]


def fixed_version(bug: dict) -> Path:
    if "repro_fixed" in bug:
        return ROOT / bug["repro_fixed"]
    repro = ROOT / bug["repro"]
    return repro.with_name(repro.stem + "_fixed.py")


def test_every_bug_is_fully_described():
    seen = set()
    for bug in bugs():
        assert FIELDS <= bug.keys(), (bug.get("id"), FIELDS - bug.keys())
        assert bug["id"] not in seen, bug["id"]
        seen.add(bug["id"])
        assert _COMMIT.match(bug["buggy"]) and _COMMIT.match(bug["fixed"]), bug["id"]
        assert bug["buggy"] != bug["fixed"], bug["id"]
        assert bug["split"] in ("tuning", "heldout"), bug["id"]
        assert bug["file"].endswith(".py") and isinstance(bug["line"], int) and bug["line"] > 0, bug["id"]
        assert all(isinstance(n, int) and n > 0 for n in bug.get("lines", [])), bug["id"]


def test_a_repository_is_in_one_split_and_about_a_third_is_held_out():
    splits: dict[str, set] = {}
    for bug in bugs():
        splits.setdefault(bug["repo"], set()).add(bug["split"])
    assert all(len(s) == 1 for s in splits.values()), {r: s for r, s in splits.items() if len(s) > 1}
    held = sum(1 for bug in bugs() if bug["split"] == "heldout")
    assert 0.25 <= held / len(bugs()) <= 0.45, held


def test_every_reproduction_exists_and_names_its_diagnostic():
    for bug in bugs():
        repro, fixed = ROOT / bug["repro"], fixed_version(bug)
        assert repro.is_file() and fixed.is_file(), bug["id"]
        text = repro.read_text(encoding="utf-8")
        first = text.splitlines()[0]
        if bug["repro"].startswith("fixtures/"):
            assert first == "# shapecheck-fixture: bugs", bug["id"]
        else:
            assert first == f"# fixed-bug reproduction: {bug['id']}", bug["id"]
        assert any(_ERROR.search(line) for line in text.splitlines()), bug["id"]
        assert not any(_ERROR.search(line) for line in fixed.read_text(encoding="utf-8").splitlines()), bug["id"]
        ast.parse(text)


def test_the_fixed_reproductions_are_clean():
    paths = sorted({str(fixed_version(bug)) for bug in bugs()})
    out = subprocess.run([sys.executable, "-m", "shapecheck", "check", "--format", "json", "--no-cache",
                          "--isolated", "--exit-zero", *paths], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
