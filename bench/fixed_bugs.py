"""Real fixed shape bugs from public histories: does the linter find them, as a user's CI would?

Usage::

    python bench/fixed_bugs.py [--id ID ...] [--split tuning|heldout] [--no-repo] [--no-repro]
                               [--show] [--json FILE] [--timeout S] [--mirror DIR]

``bench/fixed_bugs/bugs.toml`` lists real bugs that were fixed in the history of public repositories:
the repository, the buggy commit (the fix's parent) and the fixed commit, the file and line of the
bug in the buggy commit (``lines`` for further lines of the same bug), its kind, a description, a split
(``tuning`` or ``heldout``, chosen by repository before any measurement) and a fresh minimal
reproduction (``repro``, written anew; its fixed version ``repro_fixed``, by default beside it as
``<name>_fixed.py``). Reproductions the linter finds are fixtures (fixtures/bugs/fixed_*.py, their
fixed versions in fixtures/correct/real_fixed_bugs.py); the
others wait under bench/fixed_bugs/repro/ with the diagnostic they should get.

For each bug the repository's ``*.py`` files at the buggy commit and at the fixed commit are
extracted from the fetched history (``$SHAPECHECK_MIRROR``, default ``/work/.mirror``, one bare git
directory per repository as ``owner+name/repo``; never committed here) into temporary directories,
and ``shapecheck check --format json --no-cache --isolated --exit-zero`` runs over each whole tree
(only the folder ``scope`` where the data file names one, for repositories too large for one run).
A bug is *found* when the buggy tree has a diagnostic in the bug's file on its line(s) or within
the lines the fix changed (``line`` in the table), or elsewhere in the function around the bug when
that diagnostic is gone from the fixed tree (``fn``: the bug's effect, as a return annotation
contradicted by the wrong size computed above it); the fixed commit is *clean* when the fixed tree has none on the fixed
lines (the fix's changed lines and the bug's lines carried over). Diagnostics elsewhere are counted:
``other`` in the whole buggy tree, ``gone`` those of the buggy tree absent from the fixed tree (same
file, code and message) away from the bug.

Each reproduction is linted alone: *found* when every ``# error:`` line reports its codes (the
fixtures' grammar, fixtures/README.md), *clean* when its fixed version reports nothing.
Nothing is asserted: this is a measurement.
"""

from __future__ import annotations

import argparse
import ast
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "fixed_bugs" / "bugs.toml"
MIRROR = Path(os.environ.get("SHAPECHECK_MIRROR", "/work/.mirror"))
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_ERROR = re.compile(r"#\s*error:\s*(.+?)\s*$")


@dataclass
class Outcome:
    bug: dict
    status: str = "ok"  # ok, no-history, timeout, failed
    found: bool | None = None
    clean: bool | None = None
    at_bug: list[str] = field(default_factory=list)  # "line:CODE" on the bug in the buggy tree
    in_function: list[str] = field(default_factory=list)  # "line:CODE" elsewhere in its function, gone at the fix
    at_fix: list[str] = field(default_factory=list)  # "line:CODE" on the fixed lines of the fixed tree
    other: int = 0
    other_codes: dict[str, int] = field(default_factory=dict)  # code -> count, away from the bug
    gone: int = 0
    gone_list: list[str] = field(default_factory=list)  # "path:line:CODE message" of the gone ones
    internal: list[str] = field(default_factory=list)  # "side path:line:CODE message" of SHP9xx
    files: int = 0
    seconds: float = 0.0
    repro_found: bool | None = None
    repro_clean: bool | None = None
    repro_codes: list[str] = field(default_factory=list)
    repro_expected: list[str] = field(default_factory=list)


def git(gitdir: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", "--git-dir", str(gitdir), *args], input=data, capture_output=True, check=True).stdout


def extract(gitdir: Path, commit: str, dest: Path, scope: str | None) -> int:
    """Write the commit's ``*.py`` files (under ``scope``) below ``dest``; blobs absent from the fetched
    snapshot (large files) are skipped. Returns the number of files written."""
    names = [n for n in git(gitdir, "ls-tree", "-r", "--name-only", commit).decode().splitlines()
             if n.endswith(".py") and (scope is None or n.startswith(scope.rstrip("/") + "/"))]
    if not names:
        return 0
    out = git(gitdir, "cat-file", "--batch", data="".join(f"{commit}:{n}\n" for n in names).encode())
    pos, written = 0, 0
    for name in names:
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].split()
        if header[-1] == b"missing":
            pos = header_end + 1
            continue
        size = int(header[2])
        body = out[header_end + 1:header_end + 1 + size]
        pos = header_end + 1 + size + 1
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        written += 1
    return written


def lint(path: Path, timeout: float) -> list[dict]:
    cmd = [sys.executable, "-m", "shapecheck", "check", "--format", "json", "--no-cache", "--isolated",
           "--exit-zero", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=str(path if path.is_dir() else path.parent))
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}")
    return json.loads(proc.stdout or "[]")


