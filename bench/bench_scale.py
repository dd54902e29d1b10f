"""shapecheck at scale, side by side with flake8 and ruff in one run: cold runs with one and N
processes and their peak memory, then warm re-runs after no change, after a leaf function's body is
edited and after a widely imported module's signature changes.

    python bench/bench_scale.py [--torch] [--repo DIR ...] [-j N] [--no-check]

Trees (each copied to a temporary folder first; the originals are never touched): the installed
torch package (``--torch``, with a ``pyproject.toml`` so module names stay ``torch...``) and any
repository given with ``--repo`` (default when neither is given: both the torch package and
``/work/realcode_precision/huggingface+diffusers`` when it exists).

Per tree it prints wall time and peak RSS of each run. Peak RSS is ``getrusage(RUSAGE_CHILDREN)``
of a probe process that runs only that command: the largest single process of the run (with N
processes, one worker or the parent, not their sum). The edits:

* leaf body edit: one statement added inside a function body of a *leaf* module (one no other file
  of the tree imports) that shapecheck analyses;
* signature edit: a keyword parameter added to a top-level function of the module most other files
  of the tree import (its interface changes, so its dependents are analysed again).

After each edit the warm result is compared with a cold ``--no-cache`` run on the same text
(``--no-check`` skips that comparison). flake8 keeps no cache, so each of its runs costs a cold
run: its warm rows repeat its cold time. ruff runs with its cache in the temporary folder
(``RAYON_NUM_THREADS=1`` for its one-thread cold run).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_incremental import copy_tree, torch_dir  # noqa: E402  (the torch copy is shared)

DIFFUSERS = "/work/realcode_precision/huggingface+diffusers"
SHAPECHECK = [sys.executable, "-m", "shapecheck", "check", "--exit-zero", "--quiet"]

_PROBE = r"""
import json, resource, subprocess, sys, time
out = open(sys.argv[1], "wb") if sys.argv[1] != "-" else subprocess.DEVNULL
t = time.perf_counter()
r = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.PIPE)
dt = time.perf_counter() - t
print(json.dumps({"time": dt, "rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "rc": r.returncode,
                  "err": "\n".join(x[:300] for x in r.stderr.decode("utf-8", "replace").splitlines())[-4000:]}))
