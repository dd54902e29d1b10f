"""mypy with and without shapecheck's plugin on the same annotated code: cold and warm cache.

    python bench/bench_mypy.py [files or dirs ...] [--repeat N] [--check-untyped-defs]

Defaults to fixtures/correct (realistic annotated models). Prints wall-clock seconds per
configuration (best of --repeat; cold: a fresh cache, warm: the same files again with that cache),
the plugin's overhead, and the shape diagnostics the plugin reported on that code (on
fixtures/correct there should be none).
"""

from __future__ import annotations

import argparse
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


def run(files, cfg: Path, cache: Path) -> tuple:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(cfg), "--cache-dir", str(cache),
                           "--no-error-summary", *files], check=False, capture_output=True, text=True, cwd=REPO)
    dt = time.perf_counter() - t0
    if "INTERNAL ERROR" in proc.stdout + proc.stderr:
        sys.exit(f"mypy crashed:\n{proc.stdout}{proc.stderr}")
    return dt, proc.stdout


def measure(files, with_plugin: bool, repeat: int, tmp: Path, untyped: bool) -> dict:
    cfg = tmp / ("plugin.ini" if with_plugin else "plain.ini")
    cfg.write_text(CONFIG.format(plugins="plugins = shapecheck.plugin" if with_plugin else "", repo=REPO,
                                 untyped=str(untyped)))
    cold, warm, out = [], [], ""
    for i in range(repeat):
        cache = tmp / f"cache-{with_plugin}-{i}"
        shutil.rmtree(cache, ignore_errors=True)
        dt, out = run(files, cfg, cache)
        cold.append(dt)
        dt, _ = run(files, cfg, cache)
        warm.append(dt)
    return {"cold": min(cold), "warm": min(warm), "output": out}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=[str(REPO / "fixtures" / "correct")])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--check-untyped-defs", action="store_true",
                    help="check bodies of unannotated functions too (where torch layers are usually built)")
    ns = ap.parse_args(argv)
    files = []
    for p in map(Path, ns.paths):
        if not p.exists():
            print(f"bench_mypy: no such file or directory: {p}", file=sys.stderr)
            return 2
        files += sorted(str(f) for f in p.rglob("*.py")) if p.is_dir() else [str(p)]
    if not files:
        print("bench_mypy: no Python files to check", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench_mypy_") as d:
        tmp = Path(d)
        plain = measure(files, False, ns.repeat, tmp, ns.check_untyped_defs)
        plug = measure(files, True, ns.repeat, tmp, ns.check_untyped_defs)
    extra = ", check_untyped_defs" if ns.check_untyped_defs else ""
    print(f"mypy on {len(files)} files (best of {ns.repeat}{extra}), seconds")
    print(f"{'':12}{'plain mypy':>12}{'with plugin':>13}{'overhead':>10}")
    for k in ("cold", "warm"):
        over = (plug[k] / plain[k] - 1) * 100 if plain[k] else 0.0
        print(f"{k + ' cache':12}{plain[k]:12.2f}{plug[k]:13.2f}{over:9.1f}%")
    shape = [ln for ln in plug["output"].splitlines() if "[shape-" in ln]
    print(f"shape diagnostics from the plugin: {len(shape)}")
    for ln in shape[:20]:
        print("  " + ln)
    return 0


if __name__ == "__main__":
    sys.exit(main())