def changed_lines(gitdir: Path, bug: dict) -> tuple[set[int], set[int], list[tuple[int, int, int, int]]]:
    """The fix's changed lines of the bug's file: on the buggy side, on the fixed side, and the hunks
    (old start, old count, new start, new count). A pure insertion counts the lines around it."""
    diff = git(gitdir, "diff", "-U0", bug["buggy"], bug["fixed"], "--", bug["file"]).decode(errors="replace")
    old, new, hunks = set(), set(), []
    for line in diff.splitlines():
        m = _HUNK.match(line)
        if not m:
            continue
        os_, oc = int(m[1]), int(m[2] if m[2] is not None else 1)
        ns, nc = int(m[3]), int(m[4] if m[4] is not None else 1)
        hunks.append((os_, oc, ns, nc))
        old.update(range(os_, os_ + oc) if oc else (os_, os_ + 1))
        new.update(range(ns, ns + nc) if nc else (ns, ns + 1))
    return old, new, hunks


def carry(line: int, hunks: list[tuple[int, int, int, int]]) -> int:
    """Where a buggy-side line outside the hunks sits in the fixed file."""
    shift = 0
    for os_, oc, ns, nc in hunks:
        if os_ + max(oc, 1) - 1 < line:
            shift += nc - oc
    return line + shift


def rel(diag: dict, root: Path) -> str:
    try:
        return Path(diag["path"]).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return diag["path"]


def enclosing_functions(source: str, lines: set[int]) -> set[int]:
    """The lines of the innermost function around each of ``lines`` (none at module level)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    spans = [(n.lineno, n.end_lineno or n.lineno) for n in ast.walk(tree)
             if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    out: set[int] = set()
    for line in lines:
        around = [s for s in spans if s[0] <= line <= s[1]]
        if around:
            first, last = max(around)  # the innermost starts last
            out.update(range(first, last + 1))
    return out


def measure_repo(bug: dict, timeout: float, out: Outcome) -> None:
    gitdir = MIRROR / bug["repo"].replace("/", "+") / "repo"
    if not gitdir.is_dir():
        out.status = "no-history"
        return
    bug_lines = {bug["line"], *bug.get("lines", [])}
    old, new, hunks = changed_lines(gitdir, bug)
    at_buggy = bug_lines | old
    at_fixed = {carry(n, hunks) for n in bug_lines - old} | new
    scope = bug.get("scope")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fixedbug_") as tmp:
        trees = {}
        for side in ("buggy", "fixed"):
            dest = Path(tmp) / side
            dest.mkdir()
            n = extract(gitdir, bug[side], dest, scope)
            if side == "buggy":
                out.files = n
            try:
                trees[side] = (dest, lint(dest, timeout))
            except subprocess.TimeoutExpired:
                out.status = "timeout"
                return
            except (RuntimeError, json.JSONDecodeError) as exc:
                out.status = f"failed: {exc}"[:80]
                return
        out.seconds = time.perf_counter() - start
        broot, bdiags = trees["buggy"]
        froot, fdiags = trees["fixed"]
        out.internal = [f'{side} {rel(d, root)}:{d["line"]}:{d["code"]} {d["message"][:100]}'
                        for side, (root, diags) in trees.items() for d in diags if d["code"].startswith("SHP9")]
        fixed_keys = collections.Counter((rel(d, froot), d["code"], d["message"]) for d in fdiags)
        buggy_file = broot / bug["file"]
        function = enclosing_functions(buggy_file.read_text(errors="replace"), bug_lines) if buggy_file.is_file() else set()
        for d in bdiags:
            path = rel(d, broot)
            if path == bug["file"] and d["line"] in at_buggy:
                out.at_bug.append(f'{d["line"]}:{d["code"]}')
                continue
            out.other += 1
            out.other_codes[d["code"]] = out.other_codes.get(d["code"], 0) + 1
            key = (path, d["code"], d["message"])
            if fixed_keys[key]:
                fixed_keys[key] -= 1
            else:
                out.gone += 1
                out.gone_list.append(f'{path}:{d["line"]}:{d["code"]} {d["message"]}')
                if path == bug["file"] and d["line"] in function:
                    out.in_function.append(f'{d["line"]}:{d["code"]}')
        out.at_fix = [f'{d["line"]}:{d["code"]}' for d in fdiags
                      if rel(d, froot) == bug["file"] and d["line"] in at_fixed]
        out.found = bool(out.at_bug or out.in_function)
        out.clean = not out.at_fix


def expectations(path: Path) -> dict[int, list[list[str]]]:
    """``# error:`` lines: line -> required groups (each a list of alternative code prefixes)."""
    want: dict[int, list[list[str]]] = {}
    for n, text in enumerate(path.read_text().splitlines(), 1):
        m = _ERROR.search(text)
        if m:
            groups = [g.strip() for g in m[1].split(",")]
            want[n] = [g.split("|") for g in groups if g and not g.endswith("?")]
    return want


