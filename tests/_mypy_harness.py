"""Runs real mypy with shapecheck's plugin, and the linter, and puts their findings side by side.

Both static faces read one expectation format, the fixtures' (``tests/test_fixtures.py``): a line
carries ``# error: SHP101`` (codes by prefix, ``|`` for alternatives, ``?`` for optional) and a
``reveal_shape`` call carries ``# reveal: b s t``. mypy's codes are mapped back to the linter's
codes through the plugin's own table (``shape-contraction-mismatch`` is SHP101).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "mypy_cases"

_OUT = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+):(?:(?P<col>\d+):)? (?P<kind>error|note): (?P<msg>.*?)"
                  r"(?:  \[(?P<code>[a-z0-9-]+)\])?$")

CONFIG = """[mypy]
plugins = shapecheck.plugin
mypy_path = {repo}
ignore_missing_imports = True
{extra}
[mypy-shapecheck.*]
follow_imports = silent
"""


@dataclass(frozen=True)
class Finding:
    path: str  # relative to the directory the tool ran in
    line: int
    column: int
    code: str  # the linter's code (SHP101, or "reveal")
    message: str


def write_config(dirpath: Path, extra: str = "", name: str = "mypy.ini") -> Path:
    dirpath.mkdir(parents=True, exist_ok=True)
    cfg = dirpath / name
    cfg.write_text(CONFIG.format(repo=REPO, extra=extra))
    return cfg


def run_mypy(files, cache_dir: Path, config: Path, cwd: Path = CASES, dmypy_status: Path | None = None,
             python: str = sys.executable) -> str:
    args = ["--config-file", str(config), "--cache-dir", str(cache_dir), "--no-error-summary",
            "--hide-error-context", "--no-pretty", "--show-column-numbers", *map(str, files)]
    if dmypy_status is None:
        cmd = [python, "-m", "mypy", *args]
    else:
        cmd = [sys.executable, "-m", "mypy.dmypy", "--status-file", str(dmypy_status), "run", "--", *args]
    proc = subprocess.run(cmd, cwd=cwd, check=False, capture_output=True, text=True, timeout=900)
    if "INTERNAL ERROR" in proc.stdout + proc.stderr or "Traceback" in proc.stderr:
        raise AssertionError(f"mypy crashed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def stop_dmypy(status: Path) -> None:
    subprocess.run([sys.executable, "-m", "mypy.dmypy", "--status-file", str(status), "stop"],
                   capture_output=True, timeout=120, check=False)


def parse(output: str) -> list:
    """(path, line, column, kind, code, message) of every line mypy printed."""
    out = []
    for raw in output.splitlines():
        m = _OUT.match(raw)
        if m:
            out.append((m.group("path"), int(m.group("line")), int(m.group("col") or 0), m.group("kind"),
                        m.group("code") or "", m.group("msg")))
    return out


def _to_linter_code() -> dict:
    from shapecheck.plugin import _report

    table = _report.CodeTable()
    return {c.code: shp for shp, c in table.by_code.items()}


def plugin_findings(output: str) -> set:
    """The plugin's findings in mypy's output, under the linter's codes (notes of a finding aside)."""
    back = _to_linter_code()
    out = set()
    for path, line, col, kind, code, msg in parse(output):
        if kind == "note":
            r = re.match(r'Revealed shape is "(.*)"$', msg)
            if r and code in ("shape-reveal", ""):
                out.add(Finding(path, line, col, "reveal", r.group(1)))
            elif msg.startswith(("Internal error while", "shapecheck failed internally")):
                out.add(Finding(path, line, col, "SHP900", msg))  # mypy prints no code on a note
            continue
        if code.startswith("shape-"):
            out.add(Finding(path, line, col, back.get(code, code), msg))
    return out


def linter_findings(paths, cwd: Path = REPO) -> set:
    """What ``shapecheck check`` reports on ``paths`` (one run, the JSON contract)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "shapecheck", "check", "--format", "json", "--no-cache",
                           *map(str, paths)], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode in (0, 1), proc.stderr
    out = set()
    for d in json.loads(proc.stdout):
        path = os.path.relpath(os.path.join(cwd, d["path"]), cwd)
        out.add(Finding(path, d["line"], d["column"], d["code"], d["message"]))
    return out


def expectations(path: Path) -> tuple:
    """The fixtures' markers of one file: ({line: Expectation}, {line: accepted shapes})."""
    from test_fixtures import error_markers, reveal_markers

    return error_markers(path), reveal_markers(path)


def compare_with_markers(findings, root: Path, files) -> list:
    """Findings against the ``# error:`` / ``# reveal:`` markers of ``files`` (paths under ``root``)."""
    from test_fixtures import normalize_shape, same_shape

    problems = []
    for f in files:
        rel = str(Path(f).resolve().relative_to(root.resolve()))
        errors, reveals = expectations(Path(f))
        mine = [x for x in findings if x.path == rel]
        for x in mine:
            if x.code == "reveal":
                want = reveals.get(x.line)
                if want is None or not any(same_shape(normalize_shape(x.message), w) for w in want):
                    problems.append(f"{rel}:{x.line}: revealed {x.message!r}, expected {want}")
                continue
            exp = errors.get(x.line)
            codes = () if exp is None else [c for alts in exp.required for c in alts] + list(exp.optional)
            if not any(x.code.startswith(c) for c in codes):
                problems.append(f"{rel}:{x.line}: unexpected {x.code} {x.message}")
        for line, exp in errors.items():
            got = [x.code for x in mine if x.line == line]
            for alts in exp.required:
                if not any(g.startswith(a) for g in got for a in alts):
                    problems.append(f"{rel}:{line}: expected {'|'.join(alts)}, got {got or 'nothing'}")
        for line in reveals:
            if not any(x.line == line and x.code == "reveal" for x in mine):
                problems.append(f"{rel}:{line}: expected a revealed shape, got nothing")
    return problems