"""


def probe(cmd, cwd, env=None, out: str = "-") -> dict:
    """Run ``cmd`` in a probe process: its wall time, peak RSS (MB) and stderr."""
    p = subprocess.run([sys.executable, "-c", _PROBE, out, *cmd], cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"probe failed: {p.stderr[-2000:]}")
    r = json.loads(p.stdout)
    if r["rc"] not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({r['rc']}):\n{r['err']}")
    r["rss"] = r["rss_kb"] / 1024
    return r


def analysed(stderr: str) -> str:
    """"N of M files" from the debug line (each stderr line is cut to 300 characters by the probe);
    "all" for a run without the cache."""
    for line in stderr.splitlines():
        if line.startswith("shapecheck: debug: analysed"):
            return line.split(":", 3)[2].replace("analysed", "").strip()
    return "all"


# -- the tree: files, imports, the two edits ----------------------------------------------------------

def python_files(root: str) -> list:
    out = []
    for d, subs, files in os.walk(root):
        subs[:] = sorted(s for s in subs if not s.startswith(".") and s != "__pycache__")
        out += [os.path.join(d, f) for f in sorted(files) if f.endswith(".py")]
    return out


def module_name(path: str) -> str:
    from shapecheck._engine._project import module_name_of

    return module_name_of(path)


def imported_by(files: list) -> dict:
    """module name -> the number of other files that import it (``import m``, ``from m import x``,
    ``from pkg import m``, relative imports resolved)."""
    names = {module_name(f): f for f in files}
    count: dict = {m: 0 for m in names}
    for f in files:
        try:
            tree = ast.parse(open(f, encoding="utf-8", errors="replace").read())
        except (SyntaxError, ValueError):
            continue
        me = module_name(f)
        pkg = me if f.endswith("__init__.py") else me.rpartition(".")[0]
        seen = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                seen.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = pkg.split(".") if pkg else []
                    parts = parts[:len(parts) - (node.level - 1)] if node.level > 1 else parts
                    base = ".".join(parts + ([node.module] if node.module else []))
                seen.add(base)
                seen.update(f"{base}.{a.name}" for a in node.names)
        for m in seen:
            if m in count and m != me:
                count[m] += 1
    return {names[m]: n for m, n in count.items()}


def _first_body(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and len(node.body) > 1:
            return node.body[1] if isinstance(node.body[0], ast.Expr) else node.body[0]
    return None


def pick_leaf(files: list, users: dict) -> str:
    """The largest file nobody imports that mentions torch and has a function body to edit."""
    for f in sorted(files, key=lambda p: (-os.path.getsize(p), p)):
        if users.get(f, 0) or os.path.basename(f) == "__init__.py":
            continue
        text = open(f, encoding="utf-8", errors="replace").read()
        if "torch" not in text:
            continue
        try:
            if _first_body(ast.parse(text)) is not None:
                return f
        except SyntaxError:
            continue
    raise SystemExit("no leaf module with a function body found")


def pick_widely_imported(files: list, users: dict) -> str:
    """The module most files import that has a top-level function whose signature can change."""
    for f in sorted(files, key=lambda p: (-users.get(p, 0), p)):
        try:
            tree = ast.parse(open(f, encoding="utf-8", errors="replace").read())
        except SyntaxError:
            continue
        if any(isinstance(n, ast.FunctionDef) and not n.args.kwarg for n in tree.body):
            return f
    raise SystemExit("no module with a top-level function found")


def body_edit(path: str) -> None:
    text = open(path, encoding="utf-8").read()
    first = _first_body(ast.parse(text))
    lines = text.splitlines(keepends=True)
    lines.insert(first.lineno - 1, " " * first.col_offset + "_bench_edit = 1\n")
    open(path, "w", encoding="utf-8").write("".join(lines))


def signature_edit(path: str) -> None:
    """A keyword-only parameter with a default added to the first top-level function (no ``**kwargs``)."""
    text = open(path, encoding="utf-8").read()
    fn = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and not n.args.kwarg)
    a = fn.args
    last = max([x for x in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg) if x is not None],
               key=lambda x: (x.end_lineno, x.end_col_offset), default=None)
    default = [d for d in (*a.defaults, *a.kw_defaults) if d is not None]
    if default:
        d = max(default, key=lambda x: (x.end_lineno, x.end_col_offset))
        if last is None or (d.end_lineno, d.end_col_offset) > (last.end_lineno, last.end_col_offset):
            last = d
    lines = text.splitlines(keepends=True)
    if last is None:  # no parameter: def f(): -> def f(*, _bench_flag=None):
        line = lines[fn.lineno - 1]
        i = line.index("(", line.index(fn.name)) + 1
        lines[fn.lineno - 1] = line[:i] + "*, _bench_flag=None" + line[i:]
    else:
        line = lines[last.end_lineno - 1]
        sep = ", _bench_flag=None" if (a.vararg or a.kwonlyargs) else ", *, _bench_flag=None"
        lines[last.end_lineno - 1] = line[:last.end_col_offset] + sep + line[last.end_col_offset:]
    new = "".join(lines)
    ast.parse(new)  # still Python
    open(path, "w", encoding="utf-8").write(new)


# -- one tree ------------------------------------------------------------------------------------------

def fmt_run(r: dict | None, rss: bool = True) -> str:
    if r is None:
        return "-"
    return f"{r['time']:7.2f} s" + (f" {r['rss']:5.0f} MB" if rss else "")


def bench_tree(label: str, tree: str, jobs: int, check: bool, flake8: str | None, ruff: str | None) -> None:
    files = python_files(tree)
    lines = sum(sum(1 for _ in open(f, "rb")) for f in files)
    users = imported_by(files)
    leaf, wide = pick_leaf(files, users), pick_widely_imported(files, users)
    env = dict(os.environ, SHAPECHECK_DEBUG_CACHE="1")
    env.pop("SHAPECHECK_CACHE_DIR", None)
    env.pop("CI", None)
    out_dir = tempfile.mkdtemp(prefix="bench-out-")
    sc = lambda j, *extra: [*SHAPECHECK, "-j", str(j), *extra, "."]  # noqa: E731
    f8 = (lambda j: [flake8, "--isolated", "--exit-zero", "-j", str(j), "."]) if flake8 else None  # noqa: E731
    rf = [ruff, "check", "--isolated", "--exit-zero", "--quiet", "--cache-dir", os.path.join(tree, ".ruff_cache"),
          "."] if ruff else None
    one = dict(os.environ, RAYON_NUM_THREADS="1")

    def shapecheck_json(name: str, *extra) -> tuple[dict, list]:
        path = os.path.join(out_dir, name + ".json")
        r = probe(sc(jobs, "--output-format", "json", *extra), tree, env, out=path)
        return r, sorted(json.load(open(path)), key=lambda d: json.dumps(d, sort_keys=True))

    print(f"\n== {label}: {len(files)} files, {lines / 1e6:.2f}M lines; -j N = {jobs}", flush=True)
    print(f"   leaf module: {os.path.relpath(leaf, tree)} (imported by none)")
    print(f"   widely imported: {os.path.relpath(wide, tree)} (imported by {users[wide]} files)")
    print(f"   {'run':22} {'shapecheck':>18} {'analysed':>14}   {'flake8':>18}   {'ruff':>18}", flush=True)

    class Rows(list):  # each row is printed as soon as it is measured
        def append(self, row):
            super().append(row)
            name, r, a, f, rr = row
            print(f"   {name:22} {fmt_run(r):>18} {a:>14}   {fmt_run(f):>18}   {fmt_run(rr):>18}", flush=True)

    rows = Rows()
    cold1 = probe(sc(1, "--no-cache"), tree, env)
    f8_1 = probe(f8(1), tree) if f8 else None
    rf_1 = probe([*rf[:-1], "--no-cache", "."], tree, one) if rf else None
    rows.append(("cold, -j 1", cold1, analysed(cold1["err"]), f8_1, rf_1))
    coldn, cold_diags = shapecheck_json("cold")  # fills the cache
    f8_n = probe(f8(jobs), tree) if f8 else None
    rf_n = probe(rf, tree) if rf else None  # fills ruff's cache
    rows.append((f"cold, -j {jobs}", coldn, analysed(coldn["err"]), f8_n, rf_n))
    warm = probe(sc(jobs), tree, env)
    rows.append(("warm, no change", warm, analysed(warm["err"]), f8_n, probe(rf, tree) if rf else None))
    identical = {}
    for name, edit, path in (("leaf body edit", body_edit, leaf), ("signature edit", signature_edit, wide)):
        edit(path)
        r, diags = shapecheck_json(name.replace(" ", "_"))
        rows.append((name, r, analysed(r["err"]), f8_n, probe(rf, tree) if rf else None))
        if check:
            _c, cold_now = shapecheck_json(name.replace(" ", "_") + "_cold", "--no-cache")
            identical[name] = diags == cold_now
    print(f"   diagnostics (cold): {len(cold_diags)}")
    leaf_t = rows[3][1]["time"]
    print(f"   leaf body edit / cold -j {jobs}: {leaf_t / coldn['time']:.1%}; / cold -j 1: {leaf_t / cold1['time']:.1%}"
          "  (target <= 3%)")
    if check:
        print("   warm results identical to a cold run: "
              + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in identical.items()))
    print("   (flake8 keeps no cache: its warm rows repeat its cold -j N run)", flush=True)
    shutil.rmtree(out_dir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--torch", action="store_true", help="the installed torch package")
    ap.add_argument("--repo", action="append", default=[], help="a repository to copy and check (repeatable)")
    ap.add_argument("-j", "--jobs", type=int, default=max(1, len(os.sched_getaffinity(0))))
    ap.add_argument("--no-check", action="store_true", help="skip comparing warm results with cold runs")
    args = ap.parse_args()
    trees = []
    if args.torch or not args.repo:
        trees.append(("torch", None))
    repos = args.repo or ([DIFFUSERS] if not args.torch and os.path.isdir(DIFFUSERS) else [])
    trees += [(os.path.basename(os.path.normpath(r)), r) for r in repos]
    bindir = os.path.dirname(sys.executable)
    tool = lambda n: shutil.which(n) or (os.path.join(bindir, n) if os.path.exists(os.path.join(bindir, n)) else None)  # noqa: E731
    flake8, ruff = tool("flake8"), tool("ruff")
    print(f"shapecheck, flake8 {'(missing)' if not flake8 else ''}, ruff {'(missing)' if not ruff else ''}; "
          f"{len(os.sched_getaffinity(0))} CPUs; wall time and peak RSS of the largest process")
    for label, src in trees:
        with tempfile.TemporaryDirectory(prefix="shapecheck-scale-") as tmp:
            if src is None:
                copy_tree(torch_dir(), tmp, [])
            else:
                dst = os.path.join(tmp, label)
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".git", "__pycache__", ".shapecheck_cache",
                                                                        ".ruff_cache"))
                tmp = dst
            bench_tree(label, tmp, args.jobs, not args.no_check, flake8, ruff)


if __name__ == "__main__":
    main()