def measure_repro(bug: dict, timeout: float, out: Outcome) -> None:
    path = ROOT / bug["repro"]
    fixed = ROOT / bug["repro_fixed"] if "repro_fixed" in bug else path.with_name(path.stem + "_fixed.py")
    if not path.is_file():
        return
    diags = lint(path, timeout)
    want = expectations(path)
    out.repro_expected = [f"{n}:{'|'.join(g)}" for n, groups in want.items() for g in groups]
    out.repro_codes = [f'{d["line"]}:{d["code"]}' for d in diags]
    by_line = collections.defaultdict(list)
    for d in diags:
        by_line[d["line"]].append(d["code"])
    out.repro_found = bool(want) and all(
        any(c.startswith(alt) for c in by_line[n] for alt in group) for n, groups in want.items() for group in groups)
    if fixed.is_file():
        out.repro_clean = not lint(fixed, timeout)


def found_mark(out: Outcome) -> str:
    if out.found is None:
        return "-"
    return "line" if out.at_bug else ("fn" if out.in_function else "no")


def mark(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def table(title: str, outcomes: list[Outcome], key) -> None:
    groups: dict[str, list[Outcome]] = collections.defaultdict(list)
    for o in outcomes:
        groups[key(o)].append(o)
    print(f"\n{title:<16} {'bugs':>5} {'found':>6} {'on line':>7} {'clean':>6} {'both':>5} {'repro':>6} {'r.clean':>8}")
    for name in sorted(groups):
        g = groups[name]
        ran = [o for o in g if o.found is not None]
        found = sum(1 for o in ran if o.found)
        on_line = sum(1 for o in ran if o.at_bug)
        clean = sum(1 for o in ran if o.clean)
        both = sum(1 for o in ran if o.found and o.clean)
        rf = sum(1 for o in g if o.repro_found)
        rc = sum(1 for o in g if o.repro_clean)
        tried = [o for o in g if o.repro_found is not None]
        print(f"{name:<16} {len(g):>5} {found:>3}/{len(ran):<2} {on_line:>7} {clean:>3}/{len(ran):<2} {both:>5} "
              f"{rf:>3}/{len(tried):<2} {rc:>5}/{len(tried):<2}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--id", action="append", default=[], help="only this bug (repeatable)")
    parser.add_argument("--split", choices=("tuning", "heldout"))
    parser.add_argument("--no-repo", action="store_true", help="skip the runs on the repositories")
    parser.add_argument("--no-repro", action="store_true", help="skip the reproductions")
    parser.add_argument("--show", action="store_true",
                        help="print the diagnostics on each bug and reproduction, and those the fix made go away")
    parser.add_argument("--json", type=Path, help="write every outcome to this file")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per linter run")
    parser.add_argument("--mirror", type=Path, help="where the fetched histories are (owner+name/repo)")
    args = parser.parse_args(argv)
    global MIRROR
    if args.mirror:
        MIRROR = args.mirror
    bugs = tomllib.loads(args.data.read_text())["bug"]
    bugs = [b for b in bugs if (not args.id or b["id"] in args.id) and (not args.split or b["split"] == args.split)]
    outcomes = []
    print(f"{'bug':<24} {'split':<8} {'kind':<15} {'files':>5} {'s':>5} {'found':>5} {'clean':>5} "
          f"{'other':>5} {'gone':>4} {'SHP9':>4} {'repro':>5} {'r.clean':>7}  at the bug")
    for bug in bugs:
        out = Outcome(bug)
        if not args.no_repo:
            measure_repo(bug, args.timeout, out)
        if not args.no_repro:
            measure_repro(bug, args.timeout, out)
        outcomes.append(out)
        status = "" if out.status == "ok" else f"  [{out.status}]"
        print(f"{bug['id']:<24} {bug['split']:<8} {bug['kind']:<15} {out.files:>5} {out.seconds:>5.0f} "
              f"{found_mark(out):>5} {mark(out.clean):>5} {out.other:>5} {out.gone:>4} {len(out.internal):>4} "
              f"{mark(out.repro_found):>5} {mark(out.repro_clean):>7}  {' '.join(out.at_bug + out.in_function)}{status}", flush=True)
        if args.show:
            print(f"    fixed lines: {' '.join(out.at_fix) or '-'}   repro: {' '.join(out.repro_codes) or '-'}"
                  f"   expected: {' '.join(out.repro_expected) or '-'}")
            if out.other_codes:
                print(f"    other: {', '.join(f'{c} {n}' for c, n in sorted(out.other_codes.items()))}")
            for gone in out.gone_list:
                print(f"    gone at the fix: {gone}")
            for internal in out.internal:
                print(f"    internal: {internal}")
    if not args.no_repo:
        internal = collections.Counter(i.split(":")[2].split()[0] for o in outcomes for i in o.internal)
        print(f"\ninternal errors and skipped files (SHP9xx) in the repository runs, both commits: "
              f"{', '.join(f'{c} {n}' for c, n in sorted(internal.items())) or 'none'}")
    table("split", outcomes, lambda o: o.bug["split"])
    table("kind", outcomes, lambda o: o.bug["kind"])
    table("all", outcomes, lambda o: "all")
    if args.json:
        args.json.write_text(json.dumps([{**o.bug, **{k: v for k, v in vars(o).items() if k != "bug"}} for o in outcomes], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
