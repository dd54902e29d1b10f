"""Run the linter over real public model code and print what it reports, repository by repository.

Usage::

    python bench/realcode.py [PATH ...] [--jobs N] [--show] [--timeout S]

Each PATH is one repository (a directory) or a single file; without PATH, every directory under
``$SHAPECHECK_REALCODE`` (default ``/work/realcode``) is one repository. The code there is fetched
from public repositories and is never committed to this one.

For each repository it prints the Python files and lines the linter analyses there (its own file
discovery, so excluded directories do not count), the wall time of one
``shapecheck check --format json --no-cache --isolated`` run over it, the diagnostics per code,
and the internal errors (SHP9xx); ``--show`` lists every diagnostic, for judging each one as a
real bug or a false alarm. Nothing is asserted: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = Path(os.environ.get("SHAPECHECK_REALCODE", "/work/realcode"))
_SKIP_DIRS = {".git", "__pycache__", ".venv", "venv", "node_modules", ".tox", "build", "dist"}


def python_files(path: Path) -> list[Path]:
    """The files one ``check --isolated`` run over ``path`` analyses (its own file discovery: default
    excludes such as ``site-packages`` and ``build``, .gitignore files)."""
    try:
        sys.path.insert(0, str(ROOT))
        from shapecheck._lint._config import load_config
        from shapecheck._lint._files import collect_files

        config = load_config(str(path), None, True)
        return [Path(t.path) for t in collect_files((str(path),), config.settings, config.root, cwd=str(ROOT))]
    except Exception:  # the linter's internals moved: count every .py file instead
        if path.is_file():
            return [path] if path.suffix == ".py" else []
        out = []
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
            out.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(".py"))
        return out
    finally:
        sys.path.remove(str(ROOT))


def count_lines(files: list[Path]) -> int:
    total = 0
    for f in files:
        try:
            with f.open("rb") as fh:
                total += sum(1 for _ in fh)
        except OSError:
            pass
    return total


def run_shapecheck(path: Path, jobs: int, timeout: float) -> tuple[list[dict] | None, float, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "shapecheck", "check", "--format", "json", "--no-cache", "--isolated",
           "--exit-zero", "-j", str(jobs), str(path)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - start, f"timed out after {timeout:.0f} s"
    wall = time.perf_counter() - start
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = (proc.stderr or proc.stdout)[-600:]
        return None, wall, f"exit {proc.returncode}, output is not JSON: {tail}"
    if not isinstance(data, list):
        return None, wall, f"exit {proc.returncode}, JSON is not a list"
    note = "" if proc.returncode == 0 else f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
    return data, wall, note


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument("--jobs", "-j", type=int, default=1, help="processes for the linter (default 1)")
    ap.add_argument("--show", action="store_true", help="list every diagnostic")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per repository")
    args = ap.parse_args(argv)

    if args.paths:
        paths = args.paths
    elif DEFAULT_DIR.is_dir():
        paths = sorted(p for p in DEFAULT_DIR.iterdir() if p.is_dir())
    else:
        paths = []
    if not paths:
        print(f"no repositories: pass paths, or put them under {DEFAULT_DIR}", file=sys.stderr)
        return 2

    totals = collections.Counter()
    total_files = total_lines = 0
    total_wall = 0.0
    rows = []
    listing = []
    for path in paths:
        if not path.exists():
            print(f"{path}: no such file or directory", file=sys.stderr)
            continue
        files = python_files(path)
        lines = count_lines(files)
        diags, wall, note = run_shapecheck(path, args.jobs, args.timeout)
        codes = collections.Counter(d["code"] for d in diags or [])
        internal = sum(n for c, n in codes.items() if c.startswith("SHP9"))
        rows.append((path.name, len(files), lines, wall, sum(codes.values()), internal, codes, note))
        totals.update(codes)
        total_files += len(files)
        total_lines += lines
        total_wall += wall
        for d in diags or []:
            listing.append((path.name, d))

    print(f"shapecheck on real code ({len(rows)} repositories, --jobs {args.jobs})")
    print(f"{'repository':<24} {'files':>6} {'lines':>8} {'wall s':>8} {'lines/s':>8} {'diags':>6} "
          f"{'SHP9xx':>6}  per code")
    for name, nfiles, lines, wall, n, internal, codes, note in rows:
        per_code = ", ".join(f"{c} {k}" for c, k in sorted(codes.items())) or "-"
        rate = lines / wall if wall > 0 else 0.0
        print(f"{name:<24} {nfiles:>6} {lines:>8} {wall:>8.1f} {rate:>8.0f} {n:>6} {internal:>6}  {per_code}")
        if note:
            print(f"{'':<24} note: {note}")
    rate = total_lines / total_wall if total_wall > 0 else 0.0
    per_code = ", ".join(f"{c} {k}" for c, k in sorted(totals.items())) or "-"
    internal = sum(n for c, n in totals.items() if c.startswith("SHP9"))
    print(f"{'total':<24} {total_files:>6} {total_lines:>8} {total_wall:>8.1f} {rate:>8.0f} "
          f"{sum(totals.values()):>6} {internal:>6}  {per_code}")

    if args.show and listing:
        print()
        for repo, d in sorted(listing, key=lambda t: (t[0], t[1]["path"], t[1]["line"])):
            print(f"[{repo}] {d['path']}:{d['line']}:{d['column']}: {d['code']} {d['message']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
