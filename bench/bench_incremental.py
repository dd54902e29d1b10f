"""Incremental re-runs of ``shapecheck check`` on a copy of the installed torch package (the stand-in
monorepo), next to ruff on the same files when ruff is installed.

    python bench/bench_incremental.py [--subset nn --subset optim ...] [--full] [-j N]

The chosen part of the torch package (``nn`` by default; ``--full``: all of it) is copied to a
temporary folder with a ``pyproject.toml``, so module names stay ``torch.nn...`` and the installed
package is never touched. Prints, for each tool: cold (empty cache), warm with nothing changed, after a
one-line edit inside one function body of a widely imported file, and after a new top-level function
in ``torch/nn/functional.py`` (an interface change of a module most files import); for shapecheck,
how many files each run analysed; and the peak RSS of a cold ``-j 1`` run (``getrusage`` of a child
that runs only that).
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time

SHAPECHECK = [sys.executable, "-m", "shapecheck", "check", "--output-format", "concise", "--exit-zero"]
BODY_EDIT = os.path.join("torch", "nn", "modules", "linear.py")
SIG_EDIT = os.path.join("torch", "nn", "functional.py")


def torch_dir() -> str:
    out = subprocess.run([sys.executable, "-c", "import torch, os; print(os.path.dirname(torch.__file__))"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def copy_tree(src: str, dst: str, subsets: list) -> int:
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.dll", "*.dylib", "*.a", "*.h", "*.hpp", "*.cuh",
                                    "*.pyc", "lib", "include", "bin", "share", "*.json", "*.txt")
    target = os.path.join(dst, "torch")
    if subsets:
        os.makedirs(target)
        shutil.copy(os.path.join(src, "__init__.py"), os.path.join(target, "__init__.py"))
        for s in subsets:
            shutil.copytree(os.path.join(src, s), os.path.join(target, s), ignore=ignore)
    else:
        shutil.copytree(src, target, ignore=ignore)
    with open(os.path.join(dst, "pyproject.toml"), "w") as fh:
        fh.write("[project]\nname = 'bench'\n")
    n = 0
    for _d, _s, files in os.walk(target):
        n += sum(f.endswith(".py") for f in files)
    return n


def body_edit(path: str) -> None:
    """Insert one statement at the start of the first function body of ``path`` that has a statement
    after its docstring (a body edit: no signature changes)."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and len(node.body) > 1:
            first = node.body[1] if isinstance(node.body[0], ast.Expr) else node.body[0]
            lines = text.splitlines(keepends=True)
            indent = " " * first.col_offset
            lines.insert(first.lineno - 1, f"{indent}_bench_edit = 1\n")
            break
    else:
        raise SystemExit(f"no function body to edit in {path}")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("".join(lines))


def signature_edit(path: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n\ndef _bench_new_function(x, y=None):\n    return x\n")


def timed(cmd, cwd, env=None) -> tuple[float, str]:
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t
    if r.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return dt, r.stderr


def analysed(stderr: str) -> str:
    for line in stderr.splitlines():
        if line.startswith("shapecheck: debug: analysed"):
            return line.split(":", 3)[2].replace("analysed", "").strip()
    return "?"


def peak_rss_mb(cmd, cwd) -> float:
    """The peak RSS of ``cmd`` alone: a child runs it and reports its children's maximum."""
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
             "stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], cwd=cwd, capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024  # kilobytes on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subset", action="append", default=[], help="a subpackage of torch (default: nn)")
    ap.add_argument("--full", action="store_true", help="the whole torch package")
    ap.add_argument("-j", "--jobs", type=int, default=max(1, len(os.sched_getaffinity(0))))
    ap.add_argument("--no-rss", action="store_true", help="skip the peak-memory run")
    args = ap.parse_args()
    subsets = [] if args.full else (args.subset or ["nn"])
    ruff = shutil.which("ruff") or (os.path.join(os.path.dirname(sys.executable), "ruff")
                                    if os.path.exists(os.path.join(os.path.dirname(sys.executable), "ruff")) else None)
    env = dict(os.environ, SHAPECHECK_DEBUG_CACHE="1")
    env.pop("SHAPECHECK_CACHE_DIR", None)
    with tempfile.TemporaryDirectory(prefix="shapecheck-bench-") as tmp:
        n = copy_tree(torch_dir(), tmp, subsets)
        print(f"tree: torch/{'{' + ','.join(subsets) + '}' if subsets else ''} copied, {n} files; -j {args.jobs}")
        sc = [*SHAPECHECK, "-j", str(args.jobs), "."]
        rf = [ruff, "check", "--isolated", "--exit-zero", "--quiet", "--cache-dir", ".ruff_cache", "."] if ruff else None
        rows = []

        def step(name, edit=None):
            if edit is not None:
                edit()
            t, err = timed(sc, tmp, env)
            r = timed(rf, tmp)[0] if rf else None
            rows.append((name, t, analysed(err), r))

        step("cold")
        step("warm, no change")
        step("one-line body edit (linear.py)", lambda: body_edit(os.path.join(tmp, BODY_EDIT)))
        step("warm, no change")
        step("new function in functional.py", lambda: signature_edit(os.path.join(tmp, SIG_EDIT)))
        print(f"{'run':34} {'shapecheck':>11} {'analysed':>18} {'ruff':>8}")
        for name, t, a, r in rows:
            print(f"{name:34} {t:10.2f}s {a:>18} {'' if r is None else f'{r:7.2f}s':>8}")
        cold = rows[0][1]
        print(f"body edit / cold: {rows[2][1] / cold:.1%}")
        if not args.no_rss:
            shutil.rmtree(os.path.join(tmp, ".shapecheck_cache"), ignore_errors=True)
            rss = peak_rss_mb([*SHAPECHECK, "-j", "1", "--no-cache", "."], tmp)
            line = f"peak RSS, cold -j 1: shapecheck {rss:.0f} MB"
            if rf:
                line += f", ruff {peak_rss_mb([ruff, 'check', '--isolated', '--exit-zero', '--no-cache', '.'], tmp):.0f} MB"
            print(line)


if __name__ == "__main__":
    main()
