"""Runs real mypy with shapecheck's plugin over tests/mypy_cases and compares inline expectations.

Expectations, on the line they concern:
    # E: shape-mismatch                  an error with that code
    # E: shape-mismatch "some words"     ... whose message contains the quoted words
    # E(post): shape-mismatch            found by the post-pass (`return name`, annotated locals),
                                         expected only where mypy runs it (mypy >= 2.4)
    # reveal: b s t                      the note of ``shapecheck.reveal_shape`` on that line
Every other error, and every reveal note without an expectation, fails the comparison.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "mypy_cases"

_E = re.compile(r'#\s*E(\(post\))?:\s*([a-z-]+)(?:\s+"((?:[^"\\]|\\.)*)")?')
_R = re.compile(r"#\s*reveal:(.*)$")
_OUT = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+): (?P<kind>error|note): (?P<msg>.*?)(?:  \[(?P<code>[a-z-]+)\])?$")

CONFIG = """[mypy]
plugins = shapecheck.plugin
mypy_path = {repo}
{extra}
[mypy-shapecheck.*]
follow_imports = silent
"""


@dataclass(frozen=True)
class Expect:
    path: str
    line: int
    kind: str  # "error" | "reveal"
    code: str
    words: str | None = None


def case_files() -> list:
    return sorted(str(p.relative_to(CASES)) for p in CASES.rglob("*.py"))


def expectations(files, post_pass: bool | None = None) -> list:
    from shapecheck.plugin._compat import has_post_pass

    post_pass = has_post_pass() if post_pass is None else post_pass
    out = []
    for rel in files:
        for i, line in enumerate((CASES / rel).read_text().splitlines(), 1):
            for m in _E.finditer(line):
                if m.group(1) and not post_pass:
                    continue  # found by the post-pass, which needs mypy >= 2.4
                words = m.group(3).replace('\\"', '"') if m.group(3) is not None else None
                out.append(Expect(rel, i, "error", m.group(2), words))
            r = _R.search(line)
            if r:
                out.append(Expect(rel, i, "reveal", r.group(1).strip()))
    return out


def write_config(dirpath: Path, extra: str = "") -> Path:
    cfg = dirpath / "mypy.ini"
    cfg.write_text(CONFIG.format(repo=REPO, extra=extra))
    return cfg


def run_mypy(files, cache_dir: Path, config: Path, cwd: Path = CASES, dmypy_status: Path | None = None,
             python: str = sys.executable) -> str:
    args = ["--config-file", str(config), "--cache-dir", str(cache_dir), "--no-error-summary",
            "--hide-error-context", "--no-pretty", *files]
    if dmypy_status is None:
        cmd = [python, "-m", "mypy", *args]
    else:
        cmd = [sys.executable, "-m", "mypy.dmypy", "--status-file", str(dmypy_status), "run", "--", *args]
    proc = subprocess.run(cmd, cwd=cwd, check=False, capture_output=True, text=True, timeout=600)
    if "INTERNAL ERROR" in proc.stdout + proc.stderr or "Traceback" in proc.stderr:
        raise AssertionError(f"mypy crashed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def parse(output: str) -> list:
    """(path, line, kind, code, message) for every error and every reveal_shape note."""
    out = []
    for raw in output.splitlines():
        m = _OUT.match(raw)
        if not m:
            continue
        kind, msg = m.group("kind"), m.group("msg")
        if kind == "note":
            r = re.match(r'Revealed shape is "(.*)"$', msg)
            if r:
                out.append((m.group("path"), int(m.group("line")), "reveal", r.group(1), msg))
            continue
        out.append((m.group("path"), int(m.group("line")), "error", m.group("code") or "", msg))
    return out


def _same(e: Expect, reported: str) -> bool:
    """Codes compare as text; revealed shapes in canonical form (`4*d` is `d*4`)."""
    if e.code == reported:
        return True
    if e.kind != "reveal":
        return False
    from shapecheck._core._parse import AnnotationSyntaxError
    from shapecheck._core._shape import shape_of

    try:
        return shape_of(e.code).dims == shape_of(reported).dims
    except AnnotationSyntaxError:
        return False


def compare(expected, reported) -> list:
    """Human-readable differences (empty when everything matches)."""
    problems = []
    remaining = list(reported)
    for e in expected:
        hit = None
        for r in remaining:
            if r[0] == e.path and r[1] == e.line and r[2] == e.kind and _same(e, r[3]) and (
                    e.words is None or e.words in r[4]):
                hit = r
                break
        if hit is None:
            what = f"{e.code}" + (f' "{e.words}"' if e.words else "")
            got = [r for r in reported if r[0] == e.path and r[1] == e.line]
            problems.append(f"{e.path}:{e.line}: expected {e.kind} {what}; got {got or 'nothing'}")
        else:
            remaining.remove(hit)
    for r in remaining:
        problems.append(f"{r[0]}:{r[1]}: unexpected {r[2]} [{r[3]}] {r[4]}")
    return problems
