"""Linter speed: ``shapecheck check`` beside ``ruff check`` and ``flake8`` on one real corpus.

The corpus defaults to the .py files of the installed torch package (found with
importlib.util.find_spec, torch is not imported), copied into a scratch directory so that every
tool's cache stays out of site-packages. Each tool runs on one process and on all cores;
shapecheck runs cold (no cache) and warm (unchanged tree, cache filled), and warm after touching
one file. The table gives seconds, lines per second and the ratio to shapecheck's cold run.

    python bench/bench_lint.py                # the whole torch package
    python bench/bench_lint.py --limit 300    # the first 300 files (sorted by path)
    python bench/bench_lint.py --corpus DIR   # another tree

It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_corpus() -> str:
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("torch is not installed; pass --corpus DIR")
    return list(spec.submodule_search_locations)[0]


def collect(corpus: str, limit: int | None) -> list[str]:
    files = []
    for d, dirs, names in os.walk(corpus):
        dirs.sort()
        for n in sorted(names):
            if n.endswith(".py"):
                files.append(os.path.relpath(os.path.join(d, n), corpus))
    return files[:limit] if limit else files


def copy_corpus(corpus: str, files: list[str], dest: str) -> int:
    lines = 0
    for rel in files:
        src, dst = os.path.join(corpus, rel), os.path.join(dest, "corpus", rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        with open(src, "rb") as fh:
            lines += fh.read().count(b"\n")
    with open(os.path.join(dest, "pyproject.toml"), "w") as fh:
        fh.write("[project]\nname = 'bench-corpus'\n")
    return lines


def snapshot(scratch: str) -> str:
    """A frozen copy of shapecheck (with its rules): a checkout edited during the run would
    otherwise change the cache key between the cold and the warm run."""
    dest = os.path.join(scratch, "engine")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(os.path.join(REPO, "shapecheck"), os.path.join(dest, "shapecheck"), ignore=ignore)
    for sub in ("rules", "plugin"):
        src = os.path.join(REPO, sub)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dest, "shapecheck", sub), ignore=ignore)
    return dest


def timed(cmd: list[str], cwd: str, env: dict | None = None, timeout: float = 1800):
    """Wall seconds, CPU seconds (user + system of the command and its children), exit status, stderr."""
    e = dict(os.environ, **(env or {}))
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, env=e, timeout=timeout)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return dt, cpu, p.returncode, p.stderr.decode("utf-8", "replace")[-400:]


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", help="directory of Python files (default: the installed torch package)")
    ap.add_argument("--limit", type=int, help="only the first N files")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="'all cores' (default: os.cpu_count())")
    ap.add_argument("--tools", default="shapecheck,ruff,flake8", help="comma separated subset")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copy and print its path")
    args = ap.parse_args(argv)

    corpus = os.path.abspath(args.corpus or default_corpus())
    files = collect(corpus, args.limit)
    tools = set(args.tools.split(","))
    scratch = tempfile.mkdtemp(prefix="shapecheck-bench-")
    try:
        work = os.path.join(scratch, "project")  # the project the tools run in; the engine copy sits beside it
        lines = copy_corpus(corpus, files, work)
        print(f"corpus: {corpus}  ({len(files)} files, {lines} lines; copied to {work})")
        print(f"cores for 'all': {args.jobs}")
        env_sc = {"PYTHONPATH": snapshot(scratch) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        sc = [sys.executable, "-m", "shapecheck", "check", "--isolated", "--exit-zero", "--format", "json",
              "-o", os.devnull, "corpus"]
        cache = os.path.join(work, ".shapecheck_cache")
        rows = []

        def run(tool, jobs, mode, cmd, env=None, before=None):
            if before:
                before()
            dt, cpu, rc, err = timed(cmd, work, env)
            note = "" if rc in (0, 1) else f"exit {rc}: {err.strip().splitlines()[-1] if err.strip() else ''}"
            rows.append((tool, jobs, mode, dt, cpu, note))
            print(f"  {tool:<11} j={jobs:<3} {mode:<14} {dt:8.2f} s wall {cpu:8.2f} s cpu  {note}", flush=True)

        def clear():
            shutil.rmtree(cache, ignore_errors=True)

        def touch_one():
            first = os.path.join(work, "corpus", files[0])
            os.utime(first, None)
            with open(first, "a") as fh:
                fh.write("\n")

        if "shapecheck" in tools:
            for j in sorted({1, args.jobs}):
                run("shapecheck", j, "cold", sc + [f"-j{j}"], env_sc, before=clear)
            run("shapecheck", args.jobs, "warm", sc + [f"-j{args.jobs}"], env_sc)
            run("shapecheck", args.jobs, "warm, 1 edit", sc + [f"-j{args.jobs}"], env_sc, before=touch_one)
        if "ruff" in tools and have("ruff"):
            for j in sorted({1, args.jobs}):
                run("ruff", j, "cold", ["ruff", "check", "--isolated", "--no-cache", "--exit-zero", "-q", "corpus"],
                    {"RAYON_NUM_THREADS": str(j)})
        if "flake8" in tools and have("flake8"):
            for j in sorted({1, args.jobs}):
                run("flake8", j, "cold", ["flake8", "--isolated", "--exit-zero", f"-j{j}", "-q", "corpus"])

        base = next((r[3] for r in rows if r[0] == "shapecheck" and r[2] == "cold" and r[1] == args.jobs), None)
        print()
        print(f"{'tool':<11} {'jobs':>4}  {'mode':<14} {'wall s':>8} {'cpu s':>8} {'lines/s':>10} "
              f"{'lines/cpu-s':>12} {'vs shapecheck cold':>19}")
        for tool, jobs, mode, dt, cpu, note in rows:
            ratio = f"{base / dt:.2f}x" if base else "-"
            print(f"{tool:<11} {jobs:>4}  {mode:<14} {dt:8.2f} {cpu:8.2f} {lines / dt:10,.0f} "
                  f"{lines / max(cpu, 1e-6):12,.0f} {ratio:>19}  {note}")
        print("\n(ratio: wall time of shapecheck's cold run on all cores / this row's; > 1 is faster."
              "\n cpu s counts every process of the run; on a shared machine it is the steadier figure)")
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
