"""mypy with and without shapecheck's plugin on the same annotated code: cold and warm cache.

    python bench/bench_mypy.py [files or dirs ...] [--repeat N] [--check-untyped-defs] [--cwd DIR]

Defaults to fixtures/correct (realistic annotated models); give a real project's package for a
real figure (``python bench/bench_mypy.py --cwd /path/to/TransformerLens transformer_lens``).
Prints wall-clock seconds per configuration (best of --repeat; cold: a fresh cache; warm: the same
files again with that cache, nothing changed; edit: the same after one file of the set was touched,
so that mypy re-checks it and what depends on it), the plugin's overhead, and the findings side by
side: the plugin's shape errors in mypy's output and the linter's diagnostics on the same files
(the two should be the same).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CONFIG = """[mypy]
{plugins}
mypy_path = {repo}
ignore_missing_imports = True
check_untyped_defs = {untyped}
[mypy-shapecheck.*]
follow_imports = silent
"""


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(files, cfg: Path, cache: Path, cwd: Path) -> tuple:
    """(wall seconds, CPU seconds, output) of one mypy run. CPU time is the steadier figure on a
    machine that other jobs share; both are printed."""
    t0, c0 = time.perf_counter(), _child_cpu()
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(cfg), "--cache-dir", str(cache),
                           "--no-error-summary", *files], check=False, capture_output=True, text=True, cwd=cwd)
    dt = (time.perf_counter() - t0, _child_cpu() - c0)
    if "INTERNAL ERROR" in proc.stdout + proc.stderr:
        sys.exit(f"mypy crashed:\n{proc.stdout}{proc.stderr}")
    return dt, proc.stdout


def _touch(path: str, cwd: Path) -> None:
    p = cwd / path
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def measure(files, with_plugin: bool, repeat: int, tmp: Path, untyped: bool, cwd: Path) -> dict:
    cfg = tmp / ("plugin.ini" if with_plugin else "plain.ini")
    cfg.write_text(CONFIG.format(plugins="plugins = shapecheck.plugin" if with_plugin else "", repo=REPO,
                                 untyped=str(untyped)))
    cold, warm, edit, out = [], [], [], ""
    for i in range(repeat):
        cache = tmp / f"cache-{with_plugin}-{i}"
        shutil.rmtree(cache, ignore_errors=True)
        dt, out = run(files, cfg, cache, cwd)
        cold.append(dt)
        dt, _ = run(files, cfg, cache, cwd)
        warm.append(dt)
        # an edit: the file's bytes change (a trailing newline) and mypy re-checks it
        target = cwd / files[len(files) // 2]
        text = target.read_bytes()
        try:
            target.write_bytes(text + b"\n")
            dt, _ = run(files, cfg, cache, cwd)
            edit.append(dt)
        finally:
            target.write_bytes(text)
    best = {k: (min(t[0] for t in v), min(t[1] for t in v)) for k, v in (("cold", cold), ("warm", warm),
                                                                        ("edit", edit))}
    return {**best, "output": out}


def linter_findings(files, cwd: Path) -> list:
    proc = subprocess.run([sys.executable, "-m", "shapecheck", "check", "--format", "json", "--no-cache",
                           "--exit-zero", *files], capture_output=True, text=True, cwd=cwd)
    try:
        return [d for d in json.loads(proc.stdout) if d["code"] != "reveal"]
    except ValueError:
        sys.exit(f"bench_mypy: the linter failed:\n{proc.stderr}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=[str(REPO / "fixtures" / "correct")])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--check-untyped-defs", action="store_true",
                    help="mypy also checks bodies of unannotated functions (the plugin analyses them either way)")
    ap.add_argument("--cwd", default=str(REPO), help="run mypy and the linter in this directory (the project's root)")
    ns = ap.parse_args(argv)
    cwd = Path(ns.cwd).resolve()
    files = []
    for p in map(Path, ns.paths):
        full = p if p.is_absolute() else cwd / p
        if not full.exists():
            print(f"bench_mypy: no such file or directory: {p}", file=sys.stderr)
            return 2
        found = sorted(full.rglob("*.py")) if full.is_dir() else [full]
        files += [os.path.relpath(f, cwd) for f in found]
    if not files:
        print("bench_mypy: no Python files to check", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench_mypy_") as d:
        tmp = Path(d)
        plain = measure(files, False, ns.repeat, tmp, ns.check_untyped_defs, cwd)
        plug = measure(files, True, ns.repeat, tmp, ns.check_untyped_defs, cwd)
    extra = ", check_untyped_defs" if ns.check_untyped_defs else ""
    print(f"mypy on {len(files)} files in {cwd} (best of {ns.repeat}{extra}), seconds")
    for i, what in ((1, "CPU (user + system)"), (0, "wall clock")):
        print(f"{what:22}{'plain mypy':>12}{'with plugin':>13}{'overhead':>10}")
        for k in ("cold", "warm", "edit"):
            a, b = plain[k][i], plug[k][i]
            over = (b / a - 1) * 100 if a else 0.0
            label = {"cold": "  cold cache", "warm": "  warm cache", "edit": "  one file edited"}[k]
            print(f"{label:22}{a:12.2f}{b:13.2f}{over:9.1f}%")
    shape = [ln for ln in plug["output"].splitlines() if re.search(r"error: .*\[shape-[a-z-]+\]$", ln)]
    linted = linter_findings(files, cwd)
    print(f"findings on these files: plugin (mypy errors with a shape-* code) {len(shape)}, "
          f"linter (shapecheck check) {len(linted)}")
    for ln in shape[:20]:
        print("  " + ln)
    return 0


if __name__ == "__main__":
    sys.exit(main())
