"""trace -> annotate --write -> guard -> check on a real repository checked out somewhere (never in
this repository), with a small driver of your own in it.

    python bench/annotate_realcode.py REPO_DIR DRIVER.py --hook model [--hook pkg ...] [--diff-out FILE]

The repository is copied to a temporary folder first. Prints: forward methods annotated (in the
files the run reached, and in the whole repository), how many inserted axis names are words a
reader recognises, whether the driver passes with the annotated modules guarded by
`shapecheck.install_import_hook`, and whether `shapecheck check` reports anything new.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from shapecheck._annotate._naming import is_word

SHAPECHECK = [sys.executable, "-m", "shapecheck"]
_DIMS = re.compile(r'(?:Float|Int|Bool|Shaped|Complex)\[Tensor, "([^"]*)"\]')


def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800)


def forwards(path: Path):
    """(qualname, annotated?) of every ``forward`` method of a class in ``path``."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return []
    out = []
    for cls in ast.walk(tree):
        if isinstance(cls, ast.ClassDef):
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef) and fn.name == "forward":
                    a = fn.args
                    params = (a.posonlyargs + a.args + a.kwonlyargs)[1:]
                    out.append((f"{cls.name}.forward", fn.returns is not None or
                                any(p.annotation is not None for p in params)))
    return out


def diagnostics(cwd, files):
    r = run(SHAPECHECK + ["check", "--isolated", "--no-cache", "--output-format", "json", *files], cwd)
    if r.returncode not in (0, 1):
        raise SystemExit(f"check failed: {r.stderr}")
    return Counter((d["path"], d["code"], d["message"]) for d in json.loads(r.stdout))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo")
    ap.add_argument("driver")
    ap.add_argument("--hook", action="append", default=[], help="module or package to guard in the round trip")
    ap.add_argument("--diff-out", help="write annotate's diff here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "repo"
        shutil.copytree(args.repo, work, ignore=shutil.ignore_patterns(".git", "data", "*.pt", "*.bin"))
        files = sorted(str(p.relative_to(work)) for p in work.rglob("*.py") if p.name != args.driver)
        before = diagnostics(work, files)
        original = {f: (work / f).read_text(encoding="utf-8") for f in files}
        r = run(SHAPECHECK + ["trace", "--", "python", args.driver], work)
        print(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "(trace printed nothing)")
        if r.returncode != 0:
            raise SystemExit(f"the driver failed under trace ({r.returncode}):\n{r.stderr[-3000:]}")
        shapes = json.loads((work / ".shapecheck" / "shapes.json").read_text())
        reached = sorted(shapes["files"])
        d = run(SHAPECHECK + ["annotate", "--diff"], work)
        if args.diff_out:
            Path(args.diff_out).write_text(d.stdout)
        w = run(SHAPECHECK + ["annotate", "--write"], work)
        print((w.stderr.strip() or "(annotate printed nothing)").splitlines()[-1], f"(exit {w.returncode})")
        # forward methods
        fw_reached = [x for f in reached for x in forwards(work / f)]
        fw_all = [x for f in files for x in forwards(work / f)]
        was = {(f, q) for f in files for q, a in forwards_text(original[f]) if a}
        new_reached = sum(a for f in reached for q, a in forwards(work / f) if (f, q) not in was)
        todo_reached = sum(1 for f in reached for q, a in forwards_text(original[f]) if not a)
        print(f"forward methods annotated: {new_reached}/{todo_reached} of the unannotated ones in the "
              f"{len(reached)} files the run reached ({pct(new_reached, todo_reached)}); "
              f"{sum(a for _, a in fw_all)}/{len(fw_all)} in the whole repository")
        del fw_reached
        # names
        names = []
        for line in d.stdout.splitlines():
            if line.startswith("+") and not line.startswith("+++"):
                for dims in _DIMS.findall(line):
                    for tok in dims.split():
                        tok = tok.lstrip("*")
                        if tok and not tok.isdigit():
                            names.append(tok)
        words = [n for n in names if is_word(n)]
        print(f"axis names inserted: {len(names)}, words: {len(words)} ({pct(len(words), len(names))}); "
              f"distinct: {sorted(Counter(names).items(), key=lambda kv: -kv[1])}")
        # round trip
        hook = ", ".join(repr(h) for h in args.hook)
        code = (f"import runpy, sys, shapecheck\nh = shapecheck.install_import_hook({hook})\n"
                f"sys.argv = [{args.driver!r}]\nrunpy.run_path({args.driver!r}, run_name='__main__')\n"
                "print('guarded', sum(h.guarded.values()))\n")
        g = run([sys.executable, "-c", code], work)
        print(f"guarded run: exit {g.returncode}; {g.stdout.strip().splitlines()[-1] if g.stdout.strip() else ''}"
              + ("" if g.returncode == 0 else f"\n{g.stderr[-3000:]}"))
        after = diagnostics(work, files)
        new = after - before
        print(f"check: {sum(before.values())} diagnostics before, {sum(after.values())} after, {sum(new.values())} new"
              + "".join(f"\n  new: {p} {c} {m}" for (p, c, m) in new))


def forwards_text(text):
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(text)
    try:
        return forwards(Path(f.name))
    finally:
        os.unlink(f.name)


def pct(a, b):
    return f"{100 * a / b:.0f}%" if b else "-"


if __name__ == "__main__":
    main()
